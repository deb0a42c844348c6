//! The pulls: what a device is sent of the change log (the sync and radar
//! streams), and the live stream's state. Each reads one snapshot through
//! `Stores::changes`, up to the newest seq known to be on disk
//! (`Database::durable_seq`). A device's push is `services::push`.

use crate::error::ServerError;
use crate::storage::changes::{RawPage, RADAR, SYNC};
use crate::storage::{Caller, Database};

/// One page of the sync stream after `after` that `caller` may see.
pub(crate) async fn sync_page(
    db: &Database,
    caller: Caller,
    after: i64,
    limit: u32,
) -> Result<RawPage, ServerError> {
    page(db, caller, SYNC, after, limit).await
}

/// One page of the radar stream after `after` that `caller` may see.
pub(crate) async fn radar_page(
    db: &Database,
    caller: Caller,
    after: i64,
    limit: u32,
) -> Result<RawPage, ServerError> {
    page(db, caller, RADAR, after, limit).await
}

async fn page(
    db: &Database,
    caller: Caller,
    stream: &'static str,
    after: i64,
    limit: u32,
) -> Result<RawPage, ServerError> {
    let upto = db.durable_seq();
    db.snapshot(move |s| s.changes().page(&caller, stream, after, upto, limit))
        .await
}

/// For the live stream: the newest (sync, radar) seqs the caller may see
/// after `after`, and a hot lead among the new radar changes. `None` once
/// the caller's device is revoked or its user switched off: the stream
/// ends (it was authenticated when it opened, not since).
pub(crate) async fn live_state(
    db: &Database,
    caller: Caller,
    after: (i64, i64),
    want_hot: bool,
) -> Result<Option<(i64, i64, Option<i64>)>, ServerError> {
    let upto = db.durable_seq();
    db.snapshot(move |s| {
        if !s.accounts().device_is_live(caller.device_id)? {
            return Ok(None);
        }
        let log = s.changes();
        let sync = log.newest_visible(&caller, SYNC, after.0, upto)?;
        let radar = log.newest_visible(&caller, RADAR, after.1, upto)?;
        let hot = if radar > after.1 && want_hot {
            log.hot_lead(&caller, after.1, radar)?
        } else {
            None
        };
        Ok(Some((sync, radar, hot)))
    })
    .await
}

/// Whether the device may still act: not revoked, its user switched on.
pub(crate) async fn device_is_live(db: &Database, device_id: i64) -> Result<bool, ServerError> {
    db.snapshot(move |s| s.accounts().device_is_live(device_id))
        .await
}
