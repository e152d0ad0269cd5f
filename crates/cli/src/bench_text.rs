//! `onegrid bench text`: the text features measured on the real data, beside the scikit-learn reference a
//! user would otherwise build, in one run and one table (bench/text/README.md says what each figure means).
//!
//! - Classification: the shipped model (or `--model`) and `bench/text/anchor.py` (TF-IDF char 1–3-grams +
//!   LinearSVC, same training rows, same test rows): accuracy, macro-F1 and per-label F1 on the subjects and
//!   bodies test splits, and messages/s over all subjects.
//! - Duplicates: precision/recall on the labelled pairs at the shipped `propose_at` and `merge_at`, beside
//!   TF-IDF char-n-gram cosine (`bench/text/duplicates_anchor.py`) at its thresholds of the same recall and
//!   the same precision; and reports/s through the duplicate check (signature + candidates + insert) with
//!   `--open-cases` open, beside the same check built from scikit-learn's TF-IDF and BallTree, on the same
//!   open cases and the same new reports (written to a file the script reads).
//!
//! One core: the measuring thread pins itself with `taskset -p` (a thread id, so only this thread), and the
//! Python children run under `taskset -c`; without taskset both run unpinned and the header says so. Every
//! throughput is the best of `--passes` passes. The run fails when the two sides did not answer the same
//! question (different test rows, labels, pairs, open cases or reports) or a planted duplicate is missed.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use onegrid_text::data::{read_labelled, test_sets, training_examples, BODIES_FILE, SUBJECTS_FILE};
use onegrid_text::duplicates::{read_labelled_pairs, Confusion, LabelledPair};
use onegrid_text::{
    evaluate, signature, similarity, Classifier, DuplicateConfig, DuplicateIndex, Signature,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The district of the duplicate-check measurement: a 22.4 km square (≈ 500 km²) centred on Dongli (lon
/// 117.3, lat 39.1), as in `crates/text/examples/duplicates_eval.rs`.
const WEST: f64 = 117.3 - 0.1296;
const EAST: f64 = 117.3 + 0.1296;
const SOUTH: f64 = 39.1 - 0.1007;
const NORTH: f64 = 39.1 + 0.1007;
/// "Now" for the new reports; open cases are spread over the 72 h before it.
const NOW: i64 = 1_767_225_600;
/// Candidates asked for per report (intake asks for 5; the example for 10).
const LIMIT: usize = 10;

#[derive(clap::Args)]
pub struct TextBenchArgs {
    /// The teddy-cup-2020-c folder (default: crates/text/data/teddy-cup-2020-c under the repository root).
    #[arg(long, env = "ONEGRID_TEXT_DATA")]
    data_dir: Option<PathBuf>,
    /// The labelled duplicate pairs (default: crates/text/data/duplicate-pairs under the repository root).
    #[arg(long, env = "ONEGRID_DUPLICATE_PAIRS")]
    pairs_dir: Option<PathBuf>,
    /// A classifier model file (default: the model shipped in the binary).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Timed passes of each throughput measurement, on both sides; the best is reported.
    #[arg(long, default_value_t = 3)]
    passes: usize,
    /// Open cases in the duplicate index while new reports are checked.
    #[arg(long, default_value_t = 50_000)]
    open_cases: usize,
    /// New reports checked per pass (at most half the open cases; half of them repeat an open case nearby).
    #[arg(long, default_value_t = 5_000)]
    reports: usize,
    /// Seed of the open cases and reports.
    #[arg(long, default_value_t = 6)]
    seed: u64,
    /// The core both sides are pinned to.
    #[arg(long, default_value_t = 0)]
    core: usize,
    /// The Python interpreter for the scikit-learn side.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Fail when the scikit-learn side cannot run (by default it is skipped with the reason).
    #[arg(long, conflicts_with = "no_anchor")]
    require_anchor: bool,
    /// Measure onegrid only.
    #[arg(long)]
    no_anchor: bool,
}

pub fn run(args: TextBenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.passes > 0, "--passes must be at least 1");
    anyhow::ensure!(args.open_cases >= 2, "--open-cases must be at least 2");
    anyhow::ensure!(args.reports > 0, "--reports must be at least 1");
    // A thread of its own, so that pinning it leaves the caller's runtime threads alone.
    std::thread::scope(|scope| {
        scope
            .spawn(|| bench(&args))
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the benchmark thread panicked")))
    })
}

// ---------------------------------------------------------------------------------------------------
// Figures of one side

/// Scores on one test set, as both sides report them.
#[derive(Debug, Deserialize)]
struct SetScore {
    n: usize,
    dropped: usize,
    accuracy: f64,
    macro_f1: f64,
    per_label: BTreeMap<String, f64>,
}

/// `anchor.py --json`.
#[derive(Debug, Deserialize)]
struct AnchorReport {
    trained_rows: usize,
    sets: BTreeMap<String, SetScore>,
    throughput: AnchorThroughput,
}

#[derive(Debug, Deserialize)]
struct AnchorThroughput {
    subjects_per_s: f64,
    subjects: usize,
}

/// What `duplicates_anchor.py` reads: the same data the Rust side is measured on.
#[derive(Serialize)]
struct DuplicateInput<'a> {
    train_texts: Vec<&'a str>,
    pairs: Vec<(&'a str, &'a str, bool)>,
    target_recall: f64,
    texts: &'a [String],
    open: Columns,
    reports: Columns,
    radius_m: f64,
    window_hours: f64,
    limit: usize,
    passes: usize,
}

#[derive(Serialize, Default)]
struct Columns {
    text: Vec<usize>,
    lon: Vec<f64>,
    lat: Vec<f64>,
    at: Vec<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    planted: Vec<i64>,
}

/// What `duplicates_anchor.py` prints.
#[derive(Debug, Deserialize)]
struct DuplicateReport {
    vectorizer: String,
    pairs_scored: usize,
    scores: Vec<f64>,
    threshold: f64,
    open: usize,
    reports: usize,
    reports_per_s: f64,
    planted: usize,
    planted_found: usize,
    mean_candidates: f64,
    /// The share of the best pass spent vectorising the reports.
    vectorise_share: f64,
}

/// onegrid's scores on one test set, in the order of the files (subjects, then bodies).
struct OurSet {
    name: String,
    score: SetScore,
    /// Test rows per true label.
    support: BTreeMap<String, usize>,
}

/// onegrid's duplicate figures.
struct DuplicateSide {
    propose: Confusion,
    merge: Confusion,
    reports_per_s: f64,
    planted: usize,
    planted_found: usize,
    mean_candidates: f64,
}

/// Precision and recall of the reference at one threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Operating {
    threshold: f64,
    precision: f64,
    recall: f64,
}

// ---------------------------------------------------------------------------------------------------
// The run

fn bench(args: &TextBenchArgs) -> anyhow::Result<ExitCode> {
    let root = repo_root();
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => root.join("crates/text/data/teddy-cup-2020-c"),
    };
    let pairs_dir = match &args.pairs_dir {
        Some(dir) => dir.clone(),
        None => root.join("crates/text/data/duplicate-pairs"),
    };
    let pinned = pin_current_thread(args.core);
    let anchor_state = if args.no_anchor {
        Err("--no-anchor".to_string())
    } else {
        python_ready(&args.python)
    };
    if let (Err(reason), true) = (&anchor_state, args.require_anchor) {
        anyhow::bail!(
            "the scikit-learn anchor cannot run ({reason}) and --require-anchor was given"
        );
    }
    let mut failures: Vec<String> = Vec::new();

    // Classification, onegrid.
    let files = [SUBJECTS_FILE, BODIES_FILE]
        .iter()
        .map(|name| read_labelled(&data_dir.join(name)))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("cannot read the labelled data in {}", data_dir.display()))?;
    let classifier = match &args.model {
        Some(path) => Classifier::load(path).context("cannot load the classifier model")?,
        None => Classifier::default_model().context("the built-in classifier model is unusable")?,
    };
    let mut ours: Vec<OurSet> = Vec::new();
    for set in test_sets(&files) {
        let truth: Vec<&str> = set.examples.iter().map(|e| e.label.as_str()).collect();
        let predicted: Vec<Option<&str>> = set
            .examples
            .iter()
            .map(|e| {
                classifier
                    .classify_index(&e.text)
                    .ok()
                    .and_then(|(i, _)| classifier.labels().get(i).map(String::as_str))
            })
            .collect();
        let e = evaluate(&truth, &predicted);
        if e.n == 0 {
            failures.push(format!("the {} test split is empty", set.name));
        }
        let support = e
            .per_label
            .iter()
            .map(|s| (s.label.clone(), s.support))
            .collect();
        let score = SetScore {
            n: e.n,
            dropped: set.dropped,
            accuracy: e.accuracy,
            macro_f1: e.macro_f1,
            per_label: e.per_label.into_iter().map(|s| (s.label, s.f1)).collect(),
        };
        ours.push(OurSet {
            name: set.name,
            score,
            support,
        });
    }
    let subjects: Vec<&str> = files[0].rows.iter().map(|r| r.text.as_str()).collect();
    let mut classified_rate = 0.0f64;
    for _ in 0..args.passes {
        let started = Instant::now();
        let classified = subjects
            .iter()
            .filter(|text| classifier.classify(text).is_ok())
            .count();
        classified_rate = classified_rate.max(per_second(subjects.len(), started.elapsed()));
        if classified != subjects.len() {
            failures.push(format!(
                "onegrid refused {} of {} subjects in the throughput pass",
                subjects.len() - classified,
                subjects.len()
            ));
            break;
        }
    }

    // Duplicates, onegrid: the labelled pairs.
    let pairs = read_labelled_pairs(&pairs_dir).with_context(|| {
        format!(
            "cannot read the labelled duplicate pairs in {}",
            pairs_dir.display()
        )
    })?;
    anyhow::ensure!(
        !pairs.is_empty(),
        "{} has no labelled pairs",
        pairs_dir.display()
    );
    let config = DuplicateConfig::default();
    let pair_scores: Vec<(f32, bool)> = pairs
        .iter()
        .map(|p| {
            (
                similarity(&signature(&p.text_a), &signature(&p.text_b)),
                p.duplicate,
            )
        })
        .collect();
    let propose = Confusion::at(&pair_scores, config.propose_at);
    let merge = Confusion::at(&pair_scores, config.merge_at);

    // Duplicates, onegrid: the check at intake, with the open cases and reports both sides get.
    let mut texts: Vec<String> = files[1].rows.iter().map(|r| r.text.clone()).collect();
    texts.extend(distinct_messages(&pairs));
    anyhow::ensure!(
        !texts.is_empty(),
        "no message texts for the duplicate check"
    );
    let reports_per_pass = args.reports.min(args.open_cases / 2);
    let workload = Workload::generate(args.seed, texts.len(), args.open_cases, reports_per_pass);
    let duplicate_side = duplicate_throughput(&texts, &workload, config, args.passes);
    let ours_dup = DuplicateSide {
        propose,
        merge,
        ..duplicate_side
    };
    if ours_dup.planted_found != ours_dup.planted {
        failures.push(format!(
            "onegrid found {} of the {} planted duplicates",
            ours_dup.planted_found, ours_dup.planted
        ));
    }

    // The scikit-learn side.
    let pin_child = pinned.is_ok().then_some(args.core);
    let (anchor, dup_anchor) = match &anchor_state {
        Ok(_) => {
            let anchor_script = root.join("bench/text/anchor.py");
            let mut command = python(&args.python, pin_child, &anchor_script);
            command
                .arg("--json")
                .arg("--data-dir")
                .arg(&data_dir)
                .arg("--repeat")
                .arg(args.passes.to_string());
            let anchor: AnchorReport = run_json(command, "bench/text/anchor.py")?;

            // The reference's idf is learnt from the rows onegrid's idf was learnt from.
            let training = training_examples(&files);
            let input = DuplicateInput {
                train_texts: training.iter().map(|e| e.text.as_str()).collect(),
                pairs: pairs
                    .iter()
                    .map(|p| (p.text_a.as_str(), p.text_b.as_str(), p.duplicate))
                    .collect(),
                target_recall: propose.recall(),
                texts: &texts,
                open: workload.open_columns(),
                reports: workload.report_columns(),
                radius_m: config.radius_m,
                window_hours: config.window_hours,
                limit: LIMIT,
                passes: args.passes,
            };
            let mut file = tempfile::Builder::new()
                .prefix("onegrid-bench-text-")
                .suffix(".json")
                .tempfile()
                .context("cannot create a temporary file for the duplicate anchor")?;
            serde_json::to_writer(std::io::BufWriter::new(file.as_file_mut()), &input)
                .context("cannot write the duplicate anchor's input")?;
            let script = root.join("bench/text/duplicates_anchor.py");
            let mut command = python(&args.python, pin_child, &script);
            command.arg("--input").arg(file.path());
            let dup: DuplicateReport = run_json(command, "bench/text/duplicates_anchor.py")?;
            (Some(anchor), Some(dup))
        }
        Err(_) => (None, None),
    };

    // Same questions on both sides?
    if let Some(anchor) = &anchor {
        check_classification(&ours, anchor, subjects.len(), &mut failures);
    }
    let dup_operating = match &dup_anchor {
        Some(dup) => check_duplicates(dup, &pairs, &ours_dup, &workload, &mut failures),
        None => None,
    };

    // The table.
    let command_line = std::env::args()
        .enumerate()
        .map(|(i, a)| if i == 0 { "onegrid".to_string() } else { a })
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = std::io::stdout().lock();
    writeln!(out, "onegrid bench text — reproduce with: {command_line}")?;
    writeln!(
        out,
        "data: {} (subjects, bodies), {} labelled pairs from {}",
        data_dir.display(),
        pairs.len(),
        pairs_dir.display()
    )?;
    writeln!(
        out,
        "model: {}; {}; throughput best of {} passes",
        args.model
            .as_ref()
            .map_or("shipped".to_string(), |p| p.display().to_string()),
        match &pinned {
            Ok(core) => format!("one core: this thread and the Python children pinned to core {core}"),
            Err(reason) => format!("NOT pinned ({reason}): this thread and the children run wherever the scheduler puts them"),
        },
        args.passes
    )?;
    match (&anchor_state, &anchor) {
        (Ok(version), Some(anchor)) => writeln!(
            out,
            "scikit-learn {version}: anchor trained on {} rows; duplicate reference {}",
            anchor.trained_rows,
            dup_anchor.as_ref().map_or("", |d| d.vectorizer.as_str())
        )?,
        (Err(reason), _) => writeln!(out, "scikit-learn anchor SKIPPED: {reason}")?,
        _ => {}
    }
    writeln!(out)?;
    let table = Table {
        ours: &ours,
        anchor: anchor.as_ref(),
        classified_rate,
        subjects: subjects.len(),
        dup: &ours_dup,
        dup_anchor: dup_anchor.as_ref(),
        dup_operating,
        config,
        open_cases: args.open_cases,
        reports: reports_per_pass,
    };
    table.print(&mut out)?;
    writeln!(out)?;
    writeln!(
        out,
        "notes: the scikit-learn duplicate thresholds are chosen on the same pairs to match onegrid's recall at \
         propose_at and precision at merge_at (in its favour); a duplicate-check pass is signature/vectorising + \
         candidates within {:.0} m and {:.0} h + the report becoming an open case as the oldest closes{}. \
         bench/text/README.md explains each figure.",
        config.radius_m,
        config.window_hours,
        dup_anchor.as_ref().map_or(String::new(), |d| format!(
            "; scikit-learn spent {:.0} % of its best pass vectorising",
            d.vectorise_share * 100.0
        ))
    )?;
    if failures.is_empty() {
        writeln!(
            out,
            "checked: {}",
            if anchor.is_some() {
                "both sides scored the same test rows, labels, subjects and pairs, on the same open cases and reports; every planted duplicate found"
            } else {
                "every planted duplicate found (anchor skipped: nothing compared)"
            }
        )?;
        Ok(ExitCode::SUCCESS)
    } else {
        for failure in &failures {
            writeln!(out, "FAILED: {failure}")?;
        }
        Ok(ExitCode::from(1))
    }
}

/// The repository root: the nearest folder above the working directory that has `bench/text/anchor.py`,
/// else the checkout this binary was built from.
fn repo_root() -> PathBuf {
    let marker = Path::new("bench/text/anchor.py");
    if let Ok(mut dir) = std::env::current_dir() {
        loop {
            if dir.join(marker).is_file() {
                return dir;
            }
            if !dir.pop() {
                break;
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The distinct messages of the pairs, by id (each once).
fn distinct_messages(pairs: &[LabelledPair]) -> Vec<String> {
    let mut seen: HashMap<u64, &str> = HashMap::new();
    for p in pairs {
        seen.entry(p.id_a).or_insert(&p.text_a);
        seen.entry(p.id_b).or_insert(&p.text_b);
    }
    let mut list: Vec<(u64, &str)> = seen.into_iter().collect();
    list.sort_unstable();
    list.into_iter().map(|(_, t)| t.to_string()).collect()
}

fn per_second(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64().max(1e-9)
}

// ---------------------------------------------------------------------------------------------------
// Pinning and the Python children

/// Pins the calling thread to `core` with `taskset -p` on its thread id (Linux), so that only the measuring
/// thread moves. `Err` says why not.
fn pin_current_thread(core: usize) -> Result<usize, String> {
    let link = std::fs::read_link("/proc/thread-self")
        .map_err(|e| format!("no /proc/thread-self: {e}"))?;
    let tid = link
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("cannot read this thread's id")?
        .to_string();
    let status = Command::new("taskset")
        .args(["-p", "-c", &core.to_string(), &tid])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("taskset: {e}"))?;
    if status.status.success() {
        Ok(core)
    } else {
        Err(format!(
            "taskset failed: {}",
            String::from_utf8_lossy(&status.stderr).trim()
        ))
    }
}

/// Whether the interpreter has scikit-learn (and numpy, scipy): `Ok(version)` or why not.
fn python_ready(python: &str) -> Result<String, String> {
    let output = Command::new(python)
        .args([
            "-c",
            "import numpy, scipy, sklearn; print(sklearn.__version__)",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(format!(
            "{python} cannot import scikit-learn ({}); `pip install scikit-learn` or run bench/text/run",
            stderr.lines().last().unwrap_or("no message").trim()
        ))
    }
}

fn python(interpreter: &str, core: Option<usize>, script: &Path) -> Command {
    let mut command = match core {
        Some(core) => {
            let mut c = Command::new("taskset");
            c.args(["-c", &core.to_string(), interpreter]);
            c
        }
        None => Command::new(interpreter),
    };
    command.arg(script).stdin(Stdio::null());
    command
}

/// Runs a child that prints one JSON object on stdout; its stderr (progress) is shown only if it fails.
fn run_json<T: serde::de::DeserializeOwned>(mut command: Command, name: &str) -> anyhow::Result<T> {
    let output = command
        .output()
        .with_context(|| format!("cannot run {name}"))?;
    anyhow::ensure!(
        output.status.success(),
        "{name} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim_end()
    );
    serde_json::from_slice(&output.stdout)
        .with_context(|| format!("{name} did not print the JSON expected"))
}

// ---------------------------------------------------------------------------------------------------
// The duplicate-check workload

struct Case {
    text: usize,
    point: (f64, f64),
    at: i64,
}

/// Open cases, oldest first, and new reports; the same for both sides.
struct Workload {
    open: Vec<Case>,
    reports: Vec<Case>,
    /// Per report: the open case it repeats nearby (a duplicate both sides must find).
    planted: Vec<Option<usize>>,
}

impl Workload {
    fn generate(seed: u64, texts: usize, open_cases: usize, reports: usize) -> Workload {
        let mut rng = StdRng::seed_from_u64(seed);
        let random_point =
            |rng: &mut StdRng| (rng.gen_range(WEST..EAST), rng.gen_range(SOUTH..NORTH));
        let mut open: Vec<Case> = (0..open_cases)
            .map(|_| Case {
                text: rng.gen_range(0..texts),
                point: random_point(&mut rng),
                at: NOW - rng.gen_range(0..72 * 3_600),
            })
            .collect();
        // Oldest first: report i closes open case i, the oldest still open.
        open.sort_by_key(|c| c.at);
        let mut planted = Vec::with_capacity(reports);
        let reports = (0..reports)
            .map(|i| {
                if i % 2 == 0 {
                    // A case that stays open during the pass (only the first `reports` close), repeated
                    // within ~240 m, inside the 300 m radius.
                    let j = rng.gen_range(reports..open_cases);
                    let of = &open[j];
                    planted.push(Some(j));
                    Case {
                        text: of.text,
                        point: (
                            of.point.0 + rng.gen_range(-0.002..0.002),
                            of.point.1 + rng.gen_range(-0.0015..0.0015),
                        ),
                        at: NOW,
                    }
                } else {
                    planted.push(None);
                    Case {
                        text: rng.gen_range(0..texts),
                        point: random_point(&mut rng),
                        at: NOW,
                    }
                }
            })
            .collect();
        Workload {
            open,
            reports,
            planted,
        }
    }

    fn columns(cases: &[Case]) -> Columns {
        Columns {
            text: cases.iter().map(|c| c.text).collect(),
            lon: cases.iter().map(|c| c.point.0).collect(),
            lat: cases.iter().map(|c| c.point.1).collect(),
            at: cases.iter().map(|c| c.at).collect(),
            planted: Vec::new(),
        }
    }

    fn open_columns(&self) -> Columns {
        Workload::columns(&self.open)
    }

    fn report_columns(&self) -> Columns {
        Columns {
            planted: self
                .planted
                .iter()
                .map(|p| p.map_or(-1, |j| j as i64))
                .collect(),
            ..Workload::columns(&self.reports)
        }
    }
}

/// The grid cell stand-in intake would pass as the area: a 500 m square.
fn area_of((lon, lat): (f64, f64)) -> String {
    format!(
        "{}-{}",
        ((lon - WEST) / 0.0058).floor() as i64,
        ((lat - SOUTH) / 0.0045).floor() as i64
    )
}

/// Reports/s through signature + candidates + insert (the oldest case closing for each, so the number
/// open stays the same), on this thread; the index is restored between passes, untimed.
fn duplicate_throughput(
    texts: &[String],
    workload: &Workload,
    config: DuplicateConfig,
    passes: usize,
) -> DuplicateSide {
    let signatures: Vec<Signature> = texts.iter().map(|t| signature(t)).collect();
    let n_open = workload.open.len();
    let mut index = DuplicateIndex::new(config);
    for (id, case) in workload.open.iter().enumerate() {
        index.insert(
            id as u64,
            Some(case.point),
            Some(&area_of(case.point)),
            case.at,
            signatures[case.text].clone(),
        );
    }
    let areas: Vec<String> = workload.reports.iter().map(|r| area_of(r.point)).collect();
    let (mut best, mut planted_found, mut returned) = (0.0f64, 0, 0);
    for _ in 0..passes {
        let (mut found, mut listed) = (0, 0);
        let started = Instant::now();
        for (i, report) in workload.reports.iter().enumerate() {
            let s = signature(&texts[report.text]);
            let candidates =
                index.candidates(Some(report.point), Some(&areas[i]), report.at, &s, LIMIT);
            listed += candidates.len();
            if let Some(j) = workload.planted[i] {
                found += usize::from(candidates.iter().any(|c| c.id == j as u64));
            }
            index.remove(i as u64);
            index.insert(
                (n_open + i) as u64,
                Some(report.point),
                Some(&areas[i]),
                report.at,
                s,
            );
        }
        best = best.max(per_second(workload.reports.len(), started.elapsed()));
        (planted_found, returned) = (found, listed);
        for (i, case) in workload
            .open
            .iter()
            .enumerate()
            .take(workload.reports.len())
        {
            index.remove((n_open + i) as u64);
            index.insert(
                i as u64,
                Some(case.point),
                Some(&area_of(case.point)),
                case.at,
                signatures[case.text].clone(),
            );
        }
    }
    DuplicateSide {
        propose: Confusion::default(),
        merge: Confusion::default(),
        reports_per_s: best,
        planted: workload.planted.iter().flatten().count(),
        planted_found,
        mean_candidates: returned as f64 / workload.reports.len().max(1) as f64,
    }
}

// ---------------------------------------------------------------------------------------------------
// Checks

fn check_classification(
    ours: &[OurSet],
    anchor: &AnchorReport,
    subjects: usize,
    failures: &mut Vec<String>,
) {
    let mut our_names: Vec<&str> = ours.iter().map(|s| s.name.as_str()).collect();
    our_names.sort_unstable();
    if our_names != keys(&anchor.sets) {
        failures.push(format!(
            "test sets differ: onegrid {our_names:?}, anchor {:?}",
            keys(&anchor.sets)
        ));
    }
    for OurSet { name, score, .. } in ours {
        let Some(theirs) = anchor.sets.get(name) else {
            continue;
        };
        if (score.n, score.dropped) != (theirs.n, theirs.dropped) {
            failures.push(format!(
                "{name}: onegrid scored {} test rows ({} dropped), the anchor {} ({} dropped)",
                score.n, score.dropped, theirs.n, theirs.dropped
            ));
        }
        if keys(&score.per_label) != keys(&theirs.per_label) {
            failures.push(format!(
                "{name}: the labels differ: onegrid {:?}, anchor {:?}",
                keys(&score.per_label),
                keys(&theirs.per_label)
            ));
        }
    }
    if anchor.throughput.subjects != subjects {
        failures.push(format!(
            "throughput: onegrid classified {subjects} subjects per pass, the anchor {}",
            anchor.throughput.subjects
        ));
    }
}

fn keys<V>(map: &BTreeMap<String, V>) -> Vec<&str> {
    map.keys().map(String::as_str).collect()
}

/// Checks the duplicate reference answered the same question, and returns its operating points: the
/// threshold of the same recall as onegrid's `propose_at`, and of the same precision as its `merge_at`.
fn check_duplicates(
    dup: &DuplicateReport,
    pairs: &[LabelledPair],
    ours: &DuplicateSide,
    workload: &Workload,
    failures: &mut Vec<String>,
) -> Option<(Operating, Operating)> {
    if dup.pairs_scored != pairs.len() || dup.scores.len() != pairs.len() {
        failures.push(format!(
            "duplicate pairs: onegrid scored {}, the reference {}",
            pairs.len(),
            dup.scores.len()
        ));
        return None;
    }
    if (dup.open, dup.reports) != (workload.open.len(), workload.reports.len()) {
        failures.push(format!(
            "duplicate check: onegrid had {} open cases and {} reports, the reference {} and {}",
            workload.open.len(),
            workload.reports.len(),
            dup.open,
            dup.reports
        ));
    }
    if dup.planted_found != dup.planted || dup.planted != ours.planted {
        failures.push(format!(
            "the reference found {} of the {} planted duplicates (onegrid planted {})",
            dup.planted_found, dup.planted, ours.planted
        ));
    }
    let scored: Vec<(f64, bool)> = dup
        .scores
        .iter()
        .zip(pairs)
        .map(|(&s, p)| (s, p.duplicate))
        .collect();
    let same_recall = highest_with_recall(&scored, ours.propose.recall());
    // The script chose its check's threshold by the same rule; a different one means different pairs.
    if (same_recall.threshold - dup.threshold).abs() > 1e-9 {
        failures.push(format!(
            "the reference's threshold {:.6} is not the one its scores give ({:.6})",
            dup.threshold, same_recall.threshold
        ));
    }
    let same_precision = lowest_with_precision(&scored, ours.merge.precision());
    Some((same_recall, same_precision))
}

fn operating(scored: &[(f64, bool)], threshold: f64) -> Operating {
    let counts = Confusion::at(scored, threshold);
    Operating {
        threshold,
        precision: counts.precision(),
        recall: counts.recall(),
    }
}

/// The highest threshold (among the scores) with recall at least `recall`.
fn highest_with_recall(scored: &[(f64, bool)], recall: f64) -> Operating {
    let mut candidates: Vec<f64> = scored.iter().map(|s| s.0).collect();
    candidates.sort_by(|a, b| b.total_cmp(a));
    candidates
        .into_iter()
        .map(|t| operating(scored, t))
        .find(|o| o.recall >= recall - 1e-12)
        .unwrap_or_else(|| operating(scored, f64::NEG_INFINITY))
}

/// The lowest threshold (among the scores) with precision at least `precision`: the most recall at that
/// precision.
fn lowest_with_precision(scored: &[(f64, bool)], precision: f64) -> Operating {
    let mut candidates: Vec<f64> = scored.iter().map(|s| s.0).collect();
    candidates.sort_by(f64::total_cmp);
    candidates
        .into_iter()
        .map(|t| operating(scored, t))
        .find(|o| o.precision >= precision - 1e-12)
        .unwrap_or_else(|| operating(scored, f64::INFINITY))
}

// ---------------------------------------------------------------------------------------------------
// Output

struct Table<'a> {
    ours: &'a [OurSet],
    anchor: Option<&'a AnchorReport>,
    classified_rate: f64,
    subjects: usize,
    dup: &'a DuplicateSide,
    dup_anchor: Option<&'a DuplicateReport>,
    dup_operating: Option<(Operating, Operating)>,
    config: DuplicateConfig,
    open_cases: usize,
    reports: usize,
}

impl Table<'_> {
    fn print(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        writeln!(
            out,
            "| figure | onegrid | scikit-learn | onegrid − scikit-learn |"
        )?;
        writeln!(out, "| --- | --- | --- | --- |")?;
        let row = |out: &mut dyn std::io::Write,
                   figure: &str,
                   ours: f64,
                   theirs: Option<f64>,
                   digits: usize|
         -> std::io::Result<()> {
            writeln!(
                out,
                "| {figure} | {ours:.digits$} | {} | {} |",
                theirs.map_or("—".to_string(), |t| format!("{t:.digits$}")),
                theirs.map_or("—".to_string(), |t| points(ours - t))
            )
        };
        // A figure the reference's threshold was chosen to match: no difference to report.
        let matched = |out: &mut dyn std::io::Write,
                       figure: &str,
                       ours: f64,
                       theirs: Option<f64>|
         -> std::io::Result<()> {
            writeln!(
                out,
                "| {figure} | {ours:.3} | {} | {} |",
                theirs.map_or("—".to_string(), |t| format!("{t:.3}")),
                theirs.map_or("—", |_| "(matched)")
            )
        };
        for OurSet {
            name,
            score,
            support,
        } in self.ours
        {
            let theirs = self.anchor.and_then(|a| a.sets.get(name));
            row(
                out,
                &format!("{name} accuracy (n={}, {} dropped)", score.n, score.dropped),
                score.accuracy,
                theirs.map(|t| t.accuracy),
                4,
            )?;
            row(
                out,
                &format!("{name} macro-F1"),
                score.macro_f1,
                theirs.map(|t| t.macro_f1),
                4,
            )?;
            for (label, f1) in &score.per_label {
                row(
                    out,
                    &format!(
                        "{name} F1 {label} (n={})",
                        support.get(label).copied().unwrap_or(0)
                    ),
                    *f1,
                    theirs.and_then(|t| t.per_label.get(label).copied()),
                    4,
                )?;
            }
        }
        let anchor_rate = self.anchor.map(|a| a.throughput.subjects_per_s);
        writeln!(
            out,
            "| classification, subjects/s, 1 core ({} subjects; onegrid one at a time, scikit-learn in batches of 1,000) | {} | {} | {} |",
            group(self.subjects),
            group_f(self.classified_rate),
            anchor_rate.map_or("—".to_string(), group_f),
            anchor_rate.map_or("—".to_string(), |r| ratio(self.classified_rate, r))
        )?;

        let (same_recall, same_precision) = match self.dup_operating {
            Some((r, p)) => (Some(r), Some(p)),
            None => (None, None),
        };
        let dup_rows = [
            (
                false,
                format!(
                    "duplicates: precision at propose_at {:.2} (scikit-learn: cosine ≥ {}, the same recall)",
                    self.config.propose_at,
                    same_recall.map_or("—".to_string(), |o| format!("{:.3}", o.threshold))
                ),
                self.dup.propose.precision(),
                same_recall.map(|o| o.precision),
            ),
            (
                true,
                format!(
                    "duplicates: recall at propose_at {:.2}",
                    self.config.propose_at
                ),
                self.dup.propose.recall(),
                same_recall.map(|o| o.recall),
            ),
            (
                true,
                format!(
                    "duplicates: precision at merge_at {:.2} (scikit-learn: cosine ≥ {}, the same precision)",
                    self.config.merge_at,
                    same_precision.map_or("—".to_string(), |o| format!("{:.3}", o.threshold))
                ),
                self.dup.merge.precision(),
                same_precision.map(|o| o.precision),
            ),
            (
                false,
                format!("duplicates: recall at merge_at {:.2}", self.config.merge_at),
                self.dup.merge.recall(),
                same_precision.map(|o| o.recall),
            ),
        ];
        for (is_matched, figure, ours, theirs) in dup_rows {
            if is_matched {
                matched(out, &figure, ours, theirs)?;
            } else {
                row(out, &figure, ours, theirs, 3)?;
            }
        }
        let theirs = self.dup_anchor.map(|d| d.reports_per_s);
        writeln!(
            out,
            "| duplicate check, reports/s, 1 core ({} open cases, {} reports; mean candidates {:.2} / {}) | {} | {} | {} |",
            group(self.open_cases),
            group(self.reports),
            self.dup.mean_candidates,
            self.dup_anchor
                .map_or("—".to_string(), |d| format!("{:.2}", d.mean_candidates)),
            group_f(self.dup.reports_per_s),
            theirs.map_or("—".to_string(), group_f),
            theirs.map_or("—".to_string(), |t| ratio(self.dup.reports_per_s, t))
        )?;
        Ok(())
    }
}

/// A difference of two fractions in percentage points.
fn points(difference: f64) -> String {
    format!("{:+.2} pt", difference * 100.0)
}

fn ratio(ours: f64, theirs: f64) -> String {
    if theirs > 0.0 {
        format!("{:.1}×", ours / theirs)
    } else {
        "—".to_string()
    }
}

fn group_f(x: f64) -> String {
    group(x.round().max(0.0) as usize)
}

/// 1234567 → "1,234,567".
fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operating_points_follow_their_rules() {
        // Duplicates score 0.9, 0.8, 0.4; non-duplicates 0.85, 0.3.
        let scored = [
            (0.9, true),
            (0.85, false),
            (0.8, true),
            (0.4, true),
            (0.3, false),
        ];
        let r = highest_with_recall(&scored, 2.0 / 3.0);
        assert_eq!(r.threshold, 0.8);
        assert!((r.precision - 2.0 / 3.0).abs() < 1e-12);
        let p = lowest_with_precision(&scored, 1.0);
        assert_eq!(p.threshold, 0.9);
        assert!((p.recall - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(points(0.9101 - 0.9041), "+0.60 pt");
        assert_eq!(ratio(10.0, 4.0), "2.5×");
    }

    #[test]
    fn a_different_number_of_test_rows_fails_the_run() {
        let score = |n| SetScore {
            n,
            dropped: 1,
            accuracy: 0.9,
            macro_f1: 0.9,
            per_label: BTreeMap::from([("a".to_string(), 0.9), ("b".to_string(), 0.9)]),
        };
        let ours = [OurSet {
            name: "subjects".to_string(),
            score: score(10),
            support: BTreeMap::new(),
        }];
        let anchor = |n| AnchorReport {
            trained_rows: 5,
            sets: BTreeMap::from([("subjects".to_string(), score(n))]),
            throughput: AnchorThroughput {
                subjects_per_s: 1.0,
                subjects: 20,
            },
        };
        let mut failures = Vec::new();
        check_classification(&ours, &anchor(10), 20, &mut failures);
        assert!(failures.is_empty(), "{failures:?}");
        check_classification(&ours, &anchor(9), 20, &mut failures);
        assert_eq!(failures.len(), 1, "{failures:?}");
        check_classification(&ours, &anchor(10), 21, &mut failures);
        assert_eq!(failures.len(), 2, "{failures:?}");
    }

    #[test]
    fn workload_plants_duplicates_on_cases_that_stay_open() {
        let w = Workload::generate(1, 50, 100, 20);
        assert_eq!(w.open.len(), 100);
        assert!(w.open.windows(2).all(|p| p[0].at <= p[1].at));
        assert_eq!(w.planted.iter().flatten().count(), 10);
        for (r, p) in w.reports.iter().zip(&w.planted) {
            if let Some(j) = p {
                assert!(*j >= 20);
                assert_eq!(r.text, w.open[*j].text);
            }
        }
    }
}
