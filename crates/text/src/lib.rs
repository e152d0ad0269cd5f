//! Chinese text for onegrid. Part 1: the report classifier (message → top-level label, confidence, top 3).
//!
//! Pipeline: [`normalize::normalize`] (width, traditional → simplified, case, whitespace) →
//! [`features`] (hashed character 1–3-grams and jieba words, tf-idf, L2) → a linear model per label
//! ([`train`], one-vs-rest SVMs) → softmax probabilities ([`Classifier::classify`]). The model is a versioned
//! file ([`model`]); the default one ships inside the binary ([`Classifier::default_model`]).
//!
//! Public-opinion (舆情) posts: [`Relevance`] judges whether a short post is about local governance, with a
//! second model trained the same way ([`relevance`]).

pub mod classifier;
pub mod corrections;
pub mod data;
pub mod duplicates;
pub mod error;
pub mod features;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod relevance;
pub mod severity;
pub mod train;
pub mod workreport;

pub use classifier::{Classifier, Prediction, Scored};
pub use duplicates::{
    signature, similarity, Candidate, DuplicateConfig, DuplicateIndex, Signature,
};
pub use error::TextError;
pub use features::FeatureConfig;
pub use metrics::{evaluate, Evaluation, LabelScore};
pub use relevance::{Judgement, Relevance};
pub use train::{cross_validate, cv_folds, train, Example, TrainOptions};
