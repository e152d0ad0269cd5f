//! `onegrid bench`: durable reports per second through the store, measured beside plain SQLite
//! inserts of the same rows at the same durability, so the cost of the store's machinery (rules,
//! hash chain, JSON, group commit, async hand-off) shows as a ratio to what a user would build alone.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use onegrid_core::{apply, Actor, Case, CaseId, Command, DepartmentCode, Event, Reference};
use onegrid_store::sqlite::time_text;
use onegrid_store::{SqliteStore, Store};
use rusqlite::{params, Connection};

/// The schema the store creates, so that the plain inserts pay for the same indexes and triggers.
const SCHEMA: [&str; 2] = [
    include_str!("../../store/migrations/sqlite/0001_initial.sql"),
    include_str!("../../store/migrations/sqlite/0002_events_rowid.sql"),
];

/// Reports per transaction in the plain batched reference.
const PLAIN_BATCH: usize = 1_000;
/// At most this many reports for the plain one-per-transaction reference: each costs an fsync.
const PLAIN_SINGLE_MAX: u64 = 5_000;
/// Writer count the goal is stated for, and the ratio to plain batched it must reach.
const GOAL_WRITERS: usize = 64;
const GOAL_RATIO: f64 = 0.5;

const EVENT_SQL: &str =
    "INSERT INTO events (case_id, seq, at, kind, body, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const CASE_SQL: &str = "INSERT INTO cases (id, version, state, cell, category, tier, channel, \
     department, reported_at, updated_at, due_at, head_hash, body) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Durable reports per second through the store, beside plain SQLite inserts of the same rows.
    Ingest {
        /// Reports written per variant.
        #[arg(long, default_value_t = 20_000)]
        reports: u64,
        /// Concurrent writers to measure the store with, each waiting for its acknowledgement.
        #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
        writers: Vec<usize>,
        /// Directory for the temporary databases (default: a temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Runs of each variant; the median is reported (disk timings vary from run to run).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// Point → cell assignment: onegrid's index beside PostGIS and geo + rstar.
    Grid(crate::bench_grid::GridBenchArgs),
    /// HTTP intake on loopback: durable reports/s and latency, and list pages/s (bench/api/README.md).
    Api(crate::bench_api::ApiBenchArgs),
    /// Classification and duplicate check on the real data, beside scikit-learn (bench/text/README.md).
    Text(crate::bench_text::TextBenchArgs),
}

pub async fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Ingest {
            reports,
            writers,
            dir,
            rounds,
        } => ingest(reports, &writers, dir.as_deref(), rounds).await,
        BenchCommand::Grid(args) => crate::bench_grid::run(args),
        BenchCommand::Api(args) => crate::bench_api::run(args).await,
        BenchCommand::Text(args) => crate::bench_text::run(args),
    }
}

/// One measured variant: a row of the table.
struct Measurement {
    variant: String,
    writers: usize,
    reports: u64,
    elapsed: Duration,
}

impl Measurement {
    fn rate(&self) -> f64 {
        self.reports as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

async fn ingest(
    reports: u64,
    writers: &[usize],
    dir: Option<&Path>,
    rounds: usize,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(reports > 0, "--reports must be at least 1");
    anyhow::ensure!(rounds > 0, "--rounds must be at least 1");
    anyhow::ensure!(
        !writers.is_empty() && writers.iter().all(|&w| w > 0),
        "--writers must list one or more counts, each at least 1"
    );
    // A fresh subdirectory even under --dir, so that no file of the user's is touched; removed at
    // the end.
    let temp = match dir {
        Some(dir) => tempfile::Builder::new()
            .prefix("onegrid-bench-")
            .tempdir_in(dir)
            .with_context(|| format!("cannot create a directory in {}", dir.display()))?,
        None => tempfile::Builder::new()
            .prefix("onegrid-bench-")
            .tempdir()
            .context("cannot create a temporary directory")?,
    };
    let single_reports = reports.min(PLAIN_SINGLE_MAX);
    let filesystem = filesystem_of(temp.path());
    println!(
        "onegrid bench ingest: {reports} reports per variant, durable (WAL, synchronous=FULL), \
         median of {rounds} runs, databases in {} ({})",
        temp.path().display(),
        filesystem.as_deref().unwrap_or("filesystem unknown"),
    );
    if filesystem.as_deref() == Some("tmpfs") {
        println!("warning: tmpfs makes fsync free, so these figures overstate durable throughput");
    }
    if single_reports < reports {
        println!(
            "note: plain one-per-tx writes only {single_reports} reports (one fsync each), \
             to keep the run short"
        );
    }

    let now = Utc::now();
    let rows = Arc::new(plain_rows(reports, now)?);

    let mut results = Vec::new();
    let mut batched = Vec::with_capacity(rounds);
    let mut single = Vec::with_capacity(rounds);
    for round in 0..rounds {
        for (label, per_transaction, count, runs) in [
            ("batched", PLAIN_BATCH, reports, &mut batched),
            ("single", 1, single_reports, &mut single),
        ] {
            let path = temp.path().join(format!("plain-{label}-{round}.db"));
            settle_disk();
            let rows_for_task = rows.clone();
            let path_for_task = path.clone();
            runs.push(
                tokio::task::spawn_blocking(move || {
                    plain(
                        &path_for_task,
                        &rows_for_task[..count as usize],
                        per_transaction,
                    )
                })
                .await
                .context("a plain SQLite run panicked")??,
            );
            remove_database(&path);
        }
    }
    drop(rows);
    results.push(median(batched)?);
    results.push(median(single)?);
    let (batched_rate, single_rate) = (results[0].rate(), results[1].rate());

    for &count in writers {
        let mut runs = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let path = temp
                .path()
                .join(format!("onegrid-{count}-writers-{round}.db"));
            settle_disk();
            runs.push(through_store(&path, reports, count, now).await?);
            // Each database is only needed for its own run.
            remove_database(&path);
        }
        results.push(median(runs)?);
    }

    print_table(&results, batched_rate, single_rate);
    println!();
    for result in results.iter().skip(2) {
        println!(
            "onegrid {} writers: {:.2}× plain batched, {:.1}× plain one-per-tx",
            result.writers,
            result.rate() / batched_rate,
            result.rate() / single_rate
        );
    }
    match results
        .iter()
        .skip(2)
        .find(|result| result.writers == GOAL_WRITERS)
    {
        Some(result) => {
            let ratio = result.rate() / batched_rate;
            println!(
                "goal: {GOAL_WRITERS} writers within 2× of plain batched (ratio ≥ {GOAL_RATIO:.2}): {} ({ratio:.2})",
                if ratio >= GOAL_RATIO { "met" } else { "not met" }
            );
        }
        None => println!(
            "goal: {GOAL_WRITERS} writers within 2× of plain batched (ratio ≥ {GOAL_RATIO:.2}): \
             not measured (add {GOAL_WRITERS} to --writers)"
        ),
    }
    temp.close()
        .context("cannot remove the temporary databases")?;
    Ok(ExitCode::SUCCESS)
}

/// The store: a fresh database, `writers` concurrent callers each waiting for its durable answer
/// before sending the next report, like HTTP requests.
/// Reports between two updates of a writer's progress bar.
const PROGRESS_STEP: u64 = 256;

async fn through_store(
    path: &Path,
    reports: u64,
    writers: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<Measurement> {
    let store = Arc::new(SqliteStore::open(path)?);
    store.put_reference(crate::demo::reference()?).await?;
    let reference = store.reference();
    let actor = Arc::new(crate::load::load_actor(&reference)?);
    let next = Arc::new(AtomicU64::new(0));
    let bar = progress(reports, format!("onegrid, {writers} writers"));
    // Made before the clock starts, as the plain variants' rows are.
    let synthetic = crate::load::SyntheticReports::new(&reference)?;
    let prepared: Arc<Vec<_>> = Arc::new((0..reports).map(|n| synthetic.report(n)).collect());

    let started = Instant::now();
    let mut tasks = Vec::with_capacity(writers);
    for _ in 0..writers {
        let (store, prepared, actor, next, bar) = (
            store.clone(),
            prepared.clone(),
            actor.clone(),
            next.clone(),
            bar.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut written = 0u64;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= reports {
                    bar.inc(written % PROGRESS_STEP);
                    return Ok::<u64, anyhow::Error>(written);
                }
                let report = prepared
                    .get(n as usize)
                    .cloned()
                    .context("report index out of range")?;
                let title = report.title.clone();
                let case = store.report(report, &actor, now).await?;
                anyhow::ensure!(
                    case.version == 1 && case.title == title,
                    "report {n} was answered with case {} (version {}, title {:?})",
                    case.id,
                    case.version,
                    case.title
                );
                written += 1;
                // The bar takes a lock on every update; per report it cost the writers about a
                // tenth of their throughput, which is the harness's cost, not the store's.
                if written.is_multiple_of(PROGRESS_STEP) {
                    bar.inc(PROGRESS_STEP);
                }
            }
        }));
    }
    let mut acknowledged = 0;
    for task in tasks {
        acknowledged += task.await.context("a writer task panicked")??;
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();

    anyhow::ensure!(
        acknowledged == reports,
        "{acknowledged} of {reports} reports were acknowledged"
    );
    let stored = store.count_cases().await?;
    anyhow::ensure!(
        stored == reports,
        "the store holds {stored} cases after {reports} acknowledged reports"
    );
    for id in [1, reports.div_ceil(2), reports] {
        let case = store
            .case(CaseId(id))
            .await
            .with_context(|| format!("case {id} is missing after the run"))?;
        anyhow::ensure!(
            case.id == CaseId(id) && case.version == 1,
            "case {id} came back as case {} at version {}",
            case.id,
            case.version
        );
    }
    Ok(Measurement {
        variant: "onegrid store".to_string(),
        writers,
        reports,
        elapsed,
    })
}

/// One report's two rows, serialized exactly as the store writes them.
struct PlainRow {
    case_id: i64,
    seq: i64,
    at: String,
    kind: &'static str,
    event_body: String,
    hash: String,
    version: i64,
    state: &'static str,
    cell: String,
    category: String,
    tier: &'static str,
    channel: &'static str,
    department: Option<String>,
    reported_at: String,
    updated_at: String,
    due_at: Option<String>,
    head_hash: String,
    case_body: String,
}

impl PlainRow {
    fn new(event: &Event, case: &Case) -> anyhow::Result<PlainRow> {
        Ok(PlainRow {
            case_id: event.case_id.0 as i64,
            seq: event.seq as i64,
            at: time_text(&event.at),
            kind: event.kind.name(),
            event_body: serde_json::to_string(event)?,
            hash: event.hash.clone(),
            version: case.version as i64,
            state: case.state.as_str(),
            cell: case.cell.as_str().to_string(),
            category: case.category.as_str().to_string(),
            tier: case.tier.as_str(),
            channel: case.channel.as_str(),
            department: case
                .lead_department()
                .map(DepartmentCode::as_str)
                .map(str::to_string),
            reported_at: time_text(&case.reported_at),
            updated_at: time_text(&case.updated_at),
            due_at: case.deadline.map(|d| time_text(&d.due_at)),
            head_hash: case.head_hash.clone(),
            case_body: serde_json::to_string(case)?,
        })
    }
}

/// The rows the store would write for reports 0..n, decided by the same core, before any timing.
fn plain_rows(reports: u64, now: DateTime<Utc>) -> anyhow::Result<Vec<PlainRow>> {
    let bar = progress(reports, "preparing the plain rows".to_string());
    let reference: Reference = crate::demo::reference()?;
    let rules = reference.rules();
    let actor: Actor = crate::load::load_actor(&reference)?;
    let synthetic = crate::load::SyntheticReports::new(&reference)?;
    let mut rows = Vec::with_capacity(reports as usize);
    for n in 0..reports {
        let command = Command::Report {
            id: CaseId(n + 1),
            report: Box::new(synthetic.report(n)),
        };
        let (case, event) = apply(&rules, None, &command, &actor, now)
            .with_context(|| format!("synthetic report {n} was refused"))?;
        rows.push(PlainRow::new(&event, &case)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(rows)
}

/// Plain rusqlite: the same schema and durability, `per_transaction` reports per commit, one
/// thread, prepared cached statements.
fn plain(path: &Path, rows: &[PlainRow], per_transaction: usize) -> anyhow::Result<Measurement> {
    let mut connection =
        Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    for migration in SCHEMA {
        connection.execute_batch(migration)?;
    }
    let (variant, label) = if per_transaction == 1 {
        (
            "plain SQLite, 1 report/tx".to_string(),
            "plain, 1 report/tx",
        )
    } else {
        (
            format!("plain SQLite, {per_transaction} reports/tx"),
            "plain, batched",
        )
    };
    let bar = progress(rows.len() as u64, label.to_string());

    let started = Instant::now();
    for chunk in rows.chunks(per_transaction) {
        let transaction = connection.transaction()?;
        {
            let mut events = transaction.prepare_cached(EVENT_SQL)?;
            let mut cases = transaction.prepare_cached(CASE_SQL)?;
            for row in chunk {
                events.execute(params![
                    row.case_id,
                    row.seq,
                    row.at,
                    row.kind,
                    row.event_body,
                    row.hash,
                ])?;
                cases.execute(params![
                    row.case_id,
                    row.version,
                    row.state,
                    row.cell,
                    row.category,
                    row.tier,
                    row.channel,
                    row.department,
                    row.reported_at,
                    row.updated_at,
                    row.due_at,
                    row.head_hash,
                    row.case_body,
                ])?;
            }
        }
        transaction.commit()?;
        bar.inc(chunk.len() as u64);
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();

    let count = |table: &str| -> anyhow::Result<u64> {
        let count: i64 =
            connection.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
        Ok(count as u64)
    };
    let (cases, events) = (count("cases")?, count("events")?);
    anyhow::ensure!(
        cases == rows.len() as u64 && events == rows.len() as u64,
        "{variant}: {cases} cases and {events} events after inserting {} reports",
        rows.len()
    );
    drop(connection);
    remove_database(path);
    Ok(Measurement {
        variant,
        writers: 1,
        reports: rows.len() as u64,
        elapsed,
    })
}

fn print_table(results: &[Measurement], batched_rate: f64, single_rate: f64) {
    println!();
    println!(
        "{:<30} {:>7} {:>8} {:>8} {:>10} {:>12} {:>12}",
        "variant", "writers", "reports", "seconds", "reports/s", "vs batched", "vs 1/tx"
    );
    for result in results {
        println!(
            "{:<30} {:>7} {:>8} {:>8.2} {:>10.0} {:>11.2}× {:>11.2}×",
            result.variant,
            result.writers,
            result.reports,
            result.elapsed.as_secs_f64(),
            result.rate(),
            result.rate() / batched_rate,
            result.rate() / single_rate,
        );
    }
}

fn progress(length: u64, message: String) -> ProgressBar {
    let bar = ProgressBar::new(length);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg:<28} {bar:30} {pos}/{len} ({per_sec}, {elapsed})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// Removes a database and its WAL files; a leftover is removed with the directory anyway.
/// The run with the median rate.
fn median(mut runs: Vec<Measurement>) -> anyhow::Result<Measurement> {
    runs.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
    let middle = runs.len() / 2;
    runs.into_iter()
        .nth(middle)
        .context("a variant was not run")
}

/// Flushes what earlier runs left in the page cache, so that their writeback does not slow the
/// fsyncs of the run about to be timed: every variant starts from a quiet disk.
fn settle_disk() {
    // `sync` is in every Linux base system; without it the figures are only noisier.
    let _ = std::process::Command::new("sync").status();
}

fn remove_database(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        // Best effort: the temporary directory is removed at the end in any case.
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// The filesystem type holding `dir`, from /proc/self/mounts (Linux only; None elsewhere).
fn filesystem_of(dir: &Path) -> Option<String> {
    let dir = dir.canonicalize().ok()?;
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let _device = fields.next()?;
            let mount = fields.next()?.replace("\\040", " ");
            let kind = fields.next()?.to_string();
            Some((mount, kind))
        })
        .filter(|(mount, _)| dir.starts_with(mount))
        .max_by_key(|(mount, _)| mount.len())
        .map(|(_, kind)| kind)
}
