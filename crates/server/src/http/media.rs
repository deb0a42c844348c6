//! Media upload (managers and reps, for the items they write) and public
//! serving with Range support.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody};
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tokio::io::AsyncWriteExt;
use tower::ServiceExt;
use tower_http::services::ServeFile;
use warmlead_core::api::{MediaUsage, PosterArtworkRequest, PosterSloganRequest, MAX_MEDIA_BYTES};
use warmlead_core::domain::{Company, MediaRef, Role};
use warmlead_core::error::ApiError;
use warmlead_core::ErrorCode;

use super::extract::{bearer_token, ApiJson};
use super::AppState;
use crate::error::{api_error_response, ServerError};
use crate::services::media as media_room;
use crate::services::{accounts, content};
use crate::storage::{
    is_media_key, media_extension, Caller, Database, MediaOwner, Placed, MEDIA_TYPES,
};

/// `POST /api/v1/media`: the server picks the key.
pub(crate) async fn upload(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<MediaRef>, ServerError> {
    let (pending, content_type, size) = receive(&st, &caller, &headers, body).await?;
    let name = file_name(&pending.file);
    let owner = MediaOwner {
        company_id: caller.company.id,
        uploaded_by: Some(caller.user.id),
    };
    // On its own task: a client hanging up now must not drop the upload
    // between its row's commit and `keep` (its file would then go).
    let stored = tokio::spawn(async move {
        let reservation = pending.reservation;
        match content::store_media(&st.db, owner, content_type, size as i64, name, reservation)
            .await
        {
            Ok(media) => {
                pending.keep();
                Ok(media)
            }
            Err(e) => {
                pending.discard().await;
                Err(e)
            }
        }
    });
    Ok(Json(stored.await??))
}

/// `PUT /api/v1/media/{key}`: the device picked the key (an image placed in
/// an article written offline, uploaded by the next sync). Sending the same
/// upload again answers the media it made the first time.
pub(crate) async fn put(
    State(st): State<AppState>,
    caller: Caller,
    UrlPath(key): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<MediaRef>, ServerError> {
    if !is_media_key(&key) {
        return Err(ServerError::InvalidInput(
            "a media key is 32 lowercase hex digits (128 random bits)".into(),
        ));
    }
    let (mut pending, content_type, size) = receive(&st, &caller, &headers, body).await?;
    let name = file_name(&pending.file);
    let owner = MediaOwner {
        company_id: caller.company.id,
        uploaded_by: Some(caller.user.id),
    };
    // On its own task, as in `upload`.
    let stored = tokio::spawn(async move {
        let reservation = pending.reservation;
        let placed = content::store_media_at(
            &st.db,
            owner,
            content_type,
            size as i64,
            name,
            key,
            reservation,
        )
        .await;
        match placed {
            Ok(Placed::New(media)) => {
                pending.keep();
                Ok(media)
            }
            Ok(Placed::Existing(media)) => {
                // Its room was given back with the answer; only the file goes.
                pending.reservation = None;
                pending.discard().await;
                Ok(media)
            }
            Err(e) => {
                pending.discard().await;
                Err(e)
            }
        }
    });
    Ok(Json(stored.await??))
}

/// `GET /api/v1/company/media-usage` (managers and reps, who upload): the
/// room the company's media take, of its quota.
pub(crate) async fn usage(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<MediaUsage>, ServerError> {
    if caller.user.role == Role::Partner {
        return Err(ServerError::Forbidden(
            "only managers and reps upload media, so only they see the room it takes".into(),
        ));
    }
    Ok(Json(MediaUsage {
        used_bytes: media_room::usage(&st.db, caller.company.id).await?,
        quota_bytes: st.media_quota_bytes,
    }))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Room taken ahead of the bytes of an upload without a length, so a large
/// one takes a few transactions, not one per frame.
const RESERVE_STEP: i64 = 16 * 1024 * 1024;

/// How often an upload renews its reservation (far within
/// `MEDIA_UPLOAD_STALE_MINUTES`, after which the sweep takes it for a
/// crashed upload's).
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// An upload under way: its file (the temp file, then the renamed one) and
/// its room in the company's quota. [`Pending::keep`] once its row is
/// stored; [`Pending::discard`] removes the file and gives the room back.
/// Dropped otherwise (the client went away and the request was dropped
/// mid-await), it does the same on a spawned task.
pub(crate) struct Pending {
    db: Database,
    company_id: i64,
    quota: i64,
    file: PathBuf,
    reservation: Option<i64>,
    reserved: i64,
    touched: Instant,
    armed: bool,
}

impl Pending {
    /// Makes sure the upload holds room for `need` bytes (taking
    /// [`RESERVE_STEP`] more ahead when `ahead`), or refuses with 413.
    async fn room_for(&mut self, need: i64, ahead: bool) -> Result<(), ServerError> {
        if need <= self.reserved {
            if let Some(id) = self
                .reservation
                .filter(|_| self.touched.elapsed() > TOUCH_EVERY)
            {
                media_room::touch(&self.db, self.company_id, id).await?;
                self.touched = Instant::now();
            }
            return Ok(());
        }
        let exact = need - self.reserved;
        let mut tries = vec![exact];
        if ahead {
            let more = (need + RESERVE_STEP).min(MAX_MEDIA_BYTES as i64) - self.reserved;
            if more > exact {
                tries.insert(0, more);
            }
        }
        for add in tries {
            let taken =
                media_room::reserve(&self.db, self.company_id, self.reservation, add, self.quota)
                    .await?;
            if let Some(id) = taken {
                self.reservation = Some(id);
                self.reserved += add;
                self.touched = Instant::now();
                return Ok(());
            }
        }
        Err(self.full(need).await)
    }

    /// The 413 of a full quota: what is used, of what, and what to do.
    async fn full(&self, need: i64) -> ServerError {
        let used = media_room::usage(&self.db, self.company_id)
            .await
            .unwrap_or(0)
            - self.reserved;
        ServerError::PayloadTooLarge(format!(
            "this company's media storage is full: {} of {} used, and this upload needs {}. \
             Delete content items you no longer need (the server then frees their files), \
             or ask the server's operator to raise the quota (--media-quota-mb)",
            human_bytes(used.max(0)),
            human_bytes(self.quota),
            human_bytes(need),
        ))
    }

    /// The upload is stored: the file stays and its room is now usage.
    fn keep(mut self) {
        self.armed = false;
    }

    /// Removes the file and gives the room back, before the answer goes.
    async fn discard(mut self) {
        self.armed = false;
        let _ = tokio::fs::remove_file(&self.file).await;
        if let Some(id) = self.reservation {
            if let Err(e) = media_room::release(&self.db, self.company_id, id).await {
                tracing::warn!(error = %e, "an upload's room stays reserved until the sweep");
            }
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (db, file, company, reservation) = (
            self.db.clone(),
            self.file.clone(),
            self.company_id,
            self.reservation,
        );
        let cleanup = async move {
            let _ = tokio::fs::remove_file(&file).await;
            if let Some(id) = reservation {
                let _ = media_room::release(&db, company, id).await;
            }
        };
        // Without a runtime (shutdown) the sweep removes both later.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(cleanup);
        }
    }
}

/// `n` bytes as people read them ("1.2 GB", "300 MB").
pub(crate) fn human_bytes(n: i64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value >= 100.0 || value.fract() < 0.05 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Streams the raw body to a temporary file, holding room for it in the
/// company's quota as it grows, checks it, and renames it into place under
/// a fresh name; the caller then inserts the row (and discards the upload
/// if that fails), so a failure at any step leaves neither row nor file,
/// nor room taken. Answers the upload, its content type and its size.
async fn receive(
    st: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Pending, String, usize), ServerError> {
    if caller.user.role == Role::Partner {
        return Err(ServerError::Forbidden(
            "only managers and reps upload media (for the items they write)".into(),
        ));
    }
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
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_MEDIA_BYTES as u64) {
        return Err(too_large());
    }
    let dir = st.db.media_dir().to_path_buf();
    let mut pending = Pending {
        db: st.db.clone(),
        company_id: caller.company.id,
        quota: st.media_quota_bytes,
        file: dir.join(format!(".upload-{}", uuid::Uuid::new_v4())),
        reservation: None,
        reserved: 0,
        touched: Instant::now(),
        armed: true,
    };
    let received = async {
        if let Some(n) = declared.filter(|n| *n > 0) {
            // The whole length at once: an upload that cannot fit is
            // refused before its first byte is written.
            pending.room_for(n as i64, false).await?;
        }
        let size = write_limited(body, &mut pending, st.upload_stall).await?;
        check_bytes(&pending.file, &content_type).await?;
        let path = dir.join(format!("{}.{ext}", uuid::Uuid::new_v4()));
        tokio::fs::rename(&pending.file, &path).await?;
        pending.file = path;
        Ok::<_, ServerError>(size)
    }
    .await;
    match received {
        Ok(size) => Ok((pending, content_type, size)),
        Err(e) => {
            pending.discard().await;
            Err(e)
        }
    }
}

fn too_large() -> ServerError {
    ServerError::PayloadTooLarge(format!(
        "media is larger than the limit of {MAX_MEDIA_BYTES} bytes"
    ))
}

/// What the first bytes of a file say it is, among [`MEDIA_TYPES`].
pub(crate) fn sniff(head: &[u8]) -> Option<&'static str> {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    if at(0, b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if at(0, &[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        Some("image/webp")
    } else if at(4, b"ftyp") {
        // ISO base media (MP4, and QuickTime/3GP that browsers play as MP4).
        Some("video/mp4")
    } else if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("video/webm")
    } else {
        None
    }
}

/// The upload's bytes must be what its `Content-Type` says: a page served
/// as an image is still an HTML page to a browser that sniffs.
async fn check_bytes(path: &Path, declared: &str) -> Result<(), ServerError> {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::with_capacity(16);
    tokio::fs::File::open(path)
        .await?
        .take(16)
        .read_to_end(&mut head)
        .await?;
    match sniff(&head) {
        Some(found) if found == declared => Ok(()),
        Some(found) => Err(ServerError::InvalidInput(format!(
            "the upload was declared {declared} but its bytes are {found}; send it as {found}"
        ))),
        None => Err(ServerError::InvalidInput(format!(
            "the upload was declared {declared} but its bytes are not a PNG, JPEG, WebP, MP4 or WebM file"
        ))),
    }
}

/// Copies the body to the upload's file, refusing (413) as soon as it
/// passes [`MAX_MEDIA_BYTES`] or the company's quota, and (408) when the
/// client sends nothing for `stall`.
async fn write_limited(
    mut body: Body,
    pending: &mut Pending,
    stall: Duration,
) -> Result<usize, ServerError> {
    let mut file = tokio::fs::File::create(&pending.file).await?;
    let mut size = 0usize;
    loop {
        let next = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx));
        let Ok(frame) = tokio::time::timeout(stall, next).await else {
            return Err(ServerError::Stalled(format!(
                "the upload sent nothing for {} s and was stopped; upload it again",
                stall.as_secs()
            )));
        };
        let Some(frame) = frame else { break };
        let frame =
            frame.map_err(|e| ServerError::InvalidInput(format!("upload interrupted: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        size += data.len();
        if size > MAX_MEDIA_BYTES {
            return Err(too_large());
        }
        pending.room_for(size as i64, true).await?;
        file.write_all(&data).await?;
    }
    if size == 0 {
        return Err(ServerError::InvalidInput("the upload is empty".into()));
    }
    file.sync_all().await?;
    Ok(size)
}

/// `GET /media/{key}`: immutable, with Range. Public content's media (a live
/// item's cover or video, the poster artwork) for anyone holding the address; other media only
/// with a device token of its company. Every refusal is the same 404, so an
/// address says nothing about what lies behind it.
pub(crate) async fn serve(
    State(st): State<AppState>,
    UrlPath(key): UrlPath<String>,
    req: Request,
) -> Result<Response, ServerError> {
    let not_found = || ServerError::NotFound("no such media".into());
    if !is_media_key(&key) {
        return Err(not_found());
    }
    let media = content::media_by_key(&st.db, key)
        .await?
        .ok_or_else(not_found)?;
    if !media.public && !is_company_device(&st, req.headers(), media.company_id).await {
        return Err(not_found());
    }
    let full: PathBuf = st.db.media_dir().join(&media.path);
    let req = with_effective_range(req, &full).await;
    let content_type = media.content_type;
    let res = ServeFile::new(full)
        .oneshot(req)
        .await
        .unwrap_or_else(|never| match never {});
    let mut res = res.map(Body::new).into_response();
    let status = res.status();
    if status == StatusCode::RANGE_NOT_SATISFIABLE {
        return Ok(range_not_satisfiable(&res));
    }
    let h = res.headers_mut();
    if status.is_success() {
        if let Ok(v) = HeaderValue::from_str(&content_type) {
            h.insert(header::CONTENT_TYPE, v);
        }
    }
    // A revalidation (304) keeps the caching rule it renews (RFC 9110 15.4.5).
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        let cache = if media.public {
            "public, max-age=31536000, immutable"
        } else {
            "private, max-age=31536000, immutable"
        };
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    }
    Ok(res)
}

/// The request with its `Range` header as [`effective_range`] reads it
/// (the file's size is looked up only for a range request).
async fn with_effective_range(mut req: Request, file: &Path) -> Request {
    let Some(value) = req.headers().get(header::RANGE).cloned() else {
        return req;
    };
    let size = match tokio::fs::metadata(file).await {
        Ok(meta) => meta.len(),
        // ServeFile answers the missing file itself.
        Err(_) => return req,
    };
    let effective = value
        .to_str()
        .ok()
        .and_then(|v| effective_range(v, size))
        .and_then(|v| HeaderValue::from_str(&v).ok());
    match effective {
        Some(v) => req.headers_mut().insert(header::RANGE, v),
        None => req.headers_mut().remove(header::RANGE),
    };
    req
}

/// The `Range` header ServeFile should see, or None to serve the whole file
/// (200), where ServeFile's own reading would answer 416 against RFC 9110:
/// a suffix longer than the file means the whole file (14.1.2); several
/// ranges (ServeFile sends no multipart) and unknown units may be ignored
/// (14.2); the unit is case-insensitive.
fn effective_range(value: &str, size: u64) -> Option<String> {
    let value = value.trim();
    let unit = value.get(..6)?;
    if !unit.eq_ignore_ascii_case("bytes=") {
        return None;
    }
    let spec = value[6..].trim();
    if spec.contains(',') {
        return None;
    }
    match spec.strip_prefix('-').map(str::parse::<u64>) {
        Some(Ok(suffix)) if suffix > size => Some("bytes=0-".into()),
        _ => Some(format!("bytes={spec}")),
    }
}

/// 416 as a JSON error like every other refusal, keeping ServeFile's
/// `Content-Range: bytes */{size}`: the player learns the length (RFC 9110
/// 15.5.17).
fn range_not_satisfiable(served: &Response) -> Response {
    let size = served.headers().get(header::CONTENT_RANGE).cloned();
    let message = "the requested range is outside the file";
    let mut res = api_error_response(&ApiError::new(ErrorCode::InvalidInput, message));
    *res.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
    if let Some(size) = size {
        res.headers_mut().insert(header::CONTENT_RANGE, size);
    }
    res
}

/// Whether the request carries a valid device token of `company_id`.
async fn is_company_device(st: &AppState, headers: &HeaderMap, company_id: i64) -> bool {
    let Ok(token) = bearer_token(headers) else {
        return false;
    };
    match accounts::authenticate(&st.db, token.to_string()).await {
        Ok(caller) => caller.company.id == company_id,
        Err(_) => false,
    }
}

/// `PUT /api/v1/company/poster-artwork` (managers): the company's poster
/// template, an uploaded JPEG or PNG (null: back to the gradient). Every
/// device learns it through the Company change.
pub(crate) async fn set_poster_artwork(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<PosterArtworkRequest>,
) -> Result<Json<Company>, ServerError> {
    Ok(Json(
        accounts::set_poster_artwork_as(&st.db, &caller.user, req.media_id).await?,
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
    Ok(Json(
        accounts::set_poster_slogan_as(&st.db, &caller.user, req.slogan).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_servefile_would_refuse_are_read_as_rfc_9110_says() {
        let cases = [
            ("bytes=0-1", Some("bytes=0-1")),
            ("bytes=100-", Some("bytes=100-")),
            ("bytes=-100", Some("bytes=-100")),
            ("bytes=-1000", Some("bytes=-1000")),
            // A suffix longer than the file: the whole file.
            ("bytes=-1001", Some("bytes=0-")),
            (" Bytes=5-9 ", Some("bytes=5-9")),
            // Past the end stays as asked: ServeFile answers 416.
            ("bytes=1000-", Some("bytes=1000-")),
            // Ignored: several ranges, another unit, no unit.
            ("bytes=0-1,5-6", None),
            ("items=0-5", None),
            ("0-5", None),
            ("", None),
        ];
        for (value, want) in cases {
            assert_eq!(effective_range(value, 1000).as_deref(), want, "{value:?}");
        }
    }

    #[test]
    fn sniffs_the_allowed_types_and_nothing_else() {
        let cases: [(&[u8], Option<&str>); 10] = [
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Some("image/png")),
            (
                &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F'],
                Some("image/jpeg"),
            ),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Some("image/webp")),
            (b"\0\0\0\x20ftypisom\0\0\x02\0", Some("video/mp4")),
            (&[0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42], Some("video/webm")),
            (b"<!doctype html><script>", None),
            (b"<svg xmlns=", None),
            (b"GIF89a", None),
            (b"RIFF\x24\0\0\0WAVEfmt ", None),
            (b"\x89PN", None),
        ];
        for (head, want) in cases {
            assert_eq!(sniff(head), want, "{head:?}");
        }
        // Every accepted type is sniffed.
        for (t, _) in MEDIA_TYPES {
            assert!(cases.iter().any(|(_, w)| *w == Some(*t)), "{t} untested");
        }
    }
}
