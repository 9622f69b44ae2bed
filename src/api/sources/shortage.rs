//! The `shortage` tile source: grid cells of one field with demand, supply,
//! ratio, the smoothed shortage index with its credible interval, the
//! low-data flag and the commuting-catchment effective index (see
//! `analytics::shortage` and `encode::shortage`).
//!
//! Query: [`ShortageParams`] — `field` (required), `education`, `title`,
//! `prior`, `interval`, `radius`, `decay`. The JSON routes under
//! `/api/shortage` take the same parameters; their definitions (ranges,
//! defaults) are the analytics module's constants.

use std::sync::Arc;

use serde::Deserialize;
use utoipa::IntoParams;
use utoipa::openapi::RefOr;
use utoipa::openapi::path::Parameter;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use crate::analytics::shortage::{
    CatchmentParams, DEFAULT_INTERVAL, DEFAULT_PRIOR, DEFAULT_RADIUS_M, Decay, Narrow, Query, Smoothing,
};
use crate::api::ApiError;
use crate::encode::shortage::{FIELDS, LAYER, MAXZOOM, render};
use crate::model::{Education, Title};
use crate::snapshot::Snapshot;
use crate::spatial::TileId;

use super::{SourceContext, TileSource, params_of};
use crate::api::shortage::DecayCode;

/// Accepted range of `prior` (m, in seekers).
const PRIOR: (f64, f64) = (0.01, 10_000.0);
/// Accepted range of `interval` (credible level).
const INTERVAL: (f64, f64) = (0.5, 0.99);
/// Accepted range of `radius` (km).
const RADIUS_KM: (f64, f64) = (0.5, 50.0);

/// The query parameters of the shortage layer.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShortageParams {
    /// Required: one first-level discipline code (4 digits, see `/api/taxonomy`).
    #[param(required = true, example = "0812")]
    pub field: Option<String>,
    /// Demand asks for exactly this education level; supply holds at least it.
    #[param(schema_with = education_schema)]
    pub education: Option<Education>,
    /// Demand asks for exactly this professional title; supply holds at least it.
    #[param(schema_with = title_schema)]
    pub title: Option<Title>,
    /// Prior strength m in seekers, 0.01..=10000 (default 10).
    #[param(minimum = 0.01, maximum = 10000.0)]
    pub prior: Option<f64>,
    /// Credible level of the interval, 0.5..=0.99 (default 0.8).
    #[param(minimum = 0.5, maximum = 0.99)]
    pub interval: Option<f64>,
    /// Commuting catchment radius in km, 0.5..=50 (default 10).
    #[param(minimum = 0.5, maximum = 50.0)]
    pub radius: Option<f64>,
    /// Distance decay of the catchment (default gaussian).
    pub decay: Option<DecayCode>,
}

fn code_schema(description: &str, codes: impl Iterator<Item = &'static str>) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).description(Some(description)).enum_values(Some(codes)).into()
}

fn education_schema() -> RefOr<Schema> {
    let description = "Demand asks for exactly this education level; supply holds at least it";
    code_schema(description, Education::ALL.iter().map(|e| e.code()))
}

fn title_schema() -> RefOr<Schema> {
    let description = "Demand asks for exactly this professional title; supply holds at least it";
    code_schema(description, Title::ALL.iter().map(|t| t.code()))
}

/// A number parameter in `lo..=hi`, or `default`.
fn in_range(name: &str, value: Option<f64>, (lo, hi): (f64, f64), default: f64) -> Result<f64, ApiError> {
    match value {
        None => Ok(default),
        Some(x) if x.is_finite() && (lo..=hi).contains(&x) => Ok(x),
        Some(x) => Err(ApiError::param(name, format!("'{x}' is not accepted; accepted: a number in {lo}..={hi}"))),
    }
}

/// The field index of a required field code.
fn field_index(snap: &Snapshot, code: Option<&str>) -> Result<u8, ApiError> {
    let accepted = "one 4-digit first-level discipline code such as 0812 (see /api/taxonomy)";
    match code {
        None | Some("") => Err(ApiError::param("field", format!("required; accepted: {accepted}"))),
        Some(code) => snap
            .taxonomy
            .field_index(code)
            .ok_or_else(|| ApiError::param("field", format!("unknown value '{code}'; accepted: {accepted}"))),
    }
}

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
        Ok(Query {
            field: field_index(&cx.snap, p.field.as_deref())?,
            narrow: Narrow { education: p.education.map(Education::index), title: p.title.map(Title::index) },
            smoothing: Smoothing {
                prior: in_range("prior", p.prior, PRIOR, DEFAULT_PRIOR)?,
                interval: in_range("interval", p.interval, INTERVAL, DEFAULT_INTERVAL)?,
                k: cx.k,
            },
            catchment: CatchmentParams {
                radius_m: in_range("radius", p.radius, RADIUS_KM, DEFAULT_RADIUS_M / 1000.0)? * 1000.0,
                decay: p.decay.map_or_else(Decay::default, Decay::from),
            },
        })
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
