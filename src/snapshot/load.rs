//! Building a snapshot from the store.
//!
//! One read transaction sees one consistent data version. Codes are mapped to
//! table indices and ids to positions with hash lookups on borrowed strings,
//! so loading costs about a microsecond per record.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use geo::{BoundingRect, Centroid, Contains, InteriorPoint};
use rstar::RTree;
use rusqlite::types::ValueRef;

use crate::import::current_year;
use crate::model::{Education, RegionKind, StationMode, Taxonomy, Tier, Title};
use crate::spatial::{lonlat_to_unit, morton};
use crate::store::{Store, StoreError};

use super::*;

/// Why a snapshot could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for SnapshotError {
    fn from(e: rusqlite::Error) -> Self {
        SnapshotError::Store(StoreError::Sql(e))
    }
}

fn text<'a>(v: ValueRef<'a>) -> &'a str {
    v.as_str().unwrap_or("")
}

fn opt_f64(v: ValueRef<'_>) -> Option<f64> {
    v.as_f64_or_null().ok().flatten()
}

fn corrupt(what: &'static str, id: &str, message: String) -> SnapshotError {
    SnapshotError::Store(StoreError::Corrupt { what, id: id.to_string(), message })
}

/// Builds a snapshot of the store's current data.
pub fn build(store: &mut Store, taxonomy: Arc<Taxonomy>) -> Result<Snapshot, SnapshotError> {
    let started = Instant::now();
    let tx = store.conn_mut().transaction()?;
    let version = crate::store::data_version(&tx)?;
    let mut snap = Snapshot::empty(taxonomy.clone());
    snap.version = version;
    snap.reference_year = current_year() as u16;

    // Regions, in id order.
    {
        let mut stmt = tx.prepare("SELECT id, name, kind, geometry FROM regions ORDER BY id")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let geometry = crate::import::to_multipolygon(&r.get::<_, String>(3)?)
                .ok_or_else(|| corrupt("region", &id, "geometry is not a polygon".into()))?;
            let kind =
                r.get::<_, String>(2)?.parse::<RegionKind>().map_err(|e| corrupt("region", &id, e.to_string()))?;
            let rect = geometry.bounding_rect();
            let bbox = rect.map_or([0.0; 4], |b| [b.min().x, b.min().y, b.max().x, b.max().y]);
            let centroid = geometry.centroid();
            let centre = match centroid {
                Some(c) if geometry.contains(&c) => c,
                _ => geometry.interior_point().or(centroid).unwrap_or(geo::Point::new(0.0, 0.0)),
            };
            snap.region_index.insert(id.clone(), snap.regions.len() as u16);
            snap.regions.push(RegionInfo {
                id,
                name: r.get(1)?,
                kind,
                geometry,
                bbox,
                centre: [centre.x(), centre.y()],
                stats: RegionStats::default(),
            });
        }
    }
    let region_of = |v: ValueRef<'_>| -> u16 {
        match v.as_str_or_null() {
            Ok(Some(s)) => snap.region_index.get(s).copied().unwrap_or(NONE16),
            _ => NONE16,
        }
    };

    // Enterprises.
    let mut enterprises = Vec::new();
    {
        let mut stmt =
            tx.prepare("SELECT id, name, lon, lat, industry, employees, key, district_id, park_id FROM enterprises")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let (lon, lat): (f64, f64) = (r.get(2)?, r.get(3)?);
            let industry = taxonomy
                .industry_index(text(r.get_ref(4)?))
                .ok_or_else(|| corrupt("enterprise", &id, "unknown industry".into()))?;
            enterprises.push(EnterpriseRec {
                name: r.get(1)?,
                lon,
                lat,
                key: morton::key(lon, lat),
                industry,
                employees: r.get::<_, i64>(5)?.clamp(0, u32::MAX as i64) as u32,
                is_key: r.get(6)?,
                district: region_of(r.get_ref(7)?),
                park: region_of(r.get_ref(8)?),
                openings: 0,
                id,
            });
        }
    }
    enterprises.sort_by(|a, b| a.key.cmp(&b.key).then_with(|| a.id.cmp(&b.id)));
    snap.enterprise_index = enterprises.iter().enumerate().map(|(i, e)| (e.id.clone(), i as u32)).collect();

    // Vacancies.
    let mut vacancies = Vec::new();
    let (mut openings_all, mut open_openings) = (0u64, 0u64);
    {
        let mut stmt =
            tx.prepare("SELECT id, enterprise_id, field, education, title, openings, filled FROM vacancies")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id = text(r.get_ref(0)?);
            let Some(&enterprise) = snap.enterprise_index.get(text(r.get_ref(1)?)) else {
                return Err(corrupt("vacancy", id, "references a missing enterprise".into()));
            };
            let e = &mut enterprises[enterprise as usize];
            let openings = r.get::<_, i64>(5)?.clamp(0, u32::MAX as i64) as u32;
            let open = matches!(r.get_ref(6)?, ValueRef::Null);
            openings_all += openings as u64;
            if open {
                e.openings = e.openings.saturating_add(openings);
                open_openings += openings as u64;
            }
            vacancies.push(VacancyRec {
                key: e.key,
                enterprise,
                openings,
                field: taxonomy
                    .field_index(text(r.get_ref(2)?))
                    .ok_or_else(|| corrupt("vacancy", id, "unknown field".into()))?,
                education: parse_code::<Education>(text(r.get_ref(3)?))
                    .ok_or_else(|| corrupt("vacancy", id, "bad education".into()))?,
                title: parse_code::<Title>(text(r.get_ref(4)?))
                    .ok_or_else(|| corrupt("vacancy", id, "bad title".into()))?,
                industry: e.industry,
                open,
                district: e.district,
                park: e.park,
            });
        }
    }
    vacancies.sort_by_key(|v| (v.key, v.enterprise));

    // Talents (and, for the move table, each talent's field and industry
    // by a hash of its id; see `moves`).
    let move_count: i64 = tx.query_row("SELECT count(*) FROM moves", [], |r| r.get(0))?;
    let mut talent_info: HashMap<u64, moves::TalentInfo> = HashMap::new();
    let mut talents = Vec::new();
    {
        let mut stmt = tx.prepare(
            "SELECT id, home_lon, home_lat, work_lon, work_lat, enterprise_id, field, education, title, tier, birth_year, seeking,
                    home_district, home_park, work_district, work_park FROM talents",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let bad =
                |what: &str| corrupt("talent", text(r.get_ref(0).unwrap_or(ValueRef::Null)), format!("bad {what}"));
            let (lon, lat): (f64, f64) = (r.get(1)?, r.get(2)?);
            let work = match (opt_f64(r.get_ref(3)?), opt_f64(r.get_ref(4)?)) {
                (Some(x), Some(y)) => morton::key(x, y),
                _ => NO_KEY,
            };
            let enterprise = match r.get_ref(5)?.as_str_or_null() {
                Ok(Some(id)) => snap.enterprise_index.get(id).copied().unwrap_or(NONE32),
                _ => NONE32,
            };
            let industry = if enterprise == NONE32 { NONE8 } else { enterprises[enterprise as usize].industry };
            let mut fl = 0u8;
            if r.get::<_, bool>(11)? {
                fl |= flags::SEEKING;
            }
            if work != NO_KEY {
                fl |= flags::HAS_WORK;
            }
            let field = taxonomy.field_index(text(r.get_ref(6)?)).ok_or_else(|| bad("field"))?;
            if move_count > 0 {
                talent_info.insert(moves::talent_key(text(r.get_ref(0)?)), (field, industry));
            }
            talents.push(TalentRec {
                home: morton::key(lon, lat),
                work,
                enterprise,
                birth_year: r.get::<_, i64>(10)?.clamp(0, u16::MAX as i64) as u16,
                field,
                education: parse_code::<Education>(text(r.get_ref(7)?)).ok_or_else(|| bad("education"))?,
                title: parse_code::<Title>(text(r.get_ref(8)?)).ok_or_else(|| bad("title"))?,
                tier: parse_code::<Tier>(text(r.get_ref(9)?)).ok_or_else(|| bad("tier"))?,
                industry,
                flags: fl,
                home_district: region_of(r.get_ref(12)?),
                home_park: region_of(r.get_ref(13)?),
                work_district: region_of(r.get_ref(14)?),
                work_park: region_of(r.get_ref(15)?),
            });
        }
    }
    // Sorting by home key alone would order equal keys by load order (the
    // store's id order), which is stable for one data version.
    talents.sort_by_key(|t| t.home);
    talents.shrink_to_fit();

    // Stations.
    let mut stations = Vec::new();
    {
        let mut stmt = tx.prepare("SELECT id, name, lon, lat, mode, district_id, park_id FROM stations")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let (lon, lat): (f64, f64) = (r.get(2)?, r.get(3)?);
            let mode =
                text(r.get_ref(4)?).parse::<StationMode>().map_err(|e| corrupt("station", &id, e.to_string()))?;
            stations.push(StationRec {
                name: r.get(1)?,
                lon,
                lat,
                key: morton::key(lon, lat),
                mode,
                district: region_of(r.get_ref(5)?),
                park: region_of(r.get_ref(6)?),
                id,
            });
        }
    }
    stations.sort_by(|a, b| a.key.cmp(&b.key).then_with(|| a.id.cmp(&b.id)));
    let (raw_moves, destinations) = if move_count > 0 {
        moves::load(&tx, &snap.regions, |id| snap.enterprise_index.get(id).map(|&i| enterprises[i as usize].industry))?
    } else {
        Default::default()
    };
    drop(tx);
    snap.flows = FlowIndex::build(
        raw_moves,
        destinations,
        &snap.regions,
        &talent_info,
        taxonomy.fields().len(),
        taxonomy.industries().len(),
    );
    drop(talent_info);
    snap.flows.count_residents(&talents);

    // Indexes.
    let unit = |lon: f64, lat: f64| {
        let (x, y) = lonlat_to_unit(lon, lat);
        [x, y]
    };
    snap.enterprise_tree = RTree::bulk_load(
        enterprises.iter().enumerate().map(|(i, e)| IndexedPoint::new(unit(e.lon, e.lat), i as u32)).collect(),
    );
    snap.station_tree = RTree::bulk_load(
        stations.iter().enumerate().map(|(i, s)| IndexedPoint::new(unit(s.lon, s.lat), i as u32)).collect(),
    );
    let to_f32 = |k: u64| {
        let [x, y] = key_to_unit(k);
        [x as f32, y as f32]
    };
    let home_points: Vec<([f32; 2], u32)> =
        talents.iter().enumerate().map(|(i, t)| (to_f32(t.home), i as u32)).collect();
    snap.homes = PointIndex::build(&home_points);
    drop(home_points);
    let mut work_keys: Vec<(u64, u32)> =
        talents.iter().enumerate().filter(|(_, t)| t.work != NO_KEY).map(|(i, t)| (t.work, i as u32)).collect();
    work_keys.sort_unstable();
    let work_points: Vec<([f32; 2], u32)> = work_keys.into_iter().map(|(k, i)| (to_f32(k), i)).collect();
    snap.workplaces = PointIndex::build(&work_points);
    drop(work_points);

    // Per-region totals.
    let mut stats: Vec<RegionStats> = vec![RegionStats::default(); snap.regions.len()];
    let mut bump = |region: u16, f: &dyn Fn(&mut RegionStats)| {
        if let Some(s) = stats.get_mut(region as usize) {
            f(s);
        }
    };
    let mut seekers = 0u64;
    for t in &talents {
        let seeking = t.seeking();
        seekers += seeking as u64;
        for r in [t.home_district, t.home_park] {
            bump(r, &|s| {
                s.talents += 1;
                s.seekers += seeking as u64;
            });
        }
        for r in [t.work_district, t.work_park] {
            bump(r, &|s| s.workers += 1);
        }
    }
    for e in &enterprises {
        for r in [e.district, e.park] {
            bump(r, &|s| {
                s.enterprises += 1;
                s.key_enterprises += e.is_key as u64;
                s.employees += e.employees as u64;
                s.openings += e.openings as u64;
            });
        }
    }
    for (region, s) in snap.regions.iter_mut().zip(stats) {
        region.stats = s;
    }

    snap.totals = Totals {
        enterprises: enterprises.len() as u64,
        vacancies: vacancies.len() as u64,
        openings: openings_all,
        open_openings,
        talents: talents.len() as u64,
        seekers,
        stations: stations.len() as u64,
        regions: snap.regions.len() as u64,
        moves: move_count as u64,
    };
    snap.enterprises = enterprises;
    snap.vacancies = vacancies;
    snap.talents = talents;
    snap.stations = stations;
    snap.build_ms = started.elapsed().as_millis() as u64;
    Ok(snap)
}

fn parse_code<T: std::str::FromStr + Copy + Into<u8>>(s: &str) -> Option<u8> {
    s.parse::<T>().ok().map(Into::into)
}

macro_rules! into_u8 {
    ($($t:ty),*) => { $(impl From<$t> for u8 { fn from(v: $t) -> u8 { v.index() } })* };
}
into_u8!(Education, Title, Tier);
