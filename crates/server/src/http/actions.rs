//! What a viewer does on a share page besides reading: pass it on, and
//! leave their contact. Both commit before answering.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::Json;
use warmlead_core::api::{ForwardRequest, ForwardResponse};

use super::extract::bytes_rejection;
use super::limit::RateLimiter;
use super::public::{ip_hash, random_id, visitor_cookie, MAX_BEACON_BYTES};
use super::AppState;
use crate::error::ServerError;

/// Limits on public writes.
pub(crate) struct Limits {
    pub forward_per_ip: RateLimiter,
    pub lead_per_ip: RateLimiter,
    pub lead_per_share: RateLimiter,
}

impl Default for Limits {
    fn default() -> Self {
        let ten_min = Duration::from_secs(600);
        Limits {
            forward_per_ip: RateLimiter::new(30, ten_min),
            lead_per_ip: RateLimiter::new(5, ten_min),
            lead_per_share: RateLimiter::new(30, ten_min),
        }
    }
}

/// `POST /t/forward`: a child share of the page's share, for this viewer.
pub(crate) async fn forward(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ForwardResponse>, ServerError> {
    let body = body.map_err(|rej| bytes_rejection(&rej, MAX_BEACON_BYTES))?;
    let req: ForwardRequest = serde_json::from_slice(&body)
        .map_err(|e| ServerError::InvalidInput(format!("not a forward request: {e}")))?;
    let ip = ip_hash(&st.db.secrets().master, &addr);
    if !st.limits.forward_per_ip.allow(&ip) {
        return Err(ServerError::RateLimited(
            "too many links passed on; try again later".into(),
        ));
    }
    let Some(parent) = st.db.resolve_share(req.t).await? else {
        return Err(ServerError::NotFound("unknown share".into()));
    };
    let visitor = visitor_cookie(&headers).unwrap_or_else(random_id);
    let child = st.db.forward(parent, visitor).await?;
    Ok(Json(ForwardResponse {
        url: format!("{}/s/{}", st.public_url, child.token),
        token: child.token,
    }))
}
