//! The grid layer from the terminal: the demo's nested grid, export → validate → import, generation,
//! streaming point location, coordinate systems, and refusals that change nothing.

use std::io::Write;
use std::process::{Output, Stdio};

use super::{onegrid, Db};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `onegrid grid locate` with `input` on stdin.
fn locate(db: &Db, extra: &[&str], input: &str) -> Output {
    locate_bytes(db, extra, input.as_bytes())
}

fn locate_bytes(db: &Db, extra: &[&str], input: &[u8]) -> Output {
    locate_with_env(db, extra, &[], input)
}

/// `grid locate` with environment variables set (e.g. `ONEGRID_SNAP_M`).
fn locate_with_env(db: &Db, extra: &[&str], env: &[(&str, &str)], input: &[u8]) -> Output {
    let mut child = onegrid()
        .args(["grid", "locate", "--db"])
        .arg(&db.path)
        .args(extra)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start grid locate");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("grid locate");
    writer.join().expect("writer").expect("write stdin");
    output
}

fn export(db: &Db, level: &str) -> serde_json::Value {
    let output = db.run(&["grid", "export", "--level", level]);
    assert!(
        output.status.success(),
        "export {level}: {}",
        stderr(&output)
    );
    serde_json::from_slice(&output.stdout).expect("GeoJSON")
}

fn features(collection: &serde_json::Value) -> &Vec<serde_json::Value> {
    collection["features"].as_array().expect("features")
}

#[test]
fn the_demo_grid_nests_and_every_case_lies_in_its_cell() {
    let db = Db::demo();
    let streets = export(&db, "street");
    assert_eq!(features(&streets).len(), 19);
    let communities = export(&db, "community");
    let cells = export(&db, "cell");
    let cell_count = features(&cells).len();
    assert!(
        (1_500..=3_000).contains(&cell_count),
        "{cell_count} cells; the demo should have 1,500–3,000"
    );
    for cell in features(&cells) {
        let code = cell["properties"]["code"].as_str().expect("code");
        assert_eq!(code.len(), 15);
        let community = &code[..12];
        assert!(
            features(&communities)
                .iter()
                .any(|c| c["properties"]["code"] == community),
            "cell {code} has no community"
        );
        assert!(cell["properties"]["name"]
            .as_str()
            .is_some_and(|n| n.contains("（生成）")));
    }

    let cases = db.json(&["case", "list", "--json", "--limit", "10000"]);
    let cases = cases.as_array().expect("cases");
    let mut input = String::from("lon,lat\n");
    for case in cases {
        let point = &case["point"];
        input.push_str(&format!("{},{}\n", point["lon"], point["lat"]));
    }
    let output = locate(&db, &["--with-distance"], &input);
    assert!(output.status.success(), "{}", stderr(&output));
    let lines: Vec<String> = stdout(&output).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), cases.len());
    for (case, line) in cases.iter().zip(&lines) {
        assert_eq!(
            line,
            &format!("{},0.0", case["cell"].as_str().expect("cell")),
            "case {}",
            case["id"]
        );
    }
}

#[test]
fn locate_writes_one_line_per_point_and_refuses_what_is_outside() {
    let db = Db::demo();
    let cases = db.json(&["case", "list", "--json", "--limit", "1"]);
    let case = &cases[0];
    let (lon, lat) = (
        case["point"]["lon"].as_f64().expect("lon"),
        case["point"]["lat"].as_f64().expect("lat"),
    );
    // Dongli's westernmost vertex is 117.2272 E; 0.0003° west of a point on that edge is ~26 m outside.
    let input = format!(
        "\u{feff}lon,lat\n{lon},{lat}\nnot a point\n200,100\n116.0,39.0\n39.1,117.3\nNaN,NaN\n\u{fffd},1\n{lon} , {lat}\n"
    )
    .replace('\u{fffd}', "\u{0}");
    // A line that is not UTF-8 is one unreadable line, not the end of the input.
    let mut bytes = input.into_bytes();
    if let Some(zero) = bytes.iter().position(|&b| b == 0) {
        bytes[zero] = 0xff;
    }
    let input = String::from_utf8_lossy(&bytes).into_owned();
    let output = locate_bytes(&db, &[], &bytes);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    let cell = case["cell"].as_str().expect("cell");
    assert_eq!(lines, vec![cell, "", "", "", "", "", "", cell], "{input}");
    let message = stderr(&output);
    assert!(message.contains("not `lon,lat`"), "{message}");
    assert!(message.contains("outside the district"), "{message}");
}

#[test]
fn locate_converts_gcj02_and_bd09_input() {
    use onegrid_geo::crs::{wgs84_to_bd09, wgs84_to_gcj02};
    let db = Db::demo();
    let cases = db.json(&["case", "list", "--json", "--limit", "20"]);
    let cases = cases.as_array().expect("cases");
    let mut gcj = String::new();
    let mut bd = String::new();
    for case in cases {
        let point = geo::Coord {
            x: case["point"]["lon"].as_f64().expect("lon"),
            y: case["point"]["lat"].as_f64().expect("lat"),
        };
        let g = wgs84_to_gcj02(point);
        let b = wgs84_to_bd09(point);
        gcj.push_str(&format!("{},{}\n", g.x, g.y));
        bd.push_str(&format!("{},{}\n", b.x, b.y));
    }
    let expected: Vec<&str> = cases
        .iter()
        .map(|c| c["cell"].as_str().expect("cell"))
        .collect();
    for (crs, input) in [("gcj02", &gcj), ("bd09", &bd)] {
        let output = locate(&db, &["--crs", crs], input);
        assert!(output.status.success(), "{}", stderr(&output));
        let text = stdout(&output);
        // A point within centimetres of a cell edge could change cell by the round trip's error;
        // the demo's random points are not that close, so every one must match.
        assert_eq!(text.lines().collect::<Vec<_>>(), expected, "{crs}");
    }
    // Without conversion the GCJ-02 offset (~500 m in Tianjin) puts most points in another cell.
    let output = locate(&db, &[], &gcj);
    let moved = stdout(&output)
        .lines()
        .zip(&expected)
        .filter(|(a, b)| a != *b)
        .count();
    assert!(moved > cases.len() / 2, "only {moved} points moved");
}

#[test]
fn export_validate_import_round_trip_and_bad_layers_change_nothing() {
    let db = Db::demo();
    let dir = tempfile::tempdir().expect("temp dir");
    let communities = export(&db, "community");
    let file = dir.path().join("communities.geojson");
    std::fs::write(&file, communities.to_string()).expect("write");

    let output = db.run(&["grid", "validate", file.to_str().expect("path")]);
    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let output = db.run(&["grid", "import", file.to_str().expect("path")]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("imported"), "{}", stderr(&output));
    assert_eq!(export(&db, "community"), communities);

    // Move one cell 300 m east: it now overlaps its neighbours and leaves a gap.
    let mut cells = export(&db, "cell");
    let before = cells.clone();
    let moved_code = cells["features"][0]["properties"]["code"]
        .as_str()
        .expect("code")
        .to_string();
    for polygon in cells["features"][0]["geometry"]["coordinates"]
        .as_array_mut()
        .expect("multipolygon")
    {
        for ring in polygon.as_array_mut().expect("rings") {
            for position in ring.as_array_mut().expect("ring") {
                let lon = position[0].as_f64().expect("lon");
                position[0] = serde_json::json!(lon + 0.0035);
            }
        }
    }
    let bad = dir.path().join("bad-cells.geojson");
    std::fs::write(&bad, cells.to_string()).expect("write");
    let output = db.run(&["grid", "validate", bad.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    let report = stdout(&output);
    assert!(
        report.contains("overlap") && report.contains(&moved_code),
        "{report}"
    );
    let output = db.run(&["grid", "import", bad.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("nothing was imported"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        export(&db, "cell"),
        before,
        "a refused import changed the layer"
    );

    // Broken files: clear errors, nothing stored.
    for (name, content, expected) in [
        (
            "broken.geojson",
            "{\"type\": \"FeatureCollection\", \"features\": [",
            "cannot read",
        ),
        (
            "points.geojson",
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"120110001001001","name":"x"},"geometry":{"type":"Point","coordinates":[117.3,39.1]}}]}"#,
            "",
        ),
        ("layer.txt", "117.3,39.1", "cannot read"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).expect("write");
        let output = db.run(&["grid", "import", path.to_str().expect("path")]);
        assert!(!output.status.success(), "{name} was accepted");
        assert!(
            stderr(&output).contains(expected),
            "{name}: {}",
            stderr(&output)
        );
        assert_eq!(export(&db, "cell"), before, "{name} changed the layer");
    }
    let output = db.run(&[
        "grid",
        "import",
        dir.path().join("missing.shp").to_str().expect("path"),
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("missing.shp"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn generate_cuts_the_stored_communities_into_cells_that_validate() {
    let db = Db::demo();
    let output = db.run(&[
        "grid",
        "generate",
        "--under",
        "community",
        "--area-m2",
        "1000000",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let generated: serde_json::Value = serde_json::from_slice(&output.stdout).expect("GeoJSON");
    let count = features(&generated).len();
    // 476 km² at 1 km² each, give or take the parents' edges.
    assert!((400..=560).contains(&count), "{count} cells");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("generated.geojson");
    std::fs::write(&file, generated.to_string()).expect("write");
    let output = db.run(&["grid", "validate", file.to_str().expect("path")]);
    assert!(output.status.success(), "{}", stdout(&output));
}

#[test]
fn a_report_whose_point_disagrees_with_its_cell_is_refused() {
    let db = Db::demo();
    let cases = db.json(&["case", "list", "--json", "--limit", "2"]);
    let (a, b) = (&cases[0], &cases[1]);
    let point = format!("{},{}", a["point"]["lon"], a["point"]["lat"]);
    let other_cell = b["cell"].as_str().expect("cell");
    if other_cell == a["cell"] {
        return;
    }
    let before = db.snapshot();
    db.fails(
        &[
            "case",
            "report",
            "--as",
            "citizen",
            "--cell",
            other_cell,
            "--point",
            &point,
            "--category",
            "S0101",
            "--title",
            "井盖缺失",
        ],
        "lies in grid cell",
    );
    db.fails(
        &[
            "case",
            "report",
            "--as",
            "citizen",
            "--cell",
            other_cell,
            "--point",
            "116.0,39.0",
            "--category",
            "S0101",
            "--title",
            "井盖缺失",
        ],
        "outside the district",
    );
    assert_eq!(db.snapshot(), before);
}

#[test]
fn a_point_just_outside_is_snapped_within_the_configured_distance() {
    let db = Db::demo();
    let district = export(&db, "district");
    // The district's westernmost vertex; 0.0002° (≈ 17 m) west of it lies outside every cell.
    let mut west = (f64::MAX, 0.0);
    for polygon in district["features"][0]["geometry"]["coordinates"]
        .as_array()
        .expect("multipolygon")
    {
        for position in polygon[0].as_array().expect("ring") {
            let lon = position[0].as_f64().expect("lon");
            if lon < west.0 {
                west = (lon, position[1].as_f64().expect("lat"));
            }
        }
    }
    let input = format!("{},{}\n", west.0 - 0.0002, west.1);
    let output = locate(&db, &["--with-distance"], &input);
    let line = stdout(&output);
    let (code, distance) = line.trim().split_once(',').expect("code,distance");
    assert_eq!(code.len(), 15, "{line}");
    let distance: f64 = distance.parse().expect("distance");
    assert!((1.0..=17.5).contains(&distance), "{distance}");

    let output = locate_with_env(&db, &[], &[("ONEGRID_SNAP_M", "0.5")], input.as_bytes());
    assert_eq!(stdout(&output), "\n", "refused beyond 0.5 m");
    assert!(
        stderr(&output).contains("beyond 0.5 m"),
        "{}",
        stderr(&output)
    );

    let output = locate_with_env(&db, &[], &[("ONEGRID_SNAP_M", "fifty")], b"");
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("ONEGRID_SNAP_M"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_200_mb_layer_is_refused_before_it_is_read() {
    let db = Db::demo();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("huge.geojson");
    // Sparse: takes no disk space, but its size is 200 MB.
    std::fs::File::create(&path)
        .and_then(|f| f.set_len(200 * 1024 * 1024))
        .expect("sparse file");
    let before = export(&db, "cell");
    let output = db.run(&["grid", "import", path.to_str().expect("path")]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("200.0 MiB") && message.contains("limit"),
        "{message}"
    );
    assert_eq!(export(&db, "cell"), before);
}
