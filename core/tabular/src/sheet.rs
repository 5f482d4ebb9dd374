//! XLSX and XLS through `calamine`, as sparse rows of strings shaped into table rows by one set
//! of rules for both formats.
//!
//! XLSX is streamed: a thread of its own walks the sheet's XML with `calamine`'s cell reader and
//! hands over rows in small batches, so the first rows come out before the rest of the sheet is
//! parsed and memory stays flat however long the sheet is. XLS has no streaming reader in
//! `calamine`: its sheet is loaded whole as a range, then goes through the same shaping.
//!
//! Shaping: blank rows are skipped; the first row with data is the header; the header's
//! leftmost non-blank cell is the table's first column ("origin"), and every row is read from
//! there. A row with data left of the origin has no column for that cell and is rejected
//! ([`TabularError::LeftOfTable`]); a row with data past [`MAX_COLUMNS`] is rejected
//! ([`TabularError::TooManyColumns`]); a row with an Excel error value is rejected naming the
//! cell and its header ([`TabularError::CellError`]). Rows come out in sheet order; an XLSX
//! whose rows go backwards is refused as damaged rather than read out of order.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

use calamine::{Data, Dimensions, Reader as _, SheetType, SheetVisible};

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

impl Cell {
    fn is_blank(&self) -> bool {
        matches!(self, Cell::Text(t) if t.trim().is_empty())
    }
}

/// A row with at least one non-empty cell; positions are absolute and 0-based.
#[derive(Debug, Default)]
struct SparseRow {
    /// In column order.
    cells: Vec<(u32, Cell)>,
    /// The first column past [`MAX_COLUMNS`] that had data (0-based).
    too_wide: Option<u32>,
}

impl SparseRow {
    /// Anything to read or reject: a non-blank cell, or data past the last column.
    fn has_data(&self) -> bool {
        self.too_wide.is_some() || self.cells.iter().any(|(_, c)| !c.is_blank())
    }
}

/// A sheet row (0-based) and its cells.
type NumberedRow = (u32, SparseRow);

/// Groups cells, given in sheet order, into rows.
#[derive(Default)]
struct RowBuilder {
    current: Option<NumberedRow>,
}

impl RowBuilder {
    /// Adds a cell; returns the previous row when this cell starts a new one.
    fn push(
        &mut self,
        format: Format,
        row: u32,
        col: u32,
        value: Data,
    ) -> Result<Option<NumberedRow>, TabularError> {
        let Some(cell) = cell_value(value) else {
            return Ok(None);
        };
        let finished = match &self.current {
            Some((current, _)) if *current == row => None,
            Some((current, _)) if *current > row => {
                return Err(bad(
                    format,
                    &format_args!(
                        "row {} comes after row {} in the sheet; rows out of order are not supported",
                        row + 1,
                        current + 1
                    ),
                ));
            }
            _ => self.finish(),
        };
        let (_, entry) = self
            .current
            .get_or_insert_with(|| (row, SparseRow::default()));
        if col as usize >= MAX_COLUMNS {
            entry.too_wide.get_or_insert(col);
        } else {
            entry.cells.push((col, cell));
        }
        Ok(finished)
    }

    /// The row being built, complete: no more cells of it will come.
    fn finish(&mut self) -> Option<NumberedRow> {
        let (row, mut sparse) = self.current.take()?;
        // Cells come in column order in practice; sorting a sorted row costs one pass.
        sparse.cells.sort_by_key(|(col, _)| *col);
        Some((row, sparse))
    }
}

/// Rows handed over by the reading thread at first, and at most: the first batches are small so
/// a preview of a few rows parses little more than it shows, later ones larger so a long import
/// pays for few hand-overs.
const FIRST_BATCH: usize = 8;
const MAX_BATCH: usize = 256;

/// What the reading thread of an XLSX sheet sends.
enum Message {
    /// The sheet is open; its declared dimension, if it has one.
    Opened(Option<Dimensions>),
    Rows(Vec<NumberedRow>),
    /// The sheet cannot be read further; nothing follows.
    Failed(TabularError),
    /// Every row was sent.
    End,
}

/// An XLSX sheet's rows, parsed on a thread of their own.
///
/// `calamine`'s cell reader borrows the workbook mutably for as long as it reads. Keeping both
/// in one struct would need a self-referential cell, and `self_cell` builds its dependent from a
/// shared borrow only (a mutable one would take `unsafe`, which this workspace forbids). A thread
/// that owns the workbook needs neither, and it parses the next batch while the consumer works on
/// the last one. The channel is a rendezvous: the thread is at most one batch ahead of the
/// consumer, so memory stays flat, and when the consumer stops (a preview after its rows) the
/// thread's next hand-over fails and it ends; dropping the stream waits for that.
struct XlsxStream {
    rows: Option<mpsc::Receiver<Message>>,
    thread: Option<JoinHandle<()>>,
    batch: std::vec::IntoIter<NumberedRow>,
    ended: bool,
}

impl XlsxStream {
    /// Starts reading sheet `name` of `book`; returns when the sheet's XML is open.
    fn open(book: Xlsx, name: String) -> Result<(XlsxStream, Option<Dimensions>), TabularError> {
        let (tx, rx) = mpsc::sync_channel(0);
        let thread = std::thread::Builder::new()
            .name("xlsx-rows".into())
            .spawn(move || read_xlsx(book, &name, &tx))?;
        let mut stream = XlsxStream {
            rows: Some(rx),
            thread: Some(thread),
            batch: Vec::new().into_iter(),
            ended: false,
        };
        match stream.receive() {
            Message::Opened(dimensions) => Ok((stream, dimensions)),
            Message::Failed(e) => Err(e),
            Message::Rows(_) | Message::End => Err(stopped()),
        }
    }

    fn receive(&mut self) -> Message {
        match self.rows.as_ref().map(mpsc::Receiver::recv) {
            Some(Ok(message)) => message,
            // The thread is gone without saying it ended: it panicked.
            Some(Err(mpsc::RecvError)) | None => Message::Failed(stopped()),
        }
    }

    fn next(&mut self) -> Option<Result<NumberedRow, TabularError>> {
        loop {
            if let Some(row) = self.batch.next() {
                return Some(Ok(row));
            }
            if self.ended {
                return None;
            }
            match self.receive() {
                Message::Rows(rows) => self.batch = rows.into_iter(),
                Message::End => self.ended = true,
                Message::Failed(e) => {
                    self.ended = true;
                    return Some(Err(e));
                }
                Message::Opened(_) => {
                    self.ended = true;
                    return Some(Err(stopped()));
                }
            }
        }
    }
}

impl Drop for XlsxStream {
    fn drop(&mut self) {
        // Closing the channel first makes the thread's next hand-over fail, so the join below
        // waits for at most one batch.
        self.rows = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn stopped() -> TabularError {
    TabularError::BadWorkbook {
        format: Format::Xlsx.name(),
        detail: "the sheet reader stopped unexpectedly".into(),
    }
}

/// The reading thread: the sheet's cells into rows, sent in batches until the end, an error, or
/// the receiver is gone.
fn read_xlsx(mut book: Xlsx, name: &str, tx: &mpsc::SyncSender<Message>) {
    let format = Format::Xlsx;
    let mut cells = match book.worksheet_cells_reader(name) {
        Ok(cells) => cells,
        Err(e) => {
            let _ = tx.send(Message::Failed(bad(format, &e)));
            return;
        }
    };
    let dimensions = cells.dimensions();
    // calamine reports a sheet without a <dimension> element as the default (A1).
    let declared = (dimensions != Dimensions::default()).then_some(dimensions);
    if tx.send(Message::Opened(declared)).is_err() {
        return;
    }
    let mut builder = RowBuilder::default();
    let mut size = FIRST_BATCH;
    let mut batch = Vec::with_capacity(size);
    let failure = loop {
        let cell = match cells.next_cell() {
            Ok(Some(cell)) => cell,
            Ok(None) => {
                batch.extend(builder.finish());
                break None;
            }
            // The row being read when the XML broke is incomplete: it is not sent.
            Err(e) => break Some(bad(format, &e)),
        };
        let (row, col) = cell.get_position();
        match builder.push(format, row, col, Data::from(cell.get_value().clone())) {
            Ok(None) => {}
            Ok(Some(done)) => {
                batch.push(done);
                if batch.len() >= size {
                    size = (size * 2).min(MAX_BATCH);
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(size));
                    if tx.send(Message::Rows(full)).is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                // Rows going backwards: the row before is complete, the sheet is not.
                batch.extend(builder.finish());
                break Some(e);
            }
        }
    };
    if !batch.is_empty() && tx.send(Message::Rows(batch)).is_err() {
        return;
    }
    let _ = tx.send(failure.map_or(Message::End, Message::Failed));
}

/// Where a sheet's rows come from.
enum Source {
    Xlsx(XlsxStream),
    /// XLS, loaded whole.
    Whole(std::vec::IntoIter<NumberedRow>),
}

impl Source {
    fn next(&mut self) -> Option<Result<NumberedRow, TabularError>> {
        match self {
            Source::Xlsx(stream) => stream.next(),
            Source::Whole(rows) => rows.next().map(Ok),
        }
    }
}

/// The rows of one sheet, after the header.
pub(crate) struct SheetRows {
    source: Source,
    /// The header's leftmost non-blank column (0-based): rows start there.
    origin: u32,
    header: Vec<String>,
    /// The sheet row (0-based) last taken from the source: the header's at first.
    position: u32,
    /// XLSX: the last row the sheet declares (0-based), when it declares a range of rows.
    declared_end: Option<u32>,
    done: bool,
}

impl SheetRows {
    /// Opens the chosen sheet (default: the first visible worksheet) and reads up to the header.
    pub(crate) fn open(
        path: &Path,
        format: Format,
        sheet: Option<&str>,
    ) -> Result<(Vec<String>, SheetRows), TabularError> {
        let book = Book::open(path, format)?;
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

        let (source, dimensions) = match book {
            Book::Xlsx(xlsx) => {
                let (stream, dimensions) = XlsxStream::open(xlsx, name.clone())?;
                (Source::Xlsx(stream), dimensions)
            }
            Book::Xls(mut xls) => {
                let range = xls.worksheet_range(&name).map_err(|e| bad(format, &e))?;
                drop(xls);
                let (row0, col0) = range.start().unwrap_or((0, 0));
                let mut builder = RowBuilder::default();
                let mut rows = Vec::new();
                // Row by row, left to right: the order the builder needs.
                for (r, c, value) in range.used_cells() {
                    let (r, c) = (
                        u32::try_from(r).unwrap_or(u32::MAX),
                        u32::try_from(c).unwrap_or(u32::MAX),
                    );
                    let (row, col) = (row0.saturating_add(r), col0.saturating_add(c));
                    rows.extend(builder.push(format, row, col, value.clone())?);
                }
                rows.extend(builder.finish());
                (Source::Whole(rows.into_iter()), None)
            }
        };

        let mut sheet_rows = SheetRows {
            source,
            origin: 0,
            header: Vec::new(),
            position: 0,
            declared_end: None,
            done: false,
        };
        let Some(first) = sheet_rows.next_sparse() else {
            return Err(TabularError::EmptySheet { sheet: name });
        };
        let (header_row, header) = first?;
        sheet_rows.origin = header
            .cells
            .iter()
            .find(|(_, cell)| !cell.is_blank())
            .map_or(0, |(col, _)| *col);
        // A one-cell dimension is what some writers declare whatever the sheet holds.
        sheet_rows.declared_end = dimensions
            .filter(|d| d.end.0 > d.start.0 && d.end.0 >= header_row)
            .map(|d| d.end.0);
        let header = sheet_rows.dense(header_row, header)?;
        Ok((header.cells, sheet_rows))
    }

    /// The next row with data (blank rows skipped), or the error that ends the sheet.
    fn next_sparse(&mut self) -> Option<Result<NumberedRow, TabularError>> {
        loop {
            if self.done {
                return None;
            }
            match self.source.next() {
                None => {
                    self.done = true;
                    return None;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Ok((row, sparse))) => {
                    self.position = row;
                    if sparse.has_data() {
                        return Some(Ok((row, sparse)));
                    }
                }
            }
        }
    }

    /// Rows not read yet, when known without reading them: exactly for XLS (held whole); for
    /// XLSX at most the rows up to the sheet's declared last row (blank rows among them are
    /// skipped when read), or `None` when the sheet declares no range.
    pub(crate) fn remaining(&self) -> Option<usize> {
        match &self.source {
            Source::Whole(rows) => {
                Some(rows.as_slice().iter().filter(|(_, r)| r.has_data()).count())
            }
            Source::Xlsx(_) => self
                .declared_end
                .map(|end| end.saturating_sub(self.position) as usize),
        }
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
            .filter(|(c, _)| *c >= self.origin)
            .map_or(0, |(c, _)| (c - self.origin) as usize + 1);
        let mut cells = vec![String::new(); width.max(self.header.len())];
        let mut first_error: Option<(u32, String)> = None;
        let mut left_of_table: Option<u32> = None;
        for (col, cell) in sparse.cells {
            let Some(i) = col.checked_sub(self.origin) else {
                // Blank cells left of the table lose nothing.
                if !cell.is_blank() {
                    left_of_table.get_or_insert(col);
                }
                continue;
            };
            cells[i as usize] = match cell {
                Cell::Text(text) => text,
                Cell::Error(error) => {
                    first_error.get_or_insert((col, error.clone()));
                    error
                }
            };
        }
        if let Some(col) = left_of_table {
            return Err(TabularError::LeftOfTable {
                row: number,
                column: col as usize + 1,
                cell: format!("{}{number}", column_letters(col)),
                header_start: column_letters(self.origin),
                cells,
            });
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
        let item = self.next_sparse()?;
        Some(item.and_then(|(row, sparse)| self.dense(row, sparse)))
    }
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
