//! The preflight's `fields` check: each `destination.fields` entry found on the create
//! screen and converted to its type as an alert's would be; the screen's required fields
//! that nothing sets named.

use super::Ctx;
use crate::alert::Destination;
use crate::failure::{quote, Failure};
use crate::issue::convert::{convert, find, FieldMeta, Lookup, Target};
use crate::issue::ApiFlavor;
use crate::jira::JiraApi;
use crate::secrets::SecretSource;

/// The fields every issue of the function sets.
const SET_BY_THE_FUNCTION: [&str; 6] = [
    "summary",
    "description",
    "project",
    "issuetype",
    "labels",
    "reporter",
];

pub(super) async fn fields<J: JiraApi, S: SecretSource>(
    ctx: &Ctx<'_, J, S>,
    run: i64,
) -> Option<Result<String, Failure>> {
    let dest = ctx.dest;
    if dest.fields.is_empty() {
        return None;
    }
    let meta = match ctx
        .d
        .field_meta(&ctx.conn, dest, ctx.cutoff, &ctx.meter)
        .await
    {
        Ok(m) => m,
        Err(e) => {
            return Some(Err(
                Failure::from(e).at("reading the create screen's fields")
            ))
        }
    };
    let target = Target {
        v3: ctx.conn.flavor == ApiFlavor::V3,
        cloud: ctx.conn.index_lags,
        run,
    };
    let problems = problems(dest, &meta, target);
    Some(match problems.is_empty() {
        true => Ok(format!(
            "{} on the create screen, each of a type its value becomes",
            dest.fields.len()
        )),
        false => Err(Failure::bad_input(
            problems.join("; "),
            "name each field by an id or name of the issue type's create screen with a value of its type (see the README's fields table), and give each required field a value in destination.fields; until then such fields are left out of issues (a required one makes the create fail)",
        )),
    })
}

fn problems(dest: &Destination, meta: &[FieldMeta], target: Target) -> Vec<String> {
    let mut out = Vec::new();
    let mut set: Vec<&str> = SET_BY_THE_FUNCTION.to_vec();
    if dest.parent_key.is_some() {
        set.push("parent");
    }
    let cf = &dest.custom_fields;
    set.extend(
        [&cf.detection_id, &cf.severity, &cf.match_count]
            .into_iter()
            .flatten()
            .map(String::as_str),
    );
    for entry in &dest.fields {
        let field = format!("destination.fields.{}", quote(&entry.key));
        match find(&entry.key, meta) {
            Lookup::Found(m) if crate::alert::own_field(&m.id).is_some() => out.push(format!(
                "{field}: {} is a field the function sets itself",
                m.id
            )),
            Lookup::Found(m) => {
                set.push(&m.id);
                if let Err(why) = convert(m, &entry.value, target) {
                    out.push(format!("{field}: {why}"));
                }
            }
            Lookup::Unknown => out.push(format!(
                "{field}: not a field of the create screen of {} {}",
                dest.project_key,
                quote(&dest.issue_type)
            )),
            Lookup::Ambiguous(ids) => out.push(format!(
                "{field}: the name of {} fields ({}): name one by its id",
                ids.len(),
                ids.join(", ")
            )),
        }
    }
    if dest.priority != crate::alert::PriorityRule::ProjectDefault {
        set.push("priority");
    }
    for m in meta.iter().filter(|m| m.required && !m.has_default) {
        if !set.contains(&m.id.as_str()) {
            out.push(format!(
                "{} ({}) is required on the create screen and nothing sets it: add it to destination.fields",
                m.name, m.id
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{triage, Triage};
    use serde_json::json;

    fn destination(fields: serde_json::Value) -> Destination {
        let v = json!({
            "destination": {"instance_url": "https://acme.atlassian.net", "email": "bot@acme.example",
                            "api_token_secret": "jira/secops", "project_key": "SEC", "fields": fields},
            "detection": {"id": 7, "name": "n", "severity": "HIGH", "outcome": "MATCHED"}
        });
        match triage(&v).unwrap() {
            Triage::Deliver(a) => a.destination,
            other => panic!("{other:?}"),
        }
    }

    fn meta(id: &str, name: &str, kind: &str, required: bool) -> FieldMeta {
        FieldMeta {
            id: id.into(),
            name: name.into(),
            kind: kind.into(),
            required,
            ..FieldMeta::default()
        }
    }

    #[test]
    fn unknown_unfit_ambiguous_and_required_fields_are_named() {
        let screen = [
            meta("summary", "Summary", "string", true),
            meta("customfield_1", "Story Points", "number", false),
            meta("customfield_2", "Team", "option", false),
            meta("customfield_3", "Team", "option", false),
            meta("customfield_4", "Risk", "option", true),
            meta("customfield_5", "Area", "string", true),
        ];
        let target = Target {
            v3: true,
            cloud: true,
            run: 0,
        };
        let d = destination(
            json!({"Story Points": "many", "Team": "Red", "Sprint": "1", "customfield_5": "x"}),
        );
        let p = problems(&d, &screen, target);
        assert_eq!(p.len(), 4, "{p:#?}");
        assert!(
            p[0].contains("\"Story Points\"") && p[0].contains("takes a number"),
            "{}",
            p[0]
        );
        assert!(p[1].contains("customfield_2, customfield_3"), "{}", p[1]);
        assert!(
            p[2].contains("not a field of the create screen"),
            "{}",
            p[2]
        );
        assert!(
            p[3].starts_with("Risk (customfield_4) is required"),
            "{}",
            p[3]
        );
        let fine = destination(json!({"Story Points": 3, "customfield_4": "High", "Area": "x"}));
        assert!(problems(&fine, &screen, target).is_empty());
    }
}
