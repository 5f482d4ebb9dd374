//! XLSX and XLS through `calamine`: the chosen sheet is read whole (not streamed) and kept as
//! sparse rows of strings — XLSX cell by cell, XLS from `calamine`'s dense range.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use calamine::{Data, Reader as _, SheetType, SheetVisible};

use crate::{Format, MAX_COLUMNS, Row, TabularError};

type Xlsx = calamine::Xlsx<BufReader<File>>;
type Xls = calamine::Xls<BufReader<File>>;

enum Book {
    Xlsx(Xlsx),
    Xls(Xls),
}

impl Book {
    fn open(path: &Path, format: Format) -> Result<Book, TabularError> {
        match format {
            Format::Xlsx => calamine::open_workbook::<Xlsx, _>(path)
                .map(Book::Xlsx)
                .map_err(|e| bad(format, &e)),
            Format::Xls => calamine::open_workbook::<Xls, _>(path)
                .map(Book::Xls)
                .map_err(|e| bad(format, &e)),
            Format::Csv => Err(bad(format, &"not a workbook")),
        }
    }

    fn metadata(&self) -> &[calamine::Sheet] {
        match self {
            Book::Xlsx(b) => b.sheets_metadata(),
            Book::Xls(b) => b.sheets_metadata(),
        }
    }

    /// Worksheet names (charts, macro and dialog sheets left out), and the default one: the
    /// first visible worksheet.
    fn worksheets(&self) -> (Vec<String>, Option<String>) {
        let sheets: Vec<&calamine::Sheet> = self
            .metadata()
            .iter()
            .filter(|s| s.typ == SheetType::WorkSheet)
            .collect();
        let default = sheets
            .iter()
            .find(|s| s.visible == SheetVisible::Visible)
            .or(sheets.first())
            .map(|s| s.name.clone());
        (sheets.iter().map(|s| s.name.clone()).collect(), default)
    }
}

fn bad(format: Format, e: &dyn std::fmt::Display) -> TabularError {
    TabularError::BadWorkbook {
        format: format.name(),
        detail: e.to_string(),
    }
}

/// The worksheets of a workbook, in order.
pub(crate) fn sheet_names(path: &Path, format: Format) -> Result<Vec<String>, TabularError> {
    Ok(Book::open(path, format)?.worksheets().0)
}

/// A cell worth keeping.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Text(String),
    /// An Excel error value, as Excel writes it ("#REF!").
    Error(String),
}

/// A row with at least one non-empty cell; positions are absolute and 0-based.
#[derive(Debug, Default)]
struct SparseRow {
    cells: Vec<(u32, Cell)>,
    /// The first column past [`MAX_COLUMNS`] that had data (0-based).
    too_wide: Option<u32>,
}

/// The rows of one sheet, after the header.
pub(crate) struct SheetRows {
    rows: std::collections::btree_map::IntoIter<u32, SparseRow>,
    /// The leftmost column with data (0-based): rows start there.
    origin: u32,
    header: Vec<String>,
}

impl SheetRows {
    /// Reads the chosen sheet (default: the first visible worksheet) and splits off the header.
    pub(crate) fn open(
        path: &Path,
        format: Format,
        sheet: Option<&str>,
    ) -> Result<(Vec<String>, SheetRows), TabularError> {
        let mut book = Book::open(path, format)?;
        let (names, default) = book.worksheets();
        let name = match sheet {
            None => default.ok_or(TabularError::NoSheets)?,
            Some(wanted) => names
                .iter()
                .find(|n| n.as_str() == wanted)
                .or_else(|| {
                    names
                        .iter()
                        .find(|n| n.trim().to_lowercase() == wanted.trim().to_lowercase())
                })
                .cloned()
                .ok_or_else(|| TabularError::SheetNotFound {
                    name: wanted.to_owned(),
                    available: names
                        .iter()
                        .map(|n| format!("\"{n}\""))
                        .collect::<Vec<_>>()
                        .join(", "),
                })?,
        };

        let mut rows: BTreeMap<u32, SparseRow> = BTreeMap::new();
        let mut keep = |row: u32, col: u32, value: Data| {
            let Some(cell) = cell_value(value) else {
                return;
            };
            let entry = rows.entry(row).or_default();
            if col as usize >= MAX_COLUMNS {
                entry.too_wide.get_or_insert(col);
            } else {
                entry.cells.push((col, cell));
            }
        };
        match &mut book {
            Book::Xlsx(xlsx) => {
                // Cell by cell: a sheet with a stray far-away cell costs nothing extra.
                let mut cells = xlsx
                    .worksheet_cells_reader(&name)
                    .map_err(|e| bad(format, &e))?;
                while let Some(cell) = cells.next_cell().map_err(|e| bad(format, &e))? {
                    let (row, col) = cell.get_position();
                    keep(row, col, Data::from(cell.get_value().clone()));
                }
            }
            Book::Xls(xls) => {
                let range = xls.worksheet_range(&name).map_err(|e| bad(format, &e))?;
                let (row0, col0) = range.start().unwrap_or((0, 0));
                for (r, c, value) in range.used_cells() {
                    let (r, c) = (
                        u32::try_from(r).unwrap_or(u32::MAX),
                        u32::try_from(c).unwrap_or(u32::MAX),
                    );
                    keep(
                        row0.saturating_add(r),
                        col0.saturating_add(c),
                        value.clone(),
                    );
                }
            }
        }
        drop(book);
        for row in rows.values_mut() {
            row.cells.sort_by_key(|(col, _)| *col);
        }
        rows.retain(|_, row| row.too_wide.is_some() || !is_blank(row));
        let origin = rows
            .values()
            .filter_map(|r| r.cells.first().map(|(c, _)| *c))
            .min()
            .unwrap_or(0);

        let mut rows = rows.into_iter();
        let Some((header_row, header)) = rows.next() else {
            return Err(TabularError::EmptySheet { sheet: name });
        };
        let sheet_rows = SheetRows {
            rows,
            origin,
            header: Vec::new(),
        };
        let header = sheet_rows.dense(header_row, header)?;
        Ok((header.cells, sheet_rows))
    }

    /// Rows not read yet: known without reading, since the sheet is held whole.
    pub(crate) fn remaining(&self) -> usize {
        self.rows.len()
    }

    /// Column names for error messages.
    pub(crate) fn set_header(&mut self, header: &[String]) {
        self.header = header.to_vec();
    }

    fn dense(&self, row: u32, sparse: SparseRow) -> Result<Row, TabularError> {
        let number = row as usize + 1;
        if let Some(col) = sparse.too_wide {
            return Err(TabularError::TooManyColumns {
                row: number,
                column: col as usize + 1,
            });
        }
        let width = sparse
            .cells
            .last()
            .map_or(0, |(c, _)| (c - self.origin) as usize + 1);
        let mut cells = vec![String::new(); width.max(self.header.len())];
        let mut first_error: Option<(u32, String)> = None;
        for (col, cell) in sparse.cells {
            let i = (col - self.origin) as usize;
            cells[i] = match cell {
                Cell::Text(text) => text,
                Cell::Error(error) => {
                    first_error.get_or_insert((col, error.clone()));
                    error
                }
            };
        }
        match first_error {
            None => Ok(Row { number, cells }),
            Some((col, error)) => {
                let header = self
                    .header
                    .get((col - self.origin) as usize)
                    .filter(|h| !h.is_empty())
                    .map_or_else(String::new, |h| format!(", \"{h}\""));
                Err(TabularError::CellError {
                    row: number,
                    column: col as usize + 1,
                    cell: format!("{}{number}", column_letters(col)),
                    header,
                    error,
                    cells,
                })
            }
        }
    }
}

impl Iterator for SheetRows {
    type Item = Result<Row, TabularError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (row, sparse) = self.rows.next()?;
        Some(self.dense(row, sparse))
    }
}

fn is_blank(row: &SparseRow) -> bool {
    row.cells
        .iter()
        .all(|(_, c)| matches!(c, Cell::Text(t) if t.trim().is_empty()))
}

/// "A", "Z", "AA" … for a 0-based column.
fn column_letters(col: u32) -> String {
    let mut n = col + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + u8::try_from(rem).unwrap_or(0)));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// A cell as text; `None` for an empty cell.
///
/// Whole floats print without ".0" or an exponent (phones typed into Excel as numbers:
/// 79123456789.0 → "79123456789"); other floats in the shortest form that reads back the same;
/// dates as "2024-03-05", date-times as "2024-03-05 14:30" (seconds only when not zero), times
/// as "14:30"; durations as "36:15:00"; booleans as "TRUE"/"FALSE"; formulas as their cached
/// value; errors as the error value.
pub(crate) fn cell_value(value: Data) -> Option<Cell> {
    let text = match value {
        Data::Empty => return None,
        Data::String(s) if s.is_empty() => return None,
        Data::String(s) => s,
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(f),
        Data::Bool(b) => (if b { "TRUE" } else { "FALSE" }).to_owned(),
        Data::DateTime(dt) => datetime_text(&dt),
        Data::DateTimeIso(s) => s.replacen('T', " ", 1),
        Data::DurationIso(s) => s,
        Data::Error(e) => return Some(Cell::Error(e.to_string())),
    };
    Some(Cell::Text(text))
}

/// Rust's `Display` for `f64` is the shortest round-trip form and never uses an exponent.
fn float_text(f: f64) -> String {
    if f == 0.0 {
        "0".to_owned()
    } else {
        f.to_string()
    }
}

fn datetime_text(dt: &calamine::ExcelDateTime) -> String {
    let value = dt.as_f64();
    if dt.is_duration() {
        #[allow(clippy::cast_possible_truncation)]
        let seconds = (value * 86_400.0).round() as i64;
        let sign = if seconds < 0 { "-" } else { "" };
        let s = seconds.abs();
        return format!("{sign}{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    }
    let (y, mo, d, h, mi, s, _ms) = dt.to_ymd_hms_milli();
    let time = if s == 0 {
        format!("{h:02}:{mi:02}")
    } else {
        format!("{h:02}:{mi:02}:{s:02}")
    };
    if (0.0..1.0).contains(&value) {
        time
    } else if (h, mi, s) == (0, 0, 0) {
        format!("{y:04}-{mo:02}-{d:02}")
    } else {
        format!("{y:04}-{mo:02}-{d:02} {time}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{ExcelDateTime, ExcelDateTimeType};

    fn text(v: Data) -> String {
        match cell_value(v) {
            Some(Cell::Text(t)) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cells_as_text() {
        assert_eq!(text(Data::Float(79_123_456_789.0)), "79123456789");
        assert_eq!(text(Data::Float(7.912_345_678_9E10)), "79123456789");
        assert_eq!(text(Data::Float(48_601_234_567.0)), "48601234567");
        assert_eq!(text(Data::Float(1.5)), "1.5");
        assert_eq!(text(Data::Float(0.1 + 0.2)), "0.30000000000000004");
        assert_eq!(text(Data::Float(-0.0)), "0");
        assert_eq!(text(Data::Float(1e20)), "100000000000000000000");
        assert_eq!(text(Data::Int(42)), "42");
        assert_eq!(text(Data::Bool(true)), "TRUE");
        assert_eq!(text(Data::Bool(false)), "FALSE");
        let date = |v| Data::DateTime(ExcelDateTime::new(v, ExcelDateTimeType::DateTime, false));
        assert_eq!(text(date(45_356.0)), "2024-03-05");
        assert_eq!(text(date(45_356.0 + 14.5 / 24.0)), "2024-03-05 14:30");
        assert_eq!(text(date(0.75)), "18:00");
        let duration = Data::DateTime(ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false));
        assert_eq!(text(duration), "36:00:00");
        assert_eq!(
            text(Data::DateTimeIso("2024-03-05T14:30:00".into())),
            "2024-03-05 14:30:00"
        );
        assert_eq!(cell_value(Data::Empty), None);
        assert_eq!(cell_value(Data::String(String::new())), None);
        assert_eq!(
            cell_value(Data::Error(calamine::CellErrorType::Ref)),
            Some(Cell::Error("#REF!".into()))
        );
    }

    #[test]
    fn letters() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(16_383), "XFD");
    }
}
