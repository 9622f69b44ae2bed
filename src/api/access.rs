//! The policy layer: who may call which route (`docs/access.md`).
//!
//! Two pieces of middleware:
//!
//! - [`authenticate`], once per request in front of the limits: turns the
//!   `Authorization: Bearer` header or the session cookie into an
//!   [`Authentication`] (verified results are remembered for the credential
//!   TTL, so a tile request does not read the store), and puts a [`Caller`]
//!   and the [`Principal`] in the request's extensions (the rate limit counts
//!   a signed-in principal instead of its address);
//! - [`enforce`], on every route with the route's [`Access`], registered
//!   with the route itself (`RouteTable`), so no route exists without a
//!   policy: `401` with `WWW-Authenticate: Bearer` when credentials are
//!   missing or invalid, `403` when the role does not allow the route; for
//!   writes, `403` for a foreign `Origin` and `415` for a body that is not
//!   `application/json`.
//!
//! What a role sees inside a route it may call (an analyst's jurisdiction)
//! is the route's business: handlers take the principal with
//! `Extension<Principal>`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use moka::sync::Cache;
use sha2::{Digest, Sha256};

use super::{ApiError, AppState};
use crate::auth::{self, AuthError, Authentication, Principal, Role, SESSION_COOKIE};
use crate::store::Store;

/// Who may call a route. Every route is registered with one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Anyone, even with public access off: `/health` and the sign-in
    /// routes. Invalid credentials count as none here.
    Open,
    /// Aggregated, disclosure-controlled data: anyone while public access is
    /// on; with it off, any signed-in role but the feeder.
    Public,
    /// Exports: recruiters, analysts and admins.
    Export,
    /// A signed-in principal's own workspace (study areas): recruiters,
    /// analysts and admins, each seeing what they made.
    Member,
    /// Individual talent records: analysts (inside their jurisdiction, which
    /// the route checks) and admins.
    Individuals,
    /// The moves feed: feeders and admins.
    Feed,
    /// Metrics, the audit log: admins.
    Admin,
}

impl Access {
    /// Whether `role` may call a route with this access; `public_access` is
    /// the server's `--public` setting.
    pub fn allows(self, role: Role, public_access: bool) -> bool {
        use Role::*;
        match self {
            Access::Open => true,
            Access::Public => match role {
                Public => public_access,
                Feeder => false,
                Recruiter | Analyst | Admin => true,
            },
            Access::Export | Access::Member => matches!(role, Recruiter | Analyst | Admin),
            Access::Individuals => matches!(role, Analyst | Admin),
            Access::Feed => matches!(role, Feeder | Admin),
            Access::Admin => role == Admin,
        }
    }

    /// The roles allowed, for messages and documentation.
    pub fn roles(self) -> &'static str {
        match self {
            Access::Open => "anyone",
            Access::Public => "anyone while public access is on; otherwise recruiter, analyst or admin",
            Access::Export => "recruiter, analyst or admin",
            Access::Member => "recruiter, analyst or admin (each their own)",
            Access::Individuals => "analyst (inside the jurisdiction) or admin",
            Access::Feed => "feeder or admin",
            Access::Admin => "admin",
        }
    }
}

/// Settings of access control (`talentmap serve --public`, `--cors-origin`,
/// `--session-hours`).
#[derive(Debug, Clone)]
pub struct AccessSettings {
    /// Whether callers without credentials get the public role.
    pub public_access: bool,
    /// Origins (`https://host[:port]`) other than the server's own that may
    /// read public routes from a browser (CORS). Never used for writes.
    pub cors_origins: Vec<String>,
    /// How long a verified key or session is trusted before it is checked
    /// against the store again: a revoked key stops working within it.
    pub credential_ttl: Duration,
    /// Lifetime of a sign-in session.
    pub session_ttl: Duration,
}

impl Default for AccessSettings {
    fn default() -> Self {
        AccessSettings {
            public_access: true,
            cors_origins: Vec::new(),
            credential_ttl: Duration::from_secs(2),
            session_ttl: Duration::from_secs(auth::sessions::DEFAULT_TTL_SECS as u64),
        }
    }
}

/// Credentials checked against the store, remembered for a while.
pub struct AuthService {
    store: Option<Arc<crate::store::Pool>>,
    /// SHA-256 of the presented credential → what it amounted to.
    verified: Cache<[u8; 32], Authentication>,
}

impl AuthService {
    pub fn new(store: Option<Arc<crate::store::Pool>>, settings: &AccessSettings) -> AuthService {
        AuthService {
            store,
            verified: Cache::builder()
                .name("credentials")
                .max_capacity(100_000)
                .time_to_live(settings.credential_ttl)
                .build(),
        }
    }

    /// Runs one access-control operation on a store from the server's
    /// pool (`None` without a store).
    pub fn on_store<T>(&self, work: impl FnOnce(&Store) -> Result<T, AuthError>) -> Result<Option<T>, AuthError> {
        match &self.store {
            Some(pool) => pool.with(|store| work(store)).map(Some),
            None => Ok(None),
        }
    }

    /// Runs `work` on the store on a blocking thread; `503 no_store` without
    /// a data directory.
    pub async fn with_store<T, F>(self: &Arc<Self>, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Store) -> Result<T, AuthError> + Send + 'static,
        T: Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.on_store(work).map_err(internal)?.ok_or_else(no_store))
            .await
            .map_err(|e| ApiError::Internal(format!("store task failed: {e}")))?
    }

    /// Forgets what `credential` verified to (on sign-out).
    pub fn forget(&self, credential: &str) {
        self.verified.invalidate(&digest(credential));
    }

    async fn authenticate(self: &Arc<Self>, authorization: Option<String>, cookie: Option<String>) -> Authentication {
        let presented = match (&authorization, &cookie) {
            (None, None) => return Authentication::Anonymous,
            (Some(h), _) => format!("authorization {h}"),
            (None, Some(c)) => format!("cookie {c}"),
        };
        let key = digest(&presented);
        if let Some(known) = self.verified.get(&key) {
            return known;
        }
        let this = self.clone();
        let result = tokio::task::spawn_blocking(move || -> Result<Authentication, AuthError> {
            let found = this.on_store(|store| {
                auth::authenticate(store, authorization.as_deref(), cookie.as_deref(), auth::now())
            })?;
            Ok(found.unwrap_or(Authentication::Invalid))
        })
        .await;
        match result {
            Ok(Ok(found)) => {
                self.verified.insert(key, found.clone());
                found
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "checking credentials failed");
                Authentication::Invalid
            }
            Err(e) => {
                tracing::error!(error = %e, "checking credentials failed");
                Authentication::Invalid
            }
        }
    }
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn internal(e: AuthError) -> ApiError {
    ApiError::Internal(e.to_string())
}

fn no_store() -> ApiError {
    ApiError::NoStore("this server has no data directory, so it has no accounts or audit log".into())
}

/// What [`authenticate`] found out about a request, for [`enforce`] and the
/// handlers.
#[derive(Clone)]
pub struct Caller {
    pub authentication: Authentication,
    /// The client's address (`local` for an in-process call).
    pub client: String,
    pub state: AppState,
}

impl Caller {
    /// The principal: the verified one, else anonymous.
    pub fn principal(&self) -> Principal {
        match &self.authentication {
            Authentication::Principal(p) => p.clone(),
            Authentication::Anonymous | Authentication::Invalid => Principal::anonymous(),
        }
    }

    /// The audit log's view of this caller.
    pub fn actor(&self) -> auth::audit::Actor {
        auth::audit::Actor::of(&self.principal(), &self.client)
    }
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// Authenticates every request (see the module doc).
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    identify(&state, &mut req).await;
    next.run(req).await
}

/// What [`authenticate`] does before the rest of the stack: the caller and
/// its principal into the request's extensions.
pub(super) async fn identify(state: &AppState, req: &mut Request) {
    let authorization = req.headers().get(header::AUTHORIZATION).map(|v| String::from_utf8_lossy(v.as_bytes()).into());
    let session = cookie(req.headers(), SESSION_COOKIE);
    let authentication = state.auth.authenticate(authorization, session).await;
    let client = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "local".to_string(), |ConnectInfo(a)| a.ip().to_string());
    let caller = Caller { authentication, client, state: state.clone() };
    req.extensions_mut().insert(caller.principal());
    req.extensions_mut().insert(caller);
}

/// Applies a route's [`Access`] (see the module doc). Registered on every
/// route by the route table; handlers then find the [`Principal`] in the
/// extensions.
pub async fn enforce(State(access): State<Access>, req: Request, next: Next) -> Response {
    let Some(caller) = req.extensions().get::<Caller>().cloned() else {
        // The authentication layer is part of every router; without it
        // nothing is known about the caller, so only open routes answer.
        if access == Access::Open {
            return next.run(req).await;
        }
        return unauthorized("this route needs credentials");
    };
    let settings = &caller.state.settings.access;
    let principal = match (&caller.authentication, access) {
        (Authentication::Invalid, Access::Open) => Principal::anonymous(),
        (Authentication::Invalid, _) => {
            return unauthorized("the credentials are invalid, expired or revoked");
        }
        _ => caller.principal(),
    };
    if !access.allows(principal.role, settings.public_access) {
        if principal.role == Role::Public {
            let why = if access == Access::Public { "public access is off on this server; " } else { "" };
            return unauthorized(&format!("{why}this route needs credentials: {}", access.roles()));
        }
        if matches!(access, Access::Individuals | Access::Admin | Access::Feed) {
            let action = format!("{} {}", req.method(), req.uri().path());
            audit_denial(&caller, action, access).await;
        }
        return ApiError::Forbidden(format!(
            "the role {} may not call this route; it is for: {}",
            principal.role,
            access.roles()
        ))
        .into_response();
    }
    if is_write(req.method()) {
        if let Some(refusal) = cross_origin(req.headers(), &caller.state.settings.public_url) {
            return refusal;
        }
        if *req.method() != Method::DELETE && !is_json(req.headers()) {
            return ApiError::UnsupportedMediaType(
                "this route takes a JSON body: send it with Content-Type: application/json".into(),
            )
            .into_response();
        }
    }
    // What a signed-in caller gets, and everything while public access is
    // off, must not be kept by a shared cache and handed to someone else.
    let shared_cache_ok = principal.role == Role::Public && settings.public_access;
    let mut req = req;
    req.extensions_mut().insert(principal);
    let mut resp = next.run(req).await;
    if !shared_cache_ok {
        let headers = resp.headers_mut();
        let public =
            headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()).map(|v| v.replace("public", "private"));
        if let Some(private) = public.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(header::CACHE_CONTROL, private);
        }
        headers.append(header::VARY, HeaderValue::from_static("Authorization, Cookie"));
    }
    resp
}

/// Checks a part of a route that needs more than the route's own access
/// (the CSV export of a ranking): `401` for the public role, `403` for a
/// role that `access` does not allow; `None` when allowed.
pub fn refusal(access: Access, role: Role, what: &str) -> Option<Response> {
    if access.allows(role, false) {
        return None;
    }
    if role == Role::Public {
        return Some(unauthorized(&format!("{what} needs credentials: {}", access.roles())));
    }
    Some(
        ApiError::Forbidden(format!("the role {role} may not use {what}; it is for: {}", access.roles()))
            .into_response(),
    )
}

/// Marks an answer that no cache may keep (sessions, individuals, the audit
/// log): `Cache-Control: private, no-store`.
pub fn not_stored(mut resp: Response) -> Response {
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    resp
}

/// `401` with `WWW-Authenticate: Bearer`.
pub fn unauthorized(message: &str) -> Response {
    let mut resp = ApiError::Unauthorized(message.to_string()).into_response();
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"talentmap\""));
    resp
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the body is declared as JSON (`application/json`, parameters
/// such as `charset` allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// `403` for a write from a web page of another origin: the `Origin` header,
/// when a browser sends one, must name this server: the request's `Host`, or
/// the origin of the configured public URL (behind a proxy that rewrites
/// `Host`). Configured CORS origins are for reading public data and do not
/// count here.
fn cross_origin(headers: &HeaderMap, public_url: &str) -> Option<Response> {
    let origin = headers.get(header::ORIGIN)?.to_str().unwrap_or("");
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let authority = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://")).unwrap_or("");
    if !host.is_empty() && authority.eq_ignore_ascii_case(host) {
        return None;
    }
    let (scheme, rest) = public_url.split_once("://").unwrap_or(("", ""));
    let own = format!("{scheme}://{}", rest.split('/').next().unwrap_or(""));
    if !origin.is_empty() && origin.eq_ignore_ascii_case(&own) {
        return None;
    }
    Some(
        ApiError::Forbidden(format!(
            "writes are accepted only from this server's own pages; origin '{origin}' is another site"
        ))
        .into_response(),
    )
}

/// Records a refused request for individual records, the feed or an admin
/// route by a signed-in principal.
async fn audit_denial(caller: &Caller, action: String, access: Access) {
    let actor = caller.actor();
    let params = serde_json::json!({ "access": access });
    let outcome = serde_json::json!({ "result": "forbidden" });
    let result = caller
        .state
        .auth
        .with_store(move |store| auth::audit::append(store, &actor, &action, &params, &outcome).map(|_| ()))
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "writing an audit entry failed");
    }
}

/// Appends an audit entry for what `caller` did; a failure to write it is
/// an error of the request (an unaudited read of individuals must not be
/// answered).
pub async fn audit(
    caller: &Caller,
    action: &str,
    params: serde_json::Value,
    outcome: serde_json::Value,
) -> Result<(), ApiError> {
    let actor = caller.actor();
    let action = action.to_string();
    caller.state.auth.with_store(move |store| auth::audit::append(store, &actor, &action, &params, &outcome)).await?;
    Ok(())
}

/// The status codes [`enforce`] may answer for a route, for the OpenAPI
/// document.
pub fn refusals(access: Access, method: &str) -> Vec<(StatusCode, &'static str)> {
    let mut out = Vec::new();
    if access != Access::Open {
        out.push((
            StatusCode::UNAUTHORIZED,
            "Credentials are missing (for this route or while public access is off) or invalid, expired or revoked; \
             `WWW-Authenticate: Bearer`",
        ));
        out.push((StatusCode::FORBIDDEN, "The role (or an analyst's jurisdiction) does not allow this request"));
    }
    if method != "GET" {
        if access == Access::Open {
            out.push((StatusCode::FORBIDDEN, "A write from a page of another origin"));
        }
        if method != "DELETE" {
            out.push((StatusCode::UNSUPPORTED_MEDIA_TYPE, "The body is not sent as `application/json`"));
        }
    }
    out
}

/// Adds to the OpenAPI document what the policy layer does: the security
/// schemes (a bearer key, the session cookie), each operation's
/// `x-access` (the [`Access`] it is registered with) and security, and the
/// `401`/`403`/`415` answers of [`enforce`].
pub struct AccessDocs;

impl utoipa::Modify for AccessDocs {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::response::ResponseBuilder;
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, SecurityRequirement};

        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key from `talentmap keys create`: `tm_<id>_<secret>`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The session cookie `POST /api/session` sets",
            ))),
        );
        let table = super::routes();
        let error = || {
            ContentBuilder::new()
                .schema(Some(RefOr::<utoipa::openapi::schema::Schema>::Ref(Ref::from_schema_name("ErrorBody"))))
        };
        for (path, item) in api.paths.paths.iter_mut() {
            let ops = [("GET", item.get.as_mut()), ("POST", item.post.as_mut()), ("DELETE", item.delete.as_mut())];
            for (method, op) in ops {
                let Some(op) = op else { continue };
                let Some(access) = route_access(&table, method, path) else { continue };
                let mut ext = op.extensions.take().unwrap_or_default();
                ext.merge(
                    utoipa::openapi::extensions::ExtensionsBuilder::new()
                        .add("x-access", serde_json::json!(access))
                        .build(),
                );
                op.extensions = Some(ext);
                if !matches!(access, Access::Open | Access::Public) {
                    op.security = Some(vec![
                        SecurityRequirement::new("bearer", Vec::<String>::new()),
                        SecurityRequirement::new("session", Vec::<String>::new()),
                    ]);
                }
                for (status, description) in refusals(access, method) {
                    let code = status.as_u16().to_string();
                    op.responses.responses.entry(code).or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description(description)
                                .content("application/json", error().build())
                                .build(),
                        )
                    });
                }
            }
        }
    }
}

/// The access of the route that answers documented `path` (a route pattern
/// whose `{…}` segments match anything, the documented one possibly ending
/// in `.mvt` or `.json`); the most specific route wins, as in the router.
fn route_access(table: &super::RouteTable, method: &str, path: &str) -> Option<Access> {
    let doc: Vec<&str> = path.split('/').collect();
    table
        .list()
        .iter()
        .filter(|(m, route)| {
            let parts: Vec<&str> = route.split('/').collect();
            *m == method
                && parts.len() == doc.len()
                && parts
                    .iter()
                    .zip(&doc)
                    .all(|(r, d)| r.starts_with('{') || r == d || d.strip_suffix(".mvt") == Some(r))
        })
        .max_by_key(|(_, route)| route.split('/').filter(|s| !s.starts_with('{')).count())
        .and_then(|(m, route)| table.access(m, route))
}

/// How talent-derived numbers leave the server for `principal` on a route
/// about `areas` (district or park ids; empty for the city, a grid or a
/// tile): exact for an admin, and for an analyst when every area is in the
/// jurisdiction; otherwise perturbed under threshold `k`
/// (`analytics::privacy`, `docs/privacy.md`). Exact reads are audited with
/// [`audit_exact`].
pub fn disclosure_for(principal: &Principal, k: u32, areas: &[&str]) -> crate::analytics::privacy::Disclosure {
    use crate::analytics::privacy::Disclosure;
    let exact = match principal.role {
        Role::Admin => true,
        Role::Analyst => !areas.is_empty() && areas.iter().all(|a| principal.covers_region(a)),
        Role::Public | Role::Recruiter | Role::Feeder => false,
    };
    if exact { Disclosure::Exact } else { Disclosure::Protected { k } }
}

/// Records an exact-count read (`disclosure` exact) in the audit log; does
/// nothing for perturbed answers. A failure to write the entry fails the
/// request.
pub async fn audit_exact(
    caller: &Caller,
    disclosure: crate::analytics::privacy::Disclosure,
    action: &str,
    params: serde_json::Value,
) -> Result<(), ApiError> {
    if !disclosure.is_exact() {
        return Ok(());
    }
    audit(caller, action, params, serde_json::json!({"exact_counts": true})).await
}
