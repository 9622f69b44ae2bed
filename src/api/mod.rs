//! The HTTP API (axum). [`router`] builds the whole service over a state so
//! tests can drive it in memory with `oneshot`; [`serve`] binds it to a
//! socket with graceful shutdown.

mod body;
mod cache;
mod commute;
mod compute;
mod docs;
mod error;
mod error_shape;
mod features;
mod flows;
pub mod limits;
mod metrics;
pub mod openapi;
mod params;
pub mod query;
mod shortage;
mod sources;
mod state;
mod stats;
mod tiles;
pub mod types;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};
use tower_http::LatencyUnit;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use cache::TileCache;
pub use commute::CommuteCache;
pub use compute::Compute;
pub use error::ApiError;
pub use error_shape::{code_for, json_errors};
pub use limits::{ClientKey, Principal, client_key};
pub use state::{AppState, Settings, normalise_public_url};
pub use stats::stats_value as stats_handler;
pub use tiles::MVT_CONTENT_TYPE;

/// The names of the tile layers, as `/tiles/{layer}…` takes them.
pub fn tile_layers() -> Vec<&'static str> {
    sources::names().collect()
}

/// The whole service.
pub fn router(state: AppState) -> Router {
    let cors = CorsLayer::new().allow_origin(Any).allow_methods([axum::http::Method::GET, axum::http::Method::HEAD]);
    let web = state.settings.web_dir.clone().filter(|d| d.join("index.html").exists());
    let routes = Router::new()
        .route("/health", get(stats::health))
        .route("/metrics", get(metrics::metrics))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/api/docs", get(docs::docs_page))
        .route("/api/stats", get(stats::stats))
        .route("/api/taxonomy", get(features::taxonomy))
        .route("/api/enterprises", get(features::enterprises))
        .route("/api/regions", get(features::regions))
        .route("/api/regions/{id}", get(features::region))
        .route("/api/aggregates", get(features::aggregates))
        // Shortage index and mismatch (analytics::shortage).
        .route("/api/shortage", get(shortage::ranking))
        .route("/api/shortage/fields", get(shortage::fields))
        .route("/api/shortage/explain", get(shortage::explain))
        .route("/api/mismatch", get(shortage::mismatch))
        // Commute and job–housing.
        .route("/api/commute/summary", get(commute::summary))
        .route("/api/commute/districts", get(commute::districts))
        .route("/api/commute/flows", get(commute::flows))
        .route("/api/commute/underserved", get(commute::underserved))
        .route("/api/commute/scenario", post(commute::scenario))
        // Every tile source (api::sources): `{file}` is `{layer}.json`, `{y}` is `{y}.mvt`.
        .route("/tiles/{file}", get(tiles::tilejson))
        .route("/tiles/{layer}/{z}/{x}/{y}", get(tiles::tile))
        // Talent flows: moves feed, series, flow map, alerts.
        .merge(flows::routes());
    let routes = match web {
        Some(dir) => {
            routes.fallback_service(ServeDir::new(dir).fallback(get(error::not_found).with_state(state.clone())))
        }
        None => routes.fallback(error::not_found),
    };
    // Outermost last. A request meets trace, CORS, compression, the error
    // shape, then the limits from cheapest to costliest (docs/limits.md),
    // then the routes.
    let max_body = state.settings.max_body_bytes;
    routes
        .with_state(state.clone())
        .layer(middleware::from_fn_with_state(state.clone(), limits::one_moves_writer))
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(middleware::from_fn_with_state(state.clone(), limits::time_budget))
        .layer(middleware::from_fn_with_state(state.clone(), limits::shed_load))
        .layer(middleware::from_fn_with_state(state.clone(), limits::rate_limit))
        .layer(middleware::from_fn_with_state(state, limits::uri_length))
        .layer(middleware::from_fn(error_shape::json_errors))
        .layer(CompressionLayer::new())
        .layer(cors)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Micros)),
        )
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

/// Serves until SIGINT or SIGTERM, then drains in-flight requests. Each
/// request carries its peer address (`ConnectInfo<SocketAddr>`), which the
/// per-client rate limit counts against.
pub async fn serve(state: AppState, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tracing::info!("listening on http://{local}/ — open it in a browser to see the map");
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await
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
