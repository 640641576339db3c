//! The Secrets Manager adapter through the real SDK client, with `aws-smithy-mocks`
//! standing in for the service.

use aws_sdk_secretsmanager::operation::get_secret_value::{
    GetSecretValueError, GetSecretValueOutput,
};
use aws_sdk_secretsmanager::types::error::{InternalServiceError, ResourceNotFoundException};
use aws_sdk_secretsmanager::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use detection_jira::secrets::{SecretCache, SecretError, SecretSource, SecretsManager};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "FAKE-TOKEN-sdk-mock-1";

#[tokio::test]
async fn reads_the_secret_string_once_per_ttl() {
    let rule = mock!(Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some("jira/secops"))
        .then_output(|| GetSecretValueOutput::builder().secret_string(TOKEN).build());
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&rule]);
    let cache = Arc::new(SecretCache::new(
        SecretsManager::new(client),
        Duration::from_secs(300),
    ));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get("jira/secops", None)
                    .await
                    .unwrap()
                    .0
                    .token
                    .expose()
                    .to_string()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), TOKEN);
    }
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_missing_secret_is_final_and_says_how_to_fix_it() {
    let rule = mock!(Client::get_secret_value).then_error(|| {
        GetSecretValueError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("Secrets Manager can't find the specified secret.")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_secretsmanager, [&rule]);
    let e = SecretsManager::new(client)
        .fetch("jira/nope")
        .await
        .unwrap_err();
    assert!(!e.is_transient());
    let text = e.to_string();
    assert!(
        text.contains("jira/nope") && text.contains("ResourceNotFoundException"),
        "{text}"
    );
    assert!(
        e.fix().contains("destination.api_token_secret"),
        "{}",
        e.fix()
    );
}

#[tokio::test]
async fn service_errors_are_transient() {
    let rule = mock!(Client::get_secret_value).then_error(|| {
        GetSecretValueError::InternalServiceError(
            InternalServiceError::builder().message("boom").build(),
        )
    });
    let client = mock_client!(aws_sdk_secretsmanager, [&rule]);
    let e = SecretsManager::new(client)
        .fetch("jira/secops")
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e:?}");
}

#[tokio::test]
async fn a_binary_secret_is_refused() {
    let rule =
        mock!(Client::get_secret_value).then_output(|| GetSecretValueOutput::builder().build());
    let client = mock_client!(aws_sdk_secretsmanager, [&rule]);
    let e = SecretsManager::new(client)
        .fetch("jira/secops")
        .await
        .unwrap_err();
    assert!(matches!(e, SecretError::Malformed { .. }), "{e:?}");
}
