//! The response and request types of the JSON API. Each answer is a
//! `Serialize + ToSchema` type, so the shape a handler returns, the schema
//! `/openapi.json` documents and the columns of a CSV export are one
//! definition and cannot drift apart.

pub mod commute;
pub mod flows;
pub mod geojson;
pub mod map;
pub mod shortage;

pub use geojson::{CollectionTag, FeatureTag, GeoJson, GeoJsonBytes, Geometry};
