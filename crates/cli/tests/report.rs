//! End-to-end tests of `onegrid report extract` through the built binary: the items on standard output
//! (JSON with exactly the documented fields, or TSV), the cleaning steps and the summary on standard error,
//! and the exit code and message for each kind of bad input (docs/workreport.md).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

mod common;
use common::onegrid;

/// The fields of an item, in their documented order.
const FIELDS: [&str; 10] = [
    "indicator",
    "value",
    "unit",
    "cmp",
    "period",
    "kind",
    "section",
    "start",
    "end",
    "quote",
];

/// A short report: a review, this year's targets, a page header and a column break inside a sentence.
const REPORT: &str = "各位代表：\n一、2023年工作回顾\n全年新增就业3万人，新建学校12所。\n\n14 | 要闻\n\n二、2024年主要目标任务\n今年地区生产总值增长5%左右，城镇新增就业2万人以上，新建口袋\n\n公园30个。\n";

/// A three-line report in GBK: what Python's `str.encode("gbk")` gives for
/// 「各位代表：⏎二、2024年主要目标任务⏎今年新增就业2万人，地区生产总值增长5%左右。⏎」.
const GBK_REPORT: [u8; 78] = [
    0xB8, 0xF7, 0xCE, 0xBB, 0xB4, 0xFA, 0xB1, 0xED, 0xA3, 0xBA, 0x0A, 0xB6, 0xFE, 0xA1, 0xA2, 0x32,
    0x30, 0x32, 0x34, 0xC4, 0xEA, 0xD6, 0xF7, 0xD2, 0xAA, 0xC4, 0xBF, 0xB1, 0xEA, 0xC8, 0xCE, 0xCE,
    0xF1, 0x0A, 0xBD, 0xF1, 0xC4, 0xEA, 0xD0, 0xC2, 0xD4, 0xF6, 0xBE, 0xCD, 0xD2, 0xB5, 0x32, 0xCD,
    0xF2, 0xC8, 0xCB, 0xA3, 0xAC, 0xB5, 0xD8, 0xC7, 0xF8, 0xC9, 0xFA, 0xB2, 0xFA, 0xD7, 0xDC, 0xD6,
    0xB5, 0xD4, 0xF6, 0xB3, 0xA4, 0x35, 0x25, 0xD7, 0xF3, 0xD3, 0xD2, 0xA1, 0xA3, 0x0A,
];

/// The seed page kept with the work-report labels.
fn seed_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../text/data/workreport/dongli-2021-government-work-report-p14.txt")
}

/// A file holding `bytes` in a fresh temporary folder.
fn file_with(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.txt");
    std::fs::write(&path, bytes).expect("write the report");
    (dir, path)
}

fn extract(path: &Path, args: &[&str]) -> Output {
    onegrid()
        .args(["report", "extract"])
        .arg(path)
        .args(args)
        .output()
        .expect("run onegrid report extract")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

/// The items printed as JSON, each checked to have exactly the documented fields.
fn json_items(output: &Output) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let value: serde_json::Value = serde_json::from_str(&stdout(output))
        .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {}", stdout(output)));
    let items = value.as_array().expect("a JSON array").clone();
    items
        .into_iter()
        .map(|item| {
            let object = item.as_object().expect("an object").clone();
            let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
            keys.sort_unstable();
            let mut expected = FIELDS.to_vec();
            expected.sort_unstable();
            assert_eq!(keys, expected, "{object:?}");
            object
        })
        .collect()
}

/// Every item's quote is the original text between its character offsets.
fn assert_quotes(text: &str, items: &[serde_json::Map<String, serde_json::Value>]) {
    let chars: Vec<char> = text.chars().collect();
    for item in items {
        let start = item["start"].as_u64().expect("start") as usize;
        let end = item["end"].as_u64().expect("end") as usize;
        assert!(start < end && end <= chars.len(), "{item:?}");
        let quote: String = chars[start..end].iter().collect();
        assert_eq!(item["quote"].as_str(), Some(quote.as_str()), "{item:?}");
    }
}

fn find<'a>(
    items: &'a [serde_json::Map<String, serde_json::Value>],
    indicator: &str,
) -> &'a serde_json::Map<String, serde_json::Value> {
    items
        .iter()
        .find(|item| item["indicator"] == indicator)
        .unwrap_or_else(|| panic!("no item {indicator:?} in {items:#?}"))
}

#[test]
fn json_items_with_their_fields_and_spans_and_the_cleaning_on_stderr() {
    let (_dir, path) = file_with(REPORT.as_bytes());
    let output = extract(&path, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let items = json_items(&output);
    assert_quotes(REPORT, &items);
    assert_eq!(items.len(), 5, "{items:#?}");

    let growth = find(&items, "地区生产总值增长");
    assert_eq!(growth["value"], 5);
    assert_eq!(growth["unit"], "%");
    assert_eq!(growth["cmp"], "=");
    assert_eq!(growth["period"], "this_year");
    assert_eq!(growth["kind"], "target");
    assert_eq!(growth["section"], "二、2024年主要目标任务");
    let jobs = find(&items, "城镇新增就业");
    assert_eq!(
        (jobs["value"].clone(), jobs["unit"].clone()),
        (2.into(), "万人".into())
    );
    assert_eq!(jobs["cmp"], ">=");
    let schools = find(&items, "新建学校");
    assert_eq!(schools["kind"], "achievement");
    assert_eq!(schools["period"], "past");
    // The column break inside 「口袋公园」 is joined; the quote spans it in the original.
    let parks = find(&items, "新建口袋公园");
    assert_eq!(parks["quote"], "新建口袋\n\n公园30个");

    // Standard error: one line per cleaning step with its position, then the summary.
    let err = stderr(&output);
    assert!(
        err.contains("cleaning: at ") && err.contains("page_header: 「14 | 要闻」 removed"),
        "{err}"
    );
    assert!(err.contains("column_break_join"), "{err}");
    assert!(
        err.contains("2 cleaning steps; 5 quantified items, 3 of them this year's targets (the report plans for 2024)"),
        "{err}"
    );
    // Standard output is only the items.
    assert!(!stdout(&output).contains("cleaning"));
}

#[test]
fn the_seed_page_as_json_and_tsv() {
    let text = std::fs::read_to_string(seed_path()).expect("the seed page");
    let output = extract(&seed_path(), &["--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let items = json_items(&output);
    assert_eq!(items.len(), 88);
    assert_quotes(&text, &items);
    let year_targets = items
        .iter()
        .filter(|item| item["kind"] == "target" && item["period"] == "this_year")
        .count();
    assert_eq!(year_targets, 57);
    let err = stderr(&output);
    assert_eq!(
        err.lines().filter(|l| l.starts_with("cleaning: ")).count(),
        15,
        "{err}"
    );
    assert!(
        err.contains(
            "88 quantified items, 57 of them this year's targets (the report plans for 2021)"
        ),
        "{err}"
    );

    let output = extract(&seed_path(), &["--format", "tsv", "--quiet"]);
    assert!(output.status.success());
    assert!(output.stderr.is_empty(), "--quiet: {}", stderr(&output));
    let tsv = stdout(&output);
    let mut lines = tsv.lines();
    assert_eq!(lines.next(), Some(FIELDS.join("\t").as_str()));
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split('\t').collect()).collect();
    assert_eq!(rows.len(), 88);
    for (row, item) in rows.iter().zip(&items) {
        assert_eq!(row.len(), 10, "{row:?}");
        assert_eq!(row[0], item["indicator"].as_str().unwrap());
        assert_eq!(row[7], item["start"].to_string());
        assert_eq!(row[8], item["end"].to_string());
        // Line ends inside a quote are written \n, so each item stays on one line.
        assert_eq!(
            row[9].replace("\\n", "\n"),
            item["quote"].as_str().unwrap(),
            "{row:?}"
        );
    }
}

#[test]
fn standard_input_and_the_cleaned_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cleaned = dir.path().join("cleaned.txt");
    let mut child = onegrid()
        .args(["report", "extract", "-", "--cleaned"])
        .arg(&cleaned)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(REPORT.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("wait");
    assert!(output.status.success(), "{}", stderr(&output));
    let items = json_items(&output);
    assert_eq!(items.len(), 5);
    assert_quotes(REPORT, &items);
    let cleaned = std::fs::read_to_string(&cleaned).expect("the cleaned text");
    assert!(!cleaned.contains("要闻"), "{cleaned}");
    assert!(cleaned.contains("新建口袋公园30个"), "{cleaned}");
}

#[test]
fn an_empty_or_blank_file_is_refused() {
    let (_dir, path) = file_with(b"");
    let output = extract(&path, &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let err = stderr(&output);
    assert!(
        err.contains("the file is empty: there is no report text to read"),
        "{err}"
    );
    assert!(err.contains(&path.display().to_string()), "{err}");

    let (_dir, path) = file_with(" \n\u{3000}\n".as_bytes());
    let output = extract(&path, &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("only whitespace"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_binary_file_is_refused_with_what_it_is() {
    let mut pdf = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj".to_vec();
    pdf.extend_from_slice(&[0u8; 64]);
    let (_dir, path) = file_with(&pdf);
    let output = extract(&path, &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let err = stderr(&output);
    assert!(err.contains("not plain text but a PDF file"), "{err}");
    assert!(
        err.contains("save or convert the report as plain text"),
        "{err}"
    );

    // Bytes that are no known format but not text either.
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let (_dir, path) = file_with(&noise);
    let output = extract(&path, &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("binary data"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_gbk_file_is_converted_and_said_so() {
    let (_dir, path) = file_with(&GBK_REPORT);
    let output = extract(&path, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("read as GB18030 and converted to UTF-8"),
        "{err}"
    );
    assert!(err.contains("cleaning: at 0–0 encoding"), "{err}");
    assert!(err.contains("GB18030 (or GBK, its subset)"), "{err}");
    let items = json_items(&output);
    let text = "各位代表：\n二、2024年主要目标任务\n今年新增就业2万人，地区生产总值增长5%左右。\n";
    assert_quotes(text, &items);
    let jobs = find(&items, "新增就业");
    assert_eq!(jobs["quote"], "新增就业2万人");
    assert_eq!(jobs["kind"], "target");
}

#[test]
fn utf16_without_a_byte_order_mark_is_converted_and_said_so() {
    let bytes: Vec<u8> = REPORT.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let (_dir, path) = file_with(&bytes);
    let output = extract(&path, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("read as UTF-16LE and converted to UTF-8"),
        "{err}"
    );
    assert!(err.contains("without a byte-order mark"), "{err}");
    let items = json_items(&output);
    assert_eq!(items.len(), 5);
    assert_quotes(REPORT, &items);
}

#[test]
fn a_report_without_numbers_gives_an_empty_array() {
    let (_dir, path) =
        file_with("各位代表：\n我们要坚定信心，开拓奋进，着力推动高质量发展！\n".as_bytes());
    let output = extract(&path, &[]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output).trim(), "[]");
    let err = stderr(&output);
    assert!(err.contains("0 quantified items"), "{err}");
    assert!(err.contains("no quantified item"), "{err}");
    let output = extract(&path, &["--format", "tsv"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), format!("{}\n", FIELDS.join("\t")));
}

#[test]
fn a_too_large_file_is_refused_before_it_is_read() {
    let (_dir, path) = file_with(REPORT.repeat(10).as_bytes());
    let size = std::fs::metadata(&path).expect("size").len();
    let output = extract(&path, &["--max-bytes", "100"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let err = stderr(&output);
    assert!(
        err.contains(&format!(
            "the file is {size} bytes, over the limit of 100 bytes"
        )),
        "{err}"
    );
    assert!(err.contains("--max-bytes"), "{err}");
    // Over the default limit of 16 MiB.
    let dir = tempfile::tempdir().expect("temp dir");
    let big = dir.path().join("big.txt");
    let file = std::fs::File::create(&big).expect("create");
    file.set_len(17 * 1024 * 1024).expect("set length");
    let output = extract(&big, &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("over the limit of 16777216 bytes"),
        "{}",
        stderr(&output)
    );
    // The same text through standard input is cut at the limit and refused too.
    let mut child = onegrid()
        .args(["report", "extract", "-", "--max-bytes", "100"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // The refusal may come before all is written: a broken pipe here is fine.
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(REPORT.repeat(10).as_bytes());
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("more than 100 bytes"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_missing_file_or_a_folder_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = extract(&dir.path().join("nothing.txt"), &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("cannot open"),
        "{}",
        stderr(&output)
    );
    let output = extract(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("is a folder, not a report file"),
        "{}",
        stderr(&output)
    );
}
