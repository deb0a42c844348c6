//! Server-rendered public pages: the share page, the friendly "not found",
//! the privacy notice. The HTML is in askama templates (`templates/`,
//! checked at compile time, everything printed escaped unless marked safe);
//! this module prepares what they show. No third-party requests.

use askama::Template;
use warmlead_core::domain::{Company, ContentItem, ContentKind};

use crate::storage::ResolvedShare;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The first Chinese or English tag of `Accept-Language` wins; Chinese by default.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(header) = header else {
            return Lang::Zh;
        };
        for tag in header.split(',') {
            let tag = tag
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if tag.starts_with("zh") {
                return Lang::Zh;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::Zh
    }

    pub(crate) fn is_zh(self) -> bool {
        self == Lang::Zh
    }

    pub(crate) fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// What every page's `<head>` says: its language and title (and, on share
/// pages, the link preview).
pub(crate) struct Head<'a> {
    pub lang: Lang,
    pub title: &'a str,
    pub preview: Option<Preview>,
}

impl<'a> Head<'a> {
    /// A page without a link preview (error pages, the privacy notice).
    pub(crate) fn plain(lang: Lang, title: &'a str) -> Head<'a> {
        Head {
            lang,
            title,
            preview: None,
        }
    }
}

/// What a chat app shows for a link (its card): Open Graph and Twitter
/// tags, the plain description, and schema.org `itemprop`s and a hidden
/// first image, which WeChat reads. URLs are absolute, built from the
/// server's public base URL (a card is fetched from elsewhere).
pub(crate) struct Preview {
    /// The server's public base URL, which absolute URLs are built on.
    pub public_url: String,
    pub url: String,
    pub description: String,
    /// The card's image: its path on this server (the page's hidden first
    /// image, under the page's own origin as the CSP wants).
    pub image_path: Option<String>,
    /// `og:type`: "article", or "video.other" for a video.
    pub og_type: &'static str,
    pub site_name: String,
}

/// A card's description is cut to this many characters (chat apps show two
/// or three lines).
pub(crate) const PREVIEW_DESCRIPTION_CHARS: usize = 120;

/// The card's description: the summary, else the first paragraph of the
/// body; whitespace collapsed, cut with "…" past
/// [`PREVIEW_DESCRIPTION_CHARS`].
pub(crate) fn describe(summary: &str, body: &str) -> String {
    let source = if summary.trim().is_empty() {
        body.replace("\r\n", "\n")
            .split("\n\n")
            .map(str::trim)
            .find(|p| !p.is_empty())
            .unwrap_or("")
            .to_string()
    } else {
        summary.to_string()
    };
    let words: Vec<&str> = source.split_whitespace().collect();
    let flat = words.join(" ");
    if flat.chars().count() <= PREVIEW_DESCRIPTION_CHARS {
        return flat;
    }
    let mut cut: String = flat.chars().take(PREVIEW_DESCRIPTION_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// The text of an article's (sanitised) HTML for its card: tags dropped, a
/// blank line after each block, the entities the sanitiser writes decoded
/// (the template escapes it again).
fn html_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[open + 1..open + close];
        if ["/p", "/h2", "/h3", "/li", "/blockquote", "br"]
            .iter()
            .any(|t| tag.starts_with(t))
        {
            out.push_str("\n\n");
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

impl Preview {
    /// The image's absolute URL, for the tags a fetcher reads elsewhere.
    pub(crate) fn image_url(&self) -> Option<String> {
        self.image_path
            .as_deref()
            .map(|p| absolute(&self.public_url, p))
    }
}

/// The absolute URL of a path on this server's public address.
pub(crate) fn absolute(public_url: &str, path: &str) -> String {
    format!("{}{path}", public_url.trim_end_matches('/'))
}

/// A template rendered; a formatting error (none of ours can fail) is
/// logged and answered with an empty page rather than a panic.
pub(crate) fn render(page: &impl Template) -> String {
    page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "a page template failed");
        String::new()
    })
}

/// How the templates escape what they print: `& < > " '` as named entities
/// (askama's own escaper writes numeric ones; these read better and are
/// what the pages always sent).
#[derive(Clone, Copy)]
pub(crate) struct Escape;

impl askama::filters::Escaper for Escape {
    fn write_escaped_str<W: std::fmt::Write>(&self, mut dest: W, s: &str) -> std::fmt::Result {
        let mut done = 0;
        for (i, b) in s.bytes().enumerate() {
            let entity = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            dest.write_str(&s[done..i])?;
            dest.write_str(entity)?;
            done = i + 1;
        }
        dest.write_str(&s[done..])
    }
}

/// The company's first letter, the logo of a company without one.
pub(crate) fn initial(name: &str) -> String {
    name.chars().next().map(String::from).unwrap_or_default()
}

/// Blank-line separated paragraphs, each a list of lines (shown with line
/// breaks between them).
fn paragraphs(body: &str) -> Vec<Vec<String>> {
    body.replace("\r\n", "\n")
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.lines().map(str::to_string).collect())
        .collect()
}

/// The limits the lead form states (its `maxlength`s).
pub(crate) struct FormLimits {
    pub name: usize,
    pub phone: usize,
    pub note: usize,
}

const FORM_LIMITS: FormLimits = FormLimits {
    name: warmlead_core::limits::MAX_NAME_CHARS,
    phone: warmlead_core::limits::MAX_PHONE_CHARS,
    note: warmlead_core::limits::MAX_NOTE_CHARS,
};

/// One labelled block of a case study ("客户：…").
pub(crate) struct Fact {
    pub label: &'static str,
    pub class: &'static str,
    pub text: String,
}

/// The item's text as the page shows it: paragraphs, and for a poster the
/// hint, for a case study its facts and quotes.
#[derive(Default)]
pub(crate) struct BodyView {
    pub poster_hint: Option<&'static str>,
    pub facts: Vec<Fact>,
    pub quotes: Vec<String>,
    pub paragraphs: Vec<Vec<String>>,
    /// An article's body: the stored HTML, sanitised again on the way out
    /// (the function the server applied on write and the app's preview
    /// shows), so it is printed as it is.
    pub article_html: Option<String>,
    /// A case study's photos (media paths).
    pub images: Vec<String>,
}

/// The share page (`templates/share.html`).
#[derive(Template)]
#[template(path = "share.html")]
pub(crate) struct SharePage<'a> {
    pub head: Head<'a>,
    pub company: &'a Company,
    pub item: &'a ContentItem,
    pub sharer: &'a str,
    pub token: &'a str,
    pub body: BodyView,
    pub limits: FormLimits,
    pub nonce: String,
    /// The token as a JSON string for the script, with `<` escaped so
    /// nothing can close the script element.
    pub token_json: String,
    /// False: the page works (forward, form) but reports nothing (a preview
    /// fetcher, the sharer's own browser).
    pub track: bool,
}

impl<'a> SharePage<'a> {
    pub(crate) fn new(
        share: &'a ResolvedShare,
        lang: Lang,
        track: bool,
        public_url: &str,
    ) -> SharePage<'a> {
        let item = &share.item;
        SharePage {
            head: Head {
                lang,
                title: &item.title,
                preview: Some(share_preview(share, public_url)),
            },
            company: &share.company,
            item,
            sharer: &share.sharer.name,
            token: &share.token,
            body: match &item.case_study {
                Some(cs) if item.kind == ContentKind::CaseStudy => case_study_view(cs, lang),
                _ => body_view(item.kind, &item.body, lang),
            },
            limits: FORM_LIMITS,
            nonce: super::security::csp_nonce(),
            token_json: script_string(&share.token),
            track,
        }
    }
}

/// Tokens are base64url (checked before we get here); JSON-encode anyway
/// and keep `<` out so nothing can close the script element.
fn script_string(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_else(|_| "\"\"".into())
        .replace('<', "\\u003c")
}

/// The item a friend sees, with the script that reports the view (see
/// `templates/beacon.js`: the view at once, then every 5 s while visible, at
/// each quarter of the page, on video pause, and by `sendBeacon` when the
/// page is hidden or left; refused reports are retried with backoff).
/// `track` false: the page works (forward, form) but reports nothing.
pub(crate) fn share_page(
    share: &ResolvedShare,
    lang: Lang,
    track: bool,
    public_url: &str,
) -> String {
    render(&SharePage::new(share, lang, track, public_url))
}

/// The share's card: the item's title and summary, its cover (a poster's
/// image, a video's cover).
fn share_preview(share: &ResolvedShare, public_url: &str) -> Preview {
    let item = &share.item;
    Preview {
        url: absolute(public_url, &format!("/s/{}", share.token)),
        description: match item.kind {
            ContentKind::Article => describe(&item.summary, &html_text(&item.body)),
            _ => describe(&item.summary, &item.body),
        },
        image_path: item.cover.as_ref().map(|c| c.path()),
        public_url: public_url.to_string(),
        og_type: match item.kind {
            ContentKind::Video => "video.other",
            _ => "article",
        },
        site_name: share.company.name.clone(),
    }
}

/// Case studies are written as labelled blocks ("客户：…", "问题：…",
/// "方案：…", "结果：…", English "Customer:" …) and quotes in “…”; they render as a
/// structured card. Other kinds (and unlabelled text) are paragraphs.
fn body_view(kind: ContentKind, body: &str, lang: Lang) -> BodyView {
    match kind {
        ContentKind::Poster => BodyView {
            poster_hint: Some(match lang {
                Lang::Zh => "长按图片可保存到手机",
                Lang::En => "Press and hold the image to save it",
            }),
            paragraphs: paragraphs(body),
            ..BodyView::default()
        },
        ContentKind::CaseStudy => case_study(body),
        ContentKind::Article => BodyView {
            article_html: Some(warmlead_core::article::sanitize(body)),
            ..BodyView::default()
        },
        _ => BodyView {
            paragraphs: paragraphs(body),
            ..BodyView::default()
        },
    }
}

/// A case study written in the library: its fields as the card's facts,
/// its quote, its photos (the template escapes every field).
fn case_study_view(cs: &warmlead_core::domain::CaseStudy, lang: Lang) -> BodyView {
    let labels = match lang {
        Lang::Zh => ["客户", "问题", "方案", "结果"],
        Lang::En => ["Customer", "Problem", "Solution", "Result"],
    };
    let fields = [
        (labels[0], "customer", &cs.customer),
        (labels[1], "problem", &cs.problem),
        (labels[2], "solution", &cs.solution),
        (labels[3], "result", &cs.result),
    ];
    let facts = fields
        .iter()
        .filter(|(_, _, v)| !v.trim().is_empty())
        .map(|(label, class, v)| Fact {
            label,
            class,
            text: v.trim().to_string(),
        })
        .collect();
    let quote = cs.quote.trim();
    BodyView {
        facts,
        quotes: if quote.is_empty() {
            Vec::new()
        } else {
            vec![format!("“{quote}”")]
        },
        images: cs.images.iter().map(|m| m.path()).collect(),
        ..BodyView::default()
    }
}

#[derive(Template)]
#[template(path = "archived.html")]
struct ArchivedPage<'a> {
    head: Head<'a>,
    company: &'a Company,
    text: &'a str,
}

/// What an archived item's old links show: said kindly, under the
/// company's header, and no 404.
pub(crate) fn archived_page(lang: Lang, company: &Company) -> String {
    let (title, text) = match lang {
        Lang::Zh => (
            "内容已下架",
            "这篇内容已不再提供，感谢你的关注。如有需要，可以直接联系分享给你的朋友。",
        ),
        Lang::En => (
            "No longer available",
            "This content is no longer available. Thank you for your interest; the friend who shared it can tell you more.",
        ),
    };
    render(&ArchivedPage {
        head: Head::plain(lang, title),
        company,
        text,
    })
}

const CASE_LABELS: [(&str, &str); 13] = [
    ("客户", "customer"),
    ("业主", "customer"),
    ("房子", "context"),
    ("背景", "context"),
    ("预算", "context"),
    ("我们做了什么", "solution"),
    ("Customer", "customer"),
    ("问题", "problem"),
    ("Problem", "problem"),
    ("方案", "solution"),
    ("Solution", "solution"),
    ("结果", "result"),
    ("Result", "result"),
];

fn case_study(body: &str) -> BodyView {
    let mut view = BodyView::default();
    let mut rest = Vec::new();
    let normalized = body.replace("\r\n", "\n");
    for para in normalized.split("\n\n").map(str::trim) {
        if para.is_empty() {
            continue;
        }
        let labelled = CASE_LABELS.iter().find_map(|&(label, class)| {
            let tail = para.strip_prefix(label)?;
            let text = tail.strip_prefix('：').or_else(|| tail.strip_prefix(':'))?;
            Some(Fact {
                label,
                class,
                text: text.trim().to_string(),
            })
        });
        if let Some(fact) = labelled {
            view.facts.push(fact);
        } else if para.ends_with('”') || para.ends_with('」') || para.starts_with('"') {
            view.quotes.push(para.to_string());
        } else {
            rest.push(para);
        }
    }
    view.paragraphs = paragraphs(&rest.join("\n\n"));
    view
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    head: Head<'a>,
    company: Option<&'a Company>,
    ok: bool,
}

/// The answer to a form sent without the page's script, under the header
/// of `company` when it is known (see `Database::sole_company`).
pub(crate) fn message_page(
    lang: Lang,
    ok: bool,
    message: &str,
    company: Option<&Company>,
) -> String {
    render(&MessagePage {
        head: Head::plain(lang, message),
        company,
        ok,
    })
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage<'a> {
    head: Head<'a>,
    paragraphs: &'a [&'a str],
}

/// The privacy notice linked from the form's consent line.
pub(crate) fn privacy_page(lang: Lang) -> String {
    let (title, paragraphs): (&str, &[&str]) = match lang {
        Lang::Zh => (
            "隐私说明",
            &[
                "你在“我感兴趣”表单里填写的姓名、手机号和留言，只用于这家公司的顾问联系你、回答你的咨询。我们不会把它们卖给或提供给其他公司。",
                "为了统计内容是否有用，页面会记录匿名的阅读情况：停留时间、阅读进度、视频观看进度，以及是否转发。它们与一个随机的匿名编号关联，不包含你的姓名。",
                "你的 IP 地址在保存前会被加盐哈希并截断，我们不保存原始地址。原始的阅读记录在保留期满后自动删除。",
                "如需查询、更正或删除你的信息，请联系分享给你这个链接的朋友或这家公司的顾问。",
            ],
        ),
        Lang::En => (
            "Privacy notice",
            &[
                "The name, phone number and note you leave in the \"I'm interested\" form are used only so that this company's adviser can contact you about your enquiry. They are never sold or passed to another company.",
                "To learn whether its content helps, the page records anonymous reading: time on the page, how far you read, how much of a video you watched, and whether you passed it on. This is tied to a random anonymous id, not to your name.",
                "Your IP address is hashed with a secret salt and truncated before it is stored; the address itself is never kept. Raw reading records are deleted automatically after the retention period.",
                "To see, correct or delete your details, contact the friend who shared the link or the company's adviser.",
            ],
        ),
    };
    render(&PrivacyPage {
        head: Head::plain(lang, title),
        paragraphs,
    })
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage<'a> {
    head: Head<'a>,
    company: Option<&'a Company>,
    text: &'a str,
}

/// The company whose header a page that belongs to no link shows (`/j`, a
/// link that is not there, a refused form): the server's only company, if
/// it hosts one; a server of several names none.
pub(crate) async fn sole_company(st: &crate::http::AppState) -> Option<Company> {
    match crate::services::accounts::sole_company(&st.db).await {
        Ok(company) => company,
        Err(e) => {
            tracing::warn!(error = %e, "no company for the page header");
            None
        }
    }
}

/// What a friend sees for a link that does not (or no longer) resolve,
/// under the header of `company` when it is known.
pub(crate) fn not_found_page(lang: Lang, company: Option<&Company>) -> String {
    let (title, text) = match lang {
        Lang::Zh => (
            "内容不存在",
            "这个链接已失效，或者内容已被下架。请向分享给你的朋友要一个新的链接。",
        ),
        Lang::En => (
            "Not found",
            "This link is no longer valid, or the content was removed. Ask the friend who shared it for a new link.",
        ),
    };
    render(&NotFoundPage {
        head: Head::plain(lang, title),
        company,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        let page = message_page(Lang::En, false, "<script>alert('x')&\"</script>", None);
        assert!(
            page.contains("&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;"),
            "{page}"
        );
        assert!(!page.contains("<script>"), "{page}");
        assert_eq!(
            paragraphs("a<b>\nline\n\n\n second "),
            vec![
                vec!["a<b>".to_string(), "line".into()],
                vec!["second".into()]
            ]
        );
    }

    #[test]
    fn an_articles_card_is_its_first_block_as_text() {
        let cases = [
            ("<h2>标题 &amp; 副题</h2><p>第一段</p>", "标题 & 副题"),
            ("<p>a <strong>b</strong>&lt;c&gt;</p><p>d</p>", "a b<c>"),
            ("<ul><li>一</li><li>二</li></ul>", "一"),
            ("<p>unclosed <a", "unclosed"),
            ("", ""),
        ];
        for (html, want) in cases {
            assert_eq!(describe("", &html_text(html)), want, "{html:?}");
        }
    }

    #[test]
    fn a_card_describes_the_summary_or_the_first_paragraph() {
        let long = "长".repeat(PREVIEW_DESCRIPTION_CHARS + 5);
        let cut = format!("{}…", "长".repeat(PREVIEW_DESCRIPTION_CHARS - 1));
        let at_limit = "满".repeat(PREVIEW_DESCRIPTION_CHARS);
        let cases = [
            ("  摘要\n两行 ", "正文", "摘要 两行"),
            ("", "\n\n 第一段\n续行 \r\n\r\n第二段", "第一段 续行"),
            (" ", "", ""),
            (&long, "", &cut),
            (&at_limit, "", &at_limit),
        ];
        for (summary, body, want) in cases {
            assert_eq!(describe(summary, body), want, "{summary:?} {body:?}");
        }
        assert_eq!(
            absolute("https://r.example.com/", "/s/x"),
            "https://r.example.com/s/x"
        );
        assert_eq!(
            absolute("http://127.0.0.1:8080", "/media/k"),
            "http://127.0.0.1:8080/media/k"
        );
    }

    #[test]
    fn picks_language() {
        assert_eq!(Lang::from_accept_language(None), Lang::Zh);
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(
            Lang::from_accept_language(Some("zh-CN,zh;q=0.9,en;q=0.8")),
            Lang::Zh
        );
        assert_eq!(
            Lang::from_accept_language(Some("fr-FR, en;q=0.5")),
            Lang::En
        );
        assert_eq!(Lang::from_accept_language(Some("fr-FR")), Lang::Zh);
    }
}
