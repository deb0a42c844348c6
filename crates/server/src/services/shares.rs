//! The share page's shares: what a token resolves to, which shares credit
//! their sharer, and a page's beacons. What a token resolves to (its
//! signature, sharer, company and item) is `ShareStore::resolve`
//! (`storage/push_store.rs`), cached by the database's share cache.

use std::sync::Arc;

use crate::error::ServerError;
use crate::storage::{BeaconInput, Database, ResolvedShare};

/// What `token` resolves to, from the share cache when it has it.
pub(crate) async fn resolve(
    db: &Database,
    token: String,
) -> Result<Option<Arc<ResolvedShare>>, ServerError> {
    db.resolve_share(token).await
}

/// [`resolve`] for what credits the sharer (beacons, leads, forwards): a
/// share of an item not meant for its sharer is unknown.
pub(crate) async fn open(
    db: &Database,
    token: String,
) -> Result<Option<Arc<ResolvedShare>>, ServerError> {
    Ok(resolve(db, token).await?.filter(|s| s.meant_for_sharer))
}

/// Applies one beacon (read fresh, not from the cache). `Ok(false)` when
/// the token does not resolve, credits nobody for an item not meant for
/// its sharer, or no longer tracks.
pub(crate) async fn beacon(
    db: &Database,
    token: String,
    input: BeaconInput,
) -> Result<bool, ServerError> {
    let share = db
        .snapshot(move |s| s.shares().resolve(&token))
        .await?
        .filter(|s| s.meant_for_sharer && s.tracks());
    let Some(share) = share else {
        return Ok(false);
    };
    db.track_beacon(share, input).await?;
    Ok(true)
}
