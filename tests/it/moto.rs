//! Secrets Manager through the real SDK against a moto server on loopback, reached the way
//! production configures an endpoint: `AWS_ENDPOINT_URL_SECRETS_MANAGER`-style endpoint URL.
//! moto comes from `make deps` (.venv/bin/moto_server) or MOTO_SERVER.

use crate::common::*;
use detection_jira::secrets::{SecretSource, SecretsManager};
use fake_jira::Flavor;
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_binary() -> PathBuf {
    if let Ok(p) = std::env::var("MOTO_SERVER") {
        return p.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    panic!("moto_server not found: run `make deps` (installs moto[server] into .venv) or set MOTO_SERVER");
}

async fn start_moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(moto_binary())
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    // Owned by the guard at once, so that every path below kills it.
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return moto;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto_server did not start on {}", moto.url);
}

#[tokio::test]
async fn secrets_manager_through_the_sdk_against_moto() {
    let moto = start_moto().await;
    let client = secrets_client(&moto.url);
    client
        .create_secret()
        .name("jira/secops")
        .secret_string(json!({"api_token": TOKEN, "email": USER}).to_string())
        .send()
        .await
        .expect("create the secret in moto");

    let source = SecretsManager::new(client.clone());
    assert!(source.fetch("jira/secops").await.unwrap().contains(TOKEN));
    let missing = source.fetch("jira/missing").await.unwrap_err();
    assert!(!missing.is_transient());
    assert!(
        missing.to_string().contains("ResourceNotFoundException"),
        "{missing}"
    );

    // A secret in another region, named by its ARN, is read from that region.
    let eu = secrets_client_in(&moto.url, "eu-west-1");
    let arn = eu
        .create_secret()
        .name("jira/eu")
        .secret_string("eu-token")
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    assert!(arn.contains(":eu-west-1:"), "{arn}");
    assert!(
        client
            .get_secret_value()
            .secret_id(&arn)
            .send()
            .await
            .is_err(),
        "a us-east-1 client alone cannot read it"
    );
    assert_eq!(source.fetch(&arn).await.unwrap(), "eu-token");

    // The whole handler, with the email coming from the secret.
    let jira = fake(Flavor::Cloud).await;
    let app = app_reading_secrets_through(client);
    let mut a = alert(&jira.base_url);
    a["destination"].as_object_mut().unwrap().remove("email");
    let answer = invoke(&app, a).await.unwrap();
    assert_eq!(answer["status"], "created", "{answer}");
    assert_eq!(jira.created().len(), 1);
}
