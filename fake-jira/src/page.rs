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
