//! What a viewer does on a share page besides reading: pass it on, and
//! leave their contact. Both commit before answering.

use std::sync::LazyLock;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use warmlead_core::api::{ForwardRequest, ForwardResponse};
use warmlead_core::domain::Role;
use warmlead_core::lead::ContactForm;
use warmlead_core::limits::{MAX_NAME_CHARS, MAX_NOTE_CHARS};
use warmlead_core::phone::Phone;

use super::page::{self, Lang};
use super::public::{html, lang};
use crate::services::leads::{self, NewContact};
use crate::storage::{Credit, ResolvedShare};

use super::client_ip::{ip_hash_of, ClientIp};
use super::extract::bytes_rejection;
use super::limit::RateLimiter;
use super::public::{new_visitor_id, visitor_cookie, MAX_BEACON_BYTES};
use super::AppState;
use crate::error::ServerError;

/// Limits on public writes.
pub(crate) struct Limits {
    pub forward_per_ip: RateLimiter,
    pub lead_per_ip: RateLimiter,
    pub lead_per_share: RateLimiter,
}

impl Default for Limits {
    fn default() -> Self {
        let ten_min = Duration::from_secs(600);
        Limits {
            forward_per_ip: RateLimiter::new("forward_ip", 30, ten_min),
            lead_per_ip: RateLimiter::new("lead_ip", 5, ten_min),
            lead_per_share: RateLimiter::new("lead_share", 30, ten_min),
        }
    }
}

/// `POST /t/forward`: a child share of the page's share, for this viewer.
pub(crate) async fn forward(
    State(st): State<AppState>,
    ClientIp(addr): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ForwardResponse>, ServerError> {
    let body = body.map_err(|rej| bytes_rejection(&rej, MAX_BEACON_BYTES))?;
    let req: ForwardRequest = serde_json::from_slice(&body)
        .map_err(|e| ServerError::InvalidInput(format!("not a forward request: {e}")))?;
    let ip = ip_hash_of(&st, addr);
    if !st.limits.forward_per_ip.allow(&st.db, &ip).await {
        return Err(ServerError::RateLimited(
            "too many links passed on; try again later".into(),
        ));
    }
    let Some(parent) = crate::services::shares::open(&st.db, req.t).await? else {
        return Err(ServerError::NotFound("unknown share".into()));
    };
    if parent.credit != Credit::Sharer {
        // The share credits its partner no more: passing it on hands out
        // the same link, and makes no child share that would.
        return Ok(Json(ForwardResponse {
            url: format!("{}/s/{}", st.public_url, parent.token),
            token: parent.token.clone(),
        }));
    }
    let visitor = visitor_cookie(&headers).unwrap_or_else(new_visitor_id);
    let child = st.db.forward(parent, visitor).await?;
    Ok(Json(ForwardResponse {
        url: format!("{}/s/{}", st.public_url, child.token),
        token: child.token,
    }))
}

/// What the form handler answers: JSON for the page's script, a small page
/// for a browser without it.
async fn reply(
    st: &AppState,
    json: bool,
    lang: Lang,
    status: StatusCode,
    message: &str,
) -> Response {
    if json {
        let mut res = (status, Json(serde_json::json!({ "message": message }))).into_response();
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    } else {
        let company = page::sole_company(st).await;
        html(
            status,
            page::message_page(lang, status.is_success(), message, company.as_ref()),
        )
    }
}

// The messages that state a limit are built from its constant, so the number
// a person reads is the one the check uses.
static ZH_BAD_NAME: LazyLock<String> =
    LazyLock::new(|| format!("请填写姓名（最多 {MAX_NAME_CHARS} 个字）。"));
static ZH_LONG_NOTE: LazyLock<String> =
    LazyLock::new(|| format!("留言最多 {MAX_NOTE_CHARS} 个字。"));
static EN_BAD_NAME: LazyLock<String> =
    LazyLock::new(|| format!("Please enter your name (at most {MAX_NAME_CHARS} characters)."));
static EN_LONG_NOTE: LazyLock<String> =
    LazyLock::new(|| format!("The note can be at most {MAX_NOTE_CHARS} characters."));

fn texts(lang: Lang) -> [&'static str; 6] {
    match lang {
        Lang::Zh => [
            ZH_BAD_NAME.as_str(),
            "请输入正确的手机号，例如 138 0013 8000；海外号码请以 + 和国家代码开头。",
            "请勾选同意我们联系你。",
            "提交太频繁了，请稍后再试。",
            "链接已失效。",
            ZH_LONG_NOTE.as_str(),
        ],
        Lang::En => [
            EN_BAD_NAME.as_str(),
            "Please enter a valid mobile number, e.g. 138 0013 8000, or + and the country code.",
            "Please tick the box to agree that we may contact you.",
            "Too many attempts; please try again later.",
            "This link is no longer valid.",
            EN_LONG_NOTE.as_str(),
        ],
    }
}

fn thanks(lang: Lang, share: &ResolvedShare) -> String {
    let who = share.company.name.as_str();
    match lang {
        Lang::Zh => format!("谢谢！{who} 的顾问会尽快和你联系。"),
        Lang::En => format!("Thank you! Someone from {who} will contact you soon."),
    }
}

/// Checks the form; the error is the message for the person, in their language.
fn validate(form: &ContactForm, lang: Lang) -> Result<(String, Phone, String), &'static str> {
    let t = texts(lang);
    let name = form.name.trim();
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME_CHARS {
        return Err(t[0]);
    }
    let phone = Phone::parse(&form.phone).map_err(|_| t[1])?;
    if form.consent.as_deref().is_none_or(|c| c.trim().is_empty()) {
        return Err(t[2]);
    }
    let note = form.note.trim();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(t[5]);
    }
    Ok((name.to_string(), phone, note.to_string()))
}

async fn parse_form(req: Request) -> Result<ContactForm, ServerError> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        axum::Form::<ContactForm>::from_request(req, &())
            .await
            .map(|f| f.0)
            .map_err(|e| ServerError::InvalidInput(e.body_text()))
    } else {
        axum::Json::<ContactForm>::from_request(req, &())
            .await
            .map(|f| f.0)
            .map_err(|e| ServerError::InvalidInput(e.body_text()))
    }
}

/// `POST /t/lead`: "I'm interested". Validated, rate-limited per IP hash and
/// per share, and committed (lead, contact signal, score) before the answer.
pub(crate) async fn lead(
    State(st): State<AppState>,
    ClientIp(addr): ClientIp,
    req: Request,
) -> Response {
    let headers = req.headers().clone();
    let lang = lang(&headers);
    let json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let t = texts(lang);
    let form = match parse_form(req).await {
        Ok(f) => f,
        Err(e) => return reply(&st, json, lang, StatusCode::BAD_REQUEST, &e.to_string()).await,
    };
    let share = match crate::services::shares::open(&st.db, form.t.clone()).await {
        Ok(Some(s)) => s,
        Ok(None) => return reply(&st, json, lang, StatusCode::NOT_FOUND, t[4]).await,
        Err(e) => return e.into_response(),
    };
    if share.credit == Credit::Nobody && share.sharer.role != Role::Rep {
        // No longer credited and no rep to take the lead (a partner bound to
        // nobody): refused before anything is stored.
        return reply(&st, json, lang, StatusCode::GONE, t[4]).await;
    }
    let (name, phone, note) = match validate(&form, lang) {
        Ok(v) => v,
        Err(msg) => return reply(&st, json, lang, StatusCode::BAD_REQUEST, msg).await,
    };
    let ip = ip_hash_of(&st, addr);
    if !st.limits.lead_per_ip.allow(&st.db, &ip).await
        || !st.limits.lead_per_share.allow(&st.db, &share.token).await
    {
        return reply(&st, json, lang, StatusCode::TOO_MANY_REQUESTS, t[3]).await;
    }
    let contact = NewContact {
        name,
        phone,
        note,
        visitor_id: visitor_cookie(&headers),
    };
    match leads::capture(&st.db, share.clone(), contact).await {
        Ok(_) => reply(&st, json, lang, StatusCode::OK, &thanks(lang, &share)).await,
        Err(e) => {
            tracing::error!(error = %e, "lead capture failed");
            let msg = match lang {
                Lang::Zh => "提交失败，请稍后再试。",
                Lang::En => "Sending failed; please try again shortly.",
            };
            reply(&st, json, lang, StatusCode::SERVICE_UNAVAILABLE, msg).await
        }
    }
}

/// `GET /privacy`: what the form stores and why.
pub(crate) async fn privacy(headers: HeaderMap) -> Response {
    html(StatusCode::OK, page::privacy_page(lang(&headers)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(name: &str, note: &str) -> ContactForm {
        ContactForm {
            t: "t".into(),
            name: name.into(),
            phone: "13800138000".into(),
            note: note.into(),
            consent: Some("on".into()),
        }
    }

    /// The refusal of a value one past the limit states that limit.
    #[test]
    fn messages_state_the_limits_the_checks_use() {
        let long_name = "名".repeat(MAX_NAME_CHARS + 1);
        let long_note = "字".repeat(MAX_NOTE_CHARS + 1);
        for lang in [Lang::Zh, Lang::En] {
            let cases = [
                (form(&long_name, ""), MAX_NAME_CHARS),
                (form("", ""), MAX_NAME_CHARS),
                (form("李雷", &long_note), MAX_NOTE_CHARS),
            ];
            for (f, limit) in cases {
                let msg = validate(&f, lang).expect_err("refused");
                assert!(msg.contains(&limit.to_string()), "{lang:?}: {msg}");
            }
            let at_limit = form(&"名".repeat(MAX_NAME_CHARS), &"字".repeat(MAX_NOTE_CHARS));
            assert!(validate(&at_limit, lang).is_ok(), "{lang:?}");
        }
    }
}
