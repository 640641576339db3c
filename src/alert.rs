//! The alert contract (contract section 1): its types and their validation. Pure code.
//!
//! Validation walks the JSON by hand rather than through serde derive so that every error
//! names the exact field and says how to fix it, and so that no value from the event is
//! echoed back at unbounded length.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Destination fields that would carry a credential inline; credentials live in Secrets
/// Manager only.
const INLINE_CREDENTIAL_FIELDS: [&str; 3] = ["api_token", "password", "token"];

/// Error messages of a detection shown in the issue; the rest are counted.
pub const ERRORS_KEPT: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s.trim()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Info => "INFO",
        }
    }

    /// The default severity -> Jira priority table (seed doc, plus INFO -> Lowest).
    pub fn default_priority(self) -> &'static str {
        match self {
            Severity::Critical => "Highest",
            Severity::High => "High",
            Severity::Medium => "Medium",
            Severity::Low => "Low",
            Severity::Info => "Lowest",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    Auto,
    V2,
    V3,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriorityRule {
    /// No priority field: the project's default applies.
    ProjectDefault,
    Fixed(String),
    /// Severity decides; severities missing here use the default table.
    Map(BTreeMap<Severity, String>),
}

impl PriorityRule {
    pub fn priority_for(&self, severity: Severity) -> Option<String> {
        match self {
            PriorityRule::ProjectDefault => None,
            PriorityRule::Fixed(name) => Some(name.clone()),
            PriorityRule::Map(map) => Some(
                map.get(&severity)
                    .cloned()
                    .unwrap_or_else(|| severity.default_priority().to_string()),
            ),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomFields {
    pub detection_id: Option<String>,
    pub severity: Option<String>,
    pub match_count: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueLink {
    pub link_type: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Destination {
    /// The Jira base URL, parsed and normalised once.
    pub site: crate::hosts::JiraSite,
    pub email: Option<String>,
    pub api_token_secret: String,
    pub project_key: String,
    pub issue_type: String,
    pub priority: PriorityRule,
    pub labels: Vec<String>,
    pub timeout: Duration,
    pub api_version: ApiVersion,
    pub custom_fields: CustomFields,
    pub parent_key: Option<String>,
    pub links: Vec<IssueLink>,
    pub group_repeats: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub operator: Option<String>,
    pub value: Option<String>,
    pub eagerness: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The id as text (it may be a number or a string in the event).
    pub id: String,
    /// The id when it is a whole number (needed for a Jira number field).
    pub numeric_id: Option<i64>,
    pub name: String,
    pub description: Option<String>,
    pub severity: Severity,
    pub outcome: String,
    pub match_count: Option<i64>,
    pub run_type: Option<String>,
    pub threshold: Option<Threshold>,
    pub exhaustiveness: Option<String>,
    pub search_id: Option<String>,
    pub trace_id: Option<String>,
    pub ran_at: Option<String>,
    pub time_range: Option<(Option<String>, Option<String>)>,
    pub replay_url: Option<String>,
    /// The first `ERRORS_KEPT` error messages.
    pub errors: Vec<String>,
    /// How many more the detection reported.
    pub errors_omitted: usize,
    /// The detection serialised, kept only when neither `ran_at` nor `search_id` is there
    /// to tell runs apart (the fingerprint then falls back to the whole content). Not
    /// kept otherwise: it would copy every description for nothing.
    pub run_content: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub destination: Destination,
    pub detection: Detection,
}

/// What to do with a parsed event object.
#[derive(Debug, Clone, PartialEq)]
pub enum Triage {
    Deliver(Box<Alert>),
    Skip {
        reason: String,
        detection_id: Option<String>,
    },
}

/// A bad alert: which field, what is wrong, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertError {
    pub field: String,
    pub problem: String,
    pub fix: String,
}

impl fmt::Display for AlertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}. Fix: {}", self.field, self.problem, self.fix)
    }
}

impl std::error::Error for AlertError {}

impl From<AlertError> for crate::failure::Failure {
    fn from(e: AlertError) -> Self {
        crate::failure::Failure::bad_input(format!("{}: {}", e.field, e.problem), e.fix)
    }
}

fn err(field: impl Into<String>, problem: impl Into<String>, fix: impl Into<String>) -> AlertError {
    AlertError {
        field: field.into(),
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// A value from the event, quoted and cut short for an error message.
pub fn quote(s: &str) -> String {
    const MAX: usize = 80;
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(MAX).collect();
    if s.chars().count() > MAX {
        out.push('…');
    }
    format!("{out:?}")
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads optional and required fields of one JSON object, naming each by its full path.
struct Fields<'a> {
    path: &'static str,
    obj: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    fn name(&self, key: &str) -> String {
        format!("{}.{}", self.path, key)
    }

    /// Present and not null.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    fn opt_str(&self, key: &str, fix: &str) -> Result<Option<String>, AlertError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(other) => Err(err(
                self.name(key),
                format!("must be a string, got {}", type_name(other)),
                fix,
            )),
        }
    }

    fn req_str(&self, key: &str, fix: &str) -> Result<String, AlertError> {
        self.opt_str(key, fix)?
            .ok_or_else(|| err(self.name(key), "is required but missing or empty", fix))
    }

    /// Text shown in the description: strings as they are, numbers and booleans as text.
    fn opt_text(&self, key: &str) -> Result<Option<String>, AlertError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(other) => Err(err(
                self.name(key),
                format!("must be a string, got {}", type_name(other)),
                "send this field as a string, or leave it out",
            )),
        }
    }

    fn opt_bool(&self, key: &str, default: bool) -> Result<bool, AlertError> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(err(
                self.name(key),
                format!("must be true or false, got {}", type_name(other)),
                format!(
                    "set {} to true or false (JSON booleans, not strings)",
                    self.name(key)
                ),
            )),
        }
    }

    fn opt_object(&self, key: &str, fix: &str) -> Result<Option<Fields<'a>>, AlertError> {
        self.opt_object_as(key, self.path, fix)
    }

    fn opt_object_as(
        &self,
        key: &str,
        path: &'static str,
        fix: &str,
    ) -> Result<Option<Fields<'a>>, AlertError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(obj)) => Ok(Some(Fields { path, obj })),
            Some(other) => Err(err(
                self.name(key),
                format!("must be an object, got {}", type_name(other)),
                fix,
            )),
        }
    }
}

/// Parses and checks one alert object, deciding whether it is delivered or skipped.
///
/// Order matters: inline credentials are refused first (whatever else the alert says), then
/// `enabled: false` and outcomes other than MATCHED are skipped before the destination is
/// checked, so that a skipped alert never fails over configuration it would not use.
pub fn triage(value: &Value) -> Result<Triage, AlertError> {
    let root = value.as_object().ok_or_else(|| {
        err(
            "alert",
            format!("must be a JSON object, got {}", type_name(value)),
            "send an object with \"destination\" and \"detection\"",
        )
    })?;
    let top = Fields {
        path: "alert",
        obj: root,
    };
    let dest = top
        .opt_object_as(
            "destination",
            "destination",
            "send the Jira destination as an object",
        )?
        .ok_or_else(|| {
            err(
                "destination",
                "is required but missing",
                "add a \"destination\" object with instance_url, api_token_secret and project_key",
            )
        })?;
    let det = top
        .opt_object_as(
            "detection",
            "detection",
            "send the detection run as an object",
        )?
        .ok_or_else(|| {
            err(
                "detection",
                "is required but missing",
                "add a \"detection\" object with id, name, severity and outcome",
            )
        })?;

    for key in INLINE_CREDENTIAL_FIELDS {
        if dest.obj.contains_key(key) {
            return Err(err(
                dest.name(key),
                "credentials are not accepted in the event",
                "remove it from the alert and store the token in AWS Secrets Manager; name that secret in destination.api_token_secret",
            ));
        }
    }

    let id = detection_id(&det)?;
    if !dest.opt_bool("enabled", true)? {
        return Ok(Triage::Skip {
            reason: "destination disabled (destination.enabled is false)".into(),
            detection_id: id.map(|(text, _)| text),
        });
    }
    let outcome = det.req_str(
        "outcome",
        "set detection.outcome; only MATCHED creates an issue",
    )?;
    if !outcome.eq_ignore_ascii_case("MATCHED") {
        return Ok(Triage::Skip {
            reason: format!("detection outcome is {}, not MATCHED", quote(&outcome)),
            detection_id: id.map(|(text, _)| text),
        });
    }
    let detection = parse_detection(&det, id, outcome)?;
    let destination = parse_destination(&dest)?;
    if destination.custom_fields.detection_id.is_some() && detection.numeric_id.is_none() {
        return Err(err(
            "destination.custom_fields.detection_id",
            format!(
                "maps to a Jira number field but detection.id {} is not a whole number",
                quote(&detection.id)
            ),
            "remove the detection_id mapping, or send a numeric detection.id",
        ));
    }
    Ok(Triage::Deliver(Box::new(Alert {
        destination,
        detection,
    })))
}

fn detection_id(det: &Fields) -> Result<Option<(String, Option<i64>)>, AlertError> {
    const FIX: &str = "set detection.id to the detection's id (a number or a string)";
    match det.get("id") {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Ok(Some((i.to_string(), Some(i)))),
            None => Err(err(
                "detection.id",
                "must be a whole number or a string",
                FIX,
            )),
        },
        Some(Value::String(s)) if !s.trim().is_empty() => {
            let s = s.trim();
            Ok(Some((s.to_string(), s.parse().ok())))
        }
        Some(other) => Err(err(
            "detection.id",
            format!(
                "must be a number or a non-empty string, got {}",
                type_name(other)
            ),
            FIX,
        )),
    }
}

fn parse_detection(
    det: &Fields,
    id: Option<(String, Option<i64>)>,
    outcome: String,
) -> Result<Detection, AlertError> {
    let (id, numeric_id) = id.ok_or_else(|| {
        err(
            "detection.id",
            "is required but missing",
            "set detection.id to the detection's id",
        )
    })?;
    let name = det.req_str("name", "set detection.name to the detection's name")?;
    let severity_text = det.req_str(
        "severity",
        "set detection.severity to one of CRITICAL, HIGH, MEDIUM, LOW, INFO",
    )?;
    let severity = Severity::parse(&severity_text).ok_or_else(|| {
        err(
            "detection.severity",
            format!("{} is not a known severity", quote(&severity_text)),
            "use one of CRITICAL, HIGH, MEDIUM, LOW, INFO (any case)",
        )
    })?;
    let match_count = match det.get("match_count") {
        None => None,
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
        Some(other) => {
            return Err(err(
                "detection.match_count",
                format!("must be a whole number, got {}", type_name(other)),
                "send the number of matches as a JSON integer, or leave it out",
            ))
        }
    };
    let threshold = match det.opt_object_as(
        "threshold",
        "detection.threshold",
        "send threshold as {\"operator\", \"value\", \"eagerness\"}",
    )? {
        None => None,
        Some(t) => Some(Threshold {
            operator: t.opt_text("operator")?,
            value: t.opt_text("value")?,
            eagerness: t.opt_text("eagerness")?,
        }),
    };
    let time_range = match det.opt_object_as(
        "time_range",
        "detection.time_range",
        "send time_range as {\"start\", \"end\"}",
    )? {
        None => None,
        Some(t) => Some((t.opt_text("start")?, t.opt_text("end")?)),
    };
    let (errors, errors_omitted) = match det.get("errors") {
        None => (Vec::new(), 0),
        Some(Value::Array(items)) => {
            // Only the first few are kept: a million error strings cost no more than 50.
            let present: Vec<&Value> = items.iter().filter(|v| !v.is_null()).collect();
            let kept = present
                .iter()
                .take(ERRORS_KEPT)
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            (kept, present.len().saturating_sub(ERRORS_KEPT))
        }
        Some(Value::String(s)) => (vec![s.clone()], 0),
        Some(other) => {
            return Err(err(
                "detection.errors",
                format!("must be an array of strings, got {}", type_name(other)),
                "send errors as a list of messages, or leave it out",
            ))
        }
    };
    let search_id = det.opt_text("search_id")?;
    let ran_at = det.opt_text("ran_at")?;
    let run_content = (search_id.is_none() && ran_at.is_none())
        .then(|| Value::Object(det.obj.clone()).to_string());
    Ok(Detection {
        id,
        numeric_id,
        name,
        description: det.opt_text("description")?,
        severity,
        outcome: outcome.to_ascii_uppercase(),
        match_count,
        run_type: det.opt_text("run_type")?,
        threshold,
        exhaustiveness: det.opt_text("exhaustiveness")?,
        search_id,
        trace_id: det.opt_text("trace_id")?,
        ran_at,
        time_range,
        replay_url: det.opt_text("replay_url")?,
        errors,
        errors_omitted,
        run_content,
    })
}

fn is_project_key(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('A'..='Z'))
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// An issue key such as `SEC-42`.
pub fn is_issue_key(s: &str) -> bool {
    match s.rsplit_once('-') {
        Some((project, number)) => {
            is_project_key(project)
                && !number.is_empty()
                && number.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

fn is_custom_field_id(s: &str) -> bool {
    s.strip_prefix("customfield_")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

fn parse_destination(dest: &Fields) -> Result<Destination, AlertError> {
    let instance_url = dest.req_str(
        "instance_url",
        "set destination.instance_url to your Jira base URL, e.g. https://your-domain.atlassian.net",
    )?;
    let instance_url = instance_url.trim_end_matches('/').to_string();
    if !(instance_url.starts_with("https://") || instance_url.starts_with("http://")) {
        return Err(err(
            "destination.instance_url",
            format!("{} is not an http(s) URL", quote(&instance_url)),
            "use the Jira base URL, e.g. https://your-domain.atlassian.net",
        ));
    }
    let site = crate::hosts::normalize("destination.instance_url", &instance_url)
        .map_err(|e| err(e.field, e.problem, e.fix))?;
    let email = dest.opt_str(
        "email",
        "set destination.email to the Jira user's email (Cloud) or user name (Server/DC)",
    )?;
    let api_token_secret = dest.req_str(
        "api_token_secret",
        "set destination.api_token_secret to the Secrets Manager secret name or ARN that holds the Jira API token",
    )?;
    let project_key = dest.req_str(
        "project_key",
        "set destination.project_key to the project's key, e.g. SEC",
    )?;
    if !is_project_key(&project_key) {
        return Err(err(
            "destination.project_key",
            format!("{} is not a Jira project key", quote(&project_key)),
            "use the key shown in the project's URL or settings: upper-case letters, digits and _, starting with a letter (keys are case-sensitive), e.g. SEC",
        ));
    }
    let issue_type = dest
        .opt_str(
            "issue_type",
            "set destination.issue_type to an issue type name of the project, e.g. Task",
        )?
        .unwrap_or_else(|| "Task".to_string());

    let priority = dest.opt_str(
        "priority",
        "set destination.priority to a Jira priority name, e.g. High",
    )?;
    let priority_map = dest.opt_object(
        "priority_map",
        "send priority_map as an object of severity -> priority name",
    )?;
    let priority = match (priority, priority_map) {
        (Some(_), Some(_)) => {
            return Err(err(
                "destination.priority",
                "priority and priority_map are both set",
                "keep priority for one fixed priority, or priority_map to map severities; remove the other",
            ))
        }
        (Some(name), None) => PriorityRule::Fixed(name),
        (None, Some(map)) => {
            let mut rules = BTreeMap::new();
            for (key, value) in map.obj {
                let field = format!("destination.priority_map.{}", quote(key));
                let severity = Severity::parse(key).ok_or_else(|| {
                    err(
                        field.clone(),
                        format!("{} is not a severity", quote(key)),
                        "use CRITICAL, HIGH, MEDIUM, LOW or INFO as keys",
                    )
                })?;
                match value {
                    Value::String(name) if !name.trim().is_empty() => {
                        rules.insert(severity, name.trim().to_string());
                    }
                    _ => {
                        return Err(err(
                            field,
                            "must be a non-empty Jira priority name",
                            "map each severity to a priority name that exists in Jira, e.g. \"High\"",
                        ))
                    }
                }
            }
            PriorityRule::Map(rules)
        }
        (None, None) => PriorityRule::ProjectDefault,
    };

    let labels = match dest.get("labels") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(err(
                    "destination.labels",
                    format!("must hold strings only, found {}", type_name(other)),
                    "send labels as an array of strings",
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(err(
                "destination.labels",
                format!("must be an array of strings, got {}", type_name(other)),
                "send labels as an array of strings, e.g. [\"team-blue\"]",
            ))
        }
    };

    let timeout = match dest.get("timeout") {
        None => Duration::from_secs(30),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(secs) if (1.0..=300.0).contains(&secs) => Duration::from_secs_f64(secs),
            _ => {
                return Err(err(
                    "destination.timeout",
                    format!("{n} is out of range"),
                    "set a number of seconds from 1 to 300 (default 30)",
                ))
            }
        },
        Some(other) => {
            return Err(err(
                "destination.timeout",
                format!("must be a number of seconds, got {}", type_name(other)),
                "set a number of seconds from 1 to 300 (default 30)",
            ))
        }
    };

    let api_version =
        match dest.get("api_version") {
            None => ApiVersion::Auto,
            Some(v) => match v
                .as_str()
                .map(str::trim)
                .map(str::to_string)
                .or_else(|| v.as_u64().map(|n| n.to_string()))
            {
                Some(s) if s.eq_ignore_ascii_case("auto") || s.is_empty() => ApiVersion::Auto,
                Some(s) if s == "2" => ApiVersion::V2,
                Some(s) if s == "3" => ApiVersion::V3,
                _ => return Err(err(
                    "destination.api_version",
                    format!("{} is not a supported API version", quote(&v.to_string())),
                    "use \"auto\" (detect), \"3\" (Jira Cloud) or \"2\" (Jira Server/Data Center)",
                )),
            },
        };

    let mut custom_fields = CustomFields::default();
    if let Some(cf) = dest.opt_object_as(
        "custom_fields",
        "destination.custom_fields",
        "send custom_fields as an object, e.g. {\"detection_id\": \"customfield_10050\"}",
    )? {
        for (key, value) in cf.obj {
            let field = format!("destination.custom_fields.{}", quote(key));
            let slot = match key.as_str() {
                "detection_id" => &mut custom_fields.detection_id,
                "severity" => &mut custom_fields.severity,
                "match_count" => &mut custom_fields.match_count,
                _ => {
                    return Err(err(
                        field,
                        "is not a supported custom field mapping",
                        "use the keys detection_id, severity and match_count",
                    ))
                }
            };
            match value {
                Value::Null => {}
                Value::String(id) if is_custom_field_id(id.trim()) => {
                    *slot = Some(id.trim().to_string())
                }
                _ => {
                    return Err(err(
                        field,
                        "must be a Jira custom field id",
                        "use the field's id as Jira shows it, e.g. \"customfield_10050\" (Settings > Issues > Custom fields)",
                    ))
                }
            }
        }
    }

    let parent_key = dest.opt_str(
        "parent_key",
        "set destination.parent_key to an issue key, e.g. SEC-1",
    )?;
    if let Some(key) = &parent_key {
        if !is_issue_key(key) {
            return Err(err(
                "destination.parent_key",
                format!("{} is not an issue key", quote(key)),
                "use an issue key such as SEC-1",
            ));
        }
    }

    let links = match dest.get("links") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let mut links = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let field = format!("destination.links[{i}]");
                const FIX: &str =
                    "send each link as {\"type\": \"Relates\", \"key\": \"SEC-42\"} (type is a Jira link type name)";
                let obj = item
                    .as_object()
                    .ok_or_else(|| err(field.clone(), "must be an object", FIX))?;
                let link_type = obj.get("type").and_then(Value::as_str).map(str::trim);
                let key = obj.get("key").and_then(Value::as_str).map(str::trim);
                match (link_type, key) {
                    (Some(t), Some(k)) if !t.is_empty() && is_issue_key(k) => {
                        links.push(IssueLink {
                            link_type: t.to_string(),
                            key: k.to_string(),
                        })
                    }
                    _ => return Err(err(field, "needs a link type name and an issue key", FIX)),
                }
            }
            links
        }
        Some(other) => {
            return Err(err(
                "destination.links",
                format!("must be an array, got {}", type_name(other)),
                "send links as [{\"type\": \"Relates\", \"key\": \"SEC-42\"}]",
            ))
        }
    };

    Ok(Destination {
        site,
        email,
        api_token_secret,
        project_key,
        issue_type,
        priority,
        labels,
        timeout,
        api_version,
        custom_fields,
        parent_key,
        links,
        group_repeats: dest.opt_bool("group_repeats", false)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn sample() -> Value {
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

    fn deliver(v: &Value) -> Alert {
        match triage(v).expect("valid") {
            Triage::Deliver(a) => *a,
            other => panic!("expected delivery, got {other:?}"),
        }
    }

    fn error_of(v: &Value) -> AlertError {
        triage(v).expect_err("should be refused")
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
        assert_eq!(e.field, "detection.severity");
        assert!(e.fix.contains("CRITICAL"));
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
                assert!(reason.contains("disabled"));
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
            assert_eq!(e.field, format!("destination.{key}"));
            assert!(e.fix.contains("Secrets Manager"));
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
            assert_eq!(e.field, format!("{path}.{field}"), "{e}");
        }
        let e = error_of(&json!({"detection": {}}));
        assert_eq!(e.field, "destination");
        let e = error_of(&json!([1, 2]));
        assert_eq!(e.field, "alert");
    }

    #[test]
    fn project_key_must_be_upper_case() {
        for bad in ["sec", "1SEC", "SE C", "SEC-1", ""] {
            let mut v = sample();
            v["destination"]["project_key"] = json!(bad);
            assert_eq!(error_of(&v).field, "destination.project_key", "{bad}");
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
        assert_eq!(error_of(&v).field, "destination.priority");
        // Bad map entries.
        let mut v = sample();
        v["destination"]["priority_map"] = json!({"URGENT": "P1"});
        assert!(error_of(&v).field.starts_with("destination.priority_map"));
        let mut v = sample();
        v["destination"]["priority_map"] = json!({"HIGH": 3});
        assert!(error_of(&v).field.starts_with("destination.priority_map"));
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
                None => assert_eq!(error_of(&v).field, "destination.api_version"),
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
        assert!(error_of(&bad)
            .field
            .starts_with("destination.custom_fields"));
        let mut bad = v.clone();
        bad["destination"]["custom_fields"] = json!({"severity": "Severity"});
        assert!(error_of(&bad)
            .field
            .starts_with("destination.custom_fields"));
        let mut bad = v.clone();
        bad["destination"]["links"] = json!([{"type": "Relates"}]);
        assert_eq!(error_of(&bad).field, "destination.links[0]");
        let mut bad = v.clone();
        bad["destination"]["parent_key"] = json!("not a key");
        assert_eq!(error_of(&bad).field, "destination.parent_key");
        // A number field needs a numeric detection id.
        let mut bad = v.clone();
        bad["detection"]["id"] = json!("det-abc");
        assert_eq!(
            error_of(&bad).field,
            "destination.custom_fields.detection_id"
        );
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
            assert_eq!(error_of(&v).field, format!("{path}.{field}"));
        }
    }

    #[test]
    fn error_messages_quote_values_briefly() {
        let mut v = sample();
        v["destination"]["project_key"] = json!("x".repeat(10_000));
        let e = error_of(&v);
        assert!(e.to_string().len() < 500, "{}", e.to_string().len());
    }
}
