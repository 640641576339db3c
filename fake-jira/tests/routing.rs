//! How requests reach (or miss) a handler: the answers at the edges of the routing table,
//! which stay those of Jira (and of the gateway) whatever the router would do by itself.

use fake_jira::{Config, FakeJira, FaultKind, Flavor, Listener, DEFAULT_CLOUD_ID, DEMO_TOKEN};
use fake_jira::{ScopedToken, DEMO_USER};

/// Status, `Allow` header, content type and body text.
struct Answer {
    status: u16,
    allow: Option<String>,
    content_type: String,
    text: String,
}

async fn send(method: &str, url: &str, auth: Option<(&str, &str)>, body: &str) -> Answer {
    let mut req = reqwest::Client::new().request(method.parse().unwrap(), url);
    if let Some((user, token)) = auth {
        req = req.basic_auth(user, Some(token));
    }
    if !body.is_empty() {
        req = req.body(body.to_string());
    }
    let resp = req.send().await.unwrap();
    let header = |name: &str| {
        let value = resp.headers().get(name);
        value.map(|v| v.to_str().unwrap().to_string())
    };
    let (allow, content_type) = (header("allow"), header("content-type").unwrap_or_default());
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    Answer {
        status,
        allow,
        content_type,
        text,
    }
}

const USER: Option<(&str, &str)> = Some((DEMO_USER, DEMO_TOKEN));
const NULL_FOR_URI: &str = r#"{"errorMessages":["null for uri"],"errors":{}}"#;
const DEAD_LINK: &str = "<html><body>Oops, you've found a dead link.</body></html>";

#[tokio::test]
async fn a_path_or_method_jira_does_not_serve_is_checked_like_any_call_then_404() {
    let jira = FakeJira::start(Config::standard(Flavor::Cloud)).await;
    let url = |p: &str| format!("{}{p}", jira.base_url);
    for (method, path) in [
        ("GET", "/rest/api/3/nope"),
        ("DELETE", "/rest/api/3/issue/SEC-1"),
        ("POST", "/rest/api/3/myself"),
        ("HEAD", "/rest/api/3/myself"),
        ("GET", "/rest/api/3/"),
    ] {
        let anonymous = send(method, &url(path), None, "").await;
        assert_eq!(anonymous.status, 401, "{method} {path}");
        let bad_body = send(method, &url(path), USER, "{not json").await;
        assert_eq!(
            bad_body.status, 400,
            "{method} {path}: the body is read first"
        );
        let answer = send(method, &url(path), USER, "").await;
        assert_eq!(answer.status, 404, "{method} {path}");
        assert_eq!(answer.allow, None, "{method} {path}: no Allow header");
        if method != "HEAD" {
            assert_eq!(answer.text, NULL_FOR_URI, "{method} {path}");
        }
    }
    // Outside a version Jira serves, no credentials are asked for.
    for path in [
        "/rest/api/2",
        "/rest/api/4/myself",
        "/rest/api//myself",
        "/nope",
    ] {
        let answer = send("GET", &url(path), None, "").await;
        assert_eq!(
            (answer.status, answer.text.as_str()),
            (404, NULL_FOR_URI),
            "{path}"
        );
    }
    for (method, path) in [("POST", "/browse/SEC-1"), ("PUT", "/"), ("HEAD", "/")] {
        let answer = send(method, &url(path), None, "").await;
        assert_eq!(
            (answer.status, answer.allow),
            (404, None),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn server_dc_answers_rest_v3_and_unknown_paths_with_its_dead_link_page() {
    let jira = FakeJira::start(Config::standard(Flavor::Server)).await;
    for (path, auth) in [("/rest/api/3/myself", None), ("/rest/api/2/nope", USER)] {
        let answer = send("GET", &format!("{}{path}", jira.base_url), auth, "").await;
        assert_eq!(
            (answer.status, answer.text.as_str()),
            (404, DEAD_LINK),
            "{path}"
        );
        assert!(answer.content_type.starts_with("text/plain"), "{path}");
    }
}

#[tokio::test]
async fn path_parameters_are_read_as_sent() {
    let jira = FakeJira::start(Config::standard(Flavor::Cloud)).await;
    let url = |p: &str| format!("{}{p}", jira.base_url);
    let issue_404 = "Issue does not exist or you do not have permission to see it.";
    assert_eq!(
        send("GET", &url("/rest/api/3/issue/SEC-1"), USER, "")
            .await
            .status,
        200
    );
    // Still percent-encoded (no decoding to SEC-1), and not UTF-8 is no error of its own.
    for path in ["/rest/api/3/issue/SEC%2D1", "/rest/api/3/issue/%FF"] {
        let answer = send("GET", &url(path), USER, "").await;
        assert_eq!(answer.status, 404, "{path}");
        assert!(answer.text.contains(issue_404), "{path}: {}", answer.text);
    }
    // A last segment left empty is an empty key, not an unknown path.
    let answer = send("GET", &url("/rest/api/3/issue/"), USER, "").await;
    assert!(answer.text.contains(issue_404), "{}", answer.text);
    let answer = send("GET", &url("/rest/api/3/project/"), USER, "").await;
    assert!(answer
        .text
        .contains("No project could be found with key ''."));
    let answer = send("GET", &url("/rest/api/3/issue//transitions"), USER, "").await;
    assert!(answer.text.contains(issue_404), "{}", answer.text);
    let answer = send("GET", &url("/browse/"), None, "").await;
    assert_eq!(answer.status, 404);
    assert!(answer.text.contains("Issue not found"), "{}", answer.text);
}

#[tokio::test]
async fn every_route_meets_faults_and_is_recorded_but_aws_calls() {
    let jira = FakeJira::start(Config::standard(Flavor::Cloud)).await;
    let url = |p: &str| format!("{}{p}", jira.base_url);
    jira.push_fault(
        "/browse/",
        FaultKind::Status {
            status: 503,
            retry_after: None,
        },
    );
    assert_eq!(
        send("GET", &url("/browse/SEC-1"), None, "").await.status,
        503
    );
    assert_eq!(
        send("GET", &url("/browse/SEC-1"), None, "").await.status,
        200
    );
    assert_eq!(send("GET", &url("/nope"), USER, "").await.status, 404);
    let aws = reqwest::Client::new()
        .post(url("/"))
        .header("x-amz-target", "secretsmanager.GetSecretValue")
        .body(r#"{"SecretId": "nope"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(aws.status().as_u16(), 400);
    let seen: Vec<(String, u16)> = jira
        .requests()
        .into_iter()
        .map(|r| (r.path, r.status))
        .collect();
    let expected = [
        ("/browse/SEC-1", 503),
        ("/browse/SEC-1", 200),
        ("/nope", 404),
    ];
    let expected: Vec<(String, u16)> = expected.map(|(p, s)| (p.to_string(), s)).into();
    assert_eq!(seen, expected);
    assert_eq!(jira.secret_calls(), 1);
}

#[tokio::test]
async fn the_gateway_checks_before_its_paths_and_answers_its_own_404_outside_them() {
    let mut config = Config::standard(Flavor::Cloud);
    let scopes = ["read:jira-work", "read:jira-user"];
    let scoped = ScopedToken::new("scoped-1", &scopes);
    config.scoped_tokens.insert(DEMO_USER.into(), scoped);
    let jira = FakeJira::start(config).await;
    let gateway = jira.start_gateway().await;
    let site = format!("{gateway}/ex/jira/{DEFAULT_CLOUD_ID}");
    let scoped = Some((DEMO_USER, "scoped-1"));
    let cases = [
        (
            "GET",
            format!("{site}/elsewhere"),
            None,
            401,
            r#""Unauthorized""#,
        ),
        (
            "GET",
            format!("{site}/elsewhere"),
            scoped,
            404,
            NULL_FOR_URI,
        ),
        (
            "GET",
            format!("{site}/rest/api/3/nope"),
            scoped,
            404,
            NULL_FOR_URI,
        ),
        (
            "GET",
            format!("{gateway}/ex/jira/"),
            scoped,
            404,
            "Site temporarily unavailable",
        ),
        (
            "GET",
            format!("{gateway}/ex/jira/x/rest/api/3/myself"),
            scoped,
            404,
            "Site temporarily",
        ),
        (
            "GET",
            format!("{gateway}/rest/api/3/myself"),
            USER,
            404,
            r#""Not Found""#,
        ),
        (
            "GET",
            format!("{gateway}/oauth/token"),
            None,
            404,
            r#""Not Found""#,
        ),
        // Scopes first: a write refused, whether or not the fake serves it.
        (
            "POST",
            format!("{site}/rest/api/3/issueLink"),
            scoped,
            401,
            "scope does not match",
        ),
        (
            "GET",
            format!("{site}/rest/api/3/myself"),
            scoped,
            200,
            DEMO_USER,
        ),
    ];
    let sent = cases.len();
    for (method, url, auth, status, text) in cases {
        let answer = send(method, &url, auth, "").await;
        assert_eq!(answer.status, status, "{method} {url}: {}", answer.text);
        assert!(
            answer.text.contains(text),
            "{method} {url}: {}",
            answer.text
        );
        assert_eq!(answer.allow, None, "{method} {url}");
    }
    let requests = jira.requests();
    let at_gateway = requests.iter().filter(|r| r.listener == Listener::Gateway);
    assert_eq!(
        at_gateway.count(),
        sent,
        "every gateway request is recorded"
    );
}

#[tokio::test]
async fn a_server_dc_gateway_answers_404_to_everything() {
    let jira = FakeJira::start(Config::standard(Flavor::Server)).await;
    let gateway = jira.start_gateway().await;
    for (method, path) in [
        ("POST", "/oauth/token"),
        ("GET", "/ex/jira/x/rest/api/2/myself"),
    ] {
        let answer = send(method, &format!("{gateway}{path}"), None, "").await;
        assert_eq!(answer.status, 404, "{method} {path}");
        assert!(answer.text.contains(r#""Not Found""#), "{}", answer.text);
    }
}
