//! The doctor's probe (`crate::doctor::probe`): answers only a request made
//! with this database's secret, with what the server saw of it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Query, Request, State};
use axum::Json;
use serde::Deserialize;

use super::AppState;
use crate::doctor::probe::{self, ProbeAnswer};
use crate::error::ServerError;

#[derive(Deserialize)]
pub(crate) struct Asked {
    nonce: String,
    mac: String,
}

pub(crate) async fn answer(
    State(st): State<AppState>,
    Query(asked): Query<Asked>,
    req: Request,
) -> Result<Json<ProbeAnswer>, ServerError> {
    if asked.nonce.is_empty() || asked.nonce.chars().count() > probe::MAX_NONCE_CHARS {
        return Err(ServerError::InvalidInput(format!(
            "the probe's nonce must have 1 to {} characters",
            probe::MAX_NONCE_CHARS
        )));
    }
    let master = &st.db.secrets().master;
    if !probe::verify_request(master, &asked.nonce, &asked.mac) {
        return Err(ServerError::Forbidden(
            "this probe was made with another database's secret: run warmlead-server doctor with this server's --database-url".into(),
        ));
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    let peer = match peer {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
        v4 => v4,
    };
    let headers = req.headers();
    let forwarded = ["x-forwarded-for", "x-real-ip", "forwarded"]
        .iter()
        .any(|h| headers.contains_key(*h));
    Ok(Json(ProbeAnswer {
        proof: probe::answer_proof(master, &asked.nonce),
        public_url: st.public_url.clone(),
        peer: peer.to_string(),
        peer_trusted: st.trusted_proxies.contains(peer),
        forwarded,
        trusted_proxies_set: !st.trusted_proxies.is_empty(),
    }))
}
