//! Record types as imported and stored. Codes from the code tables are kept
//! as their canonical strings (`"39"`, `"0812"`) here; the snapshot turns them
//! into compact indices.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Education, MoveEvent, RegionKind, StationMode, Tier, Title};

/// Longitude/latitude in decimal degrees (GCJ-02 frame, like the bundled
/// boundaries; all layers must share one frame).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LonLat {
    pub lon: f64,
    pub lat: f64,
}

impl LonLat {
    /// Latitude limit of Web Mercator, the projection of the tiles.
    pub const MAX_LAT: f64 = crate::spatial::MAX_LATITUDE;

    pub fn new(lon: f64, lat: f64) -> Self {
        Self { lon, lat }
    }

    /// Whether both coordinates are finite and inside the accepted ranges
    /// (lon in [-180, 180], lat in [-85.0511, 85.0511]).
    pub fn is_valid(self) -> bool {
        self.lon.is_finite()
            && self.lat.is_finite()
            && (-180.0..=180.0).contains(&self.lon)
            && (-Self::MAX_LAT..=Self::MAX_LAT).contains(&self.lat)
    }
}

/// A calendar date (proleptic Gregorian), as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// Parses exactly `YYYY-MM-DD` and checks the day exists in that month.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            s.get(r.clone()).filter(|t| t.bytes().all(|c| c.is_ascii_digit())).and_then(|t| t.parse().ok())
        };
        let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        if !(1..=12).contains(&month) || year < 1 {
            return None;
        }
        if day < 1 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year: year as u16, month: month as u8, day: day as u8 })
    }

    /// Months since year 0, for monthly series: `year * 12 + month - 1`.
    pub fn month_index(self) -> u32 {
        self.year as u32 * 12 + self.month as u32 - 1
    }

    /// Days since 1970-01-01 (negative before), for day differences.
    pub fn days(self) -> i32 {
        // Days from the civil date, counting years from March so that the
        // leap day is the last of its year.
        let (m, d) = (self.month as i32, self.day as i32);
        let y = self.year as i32 - i32::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` days after 1970-01-01 (Howard Hinnant's
    /// `civil_from_days`, proleptic Gregorian calendar).
    pub fn from_days(days: i32) -> Date {
        // Years 0000-03-01 ..= 9999-12-31 (outside, the nearest of them).
        let z = days.clamp(-719_468, 2_932_896) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i32::from(month <= 2)).clamp(1, 9999) as u16;
        Date { year, month, day }
    }
}

/// Days in `month` (1–12) of `year` in the Gregorian calendar.
pub fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        _ => 28,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Checks an identifier: 1–64 characters of `[A-Za-z0-9_.-]`.
pub fn validate_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 64 {
        return Err(format!("id must be 1-64 characters, got {}", id.chars().count()));
    }
    if let Some(c) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))) {
        return Err(format!("id may only contain A-Z, a-z, 0-9, '_', '.', '-'; found {c:?}"));
    }
    Ok(())
}

/// An employer at a point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Enterprise {
    pub id: String,
    pub name: String,
    pub location: LonLat,
    /// GB/T 4754-2017 division code, two digits.
    pub industry: String,
    pub employees: u32,
    /// A key enterprise (重点企业) of the city.
    pub key: bool,
    /// Park region id as given in the file; the region assignment at import
    /// uses the polygons, this is what the source system said.
    pub park: Option<String>,
}

/// Open positions at an enterprise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Vacancy {
    pub id: String,
    pub enterprise_id: String,
    /// Discipline code (一级学科), four digits.
    pub field: String,
    pub education: Education,
    pub title: Title,
    pub openings: u32,
    pub posted: Date,
    pub filled: Option<Date>,
}

/// A person. Personal data: leaves the server only as aggregates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Talent {
    pub id: String,
    pub home: LonLat,
    pub work: Option<LonLat>,
    pub enterprise_id: Option<String>,
    pub field: String,
    pub education: Education,
    pub title: Title,
    pub tier: Tier,
    pub birth_year: u16,
    /// Currently looking for a job.
    pub seeking: bool,
}

/// A transit stop.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Station {
    pub id: String,
    pub name: String,
    /// English name, empty when the source has none.
    pub name_en: String,
    pub location: LonLat,
    pub mode: StationMode,
}

/// A district, street or park polygon.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub id: String,
    pub name: String,
    pub kind: RegionKind,
    pub geometry: geo::MultiPolygon<f64>,
}

/// A flow event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Move {
    pub id: String,
    pub talent_id: String,
    pub date: Date,
    pub event: MoveEvent,
    pub from: Option<LonLat>,
    pub to: Option<LonLat>,
    pub to_enterprise_id: Option<String>,
    /// Free-text destination outside the city (e.g. a city name) for leaves.
    pub destination: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(Date::parse("2024-02-29").map(|d| d.to_string()), Some("2024-02-29".into()));
        assert_eq!(Date::parse("2023-02-29"), None);
        assert_eq!(Date::parse("2023-13-01"), None);
        assert_eq!(Date::parse("2023-1-01"), None);
        assert_eq!(Date::parse("2023/01/01"), None);
        assert_eq!(Date::parse("+023-01-01"), None);
        assert_eq!(Date::parse("1900-02-29"), None);
        assert_eq!(Date::parse("2000-02-29").map(|d| d.month_index()), Some(2000 * 12 + 1));
    }

    #[test]
    fn ids() {
        assert!(validate_id("E-0001.a_b").is_ok());
        assert!(validate_id("").is_err());
        assert!(validate_id(&"x".repeat(65)).is_err());
        assert!(validate_id(&"x".repeat(64)).is_ok());
        assert!(validate_id("a b").is_err());
        assert!(validate_id("企业").is_err());
    }

    #[test]
    fn coordinates() {
        assert!(LonLat::new(117.0, 36.6).is_valid());
        assert!(!LonLat::new(181.0, 0.0).is_valid());
        assert!(!LonLat::new(0.0, 85.06).is_valid());
        assert!(!LonLat::new(f64::NAN, 0.0).is_valid());
    }
}
