//! [`ApiJson<T>`]: a JSON request body parsed into `T` or a `400` in the
//! API's error shape naming the field at fault (`stations[1].lat`), so a
//! body's accepted shape is the type `T` that `/openapi.json` documents.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use super::ApiError;

/// A JSON body parsed into `T`. The content type is checked before, by the
/// policy layer (`api::access`: writes must be `application/json`).
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| match e.status().as_u16() {
            413 => ApiError::PayloadTooLarge(format!("the body is too large: {e}")),
            _ => ApiError::BadBody(format!("cannot read the body: {e}")),
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses `bytes` as `T`, naming the field of the first error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::BadRequest(format!("the body is not JSON ({inner})"));
        }
        let path = e.path().to_string();
        let message = inner.to_string();
        let message = message.split(" at line ").next().unwrap_or_default().to_string();
        let unknown = message.strip_prefix("unknown field `").and_then(|r| r.split_once('`'));
        let missing = message.strip_prefix("missing field `").and_then(|r| r.split('`').next());
        let within = |field: &str| match path.as_str() {
            "" | "." => field.to_string(),
            p if p == field || p.ends_with(&format!(".{field}")) => p.to_string(),
            p => format!("{p}.{field}"),
        };
        match (unknown, missing) {
            (Some((field, rest)), _) => {
                let accepted = rest.trim_start_matches(", expected ").trim_start_matches("one of ").replace('`', "");
                ApiError::param(within(field), format!("unknown field; accepted: {accepted}"))
            }
            (None, Some(field)) => ApiError::param(within(field), "required"),
            _ if path.is_empty() || path == "." => ApiError::BadRequest(message),
            _ => ApiError::param(path, message),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        lon: f64,
    }

    fn param(r: Result<Body, ApiError>) -> String {
        match r {
            Err(ApiError::BadParam { param, .. }) => param,
            other => panic!("expected a parameter error, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(param(parse_json(br#"{"items": [{"lon": 1}, {"lat": 2}]}"#)), "items[1].lat");
        assert_eq!(param(parse_json(br#"{"items": [{}]}"#)), "items[0].lon");
        assert_eq!(param(parse_json(br#"{"items": [{"lon": "x"}]}"#)), "items[0].lon");
        assert_eq!(param(parse_json(br#"{"items": [], "when": 1}"#)), "when");
        assert!(matches!(parse_json::<Body>(b"not json"), Err(ApiError::BadRequest(_))));
    }
}
