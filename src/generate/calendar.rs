//! The demo city's time window: 24 months of history, November 2024 to
//! October 2026, seen from the reference date 2026-11-01.
//!
//! Days are numbered from the window's first day so that events can be
//! stored and sorted as small integers and written from a precomputed
//! table of `YYYY-MM-DD` strings.

use crate::model::days_in_month;

/// First month of the window.
const START: (u16, u8) = (2024, 11);
/// Number of months in the window.
pub const MONTHS: usize = 24;
/// The year ages are counted against (birth year = this − age).
pub const REFERENCE_YEAR: u16 = 2026;

/// Day numbering of the window.
pub struct Calendar {
    dates: Vec<[u8; 10]>,
    /// First day of each month, plus one past the end.
    month_start: Vec<u16>,
    /// Calendar month (1–12) of each window month.
    month_of: Vec<u8>,
}

impl Calendar {
    pub fn new() -> Calendar {
        let (mut year, mut month) = START;
        let mut dates = Vec::new();
        let mut month_start = Vec::with_capacity(MONTHS + 1);
        let mut month_of = Vec::with_capacity(MONTHS);
        for _ in 0..MONTHS {
            month_start.push(dates.len() as u16);
            month_of.push(month);
            for day in 1..=days_in_month(u32::from(year), u32::from(month)) as u8 {
                let mut d = *b"0000-00-00";
                d[0] = b'0' + (year / 1000) as u8;
                d[1] = b'0' + (year / 100 % 10) as u8;
                d[2] = b'0' + (year / 10 % 10) as u8;
                d[3] = b'0' + (year % 10) as u8;
                d[5] = b'0' + month / 10;
                d[6] = b'0' + month % 10;
                d[8] = b'0' + day / 10;
                d[9] = b'0' + day % 10;
                dates.push(d);
            }
            (year, month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
        }
        month_start.push(dates.len() as u16);
        Calendar { dates, month_start, month_of }
    }

    /// Number of days in the window.
    pub fn days(&self) -> u16 {
        self.dates.len() as u16
    }

    /// `YYYY-MM-DD` of a window day.
    pub fn date(&self, day: u16) -> &[u8] {
        &self.dates[day as usize]
    }

    /// First day and number of days of window month `m` (0-based).
    pub fn month_span(&self, m: usize) -> (u16, u16) {
        (self.month_start[m], self.month_start[m + 1] - self.month_start[m])
    }

    /// Calendar month (1–12) of window month `m`.
    pub fn calendar_month(&self, m: usize) -> u8 {
        self.month_of[m]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_covers_two_years() {
        let c = Calendar::new();
        assert_eq!(c.days(), 365 + 365); // Nov 2024 – Oct 2026, no 29 Feb
        assert_eq!(c.date(0), b"2024-11-01");
        assert_eq!(c.date(c.days() - 1), b"2026-10-31");
        assert_eq!(c.calendar_month(8), 7);
        assert_eq!(c.date(c.month_span(8).0), b"2025-07-01");
    }
}
