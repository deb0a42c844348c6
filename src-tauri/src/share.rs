//! The share dialog's poster tab (a 1080x1920 poster of one item, made on
//! this device, offline too) and the manager's company profile editor.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tauri::{AppHandle, State};
use tauri_plugin_clipboard_manager::ClipboardExt;
use warmlead_core::api::MediaUsage;
use warmlead_core::company::{check_logo, CompanyProfile};
use warmlead_core::domain::{Company, MediaRef};
use warmlead_core::error::ApiError;
use warmlead_core::ErrorCode;
use warmlead_media::kit::{cache_media, cached_media, share_spec, PosterKit};
use warmlead_media::{MediaError, SharePosterSpec};
use warmlead_sync::Client;

use crate::bridge;
use crate::commands::{blocking, Res};
use crate::invite::client;
use crate::state::AppState;

/// The bytes of an image for a poster: from the data directory's cache, else
/// from the server (then cached). None offline without a cached copy: the
/// poster is drawn without it (the gradient, the name alone).
pub(crate) async fn poster_image(
    data_dir: Option<&Path>,
    media: Option<&MediaRef>,
    server: Option<&Client>,
) -> Option<Vec<u8>> {
    let media = media.filter(|m| !m.key.is_empty())?;
    if let Some(bytes) = data_dir.and_then(|d| cached_media(d, &media.key)) {
        return Some(bytes);
    }
    let bytes = match server?.fetch_media(media).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::info!("poster image {} not fetched: {e}", media.id);
            return None;
        }
    };
    if let Some(dir) = data_dir {
        if let Err(e) = cache_media(dir, &media.key, &bytes) {
            tracing::warn!("poster image {} not cached: {e}", media.id);
        }
    }
    Some(bytes)
}

/// After a sync that brought changes: fetches the covers of the briefcase's
/// items and the company logo that are not cached yet, so posters made
/// offline later still show them. Videos are never fetched (a cover is).
pub(crate) async fn prefetch_poster_images(db_path: PathBuf) {
    let Some(data_dir) = db_path.parent().map(PathBuf::from) else {
        return;
    };
    let wanted = blocking(&db_path, |s| {
        let mut media: Vec<MediaRef> = s
            .briefcase(&Default::default())?
            .into_iter()
            .filter_map(|b| b.item.cover)
            .collect();
        let session = s.session()?;
        media.extend(session.and_then(|x| x.company.logo));
        Ok(media)
    })
    .await
    .unwrap_or_default();
    let missing: Vec<MediaRef> = wanted
        .into_iter()
        .filter(|m| {
            m.content_type.starts_with("image/") && cached_media(&data_dir, &m.key).is_none()
        })
        .collect();
    if missing.is_empty() {
        return;
    }
    let Ok(Some(creds)) = blocking(&db_path, |s| s.credentials()).await else {
        return;
    };
    let Ok(server) = Client::new(&creds.server_url, &creds.device_token) else {
        return;
    };
    for media in missing {
        // Fetches and caches; a failure is logged and tried after the next sync.
        poster_image(Some(&data_dir), Some(&media), Some(&server)).await;
    }
}

fn media_error(e: MediaError) -> ApiError {
    ApiError::new(e.code(), e.to_string())
}

/// Renders `spec`; a cover or logo that does not decode is left out rather
/// than failing the poster (the QR is what matters).
fn render(kit: &PosterKit, spec: SharePosterSpec) -> Result<Vec<u8>, MediaError> {
    match kit.render_share(spec.clone()) {
        Err(MediaError::BadImage(what)) => {
            tracing::warn!("share poster drawn without its {what}: it does not decode");
            kit.render_share(SharePosterSpec {
                cover: None,
                logo: None,
                ..spec
            })
        }
        other => other,
    }
}

/// The 1080x1920 poster (PNG, base64) of item `item_id` with the QR of this
/// user's share `token` (made by `create_share`, on this device). Works
/// offline: the link is signed here and images come from the cache.
#[bridge::command]
pub async fn share_poster(
    state: State<'_, AppState>,
    kit: State<'_, Arc<PosterKit>>,
    item_id: i64,
    token: String,
) -> Res<String> {
    let (session, item, url) = blocking(&state.db_path, move |s| {
        let share = s.my_shares()?.into_iter().find(|sh| sh.token == token);
        Ok((
            s.session()?,
            s.content_item(item_id)?,
            share.map(|sh| s.share_url(&sh)).transpose()?,
        ))
    })
    .await?;
    let session = session
        .ok_or_else(|| ApiError::new(ErrorCode::NotActivated, "this device is not signed in"))?;
    let item = item.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such item"))?;
    let url = url.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such share of yours"))?;
    let mut spec = share_spec(&url, &item.title, &session.user.name, &session.company);
    let data_dir = state.db_path.parent().map(PathBuf::from);
    let server = client(&state).await.ok();
    spec.cover = poster_image(data_dir.as_deref(), item.cover.as_ref(), server.as_ref()).await;
    spec.logo = poster_image(
        data_dir.as_deref(),
        session.company.logo.as_ref(),
        server.as_ref(),
    )
    .await;
    let kit = kit.inner().clone();
    let png = tauri::async_runtime::spawn_blocking(move || render(&kit, spec))
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
        .map_err(media_error)?;
    Ok(STANDARD.encode(png))
}

/// Puts a PNG the UI has (a poster) on the clipboard as an image, to paste
/// into a chat.
#[bridge::command]
pub async fn copy_png(app: AppHandle, png_base64: String) -> Res<()> {
    let png = STANDARD
        .decode(png_base64.trim())
        .map_err(|_| ApiError::new(ErrorCode::InvalidInput, "the image is not base64"))?;
    let rgba = tauri::async_runtime::spawn_blocking(move || image::load_from_memory(&png))
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
        .map_err(|_| ApiError::new(ErrorCode::InvalidInput, "the image is not a PNG"))?
        .to_rgba8();
    let (w, h) = rgba.dimensions();
    let img = tauri::image::Image::new_owned(rgba.into_raw(), w, h);
    app.clipboard()
        .write_image(&img)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("cannot copy: {e}")))
}

/// Managers: uploads a logo (PNG or JPEG, at most `MAX_LOGO_BYTES`) and
/// answers its media, to put in the profile.
#[bridge::command]
pub async fn upload_logo(
    state: State<'_, AppState>,
    content_type: String,
    bytes_base64: String,
) -> Res<MediaRef> {
    let bytes = STANDARD
        .decode(bytes_base64.trim())
        .map_err(|_| ApiError::new(ErrorCode::InvalidInput, "the image is not base64"))?;
    check_logo(&content_type, bytes.len() as i64).map_err(ApiError::from)?;
    Ok(client(&state)
        .await?
        .upload_image(&content_type, bytes)
        .await?)
}

/// Managers: the room the company's uploaded media take on the server, of
/// its quota (shown in Settings; needs the network).
#[bridge::command]
pub async fn media_usage(state: State<'_, AppState>) -> Res<MediaUsage> {
    Ok(client(&state).await?.media_usage().await?)
}

/// Managers: the company's whole profile. The answer is the Company; a sync
/// brings it to this cache and every other device.
#[bridge::command]
pub async fn set_company_profile(
    state: State<'_, AppState>,
    profile: CompanyProfile,
) -> Res<Company> {
    let company = client(&state).await?.set_company_profile(&profile).await?;
    if let Some(engine) = state.engine() {
        engine.trigger();
    }
    Ok(company)
}
