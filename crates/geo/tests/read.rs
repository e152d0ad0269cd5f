//! Reading GeoJSON and shapefiles: good files, every kind of bad input, text encodings, and the GeoJSON
//! writer's round trip.

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use encoding_rs::Encoding;
use geo::orient::{Direction, Orient};
use geo::{Coord, LineString, MultiPolygon, Polygon, Winding};
use onegrid_core::area::AreaLevel;
use onegrid_geo::crs::{gcj02_to_wgs84, Crs};
use onegrid_geo::read::{
    encoding_for_code_page_label, encoding_for_language_driver, read_geojson, read_path,
    read_shapefile, FieldMap, FieldMapError, ReadError, ReadOptions, ReadOutcome,
};
use onegrid_geo::write::to_geojson;
use onegrid_geo::{GridFeature, GridLayer, ProblemKind, Severity};
use shapefile::dbase::{self, FieldValue};
use shapefile::PolygonRing;

fn read(json: &str) -> ReadOutcome {
    read_geojson(json.as_bytes(), &ReadOptions::default()).unwrap()
}

fn read_err(json: &str) -> ReadError {
    read_geojson(json.as_bytes(), &ReadOptions::default()).unwrap_err()
}

fn kinds(outcome: &ReadOutcome) -> Vec<ProblemKind> {
    outcome.problems.iter().map(|p| p.kind).collect()
}

/// A Tianjin-sized square ring (counter-clockwise, closed) as GeoJSON coordinates text.
const SQUARE: &str = "[[117.20,39.05],[117.21,39.05],[117.21,39.06],[117.20,39.06],[117.20,39.05]]";

fn collection(features: &[String]) -> String {
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    )
}

fn feature(properties: &str, geometry: &str) -> String {
    format!(r#"{{"type":"Feature","properties":{properties},"geometry":{geometry}}}"#)
}

fn polygon(rings: &str) -> String {
    format!(r#"{{"type":"Polygon","coordinates":[{rings}]}}"#)
}

// ----------------------------------------------------------------------------------------------------
// Field maps

#[test]
fn field_map_parses_any_subset_and_refuses_unknown_keys() {
    let map: FieldMap = "code=WGBM, name=WGMC".parse().unwrap();
    assert_eq!(map.code.as_deref(), Some("WGBM"));
    assert_eq!(map.name.as_deref(), Some("WGMC"));
    assert_eq!(map.parent, None);
    assert_eq!(map.to_string().parse::<FieldMap>().unwrap(), map);
    assert_eq!("".parse::<FieldMap>().unwrap(), FieldMap::default());
    let all: FieldMap = "parent=SJBM,code=BM,name=MC".parse().unwrap();
    assert_eq!(all.parent.as_deref(), Some("SJBM"));

    let unknown = "code=BM,colour=red".parse::<FieldMap>().unwrap_err();
    assert_eq!(
        unknown,
        FieldMapError::UnknownKey {
            key: "colour".into()
        }
    );
    assert!(
        unknown.to_string().contains("code, name and parent"),
        "{unknown}"
    );
    assert!(matches!(
        "code".parse::<FieldMap>(),
        Err(FieldMapError::NotKeyValue { .. })
    ));
    assert!(matches!(
        "code=".parse::<FieldMap>(),
        Err(FieldMapError::EmptyField { .. })
    ));
    assert!(matches!(
        "code=A,code=B".parse::<FieldMap>(),
        Err(FieldMapError::Duplicate { .. })
    ));
}

// ----------------------------------------------------------------------------------------------------
// GeoJSON: good input

#[test]
fn feature_collection_with_numeric_adcode_reads_cleanly() {
    let json = collection(&[feature(
        r#"{"adcode":120110,"name":"东丽区","parent_code":120000}"#,
        &polygon(SQUARE),
    )]);
    let outcome = read(&json);
    assert_eq!(outcome.problems, vec![]);
    let [f] = outcome.layer.features.as_slice() else {
        panic!("one feature expected")
    };
    assert_eq!(f.code, "120110");
    assert_eq!(f.name, "东丽区");
    assert_eq!(f.parent.as_deref(), Some("120000"));
    assert_eq!(f.index, 0);
    assert_eq!(outcome.layer.level, Some(AreaLevel::District));
    assert_eq!(f.geometry.0.len(), 1);
    assert_eq!(f.geometry.0[0].exterior().0.len(), 5);
    assert_eq!(
        f.geometry.0[0].exterior().0[1],
        Coord {
            x: 117.21,
            y: 39.05
        }
    );
}

#[test]
fn float_code_has_no_fraction_and_mapped_fields_win() {
    let json = collection(&[feature(
        r#"{"code":"wrong","WGBM":120110001001001.0,"WGMC":"一号网格","SJBM":"120110001001"}"#,
        &polygon(SQUARE),
    )]);
    let options = ReadOptions {
        fields: "code=WGBM,name=WGMC,parent=SJBM".parse().unwrap(),
        ..ReadOptions::default()
    };
    let outcome = read_geojson(json.as_bytes(), &options).unwrap();
    assert_eq!(outcome.problems, vec![]);
    let f = &outcome.layer.features[0];
    assert_eq!(
        (f.code.as_str(), f.name.as_str()),
        ("120110001001001", "一号网格")
    );
    assert_eq!(f.parent.as_deref(), Some("120110001001"));
    assert_eq!(outcome.layer.level, Some(AreaLevel::Cell));
}

#[test]
fn usual_field_names_are_tried_in_order() {
    let json = collection(&[
        feature(
            r#"{"GRIDCODE":"120110001001001","MC":"甲"}"#,
            &polygon(SQUARE),
        ),
        feature(
            r#"{"BM":"120110001001002","NAME":"乙","WGMC":"丙"}"#,
            &polygon(SQUARE),
        ),
    ]);
    let outcome = read(&json);
    assert_eq!(outcome.problems, vec![]);
    let got: Vec<(&str, &str)> = outcome
        .layer
        .features
        .iter()
        .map(|f| (f.code.as_str(), f.name.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![("120110001001001", "甲"), ("120110001001002", "乙")]
    );
}

#[test]
fn bare_geometry_and_feature_arrays_are_layers() {
    let bare = read(&polygon(SQUARE));
    assert_eq!(bare.layer.features.len(), 1);
    // A bare geometry has no properties, so no code (error) and no name (warning).
    assert_eq!(
        kinds(&bare),
        vec![ProblemKind::MalformedCode, ProblemKind::MissingName]
    );
    assert_eq!(bare.problems[0].codes, vec!["#0".to_string()]);
    assert_eq!(bare.problems[1].severity, Severity::Warning);

    let array = format!(
        "[{}]",
        feature(r#"{"adcode":120110,"name":"东丽区"}"#, &polygon(SQUARE))
    );
    assert_eq!(read(&array).layer.features[0].code, "120110");

    let single = feature(r#"{"adcode":120110,"name":"东丽区"}"#, &polygon(SQUARE));
    assert_eq!(read(&single).layer.features.len(), 1);
}

#[test]
fn gcj02_input_is_converted_to_wgs84() {
    let json = collection(&[feature(
        r#"{"code":"120110","name":"东丽区"}"#,
        &polygon(SQUARE),
    )]);
    let options = ReadOptions {
        crs: Crs::Gcj02,
        ..ReadOptions::default()
    };
    let outcome = read_geojson(json.as_bytes(), &options).unwrap();
    let got = outcome.layer.features[0].geometry.0[0].exterior().0[0];
    assert_eq!(
        got,
        gcj02_to_wgs84(Coord {
            x: 117.20,
            y: 39.05
        })
    );
    // The GCJ-02 offset in Tianjin is a few hundred metres, so the point really moved.
    assert!((got.x - 117.20).abs() > 0.003, "{got:?}");
}

// ----------------------------------------------------------------------------------------------------
// GeoJSON: bad input

#[test]
fn broken_json_is_an_error_with_line_and_column() {
    let err = read_err(
        "{\"type\": \"FeatureCollection\",\n \"features\": [\n  {\"type\": \"Feature\",, }]}",
    );
    let ReadError::NotJson { line, column, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*line, 3);
    assert!(*column > 0);
    assert!(err.to_string().contains("line 3"), "{err}");
}

#[test]
fn overflowing_number_is_refused_as_json() {
    // JSON has no NaN or infinity; serde_json refuses a literal that overflows to infinity.
    let json = collection(&[feature(
        r#"{"code":"120110","name":"x"}"#,
        &polygon("[[117.2,39.05],[1e999,39.05],[117.21,39.06],[117.2,39.05]]"),
    )]);
    let err = read_err(&json);
    let ReadError::NotJson { reason, line, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("number out of range"), "{reason}");
    assert_eq!(*line, 1);
}

#[test]
fn string_coordinate_drops_only_that_feature() {
    let json = collection(&[
        feature(
            r#"{"code":"120110001","name":"坏"}"#,
            &polygon(r#"[["117.2",39.05],[117.21,39.05],[117.21,39.06],[117.2,39.05]]"#),
        ),
        feature(r#"{"code":"120110002","name":"好"}"#, &polygon(SQUARE)),
    ]);
    let outcome = read(&json);
    assert_eq!(kinds(&outcome), vec![ProblemKind::Unreadable]);
    assert_eq!(outcome.problems[0].codes, vec!["120110001".to_string()]);
    assert!(
        outcome.problems[0].message.contains("left out"),
        "{}",
        outcome.problems[0].message
    );
    let codes: Vec<&str> = outcome
        .layer
        .features
        .iter()
        .map(|f| f.code.as_str())
        .collect();
    assert_eq!(codes, vec!["120110002"]);
    assert_eq!(outcome.layer.features[0].index, 1);
}

#[test]
fn point_feature_is_a_problem_and_polygons_survive() {
    let json = collection(&[
        feature(
            r#"{"code":"120110001","name":"点"}"#,
            r#"{"type":"Point","coordinates":[117.2,39.1]}"#,
        ),
        feature(r#"{"code":"120110002","name":"面"}"#, &polygon(SQUARE)),
    ]);
    let outcome = read(&json);
    assert_eq!(kinds(&outcome), vec![ProblemKind::Unreadable]);
    assert!(
        outcome.problems[0].message.contains("Point"),
        "{}",
        outcome.problems[0].message
    );
    assert_eq!(outcome.problems[0].codes, vec!["120110001".to_string()]);
    assert_eq!(outcome.layer.features.len(), 1);
}

#[test]
fn three_position_ring_is_too_short() {
    let json = collection(&[feature(
        r#"{"code":"120110001","name":"线"}"#,
        &polygon("[[117.2,39.05],[117.21,39.05],[117.2,39.05]]"),
    )]);
    let outcome = read(&json);
    assert_eq!(kinds(&outcome), vec![ProblemKind::TooShortRing]);
    assert_eq!(outcome.problems[0].severity, Severity::Error);
    assert_eq!(outcome.problems[0].location, Some([117.2, 39.05]));
    // Still returned, so that validation can report on it too.
    assert_eq!(outcome.layer.features.len(), 1);
}

#[test]
fn unclosed_ring_is_reported_and_closed() {
    let json = collection(&[feature(
        r#"{"code":"120110001","name":"开"}"#,
        &polygon("[[117.2,39.05],[117.21,39.05],[117.21,39.06],[117.2,39.06]]"),
    )]);
    let outcome = read(&json);
    assert_eq!(kinds(&outcome), vec![ProblemKind::UnclosedRing]);
    assert_eq!(outcome.problems[0].location, Some([117.2, 39.05]));
    let ring = outcome.layer.features[0].geometry.0[0].exterior();
    assert_eq!(ring.0.len(), 5);
    assert_eq!(ring.0.first(), ring.0.last());
}

#[test]
fn unclosed_triangle_is_only_unclosed_but_a_two_point_ring_is_also_short() {
    let triangle = read(&collection(&[feature(
        r#"{"code":"1","name":"a"}"#,
        &polygon("[[117.2,39.05],[117.21,39.05],[117.21,39.06]]"),
    )]));
    assert_eq!(kinds(&triangle), vec![ProblemKind::UnclosedRing]);
    let segment = read(&collection(&[feature(
        r#"{"code":"1","name":"a"}"#,
        &polygon("[[117.2,39.05],[117.21,39.05]]"),
    )]));
    assert_eq!(
        kinds(&segment),
        vec![ProblemKind::UnclosedRing, ProblemKind::TooShortRing]
    );
}

#[test]
fn swapped_tianjin_coordinates_are_detected() {
    let swapped = "[[39.05,117.20],[39.05,117.21],[39.06,117.21],[39.06,117.20],[39.05,117.20]]";
    let json = collection(&[
        feature(r#"{"code":"120110001","name":"反"}"#, &polygon(swapped)),
        feature(r#"{"code":"120110002","name":"正"}"#, &polygon(SQUARE)),
    ]);
    let outcome = read(&json);
    assert_eq!(kinds(&outcome), vec![ProblemKind::SwappedCoordinates]);
    let message = &outcome.problems[0].message;
    assert!(
        message.contains("longitude and latitude look exchanged"),
        "{message}"
    );
    assert_eq!(outcome.problems[0].codes, vec!["120110001".to_string()]);
    assert_eq!(outcome.layer.features.len(), 1);
    assert_eq!(outcome.layer.features[0].code, "120110002");
}

#[test]
fn out_of_range_and_projected_coordinates_are_refused() {
    let json = collection(&[
        feature(
            r#"{"code":"1","name":"a"}"#,
            &polygon("[[117.2,39.05],[217.21,39.05],[117.21,39.06],[117.2,39.05]]"),
        ),
        feature(
            r#"{"code":"2","name":"b"}"#,
            &polygon("[[500000,4300000],[500100,4300000],[500100,4300100],[500000,4300000]]"),
        ),
        feature(
            r#"{"code":"3","name":"c"}"#,
            &polygon("[[117.2],[117.21,39.05],[117.21,39.06],[117.2]]"),
        ),
    ]);
    let outcome = read(&json);
    assert_eq!(
        kinds(&outcome),
        vec![
            ProblemKind::CoordinateOutOfRange,
            ProblemKind::CoordinateOutOfRange,
            ProblemKind::CoordinateOutOfRange
        ]
    );
    assert!(
        outcome.problems[0].message.contains("217.21"),
        "{}",
        outcome.problems[0].message
    );
    assert!(
        outcome.problems[1].message.contains("projected metres"),
        "{}",
        outcome.problems[1].message
    );
    assert!(
        outcome.problems[2].message.contains("1 number"),
        "{}",
        outcome.problems[2].message
    );
    assert!(outcome.layer.features.is_empty());
}

#[test]
fn missing_code_and_name_are_reported_but_the_feature_is_kept() {
    let json = collection(&[feature(r#"{"code":"  ","other":1}"#, &polygon(SQUARE))]);
    let outcome = read(&json);
    assert_eq!(
        kinds(&outcome),
        vec![ProblemKind::MalformedCode, ProblemKind::MissingName]
    );
    assert_eq!(outcome.problems[0].severity, Severity::Error);
    assert!(
        outcome.problems[0].message.contains("WGBM"),
        "{}",
        outcome.problems[0].message
    );
    assert_eq!(outcome.problems[1].severity, Severity::Warning);
    assert_eq!(outcome.layer.features.len(), 1);
    assert_eq!(outcome.layer.features[0].code, "");
}

#[test]
fn empty_and_null_geometries_are_left_out() {
    let json = collection(&[
        feature(r#"{"code":"1","name":"a"}"#, "null"),
        feature(
            r#"{"code":"2","name":"b"}"#,
            r#"{"type":"MultiPolygon","coordinates":[]}"#,
        ),
        feature(
            r#"{"code":"3","name":"c"}"#,
            r#"{"type":"Polygon","coordinates":[[]]}"#,
        ),
    ]);
    let outcome = read(&json);
    assert_eq!(kinds(&outcome), vec![ProblemKind::EmptyGeometry; 3]);
    assert!(outcome.layer.features.is_empty());
}

#[test]
fn documents_that_cannot_be_layers_are_errors() {
    assert!(matches!(
        read_err(r#"{"type":"Point","coordinates":[117.2,39.1]}"#),
        ReadError::NotALayer { .. }
    ));
    assert!(matches!(
        read_err(r#"{"features":[]}"#),
        ReadError::NotALayer { .. }
    ));
    assert!(matches!(read_err("42"), ReadError::NotALayer { .. }));
    assert!(matches!(
        read_err(r#"{"type":"FeatureCollection","features":[]}"#),
        ReadError::NoFeatures
    ));
    let err = read_err(r#"{"type":"LineString","coordinates":[[117.2,39.1],[117.3,39.1]]}"#);
    assert!(err.to_string().contains("cannot hold polygons"), "{err}");
}

#[test]
fn too_large_input_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.geojson");
    let file = std::fs::File::create(&path).unwrap();
    // Sparse: takes no disk space, and the reader must refuse it from its size alone.
    file.set_len(101 * 1024 * 1024).unwrap();
    let err = read_path(&path, &ReadOptions::default()).unwrap_err();
    let ReadError::TooLarge { size, limit, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*size, *limit), (101 * 1024 * 1024, 100 * 1024 * 1024));
    assert!(
        err.to_string()
            .contains("101.0 MiB, over the limit of 100.0 MiB"),
        "{err}"
    );

    let small = ReadOptions {
        max_bytes: 10,
        ..ReadOptions::default()
    };
    let err = read_geojson(polygon(SQUARE).as_bytes(), &small).unwrap_err();
    assert!(matches!(err, ReadError::TooLarge { .. }), "{err:?}");
}

#[test]
fn unknown_extension_and_missing_file_are_clear_errors() {
    let err = read_path(Path::new("grid.kml"), &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, ReadError::UnknownExtension { .. }));
    let message = err.to_string();
    for supported in [".geojson", ".json", ".shp"] {
        assert!(message.contains(supported), "{message}");
    }
    let err = read_path(
        Path::new("/nonexistent/grid.geojson"),
        &ReadOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ReadError::Io { .. }));
    assert!(
        err.to_string().contains("/nonexistent/grid.geojson"),
        "{err}"
    );
}

#[test]
fn dongli_gcj02_file_reads_as_the_published_wgs84_outline() {
    let data =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tianjin-dongli-boundaries");
    let (gcj, wgs) = (
        data.join("dongli_120110_gcj02.geojson"),
        data.join("dongli_120110_wgs84.geojson"),
    );
    if !gcj.exists() || !wgs.exists() {
        println!(
            "skipped: the shared Dongli boundary files are not present at {}",
            data.display()
        );
        return;
    }
    let from_gcj = read_path(
        &gcj,
        &ReadOptions {
            crs: Crs::Gcj02,
            ..ReadOptions::default()
        },
    )
    .unwrap();
    let from_wgs = read_path(&wgs, &ReadOptions::default()).unwrap();
    assert_eq!(from_gcj.problems, vec![]);
    let [a] = from_gcj.layer.features.as_slice() else {
        panic!("one feature expected")
    };
    let [b] = from_wgs.layer.features.as_slice() else {
        panic!("one feature expected")
    };
    assert_eq!((a.code.as_str(), a.name.as_str()), ("120110", "东丽区"));
    let (pa, pb): (Vec<Coord<f64>>, Vec<Coord<f64>>) = (
        a.geometry
            .0
            .iter()
            .flat_map(|p| p.exterior().0.clone())
            .collect(),
        b.geometry
            .0
            .iter()
            .flat_map(|p| p.exterior().0.clone())
            .collect(),
    );
    assert_eq!(pa.len(), pb.len());
    for (x, y) in pa.iter().zip(&pb) {
        assert!(
            (x.x - y.x).abs() < 1e-6 && (x.y - y.y).abs() < 1e-6,
            "{x:?} vs {y:?}"
        );
    }
}

// ----------------------------------------------------------------------------------------------------
// Shapefiles

fn ring(points: &[(f64, f64)]) -> Vec<shapefile::Point> {
    points
        .iter()
        .map(|&(x, y)| shapefile::Point::new(x, y))
        .collect()
}

/// A square with corner (x, y) and side `side`, as points in any order (the writer orients them).
fn square(x: f64, y: f64, side: f64) -> Vec<shapefile::Point> {
    ring(&[
        (x, y),
        (x + side, y),
        (x + side, y + side),
        (x, y + side),
        (x, y),
    ])
}

struct Row {
    code: FieldValue,
    name: &'static str,
}

/// Writes `stem.shp/.shx/.dbf` with a `WGBM` code field (character, or numeric when the rows hold numbers)
/// and a `WGMC` name field in `encoding`.
fn write_shapefile(
    dir: &Path,
    stem: &str,
    encoding: &'static Encoding,
    shapes: Vec<shapefile::Polygon>,
    rows: Vec<Row>,
) -> PathBuf {
    let path = dir.join(format!("{stem}.shp"));
    let numeric = matches!(rows.first().map(|r| &r.code), Some(FieldValue::Numeric(_)));
    let mut builder =
        dbase::TableWriterBuilder::with_encoding(dbase::encoding::EncodingRs::from(encoding));
    builder = if numeric {
        builder.add_numeric_field("WGBM".try_into().unwrap(), 18, 0)
    } else {
        builder.add_character_field("WGBM".try_into().unwrap(), 20)
    };
    builder = builder.add_character_field("WGMC".try_into().unwrap(), 60);
    let mut writer = shapefile::Writer::from_path(&path, builder).unwrap();
    for (shape, row) in shapes.iter().zip(rows) {
        let mut map = HashMap::new();
        map.insert("WGBM".to_string(), row.code);
        map.insert(
            "WGMC".to_string(),
            FieldValue::Character(Some(row.name.to_string())),
        );
        writer
            .write_shape_and_record(shape, &dbase::Record::from(map))
            .unwrap();
    }
    drop(writer);
    path
}

fn set_language_driver(shp: &Path, ldid: u8) {
    let dbf = shp.with_extension("dbf");
    let mut bytes = std::fs::read(&dbf).unwrap();
    bytes[29] = ldid;
    std::fs::write(&dbf, bytes).unwrap();
}

fn text(code: &str) -> FieldValue {
    FieldValue::Character(Some(code.to_string()))
}

/// Two cells with Chinese names in the given encoding.
fn two_cells(dir: &Path, stem: &str, encoding: &'static Encoding) -> PathBuf {
    write_shapefile(
        dir,
        stem,
        encoding,
        vec![
            shapefile::Polygon::new(PolygonRing::Outer(square(117.20, 39.05, 0.01))),
            shapefile::Polygon::new(PolygonRing::Outer(square(117.21, 39.05, 0.01))),
        ],
        vec![
            Row {
                code: text("120110001001001"),
                name: "张贵庄街道第一网格",
            },
            Row {
                code: text("120110001001002"),
                name: "华明街道第二网格",
            },
        ],
    )
}

fn names(outcome: &ReadOutcome) -> Vec<&str> {
    outcome
        .layer
        .features
        .iter()
        .map(|f| f.name.as_str())
        .collect()
}

const CELL_NAMES: [&str; 2] = ["张贵庄街道第一网格", "华明街道第二网格"];

#[test]
fn gbk_shapefile_with_cpg_reads_chinese_names() {
    let dir = tempfile::tempdir().unwrap();
    let shp = two_cells(dir.path(), "cells", encoding_rs::GBK);
    // The header claims Big5: the .cpg must win over it.
    set_language_driver(&shp, 0x78);
    for label in ["GBK", "936", "CP936", "GB2312", "\u{feff}gbk\r\n"] {
        std::fs::write(shp.with_extension("cpg"), label).unwrap();
        let outcome = read_path(&shp, &ReadOptions::default()).unwrap();
        assert_eq!(outcome.problems, vec![], "cpg {label:?}");
        assert_eq!(names(&outcome), CELL_NAMES, "cpg {label:?}");
        assert_eq!(outcome.layer.features[0].code, "120110001001001");
        assert_eq!(outcome.layer.level, Some(AreaLevel::Cell));
    }
}

#[test]
fn gbk_shapefile_without_cpg_uses_the_language_driver_id() {
    let dir = tempfile::tempdir().unwrap();
    let shp = two_cells(dir.path(), "cells", encoding_rs::GBK);
    for ldid in [0x4D, 0x7A] {
        set_language_driver(&shp, ldid);
        // The options' encoding comes after the header's declaration.
        let options = ReadOptions {
            encoding: Some(encoding_rs::BIG5),
            ..ReadOptions::default()
        };
        let outcome = read_shapefile(&shp, &options).unwrap();
        assert_eq!(names(&outcome), CELL_NAMES, "LDID {ldid:#04x}");
    }
}

#[test]
fn without_any_declaration_the_options_encoding_then_utf8_then_gbk_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let big5 = write_shapefile(
        dir.path(),
        "big5",
        encoding_rs::BIG5,
        vec![shapefile::Polygon::new(PolygonRing::Outer(square(
            117.2, 39.05, 0.01,
        )))],
        vec![Row {
            code: text("120110001001001"),
            name: "東麗區網格",
        }],
    );
    set_language_driver(&big5, 0x00);
    let options = ReadOptions {
        encoding: Some(encoding_rs::BIG5),
        ..ReadOptions::default()
    };
    assert_eq!(
        names(&read_shapefile(&big5, &options).unwrap()),
        vec!["東麗區網格"]
    );
    // Without it, the Big5 bytes are not UTF-8 and are taken as GBK, which garbles them.
    let guessed = read_shapefile(&big5, &ReadOptions::default()).unwrap();
    assert_ne!(names(&guessed), vec!["東麗區網格"]);

    let gbk = two_cells(dir.path(), "gbk", encoding_rs::GBK);
    set_language_driver(&gbk, 0x00);
    assert_eq!(
        names(&read_shapefile(&gbk, &ReadOptions::default()).unwrap()),
        CELL_NAMES
    );

    let utf8 = two_cells(dir.path(), "utf8", encoding_rs::UTF_8);
    set_language_driver(&utf8, 0x00);
    assert_eq!(
        names(&read_shapefile(&utf8, &ReadOptions::default()).unwrap()),
        CELL_NAMES
    );
}

#[test]
fn unknown_cpg_is_a_warning_and_the_guess_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let shp = two_cells(dir.path(), "cells", encoding_rs::GBK);
    set_language_driver(&shp, 0x00);
    std::fs::write(shp.with_extension("cpg"), "KLINGON").unwrap();
    let outcome = read_path(&shp, &ReadOptions::default()).unwrap();
    assert_eq!(kinds(&outcome), vec![ProblemKind::Unreadable]);
    assert_eq!(outcome.problems[0].severity, Severity::Warning);
    assert!(outcome.problems[0].message.contains("KLINGON"));
    assert_eq!(names(&outcome), CELL_NAMES);
}

#[test]
fn code_page_labels_and_language_drivers_map_to_encodings() {
    for (label, encoding) in [
        ("UTF-8", encoding_rs::UTF_8),
        ("65001", encoding_rs::UTF_8),
        ("GBK", encoding_rs::GBK),
        ("cp936", encoding_rs::GBK),
        ("ANSI 936", encoding_rs::GBK),
        ("GB2312", encoding_rs::GBK),
        ("GB18030", encoding_rs::GB18030),
        ("Big5", encoding_rs::BIG5),
        ("1252", encoding_rs::WINDOWS_1252),
    ] {
        assert_eq!(
            encoding_for_code_page_label(label),
            Some(encoding),
            "{label}"
        );
    }
    assert_eq!(encoding_for_code_page_label("nonsense"), None);
    assert_eq!(encoding_for_language_driver(0x4D), Some(encoding_rs::GBK));
    assert_eq!(encoding_for_language_driver(0x7A), Some(encoding_rs::GBK));
    assert_eq!(encoding_for_language_driver(0x78), Some(encoding_rs::BIG5));
    assert_eq!(encoding_for_language_driver(0x57), None);
    assert_eq!(encoding_for_language_driver(0x00), None);
}

#[test]
fn numeric_dbf_code_becomes_its_digits() {
    let dir = tempfile::tempdir().unwrap();
    let shp = write_shapefile(
        dir.path(),
        "numeric",
        encoding_rs::UTF_8,
        vec![shapefile::Polygon::new(PolygonRing::Outer(square(
            117.2, 39.05, 0.01,
        )))],
        vec![Row {
            code: FieldValue::Numeric(Some(120110001001001.0)),
            name: "一",
        }],
    );
    let outcome = read_shapefile(&shp, &ReadOptions::default()).unwrap();
    assert_eq!(outcome.problems, vec![]);
    assert_eq!(outcome.layer.features[0].code, "120110001001001");
}

#[test]
fn holes_go_to_the_outer_ring_that_contains_them() {
    let dir = tempfile::tempdir().unwrap();
    // Two outer rings, then a hole inside the *first* one: the file order alone would give it to the second.
    let shape = shapefile::Polygon::with_rings(vec![
        PolygonRing::Outer(square(117.20, 39.05, 0.04)),
        PolygonRing::Outer(square(117.30, 39.05, 0.04)),
        PolygonRing::Inner(square(117.21, 39.06, 0.01)),
    ]);
    let shp = write_shapefile(
        dir.path(),
        "holes",
        encoding_rs::UTF_8,
        vec![shape],
        vec![Row {
            code: text("120110001"),
            name: "街道",
        }],
    );
    let outcome = read_shapefile(&shp, &ReadOptions::default()).unwrap();
    assert_eq!(outcome.problems, vec![]);
    let polygons = &outcome.layer.features[0].geometry.0;
    assert_eq!(polygons.len(), 2);
    let first = polygons
        .iter()
        .find(|p| p.exterior().0[0].x < 117.25)
        .unwrap();
    let second = polygons
        .iter()
        .find(|p| p.exterior().0[0].x > 117.25)
        .unwrap();
    assert_eq!(first.interiors().len(), 1);
    assert_eq!(second.interiors().len(), 0);
    // Shapefile outer rings are clockwise, holes counter-clockwise.
    assert!(first.exterior().is_cw());
    assert!(first.interiors()[0].is_ccw());
}

#[test]
fn shapefile_without_dbf_names_the_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let shp = two_cells(dir.path(), "lonely", encoding_rs::UTF_8);
    std::fs::remove_file(shp.with_extension("dbf")).unwrap();
    let err = read_path(&shp, &ReadOptions::default()).unwrap_err();
    let ReadError::MissingDbf { expected, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(expected, &shp.with_extension("dbf"));
    assert!(err.to_string().contains("lonely.dbf"), "{err}");
}

#[test]
fn shapefile_without_shx_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let shp = two_cells(dir.path(), "noindex", encoding_rs::UTF_8);
    std::fs::remove_file(shp.with_extension("shx")).unwrap();
    assert_eq!(
        names(&read_path(&shp, &ReadOptions::default()).unwrap()),
        CELL_NAMES
    );
}

#[test]
fn projected_shapefile_and_unknown_mapped_field_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let shp = two_cells(dir.path(), "cells", encoding_rs::UTF_8);
    let options = ReadOptions {
        fields: "code=GRID_ID".parse().unwrap(),
        ..ReadOptions::default()
    };
    let err = read_path(&shp, &options).unwrap_err();
    assert!(matches!(err, ReadError::UnknownField { .. }), "{err:?}");
    assert!(err.to_string().contains("WGBM, WGMC"), "{err}");

    std::fs::write(
        shp.with_extension("prj"),
        r#"PROJCS["CGCS2000_3_Degree_GK_CM_117E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000"]]"#,
    )
    .unwrap();
    let err = read_path(&shp, &ReadOptions::default()).unwrap_err();
    assert!(
        matches!(err, ReadError::ProjectedShapefile { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("CGCS2000_3_Degree_GK_CM_117E"),
        "{err}"
    );
}

#[test]
fn point_shapefile_features_are_problems() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("points.shp");
    let builder =
        dbase::TableWriterBuilder::new().add_character_field("WGBM".try_into().unwrap(), 20);
    let mut writer = shapefile::Writer::from_path(&path, builder).unwrap();
    let mut map = HashMap::new();
    map.insert("WGBM".to_string(), text("120110001001001"));
    writer
        .write_shape_and_record(
            &shapefile::Point::new(117.2, 39.1),
            &dbase::Record::from(map),
        )
        .unwrap();
    drop(writer);
    let outcome = read_path(&path, &ReadOptions::default()).unwrap();
    assert_eq!(
        kinds(&outcome),
        vec![ProblemKind::MissingName, ProblemKind::Unreadable]
    );
    assert!(
        outcome.problems[1].message.contains("Point"),
        "{}",
        outcome.problems[1].message
    );
    assert!(outcome.layer.features.is_empty());
}

#[test]
fn corrupt_shp_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let shp = two_cells(dir.path(), "cells", encoding_rs::UTF_8);
    let bytes = std::fs::read(&shp).unwrap();
    std::fs::write(&shp, &bytes[..bytes.len() - 20]).unwrap();
    std::fs::remove_file(shp.with_extension("shx")).unwrap();
    let err = read_path(&shp, &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, ReadError::Shapefile { .. }), "{err:?}");
    std::fs::write(&shp, b"not a shapefile at all, just text").unwrap();
    assert!(matches!(
        read_path(&shp, &ReadOptions::default()),
        Err(ReadError::Shapefile { .. })
    ));
}

// ----------------------------------------------------------------------------------------------------
// Writing

fn cell(
    code: &str,
    name: &str,
    parent: Option<&str>,
    exterior: Vec<(f64, f64)>,
    holes: Vec<Vec<(f64, f64)>>,
) -> GridFeature {
    let line = |points: Vec<(f64, f64)>| LineString::from(points);
    GridFeature {
        code: code.to_string(),
        name: name.to_string(),
        parent: parent.map(str::to_string),
        geometry: MultiPolygon::new(vec![Polygon::new(
            line(exterior),
            holes.into_iter().map(line).collect(),
        )]),
        index: 0,
    }
}

#[test]
fn written_geojson_reads_back_as_the_same_layer() {
    // Exterior counter-clockwise and hole clockwise (RFC 7946), coordinates with 7 decimals.
    let mut layer = GridLayer {
        level: Some(AreaLevel::Cell),
        features: vec![
            cell(
                "120110001001001",
                "第一网格",
                Some("120110001001"),
                vec![
                    (117.2, 39.05),
                    (117.2345678, 39.05),
                    (117.2345678, 39.0812345),
                    (117.2, 39.0812345),
                    (117.2, 39.05),
                ],
                vec![vec![
                    (117.21, 39.06),
                    (117.21, 39.07),
                    (117.22, 39.07),
                    (117.22, 39.06),
                    (117.21, 39.06),
                ]],
            ),
            cell(
                "120110001001002",
                "第二网格",
                None,
                vec![
                    (117.3, 39.05),
                    (117.31, 39.05),
                    (117.31, 39.06),
                    (117.3, 39.05),
                ],
                vec![],
            ),
        ],
    };
    layer.features[1].index = 1;
    let text = to_geojson(&layer);
    let outcome = read_geojson(text.as_bytes(), &ReadOptions::default()).unwrap();
    assert_eq!(outcome.problems, vec![]);
    assert_eq!(outcome.layer, layer);
    // Writing again gives the same text.
    assert_eq!(to_geojson(&outcome.layer), text);
}

#[test]
fn writer_rounds_to_seven_decimals_and_orients_rings() {
    // A clockwise exterior, as shapefiles have it, with more than 7 decimals.
    let layer = GridLayer {
        level: None,
        features: vec![cell(
            "120110",
            "东丽区",
            None,
            vec![
                (117.2, 39.05),
                (117.2, 39.0612345678),
                (117.2123456789, 39.0612345678),
                (117.2123456789, 39.05),
                (117.2, 39.05),
            ],
            vec![],
        )],
    };
    let text = to_geojson(&layer);
    assert!(text.contains("117.2123457"), "{text}");
    assert!(!text.contains("117.21234567"), "{text}");
    let back = read_geojson(text.as_bytes(), &ReadOptions::default())
        .unwrap()
        .layer;
    let exterior = back.features[0].geometry.0[0].exterior();
    assert!(exterior.is_ccw());
    let expected = layer.features[0].geometry.0[0].orient(Direction::Default);
    for (got, want) in exterior.coords().zip(expected.exterior().coords()) {
        assert!(
            (got.x - want.x).abs() <= 5e-8 && (got.y - want.y).abs() <= 5e-8,
            "{got:?} vs {want:?}"
        );
    }
}

/// Splits a shapefile fuzz input (layout in `fuzz/fuzz_targets/shapefile.rs`) into its parts.
fn fuzz_input_parts<'a>(
    bytes: &'a [u8],
    cpg: Option<&'static [u8]>,
) -> onegrid_geo::read::ShapefileParts<'a> {
    let flags = bytes[0];
    let shp_len = usize::from(u16::from_le_bytes([bytes[1], bytes[2]]));
    let shx_len = usize::from(u16::from_le_bytes([bytes[3], bytes[4]]));
    let (shp, rest) = bytes[5..].split_at(shp_len.min(bytes.len() - 5));
    let (shx, dbf) = rest.split_at(shx_len.min(rest.len()));
    onegrid_geo::read::ShapefileParts {
        shp,
        shx: (flags & 4 != 0).then_some(shx),
        dbf,
        cpg,
        prj: None,
    }
}

/// The shapefile fuzz seeds are hand-written (by `fuzz/make_seeds.py`, not the shapefile crate's writer), so
/// they also check the reader against an independent encoder.
#[test]
fn hand_written_shapefile_seeds_read_correctly() {
    use onegrid_geo::read::read_shapefile_parts;
    let seeds = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/shapefile");
    for (file, name, cpg) in [
        ("seed-0", "张贵庄第一网格", Some(&b"GBK"[..])),
        ("seed-1", "张贵庄第一网格", None),
        ("seed-2", "one", None),
    ] {
        let bytes = std::fs::read(seeds.join(file)).unwrap();
        let outcome =
            read_shapefile_parts(&fuzz_input_parts(&bytes, cpg), &ReadOptions::default()).unwrap();
        assert_eq!(outcome.problems, vec![], "{file}");
        let [f] = outcome.layer.features.as_slice() else {
            panic!("{file}: one feature expected")
        };
        assert_eq!(
            (f.code.as_str(), f.name.as_str()),
            ("120110001001001", name),
            "{file}"
        );
        assert_eq!(f.geometry.0.len(), 1, "{file}");
        assert_eq!(f.geometry.0[0].interiors().len(), 1, "{file}");
    }
}

/// Found by the fuzzer: a record whose second part starts 947 million points after its first made the
/// shapefile crate reserve 15 GB for that part. Declared counts beyond the file are refused the same way.
#[test]
fn declared_counts_beyond_the_file_are_refused_before_allocating() {
    use onegrid_geo::read::read_shapefile_parts;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz-shapefile-huge-point-count.bin");
    let bytes = std::fs::read(path).unwrap();
    let err =
        read_shapefile_parts(&fuzz_input_parts(&bytes, None), &ReadOptions::default()).unwrap_err();
    assert!(
        matches!(err, ReadError::Shapefile { part: ".shp", .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("points"), "{err}");

    // The same on files from the shapefile writer, with the point or the part count patched, read with
    // and without the .shx index.
    let dir = tempfile::tempdir().unwrap();
    // First record: file header 100 bytes, record header 8, shape type 4, box 32, then parts and points.
    for (at, what) in [(148, "points"), (144, "parts")] {
        for with_shx in [true, false] {
            let shp = two_cells(
                dir.path(),
                &format!("{what}-{with_shx}"),
                encoding_rs::UTF_8,
            );
            let mut bytes = std::fs::read(&shp).unwrap();
            bytes[at..at + 4].copy_from_slice(&i32::MAX.to_le_bytes());
            std::fs::write(&shp, &bytes).unwrap();
            if !with_shx {
                std::fs::remove_file(shp.with_extension("shx")).unwrap();
            }
            let err = read_path(&shp, &ReadOptions::default()).unwrap_err();
            assert!(
                matches!(err, ReadError::Shapefile { .. }),
                "{what}: {err:?}"
            );
            assert!(err.to_string().contains("2147483647"), "{what}: {err}");
        }
    }
}
