//! A synthetic demo city: a complete, plausible set of import files laid on
//! the real Jinan district boundaries.
//!
//! Real talent data is personal and never leaves a city's network, yet the
//! service has to be developed, demonstrated and load-tested. [`generate`]
//! writes regions, enterprises, stations, vacancies, talents and moves in
//! the import contract's formats, at any scale up to a large city (4 million
//! talents), deterministically: the same seed gives the same bytes.
//!
//! The city is built in layers, one file each:
//! - `geography`: districts (real), residential density, point-in-district;
//! - `parks`: synthetic industrial parks inside the districts;
//! - `profiles`: sector traits (disciplines, education, age, titles, size);
//! - `enterprises`, `talents`, `vacancies`, `stations`, `moves`: the records;
//! - `calendar`, `rng`, `writer`, `regions`: time window, randomness, output.
//!
//! It also plants the problems the analytics should find: fields demanded
//! far beyond the seeking supply, a park full of young workers without a
//! metro, a district whose departures climb in the last months.

mod calendar;
mod english;
mod enterprises;
mod geography;
mod moves;
mod parks;
mod profiles;
mod regions;
pub(crate) mod rng;
mod stations;
mod talents;
mod vacancies;
mod writer;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use calendar::Calendar;
use geography::{District, Grid};
use parks::Park;
use profiles::{Codes, Staffing};
use rng::Rng;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Seed of all randomness: the same seed gives the same files.
    pub seed: u64,
    /// Number of talents; vacancy rows (≈ talents / 4) and moves
    /// (≈ 1.25 × talents) scale with it.
    pub talents: usize,
    /// Number of enterprises (at least 1).
    pub enterprises: usize,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions { seed: 42, talents: 100_000, enterprises: 4_000 }
    }
}

/// What was written: (kind, path, records) in import order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateSummary {
    pub files: Vec<(String, PathBuf, usize)>,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("bundled fixture: {0}")]
    Fixture(String),
    #[error("code tables: {0}")]
    Taxonomy(String),
    #[error("invalid options: {0}")]
    Invalid(String),
}

/// The fixed ground of the city: map, parks, density, time.
pub(crate) struct City {
    districts: Vec<District>,
    parks: Vec<Park>,
    grid: Grid,
    calendar: Calendar,
    /// District whose departures climb at the end of the window.
    spike: Option<usize>,
}

/// Independent random streams, so that parts of the city do not shift when
/// another part draws more or fewer numbers.
mod stream {
    pub const PARKS: u64 = 1;
    pub const FIRMS: u64 = 2;
    pub const STATIONS: u64 = 3;
    pub const VACANCIES: u64 = 4;
    pub const TALENTS: u64 = 5;
}

/// Writes a complete demo city into `out_dir` (created if missing): the
/// import files `regions.geojson`, `enterprises.csv`, `stations.csv`,
/// `vacancies.csv`, `talents.csv`, `moves.csv`, and a `README.txt`.
pub fn generate(opts: &GenerateOptions, out_dir: &Path) -> Result<GenerateSummary, GenerateError> {
    if opts.enterprises == 0 {
        return Err(GenerateError::Invalid("at least one enterprise is needed".into()));
    }
    if opts.talents > u32::MAX as usize / 2 || opts.enterprises > u32::MAX as usize / 2 {
        return Err(GenerateError::Invalid("too many records".into()));
    }
    std::fs::create_dir_all(out_dir).map_err(|source| GenerateError::Io { path: out_dir.to_path_buf(), source })?;
    let codes = Codes::new()?;
    let staffing = Staffing::new(&codes)?;

    let districts = geography::load_districts()?;
    let parks = parks::build_parks(&districts, &mut Rng::new(opts.seed, stream::PARKS))?;
    let grid = Grid::build(&districts, &parks, opts.seed)?;
    let spike = districts.iter().position(|d| d.code == moves::SPIKE_DISTRICT);
    let city = City { districts, parks, grid, calendar: Calendar::new(), spike };

    let mut files = Vec::new();
    let mut record = |kind: &str, (path, n): (PathBuf, usize)| files.push((kind.to_string(), path, n));

    record("regions", regions::write_regions(&city.districts, &city.parks, out_dir)?);

    let employed = opts.talents as f64 * 0.92;
    let mut firms = enterprises::generate_firms(
        &mut Rng::new(opts.seed, stream::FIRMS),
        &codes,
        &city.districts,
        &city.parks,
        &city.grid,
        opts.enterprises,
        employed,
    )?;
    record("enterprises", enterprises::write_enterprises(&firms, &city.parks, out_dir)?);
    record("stations", stations::write_stations(&city, &mut Rng::new(opts.seed, stream::STATIONS), out_dir)?);
    record(
        "vacancies",
        vacancies::write_vacancies(
            &firms,
            &staffing,
            &city.calendar,
            (opts.talents + 2) / 4,
            &mut Rng::new(opts.seed, stream::VACANCIES),
            out_dir,
        )?,
    );
    let seasons = moves::Seasons::new(&city.calendar)?;
    let (talents_file, log) = talents::write_talents(
        &city,
        &mut firms,
        &staffing,
        &seasons,
        opts.talents,
        &mut Rng::new(opts.seed, stream::TALENTS),
        out_dir,
    )?;
    record("talents", talents_file);
    let destinations: Vec<&str> = profiles::DESTINATIONS.iter().map(|d| d.0).collect();
    record("moves", log.write(out_dir, &city.calendar, opts.talents, |e| firms.id(e), &destinations)?);

    let readme = out_dir.join("README.txt");
    std::fs::write(&readme, readme_text(opts)).map_err(|source| GenerateError::Io { path: readme.clone(), source })?;
    Ok(GenerateSummary { files })
}

fn readme_text(opts: &GenerateOptions) -> String {
    format!(
        "talentmap demo city (seed {seed}, {talents} talents, {enterprises} enterprises)
=====================================================================

THIS DATA IS SYNTHETIC. No record describes a real person, company,
vacancy or station. It was generated by `talentmap generate` to develop,
demonstrate and load-test the service.

What is real: the 10 district and county boundaries of Jinan in
regions.geojson (kind = district), decoded from the ECharts city maps in the
PyPI package echarts-china-cities-pypkg 0.0.9 (MIT licence), boundaries of
about 2018, GCJ-02 coordinates; see fixtures/regions/README.md in the
talentmap source. Only the ring orientation was changed (to RFC 7946).
Everything else - parks (properties.synthetic = true), enterprises,
stations, vacancies, talents and moves - is invented, with realistic
patterns: firms clustered in parks and the centre, homes in residential
areas at commute distance from work, graduate arrivals in July, job changes
after the Spring Festival. Station positions only loosely follow real
Jinan places; the metro lines are not the real ones.

Import order (later files refer to ids in earlier ones):
  1. regions.geojson
  2. enterprises.csv
  3. stations.csv
  4. vacancies.csv
  5. talents.csv
  6. moves.csv

Notes:
- Dates cover November 2024 to October 2026; the reference date is
  2026-11-01. Vacancies were posted in the last 12 months.
- A talent whose last move is `leave` has left the city: the record keeps
  the last known home, with no work point or enterprise and seeking = false.
- The same seed always gives the same files.
",
        seed = opts.seed,
        talents = opts.talents,
        enterprises = opts.enterprises,
    )
}
