//! Classifying a message: normalise → features → scores → probabilities.

use std::cell::RefCell;
use std::path::Path;

use crate::error::TextError;
use crate::features::{buckets, vectorize, Scratch, SparseVector};
use crate::model::{Model, PackedWeights, PackedWork};
use crate::normalize::{is_content_char, normalize};

/// The model trained on the 2020 Teddy Cup citizen messages (7 top-level labels), shipped in the binary.
/// Rebuild it with `bench/text/train-default` (see docs/text.md).
static DEFAULT_MODEL: &[u8] = include_bytes!("../models/default.ogtc");

/// One label and its probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub label: String,
    pub probability: f32,
}

/// The classifier's answer for one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The most probable label.
    pub label: String,
    /// Its probability (0–1).
    pub confidence: f32,
    /// The three most probable labels (fewer if the model has fewer), best first; the first is `label`.
    pub top: Vec<Scored>,
}

/// A loaded model, ready to classify. Cheap to share between threads (`&Classifier` is `Sync`).
#[derive(Debug, Clone, PartialEq)]
pub struct Classifier {
    model: Model,
    /// The model's weights laid out for fast scoring (derived from `model` at construction).
    packed: Option<PackedWeights>,
}

/// Per-thread buffers so classifying a message allocates (almost) nothing.
#[derive(Default)]
struct Buffers {
    scratch: Scratch,
    vector: SparseVector,
    work: PackedWork,
    scores: Vec<f32>,
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::default();
}

impl Classifier {
    pub fn new(model: Model) -> Classifier {
        let packed = model.packed();
        Classifier { model, packed }
    }

    /// The default model shipped inside the binary.
    pub fn default_model() -> Result<Classifier, TextError> {
        Classifier::from_bytes(DEFAULT_MODEL)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Classifier, TextError> {
        Model::from_bytes(bytes).map(Classifier::new)
    }

    pub fn load(path: &Path) -> Result<Classifier, TextError> {
        let bytes = std::fs::read(path).map_err(|e| TextError::io(path, e))?;
        Classifier::from_bytes(&bytes)
    }

    /// Writes the model file (to a temporary file first, so a crash never leaves half a model).
    pub fn save(&self, path: &Path) -> Result<(), TextError> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, self.model.to_bytes()).map_err(|e| TextError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| TextError::io(path, e))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.model.to_bytes()
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn labels(&self) -> &[String] {
        self.model.labels()
    }

    /// Classifies one message (subject, body, or both joined by a space).
    ///
    /// Refuses an empty or whitespace-only message ([`TextError::Empty`]) and one without a Chinese
    /// character, letter or digit ([`TextError::NoContent`], e.g. only emoji). Reads only the first
    /// [`crate::normalize::MAX_INPUT_CHARS`] characters.
    pub fn classify(&self, text: &str) -> Result<Prediction, TextError> {
        self.classify_normalised(&normalize(text))
    }

    /// [`Classifier::classify`] on text already passed through [`normalize`], for a caller that also
    /// needs the normalised text for something else (intake's duplicate signature): the same answer
    /// as `classify(text)` when `normalised == normalize(text)`.
    pub fn classify_normalised(&self, normalised: &str) -> Result<Prediction, TextError> {
        let top = self.with_normalised_scores(normalised, |scores| {
            softmax(scores, self.model.temperature);
            top_three(scores)
                .iter()
                .flatten()
                .map(|&i| Scored {
                    label: self.model.labels[i].clone(),
                    probability: scores[i],
                })
                .collect::<Vec<Scored>>()
        })?;
        let best = top
            .first()
            .cloned()
            .ok_or_else(|| TextError::BadModel("it has no labels".to_string()))?;
        Ok(Prediction {
            label: best.label,
            confidence: best.probability,
            top,
        })
    }

    /// The index (into [`Classifier::labels`]) of the most probable label and its probability.
    pub fn classify_index(&self, text: &str) -> Result<(usize, f32), TextError> {
        self.with_scores(text, |scores| {
            softmax(scores, self.model.temperature);
            scores
                .iter()
                .copied()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(&b.1))
        })?
        .ok_or_else(|| TextError::BadModel("it has no labels".to_string()))
    }

    /// The probability of every label, in the order of [`Classifier::labels`].
    pub fn probabilities(&self, text: &str) -> Result<Vec<f32>, TextError> {
        self.with_scores(text, |scores| {
            softmax(scores, self.model.temperature);
            scores.to_vec()
        })
    }

    /// The raw linear score of every label.
    pub fn scores(&self, text: &str) -> Result<Vec<f32>, TextError> {
        self.with_scores(text, |scores| scores.to_vec())
    }

    /// Computes the raw scores of `text` into this thread's buffer and hands them to `f`.
    fn with_scores<R>(&self, text: &str, f: impl FnOnce(&mut [f32]) -> R) -> Result<R, TextError> {
        self.with_normalised_scores(&normalize(text), f)
    }

    fn with_normalised_scores<R>(
        &self,
        normalised: &str,
        f: impl FnOnce(&mut [f32]) -> R,
    ) -> Result<R, TextError> {
        if normalised.is_empty() {
            return Err(TextError::Empty);
        }
        if !normalised.chars().any(is_content_char) {
            return Err(TextError::NoContent);
        }
        BUFFERS.with(|buffers| {
            let mut buffers = buffers.borrow_mut();
            let Buffers {
                scratch,
                vector,
                work,
                scores,
            } = &mut *buffers;
            let config = &self.model.config;
            match &self.packed {
                Some(packed) => {
                    buckets(config, normalised, scratch);
                    self.model
                        .scores_packed(packed, scratch.buckets_mut(), work, scores);
                }
                None => {
                    vectorize(
                        config,
                        normalised,
                        self.model.idf.as_deref(),
                        scratch,
                        vector,
                    );
                    self.model.scores(&vector.indices, &vector.values, scores);
                }
            }
            Ok(f(scores))
        })
    }
}

/// The indices of the three largest scores (fewer if there are fewer), largest first; of equal scores the
/// earlier comes first, as a stable descending sort would order them.
fn top_three(scores: &[f32]) -> [Option<usize>; 3] {
    let ahead = |a: usize, b: usize| scores[a].total_cmp(&scores[b]).then(b.cmp(&a)).is_gt();
    let mut best: [Option<usize>; 3] = [None; 3];
    for i in 0..scores.len() {
        let mut candidate = i;
        for slot in best.iter_mut() {
            match *slot {
                None => {
                    *slot = Some(candidate);
                    break;
                }
                Some(held) if ahead(candidate, held) => {
                    *slot = Some(candidate);
                    candidate = held;
                }
                Some(_) => {}
            }
        }
    }
    best
}

/// In-place softmax of `scores × temperature`.
pub(crate) fn softmax(scores: &mut [f32], temperature: f32) {
    let max = scores
        .iter()
        .fold(f32::NEG_INFINITY, |m, &s| m.max(s * temperature));
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s * temperature - max).exp();
        sum += *s;
    }
    if sum > 0.0 {
        scores.iter_mut().for_each(|s| *s /= sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::FeatureConfig;

    #[test]
    fn classifying_normalised_text_gives_the_same_answer() {
        let classifier = Classifier::default_model().expect("the shipped model loads");
        for text in [
            "小区门口垃圾堆积，臭味很大。",
            "ＡＢＣ路段  路灯不亮。",
            "  ",
            "😀",
        ] {
            assert_eq!(
                classifier.classify(text).ok(),
                classifier.classify_normalised(&normalize(text)).ok(),
                "{text}"
            );
        }
    }

    #[test]
    fn top_three_orders_like_a_stable_sort() {
        let cases: [&[f32]; 6] = [
            &[],
            &[0.5],
            &[0.2, 0.8],
            &[0.1, 0.3, 0.3, 0.2, 0.3, 0.05, 0.02],
            &[0.4, 0.1, 0.2, 0.05, 0.25],
            &[1.0, 1.0, 1.0, 1.0],
        ];
        for scores in cases {
            let mut order: Vec<usize> = (0..scores.len()).collect();
            order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
            let expected: Vec<usize> = order.into_iter().take(3).collect();
            let found: Vec<usize> = top_three(scores).into_iter().flatten().collect();
            assert_eq!(found, expected, "{scores:?}");
        }
    }

    /// A small model whose idf is stored, so the packed layout is used.
    fn small_model(idf: bool) -> Model {
        let config = FeatureConfig {
            hash_bits: 10,
            ..FeatureConfig::default()
        };
        let dims = config.dims();
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let weights: Vec<Vec<f32>> = (0..labels.len())
            .map(|l| {
                (0..dims)
                    .map(|b| (((b * 31 + l * 17) % 23) as f32 - 11.0) / 7.0)
                    .collect()
            })
            .collect();
        let idf = idf.then(|| (0..dims).map(|b| 1.0 + (b % 13) as f32 / 3.0).collect());
        Model::quantise(config, labels, 1.5, vec![0.1, -0.2, 0.05], &weights, idf)
    }

    #[test]
    fn packed_scores_equal_the_plain_path_bit_for_bit() {
        for with_idf in [true, false] {
            let model = small_model(with_idf);
            let fast = Classifier::new(model.clone());
            assert!(fast.packed.is_some());
            let plain = Classifier {
                model,
                packed: None,
            };
            for text in [
                "小区噪音扰民，晚上施工",
                "關於學校 噪聲 WiFi 问题 问题 问题",
                "a3区 路灯坏了",
            ] {
                let a = fast.scores(text).unwrap();
                let b = plain.scores(text).unwrap();
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
                assert_eq!(bits(&a), bits(&b), "{text}");
                assert_eq!(fast.classify(text).unwrap(), plain.classify(text).unwrap());
            }
        }
    }

    #[test]
    fn an_idf_not_stored_as_bytes_falls_back_to_the_plain_layout() {
        let mut model = small_model(true);
        if let Some(idf) = model.idf.as_mut() {
            idf[3] += 1e-3;
        }
        assert!(model.packed().is_none());
        let classifier = Classifier::new(model);
        assert!(classifier.classify("小区噪音扰民").is_ok());
    }

    #[test]
    fn refuses_empty_and_contentless_messages() {
        let classifier = Classifier::new(small_model(true));
        assert!(matches!(classifier.classify(" \t"), Err(TextError::Empty)));
        assert!(matches!(
            classifier.classify("😀！"),
            Err(TextError::NoContent)
        ));
    }
}
