//! The one error shape of the HTTP API: `{"error": {"code", "message"}}`
//! with a 4xx status for the caller's mistakes and 500 for ours (logged,
//! never leaked).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// The body of every error answer (documented in `/openapi.json`).
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code, e.g. `bad_parameter`, `not_found`.
    pub code: String,
    /// What was wrong and what is accepted, for a person.
    pub message: String,
    /// The query or path parameter at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

/// Errors a handler can return.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query or path parameter is invalid: names it and what is accepted.
    #[error("{param}: {message}")]
    BadParam { param: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn param(param: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::BadParam { param: param.into(), message: message.into() }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadParam { .. } => (StatusCode::BAD_REQUEST, "bad_parameter"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        let parameter = match &self {
            ApiError::BadParam { param, .. } => Some(param.clone()),
            _ => None,
        };
        let body = ErrorBody { error: ErrorDetail { code: code.into(), message: self.to_string(), parameter } };
        (status, Json(body)).into_response()
    }
}

/// 404 for any route that does not exist, in the same shape.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}
