//! Atlassian's newer credentials on the Cloud fake: `/_edge/tenant_info` on the site, the
//! token endpoint (client credentials of a service account), and `/ex/jira/{cloudId}/...`
//! on the gateway with Bearer access tokens or scoped API tokens, scopes checked.

use fake_jira::{
    Config, FakeJira, Flavor, Listener, OAuthClient, ScopedToken, DEFAULT_CLOUD_ID, DEMO_TOKEN,
    DEMO_USER,
};
use serde_json::{json, Value};
use std::time::Duration;

const ID: &str = "svc-client";
const SECRET: &str = "svc-secret";
const SCOPED: &str = "scoped-token-1";
const ALL: &[&str] = &["read:jira-work", "write:jira-work", "read:jira-user"];

/// A Cloud fake with a service account (all classic scopes), a read-only one, and a scoped
/// token for the demo user; answers it with its gateway's base URL.
async fn cloud() -> (FakeJira, String) {
    let mut config = Config::standard(Flavor::Cloud);
    config.oauth_clients.push(OAuthClient::new(ID, SECRET, ALL));
    config.oauth_clients.push(OAuthClient::new(
        "reader",
        "reader-secret",
        &["read:jira-work"],
    ));
    config
        .scoped_tokens
        .insert(DEMO_USER.into(), ScopedToken::new(SCOPED, ALL));
    let jira = FakeJira::start(config).await;
    let gateway = jira.start_gateway().await;
    (jira, gateway)
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value, reqwest::header::HeaderMap) {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    )
}

async fn token_request(gateway: &str, body: Value) -> (u16, Value) {
    let req = reqwest::Client::new()
        .post(format!("{gateway}/oauth/token"))
        .json(&body);
    let (status, body, _) = send(req).await;
    (status, body)
}

/// A fresh access token for `client_id`.
async fn access_token(gateway: &str, client_id: &str, secret: &str) -> String {
    let body = json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret});
    let (status, answer) = token_request(gateway, body).await;
    assert_eq!(status, 200, "{answer}");
    answer["access_token"].as_str().unwrap().to_string()
}

fn api(gateway: &str, rest: &str) -> String {
    format!("{gateway}/ex/jira/{DEFAULT_CLOUD_ID}/rest/api/3/{rest}")
}

async fn bearer_get(url: &str, token: &str) -> (u16, Value) {
    let (status, body, _) = send(reqwest::Client::new().get(url).bearer_auth(token)).await;
    (status, body)
}

fn new_issue() -> Value {
    let doc = json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hello"}]}]});
    json!({"fields": {"project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": "A detection", "description": doc}})
}

#[tokio::test]
async fn tenant_info_answers_the_cloud_id_to_anyone() {
    let (jira, _) = cloud().await;
    let url = format!("{}/_edge/tenant_info", jira.base_url);
    let (status, body, _) = send(reqwest::Client::new().get(&url)).await;
    assert_eq!((status, body), (200, json!({"cloudId": DEFAULT_CLOUD_ID})));
    let with_auth = reqwest::Client::new()
        .get(&url)
        .basic_auth(DEMO_USER, Some(DEMO_TOKEN));
    let (status, body, _) = send(with_auth).await;
    assert_eq!((status, body), (200, json!({"cloudId": DEFAULT_CLOUD_ID})));
    let seen: Vec<_> = jira
        .requests()
        .into_iter()
        .filter(|r| r.path == "/_edge/tenant_info")
        .collect();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|r| r.listener == Listener::Site));
    assert_eq!(seen[0].authorization, None);
    assert!(
        seen[1].authorization.is_some(),
        "credentials sent are recorded"
    );

    let server = FakeJira::start(Config::standard(Flavor::Server)).await;
    let url = format!("{}/_edge/tenant_info", server.base_url);
    assert_eq!(send(reqwest::Client::new().get(url)).await.0, 404);
}

#[tokio::test]
async fn the_token_endpoint_issues_bearer_tokens_for_json_and_form_bodies() {
    let (jira, gateway) = cloud().await;
    let body =
        json!({"grant_type": "client_credentials", "client_id": ID, "client_secret": SECRET});
    let (status, answer) = token_request(&gateway, body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 3600);
    assert_eq!(
        answer["scope"],
        "read:jira-work write:jira-work read:jira-user"
    );
    let first = answer["access_token"].as_str().unwrap().to_string();
    assert!(first.len() >= 32);

    let form = reqwest::Client::new()
        .post(format!("{gateway}/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={ID}&client_secret={SECRET}"
        ));
    let (status, answer, headers) = send(form).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_ne!(answer["access_token"].as_str().unwrap(), first, "random");
    assert_eq!(jira.token_requests(), 2);
    assert!(jira
        .requests()
        .iter()
        .all(|r| r.listener == Listener::Gateway && r.path == "/oauth/token"));
}

#[tokio::test]
async fn the_token_endpoint_refuses_what_auth_atlassian_com_refuses() {
    let (jira, gateway) = cloud().await;
    let denied = json!({"error": "access_denied", "error_description": "Unauthorized"});
    let cases = [
        (
            json!({"grant_type": "client_credentials", "client_id": ID, "client_secret": "wrong"}),
            401,
            denied.clone(),
        ),
        (
            json!({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": SECRET}),
            401,
            denied.clone(),
        ),
        (
            json!({"grant_type": "client_credentials", "client_id": ID}),
            401,
            denied,
        ),
    ];
    for (body, status, answer) in cases {
        assert_eq!(
            token_request(&gateway, body.clone()).await,
            (status, answer),
            "{body}"
        );
    }
    let errors = [
        (
            json!({"client_id": ID, "client_secret": SECRET}),
            400,
            "unsupported_grant_type",
        ),
        (
            json!({"grant_type": "password", "client_id": ID, "client_secret": SECRET}),
            400,
            "unsupported_grant_type",
        ),
        (
            json!({"grant_type": "client_credentials", "client_secret": SECRET}),
            400,
            "invalid_request",
        ),
        (
            json!({"grant_type": "client_credentials", "client_id": ID, "client_secret": SECRET, "scope": "read:jira-work"}),
            400,
            "invalid_scope",
        ),
    ];
    for (body, status, error) in errors {
        let (got, answer) = token_request(&gateway, body.clone()).await;
        assert_eq!(
            (got, answer["error"].as_str()),
            (status, Some(error)),
            "{body}"
        );
        assert!(answer["error_description"].is_string());
    }
    assert_eq!(jira.token_requests(), 7);

    // The service account loses access to Jira: no new token, and the old one stops working.
    let token = access_token(&gateway, ID, SECRET).await;
    assert_eq!(bearer_get(&api(&gateway, "myself"), &token).await.0, 200);
    jira.revoke_app(ID);
    let body =
        json!({"grant_type": "client_credentials", "client_id": ID, "client_secret": SECRET});
    let (status, answer) = token_request(&gateway, body).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (403, Some("unauthorized_client"))
    );
    assert_eq!(
        bearer_get(&api(&gateway, "myself"), &token).await,
        (401, json!({"code": 401, "message": "Unauthorized"}))
    );
}

#[tokio::test]
async fn tokens_expire_on_tokios_clock_and_on_demand() {
    let (jira, gateway) = cloud().await;
    let token = access_token(&gateway, ID, SECRET).await;
    let myself = api(&gateway, "myself");
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(3599)).await;
    tokio::time::resume();
    assert_eq!(bearer_get(&myself, &token).await.0, 200, "one second left");
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(1)).await;
    tokio::time::resume();
    let expired = (401, json!({"code": 401, "message": "Unauthorized"}));
    assert_eq!(bearer_get(&myself, &token).await, expired);

    let token = access_token(&gateway, ID, SECRET).await;
    assert_eq!(bearer_get(&myself, &token).await.0, 200);
    jira.expire_tokens();
    assert_eq!(bearer_get(&myself, &token).await, expired);
    assert_eq!(bearer_get(&myself, "made-up").await, expired);
    assert_eq!(send(reqwest::Client::new().get(&myself)).await.0, 401);

    jira.configure(|c| c.token_lifetime = Duration::from_secs(60));
    let body =
        json!({"grant_type": "client_credentials", "client_id": ID, "client_secret": SECRET});
    assert_eq!(token_request(&gateway, body).await.1["expires_in"], 60);
}

#[tokio::test]
async fn a_bearer_token_reaches_the_whole_cloud_api_through_the_gateway() {
    let (jira, gateway) = cloud().await;
    let token = access_token(&gateway, ID, SECRET).await;
    let client = reqwest::Client::new();
    let create = client
        .post(api(&gateway, "issue"))
        .bearer_auth(&token)
        .json(&new_issue());
    let (status, created, _) = send(create).await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap();
    assert_eq!(
        created["self"],
        api(
            &gateway,
            &format!("issue/{}", created["id"].as_str().unwrap())
        ),
        "self links point at the gateway"
    );
    let (status, issue) = bearer_get(&api(&gateway, &format!("issue/{key}")), &token).await;
    assert_eq!((status, issue["key"].as_str()), (200, Some(key)));
    let (status, me) = bearer_get(&api(&gateway, "myself"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(
        me["emailAddress"],
        "svc-client@serviceaccount.atlassian.com"
    );
    let (status, info) = bearer_get(&api(&gateway, "serverInfo"), &token).await;
    assert_eq!(
        (status, info["baseUrl"].as_str()),
        (200, Some(jira.base_url.as_str()))
    );

    let v2 = format!("{gateway}/ex/jira/{DEFAULT_CLOUD_ID}/rest/api/2/issue/{key}");
    assert_eq!(bearer_get(&v2, &token).await.0, 200);
    let search = client
        .post(api(&gateway, "search/jql"))
        .bearer_auth(&token)
        .json(&json!({"jql": "project = SEC", "reconcileIssues": [created["id"].as_str().unwrap().parse::<u64>().unwrap()]}));
    assert_eq!(send(search).await.0, 200);

    // Nothing with credentials reached the site; everything went through /ex/jira/<id>.
    let requests = jira.requests();
    assert!(requests.iter().all(|r| r.listener == Listener::Gateway));
    assert!(requests
        .iter()
        .filter(|r| r.path != "/oauth/token")
        .all(|r| r
            .path
            .starts_with(&format!("/ex/jira/{DEFAULT_CLOUD_ID}/rest/api/"))));
    assert_eq!(jira.created().len(), 1);
}

#[tokio::test]
async fn a_scoped_token_works_at_the_gateway_only_and_a_classic_token_at_the_site_only() {
    let (jira, gateway) = cloud().await;
    let client = reqwest::Client::new();
    let scoped_at_gateway = client
        .get(api(&gateway, "myself"))
        .basic_auth(DEMO_USER, Some(SCOPED));
    let (status, me, _) = send(scoped_at_gateway).await;
    assert_eq!(
        (status, me["emailAddress"].as_str()),
        (200, Some(DEMO_USER))
    );

    let classic_at_gateway = client
        .get(api(&gateway, "myself"))
        .basic_auth(DEMO_USER, Some(DEMO_TOKEN));
    let (status, body, _) = send(classic_at_gateway).await;
    assert_eq!(
        (status, body),
        (401, json!({"code": 401, "message": "Unauthorized"}))
    );

    let site = format!("{}/rest/api/3/myself", jira.base_url);
    let scoped_at_site = client.get(&site).basic_auth(DEMO_USER, Some(SCOPED));
    assert_eq!(send(scoped_at_site).await.0, 401);
    let token = access_token(&gateway, ID, SECRET).await;
    assert_eq!(send(client.get(&site).bearer_auth(&token)).await.0, 401);
    let classic_at_site = client.get(&site).basic_auth(DEMO_USER, Some(DEMO_TOKEN));
    assert_eq!(send(classic_at_site).await.0, 200);
    let listeners: Vec<_> = jira.requests().iter().map(|r| r.listener).collect();
    use Listener::{Gateway, Site};
    assert_eq!(listeners, [Gateway, Gateway, Site, Gateway, Site, Site]);
}

#[tokio::test]
async fn a_missing_scope_is_refused_with_atlassians_message() {
    let (jira, gateway) = cloud().await;
    let reader = access_token(&gateway, "reader", "reader-secret").await;
    let create = reqwest::Client::new()
        .post(api(&gateway, "issue"))
        .bearer_auth(&reader)
        .json(&new_issue());
    let (status, body, headers) = send(create).await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"code": 401, "message": "Unauthorized; scope does not match"})
        )
    );
    assert_eq!(headers["x-failure-category"], "FAILURE_CLIENT_SCOPE_CHECK");
    assert!(jira.created().is_empty());
    let (status, body) = bearer_get(&api(&gateway, "myself"), &reader).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("Unauthorized; scope does not match"))
    );
    assert_eq!(
        bearer_get(&api(&gateway, "issue/SEC-1"), &reader).await.0,
        200
    );

    // A granular bundle passes only whole.
    let issue_read = [
        "read:issue:jira",
        "read:issue-meta:jira",
        "read:issue-security-level:jira",
        "read:issue.vote:jira",
        "read:issue.changelog:jira",
        "read:status:jira",
        "read:field-configuration:jira",
        "read:user:jira",
        "read:avatar:jira",
    ];
    jira.configure(|c| {
        c.scoped_tokens.insert(
            "granular@acme.example".into(),
            ScopedToken::new("g-all", &issue_read),
        );
        c.scoped_tokens.insert(
            "partial@acme.example".into(),
            ScopedToken::new("g-part", &issue_read[1..]),
        );
        c.users
            .insert("granular@acme.example".into(), "classic".into());
        c.users
            .insert("partial@acme.example".into(), "classic".into());
    });
    let get = |email: &str, token: &str| {
        reqwest::Client::new()
            .get(api(&gateway, "issue/SEC-1"))
            .basic_auth(email, Some(token))
    };
    assert_eq!(send(get("granular@acme.example", "g-all")).await.0, 200);
    assert_eq!(send(get("partial@acme.example", "g-part")).await.0, 401);
}

#[tokio::test]
async fn the_gateway_knows_one_cloud_id_and_only_its_own_paths() {
    let (jira, gateway) = cloud().await;
    let token = access_token(&gateway, ID, SECRET).await;
    let other = format!("{gateway}/ex/jira/00000000-0000-0000-0000-000000000000/rest/api/3/myself");
    assert_eq!(
        bearer_get(&other, &token).await,
        (404, json!({"errorMessage": "Site temporarily unavailable"}))
    );
    let unprefixed = format!("{gateway}/rest/api/3/myself");
    assert_eq!(bearer_get(&unprefixed, &token).await.0, 404);
    assert_eq!(
        bearer_get(&format!("{gateway}/_edge/tenant_info"), &token)
            .await
            .0,
        404
    );
    assert_eq!(
        bearer_get(&api(&gateway, "nothing/here"), &token).await.0,
        404
    );

    jira.configure(|c| c.cloud_id = "11111111-2222-3333-4444-555555555555".into());
    let moved = format!("{gateway}/ex/jira/11111111-2222-3333-4444-555555555555/rest/api/3/myself");
    assert_eq!(bearer_get(&moved, &token).await.0, 200);

    let server = FakeJira::start(Config::standard(Flavor::Server)).await;
    let server_gateway = server.start_gateway().await;
    let body =
        json!({"grant_type": "client_credentials", "client_id": ID, "client_secret": SECRET});
    assert_eq!(token_request(&server_gateway, body).await.0, 404);
}
