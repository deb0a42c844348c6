//! The manager's 团队 section: thin commands over the server's team API
//! (the rules live in `warmlead_core::team` and on the server).

use tauri::State;
use warmlead_core::api::{CodeSmsSent, IssuedCode, NewTeamMember, TeamMember};

use crate::bridge;
use crate::commands::Res;
use crate::invite::client;
use crate::state::AppState;

/// The company's people; shares counted from `shares_since` (UTC ms, the
/// UI's start of the month).
#[bridge::command]
pub async fn team(state: State<'_, AppState>, shares_since: i64) -> Res<Vec<TeamMember>> {
    Ok(client(&state).await?.team(shares_since).await?)
}

#[bridge::command]
pub async fn add_team_member(state: State<'_, AppState>, new: NewTeamMember) -> Res<IssuedCode> {
    Ok(client(&state).await?.add_team_member(&new).await?)
}

#[bridge::command]
pub async fn issue_activation_code(state: State<'_, AppState>, user_id: i64) -> Res<IssuedCode> {
    Ok(client(&state).await?.issue_activation_code(user_id).await?)
}

/// Sends the activation code on the code card to the person's phone.
#[bridge::command]
pub async fn sms_activation_code(
    state: State<'_, AppState>,
    user_id: i64,
    activation_code: String,
) -> Res<CodeSmsSent> {
    Ok(client(&state)
        .await?
        .sms_activation_code(user_id, &activation_code)
        .await?)
}

/// Withdraws one open activation code of the person.
#[bridge::command]
pub async fn revoke_activation_code(
    state: State<'_, AppState>,
    user_id: i64,
    code_id: i64,
) -> Res<TeamMember> {
    Ok(client(&state)
        .await?
        .revoke_activation_code(user_id, code_id)
        .await?)
}

#[bridge::command]
pub async fn set_member_active(
    state: State<'_, AppState>,
    user_id: i64,
    active: bool,
    reopen_invitations: bool,
) -> Res<TeamMember> {
    Ok(client(&state)
        .await?
        .set_member_active(user_id, active, reopen_invitations)
        .await?)
}

#[bridge::command]
pub async fn revoke_device(state: State<'_, AppState>, device_id: i64) -> Res<TeamMember> {
    Ok(client(&state).await?.revoke_device(device_id).await?)
}
