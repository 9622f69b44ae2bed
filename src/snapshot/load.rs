//! Building a snapshot from the store.
//!
//! One read transaction sees one consistent data version. The tables are
//! read by the loaders in [`super::tables`] (regions first: every other
//! table refers to them), then the derived indexes and per-region totals
//! are built from the loaded records. Loading costs about a microsecond per
//! record.

use std::sync::Arc;
use std::time::Instant;

use rstar::RTree;

use crate::analytics::privacy::Tally;
use crate::import::current_year;
use crate::model::Taxonomy;
use crate::spatial::lonlat_to_unit;
use crate::store::{Store, StoreError};

use super::tables::{
    LoadedTalents, Openings, RegionIds, TalentContext, count_moves, load_enterprises, load_regions, load_stations,
    load_talents, load_vacancies,
};
use super::*;

/// Why a snapshot could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::store::db::Error> for SnapshotError {
    fn from(e: crate::store::db::Error) -> Self {
        SnapshotError::Store(StoreError::Sql(e))
    }
}

/// Builds a snapshot of the store's current data.
pub fn build(store: &mut Store, taxonomy: Arc<Taxonomy>) -> Result<Snapshot, SnapshotError> {
    let started = Instant::now();
    let tx = store.conn_mut().transaction()?;
    let mut snap = Snapshot::empty(taxonomy.clone());
    snap.version = crate::store::data_version(&tx)?;
    snap.layers = LayerVersions::from_log(&crate::store::latest_by_kind(&tx)?, snap.version);
    snap.reference_year = current_year() as u16;

    load_regions(&tx, &mut snap)?;
    let regions = RegionIds(&snap.region_index);
    let mut enterprises = load_enterprises(&tx, &taxonomy, regions)?;
    let enterprise_index: HashMap<String, u32> =
        enterprises.iter().enumerate().map(|(i, e)| (e.id.clone(), i as u32)).collect();
    let (vacancies, openings) = load_vacancies(&tx, &taxonomy, &enterprise_index, &mut enterprises)?;
    let move_count = count_moves(&tx)?;
    let talent_cx = TalentContext {
        taxonomy: &taxonomy,
        regions,
        enterprise_index: &enterprise_index,
        enterprises: &enterprises,
        with_info: move_count > 0,
    };
    let LoadedTalents { here: talents, registered, info: talent_info } = load_talents(&tx, &talent_cx)?;
    let stations = load_stations(&tx, regions)?;
    let (raw_moves, destinations) = if move_count > 0 {
        snap.locator = Arc::new(moves::Locator::new(&snap.regions));
        moves::load(&tx, &snap.locator, |id| enterprise_index.get(id).map(|&i| (i, enterprises[i as usize].industry)))?
    } else {
        Default::default()
    };
    drop(tx);
    snap.enterprise_index = Arc::new(enterprise_index);

    snap.flows = FlowIndex::build(
        raw_moves,
        destinations,
        &snap.regions,
        &talent_info,
        taxonomy.fields().len(),
        taxonomy.industries().len(),
    );
    drop(talent_info);
    build_point_indexes(&mut snap, &enterprises, &stations);
    let Openings { all: openings, open: open_openings } = openings;
    snap.totals = Totals {
        enterprises: enterprises.len() as u64,
        vacancies: vacancies.len() as u64,
        openings,
        open_openings,
        stations: stations.len() as u64,
        regions: snap.regions.len() as u64,
        moves: move_count,
        ..Totals::default()
    };
    snap.enterprises = Arc::new(enterprises);
    snap.vacancies = Arc::new(vacancies);
    snap.stations = stations;
    settle_talents(&mut snap, talents, registered);
    snap.build_ms = started.elapsed().as_millis() as u64;
    Ok(snap)
}

/// Puts the talents in the city into `snap` with everything derived from
/// them: resident counts of the flow index, the workplace order, region
/// totals and the talent totals. `registered` tallies the whole register.
pub(super) fn settle_talents(snap: &mut Snapshot, talents: Vec<TalentRec>, registered: Tally) {
    // The workplace order (a sort) on a second thread beside the counts.
    let totals = std::thread::scope(|s| {
        let by_work = s.spawn(|| workplace_order(&talents));
        snap.flows.count_residents(&talents);
        let totals = add_region_totals(&mut snap.regions, &talents, &snap.enterprises);
        snap.by_work = by_work.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        totals
    });
    finish_talents(snap, talents, registered, totals);
}

/// [`settle_talents`] with the workplace order already made (saved with the
/// snapshot).
pub(super) fn settle_ordered_talents(
    snap: &mut Snapshot,
    talents: Vec<TalentRec>,
    registered: Tally,
    by_work: Vec<u32>,
) {
    snap.by_work = by_work;
    snap.flows.count_residents(&talents);
    let totals = add_region_totals(&mut snap.regions, &talents, &snap.enterprises);
    finish_talents(snap, talents, registered, totals);
}

/// Puts `talents` into `snap` when they are `prev`'s talents with the
/// records `old` taken out and `new` put in, and `by_work` is their
/// workplace order: resident counts, region totals and talent totals are
/// `prev`'s changed by those records alone (each count and cell key is a
/// sum over records, and the enterprises' part of the region totals is
/// `prev`'s), not counted again over every talent. `snap.regions` are
/// `prev`'s regions.
pub(super) fn settle_swapped_talents(
    snap: &mut Snapshot,
    prev: &Snapshot,
    talents: Vec<TalentRec>,
    (old, new): (&[TalentRec], &[TalentRec]),
    by_work: Vec<u32>,
) {
    let mut stats: Vec<RegionStats> = prev.regions.iter().map(|r| r.stats.clone()).collect();
    let mut city = (prev.totals_tallies.talents, prev.totals_tallies.seekers);
    snap.flows.carry_residents(&prev.flows);
    for (records, add) in [(old, false), (new, true)] {
        for t in records {
            count_talent(&mut stats, &mut city, t, add);
            snap.flows.count_resident(t, add);
        }
    }
    for (region, s) in snap.regions.iter_mut().zip(stats) {
        region.stats = s;
    }
    snap.by_work = by_work;
    finish_talents(snap, talents, prev.totals_tallies.registered, city);
}

/// Positions of the talents with a workplace, sorted by workplace key,
/// then position ([`Snapshot::by_work`]). Sorted as (key, position) pairs
/// read in one pass: a sort of positions that looked each key up in the
/// records would read them at random, many times over.
pub(crate) fn workplace_order(talents: &[TalentRec]) -> Vec<u32> {
    let mut keyed: Vec<(u64, u32)> =
        talents.iter().enumerate().filter(|(_, t)| t.work != NO_KEY).map(|(i, t)| (t.work, i as u32)).collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

fn finish_talents(snap: &mut Snapshot, talents: Vec<TalentRec>, registered: Tally, (all, seekers): (Tally, Tally)) {
    let departed = Tally { n: registered.n - all.n, key: registered.key.wrapping_sub(all.key) };
    snap.totals_tallies = TotalTallies { talents: all, seekers, registered, departed };
    snap.totals.talents = all.n;
    snap.totals.seekers = seekers.n;
    snap.totals.registered = registered.n;
    snap.totals.departed = departed.n;
    snap.talents = talents;
}

/// R-trees over enterprises and stations; ids are positions in the record
/// vectors.
pub(super) fn build_point_indexes(snap: &mut Snapshot, enterprises: &[EnterpriseRec], stations: &[StationRec]) {
    snap.enterprise_tree = Arc::new(enterprise_index(enterprises));
    snap.station_tree = station_index(stations);
}

fn unit(lon: f64, lat: f64) -> [f64; 2] {
    let (x, y) = lonlat_to_unit(lon, lat);
    [x, y]
}

/// R-tree over enterprises; ids are positions in `enterprises`.
pub(super) fn enterprise_index(enterprises: &[EnterpriseRec]) -> RTree<IndexedPoint> {
    RTree::bulk_load(
        enterprises.iter().enumerate().map(|(i, e)| IndexedPoint::new(unit(e.lon, e.lat), i as u32)).collect(),
    )
}

/// R-tree over stations; ids are positions in `stations`.
pub(super) fn station_index(stations: &[StationRec]) -> RTree<IndexedPoint> {
    RTree::bulk_load(
        stations.iter().enumerate().map(|(i, s)| IndexedPoint::new(unit(s.lon, s.lat), i as u32)).collect(),
    )
}

/// Fills each region's totals with their cell keys; returns the city's
/// talents and seekers as tallies.
fn add_region_totals(
    regions: &mut [RegionInfo],
    talents: &[TalentRec],
    enterprises: &[EnterpriseRec],
) -> (Tally, Tally) {
    let mut stats: Vec<RegionStats> = vec![RegionStats::default(); regions.len()];
    let mut city = (Tally::default(), Tally::default());
    for t in talents {
        count_talent(&mut stats, &mut city, t, true);
    }
    let mut bump = |region: u16, f: &dyn Fn(&mut RegionStats)| {
        if let Some(s) = stats.get_mut(region as usize) {
            f(s);
        }
    };
    for e in enterprises {
        for r in [e.district, e.park] {
            bump(r, &|s| {
                s.enterprises += 1;
                s.key_enterprises += e.is_key as u64;
                s.employees += e.employees as u64;
                s.openings += e.openings as u64;
            });
        }
    }
    for (region, s) in regions.iter_mut().zip(stats) {
        region.stats = s;
    }
    city
}

/// Adds one talent record to (`add`) or takes it from its regions' stats
/// and the city's talents and seekers (`city`).
#[inline]
fn count_talent(stats: &mut [RegionStats], city: &mut (Tally, Tally), t: &TalentRec, add: bool) {
    let one = |n: &mut u64, key: &mut u32| {
        if add {
            *n += 1;
            *key = key.wrapping_add(t.rkey);
        } else {
            *n -= 1;
            *key = key.wrapping_sub(t.rkey);
        }
    };
    let seeking = t.seeking();
    one(&mut city.0.n, &mut city.0.key);
    if seeking {
        one(&mut city.1.n, &mut city.1.key);
    }
    for r in [t.home_district, t.home_park] {
        if let Some(s) = stats.get_mut(r as usize) {
            one(&mut s.talents, &mut s.keys.talents);
            if seeking {
                one(&mut s.seekers, &mut s.keys.seekers);
            }
        }
    }
    for r in [t.work_district, t.work_park] {
        if let Some(s) = stats.get_mut(r as usize) {
            one(&mut s.workers, &mut s.keys.workers);
        }
    }
}
