//! `onegrid bench grid`: point → cell assignment with onegrid's `CellIndex`, beside what a user would
//! otherwise build — an R-tree of cell bounding boxes with `geo`'s exact `Contains` (geo + rstar) — and
//! beside PostgreSQL + PostGIS (`ST_Contains` join with GiST indexes). All three get the same layer and the
//! same points, each is timed separately for loading/building and for the query, and their answers must
//! agree on every point.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use geo::{BoundingRect, Contains, Coord, MultiPolygon, Point};
use onegrid_geo::index::synthetic::{Lattice, SplitMix};
use onegrid_geo::index::{CellIndex, IndexOptions};
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;

/// Goals: onegrid's query throughput at least this many times PostGIS's and geo + rstar's.
const GOAL_VS_POSTGIS: f64 = 100.0;
const GOAL_VS_RSTAR: f64 = 3.0;
/// Memory goal for an index of 10,000 cells of 50 vertices.
const GOAL_MEMORY_BYTES: usize = 50 * 1024 * 1024;
/// Points per parallel chunk, for both in-memory contestants.
const CHUNK: usize = 16 * 1024;

#[derive(clap::Args)]
pub struct GridBenchArgs {
    /// Numbers of random points to locate, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000000")]
    points: Vec<usize>,
    /// Cells of the generated layer (irregular, 30–60 vertices, about 25 km × 25 km around 117.4E 39.1N).
    #[arg(long, default_value_t = 2000)]
    cells: usize,
    /// Take the layer from this file (GeoJSON or shapefile) instead of generating one.
    #[arg(long)]
    layer: Option<PathBuf>,
    /// Seed of the generated layer and points.
    #[arg(long, default_value_t = 20_240_601)]
    seed: u64,
    /// Timed runs of each in-memory query; the fastest is reported. PostGIS runs once per size.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// PostgreSQL connection string for PostGIS (default: 127.0.0.1:5432, database test, user $PGUSER,
    /// then postgres, then root, trust authentication).
    #[arg(long, env = "ONEGRID_BENCH_POSTGRES")]
    postgres: Option<String>,
    /// Leave PostGIS out.
    #[arg(long)]
    no_postgis: bool,
    /// Time onegrid's index alone (for profiling: no comparison, no goals).
    #[arg(long, hide = true)]
    index_only: bool,
    /// Leave out the 10,000-cell × 50-vertex memory check.
    #[arg(long)]
    no_memory_check: bool,
}

pub fn run(args: GridBenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.rounds > 0, "--rounds must be at least 1");
    anyhow::ensure!(
        !args.points.is_empty() && args.points.iter().all(|&n| n > 0),
        "--points must list one or more counts, each at least 1"
    );
    anyhow::ensure!(
        args.points.iter().all(|&n| n <= i32::MAX as usize),
        "--points: at most {} points per run",
        i32::MAX
    );
    // The PostgreSQL client runs its own async runtime, which cannot start inside the caller's: the
    // whole benchmark runs on a plain thread.
    std::thread::scope(|scope| {
        scope
            .spawn(|| bench(&args))
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the benchmark thread panicked")))
    })
}

/// The layer under test.
struct Layer {
    description: String,
    cells: Vec<(String, MultiPolygon<f64>)>,
    bbox: [f64; 4],
}

/// One contestant's figures for one point count.
struct Figures {
    name: String,
    load: Duration,
    query: Duration,
    points: usize,
}

impl Figures {
    fn rate(&self) -> f64 {
        self.points as f64 / self.query.as_secs_f64().max(1e-9)
    }
}

fn bench(args: &GridBenchArgs) -> anyhow::Result<ExitCode> {
    let layer = load_layer(args)?;
    let vertex_counts: Vec<usize> = layer
        .cells
        .iter()
        .map(|(_, g)| {
            g.0.iter()
                .map(|p| {
                    p.exterior().0.len().saturating_sub(1)
                        + p.interiors()
                            .iter()
                            .map(|r| r.0.len().saturating_sub(1))
                            .sum::<usize>()
                })
                .sum()
        })
        .collect();
    let total_vertices: usize = vertex_counts.iter().sum();
    println!("onegrid bench grid — point → cell, three ways, same layer and points");
    println!(
        "layer: {} — {} cells, {} vertices ({}–{} per cell), bbox {:.4},{:.4} – {:.4},{:.4}",
        layer.description,
        layer.cells.len(),
        group(total_vertices),
        vertex_counts.iter().min().copied().unwrap_or(0),
        vertex_counts.iter().max().copied().unwrap_or(0),
        layer.bbox[0],
        layer.bbox[1],
        layer.bbox[2],
        layer.bbox[3],
    );
    println!(
        "machine: {} rayon threads; in-memory queries: fastest of {} runs; PostGIS: one run",
        rayon::current_num_threads(),
        args.rounds
    );

    // Contestant 1: onegrid. Snapping plays no part: the comparison is exact containment.
    let started = Instant::now();
    let index = CellIndex::build(&layer.cells, IndexOptions::default())
        .context("cannot build the onegrid index of the layer")?;
    let onegrid_build = started.elapsed();
    let stats = index.stats();
    println!(
        "onegrid index: built in {}, {} MiB; {} tiles of {:.0} × {:.0} m, {} on a boundary; {} sub-tiles, \
         {} mixed ({:.1} % of the area), {} edge runs",
        ms(onegrid_build),
        mib(index.memory_bytes()),
        group(stats.tiles),
        stats.tile_width_deg * 111_320.0 * mid_lat(&layer).to_radians().cos(),
        stats.tile_height_deg * 111_000.0,
        group(stats.boundary_tiles),
        group(stats.subtiles),
        group(stats.mixed_subtiles),
        stats.mixed_area_share * 100.0,
        group(stats.runs),
    );

    // Contestant 2: geo + rstar.
    let started = Instant::now();
    let tree = rtree_of(&layer.cells);
    let rstar_build = started.elapsed();

    // Contestant 3: PostGIS, when reachable.
    let mut postgis = if args.no_postgis {
        println!("PostGIS: left out (--no-postgis)");
        None
    } else {
        match Postgis::connect(args.postgres.as_deref()) {
            Ok(mut pg) => match pg.load_cells(&layer.cells) {
                Ok(()) => {
                    println!(
                        "PostGIS: {} at {}; cells loaded with a GiST index in {}",
                        pg.version,
                        pg.target,
                        ms(pg.cells_load)
                    );
                    Some(pg)
                }
                Err(error) => {
                    println!("PostGIS: skipped — cannot load the cells: {error:#}");
                    None
                }
            },
            Err(error) => {
                println!("PostGIS: skipped — {error:#}");
                None
            }
        }
    };

    let mut disagreements_total = 0usize;
    let mut goals_met = true;
    for &n in &args.points {
        println!();
        let points = random_points(&layer.bbox, n, args.seed ^ n as u64);
        let mut figures = Vec::new();

        let mut ours = vec![None; n];
        let query = fastest(args.rounds, || {
            index
                .containing_cells_into(&points, &mut ours)
                .map_err(anyhow::Error::from)
        })?;
        figures.push(Figures {
            name: "onegrid CellIndex".into(),
            load: onegrid_build,
            query,
            points: n,
        });
        if args.index_only {
            println!(
                "{} points: onegrid {} ({})",
                group(n),
                ms(query),
                rate(figures[0].rate())
            );
            continue;
        }

        let mut theirs = vec![None; n];
        let query = fastest(args.rounds, || {
            rtree_locate(&tree, &layer.cells, &points, &mut theirs);
            Ok(())
        })?;
        figures.push(Figures {
            name: "geo + rstar".into(),
            load: rstar_build,
            query,
            points: n,
        });

        let mut postgis_answers = None;
        if let Some(pg) = postgis.as_mut() {
            match pg.run(&layer.cells, &points) {
                Ok((load, query, answers)) => {
                    figures.push(Figures {
                        name: "PostGIS ST_Contains".into(),
                        load,
                        query,
                        points: n,
                    });
                    postgis_answers = Some(answers);
                }
                Err(error) => println!("PostGIS: failed on {} points: {error:#}", group(n)),
            }
        }

        let inside = ours.iter().filter(|c| c.is_some()).count();
        println!(
            "{} random points over the layer's bounding box (seed {}), {:.1} % inside a cell",
            group(n),
            args.seed ^ n as u64,
            inside as f64 * 100.0 / n as f64
        );
        println!(
            "{:<22} {:>14} {:>12} {:>16}",
            "contestant", "load/build", "query", "points/s"
        );
        for f in &figures {
            println!(
                "{:<22} {:>14} {:>12} {:>16}",
                f.name,
                ms(f.load),
                ms(f.query),
                rate(f.rate())
            );
        }

        // Every point: the same cell (or none) from each contestant.
        let mut disagreements = count_disagreements("geo + rstar", &ours, &theirs, &points, &layer);
        if let Some(answers) = &postgis_answers {
            disagreements += count_disagreements("PostGIS", &ours, answers, &points, &layer);
        }
        println!(
            "agreement: {} disagreements among {} contestants on {} points",
            disagreements,
            figures.len(),
            group(n)
        );
        disagreements_total += disagreements;

        let onegrid_rate = figures[0].rate();
        let vs_rstar = onegrid_rate / figures[1].rate();
        let met = vs_rstar >= GOAL_VS_RSTAR;
        goals_met &= met;
        println!(
            "goal onegrid ≥ {GOAL_VS_RSTAR}× geo + rstar: {vs_rstar:.1}× — {}",
            verdict(met)
        );
        if let Some(pg) = figures.get(2) {
            let vs_postgis = onegrid_rate / pg.rate();
            let met = vs_postgis >= GOAL_VS_POSTGIS;
            goals_met &= met;
            println!(
                "goal onegrid ≥ {GOAL_VS_POSTGIS}× PostGIS: {vs_postgis:.0}× — {} (with loading: {:.0}×)",
                verdict(met),
                (pg.load + pg.query).as_secs_f64()
                    / (figures[0].load + figures[0].query).as_secs_f64(),
            );
        } else {
            println!("goal onegrid ≥ {GOAL_VS_POSTGIS}× PostGIS: not measured (PostGIS skipped)");
        }
    }
    if let Some(pg) = postgis.as_mut() {
        pg.drop_tables();
    }

    if !args.no_memory_check {
        println!();
        let big = Lattice::around(117.4, 39.1, 56_000.0, 10_000, (48, 52), args.seed).cells();
        let vertices: usize = big.iter().map(|(_, g)| g.0[0].exterior().0.len() - 1).sum();
        let started = Instant::now();
        let index = CellIndex::build(&big, IndexOptions::default())
            .context("cannot build the 10,000-cell index")?;
        let build = started.elapsed();
        let bytes = index.memory_bytes();
        let met = bytes < GOAL_MEMORY_BYTES;
        goals_met &= met;
        println!(
            "memory: {} cells, {} vertices: index {} MiB, built in {} — goal < {} MiB: {}",
            group(big.len()),
            group(vertices),
            mib(bytes),
            ms(build),
            GOAL_MEMORY_BYTES / (1024 * 1024),
            verdict(met)
        );
    }

    println!();
    if disagreements_total > 0 {
        println!("FAILED: the contestants disagree on {disagreements_total} points");
        return Ok(ExitCode::from(1));
    }
    println!(
        "all contestants agree on every point; goals {}",
        if goals_met { "met" } else { "NOT all met" }
    );
    Ok(ExitCode::SUCCESS)
}

fn load_layer(args: &GridBenchArgs) -> anyhow::Result<Layer> {
    let (description, cells) = match &args.layer {
        Some(path) => {
            let outcome =
                onegrid_geo::read::read_path(path, &onegrid_geo::read::ReadOptions::default())
                    .with_context(|| format!("cannot read the layer {}", path.display()))?;
            if !outcome.problems.is_empty() {
                println!(
                    "note: {} problems reading {} (the benchmark uses the features as read)",
                    outcome.problems.len(),
                    path.display()
                );
            }
            let cells: Vec<(String, MultiPolygon<f64>)> = outcome
                .layer
                .features
                .into_iter()
                .map(|f| (f.code, f.geometry))
                .collect();
            (path.display().to_string(), cells)
        }
        None => {
            anyhow::ensure!(args.cells > 0, "--cells must be at least 1");
            let lattice = Lattice::around(117.4, 39.1, 25_000.0, args.cells, (32, 60), args.seed);
            (
                format!(
                    "generated, {} × {} jittered lattice of irregular cells, 25 km × 25 km, seed {}",
                    lattice.columns, lattice.rows, args.seed
                ),
                lattice.cells(),
            )
        }
    };
    anyhow::ensure!(!cells.is_empty(), "the layer has no cells");
    let mut bbox = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for (_, g) in &cells {
        if let Some(r) = g.bounding_rect() {
            bbox = [
                bbox[0].min(r.min().x),
                bbox[1].min(r.min().y),
                bbox[2].max(r.max().x),
                bbox[3].max(r.max().y),
            ];
        }
    }
    anyhow::ensure!(bbox[0].is_finite(), "the layer's cells have no coordinates");
    Ok(Layer {
        description,
        cells,
        bbox,
    })
}

fn mid_lat(layer: &Layer) -> f64 {
    (layer.bbox[1] + layer.bbox[3]) / 2.0
}

fn random_points(bbox: &[f64; 4], n: usize, seed: u64) -> Vec<Coord<f64>> {
    let mut rng = SplitMix(seed);
    (0..n)
        .map(|_| Coord {
            x: bbox[0] + rng.next_f64() * (bbox[2] - bbox[0]),
            y: bbox[1] + rng.next_f64() * (bbox[3] - bbox[1]),
        })
        .collect()
}

/// Runs `f` `rounds` times and returns the fastest run's duration.
fn fastest(rounds: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..rounds {
        let started = Instant::now();
        f()?;
        best = best.min(started.elapsed());
    }
    Ok(best)
}

type CellBox = GeomWithData<Rectangle<[f64; 2]>, u32>;

fn rtree_of(cells: &[(String, MultiPolygon<f64>)]) -> RTree<CellBox> {
    let boxes = cells
        .iter()
        .enumerate()
        .filter_map(|(i, (_, g))| {
            let r = g.bounding_rect()?;
            Some(GeomWithData::new(
                Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                i as u32,
            ))
        })
        .collect();
    RTree::bulk_load(boxes)
}

/// The obvious approach: candidates from the R-tree of bounding boxes, then exact `Contains`; the
/// lowest-numbered containing cell, like the index. Parallel over the same chunks on the same pool.
fn rtree_locate(
    tree: &RTree<CellBox>,
    cells: &[(String, MultiPolygon<f64>)],
    points: &[Coord<f64>],
    out: &mut [Option<u32>],
) {
    out.par_chunks_mut(CHUNK)
        .zip(points.par_chunks(CHUNK))
        .for_each(|(out, points)| {
            for (slot, p) in out.iter_mut().zip(points) {
                let point = Point::new(p.x, p.y);
                *slot = tree
                    .locate_all_at_point([p.x, p.y])
                    .map(|candidate| candidate.data)
                    .filter(|&c| {
                        cells
                            .get(c as usize)
                            .is_some_and(|(_, g)| g.contains(&point))
                    })
                    .min();
            }
        });
}

fn count_disagreements(
    other: &str,
    ours: &[Option<u32>],
    theirs: &[Option<u32>],
    points: &[Coord<f64>],
    layer: &Layer,
) -> usize {
    let code = |c: Option<u32>| {
        c.and_then(|c| layer.cells.get(c as usize))
            .map_or("none", |(code, _)| code.as_str())
    };
    let mut count = 0;
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        if a != b {
            if count < 5 {
                let p = points.get(i).copied().unwrap_or(Coord { x: 0.0, y: 0.0 });
                println!(
                    "  disagreement at ({:.12}, {:.12}): onegrid {}, {other} {}",
                    p.x,
                    p.y,
                    code(*a),
                    code(*b)
                );
            }
            count += 1;
        }
    }
    if ours.len() != theirs.len() {
        count += ours.len().abs_diff(theirs.len());
    }
    count
}

// ---------------------------------------------------------------------------------------------------
// PostGIS

struct Postgis {
    client: postgres::Client,
    target: String,
    version: String,
    cells_load: Duration,
}

const CELLS_TABLE: &str = "onegrid_bench_cells";
const POINTS_TABLE: &str = "onegrid_bench_pts";

impl Postgis {
    fn connect(explicit: Option<&str>) -> anyhow::Result<Postgis> {
        let candidates: Vec<String> = match explicit {
            Some(conn) => vec![conn.to_string()],
            None => {
                let mut users: Vec<String> = std::env::var("PGUSER").into_iter().collect();
                users.extend(["postgres".to_string(), "root".to_string()]);
                users.dedup();
                users
                    .iter()
                    .map(|u| {
                        format!("host=127.0.0.1 port=5432 dbname=test user={u} connect_timeout=5")
                    })
                    .collect()
            }
        };
        let mut last_error = None;
        for conn in &candidates {
            match postgres::Client::connect(conn, postgres::NoTls) {
                Ok(mut client) => {
                    client
                        .batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")
                        .context(
                            "PostGIS is not installed in this PostgreSQL (install \
                             postgresql-15-postgis-3, or run bench/grid/run --install-postgis)",
                        )?;
                    let version: String = client
                        .query_one("SELECT 'PostGIS ' || postgis_lib_version() || ', ' || split_part(version(), ' ', 2)", &[])
                        .map(|row| row.get(0))
                        .unwrap_or_else(|_| "PostGIS".into());
                    let version = version.replacen(", ", ", PostgreSQL ", 1);
                    return Ok(Postgis {
                        client,
                        target: conn.clone(),
                        version,
                        cells_load: Duration::ZERO,
                    });
                }
                Err(error) => last_error = Some(error),
            }
        }
        match last_error {
            Some(error) => Err(anyhow::Error::new(error).context(format!(
                "cannot connect to PostgreSQL ({})",
                candidates.join(" | ")
            ))),
            None => anyhow::bail!("no PostgreSQL connection to try"),
        }
    }

    /// Fresh (unlogged) cells table, COPY, GiST index, ANALYZE.
    fn load_cells(&mut self, cells: &[(String, MultiPolygon<f64>)]) -> anyhow::Result<()> {
        let started = Instant::now();
        self.client.batch_execute(&format!(
            "DROP TABLE IF EXISTS {CELLS_TABLE}; \
             CREATE UNLOGGED TABLE {CELLS_TABLE} (id integer PRIMARY KEY, code text NOT NULL, \
             geom geometry(MultiPolygon, 4326) NOT NULL);"
        ))?;
        let mut writer = self
            .client
            .copy_in(&format!("COPY {CELLS_TABLE} (id, code, geom) FROM STDIN"))?;
        let mut line = String::new();
        for (i, (code, geometry)) in cells.iter().enumerate() {
            anyhow::ensure!(
                !code.contains(['\t', '\n', '\\', '\r']),
                "cell code {code:?} has a character COPY would need escaped"
            );
            line.clear();
            line.push_str(&format!("{i}\t{code}\t"));
            ewkb_multipolygon_hex(geometry, &mut line);
            line.push('\n');
            writer.write_all(line.as_bytes())?;
        }
        writer.finish()?;
        self.client.batch_execute(&format!(
            "CREATE INDEX ON {CELLS_TABLE} USING GIST (geom); ANALYZE {CELLS_TABLE};"
        ))?;
        self.cells_load = started.elapsed();
        Ok(())
    }

    /// Loads the points (fresh unlogged table, COPY, GiST, ANALYZE), then runs the join once, fetching
    /// every row. Returns (cells + points load, query, answers).
    fn run(
        &mut self,
        cells: &[(String, MultiPolygon<f64>)],
        points: &[Coord<f64>],
    ) -> anyhow::Result<(Duration, Duration, Vec<Option<u32>>)> {
        let started = Instant::now();
        self.client.batch_execute(&format!(
            "DROP TABLE IF EXISTS {POINTS_TABLE}; \
             CREATE UNLOGGED TABLE {POINTS_TABLE} (id integer PRIMARY KEY, geom geometry(Point, 4326) NOT NULL);"
        ))?;
        let mut writer = self
            .client
            .copy_in(&format!("COPY {POINTS_TABLE} (id, geom) FROM STDIN"))?;
        let mut buffer = String::with_capacity(1 << 20);
        for (i, p) in points.iter().enumerate() {
            buffer.push_str(&i.to_string());
            buffer.push('\t');
            ewkb_point_hex(*p, &mut buffer);
            buffer.push('\n');
            if buffer.len() > (1 << 20) - 128 {
                writer.write_all(buffer.as_bytes())?;
                buffer.clear();
            }
        }
        writer.write_all(buffer.as_bytes())?;
        writer.finish()?;
        self.client.batch_execute(&format!(
            "CREATE INDEX ON {POINTS_TABLE} USING GIST (geom); ANALYZE {POINTS_TABLE};"
        ))?;
        let load = self.cells_load + started.elapsed();

        let codes: HashMap<&str, u32> = cells
            .iter()
            .enumerate()
            .map(|(i, (code, _))| (code.as_str(), i as u32))
            .collect();
        self.client
            .batch_execute("SET max_parallel_workers_per_gather = 2")?;
        let sql = format!(
            "SELECT p.id, c.code FROM {POINTS_TABLE} p JOIN {CELLS_TABLE} c ON ST_Contains(c.geom, p.geom)"
        );
        let mut answers: Vec<Option<u32>> = vec![None; points.len()];
        let started = Instant::now();
        {
            use postgres::fallible_iterator::FallibleIterator as _;
            let no_params: [&(dyn postgres::types::ToSql + Sync); 0] = [];
            let mut rows = self.client.query_raw(sql.as_str(), no_params)?;
            while let Some(row) = rows.next()? {
                let id: i32 = row.try_get(0)?;
                let code: &str = row.try_get(1)?;
                let cell = codes.get(code).copied();
                if let Some(slot) = usize::try_from(id).ok().and_then(|i| answers.get_mut(i)) {
                    // Overlapping cells give several rows: keep the lowest-numbered, like the others.
                    *slot = match (*slot, cell) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
            }
        }
        let query = started.elapsed();
        Ok((load, query, answers))
    }

    fn drop_tables(&mut self) {
        // Best effort: the tables are fresh at every run anyway.
        let _ = self.client.batch_execute(&format!(
            "DROP TABLE IF EXISTS {POINTS_TABLE}; DROP TABLE IF EXISTS {CELLS_TABLE};"
        ));
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn push_hex(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
}

/// EWKB (little-endian, SRID 4326) as hex: exact coordinates, and the fastest text form PostGIS parses.
fn ewkb_point_hex(p: Coord<f64>, out: &mut String) {
    out.push_str("0101000020E6100000");
    push_hex(&p.x.to_le_bytes(), out);
    push_hex(&p.y.to_le_bytes(), out);
}

fn ewkb_multipolygon_hex(g: &MultiPolygon<f64>, out: &mut String) {
    out.push_str("0106000020E6100000");
    push_hex(&(g.0.len() as u32).to_le_bytes(), out);
    for polygon in &g.0 {
        out.push_str("0103000000");
        push_hex(&(1 + polygon.interiors().len() as u32).to_le_bytes(), out);
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            push_hex(&(ring.0.len() as u32).to_le_bytes(), out);
            for c in &ring.0 {
                push_hex(&c.x.to_le_bytes(), out);
                push_hex(&c.y.to_le_bytes(), out);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Output

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

fn mib(bytes: usize) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

fn rate(per_second: f64) -> String {
    if per_second >= 1e6 {
        format!("{:.1} M/s", per_second / 1e6)
    } else {
        format!("{:.0} k/s", per_second / 1e3)
    }
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
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(10_000_000), "10,000,000");
    }

    #[test]
    fn ewkb_point_is_little_endian_with_srid() {
        let mut s = String::new();
        ewkb_point_hex(Coord { x: 1.0, y: 2.0 }, &mut s);
        assert_eq!(s, "0101000020E6100000000000000000F03F0000000000000040");
    }
}
