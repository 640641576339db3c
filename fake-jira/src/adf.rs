//! A structural check of Atlassian Document Format, after the rules of Atlassian's ADF
//! schema that matter for issue descriptions. (The function's own tests validate against
//! the full official schema; this keeps the fake strict without shipping it.)

use serde_json::Value;

const BLOCKS: [&str; 8] = [
    "paragraph",
    "heading",
    "bulletList",
    "orderedList",
    "codeBlock",
    "blockquote",
    "rule",
    "panel",
];
const MARKS: [&str; 7] = [
    "strong",
    "em",
    "code",
    "link",
    "strike",
    "underline",
    "textColor",
];

pub(crate) fn validate(doc: &Value) -> Result<(), String> {
    if doc.get("type").and_then(Value::as_str) != Some("doc") {
        return Err("root type must be doc".into());
    }
    if doc.get("version").and_then(Value::as_u64) != Some(1) {
        return Err("version must be 1".into());
    }
    let content = doc
        .get("content")
        .and_then(Value::as_array)
        .ok_or("doc needs content")?;
    for node in content {
        block(node)?;
    }
    Ok(())
}

fn children(node: &Value) -> Result<&Vec<Value>, String> {
    node.get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| "content must be an array".to_string())
}

fn block(node: &Value) -> Result<(), String> {
    let t = node.get("type").and_then(Value::as_str).unwrap_or("");
    if !BLOCKS.contains(&t) {
        return Err(format!("unknown block {t}"));
    }
    match t {
        "paragraph" => match node.get("content") {
            None => Ok(()),
            Some(_) => children(node)?.iter().try_for_each(inline),
        },
        "heading" => {
            let level = node
                .pointer("/attrs/level")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            if !(1..=6).contains(&level) {
                return Err("heading level must be 1-6".into());
            }
            match node.get("content") {
                None => Ok(()),
                Some(_) => children(node)?.iter().try_for_each(inline),
            }
        }
        "bulletList" | "orderedList" => {
            let items = children(node)?;
            if items.is_empty() {
                return Err("a list needs at least one listItem".into());
            }
            for item in items {
                if item.get("type").and_then(Value::as_str) != Some("listItem") {
                    return Err("list children must be listItem".into());
                }
                let parts = children(item)?;
                match parts
                    .first()
                    .and_then(|p| p.get("type"))
                    .and_then(Value::as_str)
                {
                    Some("paragraph") => {}
                    _ => return Err("a listItem starts with a paragraph".into()),
                }
                parts.iter().try_for_each(block)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn inline(node: &Value) -> Result<(), String> {
    match node.get("type").and_then(Value::as_str) {
        Some("hardBreak") => Ok(()),
        Some("text") => {
            match node.get("text").and_then(Value::as_str) {
                Some(t) if !t.is_empty() => {}
                _ => return Err("text nodes must not be empty".into()),
            }
            for mark in node
                .get("marks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let m = mark.get("type").and_then(Value::as_str).unwrap_or("");
                if !MARKS.contains(&m) {
                    return Err(format!("unknown mark {m}"));
                }
                if m == "link"
                    && mark
                        .pointer("/attrs/href")
                        .and_then(Value::as_str)
                        .is_none()
                {
                    return Err("a link mark needs attrs.href".into());
                }
            }
            Ok(())
        }
        other => Err(format!("unknown inline node {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_good_and_rejects_bad_documents() {
        let good = json!({"type": "doc", "version": 1, "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "x"}]},
            {"type": "bulletList", "content": [{"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "a", "marks": [{"type": "link", "attrs": {"href": "https://x"}}]}]}]}]}
        ]});
        assert!(validate(&good).is_ok());
        for bad in [
            json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}]}),
            json!({"type": "doc", "version": 1, "content": [{"type": "bulletList", "content": []}]}),
            json!({"type": "doc", "version": 1, "content": [{"type": "heading", "attrs": {"level": 7}, "content": []}]}),
            json!({"type": "doc", "version": 2, "content": []}),
            json!({"type": "doc", "version": 1, "content": [{"type": "script"}]}),
        ] {
            assert!(validate(&bad).is_err(), "{bad}");
        }
    }
}
