//! The local stand-in: a fake Jira Cloud and a fake Jira Server/DC on loopback, both also
//! answering Secrets Manager's GetSecretValue for the demo secrets `jira/demo` (basic),
//! `jira/demo-scoped` (a scoped API token) and `jira/demo-oauth` (a service account's OAuth
//! 2.0 credential; the cloud id is left to discovery through `/_edge/tenant_info`), and the
//! Cloud fake's Atlassian gateway (token endpoint and `/ex/jira/{cloudId}/...`).
//!
//!     fake-jira [--cloud 127.0.0.1:18080] [--server 127.0.0.1:18081] [--gateway 127.0.0.1:18083]
//!
//! `GET /` on either site shows the issues it received; `GET /_fake/issues` lists them as JSON.

use fake_jira::{
    Config, FakeJira, Flavor, OAuthClient, ScopedToken, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET,
    DEMO_SCOPED_TOKEN, DEMO_TOKEN, DEMO_USER,
};
use serde_json::json;
use std::net::SocketAddr;

fn arg(name: &str, default: &str) -> Result<SocketAddr, String> {
    let args: Vec<String> = std::env::args().collect();
    let value = args
        .iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
        .unwrap_or(default);
    value
        .parse()
        .map_err(|_| format!("{name} {value:?}: expected an address such as 127.0.0.1:18080"))
}

/// The demo credentials' scopes: enough for everything the function does.
const DEMO_SCOPES: &[&str] = &["read:jira-work", "write:jira-work", "read:jira-user"];

fn demo_config(flavor: Flavor) -> Config {
    let mut c = Config::standard(flavor);
    let secrets = [
        (
            "jira/demo",
            json!({"api_token": DEMO_TOKEN, "email": DEMO_USER}),
        ),
        (
            "jira/demo-scoped",
            json!({"auth": "scoped", "api_token": DEMO_SCOPED_TOKEN, "email": DEMO_USER}),
        ),
        (
            "jira/demo-oauth",
            json!({"auth": "oauth", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}),
        ),
    ];
    for (id, value) in secrets {
        c.secrets.insert(id.into(), value.to_string());
    }
    if flavor == Flavor::Cloud {
        c.oauth_clients.push(OAuthClient::new(
            DEMO_CLIENT_ID,
            DEMO_CLIENT_SECRET,
            DEMO_SCOPES,
        ));
        c.scoped_tokens.insert(
            DEMO_USER.into(),
            ScopedToken::new(DEMO_SCOPED_TOKEN, DEMO_SCOPES),
        );
    }
    c
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let cloud_addr = arg("--cloud", "127.0.0.1:18080")?;
    let server_addr = arg("--server", "127.0.0.1:18081")?;
    let gateway_addr = arg("--gateway", "127.0.0.1:18083")?;
    let cloud = FakeJira::start_on(cloud_addr, demo_config(Flavor::Cloud))
        .await
        .map_err(|e| format!("cannot listen on {cloud_addr}: {e}"))?;
    let server = FakeJira::start_on(server_addr, demo_config(Flavor::Server))
        .await
        .map_err(|e| format!("cannot listen on {server_addr}: {e}"))?;
    let gateway = cloud
        .start_gateway_on(gateway_addr)
        .await
        .map_err(|e| format!("cannot listen on {gateway_addr}: {e}"))?;
    println!(
        "fake Jira Cloud:     {}/  (also Secrets Manager)",
        cloud.base_url
    );
    println!("fake Jira Server/DC: {}/", server.base_url);
    println!(
        "fake Atlassian gateway (Cloud): {gateway}/  (ATLASSIAN_API_URL and ATLASSIAN_AUTH_URL)"
    );
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}
