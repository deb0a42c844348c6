//! Activation, the caller's identity and the content library.

use axum::extract::{Path, State};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use warmlead_core::api::{
    ActivateRequest, ActivateResponse, ContentDraft, MeResponse, NewContentItem,
};
use warmlead_core::domain::{ContentItem, ContentStatus, Role};
use warmlead_core::token::derive_share_key;
use warmlead_core::visibility::Viewer;

use super::client_ip::{ip_hash_of, ClientIp};
use super::extract::ApiJson;
use super::AppState;
use crate::error::ServerError;
use crate::services::{accounts, content};
use crate::storage::Caller;

/// Attempts are limited per network of the client (behind a trusted
/// proxy, the address it forwarded) and for the whole server.
pub(crate) async fn activate(
    State(st): State<AppState>,
    ClientIp(addr): ClientIp,
    ApiJson(req): ApiJson<ActivateRequest>,
) -> Result<Json<ActivateResponse>, ServerError> {
    let subject = ip_hash_of(&st, addr);
    let a = accounts::activate(&st.db, req.code, req.device_name, subject).await?;
    let key = derive_share_key(&st.db.secrets().master, a.device_id as u64);
    Ok(Json(ActivateResponse {
        device_id: a.device_id,
        device_token: a.token,
        share_key: URL_SAFE_NO_PAD.encode(key),
        public_base_url: st.public_url.clone(),
        user: a.user,
        company: a.company,
        epoch: st.db.secrets().epoch.clone(),
    }))
}

pub(crate) async fn me(caller: Caller) -> Json<MeResponse> {
    Json(MeResponse {
        user: caller.user,
        company: caller.company,
    })
}

pub(crate) fn require_manager(caller: &Caller) -> Result<(), ServerError> {
    if caller.user.role == Role::Manager {
        Ok(())
    } else {
        Err(ServerError::Forbidden(
            "only a manager may change the content library".into(),
        ))
    }
}

pub(crate) async fn create_content(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(item): ApiJson<NewContentItem>,
) -> Result<Json<ContentItem>, ServerError> {
    require_manager(&caller)?;
    let viewer = Some(Viewer::from(&caller.user));
    Ok(Json(
        content::create(&st.db, caller.company.id, viewer, item).await?,
    ))
}

/// `GET /api/v1/content`: the items the caller may see (a manager's whole
/// library, a rep's own and company items, a partner's briefcase).
pub(crate) async fn list_content(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ContentItem>>, ServerError> {
    let viewer = Viewer::from(&caller.user);
    Ok(Json(
        content::list(&st.db, caller.company.id, viewer).await?,
    ))
}

/// `PUT /api/v1/content/{key}`: create or edit an item (managers any, reps
/// their own). A new key is a draft; a live item's edit is live at once.
pub(crate) async fn save_content(
    State(st): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    ApiJson(draft): ApiJson<ContentDraft>,
) -> Result<Json<ContentItem>, ServerError> {
    Ok(Json(content::save(&st.db, caller, key, draft).await?))
}

/// `POST /api/v1/content/{key}/publish`.
pub(crate) async fn publish_content(
    State(st): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<ContentItem>, ServerError> {
    Ok(Json(
        content::set_status(&st.db, caller, key, ContentStatus::Live).await?,
    ))
}

/// `POST /api/v1/content/{key}/archive`: out of every briefcase; old links
/// show a polite page.
pub(crate) async fn archive_content(
    State(st): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<ContentItem>, ServerError> {
    Ok(Json(
        content::set_status(&st.db, caller, key, ContentStatus::Archived).await?,
    ))
}
