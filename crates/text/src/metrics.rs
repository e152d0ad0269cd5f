//! Accuracy, macro-F1 and per-label F1.

use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq)]
pub struct LabelScore {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Rows whose true label is this one.
    pub support: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub n: usize,
    /// Rows the classifier refused (counted as wrong).
    pub refused: usize,
    pub accuracy: f64,
    /// Unweighted mean of the per-label F1 over every label that is true or predicted at least once.
    pub macro_f1: f64,
    pub per_label: Vec<LabelScore>,
}

/// Scores `predicted` (None: refused) against `truth`.
pub fn evaluate<T: AsRef<str>, P: AsRef<str>>(truth: &[T], predicted: &[Option<P>]) -> Evaluation {
    let labels: BTreeSet<&str> = truth
        .iter()
        .map(AsRef::as_ref)
        .chain(predicted.iter().flatten().map(AsRef::as_ref))
        .collect();
    let pairs: Vec<(&str, Option<&str>)> = truth
        .iter()
        .map(AsRef::as_ref)
        .zip(predicted.iter().map(|p| p.as_ref().map(AsRef::as_ref)))
        .collect();
    let n = pairs.len();
    let correct = pairs.iter().filter(|(t, p)| Some(*t) == *p).count();
    let per_label: Vec<LabelScore> = labels
        .iter()
        .map(|&label| {
            let tp = pairs
                .iter()
                .filter(|(t, p)| *t == label && *p == Some(label))
                .count() as f64;
            let predicted_n = pairs.iter().filter(|(_, p)| *p == Some(label)).count() as f64;
            let support = pairs.iter().filter(|(t, _)| *t == label).count();
            let precision = if predicted_n > 0.0 {
                tp / predicted_n
            } else {
                0.0
            };
            let recall = if support > 0 {
                tp / support as f64
            } else {
                0.0
            };
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            LabelScore {
                label: label.to_string(),
                precision,
                recall,
                f1,
                support,
            }
        })
        .collect();
    let macro_f1 = if per_label.is_empty() {
        0.0
    } else {
        per_label.iter().map(|s| s.f1).sum::<f64>() / per_label.len() as f64
    };
    Evaluation {
        n,
        refused: predicted.iter().filter(|p| p.is_none()).count(),
        accuracy: if n > 0 {
            correct as f64 / n as f64
        } else {
            0.0
        },
        macro_f1,
        per_label,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hand_computed_scores() {
        let truth = ["a", "a", "b", "b"];
        let predicted = [Some("a"), Some("b"), Some("b"), None];
        let e = evaluate(&truth, &predicted);
        assert_eq!(e.n, 4);
        assert_eq!(e.refused, 1);
        assert!((e.accuracy - 0.5).abs() < 1e-12);
        // a: p 1, r 0.5, f1 2/3; b: p 0.5, r 0.5, f1 0.5.
        assert!((e.per_label[0].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((e.per_label[1].f1 - 0.5).abs() < 1e-12);
        assert!((e.macro_f1 - (2.0 / 3.0 + 0.5) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn empty_input_scores_zero() {
        let e = evaluate::<&str, &str>(&[], &[]);
        assert_eq!((e.n, e.accuracy, e.macro_f1), (0, 0.0, 0.0));
    }
}
