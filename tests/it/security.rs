//! Where the token may go and where it must never show: the host allow-list, secrets bound
//! to one Jira, redirects, logs, errors and answers; authentication, rotation and personal
//! access tokens.

use crate::common::*;
use fake_jira::{FaultKind, Flavor};
use serde_json::{json, Value};

#[tokio::test]
async fn hosts_outside_the_allow_list_never_see_a_request() {
    let jira = fake(Flavor::Cloud).await;
    let attacker = fake(Flavor::Cloud).await;
    // Only the real Jira's port is allowed.
    let app = app_allowing(&jira, &format!("127.0.0.1:{}", jira.addr.port()));
    let e = invoke(&app, alert(&attacker.base_url)).await.unwrap_err();
    assert_eq!(e.class.as_str(), "bad-input");
    assert!(e.message.contains("ALLOWED_JIRA_HOSTS"), "{e}");
    assert!(attacker.requests().is_empty());

    // A secret bound to one Jira is never sent to another, allow-list or not.
    jira.set_secret(
        SECRET_ID,
        &json!({"api_token": TOKEN, "instance_url": jira.base_url}).to_string(),
    );
    let app = app_allowing(&jira, "127.0.0.1");
    let e = invoke(&app, alert(&attacker.base_url)).await.unwrap_err();
    assert!(
        e.message.contains("not the Jira this secret belongs to"),
        "{e}"
    );
    assert!(attacker.requests().is_empty());
    assert_eq!(
        invoke(&app, alert(&jira.base_url)).await.unwrap()["status"],
        "created"
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let jira = fake(Flavor::Cloud).await;
    let attacker = fake(Flavor::Cloud).await;
    let app = app(&jira);
    jira.push_fault(
        "/search/jql",
        FaultKind::Redirect(format!("{}/steal", attacker.base_url)),
    );
    let e = invoke(&app, alert(&jira.base_url)).await.unwrap_err();
    assert!(e.message.contains("redirect"), "{e}");
    assert!(
        e.message.contains(&attacker.base_url),
        "names the Location: {e}"
    );
    assert!(attacker.requests().is_empty());
}

/// Every path, with a recognisable token: it appears in no log line, error or answer.
#[tokio::test]
async fn the_token_never_appears_in_logs_errors_or_answers() {
    let (logs, _guard) = Logs::capture();
    let jira = fake(Flavor::Cloud).await;
    let attacker = fake(Flavor::Cloud).await;
    let app = app_allowing(&jira, &format!("127.0.0.1:{}", jira.addr.port()));
    let mut outputs: Vec<String> = Vec::new();
    let mut record = |r: Result<Value, detection_jira::failure::Failure>| {
        outputs.push(match r {
            Ok(v) => v.to_string(),
            Err(e) => format!("{e} {e:?}"),
        })
    };
    record(invoke(&app, run(&jira.base_url, 1)).await); // created
    record(invoke(&app, run(&jira.base_url, 1)).await); // duplicate
    let mut bad_priority = run(&jira.base_url, 2);
    bad_priority["destination"]["priority_map"] = json!({"HIGH": "Nope"});
    record(invoke(&app, bad_priority).await); // fallback
    let mut bad_type = run(&jira.base_url, 3);
    bad_type["destination"]["issue_type"] = json!("Nope");
    record(invoke(&app, bad_type).await); // rejected
    record(invoke(&app, run(&attacker.base_url, 4)).await); // refused host
    let mut inline = run(&jira.base_url, 5);
    inline["destination"]["api_token"] = json!(TOKEN);
    record(invoke(&app, inline).await); // inline credentials
    jira.push_fault(
        "/search/jql",
        FaultKind::Status {
            status: 500,
            retry_after: None,
        },
    );
    jira.push_fault(
        "/search/jql",
        FaultKind::Status {
            status: 403,
            retry_after: None,
        },
    );
    record(invoke(&app, run(&jira.base_url, 6)).await); // 5xx then permission
    jira.push_fault(
        "/rest/api/3/issue",
        FaultKind::Redirect("https://evil.example/".into()),
    );
    record(invoke(&app, run(&jira.base_url, 7)).await); // redirect
    jira.set_token(USER, "changed");
    record(invoke(&app, run(&jira.base_url, 8)).await); // 401 twice
    let batch = sqs(
        &[
            ("m1", run(&jira.base_url, 9).to_string()),
            ("m2", "{".into()),
        ],
        QUEUE,
    );
    record(invoke(&app, batch).await);

    let log_text = logs.text();
    assert!(
        log_text.contains("alert failed"),
        "logs were captured: {log_text}"
    );
    assert!(log_text.contains("\"class\":\"auth\""));
    assert_no_token("logs", &log_text);
    for o in &outputs {
        assert_no_token("an answer or error", o);
    }
}

#[tokio::test]
async fn wrong_token_fails_as_auth_with_the_fix() {
    let jira = fake(Flavor::Cloud).await;
    jira.set_token(USER, "another-token");
    let app = app(&jira);
    let e = invoke(&app, alert(&jira.base_url)).await.unwrap_err();
    assert_eq!(e.class.as_str(), "auth");
    assert!(
        e.fix.contains("Verify email and API token are correct"),
        "{e}"
    );
    // One refetch of the secret after the 401, then give up.
    assert_eq!(jira.secret_calls(), 2);
}

#[tokio::test]
async fn rotated_token_is_picked_up_after_a_401() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    assert_eq!(
        invoke(&app, run(&jira.base_url, 1)).await.unwrap()["status"],
        "created"
    );
    // Rotation: Jira and the secret change; the cached copy is stale.
    jira.set_token(USER, "rotated-FAKE-token");
    jira.set_secret(SECRET_ID, "rotated-FAKE-token");
    assert_eq!(
        invoke(&app, run(&jira.base_url, 2)).await.unwrap()["status"],
        "created"
    );
    assert_eq!(jira.secret_calls(), 2);
    assert_eq!(jira.created().len(), 2);
}

#[tokio::test]
async fn bearer_personal_access_token_on_server() {
    let jira = fake(Flavor::Server).await;
    jira.configure(|c| c.personal_tokens.push("PAT-FAKE-123".into()));
    jira.set_secret(
        "jira/pat",
        &json!({"api_token": "PAT-FAKE-123", "auth": "bearer"}).to_string(),
    );
    let app = app(&jira);
    let mut a = alert(&jira.base_url);
    a["destination"]["api_token_secret"] = json!("jira/pat");
    a["destination"].as_object_mut().unwrap().remove("email");
    assert_eq!(invoke(&app, a).await.unwrap()["status"], "created");
    let last = jira.requests().pop().unwrap();
    assert_eq!(last.authorization.as_deref(), Some("Bearer PAT-FAKE-123"));
}

#[tokio::test]
async fn missing_secret_fails_with_the_fix() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let mut a = alert(&jira.base_url);
    a["destination"]["api_token_secret"] = json!("jira/missing");
    let e = invoke(&app, a).await.unwrap_err();
    assert!(e.message.contains("jira/missing"), "{e}");
    assert!(e.fix.contains("destination.api_token_secret"), "{e}");
    assert_eq!(e.class.as_str(), "not-found");
    assert!(jira.requests().is_empty());
}

#[tokio::test]
async fn a_typo_in_a_destination_key_never_passes_silently() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    for (typo, meant) in [("lables", "labels"), ("group_repeat", "group_repeats")] {
        let mut a = alert(&jira.base_url);
        a["destination"][typo] = json!(true);
        let e = invoke(&app, a).await.unwrap_err();
        assert_eq!(e.class.as_str(), "bad-input");
        assert!(e.message.contains(&format!("destination.{typo}")), "{e}");
        assert!(e.message.contains(&format!("did you mean {meant}")), "{e}");
    }
    // A field the detection platform added is fine; a near miss of a missing required
    // field is named with it.
    let mut a = alert(&jira.base_url);
    a["detection"]["new_platform_field"] = json!({"any": "thing"});
    assert_eq!(invoke(&app, a).await.unwrap()["status"], "created");
    let mut a = alert(&jira.base_url);
    let severity = a["detection"]
        .as_object_mut()
        .unwrap()
        .remove("severity")
        .unwrap();
    a["detection"]["severty"] = severity;
    let e = invoke(&app, a).await.unwrap_err();
    assert!(e.message.contains("detection.severty"), "{e}");
    assert_eq!(jira.created().len(), 1, "only the alert with the new field");
}
