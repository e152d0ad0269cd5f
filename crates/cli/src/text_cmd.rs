//! `onegrid text`: train, run and evaluate the report classifier (crate onegrid-text).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use onegrid_text::data::{
    default_data_dir, read_labelled, test_sets, training_examples, LabelledFile, BODIES_FILE,
    SUBJECTS_FILE,
};
use onegrid_text::{evaluate, train, Classifier, TrainOptions};

#[derive(clap::Subcommand)]
pub enum TextCommand {
    /// Train a classifier from labelled TSV(.gz) files (rows whose `split` is `test` are left out), or
    /// from a district's own history (--db): the categories dispatchers confirmed, corrections counting more.
    Train {
        /// A labelled file: columns `text`/`留言主题`/`留言详情`, `label`/`一级标签`, optional `split`.
        #[arg(long = "data", required_unless_present = "db", conflicts_with = "db")]
        data: Vec<PathBuf>,
        /// Learn the district's own categories from the cases in this database.
        #[arg(long)]
        db: Option<PathBuf>,
        /// With --db: how much a dispatcher's correction counts against an ordinary confirmation.
        #[arg(long, default_value_t = 3.0)]
        correction_weight: f32,
        /// Where to write the model file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Classify stdin, one message per line, into `label<TAB>confidence` lines on stdout.
    ///
    /// A line that cannot be classified (empty, whitespace-only, or without any Chinese character,
    /// letter or digit) gives an empty output line, so output lines stay aligned with input lines,
    /// and a message naming the line on stderr.
    Classify {
        /// A model file (default: the model shipped in the binary).
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Accuracy, macro-F1 and per-label F1 on the data set's test split, and classification throughput.
    Eval {
        /// A model file (default: the model shipped in the binary).
        #[arg(long)]
        model: Option<PathBuf>,
        /// The teddy-cup-2020-c folder (default: $ONEGRID_TEXT_DATA or ../shared/data/teddy-cup-2020-c).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Timed passes over all subjects for the throughput (the best pass is reported; 0 skips it).
        #[arg(long, default_value_t = 5)]
        passes: usize,
    },
}

pub async fn run(command: TextCommand) -> anyhow::Result<ExitCode> {
    match command {
        TextCommand::Train {
            db: Some(db),
            correction_weight,
            out,
            ..
        } => train_from_db(&db, correction_weight, &out).await,
        TextCommand::Train { data, out, .. } => train_cmd(&data, &out),
        TextCommand::Classify { model } => classify_cmd(model.as_deref()),
        TextCommand::Eval {
            model,
            data_dir,
            passes,
        } => eval_cmd(model.as_deref(), data_dir, passes),
    }
}

fn load(model: Option<&Path>) -> anyhow::Result<Classifier> {
    match model {
        Some(path) => Classifier::load(path).context("cannot load the classifier model"),
        None => Classifier::default_model().context("the built-in classifier model is unusable"),
    }
}

fn train_cmd(data: &[PathBuf], out: &Path) -> anyhow::Result<ExitCode> {
    let files = data
        .iter()
        .map(|p| read_labelled(p))
        .collect::<Result<Vec<LabelledFile>, _>>()?;
    let examples = training_examples(&files);
    let started = Instant::now();
    let classifier = train(&examples, &TrainOptions::default())?;
    classifier.save(out)?;
    eprintln!(
        "trained on {} rows ({} labels: {}) in {:.1} s; wrote {} ({} bytes)",
        examples.len(),
        classifier.labels().len(),
        classifier.labels().join(", "),
        started.elapsed().as_secs_f64(),
        out.display(),
        classifier.to_bytes().len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Trains on the district's history: every accepted case, labelled with the category confirmed then.
async fn train_from_db(db: &Path, correction_weight: f32, out: &Path) -> anyhow::Result<ExitCode> {
    let store = crate::open_existing(db)?;
    let from = chrono::DateTime::<chrono::Utc>::MIN_UTC;
    let to = chrono::Utc::now() + chrono::Duration::days(1);
    let histories = store.histories(from, to).await?;
    let learnt = onegrid_text::corrections::examples_from_histories(&histories, correction_weight);
    if learnt.examples.is_empty() {
        anyhow::bail!(
            "{} has no accepted cases to learn from ({} cases, none accepted yet)",
            db.display(),
            learnt.skipped
        );
    }
    let started = Instant::now();
    let classifier = train(&learnt.examples, &TrainOptions::default())?;
    classifier.save(out)?;
    eprintln!(
        "trained on {} accepted cases of {} ({} corrections weighted ×{correction_weight}, {} cases not accepted left out), {} categories, in {:.1} s; wrote {}",
        learnt.examples.len(),
        db.display(),
        learnt.corrections,
        learnt.skipped,
        classifier.labels().len(),
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn classify_cmd(model: Option<&Path>) -> anyhow::Result<ExitCode> {
    let classifier = load(model)?;
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut refused = 0usize;
    for (number, line) in stdin.split(b'\n').enumerate() {
        let line = line.context("cannot read standard input")?;
        // Invalid UTF-8 is replaced rather than refused: the rest of the message is still readable.
        let text = String::from_utf8_lossy(&line);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        match classifier.classify(text) {
            Ok(p) => writeln!(stdout, "{}\t{:.4}", p.label, p.confidence)?,
            Err(error) => {
                refused += 1;
                writeln!(stdout)?;
                eprintln!("onegrid text classify: line {}: {error}", number + 1);
            }
        }
    }
    stdout.flush()?;
    if refused > 0 {
        eprintln!("onegrid text classify: {refused} line(s) not classified (empty output lines)");
    }
    Ok(ExitCode::SUCCESS)
}

fn eval_cmd(
    model: Option<&Path>,
    data_dir: Option<PathBuf>,
    passes: usize,
) -> anyhow::Result<ExitCode> {
    let dir = data_dir.unwrap_or_else(default_data_dir);
    let files = [SUBJECTS_FILE, BODIES_FILE]
        .iter()
        .map(|name| read_labelled(&dir.join(name)))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("cannot read the labelled data in {}", dir.display()))?;
    let started = Instant::now();
    let classifier = load(model)?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "model: {} labels, {} bytes, softmax temperature {:.2}, loaded in {load_ms:.0} ms",
        classifier.labels().len(),
        classifier.to_bytes().len(),
        classifier.model().temperature()
    )?;
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
        writeln!(
            out,
            "onegrid {}: n={} (dropped {} test rows also in training) accuracy={:.4} macro_f1={:.4} refused={}",
            set.name, e.n, set.dropped, e.accuracy, e.macro_f1, e.refused
        )?;
        for s in &e.per_label {
            writeln!(
                out,
                "onegrid {}:   {}\tF1={:.4} (n={})",
                set.name, s.label, s.f1, s.support
            )?;
        }
    }
    if passes > 0 {
        let subjects: Vec<&str> = files[0].rows.iter().map(|r| r.text.as_str()).collect();
        let mut best = 0.0f64;
        for _ in 0..passes {
            let started = Instant::now();
            let mut classified = 0usize;
            for text in &subjects {
                classified += usize::from(classifier.classify(text).is_ok());
            }
            let rate = subjects.len() as f64 / started.elapsed().as_secs_f64();
            best = best.max(rate);
            anyhow::ensure!(classified == subjects.len(), "some subjects were refused");
        }
        writeln!(
            out,
            "onegrid throughput: {best:.0} subjects/s (best of {passes} passes over {} subjects, one at a time, one thread, normalisation and tokenisation included)",
            subjects.len()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
