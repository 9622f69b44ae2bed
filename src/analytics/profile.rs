//! Area profiles (OnTheMap's "Area Profile" for a talent office): one area's
//! talents, enterprises, openings, shortage, commute, distance and
//! direction, and flows, as published tables (`docs/areas.md`).
//!
//! An area is a district or park (membership by the regions a record was
//! assigned to, as everywhere else) or a study area (talents by the cells of
//! its [`Footprint`], enterprises and openings inside its exact shape).
//! Talent counts are [`Tally`]s published through the caller's
//! [`Disclosure`]; every table row is its own published count, so a total
//! minus its rows is a difference of independently perturbed numbers
//! (`docs/privacy.md`). Enterprise and opening numbers are exact: enterprise
//! records are not personal data.

use serde::Serialize;

use super::commute::CommuteIndex;
use super::commute::indicators::{Summary, summarize};
use super::flows::{self, SeriesMonth};
use super::privacy::{Disclosure, Tally};
use super::shortage::areas::{self as shortage_areas, Area, FieldRow};
use super::shortage::{CatchmentParams, DEFAULT_RADIUS_M, Decay};
pub use crate::areas::Place;
use crate::model::{Education, Tier, Title};
use crate::snapshot::{Snapshot, key_to_lonlat};

/// Lower edges of the five-year age bands (the first band is everyone
/// younger than 20, the last everyone 65 and older).
pub const AGE_EDGES: [u16; 11] = [0, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65];
/// Lower edges of the distance bands of the distance/direction table, km.
pub const DISTANCE_EDGES_KM: [f64; 4] = [0.0, 5.0, 10.0, 25.0];
/// Compass directions, clockwise from north, 45° each.
pub const DIRECTIONS: [&str; 8] = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];
/// Closer than this (km), a commute has no direction: counted apart.
pub const SAME_PLACE_KM: f64 = 0.1;
/// Key enterprises listed.
pub const KEY_ENTERPRISES: usize = 20;
/// Shortage fields listed.
pub const SHORTAGE_FIELDS: usize = 5;
/// Months of flows in a profile.
pub const FLOW_MONTHS: u32 = 12;

/// One row of a published table.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ProfileRow {
    /// The code (field, division, chain, education, …) or band label.
    pub key: String,
    pub name_zh: String,
    pub name_en: String,
    pub value: u64,
}

/// A published table.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ProfileTable {
    /// `talents_by_field`, `seekers_by_field`, `talents_by_education`,
    /// `talents_by_title`, `talents_by_tier`, `talents_by_age`,
    /// `workers_by_field`, `enterprises_by_industry`,
    /// `employees_by_industry`, `enterprises_by_chain`, `openings_by_field`,
    /// `openings_by_education`.
    pub id: &'static str,
    pub title_zh: &'static str,
    pub title_en: &'static str,
    /// Whether the values are talent counts (published under the caller's
    /// disclosure) rather than enterprise data (exact).
    pub talent_counts: bool,
    pub rows: Vec<ProfileRow>,
}

/// The headline numbers.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ProfileHeadline {
    /// Talents living in the area.
    pub residents: u64,
    /// Residents looking for work.
    pub seekers: u64,
    /// Talents working in the area.
    pub workers: u64,
    pub enterprises: u64,
    pub key_enterprises: u64,
    pub employees: u64,
    /// Openings of the open vacancies of the area's enterprises.
    pub openings: u64,
}

/// A key enterprise of the area.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct KeyEnterprise {
    pub id: String,
    pub name: String,
    /// Industry division code.
    pub industry: Option<String>,
    pub employees: u32,
    pub openings: u32,
    pub lon: f64,
    pub lat: f64,
}

/// One field the area is short of.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ShortageField {
    pub field: String,
    pub name_zh: String,
    pub name_en: String,
    /// Open openings.
    pub demand: f64,
    /// Seekers living in the area (published).
    pub supply: u64,
    /// The shortage index and its credible interval (`docs/shortage.md`).
    pub index: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub low_data: bool,
}

/// Commute distance bands × compass directions, as OnTheMap's
/// Distance/Direction report: for the area's workers the direction and
/// distance from their workplace to their home, for its employed residents
/// from their home to their workplace (straight line).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct DistanceDirection {
    /// Band labels (`0–5 km`, …, `25+ km`).
    pub bands: Vec<String>,
    /// `N`, `NE`, …, `NW`.
    pub directions: Vec<&'static str>,
    /// `[band][direction]`, published counts.
    pub workers: Vec<Vec<u64>>,
    /// Workers living within 100 m of their workplace (no direction).
    pub workers_same_place: u64,
    pub residents: Vec<Vec<u64>>,
    pub residents_same_place: u64,
}

/// Arrivals and departures of the last months (districts and parks).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlowTable {
    pub from: String,
    pub to: String,
    /// Sums of the published monthly values.
    pub arrivals: u64,
    pub departures: u64,
    pub net: i64,
    pub months: Vec<SeriesMonth>,
}

/// A whole profile.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Profile {
    pub headline: ProfileHeadline,
    pub tables: Vec<ProfileTable>,
    pub key_enterprises: Vec<KeyEnterprise>,
    /// The fields the area is most short of (index descending).
    pub shortage: Vec<ShortageField>,
    /// Commute indicators of the area's workers and, in
    /// `residents_commute`, of its employed residents.
    pub commute: Summary,
    pub distance_direction: DistanceDirection,
    /// `null` without moves in the data.
    pub flows: Option<FlowTable>,
}

/// Raw tallies of one pass over the talents.
struct TalentCounts {
    residents: Tally,
    seekers: Tally,
    workers: Tally,
    field: Vec<Tally>,
    seekers_field: Vec<Tally>,
    workers_field: Vec<Tally>,
    education: [Tally; 4],
    title: [Tally; 5],
    tier: [Tally; 6],
    age: [Tally; AGE_EDGES.len()],
    workers_dd: [[Tally; 8]; DISTANCE_EDGES_KM.len()],
    workers_here: Tally,
    residents_dd: [[Tally; 8]; DISTANCE_EDGES_KM.len()],
    residents_here: Tally,
}

/// Distance band and compass sector of the trip from `a` to `b`
/// (`None` closer than [`SAME_PLACE_KM`]).
pub fn band_and_direction(a: [f64; 2], b: [f64; 2]) -> Option<(usize, usize)> {
    let km = super::commute::distance::haversine_km(a, b);
    if km < SAME_PLACE_KM {
        return None;
    }
    let band = DISTANCE_EDGES_KM.partition_point(|&e| e <= km).saturating_sub(1);
    let dx = (b[0] - a[0]) * ((a[1] + b[1]) / 2.0).to_radians().cos();
    let dy = b[1] - a[1];
    let bearing = dx.atan2(dy).to_degrees().rem_euclid(360.0);
    let sector = (((bearing + 22.5) / 45.0).floor() as usize) % 8;
    Some((band, sector))
}

fn count_talents(snap: &Snapshot, place: Place<'_>) -> TalentCounts {
    let nf = snap.taxonomy.fields().len();
    let none = Tally::default();
    let mut c = TalentCounts {
        residents: none,
        seekers: none,
        workers: none,
        field: vec![none; nf],
        seekers_field: vec![none; nf],
        workers_field: vec![none; nf],
        education: [none; 4],
        title: [none; 5],
        tier: [none; 6],
        age: [none; AGE_EDGES.len()],
        workers_dd: [[none; 8]; DISTANCE_EDGES_KM.len()],
        workers_here: none,
        residents_dd: [[none; 8]; DISTANCE_EDGES_KM.len()],
        residents_here: none,
    };
    let field = |i: u8| (i as usize).min(nf.saturating_sub(1));
    for t in &snap.talents {
        let (home, work) = (place.lives(t), place.works(t));
        if !home && !work {
            continue;
        }
        let trip = (t.has_work() && t.work != crate::snapshot::NO_KEY)
            .then(|| band_and_direction(key_to_lonlat(t.home), key_to_lonlat(t.work)));
        if home {
            c.residents.add(t.rkey);
            if nf > 0 {
                c.field[field(t.field)].add(t.rkey);
            }
            if t.seeking() {
                c.seekers.add(t.rkey);
                if nf > 0 {
                    c.seekers_field[field(t.field)].add(t.rkey);
                }
            }
            c.education[t.education as usize & 3].add(t.rkey);
            c.title[(t.title as usize).min(4)].add(t.rkey);
            c.tier[(t.tier as usize).min(5)].add(t.rkey);
            let age = snap.reference_year.saturating_sub(t.birth_year);
            c.age[AGE_EDGES.partition_point(|&e| e <= age).saturating_sub(1)].add(t.rkey);
            match trip {
                Some(Some((band, dir))) => c.residents_dd[band][dir].add(t.rkey),
                Some(None) => c.residents_here.add(t.rkey),
                None => {}
            }
        }
        if work {
            c.workers.add(t.rkey);
            if nf > 0 {
                c.workers_field[field(t.field)].add(t.rkey);
            }
            // The workers' view: from the workplace to the home.
            match trip {
                Some(Some((band, dir))) => c.workers_dd[band][(dir + 4) % 8].add(t.rkey),
                Some(None) => c.workers_here.add(t.rkey),
                None => {}
            }
        }
    }
    c
}

/// Enterprise and opening numbers of the area (exact).
struct EnterpriseCounts {
    enterprises: u64,
    key: u64,
    employees: u64,
    by_industry: Vec<(u64, u64)>,
    key_list: Vec<u32>,
    openings: u64,
    openings_field: Vec<u64>,
    openings_education: [u64; 4],
    hosted: Vec<bool>,
}

fn count_enterprises(snap: &Snapshot, place: Place<'_>) -> EnterpriseCounts {
    let ni = snap.taxonomy.industries().len();
    let nf = snap.taxonomy.fields().len();
    let mut c = EnterpriseCounts {
        enterprises: 0,
        key: 0,
        employees: 0,
        by_industry: vec![(0, 0); ni],
        key_list: Vec::new(),
        openings: 0,
        openings_field: vec![0; nf],
        openings_education: [0; 4],
        hosted: vec![false; snap.enterprises.len()],
    };
    for (i, e) in snap.enterprises.iter().enumerate() {
        if !place.hosts(e) {
            continue;
        }
        c.hosted[i] = true;
        c.enterprises += 1;
        c.employees += e.employees as u64;
        if e.is_key {
            c.key += 1;
            c.key_list.push(i as u32);
        }
        if let Some(slot) = c.by_industry.get_mut(e.industry as usize) {
            slot.0 += 1;
            slot.1 += e.employees as u64;
        }
    }
    for v in snap.vacancies.iter().filter(|v| v.open && c.hosted.get(v.enterprise as usize).copied().unwrap_or(false)) {
        let n = v.openings as u64;
        c.openings += n;
        if let Some(slot) = c.openings_field.get_mut(v.field as usize) {
            *slot += n;
        }
        c.openings_education[v.education as usize & 3] += n;
    }
    c.key_list.sort_by(|&a, &b| {
        let (ea, eb) = (&snap.enterprises[a as usize], &snap.enterprises[b as usize]);
        eb.employees.cmp(&ea.employees).then(ea.id.cmp(&eb.id))
    });
    c
}

/// Education, title and tier names (the codes are the keys).
const EDUCATION_NAMES: [(&str, &str); 4] =
    [("专科", "Associate"), ("本科", "Bachelor"), ("硕士", "Master"), ("博士", "Doctorate")];
const TITLE_NAMES: [(&str, &str); 5] = [
    ("无职称", "None"),
    ("初级", "Junior"),
    ("中级", "Intermediate"),
    ("副高级", "Associate senior"),
    ("正高级", "Senior"),
];
const TIER_NAMES: [(&str, &str); 6] =
    [("未认定", "None"), ("E类", "Tier E"), ("D类", "Tier D"), ("C类", "Tier C"), ("B类", "Tier B"), ("A类", "Tier A")];

fn age_label(i: usize) -> (String, String) {
    match (AGE_EDGES[i], AGE_EDGES.get(i + 1)) {
        (0, Some(&hi)) => (format!("{hi}岁以下"), format!("under {hi}")),
        (lo, Some(&hi)) => (format!("{lo}–{}岁", hi - 1), format!("{lo}–{}", hi - 1)),
        (lo, None) => (format!("{lo}岁及以上"), format!("{lo} and over")),
    }
}

fn band_label(i: usize) -> String {
    match DISTANCE_EDGES_KM.get(i + 1) {
        Some(hi) => format!("{}–{} km", DISTANCE_EDGES_KM[i], hi),
        None => format!("{}+ km", DISTANCE_EDGES_KM[i]),
    }
}

/// Builds the profile of `place` under `d` (`city_d` for the city-wide
/// counts behind the shortage index). `commute` is the snapshot's commute
/// index.
pub fn profile(
    snap: &Snapshot,
    commute: &CommuteIndex,
    place: Place<'_>,
    d: Disclosure,
    city_d: Disclosure,
) -> Profile {
    let t = count_talents(snap, place);
    let e = count_enterprises(snap, place);
    let tax = &snap.taxonomy;
    let field_rows = |tallies: &[Tally]| -> Vec<ProfileRow> {
        tax.fields()
            .iter()
            .zip(tallies)
            .map(|(f, &n)| ProfileRow {
                key: f.code.clone(),
                name_zh: f.name_zh.clone(),
                name_en: f.name_en.clone(),
                value: d.count(n),
            })
            .filter(|r| r.value > 0)
            .collect()
    };
    let named = |names: &[(&str, &str)], codes: &[&str], tallies: &[Tally]| -> Vec<ProfileRow> {
        names
            .iter()
            .zip(codes)
            .zip(tallies)
            .map(|((&(zh, en), &code), &n)| ProfileRow {
                key: code.to_string(),
                name_zh: zh.to_string(),
                name_en: en.to_string(),
                value: d.count(n),
            })
            .collect()
    };
    let codes = |all: Vec<&'static str>| all;
    let education_codes = codes(Education::ALL.iter().map(|e| e.code()).collect());
    let title_codes = codes(Title::ALL.iter().map(|e| e.code()).collect());
    let tier_codes = codes(Tier::ALL.iter().map(|e| e.code()).collect());
    let ages: Vec<ProfileRow> = (0..AGE_EDGES.len())
        .map(|i| {
            let (zh, en) = age_label(i);
            ProfileRow { key: en.clone(), name_zh: zh, name_en: en, value: d.count(t.age[i]) }
        })
        .collect();
    let industry_rows = |pick: fn(&(u64, u64)) -> u64| -> Vec<ProfileRow> {
        tax.industries()
            .iter()
            .zip(&e.by_industry)
            .map(|(i, c)| ProfileRow {
                key: i.code.clone(),
                name_zh: i.name_zh.clone(),
                name_en: i.name_en.clone(),
                value: pick(c),
            })
            .filter(|r| r.value > 0)
            .collect()
    };
    let chain_rows: Vec<ProfileRow> = tax
        .chains()
        .iter()
        .map(|ch| {
            let value = ch
                .divisions
                .iter()
                .filter_map(|code| tax.industry_index(code))
                .map(|i| e.by_industry.get(i as usize).map_or(0, |c| c.0))
                .sum();
            ProfileRow { key: ch.id.clone(), name_zh: ch.name_zh.clone(), name_en: ch.name_en.clone(), value }
        })
        .collect();
    let opening_field_rows: Vec<ProfileRow> = tax
        .fields()
        .iter()
        .zip(&e.openings_field)
        .map(|(f, &n)| ProfileRow {
            key: f.code.clone(),
            name_zh: f.name_zh.clone(),
            name_en: f.name_en.clone(),
            value: n,
        })
        .filter(|r| r.value > 0)
        .collect();
    let opening_education_rows: Vec<ProfileRow> = EDUCATION_NAMES
        .iter()
        .zip(&education_codes)
        .zip(e.openings_education)
        .map(|((&(zh, en), &code), n)| ProfileRow {
            key: code.to_string(),
            name_zh: zh.into(),
            name_en: en.into(),
            value: n,
        })
        .collect();
    let table =
        |id, title_zh, title_en, talent_counts, rows| ProfileTable { id, title_zh, title_en, talent_counts, rows };
    let tables = vec![
        table("talents_by_field", "常住人才·学科", "Resident talents by field", true, field_rows(&t.field)),
        table("seekers_by_field", "求职人才·学科", "Job seekers by field", true, field_rows(&t.seekers_field)),
        table("workers_by_field", "就业人才·学科", "Workers by field", true, field_rows(&t.workers_field)),
        table(
            "talents_by_education",
            "常住人才·学历",
            "Resident talents by education",
            true,
            named(&EDUCATION_NAMES, &education_codes, &t.education),
        ),
        table(
            "talents_by_title",
            "常住人才·职称",
            "Resident talents by title",
            true,
            named(&TITLE_NAMES, &title_codes, &t.title),
        ),
        table(
            "talents_by_tier",
            "常住人才·人才层次",
            "Resident talents by tier",
            true,
            named(&TIER_NAMES, &tier_codes, &t.tier),
        ),
        table("talents_by_age", "常住人才·年龄", "Resident talents by age", true, ages),
        table(
            "enterprises_by_industry",
            "企业·行业大类",
            "Enterprises by industry division",
            false,
            industry_rows(|c| c.0),
        ),
        table(
            "employees_by_industry",
            "从业人数·行业大类",
            "Employees by industry division",
            false,
            industry_rows(|c| c.1),
        ),
        table("enterprises_by_chain", "企业·产业链", "Enterprises by industry chain", false, chain_rows),
        table("openings_by_field", "空缺岗位·学科", "Openings by field", false, opening_field_rows),
        table("openings_by_education", "空缺岗位·学历", "Openings by education", false, opening_education_rows),
    ];
    let key_enterprises = e
        .key_list
        .iter()
        .take(KEY_ENTERPRISES)
        .map(|&i| {
            let en = &snap.enterprises[i as usize];
            KeyEnterprise {
                id: en.id.clone(),
                name: en.name.clone(),
                industry: tax.industry(en.industry).map(|c| c.code.clone()),
                employees: en.employees,
                openings: en.openings,
                lon: en.lon,
                lat: en.lat,
            }
        })
        .collect();
    let commute_summary = {
        let counts = match place {
            Place::Region(r) => commute.area(Some(r)).clone(),
            Place::Study(_) => commute.place(snap, &|t| place.lives(t), &|t| place.works(t)),
        };
        summarize(&counts, d)
    };
    let grid = |g: &[[Tally; 8]; DISTANCE_EDGES_KM.len()]| -> Vec<Vec<u64>> {
        g.iter().map(|row| row.iter().map(|&n| d.count(n)).collect()).collect()
    };
    let distance_direction = DistanceDirection {
        bands: (0..DISTANCE_EDGES_KM.len()).map(band_label).collect(),
        directions: DIRECTIONS.to_vec(),
        workers: grid(&t.workers_dd),
        workers_same_place: d.count(t.workers_here),
        residents: grid(&t.residents_dd),
        residents_same_place: d.count(t.residents_here),
    };
    Profile {
        headline: ProfileHeadline {
            residents: d.count(t.residents),
            seekers: d.count(t.seekers),
            workers: d.count(t.workers),
            enterprises: e.enterprises,
            key_enterprises: e.key,
            employees: e.employees,
            openings: e.openings,
        },
        tables,
        key_enterprises,
        shortage: shortage_fields(snap, place, d, city_d),
        commute: commute_summary,
        distance_direction,
        flows: flow_table(snap, place, d),
    }
}

/// The fields the area is most short of, with the default smoothing and
/// catchment of `/api/shortage`.
fn shortage_fields(snap: &Snapshot, place: Place<'_>, d: Disclosure, city_d: Disclosure) -> Vec<ShortageField> {
    use super::shortage::index::{DEFAULT_INTERVAL, DEFAULT_PRIOR, Smoothing};
    let template = shortage_areas::Query {
        field: 0,
        narrow: Default::default(),
        smoothing: Smoothing {
            prior: DEFAULT_PRIOR,
            interval: DEFAULT_INTERVAL,
            disclosure: d,
            city_disclosure: city_d,
        },
        catchment: CatchmentParams { radius_m: DEFAULT_RADIUS_M, decay: Decay::default() },
    };
    let rows: Vec<FieldRow> = match place {
        Place::Region(r) => shortage_areas::fields_in(snap, Area::Region(r), &template),
        Place::Study(f) => shortage_areas::fields_in_ranges(snap, f.ranges(), &template),
    };
    rows.into_iter()
        .filter(|r| r.figures.demand > 0.0)
        .take(SHORTAGE_FIELDS)
        .map(|r| {
            let entry = snap.taxonomy.field(r.field);
            let (low, high) = r.estimate.interval.map_or((None, None), |(l, h)| (Some(round4(l)), Some(round4(h))));
            ShortageField {
                field: entry.map(|e| e.code.clone()).unwrap_or_default(),
                name_zh: entry.map(|e| e.name_zh.clone()).unwrap_or_default(),
                name_en: entry.map(|e| e.name_en.clone()).unwrap_or_default(),
                demand: r.figures.demand,
                supply: d.count(r.figures.supply),
                index: round4(r.estimate.index),
                low,
                high,
                low_data: r.estimate.low_data,
            }
        })
        .collect()
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// The last [`FLOW_MONTHS`] months of the data for the area, up to the
/// snapshot's month for a past month's view.
fn flow_table(snap: &Snapshot, place: Place<'_>, d: Disclosure) -> Option<FlowTable> {
    let fi = &snap.flows;
    if fi.months == 0 {
        return None;
    }
    let data_last = fi.first_month + fi.months as u32 - 1;
    let last = snap.as_of.map_or(data_last, |m| m.min(data_last));
    if last < fi.first_month {
        return None;
    }
    let first = last.saturating_sub(FLOW_MONTHS - 1).max(fi.first_month);
    let months = flows::series(snap, place, &flows::Scope::default(), first, last, d);
    Some(FlowTable {
        from: flows::month_label(first),
        to: flows::month_label(last),
        arrivals: months.iter().filter_map(|m| m.arrivals).sum(),
        departures: months.iter().filter_map(|m| m.departures).sum(),
        net: months.iter().filter_map(|m| m.net).sum(),
        months,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_follow_the_compass() {
        let here = [117.0, 36.6];
        let at = |dlon: f64, dlat: f64| band_and_direction(here, [here[0] + dlon, here[1] + dlat]);
        assert_eq!(at(0.0, 0.02), Some((0, 0))); // 2.2 km north
        assert_eq!(at(0.02, 0.02), Some((0, 1))); // north-east
        assert_eq!(at(0.1, 0.0), Some((1, 2))); // 8.9 km east
        assert_eq!(at(0.0, -0.2), Some((2, 4))); // 22 km south
        assert_eq!(at(-0.4, 0.0), Some((3, 6))); // 36 km west
        assert_eq!(at(-0.02, 0.02), Some((0, 7))); // north-west
        assert_eq!(at(0.0001, 0.0), None); // 9 m: same place
    }
}
