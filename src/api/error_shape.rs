//! One error shape for every status. Handlers answer their own errors as
//! `{"error": {"code", "message", "parameter"?}}` (see [`super::ApiError`]),
//! but some answers are made elsewhere: axum's 405 (empty body), its path,
//! query and JSON rejections (plain text), the body limit's 413, a static
//! file's errors. [`json_errors`] rewrites every 4xx/5xx answer whose body
//! is not JSON into the shape, with a stable `code` per status, keeping the
//! original text as the message where there is one and every header (405
//! keeps `Allow`, 429/503 keep `Retry-After`). A 500's text is never shown.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

/// Longest original error body read to keep as the message.
const MAX_ORIGINAL_BYTES: usize = 16 << 10;

/// The stable `code` of an error status.
pub fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        406 => "not_acceptable",
        408 => "request_timeout",
        409 => "conflict",
        411 => "length_required",
        413 => "payload_too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        416 => "range_not_satisfiable",
        422 => "unprocessable_entity",
        429 => "rate_limited",
        431 => "headers_too_large",
        500 => "internal",
        501 => "not_implemented",
        502 => "bad_gateway",
        503 => "overloaded",
        504 => "timeout",
        s if s < 500 => "client_error",
        _ => "server_error",
    }
}

/// Whether a response already carries JSON (`application/json` or a
/// `+json` type such as GeoJSON).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase())
        .is_some_and(|e| e == "application/json" || e.ends_with("+json"))
}

/// The field a serde rejection names (``missing field `zoom` ``).
fn parameter_of(text: &str) -> Option<&str> {
    let rest = &text[text.find("field `")? + "field `".len()..];
    rest.split('`').next().filter(|p| !p.is_empty())
}

/// The message of a rewritten error: the original text if there is one,
/// else a sentence about the status.
fn message_for(status: StatusCode, original: &str, method: &Method, path: &str, headers: &HeaderMap) -> String {
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        return "internal error".into();
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        let allow = headers.get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or("");
        return format!("{method} is not allowed on {path}; allowed: {allow}");
    }
    if !original.is_empty() {
        return original.to_string();
    }
    match status {
        StatusCode::NOT_FOUND => format!("no route for {path}"),
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than the server accepts".into(),
        s => s.canonical_reason().unwrap_or("error").to_string(),
    }
}

/// Rewrites non-JSON error answers into the API's error shape.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(resp.headers()) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let original = axum::body::to_bytes(body, MAX_ORIGINAL_BYTES).await.unwrap_or_default();
    let original = String::from_utf8_lossy(&original).trim().to_string();
    let message = message_for(status, &original, &method, &path, &parts.headers);
    let mut error = json!({"code": code_for(status), "message": message});
    if status.is_client_error()
        && let Some(p) = parameter_of(&original)
    {
        error["parameter"] = json!(p);
    }
    let bytes = serde_json::to_vec(&json!({ "error": error })).unwrap_or_default();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_parameter_of_a_serde_rejection() {
        assert_eq!(parameter_of("Failed to deserialize query string: missing field `zoom`"), Some("zoom"));
        assert_eq!(parameter_of("Invalid URL: Cannot parse `x` to a `u32`"), None);
    }

    #[test]
    fn json_types_are_recognised() {
        for (ct, json) in [
            ("application/json", true),
            ("application/geo+json; charset=utf-8", true),
            ("text/plain; charset=utf-8", false),
            ("application/vnd.mapbox-vector-tile", false),
        ] {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            assert_eq!(is_json(&h), json, "{ct}");
        }
    }
}
