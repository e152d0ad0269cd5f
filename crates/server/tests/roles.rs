//! The role and scope matrix: each role is refused what it must not do, and personal data is masked
//! for every role that does not need it. Out-of-scope cases answer 404 exactly like missing ones, so
//! ids reveal nothing.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::{json, Value};

/// A case in cell A (street 1), reported by `citizen`, taken to `stage`.
async fn case_at(app: &TestApp, stage: &str) -> u64 {
    let citizen = app.login("citizen").await;
    let id = app.report_at(&citizen, POINT_A, "门口暴露垃圾").await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    let steps: Vec<(&str, &String, Value)> = vec![
        ("accepted", &dispatcher, json!({"command": "accept"})),
        (
            "handling",
            &dispatcher,
            json!({"command": "dispatch", "department": "chengguan"}),
        ),
        (
            "awaiting_verification",
            &handler,
            json!({"command": "feedback", "evidence": ["照片"], "note": "已清运"}),
        ),
    ];
    for (reached, token, command) in steps {
        if stage == "reported" {
            break;
        }
        let answer = app.act(token, id, command).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        if stage == reached {
            break;
        }
    }
    id
}

#[tokio::test]
async fn reading_cases_follows_scope() {
    let app = app().await;
    let id = case_at(&app, "handling").await;
    let path = format!("/api/cases/{id}");
    let expected = [
        ("citizen", StatusCode::OK),
        ("citizen2", StatusCode::NOT_FOUND),
        ("gridworker", StatusCode::OK),
        ("gridworker2", StatusCode::NOT_FOUND),
        ("dispatcher", StatusCode::OK),
        ("dispatcher2", StatusCode::NOT_FOUND),
        ("handler", StatusCode::OK),
        ("handler2", StatusCode::NOT_FOUND),
        ("commander", StatusCode::OK),
        ("supervisor", StatusCode::OK),
        ("admin", StatusCode::NOT_FOUND),
        ("integrator", StatusCode::NOT_FOUND),
    ];
    let missing = app
        .get("/api/cases/999999", Some(&app.login("citizen2").await))
        .await;
    for (who, status) in expected {
        let token = app.login(who).await;
        let answer = app.get(&path, Some(&token)).await;
        assert_eq!(
            answer.status, status,
            "{who} reading case {id}: {}",
            answer.text
        );
        if status == StatusCode::NOT_FOUND {
            assert_eq!(
                answer.json()["detail"]
                    .as_str()
                    .map(|d| d.replace(&id.to_string(), "N")),
                missing.json()["detail"]
                    .as_str()
                    .map(|d| d.replace("999999", "N")),
                "{who}: an out-of-scope case looks exactly like a missing one"
            );
        }
        // Lists agree with single reads.
        let list = app.get("/api/cases", Some(&token)).await;
        if who == "admin" {
            assert_eq!(list.status, StatusCode::FORBIDDEN);
            continue;
        }
        assert_eq!(list.status, StatusCode::OK, "{who}: {}", list.text);
        let ids: Vec<u64> = list.json()["items"]
            .as_array()
            .map(|items| items.iter().filter_map(|c| c["id"].as_u64()).collect())
            .unwrap_or_default();
        assert_eq!(ids.contains(&id), status == StatusCode::OK, "{who} listing");
    }
}

#[tokio::test]
async fn acting_outside_role_or_scope_is_refused_and_changes_nothing() {
    let app = app().await;
    // Each row: the stage the case is at, who tries, the command, the status they get.
    let rows: Vec<(&str, &str, Value, StatusCode)> = vec![
        (
            "reported",
            "dispatcher2",
            json!({"command": "accept"}),
            StatusCode::NOT_FOUND,
        ),
        (
            "reported",
            "gridworker",
            json!({"command": "accept"}),
            StatusCode::FORBIDDEN,
        ),
        (
            "reported",
            "citizen",
            json!({"command": "accept"}),
            StatusCode::FORBIDDEN,
        ),
        (
            "reported",
            "handler",
            json!({"command": "accept"}),
            StatusCode::NOT_FOUND,
        ),
        (
            "reported",
            "supervisor",
            json!({"command": "accept"}),
            StatusCode::FORBIDDEN,
        ),
        (
            "accepted",
            "handler",
            json!({"command": "dispatch", "department": "chengguan"}),
            StatusCode::NOT_FOUND,
        ),
        (
            "handling",
            "handler2",
            json!({"command": "feedback", "evidence": ["照片"], "note": "已处理"}),
            StatusCode::NOT_FOUND,
        ),
        (
            "handling",
            "gridworker2",
            json!({"command": "self_settle", "evidence": ["照片"], "note": "已处理"}),
            StatusCode::NOT_FOUND,
        ),
        (
            "awaiting_verification",
            "handler",
            json!({"command": "verify", "passed": true}),
            StatusCode::FORBIDDEN,
        ),
        (
            "awaiting_verification",
            "handler",
            json!({"command": "close"}),
            StatusCode::FORBIDDEN,
        ),
        (
            "awaiting_verification",
            "gridworker2",
            json!({"command": "verify", "passed": true}),
            StatusCode::NOT_FOUND,
        ),
        (
            "awaiting_verification",
            "citizen2",
            json!({"command": "rate", "score": 1}),
            StatusCode::NOT_FOUND,
        ),
        (
            "awaiting_verification",
            "dispatcher",
            json!({"command": "close"}),
            StatusCode::CONFLICT,
        ),
        (
            "awaiting_verification",
            "integrator",
            json!({"command": "verify", "passed": true}),
            StatusCode::NOT_FOUND,
        ),
        (
            "awaiting_verification",
            "admin",
            json!({"command": "close"}),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (stage, who, command, status) in rows {
        let id = case_at(&app, stage).await;
        let before = app
            .store
            .history(onegrid_core::CaseId(id))
            .await
            .expect("history")
            .len();
        let token = app.login(who).await;
        let answer = app.act(&token, id, command.clone()).await;
        assert_eq!(
            answer.status, status,
            "{who} {command} at {stage}: {}",
            answer.text
        );
        assert_eq!(answer.content_type, "application/problem+json");
        let after = app
            .store
            .history(onegrid_core::CaseId(id))
            .await
            .expect("history")
            .len();
        assert_eq!(before, after, "{who} {command}: nothing changed");
    }
}

#[tokio::test]
async fn personal_data_is_masked_for_roles_that_do_not_need_it() {
    let app = app().await;
    let id = case_at(&app, "handling").await;
    for (who, clear) in [
        ("citizen", true),
        ("dispatcher", true),
        ("commander", true),
        ("gridworker", false),
        ("handler", false),
        ("supervisor", false),
    ] {
        let token = app.login(who).await;
        let detail = app.get(&format!("/api/cases/{id}"), Some(&token)).await;
        assert_eq!(detail.status, StatusCode::OK, "{who}");
        let text = detail.text.clone();
        let reporter = &detail.json()["case"]["reporters"][0];
        if clear {
            assert_eq!(reporter["phone"], "13812345678", "{who}");
            assert_eq!(reporter["name"], "王小丽", "{who}");
        } else {
            assert_eq!(reporter["phone"], "138****5678", "{who}");
            assert_eq!(reporter["name"], "王**", "{who}");
            assert!(
                !text.contains("13812345678"),
                "{who}: phone nowhere, history included"
            );
            assert!(
                !text.contains("王小丽"),
                "{who}: name nowhere, history included"
            );
        }
    }
}

#[tokio::test]
async fn accounts_and_reference_rights() {
    let app = app().await;
    let new_person = json!({"id": "new.worker", "name": "新网格员", "role": "grid_worker", "areas": [CELL_C], "password": "a-long-password"});
    for who in ["dispatcher", "commander", "citizen"] {
        let token = app.login(who).await;
        let answer = app
            .post("/api/people", Some(&token), new_person.clone())
            .await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{who}: {}",
            answer.text
        );
    }
    let admin = app.login("admin").await;
    let created = app.post("/api/people", Some(&admin), new_person).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let token = app.login_with("new.worker", "a-long-password").await;
    assert!(!token.is_empty());

    // A citizen sees only themself in the people list; staff see phones masked.
    let citizen = app.login("citizen").await;
    let people = app.get("/api/people", Some(&citizen)).await.json();
    assert_eq!(people.as_array().map(Vec::len), Some(1));
    let dispatcher = app.login("dispatcher").await;
    let people = app.get("/api/people", Some(&dispatcher)).await.text;
    assert!(
        people.contains("138****5678") && people.contains("13812345678"),
        "own phone clear, others masked"
    );

    // KPIs are for staff who supervise work.
    for (who, status) in [
        ("citizen", StatusCode::FORBIDDEN),
        ("gridworker", StatusCode::FORBIDDEN),
        ("commander", StatusCode::OK),
    ] {
        let token = app.login(who).await;
        assert_eq!(
            app.get("/api/kpis?by=department", Some(&token))
                .await
                .status,
            status,
            "{who}"
        );
    }
    // Supervisors and admins do not report.
    for who in ["supervisor", "admin"] {
        let token = app.login(who).await;
        let answer = app
            .post("/api/cases", Some(&token), json!({"title": "垃圾", "category": "S0101", "location": {"lon": POINT_A.0, "lat": POINT_A.1}}))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{who}: {}",
            answer.text
        );
    }
    // Passwords: only an admin sets someone else's; one's own needs the current one.
    let other = app
        .call(
            axum::http::Method::PUT,
            "/api/people/citizen2/password",
            Some(&citizen),
            Some(json!({"new": "another-password"})),
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    let wrong = app
        .call(
            axum::http::Method::PUT,
            "/api/people/citizen/password",
            Some(&citizen),
            Some(json!({"current": "wrong-one", "new": "another-password"})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let ok = app
        .call(
            axum::http::Method::PUT,
            "/api/people/citizen/password",
            Some(&citizen),
            Some(json!({"current": "password-citizen", "new": "another-password"})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{}", ok.text);
}

#[tokio::test]
async fn citizens_register_and_see_only_their_own() {
    let app = app().await;
    let answer = app
        .post(
            "/api/auth/register",
            None,
            json!({"name": "周先生", "phone": "13900001111", "password": "my-password-1"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let body = answer.json();
    let token = body["token"].as_str().expect("token").to_string();
    assert_eq!(body["person"]["role"], "citizen");
    let mine = app.report_at(&token, POINT_C, "路灯不亮").await;
    case_at(&app, "reported").await;
    let list = app.get("/api/cases", Some(&token)).await.json();
    let ids: Vec<u64> = list["items"]
        .as_array()
        .map(|i| i.iter().filter_map(|c| c["id"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(ids, vec![mine]);
    let bad = app
        .post(
            "/api/auth/register",
            None,
            json!({"name": "x", "phone": "not a phone", "password": "short"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}
