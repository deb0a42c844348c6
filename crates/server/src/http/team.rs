//! The manager's team: who is in the company, switching a rep or a partner
//! off and on, revoking one device (the rules: `warmlead_core::team`).

use axum::extract::{Path, State};
use axum::Json;
use warmlead_core::api::{IssuedCode, NewTeamMember, TeamMember, TeamQuery};
use warmlead_core::domain::{Role, User};
use warmlead_core::invite::activation_link;

use super::extract::{ApiJson, ApiQuery};
use super::AppState;
use crate::error::ServerError;
use crate::storage::Caller;

/// Shares are counted over the last 30 days unless the UI says from when.
const DEFAULT_SHARES_WINDOW_MS: i64 = 30 * 24 * 3600 * 1000;

pub(crate) async fn list(
    State(st): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<TeamQuery>,
) -> Result<Json<Vec<TeamMember>>, ServerError> {
    if caller.user.role != Role::Manager {
        return Err(ServerError::Forbidden(
            "only a manager sees the team".into(),
        ));
    }
    let since = q
        .shares_since
        .unwrap_or_else(|| crate::storage::now_ms() - DEFAULT_SHARES_WINDOW_MS);
    Ok(Json(st.db.team(caller.company.id, since).await?))
}

/// A new rep or manager, with the code, link (and so QR) to sign in with.
pub(crate) async fn add(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewTeamMember>,
) -> Result<Json<IssuedCode>, ServerError> {
    let (user, code) = st.db.add_member(caller.user, new).await?;
    Ok(Json(issued(&st, user, code)))
}

/// A fresh code for someone's next device.
pub(crate) async fn issue_code(
    State(st): State<AppState>,
    caller: Caller,
    Path(user_id): Path<i64>,
) -> Result<Json<IssuedCode>, ServerError> {
    let (user, code) = st.db.issue_code(caller.user, user_id).await?;
    Ok(Json(issued(&st, user, code)))
}

fn issued(st: &AppState, user: User, activation_code: String) -> IssuedCode {
    IssuedCode {
        activation_link: activation_link(&st.public_url, &activation_code),
        user,
        activation_code,
    }
}

pub(crate) async fn deactivate(
    State(st): State<AppState>,
    caller: Caller,
    Path(user_id): Path<i64>,
) -> Result<Json<TeamMember>, ServerError> {
    st.db
        .set_active(caller.user.clone(), user_id, false)
        .await?;
    member(&st, &caller, user_id).await
}

pub(crate) async fn reactivate(
    State(st): State<AppState>,
    caller: Caller,
    Path(user_id): Path<i64>,
) -> Result<Json<TeamMember>, ServerError> {
    st.db.set_active(caller.user.clone(), user_id, true).await?;
    member(&st, &caller, user_id).await
}

/// Answers the device's owner as the team screen shows them.
pub(crate) async fn revoke_device(
    State(st): State<AppState>,
    caller: Caller,
    Path(device_id): Path<i64>,
) -> Result<Json<TeamMember>, ServerError> {
    let owner = st.db.revoke_device(caller.user.clone(), device_id).await?;
    member(&st, &caller, owner).await
}

/// One person of the caller's company as `GET /api/v1/team` shows them.
async fn member(
    st: &AppState,
    caller: &Caller,
    user_id: i64,
) -> Result<Json<TeamMember>, ServerError> {
    let since = crate::storage::now_ms() - DEFAULT_SHARES_WINDOW_MS;
    st.db
        .team(caller.company.id, since)
        .await?
        .into_iter()
        .find(|m| m.user.id == user_id)
        .map(Json)
        .ok_or_else(|| ServerError::NotFound(format!("no user {user_id} in your company")))
}
