//! Coordinate-system conversions checked against published reference values, by round trips over Tianjin
//! and China, and against the repository's Dongli boundary (GCJ-02 original and its WGS84 conversion).

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use geo::{Coord, Distance, Haversine, Point};
use onegrid_geo::crs::{
    bd09_to_gcj02, bd09_to_wgs84, gcj02_to_bd09, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02, Crs,
};

fn c(x: f64, y: f64) -> Coord<f64> {
    Coord { x, y }
}

fn metres(a: Coord<f64>, b: Coord<f64>) -> f64 {
    Haversine.distance(Point::from(a), Point::from(b))
}

fn assert_close(got: Coord<f64>, want: Coord<f64>, tolerance_deg: f64, what: &str) {
    let (dx, dy) = ((got.x - want.x).abs(), (got.y - want.y).abs());
    assert!(
        dx <= tolerance_deg && dy <= tolerance_deg,
        "{what}: got ({:.12}, {:.12}), want ({:.12}, {:.12}); difference ({dx:e}, {dy:e}) exceeds {tolerance_deg:e}°",
        got.x,
        got.y,
        want.x,
        want.y
    );
}

/// wandergis/coordtransform, `test/app.js` (input 116.404, 39.915; results printed in its comments). It uses
/// the same Krasovsky constants and BD-09 formula, so forward results agree to floating-point noise.
const COORDTRANSFORM_INPUT: (f64, f64) = (116.404, 39.915);
const COORDTRANSFORM_WGS84_TO_GCJ02: (f64, f64) = (116.41024449916938, 39.91640428150164);
const COORDTRANSFORM_GCJ02_TO_BD09: (f64, f64) = (116.41036949371029, 39.92133699351021);
const COORDTRANSFORM_BD09_TO_GCJ02: (f64, f64) = (116.39762729119315, 39.90865673957631);

#[test]
fn coordtransform_reference_values_forward() {
    let input = c(COORDTRANSFORM_INPUT.0, COORDTRANSFORM_INPUT.1);
    let gcj = COORDTRANSFORM_WGS84_TO_GCJ02;
    let bd = COORDTRANSFORM_GCJ02_TO_BD09;
    let back = COORDTRANSFORM_BD09_TO_GCJ02;
    assert_close(wgs84_to_gcj02(input), c(gcj.0, gcj.1), 1e-12, "wgs84→gcj02");
    assert_close(gcj02_to_bd09(input), c(bd.0, bd.1), 1e-12, "gcj02→bd09");
    assert_close(bd09_to_gcj02(input), c(back.0, back.1), 1e-12, "bd09→gcj02");
}

#[test]
fn coordtransform_reference_values_inverse() {
    let input = c(COORDTRANSFORM_INPUT.0, COORDTRANSFORM_INPUT.1);
    let gcj = COORDTRANSFORM_WGS84_TO_GCJ02;
    // The iteration stops when a step is below 1e-9°, so the result is within a few 1e-9° of the original.
    assert_close(gcj02_to_wgs84(c(gcj.0, gcj.1)), input, 1e-8, "gcj02→wgs84");
    // bd09→gcj02 is the standard approximate inverse; its error here is a few 1e-7°.
    let bd = COORDTRANSFORM_GCJ02_TO_BD09;
    assert_close(
        bd09_to_gcj02(c(bd.0, bd.1)),
        input,
        1e-6,
        "bd09→gcj02 of gcj02→bd09",
    );
    let back = COORDTRANSFORM_BD09_TO_GCJ02;
    assert_close(
        gcj02_to_bd09(c(back.0, back.1)),
        input,
        1e-6,
        "gcj02→bd09 of bd09→gcj02",
    );
}

/// googollee/eviltransform, `python/test.py` and `go/transform_test.go`: (wgsLat, wgsLng, gcjLat, gcjLng),
/// checked there to 6 decimal places. eviltransform uses a = 6378137 instead of 6378245, which moves the
/// GCJ-02 point by under 1 cm (1e-7°), inside that tolerance.
const EVILTRANSFORM_WGS_GCJ: [(f64, f64, f64, f64); 3] = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215), // Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363), // Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657), // Beijing
];

/// Aliyun address-purification API, "TransferCoord" documentation example
/// (https://help.aliyun.com/zh/address-purification/addrpapi/developer-reference/coordinate-system-conversion):
/// GCJ-02 120.026268,30.279164 → BD-09 120.032768,30.285238 and WGS84 120.021519,30.281543 (6 decimals).
/// Its WGS84 value is the common one-step approximation `2·gcj − forward(gcj)`, not the exact inverse.
/// (eviltransform's own BD-09 pairs, `TESTS_bd` in `python/test.py`, were not used: they lie about 10 m from
/// what eviltransform's current `bd2wgs` computes, so they are not a trustworthy reference.)
const ALIYUN_GCJ02: (f64, f64) = (120.026268, 30.279164);
const ALIYUN_BD09: (f64, f64) = (120.032768, 30.285238);
const ALIYUN_WGS84_ONE_STEP: (f64, f64) = (120.021519, 30.281543);

#[test]
fn aliyun_reference_values_both_directions() {
    let gcj = c(ALIYUN_GCJ02.0, ALIYUN_GCJ02.1);
    let bd = c(ALIYUN_BD09.0, ALIYUN_BD09.1);
    // Half a unit of the 6th decimal, plus the error of the closed-form BD-09 inverse.
    assert_close(gcj02_to_bd09(gcj), bd, 5e-7, "gcj02→bd09");
    assert_close(bd09_to_gcj02(bd), gcj, 1e-6, "bd09→gcj02");
    assert_close(
        Crs::Bd09.to_wgs84(bd),
        gcj02_to_wgs84(gcj),
        1e-6,
        "Crs::Bd09.to_wgs84",
    );
    assert_close(
        Crs::Bd09.from_wgs84(gcj02_to_wgs84(gcj)),
        bd,
        1e-6,
        "Crs::Bd09.from_wgs84",
    );
    // The one-step approximation built on our forward formula reproduces Aliyun's WGS84 value…
    let forward = wgs84_to_gcj02(gcj);
    let one_step = c(2.0 * gcj.x - forward.x, 2.0 * gcj.y - forward.y);
    let aliyun_wgs = c(ALIYUN_WGS84_ONE_STEP.0, ALIYUN_WGS84_ONE_STEP.1);
    assert_close(one_step, aliyun_wgs, 5e-7, "one-step gcj02→wgs84");
    // …while the exact inverse maps back onto the GCJ-02 point, which the approximation does not.
    let exact = gcj02_to_wgs84(gcj);
    assert_close(
        wgs84_to_gcj02(exact),
        gcj,
        1e-8,
        "forward of the exact inverse",
    );
    let approximation_error = metres(exact, aliyun_wgs);
    assert!(
        approximation_error > 0.5 && approximation_error < 3.0,
        "the one-step approximation should be 0.5–3 m from the exact inverse here, is {approximation_error} m"
    );
}

#[test]
fn eviltransform_reference_values_both_directions() {
    for (wgs_lat, wgs_lng, gcj_lat, gcj_lng) in EVILTRANSFORM_WGS_GCJ {
        let (wgs, gcj) = (c(wgs_lng, wgs_lat), c(gcj_lng, gcj_lat));
        assert_close(wgs84_to_gcj02(wgs), gcj, 1e-6, "wgs84→gcj02");
        assert_close(gcj02_to_wgs84(gcj), wgs, 1e-6, "gcj02→wgs84");
        assert_close(Crs::Gcj02.to_wgs84(gcj), wgs, 1e-6, "Crs::Gcj02.to_wgs84");
        assert_close(
            Crs::Gcj02.from_wgs84(wgs),
            gcj,
            1e-6,
            "Crs::Gcj02.from_wgs84",
        );
    }
}

struct RoundTrip {
    name: &'static str,
    forward: fn(Coord<f64>) -> Coord<f64>,
    inverse: fn(Coord<f64>) -> Coord<f64>,
}

const ROUND_TRIPS: [RoundTrip; 3] = [
    RoundTrip {
        name: "wgs84→gcj02→wgs84",
        forward: wgs84_to_gcj02,
        inverse: gcj02_to_wgs84,
    },
    RoundTrip {
        name: "gcj02→bd09→gcj02",
        forward: gcj02_to_bd09,
        inverse: bd09_to_gcj02,
    },
    RoundTrip {
        name: "wgs84→bd09→wgs84",
        forward: wgs84_to_bd09,
        inverse: bd09_to_wgs84,
    },
];

/// The largest round-trip error (metres) over a lon/lat grid.
fn max_round_trip_error(
    trip: &RoundTrip,
    lon: (f64, f64),
    lat: (f64, f64),
    step: f64,
) -> (f64, Coord<f64>) {
    let mut worst = (0.0_f64, c(lon.0, lat.0));
    let (nx, ny) = (
        ((lon.1 - lon.0) / step).round() as usize,
        ((lat.1 - lat.0) / step).round() as usize,
    );
    for i in 0..=nx {
        for j in 0..=ny {
            let p = c(lon.0 + i as f64 * step, lat.0 + j as f64 * step);
            let error = metres((trip.inverse)((trip.forward)(p)), p);
            if error > worst.0 {
                worst = (error, p);
            }
        }
    }
    worst
}

#[test]
fn round_trips_over_tianjin_and_china() {
    // Bounds: the inverse stops at a 1e-9° step (≈ 0.1 mm); the BD-09 closed-form inverse is approximate.
    let limits = [0.001, 0.25, 0.25];
    for (trip, limit) in ROUND_TRIPS.iter().zip(limits) {
        for (area, lon, lat, step) in [
            ("Tianjin", (116.7, 118.1), (38.5, 40.3), 0.01),
            ("China", (73.0, 136.0), (18.0, 54.0), 0.25),
        ] {
            let (error, at) = max_round_trip_error(trip, lon, lat, step);
            println!(
                "{}: {area}: max round-trip error {error:.6} m at ({:.2}, {:.2})",
                trip.name, at.x, at.y
            );
            assert!(
                error < limit,
                "{}: {area}: round-trip error {error} m at {at:?} exceeds {limit} m",
                trip.name
            );
        }
    }
}

fn shared_data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tianjin-dongli-boundaries")
        .join(name)
}

/// Every position of every polygon ring of a GeoJSON FeatureCollection, in file order.
fn positions(json: &serde_json::Value) -> Vec<Coord<f64>> {
    let mut out = Vec::new();
    for feature in json["features"].as_array().unwrap() {
        let geometry = &feature["geometry"];
        let polygons: Vec<&serde_json::Value> = match geometry["type"].as_str().unwrap() {
            "Polygon" => vec![&geometry["coordinates"]],
            "MultiPolygon" => geometry["coordinates"].as_array().unwrap().iter().collect(),
            other => panic!("unexpected geometry type {other}"),
        };
        for polygon in polygons {
            for ring in polygon.as_array().unwrap() {
                for position in ring.as_array().unwrap() {
                    out.push(c(
                        position[0].as_f64().unwrap(),
                        position[1].as_f64().unwrap(),
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn dongli_gcj02_boundary_converts_to_the_published_wgs84_file() {
    let (gcj_path, wgs_path) = (
        shared_data("dongli_120110_gcj02.geojson"),
        shared_data("dongli_120110_wgs84.geojson"),
    );
    if !gcj_path.exists() || !wgs_path.exists() {
        println!(
            "skipped: the shared Dongli boundary files are not present at {} (they live outside this repository)",
            gcj_path.display()
        );
        return;
    }
    let read = |path: &PathBuf| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    let gcj = positions(&read(&gcj_path));
    let wgs = positions(&read(&wgs_path));
    assert_eq!(gcj.len(), wgs.len());
    assert!(
        gcj.len() >= 378,
        "expected the 378-vertex outline, got {}",
        gcj.len()
    );
    let mut worst = 0.0_f64;
    for (g, w) in gcj.iter().zip(&wgs) {
        let converted = gcj02_to_wgs84(*g);
        worst = worst
            .max((converted.x - w.x).abs())
            .max((converted.y - w.y).abs());
        assert_close(converted, *w, 1e-6, "Dongli vertex");
    }
    println!(
        "Dongli: {} vertices, max difference {worst:e}° from the WGS84 file",
        gcj.len()
    );
}
