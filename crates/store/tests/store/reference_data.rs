//! Reference data: checked before it is stored, replaced as a whole, and read by the rules at once.

use onegrid_core::{CaseState, Person, Role, WorkflowError};
use onegrid_store::{actor_for, Store, StoreError};

use crate::fixture::*;

/// The fixture's reference data with one more person.
fn reference_with(extra: Person) -> onegrid_core::Reference {
    let mut reference = reference();
    reference.people.insert(extra.id.clone(), extra);
    reference
}

#[tokio::test]
async fn invalid_reference_data_is_refused_and_changes_nothing() {
    let db = TestDb::new().await;
    db.reported(CELL_1A, LITTER, "暴露垃圾", at(0)).await;
    let bad_people = [
        (
            person("dispatcher.ghost", Role::Dispatcher, &["120110009"], None),
            vec!["dispatcher.ghost", "120110009", "not in the area tree"],
        ),
        (
            person("handler.nobody", Role::DepartmentHandler, &[], None),
            vec!["handler.nobody", "department handler without a department"],
        ),
        (
            person(
                "handler.lost",
                Role::DepartmentHandler,
                &[],
                Some("nosuchdept"),
            ),
            vec!["handler.lost", "unknown department nosuchdept"],
        ),
        (
            Person {
                name: "  ".to_string(),
                ..person("citizen.anon", Role::Citizen, &[], None)
            },
            vec!["citizen.anon", "empty name"],
        ),
    ];
    let is_invalid = |error: &StoreError| matches!(error, StoreError::InvalidReference(_));
    for (bad_person, names) in bad_people {
        check_refused(
            &db,
            db.store.put_reference(reference_with(bad_person.clone())),
            is_invalid,
            &names,
        )
        .await;
        check_refused(&db, db.store.put_person(bad_person), is_invalid, &names).await;
    }

    // Nothing reached the file either.
    let db = db.reopen().await;
    assert_eq!(
        ReferenceSnapshot::of(&db.store.reference()),
        ReferenceSnapshot::of(&reference())
    );
    db.assert_verifies().await;
}

#[tokio::test]
async fn a_new_person_can_act_at_once_and_after_reopening() {
    let db = TestDb::new().await;
    let street_2_case = db.reported(CELL_2A, LITTER, "纸屑", at(0)).await;
    let street_1_case = db.reported(CELL_1A, LITTER, "塑料袋", at(1)).await;

    db.store
        .put_person(person(
            "dispatcher.night",
            Role::Dispatcher,
            &[STREET_2],
            None,
        ))
        .await
        .unwrap();
    let accepted = db
        .act("dispatcher.night", street_2_case.id, accept(), at(10))
        .await
        .unwrap();
    assert_eq!(accepted.state, CaseState::Accepted);
    let history = db.store.history(street_2_case.id).await.unwrap();
    assert_eq!(history[1].actor.person, person_id("dispatcher.night"));

    // Replacing a person changes their rights from the next command on.
    db.store
        .put_person(person(DISPATCHER_2, Role::Dispatcher, &[STREET_1], None))
        .await
        .unwrap();
    let out_of_scope = db
        .act(DISPATCHER_2, street_2_case.id, dispatch(), at(20))
        .await
        .unwrap_err();
    assert!(
        matches!(
            out_of_scope,
            StoreError::Workflow(WorkflowError::OutOfScope { .. })
        ),
        "{out_of_scope:?}"
    );
    db.act(DISPATCHER_2, street_1_case.id, accept(), at(20))
        .await
        .unwrap();

    let db = db.reopen().await;
    let reference = db.store.reference();
    assert_eq!(
        reference.person(&person_id("dispatcher.night")),
        Some(&person(
            "dispatcher.night",
            Role::Dispatcher,
            &[STREET_2],
            None
        ))
    );
    assert_eq!(
        reference
            .person(&person_id(DISPATCHER_2))
            .unwrap()
            .scope
            .areas,
        vec![area(STREET_1)]
    );
    db.act("dispatcher.night", street_2_case.id, dispatch(), at(30))
        .await
        .unwrap();
    db.assert_verifies().await;
}

#[tokio::test]
async fn put_reference_replaces_the_whole_set() {
    let db = TestDb::new().await;
    let case = db
        .report(
            CITIZEN_2,
            new_report(onegrid_core::Channel::Citizen, CELL_1A, LITTER, "垃圾"),
            at(0),
        )
        .await
        .unwrap();
    let mut smaller = reference();
    smaller.people.remove(&person_id(CITIZEN_2));
    db.store.put_reference(smaller.clone()).await.unwrap();

    let gone = actor_for(&db.store, &person_id(CITIZEN_2)).unwrap_err();
    assert!(matches!(gone, StoreError::UnknownPerson(_)), "{gone:?}");
    assert!(gone.to_string().contains(CITIZEN_2), "{gone}");
    let db = db.reopen().await;
    assert_eq!(
        ReferenceSnapshot::of(&db.store.reference()),
        ReferenceSnapshot::of(&smaller)
    );
    // Cases keep the people who acted on them, even once those people are gone.
    assert_eq!(db.store.case(case.id).await.unwrap(), case);
    db.assert_verifies().await;
}
