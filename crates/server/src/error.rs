//! Every error of the HTTP interface, mapped once to an RFC 9457 problem response
//! (`application/problem+json`). The detail is a sentence a person can act on; internal failures are
//! logged with their cause and answered without it.

use axum::extract::multipart::MultipartError;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use onegrid_core::WorkflowError;
use onegrid_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of an error response (RFC 9457).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`/problems/<code>` on this server).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short, fixed summary of the kind of problem.
    pub title: String,
    pub status: u16,
    /// What went wrong with this request, and what to do about it.
    pub detail: String,
    /// Machine-readable code of the kind of problem (e.g. `out_of_scope`).
    pub code: String,
}

/// An error answer. Build it with the constructors; `IntoResponse` writes the problem document.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: &'static str,
    pub detail: String,
    /// Extra headers (e.g. `WWW-Authenticate`, `Retry-After`).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            title,
            detail: detail.into(),
            headers: Vec::new(),
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Bad request",
            detail,
        )
    }

    pub fn invalid(detail: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "Invalid input",
            detail,
        )
    }

    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        let mut error = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Sign-in required",
            detail,
        );
        error.headers.push((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"onegrid\""),
        ));
        error
    }

    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "Not found", detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, "Conflict", detail)
    }

    pub fn too_large(detail: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "Request too large",
            detail,
        )
    }

    pub fn unsupported_media(detail: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
            detail,
        )
    }

    pub fn too_many(retry_after_s: u64) -> ApiError {
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests",
            format!("too many reports from this address; wait {retry_after_s} s and try again"),
        );
        if let Ok(value) = HeaderValue::from_str(&retry_after_s.to_string()) {
            error.headers.push((header::RETRY_AFTER, value));
        }
        error
    }

    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the server could not complete the request; the cause has been logged. Try again later",
        )
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("/problems/{}", self.code),
            title: self.title.to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_string(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_string(&self.problem()).unwrap_or_default();
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

impl From<WorkflowError> for ApiError {
    fn from(error: WorkflowError) -> ApiError {
        use WorkflowError::*;
        let detail = error.to_string();
        match error {
            IllegalTransition { .. }
            | AlreadyRated(_)
            | ExtensionPending(_)
            | NoExtensionPending(_)
            | AlreadyReported(_)
            | NotReported
            | TierNotHigher { .. }
            | BadMerge { .. } => ApiError::conflict("illegal_transition", detail),
            RoleNotAllowed { .. } => ApiError::new(
                StatusCode::FORBIDDEN,
                "role_not_allowed",
                "Not allowed",
                detail,
            ),
            OutOfScope { .. } => {
                ApiError::new(StatusCode::FORBIDDEN, "out_of_scope", "Not allowed", detail)
            }
            UnknownCategory(_)
            | UnknownDepartment(_)
            | UnknownArea(_)
            | NotACell { .. }
            | InvalidInput { .. } => ApiError::invalid(detail),
            Calendar(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "calendar",
                "Working calendar incomplete",
                format!("{detail}; an administrator must extend the holiday calendar"),
            ),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        let detail = error.to_string();
        match error {
            StoreError::Workflow(inner) => inner.into(),
            StoreError::CaseNotFound(_) | StoreError::NotFound { .. } => {
                ApiError::not_found(detail)
            }
            StoreError::VersionConflict { .. } => ApiError::conflict("version_conflict", detail),
            StoreError::UnknownPerson(_) | StoreError::InvalidReference(_) => {
                ApiError::invalid(detail)
            }
            StoreError::OutsideDistrict { .. }
            | StoreError::InvalidPoint(_)
            | StoreError::PointNotInCell { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_location",
                "Location not accepted",
                detail,
            ),
            StoreError::NoGrid => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_grid",
                "No grid yet",
                detail,
            ),
            StoreError::Closed => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "Shutting down",
                "the server is shutting down; try again in a moment",
            ),
            StoreError::Open { .. } | StoreError::Storage(_) | StoreError::Corrupt(_) => {
                ApiError::internal(detail)
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::unsupported_media(
                "send the body as JSON with the header Content-Type: application/json",
            ),
            JsonRejection::JsonSyntaxError(e) => {
                ApiError::bad_request(format!("the body is not valid JSON: {}", e.body_text()))
            }
            JsonRejection::JsonDataError(e) => ApiError::invalid(format!(
                "the JSON does not have the expected fields: {}",
                e.body_text()
            )),
            JsonRejection::BytesRejection(e) => body_rejection(e.status(), e.body_text()),
            other => ApiError::bad_request(other.body_text()),
        }
    }
}

fn body_rejection(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large(format!(
            "the body is larger than this endpoint accepts ({text})"
        ))
    } else {
        ApiError::bad_request(format!("the body could not be read: {text}"))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::bad_request(format!(
            "a query parameter is wrong: {}",
            rejection.body_text()
        ))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        ApiError::bad_request(format!(
            "a part of the address is wrong: {}",
            rejection.body_text()
        ))
    }
}

impl From<MultipartRejection> for ApiError {
    fn from(rejection: MultipartRejection) -> ApiError {
        ApiError::unsupported_media(format!(
            "send a multipart/form-data body with its boundary ({})",
            rejection.body_text()
        ))
    }
}

/// `Multipart` whose rejections are problem responses.
pub struct ApiMultipart(pub axum::extract::Multipart);

impl<S: Send + Sync> axum::extract::FromRequest<S> for ApiMultipart {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        axum::extract::Multipart::from_request(request, state)
            .await
            .map(ApiMultipart)
            .map_err(ApiError::from)
    }
}

impl From<MultipartError> for ApiError {
    fn from(error: MultipartError) -> ApiError {
        body_rejection(error.status(), error.body_text())
    }
}

/// `Json` whose rejections are problem responses.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `Query` whose rejections are problem responses.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `Path` whose rejections are problem responses.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);
