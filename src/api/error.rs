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
    /// The query or path parameter (or body field) at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// `invalid_batch` only: every invalid value of a moves batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<BatchItemError>>,
}

/// One invalid value of a moves batch (`POST /api/moves`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct BatchItemError {
    /// 0-based position of the item in `moves`.
    pub index: usize,
    /// The key concerned, or `item` for the whole item.
    pub field: String,
    /// The value as given.
    pub value: String,
    /// `invalid`, `duplicate` (same id earlier in the batch) or `conflict`
    /// (id stored with different values).
    pub reason: String,
    /// What is wrong and what is accepted.
    pub message: String,
}

impl From<&crate::import::ItemError> for BatchItemError {
    fn from(e: &crate::import::ItemError) -> Self {
        BatchItemError {
            index: e.index,
            field: e.field.clone(),
            value: e.value.clone(),
            reason: e.reason.to_string(),
            message: e.message.clone(),
        }
    }
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
    /// The request body cannot be read or is not what the route accepts.
    #[error("{0}")]
    BadBody(String),
    /// A moves batch with invalid values: nothing was stored.
    #[error("{message}")]
    InvalidBatch { message: String, items: Vec<BatchItemError> },
    /// The body or batch is larger than the route accepts.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The server has no store to write to.
    #[error("{0}")]
    NoStore(String),
    /// Credentials are missing or invalid (see `api::access`).
    #[error("{0}")]
    Unauthorized(String),
    /// The principal may not make this request.
    #[error("{0}")]
    Forbidden(String),
    /// A write whose body is not declared as JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
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
            ApiError::BadBody(_) => (StatusCode::BAD_REQUEST, "bad_body"),
            ApiError::InvalidBatch { .. } => (StatusCode::BAD_REQUEST, "invalid_batch"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::NoStore(_) => (StatusCode::SERVICE_UNAVAILABLE, "no_store"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
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
        let message = self.to_string();
        let items = match self {
            ApiError::InvalidBatch { items, .. } => Some(items),
            _ => None,
        };
        let body = ErrorBody { error: ErrorDetail { code: code.into(), message, parameter, items } };
        (status, Json(body)).into_response()
    }
}

/// 404 for any route that does not exist, in the same shape.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}
