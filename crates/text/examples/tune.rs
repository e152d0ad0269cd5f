//! Chooses the training settings by 5-fold cross-validation on the training rows only (never the test
//! split): prints the cross-validated macro-F1 of subjects and bodies for each candidate setting.
//!
//! `cargo run --release -p onegrid-text --example tune [-- DATA_DIR [NAME…]]`

use std::path::PathBuf;
use std::time::Instant;

use onegrid_text::data::{
    default_data_dir, read_labelled, training_examples, BODIES_FILE, SUBJECTS_FILE,
};
use onegrid_text::{cross_validate, evaluate, FeatureConfig, TrainOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(default_data_dir);
    let only: Vec<String> = args.collect();
    let files = [
        read_labelled(&dir.join(SUBJECTS_FILE))?,
        read_labelled(&dir.join(BODIES_FILE))?,
    ];
    let subjects = training_examples(&files[..1]);
    let bodies = training_examples(&files[1..]);
    let examples: Vec<_> = subjects.iter().chain(&bodies).cloned().collect();
    if let Some(out) = std::env::var_os("TUNE_FOLDS_OUT") {
        // The same folds for the scikit-learn anchor (bench/text/anchor.py --cv-folds FILE).
        let folds = onegrid_text::cv_folds(&examples, 5, 17);
        let mut text = String::from("fold\tkind\ttext\tlabel\n");
        for (i, (e, f)) in examples.iter().zip(&folds).enumerate() {
            let kind = if i < subjects.len() {
                "subjects"
            } else {
                "bodies"
            };
            text.push_str(&format!("{f}\t{kind}\t{}\t{}\n", e.text, e.label));
        }
        std::fs::write(out, text)?;
    }
    let base = TrainOptions::default();
    let f = base.features;
    let candidates: Vec<(&str, TrainOptions)> = vec![
        ("default", base.clone()),
        (
            "chars-only",
            TrainOptions {
                features: FeatureConfig { words: false, ..f },
                ..base.clone()
            },
        ),
        (
            "no-idf",
            TrainOptions {
                idf: false,
                ..base.clone()
            },
        ),
        (
            "word-bigrams",
            TrainOptions {
                features: FeatureConfig {
                    word_bigrams: true,
                    ..f
                },
                ..base.clone()
            },
        ),
        (
            "chars-1-4",
            TrainOptions {
                features: FeatureConfig {
                    char_ngram_max: 4,
                    ..f
                },
                ..base.clone()
            },
        ),
        (
            "chars-1-2",
            TrainOptions {
                features: FeatureConfig {
                    char_ngram_max: 2,
                    ..f
                },
                ..base.clone()
            },
        ),
        (
            "fold-digits",
            TrainOptions {
                features: FeatureConfig {
                    fold_digits: true,
                    ..f
                },
                ..base.clone()
            },
        ),
        (
            "hmm",
            TrainOptions {
                features: FeatureConfig { hmm: true, ..f },
                ..base.clone()
            },
        ),
        (
            "bits-20",
            TrainOptions {
                features: FeatureConfig { hash_bits: 20, ..f },
                ..base.clone()
            },
        ),
        (
            "bits-16",
            TrainOptions {
                features: FeatureConfig { hash_bits: 16, ..f },
                ..base.clone()
            },
        ),
        (
            "balanced",
            TrainOptions {
                balanced: true,
                ..base.clone()
            },
        ),
        (
            "c-0.1",
            TrainOptions {
                c: 0.1,
                ..base.clone()
            },
        ),
        (
            "c-0.25",
            TrainOptions {
                c: 0.25,
                ..base.clone()
            },
        ),
        (
            "c-1",
            TrainOptions {
                c: 1.0,
                ..base.clone()
            },
        ),
        (
            "c-2",
            TrainOptions {
                c: 2.0,
                ..base.clone()
            },
        ),
        (
            "nb",
            TrainOptions {
                nb_scaling: true,
                ..base.clone()
            },
        ),
        (
            "nb-c1",
            TrainOptions {
                nb_scaling: true,
                c: 1.0,
                ..base.clone()
            },
        ),
        (
            "nb-c0.25",
            TrainOptions {
                nb_scaling: true,
                c: 0.25,
                ..base.clone()
            },
        ),
        (
            "nb-c0.1",
            TrainOptions {
                nb_scaling: true,
                c: 0.1,
                ..base.clone()
            },
        ),
        (
            "c2-bal-12",
            TrainOptions {
                c: 2.0,
                balanced: true,
                features: FeatureConfig {
                    char_ngram_max: 2,
                    ..f
                },
                ..base.clone()
            },
        ),
        (
            "c1-bal-12",
            TrainOptions {
                c: 1.0,
                balanced: true,
                features: FeatureConfig {
                    char_ngram_max: 2,
                    ..f
                },
                ..base.clone()
            },
        ),
        (
            "c2-bal-12-b20",
            TrainOptions {
                c: 2.0,
                balanced: true,
                features: FeatureConfig {
                    char_ngram_max: 2,
                    hash_bits: 20,
                    ..f
                },
                ..base.clone()
            },
        ),
        (
            "c4-bal-12",
            TrainOptions {
                c: 4.0,
                balanced: true,
                features: FeatureConfig {
                    char_ngram_max: 2,
                    ..f
                },
                ..base.clone()
            },
        ),
        (
            "c2-bal-12-nb",
            TrainOptions {
                c: 2.0,
                balanced: true,
                nb_scaling: true,
                features: FeatureConfig {
                    char_ngram_max: 2,
                    ..f
                },
                ..base.clone()
            },
        ),
        (
            "c2-bal-12-hmm",
            TrainOptions {
                c: 2.0,
                balanced: true,
                features: FeatureConfig {
                    char_ngram_max: 2,
                    hmm: true,
                    ..f
                },
                ..base.clone()
            },
        ),
        (
            "c2-bal-12-wb",
            TrainOptions {
                c: 2.0,
                balanced: true,
                features: FeatureConfig {
                    char_ngram_max: 2,
                    word_bigrams: true,
                    ..f
                },
                ..base.clone()
            },
        ),
        (
            "c2-bal-12-noidf",
            TrainOptions {
                c: 2.0,
                balanced: true,
                idf: false,
                features: FeatureConfig {
                    char_ngram_max: 2,
                    ..f
                },
                ..base.clone()
            },
        ),
        (
            "c1-bal",
            TrainOptions {
                c: 1.0,
                balanced: true,
                ..base.clone()
            },
        ),
    ];
    println!(
        "{} subject rows, {} body rows (train + dev only); 5-fold CV, identical texts share a fold",
        subjects.len(),
        bodies.len()
    );
    for (name, options) in candidates {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        let started = Instant::now();
        let predicted = cross_validate(&examples, &options, 5, 17)?;
        let (ps, pb) = predicted.split_at(subjects.len());
        let truth_s: Vec<&str> = subjects.iter().map(|e| e.label.as_str()).collect();
        let truth_b: Vec<&str> = bodies.iter().map(|e| e.label.as_str()).collect();
        let es = evaluate(&truth_s, ps);
        let eb = evaluate(&truth_b, pb);
        println!(
            "{name:14} subjects macro-F1 {:.4} acc {:.4} | bodies macro-F1 {:.4} acc {:.4} | {:.1} s",
            es.macro_f1, es.accuracy, eb.macro_f1, eb.accuracy, started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
