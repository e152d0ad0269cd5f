//! Classifying a message: normalise → features → scores → probabilities.

use std::cell::RefCell;
use std::path::Path;

use crate::error::TextError;
use crate::features::{vectorize, Scratch, SparseVector};
use crate::model::Model;
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
}

thread_local! {
    static BUFFERS: RefCell<(Scratch, SparseVector, Vec<f32>)> = RefCell::default();
}

impl Classifier {
    pub fn new(model: Model) -> Classifier {
        Classifier { model }
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
        let probabilities = self.probabilities(text)?;
        let mut order: Vec<usize> = (0..probabilities.len()).collect();
        order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
        let top: Vec<Scored> = order
            .iter()
            .take(3)
            .map(|&i| Scored {
                label: self.model.labels[i].clone(),
                probability: probabilities[i],
            })
            .collect();
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
        let probabilities = self.probabilities(text)?;
        probabilities
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .ok_or_else(|| TextError::BadModel("it has no labels".to_string()))
    }

    /// The probability of every label, in the order of [`Classifier::labels`].
    pub fn probabilities(&self, text: &str) -> Result<Vec<f32>, TextError> {
        let mut scores = self.scores(text)?;
        softmax(&mut scores, self.model.temperature);
        Ok(scores)
    }

    /// The raw linear score of every label.
    pub fn scores(&self, text: &str) -> Result<Vec<f32>, TextError> {
        let normalised = normalize(text);
        if normalised.is_empty() {
            return Err(TextError::Empty);
        }
        if !normalised.chars().any(is_content_char) {
            return Err(TextError::NoContent);
        }
        BUFFERS.with(|buffers| {
            let mut buffers = buffers.borrow_mut();
            let (scratch, vector, scores) = &mut *buffers;
            vectorize(
                &self.model.config,
                &normalised,
                self.model.idf.as_deref(),
                scratch,
                vector,
            );
            self.model.scores(&vector.indices, &vector.values, scores);
            Ok(scores.clone())
        })
    }
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
