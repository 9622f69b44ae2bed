//! The records a city's talent office holds, in the project's vocabulary.
//!
//! These types are shared by every pipeline stage: importers produce them, the
//! store persists them, the snapshot indexes compact forms of them. Code tables
//! (industries, fields, …) live in [`taxonomy`] and are data, not enums, so a
//! deployment can extend them; the small closed vocabularies (education,
//! title, tier, station mode, region kind, move event) are enums.

mod enums;
mod records;
pub mod state;
pub mod taxonomy;

pub use enums::{Education, MoveEvent, ParseEnumError, RegionKind, StationMode, Tier, Title};
pub use records::{Date, Enterprise, LonLat, Move, Region, Station, Talent, Vacancy, days_in_month, validate_id};
pub use taxonomy::{Chain, CodeEntry, Taxonomy, TaxonomyError};
