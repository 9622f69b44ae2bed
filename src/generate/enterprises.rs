//! The employers of the demo city.
//!
//! About 55% of enterprises sit in the parks (each with its dominant
//! industries), 35% in the urban centre around a handful of business hubs
//! (services, finance, trade), and 10% around the county seats. Sizes are
//! log-normal (most firms have 10–200 staff, a few thousands), key
//! enterprises (重点企业) lean to the large ones, and names follow the usual
//! pattern place + brand + business + legal form, e.g.
//! "济南星辰软件科技有限公司". All firms stay in memory: talents, vacancies
//! and moves refer to them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::geography::{District, Grid, Micro, offset_km};
use super::parks::Park;
use super::profiles::{self, COUNTY_PREFIXES, Sector};
use super::rng::{Alias, Rng, Weighted};
use super::writer::{CsvOut, Num, bool_field, id_width};
use super::{Codes, GenerateError};

/// Share of enterprises in parks, in the centre; the rest are in counties.
const PARK_SHARE: f64 = 0.55;
const CENTRE_SHARE: f64 = 0.35;

/// Upper bound of the import contract for `employees`.
const MAX_EMPLOYEES: f64 = 10_000_000.0;

/// Districts that make up the urban centre.
const CENTRE_DISTRICTS: &[&str] = &["370102", "370103", "370104", "370105", "370112"];

/// A business hub of the centre: (lon, lat, σx km, σy km, weight, weight
/// multiplier for finance and business services).
const HUBS: &[(f64, f64, f64, f64, f64, f64)] = &[
    (117.020, 36.665, 1.2, 1.0, 1.0, 1.0),  // Quancheng Road / Daming Lake
    (117.055, 36.648, 1.0, 0.8, 0.8, 3.0),  // central business district
    (117.080, 36.656, 4.0, 0.8, 0.9, 1.5),  // Jingshi Road corridor
    (116.990, 36.680, 1.5, 1.2, 0.6, 0.5),  // Jinan Station / Tianqiao
    (116.890, 36.668, 1.5, 1.2, 0.5, 1.0),  // West Station
    (117.065, 36.680, 1.2, 1.0, 0.5, 0.7),  // Hongjialou / university
    (116.980, 36.645, 1.5, 1.2, 0.6, 0.8),  // Shizhong
    (116.995, 36.652, 1.2, 1.0, 0.6, 1.2),  // Jingsi Road / Daguanyuan
    (117.005, 36.625, 1.5, 1.2, 0.3, 0.6),  // Erqi / Yingxiongshan
    (116.940, 36.635, 1.5, 1.2, 0.25, 0.5), // Lashan
    (116.935, 36.660, 2.0, 1.5, 0.4, 0.5),  // Huaiyin
    (117.120, 36.720, 2.0, 1.5, 0.3, 0.3),  // Wangsheren
    (117.175, 36.665, 1.0, 0.8, 0.5, 3.0),  // Hanyu financial hub
];

/// County seats: (district code, lon, lat).
const COUNTY_SEATS: &[(&str, f64, f64)] = &[
    ("370113", 116.755, 36.560),
    ("370124", 116.450, 36.285),
    ("370125", 117.170, 36.975),
    ("370126", 117.150, 37.310),
    ("370181", 117.500, 36.700),
];

/// Where an enterprise is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Park(usize),
    Centre,
    County(usize),
}

/// One employer.
#[derive(Debug, Clone)]
pub struct Firm {
    pub location: Micro,
    /// Division code.
    pub industry: &'static str,
    pub sector: Sector,
    pub employees: u32,
    pub key: bool,
    pub zone: Zone,
    pub name: String,
    /// In one of the promoted industry chains.
    pub chain: bool,
    /// Multiplier on the staff's typical age above 22 (parks with young staff < 1).
    pub youth: f64,
}

/// All employers, with samplers for talents' workplaces.
pub struct Firms {
    pub list: Vec<Firm>,
    /// Picks a firm in proportion to the talents it employs.
    by_talent: Alias,
    /// Same, within one division (index = division number).
    by_industry: Vec<Option<(Vec<u32>, Alias)>>,
    /// Talents assigned so far, to keep each firm within its head count.
    assigned: Vec<u32>,
    id_width: usize,
}

impl Firms {
    pub fn id(&self, index: u32) -> Num {
        Num::id("E", u64::from(index) + 1, self.id_width)
    }

    /// Talent weight of a firm: employees × share recorded as talent.
    fn talent_weight(f: &Firm) -> f64 {
        f64::from(f.employees) * f.sector.profile().intensity
    }

    /// A workplace for a talent, weighted by talent head count and kept
    /// within each firm's employees.
    pub fn pick_employer(&mut self, rng: &mut Rng) -> u32 {
        let mut e = self.by_talent.sample(rng);
        for _ in 0..8 {
            if self.assigned[e] < self.list[e].employees {
                break;
            }
            e = self.by_talent.sample(rng);
        }
        self.assigned[e] += 1;
        e as u32
    }

    /// A talent's previous employer before moving to `next`: usually the
    /// same division, never `next` itself (unless it is the only firm).
    pub fn pick_previous(&self, rng: &mut Rng, next: u32) -> u32 {
        let division = self.list[next as usize].industry.parse::<usize>().unwrap_or(0);
        for _ in 0..6 {
            let candidate = match (&self.by_industry.get(division), rng.chance(0.6)) {
                (Some(Some((members, w))), true) => members[w.sample(rng)],
                _ => self.by_talent.sample(rng) as u32,
            };
            if candidate != next {
                return candidate;
            }
        }
        next
    }
}

/// Generates the employers.
pub fn generate_firms(
    rng: &mut Rng,
    codes: &Codes,
    districts: &[District],
    parks: &[Park],
    grid: &Grid,
    count: usize,
    employed_talents: f64,
) -> Result<Firms, GenerateError> {
    let centre: Vec<usize> = districts
        .iter()
        .enumerate()
        .filter(|(_, d)| CENTRE_DISTRICTS.contains(&d.code.as_str()))
        .map(|(i, _)| i)
        .collect();
    let counties: Vec<(usize, f64, f64)> = COUNTY_SEATS
        .iter()
        .filter_map(|&(code, lon, lat)| districts.iter().position(|d| d.code == code).map(|i| (i, lon, lat)))
        .collect();
    if centre.is_empty() || counties.is_empty() {
        return Err(GenerateError::Fixture("the district fixture lacks Jinan's centre or counties".into()));
    }
    let park_pick = Weighted::new(parks.iter().map(|p| p.share));
    let county_pick =
        Weighted::new(counties.iter().map(|_| 1.0)).ok_or_else(|| GenerateError::Fixture("no counties".into()))?;
    let hub_plain = Weighted::new(HUBS.iter().map(|h| h.4)).ok_or_else(|| GenerateError::Fixture("no hubs".into()))?;
    let hub_finance =
        Weighted::new(HUBS.iter().map(|h| h.4 * h.5)).ok_or_else(|| GenerateError::Fixture("no hubs".into()))?;
    let centre_mix = codes.mix(profiles::CENTRE_INDUSTRIES)?;
    let county_mix = codes.mix(profiles::COUNTY_INDUSTRIES)?;
    let park_mixes =
        parks.iter().map(|p| codes.mix(profiles::park_industries(p.kind))).collect::<Result<Vec<_>, _>>()?;

    let mut names = HashSet::with_capacity(count);
    let mut list = Vec::with_capacity(count);
    for _ in 0..count {
        let u = rng.f64();
        let zone = match &park_pick {
            Some(pp) if u < PARK_SHARE => Zone::Park(pp.sample(rng)),
            _ if u < PARK_SHARE + CENTRE_SHARE => Zone::Centre,
            _ => Zone::County(county_pick.sample(rng)),
        };
        let industry = match zone {
            Zone::Park(p) => park_mixes[p].sample(rng),
            Zone::Centre => centre_mix.sample(rng),
            Zone::County(_) => county_mix.sample(rng),
        };
        let sector = Sector::of_division(industry);
        let location = match zone {
            Zone::Park(p) => parks[p].sample(rng),
            Zone::Centre => {
                let hubs = if matches!(sector, Sector::Finance | Sector::Business | Sector::RealEstate) {
                    &hub_finance
                } else {
                    &hub_plain
                };
                loop {
                    let h = HUBS[hubs.sample(rng)];
                    let m = gaussian_point(rng, h.0, h.1, h.2, h.3);
                    if grid.district_of(districts, m).is_some_and(|d| centre.contains(&d))
                        && !parks.iter().any(|p| p.contains(m.point()))
                    {
                        break m;
                    }
                }
            }
            Zone::County(c) => {
                let (d, lon, lat) = counties[c];
                loop {
                    let m = gaussian_point(rng, lon, lat, 2.5, 2.5);
                    if grid.district_of(districts, m) == Some(d) && !parks.iter().any(|p| p.contains(m.point())) {
                        break m;
                    }
                }
            }
        };
        let profile = sector.profile();
        let zone_size = match zone {
            Zone::Park(_) => 1.3,
            Zone::Centre => 1.0,
            Zone::County(_) => 0.8,
        };
        let employees = rng.lognormal(profile.size * zone_size, 1.2).clamp(3.0, 50_000.0).round() as u32;
        let key = rng.chance((0.033 * (f64::from(employees) / 40.0).powf(0.6)).min(0.9));
        let county_prefix = match zone {
            Zone::County(c) => {
                COUNTY_PREFIXES.iter().find(|(code, _)| districts[counties[c].0].code == *code).map(|(_, p)| *p)
            }
            _ => None,
        };
        let name = company_name(rng, sector, employees, county_prefix, &mut names);
        let youth = match zone {
            Zone::Park(p) => parks[p].youth,
            _ => 1.0,
        };
        list.push(Firm {
            location,
            industry,
            sector,
            employees,
            key,
            zone,
            name,
            chain: codes.in_chain(industry),
            youth,
        });
    }

    // Keep head counts above the talents they employ, whatever the ratio
    // of talents to enterprises asked for.
    let capacity: f64 = list.iter().map(Firms::talent_weight).sum();
    if capacity > 0.0 && employed_talents / capacity > 0.6 {
        let factor = employed_talents / capacity / 0.6;
        for f in &mut list {
            f.employees = (f64::from(f.employees) * factor).ceil().min(MAX_EMPLOYEES) as u32;
        }
    }

    let by_talent = Alias::new(&list.iter().map(Firms::talent_weight).collect::<Vec<_>>())
        .ok_or_else(|| GenerateError::Invalid("at least one enterprise is needed".into()))?;
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); 100];
    for (i, f) in list.iter().enumerate() {
        if let Some(m) = f.industry.parse::<usize>().ok().and_then(|d| members.get_mut(d)) {
            m.push(i as u32);
        }
    }
    let by_industry = members
        .into_iter()
        .map(|m| {
            let weights: Vec<f64> = m.iter().map(|&i| Firms::talent_weight(&list[i as usize])).collect();
            Alias::new(&weights).map(|w| (m, w))
        })
        .collect();
    let assigned = vec![0; list.len()];
    Ok(Firms { id_width: id_width(list.len(), 6), list, by_talent, by_industry, assigned })
}

/// A point scattered around (lon, lat) with standard deviations in km.
fn gaussian_point(rng: &mut Rng, lon: f64, lat: f64, sx: f64, sy: f64) -> Micro {
    let (x, y) = offset_km(lon, lat, rng.normal() * sx, rng.normal() * sy);
    Micro::from_deg(x, y)
}

/// A unique, plausible company name.
fn company_name(
    rng: &mut Rng,
    sector: Sector,
    employees: u32,
    county: Option<&str>,
    used: &mut HashSet<String>,
) -> String {
    let words = sector.profile().name_words;
    let mut attempt = 0u32;
    loop {
        let mut brand = String::new();
        let first = rng.pick::<&str>(profiles::BRAND_FIRST);
        brand.push_str(first);
        let second = rng.pick(profiles::BRAND_SECOND);
        if brand == *second {
            continue;
        }
        brand.push_str(second);
        if attempt >= 6 {
            let third = rng.pick::<&str>(profiles::BRAND_SECOND);
            brand.push_str(third); // three-character brands widen the space
        }
        if attempt >= 200 {
            brand.push_str(&attempt.to_string()); // cannot happen in practice; guarantees termination
        }
        let word = rng.pick(words);
        let form = if employees > 1500 && rng.chance(0.4) {
            "集团有限公司"
        } else if rng.chance(if employees > 500 { 0.3 } else { 0.1 }) {
            "股份有限公司"
        } else if rng.chance(0.08) {
            "有限责任公司"
        } else {
            "有限公司"
        };
        let u = rng.f64();
        let name = match county {
            Some(c) if u < 0.5 => format!("{c}{brand}{word}{form}"),
            Some(_) if u < 0.8 => format!("济南{brand}{word}{form}"),
            Some(_) => format!("山东{brand}{word}{form}"),
            None if u < 0.55 => format!("济南{brand}{word}{form}"),
            None if u < 0.95 => format!("山东{brand}{word}{form}"),
            None => format!("{brand}{word}（济南）有限公司"),
        };
        attempt += 1;
        if used.insert(name.clone()) {
            return name;
        }
    }
}

/// Writes `enterprises.csv`.
pub fn write_enterprises(firms: &Firms, parks: &[Park], dir: &Path) -> Result<(PathBuf, usize), GenerateError> {
    let mut out =
        CsvOut::create(dir, "enterprises.csv", &["id", "name", "lon", "lat", "industry", "employees", "key", "park"])?;
    for (i, f) in firms.list.iter().enumerate() {
        out.field(firms.id(i as u32).as_bytes())?;
        out.field(f.name.as_bytes())?;
        out.point(Some(f.location))?;
        out.field(f.industry.as_bytes())?;
        out.field(Num::uint(u64::from(f.employees)).as_bytes())?;
        out.field(bool_field(f.key))?;
        match f.zone {
            Zone::Park(p) => out.field(parks[p].id.as_bytes())?,
            _ => out.field(b"")?,
        }
        out.end_row()?;
    }
    out.finish()
}
