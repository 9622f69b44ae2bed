//! The HTTP API (axum). [`router`] builds the whole service over a state so
//! tests can drive it in memory with `oneshot`; [`serve`] binds it to a
//! socket with graceful shutdown.

pub mod accept;
pub mod access;
mod areas;
mod background;
mod basemap;
mod body;
mod briefing;
mod cache;
mod commute;
pub mod compress;
mod compute;
mod docs;
mod error;
mod error_shape;
pub mod export;
mod fast;
mod features;
mod flows;
mod fonts;
pub mod limits;
mod metrics;
mod od;
pub mod openapi;
mod params;
mod past;
mod people;
pub mod query;
mod session;
mod shortage;
mod sources;
mod state;
mod stats;
mod tiles;
pub mod types;
mod xlsx;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::handler::Handler;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::routing::{MethodRouter, delete, get, post};
use tower_http::LatencyUnit;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeader;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use access::{Access, AccessSettings};
pub use cache::TileCache;
pub use commute::CommuteCache;
pub use compute::Compute;
pub use error::ApiError;
pub use error_shape::{code_for, json_errors};
pub use limits::{ClientKey, client_key};
pub use state::{AppState, Settings, normalise_public_url};
pub use stats::stats_value as stats_handler;
pub use tiles::MVT_CONTENT_TYPE;

/// The names of the tile layers, as `/tiles/{layer}…` takes them.
pub fn tile_layers() -> Vec<&'static str> {
    sources::names().collect()
}

/// The routes of the service and, beside them, the list of what was
/// registered with its [`Access`], so tests can check every route against
/// `/openapi.json` and the access policy. Built without a state; [`router`]
/// adds state and layers. A route cannot be registered without an access
/// policy: [`access::enforce`] is layered onto each one here.
pub struct RouteTable {
    router: Router<AppState>,
    routes: Vec<(&'static str, &'static str)>,
    access: Vec<Access>,
}

impl RouteTable {
    fn new() -> RouteTable {
        RouteTable { router: Router::new(), routes: Vec::new(), access: Vec::new() }
    }

    /// `GET` (and `HEAD`) on `path`.
    fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, access: Access, handler: H) -> RouteTable {
        self.add("GET", path, access, get(handler))
    }

    /// `POST` on `path`.
    fn post<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, access: Access, handler: H) -> RouteTable {
        self.add("POST", path, access, post(handler))
    }

    /// `DELETE` on `path`.
    fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, access: Access, handler: H) -> RouteTable {
        self.add("DELETE", path, access, delete(handler))
    }

    /// `method` on `path` with a method router that carries its own layers.
    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        access: Access,
        route: MethodRouter<AppState>,
    ) -> RouteTable {
        self.routes.push((method, path));
        self.access.push(access);
        let route = route.layer(middleware::from_fn_with_state(access, access::enforce));
        self.router = self.router.route(path, route);
        self
    }

    /// `(method, path)` of every registered route, in registration order.
    pub fn list(&self) -> &[(&'static str, &'static str)] {
        &self.routes
    }

    /// The access policy of `method` on `path`, if that route exists.
    pub fn access(&self, method: &str, path: &str) -> Option<Access> {
        self.routes.iter().position(|&(m, p)| m == method && p == path).map(|i| self.access[i])
    }
}

/// Every route of the service, each with its access policy
/// (`docs/access.md`).
pub fn routes() -> RouteTable {
    use Access::{Admin, Individuals, Member, Open, Public};
    let table = RouteTable::new()
        .get("/health", Open, stats::health)
        .get("/metrics", Admin, metrics::metrics)
        .get("/openapi.json", Public, openapi::openapi_json)
        .get("/api/docs", Public, docs::docs_page)
        // Map glyphs from local font files (api::fonts): not data, so open
        // like the sign-in, which the page shows before any map.
        .get("/fonts.json", Open, fonts::font_list)
        .get("/fonts/{fontstack}/{range}", Open, fonts::glyphs)
        // Sign-in sessions (api::session) and who am I.
        .get("/api/session", Open, session::current)
        .post("/api/session", Open, session::sign_in)
        .delete("/api/session", Open, session::sign_out)
        .get("/api/stats", Public, stats::stats)
        .get("/api/briefing", Public, briefing::briefing)
        // Study areas (api::areas): kept by their maker, read by link.
        .post("/api/areas", Member, areas::create)
        .get("/api/areas", Member, areas::list)
        .get("/api/areas/{id}", Public, areas::get_one)
        .delete("/api/areas/{id}", Member, areas::delete)
        .get("/api/areas/{id}/profile", Public, areas::profile)
        .get("/api/compare", Public, areas::compare)
        .get("/api/taxonomy", Public, features::taxonomy)
        .get("/api/enterprises", Public, features::enterprises)
        .get("/api/regions", Public, features::regions)
        .get("/api/regions/{id}", Public, features::region)
        .get("/api/aggregates", Public, features::aggregates)
        // Shortage index and mismatch (analytics::shortage); the CSV export
        // of the ranking checks `Access::Export` itself.
        .get("/api/shortage", Public, shortage::ranking)
        .get("/api/shortage/fields", Public, shortage::fields)
        .get("/api/shortage/hiring", Public, shortage::hiring)
        .get("/api/shortage/explain", Public, shortage::explain)
        .get("/api/mismatch", Public, shortage::mismatch)
        // Commute and job–housing.
        .get("/api/commute/summary", Public, commute::summary)
        .get("/api/commute/districts", Public, commute::districts)
        .get("/api/commute/flows", Public, commute::flows)
        .get("/api/commute/underserved", Public, commute::underserved)
        .post("/api/commute/scenario", Public, commute::scenario)
        // Individuals and the audit log (api::people).
        .get("/tiles/people/{z}/{x}/{y}", Individuals, people::people_tile)
        .get("/api/people/{pid}", Individuals, people::person)
        .get("/api/audit", Admin, people::audit_log)
        // The city basemap from a local file (api::basemap).
        .get("/basemap.json", Public, basemap::tilejson)
        .get("/basemap/{z}/{x}/{y}", Public, basemap::tile)
        // Every tile source (api::sources): `{file}` is `{layer}.json`, `{y}` is `{y}.mvt`.
        .get("/tiles/{file}", Public, tiles::tilejson)
        .get("/tiles/{layer}/{z}/{x}/{y}", Public, tiles::tile);
    // Talent flows: moves feed, series, flow map, alerts.
    flows::routes(table)
}

/// The Content-Security-Policy of the web page's files: scripts, workers,
/// requests, fonts and styles from the page's own origin only (no inline
/// script; inline style attributes, which MapLibre and the legends set, are
/// allowed); images also from `data:` and `blob:` URLs (map canvases and the
/// favicon). Markup that reaches the page anyway (a source's attribution is
/// HTML in MapLibre) can then run nothing and send nothing elsewhere.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; worker-src 'self' blob:; connect-src 'self'; \
     img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; font-src 'self' data:; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'self'; form-action 'self'";

/// The whole service.
pub fn router(state: AppState) -> Router {
    // Cross-origin reads only from the configured origins, without
    // credentials; nothing at all by default (same origin only). Writes are
    // never opened to other origins (see `access::enforce`).
    let origins: Vec<_> =
        state.settings.access.cors_origins.iter().filter_map(|o| axum::http::HeaderValue::from_str(o).ok()).collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([axum::http::Method::GET, axum::http::Method::HEAD]);
    let web = state.settings.web_dir.clone().filter(|d| d.join("index.html").exists());
    let routes = routes().router;
    let routes = match web {
        Some(dir) => {
            let files = ServeDir::new(dir).fallback(get(error::not_found).with_state(state.clone()));
            let files = SetResponseHeader::overriding(
                files,
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            routes.fallback_service(SetResponseHeader::overriding(
                files,
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_CSP),
            ))
        }
        None => routes.fallback(error::not_found),
    };
    // Outermost last. A request meets trace, CORS, compression (large
    // answers on the compute pool), the error shape, the URI length limit,
    // authentication, then the other limits from cheapest to costliest
    // (docs/limits.md), then the routes with their access policy
    // (api::access).
    let max_body = state.settings.max_body_bytes;
    let state_for_warm = state.clone();
    let state_for_compress = state.clone();
    routes
        .with_state(state.clone())
        .layer(middleware::from_fn_with_state(state.clone(), limits::one_moves_writer))
        .layer(RequestBodyLimitLayer::new(max_body))
        // The URI length limit, authentication, the rate limit, load
        // shedding and the time budget, in that order, in one layer.
        .layer(middleware::from_fn_with_state(state, limits::guard))
        // A panic in a handler becomes a 500 in the error shape, never a dropped connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(middleware::from_fn(error_shape::json_errors))
        // Large whole answers compressed on the compute pool, the rest by
        // the layer outside it on the connection's loop.
        .layer(middleware::from_fn_with_state(state_for_compress, compress::on_compute_pool))
        .layer(CompressionLayer::new())
        .layer(cors)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Micros)),
        )
        // Warm tiles for callers without credentials, in front of it all.
        .layer(fast::WarmTileLayer::new(state_for_warm))
}

/// Polls the store every `every` and swaps in a new snapshot when another
/// process (the CLI importer) changed the data.
pub fn spawn_reloader(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let s = state.clone();
            match tokio::task::spawn_blocking(move || s.refresh()).await {
                Ok(Ok(Some(version))) => tracing::info!(version, "data changed: new snapshot published"),
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "snapshot rebuild failed; keeping the previous one"),
                Err(e) => tracing::warn!(error = %e, "snapshot rebuild task failed"),
            }
        }
    })
}

/// Follows a PostgreSQL store's notifications: every committed import or
/// moves batch (by any server or the CLI) announces its data version on
/// [`crate::store::NOTIFY_CHANNEL`], and this server rebuilds at once
/// instead of at its next poll. Runs on a thread of its own with its own
/// connection; when the connection drops it reconnects (the poller covers
/// the gap).
pub fn spawn_listener(state: AppState, location: crate::store::Location) {
    let spawned = std::thread::Builder::new().name("store-listener".into()).spawn(move || {
        let mut backoff = Duration::from_millis(200);
        loop {
            match listen(&state, &location) {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, retry_ms = backoff.as_millis() as u64, "store notifications lost; reconnecting");
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the store listener; following the store by polling only");
    }
}

fn listen(state: &AppState, location: &crate::store::Location) -> Result<(), crate::store::StoreError> {
    let store = location.open()?;
    store.conn().execute_batch(&format!("LISTEN {}", crate::store::NOTIFY_CHANNEL))?;
    tracing::info!(channel = crate::store::NOTIFY_CHANNEL, "following the store's notifications");
    // Anything committed before LISTEN took effect is caught here.
    let _ = state.refresh();
    loop {
        let notes = store.conn().wait_for_notifications(Duration::from_secs(30))?;
        let newest = notes.iter().filter_map(|(_, payload)| payload.parse::<u64>().ok()).max();
        let Some(version) = newest else { continue };
        if version <= state.snapshot().version {
            continue;
        }
        match state.refresh() {
            Ok(Some(v)) => tracing::info!(version = v, "store notification: new snapshot published"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "snapshot rebuild failed; keeping the previous one"),
        }
    }
}

/// Serves on `addr` until SIGINT or SIGTERM, then drains in-flight
/// requests: `loops` accept loops (see [`accept`]), one per core when 0.
pub async fn serve(state: AppState, addr: SocketAddr, loops: usize) -> std::io::Result<()> {
    let loops = if loops == 0 { compute::Compute::default_size() } else { loops };
    let listeners = accept::Listeners::bind(addr, loops)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr} (--addr): {e}")))?;
    tracing::info!(
        loops = listeners.loops(),
        "listening on http://{}/ — open it in a browser to see the map",
        listeners.local_addr()
    );
    listeners.serve(state, shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
