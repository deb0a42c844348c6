//! Partner import: a rep's checked CSV rows, checked again here, written all
//! or none in one transaction.

use std::collections::HashMap;

use rusqlite::Connection;
use warmlead_core::csv_import::{
    ImportColumn, ImportReason, ImportRow, ImportRowError, MAX_NOTE_CHARS,
};
use warmlead_core::domain::{Role, User};
use warmlead_core::invite::{PartnerImportResult, PartnerSource};
use warmlead_core::phone::Phone;

use super::accounts::{self, MAX_NAME_CHARS};
use super::Database;
use crate::error::ServerError;

/// Shown back in an error: cut, controls made visible.
fn shown(v: &str) -> String {
    v.chars()
        .take(80)
        .map(|c| if is_hidden(c) { '\u{FFFD}' } else { c })
        .collect()
}

/// Controls and invisible characters (bidi overrides, zero-width, BOM) that
/// could make a name show as something else.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// The name as stored (whitespace runs made one space), or why not. Users'
/// names are at most `MAX_NAME_CHARS` (warmlead-core's limits) everywhere.
fn checked_name(raw: &str) -> Result<String, ImportReason> {
    if raw.chars().any(|c| is_hidden(c) && c != '\t') {
        return Err(ImportReason::ControlCharacter);
    }
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err(ImportReason::MissingName);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ImportReason::TooLong);
    }
    if name.starts_with(['=', '+', '-', '@']) {
        return Err(ImportReason::Formula);
    }
    Ok(name)
}

fn checked_phone(raw: &str) -> Result<String, ImportReason> {
    if raw.trim().is_empty() {
        return Err(ImportReason::MissingPhone);
    }
    Phone::parse(raw)
        .map(Phone::into_string)
        .map_err(|_| ImportReason::BadPhone)
}

fn checked_note(note: Option<&str>) -> Result<(), ImportReason> {
    let Some(note) = note else { return Ok(()) };
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(ImportReason::TooLong);
    }
    if note
        .chars()
        .any(|c| is_hidden(c) && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ImportReason::ControlCharacter);
    }
    Ok(())
}

fn row_error(row: u32, reason: ImportReason, column: ImportColumn, value: &str) -> ImportRowError {
    ImportRowError {
        row,
        reason,
        column: Some(column),
        value: shown(value),
        duplicate_of: None,
    }
}

/// Rows ready to insert (name, E.164 phone), or every problem found.
type Checked = Result<Vec<(String, String)>, Vec<ImportRowError>>;

/// Every row checked; `Ok` holds the (name, E.164 phone) to insert, `Err`
/// every problem found. Phones already in the company are `DuplicatePhone`
/// with no `duplicate_of` (the UI says "already a partner").
fn check_rows(
    conn: &Connection,
    company_id: i64,
    rows: &[ImportRow],
) -> Result<Checked, ServerError> {
    let mut errors = Vec::new();
    let mut ok = Vec::with_capacity(rows.len());
    let mut seen: HashMap<String, u32> = HashMap::with_capacity(rows.len());
    let mut taken = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM users WHERE company_id = ?1 AND phone = ?2)",
    )?;
    for r in rows {
        let name = checked_name(&r.name)
            .map_err(|why| errors.push(row_error(r.row, why, ImportColumn::Name, &r.name)))
            .ok();
        if let Err(why) = checked_note(r.note.as_deref()) {
            let note = r.note.as_deref().unwrap_or("");
            errors.push(row_error(r.row, why, ImportColumn::Note, note));
        }
        let phone = match checked_phone(&r.phone) {
            Ok(p) => p,
            Err(why) => {
                errors.push(row_error(r.row, why, ImportColumn::Phone, &r.phone));
                continue;
            }
        };
        if let Some(first) = seen.get(&phone) {
            errors.push(ImportRowError {
                duplicate_of: Some(*first),
                ..row_error(
                    r.row,
                    ImportReason::DuplicatePhone,
                    ImportColumn::Phone,
                    &phone,
                )
            });
            continue;
        }
        seen.insert(phone.clone(), r.row);
        if taken.query_row(rusqlite::params![company_id, phone], |row| row.get(0))? {
            let dup = ImportReason::DuplicatePhone;
            errors.push(row_error(r.row, dup, ImportColumn::Phone, &phone));
            continue;
        }
        if let Some(name) = name {
            ok.push((name, phone));
        }
    }
    Ok(if errors.is_empty() {
        Ok(ok)
    } else {
        Err(errors)
    })
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
    let checked = match check_rows(tx, rep.company_id, rows)? {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_like_the_preview() {
        assert_eq!(checked_name("  张  三 ").unwrap(), "张 三");
        assert_eq!(checked_name(" "), Err(ImportReason::MissingName));
        assert_eq!(checked_name("=SUM(A1)"), Err(ImportReason::Formula));
        assert_eq!(
            checked_name("a\u{202E}b"),
            Err(ImportReason::ControlCharacter)
        );
        assert_eq!(checked_name(&"长".repeat(41)), Err(ImportReason::TooLong));
        assert_eq!(checked_phone(""), Err(ImportReason::MissingPhone));
        assert_eq!(checked_phone("123"), Err(ImportReason::BadPhone));
        assert_eq!(checked_phone("138 0013 8000").unwrap(), "+8613800138000");
    }
}
