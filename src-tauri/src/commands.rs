//! The Tauri commands: each one calls store, sync or media and turns errors
//! into `ApiError {code, message}` for the UI.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tauri::{AppHandle, State};
use tauri_plugin_clipboard_manager::ClipboardExt;
use warmlead_core::app::{
    BriefcaseItem, BriefcaseQuery, RadarEntry, Session, ShareResult, SignInFields, SyncState,
    SyncStatus, TokenPlace,
};
use warmlead_core::domain::{Channel, ContentItem};
use warmlead_core::error::ApiError;
use warmlead_core::ErrorCode;
use warmlead_store::{Place, Store};

use crate::bridge;
use crate::state::{open, require_engine, start_engine, AppState};

pub type Res<T> = Result<T, ApiError>;

/// Pixels per QR module: crisp in the dialog and when saved for a poster.
const QR_MODULE_PX: u32 = 12;

/// Runs `f` on a fresh `Store` off the async threads.
pub async fn blocking<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce(&Store) -> Result<T, warmlead_store::StoreError> + Send + 'static,
) -> Res<T> {
    let path = path.to_path_buf();
    tauri::async_runtime::spawn_blocking(move || f(&open(&path)?).map_err(ApiError::from))
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// How the device introduces itself to the user's manager.
fn device_name() -> String {
    let host = std::env::var("HOSTNAME")
        .or_else(|_| std::env::var("COMPUTERNAME"))
        .unwrap_or_default();
    if host.is_empty() {
        format!("Warmlead desktop ({})", std::env::consts::OS)
    } else {
        format!("Warmlead desktop ({host})")
    }
}

/// Activates this device and stores its credentials: the token in the
/// keychain (or its fallback file), the rest in the cache. The address is
/// read as people type it (`signin::server_address`) and stored in that form.
pub async fn activate_device(state: &AppState, server_url: &str, code: &str) -> Res<Session> {
    let url = warmlead_core::signin::server_address(server_url)?;
    let resp = warmlead_sync::activate(&url, code, &device_name()).await?;
    let vault = state.vault().await;
    blocking(&state.db_path, move |s| {
        let place = s.sign_in_with(&vault, &url, &resp)?;
        tracing::info!("signed in; device token kept in the {}", place.as_str());
        s.session()
    })
    .await?
    .ok_or_else(|| ApiError::new(ErrorCode::Internal, "activation was not saved"))
}

#[bridge::command]
pub async fn session(state: State<'_, AppState>) -> Res<Option<Session>> {
    state.wait_launched().await;
    blocking(&state.db_path, |s| s.session()).await
}

/// The sign-in fields as they will be used: a pasted `warmlead://` link in
/// either field becomes its server and code, a typed address its full form.
/// The screen shows them back before it signs in.
#[bridge::command]
pub fn read_sign_in(server_url: String, code: String) -> Res<SignInFields> {
    warmlead_core::signin::sign_in_fields(&server_url, &code)
}

/// Signs in by hand, with the fields as typed (or a link pasted into one).
#[bridge::command]
pub async fn activate(
    app: AppHandle,
    state: State<'_, AppState>,
    server_url: String,
    code: String,
) -> Res<Session> {
    let fields = warmlead_core::signin::sign_in_fields(&server_url, &code)?;
    let session = activate_device(&state, &fields.server_url, &fields.code).await?;
    start_engine(&app);
    Ok(session)
}

/// Signs out; without `force` it refuses while changes wait to sync.
#[bridge::command]
pub async fn sign_out(app: AppHandle, state: State<'_, AppState>, force: bool) -> Res<()> {
    let engine = state.take_engine();
    let vault = state.vault().await;
    let result = blocking(&state.db_path, move |s| s.sign_out_with(&vault, force)).await;
    if let (Err(_), Some(handle)) = (&result, engine) {
        state.put_engine(handle);
    }
    if result.is_ok() {
        crate::session::forget_web_data(&app);
        state.set_signed_out(None);
    }
    result
}

/// Where this computer keeps the device token, for Settings: the session's
/// place when signed in, else where a sign-in would put it.
#[bridge::command]
pub async fn token_place(state: State<'_, AppState>) -> Res<TokenPlace> {
    let vault = state.vault().await;
    let kept = blocking(&state.db_path, |s| s.token_place()).await?;
    Ok(match kept.unwrap_or(vault.preferred()) {
        Place::Keychain => TokenPlace::Keychain,
        Place::File => TokenPlace::File,
    })
}

#[bridge::command]
pub async fn briefcase(
    state: State<'_, AppState>,
    query: BriefcaseQuery,
) -> Res<Vec<BriefcaseItem>> {
    blocking(&state.db_path, move |s| s.briefcase(&query)).await
}

#[bridge::command]
pub async fn content_item(state: State<'_, AppState>, id: i64) -> Res<ContentItem> {
    blocking(&state.db_path, move |s| s.content_item(id))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("content item {id} is not in the local cache"),
            )
        })
}

/// Creates a share (offline too) with its link and QR code. The suggested
/// message is left empty: the UI writes it in the user's language.
#[bridge::command]
pub async fn create_share(
    state: State<'_, AppState>,
    item_id: i64,
    channel: Channel,
) -> Res<ShareResult> {
    let (share, url, pending_sync) = blocking(&state.db_path, move |s| {
        let share = s.create_share(item_id, channel, now_ms())?;
        let url = s.share_url(&share)?;
        let pending = s.share_pending(&share.token)?;
        Ok((share, url, pending))
    })
    .await?;
    let png = warmlead_media::qr_png(&url, QR_MODULE_PX)
        .map_err(|e| ApiError::new(e.code(), e.to_string()))?;
    if let Some(engine) = state.engine() {
        engine.trigger();
    }
    Ok(ShareResult {
        share,
        url,
        qr_png_base64: STANDARD.encode(png),
        suggested_message: String::new(),
        pending_sync,
    })
}

#[bridge::command]
pub async fn radar(state: State<'_, AppState>, limit: i64) -> Res<Vec<RadarEntry>> {
    blocking(&state.db_path, move |s| s.radar(limit)).await
}

#[bridge::command]
pub async fn sync_status(state: State<'_, AppState>) -> Res<SyncStatus> {
    match state.engine() {
        Some(engine) => Ok(engine.status()),
        None => blocking(&state.db_path, |s| s.sync_status(false)).await,
    }
}

/// Syncs now; a failed attempt is not an error here: the status says why.
#[bridge::command]
pub async fn sync_now(state: State<'_, AppState>) -> Res<SyncStatus> {
    let engine = require_engine(&state)?;
    if let Err(e) = engine.sync_now().await {
        tracing::info!("sync now failed: {e}");
    }
    Ok(engine.status())
}

/// Forgets a rejected change the user has seen. Only the record goes: the
/// change itself was undone when the server refused it. Answers the badge's
/// status without it.
#[bridge::command]
pub async fn dismiss_rejected(state: State<'_, AppState>, mutation_id: String) -> Res<SyncStatus> {
    let online = state
        .engine()
        .is_some_and(|e| e.status().state != SyncState::Offline);
    let status = blocking(&state.db_path, move |s| {
        s.dismiss_rejected(&mutation_id)?;
        s.sync_status(online)
    })
    .await?;
    if let Some(engine) = state.engine() {
        // The engine's own status follows after its next round.
        engine.trigger();
    }
    Ok(status)
}

/// Saves the QR code of `url` as a PNG where the user chooses (a save
/// dialog that opens on Downloads); the path written, `None` when they
/// cancelled.
#[bridge::command]
pub async fn save_qr_png(app: AppHandle, url: String, file_name: String) -> Res<Option<String>> {
    check_file_name(&file_name, ".png")?;
    let png = warmlead_media::qr_png(&url, QR_MODULE_PX)
        .map_err(|e| ApiError::new(e.code(), e.to_string()))?;
    save_as(&app, &file_name, png).await
}

/// Where a save goes without asking: the folder this names. The native save
/// dialog is a window WebDriver cannot drive, so the end-to-end tests set it;
/// people never need to.
pub const SAVE_DIR_ENV: &str = "WARMLEAD_SAVE_DIR";

/// Asks where to save the PNG `bytes` (opening on Downloads, named
/// `name`), writes it there and answers the path; `None` when cancelled.
pub async fn save_as(app: &AppHandle, name: &str, bytes: Vec<u8>) -> Res<Option<String>> {
    save_file(app, name, ".png", "PNG", bytes).await
}

/// The QR code of `text` as a PNG (base64), drawn by the same Rust code as
/// the posters' QR, for the screens to show (an activation link, a share).
#[bridge::command]
pub async fn qr_png(text: String) -> Res<String> {
    let png = warmlead_media::qr_png(&text, QR_MODULE_PX)
        .map_err(|e| ApiError::new(e.code(), e.to_string()))?;
    Ok(STANDARD.encode(png))
}

/// A bare file name ending in `ext`: the UI picks a name, never a place.
fn check_file_name(name: &str, ext: &str) -> Res<()> {
    let bad = name.contains(['/', '\\', '\0'])
        || name.trim().len() <= ext.len()
        || !name.to_lowercase().ends_with(ext)
        || name.starts_with('.');
    if bad {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            format!("the file name must be a plain name ending in {ext}, without / or \\"),
        ));
    }
    Ok(())
}

/// Writes `bytes` as `name` into the Downloads folder (home, else temp, when
/// there is none); returns the path written.
pub async fn write_download(name: &str, ext: &str, bytes: Vec<u8>) -> Res<String> {
    check_file_name(name, ext)?;
    let dir: PathBuf = dirs::download_dir()
        .or_else(dirs::home_dir)
        .unwrap_or_else(std::env::temp_dir);
    let path = dir.join(name);
    let write = async {
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::write(&path, bytes).await
    };
    write.await.map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    Ok(path.display().to_string())
}

/// Saves `bytes` where the user chooses in a save dialog that opens in
/// Downloads with `name` (ending in `ext`, a `kind` of file) filled in; the
/// path written, or None when they closed the dialog. With `SAVE_DIR_ENV`
/// set it writes into that folder without asking.
pub async fn save_file(
    app: &AppHandle,
    name: &str,
    ext: &str,
    kind: &str,
    bytes: Vec<u8>,
) -> Res<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    check_file_name(name, ext)?;
    let path = match std::env::var_os(SAVE_DIR_ENV) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            tokio::fs::create_dir_all(&dir).await.map_err(|e| {
                ApiError::new(
                    ErrorCode::Internal,
                    format!("cannot create {}: {e}", dir.display()),
                )
            })?;
            dir.join(name)
        }
        None => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let mut dialog = app
                .dialog()
                .file()
                .set_file_name(name)
                .add_filter(kind, &[ext.trim_start_matches('.')]);
            if let Some(dir) = dirs::download_dir().or_else(dirs::home_dir) {
                dialog = dialog.set_directory(dir);
            }
            dialog.save_file(move |file| {
                let _ = tx.send(file);
            });
            match rx.await.ok().flatten().and_then(|f| f.into_path().ok()) {
                Some(path) => path,
                None => return Ok(None),
            }
        }
    };
    tokio::fs::write(&path, bytes).await.map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    Ok(Some(path.display().to_string()))
}

#[bridge::command]
pub fn copy_text(app: AppHandle, text: String) -> Res<()> {
    app.clipboard()
        .write_text(text)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("cannot copy: {e}")))
}

#[cfg(test)]
mod tests {
    use super::check_file_name;

    #[test]
    fn file_names_are_plain() {
        assert!(check_file_name("邀请海报.png", ".png").is_ok());
        assert!(check_file_name("partners.CSV", ".csv").is_ok());
        for bad in [
            "../x.png",
            "a/b.png",
            "a\\b.png",
            ".png",
            "x.jpg",
            "/etc/x.png",
            ".hidden.png",
        ] {
            assert!(check_file_name(bad, ".png").is_err(), "{bad}");
        }
    }
}
