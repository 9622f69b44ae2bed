//! The `stations` tile source: transit stations (metro, rail, BRT, bus). The record filters are
//! accepted and checked but do not change the tile, so they are not part of
//! the canonical query.
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
pub struct Stations;

impl TileSource for Stations {
    type Params = FilterParams;
    type Query = FilterQuery;

    fn name(&self) -> &'static str {
        Layer::Stations.name()
    }

    fn description(&self, _: &FilterQuery) -> &'static str {
        "Transit stations"
    }

    fn maxzoom(&self) -> u8 {
        Layer::Stations.maxzoom()
    }

    fn fields(&self) -> &'static [(&'static str, &'static str)] {
        Layer::Stations.fields()
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

    fn canonical(&self, _: &FilterQuery, _: &Snapshot) -> String {
        String::new()
    }

    fn render(&self, snap: &Arc<Snapshot>, tile: TileId, query: &FilterQuery) -> Vec<u8> {
        render(snap, Layer::Stations, tile, &query.filter, query.k)
    }
}
