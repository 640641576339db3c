//! `destination.fields` values made into what each Jira field takes, by the field's schema
//! in the create metadata: text, rich text, numbers, dates, options, users, versions and
//! components, lists of those. A value that cannot fit says why (the issue is then created
//! without the field, and says so).

use crate::alert::{FieldValue, Scalar};
use serde_json::{json, Value};

/// A field of the create screen, as the create metadata describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMeta {
    pub id: String,
    /// The name Jira shows.
    pub name: String,
    pub required: bool,
    pub has_default: bool,
    /// `schema.type`: `string`, `number`, `date`, `datetime`, `option`, `array`, `user`, ...
    pub kind: String,
    /// `schema.items`, for arrays.
    pub items: Option<String>,
    /// `schema.custom`: the custom field's type key.
    pub custom: Option<String>,
    /// `schema.system`: the system field's name.
    pub system: Option<String>,
    /// The values the field allows (`allowedValues`' `value` or `name`), when Jira lists them.
    pub allowed: Option<Vec<String>>,
}

/// Which field of the screen a `fields` key means.
#[derive(Debug, PartialEq)]
pub enum Lookup<'a> {
    Found(&'a FieldMeta),
    /// Neither an id nor a name of a field on the create screen.
    Unknown,
    /// A name two or more fields share: their ids.
    Ambiguous(Vec<&'a str>),
}

/// The field `key` names: its id exactly, else its name (case-insensitively).
pub fn find<'a>(key: &str, fields: &'a [FieldMeta]) -> Lookup<'a> {
    if let Some(f) = fields.iter().find(|f| f.id == key) {
        return Lookup::Found(f);
    }
    let named: Vec<&FieldMeta> = fields
        .iter()
        .filter(|f| f.name.to_lowercase() == key.to_lowercase())
        .collect();
    match named.as_slice() {
        [] => Lookup::Unknown,
        [one] => Lookup::Found(one),
        many => Lookup::Ambiguous(many.iter().map(|f| f.id.as_str()).collect()),
    }
}

/// What a conversion needs to know besides the field and the value.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// REST v3 (rich text as ADF).
    pub v3: bool,
    /// Jira Cloud (users by accountId) rather than Server/DC (users by name).
    pub cloud: bool,
    /// The run's time (epoch seconds): what `+3d` counts from.
    pub run: i64,
}

/// The value as the field takes it, or why it cannot be.
pub fn convert(meta: &FieldMeta, value: &FieldValue, t: Target) -> Result<Value, String> {
    if let FieldValue::Json(map) = value {
        return Ok(Value::Object(map.clone()));
    }
    let kind = meta.kind.as_str();
    match kind {
        "array" => {
            let items = list(value);
            let item = meta.items.as_deref().unwrap_or("");
            let out: Result<Vec<Value>, String> =
                items.iter().map(|s| one(meta, item, s, t)).collect();
            Ok(Value::Array(out?))
        }
        _ => match value {
            FieldValue::One(s) => one(meta, kind, s, t),
            _ => Err(format!("{} takes one value, not a list", describe(meta))),
        },
    }
}

/// The items of a list value: a JSON array, or a comma-separated string.
fn list(value: &FieldValue) -> Vec<Scalar> {
    match value {
        FieldValue::List(items) => items.clone(),
        FieldValue::One(Scalar::Text(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| Scalar::Text(p.to_string()))
            .collect(),
        FieldValue::One(other) => vec![other.clone()],
        FieldValue::Json(_) => Vec::new(),
    }
}

fn describe(meta: &FieldMeta) -> String {
    format!("{} ({})", meta.name, meta.id)
}

/// One value of type `kind` (the field's, or its items').
fn one(meta: &FieldMeta, kind: &str, s: &Scalar, t: Target) -> Result<Value, String> {
    let text = s.text();
    let allowed = |v: &str| -> Result<(), String> {
        match &meta.allowed {
            Some(list) if !list.iter().any(|a| a.eq_ignore_ascii_case(v)) => Err(format!(
                "{} does not allow {:?} (allowed: {})",
                describe(meta),
                v,
                list.iter().take(20).cloned().collect::<Vec<_>>().join(", ")
            )),
            _ => Ok(()),
        }
    };
    // The allowed value as Jira spells it.
    let spelled = |v: &str| -> String {
        meta.allowed
            .as_ref()
            .and_then(|l| l.iter().find(|a| a.eq_ignore_ascii_case(v)).cloned())
            .unwrap_or_else(|| v.to_string())
    };
    match kind {
        // Labels-like: no whitespace in a value.
        "string" if meta.kind == "array" => Ok(json!(super::text::clean_label(&text))),
        "string" if is_rich_text(meta) && t.v3 => Ok(adf_text(&text)),
        "string" => Ok(json!(text)),
        "number" => {
            number(s).ok_or_else(|| format!("{} takes a number, not {text:?}", describe(meta)))
        }
        "date" => date(&text, t.run).map(Value::String).ok_or_else(|| {
            format!(
                "{} takes a date (YYYY-MM-DD, or +3d, +2w from the run), not {text:?}",
                describe(meta)
            )
        }),
        "datetime" => datetime(&text).map(Value::String).ok_or_else(|| {
            format!(
                "{} takes a date and time (RFC 3339, e.g. 2026-12-04T10:00:00Z), not {text:?}",
                describe(meta)
            )
        }),
        "option" => {
            allowed(&text)?;
            Ok(json!({"value": spelled(&text)}))
        }
        "option-with-child" => match text.split_once(" / ") {
            Some((parent, child)) => {
                allowed(parent.trim())?;
                Ok(json!({"value": spelled(parent.trim()), "child": {"value": child.trim()}}))
            }
            None => {
                allowed(&text)?;
                Ok(json!({"value": spelled(&text)}))
            }
        },
        "component" | "version" => {
            allowed(&text)?;
            Ok(json!({"name": spelled(&text)}))
        }
        "user" => Ok(match t.cloud {
            true => json!({"accountId": text}),
            false => json!({"name": text}),
        }),
        "priority" => Ok(json!({"name": text})),
        _ => Ok(match s {
            Scalar::Text(x) => json!(x),
            Scalar::Number(n) => json!(n),
            Scalar::Bool(b) => json!(b),
        }),
    }
}

/// A paragraph field: a custom textarea, or the system `environment`.
fn is_rich_text(meta: &FieldMeta) -> bool {
    meta.custom
        .as_deref()
        .is_some_and(|c| c.ends_with(":textarea"))
        || meta.system.as_deref() == Some("environment")
}

/// Text as an ADF document: a paragraph per block of lines, a hard break per line.
fn adf_text(text: &str) -> Value {
    let paragraphs: Vec<Value> = text
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let mut content = Vec::new();
            for (i, line) in p.lines().enumerate() {
                if i > 0 {
                    content.push(json!({"type": "hardBreak"}));
                }
                if !line.is_empty() {
                    content.push(json!({"type": "text", "text": line}));
                }
            }
            json!({"type": "paragraph", "content": content})
        })
        .collect();
    json!({"type": "doc", "version": 1, "content": paragraphs})
}

fn number(s: &Scalar) -> Option<Value> {
    match s {
        Scalar::Number(n) => Some(json!(n)),
        Scalar::Text(t) => {
            let t = t.trim();
            if let Ok(i) = t.parse::<i64>() {
                return Some(json!(i));
            }
            t.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(|f| json!(f))
        }
        Scalar::Bool(_) => None,
    }
}

/// `YYYY-MM-DD`, or `+N` days (`d`) or weeks (`w`) after the run's day (UTC).
fn date(text: &str, run: i64) -> Option<String> {
    let text = text.trim();
    if let Some(rel) = text.strip_prefix('+') {
        let (n, unit) = rel.split_at(rel.len().checked_sub(1)?);
        let n: i64 = n.parse().ok().filter(|n| (0..=3650).contains(n))?;
        let days = match unit {
            "d" => n,
            "w" => n * 7,
            _ => return None,
        };
        let day = jiff::Timestamp::from_second(run)
            .ok()?
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date();
        let due = day.checked_add(jiff::Span::new().days(days)).ok()?;
        return Some(due.to_string());
    }
    let d: jiff::civil::Date = text.parse().ok()?;
    Some(d.to_string())
}

/// RFC 3339 to Jira's form (`2026-12-04T10:00:00.000+0000`).
fn datetime(text: &str) -> Option<String> {
    let ts: jiff::Timestamp = text.trim().parse().ok()?;
    Some(ts.strftime("%Y-%m-%dT%H:%M:%S%.3f%z").to_string())
}

#[cfg(test)]
mod tests;
