//! onegrid's HTTP interface. For now: a health check and a read-only JSON case list; the full REST
//! API, Open311 and the web UI are built on this router.
//!
//! `router()` lists every route; `serve()` runs it on a listener the caller opened, until the
//! caller's shutdown future completes.

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use onegrid_core::{AreaCode, CaseId, CaseState};
use onegrid_store::{CaseFilter, Store, StoreError};
use serde::Deserialize;
use serde_json::json;

/// The shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
}

/// Every route of the server.
pub fn router(store: Arc<dyn Store>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/cases", get(list_cases))
        .route("/api/cases/{id}", get(get_case))
        .with_state(AppState { store })
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<dyn Store>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(store))
        .with_graceful_shutdown(shutdown)
        .await
}

/// An error as an RFC 9457 problem response. Internal details are logged, never sent.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    title: &'static str,
    detail: String,
}

impl ApiError {
    fn bad_request(detail: String) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            title: "Bad request",
            detail,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match &error {
            StoreError::CaseNotFound(_) => ApiError {
                status: StatusCode::NOT_FOUND,
                title: "Not found",
                detail: error.to_string(),
            },
            StoreError::Workflow(_) | StoreError::InvalidReference(_) => {
                ApiError::bad_request(error.to_string())
            }
            StoreError::VersionConflict { .. } => ApiError {
                status: StatusCode::CONFLICT,
                title: "Conflict",
                detail: error.to_string(),
            },
            _ => {
                tracing::error!(%error, "internal error");
                ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    title: "Internal error",
                    detail: "the server could not complete the request; it has been logged"
                        .to_string(),
                }
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "type": "about:blank",
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}

async fn healthz() -> &'static str {
    "ok"
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    area: Option<String>,
    state: Option<String>,
    after: Option<u64>,
    limit: Option<usize>,
}

async fn list_cases(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let area = query
        .area
        .as_deref()
        .map(AreaCode::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let case_state = query
        .state
        .as_deref()
        .map(|s| {
            CaseState::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "state {s:?} is not one of: {}",
                    CaseState::ALL.map(CaseState::as_str).join(", ")
                ))
            })
        })
        .transpose()?;
    let filter = CaseFilter {
        area,
        state: case_state,
        after: query.after.map(CaseId),
        limit: query.limit,
        ..CaseFilter::default()
    };
    let cases = state.store.list_cases(&filter).await?;
    let public: Vec<serde_json::Value> = cases.iter().map(public_case).collect();
    Ok(Json(public))
}

async fn get_case(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id: CaseId = id.parse().map_err(ApiError::bad_request)?;
    let case = state.store.case(id).await?;
    let mut body = public_case(&case);
    body["description"] = json!(case.description);
    body["co_departments"] = json!(case.co_departments);
    body["rating"] = json!(case.rating.as_ref().map(|r| r.score));
    Ok(Json(body))
}

/// A case as this unauthenticated API shows it: no reporter, so no personal data.
fn public_case(case: &onegrid_core::Case) -> serde_json::Value {
    json!({
        "id": case.id,
        "state": case.state,
        "state_zh": case.state.name_zh(),
        "tier": case.tier,
        "channel": case.channel,
        "cell": case.cell,
        "category": case.category,
        "title": case.title,
        "department": case.lead_department(),
        "reported_at": case.reported_at,
        "updated_at": case.updated_at,
        "due_at": case.deadline.map(|d| d.due_at),
    })
}
