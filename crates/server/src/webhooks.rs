//! Webhooks (being built).

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}

/// Delivers webhook events until the task is aborted.
pub async fn run_deliveries(_state: AppState) {}

/// This module's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    utoipa::openapi::OpenApiBuilder::new().build()
}
