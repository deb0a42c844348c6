//! Warmlead desktop: the thin Tauri 2 shell. Commands call warmlead-store,
//! warmlead-sync and warmlead-media; nothing here holds logic worth testing
//! on its own.
//!
//! Environment variables:
//! - `WARMLEAD_DATA_DIR`: directory of the local SQLite cache
//!   (`warmlead.sqlite`); defaults to the app's data directory.
//! - `WARMLEAD_SERVER_URL` + `WARMLEAD_ACTIVATION_CODE`: when both are set and
//!   this device is not signed in, activate at launch (how `cargo xtask demo`
//!   opens the app already signed in).
//! - `WARMLEAD_SYNC_INTERVAL_SECS`: seconds between background syncs (10).
//! - `RUST_LOG`: log filter (default `info`).

// No console window behind the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod leads;
mod state;

use tauri::Manager;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let result = tauri::Builder::default()
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_notification::init())
        .setup(|app| {
            let data_dir = match std::env::var_os("WARMLEAD_DATA_DIR") {
                Some(dir) => dir.into(),
                None => app.path().app_data_dir()?,
            };
            let state = state::AppState::new(data_dir.join("warmlead.sqlite"));
            app.manage(state);
            app.manage(leads::Locale::default());
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(state::launch(handle));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::session,
            commands::activate,
            commands::sign_out,
            commands::briefcase,
            commands::content_item,
            commands::create_share,
            commands::radar,
            commands::sync_status,
            commands::sync_now,
            commands::save_qr_png,
            commands::copy_text,
            leads::leads,
            leads::lead_detail,
            leads::set_man_flags,
            leads::set_locale,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!("warmlead-app stopped: {e}");
        std::process::exit(1);
    }
}
