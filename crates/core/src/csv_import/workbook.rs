//! Excel workbooks read through `calamine` into the rows a CSV file gives:
//! .xlsx (what Excel saves by default) and the older .xls. The first sheet
//! with anything in it is read; numbers come as Excel shows them in a
//! general cell (a phone typed as a number is 13800138000, not 1.38E+10).
//!
//! A .xlsx is a zip: a 2 MiB file can declare gigabytes. Before calamine
//! opens it (which inflates the shared strings and the styles at once), the
//! zip's directory is read: the parts together may declare at most
//! `MAX_IMPORT_UNZIPPED_BYTES` (the zip reader then stops any part at its
//! declared size), and the shared strings are counted as they stream by.
//! Then the cells are streamed and reading stops as soon as there are more
//! rows or cells than an import may bring. A crafted file is refused with
//! `WorkbookTooLarge` instead of filling memory.

use std::collections::BTreeMap;
use std::io::{BufReader, Cursor};

use calamine::{Data, Reader};

use super::{ImportEncoding, ImportFileError, Row, MAX_ROWS};
use crate::limits::{
    MAX_IMPORT_CELLS as MAX_CELLS, MAX_IMPORT_COLUMNS, MAX_IMPORT_SHARED_STRINGS,
    MAX_IMPORT_UNZIPPED_BYTES,
};

const MAX_COLUMNS: u32 = MAX_IMPORT_COLUMNS as u32;

/// Zip (.xlsx) or OLE compound file (.xls) signature: a workbook, not text.
pub(super) fn format_of(bytes: &[u8]) -> Option<ImportEncoding> {
    if bytes.starts_with(b"PK\x03\x04") {
        Some(ImportEncoding::Xlsx)
    } else if bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        Some(ImportEncoding::Xls)
    } else {
        None
    }
}

/// The non-blank rows of the first sheet that has any, in order.
pub(super) fn rows(bytes: &[u8], format: ImportEncoding) -> Result<Vec<Row>, ImportFileError> {
    if format == ImportEncoding::Xls {
        return xls_rows(bytes);
    }
    let unreadable = |_| ImportFileError::UnreadableWorkbook;
    check_zip(bytes)?;
    let mut book = calamine::Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    for name in book.sheet_names() {
        // Chart sheets and the like have no cells to read.
        let Ok(mut cells) = book.worksheet_cells_reader(&name) else {
            continue;
        };
        let mut grid = Grid::default();
        while let Some(cell) = cells.next_cell().map_err(unreadable)? {
            let (row, col) = cell.get_position();
            grid.put(row, col, Data::from(cell.get_value().clone()))?;
        }
        if !grid.rows.is_empty() {
            return Ok(grid.into_rows());
        }
    }
    Ok(Vec::new())
}

/// What the zip of a .xlsx declares, checked before calamine inflates any
/// of it: the parts' total size, then the number of shared strings (read as
/// a stream, so no more than their declared size is ever inflated).
fn check_zip(bytes: &[u8]) -> Result<(), ImportFileError> {
    let unreadable = |_| ImportFileError::UnreadableWorkbook;
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    let mut total: u64 = 0;
    let mut shared_strings = Vec::new();
    for i in 0..zip.len() {
        // Raw: the directory entry only, nothing inflated.
        let part = zip.by_index_raw(i).map_err(unreadable)?;
        total = total.saturating_add(part.size());
        if total > MAX_IMPORT_UNZIPPED_BYTES as u64 {
            return Err(ImportFileError::WorkbookTooLarge);
        }
        // calamine finds it case-insensitively, under whatever folder the
        // workbook names: count every part of that name.
        let name = part.name().map_err(unreadable)?;
        if name.to_ascii_lowercase().ends_with("sharedstrings.xml") {
            shared_strings.push(i);
        }
    }
    for i in shared_strings {
        let part = zip.by_index(i).map_err(unreadable)?;
        if count_shared_strings(BufReader::new(part), MAX_IMPORT_SHARED_STRINGS)?
            > MAX_IMPORT_SHARED_STRINGS
        {
            return Err(ImportFileError::WorkbookTooLarge);
        }
    }
    Ok(())
}

/// The `<si>` entries of a shared strings part, counted up to one past
/// `stop` (whatever namespace prefix they carry).
fn count_shared_strings(
    part: impl std::io::BufRead,
    stop: usize,
) -> Result<usize, ImportFileError> {
    use quick_xml::events::Event;
    let mut xml = quick_xml::Reader::from_reader(part);
    let mut buf = Vec::new();
    let mut count = 0;
    loop {
        let event = xml
            .read_event_into(&mut buf)
            .map_err(|_| ImportFileError::UnreadableWorkbook)?;
        match event {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "si" => {
                count += 1;
                if count > stop {
                    return Ok(count);
                }
            }
            Event::Eof => return Ok(count),
            _ => {}
        }
        buf.clear();
    }
}

/// A .xls is not compressed: its cells fit in the file's size limit.
fn xls_rows(bytes: &[u8]) -> Result<Vec<Row>, ImportFileError> {
    let unreadable = |_| ImportFileError::UnreadableWorkbook;
    let mut book = calamine::Xls::new(Cursor::new(bytes)).map_err(unreadable)?;
    for name in book.sheet_names() {
        let Ok(range) = book.worksheet_range(&name) else {
            continue;
        };
        let Some((top, left)) = range.start() else {
            continue;
        };
        let mut grid = Grid::default();
        for (i, row) in range.rows().enumerate() {
            for (j, value) in row.iter().enumerate() {
                let at = |start: u32, k: usize| {
                    start.saturating_add(u32::try_from(k).unwrap_or(u32::MAX))
                };
                grid.put(at(top, i), at(left, j), value.clone())?;
            }
        }
        if !grid.rows.is_empty() {
            return Ok(grid.into_rows());
        }
    }
    Ok(Vec::new())
}

/// The filled cells of one sheet, by 0-based row and column.
#[derive(Default)]
struct Grid {
    rows: BTreeMap<u32, BTreeMap<u32, String>>,
    cells: usize,
}

impl Grid {
    fn put(&mut self, row: u32, col: u32, value: Data) -> Result<(), ImportFileError> {
        let text = cell_text(value);
        if text.trim().is_empty() {
            return Ok(());
        }
        self.cells += 1;
        if self.cells > MAX_CELLS {
            return Err(ImportFileError::WorkbookTooLarge);
        }
        // The header and MAX_ROWS partners; one more row is one too many.
        if !self.rows.contains_key(&row) && self.rows.len() > MAX_ROWS {
            return Err(ImportFileError::TooManyRows);
        }
        self.rows
            .entry(row)
            .or_default()
            .insert(col.min(MAX_COLUMNS), text);
        Ok(())
    }

    /// Rows numbered as Excel shows them, cells from column A.
    fn into_rows(self) -> Vec<Row> {
        self.rows
            .into_iter()
            .map(|(row, cells)| {
                let width = cells.keys().next_back().map_or(0, |c| c + 1);
                let mut out = vec![String::new(); width as usize];
                for (col, text) in cells {
                    out[col as usize] = text;
                }
                (row.saturating_add(1), out)
            })
            .collect()
    }
}

/// A cell as text: numbers as a general cell shows them (no `.0`, no
/// exponent for a phone typed as a number), errors as Excel writes them.
fn cell_text(value: Data) -> String {
    match value {
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        other => other.to_string(),
    }
}
