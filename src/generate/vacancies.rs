//! Open positions: the demand side of the demo city.
//!
//! About one vacancy row per four talents, spread over enterprises by size
//! and skewed to the promoted industry chains. Disciplines follow the
//! employer's staff mix, re-weighted by `profiles::DEMAND_FACTOR` so that
//! some fields (integrated circuits, AI, pharmacy, software, mechanical
//! engineering at master level) are demanded far beyond the seeking supply
//! while others (business administration, languages, law) are in surplus.
//! Postings fall in the twelve months before the reference date, peaking
//! with the spring and autumn recruiting seasons; scarce fields stay open
//! longer, and about 30% of rows are filled.

use std::path::{Path, PathBuf};

use super::GenerateError;
use super::calendar::{Calendar, MONTHS};
use super::enterprises::Firms;
use super::profiles::{self, Staffing};
use super::rng::{Rng, Weighted};
use super::talents::draw_title;
use super::writer::{CsvOut, Num, id_width};
use crate::model::Education;

/// Posting weights by calendar month (January first): spring and autumn
/// recruiting seasons.
const POSTING: [f64; 12] = [0.6, 1.2, 1.6, 1.3, 1.0, 0.9, 0.9, 1.0, 1.4, 1.3, 0.9, 0.7];
/// Chance that a posting has been filled (before the end of the window
/// cuts off late fills), for an ordinary field.
const FILL_RATE: f64 = 0.45;

/// Writes `vacancies.csv` with about `target` rows.
pub fn write_vacancies(
    firms: &Firms,
    staffing: &Staffing,
    cal: &Calendar,
    target: usize,
    rng: &mut Rng,
    dir: &Path,
) -> Result<(PathBuf, usize), GenerateError> {
    let mut out = CsvOut::create(
        dir,
        "vacancies.csv",
        &["id", "enterprise_id", "field", "education", "title", "openings", "posted", "filled"],
    )?;
    let posting = Weighted::new(
        (0..MONTHS).map(|m| if m + 12 >= MONTHS { POSTING[cal.calendar_month(m) as usize - 1] } else { 0.0 }),
    )
    .ok_or_else(|| GenerateError::Invalid("empty posting season".into()))?;
    let weight = |i: usize| {
        let f = &firms.list[i];
        f64::from(f.employees).powf(0.85)
            * f.sector.profile().intensity.sqrt()
            * if f.chain { 2.5 } else { 1.0 }
            * if f.key { 1.3 } else { 1.0 }
    };
    let total: f64 = (0..firms.list.len()).map(weight).sum();
    if total <= 0.0 || target == 0 {
        return out.finish();
    }
    let width = id_width(target + target / 10 + 10, 7);
    let last_day = cal.days() - 1;
    let mut next_id = 1u64;
    for (i, f) in firms.list.iter().enumerate() {
        let expected = target as f64 * weight(i) / total;
        let rows = expected.floor() as u64 + u64::from(rng.chance(expected.fract()));
        let profile = f.sector.profile();
        for _ in 0..rows {
            let field = staffing.demand(f.sector).sample(rng);
            let mut level = education_index(rng, &profile.education);
            if level < 3 && rng.chance(profiles::demand_upgrade(field)) {
                level += 1;
            }
            let education = Education::ALL[level];
            // The title asked for is what a typical hire a few years in holds.
            let age = 22 + rng.lognormal(5.0, 0.7).min(30.0) as u32 + [0, 0, 3, 6][level];
            let title = draw_title(rng, age, education, profile.title_rate);
            let openings = openings(rng, f.employees, education);
            let posted = {
                let (start, len) = cal.month_span(posting.sample(rng));
                start + rng.below(u64::from(len)) as u16
            };
            let factor = profiles::demand_factor(field);
            let fill = FILL_RATE
                * if factor >= 2.0 {
                    0.45
                } else if factor < 0.5 {
                    1.4
                } else {
                    1.0
                };
            let filled = rng
                .chance(fill)
                .then(|| u32::from(posted) + 7 + rng.lognormal(30.0, 0.7).min(300.0) as u32)
                .filter(|&d| d <= u32::from(last_day))
                .map(|d| d as u16);

            out.field(Num::id("V", next_id, width).as_bytes())?;
            out.field(firms.id(i as u32).as_bytes())?;
            out.field(field.as_bytes())?;
            out.field(education.code().as_bytes())?;
            out.field(title.code().as_bytes())?;
            out.field(Num::uint(u64::from(openings)).as_bytes())?;
            out.field(cal.date(posted))?;
            match filled {
                Some(d) => out.field(cal.date(d))?,
                None => out.field(b"")?,
            }
            out.end_row()?;
            next_id += 1;
        }
    }
    out.finish()
}

fn education_index(rng: &mut Rng, mix: &[f64; 4]) -> usize {
    let total: f64 = mix.iter().sum();
    let mut u = rng.f64() * total;
    for (i, &w) in mix.iter().enumerate() {
        if u < w {
            return i;
        }
        u -= w;
    }
    1
}

/// Positions in one posting: mostly 1–5, now and then a batch of 10–50
/// (large employers hiring production or service staff).
fn openings(rng: &mut Rng, employees: u32, education: Education) -> u32 {
    let batch = if employees > 1000 && education == Education::Associate { 0.2 } else { 0.025 };
    if rng.chance(batch) {
        return (10.0 * 5f64.powf(rng.f64())).round() as u32;
    }
    let u = rng.f64();
    match u {
        _ if u < 0.55 => 1,
        _ if u < 0.76 => 2,
        _ if u < 0.87 => 3,
        _ if u < 0.92 => 4,
        _ if u < 0.96 => 5,
        _ => rng.between(6, 9),
    }
}
