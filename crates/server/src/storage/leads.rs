//! Leads: made from the contact form, merged by phone within a company,
//! scored from their visitors' signals.
//!
//! Duplicates: one person (E.164 phone) is one lead per company. When the
//! same phone leaves its contact again, through any share, the existing lead
//! is kept and FIRST REFERRER WINS: its partner, rep, share and source stay
//! those of the first contact; the new contact adds a `contact` signal, its
//! visitor (so that browser's signals count too), a note line, and
//! `contacts + 1`. Reassigning a lead is a manager's decision, not a race.

use crate::storage::sql::{params, Connection, OptionalExtension, Row};
use warmlead_core::lead::{
    Grade, Lead, LeadSource, LeadStage, ManFlags, RadarBody, Signal, SignalKind,
};
use warmlead_core::phone::Phone;
use warmlead_core::scoring::{evaluate, may_cool, regrade, ScoringRules, SignalFact};

use super::changes;
use super::shares::ResolvedShare;
use super::signals::insert_signal;
use super::{now_ms, Caller, Database};
use crate::error::ServerError;
use warmlead_core::lead::merge;
use warmlead_core::visibility::{lead_copies, Managed};

/// A contact left on a share page, already validated.
pub(crate) struct NewContact {
    pub name: String,
    pub phone: Phone,
    pub note: String,
    pub visitor_id: Option<String>,
}

const LEAD_COLS: &str =
    "id, company_id, rep_id, partner_id, name, phone, note, source, share_token,
     item_id, score, grade, reasons, man_money, man_authority, man_need, stage, created_at,
     updated_at, contacts";

fn lead_row(r: &Row) -> crate::storage::sql::Result<Lead> {
    let source: String = r.get(7)?;
    let grade: String = r.get(11)?;
    let reasons: String = r.get(12)?;
    let stage: String = r.get(16)?;
    Ok(Lead {
        id: r.get(0)?,
        company_id: r.get(1)?,
        rep_id: r.get(2)?,
        partner_id: r.get(3)?,
        name: r.get(4)?,
        phone: r.get(5)?,
        note: r.get(6)?,
        source: LeadSource::parse(&source).unwrap_or(LeadSource::ContactForm),
        share_token: r.get(8)?,
        item_id: r.get(9)?,
        score: r.get(10)?,
        grade: Grade::parse(&grade).unwrap_or(Grade::C),
        reasons: serde_json::from_str(&reasons).unwrap_or_default(),
        man: ManFlags {
            money: r.get(13)?,
            authority: r.get(14)?,
            need: r.get(15)?,
        },
        stage: LeadStage::parse(&stage).unwrap_or(LeadStage::New),
        created_at_ms: r.get(17)?,
        updated_at_ms: r.get(18)?,
        contacts: r.get(19)?,
    })
}

pub(crate) fn get_lead(conn: &Connection, id: i64) -> Result<Option<Lead>, ServerError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {LEAD_COLS} FROM leads WHERE id = ?1"))?
        .query_row([id], lead_row)
        .optional()?)
}

pub(crate) fn company_rules(
    conn: &Connection,
    company_id: i64,
) -> Result<ScoringRules, ServerError> {
    let json: Option<String> = conn
        .prepare_cached("SELECT rules FROM scoring_rules WHERE company_id = ?1")?
        .query_row([company_id], |r| r.get(0))
        .optional()?;
    Ok(json
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default())
}

pub(crate) fn set_company_rules(
    tx: &Connection,
    company_id: i64,
    rules: &ScoringRules,
) -> Result<(), ServerError> {
    rules.validate()?;
    tx.execute(
        "INSERT INTO scoring_rules (company_id, rules) VALUES (?1, ?2)
         ON CONFLICT (company_id) DO UPDATE SET rules = excluded.rules",
        params![company_id, serde_json::to_string(rules)?],
    )?;
    Ok(())
}

/// The lead's copies (`visibility::lead_copies`: the partner's masked) in
/// the radar stream.
fn emit(tx: &Connection, lead: &Lead, now: i64) -> Result<(), ServerError> {
    for (audience, copy) in lead_copies(lead) {
        changes::append_radar(tx, lead.company_id, audience, &RadarBody::Lead(copy), now)?;
    }
    Ok(())
}

fn facts(conn: &Connection, lead_id: i64) -> Result<Vec<SignalFact>, ServerError> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.kind, s.value, s.at, COALESCE(s.visit_id, 0) FROM signals s
         JOIN lead_visitors l ON l.visitor_id = s.visitor_id
         JOIN leads d ON d.id = l.lead_id AND d.company_id = s.company_id
         WHERE l.lead_id = ?1 ORDER BY s.id",
    )?;
    let rows = stmt.query_map([lead_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, value, at_ms, visit_id) = row?;
        if let Some(kind) = SignalKind::parse(&kind) {
            out.push(SignalFact {
                kind,
                value,
                at_ms,
                visit_id,
            });
        }
    }
    Ok(out)
}

/// A lead is read, judged and written back (score, grade, MAN, note): on
/// PostgreSQL two such transactions at once (a beacon batch, a rep setting
/// MAN, the hourly regrade, possibly in two processes) would each write
/// what it read before the other's commit, and one change would be lost.
/// So the lead's row is locked first; SQLite's single writer already
/// orders them. Several leads are always locked in ascending id order.
fn lock_lead(tx: &Connection, lead_id: i64) -> Result<(), ServerError> {
    if tx.dialect() == crate::storage::sql::Dialect::Postgres {
        tx.execute("SELECT id FROM leads WHERE id = ?1 FOR UPDATE", [lead_id])?;
    }
    Ok(())
}

/// Recomputes score, grade and reasons; logs the lead when any changed
/// (or when `force`). Returns the lead and its grade before.
pub(crate) fn rescore(
    tx: &Connection,
    lead_id: i64,
    now: i64,
    force: bool,
) -> Result<Option<(Lead, Grade)>, ServerError> {
    lock_lead(tx, lead_id)?;
    let Some(lead) = get_lead(tx, lead_id)? else {
        return Ok(None);
    };
    let rules = company_rules(tx, lead.company_id)?;
    let g = evaluate(&rules, &facts(tx, lead_id)?, lead.source, lead.man, now);
    let before = lead.grade;
    if !force && !g.changes(&lead) {
        return Ok(Some((lead, before)));
    }
    let lead = apply_grade(tx, lead_id, &g, now, now)?;
    Ok(Some((lead, before)))
}

fn existing_lead(
    tx: &Connection,
    company: i64,
    c: &NewContact,
) -> Result<Option<merge::Existing>, ServerError> {
    Ok(tx
        .query_row(
            "SELECT id, note FROM leads WHERE company_id = ?1 AND phone = ?2",
            params![company, c.phone.as_e164()],
            |r| {
                Ok(merge::Existing {
                    id: r.get(0)?,
                    note: r.get(1)?,
                })
            },
        )
        .optional()?)
}

fn merge_into(tx: &Connection, id: i64, note: &str, now: i64) -> Result<i64, ServerError> {
    tx.execute(
        "UPDATE leads SET contacts = contacts + 1, note = ?1, updated_at = ?2 WHERE id = ?3",
        params![note, now, id],
    )?;
    Ok(id)
}

/// The new lead's id; None when the number is already a lead of the
/// company (the unique (company_id, phone) refused it).
fn insert_lead(
    tx: &Connection,
    share: &ResolvedShare,
    c: &NewContact,
    note: &str,
    now: i64,
) -> Result<Option<i64>, ServerError> {
    Ok(tx
        .query_row(
            "INSERT INTO leads (company_id, rep_id, partner_id, name, phone, note, source,
                                share_token, item_id, score, grade, reasons, stage,
                                created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'contact_form', ?7, ?8, 0, 'C', '[]', 'new', ?9, ?9)
             ON CONFLICT (company_id, phone) DO NOTHING
             RETURNING id",
            params![
                share.company.id,
                share.rep_id(),
                share.sharer.id,
                c.name,
                c.phone.as_e164(),
                note,
                share.token,
                share.item.id,
                now
            ],
            |r| r.get::<_, i64>(0),
        )
        .optional()?)
}

/// Creates or merges the lead, attaches the visitor, commits the contact
/// signal and the score. Returns the lead and whether it merged.
pub(crate) fn capture(
    tx: &Connection,
    share: &ResolvedShare,
    c: &NewContact,
) -> Result<(Lead, bool), ServerError> {
    let now = now_ms();
    let existing = existing_lead(tx, share.company.id, c)?;
    if let Some(e) = &existing {
        // Merging appends to the note read here: nobody may change it between.
        lock_lead(tx, e.id)?;
    }
    let existing = match existing {
        Some(_) => existing_lead(tx, share.company.id, c)?,
        None => None,
    };
    let mut merged = existing.is_some();
    let lead_id = match merge::on_contact(existing, &c.note) {
        merge::Decision::Merge { id, note } => merge_into(tx, id, &note, now)?,
        merge::Decision::New { note } => match insert_lead(tx, share, c, &note, now)? {
            Some(id) => id,
            None => {
                // The same number was captured at the same moment (another
                // request, another process): the unique (company, phone)
                // kept theirs, and this contact merges into it.
                merged = true;
                // Locked before its note is read, as above: a third
                // contact merging meanwhile must not be written over.
                let existing = match existing_lead(tx, share.company.id, c)? {
                    Some(e) => {
                        lock_lead(tx, e.id)?;
                        existing_lead(tx, share.company.id, c)?
                    }
                    None => None,
                };
                match merge::on_contact(existing, &c.note) {
                    merge::Decision::Merge { id, note } => merge_into(tx, id, &note, now)?,
                    merge::Decision::New { .. } => {
                        return Err(ServerError::Conflict(
                            "the lead changed while it was captured; send the form again".into(),
                        ))
                    }
                }
            }
        },
    };
    // Without a visitor cookie, the contact still counts under a one-off id.
    let visitor = c
        .visitor_id
        .clone()
        .unwrap_or_else(|| format!("lead-{lead_id}"));
    tx.execute(
        "INSERT INTO lead_visitors (visitor_id, lead_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![visitor, lead_id],
    )?;
    let visit: Option<i64> = tx
        .query_row(
            "SELECT id FROM visits WHERE share_token = ?1 AND visitor_id = ?2 ORDER BY id DESC LIMIT 1",
            params![share.token, visitor],
            |r| r.get(0),
        )
        .optional()?;
    let sid = insert_signal(
        tx,
        share,
        visit,
        &visitor,
        SignalKind::Contact,
        lead_id,
        now,
    )?;
    let signal = Signal {
        id: sid,
        share_token: share.token.clone(),
        visit_id: visit,
        visitor_id: visitor,
        kind: SignalKind::Contact,
        value: lead_id,
        at_ms: now,
        partner_id: share.sharer.id,
        item_id: share.item.id,
        lead_id: Some(lead_id),
    };
    changes::append_radar(
        tx,
        share.company.id,
        share.scope(),
        &RadarBody::Signal(signal),
        now,
    )?;
    let (lead, _) = rescore(tx, lead_id, now, true)?
        .ok_or_else(|| ServerError::NotFound("lead vanished".into()))?;
    Ok((lead, merged))
}

/// Rescores the leads whose visitors' signals changed in a tracking batch.
pub(crate) fn after_signals(
    tx: &Connection,
    visitors: &std::collections::BTreeSet<(i64, String)>,
    now: i64,
) -> Result<(), ServerError> {
    let mut ids = std::collections::BTreeSet::new();
    // The same browser may be a visitor of several companies: only the
    // company whose share it read has its leads rescored. One lookup per
    // company and up to `MAX_ROWS_PER_STATEMENT` visitors.
    let mut by_company: std::collections::BTreeMap<i64, Vec<&str>> = Default::default();
    for (company, v) in visitors {
        by_company.entry(*company).or_default().push(v);
    }
    for (company, visitors) in by_company {
        for chunk in crate::storage::sql::row_chunks(&visitors) {
            let sql = format!(
                "SELECT l.lead_id FROM lead_visitors l JOIN leads d ON d.id = l.lead_id
                 WHERE d.company_id = ?1 AND l.visitor_id IN ({})",
                crate::storage::sql::placeholders(2, chunk.len())
            );
            let mut values = vec![crate::storage::sql::Value::Integer(company)];
            values.extend(chunk.iter().map(|v| crate::storage::sql::Value::from(*v)));
            let rows = tx
                .prepare_cached(&sql)?
                .query_map(crate::storage::sql::params_from_iter(values), |r| {
                    r.get::<_, i64>(0)
                })?;
            for id in rows {
                ids.insert(id?);
            }
        }
    }
    for id in ids {
        rescore(tx, id, now, false)?;
    }
    Ok(())
}

/// The rep of the lead (or a manager) records MAN; the lead is regraded.
pub(crate) fn set_man_flags(
    tx: &Connection,
    caller: &Caller,
    lead_id: i64,
    man: ManFlags,
) -> Result<(), ServerError> {
    lock_lead(tx, lead_id)?;
    let lead = get_lead(tx, lead_id)?
        .filter(|l| l.company_id == caller.company.id)
        .ok_or_else(|| ServerError::NotFound(format!("no lead {lead_id}")))?;
    // A partner manages nothing: no lead's rep is a partner.
    if !Managed::of(caller.user.role, caller.user.id).covers(lead.rep_id) {
        return Err(ServerError::Forbidden(
            "only the lead's rep or a manager sets MAN flags".into(),
        ));
    }
    tx.execute(
        "UPDATE leads SET man_money = ?1, man_authority = ?2, man_need = ?3 WHERE id = ?4",
        params![man.money, man.authority, man.need, lead_id],
    )?;
    rescore(tx, lead_id, now_ms(), true)?;
    Ok(())
}

/// Writes a new score, grade and reasons (the lead's `updated_at` becomes
/// `updated_at`) and logs the lead to its devices at `now`.
fn apply_grade(
    tx: &Connection,
    lead_id: i64,
    g: &warmlead_core::scoring::Graded,
    updated_at: i64,
    now: i64,
) -> Result<Lead, ServerError> {
    tx.prepare_cached(
        "UPDATE leads SET score = ?1, grade = ?2, reasons = ?3, updated_at = ?4 WHERE id = ?5",
    )?
    .execute(params![
        g.score,
        g.grade.as_str(),
        serde_json::to_string(&g.reasons)?,
        updated_at,
        lead_id
    ])?;
    let lead =
        get_lead(tx, lead_id)?.ok_or_else(|| ServerError::NotFound("lead vanished".into()))?;
    emit(tx, &lead, now)?;
    Ok(lead)
}

/// Advisory-lock key space of the per-company regrade job.
const REGRADE_LOCK: i32 = 0x5247; // "RG"

/// Decay: a grade otherwise changes only when an event arrives, so a lead
/// hot a month ago would stay A+. Regrades the company's leads whose stored
/// grade is no longer true at `now` (core decides; this only applies) and
/// logs each so devices pull it. Only grade changes are written: the score
/// drifts every hour and would flood the change log. Returns how many changed.
pub(crate) fn regrade_cooled(
    tx: &Connection,
    company_id: i64,
    now: i64,
) -> Result<usize, ServerError> {
    if tx.dialect() == crate::storage::sql::Dialect::Postgres {
        // Every process runs the hourly job: one regrades a company at a
        // time, the next finds nothing left to change (no doubled changes).
        tx.execute(
            "SELECT pg_advisory_xact_lock(?1, ?2)",
            params![REGRADE_LOCK, company_id],
        )?;
    }
    let rules = company_rules(tx, company_id)?;
    if rules.half_life_days <= 0 {
        return Ok(0);
    }
    // Only leads whose grade time can still lower (`scoring::may_cool`).
    let coolable: Vec<String> = Grade::ALL
        .into_iter()
        .filter(|g| may_cool(*g))
        .map(|g| format!("'{}'", g.as_str()))
        .collect();
    let ids: Vec<i64> = tx
        .prepare_cached(&format!(
            "SELECT id FROM leads WHERE company_id = ?1 AND grade IN ({}) ORDER BY id",
            coolable.join(", ")
        ))?
        .query_map([company_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut changed = 0;
    for id in ids {
        lock_lead(tx, id)?;
        let Some(lead) = get_lead(tx, id)? else {
            continue;
        };
        let facts = facts(tx, id)?;
        if let Some(g) = regrade(&rules, &facts, lead.source, lead.man, lead.grade, now) {
            // Cooling is no activity: the lead keeps its last-activity time
            // (and its place in the list), only the grade and reasons change.
            apply_grade(tx, id, &g, lead.updated_at_ms, now)?;
            changed += 1;
        }
    }
    Ok(changed)
}

impl Database {
    /// Every company's cooled leads regraded at `now` (one transaction per
    /// company, so a big company does not hold the writer for all).
    pub(crate) async fn regrade_cooled_leads(&self, now: i64) -> Result<usize, ServerError> {
        self.flush().await;
        let companies: Vec<i64> = self
            .read(|c, _| {
                Ok(c.prepare("SELECT id FROM companies ORDER BY id")?
                    .query_map((), |r| r.get(0))?
                    .collect::<Result<_, _>>()?)
            })
            .await?;
        let mut changed = 0;
        for company in companies {
            changed += self
                .tx(move |tx, _| regrade_cooled(tx, company, now))
                .await?;
        }
        Ok(changed)
    }

    /// The contact form: committed (lead, signal, score, change) before the
    /// page says thanks.
    pub(crate) async fn capture_lead(
        &self,
        share: std::sync::Arc<ResolvedShare>,
        contact: NewContact,
    ) -> Result<(Lead, bool), ServerError> {
        // The visitor's queued beacons first, so they are attached and scored.
        self.flush().await;
        self.tx(move |tx, _| capture(tx, &share, &contact)).await
    }

    pub(crate) async fn lead(&self, id: i64) -> Result<Option<Lead>, ServerError> {
        self.flush().await;
        self.read(move |c, _| get_lead(c, id)).await
    }

    pub(crate) async fn leads_of_company(&self, company_id: i64) -> Result<Vec<Lead>, ServerError> {
        self.flush().await;
        self.read(move |c, _| {
            let mut stmt = c.prepare(&format!(
                "SELECT {LEAD_COLS} FROM leads WHERE company_id = ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map([company_id], lead_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    pub(crate) async fn scoring_rules(&self, company_id: i64) -> Result<ScoringRules, ServerError> {
        self.read(move |c, _| company_rules(c, company_id)).await
    }

    /// Sets the company's rules and rescores its leads with them.
    pub(crate) async fn set_scoring_rules(
        &self,
        company_id: i64,
        rules: ScoringRules,
    ) -> Result<(), ServerError> {
        self.tx(move |tx, _| {
            set_company_rules(tx, company_id, &rules)?;
            let ids: Vec<i64> = tx
                .prepare("SELECT id FROM leads WHERE company_id = ?1")?
                .query_map([company_id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let now = now_ms();
            for id in ids {
                rescore(tx, id, now, false)?;
            }
            Ok(())
        })
        .await
    }
}
