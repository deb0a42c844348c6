//! The HTTP surface: JSON API under /api/v1, public pages and tracking.

mod actions;
mod api;
mod botlist;
pub(crate) mod client_ip;
mod company;
mod events;
mod extract;
mod invite;
mod limit;
mod media;
mod page;
mod probe;
mod public;
pub(crate) mod security;
mod sms;
mod stats;
mod sync;
mod team;
mod updates;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;
use warmlead_core::api::{self as paths, MAX_JSON_BYTES};
use warmlead_core::release;

use crate::error::ServerError;
use crate::storage::Database;

#[derive(Clone)]
pub(crate) struct AppState {
    pub db: Database,
    /// Base of share links handed to devices, without a trailing slash.
    pub public_url: String,
    pub limits: std::sync::Arc<actions::Limits>,
    pub invite_limits: std::sync::Arc<invite::Limits>,
    /// Where SMS go (invitations, one-time and activation codes), under
    /// the company's rules and clock.
    pub sms: crate::services::sms::SmsService,
    /// Whether `sms` reaches real phones (then accepting asks for a code).
    pub sms_is_real: bool,
    /// Desktop app download link for the welcome page, when configured.
    pub download_url: Option<String>,
    /// Reverse proxies whose forwarded client address we believe.
    pub trusted_proxies: std::sync::Arc<client_ip::TrustedProxies>,
    /// Each company's room for media, in bytes.
    pub media_quota_bytes: i64,
    /// An upload that sends nothing for this long is stopped (408).
    pub upload_stall: std::time::Duration,
}

impl AppState {
    pub fn new(
        db: Database,
        public_url: String,
        sms: crate::services::sms::SmsService,
    ) -> AppState {
        db.set_public_url(&public_url);
        AppState {
            db,
            public_url,
            limits: Default::default(),
            invite_limits: Default::default(),
            sms,
            sms_is_real: false,
            download_url: None,
            trusted_proxies: Default::default(),
            media_quota_bytes: crate::Options::default().media_quota_bytes(),
            upload_stall: std::time::Duration::from_secs(
                warmlead_core::limits::MEDIA_UPLOAD_STALL_SECS,
            ),
        }
    }

    /// Whether visitors reach us over https (then cookies are `Secure`).
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

pub(crate) fn router(state: AppState) -> Router {
    // The public forms answer only posts from our own pages.
    let same_origin =
        || axum::middleware::from_fn_with_state(state.clone(), security::same_origin_posts);
    let api = Router::new()
        .route(paths::PATH_ACTIVATE, post(api::activate))
        .route(paths::PATH_ME, get(api::me))
        .route(
            paths::PATH_CONTENT,
            get(api::list_content).post(api::create_content),
        )
        .route("/api/v1/content/{key}", put(api::save_content))
        .route("/api/v1/content/{key}/publish", post(api::publish_content))
        .route("/api/v1/content/{key}/archive", post(api::archive_content))
        .route(paths::PATH_PUSH, post(sync::push))
        .route(paths::PATH_PULL, get(sync::pull))
        .route(paths::PATH_INVITATIONS, post(invite::create))
        .route("/api/v1/invitations/{id}", get(invite::get))
        .route("/api/v1/invitations/{id}/revoke", post(invite::revoke))
        .route(paths::PATH_TEAM, get(team::list).post(team::add))
        .route(
            "/api/v1/team/{user_id}/activation-code",
            post(team::issue_code),
        )
        .route(
            "/api/v1/team/{user_id}/activation-code/sms",
            post(team::sms_code),
        )
        .route(
            "/api/v1/team/{user_id}/activation-codes/{code_id}/revoke",
            post(team::revoke_code),
        )
        .route("/api/v1/team/{user_id}/deactivate", post(team::deactivate))
        .route("/api/v1/team/{user_id}/reactivate", post(team::reactivate))
        .route(
            "/api/v1/devices/{device_id}/revoke",
            post(team::revoke_device),
        )
        .route(paths::PATH_FILTERED_STATS, get(stats::filtered))
        .route(paths::PATH_TRACKING_STATS, get(stats::tracking))
        .route(paths::PATH_MEDIA_USAGE, get(media::usage))
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        // Uploads stream to disk and count their own bytes.
        .route(
            paths::PATH_MEDIA,
            post(media::upload).layer(DefaultBodyLimit::disable()),
        )
        .route(
            paths::PATH_MEDIA_KEY,
            put(media::put).layer(DefaultBodyLimit::disable()),
        )
        .route(
            paths::PATH_BEACON,
            post(public::beacon).layer(DefaultBodyLimit::max(public::MAX_BEACON_BYTES)),
        )
        .route(
            paths::PATH_PARTNER_IMPORT,
            post(invite::import).layer(DefaultBodyLimit::max(invite::MAX_IMPORT_BYTES)),
        )
        .route(
            paths::PATH_TEAM_IMPORT,
            post(team::import).layer(DefaultBodyLimit::max(invite::MAX_IMPORT_BYTES)),
        )
        .route(paths::PATH_RADAR_PULL, get(sync::pull_radar))
        .route(paths::PATH_EVENTS, get(events::events))
        .route(
            paths::PATH_FORWARD,
            post(actions::forward)
                .layer(DefaultBodyLimit::max(public::MAX_BEACON_BYTES))
                .layer(same_origin()),
        )
        .route(
            paths::PATH_LEAD_FORM,
            post(actions::lead)
                .layer(DefaultBodyLimit::max(16 * 1024))
                .layer(same_origin()),
        )
        .route(
            paths::PATH_SCORING_RULES,
            get(stats::scoring_rules).put(stats::set_scoring_rules),
        )
        .route(
            paths::PATH_POSTER_ARTWORK,
            put(media::set_poster_artwork).layer(DefaultBodyLimit::max(MAX_JSON_BYTES)),
        )
        .route(
            paths::PATH_COMPANY_PROFILE,
            put(company::set_profile).layer(DefaultBodyLimit::max(MAX_JSON_BYTES)),
        )
        .route(
            paths::PATH_POSTER_SLOGAN,
            put(media::set_poster_slogan).layer(DefaultBodyLimit::max(MAX_JSON_BYTES)),
        )
        .route("/media/{key}", get(media::serve))
        .route(release::PATH_UPDATE_CHECK, get(updates::check))
        .route(release::PATH_RELEASE_FILE, get(updates::file))
        .fallback(not_found)
        .layer(axum::middleware::map_response(extract::jsonify_errors));
    Router::new()
        .route(paths::PATH_HEALTH, get(|| async { "ok" }))
        .route(crate::doctor::probe::PATH, get(probe::answer))
        .route("/s/{token}", get(public::share_page))
        .route(paths::PATH_PRIVACY, get(actions::privacy))
        .route(
            "/i/{token}",
            get(invite::page_by_token)
                .post(invite::accept_by_token)
                .layer(same_origin()),
        )
        .route(
            "/i/{token}/code",
            post(invite::code_by_token).layer(same_origin()),
        )
        .route(paths::PATH_JOIN, get(invite::join))
        .route(
            "/j/{code}",
            get(invite::page_by_code)
                .post(invite::accept_by_code)
                .layer(same_origin()),
        )
        .route(
            "/j/{code}/code",
            post(invite::code_by_code).layer(same_origin()),
        )
        .merge(api)
        .merge(sms::routes())
        .with_state(state)
}

async fn not_found() -> ServerError {
    ServerError::NotFound("no such endpoint".into())
}
