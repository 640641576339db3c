//! The local stand-in: a fake Jira Cloud and a fake Jira Server/DC on loopback, both also
//! answering Secrets Manager's GetSecretValue for the demo secret `jira/demo`.
//!
//!     fake-jira [--cloud 127.0.0.1:18080] [--server 127.0.0.1:18081]
//!
//! `GET /` on either shows the issues it received; `GET /_fake/issues` lists them as JSON.

use fake_jira::{Config, FakeJira, Flavor, DEMO_TOKEN, DEMO_USER};
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

fn demo_config(flavor: Flavor) -> Config {
    let mut c = Config::standard(flavor);
    c.secrets.insert(
        "jira/demo".into(),
        serde_json::json!({"api_token": DEMO_TOKEN, "email": DEMO_USER}).to_string(),
    );
    c
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let cloud_addr = arg("--cloud", "127.0.0.1:18080")?;
    let server_addr = arg("--server", "127.0.0.1:18081")?;
    let cloud = FakeJira::start_on(cloud_addr, demo_config(Flavor::Cloud))
        .await
        .map_err(|e| format!("cannot listen on {cloud_addr}: {e}"))?;
    let server = FakeJira::start_on(server_addr, demo_config(Flavor::Server))
        .await
        .map_err(|e| format!("cannot listen on {server_addr}: {e}"))?;
    println!(
        "fake Jira Cloud:     {}/  (also Secrets Manager)",
        cloud.base_url
    );
    println!("fake Jira Server/DC: {}/", server.base_url);
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}
