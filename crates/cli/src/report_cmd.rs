//! `onegrid report`: government work reports (政府工作报告) — extract their quantified targets and results
//! (crate onegrid-text, module `workreport`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use onegrid_text::workreport::{read_report, Item, WorkReportError, DEFAULT_MAX_BYTES};

#[derive(clap::Subcommand)]
pub enum ReportCommand {
    /// Clean a work report (plain text, UTF-8 or GBK/GB18030) and print every quantified item.
    ///
    /// Standard output is only the items: a JSON array of objects with the fields indicator, value, unit,
    /// cmp, period, kind, section, start, end, quote (start/end are character offsets into the original
    /// text, and quote is exactly the text between them), or TSV with a header line. Each cleaning step
    /// (page header, continuation mark, running title, column break, repeated passage, traditional form…)
    /// goes to standard error with its position, then a summary line. A report without any quantity gives
    /// an empty array and exit code 0; a file that cannot be read as a report gives a sentence on standard
    /// error and exit code 1.
    Extract {
        /// The report (`-` reads standard input).
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Do not print the cleaning steps and the summary on standard error.
        #[arg(long, short)]
        quiet: bool,
        /// Also write the cleaned text to this file (the text the items were extracted from).
        #[arg(long)]
        cleaned: Option<PathBuf>,
        /// Refuse files larger than this many bytes (a long report is about 100 KB).
        #[arg(long, default_value_t = DEFAULT_MAX_BYTES)]
        max_bytes: u64,
    },
    /// Store a report's targets for its year as supervision tasks (督办任务; docs/supervision.md).
    ///
    /// Each target (kind target, period this_year) becomes a task with a lead department suggested
    /// by keyword and the deadline at the end of the year. Prints how many tasks, per department.
    /// A report already imported (same name and year) is refused.
    Import {
        /// The report (plain text, UTF-8 or GBK/GB18030; `-` reads standard input).
        file: PathBuf,
        /// The database (it must exist and hold reference data: `onegrid init` or `onegrid demo`).
        #[arg(long)]
        db: PathBuf,
        /// The year the report plans for (default: the year its headings name).
        #[arg(long)]
        year: Option<i32>,
        /// The report's name (default: 「<year>年政府工作报告」).
        #[arg(long)]
        name: Option<String>,
        /// Who imports (a person id of the database; recorded in each task's history).
        #[arg(long)]
        by: Option<String>,
        /// Only print what would be stored.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, default_value_t = DEFAULT_MAX_BYTES)]
        max_bytes: u64,
    },
    /// List the supervision tasks that need a reminder or a 督办 notice: overdue, at risk, or
    /// with a notice unanswered past its limit (the same list as GET /api/supervision/reminders).
    ///
    /// With --record, first run the reminder sweep that `onegrid serve` runs every hour: a task at
    /// risk or overdue that was not reminded nor given a 督办 notice within 5 working days (or that
    /// fell overdue since) gets a `reminded` event in its hash-chained history.
    Remind {
        #[arg(long)]
        db: PathBuf,
        /// Print JSON instead of lines (with --record: {"recorded": [...], "reminders": [...]}).
        #[arg(long)]
        json: bool,
        /// Record the reminders that are due (the sweep), then list.
        #[arg(long)]
        record: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Json,
    Tsv,
}

pub async fn run(command: ReportCommand) -> anyhow::Result<ExitCode> {
    match command {
        ReportCommand::Extract {
            file,
            format,
            quiet,
            cleaned,
            max_bytes,
        } => extract(&file, format, quiet, cleaned.as_deref(), max_bytes),
        ReportCommand::Import {
            file,
            db,
            year,
            name,
            by,
            dry_run,
            max_bytes,
        } => {
            import(
                &file,
                &db,
                year,
                name.as_deref(),
                by.as_deref(),
                dry_run,
                max_bytes,
            )
            .await
        }
        ReportCommand::Remind { db, json, record } => remind(&db, json, record).await,
    }
}

async fn import(
    file: &Path,
    db: &Path,
    year: Option<i32>,
    name: Option<&str>,
    by: Option<&str>,
    dry_run: bool,
    max_bytes: u64,
) -> anyhow::Result<ExitCode> {
    use onegrid_core::history::ActorRef;
    use onegrid_core::{PersonId, Role};
    use onegrid_server::supervision::{check_not_imported, per_department, tasks_from_extraction};

    let bytes = read_limited(file, max_bytes)?;
    if bytes.len() as u64 > max_bytes {
        anyhow::bail!(
            "{}: more than {max_bytes} bytes, the limit (--max-bytes)",
            file.display()
        );
    }
    let (_, extraction) =
        read_report(&bytes, max_bytes).with_context(|| format!("{}", file.display()))?;
    let store = crate::open_existing(db)?;
    let reference = store.reference();
    let (name, year, tasks) = tasks_from_extraction(&extraction, name, year, &reference)
        .with_context(|| format!("{}", file.display()))?;
    let actor = match by {
        Some(id) => {
            let id = PersonId::parse(id).map_err(|e| anyhow::anyhow!("--by: {e}"))?;
            let person = reference.person(&id).ok_or_else(|| {
                anyhow::anyhow!("--by: there is no person {id} in {}", db.display())
            })?;
            ActorRef {
                person: id,
                role: person.role,
            }
        }
        None => ActorRef {
            person: PersonId::parse("onegrid-cli").map_err(|e| anyhow::anyhow!("{e}"))?,
            role: Role::Admin,
        },
    };
    let counts = per_department(&tasks);
    let total = tasks.len();
    if !dry_run {
        check_not_imported(store.as_ref(), &name, year)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
        store
            .supervision()
            .create_tasks(tasks, actor, chrono::Utc::now())
            .await?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{name} ({year}): {} {total} supervision tasks from {} quantified items",
        if dry_run { "would store" } else { "stored" },
        extraction.items.len()
    )?;
    for (code, count) in &counts {
        let label = if code.is_empty() {
            "(no lead yet: assign one)".to_string()
        } else {
            onegrid_core::DepartmentCode::parse(code)
                .ok()
                .and_then(|c| {
                    reference
                        .departments
                        .get(&c)
                        .map(|d| format!("{code} {}", d.name))
                })
                .unwrap_or_else(|| code.clone())
        };
        writeln!(out, "  {count:>4}  {label}")?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn remind(db: &Path, json: bool, record: bool) -> anyhow::Result<ExitCode> {
    use onegrid_server::supervision::{reminders_of, sweep_reminders, view};

    let store = crate::open_existing(db)?;
    let reference = store.reference();
    let now = chrono::Utc::now();
    let recorded = if record {
        Some(sweep_reminders(store.as_ref(), now).await?)
    } else {
        None
    };
    let views = store
        .supervision()
        .tasks()
        .await?
        .iter()
        .map(|task| view(task, &reference, now))
        .collect();
    let reminders = reminders_of(views, now);
    let mut out = std::io::stdout().lock();
    if json {
        match &recorded {
            Some(recorded) => serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({"recorded": recorded, "reminders": reminders}),
            )?,
            None => serde_json::to_writer_pretty(&mut out, &reminders)?,
        }
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(recorded) = &recorded {
        writeln!(
            out,
            "recorded {} reminders (a task behind is reminded every {} working days, at once when it falls overdue)",
            recorded.len(),
            onegrid_core::supervision::REMIND_EVERY_WORKING_DAYS
        )?;
        for r in recorded {
            writeln!(
                out,
                "  reminded #{} {} {} — {} — {}",
                r.task,
                r.indicator,
                r.target,
                r.lead.as_deref().unwrap_or("未分配"),
                r.reason
            )?;
        }
    }
    if reminders.is_empty() {
        writeln!(out, "no supervision task is behind")?;
    }
    for reminder in &reminders {
        let task = &reminder.task;
        writeln!(
            out,
            "#{} [{}] {} {} — {} — {}{}",
            task.id,
            task.status_zh,
            task.indicator,
            task.target,
            task.lead_name.as_deref().unwrap_or("未分配"),
            reminder.reasons_zh.join("；"),
            task.reminders
                .last()
                .map(|r| format!(
                    " (reminded {} times, last {})",
                    task.reminders.len(),
                    r.at.with_timezone(&onegrid_core::calendar::TIMEZONE)
                        .format("%Y-%m-%d %H:%M")
                ))
                .unwrap_or_default()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads at most `max_bytes + 1` bytes, so that oversized input (from a pipe) is refused without reading all of it.
fn read_limited(file: &Path, max_bytes: u64) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let limit = max_bytes.saturating_add(1);
    if file == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
    } else {
        let handle =
            std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        if let Ok(metadata) = handle.metadata() {
            if metadata.is_dir() {
                anyhow::bail!("{} is a folder, not a report file", file.display());
            }
        }
        handle
            .take(limit)
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read {}", file.display()))?;
    }
    Ok(bytes)
}

fn extract(
    file: &Path,
    format: Format,
    quiet: bool,
    cleaned_out: Option<&Path>,
    max_bytes: u64,
) -> anyhow::Result<ExitCode> {
    if file != Path::new("-") {
        // An oversized file is refused before it is read.
        if let Ok(metadata) = std::fs::metadata(file) {
            if metadata.is_file() && metadata.len() > max_bytes {
                let error = WorkReportError::TooLarge {
                    bytes: metadata.len(),
                    limit: max_bytes,
                };
                anyhow::bail!("{}: {error} (--max-bytes)", file.display());
            }
        }
    }
    let bytes = read_limited(file, max_bytes)?;
    if bytes.len() as u64 > max_bytes {
        anyhow::bail!(
            "{}: more than {max_bytes} bytes, the limit (a long work report is about 100 KB of text); if it really is one report, raise the limit (--max-bytes)",
            file.display()
        );
    }
    let (decoded, extraction) =
        read_report(&bytes, max_bytes).with_context(|| format!("{}", file.display()))?;
    drop(bytes);
    if let Some(path) = cleaned_out {
        std::fs::write(path, &extraction.cleaned)
            .with_context(|| format!("cannot write the cleaned text to {}", path.display()))?;
    }
    if !quiet {
        let stderr = std::io::stderr();
        let mut stderr = stderr.lock();
        for step in &extraction.steps {
            writeln!(stderr, "cleaning: {step}")?;
        }
        writeln!(
            stderr,
            "{}: {} cleaning steps; {} quantified items, {} of them this year's targets{}{}",
            file.display(),
            extraction.steps.len(),
            extraction.items.len(),
            extraction.year_targets(),
            extraction
                .report_year
                .map(|year| format!(" (the report plans for {year})"))
                .unwrap_or_default(),
            if decoded.converted() {
                format!("; read as {} and converted to UTF-8", decoded.encoding)
            } else {
                String::new()
            },
        )?;
        if extraction.items.is_empty() {
            writeln!(
                stderr,
                "{}: no quantified item (a number with a unit such as 家, 亿元, %) was found",
                file.display()
            )?;
        }
    }
    let stdout = std::io::stdout();
    let mut stdout = std::io::BufWriter::new(stdout.lock());
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut stdout, &extraction.items)?;
            writeln!(stdout)?;
        }
        Format::Tsv => {
            writeln!(stdout, "{}", Item::TSV_HEADER)?;
            for item in &extraction.items {
                writeln!(stdout, "{}", item.tsv_row())?;
            }
        }
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}
