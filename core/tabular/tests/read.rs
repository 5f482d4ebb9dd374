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
