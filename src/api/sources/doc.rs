//! The tile routes in `/openapi.json`, from the registry.
//!
//! The server answers every layer through two routes, so the annotated
//! handlers document `/tiles/{layer}.json` and `/tiles/{layer}/{z}/{x}/{y}.mvt`
//! with `layer` an enum of the sources that take the record filters. The
//! sources with their own parameters (`shortage`, `commute`) get their own
//! concrete paths ([`TileDocs`]), copies of the generic ones with their
//! query parameters: concrete paths take precedence over templated ones in
//! OpenAPI, so the document describes exactly what the server answers.

use std::collections::BTreeMap;

use utoipa::openapi::path::{Operation, Parameter, PathItem};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{OpenApi, RefOr};
use utoipa::{Modify, PartialSchema, ToSchema};

use super::SOURCES;

/// The layers documented at the generic `{layer}` paths.
pub struct FilterLayer;

impl PartialSchema for FilterLayer {
    fn schema() -> RefOr<Schema> {
        let names = SOURCES.iter().filter(|s| s.takes_filters_only()).map(|s| s.name());
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some(names)).into()
    }
}

impl ToSchema for FilterLayer {}

/// A Mapbox Vector Tile 2.1, as bytes.
pub struct MvtBody;

impl PartialSchema for MvtBody {
    fn schema() -> RefOr<Schema> {
        let binary = SchemaFormat::KnownFormat(KnownFormat::Binary);
        ObjectBuilder::new().schema_type(Type::String).format(Some(binary)).into()
    }
}

impl ToSchema for MvtBody {}

/// TileJSON 3.0.0 as served (the `tilejson` crate's `TileJSON`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TileJsonDoc {
    /// Always `3.0.0`.
    tilejson: String,
    name: String,
    description: String,
    version: String,
    attribution: String,
    /// Always `xyz`.
    scheme: String,
    /// One URL template under the configured public URL, with the canonical query.
    tiles: Vec<String>,
    minzoom: u8,
    maxzoom: u8,
    /// west, south, east, north in degrees.
    bounds: [f64; 4],
    /// lon, lat, zoom.
    center: [f64; 3],
    vector_layers: Vec<VectorLayerDoc>,
    /// The data version of the snapshot (also in every tile's ETag).
    data_version: u64,
}

/// One layer inside the tiles.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct VectorLayerDoc {
    id: String,
    description: String,
    minzoom: u8,
    maxzoom: u8,
    /// Feature property names and their meaning.
    fields: BTreeMap<String, String>,
}

/// Adds the concrete paths of the sources with their own parameters.
pub struct TileDocs;

impl Modify for TileDocs {
    fn modify(&self, api: &mut OpenApi) {
        let generic = [("/tiles/{layer}.json", ".json"), ("/tiles/{layer}/{z}/{x}/{y}.mvt", "/{z}/{x}/{y}.mvt")];
        for (path, suffix) in generic {
            let Some(item) = api.paths.paths.get(path).cloned() else { continue };
            for source in SOURCES.iter().filter(|s| !s.takes_filters_only()) {
                let item = concrete(&item, source.name(), source.params_doc());
                api.paths.paths.insert(format!("/tiles/{}{suffix}", source.name()), item);
            }
        }
    }
}

/// A copy of a generic path item for one layer: no `layer` parameter, the
/// layer's own query parameters instead of the filters.
fn concrete(item: &PathItem, name: &str, query: Vec<Parameter>) -> PathItem {
    let mut item = item.clone();
    if let Some(op) = item.get.as_mut() {
        let path_params = op.parameters.take().unwrap_or_default().into_iter().filter(|p| match p {
            RefOr::T(p) => p.name != "layer" && p.parameter_in == utoipa::openapi::path::ParameterIn::Path,
            RefOr::Ref(_) => false,
        });
        op.parameters = Some(path_params.chain(query.into_iter().map(RefOr::T)).collect());
        rename(op, name);
    }
    item
}

fn rename(op: &mut Operation, name: &str) {
    op.operation_id = op.operation_id.as_ref().map(|id| format!("{id}_{name}"));
    op.summary = Some(format!("The `{name}` layer"));
}
