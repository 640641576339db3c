//! Connecting a destination: its credentials, where they may go (the allow-list, the
//! secret's binding, the Atlassian gateway), who the requests are made as, and which API
//! answers (detected once per site per container, or the gateway's Cloud).

use super::Deliverer;
use crate::alert::{ApiVersion, Destination};
use crate::failure::Failure;
use crate::gateway::Reuse;
use crate::hosts::{self, JiraSite};
use crate::issue::ApiFlavor;
use crate::jira::{Call, Deployment, JiraApi, JiraError};
use crate::meter::Meter;
use crate::retry::{retrying, Policy};
use crate::secrets::{AuthScheme, Credentials, SecretSource};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::time::Instant as TokioInstant;

/// A destination ready for requests: its credentials, allowed for its site, and its API.
pub struct Connection<'a> {
    pub site: &'a JiraSite,
    /// Where requests go: the site's base URL, or the gateway's for the site.
    pub base: String,
    /// The secret's scheme (`scoped` and `oauth` go through the gateway).
    pub scheme: AuthScheme,
    /// What the Authorization header carries (for `oauth`, the access token).
    pub creds: Arc<Credentials>,
    /// When the credentials were read (a 401 re-reads only a copy at least this old).
    pub fetched_at: Instant,
    /// The Basic-auth user: the secret's email, else the destination's.
    pub user: Option<String>,
    pub flavor: ApiFlavor,
    /// Jira Cloud's search index lags behind writes (seconds); Server/DC's is written with
    /// the issue. Unknown counts as lagging.
    pub index_lags: bool,
    pub(super) timeout: Duration,
}

impl<'a> Connection<'a> {
    /// A connection whose API flavor is not known yet (V3 until `Deliverer::flavor` says).
    pub fn new(
        dest: &'a Destination,
        creds: Arc<Credentials>,
        fetched_at: Instant,
        user: Option<String>,
    ) -> Connection<'a> {
        Connection {
            site: &dest.site,
            base: dest.site.base.clone(),
            scheme: creds.auth,
            creds,
            fetched_at,
            user,
            flavor: ApiFlavor::V3,
            index_lags: true,
            timeout: dest.timeout,
        }
    }

    /// One request's context, its requests counted in `meter`; its timeout never runs
    /// past the cutoff.
    pub fn call<'s>(&'s self, cutoff: TokioInstant, meter: &'s Meter) -> Call<'s> {
        let left = cutoff.saturating_duration_since(TokioInstant::now());
        Call {
            base: &self.base,
            creds: &self.creds,
            user: self.user.as_deref(),
            timeout: self.timeout.min(left).max(Duration::from_millis(50)),
            sent: Some(meter.sent()),
        }
    }

    pub fn issue_url(&self, key: &str) -> String {
        self.site.browse_url(key)
    }

    /// Requests go through the Atlassian gateway (a scoped token or OAuth).
    pub fn via_gateway(&self) -> bool {
        self.scheme.uses_gateway()
    }
}

/// What the gateway said while connecting (for the preflight's report).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayInfo {
    pub cloud_id: String,
    /// OAuth: the scopes granted with the access token.
    pub scopes: Vec<String>,
}

impl<J: JiraApi, S: SecretSource> Deliverer<J, S> {
    /// Credentials, the host check, the user and the API flavor, in that order: nothing
    /// is sent anywhere before the host is known to be allowed for this secret. `stale`: a
    /// connection Jira answered 401 (its secret is read again if no newer copy is cached,
    /// and an OAuth access token it used is replaced).
    pub async fn connect<'d>(
        &self,
        dest: &'d Destination,
        stale: Option<&Connection<'_>>,
        cutoff: TokioInstant,
        meter: &Meter,
    ) -> Result<Connection<'d>, Failure> {
        let (creds, fetched_at) = self
            .credentials(
                &dest.api_token_secret,
                stale.map(|c| c.fetched_at),
                cutoff,
                meter,
            )
            .await?;
        self.authorize(&dest.site, &creds)?;
        let user = user_for(dest, &creds)?;
        let mut conn = Connection::new(dest, creds, fetched_at, user);
        if conn.via_gateway() {
            self.through_gateway(&mut conn, dest, stale, false, cutoff, meter)
                .await?;
            return Ok(conn);
        }
        conn.flavor = self
            .flavor(dest.api_version, &conn, cutoff, meter)
            .await
            .map_err(|e| Failure::from(e).at("detecting Cloud or Server/DC (serverInfo)"))?;
        conn.index_lags = match dest.api_version {
            // Detected: v3 is Cloud, v2 Server/DC.
            ApiVersion::Auto => conn.flavor == ApiFlavor::V3,
            // As configured: Cloud may be asked for v2 (its sites are Atlassian's hosts).
            ApiVersion::V2 => is_cloud_host(&dest.site.host),
            ApiVersion::V3 => true,
        };
        Ok(conn)
    }

    /// Points a `scoped` or `oauth` connection at the gateway: the site's cloud id (checked
    /// before any credential is sent), then for `oauth` an access token. The gateway is
    /// Jira Cloud: REST v3 unless the destination asks for 2.
    /// `fresh`: a new access token whatever is cached (the preflight tests the secret as
    /// it is now).
    pub async fn through_gateway(
        &self,
        conn: &mut Connection<'_>,
        dest: &Destination,
        stale: Option<&Connection<'_>>,
        fresh: bool,
        cutoff: TokioInstant,
        meter: &Meter,
    ) -> Result<GatewayInfo, Failure> {
        let secret = conn.creds.clone();
        let cloud_id = self
            .gateway
            .cloud_id(
                &self.jira,
                &dest.site,
                secret.cloud_id.as_deref(),
                dest.timeout,
                cutoff,
                meter,
            )
            .await?;
        let mut info = GatewayInfo {
            cloud_id: cloud_id.clone(),
            scopes: Vec::new(),
        };
        if secret.auth == AuthScheme::OAuth {
            let refused = stale
                .filter(|c| c.scheme == AuthScheme::OAuth)
                .map(|c| &c.creds.token);
            let reuse = match (fresh, refused) {
                (true, _) => Reuse::Never,
                (false, Some(token)) => Reuse::Unless(token),
                (false, None) => Reuse::Cached,
            };
            let access = self
                .gateway
                .access(&self.jira, dest, &secret, reuse, cutoff, meter)
                .await?;
            info.scopes = access.scopes;
            conn.creds = Arc::new(Credentials::plain(AuthScheme::Bearer, access.token));
        }
        conn.base = self.gateway.api_base(&cloud_id);
        conn.flavor = match dest.api_version {
            ApiVersion::V2 => ApiFlavor::V2,
            _ => ApiFlavor::V3,
        };
        Ok(info)
    }

    pub async fn credentials(
        &self,
        secret_id: &str,
        refresh_older_than: Option<Instant>,
        cutoff: TokioInstant,
        meter: &Meter,
    ) -> Result<(Arc<Credentials>, Instant), Failure> {
        retrying(Policy::Idempotent, cutoff, meter, || {
            self.secrets.get(secret_id, refresh_older_than)
        })
        .await
        .map_err(Failure::from)
    }

    /// The token may go to `site` only if the secret is bound to it or the allow-list
    /// names it; a basic or bearer credential never goes to the Atlassian gateway (scoped
    /// and OAuth credentials go only there, and the site must be allowed all the same).
    pub fn authorize(&self, site: &JiraSite, creds: &Credentials) -> Result<(), Failure> {
        if !creds.auth.uses_gateway() && self.gateway.is_gateway(site) {
            return Err(Failure::bad_input(
                format!(
                    "destination.instance_url: {} is the Atlassian API gateway, where {} credentials are never sent",
                    site.base,
                    creds.auth.as_str()
                ),
                "set destination.instance_url to the Jira site (https://<name>.atlassian.net); for a scoped API token or a service account set \"auth\" to \"scoped\" or \"oauth\" in the secret",
            ));
        }
        hosts::authorize(site, creds.instance_url.as_deref(), &self.allowed).map_err(Failure::from)
    }

    /// The API flavor: as configured, or detected from `serverInfo` once per Jira base URL
    /// per container (concurrent alerts wait for the first detection).
    pub async fn flavor(
        &self,
        version: ApiVersion,
        conn: &Connection<'_>,
        cutoff: TokioInstant,
        meter: &Meter,
    ) -> Result<ApiFlavor, JiraError> {
        match version {
            ApiVersion::V2 => return Ok(ApiFlavor::V2),
            ApiVersion::V3 => return Ok(ApiFlavor::V3),
            ApiVersion::Auto => {}
        }
        let cell = self.flavors.get(&conn.site.base);
        cell.get_or_try_init(|| async {
            let deployment = retrying(Policy::Idempotent, cutoff, meter, || {
                meter.time(self.jira.server_info(conn.call(cutoff, meter)))
            })
            .await?;
            let f = match deployment {
                Deployment::Cloud => ApiFlavor::V3,
                Deployment::Server => ApiFlavor::V2,
            };
            tracing::info!(host = %conn.site.host, api = f.path(), "detected Jira deployment");
            Ok(f)
        })
        .await
        .copied()
    }
}

/// A Jira Cloud site's host (`acme.atlassian.net`, older `acme.jira.com`).
fn is_cloud_host(host: &str) -> bool {
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    host.ends_with(".atlassian.net") || host.ends_with(".jira.com")
}

/// Who the Basic-auth requests are made as. The secret's email, when it has one, is the
/// identity: an alert naming another user is refused before anything is sent (it could
/// otherwise pair a team's token with any user name and lock that account out).
pub fn user_for(dest: &Destination, creds: &Credentials) -> Result<Option<String>, Failure> {
    match (&creds.email, &dest.email) {
        (Some(secret), Some(event)) if !secret.eq_ignore_ascii_case(event) => {
            Err(Failure::bad_input(
                "destination.email: differs from the email stored in the secret, which is the identity for its token",
                "leave destination.email out (the secret's email is used), or set it to the secret's email",
            ))
        }
        (Some(secret), _) => Ok(Some(secret.clone())),
        (None, Some(event)) => Ok(Some(event.clone())),
        (None, None) if creds.auth.is_basic() => Err(Failure::bad_input(
            "destination.email: is required for basic authentication and the secret has no email either",
            "set destination.email to the Jira user's email (Cloud) or user name (Server/DC), or add \"email\" to the secret",
        )),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::is_cloud_host;

    #[test]
    fn cloud_sites_are_atlassians_hosts() {
        assert!(is_cloud_host("acme.atlassian.net"));
        assert!(is_cloud_host("ACME.Atlassian.net:443"));
        assert!(is_cloud_host("old.jira.com"));
        assert!(!is_cloud_host("jira.corp.example"));
        assert!(!is_cloud_host("atlassian.net.evil.example"));
    }
}
