//! Parsing and issue building never panic on any JSON, and whatever they accept is built
//! within Jira's limits. Case count: PROPTEST_CASES (default 256 per property here).

use detection_jira::alert::{triage, Triage};
use detection_jira::issue::{build_issue, ApiFlavor, DESCRIPTION_LIMIT};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

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

fn alert_from(parts: (String, String, String, Vec<String>, Value, Value)) -> Value {
    let (name, description, severity, labels, extra_dest, extra_det) = parts;
    let mut a = json!({
        "destination": {"instance_url": "https://acme.atlassian.net", "email": "a@b.c", "api_token_secret": "s", "project_key": "SEC", "labels": labels},
        "detection": {"id": 1, "name": name, "description": description, "severity": severity, "outcome": "MATCHED", "errors": [description.clone()]}
    });
    for (target, extra) in [("destination", extra_dest), ("detection", extra_det)] {
        if let Value::Object(m) = extra {
            for (k, v) in m {
                a[target][k] = v;
            }
        }
    }
    a
}

fn check_built(v: &Value) {
    let Ok(Triage::Deliver(alert)) = triage(v) else {
        return;
    };
    let spec = build_issue(&alert, &["detection-run-x".into()]);
    for flavor in [ApiFlavor::V2, ApiFlavor::V3] {
        let body = spec.to_request(flavor);
        let f = &body["fields"];
        let summary = f["summary"].as_str().unwrap();
        assert!(summary.encode_utf16().count() <= 255);
        assert!(!summary.contains('\n') && !summary.contains('\r'));
        for l in f["labels"].as_array().unwrap() {
            let l = l.as_str().unwrap();
            assert!(
                !l.is_empty()
                    && !l.chars().any(char::is_whitespace)
                    && l.encode_utf16().count() <= 255,
                "{l:?}"
            );
        }
        let d = &f["description"];
        let len = match d {
            Value::String(s) => s.encode_utf16().count(),
            other => other.to_string().encode_utf16().count(),
        };
        assert!(len <= DESCRIPTION_LIMIT, "{flavor:?} {len}");
        if flavor == ApiFlavor::V3 {
            assert!(
                !d.to_string().contains(r#""text":"""#),
                "empty ADF text node"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_json_is_triaged_without_panic(v in any_json()) {
        let _ = triage(&v);
        check_built(&v);
        let wrapped = json!({"destination": v.clone(), "detection": v});
        let _ = triage(&wrapped);
    }

    #[test]
    fn accepted_alerts_stay_within_jira_limits(
        parts in (nasty_text(), nasty_text(), prop::sample::select(vec!["critical", "HIGH", "Medium", "low", "INFO", "bogus"]).prop_map(String::from),
                  prop::collection::vec(nasty_text(), 0..5), any_json(), any_json())
    ) {
        check_built(&alert_from(parts));
    }
}
