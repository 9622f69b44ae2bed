//! Hiring difficulty from the vacancies' posting and filling dates: how
//! long openings take to fill and how many stay open long.
//!
//! For a field (or every field) and an area (a district, a park or the
//! city), as of the data's date (the latest posting or filling date in the
//! vacancy table, so a store read months later gives the same answer):
//! - **median days to fill**: the openings-weighted median of `filled −
//!   posted` over the filled vacancies (a vacancy of 5 openings counts 5
//!   times);
//! - **share open longer than 90 days**: of the openings still open, the
//!   share posted more than [`LONG_OPEN_DAYS`] days before the data's date.
//!
//! Below [`MIN_OPENINGS`] filled (or open) openings the median (or share)
//! is not given: one enterprise's single vacancy says nothing about an
//! area. Vacancies are enterprise data, not personal data, so the counts are
//! exact (as the shortage index's openings are). docs/shortage.md.

use crate::model::Date;
use crate::snapshot::{NONE16, Snapshot, VacancyRec};

/// An opening open longer than this many days counts as hard to fill.
pub const LONG_OPEN_DAYS: i32 = 90;

/// Fewest openings a median or a share is given for.
pub const MIN_OPENINGS: u64 = 5;

/// Hiring difficulty of one area and field.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Difficulty {
    /// Openings of filled vacancies.
    pub filled_openings: u64,
    /// Openings-weighted median of days from posting to filling.
    pub median_days_to_fill: Option<u32>,
    /// Openings of vacancies still open.
    pub open_openings: u64,
    /// Of those, openings posted more than [`LONG_OPEN_DAYS`] days before
    /// the data's date.
    pub open_long: u64,
    /// `open_long ÷ open_openings`.
    pub share_open_long: Option<f64>,
}

/// What one area gathers in the pass over the vacancies.
#[derive(Default)]
struct Acc {
    /// (days to fill, openings) of filled vacancies.
    fills: Vec<(u32, u32)>,
    open: u64,
    open_long: u64,
}

impl Acc {
    fn add(&mut self, v: &VacancyRec, as_of: i32) {
        if v.posted > as_of {
            return; // not posted yet
        }
        if v.open || v.filled > as_of {
            self.open += v.openings as u64;
            if as_of - v.posted > LONG_OPEN_DAYS {
                self.open_long += v.openings as u64;
            }
        } else {
            self.fills.push(((v.filled - v.posted).max(0) as u32, v.openings));
        }
    }

    fn finish(mut self) -> Difficulty {
        let filled: u64 = self.fills.iter().map(|&(_, n)| n as u64).sum();
        let median = (filled >= MIN_OPENINGS).then(|| {
            self.fills.sort_unstable();
            // The lower weighted median: the first duration at which half the
            // openings are filled.
            let half = filled.div_ceil(2);
            let mut seen = 0u64;
            self.fills
                .iter()
                .find(|&&(_, n)| {
                    seen += n as u64;
                    seen >= half
                })
                .map_or(0, |&(d, _)| d)
        });
        Difficulty {
            filled_openings: filled,
            median_days_to_fill: median,
            open_openings: self.open,
            open_long: self.open_long,
            share_open_long: (self.open >= MIN_OPENINGS).then(|| self.open_long as f64 / self.open as f64),
        }
    }
}

/// The data's date: the latest posting or filling date of any vacancy
/// (`None` without vacancies).
pub fn as_of(snap: &Snapshot) -> Option<Date> {
    as_of_days(snap).map(Date::from_days)
}

fn as_of_days(snap: &Snapshot) -> Option<i32> {
    snap.vacancies.iter().map(|v| v.posted.max(v.filled)).max()
}

/// Hiring difficulty of one field (`None`: every field) in every district
/// and park (by position in `Snapshot::regions`; other regions get the
/// default) and in the whole city, as of the end of day `as_of` (usually
/// [`as_of`], the data's date): one pass over the vacancies; vacancies
/// posted later are left out, and one filled later counts as open.
pub fn by_region_as_of(snap: &Snapshot, field: Option<u8>, as_of: Date) -> (Vec<Difficulty>, Difficulty) {
    let as_of = as_of.days();
    let mut regions: Vec<Acc> = (0..snap.regions.len()).map(|_| Acc::default()).collect();
    let mut city = Acc::default();
    for v in snap.vacancies.iter().filter(|v| field.is_none_or(|f| f == v.field)) {
        city.add(v, as_of);
        for r in [v.district, v.park] {
            if r != NONE16
                && let Some(acc) = regions.get_mut(r as usize)
            {
                acc.add(v, as_of);
            }
        }
    }
    (regions.into_iter().map(Acc::finish).collect(), city.finish())
}

/// Openings open in the whole city at the end of day `as_of`, every field:
/// the `open_openings` of [`by_region_as_of`]'s city without the medians.
pub fn open_openings_as_of(snap: &Snapshot, as_of: Date) -> u64 {
    let as_of = as_of.days();
    snap.vacancies.iter().filter(|v| v.posted <= as_of && (v.open || v.filled > as_of)).map(|v| v.openings as u64).sum()
}

/// [`by_region_as_of`] of every field at once, in one pass over the
/// vacancies: slot `f` holds field `f`'s districts and parks (fields
/// `0..fields`; vacancies of other fields are left out).
pub fn by_field_and_region_as_of(snap: &Snapshot, fields: usize, as_of: Date) -> Vec<Vec<Difficulty>> {
    let as_of = as_of.days();
    let regions = snap.regions.len();
    let mut acc: Vec<Acc> = (0..fields * regions).map(|_| Acc::default()).collect();
    for v in snap.vacancies.iter() {
        if v.field as usize >= fields {
            continue;
        }
        let base = v.field as usize * regions;
        for r in [v.district, v.park] {
            if r != NONE16
                && (r as usize) < regions
                && let Some(a) = acc.get_mut(base + r as usize)
            {
                a.add(v, as_of);
            }
        }
    }
    let mut out = Vec::with_capacity(fields);
    let mut it = acc.into_iter();
    for _ in 0..fields {
        out.push(it.by_ref().take(regions).map(Acc::finish).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vacancy(openings: u32, posted: i32, filled: Option<i32>) -> VacancyRec {
        VacancyRec {
            key: 0,
            enterprise: 0,
            openings,
            field: 0,
            education: 0,
            title: 0,
            industry: 0,
            open: filled.is_none(),
            posted,
            filled: filled.unwrap_or(posted),
            district: NONE16,
            park: NONE16,
        }
    }

    fn difficulty(vacancies: &[VacancyRec], as_of: i32) -> Difficulty {
        let mut acc = Acc::default();
        vacancies.iter().for_each(|v| acc.add(v, as_of));
        acc.finish()
    }

    #[test]
    fn every_field_at_once_equals_one_field_at_a_time() {
        let mut snap = Snapshot::empty(std::sync::Arc::new(crate::model::Taxonomy::builtin()));
        let region = |i: usize| crate::snapshot::RegionInfo {
            id: format!("R{i}"),
            name: String::new(),
            name_en: String::new(),
            kind: crate::model::RegionKind::District,
            geometry: geo::MultiPolygon(Vec::new()),
            bbox: [0.0; 4],
            centre: [0.0; 2],
            stats: Default::default(),
        };
        snap.regions = (0..5).map(region).collect();
        let mut rng = crate::generate::rng::Rng::new(7, 0);
        let fields = 4;
        snap.vacancies = (0..4000)
            .map(|_| {
                let posted = 20_000 + (rng.f64() * 700.0) as i32;
                let filled = rng.f64() < 0.6;
                let mut v =
                    vacancy(1 + (rng.f64() * 6.0) as u32, posted, filled.then(|| posted + (rng.f64() * 300.0) as i32));
                v.field = (rng.f64() * (fields + 1) as f64) as u8;
                v.district = (rng.f64() * 5.0) as u16;
                v.park = if rng.f64() < 0.3 { NONE16 } else { (rng.f64() * 5.0) as u16 };
                v
            })
            .collect::<Vec<_>>()
            .into();
        let end = as_of(&snap).unwrap_or(Date { year: 2026, month: 1, day: 1 });
        for as_of in [end, Date::from_days(end.days() - 200)] {
            let all = by_field_and_region_as_of(&snap, fields, as_of);
            assert_eq!(all.len(), fields);
            for (f, regions) in all.iter().enumerate() {
                assert_eq!(*regions, by_region_as_of(&snap, Some(f as u8), as_of).0, "field {f}");
            }
            let city = by_region_as_of(&snap, None, as_of).1;
            assert!(city.open_openings > 0);
            assert_eq!(open_openings_as_of(&snap, as_of), city.open_openings);
        }
    }

    #[test]
    fn the_median_is_weighted_by_openings() {
        // 1 opening filled in 10 days, 4 in 40 days, 1 in 200: the median opening waits 40 days.
        let d = difficulty(&[vacancy(1, 0, Some(10)), vacancy(4, 0, Some(40)), vacancy(1, 0, Some(200))], 300);
        assert_eq!((d.filled_openings, d.median_days_to_fill), (6, Some(40)));
        // Unweighted it would be the middle vacancy too, but 5 openings at 10 days move it.
        let d = difficulty(&[vacancy(5, 0, Some(10)), vacancy(1, 0, Some(40)), vacancy(1, 0, Some(200))], 300);
        assert_eq!(d.median_days_to_fill, Some(10));
    }

    #[test]
    fn long_open_openings_count_from_the_data_date() {
        let as_of = 1000;
        let v = [vacancy(3, as_of - 91, None), vacancy(2, as_of - 90, None), vacancy(5, as_of - 10, None)];
        let d = difficulty(&v, as_of);
        assert_eq!((d.open_openings, d.open_long), (10, 3));
        assert_eq!(d.share_open_long, Some(0.3));
        assert_eq!(d.median_days_to_fill, None, "no filled openings");
    }

    #[test]
    fn as_of_an_earlier_day_later_postings_are_left_out_and_later_fills_are_open() {
        let v = [vacancy(5, 100, Some(300)), vacancy(5, 250, None), vacancy(7, 0, Some(50))];
        let d = difficulty(&v, 200);
        // At day 200 the first is open (posted 100 days before), the second not yet posted.
        assert_eq!((d.open_openings, d.open_long, d.filled_openings), (5, 5, 7));
        assert_eq!(d.median_days_to_fill, Some(50));
    }

    #[test]
    fn too_few_openings_give_no_median_or_share() {
        let d = difficulty(&[vacancy(4, 0, Some(30)), vacancy(4, 0, None)], 200);
        assert_eq!((d.filled_openings, d.median_days_to_fill, d.open_openings, d.share_open_long), (4, None, 4, None));
    }

    #[test]
    fn day_numbers_round_trip_through_dates() {
        for s in ["1970-01-01", "2000-02-29", "2024-12-31", "2026-03-01", "1900-03-01"] {
            let d = Date::parse(s).unwrap();
            assert_eq!(Date::from_days(d.days()), d, "{s}");
        }
        assert_eq!(Date::parse("1970-01-01").unwrap().days(), 0);
        assert_eq!(Date::parse("2026-12-01").unwrap().days() - Date::parse("2026-09-02").unwrap().days(), 90);
    }
}
