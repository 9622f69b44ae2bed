//! Tile sources: every layer served at `/tiles/{layer}.json` (TileJSON) and
//! `/tiles/{layer}/{z}/{x}/{y}.mvt` is one [`TileSource`] in one file of this
//! folder, listed once in [`SOURCES`].
//!
//! Why: the tile route used to special-case layers by name, and TileJSON was
//! built by hand in three places. A source says what is particular to its
//! layer — name, description, fields, zoom range, its typed query and that
//! query's canonical text, and how to render a tile — and everything else
//! (routes, coordinates, TileJSON, cache key, ETag/304, 204 for empty tiles,
//! rendering on the compute pool, OpenAPI paths) is shared in
//! [`super::tiles`]. In the spirit of martin's `Source` trait.
//!
//! The five record layers that take only the record filters share one
//! implementation (`layers::RecordLayer`); shortage and commute have their
//! own. Adding a layer: write `newlayer.rs` with a type implementing
//! [`TileSource`] and add it to [`SOURCES`]. Nothing else changes: the routes,
//! the 404 listing the layers, the registry tests and `/openapi.json` all
//! read the registry.

mod commute;
mod doc;
mod layers;
mod shortage;

use std::collections::BTreeMap;
use std::sync::Arc;

use tilejson::{Bounds, Center, TileJSON, VectorLayer, tilejson};
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};

use crate::analytics::filter::Filter;
use crate::encode::layers::Layer;
use crate::snapshot::Snapshot;
use crate::spatial::{TileId, WORLD_BOUNDS};

use super::query::{FilterParams, QueryParams, parse_query};
use super::{ApiError, CommuteCache};

pub use doc::{FilterLayer, MvtBody, TileDocs, TileJsonDoc, VectorLayerDoc};

/// Every tile source the service answers, in the order the 404 lists them.
pub static SOURCES: &[&dyn Source] = &[
    &layers::RecordLayer(Layer::Talents),
    &layers::RecordLayer(Layer::Vacancies),
    &layers::RecordLayer(Layer::Enterprises),
    &layers::RecordLayer(Layer::Regions),
    &layers::RecordLayer(Layer::Stations),
    &shortage::Shortage,
    &commute::Commute,
];

/// Shown in every TileJSON.
const ATTRIBUTION: &str = "talentmap; district boundaries: echarts-china-cities (MIT)";
/// Zoom of the TileJSON `center`.
const CENTRE_ZOOM: u8 = 9;

/// What a source may use from the service while resolving a query.
pub struct SourceContext {
    /// The snapshot the request started with.
    pub snap: Arc<Snapshot>,
    /// Privacy threshold (see `analytics::privacy`).
    pub k: u32,
    /// The per-snapshot commute index, built on first use.
    pub commute: Arc<CommuteCache>,
    /// A study area the query names (`work_area=sa_…`, `home_area=sa_…`),
    /// resolved by the route before the source resolves the query.
    pub study: Option<crate::analytics::commute::heat::StudySelection>,
}

/// One tile layer: its description, its typed query and its renderer.
///
/// A source is a unit struct (`Copy + 'static`), so a render can move it
/// onto the compute pool.
pub trait TileSource: Copy + Send + Sync + 'static {
    /// The query string as parsed strictly by [`parse_query`].
    type Params: QueryParams;
    /// The query resolved against a snapshot, ready to render.
    type Query: Send + 'static;

    /// Name in URLs, TileJSON and the layer inside the tile.
    fn name(&self) -> &'static str;
    /// What the layer shows (may depend on the query).
    fn description(&self, query: &Self::Query) -> &'static str;
    /// Deepest zoom with distinct tiles; clients overzoom beyond it.
    fn maxzoom(&self) -> u8;
    /// Feature properties and their meaning, for TileJSON `vector_layers`.
    fn fields(&self) -> &'static [(&'static str, &'static str)];
    /// The query parameters, for `/openapi.json`.
    fn params_doc(&self) -> Vec<Parameter>;
    /// Whether the source takes exactly the record filters
    /// ([`FilterParams`]); the others get their own documented paths.
    fn takes_filters_only(&self) -> bool;
    /// Checks the parameters against the snapshot.
    fn resolve(&self, params: Self::Params, cx: &SourceContext) -> Result<Self::Query, ApiError>;
    /// Canonical query text: equal for queries that draw the same tile. It
    /// is in the cache key, the ETag and the TileJSON tile URL (so only
    /// URL-safe text).
    fn canonical(&self, query: &Self::Query, snap: &Snapshot) -> String;
    /// Encodes one tile; empty when the tile has no features. Runs on the
    /// compute pool.
    fn render(&self, snap: &Arc<Snapshot>, tile: TileId, query: &Self::Query) -> Vec<u8>;
    /// Whether `month=` draws this layer as of a past month (the route
    /// then renders from that month's snapshot).
    fn takes_month(&self) -> bool {
        false
    }
    /// The data version at which what this layer draws last changed; in
    /// the cache key and the ETag. The snapshot's version unless the
    /// source knows it reads less ([`crate::snapshot::LayerVersions`]).
    fn version(&self, snap: &Snapshot) -> u64 {
        snap.version
    }
}

/// A tile ready to render: its canonical query and the render itself.
pub struct Prepared {
    pub query: String,
    pub render: Box<dyn FnOnce() -> Vec<u8> + Send>,
}

/// The object-safe face of a [`TileSource`] that the routes dispatch
/// through; implemented for every `TileSource`.
pub trait Source: Send + Sync {
    fn name(&self) -> &'static str;
    fn takes_filters_only(&self) -> bool;
    fn params_doc(&self) -> Vec<Parameter>;
    /// See [`TileSource::maxzoom`].
    fn maxzoom(&self) -> u8;
    /// The TileJSON of a raw query string; tile URLs start at `public_url`.
    fn tilejson(&self, raw_query: &str, cx: &SourceContext, public_url: &str) -> Result<TileJSON, ApiError>;
    /// Parses and resolves a raw query string for one tile.
    fn prepare(&self, raw_query: &str, tile: TileId, cx: &SourceContext) -> Result<Prepared, ApiError>;
    /// See [`TileSource::version`].
    fn version(&self, snap: &Snapshot) -> u64;
    /// See [`TileSource::takes_month`].
    fn takes_month(&self) -> bool;
}

impl<T: TileSource> Source for T {
    fn name(&self) -> &'static str {
        TileSource::name(self)
    }

    fn takes_filters_only(&self) -> bool {
        TileSource::takes_filters_only(self)
    }

    fn params_doc(&self) -> Vec<Parameter> {
        TileSource::params_doc(self)
    }

    fn maxzoom(&self) -> u8 {
        TileSource::maxzoom(self)
    }

    fn tilejson(&self, raw_query: &str, cx: &SourceContext, public_url: &str) -> Result<TileJSON, ApiError> {
        let query = self.resolve(parse_query::<T::Params>(raw_query)?, cx)?;
        Ok(tilejson_of(self, &query, &cx.snap, public_url))
    }

    fn prepare(&self, raw_query: &str, tile: TileId, cx: &SourceContext) -> Result<Prepared, ApiError> {
        let query = self.resolve(parse_query::<T::Params>(raw_query)?, cx)?;
        let text = self.canonical(&query, &cx.snap);
        let (source, snap) = (*self, cx.snap.clone());
        Ok(Prepared { query: text, render: Box::new(move || source.render(&snap, tile, &query)) })
    }

    fn version(&self, snap: &Snapshot) -> u64 {
        TileSource::version(self, snap)
    }

    fn takes_month(&self) -> bool {
        TileSource::takes_month(self)
    }
}

/// Whether every source's tiles differ between two snapshots (all their
/// versions differ): then no cached tile can be asked for again.
pub fn every_layer_changed(old: &Snapshot, new: &Snapshot) -> bool {
    SOURCES.iter().all(|s| s.version(old) != s.version(new))
}

/// The source called `name`, or a 404 listing the layers.
pub fn find(name: &str) -> Result<&'static dyn Source, ApiError> {
    SOURCES.iter().copied().find(|s| s.name() == name).ok_or_else(|| {
        ApiError::NotFound(format!("no layer '{name}'; layers: {}", names().collect::<Vec<_>>().join(", ")))
    })
}

/// The names of all sources.
pub fn names() -> impl Iterator<Item = &'static str> {
    SOURCES.iter().map(|s| s.name())
}

/// The TileJSON 3.0.0 of `source` for `query`, tile URLs under `public_url`
/// (never from request headers), plus the snapshot's `data_version`.
fn tilejson_of<T: TileSource>(source: &T, query: &T::Query, snap: &Snapshot, public_url: &str) -> TileJSON {
    let name = source.name();
    let canonical = source.canonical(query, snap);
    let qs = if canonical.is_empty() { String::new() } else { format!("?{canonical}") };
    let url = format!("{public_url}/tiles/{name}/{{z}}/{{x}}/{{y}}.mvt{qs}");
    let [w, s, e, n] = snap.bounds().unwrap_or(WORLD_BOUNDS);
    let description = source.description(query).to_string();
    let fields: BTreeMap<String, String> =
        source.fields().iter().map(|(k, d)| (k.to_string(), d.to_string())).collect();
    let mut layer = VectorLayer::new(name.to_string(), fields);
    layer.description = Some(description.clone());
    layer.minzoom = Some(0);
    layer.maxzoom = Some(source.maxzoom());
    let mut tj = tilejson! {
        tiles: vec![url],
        name: format!("talentmap {name}"),
        description: description,
        version: "1.0.0".to_string(),
        attribution: ATTRIBUTION.to_string(),
        scheme: "xyz".to_string(),
        minzoom: 0,
        maxzoom: source.maxzoom(),
        bounds: Bounds::new(w, s, e, n),
        center: Center::new((w + e) / 2.0, (s + n) / 2.0, CENTRE_ZOOM),
        vector_layers: vec![layer],
    };
    tj.other.insert("data_version".into(), snap.version.into());
    tj
}

/// The documented query parameters of `T`.
fn params_of<T: IntoParams>() -> Vec<Parameter> {
    T::into_params(|| Some(ParameterIn::Query))
}

/// The query of the record-filtered layers: the filter and k.
pub struct FilterQuery {
    pub filter: Filter,
    pub k: u32,
}

/// Resolves the record filters of a layer that draws records.
fn filter_query(params: FilterParams, cx: &SourceContext) -> Result<FilterQuery, ApiError> {
    Ok(FilterQuery { filter: params.filter(&cx.snap)?, k: cx.k })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Taxonomy;
    use crate::snapshot::LayerVersions;

    fn snap(version: u64, layers: LayerVersions) -> Snapshot {
        let mut s = Snapshot::empty(Arc::new(Taxonomy::builtin()));
        s.version = version;
        s.layers = layers;
        s
    }

    #[test]
    fn a_cache_is_emptied_only_when_no_layer_kept_its_version() {
        let all = |v| LayerVersions { talents: v, vacancies: v, enterprises: v, stations: v };
        let old = snap(5, all(5));
        // A moves batch: talents (and the layers that follow the data
        // version) change, enterprises, vacancies and stations do not.
        let moves = snap(6, LayerVersions { talents: 6, ..all(5) });
        assert!(!every_layer_changed(&old, &moves));
        assert!(every_layer_changed(&old, &snap(6, all(6))));
        let talents = find("talents").unwrap();
        let enterprises = find("enterprises").unwrap();
        assert_ne!(talents.version(&old), talents.version(&moves));
        assert_eq!(enterprises.version(&old), enterprises.version(&moves));
    }
}
