//! Labels that let the function find its own issues again: the run fingerprint (one
//! detection run in one project) and the detection label (every run of one detection).

use crate::alert::Alert;
use crate::issue::text::clean_label;
use sha2::{Digest, Sha256};

/// The label that identifies one detection run in its project (the same project,
/// detection id, ran_at and search_id give the same label).
pub fn fingerprint_label(alert: &Alert) -> String {
    let det = &alert.detection;
    let mut h = Sha256::new();
    h.update(alert.destination.project_key.as_bytes());
    h.update([0]);
    h.update(det.id.as_bytes());
    if let Some(content) = &det.run_content {
        // Nothing tells runs apart: the whole detection stands in, so an identical
        // redelivery still matches.
        h.update([1]);
        h.update(content.as_bytes());
    } else {
        for part in [&det.ran_at, &det.search_id] {
            h.update([0]);
            h.update(part.as_deref().unwrap_or("").as_bytes());
        }
    }
    let digest = h.finalize();
    let hex: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
    format!("detection-run-{hex}")
}

/// The label shared by every run of one detection.
pub fn detection_label(alert: &Alert) -> String {
    clean_label(&format!("detection-id-{}", alert.detection.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{triage, Triage};
    use serde_json::json;

    fn alert(det: serde_json::Value) -> Alert {
        let v = json!({
            "destination": {"instance_url": "https://a.atlassian.net", "api_token_secret": "s", "project_key": "SEC"},
            "detection": det
        });
        match triage(&v).unwrap() {
            Triage::Deliver(a) => *a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fingerprint_is_stable_and_tells_runs_apart() {
        let base = json!({"id": 1, "name": "n", "severity": "LOW", "outcome": "MATCHED", "ran_at": "2026-01-01T00:00:00Z", "search_id": "s1"});
        let a = fingerprint_label(&alert(base.clone()));
        let mut renamed = base.clone();
        renamed["name"] = json!("renamed");
        assert_eq!(
            a,
            fingerprint_label(&alert(renamed)),
            "same run, other text"
        );
        let mut later = base.clone();
        later["ran_at"] = json!("2026-01-01T01:00:00Z");
        assert_ne!(a, fingerprint_label(&alert(later)));
        let mut other_search = base.clone();
        other_search["search_id"] = json!("s2");
        assert_ne!(a, fingerprint_label(&alert(other_search)));
        assert!(a.starts_with("detection-run-") && a.len() == "detection-run-".len() + 20);
        // Without ran_at and search_id, the content decides.
        let bare = json!({"id": 1, "name": "n", "severity": "LOW", "outcome": "MATCHED"});
        let mut bare2 = bare.clone();
        bare2["match_count"] = json!(3);
        assert_eq!(
            fingerprint_label(&alert(bare.clone())),
            fingerprint_label(&alert(bare.clone()))
        );
        assert_ne!(
            fingerprint_label(&alert(bare)),
            fingerprint_label(&alert(bare2))
        );
    }

    #[test]
    fn detection_labels_hold_no_whitespace() {
        let a = alert(json!({"id": "det 7", "name": "n", "severity": "LOW", "outcome": "MATCHED"}));
        assert_eq!(detection_label(&a), "detection-id-det-7");
    }
}
