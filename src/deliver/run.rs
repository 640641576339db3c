//! One delivery's state in the executor: its connection, its claim and what settles it,
//! the detection it tracks; how a refusal through the gateway reads, and its answer.

use super::{Connection, Delivery, Outcome, Plan, Reply, Status, Step, StepError};
use crate::alert::Destination;
use crate::jira::JiraError;
use crate::ledger::{Holder, Ledger};
use tokio::time::Instant as TokioInstant;

/// One delivery's state in the executor.
pub(super) struct Run<'a> {
    pub(super) dest: &'a Destination,
    pub(super) ledger: &'a Ledger,
    /// The claim was recorded, released or parked: nothing is left to settle.
    pub(super) settled: bool,
    /// A step that writes to Jira was sent (the claim cannot just be released).
    pub(super) wrote: bool,
    pub(super) conn: Option<Connection<'a>>,
    /// This delivery's claim token: the same for every try, so a claim whose answer was
    /// lost is recognised as ours.
    pub(super) token: String,
    pub(super) claim: Option<Holder>,
    pub(super) work_cutoff: TokioInstant,
    /// The secret was read again after a 401 (once per delivery).
    pub(super) refreshed: bool,
    /// Ids of the detection's issues this container saw or made lately (its lane's).
    pub(super) recent: Vec<String>,
    /// The detection's key in the ledger (its newest issue, see `newest`).
    pub(super) detection: String,
    /// The run looks at its detection's issues (group_repeats, lifecycle): the issues it
    /// creates are noted in the ledger.
    pub(super) tracks_detection: bool,
}

/// A delivery dropped at the invocation's deadline never settles its claim itself. In the
/// per-container ledger it is settled here, so that a later delivery in this container is
/// not held up by a claim whose invocation has ended: released when nothing was written to
/// Jira, else parked (taken over once the search index can show what was written). A
/// table's claim ends with its lease.
impl Drop for Run<'_> {
    fn drop(&mut self) {
        let (Some(h), Some(m), false) = (&self.claim, self.ledger.memory(), self.settled) else {
            return;
        };
        match self.wrote {
            true => m.park(h),
            false => m.release(h),
        }
    }
}

impl Run<'_> {
    /// Through the gateway, a 403 (or a 401 after the refresh) means a missing scope or a
    /// refused credential: said so, with the scope the step needed.
    pub(super) fn gateway_refusal(
        &self,
        step: &Step,
        result: Result<Reply, StepError>,
    ) -> Result<Reply, StepError> {
        let Some(conn) = self.conn.as_ref().filter(|c| c.via_gateway()) else {
            return result;
        };
        // A 403 is Jira's own permission answer: the usual fixes hold.
        match result {
            Err(StepError::Jira(e))
                if matches!(e, JiraError::Unauthorized { .. })
                    || crate::gateway::is_scope_refusal(&e) =>
            {
                let scope = crate::gateway::scope_needed(step.writes(), "");
                let scheme = conn.scheme.as_str();
                Err(StepError::Failed(crate::gateway::refused(e, scheme, scope)))
            }
            other => other,
        }
    }

    /// Issue URLs always use the destination's site.
    pub(super) fn delivered(&self, status: Status, issue_key: String, plan: &Plan) -> Outcome {
        Outcome::Delivered(Delivery {
            status,
            issue_url: self.dest.site.browse_url(&issue_key),
            issue_key,
            host: self.dest.site.host.clone(),
            notes: plan.notes().to_vec(),
            reason: plan.reason(),
        })
    }
}
