//! Sign-in sessions for people on the web page: `GET /api/session` (who am
//! I), `POST /api/session` (sign in), `DELETE /api/session` (sign out).
//!
//! The session is the `talentmap_session` cookie: `HttpOnly` (scripts cannot
//! read it), `SameSite=Strict` (no other site's page sends it), `Path=/`,
//! `Max-Age` the session's lifetime, and `Secure` when the public URL is
//! `https`. Signing out deletes the session in the store, so the cookie is
//! worthless afterwards even if it was copied. Password checks (argon2id)
//! run on the compute pool, so a burst of sign-ins cannot starve the
//! server's threads or memory.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::access::{self, Caller, cookie};
use super::body::ApiJson;
use super::error::ErrorBody;
use super::limits::error_response;
use super::query::{ApiQuery, NoParams};
use super::{ApiError, AppState};
use crate::auth::users::{self, SignIn};
use crate::auth::{self, Authentication, Principal, PrincipalKind, SESSION_COOKIE, sessions};

/// The caller as the page shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrincipalBody {
    /// `user`, `key` or `anonymous`.
    pub kind: String,
    /// The user name or key id; null when anonymous.
    pub id: Option<String>,
    /// `public`, `recruiter`, `analyst`, `feeder` or `admin`.
    pub role: String,
    /// District and park ids (analysts).
    pub jurisdiction: Vec<String>,
}

impl From<&Principal> for PrincipalBody {
    fn from(p: &Principal) -> Self {
        let (kind, id) = match &p.kind {
            PrincipalKind::User(name) => ("user", Some(name.clone())),
            PrincipalKind::Key(id) => ("key", Some(id.clone())),
            PrincipalKind::Anonymous => ("anonymous", None),
        };
        PrincipalBody {
            kind: kind.into(),
            id,
            role: p.role.to_string(),
            jurisdiction: p.jurisdiction.iter().cloned().collect(),
        }
    }
}

/// Who the caller is.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionBody {
    /// Whether the request carried valid credentials.
    pub authenticated: bool,
    /// Whether this server answers callers without credentials.
    pub public_access: bool,
    pub principal: PrincipalBody,
    /// When the sign-in session ends (RFC 3339 UTC); null otherwise.
    pub expires: Option<String>,
}

/// `POST /api/session`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    pub username: String,
    pub password: String,
}

fn body(state: &AppState, principal: &Principal, authenticated: bool, expires: Option<i64>) -> SessionBody {
    SessionBody {
        authenticated,
        public_access: state.settings.access.public_access,
        principal: PrincipalBody::from(principal),
        expires: expires.map(auth::rfc3339),
    }
}

/// `GET /api/session`: who the caller is (anonymous when the credentials
/// are missing or no longer valid).
#[utoipa::path(get, path = "/api/session", tag = "session", params(NoParams),
    responses((status = 200, description = "The caller", body = SessionBody),
              (status = 400, description = "A query parameter was given", body = ErrorBody)))]
pub async fn current(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiQuery(_no_params): ApiQuery<NoParams>,
) -> Result<Response, ApiError> {
    let (principal, authenticated) = match &caller.authentication {
        Authentication::Principal(p) => (p.clone(), true),
        _ => (Principal::anonymous(), false),
    };
    let expires = match (authenticated, cookie(&headers, SESSION_COOKIE)) {
        (true, Some(token)) if headers.get(header::AUTHORIZATION).is_none() => {
            state.auth.with_store(move |store| sessions::expires_at(store, &token, auth::now())).await?
        }
        _ => None,
    };
    Ok(access::not_stored(Json(body(&state, &principal, authenticated, expires)).into_response()))
}

fn session_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.settings.public_url.starts_with("https://") { "; Secure" } else { "" };
    let text = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("talentmap_session=; Max-Age=0"))
}

/// `POST /api/session` with `{"username", "password"}`: signs in.
#[utoipa::path(post, path = "/api/session", tag = "session", request_body = SignInBody,
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = SessionBody),
        (status = 400, description = "The body is not `{\"username\", \"password\"}`", body = ErrorBody),
        (status = 401, description = "Wrong user name or password (not said which)", body = ErrorBody),
        (status = 429, description = "Too many failed sign-ins for this name or address; `Retry-After`", body = ErrorBody),
        (status = 503, description = "The server has no data directory", body = ErrorBody),
    ))]
pub async fn sign_in(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(b): ApiJson<SignInBody>,
) -> Result<Response, ApiError> {
    let service = state.auth.clone();
    let client = caller.client.clone();
    let ttl = state.settings.access.session_ttl.as_secs() as i64;
    let settings = sessions::SessionSettings { ttl_secs: ttl };
    let outcome = state
        .compute
        .run(move || -> Result<SignIn, ApiError> {
            service
                .on_store(|store| users::sign_in(store, &b.username, &b.password, &client, &settings, auth::now()))
                .map_err(|e| ApiError::Internal(e.to_string()))?
                .ok_or_else(|| ApiError::NoStore("this server has no data directory, so it has no accounts".into()))
        })
        .await??;
    match outcome {
        SignIn::Accepted { principal, session } => {
            let mut resp =
                access::not_stored(Json(body(&state, &principal, true, Some(session.expires))).into_response());
            resp.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, &session.token, ttl));
            Ok(resp)
        }
        SignIn::Refused => Ok(access::unauthorized("wrong user name or password")),
        SignIn::Locked { retry_after_secs } => Ok(error_response(
            StatusCode::TOO_MANY_REQUESTS,
            "locked_out",
            format!("too many failed sign-ins for this name or address; try again in {retry_after_secs} s"),
            Some(retry_after_secs.max(1) as u64),
        )),
    }
}

/// `DELETE /api/session`: signs out, ending the session in the store.
#[utoipa::path(delete, path = "/api/session", tag = "session", params(NoParams),
    responses((status = 204, description = "Signed out (also when there was no session); the cookie is cleared"),
              (status = 400, description = "A query parameter was given", body = ErrorBody)))]
pub async fn sign_out(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiQuery(_no_params): ApiQuery<NoParams>,
) -> Result<Response, ApiError> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state.auth.forget(&format!("cookie {token}"));
        let ended = state.auth.with_store(move |store| sessions::end(store, &token)).await?;
        if ended {
            access::audit(&caller, "sign-out", json!({}), json!({"result": "ended"})).await?;
        }
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(access::not_stored(resp))
}
