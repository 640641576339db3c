//! The integration suite, one test binary (it links once; every shared helper is used).
//!
//!     cargo test --test it                      everything but the long soak
//!     cargo test --test it security::           one area
//!     cargo test --test it soak_full -- --ignored --nocapture

mod common;

/// Ambiguous creates settled without a duplicate or a dead letter; SQS holding messages.
mod ambiguous;
/// Input shapes and batches: SQS, EventBridge, direct; FIFO; metrics; garbage and panics.
mod batches;
/// The real binary against a Lambda Runtime API stand-in.
mod binary;
/// Issue creation on Cloud and Server/DC: fields, ADF and wiki, fallbacks, links, repeats.
mod creation;
/// The `check_destination` preflight.
mod destination_check;
/// The fake Jira itself rejects what Jira rejects, with Jira's messages.
mod fake_jira;
/// Any Jira field (`destination.fields`), converted to its type, on Cloud and Server/DC.
mod fields;
/// Scoped API tokens and service-account OAuth through the Atlassian gateway.
mod gateway;
/// The idempotency ledger: containers sharing a DynamoDB table (moto); its failure modes.
mod ledger;
/// Resolve, reopen and storm control on Cloud and Server/DC.
mod lifecycle;
/// Secrets Manager through the real SDK against a moto server (a process).
mod moto;
/// `JIRA_CA_BUNDLE`: an HTTPS stand-in behind a private CA.
mod private_ca;
/// Parsing and building under generated input (proptest).
mod properties;
/// The pure modules import no I/O crate and read no clock.
mod purity;
/// Retries, throttling, unanswered creates, the invocation deadline.
mod resilience;
/// The Secrets Manager adapter with `aws-smithy-mocks` standing in for the service.
mod secrets_sdk;
/// Allow-list, bound secrets, redirects, the token never shown; auth, rotation, PATs.
mod security;
/// Seeded fault injection through a simulated SQS queue.
mod soak;
/// The SAM template's safe defaults.
mod template;
