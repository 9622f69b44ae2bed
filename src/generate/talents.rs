//! The people of the demo city, and their last two years.
//!
//! Most talents (about 85%) work: the employer is drawn first, in
//! proportion to the talents it employs, then the home around the
//! workplace: candidate points at a commute-like distance are weighed by
//! residential density (sampling–importance–resampling), which gives the
//! familiar commute profile — most trips 2–15 km, median about 8 km, a long
//! tail past 40 km — and puts homes where housing is. People out of work get
//! a home anywhere in proportion to housing density.
//!
//! A talent's discipline, education, title and age follow the sector of
//! the employer (see `profiles`); tiers are rare and follow education,
//! title and age; about 8% are seeking work, more among the young and the
//! unemployed. Rows stream straight to `talents.csv`; each talent's history
//! is planned at the same time (see `moves`).

use std::f64::consts::TAU;
use std::path::{Path, PathBuf};

use super::calendar::{Calendar, REFERENCE_YEAR};
use super::enterprises::Firms;
use super::geography::{Micro, offset_km};
use super::moves::{MoveLog, Planned, SPIKE_EXTRA_LEAVE, Seasons, sample_day};
use super::profiles::{self, Staffing};
use super::rng::{Rng, Weighted};
use super::writer::{CsvOut, Num, bool_field, id_width};
use super::{City, GenerateError};
use crate::model::{Education, MoveEvent, Tier, Title};

/// Share of talents who work in the city (before departures are drawn).
const P_EMPLOYED: f64 = 0.92;
/// Chance of leaving the city during the two-year window (~4% a year).
const LEAVE_RATE: f64 = 0.075;
/// Chance of having arrived during the window (~5% a year).
const ARRIVE_RATE: f64 = 0.095;
/// Mean job changes and relocations per talent over the window; with
/// arrivals and departures about 1.25 events per talent.
const JOB_CHANGE_RATE: f64 = 0.58;
const RELOCATION_RATE: f64 = 0.43;
/// Candidate homes weighed per draw.
const HOME_CANDIDATES: usize = 6;

/// Commute distance proposal in km: a mixture of local and cross-town
/// commutes. Residential density then reshapes it.
fn commute_km(rng: &mut Rng) -> f64 {
    let d = if rng.chance(0.72) { rng.lognormal(8.5, 0.6) } else { rng.lognormal(17.0, 0.55) };
    d.max(0.15)
}

/// A home for someone working at `work`.
pub fn home_near(city: &City, rng: &mut Rng, work: Micro) -> (Micro, usize) {
    let (lon, lat) = (work.lon(), work.lat());
    let mut candidates = [(Micro { lon: 0, lat: 0 }, 0.0f64); HOME_CANDIDATES];
    for _ in 0..6 {
        for c in &mut candidates {
            let d = commute_km(rng);
            let theta = TAU * rng.f64();
            let (x, y) = offset_km(lon, lat, d * theta.cos(), d * theta.sin());
            let m = Micro::from_deg(x, y);
            *c = (m, city.grid.density_at(m));
        }
        // Pick one in proportion to density; a pick that falls outside
        // every district (in a boundary cell) is struck off.
        let mut total: f64 = candidates.iter().map(|c| c.1).sum();
        while total > 0.0 {
            let mut u = rng.f64() * total;
            let mut k = 0;
            while k + 1 < HOME_CANDIDATES && (u >= candidates[k].1 || candidates[k].1 == 0.0) {
                u -= candidates[k].1;
                k += 1;
            }
            if candidates[k].1 > 0.0
                && let Some(d) = city.grid.district_of(&city.districts, candidates[k].0)
            {
                return (candidates[k].0, d);
            }
            candidates[k].1 = 0.0;
            total = candidates.iter().map(|c| c.1).sum();
        }
    }
    city.grid.sample_home(rng, &city.districts)
}

fn draw_education(rng: &mut Rng, mix: &[f64; 4]) -> Education {
    let total: f64 = mix.iter().sum();
    let mut u = rng.f64() * total;
    for (i, &w) in mix.iter().enumerate() {
        if u < w {
            return Education::ALL[i];
        }
        u -= w;
    }
    Education::Bachelor
}

/// Age in years (22–60): `median_above_22` is the median of age − 22.
fn draw_age(rng: &mut Rng, median_above_22: f64, sigma: f64, education: Education) -> u32 {
    // Redraw rather than clamp, so that no age piles up at 60.
    let above = (0..8).map(|_| rng.lognormal(median_above_22, sigma)).find(|&a| a < 39.0).unwrap_or(30.0);
    let mut age = (22.0 + above).floor() as u32;
    let min = match education {
        Education::Master => 25,
        Education::Doctorate => 28,
        _ => 22,
    };
    if age < min {
        age = min + rng.below(3) as u32;
    }
    age
}

/// Professional title from years of experience; `title_rate` is the share
/// of the sector's staff who ever obtain one.
pub fn draw_title(rng: &mut Rng, age: u32, education: Education, title_rate: f64) -> Title {
    let head_start = match education {
        Education::Associate => -1.0,
        Education::Bachelor => 0.0,
        Education::Master => 3.0,
        Education::Doctorate => 6.0,
    };
    let experience = f64::from(age) - 22.0 - head_start;
    if experience < 1.0 || !rng.chance(title_rate * (experience / 3.0).min(1.0)) {
        return Title::None;
    }
    let bonus = match education {
        Education::Doctorate => 5.0,
        Education::Master => 2.0,
        _ => 0.0,
    };
    let x = experience + bonus + 3.0 * rng.normal();
    if x < 6.0 {
        Title::Junior
    } else if x < 17.0 {
        Title::Intermediate
    } else if x < 28.0 {
        Title::AssociateSenior
    } else {
        Title::Senior
    }
}

/// Talent tier: most people have none; E > D > C > B > A.
fn draw_tier(rng: &mut Rng, age: u32, education: Education, title: Title) -> Tier {
    let score: f64 = match education {
        Education::Associate => 0.0,
        Education::Bachelor => 0.5,
        Education::Master => 1.5,
        Education::Doctorate => 3.5,
    } + match title {
        Title::None => 0.0,
        Title::Junior => 0.3,
        Title::Intermediate => 1.0,
        Title::AssociateSenior => 2.5,
        Title::Senior => 4.0,
    } + if age >= 45 {
        1.0
    } else if age >= 35 {
        0.5
    } else {
        0.0
    };
    if !rng.chance((0.022 * (0.5 * score).exp()).min(0.8)) {
        return Tier::None;
    }
    let tiers = [(Tier::E, 60.0), (Tier::D, 25.0), (Tier::C, 9.0), (Tier::B, 2.5), (Tier::A, 0.3)];
    let lift = 0.08 * score;
    let total: f64 = tiers.iter().enumerate().map(|(k, (_, w))| w * (lift * k as f64).exp()).sum();
    let mut u = rng.f64() * total;
    for (k, (t, w)) in tiers.iter().enumerate() {
        let w = w * (lift * k as f64).exp();
        if u < w {
            return *t;
        }
        u -= w;
    }
    Tier::E
}

/// A day in [lo, hi) from a month sampler, if one turns up quickly.
fn day_between(rng: &mut Rng, cal: &Calendar, months: &Weighted, lo: u16, hi: u16) -> Option<u16> {
    if lo >= hi {
        return None;
    }
    (0..8).map(|_| sample_day(rng, cal, months)).find(|d| (lo..hi).contains(d))
}

/// What a talent is today: employer, home and profile.
struct Person {
    /// The employer before any departure is drawn.
    firm: Option<u32>,
    home: Micro,
    district: usize,
    field: &'static str,
    education: Education,
    age: u32,
    title: Title,
    tier: Tier,
}

/// A talent's last two years: the day of arrival and of departure, if
/// any, the job changes and relocations in between, in day order, and the
/// homes and employers they lead through (latest, today's, last). The
/// buffers are reused from talent to talent.
#[derive(Default)]
struct History {
    arrive: Option<u16>,
    leave: Option<u16>,
    events: Vec<(u16, MoveEvent)>,
    homes: Vec<Micro>,
    jobs: Vec<u32>,
}

/// Everything the loop over talents reads but never changes.
struct Inputs<'a> {
    city: &'a City,
    staffing: &'a Staffing,
    seasons: &'a Seasons,
    destinations: Weighted,
}

const TALENT_HEADER: [&str; 12] = [
    "id",
    "home_lon",
    "home_lat",
    "work_lon",
    "work_lat",
    "enterprise_id",
    "field",
    "education",
    "title",
    "tier",
    "birth_year",
    "seeking",
];

/// Generates and writes `talents.csv`; returns the planned moves.
pub fn write_talents(
    city: &City,
    firms: &mut Firms,
    staffing: &Staffing,
    seasons: &Seasons,
    count: usize,
    rng: &mut Rng,
    dir: &Path,
) -> Result<((PathBuf, usize), MoveLog), GenerateError> {
    let destinations = Weighted::new(profiles::DESTINATIONS.iter().map(|d| d.1))
        .ok_or_else(|| GenerateError::Invalid("no destinations".into()))?;
    let inputs = Inputs { city, staffing, seasons, destinations };
    let width = id_width(count, 7);
    let mut out = CsvOut::create(dir, "talents.csv", &TALENT_HEADER)?;
    let mut log = MoveLog::with_capacity(count + count / 3);
    let mut history = History::default();
    for t in 0..count {
        let person = draw_person(&inputs, firms, rng);
        draw_history(&inputs, rng, &person, &mut history);
        let seeking = draw_seeking(rng, &person, &history);
        // Someone who left the city has no employer any more.
        let current = if history.leave.is_none() { person.firm } else { None };
        write_row(&mut out, firms, Num::id("T", t as u64 + 1, width).as_bytes(), &person, current, seeking)?;
        draw_earlier(&inputs, firms, rng, &person, &mut history);
        log_history(&mut log, t as u32, &inputs, firms, rng, &person, &history);
    }
    Ok((out.finish()?, log))
}

/// Employer, home and profile of one talent.
fn draw_person(inputs: &Inputs, firms: &mut Firms, rng: &mut Rng) -> Person {
    let city = inputs.city;
    let firm = rng.chance(P_EMPLOYED).then(|| firms.pick_employer(rng));
    let (home, district) = match firm {
        Some(e) => home_near(city, rng, firms.list[e as usize].location),
        None => city.grid.sample_home(rng, &city.districts),
    };
    // The order of the draws is part of the seed's output.
    let (field, education, age, title) = match firm {
        Some(e) => {
            let f = &firms.list[e as usize];
            let p = f.sector.profile();
            let education = draw_education(rng, &p.education);
            let age = draw_age(rng, p.age_median * f.youth, 0.6, education);
            let field = inputs.staffing.staff(f.sector).sample(rng);
            (field, education, age, draw_title(rng, age, education, p.title_rate))
        }
        None => {
            let education = draw_education(rng, &profiles::GRADUATE_EDUCATION);
            let age = draw_age(rng, profiles::GRADUATE_AGE_MEDIAN, 0.9, education);
            let title = draw_title(rng, age, education, profiles::GRADUATE_TITLE_RATE);
            (inputs.staffing.graduates.sample(rng), education, age, title)
        }
    };
    let tier = draw_tier(rng, age, education, title);
    Person { firm, home, district, field, education, age, title, tier }
}

/// Arrival, departure, job changes and relocations over the window.
fn draw_history(inputs: &Inputs, rng: &mut Rng, person: &Person, history: &mut History) {
    let (cal, seasons, age) = (&inputs.city.calendar, inputs.seasons, person.age);
    let leave_factor = if age < 30 {
        1.35
    } else if age < 45 {
        0.9
    } else {
        0.55
    };
    history.leave = if rng.chance(LEAVE_RATE * leave_factor) {
        Some(sample_day(rng, cal, &seasons.departure))
    } else if inputs.city.spike == Some(person.district) && rng.chance(SPIKE_EXTRA_LEAVE) {
        Some(sample_day(rng, cal, &seasons.spike))
    } else {
        None
    };
    let end = history.leave.unwrap_or(cal.days());
    let arrive_factor = if age <= 26 {
        2.6
    } else if age <= 32 {
        1.2
    } else {
        0.45
    };
    history.arrive = if rng.chance(ARRIVE_RATE * arrive_factor) {
        let months = if age <= 26 { &seasons.graduate_arrival } else { &seasons.other_arrival };
        day_between(rng, cal, months, 0, end)
    } else {
        None
    };
    let start = history.arrive.map_or(0, |d| d + 1);
    let events = &mut history.events;
    events.clear();
    if person.firm.is_some() {
        let factor = if age < 30 {
            1.5
        } else if age < 40 {
            1.0
        } else {
            0.5
        };
        for _ in 0..rng.poisson(JOB_CHANGE_RATE * factor) {
            if let Some(d) = day_between(rng, cal, &seasons.job_change, start, end) {
                events.push((d, MoveEvent::JobChange));
            }
        }
    }
    let factor = if age < 35 { 1.25 } else { 0.8 };
    for _ in 0..rng.poisson(RELOCATION_RATE * factor) {
        if let Some(d) = day_between(rng, cal, &seasons.relocation, start, end) {
            events.push((d, MoveEvent::Relocate));
        }
    }
    events.sort_unstable_by_key(|&(d, e)| (d, e.index()));
}

/// Whether someone still in the city is looking for a job: more often the
/// young and those out of work.
fn draw_seeking(rng: &mut Rng, person: &Person, history: &History) -> bool {
    let young = person.age < 30;
    history.leave.is_none()
        && rng.chance(match (person.firm.is_some(), young) {
            (true, true) => 0.06,
            (true, false) => 0.03,
            (false, true) => 0.7,
            (false, false) => 0.5,
        })
}

/// One row of `talents.csv`, in the order of [`TALENT_HEADER`].
fn write_row(
    out: &mut CsvOut,
    firms: &Firms,
    id: &[u8],
    person: &Person,
    current: Option<u32>,
    seeking: bool,
) -> Result<(), GenerateError> {
    out.field(id)?;
    out.point(Some(person.home))?;
    out.point(current.map(|e| firms.list[e as usize].location))?;
    match current {
        Some(e) => out.field(firms.id(e).as_bytes())?,
        None => out.field(b"")?,
    }
    out.field(person.field.as_bytes())?;
    out.field(person.education.code().as_bytes())?;
    out.field(person.title.code().as_bytes())?;
    out.field(person.tier.code().as_bytes())?;
    out.field(Num::uint(u64::from(REFERENCE_YEAR) - u64::from(person.age)).as_bytes())?;
    out.field(bool_field(seeking))?;
    out.end_row()
}

/// Earlier homes and employers, one per relocation and job change.
fn draw_earlier(inputs: &Inputs, firms: &mut Firms, rng: &mut Rng, person: &Person, history: &mut History) {
    let city = inputs.city;
    let relocations = history.events.iter().filter(|e| e.1 == MoveEvent::Relocate).count();
    history.homes.clear();
    history.homes.resize(relocations + 1, person.home);
    for i in (0..relocations).rev() {
        history.homes[i] = match person.firm {
            Some(e) => home_near(city, rng, firms.list[e as usize].location).0,
            None => city.grid.sample_home(rng, &city.districts).0,
        };
    }
    history.jobs.clear();
    if let Some(e) = person.firm {
        let changes = history.events.len() - relocations;
        history.jobs.resize(changes + 1, e);
        for i in (0..changes).rev() {
            history.jobs[i] = firms.pick_previous(rng, history.jobs[i + 1]);
        }
    }
}

/// Appends one talent's moves to the log: arrival, the events in day order,
/// departure.
fn log_history(
    log: &mut MoveLog,
    talent: u32,
    inputs: &Inputs,
    firms: &Firms,
    rng: &mut Rng,
    person: &Person,
    history: &History,
) {
    let mut seq = 0u8;
    let mut push = |log: &mut MoveLog, p: Planned| {
        log.push(talent, seq, &p);
        seq = seq.wrapping_add(1);
    };
    let homes = &history.homes;
    if let Some(day) = history.arrive {
        let to = Some(homes[0]);
        push(log, Planned { day, event: MoveEvent::Arrive, from: None, to, firm: None, destination: None });
    }
    let (mut h, mut j) = (0, 0);
    for &(day, event) in &history.events {
        if event == MoveEvent::Relocate {
            let (from, to) = (Some(homes[h]), Some(homes[h + 1]));
            push(log, Planned { day, event, from, to, firm: None, destination: None });
            h += 1;
        } else {
            let (from, to) = (history.jobs[j], history.jobs[j + 1]);
            let loc = |e: u32| Some(firms.list[e as usize].location);
            push(log, Planned { day, event, from: loc(from), to: loc(to), firm: Some(to), destination: None });
            j += 1;
        }
    }
    if let Some(day) = history.leave {
        let destination = Some(inputs.destinations.sample(rng) as u8);
        let from = Some(person.home);
        push(log, Planned { day, event: MoveEvent::Leave, from, to: None, firm: None, destination });
    }
}
