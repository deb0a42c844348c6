//! A manager's import of reps from a file (a rep's import of partners is
//! `crate::services::invitations::import`). The checked rows are checked
//! again (`warmlead_core::csv_import::recheck`, phones already in the
//! company included) and written all or none in one transaction; a dry run
//! stops after the check, so the app's preview shows what the import would
//! refuse by the same rule.

use std::collections::HashSet;

use crate::storage::sql::Connection;
use warmlead_core::csv_import::{recheck, ImportRow, ImportRowError};
use warmlead_core::domain::{Role, User};
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
    let phones: Vec<String> = rows
        .iter()
        .filter_map(|r| recheck::checked_phone(&r.phone).ok())
        .collect();
    super::invitations::taken_phones(conn, company_id, &phones)
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
