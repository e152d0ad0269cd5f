//! Validation of a grid layer before it is stored.
//!
//! [`validate`] reports everything wrong with a layer at once: malformed, duplicate or misplaced codes, broken
//! geometry, overlapping siblings, parts of a parent that no child covers and children that stick out of their
//! parent. Each problem names the feature code(s) involved and a WGS84 position at or near the fault, so that
//! a GIS operator can find it on a map.
//!
//! Areas are geodesic (WGS84 ellipsoid, Karney's algorithm, see [`geodesic_area_m2`]). Overlaps, gaps and parts
//! outside the parent of at least [`ValidateOptions::min_area_m2`] are errors; smaller ones are warnings, and
//! areas of at most [`RESIDUE_AREA_M2`] are the floating-point residue of features that share an edge exactly
//! and are not reported.
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

    problems.extend(overlaps(&shapes, tolerance));
    if parents.is_empty() {
        problems.extend(enclosed_holes(&shapes));
    } else {
        problems.extend(gaps_in_parents(&shapes, &parents, level, tolerance));
        problems.extend(outside_parents(&shapes, &parents, tolerance));
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
                let area = geodesic_area_m2(&common);
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

fn overlaps(shapes: &[Shape<'_>], tolerance: f64) -> Vec<Problem> {
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
            let common = sa
                .geometry
                .intersection_with_fill_rule(&sb.geometry, FillRule::NonZero);
            let area = geodesic_area_m2(&common);
            let severity = severity_of(area, tolerance)?;
            let places = match common.0.len() {
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
            Some(at_opt(problem, largest_piece_point(&common)))
        })
        .collect()
}

fn gaps_in_parents(
    shapes: &[Shape<'_>],
    parents: &BTreeMap<String, ParentShape<'_>>,
    level: Option<AreaLevel>,
    tolerance: f64,
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
            for piece in uncovered.0 {
                let piece = MultiPolygon::new(vec![piece]);
                let area = geodesic_area_m2(&piece);
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
                found.push(at_opt(problem, largest_piece_point(&piece)));
            }
            found
        })
        .collect()
}

fn outside_parents(
    shapes: &[Shape<'_>],
    parents: &BTreeMap<String, ParentShape<'_>>,
    tolerance: f64,
) -> Vec<Problem> {
    shapes
        .par_iter()
        .filter_map(|shape| {
            let code = shape.parent.as_ref()?;
            let parent = parents.get(code)?;
            let parent_geometry = parent.geometry.as_ref()?;
            let outside = shape
                .geometry
                .difference_with_fill_rule(parent_geometry, FillRule::NonZero);
            let area = geodesic_area_m2(&outside);
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
            Some(at_opt(problem, largest_piece_point(&outside)))
        })
        .collect()
}

/// Holes enclosed by the union of the layer, as warnings naming the features around them.
fn enclosed_holes(shapes: &[Shape<'_>]) -> Vec<Problem> {
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
    let holes: Vec<Polygon<f64>> = union
        .0
        .iter()
        .flat_map(|p| p.interiors().iter().cloned())
        .map(|ring| Polygon::new(ring, vec![]))
        .filter(|hole| geodesic_area_m2(&MultiPolygon::new(vec![hole.clone()])) > RESIDUE_AREA_M2)
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
            let area = geodesic_area_m2(&MultiPolygon::new(vec![hole.clone()]));
            let around: BTreeSet<&str> = hole
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
            at_opt(problem, hole.interior_point().map(|p| p.0))
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

    #[test]
    fn severity_bands() {
        assert_eq!(severity_of(0.0, 1.0), None);
        assert_eq!(severity_of(RESIDUE_AREA_M2, 1.0), None);
        assert_eq!(severity_of(0.5, 1.0), Some(Severity::Warning));
        assert_eq!(severity_of(1.0, 1.0), Some(Severity::Error));
        assert_eq!(severity_of(f64::NAN, 1.0), None);
    }
}
