//! What the commands share: the cache file's path, where the device token
//! is kept, the running sync engine, and whether launch-time activation has
//! finished.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tauri::{AppHandle, Manager};
use tokio::sync::watch;
use warmlead_core::app::SignedOut;
use warmlead_core::error::ApiError;
use warmlead_core::ErrorCode;
use warmlead_store::{Store, Vault};
use warmlead_sync::{SyncEngine, SyncHandle};

use crate::events;

const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

pub struct AppState {
    pub db_path: PathBuf,
    /// The system keychain, or the file where none answers: asked once, at
    /// launch (`vault`).
    vault: tokio::sync::OnceCell<Arc<Vault>>,
    engine: Mutex<Option<SyncHandle>>,
    /// Becomes true once launch-time activation (if any) is over, so the UI's
    /// first `session()` never races it and flashes the sign-in screen.
    launched: watch::Receiver<bool>,
    launched_tx: watch::Sender<bool>,
    /// Why the app last signed itself out (see `session`); memory only.
    signed_out: Mutex<Option<SignedOut>>,
}

impl AppState {
    pub fn new(db_path: PathBuf) -> AppState {
        let (launched_tx, launched) = watch::channel(false);
        AppState {
            db_path,
            vault: tokio::sync::OnceCell::new(),
            engine: Mutex::new(None),
            launched,
            launched_tx,
            signed_out: Mutex::new(None),
        }
    }

    /// Where device tokens are kept; the first call asks the keychain
    /// (off the async threads: it may take seconds to answer, or not answer).
    pub async fn vault(&self) -> Arc<Vault> {
        let dir = self.db_path.parent().map(PathBuf::from).unwrap_or_default();
        self.vault
            .get_or_init(|| async move {
                let probe = dir.clone();
                let vault = tauri::async_runtime::spawn_blocking(move || Vault::open(&probe))
                    .await
                    .unwrap_or_else(|e| {
                        tracing::error!("device token: the keychain probe failed: {e}");
                        Vault::file_only(&dir, "the keychain probe failed")
                    });
                Arc::new(vault)
            })
            .await
            .clone()
    }

    pub fn signed_out(&self) -> Option<SignedOut> {
        self.signed_out.lock().ok().and_then(|n| n.clone())
    }

    pub fn set_signed_out(&self, notice: Option<SignedOut>) {
        if let Ok(mut n) = self.signed_out.lock() {
            *n = notice;
        }
    }

    pub async fn wait_launched(&self) {
        let mut rx = self.launched.clone();
        // The sender lives as long as the state: this only ends when true.
        let _ = rx.wait_for(|done| *done).await;
    }

    pub fn engine(&self) -> Option<SyncHandle> {
        self.engine.lock().ok().and_then(|e| e.clone())
    }

    /// Removes the engine; it stops when the last handle is gone.
    pub fn take_engine(&self) -> Option<SyncHandle> {
        self.engine.lock().ok().and_then(|mut e| e.take())
    }

    pub fn put_engine(&self, handle: SyncHandle) {
        if let Ok(mut e) = self.engine.lock() {
            *e = Some(handle);
        }
    }
}

fn interval() -> Duration {
    std::env::var("WARMLEAD_SYNC_INTERVAL_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map_or(DEFAULT_INTERVAL, Duration::from_secs)
}

/// Starts background sync (once) and forwards its status to the window.
/// Must run inside the async runtime.
pub fn start_engine(app: &AppHandle) {
    let state = app.state::<AppState>();
    if state.engine().is_some() {
        return;
    }
    // Signed in (again): the last sign-out's notice is over.
    state.set_signed_out(None);
    let handle = SyncEngine::spawn(state.db_path.clone(), interval());
    let mut rx = handle.subscribe();
    crate::leads::watch_radar(app, &handle);
    crate::session::watch_switched_off(app, &handle);
    watch_changes(app, &handle);
    state.put_engine(handle);
    // Signed in: the server to ask for updates is known now.
    crate::update::wake(app);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let status = rx.borrow_and_update().clone();
            events::SYNC_STATUS.emit(&app, status);
            // Ends when the engine stops (signed out).
            if rx.changed().await.is_err() {
                break;
            }
        }
    });
}

/// Emits `sync-changed` after syncs that pulled changes; ends with the engine.
fn watch_changes(app: &AppHandle, handle: &SyncHandle) {
    let mut changes = handle.subscribe_changes();
    let app = app.clone();
    let db_path = app.state::<AppState>().db_path.clone();
    tauri::async_runtime::spawn(async move {
        // The first sync after launch may bring nothing new; covers cached
        // by nobody yet are fetched then too.
        crate::share::prefetch_poster_images(db_path.clone()).await;
        while changes.changed().await.is_ok() {
            events::SYNC_CHANGED.emit(&app, ());
            crate::share::prefetch_poster_images(db_path.clone()).await;
        }
    });
}

/// At launch: keep an activation link from the command line for the
/// sign-in screen to confirm, activate from the environment if asked and not
/// signed in, then start syncing if signed in. The UI's first `session()`
/// waits for this.
pub async fn launch(app: AppHandle, link: Option<String>) {
    let state = app.state::<AppState>();
    let vault = state.vault().await;
    // The token into memory (out of an older cache file first, into the vault).
    let unlocked = crate::commands::blocking(&state.db_path, move |s| s.unlock_token(&vault)).await;
    match unlocked {
        Ok(Some(place)) => tracing::info!("device token read from the {}", place.as_str()),
        Ok(None) => {}
        Err(e) => tracing::error!("device token: {}", e.message),
    }
    let signed_in = match crate::commands::blocking(&state.db_path, |s| s.session()).await {
        Ok(s) => s.is_some(),
        Err(e) => {
            tracing::error!("cannot open the local cache: {}", e.message);
            false
        }
    };
    let env = (
        std::env::var("WARMLEAD_SERVER_URL").ok(),
        std::env::var("WARMLEAD_ACTIVATION_CODE").ok(),
    );
    // A link waits for the sign-in screen to ask (`deeplink::pending_link`).
    if let Some(link) = link {
        if let Some(crate::deeplink::Outcome::Refused(msg)) =
            crate::deeplink::use_link(&app, &link).await
        {
            tracing::warn!("deep link at launch refused: {msg}");
            crate::deeplink::emit_refused_later(app.clone(), msg);
        }
    }
    let signed_in = match env {
        (Some(url), Some(code)) if !signed_in => {
            match crate::commands::activate_device(&state, &url, &code).await {
                Ok(session) => {
                    tracing::info!("activated at launch as {}", session.user.name);
                    true
                }
                Err(e) => {
                    tracing::error!("launch activation failed: {}", e.message);
                    false
                }
            }
        }
        _ => signed_in,
    };
    if signed_in {
        start_engine(&app);
    }
    let _ = state.launched_tx.send(true);
}

/// The engine's handle, or "not signed in".
pub fn require_engine(state: &AppState) -> Result<SyncHandle, ApiError> {
    state
        .engine()
        .ok_or_else(|| ApiError::new(ErrorCode::NotActivated, "this device is not signed in"))
}

/// Opens one `Store` for one call (a `Store` is not shared across threads).
pub fn open(path: &std::path::Path) -> Result<Store, ApiError> {
    Ok(Store::open(path)?)
}
