//! The Jira credential, read from AWS Secrets Manager (the secret format in the README) and cached.
//!
//! The token is wrapped in `Token`, which never prints itself, and no error built here
//! carries any part of the secret's value.

mod aws;
mod format;

pub use aws::{arn_region, SecretsManager};
pub use format::{parse_secret, AuthScheme, Credentials, Token};

use crate::cells::{lock, Cells};
use crate::failure::{Failure, FailureClass};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("secret {id}: not found ({detail})")]
    NotFound { id: String, detail: String },
    #[error("secret {id}: not readable ({detail})")]
    Denied { id: String, detail: String },
    #[error("secret {id}: Secrets Manager is throttling or unreachable ({detail})")]
    Transient { id: String, detail: String },
    #[error("secret {id}: {problem}")]
    Malformed { id: String, problem: String },
}

impl SecretError {
    pub fn is_transient(&self) -> bool {
        matches!(self, SecretError::Transient { .. })
    }

    pub fn class(&self) -> FailureClass {
        match self {
            SecretError::NotFound { .. } => FailureClass::NotFound,
            SecretError::Denied { .. } => FailureClass::Permission,
            SecretError::Transient { .. } => FailureClass::Throttled,
            SecretError::Malformed { .. } => FailureClass::BadInput,
        }
    }

    pub fn fix(&self) -> &'static str {
        match self {
            SecretError::NotFound { .. } => "check destination.api_token_secret names an existing secret (name or ARN, in the right region)",
            SecretError::Denied { .. } => "let the function's role call secretsmanager:GetSecretValue on the secret (and kms:Decrypt on its key); the template's JiraSecretArnPattern must match it",
            SecretError::Transient { .. } => "none needed: it is retried; if it persists, check Secrets Manager's quotas and the function's network path to it",
            SecretError::Malformed { .. } => "store the bare token, or JSON {\"api_token\": \"...\", \"email\": \"optional\", \"instance_url\": \"optional\", \"auth\": \"basic|bearer|scoped\", \"cloud_id\": \"optional (scoped)\"}, or for a service account {\"auth\": \"oauth\", \"client_id\": \"...\", \"client_secret\": \"...\", \"cloud_id\": \"optional\"}",
        }
    }
}

impl From<SecretError> for Failure {
    fn from(e: SecretError) -> Self {
        Failure::new(e.class(), e.to_string(), e.fix())
    }
}

/// Where secret strings come from. Tests swap in an in-memory source.
pub trait SecretSource: Send + Sync + 'static {
    fn fetch(&self, id: &str) -> impl Future<Output = Result<String, SecretError>> + Send;
}

/// Secrets held in memory (tests, local tools): id -> SecretString. Behind a mutex so a
/// test can rotate one.
impl SecretSource for Mutex<HashMap<String, String>> {
    async fn fetch(&self, id: &str) -> Result<String, SecretError> {
        let found = lock(self).get(id).cloned();
        found.ok_or_else(|| SecretError::NotFound {
            id: id.to_string(),
            detail: "ResourceNotFoundException".into(),
        })
    }
}

struct Entry {
    fetched: Instant,
    creds: Arc<Credentials>,
}

/// Caches parsed credentials per secret id for a TTL. Concurrent alerts that need the same
/// secret wait for one fetch: one `GetSecretValue` per secret per TTL.
pub struct SecretCache<S> {
    source: S,
    ttl: Duration,
    slots: Cells<tokio::sync::Mutex<Option<Entry>>>,
}

impl<S: SecretSource> SecretCache<S> {
    pub fn new(source: S, ttl: Duration) -> Self {
        SecretCache {
            source,
            ttl,
            slots: Cells::default(),
        }
    }

    pub fn source(&self) -> &S {
        &self.source
    }

    /// The credentials for `id`, and when they were fetched. With `refresh_older_than` set
    /// (after a 401: the token may just have been rotated), a copy fetched at or before that
    /// instant is not reused; one that another alert fetched since is.
    pub async fn get(
        &self,
        id: &str,
        refresh_older_than: Option<Instant>,
    ) -> Result<(Arc<Credentials>, Instant), SecretError> {
        let slot = self.slots.get(id);
        let mut entry = slot.lock().await;
        if let Some(e) = entry.as_ref() {
            let fresh = e.fetched.elapsed() < self.ttl;
            let new_enough = refresh_older_than.is_none_or(|t| e.fetched > t);
            if fresh && new_enough {
                return Ok((e.creds.clone(), e.fetched));
            }
        }
        let read = match self.source.fetch(id).await {
            Ok(raw) => parse_secret(id, &raw),
            Err(e) => Err(e),
        };
        let creds = match read {
            Ok(c) => Arc::new(c),
            Err(e) => {
                if entry.is_none() {
                    // Ids come from events: a slot that never held a secret is not kept.
                    drop(entry);
                    self.slots.forget(id, &slot);
                }
                return Err(e);
            }
        };
        let fetched = Instant::now();
        *entry = Some(Entry {
            fetched,
            creds: creds.clone(),
        });
        Ok((creds, fetched))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn arn_regions() {
        assert_eq!(
            arn_region("arn:aws:secretsmanager:eu-west-1:111122223333:secret:jira/x-AbCdEf")
                .as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(arn_region("jira/secops"), None);
        assert_eq!(
            arn_region("arn:aws-us-gov:secretsmanager:us-gov-east-1:111122223333:secret:x")
                .as_deref(),
            Some("us-gov-east-1")
        );
        // Not a region: never an endpoint.
        for bad in [
            "s3",
            "x.evil.example",
            "us-east",
            "US-EAST-1",
            "us-east-1a",
            "",
        ] {
            let arn = format!("arn:aws:secretsmanager:{bad}:111122223333:secret:x");
            assert_eq!(arn_region(&arn), None, "{bad}");
        }
        assert_eq!(arn_region("arn:aws:s3:::bucket"), None);
    }

    struct Counting {
        calls: AtomicUsize,
    }

    impl SecretSource for Counting {
        async fn fetch(&self, _id: &str) -> Result<String, SecretError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(format!("token-{n}"))
        }
    }

    #[tokio::test]
    async fn one_fetch_per_secret_per_ttl_under_concurrency() {
        let cache = Arc::new(SecretCache::new(
            Counting {
                calls: AtomicUsize::new(0),
            },
            Duration::from_secs(300),
        ));
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let cache = cache.clone();
                tokio::spawn(async move {
                    let id = if i % 2 == 0 { "a" } else { "b" };
                    cache
                        .get(id, None)
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
            t.await.unwrap();
        }
        assert_eq!(cache.source.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn refresh_bypasses_the_cache_once() {
        let cache = SecretCache::new(
            Counting {
                calls: AtomicUsize::new(0),
            },
            Duration::from_secs(300),
        );
        let (first, at) = cache.get("a", None).await.unwrap();
        let (second, _) = cache.get("a", Some(at)).await.unwrap();
        assert_ne!(first.token, second.token);
        // A second refresh request for the same stale copy reuses the new one.
        let (third, _) = cache.get("a", Some(at)).await.unwrap();
        assert_eq!(second.token, third.token);
        assert_eq!(cache.source.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_read_leaves_nothing_behind() {
        let source: Mutex<HashMap<String, String>> = Mutex::default();
        let cache = SecretCache::new(source, Duration::from_secs(300));
        for i in 0..100 {
            assert!(cache.get(&format!("jira/missing-{i}"), None).await.is_err());
        }
        assert!(cache.slots.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_cache_is_bounded() {
        let cache = SecretCache::new(
            Counting {
                calls: AtomicUsize::new(0),
            },
            Duration::from_secs(300),
        );
        for i in 0..crate::cells::MAX_CELLS + 500 {
            cache.get(&format!("jira/{i}"), None).await.unwrap();
        }
        let held = cache.slots.len();
        assert!(held <= crate::cells::MAX_CELLS, "{held} secrets cached");
    }

    #[tokio::test]
    async fn expired_entries_are_fetched_again() {
        let cache = SecretCache::new(
            Counting {
                calls: AtomicUsize::new(0),
            },
            Duration::from_millis(0),
        );
        cache.get("a", None).await.unwrap();
        cache.get("a", None).await.unwrap();
        assert_eq!(cache.source.calls.load(Ordering::SeqCst), 2);
    }
}
