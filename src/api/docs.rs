//! `GET /api/docs`: a reference page of the HTTP API that works offline.
//! The page is one self-contained HTML file compiled into the binary (no
//! CDN: deployments often have no internet); its script fetches
//! `/openapi.json` and lists every path, parameter (with its accepted
//! values and ranges), request body, response and schema.

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

/// The page, with its CSS and JavaScript inline.
const PAGE: &str = include_str!("docs/index.html");

/// `GET /api/docs`
#[utoipa::path(get, path = "/api/docs", tag = "service",
    responses((status = 200, description = "The API reference page (HTML, reads /openapi.json)", body = String,
               content_type = "text/html")))]
pub async fn docs_page() -> Response {
    let mut resp = Html(PAGE).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    resp
}
