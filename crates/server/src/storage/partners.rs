//! Imports from a file: a rep's partners and a manager's reps. The checked
//! rows are checked again (`warmlead_core::csv_import::recheck`, phones
//! already in the company included) and written all or none in one
//! transaction; a dry run stops after the check, so the app's preview shows
//! what the import would refuse by the same rule.

use std::collections::HashSet;

use crate::storage::sql::{self, Connection};
use warmlead_core::csv_import::{recheck, ImportRow, ImportRowError};
use warmlead_core::domain::{Role, User};
use warmlead_core::invite::{PartnerImportResult, PartnerSource};
use warmlead_core::team;

use super::accounts;
use super::Database;
use crate::error::ServerError;

/// The company's phones among the rows' (checked) phones.
fn taken_phones(
    conn: &Connection,
    company_id: i64,
    rows: &[ImportRow],
) -> Result<HashSet<String>, ServerError> {
    let mut taken = HashSet::new();
    let mut exists = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM users WHERE company_id = ?1 AND phone = ?2)",
    )?;
    for phone in rows
        .iter()
        .filter_map(|r| recheck::checked_phone(&r.phone).ok())
    {
        if exists.query_row(crate::storage::sql::params![company_id, phone], |row| {
            row.get(0)
        })? {
            taken.insert(phone);
        }
    }
    Ok(taken)
}

/// Imports `rows` as partners bound to `rep` (source import, invited by the
/// rep), emitting each new user, or writes nothing and returns the errors.
/// A `dry_run` writes nothing either way.
pub(crate) fn import(
    tx: &Connection,
    rep: &User,
    rows: &[ImportRow],
    dry_run: bool,
    now: i64,
) -> Result<PartnerImportResult, ServerError> {
    if rep.role != Role::Rep {
        return Err(ServerError::Forbidden(
            "only reps import partners (they are bound to the rep who imports them)".into(),
        ));
    }
    let taken = taken_phones(tx, rep.company_id, rows)?;
    let checked = match recheck::recheck(rows, &taken) {
        Ok(c) => c,
        Err(errors) => {
            return Ok(PartnerImportResult {
                imported: 0,
                errors,
            })
        }
    };
    if dry_run {
        return Ok(PartnerImportResult {
            imported: 0,
            errors: Vec::new(),
        });
    }
    for (row, (name, phone)) in rows.iter().zip(&checked) {
        let user = accounts::insert_user(
            tx,
            User {
                id: 0,
                company_id: rep.company_id,
                role: Role::Partner,
                name: name.clone(),
                phone: Some(phone.clone()),
                rep_id: Some(rep.id),
                joined_at_ms: now,
                source: Some(PartnerSource::Import),
                invited_by: Some(rep.id),
                invitation_id: None,
            },
        );
        // The check above read the company's phones; one may have joined
        // since (an invitation accepted, another import, in another
        // process). The unique phone index refuses it: the import writes
        // nothing and says which row.
        let user = match user {
            Err(ServerError::Database(sql::Error::Unique(_))) => {
                return Err(ServerError::Conflict(format!(
                    "row {}: {phone} joined the company while the file was imported; \
                     nothing was imported, import the file again",
                    row.row
                )))
            }
            other => other?,
        };
        accounts::emit_user(tx, &user, now)?;
    }
    Ok(PartnerImportResult {
        imported: checked.len() as i64,
        errors: Vec::new(),
    })
}

/// Reps a team import added: the file's row, the rep, their first code (id, code).
pub(crate) type AddedReps = Vec<(u32, User, (i64, String))>;

/// The manager `actor` adds `rows` as reps (`team::may_add`), each with
/// their first activation code, in the rows' order; or writes nothing and
/// returns the errors (phones already in the company among them). A
/// `dry_run` writes nothing either way. Two imports racing for one phone:
/// the company's unique phone index refuses the later one whole.
pub(crate) fn import_reps(
    tx: &Connection,
    actor: &User,
    rows: &[ImportRow],
    dry_run: bool,
) -> Result<(AddedReps, Vec<ImportRowError>), ServerError> {
    team::may_add(actor, Role::Rep).map_err(accounts::team_refused)?;
    let taken = taken_phones(tx, actor.company_id, rows)?;
    let checked = match recheck::recheck(rows, &taken) {
        Ok(c) => c,
        Err(errors) => return Ok((Vec::new(), errors)),
    };
    if dry_run {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut added = Vec::with_capacity(checked.len());
    for (row, (name, phone)) in rows.iter().zip(&checked) {
        let user = accounts::create_user(tx, actor.company_id, Role::Rep, name, Some(phone), None)?;
        let code = accounts::new_activation_code(tx, user.id)?;
        added.push((row.row, user, code));
    }
    Ok((added, Vec::new()))
}

impl Database {
    /// The import in one transaction; with errors (or a dry run) nothing is
    /// written.
    pub(crate) async fn import_partners(
        &self,
        rep: User,
        rows: Vec<ImportRow>,
        dry_run: bool,
    ) -> Result<PartnerImportResult, ServerError> {
        let now = super::now_ms();
        if dry_run {
            return self
                .read(move |c, _| import(c, &rep, &rows, true, now))
                .await;
        }
        self.tx(move |tx, _| import(tx, &rep, &rows, false, now))
            .await
    }

    /// The reps' import in one transaction; with errors (or a dry run)
    /// nothing is written.
    pub(crate) async fn import_reps(
        &self,
        actor: User,
        rows: Vec<ImportRow>,
        dry_run: bool,
    ) -> Result<(AddedReps, Vec<ImportRowError>), ServerError> {
        if dry_run {
            return self
                .read(move |c, _| import_reps(c, &actor, &rows, true))
                .await;
        }
        self.tx(move |tx, _| import_reps(tx, &actor, &rows, false))
            .await
    }
}
