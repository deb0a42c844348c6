//! Article bodies: one safe HTML form, produced by [`sanitize`] on the
//! server for every write and rendered as is by the app's preview and the
//! public page (which sanitise again, so a row changed behind the server's
//! back still renders safely).
//!
//! Allowed: h2, h3, p, strong/b, em, ul/ol/li, br, blockquote, links to
//! http(s) only (opened in a new tab, `rel="noopener nofollow"`), and images
//! whose `src` is one of this server's media (`/media/{key}`). Everything
//! else is removed: scripts and styles with their content, the tag of
//! anything unknown (its text stays), every other attribute.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

const TAGS: [&str; 14] = [
    "h2",
    "h3",
    "p",
    "strong",
    "b",
    "em",
    "ul",
    "ol",
    "li",
    "a",
    "img",
    "br",
    "blockquote",
    "i",
];

/// Elements removed with everything inside them: their content is code,
/// styling or a foreign document, never text a reader should see.
const DROPPED_WITH_CONTENT: [&str; 12] = [
    "script", "style", "iframe", "svg", "math", "noscript", "template", "object", "embed",
    "textarea", "select", "title",
];

/// The path of a media of this server, as an article's `<img src>` holds it.
pub const MEDIA_PATH_PREFIX: &str = "/media/";

/// The allowlist, without what every link gets. `links` adds `target` and
/// `rel` (after a first pass has removed the author's own, so the output
/// is the same however often it is sanitised).
fn builder(links: bool) -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    b.tags(TAGS.into_iter().collect())
        .clean_content_tags(DROPPED_WITH_CONTENT.into_iter().collect())
        .generic_attributes(HashSet::new())
        .generic_attribute_prefixes(HashSet::new())
        .tag_attributes(HashMap::from([
            ("a", HashSet::from(["href"])),
            ("img", HashSet::from(["src", "alt"])),
        ]))
        .url_schemes(HashSet::from(["http", "https"]))
        .url_relative(ammonia::UrlRelative::PassThrough)
        .strip_comments(true)
        .attribute_filter(|tag, attr, value| match (tag, attr) {
            ("a", "href") => is_web_link(value).then(|| value.into()),
            ("img", "src") => media_key_of(value).map(|_| value.into()),
            _ => Some(value.into()),
        });
    if links {
        b.link_rel(Some("noopener nofollow"))
            .set_tag_attribute_value("a", "target", "_blank");
    } else {
        b.link_rel(None);
    }
    b
}

/// The safe form of an article body (idempotent: sanitising it again
/// changes nothing).
pub fn sanitize(html: &str) -> String {
    static PASSES: OnceLock<[ammonia::Builder<'static>; 2]> = OnceLock::new();
    let [strip, links] = PASSES.get_or_init(|| [builder(false), builder(true)]);
    let first = strip.clean(html).to_string();
    links.clean(&first).to_string()
}

fn is_web_link(href: &str) -> bool {
    let lower = href.trim_start().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// The media key in a `/media/{key}` address (32 lower-case hex digits),
/// or `None` for any other address.
pub fn media_key_of(src: &str) -> Option<&str> {
    let key = src.strip_prefix(MEDIA_PATH_PREFIX)?;
    (key.len() == 32 && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(key)
}

/// The media keys of the images placed in a (sanitised) body, in order,
/// each once: the server makes them public while the article is live.
pub fn media_keys(html: &str) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("src=\"") {
        rest = &rest[at + 5..];
        let end = rest.find('"').unwrap_or(rest.len());
        if let Some(key) = media_key_of(&rest[..end]) {
            if !keys.iter().any(|k| k == key) {
                keys.push(key.to_string());
            }
        }
        rest = &rest[end..];
    }
    keys
}

/// An article written before bodies were HTML: blank-line paragraphs,
/// single newlines as line breaks, every character escaped.
pub fn from_plain_text(text: &str) -> String {
    let normalized = text.replace("\r\n", "\n");
    let paragraphs: Vec<String> = normalized
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lines: Vec<String> = p.lines().map(ammonia::clean_text).collect();
            format!("<p>{}</p>", lines.join("<br>"))
        })
        .collect();
    sanitize(&paragraphs.join("\n"))
}

/// The text of a body without its markup (for the list's excerpt and the
/// length limit people see).
pub fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    /// Hostile input -> what survives. Every row must come out with no
    /// script, no handler, no foreign URL scheme and no style.
    #[test]
    fn hostile_html_is_neutralised() {
        let img = format!("<img src=\"/media/{KEY}\" alt=\"厨房\">");
        let table: Vec<(String, String)> = vec![
            ("<p>装修<script>alert(1)</script>避坑</p>".into(), "<p>装修避坑</p>".into()),
            ("<p onclick=\"alert(1)\" onmouseover=x>hi</p>".into(), "<p>hi</p>".into()),
            (
                "<a href=\"javascript:alert(1)\">x</a>".into(),
                "<a target=\"_blank\" rel=\"noopener nofollow\">x</a>".into(),
            ),
            (
                "<a href=\" JaVaScRiPt:alert(1)\">x</a>".into(),
                "<a target=\"_blank\" rel=\"noopener nofollow\">x</a>".into(),
            ),
            (
                "<a href=\"data:text/html;base64,PHNjcmlwdD4=\">x</a>".into(),
                "<a target=\"_blank\" rel=\"noopener nofollow\">x</a>".into(),
            ),
            (
                // an author's own target and rel are replaced
                "<a href=\"/relative\" target=\"_self\" rel=\"opener\">x</a>".into(),
                "<a target=\"_blank\" rel=\"noopener nofollow\">x</a>".into(),
            ),
            (
                "<a href=\"https://example.com/a?b=1&amp;c=2\" onclick=\"x()\">ok</a>".into(),
                "<a href=\"https://example.com/a?b=1&amp;c=2\" target=\"_blank\" rel=\"noopener nofollow\">ok</a>".into(),
            ),
            ("<svg onload=alert(1)><script>alert(2)</script></svg>ok".into(), "ok".into()),
            (
                "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>".into(),
                "".into(),
            ),
            (
                "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>".into(),
                "".into(),
            ),
            ("<p style=\"background:url(javascript:x)\">s</p>".into(), "<p>s</p>".into()),
            ("<style>p{color:red}</style><p>t</p>".into(), "<p>t</p>".into()),
            ("<iframe src=\"https://evil.example\">in</iframe>after".into(), "after".into()),
            ("<img src=x onerror=\"alert(1)\">".into(), "<img>".into()),
            ("<img src=\"https://evil.example/t.png\">".into(), "<img>".into()),
            (
                format!("<img src=\"data:image/png;base64,AAAA\">{img}"),
                format!("<img>{img}"),
            ),
            (img.clone(), img.clone()),
            (
                "<h1>big</h1><h2 id=\"x\" class=\"y\">二</h2><h3>三</h3>".into(),
                "big<h2>二</h2><h3>三</h3>".into(),
            ),
            (
                "<ul><li><b>b</b> <strong>s</strong> <em>e</em></li></ul><ol><li>1</li></ol>".into(),
                "<ul><li><b>b</b> <strong>s</strong> <em>e</em></li></ul><ol><li>1</li></ol>".into(),
            ),
            (
                "<blockquote>“好”</blockquote>a<br>b".into(),
                "<blockquote>“好”</blockquote>a<br>b".into(),
            ),
            ("<!-- <script>x</script> --><p>c</p>".into(), "<p>c</p>".into()),
            ("<form action=\"https://e\"><input name=p>f</form>".into(), "f".into()),
            ("<object data=\"x.swf\">o</object><embed src=x>".into(), "".into()),
            ("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>".into(), "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>".into()),
            ("<base href=\"https://evil\"><meta http-equiv=refresh content=0>".into(), "".into()),
            (
                "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>".into(),
                "<img>\"&gt;".into(),
            ),
        ];
        for (input, want) in &table {
            let got = sanitize(input);
            assert_eq!(&got, want, "{input}");
            assert_eq!(sanitize(&got), got, "idempotent: {input}");
            let lower = got.to_ascii_lowercase();
            for bad in [
                "<script",
                "onerror",
                "onload",
                "onclick",
                "javascript:",
                "data:",
                "style",
                "<svg",
                "<iframe",
            ] {
                assert!(
                    !lower.contains(bad),
                    "{bad} survived in {got} (from {input})"
                );
            }
        }
    }

    #[test]
    fn media_keys_are_the_images_of_this_server_each_once() {
        let other = "fedcba9876543210fedcba9876543210";
        let html = sanitize(&format!(
            "<p><img src=\"/media/{KEY}\"></p><img src=\"/media/{other}\"><img src=\"/media/{KEY}\"><img src=\"/media/nothex\">"
        ));
        assert_eq!(media_keys(&html), vec![KEY.to_string(), other.to_string()]);
        assert_eq!(media_key_of("/media/abc"), None);
        assert_eq!(media_key_of(&format!("/media/{KEY}")), Some(KEY));
    }

    #[test]
    fn old_plain_text_becomes_escaped_paragraphs() {
        let table = [
            ("一段\n\n二段\n换行", "<p>一段</p>\n<p>二段<br>换行</p>"),
            (
                "a < b & <script>x</script>",
                "<p>a &lt; b &amp; &lt;script&gt;x&lt;/script&gt;</p>",
            ),
            ("\r\n\r\n", ""),
        ];
        for (text, want) in table {
            assert_eq!(from_plain_text(text), want, "{text:?}");
        }
        assert_eq!(plain_text("<p>a &lt; b</p><p>c</p>"), "a < bc");
    }
}
