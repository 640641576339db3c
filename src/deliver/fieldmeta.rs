//! The fields of a create screen (`createmeta`), read once per site, project and issue
//! type and kept for ten minutes inside the container: a warm alert with `fields` still
//! costs one create. Concurrent alerts of one screen wait for one read.

use super::Deliverer;
use crate::alert::Destination;
use crate::deliver::Connection;
use crate::issue::convert::FieldMeta;
use crate::jira::{parse_create_fields, parse_issue_types, JiraApi, JiraError, Page};
use crate::meter::Meter;
use crate::secrets::SecretSource;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long a screen's fields are reused.
pub const FIELD_META_TTL: Duration = Duration::from_secs(600);
/// Pages read at most (of 50): a screen with more fields than this is not a real one.
const MAX_PAGES: usize = 20;

/// A create screen's fields, and when they were read.
pub type MetaSlot = tokio::sync::Mutex<Option<(Instant, Arc<Vec<FieldMeta>>)>>;

impl<J: JiraApi, S: SecretSource> Deliverer<J, S> {
    /// The fields of the destination's create screen (none when Jira has no such issue
    /// type in the project: the create then says so itself).
    pub async fn field_meta(
        &self,
        conn: &Connection<'_>,
        dest: &Destination,
        cutoff: Instant,
        meter: &Meter,
    ) -> Result<Arc<Vec<FieldMeta>>, JiraError> {
        let key = format!(
            "{}|{}|{}",
            dest.site.base,
            dest.project_key,
            dest.issue_type.to_lowercase()
        );
        let cell = self.field_metas.get(&key);
        let Ok(mut slot) = tokio::time::timeout_at(cutoff, cell.lock()).await else {
            return Err(JiraError::NoAnswer {
                detail: "no time left to read the create screen's fields".into(),
            });
        };
        if let Some((at, meta)) = slot
            .as_ref()
            .filter(|(at, _)| at.elapsed() < FIELD_META_TTL)
        {
            tracing::debug!(
                read_ms = at.elapsed().as_millis() as u64,
                "create screen fields from cache"
            );
            return Ok(meta.clone());
        }
        let base = format!(
            "{}/issue/createmeta/{}/issuetypes",
            conn.flavor.path(),
            dest.project_key
        );
        let mut type_id = None;
        self.pages(conn, &base, cutoff, meter, parse_issue_types, |types| {
            type_id = types
                .iter()
                .find(|(_, name)| name.eq_ignore_ascii_case(&dest.issue_type))
                .map(|(id, _)| id.clone());
            type_id.is_none()
        })
        .await?;
        // The id goes into the next path: Jira's ids are digits, and nothing else is used.
        let Some(type_id) =
            type_id.filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        else {
            return Ok(Arc::new(Vec::new()));
        };
        let mut fields = Vec::new();
        let path = format!("{base}/{type_id}");
        self.pages(conn, &path, cutoff, meter, parse_create_fields, |page| {
            fields.extend(page.iter().cloned());
            true
        })
        .await?;
        let meta = Arc::new(fields);
        *slot = Some((Instant::now(), meta.clone()));
        Ok(meta)
    }

    /// Reads the pages of `path` while `more` says to go on and Jira has more.
    async fn pages<T>(
        &self,
        conn: &Connection<'_>,
        path: &str,
        cutoff: Instant,
        meter: &Meter,
        parse: fn(&Value) -> Option<Page<T>>,
        mut more: impl FnMut(&[T]) -> bool,
    ) -> Result<(), JiraError> {
        let mut start = 0;
        for _ in 0..MAX_PAGES {
            let url = format!("{path}?startAt={start}&maxResults=50");
            let v = self.read(conn, &url, cutoff, meter).await?;
            let page = parse(&v).ok_or_else(|| JiraError::BadResponse {
                detail: format!("{path} answered without its list"),
            })?;
            start += page.items.len();
            if !more(&page.items) || !page.more {
                break;
            }
        }
        Ok(())
    }
}
