//! `destination.fields` over HTTP on Cloud and Server/DC against the strict fake, whose
//! create screen has a field of every type of the conversion table and which refuses a
//! value of the wrong shape with Jira's message.

use crate::common::*;
use fake_jira::{FakeJira, FieldKind, Flavor};
use serde_json::{json, Value};

fn with_fields(jira: &FakeJira, fields: Value) -> Value {
    let mut a = alert(&jira.base_url);
    a["destination"]["fields"] = fields;
    a
}

fn createmeta_requests(jira: &FakeJira) -> usize {
    paths(jira)
        .iter()
        .filter(|p| p.contains("/issue/createmeta/"))
        .count()
}

#[tokio::test]
async fn every_type_of_field_is_sent_as_jira_takes_it_on_both_flavors() {
    for flavor in [Flavor::Cloud, Flavor::Server] {
        let jira = fake(flavor).await;
        let app = app(&jira);
        let user = match flavor {
            Flavor::Cloud => "5b10a2844c20165700ede21g",
            Flavor::Server => "jsmith",
        };
        let a = with_fields(
            &jira,
            json!({
                "Team": "blue",
                "Story Points": "5",
                "Impact": "High / Service",
                "Affected Systems": "web, db",
                "Analyst Notes": "First line\n\nSecond paragraph",
                "First Seen": "2026-11-24T09:30:00Z",
                "Tags": ["needs triage", "p1"],
                "Runbook": "https://runbooks.example/impossible-travel",
                "components": "SOC, Identity",
                "Fix versions": ["2.0"],
                "duedate": "+3d",
                "assignee": user,
                "environment": "prod",
            }),
        );
        let answer = invoke(&app, a).await.unwrap();
        assert_eq!(answer["status"], "created", "{flavor:?}: {answer}");
        assert!(answer.get("notes").is_none(), "{answer}");
        let f = &jira.created()[0].fields;
        let rich = |text: &str| match flavor {
            Flavor::Cloud => {
                json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]})
            }
            Flavor::Server => json!(text),
        };
        let expected = [
            ("customfield_10060", json!({"value": "Blue"})),
            ("customfield_10061", json!(5)),
            (
                "customfield_10062",
                json!({"value": "High", "child": {"value": "Service"}}),
            ),
            (
                "customfield_10063",
                json!([{"value": "web"}, {"value": "db"}]),
            ),
            ("customfield_10065", json!("2026-11-24T09:30:00.000+0000")),
            ("customfield_10066", json!(["needs-triage", "p1"])),
            (
                "customfield_10067",
                json!("https://runbooks.example/impossible-travel"),
            ),
            ("components", json!([{"name": "SOC"}, {"name": "Identity"}])),
            ("fixVersions", json!([{"name": "2.0"}])),
            // ran_at 2026-11-24, plus three days.
            ("duedate", json!("2026-11-27")),
            ("environment", rich("prod")),
        ];
        for (id, want) in expected {
            assert_eq!(f[id], want, "{flavor:?} {id}");
        }
        match flavor {
            Flavor::Cloud => assert_eq!(f["assignee"], json!({"accountId": user})),
            Flavor::Server => assert_eq!(f["assignee"], json!({"name": user})),
        }
        match flavor {
            Flavor::Cloud => assert_eq!(
                f["customfield_10064"]["content"].as_array().unwrap().len(),
                2
            ),
            Flavor::Server => assert_eq!(
                f["customfield_10064"],
                json!("First line\n\nSecond paragraph")
            ),
        }
    }
}

#[tokio::test]
async fn a_warm_alert_with_fields_sends_no_createmeta() {
    let jira = fake(Flavor::Cloud).await;
    let app = app(&jira);
    let fields = json!({"Team": "Red", "components": "SOC"});
    let mut first = with_fields(&jira, fields.clone());
    first["detection"]["search_id"] = json!("s-1");
    invoke(&app, first).await.unwrap();
    let cold = createmeta_requests(&jira);
    assert_eq!(
        cold,
        2,
        "issue types, then the type's fields: {:?}",
        paths(&jira)
    );
    let before = jira.requests().len();
    let mut second = with_fields(&jira, fields);
    second["detection"]["search_id"] = json!("s-2");
    let answer = invoke(&app, second).await.unwrap();
    assert_eq!(answer["status"], "created");
    assert_eq!(createmeta_requests(&jira), cold, "the screen is cached");
    // Without the table: the duplicate search and the create.
    assert_eq!(jira.requests().len() - before, 2, "{:?}", paths(&jira));
}

#[tokio::test]
async fn a_value_that_cannot_fit_is_left_out_and_said_so() {
    for flavor in [Flavor::Cloud, Flavor::Server] {
        let jira = fake(flavor).await;
        let app = app(&jira);
        let a = with_fields(
            &jira,
            json!({"Story Points": "many", "Team": "Green", "Sprint": "7", "components": "SOC"}),
        );
        let answer = invoke(&app, a).await.unwrap();
        assert_eq!(answer["status"], "created", "{answer}");
        let notes = answer["notes"].to_string();
        assert!(
            notes.contains("Story Points") && notes.contains("Team") && notes.contains("Sprint"),
            "{notes}"
        );
        let issue = &jira.created()[0];
        assert_eq!(issue.fields["components"], json!([{"name": "SOC"}]));
        assert!(issue.fields.get("customfield_10061").is_none());
        assert!(issue.fields.get("customfield_10060").is_none());
        let description = issue.fields["description"].to_string();
        assert!(description.contains("takes a number"), "{description}");
        assert!(description.contains("does not allow"), "{description}");
        assert!(
            description.contains("is not a field of the create screen"),
            "{description}"
        );
    }
}

#[tokio::test]
async fn a_name_two_fields_share_refuses_the_alert_naming_both() {
    let jira = fake(Flavor::Cloud).await;
    jira.configure(|c| {
        let p = &mut c.projects[0];
        p.screen_fields.insert(
            "customfield_10070".into(),
            FieldKind::Select(vec!["Red".into()]),
        );
        p.field_names
            .insert("customfield_10070".into(), "team".into());
    });
    let app = app(&jira);
    let e = invoke(&app, with_fields(&jira, json!({"Team": "Red"})))
        .await
        .unwrap_err();
    assert_eq!(e.class.as_str(), "bad-input", "{e}");
    assert!(
        e.message.contains("customfield_10060, customfield_10070"),
        "{e}"
    );
    assert!(jira.created().is_empty());
    // By id it is fine.
    let answer = invoke(
        &app,
        with_fields(&jira, json!({"customfield_10070": "Red"})),
    )
    .await
    .unwrap();
    assert_eq!(
        jira.created()[0].fields["customfield_10070"],
        json!({"value": "Red"}),
        "{answer}"
    );
}

#[tokio::test]
async fn the_preflight_names_each_field_that_will_not_fit_and_a_required_one() {
    let jira = fake(Flavor::Server).await;
    jira.configure(|c| c.projects[0].required_fields = vec!["customfield_10067".into()]);
    let app = app(&jira);
    let mut check =
        json!({"action": "check_destination", "destination": alert(&jira.base_url)["destination"]});
    check["destination"]["fields"] = json!({"Story Points": "many", "Nope": 1, "Team": "Red"});
    let report = invoke(&app, check).await.unwrap();
    let fields = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "fields")
        .cloned()
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(fields["ok"], false, "{fields}");
    let detail = fields["detail"].to_string();
    assert!(
        detail.contains("Story Points") && detail.contains("takes a number"),
        "{detail}"
    );
    assert!(
        detail.contains("\\\"Nope\\\"") || detail.contains("Nope"),
        "{detail}"
    );
    assert!(
        detail.contains("Runbook (customfield_10067) is required"),
        "{detail}"
    );
    assert!(
        !detail.contains("Team"),
        "a fitting value is fine: {detail}"
    );
}

#[tokio::test]
async fn a_required_field_nothing_sets_fails_with_jiras_message_and_the_fix() {
    let jira = fake(Flavor::Cloud).await;
    jira.configure(|c| c.projects[0].required_fields = vec!["customfield_10067".into()]);
    let app = app(&jira);
    let e = invoke(&app, alert(&jira.base_url)).await.unwrap_err();
    assert_eq!(e.class.as_str(), "rejected", "{e}");
    assert!(e.message.contains("Runbook is required."), "{e}");
    assert!(
        e.fix
            .contains("give customfield_10067 a value in destination.fields"),
        "{e}"
    );
    // Given one, the issue is made.
    let ok = invoke(
        &app,
        with_fields(&jira, json!({"Runbook": "https://runbooks.example/x"})),
    )
    .await
    .unwrap();
    assert_eq!(ok["status"], "created");
}
