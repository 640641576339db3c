//! `GET /`: the issues received, as a page a person can read.

use crate::State;
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// ADF to HTML, for the node types the function produces.
fn adf_html(node: &Value) -> String {
    let inner = || {
        node.get("content")
            .and_then(Value::as_array)
            .map(|c| c.iter().map(adf_html).collect::<String>())
            .unwrap_or_default()
    };
    match node.get("type").and_then(Value::as_str).unwrap_or("") {
        "doc" => inner(),
        "paragraph" => format!("<p>{}</p>", inner()),
        "heading" => {
            let l = node
                .pointer("/attrs/level")
                .and_then(Value::as_u64)
                .unwrap_or(2)
                .clamp(1, 6);
            format!("<h{l}>{}</h{l}>", inner())
        }
        "bulletList" => format!("<ul>{}</ul>", inner()),
        "orderedList" => format!("<ol>{}</ol>", inner()),
        "listItem" => format!("<li>{}</li>", inner()),
        "hardBreak" => "<br>".into(),
        "text" => {
            let mut t = esc(node.get("text").and_then(Value::as_str).unwrap_or(""));
            for m in node
                .get("marks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                t = match m.get("type").and_then(Value::as_str) {
                    Some("strong") => format!("<strong>{t}</strong>"),
                    Some("em") => format!("<em>{t}</em>"),
                    Some("link") => {
                        let href = m
                            .pointer("/attrs/href")
                            .and_then(Value::as_str)
                            .unwrap_or("#");
                        format!("<a href=\"{}\">{t}</a>", esc(href))
                    }
                    _ => t,
                }
            }
            t
        }
        _ => inner(),
    }
}

/// Wiki markup shown as written, in a preformatted block: the page shows what Jira stored.
fn description_html(d: &Value) -> String {
    match d {
        Value::String(s) => format!("<pre class=\"wiki\">{}</pre>", esc(s)),
        Value::Object(_) => adf_html(d),
        _ => String::new(),
    }
}

pub(crate) fn render(s: &State) -> Response {
    let flavor = format!("{:?}", s.config.flavor);
    let mut rows = String::new();
    for i in s.issues.iter().rev() {
        let f = &i.fields;
        let text = |p: &str| {
            f.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let labels = f
            .get("labels")
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .filter_map(Value::as_str)
                    .map(esc)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        rows.push_str(&format!(
            "<section><h2>{} &middot; {}</h2><p><b>Priority:</b> {} &middot; <b>Type:</b> {} &middot; <b>Labels:</b> {} &middot; <b>Comments:</b> {}</p><div class=\"desc\">{}</div></section>",
            esc(&i.key),
            esc(&text("/summary")),
            esc(&text("/priority/name")),
            esc(&text("/issuetype/name")),
            labels,
            i.comments.len(),
            description_html(f.get("description").unwrap_or(&Value::Null)),
        ));
    }
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Fake Jira ({flavor})</title><style>body{{font-family:sans-serif;max-width:60em;margin:auto}}section{{border:1px solid #ccc;padding:0 1em;margin:1em 0}}pre{{white-space:pre-wrap}}</style></head><body><h1>Fake Jira ({flavor}): {} issues</h1>{rows}</body></html>",
        s.issues.len()
    ))
    .into_response()
}
