//! Text rules for Jira fields. Jira runs on Java and counts lengths in UTF-16 code units
//! (`String.length()`), so every limit here is counted that way.

pub const SUMMARY_LIMIT: usize = 255;
pub const LABEL_LIMIT: usize = 255;

pub fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// The longest prefix of `s` that fits in `max` UTF-16 units, never splitting a character.
pub fn cut_utf16(s: &str, max: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += c.len_utf16();
        if used > max {
            return &s[..i];
        }
    }
    s
}

/// Cuts to `max` UTF-16 units, ending with an ellipsis when anything was cut.
pub fn ellipsize(s: &str, max: usize) -> String {
    if utf16_len(s) <= max {
        return s.to_string();
    }
    let mut out = cut_utf16(s, max.saturating_sub(1)).to_string();
    out.push('…');
    out
}

/// Control characters other than newline and tab are removed: Jira rejects some of them
/// and they render as garbage.
pub fn strip_controls(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

/// Whitespace runs (newlines included) become one space; control characters go.
pub fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `[SEVERITY] Name`: one line, at most 255 UTF-16 units.
pub fn one_line_summary(severity: &str, name: &str) -> String {
    ellipsize(&format!("[{severity}] {}", one_line(name)), SUMMARY_LIMIT)
}

/// A Jira label: no whitespace (runs become `-`), no control characters, at most 255 units.
pub fn clean_label(s: &str) -> String {
    let joined = s
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    cut_utf16(&joined, LABEL_LIMIT).to_string()
}

/// An absolute http(s) URL: the only kind shown as a clickable link.
pub fn is_web_url(s: &str) -> bool {
    match url::Url::parse(s.trim()) {
        Ok(u) => matches!(u.scheme(), "http" | "https") && u.host().is_some(),
        Err(_) => false,
    }
}

/// Escapes Jira wiki markup so that text shows as typed.
pub fn wiki_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '*'
                | '_'
                | '?'
                | '-'
                | '+'
                | '^'
                | '~'
                | '{'
                | '}'
                | '['
                | ']'
                | '|'
                | '!'
                | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_is_one_line_and_bounded() {
        let s = one_line_summary("HIGH", "Bad\nthing\r\n\thappened");
        assert_eq!(s, "[HIGH] Bad thing happened");
        let long = "x".repeat(300);
        let s = one_line_summary("LOW", &long);
        assert_eq!(utf16_len(&s), 255);
        assert!(s.ends_with('…'));
        assert!(s.starts_with("[LOW] xxx"));
    }

    #[test]
    fn summary_counts_emoji_as_two_units_and_never_splits_them() {
        let name = "🔥".repeat(200); // 400 UTF-16 units
        let s = one_line_summary("CRITICAL", &name);
        assert!(utf16_len(&s) <= 255);
        assert!(s.ends_with('…'));
        assert!(s.chars().filter(|c| *c == '🔥').count() >= 100);
    }

    #[test]
    fn labels_lose_whitespace_and_length() {
        assert_eq!(clean_label("Severity: high"), "Severity:-high");
        assert_eq!(clean_label("  a \n b\t"), "a-b");
        assert_eq!(clean_label("   "), "");
        assert_eq!(utf16_len(&clean_label(&"é".repeat(400))), 255);
        assert_eq!(utf16_len(&clean_label(&"😀".repeat(200))), 254);
    }

    #[test]
    fn web_urls() {
        assert!(is_web_url("https://app.example.com/replay/1"));
        assert!(is_web_url("http://127.0.0.1:8080/x"));
        assert!(!is_web_url("javascript:alert(1)"));
        assert!(!is_web_url("data:text/html,hi"));
        assert!(!is_web_url("/relative/path"));
    }

    #[test]
    fn wiki_markup_is_escaped() {
        assert_eq!(
            wiki_escape("*bold* [x|y] {code}"),
            "\\*bold\\* \\[x\\|y\\] \\{code\\}"
        );
    }
}
