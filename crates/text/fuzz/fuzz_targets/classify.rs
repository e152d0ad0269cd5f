//! normalise → tokenise → classify must never panic, whatever the bytes; a refusal is a typed error.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use onegrid_text::{Classifier, TextError};

fn classifier() -> &'static Classifier {
    static CLASSIFIER: OnceLock<Classifier> = OnceLock::new();
    CLASSIFIER.get_or_init(|| Classifier::default_model().expect("the shipped model loads"))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match classifier().classify(&text) {
        Ok(p) => {
            assert!(p.confidence.is_finite() && (0.0..=1.0).contains(&p.confidence));
            assert!(!p.top.is_empty() && p.top[0].label == p.label);
        }
        Err(TextError::Empty | TextError::NoContent) => {}
        Err(other) => panic!("unexpected error: {other}"),
    }
});
