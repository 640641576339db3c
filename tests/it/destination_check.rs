//! check_destination against the strict fake Jira: each check failing on its own names the
//! problem and the fix; a good destination passes and can create a test issue.

use crate::common::*;
use fake_jira::{FakeJira, Flavor};
use serde_json::{json, Value};

fn request(base: &str) -> Value {
    let mut dest = alert(base)["destination"].clone();
    dest["custom_fields"] =
        json!({"detection_id": "customfield_10050", "severity": "customfield_10051"});
    dest["links"] = json!([{"type": "Relates", "key": "SEC-42"}]);
    dest["parent_key"] = json!("SEC-1");
    json!({"action": "check_destination", "destination": dest})
}

fn failed(report: &Value) -> Vec<(String, String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["detail"].as_str().unwrap().to_string(),
                c["fix"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_good_destination_passes_every_check_and_creates_nothing() {
    for flavor in [Flavor::Cloud, Flavor::Server] {
        let jira = fake(flavor).await;
        let report = invoke(&app(&jira), request(&jira.base_url)).await.unwrap();
        assert_eq!(report["ok"], true, "{report:#}");
        let names: Vec<&str> = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "destination",
                "instance_url",
                "secret",
                "allowed_host",
                "deployment",
                "credentials",
                "project",
                "issue_type",
                "custom_fields",
                "priorities",
                "links"
            ]
        );
        assert!(jira.created().is_empty());
        let text = report.to_string();
        assert_no_token("the report", &text);
    }
}

#[tokio::test]
async fn create_test_issue_answers_its_key() {
    let jira = fake(Flavor::Cloud).await;
    let mut req = request(&jira.base_url);
    req["create_test_issue"] = json!(true);
    let report = invoke(&app(&jira), req).await.unwrap();
    assert_eq!(report["ok"], true, "{report:#}");
    let key = report["test_issue"]["issue_key"].as_str().unwrap();
    let created = jira.created();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].key, key);
    assert!(created[0].fields["summary"]
        .as_str()
        .unwrap()
        .starts_with("[TEST]"));
}

/// Breaks one thing, and expects that check to be the first to fail, with `detail` and
/// `fix` words (checks that depend on the broken thing may fail after it: every problem
/// is reported at once).
async fn expect_failure(
    flavor: Flavor,
    breakage: impl FnOnce(&FakeJira, &mut Value),
    name: &str,
    detail: &str,
    fix: &str,
) {
    let jira = fake(flavor).await;
    let mut req = request(&jira.base_url);
    breakage(&jira, &mut req);
    let report = invoke(&app(&jira), req).await.unwrap();
    assert_eq!(report["ok"], false, "{name}: {report:#}");
    let failures = failed(&report);
    assert!(!failures.is_empty(), "{name}: {report:#}");
    let (got_name, got_detail, got_fix) = &failures[0];
    assert_eq!(got_name, name);
    assert!(
        got_detail.contains(detail),
        "{name}: detail {got_detail:?} lacks {detail:?}"
    );
    assert!(
        got_fix.contains(fix),
        "{name}: fix {got_fix:?} lacks {fix:?}"
    );
    assert!(jira.created().is_empty());
}

#[tokio::test]
async fn each_problem_is_named_with_its_fix() {
    expect_failure(
        Flavor::Cloud,
        |j, _| j.set_token(USER, "other"),
        "credentials",
        "401",
        "Verify email and API token are correct",
    )
    .await;
    expect_failure(
        Flavor::Cloud,
        |j, _| j.configure(|c| c.blind_users.push(USER.into())),
        "project",
        "not visible",
        "Browse Projects",
    )
    .await;
    expect_failure(
        Flavor::Server,
        |_, r| r["destination"]["project_key"] = json!("NOPE"),
        "project",
        "No project could be found with key 'NOPE'",
        "Verify instance URL and project key are correct",
    )
    .await;
    expect_failure(
        Flavor::Cloud,
        |_, r| r["destination"]["issue_type"] = json!("Incident"),
        "issue_type",
        "it has: Task, Bug, Story, Epic",
        "Check issue type exists in project",
    )
    .await;
    expect_failure(
        Flavor::Cloud,
        |_, r| r["destination"]["priority_map"] = json!({"CRITICAL": "P1"}),
        "priorities",
        "missing: P1; this Jira has: Highest, High, Medium, Low, Lowest",
        "priority mapping depends on your Jira configuration",
    )
    .await;
    expect_failure(
        Flavor::Server,
        |_, r| r["destination"]["custom_fields"]["severity"] = json!("customfield_11623"),
        "custom_fields",
        "customfield_11623 is not on the create screen",
        "create screen",
    )
    .await;
    expect_failure(
        Flavor::Cloud,
        |_, r| r["destination"]["custom_fields"]["detection_id"] = json!("customfield_10051"),
        "custom_fields",
        "is of type option, expected number",
        "create screen",
    )
    .await;
    expect_failure(
        Flavor::Cloud,
        |_, r| r["destination"]["links"] = json!([{"type": "Causes", "key": "SEC-42"}]),
        "links",
        "link type \"Causes\" does not exist",
        "existing link types",
    )
    .await;
    expect_failure(
        Flavor::Cloud,
        |_, r| r["destination"]["parent_key"] = json!("SEC-999"),
        "links",
        "issue SEC-999 is not visible",
        "existing link types and issues",
    )
    .await;
    expect_failure(
        Flavor::Cloud,
        |_, r| r["destination"]["api_token_secret"] = json!("jira/missing"),
        "secret",
        "jira/missing",
        "destination.api_token_secret names an existing secret",
    )
    .await;
    expect_failure(
        Flavor::Cloud,
        |_, r| r["destination"]["instance_url"] = json!("http://jira.example.com"),
        "instance_url",
        "plain http",
        "https",
    )
    .await;
    expect_failure(
        Flavor::Cloud,
        |_, r| r["destination"]["project_key"] = json!("sec"),
        "destination",
        "destination.project_key",
        "upper-case",
    )
    .await;
}

#[tokio::test]
async fn a_host_outside_the_allow_list_fails_before_any_request() {
    let jira = fake(Flavor::Cloud).await;
    let app = app_allowing(&jira, "acme.atlassian.net");
    let report = invoke(&app, request(&jira.base_url)).await.unwrap();
    let failures = failed(&report);
    assert_eq!(failures[0].0, "allowed_host");
    assert!(failures[0].2.contains("ALLOWED_JIRA_HOSTS"));
    assert!(jira.requests().is_empty());
}

#[tokio::test]
async fn a_lifecycle_destination_is_checked_for_done_statuses_and_permissions() {
    for flavor in [Flavor::Cloud, Flavor::Server] {
        let jira = fake(flavor).await;
        let mut req = request(&jira.base_url);
        req["destination"]["resolve_when_clear"] = json!(true);
        req["destination"]["reopen_within_hours"] = json!(24);
        let report = invoke(&app(&jira), req.clone()).await.unwrap();
        assert_eq!(report["ok"], true, "{report:#}");
        let check = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "lifecycle")
            .cloned()
            .unwrap_or_else(|| panic!("no lifecycle check: {report:#}"));
        let detail = check["detail"].as_str().unwrap();
        let done = match flavor {
            Flavor::Cloud => "Done statuses: Done;",
            Flavor::Server => "Done statuses: Resolved, Closed;",
        };
        assert!(detail.contains(done), "{detail}");
    }
    expect_failure(
        Flavor::Server,
        |jira, req| {
            jira.configure(|c| c.no_transition_users.push(USER.into()));
            req["destination"]["resolve_when_clear"] = json!(true);
        },
        "lifecycle",
        "lacks TRANSITION_ISSUES, RESOLVE_ISSUES",
        "permission scheme",
    )
    .await;
    expect_failure(
        Flavor::Cloud,
        |jira, req| {
            jira.configure(|c| c.workflow.statuses.retain(|s| s.category != "done"));
            req["destination"]["resolve_when_clear"] = json!(true);
        },
        "lifecycle",
        "has no status in the Done category",
        "resolve_when_clear to false",
    )
    .await;
}
