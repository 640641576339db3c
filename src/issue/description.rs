//! The issue description as a small document model, rendered as Atlassian Document Format
//! (v3) or wiki markup (v2), within Jira's 32,767-character limit.

use super::text::{cut_utf16, one_line, strip_controls, utf16_len, wiki_escape};
use super::ApiFlavor;
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;

/// Jira's limit for a description. For ADF it is applied to the serialised JSON, which is
/// never shorter than the text it holds, so both forms stay under what Jira accepts.
pub const DESCRIPTION_LIMIT: usize = 32_767;
/// No single text is kept longer than this before rendering: bounds the work for huge input.
const TEXT_CAP: usize = DESCRIPTION_LIMIT;
/// At most this many list items are shown, the rest counted (a safety net: the alert
/// parser already keeps only the first errors).
const LIST_CAP: usize = 100;
const CUT_MARK: &str = " … [cut]";
const TRUNCATED_NOTE: &str = "Note: this description was cut to fit Jira's limit of 32,767 characters. The replay link and the detection itself hold the full details.";

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading(String),
    /// Free text: blank lines separate paragraphs, single newlines are line breaks.
    Text(String),
    /// `label: value` pairs, shown as a bullet list.
    Facts(Vec<(String, String)>),
    Link {
        label: String,
        text: String,
        href: String,
    },
    List(Vec<String>),
    /// Shown in italics at the end (delivery notes, truncation).
    Note(String),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Description {
    blocks: Vec<Block>,
    /// A text was cut to its cap when pushed.
    capped: bool,
}

impl Description {
    pub fn push(&mut self, block: Block) {
        let mut cut = false;
        self.blocks.push(cap_block(block, &mut cut));
        self.capped |= cut;
    }

    pub fn note(&mut self, text: String) {
        self.push(Block::Note(text));
    }

    /// Renders for `flavor` as a JSON value (ADF document or wiki string).
    pub fn render(&self, flavor: ApiFlavor) -> Value {
        serde_json::from_str(&self.render_json(flavor)).unwrap_or(Value::Null)
    }

    /// Renders for `flavor` as serialised JSON, cutting the longest texts until it fits
    /// the limit. The request body embeds this text as it is.
    pub fn render_json(&self, flavor: ApiFlavor) -> String {
        self.render_json_cut(flavor).0
    }

    /// The same, and whether anything of the detection was cut to fit.
    pub fn render_json_cut(&self, flavor: ApiFlavor) -> (String, bool) {
        let (first, len) = render_once(&self.blocks, flavor);
        if len <= DESCRIPTION_LIMIT {
            return (first, self.capped);
        }
        (self.render_cut(flavor), true)
    }

    fn render_cut(&self, flavor: ApiFlavor) -> String {
        let mut blocks = self.blocks.clone();
        blocks.push(Block::Note(TRUNCATED_NOTE.into()));
        // Escaping makes rendered length differ from text length: cut by the excess and
        // measure again. Each pass removes at least the excess, so few passes are needed.
        for _ in 0..16 {
            let (out, len) = render_once(&blocks, flavor);
            if len <= DESCRIPTION_LIMIT {
                return out;
            }
            if !cut_longest(&mut blocks, len - DESCRIPTION_LIMIT + 64, flavor) {
                break;
            }
        }
        // Unreachable for anything `push` accepts; kept so the limit holds whatever happens.
        render_once(&[Block::Note(TRUNCATED_NOTE.into())], flavor).0
    }
}

/// `s` without control characters, cut to the text cap (`cut` set when it was).
fn cap(s: &str, cut: &mut bool) -> String {
    let s = strip_controls(s);
    if utf16_len(&s) > TEXT_CAP {
        *cut = true;
        format!("{}{CUT_MARK}", cut_utf16(&s, TEXT_CAP))
    } else {
        s
    }
}

fn cap_block(block: Block, cut: &mut bool) -> Block {
    let mut cap = |s: &str| cap(s, cut);
    match block {
        Block::Heading(t) => Block::Heading(cap(&t)),
        Block::Text(t) => Block::Text(cap(&t)),
        Block::Note(t) => Block::Note(cap(&t)),
        Block::Facts(f) => Block::Facts(f.into_iter().map(|(k, v)| (cap(&k), cap(&v))).collect()),
        Block::Link { label, text, href } => Block::Link {
            label: cap(&label),
            text: cap(&text),
            href: cap(&href),
        },
        Block::List(items) => {
            let total = items.len();
            let mut kept: Vec<String> = items.iter().take(LIST_CAP).map(|i| cap(i)).collect();
            if total > LIST_CAP {
                kept.push(format!("… and {} more", total - LIST_CAP));
            }
            Block::List(kept)
        }
    }
}

/// How long `text` is once rendered (escaping included), in UTF-16 units.
fn rendered_text_len(text: &str, flavor: ApiFlavor) -> usize {
    match flavor {
        ApiFlavor::V3 => utf16_len(&Value::String(text.to_string()).to_string()) - 2,
        ApiFlavor::V2 => utf16_len(&wiki_escape(text)),
    }
}

/// Shortens the longest free text (description, list item, fact value) so that its
/// rendered form loses at least `by` units. Returns false when nothing is left to cut.
fn cut_longest(blocks: &mut [Block], by: usize, flavor: ApiFlavor) -> bool {
    let mut longest: Option<&mut String> = None;
    let mut longest_len = 0;
    for block in blocks.iter_mut() {
        let texts: Vec<&mut String> = match block {
            Block::Text(t) | Block::Heading(t) => vec![t],
            Block::List(items) => items.iter_mut().collect(),
            Block::Facts(f) => f.iter_mut().map(|(_, v)| v).collect(),
            Block::Link { .. } | Block::Note(_) => vec![],
        };
        for t in texts {
            let len = utf16_len(t);
            if len > longest_len {
                longest_len = len;
                longest = Some(t);
            }
        }
    }
    match longest {
        Some(t) if longest_len > CUT_MARK.len() => {
            // Escaping makes a rendered unit cost less than one text unit: scale the cut.
            let rendered = rendered_text_len(t, flavor).max(1);
            let by_text = (by as u128 * longest_len as u128).div_ceil(rendered as u128) as usize;
            let keep = longest_len.saturating_sub(by_text + CUT_MARK.len());
            let cut = format!("{}{CUT_MARK}", cut_utf16(t, keep));
            *t = cut;
            true
        }
        _ => false,
    }
}

/// The serialised description and the length Jira counts: the ADF JSON for v3, the wiki
/// text (not its JSON quoting) for v2.
fn render_once(blocks: &[Block], flavor: ApiFlavor) -> (String, usize) {
    match flavor {
        ApiFlavor::V3 => {
            let json = serde_json::to_string(&adf(blocks)).unwrap_or_default();
            let len = utf16_len(&json);
            (json, len)
        }
        ApiFlavor::V2 => {
            let text = wiki(blocks);
            let len = utf16_len(&text);
            (serde_json::to_string(&text).unwrap_or_default(), len)
        }
    }
}

// ---- Atlassian Document Format -------------------------------------------------------
// Typed nodes serialised straight to text: a `serde_json::Value` tree costs an allocation
// per map, which made rendering several times slower than everything else together.

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum Node<'a> {
    Doc {
        version: u8,
        content: Vec<Node<'a>>,
    },
    Heading {
        attrs: HeadingAttrs,
        content: Vec<Node<'a>>,
    },
    Paragraph {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        content: Vec<Node<'a>>,
    },
    BulletList {
        content: Vec<Node<'a>>,
    },
    ListItem {
        content: Vec<Node<'a>>,
    },
    Text {
        text: Cow<'a, str>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        marks: Vec<Mark<'a>>,
    },
    HardBreak,
}

#[derive(Serialize)]
struct HeadingAttrs {
    level: u8,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum Mark<'a> {
    Strong,
    Em,
    Link { attrs: LinkAttrs<'a> },
}

#[derive(Serialize)]
struct LinkAttrs<'a> {
    href: &'a str,
}

/// A text node, or nothing for empty text (ADF text nodes must not be empty).
fn text<'a>(text: impl Into<Cow<'a, str>>, marks: Vec<Mark<'a>>) -> Option<Node<'a>> {
    let text = text.into();
    (!text.is_empty()).then_some(Node::Text { text, marks })
}

/// Lines become text nodes separated by hard breaks.
fn lines_to_inline(t: &str) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    for (i, line) in t.split('\n').enumerate() {
        if i > 0 {
            out.push(Node::HardBreak);
        }
        out.extend(text(line.trim_end_matches('\r'), vec![]));
    }
    out
}

fn bullet_list(items: Vec<Vec<Node<'_>>>) -> Option<Node<'_>> {
    // A bulletList needs at least one listItem, each starting with a paragraph.
    let items: Vec<Node> = items
        .into_iter()
        .map(|content| Node::ListItem {
            content: vec![Node::Paragraph { content }],
        })
        .collect();
    (!items.is_empty()).then_some(Node::BulletList { content: items })
}

fn label(k: &str) -> Option<Node<'static>> {
    text(format!("{k}: "), vec![Mark::Strong])
}

fn adf(blocks: &[Block]) -> Node<'_> {
    let mut content = Vec::new();
    for block in blocks {
        match block {
            Block::Heading(t) => {
                if let Some(node) = text(one_line(t), vec![]) {
                    content.push(Node::Heading {
                        attrs: HeadingAttrs { level: 2 },
                        content: vec![node],
                    });
                }
            }
            Block::Text(t) => {
                for para in t.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
                    content.push(Node::Paragraph {
                        content: lines_to_inline(para),
                    });
                }
            }
            Block::Facts(facts) => {
                let items = facts
                    .iter()
                    .map(|(k, v)| {
                        label(k)
                            .into_iter()
                            .chain(text(one_line(v), vec![]))
                            .collect()
                    })
                    .collect();
                content.extend(bullet_list(items));
            }
            Block::Link {
                label: name,
                text: shown,
                href,
            } => {
                let link = Mark::Link {
                    attrs: LinkAttrs { href },
                };
                content.push(Node::Paragraph {
                    content: label(name)
                        .into_iter()
                        .chain(text(one_line(shown), vec![link]))
                        .collect(),
                });
            }
            Block::List(items) => {
                let items = items.iter().map(|i| lines_to_inline(i)).collect();
                content.extend(bullet_list(items));
            }
            Block::Note(t) => content.push(Node::Paragraph {
                content: text(one_line(t), vec![Mark::Em]).into_iter().collect(),
            }),
        }
    }
    Node::Doc {
        version: 1,
        content,
    }
}

// ---- Wiki markup (Server / Data Center) ----------------------------------------------

/// Characters that would end a `[text|url]` link early are percent-encoded.
/// A link target in wiki markup: every character that markup gives a meaning (`|` ends
/// the target, `[ ]` the link, `!` starts an image, `{ }` a macro) is percent-encoded, so
/// a URL can never break out of its link.
fn wiki_href(href: &str) -> String {
    let mut out = String::with_capacity(href.len());
    for c in href.chars() {
        match c {
            '|' => out.push_str("%7C"),
            '[' => out.push_str("%5B"),
            ']' => out.push_str("%5D"),
            '!' => out.push_str("%21"),
            '{' => out.push_str("%7B"),
            '}' => out.push_str("%7D"),
            c if c.is_whitespace() || c.is_control() => {
                let mut buf = [0; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn wiki(blocks: &[Block]) -> String {
    let mut out: Vec<String> = Vec::new();
    for block in blocks {
        match block {
            Block::Heading(t) => out.push(format!("h2. {}", wiki_escape(&one_line(t)))),
            Block::Text(t) => {
                // Each line escaped; a line break inside a paragraph stays a line break.
                let text = t
                    .split('\n')
                    .map(|l| wiki_escape(l.trim_end_matches('\r')))
                    .collect::<Vec<_>>()
                    .join("\n");
                out.push(text);
            }
            Block::Facts(facts) => out.push(
                facts
                    .iter()
                    .map(|(k, v)| format!("* *{}:* {}", wiki_escape(k), wiki_escape(&one_line(v))))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            Block::Link { label, text, href } => out.push(format!(
                "*{}:* [{}|{}]",
                wiki_escape(label),
                wiki_escape(&one_line(text)),
                wiki_href(href)
            )),
            Block::List(items) => out.push(
                items
                    .iter()
                    .map(|i| format!("* {}", wiki_escape(&one_line(i))))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            Block::Note(t) => out.push(format!("_{}_", wiki_escape(&one_line(t)))),
        }
    }
    out.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(n: usize) -> Description {
        let mut d = Description::default();
        d.push(Block::Heading("Name".into()));
        d.push(Block::Text("a\"b<".repeat(n / 4)));
        d.push(Block::Facts(vec![("Severity".into(), "HIGH".into())]));
        d.push(Block::List(vec!["boom".into(); 10]));
        d
    }

    #[test]
    fn huge_descriptions_fit_with_a_visible_note() {
        for flavor in [ApiFlavor::V2, ApiFlavor::V3] {
            let v = big(100_000).render(flavor);
            let len = match &v {
                Value::String(s) => utf16_len(s),
                other => utf16_len(&other.to_string()),
            };
            assert!(len <= DESCRIPTION_LIMIT, "{flavor:?}: {len}");
            assert!(
                len > DESCRIPTION_LIMIT - 2_000,
                "{flavor:?}: cut too much: {len}"
            );
            let s = v.to_string();
            assert!(s.contains("cut to fit Jira's limit"), "{flavor:?}");
            assert!(s.contains("Severity"), "facts survive: {flavor:?}");
        }
    }

    #[test]
    fn small_descriptions_are_not_cut() {
        let v = big(1_000).render(ApiFlavor::V3);
        assert!(!v.to_string().contains("cut to fit"));
    }

    #[test]
    fn many_errors_are_counted_not_listed() {
        let mut d = Description::default();
        d.push(Block::List((0..100_000).map(|i| format!("e{i}")).collect()));
        let s = d.render(ApiFlavor::V2);
        let s = s.as_str().unwrap();
        assert!(s.contains("and 99900 more"));
        assert_eq!(s.matches("* e").count(), 100);
    }

    #[test]
    fn adf_has_no_empty_text_nodes() {
        let mut d = Description::default();
        d.push(Block::Heading("".into()));
        d.push(Block::Text("\n\n\n".into()));
        d.push(Block::Facts(vec![("Empty".into(), "".into())]));
        d.push(Block::List(vec!["".into()]));
        let s = d.render(ApiFlavor::V3).to_string();
        assert!(!s.contains(r#""text":"""#), "{s}");
    }

    #[test]
    fn wiki_links_cannot_be_broken_out_of() {
        let mut d = Description::default();
        d.push(Block::Link {
            label: "Replay".into(),
            text: "go]".into(),
            href: "https://x.example/a|b]c".into(),
        });
        let s = d.render(ApiFlavor::V2);
        assert_eq!(
            s.as_str().unwrap(),
            "*Replay:* [go\\]|https://x.example/a%7Cb%5Dc]"
        );
        // An image (`!...!`) or a macro (`{...}`) cannot start inside the target.
        let mut d = Description::default();
        d.push(Block::Link {
            label: "Replay".into(),
            text: "replay".into(),
            href: "https://x.example/a!https://attacker.example/p.png!{color}".into(),
        });
        let s = d.render(ApiFlavor::V2);
        let s = s.as_str().unwrap();
        assert!(!s.contains('!') && !s.contains('{'), "{s}");
        assert!(
            s.contains("a%21https://attacker.example/p.png%21%7Bcolor%7D"),
            "{s}"
        );
    }
}
