//! The embedded web UI: pages and vendored libraries are served from the binary, with revalidation,
//! and nothing is fetched from elsewhere.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;
use tower::ServiceExt;

async fn raw(app: &TestApp, path: &str, if_none_match: Option<&str>) -> axum::response::Response {
    let mut builder = Request::builder().uri(path);
    if let Some(tag) = if_none_match {
        builder = builder.header(header::IF_NONE_MATCH, tag);
    }
    app.router
        .clone()
        .oneshot(builder.body(Body::empty()).expect("request"))
        .await
        .expect("router answers")
}

#[tokio::test]
async fn the_root_leads_to_the_sign_in_page() {
    let app = app().await;
    let root = raw(&app, "/", None).await;
    assert!(root.status().is_redirection());
    assert_eq!(root.headers()[header::LOCATION], "/ui/");
    let page = app.get("/ui/", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    assert!(page.text.contains("/ui/common.js") || page.text.contains("/ui/index.js"));
}

#[tokio::test]
async fn pages_revalidate_with_their_etag() {
    let app = app().await;
    let first = raw(&app, "/ui/common.js", None).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()[header::CACHE_CONTROL], "no-cache");
    let content_type = first.headers()[header::CONTENT_TYPE]
        .to_str()
        .expect("ascii");
    assert!(content_type.contains("javascript"), "{content_type}");
    let etag = first.headers()[header::ETAG]
        .to_str()
        .expect("ascii")
        .to_string();
    let again = raw(&app, "/ui/common.js", Some(&etag)).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let changed = raw(&app, "/ui/common.js", Some("\"something-else\"")).await;
    assert_eq!(changed.status(), StatusCode::OK);
}

#[tokio::test]
async fn vendored_libraries_are_served_and_cached() {
    let app = app().await;
    for path in [
        "/ui/vendor/leaflet/leaflet.js",
        "/ui/vendor/leaflet/leaflet.css",
        "/ui/vendor/leaflet.markercluster/leaflet.markercluster.js",
        "/ui/vendor/echarts/echarts.min.js",
    ] {
        let response = raw(&app, path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "public, max-age=86400",
            "{path}"
        );
    }
}

#[tokio::test]
async fn every_page_is_served_and_loads_nothing_from_another_server() {
    let app = app().await;
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let mut checked = 0;
    for entry in std::fs::read_dir(&folder).expect("ui folder") {
        let path = entry.expect("entry").path();
        if !path.is_file() {
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let answer = app.get(&format!("/ui/{name}"), None).await;
        assert_eq!(answer.status, StatusCode::OK, "{name}");
        // An inline SVG names its XML namespace with a URL; that loads nothing.
        let text = answer
            .text
            .replace("xmlns='http://www.w3.org/2000/svg'", "")
            .replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        for needle in ["http://", "https://", "//cdn", "//unpkg"] {
            assert!(
                !text.contains(needle),
                "{name} refers to {needle}: the UI must work offline"
            );
        }
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} files in {}", folder.display());
}

#[tokio::test]
async fn a_missing_file_is_a_problem_that_says_where_to_go() {
    let app = app().await;
    let answer = app.get("/ui/no-such-page.html", None).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(answer.text.contains("/ui/"), "{}", answer.text);
}

#[tokio::test]
async fn the_ui_config_names_the_base_map_when_one_is_set() {
    let app = app().await;
    let plain = app.get("/ui/config.json", None).await.json();
    assert!(plain["tile_url"].is_null());
    let app = app_with(onegrid_server::Config {
        tile_url: Some("https://tiles.example.gov.cn/{z}/{x}/{y}.png".to_string()),
        tile_attribution: Some("东丽区测绘".to_string()),
        auto_merge_duplicates: false,
        ..onegrid_server::Config::default()
    })
    .await;
    let set = app.get("/ui/config.json", None).await.json();
    assert_eq!(
        set["tile_url"],
        "https://tiles.example.gov.cn/{z}/{x}/{y}.png"
    );
    assert_eq!(set["tile_attribution"], "东丽区测绘");
}

#[tokio::test]
async fn large_answers_are_compressed_for_clients_that_accept_it() {
    let app = app().await;
    let request = Request::builder()
        .uri("/ui/vendor/echarts/echarts.min.js")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .expect("request");
    let response = app.router.clone().oneshot(request).await.expect("answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
}
