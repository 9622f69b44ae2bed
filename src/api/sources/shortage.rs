//! The `shortage` tile source: grid cells of one field with demand, supply,
//! ratio, the smoothed shortage index with its credible interval, the
//! low-data flag and the commuting-catchment effective index (see
//! `analytics::shortage` and `encode::shortage`).
//!
//! Query: [`ShortageParams`] — `field` (required), `education`, `title`,
//! `prior`, `interval`, `radius`, `decay` — the same type, parser and
//! messages as the JSON routes under `/api/shortage`.
//!
//! Tiles are shared by every caller (and every cache), so they are rendered
//! under `Disclosure::Protected` whatever the role: perturbed counts.

use std::sync::Arc;

use utoipa::openapi::path::Parameter;

use crate::analytics::privacy::Disclosure;
use crate::analytics::shortage::{DEFAULT_INTERVAL, DEFAULT_PRIOR, DEFAULT_RADIUS_M, Decay, Query};
use crate::api::ApiError;
use crate::encode::shortage::{FIELDS, LAYER, MAXZOOM, render};
use crate::model::{Education, Title};
use crate::snapshot::Snapshot;
use crate::spatial::TileId;

use super::{SourceContext, TileSource, params_of};
use crate::api::shortage::ShortageParams;

/// See the module documentation.
#[derive(Debug, Clone, Copy)]
pub struct Shortage;

impl TileSource for Shortage {
    type Params = ShortageParams;
    type Query = Query;

    fn name(&self) -> &'static str {
        LAYER
    }

    fn description(&self, _: &Query) -> &'static str {
        "Shortage index of one field per grid cell (32 x 32 per tile): demand, supply, ratio, smoothed index with its \
         credible interval, low-data flag and the commuting-catchment effective index"
    }

    fn maxzoom(&self) -> u8 {
        MAXZOOM
    }

    fn fields(&self) -> &'static [(&'static str, &'static str)] {
        &FIELDS
    }

    fn params_doc(&self) -> Vec<Parameter> {
        params_of::<ShortageParams>()
    }

    fn takes_filters_only(&self) -> bool {
        false
    }

    fn resolve(&self, p: ShortageParams, cx: &SourceContext) -> Result<Query, ApiError> {
        p.query(&cx.snap, Disclosure::Protected { k: cx.k })
    }

    /// Defaults are left out, so `?field=0812&prior=10` shares the entry of
    /// `?field=0812`.
    fn canonical(&self, q: &Query, snap: &Snapshot) -> String {
        let code = snap.taxonomy.field(q.field).map_or("", |f| f.code.as_str());
        let mut s = format!("field={code}");
        if let Some(e) = q.narrow.education.and_then(Education::from_index) {
            s.push_str(&format!("&education={e}"));
        }
        if let Some(t) = q.narrow.title.and_then(Title::from_index) {
            s.push_str(&format!("&title={t}"));
        }
        if q.smoothing.prior != DEFAULT_PRIOR {
            s.push_str(&format!("&prior={}", q.smoothing.prior));
        }
        if q.smoothing.interval != DEFAULT_INTERVAL {
            s.push_str(&format!("&interval={}", q.smoothing.interval));
        }
        if q.catchment.radius_m != DEFAULT_RADIUS_M {
            s.push_str(&format!("&radius={}", q.catchment.radius_m / 1000.0));
        }
        if q.catchment.decay != Decay::default() {
            s.push_str(&format!("&decay={}", q.catchment.decay.code()));
        }
        s
    }

    fn render(&self, snap: &Arc<Snapshot>, tile: TileId, q: &Query) -> Vec<u8> {
        render(snap, q, tile)
    }
}
