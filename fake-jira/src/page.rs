//! `GET /` and `GET /browse/KEY`: the issues received, as pages a person can read.

use crate::issue::Issue;
use crate::state::State;
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

/// Inline wiki markup to HTML: `\x` escapes, `*bold*`, `_italic_`, `[text|url]`.
fn wiki_inline(line: &str) -> String {
    let mut out = String::new();
    let mut bold = false;
    let mut em = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push_str(&esc(&n.to_string()));
                }
            }
            '*' => {
                out.push_str(if bold { "</strong>" } else { "<strong>" });
                bold = !bold;
            }
            '_' => {
                out.push_str(if em { "</em>" } else { "<em>" });
                em = !em;
            }
            '[' => {
                let mut inner = String::new();
                let mut escaped = false;
                for n in chars.by_ref() {
                    if escaped {
                        inner.push(n);
                        escaped = false;
                    } else if n == '\\' {
                        escaped = true;
                    } else if n == ']' {
                        break;
                    } else {
                        inner.push(n);
                    }
                }
                let (text, href) = inner.rsplit_once('|').unwrap_or((&inner, &inner));
                out.push_str(&format!("<a href=\"{}\">{}</a>", esc(href), esc(text)));
            }
            c => out.push_str(&esc(&c.to_string())),
        }
    }
    if em {
        out.push_str("</em>");
    }
    if bold {
        out.push_str("</strong>");
    }
    out
}

/// Wiki markup to HTML, for what the function writes: `h2.` headings, `* ` bullets,
/// paragraphs separated by blank lines, line breaks inside them.
fn wiki_html(text: &str) -> String {
    let mut out = String::new();
    for block in text.split("\n\n") {
        let lines: Vec<&str> = block.lines().collect();
        if let Some(h) = block.strip_prefix("h2. ") {
            out.push_str(&format!("<h2>{}</h2>", wiki_inline(h)));
        } else if !lines.is_empty() && lines.iter().all(|l| l.starts_with("* ")) {
            out.push_str("<ul>");
            for l in lines {
                out.push_str(&format!("<li>{}</li>", wiki_inline(&l[2..])));
            }
            out.push_str("</ul>");
        } else {
            let parts: Vec<String> = lines.iter().map(|l| wiki_inline(l)).collect();
            out.push_str(&format!("<p>{}</p>", parts.join("<br>")));
        }
    }
    out
}

/// The description rendered as Jira would show it: from ADF on Cloud, wiki markup on
/// Server/DC.
fn description_html(d: &Value) -> String {
    match d {
        Value::String(s) => wiki_html(s),
        Value::Object(_) => adf_html(d),
        _ => String::new(),
    }
}

/// One issue as a section: its fields, links, status and comments, as Jira would show them.
fn issue_html(i: &Issue) -> String {
    let f = &i.fields;
    let text = |p: &str| {
        f.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let labels: Vec<String> = f
        .get("labels")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).map(esc).collect())
        .unwrap_or_default();
    // Issues the stand-in starts with (parents and link targets for the samples).
    let seeded = if labels.iter().any(|l| l == "security-detection") {
        ""
    } else {
        " <small>(seeded by the stand-in)</small>"
    };
    // Every other field the create set: custom fields, components, due date, assignee, ...
    const SHOWN_APART: [&str; 12] = [
        "summary",
        "description",
        "project",
        "issuetype",
        "priority",
        "labels",
        "parent",
        "issuelinks",
        "status",
        "resolution",
        "created",
        "updated",
    ];
    let custom: Vec<String> = f
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| !SHOWN_APART.contains(&k.as_str()) && *k != "resolutiondate")
                .map(|(k, v)| format!("{}: {}", esc(k), esc(&v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let links: Vec<String> = i
        .links
        .iter()
        .map(|(t, k)| format!("{} {}", esc(t), esc(k)))
        .collect();
    let comments: String = i
        .comments
        .iter()
        .map(|c| {
            format!(
                "<div class=\"comment\"><small>{}</small>{}</div>",
                esc(&c.created),
                description_html(&c.body)
            )
        })
        .collect();
    format!(
        "<section><h2><a href=\"/browse/{key}\">{key}</a> &middot; {summary}{seeded}</h2><p><b>Status:</b> {category} ({status}) &middot; <b>Resolution:</b> {resolution} &middot; <b>Created:</b> {created} &middot; <b>Updated:</b> {updated} &middot; <b>Priority:</b> {priority} &middot; <b>Type:</b> {kind} &middot; <b>Parent:</b> {parent} &middot; <b>Links:</b> {links} &middot; <b>Labels:</b> {labels} &middot; <b>Fields:</b> {custom}</p><div class=\"desc\">{desc}</div><p><b>Comments:</b> {n}</p>{comments}</section>",
        key = esc(&i.key),
        summary = esc(&text("/summary")),
        category = esc(&i.status_category),
        status = esc(&i.status),
        resolution = match (&i.resolution, &i.resolutiondate) {
            (Some(r), Some(d)) => format!("{} ({})", esc(r), esc(d)),
            (Some(r), None) => esc(r),
            _ => "Unresolved".into(),
        },
        created = esc(&i.created),
        updated = esc(&i.updated),
        priority = esc(&text("/priority/name")),
        kind = esc(&text("/issuetype/name")),
        parent = esc(&text("/parent/key")),
        links = links.join(", "),
        labels = labels.join(", "),
        custom = custom.join(", "),
        desc = description_html(f.get("description").unwrap_or(&Value::Null)),
        n = i.comments.len(),
    )
}

fn page(s: &State, title: &str, body: String) -> Response {
    let flavor = format!("{:?}", s.config.flavor);
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title} (fake Jira {flavor})</title><style>body{{font-family:sans-serif;max-width:60em;margin:auto}}section{{border:1px solid #ccc;padding:0 1em;margin:1em 0}}.comment{{border-left:3px solid #ccc;padding-left:1em}}pre{{white-space:pre-wrap}}</style></head><body><h1>{title} <small>(fake Jira {flavor})</small></h1>{body}</body></html>"
    ))
    .into_response()
}

/// `GET /`: every issue, newest first.
pub(crate) fn render(s: &State) -> Response {
    let rows: String = s.issues.iter().rev().map(issue_html).collect();
    page(s, &format!("{} issues", s.issues.len()), rows)
}

/// `GET /browse/KEY`: the issue an answer's `issue_url` points at.
pub(crate) fn render_issue(s: &State, key: &str) -> Response {
    match s.issues.iter().find(|i| i.key == key) {
        Some(i) => page(s, &esc(key), issue_html(i)),
        None => (
            axum::http::StatusCode::NOT_FOUND,
            page(
                s,
                "Issue not found",
                format!("<p>No issue {}.</p>", esc(key)),
            ),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wiki_markup_renders() {
        let html = wiki_html("h2. Name\n\nText \\*not bold\\* a\\-b\nnext\n\n* *Severity:* HIGH\n\n*Replay:* [Open|https://x.example/a]\n\n_note_");
        assert_eq!(
            html,
            "<h2>Name</h2><p>Text *not bold* a-b<br>next</p><ul><li><strong>Severity:</strong> HIGH</li></ul><p><strong>Replay:</strong> <a href=\"https://x.example/a\">Open</a></p><p><em>note</em></p>"
        );
        assert_eq!(wiki_inline("<script>"), "&lt;script&gt;");
    }
}
