//! Work-report extraction, measured. Prints:
//!
//! 1. on the seed page (a copy in `crates/text/data/workreport/`): the cleaning steps, how many quantified
//!    items, how many are this year's targets, plan-period targets, achievements;
//! 2. on the hand-labelled real reports (copies beside their labels in `crates/text/data/workreport/`):
//!    precision and recall of this year's targets with indicator, value, unit and comparator all right,
//!    then with the indicator ignored, then located only (span and value), with every miss and every spurious
//!    target (`--quiet` leaves those out);
//! 3. on every report in `shared/data/gov-work-reports-2024` (or `$ONEGRID_WORK_REPORTS`), when present:
//!    items, this year's targets, cleaning steps and time.
//!
//! `cargo run --release -p onegrid-text --example workreport_eval [-- --quiet]`

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use onegrid_text::workreport::eval::{
    default_labels_dir, default_reports_dir, describe, evaluate, ReportScore,
};
use onegrid_text::workreport::{extract, format_value, Item, Kind, Period};

fn line(item: &Item) -> String {
    format!(
        "{} {} {}{} [{} {}] 「{}」",
        item.indicator,
        item.cmp.as_str(),
        format_value(item.value),
        item.unit,
        item.kind.as_str(),
        item.period.label(),
        item.quote.replace('\n', "⏎")
    )
}

fn main() -> Result<(), Box<dyn Error>> {
    let quiet = std::env::args().any(|a| a == "--quiet");
    let labels = default_labels_dir();
    let seed = labels.join("dongli-2021-government-work-report-p14.txt");
    println!("== 1. seed page {}", seed.display());
    match std::fs::read_to_string(&seed) {
        Ok(text) => {
            let extraction = extract(&text);
            for step in &extraction.steps {
                println!("  cleaning: {step}");
            }
            let count = |kind: Kind, period: &dyn Fn(&Period) -> bool| {
                extraction
                    .items
                    .iter()
                    .filter(|item| item.kind == kind && period(&item.period))
                    .count()
            };
            println!(
                "  {} cleaning steps, {} quantified items: {} this year's targets, {} plan-period targets, {} achievements",
                extraction.steps.len(),
                extraction.items.len(),
                count(Kind::Target, &|p| *p == Period::ThisYear),
                count(Kind::Target, &|p| matches!(p, Period::Plan(_) | Period::Year(_))),
                count(Kind::Achievement, &|_| true),
            );
        }
        Err(error) => println!("  not read: {error}"),
    }

    println!(
        "\n== 2. this year's targets against the labels in {}",
        labels.display()
    );
    let scores = evaluate(&labels, &labels)?;
    let mut total = ReportScore::default();
    for score in &scores {
        println!(
            "  {:<18} labelled {:>3}  extracted {:>3}  correct {:>3}  precision {:.3}  recall {:.3}   (without indicator {:>3}, located {:>3})",
            score.file,
            score.labelled,
            score.extracted,
            score.correct,
            score.precision(),
            score.recall(),
            score.correct_without_indicator,
            score.located
        );
        total.labelled += score.labelled;
        total.extracted += score.extracted;
        total.correct += score.correct;
        total.correct_without_indicator += score.correct_without_indicator;
        total.located += score.located;
    }
    println!(
        "  {:<18} labelled {:>3}  extracted {:>3}  correct {:>3}  precision {:.3}  recall {:.3}   (without indicator {:>3}, located {:>3})",
        "all",
        total.labelled,
        total.extracted,
        total.correct,
        total.precision(),
        total.recall(),
        total.correct_without_indicator,
        total.located
    );
    println!(
        "  ignoring the indicator: precision {:.3}, recall {:.3}",
        total.correct_without_indicator as f64 / total.extracted.max(1) as f64,
        total.correct_without_indicator as f64 / total.labelled.max(1) as f64
    );
    if !quiet {
        for score in &scores {
            for (target, nearby) in &score.missed {
                println!("  MISSED   {}: {}", score.file, describe(target));
                if let Some(item) = nearby {
                    println!("           extracted there: {}", line(item));
                }
            }
            for item in &score.spurious {
                println!("  SPURIOUS {}: {}", score.file, line(item));
            }
        }
    }

    let reports = default_reports_dir();
    println!("\n== 3. every report in {}", reports.display());
    let Ok(entries) = std::fs::read_dir(&reports) else {
        println!("  (not there)");
        return Ok(());
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        let started = Instant::now();
        let extraction = extract(&text);
        let elapsed = started.elapsed();
        println!(
            "  {:<22} {:>6} chars  {:>4} items  {:>4} this year's targets  {:>3} cleaning steps  {:>6.1} ms",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
            text.chars().count(),
            extraction.items.len(),
            extraction.year_targets(),
            extraction.steps.len(),
            elapsed.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}
