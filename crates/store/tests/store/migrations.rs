//! A database written by an older schema opens, migrates, and keeps every history intact.

use std::sync::Arc;

use onegrid_store::{SqliteStore, Store};

use crate::fixture::{accept, at, TestDb, DISPATCHER_1};

const SCHEMA_V1: &str = include_str!("../../migrations/sqlite/0001_initial.sql");

#[tokio::test]
async fn a_version_1_database_migrates_with_its_history_intact() {
    let db = TestDb::new().await;
    let case = db
        .reported("120110001001001", "S0101", "暴露垃圾", at(0))
        .await;
    db.store
        .act(case.id, None, accept(), &db.actor(DISPATCHER_1), at(30))
        .await
        .expect("accepted");
    db.reported("120110002001002", "S0101", "道路不洁", at(40))
        .await;
    let before = db.snapshot().await;

    // Rebuild the same data in a file that has only schema version 1, as an older onegrid left it.
    let dir = tempfile::tempdir().expect("temporary directory");
    let old_path = dir.path().join("v1.sqlite");
    let old = rusqlite::Connection::open(&old_path).expect("open");
    old.execute_batch(SCHEMA_V1).expect("schema 1");
    old.pragma_update(None, "user_version", 1)
        .expect("version 1");
    let source = db.raw_connection();
    let source_path = source.path().expect("file path").to_string();
    drop(source);
    old.execute("ATTACH DATABASE ?1 AS current", [&source_path])
        .expect("attach");
    for table in [
        "settings",
        "areas",
        "departments",
        "categories",
        "people",
        "cases",
        "events",
    ] {
        old.execute_batch(&format!(
            "INSERT INTO main.{table} SELECT * FROM current.{table}"
        ))
        .expect("copy");
    }
    old.execute_batch("DETACH DATABASE current")
        .expect("detach");
    drop(old);

    let migrated: Arc<dyn Store> = Arc::new(SqliteStore::open(&old_path).expect("migrates"));
    let report = migrated
        .verify(Arc::new(|_, _| {}))
        .await
        .expect("verify runs");
    assert!(report.is_ok(), "{:?}", report.broken);
    assert_eq!(report.cases, 2);
    for expected in &before.histories {
        let id = expected[0].case_id;
        assert_eq!(&migrated.history(id).await.expect("history"), expected);
    }
    // The append-only guard survives the rebuild of the table.
    let raw = rusqlite::Connection::open(&old_path).expect("open");
    let error = raw
        .execute("DELETE FROM events", [])
        .expect_err("events are append-only");
    assert!(error.to_string().contains("append-only"), "{error}");
}
