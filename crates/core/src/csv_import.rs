//! Partner (and rep) import from a spreadsheet, the pure half: bytes in, a
//! preview out, nothing written. The preview says which rows are ready
//! (normalized, phone in E.164) and why each other row is not, with the row
//! number the person sees in Excel, so they can fix the file before an
//! all-or-nothing import.
//!
//! Reads CSV (with the `csv` crate) as spreadsheets in China write it: UTF-8
//! with or without BOM, GBK (Excel's "CSV" on a Chinese Windows), and UTF-16
//! with BOM ("Unicode text", tab-separated); comma, semicolon or tab
//! separated; CRLF or LF. Also reads Excel workbooks, .xlsx (what Excel saves
//! by default) and the older .xls, through `calamine` (see `workbook`), into
//! the same rows and the same checks.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::phone::Phone;

pub mod recheck;
mod workbook;

/// Largest file we read (`limits::MAX_IMPORT_BYTES`).
pub use crate::limits::MAX_IMPORT_BYTES as MAX_BYTES;
/// Most partners one import may bring (`limits::MAX_IMPORT_ROWS`).
pub use crate::limits::MAX_IMPORT_ROWS as MAX_ROWS;
/// The same limits as on the server, so a previewed row is never refused there.
pub use crate::limits::{MAX_NAME_CHARS, MAX_NOTE_CHARS, MAX_PHONE_CHARS};
/// How much of an offending cell the preview repeats.
const MAX_VALUE_CHARS: usize = 80;

/// How the file was encoded: a CSV's text encoding, or a workbook's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ImportEncoding {
    Utf8,
    Utf8Bom,
    Gbk,
    Utf16,
    /// An Excel workbook (.xlsx), what Excel saves by default.
    Xlsx,
    /// An Excel 97-2003 workbook (.xls).
    Xls,
}

/// Why the whole file cannot be imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ImportFileError {
    Empty,
    /// Over `MAX_BYTES`.
    TooLarge,
    /// Over `MAX_ROWS` partners.
    TooManyRows,
    /// A workbook (.xlsx/.xls) that cannot be read: damaged, password
    /// protected, or not really a workbook.
    UnreadableWorkbook,
    /// A workbook over the limits of what it may unpack to: more than
    /// `limits::MAX_IMPORT_UNZIPPED_BYTES`, `MAX_IMPORT_CELLS` filled cells or
    /// `MAX_IMPORT_SHARED_STRINGS` texts (a damaged file or a "zip bomb").
    WorkbookTooLarge,
    /// Binary, or neither UTF-8, UTF-16 nor GBK.
    NotText,
    /// The first row does not name a name and a phone column.
    MissingHeader,
    /// A header and no partner rows.
    NoRows,
}

/// The columns we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ImportColumn {
    Name,
    Phone,
    Note,
}

/// Why a row cannot be imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ImportReason {
    BadPhone,
    MissingName,
    MissingPhone,
    /// The same phone (after normalizing) is on an earlier row.
    DuplicatePhone,
    TooLong,
    /// Cells filled beyond the header's columns.
    TooManyColumns,
    /// Starts with = + - @ : a spreadsheet would run it as a formula.
    Formula,
    /// Control or invisible (bidi, zero-width) characters.
    ControlCharacter,
}

/// A row ready to import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportRow {
    /// 1-based, the header included, as Excel numbers rows.
    pub row: u32,
    pub name: String,
    /// E.164.
    pub phone: String,
    pub note: Option<String>,
}

/// One problem of one row; a row can have several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportRowError {
    pub row: u32,
    pub reason: ImportReason,
    /// None for a problem of the whole row (too many columns).
    pub column: Option<ImportColumn>,
    /// The offending cell, cut to 80 characters, controls shown as U+FFFD.
    pub value: String,
    /// For a duplicate: the row that has the phone first.
    pub duplicate_of: Option<u32>,
}

/// What an import would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportPreview {
    /// None when the bytes could not be read as text.
    pub encoding: Option<ImportEncoding>,
    /// Set when the whole file is refused; `valid` and `errors` are then empty.
    pub file_error: Option<ImportFileError>,
    /// Partner rows read (blank rows skipped, the header not counted).
    pub total_rows: u32,
    pub valid: Vec<ImportRow>,
    pub errors: Vec<ImportRowError>,
}

impl ImportPreview {
    fn refused(encoding: Option<ImportEncoding>, e: ImportFileError) -> ImportPreview {
        ImportPreview {
            encoding,
            file_error: Some(e),
            total_rows: 0,
            valid: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Whether an all-or-nothing import may go ahead: the file is readable,
    /// has partners, and no row has a problem.
    pub fn ok_to_import(&self) -> bool {
        self.file_error.is_none() && self.errors.is_empty() && !self.valid.is_empty()
    }
}

/// Reads a partner CSV and says what importing it would do. Never fails:
/// every problem is in the preview.
pub fn preview(bytes: &[u8]) -> ImportPreview {
    if bytes.len() > MAX_BYTES {
        return ImportPreview::refused(None, ImportFileError::TooLarge);
    }
    if let Some(format) = workbook::format_of(bytes) {
        return finish(
            Some(format),
            workbook::rows(bytes, format).and_then(|rows| read_rows(rows.into_iter().map(Ok))),
        );
    }
    let (text, encoding) = match decode(bytes) {
        Ok(decoded) => decoded,
        Err(e) => return ImportPreview::refused(None, e),
    };
    if text.trim().is_empty() {
        return ImportPreview::refused(Some(encoding), ImportFileError::Empty);
    }
    finish(Some(encoding), read_rows(csv_rows(&text)))
}

fn finish(
    encoding: Option<ImportEncoding>,
    read: Result<ImportPreview, ImportFileError>,
) -> ImportPreview {
    match read {
        Ok(mut p) => {
            p.encoding = encoding;
            p
        }
        Err(e) => ImportPreview::refused(encoding, e),
    }
}

/// The text of the file and how it was encoded.
fn decode(bytes: &[u8]) -> Result<(String, ImportEncoding), ImportFileError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        let s = std::str::from_utf8(rest).map_err(|_| ImportFileError::NotText)?;
        return Ok((s.to_string(), ImportEncoding::Utf8Bom));
    }
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        // Only UTF-16 is left here (the UTF-8 BOM is handled above).
        let text = enc
            .decode_without_bom_handling_and_without_replacement(&bytes[bom_len..])
            .ok_or(ImportFileError::NotText)?;
        return Ok((text.into_owned(), ImportEncoding::Utf16));
    }
    if bytes.contains(&0) {
        return Err(ImportFileError::NotText);
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_string(), ImportEncoding::Utf8));
    }
    // encoding_rs's GBK decoder reads all of GB18030, a superset.
    encoding_rs::GBK
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|t| (t.into_owned(), ImportEncoding::Gbk))
        .ok_or(ImportFileError::NotText)
}

/// Where each column we read is in a row.
struct Header {
    name: usize,
    phone: usize,
    note: Option<usize>,
    width: usize,
}

/// Which of our columns a header cell names, if any: case, spaces and the
/// "required" marks templates add (`*`, `：`) do not matter.
fn column_of(cell: &str) -> Option<ImportColumn> {
    let key: String = cell
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '*' | '＊' | ':' | '：' | '\u{FEFF}'))
        .flat_map(char::to_lowercase)
        .collect();
    match key.as_str() {
        "姓名" | "名字" | "联系人" | "name" | "fullname" => Some(ImportColumn::Name),
        "手机" | "手机号" | "手机号码" | "电话" | "电话号码" | "联系电话" | "phone" | "mobile"
        | "tel" | "phonenumber" => Some(ImportColumn::Phone),
        "备注" | "说明" | "note" | "notes" | "remark" | "remarks" => Some(ImportColumn::Note),
        _ => None,
    }
}

fn header(cells: &[String]) -> Option<Header> {
    let find = |col| cells.iter().position(|c| column_of(c) == Some(col));
    Some(Header {
        name: find(ImportColumn::Name)?,
        phone: find(ImportColumn::Phone)?,
        note: find(ImportColumn::Note),
        width: cells.len(),
    })
}

/// The separator: whichever of comma, tab and semicolon the first line has
/// most of (comma when none).
fn sniff_delimiter(text: &str) -> char {
    let first = text.lines().next().unwrap_or("");
    [',', '\t', ';']
        .into_iter()
        .max_by_key(|d| (first.matches(*d).count(), *d == ','))
        .unwrap_or(',')
}

/// One row of the file: its number as Excel shows it (1-based) and its cells.
type Row = (u32, Vec<String>);

/// Checks every row: the first non-blank one is the header.
fn read_rows(
    rows: impl Iterator<Item = Result<Row, ImportFileError>>,
) -> Result<ImportPreview, ImportFileError> {
    let mut records = rows.filter(|r| {
        r.as_ref().map_or(true, |(_, cells)| {
            cells.iter().any(|c| !c.trim().is_empty())
        })
    });
    let (_, first) = records.next().ok_or(ImportFileError::Empty)??;
    let header = header(&first).ok_or(ImportFileError::MissingHeader)?;
    let mut out = ImportPreview {
        encoding: None,
        file_error: None,
        total_rows: 0,
        valid: Vec::new(),
        errors: Vec::new(),
    };
    let mut seen: HashMap<String, u32> = HashMap::new();
    for record in records {
        let (row, cells) = record?;
        if out.total_rows as usize >= MAX_ROWS {
            return Err(ImportFileError::TooManyRows);
        }
        out.total_rows += 1;
        check_row(&header, row, &cells, &mut seen, &mut out);
    }
    if out.total_rows == 0 {
        return Err(ImportFileError::NoRows);
    }
    Ok(out)
}

/// Validates one row into `out.valid` or `out.errors`.
fn check_row(
    h: &Header,
    row: u32,
    cells: &[String],
    seen: &mut HashMap<String, u32>,
    out: &mut ImportPreview,
) {
    let cell = |i: usize| cells.get(i).map_or("", |s| s.as_str());
    let mut errors = Vec::new();
    let mut err = |reason, column, value: &str| {
        errors.push(ImportRowError {
            row,
            reason,
            column,
            value: shown(value),
            duplicate_of: None,
        })
    };
    if let Some(extra) = cells.iter().skip(h.width).find(|c| !c.trim().is_empty()) {
        err(ImportReason::TooManyColumns, None, extra);
    }
    let name = text_cell(cell(h.name), MAX_NAME_CHARS, false);
    let note = h.note.map(|i| text_cell(cell(i), MAX_NOTE_CHARS, true));
    let phone = phone_cell(cell(h.phone));
    for (col, result) in [(ImportColumn::Name, &name), (ImportColumn::Phone, &phone)] {
        match result {
            Err(reason) => err(*reason, Some(col), cell(h.col_index(col))),
            Ok(v) if v.is_empty() => {
                let reason = match col {
                    ImportColumn::Name => ImportReason::MissingName,
                    _ => ImportReason::MissingPhone,
                };
                err(reason, Some(col), "");
            }
            Ok(_) => {}
        }
    }
    if let (Some(Err(reason)), Some(i)) = (&note, h.note) {
        err(*reason, Some(ImportColumn::Note), cell(i));
    }
    let phone = phone.unwrap_or_default();
    if !phone.is_empty() {
        if let Some(first) = seen.get(&phone) {
            errors.push(ImportRowError {
                row,
                reason: ImportReason::DuplicatePhone,
                column: Some(ImportColumn::Phone),
                value: phone.clone(),
                duplicate_of: Some(*first),
            });
        } else {
            seen.insert(phone.clone(), row);
        }
    }
    if errors.is_empty() {
        let note = note.and_then(Result::ok).filter(|n| !n.is_empty());
        let name = name.unwrap_or_default();
        out.valid.push(ImportRow {
            row,
            name,
            phone,
            note,
        });
    } else {
        out.errors.extend(errors);
    }
}

impl Header {
    fn col_index(&self, col: ImportColumn) -> usize {
        match col {
            ImportColumn::Name => self.name,
            ImportColumn::Phone => self.phone,
            ImportColumn::Note => self.note.unwrap_or(usize::MAX),
        }
    }
}

/// Bidi overrides/isolates, zero-width characters and the BOM: invisible,
/// and able to make a name display as something else.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// A name or note, trimmed with inner whitespace runs made one space. Tabs
/// are whitespace (exports prefix cells with one to keep them text);
/// `multiline` (notes) allows line breaks too.
fn text_cell(raw: &str, max_chars: usize, multiline: bool) -> Result<String, ImportReason> {
    let bad_control = |c: char| {
        (c.is_control() && c != '\t' && !(multiline && matches!(c, '\n' | '\r'))) || is_invisible(c)
    };
    if raw.chars().any(bad_control) {
        return Err(ImportReason::ControlCharacter);
    }
    let v = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if v.chars().count() > max_chars {
        return Err(ImportReason::TooLong);
    }
    if v.starts_with(['=', '+', '-', '@']) {
        return Err(ImportReason::Formula);
    }
    Ok(v)
}

/// The phone in E.164, or "" when the cell is empty. Full-width digits (typed
/// with a Chinese IME) and Excel's leading apostrophe are accepted.
fn phone_cell(raw: &str) -> Result<String, ImportReason> {
    if raw
        .chars()
        .any(|c| (c.is_control() && c != '\t') || is_invisible(c))
    {
        return Err(ImportReason::ControlCharacter);
    }
    let v = raw.trim();
    if v.chars().count() > MAX_PHONE_CHARS {
        return Err(ImportReason::TooLong);
    }
    if v.starts_with(['=', '@']) {
        return Err(ImportReason::Formula);
    }
    let ascii: String = v
        .trim_start_matches('\'')
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '＋' => '+',
            '－' => '-',
            c => c,
        })
        .collect();
    if ascii.is_empty() {
        return Ok(String::new());
    }
    Phone::parse(&ascii)
        .map(Phone::into_string)
        .map_err(|_| ImportReason::BadPhone)
}

/// A cell as the preview shows it: cut, controls made visible as U+FFFD.
fn shown(v: &str) -> String {
    v.chars()
        .take(MAX_VALUE_CHARS)
        .map(|c| {
            if c.is_control() || is_invisible(c) {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// The records of a CSV text with their row numbers. The `csv` crate reads
/// them leniently, the way Excel does (a field that starts with `"` runs to
/// the closing quote, `""` is a quote, separators and line breaks inside are
/// text; any other quote is text; CRLF, LF and a lone CR end a record) but
/// skips blank lines, which Excel still numbers: a record's span starts with
/// the blank lines skipped before it.
fn csv_rows(text: &str) -> impl Iterator<Item = Result<Row, ImportFileError>> + '_ {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(text) as u8)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut row = 0u32;
    std::iter::from_fn(move || match reader.read_record(&mut record) {
        Ok(false) => None,
        // The text is already UTF-8 and in memory: this is not expected.
        Err(_) => Some(Err(ImportFileError::NotText)),
        Ok(true) => {
            let start = record
                .position()
                .and_then(|p| usize::try_from(p.byte()).ok())
                .unwrap_or(0);
            let mut rest = text.get(start..).unwrap_or("");
            // A record ends at the CR of a CRLF: its LF is not a blank line.
            if start > 0 && text.as_bytes()[start - 1] == b'\r' {
                rest = rest.strip_prefix('\n').unwrap_or(rest);
            }
            let skipped = &rest[..rest.len() - rest.trim_start_matches(['\r', '\n']).len()];
            row = row.saturating_add(1).saturating_add(blank_lines(skipped));
            Some(Ok((row, record.iter().map(str::to_string).collect())))
        }
    })
}

/// How many line breaks (CRLF, LF or a lone CR) `gap` holds.
fn blank_lines(gap: &str) -> u32 {
    let n = gap.matches('\n').count() + gap.matches('\r').count() - gap.matches("\r\n").count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
