//! Errors of the text crate, each naming the problem in a sentence a person understands.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// The message is empty or only whitespace after normalisation.
    #[error("the message is empty (nothing but whitespace)")]
    Empty,
    /// Nothing a classifier can read: no Chinese character, letter or digit (e.g. only emoji or punctuation).
    #[error("the message has no Chinese characters, letters or digits to classify (only symbols, emoji or punctuation)")]
    NoContent,
    /// The model file is not a onegrid classifier or is damaged.
    #[error("the model is not a usable onegrid classifier: {0}")]
    BadModel(String),
    /// The model was written by a newer (or unknown) format version.
    #[error("the model has format version {found}, this program reads version {supported}")]
    UnsupportedModelVersion { found: u32, supported: u32 },
    /// Training was asked with nothing to learn from.
    #[error("cannot train: {0}")]
    Training(String),
    /// A data file is not the expected TSV.
    #[error("{path}: {message}")]
    Data { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl TextError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> TextError {
        TextError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn data(path: impl Into<PathBuf>, message: impl Into<String>) -> TextError {
        TextError::Data {
            path: path.into(),
            message: message.into(),
        }
    }
}
