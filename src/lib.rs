//! Security detection alerts in, Jira issues out: an AWS Lambda function.
//!
//! Data flows one way: `handler` takes the invocation apart into alerts, `alert` validates
//! each, `deliver` decides where and how it goes, `issue` builds the issue (pure), `jira`
//! and `secrets` do the I/O.

pub mod alert;
pub mod check;
pub mod config;
pub mod deliver;
pub mod handler;
pub mod hosts;
pub mod issue;
pub mod jira;
pub mod metrics;
pub mod secrets;
