//! One full sync: push the outbox, then pull until caught up.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use warmlead_core::lead::RadarPullResponse;
use warmlead_core::sync::{PullResponse, PushRequest, MAX_PULL_LIMIT, MAX_PUSH_BATCH};
use warmlead_store::{PullApplied, Store, StoreError};

use crate::{Client, SyncError};

/// What one sync did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Mutations the server applied.
    pub pushed: usize,
    /// Mutations the server rejected for good (now in the store's rejected list).
    pub rejected: usize,
    /// Changes pulled and applied.
    pub pulled: usize,
    /// Radar changes (leads, signals, visits, forward chains) pulled and applied.
    pub radar_pulled: usize,
    /// Time spent waiting for pulled pages (the server's half, and the
    /// transfer and parsing, as far as it did not overlap applying).
    pub waited_for_pages: std::time::Duration,
    /// Time spent applying pulled pages in the store.
    pub applying: std::time::Duration,
}

/// Batch sizes; the defaults suit the app, tests make them small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncOptions {
    pub push_batch: usize,
    pub pull_limit: u32,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            push_batch: MAX_PUSH_BATCH,
            // The most the server sends: a first download of a large rep
            // (1.1M changes) is then 1,100 round trips and commits, not 2,200.
            pull_limit: MAX_PULL_LIMIT,
        }
    }
}

/// The store behind a mutex so the async code can hold it across awaits
/// (a `Store` is `Send` but not `Sync`). Locks are short and never cross an await.
struct Local(Mutex<Store>);

impl Local {
    fn with<T>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, warmlead_store::StoreError>,
    ) -> Result<T, SyncError> {
        let store = self
            .0
            .lock()
            .map_err(|_| SyncError::Task("the store lock is poisoned".into()))?;
        Ok(f(&store)?)
    }
}

/// Syncs the store at `store_path` once with the default options.
pub async fn sync_once(store_path: &Path) -> Result<SyncReport, SyncError> {
    sync_once_with(store_path, SyncOptions::default()).await
}

/// Syncs once: pushes every pending mutation in batches, records outcomes,
/// then pulls pages until the server has no more, each page applied with its
/// cursor in one transaction. Records success or the error in the store.
pub async fn sync_once_with(store_path: &Path, opts: SyncOptions) -> Result<SyncReport, SyncError> {
    let local = open(store_path.to_path_buf()).await?;
    let result = run(&local, opts).await;
    let recorded = match &result {
        Ok(_) => local.with(|s| s.mark_synced(now_ms())),
        Err(e) => local.with(|s| s.record_sync_error(&e.to_string())),
    };
    if let Err(e) = recorded {
        tracing::warn!("could not record the sync result: {e}");
    }
    result
}

async fn open(path: PathBuf) -> Result<Local, SyncError> {
    let store = tokio::task::spawn_blocking(move || Store::open(path))
        .await
        .map_err(|e| SyncError::Task(e.to_string()))??;
    Ok(Local(Mutex::new(store)))
}

async fn run(local: &Local, opts: SyncOptions) -> Result<SyncReport, SyncError> {
    let creds = local
        .with(|s| s.credentials())?
        .ok_or(SyncError::NotActivated)?;
    let client = Client::new(&creds.server_url, &creds.device_token)?;
    let mut report = SyncReport::default();
    let device_id = creds.device_id;
    // Images first: an article pushed next may already show them.
    upload_images(local, &client, &mut report).await?;
    match push_all(local, &client, device_id, opts, &mut report).await {
        // The server lost seqs this device pushed (a restored backup).
        Err(SyncError::Gap(_)) => {
            rebase(local, &client, device_id).await?;
            push_all(local, &client, device_id, opts, &mut report).await?;
        }
        other => other?,
    }
    let (pulled, new_epoch) = pull_stream::<Changes>(local, &client, opts, &mut report).await?;
    report.pulled = pulled;
    if new_epoch {
        // A restored server may have lost changes this device had pushed
        // (with nothing pending after them, no gap showed): push them again.
        rebase(local, &client, device_id).await?;
        push_all(local, &client, device_id, opts, &mut report).await?;
        report.pulled += pull_stream::<Changes>(local, &client, opts, &mut report)
            .await?
            .0;
    }
    report.radar_pulled = pull_stream::<Radar>(local, &client, opts, &mut report)
        .await?
        .0;
    Ok(report)
}

/// Uploads the images of articles written here under their keys. One the
/// server refuses for good is recorded as rejected (shown, never retried) so
/// it holds up nothing; a temporary failure ends this sync to try again later.
async fn upload_images(
    local: &Local,
    client: &Client,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    loop {
        let batch = local.with(|s| s.pending_media(IMAGE_BATCH))?;
        if batch.is_empty() {
            return Ok(());
        }
        for image in batch {
            match client
                .put_media(&image.key, &image.content_type, image.bytes)
                .await
            {
                Ok(_) => {
                    local.with(|s| s.media_uploaded(&image.key))?;
                    report.pushed += 1;
                }
                Err(SyncError::Api(e)) if refused_for_good(&e) => {
                    tracing::warn!(key = %image.key, "image refused: {}", e.message);
                    local.with(|s| s.media_rejected(&image.key, &e))?;
                    report.rejected += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Images read from the cache at a time (each may be up to 16 MB).
const IMAGE_BATCH: usize = 4;

/// An answer that will be the same next time (bad bytes, too large, a key
/// clash), unlike a busy server or an account the company switched off
/// (which signs the app out rather than losing the image).
fn refused_for_good(e: &warmlead_core::error::ApiError) -> bool {
    use warmlead_core::ErrorCode;
    !e.code.is_temporary()
        && !matches!(
            e.code,
            ErrorCode::Unauthorized | ErrorCode::AccountDisabled | ErrorCode::DeviceRevoked
        )
}

/// Asks the server which seq it has from this device (an empty push) and
/// renumbers the outbox after it, reviving what the server lost.
async fn rebase(local: &Local, client: &Client, device_id: i64) -> Result<(), SyncError> {
    let req = PushRequest {
        client_id: device_id.to_string(),
        mutations: Vec::new(),
    };
    let last_seq = client.push(&req).await?.last_seq;
    let revived = local.with(|s| s.rebase_outbox(last_seq))?;
    tracing::info!(
        last_seq,
        revived,
        "outbox renumbered after the server's seq"
    );
    Ok(())
}

async fn push_all(
    local: &Local,
    client: &Client,
    device_id: i64,
    opts: SyncOptions,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let batch_size = opts.push_batch.clamp(1, MAX_PUSH_BATCH);
    loop {
        let mutations = local.with(|s| s.pending_mutations(batch_size))?;
        if mutations.is_empty() {
            return Ok(());
        }
        let sent = mutations.len();
        let req = PushRequest {
            client_id: device_id.to_string(),
            mutations,
        };
        let resp = client.push(&req).await?;
        let recorded = local.with(|s| s.record_outcomes(&resp))?;
        report.pushed += recorded.applied;
        report.rejected += recorded.rejected;
        if recorded.applied + recorded.rejected == 0 {
            // Pushing again would loop forever on the same rows.
            return Err(SyncError::Protocol(format!(
                "the server answered no outcome for {sent} mutations"
            )));
        }
        if sent < batch_size {
            return Ok(());
        }
    }
}

/// One of the two change streams a device pulls: each has its own cursor and
/// epoch in the store and its own endpoint, and the same paging rules.
trait ChangeStream {
    type Page: Send + 'static;
    const NAME: &'static str;
    fn cursor(s: &Store) -> Result<i64, StoreError>;
    /// Owns its client, so the next page can be fetched on another task
    /// while this one is applied.
    fn fetch(
        client: Client,
        after: i64,
        limit: u32,
    ) -> impl std::future::Future<Output = Result<Self::Page, SyncError>> + Send + 'static;
    fn apply(s: &Store, page: &Self::Page) -> Result<PullApplied, StoreError>;
    fn next(page: &Self::Page) -> (bool, i64);
}

/// The sync stream: library, users, shares, visits, tombstones.
struct Changes;

impl ChangeStream for Changes {
    type Page = PullResponse;
    const NAME: &'static str = "pull";
    fn cursor(s: &Store) -> Result<i64, StoreError> {
        Ok(s.cursor()?.1)
    }
    async fn fetch(client: Client, after: i64, limit: u32) -> Result<PullResponse, SyncError> {
        client.pull(after, limit).await
    }
    fn apply(s: &Store, page: &PullResponse) -> Result<PullApplied, StoreError> {
        s.apply_pull(page)
    }
    fn next(page: &PullResponse) -> (bool, i64) {
        (page.has_more, page.cursor)
    }
}

/// The radar stream: leads, signals, visit aggregates, forward chains.
struct Radar;

impl ChangeStream for Radar {
    type Page = RadarPullResponse;
    const NAME: &'static str = "radar pull";
    fn cursor(s: &Store) -> Result<i64, StoreError> {
        Ok(s.radar_cursor()?.1)
    }
    async fn fetch(client: Client, after: i64, limit: u32) -> Result<RadarPullResponse, SyncError> {
        client.pull_radar(after, limit).await
    }
    fn apply(s: &Store, page: &RadarPullResponse) -> Result<PullApplied, StoreError> {
        s.apply_radar_pull(page)
    }
    fn next(page: &RadarPullResponse) -> (bool, i64) {
        (page.has_more, page.cursor)
    }
}

/// The next page, already being fetched on its own task, and the cursor it
/// was asked after. Dropping it stops the fetch.
struct Prefetch<P> {
    after: i64,
    task: tokio::task::JoinHandle<Result<P, SyncError>>,
}

impl<P> Drop for Prefetch<P> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Pulls one stream until caught up; returns the changes applied and whether
/// the server's epoch changed on the way. Each page is applied with its
/// cursor in one store transaction. While a page is applied the next one is
/// already being fetched (its cursor is the page's), so the server's half of
/// a page and the store's half overlap; it is used only if the store's
/// cursor then is the one it was fetched after.
async fn pull_stream<S: ChangeStream>(
    local: &Local,
    client: &Client,
    opts: SyncOptions,
    times: &mut SyncReport,
) -> Result<(usize, bool), SyncError> {
    let limit = opts.pull_limit.clamp(1, MAX_PULL_LIMIT);
    let mut epoch_resets = 0;
    let mut pulled = 0;
    let mut prefetch: Option<Prefetch<S::Page>> = None;
    loop {
        let cursor = local.with(S::cursor)?;
        let waiting = std::time::Instant::now();
        let page = match prefetch.take() {
            Some(mut p) if p.after == cursor => (&mut p.task)
                .await
                .map_err(|e| SyncError::Task(e.to_string()))??,
            _ => S::fetch(client.clone(), cursor, limit).await?,
        };
        times.waited_for_pages += waiting.elapsed();
        let (has_more, next) = S::next(&page);
        if has_more && next > cursor {
            prefetch = Some(Prefetch {
                after: next,
                task: tokio::spawn(S::fetch(client.clone(), next, limit)),
            });
        }
        let applying = std::time::Instant::now();
        let applied = local.with(|s| S::apply(s, &page))?;
        times.applying += applying.elapsed();
        if applied.epoch_reset {
            // New server epoch: local server data is gone, start again from 0.
            epoch_resets += 1;
            if epoch_resets > 1 {
                return Err(SyncError::Protocol(
                    "the server epoch keeps changing".into(),
                ));
            }
            continue;
        }
        pulled += applied.changes;
        if !has_more {
            return Ok((pulled, epoch_resets > 0));
        }
        if next <= cursor {
            return Err(SyncError::Protocol(format!(
                "{} after {cursor} did not advance (cursor {next})",
                S::NAME
            )));
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::refused_for_good;
    use warmlead_core::error::ApiError;
    use warmlead_core::ErrorCode;

    /// What makes an image rejected for good (kept, shown, not retried) and
    /// what leaves it waiting: busy servers and switched-off accounts do not
    /// throw an image away.
    #[test]
    fn which_answers_reject_an_image_for_good() {
        let table = [
            (ErrorCode::InvalidInput, true),
            (ErrorCode::PayloadTooLarge, true),
            (ErrorCode::Conflict, true),
            (ErrorCode::Forbidden, true),
            (ErrorCode::Offline, false),
            (ErrorCode::Internal, false),
            (ErrorCode::RateLimited, false),
            (ErrorCode::Unauthorized, false),
            (ErrorCode::AccountDisabled, false),
            (ErrorCode::DeviceRevoked, false),
        ];
        for (code, for_good) in table {
            assert_eq!(
                refused_for_good(&ApiError::new(code, "x")),
                for_good,
                "{code:?}"
            );
        }
    }
}
