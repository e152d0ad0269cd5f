//! Supervision tasks (督办任务) over HTTP: import of the Dongli seed page, access by role, progress,
//! 督办 notices, reminders, the hash chain, and the 实效表 exports. Tampering with a stored history
//! is tested in the store (`crates/store/src/sqlite/supervision.rs`), which can reach the file.

mod common;

use std::io::Cursor;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use calamine::{open_workbook_from_rs, Data, DataType, Reader, Xlsx};
use chrono::Datelike;
use common::{app, TestApp};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const SEED: &str =
    include_str!("../../text/data/workreport/dongli-2021-government-work-report-p14.txt");

fn this_year() -> i32 {
    chrono::Utc::now()
        .with_timezone(&onegrid_core::calendar::TIMEZONE)
        .year()
}

async fn bytes(app: &TestApp, path: &str, token: &str) -> (StatusCode, String, Vec<u8>) {
    let request = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let response = app.router.clone().oneshot(request).await.expect("answer");
    let status = response.status();
    let kind = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, kind, body.to_vec())
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> common::Answer {
    app.call(Method::PUT, path, Some(token), Some(body)).await
}

fn tasks_of(answer: &common::Answer) -> Vec<Value> {
    answer.json().as_array().expect("a list").clone()
}

#[tokio::test]
async fn import_progress_notice_access_and_exports() {
    let app = app().await;
    let supervisor = app.login("supervisor").await;
    let commander = app.login("commander").await;
    let handler = app.login("handler").await; // chengguan
    let handler2 = app.login("handler2").await; // shuiwu
    let citizen = app.login("citizen").await;
    let year_targets = onegrid_text::workreport::extract(SEED).year_targets();
    assert!(
        year_targets > 20,
        "the seed page has {year_targets} targets"
    );

    // Preview: the targets, nothing stored.
    let body = json!({"text": SEED, "name": "东丽区政府工作报告", "year": this_year()});
    let preview = app
        .post(
            "/api/supervision/import?preview=true",
            Some(&supervisor),
            body.clone(),
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    let preview = preview.json();
    assert_eq!(preview["stored"], false);
    assert_eq!(
        preview["targets"].as_array().expect("targets").len(),
        year_targets
    );
    let listed = app.get("/api/supervision/tasks", Some(&supervisor)).await;
    assert_eq!(tasks_of(&listed).len(), 0);

    // Who may import.
    for token in [&handler, &citizen] {
        let refused = app
            .post("/api/supervision/import", Some(token), body.clone())
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    }
    let imported = app
        .post("/api/supervision/import", Some(&supervisor), body.clone())
        .await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.text);
    let imported = imported.json();
    assert_eq!(
        imported["task_ids"].as_array().expect("ids").len(),
        year_targets
    );
    let per_department: u64 = imported["per_department"]
        .as_object()
        .expect("counts")
        .values()
        .map(|v| v.as_u64().expect("count"))
        .sum();
    assert_eq!(per_department as usize, year_targets);
    // The same report twice is refused.
    let again = app
        .post("/api/supervision/import", Some(&commander), body.clone())
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);

    let all = tasks_of(&app.get("/api/supervision/tasks", Some(&supervisor)).await);
    assert_eq!(all.len(), year_targets);
    assert!(all.iter().all(|t| t["status"] != "done"));
    // Every quote is a span of the seed text.
    for task in &all {
        let start = task["start"].as_u64().expect("start") as usize;
        let end = task["end"].as_u64().expect("end") as usize;
        let quote: String = SEED.chars().skip(start).take(end - start).collect();
        assert_eq!(task["quote"], quote.as_str());
    }
    assert_eq!(
        tasks_of(&app.get("/api/supervision/tasks", Some(&commander)).await).len(),
        year_targets
    );
    assert_eq!(
        app.get("/api/supervision/tasks", Some(&citizen))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // 增加停车位 960 个: give it to 城管 with 水务 co-handling.
    let task = all
        .iter()
        .find(|t| t["indicator"] == "新增就业")
        .expect("the employment target");
    let id = task["id"].as_u64().expect("id");
    let target = task["value"].as_f64().expect("value");
    let path = format!("/api/supervision/tasks/{id}");
    let denied_edit = put(&app, &path, &handler, json!({"lead": "chengguan"})).await;
    assert_eq!(denied_edit.status, StatusCode::FORBIDDEN);
    let bad = put(&app, &path, &supervisor, json!({"lead": "nosuch"})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    let edited = put(
        &app,
        &path,
        &supervisor,
        json!({"lead": "chengguan", "co_departments": ["shuiwu"], "deadline": format!("{}-11-30", this_year()), "version": 1}),
    )
    .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
    let edited = edited.json();
    assert_eq!(edited["task"]["lead"], "chengguan");
    assert_eq!(edited["task"]["co_departments"], json!(["shuiwu"]));
    assert_eq!(edited["task"]["version"], 2);
    // A stale version is refused.
    let stale = put(
        &app,
        &path,
        &supervisor,
        json!({"lead": "shuiwu", "version": 1}),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text);

    // The lead department sees it; the co-department sees it but may not report progress; others see nothing.
    let mine = tasks_of(&app.get("/api/supervision/tasks", Some(&handler)).await);
    assert!(mine.iter().any(|t| t["id"] == id));
    assert!(mine.iter().all(|t| t["lead"] == "chengguan"
        || t["co_departments"]
            .as_array()
            .is_some_and(|c| c.contains(&json!("chengguan")))));
    assert_eq!(app.get(&path, Some(&handler2)).await.status, StatusCode::OK);
    let progress_path = format!("{path}/progress");
    let co_refused = app
        .post(&progress_path, Some(&handler2), json!({"value": target}))
        .await;
    assert_eq!(
        co_refused.status,
        StatusCode::FORBIDDEN,
        "{}",
        co_refused.text
    );
    let others = tasks_of(&app.get("/api/supervision/tasks", Some(&handler2)).await);
    assert!(others.iter().all(|t| t["lead"] == "shuiwu"
        || t["co_departments"]
            .as_array()
            .is_some_and(|c| c.contains(&json!("shuiwu")))));
    let not_involved = all
        .iter()
        .find(|t| {
            t["id"] != id
                && t["lead"] != "shuiwu"
                && t["lead"] != "chengguan"
                && t["co_departments"].as_array().is_some_and(|c| c.is_empty())
        })
        .expect("another task");
    let other_path = format!("/api/supervision/tasks/{}", not_involved["id"]);
    assert_eq!(
        app.get(&other_path, Some(&handler2)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&other_path, Some(&citizen)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(&progress_path, Some(&supervisor), json!({"value": 1}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // 督办: by a supervisor, with a limit in working days.
    let notice_path = format!("{path}/notices");
    assert_eq!(
        app.post(&notice_path, Some(&handler), json!({"note": "请报送"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(&notice_path, Some(&supervisor), json!({"note": "  "}))
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let noticed = app
        .post(
            &notice_path,
            Some(&supervisor),
            json!({"note": "请于5个工作日内报送进度", "respond_within_working_days": 5}),
        )
        .await;
    assert_eq!(noticed.status, StatusCode::OK, "{}", noticed.text);
    let noticed = noticed.json();
    let notice = &noticed["task"]["notices"][0];
    assert_eq!(notice["note"], "请于5个工作日内报送进度");
    assert_eq!(notice["by"], "supervisor");
    assert!(notice["respond_by"].is_string());
    assert_eq!(notice["answered"], false);

    // Progress by the lead department: half-way, then the target.
    let half = app
        .post(
            &progress_path,
            Some(&handler),
            json!({"value": target / 2.0, "evidence": ["人社台账"], "note": "上半年"}),
        )
        .await;
    assert_eq!(half.status, StatusCode::OK, "{}", half.text);
    let half = half.json();
    assert_ne!(half["task"]["status"], "done");
    assert_eq!(half["task"]["latest"]["value"].as_f64(), Some(target / 2.0));
    assert_eq!(half["task"]["notices"][0]["answered"], true);
    let done = app
        .post(
            &progress_path,
            Some(&handler),
            json!({"value": target, "note": "全年完成"}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let done = done.json();
    assert_eq!(done["task"]["status"], "done");
    assert_eq!(done["chain"]["ok"], true);
    let kinds: Vec<&str> = done["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|e| e["kind"]["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "edited",
            "notice_issued",
            "progress_reported",
            "progress_reported",
            "done"
        ]
    );
    let filtered = tasks_of(
        &app.get("/api/supervision/tasks?status=done", Some(&supervisor))
            .await,
    );
    assert_eq!(
        filtered
            .iter()
            .map(|t| t["id"].as_u64())
            .collect::<Vec<_>>(),
        [Some(id)]
    );
    assert_eq!(
        app.get("/api/supervision/tasks?status=late", Some(&supervisor))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let by_department = tasks_of(
        &app.get(
            "/api/supervision/tasks?department=shuiwu",
            Some(&supervisor),
        )
        .await,
    );
    assert!(by_department.iter().any(|t| t["id"] == id));

    // An old report: every task is overdue and listed among the reminders, most overdue first.
    let old = json!({"text": SEED, "name": "东丽区2021年政府工作报告"});
    let imported = app
        .post("/api/supervision/import", Some(&supervisor), old)
        .await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.text);
    assert_eq!(imported.json()["year"], 2021);
    let reminders = app
        .get("/api/supervision/reminders?year=2021", Some(&supervisor))
        .await;
    assert_eq!(reminders.status, StatusCode::OK, "{}", reminders.text);
    let reminders = reminders.json();
    let reminders = reminders.as_array().expect("list");
    assert_eq!(reminders.len(), year_targets);
    assert!(reminders.iter().all(|r| r["task"]["status"] == "overdue"
        && r["reasons_zh"][0]
            .as_str()
            .is_some_and(|s| s.starts_with("已逾期"))));
    assert_eq!(
        app.get("/api/supervision/reminders", Some(&citizen))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // The 实效表: the XLSX rows are the API's tasks, in the API's order.
    let listed = tasks_of(&app.get("/api/supervision/tasks", Some(&supervisor)).await);
    let (status, kind, xlsx) = bytes(&app, "/api/supervision/export.xlsx", &supervisor).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("application/vnd.openxmlformats"));
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(xlsx)).expect("an XLSX");
    assert_eq!(workbook.sheet_names(), ["实效表", "按部门", "按篇章"]);
    let sheet = workbook.worksheet_range("实效表").expect("sheet");
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|row| {
            row.iter()
                .map(|cell| match cell {
                    Data::String(s) => s.clone(),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    assert_eq!(rows[0][0], "编号");
    assert_eq!(rows.len() - 1, listed.len());
    for (row, task) in rows[1..].iter().zip(&listed) {
        assert_eq!(row[0], task["id"].to_string());
        assert_eq!(row[1], task["section"].as_str().unwrap_or_default());
        assert_eq!(row[2], task["indicator"].as_str().unwrap_or_default());
        assert_eq!(row[3], task["target"].as_str().unwrap_or_default());
        assert_eq!(row[6], task["status_zh"].as_str().unwrap_or_default());
        assert_eq!(row[7], task["lead_name"].as_str().unwrap_or_default());
        assert_eq!(row[9], task["deadline"].as_str().unwrap_or_default());
        assert_eq!(row[11], task["quote"].as_str().unwrap_or_default());
    }
    let done_row = rows
        .iter()
        .find(|r| r[0] == id.to_string())
        .expect("done row");
    assert_eq!(done_row[6], "已完成");
    assert!(done_row[4].starts_with(&onegrid_text::workreport::format_value(target)));
    // 按部门: the counts add up to every task.
    let departments = workbook.worksheet_range("按部门").expect("sheet");
    let total: f64 = departments
        .rows()
        .skip(1)
        .map(|r| r[1].get_float().unwrap_or_default())
        .sum();
    assert_eq!(total as usize, listed.len());
    // A handler's workbook holds its tasks only.
    let (status, _, xlsx) = bytes(&app, "/api/supervision/export.xlsx", &handler).await;
    assert_eq!(status, StatusCode::OK);
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(xlsx)).expect("an XLSX");
    let sheet = workbook.worksheet_range("实效表").expect("sheet");
    let mine = tasks_of(&app.get("/api/supervision/tasks", Some(&handler)).await);
    assert_eq!(sheet.rows().count() - 1, mine.len());
    // CSV: the same rows.
    let (status, kind, csv) = bytes(&app, "/api/supervision/export.csv", &supervisor).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/csv"));
    let csv = String::from_utf8(csv).expect("utf-8");
    assert!(csv.starts_with("\u{feff}编号,篇章,指标,目标"));
    assert!(csv.contains(listed[0]["quote"].as_str().expect("quote")));
    assert_eq!(
        bytes(&app, "/api/supervision/export.csv", &citizen).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn multipart_upload_and_bad_reports() {
    let app = app().await;
    let supervisor = app.login("supervisor").await;
    let doc = app.get("/api/openapi.json", None).await.json();
    for path in [
        "/api/supervision/tasks",
        "/api/supervision/tasks/{id}/progress",
        "/api/supervision/export.xlsx",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    // A file through multipart.
    let boundary = "XyZsupervision";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n东丽区报告\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.txt\"\r\nContent-Type: text/plain\r\n\r\n").as_bytes());
    body.extend_from_slice(SEED.as_bytes());
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/supervision/import?preview=true")
        .header(header::AUTHORIZATION, format!("Bearer {supervisor}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .expect("request");
    let answer = app.request(request).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let answer = answer.json();
    assert_eq!(answer["name"], "东丽区报告");
    assert_eq!(answer["year"], 2021);
    assert_eq!(
        answer["targets"].as_array().expect("targets").len(),
        onegrid_text::workreport::extract(SEED).year_targets()
    );
    // No targets, no year, empty.
    for (text, what) in [("今年天气很好。", "no target"), ("", "empty")] {
        let answer = app
            .post(
                "/api/supervision/import",
                Some(&supervisor),
                json!({"text": text, "year": 2024}),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {}",
            answer.text
        );
    }
    let answer = app
        .post(
            "/api/supervision/import",
            Some(&supervisor),
            json!({"text": "新增就业2万人。"}),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.text
    );
    assert!(answer.text.contains("year"), "{}", answer.text);
}
