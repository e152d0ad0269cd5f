//! The live feed (SSE) on the router: scope filtering, order, resumption, no personal data.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

/// One SSE event as received.
#[derive(Debug, Clone)]
struct Received {
    id: u64,
    event: String,
    data: Value,
    /// The raw `data:` text, to search for anything personal.
    raw: String,
}

/// Reads SSE events from a streaming response body.
struct SseReader {
    body: Body,
    buffer: String,
}

impl SseReader {
    /// The next event, skipping keep-alive comments; `None` when nothing comes within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut received = Received {
                    id: 0,
                    event: String::new(),
                    data: Value::Null,
                    raw: String::new(),
                };
                let mut has_data = false;
                for line in block.lines() {
                    if let Some(id) = line.strip_prefix("id:") {
                        received.id = id.trim().parse().expect("numeric id");
                    } else if let Some(event) = line.strip_prefix("event:") {
                        received.event = event.trim().to_string();
                    } else if let Some(data) = line.strip_prefix("data:") {
                        received.raw.push_str(data.trim());
                        has_data = true;
                    }
                }
                if has_data {
                    received.data = serde_json::from_str(&received.raw).expect("JSON data");
                    return Some(received);
                }
                continue; // a comment
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .ok()?;
            let frame = frame?.expect("body frame");
            if let Ok(bytes) = frame.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }

    /// Every event that arrives until none has come for `quiet`.
    async fn drain(&mut self, quiet: Duration) -> Vec<Received> {
        let mut all = Vec::new();
        while let Some(event) = self.next(quiet).await {
            all.push(event);
        }
        all
    }
}

/// Opens the feed; `auth` is added as given (`None` = no Authorization header).
async fn open(app: &TestApp, path: &str, token: Option<&str>, last_id: Option<&str>) -> SseReader {
    let (status, reader) = try_open(app, path, token, last_id).await;
    assert_eq!(status, StatusCode::OK, "open {path}");
    reader
}

async fn try_open(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    last_id: Option<&str>,
) -> (StatusCode, SseReader) {
    let mut builder = Request::builder().uri(path);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(id) = last_id {
        builder = builder.header("last-event-id", id);
    }
    let response = app
        .router
        .clone()
        .oneshot(builder.body(Body::empty()).expect("request"))
        .await
        .expect("router answers");
    let status = response.status();
    if status == StatusCode::OK {
        assert_eq!(
            response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream")
        );
    }
    (
        status,
        SseReader {
            body: response.into_body(),
            buffer: String::new(),
        },
    )
}

/// Reports with a description of its own (so no two reports look alike).
async fn report(app: &TestApp, token: &str, point: (f64, f64), title: &str) -> u64 {
    app.report_with(token, point, title, &format!("{title}，请尽快处理"))
        .await
}

const QUIET: Duration = Duration::from_millis(400);

fn summary(events: &[Received]) -> Vec<(u64, String)> {
    events
        .iter()
        .map(|e| {
            (
                e.data["case_id"].as_u64().expect("case_id"),
                e.event.clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn events_arrive_in_order_filtered_by_scope_without_personal_data() {
    let app = app().await;
    let citizen = app.login("citizen").await;
    let citizen2 = app.login("citizen2").await;
    let dispatcher = app.login("dispatcher").await;
    let dispatcher2 = app.login("dispatcher2").await;
    let handler = app.login("handler").await;
    let handler2 = app.login("handler2").await;

    let mut street1 = open(&app, "/api/feed", Some(&dispatcher), None).await;
    // EventSource cannot send headers: the token may come as access_token on this endpoint.
    let mut street2 = open(
        &app,
        &format!("/api/feed?access_token={dispatcher2}"),
        None,
        None,
    )
    .await;
    let mut own = open(&app, "/api/feed", Some(&citizen2), None).await;
    let mut other_citizen = open(&app, "/api/feed", Some(&citizen), None).await;
    let mut chengguan = open(&app, "/api/feed", Some(&handler), None).await;
    let mut shuiwu = open(&app, "/api/feed", Some(&handler2), None).await;

    let a = report(&app, &citizen2, POINT_A, "第一网格路灯不亮").await;
    let c = report(&app, &dispatcher2, POINT_C, "第三网格井盖缺失").await;
    // A desk report taken on someone's behalf carries their name and phone.
    let desk = app
        .post(
            "/api/cases",
            Some(&dispatcher),
            json!({
                "title": "第二网格占道经营",
                "description": "早市摊贩占用人行道",
                "category": "S0101",
                "channel": "hotline_12345",
                "location": {"lon": POINT_B.0, "lat": POINT_B.1},
                "reporter_name": "孙某某",
                "reporter_phone": "13987654321",
            }),
        )
        .await;
    assert_eq!(desk.status, StatusCode::CREATED, "{}", desk.text);
    let b = desk.json()["case"]["id"].as_u64().expect("id");
    for command in [
        json!({"command": "accept"}),
        json!({"command": "dispatch", "department": "chengguan"}),
    ] {
        let answer = app.act(&dispatcher, a, command).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    }

    let seen1 = street1.drain(QUIET).await;
    assert_eq!(
        summary(&seen1),
        vec![
            (a, "reported".to_string()),
            (b, "reported".to_string()),
            (a, "accepted".to_string()),
            (a, "dispatched".to_string()),
        ],
        "street 1 sees its cases, in order, and nothing of street 2"
    );
    let seen2 = street2.drain(QUIET).await;
    assert_eq!(summary(&seen2), vec![(c, "reported".to_string())]);
    let seen_own = own.drain(QUIET).await;
    assert_eq!(
        summary(&seen_own),
        vec![
            (a, "reported".to_string()),
            (a, "accepted".to_string()),
            (a, "dispatched".to_string()),
        ],
        "a citizen follows their own cases"
    );
    assert!(
        other_citizen.drain(QUIET).await.is_empty(),
        "another citizen sees nothing"
    );
    // The handler's department leads case a now, so it sees a's events (the case as it is now).
    assert_eq!(
        summary(&chengguan.drain(QUIET).await),
        vec![
            (a, "reported".to_string()),
            (a, "accepted".to_string()),
            (a, "dispatched".to_string()),
        ]
    );
    assert!(shuiwu.drain(QUIET).await.is_empty());

    for event in seen1.iter().chain(&seen2).chain(&seen_own) {
        assert!(event.id > 0);
        assert_eq!(event.data["position"].as_u64(), Some(event.id));
        assert_eq!(event.data["kind"].as_str(), Some(event.event.as_str()));
        assert_eq!(event.data["event"]["kind"]["type"], event.event.as_str());
        assert!(event.data["cell"].as_str().is_some_and(|c| c.len() == 15));
        for personal in [
            "13812345678",
            "13987654321",
            "138****5678",
            "139****4321",
            "王小丽",
            "李大伟",
            "孙某某",
            "citizen2",
        ] {
            assert!(
                !event.raw.contains(personal),
                "{personal} in the feed: {}",
                event.raw
            );
        }
    }
    assert!(
        seen1.windows(2).all(|w| w[0].id < w[1].id),
        "positions increase"
    );
    assert_eq!(
        seen1[3].data["department"], "chengguan",
        "the department the case is with"
    );
}

#[tokio::test]
async fn last_event_id_resumes_exactly_after() {
    let app = app().await;
    let citizen = app.login("citizen").await;
    let commander = app.login("commander").await;
    let mut first = open(&app, "/api/feed", Some(&commander), None).await;
    let mut ids = Vec::new();
    // Five different matters: near-identical reports at one place would be merged (more events).
    for title in ["路面破损", "路灯不亮", "井盖丢失", "违章停车", "噪音扰民"] {
        ids.push(report(&app, &citizen, POINT_A, title).await);
    }
    let seen = first.drain(QUIET).await;
    assert_eq!(seen.len(), 5);
    drop(first); // the client goes

    // A new stream without an id starts at the head: nothing old.
    let mut fresh = open(&app, "/api/feed", Some(&commander), None).await;
    assert!(fresh.drain(QUIET).await.is_empty());

    let resume_at = seen[1].id.to_string();
    let mut resumed = open(&app, "/api/feed", Some(&commander), Some(&resume_at)).await;
    let again = resumed.drain(QUIET).await;
    assert_eq!(
        again.iter().map(|e| e.id).collect::<Vec<_>>(),
        seen[2..].iter().map(|e| e.id).collect::<Vec<_>>(),
        "exactly the events after Last-Event-ID"
    );
    // The stream continues with new events after the backlog.
    let late = report(&app, &citizen, POINT_C, "新的积水").await;
    let next = resumed
        .next(Duration::from_secs(5))
        .await
        .expect("new event");
    assert_eq!(next.data["case_id"].as_u64(), Some(late));
    assert_eq!(
        fresh.next(Duration::from_secs(5)).await.map(|e| e.id),
        Some(next.id)
    );

    // ?after= does the same for EventSource polyfills.
    let mut polyfill = open(
        &app,
        &format!("/api/feed?after={}", seen[3].id),
        Some(&commander),
        None,
    )
    .await;
    let from_query = polyfill.drain(QUIET).await;
    assert_eq!(
        from_query.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![seen[4].id, next.id]
    );
}

#[tokio::test]
async fn bad_feed_requests_are_refused() {
    let app = app().await;
    let admin = app.login("admin").await;
    let dispatcher = app.login("dispatcher").await;
    let (status, _) = try_open(&app, "/api/feed", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = try_open(&app, "/api/feed?access_token=forged", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = try_open(&app, "/api/feed", Some(&admin), None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "administrators read no cases"
    );
    let (status, _) = try_open(&app, "/api/feed", Some(&dispatcher), Some("abc")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = try_open(&app, "/api/feed?after=-1", Some(&dispatcher), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // After sign-out the token opens nothing.
    let out = app
        .post("/api/auth/logout", Some(&dispatcher), json!({}))
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let (status, _) = try_open(
        &app,
        &format!("/api/feed?access_token={dispatcher}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_feed_is_in_the_openapi_document() {
    let app = app().await;
    let doc = app.get("/api/openapi.json", None).await.json();
    let feed = &doc["paths"]["/api/feed"]["get"];
    assert!(feed.is_object(), "{}", doc["paths"]);
    assert!(feed["responses"]["200"]["content"]["text/event-stream"].is_object());
    assert!(doc["components"]["schemas"]["FeedPayload"].is_object());
}

/// The business clock: fixed on a live server; on a training/test server an administrator moves it
/// forward, deadlines turn yellow then red, and the feed says the clock moved.
#[tokio::test]
async fn moving_the_business_clock_turns_deadlines_and_tells_the_feed() {
    let live = app().await;
    let admin = live.login("admin").await;
    let later = (chrono::Utc::now() + chrono::TimeDelta::hours(2)).to_rfc3339();
    let fixed = live
        .call(
            axum::http::Method::PUT,
            "/api/clock",
            Some(&admin),
            Some(json!({ "now": later })),
        )
        .await;
    assert_eq!(fixed.status, StatusCode::FORBIDDEN, "{}", fixed.text);
    assert_eq!(fixed.json()["code"], "clock_fixed");
    let shown = live.get("/api/clock", None).await.json();
    assert_eq!(shown["adjustable"], false);
    assert_eq!(shown["ahead_seconds"], 0);

    let app = app_with(onegrid_server::Config {
        adjustable_clock: true,
        ..onegrid_server::Config::default()
    })
    .await;
    let admin = app.login("admin").await;
    let dispatcher = app.login("dispatcher").await;
    let citizen = app.login("citizen").await;
    let id = report(&app, &citizen, POINT_A, "第一网格路灯不亮").await;
    let deadline = app
        .get(&format!("/api/cases/{id}"), Some(&dispatcher))
        .await
        .json()["case"]["deadline"]
        .clone();
    assert_eq!(deadline["colour"], "green");
    let due: chrono::DateTime<chrono::Utc> = deadline["due_at"]
        .as_str()
        .expect("due_at")
        .parse()
        .expect("a time");
    let mut feed = open(&app, "/api/feed", Some(&dispatcher), None).await;

    let move_to = |to: chrono::DateTime<chrono::Utc>, token: String| {
        let app = &app;
        async move {
            app.call(
                axum::http::Method::PUT,
                "/api/clock",
                Some(&token),
                Some(json!({ "now": to.to_rfc3339() })),
            )
            .await
        }
    };
    let not_admin = move_to(due, dispatcher.clone()).await;
    assert_eq!(
        not_admin.status,
        StatusCode::FORBIDDEN,
        "{}",
        not_admin.text
    );

    let colour = || async {
        app.get(&format!("/api/cases/{id}"), Some(&dispatcher))
            .await
            .json()["case"]["deadline"]["colour"]
            .clone()
    };
    let moved = move_to(due - chrono::TimeDelta::minutes(1), admin.clone()).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert!(moved.json()["ahead_seconds"].as_i64().expect("seconds") > 0);
    assert_eq!(colour().await, "yellow", "a minute before the deadline");
    // The feed opened after the report was answered, so it starts after the report's event.
    let told = feed
        .next(QUIET)
        .await
        .expect("the feed tells the clock moved");
    assert_eq!(told.event, "clock");
    assert_eq!(told.id, 0, "a clock event is not a feed position");
    assert!(told.data["now"].is_string());

    let moved = move_to(due + chrono::TimeDelta::minutes(1), admin.clone()).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(colour().await, "red", "a minute after the deadline");

    // Never back: histories stay in order. Nothing changes on a refusal.
    let back = move_to(due, admin.clone()).await;
    assert_eq!(
        back.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        back.text
    );
    assert!(back.json()["detail"]
        .as_str()
        .expect("detail")
        .contains("only moves forward"));
    assert_eq!(colour().await, "red");
    let far = move_to(
        chrono::Utc::now() + chrono::TimeDelta::days(200),
        admin.clone(),
    )
    .await;
    assert_eq!(far.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", far.text);

    // The next event is stamped on the moved clock.
    let accepted = app.act(&dispatcher, id, json!({"command": "accept"})).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);
    let history = app
        .get(&format!("/api/cases/{id}"), Some(&dispatcher))
        .await
        .json();
    let at: chrono::DateTime<chrono::Utc> = history["history"]
        .as_array()
        .and_then(|events| events.last())
        .and_then(|event| event["at"].as_str())
        .expect("the last event's time")
        .parse()
        .expect("a time");
    assert!(at > due, "the accept is stamped after the deadline: {at}");

    // Sessions keep the real clock: 80 days on, a 12-hour sign-in still works and the feed, which
    // told every move, is still open.
    let far = move_to(
        chrono::Utc::now() + chrono::TimeDelta::days(80),
        admin.clone(),
    )
    .await;
    assert_eq!(far.status, StatusCode::OK, "{}", far.text);
    let me = app.get("/api/me", Some(&dispatcher)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    let events = feed.drain(QUIET).await;
    // Moves close together may be told once (the page re-reads once): the last one is told.
    let told: chrono::DateTime<chrono::Utc> = events
        .iter()
        .rev()
        .find(|e| e.event == "clock")
        .and_then(|e| e.data["now"].as_str())
        .expect("a clock event after the moves")
        .parse()
        .expect("a time");
    assert!(
        told > chrono::Utc::now() + chrono::TimeDelta::days(79),
        "{told}"
    );
}
