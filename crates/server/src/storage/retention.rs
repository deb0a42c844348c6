//! Raw signals are kept for a limited time (a server setting). The purge
//! deletes signal rows older than the cutoff, forgets old page-view ids and
//! clears the (already hashed) address of old visits; visits keep their
//! aggregates and leads keep their score, so the radar still shows what
//! happened, only not the raw timeline.

use crate::storage::sql::{params, Connection};

use super::Database;
use crate::error::ServerError;

/// What one purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub signals: usize,
    pub page_views: usize,
    pub visit_addresses: usize,
}

pub(crate) const DAY_MS: i64 = 24 * 3600 * 1000;

pub(crate) fn purge(tx: &Connection, cutoff_ms: i64) -> Result<Purged, ServerError> {
    let signals = tx.execute("DELETE FROM signals WHERE at < ?1", params![cutoff_ms])?;
    let page_views = tx.execute(
        "DELETE FROM page_views WHERE visit_id IN (SELECT id FROM visits WHERE last_seen_at < ?1)",
        params![cutoff_ms],
    )?;
    let visit_addresses = tx.execute(
        "UPDATE visits SET ip_hash = NULL WHERE last_seen_at < ?1 AND ip_hash IS NOT NULL",
        params![cutoff_ms],
    )?;
    // Rate-limit windows are minutes long; a day-old counter is dead.
    super::limits::forget_before(tx, super::now_ms() - DAY_MS)?;
    Ok(Purged {
        signals,
        page_views,
        visit_addresses,
    })
}

impl Database {
    /// Deletes raw signals older than `retention_days` before `now_ms`.
    pub(crate) async fn purge_signals(
        &self,
        now_ms: i64,
        retention_days: u32,
    ) -> Result<Purged, ServerError> {
        self.flush().await;
        let cutoff = now_ms - i64::from(retention_days) * DAY_MS;
        self.tx(move |tx, _| purge(tx, cutoff)).await
    }
}
