use super::*;
use crate::alert::{FieldValue, Scalar};
use serde_json::json;

fn field(id: &str, kind: &str) -> FieldMeta {
    FieldMeta {
        id: id.into(),
        name: id.into(),
        kind: kind.into(),
        ..FieldMeta::default()
    }
}

fn text(s: &str) -> FieldValue {
    FieldValue::One(Scalar::Text(s.into()))
}

/// 2026-12-04T10:00:00Z
const RUN: i64 = 1_796_378_400;

fn v3() -> Target {
    Target {
        v3: true,
        cloud: true,
        run: RUN,
    }
}

fn v2() -> Target {
    Target {
        v3: false,
        cloud: false,
        run: RUN,
    }
}

#[test]
fn every_row_of_the_conversion_table() {
    let rich = FieldMeta {
        custom: Some("com.atlassian.jira.plugin.system.customfieldtypes:textarea".into()),
        ..field("customfield_1", "string")
    };
    let env = FieldMeta {
        system: Some("environment".into()),
        ..field("environment", "string")
    };
    let options = FieldMeta {
        allowed: Some(vec!["Red".into(), "Blue".into()]),
        ..field("customfield_2", "option")
    };
    let multi = FieldMeta {
        items: Some("option".into()),
        allowed: Some(vec!["Red".into(), "Blue".into()]),
        ..field("customfield_3", "array")
    };
    let labelish = FieldMeta {
        items: Some("string".into()),
        ..field("customfield_4", "array")
    };
    let components = FieldMeta {
        items: Some("component".into()),
        ..field("components", "array")
    };
    let versions = FieldMeta {
        items: Some("version".into()),
        ..field("fixVersions", "array")
    };
    let users = FieldMeta {
        items: Some("user".into()),
        ..field("customfield_5", "array")
    };
    let rows: Vec<(FieldMeta, FieldValue, Target, Value)> = vec![
        (
            field("customfield_9", "string"),
            text("a *b*"),
            v3(),
            json!("a *b*"),
        ),
        (rich.clone(), text("one\ntwo"), v2(), json!("one\ntwo")),
        (
            rich.clone(),
            text("one\ntwo\n\nthree"),
            v3(),
            json!({"type": "doc", "version": 1, "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "one"}, {"type": "hardBreak"}, {"type": "text", "text": "two"}]},
                {"type": "paragraph", "content": [{"type": "text", "text": "three"}]}]}),
        ),
        (
            env.clone(),
            text("prod"),
            v3(),
            json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "prod"}]}]}),
        ),
        (
            field("customfield_6", "number"),
            text("12"),
            v3(),
            json!(12),
        ),
        (
            field("customfield_6", "number"),
            text("3.5"),
            v3(),
            json!(3.5),
        ),
        (
            field("customfield_6", "number"),
            FieldValue::One(Scalar::Number(7.into())),
            v3(),
            json!(7),
        ),
        (
            field("duedate", "date"),
            text("2026-12-24"),
            v3(),
            json!("2026-12-24"),
        ),
        (
            field("duedate", "date"),
            text("+3d"),
            v3(),
            json!("2026-12-07"),
        ),
        (
            field("duedate", "date"),
            text("+2w"),
            v3(),
            json!("2026-12-18"),
        ),
        (
            field("customfield_7", "datetime"),
            text("2026-12-04T11:30:00+01:00"),
            v3(),
            json!("2026-12-04T10:30:00.000+0000"),
        ),
        (options.clone(), text("red"), v3(), json!({"value": "Red"})),
        (
            field("customfield_8", "option-with-child"),
            text("Parent / Child"),
            v3(),
            json!({"value": "Parent", "child": {"value": "Child"}}),
        ),
        (
            multi.clone(),
            text("Red, Blue"),
            v3(),
            json!([{"value": "Red"}, {"value": "Blue"}]),
        ),
        (
            multi.clone(),
            FieldValue::List(vec![Scalar::Text("Blue".into())]),
            v3(),
            json!([{"value": "Blue"}]),
        ),
        (labelish.clone(), text("a b, c"), v3(), json!(["a-b", "c"])),
        (
            components.clone(),
            text("SOC, Cloud"),
            v3(),
            json!([{"name": "SOC"}, {"name": "Cloud"}]),
        ),
        (
            versions.clone(),
            text("1.0"),
            v2(),
            json!([{"name": "1.0"}]),
        ),
        (
            field("assignee", "user"),
            text("5b10a2844c20165700ede21g"),
            v3(),
            json!({"accountId": "5b10a2844c20165700ede21g"}),
        ),
        (
            field("assignee", "user"),
            text("jsmith"),
            v2(),
            json!({"name": "jsmith"}),
        ),
        (
            users.clone(),
            text("a, b"),
            v2(),
            json!([{"name": "a"}, {"name": "b"}]),
        ),
        (
            field("customfield_10", "priority"),
            text("High"),
            v3(),
            json!({"name": "High"}),
        ),
        (
            field("customfield_11", "any"),
            text("as given"),
            v3(),
            json!("as given"),
        ),
        (
            field("customfield_12", "number"),
            FieldValue::Json(json!({"id": "10021"}).as_object().unwrap().clone()),
            v3(),
            json!({"id": "10021"}),
        ),
    ];
    for (meta, value, t, want) in rows {
        assert_eq!(
            convert(&meta, &value, t).unwrap(),
            want,
            "{} {value:?}",
            meta.id
        );
    }
}

#[test]
fn values_that_cannot_fit_say_why() {
    let options = FieldMeta {
        allowed: Some(vec!["Red".into()]),
        ..field("customfield_2", "option")
    };
    for (meta, value, says) in [
        (
            field("customfield_6", "number"),
            text("abc"),
            "takes a number",
        ),
        (field("duedate", "date"), text("2026-02-31"), "takes a date"),
        (field("duedate", "date"), text("+3x"), "takes a date"),
        (
            field("customfield_7", "datetime"),
            text("tomorrow"),
            "date and time",
        ),
        (
            options,
            text("Green"),
            "does not allow \"Green\" (allowed: Red)",
        ),
        (
            field("assignee", "user"),
            FieldValue::List(vec![Scalar::Text("a".into())]),
            "takes one value",
        ),
    ] {
        let e = convert(&meta, &value, v3()).unwrap_err();
        assert!(e.contains(says), "{e}");
    }
}

#[test]
fn a_key_is_an_id_or_a_name_and_a_shared_name_is_ambiguous() {
    let named = |id: &str, name: &str| FieldMeta {
        name: name.into(),
        ..field(id, "number")
    };
    let screen = [
        named("customfield_1", "Story Points"),
        named("customfield_2", "Team"),
        named("customfield_3", "team"),
    ];
    assert_eq!(find("customfield_2", &screen), Lookup::Found(&screen[1]));
    assert_eq!(find("story points", &screen), Lookup::Found(&screen[0]));
    assert_eq!(
        find("TEAM", &screen),
        Lookup::Ambiguous(vec!["customfield_2", "customfield_3"])
    );
    assert_eq!(find("Sprint", &screen), Lookup::Unknown);
}
