//! The REST API end to end on the router: sign-in, intake, list, show, commands, errors.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;

#[tokio::test]
async fn health_and_unknown_paths() {
    let app = app().await;
    let answer = app.get("/healthz", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text, "ok");
    let answer = app.get("/api/nothing-here", None).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.content_type, "application/problem+json");
    assert!(answer.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("/api/nothing-here"));
}

#[tokio::test]
async fn sign_in_sign_out_and_bad_tokens() {
    let app = app().await;
    let wrong = app
        .post(
            "/api/auth/login",
            None,
            json!({"person": "dispatcher", "password": "nope-nope"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let unknown = app
        .post(
            "/api/auth/login",
            None,
            json!({"person": "nobody", "password": "password-nobody"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.json()["detail"],
        unknown.json()["detail"],
        "no hint which accounts exist"
    );

    let token = app.login("dispatcher").await;
    let me = app.get("/api/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.json()["person"]["role"], "dispatcher");

    let forged = app.get("/api/me", Some("forged-token")).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    let none = app.get("/api/cases", None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);

    let out = app.post("/api/auth/logout", Some(&token), json!({})).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = app.get("/api/me", Some(&token)).await;
    assert_eq!(
        after.status,
        StatusCode::UNAUTHORIZED,
        "a token stops working at logout"
    );
}

#[tokio::test]
async fn expired_sessions_are_refused() {
    let app = app_with(onegrid_server::Config {
        session_minutes: 0,
        ..onegrid_server::Config::default()
    })
    .await;
    let token = app.login("dispatcher").await;
    let answer = app.get("/api/me", Some(&token)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.text.contains("expired"), "{}", answer.text);
}

#[tokio::test]
async fn a_report_is_located_classified_and_listed() {
    let app = app().await;
    let citizen = app.login("citizen").await;
    let answer = app
        .post(
            "/api/cases",
            Some(&citizen),
            json!({
                "title": "小区门口垃圾堆积",
                "description": "好几天没人清运了",
                "location": {"lon": POINT_B.0, "lat": POINT_B.1},
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let outcome = answer.json();
    assert_eq!(outcome["case"]["cell"], CELL_B, "the point picks the cell");
    assert!(outcome["suggestion"]["label"].is_string());
    assert_eq!(
        outcome["case"]["category"],
        outcome["suggestion"]["category"]
    );
    assert_eq!(outcome["case"]["reporters"][0]["is_you"], true);
    assert_eq!(outcome["case"]["reporters"][0]["phone"], "13812345678");
    let id = outcome["case"]["id"].as_u64().expect("id");

    let dispatcher = app.login("dispatcher").await;
    let list = app
        .get("/api/cases?state=reported", Some(&dispatcher))
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let items = list.json()["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"].as_u64(), Some(id));

    let detail = app
        .get(&format!("/api/cases/{id}"), Some(&dispatcher))
        .await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
    let detail = detail.json();
    assert_eq!(detail["chain_verifies"], true);
    assert_eq!(detail["history"].as_array().map(Vec::len), Some(1));
    let allowed: Vec<String> =
        serde_json::from_value(detail["allowed_commands"].clone()).expect("list");
    assert!(allowed.contains(&"accept".to_string()), "{allowed:?}");
}

#[tokio::test]
async fn severity_words_raise_the_tier_and_say_why() {
    let app = app().await;
    let gridworker = app.login("gridworker").await;
    let answer = app
        .post(
            "/api/cases",
            Some(&gridworker),
            json!({
                "title": "居民楼煤气泄漏",
                "description": "楼道里有很浓的煤气味",
                "category": "S0101",
                "location": {"lon": POINT_A.0, "lat": POINT_A.1},
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let outcome = answer.json();
    assert_ne!(outcome["case"]["tier"], "grid");
    assert!(
        outcome["tier_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("煤气"),
        "{outcome}"
    );
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let app = app().await;
    let citizen = app.login("citizen").await;
    let cases = [
        (
            json!({"title": "", "location": {"lon": POINT_A.0, "lat": POINT_A.1}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "title",
        ),
        (
            json!({"title": "垃圾", "location": {"lon": 116.0, "lat": 40.0}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "outside the district",
        ),
        (
            json!({"title": "垃圾", "location": {"lon": POINT_A.0, "lat": POINT_A.1, "crs": "epsg:3857"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "coordinate system",
        ),
        (
            json!({"title": "垃圾"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "location",
        ),
        (
            json!({"title": "垃圾", "location": {"lon": POINT_A.0, "lat": POINT_A.1}, "surprise": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "surprise",
        ),
        (
            json!({"title": "x".repeat(300), "category": "S0101", "location": {"lon": POINT_A.0, "lat": POINT_A.1}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "title",
        ),
        (
            json!({"title": "垃圾", "category": "S9999", "location": {"lon": POINT_A.0, "lat": POINT_A.1}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "category",
        ),
        (
            json!({"title": "垃圾", "photos": ["not-a-photo"], "location": {"lon": POINT_A.0, "lat": POINT_A.1}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "photos",
        ),
    ];
    for (body, status, says) in cases {
        let answer = app.post("/api/cases", Some(&citizen), body.clone()).await;
        assert_eq!(answer.status, status, "{body}: {}", answer.text);
        assert_eq!(answer.content_type, "application/problem+json");
        assert!(answer.text.contains(says), "{body}: {}", answer.text);
    }
    let broken = app
        .request(
            axum::http::Request::post("/api/cases")
                .header("authorization", format!("Bearer {citizen}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from("{\"title\": "))
                .expect("request"),
        )
        .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST, "{}", broken.text);
    let wrong_type = app
        .request(
            axum::http::Request::post("/api/cases")
                .header("authorization", format!("Bearer {citizen}"))
                .header("content-type", "text/plain")
                .body(axum::body::Body::from("垃圾"))
                .expect("request"),
        )
        .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = app
        .request(
            axum::http::Request::post("/api/cases")
                .header("authorization", format!("Bearer {citizen}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(format!(
                    "{{\"title\": \"{}\"}}",
                    "垃".repeat(1_000_000)
                )))
                .expect("request"),
        )
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", huge.text);
    assert_eq!(
        app.store.count_cases().await.expect("count"),
        0,
        "nothing was stored"
    );
}

#[tokio::test]
async fn the_closed_loop_over_http() {
    let app = app().await;
    let citizen = app.login("citizen").await;
    let id = app.report_at(&citizen, POINT_A, "门口暴露垃圾").await;
    let dispatcher = app.login("dispatcher").await;
    let handler = app.login("handler").await;
    let gridworker = app.login("gridworker").await;
    let steps = [
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
        (&citizen, json!({"command": "rate", "score": 5})),
    ];
    for (token, command) in steps {
        let answer = app.act(token, id, command.clone()).await;
        assert_eq!(answer.status, StatusCode::OK, "{command}: {}", answer.text);
    }
    let detail = app
        .get(&format!("/api/cases/{id}"), Some(&citizen))
        .await
        .json();
    assert_eq!(detail["case"]["state"], "closed");
    assert_eq!(detail["case"]["rating"]["score"], 5);
    assert_eq!(detail["chain_verifies"], true);

    let illegal = app.act(&dispatcher, id, json!({"command": "accept"})).await;
    assert_eq!(illegal.status, StatusCode::CONFLICT, "{}", illegal.text);
    let stale = app
        .post(
            &format!("/api/cases/{id}/commands?expected_version=1"),
            Some(&citizen),
            json!({"command": "rate", "score": 4}),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text);
}

#[tokio::test]
async fn openapi_document_and_page() {
    let app = app().await;
    let doc = app.get("/api/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    let doc = doc.json();
    assert!(doc["openapi"]
        .as_str()
        .unwrap_or_default()
        .starts_with("3."));
    for path in [
        "/api/cases",
        "/api/cases/{id}/commands",
        "/api/auth/login",
        "/api/kpis",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    let page = app.get("/api/docs", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("/api/cases/{id}/commands"));
}

#[tokio::test]
async fn duplicates_are_proposed_and_near_identical_reports_merged() {
    let app = app_with(onegrid_server::Config::default()).await;
    let citizen = app.login("citizen").await;
    let citizen2 = app.login("citizen2").await;
    let report = |title: &str, description: &str, point: (f64, f64)| {
        json!({
            "title": title,
            "description": description,
            "category": "S0101",
            "location": {"lon": point.0, "lat": point.1},
        })
    };
    let first = app
        .post(
            "/api/cases",
            Some(&citizen),
            report(
                "幸福里小区3号楼门口垃圾堆积",
                "垃圾已经堆了三天，气味很大，希望尽快清运",
                POINT_A,
            ),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let first_id = first.json()["case"]["id"].as_u64().expect("id");

    // The same matter, a few metres away, reported by someone else: merged, every reporter kept.
    let near = (POINT_A.0 + 0.0001, POINT_A.1);
    let same = app
        .post(
            "/api/cases",
            Some(&citizen2),
            report(
                "幸福里小区3号楼门口垃圾堆积",
                "垃圾堆了三天了，气味很大，请尽快清运",
                near,
            ),
        )
        .await;
    assert_eq!(same.status, StatusCode::CREATED, "{}", same.text);
    let same = same.json();
    assert_eq!(same["merged_into"].as_u64(), Some(first_id), "{same}");
    assert_eq!(same["case"]["state"], "merged");
    let dispatcher = app.login("dispatcher").await;
    let target = app
        .get(&format!("/api/cases/{first_id}"), Some(&dispatcher))
        .await
        .json();
    assert_eq!(
        target["case"]["reporters"].as_array().map(Vec::len),
        Some(2)
    );

    // The same words far away (another street): not a duplicate.
    let far = app
        .post(
            "/api/cases",
            Some(&citizen2),
            report(
                "幸福里小区3号楼门口垃圾堆积",
                "垃圾已经堆了三天，气味很大，希望尽快清运",
                POINT_C,
            ),
        )
        .await
        .json();
    assert!(far["merged_into"].is_null(), "{far}");
    assert!(
        far["duplicates"].as_array().is_some_and(Vec::is_empty),
        "{far}"
    );

    // Something else at the same place: neither merged nor proposed.
    let other = app
        .post(
            "/api/cases",
            Some(&citizen2),
            report("路灯不亮", "小区南门路灯坏了一个星期", POINT_A),
        )
        .await
        .json();
    assert!(other["merged_into"].is_null());
    let other_id = other["case"]["id"].as_u64().expect("id");
    let suggestions = app
        .get(
            &format!("/api/cases/{other_id}/duplicates"),
            Some(&dispatcher),
        )
        .await;
    assert_eq!(suggestions.status, StatusCode::OK, "{}", suggestions.text);
    assert!(
        !suggestions.text.contains(&format!("\"id\":{first_id},")),
        "{}",
        suggestions.text
    );
}

#[tokio::test]
async fn injection_in_text_fields_is_stored_as_text_and_changes_nothing_else() {
    let app = app().await;
    let citizen = app.login("citizen").await;
    let nasty = [
        "'; DROP TABLE cases; --",
        "<script>alert('x')</script>",
        "\" OR 1=1 --",
        "%_\\",
    ];
    for text in nasty {
        let answer = app
            .post(
                "/api/cases",
                Some(&citizen),
                json!({"title": text, "description": text, "address": text, "category": "S0101",
                       "location": {"lon": POINT_A.0, "lat": POINT_A.1}}),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "{text}: {}",
            answer.text
        );
        assert_eq!(answer.json()["case"]["title"], text, "stored verbatim");
        let list = app
            .get(
                &format!("/api/cases?text={}", urlencode(text)),
                Some(&citizen),
            )
            .await;
        assert_eq!(list.status, StatusCode::OK, "{text}: {}", list.text);
        let titles: Vec<String> = list.json()["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|c| c["title"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            titles,
            vec![text.to_string()],
            "the text filter matches it literally"
        );
    }
    assert_eq!(
        app.store.count_cases().await.expect("count"),
        nasty.len() as u64
    );
    let bad_query = app.get("/api/cases?limit=abc", Some(&citizen)).await;
    assert_eq!(bad_query.status, StatusCode::BAD_REQUEST);
    let unknown = app.get("/api/cases?drop=1", Some(&citizen)).await;
    assert_eq!(
        unknown.status,
        StatusCode::BAD_REQUEST,
        "unknown parameters are refused"
    );
    let big_page = app.get("/api/cases?limit=100000", Some(&citizen)).await;
    assert_eq!(big_page.status, StatusCode::BAD_REQUEST);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn photos_are_checked_by_their_bytes() {
    let app = app().await;
    let citizen = app.login("citizen").await;
    let boundary = "XBOUNDARY";
    let png: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0,
        0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0,
    ];
    let body = |name: &str, bytes: &[u8]| {
        let mut body = Vec::new();
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"report\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(json!({"title": "井盖丢失", "category": "S0101", "location": {"lon": POINT_A.0, "lat": POINT_A.1}}).to_string().as_bytes());
        body.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        body
    };
    let send = |bytes: Vec<u8>| {
        axum::http::Request::post("/api/cases/upload")
            .header("authorization", format!("Bearer {citizen}"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(axum::body::Body::from(bytes))
            .expect("request")
    };
    let fake = app
        .request(send(body("photo.png", b"this is not an image at all")))
        .await;
    assert_eq!(
        fake.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        fake.text
    );
    assert_eq!(app.store.count_cases().await.expect("count"), 0);
    let real = app.request(send(body("photo.png", png))).await;
    assert_eq!(real.status, StatusCode::CREATED, "{}", real.text);
    let photo = real.json()["case"]["photos"][0]
        .as_str()
        .expect("photo id")
        .to_string();
    let fetched = app
        .get(&format!("/api/photos/{photo}"), Some(&citizen))
        .await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.content_type, "image/png");
    assert_eq!(
        app.get(&format!("/api/photos/{photo}"), None).await.status,
        StatusCode::UNAUTHORIZED
    );
}
