//! The leads aggregate ([`LeadStore`], `lead_store.rs`) in the SQL both
//! databases share; `B` is the backend's own part ([`LeadLocks`]).

use std::collections::BTreeSet;
use std::marker::PhantomData;

use crate::storage::sql::{params, Connection, OptionalExtension, Row};
use warmlead_core::lead::{
    merge, Grade, Lead, LeadSource, LeadStage, ManFlags, RadarBody, Signal, SignalKind,
};
use warmlead_core::scoring::{evaluate, may_cool, regrade, ScoringRules, SignalFact};
use warmlead_core::visibility::lead_copies;

use super::changes;
use super::lead_store::{LeadLocks, LeadStore};
use super::shares::ResolvedShare;
use super::signals::insert_signal;
use crate::error::ServerError;

pub(crate) struct LeadSql<'c, B> {
    conn: &'c Connection,
    backend: PhantomData<B>,
}

impl<'c, B> LeadSql<'c, B> {
    pub(crate) fn new(conn: &'c Connection) -> Self {
        LeadSql {
            conn,
            backend: PhantomData,
        }
    }
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

impl<B: LeadLocks> LeadSql<'_, B> {
    /// The lead's copies (`visibility::lead_copies`: the partner's masked)
    /// in the radar stream.
    fn emit(&self, lead: &Lead, now: i64) -> Result<(), ServerError> {
        for (audience, copy) in lead_copies(lead) {
            changes::append_radar(
                self.conn,
                lead.company_id,
                audience,
                &RadarBody::Lead(copy),
                now,
            )?;
        }
        Ok(())
    }

    fn facts(&self, lead_id: i64) -> Result<Vec<SignalFact>, ServerError> {
        let mut stmt = self.conn.prepare_cached(
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

    /// Writes a new score, grade and reasons (the lead's `updated_at` becomes
    /// `updated_at`) and logs the lead to its devices at `now`.
    fn apply_grade(
        &self,
        lead_id: i64,
        g: &warmlead_core::scoring::Graded,
        updated_at: i64,
        now: i64,
    ) -> Result<Lead, ServerError> {
        self.conn.prepare_cached(
            "UPDATE leads SET score = ?1, grade = ?2, reasons = ?3, updated_at = ?4 WHERE id = ?5",
        )?
        .execute(params![
            g.score,
            g.grade.as_str(),
            serde_json::to_string(&g.reasons)?,
            updated_at,
            lead_id
        ])?;
        let lead = self
            .get(lead_id)?
            .ok_or_else(|| ServerError::NotFound("lead vanished".into()))?;
        self.emit(&lead, now)?;
        Ok(lead)
    }

    fn existing(
        &self,
        company_id: i64,
        phone: &str,
    ) -> Result<Option<merge::Existing>, ServerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, note FROM leads WHERE company_id = ?1 AND phone = ?2",
                params![company_id, phone],
                |r| {
                    Ok(merge::Existing {
                        id: r.get(0)?,
                        note: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }
}

impl<B: LeadLocks> LeadStore for LeadSql<'_, B> {
    fn get(&self, id: i64) -> Result<Option<Lead>, ServerError> {
        Ok(self
            .conn
            .prepare_cached(&format!("SELECT {LEAD_COLS} FROM leads WHERE id = ?1"))?
            .query_row([id], lead_row)
            .optional()?)
    }

    fn of_company(&self, company_id: i64) -> Result<Vec<Lead>, ServerError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {LEAD_COLS} FROM leads WHERE company_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([company_id], lead_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn rules(&self, company_id: i64) -> Result<ScoringRules, ServerError> {
        let json: Option<String> = self
            .conn
            .prepare_cached("SELECT rules FROM scoring_rules WHERE company_id = ?1")?
            .query_row([company_id], |r| r.get(0))
            .optional()?;
        Ok(json
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default())
    }

    fn set_rules(
        &self,
        company_id: i64,
        rules: &ScoringRules,
        now: i64,
    ) -> Result<(), ServerError> {
        rules.validate()?;
        self.conn.execute(
            "INSERT INTO scoring_rules (company_id, rules) VALUES (?1, ?2)
             ON CONFLICT (company_id) DO UPDATE SET rules = excluded.rules",
            params![company_id, serde_json::to_string(rules)?],
        )?;
        let ids: Vec<i64> = self
            .conn
            .prepare("SELECT id FROM leads WHERE company_id = ?1 ORDER BY id")?
            .query_map([company_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for id in ids {
            self.rescore(id, now, false)?;
        }
        Ok(())
    }

    fn by_phone_locked(
        &self,
        company_id: i64,
        phone: &str,
    ) -> Result<Option<merge::Existing>, ServerError> {
        // Merging appends to the note read here: nobody may change it
        // between, so the row is locked and then read again.
        match self.existing(company_id, phone)? {
            Some(e) => {
                B::lock_lead(self.conn, e.id)?;
                self.existing(company_id, phone)
            }
            None => Ok(None),
        }
    }

    fn insert(
        &self,
        share: &ResolvedShare,
        name: &str,
        phone: &str,
        note: &str,
        now: i64,
    ) -> Result<Option<i64>, ServerError> {
        Ok(self.conn
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
                    name,
                    phone,
                    note,
                    share.token,
                    share.item.id,
                    now
                ],
                |r| r.get::<_, i64>(0),
            )
            .optional()?)
    }

    fn merge_contact(&self, id: i64, note: &str, now: i64) -> Result<(), ServerError> {
        self.conn.execute(
            "UPDATE leads SET contacts = contacts + 1, note = ?1, updated_at = ?2 WHERE id = ?3",
            params![note, now, id],
        )?;
        Ok(())
    }

    fn attach_visitor(&self, lead_id: i64, visitor_id: &str) -> Result<(), ServerError> {
        self.conn.execute(
            "INSERT INTO lead_visitors (visitor_id, lead_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![visitor_id, lead_id],
        )?;
        Ok(())
    }

    fn locked(&self, id: i64) -> Result<Option<Lead>, ServerError> {
        B::lock_lead(self.conn, id)?;
        self.get(id)
    }

    fn set_man(&self, id: i64, man: ManFlags) -> Result<(), ServerError> {
        self.conn.execute(
            "UPDATE leads SET man_money = ?1, man_authority = ?2, man_need = ?3 WHERE id = ?4",
            params![man.money, man.authority, man.need, id],
        )?;
        Ok(())
    }

    fn rescore(
        &self,
        id: i64,
        now: i64,
        force: bool,
    ) -> Result<Option<(Lead, Grade)>, ServerError> {
        let Some(lead) = self.locked(id)? else {
            return Ok(None);
        };
        let rules = self.rules(lead.company_id)?;
        let g = evaluate(&rules, &self.facts(id)?, lead.source, lead.man, now);
        let before = lead.grade;
        if !force && !g.changes(&lead) {
            return Ok(Some((lead, before)));
        }
        let lead = self.apply_grade(id, &g, now, now)?;
        Ok(Some((lead, before)))
    }

    fn rescore_visitors(
        &self,
        visitors: &BTreeSet<(i64, String)>,
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
                let rows = self
                    .conn
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
            self.rescore(id, now, false)?;
        }
        Ok(())
    }

    fn regrade_cooled(&self, company_id: i64, now: i64) -> Result<usize, ServerError> {
        B::lock_regrade(self.conn, company_id)?;
        let rules = self.rules(company_id)?;
        if rules.half_life_days <= 0 {
            return Ok(0);
        }
        // Only leads whose grade time can still lower (`scoring::may_cool`).
        let coolable: Vec<String> = Grade::ALL
            .into_iter()
            .filter(|g| may_cool(*g))
            .map(|g| format!("'{}'", g.as_str()))
            .collect();
        let ids: Vec<i64> = self
            .conn
            .prepare_cached(&format!(
                "SELECT id FROM leads WHERE company_id = ?1 AND grade IN ({}) ORDER BY id",
                coolable.join(", ")
            ))?
            .query_map([company_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut changed = 0;
        for id in ids {
            B::lock_lead(self.conn, id)?;
            let Some(lead) = self.get(id)? else {
                continue;
            };
            let facts = self.facts(id)?;
            if let Some(g) = regrade(&rules, &facts, lead.source, lead.man, lead.grade, now) {
                // Cooling is no activity: the lead keeps its last-activity time
                // (and its place in the list), only the grade and reasons change.
                self.apply_grade(id, &g, lead.updated_at_ms, now)?;
                changed += 1;
            }
        }
        Ok(changed)
    }
}

/// Records the contact on the lead's browser: its visit of the share, the
/// `contact` signal, and the signal in the radar stream.
pub(crate) fn record_contact(
    tx: &Connection,
    share: &ResolvedShare,
    visitor: &str,
    lead_id: i64,
    now: i64,
) -> Result<(), ServerError> {
    let visit: Option<i64> = tx
        .query_row(
            "SELECT id FROM visits WHERE share_token = ?1 AND visitor_id = ?2 ORDER BY id DESC LIMIT 1",
            params![share.token, visitor],
            |r| r.get(0),
        )
        .optional()?;
    let sid = insert_signal(tx, share, visit, visitor, SignalKind::Contact, lead_id, now)?;
    let signal = Signal {
        id: sid,
        share_token: share.token.clone(),
        visit_id: visit,
        visitor_id: visitor.to_string(),
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
    Ok(())
}
