//! Limits and the one error shape, driven through `router(state).oneshot`:
//! every non-2xx answer is `{"error": {"code", "message", …}}` as JSON,
//! whoever made it (a handler, axum, a limit layer).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Query};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use serde_json::Value;
use talentmap::api::{AppState, Settings, json_errors, limits, router};
use talentmap::model::Taxonomy;
use talentmap::snapshot;
use tower::ServiceExt;

fn state(dir: &std::path::Path, settings: Settings) -> AppState {
    let mut store = common::tiny_city(dir, 20);
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    AppState::new(snap, Some(dir.join("data")), settings)
}

/// The `Authorization` value of a new feeder key in the state's store.
fn feeder(state: &AppState) -> String {
    let store = state.store.as_ref().expect("a store").location().open().unwrap();
    common::bearer(&store, talentmap::auth::Role::Feeder, &[])
}

async fn send(app: Router, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let resp = app.oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Asserts the one error shape and returns the error object.
fn error_of(status: StatusCode, headers: &HeaderMap, body: &Value, code: &str) -> Value {
    assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{status} {body}");
    assert_eq!(body["error"]["code"], code, "{status} {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    body["error"].clone()
}

fn from(addr: &str, uri: &str) -> Request<Body> {
    let mut req = Request::get(uri).body(Body::empty()).unwrap();
    req.extensions_mut().insert(ConnectInfo(addr.parse::<SocketAddr>().unwrap()));
    req
}

#[tokio::test]
async fn not_found_and_method_not_allowed_are_json() {
    let d = tempfile::tempdir().unwrap();
    let s = state(d.path(), Settings::default());
    let (status, h, body) = send(router(s.clone()), Request::get("/nope").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    error_of(status, &h, &body, "not_found");
    let (status, h, body) = send(router(s), Request::delete("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let e = error_of(status, &h, &body, "method_not_allowed");
    assert!(h[header::ALLOW].to_str().unwrap().contains("GET"), "405 keeps Allow");
    assert!(e["message"].as_str().unwrap().contains("DELETE"), "{e}");
}

#[tokio::test]
async fn invalid_utf8_in_a_path_segment_is_a_json_400() {
    let d = tempfile::tempdir().unwrap();
    let s = state(d.path(), Settings::default());
    let (status, h, body) = send(router(s), Request::get("/api/regions/%FF%FE").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    error_of(status, &h, &body, "bad_request");
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_by_its_length_before_it_is_read() {
    let d = tempfile::tempdir().unwrap();
    let s = state(d.path(), Settings { max_body_bytes: 4096, ..Settings::default() });
    let polled = Arc::new(AtomicBool::new(false));
    let p = polled.clone();
    let chunks = futures_stream(move || {
        p.store(true, Ordering::SeqCst);
        Bytes::from(vec![b' '; 8192])
    });
    let req = Request::post("/api/moves")
        .header(header::AUTHORIZATION, feeder(&s))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, "8192")
        .body(Body::from_stream(chunks))
        .unwrap();
    let (status, h, body) = send(router(s), req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    error_of(status, &h, &body, "payload_too_large");
    assert!(!polled.load(Ordering::SeqCst), "the body was never read");
}

#[tokio::test]
async fn a_chunked_body_is_cut_off_at_the_limit() {
    let d = tempfile::tempdir().unwrap();
    let s = state(d.path(), Settings { max_body_bytes: 4096, ..Settings::default() });
    let chunks = futures_stream(|| Bytes::from(vec![b' '; 1024]));
    let req = Request::post("/api/moves")
        .header(header::AUTHORIZATION, feeder(&s))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(chunks))
        .unwrap();
    let (status, h, body) = send(router(s), req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    error_of(status, &h, &body, "payload_too_large");
}

#[tokio::test]
async fn a_moves_body_that_does_not_arrive_in_time_is_408() {
    let d = tempfile::tempdir().unwrap();
    let s = state(d.path(), Settings { request_timeout: Duration::from_millis(20), ..Settings::default() });
    // A body that never sends a byte: only the time budget can end it.
    let never = futures_util::stream::pending::<Result<Bytes, std::io::Error>>();
    let req = Request::post("/api/moves")
        .header(header::AUTHORIZATION, feeder(&s))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(never))
        .unwrap();
    let (status, h, body) = send(router(s.clone()), req).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    error_of(status, &h, &body, "request_timeout");
    // The writer slot was released: a real batch is answered.
    let req = Request::post("/api/moves")
        .header(header::AUTHORIZATION, feeder(&s))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"moves": []}"#))
        .unwrap();
    let (status, _, body) = send(router(s), req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_long_uri_is_414() {
    let d = tempfile::tempdir().unwrap();
    let s = state(d.path(), Settings { max_uri_bytes: 1024, ..Settings::default() });
    let uri = format!("/api/stats?x={}", "a".repeat(2000));
    let (status, h, body) = send(router(s.clone()), Request::get(uri).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::URI_TOO_LONG);
    error_of(status, &h, &body, "uri_too_long");
    let (status, _, _) = send(router(s), Request::get("/api/stats").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after() {
    let d = tempfile::tempdir().unwrap();
    let s = state(d.path(), Settings { rate_limit_per_sec: 1, rate_limit_burst: 3, ..Settings::default() });
    let mut refused = None;
    for _ in 0..10 {
        let (status, h, body) = send(router(s.clone()), from("10.1.2.3:5000", "/api/stats")).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some((status, h, body));
            break;
        }
        assert_eq!(status, StatusCode::OK);
    }
    let (status, h, body) = refused.expect("ten requests at once exceed a burst of three");
    error_of(status, &h, &body, "rate_limited");
    assert!(h[header::RETRY_AFTER].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    // Another address has its own bucket; /health is never limited; an
    // in-process request (no peer address) is not rate limited.
    let (status, _, _) = send(router(s.clone()), from("10.9.9.9:5000", "/api/stats")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(router(s.clone()), from("10.1.2.3:5001", "/health")).await;
    assert_eq!(status, StatusCode::OK);
    for _ in 0..10 {
        let (status, _, _) = send(router(s.clone()), Request::get("/api/stats").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
    }
}

/// A router with a request that waits until `release` is notified, behind
/// the load-shedding and time-budget layers of `state`.
fn slow_app(state: &AppState, release: Arc<tokio::sync::Notify>) -> Router {
    Router::new()
        .route(
            "/slow",
            get(move || {
                let release = release.clone();
                async move {
                    release.notified().await;
                    "done"
                }
            }),
        )
        .route("/health", get(|| async { "ok" }))
        .layer(from_fn_with_state(state.clone(), limits::time_budget))
        .layer(from_fn_with_state(state.clone(), limits::shed_load))
        .layer(from_fn(json_errors))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_in_flight_limit_requests_are_shed_with_503() {
    let d = tempfile::tempdir().unwrap();
    let s = state(d.path(), Settings { max_in_flight: 1, ..Settings::default() });
    let release = Arc::new(tokio::sync::Notify::new());
    let app = slow_app(&s, release.clone());
    let first = tokio::spawn(send(app.clone(), Request::get("/slow").body(Body::empty()).unwrap()));
    while s.limits.in_flight() == 0 {
        tokio::task::yield_now().await;
    }
    let (status, h, body) = send(app.clone(), Request::get("/slow").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    error_of(status, &h, &body, "overloaded");
    assert!(h.contains_key(header::RETRY_AFTER));
    let (status, _, _) = send(app.clone(), Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "/health is exempt");
    release.notify_one();
    assert_eq!(first.await.unwrap().0, StatusCode::OK);
}

#[tokio::test]
async fn a_request_over_its_time_budget_is_503_timeout() {
    let d = tempfile::tempdir().unwrap();
    let s = state(d.path(), Settings { request_timeout: Duration::from_millis(20), ..Settings::default() });
    // Never released: only the time budget can end it.
    let app = slow_app(&s, Arc::new(tokio::sync::Notify::new()));
    let (status, h, body) = send(app, Request::get("/slow").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    error_of(status, &h, &body, "timeout");
    assert!(h.contains_key(header::RETRY_AFTER));
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Zoom {
    zoom: u8,
}

#[tokio::test]
async fn axum_rejections_and_plain_errors_get_the_shape() {
    let app = Router::new()
        .route("/json", post(|axum::Json(v): axum::Json<Value>| async move { v.to_string() }))
        .route("/query", get(|Query(z): Query<Zoom>| async move { z.zoom.to_string() }))
        .route("/408", get(|| async { (StatusCode::REQUEST_TIMEOUT, "the client was too slow") }))
        .route("/500", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "secret cause") }))
        .route("/429", get(|| async { (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "3")], "slow down") }))
        .layer(from_fn(json_errors));
    // 415: JSON body without a JSON content type.
    let (status, h, body) = send(app.clone(), Request::post("/json").body(Body::from("{}")).unwrap()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    error_of(status, &h, &body, "unsupported_media_type");
    // 400: malformed JSON; 422: JSON of the wrong shape is handled by serde_json::Value, so
    // malformed is enough here.
    let req = Request::post("/json").header(header::CONTENT_TYPE, "application/json").body(Body::from("{")).unwrap();
    let (status, h, body) = send(app.clone(), req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    error_of(status, &h, &body, "bad_request");
    // A query rejection names the parameter.
    let (status, h, body) = send(app.clone(), Request::get("/query").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let e = error_of(status, &h, &body, "bad_request");
    assert_eq!(e["parameter"], "zoom", "{e}");
    let (status, h, body) = send(app.clone(), Request::get("/408").body(Body::empty()).unwrap()).await;
    let e = error_of(status, &h, &body, "request_timeout");
    assert_eq!(e["message"], "the client was too slow");
    let (status, h, body) = send(app.clone(), Request::get("/500").body(Body::empty()).unwrap()).await;
    let e = error_of(status, &h, &body, "internal");
    assert!(!e["message"].as_str().unwrap().contains("secret"), "a 500's cause is not shown");
    let (status, h, body) = send(app, Request::get("/429").body(Body::empty()).unwrap()).await;
    error_of(status, &h, &body, "rate_limited");
    assert_eq!(h[header::RETRY_AFTER], "3");
}

/// An endless body stream whose chunks come from `next`.
fn futures_stream(
    next: impl Fn() -> Bytes + Send + Sync + 'static,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    futures_util::stream::repeat_with(move || Ok(next()))
}

#[test]
fn the_commute_index_is_built_once_per_snapshot() {
    let d = tempfile::tempdir().unwrap();
    let s = state(d.path(), Settings::default());
    let snap = s.snapshot();
    let indexes: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8).map(|_| scope.spawn(|| s.commute.get(&snap))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(indexes.iter().all(|i| Arc::ptr_eq(i, &indexes[0])), "eight concurrent calls share one build");
    // A new snapshot gets its own index.
    let mut store = talentmap::store::Store::open(&d.path().join("data")).unwrap();
    s.publish(snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap());
    let next = s.snapshot();
    assert!(!Arc::ptr_eq(&s.commute.get(&next), &indexes[0]));
    assert!(Arc::ptr_eq(&s.commute.get(&next), &s.commute.get(&next)));
}

/// One request on a connection of its own, over a real socket: the answer
/// as it came (status line, headers and body).
async fn over_tcp(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    answer
}

/// The accept loops over real sockets: each loop's socket on the one port
/// answers, a second server is refused the port whether it would share it
/// or not, and the loops stop when told, after which the port is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_loops_share_one_port_and_refuse_a_second_server() {
    use talentmap::api::accept::Listeners;
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path(), Settings::default());
    let listeners = Listeners::bind("127.0.0.1:0".parse().unwrap(), 3).unwrap();
    let addr = listeners.local_addr();
    assert_eq!((listeners.loops(), addr.ip().to_string().as_str()), (3, "127.0.0.1"));
    assert_ne!(addr.port(), 0, "port 0 is a free port picked once for every loop");
    for loops in [1, 3] {
        let refused = Listeners::bind(addr, loops).err().expect("the port is taken");
        assert_eq!(refused.kind(), std::io::ErrorKind::AddrInUse, "{loops} loops: {refused}");
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(listeners.serve(state.clone(), async move {
        let _ = stopped.await;
    }));
    // Connections at once: the kernel spreads them over the loops'
    // sockets, and every one is answered.
    let mut asked = tokio::task::JoinSet::new();
    for _ in 0..24 {
        asked.spawn(over_tcp(addr, "/health"));
    }
    let answers = asked.join_all().await;
    let version = state.snapshot().version;
    for answer in &answers {
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with(&format!(r#"{{"status":"ok","version":{version}}}"#)), "{answer}");
    }
    let missing = over_tcp(addr, "/no-such-route").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), server).await.expect("the loops stop").unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "no loop listens after the stop");
    Listeners::bind(addr, 2).expect("the port is free again");
}

/// A body of `n` bytes of JSON-like text.
fn big_text(n: usize) -> String {
    let mut s = String::with_capacity(n + 32);
    let mut i = 0u64;
    while s.len() < n {
        s.push_str(&format!("{{\"area\":\"d{}\",\"n\":{}}},", i % 97, (i * 7919) % 1013));
        i += 1;
    }
    s
}

#[tokio::test]
async fn a_large_whole_answer_is_compressed_on_the_compute_pool_in_the_encoding_asked() {
    use std::io::Read;
    let d = tempfile::tempdir().unwrap();
    let s = state(d.path(), Settings::default());
    let (large, small) = (big_text(200_000), big_text(1_000));
    // The middleware alone, without the outer layer: any encoding seen here is its own.
    let app = |s: &AppState| {
        let (large, small) = (large.clone(), small.clone());
        Router::new()
            .route("/large", get(move || async move { ([(header::CONTENT_TYPE, "application/json")], large) }))
            .route("/small", get(move || async move { ([(header::CONTENT_TYPE, "application/json")], small) }))
            .route("/png", get(|| async { ([(header::CONTENT_TYPE, "image/png")], vec![0u8; 100_000]) }))
            .layer(from_fn_with_state(s.clone(), talentmap::api::compress::on_compute_pool))
    };
    let ask = |uri: &str, accept: Option<&str>| {
        let mut req = Request::get(uri);
        if let Some(a) = accept {
            req = req.header(header::ACCEPT_ENCODING, a);
        }
        req.body(Body::empty()).unwrap()
    };
    let fetch = |req: Request<Body>| {
        let app = app(&s);
        async move {
            let resp = app.oneshot(req).await.unwrap();
            let headers = resp.headers().clone();
            (headers, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
        }
    };
    // A browser's header: Brotli.
    let (h, body) = fetch(ask("/large", Some("gzip, deflate, br, zstd"))).await;
    assert_eq!(h[header::CONTENT_ENCODING], "br");
    assert_eq!(h[header::VARY], "accept-encoding");
    assert!(!h.contains_key(header::CONTENT_LENGTH) || h[header::CONTENT_LENGTH] == body.len().to_string().as_str());
    assert!(body.len() < large.len() / 5, "{} of {}", body.len(), large.len());
    let mut raw = Vec::new();
    brotli::Decompressor::new(&body[..], 4096).read_to_end(&mut raw).unwrap();
    assert_eq!(raw, large.as_bytes());
    // gzip preferred by its q-value.
    let (h, body) = fetch(ask("/large", Some("br;q=0.2, gzip"))).await;
    assert_eq!(h[header::CONTENT_ENCODING], "gzip");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut raw).unwrap();
    assert_eq!(raw, large.as_bytes());
    // Left to the outer layer: no encoding asked, a small answer, an image.
    for (uri, accept) in [("/large", None), ("/large", Some("identity")), ("/small", Some("br")), ("/png", Some("br"))]
    {
        let (h, body) = fetch(ask(uri, accept)).await;
        assert!(!h.contains_key(header::CONTENT_ENCODING), "{uri} {accept:?}");
        assert!(body.len() >= 1_000, "{uri} {accept:?}");
    }

    // Through the whole router: the OpenAPI document (over 32 KiB) arrives
    // in the encoding asked and decodes to the plain answer.
    let plain = {
        let resp = router(s.clone()).oneshot(from("127.0.0.1:9", "/openapi.json")).await.unwrap();
        assert!(!resp.headers().contains_key(header::CONTENT_ENCODING));
        resp.into_body().collect().await.unwrap().to_bytes().to_vec()
    };
    assert!(plain.len() as u64 >= talentmap::api::compress::POOLED_FROM, "{}", plain.len());
    let mut req = from("127.0.0.1:9", "/openapi.json");
    req.headers_mut().insert(header::ACCEPT_ENCODING, "gzip, br".parse().unwrap());
    let resp = router(s.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.headers()[header::CONTENT_ENCODING], "br");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let mut raw = Vec::new();
    brotli::Decompressor::new(&body[..], 4096).read_to_end(&mut raw).unwrap();
    assert_eq!(raw, plain);
}
