//! The tracking aggregate on SQLite ([`TrackStore`]): one writer in this
//! process, so a lookup is a cached statement in memory, not a round trip,
//! and nothing needs a lock; the burst window is the writer's memory
//! (`signals::RecentOpens`).

use std::collections::{BTreeSet, HashMap, HashSet};

use warmlead_core::domain::Visit;
use warmlead_core::lead::VisitStats;

use super::changes::{self, NewChange};
use super::shares::{record_share, ResolvedShare};
use super::signals::{self, BurstWindow};
use super::sql::{
    params, params_from_iter, placeholders, row_chunks, values_list, Connection, OptionalExtension,
    Row, Value,
};
use super::track_store::{
    raced, Agg, Loaded, Lookups, NewVisit, StoredPage, TrackStore, VisitorVisits, Writes,
};
use crate::error::ServerError;

pub(crate) struct SqliteTrackStore<'c> {
    conn: &'c Connection,
    window: BurstWindow,
}

impl<'c> SqliteTrackStore<'c> {
    pub(crate) fn new(conn: &'c Connection, window: BurstWindow) -> Self {
        SqliteTrackStore { conn, window }
    }
}

/// The lookups of a visitor's visits of a share go through
/// `visits_visitor_share (visitor_id, share_token, visit_no)` (migrations
/// 0019 and 0028; `lookups_by_share_use_an_index` checks their plans); a
/// network's new visits are counted in the SQLite writer's `RecentOpens`
/// or PostgreSQL's `burst_windows` (migrations 0020 and 0028: no index of
/// `visits` leads with the share any more).
pub(crate) const LATEST_VISIT: &str = "SELECT id, dwell_ms, scroll_pct, video_s, video_len_s,
            last_seen_at, visit_no
     FROM visits WHERE share_token = ?1 AND visitor_id = ?2 ORDER BY id DESC LIMIT 1";
pub(crate) const VISITS_BY_VISITOR_SINCE: &str = "SELECT opened_at FROM visits
     WHERE share_token = ?1 AND visitor_id = ?2 AND opened_at > ?3";

/// The aggregates in the row's columns from `at` on (in `AGG_COLS_V` order).
fn agg_at(r: &Row, at: usize) -> super::sql::Result<Agg> {
    Ok(Agg {
        id: r.get(at)?,
        dwell_ms: r.get(at + 1)?,
        scroll_pct: r.get(at + 2)?,
        video_s: r.get(at + 3)?,
        video_len_s: r.get(at + 4)?,
        last_seen_at: r.get(at + 5)?,
    })
}

/// The aggregates of a visit, of `visits` aliased `v`.
const AGG_COLS_V: &str = "v.id, v.dwell_ms, v.scroll_pct, v.video_s, v.video_len_s, v.last_seen_at";

impl TrackStore for SqliteTrackStore<'_> {
    fn pages(&mut self, pvs: &[&str]) -> Result<Vec<StoredPage>, ServerError> {
        let mut out = Vec::new();
        for chunk in row_chunks(pvs) {
            let list = placeholders(1, chunk.len());
            // A visit's first page load is the visit row itself (`page_view`);
            // its dwell is the visit's less its other page loads'.
            let first = format!(
                "SELECT v.page_view, v.dwell_ms - COALESCE((SELECT SUM(p.dwell_ms) FROM page_views p
                         WHERE p.visit_id = v.id AND p.pv <> v.page_view), 0),
                        v.share_token, {AGG_COLS_V}
                 FROM visits v WHERE v.page_view IN ({list})"
            );
            // Later page loads (and first ones stored before issue 9).
            let later = format!(
                "SELECT p.pv, p.dwell_ms, v.share_token, {AGG_COLS_V}
                 FROM page_views p JOIN visits v ON v.id = p.visit_id WHERE p.pv IN ({list})"
            );
            for (sql, row) in [(first, false), (later, true)] {
                let rows = self.conn.prepare_cached(&sql)?.query_map(
                    params_from_iter(chunk.iter()),
                    |r| {
                        Ok(StoredPage {
                            pv: r.get(0)?,
                            dwell_ms: r.get(1)?,
                            share_token: r.get(2)?,
                            row,
                            visit: agg_at(r, 3)?,
                        })
                    },
                )?;
                for p in rows {
                    out.push(p?);
                }
            }
        }
        Ok(out)
    }

    fn load(&mut self, lookups: &Lookups<'_>) -> Result<Loaded, ServerError> {
        let mut loaded = Loaded::default();
        for (share, visitor) in &lookups.visitors {
            let latest = self
                .conn
                .prepare_cached(LATEST_VISIT)?
                .query_row(params![share, visitor], |r| {
                    Ok((agg_at(r, 0)?, r.get::<_, i64>(6)?))
                })
                .optional()?;
            let Some((latest, visit_no)) = latest else {
                continue;
            };
            let recent = self
                .conn
                .prepare_cached(VISITS_BY_VISITOR_SINCE)?
                .query_map(params![share, visitor, lookups.since], |r| r.get(0))?
                .collect::<Result<Vec<i64>, _>>()?;
            loaded.visitors.insert(
                (share.to_string(), visitor.to_string()),
                VisitorVisits {
                    latest,
                    visit_no,
                    recent,
                },
            );
        }
        let mut own = HashSet::new();
        for (visitor, partner) in &lookups.own {
            if self
                .conn
                .prepare_cached(
                    "SELECT 1 FROM own_visitors WHERE visitor_id = ?1 AND partner_id = ?2",
                )?
                .exists(params![visitor, partner])?
            {
                own.insert((visitor.to_string(), *partner));
            }
        }
        loaded.own = own;
        Ok(loaded)
    }

    fn opens_since(&mut self, network: i64, now: i64) -> u32 {
        self.window
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .count(network, now)
    }

    fn record_shares(
        &mut self,
        shares: &[&ResolvedShare],
        now: i64,
    ) -> Result<Vec<NewChange>, ServerError> {
        let mut out = Vec::new();
        for share in shares {
            out.extend(record_share(self.conn, share, now)?);
        }
        Ok(out)
    }

    fn insert_visits(&mut self, visits: &[NewVisit]) -> Result<Vec<i64>, ServerError> {
        let mut ids = Vec::with_capacity(visits.len());
        for v in visits {
            let id: Option<i64> = self
                .conn
                .prepare_cached(
                    "INSERT INTO visits (page_view, share_token, root_token, visitor_id, opened_at,
                             last_seen_at, dwell_ms, scroll_pct, video_s, video_len_s, visit_no,
                             page_views, item_id, partner_id, rep_id, ip_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                     ON CONFLICT DO NOTHING RETURNING id",
                )?
                .query_row(
                    params![
                        v.page_view,
                        v.share.token,
                        v.share.root_token,
                        v.visitor_id,
                        v.opened_at,
                        v.agg.last_seen_at,
                        v.agg.dwell_ms,
                        v.agg.scroll_pct,
                        v.agg.video_s,
                        v.agg.video_len_s,
                        v.visit_no,
                        v.page_views,
                        v.share.item.id,
                        v.share.sharer.id,
                        v.share.rep_id(),
                        v.ip_hash
                    ],
                    |r| r.get(0),
                )
                .optional()?;
            ids.push(id.ok_or_else(raced)?);
        }
        Ok(ids)
    }

    fn write(&mut self, w: &Writes, now: i64) -> Result<(), ServerError> {
        let tx = self.conn;
        for chunk in row_chunks(&w.pages) {
            let sql = format!(
                "INSERT INTO page_views (pv, visit_id, dwell_ms) VALUES {}
                 ON CONFLICT (pv) DO UPDATE SET dwell_ms = excluded.dwell_ms",
                values_list(chunk.len(), 3)
            );
            let values = chunk.iter().flat_map(|(pv, visit, dwell)| {
                [
                    Value::from(pv.as_str()),
                    Value::Integer(*visit),
                    Value::Integer(*dwell),
                ]
            });
            tx.prepare_cached(&sql)?.execute(params_from_iter(values))?;
        }
        let mut stmt = tx.prepare_cached(
            "UPDATE visits SET dwell_ms = ?1, scroll_pct = ?2, video_s = ?3, video_len_s = ?4,
                               last_seen_at = ?5, page_views = page_views + ?6
             WHERE id = ?7",
        )?;
        for (a, added) in &w.visits {
            stmt.execute(params![
                a.dwell_ms,
                a.scroll_pct,
                a.video_s,
                a.video_len_s,
                a.last_seen_at,
                added,
                a.id
            ])?;
        }
        for chunk in row_chunks(&w.signals) {
            let sql = format!(
                "INSERT INTO signals (share_token, visit_id, visitor_id, kind, value, at,
                                      company_id, partner_id, item_id) VALUES {}",
                values_list(chunk.len(), 9)
            );
            let mut values = Vec::with_capacity(chunk.len() * 9);
            for s in chunk {
                values.extend([
                    Value::from(s.share.token.as_str()),
                    Value::Integer(s.visit_id),
                    Value::from(s.visitor_id.as_str()),
                    Value::from(s.kind.as_str()),
                    Value::Integer(s.value),
                    Value::Integer(s.at),
                    Value::Integer(s.share.company.id),
                    Value::Integer(s.share.sharer.id),
                    Value::Integer(s.share.item.id),
                ]);
            }
            tx.prepare_cached(&sql)?.execute(params_from_iter(values))?;
        }
        // `w.opens` go into the writer's window once the batch committed
        // (`Database::remember_opens`), so a batch rolled back counts nothing.
        for (visitor, partner) in &w.own {
            tx.prepare_cached(
                "INSERT INTO own_visitors (visitor_id, partner_id, created_at)
                 VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )?
            .execute(params![visitor, partner, now])?;
        }
        for (company, reason, n) in &w.filtered {
            signals::add_filtered(tx, *company, reason, *n)?;
        }
        Ok(())
    }

    fn visits_for_log(
        &mut self,
        ids: &[i64],
    ) -> Result<HashMap<i64, (Visit, VisitStats)>, ServerError> {
        signals::load_visits(self.conn, ids)
    }

    fn append_changes(&mut self, rows: &[NewChange], now: i64) -> Result<(), ServerError> {
        changes::append_many(self.conn, rows, now)
    }

    fn rescore_leads(
        &mut self,
        visitors: &BTreeSet<(i64, String)>,
        now: i64,
    ) -> Result<(), ServerError> {
        super::lead_store::lead_store(self.conn).rescore_visitors(visitors, now)
    }
}
