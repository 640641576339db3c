//! Delivering one validated alert: `connect` (credentials, where they may go, which API)
//! then the executor, which runs the pure `plan` against `JiraApi` with one retry policy.
//! A 401 reads the secret again once (it may just have been rotated) and starts over.

mod lifecycle;
mod plan;
pub mod retry;

pub use plan::{Next, Plan, Purpose, Reply, Step, StepError};

use crate::alert::{Alert, ApiVersion, Destination};
use crate::failure::Failure;
use crate::gateway::{Gateway, Reuse};
use crate::hosts::{self, AllowedHosts, JiraSite};
use crate::issue::ApiFlavor;
use crate::jira::{Call, Deployment, JiraApi, JiraError};
use crate::ledger::{Claim, Holder, Ledger, LEASE_MARGIN};
use crate::metrics::{Delivered, Meter, Outcome, Status};
use crate::secrets::{AuthScheme, Credentials, SecretCache, SecretSource};
use retry::{retrying, Policy};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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
    timeout: Duration,
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
            timeout: dest.timeout,
        }
    }

    /// One request's context; its timeout never runs past the cutoff.
    pub fn call(&self, cutoff: TokioInstant) -> Call<'_> {
        let left = cutoff.saturating_duration_since(TokioInstant::now());
        Call {
            base: &self.base,
            creds: &self.creds,
            user: self.user.as_deref(),
            timeout: self.timeout.min(left).max(Duration::from_millis(50)),
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

/// One delivery's state in the executor.
struct Run<'a> {
    dest: &'a Destination,
    conn: Option<Connection<'a>>,
    /// This delivery's claim token: the same for every try, so a claim whose answer was
    /// lost is recognised as ours.
    token: String,
    claim: Option<Holder>,
    work_cutoff: TokioInstant,
    /// The secret was read again after a 401 (once per delivery).
    refreshed: bool,
    /// Ids of the detection's issues this container saw or made lately (its lane's).
    recent: Vec<String>,
}

impl Run<'_> {
    /// Through the gateway, a 403 (or a 401 after the refresh) means a missing scope or a
    /// refused credential: said so, with the scope the step needed.
    fn gateway_refusal(
        &self,
        step: &Step,
        result: Result<Reply, StepError>,
    ) -> Result<Reply, StepError> {
        let Some(conn) = self.conn.as_ref().filter(|c| c.via_gateway()) else {
            return result;
        };
        match result {
            // A 403 is Jira's own permission answer: the usual fixes hold.
            Err(StepError::Jira(e @ JiraError::Unauthorized { .. }))
            | Err(StepError::Jira(e @ JiraError::Forbidden { .. }))
                if matches!(e, JiraError::Unauthorized { .. })
                    || crate::gateway::is_scope_refusal(&e) =>
            {
                let scope = crate::gateway::scope_needed(step.writes(), "");
                Err(StepError::Failed(crate::gateway::refused(
                    e,
                    conn.scheme.as_str(),
                    scope,
                )))
            }
            other => other,
        }
    }

    /// Issue URLs always use the destination's site.
    fn delivered(&self, status: Status, issue_key: String, plan: &Plan) -> Outcome {
        Outcome::Delivered(Delivered {
            status,
            issue_url: self.dest.site.browse_url(&issue_key),
            issue_key,
            host: self.dest.site.host.clone(),
            notes: plan.notes().to_vec(),
            reason: plan.reason(),
        })
    }
}

pub struct Deliverer<J, S> {
    jira: J,
    secrets: SecretCache<S>,
    allowed: AllowedHosts,
    ledger: Ledger,
    /// API flavor per Jira base URL, detected once per container.
    flavors: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<ApiFlavor>>>>,
    /// The Atlassian API gateway (scoped tokens, OAuth).
    gateway: Gateway,
    /// One lane per detection (site, project, detection id) for lifecycle runs, holding
    /// the ids of its issues this container saw or made lately.
    lanes: Mutex<HashMap<String, Lane>>,
}

impl<J: JiraApi, S: SecretSource> Deliverer<J, S> {
    pub fn new(jira: J, secrets: SecretCache<S>, allowed: AllowedHosts, ledger: Ledger) -> Self {
        Deliverer {
            jira,
            secrets,
            allowed,
            ledger,
            flavors: Mutex::new(HashMap::new()),
            gateway: Gateway::atlassian(),
            lanes: Mutex::new(HashMap::new()),
        }
    }

    /// Uses `gateway` (`ATLASSIAN_API_URL`, `ATLASSIAN_AUTH_URL`) instead of Atlassian's.
    pub fn with_gateway(mut self, gateway: Gateway) -> Self {
        self.gateway = gateway;
        self
    }

    /// The lane of the alert's detection, shared by its runs in this container.
    fn lane(&self, alert: &Alert) -> Lane {
        let key = format!(
            "{}|{}|{}",
            alert.destination.site.base, alert.destination.project_key, alert.detection.id
        );
        let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        if lanes.len() >= crate::secrets::MAX_CACHED && !lanes.contains_key(&key) {
            // Detections come from events: past the bound, forget the idle lanes.
            lanes.retain(|_, l| Arc::strong_count(l) > 1);
        }
        lanes.entry(key).or_default().clone()
    }

    pub fn jira(&self) -> &J {
        &self.jira
    }

    /// Delivers one alert. Work stops in time for `cutoff`; the caller also bounds it.
    pub async fn deliver(
        &self,
        alert: &Alert,
        cutoff: TokioInstant,
        meter: &Meter,
    ) -> Result<Outcome, Failure> {
        // Runs of one detection that look at its issues go one at a time in this
        // container: two at once would both see the same state (storm counts, reopen).
        let mut lane = match alert.destination.lifecycle.active() || alert.destination.group_repeats
        {
            true => Some(self.lane(alert).lock_owned().await),
            false => None,
        };
        let mut run = Run {
            dest: &alert.destination,
            conn: None,
            token: crate::ledger::claim_token(),
            claim: None,
            refreshed: false,
            recent: lane.as_deref().cloned().unwrap_or_default(),
            // Time kept back after the work for the ledger's bookkeeping (record, release).
            work_cutoff: cutoff - bookkeeping_reserve(cutoff),
        };
        let now = (self.ledger.now_ms() / 1000) as i64;
        let mut plan = Plan::new(alert, self.ledger.is_shared(), now);
        let mut next = plan.start();
        loop {
            next = match next {
                Next::Finish(status, key) => return Ok(run.delivered(status, key, &plan)),
                Next::Skip(reason) => return Ok(Outcome::Skipped(reason)),
                Next::Fail(f) => return Err(f),
                Next::Send(step) => {
                    let reply = self.step(&step, &mut run, cutoff, meter).await;
                    if let (Some(lane), Ok(r)) = (lane.as_mut(), &reply) {
                        remember(lane, r);
                        run.recent.clone_from(lane);
                    }
                    if let Ok(Reply::Claimed(Claim::Fresh(h) | Claim::TakeOver(h))) = &reply {
                        run.claim = Some(h.clone());
                    }
                    plan.on_reply(reply)
                }
            }
        }
    }

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
        retrying(Policy::Read, cutoff, meter, || {
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
        let cell = {
            let mut flavors = self.flavors.lock().unwrap_or_else(|p| p.into_inner());
            if flavors.len() >= crate::secrets::MAX_CACHED && !flavors.contains_key(&conn.site.base)
            {
                // Sites come from events: past the bound, forget those not being detected.
                flavors.retain(|_, c| Arc::strong_count(c) > 1);
            }
            flavors.entry(conn.site.base.clone()).or_default().clone()
        };
        cell.get_or_try_init(|| async {
            let deployment = retrying(Policy::Read, cutoff, meter, || {
                meter.time(self.jira.server_info(conn.call(cutoff)))
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

    /// A read with credentials and retries (the destination check's metadata).
    pub async fn read(
        &self,
        conn: &Connection<'_>,
        path: &str,
        cutoff: TokioInstant,
        meter: &Meter,
    ) -> Result<serde_json::Value, JiraError> {
        retrying(Policy::Read, cutoff, meter, || {
            meter.time(self.jira.get_json(conn.call(cutoff), path))
        })
        .await
    }

    /// Sends one step of the plan: to the ledger, to Jira, or (re)connecting. Everything
    /// but the bookkeeping stops at the run's work cutoff. A 401 reads the secret again
    /// once (it may just have been rotated) and sends the step again: a refused request
    /// changed nothing.
    async fn step(
        &self,
        step: &Step,
        run: &mut Run<'_>,
        cutoff: TokioInstant,
        meter: &Meter,
    ) -> Result<Reply, StepError> {
        let ledger = &self.ledger;
        let work = run.work_cutoff;
        let result = match (step, run.claim.as_mut()) {
            (Step::Claim { id, lease }, _) => {
                let token = &run.token;
                let claim = retrying(Policy::Read, work, meter, || {
                    meter.time_ledger(ledger.claim(id, token, *lease))
                })
                .await;
                if let Ok(c) = &claim {
                    meter.claimed(c);
                }
                claim.map(Reply::Claimed)
            }
            (Step::Record { key }, Some(h)) => retrying(Policy::Read, cutoff, meter, || {
                meter.time_ledger(ledger.record(h, key))
            })
            .await
            .map(|()| Reply::Done),
            (Step::Release, Some(h)) => retrying(Policy::Read, cutoff, meter, || {
                meter.time_ledger(ledger.release(h))
            })
            .await
            .map(|()| Reply::Done),
            (Step::Record { .. } | Step::Release, None) => Ok(Reply::Done),
            (Step::Wait(wait), _) => {
                if TokioInstant::now() + *wait + retry::MIN_ATTEMPT > work {
                    return Err(StepError::Failed(Failure::deadline()));
                }
                meter.retried();
                tokio::time::sleep(*wait).await;
                return Ok(Reply::Done);
            }
            (Step::Connect, _) => {
                let conn = self
                    .connect(run.dest, None, work, meter)
                    .await
                    .map_err(StepError::Failed)?;
                let flavor = conn.flavor;
                run.conn = Some(conn);
                return Ok(Reply::Connected(flavor));
            }
            _ => {
                let first = self.jira_step(step, run, work, meter).await;
                let unauthorized =
                    matches!(first, Err(StepError::Jira(JiraError::Unauthorized { .. })));
                if !unauthorized || run.refreshed {
                    return run.gateway_refusal(step, first);
                }
                run.refreshed = true;
                tracing::info!(secret = %run.dest.api_token_secret, "Jira answered 401; reading the secret again in case it was rotated");
                let conn = self
                    .connect(run.dest, run.conn.as_ref(), work, meter)
                    .await
                    .map_err(StepError::Failed)?;
                run.conn = Some(conn);
                let again = self.jira_step(step, run, work, meter).await;
                return run.gateway_refusal(step, again);
            }
        };
        result.map_err(StepError::Ledger)
    }

    /// A Jira step over the run's connection; a create keeps the claim's lease alive.
    async fn jira_step(
        &self,
        step: &Step,
        run: &mut Run<'_>,
        cutoff: TokioInstant,
        meter: &Meter,
    ) -> Result<Reply, StepError> {
        let Some(conn) = run.conn.as_ref() else {
            return Err(StepError::Failed(
                Failure::panicked().at("a Jira step before connecting"),
            ));
        };
        match (step, run.claim.as_mut()) {
            (Step::Create { .. }, Some(h)) => {
                // Each try of the create checks the lease first.
                let holder = Mutex::new(h.clone());
                let created = retrying(Policy::Write, cutoff, meter, || async {
                    self.keep_lease(&holder, conn).await?;
                    self.attempt(step, conn, &[], cutoff, meter)
                        .await
                        .map_err(StepError::Jira)
                })
                .await;
                *h = holder.into_inner().unwrap_or_else(|p| p.into_inner());
                created
            }
            _ => self
                .send(step, conn, &run.recent, cutoff, meter)
                .await
                .map_err(StepError::Jira),
        }
    }

    /// A create is only sent while the claim's lease covers it: once retries have used
    /// the lease up, it is renewed first (and a claim taken over meanwhile stops the create).
    async fn keep_lease(
        &self,
        holder: &Mutex<Holder>,
        conn: &Connection<'_>,
    ) -> Result<(), StepError> {
        let mut current = holder.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if current.lease_until >= self.ledger.now_ms() + conn.timeout.as_millis() as u64 {
            return Ok(());
        }
        let lease = conn.timeout + LEASE_MARGIN;
        self.ledger
            .renew(&mut current, lease)
            .await
            .map_err(StepError::Ledger)?;
        *holder.lock().unwrap_or_else(|p| p.into_inner()) = current;
        Ok(())
    }

    /// Sends one Jira step, with the retry policy of its kind.
    /// `recent`: issue ids a search reads fresh (see `RECENT_IDS`).
    pub async fn send(
        &self,
        step: &Step,
        conn: &Connection<'_>,
        recent: &[String],
        cutoff: TokioInstant,
        meter: &Meter,
    ) -> Result<Reply, JiraError> {
        retrying(step.policy(), cutoff, meter, || {
            self.attempt(step, conn, recent, cutoff, meter)
        })
        .await
    }

    /// One try of one Jira step.
    async fn attempt(
        &self,
        step: &Step,
        conn: &Connection<'_>,
        recent: &[String],
        cutoff: TokioInstant,
        meter: &Meter,
    ) -> Result<Reply, JiraError> {
        let (jira, flavor, call) = (&self.jira, conn.flavor, conn.call(cutoff));
        match step {
            Step::Search { jql, max, .. } => meter
                .time(jira.search(call, flavor, jql, *max, recent))
                .await
                .map(Reply::Found),
            Step::Create { body } => meter
                .time(jira.create_issue(call, flavor, body))
                .await
                .map(Reply::Created),
            Step::Comment { key, body } => meter
                .time(jira.add_comment(call, flavor, key, body))
                .await
                .map(|()| Reply::Done),
            Step::EditLabels {
                key, add, remove, ..
            } => meter
                .time(jira.edit_labels(call, flavor, key, add, remove))
                .await
                .map(|()| Reply::Done),
            Step::Comments { key } => meter
                .time(jira.recent_comments(call, flavor, key))
                .await
                .map(Reply::Comments),
            Step::Transitions { key } => meter
                .time(jira.transitions(call, flavor, key))
                .await
                .map(Reply::Transitions),
            Step::Transition { key, body, .. } => meter
                .time(jira.transition(call, flavor, key, body))
                .await
                .map(|()| Reply::Done),
            // Not Jira requests: the executor handles them.
            Step::Claim { .. }
            | Step::Connect
            | Step::Record { .. }
            | Step::Release
            | Step::Wait(_) => Ok(Reply::Done),
        }
    }
}

type Lane = Arc<tokio::sync::Mutex<Vec<String>>>;

/// Issue ids a lane keeps: Cloud's search reads these fresh (`reconcileIssues`), so a run
/// sees what the previous run of its detection did even inside the index's lag.
const RECENT_IDS: usize = 20;

fn remember(recent: &mut Vec<String>, reply: &Reply) {
    let ids: Vec<&String> = match reply {
        Reply::Created(c) => vec![&c.id],
        Reply::Found(found) => found.iter().filter_map(|f| f.id.as_ref()).collect(),
        _ => return,
    };
    for id in ids.into_iter().filter(|id| !id.is_empty()) {
        recent.retain(|r| r != id);
        recent.insert(0, id.clone());
    }
    recent.truncate(RECENT_IDS);
}

/// Kept back from the cutoff so that recording an issue that was just created (or
/// releasing a claim) still fits: a tenth of the time left, 100 ms to 1 s.
fn bookkeeping_reserve(cutoff: TokioInstant) -> Duration {
    let left = cutoff.saturating_duration_since(TokioInstant::now());
    (left / 10)
        .clamp(Duration::from_millis(100), Duration::from_secs(1))
        .min(left / 2)
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
mod tests;
