//! Many callers at once: the single writer serialises them, optimistic versions catch lost updates,
//! ids stay distinct, and a failed batch acknowledges nothing.

use std::collections::BTreeSet;
use std::sync::Arc;

use onegrid_core::{Case, CaseId, CaseState, Channel, Command, WorkflowError};
use onegrid_store::{Store, StoreError};
use tokio::sync::Barrier;

use crate::fixture::*;

/// Starts `contenders` at the same moment and returns their results in order.
async fn race(
    db: &Arc<TestDb>,
    contenders: Vec<(&'static str, CaseId, Option<u64>, Command)>,
    now_minutes: i64,
) -> Vec<Result<Case, StoreError>> {
    let barrier = Arc::new(Barrier::new(contenders.len()));
    let tasks: Vec<_> = contenders
        .into_iter()
        .map(|(person, id, expected_version, command)| {
            let db = db.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let actor = db.actor(person);
                barrier.wait().await;
                db.store
                    .act(id, expected_version, command, &actor, at(now_minutes))
                    .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("the contender did not panic"));
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_accepts_have_exactly_one_winner() {
    let db = Arc::new(TestDb::new().await);
    for round in 0..20 {
        let case = db
            .reported(CELL_1A, LITTER, &format!("第{round}次抢单"), at(round))
            .await;
        // Half the rounds use optimistic versions: then the loser is told about the conflict
        // rather than about the state.
        let with_version = round % 2 == 0;
        let expected_version = with_version.then_some(case.version);
        let results = race(
            &db,
            vec![
                (DISPATCHER_1, case.id, expected_version, accept()),
                (COMMANDER, case.id, expected_version, accept()),
            ],
            100 + round,
        )
        .await;

        let winners: Vec<&Case> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:#?}");
        let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        if with_version {
            assert!(
                matches!(
                    loser,
                    StoreError::VersionConflict {
                        expected: 1,
                        actual: 2,
                        ..
                    }
                ),
                "round {round}: {loser:?}"
            );
        } else {
            assert!(
                matches!(
                    loser,
                    StoreError::Workflow(WorkflowError::IllegalTransition {
                        state: CaseState::Accepted,
                        ..
                    })
                ),
                "round {round}: {loser:?}"
            );
        }
        assert_eq!(&db.store.case(case.id).await.unwrap(), winners[0]);
        assert_eq!(db.store.history(case.id).await.unwrap().len(), 2);
    }
    db.assert_verifies().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_dispatches_to_different_departments_have_exactly_one_winner() {
    let db = Arc::new(TestDb::new().await);
    for round in 0..10 {
        let case = db
            .reported(
                CELL_1B,
                BLOCKED_SEWER,
                &format!("第{round}处积水"),
                at(round),
            )
            .await;
        db.act(DISPATCHER_1, case.id, accept(), at(50))
            .await
            .unwrap();
        let results = race(
            &db,
            vec![
                (DISPATCHER_1, case.id, None, dispatch_to("shuiwu")),
                (COMMANDER, case.id, None, dispatch_to("chengguan")),
            ],
            100 + round,
        )
        .await;
        let winners: Vec<&Case> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:#?}");
        let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert!(
            matches!(
                loser,
                StoreError::Workflow(WorkflowError::IllegalTransition {
                    command: "dispatch",
                    state: CaseState::Handling,
                    ..
                })
            ),
            "round {round}: {loser:?}"
        );
        let stored = db.store.case(case.id).await.unwrap();
        assert_eq!(stored.lead_department(), winners[0].lead_department());
        assert_eq!(&stored, winners[0]);
    }
    db.assert_verifies().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reports_all_get_distinct_ids_and_are_all_stored() {
    const TASKS: i64 = 64;
    const REPORTS_PER_TASK: i64 = 50;
    let db = Arc::new(TestDb::new().await);
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for n in 0..REPORTS_PER_TASK {
                    let cell = CELLS[(task + n) as usize % CELLS.len()];
                    let title = format!("task {task} report {n}");
                    let report = new_report(Channel::Hotline12345, cell, LITTER, &title);
                    let case = db
                        .report(INTEGRATOR, report, at(task * REPORTS_PER_TASK + n))
                        .await
                        .unwrap();
                    acknowledged.push(case);
                }
                acknowledged
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    for task in tasks {
        let cases = task.await.unwrap();
        // One task's reports are sequential, so each got a later id than the one before.
        assert!(cases.windows(2).all(|pair| pair[0].id < pair[1].id));
        acknowledged.extend(cases);
    }

    let total = (TASKS * REPORTS_PER_TASK) as u64;
    let ids: BTreeSet<u64> = acknowledged.iter().map(|case| case.id.0).collect();
    assert_eq!(ids.len() as u64, total, "some ids were given twice");
    assert_eq!(ids, (1..=total).collect::<BTreeSet<u64>>());
    acknowledged.sort_by_key(|case| case.id);
    let stored = db.store.list_cases(&all_cases()).await.unwrap();
    assert!(
        stored == acknowledged,
        "the stored cases differ from the acknowledged ones"
    );
    assert_eq!(db.store.count_cases().await.unwrap(), total);
    let report = db.verify().await;
    assert!(report.is_ok(), "{report:#?}");
    assert_eq!((report.cases, report.events), (total, total));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_writers_on_one_case_keep_one_unbroken_chain() {
    const TASKS: i64 = 16;
    const NOTES_PER_TASK: i64 = 10;
    let db = Arc::new(TestDb::new().await);
    let case = db
        .reported(CELL_2A, BLOCKED_SEWER, "下水道反复堵塞", at(0))
        .await;
    let case = db
        .walk(
            case.id,
            [(DISPATCHER_2, accept()), (DISPATCHER_2, dispatch())],
            10,
        )
        .await;
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let db = db.clone();
            let person = if task % 2 == 0 { SUPERVISOR } else { COMMANDER };
            tokio::spawn(async move {
                let mut versions = Vec::new();
                for n in 0..NOTES_PER_TASK {
                    let note = format!("督办 {task}-{n}");
                    let now = at(100 + task * NOTES_PER_TASK + n);
                    versions.push(
                        db.act(person, case.id, supervise(&note), now)
                            .await
                            .unwrap()
                            .version,
                    );
                }
                versions
            })
        })
        .collect();
    let mut versions = BTreeSet::new();
    for task in tasks {
        versions.extend(task.await.unwrap());
    }

    let notes = (TASKS * NOTES_PER_TASK) as u64;
    // Every acknowledged note got its own place in the chain.
    assert_eq!(
        versions,
        (case.version + 1..=case.version + notes).collect()
    );
    let stored = db.store.case(case.id).await.unwrap();
    assert_eq!(stored.version, case.version + notes);
    assert_eq!(u64::from(stored.supervision_count), notes);
    let history = db.store.history(case.id).await.unwrap();
    let seqs: Vec<u64> = history.iter().map(|event| event.seq).collect();
    assert_eq!(seqs, (1..=stored.version).collect::<Vec<u64>>());
    for pair in history.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    db.assert_verifies().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optimistic_writers_retry_until_every_change_lands() {
    const TASKS: i64 = 8;
    const NOTES_PER_TASK: i64 = 5;
    let db = Arc::new(TestDb::new().await);
    let case = db.reported(CELL_1A, LITTER, "垃圾堆积", at(0)).await;
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut conflicts = 0;
                for n in 0..NOTES_PER_TASK {
                    let note = format!("督办 {task}-{n}");
                    loop {
                        // Read, decide, write only if nobody wrote meanwhile.
                        let seen = db.store.case(case.id).await.unwrap();
                        let now = at(100 + task * NOTES_PER_TASK + n);
                        match db
                            .act_at_version(COMMANDER, case.id, seen.version, supervise(&note), now)
                            .await
                        {
                            Ok(next) => {
                                assert_eq!(next.version, seen.version + 1);
                                break;
                            }
                            Err(StoreError::VersionConflict {
                                expected, actual, ..
                            }) => {
                                assert_eq!(expected, seen.version);
                                assert!(actual > expected);
                                conflicts += 1;
                            }
                            Err(other) => panic!("unexpected refusal: {other}"),
                        }
                    }
                }
                conflicts
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let notes = (TASKS * NOTES_PER_TASK) as u64;
    let stored = db.store.case(case.id).await.unwrap();
    assert_eq!(u64::from(stored.supervision_count), notes);
    assert_eq!(stored.version, 1 + notes);
    db.assert_verifies().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_acknowledges_nothing_and_gives_its_ids_back() {
    let db = Arc::new(TestDb::new().await);
    for n in 0..4 {
        db.reported(CELL_1A, LITTER, &format!("垃圾 {n}"), at(n))
            .await;
    }
    // A fault injected below the store: writing any event of case 5 fails.
    db.raw_connection()
        .execute_batch(
            "CREATE TRIGGER injected_fault BEFORE INSERT ON events WHEN NEW.case_id = 5 \
             BEGIN SELECT RAISE(ABORT, 'injected disk fault'); END;",
        )
        .unwrap();
    let before = db.snapshot().await;
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let db = db.clone();
            tokio::spawn(async move {
                let report = new_report(Channel::Hotline12345, CELL_1B, LITTER, "故障中上报");
                db.report(INTEGRATOR, report, at(10 + n)).await
            })
        })
        .collect();
    for task in tasks {
        // Whichever batch a report lands in starts at id 5, so every one of them fails.
        match task.await.unwrap() {
            Err(StoreError::Storage(_)) => {}
            other => panic!("expected a storage failure, got {other:?}"),
        }
    }
    assert!(db.snapshot().await == before, "a failed batch left traces");

    db.raw_connection()
        .execute_batch("DROP TRIGGER injected_fault;")
        .unwrap();
    let after_repair = db.reported(CELL_1B, LITTER, "修复后上报", at(30)).await;
    assert_eq!(after_repair.id, CaseId(5));
    db.assert_verifies().await;
}
