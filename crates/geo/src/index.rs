//! The point → cell index: every report lands in exactly one grid cell, in a few nanoseconds.
//!
//! [`CellIndex::build`] takes the cells of a layer (WGS84 longitude/latitude multipolygons) and
//! [`CellIndex::locate`] answers which cell a point lies in, or the nearest cell when the point is just
//! outside the layer (within [`IndexOptions::snap_distance_m`]), or why it cannot be placed.
//! [`SharedIndex`] holds the current index for concurrent readers and swaps in a new one when the layer
//! changes, without ever blocking them.
//!
//! # Which cell a point on an edge belongs to
//!
//! A point exactly on an edge shared by two cells, or on a vertex shared by several, belongs to **the
//! cell that contains it after an infinitesimal nudge east, and, for an east–west edge, north** (the
//! point `(x + ε, y + δ)` with `0 < δ ≪ ε`, both infinitely small). So a point on a north–south edge goes to
//! the cell east of it, a point on an east–west edge to the cell north of it, and a point where four
//! square cells meet to the north-east one. The rule gives every point of a partition exactly one cell,
//! always the same, whatever the order of the cells. A point on the layer's outer boundary whose nudge
//! leaves the layer is outside every cell; [`CellIndex::locate`] then snaps it to the cell at distance 0.
//!
//! This is the half-open crossing-number test (an edge counts when `(a.y > y) != (b.y > y)` and the point
//! is strictly west of it), evaluated with exact orientation predicates (Shewchuk's adaptive
//! arithmetic, the `robust` crate, behind a floating-point filter). The result is therefore *exact*: it
//! equals `geo`'s `Contains` for every point not on a cell's boundary, however close to it, and follows
//! the rule above for points on it. Cells are read with the even–odd rule over all their rings (holes
//! included). If cells overlap (an invalid layer), a point in several cells goes to the lowest-numbered.
//!
//! # How it is fast
//!
//! A uniform grid of *tiles* covers the layer's bounding box. A tile is **empty**, **inside** one cell
//! (one table lookup answers), or a **boundary** tile, subdivided into `s × s` *sub-tiles* (`s` from 1 to
//! 16, chosen per tile from the number of edges in it). A sub-tile is again empty, inside one cell, or
//! *mixed*: it then lists, per candidate cell, whether the sub-tile's north-east corner is inside that cell
//! and the runs of the cell's edges that touch the sub-tile (indices into one shared vertex array, so an edge
//! is stored once however many sub-tiles it touches). A query in a mixed sub-tile counts the crossings of
//! the path from the point east to the sub-tile's east side, then north to the corner, with those few
//! edges only: the parity of that count, XOR the corner's status, is the point's status. With the tile
//! sizes below, 78 % of the area of the 2,000-cell benchmark layer resolves with two multiplications and
//! two lookups, and the rest tests two or three cells of a handful of edges each. Batches
//! ([`CellIndex::containing_cells_into`]) go through the tables in stages over 64 points at a time, so
//! that the cache misses of many points overlap: on random points the index is bound by memory latency,
//! not by arithmetic.
//!
//! Tile sizes, measured with `onegrid bench grid` (2,025 irregular cells of 32–60 vertices; and 10,000
//! cells of 50): [`COARSE_TILES_PER_EDGE`] = 0.25 gives tiles of about three edge lengths (165 m there), a
//! table of 90 kB that stays in cache; `s² ≈ FINE_SUBTILES_PER_INCIDENCE × (cell, edge) pairs in the tile`
//! makes a sub-tile about as wide as an edge is long. Finer sub-tiles (4 instead of 1) halve the mixed
//! area (22 % → 12 %) but cost 60 % more memory (10,000 cells: 22 → 37 MiB) with no measurable gain in
//! throughput on random points; coarser or finer tiles (0.1 or 1 per edge) changed the throughput by less
//! than the run-to-run noise. So the smallest tables win.
//!
//! # Distances
//!
//! Distances for snapping and for [`LocateError::OutsideDistrict`] are measured in a local tangent plane at
//! the query point, scaled by the WGS84 ellipsoid's radii of curvature at its latitude (metres per degree of
//! longitude `N·cos φ·π/180`, of latitude `M·π/180`). At the default 50 m snapping distance this differs
//! from the geodesic distance by a fraction of a millimetre; the difference grows with the square of the
//! distance (see the test `local_distances_match_the_geodesic`). Distances over
//! [`MAX_REPORTED_DISTANCE_M`] are not reported.
//! Longitudes are not wrapped at ±180°.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use geo::{Coord, MultiPolygon};
use rayon::prelude::*;

/// Top-level tiles per edge of the layer. See the module documentation for the measurements.
pub const COARSE_TILES_PER_EDGE: f64 = 0.25;
/// A boundary tile with `m` (cell, edge) incidences gets `s = ⌈√(m × this)⌉` sub-tiles on a side.
pub const FINE_SUBTILES_PER_INCIDENCE: f64 = 1.0;
/// The largest number of sub-tiles on a side of a tile.
const MAX_SUBDIVISION: usize = 16;
/// Points processed together, stage by stage, in batches (see `containing_cells_lanes`).
const LANES: usize = 64;
/// The largest number of top-level tiles, whatever the layer.
const MAX_TILES: usize = 1 << 24;
/// Nearest cells farther than this are not reported in [`LocateError::OutsideDistrict`].
pub const MAX_REPORTED_DISTANCE_M: f64 = 100_000.0;

/// How far (degrees) tiles are widened when deciding which edges touch them. It only needs to exceed the
/// rounding of the tile arithmetic (≈1e-13° for longitudes up to 180°); any edge nearer than this to a tile
/// is kept with it, which is always correct, merely a little more work.
const MARGIN_DEG: f64 = 1e-9;

/// Entry of a tile or sub-tile table: no cell.
const EMPTY: u32 = u32::MAX;
/// Tag bit of an entry that is not a cell number (a boundary tile or a mixed sub-tile).
const TAG: u32 = 1 << 31;
/// In a boundary tile's entry: bits 27..=30 hold `s - 1`, bits 0..=26 where its sub-tiles start.
const SUB_SHIFT: u32 = 27;
const FINE_START_MASK: u32 = (1 << SUB_SHIFT) - 1;
/// The largest cell number: cell numbers must not use the tag bit.
const MAX_CELLS: usize = (TAG - 1) as usize;

/// Run flags: the sub-tile's north-east corner is inside the run's cell (set on the cell's first run).
const RUN_CORNER_INSIDE: u32 = 1 << 31;
/// The last run of its cell in this sub-tile.
const RUN_END_OF_CELL: u32 = 1 << 30;
/// The last run of the sub-tile.
const RUN_END_OF_SUBTILE: u32 = 1 << 29;
/// Number of edges of the run.
const RUN_LEN_MASK: u32 = (1 << 29) - 1;

/// WGS84 semi-major axis (m) and first eccentricity squared.
const WGS84_A: f64 = 6_378_137.0;
const WGS84_E2: f64 = 6.694_379_990_141_33e-3;

/// How to build a [`CellIndex`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexOptions {
    /// A point outside every cell but at most this far (metres) from one is placed in the nearest cell.
    /// 0 places only points inside a cell (and points on the layer's outer boundary).
    pub snap_distance_m: f64,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            snap_distance_m: 50.0,
        }
    }
}

/// Where a point landed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Located {
    /// The cell's position in the input of [`CellIndex::build`]; [`CellIndex::code`] gives its code.
    pub cell: u32,
    /// 0 when the point is inside the cell; otherwise its distance (metres) to the cell it was snapped to.
    pub distance_m: f64,
}

/// Why an index could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndexError {
    #[error("the layer has no cells, so no point could be located in it")]
    NoCells,
    #[error("cell {code} has an empty geometry, so no point could ever be located in it")]
    EmptyGeometry { code: String },
    #[error(
        "cell {code} has a vertex at ({lon}, {lat}), which is not a WGS84 longitude/latitude \
         (longitude must be within -180..180 and latitude within -90..90)"
    )]
    InvalidVertex { code: String, lon: f64, lat: f64 },
    #[error("the snapping distance must be a finite number of metres, 0 or more, not {value}")]
    InvalidSnapDistance { value: f64 },
    #[error("the layer has {cells} cells; the index holds at most {}", MAX_CELLS)]
    TooManyCells { cells: usize },
    #[error("the layer has {vertices} vertices; the index holds at most {}", u32::MAX - 1)]
    TooManyVertices { vertices: usize },
    #[error(
        "the layer's edges are too dense for the index ({subtiles} sub-tiles; at most {}); \
         simplify the cells' boundaries",
        FINE_START_MASK
    )]
    TooDense { subtiles: usize },
}

/// Why a point could not be placed in a cell.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum LocateError {
    #[error(
        "({lon}, {lat}) is not a WGS84 longitude/latitude (longitude must be within -180..180 and \
         latitude within -90..90)"
    )]
    InvalidCoordinate { lon: f64, lat: f64 },
    #[error("({lon}, {lat}) is outside the district: {}", describe_nearest(.nearest_m))]
    OutsideDistrict {
        lon: f64,
        lat: f64,
        /// Distance (metres) to the nearest cell, when one is within [`MAX_REPORTED_DISTANCE_M`].
        nearest_m: Option<f64>,
    },
}

fn describe_nearest(nearest_m: &Option<f64>) -> String {
    match *nearest_m {
        Some(d) => format!("the nearest grid cell is {d:.1} m away"),
        None => format!(
            "no grid cell is within {:.0} km",
            MAX_REPORTED_DISTANCE_M / 1000.0
        ),
    }
}

/// A batch's output slice does not have one slot per point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "{points} points but {slots} result slots: the output must have exactly one slot per point"
)]
pub struct LengthMismatch {
    pub points: usize,
    pub slots: usize,
}

/// The top-level tile grid over the layer's bounding box (slightly widened, so that every vertex is
/// strictly inside it).
#[derive(Debug, Clone)]
struct Grid {
    x0: f64,
    y0: f64,
    x_end: f64,
    y_end: f64,
    nx: usize,
    ny: usize,
    tw: f64,
    th: f64,
    inv_tw: f64,
    inv_th: f64,
    /// Sub-tile sizes for each subdivision `s` (index `s`; 0 unused). Build and query use these same
    /// values, so that both compute bit-identical sub-tile corners.
    sub: [SubSize; MAX_SUBDIVISION + 1],
}

#[derive(Debug, Clone, Copy, Default)]
struct SubSize {
    w: f64,
    h: f64,
    inv_w: f64,
    inv_h: f64,
}

impl Grid {
    #[inline(always)]
    fn col_x(&self, i: usize) -> f64 {
        self.x0 + i as f64 * self.tw
    }

    #[inline(always)]
    fn row_y(&self, j: usize) -> f64 {
        self.y0 + j as f64 * self.th
    }

    /// The tile of a point, `None` outside the grid (and so outside every cell).
    #[inline(always)]
    fn tile_of(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        if !(x >= self.x0 && x < self.x_end && y >= self.y0 && y < self.y_end) {
            return None;
        }
        // Non-negative here; `as` saturates, and rounding is absorbed by MARGIN_DEG.
        let i = (((x - self.x0) * self.inv_tw) as usize).min(self.nx - 1);
        let j = (((y - self.y0) * self.inv_th) as usize).min(self.ny - 1);
        Some((i, j))
    }
}

/// The north-east corner of sub-tile `(k, l)` of the tile whose south-west corner is `(tx0, ty0)`. One
/// function for build and query, so that both use the very same doubles.
#[inline(always)]
fn sub_corner(tx0: f64, ty0: f64, k: usize, l: usize, sub: &SubSize) -> Coord<f64> {
    Coord {
        x: tx0 + (k + 1) as f64 * sub.w,
        y: ty0 + (l + 1) as f64 * sub.h,
    }
}

/// A run of consecutive edges of one cell (edges `first_edge .. first_edge + len`, edge `e` going from
/// vertex `e` to vertex `e + 1`), with the flags above in `meta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    cell: u32,
    first_edge: u32,
    meta: u32,
}

/// The point → cell index of one layer. Immutable; build a new one when the layer changes and publish it
/// through a [`SharedIndex`].
#[derive(Debug, Clone)]
pub struct CellIndex {
    codes: Vec<String>,
    snap_distance_m: f64,
    /// Every ring of every cell, each closed (last vertex = first), one after the other.
    vertices: Vec<Coord<f64>>,
    /// Ring `r` is `vertices[ring_starts[r] .. ring_starts[r + 1]]`.
    ring_starts: Vec<u32>,
    /// Cell `c` has rings `cell_rings[c] .. cell_rings[c + 1]`.
    cell_rings: Vec<u32>,
    /// Per cell: min x, min y, max x, max y.
    cell_bbox: Vec<[f64; 4]>,
    grid: Grid,
    /// One entry per tile, row-major: EMPTY, a cell, or TAG | (s - 1) << SUB_SHIFT | start in `fine`.
    tiles: Vec<u32>,
    /// Sub-tiles of the boundary tiles, `s × s` row-major per tile: EMPTY, a cell, or TAG | start in `runs`.
    fine: Vec<u32>,
    runs: Vec<Run>,
    /// Boundary tiles (sorted by tile number) and where their cells start in `boundary_cells`: for the
    /// snapping search.
    boundary_tiles: Vec<(u32, u32)>,
    boundary_cells: Vec<u32>,
}

impl CellIndex {
    /// Builds the index of a layer's cells (code, WGS84 lon/lat geometry). Cell numbers in the answers
    /// are positions in `cells`.
    pub fn build(
        cells: &[(String, MultiPolygon<f64>)],
        options: IndexOptions,
    ) -> Result<CellIndex, IndexError> {
        if !(options.snap_distance_m.is_finite() && options.snap_distance_m >= 0.0) {
            return Err(IndexError::InvalidSnapDistance {
                value: options.snap_distance_m,
            });
        }
        if cells.is_empty() {
            return Err(IndexError::NoCells);
        }
        if cells.len() > MAX_CELLS {
            return Err(IndexError::TooManyCells { cells: cells.len() });
        }
        let flat = Flat::new(cells)?;
        let grid = plan_grid(&flat);
        let built = build_tables(&flat, &grid)?;
        Ok(CellIndex {
            codes: cells.iter().map(|(code, _)| code.clone()).collect(),
            snap_distance_m: options.snap_distance_m,
            vertices: flat.vertices,
            ring_starts: flat.ring_starts,
            cell_rings: flat.cell_rings,
            cell_bbox: flat.cell_bbox,
            grid,
            tiles: built.tiles,
            fine: built.fine,
            runs: built.runs,
            boundary_tiles: built.boundary_tiles,
            boundary_cells: built.boundary_cells,
        })
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether the index has no cells (never true: [`CellIndex::build`] refuses an empty layer).
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The code of a cell number from [`Located::cell`]; empty for a number that is not a cell.
    pub fn code(&self, cell: u32) -> &str {
        self.codes.get(cell as usize).map_or("", String::as_str)
    }

    /// The snapping distance the index was built with.
    pub fn snap_distance_m(&self) -> f64 {
        self.snap_distance_m
    }

    /// The cell of a point: the cell containing it; else the nearest cell within the snapping distance;
    /// else [`LocateError::OutsideDistrict`].
    pub fn locate(&self, lon: f64, lat: f64) -> Result<Located, LocateError> {
        if !is_wgs84(lon, lat) {
            return Err(LocateError::InvalidCoordinate { lon, lat });
        }
        if let Some(cell) = self.containing_cell(lon, lat) {
            return Ok(Located {
                cell,
                distance_m: 0.0,
            });
        }
        let p = Coord { x: lon, y: lat };
        if let Some((cell, distance_m)) = self.nearest_within(p, self.snap_distance_m) {
            return Ok(Located { cell, distance_m });
        }
        Err(LocateError::OutsideDistrict {
            lon,
            lat,
            nearest_m: self.nearest_distance(p),
        })
    }

    /// [`CellIndex::locate`] for many points, in parallel; results in the order of `points`.
    pub fn locate_batch(&self, points: &[Coord<f64>]) -> Vec<Result<Located, LocateError>> {
        points
            .par_iter()
            .with_min_len(4096)
            .map(|p| self.locate(p.x, p.y))
            .collect()
    }

    /// The cell that contains the point (exact containment, the edge rule of the module documentation; no
    /// snapping). `None` outside every cell and for coordinates that are not numbers.
    #[inline]
    pub fn containing_cell(&self, lon: f64, lat: f64) -> Option<u32> {
        let g = &self.grid;
        let (i, j) = g.tile_of(lon, lat)?;
        let entry = *self.tiles.get(j * g.nx + i)?;
        if entry & TAG == 0 {
            return Some(entry);
        }
        if entry == EMPTY {
            return None;
        }
        let s = ((entry >> SUB_SHIFT) & 0xF) as usize + 1;
        let sub = g.sub.get(s)?;
        let tx0 = g.col_x(i);
        let ty0 = g.row_y(j);
        // Non-negative up to rounding; `as` saturates at 0, and rounding is absorbed by MARGIN_DEG.
        let k = (((lon - tx0) * sub.inv_w) as usize).min(s - 1);
        let l = (((lat - ty0) * sub.inv_h) as usize).min(s - 1);
        let fine_entry = *self
            .fine
            .get((entry & FINE_START_MASK) as usize + l * s + k)?;
        if fine_entry & TAG == 0 {
            return Some(fine_entry);
        }
        if fine_entry == EMPTY {
            return None;
        }
        let corner = sub_corner(tx0, ty0, k, l, sub);
        self.test_runs(
            (fine_entry & !TAG) as usize,
            Coord { x: lon, y: lat },
            corner,
        )
    }

    /// The candidate cells of a mixed sub-tile, in increasing cell number: the first whose crossing
    /// parity says "inside" wins.
    #[inline]
    fn test_runs(&self, start: usize, p: Coord<f64>, corner: Coord<f64>) -> Option<u32> {
        let mut inside = false;
        for run in self.runs.get(start..)? {
            inside ^= run.meta & RUN_CORNER_INSIDE != 0;
            let first = run.first_edge as usize;
            let len = (run.meta & RUN_LEN_MASK) as usize;
            if let Some(chain) = self.vertices.get(first..first + len + 1) {
                for (a, b) in chain.iter().zip(chain.iter().skip(1)) {
                    inside ^= crosses_path(*a, *b, p, corner);
                }
            }
            if run.meta & RUN_END_OF_CELL != 0 {
                if inside {
                    return Some(run.cell);
                }
                inside = false;
            }
            if run.meta & RUN_END_OF_SUBTILE != 0 {
                break;
            }
        }
        None
    }

    /// [`CellIndex::containing_cell`] for many points, in parallel on the rayon pool, written into `out`
    /// (one slot per point) without allocating.
    pub fn containing_cells_into(
        &self,
        points: &[Coord<f64>],
        out: &mut [Option<u32>],
    ) -> Result<(), LengthMismatch> {
        if points.len() != out.len() {
            return Err(LengthMismatch {
                points: points.len(),
                slots: out.len(),
            });
        }
        const CHUNK: usize = 16 * 1024;
        out.par_chunks_mut(CHUNK)
            .zip(points.par_chunks(CHUNK))
            .for_each(|(out, points)| {
                for (out, points) in out.chunks_mut(LANES).zip(points.chunks(LANES)) {
                    self.containing_cells_lanes(points, out);
                }
            });
        Ok(())
    }

    /// [`CellIndex::containing_cell`] for up to [`LANES`] points, in stages: every point's tile entry,
    /// then every point's sub-tile entry, then the first run and vertex of every mixed sub-tile, and only
    /// then the crossing tests. Each stage computes its addresses first and then loads them in a tight loop
    /// of independent loads, so that the cache misses of many points overlap instead of following one
    /// another point after point (the tables of a district do not fit in the per-core cache).
    fn containing_cells_lanes(&self, points: &[Coord<f64>], out: &mut [Option<u32>]) {
        let g = &self.grid;
        let n = points.len().min(LANES);
        let mut at = [0usize; LANES];
        let mut ij = [(0usize, 0usize); LANES];
        let mut entry = [EMPTY; LANES];
        // Tile addresses; a point outside the grid gets address 0 and is marked EMPTY afterwards.
        let mut outside = [false; LANES];
        for q in 0..n {
            let p = points[q];
            outside[q] = !(p.x >= g.x0 && p.x < g.x_end && p.y >= g.y0 && p.y < g.y_end);
            // NaN and negative values saturate to 0; `outside` discards them anyway.
            let i = (((p.x - g.x0) * g.inv_tw) as usize).min(g.nx - 1);
            let j = (((p.y - g.y0) * g.inv_th) as usize).min(g.ny - 1);
            ij[q] = (i, j);
            at[q] = j * g.nx + i;
        }
        for q in 0..n {
            entry[q] = self.tiles.get(at[q]).copied().unwrap_or(EMPTY);
        }
        // Sub-tile addresses (0 for a tile that is not a boundary tile: loaded, then ignored).
        let mut boundary = [false; LANES];
        let mut corner = [Coord::zero(); LANES];
        for q in 0..n {
            let e = if outside[q] { EMPTY } else { entry[q] };
            entry[q] = e;
            boundary[q] = e & TAG != 0 && e != EMPTY;
            let s = ((e >> SUB_SHIFT) & 0xF) as usize + 1;
            let sub = g.sub.get(s).copied().unwrap_or_default();
            let (i, j) = ij[q];
            let tx0 = g.col_x(i);
            let ty0 = g.row_y(j);
            let p = points[q];
            let k = (((p.x - tx0) * sub.inv_w) as usize).min(s - 1);
            let l = (((p.y - ty0) * sub.inv_h) as usize).min(s - 1);
            at[q] = if boundary[q] {
                (e & FINE_START_MASK) as usize + l * s + k
            } else {
                0
            };
            corner[q] = sub_corner(tx0, ty0, k, l, &sub);
        }
        for q in 0..n {
            let sub_entry = self.fine.get(at[q]).copied().unwrap_or(EMPTY);
            if boundary[q] {
                entry[q] = sub_entry;
            }
        }
        // The first run and its first vertex of each mixed sub-tile.
        let mut first_edge = [0u32; LANES];
        for q in 0..n {
            let e = entry[q];
            let run_at = if e != EMPTY && e & TAG != 0 {
                (e & !TAG) as usize
            } else {
                0
            };
            first_edge[q] = self.runs.get(run_at).map_or(0, |r| r.first_edge);
        }
        let mut warm = 0.0;
        for &e in first_edge.iter().take(n) {
            warm += self.vertices.get(e as usize).map_or(0.0, |v| v.x);
        }
        std::hint::black_box(warm);
        for q in 0..n {
            let e = entry[q];
            let answer = if e & TAG == 0 {
                Some(e)
            } else if e == EMPTY {
                None
            } else {
                self.test_runs((e & !TAG) as usize, points[q], corner[q])
            };
            if let Some(slot) = out.get_mut(q) {
                *slot = answer;
            }
        }
    }

    /// Bytes of heap memory the index holds (every allocation, at its capacity), plus the struct itself.
    pub fn memory_bytes(&self) -> usize {
        fn vec_bytes<T>(v: &Vec<T>) -> usize {
            v.capacity() * std::mem::size_of::<T>()
        }
        std::mem::size_of::<CellIndex>()
            + vec_bytes(&self.codes)
            + self.codes.iter().map(String::capacity).sum::<usize>()
            + vec_bytes(&self.vertices)
            + vec_bytes(&self.ring_starts)
            + vec_bytes(&self.cell_rings)
            + vec_bytes(&self.cell_bbox)
            + vec_bytes(&self.tiles)
            + vec_bytes(&self.fine)
            + vec_bytes(&self.runs)
            + vec_bytes(&self.boundary_tiles)
            + vec_bytes(&self.boundary_cells)
    }

    /// A few figures about the index's structure, for benchmarks and tuning.
    pub fn stats(&self) -> IndexStats {
        let mut boundary_tiles = 0;
        let mut mixed_area = 0.0;
        for &entry in &self.tiles {
            if entry == EMPTY || entry & TAG == 0 {
                continue;
            }
            boundary_tiles += 1;
            let s = ((entry >> SUB_SHIFT) & 0xF) as usize + 1;
            let start = (entry & FINE_START_MASK) as usize;
            let mixed = self
                .fine
                .get(start..start + s * s)
                .unwrap_or(&[])
                .iter()
                .filter(|&&e| e != EMPTY && e & TAG != 0)
                .count();
            mixed_area += mixed as f64 / (s * s) as f64;
        }
        IndexStats {
            tiles: self.tiles.len(),
            boundary_tiles,
            mixed_area_share: mixed_area / self.tiles.len().max(1) as f64,
            subtiles: self.fine.len(),
            mixed_subtiles: self
                .fine
                .iter()
                .filter(|&&e| e != EMPTY && e & TAG != 0)
                .count(),
            runs: self.runs.len(),
            edges: self.vertices.len() - (self.ring_starts.len() - 1),
            tile_width_deg: self.grid.tw,
            tile_height_deg: self.grid.th,
        }
    }

    /// The nearest cell within `radius_m` of a point outside every cell, with its distance.
    fn nearest_within(&self, p: Coord<f64>, radius_m: f64) -> Option<(u32, f64)> {
        let frame = LocalFrame::at(p);
        let half_w = radius_m / frame.kx * 1.001 + MARGIN_DEG;
        let half_h = radius_m / frame.ky * 1.001 + MARGIN_DEG;
        let g = &self.grid;
        let (x_lo, x_hi) = (p.x - half_w, p.x + half_w);
        let (y_lo, y_hi) = (p.y - half_h, p.y + half_h);
        if !(x_hi >= g.x0 && x_lo < g.x_end && y_hi >= g.y0 && y_lo < g.y_end) {
            return None;
        }
        let i0 = index_floor(x_lo - g.x0, g.inv_tw, g.nx);
        let i1 = index_floor(x_hi - g.x0, g.inv_tw, g.nx);
        let j0 = index_floor(y_lo - g.y0, g.inv_th, g.ny);
        let j1 = index_floor(y_hi - g.y0, g.inv_th, g.ny);
        // A huge radius over a fine grid: scanning every cell is then cheaper than every tile.
        if (i1 - i0 + 1) * (j1 - j0 + 1) > self.cell_bbox.len() {
            return self
                .nearest_by_scan(p, &frame, radius_m)
                .filter(|&(_, d)| d <= radius_m);
        }
        let mut candidates = Vec::new();
        for j in j0..=j1 {
            for i in i0..=i1 {
                let tile = j * g.nx + i;
                match self.tiles.get(tile).copied() {
                    None | Some(EMPTY) => {}
                    Some(entry) if entry & TAG == 0 => candidates.push(entry),
                    Some(_) => candidates.extend_from_slice(self.cells_of_boundary_tile(tile)),
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut best: Option<(u32, f64)> = None;
        for cell in candidates {
            let bound = best.map_or(radius_m, |(_, d)| d);
            if let Some(d) = self.cell_distance(cell, &frame, bound) {
                if d <= bound && best.is_none_or(|(_, b)| d < b) {
                    best = Some((cell, d));
                }
            }
        }
        best
    }

    fn cells_of_boundary_tile(&self, tile: usize) -> &[u32] {
        let Ok(pos) = self
            .boundary_tiles
            .binary_search_by_key(&(tile as u32), |&(t, _)| t)
        else {
            return &[];
        };
        let start = self.boundary_tiles.get(pos).map_or(0, |&(_, s)| s as usize);
        let end = self
            .boundary_tiles
            .get(pos + 1)
            .map_or(self.boundary_cells.len(), |&(_, s)| s as usize);
        self.boundary_cells.get(start..end).unwrap_or(&[])
    }

    /// Distance to the nearest cell, when it is within [`MAX_REPORTED_DISTANCE_M`].
    fn nearest_distance(&self, p: Coord<f64>) -> Option<f64> {
        let frame = LocalFrame::at(p);
        let limit = MAX_REPORTED_DISTANCE_M.max(self.snap_distance_m);
        self.nearest_by_scan(p, &frame, limit).map(|(_, d)| d)
    }

    /// The nearest cell within `limit` metres, trying cells by increasing distance to their bounding box.
    fn nearest_by_scan(&self, p: Coord<f64>, frame: &LocalFrame, limit: f64) -> Option<(u32, f64)> {
        let mut order: Vec<(f64, u32)> = self
            .cell_bbox
            .iter()
            .enumerate()
            .map(|(c, b)| (frame.distance_to_box(p, b), c as u32))
            .filter(|&(d, _)| d <= limit)
            .collect();
        order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut best: Option<(u32, f64)> = None;
        for (lower_bound, cell) in order {
            let bound = best.map_or(limit, |(_, d)| d);
            if lower_bound > bound {
                break;
            }
            if let Some(d) = self.cell_distance(cell, frame, bound) {
                if d <= bound && best.is_none_or(|(c, b)| d < b || (d == b && cell < c)) {
                    best = Some((cell, d));
                }
            }
        }
        best
    }

    /// Distance (metres) from the frame's origin to the boundary of a cell; `None` when the cell is
    /// surely farther than `bound`.
    fn cell_distance(&self, cell: u32, frame: &LocalFrame, bound: f64) -> Option<f64> {
        let c = cell as usize;
        if frame.distance_to_box(frame.origin, self.cell_bbox.get(c)?) > bound {
            return None;
        }
        let rings = *self.cell_rings.get(c)? as usize..*self.cell_rings.get(c + 1)? as usize;
        let mut best = f64::INFINITY;
        for r in rings {
            let start = *self.ring_starts.get(r)? as usize;
            let end = *self.ring_starts.get(r + 1)? as usize;
            let ring = self.vertices.get(start..end)?;
            for (a, b) in ring.iter().zip(ring.iter().skip(1)) {
                best = best.min(frame.distance_to_segment(*a, *b));
            }
        }
        Some(best)
    }
}

/// Structure figures of a [`CellIndex`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexStats {
    pub tiles: usize,
    pub boundary_tiles: usize,
    /// Share of the grid's area covered by mixed sub-tiles: the share of uniformly spread points that need
    /// crossing tests rather than lookups alone.
    pub mixed_area_share: f64,
    pub subtiles: usize,
    pub mixed_subtiles: usize,
    pub runs: usize,
    pub edges: usize,
    pub tile_width_deg: f64,
    pub tile_height_deg: f64,
}

/// The current index of a layer, shared by any number of reader threads. Readers never lock and never
/// wait: [`SharedIndex::load`] is a few atomic operations, and [`SharedIndex::replace`] publishes a new
/// index atomically. A reader keeps the index it loaded (and so consistent cell numbers and codes) for as
/// long as it holds it; the old index is freed when its last reader lets it go.
#[derive(Debug)]
pub struct SharedIndex {
    current: ArcSwapOption<CellIndex>,
}

impl Default for SharedIndex {
    /// No index yet: no cell layer has been loaded.
    fn default() -> Self {
        SharedIndex {
            current: ArcSwapOption::empty(),
        }
    }
}

impl SharedIndex {
    pub fn new(index: CellIndex) -> SharedIndex {
        SharedIndex {
            current: ArcSwapOption::from_pointee(index),
        }
    }

    /// The current index, for a short use (the cheapest way to read); `None` before any layer.
    pub fn load(&self) -> arc_swap::Guard<Option<Arc<CellIndex>>> {
        self.current.load()
    }

    /// The current index, to keep; `None` before any layer.
    pub fn current(&self) -> Option<Arc<CellIndex>> {
        self.current.load_full()
    }

    /// Publishes a new index (when the layer changes; `None` when it is gone) and returns the previous one.
    pub fn replace(&self, index: Option<Arc<CellIndex>>) -> Option<Arc<CellIndex>> {
        self.current.swap(index)
    }

    /// Locates a point in the current index and returns the cell's code with the answer, so that the code
    /// always belongs to the index that answered; `None` before any layer.
    pub fn locate_code(
        &self,
        lon: f64,
        lat: f64,
    ) -> Option<Result<(String, Located), LocateError>> {
        let guard = self.current.load();
        let index = guard.as_ref()?;
        Some(
            index
                .locate(lon, lat)
                .map(|located| (index.code(located.cell).to_string(), located)),
        )
    }
}

fn is_wgs84(lon: f64, lat: f64) -> bool {
    (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)
}

/// `floor(offset × inv)` clamped to `0..n` (for offsets that may be slightly outside the grid).
#[inline]
fn index_floor(offset: f64, inv: f64, n: usize) -> usize {
    let v = offset * inv;
    if v <= 0.0 {
        0
    } else {
        (v as usize).min(n - 1)
    }
}

// ---------------------------------------------------------------------------------------------------
// Exact predicates

/// Shewchuk's error bound for the filtered orientation determinant.
const CCW_ERR_BOUND_A: f64 = (3.0 + 16.0 * (f64::EPSILON / 2.0)) * (f64::EPSILON / 2.0);

/// Positive when `c` is left of the directed line `a → b`, negative when right, zero when on it —
/// exactly. The plain floating-point value decides when it is clearly away from zero; otherwise the
/// adaptive exact computation of the `robust` crate does.
#[inline(always)]
fn orient(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>) -> f64 {
    let det_left = (a.x - c.x) * (b.y - c.y);
    let det_right = (a.y - c.y) * (b.x - c.x);
    let det = det_left - det_right;
    let bound = CCW_ERR_BOUND_A * (det_left.abs() + det_right.abs());
    if det > bound || -det > bound {
        det
    } else {
        robust::orient2d(
            robust::Coord { x: a.x, y: a.y },
            robust::Coord { x: b.x, y: b.y },
            robust::Coord { x: c.x, y: c.y },
        )
    }
}

#[inline(always)]
fn min_max(a: f64, b: f64) -> (f64, f64) {
    if a < b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Whether edge `a–b` crosses the horizontal segment from `p` to `(qx, p.y)`, both points nudged by
/// `(ε, δ)` (the edge rule): the edge spans the height half-open, and exactly one of the two points is
/// strictly left of it when it is directed upwards.
#[inline(always)]
fn crosses_horizontal(a: Coord<f64>, b: Coord<f64>, p: Coord<f64>, qx: f64) -> bool {
    if (a.y > p.y) == (b.y > p.y) {
        return false;
    }
    let (ex0, ex1) = min_max(a.x, b.x);
    let (sx0, sx1) = min_max(p.x, qx);
    // Both points strictly west (both left) or strictly east (both right) of the edge: no crossing.
    if sx1 < ex0 || sx0 > ex1 {
        return false;
    }
    let (lo, hi) = if a.y < b.y { (a, b) } else { (b, a) };
    let p_left = orient(lo, hi, p) > 0.0;
    let q_left = orient(lo, hi, Coord { x: qx, y: p.y }) > 0.0;
    p_left != q_left
}

/// Whether edge `a–b` crosses the vertical segment from `(x, y0)` to `(x, y1)`, nudged by `(ε, δ)`. For
/// the edge directed eastwards, a nudged point on its line is left of it when the edge falls or is flat.
#[inline(always)]
fn crosses_vertical(a: Coord<f64>, b: Coord<f64>, x: f64, y0: f64, y1: f64) -> bool {
    if (a.x > x) == (b.x > x) {
        return false;
    }
    let (ey0, ey1) = min_max(a.y, b.y);
    let (sy0, sy1) = min_max(y0, y1);
    if sy1 < ey0 || sy0 > ey1 {
        return false;
    }
    let (u, v) = if a.x < b.x { (a, b) } else { (b, a) };
    let falls_or_flat = v.y <= u.y;
    let left = |y: f64| {
        let o = orient(u, v, Coord { x, y });
        o > 0.0 || (o == 0.0 && falls_or_flat)
    };
    left(y0) != left(y1)
}

/// Whether edge `a–b` crosses the path from `p` east to `(corner.x, p.y)`, then north to `corner`.
#[inline(always)]
fn crosses_path(a: Coord<f64>, b: Coord<f64>, p: Coord<f64>, corner: Coord<f64>) -> bool {
    crosses_horizontal(a, b, p, corner.x) ^ crosses_vertical(a, b, corner.x, p.y, corner.y)
}

// ---------------------------------------------------------------------------------------------------
// Distances

/// A local tangent plane at a point: metres per degree of longitude and latitude on the WGS84 ellipsoid.
struct LocalFrame {
    origin: Coord<f64>,
    kx: f64,
    ky: f64,
}

impl LocalFrame {
    fn at(origin: Coord<f64>) -> LocalFrame {
        let phi = origin.y.to_radians();
        let sin = phi.sin();
        let w2 = 1.0 - WGS84_E2 * sin * sin;
        let w = w2.sqrt();
        let prime_vertical = WGS84_A / w;
        let meridional = WGS84_A * (1.0 - WGS84_E2) / (w2 * w);
        let per_radian = std::f64::consts::PI / 180.0;
        LocalFrame {
            origin,
            // At the poles a degree of longitude is 0 m; keep the frame usable.
            kx: (prime_vertical * phi.cos() * per_radian).max(1e-6),
            ky: meridional * per_radian,
        }
    }

    fn distance_to_segment(&self, a: Coord<f64>, b: Coord<f64>) -> f64 {
        let ax = (a.x - self.origin.x) * self.kx;
        let ay = (a.y - self.origin.y) * self.ky;
        let bx = (b.x - self.origin.x) * self.kx;
        let by = (b.y - self.origin.y) * self.ky;
        let (dx, dy) = (bx - ax, by - ay);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 {
            (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        (ax + t * dx).hypot(ay + t * dy)
    }

    /// Distance from `p` to a bounding box, in this frame's metres: a lower bound of the distance to
    /// anything inside the box.
    fn distance_to_box(&self, p: Coord<f64>, b: &[f64; 4]) -> f64 {
        let [x0, y0, x1, y1] = *b;
        let dx = (x0 - p.x).max(p.x - x1).max(0.0) * self.kx;
        let dy = (y0 - p.y).max(p.y - y1).max(0.0) * self.ky;
        dx.hypot(dy)
    }
}

// ---------------------------------------------------------------------------------------------------
// Building

/// The cells' rings, flattened.
struct Flat {
    vertices: Vec<Coord<f64>>,
    ring_starts: Vec<u32>,
    cell_rings: Vec<u32>,
    cell_bbox: Vec<[f64; 4]>,
}

impl Flat {
    fn new(cells: &[(String, MultiPolygon<f64>)]) -> Result<Flat, IndexError> {
        let mut flat = Flat {
            vertices: Vec::new(),
            ring_starts: vec![0],
            cell_rings: vec![0],
            cell_bbox: Vec::with_capacity(cells.len()),
        };
        for (code, geometry) in cells {
            let mut bbox = [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ];
            let rings = geometry
                .0
                .iter()
                .flat_map(|polygon| std::iter::once(polygon.exterior()).chain(polygon.interiors()));
            for ring in rings {
                let coords = &ring.0;
                let Some(first) = coords.first().copied() else {
                    continue;
                };
                let ring_start = flat.vertices.len();
                for &c in coords {
                    if !is_wgs84(c.x, c.y) {
                        return Err(IndexError::InvalidVertex {
                            code: code.clone(),
                            lon: c.x,
                            lat: c.y,
                        });
                    }
                    bbox = [
                        bbox[0].min(c.x),
                        bbox[1].min(c.y),
                        bbox[2].max(c.x),
                        bbox[3].max(c.y),
                    ];
                    flat.vertices.push(c);
                }
                if coords.last() != Some(&first) {
                    flat.vertices.push(first);
                }
                if flat.vertices.len() - ring_start < 2 {
                    // A single point has no edge; it contains nothing and touches nothing.
                    flat.vertices.truncate(ring_start);
                    continue;
                }
                if flat.vertices.len() >= u32::MAX as usize {
                    return Err(IndexError::TooManyVertices {
                        vertices: flat.vertices.len(),
                    });
                }
                flat.ring_starts.push(flat.vertices.len() as u32);
            }
            if !bbox[0].is_finite() {
                return Err(IndexError::EmptyGeometry { code: code.clone() });
            }
            flat.cell_rings.push((flat.ring_starts.len() - 1) as u32);
            flat.cell_bbox.push(bbox);
        }
        Ok(flat)
    }

    fn cells(&self) -> usize {
        self.cell_bbox.len()
    }

    /// The edges of a cell, as indices of their first vertex.
    fn edges_of(&self, cell: usize) -> impl Iterator<Item = u32> + '_ {
        let rings = self.cell_rings.get(cell).copied().unwrap_or(0)
            ..self.cell_rings.get(cell + 1).copied().unwrap_or(0);
        rings.flat_map(move |r| {
            let start = self.ring_starts.get(r as usize).copied().unwrap_or(0);
            let end = self.ring_starts.get(r as usize + 1).copied().unwrap_or(0);
            start..end.saturating_sub(1)
        })
    }

    #[inline]
    fn edge(&self, e: u32) -> (Coord<f64>, Coord<f64>) {
        let e = e as usize;
        match (self.vertices.get(e), self.vertices.get(e + 1)) {
            (Some(a), Some(b)) => (*a, *b),
            // Edge numbers come from `edges_of`, so this does not happen; a zero-length edge is inert.
            _ => (Coord::zero(), Coord::zero()),
        }
    }

    fn edge_count(&self) -> usize {
        self.vertices.len() - (self.ring_starts.len() - 1)
    }
}

/// Chooses the tile grid: tiles square in metres, about `COARSE_TILES_PER_EDGE` per edge.
fn plan_grid(flat: &Flat) -> Grid {
    let mut bbox = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for b in &flat.cell_bbox {
        bbox = [
            bbox[0].min(b[0]),
            bbox[1].min(b[1]),
            bbox[2].max(b[2]),
            bbox[3].max(b[3]),
        ];
    }
    // Widen so that every vertex is strictly inside the grid: the north-east corners of the last tiles are
    // then outside every cell, which the corner computation relies on.
    let pad_x = ((bbox[2] - bbox[0]) * 1e-6).max(1e-7);
    let pad_y = ((bbox[3] - bbox[1]) * 1e-6).max(1e-7);
    let x0 = bbox[0] - pad_x;
    let y0 = bbox[1] - pad_y;
    let width = bbox[2] + pad_x - x0;
    let height = bbox[3] + pad_y - y0;
    let cos = ((bbox[1] + bbox[3]) / 2.0).to_radians().cos().max(0.01);
    let target = (flat.edge_count() as f64 * COARSE_TILES_PER_EDGE).clamp(1.0, MAX_TILES as f64);
    // Tiles square in metres: th (degrees of latitude) = tw (degrees of longitude) × cos φ.
    let th = ((width * cos * height) / target).sqrt();
    let tw = th / cos;
    let nx = ((width / tw).ceil() as usize).clamp(1, MAX_TILES);
    let ny = ((height / th).ceil() as usize).clamp(1, (MAX_TILES / nx).max(1));
    // Recompute the sizes so that the tiles cover the box exactly (a ceil above may have added a row).
    let tw = width / nx as f64;
    let th = height / ny as f64;
    let mut grid = Grid {
        x0,
        y0,
        x_end: 0.0,
        y_end: 0.0,
        nx,
        ny,
        tw,
        th,
        inv_tw: 1.0 / tw,
        inv_th: 1.0 / th,
        sub: [SubSize::default(); MAX_SUBDIVISION + 1],
    };
    grid.x_end = grid.col_x(nx);
    grid.y_end = grid.row_y(ny);
    for (s, sub) in grid.sub.iter_mut().enumerate().skip(1) {
        *sub = SubSize {
            w: tw / s as f64,
            h: th / s as f64,
            inv_w: s as f64 / tw,
            inv_h: s as f64 / th,
        };
    }
    grid
}

/// A uniform grid of `nx × ny` cells of `w × h` from `(ox, oy)`: the level being rasterized.
#[derive(Clone, Copy)]
struct Raster {
    ox: f64,
    oy: f64,
    w: f64,
    h: f64,
    nx: usize,
    ny: usize,
}

impl Raster {
    /// Range of grid indices whose cells (widened by MARGIN_DEG) overlap `[lo, hi]` on one axis.
    fn span(lo: f64, hi: f64, origin: f64, size: f64, n: usize) -> Option<(usize, usize)> {
        let a = ((lo - MARGIN_DEG - origin) / size).floor();
        let b = ((hi + MARGIN_DEG - origin) / size).floor();
        if b < 0.0 || a > (n - 1) as f64 || a.is_nan() || b.is_nan() {
            return None;
        }
        Some((a.max(0.0) as usize, (b as usize).min(n - 1)))
    }

    /// Calls `visit(col, row)` for every cell the segment `a–b` may touch, the cells widened by
    /// MARGIN_DEG. Conservative: an extra cell costs a little time, a missing one would be a wrong answer.
    fn segment(&self, a: Coord<f64>, b: Coord<f64>, mut visit: impl FnMut(usize, usize)) {
        let (x_min, x_max) = min_max(a.x, b.x);
        let (y_min, y_max) = min_max(a.y, b.y);
        let Some((c0, c1)) = Raster::span(x_min, x_max, self.ox, self.w, self.nx) else {
            return;
        };
        let dx = b.x - a.x;
        for col in c0..=c1 {
            // The column widened twice by the margin: once for the tiles' own widening, once so that
            // rounding in the interpolation below cannot shrink the y range of a steep edge.
            let cx0 = self.ox + col as f64 * self.w - 2.0 * MARGIN_DEG;
            let cx1 = self.ox + (col + 1) as f64 * self.w + 2.0 * MARGIN_DEG;
            let sx0 = x_min.max(cx0);
            let sx1 = x_max.min(cx1);
            if sx0 > sx1 {
                continue;
            }
            let (lo, hi) = if dx == 0.0 || (sx0 <= x_min && sx1 >= x_max) {
                (y_min, y_max)
            } else {
                let y_at = |x: f64| a.y + ((x - a.x) / dx).clamp(0.0, 1.0) * (b.y - a.y);
                let (y0, y1) = min_max(y_at(sx0), y_at(sx1));
                (y0.max(y_min), y1.min(y_max))
            };
            if let Some((r0, r1)) = Raster::span(lo, hi, self.oy, self.h, self.ny) {
                for row in r0..=r1 {
                    visit(col, row);
                }
            }
        }
    }
}

struct Tables {
    tiles: Vec<u32>,
    fine: Vec<u32>,
    runs: Vec<Run>,
    boundary_tiles: Vec<(u32, u32)>,
    boundary_cells: Vec<u32>,
}

/// A cell's edges in one tile, and whether the tile's north-east corner is inside the cell.
struct Touch<'a> {
    cell: u32,
    corner_inside: bool,
    edges: &'a [u32],
}

/// What one boundary tile becomes.
enum TileOut {
    /// A cell contains the whole tile and no lower-numbered cell touches it.
    Inside(u32),
    Block {
        s: usize,
        fine: Vec<u32>,
        runs: Vec<Run>,
        cells: Vec<u32>,
    },
}

fn build_tables(flat: &Flat, grid: &Grid) -> Result<Tables, IndexError> {
    let coarse = Raster {
        ox: grid.x0,
        oy: grid.y0,
        w: grid.tw,
        h: grid.th,
        nx: grid.nx,
        ny: grid.ny,
    };
    // (cell, row, column, edge) for every edge and tile it touches, per cell in parallel.
    let mut touches: Vec<(u32, u32, u32, u32)> = (0..flat.cells())
        .into_par_iter()
        .flat_map_iter(|cell| {
            let mut out = Vec::new();
            for e in flat.edges_of(cell) {
                let (a, b) = flat.edge(e);
                coarse.segment(a, b, |col, row| {
                    out.push((cell as u32, row as u32, col as u32, e));
                });
            }
            out
        })
        .collect();
    // Per cell and row, from east to west: the walk below needs that order.
    touches.par_sort_unstable_by(|a, b| {
        (a.0, a.1)
            .cmp(&(b.0, b.1))
            .then(b.2.cmp(&a.2))
            .then(a.3.cmp(&b.3))
    });
    touches.dedup();
    let edges: Vec<u32> = touches.iter().map(|t| t.3).collect();

    // Walk each (cell, row) westwards along the tiles' north sides, from outside the grid (outside the
    // cell): the status of each touched tile's north-east corner, and the untouched tiles in between that
    // lie inside the cell.
    let mut pairs: Vec<(u32, u32, bool, u32, u32)> = Vec::new(); // tile, cell, corner inside, edges range
    let mut inside_runs: Vec<(u32, u32, u32, u32)> = Vec::new(); // row, first col, last col, cell
    let mut start = 0;
    while start < touches.len() {
        let (cell, row, _, _) = touches[start];
        let mut inside = false;
        let mut previous_col: Option<u32> = None;
        let mut g = start;
        while g < touches.len() && touches[g].0 == cell && touches[g].1 == row {
            let col = touches[g].2;
            let mut end = g;
            while end < touches.len()
                && touches[end].0 == cell
                && touches[end].1 == row
                && touches[end].2 == col
            {
                end += 1;
            }
            if let (Some(prev), true) = (previous_col, inside) {
                if prev > col + 1 {
                    inside_runs.push((row, col + 1, prev - 1, cell));
                }
            }
            let tile = row as usize * grid.nx + col as usize;
            pairs.push((tile as u32, cell, inside, g as u32, end as u32));
            // Cross the tile's north side, from its north-east corner to its north-west corner.
            let y = grid.row_y(row as usize + 1);
            let east = Coord {
                x: grid.col_x(col as usize + 1),
                y,
            };
            let west_x = grid.col_x(col as usize);
            for &e in &edges[g..end] {
                let (a, b) = flat.edge(e);
                inside ^= crosses_horizontal(a, b, east, west_x);
            }
            previous_col = Some(col);
            g = end;
        }
        debug_assert!(
            !inside,
            "a closed ring crosses a line an even number of times"
        );
        start = g;
    }

    pairs.par_sort_unstable_by_key(|p| (p.0, p.1));
    let mut tiles = vec![EMPTY; grid.nx * grid.ny];
    let mut touched = vec![false; tiles.len()];
    for p in &pairs {
        touched[p.0 as usize] = true;
    }
    // Cells that contain a whole tile: the tile's cell if nothing crosses it, else an extra candidate
    // (only in overlapping layers).
    let mut full: Vec<(u32, u32)> = Vec::new(); // tile, cell
    for &(row, c0, c1, cell) in &inside_runs {
        for col in c0..=c1 {
            let tile = row as usize * grid.nx + col as usize;
            if touched[tile] {
                full.push((tile as u32, cell));
            } else {
                tiles[tile] = tiles[tile].min(cell);
            }
        }
    }
    full.sort_unstable();
    drop(touched);

    // Group the pairs by tile and build each boundary tile's sub-tiles, in parallel.
    let mut groups: Vec<(usize, usize)> = Vec::new(); // range in `pairs`
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j < pairs.len() && pairs[j].0 == pairs[i].0 {
            j += 1;
        }
        groups.push((i, j));
        i = j;
    }
    let outputs: Vec<(u32, TileOut)> = groups
        .par_iter()
        .map(|&(i, j)| {
            let tile = pairs[i].0;
            let touches: Vec<Touch> = pairs[i..j]
                .iter()
                .map(|p| Touch {
                    cell: p.1,
                    corner_inside: p.2,
                    edges: &edges[p.3 as usize..p.4 as usize],
                })
                .collect();
            let f_start = full.partition_point(|f| f.0 < tile);
            let f_end = full.partition_point(|f| f.0 <= tile);
            let full_cells: Vec<u32> = full[f_start..f_end].iter().map(|f| f.1).collect();
            (
                tile,
                build_tile(flat, grid, tile as usize, &touches, &full_cells),
            )
        })
        .collect();

    let mut fine = Vec::new();
    let mut runs = Vec::new();
    let mut boundary_tiles = Vec::new();
    let mut boundary_cells = Vec::new();
    for (tile, out) in outputs {
        match out {
            TileOut::Inside(cell) => tiles[tile as usize] = cell,
            TileOut::Block {
                s,
                fine: block_fine,
                runs: block_runs,
                cells,
            } => {
                let fine_start = fine.len();
                if fine_start + block_fine.len() >= FINE_START_MASK as usize
                    || runs.len() + block_runs.len() >= (TAG - 1) as usize
                {
                    return Err(IndexError::TooDense {
                        subtiles: fine_start + block_fine.len(),
                    });
                }
                let run_offset = runs.len() as u32;
                fine.extend(block_fine.into_iter().map(|entry| {
                    if entry != EMPTY && entry & TAG != 0 {
                        entry + run_offset
                    } else {
                        entry
                    }
                }));
                runs.extend(block_runs);
                tiles[tile as usize] = TAG | ((s as u32 - 1) << SUB_SHIFT) | fine_start as u32;
                boundary_tiles.push((tile, boundary_cells.len() as u32));
                boundary_cells.extend(cells);
            }
        }
    }
    fine.shrink_to_fit();
    runs.shrink_to_fit();
    boundary_tiles.shrink_to_fit();
    boundary_cells.shrink_to_fit();
    Ok(Tables {
        tiles,
        fine,
        runs,
        boundary_tiles,
        boundary_cells,
    })
}

/// A candidate cell of one sub-tile.
#[derive(Clone, Copy)]
enum SubCandidate {
    /// The cell contains the whole sub-tile.
    Full,
    /// The cell's edges touching the sub-tile are `edges[start..end]` of the cell's list, and whether the
    /// sub-tile's north-east corner is inside the cell.
    Touch {
        corner_inside: bool,
        start: usize,
        end: usize,
    },
}

/// Builds the sub-tiles of one boundary tile.
fn build_tile(
    flat: &Flat,
    grid: &Grid,
    tile: usize,
    touches: &[Touch],
    full_cells: &[u32],
) -> TileOut {
    let min_touch = touches.iter().map(|t| t.cell).min().unwrap_or(u32::MAX);
    if let Some(&min_full) = full_cells.iter().min() {
        if min_full < min_touch {
            return TileOut::Inside(min_full);
        }
    }
    let (i, j) = (tile % grid.nx, tile / grid.nx);
    let incidences: usize = touches.iter().map(|t| t.edges.len()).sum();
    let s = ((incidences as f64 * FINE_SUBTILES_PER_INCIDENCE)
        .sqrt()
        .ceil() as usize)
        .clamp(1, MAX_SUBDIVISION);
    let Some(sub) = grid.sub.get(s).copied() else {
        return TileOut::Inside(min_touch);
    };
    let tx0 = grid.col_x(i);
    let ty0 = grid.row_y(j);
    let tile_corner = Coord {
        x: grid.col_x(i + 1),
        y: grid.row_y(j + 1),
    };
    let raster = Raster {
        ox: tx0,
        oy: ty0,
        w: sub.w,
        h: sub.h,
        nx: s,
        ny: s,
    };
    // Per sub-tile: (cell, candidate), and per touching cell its edges sorted by sub-tile.
    let mut candidates: Vec<Vec<(u32, SubCandidate)>> = vec![Vec::new(); s * s];
    let mut sub_edges: Vec<Vec<u32>> = Vec::with_capacity(touches.len());
    for touch in touches {
        let mut by_sub: Vec<(usize, u32)> = Vec::new();
        for &e in touch.edges {
            let (a, b) = flat.edge(e);
            raster.segment(a, b, |k, l| by_sub.push((l * s + k, e)));
        }
        by_sub.sort_unstable();
        by_sub.dedup();
        let list: Vec<u32> = by_sub.iter().map(|x| x.1).collect();
        // Where each sub-tile's edges start in `list`.
        let mut ranges = vec![(0usize, 0usize); s * s];
        let mut x = 0;
        while x < by_sub.len() {
            let mut y = x;
            while y < by_sub.len() && by_sub[y].0 == by_sub[x].0 {
                y += 1;
            }
            ranges[by_sub[x].0] = (x, y);
            x = y;
        }
        // Walk each row of sub-tile corners westwards from the tile's east side; the first corner's
        // status comes from the tile's own corner through the path test.
        for l in 0..s {
            let east = sub_corner(tx0, ty0, s - 1, l, &sub);
            let mut inside = touch.corner_inside;
            for &e in touch.edges {
                let (a, b) = flat.edge(e);
                inside ^= crosses_path(a, b, east, tile_corner);
            }
            for k in (0..s).rev() {
                let idx = l * s + k;
                let (start, end) = ranges[idx];
                if start < end {
                    candidates[idx].push((
                        touch.cell,
                        SubCandidate::Touch {
                            corner_inside: inside,
                            start,
                            end,
                        },
                    ));
                    let corner = sub_corner(tx0, ty0, k, l, &sub);
                    let west_x = tx0 + k as f64 * sub.w;
                    for &e in &list[start..end] {
                        let (a, b) = flat.edge(e);
                        inside ^= crosses_horizontal(a, b, corner, west_x);
                    }
                } else if inside {
                    candidates[idx].push((touch.cell, SubCandidate::Full));
                }
            }
        }
        sub_edges.push(list);
    }

    let mut fine = vec![EMPTY; s * s];
    let mut runs = Vec::new();
    for (idx, cands) in candidates.iter_mut().enumerate() {
        for &cell in full_cells {
            cands.push((cell, SubCandidate::Full));
        }
        cands.sort_by_key(|a| a.0);
        match cands.first() {
            None => {}
            Some(&(cell, SubCandidate::Full)) => fine[idx] = cell,
            Some(_) => {
                fine[idx] = TAG | runs.len() as u32;
                for &(cell, cand) in cands.iter() {
                    match cand {
                        SubCandidate::Full => {
                            runs.push(Run {
                                cell,
                                first_edge: 0,
                                meta: RUN_CORNER_INSIDE | RUN_END_OF_CELL,
                            });
                            // Inside for sure: later candidates can never be chosen.
                            break;
                        }
                        SubCandidate::Touch {
                            corner_inside,
                            start,
                            end,
                        } => {
                            let t = touches.iter().position(|t| t.cell == cell).unwrap_or(0);
                            let list = sub_edges.get(t).map_or(&[][..], |l| &l[start..end]);
                            push_runs(&mut runs, cell, corner_inside, list);
                        }
                    }
                }
                if let Some(last) = runs.last_mut() {
                    last.meta |= RUN_END_OF_SUBTILE;
                }
            }
        }
    }
    let mut cells: Vec<u32> = touches.iter().map(|t| t.cell).collect();
    cells.sort_unstable();
    TileOut::Block {
        s,
        fine,
        runs,
        cells,
    }
}

/// Appends the runs of consecutive edges of one cell in a sub-tile (the edges sorted). Consecutive edge
/// numbers are always consecutive edges of one ring, since the closing vertex of a ring starts no edge.
fn push_runs(runs: &mut Vec<Run>, cell: u32, corner_inside: bool, edges: &[u32]) {
    let first_run = runs.len();
    let mut i = 0;
    while i < edges.len() {
        let mut j = i + 1;
        while j < edges.len() && edges[j] == edges[j - 1] + 1 && j - i < RUN_LEN_MASK as usize {
            j += 1;
        }
        runs.push(Run {
            cell,
            first_edge: edges[i],
            meta: (j - i) as u32,
        });
        i = j;
    }
    if runs.len() == first_run {
        runs.push(Run {
            cell,
            first_edge: 0,
            meta: 0,
        });
    }
    if let Some(first) = runs.get_mut(first_run) {
        if corner_inside {
            first.meta |= RUN_CORNER_INSIDE;
        }
    }
    if let Some(last) = runs.last_mut() {
        last.meta |= RUN_END_OF_CELL;
    }
}

pub mod synthetic {
    //! Synthetic layers for tests and benchmarks: irregular cells that partition an area exactly.

    use geo::{Coord, LineString, MultiPolygon, Polygon};

    /// A jittered lattice of quadrilaterals whose every side is a random polyline shared by the two cells
    /// on either side of it, so the cells cover the area without gaps or overlaps.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Lattice {
        pub columns: usize,
        pub rows: usize,
        /// South-west corner of the lattice (before jitter), degrees.
        pub west: f64,
        pub south: f64,
        /// Size of a lattice cell, degrees of longitude and latitude.
        pub cell_width: f64,
        pub cell_height: f64,
        /// Each side of a cell is cut into a number of segments drawn from this range (inclusive), so a
        /// cell has four times as many vertices on average.
        pub segments_per_side: (usize, usize),
        pub seed: u64,
    }

    impl Lattice {
        /// About `cells` cells of `vertices` vertices on average (±`spread`), square in metres,
        /// covering `size_m × size_m` centred on (`lon`, `lat`).
        pub fn around(
            lon: f64,
            lat: f64,
            size_m: f64,
            cells: usize,
            vertices: (usize, usize),
            seed: u64,
        ) -> Lattice {
            let side = (cells.max(1) as f64).sqrt().round().max(1.0) as usize;
            let height = size_m / 111_000.0;
            let width = size_m / (111_320.0 * lat.to_radians().cos());
            Lattice {
                columns: side,
                rows: cells.max(1).div_ceil(side),
                west: lon - width / 2.0,
                south: lat - height / 2.0,
                cell_width: width / side as f64,
                cell_height: height / side as f64,
                segments_per_side: ((vertices.0 / 4).max(1), (vertices.1 / 4).max(1)),
                seed,
            }
        }

        /// The cells, row by row from the south-west, with 15-digit codes.
        pub fn cells(&self) -> Vec<(String, MultiPolygon<f64>)> {
            let mut rng = SplitMix(self.seed);
            let (nc, nr) = (self.columns.max(1), self.rows.max(1));
            // Lattice nodes, jittered by up to 15 % of a cell in each direction.
            let node = |rng: &mut SplitMix, i: usize, j: usize| Coord {
                x: self.west + (i as f64 + 0.3 * (rng.next_f64() - 0.5)) * self.cell_width,
                y: self.south + (j as f64 + 0.3 * (rng.next_f64() - 0.5)) * self.cell_height,
            };
            let mut nodes = Vec::with_capacity((nc + 1) * (nr + 1));
            for j in 0..=nr {
                for i in 0..=nc {
                    nodes.push(node(&mut rng, i, j));
                }
            }
            let at = |i: usize, j: usize| nodes[j * (nc + 1) + i];
            let (lo, hi) = (
                self.segments_per_side.0.max(1),
                self.segments_per_side
                    .1
                    .max(self.segments_per_side.0)
                    .max(1),
            );
            let side = |rng: &mut SplitMix, a: Coord<f64>, b: Coord<f64>| {
                let n = lo + rng.below(hi - lo + 1);
                polyline(rng, a, b, n)
            };
            // Horizontal sides (i, j)→(i+1, j) and vertical sides (i, j)→(i, j+1), west to east and
            // south to north.
            let mut horizontal = Vec::with_capacity(nc * (nr + 1));
            for j in 0..=nr {
                for i in 0..nc {
                    horizontal.push(side(&mut rng, at(i, j), at(i + 1, j)));
                }
            }
            let mut vertical = Vec::with_capacity((nc + 1) * nr);
            for j in 0..nr {
                for i in 0..=nc {
                    vertical.push(side(&mut rng, at(i, j), at(i, j + 1)));
                }
            }
            let mut cells = Vec::with_capacity(nc * nr);
            for j in 0..nr {
                for i in 0..nc {
                    let south = &horizontal[j * nc + i];
                    let east = &vertical[j * (nc + 1) + i + 1];
                    let north = &horizontal[(j + 1) * nc + i];
                    let west = &vertical[j * (nc + 1) + i];
                    // Counter-clockwise: south eastwards, east northwards, north westwards, west southwards.
                    let mut ring: Vec<Coord<f64>> = Vec::new();
                    ring.extend(&south[..south.len() - 1]);
                    ring.extend(&east[..east.len() - 1]);
                    ring.extend(north.iter().rev().take(north.len() - 1));
                    ring.extend(west.iter().rev().take(west.len() - 1));
                    ring.push(south[0]);
                    let code = format!("120110{:09}", j * nc + i + 1);
                    let polygon = Polygon::new(LineString::from(ring), vec![]);
                    cells.push((code, MultiPolygon::new(vec![polygon])));
                }
            }
            cells
        }
    }

    /// A polyline from `a` to `b` of `n` segments: random stations along the chord, each moved sideways by
    /// up to 6 % of the chord times `sin(π t)`, so the line stays within a narrow lens around the chord and
    /// leaves its ends at an angle of at most about 11° to it (neighbouring sides never cross).
    fn polyline(rng: &mut SplitMix, a: Coord<f64>, b: Coord<f64>, n: usize) -> Vec<Coord<f64>> {
        let d = Coord {
            x: b.x - a.x,
            y: b.y - a.y,
        };
        let normal = Coord { x: -d.y, y: d.x };
        let mut line = Vec::with_capacity(n + 1);
        line.push(a);
        for m in 1..n {
            let t = (m as f64 + 0.6 * (rng.next_f64() - 0.5)) / n as f64;
            let offset = 0.06 * (2.0 * rng.next_f64() - 1.0) * (std::f64::consts::PI * t).sin();
            line.push(Coord {
                x: a.x + t * d.x + offset * normal.x,
                y: a.y + t * d.y + offset * normal.y,
            });
        }
        line.push(b);
        line
    }

    /// SplitMix64: a small, well-mixed deterministic generator (no dependency needed for fixtures).
    pub struct SplitMix(pub u64);

    impl SplitMix {
        pub fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in [0, 1).
        pub fn next_f64(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }

        /// Uniform in 0..n (n > 0).
        pub fn below(&mut self, n: usize) -> usize {
            (self.next_u64() % n.max(1) as u64) as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    #[test]
    fn orientation_is_exact_near_zero() {
        // Collinear in exact arithmetic although the float determinant may round either way.
        let a = c(0.5, 0.5);
        let b = c(12.0, 12.0);
        let p = c(24.0, 24.0);
        assert_eq!(orient(a, b, p), 0.0);
        let q = c(24.000000000000004, 24.0);
        assert!(orient(a, b, q) < 0.0);
    }

    #[test]
    fn horizontal_crossing_follows_the_half_open_rule() {
        let a = c(1.0, 0.0);
        let b = c(1.0, 2.0);
        // On the edge: not west of it, so no crossing towards the east.
        assert!(!crosses_horizontal(a, b, c(1.0, 1.0), 3.0));
        assert!(crosses_horizontal(a, b, c(0.5, 1.0), 3.0));
        // At the lower end the edge counts, at the upper end it does not.
        assert!(crosses_horizontal(a, b, c(0.5, 0.0), 3.0));
        assert!(!crosses_horizontal(a, b, c(0.5, 2.0), 3.0));
    }

    #[test]
    fn run_flags_do_not_overlap() {
        assert_eq!(RUN_CORNER_INSIDE & RUN_END_OF_CELL, 0);
        assert_eq!(RUN_END_OF_SUBTILE & RUN_LEN_MASK, 0);
        assert_eq!(
            (RUN_CORNER_INSIDE | RUN_END_OF_CELL | RUN_END_OF_SUBTILE) & RUN_LEN_MASK,
            0
        );
    }
}
