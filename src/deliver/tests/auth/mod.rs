//! Scoped API tokens and service-account OAuth (contract section 11) against the
//! in-memory Jira, on tokio's paused clock: where credentials go, the cloud id, the
//! access token's cache, refresh and refusals (tests/it/gateway.rs crosses the wire).

use super::*;
use crate::gateway::Gateway;
use crate::jira::memory::MEMORY_CLOUD_ID;
use crate::secrets::AuthScheme;

const CLIENT_ID: &str = "svc-client-1";
const CLIENT_SECRET: &str = "svc-client-secret-0001";
const GATEWAY: &str = "http://127.0.0.1:9101";

fn gateway_deliverer(secret: serde_json::Value) -> Memory {
    let d = deliverer(Deployment::Cloud, TOKEN)
        .with_gateway(Gateway::new(GATEWAY, "http://127.0.0.1:9102").unwrap());
    d.secrets
        .source()
        .lock()
        .unwrap()
        .insert("jira/secops".into(), secret.to_string());
    d.jira
        .oauth_client(CLIENT_ID, CLIENT_SECRET, Duration::from_secs(3600));
    d
}

fn oauth() -> Memory {
    gateway_deliverer(
        json!({"auth": "oauth", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}),
    )
}

fn scoped() -> Memory {
    gateway_deliverer(json!({"auth": "scoped", "api_token": TOKEN, "email": "bot@acme.example"}))
}

fn gateway_base() -> String {
    format!("{GATEWAY}/ex/jira/{MEMORY_CLOUD_ID}")
}

#[tokio::test(start_paused = true)]
async fn a_scoped_token_goes_to_the_gateway_for_the_sites_cloud_id_only() {
    let d = scoped();
    for n in 0..3 {
        let a = alert(|v| v["detection"]["search_id"] = json!(format!("s{n}")));
        let done = deliver(&d, &a).await.unwrap();
        // Answers use the site's URL, never the gateway's.
        assert!(done
            .issue_url
            .starts_with("https://acme.atlassian.net/browse/"));
    }
    let bases = d.jira.bases();
    assert!(!bases.is_empty());
    assert!(
        bases
            .iter()
            .all(|(b, s)| *b == gateway_base() && *s == AuthScheme::Scoped),
        "{bases:?}"
    );
    // The cloud id is asked once per container; no serverInfo (the gateway is Cloud).
    assert_eq!(d.jira.count(Op::TenantInfo), 1);
    assert_eq!(d.jira.count(Op::ServerInfo), 0);
}

#[tokio::test(start_paused = true)]
async fn a_hundred_concurrent_alerts_fetch_one_access_token() {
    let d = Arc::new(oauth());
    let tasks: Vec<_> = (0..100)
        .map(|n| {
            let d = d.clone();
            tokio::spawn(async move {
                let a = alert(|v| v["detection"]["search_id"] = json!(format!("s{n}")));
                deliver(&d, &a).await.map(|x| x.status)
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), Status::Created);
    }
    assert_eq!(d.jira.count(Op::OAuthToken), 1);
    assert_eq!(d.jira.issues().len(), 100);
    assert!(d
        .jira
        .bases()
        .iter()
        .all(|(b, s)| *b == gateway_base() && *s == AuthScheme::Bearer));
}

#[tokio::test(start_paused = true)]
async fn an_access_token_is_replaced_shortly_before_it_expires() {
    let d = oauth();
    d.jira
        .oauth_client(CLIENT_ID, CLIENT_SECRET, Duration::from_secs(600));
    deliver(&d, &alert(|_| {})).await.unwrap();
    // 8 minutes on: still more than a minute left.
    tokio::time::advance(Duration::from_secs(480)).await;
    deliver(&d, &alert(|v| v["detection"]["search_id"] = json!("s2")))
        .await
        .unwrap();
    assert_eq!(d.jira.count(Op::OAuthToken), 1);
    // 9.5 minutes on: less than a minute left, so a new one.
    tokio::time::advance(Duration::from_secs(90)).await;
    deliver(&d, &alert(|v| v["detection"]["search_id"] = json!("s3")))
        .await
        .unwrap();
    assert_eq!(d.jira.count(Op::OAuthToken), 2);
}

#[tokio::test(start_paused = true)]
async fn a_401_gets_one_new_token_then_a_clear_error() {
    let d = oauth();
    let refused = || JiraError::Unauthorized {
        detail: "Unauthorized".into(),
    };
    // Once: a new token, and the create goes through.
    d.jira.fail_next(Op::Create, refused());
    deliver(&d, &alert(|_| {})).await.unwrap();
    assert_eq!(d.jira.count(Op::OAuthToken), 2);
    // Twice: one refresh, then the error says what to check.
    d.jira.fail_next(Op::Create, refused());
    d.jira.fail_next(Op::Create, refused());
    let f = deliver(&d, &alert(|v| v["detection"]["search_id"] = json!("s2")))
        .await
        .unwrap_err();
    assert_eq!(f.class, FailureClass::Auth);
    assert!(
        f.message.contains("gateway refused the oauth credential"),
        "{}",
        f.message
    );
    assert!(f.fix.contains("service account"), "{}", f.fix);
    assert_eq!(d.jira.count(Op::OAuthToken), 3);
}

#[tokio::test(start_paused = true)]
async fn a_missing_scope_is_named() {
    let d = scoped();
    let scope = || JiraError::Unauthorized {
        detail: "Unauthorized; scope does not match".into(),
    };
    d.jira.fail_next(Op::Create, scope());
    d.jira.fail_next(Op::Create, scope());
    let f = deliver(&d, &alert(|_| {})).await.unwrap_err();
    assert_eq!(f.class, FailureClass::Permission);
    assert!(
        f.message.contains("needs: write:jira-work"),
        "{}",
        f.message
    );
    assert!(
        f.fix.contains("read:jira-work, write:jira-work"),
        "{}",
        f.fix
    );
}

#[tokio::test(start_paused = true)]
async fn a_wrong_client_secret_is_refused_with_the_fix() {
    let d = gateway_deliverer(
        json!({"auth": "oauth", "client_id": CLIENT_ID, "client_secret": "wrong-secret-value"}),
    );
    let f = deliver(&d, &alert(|_| {})).await.unwrap_err();
    assert_eq!(f.class, FailureClass::Auth);
    assert!(
        f.message.contains("token endpoint refused"),
        "{}",
        f.message
    );
    assert!(f.fix.contains("client_id and client_secret"), "{}", f.fix);
    assert!(!f.to_string().contains("wrong-secret-value"));
    assert_eq!(d.jira.count(Op::Create), 0);
}

#[tokio::test(start_paused = true)]
async fn a_cloud_id_of_another_site_is_refused_before_any_credential_is_sent() {
    let d = gateway_deliverer(
        json!({"auth": "oauth", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                      "cloud_id": "0000aaaa-1111-2222-3333-444455556666"}),
    );
    let f = deliver(&d, &alert(|_| {})).await.unwrap_err();
    assert_eq!(f.class, FailureClass::BadInput);
    assert!(
        f.message.contains("is not the cloud id of"),
        "{}",
        f.message
    );
    // Only the anonymous tenant_info: no token request, no Jira request.
    assert_eq!(d.jira.calls(), [Op::TenantInfo]);
}

#[tokio::test(start_paused = true)]
async fn basic_credentials_never_go_to_the_gateway() {
    let d = deliverer(Deployment::Cloud, TOKEN).with_gateway(
        Gateway::new("https://acme.atlassian.net", crate::gateway::AUTH_URL).unwrap(),
    );
    let f = deliver(&d, &alert(|_| {})).await.unwrap_err();
    assert!(
        f.message.contains("is the Atlassian API gateway"),
        "{}",
        f.message
    );
    assert!(d.jira.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_label_edit_refused_for_its_scope_names_the_write_scope() {
    let d = scoped();
    let grouped = |v: &mut serde_json::Value| v["destination"]["group_repeats"] = json!(true);
    deliver(&d, &alert(grouped)).await.unwrap();
    let scope = || JiraError::Unauthorized {
        detail: "Unauthorized; scope does not match".into(),
    };
    d.jira.fail_next(Op::EditLabels, scope());
    d.jira.fail_next(Op::EditLabels, scope());
    let repeat = alert(|v| {
        grouped(v);
        v["detection"]["search_id"] = json!("s2");
    });
    let f = deliver(&d, &repeat).await.unwrap_err();
    assert!(
        f.message.contains("needs: write:jira-work"),
        "{}",
        f.message
    );
}

// Scenarios from an adversarial review of the gateway modes: each once broke a promise.

mod edges;
