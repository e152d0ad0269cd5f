//! Tamper detection: editing, deleting, reordering or re-hashing any one event of a generated
//! history is caught, and `verify_chain` names the edited event.
//!
//! Two edits cannot be seen in the chain alone, only against the case's stored head (its version
//! and `head_hash`): deleting the last event (truncation) and editing the last event while
//! recomputing its hash. The tests check that the stored head catches them.

use onegrid_core::history::{replay, verify_chain, ChainError, Event, EventKind, GENESIS_HASH};
use onegrid_core::{CaseId, PersonId};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::helpers::*;
use crate::properties::{run, run_strategy};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tamper {
    EditTime,
    EditActor,
    EditKind,
    EditPrevHash,
    EditHash,
    EditCaseId,
    EditSeq,
    /// Edit the content and recompute the event's own hash, as a careful forger would.
    EditAndRehash,
    Delete,
    Swap,
}

const TAMPERS: [Tamper; 10] = [
    Tamper::EditTime,
    Tamper::EditActor,
    Tamper::EditKind,
    Tamper::EditPrevHash,
    Tamper::EditHash,
    Tamper::EditCaseId,
    Tamper::EditSeq,
    Tamper::EditAndRehash,
    Tamper::Delete,
    Tamper::Swap,
];

fn forged_kind() -> EventKind {
    EventKind::SupervisionIssued {
        note: "伪造的督办".to_string(),
    }
}

/// Applies `tamper` to event `index` (and `other`, for a swap) and says what `verify_chain` must
/// report: `Some(error)`, or `None` when only the stored head can tell.
fn tampered(
    events: &[Event],
    tamper: Tamper,
    index: usize,
    other: usize,
) -> (Vec<Event>, Option<ChainError>) {
    let mut events = events.to_vec();
    let case_id = events[0].case_id;
    let last = events.len() - 1;
    let seq = index as u64 + 1;
    let content_hash = Some(ChainError::ContentHash { case_id, seq });
    let event = &mut events[index];
    let expected = match tamper {
        Tamper::EditTime => {
            event.at += chrono::TimeDelta::minutes(1);
            content_hash
        }
        Tamper::EditActor => {
            event.actor.person = PersonId::parse("forger").expect("valid id");
            content_hash
        }
        Tamper::EditKind => {
            event.kind = forged_kind();
            content_hash
        }
        Tamper::EditPrevHash => {
            event.prev_hash = if index == 0 {
                "f".repeat(64)
            } else {
                GENESIS_HASH.to_string()
            };
            content_hash
        }
        Tamper::EditHash => {
            event.hash = if event.hash == GENESIS_HASH {
                "1".repeat(64)
            } else {
                GENESIS_HASH.to_string()
            };
            content_hash
        }
        Tamper::EditCaseId => {
            event.case_id = CaseId(case_id.0 + 100);
            Some(ChainError::WrongCase {
                case_id,
                seq,
                found: CaseId(case_id.0 + 100),
            })
        }
        Tamper::EditSeq => {
            event.seq += 100;
            Some(ChainError::Sequence {
                case_id,
                seq: seq + 100,
                expected: seq,
            })
        }
        Tamper::EditAndRehash => {
            event.kind = forged_kind();
            event.hash = event.computed_hash();
            // The next event still points at the old hash.
            (index < last).then_some(ChainError::Link {
                case_id,
                seq: seq + 1,
            })
        }
        Tamper::Delete => {
            events.remove(index);
            if events.is_empty() {
                Some(ChainError::Empty { case_id })
            } else {
                (index < last).then_some(ChainError::Sequence {
                    case_id,
                    seq: seq + 1,
                    expected: seq,
                })
            }
        }
        Tamper::Swap => {
            let (low, high) = (index.min(other), index.max(other));
            events.swap(low, high);
            Some(ChainError::Sequence {
                case_id,
                seq: high as u64 + 1,
                expected: low as u64 + 1,
            })
        }
    };
    (events, expected)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    /// (d) Any one tampered event is detected, and content edits are pinned to the edited event.
    #[test]
    fn tampering_with_any_one_event_is_detected(
        (start, steps) in run_strategy(),
        tamper in proptest::sample::select(TAMPERS.to_vec()),
        index in any::<prop::sample::Index>(),
        other in any::<prop::sample::Index>(),
    ) {
        let world = World::new();
        let run = run(&world, start, &steps)?;
        // Tamper with the longer of the two histories.
        let (case, events) = run
            .cases
            .iter()
            .zip(&run.histories)
            .filter_map(|(case, events)| case.as_ref().map(|c| (c, events)))
            .max_by_key(|(_, events)| events.len())
            .ok_or_else(|| TestCaseError::reject("no case reported"))?;
        if tamper == Tamper::Swap && events.len() < 2 {
            return Err(TestCaseError::reject("nothing to swap"));
        }
        let index = index.index(events.len());
        let mut other = other.index(events.len());
        if tamper == Tamper::Swap && other == index {
            other = (index + 1) % events.len();
        }
        let (forged, expected) = tampered(events, tamper, index, other);
        let verdict = verify_chain(case.id, &forged);
        match expected {
            Some(expected) => {
                prop_assert_eq!(&verdict, &Err(expected.clone()));
                let message = expected.to_string();
                prop_assert!(message.contains(&format!("case {}", case.id)), "{}", message);
                prop_assert!(replay(case.id, &forged).is_err(), "replay checks the chain first");
            }
            None => {
                // Undetectable in the chain alone; the stored head tells.
                prop_assert_eq!(verdict, Ok(()));
                let replayed = replay(case.id, &forged);
                prop_assert!(
                    replayed.as_ref() != Ok(case),
                    "a truncated or re-hashed history must not rebuild the stored case"
                );
                if let Ok(replayed) = replayed {
                    prop_assert!(
                        replayed.version != case.version || replayed.head_hash != case.head_hash,
                        "the stored head must differ"
                    );
                }
            }
        }
    }
}

/// The messages say which event broke and how.
#[test]
fn chain_errors_name_the_event_and_the_kind_of_damage() {
    let world = World::new();
    let mut story = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    story.step(DISPATCHER_1, accept(), "2024-03-04 10:30");
    story.step(DISPATCHER_1, dispatch("chengguan"), "2024-03-04 11:00");
    story.step(HANDLER_CHENGGUAN, feedback(), "2024-03-05 10:00");
    let events = &story.events;
    assert_eq!(verify_chain(CaseId(1), events), Ok(()));

    // A dispatch quietly redirected to another department.
    let mut edited = events.clone();
    if let EventKind::Dispatched {
        department: lead, ..
    } = &mut edited[2].kind
    {
        *lead = department("jiedao");
    }
    let err = verify_chain(CaseId(1), &edited).expect_err("edit detected");
    assert_eq!(
        err,
        ChainError::ContentHash {
            case_id: CaseId(1),
            seq: 3
        }
    );
    assert!(err.to_string().contains("event 3"), "{err}");
    assert!(err.to_string().contains("edited"), "{err}");

    // The same edit with a recomputed hash breaks the link from event 4.
    edited[2].hash = edited[2].computed_hash();
    let err = verify_chain(CaseId(1), &edited).expect_err("link broken");
    assert_eq!(
        err,
        ChainError::Link {
            case_id: CaseId(1),
            seq: 4
        }
    );
    assert!(err.to_string().contains("event 4"), "{err}");
    assert!(err.to_string().contains("event 3"), "{err}");

    let mut deleted = events.clone();
    deleted.remove(1);
    let err = verify_chain(CaseId(1), &deleted).expect_err("gap detected");
    assert_eq!(
        err,
        ChainError::Sequence {
            case_id: CaseId(1),
            seq: 3,
            expected: 2
        }
    );
    assert!(err.to_string().contains("missing or out of order"), "{err}");

    let err = verify_chain(CaseId(2), events).expect_err("another case's history");
    assert!(
        matches!(
            err,
            ChainError::WrongCase {
                found: CaseId(1),
                ..
            }
        ),
        "{err:?}"
    );
    let err = verify_chain(CaseId(1), &[]).expect_err("empty");
    assert_eq!(err, ChainError::Empty { case_id: CaseId(1) });

    // Truncation leaves a valid, shorter chain: only the stored head (version 4) shows it.
    let truncated = &events[..3];
    assert_eq!(verify_chain(CaseId(1), truncated), Ok(()));
    let replayed = replay(CaseId(1), truncated).expect("a valid prefix replays");
    assert_ne!(replayed.version, story.case.version);
    assert_ne!(replayed.head_hash, story.case.head_hash);
}

/// A well-linked history whose events cannot follow each other is refused by replay.
#[test]
fn replay_refuses_a_history_that_does_not_fold() {
    let world = World::new();
    let mut story = world.report(
        1,
        CITIZEN_LI,
        report_in(CELL_1A, LITTER),
        "2024-03-04 10:00",
    );
    story.step(DISPATCHER_1, accept(), "2024-03-04 10:30");
    // Re-forge the whole chain from event 2 with a second report in place of the acceptance.
    let mut forged = story.events.clone();
    forged[1].kind = story.events[0].kind.clone();
    forged[1].hash = forged[1].computed_hash();
    assert_eq!(verify_chain(CaseId(1), &forged), Ok(()));
    let err = replay(CaseId(1), &forged).expect_err("a second report cannot follow");
    assert!(
        matches!(
            err,
            ChainError::Replay {
                seq: 2,
                kind: "reported",
                ..
            }
        ),
        "{err:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A store keeps events as JSON. Reading them back must give the same events, or an honest
    /// history would fail `verify_chain` as if it had been edited. Points converted from GCJ-02 or
    /// BD-09 carry every bit of an f64, so any coordinate must survive the round trip.
    #[test]
    fn an_event_read_back_from_json_still_verifies(lon in -180.0f64..=180.0, lat in -90.0f64..=90.0) {
        let world = World::new();
        let mut report = report_in(CELL_1A, LITTER);
        report.point = Some(onegrid_core::GeoPoint { lon, lat });
        let (case, event) = world
            .try_report(1, CITIZEN_LI, report, "2024-03-04 10:00")
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let json = serde_json::to_string(&event).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let read_back: Event = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&read_back, &event, "{}", json);
        prop_assert_eq!(verify_chain(case.id, std::slice::from_ref(&read_back)), Ok(()));
        prop_assert_eq!(replay(case.id, &[read_back]), Ok(case));
    }
}

/// Regression: with serde_json's default float parser this latitude came back one ULP off
/// (-51.07133533462672), so the event's recomputed hash no longer matched.
#[test]
fn regression_a_latitude_that_did_not_survive_json() {
    let lat = -51.071335334626724_f64;
    let json = serde_json::to_string(&lat).expect("a float serializes");
    let read_back: f64 = serde_json::from_str(&json).expect("and parses");
    assert_eq!(read_back.to_bits(), lat.to_bits(), "{json}");
}
