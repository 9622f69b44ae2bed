//! Shortage index and supply–demand mismatch: which areas are short of
//! which talent, how badly, and whether the number can be trusted.
//!
//! - [`index`]: the jobs-to-applicants ratio, its Gamma–Poisson smoothed
//!   shortage index with a credible interval, the `low_data` flag, and how
//!   supply enters them as a published (exact or perturbed) count;
//! - [`gamma`]: the incomplete gamma function and its inverse behind the
//!   interval;
//! - [`catchment`]: two-step floating catchment (2SFCA) with distance decay,
//!   the effective shortage that separates "no talent nearby" from "talent
//!   lives elsewhere in the city"; [`effective`] runs it for one query and
//!   memoises it with the snapshot;
//! - [`basis`]: the per-snapshot index (per-field lists, dense count tables)
//!   that keeps every request off a city-wide scan;
//! - [`areas`]: figures of districts, parks and grid cells, rankings, the
//!   fields of one area and the enterprises behind its demand;
//! - [`mismatch`]: vertical and horizontal mismatch tables per area and per
//!   industry chain.

pub mod areas;
pub mod basis;
pub mod catchment;
pub mod effective;
pub mod gamma;
pub mod index;
pub mod mismatch;

pub use areas::{Area, By, Context, Figures, Query, Row, rank};
pub use basis::{Basis, Narrow};
pub use catchment::{DEFAULT_RADIUS_M, Decay};
pub use effective::CatchmentParams;
pub use index::{CityRatio, DEFAULT_INTERVAL, DEFAULT_PRIOR, Estimate, Smoothing};
