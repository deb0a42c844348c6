//! What the sync badge shows, and where pulling stands.

use rusqlite::OptionalExtension;
use warmlead_core::app::{SyncState, SyncStatus};

use crate::{Store, StoreError};

impl Store {
    /// The badge's parts. `online_hint` says whether the last attempt reached
    /// the server; the engine overrides the state while it is syncing.
    pub fn sync_status(&self, online_hint: bool) -> Result<SyncStatus, StoreError> {
        let (last_synced_at_ms, last_error): (Option<i64>, Option<String>) = self
            .conn
            .query_row(
                "SELECT last_synced_at, last_error FROM sync_state WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .unwrap_or((None, None));
        let rejected = self.rejected()?;
        let state = if !rejected.is_empty() {
            SyncState::Attention
        } else if online_hint {
            SyncState::Synced
        } else {
            SyncState::Offline
        };
        Ok(SyncStatus {
            state,
            last_synced_at_ms,
            pending: self.pending_count()?,
            rejected,
            last_error,
        })
    }

    /// Records a complete sync (push and pull) at `now_ms`.
    pub fn mark_synced(&self, now_ms: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE sync_state SET last_synced_at = ?1, last_error = NULL WHERE id = 1",
            [now_ms],
        )?;
        Ok(())
    }

    /// Records why the last sync failed, for the badge's tooltip.
    pub fn record_sync_error(&self, message: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE sync_state SET last_error = ?1 WHERE id = 1",
            [message],
        )?;
        Ok(())
    }
}
