//! Bad input and missing rights: each refusal is a specific `WorkflowError` variant whose message
//! names the problem, and nothing changes.

use onegrid_core::calendar::CalendarError;
use onegrid_core::{
    apply, AreaLevel, CaseId, CaseState, Channel, Command, GeoPoint, Role, WorkflowError,
};

use crate::helpers::*;

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

fn closed_litter(world: &World) -> Story<'_> {
    let mut story = dispatched_litter(world);
    story.step(HANDLER_CHENGGUAN, feedback(), "2024-03-04 14:00");
    story.step(GRID_WANG, verify_pass(), "2024-03-04 15:00");
    story.step(DISPATCHER_1, close(), "2024-03-04 16:00");
    story
}

/// Reports `report` as `who`, expecting a refusal.
fn refused_report(world: &World, who: &str, report: onegrid_core::NewReport) -> WorkflowError {
    world
        .try_report(1, who, report, "2024-03-04 10:00")
        .expect_err("the report should be refused")
}

#[test]
fn closing_a_reported_case_is_an_illegal_transition_naming_the_state() {
    let world = World::new();
    let story = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    let err = story.refused(DISPATCHER_1, close(), "2024-03-04 10:30");
    assert_eq!(
        err,
        WorkflowError::IllegalTransition {
            case_id: CaseId(1),
            command: "close",
            state: CaseState::Reported,
            state_zh: "已上报",
        }
    );
    assert_mentions(&err, &["close", "case 1", "reported", "已上报"]);

    let err = story.refused(HANDLER_CHENGGUAN, feedback(), "2024-03-04 10:30");
    assert!(
        matches!(err, WorkflowError::OutOfScope { .. }),
        "scope is checked before state: {err:?}"
    );
    let err = story.refused(CITIZEN_LI, rate(5), "2024-03-04 10:30");
    assert!(
        matches!(
            err,
            WorkflowError::IllegalTransition {
                command: "rate",
                state: CaseState::Reported,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_role_without_the_right_is_refused_whatever_the_case() {
    let world = World::new();
    let story = dispatched_litter(&world);
    let cases = [
        (CITIZEN_LI, dispatch("jiedao"), Role::Citizen, "dispatch"),
        (GRID_WANG, feedback(), Role::GridWorker, "feedback"),
        (HANDLER_CHENGGUAN, close(), Role::DepartmentHandler, "close"),
        (
            SUPERVISOR,
            set_long_term("x"),
            Role::Supervisor,
            "set_long_term",
        ),
        (ADMIN, verify_pass(), Role::Admin, "verify"),
        (INTEGRATOR, accept(), Role::Integrator, "accept"),
        (DISPATCHER_1, self_settle(), Role::Dispatcher, "self_settle"),
        (
            COMMANDER,
            request_extension(8),
            Role::Commander,
            "request_extension",
        ),
    ];
    for (who, command, role, name) in cases {
        let err = story.refused(who, command, "2024-03-04 14:00");
        assert_eq!(
            err,
            WorkflowError::RoleNotAllowed {
                role,
                command: name
            }
        );
        assert_mentions(&err, &[role.as_str(), "may not", name]);
    }
    let err = refused_report(&world, SUPERVISOR, report_in(CELL_1A, LITTER));
    assert!(
        matches!(err, WorkflowError::RoleNotAllowed { .. }),
        "{err:?}"
    );
    let err = refused_report(&world, ADMIN, report_in(CELL_1A, LITTER));
    assert!(
        matches!(err, WorkflowError::RoleNotAllowed { .. }),
        "{err:?}"
    );
}

#[test]
fn a_grid_worker_of_another_street_is_out_of_scope() {
    let world = World::new();
    let story = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    let err = story.refused(GRID_CHEN, self_settle(), "2024-03-04 10:30");
    assert!(
        matches!(
            &err,
            WorkflowError::OutOfScope {
                role: Role::GridWorker,
                command: "self_settle",
                case_id: CaseId(1),
                ..
            }
        ),
        "{err:?}"
    );
    assert_mentions(&err, &[GRID_CHEN, CELL_1A, "outside their area"]);
    // A grid worker of the same community but another cell is out of scope too.
    let story = world.report(
        2,
        CITIZEN_LI,
        report_in(CELL_1B, LITTER),
        "2024-03-04 10:00",
    );
    let err = story.refused(GRID_LIU, self_settle(), "2024-03-04 10:30");
    assert!(matches!(err, WorkflowError::OutOfScope { .. }), "{err:?}");
    // And a dispatcher of the other street.
    let err = story.refused(DISPATCHER_2, accept(), "2024-03-04 10:30");
    assert!(matches!(err, WorkflowError::OutOfScope { .. }), "{err:?}");
    assert_mentions(&err, &[DISPATCHER_2, CELL_1B]);
}

#[test]
fn a_grid_worker_cannot_report_outside_the_cells_they_patrol() {
    let world = World::new();
    let err = refused_report(
        &world,
        GRID_CHEN,
        report_via(Channel::GridWorker, CELL_1A, LITTER),
    );
    assert!(
        matches!(err, WorkflowError::InvalidInput { field: "cell", .. }),
        "{err:?}"
    );
    assert_mentions(&err, &[CELL_1A, GRID_CHEN]);
}

#[test]
fn a_handler_of_another_department_is_out_of_scope() {
    let world = World::new();
    let story = dispatched_litter(&world);
    for command in [feedback(), return_case("不是我们的"), request_extension(8)] {
        let err = story.refused(HANDLER_JIEDAO, command, "2024-03-04 14:00");
        assert!(
            matches!(
                err,
                WorkflowError::OutOfScope {
                    role: Role::DepartmentHandler,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(&err, &[HANDLER_JIEDAO, "chengguan", "not theirs"]);
    }
}

#[test]
fn a_citizen_cannot_act_on_someone_elses_case() {
    let world = World::new();
    let story = closed_litter(&world);
    let err = story.refused(CITIZEN_ZHAO, rate(5), "2024-03-05 10:00");
    assert!(
        matches!(
            err,
            WorkflowError::OutOfScope {
                role: Role::Citizen,
                command: "rate",
                ..
            }
        ),
        "{err:?}"
    );
    assert_mentions(&err, &[CITIZEN_ZHAO, "did not report"]);
}

#[test]
fn whoever_gave_the_feedback_cannot_verify_it() {
    let world = World::new();
    let mut story = world.report(
        1,
        GRID_WANG,
        report_via(Channel::GridWorker, CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    story.step(GRID_WANG, self_settle(), "2024-03-04 10:20");
    for passed in [true, false] {
        let command = Command::Verify {
            passed,
            note: "自查".to_string(),
        };
        let err = story.refused(GRID_WANG, command, "2024-03-04 11:00");
        assert!(
            matches!(
                err,
                WorkflowError::OutOfScope {
                    command: "verify",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_mentions(&err, &[GRID_WANG, "gave the feedback themselves"]);
    }
}

#[test]
fn machine_and_admin_accounts_have_no_rights_on_cases() {
    let world = World::new();
    let story = world.report(
        1,
        INTEGRATOR,
        report_via(Channel::Hotline12345, CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    // An integrator may give Report only; the role check refuses anything else first.
    let err = story.refused(INTEGRATOR, rate(5), "2024-03-04 10:30");
    assert!(
        matches!(err, WorkflowError::RoleNotAllowed { .. }),
        "{err:?}"
    );
    // A handler reporting at the desk may report; a case nobody dispatched is not theirs.
    let err = story.refused(HANDLER_CHENGGUAN, return_case("x"), "2024-03-04 10:30");
    assert!(matches!(err, WorkflowError::OutOfScope { .. }), "{err:?}");
    assert_mentions(&err, &["not assigned to a department"]);
}

#[test]
fn unknown_category_department_and_area_are_named() {
    let world = World::new();
    let err = refused_report(&world, CITIZEN_LI, report_in(CELL_1A, UNKNOWN_CATEGORY));
    assert_eq!(
        err,
        WorkflowError::UnknownCategory(UNKNOWN_CATEGORY.to_string())
    );
    assert_mentions(&err, &["unknown category", UNKNOWN_CATEGORY]);

    let story = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    let err = story.refused(
        DISPATCHER_1,
        accept_as(UNKNOWN_CATEGORY),
        "2024-03-04 10:10",
    );
    assert_eq!(
        err,
        WorkflowError::UnknownCategory(UNKNOWN_CATEGORY.to_string())
    );

    let mut story = story;
    story.step(DISPATCHER_1, accept(), "2024-03-04 10:10");
    let err = story.refused(DISPATCHER_1, dispatch("nosuchdept"), "2024-03-04 10:20");
    assert_eq!(
        err,
        WorkflowError::UnknownDepartment("nosuchdept".to_string())
    );
    assert_mentions(&err, &["unknown department", "nosuchdept"]);
    let err = story.refused(
        DISPATCHER_1,
        dispatch_with("chengguan", &["nosuchdept"]),
        "2024-03-04 10:20",
    );
    assert_eq!(
        err,
        WorkflowError::UnknownDepartment("nosuchdept".to_string())
    );
    let err = story.refused(
        DISPATCHER_1,
        dispatch_with("chengguan", &["chengguan"]),
        "2024-03-04 10:20",
    );
    assert!(
        matches!(
            err,
            WorkflowError::InvalidInput {
                field: "co_departments",
                ..
            }
        ),
        "{err:?}"
    );
    assert_mentions(&err, &["chengguan", "lead department"]);
    let err = story.refused(
        COMMANDER,
        escalate(onegrid_core::Tier::District, &["nosuchdept"]),
        "2024-03-04 10:20",
    );
    assert_eq!(
        err,
        WorkflowError::UnknownDepartment("nosuchdept".to_string())
    );

    // Well-formed cell code, but not a cell of this district's tree.
    let err = refused_report(&world, CITIZEN_LI, report_in("120110001001009", LITTER));
    assert_eq!(
        err,
        WorkflowError::UnknownArea("120110001001009".to_string())
    );
    assert_mentions(&err, &["unknown area", "120110001001009"]);
}

#[test]
fn a_case_must_be_located_in_a_cell_not_a_street() {
    let world = World::new();
    for (code, level) in [
        (STREET_1, AreaLevel::Street),
        (COMMUNITY_1, AreaLevel::Community),
        (DISTRICT, AreaLevel::District),
    ] {
        let err = refused_report(&world, CITIZEN_LI, report_in(code, LITTER));
        assert_eq!(
            err,
            WorkflowError::NotACell {
                code: code.to_string(),
                level
            }
        );
        assert_mentions(&err, &[code, level.as_str(), "grid cell"]);
    }
}

#[test]
fn titles_and_descriptions_are_checked() {
    let world = World::new();
    for title in ["", "   "] {
        let mut report = report_in(CELL_1A, LITTER);
        report.title = title.to_string();
        let err = refused_report(&world, CITIZEN_LI, report);
        assert!(
            matches!(err, WorkflowError::InvalidInput { field: "title", .. }),
            "{err:?}"
        );
        assert_mentions(&err, &["title", "must not be empty"]);
    }
    let mut report = report_in(CELL_1A, LITTER);
    report.title = text(201);
    let err = refused_report(&world, CITIZEN_LI, report);
    assert_mentions(&err, &["title", "201 characters", "at most 200"]);

    let mut report = report_in(CELL_1A, LITTER);
    report.description = text(5_001);
    let err = refused_report(&world, CITIZEN_LI, report);
    assert!(
        matches!(
            err,
            WorkflowError::InvalidInput {
                field: "description",
                ..
            }
        ),
        "{err:?}"
    );
    assert_mentions(&err, &["description", "5001 characters", "at most 5000"]);

    // Limits count characters, not bytes: 5,000 Chinese characters (15,000 bytes) are fine.
    let mut report = report_in(CELL_1A, LITTER);
    report.description = text(5_000);
    report.title = text(200);
    assert!(world
        .try_report(1, CITIZEN_LI, report, "2024-03-04 10:00")
        .is_ok());

    let mut report = report_in(CELL_1A, LITTER);
    report.photos = (0..21).map(|i| format!("sha256:{i}")).collect();
    let err = refused_report(&world, CITIZEN_LI, report);
    assert_mentions(&err, &["photos", "21 items"]);
}

#[test]
fn evidence_and_reasons_are_required_where_the_loop_needs_them() {
    let world = World::new();
    let story = dispatched_litter(&world);
    let err = story.refused(
        HANDLER_CHENGGUAN,
        Command::Feedback {
            evidence: vec![" ".to_string()],
            note: String::new(),
        },
        "2024-03-04 14:00",
    );
    assert!(
        matches!(
            err,
            WorkflowError::InvalidInput {
                field: "evidence",
                ..
            }
        ),
        "{err:?}"
    );
    assert_mentions(&err, &["evidence", "at least one"]);
    let err = story.refused(HANDLER_CHENGGUAN, return_case(""), "2024-03-04 14:00");
    assert!(
        matches!(
            err,
            WorkflowError::InvalidInput {
                field: "reason",
                ..
            }
        ),
        "{err:?}"
    );
    let mut story = story;
    story.step(HANDLER_CHENGGUAN, feedback(), "2024-03-04 14:00");
    let err = story.refused(GRID_WANG, verify_fail(""), "2024-03-04 15:00");
    assert!(
        matches!(err, WorkflowError::InvalidInput { field: "note", .. }),
        "a failed verification must say why: {err:?}"
    );
}

#[test]
fn ratings_are_one_to_five_and_given_once() {
    let world = World::new();
    let mut story = closed_litter(&world);
    for score in [0, 6, 255] {
        let err = story.refused(CITIZEN_LI, rate(score), "2024-03-05 10:00");
        assert!(
            matches!(err, WorkflowError::InvalidInput { field: "score", .. }),
            "{err:?}"
        );
        assert_mentions(&err, &["score", &score.to_string(), "1 to 5"]);
    }
    story.step(CITIZEN_LI, rate(1), "2024-03-05 10:00");
    let err = story.refused(CITIZEN_LI, rate(5), "2024-03-05 11:00");
    assert_eq!(err, WorkflowError::AlreadyRated(CaseId(1)));
    assert_mentions(&err, &["case 1", "already been rated"]);
    let err = story.refused(COMMANDER, rate(3), "2024-03-05 11:00");
    assert_eq!(err, WorkflowError::AlreadyRated(CaseId(1)));
}

#[test]
fn extensions_need_hours_and_a_request_to_decide() {
    let world = World::new();
    let story = dispatched_litter(&world);
    for hours in [0, 501] {
        let err = story.refused(
            HANDLER_CHENGGUAN,
            request_extension(hours),
            "2024-03-04 14:00",
        );
        assert!(
            matches!(err, WorkflowError::InvalidInput { field: "hours", .. }),
            "{err:?}"
        );
        assert_mentions(&err, &["hours", &hours.to_string(), "1 to 500"]);
    }
    let err = story.refused(DISPATCHER_1, approve_extension(), "2024-03-04 14:00");
    assert_eq!(err, WorkflowError::NoExtensionPending(CaseId(1)));
    assert_mentions(&err, &["case 1", "no extension request"]);
    let err = story.refused(DISPATCHER_1, deny_extension("不同意"), "2024-03-04 14:00");
    assert_eq!(err, WorkflowError::NoExtensionPending(CaseId(1)));
}

#[test]
fn a_citizen_cannot_report_through_the_police_feed() {
    let world = World::new();
    let err = refused_report(
        &world,
        CITIZEN_LI,
        report_via(Channel::Police110, CELL_1A, LITTER),
    );
    assert!(
        matches!(
            err,
            WorkflowError::InvalidInput {
                field: "channel",
                ..
            }
        ),
        "{err:?}"
    );
    assert_mentions(&err, &["citizen", "police_110"]);
    // Each role reports through its own channels only.
    for (who, channel) in [
        (GRID_WANG, Channel::Citizen),
        (INTEGRATOR, Channel::GridWorker),
        (HANDLER_CHENGGUAN, Channel::Hotline12345),
    ] {
        let err = refused_report(&world, who, report_via(channel, CELL_1A, LITTER));
        assert!(
            matches!(
                err,
                WorkflowError::InvalidInput {
                    field: "channel",
                    ..
                }
            ),
            "{who} via {channel}: {err:?}"
        );
    }
    assert!(world
        .try_report(
            1,
            INTEGRATOR,
            report_via(Channel::Police110, CELL_1A, LITTER),
            "2024-03-04 10:00"
        )
        .is_ok());
}

#[test]
fn points_must_be_finite_wgs84_coordinates() {
    let world = World::new();
    for (lon, lat) in [
        (f64::NAN, 39.1),
        (117.3, f64::NAN),
        (f64::INFINITY, 39.1),
        (200.0, 39.1),
        (-180.5, 39.1),
        (117.3, 90.01),
        (117.3, -91.0),
    ] {
        let mut report = report_in(CELL_1A, LITTER);
        report.point = Some(GeoPoint { lon, lat });
        let err = refused_report(&world, CITIZEN_LI, report);
        assert!(
            matches!(err, WorkflowError::InvalidInput { field: "point", .. }),
            "({lon}, {lat}): {err:?}"
        );
        assert_mentions(&err, &["point", "WGS84"]);
    }
    let mut report = report_in(CELL_1A, LITTER);
    report.point = Some(GeoPoint {
        lon: 180.0,
        lat: -90.0,
    });
    assert!(world
        .try_report(1, CITIZEN_LI, report, "2024-03-04 10:00")
        .is_ok());
}

#[test]
fn a_case_is_created_only_by_a_report_and_only_once() {
    let world = World::new();
    let err = apply(
        &world.rules(),
        None,
        &accept(),
        &world.actor(DISPATCHER_1),
        t("2024-03-04 10:00"),
    )
    .expect_err("no case yet");
    assert_eq!(err, WorkflowError::NotReported);
    let story = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    let err = story.refused(
        CITIZEN_LI,
        Command::Report {
            id: CaseId(1),
            report: Box::new(report_in(CELL_1A, LITTER)),
        },
        "2024-03-04 10:05",
    );
    assert_eq!(err, WorkflowError::AlreadyReported(CaseId(1)));
}

#[test]
fn a_time_outside_the_holiday_data_is_an_explicit_calendar_error() {
    let world = World::new();
    let err = world
        .try_report(
            1,
            CITIZEN_LI,
            report_in(CELL_1A, LITTER),
            "2032-01-05 10:00",
        )
        .expect_err("2032 is not covered");
    assert_eq!(
        err,
        WorkflowError::Calendar(CalendarError::YearNotCovered {
            year: 2032,
            first: 2020,
            last: 2031
        })
    );
    assert_mentions(&err, &["2032", "2020", "2031"]);
}
