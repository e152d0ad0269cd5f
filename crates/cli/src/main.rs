//! `onegrid`: the command-line program. Glue only: it parses arguments, opens the store, and calls
//! the library crates; the rules live in `onegrid-core`.

/// Writes a line to standard output, returning an error instead of panicking when the reader has
/// gone away (`onegrid case list | head`); `main` treats that as a normal end.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// mimalloc rather than the system allocator: intake allocates and frees many small strings per report
/// on two runtime threads and the writer thread, and glibc's malloc/free were ~10 % of the server's
/// instructions per report; with mimalloc the whole intake went from 330k to 302k instructions per
/// report (callgrind, bench/api/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod apikey_cmd;
mod bench;
mod bench_api;
mod bench_grid;
mod bench_text;
mod case_cmd;
mod demo;
mod grid_cmd;
mod load;
mod projects_cmd;
mod report_cmd;
mod text_cmd;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use onegrid_store::{SqliteStore, Store};

/// Settings of the web UI.
#[derive(clap::Args)]
struct WebArgs {
    /// Base map tiles for the web UI: an XYZ URL template such as
    /// `https://tiles.example.gov.cn/{z}/{x}/{y}.png` (the district's own tile service). Without
    /// it, the grid itself is the map.
    #[arg(long, env = "ONEGRID_TILE_URL")]
    tile_url: Option<String>,
    /// Attribution shown under the base map.
    #[arg(long, env = "ONEGRID_TILE_ATTRIBUTION")]
    tile_attribution: Option<String>,
    /// Training and tests only, never on a live district: let an administrator move the business
    /// clock forward (`PUT /api/clock`) to show deadlines turning yellow and red.
    #[arg(long)]
    adjustable_clock: bool,
}

impl WebArgs {
    fn config(self) -> anyhow::Result<onegrid_server::Config> {
        if let Some(url) = &self.tile_url {
            if !(url.contains("{z}") && url.contains("{x}") && url.contains("{y}")) {
                anyhow::bail!("--tile-url {url:?} needs the {{z}}, {{x}} and {{y}} placeholders of an XYZ tile URL");
            }
        }
        if self.adjustable_clock {
            eprintln!("warning: the business clock is adjustable (--adjustable-clock): an administrator can move deadlines' time forward; for training and tests only");
        }
        Ok(onegrid_server::Config {
            tile_url: self.tile_url,
            tile_attribution: self.tile_attribution,
            adjustable_clock: self.adjustable_clock,
            ..onegrid_server::Config::default()
        })
    }
}

#[derive(Parser)]
#[command(
    name = "onegrid",
    version,
    about = "一张网格管全域 — district grid governance: cases, grid, workflow, KPIs"
)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

// Parsed once per run; the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Commands {
    /// Create the Dongli demo database if it is missing, then serve it.
    Demo {
        #[arg(long, default_value = "onegrid-demo.db")]
        db: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Create the database and exit without serving.
        #[arg(long)]
        create_only: bool,
        #[command(flatten)]
        web: WebArgs,
    },
    /// Serve a database over HTTP (the API and the web UI).
    Serve {
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        #[command(flatten)]
        web: WebArgs,
    },
    /// Report, show, list and act on cases from the terminal.
    Case {
        #[command(subcommand)]
        command: case_cmd::CaseCommand,
    },
    /// Check every hash chain: each case's (and that the case matches the replay of its history),
    /// each supervision task's (and that the task matches its replay), and each major project's
    /// change record. Exit code 3 names the broken ones.
    Verify {
        #[arg(long)]
        db: PathBuf,
    },
    /// KPIs per district, street, community, cell or department, from the case histories.
    Kpi {
        #[arg(long)]
        db: PathBuf,
        /// district, street, community, cell or department.
        #[arg(long, default_value = "street")]
        by: String,
        /// Cases reported in the last N days (ending now).
        #[arg(long, default_value_t = 30)]
        days: i64,
        #[arg(long)]
        json: bool,
    },
    /// Write synthetic reports from several concurrent writers, printing each acknowledged id.
    Load(load::LoadArgs),
    /// Benchmarks, side by side with the plain alternative.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// Grid layers: import, export, validate, generate; place points in cells.
    Grid {
        #[command(subcommand)]
        command: grid_cmd::GridCommand,
    },
    /// Chinese text: train, evaluate and run the report classifier.
    Text {
        #[command(subcommand)]
        command: text_cmd::TextCommand,
    },
    /// API keys for Open311 clients: create, list, revoke.
    Apikey {
        #[command(subcommand)]
        command: apikey_cmd::ApikeyCommand,
    },
    /// Government work reports: extract quantified targets and results.
    Report {
        #[command(subcommand)]
        command: report_cmd::ReportCommand,
    },
    /// Major projects (重大项目): import from Excel, export, rates, a sample workbook.
    Projects {
        #[command(subcommand)]
        command: projects_cmd::ProjectsCommand,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // The server logs one line per request (`tower_http`) and its own events at info.
                .unwrap_or_else(|_| {
                    tracing_subscriber::EnvFilter::new("warn,onegrid_server=info,tower_http=info")
                }),
        )
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: logs sent to a file or a journal stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("onegrid: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("onegrid: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Opens a database file, creating it (empty) when missing.
pub fn open_store(db: &std::path::Path) -> anyhow::Result<Arc<dyn Store>> {
    let mut options = onegrid_geo::index::IndexOptions::default();
    // A district sets its own snapping distance for points just outside every cell (default 50 m).
    if let Some(text) = std::env::var_os("ONEGRID_SNAP_M") {
        let text = text.to_string_lossy();
        options.snap_distance_m = text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|m| m.is_finite() && *m >= 0.0)
            .with_context(|| {
                format!("ONEGRID_SNAP_M={text:?} is not a distance in metres (e.g. 50)")
            })?;
    }
    let store = SqliteStore::open_with(db, options)?;
    Ok(Arc::new(store))
}

/// Opens a database that must already exist and hold reference data.
pub fn open_existing(db: &std::path::Path) -> anyhow::Result<Arc<dyn Store>> {
    if !db.exists() {
        anyhow::bail!(
            "database {} does not exist (create one with `onegrid demo --db {} --create-only`)",
            db.display(),
            db.display()
        );
    }
    open_store(db)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Commands::Demo {
            db,
            listen,
            create_only,
            web,
        } => {
            let config = web.config()?;
            let store = open_store(&db)?;
            if store.count_cases().await? == 0 && store.reference().areas.is_empty() {
                demo::create(store.as_ref(), chrono::Utc::now()).await?;
                eprintln!("created the Dongli demo in {}", db.display());
            } else {
                eprintln!("using the existing demo database {}", db.display());
            }
            demo::print_accounts(store.as_ref());
            if create_only {
                return Ok(ExitCode::SUCCESS);
            }
            serve(store, &listen, config).await
        }
        Commands::Serve { db, listen, web } => {
            let config = web.config()?;
            serve(open_existing(&db)?, &listen, config).await
        }
        Commands::Case { command } => case_cmd::run(command).await,
        Commands::Verify { db } => verify(&db).await,
        Commands::Kpi { db, by, days, json } => kpi(&db, &by, days, json).await,
        Commands::Load(args) => load::run(args).await,
        Commands::Bench { command } => bench::run(command).await,
        Commands::Grid { command } => grid_cmd::run(command).await,
        Commands::Text { command } => text_cmd::run(command).await,
        Commands::Apikey { command } => apikey_cmd::run(command).await,
        Commands::Report { command } => report_cmd::run(command).await,
        Commands::Projects { command } => projects_cmd::run(command).await,
    }
}

async fn serve(
    store: Arc<dyn Store>,
    listen: &str,
    config: onegrid_server::Config,
) -> anyhow::Result<ExitCode> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    eprintln!("onegrid is serving on http://{address}/ (Ctrl-C stops it)");
    let shutdown = async {
        // If the signal handler cannot be installed, serve until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let state = onegrid_server::AppState::new(store, config).await?;
    onegrid_server::serve(listener, state, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

async fn verify(db: &std::path::Path) -> anyhow::Result<ExitCode> {
    use onegrid_store::projects::{verify_events, ProjectFilter};
    let store = open_existing(db)?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("verifying {bar:40} {pos}/{len} cases")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress_bar = bar.clone();
    let report = store
        .verify(Arc::new(move |done, total| {
            progress_bar.set_length(total);
            progress_bar.set_position(done);
        }))
        .await?;
    bar.finish_and_clear();
    // Supervision tasks: each chain, and each stored task against the replay of its history.
    let tasks = store.supervision().verify_tasks().await?;
    // Major projects: each change record's chain.
    let mut projects = 0u64;
    let mut project_events = 0u64;
    let mut broken_projects = Vec::new();
    for project in store
        .projects()
        .list_projects(&ProjectFilter::default())
        .await?
    {
        let events = store.projects().project_events(project.id).await?;
        projects += 1;
        project_events += events.len() as u64;
        if let Err(problem) = verify_events(&events) {
            broken_projects.push(format!("project {}: {problem}", project.id));
        }
    }
    let summary = format!(
        "{} cases, {} events; {} supervision tasks, {} events; {} major projects, {} change events",
        report.cases, report.events, tasks.tasks, tasks.events, projects, project_events
    );
    if report.is_ok() && tasks.is_ok() && broken_projects.is_empty() {
        out!("ok: {summary}; every chain verifies")?;
        return Ok(ExitCode::SUCCESS);
    }
    // One line per broken chain, naming its first bad event.
    for broken in &report.broken {
        out!("BROKEN {}", broken.problem)?;
    }
    for broken in &tasks.broken {
        out!("BROKEN supervision {}", broken.problem)?;
    }
    for problem in &broken_projects {
        out!("BROKEN major {problem}")?;
    }
    out!(
        "{} of {} cases, {} of {} supervision tasks and {} of {} major projects do not verify ({summary})",
        report.broken.len(),
        report.cases,
        tasks.broken.len(),
        tasks.tasks,
        broken_projects.len(),
        projects,
    )?;
    Ok(ExitCode::from(3))
}

async fn kpi(db: &std::path::Path, by: &str, days: i64, json: bool) -> anyhow::Result<ExitCode> {
    use onegrid_core::kpi::{compute, KpiGrouping};
    let grouping = KpiGrouping::parse(by).with_context(|| {
        format!(
            "--by {by:?} is not one of: district, street, community, cell, department, category"
        )
    })?;
    anyhow::ensure!(days > 0, "--days must be at least 1");
    let store = open_existing(db)?;
    let to = chrono::Utc::now();
    let from = to - chrono::Duration::days(days);
    let histories = store.histories(from, to).await?;
    let reference = store.reference();
    let rows = compute(
        &reference.calendar,
        histories.iter().map(Vec::as_slice),
        grouping,
        from,
        to,
    )?;
    if json {
        out!("{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let percent =
        |rate: Option<f64>| rate.map_or("—".to_string(), |r| format!("{:.1}%", r * 100.0));
    out!(
        "{:<28} {:>6} {:>8} {:>8} {:>8} {:>6} {:>8} {:>8} {:>8} {:>8}",
        "",
        "上报",
        "按期处置率",
        "结案率",
        "返工率",
        "超期",
        "平均处置h",
        "响应率",
        "解决率",
        "满意率"
    )?;
    for row in &rows {
        let name = match grouping {
            KpiGrouping::Department if row.key == "grid" => "网格自处置".to_string(),
            KpiGrouping::Department if row.key == "unassigned" => "未派遣".to_string(),
            KpiGrouping::Department => onegrid_core::DepartmentCode::parse(&row.key)
                .ok()
                .and_then(|code| {
                    reference
                        .departments
                        .get(&code)
                        .map(|d| d.short_name.clone())
                })
                .unwrap_or_else(|| row.key.clone()),
            // Generated communities and cells repeat their names (第1网格…), so they carry the code.
            KpiGrouping::Community | KpiGrouping::Cell => {
                let name = onegrid_core::AreaCode::parse(&row.key)
                    .ok()
                    .and_then(|code| reference.areas.get(&code).map(|a| a.name.clone()))
                    .unwrap_or_default();
                format!("{} {name}", row.key)
            }
            _ => onegrid_core::AreaCode::parse(&row.key)
                .ok()
                .and_then(|code| reference.areas.get(&code).map(|a| a.name.clone()))
                .unwrap_or_else(|| row.key.clone()),
        };
        out!(
            "{:<28} {:>6} {:>8} {:>8} {:>8} {:>6} {:>8} {:>8} {:>8} {:>8}",
            name,
            row.reported,
            percent(row.on_time_handling_rate),
            percent(row.closure_rate),
            percent(row.rework_rate),
            row.overdue,
            row.mean_handling_hours
                .map_or("—".to_string(), |h| format!("{h:.1}")),
            percent(row.response_rate),
            percent(row.solution_rate),
            percent(row.satisfaction_rate),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
