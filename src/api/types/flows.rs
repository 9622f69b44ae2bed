//! Request and answer types of the talent-flow routes: the moves feed
//! (`POST /api/moves`), `/api/flows/series`, `/api/flows/od` and
//! `/api/flows/alerts`. Counts are published exact or perturbed (never in
//! `1..k−1`), as `exact_counts` says.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::analytics::flows::{AreaAlert, SeriesMonth};

use super::{CollectionTag, FeatureTag, Geometry};

/// The body of `POST /api/moves` (documentation of the accepted keys; the
/// values are checked item by item and every invalid one is reported).
#[derive(Debug, Deserialize, ToSchema)]
pub struct MovesRequest {
    /// At most 50,000 moves.
    pub moves: Vec<MoveItem>,
}

/// A kind of move.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MoveEventCode {
    Arrive,
    Leave,
    JobChange,
    Relocate,
}

/// One move of the feed. Numbers may also be given as strings.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MoveItem {
    /// Unique id of the move; a repeated id with the same values is `unchanged`.
    pub id: String,
    pub talent_id: String,
    /// `YYYY-MM-DD`.
    #[schema(example = "2025-07-01")]
    pub date: String,
    pub event: MoveEventCode,
    pub from_lon: Option<f64>,
    pub from_lat: Option<f64>,
    pub to_lon: Option<f64>,
    pub to_lat: Option<f64>,
    pub to_enterprise_id: Option<String>,
    /// Where a departure went (a city or province name).
    pub destination: Option<String>,
}

/// What a stored batch did.
#[derive(Debug, Serialize, ToSchema)]
pub struct MovesStored {
    /// Items in the batch.
    pub received: usize,
    /// New moves written.
    pub stored: usize,
    /// Items whose id was already stored with identical values.
    pub unchanged: usize,
    /// Data version after the batch.
    pub version: u64,
    /// Stored moves that contradict the history they find (a `leave` while
    /// away, a `relocate` or `job_change` after a `leave` with no `arrive`,
    /// an `arrive` while in the city): stored all the same and resolved by
    /// the state rule (`docs/present.md`).
    pub warnings: Vec<MoveWarning>,
}

/// A stored move whose history is irregular.
#[derive(Debug, Serialize, ToSchema)]
pub struct MoveWarning {
    /// 0-based position of the item in `moves`.
    pub index: usize,
    /// Always `event`.
    pub field: String,
    /// The move's id.
    pub value: String,
    pub message: String,
}

/// An area of a flow answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowArea {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub centre: [f64; 2],
}

/// `GET /api/flows/series`: one area's monthly flows.
#[derive(Debug, Serialize, ToSchema)]
pub struct Series {
    pub area: FlowArea,
    /// The `field` parameter as given.
    pub field: Option<String>,
    /// The `chain` parameter as given.
    pub chain: Option<String>,
    /// Resident talents in scope (published).
    pub talents: Option<u64>,
    pub k: u32,
    /// Whether the counts are exact rather than perturbed.
    pub exact_counts: bool,
    pub version: u64,
    pub months: Vec<SeriesMonth>,
}

/// `GET /api/flows/od`: flow lines between units (areas, enterprises or
/// industry divisions) and unit points.
#[derive(Debug, Serialize, ToSchema)]
pub struct OdCollection {
    #[serde(rename = "type")]
    pub tag: CollectionTag,
    pub features: Vec<OdFeature>,
    /// `district`, `park`, `enterprise` or `industry`.
    pub level: &'static str,
    /// First month (`YYYY-MM`), null without moves.
    pub from: Option<String>,
    pub to: Option<String>,
    /// The area or enterprise the flows are focused on, if any.
    pub focus: Option<OdFocusInfo>,
    /// Lines with a published count above 0, before `limit`.
    pub lines_total: usize,
    /// The lines beyond `limit` as one published count (null when none were left out).
    pub other_lines: Option<u64>,
    pub k: u32,
    /// Whether the counts are exact rather than perturbed.
    pub exact_counts: bool,
    pub version: u64,
}

/// The focus of a flow answer: where its leavers went and its joiners came
/// from (each total one published count of all its crossing moves).
#[derive(Debug, Serialize, ToSchema)]
pub struct OdFocusInfo {
    pub id: String,
    pub name: String,
    /// `district`, `park`, `study` or `enterprise`.
    pub kind: &'static str,
    /// Moves out of the focus to other units (job changes, and relocations at the area levels).
    pub lost: Option<u64>,
    /// Moves into the focus from other units.
    pub gained: Option<u64>,
}

/// A flow line or a unit point.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum OdFeature {
    Flow(OdFlowFeature),
    Area(OdAreaFeature),
}

/// Moves from one unit to another: a LineString between their points, or
/// no geometry at the industry level.
#[derive(Debug, Serialize, ToSchema)]
pub struct OdFlowFeature {
    #[serde(rename = "type")]
    pub tag: FeatureTag,
    pub geometry: Option<Geometry>,
    pub properties: OdFlowProperties,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OdFlowProperties {
    /// Always `flow`.
    pub kind: &'static str,
    /// Unit ids: region ids, enterprise ids or division codes (the focus's id on its side).
    pub from: String,
    pub from_name: String,
    pub to: String,
    pub to_name: String,
    pub count: u64,
    /// Each part its own published count.
    pub job_changes: Option<u64>,
    /// Null at the enterprise and industry levels (relocations keep the employer).
    pub relocations: Option<u64>,
}

/// Arrivals into and departures out of the city at one unit (a Point; no
/// geometry at the industry level).
#[derive(Debug, Serialize, ToSchema)]
pub struct OdAreaFeature {
    #[serde(rename = "type")]
    pub tag: FeatureTag,
    pub id: String,
    pub geometry: Option<Geometry>,
    pub properties: OdAreaProperties,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OdAreaProperties {
    /// `area` (a district, park or study area), `enterprise` or `industry`.
    pub kind: &'static str,
    pub id: String,
    pub name: String,
    /// `district`, `park`, `study`, `enterprise` or `industry`.
    pub level: &'static str,
    /// Whether this point is the answer's focus.
    pub focus: bool,
    pub arrivals: Option<u64>,
    pub departures: Option<u64>,
    pub destinations: Vec<Destination>,
    /// Departures to the destinations beyond the top 10 or published as 0, as one published count.
    pub other_destinations: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Destination {
    pub name: String,
    pub count: u64,
}

/// `GET /api/flows/alerts`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Alerts {
    pub month: String,
    pub level: &'static str,
    pub chain: Option<String>,
    pub field: Option<String>,
    pub method: AlertMethod,
    pub k: u32,
    /// Whether the counts are exact rather than perturbed.
    pub exact_counts: bool,
    pub version: u64,
    /// The alerts, most severe first.
    pub items: Vec<AreaAlert>,
    /// Every area assessed.
    pub areas: Vec<AreaAlert>,
}

/// How alerts are raised.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertMethod {
    pub name: &'static str,
    pub alpha: f64,
    pub false_alarm_rate: f64,
    pub history_months: usize,
    pub description: &'static str,
    pub trend: &'static str,
}

/// One month of an area's talent stock.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StockMonth {
    /// `YYYY-MM`; the count is as of the end of the month.
    pub month: String,
    /// Talents living in the area (published).
    pub talents: u64,
}

/// One area's monthly talent stock.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockArea {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub months: Vec<StockMonth>,
}

/// `GET /api/stock`: talents living in each area at the end of each month,
/// reconstructed from the moves.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stock {
    /// `district`, `park`, or the one area's id.
    pub level: String,
    /// First and last month (`YYYY-MM`).
    pub from: String,
    pub to: String,
    /// The last month with moves: counts after it are today's.
    pub data_until: Option<String>,
    pub field: Option<String>,
    pub chain: Option<String>,
    pub k: u32,
    /// Whether the counts are exact rather than perturbed.
    pub exact_counts: bool,
    pub version: u64,
    pub areas: Vec<StockArea>,
}
