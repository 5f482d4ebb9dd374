//! Errors of reading and writing tabular files. Every message is meant to be shown to the
//! person who uploaded the file, as is.

use std::io;

/// What went wrong with a tabular file.
///
/// File-level errors (from [`crate::detect`], [`crate::Reader::open`] or a fatal error in the
/// middle of a CSV or XLSX stream) end the reading; the errors with a row ([`TabularError::row`])
/// are row-level: the [`crate::Reader`] yields one for a row and goes on with the next.
#[derive(Debug, thiserror::Error)]
pub enum TabularError {
    /// The file could not be read or written at the operating-system level.
    #[error("cannot read or write the file: {0}")]
    Io(#[from] io::Error),

    /// Zero bytes, or only a byte-order mark and blank lines.
    #[error("file is empty")]
    Empty,

    /// The chosen XLSX/XLS sheet has no cells.
    #[error("sheet \"{sheet}\" is empty")]
    EmptySheet {
        /// Name of the sheet.
        sheet: String,
    },

    /// The first row has no non-empty cell.
    #[error("no header row: the first row must hold the column names")]
    NoHeader,

    /// The first row holds data (a phone number or an e-mail), not column names.
    #[error(
        "no header row: the first row looks like data (column {column} is \"{value}\"); \
         add a first row with the column names"
    )]
    HeaderLooksLikeData {
        /// 1-based column.
        column: usize,
        /// The cell that looks like data.
        value: String,
    },

    /// Two columns have the same name (compared trimmed and case-insensitively).
    #[error("duplicate header \"{name}\" in columns {first} and {second}")]
    DuplicateHeader {
        /// The header as written in the first of the two columns.
        name: String,
        /// 1-based column of the first occurrence.
        first: usize,
        /// 1-based column of the second occurrence.
        second: usize,
    },

    /// One CSV record is longer than [`crate::MAX_RECORD_BYTES`].
    #[error("line {line} is longer than 1 MiB — is this a CSV file?")]
    LineTooLong {
        /// 1-based line (as a text editor counts) on which the record starts.
        line: u64,
    },

    /// NUL bytes or mostly control characters: not a text file, and no workbook signature.
    #[error("this file is not CSV/XLSX/XLS (looks binary)")]
    Binary,

    /// A text file that is an HTML or XML page (for example a web report saved as .xls).
    #[error(
        "this file is an HTML/XML page, not CSV/XLSX/XLS; open it in Excel and save it as XLSX or CSV"
    )]
    Markup,

    /// The file has an XLSX/XLS signature (or extension) but the workbook cannot be read.
    #[error(
        "this file looks like {format} but cannot be read ({detail}); is it damaged or password-protected?"
    )]
    BadWorkbook {
        /// "XLSX" or "XLS".
        format: &'static str,
        /// What the reader said.
        detail: String,
    },

    /// The encoding name given by the user is not known.
    #[error(
        "unknown encoding \"{name}\"; use a name like UTF-8, windows-1251, KOI8-R, IBM866 or windows-1250"
    )]
    UnknownEncoding {
        /// The name as given.
        name: String,
    },

    /// The sheet asked for is not in the workbook.
    #[error("sheet \"{name}\" not found; the file has sheets: {available}")]
    SheetNotFound {
        /// The sheet asked for.
        name: String,
        /// The sheets of the workbook, quoted and comma-separated.
        available: String,
    },

    /// The workbook has no worksheet at all.
    #[error("the workbook has no worksheets")]
    NoSheets,

    /// A cell holds an Excel error value (a formula that failed). Row-level.
    #[error("cell in row {row} column {column} ({cell}{header}) is a formula error {error}")]
    CellError {
        /// 1-based row as Excel shows it.
        row: usize,
        /// 1-based column as Excel counts it.
        column: usize,
        /// The cell reference, e.g. "C7".
        cell: String,
        /// `, "Телефон"` when the column has a header, else empty.
        header: String,
        /// The error value, e.g. "#REF!".
        error: String,
        /// The whole row, with the error cells written as their error value ("#REF!"), padded to
        /// the header, so the caller can put it into a rejected-rows file.
        cells: Vec<String>,
    },

    /// A row has data left of the table: the header's leftmost non-blank cell is the table's
    /// first column, and a cell before it has no column to go to. Row-level.
    #[error("cell {cell} is left of the table: the header starts at column {header_start}")]
    LeftOfTable {
        /// 1-based row as Excel shows it.
        row: usize,
        /// 1-based column of the cell as Excel counts it.
        column: usize,
        /// The cell reference, e.g. "A12".
        cell: String,
        /// The column the header starts at, e.g. "B".
        header_start: String,
        /// The row's cells inside the table, padded to the header, for a rejected-rows file.
        cells: Vec<String>,
    },

    /// A row has a cell further right than [`crate::MAX_COLUMNS`].
    #[error(
        "row {row} has data in column {column}; at most {max} columns are supported",
        max = crate::MAX_COLUMNS
    )]
    TooManyColumns {
        /// 1-based row.
        row: usize,
        /// 1-based column of the offending cell.
        column: usize,
    },

    /// Any other CSV parse problem.
    #[error("row {row}: {detail}")]
    Csv {
        /// 1-based row (best effort).
        row: usize,
        /// What the parser said.
        detail: String,
    },

    /// Writing an XLSX file failed.
    #[error("cannot write the XLSX file: {0}")]
    XlsxWrite(String),

    /// More rows than an XLSX sheet can hold.
    #[error("an XLSX sheet holds at most 1 048 575 rows besides the header; export as CSV instead")]
    TooManyRowsForXlsx,
}

impl TabularError {
    /// The row the error is about, when it is about one row.
    #[must_use]
    pub fn row(&self) -> Option<usize> {
        match self {
            Self::CellError { row, .. }
            | Self::LeftOfTable { row, .. }
            | Self::TooManyColumns { row, .. }
            | Self::Csv { row, .. } => Some(*row),
            _ => None,
        }
    }

    /// The cells of the row a row-level error is about, as far as they were
    /// read, for a rejected-rows file; empty when the row could not be read.
    #[must_use]
    pub fn into_row_cells(self) -> Vec<String> {
        match self {
            Self::CellError { cells, .. } | Self::LeftOfTable { cells, .. } => cells,
            _ => Vec::new(),
        }
    }
}
