//! Applying pages of the radar stream: each page with its cursor in one
//! transaction, with the same epoch rule as the sync stream.

use rusqlite::{params, Connection, OptionalExtension};
use warmlead_core::lead::{ChildShare, Lead, RadarBody, RadarPullResponse, Signal, VisitStats};

use crate::{outbox, PullApplied, Store, StoreError};

/// The page cache of a connection that applies radar pages, in KiB (a
/// negative `cache_size` is KiB; memory is taken only as pages are used). A
/// first download inserts a million signals into indexes on random keys
/// (visitor ids); with SQLite's 2 MiB default most inserts missed the cache
/// and spilled dirty pages to the WAL before the commit.
const PULL_CACHE_KIB: i64 = -65_536;
/// WAL pages between checkpoints while a radar download has more pages to
/// come (64 MiB of 4 KiB pages), and SQLite's default.
const PULL_CHECKPOINT_PAGES: i64 = 16_384;
const DEFAULT_CHECKPOINT_PAGES: i64 = 1_000;

impl Store {
    /// The server epoch the radar data came from, and the radar cursor.
    pub fn radar_cursor(&self) -> Result<(Option<String>, i64), StoreError> {
        Ok(self.conn.query_row(
            "SELECT epoch, cursor FROM radar_state WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Applies a radar page and stores its cursor atomically. On a new epoch,
    /// clears the radar tables, sets the cursor to 0 and does NOT apply the page.
    pub fn apply_radar_pull(&self, page: &RadarPullResponse) -> Result<PullApplied, StoreError> {
        self.conn
            .pragma_update(None, "cache_size", PULL_CACHE_KIB)?;
        // While more pages follow, the WAL is copied back into the file
        // every 64 MiB instead of every 4 MiB: a page of signals dirties
        // pages all over their indexes, so a checkpoint per page rewrote
        // most of them every time. The last page puts the default back,
        // and its commit checkpoints the rest.
        let checkpoint_pages = if page.has_more {
            PULL_CHECKPOINT_PAGES
        } else {
            DEFAULT_CHECKPOINT_PAGES
        };
        self.conn
            .pragma_update(None, "wal_autocheckpoint", checkpoint_pages)?;
        crate::relaxed_sync(&self.conn, || self.apply_radar_page(page))
    }

    fn apply_radar_page(&self, page: &RadarPullResponse) -> Result<PullApplied, StoreError> {
        let tx = crate::write_tx(&self.conn)?;
        let stored: Option<String> = tx
            .query_row("SELECT epoch FROM radar_state WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?
            .flatten();
        if stored.as_deref().is_some_and(|e| e != page.epoch) {
            reset_radar(&tx, &page.epoch)?;
            tx.commit()?;
            return Ok(PullApplied {
                changes: 0,
                epoch_reset: true,
            });
        }
        apply_changes(&tx, page)?;
        tx.execute(
            "UPDATE radar_state SET epoch = ?1, cursor = ?2 WHERE id = 1",
            params![page.epoch, page.cursor],
        )?;
        tx.commit()?;
        Ok(PullApplied {
            changes: page.changes.len(),
            epoch_reset: false,
        })
    }
}

fn reset_radar(conn: &Connection, epoch: &str) -> Result<(), StoreError> {
    conn.execute_batch(
        "DELETE FROM lead_reasons; DELETE FROM leads; DELETE FROM signals;
         DELETE FROM visit_stats; DELETE FROM child_shares;",
    )?;
    conn.execute(
        "UPDATE radar_state SET epoch = ?1, cursor = 0 WHERE id = 1",
        [epoch],
    )?;
    Ok(())
}

/// Rows of one multi-row signal upsert: 64 x 10 values, well below
/// SQLite's limit on bound parameters.
const SIGNAL_ROWS: usize = 64;

/// A page's changes in order. Signals (most of a first download) are
/// written 64 to a statement; the others one by one. Each table's rows keep
/// their order, which is all the upserts need (a signal's row depends on no
/// other table). Leads with an unpushed MAN change are looked up once per
/// page, not once per lead.
fn apply_changes(conn: &Connection, page: &RadarPullResponse) -> Result<(), StoreError> {
    let man_pending = outbox::pending_ids(conn, "set_man_flags", "lead_id")?;
    let mut signals: Vec<&Signal> = Vec::with_capacity(SIGNAL_ROWS);
    for change in &page.changes {
        match &change.body {
            RadarBody::Signal(s) => {
                signals.push(s);
                if signals.len() == SIGNAL_ROWS {
                    upsert_signals(conn, &signals)?;
                    signals.clear();
                }
            }
            RadarBody::Lead(l) => write_lead(conn, l, man_pending.contains(&l.id))?,
            RadarBody::VisitStats(v) => upsert_visit_stats(conn, v)?,
            RadarBody::ChildShare(c) => upsert_child(conn, c)?,
        }
    }
    for s in signals {
        upsert_signals(conn, &[s])?;
    }
    Ok(())
}

/// Writes a lead and its reasons; `man_pending`: the lead has an unpushed
/// MAN change, which is newer than what the server sent, so it is kept.
fn write_lead(conn: &Connection, l: &Lead, man_pending: bool) -> Result<(), StoreError> {
    let man = if man_pending {
        // What a refused change puts back is what the server sent.
        let copy = serde_json::to_value(l.man)?;
        outbox::refresh_server_copy(conn, "set_man_flags", Some(l.id), &copy)?;
        crate::leads::stored_man(conn, l.id)?.unwrap_or(l.man)
    } else {
        l.man
    };
    conn.prepare_cached(
        "INSERT INTO leads (id, company_id, rep_id, partner_id, name, phone, note, source, share_token, \
           item_id, score, grade, man_money, man_authority, man_need, stage, created_at_ms, updated_at_ms, contacts) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19) \
         ON CONFLICT (id) DO UPDATE SET company_id = excluded.company_id, rep_id = excluded.rep_id, \
           partner_id = excluded.partner_id, name = excluded.name, phone = excluded.phone, note = excluded.note, \
           source = excluded.source, share_token = excluded.share_token, item_id = excluded.item_id, \
           score = excluded.score, grade = excluded.grade, man_money = excluded.man_money, \
           man_authority = excluded.man_authority, man_need = excluded.man_need, stage = excluded.stage, \
           created_at_ms = excluded.created_at_ms, updated_at_ms = excluded.updated_at_ms, contacts = excluded.contacts",
    )?
    .execute(params![
        l.id, l.company_id, l.rep_id, l.partner_id, l.name, l.phone, l.note, l.source.as_str(),
        l.share_token, l.item_id, l.score, l.grade.as_str(), man.money, man.authority, man.need,
        l.stage.as_str(), l.created_at_ms, l.updated_at_ms, l.contacts,
    ])?;
    conn.prepare_cached("DELETE FROM lead_reasons WHERE lead_id = ?1")?
        .execute([l.id])?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO lead_reasons (lead_id, ord, code, value, points) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (ord, r) in l.reasons.iter().enumerate() {
        stmt.execute(params![
            l.id,
            ord as i64,
            code_str(&r.code)?,
            r.value,
            r.points
        ])?;
    }
    Ok(())
}

/// The serde name of a reason code ("left_contact").
pub(crate) fn code_str<T: serde::Serialize>(code: &T) -> Result<String, StoreError> {
    match serde_json::to_value(code)? {
        serde_json::Value::String(s) => Ok(s),
        other => Err(StoreError::Corrupt(format!("code {other}"))),
    }
}

/// Upserts signals in one statement (`SIGNAL_ROWS` or one row, so both
/// stay in the statement cache).
fn upsert_signals(conn: &Connection, rows: &[&Signal]) -> Result<(), StoreError> {
    let placeholders: Vec<String> = (0..rows.len())
        .map(|r| {
            let cols: Vec<String> = (1..=10).map(|c| format!("?{}", r * 10 + c)).collect();
            format!("({})", cols.join(", "))
        })
        .collect();
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT INTO signals (id, share_token, visit_id, visitor_id, kind, value, at_ms, partner_id, item_id, lead_id) \
         VALUES {} \
         ON CONFLICT (id) DO UPDATE SET share_token = excluded.share_token, visit_id = excluded.visit_id, \
           visitor_id = excluded.visitor_id, kind = excluded.kind, value = excluded.value, at_ms = excluded.at_ms, \
           partner_id = excluded.partner_id, item_id = excluded.item_id, lead_id = excluded.lead_id",
        placeholders.join(", ")
    ))?;
    let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(rows.len() * 10);
    let kinds: Vec<&str> = rows.iter().map(|s| s.kind.as_str()).collect();
    for (s, kind) in rows.iter().zip(&kinds) {
        values.extend([
            &s.id as &dyn rusqlite::ToSql,
            &s.share_token,
            &s.visit_id,
            &s.visitor_id,
            kind,
            &s.value,
            &s.at_ms,
            &s.partner_id,
            &s.item_id,
            &s.lead_id,
        ]);
    }
    stmt.execute(values.as_slice())?;
    Ok(())
}

fn upsert_visit_stats(conn: &Connection, v: &VisitStats) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO visit_stats (visit_id, share_token, root_token, item_id, partner_id, rep_id, \
           visitor_id, opened_at_ms, last_seen_at_ms, dwell_ms, scroll_pct, video_pct, visit_no, page_views) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        v.visit_id, v.share_token, v.root_token, v.item_id, v.partner_id, v.rep_id, v.visitor_id,
        v.opened_at_ms, v.last_seen_at_ms, v.dwell_ms, v.scroll_pct, v.video_pct, v.visit_no,
        v.page_views,
    ])?;
    Ok(())
}

fn upsert_child(conn: &Connection, c: &ChildShare) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO child_shares (token, parent_token, root_token, item_id, partner_id, depth, \
           visitor_id, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        c.token, c.parent_token, c.root_token, c.item_id, c.partner_id, c.depth, c.visitor_id,
        c.created_at_ms,
    ])?;
    Ok(())
}
