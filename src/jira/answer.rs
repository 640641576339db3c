//! Reading Jira's answers: bodies read up to a size limit, transport failures and error
//! bodies turned into `JiraError`, every text from Jira redacted of the credential before
//! it is cut to length.

use super::redact::Redactor;
use super::JiraError;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Error texts from Jira are cut to this length in logs and errors.
pub(super) const DETAIL_LIMIT: usize = 500;
/// Bodies larger than this are not read: a hostile server cannot exhaust memory.
const BODY_LIMIT: usize = 1 << 20;

pub(super) async fn read_limited(
    mut resp: reqwest::Response,
    timeout: Duration,
) -> Result<Vec<u8>, JiraError> {
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > BODY_LIMIT {
                    return Err(JiraError::BadResponse {
                        detail: format!("answer larger than {BODY_LIMIT} bytes"),
                    });
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
            Err(e) => return Err(transport_error(&e, timeout)),
        }
    }
}

pub(super) fn transport_error(e: &reqwest::Error, timeout: Duration) -> JiraError {
    // reqwest's own text names the URL (never headers); we build ours from the kind only.
    if e.is_connect() {
        let root = root_cause(e);
        JiraError::Connect {
            detail: if e.is_timeout() {
                "connect timed out".to_string()
            } else {
                root
            },
        }
    } else if e.is_timeout() {
        JiraError::NoAnswer {
            detail: format!("timed out after {:.1}s", timeout.as_secs_f64()),
        }
    } else {
        JiraError::NoAnswer {
            detail: format!("connection failed: {}", root_cause(e)),
        }
    }
}

pub(super) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cut(&cur.to_string(), 200)
}

pub(super) fn cut(s: &str, max: usize) -> String {
    crate::issue::text::ellipsize(s, max)
}

/// Turns a non-2xx answer into a `JiraError`, reading Jira's error body.
pub(super) fn classify(
    status: StatusCode,
    retry_after: Option<Duration>,
    location: Option<String>,
    body: &[u8],
    secret: &Redactor,
) -> JiraError {
    let (messages, field_errors) = parse_error_body(body, secret);
    let mut all: Vec<String> = messages.clone();
    all.extend(field_errors.iter().map(|(k, v)| format!("{k}: {v}")));
    let detail = if all.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("no details")
            .to_string()
    } else {
        cut(&all.join("; "), DETAIL_LIMIT)
    };
    match status.as_u16() {
        300..=399 => JiraError::Redirect {
            status: status.as_u16(),
            location: location.unwrap_or_else(|| "(no Location header)".into()),
        },
        401 => JiraError::Unauthorized { detail },
        403 => JiraError::Forbidden { detail },
        404 => JiraError::NotFound { detail },
        429 => JiraError::Throttled {
            status: 429,
            retry_after,
        },
        503 if retry_after.is_some() => JiraError::Throttled {
            status: 503,
            retry_after,
        },
        500..=599 => JiraError::Server {
            status: status.as_u16(),
            detail,
        },
        s => JiraError::Rejected {
            status: s,
            messages,
            field_errors,
        },
    }
}

/// `{"errorMessages": [...], "errors": {field: message}}`, or the text of a non-JSON body.
fn parse_error_body(body: &[u8], secret: &Redactor) -> (Vec<String>, BTreeMap<String, String>) {
    let mut messages = Vec::new();
    let mut fields = BTreeMap::new();
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(obj)) => {
            if let Some(Value::Array(items)) = obj.get("errorMessages") {
                for m in items.iter().filter_map(Value::as_str).take(20) {
                    messages.push(cut(&secret.redact(m), DETAIL_LIMIT));
                }
            }
            if let Some(Value::Object(errs)) = obj.get("errors") {
                for (k, v) in errs.iter().take(50) {
                    let text = v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    // A key is Jira's text too: an echo of the credential may sit there.
                    fields.insert(
                        cut(&secret.redact(k), 100),
                        cut(&secret.redact(&text), DETAIL_LIMIT),
                    );
                }
            }
            if messages.is_empty() && fields.is_empty() {
                // The gateway's `{"code", "message"}`; the token endpoint's OAuth error.
                let text = |k: &str| obj.get(k).and_then(Value::as_str);
                let m = match (text("message"), text("error"), text("error_description")) {
                    (Some(m), _, _) => Some(m.to_string()),
                    (None, Some(e), Some(d)) => Some(format!("{e}: {d}")),
                    (None, Some(e), None) => Some(e.to_string()),
                    _ => None,
                };
                if let Some(m) = m {
                    messages.push(cut(&secret.redact(&m), DETAIL_LIMIT));
                }
            }
        }
        _ => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if !text.is_empty() {
                messages.push(cut(&secret.redact(text), DETAIL_LIMIT));
            }
        }
    }
    (messages, fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use serde_json::json;

    #[test]
    fn keys_of_jira_errors_are_redacted_too() {
        let body = br#"{"errorMessages":[],"errors":{"field tok-XYZW-1":"bad"}}"#;
        let e = classify(
            StatusCode::BAD_REQUEST,
            None,
            None,
            body,
            &Redactor::new(["tok-XYZW-1".to_string()]),
        );
        let JiraError::Rejected { field_errors, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(
            field_errors.keys().collect::<Vec<_>>(),
            ["field [redacted]"]
        );
        assert!(!e.to_string().contains("tok-XYZW-1"), "{e}");
    }

    #[test]
    fn error_bodies_are_parsed_and_redacted() {
        let body = br#"{"errorMessages":["bad tok-XYZW-1"],"errors":{"priority":"The priority selected is invalid."}}"#;
        let e = classify(
            StatusCode::BAD_REQUEST,
            None,
            None,
            body,
            &Redactor::new(["tok-XYZW-1".to_string()]),
        );
        match &e {
            JiraError::Rejected {
                field_errors,
                messages,
                ..
            } => {
                assert_eq!(
                    field_errors["priority"],
                    "The priority selected is invalid."
                );
                assert_eq!(messages[0], "bad [redacted]");
            }
            other => panic!("{other:?}"),
        }
        assert!(e
            .to_string()
            .contains("priority: The priority selected is invalid."));
    }

    #[test]
    fn statuses_are_classified() {
        let c = |s: u16, ra: Option<u64>| {
            classify(
                StatusCode::from_u16(s).unwrap(),
                ra.map(Duration::from_secs),
                Some("https://evil.example/".into()),
                b"plain text",
                &Redactor::new(["t0ken".to_string()]),
            )
        };
        use crate::failure::FailureClass;
        assert_eq!(c(401, None).class(), FailureClass::Auth);
        assert_eq!(c(403, None).class(), FailureClass::Permission);
        assert_eq!(c(404, None).class(), FailureClass::NotFound);
        assert_eq!(c(400, None).class(), FailureClass::Rejected);
        assert_eq!(c(429, Some(2)).retry_after(), Some(Duration::from_secs(2)));
        assert!(c(503, Some(1)).is_transient());
        assert_eq!(c(502, None).class(), FailureClass::Jira5xx);
        assert!(c(302, None).to_string().contains("https://evil.example/"));
        assert!(c(401, None).fix().contains("Verify email and API token"));
        assert!(c(403, None).fix().contains("Create Issues permission"));
        assert!(c(404, None).fix().contains("instance URL and project key"));
        assert!(c(400, None).fix().contains("issue type exists"));
    }

    #[test]
    fn a_token_echoed_across_the_cut_leaves_nothing_behind() {
        let token = "tok-0123456789abcdef";
        let r = Redactor::new([
            token.to_string(),
            base64::engine::general_purpose::STANDARD.encode(format!("u:{token}")),
        ]);
        // The token starts just before the cut: cutting first would leave a prefix.
        let text = format!("{}{token}", "x".repeat(DETAIL_LIMIT - 5));
        let body = serde_json::to_vec(&json!({"errorMessages": [text]})).unwrap();
        let e = classify(StatusCode::BAD_REQUEST, None, None, &body, &r);
        assert!(!e.to_string().contains("tok-0"), "{e}");
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("u:{token}"));
        let body = format!("echo: Basic {basic}");
        let e = classify(StatusCode::UNAUTHORIZED, None, None, body.as_bytes(), &r);
        assert!(!e.to_string().contains(&basic[..8]), "{e}");
    }
}
