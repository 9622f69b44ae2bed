//! The `commute` tile source: job–housing heat, the homes of the selected
//! workers (or the workplaces of the selected residents) in the cells of the
//! talents layer, every count perturbed for every caller (see
//! `analytics::commute::heat`; a `work_bbox` is widened to whole zoom-15
//! tiles).
//!
//! Query: exactly one selection ([`CommuteSelection`]: `work_area`,
//! `work_bbox`, `enterprise` or `home_area`) plus the record filters. The
//! per-snapshot commute index is built on the first render that needs it,
//! on the compute pool.

use std::sync::Arc;

use serde::Deserialize;
use utoipa::IntoParams;
use utoipa::openapi::path::Parameter;

use crate::analytics::commute::heat::{Selection, StudySelection};
use crate::analytics::filter::Filter;
use crate::api::query::{FilterParams, Filtered};
use crate::api::{ApiError, CommuteCache};
use crate::encode::commute::{FIELDS, LAYER, MAXZOOM, render_commute};
use crate::snapshot::Snapshot;
use crate::spatial::TileId;

use super::{SourceContext, TileSource, params_of};

/// Whose positions the heat draws: exactly one of these is required.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommuteSelection {
    /// Homes of the talents working in this district, park or study area
    /// (id; a study area counts the workplaces in its cells).
    #[param(example = "P1")]
    pub work_area: Option<String>,
    /// Homes of the talents working in this box: west,south,east,north in
    /// degrees, widened to whole tiles of zoom 15 (about 1 km): smaller or
    /// shifted boxes inside the same tiles answer the same.
    #[param(example = "117.09,36.69,117.11,36.71")]
    pub work_bbox: Option<String>,
    /// Homes of the employees of this enterprise (id).
    pub enterprise: Option<String>,
    /// Workplaces of the talents living in this district, park or study
    /// area (id; a study area counts the homes in its cells).
    pub home_area: Option<String>,
}

/// A resolved commute query.
pub struct CommuteQuery {
    selection: Selection,
    filter: Filter,
    k: u32,
    index: Arc<CommuteCache>,
}

/// The one selection of a request; a study area's id must be the one the
/// route resolved into `study`.
fn selection(snap: &Snapshot, p: &CommuteSelection, study: Option<&StudySelection>) -> Result<Selection, ApiError> {
    let given = [("work_area", &p.work_area), ("work_bbox", &p.work_bbox), ("enterprise", &p.enterprise)];
    let given: Vec<(&str, &str)> = given
        .into_iter()
        .chain([("home_area", &p.home_area)])
        .filter_map(|(name, v)| v.as_deref().map(|v| (name, v.trim())))
        .collect();
    let [(param, value)] = given[..] else {
        let what = if given.is_empty() { "none was given" } else { "several were given" };
        return Err(ApiError::param(
            Selection::PARAMS.join("|"),
            format!("exactly one of work_area, work_bbox, enterprise, home_area is required; {what}"),
        ));
    };
    let study = study.filter(|a| a.id == value).cloned();
    Ok(match (param, study) {
        ("work_area", Some(a)) => Selection::WorkStudy(a),
        ("home_area", Some(a)) => Selection::HomeStudy(a),
        ("work_area", None) => Selection::WorkArea(crate::api::commute::area_param(snap, param, value)?),
        ("home_area", None) => Selection::HomeArea(crate::api::commute::area_param(snap, param, value)?),
        ("enterprise", _) => Selection::Enterprise(
            snap.enterprise(value).ok_or_else(|| ApiError::NotFound(format!("no enterprise '{value}'")))?,
        ),
        _ => Selection::WorkBox(work_bbox(value)?),
    })
}

/// `work_bbox`, checked as every `bbox` parameter.
fn work_bbox(value: &str) -> Result<[f64; 4], ApiError> {
    let as_bbox = [("bbox".to_string(), value.to_string())].into();
    crate::api::params::bbox(&as_bbox, true)
        .map_err(|e| match e {
            ApiError::BadParam { message, .. } => ApiError::param("work_bbox", message),
            other => other,
        })?
        .ok_or_else(|| ApiError::param("work_bbox", "required: west,south,east,north in degrees"))
}

/// An id as URL query text.
fn encoded(id: &str) -> String {
    form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

/// See the module documentation.
#[derive(Debug, Clone, Copy)]
pub struct Commute;

impl TileSource for Commute {
    type Params = Filtered<CommuteSelection>;
    type Query = CommuteQuery;

    fn name(&self) -> &'static str {
        LAYER
    }

    fn description(&self, q: &CommuteQuery) -> &'static str {
        if q.selection.draws_homes() {
            "Homes of the selected workers aggregated into grid cells (32 x 32 per tile); every count is perturbed \
             (no value in 1..k-1, cells published as 0 are left out)"
        } else {
            "Workplaces of the selected residents aggregated into grid cells (32 x 32 per tile); every count is \
             perturbed (no value in 1..k-1, cells published as 0 are left out)"
        }
    }

    fn maxzoom(&self) -> u8 {
        MAXZOOM
    }

    fn fields(&self) -> &'static [(&'static str, &'static str)] {
        FIELDS
    }

    fn params_doc(&self) -> Vec<Parameter> {
        let mut params = params_of::<CommuteSelection>();
        params.extend(params_of::<FilterParams>());
        params
    }

    fn takes_filters_only(&self) -> bool {
        false
    }

    fn resolve(&self, p: Filtered<CommuteSelection>, cx: &SourceContext) -> Result<CommuteQuery, ApiError> {
        let selection = selection(&cx.snap, &p.query, cx.study.as_ref())?;
        Ok(CommuteQuery { selection, filter: p.filter.filter(&cx.snap)?, k: cx.k, index: cx.commute.clone() })
    }

    fn canonical(&self, q: &CommuteQuery, snap: &Snapshot) -> String {
        let mut text = match &q.selection {
            Selection::WorkArea(r) => format!("work_area={}", encoded(&snap.regions[*r as usize].id)),
            Selection::HomeArea(r) => format!("home_area={}", encoded(&snap.regions[*r as usize].id)),
            Selection::Enterprise(e) => format!("enterprise={}", encoded(&snap.enterprises[*e as usize].id)),
            Selection::WorkStudy(a) => format!("work_area={}", encoded(&a.id)),
            Selection::HomeStudy(a) => format!("home_area={}", encoded(&a.id)),
            Selection::WorkBox(_) => q.selection.canonical(snap),
        };
        if !q.filter.canonical().is_empty() {
            text.push('&');
            text.push_str(q.filter.canonical());
        }
        text
    }

    fn render(&self, snap: &Arc<Snapshot>, tile: TileId, q: &CommuteQuery) -> Vec<u8> {
        let index = q.index.get(snap);
        render_commute(snap, &index, &q.selection, tile, &q.filter, q.k)
    }
}
