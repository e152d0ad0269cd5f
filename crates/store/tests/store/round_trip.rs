//! What a write returns is what every read returns, and still is after the database is reopened.

use std::sync::{Arc, Mutex};

use onegrid_core::history::replay;
use onegrid_core::{Case, CaseId, CaseState, Channel, DepartmentCode, EventKind, Handler};
use onegrid_store::{CaseFilter, Store};

use crate::fixture::*;

/// `case()`, `history()` and `list_cases()` all agree with the case a write returned.
async fn check_reads_agree(db: &TestDb, case: &Case) {
    assert_eq!(&db.store.case(case.id).await.expect("case works"), case);
    let history = db.store.history(case.id).await.expect("history works");
    assert_eq!(history.len() as u64, case.version);
    assert_eq!(
        &replay(case.id, &history).expect("the history replays"),
        case
    );
    let just_this_one = CaseFilter {
        after: Some(CaseId(case.id.0 - 1)),
        limit: Some(1),
        ..CaseFilter::default()
    };
    assert_eq!(
        db.store
            .list_cases(&just_this_one)
            .await
            .expect("list_cases works"),
        vec![case.clone()]
    );
}

#[tokio::test]
async fn reports_get_ids_in_order_and_every_read_agrees() {
    let db = TestDb::new().await;
    let first = db
        .report(
            CITIZEN,
            new_report(Channel::Citizen, CELL_1A, LITTER, "垃圾桶满溢"),
            at(0),
        )
        .await
        .unwrap();
    let second = db
        .report(
            GRID_WORKER_2,
            new_report(Channel::GridWorker, CELL_2A, BLOCKED_SEWER, "下水道堵塞"),
            at(5),
        )
        .await
        .unwrap();
    let third = db
        .report(
            INTEGRATOR,
            new_report(
                Channel::Hotline12345,
                CELL_1B,
                NEIGHBOUR_DISPUTE,
                "楼上噪音",
            ),
            at(10),
        )
        .await
        .unwrap();

    assert_eq!(
        [first.id, second.id, third.id],
        [CaseId(1), CaseId(2), CaseId(3)]
    );
    for case in [&first, &second, &third] {
        assert_eq!(case.version, 1);
        assert_eq!(case.state, CaseState::Reported);
        check_reads_agree(&db, case).await;
    }
    // The store records who a signed-in citizen is, and when the report came in.
    assert_eq!(first.reporters[0].person, Some(person_id(CITIZEN)));
    assert_eq!(first.reported_at, at(0));
    assert_eq!(
        db.store.list_cases(&all_cases()).await.unwrap(),
        vec![first, second, third]
    );
    assert_eq!(db.store.count_cases().await.unwrap(), 3);
}

#[tokio::test]
async fn the_closed_loop_persists_and_survives_reopening() {
    let db = TestDb::new().await;
    let reported = db
        .report(
            CITIZEN,
            new_report(Channel::Citizen, CELL_1A, LITTER, "路边暴露垃圾"),
            at(0),
        )
        .await
        .unwrap();
    let untouched = db
        .reported(CELL_2B, BLOCKED_SEWER, "下水道冒水", at(1))
        .await;

    let steps = [
        (DISPATCHER_1, accept(), CaseState::Accepted),
        (DISPATCHER_1, dispatch(), CaseState::Handling),
        (
            HANDLER_CHENGGUAN,
            feedback("已清运"),
            CaseState::AwaitingVerification,
        ),
        (GRID_WORKER_1, verify_passed(), CaseState::Verified),
        (DISPATCHER_1, close(), CaseState::Closed),
        (CITIZEN, rate(5), CaseState::Closed),
    ];
    let mut version = reported.version;
    for (minutes, (person, command, state)) in (10..).step_by(10).zip(steps) {
        let case = db
            .act(person, reported.id, command, at(minutes))
            .await
            .unwrap();
        version += 1;
        assert_eq!((case.state, case.version), (state, version));
        assert_eq!(case.updated_at, at(minutes));
        check_reads_agree(&db, &case).await;
    }

    let closed = db.store.case(reported.id).await.unwrap();
    assert_eq!(
        closed.handler,
        Some(Handler::Department(department("chengguan")))
    );
    assert_eq!(closed.rating.as_ref().map(|r| r.score), Some(5));
    assert_eq!(closed.evidence, vec!["photo:已清运".to_string()]);
    let kinds: Vec<&str> = db
        .store
        .history(reported.id)
        .await
        .unwrap()
        .iter()
        .map(|event| event.kind.name())
        .collect();
    assert_eq!(
        kinds,
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

    let before = db.snapshot().await;
    let db = db.reopen().await;
    assert!(db.snapshot().await == before, "reopening changed the data");
    assert_eq!(db.store.case(untouched.id).await.unwrap(), untouched);

    let progress = Arc::new(Mutex::new(Vec::new()));
    let seen = progress.clone();
    let report = db
        .store
        .verify(Arc::new(move |done, total| {
            seen.lock().unwrap().push((done, total))
        }))
        .await
        .unwrap();
    assert!(report.is_ok(), "{report:#?}");
    assert_eq!((report.cases, report.events), (2, 8));
    assert_eq!(progress.lock().unwrap().last(), Some(&(2, 2)));

    // Ids continue after the highest stored one.
    let next = db.reported(CELL_1B, LITTER, "又有垃圾", at(100)).await;
    assert_eq!(next.id, CaseId(3));
}

#[tokio::test]
async fn reference_data_survives_reopening_and_still_drives_the_rules() {
    let mut reference = reference();
    // Non-default office hours, to see that they are stored rather than defaulted.
    let hours = onegrid_core::WorkingHours::parse("08:30-12:00,13:00-17:30").unwrap();
    reference.calendar = reference.calendar.with_hours(hours.clone());
    let db = TestDb::with_reference(reference.clone()).await;
    let before = ReferenceSnapshot::of(&db.store.reference());
    assert_eq!(before, ReferenceSnapshot::of(&reference));

    let db = db.reopen().await;
    let after = ReferenceSnapshot::of(&db.store.reference());
    assert_eq!(after, before);
    assert_eq!(after.hours, hours);
    assert!(after.areas.get(&area(CELL_1A)).unwrap().generated);
    assert!(!after.areas.get(&area(STREET_1)).unwrap().generated);

    // The reloaded people and taxonomy still decide: a dispatch goes to the category's department.
    let case = db.reported(CELL_2A, BLOCKED_SEWER, "井盖冒水", at(0)).await;
    let dispatched = db
        .walk(
            case.id,
            [(DISPATCHER_2, accept()), (DISPATCHER_2, dispatch())],
            10,
        )
        .await;
    assert_eq!(
        dispatched.lead_department(),
        Some(&DepartmentCode::parse("shuiwu").unwrap())
    );
    let history = db.store.history(case.id).await.unwrap();
    let EventKind::Reported { deadline, .. } = &history[0].kind else {
        panic!("the first event is the report");
    };
    // 1 working hour from 09:00 with the office opening at 08:30 is 10:00 (02:00 UTC).
    assert_eq!(deadline.due_at, at(60));
}

/// Points computed by a coordinate transform (GCJ-02 to WGS84, say) have long decimal forms. The
/// hash of an event covers its JSON, so a coordinate read back one bit off would turn an honest
/// history into a "tampered" one.
#[tokio::test]
async fn points_are_read_back_bit_for_bit() {
    let db = TestDb::new().await;
    let points = [
        (105.18637186000001, 39.1),
        (123.69961197399999, 39.099999999999994),
        (99.04619349000001, 38.99999999999999),
        (117.3, 39.08),
    ];
    let mut reported = Vec::new();
    for (n, (lon, lat)) in points.into_iter().enumerate() {
        let mut report = new_report(Channel::Citizen, CELL_1A, LITTER, "带坐标的上报");
        report.point = Some(onegrid_core::GeoPoint { lon, lat });
        let case = db
            .report(CITIZEN, report, at(n as i64))
            .await
            .expect("the report is accepted");
        reported.push(case);
    }
    for case in &reported {
        let stored = db.store.case(case.id).await.expect("case works");
        let (Some(sent), Some(read)) = (case.point, stored.point) else {
            panic!("case {} lost its point", case.id);
        };
        assert_eq!(
            (sent.lon.to_bits(), sent.lat.to_bits()),
            (read.lon.to_bits(), read.lat.to_bits()),
            "case {}: {sent:?} was read back as {read:?}",
            case.id
        );
    }
    db.assert_verifies().await;
}
