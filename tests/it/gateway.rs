//! Scoped API tokens and service-account OAuth over real HTTP (contract section 11): the
//! fake Jira Cloud site answers `tenant_info`, and a second listener plays the Atlassian
//! gateway (token endpoint, `/ex/jira/<cloud id>/rest/api/...`, scope checks).

use crate::common::*;
use fake_jira::{FakeJira, Flavor, Listener, OAuthClient, ScopedToken, DEFAULT_CLOUD_ID};
use serde_json::{json, Value};

const CLIENT_ID: &str = "svc-detections";
const CLIENT_SECRET: &str = "FAKE-client-secret-for-tests-only-7";
const SCOPED: &str = "FAKE-scoped-token-for-tests-only-3";
const ALL: [&str; 3] = ["read:jira-work", "write:jira-work", "read:jira-user"];

/// A Cloud site with its gateway, the secret `SECRET_ID` holding `secret`.
async fn site(secret: Value, scopes: &[&str]) -> (FakeJira, String) {
    let jira = fake(Flavor::Cloud).await;
    jira.configure(|c| {
        c.oauth_clients
            .push(OAuthClient::new(CLIENT_ID, CLIENT_SECRET, scopes));
        c.scoped_tokens
            .insert(USER.into(), ScopedToken::new(SCOPED, scopes));
        c.secrets.insert(SECRET_ID.into(), secret.to_string());
    });
    let gateway = jira.start_gateway().await;
    (jira, gateway)
}

fn oauth_secret() -> Value {
    json!({"auth": "oauth", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
}

fn scoped_secret() -> Value {
    json!({"auth": "scoped", "api_token": SCOPED, "email": USER})
}

fn gateway_paths(jira: &FakeJira) -> Vec<String> {
    jira.requests()
        .into_iter()
        .filter(|r| r.listener == Listener::Gateway)
        .map(|r| r.path)
        .collect()
}

/// Nothing reached the site with credentials.
fn assert_site_saw_no_credentials(jira: &FakeJira) {
    for r in jira
        .requests()
        .iter()
        .filter(|r| r.listener == Listener::Site)
    {
        assert!(
            r.authorization.is_none(),
            "credentials sent to the site: {r:?}"
        );
    }
}

#[tokio::test]
async fn a_scoped_token_goes_to_the_gateway_and_never_to_the_site() {
    let (jira, gateway) = site(scoped_secret(), &ALL).await;
    let app = app_with_gateway(&jira, &gateway);
    for n in 0..3 {
        let answer = invoke(&app, run(&jira.base_url, n)).await.unwrap();
        assert_eq!(answer["status"], "created", "{answer}");
        // The answer names the site, never the gateway.
        let url = answer["issue_url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("{}/browse/", jira.base_url)),
            "{url}"
        );
    }
    let prefix = format!("/ex/jira/{DEFAULT_CLOUD_ID}/rest/api/3/");
    let paths = gateway_paths(&jira);
    assert!(!paths.is_empty());
    assert!(paths.iter().all(|p| p.starts_with(&prefix)), "{paths:?}");
    assert_site_saw_no_credentials(&jira);
    // The cloud id is asked once per container, anonymously.
    let tenant: Vec<_> = jira
        .requests()
        .into_iter()
        .filter(|r| r.path == "/_edge/tenant_info")
        .collect();
    assert_eq!(tenant.len(), 1);
    assert_eq!(jira.created().len(), 3);
}

#[tokio::test]
async fn a_hundred_concurrent_alerts_fetch_one_access_token() {
    let (jira, gateway) = site(oauth_secret(), &ALL).await;
    let app = app_with_gateway(&jira, &gateway);
    let answer = invoke(&app, sqs_of_runs(&jira.base_url, 0..100))
        .await
        .unwrap();
    assert!(failures(&answer).is_empty(), "{answer}");
    assert_eq!(jira.created().len(), 100);
    assert_eq!(jira.token_requests(), 1);
    assert_site_saw_no_credentials(&jira);
    assert!(jira
        .requests()
        .iter()
        .filter(|r| r.listener == Listener::Gateway && r.path.starts_with("/ex/"))
        .all(|r| r
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Bearer "))));
}

#[tokio::test]
async fn an_expired_access_token_is_replaced_once() {
    let (jira, gateway) = site(oauth_secret(), &ALL).await;
    let app = app_with_gateway(&jira, &gateway);
    invoke(&app, run(&jira.base_url, 1)).await.unwrap();
    jira.expire_tokens();
    let answer = invoke(&app, run(&jira.base_url, 2)).await.unwrap();
    assert_eq!(answer["status"], "created", "{answer}");
    assert_eq!(jira.token_requests(), 2);
}

#[tokio::test]
async fn a_revoked_service_account_gets_one_refresh_then_a_clear_error() {
    let (jira, gateway) = site(oauth_secret(), &ALL).await;
    let app = app_with_gateway(&jira, &gateway);
    invoke(&app, run(&jira.base_url, 1)).await.unwrap();
    jira.revoke_app(CLIENT_ID);
    let f = invoke(&app, run(&jira.base_url, 2)).await.unwrap_err();
    assert_eq!(f.class.as_str(), "auth", "{f}");
    assert!(f.fix.contains("service account"), "{}", f.fix);
    assert_eq!(jira.token_requests(), 2, "one refresh");
    assert_eq!(jira.created().len(), 1);
}

#[tokio::test]
async fn a_missing_scope_is_named_after_one_refresh() {
    let (jira, gateway) = site(oauth_secret(), &["read:jira-work", "read:jira-user"]).await;
    let app = app_with_gateway(&jira, &gateway);
    let f = invoke(&app, run(&jira.base_url, 1)).await.unwrap_err();
    assert_eq!(f.class.as_str(), "permission", "{f}");
    assert!(f.message.contains("write:jira-work"), "{}", f.message);
    assert!(f.message.contains("creating the issue"), "{}", f.message);
    assert!(f.fix.contains("write:jira-work"), "{}", f.fix);
    assert_eq!(jira.token_requests(), 2);
    assert!(jira.created().is_empty());
}

#[tokio::test]
async fn a_wrong_client_secret_is_refused_with_the_fix_and_never_shown() {
    let secret =
        json!({"auth": "oauth", "client_id": CLIENT_ID, "client_secret": "FAKE-wrong-secret-xyz"});
    let (jira, gateway) = site(secret, &ALL).await;
    let app = app_with_gateway(&jira, &gateway);
    let (logs, _guard) = Logs::capture();
    let f = invoke(&app, run(&jira.base_url, 1)).await.unwrap_err();
    assert_eq!(f.class.as_str(), "auth", "{f}");
    assert!(
        f.message.contains("token endpoint refused"),
        "{}",
        f.message
    );
    assert!(f.fix.contains("client_id and client_secret"), "{}", f.fix);
    let text = format!("{f}\n{}", logs.text());
    assert!(!text.contains("FAKE-wrong-secret-xyz"), "{text}");
    assert!(gateway_paths(&jira).iter().all(|p| p == "/oauth/token"));
}

#[tokio::test]
async fn a_cloud_id_of_another_site_is_refused_before_any_credential_is_sent() {
    let mut secret = oauth_secret();
    secret["cloud_id"] = json!("0b0b0b0b-1111-4222-8333-444455556666");
    let (jira, gateway) = site(secret, &ALL).await;
    let app = app_with_gateway(&jira, &gateway);
    let f = invoke(&app, run(&jira.base_url, 1)).await.unwrap_err();
    assert_eq!(f.class.as_str(), "bad-input", "{f}");
    assert!(
        f.message.contains("is not the cloud id of"),
        "{}",
        f.message
    );
    assert_eq!(jira.token_requests(), 0);
    assert!(gateway_paths(&jira).is_empty());
    assert_site_saw_no_credentials(&jira);
}

#[tokio::test]
async fn no_token_or_client_secret_appears_in_any_log_line() {
    let (jira, gateway) = site(oauth_secret(), &ALL).await;
    let app = app_with_gateway(&jira, &gateway);
    let (logs, _guard) = Logs::capture();
    invoke(&app, run(&jira.base_url, 1)).await.unwrap();
    jira.expire_tokens();
    invoke(&app, run(&jira.base_url, 2)).await.unwrap();
    let text = logs.text();
    assert!(!text.is_empty());
    assert!(!text.contains(CLIENT_SECRET), "{text}");
    // The access tokens the fake issued went out only in Authorization headers.
    for r in jira.requests() {
        if let Some(token) = r
            .authorization
            .as_deref()
            .and_then(|a| a.strip_prefix("Bearer "))
        {
            assert!(!text.contains(token), "an access token is in the logs");
        }
    }
}

#[tokio::test]
async fn basic_credentials_are_never_sent_to_the_gateway() {
    let (jira, gateway) = site(json!({"api_token": TOKEN, "email": USER}), &ALL).await;
    let app = app_with_gateway(&jira, &gateway);
    let mut event = run(&jira.base_url, 1);
    event["destination"]["instance_url"] = json!(gateway);
    let f = invoke(&app, event).await.unwrap_err();
    assert!(f.message.contains("Atlassian API gateway"), "{}", f.message);
    assert!(jira.requests().is_empty());
}

#[tokio::test]
async fn the_preflight_reports_the_mode_the_cloud_id_and_missing_scopes() {
    let (jira, gateway) = site(oauth_secret(), &["read:jira-work", "read:jira-user"]).await;
    let app = app_with_gateway(&jira, &gateway);
    let dest = alert(&jira.base_url)["destination"].clone();
    let report = invoke(
        &app,
        json!({"action": "check_destination", "destination": dest}),
    )
    .await
    .unwrap();
    let check = |name: &str| {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} check: {report:#}"))
    };
    let gw = check("gateway");
    assert!(
        gw["detail"].as_str().unwrap().contains("auth oauth"),
        "{gw}"
    );
    assert!(
        gw["detail"].as_str().unwrap().contains(DEFAULT_CLOUD_ID),
        "{gw}"
    );
    let scopes = check("scopes");
    assert_eq!(scopes["ok"], false);
    assert!(
        scopes["detail"]
            .as_str()
            .unwrap()
            .contains("missing write:jira-work"),
        "{scopes}"
    );
    assert_eq!(report["ok"], false);
    assert!(!report.to_string().contains(CLIENT_SECRET));
}

#[tokio::test]
async fn a_403_through_the_gateway_is_a_permission_not_a_scope() {
    // The service account may browse but not create: Jira's own 403, whose fix is the
    // project permission, as for a basic user.
    let account = format!("{CLIENT_ID}@serviceaccount.atlassian.com");
    let (jira, gateway) = site(oauth_secret(), &ALL).await;
    jira.configure(|c| c.read_only_users.push(account.clone()));
    let app = app_with_gateway(&jira, &gateway);
    let f = invoke(&app, run(&jira.base_url, 1)).await.unwrap_err();
    assert_eq!(f.class.as_str(), "permission", "{f}");
    assert!(f.fix.contains("Create Issues"), "{}", f.fix);
    assert!(!f.message.contains("scope"), "{}", f.message);
    assert_eq!(jira.token_requests(), 1, "a 403 needs no new token");
}
