//! Signing out when the company switched this account (or only this device)
//! off. The sync engine hears it on a pull, a push or the live event stream
//! (within seconds: the server wakes the stream); the UI hears it on any
//! other API call and reports it here, where the server is asked again. Then
//! the app stops syncing, wipes the company's data from this computer (the
//! cache file and the poster artwork cache, on disk and in memory) and the
//! sign-in screen says why and whom to ask (`SignedOut`, kept in memory only).

use std::path::Path;
use std::sync::Arc;

use tauri::{AppHandle, Manager, State};
use warmlead_core::app::SignedOut;
use warmlead_core::error::ApiError;
use warmlead_core::ErrorCode;
use warmlead_media::kit::PosterKit;
use warmlead_store::{Store, Vault};
use warmlead_sync::SyncHandle;

use crate::commands::{blocking, Res};
use crate::state::AppState;
use crate::{bridge, events};

/// Signs out once the engine hears the server switched this device off.
pub fn watch_switched_off(app: &AppHandle, handle: &SyncHandle) {
    let mut rx = handle.subscribe_switched_off();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        // Ends without a value when the engine stops for another reason.
        let code = rx
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|off| off.as_ref().map(|e| e.code));
        if let Some(code) = code {
            switch_off(&app, code).await;
        }
    });
}

/// Stops syncing, wipes the company's data and tells the window why.
pub async fn switch_off(app: &AppHandle, code: ErrorCode) {
    let state = app.state::<AppState>();
    let Ok(Some(session)) = blocking(&state.db_path, |s| s.session()).await else {
        return; // already signed out (the engine and the UI both heard it)
    };
    drop(state.take_engine());
    let notice = SignedOut {
        code,
        role: session.user.role,
        company_name: session.company.name,
    };
    let path = state.db_path.clone();
    let kit = Arc::clone(&app.state::<Arc<PosterKit>>());
    let vault = state.vault().await;
    let wiped = tauri::async_runtime::spawn_blocking(move || wipe(&path, &kit, &vault)).await;
    match wiped {
        Ok(Ok(())) => tracing::warn!("signed out ({}): local data wiped", code.as_str()),
        Ok(Err(e)) => tracing::error!("signed out ({}), wipe incomplete: {e}", code.as_str()),
        Err(e) => tracing::error!("signed out ({}), wipe failed: {e}", code.as_str()),
    }
    forget_web_data(app);
    state.set_signed_out(Some(notice.clone()));
    events::SIGNED_OUT.emit(app, notice);
}

/// Clears what the webview kept of the company (its HTTP cache of covers and
/// logos, web storage). The UI writes its language back when it hears the
/// sign-out: that preference is the person's, not the company's.
pub fn forget_web_data(app: &AppHandle) {
    for (label, window) in app.webview_windows() {
        if let Err(e) = window.clear_all_browsing_data() {
            tracing::warn!("cannot clear the browsing data of window {label}: {e}");
        }
    }
}

/// Empties the cache (so a connection still open sees nothing) and forgets
/// the device token where it is kept, then removes the cache's files and the
/// company's cached poster artwork.
fn wipe(db: &Path, kit: &PosterKit, vault: &Vault) -> std::io::Result<()> {
    let cleared = Store::open(db).and_then(|s| s.sign_out_with(vault, true));
    if let Err(e) = cleared {
        tracing::error!("cannot clear the local cache before removing it: {e}");
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        if let Err(e) = std::fs::remove_file(&name) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(e);
            }
        }
    }
    match db.parent() {
        Some(dir) => kit.templates().wipe(dir),
        None => Ok(()),
    }
}

/// Why the app last signed itself out, for the sign-in screen (None after a
/// new activation or an ordinary sign-out).
#[bridge::command]
pub fn signed_out_notice(state: State<'_, AppState>) -> Option<SignedOut> {
    state.signed_out()
}

/// The UI got `account_disabled` or `device_revoked` from an API call: ask
/// the server once more with this device's token, and sign out if it says so.
#[bridge::command]
pub async fn report_switched_off(app: AppHandle, state: State<'_, AppState>) -> Res<()> {
    let answer = match crate::invite::client(&state).await {
        Ok(client) => client.me().await.map(drop).map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match answer {
        Err(e) if e.code.is_switched_off() => {
            switch_off(&app, e.code).await;
            Ok(())
        }
        Err(e) => Err(e),
        Ok(()) => Err(ApiError::new(
            ErrorCode::Conflict,
            "the server still accepts this device",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warmlead_core::api::ActivateResponse;
    use warmlead_core::domain::{Company, Role, User};

    /// Every file of `dir` that holds `needle` (as UTF-8 bytes).
    fn holding(dir: &Path, needle: &str) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter(|e| {
                std::fs::read(e.path())
                    .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            })
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn wiping_leaves_nothing_of_the_company_in_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("warmlead.sqlite");
        let store = Store::open(&db).unwrap();
        let user = User {
            id: 2,
            company_id: 1,
            role: Role::Rep,
            name: "李明".into(),
            phone: None,
            rep_id: None,
            joined_at_ms: 0,
            source: None,
            invited_by: None,
            invitation_id: None,
        };
        let company = Company {
            id: 1,
            name: "青松家政".into(),
            poster_artwork: None,
            poster_slogan: None,
            logo: None,
            commission_promise: None,
        };
        let act = ActivateResponse {
            device_id: 3,
            device_token: "secret-device-token".into(),
            share_key: "AAAA".into(),
            public_base_url: "http://x".into(),
            user,
            company,
            epoch: "e".into(),
        };
        let vault = Vault::file_only(dir.path(), "no keychain in this test");
        store
            .sign_in_with(&vault, "http://127.0.0.1:9", &act)
            .unwrap();
        std::fs::write(dir.path().join("poster-artwork-4"), "青松家政").unwrap();
        assert!(!holding(dir.path(), "青松家政").is_empty());
        // A connection still open while the wipe runs (a command in flight).
        let open = Store::open(&db).unwrap();

        wipe(&db, &PosterKit::default(), &vault).unwrap();

        for needle in ["青松家政", "李明", "secret-device-token"] {
            assert_eq!(
                holding(dir.path(), needle),
                Vec::<String>::new(),
                "{needle}"
            );
        }
        assert!(!db.exists());
        // The token's own file is gone too.
        assert_eq!(std::fs::read_dir(vault.file_dir()).unwrap().count(), 0);
        // What the open connection reads is empty too.
        assert!(open.session().unwrap().is_none());
        // The next open starts a fresh, signed-out cache.
        assert!(Store::open(&db).unwrap().session().unwrap().is_none());
    }
}
