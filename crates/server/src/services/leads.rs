//! Leads: the contact form's capture (a new lead, or a merge into the
//! number's lead: first referrer wins), MAN flags set by the lead's rep or
//! a manager, the company's scoring rules, and the hourly cooling. The
//! rules are `warmlead_core` (`lead::merge`, `scoring`, `visibility`);
//! storage is `LeadStore`.
//!
//! Duplicates: one person (E.164 phone) is one lead per company. When the
//! same phone leaves its contact again, through any share, the existing
//! lead is kept and its partner, rep, share and source stay those of the
//! first contact; the new contact adds a `contact` signal, its visitor (so
//! that browser's signals count too), a note line, and `contacts + 1`.
//! Reassigning a lead is a manager's decision, not a race.

use std::sync::Arc;

use warmlead_core::domain::Role;
use warmlead_core::lead::{merge, Lead, ManFlags};
use warmlead_core::phone::Phone;
use warmlead_core::scoring::ScoringRules;
use warmlead_core::visibility::Managed;

use crate::error::ServerError;
use crate::storage::ResolvedShare;
use crate::storage::{now_ms, Caller, Database, Stores};

/// A contact left on a share page, already validated.
pub(crate) struct NewContact {
    pub name: String,
    pub phone: Phone,
    pub note: String,
    pub visitor_id: Option<String>,
}

/// The contact form: committed (lead, signal, score, change) before the
/// page says thanks. The lead and whether it merged into an earlier one.
pub(crate) async fn capture(
    db: &Database,
    share: Arc<ResolvedShare>,
    contact: NewContact,
) -> Result<(Lead, bool), ServerError> {
    // The visitor's queued beacons first, so they are attached and scored.
    db.flush().await;
    db.transaction(move |s| capture_in(s, &share, &contact, now_ms()))
        .await
}

fn capture_in(
    s: &Stores<'_>,
    share: &ResolvedShare,
    c: &NewContact,
    now: i64,
) -> Result<(Lead, bool), ServerError> {
    let leads = s.leads();
    let (company, phone) = (share.company.id, c.phone.as_e164());
    let existing = leads.by_phone_locked(company, phone)?;
    let mut merged = existing.is_some();
    let lead_id = match merge::on_contact(existing, &c.note) {
        merge::Decision::Merge { id, note } => {
            leads.merge_contact(id, &note, now)?;
            id
        }
        merge::Decision::New { note } => match leads.insert(share, &c.name, phone, &note, now)? {
            Some(id) => id,
            None => {
                // The same number was captured at the same moment (another
                // request, another process): the unique (company, phone)
                // kept theirs, and this contact merges into it, locked
                // before its note is read as above.
                merged = true;
                match merge::on_contact(leads.by_phone_locked(company, phone)?, &c.note) {
                    merge::Decision::Merge { id, note } => {
                        leads.merge_contact(id, &note, now)?;
                        id
                    }
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
    leads.attach_visitor(lead_id, &visitor)?;
    crate::storage::record_contact(s.legacy(), share, &visitor, lead_id, now)?;
    let (lead, _) = leads
        .rescore(lead_id, now, true)?
        .ok_or_else(|| ServerError::NotFound("lead vanished".into()))?;
    Ok((lead, merged))
}

/// The rep of the lead (or a manager) records MAN; the lead is regraded.
/// In the caller's transaction (a pushed mutation).
pub(crate) fn set_man_flags(
    s: &Stores<'_>,
    caller: &Caller,
    lead_id: i64,
    man: ManFlags,
) -> Result<(), ServerError> {
    let leads = s.leads();
    let lead = leads
        .locked(lead_id)?
        .filter(|l| l.company_id == caller.company.id)
        .ok_or_else(|| ServerError::NotFound(format!("no lead {lead_id}")))?;
    // A partner manages nothing: no lead's rep is a partner.
    if !Managed::of(caller.user.role, caller.user.id).covers(lead.rep_id) {
        return Err(ServerError::Forbidden(
            "only the lead's rep or a manager sets MAN flags".into(),
        ));
    }
    leads.set_man(lead_id, man)?;
    leads.rescore(lead_id, now_ms(), true)?;
    Ok(())
}

/// Every company's cooled leads regraded at `now` (one transaction per
/// company, so a big company does not hold the writer for all).
pub(crate) async fn regrade_cooled(db: &Database, now: i64) -> Result<usize, ServerError> {
    db.flush().await;
    let companies = super::accounts::list_companies(db).await?;
    let mut changed = 0;
    for c in companies {
        let company = c.company;
        changed += db
            .transaction(move |s| s.leads().regrade_cooled(company.id, now))
            .await?;
    }
    Ok(changed)
}

pub(crate) async fn lead(db: &Database, id: i64) -> Result<Option<Lead>, ServerError> {
    db.flush().await;
    db.snapshot(move |s| s.leads().get(id)).await
}

pub(crate) async fn of_company(db: &Database, company_id: i64) -> Result<Vec<Lead>, ServerError> {
    db.flush().await;
    db.snapshot(move |s| s.leads().of_company(company_id)).await
}

/// The company's scoring rules: the company's sales policy, seen by reps
/// and managers, not by partners.
pub(crate) async fn scoring_rules(
    db: &Database,
    caller: &Caller,
) -> Result<ScoringRules, ServerError> {
    if caller.user.role == Role::Partner {
        return Err(ServerError::Forbidden(
            "only reps and managers see scoring rules".into(),
        ));
    }
    let company = caller.company.id;
    db.snapshot(move |s| s.leads().rules(company)).await
}

/// New weights (managers only); every lead of the company is rescored with them.
pub(crate) async fn set_scoring_rules(
    db: &Database,
    caller: &Caller,
    rules: ScoringRules,
) -> Result<(), ServerError> {
    if caller.user.role != Role::Manager {
        return Err(ServerError::Forbidden(
            "only managers change scoring rules".into(),
        ));
    }
    let company = caller.company.id;
    db.transaction(move |s| s.leads().set_rules(company, &rules, now_ms()))
        .await
}
