//! Training: one-vs-rest linear SVMs (L2-regularised squared hinge loss, solved in the dual by coordinate
//! descent as LIBLINEAR does) over hashed features, with a softmax temperature fitted on held-out folds.
//!
//! Retraining is the way to learn from dispatcher corrections: add the corrected messages as examples
//! (optionally with a weight above 1) and train again; it takes seconds.

use std::collections::{BTreeSet, HashMap};

use crate::classifier::{softmax, Classifier};
use crate::error::TextError;
use crate::features::{buckets, vectorize, FeatureConfig, Scratch, SparseVector};
use crate::model::Model;
use crate::normalize::{is_content_char, normalize};

/// One labelled message.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    pub label: String,
    /// How much this example counts (1 for ordinary rows; a dispatcher's correction may count more).
    pub weight: f32,
}

impl Example {
    pub fn new(text: impl Into<String>, label: impl Into<String>) -> Example {
        Example {
            text: text.into(),
            label: label.into(),
            weight: 1.0,
        }
    }

    pub fn weighted(mut self, weight: f32) -> Example {
        self.weight = weight;
        self
    }
}

/// Training settings. The defaults are the ones chosen by cross-validation on the training rows
/// (`cargo run --release -p onegrid-text --example tune`; see docs/text.md).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    pub features: FeatureConfig,
    /// Weigh features by inverse document frequency.
    pub idf: bool,
    /// SVM cost: larger fits the training rows more closely.
    pub c: f32,
    /// Scale each label's cost by n / (labels × its count), so small labels weigh as much as large ones.
    pub balanced: bool,
    /// Upper bound on passes over the data per label.
    pub max_epochs: u32,
    /// Stop when the projected gradient's spread falls below this (LIBLINEAR's default is 0.1).
    pub tolerance: f32,
    /// Scale each label's features by their naive-Bayes log-count ratio before fitting its SVM (NB-SVM,
    /// Wang & Manning 2012); the ratio is folded into the stored weights, so classifying costs the same.
    pub nb_scaling: bool,
    /// Folds used to fit the probability temperature (0 or 1: keep a fixed temperature).
    pub calibration_folds: usize,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> TrainOptions {
        TrainOptions {
            features: FeatureConfig::default(),
            idf: true,
            c: 2.0,
            balanced: true,
            nb_scaling: true,
            max_epochs: 200,
            tolerance: 0.05,
            calibration_folds: 3,
            seed: 0x5eed,
        }
    }
}

/// Messages made ready for the solver.
struct Prepared {
    vectors: Vec<SparseVector>,
    targets: Vec<usize>,
    weights: Vec<f32>,
    idf: Option<Vec<f32>>,
}

fn sorted_labels(examples: &[Example]) -> Vec<String> {
    examples
        .iter()
        .map(|e| e.label.trim().to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn prepare(
    examples: &[Example],
    labels: &[String],
    options: &TrainOptions,
) -> Result<Prepared, TextError> {
    let config = &options.features;
    let index: HashMap<&str, usize> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i))
        .collect();
    let mut scratch = Scratch::default();
    let mut texts = Vec::with_capacity(examples.len());
    let mut targets = Vec::with_capacity(examples.len());
    let mut weights = Vec::with_capacity(examples.len());
    for example in examples {
        let normalised = normalize(&example.text);
        // Rows the classifier would refuse teach nothing.
        if !normalised.chars().any(is_content_char) {
            continue;
        }
        if !(example.weight.is_finite() && example.weight > 0.0) {
            return Err(TextError::Training(format!(
                "the example {:?} has weight {}, which is not a positive number",
                example.text, example.weight
            )));
        }
        let target = index
            .get(example.label.trim())
            .copied()
            .ok_or_else(|| TextError::Training(format!("unknown label {:?}", example.label)))?;
        texts.push(normalised);
        targets.push(target);
        weights.push(example.weight);
    }
    if texts.is_empty() {
        return Err(TextError::Training(
            "no example has text to learn from".to_string(),
        ));
    }
    let idf = if options.idf {
        // Smoothed idf as scikit-learn computes it: ln((1 + n) / (1 + df)) + 1.
        let mut df = vec![0u32; config.dims()];
        for text in &texts {
            buckets(config, text, &mut scratch);
            let mut list = scratch_buckets(&scratch);
            list.sort_unstable();
            list.dedup();
            for b in list {
                if let Some(d) = df.get_mut(b as usize) {
                    *d += 1;
                }
            }
        }
        let n = texts.len() as f32;
        Some(
            df.iter()
                .map(|&d| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0)
                .collect::<Vec<f32>>(),
        )
    } else {
        None
    };
    let vectors = texts
        .iter()
        .map(|text| {
            let mut v = SparseVector::default();
            vectorize(config, text, idf.as_deref(), &mut scratch, &mut v);
            v
        })
        .collect();
    Ok(Prepared {
        vectors,
        targets,
        weights,
        idf,
    })
}

fn scratch_buckets(scratch: &Scratch) -> Vec<u32> {
    scratch.buckets_slice().to_vec()
}

/// Trains a classifier on `examples` (at least two distinct labels).
pub fn train(examples: &[Example], options: &TrainOptions) -> Result<Classifier, TextError> {
    let labels = sorted_labels(examples);
    if labels.len() < 2 {
        return Err(TextError::Training(format!(
            "the examples have {} distinct label(s); a classifier needs at least two",
            labels.len()
        )));
    }
    if labels.iter().any(|l| l.is_empty()) {
        return Err(TextError::Training(
            "an example has an empty label".to_string(),
        ));
    }
    if !(options.c.is_finite() && options.c > 0.0) {
        return Err(TextError::Training(format!(
            "the cost c = {} is not a positive number",
            options.c
        )));
    }
    if !(crate::model::MIN_HASH_BITS..=crate::model::MAX_HASH_BITS)
        .contains(&options.features.hash_bits)
    {
        return Err(TextError::Training(format!(
            "hash_bits = {} is outside {}..={}",
            options.features.hash_bits,
            crate::model::MIN_HASH_BITS,
            crate::model::MAX_HASH_BITS
        )));
    }
    let data = prepare(examples, &labels, options)?;
    let all: Vec<usize> = (0..data.vectors.len()).collect();
    let (weights, bias) = fit(&data, &all, labels.len(), options);
    let temperature = calibrate(&data, labels.len(), options);
    Ok(Classifier::new(Model::quantise(
        options.features,
        labels,
        temperature,
        bias,
        &weights,
        data.idf,
    )))
}

/// One-vs-rest SVMs on the rows `rows` of `data`: per label, dense weights and a bias.
fn fit(
    data: &Prepared,
    rows: &[usize],
    n_labels: usize,
    options: &TrainOptions,
) -> (Vec<Vec<f32>>, Vec<f32>) {
    let mut counts = vec![0usize; n_labels];
    for &i in rows {
        counts[data.targets[i]] += 1;
    }
    let ratios: Vec<Option<Vec<f32>>> = (0..n_labels)
        .map(|label| {
            options
                .nb_scaling
                .then(|| log_count_ratio(data, rows, label, options.features.dims()))
        })
        .collect();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, n_labels);
    let mut results: Vec<(Vec<f32>, f32)> = Vec::with_capacity(n_labels);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let counts = &counts;
                let ratios = &ratios;
                scope.spawn(move || {
                    (t..n_labels)
                        .step_by(threads)
                        .map(|label| {
                            let cost = |i: usize| {
                                let class_weight = if options.balanced {
                                    rows.len() as f32
                                        / (n_labels as f32 * counts[data.targets[i]].max(1) as f32)
                                } else {
                                    1.0
                                };
                                options.c * data.weights[i] * class_weight
                            };
                            let ratio = ratios[label].as_deref();
                            let (mut w, b) = solve_binary(data, rows, label, ratio, &cost, options);
                            if let Some(r) = ratio {
                                w.iter_mut().zip(r).for_each(|(w, r)| *w *= r);
                            }
                            (label, (w, b))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut by_label: Vec<Option<(Vec<f32>, f32)>> = vec![None; n_labels];
        for handle in handles {
            // A panic in a solver thread is a bug in this module, not bad input; re-raise it.
            let done = match handle.join() {
                Ok(done) => done,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            for (label, result) in done {
                by_label[label] = Some(result);
            }
        }
        results = by_label
            .into_iter()
            .map(|r| r.unwrap_or_else(|| (vec![0.0; options.features.dims()], 0.0)))
            .collect();
    });
    results.into_iter().unzip()
}

/// Dual coordinate descent for the L2-regularised squared-hinge SVM of `label` against the rest
/// (Hsieh et al. 2008, LIBLINEAR solver 1), with a bias feature of value 1.
fn solve_binary(
    data: &Prepared,
    rows: &[usize],
    label: usize,
    ratio: Option<&[f32]>,
    cost: &dyn Fn(usize) -> f32,
    options: &TrainOptions,
) -> (Vec<f32>, f32) {
    let scaled = |j: u32, v: f32| match ratio {
        Some(r) => v * r[j as usize],
        None => v,
    };
    let mut w = vec![0.0f32; options.features.dims()];
    let mut b = 0.0f32;
    let mut alpha = vec![0.0f32; rows.len()];
    let diag: Vec<f32> = rows.iter().map(|&i| 0.5 / cost(i)).collect();
    let qd: Vec<f32> = rows
        .iter()
        .zip(&diag)
        .map(|(&i, d)| {
            let x = &data.vectors[i];
            x.indices
                .iter()
                .zip(&x.values)
                .map(|(&j, &v)| scaled(j, v).powi(2))
                .sum::<f32>()
                + 1.0
                + d
        })
        .collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut rng = XorShift::new(options.seed ^ (label as u64 + 1).wrapping_mul(0x9E37_79B9));
    for _ in 0..options.max_epochs {
        rng.shuffle(&mut order);
        let (mut pg_max, mut pg_min) = (f32::NEG_INFINITY, f32::INFINITY);
        for &k in &order {
            let x = &data.vectors[rows[k]];
            let y = if data.targets[rows[k]] == label {
                1.0
            } else {
                -1.0
            };
            let dot: f32 = x
                .indices
                .iter()
                .zip(&x.values)
                .map(|(&j, &v)| w[j as usize] * scaled(j, v))
                .sum::<f32>()
                + b;
            let g = y * dot - 1.0 + diag[k] * alpha[k];
            let pg = if alpha[k] == 0.0 { g.min(0.0) } else { g };
            pg_max = pg_max.max(pg);
            pg_min = pg_min.min(pg);
            if pg != 0.0 {
                let old = alpha[k];
                alpha[k] = (old - g / qd[k]).max(0.0);
                let d = (alpha[k] - old) * y;
                for (&j, &v) in x.indices.iter().zip(&x.values) {
                    w[j as usize] += d * scaled(j, v);
                }
                b += d;
            }
        }
        if pg_max - pg_min <= options.tolerance {
            break;
        }
    }
    (w, b)
}

/// The naive-Bayes log-count ratio of every bucket for `label` against the rest, over binarised features
/// with add-one smoothing.
fn log_count_ratio(data: &Prepared, rows: &[usize], label: usize, dims: usize) -> Vec<f32> {
    let mut p = vec![1.0f32; dims];
    let mut q = vec![1.0f32; dims];
    for &i in rows {
        let counts = if data.targets[i] == label {
            &mut p
        } else {
            &mut q
        };
        for &j in &data.vectors[i].indices {
            counts[j as usize] += 1.0;
        }
    }
    let p_sum: f32 = p.iter().sum();
    let q_sum: f32 = q.iter().sum();
    p.iter()
        .zip(&q)
        .map(|(a, b)| ((a / p_sum) / (b / q_sum)).ln())
        .collect()
}

/// Fits the softmax temperature that minimises the log-loss of out-of-fold scores.
fn calibrate(data: &Prepared, n_labels: usize, options: &TrainOptions) -> f32 {
    const FALLBACK: f32 = 5.0;
    let folds = options.calibration_folds;
    if folds < 2 || data.vectors.len() < folds * 2 {
        return FALLBACK;
    }
    let mut scored: Vec<(Vec<f32>, usize)> = Vec::with_capacity(data.vectors.len());
    for fold in 0..folds {
        let train_rows: Vec<usize> = (0..data.vectors.len())
            .filter(|i| i % folds != fold)
            .collect();
        let (weights, bias) = fit(data, &train_rows, n_labels, options);
        for i in (0..data.vectors.len()).filter(|i| i % folds == fold) {
            let x = &data.vectors[i];
            let scores = (0..n_labels)
                .map(|l| {
                    x.indices
                        .iter()
                        .zip(&x.values)
                        .map(|(&j, &v)| weights[l][j as usize] * v)
                        .sum::<f32>()
                        + bias[l]
                })
                .collect();
            scored.push((scores, data.targets[i]));
        }
    }
    let loss = |t: f32| -> f64 {
        scored
            .iter()
            .map(|(scores, target)| {
                let mut p = scores.clone();
                softmax(&mut p, t);
                -f64::from(p[*target].max(1e-12)).ln()
            })
            .sum()
    };
    // Golden-section search on ln(t) over t ∈ [0.1, 100].
    let (mut lo, mut hi) = (0.1f32.ln(), 100f32.ln());
    let phi = 0.618_034f32;
    for _ in 0..40 {
        let a = hi - phi * (hi - lo);
        let b = lo + phi * (hi - lo);
        if loss(a.exp()) < loss(b.exp()) {
            hi = b;
        } else {
            lo = a;
        }
    }
    ((lo + hi) / 2.0).exp()
}

/// A small deterministic generator (xorshift64*) for shuffling; no cryptographic use.
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> XorShift {
        XorShift(seed | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// The fold of each example in [`cross_validate`]: a hash of its normalised text, so duplicates share a fold.
pub fn cv_folds(examples: &[Example], folds: usize, seed: u64) -> Vec<usize> {
    examples
        .iter()
        .map(|e| {
            let mut h = seed ^ 0xcbf2_9ce4_8422_2325;
            for b in normalize(&e.text).bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3);
            }
            (XorShift::new(h).next() % folds.max(1) as u64) as usize
        })
        .collect()
}

/// Cross-validation for choosing settings: every example is predicted by a model trained without its fold.
/// Identical texts (after normalisation) share a fold, as the test split's dedup rule demands. Returns the
/// predicted label of each example (`None` when the classifier refuses its text).
pub fn cross_validate(
    examples: &[Example],
    options: &TrainOptions,
    folds: usize,
    seed: u64,
) -> Result<Vec<Option<String>>, TextError> {
    if folds < 2 {
        return Err(TextError::Training(
            "cross-validation needs at least two folds".to_string(),
        ));
    }
    let fold_of = cv_folds(examples, folds, seed);
    let options = TrainOptions {
        calibration_folds: 0,
        ..options.clone()
    };
    let mut predicted = vec![None; examples.len()];
    for fold in 0..folds {
        let train_set: Vec<Example> = examples
            .iter()
            .zip(&fold_of)
            .filter(|(_, &f)| f != fold)
            .map(|(e, _)| e.clone())
            .collect();
        let classifier = train(&train_set, &options)?;
        for (i, example) in examples.iter().enumerate() {
            if fold_of[i] == fold {
                predicted[i] = classifier
                    .classify_index(&example.text)
                    .ok()
                    .map(|(label, _)| classifier.labels()[label].clone());
            }
        }
    }
    Ok(predicted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_set() -> Vec<Example> {
        let mut examples = Vec::new();
        for place in ["东丽", "津门", "金桥", "华明", "新立"] {
            examples.push(Example::new(
                format!("{place}小区楼下烧烤噪音扰民"),
                "环境保护",
            ));
            examples.push(Example::new(format!("{place}工厂排放废气污染"), "环境保护"));
            examples.push(Example::new(
                format!("{place}小学课程安排不合理"),
                "教育文体",
            ));
            examples.push(Example::new(format!("{place}中学乱收补课费"), "教育文体"));
        }
        examples
    }

    #[test]
    fn learns_a_small_set() {
        let classifier = train(&small_set(), &TrainOptions::default()).unwrap();
        assert_eq!(classifier.labels(), ["教育文体", "环境保护"]);
        let p = classifier.classify("华新街道工厂废气污染严重").unwrap();
        assert_eq!(p.label, "环境保护");
        let p = classifier.classify("小学补课收费").unwrap();
        assert_eq!(p.label, "教育文体");
        assert!(p.confidence > 0.5 && p.confidence <= 1.0);
    }

    #[test]
    fn refuses_to_train_without_two_labels() {
        let one = vec![Example::new("噪音", "环境保护")];
        assert!(matches!(
            train(&one, &TrainOptions::default()),
            Err(TextError::Training(_))
        ));
        let bad_weight = vec![
            Example::new("噪音", "环境保护").weighted(f32::NAN),
            Example::new("学校", "教育文体"),
        ];
        assert!(matches!(
            train(&bad_weight, &TrainOptions::default()),
            Err(TextError::Training(_))
        ));
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut items: Vec<u32> = (0..100).collect();
        XorShift::new(7).shuffle(&mut items);
        let mut sorted = items.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_ne!(items, sorted);
    }
}
