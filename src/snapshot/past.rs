//! The city as of the end of a past month: the present snapshot with the
//! talents whose state has changed since then put back where they were.
//!
//! A talent's state at a date is the register row with the moves up to that
//! date applied by the state rule ([`crate::model::state`],
//! `docs/present.md`). Talents without a move after the month's end are as
//! they are now; the others — read from the store with their register row
//! and all their moves — are replayed up to the month's end: those in the
//! city then are put in at their home and workplace of then (a position
//! unchanged since keeps its stored district and park; a changed one is
//! located in the regions), their present records taken out. Everything
//! derived from the talents (the workplace order, carried over with the
//! changed talents merged in; region totals, residents of the flow index,
//! the talent pyramid) is recomputed; the
//! enterprises, vacancies, stations and the move table are today's.
//!
//! Cost: one indexed read of the changed talents' rows and moves, a replay
//! each, and the swap of a talent set (about what a moves batch costs the
//! snapshot, for every talent that moved since).

use crate::analytics::flows::month_label;
use crate::model::state::{self, Step, TalentState};
use crate::model::{Date, LonLat, MoveEvent};
use crate::store::Store;

use super::load::{SnapshotError, settle_swapped_talents};
use super::patch::{swap_talents, with_other_talents};
use super::tables::{TalentContext, TalentValues, talent_rec};
use super::*;

/// The last day of absolute month `month` (`year * 12 + month - 1`).
pub fn month_end(month: u32) -> Date {
    let next = month + 1;
    let first_of_next = Date { year: (next / 12) as u16, month: (next % 12 + 1) as u8, day: 1 };
    Date::from_days(first_of_next.days() - 1)
}

/// Why a past month's view could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PastError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The store holds a newer data version than `snap`: build from the
    /// snapshot of that version.
    #[error("the data changed while the view of {0} was being built")]
    Stale(String),
}

impl From<crate::store::StoreError> for PastError {
    fn from(e: crate::store::StoreError) -> Self {
        PastError::Snapshot(e.into())
    }
}

impl From<crate::store::db::Error> for PastError {
    fn from(e: crate::store::db::Error) -> Self {
        PastError::Snapshot(e.into())
    }
}

const SELECT: &str = "SELECT t.id, t.reg_home_lon, t.reg_home_lat, t.reg_work_lon, t.reg_work_lat, t.reg_enterprise_id,
        t.here, t.home_lon, t.home_lat, t.work_lon, t.work_lat, t.enterprise_id,
        t.field, t.education, t.title, t.tier, t.birth_year, t.seeking,
        t.home_district, t.home_park, t.work_district, t.work_park, t.rkey,
        m.id, m.date, m.event, m.to_lon, m.to_lat, m.to_enterprise_id
    FROM talents t JOIN moves m ON m.talent_id = t.id
    WHERE t.id IN (SELECT talent_id FROM moves WHERE date > ?1)
    ORDER BY t.id, m.date, m.id";

/// One talent read: its stored present, its register state and its moves.
struct Talent {
    id: String,
    here: bool,
    home: (f64, f64),
    work: Option<(f64, f64)>,
    enterprise: Option<String>,
    field: String,
    education: String,
    title: String,
    tier: String,
    birth_year: i64,
    seeking: bool,
    regions: [Option<String>; 4],
    rkey: u32,
    registered: TalentState,
    steps: Vec<Step>,
}

impl Talent {
    fn values<'a>(
        &'a self,
        home: (f64, f64),
        work: Option<(f64, f64)>,
        enterprise: Option<&'a str>,
        regions: [Option<&'a str>; 4],
    ) -> TalentValues<'a> {
        TalentValues {
            id: &self.id,
            home,
            work,
            enterprise,
            field: &self.field,
            education: &self.education,
            title: &self.title,
            tier: &self.tier,
            birth_year: self.birth_year,
            seeking: self.seeking,
            home_district: regions[0],
            home_park: regions[1],
            work_district: regions[2],
            work_park: regions[3],
            rkey: self.rkey,
        }
    }
}

fn point(lon: Option<f64>, lat: Option<f64>) -> Option<(f64, f64)> {
    lon.zip(lat)
}

/// The view of `snap` as of the end of `month` (see the module doc), read
/// from `store`, which must hold `snap`'s data version.
pub fn at_month_end(store: &mut Store, snap: &Snapshot, month: u32) -> Result<Snapshot, PastError> {
    let started = std::time::Instant::now();
    let mut phases = crate::timing::Phases::start();
    let until = month_end(month);
    let tx = store.conn_mut().transaction()?;
    if crate::store::data_version(&tx).map_err(SnapshotError::from)? != snap.version {
        return Err(PastError::Stale(month_label(month)));
    }
    let cx = TalentContext::of(snap, false);
    let firm_at = |id: &str| {
        snap.enterprise(id).map(|e| LonLat::new(snap.enterprises[e as usize].lon, snap.enterprises[e as usize].lat))
    };
    let region_id = |r: u16| (r != NONE16).then(|| snap.regions[r as usize].id.as_str());
    let (mut old, mut new) = (Vec::new(), Vec::new());
    let mut replay = |t: Talent| -> Result<(), SnapshotError> {
        let regions = [0, 1, 2, 3].map(|i| t.regions[i].as_deref());
        if t.here {
            old.push(talent_rec(&t.values(t.home, t.work, t.enterprise.as_deref(), regions), &cx)?);
        }
        let s = state::replay(t.registered.clone(), &t.steps, Some(until), firm_at, |_, _| {});
        if !s.here {
            return Ok(());
        }
        let home = (s.home.lon, s.home.lat);
        let work = s.work.map(|w| (w.lon, w.lat));
        let locate = |p: (f64, f64)| {
            let (d, k) = snap.locator.locate(Some(p.0), Some(p.1));
            (region_id(d), region_id(k))
        };
        let (hd, hp) = if home == t.home { (regions[0], regions[1]) } else { locate(home) };
        let (wd, wp) = match work {
            Some(w) if Some(w) == t.work => (regions[2], regions[3]),
            Some(w) => locate(w),
            None => (None, None),
        };
        new.push(talent_rec(&t.values(home, work, s.enterprise.as_deref(), [hd, hp, wd, wp]), &cx)?);
        Ok(())
    };
    {
        let mut stmt = tx.prepare(SELECT)?;
        let mut rows = stmt.query([until.to_string()])?;
        let mut current: Option<Talent> = None;
        while let Some(r) = rows.next()? {
            let id = r.get_ref(0)?.as_str().unwrap_or("");
            if current.as_ref().is_some_and(|c| c.id != id)
                && let Some(t) = current.take()
            {
                replay(t)?;
            }
            if current.is_none() {
                let home = point(r.get(1)?, r.get(2)?).unwrap_or((0.0, 0.0));
                let registered = TalentState {
                    here: true,
                    home: LonLat::new(home.0, home.1),
                    work: point(r.get(3)?, r.get(4)?).map(|(x, y)| LonLat::new(x, y)),
                    enterprise: r.get(5)?,
                };
                current = Some(Talent {
                    id: id.to_string(),
                    here: r.get(6)?,
                    home: point(r.get(7)?, r.get(8)?).unwrap_or((0.0, 0.0)),
                    work: point(r.get(9)?, r.get(10)?),
                    enterprise: r.get(11)?,
                    field: r.get(12)?,
                    education: r.get(13)?,
                    title: r.get(14)?,
                    tier: r.get(15)?,
                    birth_year: r.get(16)?,
                    seeking: r.get(17)?,
                    regions: [r.get(18)?, r.get(19)?, r.get(20)?, r.get(21)?],
                    rkey: r.get::<_, Option<i64>>(22)?.unwrap_or(0) as u32,
                    registered,
                    steps: Vec::new(),
                });
            }
            let date = r.get_ref(24)?.as_str().ok().and_then(Date::parse);
            let event = r.get_ref(25)?.as_str().ok().and_then(|e| e.parse::<MoveEvent>().ok());
            if let (Some(t), Some(date), Some(event)) = (current.as_mut(), date, event) {
                t.steps.push(Step {
                    id: r.get(23)?,
                    date,
                    event,
                    to: point(r.get(26)?, r.get(27)?).map(|(x, y)| LonLat::new(x, y)),
                    to_enterprise: r.get(28)?,
                });
            }
        }
        if let Some(t) = current.take() {
            replay(t)?;
        }
    }
    drop(tx);
    phases.mark("read and replay");
    let changed = old.len();
    let (talents, renumbering) = swap_talents(&snap.talents, &old, new.clone());
    phases.mark("talents out and in");
    let by_work = renumbering.work_order(&snap.talents, &snap.by_work, &talents);
    phases.mark("workplace order");
    let mut past = with_other_talents(snap, snap.flows.clone(), snap.locator.clone());
    past.as_of = Some(month);
    settle_swapped_talents(&mut past, snap, talents, (&old, &new), by_work);
    phases.mark("totals");
    past.build_ms = started.elapsed().as_millis() as u64;
    tracing::info!(month = %month_label(month), changed, ms = past.build_ms, phases = %phases, "past month's view built");
    Ok(past)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_ends() {
        let label = |m: u32| month_end(m).to_string();
        assert_eq!(label(2024 * 12 + 1), "2024-02-29");
        assert_eq!(label(2025 * 12 + 1), "2025-02-28");
        assert_eq!(label(2025 * 12 + 11), "2025-12-31");
        assert_eq!(label(2025 * 12 + 3), "2025-04-30");
    }
}
