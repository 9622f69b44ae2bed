//! The limits that keep the server answering under load and abuse, as axum
//! middleware over [`AppState`]. Each refuses early and cheaply, in the
//! API's error shape, with `Retry-After` where waiting helps:
//!
//! | limit | answer | setting |
//! |---|---|---|
//! | path + query length | 414 `uri_too_long` | `max_uri_bytes` |
//! | per-client rate (token bucket) | 429 `rate_limited` + `Retry-After` | `rate_limit_per_sec`, `rate_limit_burst` |
//! | requests in flight (load shedding) | 503 `overloaded` + `Retry-After` | `max_in_flight` |
//! | time budget per request | 503 `timeout` + `Retry-After` | `request_timeout` |
//! | body size (tower-http, see [`super::router`]) | 413 `payload_too_large` | `max_body_bytes` |
//! | one moves batch written at a time (10 s wait) | 503 `overloaded` + `Retry-After` | fixed |
//!
//! `/health` is exempt from the rate limit, load shedding and the time
//! budget, so a probe tells "alive but busy" from "down". The moves feed
//! (`POST /api/moves`) is exempt from the time budget: cancelling it after
//! its transaction started would answer 503 for a batch that is then
//! stored (the feed is idempotent by move id, but the client would not know);
//! its size is bounded by the body limit and the batch limit instead.
//!
//! Rate limits are counted per [`ClientKey`]: the signed-in principal the
//! authentication layer (`api::access`) put in the request's extensions,
//! which gets [`SIGNED_IN_RATE_FACTOR`] times the rate and burst, else the
//! peer's IP address from `ConnectInfo<SocketAddr>`. A request with neither
//! (an in-process call, as in tests driving `router(state).oneshot(…)`) is
//! not rate limited.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use moka::sync::Cache;
use serde_json::json;
use tokio::sync::Semaphore;

use super::{AppState, Settings};
use crate::auth::{Principal, Role};

/// Most clients whose rate buckets are remembered at once; an idle bucket
/// is dropped once it would have refilled anyway.
const MAX_CLIENTS: u64 = 100_000;

/// How many times the public rate and burst a signed-in principal (any role
/// but public) gets.
pub const SIGNED_IN_RATE_FACTOR: f64 = 5.0;

/// Who a request is counted against.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// A signed-in principal, by its label (`key:ID`, `user:NAME`).
    Principal(String),
    Addr(IpAddr),
}

/// The key a request is rate limited by, or `None` for an in-process call.
pub fn client_key(req: &Request) -> Option<ClientKey> {
    if let Some(p) = req.extensions().get::<Principal>()
        && p.role != Role::Public
    {
        return Some(ClientKey::Principal(p.label()));
    }
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| ClientKey::Addr(addr.ip()))
}

/// Longest wait of a moves batch for the one writer slot.
const MOVES_WRITER_WAIT: Duration = Duration::from_secs(10);

/// Shared state of the limits: the in-flight permits, the moves writer slot
/// and the rate buckets.
pub struct Limits {
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
    moves_writer: Arc<Semaphore>,
    buckets: Option<Cache<ClientKey, Arc<Mutex<Bucket>>>>,
    rate: f64,
    burst: f64,
}

impl Limits {
    pub fn new(settings: &Settings) -> Limits {
        let rate = f64::from(settings.rate_limit_per_sec);
        let burst = f64::from(settings.rate_limit_burst.max(1));
        let buckets = (settings.rate_limit_per_sec > 0).then(|| {
            // After burst / rate seconds idle a bucket is full again, the
            // same as a new one.
            let refill = Duration::from_secs_f64(burst / rate) + Duration::from_secs(1);
            Cache::builder().name("rate-buckets").max_capacity(MAX_CLIENTS).time_to_idle(refill).build()
        });
        Limits {
            in_flight: Arc::new(Semaphore::new(settings.max_in_flight.max(1))),
            max_in_flight: settings.max_in_flight.max(1),
            moves_writer: Arc::new(Semaphore::new(1)),
            buckets,
            rate,
            burst,
        }
    }

    /// Takes one token of `key`'s bucket; `Err(seconds)` to wait when empty.
    fn take(&self, key: ClientKey) -> Result<(), u64> {
        let Some(buckets) = &self.buckets else { return Ok(()) };
        let factor = if matches!(key, ClientKey::Principal(_)) { SIGNED_IN_RATE_FACTOR } else { 1.0 };
        let (rate, burst) = (self.rate * factor, self.burst * factor);
        let bucket = buckets.get_with(key, || Arc::new(Mutex::new(Bucket { tokens: burst, at: Instant::now() })));
        let mut b = bucket.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate).ceil().max(1.0) as u64)
        }
    }

    /// Takes one token of `key`'s bucket when it has one.
    pub(super) fn try_take(&self, key: ClientKey) -> bool {
        self.take(key).is_ok()
    }

    /// An in-flight permit, when one is free (see [`shed_load`]).
    pub(super) fn try_enter(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.in_flight.clone().try_acquire_owned().ok()
    }

    /// Requests being handled now (those counted by the in-flight limit).
    pub fn in_flight(&self) -> usize {
        self.max_in_flight.saturating_sub(self.in_flight.available_permits())
    }
}

/// A token bucket: `tokens` left at instant `at`.
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// An error answer in the API's shape, with `Retry-After` when given.
pub fn error_response(status: StatusCode, code: &str, message: String, retry_after: Option<u64>) -> Response {
    let mut resp = (status, Json(json!({"error": {"code": code, "message": message}}))).into_response();
    if let Some(secs) = retry_after {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

fn is_health(req: &Request) -> bool {
    req.uri().path() == "/health"
}

/// 414 when the path and query are longer than `max_uri_bytes`.
pub async fn uri_length(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match uri_too_long(&state, &req) {
        Some(refusal) => refusal,
        None => next.run(req).await,
    }
}

/// 429 when the client's token bucket is empty.
pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match rate_limited(&state, &req) {
        Some(refusal) => refusal,
        None => next.run(req).await,
    }
}

/// 503 instead of queueing when `max_in_flight` requests are being handled.
pub async fn shed_load(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match enter(&state, &req) {
        Ok(_permit) => next.run(req).await,
        Err(refusal) => *refusal,
    }
}

/// The URI length limit, authentication (`api::access::authenticate`), the
/// rate limit, load shedding and the time budget, in that order, as one
/// middleware: what [`uri_length`], `authenticate`, [`rate_limit`],
/// [`shed_load`] and [`time_budget`] do one inside the other, without a
/// layer, a boxed service and a boxed future each on every request.
pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if let Some(refusal) = uri_too_long(&state, &req) {
        return refusal;
    }
    super::access::identify(&state, &mut req).await;
    if let Some(refusal) = rate_limited(&state, &req) {
        return refusal;
    }
    match enter(&state, &req) {
        Ok(_permit) => within_budget(&state, req, next).await,
        Err(refusal) => *refusal,
    }
}

/// [`uri_length`]'s refusal, if any.
fn uri_too_long(state: &AppState, req: &Request) -> Option<Response> {
    let max = state.settings.max_uri_bytes;
    let len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    (len > max).then(|| {
        error_response(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the path and query are {len} bytes; at most {max} are accepted"),
            None,
        )
    })
}

/// [`rate_limit`]'s refusal, if any (a token is taken otherwise).
fn rate_limited(state: &AppState, req: &Request) -> Option<Response> {
    if !is_health(req)
        && let Some(key) = client_key(req)
        && let Err(wait) = state.limits.take(key)
    {
        let s = &state.settings;
        return Some(error_response(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "too many requests from this client: at most {} per second on average, {} at once; retry in {wait} s",
                s.rate_limit_per_sec, s.rate_limit_burst
            ),
            Some(wait),
        ));
    }
    None
}

/// [`shed_load`]'s in-flight permit (none for `/health`, which is exempt)
/// or its refusal.
fn enter(state: &AppState, req: &Request) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, Box<Response>> {
    if is_health(req) {
        return Ok(None);
    }
    state.limits.try_enter().map(Some).ok_or_else(|| {
        Box::new(error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            format!("the server is handling {} requests, its limit; retry shortly", state.settings.max_in_flight),
            Some(1),
        ))
    })
}

/// One `POST /api/moves` at a time. Concurrent batches would otherwise
/// contend for SQLite's write lock, each polling for up to the store's busy
/// timeout (30 s) and then failing with 500 ("database is locked"); in
/// process they queue fairly instead, and one that waited
/// [`MOVES_WRITER_WAIT`] gets 503 with `Retry-After` (nothing was stored).
///
/// The slot holder's body is read here, within the time budget (408 when
/// it does not arrive in time, so a slow upload cannot hold the slot), and
/// at most one batch body is buffered at a time.
pub async fn one_moves_writer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !(req.method() == Method::POST && req.uri().path() == "/api/moves") {
        return next.run(req).await;
    }
    let slot = tokio::time::timeout(MOVES_WRITER_WAIT, state.limits.moves_writer.clone().acquire_owned()).await;
    let Ok(Ok(_slot)) = slot else {
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            format!(
                "another moves batch is being written and this one waited {} s; nothing was stored, retry shortly",
                MOVES_WRITER_WAIT.as_secs()
            ),
            Some(1),
        );
    };
    let (parts, body) = req.into_parts();
    let (max, budget) = (state.settings.max_body_bytes, state.settings.request_timeout);
    let bytes = match tokio::time::timeout(budget, axum::body::to_bytes(body, max)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            return if over_length_limit(&e) {
                error_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the body is larger than {max} bytes; split the batch"),
                    None,
                )
            } else {
                error_response(StatusCode::BAD_REQUEST, "bad_body", format!("cannot read the body: {e}"), None)
            };
        }
        Err(_) => {
            return error_response(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                format!("the body did not arrive within {} s", budget.as_secs_f64()),
                None,
            );
        }
    };
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

/// Whether a body error is a length limit (tower-http's and axum's both
/// say "length limit exceeded", somewhere in the error's chain).
fn over_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.to_string().contains("length limit exceeded") {
            return true;
        }
        cause = c.source();
    }
    false
}

/// 503 when a request takes longer than `request_timeout`. Work already
/// handed to the compute pool finishes in the background (it cannot be
/// interrupted) and still holds its permit, so the pool stays bounded.
pub async fn time_budget(State(state): State<AppState>, req: Request, next: Next) -> Response {
    within_budget(&state, req, next).await
}

/// The rest of the stack under [`time_budget`]'s rule.
async fn within_budget(state: &AppState, req: Request, next: Next) -> Response {
    let exempt = is_health(&req) || (req.method() == Method::POST && req.uri().path() == "/api/moves");
    if exempt {
        return next.run(req).await;
    }
    let budget = state.settings.request_timeout;
    match tokio::time::timeout(budget, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the request took longer than its time budget of {} s; retry later", budget.as_secs_f64()),
            Some(budget.as_secs().clamp(1, 60)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_with_a_wait() {
        let settings = Settings { rate_limit_per_sec: 1, rate_limit_burst: 3, ..Settings::default() };
        let limits = Limits::new(&settings);
        let me = ClientKey::Addr(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..3 {
            assert!(limits.take(me.clone()).is_ok());
        }
        // At one token per second, ten more calls cannot all pass.
        let refused: Vec<u64> = (0..10).filter_map(|_| limits.take(me.clone()).err()).collect();
        assert!(!refused.is_empty());
        assert!(refused.iter().all(|&wait| wait >= 1));
        assert!(limits.take(ClientKey::Addr(IpAddr::from([10, 0, 0, 2]))).is_ok(), "another client has its own bucket");
        assert!(limits.take(ClientKey::Principal("key-1".into())).is_ok());
    }

    #[test]
    fn a_rate_of_zero_turns_the_limit_off() {
        let limits = Limits::new(&Settings { rate_limit_per_sec: 0, ..Settings::default() });
        let me = ClientKey::Addr(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..10_000 {
            assert!(limits.take(me.clone()).is_ok());
        }
    }
}
