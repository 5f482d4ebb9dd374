//! Exports: CSV for Excel, and XLSX.

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;

use rust_xlsxwriter::{Format as XlsxFormat, Workbook, XlsxError};

use crate::TabularError;

/// The UTF-8 byte-order mark: tells Excel the file is UTF-8.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Rows of an XLSX sheet after the header (1 048 576 rows in all).
const XLSX_MAX_DATA_ROWS: u32 = 1_048_575;

/// Writes rows as CSV that Excel opens right in a Russian (and most European) locale: UTF-8 with
/// a byte-order mark (without it Excel assumes the ANSI code page), `;` as the separator (the
/// list separator there, as `,` is the decimal comma), `\r\n` line ends, quotes only where
/// needed. Reading it back with [`crate::detect`] finds UTF-8 and `;`.
///
/// Cells that Excel would run as a formula (starting with `=`, `@`, a tab or a carriage return,
/// or with `+`/`-` and not being a plain number such as a phone "+7 912 345-67-89") get a leading
/// `'`, which Excel shows as text — exported contact data must not execute in the reader's Excel
/// ("CSV injection").
///
/// # Errors
/// An I/O error of `out`.
pub fn write_csv<W: Write>(
    mut out: W,
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<(), TabularError> {
    out.write_all(BOM)?;
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .flexible(true)
        .from_writer(out);
    let csv_err = |e: csv::Error| {
        let detail = e.to_string();
        match e.into_kind() {
            csv::ErrorKind::Io(io) => TabularError::Io(io),
            _ => TabularError::Csv { row: 0, detail },
        }
    };
    writer
        .write_record(header.iter().map(|h| defuse_bytes(h)))
        .map_err(csv_err)?;
    for row in rows {
        writer
            .write_record(row.iter().map(|c| defuse_bytes(c)))
            .map_err(csv_err)?;
    }
    writer.flush()?;
    Ok(())
}

fn defuse_bytes(cell: &str) -> Cow<'_, [u8]> {
    match defuse(cell) {
        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    }
}

/// Prefixes `'` to a cell Excel would treat as a formula.
fn defuse(cell: &str) -> Cow<'_, str> {
    let risky = match cell.as_bytes().first() {
        Some(b'=' | b'@' | b'\t' | b'\r') => true,
        Some(b'+' | b'-') => {
            !cell
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c))
                || !cell.chars().any(|c| c.is_ascii_digit())
        }
        _ => false,
    };
    if risky {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Writes rows to a one-sheet XLSX: a bold, frozen header row, every cell as text (phones stay
/// "+79123456789", never a float). Rows are written in constant-memory mode (streamed to a
/// temporary file), so large exports do not sit in memory.
///
/// # Errors
/// [`TabularError::TooManyRowsForXlsx`] past 1 048 575 rows, [`TabularError::XlsxWrite`] for an
/// invalid sheet name (over 31 characters or with `[]:*?/\`), a cell over 32 767 characters, or
/// a failure to write the file.
pub fn write_xlsx(
    path: &Path,
    sheet: &str,
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<(), TabularError> {
    let mut workbook = Workbook::new();
    let worksheet = workbook
        .add_worksheet_with_constant_memory()
        .map_err(xlsx_err)?;
    worksheet.set_name(sheet).map_err(xlsx_err)?;
    let bold = XlsxFormat::new().set_bold();
    for (col, name) in header.iter().enumerate() {
        let col = column(col)?;
        worksheet
            .write_string_with_format(0, col, *name, &bold)
            .map_err(xlsx_err)?;
        worksheet.set_column_width(col, 18).map_err(xlsx_err)?;
    }
    worksheet.set_freeze_panes(1, 0).map_err(xlsx_err)?;
    for (i, row) in rows.into_iter().enumerate() {
        let r = u32::try_from(i)
            .ok()
            .filter(|&r| r < XLSX_MAX_DATA_ROWS)
            .ok_or(TabularError::TooManyRowsForXlsx)?
            + 1;
        for (col, cell) in row.iter().enumerate() {
            if !cell.is_empty() {
                worksheet
                    .write_string(r, column(col)?, cell)
                    .map_err(|e| match e {
                        XlsxError::MaxStringLengthExceeded => TabularError::XlsxWrite(format!(
                            "the cell in row {} column {} is longer than 32 767 characters",
                            r + 1,
                            col + 1
                        )),
                        other => xlsx_err(other),
                    })?;
            }
        }
    }
    workbook.save(path).map_err(xlsx_err)?;
    Ok(())
}

fn column(col: usize) -> Result<u16, TabularError> {
    u16::try_from(col)
        .ok()
        .filter(|&c| c < 16_384)
        .ok_or_else(|| TabularError::XlsxWrite("an XLSX sheet holds at most 16 384 columns".into()))
}

fn xlsx_err(e: XlsxError) -> TabularError {
    match e {
        XlsxError::IoError(io) => TabularError::Io(io),
        other => TabularError::XlsxWrite(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused() {
        assert_eq!(
            defuse("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("-2+3+cmd|' /C calc'!A0"), "'-2+3+cmd|' /C calc'!A0");
        assert_eq!(defuse("+"), "'+");
        assert_eq!(defuse("+7 912 345-67-89"), "+7 912 345-67-89");
        assert_eq!(defuse("-15"), "-15");
        assert_eq!(defuse("Иванов"), "Иванов");
        assert_eq!(defuse(""), "");
    }
}
