//! Requests sent by hand to a fake Jira, as the demo user.

#![allow(dead_code)]

use fake_jira::{Config, FakeJira, Flavor, DEMO_TOKEN, DEMO_USER};
use serde_json::{json, Value};

pub async fn fake(flavor: Flavor) -> FakeJira {
    FakeJira::start(Config::standard(flavor)).await
}

/// `/rest/api/3` on Cloud, `/rest/api/2` on Server/DC.
pub fn api(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Cloud => "/rest/api/3",
        Flavor::Server => "/rest/api/2",
    }
}

/// Sends a request; answers the status and the JSON body (Null when there is none), and
/// asserts that a 204 has no body at all.
pub async fn call(jira: &FakeJira, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", jira.base_url);
    let mut req = client
        .request(method.parse().unwrap(), url)
        .basic_auth(DEMO_USER, Some(DEMO_TOKEN));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    if status == 204 {
        assert!(text.is_empty(), "204 with a body: {text}");
    }
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn get(jira: &FakeJira, path: &str) -> (u16, Value) {
    call(jira, "GET", path, None).await
}

pub async fn post(jira: &FakeJira, path: &str, body: Value) -> (u16, Value) {
    call(jira, "POST", path, Some(body)).await
}

/// Creates a Task in SEC with these labels; answers (key, id).
pub async fn create(jira: &FakeJira, flavor: Flavor, labels: &[&str]) -> (String, String) {
    let description = match flavor {
        Flavor::Cloud => {
            json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hello"}]}]})
        }
        Flavor::Server => json!("hello"),
    };
    let body = json!({"fields": {"project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": "A detection", "description": description, "labels": labels}});
    let (status, answer) = post(jira, &format!("{}/issue", api(flavor)), body).await;
    assert_eq!(status, 201, "{answer}");
    (
        answer["key"].as_str().unwrap().to_string(),
        answer["id"].as_str().unwrap().to_string(),
    )
}

/// Takes transition `id` on `key`, with `extra` merged into the body.
pub async fn transition(
    jira: &FakeJira,
    flavor: Flavor,
    key: &str,
    id: &str,
    extra: Value,
) -> (u16, Value) {
    let mut body = json!({"transition": {"id": id}});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    post(
        jira,
        &format!("{}/issue/{key}/transitions", api(flavor)),
        body,
    )
    .await
}

/// The names of the transitions offered on `key`.
pub async fn offered(jira: &FakeJira, flavor: Flavor, key: &str) -> Vec<String> {
    let (status, body) = get(jira, &format!("{}/issue/{key}/transitions", api(flavor))).await;
    assert_eq!(status, 200, "{body}");
    body["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}
