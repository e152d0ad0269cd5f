//! 合并: a duplicate and its target change together, and the target keeps every reporter.

use std::sync::Arc;

use onegrid_core::{CaseState, Channel, EventKind, WorkflowError};
use onegrid_store::{Store, StoreError};

use crate::fixture::*;

#[tokio::test]
async fn merge_changes_both_cases_at_once_and_keeps_every_reporter() {
    let db = TestDb::new().await;
    let by_citizen = new_report(Channel::Citizen, CELL_1A, LITTER, "小区门口垃圾");
    let first = db.report(CITIZEN, by_citizen.clone(), at(0)).await.unwrap();
    let second = db.report(CITIZEN_2, by_citizen, at(5)).await.unwrap();
    let target = db.reported(CELL_1A, LITTER, "门口垃圾堆", at(10)).await;
    let target = db.walk(target.id, [(DISPATCHER_1, accept())], 20).await;

    let (source, merged_target) = db
        .merge(DISPATCHER_1, first.id, target.id, at(30))
        .await
        .unwrap();
    assert_eq!(source.state, CaseState::Merged);
    assert_eq!(source.merged_into, Some(target.id));
    assert_eq!(source.version, first.version + 1);
    assert_eq!(merged_target.state, CaseState::Accepted);
    assert_eq!(merged_target.merged_from, vec![first.id]);
    assert_eq!(merged_target.version, target.version + 1);
    // Both halves are stored, with matching events written at the same moment.
    assert_eq!(db.store.case(first.id).await.unwrap(), source);
    assert_eq!(db.store.case(target.id).await.unwrap(), merged_target);
    let source_history = db.store.history(first.id).await.unwrap();
    let target_history = db.store.history(target.id).await.unwrap();
    let source_event = source_history.last().unwrap();
    let target_event = target_history.last().unwrap();
    assert_eq!(
        source_event.kind,
        EventKind::MergedInto { target: target.id }
    );
    assert!(
        matches!(&target_event.kind, EventKind::DuplicateAbsorbed { source, .. } if *source == first.id)
    );
    assert_eq!(source_event.at, target_event.at);

    let (_, merged_target) = db
        .merge(DISPATCHER_1, second.id, target.id, at(40))
        .await
        .unwrap();
    let reporters: Vec<_> = merged_target
        .reporters
        .iter()
        .map(|reporter| reporter.person.clone())
        .collect();
    assert_eq!(
        reporters,
        vec![
            Some(person_id(GRID_WORKER_1)),
            Some(person_id(CITIZEN)),
            Some(person_id(CITIZEN_2)),
        ]
    );
    assert_eq!(merged_target.merged_from, vec![first.id, second.id]);

    // Keeping the reporters matters: the duplicate's reporter may rate the target's result.
    db.walk(
        target.id,
        [
            (DISPATCHER_1, dispatch()),
            (HANDLER_CHENGGUAN, feedback("已清运")),
            (GRID_WORKER_1, verify_passed()),
            (DISPATCHER_1, close()),
            (CITIZEN_2, rate(5)),
        ],
        50,
    )
    .await;
    db.assert_verifies().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merging_a_pair_both_ways_at_once_has_one_winner() {
    let db = Arc::new(TestDb::new().await);
    for round in 0..10 {
        let left = db.reported(CELL_2A, LITTER, "左", at(round)).await.id;
        let right = db.reported(CELL_2A, LITTER, "右", at(round)).await.id;
        let both_ways = [(left, right), (right, left)].map(|(source, target)| {
            let db = db.clone();
            tokio::spawn(async move { db.merge(DISPATCHER_2, source, target, at(100)).await })
        });
        let mut results = Vec::new();
        for task in both_ways {
            results.push(task.await.unwrap());
        }
        let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:#?}");
        let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert!(
            matches!(loser, StoreError::Workflow(WorkflowError::BadMerge { .. })),
            "round {round}: {loser:?}"
        );
        let (source, target) = winners[0];
        assert_eq!(&db.store.case(source.id).await.unwrap(), source);
        assert_eq!(&db.store.case(target.id).await.unwrap(), target);
        assert_eq!(target.state, CaseState::Reported);
    }
    db.assert_verifies().await;
}
