//! The server's second check of import rows the desktop already checked
//! (`preview`): a row can be edited or forged on the way, and phones may
//! have joined the company since. All or none: any error and nothing is
//! imported. Storage says which phones the company has; the rest is here.

use std::collections::{HashMap, HashSet};

use super::{
    ImportColumn, ImportReason, ImportRow, ImportRowError, MAX_NAME_CHARS, MAX_NOTE_CHARS,
};
use crate::phone::Phone;

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
pub fn checked_name(raw: &str) -> Result<String, ImportReason> {
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

pub fn checked_phone(raw: &str) -> Result<String, ImportReason> {
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
pub type Checked = Result<Vec<(String, String)>, Vec<ImportRowError>>;

/// Every row checked; `Ok` holds the (name, E.164 phone) to insert, `Err`
/// every problem found. Phones in `taken` (already in the company) are
/// `DuplicatePhone` with no `duplicate_of` (the UI says "already a partner").
pub fn recheck(rows: &[ImportRow], taken: &HashSet<String>) -> Checked {
    let mut errors = Vec::new();
    let mut ok = Vec::with_capacity(rows.len());
    let mut seen: HashMap<String, u32> = HashMap::with_capacity(rows.len());
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
        if taken.contains(&phone) {
            let dup = ImportReason::DuplicatePhone;
            errors.push(row_error(r.row, dup, ImportColumn::Phone, &phone));
            continue;
        }
        if let Some(name) = name {
            ok.push((name, phone));
        }
    }
    if errors.is_empty() {
        Ok(ok)
    } else {
        Err(errors)
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

    fn row(row: u32, name: &str, phone: &str, note: Option<&str>) -> ImportRow {
        ImportRow {
            row,
            name: name.into(),
            phone: phone.into(),
            note: note.map(Into::into),
        }
    }

    /// (row, reason, column, duplicate_of) of each error, or the rows to insert.
    type Outcome =
        Result<Vec<(String, String)>, Vec<(u32, ImportReason, Option<ImportColumn>, Option<u32>)>>;

    fn outcome(c: Checked) -> Outcome {
        c.map_err(|es| {
            es.into_iter()
                .map(|e| (e.row, e.reason, e.column, e.duplicate_of))
                .collect()
        })
    }

    #[test]
    fn rechecks_rows_against_the_file_and_the_company() {
        use ImportColumn::{Name, Note, Phone as P};
        use ImportReason::*;
        let taken: HashSet<String> = ["+8613900139000".to_string()].into();
        let ok = |name: &str, phone: &str| (name.to_string(), phone.to_string());
        // rows -> outcome
        let table: Vec<(Vec<ImportRow>, Outcome)> = vec![
            (
                vec![
                    row(2, " 王  五", "13800138000", None),
                    row(3, "赵六", "13700137000", Some("老客户")),
                ],
                Ok(vec![
                    ok("王 五", "+8613800138000"),
                    ok("赵六", "+8613700137000"),
                ]),
            ),
            (
                vec![
                    row(2, "王五", "13800138000", None),
                    row(3, "赵六", "+8613800138000", None),
                ],
                Err(vec![(3, DuplicatePhone, Some(P), Some(2))]),
            ),
            (
                vec![row(2, "王五", "13900139000", None)],
                Err(vec![(2, DuplicatePhone, Some(P), None)]),
            ),
            (
                vec![
                    row(2, "", "123", Some("a\u{7}b")),
                    row(4, "=cmd", "13800138000", None),
                ],
                Err(vec![
                    (2, MissingName, Some(Name), None),
                    (2, ControlCharacter, Some(Note), None),
                    (2, BadPhone, Some(P), None),
                    (4, Formula, Some(Name), None),
                ]),
            ),
            (
                vec![row(
                    2,
                    "王五",
                    "13800138000",
                    Some(&"长".repeat(MAX_NOTE_CHARS + 1)),
                )],
                Err(vec![(2, TooLong, Some(Note), None)]),
            ),
            (
                vec![row(2, "王五", "13800138000", Some("第一行\n第二行"))],
                Ok(vec![ok("王五", "+8613800138000")]),
            ),
        ];
        for (rows, expected) in table {
            assert_eq!(outcome(recheck(&rows, &taken)), expected, "{rows:?}");
        }
    }
}
