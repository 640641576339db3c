//! Holding an SQS message until it can be acted on: `ChangeMessageVisibility` on the
//! record's receipt handle, so that a delivery waiting for Jira's search index, for a claim
//! held elsewhere or for a rate quota spends none of the message's receives (and a message
//! whose issue exists never reaches the dead-letter queue).

use crate::deferred::Deferred;
use futures::future::BoxFuture;
use std::time::Duration;

/// SQS's limit on a message's visibility: 12 hours from when it was received.
pub const MAX_VISIBILITY_SECONDS: i32 = 43_200;
/// The longest hold asked for: the visibility counts from now, SQS's limit from the
/// receive, and an invocation runs at most 15 minutes in between.
const MAX_HOLD_SECONDS: i32 = MAX_VISIBILITY_SECONDS - 900;

/// The queue the records came from, as far as holding a message goes.
pub trait Queue: Send + Sync {
    /// Makes the message invisible for `seconds` from now. The error is a short text
    /// for the log (SQS's error code).
    fn hold<'a>(
        &'a self,
        queue_url: &'a str,
        receipt_handle: &'a str,
        seconds: i32,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// SQS through the AWS SDK (`AWS_ENDPOINT_URL_SQS` overrides its endpoint).
pub struct Sqs {
    config: Option<Deferred<aws_config::SdkConfig>>,
    client: tokio::sync::OnceCell<aws_sdk_sqs::Client>,
}

impl Sqs {
    pub fn new(client: aws_sdk_sqs::Client) -> Sqs {
        Sqs {
            config: None,
            client: tokio::sync::OnceCell::new_with(Some(client)),
        }
    }

    /// A client made from `config` the first time a message is held (most containers
    /// never hold one, so the cold start does not pay for it).
    pub fn lazy(config: Deferred<aws_config::SdkConfig>) -> Sqs {
        Sqs {
            config: Some(config),
            client: tokio::sync::OnceCell::new(),
        }
    }

    async fn client(&self) -> Option<&aws_sdk_sqs::Client> {
        let config = self.config.as_ref();
        self.client
            .get_or_try_init(|| async {
                match config {
                    Some(c) => Ok(aws_sdk_sqs::Client::new(&c.get().await)),
                    None => Err(()),
                }
            })
            .await
            .ok()
    }
}

impl Queue for Sqs {
    fn hold<'a>(
        &'a self,
        queue_url: &'a str,
        receipt_handle: &'a str,
        seconds: i32,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            use aws_sdk_sqs::error::ProvideErrorMetadata;
            let Some(client) = self.client().await else {
                return Err("no SQS client".to_string());
            };
            client
                .change_message_visibility()
                .queue_url(queue_url)
                .receipt_handle(receipt_handle)
                .visibility_timeout(seconds)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| match e.code() {
                    Some(code) => code.to_string(),
                    None => "the request failed (no answer from SQS)".to_string(),
                })
        })
    }
}

/// No queue to hold messages in (direct invocations only).
pub struct NoQueue;

impl Queue for NoQueue {
    fn hold<'a>(&'a self, _: &'a str, _: &'a str, _: i32) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Err("no SQS client is configured".to_string()) })
    }
}

/// The queue URL of an SQS queue ARN (`arn:aws:sqs:us-east-1:111122223333:alerts` ->
/// `https://sqs.us-east-1.amazonaws.com/111122223333/alerts`). With an endpoint override
/// the SDK sends the request there, and the URL still names the queue.
pub fn queue_url(arn: &str) -> Option<String> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("sqs"), Some(region), Some(account), Some(name)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let fine = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    };
    if ![partition, region, account, name].into_iter().all(fine) {
        return None;
    }
    let domain = match partition {
        "aws-cn" => "amazonaws.com.cn",
        _ => "amazonaws.com",
    };
    Some(format!("https://sqs.{region}.{domain}/{account}/{name}"))
}

/// The visibility timeout for a wait: whole seconds rounded up, plus one so the message
/// comes back after the moment, not at it; within SQS's 12 hours.
pub fn visibility_for(wait: Duration) -> i32 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0) + 1;
    secs.min(MAX_HOLD_SECONDS as u64) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_urls_from_arns() {
        assert_eq!(
            queue_url("arn:aws:sqs:us-east-1:111122223333:alerts").as_deref(),
            Some("https://sqs.us-east-1.amazonaws.com/111122223333/alerts")
        );
        assert_eq!(
            queue_url("arn:aws:sqs:eu-west-1:111122223333:alerts.fifo").as_deref(),
            Some("https://sqs.eu-west-1.amazonaws.com/111122223333/alerts.fifo")
        );
        assert_eq!(
            queue_url("arn:aws-cn:sqs:cn-north-1:111122223333:q").as_deref(),
            Some("https://sqs.cn-north-1.amazonaws.com.cn/111122223333/q")
        );
        for bad in [
            "",
            "arn:aws:sns:us-east-1:1:t",
            "arn:aws:sqs:us-east-1:1",
            "arn:aws:sqs:us-east-1:1:a/b",
            "arn:aws:sqs::1:q",
        ] {
            assert_eq!(queue_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn visibility_rounds_up_and_is_bounded() {
        assert_eq!(visibility_for(Duration::ZERO), 1);
        assert_eq!(visibility_for(Duration::from_secs(60)), 61);
        assert_eq!(visibility_for(Duration::from_millis(59_001)), 61);
        assert_eq!(visibility_for(Duration::from_secs(90_000)), 42_300);
    }
}
