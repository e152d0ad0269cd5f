//! Public-opinion relevance, measured. On `crates/text/data/opinion/relevance.tsv.gz`:
//!
//! 1. cross-validation on the `train` rows, random 5-fold and leave-one-negative-kind-out: precision/recall
//!    at a few thresholds (the trade-off) and the F2-best threshold of the latter (the test split is not
//!    looked at);
//! 2. a model trained on all `train` rows (`--save PATH` writes it, e.g. the shipped
//!    `crates/text/models/relevance.ogtc`), scored on the `test` split at `DEFAULT_THRESHOLD`: precision,
//!    recall, F1 and accuracy of the relevant class, overall, against negatives of kinds seen in training
//!    and of kinds never seen, and per source;
//! 3. the same figures for a keyword list (the baseline a user would write first);
//! 4. throughput: posts judged per second, one thread, best of `--passes` passes over the test split.
//!
//! `cargo run --release -p onegrid-text --example relevance_eval [-- [--data FILE] [--save PATH] [--passes N]
//! [--tune]]`; `--tune` first compares candidate training settings by cross-validation (training rows only).
//! The scikit-learn baseline on the same split: `python3 bench/text/relevance_anchor.py`.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use onegrid_text::relevance::{
    binary_score, choose_threshold, cross_validated_scores, default_data_path, kind_folds,
    random_folds, read_opinion_rows, train_options, train_relevance, OpinionRow, OpinionSplit,
    CV_SEED, DEFAULT_THRESHOLD,
};
use onegrid_text::{FeatureConfig, Relevance, TrainOptions};

/// Words a person would list to spot governance posts. Written before any figure on the test split was
/// seen, and not changed after.
const KEYWORDS: &[&str] = &[
    "政府",
    "街道",
    "社区",
    "居委会",
    "村委",
    "小区",
    "物业",
    "业主",
    "拆迁",
    "征地",
    "安置",
    "违建",
    "违章",
    "城管",
    "垃圾",
    "污水",
    "噪音",
    "扰民",
    "污染",
    "排放",
    "道路",
    "路灯",
    "修路",
    "公交",
    "停车",
    "红绿灯",
    "学校",
    "小学",
    "中学",
    "幼儿园",
    "教师",
    "社保",
    "医保",
    "养老",
    "退休",
    "低保",
    "补贴",
    "拖欠",
    "农民工",
    "卫生院",
    "疫苗",
    "户口",
    "派出所",
    "投诉",
    "举报",
    "反映",
    "咨询",
    "请问",
    "建议",
    "诉求",
    "领导",
    "部门",
    "乱收费",
    "安全隐患",
    "自来水",
    "停水",
    "停电",
    "供暖",
    "燃气",
    "棚户区",
    "公租房",
    "廉租房",
    "房产证",
    "扶贫",
];

struct Args {
    data: PathBuf,
    save: Option<PathBuf>,
    passes: usize,
    tune: bool,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut args = Args {
        data: default_data_path(),
        save: None,
        passes: 5,
        tune: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--data" => args.data = PathBuf::from(value()?),
            "--save" => args.save = Some(PathBuf::from(value()?)),
            "--passes" => args.passes = value()?.parse()?,
            "--tune" => args.tune = true,
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    Ok(args)
}

/// Prints overall, seen/unseen-kind and per-source figures of `predicted` on the test rows.
fn report(name: &str, test: &[&OpinionRow], predicted: &[Option<bool>], seen: &BTreeSet<&str>) {
    let line = |label: &str, keep: &dyn Fn(&OpinionRow) -> bool| {
        let (truth, pred): (Vec<bool>, Vec<Option<bool>>) = test
            .iter()
            .zip(predicted)
            .filter(|(r, _)| keep(r))
            .map(|(r, p)| (r.relevant, *p))
            .unzip();
        let s = binary_score(&truth, &pred);
        println!(
            "  {label:<34} n={:>5}  P={:.4}  R={:.4}  F1={:.4}  acc={:.4}  (fp {}, fn {})",
            s.n, s.precision, s.recall, s.f1, s.accuracy, s.false_positives, s.false_negatives
        );
    };
    println!("{name}:");
    line("all test rows", &|_| true);
    line("positives + seen-kind negatives", &|r| {
        r.relevant || seen.contains(r.source.as_str())
    });
    line("positives + unseen-kind negatives", &|r| {
        r.relevant || !seen.contains(r.source.as_str())
    });
    let mut by_source: BTreeMap<&str, (usize, usize, bool)> = BTreeMap::new();
    for (row, p) in test.iter().zip(predicted) {
        let entry = by_source
            .entry(row.source.as_str())
            .or_insert((0, 0, row.relevant));
        entry.0 += 1;
        entry.1 += usize::from(p.unwrap_or(false));
    }
    for (source, (n, kept, relevant)) in by_source {
        let kind = match (relevant, seen.contains(source)) {
            (true, _) => "positive: recall",
            (false, true) => "seen kind: kept (false positives)",
            (false, false) => "UNSEEN kind: kept (false positives)",
        };
        println!(
            "    {source:<24} n={n:>4}  kept {kept:>4} = {:.4}  [{kind}]",
            kept as f64 / n as f64
        );
    }
}

/// Prints precision/recall at a few thresholds of out-of-fold `scores` and returns the F2-best threshold.
fn trade_off(name: &str, truth: &[bool], scores: &[Option<f32>]) -> f32 {
    let chosen = choose_threshold(truth, scores);
    println!("  {name}: F2-best threshold {chosen:.2}");
    for threshold in [0.1f32, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, chosen] {
        let pred: Vec<Option<bool>> = scores.iter().map(|s| s.map(|s| s >= threshold)).collect();
        let s = binary_score(truth, &pred);
        println!(
            "    threshold {threshold:.2}: P={:.4} R={:.4} F1={:.4} F2={:.4} (fp {}, fn {})",
            s.precision, s.recall, s.f1, s.f2, s.false_positives, s.false_negatives
        );
    }
    chosen
}

/// Candidate settings, each scored by the F2 at its own best threshold under both cross-validations.
fn tune(
    train: &[OpinionRow],
    truth: &[bool],
    random: &[usize],
    by_kind: &[usize],
    kinds: usize,
) -> Result<(), Box<dyn Error>> {
    let base = TrainOptions::default();
    let f = base.features;
    let candidates: Vec<(&str, TrainOptions)> = vec![
        ("classifier defaults", base.clone()),
        (
            "C 0.5",
            TrainOptions {
                c: 0.5,
                ..base.clone()
            },
        ),
        (
            "C 0.1",
            TrainOptions {
                c: 0.1,
                ..base.clone()
            },
        ),
        (
            "C 8",
            TrainOptions {
                c: 8.0,
                ..base.clone()
            },
        ),
        (
            "no NB scaling",
            TrainOptions {
                nb_scaling: false,
                ..base.clone()
            },
        ),
        (
            "no NB scaling, C 0.5",
            TrainOptions {
                nb_scaling: false,
                c: 0.5,
                ..base.clone()
            },
        ),
        (
            "no idf",
            TrainOptions {
                idf: false,
                ..base.clone()
            },
        ),
        (
            "chars only",
            TrainOptions {
                features: FeatureConfig { words: false, ..f },
                ..base.clone()
            },
        ),
        (
            "chars 1-3",
            TrainOptions {
                features: FeatureConfig {
                    char_ngram_max: 3,
                    ..f
                },
                ..base.clone()
            },
        ),
        (
            "digits folded",
            TrainOptions {
                features: FeatureConfig {
                    fold_digits: true,
                    ..f
                },
                ..base.clone()
            },
        ),
    ];
    println!("\ntuning (F2 at each setting's own best threshold; training rows only):");
    for (name, options) in candidates {
        let mut line = format!("  {name:<22}");
        for (label, folds, n) in [("random", random, 5), ("by kind", by_kind, kinds)] {
            let scores = cross_validated_scores(train, &options, folds, n)?;
            let t = choose_threshold(truth, &scores);
            let pred: Vec<Option<bool>> = scores.iter().map(|s| s.map(|s| s >= t)).collect();
            let s = binary_score(truth, &pred);
            line.push_str(&format!(
                "  {label}: F2={:.4} P={:.4} R={:.4} @{t:.2}",
                s.f2, s.precision, s.recall
            ));
        }
        println!("{line}");
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    let rows = read_opinion_rows(&args.data)?;
    let train: Vec<OpinionRow> = rows
        .iter()
        .filter(|r| r.split == OpinionSplit::Train)
        .cloned()
        .collect();
    let test: Vec<&OpinionRow> = rows
        .iter()
        .filter(|r| r.split == OpinionSplit::Test)
        .collect();
    let seen: BTreeSet<&str> = train.iter().map(|r| r.source.as_str()).collect();
    let count = |rows: &mut dyn Iterator<Item = &OpinionRow>| {
        rows.fold(
            (0, 0),
            |(p, n), r| {
                if r.relevant {
                    (p + 1, n)
                } else {
                    (p, n + 1)
                }
            },
        )
    };
    println!("data: {}", args.data.display());
    println!(
        "  train: {:?} (relevant, other); test: {:?}",
        count(&mut train.iter()),
        count(&mut test.iter().copied())
    );
    println!(
        "  negative kinds in training: {}",
        seen.iter()
            .filter(|s| !s.starts_with("teddy-"))
            .copied()
            .collect::<Vec<_>>()
            .join(", ")
    );

    // 1. Threshold (and, with --tune, settings) by cross-validation on the training rows.
    let options = train_options();
    let truth: Vec<bool> = train.iter().map(|r| r.relevant).collect();
    let random = random_folds(&train, 5, CV_SEED);
    let (by_kind, kinds) = kind_folds(&train, CV_SEED);
    if args.tune {
        tune(&train, &truth, &random, &by_kind, kinds)?;
    }
    let started = Instant::now();
    let cv_random = cross_validated_scores(&train, &options, &random, 5)?;
    let cv_kind = cross_validated_scores(&train, &options, &by_kind, kinds)?;
    println!(
        "\n1. cross-validation on the training rows ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let _ = trade_off(
        "random 5-fold (every negative kind seen)",
        &truth,
        &cv_random,
    );
    let chosen = trade_off(
        &format!("leave one negative kind out ({kinds} folds)"),
        &truth,
        &cv_kind,
    );
    println!(
        "  chosen: {chosen:.2}, the F2-best threshold of leave-one-kind-out (DEFAULT_THRESHOLD = {DEFAULT_THRESHOLD:.2}{})",
        if (chosen - DEFAULT_THRESHOLD).abs() < 1e-6 {
            ""
        } else {
            "; DIFFERENT: update relevance.rs"
        }
    );

    // 2. The model on all training rows, scored once on the test split.
    let started = Instant::now();
    let classifier = train_relevance(&train, &options)?;
    println!(
        "\n2. model trained on {} rows in {:.1} s",
        train.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = &args.save {
        classifier.save(path)?;
        println!("  saved to {}", path.display());
    }
    match Relevance::default_model() {
        Ok(shipped) if shipped.classifier().to_bytes() == classifier.to_bytes() => {
            println!("  the shipped model is byte-identical to this one")
        }
        Ok(_) => println!("  NOTE: the shipped model differs from this one (rebuild with --save)"),
        Err(e) => println!("  NOTE: the shipped model does not load ({e}); rebuild with --save"),
    }
    let model = Relevance::new(classifier, DEFAULT_THRESHOLD)?;
    let predicted: Vec<Option<bool>> = test
        .iter()
        .map(|r| model.judge(&r.text).ok().map(|j| j.relevant))
        .collect();
    report(
        &format!("onegrid relevance, threshold {DEFAULT_THRESHOLD:.2}"),
        &test,
        &predicted,
        &seen,
    );
    let at_half: Vec<Option<bool>> = test
        .iter()
        .map(|r| model.score(&r.text).ok().map(|s| s >= 0.5))
        .collect();
    let truth_test: Vec<bool> = test.iter().map(|r| r.relevant).collect();
    let s = binary_score(&truth_test, &at_half);
    println!(
        "  (for comparison, threshold 0.50: P={:.4} R={:.4} F1={:.4} acc={:.4})",
        s.precision, s.recall, s.f1, s.accuracy
    );

    // 3. The keyword baseline.
    let keyword: Vec<Option<bool>> = test
        .iter()
        .map(|r| Some(KEYWORDS.iter().any(|k| r.text.contains(k))))
        .collect();
    println!();
    report(
        &format!("3. keyword list ({} words, any match)", KEYWORDS.len()),
        &test,
        &keyword,
        &seen,
    );

    // 4. Throughput, one thread.
    let mut best = f64::INFINITY;
    let mut kept = 0usize;
    for _ in 0..args.passes.max(1) {
        let started = Instant::now();
        kept = test
            .iter()
            .filter(|r| model.judge(&r.text).is_ok_and(|j| j.relevant))
            .count();
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!(
        "\n4. throughput: {} posts in {:.1} ms (best of {}), {:.0} posts/s on one thread ({kept} kept)",
        test.len(),
        best * 1e3,
        args.passes.max(1),
        test.len() as f64 / best
    );
    Ok(())
}
