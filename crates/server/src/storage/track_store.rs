//! What the tracking aggregate (page views, visits, signals, the burst
//! window, the sharer's own browsers, not-a-view counters) can store and
//! query: the one interface the tracking writer (`track::apply_batch`,
//! `signals::Batch`) works through. Each backend has its own
//! implementation with its own statements: SQLite's (`track_sqlite.rs`,
//! one writer, statements cheap and in-process) and PostgreSQL's
//! (`track_pg.rs`, a batch read and written in a handful of round trips
//! with typed array parameters, and the rows a batch decides on locked
//! until it commits, so processes sharing the database count as one).
//!
//! A batch runs in one transaction: `load` once (what its beacons name),
//! then the decisions in memory (`warmlead_core::tracking`,
//! `warmlead_core::botfilter`), then the writes. What decides is not here.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use warmlead_core::domain::Visit;
use warmlead_core::lead::{SignalKind, VisitStats};

use super::changes::NewChange;
use super::shares::ResolvedShare;
use crate::error::ServerError;

/// The aggregates of a visit the beacons update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Agg {
    pub id: i64,
    pub dwell_ms: i64,
    pub scroll_pct: i64,
    pub video_s: i64,
    pub video_len_s: i64,
    pub last_seen_at: i64,
}

/// What a batch looks up before it decides, all at once.
#[derive(Debug, Default)]
pub(crate) struct Lookups<'a> {
    /// `(share token, visitor id)` of its page views not stored before:
    /// the visitor's latest visit of the share, and its recent ones.
    pub visitors: Vec<(&'a str, &'a str)>,
    /// `(visitor id, partner id)`: whether it is the partner's own browser.
    pub own: Vec<(&'a str, i64)>,
    /// `signals::network_key`s of its page views not stored before: their
    /// burst windows (`TrackStore::opens_since`).
    pub networks: Vec<i64>,
    /// Visits opened at or before this are not recent.
    pub since: i64,
}

/// A stored page load a beacon names.
#[derive(Debug, Clone)]
pub(crate) struct StoredPage {
    pub pv: String,
    /// Its own dwell (a visit's first page load: the visit's less its others').
    pub dwell_ms: i64,
    pub share_token: String,
    /// It has a `page_views` row (a later page load of its visit; the first
    /// page load is the visit row itself).
    pub row: bool,
    pub visit: Agg,
}

/// A visitor's visits of a share, as a new page load needs them.
#[derive(Debug, Clone)]
pub(crate) struct VisitorVisits {
    /// The latest visit's aggregates and number.
    pub latest: Agg,
    pub visit_no: i64,
    /// When the visits opened after `Lookups::since` opened.
    pub recent: Vec<i64>,
}

/// What `TrackStore::load` found.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// By `(share token, visitor id)`; absent: no visit yet.
    pub visitors: HashMap<(String, String), VisitorVisits>,
    /// `(visitor id, partner id)` pairs that are the partner's own browser.
    pub own: HashSet<(String, i64)>,
}

/// A visit the batch opens, with its aggregates as the batch leaves them.
#[derive(Debug, Clone)]
pub(crate) struct NewVisit {
    pub page_view: String,
    pub share: Arc<ResolvedShare>,
    pub visitor_id: String,
    pub ip_hash: Option<String>,
    pub opened_at: i64,
    pub visit_no: i64,
    /// `id` is not stored (the database gives it).
    pub agg: Agg,
    pub page_views: i64,
}

/// A signal to append.
#[derive(Debug, Clone)]
pub(crate) struct NewSignal {
    pub share: Arc<ResolvedShare>,
    pub visit_id: i64,
    pub visitor_id: String,
    pub kind: SignalKind,
    pub value: i64,
    pub at: i64,
}

/// What a batch writes once its new visits have ids.
#[derive(Debug, Default)]
pub(crate) struct Writes {
    /// `(page-view id, visit id, dwell)`: later page loads, new or grown.
    pub pages: Vec<(String, i64, i64)>,
    /// Stored visits' new aggregates, and page loads merged into each.
    pub visits: Vec<(Agg, i64)>,
    pub signals: Vec<NewSignal>,
    /// New visits `(network key, opened at)` for the burst window.
    pub opens: Vec<(i64, i64)>,
    /// `(visitor id, partner id)`: the partner's own browser, from now on.
    pub own: Vec<(String, i64)>,
    /// `(company, reason, n)`: not-a-view counters to add to.
    pub filtered: Vec<(i64, &'static str, i64)>,
}

/// Another process opened a visit this batch opens (its number or its
/// page-view id is taken): the batch is run again, and then sees it.
pub(crate) fn raced() -> ServerError {
    ServerError::Conflict("a visit of this tracking batch was opened meanwhile".into())
}

pub(crate) fn is_raced(e: &ServerError) -> bool {
    matches!(e, ServerError::Conflict(m) if m.starts_with("a visit of this tracking batch"))
}

/// The tracking aggregate's storage (see the module comment).
pub(crate) trait TrackStore {
    /// The stored page loads of these page-view ids, with their visits (on
    /// PostgreSQL locked until the batch commits).
    fn pages(&mut self, pvs: &[&str]) -> Result<Vec<StoredPage>, ServerError>;

    /// What the batch's new page loads need. On PostgreSQL the visits read
    /// and the networks' burst windows are locked until the batch commits.
    fn load(&mut self, lookups: &Lookups<'_>) -> Result<Loaded, ServerError>;

    /// New visits of `network` stored (by committed batches) in the burst
    /// window before `now`.
    fn opens_since(&mut self, network: i64, now: i64) -> u32;

    /// Records the partners' shares the server sees for the first time
    /// (in order); their change-log rows, to append before the visits'.
    fn record_shares(
        &mut self,
        shares: &[&ResolvedShare],
        now: i64,
    ) -> Result<Vec<NewChange>, ServerError>;

    /// Stores new visits; their ids, in order. A visit whose number or
    /// page-view id another transaction took meanwhile fails the batch
    /// with [`raced`].
    fn insert_visits(&mut self, visits: &[NewVisit]) -> Result<Vec<i64>, ServerError>;

    /// Writes the rest of the batch (see [`Writes`]).
    fn write(&mut self, writes: &Writes, now: i64) -> Result<(), ServerError>;

    /// Visits by id, as the change log sends them.
    fn visits_for_log(
        &mut self,
        ids: &[i64],
    ) -> Result<HashMap<i64, (Visit, VisitStats)>, ServerError>;

    /// Appends change-log rows.
    fn append_changes(&mut self, rows: &[NewChange], now: i64) -> Result<(), ServerError>;

    /// Rescores the leads of `(company, visitor)` whose signals changed.
    fn rescore_leads(
        &mut self,
        visitors: &BTreeSet<(i64, String)>,
        now: i64,
    ) -> Result<(), ServerError>;
}
