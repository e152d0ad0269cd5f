//! Supervision tasks (督办任务) over HTTP: import of the Dongli seed page (the preview's encoding
//! note, cleaning steps with positions and items), access by role, progress, 督办 notices,
//! reminders and the reminder sweep on the business clock, the hash chain, and the 实效表 exports.
//! Tampering with a stored history is tested in the store (`crates/store/src/sqlite/supervision.rs`),
//! which can reach the file.

mod common;

use std::io::Cursor;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use calamine::{open_workbook_from_rs, Data, DataType, Reader, Xlsx};
use chrono::Datelike;
use common::{app, app_with, TestApp};
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

/// The seed page in GBK, as a district office's Windows machine saves it (converted with iconv).
fn seed_in_gbk() -> Vec<u8> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("iconv")
        .args(["-f", "UTF-8", "-t", "GBK"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("iconv (glibc's, package libc-bin) converts the seed page to GBK");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(SEED.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("iconv");
    assert!(output.status.success(), "iconv failed");
    assert!(
        std::str::from_utf8(&output.stdout).is_err(),
        "GBK, not UTF-8"
    );
    output.stdout
}

async fn upload(app: &TestApp, token: &str, path: &str, name: &str, file: &[u8]) -> common::Answer {
    let boundary = "XyZsupervisionGBK";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n{name}\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"report.txt\"\r\nContent-Type: text/plain\r\n\r\n").as_bytes());
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .expect("request");
    app.request(request).await
}

#[tokio::test]
async fn the_preview_of_a_gbk_upload_says_what_was_converted_cleaned_and_found() {
    let app = app().await;
    let supervisor = app.login("supervisor").await;
    let answer = upload(
        &app,
        &supervisor,
        "/api/supervision/import?preview=true",
        "东丽区报告",
        &seed_in_gbk(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let answer = answer.json();
    assert_eq!(answer["stored"], false);
    assert_eq!(answer["encoding"], "GB18030");
    assert_eq!(answer["converted"], true);

    // Every cleaning step of `onegrid report extract`, in the same words, with its position.
    let expected = onegrid_text::workreport::read_report(
        &seed_in_gbk(),
        onegrid_text::workreport::DEFAULT_MAX_BYTES,
    )
    .expect("reads")
    .1;
    let steps = answer["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), expected.steps.len());
    for (step, want) in steps.iter().zip(&expected.steps) {
        assert_eq!(step["text"], want.to_string());
        assert_eq!(step["kind"], want.kind.name());
        assert_eq!(step["start"], want.start);
        assert_eq!(step["end"], want.end);
    }
    assert_eq!(steps[0]["kind"], "encoding");
    assert!(steps[0]["note"]
        .as_str()
        .is_some_and(|n| n.contains("GB18030") && n.contains("converted to UTF-8")));
    let chars: Vec<char> = SEED.chars().collect();
    let position = |offset: usize| {
        let line = chars[..offset].iter().filter(|&&c| c == '\n').count() + 1;
        let line_start = chars[..offset]
            .iter()
            .rposition(|&c| c == '\n')
            .map_or(0, |i| i + 1);
        (line, offset - line_start + 1)
    };
    for step in &steps[1..] {
        let start = step["start"].as_u64().expect("start") as usize;
        let end = step["end"].as_u64().expect("end") as usize;
        let (line, column) = position(start);
        assert_eq!(
            (step["line"].as_u64(), step["column"].as_u64()),
            (Some(line as u64), Some(column as u64)),
            "{step}"
        );
        assert_eq!(step["original_chars"], end - start, "{step}");
        let before: String = chars[start.saturating_sub(16)..start]
            .iter()
            .map(|&c| if c == '\n' { '⏎' } else { c })
            .collect();
        assert_eq!(step["before"], before.as_str());
    }
    let kinds: Vec<&str> = steps.iter().filter_map(|s| s["kind"].as_str()).collect();
    for kind in [
        "page_header",
        "continuation_mark",
        "running_title",
        "column_break_join",
        "traditional_form",
        "repeated_passage",
        "page_furniture",
    ] {
        assert!(kinds.contains(&kind), "no {kind} step: {kinds:?}");
    }
    let header = steps
        .iter()
        .find(|s| s["kind"] == "page_header")
        .expect("page header");
    assert_eq!(
        (&header["original"], &header["line"], &header["column"]),
        (&json!("14 | 要闻"), &json!(3), &json!(1))
    );
    let continuation = steps
        .iter()
        .find(|s| s["kind"] == "continuation_mark")
        .expect("continuation mark");
    assert_eq!(continuation["original"], "(上接第13版)");
    let traditional = steps
        .iter()
        .find(|s| s["kind"] == "traditional_form")
        .expect("traditional form");
    assert_eq!(
        (&traditional["original"], &traditional["replacement"]),
        (&json!("壓"), &json!("压"))
    );
    let repeated = steps
        .iter()
        .find(|s| s["kind"] == "repeated_passage")
        .expect("repeated passage");
    assert_eq!(repeated["original_chars"], 166);
    assert!(repeated["original"]
        .as_str()
        .is_some_and(|o| o.contains(" … ") && o.chars().count() < 130));

    // The items: this year's targets (tasks, with the suggested lead) and all the others.
    let targets = answer["targets"].as_array().expect("targets");
    let others = answer["others"].as_array().expect("others");
    assert_eq!(targets.len(), expected.year_targets());
    assert_eq!(targets.len() + others.len(), expected.items.len());
    assert_eq!(answer["items_found"], expected.items.len());
    for item in targets.iter().chain(others) {
        let start = item["start"].as_u64().expect("start") as usize;
        let end = item["end"].as_u64().expect("end") as usize;
        let quote: String = chars[start..end].iter().collect();
        assert_eq!(item["quote"], quote.as_str());
        assert_eq!(item["line"], position(start).0);
    }
    assert!(targets
        .iter()
        .any(|t| t["lead"] == "shangwu"
            && t["lead_name"].as_str().is_some_and(|n| n.contains("商务"))));
    assert!(others
        .iter()
        .any(|o| o["kind"] == "achievement" && o["period"] == "past"));
    assert!(others
        .iter()
        .any(|o| o["kind"] == "target" && o["period"] == "十四五"));

    // A JSON body is UTF-8: no encoding step, the same cleaning otherwise.
    let json_answer = app
        .post(
            "/api/supervision/import?preview=true",
            Some(&supervisor),
            json!({"text": SEED}),
        )
        .await
        .json();
    assert_eq!(json_answer["encoding"], "UTF-8");
    assert_eq!(json_answer["converted"], false);
    assert_eq!(
        json_answer["steps"].as_array().expect("steps").len(),
        steps.len() - 1
    );

    // Confirmed, the GBK upload stores the same tasks.
    let stored = upload(
        &app,
        &supervisor,
        "/api/supervision/import",
        "东丽区报告",
        &seed_in_gbk(),
    )
    .await;
    assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.text);
    assert_eq!(
        stored.json()["task_ids"].as_array().expect("ids").len(),
        targets.len()
    );
}

fn history_kinds(detail: &Value) -> Vec<String> {
    detail["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|e| e["kind"]["type"].as_str().expect("type").to_string())
        .collect()
}

/// Waits (at most 10 s) until `done` holds for the supervisor's task list.
async fn until(app: &TestApp, token: &str, what: &str, done: impl Fn(&[Value]) -> bool) {
    for _ in 0..200 {
        let tasks = tasks_of(&app.get("/api/supervision/tasks", Some(token)).await);
        if done(&tasks) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the reminder sweep did not run: {what}");
}

#[tokio::test]
async fn tasks_that_fall_behind_are_reminded_in_their_history() {
    use onegrid_server::supervision::{run_reminders, sweep_reminders};
    let app = app_with(onegrid_server::Config {
        adjustable_clock: true,
        auto_merge_duplicates: false,
        ..onegrid_server::Config::default()
    })
    .await;
    let supervisor = app.login("supervisor").await;
    let handler = app.login("handler").await; // chengguan
    let clock = &app.state.clock;
    let start = clock.now();
    let day = chrono::TimeDelta::days(1);

    // Next year's targets: on track now (their year has not begun, nothing is stale).
    let next = json!({"text": SEED, "name": "明年报告", "year": this_year() + 1});
    let imported = app
        .post("/api/supervision/import", Some(&supervisor), next)
        .await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.text);
    let ids: Vec<u64> = imported.json()["task_ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_u64().expect("id"))
        .collect();
    assert!(sweep_reminders(app.store.as_ref(), clock.now())
        .await
        .expect("sweep")
        .is_empty());
    // One of them is done at once: it is never reminded.
    let done_id = ids[0];
    let path = format!("/api/supervision/tasks/{done_id}");
    let edited = put(&app, &path, &supervisor, json!({"lead": "chengguan"})).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
    let value = edited.json()["task"]["value"].as_f64().expect("value");
    let done = app
        .post(
            &format!("{path}/progress"),
            Some(&handler),
            json!({"value": value}),
        )
        .await;
    assert_eq!(done.json()["task"]["status"], "done", "{}", done.text);

    // 62 days later without a progress report the others are at risk (stale): each gets a
    // reminder in its history, once.
    clock.move_to(start + day * 62).expect("move the clock");
    let recorded = sweep_reminders(app.store.as_ref(), clock.now())
        .await
        .expect("sweep");
    assert_eq!(recorded.len(), ids.len() - 1);
    assert!(recorded
        .iter()
        .all(|r| r.task != done_id && r.status == "at_risk" && r.reason.contains("天未报送进度")));
    assert!(sweep_reminders(app.store.as_ref(), clock.now())
        .await
        .expect("sweep")
        .is_empty());
    let detail = app
        .get(
            &format!("/api/supervision/tasks/{}", ids[1]),
            Some(&supervisor),
        )
        .await
        .json();
    assert_eq!(history_kinds(&detail), ["created", "reminded"]);
    assert_eq!(detail["chain"]["ok"], true);
    let event = &detail["history"][1];
    assert_eq!(event["actor"]["person"], "onegrid-reminders");
    assert_eq!(event["kind"]["status"], "at_risk");
    assert_eq!(detail["task"]["reminders"][0]["status"], "at_risk");
    // The reminders list carries them; the done task is not on it.
    let listed = app
        .get("/api/supervision/reminders", Some(&supervisor))
        .await
        .json();
    let listed = listed.as_array().expect("list");
    assert_eq!(listed.len(), ids.len() - 1);
    assert!(listed
        .iter()
        .all(|r| r["task"]["reminders"].as_array().map(Vec::len) == Some(1)));

    // The server's sweep (what `onegrid serve` runs) follows the business clock: 20 days on, more
    // than five working days after the first reminders, each task behind is reminded again.
    let sweeper = tokio::spawn(run_reminders(app.state.clone()));
    clock.move_to(start + day * 82).expect("move the clock");
    let others: Vec<u64> = ids[1..].to_vec();
    until(&app, &supervisor, "second reminders", |tasks| {
        tasks
            .iter()
            .filter(|t| others.contains(&t["id"].as_u64().unwrap_or_default()))
            .all(|t| t["reminders"].as_array().map(Vec::len) == Some(2))
    })
    .await;

    // A task falling overdue is reminded at once, even within five working days of the last.
    let today = onegrid_core::supervision::local_day(clock.now());
    let current = json!({"text": SEED, "name": "今年报告", "year": chrono::Datelike::year(&today)});
    let imported = app
        .post("/api/supervision/import", Some(&supervisor), current)
        .await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.text);
    let late = imported.json()["task_ids"][0].as_u64().expect("id");
    let late_path = format!("/api/supervision/tasks/{late}");
    let edited = put(
        &app,
        &late_path,
        &supervisor,
        json!({"deadline": today.to_string()}),
    )
    .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
    sweep_reminders(app.store.as_ref(), clock.now())
        .await
        .expect("sweep");
    clock.move_to(start + day * 83).expect("move the clock");
    until(&app, &supervisor, "the overdue reminder", |tasks| {
        tasks.iter().any(|t| {
            t["id"] == late
                && t["status"] == "overdue"
                && t["reminders"]
                    .as_array()
                    .and_then(|r| r.last())
                    .is_some_and(|r| r["status"] == "overdue")
        })
    })
    .await;
    sweeper.abort();
    let detail = app.get(&late_path, Some(&supervisor)).await.json();
    assert_eq!(detail["chain"]["ok"], true);
    assert_eq!(
        history_kinds(&detail).last().map(String::as_str),
        Some("reminded")
    );
    let reminders = detail["task"]["reminders"].as_array().expect("reminders");
    assert!(reminders
        .last()
        .and_then(|r| r["reason"].as_str())
        .is_some_and(|r| r.starts_with("已逾期")));
    // The store's own check agrees with every chain.
    let report = app
        .store
        .supervision()
        .verify_tasks()
        .await
        .expect("verify");
    assert!(report.is_ok(), "{:?}", report.broken);
}
