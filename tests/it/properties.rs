//! Properties of parsing and issue building. Case count: PROPTEST_CASES (default 256).
//!
//! - Any JSON at all is triaged without a panic (and if accepted, built within limits).
//! - Alerts that are valid in most cases (hostile text in every free-text field, unknown
//!   fields, lists longer than what is kept) are built within Jira's limits; the test
//!   checks that most generated alerts were accepted, so that it tests the builder and not
//!   only the validation.

use detection_jira::alert::{triage, Triage};
use detection_jira::issue::{build_issue, ApiFlavor, DESCRIPTION_LIMIT};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Jira's limits on a single label and on the summary, in UTF-16 code units.
const LABEL_LIMIT: usize = 255;
const SUMMARY_LIMIT: usize = 255;

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Text that stresses the builder: markup, control characters, newlines, emoji, length.
fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,300}",
        "[\\*_\\{\\}\\[\\]\\|!#\\-\\n\\r\\t\u{0}\u{7f}\u{202e}😀 a-z]{0,500}",
        (1usize..40_000).prop_map(|n| "x\"\\<".repeat(n / 4 + 1)),
    ]
}

/// A severity as the contract allows it: any case.
fn severity() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"]),
        any::<bool>(),
    )
        .prop_map(|(s, lower)| {
            if lower {
                s.to_lowercase()
            } else {
                s.to_string()
            }
        })
}

/// Adds `extra`'s members (unknown fields, which must be ignored) to `target`.
fn merge_unknown(target: &mut Value, extra: Value) {
    if let Value::Object(m) = extra {
        for (k, v) in m {
            if target.get(&k).is_none() {
                target[k] = v;
            }
        }
    }
}

/// Alerts that pass validation in most cases: required fields present and well formed,
/// hostile text everywhere the contract takes free text.
fn mostly_valid_alert() -> impl Strategy<Value = Value> {
    let destination = (
        "[A-Z][A-Z0-9_]{0,9}",
        prop::collection::vec(nasty_text(), 0..5),
        prop::option::of(prop::collection::btree_map(
            severity(),
            "[A-Za-z][A-Za-z ]{0,20}",
            0..5,
        )),
        any::<bool>(),
    )
        .prop_map(|(project_key, labels, priority_map, group_repeats)| {
            let mut d = json!({
                "instance_url": "https://acme.atlassian.net",
                "email": "a@b.c",
                "api_token_secret": "jira/secops",
                "project_key": project_key,
                "labels": labels,
                "group_repeats": group_repeats,
            });
            if let Some(map) = priority_map {
                d["priority_map"] = json!(map);
            }
            // Unknown destination keys are refused (a typo must not pass silently).
            d
        });
    let detection = (
        prop_oneof![
            any::<i64>().prop_map(|n| json!(n)),
            "[a-z0-9-]{1,20}".prop_map(|s| json!(s))
        ],
        nasty_text(),
        prop::option::of(nasty_text()),
        severity(),
        prop::option::of(any::<i64>()),
        prop::option::of(nasty_text()),
        // A replay URL is a URL (anything else is refused); its path may be hostile.
        prop::option::of(
            "[A-Za-z0-9{}|!<>\\\"^`%*_#\\[\\]-]{0,200}"
                .prop_map(|p| format!("https://app.example.com/{p}")),
        ),
        prop::collection::vec(".{0,80}", 0..60),
        prop::option::of((nasty_text(), nasty_text())),
        prop::option::of(nasty_text()),
        any_json(),
    )
        .prop_map(
            |(
                id,
                name,
                description,
                severity,
                match_count,
                search_id,
                replay_url,
                errors,
                time_range,
                operator,
                extra,
            )| {
                let mut d = json!({
                    "id": id,
                    "name": name,
                    "severity": severity,
                    "outcome": "MATCHED",
                    "errors": errors,
                });
                let mut set = |k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        d[k] = v;
                    }
                };
                set("description", description.map(Value::String));
                set("match_count", match_count.map(|n| json!(n)));
                set("search_id", search_id.map(Value::String));
                set("replay_url", replay_url.map(Value::String));
                set(
                    "time_range",
                    time_range.map(|(start, end)| json!({"start": start, "end": end})),
                );
                set(
                    "threshold",
                    operator.map(|op| json!({"operator": op, "value": 0, "eagerness": "EAGER"})),
                );
                merge_unknown(&mut d, extra);
                d
            },
        );
    (destination, detection).prop_map(
        |(destination, detection)| json!({"destination": destination, "detection": detection}),
    )
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Whether `v` was accepted for delivery; if so, its issue must be within Jira's limits in
/// both API flavors.
fn check_built(v: &Value) -> Result<bool, TestCaseError> {
    let Ok(Triage::Deliver(alert)) = triage(v) else {
        return Ok(false);
    };
    let spec = build_issue(&alert, &["detection-run-x".into()]);
    for flavor in [ApiFlavor::V2, ApiFlavor::V3] {
        let body: Value = serde_json::from_str(&spec.to_body(flavor)).unwrap();
        let f = &body["fields"];
        let summary = f["summary"].as_str().unwrap_or_default();
        prop_assert!(!summary.trim().is_empty(), "blank summary");
        prop_assert!(utf16_len(summary) <= SUMMARY_LIMIT, "summary {summary:?}");
        prop_assert!(
            !summary.contains('\n') && !summary.contains('\r'),
            "summary on two lines: {summary:?}"
        );
        let labels = f["labels"].as_array().cloned().unwrap_or_default();
        prop_assert!(!labels.is_empty(), "the base label is always there");
        for l in labels {
            let l = l.as_str().unwrap_or_default().to_string();
            prop_assert!(
                !l.is_empty()
                    && !l.chars().any(char::is_whitespace)
                    && utf16_len(&l) <= LABEL_LIMIT,
                "label {l:?}"
            );
        }
        let d = &f["description"];
        let len = match (flavor, d) {
            (ApiFlavor::V2, Value::String(s)) => utf16_len(s),
            (ApiFlavor::V3, Value::Object(_)) => utf16_len(&d.to_string()),
            _ => return Err(TestCaseError::fail(format!("{flavor:?} description {d}"))),
        };
        prop_assert!(len <= DESCRIPTION_LIMIT, "{flavor:?} description {len}");
        if flavor == ApiFlavor::V3 {
            prop_assert!(
                !d.to_string().contains(r#""text":"""#),
                "empty ADF text node"
            );
        }
    }
    Ok(true)
}

proptest! {
    #[test]
    fn any_json_is_triaged_without_panic(v in any_json()) {
        let _ = triage(&v);
        check_built(&v)?;
        let wrapped = json!({"destination": v.clone(), "detection": v});
        let _ = triage(&wrapped);
    }
}

#[test]
fn accepted_alerts_stay_within_jira_limits() {
    let cases = AtomicUsize::new(0);
    let accepted = AtomicUsize::new(0);
    TestRunner::new(ProptestConfig::default())
        .run(&mostly_valid_alert(), |alert| {
            cases.fetch_add(1, Ordering::Relaxed);
            if check_built(&alert)? {
                accepted.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
        .unwrap();
    let (cases, accepted) = (cases.into_inner(), accepted.into_inner());
    assert!(
        accepted * 10 >= cases * 9,
        "only {accepted} of {cases} generated alerts were accepted: the property would test validation, not the builder"
    );
}
