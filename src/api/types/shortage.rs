//! Answers of the shortage and mismatch routes. The ranking rows
//! ([`AreaRow`], [`FieldRow`]) are written both as JSON and, with the csv
//! crate's serde support, as the CSV exports, so CSV columns and JSON keys
//! are the same field list. Talent counts (`supply`, `employed`,
//! `effective_supply`, the seeker and workforce tables) are published
//! values: exact when `exact_counts` is true, perturbed otherwise (never in
//! 1..k−1, bounded centred noise above; `analytics::privacy`), and every
//! ratio, index and share is computed from them.

use serde::Serialize;
use utoipa::ToSchema;

use crate::analytics::shortage::mismatch::Mismatch;

use super::map::ChainEntry;

/// The shortage numbers of one area or field.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Numbers {
    /// Open openings `D`.
    pub demand: u64,
    /// Seekers `S` as published (perturbed unless `exact_counts`).
    pub supply: u64,
    /// Raw jobs-to-applicants ratio `D / S`.
    pub ratio: Option<f64>,
    /// Smoothed shortage index `(D + m·ρ) / (S + m)`.
    pub index: f64,
    /// Credible interval bounds.
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub low_data: bool,
    /// Talents of the field working in the area, as published (districts
    /// and parks only).
    pub employed: Option<u64>,
    /// Supply within commuting reach (2SFCA) as published: 0.1 precision
    /// for admins, a perturbed whole number otherwise (the allocated
    /// seekers live anywhere within reach, so an analyst's jurisdiction does
    /// not make it exact); null without demand.
    pub effective_supply: Option<f64>,
    pub effective_ratio: Option<f64>,
    pub effective_index: Option<f64>,
    pub effective_low_data: Option<bool>,
}

/// Declares a flat row type: its own columns, then those of [`Numbers`].
macro_rules! row_with_numbers {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Serialize, ToSchema)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            pub demand: u64,
            pub supply: u64,
            pub ratio: Option<f64>,
            pub index: f64,
            pub low: Option<f64>,
            pub high: Option<f64>,
            pub low_data: bool,
            pub employed: Option<u64>,
            pub effective_supply: Option<f64>,
            pub effective_ratio: Option<f64>,
            pub effective_index: Option<f64>,
            pub effective_low_data: Option<bool>,
        }

        impl $name {
            /// The row of the given own columns and numbers.
            #[allow(clippy::too_many_arguments)]
            pub fn new($($field: $ty,)* n: Numbers) -> $name {
                $name {
                    $($field,)*
                    demand: n.demand,
                    supply: n.supply,
                    ratio: n.ratio,
                    index: n.index,
                    low: n.low,
                    high: n.high,
                    low_data: n.low_data,
                    employed: n.employed,
                    effective_supply: n.effective_supply,
                    effective_ratio: n.effective_ratio,
                    effective_index: n.effective_index,
                    effective_low_data: n.effective_low_data,
                }
            }
        }
    };
}

row_with_numbers! {
    /// One area of a ranking (also a CSV row of `format=csv`).
    AreaRow {
        id: String,
        name: String,
        /// district, park or cell.
        kind: &'static str,
        lon: f64,
        lat: f64,
    }
}

row_with_numbers! {
    /// One field of an area (also a CSV row of `format=csv`).
    FieldRow {
        field: Option<String>,
        name_zh: Option<String>,
        name_en: Option<String>,
        /// The city-wide ratio of the field.
        city_ratio: f64,
    }
}

/// City-wide figures of the field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CityFigures {
    pub demand: u64,
    /// Seekers city-wide, as published (exact for admins only, whatever
    /// `exact_counts` says of the area).
    pub supply: u64,
    pub ratio: f64,
}

/// The query as understood, with the city figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueryEcho {
    pub field: String,
    pub education: Option<&'static str>,
    pub title: Option<&'static str>,
    pub prior: f64,
    pub interval: f64,
    pub radius_km: f64,
    pub decay: &'static str,
    pub city: CityFigures,
    pub city_effective_ratio: f64,
}

/// `GET /api/shortage`: areas ranked by shortage index, most short first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ranking {
    #[serde(flatten)]
    pub query: QueryEcho,
    /// district, park or cell.
    pub by: &'static str,
    /// `by=cell` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zoom: Option<u8>,
    /// `by=cell` only: the grid level of the cells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_level: Option<u8>,
    pub privacy_k: u32,
    /// Whether talent counts are exact (else perturbed).
    pub exact_counts: bool,
    pub items: Vec<AreaRow>,
}

/// An area: a district, a park or a grid cell.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AreaRef {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub lon: f64,
    pub lat: f64,
}

/// `GET /api/shortage/fields`: the fields an area is short of.
#[derive(Debug, Serialize, ToSchema)]
pub struct AreaFields {
    pub area: AreaRef,
    pub education: Option<&'static str>,
    pub title: Option<&'static str>,
    pub prior: f64,
    pub interval: f64,
    pub privacy_k: u32,
    /// Whether talent counts are exact (else perturbed).
    pub exact_counts: bool,
    pub items: Vec<FieldRow>,
}

/// Names of a field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldName {
    pub zh: String,
    pub en: String,
}

/// The prior of the smoothing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PriorDetail {
    pub strength: f64,
    pub mean: f64,
    pub shape: f64,
    pub rate: f64,
    pub note: &'static str,
}

/// The posterior of the smoothing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Posterior {
    pub shape: f64,
    pub rate: f64,
    pub formula: &'static str,
    /// `exact`, or how the published (perturbed) supply was made.
    pub supply_used: String,
}

/// The commuting catchment of the effective index.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CatchmentDetail {
    pub radius_km: f64,
    pub decay: &'static str,
    pub method: &'static str,
    pub city_demand: u64,
    /// Seekers with an opening in reach, as published (exact for admins
    /// only).
    pub city_allocated_seekers: u64,
    /// Seekers with no opening in reach, as published (exact for admins
    /// only).
    pub city_unreached_seekers: u64,
    pub city_effective_ratio: f64,
}

/// An enterprise contributing openings to an area's demand.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contributor {
    pub id: String,
    pub name: String,
    pub lon: f64,
    pub lat: f64,
    pub industry: Option<String>,
    pub openings: u64,
    pub site_openings: u64,
    /// Seekers allocated to the site, as published (see `effective_supply`).
    pub site_effective_supply: f64,
    pub site_effective_ratio: Option<f64>,
}

/// `GET /api/shortage/explain`: how one number arose.
#[derive(Debug, Serialize, ToSchema)]
pub struct Explain {
    #[serde(flatten)]
    pub query: QueryEcho,
    pub area: AreaRef,
    pub field_name: Option<FieldName>,
    pub numbers: Numbers,
    pub prior_detail: PriorDetail,
    pub posterior: Posterior,
    pub low_data_rule: String,
    pub catchment: CatchmentDetail,
    /// The top contributing enterprises.
    pub enterprises: Vec<Contributor>,
    pub privacy_k: u32,
    /// Whether talent counts are exact (else perturbed).
    pub exact_counts: bool,
}

/// The region a mismatch table is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MismatchArea {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
}

/// `GET /api/mismatch`: vertical and horizontal mismatch tables.
#[derive(Debug, Serialize, ToSchema)]
pub struct MismatchReport {
    #[serde(flatten)]
    pub report: Mismatch,
    /// With `area=`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area: Option<MismatchArea>,
    /// With `chain=`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<ChainEntry>,
    pub supply_definition: &'static str,
    pub privacy_k: u32,
    /// Whether talent counts are exact (else perturbed).
    pub exact_counts: bool,
}

/// Hiring difficulty of one area (`analytics::hiring`): vacancy durations,
/// enterprise data published exactly.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HiringRow {
    /// District or park id; `city` for the whole city.
    pub id: String,
    pub name: String,
    /// district, park or city.
    pub kind: &'static str,
    /// Openings of filled vacancies.
    pub filled_openings: u64,
    /// Openings-weighted median of days from posting to filling; null below
    /// `min_openings` filled openings.
    pub median_days_to_fill: Option<u32>,
    /// Openings still open.
    pub open_openings: u64,
    /// Of those, openings posted more than `long_open_days` days before
    /// `as_of`.
    pub open_long: u64,
    /// `open_long / open_openings`; null below `min_openings` open openings.
    pub share_open_long: Option<f64>,
}

/// `GET /api/shortage/hiring`: how hard openings are to fill, by area.
#[derive(Debug, Serialize, ToSchema)]
pub struct Hiring {
    /// The data's date: the latest posting or filling date of any vacancy.
    pub as_of: Option<String>,
    /// The field asked for; null for every field.
    pub field: Option<String>,
    /// district or park.
    pub by: &'static str,
    pub long_open_days: i32,
    pub min_openings: u64,
    /// The whole city, for comparison.
    pub city: HiringRow,
    /// Areas, hardest first: share open long descending, then median days
    /// to fill descending (areas without them last), then id.
    pub items: Vec<HiringRow>,
}
