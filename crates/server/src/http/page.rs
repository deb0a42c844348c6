//! Server-rendered public pages: the share page and the friendly "not found".
//! Everything user-written is escaped; no third-party requests.

use warmlead_core::domain::ContentKind;

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

    fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Blank-line separated paragraphs; single newlines become line breaks.
fn paragraphs(body: &str) -> String {
    let normalized = body.replace("\r\n", "\n");
    normalized
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lines: Vec<String> = p.lines().map(escape).collect();
            format!("<p>{}</p>", lines.join("<br>"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;background:#faf7f5;color:#222;font:16px/1.75 -apple-system,BlinkMacSystemFont,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","Segoe UI",sans-serif;-webkit-text-size-adjust:100%}
main{max-width:430px;margin:0 auto;background:#fff;min-height:100vh;padding:0 0 32px}
header{display:flex;align-items:center;gap:8px;padding:16px;border-bottom:1px solid #f0e6e0}
.logo{width:32px;height:32px;border-radius:8px;background:#E8590C;color:#fff;display:flex;align-items:center;justify-content:center;font-weight:700}
.company{font-weight:600}
.sharer{margin:16px 16px 0;color:#8a5a3c;font-size:14px;background:#fff4ec;border-radius:8px;padding:8px 12px;display:inline-block}
h1{font-size:22px;line-height:1.4;margin:16px;font-weight:700}
.summary{margin:0 16px 16px;color:#666;font-size:15px}
.media{display:block;width:100%;height:auto;background:#f3ece7}
.poster{display:block;width:100%;height:auto}
video{display:block;width:100%;background:#000}
.body{padding:8px 16px}
.body p{margin:0 0 16px}
.note{margin:24px 16px 0;color:#999;font-size:12px;text-align:center}
.accent{color:#E8590C}
h1,.sharer,.summary,.body,blockquote,dd{overflow-wrap:anywhere}
.hint{margin:8px 16px 0;color:#999;font-size:13px;text-align:center}
.case{margin:0 16px 16px;border:1px solid #f0e6e0;border-radius:12px;overflow:hidden}
.case dt{background:#fff4ec;color:#8a5a3c;font-size:13px;padding:6px 12px;font-weight:600}
.case dd{margin:0;padding:8px 12px 12px}
blockquote{margin:0 16px 16px;padding:12px 16px;border-left:4px solid #E8590C;background:#faf7f5;color:#555;font-style:italic}
.actions{margin:24px 16px 0;padding-top:16px;border-top:1px solid #f0e6e0}
button{font:inherit;border:0;border-radius:10px;padding:12px 16px;width:100%;cursor:pointer}
.primary{background:#E8590C;color:#fff;font-weight:600}
.secondary{background:#fff4ec;color:#8a5a3c}
#wl-forward-box{margin-top:12px;font-size:14px}
#wl-forward-url{width:100%;padding:10px;border:1px solid #e5d5cb;border-radius:8px;font:inherit;font-size:13px;margin:6px 0}
form{margin-top:20px}
form h2{font-size:18px;margin:0 0 8px}
label{display:block;font-size:14px;color:#555;margin:10px 0 0}
input,textarea{display:block;width:100%;padding:10px;border:1px solid #e5d5cb;border-radius:8px;font:inherit;margin-top:4px}
textarea{min-height:72px}
.consent{display:flex;gap:8px;align-items:flex-start;font-size:13px;color:#777;margin:12px 0}
.consent input{width:auto;margin-top:4px}
#wl-form-msg{min-height:1em;font-size:14px;margin:8px 0 0}
.error{color:#c92a2a}
#wl-thanks{background:#ebfbee;color:#2b8a3e;border-radius:10px;padding:16px;margin-top:16px}
"#;

pub(crate) fn document(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1,viewport-fit=cover\">\
<meta name=\"referrer\" content=\"same-origin\">\
<title>{title}</title><style>{STYLE}</style></head>\n<body>{body}</body></html>\n",
        lang = lang.html_lang(),
        title = escape(title),
    )
}

/// The item a friend sees, with the script that reports the view.
/// `track` false: the page works (forward, form) but reports nothing (a
/// preview fetcher, the sharer's own browser).
pub(crate) fn share_page(share: &ResolvedShare, lang: Lang, track: bool) -> String {
    let item = &share.item;
    let sharer = escape(&share.sharer.name);
    let shared_by = match lang {
        Lang::Zh => format!("由 {sharer} 推荐"),
        Lang::En => format!("Shared by {sharer}"),
    };
    let initial = share
        .company
        .name
        .chars()
        .next()
        .map(|c| c.to_string())
        .unwrap_or_default();
    let media = match item.kind {
        ContentKind::Video => video_html(share),
        ContentKind::Poster => item.cover.as_ref().map_or(String::new(), |c| {
            format!(
                "<img class=\"poster\" src=\"{}\" alt=\"{}\">",
                c.path(),
                escape(&item.title)
            )
        }),
        _ => item.cover.as_ref().map_or(String::new(), |c| {
            format!("<img class=\"media\" src=\"{}\" alt=\"\">", c.path())
        }),
    };
    let summary = if item.summary.trim().is_empty() {
        String::new()
    } else {
        format!("<p class=\"summary\">{}</p>", escape(&item.summary))
    };
    let body = format!(
        "<main id=\"wl-item\" data-kind=\"{kind}\">\
<header><div class=\"logo\" aria-hidden=\"true\">{initial}</div><div class=\"company\">{company}</div></header>\
<div class=\"sharer\" id=\"wl-sharer\">{shared_by}</div>\
<h1 id=\"wl-title\">{title}</h1>{summary}{media}\
{body_html}{actions}\
<p class=\"note\">{company}</p></main>\n<script nonce=\"{nonce}\">{script}{actions_js}</script>",
        kind = item.kind.as_str(),
        initial = escape(&initial),
        company = escape(&share.company.name),
        title = escape(&item.title),
        body_html = match &item.case_study {
            Some(cs) if item.kind == ContentKind::CaseStudy => case_study_card(cs, lang),
            _ => body_html(item.kind, &item.body, lang),
        },
        actions = actions_html(share, lang),
        script = beacon_script(&share.token, track),
        actions_js = ACTIONS_JS,
        nonce = super::security::csp_nonce(),
    );
    document(lang, &item.title, &body)
}

/// Case studies are written as labelled blocks ("客户：…", "问题：…",
/// "方案：…", "结果：…", English "Customer:" …) and quotes in “…”; they render as a
/// structured card. Other kinds (and unlabelled text) are paragraphs.
fn body_html(kind: ContentKind, body: &str, lang: Lang) -> String {
    let poster_hint = match lang {
        Lang::Zh => "长按图片可保存到手机",
        Lang::En => "Press and hold the image to save it",
    };
    match kind {
        ContentKind::Poster => format!(
            "<p class=\"hint\" id=\"wl-poster-hint\">{}</p><article class=\"body\">{}</article>",
            escape(poster_hint),
            paragraphs(body)
        ),
        ContentKind::CaseStudy => case_study(body),
        ContentKind::Article => article_html(body),
        _ => format!("<article class=\"body\">{}</article>", paragraphs(body)),
    }
}

/// An article's body: its stored HTML, sanitised again on the way out (the
/// same function the server applied on write and the app's preview shows).
fn article_html(body: &str) -> String {
    format!(
        "<article class=\"body\" id=\"wl-article\">{}</article>",
        warmlead_core::article::sanitize(body)
    )
}

/// A case study written in the library: its fields as a card, its quote,
/// its photos; every field escaped.
pub(crate) fn case_study_card(cs: &warmlead_core::domain::CaseStudy, lang: Lang) -> String {
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
    let facts: String = fields
        .iter()
        .filter(|(_, _, v)| !v.trim().is_empty())
        .map(|(label, class, v)| {
            format!(
                "<dt>{}</dt><dd class=\"case-{class}\">{}</dd>",
                escape(label),
                escape(v.trim())
            )
        })
        .collect();
    let quote = if cs.quote.trim().is_empty() {
        String::new()
    } else {
        format!(
            "<blockquote class=\"case-quote\">“{}”</blockquote>",
            escape(cs.quote.trim())
        )
    };
    let photos: String = cs
        .images
        .iter()
        .map(|m| format!("<img class=\"media\" src=\"{}\" alt=\"\">", m.path()))
        .collect();
    format!("<dl class=\"case\" id=\"wl-case\">{facts}</dl>{quote}{photos}")
}

/// What an archived item's old links show: said kindly, with the company's
/// name, and no 404.
pub(crate) fn archived_page(lang: Lang, company: &str) -> String {
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
    let body = format!(
        "<main id=\"wl-archived\"><header><div class=\"company\">{}</div></header><h1 class=\"accent\">{}</h1><div class=\"body\"><p>{}</p></div></main>",
        escape(company),
        escape(title),
        escape(text)
    );
    document(lang, title, &body)
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

fn case_study(body: &str) -> String {
    let mut facts = String::new();
    let mut rest = Vec::new();
    let mut quotes = String::new();
    let normalized = body.replace("\r\n", "\n");
    for para in normalized.split("\n\n").map(str::trim) {
        if para.is_empty() {
            continue;
        }
        let labelled = CASE_LABELS.iter().find_map(|(label, class)| {
            let tail = para.strip_prefix(label)?;
            let text = tail.strip_prefix('：').or_else(|| tail.strip_prefix(':'))?;
            Some((label, class, text.trim()))
        });
        if let Some((label, class, text)) = labelled {
            facts.push_str(&format!(
                "<dt>{}</dt><dd class=\"case-{class}\">{}</dd>",
                escape(label),
                escape(text)
            ));
        } else if para.ends_with('”') || para.ends_with('」') || para.starts_with('"') {
            quotes.push_str(&format!(
                "<blockquote class=\"case-quote\">{}</blockquote>",
                escape(para)
            ));
        } else {
            rest.push(para);
        }
    }
    let dl = if facts.is_empty() {
        String::new()
    } else {
        format!("<dl class=\"case\" id=\"wl-case\">{facts}</dl>")
    };
    format!(
        "{dl}{quotes}<article class=\"body\">{}</article>",
        paragraphs(&rest.join("\n\n"))
    )
}

/// "Pass it on" and "I'm interested" (with the consent line and the link to
/// the privacy notice). Both work without the tracking script.
fn actions_html(share: &ResolvedShare, lang: Lang) -> String {
    let company = escape(&share.company.name);
    let t = escape(&share.token);
    let (fwd, fwd_note, copy, title, name, phone, note, consent, privacy, submit) = match lang {
        Lang::Zh => (
            "分享给朋友",
            "把这个链接发给朋友：",
            "复制链接",
            "我感兴趣，请联系我",
            "姓名",
            "手机号",
            "留言（选填）",
            format!("我同意{company}通过电话联系我；我的信息只用于这次咨询，不会提供给他人。"),
            "隐私说明",
            "提交",
        ),
        Lang::En => (
            "Pass it on",
            "Send this link to a friend:",
            "Copy link",
            "I'm interested, please contact me",
            "Name",
            "Mobile number",
            "Note (optional)",
            format!("I agree that {company} may call me; my details are used only for this enquiry and never passed on."),
            "Privacy notice",
            "Send",
        ),
    };
    format!(
        "<section class=\"actions\">\
<button type=\"button\" class=\"secondary\" id=\"wl-forward\" data-t=\"{t}\">{fwd}</button>\
<div id=\"wl-forward-box\" hidden><div>{fwd_note}</div><input id=\"wl-forward-url\" readonly>\
<button type=\"button\" class=\"secondary\" id=\"wl-copy\">{copy}</button></div>\
<form id=\"wl-form\" method=\"post\" action=\"/t/lead\" novalidate>\
<h2>{title}</h2><input type=\"hidden\" name=\"t\" value=\"{t}\">\
<label>{name}<input name=\"name\" required maxlength=\"{max_name}\" autocomplete=\"name\"></label>\
<label>{phone}<input name=\"phone\" type=\"tel\" inputmode=\"tel\" required maxlength=\"{max_phone}\" autocomplete=\"tel\"></label>\
<label>{note}<textarea name=\"note\" maxlength=\"{max_note}\"></textarea></label>\
<label class=\"consent\"><input type=\"checkbox\" name=\"consent\" value=\"yes\" required><span>{consent} <a href=\"/privacy\" id=\"wl-privacy\">{privacy}</a></span></label>\
<button type=\"submit\" class=\"primary\">{submit}</button><p id=\"wl-form-msg\" role=\"status\"></p></form>\
</section>",
        fwd = escape(fwd),
        fwd_note = escape(fwd_note),
        copy = escape(copy),
        title = escape(title),
        name = escape(name),
        phone = escape(phone),
        note = escape(note),
        privacy = escape(privacy),
        submit = escape(submit),
        max_name = warmlead_core::limits::MAX_NAME_CHARS,
        max_phone = warmlead_core::limits::MAX_PHONE_CHARS,
        max_note = warmlead_core::limits::MAX_NOTE_CHARS,
    )
}

/// Forward and form: fetch with JSON answers; errors shown in the page.
const ACTIONS_JS: &str = r#"
(function(){var f=document.getElementById("wl-forward");if(f)f.addEventListener("click",function(){
fetch("/t/forward",{method:"POST",credentials:"same-origin",headers:{"Content-Type":"application/json"},body:JSON.stringify({t:f.getAttribute("data-t")})})
.then(function(r){return r.json()}).then(function(j){if(!j.url)return;var u=document.getElementById("wl-forward-url");u.value=j.url;document.getElementById("wl-forward-box").hidden=false;u.select()})});
var c=document.getElementById("wl-copy");if(c)c.addEventListener("click",function(){var u=document.getElementById("wl-forward-url");u.select();try{document.execCommand("copy")}catch(e){}});
var form=document.getElementById("wl-form");if(!form)return;form.addEventListener("submit",function(ev){ev.preventDefault();
var m=document.getElementById("wl-form-msg");m.className="";var body=new URLSearchParams(new FormData(form)).toString();
fetch("/t/lead",{method:"POST",credentials:"same-origin",headers:{"Content-Type":"application/x-www-form-urlencoded","Accept":"application/json"},body:body})
.then(function(r){return r.json().then(function(j){return{ok:r.ok,j:j}})}).then(function(x){
if(x.ok){var d=document.createElement("div");d.id="wl-thanks";d.textContent=x.j.message;form.replaceWith(d)}else{m.className="error";m.textContent=x.j.message}})
.catch(function(){m.className="error";m.textContent=form.getAttribute("data-offline")||"网络错误，请重试 / Network error, please retry"})})})();
"#;

fn video_html(share: &ResolvedShare) -> String {
    let item = &share.item;
    let poster = item
        .cover
        .as_ref()
        .map_or(String::new(), |c| format!(" poster=\"{}\"", c.path()));
    match &item.video {
        Some(v) => format!(
            "<video controls playsinline preload=\"metadata\"{poster} src=\"{}\"></video>",
            v.path()
        ),
        None => String::new(),
    }
}

/// Reports the view at once, then every 5 s while visible, when the reader
/// crosses a quarter of the page or pauses the video, and when the page is
/// hidden or left. While the page is open, reports go by `fetch` so the
/// script sees the answer: a refused one (503, 429, network error) is sent
/// again with backoff (1 s doubling to 30 s; each report carries the whole
/// state, so the latest one stands for all before it). When the page is
/// hidden or left, `sendBeacon` (the browser finishes it after the page is
/// gone; nothing can retry then). Dwell counts only time the page was visible; a prerender
/// reports nothing until the person actually opens it. The depth already
/// visible at open is read before `started` is set, so opening the page is
/// one report, not two (a scroll report and the view's).
fn beacon_script(token: &str, track: bool) -> String {
    // Tokens are base64url (checked before we get here); JSON-encode anyway
    // and keep `<` out so nothing can close the script element.
    let t = serde_json::to_string(token)
        .unwrap_or_else(|_| "\"\"".into())
        .replace('<', "\\u003c");
    format!(
        r#"(function(){{
var t={t},track={track};var a=new Uint8Array(16);crypto.getRandomValues(a);
var pv=Array.prototype.map.call(a,function(b){{return("0"+b.toString(16)).slice(-2)}}).join("");
var acc=0,since=null,sc=0,vs=0,vl=0,q=0,started=false;
function dwell(){{return acc+(since===null?0:Date.now()-since)}}
var retry=null,backoff=1000;
function body(){{var b={{t:t,pv:pv,dwell_ms:Math.round(dwell()),scroll_pct:sc}};if(vl>0){{b.video_s=Math.floor(vs);b.video_len_s=Math.round(vl)}}return JSON.stringify(b)}}
function post(b){{return fetch("/t/beacon",{{method:"POST",body:b,keepalive:true,credentials:"same-origin",headers:{{"Content-Type":"text/plain"}}}})}}
function beacon(b){{try{{if(navigator.sendBeacon&&navigator.sendBeacon("/t/beacon",new Blob([b],{{type:"text/plain"}})))return}}catch(e){{}}try{{post(b)}}catch(e){{}}}}
function again(){{if(retry!==null)return;retry=setTimeout(function(){{retry=null;send()}},backoff);backoff=Math.min(backoff*2,30000)}}
function send(){{if(!track)return;if(!window.fetch){{beacon(body());return}}
try{{post(body()).then(function(r){{if(r.status===503||r.status===429)again();else backoff=1000}},again)}}catch(e){{again()}}}}
function leave(){{if(track)beacon(body())}}
function pause(){{if(since!==null){{acc+=Date.now()-since;since=null}}if(started)leave()}}
function scroll(){{var d=document.documentElement,h=Math.max(d.scrollHeight,document.body.scrollHeight),y=(window.pageYOffset||d.scrollTop)+window.innerHeight;
var p=h>0?Math.min(100,Math.round(y*100/h)):100;if(p>sc){{sc=p;var nq=Math.floor(p/25);if(nq>q&&started){{q=nq;send()}}}}}}
function start(){{if(started)return;scroll();q=Math.floor(sc/25);started=true;since=document.visibilityState==="hidden"?null:Date.now();send();
setInterval(function(){{if(document.visibilityState==="visible")send()}},5000);
document.addEventListener("visibilitychange",function(){{if(document.visibilityState==="hidden")pause();else if(since===null)since=Date.now()}});
window.addEventListener("pagehide",pause);window.addEventListener("scroll",scroll,{{passive:true}});
var v=document.querySelector("video");if(v){{v.addEventListener("timeupdate",function(){{if(v.duration&&isFinite(v.duration)){{vl=v.duration;if(v.currentTime>vs)vs=v.currentTime}}}});
v.addEventListener("pause",send);v.addEventListener("ended",function(){{vs=vl;send()}})}}}}
window.wlTrack={{pv:pv,send:send}};
if(document.prerendering){{document.addEventListener("prerenderingchange",start,{{once:true}})}}else{{start()}}
}})();"#
    )
}

/// The answer to a form sent without the page's script.
pub(crate) fn message_page(lang: Lang, ok: bool, message: &str) -> String {
    let id = if ok { "wl-thanks" } else { "wl-error" };
    let body = format!(
        "<main><div class=\"body\"><p id=\"{id}\" class=\"{}\">{}</p></div></main>",
        if ok { "" } else { "error" },
        escape(message)
    );
    document(lang, message, &body)
}

/// The privacy notice linked from the form's consent line.
pub(crate) fn privacy_page(lang: Lang) -> String {
    let (title, paras): (&str, &[&str]) = match lang {
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
    let body: String = paras
        .iter()
        .map(|p| format!("<p>{}</p>", escape(p)))
        .collect();
    let html = format!(
        "<main id=\"wl-privacy-notice\"><h1>{}</h1><div class=\"body\">{body}</div></main>",
        escape(title)
    );
    document(lang, title, &html)
}

/// What a friend sees for a link that does not (or no longer) resolve.
pub(crate) fn not_found_page(lang: Lang) -> String {
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
    let body = format!(
        "<main id=\"wl-not-found\"><h1 class=\"accent\">{}</h1><div class=\"body\"><p>{}</p></div></main>",
        escape(title),
        escape(text)
    );
    document(lang, title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>alert('x')&\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;"
        );
        assert_eq!(
            paragraphs("a<b>\nline\n\n\n second "),
            "<p>a&lt;b&gt;<br>line</p>\n<p>second</p>"
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
