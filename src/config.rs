//! The function's environment (the README's configuration table), read once at start.

use crate::hosts::AllowedHosts;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub allowed_hosts: AllowedHosts,
    pub secret_ttl: Duration,
    pub max_concurrency: usize,
    /// The DynamoDB idempotency table; none: a per-container ledger.
    pub idempotency_table: Option<String>,
    /// How long after a claim's lease ends before another delivery may take it over.
    pub takeover: Duration,
    /// Extra CA certificates (PEM) trusted for Jira, checked at start.
    pub ca_bundle: Option<String>,
    /// The Atlassian API gateway and token endpoint (scoped tokens, OAuth), checked at start.
    pub atlassian_api_url: String,
    pub atlassian_auth_url: String,
}

impl Config {
    /// Reads the configuration through `var` (the process environment in `main`). A bad
    /// value stops the function at start with a message naming the variable.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let allowed_hosts = AllowedHosts::parse(&var("ALLOWED_JIRA_HOSTS").unwrap_or_default())?;
        let number = |name: &str, default: u64, min: u64, max: u64| -> Result<u64, String> {
            match var(name)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
            {
                None => Ok(default),
                Some(s) => match s.parse::<u64>() {
                    Ok(n) if (min..=max).contains(&n) => Ok(n),
                    _ => Err(format!(
                        "{name}={s:?} is not a whole number from {min} to {max}"
                    )),
                },
            }
        };
        Config {
            allowed_hosts,
            secret_ttl: Duration::from_secs(number("SECRET_CACHE_TTL_SECONDS", 300, 0, 86_400)?),
            max_concurrency: number("MAX_CONCURRENCY", 10, 1, 1_000)? as usize,
            idempotency_table: table_name(var("IDEMPOTENCY_TABLE"))?,
            takeover: Duration::from_secs(number("IDEMPOTENCY_TAKEOVER_SECONDS", 60, 0, 86_400)?),
            ca_bundle: ca_bundle(var("JIRA_CA_BUNDLE"))?,
            atlassian_api_url: url_or(var("ATLASSIAN_API_URL"), crate::gateway::API_URL),
            atlassian_auth_url: url_or(var("ATLASSIAN_AUTH_URL"), crate::gateway::AUTH_URL),
        }
        .checked()
    }

    /// Checks the gateway URLs now, so a bad one stops the function at start.
    fn checked(self) -> Result<Config, String> {
        self.gateway()?;
        Ok(self)
    }

    /// The Atlassian gateway of this configuration.
    pub fn gateway(&self) -> Result<crate::gateway::Gateway, String> {
        crate::gateway::Gateway::new(&self.atlassian_api_url, &self.atlassian_auth_url)
    }
}

fn url_or(raw: Option<String>, default: &str) -> String {
    raw.map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// `JIRA_CA_BUNDLE`: PEM text, parsed now so that a bad bundle stops the function at start.
fn ca_bundle(raw: Option<String>) -> Result<Option<String>, String> {
    match raw.filter(|s| !s.trim().is_empty()) {
        None => Ok(None),
        Some(pem) => crate::jira::ca_certificates(&pem).map(|_| Some(pem)),
    }
}

/// A DynamoDB table name (3-255 of `[A-Za-z0-9_.-]`) or table ARN (at most 1,024
/// characters, `arn:<partition>:dynamodb:<region>:<account>:table/<name>`).
fn table_name(raw: Option<String>) -> Result<Option<String>, String> {
    let Some(name) = raw.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let name_ok = |n: &str| {
        (3..=255).contains(&n.len())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    };
    let ok = match name.strip_prefix("arn:") {
        Some(rest) => {
            name.len() <= 1024
                && rest.split(':').nth(1) == Some("dynamodb")
                && rest
                    .rsplit_once(":table/")
                    .is_some_and(|(_, table)| name_ok(table))
        }
        None => name_ok(&name),
    };
    if ok {
        Ok(Some(name))
    } else {
        Err(format!(
            "IDEMPOTENCY_TABLE={name:?} is not a DynamoDB table name (3-255 of letters, digits, _ . -) or table ARN"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_env(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_and_overrides() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.secret_ttl, Duration::from_secs(300));
        assert_eq!(c.max_concurrency, 10);
        assert_eq!(c.allowed_hosts, AllowedHosts::default());
        let c = cfg(&[("MAX_CONCURRENCY", "3"), ("SECRET_CACHE_TTL_SECONDS", "0")]).unwrap();
        assert_eq!((c.max_concurrency, c.secret_ttl), (3, Duration::ZERO));
        assert_eq!(c.idempotency_table, None);
        assert_eq!(c.takeover, Duration::from_secs(60));
        let c = cfg(&[
            ("IDEMPOTENCY_TABLE", "alerts-ledger"),
            ("IDEMPOTENCY_TAKEOVER_SECONDS", "2"),
        ])
        .unwrap();
        assert_eq!(c.idempotency_table.as_deref(), Some("alerts-ledger"));
        assert_eq!(c.takeover, Duration::from_secs(2));
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert!(cfg(&[("MAX_CONCURRENCY", "0")])
            .unwrap_err()
            .contains("MAX_CONCURRENCY"));
        assert!(cfg(&[("SECRET_CACHE_TTL_SECONDS", "-1")])
            .unwrap_err()
            .contains("SECRET_CACHE_TTL_SECONDS"));
        for bad in [
            "bad table",
            "ab",
            &"t".repeat(256),
            "arn:aws:s3:::bucket",
            "arn:aws:dynamodb:us-east-1:111122223333:table/a b",
        ] {
            assert!(
                cfg(&[("IDEMPOTENCY_TABLE", bad)])
                    .unwrap_err()
                    .contains("IDEMPOTENCY_TABLE"),
                "{bad}"
            );
        }
        for good in [
            "alerts-ledger.v2_x",
            "arn:aws:dynamodb:us-east-1:111122223333:table/alerts-ledger",
        ] {
            assert_eq!(
                cfg(&[("IDEMPOTENCY_TABLE", good)])
                    .unwrap()
                    .idempotency_table
                    .as_deref(),
                Some(good)
            );
        }
        for bad in [
            "not a certificate",
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        ] {
            let e = cfg(&[("JIRA_CA_BUNDLE", bad)]).unwrap_err();
            assert!(e.starts_with("JIRA_CA_BUNDLE") && e.contains("Fix:"), "{e}");
        }
        // PEM around bytes that are no certificate: refused when the client is built.
        let junk = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let e = crate::jira::JiraHttp::with_ca_bundle(Some(junk)).err();
        assert!(e.is_some_and(|e| e.starts_with("JIRA_CA_BUNDLE")));
        assert!(cfg(&[("ALLOWED_JIRA_HOSTS", "https://x")])
            .unwrap_err()
            .contains("ALLOWED_JIRA_HOSTS"));
    }
}
