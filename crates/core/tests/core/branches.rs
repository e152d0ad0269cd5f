//! Every branch beside the straight loop: reject, self-settle, rework, return, extension, long-term,
//! supervision, escalation and merge.

use onegrid_core::history::EventKind;
use onegrid_core::{CaseId, CaseState, Channel, Command, Handler, Stage, Tier, WorkflowError};

use crate::helpers::*;

/// A litter case in `CELL_1A`, dispatched to chengguan on Monday 2024-03-04 at 11:00 (handle stage
/// due Tuesday 11:30).
fn dispatched_litter(world: &World) -> Story<'_> {
    let mut story = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    story.step(DISPATCHER_1, accept(), "2024-03-04 10:30");
    story.step(DISPATCHER_1, dispatch("chengguan"), "2024-03-04 11:00");
    story
}

#[test]
fn reject_records_the_reason_and_ends_the_case() {
    let world = World::new();
    let mut story = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    story.step(
        DISPATCHER_1,
        reject("不属于城市管理范围"),
        "2024-03-04 10:20",
    );
    assert_eq!(story.case.state, CaseState::Rejected);
    assert!(story.case.state.is_final());
    assert_eq!(story.case.reason.as_deref(), Some("不属于城市管理范围"));
    assert_eq!(story.case.deadline, None);
    assert_eq!(story.kinds(), ["reported", "rejected"]);
    let err = story.refused(DISPATCHER_1, accept(), "2024-03-04 10:30");
    assert!(
        matches!(
            err,
            WorkflowError::IllegalTransition {
                state: CaseState::Rejected,
                ..
            }
        ),
        "{err:?}"
    );
    story.assert_history_consistent();
}

#[test]
fn grid_worker_settles_on_the_spot_and_a_dispatcher_verifies() {
    let world = World::new();
    let mut story = world.report(
        1,
        GRID_WANG,
        report_via(Channel::GridWorker, CELL_1B, LITTER),
        "2024-03-04 10:00",
    );
    assert_eq!(story.case.reporters[0].person, Some(person_id(GRID_WANG)));
    story.step(GRID_WANG, self_settle(), "2024-03-04 10:20");
    assert_eq!(story.case.state, CaseState::AwaitingVerification);
    assert_eq!(story.case.handler, Some(Handler::Grid));
    assert_eq!(story.case.feedback_by, Some(person_id(GRID_WANG)));
    assert_eq!(
        story.case.evidence,
        vec!["sha256:after-cleanup".to_string()]
    );
    // 4 h to verify: 10:20–12:00 (100 min) and 13:30–15:50 (140 min).
    let deadline = story.case.deadline.expect("verify stage running");
    assert_eq!(deadline.stage, Stage::Verify);
    assert_eq!(deadline.due_at, t("2024-03-04 15:50"));

    story.step(DISPATCHER_1, verify_pass(), "2024-03-04 11:00");
    story.step(DISPATCHER_1, close(), "2024-03-04 11:10");
    assert_eq!(story.case.state, CaseState::Closed);
    assert_eq!(
        story.kinds(),
        ["reported", "self_settled", "verified", "closed"]
    );
    story.assert_history_consistent();
}

#[test]
fn an_accepted_case_can_still_be_settled_in_the_grid() {
    let world = World::new();
    let mut story = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    story.step(DISPATCHER_1, accept(), "2024-03-04 10:10");
    story.step(GRID_LIU, self_settle(), "2024-03-04 10:40");
    assert_eq!(story.case.state, CaseState::AwaitingVerification);
    assert_eq!(story.case.handler, Some(Handler::Grid));
    // The other grid worker of the cell may verify it; the one who settled it may not.
    let err = story.refused(GRID_LIU, verify_pass(), "2024-03-04 11:00");
    assert!(matches!(err, WorkflowError::OutOfScope { .. }), "{err:?}");
    story.step(GRID_WANG, verify_pass(), "2024-03-04 11:00");
    assert_eq!(story.case.state, CaseState::Verified);
}

#[test]
fn failed_verification_sends_the_case_back_to_handling_as_rework() {
    let world = World::new();
    let mut story = dispatched_litter(&world);
    story.step(HANDLER_CHENGGUAN, feedback(), "2024-03-05 10:00");
    story.step(GRID_WANG, verify_fail("垃圾仍未清运"), "2024-03-05 11:00");
    assert_eq!(story.case.state, CaseState::Handling);
    assert_eq!(story.case.rework_count, 1);
    assert_eq!(story.case.reason.as_deref(), Some("垃圾仍未清运"));
    assert_eq!(
        story.case.handler,
        Some(Handler::Department(department("chengguan"))),
        "rework goes back to the same department"
    );
    let deadline = story.case.deadline.expect("handle stage running");
    assert_eq!(deadline.stage, Stage::Handle);
    assert_eq!(deadline.started_at, t("2024-03-05 11:00"));
    // 8 h from Tuesday 11:00: 1 h + 4.5 h on Tuesday, 2.5 h on Wednesday.
    assert_eq!(deadline.due_at, t("2024-03-06 11:30"));

    story.step(HANDLER_CHENGGUAN, feedback(), "2024-03-06 09:30");
    story.step(GRID_WANG, verify_fail("仍有残留"), "2024-03-06 10:00");
    assert_eq!(story.case.rework_count, 2);
    story.step(HANDLER_CHENGGUAN, feedback(), "2024-03-06 11:00");
    story.step(GRID_WANG, verify_pass(), "2024-03-06 11:30");
    assert_eq!(story.case.state, CaseState::Verified);
    assert_eq!(story.case.rework_count, 2, "passing keeps the count");
    story.assert_history_consistent();
}

#[test]
fn a_grid_settled_case_that_fails_verification_returns_to_the_grid_worker() {
    let world = World::new();
    let mut story = world.report(
        1,
        GRID_WANG,
        report_via(Channel::GridWorker, CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    story.step(GRID_WANG, self_settle(), "2024-03-04 10:20");
    story.step(
        DISPATCHER_1,
        verify_fail("现场仍有垃圾"),
        "2024-03-04 11:00",
    );
    assert_eq!(story.case.state, CaseState::Handling);
    assert_eq!(story.case.handler, Some(Handler::Grid));
    assert_eq!(story.case.rework_count, 1);
    assert_eq!(story.case.deadline.map(|d| d.stage), Some(Stage::Handle));
    // No department holds the case, so no handler may report back on it.
    let err = story.refused(HANDLER_CHENGGUAN, feedback(), "2024-03-04 11:10");
    assert!(matches!(err, WorkflowError::OutOfScope { .. }), "{err:?}");
    assert_mentions(&err, &["not assigned to a department"]);

    story.step(GRID_WANG, self_settle(), "2024-03-04 14:00");
    assert_eq!(story.case.state, CaseState::AwaitingVerification);
    assert_eq!(story.case.rework_count, 1);
    story.step(GRID_LIU, verify_pass(), "2024-03-04 15:00");
    assert_eq!(story.case.state, CaseState::Verified);
    assert_eq!(
        story.kinds(),
        [
            "reported",
            "self_settled",
            "verification_failed",
            "self_settled",
            "verified"
        ]
    );
    story.assert_history_consistent();
}

#[test]
fn a_department_returns_a_misrouted_case_to_the_dispatcher() {
    let world = World::new();
    let mut story = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    story.step(DISPATCHER_1, accept(), "2024-03-04 10:10");
    story.step(DISPATCHER_1, dispatch("zhujian"), "2024-03-04 10:20");
    story.step(
        HANDLER_ZHUJIAN,
        return_case("非住建职责"),
        "2024-03-04 14:00",
    );
    assert_eq!(story.case.state, CaseState::Accepted);
    assert_eq!(story.case.handler, None);
    assert_eq!(story.case.return_count, 1);
    assert_eq!(story.case.reason.as_deref(), Some("非住建职责"));
    let deadline = story.case.deadline.expect("dispatch stage running again");
    assert_eq!(deadline.stage, Stage::Dispatch);
    assert_eq!(deadline.started_at, t("2024-03-04 14:00"));
    assert_eq!(deadline.due_at, t("2024-03-04 15:00"));

    story.step(DISPATCHER_1, dispatch("chengguan"), "2024-03-04 14:30");
    let err = story.refused(HANDLER_ZHUJIAN, feedback(), "2024-03-04 15:00");
    assert!(matches!(err, WorkflowError::OutOfScope { .. }), "{err:?}");
    assert_mentions(&err, &["chengguan"]);
    story.step(HANDLER_CHENGGUAN, feedback(), "2024-03-04 16:00");
    assert_eq!(story.case.return_count, 1);
    assert_eq!(
        story.kinds(),
        [
            "reported",
            "accepted",
            "dispatched",
            "returned",
            "dispatched",
            "feedback_given"
        ]
    );
    story.assert_history_consistent();
}

#[test]
fn an_approved_extension_moves_the_due_time_by_its_hours_plus_the_time_waited() {
    let world = World::new();
    let mut story = dispatched_litter(&world);
    let original = story.case.deadline.expect("handle stage running");
    assert_eq!(original.due_at, t("2024-03-05 11:30"));

    story.step(HANDLER_CHENGGUAN, request_extension(8), "2024-03-04 15:00");
    let pending = story
        .case
        .pending_extension
        .clone()
        .expect("extension pending");
    assert_eq!(pending.hours, 8);
    assert_eq!(pending.requested_at, t("2024-03-04 15:00"));
    assert_eq!(pending.requested_by, person_id(HANDLER_CHENGGUAN));
    assert_eq!(
        story.case.deadline,
        Some(original),
        "requesting moves nothing"
    );
    let err = story.refused(HANDLER_CHENGGUAN, request_extension(4), "2024-03-04 16:00");
    assert_eq!(err, WorkflowError::ExtensionPending(CaseId(1)));

    let event = story.step(DISPATCHER_1, approve_extension(), "2024-03-05 10:00");
    // Waited 15:00–18:00 Monday and 09:00–10:00 Tuesday: 240 working minutes. The due time moves
    // by 8 h + 240 min = 720 min from Tuesday 11:30: 30 + 270 min on Tuesday, 180 min Wednesday
    // morning, then 240 min from 13:30.
    assert_eq!(
        event.kind,
        EventKind::ExtensionApproved {
            hours: 8,
            waited_minutes: 240,
            due_at: t("2024-03-06 17:30"),
        }
    );
    let deadline = story.case.deadline.expect("still handling");
    assert_eq!(deadline.due_at, t("2024-03-06 17:30"));
    assert_eq!(deadline.started_at, original.started_at);
    assert_eq!(deadline.limit_hours, 8, "the stage's own limit is kept");
    assert_eq!(deadline.stage, Stage::Handle);
    assert_eq!(story.case.pending_extension, None);
    assert_eq!(story.case.state, CaseState::Handling);
    let minutes = world
        .calendar()
        .working_minutes_between(original.due_at, deadline.due_at)
        .expect("2024 is covered");
    assert_eq!(minutes, 8 * 60 + 240);
    story.assert_history_consistent();
}

#[test]
fn a_denied_extension_keeps_the_deadline() {
    let world = World::new();
    let mut story = dispatched_litter(&world);
    let original = story.case.deadline;
    story.step(HANDLER_CHENGGUAN, request_extension(16), "2024-03-04 15:00");
    story.step(COMMANDER, deny_extension("可当日完成"), "2024-03-04 16:00");
    assert_eq!(story.case.pending_extension, None);
    assert_eq!(story.case.deadline, original);
    assert_eq!(story.case.reason.as_deref(), Some("可当日完成"));
    let err = story.refused(DISPATCHER_1, approve_extension(), "2024-03-04 16:10");
    assert_eq!(err, WorkflowError::NoExtensionPending(CaseId(1)));
    // A new request after a denial is allowed.
    story.step(HANDLER_CHENGGUAN, request_extension(4), "2024-03-04 16:20");
    assert!(story.case.pending_extension.is_some());
    story.assert_history_consistent();
}

#[test]
fn long_term_stops_the_clock_and_resuming_starts_a_fresh_handle_stage() {
    let world = World::new();
    let mut story = dispatched_litter(&world);
    story.step(HANDLER_CHENGGUAN, request_extension(40), "2024-03-04 14:00");
    story.step(
        DISPATCHER_1,
        set_long_term("需纳入年度改造计划"),
        "2024-03-04 15:00",
    );
    assert_eq!(story.case.state, CaseState::LongTerm);
    assert_eq!(story.case.deadline, None);
    assert_eq!(
        story.case.pending_extension, None,
        "a pending extension lapses with the running deadline"
    );
    let err = story.refused(HANDLER_CHENGGUAN, feedback(), "2024-03-05 10:00");
    assert!(
        matches!(
            err,
            WorkflowError::IllegalTransition {
                state: CaseState::LongTerm,
                ..
            }
        ),
        "{err:?}"
    );
    story.step(DISPATCHER_1, resume(), "2024-05-06 09:00");
    assert_eq!(story.case.state, CaseState::Handling);
    let deadline = story.case.deadline.expect("handle stage running");
    assert_eq!(deadline.stage, Stage::Handle);
    assert_eq!(deadline.started_at, t("2024-05-06 09:00"));
    // 7.5 h on Monday 6 May (after the 1–5 May holiday), the last 30 min on Tuesday.
    assert_eq!(deadline.due_at, t("2024-05-07 09:30"));
    assert_eq!(
        story.case.handler,
        Some(Handler::Department(department("chengguan")))
    );
    story.step(HANDLER_CHENGGUAN, feedback(), "2024-05-06 16:00");
    assert_eq!(story.case.state, CaseState::AwaitingVerification);
    story.assert_history_consistent();
}

#[test]
fn supervision_notices_are_counted_and_change_no_state() {
    let world = World::new();
    let mut story = dispatched_litter(&world);
    let before = story.case.clone();
    story.step(
        COMMANDER,
        supervise("请于今日内处置完毕"),
        "2024-03-05 09:00",
    );
    assert_eq!(story.case.supervision_count, 1);
    assert_eq!(story.case.state, before.state);
    assert_eq!(story.case.deadline, before.deadline);
    assert_eq!(story.case.handler, before.handler);
    story.step(SUPERVISOR, supervise("督查：再次督办"), "2024-03-05 09:30");
    assert_eq!(story.case.supervision_count, 2);
    assert_eq!(story.case.state, CaseState::Handling);

    let err = story.refused(DISPATCHER_1, supervise("受理员督办"), "2024-03-05 10:00");
    assert!(
        matches!(err, WorkflowError::RoleNotAllowed { .. }),
        "{err:?}"
    );
    let err = story.refused(COMMANDER, supervise("  "), "2024-03-05 10:00");
    assert!(
        matches!(err, WorkflowError::InvalidInput { field: "note", .. }),
        "{err:?}"
    );
    story.assert_history_consistent();
}

#[test]
fn supervision_of_a_closed_case_is_refused() {
    let world = World::new();
    let mut story = dispatched_litter(&world);
    story.step(HANDLER_CHENGGUAN, feedback(), "2024-03-04 14:00");
    story.step(GRID_WANG, verify_pass(), "2024-03-04 15:00");
    story.step(DISPATCHER_1, close(), "2024-03-04 16:00");
    let err = story.refused(COMMANDER, supervise("督办"), "2024-03-05 10:00");
    assert!(
        matches!(
            err,
            WorkflowError::IllegalTransition {
                state: CaseState::Closed,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn escalation_moves_up_one_tier_at_a_time_and_joins_departments() {
    let world = World::new();
    let mut story = dispatched_litter(&world);
    assert_eq!(story.case.tier, Tier::Grid);

    story.step(
        DISPATCHER_1,
        escalate(Tier::Street, &["zhujian"]),
        "2024-03-04 14:00",
    );
    assert_eq!(story.case.tier, Tier::Street);
    assert_eq!(story.case.co_departments, vec![department("zhujian")]);
    assert_eq!(
        story.case.state,
        CaseState::Handling,
        "escalation keeps the state"
    );

    // Street → district is the command center's decision.
    let err = story.refused(
        DISPATCHER_1,
        escalate(Tier::District, &[]),
        "2024-03-04 14:30",
    );
    assert!(matches!(err, WorkflowError::OutOfScope { .. }), "{err:?}");
    assert_mentions(&err, &["command center", "区级联动"]);

    story.step(
        COMMANDER,
        escalate(Tier::District, &["yingji", "chengguan", "zhujian"]),
        "2024-03-04 15:00",
    );
    assert_eq!(story.case.tier, Tier::District);
    assert_eq!(
        story.case.co_departments,
        vec![department("zhujian"), department("yingji")],
        "co-handlers are added once, and the lead department is not its own co-handler"
    );

    let err = story.refused(COMMANDER, escalate(Tier::Street, &[]), "2024-03-04 15:30");
    assert_eq!(
        err,
        WorkflowError::TierNotHigher {
            case_id: CaseId(1),
            from: Tier::District,
            to: Tier::Street,
        }
    );
    assert_mentions(&err, &["district", "street", "only moves up"]);
    let err = story.refused(COMMANDER, escalate(Tier::District, &[]), "2024-03-04 15:30");
    assert!(
        matches!(err, WorkflowError::TierNotHigher { .. }),
        "{err:?}"
    );
    story.assert_history_consistent();
}

#[test]
fn a_grid_case_can_go_straight_to_district_joint_handling_by_the_command_center() {
    let world = World::new();
    let mut story = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_2A, LITTER),
        "2024-03-04 10:00",
    );
    let err = story.refused(
        DISPATCHER_2,
        escalate(Tier::District, &[]),
        "2024-03-04 10:05",
    );
    assert!(matches!(err, WorkflowError::OutOfScope { .. }), "{err:?}");
    story.step(
        COMMANDER,
        escalate(Tier::District, &["yingji"]),
        "2024-03-04 10:10",
    );
    assert_eq!(story.case.tier, Tier::District);
    assert_eq!(story.case.state, CaseState::Reported);
    // Accepting keeps the higher tier even though the category's default is grid.
    story.step(DISPATCHER_2, accept(), "2024-03-04 10:20");
    assert_eq!(story.case.tier, Tier::District);
    story.step(DISPATCHER_2, dispatch("chengguan"), "2024-03-04 10:30");
    assert_eq!(story.case.co_departments, vec![department("yingji")]);
    story.assert_history_consistent();
}

#[test]
fn merge_keeps_every_reporter_on_the_target() {
    let world = World::new();
    let mut target = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    let mut zhao_report = report_in(CELL_1A, LITTER);
    zhao_report.reporter.name = Some("赵强".to_string());
    let mut source = world.report(2, CITIZEN_ZHAO, zhao_report, "2024-03-04 10:05");
    target.step(DISPATCHER_1, accept(), "2024-03-04 10:10");

    world.merge(&mut source, &mut target, DISPATCHER_1, "2024-03-04 10:20");
    assert_eq!(source.case.state, CaseState::Merged);
    assert_eq!(source.case.merged_into, Some(CaseId(1)));
    assert_eq!(source.case.deadline, None);
    assert_eq!(source.kinds(), ["reported", "merged_into"]);
    assert_eq!(
        target.case.state,
        CaseState::Accepted,
        "the target keeps its state"
    );
    assert_eq!(target.case.merged_from, vec![CaseId(2)]);
    assert_eq!(
        target.kinds(),
        ["reported", "accepted", "duplicate_absorbed"]
    );
    let reporters: Vec<_> = target
        .case
        .reporters
        .iter()
        .map(|r| r.person.clone())
        .collect();
    assert_eq!(
        reporters,
        vec![Some(person_id(CITIZEN_LI)), Some(person_id(CITIZEN_ZHAO))]
    );
    source.assert_history_consistent();
    target.assert_history_consistent();

    // Both reporters may rate the merged result; the duplicate itself takes no more commands.
    target.step(DISPATCHER_1, dispatch("chengguan"), "2024-03-04 10:30");
    target.step(HANDLER_CHENGGUAN, feedback(), "2024-03-04 14:00");
    target.step(GRID_WANG, verify_pass(), "2024-03-04 15:00");
    target.step(DISPATCHER_1, close(), "2024-03-04 16:00");
    assert!(target
        .try_step(CITIZEN_LI, &rate(4), "2024-03-05 09:00")
        .is_ok());
    target.step(CITIZEN_ZHAO, rate(4), "2024-03-05 09:00");
    let err = source.refused(DISPATCHER_1, accept(), "2024-03-05 09:00");
    assert!(
        matches!(
            err,
            WorkflowError::IllegalTransition {
                state: CaseState::Merged,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn merging_a_case_that_reported_twice_keeps_one_reporter_entry() {
    let world = World::new();
    let mut target = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    let mut source = world.report(
        2,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:05",
    );
    world.merge(&mut source, &mut target, COMMANDER, "2024-03-04 10:20");
    assert_eq!(target.case.reporters.len(), 1);
    assert_eq!(target.case.merged_from, vec![CaseId(2)]);
}

#[test]
fn merging_into_a_final_case_or_into_itself_is_refused() {
    let world = World::new();
    let mut closed = dispatched_litter(&world);
    closed.step(HANDLER_CHENGGUAN, feedback(), "2024-03-04 14:00");
    closed.step(GRID_WANG, verify_pass(), "2024-03-04 15:00");
    closed.step(DISPATCHER_1, close(), "2024-03-04 16:00");
    let source = world.report(
        2,
        CITIZEN_ZHAO,
        report_in(CELL_1A, LITTER),
        "2024-03-04 16:30",
    );
    let source_before = source.case.clone();
    let closed_before = closed.case.clone();

    let err = world
        .try_merge(&source, &closed, DISPATCHER_1, "2024-03-04 17:00")
        .expect_err("a closed target is refused");
    assert!(
        matches!(
            err,
            WorkflowError::BadMerge {
                source_id: CaseId(2),
                target: CaseId(1),
                ..
            }
        ),
        "{err:?}"
    );
    assert_mentions(&err, &["closed", "已结案"]);

    let err = world
        .try_merge(&source, &source, DISPATCHER_1, "2024-03-04 17:00")
        .expect_err("a case cannot absorb itself");
    assert!(matches!(err, WorkflowError::BadMerge { .. }), "{err:?}");
    assert_mentions(&err, &["into itself"]);

    let err = source.refused(
        DISPATCHER_1,
        Command::MergeInto { target: CaseId(2) },
        "2024-03-04 17:00",
    );
    assert!(matches!(err, WorkflowError::BadMerge { .. }), "{err:?}");

    // The other half of a merge is not a command anyone may give on its own.
    let err = closed.refused(
        DISPATCHER_1,
        Command::AbsorbDuplicate { source: CaseId(2) },
        "2024-03-04 17:00",
    );
    assert!(
        matches!(
            err,
            WorkflowError::IllegalTransition { .. } | WorkflowError::InvalidInput { .. }
        ),
        "{err:?}"
    );
    assert_eq!(source.case, source_before);
    assert_eq!(closed.case, closed_before);
}

#[test]
fn a_merge_needs_rights_on_both_cases() {
    let world = World::new();
    let target = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_2A, LITTER),
        "2024-03-04 10:00",
    );
    let source = world.report(
        2,
        CITIZEN_ZHAO,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:05",
    );
    // Street 1's dispatcher holds the duplicate but not the target in street 2.
    let err = world
        .try_merge(&source, &target, DISPATCHER_1, "2024-03-04 10:20")
        .expect_err("target out of scope");
    assert!(
        matches!(
            err,
            WorkflowError::OutOfScope {
                command: "absorb_duplicate",
                ..
            }
        ),
        "{err:?}"
    );
    assert_mentions(&err, &[CELL_2A]);
    let err = world
        .try_merge(&source, &target, GRID_WANG, "2024-03-04 10:20")
        .expect_err("grid workers do not merge");
    assert!(
        matches!(err, WorkflowError::RoleNotAllowed { .. }),
        "{err:?}"
    );
    // The command center may merge anywhere in the district.
    assert!(world
        .try_merge(&source, &target, COMMANDER, "2024-03-04 10:20")
        .is_ok());
}

#[test]
fn a_citizen_follows_and_rates_only_their_own_case() {
    let world = World::new();
    let mut story = dispatched_litter(&world);
    story.step(HANDLER_CHENGGUAN, feedback(), "2024-03-04 14:00");
    story.step(GRID_WANG, verify_pass(), "2024-03-04 15:00");
    story.step(DISPATCHER_1, close(), "2024-03-04 16:00");
    let err = story.refused(CITIZEN_ZHAO, rate(1), "2024-03-04 17:00");
    assert!(matches!(err, WorkflowError::OutOfScope { .. }), "{err:?}");
    // A follow-up call (回访) by the dispatcher may record the rating instead.
    story.step(DISPATCHER_1, rate(4), "2024-03-04 17:00");
    assert_eq!(story.case.rating.as_ref().map(|r| r.score), Some(4));
}

/// The UI's buttons come from `allowed_commands`, which must agree with `apply`.
#[test]
fn allowed_commands_lists_what_each_role_may_do_now() {
    let world = World::new();
    let story = dispatched_litter(&world);
    let now = t("2024-03-04 14:00");
    let allowed = |who: &str| {
        onegrid_core::workflow::allowed_commands(
            &world.rules(),
            &story.case,
            &world.actor(who),
            now,
        )
    };
    assert_eq!(
        allowed(HANDLER_CHENGGUAN),
        ["return", "feedback", "request_extension"]
    );
    assert!(allowed(HANDLER_JIEDAO).is_empty());
    assert_eq!(
        allowed(DISPATCHER_1),
        ["set_long_term", "escalate", "merge_into"]
    );
    assert!(allowed(DISPATCHER_2).is_empty());
    assert_eq!(
        allowed(COMMANDER),
        ["set_long_term", "supervise", "escalate", "merge_into"]
    );
    assert_eq!(allowed(SUPERVISOR), ["supervise"]);
    assert!(allowed(CITIZEN_LI).is_empty());
}
