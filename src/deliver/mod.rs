//! Delivering one validated alert: `connect` (credentials, where they may go, which API)
//! then the executor, which runs the pure `plan` against `JiraApi` with one retry policy.
//! A 401 reads the secret again once (it may just have been rotated) and starts over.

mod connect;
mod fieldmeta;
mod lifecycle;
mod newest;
pub mod outcome;
mod plan;
mod run;
mod step;

pub use connect::{user_for, Connection, GatewayInfo};
pub use outcome::{Delivery, Outcome, Reason, Skip, Status};
pub use plan::{Next, Plan};
pub use step::{Link, Purpose, Reply, Stage, Step, StepError};

use run::Run;

use crate::alert::Alert;
use crate::cells::{lock, Cells};
use crate::failure::Failure;
use crate::gateway::Gateway;
use crate::hosts::AllowedHosts;
use crate::issue::ApiFlavor;
use crate::jira::{JiraApi, JiraError};
use crate::ledger::{Claim, Holder, Ledger, LEASE_MARGIN};
use crate::meter::Meter;
use crate::retry::{self, retrying, Policy};
use crate::secrets::{SecretCache, SecretSource};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant as TokioInstant;

pub struct Deliverer<J, S> {
    jira: J,
    secrets: SecretCache<S>,
    allowed: AllowedHosts,
    ledger: Ledger,
    /// API flavor per Jira base URL, detected once per container.
    flavors: Cells<tokio::sync::OnceCell<ApiFlavor>>,
    /// The Atlassian API gateway (scoped tokens, OAuth).
    gateway: Gateway,
    /// One lane per detection (site, project, detection id) for lifecycle runs, holding
    /// the ids of its issues this container saw or made lately.
    lanes: Cells<LaneCell>,
    /// Create screens' fields, per site, project and issue type.
    field_metas: Cells<fieldmeta::MetaSlot>,
}

impl<J: JiraApi, S: SecretSource> Deliverer<J, S> {
    pub fn new(jira: J, secrets: SecretCache<S>, allowed: AllowedHosts, ledger: Ledger) -> Self {
        Deliverer {
            jira,
            secrets,
            allowed,
            ledger,
            flavors: Cells::default(),
            gateway: Gateway::atlassian(),
            lanes: Cells::default(),
            field_metas: Cells::default(),
        }
    }

    /// Uses `gateway` (`ATLASSIAN_API_URL`, `ATLASSIAN_AUTH_URL`) instead of Atlassian's.
    pub fn with_gateway(mut self, gateway: Gateway) -> Self {
        self.gateway = gateway;
        self
    }

    /// The lane of the alert's detection, shared by its runs in this container.
    fn lane(&self, alert: &Alert) -> Lane {
        self.lanes.get(&detection_key(alert))
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
        let tracks_detection =
            alert.destination.lifecycle.active() || alert.destination.group_repeats;
        let mut lane = match tracks_detection {
            true => Some(self.lane(alert).lock_owned().await),
            false => None,
        };
        let mut run = Run {
            dest: &alert.destination,
            ledger: &self.ledger,
            settled: false,
            wrote: false,
            conn: None,
            token: crate::ledger::claim_token(),
            claim: None,
            refreshed: false,
            recent: lane.as_deref().cloned().unwrap_or_default(),
            detection: detection_key(alert),
            tracks_detection,
            // Time kept back after the work for the ledger's bookkeeping (record, release).
            work_cutoff: cutoff - bookkeeping_reserve(cutoff),
        };
        let now = (self.ledger.now_ms() / 1000) as i64;
        let mut plan =
            Plan::new(alert, self.ledger.is_shared(), now).allowing(self.ledger.allowance());
        let mut next = plan.start();
        loop {
            next = match next {
                Next::Finish(status, key) => return Ok(run.delivered(status, key, &plan)),
                Next::Skip(reason) => return Ok(Outcome::Skipped(reason)),
                Next::Fail(f) => return Err(f),
                Next::Send(step) => {
                    run.wrote |= step.writes();
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

    /// A read with credentials and retries (the destination check's metadata).
    pub async fn read(
        &self,
        conn: &Connection<'_>,
        path: &str,
        cutoff: TokioInstant,
        meter: &Meter,
    ) -> Result<serde_json::Value, JiraError> {
        retrying(Policy::Idempotent, cutoff, meter, || {
            meter.time(self.jira.get_json(conn.call(cutoff, meter), path))
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
                let claim = retrying(Policy::Idempotent, work, meter, || {
                    meter.time_ledger(ledger.claim(id, token, *lease))
                })
                .await;
                if let Ok(c) = &claim {
                    meter.claimed(c);
                }
                claim.map(Reply::Claimed)
            }
            (Step::Record { key }, Some(h)) => {
                run.settled = true;
                retrying(Policy::Idempotent, cutoff, meter, || {
                    meter.time_ledger(ledger.record(h, key))
                })
                .await
                .map(Reply::Recorded)
            }
            (Step::Park, Some(h)) => {
                run.settled = true;
                retrying(Policy::Idempotent, cutoff, meter, || {
                    meter.time_ledger(ledger.park(h))
                })
                .await
                .map(|()| Reply::Ack)
            }
            (Step::Release, Some(h)) => {
                run.settled = true;
                retrying(Policy::Idempotent, cutoff, meter, || {
                    meter.time_ledger(ledger.release(h))
                })
                .await
                .map(|()| Reply::Ack)
            }
            (Step::Record { .. }, None) => Ok(Reply::Recorded(crate::ledger::Recorded::Ours)),
            (Step::Release | Step::Park, None) => Ok(Reply::Ack),
            (Step::Wait(wait), _) => {
                if TokioInstant::now() + *wait + retry::MIN_ATTEMPT > work {
                    return Err(StepError::Failed(Failure::deadline()));
                }
                meter.retried();
                tokio::time::sleep(*wait).await;
                return Ok(Reply::Ack);
            }
            (Step::Connect, _) => {
                let conn = self
                    .connect(run.dest, None, work, meter)
                    .await
                    .map_err(StepError::Failed)?;
                let link = Link {
                    flavor: conn.flavor,
                    index_lags: conn.index_lags,
                };
                run.conn = Some(conn);
                return Ok(Reply::Connected(link));
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
        let recent = &run.recent;
        let reply = match (step, run.claim.as_mut()) {
            // Each try of a write checks the lease first (renewed once retries used it up).
            (_, Some(h)) if step.writes() => {
                let holder = Mutex::new(h.clone());
                let written = retrying(step.policy(), cutoff, meter, || async {
                    self.keep_lease(&holder, conn).await?;
                    self.attempt(step, conn, recent, cutoff, meter)
                        .await
                        .map_err(StepError::Jira)
                })
                .await;
                *h = holder.into_inner().unwrap_or_else(PoisonError::into_inner);
                written
            }
            (Step::FieldMeta, _) => self
                .field_meta(conn, run.dest, cutoff, meter)
                .await
                .map(Reply::Fields)
                .map_err(StepError::Jira),
            (Step::Search { purpose, query }, _) if purpose.of_detection() => {
                let known = self.newest_known(&run.detection).await;
                let found = self.send(step, conn, recent, cutoff, meter).await;
                match (found, known) {
                    (Ok(Reply::Found(found)), Some(key)) => {
                        let found = self
                            .with_newest(found, &key, *purpose, query, conn, cutoff, meter)
                            .await;
                        Ok(Reply::Found(found))
                    }
                    (other, _) => other.map_err(StepError::Jira),
                }
            }
            _ => self
                .send(step, conn, recent, cutoff, meter)
                .await
                .map_err(StepError::Jira),
        };
        if let (Ok(Reply::Created(c)), true) = (&reply, run.tracks_detection) {
            self.note_newest(&run.detection, &c.key).await;
        }
        reply
    }

    /// A write is only sent while the claim's lease covers it: once retries have used the
    /// lease up, it is renewed first (and a claim taken over meanwhile stops the write).
    async fn keep_lease(
        &self,
        holder: &Mutex<Holder>,
        conn: &Connection<'_>,
    ) -> Result<(), StepError> {
        let mut current = lock(holder).clone();
        if current.lease_until >= self.ledger.now_ms() + conn.timeout.as_millis() as u64 {
            return Ok(());
        }
        let lease = conn.timeout + LEASE_MARGIN;
        self.ledger
            .renew(&mut current, lease)
            .await
            .map_err(StepError::Ledger)?;
        *lock(holder) = current;
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
        let (jira, flavor, call) = (&self.jira, conn.flavor, conn.call(cutoff, meter));
        match step {
            Step::Search { query, .. } => meter
                .time(jira.search(call, flavor, query, recent))
                .await
                .map(Reply::Found),
            Step::Create { body } => meter
                .time(jira.create_issue(call, flavor, body))
                .await
                .map(Reply::Created),
            Step::Comment { key, body } => meter
                .time(jira.add_comment(call, flavor, key, body))
                .await
                .map(|()| Reply::Ack),
            Step::EditLabels {
                key, add, remove, ..
            } => meter
                .time(jira.edit_labels(call, flavor, key, add, remove))
                .await
                .map(|()| Reply::Ack),
            Step::Comments { key } => meter
                .time(jira.recent_comments(call, flavor, key))
                .await
                .map(Reply::Comments),
            Step::Transitions { key } => meter
                .time(jira.transitions(call, flavor, key))
                .await
                .map(Reply::Transitions),
            Step::Transition { key, choice, .. } => meter
                .time(jira.transition(call, flavor, key, choice))
                .await
                .map(|()| Reply::Ack),
            // Not Jira requests: the executor handles them.
            Step::Claim { .. }
            | Step::Connect
            | Step::Record { .. }
            | Step::Release
            | Step::Park
            | Step::FieldMeta
            | Step::Wait(_) => Ok(Reply::Ack),
        }
    }
}

type LaneCell = tokio::sync::Mutex<Vec<String>>;
type Lane = Arc<LaneCell>;

/// A detection in one project of one site: its lane, and its entry in the ledger.
fn detection_key(alert: &Alert) -> String {
    let dest = &alert.destination;
    format!(
        "{}|{}|{}",
        dest.site.base, dest.project_key, alert.detection.id
    )
}

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

#[cfg(test)]
mod tests;
