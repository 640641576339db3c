//! `SecretSource` over AWS Secrets Manager (the SDK client is built once in `main`).

use super::{SecretError, SecretSource};
use crate::deferred::Deferred;

/// Secrets Manager through the AWS SDK.
pub struct SecretsManager {
    client: Deferred<aws_sdk_secretsmanager::Client>,
}

impl SecretsManager {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        SecretsManager::deferred(Deferred::ready(client))
    }

    /// With a client still being built (in `main`, while the runtime starts).
    pub fn deferred(client: Deferred<aws_sdk_secretsmanager::Client>) -> Self {
        SecretsManager { client }
    }
}

impl SecretSource for SecretsManager {
    async fn fetch(&self, id: &str) -> Result<String, SecretError> {
        use aws_sdk_secretsmanager::error::SdkError;
        use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
        let client = self.client.get().await;
        let request = client.get_secret_value().secret_id(id);
        // A secret ARN names its region, which may not be the function's.
        let result = match arn_region(id) {
            Some(region) => {
                request
                    .customize()
                    .config_override(
                        aws_sdk_secretsmanager::config::Builder::default()
                            .region(aws_sdk_secretsmanager::config::Region::new(region)),
                    )
                    .send()
                    .await
            }
            None => request.send().await,
        };
        match result {
            Ok(out) => out.secret_string.ok_or_else(|| SecretError::Malformed {
                id: id.to_string(),
                problem: "the secret has no SecretString (binary secrets are not supported)".into(),
            }),
            Err(SdkError::ServiceError(e)) => {
                let code = error_code(e.err());
                let transient = matches!(e.err(), GetSecretValueError::InternalServiceError(_))
                    || code.contains("Throttl")
                    || e.raw().status().as_u16() >= 500
                    || e.raw().status().as_u16() == 429;
                if transient {
                    Err(SecretError::Transient {
                        id: id.to_string(),
                        detail: code,
                    })
                } else if matches!(e.err(), GetSecretValueError::ResourceNotFoundException(_)) {
                    Err(SecretError::NotFound {
                        id: id.to_string(),
                        detail: code,
                    })
                } else {
                    Err(SecretError::Denied {
                        id: id.to_string(),
                        detail: code,
                    })
                }
            }
            // Timeouts, connection failures, throttling the SDK gave up on: worth a retry.
            Err(other) => Err(SecretError::Transient {
                id: id.to_string(),
                detail: sdk_error_kind(&other),
            }),
        }
    }
}

/// The region of a Secrets Manager ARN (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME`).
pub fn arn_region(id: &str) -> Option<String> {
    let mut parts = id.split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        // Only a region-shaped value may choose the endpoint: `s3` or `x.evil` may not.
        (Some("arn"), Some(_partition), Some("secretsmanager"), Some(region))
            if is_region(region) =>
        {
            Some(region.to_string())
        }
        _ => None,
    }
}

/// `^[a-z]{2}(-[a-z]+)+-\d+$`, e.g. `eu-west-1`, `us-gov-east-1`.
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// The service's error code; modeled errors are named even when the code is missing.
fn error_code(
    e: &aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError,
) -> String {
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError as E;
    if let Some(code) = e.meta().code() {
        return code.to_string();
    }
    match e {
        E::ResourceNotFoundException(_) => "ResourceNotFoundException",
        E::DecryptionFailure(_) => "DecryptionFailure",
        E::InternalServiceError(_) => "InternalServiceError",
        E::InvalidParameterException(_) => "InvalidParameterException",
        E::InvalidRequestException(_) => "InvalidRequestException",
        _ => "unknown",
    }
    .to_string()
}

fn sdk_error_kind<E, R>(e: &aws_sdk_secretsmanager::error::SdkError<E, R>) -> String {
    use aws_sdk_secretsmanager::error::SdkError;
    match e {
        SdkError::ConstructionFailure(_) => "request could not be built".into(),
        SdkError::TimeoutError(_) => "timed out".into(),
        SdkError::DispatchFailure(_) => "could not connect".into(),
        SdkError::ResponseError(_) => "unreadable response".into(),
        SdkError::ServiceError(_) => "service error".into(),
        _ => "unknown error".into(),
    }
}
