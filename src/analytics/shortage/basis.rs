//! The per-snapshot index behind every shortage and mismatch answer.
//!
//! Built in one pass over talents and vacancies the first time a shortage
//! request reaches a snapshot, then held in the snapshot's memo
//! ([`crate::snapshot::Memo`]) until the snapshot is replaced. It holds:
//!
//! - per field, the positions of the seeking talents and of the open vacancy
//!   rows in the snapshot's records (both sorted by key, so each list is in
//!   key order), so a field's supply and demand in a tile or cell is two
//!   binary searches away and a city-wide pass over one field touches only
//!   that field's records; a position is read as a [`SeekerRec`] or a
//!   [`DemandRec`] through [`Seekers`] and [`Demand`];
//! - dense count tables `[row][field × education × title]` of seekers (by
//!   home region), the employed workforce (by work region and by employer
//!   industry) and open openings (by region and industry), plus city totals,
//!   so district, park and chain figures are table lookups.
//!
//! Talents are personal data: every talent count is a
//! [`Tally`](crate::analytics::privacy::Tally), so a seeker is read with
//! its record key and the talent tables keep the cell key (the sum
//! of the record keys, modulo 2³²) of every counter beside it, in a parallel
//! array. Any sum of counters is then a tally whose published value depends
//! only on the records counted (`analytics::privacy`).
//!
//! Memory at 4 million talents and 1 million vacancy rows: 4 bytes per
//! seeker and per open vacancy row (a copy of their fields would take 24),
//! and 2,340 counters (8 bytes, plus 4 bytes of cell key in the talent
//! tables) per table row — about 10 MB in all.

use crate::analytics::privacy::Tally;
use crate::snapshot::{NONE8, NONE16, NONE32, Snapshot, TalentRec, VacancyRec};
use crate::spatial::morton;

/// Education levels (associate … doctorate).
pub const LEVELS: usize = 4;
/// Professional titles (none … senior).
pub const TITLES: usize = 5;
/// Counters per field in a table row.
pub const PER_FIELD: usize = LEVELS * TITLES;

/// One seeking talent of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeekerRec {
    /// Home key.
    pub key: u64,
    pub district: u16,
    pub park: u16,
    pub education: u8,
    pub title: u8,
    /// The talent's record key (secret; only ever summed into a cell key).
    pub rkey: u32,
}

impl SeekerRec {
    /// The seeker that talent record `t` is.
    #[inline]
    pub fn of(t: &TalentRec) -> SeekerRec {
        SeekerRec {
            key: t.home,
            district: t.home_district,
            park: t.home_park,
            education: t.education,
            title: t.title,
            rkey: t.rkey,
        }
    }

    /// The seeker as a tally of one.
    pub fn tally(&self) -> Tally {
        Tally::one(self.rkey)
    }
}

/// One open vacancy row of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemandRec {
    /// Key of the enterprise.
    pub key: u64,
    pub enterprise: u32,
    pub openings: u32,
    pub district: u16,
    pub park: u16,
    pub education: u8,
    pub title: u8,
}

impl DemandRec {
    /// The demand of vacancy record `v`.
    #[inline]
    pub fn of(v: &VacancyRec) -> DemandRec {
        DemandRec {
            key: v.key,
            enterprise: v.enterprise,
            openings: v.openings,
            district: v.district,
            park: v.park,
            education: v.education,
            title: v.title,
        }
    }
}

/// Records of one field, in key order: positions into the snapshot's
/// records, each read as `T` by `read`.
#[derive(Clone, Copy)]
pub struct List<'a, R, T> {
    at: &'a [u32],
    records: &'a [R],
    read: fn(&R) -> T,
    key: fn(&R) -> u64,
}

/// A field's seekers ([`Basis::seekers`]).
pub type Seekers<'a> = List<'a, TalentRec, SeekerRec>;
/// A field's open vacancy rows ([`Basis::demand`]).
pub type Demand<'a> = List<'a, VacancyRec, DemandRec>;

impl<'a, R, T: 'a> List<'a, R, T> {
    pub fn len(&self) -> usize {
        self.at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    /// The `i`-th record.
    #[inline]
    pub fn get(&self, i: usize) -> Option<T> {
        self.at.get(i).and_then(|&p| self.records.get(p as usize)).map(self.read)
    }

    /// The `i`-th record's key.
    #[inline]
    pub fn key(&self, i: usize) -> Option<u64> {
        self.at.get(i).and_then(|&p| self.records.get(p as usize)).map(self.key)
    }

    /// Every record, in key order.
    pub fn iter(&self) -> impl Iterator<Item = T> + 'a {
        let (records, read) = (self.records, self.read);
        self.at.iter().filter_map(move |&p| records.get(p as usize)).map(read)
    }

    /// The records whose key lies in `keys` (two binary searches).
    pub fn within(&self, keys: std::ops::Range<u64>) -> List<'a, R, T> {
        let key_at = |p: &u32| self.records.get(*p as usize).map_or(u64::MAX, self.key);
        let a = self.at.partition_point(|p| key_at(p) < keys.start);
        let b = self.at.partition_point(|p| key_at(p) < keys.end);
        List { at: &self.at[a..b], ..*self }
    }
}

/// Narrowing of a query by education and title.
///
/// Demand counts vacancies that ask for exactly the given level; supply
/// counts talents holding **at least** that level (a master can take a job
/// that asks for a bachelor's degree; a senior title can fill a post asking
/// for an intermediate one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Narrow {
    /// Education index (see [`crate::model::Education`]).
    pub education: Option<u8>,
    /// Title index (see [`crate::model::Title`]).
    pub title: Option<u8>,
}

impl Narrow {
    /// Whether a vacancy asking for `education` and `title` is demand.
    pub fn demand(&self, education: u8, title: u8) -> bool {
        self.education.is_none_or(|e| education == e) && self.title.is_none_or(|t| title == t)
    }

    /// Whether a talent holding `education` and `title` is supply.
    pub fn supply(&self, education: u8, title: u8) -> bool {
        self.education.is_none_or(|e| education >= e) && self.title.is_none_or(|t| title >= t)
    }
}

/// One area's rows of demand, seekers and workforce (see
/// [`Basis::place_rows`]), index as [`Table::row`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceRows {
    pub demand: Vec<u64>,
    pub seekers: Vec<Tally>,
    pub workforce: Vec<Tally>,
}

/// Dense counters: rows × fields × education × title. Tables of talents
/// also keep the cell key of every counter (`keys`, same index); tables of
/// openings have no keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    width: usize,
    data: Vec<u64>,
    keys: Vec<u32>,
}

impl Table {
    /// A table of openings (plain counts).
    fn new(rows: usize, fields: usize) -> Table {
        Table { width: fields * PER_FIELD, data: vec![0; rows * fields * PER_FIELD], keys: Vec::new() }
    }

    /// A table of talents (tallies: counts with cell keys).
    fn tallies(rows: usize, fields: usize) -> Table {
        Table { keys: vec![0; rows * fields * PER_FIELD], ..Table::new(rows, fields) }
    }

    fn index(&self, row: usize, field: u8, education: u8, title: u8) -> usize {
        row * self.width
            + field as usize * PER_FIELD
            + (education as usize).min(LEVELS - 1) * TITLES
            + (title as usize).min(TITLES - 1)
    }

    fn add(&mut self, row: usize, field: u8, education: u8, title: u8, n: u64) {
        let i = self.index(row, field, education, title);
        if let Some(c) = self.data.get_mut(i) {
            *c += n;
        }
    }

    /// Counts one talent with record key `rkey`.
    fn add_record(&mut self, row: usize, field: u8, education: u8, title: u8, rkey: u32) {
        self.record(row, field, education, title, rkey, true);
    }

    /// Counts one talent with record key `rkey` in (`add`) or out.
    fn record(&mut self, row: usize, field: u8, education: u8, title: u8, rkey: u32, add: bool) {
        let i = self.index(row, field, education, title);
        if let (Some(c), Some(k)) = (self.data.get_mut(i), self.keys.get_mut(i)) {
            if add {
                *c += 1;
                *k = k.wrapping_add(rkey);
            } else {
                *c -= 1;
                *k = k.wrapping_sub(rkey);
            }
        }
    }

    /// One row: `fields × 20` counters, index `field·20 + education·5 + title`.
    pub fn row(&self, row: usize) -> &[u64] {
        self.data.get(row * self.width..(row + 1) * self.width).unwrap_or(&[])
    }

    /// One row as tallies (same index as [`Table::row`]; cell keys 0 in a
    /// table of openings).
    pub fn tally_row(&self, row: usize) -> Vec<Tally> {
        let range = row * self.width..(row + 1) * self.width;
        let counts = self.data.get(range.clone()).unwrap_or(&[]);
        let keys = self.keys.get(range).unwrap_or(&[]);
        counts.iter().enumerate().map(|(i, &n)| Tally { n, key: keys.get(i).copied().unwrap_or(0) }).collect()
    }

    /// The tally of one field's counters in a row, over the cells `accept`
    /// admits (one pass over 20 counters, no allocation).
    pub fn field_tally(&self, row: usize, field: u8, accept: impl Fn(u8, u8) -> bool) -> Tally {
        let start = row * self.width + field as usize * PER_FIELD;
        let (Some(counts), Some(keys)) =
            (self.data.get(start..start + PER_FIELD), self.keys.get(start..start + PER_FIELD))
        else {
            return Tally::default();
        };
        let mut t = Tally::default();
        for e in 0..LEVELS as u8 {
            for ti in 0..TITLES as u8 {
                if accept(e, ti) {
                    let i = e as usize * TITLES + ti as usize;
                    t.merge(Tally { n: counts[i], key: keys[i] });
                }
            }
        }
        t
    }
}

/// Sum of one field's counters in a row, over the cells `accept` admits.
pub fn field_sum(row: &[u64], field: u8, accept: impl Fn(u8, u8) -> bool) -> u64 {
    let Some(block) = row.get(field as usize * PER_FIELD..(field as usize + 1) * PER_FIELD) else {
        return 0;
    };
    let mut sum = 0;
    for e in 0..LEVELS as u8 {
        for t in 0..TITLES as u8 {
            if accept(e, t) {
                sum += block[e as usize * TITLES + t as usize];
            }
        }
    }
    sum
}

/// Element-wise sum of several rows.
pub fn sum_rows<'a>(rows: impl Iterator<Item = &'a [u64]>, width: usize) -> Vec<u64> {
    let mut out = vec![0u64; width];
    for r in rows {
        out.iter_mut().zip(r).for_each(|(o, v)| *o += v);
    }
    out
}

/// Element-wise merge of several tally rows (disjoint sets of records).
pub fn sum_tally_rows(rows: impl Iterator<Item = Vec<Tally>>, width: usize) -> Vec<Tally> {
    let mut out = vec![Tally::default(); width];
    for r in rows {
        out.iter_mut().zip(r).for_each(|(o, v)| o.merge(v));
    }
    out
}

/// The per-snapshot shortage index. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basis {
    /// Number of fields in the taxonomy.
    pub fields: usize,
    /// Per field: the positions of the seeking talents in
    /// `Snapshot::talents` (so in home-key order).
    seekers: Vec<Vec<u32>>,
    /// Per field: the positions of the open vacancy rows in
    /// `Snapshot::vacancies` (so in key order).
    demand: Vec<Vec<u32>>,
    /// Table row of each region (districts and parks), or `NONE32`.
    region_row: Vec<u32>,
    /// Seekers by home region.
    pub seekers_by_region: Table,
    /// Employed talents by work region.
    pub workforce_by_region: Table,
    /// Open openings by region.
    pub demand_by_region: Table,
    /// Employed talents by employer industry.
    pub workforce_by_industry: Table,
    /// Open openings by industry.
    pub demand_by_industry: Table,
    /// City totals in row 0: seekers, workforce, openings.
    pub seekers_city: Table,
    pub workforce_city: Table,
    pub demand_city: Table,
}

impl Basis {
    /// Builds the index in one pass over the snapshot's talents and
    /// vacancies (about 0.1 s per million talents).
    pub fn build(snap: &Snapshot) -> Basis {
        let nf = snap.taxonomy.fields().len().max(1);
        let ni = snap.taxonomy.industries().len().max(1);
        let mut region_row = vec![NONE32; snap.regions.len()];
        let mut rows = 0usize;
        for (i, r) in snap.regions.iter().enumerate() {
            if matches!(r.kind, crate::model::RegionKind::District | crate::model::RegionKind::Park) {
                region_row[i] = rows as u32;
                rows += 1;
            }
        }
        let row_of = |region: u16| -> Option<usize> {
            (region != NONE16)
                .then(|| region_row.get(region as usize).copied())
                .flatten()
                .filter(|&r| r != NONE32)
                .map(|r| r as usize)
        };
        let mut b = Basis {
            fields: nf,
            seekers: vec![Vec::new(); nf],
            demand: vec![Vec::new(); nf],
            region_row: region_row.clone(),
            seekers_by_region: Table::tallies(rows, nf),
            workforce_by_region: Table::tallies(rows, nf),
            demand_by_region: Table::new(rows, nf),
            workforce_by_industry: Table::tallies(ni, nf),
            demand_by_industry: Table::new(ni, nf),
            seekers_city: Table::tallies(1, nf),
            workforce_city: Table::tallies(1, nf),
            demand_city: Table::new(1, nf),
        };
        for (at, t) in snap.talents.iter().enumerate() {
            if b.count_talent(t, true) {
                b.seekers[t.field as usize].push(at as u32);
            }
        }
        for (at, v) in snap.vacancies.iter().enumerate().filter(|(_, v)| v.open && (v.field as usize) < nf) {
            let (f, e, ti, n) = (v.field, v.education, v.title, v.openings as u64);
            b.demand[f as usize].push(at as u32);
            b.demand_city.add(0, f, e, ti, n);
            for r in [v.district, v.park].into_iter().filter_map(row_of) {
                b.demand_by_region.add(r, f, e, ti, n);
            }
            if v.industry != NONE8 {
                b.demand_by_industry.add(v.industry as usize, f, e, ti, n);
            }
        }
        b.seekers.iter_mut().for_each(|v| v.shrink_to_fit());
        b.demand.iter_mut().for_each(|v| v.shrink_to_fit());
        b
    }

    /// Counts talent `t` in (`add`) or out of the seeker and workforce
    /// tables; whether it is a seeker of a field of the taxonomy (one of
    /// [`Self::seekers`]).
    fn count_talent(&mut self, t: &TalentRec, add: bool) -> bool {
        if t.field as usize >= self.fields {
            return false;
        }
        let (f, e, ti, rk) = (t.field, t.education, t.title, t.rkey);
        let row = |region: u16| (region != NONE16).then(|| self.region_row(region)).flatten();
        let (homes, works) = ([t.home_district, t.home_park].map(row), [t.work_district, t.work_park].map(row));
        let seeking = t.seeking();
        if seeking {
            self.seekers_city.record(0, f, e, ti, rk, add);
            for r in homes.into_iter().flatten() {
                self.seekers_by_region.record(r, f, e, ti, rk, add);
            }
        }
        if t.has_work() {
            self.workforce_city.record(0, f, e, ti, rk, add);
            for r in works.into_iter().flatten() {
                self.workforce_by_region.record(r, f, e, ti, rk, add);
            }
            if t.industry != NONE8 {
                self.workforce_by_industry.record(t.industry as usize, f, e, ti, rk, add);
            }
        }
        seeking
    }

    /// The basis of the snapshot `steps` (moves batches, oldest first,
    /// `snapshot::patch::renumbered`) made from the one `before` was made
    /// of: each batch's records taken out of the tables and its records
    /// put in, each field's seekers renumbered and merged with the
    /// seekers put in. The vacancies are the same (a moves batch shares
    /// them), so the demand is carried as it is. Equal to
    /// [`Self::build`] of that snapshot.
    pub fn follow(before: &Basis, steps: &[std::sync::Arc<crate::snapshot::patch::Renumbered>]) -> Basis {
        let mut b = before.clone();
        for step in steps {
            for t in &step.taken_records {
                b.count_talent(t, false);
            }
            let mut put_in = vec![Vec::new(); b.fields];
            for (&at, t) in step.placed.iter().zip(&step.placed_records) {
                if b.count_talent(t, true) {
                    put_in[t.field as usize].push(at);
                }
            }
            for (list, put_in) in b.seekers.iter_mut().zip(put_in) {
                let mut out = Vec::with_capacity(list.len() + put_in.len());
                step.renumber_into(list, &put_in, &mut out);
                *list = out;
            }
        }
        b
    }

    /// The three rows of one area, counted from the records: seekers
    /// living in it, the workforce working in it, and the open openings
    /// of its enterprises (for study areas, which have no table row).
    pub fn place_rows(snap: &Snapshot, place: crate::areas::Place<'_>) -> PlaceRows {
        let nf = snap.taxonomy.fields().len().max(1);
        let (mut seekers, mut workforce, mut demand) =
            (Table::tallies(1, nf), Table::tallies(1, nf), Table::new(1, nf));
        for t in snap.talents.iter().filter(|t| (t.field as usize) < nf) {
            let (f, e, ti, rk) = (t.field, t.education, t.title, t.rkey);
            if t.seeking() && place.lives(t) {
                seekers.add_record(0, f, e, ti, rk);
            }
            if place.works(t) {
                workforce.add_record(0, f, e, ti, rk);
            }
        }
        let hosts: Vec<bool> = snap.enterprises.iter().map(|e| place.hosts(e)).collect();
        for v in snap.vacancies.iter().filter(|v| v.open && (v.field as usize) < nf) {
            if hosts.get(v.enterprise as usize).copied().unwrap_or(false) {
                demand.add(0, v.field, v.education, v.title, v.openings as u64);
            }
        }
        PlaceRows { demand: demand.row(0).to_vec(), seekers: seekers.tally_row(0), workforce: workforce.tally_row(0) }
    }

    /// The basis of a snapshot, built on first use and memoised with it.
    pub fn of(snap: &Snapshot) -> std::sync::Arc<Basis> {
        snap.memo.get_or_compute("shortage/basis", || Basis::build(snap))
    }

    /// The basis of `snap`, made (once) by following `before`'s over the
    /// moves batches `steps` that made `snap` ([`Self::follow`]).
    pub fn followed(
        snap: &Snapshot,
        before: &Basis,
        steps: &[std::sync::Arc<crate::snapshot::patch::Renumbered>],
    ) -> std::sync::Arc<Basis> {
        snap.memo.get_or_compute("shortage/basis", || Basis::follow(before, steps))
    }

    /// Table row of a region (districts and parks only).
    pub fn region_row(&self, region: u16) -> Option<usize> {
        self.region_row.get(region as usize).copied().filter(|&r| r != NONE32).map(|r| r as usize)
    }

    /// The seekers of `field`, in home-key order (`snap` is the snapshot
    /// this basis was made of).
    pub fn seekers<'a>(&'a self, snap: &'a Snapshot, field: u8) -> Seekers<'a> {
        List {
            at: self.seekers.get(field as usize).map_or(&[][..], |v| v.as_slice()),
            records: &snap.talents,
            read: SeekerRec::of,
            key: |t| t.home,
        }
    }

    /// The open vacancy rows of `field`, in key order (`snap` is the
    /// snapshot this basis was made of).
    pub fn demand<'a>(&'a self, snap: &'a Snapshot, field: u8) -> Demand<'a> {
        List {
            at: self.demand.get(field as usize).map_or(&[][..], |v| v.as_slice()),
            records: &snap.vacancies,
            read: DemandRec::of,
            key: |v| v.key,
        }
    }

    /// Seekers of `field` whose home lies in the key range of a tile or cell.
    pub fn seekers_in<'a>(&'a self, snap: &'a Snapshot, field: u8, keys: std::ops::Range<u64>) -> Seekers<'a> {
        self.seekers(snap, field).within(keys)
    }

    /// Open vacancy rows of `field` whose enterprise lies in a key range.
    pub fn demand_in<'a>(&'a self, snap: &'a Snapshot, field: u8, keys: std::ops::Range<u64>) -> Demand<'a> {
        self.demand(snap, field).within(keys)
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        let lists: usize = self.seekers.iter().chain(&self.demand).map(|v| v.capacity() * 4).sum::<usize>();
        let tables = [
            &self.seekers_by_region,
            &self.workforce_by_region,
            &self.demand_by_region,
            &self.workforce_by_industry,
            &self.demand_by_industry,
        ]
        .iter()
        .map(|t| t.data.len() * 8 + t.keys.len() * 4)
        .sum::<usize>();
        lists + tables
    }
}

/// Key range of a grid cell id.
pub fn cell_keys(cell: u64) -> std::ops::Range<u64> {
    morton::tile_range(morton::cell_tile(cell))
}
