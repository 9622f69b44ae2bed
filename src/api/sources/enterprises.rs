//! The `enterprises` tile source: enterprise clusters below zoom 13, individual enterprises from
//! zoom 13 (finer clusters where a tile would be too dense).
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
pub struct Enterprises;

impl TileSource for Enterprises {
    type Params = FilterParams;
    type Query = FilterQuery;

    fn name(&self) -> &'static str {
        Layer::Enterprises.name()
    }

    fn description(&self, _: &FilterQuery) -> &'static str {
        "Enterprise clusters below zoom 13, individual enterprises from zoom 13"
    }

    fn maxzoom(&self) -> u8 {
        Layer::Enterprises.maxzoom()
    }

    fn fields(&self) -> &'static [(&'static str, &'static str)] {
        Layer::Enterprises.fields()
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
        render(snap, Layer::Enterprises, tile, &query.filter, query.k)
    }
}
