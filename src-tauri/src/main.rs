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
//! - `WARMLEAD_POSTER_FONT` (+ `WARMLEAD_POSTER_FONT_INDEX`): the Chinese font
//!   of posters when Noto Sans CJK is not in its usual place.
//! - `WARMLEAD_UPDATER_PUBKEY`: debug builds only, the updater public key
//!   to trust instead of the built-in one (see `update`).
//! - `RUST_LOG`: log filter (default `info`).
//!
//! A `warmlead://activate?server=...&code=...` argument (at launch or sent
//! to the running app) signs the device in once the person confirms the
//! server it names (see `deeplink`). One app runs per data directory: a second
//! launch on the same one hands its link to the first and exits.
//! Posters are drawn on the company's poster artwork (fetched once, cached as
//! `poster-artwork-{id}` in the data directory, decoded once); a
//! `poster-artwork.jpg` (or `.png`) there overrides it; without either, a gradient.

// No console window behind the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod bridge;
mod commands;
mod deeplink;
mod events;
mod invite;
mod leads;
mod library;
mod media;
mod partners;
mod session;
mod share;
mod state;
mod team;
mod update;

use tauri::Manager;
use tauri_plugin_deep_link::DeepLinkExt;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let result = tauri::Builder::default()
        // First, so a second launch hands over before anything else starts.
        .plugin(single_instance())
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .register_asynchronous_uri_scheme_protocol(media::SCHEME, media::handle)
        .setup(|app| {
            let data_dir = match std::env::var_os("WARMLEAD_DATA_DIR") {
                Some(dir) => dir.into(),
                None => app.path().app_data_dir()?,
            };
            let state = state::AppState::new(data_dir.join("warmlead.sqlite"));
            app.manage(state);
            app.manage(leads::Locale::default());
            app.manage(std::sync::Arc::new(
                warmlead_media::kit::PosterKit::default(),
            ));
            app.manage(deeplink::SeenLinks::default());
            app.manage(deeplink::PendingLink::default());
            app.manage(library::Uploads::default());
            app.manage(update::Updates::default());
            let handle = app.handle().clone();
            app.deep_link().on_open_url(move |event| {
                for url in event.urls() {
                    let app = handle.clone();
                    tauri::async_runtime::spawn(deeplink::handle_runtime_link(app, url.into()));
                }
            });
            register_scheme(app);
            let link = deeplink::link_in_args(std::env::args());
            tauri::async_runtime::spawn(state::launch(app.handle().clone(), link));
            update::start(app.handle());
            Ok(())
        })
        .invoke_handler(invoke_handler())
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!("warmlead-app stopped: {e}");
        std::process::exit(1);
    }
}

// Every command the UI can call, in one list: Tauri's handler
// (`invoke_handler`) and the generated TypeScript (`bridge.rs`) both come
// from it. A command is written with `#[bridge::command]`.
bridge::commands![
    commands::session,
    commands::activate,
    commands::read_sign_in,
    commands::sign_out,
    commands::token_place,
    commands::briefcase,
    commands::content_item,
    commands::create_share,
    commands::radar,
    commands::sync_status,
    commands::sync_now,
    commands::dismiss_rejected,
    commands::save_qr_png,
    commands::qr_png,
    commands::copy_text,
    leads::leads,
    leads::lead_detail,
    leads::set_man_flags,
    leads::set_locale,
    invite::create_invitation,
    invite::invitation,
    invite::revoke_invitation,
    invite::set_poster_slogan,
    invite::invitations,
    invite::invite_dashboard,
    invite::sms_invite,
    invite::sms_records,
    invite::poster_invitation,
    invite::save_png,
    share::share_poster,
    share::copy_png,
    share::upload_logo,
    share::set_company_profile,
    share::media_usage,
    partners::partners,
    partners::partner_counts,
    partners::partner_detail,
    partners::preview_partner_import,
    partners::import_partners,
    partners::export_partners,
    team::team,
    team::add_team_member,
    team::issue_activation_code,
    team::sms_activation_code,
    team::set_member_active,
    team::revoke_device,
    team::revoke_activation_code,
    team::import_team,
    team::export_codes_csv,
    library::library,
    library::library_reps,
    library::save_content,
    library::set_content_status,
    library::delete_draft,
    library::upload_media,
    library::cancel_upload,
    library::add_article_image,
    library::media_data_url,
    library::pick_media_file,
    library::sanitize_article,
    session::signed_out_notice,
    deeplink::pending_link,
    deeplink::confirm_link,
    deeplink::cancel_link,
    session::report_switched_off,
    update::update_status,
    update::check_for_update,
    update::install_update,
];

/// One running app per data directory: the D-Bus name (Linux) carries a hash
/// of `WARMLEAD_DATA_DIR` when set, so test and demo instances with their own
/// directories run side by side. A second launch's link reaches the first
/// through the deep-link plugin (`on_open_url`).
fn single_instance() -> tauri::plugin::TauriPlugin<tauri::Wry> {
    let mut builder = tauri_plugin_single_instance::Builder::new().callback(|app, argv, _cwd| {
        // The deep-link plugin only sees a link that is the sole argument;
        // `SeenLinks` keeps one arriving both ways from being used twice.
        match deeplink::link_in_args(argv) {
            Some(link) => {
                tauri::async_runtime::spawn(deeplink::handle_runtime_link(app.clone(), link));
            }
            None => {
                if let Some(window) = app.get_webview_window("main") {
                    let _ = window.unminimize();
                    let _ = window.set_focus();
                }
            }
        }
    });
    if let Some(dir) = std::env::var_os("WARMLEAD_DATA_DIR") {
        builder = builder.dbus_id(format!(
            "com.warmlead.app.d{:016x}",
            fnv1a(dir.as_encoded_bytes())
        ));
    }
    builder.build()
}

/// A stable hash (std's `DefaultHasher` may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Installed packages register `warmlead://` themselves (bundle config); an
/// AppImage registers it at first run.
fn register_scheme(app: &tauri::App) {
    if std::env::var_os("APPIMAGE").is_some() {
        if let Err(e) = app.deep_link().register_all() {
            tracing::warn!("cannot register the warmlead:// scheme: {e}");
        }
    }
}
