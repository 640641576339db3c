//! The handler end to end over real HTTP: strict fake Jira (Cloud and Server/DC) and the
//! Secrets Manager call through the AWS SDK.

mod common;

use common::*;
use fake_jira::{FaultKind, Flavor};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[tokio::test]
async fn cloud_alert_becomes_an_adf_issue() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let answer = invoke(&app, alert(&jira.base_url)).await.unwrap();
    assert_eq!(answer["status"], "created");
    let key = answer["issue_key"].as_str().unwrap();
    assert_eq!(
        answer["issue_url"],
        format!("{}/browse/{key}", jira.base_url)
    );

    let issues = jira.created();
    assert_eq!(issues.len(), 1);
    let f = &issues[0].fields;
    assert_eq!(issues[0].api, 3);
    assert_eq!(f["summary"], "[HIGH] Impossible travel for privileged user");
    assert_eq!(f["priority"], json!({"name": "High"}));
    assert_eq!(f["issuetype"], json!({"name": "Task"}));
    let labels: Vec<&str> = f["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(labels[0], "security-detection");
    assert!(labels.contains(&"team-blue"));
    assert!(labels.iter().any(|l| l.starts_with("detection-run-")));
    assert_eq!(f["description"]["type"], "doc");
    let text = f["description"].to_string();
    for item in [
        "srch-8f2c",
        "1-6543-abcdef",
        "GREATER_THAN",
        "EXHAUSTIVE",
        "SCHEDULED",
        "2026-11-24T09:00:00Z",
    ] {
        assert!(text.contains(item), "{item} missing from {text}");
    }
    assert!(text.contains(r#""href":"https://app.example.com/replay/srch-8f2c""#));

    // serverInfo anonymous, then search and create with credentials.
    let reqs = jira.requests();
    let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/rest/api/2/serverInfo",
            "/rest/api/3/search/jql",
            "/rest/api/3/issue"
        ]
    );
    assert!(reqs[0].authorization.is_none());
    assert!(reqs[1]
        .authorization
        .as_deref()
        .unwrap()
        .starts_with("Basic "));
}

#[tokio::test]
async fn server_alert_becomes_a_wiki_issue_on_v2() {
    let jira = fake(Flavor::Server).await;
    let app = app(&jira);
    let answer = invoke(&app, alert(&jira.base_url)).await.unwrap();
    assert_eq!(answer["status"], "created", "{answer}");
    let issue = &jira.created()[0];
    assert_eq!(issue.api, 2);
    let d = issue.fields["description"].as_str().expect("wiki text");
    assert!(d.contains("h2. Impossible travel"), "{d}");
    assert!(
        d.contains("[Open the detection replay|https://app.example.com/replay/srch-8f2c]"),
        "{d}"
    );
    let paths: Vec<String> = jira.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/rest/api/2/serverInfo",
            "/rest/api/2/search",
            "/rest/api/2/issue"
        ]
    );
}

#[tokio::test]
async fn forced_api_version_skips_detection_and_v2_on_cloud_uses_wiki() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let mut a = alert(&jira.base_url);
    a["destination"]["api_version"] = json!("2");
    let answer = invoke(&app, a).await.unwrap();
    assert_eq!(answer["status"], "created", "{answer}");
    assert!(jira.created()[0].fields["description"].is_string());
    let paths: Vec<String> = jira.requests().iter().map(|r| r.path.clone()).collect();
    // The old search is gone on Cloud (410): the client moves to /search/jql.
    assert_eq!(
        paths,
        [
            "/rest/api/2/search",
            "/rest/api/3/search/jql",
            "/rest/api/2/issue"
        ]
    );
}

#[tokio::test]
async fn deployment_is_detected_once_per_instance() {
    let cloud = fake(Flavor::Cloud).await;
    let server = fake(Flavor::Server).await;
    // Both instances' users and secret are the same; the secret is served by the cloud fake.
    let app = app(&cloud);
    for n in 1..=3 {
        for jira in [&cloud, &server] {
            let answer = invoke(&app, run(&jira.base_url, n)).await.unwrap();
            assert_eq!(answer["status"], "created");
        }
    }
    let count = |j: &fake_jira::FakeJira| {
        j.requests()
            .iter()
            .filter(|r| r.path.ends_with("serverInfo"))
            .count()
    };
    assert_eq!((count(&cloud), count(&server)), (1, 1));
    assert_eq!((cloud.created().len(), server.created().len()), (3, 3));
    assert_eq!(cloud.created()[0].api, 3);
    assert_eq!(server.created()[0].api, 2);
}

#[tokio::test]
async fn mixed_sqs_batch_reports_exactly_the_failures() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let base = &jira.base_url;
    let mut not_matched = run(base, 2);
    not_matched["detection"]["outcome"] = json!("NOT_MATCHED");
    let mut disabled = run(base, 3);
    disabled["destination"]["enabled"] = json!(false);
    let mut no_project = run(base, 4);
    no_project["destination"]
        .as_object_mut()
        .unwrap()
        .remove("project_key");
    let envelope = json!({
        "version": "0", "id": "e-1", "detail-type": "Detection Alert", "source": "detections",
        "account": "111122223333", "time": "2026-11-24T10:00:00Z", "region": "us-east-1",
        "resources": [], "detail": run(base, 6)
    });
    let batch = sqs(
        &[
            ("m-valid", run(base, 1).to_string()),
            ("m-not-matched", not_matched.to_string()),
            ("m-disabled", disabled.to_string()),
            ("m-malformed", "{not json".to_string()),
            ("m-no-project", no_project.to_string()),
            ("m-envelope", envelope.to_string()),
        ],
        QUEUE,
    );
    let answer = invoke(&app, batch).await.unwrap();
    assert_eq!(failures(&answer), ["m-malformed", "m-no-project"]);
    assert_eq!(jira.created().len(), 2, "valid and envelope");
}

#[tokio::test]
async fn eventbridge_direct_invocation_creates_the_issue() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let event = json!({
        "version": "0", "id": "e-1", "detail-type": "Detection Alert", "source": "detections",
        "account": "111122223333", "time": "2026-11-24T10:00:00Z", "region": "us-east-1",
        "resources": [], "detail": alert(&jira.base_url)
    });
    assert_eq!(invoke(&app, event).await.unwrap()["status"], "created");
}

#[tokio::test]
async fn direct_invocations_answer_skips_and_errors() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let mut a = alert(&jira.base_url);
    a["detection"]["outcome"] = json!("NOT_MATCHED");
    let answer = invoke(&app, a).await.unwrap();
    assert_eq!(answer["status"], "skipped");
    assert!(answer["reason"].as_str().unwrap().contains("NOT_MATCHED"));

    let mut a = alert(&jira.base_url);
    a["destination"]["project_key"] = json!("sec");
    let e = invoke(&app, a).await.unwrap_err();
    assert_eq!(e.class, "bad-input");
    assert!(e.message.contains("destination.project_key"), "{e}");

    let e = invoke(&app, json!({"hello": "world"})).await.unwrap_err();
    assert!(e.message.contains("unrecognised input"), "{e}");
    let e = invoke(&app, json!([1])).await.unwrap_err();
    assert_eq!(e.class, "bad-input");
    assert!(jira.requests().is_empty());
}

#[tokio::test]
async fn redelivery_finds_the_existing_issue() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let first = invoke(&app, alert(&jira.base_url)).await.unwrap();
    let second = invoke(&app, alert(&jira.base_url)).await.unwrap();
    assert_eq!(first["status"], "created");
    assert_eq!(second["status"], "duplicate");
    assert_eq!(second["issue_key"], first["issue_key"]);
    assert_eq!(jira.created().len(), 1);
}

#[tokio::test]
async fn rejected_optional_fields_are_dropped_and_noted() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let mut a = alert(&jira.base_url);
    a["destination"]
        .as_object_mut()
        .unwrap()
        .remove("priority_map");
    a["destination"]["priority"] = json!("Urgent");
    a["destination"]["custom_fields"] =
        json!({"detection_id": "customfield_11623", "severity": "customfield_10051"});
    let answer = invoke(&app, a).await.unwrap();
    assert_eq!(answer["status"], "created", "{answer}");
    let issue = &jira.created()[0];
    assert!(issue.fields.get("priority").is_none());
    assert!(issue.fields.get("customfield_11623").is_none());
    assert_eq!(issue.fields["customfield_10051"], json!({"value": "HIGH"}));
    let d = issue.fields["description"].to_string();
    assert!(d.contains("The priority selected is invalid."), "{d}");
    assert!(d.contains("Field 'customfield_11623' cannot be set"), "{d}");
    let creates = jira
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/issue"))
        .count();
    assert_eq!(creates, 2, "one rejected create, one retry");
}

#[tokio::test]
async fn bad_parent_and_link_do_not_lose_the_issue() {
    let jira = fake(Flavor::Server).await;
    let app = app(&jira);
    let mut a = alert(&jira.base_url);
    a["destination"]["parent_key"] = json!("SEC-999");
    a["destination"]["links"] =
        json!([{"type": "Relates", "key": "SEC-42"}, {"type": "Causes", "key": "SEC-1"}]);
    assert_eq!(invoke(&app, a).await.unwrap()["status"], "created");
    let issue = &jira.created()[0];
    assert!(issue.fields.get("parent").is_none());
    assert!(issue.links.is_empty());
    let d = issue.fields["description"].as_str().unwrap();
    assert!(d.contains("Could not find issue by id or key."), "{d}");

    // Good parent and links go through.
    let mut a = run(&jira.base_url, 9);
    a["destination"]["parent_key"] = json!("SEC-1");
    a["destination"]["links"] = json!([{"type": "Relates", "key": "SEC-42"}]);
    assert_eq!(invoke(&app, a).await.unwrap()["status"], "created");
    let issue = &jira.created()[1];
    assert_eq!(issue.fields["parent"], json!({"key": "SEC-1"}));
    assert_eq!(issue.links, [("Relates".to_string(), "SEC-42".to_string())]);
}

#[tokio::test]
async fn required_field_rejections_fail_with_jira_text_and_fix() {
    let jira = fake(Flavor::Server).await;
    let app = app(&jira);
    let mut a = alert(&jira.base_url);
    a["destination"]["issue_type"] = json!("Incident");
    let e = invoke(&app, a).await.unwrap_err();
    assert_eq!(e.class, "rejected");
    assert!(e.message.contains("valid issue type is required"), "{e}");
    assert!(
        e.message.contains("Check issue type exists in project"),
        "{e}"
    );

    let mut a = alert(&jira.base_url);
    a["destination"]["project_key"] = json!("NOPE");
    let e = invoke(&app, a).await.unwrap_err();
    assert!(
        e.message.contains("Specify a valid project ID or key"),
        "{e}"
    );
    assert!(jira.created().is_empty());
}

#[tokio::test]
async fn wrong_token_fails_as_auth_with_the_fix() {
    let jira = fake(Flavor::Cloud).await;
    jira.set_token(USER, "another-token");
    let app = app(&jira);
    let e = invoke(&app, alert(&jira.base_url)).await.unwrap_err();
    assert_eq!(e.class, "auth");
    assert!(
        e.message.contains("Verify email and API token are correct"),
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
async fn one_secret_fetch_and_one_server_info_for_a_whole_batch() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let bodies: Vec<(String, String)> = (0..10)
        .map(|n| (format!("m{n}"), run(&jira.base_url, n).to_string()))
        .collect();
    let refs: Vec<(&str, String)> = bodies
        .iter()
        .map(|(i, b)| (i.as_str(), b.clone()))
        .collect();
    let answer = invoke(&app, sqs(&refs, QUEUE)).await.unwrap();
    assert!(failures(&answer).is_empty(), "{answer}");
    assert_eq!(jira.secret_calls(), 1);
    assert_eq!(jira.created().len(), 10);
    // Ten alerts at once on a fresh container still detect the deployment once.
    let server_info = jira
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("serverInfo"))
        .count();
    assert_eq!(server_info, 1);
}

#[tokio::test]
async fn hosts_outside_the_allow_list_never_see_a_request() {
    let jira = fake(Flavor::Cloud).await;
    let attacker = fake(Flavor::Cloud).await;
    // Only the real Jira's port is allowed.
    let allowed = format!("127.0.0.1:{}", jira.addr.port());
    let app = app_with(&jira, &allowed, Duration::from_secs(300), 10);
    let e = invoke(&app, alert(&attacker.base_url)).await.unwrap_err();
    assert_eq!(e.class, "bad-input");
    assert!(e.message.contains("ALLOWED_JIRA_HOSTS"), "{e}");
    assert!(attacker.requests().is_empty());

    // A secret bound to one Jira is never sent to another, allow-list or not.
    jira.set_secret(
        SECRET_ID,
        &json!({"api_token": TOKEN, "instance_url": jira.base_url}).to_string(),
    );
    let app = app_with(&jira, "127.0.0.1", Duration::from_secs(300), 10);
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

#[tokio::test]
async fn fifo_group_stops_after_a_failure() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let mut bad = run(&jira.base_url, 2);
    bad["destination"]["issue_type"] = json!("Incident");
    let mut event = sqs(
        &[
            ("f1", run(&jira.base_url, 1).to_string()),
            ("f2", bad.to_string()),
            ("f3", run(&jira.base_url, 3).to_string()),
            ("f4", run(&jira.base_url, 4).to_string()),
        ],
        FIFO_QUEUE,
    );
    // f4 is in another group and goes on.
    event["Records"][3]["attributes"]["MessageGroupId"] = json!("g2");
    let answer = invoke(&app, event).await.unwrap();
    assert_eq!(failures(&answer), ["f2", "f3"]);
    assert_eq!(jira.created().len(), 2);
    let summaries_created: Vec<Value> = jira
        .created()
        .iter()
        .map(|i| i.fields["labels"].clone())
        .collect();
    assert_eq!(summaries_created.len(), 2);
}

#[tokio::test]
async fn throttling_waits_for_retry_after_then_succeeds() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    jira.push_fault(
        "/rest/api/3/issue",
        FaultKind::Status {
            status: 429,
            retry_after: Some(1),
        },
    );
    let started = Instant::now();
    assert_eq!(
        invoke(&app, alert(&jira.base_url)).await.unwrap()["status"],
        "created"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(jira.created().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    jira.push_fault(
        "/rest/api/3/issue",
        FaultKind::Status {
            status: 503,
            retry_after: None,
        },
    );
    jira.push_fault(
        "/rest/api/3/issue",
        FaultKind::Status {
            status: 502,
            retry_after: None,
        },
    );
    assert_eq!(
        invoke(&app, alert(&jira.base_url)).await.unwrap()["status"],
        "created"
    );
    assert_eq!(jira.created().len(), 1);
}

#[tokio::test]
async fn an_unanswered_create_is_not_retried_and_the_redelivery_finds_it() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let mut a = alert(&jira.base_url);
    a["destination"]["timeout"] = json!(1);
    jira.push_fault(
        "/rest/api/3/issue",
        FaultKind::SucceedThenHang(Duration::from_secs(5)),
    );
    let batch = sqs(&[("m1", a.to_string())], QUEUE);
    let answer = invoke(&app, batch.clone()).await.unwrap();
    assert_eq!(
        failures(&answer),
        ["m1"],
        "outcome unknown: reported failed"
    );
    assert_eq!(jira.created().len(), 1, "Jira did create it");
    let answer = invoke(&app, batch).await.unwrap();
    assert!(failures(&answer).is_empty());
    assert_eq!(
        jira.created().len(),
        1,
        "the redelivery found it: one issue"
    );
}

#[tokio::test]
async fn the_deadline_is_kept_when_jira_hangs() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    for _ in 0..3 {
        jira.push_fault("/search/jql", FaultKind::Delay(Duration::from_secs(20)));
    }
    let bodies: Vec<(String, String)> = (0..3)
        .map(|n| (format!("m{n}"), run(&jira.base_url, n).to_string()))
        .collect();
    let refs: Vec<(&str, String)> = bodies
        .iter()
        .map(|(i, b)| (i.as_str(), b.clone()))
        .collect();
    let started = Instant::now();
    let answer = invoke_within(&app, sqs(&refs, QUEUE), Duration::from_secs(3))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(3_500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(failures(&answer), ["m0", "m1", "m2"]);
}

#[tokio::test]
async fn group_repeats_comments_while_open_and_opens_anew_when_done() {
    let jira = fake(Flavor::Server).await;
    let app = app(&jira);
    let repeat = |n| {
        let mut a = run(&jira.base_url, n);
        a["destination"]["group_repeats"] = json!(true);
        a
    };
    let first = invoke(&app, repeat(1)).await.unwrap();
    assert_eq!(first["status"], "created");
    let second = invoke(&app, repeat(2)).await.unwrap();
    assert_eq!(second["status"], "commented");
    assert_eq!(second["issue_key"], first["issue_key"]);
    // A redelivery of the commented run is a duplicate, not a second comment.
    let again = invoke(&app, repeat(2)).await.unwrap();
    assert_eq!(again["status"], "duplicate");
    assert_eq!(again["issue_key"], first["issue_key"]);
    let issue = jira.created()[0].clone();
    assert_eq!(issue.comments.len(), 1);
    assert!(
        issue.comments[0].as_str().unwrap().contains("srch\\-2"),
        "{:?}",
        issue.comments
    );
    jira.set_status_category(first["issue_key"].as_str().unwrap(), "done");
    let third = invoke(&app, repeat(3)).await.unwrap();
    assert_eq!(third["status"], "created");
    assert_ne!(third["issue_key"], first["issue_key"]);
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
    assert!(e.message.contains("secretsmanager:GetSecretValue"), "{e}");
    assert_eq!(e.class, "not-found");
    assert!(jira.requests().is_empty());
}

/// Every path, with a recognisable token: it appears in no log line, error or answer.
#[tokio::test]
async fn the_token_never_appears_in_logs_errors_or_answers() {
    let (logs, _guard) = Logs::capture();
    let jira = fake(Flavor::Cloud).await;
    let attacker = fake(Flavor::Cloud).await;
    let app = app_with(
        &jira,
        &format!("127.0.0.1:{}", jira.addr.port()),
        Duration::from_secs(300),
        10,
    );
    let mut outputs: Vec<String> = Vec::new();
    let mut record = |r: Result<Value, detection_jira::handler::InvocationError>| {
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
async fn search_lag_between_deliveries_still_gives_one_issue() {
    let jira = fake(Flavor::Cloud).await;
    jira.configure(|c| c.index_lag = Duration::from_secs(2));
    let app = app(&jira);
    let batch = sqs(&[("m1", alert(&jira.base_url).to_string())], QUEUE);
    assert!(failures(&invoke(&app, batch.clone()).await.unwrap()).is_empty());
    // The redelivery comes once the index has caught up (the queue's visibility timeout
    // is far longer than Cloud's index lag).
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let answer = invoke(&app, alert(&jira.base_url)).await.unwrap();
    assert_eq!(answer["status"], "duplicate");
    assert_eq!(jira.created().len(), 1);
}

#[tokio::test]
async fn garbage_in_one_message_fails_only_that_message() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let huge_name = {
        let mut a = run(&jira.base_url, 2);
        a["detection"]["name"] = json!("n".repeat(1_000_000));
        a["detection"]["errors"] = json!(vec!["e"; 100_000]);
        a
    };
    let batch = sqs(
        &[
            ("ok", run(&jira.base_url, 1).to_string()),
            ("deep", deep),
            ("huge", huge_name.to_string()),
            ("null", "null".into()),
        ],
        QUEUE,
    );
    let answer = invoke(&app, batch).await.unwrap();
    assert_eq!(failures(&answer), ["deep", "null"]);
    let huge = jira
        .created()
        .into_iter()
        .find(|i| {
            i.fields["summary"]
                .as_str()
                .unwrap()
                .starts_with("[HIGH] nnn")
        })
        .unwrap();
    assert_eq!(
        huge.fields["summary"]
            .as_str()
            .unwrap()
            .encode_utf16()
            .count(),
        255
    );
}

#[tokio::test]
async fn emf_metrics_count_a_mixed_batch() {
    let jira = fake(Flavor::Cloud).await;
    let (app, lines) = app_capturing_metrics(&jira);
    let base = &jira.base_url;
    let mut skipped = run(base, 2);
    skipped["detection"]["outcome"] = json!("NOT_MATCHED");
    let mut rejected = run(base, 3);
    rejected["destination"]["issue_type"] = json!("Incident");
    jira.push_fault(
        "/rest/api/3/issue",
        FaultKind::Status {
            status: 503,
            retry_after: Some(0),
        },
    );
    let batch = sqs(
        &[
            ("created", run(base, 1).to_string()),
            ("duplicate", run(base, 1).to_string()),
            ("skipped", skipped.to_string()),
            ("rejected", rejected.to_string()),
            ("malformed", "{".into()),
        ],
        QUEUE,
    );
    // One at a time, so the duplicate comes after the create.
    let app = {
        let mut a = std::sync::Arc::try_unwrap(app).ok().unwrap();
        a.max_concurrency = 1;
        std::sync::Arc::new(a)
    };
    let answer = invoke(&app, batch).await.unwrap();
    assert_eq!(failures(&answer), ["rejected", "malformed"]);
    let lines: Vec<Value> = lines
        .lock()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = &lines[0];
    assert_eq!(
        summary["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "DetectionJira"
    );
    for (name, want) in [
        ("AlertsReceived", 5),
        ("IssuesCreated", 1),
        ("Duplicates", 1),
        ("Skipped", 1),
        ("Failed", 2),
        ("Retries", 1),
    ] {
        assert_eq!(summary[name], want, "{name}: {summary}");
    }
    assert!(summary["JiraLatency"].as_array().unwrap().len() >= 5);
    let classes: Vec<(&str, u64)> = lines[1..]
        .iter()
        .map(|l| {
            (
                l["FailureClass"].as_str().unwrap(),
                l["Failed"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(classes, [("bad-input", 1), ("rejected", 1)]);
}

/// A Jira client that panics for one project: the seam the handler is generic over.
struct PanicsOnBoom(detection_jira::jira::JiraHttp);

impl detection_jira::jira::JiraApi for PanicsOnBoom {
    async fn server_info(
        &self,
        call: detection_jira::jira::Call<'_>,
    ) -> Result<detection_jira::jira::Deployment, detection_jira::jira::JiraError> {
        self.0.server_info(call).await
    }
    async fn search(
        &self,
        call: detection_jira::jira::Call<'_>,
        flavor: detection_jira::issue::ApiFlavor,
        jql: &str,
        max: u32,
    ) -> Result<Vec<detection_jira::jira::FoundIssue>, detection_jira::jira::JiraError> {
        assert!(!jql.contains("BOOM"), "simulated bug");
        self.0.search(call, flavor, jql, max).await
    }
    async fn create_issue(
        &self,
        call: detection_jira::jira::Call<'_>,
        flavor: detection_jira::issue::ApiFlavor,
        body: &str,
    ) -> Result<detection_jira::jira::CreatedIssue, detection_jira::jira::JiraError> {
        self.0.create_issue(call, flavor, body).await
    }
    async fn get_json(
        &self,
        call: detection_jira::jira::Call<'_>,
        path: &str,
    ) -> Result<Value, detection_jira::jira::JiraError> {
        self.0.get_json(call, path).await
    }
    async fn add_labels(
        &self,
        call: detection_jira::jira::Call<'_>,
        flavor: detection_jira::issue::ApiFlavor,
        key: &str,
        labels: &[String],
    ) -> Result<(), detection_jira::jira::JiraError> {
        self.0.add_labels(call, flavor, key, labels).await
    }
    async fn add_comment(
        &self,
        call: detection_jira::jira::Call<'_>,
        flavor: detection_jira::issue::ApiFlavor,
        key: &str,
        body: &Value,
    ) -> Result<(), detection_jira::jira::JiraError> {
        self.0.add_comment(call, flavor, key, body).await
    }
}

#[tokio::test]
async fn a_panic_while_processing_one_message_fails_only_that_message() {
    use detection_jira::deliver::Deliverer;
    use detection_jira::handler::{handle, App};
    use detection_jira::hosts::AllowedHosts;
    use detection_jira::secrets::{SecretCache, SecretsManager};
    let jira = fake(Flavor::Cloud).await;
    let app = std::sync::Arc::new(App::new(
        Deliverer::new(
            PanicsOnBoom(detection_jira::jira::JiraHttp::new().unwrap()),
            SecretCache::new(
                SecretsManager::new(secrets_client(&jira.base_url)),
                Duration::from_secs(60),
            ),
            AllowedHosts::parse("127.0.0.1").unwrap(),
        ),
        4,
    ));
    let mut boom = run(&jira.base_url, 2);
    boom["destination"]["project_key"] = json!("BOOM");
    let batch = sqs(
        &[
            ("fine", run(&jira.base_url, 1).to_string()),
            ("boom", boom.to_string()),
            ("also-fine", run(&jira.base_url, 3).to_string()),
        ],
        QUEUE,
    );
    let answer = handle(
        app,
        batch,
        tokio::time::Instant::now() + Duration::from_secs(30),
    )
    .await
    .unwrap();
    assert_eq!(failures(&answer), ["boom"]);
    assert_eq!(jira.created().len(), 2);
}

#[tokio::test]
async fn a_ten_megabyte_alert_is_cut_to_jiras_limits() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let mut a = alert(&jira.base_url);
    a["detection"]["description"] = json!("x".repeat(10 << 20));
    a["detection"]["name"] = json!("n".repeat(1 << 20));
    let answer = invoke(&app, a).await.unwrap();
    assert_eq!(answer["status"], "created", "{answer}");
    let issue = &jira.created()[0];
    assert!(issue.fields["description"].to_string().len() <= 32_767);
    assert!(issue.fields["description"]
        .to_string()
        .contains("cut to fit Jira's limit"));
}
