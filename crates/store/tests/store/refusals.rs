//! A refused write changes nothing: the caller gets a typed error naming the problem, and every
//! read of the database shows what it showed before.

use onegrid_core::{CaseId, CaseState, Channel, Command, Role, WorkflowError};
use onegrid_store::{Store, StoreError};

use crate::fixture::*;

/// Cases in the states the refusals need.
struct Cases {
    reported: CaseId,
    handling: CaseId,
    closed: CaseId,
    rated: CaseId,
    self_settled: CaseId,
}

async fn cases_in_several_states(db: &TestDb) -> Cases {
    let reported = db.reported(CELL_1A, LITTER, "暴露垃圾", at(0)).await.id;
    let handling = db.reported(CELL_1B, LITTER, "道路不洁", at(1)).await.id;
    db.walk(
        handling,
        [(DISPATCHER_1, accept()), (DISPATCHER_1, dispatch())],
        10,
    )
    .await;
    let citizen_report = || new_report(Channel::Citizen, CELL_1A, LITTER, "垃圾没人收");
    let closed = db
        .report(CITIZEN, citizen_report(), at(2))
        .await
        .expect("the citizen's report is accepted")
        .id;
    db.close_loop(closed, 20).await;
    let rated = db
        .report(CITIZEN, citizen_report(), at(3))
        .await
        .expect("the citizen's report is accepted")
        .id;
    db.close_loop(rated, 30).await;
    db.act(CITIZEN, rated, rate(4), at(90))
        .await
        .expect("the reporter may rate the closed case");
    let self_settled = db.reported(CELL_2A, LITTER, "纸屑", at(4)).await.id;
    let settle = Command::SelfSettle {
        evidence: vec!["photo:扫净".to_string()],
        note: "已清扫".to_string(),
    };
    db.act(GRID_WORKER_2, self_settled, settle, at(40))
        .await
        .expect("the grid worker may settle it");
    Cases {
        reported,
        handling,
        closed,
        rated,
        self_settled,
    }
}

fn workflow(check: impl Fn(&WorkflowError) -> bool) -> impl Fn(&StoreError) -> bool {
    move |error| matches!(error, StoreError::Workflow(inner) if check(inner))
}

#[tokio::test]
async fn refused_reports_change_nothing_and_use_up_no_id() {
    let db = TestDb::new().await;
    let first = db.reported(CELL_1A, LITTER, "暴露垃圾", at(0)).await;
    let by_grid_worker = |cell: &str, category: &str| {
        db.report(
            GRID_WORKER_1,
            new_report(Channel::GridWorker, cell, category, "标题"),
            at(5),
        )
    };

    check_refused(
        &db,
        by_grid_worker(CELL_1A, "S9999"),
        workflow(|e| matches!(e, WorkflowError::UnknownCategory(code) if code == "S9999")),
        &["unknown category S9999"],
    )
    .await;
    check_refused(
        &db,
        by_grid_worker("120110001009001", LITTER),
        workflow(|e| matches!(e, WorkflowError::UnknownArea(_))),
        &["120110001009001", "not in the area tree"],
    )
    .await;
    check_refused(
        &db,
        by_grid_worker(COMMUNITY_1, LITTER),
        workflow(|e| matches!(e, WorkflowError::NotACell { .. })),
        &[COMMUNITY_1, "community", "grid cell"],
    )
    .await;
    check_refused(
        &db,
        by_grid_worker(CELL_2A, LITTER),
        workflow(|e| matches!(e, WorkflowError::InvalidInput { field: "cell", .. })),
        &[CELL_2A, "outside", GRID_WORKER_1],
    )
    .await;
    check_refused(
        &db,
        db.report(
            SUPERVISOR,
            new_report(Channel::Desk, CELL_1A, LITTER, "督查上报"),
            at(5),
        ),
        workflow(|e| {
            matches!(
                e,
                WorkflowError::RoleNotAllowed {
                    role: Role::Supervisor,
                    command: "report"
                }
            )
        }),
        &["supervisor may not report"],
    )
    .await;
    check_refused(
        &db,
        db.report(
            CITIZEN,
            new_report(Channel::Police110, CELL_1A, LITTER, "冒充110"),
            at(5),
        ),
        workflow(|e| {
            matches!(
                e,
                WorkflowError::InvalidInput {
                    field: "channel",
                    ..
                }
            )
        }),
        &["citizen", "police_110"],
    )
    .await;
    check_refused(
        &db,
        db.report(
            CITIZEN,
            new_report(Channel::Citizen, CELL_1A, LITTER, "   "),
            at(5),
        ),
        workflow(|e| matches!(e, WorkflowError::InvalidInput { field: "title", .. })),
        &["title", "empty"],
    )
    .await;

    // None of the refusals took an id.
    let next = db.reported(CELL_1B, LITTER, "又一处垃圾", at(10)).await;
    assert_eq!(next.id, CaseId(first.id.0 + 1));
    db.assert_verifies().await;
}

#[tokio::test]
async fn refused_commands_change_nothing() {
    let db = TestDb::new().await;
    let cases = cases_in_several_states(&db).await;

    // Illegal transitions.
    check_refused(
        &db,
        db.act(DISPATCHER_1, cases.reported, dispatch(), at(100)),
        workflow(|e| {
            matches!(
                e,
                WorkflowError::IllegalTransition {
                    command: "dispatch",
                    state: CaseState::Reported,
                    ..
                }
            )
        }),
        &["cannot dispatch case 1", "reported"],
    )
    .await;
    check_refused(
        &db,
        db.act(DISPATCHER_1, cases.closed, accept(), at(100)),
        workflow(|e| {
            matches!(
                e,
                WorkflowError::IllegalTransition {
                    command: "accept",
                    ..
                }
            )
        }),
        &["cannot accept", "closed"],
    )
    .await;
    check_refused(
        &db,
        db.act(
            DISPATCHER_1,
            cases.reported,
            Command::Report {
                id: cases.reported,
                report: Box::new(new_report(Channel::Desk, CELL_1A, LITTER, "重报")),
            },
            at(100),
        ),
        workflow(|e| matches!(e, WorkflowError::AlreadyReported(_))),
        &["already exists"],
    )
    .await;

    // Unknown category.
    check_refused(
        &db,
        db.act(
            DISPATCHER_1,
            cases.reported,
            Command::Accept {
                category: Some(category("B9999")),
            },
            at(100),
        ),
        workflow(|e| matches!(e, WorkflowError::UnknownCategory(code) if code == "B9999")),
        &["unknown category B9999"],
    )
    .await;

    // Out of scope: another street's dispatcher, another department's handler, a stranger citizen,
    // and verifying one's own work.
    check_refused(
        &db,
        db.act(DISPATCHER_2, cases.reported, accept(), at(100)),
        workflow(|e| {
            matches!(
                e,
                WorkflowError::OutOfScope {
                    command: "accept",
                    ..
                }
            )
        }),
        &[DISPATCHER_2, CELL_1A, "outside their area"],
    )
    .await;
    check_refused(
        &db,
        db.act(
            HANDLER_SHUIWU,
            cases.handling,
            feedback("不是我们的"),
            at(100),
        ),
        workflow(|e| {
            matches!(
                e,
                WorkflowError::OutOfScope {
                    command: "feedback",
                    ..
                }
            )
        }),
        &[HANDLER_SHUIWU, "chengguan"],
    )
    .await;
    check_refused(
        &db,
        db.act(CITIZEN_2, cases.closed, rate(1), at(100)),
        workflow(|e| {
            matches!(
                e,
                WorkflowError::OutOfScope {
                    command: "rate",
                    ..
                }
            )
        }),
        &[CITIZEN_2, "did not report"],
    )
    .await;
    check_refused(
        &db,
        db.act(GRID_WORKER_2, cases.self_settled, verify_passed(), at(100)),
        workflow(|e| {
            matches!(
                e,
                WorkflowError::OutOfScope {
                    command: "verify",
                    ..
                }
            )
        }),
        &["feedback themselves"],
    )
    .await;

    // Roles that may not give the command at all.
    check_refused(
        &db,
        db.act(CITIZEN, cases.reported, accept(), at(100)),
        workflow(|e| {
            matches!(
                e,
                WorkflowError::RoleNotAllowed {
                    role: Role::Citizen,
                    command: "accept"
                }
            )
        }),
        &["citizen may not accept"],
    )
    .await;
    check_refused(
        &db,
        db.act(ADMIN, cases.handling, supervise("催办"), at(100)),
        workflow(|e| {
            matches!(
                e,
                WorkflowError::RoleNotAllowed {
                    role: Role::Admin,
                    ..
                }
            )
        }),
        &["admin may not supervise"],
    )
    .await;

    // Ratings: out of range, and twice.
    for score in [0, 6] {
        check_refused(
            &db,
            db.act(CITIZEN, cases.closed, rate(score), at(100)),
            workflow(|e| matches!(e, WorkflowError::InvalidInput { field: "score", .. })),
            &[&format!("{score} is out of range"), "1 to 5"],
        )
        .await;
    }
    check_refused(
        &db,
        db.act(CITIZEN, cases.rated, rate(5), at(100)),
        workflow(|e| matches!(e, WorkflowError::AlreadyRated(id) if *id == cases.rated)),
        &["already been rated"],
    )
    .await;

    // A stale version.
    let handling = db.store.case(cases.handling).await.unwrap();
    check_refused(
        &db,
        db.act_at_version(
            COMMANDER,
            cases.handling,
            handling.version - 1,
            supervise("催办"),
            at(100),
        ),
        |e| {
            matches!(e, StoreError::VersionConflict { id, expected, actual }
                if *id == cases.handling && *expected == handling.version - 1 && *actual == handling.version)
        },
        &[
            &format!("version {}", handling.version - 1),
            &format!("now at version {}", handling.version),
        ],
    )
    .await;

    // An unknown case.
    check_refused(
        &db,
        db.act(COMMANDER, CaseId(999), supervise("催办"), at(100)),
        |e| matches!(e, StoreError::CaseNotFound(CaseId(999))),
        &["case 999 does not exist"],
    )
    .await;
    check_refused(
        &db,
        db.store.case(CaseId(999)),
        |e| matches!(e, StoreError::CaseNotFound(CaseId(999))),
        &["case 999"],
    )
    .await;
    check_refused(
        &db,
        db.store.history(CaseId(999)),
        |e| matches!(e, StoreError::CaseNotFound(CaseId(999))),
        &["case 999"],
    )
    .await;

    // Either half of a merge given through act: a merge must change both cases at once.
    let through_act = |e: &StoreError| {
        matches!(
            e,
            StoreError::Workflow(WorkflowError::InvalidInput {
                field: "command",
                ..
            })
        )
    };
    check_refused(
        &db,
        db.act(
            DISPATCHER_1,
            cases.reported,
            Command::MergeInto {
                target: cases.handling,
            },
            at(100),
        ),
        through_act,
        &["merge"],
    )
    .await;
    check_refused(
        &db,
        db.act(
            DISPATCHER_1,
            cases.handling,
            Command::AbsorbDuplicate {
                source: cases.reported,
            },
            at(100),
        ),
        through_act,
        &["merge"],
    )
    .await;

    db.assert_verifies().await;
}

#[tokio::test]
async fn refused_merges_change_nothing() {
    let db = TestDb::new().await;
    let cases = cases_in_several_states(&db).await;
    let bad_merge =
        |e: &StoreError| matches!(e, StoreError::Workflow(WorkflowError::BadMerge { .. }));

    check_refused(
        &db,
        db.merge(DISPATCHER_1, cases.reported, cases.reported, at(100)),
        bad_merge,
        &["cannot merge case 1 into 1", "into itself"],
    )
    .await;
    check_refused(
        &db,
        db.merge(DISPATCHER_1, cases.reported, cases.closed, at(100)),
        bad_merge,
        &[&format!("into {}", cases.closed), "closed"],
    )
    .await;
    check_refused(
        &db,
        db.merge(DISPATCHER_1, cases.closed, cases.reported, at(100)),
        workflow(|e| {
            matches!(
                e,
                WorkflowError::IllegalTransition {
                    command: "merge_into",
                    ..
                }
            )
        }),
        &["cannot merge_into", "closed"],
    )
    .await;
    check_refused(
        &db,
        db.merge(DISPATCHER_1, CaseId(999), cases.reported, at(100)),
        |e| matches!(e, StoreError::CaseNotFound(CaseId(999))),
        &["case 999"],
    )
    .await;
    check_refused(
        &db,
        db.merge(DISPATCHER_1, cases.reported, CaseId(999), at(100)),
        |e| matches!(e, StoreError::CaseNotFound(CaseId(999))),
        &["case 999"],
    )
    .await;
    check_refused(
        &db,
        db.merge(CITIZEN, cases.reported, cases.handling, at(100)),
        workflow(|e| {
            matches!(
                e,
                WorkflowError::RoleNotAllowed {
                    role: Role::Citizen,
                    ..
                }
            )
        }),
        &["citizen may not merge_into"],
    )
    .await;
    // The source is in the dispatcher's street, the target is not.
    check_refused(
        &db,
        db.merge(DISPATCHER_1, cases.reported, cases.self_settled, at(100)),
        workflow(|e| {
            matches!(
                e,
                WorkflowError::OutOfScope {
                    command: "absorb_duplicate",
                    ..
                }
            )
        }),
        &[DISPATCHER_1, CELL_2A],
    )
    .await;

    db.assert_verifies().await;
}
