//! Labelled messages from TSV files (optionally gzip-compressed), and the held-out split used for evaluation.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::TextError;
use crate::train::Example;

/// The labelled subjects of the 2020 Teddy Cup data set (8,070 rows).
pub const SUBJECTS_FILE: &str = "attachment2_subjects_all.tsv.gz";
/// The labelled message bodies of the same data set (3,229 rows).
pub const BODIES_FILE: &str = "attachment2_details_40pct.tsv.gz";

/// Where the data set is looked for: `$ONEGRID_TEXT_DATA`, else the copy kept in the repository
/// (`crates/text/data/teddy-cup-2020-c`, the two labelled files and their PROVENANCE.md), so that a
/// checkout evaluates the same split on every machine.
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("ONEGRID_TEXT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/teddy-cup-2020-c"))
}

/// The `split` column of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Dev,
    Test,
    /// The file has no `split` column: every row is training data.
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LabelledRow {
    pub split: Split,
    pub text: String,
    pub label: String,
}

/// A labelled file: its rows and a short name for reports (`subjects`, `bodies`, or the file name).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledFile {
    pub name: String,
    pub rows: Vec<LabelledRow>,
}

/// Reads a header-first, tab-separated file (gzip when the name ends in `.gz`). The text is the column `text`,
/// or `留言主题` (subject) and/or `留言详情` (body), joined by a space when both are present; the label is
/// `label`, `一级标签` or `一级分类`; the optional `split` column is `train`, `dev` or `test`.
pub fn read_labelled(path: &Path) -> Result<LabelledFile, TextError> {
    parse_labelled(path, &read_table_text(path)?)
}

/// The whole text of a header-first, tab-separated file (gzip when the name ends in `.gz`).
pub(crate) fn read_table_text(path: &Path) -> Result<String, TextError> {
    let file = std::fs::File::open(path).map_err(|e| TextError::io(path, e))?;
    let mut content = String::new();
    let read = if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::MultiGzDecoder::new(file).read_to_string(&mut content)
    } else {
        std::io::BufReader::new(file).read_to_string(&mut content)
    };
    read.map_err(|e| TextError::io(path, e))?;
    Ok(content)
}

/// A tab-separated text with a header row: the header's names (trimmed, byte-order mark dropped) and
/// its non-blank rows, each with its line number, so that every error names the file and the line.
pub(crate) struct Table<'a> {
    path: &'a Path,
    pub header: Vec<&'a str>,
    pub rows: Vec<TableRow<'a>>,
}

pub(crate) struct TableRow<'a> {
    /// 1-based, the header being line 1.
    pub line: usize,
    fields: Vec<&'a str>,
}

impl<'a> Table<'a> {
    pub(crate) fn parse(path: &'a Path, content: &'a str) -> Result<Table<'a>, TextError> {
        let mut lines = content.lines().enumerate();
        let header: Vec<&str> = lines
            .next()
            .map(|(_, h)| {
                h.trim_start_matches('\u{feff}')
                    .split('\t')
                    .map(str::trim)
                    .collect()
            })
            .ok_or_else(|| TextError::data(path, "the file is empty (no header row)"))?;
        let rows = lines
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(number, line)| TableRow {
                line: number + 1,
                fields: line.split('\t').collect(),
            })
            .collect();
        Ok(Table { path, header, rows })
    }

    /// The first column named any of `names`.
    pub(crate) fn column(&self, names: &[&str]) -> Option<usize> {
        self.header.iter().position(|h| names.contains(h))
    }

    /// Column `column` of `row`, trimmed; an error when the row is shorter than that.
    pub(crate) fn field(&self, row: &TableRow<'a>, column: usize) -> Result<&'a str, TextError> {
        row.fields.get(column).map(|f| f.trim()).ok_or_else(|| {
            self.error(
                row,
                format!(" has {} fields, fewer than the header", row.fields.len()),
            )
        })
    }

    /// An error about `row`: "line N" followed by `problem` (": …" or " has …").
    pub(crate) fn error(&self, row: &TableRow<'_>, problem: impl std::fmt::Display) -> TextError {
        TextError::data(self.path, format!("line {}{problem}", row.line))
    }
}

fn parse_labelled(path: &Path, content: &str) -> Result<LabelledFile, TextError> {
    let table = Table::parse(path, content)?;
    let split_col = table.column(&["split"]);
    let label_col = table
        .column(&["label", "一级标签", "一级分类"])
        .ok_or_else(|| {
            TextError::data(
                path,
                "no label column (label, 一级标签 or 一级分类) in the header",
            )
        })?;
    let text_cols: Vec<usize> = match table.column(&["text"]) {
        Some(c) => vec![c],
        None => [table.column(&["留言主题"]), table.column(&["留言详情"])]
            .into_iter()
            .flatten()
            .collect(),
    };
    if text_cols.is_empty() {
        return Err(TextError::data(
            path,
            "no text column (text, 留言主题 or 留言详情) in the header",
        ));
    }
    let only = (text_cols.len() == 1)
        .then(|| table.header.get(text_cols[0]).copied())
        .flatten();
    let name = match only {
        Some("留言主题") => "subjects".to_string(),
        Some("留言详情") => "bodies".to_string(),
        _ => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let mut rows = Vec::new();
    for row in &table.rows {
        let split = match split_col {
            None => Split::None,
            Some(c) => match table.field(row, c)? {
                "train" => Split::Train,
                "dev" => Split::Dev,
                "test" => Split::Test,
                other => {
                    return Err(table.error(
                        row,
                        format!(": unknown split {other:?} (train, dev or test)"),
                    ))
                }
            },
        };
        let label = table.field(row, label_col)?;
        if label.is_empty() {
            return Err(table.error(row, " has an empty label"));
        }
        let text = text_cols
            .iter()
            .map(|&c| table.field(row, c))
            .collect::<Result<Vec<_>, _>>()?
            .join(" ");
        rows.push(LabelledRow {
            split,
            text,
            label: label.to_string(),
        });
    }
    Ok(LabelledFile { name, rows })
}

/// The training rows of `files`: every row whose split is not `test`.
pub fn training_examples(files: &[LabelledFile]) -> Vec<Example> {
    files
        .iter()
        .flat_map(|f| &f.rows)
        .filter(|r| r.split != Split::Test)
        .map(|r| Example::new(r.text.clone(), r.label.clone()))
        .collect()
}

/// The `test` rows of one file, without those whose text also occurs in a training row.
#[derive(Debug, Clone, PartialEq)]
pub struct TestSet {
    pub name: String,
    pub examples: Vec<Example>,
    /// Test rows dropped because their text occurs among the training rows.
    pub dropped: usize,
}

/// One test set per file that has `test` rows. A test row is dropped when its exact text (trimmed) is the
/// text of any training row of any of the files.
pub fn test_sets(files: &[LabelledFile]) -> Vec<TestSet> {
    let seen: HashSet<&str> = files
        .iter()
        .flat_map(|f| &f.rows)
        .filter(|r| r.split != Split::Test)
        .map(|r| r.text.as_str())
        .collect();
    files
        .iter()
        .filter(|f| f.rows.iter().any(|r| r.split == Split::Test))
        .map(|f| {
            let test: Vec<&LabelledRow> =
                f.rows.iter().filter(|r| r.split == Split::Test).collect();
            let kept: Vec<Example> = test
                .iter()
                .filter(|r| !seen.contains(r.text.as_str()))
                .map(|r| Example::new(r.text.clone(), r.label.clone()))
                .collect();
            TestSet {
                name: f.name.clone(),
                dropped: test.len() - kept.len(),
                examples: kept,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_subjects_and_drops_test_rows_seen_in_training() {
        let content = "split\t留言主题\t一级标签\ntrain\t小区噪音\t环境保护\ntest\t小区噪音\t环境保护\ntest\t学校收费\t教育文体\n";
        let file = parse_labelled(Path::new("x.tsv"), content).unwrap();
        assert_eq!(file.name, "subjects");
        assert_eq!(file.rows.len(), 3);
        let files = [file];
        assert_eq!(training_examples(&files).len(), 1);
        let tests = test_sets(&files);
        assert_eq!(tests.len(), 1);
        assert_eq!(tests[0].dropped, 1);
        assert_eq!(
            tests[0].examples,
            vec![Example::new("学校收费", "教育文体")]
        );
    }

    #[test]
    fn joins_subject_and_body_and_accepts_plain_columns() {
        let file = parse_labelled(
            Path::new("rows.tsv"),
            "留言编号\t留言主题\t留言详情\t一级标签\n1\t标题\t正文\t城乡建设\n",
        )
        .unwrap();
        assert_eq!(file.rows[0].text, "标题 正文");
        assert_eq!(file.rows[0].split, Split::None);
        let file = parse_labelled(Path::new("c.tsv"), "text\tlabel\n路灯坏了\t城乡建设\n").unwrap();
        assert_eq!(file.rows[0].label, "城乡建设");
    }

    #[test]
    fn explains_malformed_files() {
        let err = parse_labelled(Path::new("a.tsv"), "").unwrap_err();
        assert!(err.to_string().contains("empty"));
        let err = parse_labelled(Path::new("a.tsv"), "text\n路灯\n").unwrap_err();
        assert!(err.to_string().contains("no label column"));
        let err =
            parse_labelled(Path::new("a.tsv"), "split\ttext\tlabel\nvalid\tx\ty\n").unwrap_err();
        assert!(err.to_string().contains("unknown split"));
        let err = parse_labelled(Path::new("a.tsv"), "text\tlabel\n路灯\n").unwrap_err();
        assert!(err.to_string().contains("fewer than the header"));
    }
}
