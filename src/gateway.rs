//! Atlassian's API gateway (contract section 11): scoped API tokens and service-account
//! OAuth reach Jira Cloud only through `https://api.atlassian.com/ex/jira/<cloud id>`, and
//! OAuth access tokens come from `https://auth.atlassian.com/oauth/token`.
//!
//! Here: the two gateway URLs (deployer configuration, never from an event), the cloud id
//! of a site (asked anonymously once per container, and a secret's own cloud id checked
//! against it before any credential is sent), and the access tokens, cached per secret
//! until shortly before they expire and fetched once for any number of alerts at once.

use crate::alert::Destination;
use crate::cells::Cells;
use crate::failure::{Failure, FailureClass};
use crate::hosts::{normalize, JiraSite};
use crate::jira::{JiraApi, JiraError};
use crate::meter::Meter;
use crate::retry::{retrying, Policy};
use crate::secrets::{Credentials, Token};
use std::time::Duration;
use tokio::sync::OnceCell;
use tokio::time::Instant;

pub const API_URL: &str = "https://api.atlassian.com";
pub const AUTH_URL: &str = "https://auth.atlassian.com";

/// The classic scopes the function uses: reading issues and projects, writing issues,
/// comments and transitions, and reading the user (the preflight's `myself`).
pub const SCOPES: [&str; 3] = ["read:jira-work", "write:jira-work", "read:jira-user"];

/// An access token and until when it is used (a little before it expires).
#[derive(Debug, Clone)]
pub struct Access {
    pub token: Token,
    pub scopes: Vec<String>,
    use_until: Instant,
}

/// The latest grant of a credential, or its refusal and until when it is repeated.
type Slot = tokio::sync::Mutex<Option<Result<Access, (Failure, Instant)>>>;

pub struct Gateway {
    pub api: JiraSite,
    pub auth: JiraSite,
    /// Cloud id per site base URL, learned from `tenant_info`.
    cloud_ids: Cells<OnceCell<String>>,
    /// Access token per secret and client id.
    tokens: Cells<Slot>,
}

impl Gateway {
    /// `api_url` and `auth_url`: `ATLASSIAN_API_URL`, `ATLASSIAN_AUTH_URL` (https, or http
    /// on loopback for stand-ins).
    pub fn new(api_url: &str, auth_url: &str) -> Result<Gateway, String> {
        let read = |name: &'static str, url: &str| {
            normalize(name, url).map_err(|e| format!("{name}={url:?}: {}", e.problem))
        };
        Ok(Gateway {
            api: read("ATLASSIAN_API_URL", api_url)?,
            auth: read("ATLASSIAN_AUTH_URL", auth_url)?,
            cloud_ids: Cells::default(),
            tokens: Cells::default(),
        })
    }

    /// Atlassian's own gateway.
    pub fn atlassian() -> Gateway {
        Gateway::new(API_URL, AUTH_URL).expect("the Atlassian URLs are valid")
    }

    /// Whether `site` is one of the gateway's hosts (where basic and bearer credentials
    /// never go).
    /// Everything at or below a gateway URL counts (the whole host for Atlassian's, whose
    /// URLs have no path; below the path for a stand-in that shares a host).
    pub fn is_gateway(&self, site: &JiraSite) -> bool {
        [&self.api, &self.auth].iter().any(|g| {
            let same_origin = g.host.eq_ignore_ascii_case(&site.host) && g.port == site.port;
            let base = g.base.to_ascii_lowercase();
            let under = site.base.to_ascii_lowercase();
            same_origin && (under == base || under.starts_with(&format!("{base}/")))
        })
    }

    /// The REST base URL of the site with cloud id `cloud_id`.
    pub fn api_base(&self, cloud_id: &str) -> String {
        format!("{}/ex/jira/{cloud_id}", self.api.base)
    }

    /// The site's cloud id, asked once per container (anonymously: no credential goes to
    /// `tenant_info`). A secret's own cloud id must be that one.
    pub async fn cloud_id<J: JiraApi>(
        &self,
        jira: &J,
        site: &JiraSite,
        from_secret: Option<&str>,
        timeout: Duration,
        cutoff: Instant,
        meter: &Meter,
    ) -> Result<String, Failure> {
        let cell = self.cloud_ids.get(&site.base);
        let found = cell
            .get_or_try_init(|| async {
                retrying(Policy::Idempotent, cutoff, meter, || {
                    meter.time_request(jira.tenant_info(site, timeout))
                })
                .await
            })
            .await
            .map_err(|e| {
                let mut f = Failure::from(e).at("reading the site's cloud id (<instance_url>/_edge/tenant_info)");
                f.fix = "check destination.instance_url is the Jira Cloud site (https://<name>.atlassian.net), or put the site's cloud_id in the secret".into();
                f
            })?
            .clone();
        if !is_cloud_id(&found) {
            return Err(Failure::new(
                FailureClass::Rejected,
                format!(
                    "{}/_edge/tenant_info answered a cloud id that is not one ({}); nothing was sent",
                    site.base,
                    crate::failure::quote(&found)
                ),
                "check destination.instance_url is the Jira Cloud site (https://<name>.atlassian.net), or put the site's cloud_id in the secret",
            ));
        }
        match from_secret {
            Some(own) if !own.eq_ignore_ascii_case(&found) => Err(Failure::bad_input(
                format!(
                    "the secret's cloud_id {own} is not the cloud id of {} ({found}, from its tenant_info); nothing was sent",
                    site.base
                ),
                "send alerts for this secret to the site it belongs to, or correct (or remove) cloud_id in the secret",
            )),
            _ => Ok(found),
        }
    }

    /// An access token for an `oauth` secret: the cached one unless it is `stale` (Jira
    /// refused it), about to expire, or `fresh` is asked for (the preflight); else one
    /// client-credentials grant, which alerts arriving meanwhile wait for. A refusal is
    /// kept for a minute, so waiting alerts share it instead of asking again one by one.
    /// The cache is per credential (its client secret's hash too): a changed secret is
    /// used at once.
    pub async fn access<J: JiraApi>(
        &self,
        jira: &J,
        dest: &Destination,
        creds: &Credentials,
        reuse: Reuse<'_>,
        cutoff: Instant,
        meter: &Meter,
    ) -> Result<Access, Failure> {
        let fresh = reuse == Reuse::Never;
        let stale = match reuse {
            Reuse::Unless(t) => Some(t),
            _ => None,
        };
        let client_id = creds.client_id.as_deref().unwrap_or_default();
        let slot = self.tokens.get(&token_key(&dest.api_token_secret, creds));
        let Ok(mut cached) = tokio::time::timeout_at(cutoff, slot.lock()).await else {
            return Err(Failure::deadline());
        };
        match cached.as_ref() {
            Some(Ok(a)) if !fresh && stale != Some(&a.token) && Instant::now() < a.use_until => {
                return Ok(a.clone())
            }
            Some(Err((f, until))) if !fresh && Instant::now() < *until => return Err(f.clone()),
            _ => {}
        }
        let grant = retrying(Policy::Idempotent, cutoff, meter, || {
            meter.time_request(jira.oauth_token(&self.auth, client_id, &creds.token, dest.timeout))
        })
        .await;
        let grant = match grant {
            Ok(g) => g,
            Err(e) => {
                let refused = is_refusal(&e);
                let f = token_failure(e);
                if refused {
                    *cached = Some(Err((f.clone(), Instant::now() + REFUSAL_KEPT)));
                }
                return Err(f);
            }
        };
        // At most a day; refreshed a minute early (at most halfway through a short life).
        let life = grant.expires_in.min(Duration::from_secs(86_400));
        let early = Duration::from_secs(60).min(life / 2);
        let access = Access {
            token: grant.token,
            scopes: grant.scopes,
            use_until: Instant::now() + life - early,
        };
        *cached = Some(Ok(access.clone()));
        Ok(access)
    }
}

/// Whether a cached access token may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse<'a> {
    Cached,
    /// Unless it is this one (Jira refused it).
    Unless(&'a Token),
    /// A new one whatever is cached (the preflight).
    Never,
}

/// How long a refused token request is answered from memory.
const REFUSAL_KEPT: Duration = Duration::from_secs(60);

/// The cache key of a credential: secret, client id and a hash of the client secret.
fn token_key(secret_id: &str, creds: &Credentials) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(creds.token.expose().as_bytes());
    let short: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let client_id = creds.client_id.as_deref().unwrap_or_default();
    format!("{secret_id}|{client_id}|{short}")
}

fn is_refusal(e: &JiraError) -> bool {
    matches!(
        e,
        JiraError::Unauthorized { .. } | JiraError::Forbidden { .. } | JiraError::Rejected { .. }
    )
}

/// A cloud id as Atlassian writes them: hexadecimal digits and dashes (it goes into the
/// gateway's path, so nothing else may).
pub fn is_cloud_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// The token endpoint refused or failed: what it means for a service account.
fn token_failure(e: JiraError) -> Failure {
    if !is_refusal(&e) {
        return Failure::from(e).at("getting an OAuth access token");
    }
    Failure::new(
        FailureClass::Auth,
        format!("the Atlassian token endpoint refused the service account's client credentials ({e})"),
        "check client_id and client_secret in the secret are the service account's OAuth 2.0 credential (Atlassian Administration > Directory > Service accounts > the account > Credentials; credentials expire), and that the service account has access to Jira on this site (its app access)",
    )
}

/// The scope a refused gateway request needed, by what it does.
pub fn scope_needed(writes: bool, path: &str) -> &'static str {
    match (writes, path.contains("/myself")) {
        (true, _) => "write:jira-work",
        (false, true) => "read:jira-user",
        (false, false) => "read:jira-work",
    }
}

/// Whether a refusal through the gateway is about a scope (Atlassian answers a missing
/// scope with 401 "Unauthorized; scope does not match").
pub fn is_scope_refusal(e: &JiraError) -> bool {
    matches!(
        e,
        JiraError::Unauthorized { .. } | JiraError::Forbidden { .. }
    ) && e.to_string().to_ascii_lowercase().contains("scope")
}

/// A gateway refusal after one refresh: a missing scope (named), or a credential refused.
pub fn refused(e: JiraError, scheme: &str, scope: &str) -> Failure {
    let detail = e.to_string();
    if is_scope_refusal(&e) {
        let fix = match scheme {
            "oauth" => format!("add {scope} to the service account's OAuth credential (the function needs {})", SCOPES.join(", ")),
            _ => format!("create a new scoped API token with {scope} and the other scopes the function needs ({}): a token's scopes are fixed when it is made", SCOPES.join(", ")),
        };
        return Failure::new(
            FailureClass::Permission,
            format!(
                "the {scheme} credential lacks the scope this request needs: {scope} ({detail})"
            ),
            fix,
        );
    }
    Failure::new(
        FailureClass::Auth,
        format!("the Atlassian API gateway refused the {scheme} credential ({detail})"),
        match scheme {
            "oauth" => "a new access token was fetched and refused too: check the service account still exists, has access to Jira on this site, and its credential has not expired or been revoked",
            _ => "the scoped API token was refused: it may have expired or been revoked (they last at most a year); create a new one with the scopes the function needs and store it in the secret",
        },
    )
}

/// The classic scopes the function needs that a grant lacks. Grants of granular scopes
/// (`...:jira` names) are not second-guessed.
pub fn missing_scopes(granted: &[String]) -> Vec<&'static str> {
    if granted.is_empty() || granted.iter().any(|s| s.ends_with(":jira")) {
        return Vec::new();
    }
    SCOPES
        .into_iter()
        .filter(|s| !granted.iter().any(|g| g == s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_hosts_are_told_apart_by_host_and_port() {
        let g = Gateway::new("http://127.0.0.1:9001", "http://127.0.0.1:9002").unwrap();
        let site = |u: &str| normalize("x", u).unwrap();
        assert!(g.is_gateway(&site("http://127.0.0.1:9001")));
        assert!(g.is_gateway(&site("http://127.0.0.1:9002/")));
        assert!(!g.is_gateway(&site("http://127.0.0.1:9003")));
        // A stand-in under a path on a shared host: only below that path.
        let shared =
            Gateway::new("http://127.0.0.1:9001/gw", "http://127.0.0.1:9001/auth").unwrap();
        assert!(shared.is_gateway(&site("http://127.0.0.1:9001/gw")));
        assert!(shared.is_gateway(&site("http://127.0.0.1:9001/gw/ex/jira/abc")));
        assert!(!shared.is_gateway(&site("http://127.0.0.1:9001")));
        assert!(!shared.is_gateway(&site("http://127.0.0.1:9001/gwx")));
        assert!(a_site_path_is_kept(&shared));
        let a = Gateway::atlassian();
        assert!(a.is_gateway(&site("https://API.atlassian.com")));
        assert!(a.is_gateway(&site("https://api.atlassian.com/ex/jira/abc")));
        assert!(!a.is_gateway(&site("https://acme.atlassian.net")));
        assert_eq!(
            a.api_base("abc-1"),
            "https://api.atlassian.com/ex/jira/abc-1"
        );
        assert!(
            Gateway::new("http://gateway.example", AUTH_URL).is_err(),
            "http off loopback"
        );
    }

    fn a_site_path_is_kept(g: &Gateway) -> bool {
        g.api_base("c1") == "http://127.0.0.1:9001/gw/ex/jira/c1"
    }

    #[test]
    fn scopes_are_named_by_what_a_request_does() {
        assert_eq!(scope_needed(true, "/rest/api/3/issue"), "write:jira-work");
        assert_eq!(scope_needed(false, "/rest/api/3/myself"), "read:jira-user");
        assert_eq!(
            scope_needed(false, "/rest/api/3/search/jql"),
            "read:jira-work"
        );
        let granted: Vec<String> = vec!["read:jira-work".into()];
        assert_eq!(
            missing_scopes(&granted),
            ["write:jira-work", "read:jira-user"]
        );
        assert!(missing_scopes(&["read:issue:jira".to_string()]).is_empty());
        let f = refused(
            JiraError::Unauthorized {
                detail: "Unauthorized; scope does not match".into(),
            },
            "oauth",
            "write:jira-work",
        );
        assert_eq!(f.class, FailureClass::Permission);
        assert!(
            f.message.contains("needs: write:jira-work"),
            "{}",
            f.message
        );
    }
}
