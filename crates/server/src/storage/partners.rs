//! Partner import: a rep's checked CSV rows, checked again
//! (`warmlead_core::csv_import::recheck`), written all or none in one
//! transaction.

use std::collections::HashSet;

use crate::storage::sql::Connection;
use warmlead_core::csv_import::{recheck, ImportRow};
use warmlead_core::domain::{Role, User};
use warmlead_core::invite::{PartnerImportResult, PartnerSource};

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
pub(crate) fn import(
    tx: &Connection,
    rep: &User,
    rows: &[ImportRow],
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
    for (name, phone) in &checked {
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
        )?;
        accounts::emit_user(tx, &user, now)?;
    }
    Ok(PartnerImportResult {
        imported: checked.len() as i64,
        errors: Vec::new(),
    })
}

impl Database {
    /// The import in one transaction; with errors nothing is written.
    pub(crate) async fn import_partners(
        &self,
        rep: User,
        rows: Vec<ImportRow>,
    ) -> Result<PartnerImportResult, ServerError> {
        self.tx(move |tx, _| import(tx, &rep, &rows, super::now_ms()))
            .await
    }
}
