//! Invitations: the reps' API (create, poll, revoke).

use axum::extract::{Path, State};
use axum::Json;
use warmlead_core::domain::Role;
use warmlead_core::invite::{Invitation, NewInvitation};

use super::extract::ApiJson;
use super::AppState;
use crate::error::ServerError;
use crate::storage::Caller;

/// Reps and managers invite; partners may not.
fn require_inviter(caller: &Caller) -> Result<(), ServerError> {
    match caller.user.role {
        Role::Rep | Role::Manager => Ok(()),
        Role::Partner => Err(ServerError::Forbidden(
            "only reps and managers can invite partners".into(),
        )),
    }
}

/// `POST /api/v1/invitations`.
pub(crate) async fn create(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewInvitation>,
) -> Result<Json<Invitation>, ServerError> {
    require_inviter(&caller)?;
    let inv = st
        .db
        .create_invitation(caller.user, new, st.public_url.clone())
        .await?;
    Ok(Json(inv))
}

/// `GET /api/v1/invitations/{id}`: fresh uses and status (the QR screen polls it).
pub(crate) async fn get(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Invitation>, ServerError> {
    require_inviter(&caller)?;
    Ok(Json(st.db.invitation_for(caller.user, id).await?))
}

/// `POST /api/v1/invitations/{id}/revoke`.
pub(crate) async fn revoke(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Invitation>, ServerError> {
    require_inviter(&caller)?;
    Ok(Json(st.db.revoke_invitation(caller.user, id).await?))
}
