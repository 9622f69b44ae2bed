//! Wall-clock time for credentials and the audit log: Unix seconds for
//! expiries and lockouts (simple to compare), RFC 3339 UTC text where people
//! read it. Written here so the crate needs no date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since 1970-01-01T00:00:00Z (0 if the clock is before 1970).
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `unix` seconds as RFC 3339 UTC, e.g. `2026-12-01T03:29:24Z` (the date
/// by [`crate::model::Date::from_days`]).
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400).clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    let secs = unix.rem_euclid(86_400);
    let date = crate::model::Date::from_days(days);
    format!("{date}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_994_964), "2026-11-29T23:29:24Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
    }
}
