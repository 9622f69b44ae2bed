//! The commute index in the file of saved derived indexes
//! (`analytics::saved`): every field as built, checked on read against the
//! snapshot it was built from, so a file that slipped past the block hashes
//! can never put a position past a table on a request path.

use crate::analytics::privacy::Tally;
use crate::snapshot::Snapshot;
use crate::snapshot::file::{Dec, Enc, FileError, Reader, Record, Writer};

use super::distance::{CommuteDistance, Haversine};
use super::flows::Flow;
use super::indicators::{AreaCounts, Side};
use super::stations::StationSet;
use super::underserved::NearestStation;
use super::{BitSet, CommuteIndex};

fn bad(what: &str) -> FileError {
    FileError::Corrupt(format!("commute index: {what}"))
}

fn opt_f64_put(v: Option<f64>, e: &mut Enc) {
    e.u8(v.is_some() as u8);
    e.f64(v.unwrap_or(0.0));
}

fn opt_f64_get(d: &mut Dec) -> Result<Option<f64>, FileError> {
    let some = d.u8()? != 0;
    let v = d.f64()?;
    Ok(some.then_some(v))
}

impl Record for Side {
    fn put(&self, e: &mut Enc) {
        for t in [self.n, self.within_short, self.over_long, self.young, self.home_near, self.work_near] {
            t.put(e);
        }
        e.f64(self.km_sum);
        e.len(self.histogram.len());
        self.histogram.iter().for_each(|t| t.put(e));
        opt_f64_put(self.median_km, e);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        let mut s = Side {
            n: Tally::get(d)?,
            within_short: Tally::get(d)?,
            over_long: Tally::get(d)?,
            young: Tally::get(d)?,
            home_near: Tally::get(d)?,
            work_near: Tally::get(d)?,
            km_sum: d.f64()?,
            ..Side::default()
        };
        if d.len()? != s.histogram.len() {
            return Err(bad("another number of distance bands"));
        }
        for slot in s.histogram.iter_mut() {
            *slot = Tally::get(d)?;
        }
        s.median_km = opt_f64_get(d)?;
        Ok(s)
    }
}

impl Record for AreaCounts {
    fn put(&self, e: &mut Enc) {
        self.residents.put(e);
        self.jobs.put(e);
        self.homes.put(e);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        Ok(AreaCounts { residents: Tally::get(d)?, jobs: Side::get(d)?, homes: Side::get(d)? })
    }
}

impl Record for Flow {
    fn put(&self, e: &mut Enc) {
        e.u16(self.from);
        e.u16(self.to);
        self.count.put(e);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        Ok(Flow { from: d.u16()?, to: d.u16()?, count: Tally::get(d)? })
    }
}

/// A park's nearest station, or none (`u8` 0).
struct Nearest(Option<NearestStation>);

impl Record for Nearest {
    fn put(&self, e: &mut Enc) {
        let Some(n) = &self.0 else { return e.u8(0) };
        e.u8(1);
        e.str(&n.name);
        e.str(&n.name_en);
        e.f64(n.metres);
        e.u8(n.hypothetical as u8);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        if d.u8()? == 0 {
            return Ok(Nearest(None));
        }
        Ok(Nearest(Some(NearestStation {
            name: d.str()?,
            name_en: d.str()?,
            metres: d.f64()?,
            hypothetical: d.u8()? != 0,
        })))
    }
}

/// One list of a `Vec<Vec<u32>>`.
struct List(Vec<u32>);

impl Record for List {
    fn put(&self, e: &mut Enc) {
        e.len(self.0.len());
        self.0.iter().for_each(|&v| e.u32(v));
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        let n = d.len()?;
        (0..n).map(|_| d.u32()).collect::<Result<Vec<_>, _>>().map(List)
    }
}

impl CommuteIndex {
    /// Writes the index as sections of `w`.
    pub(crate) fn save<W: std::io::Write>(&self, w: &mut Writer<W>) -> std::io::Result<()> {
        w.value(&self.method.to_string())?;
        w.value(&self.build_ms)?;
        w.records(&self.km)?;
        w.records(&self.home_near.0)?;
        w.records(&self.work_near.0)?;
        let rail: Vec<[f64; 2]> = (0..self.rail.len() as u32).map(|i| self.rail.point(i)).collect();
        w.records(&rail.iter().flatten().copied().collect::<Vec<f64>>())?;
        w.records(&self.rail_ids)?;
        w.records(&self.by_work)?;
        let lists: Vec<List> = self.park_workers.iter().map(|l| List(l.clone())).collect();
        w.records(&lists)?;
        w.records(&self.enterprise_start)?;
        w.records(&self.enterprise_talents)?;
        w.records(&self.areas)?;
        w.records(&self.flows_district)?;
        w.records(&self.flows_park)?;
        let nearest: Vec<Nearest> = self.park_nearest.iter().map(|n| Nearest(n.clone())).collect();
        w.records(&nearest)
    }

    /// Reads an index [`CommuteIndex::save`] wrote for `snap`, checking
    /// every length and position against it.
    pub(crate) fn load<R: std::io::Read>(r: &mut Reader<R>, snap: &Snapshot) -> Result<CommuteIndex, FileError> {
        let method: String = r.value()?;
        if method != Haversine.method() {
            return Err(FileError::Stale(format!("commute index measured by {method}")));
        }
        let build_ms: u64 = r.value()?;
        let (n, regions, enterprises) = (snap.talents.len(), snap.regions.len(), snap.enterprises.len());
        let km: Vec<f32> = r.records()?;
        let home_near: Vec<u64> = r.records()?;
        let work_near: Vec<u64> = r.records()?;
        let rail: Vec<f64> = r.records()?;
        let rail_ids: Vec<u32> = r.records()?;
        let by_work: Vec<u32> = r.records()?;
        let park_workers: Vec<List> = r.records()?;
        let enterprise_start: Vec<u32> = r.records()?;
        let enterprise_talents: Vec<u32> = r.records()?;
        let areas: Vec<AreaCounts> = r.records()?;
        let flows_district: Vec<Flow> = r.records()?;
        let flows_park: Vec<Flow> = r.records()?;
        let park_nearest: Vec<Nearest> = r.records()?;
        let talent = |i: &u32| (*i as usize) < n;
        let region = |f: &Flow| (f.from as usize) < regions && (f.to as usize) < regions;
        if km.len() != n || home_near.len() != n.div_ceil(64) || work_near.len() != n.div_ceil(64) {
            return Err(bad("sized for another number of talents"));
        }
        if rail.len() != 2 * rail_ids.len() || !rail_ids.iter().all(|&i| (i as usize) < snap.stations.len()) {
            return Err(bad("a rail station past the stations"));
        }
        if !by_work.iter().all(talent)
            || !enterprise_talents.iter().all(talent)
            || !park_workers.iter().all(|l| l.0.iter().all(talent))
        {
            return Err(bad("a talent past the talents"));
        }
        let starts_ok = enterprise_start.len() == enterprises + 1
            && enterprise_start.first() == Some(&0)
            && enterprise_start.windows(2).all(|w| w[0] <= w[1])
            && enterprise_start.last().is_some_and(|&e| e as usize == enterprise_talents.len());
        if !starts_ok {
            return Err(bad("workers by enterprise do not match the enterprises"));
        }
        if park_workers.len() != regions
            || areas.len() != regions + 1
            || park_nearest.len() != regions
            || !flows_district.iter().all(region)
            || !flows_park.iter().all(region)
        {
            return Err(bad("sized for another number of regions"));
        }
        Ok(CommuteIndex {
            method: Haversine.method(),
            km,
            home_near: BitSet(home_near),
            work_near: BitSet(work_near),
            rail: StationSet::new(rail.chunks_exact(2).map(|p| [p[0], p[1]]).collect()),
            rail_ids,
            by_work,
            park_workers: park_workers.into_iter().map(|l| l.0).collect(),
            enterprise_start,
            enterprise_talents,
            areas,
            flows_district,
            flows_park,
            park_nearest: park_nearest.into_iter().map(|n| n.0).collect(),
            build_ms,
        })
    }
}
