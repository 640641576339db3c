//! The alert contract's parsing: the cases of round one (one problem each), and in
//! `contract` those of round two (names checked, limits, every problem at once).

mod contract;

use super::*;
use serde_json::json;

pub(super) fn sample() -> Value {
    json!({
        "destination": {
            "instance_url": "https://acme.atlassian.net/",
            "email": "bot@acme.example",
            "api_token_secret": "jira/secops",
            "project_key": "SEC",
            "labels": ["team-blue"]
        },
        "detection": {
            "id": 4211,
            "name": "Impossible travel",
            "severity": "high",
            "outcome": "MATCHED"
        }
    })
}

pub(super) fn deliver(v: &Value) -> Alert {
    match triage(v).expect("valid") {
        Triage::Deliver(a) => *a,
        other => panic!("expected delivery, got {other:?}"),
    }
}

pub(super) fn error_of(v: &Value) -> AlertError {
    triage(v).expect_err("should be refused")
}

/// The field of the one problem of a refused alert.
pub(super) fn field_of(v: &Value) -> String {
    let e = error_of(v);
    assert_eq!(e.problems.len(), 1, "{e}");
    e.problems[0].field.clone()
}

#[test]
fn valid_alert_gets_defaults() {
    let a = deliver(&sample());
    assert_eq!(a.destination.site.base, "https://acme.atlassian.net");
    assert_eq!(a.destination.issue_type, "Task");
    assert_eq!(a.destination.timeout, Duration::from_secs(30));
    assert_eq!(a.destination.api_version, ApiVersion::Auto);
    assert_eq!(a.destination.priority, PriorityRule::ProjectDefault);
    assert_eq!(a.detection.severity, Severity::High);
    assert_eq!(a.detection.numeric_id, Some(4211));
}

#[test]
fn lower_case_severity_and_outcome_are_accepted() {
    let mut v = sample();
    v["detection"]["severity"] = json!(" critical ");
    v["detection"]["outcome"] = json!("matched");
    assert_eq!(deliver(&v).detection.severity, Severity::Critical);
}

#[test]
fn unknown_severity_names_the_field() {
    let mut v = sample();
    v["detection"]["severity"] = json!("SEVERE");
    let e = error_of(&v);
    assert_eq!(e.fields(), ["detection.severity"]);
    assert!(e.fix().contains("CRITICAL"));
}

#[test]
fn not_matched_and_disabled_are_skipped() {
    let mut v = sample();
    v["detection"]["outcome"] = json!("NOT_MATCHED");
    assert!(matches!(triage(&v).unwrap(), Triage::Skip { .. }));
    let mut v = sample();
    v["destination"]["enabled"] = json!(false);
    // Even with a broken destination: a disabled destination is never used.
    v["destination"]["project_key"] = json!("bad key");
    match triage(&v).unwrap() {
        Triage::Skip {
            reason,
            detection_id,
        } => {
            assert_eq!(reason, Ignored::Disabled);
            assert!(reason.text().contains("disabled"));
            assert_eq!(detection_id.as_deref(), Some("4211"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn inline_credentials_are_refused_even_when_disabled() {
    for key in ["api_token", "password", "token"] {
        let mut v = sample();
        v["destination"][key] = json!("s3cr3t-value");
        v["destination"]["enabled"] = json!(false);
        let e = error_of(&v);
        assert_eq!(e.fields(), [format!("destination.{key}")]);
        assert!(e.fix().contains("Secrets Manager"));
        assert!(!e.to_string().contains("s3cr3t-value"));
    }
}

#[test]
fn missing_required_fields_are_named() {
    for (path, field) in [
        ("destination", "instance_url"),
        ("destination", "api_token_secret"),
        ("destination", "project_key"),
        ("detection", "id"),
        ("detection", "name"),
        ("detection", "severity"),
        ("detection", "outcome"),
    ] {
        let mut v = sample();
        v[path].as_object_mut().unwrap().remove(field);
        let e = error_of(&v);
        assert_eq!(e.fields(), [format!("{path}.{field}")], "{e}");
    }
    let e = error_of(&json!({"detection": {}}));
    assert_eq!(e.fields(), ["destination"]);
    let e = error_of(&json!([1, 2]));
    assert_eq!(e.fields(), ["alert"]);
}

#[test]
fn project_key_must_be_upper_case() {
    for bad in ["sec", "1SEC", "SE C", "SEC-1", ""] {
        let mut v = sample();
        v["destination"]["project_key"] = json!(bad);
        assert_eq!(field_of(&v), "destination.project_key", "{bad}");
    }
    let mut v = sample();
    v["destination"]["project_key"] = json!("SEC_2");
    deliver(&v);
}

#[test]
fn priority_rules() {
    let sev = Severity::Critical;
    // Neither: project default.
    assert_eq!(
        deliver(&sample()).destination.priority.priority_for(sev),
        None
    );
    // Fixed.
    let mut v = sample();
    v["destination"]["priority"] = json!("Urgent");
    assert_eq!(
        deliver(&v)
            .destination
            .priority
            .priority_for(sev)
            .as_deref(),
        Some("Urgent")
    );
    // Map with lower-case keys, falling back to the default table.
    let mut v = sample();
    v["destination"]["priority_map"] = json!({"critical": "P1"});
    let rule = deliver(&v).destination.priority;
    assert_eq!(rule.priority_for(Severity::Critical).as_deref(), Some("P1"));
    assert_eq!(rule.priority_for(Severity::High).as_deref(), Some("High"));
    assert_eq!(rule.priority_for(Severity::Info).as_deref(), Some("Lowest"));
    // Empty map: the default table.
    let mut v = sample();
    v["destination"]["priority_map"] = json!({});
    let rule = deliver(&v).destination.priority;
    for (s, p) in [
        (Severity::Critical, "Highest"),
        (Severity::High, "High"),
        (Severity::Medium, "Medium"),
        (Severity::Low, "Low"),
        (Severity::Info, "Lowest"),
    ] {
        assert_eq!(rule.priority_for(s).as_deref(), Some(p));
    }
    // Both: configuration error.
    let mut v = sample();
    v["destination"]["priority"] = json!("High");
    v["destination"]["priority_map"] = json!({});
    assert_eq!(field_of(&v), "destination.priority");
    // Bad map entries.
    let mut v = sample();
    v["destination"]["priority_map"] = json!({"URGENT": "P1"});
    assert!(field_of(&v).starts_with("destination.priority_map"));
    let mut v = sample();
    v["destination"]["priority_map"] = json!({"HIGH": 3});
    assert!(field_of(&v).starts_with("destination.priority_map"));
}

#[test]
fn timeout_bounds() {
    for (t, ok) in [
        (json!(1), true),
        (json!(300), true),
        (json!(0), false),
        (json!(301), false),
        (json!("30"), false),
    ] {
        let mut v = sample();
        v["destination"]["timeout"] = t.clone();
        assert_eq!(triage(&v).is_ok(), ok, "{t}");
    }
}

#[test]
fn api_version_values() {
    for (val, want) in [
        (json!("auto"), Some(ApiVersion::Auto)),
        (json!("2"), Some(ApiVersion::V2)),
        (json!(3), Some(ApiVersion::V3)),
        (json!("4"), None),
    ] {
        let mut v = sample();
        v["destination"]["api_version"] = val;
        match want {
            Some(w) => assert_eq!(deliver(&v).destination.api_version, w),
            None => assert_eq!(field_of(&v), "destination.api_version"),
        }
    }
}

#[test]
fn custom_fields_links_and_parent() {
    let mut v = sample();
    v["destination"]["custom_fields"] =
        json!({"detection_id": "customfield_10050", "severity": "customfield_10051"});
    v["destination"]["links"] = json!([{"type": "Relates", "key": "SEC-42"}]);
    v["destination"]["parent_key"] = json!("SEC-1");
    let a = deliver(&v);
    assert_eq!(
        a.destination.custom_fields.detection_id.as_deref(),
        Some("customfield_10050")
    );
    assert_eq!(a.destination.links[0].key, "SEC-42");

    let mut bad = v.clone();
    bad["destination"]["custom_fields"] = json!({"owner": "customfield_1"});
    assert!(field_of(&bad).starts_with("destination.custom_fields"));
    let mut bad = v.clone();
    bad["destination"]["custom_fields"] = json!({"severity": "Severity"});
    assert!(field_of(&bad).starts_with("destination.custom_fields"));
    let mut bad = v.clone();
    bad["destination"]["links"] = json!([{"type": "Relates"}]);
    assert_eq!(field_of(&bad), "destination.links[0]");
    let mut bad = v.clone();
    bad["destination"]["parent_key"] = json!("not a key");
    assert_eq!(field_of(&bad), "destination.parent_key");
    // A number field needs a numeric detection id.
    let mut bad = v.clone();
    bad["detection"]["id"] = json!("det-abc");
    assert_eq!(field_of(&bad), "destination.custom_fields.detection_id");
}

#[test]
fn wrong_types_are_named() {
    for (path, field, val) in [
        ("destination", "labels", json!("a,b")),
        ("destination", "enabled", json!("false")),
        ("destination", "group_repeats", json!(1)),
        ("detection", "match_count", json!("17")),
        ("detection", "threshold", json!(5)),
    ] {
        let mut v = sample();
        v[path][field] = val;
        assert_eq!(field_of(&v), format!("{path}.{field}"));
    }
}

#[test]
fn error_messages_quote_values_briefly() {
    let mut v = sample();
    v["destination"]["project_key"] = json!("x".repeat(10_000));
    let e = error_of(&v);
    assert!(e.to_string().len() < 500, "{}", e.to_string().len());
}
