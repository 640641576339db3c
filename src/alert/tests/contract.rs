//! Round two of the contract (sections 8 and 12): keys checked by name, limits, replay
//! URLs, and every problem reported at once.

use super::{deliver, error_of, field_of, sample};
use crate::alert::*;
use serde_json::json;

fn problem_of(v: &Value) -> Problem {
    let e = error_of(v);
    assert_eq!(e.problems.len(), 1, "{e}");
    e.problems[0].clone()
}

#[test]
fn a_misspelt_destination_key_is_refused_with_the_field_meant() {
    let mut v = sample();
    v["destination"]["lables"] = json!(["x"]);
    let p = problem_of(&v);
    assert_eq!(p.field, "destination.lables");
    assert_eq!(
        p.problem,
        "is not a destination field; did you mean labels?"
    );
    assert_eq!(p.fix, "rename it to labels");

    let mut v = sample();
    v["destination"]["owner"] = json!("team-blue");
    let p = problem_of(&v);
    assert_eq!(p.field, "destination.owner");
    assert_eq!(p.problem, "is not a destination field");
    assert!(p.fix.contains("project_key"), "{}", p.fix);
}

#[test]
fn the_lifecycle_fields_are_read_and_checked() {
    let mut v = sample();
    v["destination"]["resolve_when_clear"] = json!(true);
    v["destination"]["resolve_transition"] = json!(31);
    v["destination"]["reopen_within_hours"] = json!(24);
    v["destination"]["max_issues_per_hour"] = json!(2);
    let life = deliver(&v).destination.lifecycle;
    assert_eq!(
        life,
        Lifecycle {
            resolve_when_clear: true,
            resolve_transition: Some("31".into()),
            reopen_within_hours: 24,
            max_issues_per_hour: Some(2),
        }
    );
    assert!(life.active());
    assert!(!deliver(&sample()).destination.lifecycle.active());

    for (key, bad) in [
        ("resolve_when_clear", json!("yes")),
        ("resolve_transition", json!("")),
        ("resolve_transition", json!(["Done"])),
        ("reopen_within_hours", json!(-1)),
        ("reopen_within_hours", json!(1.5)),
        ("reopen_within_hours", json!(9000)),
        ("max_issues_per_hour", json!(0)),
        ("max_issues_per_hour", json!("2")),
    ] {
        let mut v = sample();
        v["destination"][key] = bad.clone();
        assert_eq!(field_of(&v), format!("destination.{key}"), "{bad}");
    }
    let mut v = sample();
    v["destination"]["reopen_whithin_hours"] = json!(1);
    assert_eq!(
        problem_of(&v).problem,
        "is not a destination field; did you mean reopen_within_hours?"
    );
}

#[test]
fn a_clear_is_delivered_only_where_it_resolves() {
    let mut v = sample();
    v["detection"]["outcome"] = json!("not_matched");
    assert!(matches!(triage(&v), Ok(Triage::Skip { .. })));
    v["destination"]["resolve_when_clear"] = json!(true);
    let a = deliver(&v);
    assert!(a.detection.is_clear());
    v["detection"]["outcome"] = json!("ERROR");
    assert!(matches!(triage(&v), Ok(Triage::Skip { .. })));
}

#[test]
fn a_missing_detection_field_names_its_near_miss() {
    let mut v = sample();
    let det = v["detection"].as_object_mut().unwrap();
    let severity = det.remove("severity").unwrap();
    det.insert("severty".into(), severity);
    let p = problem_of(&v);
    assert_eq!(p.field, "detection.severity");
    assert_eq!(
        p.problem,
        "is missing; detection.severty looks like a misspelling of it"
    );
    assert!(p.fix.contains("severity"));
}

#[test]
fn unknown_detection_keys_are_ignored() {
    let mut v = sample();
    v["detection"]["sevrity"] = json!("LOW");
    v["detection"]["platform_added_later"] = json!({"nested": [1, 2, 3]});
    let a = deliver(&v);
    assert_eq!(a.detection.severity, Severity::High);
}

#[test]
fn unknown_top_level_keys_are_ignored() {
    let mut v = sample();
    v["version"] = json!(2);
    deliver(&v);
}

#[test]
fn labels_and_links_are_limited() {
    let mut v = sample();
    v["destination"]["labels"] = json!(vec!["l"; 50]);
    v["destination"]["links"] = json!(vec![json!({"type": "Relates", "key": "SEC-1"}); 20]);
    let a = deliver(&v);
    assert_eq!(
        (a.destination.labels.len(), a.destination.links.len()),
        (50, 20)
    );

    let mut v = sample();
    v["destination"]["labels"] = json!(vec!["l"; 51]);
    v["destination"]["links"] = json!(vec![json!({"type": "Relates", "key": "SEC-1"}); 21]);
    let e = error_of(&v);
    assert_eq!(e.fields(), ["destination.labels", "destination.links"]);
    assert!(e.problems[0].problem.contains("51"), "{e}");
}

#[test]
fn every_bad_label_and_link_is_named() {
    let mut v = sample();
    v["destination"]["labels"] = json!(["ok", 1, null]);
    v["destination"]["links"] =
        json!([{"type": "Relates", "key": "SEC-1"}, "SEC-2", {"key": "SEC-3"}]);
    let e = error_of(&v);
    assert_eq!(
        e.fields(),
        [
            "destination.labels[1]",
            "destination.labels[2]",
            "destination.links[1]",
            "destination.links[2]"
        ]
    );
}

#[test]
fn labels_with_the_functions_own_prefixes_are_refused() {
    let mut v = sample();
    v["destination"]["labels"] = json!([
        "team-blue",
        "detection-state-4102444800-clear-c0-f0",
        "Detection-ID-77",
        " detection-run-abc",
        "detection-pending-x-resolve",
        "detection-notes"
    ]);
    let e = error_of(&v);
    assert_eq!(
        e.fields(),
        [
            "destination.labels[1]",
            "destination.labels[2]",
            "destination.labels[3]",
            "destination.labels[4]"
        ]
    );
    assert!(e.problems[0].problem.contains("detection-state-"), "{e}");
    assert!(e.problems[0].fix.contains("detection-pending-"), "{e}");
}

fn with_secret(id: &str) -> Value {
    let mut v = sample();
    v["destination"]["api_token_secret"] = json!(id);
    v
}

#[test]
fn secret_ids_within_limits_are_accepted() {
    for good in [
        "jira/secops",
        "a+b=c.d@e-f_g",
        &"s".repeat(2048),
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:jira/secops-AbCdEf",
        "arn:aws-us-gov:secretsmanager:us-gov-west-1:111122223333:secret:x",
    ] {
        let a = deliver(&with_secret(good));
        assert_eq!(a.destination.api_token_secret, good);
    }
}

#[test]
fn bad_secret_ids_are_refused() {
    for bad in [
        "s".repeat(2049),
        "jira secops".into(),
        "jira/secops\n".repeat(2),
        "jira/sécops".into(),
        "jira:secops".into(),
        "arn:aws:secretsmanager:US-EAST-1:111122223333:secret:x".into(),
        "arn:aws:secretsmanager:useast1:111122223333:secret:x".into(),
        "arn:aws:secretsmanager:us-east:111122223333:secret:x".into(),
        "arn:aws:secretsmanager::111122223333:secret:x".into(),
        "arn:aws:ssm:us-east-1:111122223333:secret:x".into(),
        "arn:aws:secretsmanager:us-east-1:1111:secret:x".into(),
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:".into(),
    ] {
        let e = error_of(&with_secret(&bad));
        assert_eq!(e.fields(), ["destination.api_token_secret"], "{bad:?}: {e}");
        assert!(e.to_string().len() < 600, "{e}");
    }
    let e = error_of(&with_secret(
        "arn:aws:secretsmanager:mars-1:111122223333:secret:x",
    ));
    assert!(e.to_string().contains("region \"mars-1\""), "{e}");
}

fn with_replay(url: &str) -> Value {
    let mut v = sample();
    v["detection"]["replay_url"] = json!(url);
    v
}

#[test]
fn replay_urls_are_normalised() {
    for (given, kept) in [
        (
            "https://app.example.com/replay/srch-8f2c",
            "https://app.example.com/replay/srch-8f2c",
        ),
        (
            "HTTPS://App.Example.COM/replay/x?a=1#f",
            "https://app.example.com/replay/x?a=1#f",
        ),
        ("http://app.example.com", "http://app.example.com/"),
        (
            "https://app.example.com/a/../b/<x>",
            "https://app.example.com/b/%3Cx%3E",
        ),
    ] {
        let a = deliver(&with_replay(given));
        assert_eq!(a.detection.replay_url.as_deref(), Some(kept), "{given}");
    }
    for absent in ["", "  "] {
        assert_eq!(deliver(&with_replay(absent)).detection.replay_url, None);
    }
}

#[test]
fn bad_replay_urls_are_refused() {
    for bad in [
        "https://app.example.com/replay/\nx",
        "https://app.example.com/re\tplay",
        "https://app.example.com/replay x",
        " https://app.example.com/replay",
        "https://app.example.com/\u{7}",
        "ftp://app.example.com/replay",
        "javascript:alert(1)",
        "/replay/srch-8f2c",
        "app.example.com/replay",
        "http:app.example.com",
        "https://",
        "https://exa mple.com",
    ] {
        let e = error_of(&with_replay(bad));
        assert_eq!(e.fields(), ["detection.replay_url"], "{bad:?}: {e}");
    }
    let mut v = sample();
    v["detection"]["replay_url"] = json!(42);
    assert_eq!(field_of(&v), "detection.replay_url");
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut v = sample();
    v["destination"]["project_key"] = json!("sec");
    v["destination"]["timeout"] = json!(0);
    v["destination"]["lables"] = json!([]);
    v["destination"]["instance_url"] = json!("http://jira.example.com");
    v["detection"]["severity"] = json!("SEVERE");
    v["detection"].as_object_mut().unwrap().remove("name");
    let e = error_of(&v);
    let mut fields = e.fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "destination.instance_url",
            "destination.lables",
            "destination.project_key",
            "destination.timeout",
            "detection.name",
            "detection.severity"
        ]
    );
    let text = e.to_string();
    assert!(
        text.contains("destination.project_key: \"sec\" is not a Jira project key (fix: "),
        "{text}"
    );
    assert!(
        text.contains("; destination.timeout: 0 is out of range (fix: "),
        "{text}"
    );
    assert!(
        e.fix().contains("destination.timeout: set a whole number"),
        "{}",
        e.fix()
    );
    assert!(!e.summary().contains("fix"), "{}", e.summary());
}

#[test]
fn a_flood_of_problems_is_cut_short() {
    let mut v = sample();
    let map: Map<String, Value> = (0..1000).map(|i| (format!("S{i}"), json!("P"))).collect();
    v["destination"]["priority_map"] = Value::Object(map);
    let e = error_of(&v);
    assert_eq!(e.problems.len(), 21);
    assert_eq!(e.problems[20].problem, "980 more problems not shown");
    assert!(e.to_string().len() < 5_000);
}

#[test]
fn keys_from_the_event_are_quoted_briefly_in_field_names() {
    let mut v = sample();
    v["destination"]["x\n".repeat(5_000)] = json!(1);
    let p = problem_of(&v);
    assert!(p.field.starts_with("destination.\"x"), "{}", p.field);
    assert!(p.field.len() < 120, "{}", p.field);
}

#[test]
fn inline_credentials_are_never_echoed() {
    const SECRET: &str = "ATATT3xFfGF0-very-secret";
    for key in [
        "api_token",
        "password",
        "token",
        "apiToken",
        "Password",
        "api-token",
    ] {
        let mut v = sample();
        v["destination"][key] = json!(SECRET);
        v["destination"]["project_key"] = json!("sec");
        let e = error_of(&v);
        assert_eq!(e.problems[0].field, key_path("destination", key), "{e}");
        for shown in [e.to_string(), format!("{e:?}"), e.fix(), e.summary()] {
            assert!(!shown.contains(SECRET), "{shown}");
        }
        // Refused even when the alert would be skipped.
        v["detection"]["outcome"] = json!("NOT_MATCHED");
        let e = error_of(&v);
        assert_eq!(e.fields(), [key_path("destination", key)]);
    }
}

#[test]
fn a_skipped_alert_never_fails_over_its_destination() {
    let mut v = sample();
    v["destination"]["enabled"] = json!(false);
    v["destination"]["lables"] = json!("typo");
    v["destination"]
        .as_object_mut()
        .unwrap()
        .remove("instance_url");
    assert!(matches!(triage(&v), Ok(Triage::Skip { .. })));
    let mut v = sample();
    v["detection"]["outcome"] = json!("NOT_MATCHED");
    v["detection"]["replay_url"] = json!("ftp://x");
    v["destination"]["timeout"] = json!(0);
    assert!(matches!(triage(&v), Ok(Triage::Skip { .. })));
    // A detection id of the wrong type is still a problem: the skip log line needs it.
    v["detection"]["id"] = json!(true);
    assert_eq!(field_of(&v), "detection.id");
}

#[test]
fn the_instance_url_is_parsed_once_into_a_site() {
    let mut v = sample();
    v["destination"]["instance_url"] = json!("https://ACME.atlassian.net./jira/");
    let site = deliver(&v).destination.site;
    assert_eq!(site.base, "https://acme.atlassian.net/jira");
    assert_eq!((site.host.as_str(), site.port), ("acme.atlassian.net", 443));
    for bad in [
        "http://jira.example.com",
        "https://u:p@x.example",
        "ftp://x.example",
        "x",
    ] {
        let mut v = sample();
        v["destination"]["instance_url"] = json!(bad);
        assert_eq!(field_of(&v), "destination.instance_url", "{bad}");
    }
    v["destination"]["instance_url"] = json!("http://127.0.0.1:8080");
    assert_eq!(deliver(&v).destination.site.port, 8080);
}

#[test]
fn timeouts_are_whole_seconds() {
    let mut v = sample();
    v["destination"]["timeout"] = json!(30.0);
    assert_eq!(deliver(&v).destination.timeout, Duration::from_secs(30));
    v["destination"]["timeout"] = json!(2.5);
    assert_eq!(field_of(&v), "destination.timeout");
}

#[test]
fn map_keys_are_named_plainly_when_they_are_plain() {
    let mut v = sample();
    v["destination"]["priority_map"] = json!({"URGENT": "P1"});
    assert_eq!(field_of(&v), "destination.priority_map.URGENT");
    let mut v = sample();
    v["destination"]["custom_fields"] = json!({"detectionid": "customfield_1"});
    let p = problem_of(&v);
    assert_eq!(p.field, "destination.custom_fields.detectionid");
    assert!(
        p.problem.ends_with("did you mean detection_id?"),
        "{}",
        p.problem
    );
}
