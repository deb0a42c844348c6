//! Partner import from CSV, the pure half: bytes in, a preview out, nothing
//! written. The preview says which rows are ready (normalized, phone in
//! E.164) and why each other row is not, with the row number the person sees
//! in Excel, so they can fix the file before an all-or-nothing import.
//!
//! Accepts what spreadsheets in China write: UTF-8 with or without BOM, GBK
//! (Excel's "CSV" on a Chinese Windows), and UTF-16 with BOM ("Unicode
//! text", tab-separated); comma, semicolon or tab separated; CRLF or LF.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::phone::Phone;

pub mod recheck;

/// Largest file we read: 10,000 rows of name, phone and a note fit easily.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Most partners one import may bring (not counting the header and blank rows).
pub const MAX_ROWS: usize = 10_000;
/// The same limits as on the server, so a previewed row is never refused there.
pub use crate::limits::{MAX_NAME_CHARS, MAX_NOTE_CHARS, MAX_PHONE_CHARS};
/// How much of an offending cell the preview repeats.
const MAX_VALUE_CHARS: usize = 80;

/// How the file was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ImportEncoding {
    Utf8,
    Utf8Bom,
    Gbk,
    Utf16,
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
    /// An Excel workbook (.xlsx/.xls), not CSV: "save as CSV" first.
    Spreadsheet,
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
    let (text, encoding) = match decode(bytes) {
        Ok(decoded) => decoded,
        Err(e) => return ImportPreview::refused(None, e),
    };
    if text.trim().is_empty() {
        return ImportPreview::refused(Some(encoding), ImportFileError::Empty);
    }
    match read_rows(&text) {
        Ok(mut p) => {
            p.encoding = Some(encoding);
            p
        }
        Err(e) => ImportPreview::refused(Some(encoding), e),
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
    // Zip (.xlsx) and OLE (.xls) signatures: a workbook, not CSV.
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        return Err(ImportFileError::Spreadsheet);
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

fn read_rows(text: &str) -> Result<ImportPreview, ImportFileError> {
    let mut records = Records::new(text, sniff_delimiter(text))
        .enumerate()
        .map(|(i, cells)| (u32::try_from(i + 1).unwrap_or(u32::MAX), cells))
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()));
    let (_, first) = records.next().ok_or(ImportFileError::Empty)?;
    let header = header(&first).ok_or(ImportFileError::MissingHeader)?;
    let mut out = ImportPreview {
        encoding: None,
        file_error: None,
        total_rows: 0,
        valid: Vec::new(),
        errors: Vec::new(),
    };
    let mut seen: HashMap<String, u32> = HashMap::new();
    for (row, cells) in records {
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

/// RFC 4180 records, read leniently the way Excel reads them: a field that
/// starts with `"` runs to the closing quote (`""` is a quote; separators and
/// line breaks inside are text), any other quote is text; CRLF, LF and a
/// lone CR end a record.
struct Records<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    delim: char,
}

impl<'a> Records<'a> {
    fn new(text: &'a str, delim: char) -> Records<'a> {
        Records {
            chars: text.chars().peekable(),
            delim,
        }
    }
}

impl Iterator for Records<'_> {
    type Item = Vec<String>;

    fn next(&mut self) -> Option<Vec<String>> {
        self.chars.peek()?;
        let mut fields = Vec::new();
        let mut field = String::new();
        let (mut quoted, mut fresh) = (false, true);
        while let Some(c) = self.chars.next() {
            if quoted {
                if c != '"' {
                    field.push(c);
                } else if self.chars.next_if_eq(&'"').is_some() {
                    field.push('"');
                } else {
                    quoted = false;
                }
                continue;
            }
            match c {
                '"' if fresh => quoted = true,
                '\r' | '\n' => {
                    if c == '\r' {
                        self.chars.next_if_eq(&'\n');
                    }
                    fields.push(field);
                    return Some(fields);
                }
                c if c == self.delim => fields.push(std::mem::take(&mut field)),
                c => field.push(c),
            }
            fresh = c == self.delim;
        }
        fields.push(field);
        Some(fields)
    }
}

#[cfg(test)]
mod tests;
