//! `GET /openapi.json`: the OpenAPI 3.1 document of the HTTP API, generated
//! from the request and response types and the `#[utoipa::path]`
//! annotations on the handlers, so it cannot drift from the routes.
//!
//! Every JSON handler of the router is listed in [`ApiDoc`]
//! (`tests/api_snapshots.rs` checks each route is documented); the tile
//! routes are added by their module. Parameter enums that utoipa does not
//! collect by itself are listed in `components(...)`.

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

use super::access::AccessDocs;
use super::error::{BatchItemError, ErrorBody, ErrorDetail};
use super::sources::{FilterLayer, MvtBody, TileDocs, TileJsonDoc, VectorLayerDoc};
use super::tiles;

/// The document. Handlers are added to `paths(...)` as they are annotated.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "talentmap",
        description = "Industry–talent map service: talent and industry aggregates, shortage indices, commute and flow \
                       analytics as JSON, GeoJSON and Mapbox Vector Tiles. Every error is \
                       `{\"error\": {\"code\", \"message\", \"parameter\"?}}`.",
        license(name = "MIT")
    ),
    paths(
        openapi_json,
        super::docs::docs_page,
        super::stats::health,
        super::metrics::metrics,
        super::stats::stats,
        super::features::taxonomy,
        super::features::enterprises,
        super::features::regions,
        super::features::region,
        super::features::aggregates,
        super::shortage::ranking,
        super::shortage::fields,
        super::shortage::hiring,
        super::shortage::explain,
        super::shortage::mismatch,
        super::commute::summary,
        super::commute::districts,
        super::commute::flows,
        super::commute::underserved,
        super::commute::scenario,
        super::flows::post_moves,
        super::flows::series,
        super::od::od,
        super::flows::alerts_handler,
        super::flows::stock,
        super::briefing::briefing,
        super::areas::create,
        super::areas::list,
        super::areas::get_one,
        super::areas::delete,
        super::areas::profile,
        super::areas::compare,
        tiles::tilejson,
        tiles::tile,
        super::fonts::glyphs,
        super::basemap::tilejson,
        super::basemap::tile,
        super::fonts::font_list,
        super::session::current,
        super::session::sign_in,
        super::session::sign_out,
        super::people::people_tile,
        super::people::person,
        super::people::audit_log,
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        BatchItemError,
        FilterLayer,
        MvtBody,
        super::fonts::GlyphsBody,
        TileJsonDoc,
        VectorLayerDoc,
        super::features::RegionKindParam,
        super::features::AggregateLayer,
        super::shortage::EducationCode,
        super::shortage::TitleCode,
        super::shortage::DecayCode,
        super::shortage::ByCode,
        super::shortage::Format,
        super::params::Level,
        super::commute::FlowLevelCode,
        super::od::OdLevelCode,
        super::briefing::Lang,
        super::briefing::BriefingFormat,
        super::areas::ProfileFormat,
    )),
    modifiers(&TileDocs, &AccessDocs),
    tags(
        (name = "service", description = "Health, metrics and this document"),
        (name = "tiles", description = "Vector tiles and TileJSON"),
        (name = "map", description = "Regions, enterprises, aggregates, statistics and code tables"),
        (name = "shortage", description = "Shortage index and mismatch"),
        (name = "commute", description = "Commute and job–housing"),
        (name = "flows", description = "Talent flows, the moves feed and alerts"),
        (name = "briefing", description = "The month's headline numbers and ranked findings"),
        (name = "areas", description = "Study areas, area profiles and comparisons"),
        (name = "session", description = "Signing in and out on the web page"),
        (name = "people", description = "Individuals (analysts inside their jurisdiction, admins) and the audit log; \
                                         every read is audited")
    )
)]
pub struct ApiDoc;

/// The document as JSON text (built once).
pub fn document() -> &'static str {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")))
}

/// `GET /openapi.json`
#[utoipa::path(get, path = "/openapi.json", tag = "service",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json")))]
pub async fn openapi_json() -> Response {
    let mut resp = Json(serde_json::from_str::<serde_json::Value>(document()).unwrap_or_default()).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    resp
}
