//! Counters for managers.

use axum::extract::State;
use axum::Json;
use warmlead_core::lead::{FilteredStats, TrackingStats};
use warmlead_core::scoring::ScoringRules;

use super::extract::ApiJson;

use super::AppState;
use crate::error::ServerError;
use crate::storage::Caller;

/// `GET /api/v1/stats/filtered`: requests not counted as views, by reason,
/// for the caller's company (managers only).
pub(crate) async fn filtered(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<FilteredStats>, ServerError> {
    if caller.user.role != warmlead_core::domain::Role::Manager {
        return Err(ServerError::Forbidden(
            "only managers see these counters".into(),
        ));
    }
    st.db.flush().await;
    Ok(Json(st.db.filtered_stats(caller.company.id).await?))
}

/// `GET /api/v1/scoring/rules`: the company's scoring rules (defaults if unset).
pub(crate) async fn scoring_rules(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<ScoringRules>, ServerError> {
    Ok(Json(st.db.scoring_rules(caller.company.id).await?))
}

/// `PUT /api/v1/scoring/rules` (managers): new weights; every lead of the
/// company is rescored with them.
pub(crate) async fn set_scoring_rules(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(rules): ApiJson<ScoringRules>,
) -> Result<Json<ScoringRules>, ServerError> {
    if caller.user.role != warmlead_core::domain::Role::Manager {
        return Err(ServerError::Forbidden(
            "only managers change scoring rules".into(),
        ));
    }
    st.db
        .set_scoring_rules(caller.company.id, rules.clone())
        .await?;
    Ok(Json(rules))
}

/// `GET /api/v1/stats/tracking` (managers): beacons accepted and stored by
/// this process, after writing what is queued.
pub(crate) async fn tracking(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<TrackingStats>, ServerError> {
    if caller.user.role != warmlead_core::domain::Role::Manager {
        return Err(ServerError::Forbidden(
            "only managers see these counters".into(),
        ));
    }
    st.db.flush().await;
    let t = st.db.track_stats();
    let load =
        |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed) as i64;
    Ok(Json(TrackingStats {
        accepted_beacons: load(&t.queued_beacons),
        stored_beacons: load(&t.stored_beacons),
        signals: st.db.count_signals().await?,
    }))
}
