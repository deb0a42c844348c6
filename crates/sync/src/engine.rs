//! The background sync task: runs on an interval and on demand, backs off
//! with jitter while the server is unreachable, and publishes the badge.

use std::path::PathBuf;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use warmlead_core::app::{SyncState, SyncStatus};
use warmlead_core::error::ApiError;
use warmlead_core::lead::LiveEvent;
use warmlead_store::Store;

use crate::{sync_once_with, SyncError, SyncOptions, SyncReport};

/// Longest wait between attempts while failing.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

enum Command {
    Trigger,
    SyncNow(oneshot::Sender<Result<SyncReport, SyncError>>),
}

/// Starts the background sync of one store.
pub struct SyncEngine;

/// Talks to a running engine; the task stops when every handle is dropped.
#[derive(Clone)]
pub struct SyncHandle {
    commands: mpsc::Sender<Command>,
    status: watch::Receiver<SyncStatus>,
    hot: broadcast::Sender<i64>,
    radar: watch::Receiver<u64>,
    changes: watch::Receiver<u64>,
    switched_off: watch::Receiver<Option<ApiError>>,
}

/// What the engine tells listeners beyond the badge.
struct Outputs {
    status: watch::Sender<SyncStatus>,
    /// Lead ids the server announced as new A/A+, sent after the sync that pulled them.
    hot: broadcast::Sender<i64>,
    /// Bumped after every sync that pulled radar changes.
    radar: watch::Sender<u64>,
    /// Bumped after every sync that pulled changes of the main stream
    /// (partners, invitations, SMS records, content, shares, visits).
    changes: watch::Sender<u64>,
    /// Set (once) when the server answered `account_disabled` or
    /// `device_revoked`: the engine has stopped, the app must sign out.
    switched_off: watch::Sender<Option<ApiError>>,
}

impl SyncEngine {
    /// Spawns the task on the current tokio runtime. It syncs at once, then
    /// every `interval` (sooner on `trigger`, later while backing off).
    pub fn spawn(store_path: PathBuf, interval: Duration) -> SyncHandle {
        Self::spawn_with(store_path, interval, SyncOptions::default())
    }

    /// Also listens to the server's event stream and syncs when it says so.
    pub fn spawn_with(store_path: PathBuf, interval: Duration, opts: SyncOptions) -> SyncHandle {
        let (commands, rx) = mpsc::channel(16);
        let (status_tx, status) = watch::channel(initial_status(&store_path));
        let (hot, _) = broadcast::channel(64);
        let (radar_tx, radar) = watch::channel(0);
        let (changes_tx, changes) = watch::channel(0);
        let (switched_off_tx, switched_off) = watch::channel(None);
        let (live_tx, live_rx) = mpsc::unbounded_channel();
        tokio::spawn(crate::live::listen(store_path.clone(), live_tx));
        let out = Outputs {
            status: status_tx,
            hot: hot.clone(),
            radar: radar_tx,
            changes: changes_tx,
            switched_off: switched_off_tx,
        };
        tokio::spawn(run(store_path, interval, opts, rx, live_rx, out));
        SyncHandle {
            commands,
            status,
            hot,
            radar,
            changes,
            switched_off,
        }
    }
}

impl SyncHandle {
    /// Asks for a sync soon (e.g. after a local change); never waits.
    pub fn trigger(&self) {
        // A full queue already holds a request that will do the same work.
        let _ = self.commands.try_send(Command::Trigger);
    }

    /// Syncs now and returns what happened.
    pub async fn sync_now(&self) -> Result<SyncReport, SyncError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::SyncNow(tx))
            .await
            .map_err(|_| SyncError::Task("the sync engine has stopped".into()))?;
        rx.await
            .map_err(|_| SyncError::Task("the sync engine dropped the request".into()))?
    }

    /// The badge, updated after every attempt.
    pub fn subscribe(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }

    /// Ids of leads that just became A or A+ (announced by the server, and
    /// already pulled into the store when they arrive here).
    pub fn subscribe_hot_leads(&self) -> broadcast::Receiver<i64> {
        self.hot.subscribe()
    }

    /// Changes after every sync that brought radar changes (leads, signals...).
    pub fn subscribe_radar(&self) -> watch::Receiver<u64> {
        self.radar.clone()
    }

    /// Changes after every sync that pulled main-stream changes (new
    /// partners, invitations, SMS records...).
    pub fn subscribe_changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    /// Becomes `Some` when the company switched this account or this device
    /// off (the server's error); the engine has stopped by then.
    pub fn subscribe_switched_off(&self) -> watch::Receiver<Option<ApiError>> {
        self.switched_off.clone()
    }

    /// The badge as it is now.
    pub fn status(&self) -> SyncStatus {
        self.status.borrow().clone()
    }
}

async fn run(
    path: PathBuf,
    interval: Duration,
    opts: SyncOptions,
    mut commands: mpsc::Receiver<Command>,
    mut live: mpsc::UnboundedReceiver<LiveEvent>,
    out: Outputs,
) {
    let status = &out.status;
    let mut wait = Duration::ZERO;
    let mut failures: u32 = 0;
    let mut hot: Vec<i64> = Vec::new();
    loop {
        let reply = tokio::select! {
            cmd = commands.recv() => match cmd {
                None => return,
                Some(Command::Trigger) => None,
                Some(Command::SyncNow(tx)) => Some(tx),
            },
            Some(ev) = live.recv() => {
                // One sync answers every event that is already waiting.
                hot.extend(ev.hot_lead_id);
                while let Ok(ev) = live.try_recv() {
                    hot.extend(ev.hot_lead_id);
                }
                None
            }
            _ = tokio::time::sleep(wait) => None,
        };
        status.send_modify(|s| s.state = SyncState::Syncing);
        let result = sync_once_with(&path, opts).await;
        if let Ok(report) = &result {
            if report.radar_pulled > 0 {
                out.radar.send_modify(|n| *n += 1);
            }
            if report.pulled > 0 {
                out.changes.send_modify(|n| *n += 1);
            }
            hot.sort_unstable();
            hot.dedup();
            for id in hot.drain(..) {
                // Nobody listening is fine: the lead is in the list anyway.
                let _ = out.hot.send(id);
            }
        }
        wait = match &result {
            Ok(_) => {
                failures = 0;
                interval
            }
            Err(e) if e.is_temporary() => {
                failures = failures.saturating_add(1);
                backoff_delay(failures)
            }
            Err(_) => interval,
        };
        if let Err(e) = &result {
            tracing::info!("sync failed ({:?}); next try in {wait:?}: {e}", e.code());
        }
        status.send_replace(status_after(&path, &result));
        let off = switched_off(&result);
        if let Some(tx) = reply {
            let _ = tx.send(result);
        }
        if let Some(e) = off {
            // Nothing more to sync for this account on this device: stop, and
            // let the app sign out and wipe the cache.
            tracing::warn!("the server switched this device off: {e}");
            out.switched_off.send_replace(Some(e));
            return;
        }
    }
}

/// The server's refusal when the company switched this account or device off.
fn switched_off(result: &Result<SyncReport, SyncError>) -> Option<ApiError> {
    match result {
        Err(SyncError::Api(e)) if e.code.is_switched_off() => Some(e.clone()),
        _ => None,
    }
}

/// The wait after `failures` failures in a row: doubling from 1 s up to
/// [`MAX_BACKOFF`], with "equal jitter" (half fixed, half random) so many
/// devices coming back online do not hit the server in lockstep.
pub fn backoff_delay(failures: u32) -> Duration {
    let exp = FIRST_BACKOFF.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    let capped = exp.min(MAX_BACKOFF).as_millis() as u64;
    let half = capped / 2;
    Duration::from_millis(half + rand::thread_rng().gen_range(0..=capped - half))
}

fn initial_status(path: &std::path::Path) -> SyncStatus {
    Store::open(path)
        .and_then(|s| s.sync_status(false))
        .map(|mut s| {
            s.state = SyncState::Syncing;
            s
        })
        .unwrap_or_else(|e| SyncStatus {
            state: SyncState::Syncing,
            last_synced_at_ms: None,
            pending: 0,
            rejected: Vec::new(),
            last_error: Some(e.to_string()),
        })
}

/// The badge after an attempt: the store's counts plus what the attempt said.
fn status_after(path: &std::path::Path, result: &Result<SyncReport, SyncError>) -> SyncStatus {
    let online = !matches!(result, Err(SyncError::Offline(_)));
    let mut s = match Store::open(path).and_then(|s| s.sync_status(online)) {
        Ok(s) => s,
        Err(e) => SyncStatus {
            state: SyncState::Attention,
            last_synced_at_ms: None,
            pending: 0,
            rejected: Vec::new(),
            last_error: Some(e.to_string()),
        },
    };
    match result {
        Ok(_) => {}
        Err(SyncError::Offline(_)) => s.state = SyncState::Offline,
        Err(e) => {
            // Temporary trouble (a 500) is shown like being offline; the rest needs the user.
            s.state = if e.is_temporary() {
                SyncState::Offline
            } else {
                SyncState::Attention
            };
            s.last_error = Some(e.to_string());
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        for failures in 1..40 {
            let d = backoff_delay(failures);
            let exp = Duration::from_secs(1u64 << (failures - 1).min(16)).min(MAX_BACKOFF);
            assert!(d >= exp / 2 && d <= exp, "{failures}: {d:?} vs {exp:?}");
        }
        assert!(backoff_delay(30) <= MAX_BACKOFF);
        assert!(backoff_delay(30) >= MAX_BACKOFF / 2);
    }

    /// An engine on a signed-in store whose server is gone reports Offline,
    /// keeps the change, and answers sync_now with an Offline error.
    #[tokio::test]
    async fn an_unreachable_server_shows_offline_and_keeps_changes() {
        use warmlead_core::api::ActivateResponse;
        use warmlead_core::domain::{Company, Role, User};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let store = Store::open(&path).unwrap();
        let user = User {
            id: 1,
            company_id: 1,
            role: Role::Rep,
            name: "李明".into(),
            phone: None,
            rep_id: None,
            joined_at_ms: 0,
            source: None,
            invited_by: None,
            invitation_id: None,
        };
        store
            .save_activation(
                &format!("http://127.0.0.1:{port}"),
                &ActivateResponse {
                    device_id: 3,
                    device_token: "t".into(),
                    share_key: "AAAA".into(),
                    public_base_url: "http://x".into(),
                    user,
                    company: Company {
                        id: 1,
                        name: "c".into(),
                        poster_artwork: None,
                        poster_slogan: None,
                        logo: None,
                        commission_promise: None,
                    },
                    epoch: "e".into(),
                },
                &warmlead_store::TokenRef::fresh(warmlead_store::Place::File),
            )
            .unwrap();
        store.rename_self("李明明").unwrap();
        let handle = SyncEngine::spawn(path.clone(), Duration::from_secs(3600));
        let err = handle.sync_now().await.unwrap_err();
        assert!(matches!(err, SyncError::Offline(_)), "{err:?}");
        let mut rx = handle.subscribe();
        let status = rx
            .wait_for(|s| s.state == SyncState::Offline)
            .await
            .unwrap()
            .clone();
        assert_eq!(status.pending, 1);
        assert!(status.last_error.is_some());
        assert_eq!(store.pending_count().unwrap(), 1);
    }
}
