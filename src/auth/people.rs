//! Individual talent records as an authorised analyst sees them: read from
//! the store by position (a people tile) or by pseudonymous id (a person's
//! panel), never by talent id, and never carrying the talent id out.
//!
//! The snapshot holds no talent ids, so these reads go to the store, which
//! keeps each talent's pseudonym in `talents.pid` (indexed) and indexes home
//! positions (`talents_home`): a people tile at zoom 15 reads one range of
//! that index.

use crate::store::db::{Connection, OptionalExtension, Row, params};

use super::{PersonRegions, PseudonymSecret, pseudonym, record_key};
use crate::store::StoreError;

/// One talent as the people layer and a person's panel show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    /// Pseudonymous id (`p` and 32 hex digits).
    pub pid: String,
    /// In the city now (the register with the moves applied).
    pub here: bool,
    /// `[lon, lat]` of the home now (or, for someone who left, the last
    /// known home).
    pub home: [f64; 2],
    pub work: Option<[f64; 2]>,
    pub enterprise_id: Option<String>,
    pub field: String,
    pub education: String,
    pub title: String,
    pub tier: String,
    pub birth_year: u16,
    pub seeking: bool,
    pub home_district: Option<String>,
    pub home_park: Option<String>,
    pub work_district: Option<String>,
    pub work_park: Option<String>,
}

impl Person {
    /// The regions the jurisdiction rule looks at.
    pub fn regions(&self) -> PersonRegions<'_> {
        PersonRegions {
            home_district: self.home_district.as_deref(),
            home_park: self.home_park.as_deref(),
            work_district: self.work_district.as_deref(),
            work_park: self.work_park.as_deref(),
        }
    }

    /// The 5-year age band in `year`, e.g. `"25-29"` (what leaves the server
    /// instead of a birth year).
    pub fn age_band(&self, year: u16) -> String {
        let age = year.saturating_sub(self.birth_year);
        let low = age - age % 5;
        format!("{low}-{}", low + 4)
    }
}

/// One of a person's moves.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonMove {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `arrive`, `leave`, `relocate` or `job_change`.
    pub event: String,
    pub from: Option<[f64; 2]>,
    pub to: Option<[f64; 2]>,
    pub to_enterprise_id: Option<String>,
    pub destination: Option<String>,
}

const COLUMNS: &str = "pid, home_lon, home_lat, work_lon, work_lat, enterprise_id, field, education, title, tier, \
                       birth_year, seeking, home_district, home_park, work_district, work_park, here";

fn person(r: &Row<'_>) -> crate::store::db::Result<Person> {
    let point = |lon: Option<f64>, lat: Option<f64>| lon.zip(lat).map(|(lon, lat)| [lon, lat]);
    Ok(Person {
        pid: r.get(0)?,
        home: [r.get(1)?, r.get(2)?],
        work: point(r.get(3)?, r.get(4)?),
        enterprise_id: r.get(5)?,
        field: r.get(6)?,
        education: r.get(7)?,
        title: r.get(8)?,
        tier: r.get(9)?,
        birth_year: r.get(10)?,
        seeking: r.get(11)?,
        home_district: r.get(12)?,
        home_park: r.get(13)?,
        work_district: r.get(14)?,
        work_park: r.get(15)?,
        here: r.get(16)?,
    })
}

/// The people in the city now whose home lies in `[west, south, east,
/// north]` (degrees, edges included), at most `limit`, in a stable order
/// (by position, then pseudonym).
pub fn in_bbox(conn: &Connection, bbox: [f64; 4], limit: usize) -> Result<Vec<Person>, StoreError> {
    let [west, south, east, north] = bbox;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM talents INDEXED BY talents_home
         WHERE home_lon BETWEEN ?1 AND ?3 AND home_lat BETWEEN ?2 AND ?4 AND pid IS NOT NULL AND here = 1
         ORDER BY home_lon, home_lat, pid LIMIT ?5"
    ))?;
    let rows = stmt.query_map(params![west, south, east, north, limit as i64], person)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The person with pseudonymous id `pid`, if any.
pub fn by_pid(conn: &Connection, pid: &str) -> Result<Option<Person>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM talents WHERE pid = ?1"))?;
    Ok(stmt.query_row(params![pid], person).optional()?)
}

/// The moves of the person with pseudonymous id `pid`, oldest first.
pub fn moves_of(conn: &Connection, pid: &str) -> Result<Vec<PersonMove>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.date, m.event, m.from_lon, m.from_lat, m.to_lon, m.to_lat, m.to_enterprise_id, m.destination
         FROM talents t JOIN moves m ON m.talent_id = t.id WHERE t.pid = ?1 ORDER BY m.date, m.id",
    )?;
    let point = |lon: Option<f64>, lat: Option<f64>| lon.zip(lat).map(|(lon, lat)| [lon, lat]);
    let rows = stmt.query_map(params![pid], |r| {
        Ok(PersonMove {
            date: r.get(0)?,
            event: r.get(1)?,
            from: point(r.get(2)?, r.get(3)?),
            to: point(r.get(4)?, r.get(5)?),
            to_enterprise_id: r.get(6)?,
            destination: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Writes the pseudonym and record key of every talent row, and the record
/// key of every move, that has none (rows imported before these were
/// stored), in one transaction; returns how many rows changed. The values
/// are functions of the id and the store's secret, so this changes nothing
/// a snapshot shows and the data version stays.
pub fn fill_missing(conn: &mut Connection, secret: &PseudonymSecret) -> Result<usize, StoreError> {
    let tx = conn.transaction_with_behavior(crate::store::db::TransactionBehavior::Immediate)?;
    let ids = |sql: &str| -> Result<Vec<String>, StoreError> {
        let mut stmt = tx.prepare(sql)?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    let talents = ids("SELECT id FROM talents WHERE pid IS NULL OR rkey IS NULL")?;
    let moves = ids("SELECT id FROM moves WHERE rkey IS NULL")?;
    {
        let mut update = tx.prepare("UPDATE talents SET pid = ?2, rkey = ?3 WHERE id = ?1")?;
        for id in &talents {
            update.execute(params![id, pseudonym(secret, id), record_key(secret, "talent", id)])?;
        }
        let mut update = tx.prepare("UPDATE moves SET rkey = ?2 WHERE id = ?1")?;
        for id in &moves {
            update.execute(params![id, record_key(secret, "move", id)])?;
        }
    }
    tx.commit()?;
    Ok(talents.len() + moves.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_bands_are_five_years() {
        let p = Person {
            pid: "p0".into(),
            here: true,
            home: [0.0, 0.0],
            work: None,
            enterprise_id: None,
            field: "0812".into(),
            education: "master".into(),
            title: "none".into(),
            tier: "C".into(),
            birth_year: 1990,
            seeking: false,
            home_district: None,
            home_park: None,
            work_district: None,
            work_park: None,
        };
        assert_eq!(p.age_band(2026), "35-39");
        assert_eq!(p.age_band(2025), "35-39");
        assert_eq!(p.age_band(2024), "30-34");
        assert_eq!(p.age_band(1990), "0-4");
    }
}
