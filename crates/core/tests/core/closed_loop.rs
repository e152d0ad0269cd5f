//! The closed loop end to end — report, accept, dispatch, feedback, verify, close, rate — with every
//! stage's deadline checked against the working calendar.

use onegrid_core::history::GENESIS_HASH;
use onegrid_core::{CaseState, Channel, Deadline, Handler, Role, Stage, Tier};

use crate::helpers::*;

/// A deadline that started at `start` and falls due at `due` (both Shanghai wall-clock).
fn deadline(stage: Stage, start: &str, due: &str, limit_hours: u32) -> Deadline {
    Deadline {
        stage,
        started_at: t(start),
        due_at: t(due),
        limit_hours,
    }
}

#[test]
fn a_litter_report_goes_round_the_whole_loop() {
    let world = World::new();
    // Monday 2024-03-04, an ordinary working week. 暴露垃圾 S0101: accept 1 h, dispatch 1 h,
    // handle 8 h, verify 4 h, close 2 h, working hours 09:00–12:00 and 13:30–18:00.
    let mut story = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    assert_eq!(story.case.state, CaseState::Reported);
    assert_eq!(story.case.tier, Tier::Grid);
    assert_eq!(story.case.handler, None);
    assert_eq!(story.case.reporters.len(), 1);
    assert_eq!(
        story.case.reporters[0].person,
        Some(person_id(CITIZEN_LI)),
        "a signed-in citizen is recorded as the reporter"
    );
    assert_eq!(story.case.reporters[0].channel, Channel::Citizen);
    assert_eq!(
        story.case.deadline,
        Some(deadline(
            Stage::Accept,
            "2024-03-04 10:00",
            "2024-03-04 11:00",
            1
        ))
    );

    story.step(DISPATCHER_1, accept(), "2024-03-04 10:30");
    assert_eq!(story.case.state, CaseState::Accepted);
    assert_eq!(
        story.case.deadline,
        Some(deadline(
            Stage::Dispatch,
            "2024-03-04 10:30",
            "2024-03-04 11:30",
            1
        ))
    );

    story.step(DISPATCHER_1, dispatch("chengguan"), "2024-03-04 11:00");
    assert_eq!(story.case.state, CaseState::Handling);
    assert_eq!(
        story.case.handler,
        Some(Handler::Department(department("chengguan")))
    );
    // 11:00–12:00 and 13:30–18:00 make 5.5 h on Monday; the last 2.5 h run 09:00–11:30 Tuesday.
    assert_eq!(
        story.case.deadline,
        Some(deadline(
            Stage::Handle,
            "2024-03-04 11:00",
            "2024-03-05 11:30",
            8
        ))
    );

    story.step(HANDLER_CHENGGUAN, feedback(), "2024-03-05 10:00");
    assert_eq!(story.case.state, CaseState::AwaitingVerification);
    assert_eq!(story.case.feedback_by, Some(person_id(HANDLER_CHENGGUAN)));
    assert_eq!(story.case.evidence, vec!["sha256:after-photo".to_string()]);
    // 10:00–12:00, then 13:30–15:30 after lunch.
    assert_eq!(
        story.case.deadline,
        Some(deadline(
            Stage::Verify,
            "2024-03-05 10:00",
            "2024-03-05 15:30",
            4
        ))
    );

    story.step(GRID_WANG, verify_pass(), "2024-03-05 14:00");
    assert_eq!(story.case.state, CaseState::Verified);
    assert_eq!(
        story.case.deadline,
        Some(deadline(
            Stage::Close,
            "2024-03-05 14:00",
            "2024-03-05 16:00",
            2
        ))
    );

    story.step(DISPATCHER_1, close(), "2024-03-05 15:00");
    assert_eq!(story.case.state, CaseState::Closed);
    assert_eq!(story.case.deadline, None);
    assert_eq!(story.case.rating, None);

    story.step(CITIZEN_LI, rate(5), "2024-03-06 09:00");
    assert_eq!(story.case.state, CaseState::Closed);
    assert_eq!(story.case.rating.as_ref().map(|r| r.score), Some(5));

    assert_eq!(
        story.kinds(),
        [
            "reported",
            "accepted",
            "dispatched",
            "feedback_given",
            "verified",
            "closed",
            "rated"
        ]
    );
    let roles: Vec<Role> = story.events.iter().map(|e| e.actor.role).collect();
    assert_eq!(
        roles,
        [
            Role::Citizen,
            Role::Dispatcher,
            Role::Dispatcher,
            Role::DepartmentHandler,
            Role::GridWorker,
            Role::Dispatcher,
            Role::Citizen
        ]
    );
    assert_eq!(story.case.version, 7);
    for (index, event) in story.events.iter().enumerate() {
        assert_eq!(event.seq, index as u64 + 1, "seq of event {index}");
        assert_eq!(event.case_id, story.case.id);
        let expected_prev = match index {
            0 => GENESIS_HASH,
            _ => story.events[index - 1].hash.as_str(),
        };
        assert_eq!(
            event.prev_hash, expected_prev,
            "link of event {}",
            event.seq
        );
    }
    assert_eq!(story.case.version, story.events.last().map_or(0, |e| e.seq));
    assert_eq!(story.case.head_hash, story.events[6].hash);
    assert_eq!(story.case.reported_at, t("2024-03-04 10:00"));
    assert_eq!(story.case.updated_at, t("2024-03-06 09:00"));
    assert_eq!(story.case.rework_count, 0);
    assert_eq!(story.case.return_count, 0);
    story.assert_history_consistent();
}

/// Every deadline of the loop spans exactly its limit in working minutes.
#[test]
fn each_stage_deadline_spans_its_limit_in_working_time() {
    let world = World::new();
    let mut story = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1B, DEBRIS),
        "2024-03-08 16:40",
    );
    story.step(DISPATCHER_1, accept(), "2024-03-08 17:10");
    story.step(DISPATCHER_1, dispatch("chengguan"), "2024-03-11 09:05");
    story.step(HANDLER_CHENGGUAN, feedback(), "2024-03-12 17:59");
    story.step(DISPATCHER_1, verify_pass(), "2024-03-13 08:00");
    let calendar = world.calendar();
    let limits = world
        .reference
        .taxonomy
        .get(&category(DEBRIS))
        .expect("S0102 is in the default taxonomy")
        .limits;
    for event in &story.events {
        let case =
            onegrid_core::history::replay(story.case.id, &story.events[..event.seq as usize])
                .expect("prefix replays");
        let deadline = case.deadline.expect("an open case has a running deadline");
        assert_eq!(deadline.started_at, event.at);
        assert_eq!(deadline.limit_hours, limits.hours(deadline.stage));
        let minutes = calendar
            .working_minutes_between(deadline.started_at, deadline.due_at)
            .expect("2024 is covered");
        assert_eq!(
            minutes,
            i64::from(deadline.limit_hours) * 60,
            "{:?} stage after {}",
            deadline.stage,
            event.kind.name()
        );
    }
    // Reported Friday 16:40 with 2 h to accept: 1 h 20 min on Friday, 40 min on Monday morning.
    assert_eq!(story.events[0].at, t("2024-03-08 16:40"));
    let accept_deadline = onegrid_core::history::replay(story.case.id, &story.events[..1])
        .expect("replays")
        .deadline
        .expect("reported case has a deadline");
    assert_eq!(accept_deadline.due_at, t("2024-03-11 09:40"));
    // Verified before office hours: the 2 h close stage counts from 09:00.
    assert_eq!(
        story.case.deadline.map(|d| d.due_at),
        Some(t("2024-03-13 11:00"))
    );
}

/// National Day 2024: 1–7 October off, Sunday 29 September and Saturday 12 October worked (调休).
#[test]
fn deadlines_skip_national_day_and_count_make_up_saturdays() {
    let world = World::new();
    let mut story = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-09-29 09:00",
    );
    // Sunday 29 September is a make-up working day, so the 1 h accept stage ends the same morning.
    assert_eq!(
        story.case.deadline.map(|d| d.due_at),
        Some(t("2024-09-29 10:00"))
    );
    story.step(DISPATCHER_1, accept(), "2024-09-30 16:00");
    story.step(DISPATCHER_1, dispatch("chengguan"), "2024-09-30 17:00");
    // 1 h on 30 September, then the holiday; the other 7 h on Tuesday 8 October.
    assert_eq!(
        story.case.deadline.map(|d| d.due_at),
        Some(t("2024-10-08 17:30"))
    );
    story.step(HANDLER_CHENGGUAN, feedback(), "2024-10-08 17:00");
    story.step(GRID_WANG, verify_pass(), "2024-10-11 17:00");
    // The close stage's second hour falls on the make-up Saturday 12 October.
    assert_eq!(
        story.case.deadline.map(|d| d.due_at),
        Some(t("2024-10-12 10:00"))
    );
    story.step(DISPATCHER_1, close(), "2024-10-12 09:30");
    assert_eq!(story.case.state, CaseState::Closed);
    story.assert_history_consistent();
}

/// Green until 80 % of the stage's working time is used, yellow up to the due time, red after.
#[test]
fn the_deadline_turns_yellow_at_eighty_percent_and_red_when_overdue() {
    use onegrid_core::deadline::{colour, remaining_minutes, DeadlineColour};
    let world = World::new();
    let mut story = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    story.step(DISPATCHER_1, accept(), "2024-03-04 10:30");
    story.step(DISPATCHER_1, dispatch("chengguan"), "2024-03-04 11:00");
    let deadline = story.case.deadline.expect("handle stage running");
    let calendar = world.calendar();
    // 80 % of 480 min is 384 min: 330 on Monday, then 54 on Tuesday morning.
    let check = |at: &str, expected: DeadlineColour, remaining: i64| {
        assert_eq!(
            colour(calendar, &deadline, t(at)).expect("2024 is covered"),
            expected,
            "at {at}"
        );
        assert_eq!(
            remaining_minutes(calendar, &deadline, t(at)).expect("2024 is covered"),
            remaining,
            "at {at}"
        );
    };
    check("2024-03-04 11:00", DeadlineColour::Green, 480);
    check("2024-03-04 20:00", DeadlineColour::Green, 150);
    check("2024-03-05 09:53", DeadlineColour::Green, 97);
    check("2024-03-05 09:54", DeadlineColour::Yellow, 96);
    check("2024-03-05 11:30", DeadlineColour::Yellow, 0);
    check("2024-03-05 11:31", DeadlineColour::Red, -1);
    check("2024-03-05 14:00", DeadlineColour::Red, -60);
}
