//! Tampering below the store, with a second SQLite connection to the file: the triggers stop
//! casual edits of the history, and `verify` names every deliberate one by case and event.

use onegrid_core::{CaseId, DepartmentCode, Event, EventKind};
use onegrid_store::{Store, VerifyReport};

use crate::fixture::*;

/// Case 1 went round the whole loop (6 events), case 2 was rejected (2 events), case 3 was
/// reported and supervised three times (4 events).
async fn three_cases() -> TestDb {
    let db = TestDb::new().await;
    let first = db.reported(CELL_1A, LITTER, "暴露垃圾", at(0)).await;
    let second = db.reported(CELL_1B, LITTER, "重复的垃圾", at(1)).await;
    let third = db
        .reported(CELL_2A, BLOCKED_SEWER, "下水道堵塞", at(2))
        .await;
    db.close_loop(first.id, 10).await;
    db.walk(second.id, [(DISPATCHER_1, reject("重复上报"))], 10)
        .await;
    db.walk(
        third.id,
        (1..=3).map(|n| (COMMANDER, supervise(&format!("第{n}次督办")))),
        10,
    )
    .await;
    db.assert_verifies().await;
    db
}

fn tamper(db: &TestDb, sql: &str) {
    db.raw_connection()
        .execute_batch(sql)
        .unwrap_or_else(|error| panic!("tampering with {sql:?} failed: {error}"));
}

fn drop_append_only_triggers(db: &TestDb) {
    tamper(
        db,
        "DROP TRIGGER events_append_only_update; DROP TRIGGER events_append_only_delete;",
    );
}

/// The report names exactly these cases, in order, each problem containing the given words.
fn check_broken(report: &VerifyReport, expected: &[(u64, &[&str])]) {
    let ids: Vec<u64> = report
        .broken
        .iter()
        .map(|broken| broken.case_id.0)
        .collect();
    let expected_ids: Vec<u64> = expected.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, expected_ids, "{report:#?}");
    for (broken, (_, words)) in report.broken.iter().zip(expected) {
        for word in *words {
            assert!(
                broken.problem.contains(word),
                "the problem {:?} does not name {word:?}",
                broken.problem
            );
        }
    }
}

fn read_event(db: &TestDb, case_id: u64, seq: u64) -> Event {
    let body: String = db
        .raw_connection()
        .query_row(
            "SELECT body FROM events WHERE case_id = ?1 AND seq = ?2",
            [case_id, seq],
            |row| row.get(0),
        )
        .expect("the event exists");
    serde_json::from_str(&body).expect("the event is readable")
}

fn overwrite_event(db: &TestDb, event: &Event) {
    db.raw_connection()
        .execute(
            "UPDATE events SET body = ?1 WHERE case_id = ?2 AND seq = ?3",
            (
                serde_json::to_string(event).expect("an event serializes"),
                event.case_id.0,
                event.seq,
            ),
        )
        .expect("the event is overwritten");
}

#[tokio::test]
async fn history_is_append_only_while_the_triggers_stand() {
    let db = three_cases().await;
    let before = db.snapshot().await;
    let connection = db.raw_connection();
    for (sql, word) in [
        ("UPDATE events SET body = body WHERE case_id = 1", "changed"),
        (
            "UPDATE events SET kind = 'closed' WHERE case_id = 2 AND seq = 2",
            "changed",
        ),
        (
            "DELETE FROM events WHERE case_id = 1 AND seq = 3",
            "deleted",
        ),
        ("DELETE FROM events", "deleted"),
    ] {
        let error = connection.execute(sql, []).unwrap_err().to_string();
        assert!(error.contains("append-only"), "{sql}: {error}");
        assert!(error.contains(word), "{sql}: {error}");
    }
    assert!(db.snapshot().await == before);
    db.assert_verifies().await;
}

#[tokio::test]
async fn an_edited_event_is_named_by_case_and_event() {
    let db = three_cases().await;
    drop_append_only_triggers(&db);
    // A softer rejection reason, and a different title in the original report.
    tamper(
        &db,
        "UPDATE events SET body = json_set(body, '$.kind.reason', '无需处理') \
         WHERE case_id = 2 AND seq = 2;
         UPDATE events SET body = json_set(body, '$.kind.report.title', '小问题') \
         WHERE case_id = 3 AND seq = 1;",
    );
    let report = db.verify().await;
    check_broken(
        &report,
        &[
            (2, &["case 2, event 2", "edited"]),
            (3, &["case 3, event 1", "edited"]),
        ],
    );
    assert_eq!((report.cases, report.events), (3, 12));
}

#[tokio::test]
async fn an_edited_event_with_a_recomputed_hash_breaks_the_next_link() {
    let db = three_cases().await;
    drop_append_only_triggers(&db);
    // Case 1 was dispatched to chengguan in event 3; claim it went to shuiwu, and make the
    // event's own hash fit its new content.
    let mut event = read_event(&db, 1, 3);
    let EventKind::Dispatched { department, .. } = &mut event.kind else {
        panic!("event 3 of case 1 is the dispatch: {event:?}");
    };
    *department = DepartmentCode::parse("shuiwu").unwrap();
    event.hash = event.computed_hash();
    overwrite_event(&db, &event);

    // The last event of case 3 forged the same way: no later event links to it, but the case row
    // still holds the real one.
    let mut last = read_event(&db, 3, 4);
    last.kind = EventKind::SupervisionIssued {
        note: "已撤销督办".to_string(),
    };
    last.hash = last.computed_hash();
    overwrite_event(&db, &last);

    check_broken(
        &db.verify().await,
        &[
            (1, &["case 1, event 4", "previous-event hash", "event 3"]),
            (3, &["case 3", "differs from the replay"]),
        ],
    );
}

#[tokio::test]
async fn a_deleted_event_is_named_by_case() {
    let db = three_cases().await;
    drop_append_only_triggers(&db);
    tamper(
        &db,
        "DELETE FROM events WHERE case_id = 1 AND seq = 3;
         DELETE FROM events WHERE case_id = 2;
         DELETE FROM events WHERE case_id = 3 AND seq = 4;",
    );
    let report = db.verify().await;
    check_broken(
        &report,
        &[
            (1, &["case 1", "event 4", "missing"]),
            // The chain of case 3 is intact but one event short of its case row.
            (3, &["case 3", "differs from the replay"]),
            (2, &["case 2", "whole history is missing"]),
        ],
    );
    assert_eq!(report.cases, 3);
}

#[tokio::test]
async fn an_unreadable_event_is_named_by_case_and_event() {
    let db = three_cases().await;
    drop_append_only_triggers(&db);
    tamper(
        &db,
        "UPDATE events SET body = '{\"case_id\": 3' WHERE case_id = 3 AND seq = 2;",
    );
    check_broken(
        &db.verify().await,
        &[(3, &["case 3, event 2", "unreadable"])],
    );
}

#[tokio::test]
async fn a_replaced_event_slips_past_the_triggers_but_not_past_verify() {
    let db = three_cases().await;
    // REPLACE deletes the old row without firing delete triggers (SQLite fires them only with
    // recursive_triggers on), so the triggers do not stop this; the hash chain does.
    tamper(
        &db,
        "INSERT OR REPLACE INTO events (case_id, seq, at, kind, body, hash) \
         SELECT case_id, seq, at, kind, json_set(body, '$.kind.reason', '无需处理'), hash \
         FROM events WHERE case_id = 2 AND seq = 2;",
    );
    check_broken(&db.verify().await, &[(2, &["case 2, event 2", "edited"])]);
}

#[tokio::test]
async fn an_edited_case_row_differs_from_the_replay() {
    let db = three_cases().await;
    // The projection has no triggers: it is rebuilt from the history, so verify compares them.
    tamper(
        &db,
        "UPDATE cases SET body = json_set(body, '$.title', '已解决') WHERE id = 2;",
    );
    check_broken(
        &db.verify().await,
        &[(2, &["case 2", "differs from the replay"])],
    );
}

#[tokio::test]
async fn an_edited_case_column_differs_from_the_replay() {
    let db = three_cases().await;
    // The indexed columns are what list_cases filters on: a case shown as closed in a list while
    // its body and history say otherwise is as wrong as an edited body.
    tamper(&db, "UPDATE cases SET state = 'closed' WHERE id = 3;");
    let closed = onegrid_store::CaseFilter {
        state: Some(onegrid_core::CaseState::Closed),
        ..all_cases()
    };
    let listed: Vec<CaseId> = db
        .store
        .list_cases(&closed)
        .await
        .unwrap()
        .iter()
        .map(|case| case.id)
        .collect();
    assert_eq!(
        listed,
        [CaseId(1), CaseId(3)],
        "the forged column is what lists read"
    );
    check_broken(
        &db.verify().await,
        &[(3, &["case 3", "list columns", "differ from the replay"])],
    );
}
