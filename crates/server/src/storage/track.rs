//! The tracking queue: beacons and page-open records wait in memory and are
//! written in one transaction per batch (everything that arrived while the
//! previous batch was written; and on shutdown), so a burst of beacons costs
//! one fsync, not one each (group commit). An event sent with an [`Ack`] is
//! answered only after its batch committed, so what the server acknowledges
//! is stored. The contact form does NOT go through here: it commits before
//! the page says thanks.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crate::storage::sql::Connection;
use tokio::sync::{mpsc, oneshot};
use warmlead_core::botfilter::FilterReason;

use super::shares::{record_share, BeaconInput, ResolvedShare};
use super::signals;
use super::{now_ms, Database, Durable};
use crate::error::ServerError;

const MAX_BATCH: usize = 20_000;
/// At most this many events wait for the writer (a few seconds of writing
/// on a small machine): memory stays bounded under any load.
pub(crate) const QUEUE_CAPACITY: usize = 20_000;
/// A burst above what the machine writes waits this long for room in the
/// queue before it is refused with 503 (which the page's script retries).
pub(crate) const ENQUEUE_WAIT: Duration = Duration::from_secs(5);

/// One client (address) may have at most this many events waiting for the
/// writer, so no single client can fill the queue and make every company's
/// tracking answer 503; beyond it that client alone gets 429.
pub(crate) const MAX_QUEUED_PER_CLIENT: usize = QUEUE_CAPACITY / 20;

/// Events waiting per client key (see `http::public::client_key`).
#[derive(Default)]
pub(crate) struct InFlight {
    counts: std::sync::Mutex<std::collections::HashMap<String, usize>>,
}

/// One waiting event of a client; dropping it frees the slot.
pub(crate) struct Slot {
    owner: Arc<InFlight>,
    key: String,
}

impl InFlight {
    /// A slot for `key`, or `None` when it already has `max` waiting.
    pub fn acquire(self: &Arc<Self>, key: &str, max: usize) -> Option<Slot> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(key.to_string()).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot {
            owner: self.clone(),
            key: key.to_string(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.owner.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// Told whether the event's batch committed (`true`) or the event was
/// dropped (`false`).
pub(crate) type Ack = oneshot::Sender<bool>;

/// An event and, when someone waits on it, who to tell once it is stored.
pub(crate) struct Queued {
    pub event: Event,
    pub ack: Option<Ack>,
}

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

/// Beacons answered 204 and beacons written, per company, since start:
/// for the benchmark and `/api/v1/stats/tracking`.
#[derive(Default)]
pub(crate) struct TrackStats {
    counts: std::sync::Mutex<BTreeMap<i64, (u64, u64)>>,
}

impl TrackStats {
    fn add(&self, company_id: i64, accepted: u64, stored: u64) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let c = counts.entry(company_id).or_default();
        c.0 += accepted;
        c.1 += stored;
    }

    pub fn accepted(&self, company_id: i64) {
        self.add(company_id, 1, 0);
    }

    /// `(accepted, stored)` beacons of the company.
    pub fn of_company(&self, company_id: i64) -> (u64, u64) {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.get(&company_id).copied().unwrap_or_default()
    }
}

pub(crate) struct Queue {
    pub tx: mpsc::Sender<Queued>,
    pub in_flight: Arc<InFlight>,
    pub stats: Arc<TrackStats>,
    pub task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Queue {
    pub fn start(
        db: Database,
        rx: mpsc::Receiver<Queued>,
        stats: Arc<TrackStats>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(run(db, rx, stats))
    }
}

/// Group commit: each round takes everything waiting (what arrived while the
/// previous batch was being written), writes it in one transaction, then
/// acknowledges it once it is on disk. An idle server writes a lone beacon
/// at once; a busy one writes bigger batches. The writer does not wait for
/// the disk: while a batch's WAL is synced, the next batch is written, and
/// the batch's answers go out from a task of their own (see
/// `Database::tx_then_sync`).
async fn run(db: Database, mut rx: mpsc::Receiver<Queued>, stats: Arc<TrackStats>) {
    loop {
        let Some(first) = rx.recv().await else { return };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(q) => batch.push(q),
                Err(_) => break,
            }
        }
        let stop = batch.iter().any(|q| matches!(q.event, Event::Stop));
        if stop {
            // Shutting down: write everything still queued too.
            while let Ok(q) = rx.try_recv() {
                batch.push(q);
            }
        }
        let mut waiters = Vec::new();
        let mut events = Vec::new();
        let mut acks = Vec::new();
        for q in batch {
            match q.event {
                Event::Flush(w) => waiters.push(w),
                Event::Stop => {}
                e => {
                    events.push(e);
                    acks.push(q.ack);
                }
            }
        }
        let (stored, mut durable) = write(&db, events, &stats).await;
        if durable.is_none() && !waiters.is_empty() {
            // Only flushes: they wait for the batches before them.
            durable = db.sync_barrier();
        }
        let answer = async move {
            let on_disk = match durable {
                Some(d) => d.wait().await,
                None => true,
            };
            for (ack, ok) in acks.into_iter().zip(stored) {
                if let Some(ack) = ack {
                    let _ = ack.send(ok && on_disk);
                }
            }
            // A flush returns once what came before it is on disk (and so
            // visible to pulls).
            for w in waiters {
                let _ = w.send(());
            }
        };
        if stop {
            answer.await;
            return;
        }
        tokio::spawn(answer);
    }
}

/// One transaction for the batch; if it fails, each event on its own so one
/// bad event cannot lose the others. Returns, per event, whether it is
/// stored, and (when the batch committed whole) when it is on disk.
async fn write(
    db: &Database,
    events: Vec<Event>,
    stats: &TrackStats,
) -> (Vec<bool>, Option<Durable>) {
    if events.is_empty() {
        return (Vec::new(), None);
    }
    let events = Arc::new(events);
    let all = events.clone();
    let started = std::time::Instant::now();
    let window = db.burst_window();
    let batch_window = window.clone();
    match db
        .tx_then_sync(move |tx, _| apply_batch(tx, &all, batch_window))
        .await
    {
        Ok((Written { stored, opens }, durable)) => {
            db.remember_opens(opens);
            tracing::debug!(
                events = events.len(),
                ms = started.elapsed().as_millis() as u64,
                "tracking batch written"
            );
            for (company, n) in stored {
                stats.add(company, 0, n);
            }
            db.mark_recorded(events.iter().filter_map(|e| match e {
                Event::Opened(s) | Event::Beacon(s, _) => Some(s.token.as_str()),
                _ => None,
            }));
            (vec![true; events.len()], Some(durable))
        }
        Err(e) => {
            tracing::error!(error = %e, n = events.len(), "tracking batch failed; retrying one by one");
            let mut ok = Vec::with_capacity(events.len());
            for i in 0..events.len() {
                let evs = events.clone();
                let window = window.clone();
                // `tx` commits with `synchronous=FULL`: on disk when it returns.
                match db
                    .tx(move |tx, _| apply_batch(tx, &evs[i..=i], window))
                    .await
                {
                    Ok(Written { stored, opens }) => {
                        db.remember_opens(opens);
                        for (company, n) in stored {
                            stats.add(company, 0, n);
                        }
                        ok.push(true);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "tracking event dropped");
                        ok.push(false);
                    }
                }
            }
            (ok, None)
        }
    }
}

/// The tracking batch as one storage operation: events are decided in
/// order, but the page views they name are looked up once, each visit's
/// aggregates and change-log rows are written once, and signals go in
/// multi-row INSERTs (see `signals::Batch`). Returns how many beacons were
/// stored, per company, and the new visits for the SQLite writer's burst
/// window (`window`; added by the caller once the batch committed).
fn apply_batch(
    tx: &Connection,
    events: &[Event],
    window: Option<signals::BurstWindow>,
) -> Result<Written, ServerError> {
    let now = now_ms();
    let mut recorded: HashSet<&str> = HashSet::new();
    let mut batch = signals::Batch::new(window);
    batch.prefetch(
        tx,
        events.iter().filter_map(|e| match e {
            Event::Beacon(_, input) => Some(input.page_view.as_str()),
            _ => None,
        }),
    )?;
    let mut filtered: BTreeMap<(i64, &'static str), i64> = BTreeMap::new();
    let mut stored: BTreeMap<i64, u64> = BTreeMap::new();
    for e in events {
        match e {
            Event::Opened(share) | Event::Beacon(share, _)
                if !recorded.contains(share.token.as_str()) =>
            {
                if let Some(change) = record_share(tx, share, now)? {
                    batch.log(change);
                }
                recorded.insert(share.token.as_str());
            }
            _ => {}
        }
        match e {
            Event::Beacon(share, input) => {
                batch.beacon(tx, share, input)?;
                *stored.entry(share.company.id).or_default() += 1;
            }
            Event::Filtered { company_id, reason } => {
                *filtered.entry((*company_id, reason.as_str())).or_default() += 1;
            }
            Event::OwnVisitor {
                visitor_id,
                partner_id,
            } => {
                tx.prepare_cached(
                    "INSERT INTO own_visitors (visitor_id, partner_id, created_at)
                     VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                )?
                .execute(crate::storage::sql::params![visitor_id, partner_id, now])?;
            }
            _ => {}
        }
    }
    let mut touched = batch.finish(tx, now)?;
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
    for (company, n) in &touched.bursts {
        *filtered
            .entry((*company, FilterReason::Burst.as_str()))
            .or_default() += n;
    }
    for ((company, reason), n) in filtered {
        signals::add_filtered(tx, company, reason, n)?;
    }
    super::leads::after_signals(tx, &touched, now)?;
    Ok(Written {
        stored,
        opens: std::mem::take(&mut touched.opens),
    })
}

/// What [`apply_batch`] wrote: beacons stored per company, and the new
/// visits `(network_key, opened_at)` for the SQLite writer's burst window.
struct Written {
    stored: BTreeMap<i64, u64>,
    opens: Vec<(i64, i64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_client_cannot_take_more_than_its_slots() {
        let f = Arc::new(InFlight::default());
        let a: Vec<Slot> = (0..3).filter_map(|_| f.acquire("a", 3)).collect();
        assert_eq!(a.len(), 3);
        assert!(f.acquire("a", 3).is_none(), "a is at its cap");
        let b = f.acquire("b", 3);
        assert!(b.is_some(), "another client is not affected");
        drop(a);
        assert!(f.acquire("a", 3).is_some(), "slots come back when answered");
        drop(b);
        assert!(
            f.counts.lock().unwrap().len() <= 1,
            "idle keys are forgotten"
        );
    }
}
