//! Tabular files of Callisto: the contact bases people upload (CSV, XLSX, XLS) read as rows of
//! strings, and exports written as CSV or XLSX. Pure computation over files; no async, no network.
//!
//! Reading is two steps, so an import can show a preview and let the person correct a guess:
//!
//! 1. [`detect`] looks at the file: format by signature (then extension), and for CSV the
//!    encoding and the separator.
//! 2. [`Reader::open`] takes the [`Detected`] values, with the person's overrides in
//!    [`ReadOptions`], checks the header row and then yields the data rows one by one.
//!
//! # Memory
//!
//! CSV is streamed: the file is decoded to UTF-8 on the fly (`encoding_rs_io`) and parsed by the
//! `csv` crate with fixed buffers, so a million rows take the same memory as ten. One record may
//! not exceed [`MAX_RECORD_BYTES`] (1 MiB): a guard between the decoder and the parser follows
//! the CSV quoting rules byte by byte and fails the read as soon as a record grows past the
//! limit, so a 10 MB file without a line break costs about 1 MiB, not 10 MB.
//!
//! XLSX is streamed too: the sheet's XML is parsed on a thread of its own and rows are handed
//! over in batches of at most 256 through a rendezvous channel, so the first rows come out before
//! the rest of the sheet is parsed (a preview of 20 rows parses a few dozen), and a long sheet
//! takes the memory of one batch, besides the workbook's shared strings, which `calamine` loads
//! when it opens the file. XLS has no streaming reader in `calamine`: the sheet is loaded whole as
//! a dense range (the format itself is limited to 65 536 rows).
//!
//! # Sheets
//!
//! XLSX and XLS rows are shaped by the same rules. Blank rows are skipped. The first row with
//! data is the header, and its leftmost non-blank cell is the table's first column: rows are read
//! from that column on. A cell with data left of it has no column in the table: its row is
//! rejected with [`TabularError::LeftOfTable`] (`cell A12 is left of the table: the header starts
//! at column B`), as a row with data past [`MAX_COLUMNS`] is with
//! [`TabularError::TooManyColumns`] and a row holding an Excel error value with
//! [`TabularError::CellError`]. Whole numbers read without ".0" (phones typed as numbers), dates
//! as `2024-03-05`, formulas as their cached value. Rows come out in sheet order; an XLSX whose
//! rows go backwards is refused as damaged ([`TabularError::BadWorkbook`], from the row
//! iterator), as is one whose XML breaks part-way.

mod csv_read;
mod error;
mod sheet;
mod text;
mod write;

use std::fs::File;
use std::io::Read;
use std::path::Path;

pub use error::TabularError;
pub use write::{write_csv, write_xlsx};

/// How many bytes of a file are examined to recognise it (format, encoding, separator).
pub const SNIFF_BYTES: usize = 64 * 1024;

/// The longest CSV record (after decoding to UTF-8) accepted before the read fails.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// The rightmost column a row may have data in (XLSX/XLS); protects against sheets with a stray
/// cell at column XFD that would otherwise turn every row into 16 384 cells.
pub const MAX_COLUMNS: usize = 1024;

/// The kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Delimited text in any supported encoding.
    Csv,
    /// Office Open XML workbook (a ZIP archive).
    Xlsx,
    /// Legacy Excel 97–2003 workbook (an OLE compound file).
    Xls,
}

impl Format {
    /// "CSV", "XLSX" or "XLS".
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Csv => "CSV",
            Self::Xlsx => "XLSX",
            Self::Xls => "XLS",
        }
    }
}

/// What [`detect`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// The format.
    pub format: Format,
    /// CSV only: the encoding, as `encoding_rs` names it ("UTF-8", "windows-1251", "KOI8-R",
    /// "IBM866", "windows-1250", "UTF-16LE" …).
    pub encoding: Option<String>,
    /// CSV only: the separator (`;`, `,`, `\t` or `|`).
    pub separator: Option<u8>,
    /// XLSX/XLS only: the worksheets, in workbook order. Empty for CSV.
    pub sheets: Vec<String>,
}

/// The person's choices for reading a file; every `None` means "as detected".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// CSV: the encoding to use instead of the detected one (any WHATWG label: "cp1251",
    /// "windows-1251", "koi8-r", "cp866", "utf-8" …). Always wins, even over a byte-order mark.
    pub encoding: Option<String>,
    /// CSV: the separator to use instead of the detected one.
    pub separator: Option<u8>,
    /// XLSX/XLS: the sheet to read; by default the first visible worksheet.
    pub sheet: Option<String>,
}

/// One data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based row number as the person sees it: the Excel row for XLSX/XLS; for CSV the row
    /// Excel would show (the header is 1; a quoted cell with line breaks is still one row;
    /// blank lines count as rows, as Excel shows them).
    pub number: usize,
    /// The cells, as text (not trimmed). At least as many as the header has (padded with "");
    /// more when the row is longer than the header — the caller decides what to do with those.
    pub cells: Vec<String>,
}

/// Recognises a file: the format from its first bytes (ZIP → XLSX, OLE → XLS), else from the
/// extension of `file_name` (as uploaded; `path` may be a temporary file without one); for text,
/// the encoding and the separator.
///
/// `encoding_hint` is the tenant's country or language ("ru", "pl", "ru-RU", "uk" …); it steers
/// the guess between legacy encodings when the file is not UTF-8.
///
/// # Errors
/// [`TabularError::Empty`], [`TabularError::Binary`], [`TabularError::Markup`],
/// [`TabularError::BadWorkbook`], or an I/O error.
pub fn detect(
    path: &Path,
    file_name: &str,
    encoding_hint: Option<&str>,
) -> Result<Detected, TabularError> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut prefix =
        Vec::with_capacity(SNIFF_BYTES.min(usize::try_from(len).unwrap_or(SNIFF_BYTES)));
    (&mut file)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut prefix)?;
    drop(file);
    if prefix.is_empty() {
        return Err(TabularError::Empty);
    }
    let truncated = len > prefix.len() as u64;

    if prefix.starts_with(text::ZIP_MAGIC) {
        let sheets = sheet::sheet_names(path, Format::Xlsx)?;
        return Ok(Detected {
            format: Format::Xlsx,
            encoding: None,
            separator: None,
            sheets,
        });
    }
    if prefix.starts_with(text::OLE_MAGIC) {
        let sheets = sheet::sheet_names(path, Format::Xls)?;
        return Ok(Detected {
            format: Format::Xls,
            encoding: None,
            separator: None,
            sheets,
        });
    }

    let extension = Path::new(file_name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let sniffed = match text::sniff_text(&prefix, truncated, encoding_hint) {
        Ok(sniffed) => sniffed,
        // A binary file named .xlsx/.xls without the signature: say what it pretends to be.
        Err(TabularError::Binary) => {
            return Err(match extension.as_deref() {
                Some("xlsx" | "xlsm") => TabularError::BadWorkbook {
                    format: "XLSX",
                    detail: "it is not a ZIP archive".into(),
                },
                Some("xls") => TabularError::BadWorkbook {
                    format: "XLS",
                    detail: "it has no Excel 97–2003 signature".into(),
                },
                _ => TabularError::Binary,
            });
        }
        Err(e) => return Err(e),
    };
    // A text file named .xls/.xlsx (tab-separated "Excel" exports of some systems) is read as
    // CSV: its content decides, not its name.
    Ok(Detected {
        format: Format::Csv,
        encoding: Some(sniffed.encoding.name().to_owned()),
        separator: Some(sniffed.separator),
        sheets: Vec::new(),
    })
}

/// Rows of an opened file, after the header. See the crate documentation about memory.
pub struct Reader {
    header: Vec<String>,
    source: Source,
}

enum Source {
    Csv(csv_read::CsvRows),
    Sheet(sheet::SheetRows),
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.source {
            Source::Csv(_) => "csv",
            Source::Sheet(_) => "sheet",
        };
        f.debug_struct("Reader")
            .field("header", &self.header)
            .field("source", &kind)
            .finish()
    }
}

impl Reader {
    /// Opens a file as [`detect`] recognised it, with the person's overrides, and reads and
    /// checks the header row (the first row: cells trimmed; not empty, no duplicate names).
    ///
    /// # Errors
    /// Header problems ([`TabularError::Empty`], [`TabularError::NoHeader`],
    /// [`TabularError::HeaderLooksLikeData`], [`TabularError::DuplicateHeader`]),
    /// [`TabularError::UnknownEncoding`], [`TabularError::SheetNotFound`],
    /// [`TabularError::LineTooLong`], or an unreadable file.
    pub fn open(
        path: &Path,
        detected: &Detected,
        opts: &ReadOptions,
    ) -> Result<Reader, TabularError> {
        let (header, source) = match detected.format {
            Format::Csv => {
                let encoding = match opts.encoding.as_deref().or(detected.encoding.as_deref()) {
                    Some(name) => text::encoding_for(name)?,
                    None => encoding_rs::UTF_8,
                };
                let separator = opts.separator.or(detected.separator).unwrap_or(b';');
                let (header, rows) = csv_read::CsvRows::open(path, encoding, separator)?;
                (header, Source::Csv(rows))
            }
            Format::Xlsx | Format::Xls => {
                let (header, rows) =
                    sheet::SheetRows::open(path, detected.format, opts.sheet.as_deref())?;
                (header, Source::Sheet(rows))
            }
        };
        let header = check_header(header)?;
        let mut reader = Reader { header, source };
        if let Source::Sheet(rows) = &mut reader.source {
            rows.set_header(&reader.header);
        }
        Ok(reader)
    }

    /// How many rows are left to read, when that is known without reading them: exactly for
    /// XLS, which is held whole once opened; for XLSX an upper bound from the range the sheet
    /// declares (blank rows inside it are skipped when read), or `None` when it declares none.
    /// `None` for CSV, which is streamed (count it by reading, e.g. with `count()`).
    #[must_use]
    pub fn rows_left(&self) -> Option<usize> {
        match &self.source {
            Source::Csv(_) => None,
            Source::Sheet(rows) => rows.remaining(),
        }
    }

    /// The header row: trimmed column names, possibly with empty ones (columns without a name).
    #[must_use]
    pub fn header(&self) -> &[String] {
        &self.header
    }
}

impl Iterator for Reader {
    type Item = Result<Row, TabularError>;

    fn next(&mut self) -> Option<Self::Item> {
        let width = self.header.len();
        let item = match &mut self.source {
            Source::Csv(rows) => rows.next(),
            Source::Sheet(rows) => rows.next(),
        }?;
        Some(item.map(|mut row| {
            if row.cells.len() < width {
                row.cells.resize(width, String::new());
            }
            row
        }))
    }
}

/// Trims the header cells and rejects a missing or ambiguous header.
fn check_header(raw: Vec<String>) -> Result<Vec<String>, TabularError> {
    let header: Vec<String> = raw.into_iter().map(|c| c.trim().to_owned()).collect();
    if header.iter().all(String::is_empty) {
        return Err(TabularError::NoHeader);
    }
    if let Some((i, value)) = header
        .iter()
        .enumerate()
        .find(|(_, c)| text::looks_like_data(c))
    {
        return Err(TabularError::HeaderLooksLikeData {
            column: i + 1,
            value: value.clone(),
        });
    }
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, name) in header.iter().enumerate() {
        if name.is_empty() {
            continue;
        }
        if let Some(&first) = seen.get(&name.to_lowercase()) {
            return Err(TabularError::DuplicateHeader {
                name: header[first].clone(),
                first: first + 1,
                second: i + 1,
            });
        }
        seen.insert(name.to_lowercase(), i);
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn header_is_trimmed_and_checked() {
        assert_eq!(
            check_header(h([" Имя ", "", "Телефон"].as_slice())).unwrap(),
            h(&["Имя", "", "Телефон"])
        );
        assert!(matches!(
            check_header(h(&["", " "])),
            Err(TabularError::NoHeader)
        ));
        let err = check_header(h(&["Имя", "Телефон", "Город", "E-mail", " телефон "])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "duplicate header \"Телефон\" in columns 2 and 5"
        );
        let err = check_header(h(&["Иванов", "+7 912 345-67-89"])).unwrap_err();
        assert!(
            matches!(err, TabularError::HeaderLooksLikeData { column: 2, .. }),
            "{err}"
        );
        let err = check_header(h(&["Иванов", "ivanov@mail.ru"])).unwrap_err();
        assert!(
            matches!(err, TabularError::HeaderLooksLikeData { column: 2, .. }),
            "{err}"
        );
    }
}
