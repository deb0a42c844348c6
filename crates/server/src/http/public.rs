//! The public share page and the beacon its script reports to.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::Method;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use sha2::{Digest, Sha256};
use warmlead_core::api::TrackBeacon;
use warmlead_core::botfilter::{own_link_proof, FilterReason, RequestShape};
use warmlead_core::domain::ContentStatus;
use warmlead_core::token::derive_share_key;

use super::botlist::BOT_RULES;

use super::extract::bytes_rejection;
use super::page::{self, Lang};
use super::AppState;
use crate::error::ServerError;
use crate::storage::{now_ms, BeaconInput, ResolvedShare, TrackEvent};

/// A beacon is a token, a page-view id and a number.
pub(crate) const MAX_BEACON_BYTES: usize = 2 * 1024;
const VISITOR_COOKIE: &str = "wl_v";
/// Set in the sharer's own browser (see [`own_link`]): `<user id>.<mac>`.
const SHARER_COOKIE: &str = "wl_d";

pub(crate) fn lang(headers: &HeaderMap) -> Lang {
    Lang::from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

pub(crate) fn is_id(s: &str) -> bool {
    (8..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, v)| *k == name && v.len() <= 80)
        .map(|(_, v)| v.to_string())
}

/// The anonymous visitor id from the `wl_v` cookie, if well-formed.
pub(crate) fn visitor_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, VISITOR_COOKIE).filter(|v| is_id(v))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Machine-shaped requests and listed user agents (see `data/bot_user_agents.txt`).
fn machine(method: &Method, headers: &HeaderMap) -> Option<FilterReason> {
    BOT_RULES.classify(&RequestShape {
        method: method.as_str(),
        user_agent: header_str(headers, "user-agent"),
        purpose: header_str(headers, "purpose"),
        sec_purpose: header_str(headers, "sec-purpose"),
    })
}

/// The sharer's own link is not a view. The desktop app opens a share as
/// `/s/{token}?from_app=<proof>` (proof: `botfilter::own_link_proof` under the
/// device's share key). The server then marks that browser with a signed
/// `wl_d=<user id>.<mac>` cookie and remembers its visitor id as the
/// partner's own; later views from that browser, of any of the partner's
/// shares, are counted as `own_link`, not as views.
fn sharer_mac(master: &[u8], user_id: i64) -> String {
    own_link_proof(master, &format!("wl_d:{user_id}"))
}

fn is_sharers_browser(master: &[u8], headers: &HeaderMap, share: &ResolvedShare) -> bool {
    cookie(headers, SHARER_COOKIE)
        .and_then(|v| {
            let (id, mac) = v.split_once('.')?;
            let id: i64 = id.parse().ok()?;
            (id == share.sharer.id && mac == sharer_mac(master, id)).then_some(())
        })
        .is_some()
}

fn proves_own_link(master: &[u8], share: &ResolvedShare, proof: Option<&str>) -> bool {
    let Some(proof) = proof else { return false };
    let key = derive_share_key(master, share.claim.device_id);
    !share.is_child() && proof == own_link_proof(&key, &share.token)
}

#[derive(serde::Deserialize)]
pub(crate) struct PageQuery {
    from_app: Option<String>,
}

fn set_cookie(res: &mut Response, cookie: String) {
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A new browser's visitor id: 32 hex digits, time first (UUIDv7, 74
/// random bits). New visitors' ids then sort by when they came, so the
/// indexes that lead with the visitor (`signals(visitor_id, id)`) grow at
/// their end instead of dirtying a page anywhere in them on every view.
pub(crate) fn new_visitor_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

pub(crate) fn html(status: StatusCode, body: String) -> Response {
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
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    method: Method,
    Path(token): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = lang(&headers);
    let share = match crate::services::shares::resolve(&st.db, token).await {
        // An item no longer meant for the sharer (or never: a device can
        // sign a link to any item id) is "no longer available", like an
        // archived one, and nothing is recorded.
        Ok(Some(share))
            if share.item.status == ContentStatus::Archived
                || (share.item.status == ContentStatus::Live && !share.meant_for_sharer) =>
        {
            return html(StatusCode::GONE, page::archived_page(lang, &share.company));
        }
        Ok(Some(share)) if share.item.status == ContentStatus::Live => share,
        Ok(Some(share)) => {
            let page = page::not_found_page(lang, Some(&share.company));
            return html(StatusCode::NOT_FOUND, page);
        }
        Ok(None) => {
            let company = page::sole_company(&st).await;
            return html(
                StatusCode::NOT_FOUND,
                page::not_found_page(lang, company.as_ref()),
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "share page failed");
            let page = page::not_found_page(lang, None);
            return html(StatusCode::SERVICE_UNAVAILABLE, page);
        }
    };
    if !share.tracks() {
        // Recorded before its device was revoked or its sharer switched
        // off, with no rep to go to: the friend still reads it, untracked.
        return html(
            StatusCode::OK,
            page::share_page(&share, lang, false, &st.public_url),
        );
    }
    let master = &st.db.secrets().master;
    let visitor = visitor_cookie(&headers);
    let new_visitor = visitor.is_none().then(new_visitor_id);
    let own_now = proves_own_link(master, &share, q.from_app.as_deref());
    let not_a_view = if own_now || is_sharers_browser(master, &headers, &share) {
        Some(FilterReason::OwnLink)
    } else {
        machine(&method, &headers)
    };
    // Not waited on (serving the page acknowledges no view): a lost
    // "opened" is recorded by the share's first beacon; a lost counter of a
    // filtered page request only undercounts bots.
    if !st.db.is_recorded(&share.token) {
        st.db.enqueue(TrackEvent::Opened(share.clone()));
    }
    if let Some(reason) = not_a_view {
        let company_id = share.company.id;
        st.db.enqueue(TrackEvent::Filtered { company_id, reason });
    }
    let body = page::share_page(&share, lang, not_a_view.is_none(), &st.public_url);
    let mut res = html(StatusCode::OK, body);
    // Over https the cookies never travel in clear.
    let secure = if st.is_https() { "; Secure" } else { "" };
    if let Some(id) = &new_visitor {
        set_cookie(
            &mut res,
            format!(
                "{VISITOR_COOKIE}={id}; Max-Age=31536000; Path=/; HttpOnly; SameSite=Lax{secure}"
            ),
        );
    }
    if own_now {
        let partner_id = share.sharer.id;
        let mac = sharer_mac(master, partner_id);
        set_cookie(
            &mut res,
            format!("{SHARER_COOKIE}={partner_id}.{mac}; Max-Age=31536000; Path=/; HttpOnly; SameSite=Lax{secure}"),
        );
        if let Some(visitor_id) = visitor.or(new_visitor) {
            // Stored before the page is served, or the sharer's next views
            // from this browser (before the cookie is sent) would count.
            let own = TrackEvent::OwnVisitor {
                visitor_id,
                partner_id,
            };
            let client = client_key(&st, addr, &headers);
            if let Err(e) = st.db.record(own, &client).await {
                tracing::warn!(error = %e, "own visitor not recorded");
                return e.into_response();
            }
        }
    }
    res
}

/// The network, not the machine: IPv4 /24, IPv6 /48. Hashing a truncated
/// address means even the salted hash cannot single out one device.
fn truncate_ip(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => truncate_ip(std::net::IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            }
        },
    }
}

/// Salted hash of the truncated address, itself truncated to 64 bits: enough
/// to rate-limit and to tell networks apart, useless for finding the person.
/// The address itself is never stored.
pub(crate) fn ip_hash(master: &[u8], addr: &SocketAddr) -> String {
    let salt = Sha256::new()
        .chain_update(b"warmlead-ip-salt-v1")
        .chain_update(master)
        .finalize();
    let digest = Sha256::new()
        .chain_update(salt)
        .chain_update(truncate_ip(addr.ip()).as_bytes())
        .finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Who a tracking write is fair-shared by: the hashed network of the
/// client's address (behind a trusted proxy, the address it forwarded).
pub(crate) fn client_key(st: &AppState, addr: SocketAddr, headers: &HeaderMap) -> String {
    super::client_ip::peer_ip_hash(st, addr, headers)
}

/// `POST /t/beacon`: any content type (sendBeacon sends text/plain), JSON
/// body (`TrackBeacon`; the older `Beacon` is a subset). Answered 204 only
/// once the beacon's batch committed (group commit): an acknowledged beacon
/// is stored. 503 when the writer is behind for longer than
/// `ENQUEUE_WAIT`, 429 when this client has too many beacons waiting; the
/// page's script retries both.
pub(crate) async fn beacon(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ServerError> {
    // Only page views' beacons count; filtering happens below.
    let body = body.map_err(|rej| bytes_rejection(&rej, MAX_BEACON_BYTES))?;
    let beacon: TrackBeacon = serde_json::from_slice(&body)
        .map_err(|e| ServerError::InvalidInput(format!("beacon is not valid JSON: {e}")))?;
    if !is_id(&beacon.pv) {
        return Err(ServerError::InvalidInput(
            "pv must be 8 to 64 letters, digits, '-' or '_'".into(),
        ));
    }
    let Some(share) = crate::services::shares::open(&st.db, beacon.t).await? else {
        return Err(ServerError::NotFound("unknown share".into()));
    };
    if !share.tracks() {
        // A page opened before its share stopped crediting anyone.
        return Ok(StatusCode::NO_CONTENT);
    }
    let master = &st.db.secrets().master;
    let client = client_key(&st, addr, &headers);
    let not_a_view = if is_sharers_browser(master, &headers, &share) {
        Some(FilterReason::OwnLink)
    } else {
        machine(&Method::POST, &headers)
    };
    if let Some(reason) = not_a_view {
        // Answered like any beacon: a bot learns nothing from the reply.
        let company_id = share.company.id;
        let filtered = TrackEvent::Filtered { company_id, reason };
        st.db.record(filtered, &client).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let input = BeaconInput {
        page_view: beacon.pv,
        visitor_id: visitor_cookie(&headers).unwrap_or_else(new_visitor_id),
        ip_hash: Some(client.clone()),
        dwell_ms: beacon.dwell_ms,
        scroll_pct: beacon.scroll_pct,
        video_s: beacon.video_s,
        video_len_s: beacon.video_len_s,
        now_ms: now_ms(),
    };
    st.db
        .record(TrackEvent::Beacon(share, input), &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_visitor_ids_are_cookie_ids_that_start_with_the_time() {
        let ids: Vec<String> = (0..1_000).map(|_| new_visitor_id()).collect();
        for id in &ids {
            assert!(is_id(id) && id.len() == 32, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        }
        // The first 12 digits are the milliseconds: a later id never sorts
        // before an earlier one there.
        assert!(ids.windows(2).all(|w| w[0][..12] <= w[1][..12]));
        let now_ms = std::time::UNIX_EPOCH.elapsed().unwrap().as_millis();
        let last_ms = u128::from_str_radix(&ids[999][..12], 16).unwrap();
        assert!(now_ms.abs_diff(last_ms) < 60_000, "{last_ms} vs {now_ms}");
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
    }

    #[test]
    fn addresses_are_truncated_then_hashed() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert_eq!(truncate_ip(ip("203.0.113.77")), "203.0.113.0/24");
        assert_eq!(truncate_ip(ip("::ffff:203.0.113.9")), "203.0.113.0/24");
        assert_eq!(truncate_ip(ip("2001:db8:abcd:12::1")), "2001:db8:abcd::/48");
        let a: SocketAddr = "203.0.113.77:5000".parse().unwrap();
        let b: SocketAddr = "203.0.113.12:6000".parse().unwrap();
        let c: SocketAddr = "198.51.100.7:5000".parse().unwrap();
        let h = ip_hash(b"secret", &a);
        assert_eq!(h.len(), 16);
        assert!(!h.contains("203"));
        assert_eq!(h, ip_hash(b"secret", &b), "same network, same hash");
        assert_ne!(h, ip_hash(b"secret", &c));
        assert_ne!(h, ip_hash(b"other secret", &a), "salted per server");
    }
}
