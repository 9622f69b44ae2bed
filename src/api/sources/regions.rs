//! The `regions` tile source: districts and parks with their totals and jobs-to-applicants
//! ratio. The record filters are accepted (the front end sends the same ones
//! to every layer) and checked, but do not change the tile, so they are not
//! part of the canonical query: one cache entry and ETag for all of them.
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
pub struct Regions;

impl TileSource for Regions {
    type Params = FilterParams;
    type Query = FilterQuery;

    fn name(&self) -> &'static str {
        Layer::Regions.name()
    }

    fn description(&self, _: &FilterQuery) -> &'static str {
        "Districts and parks with totals and the jobs-to-applicants ratio"
    }

    fn maxzoom(&self) -> u8 {
        Layer::Regions.maxzoom()
    }

    fn fields(&self) -> &'static [(&'static str, &'static str)] {
        Layer::Regions.fields()
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
        render(snap, Layer::Regions, tile, &query.filter, query.k)
    }
}
