//! One loader per store table, for [`super::load::build`].
//!
//! Each reads its table inside the build's read transaction and turns rows
//! into the snapshot's compact records: codes become table indices, ids
//! become positions (hash lookups on borrowed strings), coordinates become
//! Morton keys. A row the importer should never have let in (an unknown
//! code, a missing reference) is reported as a corrupt store, not skipped.

use std::collections::HashMap;

use crate::store::db::Transaction;
use crate::store::db::types::ValueRef;
use geo::{BoundingRect, Centroid, Contains, InteriorPoint};

use crate::analytics::privacy::Tally;
use crate::model::{Date, Education, RegionKind, StationMode, Taxonomy, Tier, Title};
use crate::spatial::morton;
use crate::store::StoreError;

use super::load::SnapshotError;
use super::*;

fn text<'a>(v: ValueRef<'a>) -> &'a str {
    v.as_str().unwrap_or("")
}

fn opt_f64(v: ValueRef<'_>) -> Option<f64> {
    v.as_f64_or_null().ok().flatten()
}

fn corrupt(what: &'static str, id: &str, message: String) -> SnapshotError {
    SnapshotError::Store(StoreError::Corrupt { what, id: id.to_string(), message })
}

fn parse_code<T: std::str::FromStr + Copy + Into<u8>>(s: &str) -> Option<u8> {
    s.parse::<T>().ok().map(Into::into)
}

macro_rules! into_u8 {
    ($($t:ty),*) => { $(impl From<$t> for u8 { fn from(v: $t) -> u8 { v.index() } })* };
}
into_u8!(Education, Title, Tier);

/// Region positions by id, for the region columns of the other tables;
/// an empty or unknown id is "no region".
#[derive(Clone, Copy)]
pub(super) struct RegionIds<'a>(pub &'a HashMap<String, u16>);

impl RegionIds<'_> {
    fn of(self, v: ValueRef<'_>) -> u16 {
        match v.as_str_or_null() {
            Ok(Some(s)) => self.0.get(s).copied().unwrap_or(NONE16),
            _ => NONE16,
        }
    }
}

/// The regions in id order, with their bounding boxes and label points.
pub(super) fn load_regions(tx: &Transaction, snap: &mut Snapshot) -> Result<(), SnapshotError> {
    let mut stmt = tx.prepare("SELECT id, name, kind, geometry, name_en FROM regions ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let geometry = crate::import::to_multipolygon(&r.get::<_, String>(3)?)
            .ok_or_else(|| corrupt("region", &id, "geometry is not a polygon".into()))?;
        let kind = r.get::<_, String>(2)?.parse::<RegionKind>().map_err(|e| corrupt("region", &id, e.to_string()))?;
        let rect = geometry.bounding_rect();
        let bbox = rect.map_or([0.0; 4], |b| [b.min().x, b.min().y, b.max().x, b.max().y]);
        // The centroid of a crescent lies outside it; labels must not.
        let centroid = geometry.centroid();
        let centre = match centroid {
            Some(c) if geometry.contains(&c) => c,
            _ => geometry.interior_point().or(centroid).unwrap_or(geo::Point::new(0.0, 0.0)),
        };
        snap.region_index.insert(id.clone(), snap.regions.len() as u16);
        snap.regions.push(RegionInfo {
            id,
            name: r.get(1)?,
            name_en: r.get(4)?,
            kind,
            geometry,
            bbox,
            centre: [centre.x(), centre.y()],
            stats: RegionStats::default(),
        });
    }
    Ok(())
}

/// The enterprises sorted by key (then id), with no openings yet: those
/// are added by [`load_vacancies`].
pub(super) fn load_enterprises(
    tx: &Transaction,
    taxonomy: &Taxonomy,
    regions: RegionIds,
) -> Result<Vec<EnterpriseRec>, SnapshotError> {
    let mut enterprises = Vec::new();
    let mut stmt = tx.prepare(
        "SELECT id, name, lon, lat, industry, employees, key, district_id, park_id FROM enterprises ORDER BY id",
    )?;
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
            district: regions.of(r.get_ref(7)?),
            park: regions.of(r.get_ref(8)?),
            openings: 0,
            id,
        });
    }
    enterprises.sort_by(|a, b| a.key.cmp(&b.key).then_with(|| a.id.cmp(&b.id)));
    Ok(enterprises)
}

/// Sums of openings over the vacancy table.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Openings {
    pub all: u64,
    /// Of vacancies not yet filled.
    pub open: u64,
}

/// The vacancies sorted by their enterprise's key; adds each open
/// vacancy's openings to its enterprise.
pub(super) fn load_vacancies(
    tx: &Transaction,
    taxonomy: &Taxonomy,
    enterprise_index: &HashMap<String, u32>,
    enterprises: &mut [EnterpriseRec],
) -> Result<(Vec<VacancyRec>, Openings), SnapshotError> {
    let mut vacancies = Vec::new();
    let mut sums = Openings::default();
    let mut stmt = tx.prepare(
        "SELECT id, enterprise_id, field, education, title, openings, filled, posted FROM vacancies ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id = text(r.get_ref(0)?);
        let Some(&enterprise) = enterprise_index.get(text(r.get_ref(1)?)) else {
            return Err(corrupt("vacancy", id, "references a missing enterprise".into()));
        };
        let e = &mut enterprises[enterprise as usize];
        let openings = r.get::<_, i64>(5)?.clamp(0, u32::MAX as i64) as u32;
        let open = matches!(r.get_ref(6)?, ValueRef::Null);
        let day = |v: ValueRef<'_>| Date::parse(text(v)).map(Date::days);
        let posted = day(r.get_ref(7)?).ok_or_else(|| corrupt("vacancy", id, "bad posting date".into()))?;
        let filled = if open {
            posted
        } else {
            day(r.get_ref(6)?).ok_or_else(|| corrupt("vacancy", id, "bad filling date".into()))?
        };
        sums.all += openings as u64;
        if open {
            e.openings = e.openings.saturating_add(openings);
            sums.open += openings as u64;
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
            posted,
            filled,
            district: e.district,
            park: e.park,
        });
    }
    vacancies.sort_by_key(|v| (v.key, v.enterprise));
    Ok((vacancies, sums))
}

/// What a talent row is read against.
pub(super) struct TalentContext<'a> {
    pub taxonomy: &'a Taxonomy,
    pub regions: RegionIds<'a>,
    pub enterprise_index: &'a HashMap<String, u32>,
    pub enterprises: &'a [EnterpriseRec],
    /// Whether the move table needs each talent's field and industry.
    pub with_info: bool,
}

impl<'a> TalentContext<'a> {
    /// The context of a snapshot's own tables (following a moves batch or
    /// building a past month's view).
    pub fn of(snap: &'a Snapshot, with_info: bool) -> TalentContext<'a> {
        TalentContext {
            taxonomy: &snap.taxonomy,
            regions: RegionIds(&snap.region_index),
            enterprise_index: &snap.enterprise_index,
            enterprises: &snap.enterprises,
            with_info,
        }
    }
}

/// The talents in the city now sorted by home key, how many are registered
/// and, when there are moves, each registered talent's field and industry
/// (of the registered employer) by a hash of its id (see [`moves`]).
pub(super) fn load_talents(tx: &Transaction, cx: &TalentContext) -> Result<LoadedTalents, SnapshotError> {
    let mut talent_info: HashMap<u64, moves::TalentInfo> = HashMap::new();
    let mut talents = Vec::new();
    let mut registered = Tally::default();
    let mut stmt = tx.prepare(
        "SELECT id, home_lon, home_lat, work_lon, work_lat, enterprise_id, field, education, title, tier, birth_year, seeking,
                home_district, home_park, work_district, work_park, rkey, here, reg_enterprise_id FROM talents ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let talent = talent_row(&r, cx)?;
        registered.add(talent.rkey);
        if cx.with_info {
            let (employer, industry) = match r.get_ref(18)?.as_str_or_null() {
                Ok(Some(id)) => {
                    cx.enterprise_index.get(id).map_or((NONE32, NONE8), |&e| (e, cx.enterprises[e as usize].industry))
                }
                _ => (NONE32, NONE8),
            };
            let info = moves::TalentInfo { field: talent.field, industry, employer };
            talent_info.insert(moves::id_key(text(r.get_ref(0)?)), info);
        }
        if r.get::<_, bool>(17)? {
            talents.push(talent);
        }
    }
    // Sorting by home key alone would order equal keys by load order (the
    // store's id order), which is stable for one data version.
    talents.sort_by_key(|t| t.home);
    talents.shrink_to_fit();
    Ok(LoadedTalents { here: talents, registered, info: talent_info })
}

/// What [`load_talents`] read.
pub(super) struct LoadedTalents {
    /// In the city now, by home key.
    pub here: Vec<TalentRec>,
    /// The whole register.
    pub registered: Tally,
    /// Field and registered industry by talent (when there are moves).
    pub info: HashMap<u64, moves::TalentInfo>,
}

/// A talent's stored values, borrowed from a row.
pub(super) struct TalentValues<'a> {
    pub id: &'a str,
    pub home: (f64, f64),
    pub work: Option<(f64, f64)>,
    pub enterprise: Option<&'a str>,
    pub field: &'a str,
    pub education: &'a str,
    pub title: &'a str,
    pub tier: &'a str,
    pub birth_year: i64,
    pub seeking: bool,
    pub home_district: Option<&'a str>,
    pub home_park: Option<&'a str>,
    pub work_district: Option<&'a str>,
    pub work_park: Option<&'a str>,
    pub rkey: u32,
}

fn talent_row(r: &crate::store::db::Row, cx: &TalentContext) -> Result<TalentRec, SnapshotError> {
    let s = |i: usize| -> Result<Option<&str>, SnapshotError> { Ok(r.get_ref(i)?.as_str_or_null().ok().flatten()) };
    let work = match (opt_f64(r.get_ref(3)?), opt_f64(r.get_ref(4)?)) {
        (Some(x), Some(y)) => Some((x, y)),
        _ => None,
    };
    talent_rec(
        &TalentValues {
            id: text(r.get_ref(0)?),
            home: (r.get(1)?, r.get(2)?),
            work,
            enterprise: s(5)?,
            field: text(r.get_ref(6)?),
            education: text(r.get_ref(7)?),
            title: text(r.get_ref(8)?),
            tier: text(r.get_ref(9)?),
            birth_year: r.get(10)?,
            seeking: r.get(11)?,
            home_district: s(12)?,
            home_park: s(13)?,
            work_district: s(14)?,
            work_park: s(15)?,
            // Written on import and on migration; 0 only for a row written
            // by something else.
            rkey: r.get::<_, Option<i64>>(16)?.unwrap_or(0) as u32,
        },
        cx,
    )
}

/// The compact record of a talent's stored values.
pub(super) fn talent_rec(v: &TalentValues, cx: &TalentContext) -> Result<TalentRec, SnapshotError> {
    let bad = |what: &str| corrupt("talent", v.id, format!("bad {what}"));
    let work = v.work.map_or(NO_KEY, |(x, y)| morton::key(x, y));
    let enterprise = v.enterprise.and_then(|id| cx.enterprise_index.get(id).copied()).unwrap_or(NONE32);
    let industry = if enterprise == NONE32 { NONE8 } else { cx.enterprises[enterprise as usize].industry };
    let mut fl = 0u8;
    if v.seeking {
        fl |= flags::SEEKING;
    }
    if work != NO_KEY {
        fl |= flags::HAS_WORK;
    }
    let region = |id: Option<&str>| id.and_then(|id| cx.regions.0.get(id).copied()).unwrap_or(NONE16);
    Ok(TalentRec {
        home: morton::key(v.home.0, v.home.1),
        work,
        enterprise,
        birth_year: v.birth_year.clamp(0, u16::MAX as i64) as u16,
        field: cx.taxonomy.field_index(v.field).ok_or_else(|| bad("field"))?,
        education: parse_code::<Education>(v.education).ok_or_else(|| bad("education"))?,
        title: parse_code::<Title>(v.title).ok_or_else(|| bad("title"))?,
        tier: parse_code::<Tier>(v.tier).ok_or_else(|| bad("tier"))?,
        industry,
        flags: fl,
        home_district: region(v.home_district),
        home_park: region(v.home_park),
        work_district: region(v.work_district),
        work_park: region(v.work_park),
        rkey: v.rkey,
    })
}

/// The stations sorted by key (then id).
pub(super) fn load_stations(tx: &Transaction, regions: RegionIds) -> Result<Vec<StationRec>, SnapshotError> {
    let mut stations = Vec::new();
    let mut stmt =
        tx.prepare("SELECT id, name, lon, lat, mode, district_id, park_id, name_en FROM stations ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let (lon, lat): (f64, f64) = (r.get(2)?, r.get(3)?);
        let mode = text(r.get_ref(4)?).parse::<StationMode>().map_err(|e| corrupt("station", &id, e.to_string()))?;
        stations.push(StationRec {
            name: r.get(1)?,
            name_en: r.get(7)?,
            lon,
            lat,
            key: morton::key(lon, lat),
            mode,
            district: regions.of(r.get_ref(5)?),
            park: regions.of(r.get_ref(6)?),
            id,
        });
    }
    stations.sort_by(|a, b| a.key.cmp(&b.key).then_with(|| a.id.cmp(&b.id)));
    Ok(stations)
}

/// Number of rows in the move table.
pub(super) fn count_moves(tx: &Transaction) -> Result<u64, SnapshotError> {
    let count: i64 = tx.query_row("SELECT count(*) FROM moves", [], |r| r.get(0))?;
    Ok(count.max(0) as u64)
}
