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
