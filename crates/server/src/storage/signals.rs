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

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::storage::sql::{params, Connection, OptionalExtension, Row};
use warmlead_core::botfilter::{is_burst, RecentViews, BURST_WINDOW_MS};
use warmlead_core::domain::Visit;
use warmlead_core::lead::{RadarBody, SignalKind, VisitStats};
use warmlead_core::sync::ChangeBody;
use warmlead_core::tracking::{
    apply_reading, page_load, video_pct, LatestVisit, PageLoad, Reading, VisitAgg,
};

use super::changes;
use super::shares::{visit_row, BeaconInput, ResolvedShare, VISIT_COLS};
use crate::error::ServerError;

/// The aggregates of a visit the beacon logic updates.
#[derive(Debug, Clone, Copy)]
struct Agg {
    id: i64,
    dwell_ms: i64,
    scroll_pct: i64,
    video_s: i64,
    video_len_s: i64,
    last_seen_at: i64,
}

fn agg_row(r: &Row) -> crate::storage::sql::Result<Agg> {
    Ok(Agg {
        id: r.get(0)?,
        dwell_ms: r.get(1)?,
        scroll_pct: r.get(2)?,
        video_s: r.get(3)?,
        video_len_s: r.get(4)?,
        last_seen_at: r.get(5)?,
    })
}

const AGG_COLS: &str = "id, dwell_ms, scroll_pct, video_s, video_len_s, last_seen_at";

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
}

impl Touched {
    fn touch(&mut self, visit_id: i64, share: &Arc<ResolvedShare>) {
        self.visits.entry(visit_id).or_insert_with(|| share.clone());
    }

    /// Appends one sync `Visit` and one radar `VisitStats` per visit touched.
    pub fn emit(&self, tx: &Connection, now: i64) -> Result<(), ServerError> {
        for (id, share) in &self.visits {
            let (visit, stats) = load_visit(tx, *id)?;
            let company = share.company.id;
            changes::append(tx, company, share.scope(), &ChangeBody::Visit(visit), now)?;
            changes::append_radar(
                tx,
                company,
                share.scope(),
                &RadarBody::VisitStats(stats),
                now,
            )?;
        }
        Ok(())
    }
}

fn load_visit(conn: &Connection, id: i64) -> Result<(Visit, VisitStats), ServerError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {VISIT_COLS}, root_token, last_seen_at, scroll_pct, video_s, video_len_s,
                visit_no, page_views
         FROM visits WHERE id = ?1"
    ))?;
    Ok(stmt.query_row([id], |r| {
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
    })?)
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

fn is_own_visitor(tx: &Connection, visitor: &str, partner_id: i64) -> Result<bool, ServerError> {
    let mut stmt =
        tx.prepare_cached("SELECT 1 FROM own_visitors WHERE visitor_id = ?1 AND partner_id = ?2")?;
    Ok(stmt.exists(params![visitor, partner_id])?)
}

/// Applies one beacon. Returns false when it was not counted (a page-view
/// id of another share, or the sharer's own browser).
pub(crate) fn apply_beacon(
    tx: &Connection,
    share: &Arc<ResolvedShare>,
    input: &BeaconInput,
    touched: &mut Touched,
) -> Result<bool, ServerError> {
    let pv: Option<(i64, i64, String)> = tx
        .prepare_cached(
            "SELECT p.visit_id, p.dwell_ms, v.share_token FROM page_views p
             JOIN visits v ON v.id = p.visit_id WHERE p.pv = ?1",
        )?
        .query_row([&input.page_view], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let (visit_id, pv_dwell, new) = match pv {
        // A page-view id reused for another share is not this page's view.
        Some((_, _, token)) if token != share.token => return Ok(false),
        Some((id, dwell, _)) => (id, dwell, false),
        None => {
            if is_own_visitor(tx, &input.visitor_id, share.sharer.id)? {
                *touched.own.entry(share.company.id).or_default() += 1;
                return Ok(false);
            }
            let Some((id, new)) = open_page_view(tx, share, input, touched)? else {
                return Ok(false);
            };
            (id, 0, new)
        }
    };
    let agg = if new {
        // Just inserted: nothing to read back.
        Agg {
            id: visit_id,
            dwell_ms: 0,
            scroll_pct: 0,
            video_s: 0,
            video_len_s: 0,
            last_seen_at: input.now_ms,
        }
    } else {
        tx.prepare_cached(&format!("SELECT {AGG_COLS} FROM visits WHERE id = ?1"))?
            .query_row([visit_id], agg_row)?
    };
    update_aggregates(tx, share, input, agg, pv_dwell)?;
    touched.touch(visit_id, share);
    touched
        .visitors
        .insert((share.company.id, input.visitor_id.clone()));
    touched.accepted += 1;
    Ok(true)
}

/// New visits of this share opened in the burst window by this visitor and
/// by this network (the stored ones: a refused burst is not counted again).
fn recent_views(
    tx: &Connection,
    share: &ResolvedShare,
    input: &BeaconInput,
) -> Result<RecentViews, ServerError> {
    let since = input.now_ms - BURST_WINDOW_MS;
    let by_visitor: u32 = tx
        .prepare_cached(
            "SELECT COUNT(*) FROM visits
             WHERE share_token = ?1 AND visitor_id = ?2 AND opened_at > ?3",
        )?
        .query_row(params![share.token, input.visitor_id, since], |r| r.get(0))?;
    let by_network: u32 = match &input.ip_hash {
        Some(ip) => tx
            .prepare_cached(
                "SELECT COUNT(*) FROM visits
                 WHERE share_token = ?1 AND ip_hash = ?2 AND opened_at > ?3",
            )?
            .query_row(params![share.token, ip, since], |r| r.get(0))?,
        None => 0,
    };
    Ok(RecentViews {
        by_visitor,
        by_network,
    })
}

/// A new page load: merged into the visitor's recent visit, or a new visit.
/// Returns the visit and whether it is new; `None` when it is a burst (not
/// a view: nothing is stored but the counter).
fn open_page_view(
    tx: &Connection,
    share: &ResolvedShare,
    input: &BeaconInput,
    touched: &mut Touched,
) -> Result<Option<(i64, bool)>, ServerError> {
    let now = input.now_ms;
    let latest = tx
        .prepare_cached(
            "SELECT id, last_seen_at, visit_no FROM visits WHERE share_token = ?1 AND visitor_id = ?2
             ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![share.token, input.visitor_id], |r| {
            Ok(LatestVisit {
                id: r.get(0)?,
                last_seen_at_ms: r.get(1)?,
                visit_no: r.get(2)?,
            })
        })
        .optional()?;
    let (visit_id, new) = match page_load(latest, now) {
        PageLoad::Reload { visit_id } => {
            tx.prepare_cached("UPDATE visits SET page_views = page_views + 1 WHERE id = ?1")?
                .execute([visit_id])?;
            *touched.reloads.entry(share.company.id).or_default() += 1;
            (visit_id, false)
        }
        PageLoad::NewVisit { .. } if is_burst(recent_views(tx, share, input)?) => {
            *touched.bursts.entry(share.company.id).or_default() += 1;
            return Ok(None);
        }
        PageLoad::NewVisit { visit_no } => (new_visit(tx, share, input, visit_no)?, true),
    };
    tx.prepare_cached("INSERT INTO page_views (pv, visit_id, dwell_ms) VALUES (?1, ?2, 0)")?
        .execute(params![input.page_view, visit_id])?;
    Ok(Some((visit_id, new)))
}

fn new_visit(
    tx: &Connection,
    share: &ResolvedShare,
    input: &BeaconInput,
    visit_no: i64,
) -> Result<i64, ServerError> {
    let id: i64 = tx.query_row(
        "INSERT INTO visits (page_view, share_token, root_token, visitor_id, opened_at,
                             last_seen_at, dwell_ms, visit_no, item_id, partner_id, rep_id, ip_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, 0, ?6, ?7, ?8, ?9, ?10) RETURNING id",
        params![
            input.page_view,
            share.token,
            share.root_token,
            input.visitor_id,
            input.now_ms,
            visit_no,
            share.item.id,
            share.sharer.id,
            share.rep_id(),
            input.ip_hash
        ],
        |r| r.get(0),
    )?;
    let v = &input.visitor_id;
    insert_signal(tx, share, Some(id), v, SignalKind::View, 0, input.now_ms)?;
    if visit_no > 1 {
        insert_signal(
            tx,
            share,
            Some(id),
            v,
            SignalKind::RepeatVisit,
            visit_no,
            input.now_ms,
        )?;
    }
    Ok(id)
}

/// Stores what `tracking::apply_reading` decided for one beacon: the page
/// load's dwell, the signals of values that rose, the visit's aggregates.
fn update_aggregates(
    tx: &Connection,
    share: &ResolvedShare,
    input: &BeaconInput,
    agg: Agg,
    pv_dwell: i64,
) -> Result<(), ServerError> {
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
        tx.prepare_cached("UPDATE page_views SET dwell_ms = ?1 WHERE pv = ?2")?
            .execute(params![dwell, input.page_view])?;
    }
    let (now, v) = (input.now_ms, input.visitor_id.as_str());
    for (kind, value) in update.signals {
        insert_signal(tx, share, Some(agg.id), v, kind, value, now)?;
    }
    let Some(new) = update.visit else {
        return Ok(());
    };
    tx.prepare_cached(
        "UPDATE visits SET dwell_ms = ?1, scroll_pct = ?2, video_s = ?3, video_len_s = ?4,
                           last_seen_at = ?5
         WHERE id = ?6",
    )?
    .execute(params![
        new.dwell_ms,
        new.scroll_pct,
        new.video_s,
        new.video_len_s,
        new.last_seen_at_ms,
        agg.id
    ])?;
    Ok(())
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

pub(crate) fn visit_stats_for_share(
    conn: &Connection,
    token: &str,
) -> Result<Vec<VisitStats>, ServerError> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM visits WHERE share_token = ?1 OR root_token = ?1 ORDER BY id",
        )?
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
