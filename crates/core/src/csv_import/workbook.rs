//! Excel workbooks read through `calamine` into the rows a CSV file gives:
//! .xlsx (what Excel saves by default) and the older .xls. The first sheet
//! with anything in it is read; numbers come as Excel shows them in a
//! general cell (a phone typed as a number is 13800138000, not 1.38E+10).
//!
//! A .xlsx is a zip: a 2 MiB file can hold far more cells than that. Its
//! cells are streamed and reading stops as soon as there are more rows or
//! cells than an import may bring, so a crafted file cannot fill memory.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, Reader};

use super::{ImportEncoding, ImportFileError, Row, MAX_ROWS};

/// Columns a row may have that we keep as they are; a filled cell further
/// right is kept as one extra cell (so the row says "too many columns").
const MAX_COLUMNS: u32 = 64;
/// Filled cells one sheet may have: every allowed row full, the header too.
const MAX_CELLS: usize = (MAX_ROWS + 1) * MAX_COLUMNS as usize;

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
            return Err(ImportFileError::TooLarge);
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
