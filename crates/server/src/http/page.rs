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
"#;

fn document(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1,viewport-fit=cover\">\
<meta name=\"referrer\" content=\"no-referrer\">\
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
                "<img class=\"poster\" src=\"/media/{}\" alt=\"{}\">",
                c.id,
                escape(&item.title)
            )
        }),
        _ => item.cover.as_ref().map_or(String::new(), |c| {
            format!("<img class=\"media\" src=\"/media/{}\" alt=\"\">", c.id)
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
<article class=\"body\">{paragraphs}</article>\
<p class=\"note\">{company}</p></main>\n<script>{script}</script>",
        kind = item.kind.as_str(),
        initial = escape(&initial),
        company = escape(&share.company.name),
        title = escape(&item.title),
        paragraphs = paragraphs(&item.body),
        script = beacon_script(&share.token, track),
    );
    document(lang, &item.title, &body)
}

fn video_html(share: &ResolvedShare) -> String {
    let item = &share.item;
    let poster = item
        .cover
        .as_ref()
        .map_or(String::new(), |c| format!(" poster=\"/media/{}\"", c.id));
    match &item.video {
        Some(v) => format!(
            "<video controls playsinline preload=\"metadata\"{poster} src=\"/media/{}\"></video>",
            v.id
        ),
        None => String::new(),
    }
}

/// Reports the view at once, then every 5 s while visible, when the reader
/// crosses a quarter of the page or pauses the video, and when the page is
/// hidden or left. Dwell counts only time the page was visible; a prerender
/// reports nothing until the person actually opens it.
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
function send(){{if(!track)return;var b={{t:t,pv:pv,dwell_ms:Math.round(dwell()),scroll_pct:sc}};if(vl>0){{b.video_s=Math.floor(vs);b.video_len_s=Math.round(vl)}}var body=JSON.stringify(b);
try{{if(navigator.sendBeacon&&navigator.sendBeacon("/t/beacon",new Blob([body],{{type:"text/plain"}})))return}}catch(e){{}}
try{{fetch("/t/beacon",{{method:"POST",body:body,keepalive:true,credentials:"same-origin",headers:{{"Content-Type":"text/plain"}}}})}}catch(e){{}}}}
function pause(){{if(since!==null){{acc+=Date.now()-since;since=null}}if(started)send()}}
function scroll(){{var d=document.documentElement,h=Math.max(d.scrollHeight,document.body.scrollHeight),y=(window.pageYOffset||d.scrollTop)+window.innerHeight;
var p=h>0?Math.min(100,Math.round(y*100/h)):100;if(p>sc){{sc=p;var nq=Math.floor(p/25);if(nq>q&&started){{q=nq;send()}}}}}}
function start(){{if(started)return;started=true;since=document.visibilityState==="hidden"?null:Date.now();scroll();q=Math.floor(sc/25);send();
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
