//! Bulk seeding for benchmarks (feature `testing`): a rep's world of
//! partners, leads and signals written in one transaction with multi-row
//! statements, with the rows and change-log entries the server's own write
//! paths make for them (the same bodies and audiences as `emit_user`,
//! `upsert_share`, `leads::emit` and the contact path's signal append), so a
//! device syncing it downloads what it would from a real company.

use sha2::{Digest, Sha256};
use warmlead_core::domain::{Channel, Role, Share, User};
use warmlead_core::invite::PartnerSource;
use warmlead_core::lead::{
    Grade, Lead, LeadSource, LeadStage, ManFlags, RadarBody, Signal, SignalKind,
};
use warmlead_core::sync::ChangeBody;
use warmlead_core::token::{derive_share_key, ShareClaim};
use warmlead_core::visibility::lead_copies;

use super::changes::{self, Scope};
use super::sql::{params_from_iter, Connection, Value};
use super::Secrets;
use crate::error::ServerError;

/// Rows per INSERT (at most 9 columns: 4,500 parameters, under SQLite's
/// and PostgreSQL's limits).
const ROWS_PER_STATEMENT: usize = 500;

/// How much to add under one rep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorldSize {
    /// New partners bound to the rep, each with a device and one share of
    /// the item. With 0, leads go to the rep's existing shares.
    pub partners: usize,
    /// New leads, spread over the rep's shares (two change rows each: the
    /// rep's copy and the partner's masked copy).
    pub leads: usize,
    /// New signals, spread over the new leads' visitors.
    pub signals: usize,
}

/// What a seed added.
#[derive(Debug, Clone, Default)]
pub struct Seeded {
    pub partner_ids: Vec<i64>,
    pub lead_ids: Vec<i64>,
    pub signal_ids: Vec<i64>,
}

/// Refreshes PostgreSQL's planner statistics of the seeded tables (as
/// autovacuum would soon after); SQLite's server never runs ANALYZE.
pub(crate) fn analyze(tx: &Connection, _: &Secrets) -> Result<(), ServerError> {
    if tx.dialect() == super::sql::Dialect::Postgres {
        tx.execute_batch("ANALYZE users, devices, shares, leads, lead_visitors, signals, changes")?;
    }
    Ok(())
}

/// A partner's share the new leads and signals come through.
struct ShareRef {
    token: String,
    partner_id: i64,
}

/// Adds `size` under `rep` of `company_id`, on `item_id`, in the caller's
/// transaction.
pub(crate) fn seed_rep_world(
    tx: &Connection,
    secrets: &Secrets,
    rep: &User,
    item_id: i64,
    size: WorldSize,
    now: i64,
) -> Result<Seeded, ServerError> {
    let mut log = Log::new(tx, rep.company_id, now);
    let partner_ids = partners(tx, &mut log, rep, size.partners, now)?;
    shares(tx, &mut log, secrets, rep, item_id, &partner_ids, now)?;
    let shares = rep_shares(tx, rep.id)?;
    if shares.is_empty() && size.leads + size.signals > 0 {
        return Err(ServerError::InvalidInput(
            "the rep has no partner share for leads to come through".into(),
        ));
    }
    let leads = leads(tx, &mut log, rep, item_id, &shares, size.leads, now)?;
    let signal_ids = signals(tx, &mut log, rep, item_id, &leads, size.signals, now)?;
    log.flush()?;
    Ok(Seeded {
        partner_ids,
        lead_ids: leads.iter().map(|l| l.id).collect(),
        signal_ids,
    })
}

fn partners(
    tx: &Connection,
    log: &mut Log,
    rep: &User,
    n: usize,
    now: i64,
) -> Result<Vec<i64>, ServerError> {
    let base = next_number(tx, "users")?;
    let mut users: Vec<User> = (0..n)
        .map(|i| User {
            id: 0,
            company_id: rep.company_id,
            role: Role::Partner,
            name: format!("伙伴{}", base + i as i64),
            phone: Some(format!("+86137{:08}", base + i as i64)),
            rep_id: Some(rep.id),
            joined_at_ms: now,
            source: Some(PartnerSource::Import),
            invited_by: Some(rep.id),
            invitation_id: None,
        })
        .collect();
    let ids = insert_rows(
        tx,
        "INSERT INTO users (company_id, role, name, phone, rep_id, created_at, source,
                            invited_by, invitation_id)",
        Some("id"),
        users.iter().map(|u| {
            vec![
                u.company_id.into(),
                u.role.as_str().into(),
                u.name.clone().into(),
                opt_text(u.phone.clone()),
                opt_int(u.rep_id),
                u.joined_at_ms.into(),
                opt_text(u.source.map(|s| s.as_str().to_string())),
                opt_int(u.invited_by),
                Value::Null,
            ]
        }),
    )?;
    for (user, id) in users.iter_mut().zip(&ids) {
        user.id = *id;
        log.sync(changes::user_scope(user), &ChangeBody::User(user.clone()))?;
    }
    Ok(ids)
}

/// One device and one signed share of the item per new partner.
fn shares(
    tx: &Connection,
    log: &mut Log,
    secrets: &Secrets,
    rep: &User,
    item_id: i64,
    partner_ids: &[i64],
    now: i64,
) -> Result<(), ServerError> {
    let device_ids = insert_rows(
        tx,
        "INSERT INTO devices (user_id, name, token_hash, created_at)",
        Some("id"),
        partner_ids.iter().map(|p| {
            let hash = Sha256::digest(format!("bench device of {p} at {now}")).to_vec();
            vec![(*p).into(), "bench".into(), Value::Blob(hash), now.into()]
        }),
    )?;
    let shares: Vec<Share> = partner_ids
        .iter()
        .zip(&device_ids)
        .map(|(partner_id, device_id)| {
            let claim = ShareClaim {
                device_id: *device_id as u64,
                share_no: 1,
                item_id: item_id as u64,
                channel: Channel::Moments,
            };
            Share {
                token: claim.sign(&derive_share_key(&secrets.master, claim.device_id)),
                device_id: *device_id,
                share_no: 1,
                item_id,
                partner_id: *partner_id,
                channel: Channel::Moments,
                created_at_ms: now,
            }
        })
        .collect();
    insert_rows(
        tx,
        "INSERT INTO shares (token, device_id, share_no, item_id, partner_id, rep_id, channel,
                             created_at)",
        None,
        shares.iter().map(|s| {
            vec![
                s.token.clone().into(),
                s.device_id.into(),
                s.share_no.into(),
                s.item_id.into(),
                s.partner_id.into(),
                rep.id.into(),
                s.channel.as_str().into(),
                s.created_at_ms.into(),
            ]
        }),
    )?;
    for share in shares {
        let scope = share_scope(rep, share.partner_id);
        log.sync(scope, &ChangeBody::Share(share))?;
    }
    Ok(())
}

/// The audience of everything that comes through a partner's share
/// (`ResolvedShare::scope`).
fn share_scope(rep: &User, partner_id: i64) -> Scope {
    Scope::Scoped {
        rep_id: Some(rep.id),
        partner_id: Some(partner_id),
    }
}

fn rep_shares(tx: &Connection, rep_id: i64) -> Result<Vec<ShareRef>, ServerError> {
    let mut stmt = tx.prepare(
        "SELECT token, partner_id FROM shares WHERE rep_id = ?1 ORDER BY partner_id, share_no",
    )?;
    let rows = stmt.query_map([rep_id], |r| {
        Ok(ShareRef {
            token: r.get(0)?,
            partner_id: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn leads(
    tx: &Connection,
    log: &mut Log,
    rep: &User,
    item_id: i64,
    shares: &[ShareRef],
    n: usize,
    now: i64,
) -> Result<Vec<Lead>, ServerError> {
    let base = next_number(tx, "leads")?;
    let mut leads: Vec<Lead> = (0..n)
        .map(|i| {
            let share = &shares[i % shares.len().max(1)];
            let no = base + i as i64;
            Lead {
                id: 0,
                company_id: rep.company_id,
                rep_id: Some(rep.id),
                partner_id: share.partner_id,
                name: format!("客户{no}"),
                phone: format!("+86139{no:08}"),
                note: String::new(),
                source: LeadSource::ContactForm,
                share_token: Some(share.token.clone()),
                item_id: Some(item_id),
                score: 0,
                grade: Grade::C,
                reasons: Vec::new(),
                man: ManFlags::default(),
                stage: LeadStage::New,
                created_at_ms: now,
                updated_at_ms: now,
                contacts: 1,
            }
        })
        .collect();
    let ids = insert_rows(
        tx,
        "INSERT INTO leads (company_id, rep_id, partner_id, name, phone, note, source,
                            share_token, item_id, score, grade, reasons, stage, created_at,
                            updated_at)",
        Some("id"),
        leads.iter().map(|l| {
            vec![
                l.company_id.into(),
                opt_int(l.rep_id),
                l.partner_id.into(),
                l.name.clone().into(),
                l.phone.clone().into(),
                l.note.clone().into(),
                l.source.as_str().into(),
                opt_text(l.share_token.clone()),
                opt_int(l.item_id),
                l.score.into(),
                l.grade.as_str().into(),
                "[]".into(),
                l.stage.as_str().into(),
                l.created_at_ms.into(),
                l.updated_at_ms.into(),
            ]
        }),
    )?;
    for (lead, id) in leads.iter_mut().zip(&ids) {
        lead.id = *id;
    }
    insert_rows(
        tx,
        "INSERT INTO lead_visitors (visitor_id, lead_id)",
        None,
        leads
            .iter()
            .map(|l| vec![visitor_of(l.id).into(), l.id.into()]),
    )?;
    for lead in &leads {
        for (audience, copy) in lead_copies(lead) {
            log.radar(audience, &RadarBody::Lead(copy))?;
        }
    }
    Ok(leads)
}

/// The anonymous visitor a seeded lead was before leaving their contact.
fn visitor_of(lead_id: i64) -> String {
    format!("bench-visitor-{lead_id}")
}

/// Signals of the leads' visitors, round robin, oldest first; without
/// leads, of anonymous visitors on the rep's partners' shares.
fn signals(
    tx: &Connection,
    log: &mut Log,
    rep: &User,
    item_id: i64,
    leads: &[Lead],
    n: usize,
    now: i64,
) -> Result<Vec<i64>, ServerError> {
    const KINDS: [SignalKind; 5] = [
        SignalKind::View,
        SignalKind::Dwell,
        SignalKind::Scroll,
        SignalKind::Video,
        SignalKind::RepeatVisit,
    ];
    if leads.is_empty() && n > 0 {
        return Err(ServerError::InvalidInput(
            "signals are seeded on leads' visitors: seed leads too".into(),
        ));
    }
    let mut all = Vec::with_capacity(n);
    // In chunks, so 1M signals never sit in memory twice.
    for start in (0..n).step_by(ROWS_PER_STATEMENT * 20) {
        let end = (start + ROWS_PER_STATEMENT * 20).min(n);
        let mut batch: Vec<Signal> = (start..end)
            .map(|i| {
                let lead = &leads[i % leads.len()];
                let kind = KINDS[(i / leads.len()) % KINDS.len()];
                Signal {
                    id: 0,
                    share_token: lead.share_token.clone().unwrap_or_default(),
                    visit_id: None,
                    visitor_id: visitor_of(lead.id),
                    kind,
                    value: (i % 100) as i64,
                    at_ms: now - (n - i) as i64,
                    partner_id: lead.partner_id,
                    item_id,
                    lead_id: Some(lead.id),
                }
            })
            .collect();
        let ids = insert_rows(
            tx,
            "INSERT INTO signals (share_token, visit_id, visitor_id, kind, value, at,
                                  company_id, partner_id, item_id)",
            Some("id"),
            batch.iter().map(|s| {
                vec![
                    s.share_token.clone().into(),
                    Value::Null,
                    s.visitor_id.clone().into(),
                    s.kind.as_str().into(),
                    s.value.into(),
                    s.at_ms.into(),
                    rep.company_id.into(),
                    s.partner_id.into(),
                    s.item_id.into(),
                ]
            }),
        )?;
        for (signal, id) in batch.iter_mut().zip(&ids) {
            signal.id = *id;
        }
        for signal in batch {
            let scope = share_scope(rep, signal.partner_id);
            log.radar(scope, &RadarBody::Signal(signal))?;
        }
        all.extend(ids);
    }
    Ok(all)
}

/// A number past every seeded row of `table`, so names and phones stay
/// unique when a world is seeded in steps.
fn next_number(tx: &Connection, table: &str) -> Result<i64, ServerError> {
    Ok(tx.query_row(
        &format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {table}"),
        (),
        |r| r.get(0),
    )?)
}

/// Inserts `rows` (each the columns of `head`, in order) with multi-row
/// statements, returning the `returning` column (the new ids) in row order.
fn insert_rows(
    tx: &Connection,
    head: &str,
    returning: Option<&str>,
    rows: impl Iterator<Item = Vec<Value>>,
) -> Result<Vec<i64>, ServerError> {
    let mut ids = Vec::new();
    let mut batch: Vec<Vec<Value>> = Vec::with_capacity(ROWS_PER_STATEMENT);
    let mut flush = |batch: &mut Vec<Vec<Value>>| -> Result<(), ServerError> {
        if batch.is_empty() {
            return Ok(());
        }
        let sql = multi_row_sql(head, batch[0].len(), batch.len(), returning);
        let args: Vec<Value> = batch.drain(..).flatten().collect();
        let mut stmt = tx.prepare_cached(&sql)?;
        if returning.is_some() {
            let got = stmt.query_map(params_from_iter(args), |r| r.get::<_, i64>(0))?;
            let got: Vec<i64> = got.collect::<Result<_, _>>()?;
            check_ascending(&ids, &got)?;
            ids.extend(got);
        } else {
            stmt.execute(params_from_iter(args))?;
        }
        Ok(())
    };
    for row in rows {
        batch.push(row);
        if batch.len() == ROWS_PER_STATEMENT {
            flush(&mut batch)?;
        }
    }
    flush(&mut batch)?;
    Ok(ids)
}

/// Ids come back in row order on both backends (one statement's rows are
/// numbered as they are inserted); the bodies the log gets depend on it, so
/// it is checked rather than assumed.
fn check_ascending(before: &[i64], got: &[i64]) -> Result<(), ServerError> {
    let mut last = before.last().copied().unwrap_or(i64::MIN);
    for id in got {
        if *id <= last {
            return Err(ServerError::Conflict(format!(
                "bulk insert returned ids out of order ({id} after {last})"
            )));
        }
        last = *id;
    }
    Ok(())
}

fn multi_row_sql(head: &str, cols: usize, rows: usize, returning: Option<&str>) -> String {
    let mut sql = String::with_capacity(head.len() + rows * cols * 7);
    sql.push_str(head);
    sql.push_str(" VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..cols {
            if c > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("?{}", r * cols + c + 1));
        }
        sql.push(')');
    }
    if let Some(column) = returning {
        sql.push_str(" RETURNING ");
        sql.push_str(column);
    }
    sql
}

fn opt_int(v: Option<i64>) -> Value {
    v.map_or(Value::Null, Value::Integer)
}

fn opt_text(v: Option<String>) -> Value {
    v.map_or(Value::Null, Value::Text)
}

/// Change-log rows, written like `changes::append`: the first one through it
/// (on PostgreSQL it takes the company's change-log lock, held until commit,
/// and notifies), the rest with multi-row inserts under that lock.
struct Log<'a> {
    tx: &'a Connection,
    company_id: i64,
    now: i64,
    first_done: bool,
    rows: Vec<Vec<Value>>,
}

impl<'a> Log<'a> {
    fn new(tx: &'a Connection, company_id: i64, now: i64) -> Log<'a> {
        Log {
            tx,
            company_id,
            now,
            first_done: false,
            rows: Vec::new(),
        }
    }

    fn sync(&mut self, scope: Scope, body: &ChangeBody) -> Result<(), ServerError> {
        if !self.first_done {
            self.first_done = true;
            changes::append(self.tx, self.company_id, scope, body, self.now)?;
            return Ok(());
        }
        self.push(scope, changes::SYNC, serde_json::to_string(body)?)
    }

    fn radar(&mut self, scope: Scope, body: &RadarBody) -> Result<(), ServerError> {
        if !self.first_done {
            self.first_done = true;
            changes::append_radar(self.tx, self.company_id, scope, body, self.now)?;
            return Ok(());
        }
        self.push(scope, changes::RADAR, serde_json::to_string(body)?)
    }

    fn push(&mut self, scope: Scope, stream: &str, body: String) -> Result<(), ServerError> {
        let (audience, rep_id, partner_id) = scope.columns();
        self.rows.push(vec![
            self.company_id.into(),
            opt_int(rep_id),
            opt_int(partner_id),
            audience.into(),
            body.into(),
            self.now.into(),
            stream.into(),
        ]);
        if self.rows.len() >= ROWS_PER_STATEMENT * 20 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ServerError> {
        let rows = std::mem::take(&mut self.rows);
        insert_rows(
            self.tx,
            "INSERT INTO changes (company_id, rep_id, partner_id, audience, body, created_at,
                                  stream)",
            Some("seq"),
            rows.into_iter(),
        )?;
        Ok(())
    }
}
