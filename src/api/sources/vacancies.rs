//! The `vacancies` tile source: open positions aggregated into grid cells at their enterprises,
//! under the same privacy rule as talents.
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
pub struct Vacancies;

impl TileSource for Vacancies {
    type Params = FilterParams;
    type Query = FilterQuery;

    fn name(&self) -> &'static str {
        Layer::Vacancies.name()
    }

    fn description(&self, _: &FilterQuery) -> &'static str {
        "Open positions aggregated into grid cells at their enterprises"
    }

    fn maxzoom(&self) -> u8 {
        Layer::Vacancies.maxzoom()
    }

    fn fields(&self) -> &'static [(&'static str, &'static str)] {
        Layer::Vacancies.fields()
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
        render(snap, Layer::Vacancies, tile, &query.filter, query.k)
    }
}
