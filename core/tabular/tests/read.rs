//! Reading uploaded files: recognition, header checks, bad input, spreadsheets.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use callisto_tabular::{Detected, Format, ReadOptions, Reader, Row, TabularError, detect};
use tempfile::TempDir;

const RU: &str = "Компания;Фамилия;Имя;Отчество;Должность;Телефон;E-mail;Город;Теги;Комментарий
ООО «Ромашка»;Иванов;Пётр;Сергеевич;Генеральный директор;8 (912) 345-67-89;ivanov@romashka.ru;Москва;клиент;Перезвонить после обеда
АО «Северсталь-Сервис»;Смирнова;Ольга;Викторовна;Главный бухгалтер;+7 912 345 67 90, 9123456791;smirnova@severstal.ru;Череповец;бухгалтерия;Просила прислать коммерческое предложение
ИП Кузнецов;Кузнецов;Алексей;Юрьевич;Владелец;9123456792;kuznetsov@mail.ru;Екатеринбург;;Интересуется тарифами для отдела продаж
ЗАО «Уральские зори»;Попова;Елена;Андреевна;Менеджер по закупкам;+7 (343) 222-33-44;popova@zori.ru;Челябинск;холодный;Не дозвонились, занято
";

fn file(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn encode(text: &str, label: &str) -> Vec<u8> {
    let encoding = encoding_rs::Encoding::for_label(label.as_bytes()).unwrap();
    let (bytes, _, unmappable) = encoding.encode(text);
    assert!(!unmappable, "{label} cannot hold the text");
    bytes.into_owned()
}

fn read_all(
    path: &Path,
    detected: &Detected,
    opts: &ReadOptions,
) -> (Vec<String>, Vec<Result<Row, TabularError>>) {
    let reader = Reader::open(path, detected, opts).unwrap();
    let header = reader.header().to_vec();
    (header, reader.collect())
}

fn ok_rows(rows: Vec<Result<Row, TabularError>>) -> Vec<Row> {
    rows.into_iter().map(Result::unwrap).collect()
}

fn detect_err(path: &Path, name: &str) -> TabularError {
    detect(path, name, Some("ru")).unwrap_err()
}

#[test]
fn utf8_semicolon() {
    let dir = TempDir::new().unwrap();
    let path = file(&dir, "upload", RU.as_bytes());
    let detected = detect(&path, "база.csv", Some("ru")).unwrap();
    assert_eq!(
        detected,
        Detected {
            format: Format::Csv,
            encoding: Some("UTF-8".into()),
            separator: Some(b';'),
            sheets: vec![]
        }
    );
    let (header, rows) = read_all(&path, &detected, &ReadOptions::default());
    assert_eq!(header[0], "Компания");
    assert_eq!(header.len(), 10);
    let rows = ok_rows(rows);
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].number, 2);
    assert_eq!(rows[0].cells[0], "ООО «Ромашка»");
    assert_eq!(rows[1].cells[5], "+7 912 345 67 90, 9123456791");
    assert_eq!(rows[2].cells[8], "");
    assert_eq!(rows[3].number, 5);
}

#[test]
fn utf8_with_bom_and_comma() {
    let dir = TempDir::new().unwrap();
    let text = RU.replace(',', " ").replace(';', ",");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(text.as_bytes());
    let path = file(&dir, "bom.csv", &bytes);
    let detected = detect(&path, "bom.csv", None).unwrap();
    assert_eq!(detected.encoding.as_deref(), Some("UTF-8"));
    assert_eq!(detected.separator, Some(b','));
    let (header, rows) = read_all(&path, &detected, &ReadOptions::default());
    assert_eq!(
        header[0], "Компания",
        "the BOM is not part of the first header"
    );
    assert_eq!(ok_rows(rows)[1].cells[1], "Смирнова");
}

#[test]
fn legacy_cyrillic_encodings() {
    let dir = TempDir::new().unwrap();
    for (label, expected) in [
        ("windows-1251", "windows-1251"),
        ("koi8-r", "KOI8-R"),
        ("ibm866", "IBM866"),
    ] {
        // KOI8-R and IBM866 have no «»: plain quotes (inside a cell, so literal).
        let text = if label == "windows-1251" {
            RU.to_owned()
        } else {
            RU.replace(['«', '»'], "\"")
        };
        let path = file(&dir, label, &encode(&text, label));
        let detected = detect(&path, "contacts.csv", Some("ru")).unwrap();
        assert_eq!(detected.encoding.as_deref(), Some(expected), "{label}");
        assert_eq!(detected.separator, Some(b';'), "{label}");
        let (header, rows) = read_all(&path, &detected, &ReadOptions::default());
        assert_eq!(header[9], "Комментарий", "{label}");
        assert_eq!(
            ok_rows(rows)[3].cells[9],
            "Не дозвонились, занято",
            "{label}"
        );
    }
}

#[test]
fn polish_windows_1250() {
    let text = "Firma\tNazwisko\tImię\tStanowisko\tTelefon\tMiasto
Łódzkie Okna Sp. z o.o.\tWiśniewska\tZofia\tPrezes zarządu\t48 601 234 567\tŁódź
Żabka Polska\tKowalczyk\tMałgorzata\tKierowniczka sklepu\t+48 22 123 45 67\tPoznań
Gdańskie Młyny\tWójcik\tŁukasz\tGłówny księgowy\t601234568\tGdańsk
Śląskie Źródła\tZieliński\tJarosław\tDyrektor handlowy\t48 32 555 66 77\tKatowice
";
    let dir = TempDir::new().unwrap();
    let path = file(&dir, "pl.txt", &encode(text, "windows-1250"));
    let detected = detect(&path, "kontakty.csv", Some("pl")).unwrap();
    assert_eq!(detected.encoding.as_deref(), Some("windows-1250"));
    assert_eq!(detected.separator, Some(b'\t'));
    let (header, rows) = read_all(&path, &detected, &ReadOptions::default());
    assert_eq!(header[2], "Imię");
    assert_eq!(ok_rows(rows)[0].cells[5], "Łódź");
}

#[test]
fn pipe_separator_and_quotes() {
    let dir = TempDir::new().unwrap();
    let text = "Имя|Телефон|Комментарий\r\nИван|89123456789|\"звонить; после 18:00, | не раньше\"\r\nОля|9123456780|\r\n";
    let path = file(&dir, "pipe.csv", text.as_bytes());
    let detected = detect(&path, "pipe.csv", None).unwrap();
    assert_eq!(detected.separator, Some(b'|'));
    let rows = ok_rows(read_all(&path, &detected, &ReadOptions::default()).1);
    assert_eq!(rows[0].cells[2], "звонить; после 18:00, | не раньше");
}

#[test]
fn user_overrides_a_wrong_guess() {
    let dir = TempDir::new().unwrap();
    let path = file(&dir, "1251.csv", &encode(RU, "windows-1251"));
    // Say the guess was wrong: KOI8-R and `,`.
    let wrong = Detected {
        format: Format::Csv,
        encoding: Some("KOI8-R".into()),
        separator: Some(b','),
        sheets: vec![],
    };
    let (header, _) = read_all(&path, &wrong, &ReadOptions::default());
    assert_ne!(header[0], "Компания");
    assert_eq!(header.len(), 1, "with `,` the header is one cell");

    let opts = ReadOptions {
        encoding: Some("cp1251".into()),
        separator: Some(b';'),
        sheet: None,
    };
    let (header, rows) = read_all(&path, &wrong, &opts);
    assert_eq!(header[0], "Компания");
    assert_eq!(ok_rows(rows)[0].cells[1], "Иванов");

    // The override wins even over a BOM.
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(encode(RU, "windows-1251"));
    let path = file(&dir, "bom-1251.csv", &bytes);
    let (header, _) = read_all(&path, &wrong, &opts);
    assert_eq!(header[0], "Компания");

    let opts = ReadOptions {
        encoding: Some("klingon".into()),
        ..ReadOptions::default()
    };
    let err = Reader::open(&path, &wrong, &opts).unwrap_err();
    assert!(matches!(err, TabularError::UnknownEncoding { .. }));
    assert!(
        err.to_string().starts_with("unknown encoding \"klingon\""),
        "{err}"
    );
}

#[test]
fn empty_files() {
    let dir = TempDir::new().unwrap();
    for (name, bytes) in [
        ("empty.csv", &b""[..]),
        ("bom.csv", b"\xEF\xBB\xBF"),
        ("blank.csv", b"\r\n  \r\n\r\n"),
    ] {
        let path = file(&dir, name, bytes);
        let err = detect_err(&path, name);
        assert!(matches!(err, TabularError::Empty), "{name}: {err:?}");
        assert_eq!(err.to_string(), "file is empty");
    }
}

#[test]
fn header_problems() {
    let dir = TempDir::new().unwrap();
    let cases = [
        (
            ";;;\r\nИванов;89123456789;;\r\n",
            "no header row: the first row must hold the column names",
        ),
        (
            "Иванов;8 (912) 345-67-89;Москва\r\nПетров;89123456780;Омск\r\n",
            "no header row: the first row looks like data (column 2 is \"8 (912) 345-67-89\"); add a first row with the column names",
        ),
        (
            "Имя;Телефон;Город;E-mail; телефон \r\nИван;1;2;3;4\r\n",
            "duplicate header \"Телефон\" in columns 2 and 5",
        ),
    ];
    for (text, message) in cases {
        let path = file(&dir, "h.csv", text.as_bytes());
        let detected = detect(&path, "h.csv", None).unwrap();
        let err = Reader::open(&path, &detected, &ReadOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), message);
    }
}

#[test]
fn short_and_long_rows() {
    let dir = TempDir::new().unwrap();
    let path = file(
        &dir,
        "r.csv",
        "Имя;Телефон;Город\nИван\nОля;1;Омск;лишнее;ещё\n".as_bytes(),
    );
    let detected = detect(&path, "r.csv", None).unwrap();
    let rows = ok_rows(read_all(&path, &detected, &ReadOptions::default()).1);
    assert_eq!(rows[0].cells, ["Иван", "", ""]);
    assert_eq!(rows[1].cells, ["Оля", "1", "Омск", "лишнее", "ещё"]);
}

#[test]
fn ten_megabytes_on_one_line() {
    let dir = TempDir::new().unwrap();
    let line = "x".repeat(10 * 1024 * 1024);
    let path = file(&dir, "long.csv", line.as_bytes());
    let started = Instant::now();
    let detected = detect(&path, "long.csv", Some("ru")).unwrap();
    let err = Reader::open(&path, &detected, &ReadOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 1 is longer than 1 MiB — is this a CSV file?"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );

    // After good rows: they are read, then the error with the line, then nothing.
    let text = format!("Имя;Телефон\nИван;1\nОля;2\n{line}\nПётр;3\n");
    let path = file(&dir, "long2.csv", text.as_bytes());
    let detected = detect(&path, "long2.csv", None).unwrap();
    let (_, rows) = read_all(&path, &detected, &ReadOptions::default());
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1].as_ref().unwrap().cells, ["Оля", "2"]);
    assert!(
        matches!(rows[2], Err(TabularError::LineTooLong { line: 4 })),
        "{:?}",
        rows[2]
    );
}

#[test]
fn binary_files() {
    let dir = TempDir::new().unwrap();
    // A PNG renamed .csv.
    let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec();
    png.extend((0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let path = file(&dir, "photo.csv", &png);
    let err = detect_err(&path, "photo.csv");
    assert!(matches!(err, TabularError::Binary), "{err:?}");
    assert_eq!(
        err.to_string(),
        "this file is not CSV/XLSX/XLS (looks binary)"
    );

    // Control characters without NULs.
    let junk: Vec<u8> = (0..4000u32)
        .map(|i| [0x01, 0x02, b'a', 0x1F, 0x7F, b'b'][i as usize % 6])
        .collect();
    let path = file(&dir, "junk.csv", &junk);
    assert!(matches!(
        detect_err(&path, "junk.csv"),
        TabularError::Binary
    ));

    // Junk named .xlsx: says it is not a workbook.
    let path = file(&dir, "junk.xlsx", &png);
    let err = detect_err(&path, "junk.xlsx");
    assert!(
        matches!(err, TabularError::BadWorkbook { format: "XLSX", .. }),
        "{err:?}"
    );

    // A ZIP that is not a workbook.
    let mut zip = b"PK\x03\x04".to_vec();
    zip.extend_from_slice(&[0; 100]);
    let path = file(&dir, "archive.csv", &zip);
    let err = detect_err(&path, "archive.csv");
    assert!(
        matches!(err, TabularError::BadWorkbook { format: "XLSX", .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("this file looks like XLSX but cannot be read"),
        "{err}"
    );

    // An HTML report saved as .xls.
    let path = file(
        &dir,
        "report.xls",
        "<html><body><table><tr><td>Имя</td></tr></table></body></html>".as_bytes(),
    );
    assert!(matches!(
        detect_err(&path, "report.xls"),
        TabularError::Markup
    ));

    // A tab-separated text named .xls is read as CSV.
    let path = file(&dir, "export.xls", "Имя\tТелефон\nИван\t1\n".as_bytes());
    let detected = detect(&path, "export.xls", None).unwrap();
    assert_eq!(
        (detected.format, detected.separator),
        (Format::Csv, Some(b'\t'))
    );
}

#[test]
fn utf16_with_bom() {
    let dir = TempDir::new().unwrap();
    let mut bytes = vec![0xFF, 0xFE];
    for unit in "Имя\tТелефон\r\nИван\t89123456789\r\n".encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let path = file(&dir, "unicode.txt", &bytes);
    let detected = detect(&path, "unicode.txt", None).unwrap();
    assert_eq!(detected.encoding.as_deref(), Some("UTF-16LE"));
    assert_eq!(detected.separator, Some(b'\t'));
    let (header, rows) = read_all(&path, &detected, &ReadOptions::default());
    assert_eq!(header, ["Имя", "Телефон"]);
    assert_eq!(ok_rows(rows)[0].cells, ["Иван", "89123456789"]);
}

#[test]
fn many_rows_stream() {
    let dir = TempDir::new().unwrap();
    let mut text = String::from("Имя;Телефон;Город\n");
    for i in 0..100_000 {
        text.push_str(&format!("Иван {i};+7 912 {i:07};Москва\n"));
    }
    let path = file(&dir, "big.csv", text.as_bytes());
    let detected = detect(&path, "big.csv", Some("ru")).unwrap();
    let reader = Reader::open(&path, &detected, &ReadOptions::default()).unwrap();
    let mut count = 0;
    let mut last = 0;
    for row in reader {
        let row = row.unwrap();
        count += 1;
        last = row.number;
    }
    assert_eq!((count, last), (100_000, 100_001));
}

fn make_xlsx(path: &Path) {
    use rust_xlsxwriter::{ExcelDateTime, Format as XFormat, Formula, Workbook};
    let mut book = Workbook::new();
    let date = XFormat::new().set_num_format("yyyy-mm-dd");
    let datetime = XFormat::new().set_num_format("yyyy-mm-dd hh:mm");
    let ws = book.add_worksheet();
    ws.set_name("Contacts").unwrap();
    for (c, h) in [
        "Company",
        "Last name",
        "Phone",
        "Since",
        "Called",
        "Score",
        "Label",
        "VIP",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "ООО «Ромашка»").unwrap();
    ws.write_string(1, 1, "Иванов").unwrap();
    ws.write_number(1, 2, 79_123_456_789.0).unwrap();
    ws.write_datetime_with_format(1, 3, ExcelDateTime::from_ymd(2024, 3, 5).unwrap(), &date)
        .unwrap();
    let called = ExcelDateTime::from_ymd(2024, 3, 5)
        .unwrap()
        .and_hms(14, 30, 0)
        .unwrap();
    ws.write_datetime_with_format(1, 4, &called, &datetime)
        .unwrap();
    ws.write_formula(1, 5, Formula::new("=2*21").set_result("42"))
        .unwrap();
    ws.write_formula(1, 6, Formula::new("=A2&\"!\"").set_result("ООО «Ромашка»!"))
        .unwrap();
    ws.write_boolean(1, 7, true).unwrap();

    ws.write_string(2, 1, "Смирнова").unwrap();
    ws.write_number(2, 2, 7.912_345_678_9E10).unwrap();
    ws.write_number(2, 5, 2.5).unwrap();
    ws.write_formula(2, 6, Formula::new("=#REF!").set_result("#REF!"))
        .unwrap();

    // Row 4 left empty; row 5 goes on after the error row.
    ws.write_string(4, 1, "Кузнецов").unwrap();
    ws.write_number(4, 2, 48_601_234_567.0).unwrap();

    let ws = book.add_worksheet();
    ws.set_name("Organizations").unwrap();
    ws.write_string(0, 0, "Name").unwrap();
    ws.write_string(1, 0, "АО «Север»").unwrap();
    book.save(path).unwrap();
}

#[test]
fn xlsx_sheets_numbers_dates_formulas_errors() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("upload.bin");
    make_xlsx(&path);
    // Recognised by content, whatever the name.
    let detected = detect(&path, "contacts.csv", Some("ru")).unwrap();
    assert_eq!(
        detected,
        Detected {
            format: Format::Xlsx,
            encoding: None,
            separator: None,
            sheets: vec!["Contacts".into(), "Organizations".into()]
        }
    );
    let (header, rows) = read_all(&path, &detected, &ReadOptions::default());
    assert_eq!(
        header,
        [
            "Company",
            "Last name",
            "Phone",
            "Since",
            "Called",
            "Score",
            "Label",
            "VIP"
        ]
    );
    assert_eq!(rows.len(), 3);
    let first = rows[0].as_ref().unwrap();
    assert_eq!(first.number, 2);
    assert_eq!(
        first.cells,
        [
            "ООО «Ромашка»",
            "Иванов",
            "79123456789",
            "2024-03-05",
            "2024-03-05 14:30",
            "42",
            "ООО «Ромашка»!",
            "TRUE"
        ]
    );
    match &rows[1] {
        Err(
            err @ TabularError::CellError {
                row: 3,
                column: 7,
                cells,
                ..
            },
        ) => {
            assert_eq!(
                err.to_string(),
                "cell in row 3 column 7 (G3, \"Label\") is a formula error #REF!"
            );
            assert_eq!(
                cells,
                &["", "Смирнова", "79123456789", "", "", "2.5", "#REF!", ""]
            );
            assert_eq!(err.row(), Some(3));
        }
        other => panic!("{other:?}"),
    }
    let third = rows[2].as_ref().unwrap();
    assert_eq!((third.number, third.cells[2].as_str()), (5, "48601234567"));

    let opts = ReadOptions {
        sheet: Some("organizations".into()),
        ..ReadOptions::default()
    };
    let (header, rows) = read_all(&path, &detected, &opts);
    assert_eq!(header, ["Name"]);
    assert_eq!(ok_rows(rows)[0].cells, ["АО «Север»"]);

    let opts = ReadOptions {
        sheet: Some("Лист1".into()),
        ..ReadOptions::default()
    };
    let err = Reader::open(&path, &detected, &opts).unwrap_err();
    assert_eq!(
        err.to_string(),
        "sheet \"Лист1\" not found; the file has sheets: \"Contacts\", \"Organizations\""
    );
}

#[test]
fn xls_fixture() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/contacts.xls");
    let detected = detect(&path, "contacts.xls", Some("pl")).unwrap();
    assert_eq!(detected.format, Format::Xls);
    assert_eq!(detected.sheets, ["Kontakty", "Notatki"]);
    let (header, rows) = read_all(&path, &detected, &ReadOptions::default());
    assert_eq!(
        header,
        [
            "Firma",
            "Nazwisko",
            "Imię",
            "Stanowisko",
            "Telefon",
            "E-mail",
            "Miasto",
            "Data"
        ]
    );
    assert_eq!(rows.len(), 4);
    let first = rows[0].as_ref().unwrap();
    assert_eq!(first.cells[4], "48601234567");
    assert_eq!(first.cells[6], "Łódź");
    assert_eq!(first.cells[7], "2024-03-05");
    assert_eq!(rows[1].as_ref().unwrap().cells[4], "+48 22 123 45 67");
    let err = rows[2].as_ref().unwrap_err();
    assert_eq!(
        err.to_string(),
        "cell in row 4 column 5 (E4, \"Telefon\") is a formula error #REF!"
    );
    match err {
        TabularError::CellError { cells, .. } => {
            assert_eq!(
                cells,
                &[
                    "Gdańskie Stocznie",
                    "Nowak",
                    "Piotr",
                    "TRUE",
                    "#REF!",
                    "",
                    "Gdańsk",
                    ""
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    let last = rows[3].as_ref().unwrap();
    assert_eq!(
        (last.number, last.cells[1].as_str(), last.cells[4].as_str()),
        (5, "Lewandowska", "791234567")
    );

    let opts = ReadOptions {
        sheet: Some("Notatki".into()),
        ..ReadOptions::default()
    };
    let (header, rows) = read_all(&path, &detected, &opts);
    assert_eq!(header, ["Notatka"]);
    assert_eq!(ok_rows(rows)[0].cells, ["druga karta"]);
}

/// The sheet from B1 on: a header with a blank A1, rows with and without a stray cell in
/// column A.
fn make_xlsx_from_column_b(path: &Path) {
    use rust_xlsxwriter::Workbook;
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.write_string(0, 0, " ").unwrap();
    for (c, h) in ["Name", "Phone", "City"].iter().enumerate() {
        ws.write_string(0, c as u16 + 1, *h).unwrap();
    }
    let data = [
        (1, ["Иванов", "79123456789", "Москва"]),
        (2, ["Петров", "79123456790", "Тверь"]),
        (3, ["Сидоров", "79123456791", "Омск"]),
        (5, ["Смирнова", "79123456792", "Пермь"]),
    ];
    for (r, cells) in data {
        for (c, v) in cells.iter().enumerate() {
            ws.write_string(r, c as u16 + 1, *v).unwrap();
        }
    }
    ws.write_string(2, 0, "звонить утром").unwrap();
    ws.write_string(3, 0, "   ").unwrap();
    book.save(path).unwrap();
}

#[test]
fn a_cell_left_of_the_header_rejects_its_row_and_moves_no_column() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("b.xlsx");
    make_xlsx_from_column_b(&path);
    let detected = detect(&path, "b.xlsx", Some("ru")).unwrap();
    let (header, rows) = read_all(&path, &detected, &ReadOptions::default());
    assert_eq!(header, ["Name", "Phone", "City"]);
    assert_eq!(rows.len(), 4);
    let row2 = rows[0].as_ref().unwrap();
    assert_eq!(row2.number, 2);
    assert_eq!(row2.cells, ["Иванов", "79123456789", "Москва"]);
    match &rows[1] {
        Err(
            err @ TabularError::LeftOfTable {
                row: 3,
                column: 1,
                cells,
                ..
            },
        ) => {
            assert_eq!(
                err.to_string(),
                "cell A3 is left of the table: the header starts at column B"
            );
            assert_eq!(err.row(), Some(3), "a row-level error");
            assert_eq!(cells, &["Петров", "79123456790", "Тверь"]);
        }
        other => panic!("{other:?}"),
    }
    // A blank cell left of the table holds nothing to lose.
    let row4 = rows[2].as_ref().unwrap();
    assert_eq!((row4.number, row4.cells[0].as_str()), (4, "Сидоров"));
    // Row 5 is blank and skipped.
    let row6 = rows[3].as_ref().unwrap();
    assert_eq!((row6.number, row6.cells[2].as_str()), (6, "Пермь"));
}

#[test]
fn rows_left_of_an_xlsx_is_the_declared_range_at_most() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("b.xlsx");
    make_xlsx_from_column_b(&path);
    let detected = detect(&path, "b.xlsx", Some("ru")).unwrap();
    let mut reader = Reader::open(&path, &detected, &ReadOptions::default()).unwrap();
    // A1:D6 declared: rows 2-6, of which row 5 is blank.
    assert_eq!(reader.rows_left(), Some(5));
    reader.next().unwrap().unwrap();
    assert_eq!(reader.rows_left(), Some(4));
    assert_eq!(reader.count(), 3);
}

/// A minimal XLSX around one sheet's rows, in a ZIP archive with stored (uncompressed) entries:
/// lets a test write what no spreadsheet program would (no dimension, rows out of order, a
/// sheet whose XML stops part-way, as in a file cut short and zipped again).
fn raw_xlsx(sheet_data: &str, dimension: Option<&str>) -> Vec<u8> {
    sheet_xlsx(sheet_data, dimension, "</sheetData></worksheet>")
}

fn sheet_xlsx(sheet_data: &str, dimension: Option<&str>, end: &str) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let dimension = dimension.map_or_else(String::new, |d| format!("<dimension ref=\"{d}\"/>"));
    let files = [
        (
            "[Content_Types].xml".to_owned(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
             <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
             <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
             <Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>\
             <Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/></Types>"
                .to_owned(),
        ),
        (
            "_rels/.rels".to_owned(),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
                 <Relationship Id=\"rId1\" Type=\"{REL}/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>"
            ),
        ),
        (
            "xl/workbook.xml".to_owned(),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><workbook xmlns=\"{MAIN}\" xmlns:r=\"{REL}\">\
                 <sheets><sheet name=\"Лист1\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"
            ),
        ),
        (
            "xl/_rels/workbook.xml.rels".to_owned(),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
                 <Relationship Id=\"rId1\" Type=\"{REL}/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>"
            ),
        ),
        (
            "xl/worksheets/sheet1.xml".to_owned(),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><worksheet xmlns=\"{MAIN}\" xmlns:r=\"{REL}\">\
                 {dimension}<sheetData>{sheet_data}{end}"
            ),
        ),
    ];
    let (mut out, mut central) = (Vec::new(), Vec::new());
    let u16le = |v: usize| u16::try_from(v).unwrap().to_le_bytes();
    let u32le = |v: usize| u32::try_from(v).unwrap().to_le_bytes();
    for (name, body) in &files {
        let (name, body) = (name.as_bytes(), body.as_bytes());
        let offset = out.len();
        let crc = crc32(body).to_le_bytes();
        // Local header: signature, version 2.0, no flags, stored, 1980-01-01 00:00.
        out.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x21\x00");
        out.extend_from_slice(&crc);
        out.extend_from_slice(&u32le(body.len()));
        out.extend_from_slice(&u32le(body.len()));
        out.extend_from_slice(&u16le(name.len()));
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(name);
        out.extend_from_slice(body);
        central.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x21\x00");
        central.extend_from_slice(&crc);
        central.extend_from_slice(&u32le(body.len()));
        central.extend_from_slice(&u32le(body.len()));
        central.extend_from_slice(&u16le(name.len()));
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&u32le(offset));
        central.extend_from_slice(name);
    }
    let central_offset = out.len();
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00");
    out.extend_from_slice(&u16le(files.len()));
    out.extend_from_slice(&u16le(files.len()));
    out.extend_from_slice(&u32le(central.len()));
    out.extend_from_slice(&u32le(central_offset));
    out.extend_from_slice(&[0, 0]);
    out
}

/// `<row>` XML for sheet row `r` (1-based) with inline strings from column `first` on.
fn xml_row(r: usize, first: u8, cells: &[&str]) -> String {
    let mut out = format!("<row r=\"{r}\">");
    for (i, text) in cells.iter().enumerate() {
        let col = char::from(first + u8::try_from(i).unwrap());
        out.push_str(&format!(
            "<c r=\"{col}{r}\" t=\"inlineStr\"><is><t>{text}</t></is></c>"
        ));
    }
    out.push_str("</row>");
    out
}

fn phones_sheet(rows: usize) -> String {
    let mut xml = xml_row(1, b'A', &["Фамилия", "Телефон"]);
    for r in 2..=rows + 1 {
        xml.push_str(&xml_row(
            r,
            b'A',
            &[&format!("Клиент{r}"), &format!("7912{r:07}")],
        ));
    }
    xml
}

#[test]
fn an_xlsx_sheet_streams_up_to_where_its_xml_breaks() {
    let dir = TempDir::new().unwrap();
    // 2 000 good rows, then the sheet's XML stops in the middle of a cell.
    let mut xml = phones_sheet(2_000);
    xml.push_str("<row r=\"2002\"><c r=\"A2002\" t=\"inlineStr\"><is><t>Обрыв");
    let path = file(&dir, "broken.xlsx", &sheet_xlsx(&xml, Some("A1:B2003"), ""));
    let detected = detect(&path, "broken.xlsx", Some("ru")).unwrap();

    // A preview reads its rows: the break further down is not reached.
    let reader = Reader::open(&path, &detected, &ReadOptions::default()).unwrap();
    let shown: Vec<Row> = ok_rows(reader.take(20).collect());
    assert_eq!(
        (
            shown[0].number,
            shown[19].number,
            shown[19].cells[0].as_str()
        ),
        (2, 21, "Клиент21")
    );

    // Reading on: the rows before the break, then the break as the last item. The row read
    // last before it (2 001) is not given out: the reader cannot tell that no cell of it was
    // still to come.
    let (_, rows) = read_all(&path, &detected, &ReadOptions::default());
    assert_eq!(rows.len(), 2_000);
    assert!(rows[..1_999].iter().all(Result::is_ok));
    assert_eq!(rows[1_998].as_ref().unwrap().number, 2_000);
    match &rows[1_999] {
        Err(err @ TabularError::BadWorkbook { format: "XLSX", .. }) => {
            assert_eq!(err.row(), None, "a file-level error: {err}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn xlsx_rows_out_of_order_are_refused_not_reordered() {
    let dir = TempDir::new().unwrap();
    let xml = [
        xml_row(1, b'A', &["Фамилия", "Телефон"]),
        xml_row(2, b'A', &["Иванов", "79123456789"]),
        xml_row(5, b'A', &["Петров", "79123456790"]),
        xml_row(3, b'A', &["Сидоров", "79123456791"]),
    ]
    .concat();
    let path = file(&dir, "order.xlsx", &raw_xlsx(&xml, None));
    let detected = detect(&path, "order.xlsx", Some("ru")).unwrap();
    let (_, rows) = read_all(&path, &detected, &ReadOptions::default());
    let numbers: Vec<usize> = rows[..2]
        .iter()
        .map(|r| r.as_ref().unwrap().number)
        .collect();
    assert_eq!(numbers, [2, 5]);
    assert_eq!(rows.len(), 3);
    let err = rows[2].as_ref().unwrap_err();
    assert_eq!(
        err.to_string(),
        "this file looks like XLSX but cannot be read (row 3 comes after row 5 in the sheet; \
         rows out of order are not supported); is it damaged or password-protected?"
    );
}

#[test]
fn an_xlsx_without_a_declared_range_is_counted_by_reading() {
    let dir = TempDir::new().unwrap();
    let path = file(&dir, "nodim.xlsx", &raw_xlsx(&phones_sheet(30), None));
    let detected = detect(&path, "nodim.xlsx", Some("ru")).unwrap();
    let reader = Reader::open(&path, &detected, &ReadOptions::default()).unwrap();
    assert_eq!(reader.rows_left(), None);
    assert_eq!(reader.count(), 30);
    // The same sheet declaring its range: an upper bound, without reading.
    let path = file(
        &dir,
        "dim.xlsx",
        &raw_xlsx(&phones_sheet(30), Some("A1:B31")),
    );
    let reader = Reader::open(&path, &detected, &ReadOptions::default()).unwrap();
    assert_eq!(reader.rows_left(), Some(30));
}

#[test]
fn a_long_xlsx_sheet_streams_in_order() {
    let dir = TempDir::new().unwrap();
    let path = file(
        &dir,
        "long.xlsx",
        &raw_xlsx(&phones_sheet(20_000), Some("A1:B20001")),
    );
    let detected = detect(&path, "long.xlsx", Some("ru")).unwrap();
    let reader = Reader::open(&path, &detected, &ReadOptions::default()).unwrap();
    let mut expected = 2;
    for row in reader {
        let row = row.unwrap();
        assert_eq!(row.number, expected);
        assert_eq!(row.cells[0], format!("Клиент{expected}"));
        expected += 1;
    }
    assert_eq!(expected, 20_002);
    // Dropped part-way, the reader lets its thread go.
    let mut reader = Reader::open(&path, &detected, &ReadOptions::default()).unwrap();
    assert_eq!(reader.next().unwrap().unwrap().number, 2);
    drop(reader);
}
