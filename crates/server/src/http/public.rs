//! The public share page and the beacon its script reports to.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use rand::RngCore;
use sha2::{Digest, Sha256};
use warmlead_core::api::TrackBeacon;

use super::extract::bytes_rejection;
use super::page::{self, Lang};
use super::AppState;
use crate::error::ServerError;
use crate::storage::{now_ms, BeaconInput, TrackEvent};

/// A beacon is a token, a page-view id and a number.
pub(crate) const MAX_BEACON_BYTES: usize = 2 * 1024;
const VISITOR_COOKIE: &str = "wl_v";

fn lang(headers: &HeaderMap) -> Lang {
    Lang::from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

fn is_id(s: &str) -> bool {
    (8..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The anonymous visitor id from the `wl_v` cookie, if well-formed.
fn visitor_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, v)| *k == VISITOR_COOKIE && is_id(v))
        .map(|(_, v)| v.to_string())
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn html(status: StatusCode, body: String) -> Response {
    let mut res = (status, Html(body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `GET /s/{token}`. A token that does not verify is a friendly 404 page,
/// never an error. Serving the page is not a view (the script's first
/// beacon is); a share the device has not synced yet is recorded through the
/// tracking queue.
pub(crate) async fn share_page(
    State(st): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = lang(&headers);
    let share = match st.db.resolve_share(token).await {
        Ok(Some(share)) => share,
        Ok(None) => return html(StatusCode::NOT_FOUND, page::not_found_page(lang)),
        Err(e) => {
            tracing::error!(error = %e, "share page failed");
            return html(StatusCode::SERVICE_UNAVAILABLE, page::not_found_page(lang));
        }
    };
    // A full queue only delays recording the share: its first beacon records it too.
    let _ = st.db.enqueue(TrackEvent::Opened(share.clone()));
    let mut res = html(StatusCode::OK, page::share_page(&share, lang));
    if visitor_cookie(&headers).is_none() {
        let cookie = format!(
            "{VISITOR_COOKIE}={}; Max-Age=31536000; Path=/; HttpOnly; SameSite=Lax",
            random_id()
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    res
}

/// Salted, truncated hash of the viewer's address: enough to tell repeat
/// visits apart, useless for finding the person.
fn ip_hash(master: &[u8], addr: &SocketAddr) -> String {
    let salt = Sha256::new()
        .chain_update(b"warmlead-ip-salt-v1")
        .chain_update(master)
        .finalize();
    let digest = Sha256::new()
        .chain_update(salt)
        .chain_update(addr.ip().to_string().as_bytes())
        .finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// `POST /t/beacon`: any content type (sendBeacon sends text/plain), JSON
/// body (`TrackBeacon`; the older `Beacon` is a subset). Answered as soon as
/// the beacon is queued; it is committed within about 100 ms.
pub(crate) async fn beacon(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ServerError> {
    let body = body.map_err(|rej| bytes_rejection(&rej, MAX_BEACON_BYTES))?;
    let beacon: TrackBeacon = serde_json::from_slice(&body)
        .map_err(|e| ServerError::InvalidInput(format!("beacon is not valid JSON: {e}")))?;
    if !is_id(&beacon.pv) {
        return Err(ServerError::InvalidInput(
            "pv must be 8 to 64 letters, digits, '-' or '_'".into(),
        ));
    }
    let Some(share) = st.db.resolve_share(beacon.t).await? else {
        return Err(ServerError::NotFound("unknown share".into()));
    };
    let input = BeaconInput {
        page_view: beacon.pv,
        visitor_id: visitor_cookie(&headers).unwrap_or_else(random_id),
        ip_hash: Some(ip_hash(&st.db.secrets().master, &addr)),
        dwell_ms: beacon.dwell_ms,
        scroll_pct: beacon.scroll_pct,
        video_s: beacon.video_s,
        video_len_s: beacon.video_len_s,
        now_ms: now_ms(),
    };
    st.db.enqueue(TrackEvent::Beacon(share, input))?;
    Ok(StatusCode::NO_CONTENT)
}
