//! The tracking queue: beacons and page-open records wait in memory and are
//! written in one transaction per batch, at most [`FLUSH_EVERY`] after they
//! arrive (and on shutdown), so a burst of beacons costs one fsync, not one
//! each. The contact form does NOT go through here: it commits before the
//! page says thanks.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use warmlead_core::botfilter::FilterReason;

use super::shares::{record_share, BeaconInput, ResolvedShare};
use super::signals::{self, Touched};
use super::{now_ms, Database};
use crate::error::ServerError;

pub(crate) const FLUSH_EVERY: Duration = Duration::from_millis(100);
const MAX_BATCH: usize = 20_000;
/// Beyond this many waiting events the server answers 503 (the page's
/// script sends again at its next tick) instead of growing without bound:
/// about one second of writing, so what was accepted is durable within ~1 s.
pub(crate) const QUEUE_CAPACITY: usize = 20_000;

pub(crate) enum Event {
    /// A page was served: record the share if the server has not yet.
    Opened(Arc<ResolvedShare>),
    Beacon(Arc<ResolvedShare>, BeaconInput),
    Filtered {
        company_id: i64,
        reason: FilterReason,
    },
    /// The sharer's own browser: never count this visitor for this partner.
    OwnVisitor {
        visitor_id: String,
        partner_id: i64,
    },
    Flush(oneshot::Sender<()>),
    Stop,
}

/// Counters for the benchmark and `/api/v1/stats`.
#[derive(Default)]
pub(crate) struct TrackStats {
    pub queued_beacons: AtomicU64,
    pub stored_beacons: AtomicU64,
}

pub(crate) struct Queue {
    pub tx: mpsc::Sender<Event>,
    pub stats: Arc<TrackStats>,
    pub task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Queue {
    pub fn start(
        db: Database,
        rx: mpsc::Receiver<Event>,
        stats: Arc<TrackStats>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(run(db, rx, stats))
    }
}

async fn run(db: Database, mut rx: mpsc::Receiver<Event>, stats: Arc<TrackStats>) {
    loop {
        let Some(first) = rx.recv().await else { return };
        let mut batch = vec![first];
        let deadline = Instant::now() + FLUSH_EVERY;
        while batch.len() < MAX_BATCH
            && !matches!(batch.last(), Some(Event::Flush(_) | Event::Stop))
        {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(e)) => batch.push(e),
                Ok(None) | Err(_) => break,
            }
        }
        let mut waiters = Vec::new();
        let mut stop = false;
        let events: Vec<Event> = batch
            .into_iter()
            .filter_map(|e| match e {
                Event::Flush(w) => {
                    waiters.push(w);
                    None
                }
                Event::Stop => {
                    stop = true;
                    None
                }
                e => Some(e),
            })
            .collect();
        if stop {
            // Drain what is still queued, then write it all.
            let mut events = events;
            while let Ok(e) = rx.try_recv() {
                match e {
                    Event::Flush(w) => waiters.push(w),
                    Event::Stop => {}
                    e => events.push(e),
                }
            }
            write(&db, events, &stats).await;
            for w in waiters {
                let _ = w.send(());
            }
            return;
        }
        if !events.is_empty() {
            write(&db, events, &stats).await;
        }
        for w in waiters {
            let _ = w.send(());
        }
    }
}

/// One transaction for the batch; if it fails, each event on its own so one
/// bad event cannot lose the others.
async fn write(db: &Database, events: Vec<Event>, stats: &TrackStats) {
    let events = Arc::new(events);
    let all = events.clone();
    let started = std::time::Instant::now();
    match db.tx(move |tx, _| apply(tx, &all)).await {
        Ok(n) => {
            tracing::debug!(
                events = events.len(),
                ms = started.elapsed().as_millis() as u64,
                "tracking batch written"
            );
            stats.stored_beacons.fetch_add(n, Ordering::Relaxed);
            db.mark_recorded(events.iter().filter_map(|e| match e {
                Event::Opened(s) | Event::Beacon(s, _) => Some(s.token.as_str()),
                _ => None,
            }));
        }
        Err(e) => {
            tracing::error!(error = %e, n = events.len(), "tracking batch failed; retrying one by one");
            for i in 0..events.len() {
                let evs = events.clone();
                let one = db.tx(move |tx, _| apply(tx, &evs[i..=i])).await;
                match one {
                    Ok(n) => {
                        stats.stored_beacons.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(e) => tracing::error!(error = %e, "tracking event dropped"),
                }
            }
        }
    }
}

/// Applies events in order; returns how many beacons were stored.
fn apply(tx: &Connection, events: &[Event]) -> Result<u64, ServerError> {
    let now = now_ms();
    let mut recorded: HashSet<&str> = HashSet::new();
    let mut touched = Touched::default();
    let mut filtered: BTreeMap<(i64, &'static str), i64> = BTreeMap::new();
    let mut stored = 0;
    for e in events {
        match e {
            Event::Opened(share) | Event::Beacon(share, _)
                if !recorded.contains(share.token.as_str()) =>
            {
                record_share(tx, share, now)?;
                recorded.insert(share.token.as_str());
            }
            _ => {}
        }
        match e {
            Event::Beacon(share, input) => {
                signals::apply_beacon(tx, share, input, &mut touched)?;
                stored += 1;
            }
            Event::Filtered { company_id, reason } => {
                *filtered.entry((*company_id, reason.as_str())).or_default() += 1;
            }
            Event::OwnVisitor {
                visitor_id,
                partner_id,
            } => {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO own_visitors (visitor_id, partner_id, created_at)
                     VALUES (?1, ?2, ?3)",
                )?
                .execute(rusqlite::params![visitor_id, partner_id, now])?;
            }
            _ => {}
        }
    }
    for (company, n) in &touched.reloads {
        *filtered
            .entry((*company, FilterReason::Reload.as_str()))
            .or_default() += n;
    }
    for (company, n) in &touched.own {
        *filtered
            .entry((*company, FilterReason::OwnLink.as_str()))
            .or_default() += n;
    }
    for ((company, reason), n) in filtered {
        signals::add_filtered(tx, company, reason, n)?;
    }
    touched.emit(tx, now)?;
    super::leads::after_signals(tx, &touched, now)?;
    Ok(stored)
}
