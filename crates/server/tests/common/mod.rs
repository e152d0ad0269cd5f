//! A small district for HTTP tests: two streets, three square grid cells with outlines, one account
//! per role (and a second one for some roles, to test scopes), each with the password
//! `password-<id>`. Requests go straight to the router (no socket).

#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use geo::{polygon, MultiPolygon};
use http_body_util::BodyExt;
use onegrid_core::area::AreaLevel;
use onegrid_core::{
    Area, AreaCode, AreaTree, DepartmentCode, Departments, Person, PersonId, Reference, Role,
    Scope, Taxonomy, WorkCalendar,
};
use onegrid_server::{AppState, Config};
use onegrid_store::{GridShape, SqliteStore, Store};
use serde_json::Value;
use tower::ServiceExt;

pub const CELL_A: &str = "120110001001001";
pub const CELL_B: &str = "120110001001002";
pub const CELL_C: &str = "120110002001001";
/// A point inside each cell (WGS84).
pub const POINT_A: (f64, f64) = (117.305, 39.105);
pub const POINT_B: (f64, f64) = (117.315, 39.105);
pub const POINT_C: (f64, f64) = (117.325, 39.105);

pub struct TestApp {
    pub dir: tempfile::TempDir,
    pub store: Arc<dyn Store>,
    pub state: AppState,
    pub router: Router,
}

fn area(code: &str, name: &str) -> Area {
    Area {
        code: AreaCode::parse(code).expect("code"),
        name: name.to_string(),
        generated: false,
    }
}

fn person(id: &str, name: &str, role: Role, areas: &[&str], department: Option<&str>) -> Person {
    Person {
        id: PersonId::parse(id).expect("id"),
        name: name.to_string(),
        role,
        scope: Scope {
            areas: areas
                .iter()
                .map(|a| AreaCode::parse(a).expect("area"))
                .collect(),
            department: department.map(|d| DepartmentCode::parse(d).expect("department")),
        },
        phone: Some("13812345678".to_string()),
    }
}

/// Every account of the fixture.
pub fn people() -> Vec<Person> {
    vec![
        person("citizen", "王小丽", Role::Citizen, &[], None),
        person("citizen2", "李大伟", Role::Citizen, &[], None),
        person("gridworker", "张网格", Role::GridWorker, &[CELL_A], None),
        person("gridworker2", "赵网格", Role::GridWorker, &[CELL_B], None),
        person(
            "dispatcher",
            "刘受理",
            Role::Dispatcher,
            &["120110001"],
            None,
        ),
        person(
            "dispatcher2",
            "陈受理",
            Role::Dispatcher,
            &["120110002"],
            None,
        ),
        person(
            "handler",
            "城管处置",
            Role::DepartmentHandler,
            &[],
            Some("chengguan"),
        ),
        person(
            "handler2",
            "水务处置",
            Role::DepartmentHandler,
            &[],
            Some("shuiwu"),
        ),
        person("commander", "指挥长", Role::Commander, &[], None),
        person("supervisor", "督查员", Role::Supervisor, &[], None),
        person("admin", "管理员", Role::Admin, &[], None),
        person("integrator", "12345对接", Role::Integrator, &[], None),
    ]
}

fn square(lon: f64, lat: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![polygon![
        (x: lon, y: lat),
        (x: lon + 0.01, y: lat),
        (x: lon + 0.01, y: lat + 0.01),
        (x: lon, y: lat + 0.01),
        (x: lon, y: lat),
    ]])
}

/// The fixture's tests report the same few texts at the same places many times; automatic merging
/// would fold them together, so it is off here and on in the test of duplicates.
pub async fn app() -> TestApp {
    app_with(Config {
        auto_merge_duplicates: false,
        ..Config::default()
    })
    .await
}

pub async fn app_with(config: Config) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(dir.path().join("t.db")).expect("open store"));
    let departments = Departments::default_departments().expect("departments");
    let taxonomy = Taxonomy::default_taxonomy(&departments).expect("taxonomy");
    let reference = Reference {
        areas: AreaTree::new([
            area("120110", "东丽区"),
            area("120110001", "张贵庄街道"),
            area("120110001001", "第一社区"),
            area("120110002", "丰年村街道"),
            area("120110002001", "第二社区"),
            area(CELL_A, "第一网格"),
            area(CELL_B, "第二网格"),
            area(CELL_C, "第三网格"),
        ])
        .expect("tree"),
        taxonomy,
        departments,
        people: people().into_iter().map(|p| (p.id.clone(), p)).collect(),
        calendar: WorkCalendar::china(),
    };
    store.put_reference(reference).await.expect("reference");
    let cells = [
        (CELL_A, "第一网格", 117.30),
        (CELL_B, "第二网格", 117.31),
        (CELL_C, "第三网格", 117.32),
    ]
    .map(|(code, name, lon)| GridShape {
        area: area(code, name),
        geometry: square(lon, 39.10),
        approximate: false,
    });
    store
        .put_grid_layer(AreaLevel::Cell, cells.to_vec(), chrono::Utc::now())
        .await
        .expect("cells");
    for p in people() {
        // A cheap hash keeps the tests fast; login verifies any valid argon2 PHC string.
        let hash =
            onegrid_server::auth::hash_password(&format!("password-{}", p.id)).expect("hash");
        store
            .set_password(&p.id, hash, chrono::Utc::now())
            .await
            .expect("password");
    }
    let state = AppState::new(store.clone(), config).await.expect("state");
    let router = onegrid_server::router(state.clone());
    TestApp {
        dir,
        store,
        state,
        router,
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

impl TestApp {
    pub async fn request(&self, request: Request<Body>) -> Answer {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("router answers");
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Answer {
            status,
            content_type,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// A JSON request, signed in with `token` when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        }
        .expect("request");
        self.request(request).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// Signs in as `id` and returns the bearer token.
    pub async fn login(&self, id: &str) -> String {
        self.login_with(id, &format!("password-{id}")).await
    }

    pub async fn login_with(&self, id: &str, password: &str) -> String {
        let answer = self
            .post(
                "/api/auth/login",
                None,
                serde_json::json!({"person": id, "password": password}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "login {id}: {}", answer.text);
        answer.json()["token"].as_str().expect("token").to_string()
    }

    /// Reports a case as `token`'s account at `point`; returns the case id.
    pub async fn report_at(&self, token: &str, point: (f64, f64), title: &str) -> u64 {
        self.report_with(token, point, title, "门口堆了很多生活垃圾，没人清理")
            .await
    }

    /// Reports a case with its own description; returns the case id.
    pub async fn report_with(
        &self,
        token: &str,
        point: (f64, f64),
        title: &str,
        description: &str,
    ) -> u64 {
        let answer = self
            .post(
                "/api/cases",
                Some(token),
                serde_json::json!({
                    "title": title,
                    "description": description,
                    "category": "S0101",
                    "location": {"lon": point.0, "lat": point.1},
                }),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "report: {}",
            answer.text
        );
        answer.json()["case"]["id"].as_u64().expect("id")
    }

    /// Gives a command; returns the answer.
    pub async fn act(&self, token: &str, id: u64, command: Value) -> Answer {
        self.post(&format!("/api/cases/{id}/commands"), Some(token), command)
            .await
    }
}
