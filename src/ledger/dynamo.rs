//! The ledger in a DynamoDB table (partition key `id`, TTL attribute `expires_at`), shared
//! by every container. Each change is one conditional write, so two deliveries racing for
//! a run cannot both hold it.

use super::{busy_until, Claim, Clock, Holder, LedgerError, Recorded, ENTRY_TTL};
use crate::deferred::Deferred;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::time::Duration;

/// Names for every attribute in expressions, so none can clash with a reserved word.
const NAMES: [(&str, &str); 6] = [
    ("#id", "id"),
    ("#h", "holder"),
    ("#l", "lease_ms"),
    ("#k", "issue_key"),
    ("#e", "expires_at"),
    ("#t", "taken_over"),
];

pub struct DynamoLedger {
    client: Deferred<Client>,
    table: String,
    clock: Clock,
    takeover_ms: u64,
}

/// What a claim finds in the table.
struct Found {
    token: String,
    lease_until: u64,
    issue_key: Option<String>,
    /// The holder took the claim over (it must search Jira before creating).
    taken_over: bool,
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn names(used: &[&str]) -> HashMap<String, String> {
    NAMES
        .iter()
        .filter(|(k, _)| used.contains(k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `Ok(false)` for a failed condition; throttling and outages are `Unavailable`.
fn outcome<E: ProvideErrorMetadata, R>(
    result: Result<impl Sized, SdkError<E, R>>,
    condition_failed: impl Fn(&E) -> bool,
) -> Result<bool, LedgerError> {
    let e = match result {
        Ok(_) => return Ok(true),
        Err(e) => e,
    };
    if let SdkError::ServiceError(se) = &e {
        let err = se.err();
        if condition_failed(err) {
            return Ok(false);
        }
        let code = err.code().unwrap_or("unknown").to_string();
        // Configuration and credentials: retrying will not help.
        let refused = matches!(
            code.as_str(),
            "ResourceNotFoundException"
                | "AccessDeniedException"
                | "ValidationException"
                | "UnrecognizedClientException"
                | "InvalidSignatureException"
                | "ExpiredTokenException"
                | "MissingAuthenticationTokenException"
        );
        return Err(if refused {
            LedgerError::Refused(code)
        } else {
            LedgerError::Unavailable(code)
        });
    }
    let kind = match &e {
        SdkError::TimeoutError(_) => "timed out",
        SdkError::DispatchFailure(_) => "could not connect",
        SdkError::ResponseError(_) => "unreadable response",
        _ => "request failed",
    };
    Err(LedgerError::Unavailable(kind.into()))
}

impl DynamoLedger {
    pub fn new(client: Client, table: String, clock: Clock, takeover: Duration) -> Self {
        DynamoLedger::deferred(Deferred::ready(client), table, clock, takeover)
    }

    /// With a client still being built (in `main`, while the runtime starts).
    pub fn deferred(
        client: Deferred<Client>,
        table: String,
        clock: Clock,
        takeover: Duration,
    ) -> Self {
        DynamoLedger {
            client,
            table,
            clock,
            takeover_ms: takeover.as_millis() as u64,
        }
    }

    fn expires_at(&self) -> u64 {
        ((self.clock)() / 1000) + ENTRY_TTL.as_secs()
    }

    pub fn now_ms(&self) -> u64 {
        (self.clock)()
    }

    pub fn allowance(&self) -> Duration {
        Duration::from_millis(self.takeover_ms)
    }

    pub async fn claim(
        &self,
        id: &str,
        token: &str,
        lease: Duration,
    ) -> Result<Claim, LedgerError> {
        // A few rounds at most: each lost race means someone else moved the entry on.
        for _ in 0..3 {
            let now = (self.clock)();
            let holder = Holder::new(id, token, now + lease.as_millis() as u64);
            if self.put_claim(&holder, None, false).await? {
                return Ok(Claim::Fresh(holder));
            }
            let Some(found) = self.get(id).await? else {
                continue; // released meanwhile
            };
            if let Some(key) = found.issue_key {
                return Ok(Claim::Recorded(key));
            }
            let ours = found.token == token;
            if !ours && found.lease_until + self.takeover_ms > now {
                let until_ms = busy_until(found.lease_until, self.takeover_ms);
                return Ok(Claim::Busy { until_ms });
            }
            // Our own claim (an earlier try whose answer was lost: a fresh claim, or a
            // take-over, which the entry remembers), or an expired one: swapped only if
            // neither holder nor lease changed since it was read, so a renewal racing this
            // take-over wins.
            let taken_over = !ours || found.taken_over;
            if self.put_claim(&holder, Some(&found), taken_over).await? {
                return Ok(match taken_over {
                    true => Claim::TakeOver(holder),
                    false => Claim::Fresh(holder),
                });
            }
        }
        let until_ms = (self.clock)() + 1_000;
        Ok(Claim::Busy { until_ms })
    }

    /// Writes a claim: on an empty slot, or over the claim `previous` as it was read.
    async fn put_claim(
        &self,
        h: &Holder,
        previous: Option<&Found>,
        taken_over: bool,
    ) -> Result<bool, LedgerError> {
        let mut req = self
            .client
            .get()
            .await
            .put_item()
            .table_name(&self.table)
            .item("id", s(&h.id))
            .item("holder", s(&h.token))
            .item("lease_ms", n(h.lease_until))
            .item("expires_at", n(self.expires_at()));
        if taken_over {
            req = req.item("taken_over", AttributeValue::Bool(true));
        }
        req = match previous {
            None => req
                .condition_expression("attribute_not_exists(#id)")
                .set_expression_attribute_names(Some(names(&["#id"]))),
            Some(prev) => req
                .condition_expression("#h = :prev AND #l = :lease AND attribute_not_exists(#k)")
                .set_expression_attribute_names(Some(names(&["#h", "#l", "#k"])))
                .expression_attribute_values(":prev", s(&prev.token))
                .expression_attribute_values(":lease", n(prev.lease_until)),
        };
        outcome(req.send().await, |e| {
            e.is_conditional_check_failed_exception()
        })
    }

    async fn get(&self, id: &str) -> Result<Option<Found>, LedgerError> {
        let result = self
            .client
            .get()
            .await
            .get_item()
            .table_name(&self.table)
            .key("id", s(id))
            .consistent_read(true)
            .send()
            .await;
        let item = match result {
            Ok(out) => out.item,
            Err(e) => {
                outcome(Err::<(), _>(e), |_| false)?;
                None
            }
        };
        let Some(item) = item else { return Ok(None) };
        let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
        let number = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
        };
        Ok(Some(Found {
            token: text("holder").unwrap_or_default(),
            lease_until: number("lease_ms").unwrap_or(0),
            issue_key: text("issue_key"),
            taken_over: item
                .get("taken_over")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
        }))
    }

    /// An update of the entry `id`.
    async fn update(&self, id: &str) -> UpdateItemFluentBuilder {
        self.client
            .get()
            .await
            .update_item()
            .table_name(&self.table)
            .key("id", s(id))
    }

    pub async fn renew(&self, holder: &mut Holder, lease: Duration) -> Result<(), LedgerError> {
        let lease_until = (self.clock)() + lease.as_millis() as u64;
        if self.set_lease(holder, lease_until).await? {
            holder.lease_until = lease_until;
            Ok(())
        } else {
            Err(LedgerError::Lost)
        }
    }

    /// Moves the lease's end while `holder` holds the claim and no issue is recorded;
    /// `Ok(false)` when it does not.
    async fn set_lease(&self, holder: &Holder, lease_until: u64) -> Result<bool, LedgerError> {
        let result = self
            .update(&holder.id)
            .await
            .update_expression("SET #l = :l")
            .condition_expression("#h = :me AND attribute_not_exists(#k)")
            .set_expression_attribute_names(Some(names(&["#l", "#h", "#k"])))
            .expression_attribute_values(":l", n(lease_until))
            .expression_attribute_values(":me", s(&holder.token))
            .send()
            .await;
        outcome(result, |e| e.is_conditional_check_failed_exception())
    }

    /// Records the run's issue while this delivery holds the claim and none is recorded.
    pub async fn record(&self, holder: &Holder, issue_key: &str) -> Result<Recorded, LedgerError> {
        let result = self
            .update(&holder.id)
            .await
            .update_expression("SET #k = :k, #e = :e REMOVE #l")
            .condition_expression("#h = :me AND attribute_not_exists(#k)")
            .set_expression_attribute_names(Some(names(&["#k", "#e", "#l", "#h"])))
            .expression_attribute_values(":k", s(issue_key))
            .expression_attribute_values(":e", n(self.expires_at()))
            .expression_attribute_values(":me", s(&holder.token))
            .send()
            .await;
        if outcome(result, |e| e.is_conditional_check_failed_exception())? {
            return Ok(Recorded::Ours);
        }
        // Recorded already (by this delivery, whose answer was lost, or by another), or
        // taken over: the entry says which.
        Ok(match self.get(&holder.id).await? {
            Some(Found {
                issue_key: Some(key),
                ..
            }) if key == issue_key => Recorded::Ours,
            Some(Found {
                issue_key: Some(key),
                ..
            }) => Recorded::Other(key),
            _ => Recorded::Lost,
        })
    }

    /// The lease ends now (see `Ledger::park`), while this delivery still holds it.
    pub async fn park(&self, holder: &Holder) -> Result<(), LedgerError> {
        // A claim lost meanwhile is left alone.
        self.set_lease(holder, (self.clock)()).await.map(|_| ())
    }

    /// A detection's entry: `detection|<site>|<project>|<detection id>`, apart from the
    /// runs' entries (whose ids are `<site>|<fingerprint label>`).
    fn detection_id(detection: &str) -> String {
        format!("detection|{detection}")
    }

    pub async fn newest_issue(&self, detection: &str) -> Result<Option<String>, LedgerError> {
        let found = self.get(&Self::detection_id(detection)).await?;
        Ok(found.and_then(|f| f.issue_key))
    }

    pub async fn note_newest(&self, detection: &str, key: &str) -> Result<(), LedgerError> {
        let result = self
            .client
            .get()
            .await
            .put_item()
            .table_name(&self.table)
            .item("id", s(&Self::detection_id(detection)))
            .item("issue_key", s(key))
            .item("expires_at", n(self.expires_at()))
            .send()
            .await;
        outcome(result, |_| false).map(|_| ())
    }

    pub async fn release(&self, holder: &Holder) -> Result<(), LedgerError> {
        let result = self
            .client
            .get()
            .await
            .delete_item()
            .table_name(&self.table)
            .key("id", s(&holder.id))
            .condition_expression("#h = :me AND attribute_not_exists(#k)")
            .set_expression_attribute_names(Some(names(&["#h", "#k"])))
            .expression_attribute_values(":me", s(&holder.token))
            .send()
            .await;
        outcome(result, |e| e.is_conditional_check_failed_exception()).map(|_| ())
    }
}
