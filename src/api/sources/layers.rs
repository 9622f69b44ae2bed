//! The five tile sources over the snapshot's records that take the record
//! filters ([`FilterParams`]) as their query — one [`RecordLayer`] per
//! [`Layer`]:
//!
//! - `talents`: talent homes aggregated into grid cells of level z + 5
//!   (32 × 32 per tile) with counts by education, seekers, young talents and
//!   the top field; cells of 1..k−1 talents carry only `suppressed`;
//! - `vacancies`: open positions aggregated into grid cells at their
//!   enterprises, under the same privacy rule;
//! - `enterprises`: enterprise clusters below zoom 13, individual enterprises
//!   from zoom 13 (finer clusters where a tile would be too dense);
//! - `regions`: districts and parks with their totals and the
//!   jobs-to-applicants ratio;
//! - `stations`: transit stations (metro, rail, BRT, bus).
//!
//! `month=YYYY-MM` draws `talents` and `regions` as of the end of that
//! month (`api::past`); the route picks that month's snapshot and the
//! month is part of their canonical query. The other layers accept and
//! check it (the front end sends one query to every layer) and draw today.
//!
//! `regions` and `stations` accept and check the filters (the front end
//! sends the same ones to every layer) but are not drawn by them, so the
//! filters are not part of their canonical query: one cache entry and ETag
//! for every filter state.

use std::sync::Arc;

use utoipa::openapi::path::Parameter;

use crate::analytics::flows::month_label;
use crate::api::ApiError;
use crate::api::query::{FilterParams, Filtered, MonthParams};
use crate::encode::layers::{Layer, render};
use crate::snapshot::Snapshot;
use crate::spatial::TileId;

use super::{FilterQuery, SourceContext, TileSource, filter_query, params_of};

/// A record layer as a tile source; see the module documentation.
#[derive(Debug, Clone, Copy)]
pub struct RecordLayer(pub Layer);

impl RecordLayer {
    /// Whether the filters change what the layer draws.
    fn drawn_by_filters(self) -> bool {
        matches!(self.0, Layer::Talents | Layer::Vacancies | Layer::Enterprises)
    }
}

impl TileSource for RecordLayer {
    type Params = Filtered<MonthParams>;
    type Query = FilterQuery;

    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn description(&self, _: &FilterQuery) -> &'static str {
        match self.0 {
            Layer::Talents => {
                "Talent homes aggregated into grid cells (32 x 32 per tile); cells with 1..k-1 talents are suppressed"
            }
            Layer::Vacancies => "Open positions aggregated into grid cells at their enterprises",
            Layer::Enterprises => "Enterprise clusters below zoom 13, individual enterprises from zoom 13",
            Layer::Regions => "Districts and parks with totals and the jobs-to-applicants ratio",
            Layer::Stations => "Transit stations",
        }
    }

    fn maxzoom(&self) -> u8 {
        self.0.maxzoom()
    }

    fn fields(&self) -> &'static [(&'static str, &'static str)] {
        self.0.fields()
    }

    fn params_doc(&self) -> Vec<Parameter> {
        let mut params = params_of::<FilterParams>();
        params.extend(params_of::<MonthParams>());
        params
    }

    fn takes_filters_only(&self) -> bool {
        true
    }

    fn resolve(&self, params: Filtered<MonthParams>, cx: &SourceContext) -> Result<FilterQuery, ApiError> {
        filter_query(params.filter, cx)
    }

    fn canonical(&self, query: &FilterQuery, snap: &Snapshot) -> String {
        let filters = if self.drawn_by_filters() { query.filter.canonical().to_string() } else { String::new() };
        match snap.as_of.filter(|_| self.takes_month()) {
            Some(month) if filters.is_empty() => format!("month={}", month_label(month)),
            Some(month) => format!("{filters}&month={}", month_label(month)),
            None => filters,
        }
    }

    fn takes_month(&self) -> bool {
        matches!(self.0, Layer::Talents | Layer::Regions)
    }

    fn version(&self, snap: &Snapshot) -> u64 {
        let l = &snap.layers;
        match self.0 {
            Layer::Talents => l.talents,
            Layer::Vacancies => l.vacancies,
            Layer::Enterprises => l.enterprises,
            Layer::Stations => l.stations,
            // Region totals count talents, enterprises and openings.
            Layer::Regions => snap.version,
        }
    }

    fn render(&self, snap: &Arc<Snapshot>, tile: TileId, query: &FilterQuery) -> Vec<u8> {
        render(snap, self.0, tile, &query.filter, query.k)
    }
}
