//! Per-kind record parsing (every rule of the import contract) and the SQL
//! that upserts a valid record.

use std::collections::HashSet;

use crate::store::db::types::Value;
use crate::store::db::{Bulk, Connection, Kind, OptionalExtension, Statement, params, params_from_iter};

use crate::model::{
    Education, Enterprise, LonLat, Move, MoveEvent, Station, StationMode, Talent, Taxonomy, Tier, Title, Vacancy,
};
use crate::spatial::RegionLookup;

use super::columns::*;

/// Region ids and their lookup, loaded once per import.
pub struct Regions {
    pub ids: Vec<String>,
    pub lookup: RegionLookup,
}

impl Regions {
    /// `(district id, park id)` of a point.
    pub fn assign(&self, p: LonLat) -> (Option<&str>, Option<&str>) {
        let hit = self.lookup.locate(p.lon, p.lat);
        let id = |i: Option<u32>| i.map(|i| self.ids[i as usize].as_str());
        (id(hit.district), id(hit.park))
    }

    /// Whether a point lies outside every region (district, street and park).
    pub fn outside(&self, p: LonLat) -> bool {
        let hit = self.lookup.locate(p.lon, p.lat);
        hit.district.is_none() && hit.street.is_none() && hit.park.is_none()
    }
}

/// The enterprise ids in the store: read from it, or the served snapshot's
/// index when the snapshot is of the store's data version (then it holds
/// every enterprise of the store, and nothing is read or copied).
#[derive(Debug, Clone)]
pub enum EnterpriseIds {
    Read(HashSet<String>),
    Indexed(std::sync::Arc<std::collections::HashMap<String, u32>>),
}

impl Default for EnterpriseIds {
    fn default() -> EnterpriseIds {
        EnterpriseIds::Read(HashSet::new())
    }
}

impl EnterpriseIds {
    pub fn contains(&self, id: &str) -> bool {
        match self {
            EnterpriseIds::Read(ids) => ids.contains(id),
            EnterpriseIds::Indexed(index) => index.contains_key(id),
        }
    }
}

/// What a row parser may consult.
pub struct Context<'a> {
    pub taxonomy: &'a Taxonomy,
    pub regions: Regions,
    /// Enterprise ids in the store (loaded only for kinds that reference them).
    pub enterprises: EnterpriseIds,
    /// Oldest and youngest accepted birth years.
    pub birth_years: (i64, i64),
    /// The store's pseudonym key: each talent row is written with its
    /// pseudonymous id (the people layer's `pid`).
    pub pseudonym: crate::auth::PseudonymSecret,
}

fn check_field(taxonomy: &Taxonomy) -> impl Fn(&str) -> Result<String, String> + '_ {
    move |v| {
        taxonomy.field_index(v).map(|_| v.to_string()).ok_or_else(|| {
            "not a first-level discipline code of the degree catalogue (4 digits, e.g. 0812; see fixtures/taxonomy/fields.csv)".to_string()
        })
    }
}

fn check_enterprise<'c>(ctx: &'c Context<'_>) -> impl Fn(&str) -> Result<String, String> + 'c {
    move |v| {
        validate_id_then(v)?;
        if ctx.enterprises.contains(v) {
            Ok(v.to_string())
        } else {
            Err("no enterprise with this id; import enterprises first".to_string())
        }
    }
}

fn validate_id_then(v: &str) -> Result<(), String> {
    crate::model::validate_id(v)
}

pub const ENTERPRISE_COLUMNS: (&[&str], &[&str]) =
    (&["id", "name", "lon", "lat", "industry", "employees", "key"], &["park"]);

pub fn parse_enterprise(row: &mut Row, ctx: &Context) -> Option<Enterprise> {
    let id = row.required("id", parse_id);
    let name = row.required("name", |v| parse_text(200)(v));
    let location = row.point("lon", "lat");
    let industry = row.required("industry", |v| {
        ctx.taxonomy.industry_index(v).map(|_| v.to_string()).ok_or_else(|| {
            "not a GB/T 4754-2017 division code (2 digits, 01-97; see fixtures/taxonomy/industries.csv)".to_string()
        })
    });
    let employees = row.required("employees", parse_int(0, 10_000_000));
    let key = row.required("key", parse_bool);
    let park = row.optional("park", parse_id);
    Some(Enterprise {
        id: id?,
        name: name?,
        location: location?,
        industry: industry?,
        employees: employees? as u32,
        key: key?,
        park: park.ok()?,
    })
}

pub fn write_enterprise(stmt: &mut Bulk, e: &Enterprise, ctx: &Context, batch: u64) -> crate::store::db::Result<usize> {
    let (district, park) = ctx.regions.assign(e.location);
    stmt.execute(params![
        e.id,
        e.name,
        e.location.lon,
        e.location.lat,
        e.industry,
        e.employees,
        e.key,
        e.park,
        district,
        park,
        batch as i64
    ])
}

pub const ENTERPRISE_UPSERT: &str = "INSERT INTO enterprises(id, name, lon, lat, industry, employees, key, park, district_id, park_id, batch)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
    ON CONFLICT(id) DO UPDATE SET name = excluded.name, lon = excluded.lon, lat = excluded.lat, industry = excluded.industry,
      employees = excluded.employees, key = excluded.key, park = excluded.park, district_id = excluded.district_id,
      park_id = excluded.park_id, batch = excluded.batch
    WHERE enterprises.batch <> excluded.batch";

pub const VACANCY_COLUMNS: (&[&str], &[&str]) =
    (&["id", "enterprise_id", "field", "education", "title", "openings", "posted"], &["filled"]);

pub fn parse_vacancy(row: &mut Row, ctx: &Context) -> Option<Vacancy> {
    let id = row.required("id", parse_id);
    let enterprise_id = row.required("enterprise_id", check_enterprise(ctx));
    let field = row.required("field", check_field(ctx.taxonomy));
    let education = row.required("education", parse_enum::<Education>);
    let title = row.required("title", parse_enum::<Title>);
    let openings = row.required("openings", parse_int(1, 100_000));
    let posted = row.required("posted", parse_date);
    let filled = row.optional("filled", parse_date).ok()?;
    if let (Some(p), Some(f)) = (posted, filled)
        && f < p
    {
        row.fail("filled", &f.to_string(), format!("a vacancy cannot be filled ({f}) before it was posted ({p})"));
        return None;
    }
    Some(Vacancy {
        id: id?,
        enterprise_id: enterprise_id?,
        field: field?,
        education: education?,
        title: title?,
        openings: openings? as u32,
        posted: posted?,
        filled,
    })
}

pub const VACANCY_UPSERT: &str = "INSERT INTO vacancies(id, enterprise_id, field, education, title, openings, posted, filled, batch)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
    ON CONFLICT(id) DO UPDATE SET enterprise_id = excluded.enterprise_id, field = excluded.field, education = excluded.education,
      title = excluded.title, openings = excluded.openings, posted = excluded.posted, filled = excluded.filled, batch = excluded.batch
    WHERE vacancies.batch <> excluded.batch";

pub fn write_vacancy(stmt: &mut Bulk, v: &Vacancy, _ctx: &Context, batch: u64) -> crate::store::db::Result<usize> {
    stmt.execute(params![
        v.id,
        v.enterprise_id,
        v.field,
        v.education.code(),
        v.title.code(),
        v.openings,
        v.posted.to_string(),
        v.filled.map(|d| d.to_string()),
        batch as i64
    ])
}

pub const TALENT_COLUMNS: (&[&str], &[&str]) = (
    &["id", "home_lon", "home_lat", "field", "education", "title", "tier", "birth_year", "seeking"],
    &["work_lon", "work_lat", "enterprise_id"],
);

pub fn parse_talent(row: &mut Row, ctx: &Context) -> Option<Talent> {
    let id = row.required("id", parse_id);
    let home = row.point("home_lon", "home_lat");
    let work = row.optional_point("work_lon", "work_lat");
    let enterprise_id = row.optional("enterprise_id", check_enterprise(ctx));
    let field = row.required("field", check_field(ctx.taxonomy));
    let education = row.required("education", parse_enum::<Education>);
    let title = row.required("title", parse_enum::<Title>);
    let tier = row.required("tier", parse_enum::<Tier>);
    let (oldest, youngest) = ctx.birth_years;
    let birth_year = row.required("birth_year", parse_int(oldest, youngest));
    let seeking = row.required("seeking", parse_bool);
    Some(Talent {
        id: id?,
        home: home?,
        work: work.ok()?,
        enterprise_id: enterprise_id.ok()?,
        field: field?,
        education: education?,
        title: title?,
        tier: tier?,
        birth_year: birth_year? as u16,
        seeking: seeking?,
    })
}

/// The register row goes into the `reg_*` columns and, as the state before
/// any move, into the present ones; a talent with moves gets its present
/// recomputed after the file (`import::present`).
pub const TALENT_UPSERT: &str = "INSERT INTO talents(id, home_lon, home_lat, work_lon, work_lat, enterprise_id, field, education, title,
      tier, birth_year, seeking, home_district, home_park, work_district, work_park, batch, pid, rkey,
      here, reg_home_lon, reg_home_lat, reg_work_lon, reg_work_lat, reg_enterprise_id)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, 1, ?2, ?3, ?4, ?5, ?6)
    ON CONFLICT(id) DO UPDATE SET home_lon = excluded.home_lon, home_lat = excluded.home_lat, work_lon = excluded.work_lon,
      work_lat = excluded.work_lat, enterprise_id = excluded.enterprise_id, field = excluded.field, education = excluded.education,
      title = excluded.title, tier = excluded.tier, birth_year = excluded.birth_year, seeking = excluded.seeking,
      home_district = excluded.home_district, home_park = excluded.home_park, work_district = excluded.work_district,
      work_park = excluded.work_park, batch = excluded.batch, pid = excluded.pid, rkey = excluded.rkey, here = 1,
      reg_home_lon = excluded.reg_home_lon, reg_home_lat = excluded.reg_home_lat, reg_work_lon = excluded.reg_work_lon,
      reg_work_lat = excluded.reg_work_lat, reg_enterprise_id = excluded.reg_enterprise_id
    WHERE talents.batch <> excluded.batch";

pub fn write_talent(stmt: &mut Bulk, t: &Talent, ctx: &Context, batch: u64) -> crate::store::db::Result<usize> {
    let (home_district, home_park) = ctx.regions.assign(t.home);
    let (work_district, work_park) = t.work.map(|w| ctx.regions.assign(w)).unwrap_or((None, None));
    stmt.execute(params![
        t.id,
        t.home.lon,
        t.home.lat,
        t.work.map(|w| w.lon),
        t.work.map(|w| w.lat),
        t.enterprise_id,
        t.field,
        t.education.code(),
        t.title.code(),
        t.tier.code(),
        t.birth_year,
        t.seeking,
        home_district,
        home_park,
        work_district,
        work_park,
        batch as i64,
        crate::auth::pseudonym(&ctx.pseudonym, &t.id),
        crate::auth::record_key(&ctx.pseudonym, "talent", &t.id)
    ])
}

pub const STATION_COLUMNS: (&[&str], &[&str]) = (&["id", "name", "lon", "lat", "mode"], &["name_en"]);

pub fn parse_station(row: &mut Row, _ctx: &Context) -> Option<Station> {
    let id = row.required("id", parse_id);
    let name = row.required("name", |v| parse_text(200)(v));
    let location = row.point("lon", "lat");
    let mode = row.required("mode", parse_enum::<StationMode>);
    let name_en = row.optional("name_en", |v| parse_text(200)(v));
    Some(Station { id: id?, name: name?, name_en: name_en.ok()?.unwrap_or_default(), location: location?, mode: mode? })
}

pub const STATION_UPSERT: &str = "INSERT INTO stations(id, name, lon, lat, mode, district_id, park_id, batch, name_en)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
    ON CONFLICT(id) DO UPDATE SET name = excluded.name, name_en = excluded.name_en, lon = excluded.lon, lat = excluded.lat, mode = excluded.mode,
      district_id = excluded.district_id, park_id = excluded.park_id, batch = excluded.batch
    WHERE stations.batch <> excluded.batch";

pub fn write_station(stmt: &mut Bulk, s: &Station, ctx: &Context, batch: u64) -> crate::store::db::Result<usize> {
    let (district, park) = ctx.regions.assign(s.location);
    stmt.execute(params![
        s.id,
        s.name,
        s.location.lon,
        s.location.lat,
        s.mode.code(),
        district,
        park,
        batch as i64,
        s.name_en
    ])
}

pub const MOVE_COLUMNS: (&[&str], &[&str]) = (
    &["id", "talent_id", "date", "event"],
    &["from_lon", "from_lat", "to_lon", "to_lat", "to_enterprise_id", "destination"],
);

/// Which talent ids are in the register, for the moves that name them.
/// On SQLite each lookup is a primary-key search in the import's
/// transaction; on PostgreSQL a lookup is a round trip, so the ids are read
/// at once: every id for a file, the ids a batch names for a batch.
pub enum TalentIds<'c> {
    Lookup(Statement<'c>),
    Known(HashSet<String>),
}

/// Ids asked for in one query.
const IDS_PER_QUERY: usize = 500;

impl<'c> TalentIds<'c> {
    /// For a file of moves naming any talents.
    pub fn all(conn: &'c Connection) -> crate::store::db::Result<TalentIds<'c>> {
        match conn.kind() {
            Kind::Sqlite => Ok(TalentIds::Lookup(conn.prepare("SELECT 1 FROM talents WHERE id = ?1")?)),
            Kind::Postgres => {
                let mut stmt = conn.prepare("SELECT id FROM talents")?;
                let ids = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<_, _>>()?;
                Ok(TalentIds::Known(ids))
            }
        }
    }

    /// For moves naming the talents `named` (and no others).
    pub fn among(conn: &'c Connection, named: &[&str]) -> crate::store::db::Result<TalentIds<'c>> {
        if conn.kind() == Kind::Sqlite {
            return TalentIds::all(conn);
        }
        let mut known = HashSet::new();
        let mut named: Vec<&str> = named.to_vec();
        named.sort_unstable();
        named.dedup();
        for chunk in named.chunks(IDS_PER_QUERY) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
            let mut stmt = conn.prepare(&format!("SELECT id FROM talents WHERE id IN ({})", marks.join(", ")))?;
            let values: Vec<Value> = chunk.iter().map(|&id| Value::from(id)).collect();
            for id in stmt.query_map(params_from_iter(values), |r| r.get::<_, String>(0))? {
                known.insert(id?);
            }
        }
        Ok(TalentIds::Known(known))
    }

    /// The ids among `named` that are in the register, read now by one
    /// primary-key search each: for a connection other than the one that
    /// validates (a moves batch reads them beside its stored moves).
    pub fn read_among(conn: &Connection, named: &[&str]) -> crate::store::db::Result<HashSet<String>> {
        let mut stmt = conn.prepare("SELECT 1 FROM talents WHERE id = ?1")?;
        let mut known = HashSet::with_capacity(named.len());
        for &id in named {
            if !known.contains(id) && stmt.query_row(params![id], |_| Ok(())).optional()?.is_some() {
                known.insert(id.to_string());
            }
        }
        Ok(known)
    }

    pub fn contains(&mut self, id: &str) -> crate::store::db::Result<bool> {
        match self {
            TalentIds::Lookup(stmt) => Ok(stmt.query_row(params![id], |_| Ok(())).optional()?.is_some()),
            TalentIds::Known(ids) => Ok(ids.contains(id)),
        }
    }
}

/// Moves reference talents that must be in the register ([`TalentIds`]).
pub fn parse_move(row: &mut Row, ctx: &Context, talents: &mut TalentIds) -> Option<Move> {
    let id = row.required("id", parse_id);
    let talent_id = row.required("talent_id", parse_id);
    if let Some(t) = &talent_id {
        match talents.contains(t) {
            Ok(true) => {}
            Ok(false) => row.fail("talent_id", t, "no talent with this id; import talents first"),
            Err(e) => row.fail("talent_id", t, format!("lookup failed: {e}")),
        }
    }
    let date = row.required("date", parse_date);
    let event = row.required("event", parse_enum::<MoveEvent>);
    let from = row.optional_point("from_lon", "from_lat");
    let to = row.optional_point("to_lon", "to_lat");
    let to_enterprise_id = row.optional("to_enterprise_id", check_enterprise(ctx));
    let destination = row.optional("destination", |v| parse_text(100)(v));
    if !row.errors.is_empty() {
        return None;
    }
    Some(Move {
        id: id?,
        talent_id: talent_id?,
        date: date?,
        event: event?,
        from: from.ok()?,
        to: to.ok()?,
        to_enterprise_id: to_enterprise_id.ok()?,
        destination: destination.ok()?,
    })
}

pub const MOVE_UPSERT: &str =
    "INSERT INTO moves(id, talent_id, date, event, from_lon, from_lat, to_lon, to_lat, to_enterprise_id,
      destination, from_district, to_district, batch, rkey)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
    ON CONFLICT(id) DO UPDATE SET talent_id = excluded.talent_id, date = excluded.date, event = excluded.event,
      from_lon = excluded.from_lon, from_lat = excluded.from_lat, to_lon = excluded.to_lon, to_lat = excluded.to_lat,
      to_enterprise_id = excluded.to_enterprise_id, destination = excluded.destination,
      from_district = excluded.from_district, to_district = excluded.to_district, batch = excluded.batch,
      rkey = excluded.rkey
    WHERE moves.batch <> excluded.batch";

pub fn write_move(stmt: &mut Bulk, m: &Move, ctx: &Context, batch: u64) -> crate::store::db::Result<usize> {
    let from_district = m.from.and_then(|p| ctx.regions.assign(p).0);
    let to_district = m.to.and_then(|p| ctx.regions.assign(p).0);
    let rkey = crate::auth::record_key(&ctx.pseudonym, "move", &m.id);
    write_move_as(stmt, m, (from_district, to_district), batch, rkey)
}

/// A move as it will be stored, with its record key, and the districts of
/// its points.
#[derive(Debug, Clone)]
pub struct LocatedMove {
    pub row: super::present::MoveRow,
    pub from_district: Option<String>,
    pub to_district: Option<String>,
}

impl LocatedMove {
    pub fn of(m: Move, ctx: &Context) -> LocatedMove {
        let district = |p: Option<LonLat>| p.and_then(|p| ctx.regions.assign(p).0).map(str::to_string);
        let (from_district, to_district) = (district(m.from), district(m.to));
        let rkey = crate::auth::record_key(&ctx.pseudonym, "move", &m.id);
        LocatedMove { row: super::present::MoveRow { stored: m, rkey }, from_district, to_district }
    }
}

/// Writes a located move with [`MOVE_UPSERT`].
pub fn write_located_move(stmt: &mut Bulk, located: &LocatedMove, batch: u64) -> crate::store::db::Result<usize> {
    let districts = (located.from_district.as_deref(), located.to_district.as_deref());
    write_move_as(stmt, &located.row.stored, districts, batch, located.row.rkey)
}

fn write_move_as(
    stmt: &mut Bulk,
    m: &Move,
    (from_district, to_district): (Option<&str>, Option<&str>),
    batch: u64,
    rkey: u32,
) -> crate::store::db::Result<usize> {
    stmt.execute(params![
        m.id,
        m.talent_id,
        m.date.to_string(),
        m.event.code(),
        m.from.map(|p| p.lon),
        m.from.map(|p| p.lat),
        m.to.map(|p| p.lon),
        m.to.map(|p| p.lat),
        m.to_enterprise_id,
        m.destination,
        from_district,
        to_district,
        batch as i64,
        rkey
    ])
}

/// Loads the enterprise ids of the store.
pub fn enterprise_ids(conn: &Connection) -> crate::store::db::Result<HashSet<String>> {
    let mut stmt = conn.prepare("SELECT id FROM enterprises")?;

    stmt.query_map([], |r| r.get::<_, String>(0))?.collect()
}
