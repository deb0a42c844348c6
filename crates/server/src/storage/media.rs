//! Each company's room for media (its quota), and the sweep that removes
//! what nothing uses.
//!
//! `media_usage` holds, per company, the bytes of its media plus the room
//! its uploads under way have reserved (`media_reservations`). An upload
//! takes room as its bytes arrive with one conditional upsert on that
//! counter, so two uploads at once (in one process or several on one
//! PostgreSQL) can never both pass the quota; storing the media row turns
//! its reservation into usage in the same transaction, and the sweep gives
//! back what it deletes in the transaction that deletes it.

use std::collections::BTreeMap;
use std::path::Path;

use crate::storage::sql::{params, Connection, Dialect, OptionalExtension};

use super::Database;
use crate::error::ServerError;

/// Bytes in a MiB (the quota setting is in MiB).
pub(crate) const MIB: i64 = 1024 * 1024;

/// Adds `delta` (negative: gives back) to a company's usage, never below 0.
pub(crate) fn add_usage(tx: &Connection, company_id: i64, delta: i64) -> Result<(), ServerError> {
    if delta == 0 {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO media_usage (company_id, bytes) VALUES (?1, ?3)
         ON CONFLICT (company_id) DO UPDATE SET bytes =
             CASE WHEN media_usage.bytes + ?2 < 0 THEN 0 ELSE media_usage.bytes + ?2 END",
        params![company_id, delta, delta.max(0)],
    )?;
    Ok(())
}

/// A company's usage (media plus reserved room), in bytes.
pub(crate) fn usage(conn: &Connection, company_id: i64) -> Result<i64, ServerError> {
    Ok(conn
        .query_row(
            "SELECT bytes FROM media_usage WHERE company_id = ?1",
            [company_id],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Takes `add` more bytes of room for the upload `reservation` (a new one
/// when None), if the company's usage stays within `quota`: one
/// conditional statement. Answers the reservation's id, or None when the
/// room is not there.
pub(crate) fn reserve(
    tx: &Connection,
    company_id: i64,
    reservation: Option<i64>,
    add: i64,
    quota: i64,
    now_ms: i64,
) -> Result<Option<i64>, ServerError> {
    if add > quota {
        return Ok(None);
    }
    let taken = tx
        .query_row(
            "INSERT INTO media_usage (company_id, bytes) VALUES (?1, ?2)
             ON CONFLICT (company_id) DO UPDATE SET bytes = media_usage.bytes + excluded.bytes
             WHERE media_usage.bytes + excluded.bytes <= ?3
             RETURNING bytes",
            params![company_id, add, quota],
            |r| r.get::<_, i64>(0),
        )
        .optional()?;
    if taken.is_none() {
        return Ok(None);
    }
    match reservation {
        None => Ok(Some(tx.query_row(
            "INSERT INTO media_reservations (company_id, bytes, touched_at)
             VALUES (?1, ?2, ?3) RETURNING id",
            params![company_id, add, now_ms],
            |r| r.get::<_, i64>(0),
        )?)),
        Some(id) => {
            let n = tx.execute(
                "UPDATE media_reservations SET bytes = bytes + ?1, touched_at = ?2
                 WHERE id = ?3 AND company_id = ?4",
                params![add, now_ms, id, company_id],
            )?;
            if n == 0 {
                // The sweep took it as a crashed upload's and gave its room
                // back: this upload has no room left to count on.
                return Err(stale());
            }
            Ok(Some(id))
        }
    }
}

fn stale() -> ServerError {
    ServerError::Busy("the upload paused too long and lost its room; upload it again".into())
}

/// Renews an upload's reservation, so the sweep does not take it for a
/// crashed upload's.
pub(crate) fn touch(
    tx: &Connection,
    company_id: i64,
    reservation: i64,
    now_ms: i64,
) -> Result<(), ServerError> {
    let n = tx.execute(
        "UPDATE media_reservations SET touched_at = ?1 WHERE id = ?2 AND company_id = ?3",
        params![now_ms, reservation, company_id],
    )?;
    if n == 0 {
        return Err(stale());
    }
    Ok(())
}

/// Ends a reservation: its room becomes `stored` bytes of media (0: the
/// upload was not kept). One conditional delete, so the sweep and this never
/// both give the same room back.
pub(crate) fn settle(
    tx: &Connection,
    company_id: i64,
    reservation: Option<i64>,
    stored: i64,
) -> Result<(), ServerError> {
    let reserved = match reservation {
        Some(id) => tx
            .query_row(
                "DELETE FROM media_reservations WHERE id = ?1 AND company_id = ?2 RETURNING bytes",
                params![id, company_id],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .unwrap_or(0),
        None => 0,
    };
    add_usage(tx, company_id, stored - reserved)
}

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Media rows (and their files) that nothing used.
    pub media: usize,
    /// Their bytes, given back to their companies.
    pub bytes: i64,
    /// Reservations of uploads that crashed.
    pub reservations: usize,
    /// Temporary files of uploads that crashed.
    pub temp_files: usize,
}

/// Media deleted per transaction (each is looked up against every use).
const SWEEP_BATCH: i64 = 200;

/// A media row is in use while any item (any state, deleted ones too: the
/// row still points at it) or any company (logo, poster artwork) points at
/// it. The same test guards the DELETE itself, so a use added between
/// finding and deleting keeps the row (and on PostgreSQL, a use committed
/// meanwhile makes the foreign key refuse the delete: the sweep retries).
const UNUSED: &str = "NOT EXISTS (SELECT 1 FROM content_item_media u WHERE u.media_id = media.id)
     AND NOT EXISTS (SELECT 1 FROM content_items i
                     WHERE i.cover_media_id = media.id OR i.video_media_id = media.id)
     AND NOT EXISTS (SELECT 1 FROM companies c
                     WHERE c.poster_media_id = media.id OR c.logo_media_id = media.id)";

/// Deletes up to [`SWEEP_BATCH`] unused media created before `cutoff_ms`
/// and gives their room back; answers (path, size) of each, whose files
/// the caller then removes.
fn claim_unused(tx: &Connection, cutoff_ms: i64) -> Result<Vec<(String, i64)>, ServerError> {
    // PostgreSQL: sweeps in several processes take disjoint rows instead
    // of waiting on (or deadlocking over) each other's. SQLite has one writer.
    let lock = match tx.dialect() {
        Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
        Dialect::Sqlite => "",
    };
    let sql = format!(
        "DELETE FROM media WHERE id IN (SELECT id FROM media WHERE created_at < ?1 AND {UNUSED}
                                        ORDER BY id LIMIT ?2 {lock})
         AND {UNUSED}
         RETURNING company_id, path, size"
    );
    let rows: Vec<(i64, String, i64)> = tx
        .prepare(&sql)?
        .query_map(params![cutoff_ms, SWEEP_BATCH], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut freed: BTreeMap<i64, i64> = BTreeMap::new();
    for (company, _, size) in &rows {
        *freed.entry(*company).or_default() += size;
    }
    for (company, bytes) in freed {
        add_usage(tx, company, -bytes)?;
    }
    Ok(rows
        .into_iter()
        .map(|(_, path, size)| (path, size))
        .collect())
}

/// Deletes reservations not renewed since `cutoff_ms` (their upload
/// crashed) and gives their room back.
fn drop_stale_reservations(tx: &Connection, cutoff_ms: i64) -> Result<usize, ServerError> {
    let rows: Vec<(i64, i64)> = tx
        .prepare(
            "DELETE FROM media_reservations WHERE touched_at < ?1 RETURNING company_id, bytes",
        )?
        .query_map([cutoff_ms], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (company, bytes) in &rows {
        add_usage(tx, *company, -bytes)?;
    }
    Ok(rows.len())
}

/// Whether a file in the media folder is an upload's temporary file.
pub(crate) fn is_temp_name(name: &str) -> bool {
    name.starts_with(".upload-")
}

/// Removes upload temp files last written before `cutoff_ms`.
fn remove_stale_temp_files(dir: &Path, cutoff_ms: i64) -> std::io::Result<usize> {
    let cutoff = std::time::UNIX_EPOCH + std::time::Duration::from_millis(cutoff_ms.max(0) as u64);
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !is_temp_name(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        let written = meta.modified()?;
        if meta.is_file() && written < cutoff {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                // Another process swept it first.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}

impl Database {
    /// The company's usage (media and reserved room), in bytes.
    pub(crate) async fn media_usage(&self, company_id: i64) -> Result<i64, ServerError> {
        self.read(move |c, _| usage(c, company_id)).await
    }

    /// See [`reserve`].
    pub(crate) async fn reserve_media(
        &self,
        company_id: i64,
        reservation: Option<i64>,
        add: i64,
        quota: i64,
    ) -> Result<Option<i64>, ServerError> {
        self.tx(move |tx, _| reserve(tx, company_id, reservation, add, quota, super::now_ms()))
            .await
    }

    /// See [`touch`].
    pub(crate) async fn touch_reservation(
        &self,
        company_id: i64,
        reservation: i64,
    ) -> Result<(), ServerError> {
        self.tx(move |tx, _| touch(tx, company_id, reservation, super::now_ms()))
            .await
    }

    /// Gives an unfinished upload's room back.
    pub(crate) async fn release_reservation(
        &self,
        company_id: i64,
        reservation: i64,
    ) -> Result<(), ServerError> {
        self.tx(move |tx, _| settle(tx, company_id, Some(reservation), 0))
            .await
    }

    /// Removes media nothing uses that were made more than `grace_ms`
    /// before `now_ms` (the row, then its file), reservations and upload
    /// temp files untouched for `stale_ms`. Safe with several processes:
    /// each row is claimed by its conditional delete, so only one process
    /// removes a given file.
    pub(crate) async fn sweep_media(
        &self,
        now_ms: i64,
        grace_ms: i64,
        stale_ms: i64,
    ) -> Result<Swept, ServerError> {
        let mut swept = Swept::default();
        loop {
            let claimed = self
                .tx(move |tx, _| claim_unused(tx, now_ms - grace_ms))
                .await?;
            let n = claimed.len();
            for (path, size) in claimed {
                match tokio::fs::remove_file(self.media_dir().join(&path)).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        tracing::warn!(error = %e, %path, "an unused media file stays on disk")
                    }
                }
                swept.media += 1;
                swept.bytes += size;
            }
            if (n as i64) < SWEEP_BATCH {
                break;
            }
        }
        swept.reservations = self
            .tx(move |tx, _| drop_stale_reservations(tx, now_ms - stale_ms))
            .await?;
        let dir = self.media_dir().to_path_buf();
        swept.temp_files =
            tokio::task::spawn_blocking(move || remove_stale_temp_files(&dir, now_ms - stale_ms))
                .await??;
        Ok(swept)
    }
}
