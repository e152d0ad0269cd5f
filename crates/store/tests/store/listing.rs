//! `list_cases`: every filter narrows the list as documented, alone and combined, and cursor
//! pagination visits every case exactly once.

use chrono::{DateTime, Utc};
use onegrid_core::{AreaCode, Case, CaseId, CaseState, Channel, Tier};
use onegrid_store::{CaseFilter, Store};

use crate::fixture::*;

/// Eight cases spread over both streets, four categories, six channels and four states.
async fn eight_cases(db: &TestDb) {
    let mut sewer = new_report(Channel::Hotline12345, CELL_1B, BLOCKED_SEWER, "下水道堵塞");
    sewer.description = "井盖旁边冒水".to_string();
    let mut more_litter = new_report(Channel::Citizen, CELL_1A, LITTER, "垃圾 1000 袋");
    more_litter.tier = Some(Tier::Street);
    let reports = [
        (
            GRID_WORKER_1,
            new_report(Channel::GridWorker, CELL_1A, LITTER, "垃圾满溢 100%"),
        ),
        (INTEGRATOR, sewer),
        (
            CITIZEN,
            new_report(Channel::Citizen, CELL_2A, NEIGHBOUR_DISPUTE, "邻里纠纷 a_b"),
        ),
        (
            INTEGRATOR,
            new_report(Channel::Police110, CELL_2B, ROAD_COLLAPSE, "路面塌陷"),
        ),
        (CITIZEN_2, more_litter),
        (
            GRID_WORKER_2,
            new_report(Channel::GridWorker, CELL_2A, BLOCKED_SEWER, "窨井 axb"),
        ),
        (
            DISPATCHER_1,
            new_report(Channel::Desk, CELL_1B, NEIGHBOUR_DISPUTE, r"路径 C:\data"),
        ),
        (
            CITIZEN,
            new_report(Channel::Open311, CELL_2B, LITTER, "open311 report"),
        ),
    ];
    for (n, (person, report)) in reports.into_iter().enumerate() {
        let case = db
            .report(person, report, at(60 * n as i64))
            .await
            .expect("the fixture report is accepted");
        assert_eq!(case.id, CaseId(n as u64 + 1));
    }
    let accepted_and_dispatched = |department_code| {
        [
            (DISPATCHER_1, accept()),
            (DISPATCHER_1, dispatch_to(department_code)),
        ]
    };
    db.walk(CaseId(1), accepted_and_dispatched("chengguan"), 1_000)
        .await;
    db.walk(CaseId(2), accepted_and_dispatched("shuiwu"), 1_000)
        .await;
    db.walk(CaseId(3), [(DISPATCHER_2, reject("不属于受理范围"))], 1_000)
        .await;
    db.walk(CaseId(4), [(DISPATCHER_2, accept())], 1_000).await;
    db.walk(CaseId(5), accepted_and_dispatched("shuiwu"), 1_000)
        .await;
}

async fn check(db: &TestDb, filter: CaseFilter, expected: &[u64]) {
    let ids: Vec<u64> = db
        .store
        .list_cases(&filter)
        .await
        .expect("list_cases works")
        .iter()
        .map(|case| case.id.0)
        .collect();
    assert_eq!(ids, expected, "{filter:?}");
}

fn in_area(code: &str) -> CaseFilter {
    CaseFilter {
        area: Some(area(code)),
        ..CaseFilter::default()
    }
}

fn with_text(text: &str) -> CaseFilter {
    CaseFilter {
        text: Some(text.to_string()),
        ..CaseFilter::default()
    }
}

#[tokio::test]
async fn each_filter_narrows_the_list() {
    let db = TestDb::new().await;
    eight_cases(&db).await;

    check(&db, CaseFilter::default(), &[1, 2, 3, 4, 5, 6, 7, 8]).await;

    // The area subtree: district, street, community, cell, and an area with no cases.
    check(&db, in_area(DISTRICT), &[1, 2, 3, 4, 5, 6, 7, 8]).await;
    check(&db, in_area(STREET_1), &[1, 2, 5, 7]).await;
    check(&db, in_area(STREET_2), &[3, 4, 6, 8]).await;
    check(&db, in_area(COMMUNITY_1), &[1, 2, 5, 7]).await;
    check(&db, in_area(CELL_1A), &[1, 5]).await;
    check(&db, in_area("120110003"), &[]).await;

    let by_state = |state| CaseFilter {
        state: Some(state),
        ..CaseFilter::default()
    };
    check(&db, by_state(CaseState::Handling), &[1, 2, 5]).await;
    check(&db, by_state(CaseState::Reported), &[6, 7, 8]).await;
    check(&db, by_state(CaseState::Rejected), &[3]).await;
    check(&db, by_state(CaseState::Accepted), &[4]).await;
    check(&db, by_state(CaseState::Closed), &[]).await;

    let by_category = |code| CaseFilter {
        category: Some(category(code)),
        ..CaseFilter::default()
    };
    check(&db, by_category(LITTER), &[1, 5, 8]).await;
    check(&db, by_category(BLOCKED_SEWER), &[2, 6]).await;
    check(&db, by_category(NEIGHBOUR_DISPUTE), &[3, 7]).await;
    check(&db, by_category(ROAD_COLLAPSE), &[4]).await;

    // The lead department (主办), which only dispatched cases have.
    let by_department = |code| CaseFilter {
        department: Some(department(code)),
        ..CaseFilter::default()
    };
    check(&db, by_department("chengguan"), &[1]).await;
    check(&db, by_department("shuiwu"), &[2, 5]).await;
    check(&db, by_department("jiedao"), &[]).await;

    let by_tier = |tier| CaseFilter {
        tier: Some(tier),
        ..CaseFilter::default()
    };
    check(&db, by_tier(Tier::Grid), &[1, 3, 7, 8]).await;
    check(&db, by_tier(Tier::Street), &[2, 5, 6]).await;
    check(&db, by_tier(Tier::District), &[4]).await;

    let by_channel = |channel| CaseFilter {
        channel: Some(channel),
        ..CaseFilter::default()
    };
    check(&db, by_channel(Channel::Citizen), &[3, 5]).await;
    check(&db, by_channel(Channel::GridWorker), &[1, 6]).await;
    check(&db, by_channel(Channel::Hotline12345), &[2]).await;
    check(&db, by_channel(Channel::Police110), &[4]).await;
    check(&db, by_channel(Channel::Desk), &[7]).await;
    check(&db, by_channel(Channel::Open311), &[8]).await;
    check(&db, by_channel(Channel::Sensor), &[]).await;

    // Reported in [from, to).
    let window = |from: Option<i64>, to: Option<i64>| CaseFilter {
        reported_from: from.map(at),
        reported_to: to.map(at),
        ..CaseFilter::default()
    };
    check(&db, window(Some(120), Some(300)), &[3, 4, 5]).await;
    check(&db, window(Some(300), None), &[6, 7, 8]).await;
    check(&db, window(None, Some(60)), &[1]).await;
    check(&db, window(Some(61), Some(119)), &[]).await;

    // Text in the title or the description; '%', '_' and '\' are plain characters.
    check(&db, with_text("垃圾"), &[1, 5]).await;
    check(&db, with_text("井盖"), &[2]).await;
    check(&db, with_text("100"), &[1, 5]).await;
    check(&db, with_text("100%"), &[1]).await;
    check(&db, with_text("%"), &[1]).await;
    check(&db, with_text("a_b"), &[3]).await;
    check(&db, with_text("_"), &[3]).await;
    check(&db, with_text(r":\d"), &[7]).await;
    check(&db, with_text(r"\"), &[7]).await;
    check(&db, with_text("没有这样的案件"), &[]).await;

    // Conditions combine.
    let mut combined = in_area(STREET_1);
    combined.state = Some(CaseState::Handling);
    check(&db, combined.clone(), &[1, 2, 5]).await;
    combined.category = Some(category(LITTER));
    check(&db, combined.clone(), &[1, 5]).await;
    combined.channel = Some(Channel::Citizen);
    check(&db, combined.clone(), &[5]).await;
    combined.department = Some(department("chengguan"));
    check(&db, combined, &[]).await;
}

/// The filter's meaning, written the slow and obvious way.
fn naive_list(all: &[Case], filter: &CaseFilter) -> Vec<u64> {
    let reported_in = |time: DateTime<Utc>| {
        filter.reported_from.is_none_or(|from| time >= from)
            && filter.reported_to.is_none_or(|to| time < to)
    };
    all.iter()
        .filter(|case| {
            filter
                .area
                .as_ref()
                .is_none_or(|area| area.contains(&case.cell))
                && filter.state.is_none_or(|state| case.state == state)
                && filter
                    .category
                    .as_ref()
                    .is_none_or(|category| &case.category == category)
                && filter
                    .department
                    .as_ref()
                    .is_none_or(|department| case.lead_department() == Some(department))
                && filter.tier.is_none_or(|tier| case.tier == tier)
                && filter.channel.is_none_or(|channel| case.channel == channel)
                && reported_in(case.reported_at)
                && filter.text.as_ref().is_none_or(|text| {
                    case.title.contains(text.as_str()) || case.description.contains(text.as_str())
                })
                && filter.after.is_none_or(|after| case.id > after)
        })
        .take(filter.limit.unwrap_or(100))
        .map(|case| case.id.0)
        .collect()
}

#[tokio::test]
async fn combined_filters_agree_with_the_naive_reading() {
    let db = TestDb::new().await;
    eight_cases(&db).await;
    let all = db.store.list_cases(&all_cases()).await.unwrap();

    let areas: [Option<AreaCode>; 4] = [
        None,
        Some(area(STREET_1)),
        Some(area(STREET_2)),
        Some(area(CELL_2A)),
    ];
    let states = [None, Some(CaseState::Reported), Some(CaseState::Handling)];
    let channels = [None, Some(Channel::Citizen), Some(Channel::GridWorker)];
    let texts = [None, Some("垃圾"), Some("_"), Some("%"), Some("a")];
    let windows = [(None, None), (Some(at(60)), Some(at(301)))];
    let mut checked = 0;
    let mut non_empty = 0;
    for area in &areas {
        for state in states {
            for channel in channels {
                for text in texts {
                    for (from, to) in windows {
                        let filter = CaseFilter {
                            area: area.clone(),
                            state,
                            channel,
                            text: text.map(str::to_string),
                            reported_from: from,
                            reported_to: to,
                            ..CaseFilter::default()
                        };
                        let ids: Vec<u64> = db
                            .store
                            .list_cases(&filter)
                            .await
                            .unwrap()
                            .iter()
                            .map(|case| case.id.0)
                            .collect();
                        let expected = naive_list(&all, &filter);
                        assert_eq!(ids, expected, "{filter:?}");
                        checked += 1;
                        non_empty += usize::from(!expected.is_empty());
                    }
                }
            }
        }
    }
    assert_eq!(checked, 4 * 3 * 3 * 5 * 2);
    assert!(non_empty > 40, "only {non_empty} filters matched anything");
}

#[tokio::test]
async fn cursor_pagination_visits_every_case_exactly_once() {
    let db = TestDb::new().await;
    for n in 0..120 {
        db.reported(CELLS[n % 4], LITTER, &format!("垃圾 {n}"), at(n as i64))
            .await;
    }

    // Without a limit, a page holds 100 cases.
    let first_page = db.store.list_cases(&CaseFilter::default()).await.unwrap();
    assert_eq!(first_page.len(), 100);
    assert_eq!(first_page.last().unwrap().id, CaseId(100));
    check(
        &db,
        CaseFilter {
            after: Some(CaseId(9)),
            limit: Some(3),
            ..CaseFilter::default()
        },
        &[10, 11, 12],
    )
    .await;

    // Page through everything, and through one street, 7 at a time.
    for filter in [CaseFilter::default(), in_area(STREET_2)] {
        let mut visited = Vec::new();
        let mut after = None;
        loop {
            let page = db
                .store
                .list_cases(&CaseFilter {
                    after,
                    limit: Some(7),
                    ..filter.clone()
                })
                .await
                .unwrap();
            assert!(page.len() <= 7);
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            visited.extend(page.iter().map(|case| case.id.0));
        }
        let expected: Vec<u64> = if filter.area.is_some() {
            (1..=120).filter(|id| (id - 1) % 4 >= 2).collect()
        } else {
            (1..=120).collect()
        };
        assert_eq!(visited, expected, "{filter:?}");
    }
}
