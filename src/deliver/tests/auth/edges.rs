//! Edges of the gateway modes found by an adversarial review: refusals through the
//! gateway, cloud ids, changed client secrets, the preflight, shared refusals.

use super::*;

fn oauth_with(secret: &str) -> Memory {
    gateway_deliverer(json!({"auth": "oauth", "client_id": CLIENT_ID, "client_secret": secret}))
}

/// An oauth deliverer that reads its secret for every alert (a cache TTL of 0), as a
/// container does once its cache entry expired.
fn oauth_rereading() -> Memory {
    let secret = json!({"auth": "oauth", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET});
    let secrets = Mutex::new(HashMap::from([(
        "jira/secops".to_string(),
        secret.to_string(),
    )]));
    let d = Deliverer::new(
        MemoryJira::new(Deployment::Cloud, TOKEN),
        SecretCache::new(secrets, Duration::ZERO),
        AllowedHosts::parse("acme.atlassian.net").unwrap(),
        Ledger::Memory(MemoryLedger::new(paused_clock(), Duration::from_secs(60))),
    )
    .with_gateway(Gateway::new(GATEWAY, "http://127.0.0.1:9102").unwrap());
    d.jira
        .oauth_client(CLIENT_ID, CLIENT_SECRET, Duration::from_secs(3600));
    d
}

fn rotate(d: &Memory, secret: serde_json::Value) {
    d.secrets
        .source()
        .lock()
        .unwrap()
        .insert("jira/secops".into(), secret.to_string());
}

fn check_request() -> serde_json::Value {
    json!({"action": "check_destination", "destination": {
        "instance_url": "https://acme.atlassian.net",
        "api_token_secret": "jira/secops",
        "project_key": "SEC"
    }})
}

/// A 403 through the gateway is reported as a missing scope, losing the permission
/// fix the same 403 gets with a basic secret (a_label_edit_jira_refuses_says_so... in
/// lifecycle.rs asserts "Add Comments" for basic).
#[tokio::test(start_paused = true)]
async fn a_comment_403_through_the_gateway_keeps_the_permission_fix() {
    let d = scoped();
    let grouped = |v: &mut serde_json::Value| v["destination"]["group_repeats"] = json!(true);
    deliver(&d, &alert(grouped)).await.unwrap();
    d.jira.fail_next(
        Op::AddComment,
        JiraError::Forbidden {
            detail: "You do not have the permission to comment on this issue.".into(),
        },
    );
    let repeat = alert(|v| {
        grouped(v);
        v["detection"]["search_id"] = json!("s2");
    });
    let f = deliver(&d, &repeat).await.unwrap_err();
    assert!(
        f.fix.contains("Add Comments"),
        "scoped-mode 403 on a comment: message={:?} fix={:?}",
        f.message,
        f.fix
    );
}

/// The secret's cloud_id must be hex and dashes; the one tenant_info answers is used
/// in the gateway URL unchecked.
#[tokio::test(start_paused = true)]
async fn a_cloud_id_from_tenant_info_is_shaped_like_one() {
    let d = scoped();
    d.jira.set_cloud_id("../../../../admin/v1/orgs#");
    let result = deliver(&d, &alert(|_| {})).await;
    let bases = d.jira.bases();
    let effective: Vec<String> = bases
        .iter()
        .map(|(b, _)| {
            url::Url::parse(&format!("{b}/rest/api/3/issue"))
                .unwrap()
                .path()
                .to_string()
        })
        .collect();
    assert!(
        bases.is_empty(),
        "result={:?}; credentials went to gateway paths {effective:?}",
        result.map(|x| x.status)
    );
}

/// A client secret changed in Secrets Manager (here: to a wrong one) is never tried
/// while an access token minted with the old one is cached (up to ~59 min): deliveries
/// keep succeeding after the secret TTL, so "first successful alert" proves nothing.
#[tokio::test(start_paused = true)]
async fn a_changed_client_secret_is_used_once_the_secret_is_read_again() {
    let d = oauth_rereading();
    deliver(&d, &alert(|_| {})).await.unwrap();
    rotate(
        &d,
        json!({"auth": "oauth", "client_id": CLIENT_ID, "client_secret": "typo-in-new-secret"}),
    );
    // The next alert reads the secret again (a cache TTL of 0 here).
    tokio::time::advance(Duration::from_secs(1)).await;
    let second = deliver(&d, &alert(|v| v["detection"]["search_id"] = json!("s2"))).await;
    assert_eq!(
        d.jira.count(Op::OAuthToken),
        2,
        "the new client secret was never presented to the token endpoint; delivery: {:?}",
        second.map(|x| x.status)
    );
}

/// Same, through the preflight an operator runs after editing the secret.
#[tokio::test(start_paused = true)]
async fn the_preflight_tests_the_client_secret_in_the_secret() {
    let d = oauth_rereading();
    d.jira
        .serve("/rest/api/3/myself", json!({"accountId": "svc"}));
    deliver(&d, &alert(|_| {})).await.unwrap();
    rotate(
        &d,
        json!({"auth": "oauth", "client_id": CLIENT_ID, "client_secret": "typo-in-new-secret"}),
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    let report = crate::check::check_destination(&d, &check_request(), later()).await;
    let gateway = report.checks.iter().find(|c| c.name == "gateway").unwrap();
    let creds = report.checks.iter().find(|c| c.name == "credentials");
    assert!(
        !gateway.ok || creds.is_some_and(|c| !c.ok),
        "a wrong client secret passes the preflight: {:?}",
        report.checks
    );
}

/// The preflight's 401 on `myself` says a new token was fetched and refused too;
/// none was (and a stale cached token fails a preflight that delivery would survive).
#[tokio::test(start_paused = true)]
async fn the_preflight_does_not_claim_a_refresh_it_never_made() {
    let d = oauth_with(CLIENT_SECRET);
    d.jira
        .serve("/rest/api/3/myself", json!({"accountId": "svc"}));
    deliver(&d, &alert(|_| {})).await.unwrap();
    d.jira.fail_next(
        Op::GetJson,
        JiraError::Unauthorized {
            detail: "Unauthorized".into(),
        },
    );
    let report = crate::check::check_destination(&d, &check_request(), later()).await;
    let c = report
        .checks
        .iter()
        .find(|c| c.name == "credentials")
        .unwrap()
        .clone();
    let claims_refresh = c.fix.as_deref().unwrap_or("").contains("fetched once");
    assert!(
        c.ok || !claims_refresh || d.jira.count(Op::OAuthToken) == 2,
        "token requests: {}; check: {c:?}",
        d.jira.count(Op::OAuthToken)
    );
}

/// "Alerts arriving at once share one token request": only when it succeeds. A
/// refused client credential is asked again by every waiting alert, one after another.
#[tokio::test(start_paused = true)]
async fn a_refused_grant_is_shared_by_the_alerts_waiting_for_it() {
    let d = Arc::new(oauth_with("wrong-secret-value"));
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let d = d.clone();
            tokio::spawn(async move {
                let a = alert(|v| v["detection"]["search_id"] = json!(format!("s{n}")));
                deliver(&d, &a).await.is_err()
            })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap());
    }
    assert_eq!(
        d.jira.count(Op::OAuthToken),
        1,
        "token requests for 20 concurrent alerts"
    );
}

/// Over HTTP against a one-shot token endpoint answering `answer` (status line + body).
mod http {
    use super::*;
    use crate::jira::JiraHttp;
    use crate::secrets::parse_secret;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn token_endpoint(status: &'static str, ctype: &'static str, body: String) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                let body = body.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let _ = s.read(&mut buf).await;
                    let resp = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = s.write_all(resp.as_bytes()).await;
                });
            }
        });
        format!("http://{addr}")
    }

    async fn grant(auth: String) -> Result<crate::gateway::Access, Failure> {
        let g = Gateway::new("http://127.0.0.1:9", &auth).unwrap();
        let creds = parse_secret(
            "jira/secops",
            &json!({"auth": "oauth", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
                .to_string(),
        )
        .unwrap();
        let a = alert(|_| {});
        let jira = JiraHttp::new().unwrap();
        g.access(
            &jira,
            &a.destination,
            &creds,
            crate::gateway::Reuse::Cached,
            TokioInstant::now() + Duration::from_secs(10),
            &Meter::default(),
        )
        .await
    }

    /// An expires_in the token endpoint sends is trusted as is: a huge one panics.
    #[tokio::test]
    async fn a_huge_expires_in_does_not_panic() {
        let auth = token_endpoint(
            "200 OK",
            "application/json",
            r#"{"access_token":"acc-123456","expires_in":18446744073709551615,"token_type":"Bearer"}"#.into(),
        )
        .await;
        let r = tokio::spawn(grant(auth)).await;
        assert!(r.is_ok(), "panicked: {:?}", r.err());
    }

    /// A 200 that is not JSON is quoted into the error, redacted of the client
    /// secret only: an access token in it reaches the error (and the log line).
    #[tokio::test]
    async fn a_non_json_grant_never_shows_the_access_token() {
        let auth = token_endpoint(
            "200 OK",
            "application/x-www-form-urlencoded",
            "access_token=ACCESS-TOKEN-abcdef0123&token_type=bearer&expires_in=3600".into(),
        )
        .await;
        let f = grant(auth).await.unwrap_err();
        let text = format!("{} | {} | {f:?}", f.message, f.fix);
        assert!(!text.contains("ACCESS-TOKEN-abcdef0123"), "{text}");
    }
}

/// Scopes added to the credential: the preflight keeps reporting the old grant's
/// scopes as missing until the cached access token expires (~59 min).
#[tokio::test(start_paused = true)]
async fn the_preflight_reports_the_scopes_granted_now() {
    let d = oauth_with(CLIENT_SECRET);
    d.jira
        .serve("/rest/api/3/myself", json!({"accountId": "svc"}));
    d.jira.grant_scopes(&["read:jira-work", "read:jira-user"]);
    let first = crate::check::check_destination(&d, &check_request(), later()).await;
    assert!(!first.checks.iter().find(|c| c.name == "scopes").unwrap().ok);
    d.jira
        .grant_scopes(&["read:jira-work", "write:jira-work", "read:jira-user"]);
    tokio::time::advance(Duration::from_secs(600)).await;
    let again = crate::check::check_destination(&d, &check_request(), later()).await;
    let scopes = again.checks.iter().find(|c| c.name == "scopes").unwrap();
    assert!(
        scopes.ok,
        "10 min after the fix: {scopes:?}; token requests {}",
        d.jira.count(Op::OAuthToken)
    );
}
