//! What every response carries against a hostile page or visitor: the
//! Content-Security-Policy of HTML pages (inline scripts only with this
//! response's nonce), `nosniff`, the referrer policy; and the same-origin
//! check of the public forms, so a third-party page cannot make a visitor's
//! browser post them (send codes, join, leave a lead).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rand::RngCore;

use super::page::{self, Lang};
use super::public::{html, lang};
use super::AppState;

tokio::task_local! {
    /// The nonce of the response being built (set by [`headers`]).
    static NONCE: String;
}

/// The nonce the page's inline `<script>` elements must carry. Empty outside
/// a request (a page rendered in a unit test): its scripts would then not
/// run under the policy, which is the safe failure.
pub(crate) fn csp_nonce() -> String {
    NONCE.try_with(Clone::clone).unwrap_or_default()
}

fn fresh_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The policy of an HTML page. Styles stay inline (`<style>` and a few
/// `style=` attributes; CSS cannot run script); everything else is this
/// server or nothing. `form-action 'self'` keeps an injected form from
/// posting elsewhere, `frame-ancestors 'none'` keeps the pages out of frames
/// (clickjacking the forms).
pub(crate) fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; \
img-src 'self'; media-src 'self'; connect-src 'self'; form-action 'self'; \
base-uri 'none'; frame-ancestors 'none'"
    )
}

/// Layer on the whole router: runs the handler with a fresh nonce in scope,
/// then sets the headers. `same-origin`: the pages' full address (a share or
/// invitation token) never reaches another site, while our own forms keep
/// their `Origin`.
pub(crate) async fn headers(req: Request, next: Next) -> Response {
    let nonce = fresh_nonce();
    let mut res = NONCE.scope(nonce.clone(), next.run(req)).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    let is_html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        if let Ok(v) = HeaderValue::from_str(&content_security_policy(&nonce)) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    res
}

/// `scheme://host[:port]` of a URL, lower-case, default ports dropped; None
/// when it is not an http(s) URL.
pub(crate) fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = rest[..end].to_ascii_lowercase();
    if host.is_empty() || host.contains('@') {
        return None;
    }
    let default_port = if scheme == "http" { ":80" } else { ":443" };
    let host = host.strip_suffix(default_port).unwrap_or(&host);
    Some(format!("{scheme}://{host}"))
}

/// Whether a state-changing request comes from our own pages. The browser's
/// `Sec-Fetch-Site` decides when present (a page cannot forge it); else
/// `Origin`, else `Referer`, must be the public URL's origin. A request with
/// none of them is not a browser's cross-site post (browsers send `Origin`
/// on every POST) and passes: the desktop app and tests post that way.
pub(crate) fn is_same_origin(public_origin: &str, headers: &HeaderMap) -> bool {
    let get = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(site) = get("sec-fetch-site") {
        return matches!(site.trim(), "same-origin" | "none");
    }
    if let Some(origin) = get("origin") {
        return origin_of(origin.trim()).as_deref() == Some(public_origin);
    }
    if let Some(referer) = get("referer") {
        return origin_of(referer.trim()).as_deref() == Some(public_origin);
    }
    true
}

const T_CROSS_SITE_ZH: &str =
    "请求被拒绝：这个表单只能在本站的页面上提交。请直接打开你收到的链接，再填写提交。";
const T_CROSS_SITE_EN: &str =
    "Refused: this form can only be sent from this site's own page. Open the link you were given and send it from there.";

/// Layer on the public form routes: posts from another site get 403 and a
/// page (or JSON, for the pages' scripts) that says why. Safe methods pass.
pub(crate) async fn same_origin_posts(
    State(st): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let public_origin = origin_of(&st.public_url).unwrap_or_default();
    if is_same_origin(&public_origin, req.headers()) {
        return next.run(req).await;
    }
    tracing::info!(path = %req.uri().path(), "cross-site form post refused");
    let headers = req.headers();
    let lang = lang(headers);
    let message = match lang {
        Lang::Zh => T_CROSS_SITE_ZH,
        Lang::En => T_CROSS_SITE_EN,
    };
    // The pages' scripts ask for JSON (the lead form) or send it (forward).
    let says_json = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json"))
    };
    let wants_json = says_json(header::ACCEPT) || says_json(header::CONTENT_TYPE);
    if wants_json {
        let body = serde_json::json!({ "code": "forbidden", "message": message });
        return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    let company = page::sole_company(&st).await;
    html(
        StatusCode::FORBIDDEN,
        page::message_page(lang, false, message, company.as_ref()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_of_urls() {
        let cases = [
            (
                "https://Warm.example.com/i/abc?x=1",
                Some("https://warm.example.com"),
            ),
            (
                "https://warm.example.com:443",
                Some("https://warm.example.com"),
            ),
            ("http://127.0.0.1:8787", Some("http://127.0.0.1:8787")),
            ("http://127.0.0.1:80/x", Some("http://127.0.0.1")),
            ("https://evil.example#frag", Some("https://evil.example")),
            ("https://user@warm.example.com/", None),
            ("null", None),
            ("javascript://x", None),
            ("", None),
        ];
        for (url, want) in cases {
            assert_eq!(origin_of(url).as_deref(), want, "{url}");
        }
    }

    #[test]
    fn same_origin_decision() {
        let ours = "https://warm.example.com";
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, HeaderValue::from_static(v));
            }
            m
        };
        // (headers, allowed)
        let cases: [(&[(&'static str, &'static str)], bool); 10] = [
            (&[], true),
            (&[("sec-fetch-site", "same-origin")], true),
            (&[("sec-fetch-site", "cross-site")], false),
            (&[("sec-fetch-site", "same-site")], false),
            // The browser's Sec-Fetch-Site wins over a page's Origin: null.
            (
                &[("sec-fetch-site", "same-origin"), ("origin", "null")],
                true,
            ),
            (&[("origin", "https://warm.example.com")], true),
            (&[("origin", "https://evil.example")], false),
            (&[("origin", "null")], false),
            (&[("referer", "https://warm.example.com/j/ABC123")], true),
            (
                &[("referer", "https://warm.example.com.evil.example/")],
                false,
            ),
        ];
        for (pairs, want) in cases {
            assert_eq!(is_same_origin(ours, &h(pairs)), want, "{pairs:?}");
        }
    }

    #[test]
    fn policy_allows_only_the_nonce() {
        let p = content_security_policy("abc");
        assert!(p.contains("script-src 'nonce-abc'"));
        assert!(p.starts_with("default-src 'none'"));
        assert!(p.contains("frame-ancestors 'none'") && p.contains("form-action 'self'"));
        assert!(!p.contains("unsafe-eval"));
    }
}
