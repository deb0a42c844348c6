//! Counters for managers.

use axum::extract::State;
use axum::Json;
use warmlead_core::lead::{FilteredStats, TrackingStats};
use warmlead_core::scoring::ScoringRules;

use super::extract::ApiJson;

use super::AppState;
use crate::error::ServerError;
use crate::services::leads;
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

/// `GET /api/v1/scoring/rules` (reps and managers): the company's scoring
/// rules (defaults if unset).
pub(crate) async fn scoring_rules(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<ScoringRules>, ServerError> {
    Ok(Json(leads::scoring_rules(&st.db, &caller).await?))
}

/// `PUT /api/v1/scoring/rules` (managers): new weights; every lead of the
/// company is rescored with them.
pub(crate) async fn set_scoring_rules(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(rules): ApiJson<ScoringRules>,
) -> Result<Json<ScoringRules>, ServerError> {
    leads::set_scoring_rules(&st.db, &caller, rules.clone()).await?;
    Ok(Json(rules))
}

/// `GET /api/v1/stats/tracking` (managers): the caller's company's beacons
/// acknowledged and stored by this process, and its signals, after writing
/// what is queued.
pub(crate) async fn tracking(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<TrackingStats>, ServerError> {
    if caller.user.role != warmlead_core::domain::Role::Manager {
        return Err(ServerError::Forbidden(
            "only managers see these counters".into(),
        ));
    }
    let company = caller.company.id;
    let signals = st.db.count_company_signals(company).await?;
    let (accepted, stored) = st.db.track_stats().of_company(company);
    Ok(Json(TrackingStats {
        accepted_beacons: accepted as i64,
        stored_beacons: stored as i64,
        signals,
    }))
}
