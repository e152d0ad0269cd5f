//! `onegrid projects`: major projects (重大项目) — import from Excel, export, rates, and a sample
//! workbook for the demo. The work is done by `onegrid_server::projects`, as over HTTP.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{Duration, NaiveDate, Utc};
use onegrid_core::area::AreaLevel;
use onegrid_core::projects::{ProjectFields, RateGrouping, StageDates};
use onegrid_core::PersonId;
use onegrid_server::projects::{
    export_csv_text, export_workbook, import_workbook, layout_workbook, period, rates_view,
    ImportError,
};
use onegrid_store::projects::{china_today, ProjectFilter};
use onegrid_store::Store;

use crate::open_existing;

#[derive(clap::Subcommand)]
pub enum ProjectsCommand {
    /// Import projects from an Excel workbook (layout in docs/projects.md §4). Every bad row is
    /// reported with its row number; nothing is stored when a row is bad, unless --skip-bad.
    Import {
        file: PathBuf,
        #[arg(long)]
        db: PathBuf,
        /// Store the good rows and report the bad ones.
        #[arg(long)]
        skip_bad: bool,
        /// Who the change record names.
        #[arg(long = "as", default_value = "admin")]
        actor: String,
    },
    /// Export every project (.xlsx with the rates per department and park, or .csv).
    Export {
        file: PathBuf,
        #[arg(long)]
        db: PathBuf,
        /// First day of the rates' period (default 1 January of this year).
        #[arg(long)]
        from: Option<NaiveDate>,
        /// Day after the period (default tomorrow).
        #[arg(long)]
        to: Option<NaiveDate>,
    },
    /// Print the five rates for a period, per department or park.
    Rates {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        from: Option<NaiveDate>,
        #[arg(long)]
        to: Option<NaiveDate>,
        /// department or park.
        #[arg(long, default_value = "department")]
        by: String,
        #[arg(long)]
        json: bool,
    },
    /// Write a sample import workbook of generated projects (names marked 「（示例）」) placed in the
    /// database's grid cells.
    Sample {
        file: PathBuf,
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value_t = 12)]
        count: usize,
    },
}

pub async fn run(command: ProjectsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ProjectsCommand::Import {
            file,
            db,
            skip_bad,
            actor,
        } => import(&file, &db, skip_bad, &actor).await,
        ProjectsCommand::Export { file, db, from, to } => export(&file, &db, from, to).await,
        ProjectsCommand::Rates {
            db,
            from,
            to,
            by,
            json,
        } => rates(&db, from, to, &by, json).await,
        ProjectsCommand::Sample { file, db, count } => sample(&file, &db, count).await,
    }
}

async fn import(file: &Path, db: &Path, skip_bad: bool, actor: &str) -> anyhow::Result<ExitCode> {
    let store = open_existing(db)?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let actor = PersonId::parse(actor).map_err(|e| anyhow::anyhow!("--as: {e}"))?;
    match import_workbook(store.as_ref(), &bytes, skip_bad, None, &actor, Utc::now()).await {
        Ok(report) => {
            for bad in &report.bad {
                eprintln!("row {}: {} (skipped)", bad.row, bad.problem);
            }
            if !report.ignored_columns.is_empty() {
                eprintln!("ignored columns: {}", report.ignored_columns.join(", "));
            }
            out!(
                "imported {} project(s) from {}{}",
                report.stored.len(),
                file.display(),
                if report.bad.is_empty() {
                    String::new()
                } else {
                    format!("; {} bad row(s) skipped", report.bad.len())
                }
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(ImportError::BadRows(rows)) => {
            for bad in &rows {
                eprintln!("row {}: {}", bad.row, bad.problem);
            }
            eprintln!(
                "onegrid: {} bad row(s) in {}, so nothing was stored; fix them or give --skip-bad",
                rows.len(),
                file.display()
            );
            Ok(ExitCode::from(1))
        }
        Err(other) => anyhow::bail!("{}: {}", file.display(), other.sentence()),
    }
}

async fn export(
    file: &Path,
    db: &Path,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> anyhow::Result<ExitCode> {
    let store = open_existing(db)?;
    let projects = store
        .projects()
        .list_projects(&ProjectFilter::default())
        .await?;
    let reference = store.reference();
    let csv = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let bytes = if csv {
        export_csv_text(&reference, &projects).into_bytes()
    } else {
        let (from, to) =
            period(from, to, chrono::Utc::now()).map_err(|e| anyhow::anyhow!("{}", e.detail))?;
        export_workbook(&reference, &projects, from, to).map_err(|e| anyhow::anyhow!("{e}"))?
    };
    std::fs::write(file, bytes).with_context(|| format!("cannot write {}", file.display()))?;
    out!("wrote {} project(s) to {}", projects.len(), file.display())?;
    Ok(ExitCode::SUCCESS)
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or("—".to_string(), |r| format!("{:.1}%", r * 100.0))
}

async fn rates(
    db: &Path,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    by: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let grouping = RateGrouping::parse(by)
        .with_context(|| format!("--by {by:?} is not one of: department, park"))?;
    let store = open_existing(db)?;
    let projects = store
        .projects()
        .list_projects(&ProjectFilter::default())
        .await?;
    let (from, to) =
        period(from, to, chrono::Utc::now()).map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let view = rates_view(&store.reference(), &projects, grouping, from, to)
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    if json {
        out!("{}", serde_json::to_string_pretty(&view)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    out!("period [{from}, {to}), by {}", grouping.as_str())?;
    out!("group\tprojects\t签约率\t落地率\t开工率\t投达产率\t综合贡献率")?;
    for row in view.rows.iter().chain([&view.total]) {
        let f = &row.figures;
        out!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            row.name,
            f.projects,
            percent(f.signing.rate),
            percent(f.landing.rate),
            percent(f.start.rate),
            percent(f.production.rate),
            percent(f.contribution_rate)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Generated kinds of project; every name is marked 「（示例）」.
const KINDS: [&str; 8] = [
    "智能制造产业园",
    "新能源装备基地",
    "生物医药研发中心",
    "航空物流仓储",
    "数据中心",
    "新材料生产线",
    "商业综合体",
    "现代都市农业园",
];

async fn sample(file: &Path, db: &Path, count: usize) -> anyhow::Result<ExitCode> {
    let store = open_existing(db)?;
    let (bytes, written) = sample_workbook(store.as_ref(), count).await?;
    std::fs::write(file, bytes).with_context(|| format!("cannot write {}", file.display()))?;
    out!(
        "wrote {written} sample project(s) to {} (import with `onegrid projects import {} --db {}`)",
        file.display(),
        file.display(),
        db.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// A workbook in the import layout of `count` generated projects (names marked 「（示例）」) placed in
/// the store's grid cells, at every stage of the pipeline; the demo imports one.
pub async fn sample_workbook(store: &dyn Store, count: usize) -> anyhow::Result<(Vec<u8>, usize)> {
    use geo::InteriorPoint;
    let reference = store.reference();
    let cells = store.grid_layer(AreaLevel::Cell).await?;
    anyhow::ensure!(
        !cells.is_empty(),
        "the database has no grid cells; import a cell layer first"
    );
    let departments: Vec<_> = reference
        .departments
        .iter()
        .map(|d| d.code.clone())
        .collect();
    let parks: Vec<String> = reference
        .areas
        .iter()
        .filter(|a| {
            a.code.as_str().len() == 9 && a.name.ends_with('区') && !a.name.ends_with("街道")
        })
        .map(|a| a.code.as_str().to_string())
        .collect();
    let today = china_today(Utc::now());
    let day = |days_ago: i64| today - Duration::days(days_ago);
    let mut projects: Vec<ProjectFields> = Vec::new();
    for i in 0..count {
        let shape = &cells[(i * 7919) % cells.len()];
        let point = shape
            .geometry
            .interior_point()
            .context("a grid cell without an interior point")?;
        // Projects further along the pipeline the lower their number.
        let reached = 4usize.saturating_sub(i % 5);
        let base = 300 - (i as i64 * 17) % 200;
        let stage = |k: usize, planned_offset: i64| StageDates {
            planned: Some(day(base - planned_offset)),
            actual: (k < reached).then(|| day(base - planned_offset - (i as i64 % 3) * 5)),
        };
        let producing = reached == 4;
        projects.push(ProjectFields {
            name: format!("{}{}号（示例）", KINDS[i % KINDS.len()], i + 1),
            investment: 2.0 + (i as f64 * 3.7) % 40.0,
            department: departments[i % departments.len()].clone(),
            park: (!parks.is_empty() && i % 3 != 2).then(|| parks[i % parks.len()].clone()),
            lon: point.x(),
            lat: point.y(),
            signing: stage(0, 0),
            landing: stage(1, 40),
            start: stage(2, 90),
            production: stage(3, 180),
            planned_contribution: Some(1.0 + (i as f64 * 0.9) % 6.0),
            actual_contribution: producing.then(|| 0.8 + (i as f64 * 0.7) % 5.0),
        });
    }
    // Planned dates past today stay plans; actual dates past today are not recorded yet.
    for p in &mut projects {
        for stage in onegrid_core::projects::Stage::ALL {
            let dates = p.stage_mut(stage);
            if dates.actual.is_some_and(|d| d > today) {
                dates.actual = None;
            }
        }
        // Keep the stage order after the clean-up.
        let mut open = true;
        for stage in onegrid_core::projects::Stage::ALL {
            let dates = p.stage_mut(stage);
            if !open {
                dates.actual = None;
            }
            open = dates.actual.is_some();
        }
        if p.production.actual.is_none() {
            p.actual_contribution = None;
        }
    }
    let bytes = layout_workbook(&reference, &projects).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((bytes, projects.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::DEMO_PROJECTS;

    /// The demo database, a sample workbook imported from it, then a bad workbook refused whole.
    #[tokio::test]
    async fn sample_import_and_refusal() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("demo.db");
        {
            let store = crate::open_store(&db).expect("store");
            crate::demo::create(store.as_ref(), Utc::now())
                .await
                .expect("demo");
        }
        let file = dir.path().join("sample.xlsx");
        assert_eq!(
            sample(&file, &db, 6).await.expect("sample"),
            ExitCode::SUCCESS
        );
        assert_eq!(
            import(&file, &db, false, "admin").await.expect("import"),
            ExitCode::SUCCESS
        );
        let store = open_existing(&db).expect("store");
        let stored = store
            .projects()
            .list_projects(&ProjectFilter::default())
            .await
            .expect("list");
        // The demo's own generated projects, and the six imported here.
        assert_eq!(stored.len(), DEMO_PROJECTS + 6);
        assert!(stored.iter().all(|p| p.fields.name.ends_with("（示例）")));
        let stored: Vec<_> = stored
            .into_iter()
            .filter(|p| p.id > DEMO_PROJECTS as u64)
            .collect();
        drop(store);

        // One row outside the district: nothing stored, exit code 1; with --skip-bad, the rest.
        let reference = open_existing(&db).expect("store").reference();
        let mut fields: Vec<ProjectFields> = stored.iter().map(|p| p.fields.clone()).collect();
        fields[0].lon = 100.0;
        let bad = dir.path().join("bad.xlsx");
        std::fs::write(
            &bad,
            layout_workbook(&reference, &fields).expect("workbook"),
        )
        .expect("write");
        assert_eq!(
            import(&bad, &db, false, "admin").await.expect("import"),
            ExitCode::from(1)
        );
        let count = |db: PathBuf| async move {
            open_existing(&db)
                .expect("store")
                .projects()
                .list_projects(&ProjectFilter::default())
                .await
                .expect("list")
                .len()
        };
        assert_eq!(count(db.clone()).await, DEMO_PROJECTS + 6);
        assert_eq!(
            import(&bad, &db, true, "admin").await.expect("import"),
            ExitCode::SUCCESS
        );
        assert_eq!(count(db.clone()).await, DEMO_PROJECTS + 11);
        assert_eq!(
            rates(&db, None, None, "park", false).await.expect("rates"),
            ExitCode::SUCCESS
        );
        assert!(rates(&db, None, None, "street", false).await.is_err());
    }
}
