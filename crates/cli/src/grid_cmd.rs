//! `onegrid grid`: import, export, validate, generate and locate — the grid layer from the terminal.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use onegrid_core::{Area, AreaCode, AreaLevel};
use onegrid_geo::crs::Crs;
use onegrid_geo::generate::{subdivide, GenerateOptions};
use onegrid_geo::read::{read_path, FieldMap, ReadOptions};
use onegrid_geo::validate::{validate, ValidateOptions};
use onegrid_geo::GridLayer;
use onegrid_store::{GridShape, Store};

/// Exit code of `grid validate` (and a refused `grid import`) when the layer has errors.
const EXIT_INVALID: u8 = 2;
/// Points read from stdin per batch in `grid locate`: large enough to keep both cores busy.
const LOCATE_BATCH: usize = 65_536;

#[derive(clap::Args)]
pub struct ReadArgs {
    /// The layer: GeoJSON (.geojson/.json) or an ESRI shapefile (.shp with its .dbf beside it).
    file: PathBuf,
    /// street, community or cell (default: what the codes' length says).
    #[arg(long, value_parser = parse_level)]
    level: Option<AreaLevel>,
    /// Which attribute holds what, e.g. --map code=WGBM,name=WGMC,parent=SQBM.
    #[arg(long = "map")]
    fields: Option<FieldMap>,
    /// The file's coordinate system: wgs84, gcj02 (Amap, Tencent) or bd09 (Baidu). Stored as WGS84.
    #[arg(long, default_value = "wgs84")]
    crs: Crs,
}

#[derive(clap::Subcommand)]
pub enum GridCommand {
    /// Validate a layer and store it in one transaction; a layer with errors is refused unless --force.
    Import {
        #[command(flatten)]
        read: ReadArgs,
        #[arg(long)]
        db: PathBuf,
        /// Store the layer even though validation found errors. Features must still have codes;
        /// features the reader had to leave out (unusable coordinates, no polygon) are not stored.
        #[arg(long)]
        force: bool,
        /// Mark the outlines as approximate (e.g. streets drawn from a sketch, not a survey).
        #[arg(long)]
        approximate: bool,
    },
    /// Write a stored layer as a GeoJSON FeatureCollection (WGS84) to stdout.
    Export {
        #[arg(long)]
        db: PathBuf,
        #[arg(long, value_parser = parse_level)]
        level: AreaLevel,
    },
    /// Check a layer and print every problem; exits with 2 when there are errors.
    Validate {
        #[command(flatten)]
        read: ReadArgs,
        /// Check nesting, gaps and overlaps against the parent layer stored in this database.
        #[arg(long)]
        db: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Cut each polygon of a parent layer into children of a target area (GeoJSON to stdout).
    Generate {
        /// The parent layer: a file (the district boundary, streets or communities)…
        #[arg(long, conflicts_with = "db")]
        parents: Option<PathBuf>,
        /// …or the layer of --under stored in this database.
        #[arg(long)]
        db: Option<PathBuf>,
        /// With --db: the stored level to cut (district, street or community).
        #[arg(long, value_parser = parse_level, default_value = "community")]
        under: AreaLevel,
        /// The parents file's coordinate system.
        #[arg(long, default_value = "wgs84")]
        crs: Crs,
        /// Which attribute of the parents file holds the code and the name, e.g. code=XZQDM,name=XZQMC.
        #[arg(long = "map")]
        fields: Option<FieldMap>,
        /// Target area of each child in m² (200000 ≈ a 450 m square).
        #[arg(long, default_value_t = 200_000.0)]
        area_m2: f64,
        /// Seed of the layout, so a run can be repeated exactly.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Read `lon,lat` lines on stdin, write each point's cell code (an empty line when refused).
    Locate {
        #[arg(long)]
        db: PathBuf,
        /// Write `code,distance_m` (distance 0 inside a cell).
        #[arg(long)]
        with_distance: bool,
        /// The input's coordinate system.
        #[arg(long, default_value = "wgs84")]
        crs: Crs,
    },
}

fn parse_level(text: &str) -> Result<AreaLevel, String> {
    AreaLevel::parse(text)
        .ok_or_else(|| format!("unknown level {text:?}; use district, street, community or cell"))
}

pub async fn run(command: GridCommand) -> anyhow::Result<ExitCode> {
    match command {
        GridCommand::Import {
            read,
            db,
            force,
            approximate,
        } => import(&read, &db, force, approximate).await,
        GridCommand::Export { db, level } => export(&db, level).await,
        GridCommand::Validate { read, db, json } => validate_file(&read, db.as_deref(), json).await,
        GridCommand::Generate {
            parents,
            db,
            under,
            crs,
            fields,
            area_m2,
            seed,
        } => {
            let parents = parents.map(|file| ReadArgs {
                file,
                level: None,
                fields,
                crs,
            });
            generate(parents.as_ref(), db.as_deref(), under, area_m2, seed).await
        }
        GridCommand::Locate {
            db,
            with_distance,
            crs,
        } => locate(&db, with_distance, crs),
    }
}

/// Reads the file and validates it against the parent layer in `store` (when given).
async fn read_and_check(
    args: &ReadArgs,
    store: Option<&dyn Store>,
) -> anyhow::Result<(GridLayer, onegrid_geo::validate::Report)> {
    let options = ReadOptions {
        fields: args.fields.clone().unwrap_or_default(),
        crs: args.crs,
        ..ReadOptions::default()
    };
    let outcome = read_path(&args.file, &options)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let mut layer = outcome.layer;
    if args.level.is_some() {
        layer.level = args.level;
    }
    let level = layer.level.or_else(|| layer.implied_level());
    let parents = match (store, level.and_then(AreaLevel::parent)) {
        (Some(store), Some(parent_level)) => {
            onegrid_store::grid::to_grid_layer(parent_level, store.grid_layer(parent_level).await?)
                .features
        }
        _ => Vec::new(),
    };
    let mut report = validate(
        &layer,
        &ValidateOptions {
            level,
            parents,
            ..ValidateOptions::default()
        },
    );
    // Problems found while reading (unclosed rings, swapped coordinates…) come first.
    let mut problems = outcome.problems;
    problems.append(&mut report.problems);
    report.problems = problems;
    layer.level = level;
    Ok((layer, report))
}

async fn validate_file(args: &ReadArgs, db: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    let store = match db {
        Some(db) => Some(crate::open_existing(db)?),
        None => None,
    };
    let (_, report) = read_and_check(args, store.as_deref()).await?;
    if json {
        out!("{}", serde_json::to_string_pretty(&report.problems)?)?;
    } else {
        out!("{report}")?;
    }
    Ok(if report.has_errors() {
        ExitCode::from(EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    })
}

async fn import(
    args: &ReadArgs,
    db: &Path,
    force: bool,
    approximate: bool,
) -> anyhow::Result<ExitCode> {
    let store = crate::open_existing(db)?;
    let (layer, report) = read_and_check(args, Some(store.as_ref())).await?;
    if report.has_errors() {
        eprintln!("{report}");
        if !force {
            eprintln!(
                "nothing was imported: the layer has errors (fix them, or pass --force to import it anyway)"
            );
            return Ok(ExitCode::from(EXIT_INVALID));
        }
        eprintln!("importing despite the errors above (--force)");
    } else if !report.problems.is_empty() {
        eprintln!("{report}");
    }
    let level = layer
        .level
        .context("the layer's level is unknown: its codes have mixed lengths; pass --level")?;
    if level == AreaLevel::District && layer.features.len() != 1 {
        anyhow::bail!(
            "a district layer holds exactly one polygon; this one has {}",
            layer.features.len()
        );
    }
    let shapes = layer
        .features
        .into_iter()
        .map(|feature| {
            let code = AreaCode::parse(&feature.code)
                .with_context(|| format!("feature #{} cannot be stored", feature.index))?;
            let existing = store.reference().areas.get(&code).cloned();
            Ok(GridShape {
                area: Area {
                    name: if feature.name.trim().is_empty() {
                        existing
                            .as_ref()
                            .map(|a| a.name.clone())
                            .unwrap_or_else(|| code.to_string())
                    } else {
                        feature.name.trim().to_string()
                    },
                    generated: existing.is_some_and(|a| a.generated),
                    code,
                },
                geometry: feature.geometry,
                approximate,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let summary = store
        .put_grid_layer(level, shapes, chrono::Utc::now())
        .await?;
    eprintln!(
        "imported {} {level} shapes into {} ({} new areas, {} renamed, {} {level}s left without a shape)",
        summary.shapes,
        db.display(),
        summary.added_areas,
        summary.renamed_areas,
        summary.without_shape
    );
    Ok(ExitCode::SUCCESS)
}

async fn export(db: &Path, level: AreaLevel) -> anyhow::Result<ExitCode> {
    let store = crate::open_existing(db)?;
    let shapes = store.grid_layer(level).await?;
    if shapes.is_empty() {
        anyhow::bail!("{} has no {level} layer", db.display());
    }
    out!(
        "{}",
        onegrid_geo::write::to_geojson(&onegrid_store::grid::to_grid_layer(level, shapes))
    )?;
    Ok(ExitCode::SUCCESS)
}

async fn generate(
    parents_file: Option<&ReadArgs>,
    db: Option<&Path>,
    under: AreaLevel,
    area_m2: f64,
    seed: u64,
) -> anyhow::Result<ExitCode> {
    let parents = match (parents_file, db) {
        (Some(file), _) => {
            // Cutting a broken boundary would hide its faults in the children: refuse it.
            let (layer, report) = read_and_check(file, None).await?;
            if report.has_errors() {
                eprintln!("{report}");
                eprintln!("nothing was generated: the parents file has errors");
                return Ok(ExitCode::from(EXIT_INVALID));
            }
            if !report.problems.is_empty() {
                eprintln!("{report}");
            }
            layer
        }
        (None, Some(db)) => {
            let store = crate::open_existing(db)?;
            let shapes = store.grid_layer(under).await?;
            if shapes.is_empty() {
                anyhow::bail!("{} has no {under} layer to cut", db.display());
            }
            onegrid_store::grid::to_grid_layer(under, shapes)
        }
        (None, None) => anyhow::bail!("say what to cut: --parents FILE or --db PATH"),
    };
    let children = subdivide(
        &parents.features,
        &GenerateOptions {
            target_area_m2: area_m2,
            seed,
            ..GenerateOptions::default()
        },
    )?;
    let level = children
        .first()
        .and_then(|c| AreaLevel::from_code_len(c.code.len()));
    eprintln!(
        "generated {} {} polygons under {} parents",
        children.len(),
        level.map(AreaLevel::as_str).unwrap_or("child"),
        parents.features.len()
    );
    out!(
        "{}",
        onegrid_geo::write::to_geojson(&GridLayer {
            level,
            features: children,
        })
    )?;
    Ok(ExitCode::SUCCESS)
}

fn locate(db: &Path, with_distance: bool, crs: Crs) -> anyhow::Result<ExitCode> {
    let store = crate::open_existing(db)?;
    let index = store
        .cell_index()
        .ok_or(onegrid_store::StoreError::NoGrid)?;
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    // Lines as bytes: a line that is not UTF-8 is one unreadable line, not the end of the input.
    let mut lines = stdin.split(b'\n').enumerate();
    let mut refused = 0u64;
    let mut unreadable = 0u64;
    let mut batch: Vec<Option<geo::Coord<f64>>> = Vec::with_capacity(LOCATE_BATCH);
    let mut points: Vec<geo::Coord<f64>> = Vec::with_capacity(LOCATE_BATCH);
    loop {
        batch.clear();
        points.clear();
        while batch.len() < LOCATE_BATCH {
            let Some((number, line)) = lines.next() else {
                break;
            };
            let line = line.context("cannot read stdin")?;
            let text = String::from_utf8_lossy(&line);
            let trimmed = text.trim().trim_start_matches('\u{feff}');
            if number == 0 && trimmed.eq_ignore_ascii_case("lon,lat") {
                continue;
            }
            let point = std::str::from_utf8(&line)
                .ok()
                .and_then(|_| crate::case_cmd::parse_point(trimmed).ok());
            match point {
                Some(point) => {
                    let wgs84 = crs.to_wgs84(geo::Coord {
                        x: point.lon,
                        y: point.lat,
                    });
                    batch.push(Some(wgs84));
                    points.push(wgs84);
                }
                None => {
                    if unreadable < 10 {
                        eprintln!("line {}: {trimmed:?} is not `lon,lat`", number + 1);
                    }
                    unreadable += 1;
                    batch.push(None);
                }
            }
        }
        if batch.is_empty() {
            break;
        }
        let mut results = index.locate_batch(&points).into_iter();
        for slot in &batch {
            let result = match slot {
                Some(_) => results.next(),
                None => None,
            };
            let written = match result {
                Some(Ok(found)) if with_distance => {
                    writeln!(stdout, "{},{:.1}", index.code(found.cell), found.distance_m)
                }
                Some(Ok(found)) => writeln!(stdout, "{}", index.code(found.cell)),
                Some(Err(_)) | None => {
                    if slot.is_some() {
                        refused += 1;
                    }
                    writeln!(stdout)
                }
            };
            if let Err(error) = written {
                if error.kind() == std::io::ErrorKind::BrokenPipe {
                    return Ok(ExitCode::SUCCESS);
                }
                return Err(error.into());
            }
        }
    }
    if let Err(error) = stdout.flush() {
        if error.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(error.into());
        }
    }
    if refused > 0 || unreadable > 0 {
        eprintln!(
            "{refused} points outside the district (beyond {} m of every cell), {unreadable} unreadable lines: empty lines written for them",
            index.snap_distance_m()
        );
    }
    Ok(ExitCode::SUCCESS)
}
