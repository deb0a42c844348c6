//! The manager's team: who is in the company, switching a rep or a partner
//! off and on, revoking one device, sending an activation code by SMS (the
//! rules: `warmlead_core::team`, and the SMS rules of `crate::services::sms::code`).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use warmlead_core::api::{
    CodeSmsRequest, CodeSmsSent, IssuedCode, NewTeamMember, ReactivateRequest, TeamImportAdded,
    TeamImportRequest, TeamImportResult, TeamMember, TeamQuery,
};
use warmlead_core::domain::User;
use warmlead_core::invite::activation_link;
use warmlead_core::phone::Phone;
use warmlead_core::team::{ActivationSms, SmsLanguage};
use warmlead_sms::RefuseReason;

use super::extract::{ApiJson, ApiQuery};
use super::AppState;
use crate::error::ServerError;
use crate::services::accounts::{self, Switch};
use crate::services::sms::code::{send_activation_code, ActivationCodeSms, CodeOutcome};
use crate::storage::Caller;

/// Shares are counted over the last 30 days unless the UI says from when.
const DEFAULT_SHARES_WINDOW_MS: i64 = 30 * 24 * 3600 * 1000;

pub(crate) async fn list(
    State(st): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<TeamQuery>,
) -> Result<Json<Vec<TeamMember>>, ServerError> {
    let since = q
        .shares_since
        .unwrap_or_else(|| crate::storage::now_ms() - DEFAULT_SHARES_WINDOW_MS);
    Ok(Json(accounts::team_as(&st.db, &caller.user, since).await?))
}

/// A new rep or manager, with the code, link (and so QR) to sign in with.
pub(crate) async fn add(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewTeamMember>,
) -> Result<Json<IssuedCode>, ServerError> {
    let (user, code) = accounts::add_member(&st.db, caller.user, new).await?;
    Ok(Json(issued(&st, user, code)))
}

/// `POST /api/v1/team/import`: reps from a file, all or none, each with
/// their first code; 422 with the rows that stopped it (a phone already in
/// the company, a row edited on the way). A dry run only checks: the
/// import dialog shows its problems before the manager confirms.
pub(crate) async fn import(
    State(st): State<AppState>,
    caller: Caller,
    body: Result<Json<TeamImportRequest>, JsonRejection>,
) -> Result<Response, ServerError> {
    let req = super::invite::import_body(body)?;
    super::invite::check_import_rows(&req.rows)?;
    let (added, errors) = accounts::import_reps(&st.db, caller.user, req.rows, req.dry_run).await?;
    let status = super::invite::import_status(req.dry_run, &errors);
    let result = TeamImportResult {
        added: added
            .into_iter()
            .map(|(row, user, code)| TeamImportAdded {
                row,
                issued: issued(&st, user, code),
            })
            .collect(),
        errors,
    };
    Ok((status, Json(result)).into_response())
}

/// A fresh code for someone's next device.
pub(crate) async fn issue_code(
    State(st): State<AppState>,
    caller: Caller,
    Path(user_id): Path<i64>,
) -> Result<Json<IssuedCode>, ServerError> {
    let (user, code) = accounts::issue_code(&st.db, caller.user, user_id).await?;
    Ok(Json(issued(&st, user, code)))
}

/// Sends a code the caller was shown (and is still open) to the person's
/// phone through the SMS provider, in their language, under the SMS rules.
pub(crate) async fn sms_code(
    State(st): State<AppState>,
    caller: Caller,
    Path(user_id): Path<i64>,
    ApiJson(req): ApiJson<CodeSmsRequest>,
) -> Result<Json<CodeSmsSent>, ServerError> {
    let code = req.activation_code.trim().to_string();
    let (user, company) =
        accounts::code_for_sms(&st.db, caller.user.clone(), user_id, code.clone()).await?;
    let phone = Phone::parse(user.phone.as_deref().unwrap_or_default())
        .map_err(|e| ServerError::InvalidInput(e.to_string()))?;
    let text = ActivationSms {
        company: &company,
        name: &user.name,
        code: &code,
        server_url: &st.public_url,
        valid_days: accounts::CODE_TTL_DAYS,
    }
    .text(SmsLanguage::for_phone(phone.as_e164()));
    let sms = ActivationCodeSms {
        company_id: caller.company.id,
        sender_id: caller.user.id,
        name: user.name.clone(),
        phone: phone.clone(),
        code,
        text: text.clone(),
    };
    match send_activation_code(&st.sms, sms).await? {
        CodeOutcome::Sent => Ok(Json(CodeSmsSent {
            phone: phone.as_e164().to_string(),
            text,
        })),
        CodeOutcome::Refused(reason) => Err(refused(reason)),
        CodeOutcome::Failed => Err(ServerError::Busy(
            "the SMS provider did not take the message; try again, or give the code in person"
                .into(),
        )),
    }
}

/// The SMS rules' refusal as the API's error.
fn refused(reason: RefuseReason) -> ServerError {
    match reason {
        RefuseReason::OptedOut => ServerError::Conflict(
            "this number opted out of our SMS; give the code in person".into(),
        ),
        RefuseReason::CodeTooSoon | RefuseReason::DailyCapReached => {
            ServerError::RateLimited(reason.message().into())
        }
        other => ServerError::InvalidInput(other.message().into()),
    }
}

fn issued(st: &AppState, user: User, (code_id, activation_code): (i64, String)) -> IssuedCode {
    IssuedCode {
        activation_link: activation_link(&st.public_url, &activation_code),
        user,
        code_id,
        activation_code,
    }
}

/// Withdraws one open activation code of the person (handed to the wrong
/// person, a lost note); answers the person as the team screen shows them.
pub(crate) async fn revoke_code(
    State(st): State<AppState>,
    caller: Caller,
    Path((user_id, code_id)): Path<(i64, i64)>,
) -> Result<Json<TeamMember>, ServerError> {
    accounts::revoke_code(&st.db, caller.user.clone(), user_id, code_id).await?;
    member(&st, &caller, user_id).await
}

pub(crate) async fn deactivate(
    State(st): State<AppState>,
    caller: Caller,
    Path(user_id): Path<i64>,
) -> Result<Json<TeamMember>, ServerError> {
    accounts::set_active(&st.db, caller.user.clone(), user_id, Switch::Off).await?;
    member(&st, &caller, user_id).await
}

/// Switches someone on again; their invitations closed by the switch-off
/// reopen only when the body asks (`ReactivateRequest`, empty: none).
pub(crate) async fn reactivate(
    State(st): State<AppState>,
    caller: Caller,
    Path(user_id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<TeamMember>, ServerError> {
    let req: ReactivateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ReactivateRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ServerError::InvalidInput(format!(
                "expected {{\"reopen_invitations\": true or false}}: {e}"
            ))
        })?
    };
    let switch = Switch::On {
        reopen_invitations: req.reopen_invitations,
    };
    accounts::set_active(&st.db, caller.user.clone(), user_id, switch).await?;
    member(&st, &caller, user_id).await
}

/// Answers the device's owner as the team screen shows them.
pub(crate) async fn revoke_device(
    State(st): State<AppState>,
    caller: Caller,
    Path(device_id): Path<i64>,
) -> Result<Json<TeamMember>, ServerError> {
    let owner = accounts::revoke_device(&st.db, caller.user.clone(), device_id).await?;
    member(&st, &caller, owner).await
}

/// One person of the caller's company as `GET /api/v1/team` shows them.
async fn member(
    st: &AppState,
    caller: &Caller,
    user_id: i64,
) -> Result<Json<TeamMember>, ServerError> {
    let since = crate::storage::now_ms() - DEFAULT_SHARES_WINDOW_MS;
    accounts::team(&st.db, caller.company.id, since)
        .await?
        .into_iter()
        .find(|m| m.user.id == user_id)
        .map(Json)
        .ok_or_else(|| ServerError::NotFound(format!("no user {user_id} in your company")))
}
