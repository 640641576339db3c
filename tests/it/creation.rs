//! Issue creation end to end over real HTTP, against the strict fake Jira (Cloud v3 with
//! ADF, Server/DC v2 with wiki markup) and its Secrets Manager: what the issue holds, which
//! requests make it, duplicates, optional fields Jira refuses, repeats, limits.

use crate::common::*;
use fake_jira::{FakeJira, Flavor};
use serde_json::json;

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
    assert_eq!(
        paths(&jira),
        [
            "/rest/api/2/serverInfo",
            "/rest/api/3/search/jql",
            "/rest/api/3/issue"
        ]
    );
    let reqs = jira.requests();
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
    assert_eq!(
        paths(&jira),
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
    // The old search is gone on Cloud (410): the client moves to /search/jql.
    assert_eq!(
        paths(&jira),
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
    let count = |j: &FakeJira| {
        paths(j)
            .iter()
            .filter(|p| p.ends_with("serverInfo"))
            .count()
    };
    assert_eq!((count(&cloud), count(&server)), (1, 1));
    assert_eq!((cloud.created().len(), server.created().len()), (3, 3));
    assert_eq!(cloud.created()[0].api, 3);
    assert_eq!(server.created()[0].api, 2);
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
    // The answer says so too.
    let notes = answer["notes"].to_string();
    assert!(
        notes.contains("left out fields") && notes.contains("priority"),
        "{answer}"
    );
    let issue = &jira.created()[0];
    assert!(issue.fields.get("priority").is_none());
    assert!(issue.fields.get("customfield_11623").is_none());
    assert_eq!(issue.fields["customfield_10051"], json!({"value": "HIGH"}));
    let d = issue.fields["description"].to_string();
    assert!(d.contains("The priority selected is invalid."), "{d}");
    assert!(d.contains("Field 'customfield_11623' cannot be set"), "{d}");
    assert_eq!(
        statuses(&jira, "/issue"),
        [400, 201],
        "one rejected create, one retry"
    );
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
    assert_eq!(e.class.as_str(), "rejected");
    assert!(e.message.contains("valid issue type is required"), "{e}");
    assert!(e.fix.contains("Check issue type exists in project"), "{e}");

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
async fn a_ten_megabyte_alert_is_cut_to_jiras_limits() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let mut a = alert(&jira.base_url);
    a["detection"]["description"] = json!("x".repeat(10 << 20));
    a["detection"]["name"] = json!("n".repeat(1 << 20));
    let answer = invoke(&app, a).await.unwrap();
    assert_eq!(answer["status"], "created", "{answer}");
    assert!(
        answer["notes"].to_string().contains("description was cut"),
        "{answer}"
    );
    let issue = &jira.created()[0];
    let summary = issue.fields["summary"].as_str().unwrap();
    assert_eq!(summary.encode_utf16().count(), 255);
    let description = issue.fields["description"].to_string();
    assert!(description.len() <= 32_767);
    assert!(description.contains("cut to fit Jira's limit"));
}
