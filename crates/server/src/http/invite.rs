//! Invitations: the reps' API (create, poll, revoke) and the public pages
//! where the invited person becomes a partner.

use std::time::Duration;

use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use warmlead_core::api::{PATH_INVITE_PREFIX, PATH_JOIN};
use warmlead_core::csv_import;
use warmlead_core::domain::{Company, User};
use warmlead_core::invite::{
    activation_link, offline, Invitation, NewInvitation, PartnerImportRequest,
};
use warmlead_core::phone::Phone;
use warmlead_sms::RefuseReason;

use super::client_ip::{ip_hash_of, ClientIp};
use super::extract::ApiJson;
use super::limit::RateLimiter;
use askama::Template;

use super::page::{self, Head, Lang, Preview};
use super::public::html;
use super::AppState;
use crate::error::ServerError;
use crate::services::invitations::{
    self as service, closed_reason, is_for_phone, normalize_short_code, AcceptOutcome, Accepted,
    Closed, InviteKey, InviteView,
};
use crate::services::sms::{
    self,
    code::{CodeOutcome, CodeRequest},
};
use crate::storage::invitation_store::OtpCheck;
use crate::storage::{now_ms, Caller};
use warmlead_core::company::promise_of;

// Names and phones of people, as everywhere (warmlead-core's limits).
use warmlead_core::limits::{MAX_NAME_CHARS, MAX_PHONE_CHARS};

/// `POST /api/v1/invitations`.
pub(crate) async fn create(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewInvitation>,
) -> Result<Json<Invitation>, ServerError> {
    let inv = service::create_invitation(&st.db, caller.user, new, st.public_url.clone()).await?;
    Ok(Json(inv))
}

/// `GET /api/v1/invitations/{id}`: fresh uses and status (the QR screen polls it).
pub(crate) async fn get(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Invitation>, ServerError> {
    Ok(Json(
        service::invitation_for(&st.db, caller.user, id).await?,
    ))
}

/// Largest import body: the CSV itself is at most `csv_import::MAX_BYTES`
/// (2 MB); as JSON rows it grows by field names, about 60 bytes a row.
pub(crate) const MAX_IMPORT_BYTES: usize = 4 * 1024 * 1024;

/// `POST /api/v1/partners/import`: all rows or none; 422 with the rows that
/// stopped it. A dry run only checks.
pub(crate) async fn import(
    State(st): State<AppState>,
    caller: Caller,
    body: Result<Json<PartnerImportRequest>, JsonRejection>,
) -> Result<Response, ServerError> {
    // Refused before the body is read: a partner learns nothing of the rows.
    service::may_import(&caller.user)?;
    let req = import_body(body)?;
    check_import_rows(&req.rows)?;
    let result = service::import_partners(&st.db, caller.user, req.rows, req.dry_run).await?;
    Ok((import_status(req.dry_run, &result.errors), Json(result)).into_response())
}

/// An import's JSON body, or what to fix (too large: split the file).
pub(crate) fn import_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ServerError> {
    let Json(req) = body.map_err(|rej| {
        if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ServerError::PayloadTooLarge(format!(
                "an import body is at most {MAX_IMPORT_BYTES} bytes; split the file"
            ))
        } else {
            ServerError::InvalidInput(rej.body_text())
        }
    })?;
    Ok(req)
}

pub(crate) fn check_import_rows(rows: &[csv_import::ImportRow]) -> Result<(), ServerError> {
    if rows.is_empty() || rows.len() > csv_import::MAX_ROWS {
        return Err(ServerError::InvalidInput(format!(
            "an import has 1 to {} rows, got {}",
            csv_import::MAX_ROWS,
            rows.len()
        )));
    }
    Ok(())
}

/// 422 when rows stopped a real import (nothing was written); a dry run
/// that finds problems answered what it was asked: 200.
pub(crate) fn import_status(dry_run: bool, errors: &[csv_import::ImportRowError]) -> StatusCode {
    if errors.is_empty() || dry_run {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// `POST /api/v1/invitations/{id}/revoke`.
pub(crate) async fn revoke(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Invitation>, ServerError> {
    Ok(Json(
        service::revoke_invitation(&st.db, caller.user, id).await?,
    ))
}

// ---------------------------------------------------------------------------
// Public pages: `/i/{token}` (the link and QR), `/j` and `/j/{code}` (a short
// code typed by hand). Chinese, mobile-first, no script, the share page's look.

/// Limits on the public invitation pages (per IP hash, per phone).
pub(crate) struct Limits {
    /// Short-code lookups: every one counts, so guessing is slow.
    code_lookup_per_ip: RateLimiter,
    accept_per_ip: RateLimiter,
    otp_per_ip: RateLimiter,
    otp_per_phone: RateLimiter,
}

impl Default for Limits {
    fn default() -> Self {
        let ten_min = Duration::from_secs(600);
        Limits {
            code_lookup_per_ip: RateLimiter::new("code_lookup_ip", 20, ten_min),
            accept_per_ip: RateLimiter::new("accept_ip", 20, ten_min),
            otp_per_ip: RateLimiter::new("otp_ip", 10, ten_min),
            otp_per_phone: RateLimiter::new("otp_phone", 3, ten_min),
        }
    }
}

/// The form on the invitation page.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct InviteForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    /// The SMS one-time code (only asked for with a real SMS provider).
    code: Option<String>,
    consent: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct JoinQuery {
    code: Option<String>,
}

/// Built from the limit the check uses, so the page states it once.
static T_BAD_NAME: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("请填写姓名（1 到 {MAX_NAME_CHARS} 个字）。"));
const T_BAD_PHONE: &str = "请输入正确的手机号，例如 138 0013 8000；海外号码请以 + 和国家代码开头。";
const T_CONSENT: &str = "请勾选同意后再提交。";
const T_TOO_MANY: &str = "操作太频繁了，请稍后再试。";
const T_NEED_CODE: &str = "请先点“获取验证码”，再填写短信里的 6 位验证码。";
const T_CODE_MISSING: &str = "验证码已过期或还没有发送，请重新获取。";
const T_CODE_WRONG: &str = "验证码不正确，请核对短信后重新输入。";
const T_CODE_LOCKED: &str = "验证码错误次数过多，请重新获取验证码。";
const T_FAILED: &str = "提交失败，请稍后再试。";
const T_NOT_RECIPIENT: &str =
    "这个邀请是通过短信发给另一个手机号的，只能用收到短信的那个手机号加入。请填写收到短信的手机号；如果换了号码，请联系邀请你的人重新邀请。";

/// A message above a form: an error, or good news (`ok`).
#[derive(Clone, Copy)]
struct Msg<'a> {
    text: &'a str,
    ok: bool,
}

fn error_msg(text: &str) -> Option<Msg<'_>> {
    Some(Msg { text, ok: false })
}

/// What every invitation page has: the head, the company when known, the
/// `<main>` element's id. The templates are `templates/invite*.html`.
fn head(title: &str) -> Head<'_> {
    Head::plain(Lang::Zh, title)
}

/// What the invitation page shows besides the invitation: the values typed
/// so far (kept on errors) and a message.
struct FormState<'a> {
    name: &'a str,
    phone: &'a str,
    message: Option<Msg<'a>>,
}

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage<'a> {
    head: Head<'a>,
    company: Option<&'a Company>,
    page_id: &'static str,
    company_name: &'a str,
    rep: &'a str,
    action: &'a str,
    otp: bool,
    name: &'a str,
    phone: &'a str,
    message: Option<Msg<'a>>,
    max_name: usize,
    max_phone: usize,
    /// What a partner gets: the company's promise or the neutral default.
    promise: String,
}

/// The invitation's link preview: who invites to which company and what a
/// partner gets, with the company's logo.
fn invite_preview(view: &InviteView, promise: &str, url: String, public_url: &str) -> Preview {
    let c = &view.company;
    Preview {
        url,
        description: page::describe(
            &format!(
                "{} 邀请你成为 {} 的推荐合伙人。{promise}",
                view.inviter.name, c.name
            ),
            "",
        ),
        image_path: c.logo.as_ref().map(|l| l.path()),
        public_url: public_url.to_string(),
        og_type: "website",
        site_name: c.name.clone(),
    }
}

/// The invitation with its form. `action` is the path the form posts to.
fn invite_page(
    view: &InviteView,
    action: &str,
    otp: bool,
    state: &FormState<'_>,
    public_url: &str,
) -> String {
    let title = format!("{} 邀请你成为推荐合伙人", view.inviter.name);
    let promise = promise_of(&view.company, &view.inviter.name);
    let url = page::absolute(public_url, action);
    page::render(&InvitePage {
        head: Head {
            preview: Some(invite_preview(view, &promise, url, public_url)),
            ..head(&title)
        },
        company: Some(&view.company),
        page_id: "wl-invite",
        company_name: &view.company.name,
        rep: &view.inviter.name,
        action,
        otp,
        name: state.name,
        phone: state.phone,
        message: state.message,
        max_name: MAX_NAME_CHARS,
        max_phone: MAX_PHONE_CHARS,
        promise,
    })
}

#[derive(Template)]
#[template(path = "invite_closed.html")]
struct ClosedPage<'a> {
    head: Head<'a>,
    company: Option<&'a Company>,
    page_id: &'static str,
    title: &'a str,
    reason: &'a str,
    ask: &'a str,
}

/// An invitation that can no longer be accepted (410). One whose inviter
/// was switched off is closed: the friend asks the company, not that rep.
fn closed_page(view: &InviteView, why: Closed) -> String {
    let (title, reason, ask) = if view.inviter_off {
        (
            "邀请已关闭",
            "这个邀请已关闭，不能再用它加入。".to_string(),
            format!("如需加入，请直接联系{}。", view.company.name),
        )
    } else {
        let reason = match why {
            Closed::Expired => "这个邀请已过期。",
            Closed::Revoked => "这个邀请已被撤销。",
            Closed::UsedUp => "这个邀请已被使用。",
        };
        (
            "邀请已失效",
            reason.to_string(),
            format!("请联系 {} 重新发一个邀请给你。", view.inviter.name),
        )
    };
    page::render(&ClosedPage {
        head: head(title),
        company: Some(&view.company),
        page_id: "wl-invite-closed",
        title,
        reason: &reason,
        ask: &ask,
    })
}

#[derive(Template)]
#[template(path = "invite_unknown.html")]
struct UnknownPage<'a> {
    head: Head<'a>,
    company: Option<&'a Company>,
    page_id: &'static str,
}

/// An unknown or forged link (404).
fn unknown_page(company: Option<&Company>) -> String {
    page::render(&UnknownPage {
        head: head("邀请不存在"),
        company,
        page_id: "wl-invite-unknown",
    })
}

#[derive(Template)]
#[template(path = "invite_join.html")]
struct JoinPage<'a> {
    head: Head<'a>,
    company: Option<&'a Company>,
    page_id: &'static str,
    code: &'a str,
    message: Option<Msg<'a>>,
}

/// `/j`: one input for the short code, under the header of `company` when
/// the server hosts only one (see `page::sole_company`).
fn join_page<'a>(company: Option<&Company>, code: &'a str, message: Option<Msg<'a>>) -> String {
    page::render(&JoinPage {
        head: head("输入邀请码"),
        company,
        page_id: "wl-join",
        code,
        message,
    })
}

#[derive(Template)]
#[template(path = "invite_member.html")]
struct MemberPage<'a> {
    head: Head<'a>,
    company: Option<&'a Company>,
    page_id: &'static str,
    company_name: &'a str,
    rep: &'a str,
    phone_proven: bool,
}

/// The phone already belongs to someone in the company: nothing created.
/// Answered 200 like a join, and only said plainly to a person who proved
/// the phone is theirs (the SMS code); anyone else typing a number gets a
/// neutral page that also tells a real member the way back in.
fn member_page(view: &InviteView, phone_proven: bool) -> String {
    page::render(&MemberPage {
        head: head("邀请"),
        company: Some(&view.company),
        page_id: "wl-invite-member",
        company_name: &view.company.name,
        rep: &view.inviter.name,
        phone_proven,
    })
}

#[derive(Template)]
#[template(path = "invite_welcome.html")]
struct WelcomePage<'a> {
    head: Head<'a>,
    company: Option<&'a Company>,
    page_id: &'static str,
    company_name: &'a str,
    rep: &'a str,
    partner_name: &'a str,
    /// What the partner types into the app's server field.
    server_url: &'a str,
    code: &'a str,
    link: &'a str,
    download_url: Option<&'a str>,
}

/// After joining: how to get the app, the activation code, the deep link.
fn welcome_page(
    view: &InviteView,
    partner: &User,
    code: &str,
    public_url: &str,
    download_url: Option<&str>,
) -> String {
    let link = activation_link(public_url, code);
    page::render(&WelcomePage {
        head: head("欢迎加入"),
        company: Some(&view.company),
        page_id: "wl-invite-welcome",
        company_name: &view.company.name,
        rep: &view.inviter.name,
        partner_name: &partner.name,
        server_url: public_url,
        code,
        link: &link,
        download_url,
    })
}

/// The invitation behind a public page, or the page that says why not.
async fn load(st: &AppState, key: InviteKey, ip: &str) -> Result<InviteView, Response> {
    if let InviteKey::ShortCode(code) = &key {
        if !st.invite_limits.code_lookup_per_ip.allow(&st.db, ip).await {
            let company = page::sole_company(st).await;
            return Err(html(
                StatusCode::TOO_MANY_REQUESTS,
                join_page(company.as_ref(), code, error_msg(T_TOO_MANY)),
            ));
        }
    }
    let wellformed = match &key {
        InviteKey::Token(t) => is_token(t),
        InviteKey::ShortCode(_) => true,
    };
    let found = if wellformed {
        service::invite_view(&st.db, key.clone(), st.public_url.clone()).await
    } else {
        Ok(None)
    };
    match found {
        Ok(Some(view)) => match closed_reason(&view.invitation, now_ms()) {
            None => Ok(view),
            Some(why) => Err(html(StatusCode::GONE, closed_page(&view, why))),
        },
        Ok(None) => {
            let company = page::sole_company(st).await;
            let company = company.as_ref();
            Err(match key {
                InviteKey::Token(_) => html(StatusCode::NOT_FOUND, unknown_page(company)),
                InviteKey::ShortCode(code) => html(
                    StatusCode::NOT_FOUND,
                    join_page(
                        company,
                        &code,
                        error_msg("邀请码不正确或已失效，请核对后重新输入。"),
                    ),
                ),
            })
        }
        Err(e) => {
            tracing::error!(error = %e, "invitation lookup failed");
            Err(html(
                StatusCode::SERVICE_UNAVAILABLE,
                page::message_page(Lang::Zh, false, T_FAILED, None),
            ))
        }
    }
}

/// URL tokens: 16 random bytes in base64url (22 characters) when the
/// server made the invitation, longer when a device signed it offline.
fn is_token(t: &str) -> bool {
    (t.len() == offline::SERVER_TOKEN_LEN || offline::is_offline_token(t))
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Where the page's form posts: the same path it was found by.
fn action_of(key: &InviteKey) -> String {
    match key {
        InviteKey::Token(t) => format!("{PATH_INVITE_PREFIX}{t}"),
        InviteKey::ShortCode(c) => format!("{PATH_JOIN}/{}", normalize_short_code(c)),
    }
}

async fn show(st: AppState, key: InviteKey, addr: std::net::IpAddr) -> Response {
    let ip = ip_hash_of(&st, addr);
    match load(&st, key.clone(), &ip).await {
        Ok(view) => {
            let state = FormState {
                name: "",
                phone: "",
                message: None,
            };
            html(
                StatusCode::OK,
                invite_page(
                    &view,
                    &action_of(&key),
                    st.sms_is_real,
                    &state,
                    &st.public_url,
                ),
            )
        }
        Err(res) => res,
    }
}

/// `GET /i/{token}`.
pub(crate) async fn page_by_token(
    State(st): State<AppState>,
    ClientIp(addr): ClientIp,
    Path(token): Path<String>,
) -> Response {
    show(st, InviteKey::Token(token), addr).await
}

/// `GET /j/{code}`.
pub(crate) async fn page_by_code(
    State(st): State<AppState>,
    ClientIp(addr): ClientIp,
    Path(code): Path<String>,
) -> Response {
    show(st, InviteKey::ShortCode(code), addr).await
}

/// `GET /j` and `GET /j?code=...`.
pub(crate) async fn join(
    State(st): State<AppState>,
    ClientIp(addr): ClientIp,
    Query(q): Query<JoinQuery>,
) -> Response {
    match q.code.filter(|c| !c.trim().is_empty()) {
        Some(code) => show(st, InviteKey::ShortCode(code), addr).await,
        None => {
            let company = page::sole_company(&st).await;
            html(StatusCode::OK, join_page(company.as_ref(), "", None))
        }
    }
}

/// Re-renders the form with what was typed and a message.
fn form_reply(
    st: &AppState,
    view: &InviteView,
    key: &InviteKey,
    form: &InviteForm,
    status: StatusCode,
    message: Msg<'_>,
) -> Response {
    let state = FormState {
        name: &form.name,
        phone: &form.phone,
        message: Some(message),
    };
    html(
        status,
        invite_page(
            view,
            &action_of(key),
            st.sms_is_real,
            &state,
            &st.public_url,
        ),
    )
}

/// Name and phone as the form gave them, checked.
fn checked_form(form: &InviteForm, need_consent: bool) -> Result<(String, Phone), &'static str> {
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(T_BAD_NAME.as_str());
    }
    let phone = Phone::parse(&form.phone).map_err(|_| T_BAD_PHONE)?;
    if need_consent && form.consent.as_deref().is_none_or(|c| c.trim().is_empty()) {
        return Err(T_CONSENT);
    }
    Ok((name.to_string(), phone))
}

async fn accept(
    st: AppState,
    key: InviteKey,
    addr: std::net::IpAddr,
    form: Result<Form<InviteForm>, FormRejection>,
) -> Response {
    let ip = ip_hash_of(&st, addr);
    let view = match load(&st, key.clone(), &ip).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let form = form.map(|f| f.0).unwrap_or_default();
    let reply = |status, msg: &str| {
        form_reply(
            &st,
            &view,
            &key,
            &form,
            status,
            Msg {
                text: msg,
                ok: false,
            },
        )
    };
    let (name, phone) = match checked_form(&form, true) {
        Ok(v) => v,
        Err(msg) => return reply(StatusCode::BAD_REQUEST, msg),
    };
    // Before the code: a code is never sent to another number anyway.
    if !is_for_phone(&view.invitation, &phone) {
        return reply(StatusCode::FORBIDDEN, T_NOT_RECIPIENT);
    }
    if !st.invite_limits.accept_per_ip.allow(&st.db, &ip).await {
        return reply(StatusCode::TOO_MANY_REQUESTS, T_TOO_MANY);
    }
    let code = form.code.clone().filter(|c| !c.trim().is_empty());
    if st.sms_is_real && code.is_none() {
        return reply(StatusCode::BAD_REQUEST, T_NEED_CODE);
    }
    let code = code.filter(|_| st.sms_is_real);
    let phone_proven = code.is_some();
    let id = view.invitation.id;
    match service::accept_invitation(&st.db, id, name, phone, code).await {
        Ok(AcceptOutcome::Otp(check)) => match check {
            OtpCheck::Missing | OtpCheck::Ok => reply(StatusCode::BAD_REQUEST, T_CODE_MISSING),
            OtpCheck::Wrong => reply(StatusCode::BAD_REQUEST, T_CODE_WRONG),
            OtpCheck::Locked => reply(StatusCode::TOO_MANY_REQUESTS, T_CODE_LOCKED),
        },
        Ok(AcceptOutcome::Done(Accepted::Closed(why))) => {
            html(StatusCode::GONE, closed_page(&view, why))
        }
        Ok(AcceptOutcome::Done(Accepted::AlreadyMember)) => {
            html(StatusCode::OK, member_page(&view, phone_proven))
        }
        Ok(AcceptOutcome::Done(Accepted::NotTheRecipient)) => {
            reply(StatusCode::FORBIDDEN, T_NOT_RECIPIENT)
        }
        Ok(AcceptOutcome::Done(Accepted::Joined {
            partner,
            activation_code,
            ..
        })) => html(
            StatusCode::OK,
            welcome_page(
                &view,
                &partner,
                &activation_code,
                &st.public_url,
                st.download_url.as_deref(),
            ),
        ),
        Err(ServerError::InvalidInput(_)) => reply(StatusCode::BAD_REQUEST, &T_BAD_NAME),
        Err(e) => {
            tracing::error!(error = %e, "accepting an invitation failed");
            reply(StatusCode::SERVICE_UNAVAILABLE, T_FAILED)
        }
    }
}

/// `POST /i/{token}`: the form.
pub(crate) async fn accept_by_token(
    State(st): State<AppState>,
    ClientIp(addr): ClientIp,
    Path(token): Path<String>,
    form: Result<Form<InviteForm>, FormRejection>,
) -> Response {
    accept(st, InviteKey::Token(token), addr, form).await
}

/// `POST /j/{code}`: the form, when the invitation was found by its code.
pub(crate) async fn accept_by_code(
    State(st): State<AppState>,
    ClientIp(addr): ClientIp,
    Path(code): Path<String>,
    form: Result<Form<InviteForm>, FormRejection>,
) -> Response {
    accept(st, InviteKey::ShortCode(code), addr, form).await
}

/// The one-time code text. Never logged by us (the console provider prints
/// what it "sends"; that is its job in development).
fn otp_text(company: &Company, code: &str) -> String {
    format!(
        "【{}】你的验证码是 {code}，10 分钟内有效。如非本人操作，请忽略本短信。",
        company.name
    )
}

async fn send_code(
    st: AppState,
    key: InviteKey,
    addr: std::net::IpAddr,
    form: Result<Form<InviteForm>, FormRejection>,
) -> Response {
    let ip = ip_hash_of(&st, addr);
    let view = match load(&st, key.clone(), &ip).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let form = form.map(|f| f.0).unwrap_or_default();
    let reply =
        |status, msg: &str, ok| form_reply(&st, &view, &key, &form, status, Msg { text: msg, ok });
    if !st.sms_is_real {
        return reply(
            StatusCode::OK,
            "无需验证码，填写姓名和手机号后直接提交即可。",
            true,
        );
    }
    let phone = match Phone::parse(&form.phone) {
        Ok(p) => p,
        Err(_) => return reply(StatusCode::BAD_REQUEST, T_BAD_PHONE, false),
    };
    if !is_for_phone(&view.invitation, &phone) {
        return reply(StatusCode::FORBIDDEN, T_NOT_RECIPIENT, false);
    }
    if !st.invite_limits.otp_per_ip.allow(&st.db, &ip).await
        || !st
            .invite_limits
            .otp_per_phone
            .allow(&st.db, phone.as_e164())
            .await
    {
        return reply(StatusCode::TOO_MANY_REQUESTS, T_TOO_MANY, false);
    }
    let request = CodeRequest {
        company_id: view.company.id,
        rep_id: view.invitation.rep_id,
        invitation_id: view.invitation.id,
        name: form.name.trim().chars().take(MAX_NAME_CHARS).collect(),
        phone,
    };
    let company = view.company.clone();
    let text = Box::new(move |code: &str| otp_text(&company, code));
    match sms::code::send_code(&st.sms, request, text).await {
        Ok(CodeOutcome::Sent) => reply(
            StatusCode::OK,
            "验证码已发送，10 分钟内有效，请查看短信。",
            true,
        ),
        Ok(CodeOutcome::Refused(reason)) => {
            let (status, msg) = refusal_text(reason, &view.inviter.name);
            reply(status, &msg, false)
        }
        Ok(CodeOutcome::Failed) => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "短信发送失败，请稍后再试。",
            false,
        ),
        Err(e) => {
            tracing::error!(error = %e, "a one-time code failed");
            reply(StatusCode::SERVICE_UNAVAILABLE, T_FAILED, false)
        }
    }
}

/// Why the SMS rules sent no code, for the person on the form.
fn refusal_text(reason: RefuseReason, rep: &str) -> (StatusCode, String) {
    match reason {
        RefuseReason::OptedOut => (
            StatusCode::FORBIDDEN,
            format!("这个手机号已退订我们的短信，收不到验证码。请联系 {rep}，由 TA 为你添加。"),
        ),
        RefuseReason::CodeTooSoon => (
            StatusCode::TOO_MANY_REQUESTS,
            "验证码刚刚已发送，请查看短信；1 分钟后才能重新获取。".to_string(),
        ),
        RefuseReason::DailyCapReached => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("这个手机号今天收到的短信已达上限，请明天再试，或联系 {rep}。"),
        ),
        _ => (StatusCode::BAD_REQUEST, T_FAILED.to_string()),
    }
}

/// `POST /i/{token}/code`: sends a one-time code to the phone in the form.
pub(crate) async fn code_by_token(
    State(st): State<AppState>,
    ClientIp(addr): ClientIp,
    Path(token): Path<String>,
    form: Result<Form<InviteForm>, FormRejection>,
) -> Response {
    send_code(st, InviteKey::Token(token), addr, form).await
}

/// `POST /j/{code}/code`.
pub(crate) async fn code_by_code(
    State(st): State<AppState>,
    ClientIp(addr): ClientIp,
    Path(code): Path<String>,
    form: Result<Form<InviteForm>, FormRejection>,
) -> Response {
    send_code(st, InviteKey::ShortCode(code), addr, form).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(name: &str) -> InviteForm {
        InviteForm {
            name: name.into(),
            phone: "13800138000".into(),
            consent: Some("on".into()),
            ..InviteForm::default()
        }
    }

    /// A refused name is told the limit the check uses; one at the limit passes.
    #[test]
    fn bad_name_states_the_name_limit() {
        for name in [String::new(), "名".repeat(MAX_NAME_CHARS + 1)] {
            let msg = checked_form(&form(&name), true).expect_err("refused");
            assert!(msg.contains(&MAX_NAME_CHARS.to_string()), "{msg}");
        }
        assert!(checked_form(&form(&"名".repeat(MAX_NAME_CHARS)), true).is_ok());
    }
}
