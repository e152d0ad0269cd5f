//! The point → cell index against brute force (`geo`'s `Contains` over every cell), the edge rule on
//! squares and on irregular cells, snapping and its distances, errors, memory, and the shared index.

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use geo::{
    BoundingRect, Contains, Coord, Distance, Geodesic, LineString, MultiPolygon, Point, Polygon,
};
use onegrid_geo::index::synthetic::{Lattice, SplitMix};
use onegrid_geo::index::{
    CellIndex, IndexError, IndexOptions, LengthMismatch, LocateError, SharedIndex,
};
use proptest::prelude::*;

type Cells = Vec<(String, MultiPolygon<f64>)>;

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
    Polygon::new(
        LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
        vec![],
    )
}

fn cell(code: &str, polygons: Vec<Polygon<f64>>) -> (String, MultiPolygon<f64>) {
    (code.to_string(), MultiPolygon::new(polygons))
}

/// Side of the test squares: a power of two, so every edge and vertex is exactly representable.
const SIDE: f64 = 0.0078125;
const X0: f64 = 117.25;
const Y0: f64 = 39.0;

/// `n × n` squares, numbered row by row from the south-west; code "r{row}c{col}".
fn squares(n: usize) -> Cells {
    let mut cells = Vec::new();
    for r in 0..n {
        for c in 0..n {
            let (x, y) = (X0 + c as f64 * SIDE, Y0 + r as f64 * SIDE);
            cells.push(cell(
                &format!("r{r}c{c}"),
                vec![rect(x, y, x + SIDE, y + SIDE)],
            ));
        }
    }
    cells
}

fn exact(cells: &Cells) -> CellIndex {
    CellIndex::build(
        cells,
        IndexOptions {
            snap_distance_m: 0.0,
        },
    )
    .unwrap()
}

/// The first cell whose interior contains the point, by `geo`'s exact `Contains`.
fn brute_force(cells: &Cells, x: f64, y: f64) -> Option<u32> {
    let p = Point::new(x, y);
    cells
        .iter()
        .position(|(_, g)| g.contains(&p))
        .map(|i| i as u32)
}

fn code_at(index: &CellIndex, x: f64, y: f64) -> Option<String> {
    index
        .containing_cell(x, y)
        .map(|c| index.code(c).to_string())
}

#[test]
fn squares_points_on_edges_go_east_then_north() {
    let cells = squares(4);
    let index = exact(&cells);
    let x = |c: usize| X0 + c as f64 * SIDE;
    let y = |r: usize| Y0 + r as f64 * SIDE;
    let mid = SIDE / 2.0;
    // On a north–south edge: the cell east of it.
    assert_eq!(code_at(&index, x(1), y(0) + mid).as_deref(), Some("r0c1"));
    assert_eq!(code_at(&index, x(3), y(2) + mid).as_deref(), Some("r2c3"));
    // On an east–west edge: the cell north of it.
    assert_eq!(code_at(&index, x(0) + mid, y(1)).as_deref(), Some("r1c0"));
    assert_eq!(code_at(&index, x(2) + mid, y(3)).as_deref(), Some("r3c2"));
    // Where four cells meet: the north-east one.
    for r in 1..4 {
        for c in 1..4 {
            assert_eq!(
                code_at(&index, x(c), y(r)),
                Some(format!("r{r}c{c}")),
                "vertex ({c}, {r})"
            );
        }
    }
    // On the outer boundary: the west and south sides belong to the layer, the east and north do not.
    assert_eq!(code_at(&index, x(0), y(1) + mid).as_deref(), Some("r1c0"));
    assert_eq!(code_at(&index, x(1) + mid, y(0)).as_deref(), Some("r0c1"));
    assert_eq!(code_at(&index, x(0), y(0)).as_deref(), Some("r0c0"));
    assert_eq!(code_at(&index, x(4), y(1) + mid), None);
    assert_eq!(code_at(&index, x(1) + mid, y(4)), None);
    // ... and `locate` snaps those at distance 0.
    let snapping = CellIndex::build(&cells, IndexOptions::default()).unwrap();
    let on_east = snapping.locate(x(4), y(1) + mid).unwrap();
    assert_eq!(snapping.code(on_east.cell), "r1c3");
    assert_eq!(on_east.distance_m, 0.0);
}

#[test]
fn squares_every_edge_point_has_one_cell_whatever_the_order() {
    let cells = squares(5);
    let mut reversed = cells.clone();
    reversed.reverse();
    let forward = exact(&cells);
    let backward = exact(&reversed);
    let steps = 5 * 8;
    let step = SIDE / 8.0;
    for r in 0..steps {
        for c in 0..steps {
            // Every point of a fine lattice that includes all edges and vertices.
            let (px, py) = (X0 + c as f64 * step, Y0 + r as f64 * step);
            let expected = format!("r{}c{}", r / 8, c / 8);
            assert_eq!(code_at(&forward, px, py), Some(expected.clone()));
            assert_eq!(code_at(&backward, px, py), Some(expected));
        }
    }
}

#[test]
fn three_cells_meeting_at_a_vertex() {
    // Two squares below one wide rectangle: (1, 1) is shared by all three, and the rectangle's south
    // side has a vertex in its middle only in the lower cells.
    let s = SIDE;
    let cells = vec![
        cell("sw", vec![rect(X0, Y0, X0 + s, Y0 + s)]),
        cell("se", vec![rect(X0 + s, Y0, X0 + 2.0 * s, Y0 + s)]),
        cell("top", vec![rect(X0, Y0 + s, X0 + 2.0 * s, Y0 + 2.0 * s)]),
    ];
    let index = exact(&cells);
    assert_eq!(code_at(&index, X0 + s, Y0 + s).as_deref(), Some("top"));
    assert_eq!(code_at(&index, X0 + s, Y0 + s / 2.0).as_deref(), Some("se"));
    assert_eq!(
        code_at(&index, X0 + s / 2.0, Y0 + s).as_deref(),
        Some("top")
    );
    // And with the wide cell below.
    let cells = vec![
        cell("bottom", vec![rect(X0, Y0, X0 + 2.0 * s, Y0 + s)]),
        cell("nw", vec![rect(X0, Y0 + s, X0 + s, Y0 + 2.0 * s)]),
        cell("ne", vec![rect(X0 + s, Y0 + s, X0 + 2.0 * s, Y0 + 2.0 * s)]),
    ];
    let index = exact(&cells);
    assert_eq!(code_at(&index, X0 + s, Y0 + s).as_deref(), Some("ne"));
    assert_eq!(
        code_at(&index, X0 + s, Y0 + s / 2.0).as_deref(),
        Some("bottom")
    );
}

fn lattice(columns: usize, rows: usize, segments: (usize, usize), seed: u64) -> Cells {
    Lattice {
        columns,
        rows,
        west: 117.3,
        south: 39.05,
        cell_width: 0.0065,
        cell_height: 0.005,
        segments_per_side: segments,
        seed,
    }
    .cells()
}

#[test]
fn irregular_vertices_follow_the_east_nudge_rule() {
    let cells = lattice(12, 10, (8, 15), 7);
    let index = exact(&cells);
    let mut reversed = cells.clone();
    reversed.reverse();
    let backward = exact(&reversed);
    let mut checked = 0;
    let mut on_nodes_of_four = 0;
    for (_, geometry) in &cells {
        let ring = &geometry.0[0].exterior().0;
        // Each vertex once (the last one closes the ring).
        for v in &ring[..ring.len() - 1] {
            // No edge of these cells is exactly east–west, so the east nudge alone decides; 1e-9° east is
            // far closer than any other edge and far above the coordinates' rounding.
            let expected = brute_force(&cells, v.x + 1e-9, v.y);
            let got = index.containing_cell(v.x, v.y);
            assert_eq!(got, expected, "vertex {v:?}");
            assert_eq!(
                backward.containing_cell(v.x, v.y).map(|c| backward.code(c)),
                got.map(|c| index.code(c)),
                "vertex {v:?} depends on the order of the cells"
            );
            let sharing = cells
                .iter()
                .filter(|(_, g)| g.0[0].exterior().coords().any(|w| w == v))
                .count();
            if sharing == 4 {
                on_nodes_of_four += 1;
            }
            checked += 1;
        }
    }
    assert!(checked > 4000, "{checked}");
    // Interior lattice nodes, each seen once from each of its four cells.
    assert_eq!(on_nodes_of_four, 11 * 9 * 4);
}

#[test]
fn random_points_agree_with_brute_force_on_a_larger_layer() {
    let cells = lattice(20, 20, (8, 15), 42);
    let index = exact(&cells);
    let (x0, x1, y0, y1) = (
        117.29,
        117.3 + 20.0 * 0.0065 + 0.01,
        39.04,
        39.05 + 0.1 + 0.01,
    );
    let mut rng = SplitMix(99);
    let mut inside = 0;
    let points: Vec<Coord<f64>> = (0..30_000)
        .map(|_| Coord {
            x: x0 + rng.next_f64() * (x1 - x0),
            y: y0 + rng.next_f64() * (y1 - y0),
        })
        .collect();
    let mut batch = vec![None; points.len()];
    index.containing_cells_into(&points, &mut batch).unwrap();
    for (p, from_batch) in points.iter().zip(&batch) {
        let expected = brute_force(&cells, p.x, p.y);
        assert_eq!(index.containing_cell(p.x, p.y), expected, "{p:?}");
        assert_eq!(*from_batch, expected, "{p:?}");
        inside += usize::from(expected.is_some());
    }
    // The layer covers about 72 % of the box: both kinds of points were tested.
    assert!(inside > 20_000 && inside < 24_000, "{inside}");
    let located = index.locate_batch(&points);
    for (result, expected) in located.iter().zip(&batch) {
        match (result, expected) {
            (Ok(l), Some(c)) => assert_eq!((l.cell, l.distance_m), (*c, 0.0)),
            (Err(LocateError::OutsideDistrict { .. }), None) => {}
            other => panic!("{other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn agrees_with_brute_force_on_random_partitions(
        columns in 1usize..7,
        rows in 1usize..7,
        min_segments in 1usize..6,
        extra_segments in 0usize..10,
        seed in any::<u64>(),
        points in prop::collection::vec((-0.05f64..1.05, -0.05f64..1.05), 300),
    ) {
        let cells = lattice(columns, rows, (min_segments, min_segments + extra_segments), seed);
        let index = exact(&cells);
        let width = columns as f64 * 0.0065;
        let height = rows as f64 * 0.005;
        for (u, v) in points {
            let (x, y) = (117.3 + u * width, 39.05 + v * height);
            prop_assert_eq!(index.containing_cell(x, y), brute_force(&cells, x, y), "({}, {})", x, y);
        }
        // Every vertex lands in exactly the cell the east nudge gives.
        for (_, geometry) in &cells {
            for w in geometry.0[0].exterior().coords() {
                prop_assert_eq!(index.containing_cell(w.x, w.y), brute_force(&cells, w.x + 1e-9, w.y));
            }
        }
    }
}

#[test]
fn holes_islands_and_multi_part_cells() {
    let s = SIDE;
    let ring = Polygon::new(
        LineString::from(vec![
            (X0, Y0),
            (X0 + 3.0 * s, Y0),
            (X0 + 3.0 * s, Y0 + 3.0 * s),
            (X0, Y0 + 3.0 * s),
            (X0, Y0),
        ]),
        vec![LineString::from(vec![
            (X0 + s, Y0 + s),
            (X0 + s, Y0 + 2.0 * s),
            (X0 + 2.0 * s, Y0 + 2.0 * s),
            (X0 + 2.0 * s, Y0 + s),
            (X0 + s, Y0 + s),
        ])],
    );
    let cells = vec![
        cell("ring", vec![ring]),
        cell(
            "island",
            vec![rect(X0 + s, Y0 + s, X0 + 2.0 * s, Y0 + 2.0 * s)],
        ),
        cell(
            "two-parts",
            vec![
                rect(X0 + 4.0 * s, Y0, X0 + 5.0 * s, Y0 + s),
                rect(X0 + 4.0 * s, Y0 + 2.0 * s, X0 + 5.0 * s, Y0 + 3.0 * s),
            ],
        ),
    ];
    let index = exact(&cells);
    let h = s / 2.0;
    assert_eq!(code_at(&index, X0 + h, Y0 + h).as_deref(), Some("ring"));
    assert_eq!(
        code_at(&index, X0 + s + h, Y0 + s + h).as_deref(),
        Some("island")
    );
    // The hole's west side is the island's west side: east of it is the island.
    assert_eq!(
        code_at(&index, X0 + s, Y0 + s + h).as_deref(),
        Some("island")
    );
    assert_eq!(
        code_at(&index, X0 + 2.0 * s, Y0 + s + h).as_deref(),
        Some("ring")
    );
    assert_eq!(
        code_at(&index, X0 + 4.0 * s + h, Y0 + h).as_deref(),
        Some("two-parts")
    );
    assert_eq!(
        code_at(&index, X0 + 4.0 * s + h, Y0 + 2.0 * s + h).as_deref(),
        Some("two-parts")
    );
    assert_eq!(code_at(&index, X0 + 4.0 * s + h, Y0 + s + h), None);
    let mut rng = SplitMix(5);
    for _ in 0..20_000 {
        let (x, y) = (
            X0 - s + rng.next_f64() * 7.0 * s,
            Y0 - s + rng.next_f64() * 5.0 * s,
        );
        assert_eq!(index.containing_cell(x, y), brute_force(&cells, x, y));
    }
}

#[test]
fn overlapping_cells_resolve_to_the_lowest_number() {
    let s = SIDE;
    let cells = vec![
        cell(
            "small",
            vec![rect(X0 + s, Y0 + s, X0 + 2.0 * s, Y0 + 2.0 * s)],
        ),
        cell("big", vec![rect(X0, Y0, X0 + 40.0 * s, Y0 + 40.0 * s)]),
        cell(
            "big-again",
            vec![rect(X0, Y0, X0 + 40.0 * s, Y0 + 40.0 * s)],
        ),
    ];
    let index = exact(&cells);
    assert_eq!(
        code_at(&index, X0 + 1.5 * s, Y0 + 1.5 * s).as_deref(),
        Some("small")
    );
    assert_eq!(
        code_at(&index, X0 + 20.5 * s, Y0 + 30.5 * s).as_deref(),
        Some("big")
    );
    let mut rng = SplitMix(11);
    for _ in 0..20_000 {
        let (x, y) = (
            X0 - s + rng.next_f64() * 42.0 * s,
            Y0 - s + rng.next_f64() * 42.0 * s,
        );
        assert_eq!(index.containing_cell(x, y), brute_force(&cells, x, y));
    }
}

/// Geodesic distance (m) between two lon/lat points.
fn geodesic(a: (f64, f64), b: (f64, f64)) -> f64 {
    Geodesic.distance(Point::new(a.0, a.1), Point::new(b.0, b.1))
}

#[test]
fn snapping_distances_match_the_geodesic() {
    let cells = squares(3);
    let index = CellIndex::build(&cells, IndexOptions::default()).unwrap();
    let lat = Y0 + 1.5 * SIDE;
    // 30 m west of the west side: snapped to the middle western cell.
    let lon = X0 - 30.0 / (111_320.0 * lat.to_radians().cos());
    let located = index.locate(lon, lat).unwrap();
    assert_eq!(index.code(located.cell), "r1c0");
    let expected = geodesic((lon, lat), (X0, lat));
    assert!(
        (located.distance_m - expected).abs() < 0.01,
        "{located:?} vs {expected}"
    );
    assert!((located.distance_m - 30.0).abs() < 0.5);
    // North of the north side, near its middle.
    let (lon, lat) = (X0 + 2.5 * SIDE, Y0 + 3.0 * SIDE + 40.0 / 111_000.0);
    let located = index.locate(lon, lat).unwrap();
    assert_eq!(index.code(located.cell), "r2c2");
    let expected = geodesic((lon, lat), (lon, Y0 + 3.0 * SIDE));
    assert!(
        (located.distance_m - expected).abs() < 0.01,
        "{located:?} vs {expected}"
    );
    // Off a corner: the distance is to the corner.
    let corner = (X0 + 3.0 * SIDE, Y0);
    let (lon, lat) = (corner.0 + 0.0002, corner.1 - 0.0002);
    let located = index.locate(lon, lat).unwrap();
    assert_eq!(index.code(located.cell), "r0c2");
    let expected = geodesic((lon, lat), corner);
    assert!(
        (located.distance_m - expected).abs() < 0.01,
        "{located:?} vs {expected}"
    );
}

#[test]
fn points_beyond_the_snapping_distance_are_outside_the_district() {
    let cells = squares(3);
    let index = CellIndex::build(&cells, IndexOptions::default()).unwrap();
    let lat = Y0 + 0.5 * SIDE;
    let lon = X0 + 3.0 * SIDE + 80.0 / (111_320.0 * lat.to_radians().cos());
    let error = index.locate(lon, lat).unwrap_err();
    let LocateError::OutsideDistrict { nearest_m, .. } = error else {
        panic!("{error:?}");
    };
    let expected = geodesic((lon, lat), (X0 + 3.0 * SIDE, lat));
    let nearest = nearest_m.unwrap();
    assert!((nearest - expected).abs() < 0.01, "{nearest} vs {expected}");
    let message = error.to_string();
    assert!(message.contains("outside the district"), "{message}");
    assert!(
        message.contains(&format!("{nearest:.1} m away")),
        "{message}"
    );
    // Far away: no distance.
    let error = index.locate(0.0, 0.0).unwrap_err();
    assert_eq!(
        error,
        LocateError::OutsideDistrict {
            lon: 0.0,
            lat: 0.0,
            nearest_m: None
        }
    );
    assert!(error.to_string().contains("no grid cell is within 100 km"));
    // A bigger snapping distance takes it.
    let wide = CellIndex::build(
        &cells,
        IndexOptions {
            snap_distance_m: 100.0,
        },
    )
    .unwrap();
    let located = wide.locate(lon, lat).unwrap();
    assert_eq!(wide.code(located.cell), "r0c2");
    assert!((located.distance_m - expected).abs() < 0.01);
}

#[test]
fn snapping_picks_the_nearest_of_several_cells() {
    let cells = lattice(8, 8, (8, 15), 3);
    let index = CellIndex::build(&cells, IndexOptions::default()).unwrap();
    let (kx, ky) = (111_320.0 * 39.07_f64.to_radians().cos(), 111_000.0);
    let mut rng = SplitMix(17);
    let mut snapped = 0;
    for _ in 0..3000 {
        // Points in a band around the layer's south and west sides.
        let along = rng.next_f64();
        let off = (rng.next_f64() - 0.5) * 0.002;
        let (x, y) = if rng.next_f64() < 0.5 {
            (117.3 + along * 8.0 * 0.0065, 39.05 + off)
        } else {
            (117.3 + off, 39.05 + along * 8.0 * 0.005)
        };
        if index.containing_cell(x, y).is_some() {
            continue;
        }
        // Brute force in the same local metres: the distance to every cell's boundary.
        let mut best = (f64::INFINITY, 0);
        for (c, (_, g)) in cells.iter().enumerate() {
            let ring = g.0[0].exterior();
            for w in ring.0.windows(2) {
                let (ax, ay) = ((w[0].x - x) * kx, (w[0].y - y) * ky);
                let (bx, by) = ((w[1].x - x) * kx, (w[1].y - y) * ky);
                let (dx, dy) = (bx - ax, by - ay);
                let t = (-(ax * dx + ay * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
                let d = (ax + t * dx).hypot(ay + t * dy);
                if d < best.0 {
                    best = (d, c);
                }
            }
        }
        match index.locate(x, y) {
            Ok(located) => {
                assert!(best.0 <= 50.5, "{best:?}");
                assert_eq!(located.cell as usize, best.1);
                // The test's frame is fixed, the index's follows the point: a few cm apart here.
                assert!(
                    (located.distance_m - best.0).abs() < 0.2,
                    "{located:?} {best:?}"
                );
                snapped += 1;
            }
            Err(LocateError::OutsideDistrict { nearest_m, .. }) => {
                assert!(best.0 >= 49.5, "{best:?}");
                assert!((nearest_m.unwrap() - best.0).abs() < 0.2);
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert!(snapped > 300, "{snapped}");
}

#[test]
fn invalid_coordinates_are_refused() {
    let index = exact(&squares(2));
    for (lon, lat) in [
        (f64::NAN, 39.0),
        (117.0, f64::NAN),
        (f64::INFINITY, 39.0),
        (117.0, f64::NEG_INFINITY),
        (180.5, 39.0),
        (117.0, -90.5),
    ] {
        let error = index.locate(lon, lat).unwrap_err();
        assert!(
            matches!(error, LocateError::InvalidCoordinate { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("not a WGS84 longitude/latitude"));
        assert_eq!(index.containing_cell(lon, lat), None);
    }
}

#[test]
fn build_errors_name_the_problem() {
    assert_eq!(
        CellIndex::build(&[], IndexOptions::default()).unwrap_err(),
        IndexError::NoCells
    );
    let bad = vec![
        cell("ok", vec![rect(X0, Y0, X0 + SIDE, Y0 + SIDE)]),
        cell("broken", vec![rect(X0, Y0, f64::NAN, Y0 + SIDE)]),
    ];
    let error = CellIndex::build(&bad, IndexOptions::default()).unwrap_err();
    assert!(matches!(error, IndexError::InvalidVertex { ref code, .. } if code == "broken"));
    assert!(error.to_string().contains("cell broken"));
    let swapped = vec![cell("swapped", vec![rect(Y0, X0, Y0 + SIDE, X0 + SIDE)])];
    assert!(matches!(
        CellIndex::build(&swapped, IndexOptions::default()),
        Err(IndexError::InvalidVertex { .. })
    ));
    let empty = vec![("empty".to_string(), MultiPolygon::new(vec![]))];
    assert_eq!(
        CellIndex::build(&empty, IndexOptions::default()).unwrap_err(),
        IndexError::EmptyGeometry {
            code: "empty".into()
        }
    );
    for value in [-1.0, f64::NAN, f64::INFINITY] {
        let error = CellIndex::build(
            &squares(1),
            IndexOptions {
                snap_distance_m: value,
            },
        )
        .unwrap_err();
        assert!(matches!(error, IndexError::InvalidSnapDistance { .. }));
    }
}

#[test]
fn batch_output_must_fit_the_points() {
    let index = exact(&squares(2));
    let points = vec![Coord { x: X0, y: Y0 }; 3];
    let mut out = vec![None; 2];
    assert_eq!(
        index.containing_cells_into(&points, &mut out),
        Err(LengthMismatch {
            points: 3,
            slots: 2
        })
    );
}

#[test]
fn ten_thousand_cells_of_fifty_vertices_fit_in_fifty_megabytes() {
    let layer = Lattice::around(117.4, 39.1, 56_000.0, 10_000, (48, 52), 1);
    let cells = layer.cells();
    assert_eq!(cells.len(), 10_000);
    let vertices: usize = cells
        .iter()
        .map(|(_, g)| g.0[0].exterior().0.len() - 1)
        .sum();
    assert!((490_000..=510_000).contains(&vertices), "{vertices}");
    let index = CellIndex::build(&cells, IndexOptions::default()).unwrap();
    let bytes = index.memory_bytes();
    // The vertices alone take 16 bytes each: the count is not a made-up figure.
    assert!(bytes > vertices * 16, "{bytes}");
    assert!(bytes < 50 * 1024 * 1024, "{bytes} bytes");
    // And the index answers like brute force on a sample.
    let mut rng = SplitMix(8);
    for _ in 0..2_000 {
        let c = rng.below(cells.len());
        let ring = cells[c].1 .0[0].exterior();
        let v = ring.0[rng.below(ring.0.len())];
        let (x, y) = (
            v.x + (rng.next_f64() - 0.5) * 0.002,
            v.y + (rng.next_f64() - 0.5) * 0.002,
        );
        let expected = cells
            .iter()
            .position(|(_, g)| {
                g.bounding_rect().is_some_and(|r| {
                    r.min().x <= x && x <= r.max().x && r.min().y <= y && y <= r.max().y
                }) && g.contains(&Point::new(x, y))
            })
            .map(|i| i as u32);
        assert_eq!(index.containing_cell(x, y), expected);
    }
}

#[test]
fn shared_index_swaps_while_readers_read() {
    // Two versions of a layer: the same squares, coded "a…" and "b…", the second shifted by one column,
    // so the same point is in a different cell in each.
    let first = squares(4);
    let second: Cells = squares(4)
        .into_iter()
        .map(|(code, g)| {
            let shifted = g.0.iter().map(|p| {
                Polygon::new(
                    LineString::from(
                        p.exterior()
                            .coords()
                            .map(|c| (c.x + SIDE, c.y))
                            .collect::<Vec<_>>(),
                    ),
                    vec![],
                )
            });
            (format!("b-{code}"), MultiPolygon::new(shifted.collect()))
        })
        .collect();
    let first: Cells = first
        .into_iter()
        .map(|(code, g)| (format!("a-{code}"), g))
        .collect();
    let index_a = CellIndex::build(&first, IndexOptions::default()).unwrap();
    let index_b = CellIndex::build(&second, IndexOptions::default()).unwrap();
    let shared = SharedIndex::new(index_a.clone());
    let (px, py) = (X0 + 2.5 * SIDE, Y0 + 1.5 * SIDE);
    let stop = AtomicBool::new(false);
    let reads = AtomicUsize::new(0);
    let (mut saw_a, mut saw_b) = (0usize, 0usize);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let (mut a, mut b) = (0, 0);
            while !stop.load(Ordering::Relaxed) {
                let (code, located) = shared.locate_code(px, py).unwrap().unwrap();
                assert_eq!(located.distance_m, 0.0);
                // Each answer is whole: the code of the index that answered.
                match code.as_str() {
                    "a-r1c2" => a += 1,
                    "b-r1c1" => b += 1,
                    other => panic!("mixed answer {other}"),
                }
                let current = shared.current().unwrap();
                let cell = current.containing_cell(px, py).unwrap();
                assert!(current.code(cell) == "a-r1c2" || current.code(cell) == "b-r1c1");
                reads.fetch_add(1, Ordering::Relaxed);
            }
            (a, b)
        });
        let mut swaps = 0;
        // Keep swapping until the reader has seen enough of both versions (bounded, in case it starves).
        while swaps < 200_000 && reads.load(Ordering::Relaxed) < 20_000 {
            let next = if swaps % 2 == 0 {
                index_b.clone()
            } else {
                index_a.clone()
            };
            let previous = shared.replace(Some(Arc::new(next))).unwrap();
            assert_eq!(previous.len(), 16);
            swaps += 1;
            std::thread::yield_now();
        }
        stop.store(true, Ordering::Relaxed);
        (saw_a, saw_b) = reader.join().unwrap();
    });
    assert!(reads.load(Ordering::Relaxed) >= 20_000);
    assert!(saw_a > 0 && saw_b > 0, "{saw_a} {saw_b}");
    assert!(SharedIndex::default().locate_code(px, py).is_none());
}

#[test]
fn local_distances_match_the_geodesic() {
    // A single square; points off its west side at several distances and latitudes, in the square's
    // east–west band so that the nearest point of the boundary is on that side.
    for lat0 in [22.5, 39.0, 53.0] {
        let side = 0.125;
        let cells = vec![cell("sq", vec![rect(X0, lat0, X0 + side, lat0 + side)])];
        let index = CellIndex::build(
            &cells,
            IndexOptions {
                snap_distance_m: 2_000.0,
            },
        )
        .unwrap();
        let lat = lat0 + side / 2.0;
        for (metres, tolerance) in [(50.0, 0.001), (500.0, 0.05), (1_500.0, 0.5)] {
            let lon = X0 - metres / (111_320.0 * lat.to_radians().cos());
            let located = index.locate(lon, lat).unwrap();
            // The geodesic distance to the side, a meridian: the minimum over points of the side.
            let geodesic_min = (-200..=200)
                .map(|k| geodesic((lon, lat), (X0, lat + k as f64 * 1e-7)))
                .fold(f64::INFINITY, f64::min);
            assert!(
                (located.distance_m - geodesic_min).abs() < tolerance,
                "lat {lat}: {} m vs geodesic {geodesic_min} m",
                located.distance_m
            );
        }
    }
}
