//! The share page's shares: what a token resolves to, which shares credit
//! their sharer, and a page's beacons. What a token resolves to (its
//! signature, sharer, company and item) is `ShareStore::resolve`
//! (`storage/push_store.rs`), kept in the database's share cache: by token,
//! and by device and item (`ShareCache::parts`), so a partner's next share
//! of the same item needs only its signature checked.

use std::sync::Arc;

use crate::error::ServerError;
use crate::storage::{verified, BeaconInput, Credit, Database, ResolvedShare, CHILD_PREFIX};

/// What `token` resolves to, from the share cache when it has it, else
/// read (then cached).
pub(crate) async fn resolve(
    db: &Database,
    token: String,
) -> Result<Option<Arc<ResolvedShare>>, ServerError> {
    let cache = db.share_cache();
    if let Some(hit) = cache.get(&token) {
        return Ok(hit);
    }
    // A revocation or switch-off that clears the cache while this read
    // runs must not be undone by caching what the read found before it.
    let epoch = cache.epoch();
    if let Some(found) = from_parts(db, &token) {
        cache.put(&token, Some(found.clone()), epoch);
        return Ok(Some(found));
    }
    let key = token.clone();
    let found = db
        .snapshot(move |s| s.shares().resolve(&token))
        .await?
        .map(Arc::new);
    let cache = db.share_cache();
    cache.put(&key, found.clone(), epoch);
    if let Some(s) = found
        .as_ref()
        .filter(|s| s.credit == Credit::Sharer && !s.is_child())
    {
        cache.put_parts(s.claim.device_id as i64, s.item.id, s.clone(), epoch);
    }
    Ok(found)
}

/// A device-signed token resolved from what another share of its device
/// and item resolved to: its signature checked, nothing read. Only a sharer
/// in good standing is kept there (a revoked or switched-off one depends on
/// when each token was recorded).
fn from_parts(db: &Database, token: &str) -> Option<Arc<ResolvedShare>> {
    if token.starts_with(CHILD_PREFIX) {
        return None;
    }
    let (claim, device_id, item_id) = verified(db.secrets(), token)?;
    let parts = db.share_cache().parts(device_id, item_id)?;
    Some(Arc::new(ResolvedShare {
        token: token.to_string(),
        root_token: token.to_string(),
        claim,
        ..(*parts).clone()
    }))
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
