//! Analytics over a snapshot: aggregates for the map, and the privacy rule
//! every talent aggregate passes through.

pub mod cells;
pub mod commute;
pub mod field_words;
pub mod filter;
pub mod fine;
pub mod flows;
pub mod hiring;
pub mod privacy;
pub mod profile;
pub mod saved;
pub mod shortage;
