//! Tests of grid-layer validation: one hand-built layer per problem kind, a clean partition, and the real
//! Tianjin district boundaries whose faults are documented in their PROVENANCE.md.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use geo::{BooleanOps, Coord, LineString, MapCoords, MultiPolygon, Polygon};
use onegrid_core::area::AreaLevel;
use onegrid_geo::generate::{subdivide, GenerateOptions};
use onegrid_geo::validate::{
    geodesic_area_m2, straight_edge_area_m2, validate, Report, ValidateOptions,
};
use onegrid_geo::{GridFeature, GridLayer, Problem, ProblemKind, Severity};

// ---------------------------------------------------------------------------------------------------------
// Helpers: shapes given in metres east/north of a point in Dongli, converted with the WGS84 radii of
// curvature there (accurate to far better than the 1 % the tests allow).

const LON0: f64 = 117.35;
const LAT0: f64 = 39.10;

fn metres_to_degrees() -> (f64, f64) {
    let a = 6_378_137.0_f64;
    let f = 1.0 / 298.257_223_563;
    let e2 = f * (2.0 - f);
    let phi = LAT0.to_radians();
    let w = (1.0 - e2 * phi.sin().powi(2)).sqrt();
    let meridian = a * (1.0 - e2) / w.powi(3);
    let normal = a / w;
    (
        (1.0 / (normal * phi.cos())).to_degrees(),
        (1.0 / meridian).to_degrees(),
    )
}

fn at(x_m: f64, y_m: f64) -> Coord<f64> {
    let (dlon, dlat) = metres_to_degrees();
    Coord {
        x: LON0 + x_m * dlon,
        y: LAT0 + y_m * dlat,
    }
}

/// Metres east/north of a location, for asserting where a problem is.
fn metres_of(location: [f64; 2]) -> (f64, f64) {
    let (dlon, dlat) = metres_to_degrees();
    ((location[0] - LON0) / dlon, (location[1] - LAT0) / dlat)
}

fn ring(points: &[(f64, f64)]) -> LineString<f64> {
    let mut coords: Vec<Coord<f64>> = points.iter().map(|&(x, y)| at(x, y)).collect();
    if let Some(&first) = coords.first() {
        coords.push(first);
    }
    LineString::new(coords)
}

/// An axis-aligned rectangle from (x0, y0) to (x1, y1) metres, counter-clockwise.
fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    MultiPolygon::new(vec![Polygon::new(
        ring(&[(x0, y0), (x1, y0), (x1, y1), (x0, y1)]),
        vec![],
    )])
}

fn feature(code: &str, geometry: MultiPolygon<f64>) -> GridFeature {
    GridFeature {
        code: code.to_string(),
        name: format!("网格{code}"),
        parent: None,
        geometry,
        index: 0,
    }
}

fn layer(level: AreaLevel, mut features: Vec<GridFeature>) -> GridLayer {
    for (index, feature) in features.iter_mut().enumerate() {
        feature.index = index;
    }
    GridLayer {
        level: Some(level),
        features,
    }
}

fn of_kind(report: &Report, kind: ProblemKind) -> Vec<&Problem> {
    report.problems.iter().filter(|p| p.kind == kind).collect()
}

fn kinds(report: &Report) -> Vec<ProblemKind> {
    report.problems.iter().map(|p| p.kind).collect()
}

fn assert_close(actual: f64, expected: f64, relative: f64) {
    assert!(
        (actual - expected).abs() <= expected.abs() * relative,
        "{actual} is not within {}% of {expected}",
        relative * 100.0
    );
}

const STREET: &str = "120110001";
const COMMUNITY_A: &str = "120110001001";
const COMMUNITY_B: &str = "120110001002";

/// Two communities of 300 m × 300 m side by side, each split into 3 × 3 cells of 100 m.
fn partition() -> (Vec<GridFeature>, Vec<GridFeature>) {
    let parents = vec![
        feature(COMMUNITY_A, rect(0.0, 0.0, 300.0, 300.0)),
        feature(COMMUNITY_B, rect(300.0, 0.0, 600.0, 300.0)),
    ];
    let mut cells = Vec::new();
    for (p, parent) in [COMMUNITY_A, COMMUNITY_B].iter().enumerate() {
        for i in 0..3 {
            for j in 0..3 {
                let x0 = p as f64 * 300.0 + i as f64 * 100.0;
                let y0 = j as f64 * 100.0;
                let code = format!("{parent}{:03}", i * 3 + j + 1);
                cells.push(feature(&code, rect(x0, y0, x0 + 100.0, y0 + 100.0)));
            }
        }
    }
    (parents, cells)
}

fn with_parents(parents: Vec<GridFeature>) -> ValidateOptions {
    ValidateOptions {
        parents,
        ..ValidateOptions::default()
    }
}

// ---------------------------------------------------------------------------------------------------------
// Areas

#[test]
fn geodesic_area_of_a_hectare_square_does_not_depend_on_winding() {
    let square = rect(0.0, 0.0, 100.0, 100.0);
    assert_close(geodesic_area_m2(&square), 10_000.0, 0.001);
    let mut clockwise = square.clone();
    for polygon in &mut clockwise.0 {
        polygon.exterior_mut(|ring| ring.0.reverse());
    }
    assert_close(geodesic_area_m2(&clockwise), 10_000.0, 0.001);
    let with_hole = MultiPolygon::new(vec![Polygon::new(
        ring(&[(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]),
        vec![ring(&[
            (25.0, 25.0),
            (25.0, 75.0),
            (75.0, 75.0),
            (75.0, 25.0),
        ])],
    )]);
    assert_close(geodesic_area_m2(&with_hole), 7_500.0, 0.001);
}

// ---------------------------------------------------------------------------------------------------------
// Clean layers

#[test]
fn a_clean_partition_nested_in_two_parents_has_no_problems() {
    let (parents, cells) = partition();
    let cells = layer(AreaLevel::Cell, cells);
    let report = validate(&cells, &with_parents(parents));
    assert!(report.problems.is_empty(), "{report}");
    assert!(!report.has_errors());
    assert_eq!(report.features, 18);
    assert_close(report.total_area_m2, 180_000.0, 0.001);

    // Without parents: no holes in the union either.
    let report = validate(&cells, &ValidateOptions::default());
    assert!(report.problems.is_empty(), "{report}");
}

#[test]
fn clockwise_children_of_a_counter_clockwise_parent_cover_it() {
    // Shapefiles wind outer rings clockwise; mixing windings must not open false gaps.
    let (parents, mut cells) = partition();
    for cell in cells.iter_mut().step_by(2) {
        for polygon in &mut cell.geometry.0 {
            polygon.exterior_mut(|ring| ring.0.reverse());
        }
    }
    let report = validate(&layer(AreaLevel::Cell, cells), &with_parents(parents));
    assert!(report.problems.is_empty(), "{report}");
}

// ---------------------------------------------------------------------------------------------------------
// Overlaps

#[test]
fn overlapping_squares_report_the_overlap_area_and_where_it_is() {
    let cells = layer(
        AreaLevel::Cell,
        vec![
            feature("120110001001001", rect(0.0, 0.0, 100.0, 100.0)),
            feature("120110001001002", rect(90.0, 0.0, 190.0, 100.0)),
        ],
    );
    let report = validate(&cells, &ValidateOptions::default());
    assert_eq!(kinds(&report), vec![ProblemKind::Overlap], "{report}");
    let overlap = &report.problems[0];
    assert_eq!(overlap.severity, Severity::Error);
    assert_eq!(overlap.codes, vec!["120110001001001", "120110001001002"]);
    assert_close(overlap.area_m2.unwrap(), 1_000.0, 0.01);
    let (x, y) = metres_of(overlap.location.unwrap());
    assert!(
        (90.0..=100.0).contains(&x) && (0.0..=100.0).contains(&y),
        "{x} {y}"
    );
    assert!(report.has_errors());
}

#[test]
fn an_overlap_below_the_tolerance_is_a_warning_and_a_shared_edge_is_nothing() {
    let cells = layer(
        AreaLevel::Cell,
        vec![
            feature("120110001001001", rect(0.0, 0.0, 100.0, 100.0)),
            // 5 mm × 100 m = 0.5 m², below the default 1 m².
            feature("120110001001002", rect(99.995, 0.0, 200.0, 100.0)),
            // Shares the edge y = 100 with the first.
            feature("120110001001003", rect(0.0, 100.0, 100.0, 200.0)),
        ],
    );
    let report = validate(&cells, &ValidateOptions::default());
    assert_eq!(kinds(&report), vec![ProblemKind::Overlap], "{report}");
    let overlap = &report.problems[0];
    assert_eq!(overlap.severity, Severity::Warning);
    assert_eq!(overlap.codes, vec!["120110001001001", "120110001001002"]);
    assert_close(overlap.area_m2.unwrap(), 0.5, 0.05);
    assert!(!report.has_errors());

    // A stricter operator makes it an error.
    let strict = ValidateOptions {
        min_area_m2: 0.1,
        ..ValidateOptions::default()
    };
    assert!(validate(&cells, &strict).has_errors());
}

#[test]
fn overlaps_are_checked_between_siblings_only() {
    // Cells of two different communities; their overlap is the parents' business (OutsideParent).
    let cells = layer(
        AreaLevel::Cell,
        vec![
            feature("120110001001001", rect(0.0, 0.0, 100.0, 100.0)),
            feature("120110001002001", rect(50.0, 0.0, 150.0, 100.0)),
        ],
    );
    let report = validate(&cells, &ValidateOptions::default());
    assert!(
        of_kind(&report, ProblemKind::Overlap).is_empty(),
        "{report}"
    );
}

// ---------------------------------------------------------------------------------------------------------
// Gaps and parts outside the parent

#[test]
fn a_strip_of_the_parent_without_children_is_a_gap() {
    let parent = feature(COMMUNITY_A, rect(0.0, 0.0, 300.0, 100.0));
    let cells = layer(
        AreaLevel::Cell,
        vec![
            feature("120110001001001", rect(0.0, 0.0, 100.0, 100.0)),
            feature("120110001001002", rect(150.0, 0.0, 300.0, 100.0)),
        ],
    );
    let report = validate(&cells, &with_parents(vec![parent]));
    assert_eq!(kinds(&report), vec![ProblemKind::Gap], "{report}");
    let gap = &report.problems[0];
    assert_eq!(gap.severity, Severity::Error);
    assert_eq!(gap.codes, vec![COMMUNITY_A]);
    assert_close(gap.area_m2.unwrap(), 5_000.0, 0.01);
    let (x, _) = metres_of(gap.location.unwrap());
    assert!((100.0..=150.0).contains(&x), "{x}");
}

#[test]
fn a_parent_without_any_child_is_reported_whole_as_a_warning() {
    let (mut parents, cells) = partition();
    parents.push(feature("120110001003", rect(600.0, 0.0, 700.0, 100.0)));
    let report = validate(&layer(AreaLevel::Cell, cells), &with_parents(parents));
    assert_eq!(kinds(&report), vec![ProblemKind::Gap], "{report}");
    let gap = &report.problems[0];
    assert_eq!(gap.severity, Severity::Warning);
    assert_eq!(gap.codes, vec!["120110001003"]);
    assert_close(gap.area_m2.unwrap(), 10_000.0, 0.01);
}

#[test]
fn a_cell_sticking_out_of_its_parent_is_outside_parent() {
    let parent = feature(COMMUNITY_A, rect(0.0, 0.0, 100.0, 100.0));
    let cells = layer(
        AreaLevel::Cell,
        vec![feature("120110001001001", rect(0.0, 0.0, 120.0, 100.0))],
    );
    let report = validate(&cells, &with_parents(vec![parent]));
    assert_eq!(kinds(&report), vec![ProblemKind::OutsideParent], "{report}");
    let outside = &report.problems[0];
    assert_eq!(outside.severity, Severity::Error);
    assert_eq!(outside.codes, vec!["120110001001001", COMMUNITY_A]);
    assert_close(outside.area_m2.unwrap(), 2_000.0, 0.01);
    let (x, _) = metres_of(outside.location.unwrap());
    assert!((100.0..=120.0).contains(&x), "{x}");
}

#[test]
fn without_parents_an_enclosed_hole_is_a_gap_warning_naming_its_neighbours() {
    // Eight 100 m squares around an empty centre.
    let mut cells = Vec::new();
    let mut n = 0;
    for i in 0..3 {
        for j in 0..3 {
            if (i, j) == (1, 1) {
                continue;
            }
            n += 1;
            let (x, y) = (i as f64 * 100.0, j as f64 * 100.0);
            cells.push(feature(
                &format!("120110001001{n:03}"),
                rect(x, y, x + 100.0, y + 100.0),
            ));
        }
    }
    let report = validate(&layer(AreaLevel::Cell, cells), &ValidateOptions::default());
    assert_eq!(kinds(&report), vec![ProblemKind::Gap], "{report}");
    let gap = &report.problems[0];
    assert_eq!(gap.severity, Severity::Warning);
    assert_close(gap.area_m2.unwrap(), 10_000.0, 0.01);
    assert_eq!(gap.codes.len(), 8, "{:?}", gap.codes);
    let (x, y) = metres_of(gap.location.unwrap());
    assert!((100.0..=200.0).contains(&x) && (100.0..=200.0).contains(&y));
}

// ---------------------------------------------------------------------------------------------------------
// Codes and names

#[test]
fn malformed_codes_quote_the_reason() {
    let cells = layer(
        AreaLevel::Cell,
        vec![
            feature("12011A001001001", rect(0.0, 0.0, 100.0, 100.0)),
            feature("12011000100100", rect(100.0, 0.0, 200.0, 100.0)),
            feature("120110000001001", rect(200.0, 0.0, 300.0, 100.0)),
            feature("  ", rect(300.0, 0.0, 400.0, 100.0)),
            // Well formed, but a community code in a cell layer.
            feature("120110001001", rect(400.0, 0.0, 500.0, 100.0)),
        ],
    );
    let report = validate(&cells, &ValidateOptions::default());
    let malformed = of_kind(&report, ProblemKind::MalformedCode);
    assert_eq!(malformed.len(), 5, "{report}");
    assert!(malformed.iter().all(|p| p.severity == Severity::Error));
    assert!(malformed.iter().all(|p| p.location.is_some()));
    let message = |code: &str| {
        malformed
            .iter()
            .find(|p| p.codes == vec![code.to_string()])
            .map(|p| p.message.clone())
            .unwrap_or_else(|| panic!("no problem for {code}: {report}"))
    };
    assert!(message("12011A001001001").contains("'A'"));
    assert!(message("12011000100100").contains("14 characters"));
    assert!(message("120110000001001").contains("000"));
    assert!(message("#3").contains("no code"));
    assert!(message("120110001001").contains("community"));
    assert!(message("120110001001").contains("cell layer"));
}

#[test]
fn duplicate_codes_name_both_features() {
    let cells = layer(
        AreaLevel::Cell,
        vec![
            feature("120110001001001", rect(0.0, 0.0, 100.0, 100.0)),
            feature("120110001001002", rect(100.0, 0.0, 200.0, 100.0)),
            feature("120110001001001", rect(200.0, 0.0, 300.0, 100.0)),
        ],
    );
    let report = validate(&cells, &ValidateOptions::default());
    assert_eq!(kinds(&report), vec![ProblemKind::DuplicateCode], "{report}");
    let duplicate = &report.problems[0];
    assert_eq!(duplicate.codes, vec!["120110001001001"]);
    assert!(duplicate.message.contains("#0") && duplicate.message.contains("#2"));
    let (x, _) = metres_of(duplicate.location.unwrap());
    assert!(
        (200.0..=300.0).contains(&x),
        "points at the second use: {x}"
    );
}

#[test]
fn a_parent_that_is_not_the_code_prefix_or_not_stored_is_wrong() {
    let mut mismatched = feature("120110001001001", rect(0.0, 0.0, 100.0, 100.0));
    mismatched.parent = Some(COMMUNITY_B.to_string());
    let consistent = {
        let mut f = feature("120110001003001", rect(100.0, 0.0, 200.0, 100.0));
        f.parent = Some("120110001003".to_string());
        f
    };
    let cells = layer(AreaLevel::Cell, vec![mismatched, consistent]);

    let report = validate(&cells, &ValidateOptions::default());
    let wrong = of_kind(&report, ProblemKind::WrongParent);
    assert_eq!(wrong.len(), 1, "{report}");
    assert_eq!(wrong[0].codes, vec!["120110001001001", COMMUNITY_B]);
    assert!(
        wrong[0].message.contains(COMMUNITY_A),
        "{}",
        wrong[0].message
    );

    // With the stored communities A and B, 120110001003 does not exist.
    let parents = vec![
        feature(COMMUNITY_A, rect(0.0, 0.0, 100.0, 100.0)),
        feature(COMMUNITY_B, rect(0.0, 0.0, 100.0, 100.0)),
    ];
    let report = validate(&cells, &with_parents(parents));
    let wrong = of_kind(&report, ProblemKind::WrongParent);
    assert_eq!(wrong.len(), 2, "{report}");
    assert!(wrong
        .iter()
        .any(|p| p.codes == vec!["120110001003001", "120110001003"]
            && p.message.contains("not among the 2 stored community")));
}

#[test]
fn a_missing_name_is_a_warning() {
    let mut nameless = feature(STREET, rect(0.0, 0.0, 100.0, 100.0));
    nameless.name = " ".to_string();
    let report = validate(
        &layer(AreaLevel::Street, vec![nameless]),
        &ValidateOptions::default(),
    );
    assert_eq!(kinds(&report), vec![ProblemKind::MissingName], "{report}");
    assert_eq!(report.problems[0].severity, Severity::Warning);
    assert!(!report.has_errors());
}

// ---------------------------------------------------------------------------------------------------------
// Geometry of one feature

#[test]
fn empty_geometry_and_too_short_rings() {
    let empty = feature("120110001001001", MultiPolygon::new(vec![]));
    let short = feature(
        "120110001001002",
        MultiPolygon::new(vec![Polygon::new(
            LineString::new(vec![at(0.0, 0.0), at(100.0, 0.0), at(0.0, 0.0)]),
            vec![],
        )]),
    );
    let report = validate(
        &layer(AreaLevel::Cell, vec![empty, short]),
        &ValidateOptions::default(),
    );
    let empty = of_kind(&report, ProblemKind::EmptyGeometry);
    assert_eq!(empty.len(), 1, "{report}");
    assert_eq!(empty[0].codes, vec!["120110001001001"]);
    let short = of_kind(&report, ProblemKind::TooShortRing);
    assert_eq!(short.len(), 1, "{report}");
    assert_eq!(short[0].codes, vec!["120110001001002"]);
    assert!(
        short[0].message.contains("3 positions"),
        "{}",
        short[0].message
    );
}

#[test]
fn a_bow_tie_is_a_self_intersection_located_at_the_crossing() {
    let bow_tie = MultiPolygon::new(vec![Polygon::new(
        ring(&[(0.0, 0.0), (100.0, 100.0), (100.0, 0.0), (0.0, 100.0)]),
        vec![],
    )]);
    let report = validate(
        &layer(AreaLevel::Cell, vec![feature("120110001001001", bow_tie)]),
        &ValidateOptions::default(),
    );
    let crossing = of_kind(&report, ProblemKind::SelfIntersection);
    assert_eq!(crossing.len(), 1, "{report}");
    assert_eq!(crossing[0].severity, Severity::Error);
    let (x, y) = metres_of(crossing[0].location.unwrap());
    assert!((x - 50.0).abs() < 0.5 && (y - 50.0).abs() < 0.5, "{x} {y}");
}

#[test]
fn each_crossing_of_a_ring_is_reported_where_it_is() {
    // A strip folded over itself twice: it crosses its own boundary at x = 50 and at x = 150.
    let twisted = MultiPolygon::new(vec![Polygon::new(
        ring(&[
            (0.0, 0.0),
            (100.0, 100.0),
            (200.0, 0.0),
            (200.0, 100.0),
            (100.0, 0.0),
            (0.0, 100.0),
        ]),
        vec![],
    )]);
    let report = validate(
        &layer(AreaLevel::Cell, vec![feature("120110001001001", twisted)]),
        &ValidateOptions::default(),
    );
    let crossings = of_kind(&report, ProblemKind::SelfIntersection);
    let mut xs: Vec<f64> = crossings
        .iter()
        .map(|p| metres_of(p.location.unwrap()).0)
        .collect();
    xs.sort_by(f64::total_cmp);
    assert_eq!(xs.len(), 2, "{report}");
    assert!(
        (xs[0] - 50.0).abs() < 0.5 && (xs[1] - 150.0).abs() < 0.5,
        "{xs:?}"
    );
}

#[test]
fn parts_of_a_feature_sharing_an_edge_are_located_on_that_edge() {
    let mut parts = rect(0.0, 0.0, 100.0, 100.0);
    parts.0.extend(rect(100.0, 20.0, 200.0, 80.0).0);
    let report = validate(
        &layer(AreaLevel::Cell, vec![feature("120110001001001", parts)]),
        &ValidateOptions::default(),
    );
    let touching = of_kind(&report, ProblemKind::SelfIntersection);
    assert_eq!(touching.len(), 1, "{report}");
    assert_eq!(touching[0].severity, Severity::Error);
    assert!(
        touching[0].message.contains("parts 1 and 2"),
        "{}",
        touching[0].message
    );
    let (x, y) = metres_of(touching[0].location.unwrap());
    assert!(
        (x - 100.0).abs() < 0.01 && (20.0..=80.0).contains(&y),
        "{x} {y}"
    );
}

#[test]
fn a_hole_outside_its_shell_is_reported_where_it_lies() {
    let polygon = MultiPolygon::new(vec![Polygon::new(
        ring(&[(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]),
        vec![ring(&[
            (150.0, 10.0),
            (150.0, 20.0),
            (160.0, 20.0),
            (160.0, 10.0),
        ])],
    )]);
    let report = validate(
        &layer(AreaLevel::Cell, vec![feature("120110001001001", polygon)]),
        &ValidateOptions::default(),
    );
    let invalid = of_kind(&report, ProblemKind::SelfIntersection);
    assert_eq!(invalid.len(), 1, "{report}");
    assert!(
        invalid[0].message.contains("hole 1"),
        "{}",
        invalid[0].message
    );
    let (x, _) = metres_of(invalid[0].location.unwrap());
    assert!((150.0..=160.0).contains(&x), "{x}");
}

#[test]
fn not_a_number_and_out_of_range_coordinates() {
    let mut nan = rect(0.0, 0.0, 100.0, 100.0);
    nan.0[0].exterior_mut(|ring| ring.0[2].x = f64::NAN);
    let mut far = rect(100.0, 0.0, 200.0, 100.0);
    far.0[0].exterior_mut(|ring| ring.0[1].y = 95.0);
    let report = validate(
        &layer(
            AreaLevel::Cell,
            vec![
                feature("120110001001001", nan),
                feature("120110001001002", far),
            ],
        ),
        &ValidateOptions::default(),
    );
    let bad = of_kind(&report, ProblemKind::CoordinateOutOfRange);
    assert_eq!(bad.len(), 2, "{report}");
    assert_eq!(bad[0].codes, vec!["120110001001001"]);
    assert!(bad[0].message.contains("not numbers"), "{}", bad[0].message);
    assert_eq!(bad[1].codes, vec!["120110001001002"]);
    assert!(
        bad[1].message.contains("outside longitude"),
        "{}",
        bad[1].message
    );
    assert!(bad.iter().all(|p| p.location.is_some()));
    // Neither feature takes part in area checks, and no other problem is invented for them.
    assert_eq!(report.problems.len(), 2, "{report}");
    assert_eq!(report.total_area_m2, 0.0);
}

#[test]
fn swapped_axes_are_one_layer_problem_and_the_other_checks_still_run() {
    let swap = |geometry: MultiPolygon<f64>| {
        MultiPolygon::new(
            geometry
                .0
                .into_iter()
                .map(|p| {
                    let (exterior, _) = p.into_inner();
                    let swapped = exterior.0.into_iter().map(|c| Coord { x: c.y, y: c.x });
                    Polygon::new(LineString::new(swapped.collect()), vec![])
                })
                .collect(),
        )
    };
    let cells = layer(
        AreaLevel::Cell,
        vec![
            feature("120110001001001", swap(rect(0.0, 0.0, 100.0, 100.0))),
            feature("120110001001002", swap(rect(90.0, 0.0, 190.0, 100.0))),
        ],
    );
    let report = validate(&cells, &ValidateOptions::default());
    assert_eq!(
        kinds(&report),
        vec![ProblemKind::SwappedCoordinates, ProblemKind::Overlap],
        "{report}"
    );
    assert!(report.problems[0].codes.is_empty());
    assert_close(report.problems[1].area_m2.unwrap(), 1_000.0, 0.01);
    // Locations are given as lon,lat.
    let (x, _) = metres_of(report.problems[1].location.unwrap());
    assert!((90.0..=100.0).contains(&x), "{x}");
    assert_close(report.total_area_m2, 20_000.0, 0.001);
}

// ---------------------------------------------------------------------------------------------------------
// Report

#[test]
fn the_text_report_lists_errors_first_then_a_summary() {
    let mut nameless = feature("120110001001003", rect(0.0, 200.0, 100.0, 300.0));
    nameless.name.clear();
    let cells = layer(
        AreaLevel::Cell,
        vec![
            nameless,
            feature("120110001001002", rect(90.0, 0.0, 190.0, 100.0)),
            feature("120110001001001", rect(0.0, 0.0, 100.0, 100.0)),
            feature("bad", rect(500.0, 0.0, 600.0, 100.0)),
        ],
    );
    let report = validate(&cells, &ValidateOptions::default());
    assert_eq!(
        kinds(&report),
        vec![
            ProblemKind::Overlap,
            ProblemKind::MalformedCode,
            ProblemKind::MissingName
        ],
        "{report}"
    );
    assert_eq!(report.count(Severity::Error), 2);
    let text = report.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("error    overlap "), "{text}");
    assert!(
        lines[0].contains("120110001001002,120110001001001  at 117.35"),
        "{text}"
    );
    assert!(lines[0].contains(" m²  "), "{text}");
    assert!(lines[2].starts_with("warning  missing_name "), "{text}");
    assert!(lines[3].starts_with("4 features, "), "{text}");
    assert!(lines[3].ends_with("2 errors, 1 warning"), "{text}");
    // The same layer gives the same report.
    assert_eq!(
        validate(&cells, &ValidateOptions::default()).to_string(),
        text
    );
}

// ---------------------------------------------------------------------------------------------------------
// Coordinate noise: layers written with 7 decimals, as `onegrid grid export` writes them

/// The features with every coordinate rounded to `decimals` decimals (the formula of `write`).
fn rounded(features: &[GridFeature], decimals: i32) -> Vec<GridFeature> {
    let scale = 10f64.powi(decimals);
    features
        .iter()
        .map(|f| GridFeature {
            geometry: f.geometry.map_coords(|c| Coord {
                x: (c.x * scale).round() / scale,
                y: (c.y * scale).round() / scale,
            }),
            ..f.clone()
        })
        .collect()
}

fn union_of(features: &[GridFeature]) -> MultiPolygon<f64> {
    features
        .iter()
        .fold(MultiPolygon::new(Vec::new()), |union, f| {
            union.union(&f.geometry)
        })
}

/// Distance in metres from `c` to the line through `p` and `q`, in the local metric of the helpers.
fn offset_m(c: Coord<f64>, p: Coord<f64>, q: Coord<f64>) -> f64 {
    let (dlon, dlat) = metres_to_degrees();
    let m = |c: Coord<f64>| ((c.x - p.x) / dlon, (c.y - p.y) / dlat);
    let ((cx, cy), (qx, qy)) = (m(c), m(q));
    (qx * cy - qy * cx).abs() / qx.hypot(qy)
}

/// A street of 24 km² whose edges slant for 5–6 km: a straight lon/lat edge that is not a meridian is not a
/// geodesic, and the longer it is, the larger the slivers that rounding opens along it.
fn slanted_street() -> GridFeature {
    feature(
        STREET,
        MultiPolygon::new(vec![Polygon::new(
            ring(&[
                (0.0, 0.0),
                (4_000.0, 3_000.0),
                (1_000.0, 6_500.0),
                (-3_500.0, 2_500.0),
            ]),
            vec![],
        )]),
    )
}

/// No errors, and nothing but sub-tolerance gaps, overlaps and parts outside as warnings.
fn assert_clean(report: &Report, what: &str) {
    assert!(!report.has_errors(), "{what}:\n{report}");
    for problem in &report.problems {
        assert!(
            matches!(
                problem.kind,
                ProblemKind::Gap | ProblemKind::Overlap | ProblemKind::OutsideParent
            ) && problem.area_m2.is_some_and(|a| a < 1.0),
            "{what}: {problem:?}"
        );
    }
}

#[test]
fn a_sliver_along_a_long_edge_is_measured_along_its_straight_edges() {
    // P→Q runs 5 km north-east; M lies 1 mm beside the middle of the lon/lat line: a 2.5 m² sliver.
    let (p, q) = (at(0.0, 0.0), at(4_000.0, 3_000.0));
    let (dlon, dlat) = metres_to_degrees();
    let middle = Coord {
        x: (p.x + q.x) / 2.0,
        y: (p.y + q.y) / 2.0,
    };
    let m = Coord {
        x: middle.x - 0.001 * 0.6 * dlon,
        y: middle.y + 0.001 * 0.8 * dlat,
    };
    let sliver = MultiPolygon::new(vec![Polygon::new(
        LineString::new(vec![p, q, m, p]),
        vec![],
    )]);
    let area = straight_edge_area_m2(&sliver);
    assert_close(area, 5_000.0 * 0.001 / 2.0, 0.01);
    // Measured with geodesic edges, the lens between the long edge and its geodesic swamps it: this is what
    // made 0.1 mm of rounding look like gaps of hundreds of m².
    let geodesic = geodesic_area_m2(&sliver);
    println!("sliver: {area:.3} m² along straight edges, {geodesic:.1} m² along geodesics");
    assert!(geodesic > 100.0 * area, "{geodesic}");
}

#[test]
fn straight_edge_area_is_exact_for_a_degree_box_and_agrees_with_geodesic_for_a_hectare() {
    // A 1° × 1° box is bounded by meridians and parallels, straight lines in lon/lat: its area is the
    // integral of the WGS84 area element M·N·cos φ, taken here by the midpoint rule.
    let (a, f) = (6_378_137.0_f64, 1.0 / 298.257_223_563);
    let e2 = f * (2.0 - f);
    let steps = 100_000;
    let (lat0, lat1) = (39.0_f64.to_radians(), 40.0_f64.to_radians());
    let h = (lat1 - lat0) / steps as f64;
    let expected: f64 = (0..steps)
        .map(|i| {
            let phi = lat0 + (i as f64 + 0.5) * h;
            let w2 = 1.0 - e2 * phi.sin().powi(2);
            a * a * (1.0 - e2) / (w2 * w2) * phi.cos() * h
        })
        .sum::<f64>()
        * 1.0_f64.to_radians();
    let corner = |x: f64, y: f64| Coord { x, y };
    let box_ring = LineString::new(vec![
        corner(117.0, 39.0),
        corner(118.0, 39.0),
        corner(118.0, 40.0),
        corner(117.0, 40.0),
        corner(117.0, 39.0),
    ]);
    let degree_box = MultiPolygon::new(vec![Polygon::new(box_ring.clone(), vec![])]);
    assert_close(straight_edge_area_m2(&degree_box), expected, 1e-9);
    let mut reversed = box_ring;
    reversed.0.reverse();
    let clockwise = MultiPolygon::new(vec![Polygon::new(reversed, vec![])]);
    assert_close(straight_edge_area_m2(&clockwise), expected, 1e-9);

    // Long slanted edges: inserting points along the lon/lat lines does not change the region, so the
    // quadrature over a 300 km edge must agree with that over a thousand 300 m pieces.
    let corners = [
        corner(116.0, 38.0),
        corner(118.0, 40.5),
        corner(115.5, 40.0),
        corner(116.0, 38.0),
    ];
    let coarse = MultiPolygon::new(vec![Polygon::new(
        LineString::new(corners.to_vec()),
        vec![],
    )]);
    let mut dense = Vec::new();
    for pair in corners.windows(2) {
        for k in 0..1_000 {
            let t = k as f64 / 1_000.0;
            dense.push(corner(
                pair[0].x + t * (pair[1].x - pair[0].x),
                pair[0].y + t * (pair[1].y - pair[0].y),
            ));
        }
    }
    dense.push(corners[0]);
    let dense = MultiPolygon::new(vec![Polygon::new(LineString::new(dense), vec![])]);
    let (coarse_area, dense_area) = (
        straight_edge_area_m2(&coarse),
        straight_edge_area_m2(&dense),
    );
    println!("300 km edges: {coarse_area:.4} m², subdivided: {dense_area:.4} m²");
    assert!(
        (coarse_area - dense_area).abs() < 0.01,
        "{coarse_area} {dense_area}"
    );

    // For a hectare the two edge models differ by far less than a millimetre per edge.
    let square = rect(0.0, 0.0, 100.0, 100.0);
    assert_close(
        straight_edge_area_m2(&square),
        geodesic_area_m2(&square),
        1e-6,
    );
    let with_hole = MultiPolygon::new(vec![Polygon::new(
        ring(&[(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]),
        vec![ring(&[
            (25.0, 25.0),
            (25.0, 75.0),
            (75.0, 75.0),
            (75.0, 25.0),
        ])],
    )]);
    assert_close(straight_edge_area_m2(&with_hole), 7_500.0, 0.001);
}

#[test]
fn a_generated_partition_rounded_to_7_decimals_has_no_errors() {
    let street = slanted_street();
    let communities = subdivide(
        std::slice::from_ref(&street),
        &GenerateOptions {
            target_area_m2: 2_000_000.0,
            seed: 2021,
            lloyd_iterations: 3,
        },
    )
    .unwrap();
    let cells = subdivide(
        &communities,
        &GenerateOptions {
            target_area_m2: 200_000.0,
            seed: 2022,
            lloyd_iterations: 2,
        },
    )
    .unwrap();
    let streets = vec![street];
    let check =
        |what: &str, level: AreaLevel, features: &[GridFeature], parents: &[GridFeature]| {
            let report = validate(
                &layer(level, features.to_vec()),
                &with_parents(parents.to_vec()),
            );
            assert_clean(&report, what);
        };
    check("communities", AreaLevel::Community, &communities, &streets);
    check("cells", AreaLevel::Cell, &cells, &communities);

    for decimals in [9, 7] {
        let streets_r = rounded(&streets, decimals);
        let communities_r = rounded(&communities, decimals);
        let cells_r = rounded(&cells, decimals);
        // Rounding does open slivers along the street's long edges, more than the 1 m² tolerance in all.
        let slivers = streets_r[0].geometry.difference(&union_of(&communities_r));
        let sliver_area = straight_edge_area_m2(&slivers);
        println!(
            "{decimals} decimals: {} slivers of {sliver_area:.2} m² between the street and its communities",
            slivers.0.len()
        );
        if decimals == 7 {
            assert!(sliver_area > 1.0, "{sliver_area}");
        }

        let at = |what: &str| format!("{what}, {decimals} decimals");
        check(
            &at("communities in the rounded street"),
            AreaLevel::Community,
            &communities_r,
            &streets_r,
        );
        check(
            &at("communities in the stored street"),
            AreaLevel::Community,
            &communities_r,
            &streets,
        );
        check(
            &at("cells in the rounded communities"),
            AreaLevel::Cell,
            &cells_r,
            &communities_r,
        );
        check(
            &at("cells in the stored communities"),
            AreaLevel::Cell,
            &cells_r,
            &communities,
        );
        let alone = validate(
            &layer(AreaLevel::Cell, cells_r.clone()),
            &ValidateOptions::default(),
        );
        assert_clean(&alone, &at("cells without parents"));
    }
}

#[test]
fn a_vertex_rounded_off_a_long_edge_is_noise_but_a_misfit_of_decimetres_is_a_gap() {
    // A street P-Q-R cut in two from R to a point M of its 5 km edge P→Q.
    let (p, q, r) = (at(0.0, 0.0), at(4_000.0, 3_000.0), at(-1_000.0, 3_500.0));
    let on_edge = |t: f64| Coord {
        x: p.x + t * (q.x - p.x),
        y: p.y + t * (q.y - p.y),
    };
    let round7 = |c: Coord<f64>| Coord {
        x: (c.x * 1e7).round() / 1e7,
        y: (c.y * 1e7).round() / 1e7,
    };
    // The point of the edge's middle stretch that rounding moves farthest off it.
    let t = (300..=700)
        .map(|k| k as f64 / 1_000.0)
        .max_by(|&a, &b| {
            offset_m(round7(on_edge(a)), p, q).total_cmp(&offset_m(round7(on_edge(b)), p, q))
        })
        .unwrap();
    let m = on_edge(t);
    let moved = offset_m(round7(m), p, q);
    assert!(moved > 0.003, "rounding moves M by {moved} m only");
    let triangle = |a: Coord<f64>, b: Coord<f64>, c: Coord<f64>| {
        MultiPolygon::new(vec![Polygon::new(
            LineString::new(vec![a, b, c, a]),
            vec![],
        )])
    };
    let street = vec![feature(STREET, triangle(p, q, r))];
    let halves = |m: Coord<f64>| {
        layer(
            AreaLevel::Community,
            vec![
                feature(COMMUNITY_A, triangle(p, m, r)),
                feature(COMMUNITY_B, triangle(m, q, r)),
            ],
        )
    };
    let exact = halves(m);
    assert_clean(&validate(&exact, &with_parents(street.clone())), "exact");
    let written = GridLayer {
        features: rounded(&exact.features, 7),
        ..exact.clone()
    };
    // The sliver between M and the edge is larger than the tolerance, and millimetres wide.
    let sliver = street[0].geometry.xor(&union_of(&written.features));
    let sliver_area = straight_edge_area_m2(&sliver);
    println!(
        "M moved {:.1} mm by rounding: a sliver of {sliver_area:.2} m²",
        moved * 1e3
    );
    assert!(sliver_area > 1.0, "{sliver_area}");
    assert_clean(
        &validate(&written, &with_parents(street.clone())),
        "rounded communities",
    );
    assert_clean(
        &validate(&written, &with_parents(rounded(&street, 7))),
        "rounded communities in the rounded street",
    );

    // M moved 20 cm into the street: a gap of 5 km × 20 cm / 2 = 500 m², 10 cm wide on average.
    let (dlon, dlat) = metres_to_degrees();
    let inward = Coord {
        x: m.x - 0.2 * 0.6 * dlon,
        y: m.y + 0.2 * 0.8 * dlat,
    };
    let misfit = GridLayer {
        features: rounded(&halves(inward).features, 7),
        ..exact
    };
    let report = validate(&misfit, &with_parents(rounded(&street, 7)));
    assert_eq!(kinds(&report), vec![ProblemKind::Gap], "{report}");
    let gap = &report.problems[0];
    assert_eq!(gap.severity, Severity::Error);
    // Half the 5 km edge times how far the rounded M lies from the rounded edge.
    let expected = 5_000.0 * offset_m(round7(inward), round7(p), round7(q)) / 2.0;
    assert_close(gap.area_m2.unwrap(), expected, 0.01);
}

// ---------------------------------------------------------------------------------------------------------
// Real data: the 16 districts of Tianjin

fn tianjin_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tianjin-dongli-boundaries/tianjin_districts_wgs84.geojson")
}

fn read_tianjin() -> Option<GridLayer> {
    let path = tianjin_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) => {
            eprintln!("skipped: cannot read {}: {err}", path.display());
            return None;
        }
    };
    let collection: geojson::FeatureCollection = text
        .parse()
        .expect("the Tianjin file is a GeoJSON FeatureCollection");
    let features = collection
        .features
        .into_iter()
        .enumerate()
        .map(|(index, f)| {
            let code = f
                .property("adcode")
                .expect("every district has an adcode")
                .to_string();
            let name = f
                .property("name")
                .and_then(|n| n.as_str())
                .expect("every district has a name")
                .to_string();
            let geometry: MultiPolygon<f64> = f
                .geometry
                .expect("every district has a geometry")
                .try_into()
                .expect("every district is a MultiPolygon");
            GridFeature {
                code,
                name,
                parent: None,
                geometry,
                index,
            }
        })
        .collect();
    Some(GridLayer {
        level: Some(AreaLevel::District),
        features,
    })
}

/// Great-circle distance in metres, good enough to check "within about 1 km".
fn distance_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (la, lb) = (a[1].to_radians(), b[1].to_radians());
    let dlat = lb - la;
    let dlon = (b[0] - a[0]).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la.cos() * lb.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().asin()
}

#[test]
fn tianjin_districts_have_the_documented_faults() {
    let Some(districts) = read_tianjin() else {
        return;
    };
    assert_eq!(districts.features.len(), 16);
    let report = validate(&districts, &ValidateOptions::default());

    // PROVENANCE.md (shapely) names one fault per feature: the two parts of 北辰 and of 宁河 run along each
    // other. Each feature has two such shared stretches; shapely stops at the first.
    let crossings = of_kind(&report, ProblemKind::SelfIntersection);
    let crossing_codes: BTreeSet<&str> = crossings.iter().map(|p| p.codes[0].as_str()).collect();
    assert_eq!(
        crossing_codes,
        BTreeSet::from(["120113", "120117"]),
        "{report}"
    );
    assert!(crossings.iter().all(|p| p.severity == Severity::Error));
    for (code, documented) in [
        ("120113", [117.1239, 39.1887]),
        ("120117", [117.7990, 39.3722]),
    ] {
        let nearest = crossings
            .iter()
            .filter(|p| p.codes == vec![code.to_string()])
            .map(|p| distance_m(p.location.unwrap(), documented))
            .fold(f64::INFINITY, f64::min);
        println!("{code}: nearest reported fault {nearest:.0} m from the documented one");
        assert!(
            nearest < 1_000.0,
            "{code}: nearest is {nearest:.0} m from {documented:?}: {report}"
        );
    }

    let dongli_overlaps: Vec<&Problem> = of_kind(&report, ProblemKind::Overlap)
        .into_iter()
        .filter(|p| p.codes.iter().any(|c| c == "120110") && p.severity == Severity::Error)
        .collect();
    let with = |other: &str| {
        dongli_overlaps
            .iter()
            .find(|p| p.codes.iter().any(|c| c == other))
            .unwrap_or_else(|| panic!("no overlap of 东丽 with {other}: {report}"))
    };
    assert_close(with("120116").area_m2.unwrap(), 76_000.0, 0.10);
    assert_close(with("120117").area_m2.unwrap(), 13_000.0, 0.10);
    // Its other overlaps are slivers that round to 0.00 km².
    for other in &dongli_overlaps {
        if !other.codes.iter().any(|c| c == "120116" || c == "120117") {
            assert!(other.area_m2.unwrap() < 5_000.0, "{other:?}");
        }
    }
    // "Neighbouring districts overlap slightly: 0.46 km² in total."
    let overlap_total: f64 = of_kind(&report, ProblemKind::Overlap)
        .iter()
        .map(|p| p.area_m2.unwrap())
        .sum();
    assert_close(overlap_total, 0.46e6, 0.10);

    // The Hebei enclaves inside Ninghe: a 131.6 km² hole, a warning only.
    let enclave = of_kind(&report, ProblemKind::Gap)
        .into_iter()
        .max_by(|a, b| a.area_m2.unwrap().total_cmp(&b.area_m2.unwrap()))
        .unwrap();
    assert_eq!(enclave.severity, Severity::Warning);
    assert!(enclave.codes.iter().any(|c| c == "120117"), "{enclave:?}");
    assert_close(enclave.area_m2.unwrap(), 131.6e6, 0.01);
    // "… plus 791 slivers along shared edges, 0.50 km² in total."
    let slivers: f64 = of_kind(&report, ProblemKind::Gap)
        .iter()
        .map(|p| p.area_m2.unwrap())
        .sum::<f64>()
        - enclave.area_m2.unwrap();
    assert_close(slivers, 0.50e6, 0.10);
    // Dongli's documented area.
    let dongli = validate(
        &GridLayer {
            level: Some(AreaLevel::District),
            features: vec![districts.features[6].clone()],
        },
        &ValidateOptions::default(),
    );
    assert_eq!(districts.features[6].code, "120110");
    assert_close(dongli.total_area_m2, 475.8e6, 0.001);
}

// ---------------------------------------------------------------------------------------------------------
// Performance: ~3,000 cells of 20–60 vertices in 100 parents. Run with
// `cargo test -p onegrid-geo --release --test validate -- --ignored --nocapture`.

/// A deterministic jitter in -1..1 from two integers.
fn jitter(i: i64, j: i64, salt: i64) -> f64 {
    let mut h = (i.wrapping_mul(73_856_093)
        ^ j.wrapping_mul(19_349_663)
        ^ salt.wrapping_mul(83_492_791)) as u64;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h % 2_000_001) as f64 / 1_000_000.0 - 1.0
}

/// A lattice of cells of about 100 m whose corners are jittered and whose edges wiggle, every edge shared
/// exactly by its two neighbours, so the cells partition the blocks that hold them.
struct Lattice;

impl Lattice {
    fn node(i: i64, j: i64) -> (f64, f64) {
        (
            i as f64 * 100.0 + 20.0 * jitter(i, j, 1),
            j as f64 * 100.0 + 20.0 * jitter(i, j, 2),
        )
    }

    /// The points from node `a` to node `b` (excluding `b`), 5 to 15 pieces with a wiggle across.
    fn edge(a: (i64, i64), b: (i64, i64)) -> Vec<(f64, f64)> {
        let (lo, hi, reversed) = if a <= b { (a, b, false) } else { (b, a, true) };
        // 5 to 15 pieces per edge, so 20 to 60 vertices per cell.
        let spread = (jitter(lo.0 * 31 + hi.0, lo.1 * 17 + hi.1, 4) + 1.0) / 2.0;
        let pieces = 5 + (spread * 10.0).round() as usize;
        let (p, q) = (Self::node(lo.0, lo.1), Self::node(hi.0, hi.1));
        let (dx, dy) = (q.0 - p.0, q.1 - p.1);
        let length = (dx * dx + dy * dy).sqrt();
        let amplitude = 3.0 * jitter(lo.0 + hi.0, lo.1 + hi.1, 3);
        let mut points: Vec<(f64, f64)> = (0..=pieces)
            .map(|k| {
                let t = k as f64 / pieces as f64;
                let across = amplitude * (t * std::f64::consts::PI).sin();
                (
                    p.0 + t * dx - across * dy / length,
                    p.1 + t * dy + across * dx / length,
                )
            })
            .collect();
        if reversed {
            points.reverse();
        }
        points.pop();
        points
    }

    /// The counter-clockwise ring around the block of cells [i0, i1) × [j0, j1).
    fn block(i0: i64, j0: i64, i1: i64, j1: i64) -> MultiPolygon<f64> {
        let mut corners = Vec::new();
        corners.extend((i0..i1).map(|i| (i, j0)));
        corners.extend((j0..j1).map(|j| (i1, j)));
        corners.extend((i0 + 1..=i1).rev().map(|i| (i, j1)));
        corners.extend((j0 + 1..=j1).rev().map(|j| (i0, j)));
        let mut points = Vec::new();
        for (k, &a) in corners.iter().enumerate() {
            let b = corners[(k + 1) % corners.len()];
            points.extend(Self::edge(a, b));
        }
        MultiPolygon::new(vec![Polygon::new(ring(&points), vec![])])
    }
}

#[test]
#[ignore = "benchmark: run in release mode with --ignored --nocapture"]
fn validating_3000_cells_in_100_parents_takes_seconds_at_most() {
    // 10 × 10 communities of 6 × 5 cells.
    let (blocks_x, blocks_y, cells_x, cells_y) = (10_i64, 10_i64, 6_i64, 5_i64);
    let mut parents = Vec::new();
    let mut cells = Vec::new();
    let mut vertices = Vec::new();
    for bx in 0..blocks_x {
        for by in 0..blocks_y {
            let parent_code = format!("120110{:03}{:03}", bx + 1, by + 1);
            let (i0, j0) = (bx * cells_x, by * cells_y);
            parents.push(feature(
                &parent_code,
                Lattice::block(i0, j0, i0 + cells_x, j0 + cells_y),
            ));
            for ci in 0..cells_x {
                for cj in 0..cells_y {
                    let geometry = Lattice::block(i0 + ci, j0 + cj, i0 + ci + 1, j0 + cj + 1);
                    vertices.push(geometry.0[0].exterior().0.len() - 1);
                    let code = format!("{parent_code}{:03}", ci * cells_y + cj + 1);
                    cells.push(feature(&code, geometry));
                }
            }
        }
    }
    let cells = layer(AreaLevel::Cell, cells);
    let options = with_parents(parents);
    let started = Instant::now();
    let report = validate(&cells, &options);
    let elapsed = started.elapsed();
    println!(
        "validated {} cells ({}–{} vertices, {} in all) in {} parents: {:.3} s, {} problems",
        report.features,
        vertices.iter().min().unwrap(),
        vertices.iter().max().unwrap(),
        vertices.iter().sum::<usize>(),
        options.parents.len(),
        elapsed.as_secs_f64(),
        report.problems.len()
    );
    assert!(report.problems.is_empty(), "{report}");

    // The same layer with one cell in ten shifted 10 m east: overlaps, gaps and parts outside reported.
    let mut shifted = cells.clone();
    let (dlon, _) = metres_to_degrees();
    for cell in shifted.features.iter_mut().step_by(10) {
        for polygon in &mut cell.geometry.0 {
            polygon.exterior_mut(|ring| ring.0.iter_mut().for_each(|c| c.x += 10.0 * dlon));
        }
    }
    let started = Instant::now();
    let report = validate(&shifted, &options);
    println!(
        "with 300 cells shifted: {:.3} s, {} errors, {} warnings",
        started.elapsed().as_secs_f64(),
        report.count(Severity::Error),
        report.count(Severity::Warning)
    );
    let mut by_kind = std::collections::BTreeMap::new();
    for problem in &report.problems {
        *by_kind
            .entry((problem.kind.as_str(), problem.severity))
            .or_insert(0) += 1;
    }
    println!("{by_kind:?}");
    assert!(report.has_errors());
}
