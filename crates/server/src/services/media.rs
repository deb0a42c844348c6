//! Media room: what an upload may take of its company's quota, and the
//! sweep that removes what nothing uses (rows, their files, crashed
//! uploads' reservations and temporary files). Storage: `MediaStore`.

use std::path::Path;

use crate::error::ServerError;
use crate::storage::media_store::{Swept, SWEEP_BATCH};
use crate::storage::{now_ms, Database};

/// The company's usage (media and reserved room), in bytes.
pub(crate) async fn usage(db: &Database, company_id: i64) -> Result<i64, ServerError> {
    db.snapshot(move |s| s.media().usage(company_id)).await
}

/// Takes `add` more bytes for an upload, within `quota` (see `MediaStore::reserve`).
pub(crate) async fn reserve(
    db: &Database,
    company_id: i64,
    reservation: Option<i64>,
    add: i64,
    quota: i64,
) -> Result<Option<i64>, ServerError> {
    db.transaction(move |s| {
        s.media()
            .reserve(company_id, reservation, add, quota, now_ms())
    })
    .await
}

/// Renews an upload's reservation.
pub(crate) async fn touch(
    db: &Database,
    company_id: i64,
    reservation: i64,
) -> Result<(), ServerError> {
    db.transaction(move |s| s.media().touch(company_id, reservation, now_ms()))
        .await
}

/// Gives an unfinished upload's room back.
pub(crate) async fn release(
    db: &Database,
    company_id: i64,
    reservation: i64,
) -> Result<(), ServerError> {
    db.transaction(move |s| s.media().settle(company_id, Some(reservation), 0))
        .await
}

/// Removes media nothing uses that were made more than `grace_ms` before
/// `now_ms` (the row, then its file), reservations and upload temp files
/// untouched for `stale_ms`. Safe with several processes: each row is
/// claimed by its conditional delete, so only one process removes a given
/// file.
pub(crate) async fn sweep(
    db: &Database,
    now_ms: i64,
    grace_ms: i64,
    stale_ms: i64,
) -> Result<Swept, ServerError> {
    let mut swept = Swept::default();
    loop {
        let claimed = db
            .transaction(move |s| s.media().claim_unused(now_ms - grace_ms))
            .await?;
        let n = claimed.len();
        for (path, size) in claimed {
            match tokio::fs::remove_file(db.media_dir().join(&path)).await {
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
    swept.reservations = db
        .transaction(move |s| s.media().drop_stale_reservations(now_ms - stale_ms))
        .await?;
    let dir = db.media_dir().to_path_buf();
    swept.temp_files =
        tokio::task::spawn_blocking(move || remove_stale_temp_files(&dir, now_ms - stale_ms))
            .await??;
    Ok(swept)
}

/// Whether a file in the media folder is an upload's temporary file.
fn is_temp_name(name: &str) -> bool {
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
