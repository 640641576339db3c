//! The fake Jira is only worth its tests if it rejects what real Jira rejects, with
//! Jira's messages (shared/jira/behaviour.md). These requests are sent by hand.

use crate::common::*;
use fake_jira::{FakeJira, Flavor};
use serde_json::{json, Value};

async fn post(jira: &FakeJira, path: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", jira.base_url))
        .basic_auth(USER, Some(TOKEN))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn adf(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]})
}

fn fields(flavor: Flavor) -> Value {
    let description = match flavor {
        Flavor::Cloud => adf("hello"),
        Flavor::Server => json!("hello"),
    };
    json!({"fields": {"project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": "ok", "description": description}})
}

fn path(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Cloud => "/rest/api/3/issue",
        Flavor::Server => "/rest/api/2/issue",
    }
}

/// Sends the standard body with one change and returns Jira's error for `field`.
async fn rejection(flavor: Flavor, change: impl FnOnce(&mut Value)) -> (u16, Value) {
    let jira = fake(flavor).await;
    let mut body = fields(flavor);
    change(&mut body);
    post(&jira, path(flavor), body).await
}

#[tokio::test]
async fn a_valid_issue_is_created() {
    for flavor in [Flavor::Cloud, Flavor::Server] {
        let (status, body) = rejection(flavor, |_| {}).await;
        assert_eq!(status, 201, "{body}");
        assert!(body["key"].as_str().unwrap().starts_with("SEC-"));
        assert!(body["id"].is_string() && body["self"].is_string());
    }
}

#[tokio::test]
async fn field_rejections_use_jiras_messages() {
    type Change = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(Flavor, &str, Change, &str)> = vec![
        (Flavor::Cloud, "project", Box::new(|b: &mut Value| b["fields"]["project"] = json!({"key": "NOPE"})), "Specify a valid project ID or key"),
        (Flavor::Cloud, "issuetype", Box::new(|b: &mut Value| b["fields"]["issuetype"] = json!({"name": "Incident"})), "The issue type selected is invalid."),
        (Flavor::Server, "issuetype", Box::new(|b: &mut Value| b["fields"]["issuetype"] = json!({"name": "Incident"})), "valid issue type is required"),
        (Flavor::Cloud, "priority", Box::new(|b: &mut Value| b["fields"]["priority"] = json!({"name": "Urgent"})), "The priority selected is invalid."),
        (Flavor::Server, "priority", Box::new(|b: &mut Value| b["fields"]["priority"] = json!({"name": "Urgent"})), "This priority is not available for this project."),
        (Flavor::Cloud, "summary", Box::new(|b: &mut Value| b["fields"]["summary"] = json!("x".repeat(256))), "Summary can't exceed 255 characters."),
        (Flavor::Cloud, "summary", Box::new(|b: &mut Value| b["fields"]["summary"] = json!("🔥".repeat(128))), "Summary can't exceed 255 characters."),
        (Flavor::Server, "summary", Box::new(|b: &mut Value| b["fields"]["summary"] = json!("a\nb")), "The summary is invalid because it contains newline characters."),
        (Flavor::Cloud, "labels", Box::new(|b: &mut Value| b["fields"]["labels"] = json!(["Severity: high"])), "The label 'Severity: high' contains spaces which is invalid."),
        (Flavor::Cloud, "labels", Box::new(|b: &mut Value| b["fields"]["labels"] = json!(["x".repeat(256)])), "exceeds the maximum length for a single label of 255 characters"),
        (Flavor::Cloud, "description", Box::new(|b: &mut Value| b["fields"]["description"] = json!("plain")), "Operation value must be an Atlassian Document (see the Atlassian Document Format)"),
        (Flavor::Server, "description", Box::new(|b: &mut Value| b["fields"]["description"] = adf("x")), "Operation value must be a string"),
        (Flavor::Server, "description", Box::new(|b: &mut Value| b["fields"]["description"] = json!("x".repeat(32_768))), "The entered text is too long. It exceeds the allowed limit of 32,767 characters."),
        (Flavor::Cloud, "description", Box::new(|b: &mut Value| b["fields"]["description"] = adf(&"x".repeat(32_768))), "The entered text is too long. It exceeds the allowed limit of 32,767 characters."),
        (Flavor::Cloud, "customfield_11623", Box::new(|b: &mut Value| b["fields"]["customfield_11623"] = json!(1)), "Field 'customfield_11623' cannot be set. It is not on the appropriate screen, or unknown."),
        (Flavor::Cloud, "parent", Box::new(|b: &mut Value| b["fields"]["parent"] = json!({"key": "SEC-999"})), "Could not find issue by id or key."),
    ];
    for (flavor, field, change, message) in cases {
        let (status, body) = rejection(flavor, change).await;
        assert_eq!(status, 400, "{flavor:?} {field}: {body}");
        let got = body["errors"][field].as_str().unwrap_or_default();
        assert!(got.contains(message), "{flavor:?} {field}: got {body}");
    }
}

#[tokio::test]
async fn malformed_adf_is_invalid_input() {
    let (status, body) = rejection(Flavor::Cloud, |b| {
        b["fields"]["description"] = json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}]})
    })
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["errorMessages"], json!(["INVALID_INPUT"]));
}

#[tokio::test]
async fn auth_permission_and_removed_apis() {
    let jira = fake(Flavor::Cloud).await;
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{}/rest/api/3/issue", jira.base_url))
        .basic_auth(USER, Some("wrong"))
        .json(&fields(Flavor::Cloud))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);

    let (status, body) = post(
        &jira,
        "/rest/api/3/search",
        json!({"jql": "project = \"SEC\""}),
    )
    .await;
    assert_eq!(status, 410);
    assert!(body["errorMessages"][0]
        .as_str()
        .unwrap()
        .contains("/rest/api/3/search/jql"));

    let (status, _) = post(
        &jira,
        "/rest/api/3/search/jql",
        json!({"jql": "project = \"SEC\"", "startAt": 0}),
    )
    .await;
    assert_eq!(
        status, 400,
        "startAt is not a property of the /search/jql request"
    );

    jira.configure(|c| c.read_only_users.push(USER.into()));
    let (status, body) = post(&jira, "/rest/api/3/issue", fields(Flavor::Cloud)).await;
    assert_eq!(status, 403);
    assert!(body["errorMessages"][0]
        .as_str()
        .unwrap()
        .contains("permission to create issues"));

    let server = fake(Flavor::Server).await;
    let (status, _) = post(&server, "/rest/api/3/issue", fields(Flavor::Cloud)).await;
    assert_eq!(status, 404, "Server/DC has no REST v3");
}

#[tokio::test]
async fn server_info_tells_the_deployments_apart() {
    for (flavor, want) in [(Flavor::Cloud, "Cloud"), (Flavor::Server, "Server")] {
        let jira = fake(flavor).await;
        let info: Value = reqwest::get(format!("{}/rest/api/2/serverInfo", jira.base_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(info["deploymentType"], want);
    }
}

/// Cloud's search is eventually consistent; the fake's index catches up when the test says.
#[tokio::test]
async fn search_misses_new_issues_until_the_index_catches_up() {
    let jira = fake(Flavor::Cloud).await;
    jira.configure(|c| c.defer_indexing = true);
    let create = |label: &str| {
        let mut body = fields(Flavor::Cloud);
        body["fields"]["labels"] = json!([label]);
        post(&jira, "/rest/api/3/issue", body)
    };
    let found = |label: &str| {
        let query =
            json!({"jql": format!("project = \"SEC\" AND labels = \"{label}\""), "maxResults": 1});
        let search = post(&jira, "/rest/api/3/search/jql", query);
        async move { search.await.1["issues"].as_array().unwrap().len() }
    };
    assert_eq!(create("fp-1").await.0, 201);
    assert_eq!(found("fp-1").await, 0, "not indexed yet");
    assert_eq!(found("fp-1").await, 0, "no clock: it waits to be told");
    jira.index_now();
    assert_eq!(found("fp-1").await, 1);
    // A later issue waits for the next catch-up.
    assert_eq!(create("fp-2").await.0, 201);
    assert_eq!(found("fp-2").await, 0);
    jira.index_now();
    assert_eq!(found("fp-2").await, 1);
}

/// Server/DC priority schemes: a priority Jira knows may still be closed to one project.
#[tokio::test]
async fn a_priority_outside_the_projects_scheme_is_refused() {
    let jira = fake(Flavor::Server).await;
    jira.configure(|c| c.projects[0].priorities = Some(vec!["Medium".into(), "Low".into()]));
    let with_priority = |name: &str| {
        let mut body = fields(Flavor::Server);
        body["fields"]["priority"] = json!({"name": name});
        body
    };
    let (status, body) = post(&jira, "/rest/api/2/issue", with_priority("High")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["errors"]["priority"],
        "This priority is not available for this project."
    );
    let (status, body) = post(&jira, "/rest/api/2/issue", with_priority("Low")).await;
    assert_eq!(status, 201, "{body}");
}

/// The stand-in serves the page an answer's `issue_url` points at.
#[tokio::test]
async fn the_answers_issue_url_is_a_page() {
    let jira = fake(Flavor::Cloud).await;
    let answer = invoke(&app(&jira), alert(&jira.base_url)).await.unwrap();
    let url = answer["issue_url"].as_str().unwrap();
    let page = reqwest::get(url).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Impossible travel for privileged user"),
        "{html}"
    );
    assert!(html.contains("<b>Status:</b> new"), "{html}");
    let missing = reqwest::get(format!("{}/browse/SEC-999", jira.base_url))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}
