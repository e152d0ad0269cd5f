//! Proposals (建议提案) over HTTP: the desk files one with its number and deadline, the case view
//! shows it, the handle stage runs to the carried date, a citizen cannot file one, and its rating
//! counts in the KPIs and is in the verified history.

mod common;

use axum::http::StatusCode;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use common::{app, TestApp, POINT_A};
use serde_json::{json, Value};

fn rated_and_satisfied(kpis: &Value) -> (u64, u64) {
    let figures = &kpis[0]["figures"];
    let count = |field: &str| figures[field].as_u64().unwrap_or(0);
    (count("rated"), count("satisfied"))
}

async fn district_kpis(app: &TestApp, token: &str) -> Value {
    let answer = app.get("/api/kpis?by=district&days=30", Some(token)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json()
}

fn proposal_body(due_at: Option<DateTime<Utc>>) -> Value {
    json!({
        "title": "关于加强老旧小区环境整治的建议",
        "description": "建议对辖区老旧小区的垃圾清运和绿化进行综合整治。",
        "location": {"lon": POINT_A.0, "lat": POINT_A.1},
        "proposal": {
            "kind": "npc_suggestion",
            "number": "第0123号",
            "session": "区十七届人大五次会议",
            "due_at": due_at,
            "proposer": "王代表",
        },
    })
}

#[tokio::test]
async fn the_desk_files_a_proposal_that_runs_to_its_deadline_and_is_rated() {
    let app = app().await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    let gridworker = app.login("gridworker").await;
    let supervisor = app.login("supervisor").await;
    let citizen = app.login("citizen").await;

    // A citizen's ordinary case, rated 2, so the KPIs have something besides the proposal.
    let litter = app.report_at(&citizen, POINT_A, "楼下垃圾没人清").await;

    let due = (Utc::now() + Duration::days(60)).trunc_subsecs(0);
    let filed = app
        .post("/api/cases", Some(&dispatcher), proposal_body(Some(due)))
        .await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.text);
    let case = &filed.json()["case"];
    let id = case["id"].as_u64().expect("id");
    assert_eq!(case["category"], "Z9901");
    assert_eq!(case["channel"], "desk");
    assert_eq!(case["tier"], "district");
    assert_eq!(case["proposal"]["kind"], "npc_suggestion");
    assert_eq!(case["proposal"]["kind_zh"], "人大代表建议");
    assert_eq!(case["proposal"]["number"], "第0123号");
    assert_eq!(case["proposal"]["session"], "区十七届人大五次会议");
    assert_eq!(case["proposal"]["proposer"], "王代表");
    let shown: DateTime<Utc> =
        serde_json::from_value(case["proposal"]["due_at"].clone()).expect("a date");
    assert_eq!(shown, due);

    // The category and channel filters find it.
    let listed = app
        .get("/api/cases?category=Z9901", Some(&dispatcher))
        .await
        .json();
    let ids: Vec<u64> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["id"].as_u64())
        .collect();
    assert_eq!(ids, vec![id]);
    let by_channel = app
        .get("/api/cases?channel=desk", Some(&dispatcher))
        .await
        .json();
    assert!(by_channel["items"]
        .as_array()
        .expect("items")
        .iter()
        .any(|c| c["id"].as_u64() == Some(id) && c["proposal"]["number"] == "第0123号"));

    for (token, command) in [
        (&dispatcher, json!({"command": "accept"})),
        (
            &dispatcher,
            json!({"command": "dispatch", "department": "chengguan"}),
        ),
    ] {
        let answer = app.act(token, id, command.clone()).await;
        assert_eq!(answer.status, StatusCode::OK, "{command}: {}", answer.text);
    }
    let detail = app
        .get(&format!("/api/cases/{id}"), Some(&dispatcher))
        .await
        .json();
    assert_eq!(detail["case"]["deadline"]["stage"], "handle");
    let handle_due: DateTime<Utc> =
        serde_json::from_value(detail["case"]["deadline"]["due_at"].clone()).expect("a date");
    assert_eq!(handle_due, due, "the handle stage runs to the carried date");

    for (token, command) in [
        (
            &handler,
            json!({"command": "feedback", "evidence": ["答复函"], "note": "已答复代表"}),
        ),
        (&gridworker, json!({"command": "verify", "passed": true})),
        (&dispatcher, json!({"command": "close"})),
    ] {
        let answer = app.act(token, id, command.clone()).await;
        assert_eq!(answer.status, StatusCode::OK, "{command}: {}", answer.text);
    }
    for (token, command) in [
        (&dispatcher, json!({"command": "accept"})),
        (
            &dispatcher,
            json!({"command": "dispatch", "department": "chengguan"}),
        ),
        (
            &handler,
            json!({"command": "feedback", "evidence": ["清运后照片"], "note": "已清运"}),
        ),
        (&gridworker, json!({"command": "verify", "passed": true})),
        (&dispatcher, json!({"command": "close"})),
        (&citizen, json!({"command": "rate", "score": 2})),
    ] {
        let answer = app.act(token, litter, command.clone()).await;
        assert_eq!(answer.status, StatusCode::OK, "{command}: {}", answer.text);
    }

    let before = district_kpis(&app, &supervisor).await;
    assert_eq!(rated_and_satisfied(&before), (1, 0));
    // The proposer's satisfaction (满意度测评), entered by the desk.
    let rated = app
        .act(
            &dispatcher,
            id,
            json!({"command": "rate", "score": 5, "comment": "代表满意"}),
        )
        .await;
    assert_eq!(rated.status, StatusCode::OK, "{}", rated.text);
    let after = district_kpis(&app, &supervisor).await;
    assert_eq!(rated_and_satisfied(&after), (2, 1));
    assert_eq!(after[0]["figures"]["satisfaction_rate"], 0.5);

    // The rating is in the history, and the chain verifies.
    let detail = app
        .get(&format!("/api/cases/{id}"), Some(&supervisor))
        .await
        .json();
    assert_eq!(detail["chain_verifies"], true);
    let history = detail["history"].as_array().expect("history");
    let rating = history.last().expect("events");
    assert_eq!(rating["kind"]["type"], "rated");
    assert_eq!(rating["kind"]["rating"]["score"], 5);
    assert_eq!(
        history[0]["kind"]["report"]["proposal"]["number"],
        "第0123号"
    );
}

#[tokio::test]
async fn without_a_date_it_is_due_three_months_after_filing() {
    let app = app().await;
    let dispatcher = app.login("dispatcher").await;
    let filed = app
        .post("/api/cases", Some(&dispatcher), proposal_body(None))
        .await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.text);
    let case = &filed.json()["case"];
    assert!(case["proposal"]["due_at"].is_null());
    let reported: DateTime<Utc> =
        serde_json::from_value(case["reported_at"].clone()).expect("a date");
    let effective: DateTime<Utc> =
        serde_json::from_value(case["proposal"]["effective_due_at"].clone()).expect("a date");
    let days = (effective - reported).num_days();
    assert!((89..=92).contains(&days), "{days} days");
}

#[tokio::test]
async fn only_the_desk_files_proposals_and_bad_ones_are_refused() {
    let app = app().await;
    let citizen = app.login("citizen").await;
    let refused = app
        .post("/api/cases", Some(&citizen), proposal_body(None))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let detail = refused.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(detail.contains("cannot file a proposal"), "{detail}");

    let dispatcher = app.login("dispatcher").await;
    let mut blank = proposal_body(None);
    blank["proposal"]["number"] = json!("");
    let refused = app.post("/api/cases", Some(&dispatcher), blank).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(refused.text.contains("number"), "{}", refused.text);

    let mut unknown = proposal_body(None);
    unknown["proposal"]["kind"] = json!("petition");
    let refused = app.post("/api/cases", Some(&dispatcher), unknown).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(refused.text.contains("npc_suggestion"), "{}", refused.text);

    let mut posing = proposal_body(None);
    posing["category"] = json!("Z9901");
    posing.as_object_mut().expect("object").remove("proposal");
    let refused = app.post("/api/cases", Some(&dispatcher), posing).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
}
