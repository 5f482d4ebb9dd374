//! Streaming CSV: file → (skip BOM) → decode to UTF-8 → record-length guard → `csv` parser.
//!
//! Memory is bounded: the decoder and the parser use fixed buffers, and the one thing that grows
//! with the input — the parser's buffer for the current record — is capped by [`Guard`], which
//! tracks record boundaries with the same quoting rules as the `csv` crate and fails the read as
//! soon as one record passes [`MAX_RECORD_BYTES`]. (The `csv` crate has no limit of its own.)

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use encoding_rs::Encoding;
use encoding_rs_io::DecodeReaderBytesBuilder;

use crate::{MAX_RECORD_BYTES, Row, TabularError};

type Source = Box<dyn Read + Send>;

/// The data rows of a CSV file, streamed.
pub(crate) struct CsvRows {
    reader: csv::Reader<Guard<Source>>,
    record: csv::StringRecord,
    /// Row number (as Excel shows it) of the previous record.
    prev_row: usize,
    done: bool,
}

impl CsvRows {
    /// Opens a file, skipping a byte-order mark whatever the encoding, and reads the header row.
    pub(crate) fn open(
        path: &Path,
        encoding: &'static Encoding,
        separator: u8,
    ) -> Result<(Vec<String>, CsvRows), TabularError> {
        let mut file = File::open(path)?;
        let mut head = Vec::with_capacity(3);
        (&mut file).take(3).read_to_end(&mut head)?;
        let bom_len = Encoding::for_bom(&head).map_or(0, |(_, len)| len);
        file.seek(SeekFrom::Start(bom_len as u64))?;
        Self::from_reader(Box::new(file), encoding, separator)
    }

    /// Reads the header row of `source` (already past any BOM) and returns it with the rows after.
    pub(crate) fn from_reader(
        source: Source,
        encoding: &'static Encoding,
        separator: u8,
    ) -> Result<(Vec<String>, CsvRows), TabularError> {
        // Invalid bytes become U+FFFD, so the parser always sees valid UTF-8.
        let decoded: Source = Box::new(
            DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding))
                .build(source),
        );
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(separator)
            .from_reader(Guard::new(decoded, separator));
        let mut rows = CsvRows {
            reader,
            record: csv::StringRecord::new(),
            prev_row: 0,
            done: false,
        };
        match rows.next_record() {
            Some(Ok(header)) => Ok((header.cells, rows)),
            Some(Err(e)) => Err(e),
            None => Err(TabularError::Empty),
        }
    }

    /// The next record, blank or not.
    fn next_record(&mut self) -> Option<Result<Row, TabularError>> {
        if self.done {
            return None;
        }
        match self.reader.read_record(&mut self.record) {
            Ok(true) => {
                let number = self.row_number();
                Some(Ok(Row {
                    number,
                    cells: self.record.iter().map(str::to_owned).collect(),
                }))
            }
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                // The parser cannot go on after an I/O error; stop here.
                self.done = true;
                Some(Err(self.error(e)))
            }
        }
    }

    /// The row as Excel shows it (blank lines are rows, a cell with line breaks is not several):
    /// the guard noted it when the record's first byte streamed past.
    fn row_number(&mut self) -> usize {
        let start = self.record.position().map_or(0, csv::Position::byte);
        let starts = &mut self.reader.get_mut().starts;
        // The parser's position may include blank lines skipped before the record.
        while starts.front().is_some_and(|&(offset, _)| offset < start) {
            starts.pop_front();
        }
        let number = starts
            .pop_front()
            .map_or(self.prev_row + 1, |(_, row)| row)
            .max(self.prev_row + 1);
        self.prev_row = number;
        number
    }

    fn error(&self, e: csv::Error) -> TabularError {
        let row = self.prev_row + 1;
        let detail = e.to_string();
        match e.into_kind() {
            csv::ErrorKind::Io(io) => match io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<TooLong>())
            {
                Some(TooLong { line }) => TabularError::LineTooLong { line: *line },
                None => TabularError::Io(io),
            },
            _ => TabularError::Csv { row, detail },
        }
    }
}

impl Iterator for CsvRows {
    type Item = Result<Row, TabularError>;

    /// The next data row; rows whose cells are all blank are skipped.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_record()? {
                Ok(row) if row.cells.iter().all(|c| c.trim().is_empty()) => {}
                other => return Some(other),
            }
        }
    }
}

/// The marker inside the `io::Error` the guard returns.
#[derive(Debug)]
struct TooLong {
    line: u64,
}

impl fmt::Display for TooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "record starting on line {} is longer than {MAX_RECORD_BYTES} bytes",
            self.line
        )
    }
}

impl std::error::Error for TooLong {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// At the start of a field (a `"` here opens a quoted field).
    Start,
    /// Inside an unquoted field (a `"` here is an ordinary character).
    Unquoted,
    /// Inside a quoted field (separators and line breaks are data).
    Quoted,
    /// Just after a `"` inside a quoted field: `""` is an escaped quote, anything else closes it.
    AfterQuote,
}

/// Counts the bytes of the current CSV record as they stream past and fails the read when one
/// record passes [`MAX_RECORD_BYTES`]. Follows the `csv` crate's default quoting rules
/// (RFC 4180 with `""` escapes; a `"` opens a quoted field only at the start of the field;
/// `\r`, `\n` and `\r\n` end records).
struct Guard<R> {
    inner: R,
    separator: u8,
    state: Field,
    record_bytes: usize,
    /// Current physical line, 1-based.
    line: u64,
    /// Line on which the current record started.
    record_line: u64,
    /// Set once the limit is passed: every later read fails.
    failed: Option<u64>,
    /// Offset of the next byte in the decoded stream.
    offset: u64,
    /// The row Excel would show for the current position (a `\r\n` is one line break).
    row: usize,
    /// The last byte ended a record with `\r` (a `\n` right after it is the same break).
    after_cr: bool,
    /// No byte of the current record seen yet.
    at_record_start: bool,
    /// (offset of the first byte, Excel row) of each non-empty record not yet parsed; the parser
    /// is at most its buffer (8 KiB) behind, so this stays small.
    starts: VecDeque<(u64, usize)>,
}

impl<R> Guard<R> {
    fn new(inner: R, separator: u8) -> Self {
        Guard {
            inner,
            separator,
            state: Field::Start,
            record_bytes: 0,
            line: 1,
            record_line: 1,
            failed: None,
            offset: 0,
            row: 1,
            after_cr: false,
            at_record_start: true,
            starts: VecDeque::new(),
        }
    }

    /// Feeds one byte; true when it ends a record.
    fn step(&mut self, b: u8) -> bool {
        let sep = self.separator;
        let (next, end) = match (self.state, b) {
            (Field::Quoted, b'"') => (Field::AfterQuote, false),
            (Field::Quoted, _) => (Field::Quoted, false),
            (Field::AfterQuote, b'"') | (Field::Start, b'"') => (Field::Quoted, false),
            (_, b'\r' | b'\n') => (Field::Start, true),
            (_, x) if x == sep => (Field::Start, false),
            _ => (Field::Unquoted, false),
        };
        self.state = next;
        end
    }
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(line) = self.failed {
            return Err(io::Error::other(TooLong { line }));
        }
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            self.record_bytes += 1;
            if self.record_bytes > MAX_RECORD_BYTES {
                self.failed = Some(self.record_line);
                // Hand over what came before (earlier records parse fine); fail on the next read.
                return if i == 0 {
                    Err(io::Error::other(TooLong {
                        line: self.record_line,
                    }))
                } else {
                    Ok(i)
                };
            }
            let is_break = b == b'\r' || b == b'\n';
            if self.at_record_start && !is_break {
                self.starts.push_back((self.offset, self.row));
                self.at_record_start = false;
            }
            self.offset += 1;
            let end = self.step(b);
            if b == b'\n' {
                self.line += 1;
            }
            if end {
                self.record_bytes = 0;
                self.record_line = self.line;
                self.at_record_start = true;
                if !(b == b'\n' && self.after_cr) {
                    self.row += 1;
                }
            }
            self.after_cr = end && b == b'\r';
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str, sep: u8) -> (Vec<String>, Vec<Result<Row, TabularError>>) {
        let (header, rows) = CsvRows::from_reader(
            Box::new(io::Cursor::new(text.as_bytes().to_vec())),
            encoding_rs::UTF_8,
            sep,
        )
        .unwrap();
        (header, rows.collect())
    }

    #[test]
    fn row_numbers_follow_excel() {
        let (header, rows) = rows("a;b\r\n1;2\r\n\r\n3;\"x\r\ny\"\r\n4;5\r\n;\r\n6;7", b';');
        assert_eq!(header, ["a", "b"]);
        let numbers: Vec<usize> = rows.iter().map(|r| r.as_ref().unwrap().number).collect();
        // Line 3 is blank (row 3), "3" spans lines 4–5 but is one row, ";" (row 6) is skipped.
        assert_eq!(numbers, [2, 4, 5, 7]);
        assert_eq!(rows[1].as_ref().unwrap().cells, ["3", "x\r\ny"]);
    }

    #[test]
    fn guard_follows_quotes() {
        let mut g = Guard::new(io::empty(), b',');
        let ends: Vec<bool> = b"a,\"b\n\"\"c\",d\"e\nf"
            .iter()
            .map(|&b| g.step(b))
            .collect();
        let at: Vec<usize> = ends
            .iter()
            .enumerate()
            .filter(|(_, e)| **e)
            .map(|(i, _)| i)
            .collect();
        // The line break inside the quoted field is data; the one after `d"e` ends the record.
        assert_eq!(at, [13]);
    }

    #[test]
    fn endless_line_fails_with_bounded_reading() {
        // An endless stream without a line break: an unbounded parser would never return.
        let endless: Source = Box::new(io::repeat(b'a'));
        let err = CsvRows::from_reader(endless, encoding_rs::UTF_8, b';')
            .err()
            .unwrap();
        assert!(
            matches!(err, TabularError::LineTooLong { line: 1 }),
            "{err}"
        );

        let text = format!("a;b\n1;2\n3;{}", "x".repeat(MAX_RECORD_BYTES + 10));
        let (header, rows) = rows(&text, b';');
        assert_eq!(header, ["a", "b"]);
        assert_eq!(rows[0].as_ref().unwrap().cells, ["1", "2"]);
        assert!(
            matches!(rows[1], Err(TabularError::LineTooLong { line: 3 })),
            "{:?}",
            rows[1]
        );
        assert_eq!(rows.len(), 2);
    }
}
