//! A snapshot that follows a moves batch without a rebuild.
//!
//! A batch changes the present of the talents it touches (`docs/present.md`)
//! and adds their moves. The store hands over those talents' rows and moves
//! before and after ([`Delta`]); the new snapshot is the old one with the
//! touched talents' old records taken out and the new ones put in, their
//! old move records replaced by the new ones, the flow cubes changed by the
//! difference, the workplace order carried over with the touched talents
//! merged in ([`Renumbering::work_order`]) on a second thread beside the
//! flows, and the region and city totals and resident counts changed by the
//! records taken out and put in (each is a sum over records), not counted
//! again. Nothing is read from the store beyond the delta. Enterprises,
//! vacancies and their indexes are shared with the old snapshot (`Arc`);
//! stations and regions are copied.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use crate::import::present::{Continued, Delta, MoveRow, Rows, TalentRow};
use crate::store::Store;
use crate::store::db::{OptionalExtension, params};

use super::load::settle_swapped_talents;
use super::moves::{Destinations, FastMap, Locator, MoveValues, RawMove, TalentInfo, carried, id_key, raw_move};
use super::tables::{TalentContext, TalentValues, talent_rec};
use super::*;

/// Follows the moves batch that committed data version `version` (the
/// next after `snap`'s) when another server took it: its delta read back
/// from the store ([`crate::import::present::delta_of_batch`]) and applied
/// as the server that took it applied it. `None` when `version` is not a
/// feed batch on top of `snap` (then the caller rebuilds).
pub fn follow_batch(store: &mut Store, snap: &Snapshot, version: u64) -> Result<Option<Snapshot>, SnapshotError> {
    let tx = store.conn_mut().transaction()?;
    if crate::store::data_version(&tx)? != version || snap.version + 1 != version {
        return Ok(None);
    }
    let logged: Option<(String, String)> = tx
        .query_row("SELECT kind, file FROM imports WHERE version = ?1", params![version as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    if logged.as_ref().is_none_or(|(kind, file)| kind != "moves" || file != crate::import::FEED_FILE) {
        return Ok(None);
    }
    let regions = crate::import::present::regions(&tx).map_err(|e| {
        SnapshotError::Store(crate::store::StoreError::Corrupt {
            what: "regions",
            id: String::new(),
            message: e.to_string(),
        })
    })?;
    let delta = crate::import::present::delta_of_batch(&tx, &regions, version)?;
    apply(snap, &delta)
}

/// The snapshot after `delta`, or `None` when `snap` is not the version the
/// batch was written on (or the batch reaches before the first month of
/// the flow index): the caller rebuilds instead.
pub fn apply(snap: &Snapshot, delta: &Delta) -> Result<Option<Snapshot>, SnapshotError> {
    if snap.version != delta.base_version {
        return Ok(None);
    }
    let started = Instant::now();
    let mut phases = crate::timing::Phases::start();
    let cx = TalentContext::of(snap, true);
    let records = |rows: &Rows| -> Result<Vec<TalentRec>, SnapshotError> {
        rows.talents.iter().filter(|t| t.here).map(|t| talent_rec(&values(t), &cx)).collect()
    };
    let (old, new) = (records(&delta.before)?, records(&delta.after)?);
    phases.mark("talent records");
    let (talents, renumbering) = swap_talents(&snap.talents, &old, new.clone());
    phases.mark("talents out and in");

    // The workplace order on a second thread beside the flows.
    let (flows, by_work) = std::thread::scope(|s| {
        let by_work = s.spawn(|| renumbering.work_order(&snap.talents, &snap.by_work, &talents));
        let flows = patch_flows(snap, delta);
        (flows, by_work.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    });
    let Some((flows, locator)) = flows else {
        renumbering.rooms.positions.put(renumbering.moved_to);
        return Ok(None);
    };
    phases.mark("moves and flow cubes beside the workplace order");
    let mut next = with_other_talents(snap, flows, locator);
    next.version = delta.version;
    // Moves change the talents' records only.
    next.layers = LayerVersions { talents: delta.version, ..snap.layers };
    next.totals.moves = snap.totals.moves + delta.after.moves.len() as u64 - delta.before.moves.len() as u64;
    settle_swapped_talents(&mut next, snap, talents, (&old, &new), by_work);
    phases.mark("totals");
    if crate::analytics::cells::follow_pyramid(snap, &next, &old, &new) {
        phases.mark("talent pyramid patched");
    }
    // Where each record went, for the derived indexes kept per position
    // (the commute index) to follow in the background.
    let Renumbering { moved_to, placed, taken, rooms } = renumbering;
    let placed: Vec<u32> = placed.into_iter().map(|(at, _)| at).collect();
    let taken_records = taken.iter().map(|&i| snap.talents[i as usize]).collect();
    let placed_records = placed.iter().map(|&at: &u32| next.talents[at as usize]).collect();
    // The batches before, while their derived indexes may still be
    // followed from (see [`Renumbered::steps`]): the oldest let go.
    let earlier = renumbered(snap);
    let mut link = earlier.clone();
    for _ in 2..KEEP_STEPS {
        link = link.and_then(|r| r.earlier());
    }
    if let Some(oldest) = link {
        *oldest.earlier.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }
    let renumbered = Renumbered {
        base_version: snap.version,
        moved_to,
        placed,
        placed_records,
        taken,
        taken_records,
        earlier: std::sync::Mutex::new(earlier),
        rooms,
    };
    next.memo.insert(RENUMBERED_KEY, Arc::new(renumbered));
    tracing::debug!(phases = %phases, "snapshot patched");
    next.build_ms = started.elapsed().as_millis() as u64;
    Ok(Some(next))
}

/// Where the talent records of the snapshot a moves batch was applied to
/// went in the snapshot it made ([`renumbered`]).
pub struct Renumbered {
    /// The version of the snapshot the batch was applied to.
    pub base_version: u64,
    /// Position of each of its records in the new snapshot's talents, or
    /// [`NONE32`] for a record taken out.
    pub moved_to: Vec<u32>,
    /// The positions of the records put in, ascending.
    pub placed: Vec<u32>,
    /// The records put in, in the order of `placed`.
    pub placed_records: Vec<TalentRec>,
    /// The positions of the records taken out, ascending, and the records.
    pub taken: Vec<u32>,
    pub taken_records: Vec<TalentRec>,
    /// The batch before, when the snapshot it was applied to was made by
    /// one too (the newest snapshot keeps [`KEEP_STEPS`] batches).
    earlier: std::sync::Mutex<Option<Arc<Renumbered>>>,
    rooms: &'static Rooms,
}

/// Batches a snapshot keeps the renumbering of: a background thread that
/// fell that many batches behind builds its derived indexes again instead
/// of following them.
const KEEP_STEPS: usize = 4;

impl Renumbered {
    /// The batches from the snapshot of `version` to this one's, oldest
    /// first, or `None` when the chain does not reach back to it.
    pub fn steps(self: &Arc<Self>, version: u64) -> Option<Vec<Arc<Renumbered>>> {
        let mut steps = vec![self.clone()];
        while steps.last()?.base_version != version {
            let earlier = steps.last()?.earlier()?;
            steps.push(earlier);
        }
        steps.reverse();
        Some(steps)
    }

    /// Appends to `out` the positions `list` (ascending, in the snapshot
    /// the batch was applied to) as they are in the new snapshot, those of
    /// records taken out left out, merged with `put_in` (ascending
    /// positions of records put in): ascending, as a renumbering keeps the
    /// order of the records that stay.
    pub fn renumber_into(&self, list: &[u32], put_in: &[u32], out: &mut Vec<u32>) {
        let mut put_in = put_in.iter().copied().peekable();
        for to in list.iter().map(|&i| self.moved_to[i as usize]).filter(|&to| to != NONE32) {
            while let Some(at) = put_in.next_if(|&at| at < to) {
                out.push(at);
            }
            out.push(to);
        }
        out.extend(put_in);
    }

    /// The batch before this one, while it is kept.
    fn earlier(&self) -> Option<Arc<Renumbered>> {
        self.earlier.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

impl Drop for Renumbered {
    fn drop(&mut self) {
        self.rooms.positions.put(std::mem::take(&mut self.moved_to));
    }
}

const RENUMBERED_KEY: &str = "snapshot::patch::renumbered";

/// Where the records of the snapshot before went in `snap`, when `snap`
/// was made by a moves batch's patch ([`apply`]).
pub fn renumbered(snap: &Snapshot) -> Option<Arc<Renumbered>> {
    snap.memo.get::<Renumbered>(RENUMBERED_KEY)
}

/// The flow index after `delta` (the touched talents' moves taken out and
/// put in again, or a continued talent's new moves put in after its stored
/// ones; the cubes changed by the difference) and the locator it was built
/// with, or `None` when the batch reaches before the first month of the
/// index or a continued talent's tail does not say what its moves carry
/// on from.
fn patch_flows(snap: &Snapshot, delta: &Delta) -> Option<(FlowIndex, Arc<Locator>)> {
    // Built with the moves; a snapshot of a store that had none builds it now.
    let locator =
        if snap.flows.moves.is_empty() { Arc::new(Locator::new(&snap.regions)) } else { snap.locator.clone() };
    let mut destinations = Destinations::from_texts(snap.flows.destinations.clone());
    // The touched talents' old moves are among their new ones: each point
    // is located once.
    let mut located: FastMap<(u64, u64), (u16, u16)> = FastMap::default();
    let mut locate = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => {
            *located.entry((x.to_bits(), y.to_bits())).or_insert_with(|| locator.locate(Some(x), Some(y)))
        }
        _ => (NONE16, NONE16),
    };
    let enterprise_of = |id: Option<&str>| {
        id.and_then(|id| snap.enterprise_index.get(id))
            .map_or((NONE32, NONE8), |&e| (e, snap.enterprises[e as usize].industry))
    };
    // The talents' attribution (a continued talent's new moves carry on
    // from its latest stored ones) and `moves` converted.
    let mut raws = |talents: &[TalentRow], moves: &[MoveRow], continued: &BTreeMap<String, Continued>| {
        let mut info = FastMap::with_capacity_and_hasher(talents.len(), Default::default());
        for t in talents {
            let field = snap.taxonomy.field_index(&t.field).unwrap_or(NONE8);
            let (employer, industry) = enterprise_of(t.reg_enterprise_id.as_deref());
            let mut known = TalentInfo { field, industry, employer };
            if let Some(c) = continued.get(&t.id) {
                let mut tail: Vec<RawMove> = c
                    .tail
                    .iter()
                    .map(|m| raw_move(&move_values(m, &enterprise_of), &mut locate, &mut destinations))
                    .collect();
                known = carried(&mut tail, known, c.whole)?;
            }
            info.insert(id_key(&t.id), known);
        }
        let moves = moves.iter().map(|m| raw_move(&move_values(m, &enterprise_of), &mut locate, &mut destinations));
        Some((moves.collect::<Vec<_>>(), info))
    };
    let mut phases = crate::timing::Phases::start();
    let (added, after) = raws(&delta.after.talents, &delta.after.moves, &delta.continued)?;
    phases.mark("moves after read");
    let (removed, before) = match stored_among(&delta.before.moves, &delta.after.moves, &added) {
        Some(removed) => (removed, raws(&delta.before.talents, &[], &BTreeMap::new())?.1),
        None => raws(&delta.before.talents, &delta.before.moves, &BTreeMap::new())?,
    };
    phases.mark("moves before read");
    let flows = snap.flows.patch(removed, &before, added, &after, destinations.texts)?;
    phases.mark("move table and cubes");
    tracing::debug!(phases = %phases, "flows patched");
    Some((flows, locator.clone()))
}

/// The moves `before` as converted among `added` (the conversions of
/// `after`), when `before` is `after` without some moves and in the same
/// order — as a batch's delta has them: the stored moves, then and now,
/// without and with the batch's new ones (`present::rows_before`). A
/// whole-replayed talent's history is then converted once, not twice.
/// `None` when `before` is not such a subsequence (each is then converted
/// on its own).
fn stored_among(before: &[MoveRow], after: &[MoveRow], added: &[RawMove]) -> Option<Vec<RawMove>> {
    let mut out = Vec::with_capacity(before.len());
    let mut next = before.iter().peekable();
    for (m, raw) in after.iter().zip(added) {
        if next.next_if(|b| *b == m).is_some() {
            out.push(*raw);
        }
    }
    (next.peek().is_none() && after.len() == added.len()).then_some(out)
}

fn values(t: &TalentRow) -> TalentValues<'_> {
    TalentValues {
        id: &t.id,
        home: (t.home.lon, t.home.lat),
        work: t.work.map(|w| (w.lon, w.lat)),
        enterprise: t.enterprise_id.as_deref(),
        field: &t.field,
        education: &t.education,
        title: &t.title,
        tier: &t.tier,
        birth_year: t.birth_year,
        seeking: t.seeking,
        home_district: t.home_district.as_deref(),
        home_park: t.home_park.as_deref(),
        work_district: t.work_district.as_deref(),
        work_park: t.work_park.as_deref(),
        rkey: t.rkey,
    }
}

fn move_values<'a>(row: &'a MoveRow, enterprise_of: &impl Fn(Option<&str>) -> (u32, u8)) -> MoveValues<'a> {
    let m = &row.stored;
    let (to_enterprise, to_industry) = enterprise_of(m.to_enterprise_id.as_deref());
    MoveValues {
        talent_id: &m.talent_id,
        date: m.date,
        event: m.event,
        from: (m.from.map(|p| p.lon), m.from.map(|p| p.lat)),
        to: (m.to.map(|p| p.lon), m.to.map(|p| p.lat)),
        to_industry,
        to_enterprise,
        destination: m.destination.as_deref(),
        rkey: row.rkey,
    }
}

/// Where [`swap_talents`] put each record.
pub(super) struct Renumbering {
    /// Position of each current record in `talents`, or [`NONE32`] for a
    /// record taken out.
    moved_to: Vec<u32>,
    /// Each new record's position in `talents` and the position in the
    /// current records it was put before.
    placed: Vec<(u32, u32)>,
    /// Where the arrays written came from.
    /// The positions of the records taken out, ascending.
    taken: Vec<u32>,
    rooms: &'static Rooms,
}

/// `current` (sorted by home key) without the records `old` (each found by
/// its home key; one record per occurrence) and with `new`, sorted by home
/// key again; with where each record went.
pub(super) fn swap_talents(
    current: &[TalentRec],
    old: &[TalentRec],
    new: Vec<TalentRec>,
) -> (Vec<TalentRec>, Renumbering) {
    swap_talents_in(&ROOMS, current, old, new)
}

/// What [`ready_rooms`] needs of the snapshot a batch will patch: its
/// number of talents and a record to write into the arrays (`None` for a
/// city without talents). Taken before the readying thread starts, which
/// then holds no snapshot: one it held would not be freed, nor its arrays
/// kept for the next batch, until the readying ends (at the lowest
/// priority, that can be after the next batch has published).
pub fn rooms_wanted(current: &Snapshot) -> Option<(usize, TalentRec)> {
    current.talents.first().map(|&filler| (current.talents.len(), filler))
}

/// Readies the arrays a moves batch's patch of a city of `n` talents
/// writes into ([`crate::room::Room::ready`], writing `filler`): a talent
/// array and the two position arrays (where each record went, the
/// workplace order), each with room for the city (and the room's margin
/// for a batch's growth). A patch that finds none kept (the snapshot
/// before is still read, by the warming thread, when the batch comes)
/// otherwise writes 150 MiB of fresh memory at 4 M talents, a page fault
/// every 4 KiB on the batch's path: a batch readies them on its idle core
/// while it validates.
pub fn ready_rooms((n, filler): (usize, TalentRec)) {
    let started = std::time::Instant::now();
    let made = ROOMS.talents.ready(n, 1, filler) + ROOMS.positions.ready(n, 2, 0);
    if made > 0 {
        tracing::debug!(made, ms = started.elapsed().as_millis() as u64, "the patch's arrays made afresh");
    }
}

/// [`swap_talents`], writing into arrays kept in `rooms`; the workplace
/// order made from its renumbering is too.
fn swap_talents_in(
    rooms: &'static Rooms,
    current: &[TalentRec],
    old: &[TalentRec],
    new: Vec<TalentRec>,
) -> (Vec<TalentRec>, Renumbering) {
    let mut taken: std::collections::HashSet<usize> = std::collections::HashSet::with_capacity(old.len());
    for t in old {
        let start = current.partition_point(|r| r.home < t.home);
        let at = current[start..]
            .iter()
            .take_while(|r| r.home == t.home)
            .enumerate()
            .map(|(i, _)| start + i)
            .find(|&i| current[i] == *t && !taken.contains(&i));
        if let Some(i) = at {
            taken.insert(i);
        }
    }
    let mut out: Vec<usize> = taken.into_iter().collect();
    out.sort_unstable();
    // One pass: the kept runs of `current` copied whole, each new record
    // put after every current record of its home key (as a stable sort of
    // the kept records followed by the new ones would place it).
    let mut new = new;
    new.sort_by_key(|t| t.home);
    // Into the arrays of the snapshot before the current one, when kept:
    // memory already in use costs no page faults.
    let mut talents = rooms.talents.take(current.len() - out.len() + new.len());
    let mut moved_to = rooms.positions.take(current.len());
    moved_to.resize(current.len(), NONE32);
    let mut placed = Vec::with_capacity(new.len());
    let (mut from, mut removed) = (0, out.iter().peekable());
    let mut copy_to = |talents: &mut Vec<TalentRec>, to: usize| {
        let mut copy = |talents: &mut Vec<TalentRec>, run: std::ops::Range<usize>| {
            let at = talents.len() as u32;
            for (slot, i) in moved_to[run.clone()].iter_mut().zip(at..) {
                *slot = i;
            }
            talents.extend_from_slice(&current[run]);
        };
        while let Some(&i) = removed.next_if(|&&i| i < to) {
            copy(talents, from..i);
            from = i + 1;
        }
        copy(talents, from..to);
        from = to;
    };
    for t in new {
        let before = current.partition_point(|r| r.home <= t.home);
        copy_to(&mut talents, before);
        placed.push((talents.len() as u32, before as u32));
        talents.push(t);
    }
    copy_to(&mut talents, current.len());
    let taken = out.into_iter().map(|i| i as u32).collect();
    (talents, Renumbering { moved_to, placed, taken, rooms })
}

impl Renumbering {
    /// The workplace order ([`Snapshot::by_work`]) of the swapped talents
    /// `talents`, from `order`, that of `current`: the kept positions carried over in
    /// their order (a record's new position keeps the order of its old one
    /// among records of one workplace key), each new record with a
    /// workplace merged in at its key. Equal to
    /// [`super::load::workplace_order`] of the new talents (checked by a
    /// test) without sorting millions of keys.
    pub(super) fn work_order(&self, current: &[TalentRec], order: &[u32], talents: &[TalentRec]) -> Vec<u32> {
        let mut added: Vec<(u64, u32, u32)> = self
            .placed
            .iter()
            .map(|&(at, before)| (talents[at as usize].work, at, before))
            .filter(|&(work, _, _)| work != NO_KEY)
            .collect();
        added.sort_unstable();
        // Where each goes among the current order: after the records of
        // smaller keys, and of its key those before the place it took.
        let mut added = added
            .into_iter()
            .map(|(work, at, before)| (order.partition_point(|&q| (current[q as usize].work, q) < (work, before)), at))
            .peekable();
        let mut merged = self.rooms.positions.take(order.len() + added.len());
        for (i, &q) in order.iter().enumerate() {
            while let Some((_, at)) = added.next_if(|&(j, _)| j <= i) {
                merged.push(at);
            }
            let to = self.moved_to[q as usize];
            if to != NONE32 {
                merged.push(to);
            }
        }
        merged.extend(added.map(|(_, at)| at));
        merged
    }
}

/// A copy of `snap` with `flows` and `locator` and no talents yet (for
/// [`settle_swapped_talents`] to put in): what a moves batch or a past month's view
/// starts from.
pub(super) fn with_other_talents(snap: &Snapshot, flows: FlowIndex, locator: Arc<Locator>) -> Snapshot {
    Snapshot {
        version: snap.version,
        layers: snap.layers,
        build_ms: 0,
        taxonomy: snap.taxonomy.clone(),
        reference_year: snap.reference_year,
        regions: snap.regions.clone(),
        region_index: snap.region_index.clone(),
        enterprises: snap.enterprises.clone(),
        enterprise_index: snap.enterprise_index.clone(),
        enterprise_tree: snap.enterprise_tree.clone(),
        vacancies: snap.vacancies.clone(),
        talents: Vec::new(),
        by_work: Vec::new(),
        stations: snap.stations.clone(),
        station_tree: snap.station_tree.clone(),
        flows,
        locator,
        totals: snap.totals.clone(),
        totals_tallies: snap.totals_tallies,
        memo: Memo::default(),
        as_of: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored move `id` of talent `talent`, and a conversion of it that
    /// says which it is (its record key).
    fn stored(id: &str, talent: &str, rkey: u32) -> (MoveRow, RawMove) {
        let date = crate::model::Date::parse("2025-03-01").unwrap();
        let m = crate::model::Move {
            id: id.to_string(),
            talent_id: talent.to_string(),
            date,
            event: crate::model::MoveEvent::Leave,
            from: None,
            to: None,
            to_enterprise_id: None,
            destination: None,
        };
        let raw = RawMove {
            talent: 0,
            month: 0,
            day: 1,
            from_district: NONE16,
            from_park: NONE16,
            to_district: NONE16,
            to_park: NONE16,
            destination: NONE16,
            event: 0,
            to_industry: NONE8,
            to_enterprise: NONE32,
            rkey,
            from_key: NO_KEY,
            to_key: NO_KEY,
            seq: 0,
        };
        (MoveRow { stored: m, rkey }, raw)
    }

    #[test]
    fn the_stored_moves_are_taken_from_the_conversions_of_all_moves() {
        let all: Vec<(MoveRow, RawMove)> =
            [("M1", "T1", 1), ("F1", "T1", 2), ("M2", "T1", 3), ("M3", "T2", 4), ("F2", "T2", 5)]
                .iter()
                .map(|&(id, t, k)| stored(id, t, k))
                .collect();
        let after: Vec<MoveRow> = all.iter().map(|(m, _)| m.clone()).collect();
        let added: Vec<RawMove> = all.iter().map(|(_, r)| *r).collect();
        let keys = |raws: &[RawMove]| raws.iter().map(|r| r.rkey).collect::<Vec<_>>();
        // Without the batch's moves F1 and F2, in the same order.
        let before: Vec<MoveRow> = [0, 2, 3].iter().map(|&i| after[i].clone()).collect();
        assert_eq!(stored_among(&before, &after, &added).map(|r| keys(&r)), Some(vec![1, 3, 4]));
        assert_eq!(stored_among(&[], &after, &added).map(|r| keys(&r)), Some(vec![]));
        // Out of order, a move that is not among them, or one that differs:
        // each list is converted on its own.
        let swapped = vec![after[2].clone(), after[0].clone()];
        assert!(stored_among(&swapped, &after, &added).is_none());
        let other = vec![stored("M9", "T1", 9).0];
        assert!(stored_among(&other, &after, &added).is_none());
        let mut changed = after[0].clone();
        changed.stored.destination = Some("上海".into());
        assert!(stored_among(&[changed], &after, &added).is_none());
        // Conversions that do not match the moves one for one.
        assert!(stored_among(&before, &after, &added[..3]).is_none());
    }

    /// A record at `home` working at `work` (none when `work` is 0).
    fn rec(home: u64, rkey: u32, work: u64) -> TalentRec {
        TalentRec { rkey, work: if work == 0 { NO_KEY } else { work }, ..TalentRec::blank(home) }
    }

    /// The kept records followed by the new ones, stably sorted by home.
    fn by_sorting(current: &[TalentRec], old: &[TalentRec], new: &[TalentRec]) -> Vec<TalentRec> {
        let mut kept = current.to_vec();
        for t in old {
            if let Some(i) = kept.iter().position(|r| r == t) {
                kept.remove(i);
            }
        }
        kept.extend_from_slice(new);
        kept.sort_by_key(|t| t.home);
        kept
    }

    #[test]
    fn swapping_talents_equals_a_stable_sort_and_a_new_workplace_order() {
        let mut seed = 7u64;
        let mut next = move |n: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for round in 0..200 {
            // Few distinct homes: many ties, and runs of equal records.
            let len = next(40) as usize;
            let mut current: Vec<TalentRec> = (0..len).map(|_| rec(next(12), next(4) as u32, next(5))).collect();
            current.sort_by_key(|t| t.home);
            let old: Vec<TalentRec> =
                (0..next(6)).filter(|_| !current.is_empty()).map(|_| current[next(len as u64) as usize]).collect();
            let new: Vec<TalentRec> = (0..next(8)).map(|_| rec(next(14), 10 + next(4) as u32, next(5))).collect();
            let (talents, renumbering) = swap_talents(&current, &old, new.clone());
            assert_eq!(talents, by_sorting(&current, &old, &new), "round {round}");
            let order = super::super::load::workplace_order(&current);
            assert_eq!(
                renumbering.work_order(&current, &order, &talents),
                super::super::load::workplace_order(&talents),
                "round {round}: the workplace order"
            );
        }
    }

    #[test]
    fn a_swap_writes_into_the_arrays_of_a_dropped_snapshot() {
        // 450,000 records: arrays large enough to be kept, the workplace
        // order (two records in three have a workplace, 4 bytes each)
        // included. Below `room::SMALLEST` an array is neither kept nor
        // taken, and whether a new one lands where the last was freed
        // depends on what other threads allocate meanwhile.
        let n = 450_000u64;
        let mut current: Vec<TalentRec> =
            (0..n).map(|i| rec(i * 7 % 100_003, i as u32, if i % 3 == 0 { 0 } else { i % 5_000 + 1 })).collect();
        current.sort_by_key(|t| t.home);
        let order = super::super::load::workplace_order(&current);
        let old: Vec<TalentRec> = (0..500).map(|i| current[i * 577]).collect();
        let new: Vec<TalentRec> = (0..700).map(|i| rec(i * 131 % 100_003, 1_000_000 + i as u32, i % 7)).collect();
        let expected = by_sorting(&current, &old, &new);
        // Rooms of this test's own: other tests drop snapshots into the
        // server's rooms, and take from them, while this one runs.
        static OWN: Rooms = Rooms {
            talents: crate::room::Room::new(1, crate::room::KEEP),
            positions: crate::room::Room::new(3, crate::room::KEEP),
        };
        let (first, renumbering) = swap_talents_in(&OWN, &current, &old, new.clone());
        assert_eq!(first, expected);
        let first_order = renumbering.work_order(&current, &order, &first);
        assert_eq!(first_order, super::super::load::workplace_order(&first));
        // As a dropped snapshot leaves them: the talent array and the
        // workplace order in their rooms, with the patch's renumbering.
        assert!(first_order.capacity() * 4 >= 1 << 20, "the workplace order is large enough to be kept");
        let (talents_at, order_at) = (first.as_ptr() as usize, first_order.as_ptr() as usize);
        OWN.positions.put(renumbering.moved_to);
        OWN.talents.put(first);
        OWN.positions.put(first_order);
        let (again, renumbering) = swap_talents_in(&OWN, &current, &old, new.clone());
        assert_eq!(again.as_ptr() as usize, talents_at, "the kept talent array is written into");
        assert_eq!(again, expected);
        let again_order = renumbering.work_order(&current, &order, &again);
        assert_eq!(again_order.as_ptr() as usize, order_at, "the kept workplace order is written into");
        assert_eq!(again_order, super::super::load::workplace_order(&again));
    }
}
