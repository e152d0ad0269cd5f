//! `onegrid load`: concurrent writers sending synthetic reports, printing each id once it is
//! acknowledged (durable). The crash test kills it mid-run and checks every printed id survived.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use onegrid_core::{
    Actor, AreaCode, AreaLevel, CategoryCode, Channel, NewReport, Reference, Reporter, Role,
};

#[derive(clap::Args)]
pub struct LoadArgs {
    /// A database holding reference data (e.g. made by `onegrid demo --create-only`).
    #[arg(long)]
    pub db: PathBuf,
    /// Concurrent writers.
    #[arg(long, default_value_t = 8)]
    pub writers: usize,
    /// Reports to write in all.
    #[arg(long, default_value_t = 10_000)]
    pub reports: u64,
}

/// The 12345 integrator account that synthetic reports are written as.
pub fn load_actor(reference: &Reference) -> anyhow::Result<Actor> {
    reference
        .people
        .values()
        .find(|p| p.role == Role::Integrator)
        .map(|p| p.actor())
        .context("the database has no integrator account to write reports as (create it with `onegrid demo --create-only`)")
}

/// Synthetic reports: cells and categories taken in turn, so that every report is valid.
pub struct SyntheticReports {
    cells: Vec<(AreaCode, String)>,
    categories: Vec<(CategoryCode, String)>,
}

impl SyntheticReports {
    pub fn new(reference: &Reference) -> anyhow::Result<SyntheticReports> {
        let cells: Vec<_> = reference
            .areas
            .at_level(AreaLevel::Cell)
            .map(|a| (a.code.clone(), a.name.clone()))
            .collect();
        let categories: Vec<_> = reference
            .taxonomy
            .iter()
            .map(|c| (c.code.clone(), c.name.clone()))
            .collect();
        anyhow::ensure!(
            !cells.is_empty() && !categories.is_empty(),
            "the database has no grid cells or no categories"
        );
        Ok(SyntheticReports { cells, categories })
    }

    /// The n-th report.
    pub fn report(&self, n: u64) -> NewReport {
        let (cell, cell_name) = &self.cells[(n as usize) % self.cells.len()];
        let (category, category_name) = &self.categories[(n as usize * 7) % self.categories.len()];
        NewReport {
            channel: Channel::Hotline12345,
            reporter: Reporter {
                channel: Channel::Hotline12345,
                person: None,
                name: Some("测试来电人".to_string()),
                phone: Some(format!("1380000{:04}", n % 10_000)),
            },
            cell: cell.clone(),
            point: None,
            distance_to_cell_m: None,
            address: Some(format!("{cell_name}附近")),
            category: category.clone(),
            title: format!("负载测试工单 {n}：{category_name}"),
            description: format!("合成的测试工单（非真实来电），编号 {n}，用于压力与崩溃测试。"),
            photos: Vec::new(),
            tier: None,
            tier_reason: None,
            proposal: None,
        }
    }
}

pub async fn run(args: LoadArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.writers > 0, "--writers must be at least 1");
    let store = crate::open_existing(&args.db)?;
    let reference = store.reference();
    let actor = Arc::new(load_actor(&reference)?);
    let synthetic = Arc::new(SyntheticReports::new(&reference)?);
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..args.writers {
        let store = store.clone();
        let synthetic = synthetic.clone();
        let actor = actor.clone();
        let next = next.clone();
        let total = args.reports;
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return Ok::<(), anyhow::Error>(());
                }
                let report = synthetic.report(n);
                let case = store.report(report, &actor, chrono::Utc::now()).await?;
                // Printed only after the store acknowledged the durable write.
                let mut stdout = std::io::stdout().lock();
                writeln!(stdout, "{}", case.id)?;
                stdout.flush()?;
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(ExitCode::SUCCESS)
}
