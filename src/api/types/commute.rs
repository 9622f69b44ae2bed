//! Request and answer types of the commute routes (`/api/commute/…`).
//! Every answer carries [`CommuteMeta`]; counts are exact or perturbed (never
//! in `1..k−1`) as `exact_counts` says.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::analytics::commute::indicators::Summary;
use crate::analytics::commute::underserved::Underserved;

use super::{CollectionTag, FeatureTag, Geometry};

/// Members every commute answer carries.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommuteMeta {
    /// How distances are measured.
    pub method: &'static str,
    /// Walking radius to a rail or metro station, metres.
    pub walk_radius_m: f64,
    /// The privacy threshold.
    pub k: u32,
    /// Whether the counts are exact (admins; analysts inside their
    /// jurisdiction) rather than perturbed.
    pub exact_counts: bool,
    /// The record filter applied, as query text.
    pub filter: String,
    pub data_version: u64,
}

/// `GET /api/commute/summary`: one area's indicators.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommuteSummary {
    #[serde(flatten)]
    pub meta: CommuteMeta,
    #[serde(flatten)]
    pub summary: Summary,
}

/// `GET /api/commute/districts`: every district and the city.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommuteDistricts {
    #[serde(flatten)]
    pub meta: CommuteMeta,
    pub districts: Vec<Summary>,
    pub city: Summary,
}

/// `GET /api/commute/flows`: home-to-work lines between area centres.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommuteFlows {
    #[serde(flatten)]
    pub meta: CommuteMeta,
    #[serde(rename = "type")]
    pub tag: CollectionTag,
    pub level: &'static str,
    /// Largest published count first; flows published as 0 are left out.
    pub features: Vec<CommuteFlowFeature>,
    /// Commuting inside one area.
    pub internal: Vec<InternalFlow>,
}

/// Workers living in one area and working in another (a LineString).
#[derive(Debug, Serialize, ToSchema)]
pub struct CommuteFlowFeature {
    #[serde(rename = "type")]
    pub tag: FeatureTag,
    /// `FROM>TO`.
    pub id: String,
    pub geometry: Geometry,
    pub properties: CommuteFlowProperties,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommuteFlowProperties {
    pub from: String,
    pub from_name: String,
    pub to: String,
    pub to_name: String,
    pub count: u64,
}

/// Workers living and working in the same area.
#[derive(Debug, Serialize, ToSchema)]
pub struct InternalFlow {
    pub id: String,
    pub name: String,
    pub count: u64,
}

/// A ranked park; in a scenario also its rank and score before.
#[derive(Debug, Serialize, ToSchema)]
pub struct RankedPark {
    #[serde(flatten)]
    pub park: Underserved,
    /// Scenario only: the rank without the hypothetical stops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank_before: Option<usize>,
    /// Scenario only: the score without the hypothetical stops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_before: Option<f64>,
}

/// The underserved-park ranking.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnderservedRanking {
    /// Most underserved first, at most `limit`.
    pub items: Vec<RankedPark>,
    /// Parks ranked (those with at least k workers).
    pub ranked: usize,
    /// Parks in the city.
    pub parks: usize,
    pub formula: &'static str,
}

/// `GET /api/commute/underserved`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommuteUnderserved {
    #[serde(flatten)]
    pub meta: CommuteMeta,
    #[serde(flatten)]
    pub ranking: UnderservedRanking,
}

/// A hypothetical station or stop.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopInput {
    /// Longitude in [-180, 180] degrees.
    pub lon: f64,
    /// Latitude in [-85.0511, 85.0511] degrees.
    pub lat: f64,
    /// Walking radius in metres, (0, 5000], default 800.
    pub radius_m: Option<f64>,
    /// A non-empty name of at most 100 characters.
    pub name: Option<String>,
}

/// The body of `POST /api/commute/scenario`: at least one stop over `stations`
/// and `stops` (at most 1000).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioRequest {
    pub stations: Option<Vec<StopInput>>,
    pub stops: Option<Vec<StopInput>>,
    /// A district or park id whose indicators are answered too.
    pub area: Option<String>,
    /// Ranked parks answered: 1..=1000, default 20.
    pub limit: Option<u64>,
}

/// `POST /api/commute/scenario`: the indicators as if the stops existed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScenarioOutcome {
    #[serde(flatten)]
    pub meta: CommuteMeta,
    /// Homes newly within walking radius of a station.
    pub newly_served_homes: Option<u64>,
    /// Workplaces newly within walking radius of a station.
    pub newly_served_jobs: Option<u64>,
    pub underserved: UnderservedRanking,
    pub districts: Vec<Summary>,
    pub city: Summary,
    /// With `area`: its indicators.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area: Option<Summary>,
}
