//! The tracking aggregate on PostgreSQL ([`TrackStore`]): each lookup and
//! each write of a batch is one statement over arrays (`= ANY($1)`,
//! `INSERT .. SELECT FROM unnest(..)`, `UPDATE .. FROM unnest(..)`) with
//! typed parameters, so a batch of thousands of views costs a handful of
//! round trips, not a chain per view (issue 21: each view had cost about
//! ten). Several processes share the database, so what a batch decides on
//! is locked as it is read, until the batch commits: the visits it updates,
//! and each network's burst window (an advisory lock per network, taken
//! before the windows are read, so a second process's batch waits for the
//! first and then counts its visits; the window is then written once, one
//! `INSERT .. ON CONFLICT DO UPDATE`). A visit's number is a
//! unique key: a batch that opens a visit another process opened meanwhile
//! fails with `track_store::raced` and is run again.

use std::collections::{BTreeSet, HashMap, HashSet};

use postgres::types::ToSql;
use warmlead_core::domain::{Channel, Share, Visit};
use warmlead_core::lead::VisitStats;
use warmlead_core::sync::ChangeBody;
use warmlead_core::tracking::video_pct;

use super::changes::{self, NewChange};
use super::shares::ResolvedShare;
use super::signals::RECENT_OPENS_KEPT_MS;
use super::sql::{Connection, PgSession};
use super::track_store::{
    raced, Agg, Loaded, Lookups, NewVisit, StoredPage, TrackStore, VisitorVisits, Writes,
};
use crate::error::ServerError;
use warmlead_core::botfilter::BURST_WINDOW_MS;

pub(crate) struct PgTrackStore<'c> {
    conn: &'c Connection,
    /// The burst windows `load` locked: new visits by network.
    windows: HashMap<i64, Vec<i64>>,
    /// The visits this batch inserted, as the change log sends them: known
    /// whole here, so `visits_for_log` need not read them back.
    inserted: HashMap<i64, (Visit, VisitStats)>,
    /// Whether the batch's lookups are planned for their own arrays yet.
    custom_plans: bool,
}

impl<'c> PgTrackStore<'c> {
    pub(crate) fn new(conn: &'c Connection) -> Self {
        PgTrackStore {
            conn,
            windows: HashMap::new(),
            inserted: HashMap::new(),
            custom_plans: false,
        }
    }

    /// From here to the batch's commit, every statement is planned for its
    /// own arrays and the tables as they are now. A generic plan kept from
    /// a new database's first batches (a few hundred visits) scans all of
    /// `visits` once it holds thousands, until an ANALYZE replaces it;
    /// planning each lookup costs less. Taken after the shares are
    /// recorded: their foreign-key checks keep their cached plans.
    fn plan_for_now(&mut self) -> Result<(), ServerError> {
        if !self.custom_plans {
            self.session(|s| {
                Ok(s.client()
                    .batch_execute("SET LOCAL plan_cache_mode = force_custom_plan")
                    .map_err(super::sql::Error::from)?)
            })?;
            self.custom_plans = true;
        }
        Ok(())
    }

    /// Runs `sql` with `params`; its rows.
    fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, ServerError> {
        self.session(|s| {
            let stmt = s.prepared(sql)?;
            Ok(s.client()
                .query(&stmt, params)
                .map_err(super::sql::Error::from)?)
        })
    }

    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, ServerError> {
        self.session(|s| {
            let stmt = s.prepared(sql)?;
            Ok(s.client()
                .execute(&stmt, params)
                .map_err(super::sql::Error::from)?)
        })
    }

    fn session<T>(
        &self,
        f: impl FnOnce(&mut PgSession) -> Result<T, ServerError>,
    ) -> Result<T, ServerError> {
        self.conn
            .with_postgres(f)
            .unwrap_or_else(|| Err(ServerError::Config("a PostgreSQL store on SQLite".into())))
    }
}

fn agg_at(r: &postgres::Row, at: usize) -> Agg {
    Agg {
        id: r.get(at),
        dwell_ms: r.get(at + 1),
        scroll_pct: r.get(at + 2),
        video_s: r.get(at + 3),
        video_len_s: r.get(at + 4),
        last_seen_at: r.get(at + 5),
    }
}

/// A visit just inserted, as the change log sends it (what
/// `visits_for_log` would read back).
fn as_logged(v: &NewVisit, id: i64) -> (Visit, VisitStats) {
    let rep_id = v.share.rep_id();
    let visit = Visit {
        id,
        share_token: v.share.token.clone(),
        item_id: v.share.item.id,
        partner_id: v.share.sharer.id,
        rep_id: rep_id.unwrap_or(0),
        visitor_id: v.visitor_id.clone(),
        opened_at_ms: v.opened_at,
        dwell_ms: v.agg.dwell_ms,
    };
    let stats = VisitStats {
        visit_id: id,
        share_token: visit.share_token.clone(),
        root_token: v.share.root_token.clone(),
        item_id: visit.item_id,
        partner_id: visit.partner_id,
        rep_id,
        visitor_id: visit.visitor_id.clone(),
        opened_at_ms: v.opened_at,
        last_seen_at_ms: v.agg.last_seen_at,
        dwell_ms: v.agg.dwell_ms,
        scroll_pct: v.agg.scroll_pct,
        video_pct: video_pct(v.agg.video_s, v.agg.video_len_s),
        visit_no: v.visit_no,
        page_views: v.page_views,
    };
    (visit, stats)
}

/// The stored page loads of a batch's page-view ids, in one statement: a
/// visit's first page load is the visit row itself (`page_view`; its dwell
/// is the visit's less its other page loads'), later ones (and first ones
/// stored before issue 9) are `page_views` rows. Their visits are locked.
const PAGES: &str = "WITH k AS (SELECT unnest($1::text[]) AS pv),
     hits AS (SELECT k.pv, v.id AS visit_id, NULL::int8 AS dwell, false AS row
              FROM k JOIN visits v ON v.page_view = k.pv
              UNION ALL
              SELECT k.pv, p.visit_id, p.dwell_ms, true
              FROM k JOIN page_views p ON p.pv = k.pv)
     SELECT h.pv,
            CASE WHEN h.row THEN h.dwell
                 ELSE (v.dwell_ms - COALESCE((SELECT SUM(p.dwell_ms) FROM page_views p
                                              WHERE p.visit_id = v.id AND p.pv <> v.page_view),
                                             0))::int8 END,
            v.share_token, h.row,
            v.id, v.dwell_ms, v.scroll_pct, v.video_s, v.video_len_s, v.last_seen_at
     FROM hits h JOIN visits v ON v.id = h.visit_id ORDER BY v.id, h.row FOR UPDATE OF v";

impl TrackStore for PgTrackStore<'_> {
    fn pages(&mut self, pvs: &[&str]) -> Result<Vec<StoredPage>, ServerError> {
        let mut out = Vec::new();
        if pvs.is_empty() {
            return Ok(out);
        }
        self.plan_for_now()?;
        for r in self.query(PAGES, &[&pvs])? {
            out.push(StoredPage {
                pv: r.get(0),
                dwell_ms: r.get(1),
                share_token: r.get(2),
                row: r.get(3),
                visit: agg_at(&r, 4),
            });
        }
        Ok(out)
    }

    fn load(&mut self, lookups: &Lookups<'_>) -> Result<Loaded, ServerError> {
        self.plan_for_now()?;
        let mut loaded = Loaded::default();
        let (shares, visitors): (Vec<&str>, Vec<&str>) = lookups.visitors.iter().copied().unzip();
        let found = self.query(
            "SELECT k.s, k.v, MAX(x.id),
                    COALESCE(array_agg(x.opened_at) FILTER (WHERE x.opened_at > $3), '{}')
             FROM unnest($1::text[], $2::text[]) AS k(s, v)
             JOIN visits x ON x.share_token = k.s AND x.visitor_id = k.v
             GROUP BY k.s, k.v",
            &[&shares, &visitors, &lookups.since],
        )?;
        if !found.is_empty() {
            let mut latest: Vec<i64> = found.iter().map(|r| r.get(2)).collect();
            latest.sort_unstable();
            // The latest visits, locked: a reload updates its aggregates.
            let rows = self.query(
                "SELECT id, dwell_ms, scroll_pct, video_s, video_len_s, last_seen_at, visit_no
                 FROM visits WHERE id = ANY($1::int8[]) ORDER BY id FOR UPDATE",
                &[&latest],
            )?;
            let aggs: HashMap<i64, (Agg, i64)> = rows
                .iter()
                .map(|r| (r.get(0), (agg_at(r, 0), r.get(6))))
                .collect();
            for r in &found {
                let id: i64 = r.get(2);
                let Some((agg, visit_no)) = aggs.get(&id) else {
                    continue;
                };
                loaded.visitors.insert(
                    (r.get(0), r.get(1)),
                    VisitorVisits {
                        latest: *agg,
                        visit_no: *visit_no,
                        recent: r.get(3),
                    },
                );
            }
        }
        let (own_visitors, partners): (Vec<&str>, Vec<i64>) = lookups.own.iter().copied().unzip();
        let own = self.query(
            "SELECT o.visitor_id, o.partner_id FROM own_visitors o
             JOIN unnest($1::text[], $2::int8[]) AS k(v, p)
               ON o.visitor_id = k.v AND o.partner_id = k.p",
            &[&own_visitors, &partners],
        )?;
        loaded.own = own
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect::<HashSet<(String, i64)>>();
        if !lookups.networks.is_empty() {
            // Each network's window is locked (an advisory lock: nothing
            // written), in key order, until the batch commits; then read, by
            // a statement of its own so that it sees what a batch that held
            // the lock before committed.
            self.execute(
                "SELECT pg_advisory_xact_lock($1::int4, k)
                 FROM (SELECT (n % 2147483648)::int4 AS k FROM unnest($2::int8[]) AS n) AS keys
                 ORDER BY k",
                &[&super::pg::BURST_LOCK, &lookups.networks],
            )?;
            let rows = self.query(
                "SELECT network, opens FROM burst_windows WHERE network = ANY($1::int8[])",
                &[&lookups.networks],
            )?;
            self.windows = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        }
        Ok(loaded)
    }

    fn opens_since(&mut self, network: i64, now: i64) -> u32 {
        let since = now - BURST_WINDOW_MS;
        self.windows
            .get(&network)
            .map_or(0, |at| at.iter().filter(|at| **at > since).count()) as u32
    }

    fn record_shares(
        &mut self,
        shares: &[&ResolvedShare],
        now: i64,
    ) -> Result<Vec<NewChange>, ServerError> {
        // Child shares are stored when they are made.
        let shares: Vec<&ResolvedShare> =
            shares.iter().copied().filter(|s| !s.is_child()).collect();
        if shares.is_empty() {
            return Ok(Vec::new());
        }
        let tokens: Vec<&str> = shares.iter().map(|s| s.token.as_str()).collect();
        let devices: Vec<i64> = shares.iter().map(|s| s.claim.device_id as i64).collect();
        let numbers: Vec<i64> = shares.iter().map(|s| s.claim.share_no as i64).collect();
        let items: Vec<i64> = shares.iter().map(|s| s.item.id).collect();
        let partners: Vec<i64> = shares.iter().map(|s| s.sharer.id).collect();
        let reps: Vec<Option<i64>> = shares.iter().map(|s| s.rep_id()).collect();
        let channels: Vec<&str> = shares.iter().map(|s| s.claim.channel.as_str()).collect();
        // A row comes back only for a share this inserted: only it is logged.
        let rows = self.query(
            "INSERT INTO shares (token, device_id, share_no, item_id, partner_id, rep_id, channel,
                                 created_at, recorded_at)
             SELECT t, d, n, i, p, r, c, $8, $8
             FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[],
                         $7::text[]) AS k(t, d, n, i, p, r, c)
             ON CONFLICT (token) DO NOTHING
             RETURNING token, device_id, share_no, item_id, partner_id, channel, created_at",
            &[
                &tokens, &devices, &numbers, &items, &partners, &reps, &channels, &now,
            ],
        )?;
        let mut inserted: HashMap<String, Share> = rows
            .iter()
            .map(|r| {
                let channel: String = r.get(5);
                let share = Share {
                    token: r.get(0),
                    device_id: r.get(1),
                    share_no: r.get(2),
                    item_id: r.get(3),
                    partner_id: r.get(4),
                    channel: Channel::parse(&channel).unwrap_or(Channel::Direct),
                    created_at_ms: r.get(6),
                };
                (share.token.clone(), share)
            })
            .collect();
        let mut out = Vec::with_capacity(inserted.len());
        for s in shares {
            if let Some(row) = inserted.remove(&s.token) {
                out.push(NewChange::sync(
                    s.company.id,
                    s.scope(),
                    &ChangeBody::Share(row),
                )?);
            }
        }
        Ok(out)
    }

    fn insert_visits(&mut self, visits: &[NewVisit]) -> Result<Vec<i64>, ServerError> {
        if visits.is_empty() {
            return Ok(Vec::new());
        }
        let col = |f: fn(&NewVisit) -> i64| visits.iter().map(f).collect::<Vec<i64>>();
        let pvs: Vec<&str> = visits.iter().map(|v| v.page_view.as_str()).collect();
        let shares: Vec<&str> = visits.iter().map(|v| v.share.token.as_str()).collect();
        let roots: Vec<&str> = visits.iter().map(|v| v.share.root_token.as_str()).collect();
        let visitors: Vec<&str> = visits.iter().map(|v| v.visitor_id.as_str()).collect();
        let opened = col(|v| v.opened_at);
        let last_seen = col(|v| v.agg.last_seen_at);
        let dwell = col(|v| v.agg.dwell_ms);
        let scroll = col(|v| v.agg.scroll_pct);
        let video = col(|v| v.agg.video_s);
        let video_len = col(|v| v.agg.video_len_s);
        let numbers = col(|v| v.visit_no);
        let pages = col(|v| v.page_views);
        let items = col(|v| v.share.item.id);
        let partners = col(|v| v.share.sharer.id);
        let reps: Vec<Option<i64>> = visits.iter().map(|v| v.share.rep_id()).collect();
        let ips: Vec<Option<&str>> = visits.iter().map(|v| v.ip_hash.as_deref()).collect();
        // A visit whose number (or page-view id) another process took
        // meanwhile comes back with no id: the batch runs again.
        let rows = self.query(
            "INSERT INTO visits (page_view, share_token, root_token, visitor_id, opened_at,
                                 last_seen_at, dwell_ms, scroll_pct, video_s, video_len_s,
                                 visit_no, page_views, item_id, partner_id, rep_id, ip_hash)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[],
                                  $6::int8[], $7::int8[], $8::int8[], $9::int8[], $10::int8[],
                                  $11::int8[], $12::int8[], $13::int8[], $14::int8[], $15::int8[],
                                  $16::text[])
             ON CONFLICT DO NOTHING
             RETURNING page_view, id",
            &[
                &pvs, &shares, &roots, &visitors, &opened, &last_seen, &dwell, &scroll, &video,
                &video_len, &numbers, &pages, &items, &partners, &reps, &ips,
            ],
        )?;
        if rows.len() != visits.len() {
            return Err(raced());
        }
        let ids: HashMap<String, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let ids = pvs
            .iter()
            .map(|pv| ids.get(*pv).copied().ok_or_else(raced))
            .collect::<Result<Vec<i64>, _>>()?;
        for (v, id) in visits.iter().zip(&ids) {
            self.inserted.insert(*id, as_logged(v, *id));
        }
        Ok(ids)
    }

    fn write(&mut self, w: &Writes, now: i64) -> Result<(), ServerError> {
        if !w.pages.is_empty() {
            let pvs: Vec<&str> = w.pages.iter().map(|p| p.0.as_str()).collect();
            let visits: Vec<i64> = w.pages.iter().map(|p| p.1).collect();
            let dwell: Vec<i64> = w.pages.iter().map(|p| p.2).collect();
            self.execute(
                "INSERT INTO page_views (pv, visit_id, dwell_ms)
                 SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[])
                 ON CONFLICT (pv) DO UPDATE SET dwell_ms = excluded.dwell_ms",
                &[&pvs, &visits, &dwell],
            )?;
        }
        if !w.visits.is_empty() {
            let col = |f: fn(&(Agg, i64)) -> i64| w.visits.iter().map(f).collect::<Vec<i64>>();
            self.execute(
                "UPDATE visits v SET dwell_ms = u.d, scroll_pct = u.s, video_s = u.vs,
                        video_len_s = u.vl, last_seen_at = u.l, page_views = v.page_views + u.a
                 FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[],
                             $6::int8[], $7::int8[]) AS u(id, d, s, vs, vl, l, a)
                 WHERE v.id = u.id",
                &[
                    &col(|v| v.0.id),
                    &col(|v| v.0.dwell_ms),
                    &col(|v| v.0.scroll_pct),
                    &col(|v| v.0.video_s),
                    &col(|v| v.0.video_len_s),
                    &col(|v| v.0.last_seen_at),
                    &col(|v| v.1),
                ],
            )?;
        }
        if !w.signals.is_empty() {
            let s = &w.signals;
            let shares: Vec<&str> = s.iter().map(|s| s.share.token.as_str()).collect();
            let visitors: Vec<&str> = s.iter().map(|s| s.visitor_id.as_str()).collect();
            let kinds: Vec<&str> = s.iter().map(|s| s.kind.as_str()).collect();
            let col = |f: fn(&super::track_store::NewSignal) -> i64| {
                s.iter().map(f).collect::<Vec<i64>>()
            };
            self.execute(
                "INSERT INTO signals (share_token, visit_id, visitor_id, kind, value, at,
                                      company_id, partner_id, item_id)
                 SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::int8[],
                                      $6::int8[], $7::int8[], $8::int8[], $9::int8[])",
                &[
                    &shares,
                    &col(|s| s.visit_id),
                    &visitors,
                    &kinds,
                    &col(|s| s.value),
                    &col(|s| s.at),
                    &col(|s| s.share.company.id),
                    &col(|s| s.share.sharer.id),
                    &col(|s| s.share.item.id),
                ],
            )?;
        }
        if !w.opens.is_empty() {
            let networks: Vec<i64> = w.opens.iter().map(|o| o.0).collect();
            let at: Vec<i64> = w.opens.iter().map(|o| o.1).collect();
            // The windows are this batch's (locked by `load`): one row
            // version each, the opens past the kept time dropped.
            self.execute(
                "INSERT INTO burst_windows AS w (network, opens, newest)
                 SELECT n, array_agg(t ORDER BY t), MAX(t)
                 FROM unnest($1::int8[], $2::int8[]) AS x(n, t) GROUP BY n
                 ON CONFLICT (network) DO UPDATE
                 SET opens = ARRAY(SELECT t FROM unnest(w.opens) AS t WHERE t > $3 ORDER BY t)
                             || excluded.opens,
                     newest = GREATEST(w.newest, excluded.newest)",
                &[&networks, &at, &(now - RECENT_OPENS_KEPT_MS)],
            )?;
        }
        // Windows with nothing left to count are forgotten, at most once a
        // second per process (they are kept a minute: a second more costs
        // nothing, a statement every batch does); those another batch holds
        // are left to it (two batches never wait on each other here).
        if !prune_due(now) {
            return self.write_own_and_filtered(w, now);
        }
        self.execute(
            "DELETE FROM burst_windows WHERE network = ANY(ARRAY(
                 SELECT network FROM burst_windows WHERE newest <= $1
                 LIMIT 10000 FOR UPDATE SKIP LOCKED))",
            &[&(now - RECENT_OPENS_KEPT_MS)],
        )?;
        self.write_own_and_filtered(w, now)
    }

    fn visits_for_log(
        &mut self,
        ids: &[i64],
    ) -> Result<HashMap<i64, (Visit, VisitStats)>, ServerError> {
        let mut out = HashMap::with_capacity(ids.len());
        let mut stored = Vec::new();
        for id in ids {
            match self.inserted.get(id) {
                Some(v) => {
                    out.insert(*id, v.clone());
                }
                None => stored.push(*id),
            }
        }
        if stored.is_empty() {
            return Ok(out);
        }
        let ids = &stored;
        let rows = self.query(
            "SELECT id, share_token, item_id, partner_id, rep_id, visitor_id, opened_at, dwell_ms,
                    root_token, last_seen_at, scroll_pct, video_s, video_len_s, visit_no,
                    page_views
             FROM visits WHERE id = ANY($1::int8[])",
            &[&ids],
        )?;
        for r in rows {
            let rep_id: Option<i64> = r.get(4);
            let visit = Visit {
                id: r.get(0),
                share_token: r.get(1),
                item_id: r.get(2),
                partner_id: r.get(3),
                rep_id: rep_id.unwrap_or(0),
                visitor_id: r.get(5),
                opened_at_ms: r.get(6),
                dwell_ms: r.get(7),
            };
            let stats = VisitStats {
                visit_id: visit.id,
                share_token: visit.share_token.clone(),
                root_token: r.get(8),
                item_id: visit.item_id,
                partner_id: visit.partner_id,
                rep_id,
                visitor_id: visit.visitor_id.clone(),
                opened_at_ms: visit.opened_at_ms,
                last_seen_at_ms: r.get(9),
                dwell_ms: visit.dwell_ms,
                scroll_pct: r.get(10),
                video_pct: video_pct(r.get(11), r.get(12)),
                visit_no: r.get(13),
                page_views: r.get(14),
            };
            out.insert(visit.id, (visit, stats));
        }
        Ok(out)
    }

    fn append_changes(&mut self, rows: &[NewChange], now: i64) -> Result<(), ServerError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut companies: Vec<i64> = rows.iter().map(|r| r.company_id).collect();
        companies.sort_unstable();
        companies.dedup();
        changes::mark_appended(&companies);
        let (mut rep, mut partner, mut audience) = (Vec::new(), Vec::new(), Vec::new());
        for r in rows {
            let (a, rep_id, partner_id) = r.scope.columns();
            audience.push(a);
            rep.push(rep_id);
            partner.push(partner_id);
        }
        let company: Vec<i64> = rows.iter().map(|r| r.company_id).collect();
        let body: Vec<&str> = rows.iter().map(|r| r.body.as_str()).collect();
        let stream: Vec<&str> = rows.iter().map(|r| r.stream).collect();
        // One statement: each company's order lock and notification first
        // (as `changes::append` takes them, in company order: the CTE is
        // run whole before the first row takes its seq), then the rows in
        // their order.
        self.execute(
            "WITH locked AS MATERIALIZED (
                 SELECT pg_advisory_xact_lock($1::int4, c::int4), pg_notify($2, c::text)
                 FROM unnest($3::int8[]) AS c ORDER BY c)
             INSERT INTO changes (company_id, rep_id, partner_id, audience, body, created_at,
                                  stream)
             SELECT k.co, k.r, k.p, k.a, k.b, $4, k.s
             FROM unnest($5::int8[], $6::int8[], $7::int8[], $8::text[], $9::text[], $10::text[])
                  WITH ORDINALITY AS k(co, r, p, a, b, s, n)
             WHERE (SELECT count(*) FROM locked) > 0
             ORDER BY k.n",
            &[
                &super::pg::CHANGES_LOCK,
                &super::pg::CHANGES_CHANNEL,
                &companies,
                &now,
                &company,
                &rep,
                &partner,
                &audience,
                &body,
                &stream,
            ],
        )?;
        Ok(())
    }

    fn rescore_leads(
        &mut self,
        visitors: &BTreeSet<(i64, String)>,
        now: i64,
    ) -> Result<(), ServerError> {
        super::lead_store::lead_store(self.conn).rescore_visitors(visitors, now)
    }
}

impl PgTrackStore<'_> {
    /// The partners' own browsers and the not-a-view counters of a batch.
    fn write_own_and_filtered(&mut self, w: &Writes, now: i64) -> Result<(), ServerError> {
        if !w.own.is_empty() {
            let visitors: Vec<&str> = w.own.iter().map(|o| o.0.as_str()).collect();
            let partners: Vec<i64> = w.own.iter().map(|o| o.1).collect();
            self.execute(
                "INSERT INTO own_visitors (visitor_id, partner_id, created_at)
                 SELECT v, p, $3 FROM unnest($1::text[], $2::int8[]) AS k(v, p)
                 ON CONFLICT DO NOTHING",
                &[&visitors, &partners, &now],
            )?;
        }
        if !w.filtered.is_empty() {
            let companies: Vec<i64> = w.filtered.iter().map(|f| f.0).collect();
            let reasons: Vec<&str> = w.filtered.iter().map(|f| f.1).collect();
            let counts: Vec<i64> = w.filtered.iter().map(|f| f.2).collect();
            self.execute(
                "INSERT INTO filtered_hits (company_id, reason, count)
                 SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[])
                 ON CONFLICT (company_id, reason)
                 DO UPDATE SET count = filtered_hits.count + excluded.count",
                &[&companies, &reasons, &counts],
            )?;
        }
        Ok(())
    }
}

/// Whether this process's batches last pruned the burst windows a second
/// or more from `now` (either way: tests run with made-up times); if so,
/// this batch prunes, and no other one of this second.
fn prune_due(now: i64) -> bool {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(i64::MIN);
    let last = LAST.load(Ordering::Relaxed);
    last.abs_diff(now) >= 1000
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::changes::Scope;
    use crate::storage::testdb;

    fn row(company_id: i64, body: &str) -> NewChange {
        NewChange {
            company_id,
            scope: Scope::Company,
            stream: changes::SYNC,
            body: body.into(),
        }
    }

    /// A batch's change-log rows wait for the company's order lock that
    /// another transaction's append holds, so seqs commit in order (a
    /// reader never skips the held change), and they take their seqs in
    /// the batch's order. Without the lock in the one statement, the batch
    /// would not wait and `wait_for_lock_waiter` would fail.
    #[test]
    fn a_batchs_changes_wait_for_the_companys_order_lock() {
        let mut conns = testdb::postgres_connections(3);
        let (held, batch, watcher) = (conns.remove(0), conns.remove(0), conns.remove(0));
        testdb::begin(&held);
        let first = changes::append(
            &held,
            7,
            Scope::Company,
            &warmlead_core::sync::ChangeBody::Tombstone {
                kind: warmlead_core::sync::EntityKind::Share,
                id: "t".into(),
            },
            1,
        )
        .unwrap();
        let racer = std::thread::spawn(move || {
            testdb::begin(&batch);
            let rows = [
                row(7, "{\"n\":1}"),
                row(3, "{\"n\":2}"),
                row(7, "{\"n\":3}"),
            ];
            PgTrackStore::new(&batch).append_changes(&rows, 2).unwrap();
            batch.execute_batch("COMMIT").unwrap();
        });
        testdb::wait_for_lock_waiter(&watcher);
        held.execute_batch("COMMIT").unwrap();
        racer.join().unwrap();
        let rows: Vec<(i64, i64, String)> = watcher
            .prepare("SELECT seq, company_id, body FROM changes ORDER BY seq")
            .unwrap()
            .query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows[0].0, first);
        let bodies: Vec<(i64, &str)> = rows[1..].iter().map(|r| (r.1, r.2.as_str())).collect();
        assert_eq!(
            bodies,
            [(7, "{\"n\":1}"), (3, "{\"n\":2}"), (7, "{\"n\":3}")]
        );
        assert!(rows.windows(2).all(|w| w[0].0 < w[1].0), "{rows:?}");
    }
}
