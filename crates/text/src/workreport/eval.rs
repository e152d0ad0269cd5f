//! Measuring the extractor against hand-labelled targets (`crates/text/data/workreport/`).
//!
//! A labelled target is a row of `targets.tsv`: the report file, an anchor (a piece of the report's text,
//! unique in it, holding the number), the indicator, value, unit and comparator. `regions.tsv` names, for each
//! labelled report, the heading from which on it was labelled (to its end). An extracted item counts as one of
//! the year's targets when its kind is `target` and its period `this_year`; among those, the ones that start in
//! a labelled region are scored. An extracted item matches a labelled target when its span overlaps the
//! anchor, the value, unit and comparator are equal, and the indicators agree ([`indicator_matches`]); each
//! labelled target is matched at most once.

use std::path::{Path, PathBuf};

use super::{extract, format_value, Comparator, Item, Kind, Period};
use crate::TextError;

/// Where the labels are kept in the repository, with copies of the labelled reports and of the seed page.
pub fn default_labels_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/workreport")
}

/// Where the whole collection of reports is looked for: `$ONEGRID_WORK_REPORTS`, else
/// `shared/data/gov-work-reports-2024` beside the repository.
pub fn default_reports_dir() -> PathBuf {
    std::env::var_os("ONEGRID_WORK_REPORTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/data/gov-work-reports-2024")
        })
}

/// One hand-labelled target.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledTarget {
    pub file: String,
    pub anchor: String,
    pub indicator: String,
    pub value: f64,
    pub unit: String,
    pub cmp: Comparator,
}

/// Reads `targets.tsv`: a header line, `#` comment lines, then `file anchor indicator value unit cmp`.
pub fn read_targets(path: &Path) -> Result<Vec<LabelledTarget>, TextError> {
    let text = std::fs::read_to_string(path).map_err(|error| TextError::io(path, error))?;
    let mut targets = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.starts_with("file\t") || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let problem =
            |message: String| TextError::data(path, format!("line {}: {message}", number + 1));
        if fields.len() != 6 {
            return Err(problem(format!("{} fields, expected 6", fields.len())));
        }
        let value = fields[3]
            .parse::<f64>()
            .map_err(|_| problem(format!("value {:?} is not a number", fields[3])))?;
        let cmp = Comparator::parse(fields[5]).ok_or_else(|| {
            problem(format!(
                "comparator {:?} is not one of >= > <= < =",
                fields[5]
            ))
        })?;
        targets.push(LabelledTarget {
            file: fields[0].to_string(),
            anchor: fields[1].to_string(),
            indicator: fields[2].to_string(),
            value,
            unit: fields[4].to_string(),
            cmp,
        });
    }
    Ok(targets)
}

/// Reads `regions.tsv`: `file start_heading` rows.
pub fn read_regions(path: &Path) -> Result<Vec<(String, String)>, TextError> {
    let text = std::fs::read_to_string(path).map_err(|error| TextError::io(path, error))?;
    let mut regions = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.starts_with("file\t") || line.trim().is_empty() {
            continue;
        }
        let Some((file, heading)) = line.split_once('\t') else {
            return Err(TextError::data(
                path,
                format!("line {}: expected `file<TAB>start_heading`", number + 1),
            ));
        };
        regions.push((file.to_string(), heading.to_string()));
    }
    Ok(regions)
}

/// Letters only: punctuation, quotes and spaces do not decide whether two indicators agree.
fn letters(text: &str) -> Vec<char> {
    text.chars().filter(|c| c.is_alphanumeric()).collect()
}

fn is_subsequence(short: &[char], long: &[char]) -> bool {
    let mut rest = long.iter();
    short.iter().all(|c| rest.any(|l| l == c))
}

fn bigrams(text: &[char]) -> Vec<(char, char)> {
    text.windows(2).map(|pair| (pair[0], pair[1])).collect()
}

/// Whether an extracted indicator says the labelled one: the labelled indicator's characters appear in it in
/// order and it is at most twice as long plus four characters (so that the whole sentence does not count),
/// or the reverse (the extracted one is a shorter form, at least half as long), or their character bigrams
/// overlap with a Dice coefficient of at least 0.6.
pub fn indicator_matches(labelled: &str, extracted: &str) -> bool {
    let labelled = letters(labelled);
    let extracted = letters(extracted);
    if labelled.is_empty() || extracted.is_empty() {
        return labelled == extracted;
    }
    if is_subsequence(&labelled, &extracted) && extracted.len() <= labelled.len() * 2 + 4 {
        return true;
    }
    if is_subsequence(&extracted, &labelled) && extracted.len() * 2 >= labelled.len() {
        return true;
    }
    let a = bigrams(&labelled);
    let b = bigrams(&extracted);
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let mut remaining = b.clone();
    let mut shared = 0;
    for pair in &a {
        if let Some(index) = remaining.iter().position(|other| other == pair) {
            remaining.swap_remove(index);
            shared += 1;
        }
    }
    2.0 * shared as f64 / (a.len() + b.len()) as f64 >= 0.6
}

/// The scores of one report.
#[derive(Debug, Clone, Default)]
pub struct ReportScore {
    pub file: String,
    /// Labelled targets.
    pub labelled: usize,
    /// Extracted items that are this year's targets, in the labelled region.
    pub extracted: usize,
    /// Matched with indicator, value, unit and comparator all right.
    pub correct: usize,
    /// Matched on span, value, unit and comparator, whatever the indicator.
    pub correct_without_indicator: usize,
    /// Matched on span and value only.
    pub located: usize,
    /// Labelled targets not matched (with indicator), each with the extracted item at its place if any.
    pub missed: Vec<(LabelledTarget, Option<Item>)>,
    /// Extracted targets that match no labelled one.
    pub spurious: Vec<Item>,
}

impl ReportScore {
    pub fn precision(&self) -> f64 {
        ratio(self.correct, self.extracted)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.correct, self.labelled)
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Character offset of the first occurrence of `needle` in `text`.
fn char_find(text: &str, needle: &str) -> Option<usize> {
    text.find(needle).map(|byte| text[..byte].chars().count())
}

/// Extracts from `text` and scores the year's targets against `labelled` (rows for this file), counting
/// extracted items from the line that starts with `region_heading` on.
pub fn score_report(
    file: &str,
    text: &str,
    labelled: &[LabelledTarget],
    region_heading: &str,
) -> Result<ReportScore, String> {
    let region_start = text
        .lines()
        .scan(0usize, |offset, line| {
            let start = *offset;
            *offset += line.chars().count() + 1;
            Some((start, line))
        })
        .find(|(_, line)| line.starts_with(region_heading))
        .map(|(start, _)| start)
        .ok_or_else(|| {
            format!("{file}: no line starts with the region heading {region_heading:?}")
        })?;
    let extraction = extract(text);
    let extracted: Vec<&Item> = extraction
        .items
        .iter()
        .filter(|item| {
            item.kind == Kind::Target
                && item.period == Period::ThisYear
                && item.start >= region_start
        })
        .collect();
    let mut anchors = Vec::new();
    for target in labelled {
        let start = char_find(text, &target.anchor)
            .ok_or_else(|| format!("{file}: the anchor {:?} is not in the text", target.anchor))?;
        anchors.push((start, start + target.anchor.chars().count()));
    }
    let overlaps = |item: &Item, (start, end): (usize, usize)| item.start < end && start < item.end;
    let same_value =
        |item: &Item, target: &LabelledTarget| (item.value - target.value).abs() < 1e-9;
    let full = |item: &Item, target: &LabelledTarget| {
        same_value(item, target)
            && item.unit == target.unit
            && item.cmp == target.cmp
            && indicator_matches(&target.indicator, &item.indicator)
    };
    let mut score = ReportScore {
        file: file.to_string(),
        labelled: labelled.len(),
        extracted: extracted.len(),
        ..ReportScore::default()
    };
    // One-to-one matching, greedily in text order, for each level of strictness.
    let count = |accept: &dyn Fn(&Item, &LabelledTarget) -> bool| {
        let mut used = vec![false; extracted.len()];
        let mut matched = vec![None; labelled.len()];
        for (t, target) in labelled.iter().enumerate() {
            if let Some(e) = (0..extracted.len()).find(|&e| {
                !used[e] && overlaps(extracted[e], anchors[t]) && accept(extracted[e], target)
            }) {
                used[e] = true;
                matched[t] = Some(e);
            }
        }
        (matched, used)
    };
    let (matched, used) = count(&full);
    score.correct = matched.iter().flatten().count();
    score.correct_without_indicator = count(&|item, target| {
        same_value(item, target) && item.unit == target.unit && item.cmp == target.cmp
    })
    .0
    .iter()
    .flatten()
    .count();
    score.located = count(&same_value).0.iter().flatten().count();
    for (t, target) in labelled.iter().enumerate() {
        if matched[t].is_none() {
            let nearby = extraction
                .items
                .iter()
                .find(|item| overlaps(item, anchors[t]) && same_value(item, target))
                .or_else(|| {
                    extraction
                        .items
                        .iter()
                        .find(|item| overlaps(item, anchors[t]))
                })
                .cloned();
            score.missed.push((target.clone(), nearby));
        }
    }
    score.spurious = extracted
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(item, _)| (*item).clone())
        .collect();
    Ok(score)
}

/// Scores every labelled report: reads the labels from `labels_dir` and the reports from `reports_dir`.
pub fn evaluate(labels_dir: &Path, reports_dir: &Path) -> Result<Vec<ReportScore>, String> {
    let targets =
        read_targets(&labels_dir.join("targets.tsv")).map_err(|error| error.to_string())?;
    let regions =
        read_regions(&labels_dir.join("regions.tsv")).map_err(|error| error.to_string())?;
    let mut scores = Vec::new();
    for (file, heading) in &regions {
        let path = reports_dir.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        let labelled: Vec<LabelledTarget> = targets
            .iter()
            .filter(|target| &target.file == file)
            .cloned()
            .collect();
        scores.push(score_report(file, &text, &labelled, heading)?);
    }
    Ok(scores)
}

/// A labelled target as one line for a person.
pub fn describe(target: &LabelledTarget) -> String {
    format!(
        "{} {} {}{} 「{}」",
        target.indicator,
        target.cmp.as_str(),
        format_value(target.value),
        target.unit,
        target.anchor
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indicators_agree_leniently_but_not_with_whole_sentences() {
        assert!(indicator_matches("布局特色载体", "布局特色载体"));
        assert!(indicator_matches("改造供热管网", "供热管网"));
        assert!(indicator_matches(
            "地区生产总值增长",
            "全市地区生产总值增长"
        ));
        assert!(indicator_matches("实施民心工程", "持续实施民心工程"));
        assert!(!indicator_matches("新增绿地", "城区环卫机械化作业率"));
        assert!(!indicator_matches(
            "新增绿地",
            "实施增绿添彩行动，新建口袋公园，新增城市绿地面积和公园数量"
        ));
    }
}
