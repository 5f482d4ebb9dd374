//! Exports read back through the import path.

use callisto_tabular::{Format, ReadOptions, Reader, TabularError, detect, write_csv, write_xlsx};
use tempfile::TempDir;

fn rows() -> Vec<Vec<String>> {
    vec![
        vec![
            "ООО «Ромашка»".into(),
            "+79123456789".into(),
            "клиент; vip".into(),
        ],
        vec![
            "Кавычки \"и\" перенос\nстроки".into(),
            "+48601234567".into(),
            String::new(),
        ],
        vec!["=HYPERLINK(\"http://evil\")".into(), "-".into(), "x".into()],
    ]
}

#[test]
fn csv_for_excel_reads_back() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("export.csv");
    let mut out = Vec::new();
    write_csv(&mut out, &["Компания", "Телефон", "Теги"], rows()).unwrap();
    assert!(out.starts_with(b"\xEF\xBB\xBF\xD0\x9A"), "UTF-8 BOM first");
    assert!(out.windows(2).any(|w| w == b"\r\n"));
    std::fs::write(&path, &out).unwrap();

    let detected = detect(&path, "export.csv", None).unwrap();
    assert_eq!(detected.format, Format::Csv);
    assert_eq!(detected.encoding.as_deref(), Some("UTF-8"));
    assert_eq!(detected.separator, Some(b';'));
    let reader = Reader::open(&path, &detected, &ReadOptions::default()).unwrap();
    assert_eq!(reader.header(), ["Компания", "Телефон", "Теги"]);
    let back: Vec<Vec<String>> = reader.map(|r| r.unwrap().cells).collect();
    let mut expected = rows();
    expected[2][0] = "'=HYPERLINK(\"http://evil\")".into();
    expected[2][1] = "'-".into();
    assert_eq!(back, expected);
}

#[test]
fn xlsx_reads_back() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("export.xlsx");
    write_xlsx(&path, "Контакты", &["Компания", "Телефон", "Теги"], rows()).unwrap();
    let detected = detect(&path, "export.xlsx", None).unwrap();
    assert_eq!(detected.format, Format::Xlsx);
    assert_eq!(detected.sheets, ["Контакты"]);
    let reader = Reader::open(&path, &detected, &ReadOptions::default()).unwrap();
    assert_eq!(reader.header(), ["Компания", "Телефон", "Теги"]);
    let back: Vec<Vec<String>> = reader.map(|r| r.unwrap().cells).collect();
    assert_eq!(
        back,
        rows(),
        "XLSX cells are text: no formulas, phones keep their +"
    );
}

#[test]
fn xlsx_rejects_a_bad_sheet_name() {
    let dir = TempDir::new().unwrap();
    let err = write_xlsx(&dir.path().join("x.xlsx"), "a/b", &["A"], Vec::new()).unwrap_err();
    assert!(matches!(err, TabularError::XlsxWrite(_)), "{err:?}");
}
