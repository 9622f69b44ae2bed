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

impl Record for Side {
    fn put(&self, e: &mut Enc) {
        for t in [self.n, self.within_short, self.over_long, self.young, self.home_near, self.work_near] {
            t.put(e);
        }
        e.u64(self.km_fixed as u64);
        e.u64((self.km_fixed >> 64) as u64);
        e.len(self.histogram.len());
        self.histogram.iter().for_each(|t| t.put(e));
        self.median_km.put(e);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        let mut s = Side {
            n: Tally::get(d)?,
            within_short: Tally::get(d)?,
            over_long: Tally::get(d)?,
            young: Tally::get(d)?,
            home_near: Tally::get(d)?,
            work_near: Tally::get(d)?,
            km_fixed: i128::from(d.u64()?) | (i128::from(d.u64()? as i64) << 64),
            ..Side::default()
        };
        if d.len()? != s.histogram.len() {
            return Err(bad("another number of distance bands"));
        }
        for slot in s.histogram.iter_mut() {
            *slot = Tally::get(d)?;
        }
        let median = Option::get(d)?;
        s.settle(median);
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

impl Record for NearestStation {
    fn put(&self, e: &mut Enc) {
        e.str(&self.name);
        e.str(&self.name_en);
        e.f64(self.metres);
        e.u8(self.hypothetical as u8);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        Ok(NearestStation { name: d.str()?, name_en: d.str()?, metres: d.f64()?, hypothetical: d.u8()? != 0 })
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
        w.records(&self.park_workers)?;
        w.records(&self.enterprise_start)?;
        w.records(&self.enterprise_talents)?;
        w.records(&self.areas)?;
        w.records(&self.flows_district)?;
        w.records(&self.flows_park)?;
        w.records(&self.park_nearest)
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
        let park_workers: Vec<Vec<u32>> = r.records()?;
        let enterprise_start: Vec<u32> = r.records()?;
        let enterprise_talents: Vec<u32> = r.records()?;
        let areas: Vec<AreaCounts> = r.records()?;
        let flows_district: Vec<Flow> = r.records()?;
        let flows_park: Vec<Flow> = r.records()?;
        let park_nearest: Vec<Option<NearestStation>> = r.records()?;
        let talent = |i: &u32| (*i as usize) < n;
        let region = |f: &Flow| (f.from as usize) < regions && (f.to as usize) < regions;
        if km.len() != n || home_near.len() != n.div_ceil(64) || work_near.len() != n.div_ceil(64) {
            return Err(bad("sized for another number of talents"));
        }
        if rail.len() != 2 * rail_ids.len() || !rail_ids.iter().all(|&i| (i as usize) < snap.stations.len()) {
            return Err(bad("a rail station past the stations"));
        }
        if !enterprise_talents.iter().all(talent) || !park_workers.iter().all(|l| l.iter().all(talent)) {
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
            park_workers,
            enterprise_start,
            enterprise_talents,
            areas,
            flows_district,
            flows_park,
            park_nearest,
            commutes: None,
            build_ms,
        })
    }
}
