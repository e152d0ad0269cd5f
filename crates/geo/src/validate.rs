//! Validation of a grid layer before it is stored.
//!
//! [`validate`] reports everything wrong with a layer at once: malformed, duplicate or misplaced codes, broken
//! geometry, overlapping siblings, parts of a parent that no child covers and children that stick out of their
//! parent. Each problem names the feature code(s) involved and a WGS84 position at or near the fault, so that
//! a GIS operator can find it on a map.
//!
//! Feature areas are geodesic (WGS84 ellipsoid, Karney's algorithm, see [`geodesic_area_m2`]). Overlaps, gaps and
//! parts outside the parent are computed by boolean operations that draw every edge as a straight line in
//! longitude/latitude, so their areas are measured the same way ([`straight_edge_area_m2`]): a geodesic measure
//! of such a piece adds the lens between each long edge and its geodesic, which for the thin slivers left by
//! coordinate rounding is a thousand times the sliver itself.
//!
//! Coordinates rounded to a few decimals leave slivers wherever a vertex of one feature lay on an edge of
//! another: written with 7 decimals (1e-7° ≈ 1.1 cm, as `onegrid grid export` does), a vertex moves by up to
//! 0.7 cm, and beside a 4 km edge that opens a 10 m² triangle — an error by area alone, yet only millimetres
//! wide. So a piece is judged by its mean width (2 × area / perimeter) before its area: the validator finds to
//! how many decimals each layer is rounded (6 to 9 are recognized), and a piece narrower on average than the
//! two boundaries' rounding could have moved apart (1.6 cm when both are at 7 decimals, 0.8 cm when one is),
//! or than [`MIN_SLIVER_WIDTH_M`], is coordinate noise and is not reported. A real fault is wider: a 1,000 m²
//! gap narrower than 1.6 cm would be 60 km long. Full-precision coordinates are allowed only the 1 mm floor, so
//! a 5 mm misfit between them is still found. Overlaps, gaps and parts outside the parent of at least
//! [`ValidateOptions::min_area_m2`] are errors; smaller ones are warnings, and areas of at most
//! [`RESIDUE_AREA_M2`] are the floating-point residue of features that share an edge exactly and are not
//! reported.
//!
//! Without parents, the layer's own union is checked for enclosed holes. They are reported as [`ProblemKind::Gap`]
//! *warnings*, never errors: without the parent outline the validator cannot tell a digitizing gap from a real
//! enclave (Tianjin's Ninghe district encloses 131.6 km² of Hebei, for example).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use geo::algorithm::bool_ops::FillRule;
use geo::algorithm::coordinate_position::CoordPos;
use geo::algorithm::line_intersection::{line_intersection, LineIntersection};
use geo::algorithm::orient::{Direction, Orient};
use geo::algorithm::validation::{InvalidMultiPolygon, InvalidPolygon, RingRole};
use geo::{
    Area, BooleanOps, BoundingRect, Coord, CoordinatePosition, GeodesicArea, InteriorPoint,
    Intersects, Line, LineString, MapCoords, MultiPolygon, Polygon, Rect, Validation,
};
use onegrid_core::area::{AreaCode, AreaLevel};
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;
use serde::Serialize;

use crate::layer::{feature_label, GridFeature, GridLayer, Problem, ProblemKind, Severity};

/// Default tolerance for overlaps, gaps and parts outside the parent, in m².
///
/// Grid cells are about 10,000 m² (GB/T 30428.1 "万米单元网格"), so 1 m² is a hundredth of a percent of a cell:
/// too small to hold a report that matters. It is also what a misfit of one centimetre — the resolution of
/// coordinates given to 7 decimals (1e-7° ≈ 1.1 cm) — leaves along a 100 m edge. Anything larger is a real
/// digitizing mismatch and refuses the layer.
pub const DEFAULT_MIN_AREA_M2: f64 = 1.0;

/// Areas at or below this (100 cm²) are floating-point residue of features that share an edge exactly; they
/// are not reported at all, whatever the tolerance.
pub const RESIDUE_AREA_M2: f64 = 0.01;

/// Pieces of an overlap, gap, part outside the parent or hole narrower than this on average (1 mm) are never
/// reported, however long: nothing on the ground is that thin, and the boolean operations themselves snap to
/// an integer grid of about 0.2 mm across a layer the size of Tianjin.
pub const MIN_SLIVER_WIDTH_M: f64 = 0.001;

/// The coarsest rounding that [`validate`] recognizes and forgives: 6 decimals (1e-6° ≈ 11 cm), what many
/// web tools write. A layer rounded more coarsely is forgiven only what 6 decimals would be: at 5 decimals
/// (1.1 m) a misfit is as large as a pavement and worth fixing.
const COARSEST_DECIMALS: i32 = 6;

/// Finer rounding than this (1e-9° ≈ 0.1 mm) is below [`MIN_SLIVER_WIDTH_M`] anyway.
const FINEST_DECIMALS: i32 = 9;

/// Half the diagonal of a 1° × 1° cell, in metres, at most (at the equator; 70 km at Tianjin): how far rounding
/// to a step of 1° moves a position, at most.
const HALF_DIAGONAL_M_PER_DEGREE: f64 = 78_850.0;

/// How far (in degrees, ≈ 11 cm) a vertex of a hole may lie from a feature's boundary and still count as
/// bordering it. Overlay output is snapped to an integer grid, so hole vertices are not bit-identical to inputs.
const ON_BOUNDARY_DEGREES: f64 = 1e-6;

/// The ranges in which a Chinese layer's values lie when latitude and longitude are exchanged.
const SWAPPED_X: std::ops::RangeInclusive<f64> = 3.0..=54.0;
const SWAPPED_Y: std::ops::RangeInclusive<f64> = 73.0..=136.0;

/// What to check a layer against.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidateOptions {
    /// The layer's level; when `None`, the layer's declared level or the one its codes imply.
    pub level: Option<AreaLevel>,
    /// The already stored layer one level up (may be empty). When given, parent codes must be among these,
    /// children must lie inside their parent and cover it.
    pub parents: Vec<GridFeature>,
    /// Overlaps, gaps and parts outside the parent of at least this area (m²) are errors, smaller ones
    /// warnings. See [`DEFAULT_MIN_AREA_M2`]; a negative or non-finite value means that default.
    pub min_area_m2: f64,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            level: None,
            parents: Vec::new(),
            min_area_m2: DEFAULT_MIN_AREA_M2,
        }
    }
}

/// The result of [`validate`]: every problem found, in a stable order (errors first, then by kind and codes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub problems: Vec<Problem>,
    /// Number of features in the layer.
    pub features: usize,
    /// Sum of the geodesic areas of the features whose coordinates are usable, in m².
    pub total_area_m2: f64,
}

impl Report {
    /// True when the layer must be refused (unless the operator forces it).
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
    }

    /// Number of problems of one severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.problems
            .iter()
            .filter(|p| p.severity == severity)
            .count()
    }
}

impl fmt::Display for Report {
    /// One line per problem — `severity  kind  codes  at lon,lat  [area m²]  message` — then a summary line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in &self.problems {
            let severity = match problem.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let codes = if problem.codes.is_empty() {
                "(layer)".to_string()
            } else {
                problem.codes.join(",")
            };
            write!(
                f,
                "{severity:<7}  {:<23}  {codes}  at ",
                problem.kind.as_str()
            )?;
            match problem.location {
                Some([lon, lat]) => write!(f, "{lon:.6},{lat:.6}")?,
                None => f.write_str("-")?,
            }
            if let Some(area) = problem.area_m2 {
                write!(f, "  {area:.1} m²")?;
            }
            writeln!(f, "  {}", problem.message)?;
        }
        let errors = self.count(Severity::Error);
        let warnings = self.count(Severity::Warning);
        write!(
            f,
            "{} features, {:.3} km²: {} {}, {} {}",
            self.features,
            self.total_area_m2 / 1e6,
            errors,
            if errors == 1 { "error" } else { "errors" },
            warnings,
            if warnings == 1 { "warning" } else { "warnings" },
        )
    }
}

/// Geodesic area of a WGS84 lon/lat multipolygon in m², on the WGS84 ellipsoid.
///
/// Uses geo's [`GeodesicArea`] (Karney 2013, the algorithm of GeographicLib and of pyproj's `Geod`), which is
/// exact to well under a millimetre² for areas this size. `ChamberlainDuquetteArea` is cheaper but spherical;
/// at Tianjin's latitude it is off by about half a percent, too much for the 1 % area checks. Each polygon's
/// area is taken with its own sign removed, so the result does not depend on ring orientation (shapefiles
/// wind outer rings clockwise, GeoJSON counter-clockwise). The coordinates must be finite.
pub fn geodesic_area_m2(geometry: &MultiPolygon<f64>) -> f64 {
    geometry
        .0
        .iter()
        .map(|polygon| polygon.geodesic_area_signed().abs())
        .fold(0.0, |sum, area| sum + area)
}

/// Area in m² on the WGS84 ellipsoid of a lon/lat multipolygon whose edges are straight lines in
/// longitude/latitude — the way GIS software draws them and the way the boolean operations cut them.
///
/// The area element of the ellipsoid is `M(φ)·N(φ)·cos φ dλ dφ`; by Green's theorem the area is `-∮ F(φ) dλ`
/// with `F` its integral from the equator (the authalic-latitude function, in closed form). Along a straight
/// edge λ is linear in φ, so each edge is one smooth one-dimensional integral, taken by 4-point Gauss–Legendre
/// quadrature: a triangle with 300 km edges gets the area of the same triangle with its edges cut into a
/// thousand pieces to 10⁻⁴ m². For small polygons it equals [`geodesic_area_m2`]; the two differ by the lens
/// between each edge and the geodesic through its ends, about 0.01 % of a Dongli street with 4 km edges, but
/// all of a sliver's area. Each polygon's rings are taken without sign and its holes subtracted, so winding
/// does not matter. Edges must not cross the antimeridian.
pub fn straight_edge_area_m2(geometry: &MultiPolygon<f64>) -> f64 {
    geometry
        .0
        .iter()
        .map(polygon_area_m2)
        .fold(0.0, |sum, area| sum + area)
}

const WGS84_A: f64 = 6_378_137.0;
const WGS84_F: f64 = 1.0 / 298.257_223_563;

/// Gauss–Legendre nodes on 0…1 and their weights (summing to 1).
const GAUSS_LEGENDRE_4: [(f64, f64); 4] = [
    (0.069_431_844_202_973_71, 0.173_927_422_568_726_93),
    (0.330_009_478_207_571_87, 0.326_072_577_431_273_07),
    (0.669_990_521_792_428_1, 0.326_072_577_431_273_07),
    (0.930_568_155_797_026_3, 0.173_927_422_568_726_93),
];

/// Area of the ellipsoid between the equator and latitude `phi` (radians), per radian of longitude:
/// `∫ M·N·cos φ dφ = a²(1−e²)·(sin φ / (2(1−e² sin² φ)) + atanh(e sin φ) / (2e))`.
fn zone_area(phi: f64) -> f64 {
    let e2 = WGS84_F * (2.0 - WGS84_F);
    let e = e2.sqrt();
    let s = phi.sin();
    WGS84_A * WGS84_A * (1.0 - e2) * (s / (2.0 * (1.0 - e2 * s * s)) + (e * s).atanh() / (2.0 * e))
}

fn ring_area_m2(ring: &LineString<f64>) -> f64 {
    let Some(first) = ring.0.first() else {
        return 0.0;
    };
    // Subtracting the first vertex's zone keeps the terms small: a closed ring's ∮ const dλ is zero, and
    // without it a 0.01 m² sliver would be the difference of terms of 10¹³ m².
    let reference = zone_area(first.y.to_radians());
    let mut sum = 0.0;
    for line in ring.lines() {
        let d_lambda = (line.end.x - line.start.x).to_radians();
        if d_lambda == 0.0 {
            continue;
        }
        let (phi0, phi1) = (line.start.y.to_radians(), line.end.y.to_radians());
        let mean: f64 = GAUSS_LEGENDRE_4
            .iter()
            .map(|&(t, w)| w * (zone_area(phi0 + t * (phi1 - phi0)) - reference))
            .sum();
        sum += d_lambda * mean;
    }
    -sum
}

fn polygon_area_m2(polygon: &Polygon<f64>) -> f64 {
    let holes = polygon
        .interiors()
        .iter()
        .map(|ring| ring_area_m2(ring).abs())
        .fold(0.0, |sum, area| sum + area);
    ring_area_m2(polygon.exterior()).abs() - holes
}

/// Length in metres of a lon/lat ring, each edge measured with the ellipsoid's radii of curvature at its
/// middle (plenty for telling a millimetre-wide sliver from a real gap).
fn ring_length_m(ring: &LineString<f64>) -> f64 {
    let e2 = WGS84_F * (2.0 - WGS84_F);
    ring.lines()
        .map(|line| {
            let phi = ((line.start.y + line.end.y) / 2.0).to_radians();
            let w = (1.0 - e2 * phi.sin().powi(2)).sqrt();
            let meridian = WGS84_A * (1.0 - e2) / (w * w * w);
            let normal = WGS84_A / w;
            let east = (line.end.x - line.start.x).to_radians() * normal * phi.cos();
            let north = (line.end.y - line.start.y).to_radians() * meridian;
            east.hypot(north)
        })
        .fold(0.0, |sum, length| sum + length)
}

/// One polygon of an overlap, gap or part outside the parent, with its area.
struct Piece {
    polygon: Polygon<f64>,
    area_m2: f64,
}

/// How far apart rounding may have moved two boundaries of these features, in metres: the largest
/// displacement of a position rounded to the number of decimals the features' coordinates are written with
/// (see [`COARSEST_DECIMALS`]), or 0 when they carry more than [`FINEST_DECIMALS`] (full precision).
fn rounding_noise_m(features: &[GridFeature]) -> f64 {
    let mut decimals = None;
    let values = features
        .iter()
        .flat_map(|f| all_coords(&f.geometry))
        .flat_map(|c| [c.x, c.y])
        .filter(|v| v.is_finite());
    for value in values {
        let least = decimals.unwrap_or(COARSEST_DECIMALS);
        match (least..=FINEST_DECIMALS).find(|&d| is_rounded_to(value, d)) {
            Some(d) => decimals = Some(d),
            None => return 0.0,
        }
    }
    decimals.map_or(0.0, |d| HALF_DIAGONAL_M_PER_DEGREE * 10f64.powi(-d))
}

/// `value` is what rounding to `decimals` decimals gives (the formula of [`crate::write`], and the nearest
/// double to the decimal a file holds, so values parsed from such a file pass too).
fn is_rounded_to(value: f64, decimals: i32) -> bool {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale == value
}

/// The pieces of an overlay result that are real: at least `noise_width_m` (and [`MIN_SLIVER_WIDTH_M`])
/// wide on average.
///
/// Why width and not area: noise of a few millimetres leaves slivers whose area grows with the length of the
/// edges involved, while their width stays bounded by the noise. On the demo grid (19 streets, 91
/// communities, 2,361 cells) written with 7 decimals the slivers reach 29 m² — errors by area — yet none is
/// wider than 8.4 mm on average, at most 0.65 of its bound. The alternatives measured worse: the arithmetic
/// area(parent) − Σ area(children) holds the same slivers (and, with geodesic areas, the edge lenses: 565 m²
/// for one unrounded street that the children cover exactly), and snapping to a fixed grid before the
/// boolean operations changes nothing for a layer already on the 1e-7° grid, since that rounding is what
/// moved the vertices off the edges.
fn solid_pieces(geometry: MultiPolygon<f64>, noise_width_m: f64) -> Vec<Piece> {
    let min_width = noise_width_m.max(MIN_SLIVER_WIDTH_M);
    geometry
        .0
        .into_iter()
        .filter_map(|polygon| {
            let area_m2 = polygon_area_m2(&polygon);
            let perimeter = rings(&polygon)
                .into_iter()
                .map(ring_length_m)
                .fold(0.0, |sum, length| sum + length);
            let solid = perimeter > 0.0 && 2.0 * area_m2 / perimeter >= min_width;
            solid.then_some(Piece { polygon, area_m2 })
        })
        .collect()
}

fn total_area(pieces: &[Piece]) -> f64 {
    pieces.iter().fold(0.0, |sum, p| sum + p.area_m2)
}

/// A point inside the largest piece.
fn largest_piece_location(pieces: &[Piece]) -> Option<Coord<f64>> {
    pieces
        .iter()
        .max_by(|a, b| a.area_m2.total_cmp(&b.area_m2))
        .and_then(|p| p.polygon.interior_point())
        .map(|p| p.0)
}

/// Checks a layer and reports every problem found. Never fails: what cannot be checked (e.g. the overlaps of a
/// feature whose coordinates are not numbers) is left out after reporting why.
pub fn validate(layer: &GridLayer, options: &ValidateOptions) -> Report {
    let tolerance = if options.min_area_m2.is_finite() && options.min_area_m2 >= 0.0 {
        options.min_area_m2
    } else {
        DEFAULT_MIN_AREA_M2
    };
    let level = options
        .level
        .or(layer.level)
        .or_else(|| layer.implied_level());
    let swapped = axes_swapped(&layer.features);
    let parents: BTreeMap<String, ParentShape> = options
        .parents
        .iter()
        .filter(|p| !p.code.trim().is_empty())
        .map(|p| (p.code.trim().to_string(), ParentShape::new(p)))
        .collect();
    let context = Context {
        level,
        swapped,
        parents: &parents,
        parent_level: level.and_then(AreaLevel::parent),
    };

    let mut problems = Vec::new();
    if swapped {
        problems.push(swapped_problem(&layer.features));
    }

    let checked: Vec<FeatureCheck> = layer
        .features
        .par_iter()
        .map(|feature| check_feature(feature, &context))
        .collect();
    let mut shapes = Vec::new();
    let mut labels = Vec::with_capacity(checked.len());
    for check in checked {
        problems.extend(check.problems);
        labels.push(check.label_point);
        shapes.extend(check.shape);
    }
    problems.extend(duplicate_codes(&layer.features, &labels));
    let total_area_m2 = shapes.iter().fold(0.0, |sum, s| sum + s.area_m2);

    // Two boundaries of this layer may each have been moved by rounding, or one of it and one of the parents.
    let layer_noise = rounding_noise_m(&layer.features);
    let between_siblings = 2.0 * layer_noise;
    let against_parent = layer_noise + rounding_noise_m(&options.parents);
    problems.extend(overlaps(&shapes, tolerance, between_siblings));
    if parents.is_empty() {
        problems.extend(enclosed_holes(&shapes, between_siblings));
    } else {
        problems.extend(gaps_in_parents(
            &shapes,
            &parents,
            level,
            tolerance,
            against_parent,
        ));
        problems.extend(outside_parents(
            &shapes,
            &parents,
            tolerance,
            against_parent,
        ));
    }

    problems.sort_by(compare_problems);
    Report {
        problems,
        features: layer.features.len(),
        total_area_m2,
    }
}

struct Context<'a> {
    level: Option<AreaLevel>,
    swapped: bool,
    parents: &'a BTreeMap<String, ParentShape<'a>>,
    parent_level: Option<AreaLevel>,
}

/// A feature whose geometry is usable for the spatial checks: non-empty, finite, in range, oriented
/// (outer rings counter-clockwise) and with lon/lat in the right order.
struct Shape<'a> {
    feature: &'a GridFeature,
    label: String,
    /// The parent code the feature names, or its code's prefix.
    parent: Option<String>,
    geometry: MultiPolygon<f64>,
    rect: Rect<f64>,
    area_m2: f64,
}

/// A feature of the parent layer, with its geometry prepared like a [`Shape`]'s when it is usable.
struct ParentShape<'a> {
    feature: &'a GridFeature,
    geometry: Option<MultiPolygon<f64>>,
}

impl<'a> ParentShape<'a> {
    fn new(feature: &'a GridFeature) -> ParentShape<'a> {
        let usable =
            !is_empty(&feature.geometry) && all_coords(&feature.geometry).all(|c| in_range(&c));
        ParentShape {
            feature,
            geometry: usable.then(|| feature.geometry.orient(Direction::Default)),
        }
    }
}

struct FeatureCheck<'a> {
    problems: Vec<Problem>,
    shape: Option<Shape<'a>>,
    /// A point inside the feature, for problems about its code or name.
    label_point: Option<Coord<f64>>,
}

fn check_feature<'a>(feature: &'a GridFeature, context: &Context<'_>) -> FeatureCheck<'a> {
    let label = feature_label(feature);
    let geometry = if context.swapped {
        feature.geometry.map_coords(|c| Coord { x: c.y, y: c.x })
    } else {
        feature.geometry.clone()
    };
    let (mut problems, usable) = check_geometry(feature, &label, &geometry);
    let shape = usable.then(|| {
        let geometry = geometry.orient(Direction::Default);
        let rect = geometry.bounding_rect();
        (geometry, rect)
    });
    let label_point = shape
        .as_ref()
        .and_then(|(geometry, _)| geometry.interior_point())
        .map(|p| p.0);

    let (code_problems, parent) = check_code(feature, &label, context);
    problems.extend(code_problems.into_iter().map(|p| at_opt(p, label_point)));
    if feature.name.trim().is_empty() {
        problems.push(at_opt(
            Problem::warning(
                ProblemKind::MissingName,
                vec![label.clone()],
                format!("feature {label} has no name"),
            ),
            label_point,
        ));
    }

    let shape = shape.and_then(|(geometry, rect)| {
        Some(Shape {
            feature,
            label,
            parent,
            area_m2: geodesic_area_m2(&geometry),
            rect: rect?,
            geometry,
        })
    });
    FeatureCheck {
        problems,
        shape,
        label_point,
    }
}

/// "1 position", "3 positions".
fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// One problem per location (the same fault found in several places), or one without location.
fn at_each(problem: Problem, locations: &[Coord<f64>]) -> Vec<Problem> {
    if locations.is_empty() {
        return vec![problem];
    }
    locations.iter().map(|&c| problem.clone().at(c)).collect()
}

fn at_opt(problem: Problem, location: Option<Coord<f64>>) -> Problem {
    match location {
        Some(c) => problem.at(c),
        None => problem,
    }
}

/// "120110 (东丽区)", or the bare label when the feature has no name.
fn describe(feature: &GridFeature) -> String {
    let label = feature_label(feature);
    let name = feature.name.trim();
    if name.is_empty() {
        label
    } else {
        format!("{label} ({name})")
    }
}

// ---------------------------------------------------------------------------------------------------------
// Codes

/// Code, level and parent checks. Returns the problems (without location) and the feature's parent key.
fn check_code(
    feature: &GridFeature,
    label: &str,
    context: &Context<'_>,
) -> (Vec<Problem>, Option<String>) {
    let mut problems = Vec::new();
    let text = feature.code.trim();
    let code = if text.is_empty() {
        problems.push(Problem::error(
            ProblemKind::MalformedCode,
            vec![label.to_string()],
            format!("feature #{} has no code", feature.index),
        ));
        None
    } else {
        match AreaCode::parse(text) {
            Ok(code) => Some(code),
            Err(err) => {
                problems.push(Problem::error(
                    ProblemKind::MalformedCode,
                    vec![label.to_string()],
                    err.to_string(),
                ));
                None
            }
        }
    };
    if let (Some(code), Some(level)) = (&code, context.level) {
        if code.level() != level {
            problems.push(Problem::error(
                ProblemKind::MalformedCode,
                vec![label.to_string()],
                format!(
                    "code {code} has {} digits, the length of a {} code, but this is a {level} layer ({} digits)",
                    code.as_str().len(),
                    code.level(),
                    level.code_len()
                ),
            ));
        }
    }

    let named = feature
        .parent
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let prefix = code.as_ref().and_then(AreaCode::parent);
    if let (Some(named), Some(code)) = (named, &code) {
        match &prefix {
            Some(prefix) if prefix.as_str() != named => problems.push(Problem::error(
                ProblemKind::WrongParent,
                vec![label.to_string(), named.to_string()],
                format!(
                    "feature {label} names {named} as its parent, but its code says the parent is {prefix}"
                ),
            )),
            None => problems.push(Problem::error(
                ProblemKind::WrongParent,
                vec![label.to_string(), named.to_string()],
                format!(
                    "feature {label} names {named} as its parent, but {code} is a district code, which has no parent"
                ),
            )),
            Some(_) => {}
        }
    }
    let parent = named
        .map(str::to_string)
        .or_else(|| prefix.map(String::from));
    if let Some(parent) = &parent {
        if !context.parents.is_empty() && !context.parents.contains_key(parent) {
            let what = context.parent_level.map_or("parent", AreaLevel::as_str);
            problems.push(Problem::error(
                ProblemKind::WrongParent,
                vec![label.to_string(), parent.clone()],
                format!(
                    "the parent {parent} of feature {label} is not among the {} stored {what} areas",
                    context.parents.len()
                ),
            ));
        }
    }
    (problems, parent)
}

fn duplicate_codes(features: &[GridFeature], labels: &[Option<Coord<f64>>]) -> Vec<Problem> {
    let mut by_code: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (position, feature) in features.iter().enumerate() {
        let code = feature.code.trim();
        if !code.is_empty() {
            by_code.entry(code).or_default().push(position);
        }
    }
    by_code
        .into_iter()
        .filter(|(_, positions)| positions.len() > 1)
        .map(|(code, positions)| {
            let indexes: Vec<String> = positions
                .iter()
                .filter_map(|&p| features.get(p))
                .map(|f| format!("#{}", f.index))
                .collect();
            let problem = Problem::error(
                ProblemKind::DuplicateCode,
                vec![code.to_string()],
                format!(
                    "code {code} is used by {} features: {}",
                    positions.len(),
                    indexes.join(", ")
                ),
            );
            // Point at the second use: the first is usually the one meant.
            let location = positions
                .get(1)
                .and_then(|&p| labels.get(p).copied().flatten());
            at_opt(problem, location)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------
// Geometry of one feature

fn is_empty(geometry: &MultiPolygon<f64>) -> bool {
    geometry
        .0
        .iter()
        .all(|p| p.exterior().0.is_empty() && p.interiors().iter().all(|r| r.0.is_empty()))
}

fn all_coords(geometry: &MultiPolygon<f64>) -> impl Iterator<Item = Coord<f64>> + '_ {
    geometry
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|ring| ring.0.iter().copied())
}

fn in_range(c: &Coord<f64>) -> bool {
    c.x.is_finite()
        && c.y.is_finite()
        && (-180.0..=180.0).contains(&c.x)
        && (-90.0..=90.0).contains(&c.y)
}

fn ring_of(polygon: &Polygon<f64>, role: RingRole) -> Option<&LineString<f64>> {
    match role {
        RingRole::Exterior => Some(polygon.exterior()),
        RingRole::Interior(k) => polygon.interiors().get(k),
    }
}

/// "the outer ring", "hole 2 of part 3" — 1-based, as people count.
fn ring_name(part: usize, parts: usize, role: RingRole) -> String {
    let ring = match role {
        RingRole::Exterior => "the outer ring".to_string(),
        RingRole::Interior(k) => format!("hole {}", k + 1),
    };
    if parts > 1 {
        format!("{ring} of part {}", part + 1)
    } else {
        ring
    }
}

/// Empty geometry, short rings, bad coordinates and everything geo's OGC validation finds. Returns the
/// problems and whether the geometry is usable for the spatial checks.
fn check_geometry(
    feature: &GridFeature,
    label: &str,
    geometry: &MultiPolygon<f64>,
) -> (Vec<Problem>, bool) {
    let codes = || vec![label.to_string()];
    let who = describe(feature);
    if is_empty(geometry) {
        let problem = Problem::error(
            ProblemKind::EmptyGeometry,
            codes(),
            format!("feature {who} has no geometry"),
        );
        return (vec![problem], false);
    }
    let mut problems = Vec::new();
    let parts = geometry.0.len();

    let mut short_rings = HashSet::new();
    for (part, polygon) in geometry.0.iter().enumerate() {
        let rings = std::iter::once((RingRole::Exterior, polygon.exterior())).chain(
            polygon
                .interiors()
                .iter()
                .enumerate()
                .map(|(k, r)| (RingRole::Interior(k), r)),
        );
        for (role, ring) in rings {
            if ring.0.len() < 4 {
                short_rings.insert((part, role_key(role)));
                let problem = Problem::error(
                    ProblemKind::TooShortRing,
                    codes(),
                    format!(
                        "{} of feature {who} has {}; a ring needs at least 4 (3 corners and the closing one)",
                        ring_name(part, parts, role),
                        plural(ring.0.len(), "position")
                    ),
                );
                let location = ring.0.iter().copied().find(in_range);
                problems.push(at_opt(problem, location));
            }
        }
    }

    let mut non_finite = 0usize;
    let mut out_of_range = 0usize;
    let mut first_bad: Option<Coord<f64>> = None;
    let mut near_bad: Option<Coord<f64>> = None;
    for c in all_coords(geometry) {
        if !c.x.is_finite() || !c.y.is_finite() {
            non_finite += 1;
        } else if !in_range(&c) {
            out_of_range += 1;
        } else {
            if first_bad.is_none() {
                near_bad = Some(c);
            }
            continue;
        }
        first_bad.get_or_insert(c);
    }
    if let Some(bad) = first_bad {
        let mut what = Vec::new();
        if non_finite > 0 {
            what.push(format!(
                "{} that {} not numbers",
                plural(non_finite, "position"),
                if non_finite == 1 { "is" } else { "are" }
            ));
        }
        if out_of_range > 0 {
            what.push(format!(
                "{} outside longitude -180…180 / latitude -90…90",
                plural(out_of_range, "position")
            ));
        }
        let located = if near_bad.is_some() {
            "; the location given is the last good position before it"
        } else {
            ""
        };
        let problem = Problem::error(
            ProblemKind::CoordinateOutOfRange,
            codes(),
            format!(
                "feature {who} has {}; the first is ({}, {}){located}",
                what.join(" and "),
                bad.x,
                bad.y
            ),
        );
        problems.push(at_opt(problem, near_bad));
    }
    if first_bad.is_some() {
        // Crossings or overlaps made by a wild position are not worth reporting before it is fixed, and
        // geometric predicates are meaningless on NaN: the feature is left out of every further check.
        return (problems, false);
    }

    for error in geometry.validation_errors() {
        let problem = match error {
            InvalidMultiPolygon::InvalidPolygon(index, invalid) => {
                let Some(polygon) = geometry.0.get(index.0) else {
                    continue;
                };
                polygon_problem(polygon, index.0, parts, invalid, &short_rings, &who, &codes)
            }
            InvalidMultiPolygon::ElementsOverlaps(a, b) => {
                let (Some(pa), Some(pb)) = (geometry.0.get(a.0), geometry.0.get(b.0)) else {
                    continue;
                };
                let common = pa.intersection_with_fill_rule(pb, FillRule::NonZero);
                let area = straight_edge_area_m2(&common);
                let problem = Problem::error(
                    ProblemKind::SelfIntersection,
                    codes(),
                    format!(
                        "parts {} and {} of feature {who} overlap by {area:.1} m²; merge them or cut one",
                        a.0 + 1,
                        b.0 + 1
                    ),
                )
                .with_area(area);
                vec![at_opt(problem, largest_piece_point(&common))]
            }
            InvalidMultiPolygon::ElementsTouchOnALine(a, b) => {
                let (Some(pa), Some(pb)) = (geometry.0.get(a.0), geometry.0.get(b.0)) else {
                    continue;
                };
                // Harmless for point lookup, but OGC-invalid: PostGIS/GEOS overlays refuse such geometry.
                let problem = Problem::error(
                    ProblemKind::SelfIntersection,
                    codes(),
                    format!(
                        "parts {} and {} of feature {who} run along each other; parts of a multipolygon may \
                         meet only at points: merge them into one polygon",
                        a.0 + 1,
                        b.0 + 1
                    ),
                );
                let mut stretches: Vec<Coord<f64>> = rings(pb)
                    .into_iter()
                    .flat_map(|ring| shared_stretches(ring, &rings(pa)))
                    .collect();
                if stretches.is_empty() {
                    stretches.extend(contact_point(&rings(pb), &rings(pa)));
                }
                at_each(problem, &stretches)
            }
        };
        problems.extend(problem);
    }

    (problems, true)
}

fn role_key(role: RingRole) -> Option<usize> {
    match role {
        RingRole::Exterior => None,
        RingRole::Interior(k) => Some(k),
    }
}

/// Turns one of geo's polygon validity reasons into a problem with the location of the fault.
fn polygon_problem(
    polygon: &Polygon<f64>,
    part: usize,
    parts: usize,
    invalid: InvalidPolygon,
    short_rings: &HashSet<(usize, Option<usize>)>,
    who: &str,
    codes: &dyn Fn() -> Vec<String>,
) -> Vec<Problem> {
    let first_of = |role: RingRole| ring_of(polygon, role).and_then(|r| r.0.first().copied());
    match invalid {
        InvalidPolygon::TooFewPointsInRing(role) => {
            if short_rings.contains(&(part, role_key(role))) {
                return Vec::new(); // already reported with its position count
            }
            let problem = Problem::error(
                ProblemKind::TooShortRing,
                codes(),
                format!(
                    "{} of feature {who} has fewer than 3 distinct corners",
                    ring_name(part, parts, role)
                ),
            );
            vec![at_opt(problem, first_of(role))]
        }
        InvalidPolygon::SelfIntersection(role) => {
            let mut crossings = ring_of(polygon, role)
                .map(ring_self_crossings)
                .unwrap_or_default();
            if crossings.is_empty() {
                crossings.extend(first_of(role));
            }
            let problem = Problem::error(
                ProblemKind::SelfIntersection,
                codes(),
                format!(
                    "{} of feature {who} crosses or touches itself",
                    ring_name(part, parts, role)
                ),
            );
            at_each(problem, &crossings)
        }
        // Already reported as CoordinateOutOfRange, with a count.
        InvalidPolygon::NonFiniteCoord(..) => Vec::new(),
        InvalidPolygon::InteriorRingNotContainedInExteriorRing(role) => {
            let shell = Polygon::new(polygon.exterior().clone(), vec![]);
            let outside = ring_of(polygon, role).and_then(|ring| {
                ring.0
                    .iter()
                    .copied()
                    .find(|c| shell.coordinate_position(c) == CoordPos::Outside)
            });
            let problem = Problem::error(
                ProblemKind::SelfIntersection,
                codes(),
                format!(
                    "{} of feature {who} is not inside {}",
                    ring_name(part, parts, role),
                    ring_name(part, parts, RingRole::Exterior)
                ),
            );
            vec![at_opt(problem, outside.or(first_of(role)))]
        }
        InvalidPolygon::IntersectingRingsOnALine(a, b)
        | InvalidPolygon::IntersectingRingsOnAnArea(a, b) => {
            let mut locations = match (ring_of(polygon, a), ring_of(polygon, b)) {
                (Some(ra), Some(rb)) => shared_stretches(rb, &[ra]),
                _ => Vec::new(),
            };
            if locations.is_empty() {
                if let (Some(ra), Some(rb)) = (ring_of(polygon, a), ring_of(polygon, b)) {
                    locations.extend(contact_point(&[rb], &[ra]));
                }
            }
            if locations.is_empty() {
                locations.extend(first_of(a));
            }
            let problem = Problem::error(
                ProblemKind::SelfIntersection,
                codes(),
                format!(
                    "{} and {} of feature {who} cross or run along each other",
                    ring_name(part, parts, a),
                    ring_name(part, parts, b)
                ),
            );
            at_each(problem, &locations)
        }
    }
}

type BoxTree = RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>;

fn segment_tree(lines: &[Line<f64>]) -> BoxTree {
    RTree::bulk_load(
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                GeomWithData::new(
                    Rectangle::from_corners([l.start.x, l.start.y], [l.end.x, l.end.y]),
                    i,
                )
            })
            .collect(),
    )
}

fn meeting_point(a: Line<f64>, b: Line<f64>) -> Option<Coord<f64>> {
    match line_intersection(a, b)? {
        LineIntersection::SinglePoint { intersection, .. } => Some(intersection),
        LineIntersection::Collinear { intersection } => Some(intersection.start),
    }
}

/// Where a ring crosses or touches itself, in ring order, without repeats. Uses the same rule as geo's
/// validation (two segments that meet, other than where one ends and the next begins), so every ring geo
/// calls self-intersecting gets a location, but finds the pairs through an R-tree instead of trying all.
fn ring_self_crossings(ring: &LineString<f64>) -> Vec<Coord<f64>> {
    let lines: Vec<Line<f64>> = ring.lines().collect();
    let tree = segment_tree(&lines);
    let mut found: Vec<(usize, usize, Coord<f64>)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let envelope =
            rstar::AABB::from_corners([line.start.x, line.start.y], [line.end.x, line.end.y]);
        for candidate in tree.locate_in_envelope_intersecting(envelope) {
            let j = candidate.data;
            let Some(other) = lines.get(j) else { continue };
            if j <= i || line.start == other.end || line.end == other.start {
                continue;
            }
            if line.intersects(other) {
                if let Some(point) = meeting_point(*line, *other) {
                    found.push((i, j, point));
                }
            }
        }
    }
    found.sort_by_key(|&(i, j, _)| (i, j));
    let mut points: Vec<Coord<f64>> = Vec::new();
    for (_, _, point) in found {
        if !points.contains(&point) {
            points.push(point);
        }
    }
    points
}

/// The first point, walking the rings `walk` in order, where they meet the rings `against`.
fn contact_point(walk: &[&LineString<f64>], against: &[&LineString<f64>]) -> Option<Coord<f64>> {
    let against_lines: Vec<Line<f64>> = against.iter().flat_map(|r| r.lines()).collect();
    let tree = segment_tree(&against_lines);
    walk.iter().flat_map(|r| r.lines()).find_map(|line| {
        let envelope =
            rstar::AABB::from_corners([line.start.x, line.start.y], [line.end.x, line.end.y]);
        tree.locate_in_envelope_intersecting(envelope)
            .filter_map(|c| Some((c.data, meeting_point(line, *against_lines.get(c.data)?)?)))
            .min_by_key(|(j, _)| *j)
            .map(|(_, point)| point)
    })
}

/// Where ring `walk` runs along (shares a stretch of boundary with) any of `against`: the first position of
/// each stretch, walking `walk` in ring order. A stretch is a run of consecutive segments, wrapping around
/// the ring's closing position.
fn shared_stretches(walk: &LineString<f64>, against: &[&LineString<f64>]) -> Vec<Coord<f64>> {
    let against_lines: Vec<Line<f64>> = against.iter().flat_map(|r| r.lines()).collect();
    let tree = segment_tree(&against_lines);
    let along: Vec<Option<Coord<f64>>> = walk
        .lines()
        .map(|line| {
            let envelope =
                rstar::AABB::from_corners([line.start.x, line.start.y], [line.end.x, line.end.y]);
            let mut shared: Vec<(usize, Line<f64>)> = tree
                .locate_in_envelope_intersecting(envelope)
                .filter_map(|c| {
                    let other = against_lines.get(c.data)?;
                    match line_intersection(line, *other)? {
                        LineIntersection::Collinear { intersection }
                            if intersection.start != intersection.end =>
                        {
                            Some((c.data, intersection))
                        }
                        _ => None,
                    }
                })
                .collect();
            shared.sort_by_key(|(j, _)| *j);
            let (_, overlap) = shared.first()?;
            // The end of the shared piece met first when walking `line`.
            let distance = |c: Coord<f64>| (c.x - line.start.x).hypot(c.y - line.start.y);
            Some(if distance(overlap.start) <= distance(overlap.end) {
                overlap.start
            } else {
                overlap.end
            })
        })
        .collect();
    let mut starts: Vec<Coord<f64>> = Vec::new();
    let mut previous_shared = false;
    for point in &along {
        if let (Some(point), false) = (point, previous_shared) {
            starts.push(*point);
        }
        previous_shared = point.is_some();
    }
    // A stretch running through the closing position was counted twice: at the start and at the end.
    let wraps = matches!(
        (along.first(), along.last()),
        (Some(Some(_)), Some(Some(_)))
    );
    if wraps && starts.len() > 1 {
        if let Some(last) = starts.pop() {
            if let Some(first) = starts.first_mut() {
                *first = last;
            }
        }
    }
    starts
}

fn rings(polygon: &Polygon<f64>) -> Vec<&LineString<f64>> {
    std::iter::once(polygon.exterior())
        .chain(polygon.interiors())
        .collect()
}

/// A layer lies wholly in the lat/lon ranges of China exchanged: x (longitude) within 3…54 and y (latitude)
/// within 73…136.
fn axes_swapped(features: &[GridFeature]) -> bool {
    let mut any = false;
    for c in features.iter().flat_map(|f| all_coords(&f.geometry)) {
        if !c.x.is_finite() || !c.y.is_finite() {
            continue;
        }
        if !SWAPPED_X.contains(&c.x) || !SWAPPED_Y.contains(&c.y) {
            return false;
        }
        any = true;
    }
    any
}

fn swapped_problem(features: &[GridFeature]) -> Problem {
    let first = features
        .iter()
        .flat_map(|f| all_coords(&f.geometry))
        .find(|c| c.x.is_finite() && c.y.is_finite());
    let problem = Problem::error(
        ProblemKind::SwappedCoordinates,
        Vec::new(),
        "every position of the layer has its first value within 3…54 and its second within 73…136: \
         latitude and longitude are exchanged (the file gives lat,lon instead of lon,lat). The other \
         problems were checked, and are located, with the axes put back; fix the file and import it again",
    );
    at_opt(problem, first.map(|c| Coord { x: c.y, y: c.x }))
}

// ---------------------------------------------------------------------------------------------------------
// Spatial checks between features

/// What an area of this size is: nothing (residue of a shared edge), a warning, or an error.
fn severity_of(area_m2: f64, tolerance: f64) -> Option<Severity> {
    if area_m2.is_nan() || area_m2 <= RESIDUE_AREA_M2 {
        None
    } else if area_m2 < tolerance {
        Some(Severity::Warning)
    } else {
        Some(Severity::Error)
    }
}

fn problem_of(
    severity: Severity,
    kind: ProblemKind,
    codes: Vec<String>,
    message: String,
) -> Problem {
    match severity {
        Severity::Error => Problem::error(kind, codes, message),
        Severity::Warning => Problem::warning(kind, codes, message),
    }
}

/// A point inside the largest polygon of a geometry (by area).
fn largest_piece_point(geometry: &MultiPolygon<f64>) -> Option<Coord<f64>> {
    geometry
        .0
        .iter()
        .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))
        .and_then(|p| p.interior_point())
        .map(|p| p.0)
}

fn rect_tree(shapes: &[Shape<'_>]) -> BoxTree {
    RTree::bulk_load(
        shapes
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let (min, max) = (s.rect.min(), s.rect.max());
                GeomWithData::new(Rectangle::from_corners([min.x, min.y], [max.x, max.y]), i)
            })
            .collect(),
    )
}

fn siblings(a: &Shape<'_>, b: &Shape<'_>) -> bool {
    // A feature whose parent is unknown (no parent field, malformed code) is compared with everyone.
    match (&a.parent, &b.parent) {
        (Some(pa), Some(pb)) => pa == pb,
        _ => true,
    }
}

fn overlaps(shapes: &[Shape<'_>], tolerance: f64, noise_width_m: f64) -> Vec<Problem> {
    let tree = rect_tree(shapes);
    let mut pairs: Vec<(usize, usize)> = tree
        .intersection_candidates_with_other_tree(&tree)
        .map(|(a, b)| (a.data, b.data))
        .filter(|&(a, b)| a < b)
        .filter(|&(a, b)| match (shapes.get(a), shapes.get(b)) {
            (Some(sa), Some(sb)) => siblings(sa, sb),
            _ => false,
        })
        .collect();
    pairs.sort_unstable();
    pairs
        .par_iter()
        .filter_map(|&(a, b)| {
            let (sa, sb) = (shapes.get(a)?, shapes.get(b)?);
            let common = solid_pieces(
                sa.geometry
                    .intersection_with_fill_rule(&sb.geometry, FillRule::NonZero),
                noise_width_m,
            );
            let area = total_area(&common);
            let severity = severity_of(area, tolerance)?;
            let places = match common.len() {
                0 | 1 => String::new(),
                n => format!(" in {n} places"),
            };
            let problem = problem_of(
                severity,
                ProblemKind::Overlap,
                vec![sa.label.clone(), sb.label.clone()],
                format!(
                    "{} and {} overlap by {area:.1} m²{places}; a point there belongs to both",
                    describe(sa.feature),
                    describe(sb.feature)
                ),
            )
            .with_area(area);
            Some(at_opt(problem, largest_piece_location(&common)))
        })
        .collect()
}

fn gaps_in_parents(
    shapes: &[Shape<'_>],
    parents: &BTreeMap<String, ParentShape<'_>>,
    level: Option<AreaLevel>,
    tolerance: f64,
    noise_width_m: f64,
) -> Vec<Problem> {
    let what = level.map_or("feature", AreaLevel::as_str);
    let mut children: BTreeMap<&str, Vec<&Shape<'_>>> = BTreeMap::new();
    for shape in shapes {
        if let Some(parent) = &shape.parent {
            children.entry(parent.as_str()).or_default().push(shape);
        }
    }
    let parents: Vec<(&String, &ParentShape<'_>)> = parents.iter().collect();
    parents
        .par_iter()
        .flat_map_iter(|&(code, parent)| {
            let mut found = Vec::new();
            let Some(parent_geometry) = &parent.geometry else {
                return found;
            };
            let who = describe(parent.feature);
            let Some(kids) = children.get(code.as_str()) else {
                // A partial import (one street's communities) leaves other parents empty on purpose.
                let area = geodesic_area_m2(parent_geometry);
                let problem = Problem::warning(
                    ProblemKind::Gap,
                    vec![code.clone()],
                    format!("no {what} of this layer lies in {who}: all of it is uncovered"),
                )
                .with_area(area);
                found.push(at_opt(problem, largest_piece_point(parent_geometry)));
                return found;
            };
            let cover = MultiPolygon::new(
                kids.iter()
                    .flat_map(|k| k.geometry.0.iter().cloned())
                    .collect(),
            );
            // NonZero: overlapping children still cover once; oriented holes stay holes.
            let uncovered = parent_geometry.difference_with_fill_rule(&cover, FillRule::NonZero);
            for piece in solid_pieces(uncovered, noise_width_m) {
                let area = piece.area_m2;
                let Some(severity) = severity_of(area, tolerance) else {
                    continue;
                };
                let problem = problem_of(
                    severity,
                    ProblemKind::Gap,
                    vec![code.clone()],
                    format!("{area:.1} m² of {who} is covered by no {what}"),
                )
                .with_area(area);
                found.push(at_opt(problem, piece.polygon.interior_point().map(|p| p.0)));
            }
            found
        })
        .collect()
}

fn outside_parents(
    shapes: &[Shape<'_>],
    parents: &BTreeMap<String, ParentShape<'_>>,
    tolerance: f64,
    noise_width_m: f64,
) -> Vec<Problem> {
    shapes
        .par_iter()
        .filter_map(|shape| {
            let code = shape.parent.as_ref()?;
            let parent = parents.get(code)?;
            let parent_geometry = parent.geometry.as_ref()?;
            let outside = solid_pieces(
                shape
                    .geometry
                    .difference_with_fill_rule(parent_geometry, FillRule::NonZero),
                noise_width_m,
            );
            let area = total_area(&outside);
            let severity = severity_of(area, tolerance)?;
            let share = if shape.area_m2 > 0.0 {
                format!(" ({:.1} % of it)", 100.0 * area / shape.area_m2)
            } else {
                String::new()
            };
            let problem = problem_of(
                severity,
                ProblemKind::OutsideParent,
                vec![shape.label.clone(), code.clone()],
                format!(
                    "{area:.1} m² of {}{share} lies outside its parent {}",
                    describe(shape.feature),
                    describe(parent.feature)
                ),
            )
            .with_area(area);
            Some(at_opt(problem, largest_piece_location(&outside)))
        })
        .collect()
}

/// Holes enclosed by the union of the layer, as warnings naming the features around them.
fn enclosed_holes(shapes: &[Shape<'_>], noise_width_m: f64) -> Vec<Problem> {
    if shapes.is_empty() {
        return Vec::new();
    }
    let all = MultiPolygon::new(
        shapes
            .iter()
            .flat_map(|s| s.geometry.0.iter().cloned())
            .collect(),
    );
    let union = all.union_with_fill_rule(&MultiPolygon::new(Vec::new()), FillRule::NonZero);
    let holes = MultiPolygon::new(
        union
            .0
            .iter()
            .flat_map(|p| p.interiors().iter().cloned())
            .map(|ring| Polygon::new(ring, vec![]))
            .collect(),
    );
    let holes: Vec<Piece> = solid_pieces(holes, noise_width_m)
        .into_iter()
        .filter(|hole| hole.area_m2 > RESIDUE_AREA_M2)
        .collect();
    if holes.is_empty() {
        return Vec::new();
    }

    // Every segment of the layer, to find which features border each hole.
    let segments: Vec<GeomWithData<rstar::primitives::Line<[f64; 2]>, usize>> = shapes
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            s.geometry
                .0
                .iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .flat_map(|ring| ring.lines())
                .map(move |l| {
                    GeomWithData::new(
                        rstar::primitives::Line::new([l.start.x, l.start.y], [l.end.x, l.end.y]),
                        i,
                    )
                })
        })
        .collect();
    let tree = RTree::bulk_load(segments);

    holes
        .par_iter()
        .map(|hole| {
            let area = hole.area_m2;
            let around: BTreeSet<&str> = hole
                .polygon
                .exterior()
                .0
                .iter()
                .flat_map(|c| {
                    tree.locate_within_distance(
                        [c.x, c.y],
                        ON_BOUNDARY_DEGREES * ON_BOUNDARY_DEGREES,
                    )
                })
                .filter_map(|s| shapes.get(s.data))
                .map(|s| s.label.as_str())
                .collect();
            let codes: Vec<String> = around.iter().map(|c| c.to_string()).collect();
            let problem = Problem::warning(
                ProblemKind::Gap,
                codes.clone(),
                format!(
                    "a hole of {area:.1} m² is enclosed by {} but belongs to no feature; \
                     without the parent layer it cannot be told from an enclave",
                    if codes.is_empty() {
                        "the layer".to_string()
                    } else {
                        codes.join(", ")
                    }
                ),
            )
            .with_area(area);
            at_opt(problem, hole.polygon.interior_point().map(|p| p.0))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------
// Order

fn compare_problems(a: &Problem, b: &Problem) -> std::cmp::Ordering {
    fn location_key(p: &Problem) -> [f64; 2] {
        p.location.unwrap_or([f64::NEG_INFINITY, f64::NEG_INFINITY])
    }
    b.severity
        .cmp(&a.severity)
        .then(a.kind.cmp(&b.kind))
        .then_with(|| a.codes.cmp(&b.codes))
        .then_with(|| {
            let (la, lb) = (location_key(a), location_key(b));
            la[0].total_cmp(&lb[0]).then(la[1].total_cmp(&lb[1]))
        })
        .then_with(|| a.message.cmp(&b.message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn self_crossings_of_a_bow_tie_are_located() {
        let bow_tie: Polygon<f64> = polygon![
            (x: 0.0, y: 0.0), (x: 2.0, y: 2.0), (x: 2.0, y: 0.0), (x: 0.0, y: 2.0), (x: 0.0, y: 0.0)
        ];
        assert_eq!(
            ring_self_crossings(bow_tie.exterior()),
            vec![Coord { x: 1.0, y: 1.0 }]
        );
        let square: Polygon<f64> = polygon![
            (x: 0.0, y: 0.0), (x: 2.0, y: 0.0), (x: 2.0, y: 2.0), (x: 0.0, y: 2.0), (x: 0.0, y: 0.0)
        ];
        assert!(ring_self_crossings(square.exterior()).is_empty());
    }

    /// A rectangle with these corner values exactly (no arithmetic, which would leave the decimal grid).
    fn rectangle(x0: f64, y0: f64, x1: f64, y1: f64) -> GridFeature {
        GridFeature {
            code: "120110001001001".to_string(),
            name: "网格".to_string(),
            parent: None,
            geometry: MultiPolygon::new(vec![polygon![
                (x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1), (x: x0, y: y0)
            ]]),
            index: 0,
        }
    }

    #[test]
    fn rounding_is_recognized_from_the_coordinates() {
        // Parsed from a file written with 7 decimals.
        let parse = |text: &str| text.parse::<f64>().unwrap();
        let written = rectangle(
            parse("117.3051107"),
            parse("39.1286425"),
            parse("117.3063452"),
            parse("39.13"),
        );
        let noise = rounding_noise_m(std::slice::from_ref(&written));
        assert!((noise - 0.007_885).abs() < 1e-9, "{noise}");
        // 9 decimals: a tenth of a millimetre, below the floor anyway.
        let fine = rectangle(
            117.305_110_712,
            39.128_642_5,
            117.306_110_712,
            39.129_642_501,
        );
        let noise = rounding_noise_m(&[fine]);
        assert!((noise - 7.885e-5).abs() < 1e-12, "{noise}");
        // Computed coordinates carry no rounding noise.
        let computed = rectangle(117.35 + 1.0 / 3.0, 39.1 / 7.0, 117.7, 39.2);
        assert_eq!(rounding_noise_m(&[computed, written.clone()]), 0.0);
        // Whole degrees are forgiven no more than 6 decimals.
        let coarse = rectangle(117.0, 39.0, 118.0, 40.0);
        let noise = rounding_noise_m(&[coarse, written]);
        assert!((noise - 0.007_885).abs() < 1e-9, "{noise}");
        let noise = rounding_noise_m(&[rectangle(117.0, 39.0, 118.0, 40.0)]);
        assert!((noise - 0.078_85).abs() < 1e-9, "{noise}");
        assert_eq!(rounding_noise_m(&[]), 0.0);
    }

    #[test]
    fn a_sliver_is_told_from_a_strip_by_its_mean_width() {
        // 1 km long, 5 mm and 5 cm wide, at 39° N.
        let (metre_lon, metre_lat) = (1.0 / 86_660.0, 1.0 / 111_020.0);
        let strip = |width: f64| {
            MultiPolygon::new(vec![polygon![
                (x: 117.0, y: 39.0),
                (x: 117.0 + 1_000.0 * metre_lon, y: 39.0),
                (x: 117.0 + 1_000.0 * metre_lon, y: 39.0 + width * metre_lat),
                (x: 117.0, y: 39.0 + width * metre_lat),
                (x: 117.0, y: 39.0),
            ]])
        };
        assert_eq!(solid_pieces(strip(0.005), 0.0).len(), 1);
        assert!(solid_pieces(strip(0.005), 0.01).is_empty());
        let kept = solid_pieces(strip(0.05), 0.01);
        assert_eq!(kept.len(), 1);
        assert!((kept[0].area_m2 - 50.0).abs() < 0.5, "{}", kept[0].area_m2);
        assert!(solid_pieces(strip(0.0005), 0.0).is_empty());
    }

    #[test]
    fn severity_bands() {
        assert_eq!(severity_of(0.0, 1.0), None);
        assert_eq!(severity_of(RESIDUE_AREA_M2, 1.0), None);
        assert_eq!(severity_of(0.5, 1.0), Some(Severity::Warning));
        assert_eq!(severity_of(1.0, 1.0), Some(Severity::Error));
        assert_eq!(severity_of(f64::NAN, 1.0), None);
    }
}
