//! Auto-update from the company's server: the app asks the server it is
//! signed in to (`warmlead_core::release::update_endpoint`) at start, after
//! a sign-in and every few hours; the window shows a banner with the new
//! version's notes, and on the user's word the updater plugin downloads the
//! package, verifies it and installs it, and the app restarts.
//!
//! What makes this safe: the plugin installs only a package whose minisign
//! signature verifies with the updater public key this build carries
//! (`plugins.updater.pubkey` in tauri.conf.json) and that was signed for the
//! version the server announced (`requireSignedVersion`). The server's
//! answer and the transport are not trusted for that, which is why a
//! company server on plain http is allowed (`dangerousInsecureTransportProtocol`):
//! an attacker there can withhold updates, never install one.
//!
//! `WARMLEAD_UPDATER_PUBKEY` replaces the built-in key only in debug builds
//! (tests sign packages with a key made at test time); a release build
//! ignores it, so nothing in a user's environment can make an installed app
//! trust another key. A build with no key never checks.

use std::sync::Mutex;
use std::time::Duration;

use tauri::{AppHandle, Manager, State};
use tauri_plugin_updater::{Update, UpdaterExt};
use tokio::sync::Notify;
use warmlead_core::app::{AvailableUpdate, UpdateStatus};
use warmlead_core::error::ApiError;
use warmlead_core::ErrorCode;

use crate::commands::{blocking, now_ms, Res};
use crate::state::AppState;
use crate::{bridge, events};

/// Between two checks while the app runs.
const CHECK_EVERY: Duration = Duration::from_secs(4 * 3600);

#[derive(Default)]
pub struct Updates {
    inner: Mutex<Found>,
    /// Wakes the check loop at once (a sign-in).
    wake: Notify,
}

#[derive(Default)]
struct Found {
    checked_at_ms: Option<i64>,
    update: Option<Update>,
    refused: Option<String>,
}

impl Updates {
    fn lock(&self) -> std::sync::MutexGuard<'_, Found> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The updater public key this build trusts; empty when it has none.
fn public_key(app: &AppHandle) -> String {
    if cfg!(debug_assertions) {
        if let Ok(key) = std::env::var("WARMLEAD_UPDATER_PUBKEY") {
            return key.trim().to_string();
        }
    }
    app.config()
        .plugins
        .0
        .get("updater")
        .and_then(|u| u.get("pubkey"))
        .and_then(|k| k.as_str())
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn status(app: &AppHandle) -> UpdateStatus {
    let found = app.state::<Updates>();
    let found = found.lock();
    UpdateStatus {
        current_version: app.package_info().version.to_string(),
        enabled: !public_key(app).is_empty(),
        checked_at_ms: found.checked_at_ms,
        available: found.update.as_ref().map(|u| AvailableUpdate {
            version: u.version.clone(),
            notes: u.body.clone().unwrap_or_default(),
        }),
        refused: found.refused.clone(),
    }
}

/// Checks now and then every [`CHECK_EVERY`] (or when woken) while the app runs.
pub fn start(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        app.state::<AppState>().wait_launched().await;
        if public_key(&app).is_empty() {
            tracing::info!("updates are off: this build has no updater public key");
            return;
        }
        // A sign-in during launch asked for a check: this first one is it.
        // (A zero timeout polls `notified` once, taking a stored wake-up.)
        let _ = tokio::time::timeout(Duration::ZERO, app.state::<Updates>().wake.notified()).await;
        loop {
            if let Err(e) = check(&app).await {
                tracing::warn!("update check failed: {}", e.message);
            }
            let updates = app.state::<Updates>();
            tokio::select! {
                _ = tokio::time::sleep(CHECK_EVERY) => {}
                _ = updates.wake.notified() => {}
            }
        }
    });
}

/// A check soon (after a sign-in: the server is known now).
pub fn wake(app: &AppHandle) {
    app.state::<Updates>().wake.notify_one();
}

/// Asks the signed-in server; keeps and announces what it offers.
async fn check(app: &AppHandle) -> Res<()> {
    let state = app.state::<AppState>();
    let Some(creds) = blocking(&state.db_path, |s| s.credentials()).await? else {
        return Ok(()); // not signed in: no server to ask
    };
    let endpoint = warmlead_core::release::update_endpoint(&creds.server_url);
    let failed = |e: tauri_plugin_updater::Error| ApiError::new(ErrorCode::Offline, e.to_string());
    let url: tauri::Url = endpoint
        .parse()
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("{endpoint}: {e}")))?;
    let update = app
        .updater_builder()
        .endpoints(vec![url])
        .map_err(failed)?
        .pubkey(public_key(app))
        .build()
        .map_err(failed)?
        .check()
        .await
        .map_err(failed)?;
    let announce = {
        let updates = app.state::<Updates>();
        let mut found = updates.lock();
        found.checked_at_ms = Some(now_ms());
        let new = update.as_ref().map(|u| u.version.clone());
        let was = found.update.as_ref().map(|u| u.version.clone());
        // A refusal is about the package then offered; a new one starts afresh.
        if new != was {
            found.refused = None;
        }
        found.update = update;
        new.is_some() && new != was
    };
    let status = status(app);
    if announce {
        tracing::info!(
            "version {} is available",
            status
                .available
                .as_ref()
                .map_or("?", |a| a.version.as_str())
        );
    }
    events::UPDATE_STATUS.emit(app, status);
    Ok(())
}

/// Where updates stand (the banner and Settings ask at start, then listen
/// to `update-status`).
#[bridge::command]
pub fn update_status(app: AppHandle) -> Res<UpdateStatus> {
    Ok(status(&app))
}

/// Asks the server now (Settings' 检查更新 button).
#[bridge::command]
pub async fn check_for_update(app: AppHandle) -> Res<UpdateStatus> {
    if public_key(&app).is_empty() {
        return Ok(status(&app));
    }
    check(&app).await?;
    Ok(status(&app))
}

/// Downloads, verifies and installs the offered version, then restarts the
/// app. A package or signature that does not verify installs nothing and
/// comes back as `refused`; a download that fails is an `offline` error.
#[bridge::command]
pub async fn install_update(app: AppHandle, updates: State<'_, Updates>) -> Res<UpdateStatus> {
    let update =
        updates.lock().update.clone().ok_or_else(|| {
            ApiError::new(ErrorCode::NotFound, "no update is waiting: check again")
        })?;
    tracing::info!("installing version {}", update.version);
    match update.download_and_install(|_, _| {}, || {}).await {
        Ok(()) => {
            tracing::info!("version {} installed; restarting", update.version);
            app.restart();
        }
        Err(e) if is_not_verified(&e) => {
            tracing::error!(
                "the update to {} was refused, nothing installed: {e}",
                update.version
            );
            updates.lock().refused = Some(e.to_string());
            let status = status(&app);
            events::UPDATE_STATUS.emit(&app, status.clone());
            Ok(status)
        }
        Err(e) => Err(ApiError::new(
            match e {
                tauri_plugin_updater::Error::Network(_)
                | tauri_plugin_updater::Error::Reqwest(_) => ErrorCode::Offline,
                _ => ErrorCode::Internal,
            },
            format!("the update was not installed: {e}"),
        )),
    }
}

/// Whether the updater refused the package as not signed by our key for
/// the announced version (rather than failing to fetch or install it).
fn is_not_verified(e: &tauri_plugin_updater::Error) -> bool {
    use tauri_plugin_updater::Error as E;
    matches!(
        e,
        E::Minisign(_)
            | E::Base64(_)
            | E::SignatureUtf8(_)
            | E::SignedVersionMismatch { .. }
            | E::MissingSignedVersion
    )
}
