//! Webhooks: subscriptions over the API, and deliveries to a local receiver on 127.0.0.1 — signed,
//! filtered by the owner's scope, retried with backoff, recorded, and never blocking intake.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use common::*;
use hmac::{Hmac, Mac};
use onegrid_server::Config;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::mpsc;

/// One request the receiver got.
#[derive(Debug)]
struct Hit {
    at: Instant,
    headers: HeaderMap,
    body: Bytes,
}

impl Hit {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// A webhook receiver on 127.0.0.1 that answers 500 to its first `fail_first` requests.
async fn receiver(fail_first: u32) -> (String, mpsc::UnboundedReceiver<Hit>) {
    let (sender, hits) = mpsc::unbounded_channel();
    let failures = Arc::new(AtomicU32::new(fail_first));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let sender = sender.clone();
            let failures = failures.clone();
            async move {
                let _ = sender.send(Hit {
                    at: Instant::now(),
                    headers,
                    body,
                });
                let fail = failures
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if fail {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/hook"), hits)
}

async fn next_hit(hits: &mut mpsc::UnboundedReceiver<Hit>, wait: Duration) -> Option<Hit> {
    tokio::time::timeout(wait, hits.recv()).await.ok().flatten()
}

fn verify(secret: &str, hit: &Hit) -> bool {
    let Some(hex_signature) = hit.header("x-onegrid-signature").strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_signature) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(hit.header("x-onegrid-timestamp").as_bytes());
    mac.update(b".");
    mac.update(&hit.body);
    mac.verify_slice(&expected).is_ok()
}

fn fast(attempts: u32, backoff_ms: u64) -> Config {
    Config {
        webhook_attempts: attempts,
        webhook_backoff: Duration::from_millis(backoff_ms),
        webhook_timeout: Duration::from_secs(2),
        auto_merge_duplicates: false,
        ..Config::default()
    }
}

async fn subscribe(app: &TestApp, token: &str, url: &str, secret: Option<&str>) -> (u64, String) {
    let mut body = json!({ "url": url });
    if let Some(secret) = secret {
        body["secret"] = json!(secret);
    }
    let answer = app.post("/api/webhooks", Some(token), body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let json = answer.json();
    (
        json["webhook"]["id"].as_u64().expect("id"),
        json["secret"].as_str().expect("secret").to_string(),
    )
}

async fn report(app: &TestApp, token: &str, point: (f64, f64), title: &str) -> u64 {
    app.report_with(token, point, title, &format!("{title}，请尽快处理"))
        .await
}

async fn deliveries(app: &TestApp, token: &str, id: u64) -> Vec<Value> {
    let answer = app
        .get(&format!("/api/webhooks/{id}/deliveries"), Some(token))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json().as_array().expect("array").clone()
}

#[tokio::test]
async fn subscriptions_are_checked_listed_and_deleted() {
    let app = app().await;
    let handler = app.login("handler").await;
    let handler2 = app.login("handler2").await;
    let admin = app.login("admin").await;
    let (id, secret) = subscribe(&app, &handler, "https://example.org/hook", None).await;
    assert_eq!(secret.len(), 43, "a generated secret of 32 random bytes");
    let (_, chosen) = subscribe(
        &app,
        &handler2,
        "http://127.0.0.1:9/x",
        Some("a-secret-of-my-own"),
    )
    .await;
    assert_eq!(chosen, "a-secret-of-my-own");

    for who in ["citizen", "gridworker"] {
        let token = app.login(who).await;
        let answer = app
            .post(
                "/api/webhooks",
                Some(&token),
                json!({"url": "https://example.org/hook"}),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{who}: {}",
            answer.text
        );
    }
    for bad in [
        json!({"url": "ftp://example.org/hook"}),
        json!({"url": "not a url"}),
        json!({"url": "https://user:pw@example.org/hook"}),
        json!({"url": "https://example.org/hook", "secret": "short"}),
        json!({"url": "https://example.org/hook", "extra": 1}),
    ] {
        let answer = app.post("/api/webhooks", Some(&handler), bad.clone()).await;
        assert!(
            answer.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {} {}",
            answer.status,
            answer.text
        );
        assert_eq!(answer.content_type, "application/problem+json");
    }
    let unauthenticated = app
        .post(
            "/api/webhooks",
            None,
            json!({"url": "https://example.org/hook"}),
        )
        .await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);

    let mine = app.get("/api/webhooks", Some(&handler)).await.json();
    assert_eq!(mine.as_array().map(Vec::len), Some(1));
    assert_eq!(mine[0]["id"].as_u64(), Some(id));
    assert!(
        !mine.to_string().contains(&secret),
        "the secret is shown once only"
    );
    let all = app.get("/api/webhooks", Some(&admin)).await.json();
    assert_eq!(
        all.as_array().map(Vec::len),
        Some(2),
        "an administrator sees all"
    );

    // Another department's webhook is "not found", for reading and deleting.
    let other = app
        .get(&format!("/api/webhooks/{id}/deliveries"), Some(&handler2))
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let other = app
        .call(
            Method::DELETE,
            &format!("/api/webhooks/{id}"),
            Some(&handler2),
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let gone = app
        .call(
            Method::DELETE,
            &format!("/api/webhooks/{id}"),
            Some(&handler),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
    let mine = app.get("/api/webhooks", Some(&handler)).await.json();
    assert_eq!(mine[0]["active"], false);

    let doc = app.get("/api/openapi.json", None).await.json();
    assert!(doc["paths"]["/api/webhooks"]["post"].is_object());
    assert!(doc["paths"]["/api/webhooks/{id}"]["delete"].is_object());
    assert!(doc["paths"]["/api/webhooks/{id}/deliveries"]["get"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_signed_scoped_and_carry_no_personal_data() {
    let app = app_with(fast(3, 50)).await;
    let deliveries_task = tokio::spawn(onegrid_server::webhooks::run_deliveries(app.state.clone()));
    let dispatcher2 = app.login("dispatcher2").await;
    let citizen2 = app.login("citizen2").await;
    let (url, mut hits) = receiver(0).await;
    let secret = "street-two-signing-secret";
    let (id, _) = subscribe(&app, &dispatcher2, &url, Some(secret)).await;

    let outside = report(&app, &citizen2, POINT_A, "第一网格路灯不亮").await;
    let inside = report(&app, &citizen2, POINT_C, "第三网格井盖缺失").await;
    let hit = next_hit(&mut hits, Duration::from_secs(10))
        .await
        .expect("a delivery");
    assert!(verify(secret, &hit), "the signature verifies");
    assert!(!verify("another-secret-entirely", &hit));
    let body = hit.json();
    assert_eq!(
        body["case_id"].as_u64(),
        Some(inside),
        "street 1's case is not sent"
    );
    assert_ne!(body["case_id"].as_u64(), Some(outside));
    assert_eq!(hit.header("x-onegrid-event"), "reported");
    assert_eq!(body["kind"], "reported");
    assert_eq!(
        hit.header("x-onegrid-delivery"),
        body["position"].as_u64().expect("position").to_string()
    );
    assert_eq!(hit.header("content-type"), "application/json");
    let raw = String::from_utf8_lossy(&hit.body).into_owned();
    for personal in ["13812345678", "138****5678", "李大伟", "citizen2"] {
        assert!(!raw.contains(personal), "{personal} in a webhook: {raw}");
    }
    // A changed body no longer matches its signature.
    let mut forged = hit;
    forged.body = Bytes::from(raw.replace("reported", "closed"));
    assert!(!verify(secret, &forged));
    assert!(
        next_hit(&mut hits, Duration::from_millis(500))
            .await
            .is_none(),
        "nothing else is sent"
    );

    let recorded = deliveries(&app, &dispatcher2, id).await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["delivered"], true);
    assert_eq!(recorded[0]["attempt"], 1);
    assert_eq!(recorded[0]["status"], 204);
    let listed = app.get("/api/webhooks", Some(&dispatcher2)).await.json();
    assert_eq!(listed[0]["cursor"], body["position"], "the cursor moved on");
    deliveries_task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_is_retried_with_backoff_until_it_answers() {
    let app = app_with(fast(4, 100)).await;
    let deliveries_task = tokio::spawn(onegrid_server::webhooks::run_deliveries(app.state.clone()));
    let commander = app.login("commander").await;
    let citizen = app.login("citizen").await;
    let (url, mut hits) = receiver(2).await;
    let (id, secret) = subscribe(&app, &commander, &url, None).await;
    let case = report(&app, &citizen, POINT_B, "路面塌陷").await;
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(
            next_hit(&mut hits, Duration::from_secs(10))
                .await
                .expect("an attempt"),
        );
    }
    assert!(got.iter().all(|hit| verify(&secret, hit)));
    assert!(got
        .iter()
        .all(|hit| hit.json()["case_id"].as_u64() == Some(case)));
    let first_wait = got[1].at - got[0].at;
    let second_wait = got[2].at - got[1].at;
    assert!(first_wait >= Duration::from_millis(100), "{first_wait:?}");
    assert!(
        second_wait >= Duration::from_millis(200),
        "the backoff doubles: {second_wait:?}"
    );
    assert!(next_hit(&mut hits, Duration::from_millis(500))
        .await
        .is_none());

    let recorded = deliveries(&app, &commander, id).await;
    let summary: Vec<(u64, Option<u64>, bool)> = recorded
        .iter()
        .map(|d| {
            (
                d["attempt"].as_u64().expect("attempt"),
                d["status"].as_u64(),
                d["delivered"].as_bool().expect("delivered"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (3, Some(204), true),
            (2, Some(500), false),
            (1, Some(500), false)
        ],
        "every attempt recorded, newest first"
    );
    deliveries_task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_blocks_neither_intake_nor_other_webhooks() {
    // Four attempts 300, 600 and 1200 ms apart: 2.1 s per event for the dead endpoint.
    let app = app_with(fast(4, 300)).await;
    let deliveries_task = tokio::spawn(onegrid_server::webhooks::run_deliveries(app.state.clone()));
    let dispatcher = app.login("dispatcher").await;
    let commander = app.login("commander").await;
    let citizen = app.login("citizen").await;
    let dead_url = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        drop(listener); // nothing listens there now: connection refused
        format!("http://{address}/hook")
    };
    let (dead, _) = subscribe(&app, &dispatcher, &dead_url, None).await;
    let (url, mut hits) = receiver(0).await;
    let (_, _) = subscribe(&app, &commander, &url, None).await;

    let started = Instant::now();
    let mut cases = Vec::new();
    // Three different matters: near-identical reports at one place would be merged.
    for title in ["垃圾满溢", "路灯不亮", "井盖丢失"] {
        let before = Instant::now();
        cases.push(report(&app, &citizen, POINT_A, title).await);
        assert!(
            before.elapsed() < Duration::from_secs(1),
            "a report took {:?}",
            before.elapsed()
        );
    }
    let mut delivered = Vec::new();
    for _ in 0..3 {
        let hit = next_hit(&mut hits, Duration::from_secs(5))
            .await
            .expect("the live webhook gets every event");
        delivered.push(hit.json()["case_id"].as_u64().expect("case_id"));
    }
    assert_eq!(delivered, cases, "in order");
    let live_done = started.elapsed();
    assert!(
        live_done < Duration::from_millis(2100),
        "the live webhook waited for the dead one: {live_done:?}"
    );

    // The dead endpoint's first event: four failed attempts, then the cursor moves on.
    let deadline = Instant::now() + Duration::from_secs(10);
    let recorded = loop {
        let recorded = deliveries(&app, &dispatcher, dead).await;
        if recorded.iter().any(|d| d["attempt"] == 4) || Instant::now() > deadline {
            break recorded;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let first: Vec<&Value> = recorded
        .iter()
        .filter(|d| d["event_position"] == recorded.last().expect("some")["event_position"])
        .collect();
    assert_eq!(first.len(), 4, "{recorded:?}");
    assert!(first
        .iter()
        .all(|d| d["delivered"] == false && d["status"].is_null()));
    assert!(first
        .iter()
        .all(|d| d["error"].as_str().is_some_and(|e| e.contains("connect"))));
    let listed = app.get("/api/webhooks", Some(&dispatcher)).await.json();
    assert_eq!(
        listed[0]["cursor"], first[0]["event_position"],
        "given up after the last attempt, the cursor moves past the event"
    );
    deliveries_task.abort();
}
