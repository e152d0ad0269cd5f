//! The KPI endpoints on the router: the table, the trend and the Excel export, their agreement,
//! access rules and parameter errors.

mod common;

use std::io::Cursor;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use chrono::{DateTime, Duration, Utc};
use common::*;
use http_body_util::BodyExt;
use onegrid_core::case::{Proposal, ProposalKind};
use onegrid_core::{
    Actor, AreaCode, CategoryCode, Channel, Command, DepartmentCode, NewReport, Person, PersonId,
    Reporter,
};
use serde_json::Value;
use tower::ServiceExt;

fn actor(id: &str) -> Actor {
    let person: Person = people()
        .into_iter()
        .find(|p| p.id.as_str() == id)
        .expect("fixture person");
    person.actor()
}

/// How far one seeded case gets, and when (days and hours before now).
struct Seed {
    cell: &'static str,
    reported_days_ago: i64,
    /// Closed this many hours after the report (handled by 城管, verified, closed, rated 5).
    closed_after_hours: Option<i64>,
    /// Accepted and dispatched only: the handling deadline runs out, so the case is overdue.
    dispatched_only: bool,
}

/// Cases reported over the last weeks, in three cells of two streets: some closed the same day,
/// some closed days later, some still open.
async fn seed(app: &TestApp) -> usize {
    let now = Utc::now();
    let seeds = [
        Seed {
            cell: CELL_A,
            reported_days_ago: 20,
            closed_after_hours: Some(5),
            dispatched_only: false,
        },
        Seed {
            cell: CELL_A,
            reported_days_ago: 12,
            closed_after_hours: Some(72),
            dispatched_only: false,
        },
        Seed {
            cell: CELL_B,
            reported_days_ago: 12,
            closed_after_hours: None,
            dispatched_only: true,
        },
        Seed {
            cell: CELL_B,
            reported_days_ago: 6,
            closed_after_hours: Some(3),
            dispatched_only: false,
        },
        Seed {
            cell: CELL_C,
            reported_days_ago: 4,
            closed_after_hours: Some(50),
            dispatched_only: false,
        },
        Seed {
            cell: CELL_C,
            reported_days_ago: 2,
            closed_after_hours: None,
            dispatched_only: false,
        },
        Seed {
            cell: CELL_A,
            reported_days_ago: 1,
            closed_after_hours: None,
            dispatched_only: true,
        },
        // Outside a 7-day window, inside 30 days.
        Seed {
            cell: CELL_C,
            reported_days_ago: 25,
            closed_after_hours: Some(30),
            dispatched_only: false,
        },
    ];
    let citizen = actor("citizen");
    let commander = actor("commander");
    let handler = actor("handler");
    for seed in &seeds {
        let at = now - Duration::days(seed.reported_days_ago) - Duration::hours(1);
        let report = NewReport {
            channel: Channel::Citizen,
            reporter: Reporter {
                channel: Channel::Citizen,
                person: Some(PersonId::parse("citizen").expect("id")),
                name: Some("王小丽".to_string()),
                phone: None,
            },
            cell: AreaCode::parse(seed.cell).expect("cell"),
            point: None,
            distance_to_cell_m: None,
            address: None,
            category: CategoryCode::parse("S0101").expect("category"),
            title: "门口垃圾堆积".to_string(),
            description: "门口堆了很多生活垃圾，没人清理".to_string(),
            photos: Vec::new(),
            tier: None,
            tier_reason: None,
            proposal: None,
        };
        let case = app
            .store
            .report(report, &citizen, at)
            .await
            .expect("report");
        let id = case.id;
        let step = |minutes: i64| at + Duration::minutes(minutes);
        let act = |command: Command, who: &Actor, when: DateTime<Utc>| {
            let store = app.store.clone();
            let who = who.clone();
            async move {
                store
                    .act(id, None, command, &who, when)
                    .await
                    .expect("command");
            }
        };
        if seed.closed_after_hours.is_none() && !seed.dispatched_only {
            continue;
        }
        act(Command::Accept { category: None }, &commander, step(10)).await;
        act(
            Command::Dispatch {
                department: Some(DepartmentCode::parse("chengguan").expect("department")),
                co_departments: Vec::new(),
            },
            &commander,
            step(20),
        )
        .await;
        let Some(hours) = seed.closed_after_hours else {
            continue;
        };
        let closed_at = at + Duration::hours(hours);
        act(
            Command::Feedback {
                evidence: vec!["垃圾已清运，现场已清扫".to_string()],
                note: "已清理".to_string(),
            },
            &handler,
            closed_at - Duration::minutes(30),
        )
        .await;
        act(
            Command::Verify {
                passed: true,
                note: String::new(),
            },
            &commander,
            closed_at - Duration::minutes(15),
        )
        .await;
        act(
            Command::Close {
                note: String::new(),
            },
            &commander,
            closed_at,
        )
        .await;
        act(
            Command::Rate {
                score: 5,
                comment: String::new(),
            },
            &citizen,
            closed_at + Duration::minutes(5),
        )
        .await;
    }
    seeds.len()
}

/// A GET whose body may be binary.
async fn get_bytes(app: &TestApp, path: &str, token: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let request = Request::builder()
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let response = app
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, headers, bytes.to_vec())
}

fn u(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("not a count: {value}"))
}

#[tokio::test]
async fn trend_buckets_cover_the_window_and_sum_to_its_total() {
    let app = app().await;
    let seeded = seed(&app).await as u64;
    let supervisor = app.login("supervisor").await;

    let table = app
        .get("/api/kpis?by=street&days=30", Some(&supervisor))
        .await;
    assert_eq!(table.status, StatusCode::OK, "{}", table.text);
    let table = table.json();
    let table_reported: u64 = table
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| u(&r["figures"]["reported"]))
        .sum();
    assert_eq!(table_reported, seeded);
    let district = app
        .get("/api/kpis?by=district&days=30", Some(&supervisor))
        .await
        .json();
    let district = &district[0]["figures"];

    for interval in ["day", "week"] {
        let answer = app
            .get(
                &format!("/api/kpis/trend?days=30&interval={interval}&by=street"),
                Some(&supervisor),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let trend = answer.json();
        assert_eq!(trend["interval"], interval);
        assert_eq!(trend["by"], "street");
        assert_eq!(trend["time_zone"], "Asia/Shanghai");
        let points = trend["points"].as_array().expect("points");
        // The buckets follow each other without gap from `from` to `to`.
        assert_eq!(points[0]["start"], trend["from"]);
        assert_eq!(points[points.len() - 1]["end"], trend["to"]);
        for pair in points.windows(2) {
            assert_eq!(pair[0]["end"], pair[1]["start"], "{interval}: contiguous");
        }
        let expected_buckets = if interval == "day" { 30..=31 } else { 5..=6 };
        assert!(
            expected_buckets.contains(&points.len()),
            "{interval}: {} buckets",
            points.len()
        );
        // Every case of the window is in exactly one bucket.
        let reported: u64 = points.iter().map(|p| u(&p["reported"])).sum();
        assert_eq!(reported, seeded, "{interval}: buckets sum to the window");
        assert_eq!(u(&trend["total"]["reported"]), seeded);
        // Each point's groups add up to the point.
        for point in points {
            let groups: u64 = point["groups"]
                .as_array()
                .expect("groups")
                .iter()
                .map(|g| u(&g["reported"]))
                .sum();
            assert_eq!(groups, u(&point["reported"]));
        }
        // The total is the window's figures: the district row of /api/kpis.
        for field in [
            "reported",
            "accepted",
            "closed",
            "overdue",
            "handled",
            "handled_on_time",
            "rated",
            "closure_rate",
            "on_time_handling_rate",
            "rework_rate",
            "satisfaction_rate",
            "mean_handling_hours",
        ] {
            assert_eq!(
                trend["total"][field], district[field],
                "{interval}: {field}"
            );
        }
        // Read as of the window's end, every count of the buckets adds up to the window's.
        for field in ["closed", "overdue"] {
            let sum: u64 = points.iter().map(|p| u(&p[field])).sum();
            assert_eq!(sum, u(&trend["total"][field]), "{interval}: {field}");
        }
        assert_eq!(u(&trend["total"]["closed"]), 5);
    }

    // Read as of each bucket's end, cases closed days after their report are not closed in their
    // bucket, but are in the window's total.
    let frozen = app
        .get(
            "/api/kpis/trend?days=30&interval=day&as_of=bucket",
            Some(&supervisor),
        )
        .await
        .json();
    assert_eq!(frozen["as_of"], "bucket");
    let points = frozen["points"].as_array().expect("points");
    let reported: u64 = points.iter().map(|p| u(&p["reported"])).sum();
    assert_eq!(reported, seeded);
    let closed: u64 = points.iter().map(|p| u(&p["closed"])).sum();
    assert!(closed < 5, "{closed} closed within their day");
    assert_eq!(u(&frozen["total"]["closed"]), 5);

    // A shorter window holds fewer cases, and still sums up.
    let week = app
        .get("/api/kpis/trend?days=7", Some(&supervisor))
        .await
        .json();
    let reported: u64 = week["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| u(&p["reported"]))
        .sum();
    assert_eq!(reported, 4);
    assert_eq!(week["by"], "district", "the default grouping");

    // A dispatcher sees the figures of their street only.
    let dispatcher = app.login("dispatcher").await;
    let theirs = app
        .get("/api/kpis/trend?days=30&by=street", Some(&dispatcher))
        .await
        .json();
    assert_eq!(u(&theirs["total"]["reported"]), 5);
    for point in theirs["points"].as_array().expect("points") {
        for group in point["groups"].as_array().expect("groups") {
            assert_eq!(group["key"], "120110001");
            assert_eq!(group["name"], "张贵庄街道");
        }
    }
}

/// A cell of the KPI sheet as a number, or `None` for the dash of a rate without denominator.
fn number(cell: &Data) -> Option<f64> {
    match cell {
        Data::Float(f) => Some(*f),
        Data::Int(i) => Some(*i as f64),
        Data::String(s) if s == "—" => None,
        other => panic!("not a figure: {other:?}"),
    }
}

fn text(cell: &Data) -> String {
    match cell {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => panic!("not text: {other:?}"),
    }
}

/// The JSON field behind each column of the KPI sheet, after the name and the code.
const FIELDS: [&str; 20] = [
    "reported",
    "responded_on_time",
    "accepted",
    "closed",
    "handled",
    "handled_on_time",
    "verified",
    "reworked",
    "overdue",
    "handling_minutes",
    "rated",
    "solved",
    "satisfied",
    "on_time_handling_rate",
    "closure_rate",
    "rework_rate",
    "mean_handling_hours",
    "response_rate",
    "solution_rate",
    "satisfaction_rate",
];

#[tokio::test]
async fn the_export_holds_the_same_figures_as_the_json() {
    let app = app().await;
    let seeded = seed(&app).await;
    let supervisor = app.login("supervisor").await;
    for by in ["street", "cell", "department"] {
        let json = app
            .get(&format!("/api/kpis?by={by}&days=30"), Some(&supervisor))
            .await
            .json();
        let rows = json.as_array().expect("rows");
        let (status, headers, bytes) = get_bytes(
            &app,
            &format!("/api/kpis/export.xlsx?by={by}&days=30&trend=week"),
            &supervisor,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        let disposition = headers[header::CONTENT_DISPOSITION]
            .to_str()
            .expect("ASCII");
        let prefix = format!("attachment; filename=\"onegrid-kpi-{by}-30d-");
        assert!(disposition.starts_with(&prefix), "{disposition}");
        assert!(disposition.ends_with(".xlsx\""), "{disposition}");
        let date = &disposition[prefix.len()..disposition.len() - 6];
        assert!(
            date.len() == 8 && date.chars().all(|c| c.is_ascii_digit()),
            "{disposition}"
        );

        let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).expect("an XLSX");
        assert_eq!(workbook.sheet_names(), vec!["考核指标", "趋势", "说明"]);

        let sheet = workbook.worksheet_range("考核指标").expect("KPI sheet");
        let grid: Vec<&[Data]> = sheet.rows().collect();
        assert_eq!(text(&grid[0][1]), "代码");
        assert_eq!(text(&grid[0][2]), "上报数");
        assert_eq!(text(&grid[0][16]), "结案率");
        // One row per group, in the JSON's order, then the total.
        assert_eq!(grid.len(), rows.len() + 2, "{by}: header, groups, total");
        for (line, row) in grid[1..=rows.len()].iter().zip(rows) {
            assert_eq!(text(&line[1]), row["key"].as_str().expect("key"));
            if let Some(name) = row["name"].as_str() {
                assert_eq!(text(&line[0]), name);
            }
            for (cell, field) in line[2..].iter().zip(FIELDS) {
                let expected = row["figures"][field].as_f64();
                let got = number(cell);
                match (got, expected) {
                    (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "{by} {field}: {a} ≠ {b}"),
                    (None, None) => {}
                    _ => panic!("{by} {}: {field}: {got:?} ≠ {expected:?}", row["key"]),
                }
            }
        }
        let total = grid[rows.len() + 1];
        assert_eq!(text(&total[0]), "合计");
        assert_eq!(number(&total[2]), Some(seeded as f64));

        let trend = workbook.worksheet_range("趋势").expect("trend sheet");
        let lines: Vec<&[Data]> = trend.rows().collect();
        assert_eq!(text(&lines[0][2]), "上报数");
        let reported: f64 = lines[1..].iter().filter_map(|l| number(&l[2])).sum();
        assert_eq!(
            reported, seeded as f64,
            "{by}: the trend sums to the window"
        );
        assert!((5..=6).contains(&(lines.len() - 1)), "weekly buckets");

        let notes = workbook.worksheet_range("说明").expect("notes sheet");
        let all: String = notes
            .rows()
            .flat_map(|r| r.iter().map(text))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(all.contains("督查员（supervisor"), "who exported it: {all}");
        assert!(all.contains("共 30 天"), "the window: {all}");
        assert!(all.contains("结案数 ÷ 立案数"), "the formulas: {all}");
    }

    // The dispatcher's workbook holds their street only.
    let dispatcher = app.login("dispatcher").await;
    let (status, _, bytes) = get_bytes(&app, "/api/kpis/export.xlsx?by=cell", &dispatcher).await;
    assert_eq!(status, StatusCode::OK);
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).expect("an XLSX");
    let sheet = workbook.worksheet_range("考核指标").expect("KPI sheet");
    let codes: Vec<String> = sheet.rows().skip(1).map(|r| text(&r[1])).collect();
    assert_eq!(
        codes,
        vec![CELL_A.to_string(), CELL_B.to_string(), String::new()]
    );
}

#[tokio::test]
async fn citizens_are_refused_and_bad_parameters_get_a_sentence() {
    let app = app().await;
    for who in ["citizen", "gridworker", "admin"] {
        let token = app.login(who).await;
        for path in ["/api/kpis/trend", "/api/kpis/export.xlsx"] {
            let answer = app.get(path, Some(&token)).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{who} {path}");
            assert_eq!(answer.content_type, "application/problem+json");
            assert!(answer.json()["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("read KPIs"));
        }
    }
    for path in ["/api/kpis/trend", "/api/kpis/export.xlsx"] {
        assert_eq!(
            app.get(path, None).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }

    let supervisor = app.login("supervisor").await;
    for (path, says) in [
        ("/api/kpis?by=planet", "by: \"planet\" is not one of"),
        ("/api/kpis?days=0", "days: give 1 to 3660 days"),
        ("/api/kpis/trend?by=planet", "by: \"planet\" is not one of"),
        (
            "/api/kpis/trend?interval=month",
            "interval: \"month\" is not one of: day, week",
        ),
        ("/api/kpis/trend?days=0", "days: give 1 to 3660 days"),
        (
            "/api/kpis/trend?as_of=now",
            "as_of: \"now\" is not one of: window, bucket",
        ),
        ("/api/kpis/trend?days=3661", "days: give 1 to 3660 days"),
        ("/api/kpis/trend?days=thirty", "a query parameter is wrong"),
        ("/api/kpis/trend?colour=red", "a query parameter is wrong"),
        (
            "/api/kpis/export.xlsx?by=planet",
            "by: \"planet\" is not one of",
        ),
        (
            "/api/kpis/export.xlsx?trend=month",
            "trend: \"month\" is not one of: day, week",
        ),
        ("/api/kpis/export.xlsx?days=-5", "days: give 1 to 3660 days"),
        (
            "/api/kpis?sort=name",
            "sort: \"name\" is not key nor one of the figures",
        ),
        ("/api/kpis?dir=up", "dir: \"up\" is not one of: asc, desc"),
        (
            "/api/kpis/export.xlsx?sort=rank",
            "sort: \"rank\" is not key nor one of the figures",
        ),
        (
            "/api/kpis/export.xlsx?lang=fr",
            "lang: \"fr\" is not one of: zh, en",
        ),
        (
            "/api/kpis/trend?by=major",
            "is not one of: district, street, community, cell, department, category",
        ),
    ] {
        let answer = app.get(path, Some(&supervisor)).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            answer.text
        );
        let detail = answer.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(detail.contains(says), "{path}: {detail}");
    }

    // The paths are in the OpenAPI document.
    let doc = app.get("/api/openapi.json", None).await.json();
    for path in ["/api/kpis", "/api/kpis/trend", "/api/kpis/export.xlsx"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} documented");
    }
}

/// Files a proposal (建议提案) at the desk, has it handled and closed, and rates it.
async fn seed_proposal(app: &TestApp, kind: ProposalKind, score: u8, days_ago: i64) {
    let commander = actor("commander");
    let handler = actor("handler");
    let at = Utc::now() - Duration::days(days_ago);
    let report = NewReport {
        channel: Channel::Desk,
        reporter: Reporter {
            channel: Channel::Desk,
            person: Some(PersonId::parse("commander").expect("id")),
            name: Some("区政府办公室".to_string()),
            phone: None,
        },
        cell: AreaCode::parse(CELL_C).expect("cell"),
        point: None,
        distance_to_cell_m: None,
        address: None,
        category: CategoryCode::parse(kind.category_code()).expect("category"),
        title: "关于加强老旧小区环境整治的建议".to_string(),
        description: "建议对老旧小区的垃圾清运和环境整治作出长效安排".to_string(),
        photos: Vec::new(),
        tier: None,
        tier_reason: None,
        proposal: Some(Proposal {
            kind,
            number: format!("第{score:04}号"),
            session: Some("区十七届人大五次会议".to_string()),
            due_at: None,
            proposer: "王代表".to_string(),
        }),
    };
    let id = app
        .store
        .report(report, &commander, at)
        .await
        .expect("the desk files a proposal")
        .id;
    let steps = [
        (Command::Accept { category: None }, &commander, 10),
        (
            Command::Dispatch {
                department: Some(DepartmentCode::parse("chengguan").expect("department")),
                co_departments: Vec::new(),
            },
            &commander,
            20,
        ),
        (
            Command::Feedback {
                evidence: vec!["已答复代表".to_string()],
                note: "已办理".to_string(),
            },
            &handler,
            600,
        ),
        (
            Command::Verify {
                passed: true,
                note: String::new(),
            },
            &commander,
            700,
        ),
        (
            Command::Close {
                note: String::new(),
            },
            &commander,
            710,
        ),
        (
            Command::Rate {
                score,
                comment: String::new(),
            },
            &commander,
            720,
        ),
    ];
    for (command, who, minutes) in steps {
        app.store
            .act(id, None, command, who, at + Duration::minutes(minutes))
            .await
            .expect("command");
    }
}

fn figure(answer: &Value, field: &str) -> Value {
    answer[0]["figures"][field].clone()
}

/// The sheets of a workbook as rows of text (numbers written out), for looking things up.
fn sheets(bytes: Vec<u8>) -> (Vec<String>, Xlsx<Cursor<Vec<u8>>>) {
    let workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).expect("an XLSX");
    (workbook.sheet_names(), workbook)
}

fn all_text(workbook: &mut Xlsx<Cursor<Vec<u8>>>, sheet: &str) -> String {
    workbook
        .worksheet_range(sheet)
        .expect("the sheet")
        .rows()
        .flat_map(|r| r.iter().map(|c| c.to_string()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// 建议提案: a proposal rated 5 and one rated 2 give a satisfaction rate of 50 % for Z99 alone,
/// whatever the other cases' ratings; each kind, each major class and the grouping by category
/// count their own cases, in the table, the trend and the workbook.
#[tokio::test]
async fn proposals_have_their_own_satisfaction_rate() {
    let app = app().await;
    let seeded = seed(&app).await as u64;
    seed_proposal(&app, ProposalKind::NpcSuggestion, 5, 3).await;
    seed_proposal(&app, ProposalKind::CppccProposal, 2, 5).await;
    let supervisor = app.login("supervisor").await;
    let get = |path: String| {
        let app = &app;
        let token = supervisor.clone();
        async move {
            let answer = app.get(&path, Some(&token)).await;
            assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text);
            answer.json()
        }
    };

    let proposals = get("/api/kpis?by=district&category=Z99".to_string()).await;
    assert_eq!(proposals.as_array().map(Vec::len), Some(1));
    assert_eq!(u(&figure(&proposals, "reported")), 2);
    assert_eq!(u(&figure(&proposals, "rated")), 2);
    assert_eq!(u(&figure(&proposals, "satisfied")), 1);
    assert_eq!(figure(&proposals, "satisfaction_rate"), 0.5);
    // Lower case is the same code.
    assert_eq!(
        get("/api/kpis?by=district&category=z99".to_string()).await,
        proposals
    );
    // Every case together: five of the seeded cases rated 5, and the two proposals.
    let everything = get("/api/kpis?by=district".to_string()).await;
    assert_eq!(u(&figure(&everything, "reported")), seeded + 2);
    assert_eq!(u(&figure(&everything, "rated")), 7);
    assert_eq!(u(&figure(&everything, "satisfied")), 6);
    // Each kind on its own, and the city's cases without the proposals.
    let npc = get("/api/kpis?by=district&category=Z9901".to_string()).await;
    assert_eq!(figure(&npc, "satisfaction_rate"), 1.0);
    let cppcc = get("/api/kpis?by=district&category=Z9902".to_string()).await;
    assert_eq!(figure(&cppcc, "satisfaction_rate"), 0.0);
    let city = get("/api/kpis?by=district&category=S01".to_string()).await;
    assert_eq!(u(&figure(&city, "reported")), seeded);
    assert_eq!(figure(&city, "satisfaction_rate"), 1.0);
    let litter = get("/api/kpis?by=district&category=S0101".to_string()).await;
    assert_eq!(figure(&litter, "reported"), figure(&city, "reported"));
    // A known category without cases in the window: no row.
    let none = get("/api/kpis?by=district&category=Z01".to_string()).await;
    assert_eq!(none, Value::Array(Vec::new()));

    // Grouped by category: one row per subcategory, with its name.
    let by_category = get("/api/kpis?by=category".to_string()).await;
    let rows: Vec<(String, String, u64)> = by_category
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap_or_default().to_string(),
                r["name"].as_str().unwrap_or_default().to_string(),
                u(&r["figures"]["reported"]),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("S0101".to_string(), "暴露垃圾".to_string(), seeded),
            ("Z9901".to_string(), "人大代表建议".to_string(), 1),
            ("Z9902".to_string(), "政协委员提案".to_string(), 1),
        ]
    );
    let by_category_in_z99 = get("/api/kpis?by=category&category=Z99".to_string()).await;
    assert_eq!(by_category_in_z99.as_array().map(Vec::len), Some(2));

    // The trend: its total and its groups are the category's.
    let trend = get("/api/kpis/trend?days=30&category=Z99&by=category".to_string()).await;
    assert_eq!(trend["category"], "Z99");
    assert_eq!(trend["by"], "category");
    assert_eq!(u(&trend["total"]["reported"]), 2);
    assert_eq!(trend["total"]["satisfaction_rate"], 0.5);
    let groups: Vec<Value> = trend["points"]
        .as_array()
        .expect("points")
        .iter()
        .flat_map(|p| p["groups"].as_array().cloned().unwrap_or_default())
        .map(|g| g["key"].clone())
        .collect();
    assert_eq!(groups, ["Z9902", "Z9901"], "reported 5 and 3 days ago");
    let unfiltered = get("/api/kpis/trend?days=30".to_string()).await;
    assert_eq!(unfiltered["category"], Value::Null);

    // The workbook: the category's figures, and the category named in it.
    let (status, headers, bytes) = get_bytes(
        &app,
        "/api/kpis/export.xlsx?by=category&category=Z99&days=30",
        &supervisor,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let disposition = headers[header::CONTENT_DISPOSITION]
        .to_str()
        .expect("ASCII");
    assert!(
        disposition.contains("filename=\"onegrid-kpi-category-Z99-30d-"),
        "{disposition}"
    );
    let (names, mut workbook) = sheets(bytes);
    assert_eq!(names, ["考核指标", "趋势", "说明"]);
    let sheet = workbook.worksheet_range("考核指标").expect("KPI sheet");
    let grid: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(text(&grid[0][0]), "类别名称");
    assert_eq!(
        grid.iter().map(|l| text(&l[1])).collect::<Vec<_>>(),
        ["代码", "Z9901", "Z9902", ""]
    );
    assert_eq!(text(&grid[1][0]), "人大代表建议");
    let total = grid[3];
    assert_eq!(text(&total[0]), "合计");
    let satisfaction = grid[0]
        .iter()
        .position(|c| text(c) == "满意率")
        .expect("a 满意率 column");
    assert_eq!(number(&total[satisfaction]), Some(0.5));
    let notes = all_text(&mut workbook, "说明");
    assert!(
        notes.contains("Z99 建议提案（大类，含 Z9901 人大代表建议、Z9902 政协委员提案）"),
        "{notes}"
    );
}

#[tokio::test]
async fn an_unknown_category_is_refused_by_name() {
    let app = app().await;
    let supervisor = app.login("supervisor").await;
    for code in ["Z9999", "Z98", "X1", "建议提案"] {
        for path in ["/api/kpis", "/api/kpis/trend", "/api/kpis/export.xlsx"] {
            let query: String = serde_urlencoded::to_string([("category", code)]).expect("a query");
            let answer = app.get(&format!("{path}?{query}"), Some(&supervisor)).await;
            assert_eq!(
                answer.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path} {code}: {}",
                answer.text
            );
            let problem = answer.json();
            assert_eq!(problem["code"], "invalid_input");
            let detail = problem["detail"].as_str().unwrap_or_default();
            assert!(detail.contains(&format!("{code:?}")), "{path}: {detail}");
        }
    }
    // A blank category is every category.
    let answer = app
        .get("/api/kpis?by=district&category=", Some(&supervisor))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

/// The workbook lists the rows in the order asked, the order of `/api/kpis` with the same `sort`
/// and `dir`, and speaks English when asked.
#[tokio::test]
async fn the_export_keeps_the_order_and_the_language_asked() {
    let app = app().await;
    seed(&app).await;
    let supervisor = app.login("supervisor").await;
    for (sort, dir) in [
        ("reported", "desc"),
        ("closure_rate", "asc"),
        ("satisfaction_rate", "desc"),
        ("key", "desc"),
        ("mean_handling_hours", "asc"),
    ] {
        let query = format!("by=cell&days=30&sort={sort}&dir={dir}");
        let json = app
            .get(&format!("/api/kpis?{query}"), Some(&supervisor))
            .await
            .json();
        let keys: Vec<String> = json
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r["key"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(keys.len(), 3, "three cells");
        let (status, _, bytes) =
            get_bytes(&app, &format!("/api/kpis/export.xlsx?{query}"), &supervisor).await;
        assert_eq!(status, StatusCode::OK);
        let (_, mut workbook) = sheets(bytes);
        let sheet = workbook.worksheet_range("考核指标").expect("KPI sheet");
        let codes: Vec<String> = sheet.rows().skip(1).map(|r| text(&r[1])).collect();
        assert_eq!(codes[..3], keys[..], "{sort} {dir}");
        let notes = all_text(&mut workbook, "说明");
        assert!(notes.contains("排序"), "{notes}");
    }
    // By the number of cases, highest first: A and C have three each and go by key, B has two.
    let json = app
        .get(
            "/api/kpis?by=cell&days=30&sort=reported&dir=desc",
            Some(&supervisor),
        )
        .await
        .json();
    let order: Vec<&str> = json
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["key"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(order, [CELL_A, CELL_C, CELL_B]);

    let (status, headers, bytes) = get_bytes(
        &app,
        "/api/kpis/export.xlsx?by=street&days=30&sort=closure_rate&dir=desc&lang=en",
        &supervisor,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_LANGUAGE], "en");
    let (names, mut workbook) = sheets(bytes);
    assert_eq!(names, ["KPIs", "Trend", "Notes"]);
    let sheet = workbook.worksheet_range("KPIs").expect("KPI sheet");
    let grid: Vec<&[Data]> = sheet.rows().collect();
    let header: Vec<String> = grid[0].iter().map(text).collect();
    assert_eq!(
        header[..4],
        ["Street", "Code", "Reported", "Responded on time"]
    );
    assert!(header.contains(&"Closure rate".to_string()), "{header:?}");
    assert_eq!(text(&grid[grid.len() - 1][0]), "Total");
    let trend = workbook.worksheet_range("Trend").expect("trend sheet");
    assert_eq!(
        trend
            .rows()
            .next()
            .map(|r| r.iter().map(text).collect::<Vec<_>>()),
        Some(
            [
                "Period start",
                "Period end",
                "Reported",
                "Closed",
                "Overdue",
                "On-time handling rate",
                "Closure rate",
                "Satisfaction rate"
            ]
            .map(String::from)
            .to_vec()
        )
    );
    let notes = all_text(&mut workbook, "Notes");
    for words in [
        "All categories",
        "by closure rate, highest first",
        "supervisor",
        "closed ÷ accepted",
    ] {
        assert!(notes.contains(words), "{words}: {notes}");
    }
}
