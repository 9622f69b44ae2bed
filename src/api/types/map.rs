//! Answers of the map routes: `/health`, `/api/stats`, `/api/taxonomy`,
//! `/api/enterprises`, `/api/regions`, `/api/regions/{id}` and
//! `/api/aggregates`. Talent counts under the privacy rule are `null` when
//! in `1..k`.

use serde::Serialize;
use utoipa::ToSchema;

use super::{CollectionTag, FeatureTag, Geometry};

/// `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
    /// The data version being served.
    pub version: u64,
}

/// `GET /api/stats`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    pub version: u64,
    /// The city-wide totals, as members of this object.
    #[serde(flatten)]
    pub totals: crate::snapshot::Totals,
    /// How long the snapshot took to build, in milliseconds.
    pub snapshot_build_ms: u64,
    /// The year ages are computed for.
    pub reference_year: u16,
    /// The privacy threshold k.
    pub privacy_k: u32,
    /// True when the talent counts are exact (admins; audited), false when
    /// perturbed (docs/privacy.md).
    pub exact_counts: bool,
    pub districts: Vec<StatsRegion>,
    pub parks: Vec<StatsRegion>,
    /// The schema of the city basemap at `/basemap.json` (openmaptiles,
    /// protomaps or other), or null when the server has none.
    pub basemap: Option<String>,
}

/// Counts of one district or park.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsRegion {
    pub id: String,
    pub name: String,
    /// Resident talents (null when in 1..k).
    pub talents: Option<u64>,
    pub seekers: Option<u64>,
    pub workers: Option<u64>,
    pub enterprises: u64,
    pub key_enterprises: u64,
    pub employees: u64,
    pub openings: u64,
}

/// An entry of a code table.
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeEntry {
    pub code: String,
    /// The section letter (industries) or category code (fields).
    pub group: String,
    pub name_zh: String,
    pub name_en: String,
}

/// An industry chain: a named set of divisions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainEntry {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub divisions: Vec<String>,
}

/// A code with its names (education levels, titles, tiers).
#[derive(Debug, Serialize, ToSchema)]
pub struct NamedCode {
    pub code: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
}

/// `GET /api/taxonomy`: the code tables.
#[derive(Debug, Serialize, ToSchema)]
pub struct Taxonomy {
    pub industries: Vec<CodeEntry>,
    pub sections: Vec<CodeEntry>,
    pub fields: Vec<CodeEntry>,
    pub categories: Vec<CodeEntry>,
    pub chains: Vec<ChainEntry>,
    pub education: Vec<NamedCode>,
    pub titles: Vec<NamedCode>,
    pub tiers: Vec<NamedCode>,
}

/// `GET /api/enterprises`: a page of enterprise points.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnterpriseCollection {
    #[serde(rename = "type")]
    pub tag: CollectionTag,
    pub features: Vec<EnterpriseFeature>,
    /// The `cursor` of the next page, or null on the last page.
    pub next_cursor: Option<String>,
}

/// One enterprise (a Point feature).
#[derive(Debug, Serialize, ToSchema)]
pub struct EnterpriseFeature {
    #[serde(rename = "type")]
    pub tag: FeatureTag,
    pub id: String,
    pub geometry: Geometry,
    pub properties: EnterpriseProperties,
}

/// The properties of an enterprise feature.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnterpriseProperties {
    pub id: String,
    pub name: String,
    /// GB/T 4754-2017 division code.
    pub industry: Option<String>,
    pub employees: u32,
    /// A key enterprise of the city.
    pub key: bool,
    pub openings: u32,
    pub district: Option<String>,
    pub park: Option<String>,
}

/// `GET /api/regions`: regions with statistics.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionCollection {
    #[serde(rename = "type")]
    pub tag: CollectionTag,
    pub features: Vec<RegionFeature>,
    /// `YYYY-MM` when the talent numbers are as of the end of that month
    /// (`month=`); null for today.
    pub month: Option<String>,
}

/// One region (a Polygon or MultiPolygon feature).
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionFeature {
    #[serde(rename = "type")]
    pub tag: FeatureTag,
    pub id: String,
    pub geometry: Geometry,
    pub properties: RegionProperties,
}

/// A region's statistics.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionProperties {
    pub id: String,
    pub name: String,
    /// English name, when the data has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    /// district, street or park.
    pub kind: &'static str,
    /// Resident talents (perturbed unless the caller gets exact counts:
    /// docs/privacy.md).
    pub talents: Option<u64>,
    /// Always false: talent counts are perturbed, not withheld (kept for
    /// clients of the threshold rule).
    pub suppressed: bool,
    pub seekers: Option<u64>,
    pub workers: Option<u64>,
    pub enterprises: u64,
    pub key_enterprises: u64,
    pub employees: u64,
    pub openings: u64,
    /// Openings per seeker (null without published seekers).
    pub ratio: Option<f64>,
    /// Longitude, latitude.
    pub centre: [f64; 2],
}

/// `GET /api/regions/{id}`: one region's supply and demand tables.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionDetail {
    pub id: String,
    pub name: String,
    /// English name, when the data has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    pub kind: &'static str,
    /// west, south, east, north.
    pub bbox: [f64; 4],
    pub centre: [f64; 2],
    pub stats: RegionProperties,
    pub supply: Supply,
    pub demand: Demand,
    pub privacy_k: u32,
    /// True when the talent counts are exact (an admin, or an analyst of this
    /// region; the read is audited), false when perturbed.
    pub exact_counts: bool,
    /// `YYYY-MM` when the talent numbers are as of the end of that month
    /// (`month=`; openings are today's); null for today.
    pub month: Option<String>,
}

/// Resident talents of a region by field, education, title and tier.
#[derive(Debug, Serialize, ToSchema)]
pub struct Supply {
    pub by_field: Vec<FieldSupply>,
    pub by_education: Vec<EducationCount>,
    pub by_title: Vec<TitleCount>,
    pub by_tier: Vec<TierCount>,
}

/// Open positions of a region by field, education and title.
#[derive(Debug, Serialize, ToSchema)]
pub struct Demand {
    pub by_field: Vec<FieldDemand>,
    pub by_education: Vec<EducationCount>,
    pub by_title: Vec<TitleCount>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldSupply {
    pub field: String,
    pub talents: Option<u64>,
    pub seekers: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldDemand {
    pub field: String,
    pub openings: u64,
}

/// A count per education level: `talents` (supply) or `openings` (demand).
#[derive(Debug, Serialize, ToSchema)]
pub struct EducationCount {
    pub education: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub talents: Option<Option<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub openings: Option<u64>,
}

/// A count per title: `talents` (supply) or `openings` (demand).
#[derive(Debug, Serialize, ToSchema)]
pub struct TitleCount {
    pub title: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub talents: Option<Option<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub openings: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TierCount {
    pub tier: &'static str,
    pub talents: Option<u64>,
}

/// `GET /api/aggregates`: the cells of the tiles covering a box.
#[derive(Debug, Serialize, ToSchema)]
pub struct AggregateCollection {
    #[serde(rename = "type")]
    pub tag: CollectionTag,
    pub features: Vec<CellFeature>,
    pub zoom: u8,
    pub cell_level: u8,
    pub privacy_k: u32,
}

/// One grid cell (a Polygon feature).
#[derive(Debug, Serialize, ToSchema)]
pub struct CellFeature {
    #[serde(rename = "type")]
    pub tag: FeatureTag,
    /// The cell id (decimal text of a 64-bit Morton code).
    pub id: String,
    pub geometry: Geometry,
    pub properties: CellProperties,
}

/// A cell's counts, or only `suppressed: true` when the count is in 1..k.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CellProperties {
    Published(CellCounts),
    Suppressed(SuppressedCell),
}

/// A cell whose count is in 1..k: nothing but its id.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuppressedCell {
    pub cell: String,
    /// Always true.
    pub suppressed: bool,
}

/// The published counts of a cell.
#[derive(Debug, Serialize, ToSchema)]
pub struct CellCounts {
    pub cell: String,
    pub count: u64,
    pub edu_associate: u64,
    pub edu_bachelor: u64,
    pub edu_master: u64,
    pub edu_doctorate: u64,
    pub top_field: Option<String>,
    pub top_field_count: Option<u64>,
    /// Talents layer only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seekers: Option<u64>,
    /// Talents layer only: talents aged 35 or less.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub young: Option<u64>,
    /// Vacancies layer only: vacancy rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}
