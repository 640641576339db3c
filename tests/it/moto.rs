//! Secrets Manager through the real SDK against a moto server on loopback, reached the way
//! production configures an endpoint: `AWS_ENDPOINT_URL_SECRETS_MANAGER`-style endpoint URL.
//! moto comes from `make deps` (.venv) or MOTO_PYTHON, served one request at a time
//! (tests/moto_serial.py).

use crate::common::*;
use detection_jira::secrets::{SecretSource, SecretsManager};
use fake_jira::Flavor;
use serde_json::json;

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
