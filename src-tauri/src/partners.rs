//! The Partners screen: the list, chip counts and detail from the cache, the
//! CSV import (preview here, all-or-nothing on the server) and export.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tauri::State;
use warmlead_core::csv_import::{ImportPreview, ImportRow};
use warmlead_core::error::ApiError;
use warmlead_core::invite::{
    PartnerCounts, PartnerDetail, PartnerImportResult, PartnerPage, PartnerQuery,
};
use warmlead_core::ErrorCode;

use crate::bridge;
use crate::commands::{blocking, now_ms, write_download, Res};
use crate::invite::client;
use crate::state::AppState;

#[bridge::command]
pub async fn partners(state: State<'_, AppState>, query: PartnerQuery) -> Res<PartnerPage> {
    blocking(&state.db_path, move |s| s.partners(&query, now_ms())).await
}

#[bridge::command]
pub async fn partner_counts(state: State<'_, AppState>) -> Res<PartnerCounts> {
    blocking(&state.db_path, |s| s.partner_counts(now_ms())).await
}

#[bridge::command]
pub async fn partner_detail(state: State<'_, AppState>, id: i64) -> Res<PartnerDetail> {
    blocking(&state.db_path, move |s| s.partner_detail(id, now_ms())).await
}

/// Reads a CSV file the UI picked (base64 of its bytes): nothing is written.
#[bridge::command]
pub async fn preview_partner_import(bytes_base64: String) -> Res<ImportPreview> {
    let bytes = STANDARD
        .decode(bytes_base64.trim())
        .map_err(|_| ApiError::new(ErrorCode::InvalidInput, "the file is not base64"))?;
    tauri::async_runtime::spawn_blocking(move || warmlead_core::csv_import::preview(&bytes))
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))
}

/// Imports checked rows on the server, all or none. Rows the server refuses
/// (e.g. already partners) come back in `errors` with `imported: 0`. A
/// `dry_run` only asks the server what it would refuse (the preview).
#[bridge::command]
pub async fn import_partners(
    state: State<'_, AppState>,
    rows: Vec<ImportRow>,
    dry_run: bool,
) -> Res<PartnerImportResult> {
    let result = client(&state).await?.import_partners(rows, dry_run).await?;
    if result.imported > 0 {
        if let Some(engine) = state.engine() {
            engine.trigger();
        }
    }
    Ok(result)
}

/// Writes every partner in scope as CSV into Downloads; returns the path.
#[bridge::command]
pub async fn export_partners(state: State<'_, AppState>, file_name: String) -> Res<String> {
    let csv = blocking(&state.db_path, |s| s.export_partners_csv()).await?;
    write_download(&file_name, ".csv", csv).await
}
