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

use tokio::sync::{mpsc, oneshot};
use warmlead_core::botfilter::FilterReason;

use super::shares::{BeaconInput, ResolvedShare};
use super::signals;
use super::track_store::{is_raced, raced, TrackStore};
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
/// the disk: on SQLite, while a batch's WAL is synced, the next batch is
/// written, and the batch's answers go out from a task of their own (see
/// `Database::tx_then_sync`); on PostgreSQL, whose commit returns once it is
/// durable, up to `Database::track_batches_in_flight` batches are written at
/// once on their own connections (their rows are locked as they are read,
/// so they wait for each other only where they touch the same visits or
/// networks). A flush, and the shutdown, wait for every batch before them.
async fn run(db: Database, mut rx: mpsc::Receiver<Queued>, stats: Arc<TrackStats>) {
    let stats_all = stats;
    let mut in_flight: std::collections::VecDeque<tokio::task::JoinHandle<()>> = Default::default();
    let most = db.track_batches_in_flight();
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
        if stop || !waiters.is_empty() {
            // What came before is written first.
            while let Some(task) = in_flight.pop_front() {
                let _ = task.await;
            }
        }
        let written = write_round(db.clone(), events, acks, waiters, stats_all.clone());
        if stop {
            written.await.send().await;
            return;
        }
        if most <= 1 {
            tokio::spawn(written.await.send());
            continue;
        }
        while in_flight.len() >= most {
            if let Some(task) = in_flight.pop_front() {
                let _ = task.await;
            }
        }
        in_flight.push_back(tokio::spawn(async move { written.await.send().await }));
    }
}

/// Writes one round's events; its answers, to send once it is on disk.
async fn write_round(
    db: Database,
    events: Vec<Event>,
    acks: Vec<Option<Ack>>,
    waiters: Vec<oneshot::Sender<()>>,
    stats: Arc<TrackStats>,
) -> Answers {
    let (stored, mut durable) = write(&db, events, &stats).await;
    if durable.is_none() && !waiters.is_empty() {
        // Only flushes: they wait for the batches before them.
        durable = db.sync_barrier();
    }
    Answers {
        durable,
        acks,
        stored,
        waiters,
    }
}

/// A written round's answers.
struct Answers {
    durable: Option<Durable>,
    acks: Vec<Option<Ack>>,
    stored: Vec<bool>,
    waiters: Vec<oneshot::Sender<()>>,
}

impl Answers {
    /// Answers each event once its batch is on disk.
    async fn send(self) {
        let on_disk = match self.durable {
            Some(d) => d.wait().await,
            None => true,
        };
        for (ack, ok) in self.acks.into_iter().zip(self.stored) {
            if let Some(ack) = ack {
                let _ = ack.send(ok && on_disk);
            }
        }
        // A flush returns once what came before it is on disk (and so
        // visible to pulls).
        for w in self.waiters {
            let _ = w.send(());
        }
    }
}

/// How many times a batch is run again after another process opened one
/// of its visits meanwhile (`track_store::raced`): the next run sees it.
const RACED_RETRIES: usize = 3;

/// One transaction for the batch (run again if another process opened one
/// of its visits meanwhile); if it fails otherwise, each event on its own
/// so one bad event cannot lose the others. Returns, per event, whether it
/// is stored, and (when the batch committed whole) when it is on disk.
async fn write(
    db: &Database,
    events: Vec<Event>,
    stats: &TrackStats,
) -> (Vec<bool>, Option<Durable>) {
    if events.is_empty() {
        return (Vec::new(), None);
    }
    let events = Arc::new(events);
    let started = std::time::Instant::now();
    let mut result = Err(raced());
    for _ in 0..RACED_RETRIES {
        let all = events.clone();
        result = db
            .track_tx_then_sync(move |store| apply_batch(store, &all))
            .await;
        if !matches!(&result, Err(e) if is_raced(e)) {
            break;
        }
    }
    match result {
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
                let mut result = Err(raced());
                for _ in 0..RACED_RETRIES {
                    let evs = events.clone();
                    // `track_tx` commits with `synchronous=FULL`: on disk when it returns.
                    result = db
                        .track_tx(move |store| apply_batch(store, &evs[i..=i]))
                        .await;
                    if !matches!(&result, Err(e) if is_raced(e)) {
                        break;
                    }
                }
                match result {
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

/// The tracking batch as one storage operation (`signals::Batch`): the
/// partners' new shares recorded, what the beacons name looked up at once,
/// events decided in order in memory, everything written at the end.
/// Returns how many beacons were stored, per company, and the new visits
/// for the SQLite writer's burst window (added by the caller once the batch
/// committed).
pub(crate) fn apply_batch(
    store: &mut dyn TrackStore,
    events: &[Event],
) -> Result<Written, ServerError> {
    let now = now_ms();
    let mut recorded: HashSet<&str> = HashSet::new();
    let mut shares = Vec::new();
    for e in events {
        if let Event::Opened(share) | Event::Beacon(share, _) = e {
            if recorded.insert(share.token.as_str()) {
                shares.push(&**share);
            }
        }
    }
    let logged = store.record_shares(&shares, now)?;
    let beacons = events.iter().filter_map(|e| match e {
        Event::Beacon(share, input) => Some((share, input)),
        _ => None,
    });
    let mut batch = signals::Batch::load(store, beacons)?;
    batch.log(logged);
    let mut filtered: BTreeMap<(i64, &'static str), i64> = BTreeMap::new();
    let mut stored: BTreeMap<i64, u64> = BTreeMap::new();
    for e in events {
        match e {
            Event::Beacon(share, input) => {
                batch.beacon(store, share, input);
                *stored.entry(share.company.id).or_default() += 1;
            }
            Event::Filtered { company_id, reason } => {
                *filtered.entry((*company_id, reason.as_str())).or_default() += 1;
            }
            Event::OwnVisitor {
                visitor_id,
                partner_id,
            } => batch.own_visitor(visitor_id, *partner_id),
            _ => {}
        }
    }
    let mut touched = batch.finish(store, filtered, now)?;
    Ok(Written {
        stored,
        opens: std::mem::take(&mut touched.opens),
    })
}

/// What [`apply_batch`] wrote: beacons stored per company, and the new
/// visits `(network_key, opened_at)` for the SQLite writer's burst window.
pub(crate) struct Written {
    stored: BTreeMap<i64, u64>,
    pub(crate) opens: Vec<(i64, i64)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::shares::Credit;
    use crate::storage::sql::Connection;
    use crate::storage::testdb;
    use crate::storage::track_pg::PgTrackStore;
    use warmlead_core::botfilter::BURST_MAX_PER_NETWORK;
    use warmlead_core::domain::{Channel, ContentKind, Role};
    use warmlead_core::token::ShareClaim;

    /// A company, its rep and partner, an item, and a forward ("pass it
    /// on") share of it: a share the tracker records visits of without a
    /// device of its own.
    fn shared_item(conn: &Connection) -> Arc<ResolvedShare> {
        use crate::storage::accounts::{create_company, create_user};
        conn.execute_batch("BEGIN").unwrap();
        let company = create_company(conn, "暖居装修").unwrap();
        let rep = create_user(conn, company.id, Role::Rep, "李明", None, None).unwrap();
        let partner =
            create_user(conn, company.id, Role::Partner, "王芳", None, Some(rep.id)).unwrap();
        let secrets = crate::storage::Secrets {
            master: vec![7; 32],
            epoch: "track".into(),
        };
        let item = crate::services::content::create_item(
            &crate::storage::Stores::new(conn, &secrets),
            company.id,
            None,
            &warmlead_core::api::NewContentItem {
                kind: ContentKind::Article,
                title: "旧房翻新".into(),
                summary: "三周完工".into(),
                body: "正文".into(),
                cover_media_id: None,
                video_media_id: None,
            },
        )
        .unwrap();
        conn.execute_batch("COMMIT").unwrap();
        Arc::new(ResolvedShare {
            token: "f-race-share".into(),
            claim: ShareClaim {
                device_id: 1,
                share_no: 1,
                item_id: item.id as u64,
                channel: Channel::Moments,
            },
            sharer: partner,
            company,
            item,
            root_token: "root-share".into(),
            parent_token: Some("root-share".into()),
            depth: 1,
            meant_for_sharer: true,
            credit: Credit::Sharer,
        })
    }

    fn view(share: &Arc<ResolvedShare>, pv: &str, visitor: &str, network: &str) -> Event {
        Event::Beacon(
            share.clone(),
            BeaconInput {
                page_view: pv.into(),
                visitor_id: visitor.into(),
                ip_hash: Some(network.into()),
                dwell_ms: 0,
                now_ms: now_ms(),
                ..BeaconInput::default()
            },
        )
    }

    /// One tracking batch in its own transaction on `conn`, run again
    /// while another process opened one of its visits meanwhile, as the
    /// writer runs it (`write`).
    fn batch(conn: &Connection, events: &[Event]) {
        for _ in 0..RACED_RETRIES {
            conn.execute_batch("BEGIN").unwrap();
            match apply_batch(&mut PgTrackStore::new(conn), events) {
                Ok(_) => return conn.execute_batch("COMMIT").unwrap(),
                Err(e) if is_raced(&e) => conn.execute_batch("ROLLBACK").unwrap(),
                Err(e) => panic!("{e}"),
            }
        }
        panic!("raced {RACED_RETRIES} times");
    }

    /// Two processes' writers get the first page view of one visitor on
    /// one share at once (PostgreSQL, READ COMMITTED): the first has
    /// written visit 1 and not committed when the second's batch runs. The
    /// second must wait for it and merge its page load into that visit (a
    /// reload), not make a second visit 1.
    #[test]
    fn two_processes_opening_a_visitors_first_visit_make_one_visit() {
        let mut conns = testdb::postgres_connections(3);
        let (first, second, watcher) = (conns.remove(0), conns.remove(0), conns.remove(0));
        let share = shared_item(&first);
        first.execute_batch("BEGIN").unwrap();
        let held = [view(&share, "pv-a", "visitor-1", "home")];
        apply_batch(&mut PgTrackStore::new(&first), &held).unwrap();
        // The same browser, now on its phone's network.
        let events = vec![view(&share, "pv-b", "visitor-1", "mobile")];
        let racer = std::thread::spawn(move || batch(&second, &events));
        testdb::wait_for_lock_waiter(&watcher);
        first.execute_batch("COMMIT").unwrap();
        racer.join().unwrap();
        let visits: Vec<(i64, i64)> = watcher
            .prepare("SELECT visit_no, page_views FROM visits WHERE visitor_id = 'visitor-1' ORDER BY id")
            .unwrap()
            .query_map((), |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(visits, [(1, 2)], "one visit of two page loads");
    }

    /// The burst limit across processes (PostgreSQL): a network one view
    /// short of its limit, and two processes' writers each with one more
    /// new view of it, the first not yet committed when the second counts.
    /// Exactly the limit become views; the other is counted as a burst.
    #[test]
    fn two_processes_at_the_burst_limit_store_no_more_than_it() {
        let mut conns = testdb::postgres_connections(3);
        let (first, second, watcher) = (conns.remove(0), conns.remove(0), conns.remove(0));
        let share = shared_item(&first);
        let below: Vec<Event> = (1..BURST_MAX_PER_NETWORK)
            .map(|i| {
                view(
                    &share,
                    &format!("pv-{i}"),
                    &format!("visitor-{i}"),
                    "office",
                )
            })
            .collect();
        batch(&first, &below);
        first.execute_batch("BEGIN").unwrap();
        let held = [view(&share, "pv-x", "visitor-x", "office")];
        apply_batch(&mut PgTrackStore::new(&first), &held).unwrap();
        let events = vec![view(&share, "pv-y", "visitor-y", "office")];
        let racer = std::thread::spawn(move || batch(&second, &events));
        testdb::wait_for_lock_waiter(&watcher);
        first.execute_batch("COMMIT").unwrap();
        racer.join().unwrap();
        let views: i64 = watcher
            .query_row("SELECT COUNT(*) FROM visits", (), |r| r.get(0))
            .unwrap();
        let bursts: i64 = watcher
            .query_row(
                "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM filtered_hits WHERE reason = 'burst'",
                (),
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            (views, bursts),
            (i64::from(BURST_MAX_PER_NETWORK), 1),
            "views and bursts"
        );
    }

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
