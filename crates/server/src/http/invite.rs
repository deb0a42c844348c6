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
use warmlead_core::domain::{Company, Role, User};
use warmlead_core::invite::{
    activation_link, offline, Invitation, NewInvitation, PartnerImportRequest,
};
use warmlead_core::phone::Phone;
use warmlead_sms::RefuseReason;

use super::client_ip::{ip_hash_of, ClientIp};
use super::extract::ApiJson;
use super::limit::RateLimiter;
use super::page::{self, escape, Lang};
use super::public::html;
use super::AppState;
use crate::error::ServerError;
use crate::sms::{
    self,
    code::{CodeOutcome, CodeRequest},
};
use crate::storage::invitations::{
    closed_reason, is_for_phone, normalize_short_code, AcceptOutcome, Accepted, Closed, InviteKey,
    InviteView, OtpCheck,
};
use crate::storage::{now_ms, Caller};

// Names and phones of people, as everywhere (warmlead-core's limits).
use warmlead_core::limits::{MAX_NAME_CHARS, MAX_PHONE_CHARS};

/// Reps and managers invite; partners may not (`invite::terms::may_invite`).
fn require_inviter(caller: &Caller) -> Result<(), ServerError> {
    if warmlead_core::invite::terms::may_invite(caller.user.role) {
        Ok(())
    } else {
        Err(ServerError::Forbidden(
            "only reps and managers can invite partners".into(),
        ))
    }
}

/// `POST /api/v1/invitations`.
pub(crate) async fn create(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewInvitation>,
) -> Result<Json<Invitation>, ServerError> {
    require_inviter(&caller)?;
    let inv = st
        .db
        .create_invitation(caller.user, new, st.public_url.clone())
        .await?;
    Ok(Json(inv))
}

/// `GET /api/v1/invitations/{id}`: fresh uses and status (the QR screen polls it).
pub(crate) async fn get(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Invitation>, ServerError> {
    require_inviter(&caller)?;
    Ok(Json(st.db.invitation_for(caller.user, id).await?))
}

/// Largest import body: the CSV itself is at most `csv_import::MAX_BYTES`
/// (2 MB); as JSON rows it grows by field names, about 60 bytes a row.
pub(crate) const MAX_IMPORT_BYTES: usize = 4 * 1024 * 1024;

/// `POST /api/v1/partners/import`: all rows or none; 422 with the rows that
/// stopped it.
pub(crate) async fn import(
    State(st): State<AppState>,
    caller: Caller,
    body: Result<Json<PartnerImportRequest>, JsonRejection>,
) -> Result<Response, ServerError> {
    if caller.user.role != Role::Rep {
        return Err(ServerError::Forbidden(
            "only reps import partners (they are bound to the rep who imports them)".into(),
        ));
    }
    let Json(req) = body.map_err(|rej| {
        if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ServerError::PayloadTooLarge(format!(
                "an import body is at most {MAX_IMPORT_BYTES} bytes; split the file"
            ))
        } else {
            ServerError::InvalidInput(rej.body_text())
        }
    })?;
    if req.rows.is_empty() || req.rows.len() > csv_import::MAX_ROWS {
        return Err(ServerError::InvalidInput(format!(
            "an import has 1 to {} rows, got {}",
            csv_import::MAX_ROWS,
            req.rows.len()
        )));
    }
    let result = st.db.import_partners(caller.user, req.rows).await?;
    let status = if result.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(result)).into_response())
}

/// `POST /api/v1/invitations/{id}/revoke`.
pub(crate) async fn revoke(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Invitation>, ServerError> {
    require_inviter(&caller)?;
    Ok(Json(st.db.revoke_invitation(caller.user, id).await?))
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

/// Extra styles of these pages, on top of the share page's.
const INVITE_STYLE: &str = "<style>\
.lead{margin:0 16px 8px;color:#555;font-size:15px}\
.box{margin:0 16px}\
.row{display:flex;gap:8px;align-items:flex-end}\
.row input{flex:1}\
.row button{width:auto;white-space:nowrap}\
.msg{border-radius:10px;padding:12px 16px;margin:12px 16px 0;font-size:14px}\
.msg.error{background:#fff0f0}\
.msg.ok{background:#ebfbee;color:#2b8a3e}\
.code{font:700 32px/1.3 ui-monospace,Menlo,Consolas,monospace;letter-spacing:4px;text-align:center;\
background:#fff4ec;color:#8a5a3c;border-radius:12px;padding:16px;margin:8px 16px;user-select:all}\
.steps{margin:8px 16px;padding-left:20px}\
.steps li{margin:8px 0}\
a.button{display:block;text-align:center;text-decoration:none;border-radius:10px;padding:12px 16px;margin:12px 16px}\
</style>";

fn initial(company: &Company) -> String {
    company
        .name
        .chars()
        .next()
        .map(|c| c.to_string())
        .unwrap_or_default()
}

/// The page frame: the company's header, then `inner`.
fn frame(company: Option<&Company>, id: &str, title: &str, inner: &str) -> String {
    let header = company.map_or(String::new(), |c| {
        format!(
            "<header><div class=\"logo\" aria-hidden=\"true\">{}</div><div class=\"company\">{}</div></header>",
            escape(&initial(c)),
            escape(&c.name)
        )
    });
    let body = format!("{INVITE_STYLE}<main id=\"{id}\">{header}{inner}</main>");
    page::document(Lang::Zh, title, &body)
}

fn message_html(message: Option<(&str, bool)>) -> String {
    message.map_or(String::new(), |(text, ok)| {
        format!(
            "<p id=\"wl-msg\" class=\"msg {}\" role=\"alert\">{}</p>",
            if ok { "ok" } else { "error" },
            escape(text)
        )
    })
}

/// What the invitation page shows besides the invitation: the values typed
/// so far (kept on errors) and a message.
struct FormState<'a> {
    name: &'a str,
    phone: &'a str,
    message: Option<(&'a str, bool)>,
}

/// The invitation with its form. `action` is the path the form posts to.
fn invite_page(view: &InviteView, action: &str, otp: bool, state: &FormState<'_>) -> String {
    let rep = escape(&view.inviter.name);
    let company = escape(&view.company.name);
    let action = escape(action);
    let code_field = if otp {
        format!(
            "<label for=\"wl-code\">短信验证码</label>\
<div class=\"row\"><input id=\"wl-code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"6\" placeholder=\"6 位数字\">\
<button type=\"submit\" class=\"secondary\" id=\"wl-send-code\" formaction=\"{action}/code\" formnovalidate>获取验证码</button></div>"
        )
    } else {
        String::new()
    };
    let inner = format!(
        "<h1 id=\"wl-invite-title\">{rep} 邀请你成为 {company} 的推荐合伙人</h1>\
<p class=\"lead\">把 {company} 的案例和活动分享给身边有需要的朋友；朋友通过你的推荐成交，你可获得佣金，具体以 {rep} 的说明为准。</p>\
{msg}\
<form class=\"box\" method=\"post\" action=\"{action}\" id=\"wl-invite-form\">\
<label for=\"wl-name\">姓名</label>\
<input id=\"wl-name\" name=\"name\" maxlength=\"{MAX_NAME_CHARS}\" autocomplete=\"name\" required value=\"{name}\">\
<label for=\"wl-phone\">手机号</label>\
<input id=\"wl-phone\" name=\"phone\" type=\"tel\" maxlength=\"{MAX_PHONE_CHARS}\" autocomplete=\"tel\" required value=\"{phone}\">\
{code_field}\
<label class=\"consent\"><input type=\"checkbox\" name=\"consent\" value=\"yes\" required>\
<span>我同意 {company} 保存我的姓名和手机号，用于合伙人联系和结算。<a href=\"/privacy\">隐私说明</a></span></label>\
<button type=\"submit\" class=\"primary\" id=\"wl-join\">加入，成为合伙人</button>\
</form><p class=\"note\">{company}</p>",
        msg = message_html(state.message),
        name = escape(state.name),
        phone = escape(state.phone),
    );
    frame(
        Some(&view.company),
        "wl-invite",
        &format!("{} 邀请你成为推荐合伙人", view.inviter.name),
        &inner,
    )
}

/// An invitation that can no longer be accepted (410).
fn closed_page(view: &InviteView, why: Closed) -> String {
    let reason = match why {
        Closed::Expired => "这个邀请已过期。",
        Closed::Revoked => "这个邀请已被撤销。",
        Closed::UsedUp => "这个邀请已被使用。",
    };
    let inner = format!(
        "<h1 class=\"accent\" id=\"wl-closed\">邀请已失效</h1><div class=\"body\"><p>{}</p>\
<p>请联系 {} 重新发一个邀请给你。</p></div>",
        escape(reason),
        escape(&view.inviter.name)
    );
    frame(
        Some(&view.company),
        "wl-invite-closed",
        "邀请已失效",
        &inner,
    )
}

/// An unknown or forged link (404).
fn unknown_page() -> String {
    let inner = "<h1 class=\"accent\">邀请不存在</h1><div class=\"body\">\
<p>这个邀请链接不正确或已失效。请向邀请你的人要一个新的链接，或在 <a href=\"/j\">这里</a> 输入邀请码。</p></div>";
    frame(None, "wl-invite-unknown", "邀请不存在", inner)
}

/// `/j`: one input for the short code.
fn join_page(code: &str, message: Option<(&str, bool)>) -> String {
    let inner = format!(
        "<h1>输入邀请码</h1><p class=\"lead\">扫码打不开时，输入邀请你的人屏幕上显示的 6 位邀请码。</p>{msg}\
<form class=\"box\" method=\"get\" action=\"/j\" id=\"wl-join-form\">\
<label for=\"wl-short-code\">邀请码</label>\
<input id=\"wl-short-code\" name=\"code\" maxlength=\"12\" autocapitalize=\"characters\" autocomplete=\"off\" required value=\"{code}\">\
<button type=\"submit\" class=\"primary\" style=\"margin-top:16px\">下一步</button></form>",
        msg = message_html(message),
        code = escape(code),
    );
    frame(None, "wl-join", "输入邀请码", &inner)
}

/// The phone already belongs to someone in the company: nothing created.
/// Answered 200 like a join, and only said plainly to a person who proved
/// the phone is theirs (the SMS code); anyone else typing a number gets a
/// neutral page that also tells a real member the way back in.
fn member_page(view: &InviteView, phone_proven: bool) -> String {
    let company = escape(&view.company.name);
    let rep = escape(&view.inviter.name);
    let inner = if phone_proven {
        format!(
            "<h1 id=\"wl-already\">你已经是 {company} 的成员</h1><div class=\"body\">\
<p>这个手机号已经注册过，无需重复加入。</p>\
<p>在电脑上打开 Warmlead 即可继续使用；如果需要新的激活码或安装包，请联系 {rep}。</p></div>"
        )
    } else {
        format!(
            "<h1 id=\"wl-no-join\">这个手机号无需通过此邀请加入</h1><div class=\"body\">\
<p>请核对手机号是否填写正确。</p>\
<p>如果你之前已经加入过 {company}，不用重复加入：在电脑上打开 Warmlead 即可继续使用；需要新的激活码或安装包，请联系 {rep}。</p></div>"
        )
    };
    frame(Some(&view.company), "wl-invite-member", "邀请", &inner)
}

/// After joining: how to get the app, the activation code, the deep link.
fn welcome_page(
    view: &InviteView,
    partner: &User,
    code: &str,
    public_url: &str,
    download_url: Option<&str>,
) -> String {
    let rep = escape(&view.inviter.name);
    let download = match download_url {
        Some(url) => format!(
            "<a id=\"wl-download\" href=\"{}\">下载 Warmlead 电脑版</a>",
            escape(url)
        ),
        None => format!("向 {rep} 索取 Warmlead 电脑版安装包"),
    };
    let link = activation_link(public_url, code);
    let inner = format!(
        "<h1 id=\"wl-welcome\">欢迎加入，{name}！</h1>\
<p class=\"lead\">你已成为 {company} 的推荐合伙人，对接人是 {rep}。</p>\
<ol class=\"steps\"><li>{download}，在电脑上安装。</li>\
<li>打开 Warmlead，输入下面的激活码（或在电脑上点下面的按钮）。</li></ol>\
<div class=\"code\" id=\"wl-activation-code\">{code}</div>\
<a class=\"button primary\" id=\"wl-open-app\" href=\"{link}\">在电脑上打开 Warmlead</a>\
<p class=\"hint\">激活码 7 天内有效，只能使用一次；请截图保存，不要告诉他人。</p>",
        name = escape(&partner.name),
        company = escape(&view.company.name),
        code = escape(code),
        link = escape(&link),
    );
    frame(Some(&view.company), "wl-invite-welcome", "欢迎加入", &inner)
}

/// The invitation behind a public page, or the page that says why not.
async fn load(st: &AppState, key: InviteKey, ip: &str) -> Result<InviteView, Response> {
    if let InviteKey::ShortCode(code) = &key {
        if !st.invite_limits.code_lookup_per_ip.allow(&st.db, ip).await {
            return Err(html(
                StatusCode::TOO_MANY_REQUESTS,
                join_page(code, Some((T_TOO_MANY, false))),
            ));
        }
    }
    let wellformed = match &key {
        InviteKey::Token(t) => is_token(t),
        InviteKey::ShortCode(_) => true,
    };
    let found = if wellformed {
        st.db.invite_view(key.clone(), st.public_url.clone()).await
    } else {
        Ok(None)
    };
    match found {
        Ok(Some(view)) => match closed_reason(&view.invitation, now_ms()) {
            None => Ok(view),
            Some(why) => Err(html(StatusCode::GONE, closed_page(&view, why))),
        },
        Ok(None) => Err(match key {
            InviteKey::Token(_) => html(StatusCode::NOT_FOUND, unknown_page()),
            InviteKey::ShortCode(code) => html(
                StatusCode::NOT_FOUND,
                join_page(
                    &code,
                    Some(("邀请码不正确或已失效，请核对后重新输入。", false)),
                ),
            ),
        }),
        Err(e) => {
            tracing::error!(error = %e, "invitation lookup failed");
            Err(html(
                StatusCode::SERVICE_UNAVAILABLE,
                page::message_page(Lang::Zh, false, T_FAILED),
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
                invite_page(&view, &action_of(&key), st.sms_is_real, &state),
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
        None => html(StatusCode::OK, join_page("", None)),
    }
}

/// Re-renders the form with what was typed and a message.
fn form_reply(
    st: &AppState,
    view: &InviteView,
    key: &InviteKey,
    form: &InviteForm,
    status: StatusCode,
    message: (&str, bool),
) -> Response {
    let state = FormState {
        name: &form.name,
        phone: &form.phone,
        message: Some(message),
    };
    html(
        status,
        invite_page(view, &action_of(key), st.sms_is_real, &state),
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
    let reply = |status, msg: &str| form_reply(&st, &view, &key, &form, status, (msg, false));
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
    match st.db.accept_invitation(id, name, phone, code).await {
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
    let reply = |status, msg: &str, ok| form_reply(&st, &view, &key, &form, status, (msg, ok));
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
    match sms::code::send_code(&st, request, text).await {
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
