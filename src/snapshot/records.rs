//! Compact in-memory records. Codes are indices into the code tables,
//! regions are indices into `Snapshot::regions`, positions are Morton keys
//! (see `spatial::morton`; a key resolves about 2 m). Talent records hold no
//! id, name or exact coordinate: nothing personal that could leak.

use crate::spatial::morton;

/// "No value" for `u8` code fields (e.g. a talent without an enterprise has
/// no industry).
pub const NONE8: u8 = u8::MAX;
/// "No region" for `u16` region fields.
pub const NONE16: u16 = u16::MAX;
/// "No record" for `u32` references, and "no key" for absent positions.
pub const NONE32: u32 = u32::MAX;
pub const NO_KEY: u64 = u64::MAX;

/// Bit flags of a talent.
pub mod flags {
    pub const SEEKING: u8 = 1;
    pub const HAS_WORK: u8 = 2;
}

/// One enterprise (not personal data: served individually at high zoom).
#[derive(Debug, Clone)]
pub struct EnterpriseRec {
    pub id: String,
    pub name: String,
    pub lon: f64,
    pub lat: f64,
    pub key: u64,
    pub industry: u8,
    pub is_key: bool,
    pub employees: u32,
    pub district: u16,
    pub park: u16,
    /// Sum of openings of the enterprise's open (unfilled) vacancies.
    pub openings: u32,
}

/// One vacancy row, located at its enterprise.
#[derive(Debug, Clone, Copy)]
pub struct VacancyRec {
    pub key: u64,
    pub enterprise: u32,
    pub openings: u32,
    pub field: u8,
    pub education: u8,
    pub title: u8,
    pub industry: u8,
    /// Not yet filled: counts as current demand.
    pub open: bool,
    /// Posting date, days since 1970-01-01 ([`crate::model::Date::days`]).
    pub posted: i32,
    /// Date filled, days since 1970-01-01; equal to `posted` while open.
    pub filled: i32,
    pub district: u16,
    pub park: u16,
}

/// One talent, located at home.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TalentRec {
    pub home: u64,
    /// Workplace key or [`NO_KEY`].
    pub work: u64,
    /// Enterprise position in `Snapshot::enterprises` or [`NONE32`].
    pub enterprise: u32,
    pub birth_year: u16,
    pub field: u8,
    pub education: u8,
    pub title: u8,
    pub tier: u8,
    /// Industry of the employer, or [`NONE8`].
    pub industry: u8,
    pub flags: u8,
    pub home_district: u16,
    pub home_park: u16,
    pub work_district: u16,
    pub work_park: u16,
    /// Permanent record key for disclosure control (`analytics::privacy`);
    /// never published.
    pub rkey: u32,
}

impl TalentRec {
    /// A talent at `home` with no workplace, employer, regions or flags,
    /// every attribute code 0, born in 1990: what tests start from.
    #[cfg(test)]
    pub(crate) fn blank(home: u64) -> TalentRec {
        TalentRec {
            home,
            work: NO_KEY,
            enterprise: NONE32,
            birth_year: 1990,
            field: 0,
            education: 0,
            title: 0,
            tier: 0,
            industry: NONE8,
            flags: 0,
            home_district: NONE16,
            home_park: NONE16,
            work_district: NONE16,
            work_park: NONE16,
            rkey: 0,
        }
    }

    pub fn seeking(&self) -> bool {
        self.flags & flags::SEEKING != 0
    }
    pub fn has_work(&self) -> bool {
        self.flags & flags::HAS_WORK != 0
    }
}

/// One transit station.
#[derive(Debug, Clone)]
pub struct StationRec {
    pub id: String,
    pub name: String,
    /// English name, empty when the store has none.
    pub name_en: String,
    pub lon: f64,
    pub lat: f64,
    pub key: u64,
    pub mode: crate::model::StationMode,
    pub district: u16,
    pub park: u16,
}

/// Unit Web Mercator coordinates of a key (the centre of its zoom-24 cell).
pub fn key_to_unit(key: u64) -> [f64; 2] {
    let (x, y) = morton::deinterleave(key);
    let n = (1u64 << morton::KEY_ZOOM) as f64;
    [(x as f64 + 0.5) / n, (y as f64 + 0.5) / n]
}

/// Lon/lat of a key (its cell centre).
pub fn key_to_lonlat(key: u64) -> [f64; 2] {
    let [x, y] = key_to_unit(key);
    let (lon, lat) = crate::spatial::unit_to_lonlat(x, y);
    [lon, lat]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_positions_resolve_metres() {
        let key = morton::key(117.0123, 36.6543);
        let [lon, lat] = key_to_lonlat(key);
        assert!((lon - 117.0123).abs() < 2e-5 && (lat - 36.6543).abs() < 2e-5, "{lon},{lat}");
        assert!(std::mem::size_of::<TalentRec>() <= 40);
    }
}
