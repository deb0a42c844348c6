//! Beacons become visits and append-only signals.
//!
//! A visit is one person (visitor id) on one share. Page loads by the same
//! visitor on the same share within `RELOAD_WINDOW_MS` of the visit's last
//! activity are merged into it (reloads are not new views); after the window
//! the same visitor starts a new visit with `visit_no + 1` and a
//! `repeat_visit` signal. Each page load reports its own visible time; a
//! visit's dwell is the sum over its page loads. (The window is decided by
//! `warmlead_core::tracking::page_load`.) Signals are appended only
//! when a value rises, so the table is a timeline, not a log of beacons.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::storage::sql::{params, params_from_iter, placeholders, row_chunks, Connection, Row};
use warmlead_core::botfilter::{is_burst, FilterReason, RecentViews, BURST_WINDOW_MS};
use warmlead_core::domain::Visit;
use warmlead_core::lead::{RadarBody, SignalKind, VisitStats};
use warmlead_core::sync::ChangeBody;
use warmlead_core::tracking::{
    apply_reading, page_load, video_pct, LatestVisit, PageLoad, Reading, VisitAgg,
};

use super::changes::NewChange;
use super::shares::{visit_row, BeaconInput, ResolvedShare, VISIT_COLS};
use super::track_store::{Agg, Lookups, NewSignal, NewVisit, TrackStore, VisitorVisits, Writes};
use crate::error::ServerError;

/// What happened in a batch that clients must hear about: visits changed
/// (one change per visit, however many beacons) and whether any were new.
#[derive(Default)]
pub(crate) struct Touched {
    visits: BTreeMap<i64, Arc<ResolvedShare>>,
    pub accepted: u64,
    pub reloads: BTreeMap<i64, i64>,
    pub own: BTreeMap<i64, i64>,
    /// New page views refused as bursts, per company.
    pub bursts: BTreeMap<i64, i64>,
    /// `(company, visitor)` whose signals changed: that company's leads of
    /// the visitor are rescored (never another company's).
    pub visitors: std::collections::BTreeSet<(i64, String)>,
    /// New visits `(network_key, opened_at)` for the SQLite writer's
    /// window, once the batch committed (`Database::remember_opens`).
    pub opens: Vec<(i64, i64)>,
}

impl Touched {
    fn touch(&mut self, visit_id: i64, share: &Arc<ResolvedShare>) {
        self.visits.entry(visit_id).or_insert_with(|| share.clone());
    }

    /// Appends `rows`, then one sync `Visit` and one radar `VisitStats` per
    /// visit touched, the visits read and the rows appended several at a time.
    fn emit(
        &self,
        store: &mut dyn TrackStore,
        mut rows: Vec<NewChange>,
        now: i64,
    ) -> Result<(), ServerError> {
        let ids: Vec<i64> = self.visits.keys().copied().collect();
        let mut loaded = store.visits_for_log(&ids)?;
        rows.reserve(2 * ids.len());
        for (id, share) in &self.visits {
            let (visit, stats) = loaded
                .remove(id)
                .ok_or_else(|| ServerError::NotFound(format!("visit {id} vanished")))?;
            let (company, scope) = (share.company.id, share.scope());
            rows.push(NewChange::sync(company, scope, &ChangeBody::Visit(visit))?);
            rows.push(NewChange::radar(
                company,
                scope,
                &RadarBody::VisitStats(stats),
            )?);
        }
        store.append_changes(&rows, now)
    }
}

/// `SELECT` columns of [`visit_with_stats`].
fn visit_stats_cols() -> String {
    format!(
        "{VISIT_COLS}, root_token, last_seen_at, scroll_pct, video_s, video_len_s,
         visit_no, page_views"
    )
}

fn visit_with_stats(r: &Row) -> crate::storage::sql::Result<(Visit, VisitStats)> {
    let v = visit_row(r)?;
    let (video_s, len): (i64, i64) = (r.get(11)?, r.get(12)?);
    let stats = VisitStats {
        visit_id: v.id,
        share_token: v.share_token.clone(),
        root_token: r.get(8)?,
        item_id: v.item_id,
        partner_id: v.partner_id,
        rep_id: r.get(4)?,
        visitor_id: v.visitor_id.clone(),
        opened_at_ms: v.opened_at_ms,
        last_seen_at_ms: r.get(9)?,
        dwell_ms: v.dwell_ms,
        scroll_pct: r.get(10)?,
        video_pct: video_pct(video_s, len),
        visit_no: r.get(13)?,
        page_views: r.get(14)?,
    };
    Ok((v, stats))
}

/// Several visits by id, several per query.
pub(crate) fn load_visits(
    conn: &Connection,
    ids: &[i64],
) -> Result<HashMap<i64, (Visit, VisitStats)>, ServerError> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in row_chunks(ids) {
        let sql = format!(
            "SELECT {} FROM visits WHERE id IN ({})",
            visit_stats_cols(),
            placeholders(1, chunk.len())
        );
        let rows = conn
            .prepare_cached(&sql)?
            .query_map(params_from_iter(chunk.iter()), visit_with_stats)?;
        for row in rows {
            let (v, stats) = row?;
            out.insert(v.id, (v, stats));
        }
    }
    Ok(out)
}

fn load_visit(conn: &Connection, id: i64) -> Result<(Visit, VisitStats), ServerError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {} FROM visits WHERE id = ?1",
        visit_stats_cols()
    ))?;
    Ok(stmt.query_row([id], visit_with_stats)?)
}

pub(crate) fn insert_signal(
    tx: &Connection,
    share: &ResolvedShare,
    visit_id: Option<i64>,
    visitor_id: &str,
    kind: SignalKind,
    value: i64,
    at: i64,
) -> Result<i64, ServerError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO signals (share_token, visit_id, visitor_id, kind, value, at,
                              company_id, partner_id, item_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
    )?;
    let new_id = stmt.query_row(
        params![
            share.token,
            visit_id,
            visitor_id,
            kind.as_str(),
            value,
            at,
            share.company.id,
            share.sharer.id,
            share.item.id
        ],
        |r| r.get::<_, i64>(0),
    )?;
    Ok(new_id)
}

/// How long a burst window keeps a new visit: the burst window, and as much
/// again for beacons stamped before they waited in the queue.
pub(crate) const RECENT_OPENS_KEPT_MS: i64 = 2 * BURST_WINDOW_MS;

/// The burst window's key of a share and a network: the first 8 bytes of a
/// SHA-256 of both, the same in every process. (Two pairs sharing a key
/// would share one count; with 2^64 keys, no window holds enough pairs for
/// that to happen.) Eight bytes instead of two strings keep the SQLite
/// writer's [`RecentOpens`] small in memory.
pub(crate) fn network_key(share_token: &str, ip_hash: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(share_token.as_bytes())
        .chain_update([0u8])
        .chain_update(ip_hash.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// The new visits of the last minutes by `network_key`, kept by the SQLite
/// writer (which sees every visit) in memory instead of a table: an index
/// of random keys inserted into for every new view cost a WAL page each
/// (see migration 0020). A batch counts with it and adds its own new visits
/// once it committed (`Database::remember_opens`), so a batch that rolled
/// back counts nothing. About 20 bytes per new view of the window
/// (measured: docs/benchmarks.md).
#[derive(Debug, Default)]
pub(crate) struct RecentOpens {
    /// `(opened_at, network)` in the order added (time order: batches are
    /// added as they commit).
    order: std::collections::VecDeque<(i64, i64)>,
    counts: HashMap<i64, u32>,
    /// Visits opened at or before this are forgotten.
    cutoff: i64,
}

/// The SQLite writer's [`RecentOpens`], shared by its batches.
pub(crate) type BurstWindow = Arc<std::sync::Mutex<RecentOpens>>;

impl RecentOpens {
    /// Visits of `network` opened in the burst window before `now`. Counting
    /// forgets what is older: `now` only moves forward here (beacons are
    /// counted in the order they arrived).
    pub fn count(&mut self, network: i64, now: i64) -> u32 {
        self.forget_until(now - BURST_WINDOW_MS);
        self.counts.get(&network).copied().unwrap_or(0)
    }

    /// Adds committed new visits, `(network, opened_at)`.
    pub fn add(&mut self, mut opens: Vec<(i64, i64)>) {
        opens.sort_unstable_by_key(|(_, at)| *at);
        for (network, at) in opens {
            if at > self.cutoff {
                self.order.push_back((at, network));
                *self.counts.entry(network).or_default() += 1;
            }
        }
    }

    fn forget_until(&mut self, cutoff: i64) {
        if cutoff <= self.cutoff {
            return;
        }
        self.cutoff = cutoff;
        while let Some(&(at, network)) = self.order.front() {
            if at > cutoff {
                break;
            }
            self.order.pop_front();
            if let Some(n) = self.counts.get_mut(&network) {
                *n -= 1;
                if *n == 0 {
                    self.counts.remove(&network);
                }
            }
        }
    }

    /// Visits remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }
}

/// A page load as this batch sees it: stored before, or opened in the batch.
#[derive(Debug, Clone)]
struct PageState {
    /// A stored visit's id, or a new visit's place in the batch (see
    /// [`Batch::new_visit`]).
    visit_id: i64,
    dwell_ms: i64,
    share_token: String,
    /// It has a `page_views` row (a later page load of its visit; the first
    /// page load is the visit row itself).
    row: bool,
    /// Its dwell rose in this batch: written once at the end.
    dirty: bool,
}

/// A visit's aggregates as this batch leaves them.
#[derive(Debug, Clone, Copy)]
struct VisitState {
    agg: Agg,
    /// Page loads merged into the visit in this batch (reloads).
    added_pages: i64,
    dirty: bool,
}

/// One tracking batch (`track::apply_batch`), decided in memory: what its
/// beacons name is looked up once ([`TrackStore::pages`],
/// [`TrackStore::load`]), events are decided in order (what an earlier
/// beacon of the batch did is in memory here), and everything is written at
/// the end, several rows per statement: new visits, page dwells, each
/// visit's aggregates once, signals, one pair of change-log rows per visit.
/// A new visit has no id until it is stored: until then it is known by a
/// negative number, its place in `new_visits`.
#[derive(Default)]
pub(crate) struct Batch {
    pages: HashMap<String, PageState>,
    visits: HashMap<i64, VisitState>,
    /// A visitor's visits of a share, by `(share token, visitor id)`, with
    /// the batch's new ones.
    visitors: HashMap<(String, String), VisitorVisits>,
    own: HashSet<(String, i64)>,
    new_own: Vec<(String, i64)>,
    new_visits: Vec<NewVisit>,
    signals: Vec<NewSignal>,
    /// New visits of the batch with a network: when they opened, by
    /// `network_key`; counted with the stored ones, stored at the end.
    opens: HashMap<i64, Vec<i64>>,
    /// Change-log rows of the batch's other writes (new shares), appended
    /// before its visits'.
    logged: Vec<NewChange>,
    pub touched: Touched,
}

impl Batch {
    /// Looks up what the beacons name: their stored page loads, and for the
    /// others the visitors' visits, the partners' own browsers and the
    /// networks' burst windows.
    pub fn load<'a>(
        store: &mut dyn TrackStore,
        beacons: impl Iterator<Item = (&'a Arc<ResolvedShare>, &'a BeaconInput)> + Clone,
    ) -> Result<Batch, ServerError> {
        let mut pvs: Vec<&str> = beacons.clone().map(|(_, b)| b.page_view.as_str()).collect();
        pvs.sort_unstable();
        pvs.dedup();
        let mut batch = Batch::default();
        for p in store.pages(&pvs)? {
            batch.visits.entry(p.visit.id).or_insert(VisitState {
                agg: p.visit,
                added_pages: 0,
                dirty: false,
            });
            batch.pages.insert(
                p.pv,
                PageState {
                    visit_id: p.visit.id,
                    dwell_ms: p.dwell_ms,
                    share_token: p.share_token,
                    row: p.row,
                    dirty: false,
                },
            );
        }
        let mut lookups = Lookups::default();
        let mut since = i64::MAX;
        for (share, b) in beacons {
            if batch.pages.contains_key(&b.page_view) {
                continue;
            }
            lookups
                .visitors
                .push((share.token.as_str(), b.visitor_id.as_str()));
            lookups.own.push((b.visitor_id.as_str(), share.sharer.id));
            if let Some(ip) = &b.ip_hash {
                lookups.networks.push(network_key(&share.token, ip));
            }
            since = since.min(b.now_ms - BURST_WINDOW_MS);
        }
        if lookups.visitors.is_empty() {
            return Ok(batch);
        }
        lookups.visitors.sort_unstable();
        lookups.visitors.dedup();
        lookups.own.sort_unstable();
        lookups.own.dedup();
        lookups.networks.sort_unstable();
        lookups.networks.dedup();
        lookups.since = since;
        let loaded = store.load(&lookups)?;
        for v in loaded.visitors.values() {
            batch.visits.entry(v.latest.id).or_insert(VisitState {
                agg: v.latest,
                added_pages: 0,
                dirty: false,
            });
        }
        batch.visitors = loaded.visitors;
        batch.own = loaded.own;
        Ok(batch)
    }

    /// Change-log rows to append with the batch's (in this order, before
    /// the visits').
    pub fn log(&mut self, changes: Vec<NewChange>) {
        self.logged.extend(changes);
    }

    /// The sharer's own browser: none of its later page loads is a view.
    pub fn own_visitor(&mut self, visitor_id: &str, partner_id: i64) {
        if self.own.insert((visitor_id.to_string(), partner_id)) {
            self.new_own.push((visitor_id.to_string(), partner_id));
        }
    }

    /// Applies one beacon. Returns false when it was not counted (a page-view
    /// id of another share, the sharer's own browser, a burst).
    pub fn beacon(
        &mut self,
        store: &mut dyn TrackStore,
        share: &Arc<ResolvedShare>,
        input: &BeaconInput,
    ) -> bool {
        let (visit_id, pv_dwell) = match self.pages.get(&input.page_view) {
            // A page-view id reused for another share is not this page's view.
            Some(p) if p.share_token != share.token => return false,
            Some(p) => (p.visit_id, p.dwell_ms),
            None => {
                if self
                    .own
                    .contains(&(input.visitor_id.clone(), share.sharer.id))
                {
                    *self.touched.own.entry(share.company.id).or_default() += 1;
                    return false;
                }
                let Some(id) = self.open_page_view(store, share, input) else {
                    return false;
                };
                (id, 0)
            }
        };
        let visit = self.visits[&visit_id];
        self.apply_reading(share, input, visit, pv_dwell);
        self.touched.touch(visit_id, share);
        self.touched
            .visitors
            .insert((share.company.id, input.visitor_id.clone()));
        self.touched.accepted += 1;
        true
    }

    /// A new page load: merged into the visitor's recent visit, or a new
    /// visit; `None` when it is a burst (not a view: only counted).
    fn open_page_view(
        &mut self,
        store: &mut dyn TrackStore,
        share: &Arc<ResolvedShare>,
        input: &BeaconInput,
    ) -> Option<i64> {
        let now = input.now_ms;
        let key = (share.token.clone(), input.visitor_id.clone());
        // Activity earlier in this batch is in `visits`.
        let latest = self.visitors.get(&key).map(|v| LatestVisit {
            id: v.latest.id,
            last_seen_at_ms: self
                .visits
                .get(&v.latest.id)
                .map_or(v.latest.last_seen_at, |s| s.agg.last_seen_at),
            visit_no: v.visit_no,
        });
        let visit_id = match page_load(latest, now) {
            PageLoad::Reload { visit_id } => {
                let v = self
                    .visits
                    .get_mut(&visit_id)
                    .expect("a visitor's latest visit is loaded");
                v.added_pages += 1;
                v.dirty = true;
                *self.touched.reloads.entry(share.company.id).or_default() += 1;
                visit_id
            }
            PageLoad::NewVisit { .. } if is_burst(self.recent_views(store, share, input)) => {
                *self.touched.bursts.entry(share.company.id).or_default() += 1;
                return None;
            }
            PageLoad::NewVisit { visit_no } => {
                let id = self.new_visit(share, input, visit_no);
                // The visit row is its first page load: no page-view row.
                self.pages.insert(
                    input.page_view.clone(),
                    PageState {
                        visit_id: id,
                        dwell_ms: 0,
                        share_token: share.token.clone(),
                        row: false,
                        dirty: false,
                    },
                );
                return Some(id);
            }
        };
        let page = PageState {
            visit_id,
            dwell_ms: 0,
            share_token: share.token.clone(),
            row: true,
            dirty: true,
        };
        self.pages.insert(input.page_view.clone(), page);
        Some(visit_id)
    }

    /// New visits of this share opened in the burst window by this visitor
    /// and by this network (the stored ones and the batch's: a refused burst
    /// is not counted again).
    fn recent_views(
        &self,
        store: &mut dyn TrackStore,
        share: &ResolvedShare,
        input: &BeaconInput,
    ) -> RecentViews {
        let since = input.now_ms - BURST_WINDOW_MS;
        let by_visitor = self
            .visitors
            .get(&(share.token.clone(), input.visitor_id.clone()))
            .map_or(0, |v| v.recent.iter().filter(|at| **at > since).count())
            as u32;
        let by_network = match &input.ip_hash {
            Some(ip) => {
                let key = network_key(&share.token, ip);
                let batch = self
                    .opens
                    .get(&key)
                    .map_or(0, |at| at.iter().filter(|at| **at > since).count());
                store.opens_since(key, input.now_ms) + batch as u32
            }
            None => 0,
        };
        RecentViews {
            by_visitor,
            by_network,
        }
    }

    fn new_visit(&mut self, share: &Arc<ResolvedShare>, input: &BeaconInput, visit_no: i64) -> i64 {
        let id = -(self.new_visits.len() as i64 + 1);
        let agg = Agg {
            id,
            dwell_ms: 0,
            scroll_pct: 0,
            video_s: 0,
            video_len_s: 0,
            last_seen_at: input.now_ms,
        };
        self.new_visits.push(NewVisit {
            page_view: input.page_view.clone(),
            share: share.clone(),
            visitor_id: input.visitor_id.clone(),
            ip_hash: input.ip_hash.clone(),
            opened_at: input.now_ms,
            visit_no,
            agg,
            page_views: 1,
        });
        self.visits.insert(
            id,
            VisitState {
                agg,
                added_pages: 0,
                dirty: false,
            },
        );
        let visits = self
            .visitors
            .entry((share.token.clone(), input.visitor_id.clone()))
            .or_insert(VisitorVisits {
                latest: agg,
                visit_no,
                recent: Vec::new(),
            });
        visits.latest = agg;
        visits.visit_no = visit_no;
        visits.recent.push(input.now_ms);
        if let Some(ip) = &input.ip_hash {
            let key = network_key(&share.token, ip);
            self.opens.entry(key).or_default().push(input.now_ms);
        }
        self.signal(share, id, input, SignalKind::View, 0);
        if visit_no > 1 {
            self.signal(share, id, input, SignalKind::RepeatVisit, visit_no);
        }
        id
    }

    fn signal(
        &mut self,
        share: &Arc<ResolvedShare>,
        visit_id: i64,
        input: &BeaconInput,
        kind: SignalKind,
        value: i64,
    ) {
        self.signals.push(NewSignal {
            share: share.clone(),
            visit_id,
            visitor_id: input.visitor_id.clone(),
            kind,
            value,
            at: input.now_ms,
        });
    }

    /// Keeps what `tracking::apply_reading` decided for one beacon: the page
    /// load's dwell, the signals of values that rose, the visit's aggregates.
    fn apply_reading(
        &mut self,
        share: &Arc<ResolvedShare>,
        input: &BeaconInput,
        mut visit: VisitState,
        pv_dwell: i64,
    ) {
        let agg = visit.agg;
        let stored = VisitAgg {
            dwell_ms: agg.dwell_ms,
            scroll_pct: agg.scroll_pct,
            video_s: agg.video_s,
            video_len_s: agg.video_len_s,
            last_seen_at_ms: agg.last_seen_at,
        };
        let reading = Reading {
            dwell_ms: input.dwell_ms,
            scroll_pct: input.scroll_pct,
            video_s: input.video_s,
            video_len_s: input.video_len_s,
            now_ms: input.now_ms,
        };
        let update = apply_reading(stored, pv_dwell, reading);
        if let Some(dwell) = update.page_dwell_ms {
            if let Some(p) = self.pages.get_mut(&input.page_view) {
                p.dwell_ms = dwell;
                p.dirty = true;
            }
        }
        for (kind, value) in update.signals {
            self.signal(share, agg.id, input, kind, value);
        }
        if let Some(new) = update.visit {
            visit.agg = Agg {
                id: agg.id,
                dwell_ms: new.dwell_ms,
                scroll_pct: new.scroll_pct,
                video_s: new.video_s,
                video_len_s: new.video_len_s,
                last_seen_at: new.last_seen_at_ms,
            };
            visit.dirty = true;
        }
        self.visits.insert(agg.id, visit);
    }

    /// Writes what the batch kept in memory: new visits (which then have
    /// ids), page dwells, visit aggregates, signals, burst windows, own
    /// browsers, the not-a-view counters (`filtered`, with the batch's
    /// reloads, own views and bursts); then the change-log rows of the
    /// visits touched, and the leads of their visitors rescored.
    pub fn finish(
        mut self,
        store: &mut dyn TrackStore,
        mut filtered: BTreeMap<(i64, &'static str), i64>,
        now: i64,
    ) -> Result<Touched, ServerError> {
        for (i, new) in self.new_visits.iter_mut().enumerate() {
            let v = self.visits[&-(i as i64 + 1)];
            new.agg = v.agg;
            new.page_views = 1 + v.added_pages;
        }
        let ids = store.insert_visits(&self.new_visits)?;
        let real = |id: i64| if id < 0 { ids[(-id - 1) as usize] } else { id };
        let mut writes = Writes::default();
        for (pv, p) in &self.pages {
            if p.dirty && p.row {
                writes
                    .pages
                    .push((pv.clone(), real(p.visit_id), p.dwell_ms));
            }
        }
        writes.pages.sort_unstable();
        for v in self.visits.values() {
            if v.dirty && v.agg.id > 0 {
                writes.visits.push((v.agg, v.added_pages));
            }
        }
        writes.visits.sort_unstable_by_key(|(a, _)| a.id);
        writes.signals = std::mem::take(&mut self.signals);
        for s in &mut writes.signals {
            s.visit_id = real(s.visit_id);
        }
        writes.opens = self
            .opens
            .iter()
            .flat_map(|(key, at)| at.iter().map(|at| (*key, *at)))
            .collect();
        writes.own = std::mem::take(&mut self.new_own);
        let t = &self.touched;
        for (counts, reason) in [
            (&t.reloads, FilterReason::Reload),
            (&t.own, FilterReason::OwnLink),
            (&t.bursts, FilterReason::Burst),
        ] {
            for (company, n) in counts {
                *filtered.entry((*company, reason.as_str())).or_default() += n;
            }
        }
        writes.filtered = filtered.into_iter().map(|((c, r), n)| (c, r, n)).collect();
        store.write(&writes, now)?;
        // Added to the SQLite writer's window once the batch committed.
        self.touched.opens = writes.opens;
        self.touched.visits = std::mem::take(&mut self.touched.visits)
            .into_iter()
            .map(|(id, share)| (real(id), share))
            .collect();
        let logged = std::mem::take(&mut self.logged);
        self.touched.emit(store, logged, now)?;
        store.rescore_leads(&self.touched.visitors, now)?;
        Ok(self.touched)
    }
}

/// Adds to the not-a-view counters.
pub(crate) fn add_filtered(
    tx: &Connection,
    company_id: i64,
    reason: &str,
    n: i64,
) -> Result<(), ServerError> {
    tx.prepare_cached(
        "INSERT INTO filtered_hits (company_id, reason, count) VALUES (?1, ?2, ?3)
         ON CONFLICT (company_id, reason) DO UPDATE SET count = filtered_hits.count + excluded.count",
    )?
    .execute(params![company_id, reason, n])?;
    Ok(())
}

pub(crate) fn count_signals(conn: &Connection) -> Result<i64, ServerError> {
    Ok(conn.query_row("SELECT COUNT(*) FROM signals", (), |r| r.get(0))?)
}

fn count_company_signals(conn: &Connection, company_id: i64) -> Result<i64, ServerError> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM signals WHERE company_id = ?1")?
        .query_row([company_id], |r| r.get(0))?)
}

impl super::Database {
    /// Signals of one company, after writing what is queued.
    pub(crate) async fn count_company_signals(&self, company_id: i64) -> Result<i64, ServerError> {
        self.flush().await;
        self.read(move |c, _| count_company_signals(c, company_id))
            .await
    }
}

fn signal_row(r: &Row) -> crate::storage::sql::Result<warmlead_core::lead::Signal> {
    let kind: String = r.get(4)?;
    Ok(warmlead_core::lead::Signal {
        id: r.get(0)?,
        share_token: r.get(1)?,
        visit_id: r.get(2)?,
        visitor_id: r.get(3)?,
        kind: SignalKind::parse(&kind).unwrap_or(SignalKind::View),
        value: r.get(5)?,
        at_ms: r.get(6)?,
        partner_id: r.get(7)?,
        item_id: r.get(8)?,
        lead_id: r.get(9)?,
    })
}

/// Signals of a share (or of its children when `root` is true), oldest first.
pub(crate) fn signals_for_share(
    conn: &Connection,
    token: &str,
) -> Result<Vec<warmlead_core::lead::Signal>, ServerError> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.id, s.share_token, s.visit_id, s.visitor_id, s.kind, s.value, s.at,
                s.partner_id, s.item_id,
                (SELECT MIN(l.lead_id) FROM lead_visitors l JOIN leads d ON d.id = l.lead_id
                 WHERE l.visitor_id = s.visitor_id AND d.company_id = s.company_id)
         FROM signals s WHERE s.share_token = ?1 ORDER BY s.id",
    )?;
    let rows = stmt.query_map([token], signal_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A share's visits and those through its forwards (whose visits credit it
/// as their `root_token`), found through the forwards' own index: since
/// migration 0015 `visits` has no index on `root_token`. A scan of
/// `visits` since migration 0020 (no index leads with the share): this is
/// an inspection read (`Admin::visit_stats`, the tests'); devices get a
/// share's visits through the change log.
const VISITS_OF_SHARE_AND_FORWARDS: &str = "SELECT id FROM visits WHERE share_token = ?1
     UNION
     SELECT visits.id FROM child_shares JOIN visits ON visits.share_token = child_shares.token
     WHERE child_shares.root_token = ?1
     ORDER BY id";

pub(crate) fn visit_stats_for_share(
    conn: &Connection,
    token: &str,
) -> Result<Vec<VisitStats>, ServerError> {
    let ids: Vec<i64> = conn
        .prepare_cached(VISITS_OF_SHARE_AND_FORWARDS)?
        .query_map([token], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.into_iter()
        .map(|id| Ok(load_visit(conn, id)?.1))
        .collect()
}

pub(crate) fn filtered_stats(
    conn: &Connection,
    company_id: i64,
) -> Result<warmlead_core::lead::FilteredStats, ServerError> {
    use warmlead_core::botfilter::FilterReason;
    use warmlead_core::lead::FilteredCount;
    let mut stmt = conn.prepare_cached(
        "SELECT reason, count FROM filtered_hits WHERE company_id = ?1 ORDER BY reason",
    )?;
    let rows = stmt.query_map([company_id], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
    let mut counts = Vec::new();
    for row in rows {
        let (reason, count) = row?;
        if let Some(reason) = FilterReason::parse(&reason) {
            counts.push(FilteredCount { reason, count });
        }
    }
    Ok(warmlead_core::lead::FilteredStats { counts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sql::Dialect;
    use crate::storage::track_store::TrackStore;

    fn plan(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let n = stmt.parameter_count();
        stmt.query_map(rusqlite::params_from_iter(vec!["x"; n]), |r| r.get(3))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// A database with every migration.
    fn migrated() -> rusqlite::Connection {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::storage::migrations::migrate(&mut conn, None).unwrap();
        conn
    }

    /// Every lookup of `visits` a new page load makes (and a lead's or a
    /// forward's lookup of a visitor's visit of a share) is an index search,
    /// not a scan. (The count by network reads the SQLite writer's memory,
    /// or PostgreSQL's `recent_opens (network, opened_at)`.) SQLite's
    /// planner is asked directly (a fresh PostgreSQL table has no
    /// statistics, so its plans say nothing yet); the parity test holds the
    /// PostgreSQL indexes equal to these.
    #[test]
    fn lookups_by_share_use_an_index() {
        let conn = migrated();
        use crate::storage::track_sqlite::{LATEST_VISIT, VISITS_BY_VISITOR_SINCE};
        let queries = [
            VISITS_BY_VISITOR_SINCE,
            LATEST_VISIT,
            // forward.rs and leads.rs.
            "SELECT id FROM visits WHERE share_token = ?1 AND visitor_id = ?2 ORDER BY id DESC LIMIT 1",
        ];
        for sql in queries {
            let plan = plan(&conn, sql);
            // No aliases in these queries: a step on visits names the table.
            let steps: Vec<&String> = plan.iter().filter(|d| d.contains(" visits")).collect();
            assert!(!steps.is_empty(), "{sql}: {plan:?}");
            for step in &steps {
                assert!(step.starts_with("SEARCH"), "{sql}: {plan:?}");
            }
            // A visitor's visits of a share: both columns of one index, not
            // every visit of the share.
            if sql.contains("visitor_id = ?2") {
                assert!(
                    steps[0].contains("visits_visitor_share (visitor_id=? AND share_token=?)"),
                    "{sql}: {plan:?}"
                );
            }
        }
    }

    /// Issue 9: a new view's index entries go at the end of each index of
    /// `visits` (ids, time-first page-view and visitor ids). An index that
    /// leads with the share token takes an entry anywhere in it for each new
    /// view, and its page goes to the WAL: with views spread over many
    /// shares that was 60 % of a tracking batch's WAL pages (migration 0020).
    #[test]
    fn no_index_of_visits_leads_with_the_share() {
        let conn = migrated();
        let mut stmt = conn
            .prepare(
                "SELECT l.name, (SELECT name FROM pragma_index_info(l.name) WHERE seqno = 0)
                 FROM pragma_index_list('visits') l",
            )
            .unwrap();
        let firsts: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(firsts.len() >= 2, "{firsts:?}");
        for (index, first) in &firsts {
            assert!(
                !["share_token", "root_token", "ip_hash"].contains(&first.as_str()),
                "{index} leads with {first}"
            );
        }
    }

    /// The burst count by network on the backend under test (SQLite: the
    /// writer's window in memory; PostgreSQL: the `burst_windows` table,
    /// as a batch's store counts, stores and prunes it): committed visits opened in the
    /// window count, older ones are forgotten, other networks never count.
    #[test]
    fn the_burst_window_counts_only_the_last_minute_of_its_network() {
        let conn = crate::storage::testdb::connection();
        let t = 10 * RECENT_OPENS_KEPT_MS;
        let opens = vec![(7, t), (7, t + 10), (7, t + 20), (8, t + 20)];
        // (network, now, count)
        let table = [
            (7, t + 30, 3),
            (8, t + 30, 1),
            (9, t + 30, 0),
            (7, t + BURST_WINDOW_MS, 2),
            (7, t + BURST_WINDOW_MS + 19, 1),
            (7, t + BURST_WINDOW_MS + 20, 0),
            (8, t + BURST_WINDOW_MS + 20, 0),
        ];
        let counted: Vec<u32> = match conn.dialect() {
            Dialect::Sqlite => {
                let mut window = RecentOpens::default();
                window.add(opens);
                table
                    .iter()
                    .map(|(n, now, _)| window.count(*n, *now))
                    .collect()
            }
            Dialect::Postgres => {
                use crate::storage::track_pg::PgTrackStore;
                use crate::storage::track_store::{Lookups, Writes};
                let lookups = |networks: Vec<i64>| Lookups {
                    networks,
                    ..Lookups::default()
                };
                let mut store = PgTrackStore::new(&conn);
                store.load(&lookups(vec![7, 8])).unwrap();
                let writes = Writes {
                    opens,
                    ..Writes::default()
                };
                store.write(&writes, t + 20).unwrap();
                let counted = table
                    .iter()
                    .map(|(n, now, _)| {
                        let mut store = PgTrackStore::new(&conn);
                        store.load(&lookups(vec![*n])).unwrap();
                        store.opens_since(*n, *now)
                    })
                    .collect();
                // Windows past the kept time are deleted, not only left
                // out of the count.
                PgTrackStore::new(&conn)
                    .write(&Writes::default(), t + 20 + RECENT_OPENS_KEPT_MS)
                    .unwrap();
                let left: u32 = conn
                    .query_row("SELECT COUNT(*) FROM burst_windows", (), |r| r.get(0))
                    .unwrap();
                assert_eq!(left, 0, "windows past the kept time stay");
                counted
            }
        };
        let expected: Vec<u32> = table.iter().map(|r| r.2).collect();
        assert_eq!(counted, expected, "{table:?}");
    }

    /// The window forgets as time moves on, so it holds about a minute of
    /// new views however long the server runs; visits added already older
    /// than what it forgot are not kept.
    #[test]
    fn the_burst_window_stays_a_minute_long() {
        let mut window = RecentOpens::default();
        for second in 0..600_i64 {
            let at = second * 1000;
            window.add((0..10).map(|i| (second * 10 + i, at)).collect());
            window.count(-1, at);
        }
        let minute = (BURST_WINDOW_MS / 1000) as usize * 10;
        assert!(window.len() <= minute + 10, "{} kept", window.len());
        assert_eq!(window.counts.len(), window.len());
        window.add(vec![(5, 0)]);
        assert_eq!(window.count(5, 599_000), 0, "already forgotten");
    }

    #[test]
    fn network_keys_tell_shares_and_networks_apart() {
        let k = network_key("share-a", "0011");
        assert_eq!(
            k,
            network_key("share-a", "0011"),
            "the same in every process"
        );
        assert_ne!(k, network_key("share-b", "0011"));
        assert_ne!(k, network_key("share-a", "0012"));
        assert_ne!(network_key("ab", "c"), network_key("a", "bc"));
    }
}
