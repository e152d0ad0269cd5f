//! The web UI: the pages under `crates/server/ui/` (plain HTML, CSS and ES modules, with Leaflet and
//! ECharts vendored into `ui/vendor/` by `web/vendor.mjs`), embedded in the binary with rust-embed
//! so that one file serves the whole product offline. Debug builds read the folder from disk, so a
//! page edit shows on reload without rebuilding.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use crate::AppState;

#[derive(rust_embed::Embed)]
#[folder = "ui/"]
struct Assets;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(index))
        .route("/ui/config.json", get(config))
        .route("/ui/{*path}", get(asset))
}

/// What the pages need to know about this server that the API does not say.
#[derive(Serialize)]
struct UiConfig {
    /// An XYZ tile URL template (`{z}/{x}/{y}`) for the base map, or null: the grid is the map.
    tile_url: Option<String>,
    tile_attribution: Option<String>,
    version: &'static str,
}

async fn config(State(state): State<AppState>) -> Response {
    let body = UiConfig {
        tile_url: state.config.tile_url.clone(),
        tile_attribution: state.config.tile_attribution.clone(),
        version: env!("CARGO_PKG_VERSION"),
    };
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
        axum::Json(body),
    )
        .into_response()
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let path = if path.ends_with('/') || path.is_empty() {
        format!("{path}index.html")
    } else {
        path.to_string()
    };
    let Some(file) = Assets::get(&path) else {
        return crate::ApiError::not_found(format!(
            "there is no page or file at /ui/{path}; the pages start at /ui/"
        ))
        .into_response();
    };
    // The content hash is the ETag: a reload revalidates and gets 304 when nothing changed.
    let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    // Vendored libraries change only with a new binary; pages revalidate on every load.
    let cache = if path.starts_with("vendor/") {
        "public, max-age=86400"
    } else {
        "no-cache"
    };
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        file.data.into_owned().into_response()
    };
    let response_headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(file.metadata.mimetype()) {
        response_headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response_headers.insert(header::ETAG, value);
    }
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response_headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
