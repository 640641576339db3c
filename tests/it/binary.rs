//! The real `detection-jira` binary, run as Lambda runs it: against a Runtime API on
//! loopback, with its configuration in the environment, Secrets Manager through
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER`, and the strict fake Jira.

use crate::common::*;
use fake_jira::runtime::{function_command, RuntimeApi};
use fake_jira::Flavor;
use serde_json::json;
use std::process::Stdio;
use std::time::Duration;

struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_sqs_and_direct_invocations() {
    let jira = fake(Flavor::Cloud).await;
    let runtime = RuntimeApi::start().await;
    let log = std::env::temp_dir().join(format!(
        "detection-jira-binary-test-{}.log",
        std::process::id()
    ));
    let _function = Running(
        function_command(env!("CARGO_BIN_EXE_detection-jira"), &runtime)
            .env(
                "ALLOWED_JIRA_HOSTS",
                format!("127.0.0.1:{}", jira.addr.port()),
            )
            .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &jira.base_url)
            .env("AWS_ENDPOINT_URL_SQS", &jira.base_url)
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let direct = runtime
        .invoke(alert(&jira.base_url), Duration::from_secs(30))
        .await;
    let answer = direct.result.expect("created");
    assert_eq!(answer["status"], "created");

    let batch = sqs(
        &[("a", run(&jira.base_url, 7).to_string()), ("b", "{".into())],
        QUEUE,
    );
    let answer = runtime
        .invoke(batch, Duration::from_secs(30))
        .await
        .result
        .unwrap();
    assert_eq!(failures(&answer), ["b"]);

    let mut bad = alert(&jira.base_url);
    bad["destination"]["project_key"] = json!("sec");
    let error = runtime
        .invoke(bad, Duration::from_secs(30))
        .await
        .result
        .unwrap_err();
    assert_eq!(error["errorType"], "bad-input");
    assert!(error["errorMessage"]
        .as_str()
        .unwrap()
        .contains("destination.project_key"));
    assert_eq!(jira.created().len(), 2);

    // A create Jira made but never answered (Cloud): the message is held in its queue
    // until a search can be trusted to show the issue (the 60 s allowance).
    jira.push_fault(
        "/rest/api/3/issue",
        fake_jira::FaultKind::SucceedWithoutAnswer,
    );
    let mut unanswered = run(&jira.base_url, 8);
    unanswered["destination"]["timeout"] = json!(1);
    let batch = sqs(&[("c", unanswered.to_string())], QUEUE);
    let answer = runtime
        .invoke(batch, Duration::from_secs(30))
        .await
        .result
        .unwrap();
    assert_eq!(failures(&answer), ["c"]);
    let held = jira.visibility_changes();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(
        (held[0].receipt_handle.as_str(), held[0].seconds),
        ("rh", 61)
    );
    assert_eq!(jira.created().len(), 3);

    // Logs are JSON lines with EMF metrics among them, and never the token.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines().any(|l| l.contains("\"alert delivered\"")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.contains("\"CloudWatchMetrics\"")),
        "{text}"
    );
    assert_no_token("the function's log", &text);
    let _ = std::fs::remove_file(&log);
}

#[tokio::test]
async fn bad_configuration_stops_the_function_at_start_naming_the_variable() {
    for (name, value) in [
        ("ALLOWED_JIRA_HOSTS", "https://acme.atlassian.net"),
        (
            "JIRA_CA_BUNDLE",
            "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----",
        ),
        ("JIRA_CA_BUNDLE", "a file name, not PEM text"),
        (
            "JIRA_CA_BUNDLE",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
        ),
    ] {
        let runtime = RuntimeApi::start().await;
        let out = function_command(env!("CARGO_BIN_EXE_detection-jira"), &runtime)
            .env(name, value)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{name}={value:?} was accepted");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(said.contains(name), "{name}: {said}");
    }
}
