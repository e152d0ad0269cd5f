//! Government work reports (政府工作报告): read one as plain text, clean it, and extract every quantified
//! item (indicator, value, unit, comparator, period, target or achievement, section, source span).
//!
//! Pipeline: [`decode::decode`] (bytes → text: UTF-8, or GBK/GB18030/Big5 detected and converted; binary,
//! empty and oversized input refused) → [`clean::clean`] (page headers, continuation marks, running titles,
//! column breaks, repeated passages, traditional forms, each step reported with its position, and a map from
//! every cleaned character back to the original) → [`extract::extract_items`] (sections, sentences,
//! quantities). [`extract`] runs the last two; [`read_report`] all three. The rules are in
//! `docs/workreport.md`.
//!
//! Offsets are counted in characters (Unicode scalar values) of the decoded text, not bytes, so that
//! `text.chars().skip(start).take(end - start)` is the item's quote.

pub mod clean;
pub mod decode;
pub mod eval;
pub mod extract;
pub mod numerals;

use serde::Serialize;

pub use clean::{clean, Cleaned, CleaningStep, StepKind};
pub use decode::{decode, Decoded, DEFAULT_MAX_BYTES};
pub use extract::extract_items;

/// Why a file cannot be read as a work report. Each message is a sentence for the person who gave the file.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WorkReportError {
    #[error("the file is empty: there is no report text to read")]
    Empty,
    #[error("the file holds only whitespace: there is no report text to read")]
    Blank,
    #[error("the file is {bytes} bytes, over the limit of {limit} bytes (a long work report is about 100 KB of text); if it really is one report, raise the limit")]
    TooLarge { bytes: u64, limit: u64 },
    #[error("the file is not plain text but {what}; save or convert the report as plain text (UTF-8 or GBK) first")]
    Binary { what: String },
    #[error("the file is not UTF-8 and does not look like Chinese text in GBK, GB18030 or Big5 (the closest guess is {guess}); save it as UTF-8")]
    UnknownEncoding { guess: String },
    #[error("the file read as {encoding} has {bad} undecodable byte sequences in {total} characters; it is damaged or in another encoding")]
    Undecodable {
        encoding: String,
        bad: usize,
        total: usize,
    },
}

/// `>=`, `>`, `<=`, `<` or `=`: how the value bounds the indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Comparator {
    /// 以上, 不少于, 不低于, 至少.
    #[serde(rename = ">=")]
    AtLeast,
    /// 超过, 突破, 高于, 逾, and 多/余 after a number (「千余家」).
    #[serde(rename = ">")]
    MoreThan,
    /// 以内, 以下, 不超过, 控制在, and 「压缩至…内」.
    #[serde(rename = "<=")]
    AtMost,
    /// 低于, 少于, 不足.
    #[serde(rename = "<")]
    LessThan,
    /// A plain value, or an approximate one (左右, 约, 近).
    #[serde(rename = "=")]
    Equal,
}

impl Comparator {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::AtLeast => ">=",
            Comparator::MoreThan => ">",
            Comparator::AtMost => "<=",
            Comparator::LessThan => "<",
            Comparator::Equal => "=",
        }
    }

    pub fn parse(text: &str) -> Option<Comparator> {
        Some(match text {
            ">=" => Comparator::AtLeast,
            ">" => Comparator::MoreThan,
            "<=" => Comparator::AtMost,
            "<" => Comparator::LessThan,
            "=" => Comparator::Equal,
            _ => return None,
        })
    }
}

/// A target set by the report, or an achievement it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Target,
    Achievement,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Target => "target",
            Kind::Achievement => "achievement",
        }
    }
}

/// When the item holds: written `this_year`, `past`, a plan period by its name (`十四五`) or a year (`2025`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Period {
    /// The report's own year (今年, the section of this year's work).
    ThisYear,
    /// Before the report's year (一年来, 五年来, the review section).
    Past,
    /// A five-year plan period such as 十四五.
    Plan(String),
    /// A later year named in the text (到2025年).
    Year(i32),
}

impl Period {
    pub fn label(&self) -> String {
        match self {
            Period::ThisYear => "this_year".to_string(),
            Period::Past => "past".to_string(),
            Period::Plan(name) => name.clone(),
            Period::Year(year) => year.to_string(),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.label())
    }
}

/// One quantified item. `start`/`end` are character offsets into the original text and
/// `quote` is exactly the original text between them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// What is counted or measured, e.g. 「净增国家高新技术企业」, 「地区生产总值增长」.
    pub indicator: String,
    #[serde(serialize_with = "serialize_value")]
    pub value: f64,
    /// The unit as written, with its magnitude: 家, 亿元, 万平方米, %, 个工作日; empty for a bare index value.
    pub unit: String,
    pub cmp: Comparator,
    pub period: Period,
    pub kind: Kind,
    /// The headings above the item, outermost first, joined by 「 › 」; empty before the first heading.
    pub section: String,
    pub start: usize,
    pub end: usize,
    pub quote: String,
}

/// Whole values are written without a decimal point (`60`, not `60.0`).
fn serialize_value<S: serde::Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        serializer.serialize_i64(*value as i64)
    } else {
        serializer.serialize_f64(*value)
    }
}

impl Item {
    /// The TSV header, in the order of the JSON fields.
    pub const TSV_HEADER: &'static str =
        "indicator\tvalue\tunit\tcmp\tperiod\tkind\tsection\tstart\tend\tquote";

    /// The item as one TSV line (without the line end). Tabs, line ends and backslashes inside a field are
    /// written `\t`, `\n`, `\r` and `\\`, so a quote that spans a column break stays on one line.
    pub fn tsv_row(&self) -> String {
        [
            escape_tsv(&self.indicator),
            format_value(self.value),
            escape_tsv(&self.unit),
            self.cmp.as_str().to_string(),
            escape_tsv(&self.period.label()),
            self.kind.as_str().to_string(),
            escape_tsv(&self.section),
            self.start.to_string(),
            self.end.to_string(),
            escape_tsv(&self.quote),
        ]
        .join("\t")
    }
}

/// A value as people write it: `60`, `6.7`, `13.75`.
pub fn format_value(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

fn escape_tsv(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    for c in field.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
    out
}

/// What [`extract`] found in one report.
#[derive(Debug, Clone)]
pub struct Extraction {
    pub items: Vec<Item>,
    /// Every cleaning step, in order of position in the original text.
    pub steps: Vec<CleaningStep>,
    /// The cleaned text that items were extracted from.
    pub cleaned: String,
    /// The year the report plans for (「三、2021年主要工作安排」 → 2021), when a heading names it.
    pub report_year: Option<i32>,
}

impl Extraction {
    /// How many items are this year's targets.
    pub fn year_targets(&self) -> usize {
        self.items
            .iter()
            .filter(|item| item.kind == Kind::Target && item.period == Period::ThisYear)
            .count()
    }
}

/// Cleans a report's text and extracts its quantified items.
pub fn extract(text: &str) -> Extraction {
    let cleaned = clean(text);
    let (items, report_year) = extract_items(&cleaned);
    Extraction {
        items,
        steps: cleaned.steps.clone(),
        cleaned: cleaned.text(),
        report_year,
    }
}

/// Decodes a file's bytes (at most `max_bytes`), cleans and extracts. The decoding (encoding detected and
/// converted, byte-order mark dropped) is the first cleaning step when there was any.
pub fn read_report(bytes: &[u8], max_bytes: u64) -> Result<(Decoded, Extraction), WorkReportError> {
    let decoded = decode(bytes, max_bytes)?;
    let mut extraction = extract(&decoded.text);
    if let Some(step) = decoded.step() {
        extraction.steps.insert(0, step);
    }
    Ok((decoded, extraction))
}
