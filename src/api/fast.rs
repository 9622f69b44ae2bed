//! The warm tile path: a tile URL answered before, asked again by a caller
//! without credentials, is answered in front of the middleware stack.
//!
//! A warm tile request is almost all framework work: the middleware
//! layers, routing, extractors, parsing and canonicalising the query,
//! building the cache key and ETag, two cache lookups. The tile route
//! remembers, per request URI asked a second time ([`WarmTiles`]), what it
//! answered ([`Remembered`]: the tile,
//! its gzip form once made, both ETags and the layer version they hold
//! for), and this layer answers a request whose URI it remembers with
//! exactly the bytes and headers the route would send, after the same
//! checks the stack makes for such a caller:
//!
//! - only `GET`, only callers with no `Authorization` header and no session
//!   cookie (the public role), only while public access is on, only without
//!   `Origin` (CORS answers stay with the CORS layer) and with an
//!   `Accept-Encoding` that names gzip or is absent (any other encoding is the
//!   compression layer's);
//! - the URI length limit, the in-flight limit and the caller's rate limit
//!   bucket (a token is taken here exactly as the stack would take it);
//! - the remembered layer version equals the served snapshot's (a publish
//!   that changes the layer makes every remembered URI of it go down the
//!   stack once, which remembers the new tile); `If-None-Match` gets `304`
//!   as on the route.
//!
//! Anything else (including every refusal: the stack then gives the same
//! answer it always gives, with its error shape) goes down the whole stack,
//! as does everything while request lines are logged. Counters (`tiles
//! served`, cache hits) move as on the route. `tests/tiles.rs` checks that
//! both paths answer byte for byte and header for header alike.

use std::convert::Infallible;
use std::future::Future;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use moka::policy::EvictionPolicy;
use moka::sync::Cache;

use super::AppState;
use super::limits::ClientKey;
use super::sources::Source;

/// What the tile route answered for one request URI.
pub(super) struct Remembered {
    source: &'static dyn Source,
    /// The layer version the tile and its ETags hold for.
    version: u64,
    etag: HeaderValue,
    gz_etag: HeaderValue,
    /// The tile (empty: `204`).
    tile: Bytes,
    /// Its gzip form, once a request asked for it.
    gz: Option<Bytes>,
}

impl Remembered {
    pub(super) fn new(
        source: &'static dyn Source,
        version: u64,
        etags: (&str, &str),
        tile: Bytes,
        gz: Option<Bytes>,
    ) -> Option<Remembered> {
        Some(Remembered {
            source,
            version,
            etag: HeaderValue::from_str(etags.0).ok()?,
            gz_etag: HeaderValue::from_str(etags.1).ok()?,
            tile,
            gz,
        })
    }

    /// Whether this answers a request for the gzip form (`gzip`) or the
    /// tile itself at layer version `version`.
    fn answers(&self, version: u64, gzip: bool) -> bool {
        self.version == version && (!gzip || self.gz.is_some() || self.tile.is_empty())
    }
}

/// Request URIs the tile route answered, with their tiles; bounded by
/// bytes (URI and tiles: the tiles are shared with the tile cache, whose
/// budget gives this its part, [`WarmTiles::new`]).
///
/// A URI is remembered on its second request, not its first: a view the
/// map asks for once (a filter being dragged, a crawl over every tile) would
/// otherwise cost an entry made, weighed and evicted for each URL, and push
/// out the URIs callers do ask again. The first request leaves a hash of the
/// URI in a fixed table ([`WarmTiles::asked_before`]); a later request that
/// finds it there is remembered.
pub struct WarmTiles {
    uris: Cache<String, Arc<Remembered>>,
    asked: Box<[AtomicU64]>,
    hasher: foldhash::fast::RandomState,
}

/// Slots of the table of URIs asked once (8 bytes each: 256 KiB). A URI
/// whose slot another URI took since must be asked twice again; with every
/// request a new URI, a slot lasts about this many requests.
const ASKED_SLOTS: usize = 1 << 15;

impl WarmTiles {
    /// At most `budget` bytes of URIs and tiles, least recently used first out.
    pub(super) fn new(budget: u64) -> WarmTiles {
        let uris = Cache::builder()
            .name("warm-tiles")
            .max_capacity(budget)
            .weigher(|uri: &String, r: &Arc<Remembered>| {
                let bytes = uri.len() + r.tile.len() + r.gz.as_ref().map_or(0, Bytes::len) + 160;
                u32::try_from(bytes).unwrap_or(u32::MAX)
            })
            .eviction_policy(EvictionPolicy::lru())
            .build();
        let asked = (0..ASKED_SLOTS).map(|_| AtomicU64::new(0)).collect();
        WarmTiles { uris, asked, hasher: foldhash::fast::RandomState::default() }
    }

    /// Whether `uri` was asked before (recently enough that its slot still
    /// holds it); records that it has been asked now.
    pub(super) fn asked_before(&self, uri: &str) -> bool {
        // Never 0, the empty slot's value.
        let hash = self.hasher.hash_one(uri) | 1;
        let slot = (hash >> 32) as usize % ASKED_SLOTS;
        self.asked[slot].swap(hash, Ordering::Relaxed) == hash
    }

    /// Remembers what the route answered for `uri`.
    pub(super) fn remember(&self, uri: &str, r: Remembered) {
        self.uris.insert(uri.to_string(), Arc::new(r));
    }

    /// Whether `uri` is remembered at layer version `version`, with the
    /// gzip form when `gzip`.
    pub(super) fn knows(&self, uri: &str, version: u64, gzip: bool) -> bool {
        self.uris.get(uri).is_some_and(|r| r.answers(version, gzip))
    }

    /// Forgets every URI (every layer changed).
    pub(super) fn clear(&self) {
        self.uris.invalidate_all();
    }
}

/// The layer in front of the middleware stack ([`super::router`]).
#[derive(Clone)]
pub struct WarmTileLayer {
    state: AppState,
}

impl WarmTileLayer {
    pub fn new(state: AppState) -> WarmTileLayer {
        WarmTileLayer { state }
    }
}

impl<S> tower_layer::Layer<S> for WarmTileLayer {
    type Service = WarmTileService<S>;
    fn layer(&self, inner: S) -> WarmTileService<S> {
        WarmTileService { state: self.state.clone(), inner }
    }
}

/// See the module doc.
#[derive(Clone)]
pub struct WarmTileService<S> {
    state: AppState,
    inner: S,
}

impl<S> tower_service::Service<Request> for WarmTileService<S>
where
    S: tower_service::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = WarmFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> WarmFuture {
        if let Some(resp) = answer(&self.state, &req) {
            return Box::pin(std::future::ready(Ok(resp)));
        }
        Box::pin(self.inner.call(req))
    }
}

/// The answer of [`WarmTileService`]: ready at once on the warm path.
pub type WarmFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// How a warm request takes its tile.
#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Gzip,
    Identity,
}

/// The answer to `req` from the cache, or `None` to send it down the stack.
fn answer(state: &AppState, req: &Request) -> Option<Response> {
    if req.method() != Method::GET || !req.uri().path().starts_with("/tiles/") {
        return None;
    }
    let settings = &state.settings;
    let headers = req.headers();
    if !settings.access.public_access
        || headers.contains_key(header::AUTHORIZATION)
        || headers.contains_key(header::ORIGIN)
        || super::access::cookie(headers, crate::auth::SESSION_COOKIE).is_some()
        || tracing::enabled!(target: "tower_http::trace::on_response", tracing::Level::INFO)
    {
        return None;
    }
    let encoding = if super::compress::accepts_gzip(headers) {
        Encoding::Gzip
    } else if headers.contains_key(header::ACCEPT_ENCODING) {
        return None;
    } else {
        Encoding::Identity
    };
    let uri = req.uri().path_and_query()?.as_str();
    if uri.len() > settings.max_uri_bytes {
        return None;
    }
    let remembered = state.warm.uris.get(uri)?;
    let gzip = encoding == Encoding::Gzip;
    if !remembered.answers(remembered.source.version(&state.snapshot_guard()), gzip) {
        return None;
    }
    let etag = if gzip { &remembered.gz_etag } else { &remembered.etag };
    let body = if super::tiles::not_modified(headers, etag.to_str().ok()?) {
        None
    } else if gzip && !remembered.tile.is_empty() {
        Some(remembered.gz.clone()?)
    } else {
        Some(remembered.tile.clone())
    };
    let mut resp = match &body {
        None => Response::builder().status(StatusCode::NOT_MODIFIED).body(Body::empty()).ok()?,
        Some(bytes) if bytes.is_empty() => {
            Response::builder().status(StatusCode::NO_CONTENT).body(Body::empty()).ok()?
        }
        Some(bytes) => {
            let mut r = Response::new(Body::from(bytes.clone()));
            let h = r.headers_mut();
            if gzip {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(super::tiles::MVT_CONTENT_TYPE));
            h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            r
        }
    };
    let h = resp.headers_mut();
    h.insert(header::ETAG, etag.clone());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(super::tiles::CACHE_CONTROL));
    // The CORS layer's answer to a request without `Origin`.
    h.append(header::VARY, HeaderValue::from_static("origin"));
    // The limits, in the stack's order for a caller without credentials: a
    // refusal goes down the stack, which refuses it again with its own
    // answer (a refused token is not charged; the in-flight permit is
    // taken first so an overloaded server charges one token, as the stack
    // does).
    let _permit = state.limits.try_enter()?;
    let client = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| ClientKey::Addr(a.ip()));
    if let Some(client) = client
        && !state.limits.try_take(client)
    {
        return None;
    }
    if body.is_some() {
        state.tile_cache.hits.fetch_add(1, Ordering::Relaxed);
        state.metrics.tiles_served.fetch_add(1, Ordering::Relaxed);
    }
    state.metrics.warm_tiles.fetch_add(1, Ordering::Relaxed);
    Some(resp)
}
