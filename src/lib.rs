//! Security detection alerts in, Jira issues out: an AWS Lambda function.
//!
//! Data flows one way: `handler` takes the invocation apart into alerts, `alert` parses
//! each into domain types, `deliver` connects and runs its plan, `issue` builds the issue
//! (pure), `jira` and `secrets` do the I/O, `metrics` counts what became of each alert,
//! and `failure` is the one error model all of them report in.

pub mod alert;
pub mod cells;
pub mod check;
pub mod config;
pub mod deferred;
pub mod deliver;
pub mod failure;
pub mod gateway;
pub mod handler;
pub mod hosts;
pub mod issue;
pub mod jira;
pub mod ledger;
pub mod meter;
pub mod metrics;
pub mod queue;
pub mod retry;
pub mod roots;
pub mod secrets;
pub mod timestamp;
