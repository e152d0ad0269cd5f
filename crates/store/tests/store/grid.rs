//! Grid layers in the store: an import is one transaction that extends the area tree, refusals change
//! nothing, the point → cell index is swapped when the cell layer changes and survives a restart, and
//! intake checks a report's point against its cell.

use geo::{polygon, MultiPolygon};
use onegrid_core::{Area, AreaLevel, Channel, GeoPoint};
use onegrid_store::{locate, GridShape, Store, StoreError};

use crate::fixture::*;

/// A square of `size` degrees with its south-west corner at (lon, lat).
fn square(lon: f64, lat: f64, size: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![polygon![
        (x: lon, y: lat),
        (x: lon + size, y: lat),
        (x: lon + size, y: lat + size),
        (x: lon, y: lat + size),
    ]])
}

fn shape(code: &str, name: &str, geometry: MultiPolygon<f64>) -> GridShape {
    GridShape {
        area: Area {
            code: area(code),
            name: name.to_string(),
            generated: true,
        },
        geometry,
        approximate: false,
    }
}

/// The fixture's four cells as 0.01° squares in a row, west to east: 1A, 1B, 2A, 2B.
fn cell_layer() -> Vec<GridShape> {
    CELLS
        .iter()
        .enumerate()
        .map(|(i, code)| {
            shape(
                code,
                &format!("网格{i}"),
                square(117.30 + 0.01 * i as f64, 39.10, 0.01),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_cell_layer_is_stored_indexed_and_survives_a_restart() {
    let db = TestDb::new().await;
    assert!(db.store.cell_index().is_none());
    assert!(matches!(
        locate(&db.store, 117.305, 39.105),
        Err(StoreError::NoGrid)
    ));
    let summary = db
        .store
        .put_grid_layer(AreaLevel::Cell, cell_layer(), at(0))
        .await
        .expect("the layer is stored");
    assert_eq!(summary.shapes, 4);
    assert_eq!(summary.added_areas, 0);
    assert_eq!(summary.renamed_areas, 4);
    assert_eq!(
        db.store
            .reference()
            .areas
            .get(&area(CELL_2A))
            .map(|a| a.name.as_str()),
        Some("网格2")
    );

    let found = locate(&db.store, 117.325, 39.105).expect("inside 2A");
    assert_eq!(found.cell, area(CELL_2A));
    assert_eq!(found.distance_m, 0.0);
    // 0.0002° (≈ 17 m) west of the layer: snapped to 1A, with its distance.
    let near = locate(&db.store, 117.2998, 39.105).expect("snapped");
    assert_eq!(near.cell, area(CELL_1A));
    assert!((near.distance_m - 17.3).abs() < 0.5, "{}", near.distance_m);
    // 0.01° (≈ 860 m) east of the layer: refused.
    let error = locate(&db.store, 117.35, 39.105).expect_err("outside");
    assert!(
        error.to_string().contains("outside the district"),
        "{error}"
    );

    let stored = db
        .store
        .grid_layer(AreaLevel::Cell)
        .await
        .expect("read back");
    assert_eq!(stored, cell_layer());
    let db = db.reopen().await;
    assert_eq!(
        db.store
            .grid_layer(AreaLevel::Cell)
            .await
            .expect("read back"),
        cell_layer()
    );
    let found = locate(&db.store, 117.325, 39.105).expect("the index is rebuilt on open");
    assert_eq!(found.cell, area(CELL_2A));
}

#[tokio::test]
async fn a_new_layer_replaces_the_old_one_and_new_codes_join_the_tree() {
    let db = TestDb::new().await;
    db.store
        .put_grid_layer(AreaLevel::Cell, cell_layer(), at(0))
        .await
        .expect("first layer");
    let old_index = db.store.cell_index().expect("index");
    // The second layer drops 2B and adds a new cell 003 in community 1.
    let mut layer = cell_layer();
    layer.pop();
    layer.push(shape(
        "120110001001003",
        "新网格",
        square(117.30, 39.11, 0.01),
    ));
    let summary = db
        .store
        .put_grid_layer(AreaLevel::Cell, layer, at(1))
        .await
        .expect("second layer");
    assert_eq!(
        (summary.shapes, summary.added_areas, summary.without_shape),
        (4, 1, 1)
    );
    assert!(db
        .store
        .reference()
        .areas
        .get(&area("120110001001003"))
        .is_some());
    // 2B keeps its area (cases may name it) but no longer has a shape.
    assert!(db.store.reference().areas.get(&area(CELL_2B)).is_some());
    let found = locate(&db.store, 117.305, 39.115).expect("in the new cell");
    assert_eq!(found.cell.as_str(), "120110001001003");
    // A reader holding the old index still answers from it.
    let old = onegrid_store::locate_in(&old_index, 117.335, 39.105).expect("old layer");
    assert_eq!(old.cell, area(CELL_2B));
}

#[tokio::test]
async fn a_refused_layer_changes_nothing() {
    let db = TestDb::new().await;
    db.store
        .put_grid_layer(AreaLevel::Cell, cell_layer(), at(0))
        .await
        .expect("first layer");
    let before = db.store.grid_layer(AreaLevel::Cell).await.expect("layer");
    let reference_before = db.store.reference();

    let mut orphan = cell_layer();
    orphan.push(shape(
        "120110009001001",
        "孤儿网格",
        square(117.30, 39.12, 0.01),
    ));
    let error = db
        .store
        .put_grid_layer(AreaLevel::Cell, orphan, at(1))
        .await
        .expect_err("no parent");
    assert!(error.to_string().contains("120110009001001"), "{error}");

    let mut twice = cell_layer();
    twice.push(cell_layer().remove(0));
    let error = db
        .store
        .put_grid_layer(AreaLevel::Cell, twice, at(1))
        .await
        .expect_err("duplicate");
    assert!(error.to_string().contains("twice"), "{error}");

    let wrong_level = vec![shape(COMMUNITY_1, "社区", square(117.30, 39.10, 0.02))];
    let error = db
        .store
        .put_grid_layer(AreaLevel::Cell, wrong_level, at(1))
        .await
        .expect_err("a community in a cell layer");
    assert!(error.to_string().contains("community code"), "{error}");

    assert_eq!(
        db.store.grid_layer(AreaLevel::Cell).await.expect("layer"),
        before
    );
    assert_eq!(db.store.reference().areas, reference_before.areas);
    let found = locate(&db.store, 117.335, 39.105).expect("index unchanged");
    assert_eq!(found.cell, area(CELL_2B));
}

#[tokio::test]
async fn intake_checks_the_point_against_the_cell_and_records_the_snap_distance() {
    let db = TestDb::new().await;
    db.store
        .put_grid_layer(AreaLevel::Cell, cell_layer(), at(0))
        .await
        .expect("layer");
    let with_point = |cell: &str, lon: f64, lat: f64| {
        let mut report = new_report(Channel::Citizen, cell, LITTER, "暴露垃圾");
        report.point = Some(GeoPoint { lon, lat });
        report
    };
    let inside = db
        .report(CITIZEN, with_point(CELL_1B, 117.315, 39.105), at(1))
        .await
        .expect("inside its cell");
    assert_eq!(inside.distance_to_cell_m, None);
    let snapped = db
        .report(CITIZEN, with_point(CELL_1A, 117.2998, 39.105), at(2))
        .await
        .expect("just outside, snapped");
    let distance = snapped.distance_to_cell_m.expect("distance recorded");
    assert!((distance - 17.3).abs() < 0.5, "{distance}");
    assert_eq!(
        db.store
            .case(snapped.id)
            .await
            .expect("case")
            .distance_to_cell_m,
        Some(distance)
    );

    let count = db.store.count_cases().await.expect("count");
    let wrong = db
        .report(CITIZEN, with_point(CELL_2A, 117.315, 39.105), at(3))
        .await
        .expect_err("the point is in 1B");
    assert!(
        matches!(wrong, StoreError::PointNotInCell { .. }),
        "{wrong}"
    );
    assert!(wrong.to_string().contains(CELL_1B), "{wrong}");
    let outside = db
        .report(CITIZEN, with_point(CELL_1A, 116.0, 39.0), at(3))
        .await
        .expect_err("far away");
    assert!(
        outside.to_string().contains("outside the district"),
        "{outside}"
    );
    let nan = db
        .report(CITIZEN, with_point(CELL_1A, f64::NAN, 39.0), at(3))
        .await
        .expect_err("not a number");
    assert!(matches!(nan, StoreError::InvalidPoint(_)), "{nan}");
    assert_eq!(db.store.count_cases().await.expect("count"), count);
    let verified = db
        .store
        .verify(std::sync::Arc::new(|_, _| {}))
        .await
        .expect("verify");
    assert!(verified.is_ok());
}

#[tokio::test]
async fn the_store_ignores_a_distance_the_caller_sends() {
    let db = TestDb::new().await;
    let mut report = new_report(Channel::Citizen, CELL_1A, LITTER, "暴露垃圾");
    report.distance_to_cell_m = Some(12.0);
    let case = db.report(CITIZEN, report, at(1)).await.expect("report");
    assert_eq!(case.distance_to_cell_m, None);
}

#[tokio::test]
async fn new_reference_data_drops_the_shapes_of_areas_it_no_longer_has() {
    let db = TestDb::new().await;
    db.store
        .put_grid_layer(AreaLevel::Cell, cell_layer(), at(0))
        .await
        .expect("layer");
    // Reference data without cell 2B: its shape goes, and the index forgets it.
    let mut reference = reference();
    let kept: Vec<Area> = reference
        .areas
        .iter()
        .filter(|a| a.code != area(CELL_2B))
        .cloned()
        .collect();
    reference.areas = onegrid_core::AreaTree::new(kept).expect("tree");
    for person in reference.people.values_mut() {
        person.scope.areas.retain(|a| *a != area(CELL_2B));
    }
    db.store.put_reference(reference).await.expect("reference");
    let shapes = db.store.grid_layer(AreaLevel::Cell).await.expect("layer");
    assert_eq!(shapes.len(), 3);
    assert!(
        locate(&db.store, 117.335, 39.105).is_err(),
        "2B's shape is gone"
    );
    assert_eq!(
        locate(&db.store, 117.305, 39.105).expect("1A stays").cell,
        area(CELL_1A)
    );
}
