//! The leads list (keyset pages with filters), lead detail, and the rep's
//! Money/Authority/Need flags (local change + outbox row in one transaction).

use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, Row};
use warmlead_core::app::{ChainNode, LeadCursor, LeadDetail, LeadPage, LeadQuery, LeadSummary};
use warmlead_core::lead::{
    Grade, Lead, LeadSource, LeadStage, ManFlags, Reason, Signal, SignalKind, VisitStats,
};
use warmlead_core::sync::MutationBody;

use crate::{outbox, Store, StoreError};

/// Page size when the query names none, and the most one page may hold.
pub const DEFAULT_LEAD_PAGE: u32 = 50;
pub const MAX_LEAD_PAGE: u32 = 500;
/// A forward chain bigger than this is cut (the tree is a glance, not a report).
const MAX_CHAIN_NODES: usize = 200;

const LEAD_COLUMNS: &str = "l.id, l.company_id, l.rep_id, l.partner_id, l.name, l.phone, l.note, \
    l.source, l.share_token, l.item_id, l.score, l.grade, l.man_money, l.man_authority, l.man_need, \
    l.stage, l.created_at_ms, l.updated_at_ms, l.contacts, u.name, ci.title, \
    EXISTS (SELECT 1 FROM outbox o WHERE o.state = 'pending' AND o.name = 'set_man_flags' \
            AND json_extract(o.args, '$.lead_id') = l.id)";

const LEAD_FROM: &str = "FROM leads l LEFT JOIN users u ON u.id = l.partner_id \
    LEFT JOIN content_items ci ON ci.id = l.item_id";

impl Store {
    /// One page of leads, newest change first, filtered by `q`. Keyset
    /// pagination on (updated_at_ms, id): pass `next` back as `q.after`.
    pub fn leads(&self, q: &LeadQuery) -> Result<LeadPage, StoreError> {
        let limit = q.limit.unwrap_or(DEFAULT_LEAD_PAGE).clamp(1, MAX_LEAD_PAGE);
        let (filter, mut args) = where_clause(q);
        args.push(Value::Integer(i64::from(limit) + 1));
        let sql = format!(
            "SELECT {LEAD_COLUMNS} {LEAD_FROM} {filter} \
             ORDER BY l.updated_at_ms DESC, l.id DESC LIMIT ?"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut leads = stmt
            .query_map(rusqlite::params_from_iter(args), summary_row)?
            .collect::<Result<Vec<_>, _>>()?;
        let next = if leads.len() > limit as usize {
            leads.truncate(limit as usize);
            leads.last().map(|s| LeadCursor {
                updated_at_ms: s.lead.updated_at_ms,
                id: s.lead.id,
            })
        } else {
            None
        };
        for s in &mut leads {
            s.lead.reasons = reasons(&self.conn, s.lead.id)?;
        }
        Ok(LeadPage { leads, next })
    }

    /// The lead with its reasons, its visitor's signals and visits, and the
    /// forward chain it came through. `LeadNotFound` when it is not here.
    pub fn lead_detail(&self, id: i64) -> Result<LeadDetail, StoreError> {
        let summary = lead_summary(&self.conn, id)?.ok_or(StoreError::LeadNotFound(id))?;
        let visitors = visitors_of(&self.conn, id)?;
        let timeline = timeline(&self.conn, id, &visitors)?;
        let visits = visits(&self.conn, &visitors)?;
        let chain = match &summary.lead.share_token {
            Some(t) => chain(&self.conn, t)?,
            None => None,
        };
        Ok(LeadDetail {
            summary,
            timeline,
            visits,
            chain,
        })
    }

    /// Records Money/Authority/Need on a lead: the local row and the outbox
    /// row in one transaction. The server regrades it; the grade arrives by pull.
    pub fn set_man_flags(
        &self,
        lead_id: i64,
        man: ManFlags,
        now_ms: i64,
    ) -> Result<LeadSummary, StoreError> {
        let tx = crate::write_tx(&self.conn)?;
        // First: the outbox row keeps the flags it replaces, for its undo.
        outbox::enqueue(&tx, &MutationBody::SetManFlags { lead_id, man }, now_ms)?;
        let changed = tx.execute(
            "UPDATE leads SET man_money = ?1, man_authority = ?2, man_need = ?3 WHERE id = ?4",
            params![man.money, man.authority, man.need, lead_id],
        )?;
        if changed == 0 {
            // Dropping the transaction drops the outbox row too.
            return Err(StoreError::LeadNotFound(lead_id));
        }
        let summary = lead_summary(&tx, lead_id)?.ok_or(StoreError::LeadNotFound(lead_id))?;
        tx.commit()?;
        Ok(summary)
    }

    /// Leads in the cache (all of them; the benchmark's baseline).
    pub fn lead_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM leads", [], |r| r.get(0))?)
    }
}

/// The WHERE clause of `q` and its arguments, in placeholder order.
fn where_clause(q: &LeadQuery) -> (String, Vec<Value>) {
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if !q.grades.is_empty() {
        let marks = vec!["?"; q.grades.len()].join(", ");
        conds.push(format!("l.grade IN ({marks})"));
        args.extend(q.grades.iter().map(|g| Value::Text(g.as_str().into())));
    }
    let mut eq = |col: &str, v: Option<i64>| {
        if let Some(v) = v {
            conds.push(format!("{col} = ?"));
            args.push(Value::Integer(v));
        }
    };
    eq("l.partner_id", q.partner_id);
    eq("l.item_id", q.item_id);
    if let Some(since) = q.since_ms {
        conds.push("l.updated_at_ms >= ?".into());
        args.push(Value::Integer(since));
    }
    if let Some(s) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        conds.push(
            "(l.name LIKE ? ESCAPE '\\' OR l.phone LIKE ? ESCAPE '\\' OR l.note LIKE ? ESCAPE '\\')"
                .into(),
        );
        let pattern = format!("%{}%", escape_like(s));
        args.extend((0..3).map(|_| Value::Text(pattern.clone())));
    }
    if let Some(c) = q.after {
        conds.push("(l.updated_at_ms, l.id) < (?, ?)".into());
        args.push(Value::Integer(c.updated_at_ms));
        args.push(Value::Integer(c.id));
    }
    if conds.is_empty() {
        (String::new(), args)
    } else {
        (format!("WHERE {}", conds.join(" AND ")), args)
    }
}

fn escape_like(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            _ => vec![c],
        })
        .collect()
}

fn summary_row(r: &Row<'_>) -> rusqlite::Result<LeadSummary> {
    let bad = |i: usize, what: &str, v: String| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown {what} {v:?}").into(),
        )
    };
    let source: String = r.get(7)?;
    let grade: String = r.get(11)?;
    let stage: String = r.get(15)?;
    let partner_id: i64 = r.get(3)?;
    let partner: Option<String> = r.get(19)?;
    let lead = Lead {
        id: r.get(0)?,
        company_id: r.get(1)?,
        rep_id: r.get(2)?,
        partner_id,
        name: r.get(4)?,
        phone: r.get(5)?,
        note: r.get(6)?,
        source: LeadSource::parse(&source).ok_or_else(|| bad(7, "source", source.clone()))?,
        share_token: r.get(8)?,
        item_id: r.get(9)?,
        score: r.get(10)?,
        grade: Grade::parse(&grade).ok_or_else(|| bad(11, "grade", grade.clone()))?,
        reasons: Vec::new(),
        man: ManFlags {
            money: r.get(12)?,
            authority: r.get(13)?,
            need: r.get(14)?,
        },
        stage: LeadStage::parse(&stage).ok_or_else(|| bad(15, "stage", stage.clone()))?,
        created_at_ms: r.get(16)?,
        updated_at_ms: r.get(17)?,
        contacts: r.get(18)?,
    };
    Ok(LeadSummary {
        lead,
        partner_name: partner.unwrap_or_else(|| format!("#{partner_id}")),
        item_title: r.get(20)?,
        man_pending: r.get(21)?,
    })
}

fn lead_summary(conn: &Connection, id: i64) -> Result<Option<LeadSummary>, StoreError> {
    let sql = format!("SELECT {LEAD_COLUMNS} {LEAD_FROM} WHERE l.id = ?1");
    let found = conn
        .prepare_cached(&sql)?
        .query_row([id], summary_row)
        .optional()?;
    match found {
        Some(mut s) => {
            s.lead.reasons = reasons(conn, id)?;
            Ok(Some(s))
        }
        None => Ok(None),
    }
}

/// The MAN flags stored locally for a lead, if it is here.
pub(crate) fn stored_man(conn: &Connection, id: i64) -> Result<Option<ManFlags>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT man_money, man_authority, man_need FROM leads WHERE id = ?1",
            [id],
            |r| {
                Ok(ManFlags {
                    money: r.get(0)?,
                    authority: r.get(1)?,
                    need: r.get(2)?,
                })
            },
        )
        .optional()?)
}

fn reasons(conn: &Connection, lead_id: i64) -> Result<Vec<Reason>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT code, value, points FROM lead_reasons WHERE lead_id = ?1 ORDER BY ord",
    )?;
    let raw = stmt
        .query_map([lead_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    // A code this version does not know is skipped, not fatal: the server may be newer.
    Ok(raw
        .into_iter()
        .filter_map(|(code, value, points)| {
            let code = serde_json::from_value(serde_json::Value::String(code)).ok()?;
            Some(Reason {
                code,
                value,
                points,
            })
        })
        .collect())
}

/// The anonymous visitors who became this lead.
fn visitors_of(conn: &Connection, lead_id: i64) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT DISTINCT visitor_id FROM signals WHERE lead_id = ?1")?;
    let v = stmt
        .query_map([lead_id], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(v)
}

fn timeline(
    conn: &Connection,
    lead_id: i64,
    visitors: &[String],
) -> Result<Vec<Signal>, StoreError> {
    let marks = vec!["?"; visitors.len()].join(", ");
    let sql = format!(
        "SELECT id, share_token, visit_id, visitor_id, kind, value, at_ms, partner_id, item_id, lead_id \
         FROM signals WHERE lead_id = ? OR visitor_id IN ({marks}) ORDER BY at_ms, id LIMIT 1000"
    );
    let mut args = vec![Value::Integer(lead_id)];
    args.extend(visitors.iter().map(|v| Value::Text(v.clone())));
    let mut stmt = conn.prepare(&sql)?;
    let raw = stmt
        .query_map(rusqlite::params_from_iter(args), |r| {
            let kind: String = r.get(4)?;
            Ok((kind, signal_row(r)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(raw
        .into_iter()
        .filter_map(|(kind, mut s)| {
            s.kind = SignalKind::parse(&kind)?;
            Some(s)
        })
        .collect())
}

fn signal_row(r: &Row<'_>) -> rusqlite::Result<Signal> {
    Ok(Signal {
        id: r.get(0)?,
        share_token: r.get(1)?,
        visit_id: r.get(2)?,
        visitor_id: r.get(3)?,
        kind: SignalKind::View,
        value: r.get(5)?,
        at_ms: r.get(6)?,
        partner_id: r.get(7)?,
        item_id: r.get(8)?,
        lead_id: r.get(9)?,
    })
}

fn visits(conn: &Connection, visitors: &[String]) -> Result<Vec<VisitStats>, StoreError> {
    if visitors.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; visitors.len()].join(", ");
    let sql = format!(
        "SELECT visit_id, share_token, root_token, item_id, partner_id, rep_id, visitor_id, opened_at_ms, \
           last_seen_at_ms, dwell_ms, scroll_pct, video_pct, visit_no, page_views \
         FROM visit_stats WHERE visitor_id IN ({marks}) ORDER BY opened_at_ms, visit_id LIMIT 500"
    );
    let mut stmt = conn.prepare(&sql)?;
    let v = stmt
        .query_map(rusqlite::params_from_iter(visitors.iter()), |r| {
            Ok(VisitStats {
                visit_id: r.get(0)?,
                share_token: r.get(1)?,
                root_token: r.get(2)?,
                item_id: r.get(3)?,
                partner_id: r.get(4)?,
                rep_id: r.get(5)?,
                visitor_id: r.get(6)?,
                opened_at_ms: r.get(7)?,
                last_seen_at_ms: r.get(8)?,
                dwell_ms: r.get(9)?,
                scroll_pct: r.get(10)?,
                video_pct: r.get(11)?,
                visit_no: r.get(12)?,
                page_views: r.get(13)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(v)
}

/// The tree of shares from the partner's share that `token` descends from
/// (or is). `None` when the lead's share is the partner's own and nobody
/// passed it on.
fn chain(conn: &Connection, token: &str) -> Result<Option<ChainNode>, StoreError> {
    let root: String = conn
        .query_row(
            "SELECT root_token FROM child_shares WHERE token = ?1",
            [token],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_else(|| token.to_string());
    let mut stmt = conn.prepare_cached(
        "SELECT token, parent_token, depth, visitor_id, created_at_ms FROM child_shares \
         WHERE root_token = ?1 ORDER BY depth, created_at_ms, token LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![root, MAX_CHAIN_NODES as i64], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut children: HashMap<String, Vec<ChainNode>> = HashMap::new();
    // Deepest first, so each node's children are complete before it is placed.
    for (tok, parent, depth, visitor, at) in rows.into_iter().rev() {
        let node = ChainNode {
            children: children.remove(&tok).unwrap_or_default(),
            is_lead_share: tok == token,
            token: tok,
            depth,
            visitor_code: Some(crate::radar::visitor_label(&visitor)),
            created_at_ms: Some(at),
        };
        children.entry(parent).or_default().push(node);
    }
    let mut kids = children.remove(&root).unwrap_or_default();
    kids.reverse();
    for list in children.values_mut() {
        list.reverse();
    }
    Ok(Some(ChainNode {
        is_lead_share: root == token,
        token: root,
        depth: 0,
        visitor_code: None,
        created_at_ms: None,
        children: kids,
    }))
}
