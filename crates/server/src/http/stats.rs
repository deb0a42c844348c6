//! Counters for managers.

use axum::extract::State;
use axum::Json;
use warmlead_core::lead::FilteredStats;

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
