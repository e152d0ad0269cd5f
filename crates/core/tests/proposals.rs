//! Proposals (建议提案) as cases: filed by the desk under their kind's category, the handle stage
//! runs to the date the document carries (or 3 months after filing), the rating counts in the KPIs of
//! the proposal categories, and it is in the verified hash chain.

#[allow(dead_code)]
#[path = "core/helpers.rs"]
mod helpers;

use chrono::DateTime;
use onegrid_core::case::{Proposal, ProposalKind};
use onegrid_core::history::{verify_chain, ActorRef, Event, EventKind, GENESIS_HASH};
use onegrid_core::kpi::{compute, KpiGrouping};
use onegrid_core::{CaseId, Channel, NewReport, Role, Stage, WorkflowError};
use sha2::{Digest, Sha256};

use helpers::*;

const NPC: &str = "Z9901";
const CPPCC: &str = "Z9902";

fn proposal_report(kind: ProposalKind, due: Option<&str>) -> NewReport {
    let mut report = report_via(Channel::Desk, CELL_1A, kind.category_code());
    report.title = "关于加强老旧小区环境整治的建议".to_string();
    report.proposal = Some(Proposal {
        kind,
        number: "第0123号".to_string(),
        session: Some("区十七届人大五次会议".to_string()),
        due_at: due.map(t),
        proposer: "王代表".to_string(),
    });
    report
}

#[test]
fn the_handle_stage_runs_to_the_carried_date_and_stays_there() {
    let world = World::new();
    let report = proposal_report(ProposalKind::NpcSuggestion, Some("2024-06-28 18:00"));
    let mut story = world.report(1, DISPATCHER_1, report, "2024-03-04 10:00");
    assert_eq!(story.case.category, category(NPC));
    assert_eq!(story.case.tier, onegrid_core::Tier::District);
    story.step(DISPATCHER_1, accept(), "2024-03-04 11:00");
    story.step(DISPATCHER_1, dispatch("chengguan"), "2024-03-04 14:00");
    let deadline = story.case.deadline.expect("a running deadline");
    assert_eq!(deadline.stage, Stage::Handle);
    assert_eq!(deadline.due_at, t("2024-06-28 18:00"));
    assert_eq!(deadline.started_at, t("2024-03-04 14:00"));
    // Working hours left, not the category's 480.
    let minutes = world
        .calendar()
        .working_minutes_between(t("2024-03-04 14:00"), t("2024-06-28 18:00"))
        .expect("2024 is covered");
    assert_eq!(deadline.limit_hours, (minutes / 60) as u32);

    // Rework does not restart the clock: the document's deadline stands.
    story.step(HANDLER_CHENGGUAN, feedback(), "2024-04-10 10:00");
    story.step(DISPATCHER_1, verify_fail("答复未落实"), "2024-04-11 10:00");
    assert_eq!(
        story.case.deadline.expect("running").due_at,
        t("2024-06-28 18:00")
    );
    story.assert_history_consistent();
}

#[test]
fn without_a_carried_date_it_is_due_three_months_after_filing() {
    let world = World::new();
    let report = proposal_report(ProposalKind::CppccProposal, None);
    let mut story = world.report(1, COMMANDER, report, "2024-03-15 10:00");
    story.step(COMMANDER, accept(), "2024-03-15 11:00");
    story.step(COMMANDER, dispatch("zhujian"), "2024-03-18 09:30");
    let deadline = story.case.deadline.expect("running");
    assert_eq!(deadline.due_at, t("2024-06-15 10:00"));
    assert_eq!(story.case.category, category(CPPCC));
}

#[test]
fn only_the_desk_files_proposals_and_only_under_their_category() {
    let world = World::new();
    let mut citizens = proposal_report(ProposalKind::NpcSuggestion, None);
    citizens.channel = Channel::Citizen;
    citizens.reporter.channel = Channel::Citizen;
    let refused = world
        .try_report(1, CITIZEN_LI, citizens, "2024-03-04 10:00")
        .expect_err("a citizen cannot file a proposal");
    assert!(matches!(
        refused,
        WorkflowError::RoleNotAllowed {
            role: Role::Citizen,
            ..
        }
    ));
    assert_mentions(&refused, &["proposal", "dispatcher"]);

    let mut blank = proposal_report(ProposalKind::NpcSuggestion, None);
    if let Some(p) = blank.proposal.as_mut() {
        p.number = " ".to_string();
    }
    let refused = world
        .try_report(1, DISPATCHER_1, blank, "2024-03-04 10:00")
        .expect_err("a number is required");
    assert_mentions(&refused, &["proposal", "number"]);

    let mut mismatched = proposal_report(ProposalKind::CppccProposal, None);
    mismatched.category = category(NPC);
    let refused = world
        .try_report(1, DISPATCHER_1, mismatched, "2024-03-04 10:00")
        .expect_err("a CPPCC proposal is not an NPC suggestion");
    assert_mentions(&refused, &["Z9902"]);

    let posing = report_via(Channel::Desk, CELL_1A, NPC);
    let refused = world
        .try_report(1, DISPATCHER_1, posing, "2024-03-04 10:00")
        .expect_err("no proposal category without a proposal");
    assert_mentions(&refused, &["Z9901", "proposal"]);

    // Acceptance cannot move a proposal out of its category, nor a case into one.
    let story = world.report(
        1,
        DISPATCHER_1,
        proposal_report(ProposalKind::NpcSuggestion, None),
        "2024-03-04 10:00",
    );
    let refused = story.refused(DISPATCHER_1, accept_as(LITTER), "2024-03-04 11:00");
    assert_mentions(&refused, &["Z9901"]);
    let litter = world.report(
        2,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    let refused = litter.refused(DISPATCHER_1, accept_as(NPC), "2024-03-04 11:00");
    assert_mentions(&refused, &["proposals"]);
}

/// The satisfaction rate of proposals is the KPI computation over the histories of the proposal
/// categories; the rating it counts is an event of the verified chain.
#[test]
fn a_rated_proposal_counts_in_satisfaction_and_its_rating_is_in_the_chain() {
    let world = World::new();
    let mut proposal = world.report(
        1,
        DISPATCHER_1,
        proposal_report(ProposalKind::NpcSuggestion, Some("2024-06-28 18:00")),
        "2024-03-04 10:00",
    );
    proposal.step(DISPATCHER_1, accept(), "2024-03-04 11:00");
    proposal.step(DISPATCHER_1, dispatch("chengguan"), "2024-03-04 14:00");
    proposal.step(HANDLER_CHENGGUAN, feedback(), "2024-04-10 10:00");
    proposal.step(DISPATCHER_1, verify_pass(), "2024-04-11 10:00");
    proposal.step(DISPATCHER_1, close(), "2024-04-11 11:00");
    proposal.step(DISPATCHER_1, rate(5), "2024-04-12 10:00");

    let mut litter = world.report(
        2,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    litter.step(DISPATCHER_1, accept(), "2024-03-04 10:30");
    litter.step(DISPATCHER_1, dispatch("chengguan"), "2024-03-04 11:00");
    litter.step(HANDLER_CHENGGUAN, feedback(), "2024-03-05 10:00");
    litter.step(GRID_WANG, verify_pass(), "2024-03-05 14:00");
    litter.step(DISPATCHER_1, close(), "2024-03-05 15:00");
    litter.step(CITIZEN_LI, rate(1), "2024-03-06 09:00");

    let histories = [proposal.events.as_slice(), litter.events.as_slice()];
    let is_proposal = |events: &&[Event]| {
        matches!(
            events.first().map(|e| &e.kind),
            Some(EventKind::Reported { report, .. })
                if ProposalKind::of_category(report.category.as_str()).is_some()
        )
    };
    let rows = compute(
        world.calendar(),
        histories.iter().copied().filter(is_proposal),
        KpiGrouping::District,
        t("2024-03-01 00:00"),
        t("2024-05-01 00:00"),
    )
    .expect("2024 is covered");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].reported, rows[0].rated, rows[0].satisfied),
        (1, 1, 1)
    );
    assert_eq!(rows[0].satisfaction_rate, Some(1.0));
    assert_eq!(rows[0].handled_on_time, 1);

    // All cases together: the proposal's rating is one of the two.
    let all = compute(
        world.calendar(),
        histories.iter().copied(),
        KpiGrouping::District,
        t("2024-03-01 00:00"),
        t("2024-05-01 00:00"),
    )
    .expect("2024 is covered");
    assert_eq!((all[0].rated, all[0].satisfied), (2, 1));
    assert_eq!(all[0].satisfaction_rate, Some(0.5));

    // The rating is in the verified chain, and editing it breaks the chain.
    verify_chain(CaseId(1), &proposal.events).expect("the chain verifies");
    let last = proposal.events.last().expect("events");
    assert!(matches!(&last.kind, EventKind::Rated { rating } if rating.score == 5));
    let mut forged = proposal.events.clone();
    if let Some(EventKind::Rated { rating }) = forged.last_mut().map(|e| &mut e.kind) {
        rating.score = 1;
    }
    assert!(verify_chain(CaseId(1), &forged).is_err());
    // The report event records the proposal, hash-chained with the rest.
    assert!(matches!(
        &proposal.events[0].kind,
        EventKind::Reported { report, .. }
            if report.proposal.as_ref().is_some_and(|p| p.number == "第0123号")
    ));
}

/// The hash of an event written before proposals existed is unchanged: it is SHA-256 over the same
/// bytes, which carry no `proposal` field.
#[test]
fn old_report_events_hash_as_before() {
    let content = concat!(
        r#"{"case_id":7,"seq":1,"at":"2024-03-04T02:00:00Z","#,
        r#""actor":{"person":"citizen.li","role":"citizen"},"#,
        r#""kind":{"type":"reported","report":{"channel":"citizen","#,
        r#""reporter":{"channel":"citizen","person":"citizen.li","name":"李明","phone":null},"#,
        r#""cell":"120110001001001","point":null,"address":null,"category":"S0101","#,
        r#""title":"路边垃圾","description":"","photos":[],"tier":null},"#,
        r#""tier":"grid","deadline":{"stage":"accept","started_at":"2024-03-04T02:00:00Z","#,
        r#""due_at":"2024-03-04T03:00:00Z","limit_hours":1}},"#,
        r#""prev_hash":"0000000000000000000000000000000000000000000000000000000000000000"}"#
    );
    let expected = hex_sha256(content);
    let kind: EventKind = serde_json::from_str(
        &serde_json::to_string(
            &serde_json::from_str::<serde_json::Value>(content).expect("json")["kind"],
        )
        .expect("json"),
    )
    .expect("an old report event parses");
    let event = Event::new(
        CaseId(7),
        1,
        DateTime::parse_from_rfc3339("2024-03-04T02:00:00Z")
            .expect("time")
            .to_utc(),
        ActorRef {
            person: person_id(CITIZEN_LI),
            role: Role::Citizen,
        },
        kind,
        GENESIS_HASH,
    );
    assert_eq!(event.hash, expected);
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
