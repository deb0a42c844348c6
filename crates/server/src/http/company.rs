//! The company profile a manager edits: name, logo, poster slogan and the
//! commission promise of the invitation pages.

use axum::extract::State;
use axum::Json;
use warmlead_core::company::CompanyProfile;
use warmlead_core::domain::Company;

use super::extract::ApiJson;
use super::AppState;
use crate::error::ServerError;
use crate::storage::Caller;

/// `PUT /api/v1/company/profile` (managers): the whole profile at once.
/// Every device of the company learns it through the Company change, so
/// posters carry it offline.
pub(crate) async fn set_profile(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(profile): ApiJson<CompanyProfile>,
) -> Result<Json<Company>, ServerError> {
    Ok(Json(
        crate::services::accounts::set_company_profile_as(&st.db, &caller.user, profile).await?,
    ))
}
