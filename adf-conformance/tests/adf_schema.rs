//! Every kind of ADF document the builder produces is valid against Atlassian's official
//! ADF JSON schema (`dist/json-schema/v1/full.json` of the npm package
//! `@atlaskit/adf-schema`), fetched here with `npm pack`, never retyped.

use detection_jira::alert::{triage, Triage};
use detection_jira::issue::{build_issue, describe, ApiFlavor};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

/// Pinned so that a new schema release cannot change results silently; override with
/// ADF_SCHEMA_VERSION to try another.
const SCHEMA_VERSION: &str = "57.7.22";

fn schema() -> Value {
    let version = std::env::var("ADF_SCHEMA_VERSION").unwrap_or_else(|_| SCHEMA_VERSION.into());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("adf-schema-{version}"));
    let file = dir.join("package/dist/json-schema/v1/full.json");
    if !file.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let pack = Command::new("npm")
            .args([
                "pack",
                "--silent",
                &format!("@atlaskit/adf-schema@{version}"),
            ])
            .current_dir(&dir)
            .output()
            .expect("npm is needed to fetch the ADF schema (apt-get install npm)");
        assert!(
            pack.status.success(),
            "npm pack failed: {}",
            String::from_utf8_lossy(&pack.stderr)
        );
        let tgz = String::from_utf8_lossy(&pack.stdout)
            .trim()
            .lines()
            .last()
            .unwrap()
            .to_string();
        let untar = Command::new("tar")
            .args(["xzf", &tgz, "package/dist/json-schema/v1/full.json"])
            .current_dir(&dir)
            .status()
            .unwrap();
        assert!(untar.success(), "could not unpack {tgz}");
    }
    serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap()
}

fn alert(change: impl FnOnce(&mut Value)) -> detection_jira::alert::Alert {
    let mut v = json!({
        "destination": {"instance_url": "https://acme.atlassian.net", "email": "a@b.c", "api_token_secret": "s", "project_key": "SEC"},
        "detection": {
            "id": 4211, "name": "Impossible travel", "severity": "HIGH", "outcome": "MATCHED",
            "description": "Sign-ins from two countries.\n\nSecond paragraph\nwith a line break.",
            "match_count": 17, "run_type": "SCHEDULED",
            "threshold": {"operator": "GREATER_THAN", "value": 0, "eagerness": "EAGER"},
            "exhaustiveness": "EXHAUSTIVE", "search_id": "srch-8f2c", "trace_id": "1-6543-abcdef",
            "ran_at": "2026-11-24T10:00:00Z",
            "time_range": {"start": "2026-11-24T09:00:00Z", "end": "2026-11-24T10:00:00Z"},
            "replay_url": "https://app.example.com/replay/srch-8f2c",
            "errors": ["partial results", "index lag"]
        }
    });
    change(&mut v);
    match triage(&v).unwrap() {
        Triage::Deliver(a) => *a,
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_adf_document_the_builder_produces_is_schema_valid() {
    let validator = jsonschema::draft4::new(&schema()).expect("the official schema compiles");
    let mut docs: Vec<(&str, Value)> = Vec::new();
    let full = alert(|_| {});
    docs.push((
        "full",
        build_issue(&full, &[]).description.render(ApiFlavor::V3),
    ));
    docs.push((
        "minimal",
        build_issue(
            &alert(|v| {
                let det = v["detection"].as_object_mut().unwrap();
                det.retain(|k, _| ["id", "name", "severity", "outcome"].contains(&k.as_str()));
            }),
            &[],
        )
        .description
        .render(ApiFlavor::V3),
    ));
    docs.push((
        "100 KB description, truncated",
        build_issue(
            &alert(|v| v["detection"]["description"] = json!("word ".repeat(20_000))),
            &[],
        )
        .description
        .render(ApiFlavor::V3),
    ));
    docs.push((
        "many errors",
        build_issue(
            &alert(|v| v["detection"]["errors"] = json!(vec!["e"; 5_000])),
            &[],
        )
        .description
        .render(ApiFlavor::V3),
    ));
    docs.push((
        "hostile text",
        build_issue(
            &alert(|v| {
                v["detection"]["name"] = json!("\u{0}\u{7}<script>\n\n\t🔥 name");
                v["detection"]["description"] = json!("\n\n\r\n  \u{1b}[31m red \u{202e}rtl\n\n\n");
                v["detection"]["errors"] = json!(["", "\n", "x"]);
                // Non-http URLs are refused when parsed; this one needs escaping.
                v["detection"]["replay_url"] = json!("https://app.example.com/r?q=<b>&x=\"y\"#f");
                v["detection"]["search_id"] = json!(" ");
            }),
            &[],
        )
        .description
        .render(ApiFlavor::V3),
    ));
    let mut dropped = build_issue(
        &alert(|v| {
            v["destination"]["priority"] = json!("Urgent");
            v["destination"]["links"] = json!([{"type": "Relates", "key": "SEC-42"}]);
        }),
        &[],
    );
    dropped.drop_field("priority", "The priority selected is invalid.");
    dropped.drop_field(
        "issuelinks",
        "No issue link type with name 'Relates' found.",
    );
    docs.push(("fallback notes", dropped.description.render(ApiFlavor::V3)));
    let mut comment = describe(&full.detection);
    comment.note("Repeated run of this detection".into());
    docs.push(("repeat comment", comment.render(ApiFlavor::V3)));

    for (name, doc) in &docs {
        let errors: Vec<String> = validator
            .iter_errors(doc)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}\n{doc}");
    }
    // The validator is not a rubber stamp: an empty text node is refused.
    let bad = json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}]});
    assert!(!validator.is_valid(&bad));
}
