//! HTTP tests without sockets: requests go straight to the router with `oneshot`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use onegrid_core::{
    Area, AreaCode, AreaTree, Channel, Departments, NewReport, Person, PersonId, Reference,
    Reporter, Role, Scope, Taxonomy, WorkCalendar,
};
use onegrid_store::{SqliteStore, Store};
use tower::ServiceExt;

struct App {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
}

async fn app_with_one_case() -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(dir.path().join("t.db")).expect("open store"));
    let area = |code: &str, name: &str| Area {
        code: AreaCode::parse(code).expect("code"),
        name: name.to_string(),
        generated: false,
    };
    let departments = Departments::default_departments().expect("departments");
    let taxonomy = Taxonomy::default_taxonomy(&departments).expect("taxonomy");
    let citizen = Person {
        id: PersonId::parse("citizen").expect("id"),
        name: "市民".to_string(),
        role: Role::Citizen,
        scope: Scope::default(),
        phone: None,
    };
    let reference = Reference {
        areas: AreaTree::new([
            area("120110", "东丽区"),
            area("120110001", "张贵庄街道"),
            area("120110001001", "社区"),
            area("120110001001001", "网格"),
        ])
        .expect("tree"),
        taxonomy,
        departments,
        people: [(citizen.id.clone(), citizen.clone())]
            .into_iter()
            .collect(),
        calendar: WorkCalendar::china(),
    };
    store.put_reference(reference).await.expect("reference");
    let report = NewReport {
        channel: Channel::Citizen,
        reporter: Reporter {
            channel: Channel::Citizen,
            person: None,
            name: Some("王女士".to_string()),
            phone: Some("13812345678".to_string()),
        },
        cell: AreaCode::parse("120110001001001").expect("cell"),
        point: None,
        distance_to_cell_m: None,
        address: None,
        category: onegrid_core::CategoryCode::parse("S0101").expect("category"),
        title: "暴露垃圾".to_string(),
        description: String::new(),
        photos: Vec::new(),
        tier: None,
        tier_reason: None,
    };
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00+08:00")
        .expect("time")
        .to_utc();
    store
        .report(report, &citizen.actor(), now)
        .await
        .expect("report");
    App { _dir: dir, store }
}

async fn get(app: &App, uri: &str) -> (StatusCode, String, String) {
    let response = onegrid_server::router(app.store.clone())
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        content_type,
        String::from_utf8_lossy(&body).to_string(),
    )
}

#[tokio::test]
async fn healthz_answers_ok() {
    let app = app_with_one_case().await;
    let (status, _, body) = get(&app, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "ok");
}

#[tokio::test]
async fn case_list_is_json_without_personal_data() {
    let app = app_with_one_case().await;
    let (status, content_type, body) = get(&app, "/api/cases?state=reported").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("application/json"));
    let cases: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(cases[0]["state"], "reported");
    assert_eq!(cases[0]["title"], "暴露垃圾");
    assert!(
        !body.contains("13812345678") && !body.contains("王女士"),
        "{body}"
    );
    let (_, _, body) = get(&app, "/api/cases/1").await;
    assert!(
        !body.contains("13812345678") && !body.contains("王女士"),
        "{body}"
    );
}

#[tokio::test]
async fn bad_requests_get_problem_responses() {
    let app = app_with_one_case().await;
    let (status, content_type, body) = get(&app, "/api/cases?state=lost").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(content_type, "application/problem+json");
    assert!(body.contains("state \\\"lost\\\" is not one of"), "{body}");
    let (status, _, body) = get(&app, "/api/cases/77").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("case 77 does not exist"), "{body}");
    let (status, _, body) = get(&app, "/api/cases/abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("not a number"), "{body}");
    let (status, _, body) = get(&app, "/api/cases?area=12011").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("12011"), "{body}");
}
