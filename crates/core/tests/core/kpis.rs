//! KPIs from histories: a week of cases with known timings, every count and rate worked out by hand
//! for the street, cell, department and district groupings, and the window's edges.
//!
//! The week is Monday 2024-03-04 00:00 to Monday 2024-03-11 00:00 (Shanghai); every case is 暴露垃圾
//! S0101 (accept 1 h, dispatch 1 h, handle 8 h, verify 4 h, close 2 h; working hours 09:00–12:00 and
//! 13:30–18:00).

use chrono::{DateTime, Utc};
use onegrid_core::case::{Proposal, ProposalKind};
use onegrid_core::kpi::{
    case_facts, compute, compute_filtered, total, CaseFacts, CategoryFilter, KpiGrouping, KpiRow,
};
use onegrid_core::{Channel, Event, NewReport};

use crate::helpers::*;

const FROM: &str = "2024-03-04 00:00";
const TO: &str = "2024-03-11 00:00";

/// The week's cases, by letter:
/// - A (`CELL_1A`): on time all the way, 390 handling minutes, rated 5.
/// - B (`CELL_1B`): accepted late, first feedback late, reworked once, 780 + 390 handling minutes,
///   rated 2.
/// - C (`CELL_2A`): rejected in time.
/// - E (`CELL_2B`): dispatched to jiedao Tuesday 09:40, due Wednesday 10:10, still open: overdue.
/// - D (`CELL_2B`): a duplicate of E, merged into it: not counted.
/// - F (`CELL_1A`): reported and settled in the grid by grid.wang, verified and closed, not rated.
/// - H (`CELL_1B`): reported at exactly `FROM`, on time, 225 handling minutes, not rated.
/// - G (`CELL_1A`): reported the Friday before the window, still open: outside the window.
/// - I (`CELL_1A`): reported at exactly `TO`: outside the window.
fn week(world: &World) -> Vec<(&'static str, Story<'_>)> {
    let mut a = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    a.step(DISPATCHER_1, accept(), "2024-03-04 10:30");
    a.step(DISPATCHER_1, dispatch("chengguan"), "2024-03-04 11:00");
    a.step(HANDLER_CHENGGUAN, feedback(), "2024-03-05 10:00");
    a.step(GRID_WANG, verify_pass(), "2024-03-05 14:00");
    a.step(DISPATCHER_1, close(), "2024-03-05 15:00");
    a.step(CITIZEN_LI, rate(5), "2024-03-06 09:00");

    let mut b = world.report(
        2,
        CITIZEN_ZHAO,
        report_in(CELL_1B, LITTER),
        "2024-03-04 10:00",
    );
    b.step(DISPATCHER_1, accept(), "2024-03-04 11:30");
    b.step(DISPATCHER_1, dispatch("chengguan"), "2024-03-04 13:30");
    b.step(HANDLER_CHENGGUAN, feedback(), "2024-03-06 10:00");
    b.step(DISPATCHER_1, verify_fail("未清理干净"), "2024-03-06 11:00");
    b.step(HANDLER_CHENGGUAN, feedback(), "2024-03-07 10:00");
    b.step(GRID_WANG, verify_pass(), "2024-03-07 11:00");
    b.step(DISPATCHER_1, close(), "2024-03-07 14:00");
    b.step(CITIZEN_ZHAO, rate(2), "2024-03-07 15:00");

    let mut c = world.report(
        3,
        CITIZEN_LI,
        report_in(CELL_2A, LITTER),
        "2024-03-05 09:00",
    );
    c.step(DISPATCHER_2, reject("重复投诉"), "2024-03-05 09:30");

    let mut e = world.report(
        4,
        CITIZEN_LI,
        report_in(CELL_2B, LITTER),
        "2024-03-05 09:00",
    );
    e.step(DISPATCHER_2, accept(), "2024-03-05 09:20");
    e.step(DISPATCHER_2, dispatch("jiedao"), "2024-03-05 09:40");
    let mut d = world.report(
        5,
        CITIZEN_ZHAO,
        report_in(CELL_2B, LITTER),
        "2024-03-05 10:00",
    );
    world.merge(&mut d, &mut e, DISPATCHER_2, "2024-03-05 11:00");

    let mut f = world.report(
        6,
        GRID_WANG,
        report_via(Channel::GridWorker, CELL_1A, LITTER),
        "2024-03-04 14:00",
    );
    f.step(GRID_WANG, self_settle(), "2024-03-04 14:30");
    f.step(DISPATCHER_1, verify_pass(), "2024-03-04 16:00");
    f.step(DISPATCHER_1, close(), "2024-03-04 17:00");

    let mut h = world.report(7, CITIZEN_LI, report_in(CELL_1B, LITTER), FROM);
    h.step(DISPATCHER_1, accept(), "2024-03-04 09:30");
    h.step(DISPATCHER_1, dispatch("chengguan"), "2024-03-04 09:45");
    h.step(HANDLER_CHENGGUAN, feedback(), "2024-03-04 15:00");
    h.step(GRID_WANG, verify_pass(), "2024-03-05 09:00");
    h.step(DISPATCHER_1, close(), "2024-03-05 10:00");

    let g = world.report(
        8,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-01 10:00",
    );
    let i = world.report(9, CITIZEN_LI, report_in(CELL_1A, LITTER), TO);

    let stories = vec![
        ("A", a),
        ("B", b),
        ("C", c),
        ("D", d),
        ("E", e),
        ("F", f),
        ("G", g),
        ("H", h),
        ("I", i),
    ];
    for (_, story) in &stories {
        story.assert_history_consistent();
    }
    stories
}

fn histories<'a>(stories: &'a [(&'static str, Story<'_>)]) -> Vec<&'a [Event]> {
    stories.iter().map(|(_, s)| s.events.as_slice()).collect()
}

fn history<'a>(stories: &'a [(&'static str, Story<'_>)], letter: &str) -> &'a [Event] {
    stories
        .iter()
        .find(|(l, _)| *l == letter)
        .map(|(_, s)| s.events.as_slice())
        .unwrap_or_else(|| panic!("no case {letter} in the week"))
}

fn kpis(
    world: &World,
    stories: &[(&'static str, Story<'_>)],
    grouping: KpiGrouping,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<KpiRow> {
    compute(world.calendar(), histories(stories), grouping, from, to).expect("2024 is covered")
}

fn facts(world: &World, events: &[Event], as_of: &str) -> CaseFacts {
    case_facts(world.calendar(), events, t(as_of)).expect("2024 is covered")
}

/// The counts of a row, in a fixed order, for one comparison per row.
#[derive(Debug, PartialEq, Eq)]
struct Counts {
    reported: u64,
    responded_on_time: u64,
    accepted: u64,
    closed: u64,
    handled: u64,
    handled_on_time: u64,
    verified: u64,
    reworked: u64,
    overdue: u64,
    handling_minutes: i64,
    rated: u64,
    solved: u64,
    satisfied: u64,
}

fn counts(row: &KpiRow) -> Counts {
    Counts {
        reported: row.reported,
        responded_on_time: row.responded_on_time,
        accepted: row.accepted,
        closed: row.closed,
        handled: row.handled,
        handled_on_time: row.handled_on_time,
        verified: row.verified,
        reworked: row.reworked,
        overdue: row.overdue,
        handling_minutes: row.handling_minutes,
        rated: row.rated,
        solved: row.solved,
        satisfied: row.satisfied,
    }
}

/// The rates a row should show, worked out by hand.
struct Rates {
    on_time_handling: Option<f64>,
    closure: Option<f64>,
    rework: Option<f64>,
    mean_handling_hours: Option<f64>,
    response: Option<f64>,
    solution: Option<f64>,
    satisfaction: Option<f64>,
}

fn check_row(row: &KpiRow, key: &str, expected_counts: Counts, expected_rates: Rates) {
    assert_eq!(row.key, key);
    assert_eq!(counts(row), expected_counts, "counts of row {key}");
    let pairs = [
        (
            "on_time_handling_rate",
            row.on_time_handling_rate,
            expected_rates.on_time_handling,
        ),
        ("closure_rate", row.closure_rate, expected_rates.closure),
        ("rework_rate", row.rework_rate, expected_rates.rework),
        (
            "mean_handling_hours",
            row.mean_handling_hours,
            expected_rates.mean_handling_hours,
        ),
        ("response_rate", row.response_rate, expected_rates.response),
        ("solution_rate", row.solution_rate, expected_rates.solution),
        (
            "satisfaction_rate",
            row.satisfaction_rate,
            expected_rates.satisfaction,
        ),
    ];
    for (name, actual, expected) in pairs {
        match (actual, expected) {
            (Some(actual), Some(expected)) => assert!(
                (actual - expected).abs() < 1e-9,
                "{name} of row {key}: {actual} != {expected}"
            ),
            (actual, expected) => assert_eq!(actual, expected, "{name} of row {key}"),
        }
    }
}

fn keys(rows: &[KpiRow]) -> Vec<&str> {
    rows.iter().map(|r| r.key.as_str()).collect()
}

/// Handling minutes of A, B and H, counted from each handle stage's start to its feedback.
const MINUTES_A: i64 = 60 + 270 + 60; // Mon 11:00–12:00, 13:30–18:00; Tue 09:00–10:00
const MINUTES_B: i64 = (270 + 450 + 60) + (60 + 270 + 60); // Mon 13:30 → Wed 10:00; Wed 11:00 → Thu 10:00
const MINUTES_H: i64 = 135 + 90; // Mon 09:45–12:00, 13:30–15:00

#[test]
fn case_facts_read_one_history() {
    let world = World::new();
    let stories = week(&world);
    let a = facts(&world, history(&stories, "A"), TO);
    assert_eq!(
        a,
        CaseFacts {
            reported_at: Some(t("2024-03-04 10:00")),
            merged: false,
            responded_on_time: true,
            accepted: true,
            closed: true,
            handled: true,
            all_handling_on_time: true,
            verified: true,
            reworked: false,
            overdue: false,
            handling_minutes: MINUTES_A,
            rating: Some(5),
            department_key: "chengguan".to_string(),
            cell: Some(CELL_1A.to_string()),
            category: Some(category(LITTER)),
        }
    );
    let b = facts(&world, history(&stories, "B"), TO);
    assert!(!b.responded_on_time, "accepted 11:30, due 11:00");
    assert!(
        !b.all_handling_on_time,
        "first feedback Wednesday, due Tuesday 14:00"
    );
    assert!(b.handled && b.verified && b.reworked && b.closed);
    assert_eq!(b.handling_minutes, MINUTES_B);
    assert_eq!(b.rating, Some(2));

    let f = facts(&world, history(&stories, "F"), TO);
    assert!(f.responded_on_time && f.accepted && f.verified && f.closed);
    assert!(
        !f.handled,
        "settling in the grid is not a department's feedback"
    );
    assert_eq!(f.department_key, "grid");

    let c = facts(&world, history(&stories, "C"), TO);
    assert!(c.responded_on_time && !c.accepted);
    assert_eq!(c.department_key, "unassigned");

    let d = facts(&world, history(&stories, "D"), TO);
    assert!(d.merged);
    let e = facts(&world, history(&stories, "E"), TO);
    assert!(e.overdue && !e.merged && !e.handled);
    assert_eq!(e.department_key, "jiedao");
}

#[test]
fn street_rows() {
    let world = World::new();
    let stories = week(&world);
    let rows = kpis(&world, &stories, KpiGrouping::Street, t(FROM), t(TO));
    assert_eq!(keys(&rows), [STREET_1, STREET_2]);
    // Street 1: A, B, F, H.
    check_row(
        &rows[0],
        STREET_1,
        Counts {
            reported: 4,
            responded_on_time: 3,
            accepted: 4,
            closed: 4,
            handled: 3,
            handled_on_time: 2,
            verified: 4,
            reworked: 1,
            overdue: 0,
            handling_minutes: MINUTES_A + MINUTES_B + MINUTES_H,
            rated: 2,
            solved: 1,
            satisfied: 1,
        },
        Rates {
            on_time_handling: Some(2.0 / 3.0),
            closure: Some(1.0),
            rework: Some(0.25),
            mean_handling_hours: Some(1785.0 / 60.0 / 3.0),
            response: Some(0.75),
            solution: Some(0.5),
            satisfaction: Some(0.5),
        },
    );
    // Street 2: C and E (D is merged into E and not counted).
    check_row(
        &rows[1],
        STREET_2,
        Counts {
            reported: 2,
            responded_on_time: 2,
            accepted: 1,
            closed: 0,
            handled: 0,
            handled_on_time: 0,
            verified: 0,
            reworked: 0,
            overdue: 1,
            handling_minutes: 0,
            rated: 0,
            solved: 0,
            satisfied: 0,
        },
        Rates {
            on_time_handling: None,
            closure: Some(0.0),
            rework: None,
            mean_handling_hours: None,
            response: Some(1.0),
            solution: None,
            satisfaction: None,
        },
    );
}

#[test]
fn cell_rows() {
    let world = World::new();
    let stories = week(&world);
    let rows = kpis(&world, &stories, KpiGrouping::Cell, t(FROM), t(TO));
    assert_eq!(keys(&rows), CELLS);
    // A and F.
    check_row(
        &rows[0],
        CELL_1A,
        Counts {
            reported: 2,
            responded_on_time: 2,
            accepted: 2,
            closed: 2,
            handled: 1,
            handled_on_time: 1,
            verified: 2,
            reworked: 0,
            overdue: 0,
            handling_minutes: MINUTES_A,
            rated: 1,
            solved: 1,
            satisfied: 1,
        },
        Rates {
            on_time_handling: Some(1.0),
            closure: Some(1.0),
            rework: Some(0.0),
            mean_handling_hours: Some(6.5),
            response: Some(1.0),
            solution: Some(1.0),
            satisfaction: Some(1.0),
        },
    );
    // B and H.
    check_row(
        &rows[1],
        CELL_1B,
        Counts {
            reported: 2,
            responded_on_time: 1,
            accepted: 2,
            closed: 2,
            handled: 2,
            handled_on_time: 1,
            verified: 2,
            reworked: 1,
            overdue: 0,
            handling_minutes: MINUTES_B + MINUTES_H,
            rated: 1,
            solved: 0,
            satisfied: 0,
        },
        Rates {
            on_time_handling: Some(0.5),
            closure: Some(1.0),
            rework: Some(0.5),
            mean_handling_hours: Some(1395.0 / 60.0 / 2.0),
            response: Some(0.5),
            solution: Some(0.0),
            satisfaction: Some(0.0),
        },
    );
    // C.
    check_row(
        &rows[2],
        CELL_2A,
        Counts {
            reported: 1,
            responded_on_time: 1,
            accepted: 0,
            closed: 0,
            handled: 0,
            handled_on_time: 0,
            verified: 0,
            reworked: 0,
            overdue: 0,
            handling_minutes: 0,
            rated: 0,
            solved: 0,
            satisfied: 0,
        },
        Rates {
            on_time_handling: None,
            closure: None,
            rework: None,
            mean_handling_hours: None,
            response: Some(1.0),
            solution: None,
            satisfaction: None,
        },
    );
    // E.
    check_row(
        &rows[3],
        CELL_2B,
        Counts {
            reported: 1,
            responded_on_time: 1,
            accepted: 1,
            closed: 0,
            handled: 0,
            handled_on_time: 0,
            verified: 0,
            reworked: 0,
            overdue: 1,
            handling_minutes: 0,
            rated: 0,
            solved: 0,
            satisfied: 0,
        },
        Rates {
            on_time_handling: None,
            closure: Some(0.0),
            rework: None,
            mean_handling_hours: None,
            response: Some(1.0),
            solution: None,
            satisfaction: None,
        },
    );
}

#[test]
fn department_rows() {
    let world = World::new();
    let stories = week(&world);
    let rows = kpis(&world, &stories, KpiGrouping::Department, t(FROM), t(TO));
    assert_eq!(keys(&rows), ["chengguan", "grid", "jiedao", "unassigned"]);
    // A, B, H.
    check_row(
        &rows[0],
        "chengguan",
        Counts {
            reported: 3,
            responded_on_time: 2,
            accepted: 3,
            closed: 3,
            handled: 3,
            handled_on_time: 2,
            verified: 3,
            reworked: 1,
            overdue: 0,
            handling_minutes: MINUTES_A + MINUTES_B + MINUTES_H,
            rated: 2,
            solved: 1,
            satisfied: 1,
        },
        Rates {
            on_time_handling: Some(2.0 / 3.0),
            closure: Some(1.0),
            rework: Some(1.0 / 3.0),
            mean_handling_hours: Some(1785.0 / 60.0 / 3.0),
            response: Some(2.0 / 3.0),
            solution: Some(0.5),
            satisfaction: Some(0.5),
        },
    );
    // F, settled in the grid.
    check_row(
        &rows[1],
        "grid",
        Counts {
            reported: 1,
            responded_on_time: 1,
            accepted: 1,
            closed: 1,
            handled: 0,
            handled_on_time: 0,
            verified: 1,
            reworked: 0,
            overdue: 0,
            handling_minutes: 0,
            rated: 0,
            solved: 0,
            satisfied: 0,
        },
        Rates {
            on_time_handling: None,
            closure: Some(1.0),
            rework: Some(0.0),
            mean_handling_hours: None,
            response: Some(1.0),
            solution: None,
            satisfaction: None,
        },
    );
    // E.
    check_row(
        &rows[2],
        "jiedao",
        Counts {
            reported: 1,
            responded_on_time: 1,
            accepted: 1,
            closed: 0,
            handled: 0,
            handled_on_time: 0,
            verified: 0,
            reworked: 0,
            overdue: 1,
            handling_minutes: 0,
            rated: 0,
            solved: 0,
            satisfied: 0,
        },
        Rates {
            on_time_handling: None,
            closure: Some(0.0),
            rework: None,
            mean_handling_hours: None,
            response: Some(1.0),
            solution: None,
            satisfaction: None,
        },
    );
    // C, rejected before any dispatch.
    check_row(
        &rows[3],
        "unassigned",
        Counts {
            reported: 1,
            responded_on_time: 1,
            accepted: 0,
            closed: 0,
            handled: 0,
            handled_on_time: 0,
            verified: 0,
            reworked: 0,
            overdue: 0,
            handling_minutes: 0,
            rated: 0,
            solved: 0,
            satisfied: 0,
        },
        Rates {
            on_time_handling: None,
            closure: None,
            rework: None,
            mean_handling_hours: None,
            response: Some(1.0),
            solution: None,
            satisfaction: None,
        },
    );
}

#[test]
fn district_and_community_rows_add_up_the_streets() {
    let world = World::new();
    let stories = week(&world);
    let district = kpis(&world, &stories, KpiGrouping::District, t(FROM), t(TO));
    assert_eq!(keys(&district), [DISTRICT]);
    check_row(
        &district[0],
        DISTRICT,
        Counts {
            reported: 6,
            responded_on_time: 5,
            accepted: 5,
            closed: 4,
            handled: 3,
            handled_on_time: 2,
            verified: 4,
            reworked: 1,
            overdue: 1,
            handling_minutes: 1785,
            rated: 2,
            solved: 1,
            satisfied: 1,
        },
        Rates {
            on_time_handling: Some(2.0 / 3.0),
            closure: Some(0.8),
            rework: Some(0.25),
            mean_handling_hours: Some(1785.0 / 180.0),
            response: Some(5.0 / 6.0),
            solution: Some(0.5),
            satisfaction: Some(0.5),
        },
    );
    let communities = kpis(&world, &stories, KpiGrouping::Community, t(FROM), t(TO));
    let streets = kpis(&world, &stories, KpiGrouping::Street, t(FROM), t(TO));
    assert_eq!(keys(&communities), [COMMUNITY_1, COMMUNITY_2]);
    for (community, street) in communities.iter().zip(&streets) {
        assert_eq!(
            counts(community),
            counts(street),
            "one community per street"
        );
    }
}

#[test]
fn the_window_counts_cases_reported_from_from_up_to_but_not_including_to() {
    let world = World::new();
    let stories = week(&world);
    let reported = |from: &str, to: &str| -> u64 {
        kpis(&world, &stories, KpiGrouping::District, t(from), t(to))
            .iter()
            .map(|r| r.reported)
            .sum()
    };
    assert_eq!(
        reported(FROM, TO),
        6,
        "H at exactly FROM is in, I at exactly TO is out"
    );
    assert_eq!(reported("2024-03-04 00:01", TO), 5, "without H");
    assert_eq!(reported(FROM, "2024-03-11 00:01"), 7, "with I");
    assert_eq!(reported("2024-03-01 00:00", TO), 7, "with G");
    assert_eq!(
        reported("2024-03-11 00:00", "2024-03-18 00:00"),
        1,
        "only I"
    );
    // An empty window has no rows at all.
    assert!(kpis(&world, &stories, KpiGrouping::Street, t(TO), t(TO)).is_empty());
}

#[test]
fn facts_are_as_of_the_end_of_the_window() {
    let world = World::new();
    let stories = week(&world);
    // Tuesday 10:30: D is reported but not yet merged, so it still counts; A has given feedback
    // but is not verified; F and H are closed; nothing is rated yet.
    let rows = kpis(
        &world,
        &stories,
        KpiGrouping::District,
        t(FROM),
        t("2024-03-05 10:30"),
    );
    let row = &rows[0];
    assert_eq!(row.reported, 7, "A, B, C, D, E, F, H");
    // D, reported at 10:00 and due 11:00, is not answered yet: it counts as not responded on
    // time although it is not late.
    assert_eq!(
        row.responded_on_time, 5,
        "A, C, E, F, H; not B (late) nor D (unanswered)"
    );
    assert_eq!(row.closed, 2, "F and H");
    assert_eq!(row.handled, 2, "A and H");
    assert_eq!(row.verified, 2, "F and H");
    assert_eq!(row.rated, 0);
    assert_eq!(
        row.overdue, 0,
        "B is due Tuesday 14:00, D and E are within their stages"
    );
    // After 11:00, D is merged into E and drops out.
    let rows = kpis(
        &world,
        &stories,
        KpiGrouping::District,
        t(FROM),
        t("2024-03-05 11:00"),
    );
    assert_eq!(rows[0].reported, 6);
}

#[test]
fn overdue_means_past_the_running_deadline_at_the_as_of_instant() {
    let world = World::new();
    let stories = week(&world);
    let e = history(&stories, "E");
    // E's handle stage is due Wednesday 10:10.
    assert!(!facts(&world, e, "2024-03-06 10:00").overdue);
    assert!(
        !facts(&world, e, "2024-03-06 10:10").overdue,
        "due exactly now is not yet overdue"
    );
    assert!(facts(&world, e, "2024-03-06 10:11").overdue);
    // A closed case is never overdue, however late it was.
    assert!(!facts(&world, history(&stories, "B"), TO).overdue);
    // G, reported the Friday before and never accepted, is overdue but outside the window.
    assert!(facts(&world, history(&stories, "G"), TO).overdue);
}

/// What the code does at the window's closing instant: an event at exactly `to` is counted in the
/// facts "as of `to`", although a case reported at exactly `to` is outside `[from, to)`.
#[test]
fn an_event_at_exactly_the_as_of_instant_is_counted() {
    let world = World::new();
    let stories = week(&world);
    // H is closed at Tuesday 10:00.
    let h = history(&stories, "H");
    assert!(facts(&world, h, "2024-03-05 10:00").closed);
    assert!(!facts(&world, h, "2024-03-05 09:59").closed);
    let rows = kpis(
        &world,
        &stories,
        KpiGrouping::Cell,
        t(FROM),
        t("2024-03-05 10:00"),
    );
    let cell_1b = rows
        .iter()
        .find(|r| r.key == CELL_1B)
        .expect("B and H are in cell 1B");
    assert_eq!(cell_1b.closed, 1, "H, closed at exactly `to`");
}

#[test]
fn an_approved_extension_moves_the_on_time_mark() {
    let world = World::new();
    let mut story = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    story.step(DISPATCHER_1, accept(), "2024-03-04 10:30");
    story.step(DISPATCHER_1, dispatch("chengguan"), "2024-03-04 11:00");
    story.step(HANDLER_CHENGGUAN, request_extension(8), "2024-03-04 15:00");
    story.step(DISPATCHER_1, approve_extension(), "2024-03-05 10:00");
    // Originally due Tuesday 11:30, now Wednesday 17:30: Wednesday 16:00 is on time.
    story.step(HANDLER_CHENGGUAN, feedback(), "2024-03-06 16:00");
    let facts = facts(&world, &story.events, "2024-03-07 00:00");
    assert!(facts.handled && facts.all_handling_on_time);
    // Handling time still runs from the dispatch: Mon 60 + 270, Tue 450, Wed 180 + 150.
    assert_eq!(facts.handling_minutes, 60 + 270 + 450 + 180 + 150);
}

#[test]
fn long_term_cases_are_not_overdue_and_resume_counts_only_the_new_stage() {
    let world = World::new();
    let mut story = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    story.step(DISPATCHER_1, accept(), "2024-03-04 10:30");
    story.step(DISPATCHER_1, dispatch("chengguan"), "2024-03-04 11:00");
    story.step(
        DISPATCHER_1,
        set_long_term("纳入改造计划"),
        "2024-03-04 14:00",
    );
    assert!(!facts(&world, &story.events, "2024-04-01 10:00").overdue);
    story.step(DISPATCHER_1, resume(), "2024-04-01 09:00");
    story.step(HANDLER_CHENGGUAN, feedback(), "2024-04-01 11:00");
    let facts = facts(&world, &story.events, "2024-04-02 00:00");
    assert!(facts.all_handling_on_time);
    assert_eq!(
        facts.handling_minutes, 120,
        "from the resume at 09:00 to 11:00"
    );
}

#[test]
fn kpis_do_not_depend_on_the_order_of_histories() {
    let world = World::new();
    let stories = week(&world);
    let mut reversed = histories(&stories);
    reversed.reverse();
    let forward = kpis(&world, &stories, KpiGrouping::Cell, t(FROM), t(TO));
    let backward = compute(
        world.calendar(),
        reversed,
        KpiGrouping::Cell,
        t(FROM),
        t(TO),
    )
    .expect("2024 is covered");
    assert_eq!(forward, backward);
    // An empty history is skipped, not counted.
    let mut with_empty = histories(&stories);
    with_empty.push(&[]);
    let rows = compute(
        world.calendar(),
        with_empty,
        KpiGrouping::Cell,
        t(FROM),
        t(TO),
    )
    .expect("2024 is covered");
    assert_eq!(rows, forward);
}

/// 解决 is a rating of 3 or more, 满意 4 or more; an answer or feedback at exactly the due time
/// is on time.
#[test]
fn rating_thresholds_and_on_time_at_the_exact_due_time() {
    let world = World::new();
    let mut stories = Vec::new();
    for score in 1..=5u8 {
        let mut story = world.report(
            u64::from(score),
            CITIZEN_LI,
            report_in(CELL_1A, LITTER),
            "2024-03-04 10:00",
        );
        // Accepted at exactly the accept due time (11:00), dispatched at 11:00, feedback at
        // exactly the handle due time (Tuesday 11:30).
        story.step(DISPATCHER_1, accept(), "2024-03-04 11:00");
        story.step(DISPATCHER_1, dispatch("chengguan"), "2024-03-04 11:00");
        story.step(HANDLER_CHENGGUAN, feedback(), "2024-03-05 11:30");
        story.step(GRID_WANG, verify_pass(), "2024-03-05 14:00");
        story.step(DISPATCHER_1, close(), "2024-03-05 15:00");
        story.step(CITIZEN_LI, rate(score), "2024-03-05 16:00");
        stories.push(story);
    }
    let histories: Vec<&[Event]> = stories.iter().map(|s| s.events.as_slice()).collect();
    let rows = compute(
        world.calendar(),
        histories,
        KpiGrouping::District,
        t(FROM),
        t(TO),
    )
    .expect("2024 is covered");
    let row = &rows[0];
    assert_eq!(row.rated, 5);
    assert_eq!(row.solved, 3, "ratings 3, 4 and 5");
    assert_eq!(row.satisfied, 2, "ratings 4 and 5");
    assert_eq!(row.solution_rate, Some(0.6));
    assert_eq!(row.satisfaction_rate, Some(0.4));
    assert_eq!(row.responded_on_time, 5, "accepted at exactly the due time");
    assert_eq!(row.handled_on_time, 5, "feedback at exactly the due time");
    assert_eq!(row.on_time_handling_rate, Some(1.0));
}

/// The department key is the lead department holding the case at the end of the window: a case
/// returned (退回) and not yet dispatched again is `unassigned`, and everything it went through
/// counts for whichever department holds it last.
#[test]
fn the_department_key_follows_the_current_lead_department() {
    let world = World::new();
    let mut story = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    story.step(DISPATCHER_1, accept(), "2024-03-04 10:10");
    story.step(DISPATCHER_1, dispatch("zhujian"), "2024-03-04 10:20");
    assert_eq!(
        facts(&world, &story.events, "2024-03-04 11:00").department_key,
        "zhujian"
    );
    story.step(
        HANDLER_ZHUJIAN,
        return_case("非住建职责"),
        "2024-03-04 14:00",
    );
    assert_eq!(
        facts(&world, &story.events, "2024-03-04 15:00").department_key,
        "unassigned"
    );
    story.step(DISPATCHER_1, dispatch("chengguan"), "2024-03-04 14:30");
    story.step(HANDLER_CHENGGUAN, feedback(), "2024-03-04 16:00");
    let facts = facts(&world, &story.events, "2024-03-05 00:00");
    assert_eq!(facts.department_key, "chengguan");
    // Only the stage that ended with feedback is handling time: 14:30–16:00.
    assert_eq!(facts.handling_minutes, 90);
}

// ---------------------------------------------------------------- categories

/// A proposal (建议提案) handed over to the desk: filed by the dispatcher under its kind's category.
fn proposal(kind: ProposalKind) -> NewReport {
    let mut report = report_via(Channel::Desk, CELL_1A, kind.category_code());
    report.title = "关于加强老旧小区环境整治的建议".to_string();
    report.proposal = Some(Proposal {
        kind,
        number: "第0123号".to_string(),
        session: Some("区十七届人大五次会议".to_string()),
        due_at: Some(t("2024-03-29 18:00")),
        proposer: "王代表".to_string(),
    });
    report
}

/// The week's cases (all 暴露垃圾 S0101), plus:
/// - P (Z9901 人大代表建议): handled, closed, rated 5.
/// - Q (Z9902 政协委员提案): handled, closed, rated 2.
/// - R: reported as S0101, accepted Tuesday 10:00 as S0102 积存垃圾渣土, never dispatched.
fn week_with_proposals(world: &World) -> Vec<(&'static str, Story<'_>)> {
    let mut stories = week(world);
    for (letter, id, kind, score) in [
        ("P", 20, ProposalKind::NpcSuggestion, 5),
        ("Q", 21, ProposalKind::CppccProposal, 2),
    ] {
        let mut story = world.report(id, DISPATCHER_1, proposal(kind), "2024-03-04 09:00");
        story.step(DISPATCHER_1, accept(), "2024-03-04 09:10");
        story.step(DISPATCHER_1, dispatch("chengguan"), "2024-03-04 09:20");
        story.step(HANDLER_CHENGGUAN, feedback(), "2024-03-06 10:00");
        story.step(DISPATCHER_1, verify_pass(), "2024-03-06 11:00");
        story.step(DISPATCHER_1, close(), "2024-03-06 14:00");
        story.step(DISPATCHER_1, rate(score), "2024-03-07 10:00");
        story.assert_history_consistent();
        stories.push((letter, story));
    }
    let mut r = world.report(
        22,
        CITIZEN_LI,
        report_in(CELL_2A, LITTER),
        "2024-03-05 09:30",
    );
    r.step(DISPATCHER_2, accept_as(DEBRIS), "2024-03-05 10:00");
    r.assert_history_consistent();
    stories.push(("R", r));
    stories
}

fn filtered(
    world: &World,
    stories: &[(&'static str, Story<'_>)],
    grouping: KpiGrouping,
    code: &str,
    to: &str,
) -> Vec<KpiRow> {
    let filter = CategoryFilter::parse(code, &world.reference.taxonomy).expect("a known code");
    compute_filtered(
        world.calendar(),
        histories(stories),
        grouping,
        &filter,
        t(FROM),
        t(to),
    )
    .expect("2024 is covered")
}

#[test]
fn the_category_is_the_one_held_at_the_as_of_instant() {
    let world = World::new();
    let stories = week_with_proposals(&world);
    let r = history(&stories, "R");
    assert_eq!(
        facts(&world, r, "2024-03-05 09:59").category,
        Some(category(LITTER)),
        "as reported"
    );
    assert_eq!(
        facts(&world, r, TO).category,
        Some(category(DEBRIS)),
        "as accepted"
    );
    assert_eq!(
        facts(&world, history(&stories, "P"), TO).category,
        Some(category("Z9901"))
    );
    // A merged duplicate keeps its category but is not counted (§2).
    let d = facts(&world, history(&stories, "D"), TO);
    assert!(d.merged);
    assert_eq!(d.category, Some(category(LITTER)));
}

#[test]
fn rows_by_category_are_one_per_subcategory_and_add_up_to_the_district() {
    let world = World::new();
    let stories = week_with_proposals(&world);
    let rows = kpis(&world, &stories, KpiGrouping::Category, t(FROM), t(TO));
    assert_eq!(keys(&rows), [LITTER, DEBRIS, "Z9901", "Z9902"]);
    assert_eq!(
        rows.iter().map(|r| r.reported).collect::<Vec<_>>(),
        [6, 1, 1, 1],
        "the week's six, R as reclassified, P, Q"
    );
    let district = kpis(&world, &stories, KpiGrouping::District, t(FROM), t(TO));
    assert_eq!(
        total(&rows),
        total(&district),
        "every case in exactly one row"
    );
    // R counts under its reported category until it is reclassified.
    let before = kpis(
        &world,
        &stories,
        KpiGrouping::Category,
        t(FROM),
        t("2024-03-05 09:59"),
    );
    assert_eq!(keys(&before), [LITTER, "Z9901", "Z9902"]);
    assert_eq!(
        before[0].reported, 7,
        "A, B, C, E, F, H and R (D comes at 10:00)"
    );
}

/// 建议提案: the satisfaction rate of proposals alone, of each kind, and without them.
#[test]
fn a_category_filter_counts_only_its_cases() {
    let world = World::new();
    let stories = week_with_proposals(&world);
    // Both kinds: rated 5 and 2, so one of two satisfied.
    let proposals = filtered(&world, &stories, KpiGrouping::District, "Z99", TO);
    assert_eq!(keys(&proposals), [DISTRICT]);
    check_row(
        &proposals[0],
        DISTRICT,
        Counts {
            reported: 2,
            responded_on_time: 2,
            accepted: 2,
            closed: 2,
            handled: 2,
            handled_on_time: 2,
            verified: 2,
            reworked: 0,
            overdue: 0,
            // Monday 09:20–12:00 and 13:30–18:00, Tuesday, Wednesday 09:00–10:00, for each.
            handling_minutes: 2 * (160 + 270 + 450 + 60),
            rated: 2,
            solved: 1,
            satisfied: 1,
        },
        Rates {
            on_time_handling: Some(1.0),
            closure: Some(1.0),
            rework: Some(0.0),
            mean_handling_hours: Some(940.0 / 60.0),
            response: Some(1.0),
            solution: Some(0.5),
            satisfaction: Some(0.5),
        },
    );
    // One kind each.
    let npc = filtered(&world, &stories, KpiGrouping::District, "Z9901", TO);
    assert_eq!((npc[0].reported, npc[0].satisfaction_rate), (1, Some(1.0)));
    let cppcc = filtered(&world, &stories, KpiGrouping::District, "z9902", TO);
    assert_eq!(
        (cppcc[0].reported, cppcc[0].satisfaction_rate),
        (1, Some(0.0))
    );
    // Grouped by category under a major-class filter: its subcategories only.
    let by_category = filtered(&world, &stories, KpiGrouping::Category, "Z99", TO);
    assert_eq!(keys(&by_category), ["Z9901", "Z9902"]);
    // The major class S01 (市容环境) holds the week's cases and R, not the proposals.
    let city = filtered(&world, &stories, KpiGrouping::Category, "S01", TO);
    assert_eq!(keys(&city), [LITTER, DEBRIS]);
    let subcategory = filtered(&world, &stories, KpiGrouping::Street, LITTER, TO);
    let week_only = kpis(&world, &week(&world), KpiGrouping::Street, t(FROM), t(TO));
    let proposal_free: Vec<_> = subcategory
        .iter()
        .map(|r| (r.key.clone(), counts(r)))
        .collect();
    let expected: Vec<_> = week_only
        .iter()
        .map(|r| (r.key.clone(), counts(r)))
        .collect();
    assert_eq!(proposal_free, expected, "S0101 alone is the week as before");
    // A category with no case in the window has no row.
    assert!(filtered(&world, &stories, KpiGrouping::District, "Z01", TO).is_empty());
    // Every category: the same rows as `compute`.
    let all = compute_filtered(
        world.calendar(),
        histories(&stories),
        KpiGrouping::Cell,
        &CategoryFilter::All,
        t(FROM),
        t(TO),
    )
    .expect("2024 is covered");
    assert_eq!(
        all,
        kpis(&world, &stories, KpiGrouping::Cell, t(FROM), t(TO))
    );
}
