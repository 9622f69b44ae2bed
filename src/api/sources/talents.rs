//! The `talents` tile source: talent homes aggregated into grid cells of level z + 5 (32 × 32 per
//! tile) with counts by education, seekers, young talents and the top field;
//! cells of 1..k−1 talents carry only `suppressed`.
//!
//! Query: the record filters ([`FilterParams`]).

use std::sync::Arc;

use utoipa::openapi::path::Parameter;

use crate::encode::layers::{Layer, render};
use crate::snapshot::Snapshot;
use crate::spatial::TileId;

use super::{FilterQuery, SourceContext, TileSource, filter_query, params_of};
use crate::api::ApiError;
use crate::api::query::FilterParams;

/// See the module documentation.
#[derive(Debug, Clone, Copy)]
pub struct Talents;

impl TileSource for Talents {
    type Params = FilterParams;
    type Query = FilterQuery;

    fn name(&self) -> &'static str {
        Layer::Talents.name()
    }

    fn description(&self, _: &FilterQuery) -> &'static str {
        "Talent homes aggregated into grid cells (32 x 32 per tile); cells with 1..k-1 talents are suppressed"
    }

    fn maxzoom(&self) -> u8 {
        Layer::Talents.maxzoom()
    }

    fn fields(&self) -> &'static [(&'static str, &'static str)] {
        Layer::Talents.fields()
    }

    fn params_doc(&self) -> Vec<Parameter> {
        params_of::<FilterParams>()
    }

    fn takes_filters_only(&self) -> bool {
        true
    }

    fn resolve(&self, params: FilterParams, cx: &SourceContext) -> Result<FilterQuery, ApiError> {
        filter_query(params, cx)
    }

    fn canonical(&self, query: &FilterQuery, _: &Snapshot) -> String {
        query.filter.canonical().to_string()
    }

    fn render(&self, snap: &Arc<Snapshot>, tile: TileId, query: &FilterQuery) -> Vec<u8> {
        render(snap, Layer::Talents, tile, &query.filter, query.k)
    }
}
