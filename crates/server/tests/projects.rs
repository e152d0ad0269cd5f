//! Major projects on the router: create, update with stage-order refusals, the change record,
//! Excel import (good, bad, all-or-nothing, skip_bad), rates, exports read back, access rules.

mod common;

use std::io::Cursor;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use common::*;
use http_body_util::BodyExt;
use rust_xlsxwriter::Workbook;
use serde_json::{json, Value};
use tower::ServiceExt;

fn project(name: &str, department: &str, point: (f64, f64)) -> Value {
    json!({
        "name": name,
        "investment": 12.5,
        "department": department,
        "park": "东丽经济技术开发区",
        "lon": point.0,
        "lat": point.1,
        "signing": {"planned": "2025-02-01", "actual": "2025-02-10"},
        "landing": {"planned": "2025-04-01"},
        "planned_contribution": 3.0,
    })
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let answer = app.post("/api/projects", Some(token), body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    answer.json()
}

async fn put(app: &TestApp, token: &str, id: u64, body: Value) -> common::Answer {
    app.call(
        Method::PUT,
        &format!("/api/projects/{id}"),
        Some(token),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn create_update_and_the_change_record() {
    let app = app().await;
    let token = app.login("supervisor").await;
    let created = create(
        &app,
        &token,
        project("智能装备产业园（示例）", "chengguan", POINT_A),
    )
    .await;
    assert_eq!(created["cell"], CELL_A);
    assert_eq!(created["stage"], "signing");
    assert_eq!(created["version"], 1);
    assert_eq!(created["department_name"], "区城市管理委员会");
    let id = created["id"].as_u64().expect("id");

    // Record the landing.
    let mut body = project("智能装备产业园（示例）", "chengguan", POINT_A);
    body["landing"] = json!({"planned": "2025-04-01", "actual": "2025-03-20"});
    body["version"] = json!(1);
    let answer = put(&app, &token, id, body.clone()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json()["stage"], "landing");
    assert_eq!(answer.json()["version"], 2);

    // A stale version is refused.
    let answer = put(&app, &token, id, body.clone()).await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.text);

    // Starting before landing, or with the start before the landing date: refused in order.
    let mut skipped = project("智能装备产业园（示例）", "chengguan", POINT_A);
    skipped["start"] = json!({"actual": "2025-05-01"});
    let answer = put(&app, &token, id, skipped).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.json()["code"], "stage_order");
    assert!(answer.json()["detail"]
        .as_str()
        .expect("test value")
        .contains("落地"));
    let mut early = body.clone();
    early["version"] = json!(2);
    early["start"] = json!({"actual": "2025-03-01"});
    let answer = put(&app, &token, id, early).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.json()["detail"]
        .as_str()
        .expect("test value")
        .contains("before"));
    // An actual date in the future.
    let mut future = body.clone();
    future["version"] = json!(2);
    future["start"] = json!({"actual": "2100-01-01"});
    let answer = put(&app, &token, id, future).await;
    assert_eq!(answer.json()["code"], "stage_order", "{}", answer.text);

    // The change record: created, then the landing; the chain verifies.
    let detail = app.get(&format!("/api/projects/{id}"), Some(&token)).await;
    assert_eq!(detail.status, StatusCode::OK);
    let detail = detail.json();
    let events = detail["events"].as_array().expect("events");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["kind"], "created");
    assert_eq!(events[1]["kind"], "updated");
    assert_eq!(events[1]["body"]["changes"][0]["field"], "landing.actual");
    assert_eq!(events[1]["actor"], "supervisor");
    assert_eq!(detail["chain_ok"], true);

    assert_eq!(
        app.get("/api/projects/999", Some(&token)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn points_outside_the_district_and_bad_records_are_refused() {
    let app = app().await;
    let token = app.login("commander").await;
    let answer = app
        .post(
            "/api/projects",
            Some(&token),
            project("项目（示例）", "chengguan", (100.0, 30.0)),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.json()["code"], "bad_location");
    assert!(answer.json()["detail"]
        .as_str()
        .expect("test value")
        .contains("outside the district"));
    let mut bad = project("项目（示例）", "chengguan", POINT_A);
    bad["investment"] = json!(0);
    let answer = app.post("/api/projects", Some(&token), bad).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let answer = app
        .post(
            "/api/projects",
            Some(&token),
            project("项目（示例）", "nosuch", POINT_A),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.json()["detail"]
        .as_str()
        .expect("test value")
        .contains("department"));
}

#[tokio::test]
async fn access_by_role_and_department() {
    let app = app().await;
    let supervisor = app.login("supervisor").await;
    let ours = create(
        &app,
        &supervisor,
        project("城管项目（示例）", "chengguan", POINT_A),
    )
    .await;
    let theirs = create(
        &app,
        &supervisor,
        project("水务项目（示例）", "shuiwu", POINT_B),
    )
    .await;

    for who in ["citizen", "gridworker", "dispatcher", "admin"] {
        let token = app.login(who).await;
        assert_eq!(
            app.get("/api/projects", Some(&token)).await.status,
            StatusCode::FORBIDDEN,
            "{who}"
        );
        assert_eq!(
            app.get("/api/projects/rates", Some(&token)).await.status,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        app.get("/api/projects", None).await.status,
        StatusCode::UNAUTHORIZED
    );

    let handler = app.login("handler").await;
    let list = app.get("/api/projects", Some(&handler)).await.json();
    let names: Vec<&str> = list
        .as_array()
        .expect("test value")
        .iter()
        .map(|p| p["name"].as_str().expect("test value"))
        .collect();
    assert_eq!(names, ["城管项目（示例）"]);
    let other = theirs["id"].as_u64().expect("test value");
    assert_eq!(
        app.get(&format!("/api/projects/{other}"), Some(&handler))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/projects?department=shuiwu", Some(&handler))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // May not register for another department, nor hand its project over, nor edit another's.
    let answer = app
        .post(
            "/api/projects",
            Some(&handler),
            project("水务项目2（示例）", "shuiwu", POINT_B),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let id = ours["id"].as_u64().expect("test value");
    let answer = put(
        &app,
        &handler,
        id,
        project("城管项目（示例）", "shuiwu", POINT_A),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = put(
        &app,
        &handler,
        other,
        project("水务项目（示例）", "chengguan", POINT_B),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    // Its own project: yes.
    let mut body = project("城管项目（示例）", "chengguan", POINT_A);
    body["landing"] = json!({"planned": "2025-04-01", "actual": "2025-03-01"});
    assert_eq!(put(&app, &handler, id, body).await.status, StatusCode::OK);
    // Rates of a handler count their department only.
    let rates = app
        .get(
            "/api/projects/rates?from=2025-01-01&to=2026-01-01",
            Some(&handler),
        )
        .await
        .json();
    assert_eq!(rates["total"]["figures"]["projects"], 1);
}

#[tokio::test]
async fn rates_per_department_and_park() {
    let app = app().await;
    let token = app.login("supervisor").await;
    // Signed in the period, landing due and done.
    let mut a = project("甲（示例）", "chengguan", POINT_A);
    a["landing"] = json!({"planned": "2025-04-01", "actual": "2025-03-01"});
    // Its start is planned after the period: not due.
    a["start"] = json!({"planned": "2026-06-01"});
    create(&app, &token, a).await;
    // Signing planned in the period, not signed.
    let mut b = project("乙（示例）", "shuiwu", POINT_B);
    b["signing"] = json!({"planned": "2025-03-01"});
    b["landing"] = json!({});
    b["park"] = Value::Null;
    create(&app, &token, b).await;
    // In production, with its contribution.
    let mut c = project("丙（示例）", "chengguan", POINT_C);
    c["signing"] = json!({"actual": "2024-01-01"});
    c["landing"] = json!({"actual": "2024-02-01"});
    c["start"] = json!({"actual": "2024-03-01"});
    c["production"] = json!({"planned": "2025-06-01", "actual": "2025-05-01"});
    c["planned_contribution"] = json!(4.0);
    c["actual_contribution"] = json!(3.0);
    create(&app, &token, c).await;

    let answer = app
        .get(
            "/api/projects/rates?from=2025-01-01&to=2026-01-01&by=department",
            Some(&token),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let rates = answer.json();
    let total = &rates["total"]["figures"];
    assert_eq!(total["projects"], 3);
    // Signing: a (signed in period) and b (due, not signed): 1/2.
    assert_eq!(total["signing"]["due"], 2);
    assert_eq!(total["signing"]["rate"], 0.5);
    assert_eq!(total["landing"]["rate"], 1.0);
    // Nothing was due to start: no rate, not 0.
    assert_eq!(total["start"]["due"], 0);
    assert_eq!(total["start"]["rate"], Value::Null);
    assert_eq!(total["production"]["rate"], 1.0);
    assert_eq!(total["contribution_rate"], 0.75);
    assert_eq!(total["pipeline"]["producing"], 1);
    let keys: Vec<&str> = rates["rows"]
        .as_array()
        .expect("test value")
        .iter()
        .map(|r| r["key"].as_str().expect("test value"))
        .collect();
    assert_eq!(keys, ["chengguan", "shuiwu"]);
    assert_eq!(rates["rows"][0]["name"], "区城市管理委员会");

    let by_park = app
        .get(
            "/api/projects/rates?from=2025-01-01&to=2026-01-01&by=park",
            Some(&token),
        )
        .await
        .json();
    let names: Vec<&str> = by_park["rows"]
        .as_array()
        .expect("test value")
        .iter()
        .map(|r| r["name"].as_str().expect("test value"))
        .collect();
    assert_eq!(names, ["园区外", "东丽经济技术开发区"]);

    for bad in [
        "/api/projects/rates?from=2025-05-01&to=2025-01-01",
        "/api/projects/rates?by=street",
        "/api/projects/rates?from=yesterday",
    ] {
        assert_eq!(
            app.get(bad, Some(&token)).await.status,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
}

/// A workbook in the import layout with the given data rows.
fn workbook(rows: &[Vec<&str>]) -> Vec<u8> {
    let headers = [
        "项目名称",
        "总投资(亿元)",
        "责任单位",
        "所在园区",
        "经度",
        "纬度",
        "计划签约日期",
        "签约日期",
        "计划落地日期",
        "落地日期",
        "计划开工日期",
        "开工日期",
        "计划投产日期",
        "投产日期",
        "计划年贡献(亿元)",
        "实际年贡献(亿元)",
        "备注",
    ];
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).expect("test value");
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if v.is_empty() {
                continue;
            }
            match v.parse::<f64>() {
                Ok(n) if c == 1 || c == 4 || c == 5 || c >= 14 => {
                    sheet.write_number(r as u32 + 1, c as u16, n)
                }
                _ => sheet.write_string(r as u32 + 1, c as u16, *v),
            }
            .expect("test value");
        }
    }
    book.save_to_buffer().expect("test value")
}

fn row<'a>(
    name: &'a str,
    department: &'a str,
    lon: &'a str,
    signed: &'a str,
    landed: &'a str,
) -> Vec<&'a str> {
    vec![
        name,
        "5",
        department,
        "东丽经济技术开发区",
        lon,
        "39.105",
        "2025-01-15",
        signed,
        "2025-03-01",
        landed,
        "",
        "",
        "",
        "",
        "2",
        "",
        "",
    ]
}

async fn upload(app: &TestApp, token: &str, bytes: Vec<u8>, query: &str) -> common::Answer {
    let boundary = "XyZprojects";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.xlsx\"\r\nContent-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/projects/import{query}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .expect("test value");
    app.request(request).await
}

#[tokio::test]
async fn import_is_all_or_nothing_unless_skip_bad() {
    let app = app().await;
    let token = app.login("supervisor").await;
    let lon_a = POINT_A.0.to_string();
    let good = workbook(&[
        row(
            "一号（示例）",
            "chengguan",
            &lon_a,
            "2025-01-20",
            "2025-02-20",
        ),
        row("二号（示例）", "城管", &lon_a, "2025/1/22", ""),
    ]);
    let answer = upload(&app, &token, good, "").await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let report = answer.json();
    assert_eq!(report["stored"].as_array().expect("test value").len(), 2);
    assert_eq!(report["ignored_columns"], json!(["备注"]));
    let list = app.get("/api/projects", Some(&token)).await.json();
    assert_eq!(list.as_array().expect("test value").len(), 2);
    assert_eq!(list[1]["signing"]["actual"], "2025-01-22");
    let events = app
        .get(&format!("/api/projects/{}", list[0]["id"]), Some(&token))
        .await
        .json();
    assert_eq!(events["events"][0]["kind"], "imported");

    // Three bad rows (unknown department, outside the district, landed before signing): nothing stored.
    let bad = workbook(&[
        row("三号（示例）", "chengguan", &lon_a, "2025-01-20", ""),
        row("四号（示例）", "nobody", &lon_a, "2025-01-20", ""),
        row("五号（示例）", "chengguan", "100", "2025-01-20", ""),
        row(
            "六号（示例）",
            "chengguan",
            &lon_a,
            "2025-03-20",
            "2025-02-20",
        ),
    ]);
    let answer = upload(&app, &token, bad.clone(), "").await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.text
    );
    let detail = answer.json()["detail"]
        .as_str()
        .expect("test value")
        .to_string();
    assert!(
        detail.contains("row 3:") && detail.contains("row 4:") && detail.contains("row 5:"),
        "{detail}"
    );
    assert!(!detail.contains("row 2:"), "{detail}");
    assert!(detail.contains("outside the district"), "{detail}");
    assert_eq!(
        app.get("/api/projects", Some(&token))
            .await
            .json()
            .as_array()
            .expect("test value")
            .len(),
        2
    );

    // skip_bad: the good row is stored, the bad ones reported.
    let answer = upload(&app, &token, bad, "?skip_bad=true").await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let report = answer.json();
    assert_eq!(report["stored"].as_array().expect("test value").len(), 1);
    let rows: Vec<u64> = report["bad"]
        .as_array()
        .expect("test value")
        .iter()
        .map(|b| b["row"].as_u64().expect("test value"))
        .collect();
    assert_eq!(rows, [3, 4, 5]);

    // Not a workbook; a sheet without the layout.
    let answer = upload(&app, &token, b"not a workbook".to_vec(), "").await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut book = Workbook::new();
    book.add_worksheet()
        .write_string(0, 0, "名称")
        .expect("test value");
    let answer = upload(&app, &token, book.save_to_buffer().expect("test value"), "").await;
    assert!(
        answer.json()["detail"]
            .as_str()
            .expect("test value")
            .contains("项目名称"),
        "{}",
        answer.text
    );

    // A handler imports their own department's rows only.
    let handler = app.login("handler").await;
    let mixed = workbook(&[row("七号（示例）", "shuiwu", &lon_a, "2025-01-20", "")]);
    let answer = upload(&app, &handler, mixed, "").await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.json()["detail"]
        .as_str()
        .expect("test value")
        .contains("not your department"));
}

async fn bytes(app: &TestApp, path: &str, token: &str) -> (StatusCode, String, Vec<u8>) {
    let request = Request::builder()
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("test value");
    let response = app
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("test value");
    let status = response.status();
    let kind = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().expect("test value").to_string())
        .unwrap_or_default();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("test value")
        .to_bytes()
        .to_vec();
    (status, kind, body)
}

#[tokio::test]
async fn exports_read_back_and_reimport() {
    let app = app().await;
    let token = app.login("commander").await;
    let mut a = project("出口项目, 甲（示例）", "chengguan", POINT_A);
    a["landing"] = json!({"planned": "2025-04-01", "actual": "2025-03-01"});
    create(&app, &token, a).await;
    create(
        &app,
        &token,
        project("出口项目乙（示例）", "shuiwu", POINT_B),
    )
    .await;

    let (status, kind, body) = bytes(
        &app,
        "/api/projects/export.xlsx?from=2025-01-01&to=2026-01-01",
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.contains("spreadsheetml"));
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(body.clone())).expect("test value");
    assert_eq!(book.sheet_names(), ["项目", "按责任单位", "按园区", "说明"]);
    let projects = book.worksheet_range("项目").expect("test value");
    assert_eq!(projects.get((0, 4)), Some(&Data::String("项目名称".into())));
    assert_eq!(
        projects.get((1, 4)),
        Some(&Data::String("出口项目, 甲（示例）".into()))
    );
    assert_eq!(projects.get((1, 2)), Some(&Data::String("落地".into())));
    assert_eq!(projects.height(), 3);
    let by_department = book.worksheet_range("按责任单位").expect("test value");
    assert_eq!(
        by_department.get((0, 8)),
        Some(&Data::String("落地率".into()))
    );
    assert_eq!(by_department.get((1, 8)), Some(&Data::Float(1.0)));
    // The last row is the total.
    assert_eq!(
        by_department.get((3, 0)),
        Some(&Data::String("合计".into()))
    );

    // The export is in the import layout: importing it again registers the same projects anew.
    let answer = upload(&app, &token, body, "").await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(
        answer.json()["stored"]
            .as_array()
            .expect("test value")
            .len(),
        2
    );

    let (status, kind, body) = bytes(&app, "/api/projects/export.csv", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/csv"));
    let text = String::from_utf8(body).expect("test value");
    assert!(text.starts_with('\u{feff}'));
    assert!(text.contains("\"出口项目, 甲（示例）\""), "{text}");
    assert_eq!(text.lines().count(), 5);

    let citizen = app.login("citizen").await;
    assert_eq!(
        bytes(&app, "/api/projects/export.xlsx", &citizen).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn openapi_lists_the_project_paths() {
    let app = app().await;
    let doc = app.get("/api/openapi.json", None).await.json();
    for path in [
        "/api/projects",
        "/api/projects/{id}",
        "/api/projects/rates",
        "/api/projects/import",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
}
