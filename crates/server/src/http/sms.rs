//! The SMS routes: a rep's invitations by SMS (`POST /api/v1/invitations/sms`)
//! and the provider hooks (`POST /hooks/sms/{provider}/status` for delivery
//! reports, `.../reply` for inbound replies). What they do is
//! `crate::services::sms`; here only the HTTP: bodies, the secret's header, and the
//! acknowledgement each provider expects.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use warmlead_core::api::{MAX_JSON_BYTES, PATH_SMS_HOOKS_PREFIX, PATH_SMS_INVITATIONS};
use warmlead_core::invite::{SmsInviteRequest, SmsInviteResult};

use super::AppState;
use crate::error::ServerError;
use crate::services::sms::hooks::{self, Provider, MAX_HOOK_BYTES, SECRET_HEADER};
use crate::storage::Caller;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            PATH_SMS_INVITATIONS,
            post(send_invitations).layer(DefaultBodyLimit::max(MAX_JSON_BYTES)),
        )
        .route(
            &format!("{PATH_SMS_HOOKS_PREFIX}{{provider}}/status"),
            post(status).layer(DefaultBodyLimit::max(MAX_HOOK_BYTES)),
        )
        .route(
            &format!("{PATH_SMS_HOOKS_PREFIX}{{provider}}/reply"),
            post(reply).layer(DefaultBodyLimit::max(MAX_HOOK_BYTES)),
        )
}

async fn send_invitations(
    State(st): State<AppState>,
    caller: Caller,
    body: Result<Json<SmsInviteRequest>, JsonRejection>,
) -> Result<Json<SmsInviteResult>, ServerError> {
    let Json(req) = body.map_err(|rej| ServerError::InvalidInput(rej.body_text()))?;
    crate::services::sms::invite::send(&st.sms, caller, req)
        .await
        .map(Json)
}

async fn status(
    State(st): State<AppState>,
    Path(provider): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServerError> {
    let provider = authorized(&st, &provider, &headers, query.as_deref())?;
    hooks::status(&st.sms, provider, &body_text(body)?).await?;
    Ok(ack(provider))
}

async fn reply(
    State(st): State<AppState>,
    Path(provider): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServerError> {
    let provider = authorized(&st, &provider, &headers, query.as_deref())?;
    hooks::reply(&st.sms, provider, &body_text(body)?).await?;
    Ok(ack(provider))
}

/// The secret first (a wrong one learns nothing, not even the provider names).
fn authorized(
    st: &AppState,
    provider: &str,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Provider, ServerError> {
    let secret = headers.get(SECRET_HEADER).and_then(|v| v.to_str().ok());
    hooks::authorize(&st.sms, secret, query)?;
    Provider::parse(provider)
}

fn body_text(body: Result<Bytes, BytesRejection>) -> Result<String, ServerError> {
    let bytes = body.map_err(|rej| {
        if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ServerError::PayloadTooLarge(format!("hook body is larger than {MAX_HOOK_BYTES} bytes"))
        } else {
            ServerError::InvalidInput(rej.body_text())
        }
    })?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ServerError::InvalidInput("hook body is not UTF-8".into()))
}

/// The acknowledgement each provider documents as "received, do not retry".
fn ack(provider: Provider) -> Response {
    match provider {
        Provider::Aliyun => Json(serde_json::json!({"code": 0, "msg": "成功"})).into_response(),
        Provider::Tencent => Json(serde_json::json!({"result": 0, "errmsg": "OK"})).into_response(),
        // Empty TwiML: take the message, answer nothing to the sender.
        Provider::Twilio => (
            [(header::CONTENT_TYPE, "text/xml")],
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>",
        )
            .into_response(),
    }
}
