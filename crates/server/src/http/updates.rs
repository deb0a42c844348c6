//! The desktop app's update check and package downloads (tauri-plugin-updater's
//! "dynamic" server). Open to anyone, like the download link on the welcome
//! page: a package is the same program for every company, holds nothing of
//! theirs, and the app installs only what verifies with the updater key.

use axum::body::Body;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tower::ServiceExt;
use tower_http::services::ServeFile;
use warmlead_core::release::{self, Target, UpdateManifest};

use super::AppState;
use crate::error::ServerError;

/// `GET /updates/{target}/{arch}/{current_version}`: the newest release for
/// that target when it is newer than `current_version`, else 204.
pub(crate) async fn check(
    State(st): State<AppState>,
    UrlPath((os, arch, current)): UrlPath<(String, String, String)>,
) -> Result<Response, ServerError> {
    let bad = |e: release::ReleaseError| ServerError::InvalidInput(e.0);
    let target = Target::new(&os, &arch).map_err(bad)?;
    release::parse_version(&current).map_err(bad)?;
    let Some(r) = crate::services::releases::update_for(&st.db, &target, &current).await? else {
        return Ok(no_store(StatusCode::NO_CONTENT.into_response()));
    };
    let manifest = UpdateManifest {
        url: release::release_file_url(&st.public_url, &r.version, &r.target, &r.file),
        version: r.version,
        notes: r.notes,
        pub_date: warmlead_core::time::utc_iso8601(r.published_at_ms.div_euclid(1000)),
        signature: r.signature,
    };
    Ok(no_store(Json(manifest).into_response()))
}

/// A check is answered afresh each time: a release may be published any minute.
fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `GET /releases/{version}/{target}/{file}`: a published package.
pub(crate) async fn file(
    State(st): State<AppState>,
    UrlPath((version, target, file)): UrlPath<(String, String, String)>,
    req: Request,
) -> Result<Response, ServerError> {
    let not_found = || ServerError::NotFound("no such release file".into());
    let r = crate::services::releases::published(&st.db, version, target, file)
        .await?
        .ok_or_else(not_found)?;
    let res = ServeFile::new(st.db.media_dir().join(&r.stored_as))
        .oneshot(req)
        .await
        .unwrap_or_else(|never| match never {});
    let mut res = res.map(Body::new).into_response();
    if res.status().is_success() {
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        // Published releases never change.
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    } else if res.status() == StatusCode::NOT_FOUND {
        return Err(ServerError::NotFound(
            "the release file is missing from the media folder: publish it again with `release add`".into(),
        ));
    }
    Ok(res)
}
