//! The manager's 团队 section: thin commands over the server's team API
//! (the rules live in `warmlead_core::team` and on the server).
//!
//! Showing a code again and sending it again by SMS: the server keeps
//! activation codes only hashed (tokens are hashed at rest), so it cannot
//! hand a code back. This device keeps the codes it issued, and those a
//! team import returned, in its local cache while they are open, and shows
//! or re-sends them from there (the SMS endpoint takes the code in its
//! body). A code issued on another device is not known here: the team
//! screen says so and offers a new code, which retires the old one. Known
//! codes are forgotten once the team list no longer shows them open (used,
//! revoked, retired, expired: `warmlead_core::team::keep_known_code`), when
//! revoked here, and at sign-out.

use std::collections::HashSet;

use tauri::{AppHandle, State};
use warmlead_core::api::{CodeSmsSent, IssuedCode, NewTeamMember, TeamImportResult, TeamMember};
use warmlead_core::app::{KnownCode, TeamScreen};
use warmlead_core::csv_import::ImportRow;

use crate::bridge;
use crate::commands::{blocking, now_ms, save_file, Res};
use crate::invite::client;
use crate::state::AppState;

/// The company's people and the open codes this device knows; shares
/// counted from `shares_since` (UTC ms, the UI's start of the month).
#[bridge::command]
pub async fn team(state: State<'_, AppState>, shares_since: i64) -> Res<TeamScreen> {
    let asked_at = now_ms();
    let members = client(&state).await?.team(shares_since).await?;
    let open: HashSet<i64> = members
        .iter()
        .flat_map(|m| m.open_codes.iter().map(|c| c.id))
        .collect();
    let known_codes = blocking(&state.db_path, move |s| s.reconcile_codes(&open, asked_at)).await?;
    Ok(TeamScreen {
        members,
        known_codes,
    })
}

fn known(issued: &IssuedCode) -> KnownCode {
    KnownCode {
        code_id: issued.code_id,
        user_id: issued.user.id,
        activation_code: issued.activation_code.clone(),
        activation_link: issued.activation_link.clone(),
        remembered_at_ms: 0,
    }
}

/// Keeps codes just issued so they can be shown and sent again.
async fn remember(state: &AppState, issued: &[&IssuedCode]) -> Res<()> {
    let codes: Vec<KnownCode> = issued.iter().map(|i| known(i)).collect();
    blocking(&state.db_path, move |s| s.remember_codes(&codes, now_ms())).await
}

#[bridge::command]
pub async fn add_team_member(state: State<'_, AppState>, new: NewTeamMember) -> Res<IssuedCode> {
    let issued = client(&state).await?.add_team_member(&new).await?;
    remember(&state, &[&issued]).await?;
    Ok(issued)
}

#[bridge::command]
pub async fn issue_activation_code(state: State<'_, AppState>, user_id: i64) -> Res<IssuedCode> {
    let issued = client(&state).await?.issue_activation_code(user_id).await?;
    remember(&state, &[&issued]).await?;
    Ok(issued)
}

/// Adds reps from a file's checked rows, all or none, each with a first
/// code (kept here like any code this device issued); `dry_run` only asks
/// the server what it would refuse (phones already in the company).
#[bridge::command]
pub async fn import_team(
    state: State<'_, AppState>,
    rows: Vec<ImportRow>,
    dry_run: bool,
) -> Res<TeamImportResult> {
    let result = client(&state).await?.import_team(rows, dry_run).await?;
    let issued: Vec<&IssuedCode> = result.added.iter().map(|a| &a.issued).collect();
    remember(&state, &issued).await?;
    Ok(result)
}

/// Saves the codes an import gave out (name, phone, code, link) as a CSV
/// file where the manager chooses, Downloads first; the path written, or
/// None when the save dialog was closed.
#[bridge::command]
pub async fn export_codes_csv(
    app: AppHandle,
    file_name: String,
    codes: Vec<IssuedCode>,
) -> Res<Option<String>> {
    let csv = warmlead_store::codes_csv(&codes);
    save_file(&app, &file_name, ".csv", "CSV", csv).await
}

/// Sends an open activation code this device knows to the person's phone.
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

/// Withdraws one open activation code of the person; this device forgets it.
#[bridge::command]
pub async fn revoke_activation_code(
    state: State<'_, AppState>,
    user_id: i64,
    code_id: i64,
) -> Res<TeamMember> {
    let member = client(&state)
        .await?
        .revoke_activation_code(user_id, code_id)
        .await?;
    blocking(&state.db_path, move |s| s.forget_code(code_id)).await?;
    Ok(member)
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
