//! The pulls: what a device is sent of the change log, and the live
//! stream's state. (A device's push is `services::push`.)

use super::{changes, Caller, Database};
use crate::error::ServerError;

impl Database {
    pub(crate) async fn pull_radar(
        &self,
        caller: Caller,
        after: i64,
        limit: u32,
    ) -> Result<changes::RawPage, ServerError> {
        let upto = self.durable_seq();
        self.snapshot(move |s| {
            s.changes()
                .page(&caller, changes::RADAR, after, upto, limit)
        })
        .await
    }

    /// For the live stream: the newest (sync, radar) seqs the caller may see
    /// after `after`, and a hot lead among the new radar changes. `None`
    /// once the caller's device is revoked or its user switched off: the
    /// stream ends (it was authenticated when it opened, not since).
    pub(crate) async fn live_state(
        &self,
        caller: Caller,
        after: (i64, i64),
        want_hot: bool,
    ) -> Result<Option<(i64, i64, Option<i64>)>, ServerError> {
        let upto = self.durable_seq();
        self.snapshot(move |s| {
            if !s.accounts().device_is_live(caller.device_id)? {
                return Ok(None);
            }
            let log = s.changes();
            let sync = log.newest_visible(&caller, changes::SYNC, after.0, upto)?;
            let radar = log.newest_visible(&caller, changes::RADAR, after.1, upto)?;
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
    pub(crate) async fn device_is_live(&self, device_id: i64) -> Result<bool, ServerError> {
        self.snapshot(move |s| s.accounts().device_is_live(device_id))
            .await
    }

    pub(crate) async fn pull(
        &self,
        caller: Caller,
        after: i64,
        limit: u32,
    ) -> Result<changes::RawPage, ServerError> {
        let upto = self.durable_seq();
        self.snapshot(move |s| s.changes().page(&caller, changes::SYNC, after, upto, limit))
            .await
    }
}
