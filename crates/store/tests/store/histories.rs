//! `histories(from, to)`: the complete histories of exactly the cases reported in the window.

use onegrid_core::CaseId;
use onegrid_store::Store;

use crate::fixture::*;

#[tokio::test]
async fn histories_hold_exactly_the_cases_reported_in_the_window() {
    let db = TestDb::new().await;
    // Reported at 0, 60, 120, 180 and 240 minutes; everything acted on long after the window.
    for (n, cell) in CELLS.iter().cycle().take(5).enumerate() {
        db.reported(cell, LITTER, &format!("垃圾 {n}"), at(60 * n as i64))
            .await;
    }
    db.close_loop(CaseId(2), 1_000).await;
    db.act(COMMANDER, CaseId(3), supervise("尽快处理"), at(1_100))
        .await
        .unwrap();

    let check = |from: i64, to: i64, expected: Vec<u64>| {
        let db = &db;
        async move {
            let histories = db.store.histories(at(from), at(to)).await.unwrap();
            let ids: Vec<u64> = histories
                .iter()
                .map(|history| history[0].case_id.0)
                .collect();
            assert_eq!(ids, expected, "window [{from}, {to})");
            for history in histories {
                let id = history[0].case_id;
                assert!(history.iter().all(|event| event.case_id == id));
                // Complete and in order: the same as the case's own history, acts after the
                // window included.
                assert_eq!(history, db.store.history(id).await.unwrap());
            }
        }
    };
    // The start is inclusive, the end exclusive.
    check(60, 180, vec![2, 3]).await;
    check(59, 181, vec![2, 3, 4]).await;
    check(0, 241, vec![1, 2, 3, 4, 5]).await;
    check(61, 119, vec![]).await;
    check(300, 10_000, vec![]).await;
    check(180, 60, vec![]).await;

    let second = db.store.histories(at(60), at(61)).await.unwrap();
    assert_eq!(second[0].len(), 6, "report plus the five steps of the loop");
    let seqs: Vec<u64> = second[0].iter().map(|event| event.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
}
