//! Media upload (manager) and public serving with Range support.

use std::path::{Path, PathBuf};
use std::pin::Pin;

use axum::body::{Body, HttpBody};
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tokio::io::AsyncWriteExt;
use tower::ServiceExt;
use tower_http::services::ServeFile;
use warmlead_core::api::{PosterArtworkRequest, PosterSloganRequest, MAX_MEDIA_BYTES};
use warmlead_core::domain::{Company, MediaRef, Role};

use super::api::require_manager;
use super::extract::ApiJson;
use super::AppState;
use crate::error::ServerError;
use crate::storage::{media_extension, Caller, MEDIA_TYPES};

/// Streams the raw body to a temporary file, renames it into place, and only
/// then inserts the row: a failure at any step leaves neither row nor file.
pub(crate) async fn upload(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<MediaRef>, ServerError> {
    require_manager(&caller)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let ext = media_extension(&content_type).ok_or_else(|| {
        let allowed: Vec<&str> = MEDIA_TYPES.iter().map(|(t, _)| *t).collect();
        ServerError::InvalidInput(format!(
            "unsupported media type {content_type:?}; expected one of {}",
            allowed.join(", ")
        ))
    })?;
    let dir = st.db.media_dir().to_path_buf();
    let tmp = dir.join(format!(".upload-{}", uuid::Uuid::new_v4()));
    let size = match write_limited(body, &tmp, MAX_MEDIA_BYTES).await {
        Ok(size) => size,
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
    };
    let name = format!("{}.{ext}", uuid::Uuid::new_v4());
    let path = dir.join(&name);
    if let Err(e) = tokio::fs::rename(&tmp, &path).await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e.into());
    }
    match st
        .db
        .insert_media(caller.company.id, content_type, size as i64, name)
        .await
    {
        Ok(media) => Ok(Json(media)),
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            Err(e)
        }
    }
}

/// Copies the body to `path`, refusing (413) as soon as it passes `limit`.
async fn write_limited(mut body: Body, path: &Path, limit: usize) -> Result<usize, ServerError> {
    let mut file = tokio::fs::File::create(path).await?;
    let mut size = 0usize;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame =
            frame.map_err(|e| ServerError::InvalidInput(format!("upload interrupted: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        size += data.len();
        if size > limit {
            return Err(ServerError::PayloadTooLarge(format!(
                "media is larger than the limit of {limit} bytes"
            )));
        }
        file.write_all(&data).await?;
    }
    if size == 0 {
        return Err(ServerError::InvalidInput("the upload is empty".into()));
    }
    file.sync_all().await?;
    Ok(size)
}

/// `GET /media/{id}`: public, immutable (ids are never reused), with Range.
pub(crate) async fn serve(
    State(st): State<AppState>,
    UrlPath(id): UrlPath<String>,
    req: Request,
) -> Result<Response, ServerError> {
    let not_found = || ServerError::NotFound(format!("no media {id}"));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let (content_type, rel) = st.db.media_file(id).await?.ok_or_else(not_found)?;
    let full: PathBuf = st.db.media_dir().join(rel);
    let res = ServeFile::new(full)
        .oneshot(req)
        .await
        .unwrap_or_else(|never| match never {});
    let mut res = res.map(Body::new).into_response();
    if res.status().is_success() {
        let h = res.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&content_type) {
            h.insert(header::CONTENT_TYPE, v);
        }
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    }
    Ok(res)
}

/// `PUT /api/v1/company/poster-artwork` (managers): the company's poster
/// template, an uploaded JPEG or PNG (null: back to the gradient). Every
/// device learns it through the Company change.
pub(crate) async fn set_poster_artwork(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<PosterArtworkRequest>,
) -> Result<Json<Company>, ServerError> {
    if caller.user.role != Role::Manager {
        return Err(ServerError::Forbidden(
            "only a manager may change the poster artwork".into(),
        ));
    }
    Ok(Json(
        st.db
            .set_poster_artwork(caller.company.id, req.media_id)
            .await?,
    ))
}

/// `PUT /api/v1/company/poster-slogan` (managers): the line under the rep's
/// name on every invitation poster (null or blank: the neutral default).
/// Every device learns it through the Company change.
pub(crate) async fn set_poster_slogan(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<PosterSloganRequest>,
) -> Result<Json<Company>, ServerError> {
    if caller.user.role != Role::Manager {
        return Err(ServerError::Forbidden(
            "only a manager may change the poster slogan".into(),
        ));
    }
    Ok(Json(
        st.db
            .set_poster_slogan(caller.company.id, req.slogan)
            .await?,
    ))
}
