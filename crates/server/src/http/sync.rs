//! `POST /api/v1/sync/push` and `GET /api/v1/sync/pull`.

use axum::extract::State;
use axum::Json;
use warmlead_core::lead::RadarPullResponse;
use warmlead_core::sync::{
    MutationOutcome, PullQuery, PullResponse, PushRequest, PushResponse, MAX_PULL_LIMIT,
    MAX_PUSH_BATCH,
};

use super::extract::{ApiJson, ApiQuery};
use super::AppState;
use crate::error::ServerError;
use crate::storage::{Caller, PushStep};

const DEFAULT_PULL_LIMIT: u32 = 500;

/// Applies the mutations in seq order, each in its own transaction. A gap
/// before anything new was applied refuses the whole request (409); a later
/// gap stops the batch and returns what was done.
pub(crate) async fn push(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>, ServerError> {
    let client_id = caller.device_id.to_string();
    if req.client_id != client_id {
        return Err(ServerError::Forbidden(format!(
            "client_id {:?} is not this device's id ({client_id})",
            req.client_id
        )));
    }
    if req.mutations.len() > MAX_PUSH_BATCH {
        return Err(ServerError::InvalidInput(format!(
            "a push carries at most {MAX_PUSH_BATCH} mutations, got {}",
            req.mutations.len()
        )));
    }
    let mut mutations = req.mutations;
    mutations.sort_by_key(|m| m.seq);
    let mut outcomes = Vec::with_capacity(mutations.len());
    let mut applied_any = false;
    for m in mutations {
        let (mutation_id, seq) = (m.mutation_id.clone(), m.seq);
        let outcome = match st.db.push_one(caller.clone(), m).await? {
            PushStep::Done(o) => {
                applied_any = true;
                o
            }
            PushStep::Replayed(o) => o,
            PushStep::Gap { expected } if !applied_any => {
                return Err(ServerError::Conflict(format!(
                    "sync gap: expected seq {expected}, got {seq}"
                )))
            }
            PushStep::Gap { .. } => break,
        };
        outcomes.push(MutationOutcome {
            mutation_id,
            seq,
            outcome,
        });
    }
    let last_seq = st.db.last_seq(client_id).await?;
    Ok(Json(PushResponse { outcomes, last_seq }))
}

pub(crate) async fn pull(
    State(st): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PullQuery>,
) -> Result<Json<PullResponse>, ServerError> {
    // Read your writes: beacons queued before this pull are in it.
    st.db.flush().await;
    let (after, limit) = page_bounds(&q);
    let (changes, has_more) = st.db.pull(caller, after, limit).await?;
    let cursor = changes.last().map_or(after, |c| c.seq);
    Ok(Json(PullResponse {
        epoch: st.db.secrets().epoch.clone(),
        changes,
        cursor,
        has_more,
    }))
}

/// The cursor and page size of a pull, with the server's default and cap.
fn page_bounds(q: &PullQuery) -> (i64, u32) {
    let limit = q.limit.unwrap_or(DEFAULT_PULL_LIMIT);
    (q.after.max(0), limit.clamp(1, MAX_PULL_LIMIT))
}

/// `GET /api/v1/radar/pull?after=&limit=`: leads, signals, visit aggregates
/// and forward chains in the caller's scope (same rules and cursor
/// semantics as the sync pull; the cursor is this stream's own).
pub(crate) async fn pull_radar(
    State(st): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PullQuery>,
) -> Result<Json<RadarPullResponse>, ServerError> {
    st.db.flush().await;
    let (after, limit) = page_bounds(&q);
    let (changes, has_more) = st.db.pull_radar(caller, after, limit).await?;
    let cursor = changes.last().map_or(after, |c| c.seq);
    Ok(Json(RadarPullResponse {
        epoch: st.db.secrets().epoch.clone(),
        changes,
        cursor,
        has_more,
    }))
}
