//! The move table of the snapshot and the monthly flow counts per area,
//! precomputed at build so that series and alerts cost a few array reads.
//!
//! Each stored move becomes a 36-byte [`MoveRec`]: its month (an offset from
//! [`FlowIndex::first_month`]), its event, the district and park its `from`
//! and `to` points fall in and their cells (for study areas), the talent's
//! field and industry (when the talent is known), the talent's employer
//! before and after the move, and the destination text interned. Records are sorted by month,
//! so one month or a range of months is a contiguous run.
//!
//! # Counting rules (per area)
//!
//! | counter | a move counts when |
//! |---|---|
//! | arrivals | `arrive` whose `to` lies in the area |
//! | departures | `leave` whose `from` lies in the area |
//! | job changes in / out | `job_change` whose new (`to`) / previous (`from`) workplace lies in the area and the other end does not |
//! | relocations in / out | `relocate` whose new / previous home lies in the area and the other end does not |
//!
//! Moves within one area cross no boundary of it and are not counted at that
//! area's level, so `net = arrivals − departures + job changes in − out +
//! relocations in − out` is the change in the area's talent count.
//!
//! # Field and industry of a move
//!
//! The field is the talent's field (talents are matched by id at build; a move
//! of a talent no longer registered has no field). The industry is that of the
//! move's `to_enterprise_id` when given, otherwise of the employer the talent
//! most recently moved to before this move (from its own earlier moves),
//! otherwise of the talent's current employer. So a departure is attributed to
//! the industry the talent worked in before leaving whenever the history says
//! so.
//!
//! # Employer before and after a move
//!
//! [`MoveRec::from_enterprise`] and [`MoveRec::to_enterprise`] follow the
//! state rule (`crate::model::state`, `docs/present.md`): the employer starts
//! as the registered one; an `arrive` naming an enterprise sets it, a
//! `job_change` sets it to its `to_enterprise_id` (none when not given),
//! `relocate` and `leave` keep it. Moves of one talent on one day are taken
//! in the attribution order below, and those it does not tell apart in the
//! order of their ids. What the enterprise-level and industry-level flows
//! count (`crate::analytics::flows::od_units`).

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use crate::model::{Date, MoveEvent, RegionKind};
use crate::spatial::RegionLookup;

use super::{NO_KEY, NONE8, NONE16, NONE32, RegionInfo};
use crate::analytics::privacy::Tally;

/// Counter positions in a monthly count vector.
pub mod counter {
    pub const ARRIVALS: usize = 0;
    pub const DEPARTURES: usize = 1;
    pub const JOB_CHANGES_IN: usize = 2;
    pub const JOB_CHANGES_OUT: usize = 3;
    pub const RELOCATIONS_IN: usize = 4;
    pub const RELOCATIONS_OUT: usize = 5;
    /// Number of counters.
    pub const N: usize = 6;
    /// Names, in counter order, as used in JSON.
    pub const NAMES: [&str; N] =
        ["arrivals", "departures", "job_changes_in", "job_changes_out", "relocations_in", "relocations_out"];
}

/// One move, compact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MoveRec {
    /// Months since [`FlowIndex::first_month`].
    pub month: u16,
    /// [`MoveEvent`] index.
    pub event: u8,
    /// Field index of the talent, or [`NONE8`].
    pub field: u8,
    /// Industry index (see the module doc), or [`NONE8`].
    pub industry: u8,
    pub from_district: u16,
    pub from_park: u16,
    pub to_district: u16,
    pub to_park: u16,
    /// Index into [`FlowIndex::destinations`], or [`NONE16`].
    pub destination: u16,
    /// Permanent record key for disclosure control; never published.
    pub rkey: u32,
    /// The cells (level 17, [`crate::areas::footprint::LEVEL`]) of the
    /// `from` and `to` points, relative to [`FlowIndex::origin`]
    /// ([`local_cell`]), or [`NONE32`] without a point: what study areas
    /// count moves by.
    pub from_cell: u32,
    pub to_cell: u32,
    /// The talent's employer (enterprise position) just before and just
    /// after the move (see the module doc), or [`NONE32`].
    pub from_enterprise: u32,
    pub to_enterprise: u32,
}

/// A move as read from the store, its points already assigned to regions.
#[derive(Debug, Clone, Copy)]
pub struct RawMove {
    /// Hash of the talent id (see [`id_key`]).
    pub talent: u64,
    /// `year * 12 + month - 1`.
    pub month: u32,
    /// Day of the month, for ordering a talent's moves.
    pub day: u8,
    pub from_district: u16,
    pub from_park: u16,
    pub to_district: u16,
    pub to_park: u16,
    /// Index into the interned destinations, or [`NONE16`].
    pub destination: u16,
    /// [`MoveEvent`] index.
    pub event: u8,
    /// Industry of `to_enterprise_id`, or [`NONE8`].
    pub to_industry: u8,
    /// Position of `to_enterprise_id` among the enterprises, or [`NONE32`].
    pub to_enterprise: u32,
    /// Record key (see [`MoveRec::rkey`]).
    pub rkey: u32,
    /// Point keys of `from` and `to` ([`NO_KEY`] without a point).
    pub from_key: u64,
    pub to_key: u64,
    /// Position among the moves being attributed, set before they are
    /// sorted: moves the [`attribution_order`] does not tell apart keep the
    /// order they came in (the store's: by id on one day).
    pub seq: u32,
}

/// The cell of point key `key` at level [`CELL_LEVEL`] as 16 bits of
/// column and 16 of row from `origin` (the cell of the city's north-west
/// corner, [`FlowIndex::origin`]); [`NONE32`] for no key or a point more
/// than 65,535 cells (about 16,000 km) east or south of it, or west or north.
pub fn local_cell(origin: (u32, u32), key: u64) -> u32 {
    if key == NO_KEY {
        return NONE32;
    }
    let (col, row) = crate::spatial::morton::deinterleave(key >> (2 * (crate::spatial::morton::KEY_ZOOM - CELL_LEVEL)));
    match (col.checked_sub(origin.0), row.checked_sub(origin.1)) {
        (Some(dx), Some(dy)) if dx < 0xFFFF && dy < 0xFFFF => (dx << 16) | dy,
        _ => NONE32,
    }
}

/// The level-17 Morton code of a [`local_cell`] (`None` for [`NONE32`]).
pub fn cell_code(origin: (u32, u32), local: u32) -> Option<u64> {
    (local != NONE32).then(|| crate::spatial::morton::interleave(origin.0 + (local >> 16), origin.1 + (local & 0xFFFF)))
}

/// Level of the cells moves are located in.
const CELL_LEVEL: u8 = crate::areas::footprint::LEVEL;

/// A hash map with a fast hasher, for the maps a moves batch's patch fills
/// with hundreds of thousands of keys it chose itself (points, records,
/// texts of the store), where SipHash was most of the cost.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Assigns move points to the snapshot's districts and parks.
pub struct Locator {
    lookup: RegionLookup,
}

impl Locator {
    pub fn new(regions: &[RegionInfo]) -> Locator {
        Locator { lookup: RegionLookup::new(&regions.iter().map(|r| (r.kind, r.geometry.clone())).collect::<Vec<_>>()) }
    }

    /// `(district, park)` positions of a point, [`NONE16`] where none.
    pub fn locate(&self, lon: Option<f64>, lat: Option<f64>) -> (u16, u16) {
        let (Some(lon), Some(lat)) = (lon, lat) else { return (NONE16, NONE16) };
        let hit = self.lookup.locate(lon, lat);
        let pos = |i: Option<u32>| i.map_or(NONE16, |i| i as u16);
        (pos(hit.district), pos(hit.park))
    }
}

/// Interned destination texts.
#[derive(Debug, Clone, Default)]
pub struct Destinations {
    pub texts: Vec<String>,
    index: FastMap<String, u16>,
}

impl Destinations {
    pub fn from_texts(texts: Vec<String>) -> Destinations {
        let index = texts.iter().enumerate().map(|(i, t)| (t.clone(), i as u16)).collect();
        Destinations { texts, index }
    }

    /// Index of a destination text, or [`NONE16`] (none, or too many).
    pub fn intern(&mut self, text: Option<&str>) -> u16 {
        match text {
            Some(d) if !d.is_empty() => match self.index.get(d) {
                Some(&i) => i,
                None if self.texts.len() < NONE16 as usize => {
                    let i = self.texts.len() as u16;
                    self.texts.push(d.to_string());
                    self.index.insert(d.to_string(), i);
                    i
                }
                None => NONE16,
            },
            _ => NONE16,
        }
    }
}

/// One move's stored values.
pub struct MoveValues<'a> {
    pub talent_id: &'a str,
    pub date: Date,
    pub event: MoveEvent,
    pub from: (Option<f64>, Option<f64>),
    pub to: (Option<f64>, Option<f64>),
    pub to_industry: u8,
    /// Position of `to_enterprise_id`, or [`NONE32`].
    pub to_enterprise: u32,
    pub destination: Option<&'a str>,
    pub rkey: u32,
}

/// A move's raw record: points located by `locate` (a [`Locator`]),
/// destination interned.
pub fn raw_move(
    v: &MoveValues,
    locate: &mut impl FnMut(Option<f64>, Option<f64>) -> (u16, u16),
    destinations: &mut Destinations,
) -> RawMove {
    let (from_district, from_park) = locate(v.from.0, v.from.1);
    let (to_district, to_park) = locate(v.to.0, v.to.1);
    let key = |p: (Option<f64>, Option<f64>)| match p {
        (Some(lon), Some(lat)) => crate::spatial::morton::key(lon, lat),
        _ => NO_KEY,
    };
    RawMove {
        from_key: key(v.from),
        to_key: key(v.to),
        talent: id_key(v.talent_id),
        month: v.date.month_index(),
        day: v.date.day,
        from_district,
        from_park,
        to_district,
        to_park,
        destination: destinations.intern(v.destination),
        event: v.event.index(),
        to_industry: v.to_industry,
        to_enterprise: v.to_enterprise,
        rkey: v.rkey,
        seq: 0,
    }
}

/// Reads every stored move, assigning its points to the regions (through
/// `locator`, positions in the snapshot's regions) and interning destination texts. `enterprise_of` maps an
/// enterprise id to its position and industry index.
pub fn load(
    conn: &crate::store::db::Connection,
    locator: &Locator,
    enterprise_of: impl Fn(&str) -> Option<(u32, u8)>,
) -> crate::store::db::Result<(Vec<RawMove>, Vec<String>)> {
    let mut destinations = Destinations::default();
    let mut out = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT talent_id, date, event, from_lon, from_lat, to_lon, to_lat, to_enterprise_id, destination, rkey FROM moves ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let date = r.get_ref(1)?.as_str().ok().and_then(Date::parse);
        let event = r.get_ref(2)?.as_str().ok().and_then(|e| e.parse::<MoveEvent>().ok());
        // The importer validated every row; anything unreadable is skipped
        // rather than failing the whole snapshot.
        let (Some(date), Some(event)) = (date, event) else { continue };
        let f64_at = |i: usize| r.get_ref(i).ok().and_then(|v| v.as_f64_or_null().ok().flatten());
        let (to_enterprise, to_industry) = match r.get_ref(7)?.as_str_or_null() {
            Ok(Some(id)) => enterprise_of(id).unwrap_or((NONE32, NONE8)),
            _ => (NONE32, NONE8),
        };
        let values = MoveValues {
            talent_id: r.get_ref(0)?.as_str().unwrap_or(""),
            date,
            event,
            from: (f64_at(3), f64_at(4)),
            to: (f64_at(5), f64_at(6)),
            to_industry,
            to_enterprise,
            destination: r.get_ref(8)?.as_str_or_null().ok().flatten(),
            rkey: r.get::<_, Option<i64>>(9)?.unwrap_or(0) as u32,
        };
        out.push(raw_move(&values, &mut |x, y| locator.locate(x, y), &mut destinations));
    }
    Ok((out, destinations.texts))
}

/// The order a talent's moves are attributed in: by talent, month and day;
/// on one day those to an enterprise of a known industry first (so a
/// departure on the day of a job change is attributed to the new job),
/// then by industry, then in the order they came in ([`RawMove::seq`]). The order is total: a
/// build over every move and a patch over one talent's moves attribute
/// that talent's moves alike, whatever else each sorts.
fn attribution_order(m: &RawMove) -> (u64, u32, u8, bool, u8, u32) {
    (m.talent, m.month, m.day, m.to_industry == NONE8, m.to_industry, m.seq)
}

/// Sorts `raw` into [`attribution_order`], numbering the moves in the
/// order given first. Within one talent's day the moves must come in the
/// store's order (by id), as [`load`] and `present::read_rows` give them.
fn sort_for_attribution(raw: &mut [RawMove]) {
    for (i, m) in raw.iter_mut().enumerate() {
        m.seq = i as u32;
    }
    raw.sort_unstable_by_key(attribution_order);
}

/// Appends the records of one talent's moves (in [`attribution_order`]),
/// carrying the latest employer's industry forward in time, and the
/// employer itself by the state rule (module doc).
fn attribute(group: &[RawMove], info: TalentInfo, first: u32, origin: (u32, u32), out: &mut Vec<MoveRec>) {
    let TalentInfo { field, industry: current, employer: registered } = info;
    let mut latest = NONE8;
    let mut employer = registered;
    for m in group {
        let before = employer;
        if let Some(set) = employer_set(m) {
            employer = set;
        }
        let industry = if m.to_industry != NONE8 {
            m.to_industry
        } else if latest != NONE8 {
            latest
        } else {
            current
        };
        if m.to_industry != NONE8 {
            latest = m.to_industry;
        }
        out.push(MoveRec {
            month: (m.month - first).min(u16::MAX as u32 - 1) as u16,
            event: m.event,
            field,
            industry,
            from_district: m.from_district,
            from_park: m.from_park,
            to_district: m.to_district,
            to_park: m.to_park,
            destination: m.destination,
            rkey: m.rkey,
            from_cell: local_cell(origin, m.from_key),
            to_cell: local_cell(origin, m.to_key),
            from_enterprise: before,
            to_enterprise: employer,
        });
    }
}

/// The employer `m` sets, if it sets one (the state rule: an arrival at an
/// enterprise, a job change — to none when it names none).
fn employer_set(m: &RawMove) -> Option<u32> {
    match MoveEvent::from_index(m.event) {
        Some(MoveEvent::Arrive) if m.to_enterprise != NONE32 => Some(m.to_enterprise),
        Some(MoveEvent::JobChange) => Some(m.to_enterprise),
        _ => None,
    }
}

/// What the attribution of a talent's later moves carries on from, after
/// `tail`, its latest moves (whole days, in the store's order; all of its
/// moves when `whole`), `info` being what the build knows of the talent:
/// the employer the last move that sets one leaves, and the industry of
/// the last move to an enterprise of a known industry — as [`attribute`]
/// would reach them
/// over all of the talent's moves. Attributing later moves from it gives
/// each the records a build gives them. `None` when `tail` is not whole
/// and lacks either move (then the earlier moves would decide).
pub fn carried(tail: &mut [RawMove], info: TalentInfo, whole: bool) -> Option<TalentInfo> {
    sort_for_attribution(tail);
    let (mut employer, mut industry) = (None, None);
    for m in tail.iter() {
        if let Some(set) = employer_set(m) {
            employer = Some(set);
        }
        if m.to_industry != NONE8 {
            industry = Some(m.to_industry);
        }
    }
    if !whole && (employer.is_none() || industry.is_none()) {
        return None;
    }
    Some(TalentInfo {
        field: info.field,
        industry: industry.unwrap_or(info.industry),
        employer: employer.unwrap_or(info.employer),
    })
}

/// What the build knows about a talent: its field, its registered
/// employer's industry and the registered employer's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TalentInfo {
    pub field: u8,
    pub industry: u8,
    pub employer: u32,
}

impl TalentInfo {
    /// A talent not in the register.
    pub const UNKNOWN: TalentInfo = TalentInfo { field: NONE8, industry: NONE8, employer: NONE32 };
}

/// A 64-bit key of an id (a talent's while building, since the snapshot
/// keeps no talent ids; a move's while an import locates its warnings).
/// With SipHash and a few million ids a collision has odds below 1e-6.
pub fn id_key(id: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// The level-17 cell of the north-west corner of the districts' and parks'
/// bounds, less one cell (so every point inside lies east and south of it).
fn origin_of(regions: &[RegionInfo]) -> (u32, u32) {
    let mut west_north: Option<(f64, f64)> = None;
    for r in regions.iter().filter(|r| matches!(r.kind, RegionKind::District | RegionKind::Park)) {
        let (w, n) = (r.bbox[0], r.bbox[3]);
        west_north = Some(west_north.map_or((w, n), |(a, b)| (a.min(w), b.max(n))));
    }
    let Some((w, n)) = west_north else { return (0, 0) };
    let key = crate::spatial::morton::key(w, n) >> (2 * (crate::spatial::morton::KEY_ZOOM - CELL_LEVEL));
    let (col, row) = crate::spatial::morton::deinterleave(key);
    (col.saturating_sub(1), row.saturating_sub(1))
}

/// The moves sorted by month, held month by month: each month is a range of
/// a shared buffer, so a moves batch makes new buffers for the months it
/// changes and shares every other month with the table before it, instead of
/// copying millions of records. A table read or built whole keeps one buffer
/// for all its months.
#[derive(Debug, Clone, Default)]
pub struct MoveTable {
    /// By month offset: the buffer holding that month's moves and where.
    months: Vec<MonthRun>,
    len: usize,
}

#[derive(Debug, Clone, Default)]
struct MonthRun {
    buf: std::sync::Arc<Vec<MoveRec>>,
    start: usize,
    end: usize,
}

impl MonthRun {
    fn of(moves: Vec<MoveRec>) -> MonthRun {
        let end = moves.len();
        MonthRun { buf: std::sync::Arc::new(moves), start: 0, end }
    }

    fn moves(&self) -> &[MoveRec] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }
}

impl MoveTable {
    /// A table of `moves` sorted by month.
    pub fn from_sorted(moves: Vec<MoveRec>) -> MoveTable {
        let len = moves.len();
        let buf = std::sync::Arc::new(moves);
        let mut months = Vec::new();
        let mut start = 0;
        for run in buf.chunk_by(|a, b| a.month == b.month) {
            let month = run[0].month as usize;
            while months.len() < month {
                months.push(MonthRun { buf: buf.clone(), start, end: start });
            }
            months.push(MonthRun { buf: buf.clone(), start, end: start + run.len() });
            start += run.len();
        }
        MoveTable { months, len }
    }

    /// Number of moves.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The moves of month offset `month`.
    pub fn month(&self, month: u16) -> &[MoveRec] {
        self.months.get(month as usize).map_or(&[], MonthRun::moves)
    }

    /// The moves of month offsets `from..=to`, in month order.
    pub fn range(&self, from: u16, to: u16) -> impl Iterator<Item = &MoveRec> + '_ {
        let (from, to) = (from as usize, (to as usize + 1).min(self.months.len()));
        self.months.get(from..to.max(from)).unwrap_or_default().iter().flat_map(MonthRun::moves)
    }

    /// Every move, in month order.
    pub fn iter(&self) -> impl Iterator<Item = &MoveRec> + '_ {
        self.months.iter().flat_map(MonthRun::moves)
    }

    /// How many months this table holds in the same buffer as `other` (a
    /// table patched from it shares every month a batch left alone).
    pub fn months_shared_with(&self, other: &MoveTable) -> usize {
        self.months
            .iter()
            .zip(&other.months)
            .filter(|(a, b)| std::sync::Arc::ptr_eq(&a.buf, &b.buf) && (a.start, a.end) == (b.start, b.end))
            .count()
    }

    /// Bytes of the buffers the table holds (each counted once).
    pub fn heap_bytes(&self) -> usize {
        let mut seen = std::collections::HashSet::new();
        self.months
            .iter()
            .filter(|m| seen.insert(std::sync::Arc::as_ptr(&m.buf)))
            .map(|m| m.buf.capacity() * std::mem::size_of::<MoveRec>())
            .sum()
    }
}

impl PartialEq for MoveTable {
    /// The same moves in the same order, however they are held.
    fn eq(&self, other: &MoveTable) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl From<Vec<MoveRec>> for MoveTable {
    /// A table of `moves` in any order (sorted by month here).
    fn from(mut moves: Vec<MoveRec>) -> MoveTable {
        moves.sort_by_key(|m| m.month);
        MoveTable::from_sorted(moves)
    }
}

/// Moves and their per-area monthly counts.
#[derive(Debug, Clone, Default)]
pub struct FlowIndex {
    /// First month of the data as `year * 12 + month - 1`; 0 when there are
    /// no moves.
    pub first_month: u32,
    /// Number of months from the first to the last month with a move.
    pub months: u16,
    /// By month.
    pub moves: MoveTable,
    /// Interned destination texts.
    pub destinations: Vec<String>,
    /// Region position → area slot (districts and parks), or `NONE16`.
    pub slot_of_region: Vec<u16>,
    /// Area slot → region position.
    pub region_of_slot: Vec<u16>,
    /// The level-17 cell (column, row) of the north-west corner of the
    /// districts and parks: the origin of [`MoveRec::from_cell`] and
    /// `to_cell`, a function of the regions alone.
    pub origin: (u32, u32),
    /// Field and industry code-table sizes (dimensions of the cubes).
    pub fields: usize,
    pub industries: usize,
    /// `[slot][month][counter]`, all moves.
    totals: Vec<u32>,
    /// `[slot][month][field][counter]`.
    by_field: Vec<u32>,
    /// `[slot][month][industry][counter]`.
    by_industry: Vec<u32>,
    /// The sums of the record keys of the moves [`Self::totals`] counts,
    /// modulo 2³² (`[slot][month][counter]`): with the counts, the tallies
    /// disclosure control perturbs (`analytics::privacy`). Changed with
    /// the counts, so a moves batch needs no pass over the table for them.
    keys: Vec<u32>,
    /// Resident talents (home in the area) `[slot][field]`, as tallies.
    residents_by_field: Vec<Tally>,
    /// Resident talents `[slot][industry]`, as tallies.
    residents_by_industry: Vec<Tally>,
}

/// A `[slot][month][cell]` cube of `from` months as one of `to` months
/// (`to >= from`): each slot's months where they were, the months after
/// them zero. `cells` is the length of one month of one slot.
fn widen_months(cube: &[u32], slots: usize, from: usize, to: usize, cells: usize) -> Vec<u32> {
    if from == to {
        return cube.to_vec();
    }
    let mut out = vec![0; slots * to * cells];
    if from * cells == 0 {
        return out;
    }
    for (old, new) in cube.chunks_exact(from * cells).zip(out.chunks_exact_mut(to * cells)) {
        new[..old.len()].copy_from_slice(old);
    }
    out
}

/// One month's counts of one area.
pub type Counts = [u64; counter::N];

impl FlowIndex {
    /// Builds the index from [`load`]ed moves. `talents` maps
    /// [`id_key`] of each registered talent to its field and current
    /// industry; `regions` are the snapshot's regions.
    ///
    /// Cost: one sort of the moves by (talent, month) to carry industries
    /// forward, one sort by month, one pass to fill the cubes.
    pub fn build(
        mut raw: Vec<RawMove>,
        destinations: Vec<String>,
        regions: &[RegionInfo],
        talents: &HashMap<u64, TalentInfo>,
        fields: usize,
        industries: usize,
    ) -> FlowIndex {
        let mut index = FlowIndex::empty(regions, destinations, fields, industries);
        if raw.is_empty() {
            return index;
        }

        sort_for_attribution(&mut raw);
        let first = raw.iter().map(|m| m.month).min().unwrap_or(0);
        let last = raw.iter().map(|m| m.month).max().unwrap_or(0);
        index.first_month = first;
        index.months = (last - first + 1).min(u16::MAX as u32) as u16;
        let mut moves = Vec::with_capacity(raw.len());
        for group in raw.chunk_by(|a, b| a.talent == b.talent) {
            let info = talents.get(&group[0].talent).copied().unwrap_or(TalentInfo::UNKNOWN);
            attribute(group, info, first, index.origin, &mut moves);
        }
        drop(raw);
        moves.sort_by_key(|m| m.month);
        index.moves = MoveTable::from_sorted(moves);
        index.fill_cubes();
        index
    }

    /// An index without moves over the districts and parks of `regions`.
    fn empty(regions: &[RegionInfo], destinations: Vec<String>, fields: usize, industries: usize) -> FlowIndex {
        let mut index = FlowIndex { fields, industries, destinations, ..FlowIndex::default() };
        index.origin = origin_of(regions);
        index.slot_of_region = vec![NONE16; regions.len()];
        for (i, r) in regions.iter().enumerate() {
            if matches!(r.kind, RegionKind::District | RegionKind::Park) {
                index.slot_of_region[i] = index.region_of_slot.len() as u16;
                index.region_of_slot.push(i as u16);
            }
        }
        index
    }

    /// The index of moves already attributed and sorted by month (as
    /// [`Self::build`] left them; a saved snapshot), `(first_month, months)`
    /// as built.
    pub(super) fn from_moves(
        regions: &[RegionInfo],
        destinations: Vec<String>,
        fields: usize,
        industries: usize,
        (first_month, months): (u32, u16),
        moves: Vec<MoveRec>,
    ) -> FlowIndex {
        let mut index = FlowIndex::empty(regions, destinations, fields, industries);
        if moves.is_empty() {
            return index;
        }
        index.first_month = first_month;
        index.months = months;
        index.moves = MoveTable::from_sorted(moves);
        index.fill_cubes();
        index
    }

    /// The index after replacing some talents' moves: `removed` are their
    /// moves as built before (with `before`'s talent info), `added` all
    /// their moves now (with `after`'s). Each group of one talent must be
    /// complete — or, for a talent whose new moves all come on later days
    /// than the moves it has, `removed` holds none of its moves, `added`
    /// its new ones and `after` what they carry on from ([`carried`]).
    /// `None` when the added moves start before the first month (every
    /// month offset would shift: rebuild instead).
    pub fn patch<S: std::hash::BuildHasher>(
        &self,
        mut removed: Vec<RawMove>,
        before: &HashMap<u64, TalentInfo, S>,
        mut added: Vec<RawMove>,
        after: &HashMap<u64, TalentInfo, S>,
        destinations: Vec<String>,
    ) -> Option<FlowIndex> {
        let old_first = self.first_month;
        let old_last = old_first + self.months as u32;
        let first = if self.moves.is_empty() {
            added.iter().map(|m| m.month).min().unwrap_or(0)
        } else {
            if added.iter().any(|m| m.month < old_first) {
                return None;
            }
            old_first
        };
        let last = added.iter().map(|m| m.month + 1).chain([old_last]).max().unwrap_or(first + 1).max(first + 1);
        let recs = |raw: &mut Vec<RawMove>, info: &HashMap<u64, TalentInfo, S>| {
            sort_for_attribution(raw);
            let mut out = Vec::with_capacity(raw.len());
            for group in raw.chunk_by(|a, b| a.talent == b.talent) {
                let i = info.get(&group[0].talent).copied().unwrap_or(TalentInfo::UNKNOWN);
                attribute(group, i, first, self.origin, &mut out);
            }
            out
        };
        let mut phases = crate::timing::Phases::start();
        let removed = recs(&mut removed, before);
        let added = recs(&mut added, after);
        phases.mark("attributed");
        // A talent's moves are all taken out and put in again; most come
        // back as they were (an earlier move keeps its month, areas and
        // attribution). Those stay where they are: only the difference is
        // taken out and put in.
        let mut gone: FastMap<MoveRec, u32> = FastMap::with_capacity_and_hasher(removed.len(), Default::default());
        for m in &removed {
            *gone.entry(*m).or_default() += 1;
        }
        let added: Vec<MoveRec> = added
            .into_iter()
            .filter(|m| match gone.get_mut(m) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    false
                }
                _ => true,
            })
            .collect();
        gone.retain(|_, n| *n > 0);
        phases.mark("matched");
        // A bit per low 20 bits of the record key: most moves are ruled out
        // without hashing the record.
        const MAYBE_BITS: u32 = 20;
        let mut maybe = vec![0u64; 1 << (MAYBE_BITS - 6)];
        let bit = |rkey: u32| {
            let b = rkey & ((1 << MAYBE_BITS) - 1);
            ((b >> 6) as usize, 1u64 << (b & 63))
        };
        for m in gone.keys() {
            let (word, mask) = bit(m.rkey);
            maybe[word] |= mask;
        }
        // Months with nothing taken out or put in are shared with this
        // table; the others are made again: their kept moves, then their
        // new ones.
        let mut fresh: FastMap<u16, Vec<MoveRec>> = FastMap::default();
        for m in &added {
            fresh.entry(m.month).or_default().push(*m);
        }
        // Taken out of the months as they are made again; `gone` stays
        // whole for the cubes.
        let mut left = gone.clone();
        let touched: HashSet<u16, foldhash::fast::RandomState> = gone.keys().map(|m| m.month).collect();
        let span = self.moves.months.len().max(fresh.keys().map(|&m| m as usize + 1).max().unwrap_or(0));
        let mut runs = Vec::with_capacity(span);
        let mut len = 0;
        for month in 0..span {
            let old = self.moves.months.get(month);
            let key = month as u16;
            let new = fresh.remove(&key);
            let run = match old {
                Some(old) if new.is_none() && !touched.contains(&key) => old.clone(),
                old => {
                    let old = old.map_or(&[][..], MonthRun::moves);
                    let mut moves = Vec::with_capacity(old.len() + new.as_ref().map_or(0, Vec::len));
                    for m in old {
                        let (word, mask) = bit(m.rkey);
                        if maybe[word] & mask != 0
                            && let Some(n) = left.get_mut(m).filter(|n| **n > 0)
                        {
                            *n -= 1;
                            continue;
                        }
                        moves.push(*m);
                    }
                    moves.extend(new.unwrap_or_default());
                    MonthRun::of(moves)
                }
            };
            len += run.end - run.start;
            runs.push(run);
        }
        let moves = MoveTable { months: runs, len };
        phases.mark("months made");
        tracing::debug!(
            %phases,
            months = span,
            shared = moves.months_shared_with(&self.moves),
            taken_out = removed.len(),
            put_in = added.len(),
            "move table patched"
        );
        let months = (last - first).min(u16::MAX as u32) as u16;
        let mut index = FlowIndex {
            first_month: first,
            months,
            moves,
            destinations,
            slot_of_region: self.slot_of_region.clone(),
            region_of_slot: self.region_of_slot.clone(),
            origin: self.origin,
            fields: self.fields,
            industries: self.industries,
            ..FlowIndex::default()
        };
        if first == self.first_month && months >= self.months && !self.moves.is_empty() {
            // The same first month (a feed's batch dated after the last
            // month only adds months at the end): the cubes are this
            // index's, widened to the new months (each area's run of months
            // copied, the new months zero), changed by the removed and
            // added moves. Counting every move again would cost a pass over
            // the whole table each time a batch starts a month.
            let (slots, from, to) = (self.region_of_slot.len(), self.months as usize, months as usize);
            let n = counter::N;
            index.totals = widen_months(&self.totals, slots, from, to, n);
            index.by_field = widen_months(&self.by_field, slots, from, to, self.fields * n);
            index.by_industry = widen_months(&self.by_industry, slots, from, to, self.industries * n);
            index.keys = widen_months(&self.keys, slots, from, to, n);
            for (m, &n) in &gone {
                for _ in 0..n {
                    index.count(m, false);
                }
            }
            for m in &added {
                index.count(m, true);
            }
        } else {
            index.fill_cubes();
        }
        Some(index)
    }

    fn fill_cubes(&mut self) {
        let (slots, months) = (self.region_of_slot.len(), self.months as usize);
        let n = counter::N;
        self.totals = vec![0; slots * months * n];
        self.by_field = vec![0; slots * months * self.fields * n];
        self.by_industry = vec![0; slots * months * self.industries * n];
        self.keys = vec![0; slots * months * n];
        let moves = std::mem::take(&mut self.moves);
        for m in moves.iter() {
            self.count(m, true);
        }
        self.moves = moves;
    }

    /// Adds a move to the cubes, or takes it out.
    fn count(&mut self, m: &MoveRec, add: bool) {
        let (months, n) = (self.months as usize, counter::N);
        let bump = |cell: &mut u32| *cell = if add { *cell + 1 } else { cell.saturating_sub(1) };
        let key = if add { m.rkey } else { m.rkey.wrapping_neg() };
        for (region, c) in contributions(m) {
            let slot = self.slot(region);
            if slot == NONE16 {
                continue;
            }
            let base = slot as usize * months + m.month as usize;
            bump(&mut self.totals[base * n + c]);
            self.keys[base * n + c] = self.keys[base * n + c].wrapping_add(key);
            if (m.field as usize) < self.fields {
                bump(&mut self.by_field[(base * self.fields + m.field as usize) * n + c]);
            }
            if (m.industry as usize) < self.industries {
                bump(&mut self.by_industry[(base * self.industries + m.industry as usize) * n + c]);
            }
        }
    }

    /// Counts resident talents (home district and park) per area by field
    /// and by industry, the denominators of scoped net rates.
    pub fn count_residents(&mut self, talents: &[super::TalentRec]) {
        let slots = self.region_of_slot.len();
        self.residents_by_field = vec![Tally::default(); slots * self.fields];
        self.residents_by_industry = vec![Tally::default(); slots * self.industries];
        for t in talents {
            self.count_resident(t, true);
        }
    }

    /// The resident counts of `prev` (an index over the same regions and
    /// code tables), for [`Self::count_resident`] to change.
    pub fn carry_residents(&mut self, prev: &FlowIndex) {
        self.residents_by_field.clone_from(&prev.residents_by_field);
        self.residents_by_industry.clone_from(&prev.residents_by_industry);
    }

    /// Adds one talent to (`add`) or takes it from the resident counts of
    /// its home areas.
    #[inline]
    pub fn count_resident(&mut self, t: &super::TalentRec, add: bool) {
        let one = |n: &mut Tally| {
            if add {
                n.add(t.rkey);
            } else {
                *n = n.minus(Tally::one(t.rkey));
            }
        };
        for region in [t.home_district, t.home_park] {
            let slot = self.slot(region);
            if slot == NONE16 {
                continue;
            }
            if (t.field as usize) < self.fields
                && let Some(n) = self.residents_by_field.get_mut(slot as usize * self.fields + t.field as usize)
            {
                one(n);
            }
            if (t.industry as usize) < self.industries
                && let Some(n) =
                    self.residents_by_industry.get_mut(slot as usize * self.industries + t.industry as usize)
            {
                one(n);
            }
        }
    }

    /// Resident talents of an area slot with a field, or `None` when not
    /// counted (see [`Self::count_residents`]).
    pub fn residents_with_field(&self, slot: u16, field: u8) -> Option<Tally> {
        if slot == NONE16 || field as usize >= self.fields {
            return None;
        }
        self.residents_by_field.get(slot as usize * self.fields + field as usize).copied()
    }

    /// Resident talents of an area slot working in any of `industries`, or
    /// `None` when not counted.
    pub fn residents_in_industries(&self, slot: u16, industries: &[u8]) -> Option<Tally> {
        if slot == NONE16 || self.residents_by_industry.is_empty() {
            return None;
        }
        let base = slot as usize * self.industries;
        Some(
            industries
                .iter()
                .filter(|&&i| (i as usize) < self.industries)
                .map(|&i| self.residents_by_industry.get(base + i as usize).copied().unwrap_or_default())
                .sum(),
        )
    }

    /// The unrestricted counters of one area (slot) and month offset as
    /// tallies: [`Self::counts`] with the sums of their moves' record keys.
    pub fn tallies(&self, slot: u16, month: u16) -> [Tally; counter::N] {
        let mut out = [Tally::default(); counter::N];
        let (s, months, n) = (slot as usize, self.months as usize, counter::N);
        if s >= self.region_of_slot.len() || month as usize >= months {
            return out;
        }
        let base = (s * months + month as usize) * n;
        for (c, o) in out.iter_mut().enumerate() {
            *o = Tally { n: self.totals[base + c] as u64, key: self.keys[base + c] };
        }
        out
    }

    /// Area slot of a region position, or `NONE16` (streets, unknown).
    pub fn slot(&self, region: u16) -> u16 {
        self.slot_of_region.get(region as usize).copied().unwrap_or(NONE16)
    }

    /// Counts of one area (slot) and month offset, restricted to a field
    /// and/or a set of industries. With both restrictions the counts come
    /// from a scan of that month's moves; otherwise from the cubes.
    pub fn counts(&self, slot: u16, month: u16, field: Option<u8>, industries: Option<&[u8]>) -> Counts {
        let mut out = [0u64; counter::N];
        let (s, months) = (slot as usize, self.months as usize);
        if s >= self.region_of_slot.len() || month as usize >= months {
            return out;
        }
        let base = s * months + month as usize;
        let n = counter::N;
        match (field, industries) {
            (None, None) => {
                for (c, o) in out.iter_mut().enumerate() {
                    *o = self.totals[base * n + c] as u64;
                }
            }
            (Some(f), None) => {
                if (f as usize) < self.fields {
                    for (c, o) in out.iter_mut().enumerate() {
                        *o = self.by_field[(base * self.fields + f as usize) * n + c] as u64;
                    }
                }
            }
            (None, Some(list)) => {
                for &i in list.iter().filter(|&&i| (i as usize) < self.industries) {
                    for (c, o) in out.iter_mut().enumerate() {
                        *o += self.by_industry[(base * self.industries + i as usize) * n + c] as u64;
                    }
                }
            }
            (Some(f), Some(list)) => {
                let region = self.region_of_slot[s];
                for m in self.month_moves(month) {
                    if m.field == f && list.contains(&m.industry) {
                        for (r, c) in contributions(m) {
                            if r == region {
                                out[c] += 1;
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// The moves of one month offset.
    pub fn month_moves(&self, month: u16) -> &[MoveRec] {
        self.moves.month(month)
    }

    /// The moves of month offsets `from..=to`, in month order.
    pub fn range_moves(&self, from: u16, to: u16) -> impl Iterator<Item = &MoveRec> + '_ {
        self.moves.range(from, to)
    }

    /// Month offset of an absolute month index, if inside the data.
    pub fn offset(&self, month: u32) -> Option<u16> {
        month.checked_sub(self.first_month).filter(|&o| o < self.months as u32).map(|o| o as u16)
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.moves.heap_bytes()
            + (self.totals.capacity() + self.by_field.capacity() + self.by_industry.capacity() + self.keys.capacity())
                * 4
            + (self.residents_by_field.capacity() + self.residents_by_industry.capacity())
                * std::mem::size_of::<Tally>()
    }
}

/// The `(region position, counter)` pairs a move adds one to, at both the
/// district and the park level (see the module doc).
pub fn contributions(m: &MoveRec) -> impl Iterator<Item = (u16, usize)> {
    use counter::*;
    let event = MoveEvent::from_index(m.event);
    let mut out: [(u16, usize); 4] = [(NONE16, 0); 4];
    let crossing = |from: u16, to: u16, into: usize, out_of: usize, slot: usize, out: &mut [(u16, usize); 4]| {
        if from != to {
            out[slot] = (to, into);
            out[slot + 1] = (from, out_of);
        }
    };
    match event {
        Some(MoveEvent::Arrive) => {
            out[0] = (m.to_district, ARRIVALS);
            out[1] = (m.to_park, ARRIVALS);
        }
        Some(MoveEvent::Leave) => {
            out[0] = (m.from_district, DEPARTURES);
            out[1] = (m.from_park, DEPARTURES);
        }
        Some(MoveEvent::JobChange) => {
            crossing(m.from_district, m.to_district, JOB_CHANGES_IN, JOB_CHANGES_OUT, 0, &mut out);
            crossing(m.from_park, m.to_park, JOB_CHANGES_IN, JOB_CHANGES_OUT, 2, &mut out);
        }
        Some(MoveEvent::Relocate) => {
            crossing(m.from_district, m.to_district, RELOCATIONS_IN, RELOCATIONS_OUT, 0, &mut out);
            crossing(m.from_park, m.to_park, RELOCATIONS_IN, RELOCATIONS_OUT, 2, &mut out);
        }
        None => {}
    }
    out.into_iter().filter(|(r, _)| *r != NONE16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(event: MoveEvent, from: (u16, u16), to: (u16, u16)) -> MoveRec {
        MoveRec {
            month: 0,
            event: event.index(),
            field: NONE8,
            industry: NONE8,
            from_district: from.0,
            from_park: from.1,
            to_district: to.0,
            to_park: to.1,
            destination: NONE16,
            rkey: 0,
            from_cell: NONE32,
            to_cell: NONE32,
            from_enterprise: NONE32,
            to_enterprise: NONE32,
        }
    }

    #[test]
    fn local_cells_round_trip_to_their_codes() {
        let origin = (100_000, 50_000);
        let key = crate::spatial::morton::interleave((100_000 + 345) << 7, (50_000 + 17) << 7);
        let local = local_cell(origin, key);
        assert_eq!(local, (345 << 16) | 17);
        assert_eq!(cell_code(origin, local), Some(crate::spatial::morton::interleave(100_345, 50_017)));
        assert_eq!(local_cell(origin, NO_KEY), NONE32);
        assert_eq!(local_cell(origin, crate::spatial::morton::interleave(99_999 << 7, 50_000 << 7)), NONE32);
        assert_eq!(cell_code(origin, NONE32), None);
    }

    #[test]
    fn crossing_rules() {
        let c: Vec<_> = contributions(&rec(MoveEvent::JobChange, (0, 2), (0, NONE16))).collect();
        assert_eq!(c, vec![(2, counter::JOB_CHANGES_OUT)], "same district: only the park boundary is crossed");
        let c: Vec<_> = contributions(&rec(MoveEvent::Leave, (1, NONE16), (NONE16, NONE16))).collect();
        assert_eq!(c, vec![(1, counter::DEPARTURES)]);
        let c: Vec<_> = contributions(&rec(MoveEvent::Relocate, (0, NONE16), (1, NONE16))).collect();
        assert_eq!(c, vec![(1, counter::RELOCATIONS_IN), (0, counter::RELOCATIONS_OUT)]);
        // 16 bytes of move, 4 of record key, 8 of cells and 8 of
        // employers: 180 MB for 5 million moves.
        assert!(std::mem::size_of::<MoveRec>() <= 36);
    }
}
