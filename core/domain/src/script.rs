//! A scenario's script (PRODUCT D1): rich text the agent reads during the call,
//! with links and in-script anchors ("yes" → jump to the objections). It comes
//! from an administrator's editor and is shown in every agent's browser, so it
//! is stored only after sanitising (docs/decisions/011-html-sanitiser.md).

use ammonia::{Builder, UrlRelative};
use std::borrow::Cow;
use std::collections::HashSet;

/// Longest script accepted, before and after sanitising (an item holds at most 350 KiB).
pub const MAX_SCRIPT_CHARS: usize = 100_000;

const TAGS: [&str; 18] = [
    "p",
    "br",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "a",
    "span",
    "div",
    "blockquote",
];
const SCHEMES: [&str; 4] = ["http", "https", "mailto", "tel"];

/// Relative links are kept only as in-script anchors: `#objections` jumps within
/// the script, while a relative path would resolve against the app's own origin.
fn anchors_only(url: &str) -> Option<Cow<'_, str>> {
    url.starts_with('#').then_some(Cow::Borrowed(url))
}

/// The script as stored: only the safe subset of HTML is left (paragraphs, line
/// breaks, bold/italic/underline, lists, headings h1-h4, links to http(s),
/// mailto and tel, in-script anchors, `id`s as anchor targets). Scripts, styles,
/// event handlers and `javascript:` links are removed.
pub fn sanitize_script(html: &str) -> String {
    let mut b = Builder::empty();
    b.tags(TAGS.into_iter().collect::<HashSet<_>>())
        .generic_attributes(["id"].into_iter().collect::<HashSet<_>>())
        .tag_attributes(
            [("a", ["href", "name"].into_iter().collect::<HashSet<_>>())]
                .into_iter()
                .collect(),
        )
        .url_schemes(SCHEMES.into_iter().collect::<HashSet<_>>())
        .url_relative(UrlRelative::Custom(Box::new(anchors_only)))
        .link_rel(Some("noopener noreferrer"));
    b.clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_and_javascript_links_are_removed() {
        let s = sanitize_script(
            r#"<p onclick="steal()">Hello<script>alert(1)</script></p><style>p{}</style><a href="javascript:alert(1)">x</a><img src=x onerror=alert(1)>"#,
        );
        assert!(!s.contains("script"), "{s}");
        assert!(!s.contains("onclick"), "{s}");
        assert!(!s.contains("javascript"), "{s}");
        assert!(!s.contains("alert"), "{s}");
        assert!(!s.contains("<style"), "{s}");
        assert!(!s.contains("<img"), "{s}");
        assert!(s.contains("<p>Hello</p>"), "{s}");
    }

    #[test]
    fn links_and_in_script_anchors_are_kept() {
        let s = sanitize_script(
            r##"<p>Interested? <a href="#objections">yes</a> <a href="https://acme.example/offer">offer</a> <a href="tel:+74951234567">call</a> <a href="mailto:a@b.ru">mail</a></p><h2 id="objections">Objections</h2><ul><li><b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u></li></ul><ol><li>1</li></ol><h1>1</h1><h3>3</h3><h4>4</h4><br>"##,
        );
        for kept in [
            r##"href="#objections""##,
            r#"<h2 id="objections">Objections</h2>"#,
            r#"href="https://acme.example/offer""#,
            r#"href="tel:+74951234567""#,
            r#"href="mailto:a@b.ru""#,
            "<ul><li><b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u></li></ul>",
            "<ol><li>1</li></ol><h1>1</h1><h3>3</h3><h4>4</h4><br>",
        ] {
            assert!(s.contains(kept), "{kept} missing from {s}");
        }
    }

    #[test]
    fn relative_paths_and_unknown_schemes_lose_their_link() {
        let s = sanitize_script(
            r#"<a href="/admin">a</a><a href="data:text/html,x">b</a><a href="ftp://x">c</a>"#,
        );
        assert!(!s.contains("href"), "{s}");
        assert!(s.contains(">a</a>") && s.contains(">b</a>"), "{s}");
    }
}
