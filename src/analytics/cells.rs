//! Square-grid aggregation of talents and vacancies for a tile.
//!
//! Cells are Web Mercator grid squares aligned to tiles: a tile at zoom `z`
//! is cut into 32 × 32 cells, i.e. cells are the tiles of level `z + 5`
//! (about 150 m at zoom 12 in Jinan, 5 km at zoom 7). A cell lies in exactly
//! one tile, so every record is counted in exactly one cell per zoom, and the
//! cell's id ([`morton::cell_id`]) is the same wherever it is drawn.
//!
//! Algorithm: records are sorted by Morton key, so the tile is one run of the
//! array and each cell a sub-run; one pass over the run accumulates each cell
//! with a reusable field histogram. Cost is linear in the records inside the
//! tile, independent of the city's size.

use crate::analytics::filter::{Filter, TalentWord};
use crate::analytics::postings::FieldPostings;
use crate::analytics::privacy::Tally;
use crate::snapshot::{Snapshot, TalentRec, VacancyRec};
use crate::spatial::{TileId, morton};

/// log2 of cells per tile side.
pub const CELL_SHIFT: u8 = 5;

/// Age up to which a talent counts as young (national youth talent policies
/// commonly use 35).
pub const YOUNG_MAX_AGE: u16 = 35;

/// Level (zoom of the grid) of the cells drawn in a tile at zoom `z`.
pub fn cell_level(z: u8) -> u8 {
    (z + CELL_SHIFT).min(morton::KEY_ZOOM)
}

/// One aggregated cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    /// Stable id (level and Morton code).
    pub id: u64,
    /// Talents, or open openings for vacancies.
    pub count: u64,
    /// Vacancy rows (vacancies only).
    pub rows: u64,
    /// Talents seeking a job (talents only).
    pub seekers: u64,
    /// Talents aged ≤ 35 (talents only).
    pub young: u64,
    /// Counts by education level (associate, bachelor, master, doctorate);
    /// openings for vacancies.
    pub education: [u64; 4],
    /// Field index with the largest count, and that count.
    pub top_field: Option<(u8, u64)>,
    /// Cell keys (sums of record keys, `analytics::privacy`) of the talent
    /// counts above: count, seekers, young, each education level, the top
    /// field. Zero for vacancies (not personal data).
    pub keys: CellKeys,
}

/// The cell keys of a talent cell's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CellKeys {
    pub count: u32,
    pub seekers: u32,
    pub young: u32,
    pub education: [u32; 4],
    pub top_field: u32,
}

impl Cell {
    /// Adds another cell's counts and keys (not its top field) into this one.
    fn add_sums(&mut self, other: &Cell) {
        self.count += other.count;
        self.rows += other.rows;
        self.seekers += other.seekers;
        self.young += other.young;
        let (k, o) = (&mut self.keys, &other.keys);
        k.count = k.count.wrapping_add(o.count);
        k.seekers = k.seekers.wrapping_add(o.seekers);
        k.young = k.young.wrapping_add(o.young);
        for e in 0..4 {
            self.education[e] += other.education[e];
            k.education[e] = k.education[e].wrapping_add(o.education[e]);
        }
    }

    /// The cell's talent count as a tally.
    pub fn tally(&self) -> Tally {
        Tally { n: self.count, key: self.keys.count }
    }
    /// Seeking talents.
    pub fn seekers_tally(&self) -> Tally {
        Tally { n: self.seekers, key: self.keys.seekers }
    }
    /// Young talents.
    pub fn young_tally(&self) -> Tally {
        Tally { n: self.young, key: self.keys.young }
    }
    /// Talents of education level `i` (associate, bachelor, master, doctorate).
    pub fn education_tally(&self, i: usize) -> Tally {
        Tally { n: self.education[i], key: self.keys.education[i] }
    }
    /// Talents of the top field.
    pub fn top_field_tally(&self) -> Option<(u8, Tally)> {
        self.top_field.map(|(f, n)| (f, Tally { n, key: self.keys.top_field }))
    }
}

struct Histogram {
    /// Count and cell key per field index, side by side (one cache line
    /// per update).
    entries: [(u64, u32); 256],
    touched: Vec<u8>,
}

impl Histogram {
    fn new() -> Self {
        Histogram { entries: [(0, 0); 256], touched: Vec::new() }
    }
    #[inline]
    fn add(&mut self, i: u8, n: u64, rkey: u32) {
        let e = &mut self.entries[i as usize];
        // One branch, rarely taken: a field's first record in the cell.
        if (e.0 == 0) & (n != 0) {
            self.touched.push(i);
        }
        e.0 += n;
        e.1 = e.1.wrapping_add(rkey);
    }
    /// Largest entry (smallest index on ties) with its key sum, and reset.
    /// [`Self::take_top`], adding every entry into `parent` first.
    fn drain_into(&mut self, parent: &mut Histogram) -> Option<(u8, u64, u32)> {
        for &i in &self.touched {
            let (n, key) = self.entries[i as usize];
            parent.add(i, n, key);
        }
        self.take_top()
    }

    fn take_top(&mut self) -> Option<(u8, u64, u32)> {
        let mut best: Option<(u8, u64, u32)> = None;
        for &i in &self.touched {
            let (c, key) = self.entries[i as usize];
            if best.is_none_or(|(bi, bc, _)| c > bc || (c == bc && i < bi)) {
                best = Some((i, c, key));
            }
            self.entries[i as usize] = (0, 0);
        }
        self.touched.clear();
        best
    }
}

fn finish(cell: &mut Cell, hist: &mut Histogram) {
    if let Some((field, n, key)) = hist.take_top() {
        cell.top_field = Some((field, n));
        cell.keys.top_field = key;
    }
}

/// Cells made in id order: records are added to the open cell, a cell
/// with no record added is left out.
struct Cells {
    cells: Vec<Cell>,
    hist: Histogram,
    current: Cell,
    any: bool,
}

impl Cells {
    fn new() -> Cells {
        Cells {
            cells: Vec::new(),
            hist: Histogram::new(),
            current: Cell { id: u64::MAX, ..Cell::default() },
            any: false,
        }
    }

    /// Makes `id` the open cell (closing the previous one) unless it is.
    #[inline]
    fn at(&mut self, id: u64) {
        if id == self.current.id {
            return;
        }
        if self.any {
            finish(&mut self.current, &mut self.hist);
            self.cells.push(std::mem::take(&mut self.current));
        }
        self.hist.take_top();
        self.current = Cell { id, ..Cell::default() };
        self.any = false;
    }

    fn done(mut self) -> Vec<Cell> {
        self.at(u64::MAX);
        self.cells
    }
}

/// Runs of records grouped by cell; `add` folds one record into a cell.
fn aggregate<T>(
    records: &[T],
    key: impl Fn(&T) -> u64,
    level: u8,
    mut add: impl FnMut(&mut Cell, &mut Histogram, &T) -> bool,
) -> Vec<Cell> {
    let mut cells = Cells::new();
    for r in records {
        cells.at(morton::cell_id(key(r), level));
        cells.any |= add(&mut cells.current, &mut cells.hist, r);
    }
    cells.done()
}

/// Zooms whose unfiltered talent cells are precomputed once per snapshot
/// ([`talent_pyramid`]): a tile at these zooms covers a large part of a city,
/// so aggregating its records on request would scan millions of them.
pub const PYRAMID_MAX_ZOOM: u8 = 11;

/// Unfiltered talent cells of every zoom up to [`PYRAMID_MAX_ZOOM`], each
/// level sorted by cell id, and for filtered tiles at those zooms the
/// records as packed words.
///
/// A filtered tile at a low zoom still reads every record inside it (a
/// filter is any combination of seven attributes, too many to count in
/// advance), but it reads 8 bytes a record instead of the 40 of a record:
/// `words[i]` is record `i`'s [`TalentWord`], and the finest level's cell
/// `j` holds records `starts[j]..starts[j + 1]` (records are sorted by
/// key, so a cell is a run), so the cell of a record at the tile's level
/// comes from its run, not from its key.
pub struct TalentPyramid {
    levels: Vec<Vec<Cell>>,
    starts: Vec<u32>,
    /// `None` when some record does not fit a word (then filtered tiles
    /// read the records).
    words: Option<Vec<TalentWord>>,
    /// The birth year the words count from.
    base: u16,
    /// Where each field's records are, for filters naming fields.
    fields: FieldPostings,
}

/// The snapshot's talent pyramid, built on first use (one pass over the
/// talents per zoom) and kept in the snapshot's memo. The server builds it
/// before it publishes a snapshot, so no request waits for it.
pub fn talent_pyramid(snap: &Snapshot) -> std::sync::Arc<TalentPyramid> {
    snap.memo.get_or_compute("analytics::cells::talent_pyramid", || {
        let young_from = snap.reference_year.saturating_sub(YOUNG_MAX_AGE);
        let talents = &snap.talents;
        // Three passes over the records, the levels on this thread and the
        // words and postings on a second: a moves batch waits for the
        // pyramid of its snapshot before it answers.
        let ((levels, starts), (words, base, fields)) = std::thread::scope(|s| {
            let rest = s.spawn(|| {
                let base = talents.iter().map(|t| t.birth_year).min().unwrap_or(0);
                // Sized once: collecting through `Option` would grow the
                // vector by doubling and keep up to twice the room.
                let mut words = WORD_ROOM.take(talents.len());
                let fits = talents.iter().all(|t| TalentWord::of(t, base).map(|w| words.push(w)).is_some());
                let fields = FieldPostings::build(talents.iter().map(|t| t.field));
                (fits.then_some(words), base, fields)
            });
            let levels = pyramid_levels(talents, young_from);
            (levels, rest.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        TalentPyramid { levels, starts, words, base, fields }
    })
}

/// Packed words of dropped pyramids, for the next moves batch's pyramid to
/// write into ([`crate::room`]).
static WORD_ROOM: crate::room::Room<TalentWord> = crate::room::Room::new(1, crate::room::KEEP);

impl Drop for TalentPyramid {
    fn drop(&mut self) {
        if let Some(words) = self.words.take() {
            WORD_ROOM.put(words);
        }
    }
}

impl TalentPyramid {
    /// Bytes held by the levels, the packed words and the postings.
    pub fn bytes(&self) -> usize {
        let cells: usize = self.levels.iter().map(|l| l.capacity() * std::mem::size_of::<Cell>()).sum();
        let words = self.words.as_ref().map_or(0, |w| w.capacity() * std::mem::size_of::<TalentWord>());
        cells + self.starts.capacity() * 4 + words + self.fields.bytes()
    }

    /// [`Self::bytes`] in MiB, one decimal, for logs.
    pub fn mib(&self) -> String {
        format!("{:.1}", self.bytes() as f64 / f64::from(1 << 20))
    }

    /// The cells at `level` of the records inside `range` (a tile's run of
    /// `talents`) that match `filter`, from the postings of the fields it
    /// names; `None` when it names none, or when their records inside the
    /// range are more than one in `ratio` (then a scan of the range is as
    /// fast).
    ///
    /// The filter is tested on the packed words (8 bytes a record, where a
    /// record is 40: the words of a city stay in the processor's cache
    /// where its records do not), in a pass without a branch on the
    /// outcome. A matching record's cell at the levels of the pyramid comes
    /// from the finest pyramid cell holding it (the records' runs,
    /// `starts`), so a record is read only for its home at finer levels.
    fn by_field(
        &self,
        talents: &[TalentRec],
        range: std::ops::Range<usize>,
        level: u8,
        filter: &Filter,
        young_from: u16,
        ratio: usize,
    ) -> Option<Vec<Cell>> {
        let fields = filter.field_list()?;
        if self.fields.estimate(&fields, range.clone()).saturating_mul(ratio) > range.len() {
            return None;
        }
        let mut positions = self.fields.positions(&fields, range);
        let mut cells = Cells::new();
        let Some(words) = self.words.as_ref() else {
            for t in positions.iter().filter_map(|&p| talents.get(p as usize)) {
                if filter.talent(t) {
                    cells.at(morton::cell_id(t.home, level));
                    add_talent(&mut cells.current, &mut cells.hist, t, young_from);
                    cells.any = true;
                }
            }
            return Some(cells.done());
        };
        let test = filter.word_test(self.base);
        // The words first, in a loop of independent loads (each one a
        // cache miss, many of them in flight at once), then the matching
        // ones kept in place with their positions: each is written, and
        // kept by advancing only on a match.
        let mut picked: Vec<TalentWord> = positions.iter().filter_map(|&p| words.get(p as usize).copied()).collect();
        if picked.len() != positions.len() {
            return None;
        }
        let mut n = 0;
        for i in 0..positions.len() {
            let (p, w) = (positions[i], picked[i]);
            positions[n] = p;
            picked[n] = w;
            n += usize::from(test.matches(w));
        }
        positions.truncate(n);
        let young = i32::from(young_from) - i32::from(self.base);
        // At the pyramid's levels a run's cell comes from the finest pyramid
        // cell (4 MiB a city), not from a record (a cache miss each).
        let coarse = level <= cell_level(PYRAMID_MAX_ZOOM);
        let (starts, finest) = (&self.starts, &self.levels[PYRAMID_MAX_ZOOM as usize]);
        // The run of the record before, and its cell.
        let mut run: Option<(usize, u64)> = None;
        for (&p, &w) in positions.iter().zip(&picked) {
            let id = match run {
                _ if !coarse => morton::cell_id(talents.get(p as usize)?.home, level),
                Some((j, id)) if starts.get(j + 1).is_some_and(|&next| p < next) => id,
                _ => {
                    let j = run_of(starts, run.map_or(0, |(j, _)| j), p);
                    let id = morton::parent_id(finest.get(j)?.id, level);
                    run = Some((j, id));
                    id
                }
            };
            cells.at(id);
            add_word(&mut cells.current, &mut cells.hist, w, young);
            cells.any = true;
        }
        Some(cells.done())
    }

    /// The talent cells of a tile at a zoom up to [`PYRAMID_MAX_ZOOM`] for
    /// records matching `filter`, from the packed words; `None` when there
    /// are none (see the type's doc). Equal to [`talent_cells_of`] over the
    /// tile's records (checked by a test).
    fn filtered(&self, tile: TileId, filter: &Filter, young_from: u16) -> Option<Vec<Cell>> {
        self.filtered_split(tile, filter, young_from, SPLIT_WORDS)
    }

    /// [`Self::filtered`], the tile's runs cut in two at a cell boundary of
    /// the tile's level when they hold more than `split` words, the halves
    /// through [`crate::spare::join`] (a second core when one is idle).
    fn filtered_split(&self, tile: TileId, filter: &Filter, young_from: u16, split: usize) -> Option<Vec<Cell>> {
        let words = self.words.as_ref()?;
        let finest = &self.levels[PYRAMID_MAX_ZOOM as usize];
        let (a, b) = cell_span(finest, PYRAMID_MAX_ZOOM, tile);
        let scan = Scan {
            finest,
            words,
            starts: &self.starts,
            test: filter.word_test(self.base),
            young: i32::from(young_from) - i32::from(self.base),
            level: cell_level(tile.z),
        };
        if b > a && (self.starts[b] - self.starts[a]) as usize > split {
            // Each half ends at a boundary of the tile's cells, so no cell
            // is split and the halves' cells follow each other.
            let cell = |j: usize| finest.get(j).map(|c| morton::parent_id(c.id, scan.level));
            // The run where half the words are, then on to a boundary.
            let half = self.starts[a] + (self.starts[b] - self.starts[a]) / 2;
            let mut mid = a + self.starts[a..b].partition_point(|&s| s < half);
            while mid > a && mid < b && cell(mid) == cell(mid - 1) {
                mid += 1;
            }
            if mid > a && mid < b {
                let (first, second) = crate::spare::join(|| scan.cells(a..mid), || scan.cells(mid..b));
                let mut cells = first?;
                cells.extend(second?);
                return Some(cells);
            }
        }
        scan.cells(a..b)
    }
}

/// Writes the indexes of the words of `run` that pass `matches` to the
/// front of `picked` (each index written, kept by advancing only on a
/// match: no branch to mispredict) and returns how many passed.
#[inline]
fn pick(run: &[TalentWord], picked: &mut [u32], matches: impl Fn(TalentWord) -> bool) -> usize {
    let mut n = 0;
    for (i, &w) in run.iter().enumerate() {
        picked[n] = i as u32;
        n += usize::from(matches(w));
    }
    n
}

/// Words in a tile above which its cells are made in two halves.
const SPLIT_WORDS: usize = 400_000;

/// What a filtered scan of packed words reads.
struct Scan<'a> {
    /// The finest pyramid cells, one per run of `starts`.
    finest: &'a [Cell],
    words: &'a [TalentWord],
    starts: &'a [u32],
    test: crate::analytics::filter::WordTest,
    /// The first birth offset counted as young.
    young: i32,
    /// The level of the tile's cells.
    level: u8,
}

impl Scan<'_> {
    /// The cells of the finest pyramid cells `range` (whole cells of the
    /// tile's level).
    fn cells(&self, range: std::ops::Range<usize>) -> Option<Vec<Cell>> {
        let (test, young) = (&self.test, self.young);
        let mut cells = Cells::new();
        // A filter naming fields matches few records: one pass, the field
        // tested first, the branch on a match mostly not taken. Any other
        // filter can match half the records at random: two passes over each
        // run, the positions of the matching words (written every time,
        // kept by advancing only on a match: no branch to mispredict), then
        // the matching words added up.
        let add = |cell: &mut Cell, hist: &mut Histogram, w: TalentWord| add_word(cell, hist, w, young);
        let run = |j: usize| {
            let (s, e) = (*self.starts.get(j)? as usize, *self.starts.get(j + 1)? as usize);
            Some((morton::parent_id(self.finest.get(j)?.id, self.level), self.words.get(s..e)?))
        };
        if test.selective {
            for j in range {
                let (id, run) = run(j)?;
                cells.at(id);
                for &w in run {
                    if test.matches_field_first(w) {
                        add(&mut cells.current, &mut cells.hist, w);
                        cells.any = true;
                    }
                }
            }
            return Some(cells.done());
        }
        let longest = range.clone().filter_map(|j| run(j).map(|(_, r)| r.len())).max().unwrap_or(0);
        let mut picked = vec![0u32; longest];
        let attributes_only = test.any_field_and_industry();
        for j in range {
            let (id, run) = run(j)?;
            cells.at(id);
            let n = if attributes_only {
                pick(run, &mut picked, |w| test.matches_attributes(w))
            } else {
                pick(run, &mut picked, |w| test.matches(w))
            };
            for &i in &picked[..n] {
                add(&mut cells.current, &mut cells.hist, run[i as usize]);
            }
            cells.any |= n > 0;
        }
        Some(cells.done())
    }
}

/// The cells of `level_cells` (the pyramid level of zoom `z`, sorted by
/// id) inside `tile`, as an index range.
fn cell_span(level_cells: &[Cell], z: u8, tile: TileId) -> (usize, usize) {
    let level = cell_level(z);
    let keys = morton::tile_range(tile);
    let (first, last) = (morton::cell_id(keys.start, level), morton::cell_id(keys.end - 1, level));
    (level_cells.partition_point(|c| c.id < first), level_cells.partition_point(|c| c.id <= last))
}

/// The unfiltered talent cells of zooms 0 to [`PYRAMID_MAX_ZOOM`] (index
/// = zoom) in one pass over the records: each record is added to a cell of
/// the finest level only, and a finished cell is added into its parent at
/// the next coarser level, histogram of fields included, so every level
/// equals [`talent_cells_of`] at that level (checked by a test) while the
/// records are read once instead of once per zoom. With the levels, the
/// index of the first record of each cell of the finest level, and the
/// number of records last.
fn pyramid_levels(talents: &[TalentRec], young_from: u16) -> (Vec<Vec<Cell>>, Vec<u32>) {
    // Finest first.
    let levels: Vec<u8> = (0..=PYRAMID_MAX_ZOOM).rev().map(cell_level).collect();
    let n = levels.len();
    let mut out: Vec<Vec<Cell>> = vec![Vec::new(); n];
    let mut open: Vec<Option<Cell>> = vec![None; n];
    let mut hists: Vec<Histogram> = (0..n).map(|_| Histogram::new()).collect();
    // Finishes the open cell of level `i`, adding it into the open cell of
    // level `i + 1` (its parent: parents move on only after their
    // children).
    let close = |i: usize, open: &mut [Option<Cell>], hists: &mut [Histogram], out: &mut [Vec<Cell>]| {
        let Some(mut cell) = open[i].take() else { return };
        let (lower, upper) = hists.split_at_mut(i + 1);
        let top = match (open.get_mut(i + 1).and_then(Option::as_mut), upper.first_mut()) {
            (Some(parent), Some(parent_hist)) => {
                parent.add_sums(&cell);
                lower[i].drain_into(parent_hist)
            }
            _ => lower[i].take_top(),
        };
        if let Some((field, count, key)) = top {
            cell.top_field = Some((field, count));
            cell.keys.top_field = key;
        }
        out[i].push(cell);
    };
    let mut starts = Vec::new();
    for (r, t) in talents.iter().enumerate() {
        // The cells of this record from the finest level up; a level whose
        // cell is unchanged has unchanged parents.
        for (i, &level) in levels.iter().enumerate() {
            let id = morton::cell_id(t.home, level);
            if open[i].as_ref().is_some_and(|c| c.id == id) {
                break;
            }
            close(i, &mut open, &mut hists, &mut out);
            open[i] = Some(Cell { id, ..Cell::default() });
            if i == 0 {
                starts.push(r as u32);
            }
        }
        if let Some(cell) = open[0].as_mut() {
            add_talent(cell, &mut hists[0], t, young_from);
        }
    }
    for i in 0..n {
        close(i, &mut open, &mut hists, &mut out);
    }
    starts.push(talents.len() as u32);
    out.reverse();
    // Kept for the snapshot's life: no room left over from growing.
    out.iter_mut().for_each(Vec::shrink_to_fit);
    starts.shrink_to_fit();
    (out, starts)
}

/// Adds one talent to a cell and its field histogram.
#[inline]
fn add_talent(cell: &mut Cell, hist: &mut Histogram, t: &TalentRec, young_from: u16) {
    let young = u32::from(t.birth_year >= young_from);
    add_counts(cell, hist, t.rkey, u32::from(t.seeking()), young, t);
}

/// What a cell counts of a talent besides key, seeking and young.
trait Counted {
    fn education(&self) -> u8;
    fn field(&self) -> u8;
}

impl Counted for TalentRec {
    #[inline]
    fn education(&self) -> u8 {
        self.education
    }
    #[inline]
    fn field(&self) -> u8 {
        self.field
    }
}

impl Counted for TalentWord {
    #[inline]
    fn education(&self) -> u8 {
        TalentWord::education(*self)
    }
    #[inline]
    fn field(&self) -> u8 {
        TalentWord::field(*self)
    }
}

/// Adds one talent (record key, seeking and young flags as 0 or 1) to a
/// cell and its field histogram.
#[inline]
fn add_counts(cell: &mut Cell, hist: &mut Histogram, key: u32, seeking: u32, young: u32, t: &impl Counted) {
    // Branch-free: a flag selects the key through a mask, so random flags
    // cost no mispredicted branches on dense tiles.
    cell.count += 1;
    cell.keys.count = cell.keys.count.wrapping_add(key);
    cell.seekers += u64::from(seeking);
    cell.keys.seekers = cell.keys.seekers.wrapping_add(key & 0u32.wrapping_sub(seeking));
    cell.young += u64::from(young);
    cell.keys.young = cell.keys.young.wrapping_add(key & 0u32.wrapping_sub(young));
    let e = (t.education() & 3) as usize;
    cell.education[e] += 1;
    cell.keys.education[e] = cell.keys.education[e].wrapping_add(key);
    hist.add(t.field(), 1, key);
}

/// Adds one packed word to a cell and its field histogram (`young`: the
/// first birth offset counted as young).
#[inline]
fn add_word(cell: &mut Cell, hist: &mut Histogram, w: TalentWord, young: i32) {
    add_counts(cell, hist, w.rkey(), u32::from(w.seeking()), u32::from(w.birth() >= young), &w);
}

/// The run `j` of `starts` (ascending first records of runs) holding
/// record `p`, i.e. `starts[j] <= p < starts[j + 1]`, searched forward
/// from run `from` (`starts[from] <= p`): doubling steps, then a binary
/// search inside the last step, so a caller walking ascending records
/// pays for the distance it moves, not for the city's runs.
fn run_of(starts: &[u32], from: usize, p: u32) -> usize {
    let (mut lo, mut step) = (from, 1);
    while starts.get(lo + step).is_some_and(|&s| s <= p) {
        lo += step;
        step *= 2;
    }
    let end = (lo + step).min(starts.len());
    lo + starts[lo..end].partition_point(|&s| s <= p).saturating_sub(1)
}

/// Talent cells of a tile (homes), for records matching `filter`.
///
/// Unfiltered tiles up to [`PYRAMID_MAX_ZOOM`] are read from the pyramid
/// (two binary searches). A filter naming fields whose records are few in
/// the tile reads those records through the pyramid's field postings, at
/// any zoom; other filtered tiles up to [`PYRAMID_MAX_ZOOM`] aggregate the
/// pyramid's packed words of the tile's records, and all others the tile's
/// run of records.
pub fn talent_cells(snap: &Snapshot, tile: TileId, filter: &Filter) -> Vec<Cell> {
    let young_from = snap.reference_year.saturating_sub(YOUNG_MAX_AGE);
    let (low_zoom, level) = (tile.z <= PYRAMID_MAX_ZOOM, cell_level(tile.z));
    if low_zoom && filter.is_empty() {
        let cells = &talent_pyramid(snap).levels[tile.z as usize];
        let (a, b) = cell_span(cells, tile.z, tile);
        return cells[a..b].to_vec();
    }
    let range = snap.talent_range(tile);
    if !filter.is_empty() {
        let pyramid = talent_pyramid(snap);
        // A record read through the postings costs about as much as eight
        // packed words scanned, or two records.
        let ratio = if low_zoom && pyramid.words.is_some() { 8 } else { 2 };
        if let Some(cells) = pyramid.by_field(&snap.talents, range.clone(), level, filter, young_from, ratio) {
            return cells;
        }
        if low_zoom && let Some(cells) = pyramid.filtered(tile, filter, young_from) {
            return cells;
        }
    }
    talent_cells_of(&snap.talents[range], level, filter, young_from)
}

/// Talent cells over any key-sorted slice at a given level.
pub fn talent_cells_of(talents: &[TalentRec], level: u8, filter: &Filter, young_from: u16) -> Vec<Cell> {
    let all = filter.is_empty();
    aggregate(
        talents,
        |t| t.home,
        level,
        |cell, hist, t| {
            if !all && !filter.talent(t) {
                return false;
            }
            add_talent(cell, hist, t, young_from);
            true
        },
    )
}

/// Vacancy cells of a tile: open openings of vacancies matching `filter`.
pub fn vacancy_cells(snap: &Snapshot, tile: TileId, filter: &Filter) -> Vec<Cell> {
    vacancy_cells_of(snap.vacancies_in(tile), cell_level(tile.z), filter)
}

/// Vacancy cells over any key-sorted slice at a given level.
pub fn vacancy_cells_of(vacancies: &[VacancyRec], level: u8, filter: &Filter) -> Vec<Cell> {
    aggregate(
        vacancies,
        |v| v.key,
        level,
        |cell, hist, v| {
            if !v.open || !filter.vacancy(v) {
                return false;
            }
            let n = v.openings as u64;
            cell.count += n;
            cell.rows += 1;
            cell.education[(v.education & 3) as usize] += n;
            hist.add(v.field, n, 0);
            true
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::NONE8;

    fn talent(lon: f64, lat: f64, field: u8, birth_year: u16) -> TalentRec {
        TalentRec {
            birth_year,
            field,
            education: 1,
            rkey: (lon * 1e6) as u32 ^ birth_year as u32,
            ..TalentRec::blank(morton::key(lon, lat))
        }
    }

    /// A talent in a square of side `spread` at `offset` from the corner
    /// of the test area, in one of six fields, born in `years.1` years from
    /// `years.0`.
    fn clustered(rng: &mut crate::generate::rng::Rng, offset: f64, spread: f64, years: (u16, f64)) -> TalentRec {
        talent(
            116.9 + offset + rng.f64() * spread,
            36.6 + offset + rng.f64() * spread,
            (rng.f64() * 6.0) as u8,
            years.0 + (rng.f64() * years.1) as u16,
        )
    }

    #[test]
    fn one_pass_pyramid_equals_each_level_aggregated_alone() {
        let mut rng = crate::generate::rng::Rng::new(11, 0);
        let mut ts: Vec<TalentRec> = (0..20_000)
            .map(|i| {
                // Clustered, with ties for the top field.
                let mut t = clustered(&mut rng, (i % 4) as f64 * 0.05, 0.02, (1960, 45.0));
                t.flags = (i % 3 == 0) as u8;
                t.education = (i % 5) as u8;
                t.rkey = rng.f64().to_bits() as u32;
                t
            })
            .collect();
        ts.sort_by_key(|t| t.home);
        let young_from = 1990;
        let (levels, starts) = pyramid_levels(&ts, young_from);
        assert_eq!(levels.len(), PYRAMID_MAX_ZOOM as usize + 1);
        assert_eq!(starts.len(), levels[PYRAMID_MAX_ZOOM as usize].len() + 1);
        assert_eq!(*starts.last().unwrap(), 20_000);
        for (j, cell) in levels[PYRAMID_MAX_ZOOM as usize].iter().enumerate() {
            assert_eq!(u64::from(starts[j + 1] - starts[j]), cell.count, "the finest cells' runs");
        }
        for (z, cells) in levels.iter().enumerate() {
            let alone = talent_cells_of(&ts, cell_level(z as u8), &Filter::default(), young_from);
            assert_eq!(cells, &alone, "zoom {z}");
        }
        assert_eq!(levels[0].len(), 1);
        assert_eq!(levels[0][0].count, 20_000);
        assert!(
            levels.windows(2).all(|w| w[0].len() <= w[1].len()) && levels[11].len() > 20,
            "finer zooms have more cells"
        );
        assert!(pyramid_levels(&[], young_from).0.iter().all(Vec::is_empty));
    }

    #[test]
    fn filtered_tiles_from_packed_words_equal_the_records_aggregated() {
        use std::collections::BTreeMap;
        let taxonomy = crate::model::Taxonomy::builtin();
        let mut rng = crate::generate::rng::Rng::new(5, 0);
        let mut ts: Vec<TalentRec> = (0..30_000)
            .map(|i| {
                let mut t = clustered(&mut rng, (i % 5) as f64 * 0.04, 0.03, (1955, 52.0));
                t.flags = u8::from(rng.f64() < 0.3);
                t.education = (rng.f64() * 4.0) as u8;
                t.title = (rng.f64() * 5.0) as u8;
                t.tier = (rng.f64() * 6.0) as u8;
                t.industry = if rng.f64() < 0.2 { NONE8 } else { (rng.f64() * 4.0) as u8 };
                t.rkey = rng.f64().to_bits() as u32;
                t
            })
            .collect();
        ts.sort_by_key(|t| t.home);
        let young_from = 2026 - YOUNG_MAX_AGE;
        let (levels, starts) = pyramid_levels(&ts, young_from);
        let base = ts.iter().map(|t| t.birth_year).min().unwrap();
        let words = ts.iter().map(|t| TalentWord::of(t, base)).collect::<Option<Vec<_>>>();
        assert!(words.is_some());
        let fields = FieldPostings::build(ts.iter().map(|t| t.field));
        let pyramid = TalentPyramid { levels, starts, words, base, fields };
        // The same without packed words: the postings path reads the records.
        let (levels, starts) = pyramid_levels(&ts, young_from);
        let fields = FieldPostings::build(ts.iter().map(|t| t.field));
        let no_words = TalentPyramid { levels, starts, words: None, base, fields };
        let spare = std::sync::Arc::new(tokio::sync::Semaphore::new(1));
        let field = |i: u8| taxonomy.field(i).unwrap().code.clone();
        let industry = |i: u8| taxonomy.industry(i).unwrap().code.clone();
        let queries: Vec<Vec<(&str, String)>> = vec![
            vec![("field", field(2))],
            vec![("field", format!("{},{}", field(0), field(5)))],
            vec![("min_age", "25".into()), ("max_age", "39".into())],
            vec![("min_age", "60".into())],
            vec![("seeking", "true".into())],
            vec![("seeking", "false".into()), ("education", "master,doctorate".into())],
            vec![("tier", "E,A".into()), ("title", "senior".into())],
            vec![("industry", industry(1))],
            vec![("industry", format!("{},{}", industry(0), industry(3))), ("max_age", "34".into())],
            vec![
                ("field", field(1)),
                ("education", "bachelor".into()),
                ("min_age", "30".into()),
                ("max_age", "49".into()),
            ],
        ];
        let positions_of = |range: std::ops::Range<u64>| {
            ts.partition_point(|t| t.home < range.start)..ts.partition_point(|t| t.home < range.end)
        };
        for pairs in queries {
            let q: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
            let filter = Filter::parse(&q, &taxonomy, 2026).unwrap();
            assert!(!filter.is_empty());
            for z in 0..=PYRAMID_MAX_ZOOM {
                let mut tiles: Vec<TileId> = ts.iter().map(|t| morton::tile_of(t.home, z)).collect();
                tiles.dedup();
                tiles.sort_by_key(|t| (t.x, t.y));
                tiles.dedup();
                for tile in tiles {
                    let range = morton::tile_range(tile);
                    let inside: Vec<TalentRec> = ts.iter().filter(|t| range.contains(&t.home)).copied().collect();
                    let expected = talent_cells_of(&inside, cell_level(z), &filter, young_from);
                    let got = pyramid.filtered(tile, &filter, young_from).unwrap();
                    assert_eq!(got, expected, "{pairs:?} at {tile:?}");
                    // Cut in halves, on a second core when one is free.
                    let halves = crate::spare::within(&spare, || {
                        pyramid.filtered_split(tile, &filter, young_from, 100).unwrap()
                    });
                    assert_eq!(halves, expected, "{pairs:?} at {tile:?} in halves");
                    // Through the postings of the fields named.
                    let positions = positions_of(range);
                    let by_field = pyramid.by_field(&ts, positions.clone(), cell_level(z), &filter, young_from, 0);
                    assert_eq!(filter.field_list().is_some(), by_field.is_some(), "{pairs:?}");
                    if let Some(cells) = &by_field {
                        assert_eq!(cells, &expected, "{pairs:?} at {tile:?} through the postings");
                    }
                    let read = no_words.by_field(&ts, positions, cell_level(z), &filter, young_from, 0);
                    assert_eq!(read, by_field, "{pairs:?} at {tile:?}: records and words agree");
                }
            }
            // Zooms above the pyramid, through the postings.
            for z in [12, 14, 16] {
                let tile = morton::tile_of(ts[ts.len() / 2].home, z);
                let positions = positions_of(morton::tile_range(tile));
                let expected = talent_cells_of(&ts[positions.clone()], cell_level(z), &filter, young_from);
                let read = no_words.by_field(&ts, positions.clone(), cell_level(z), &filter, young_from, 0);
                let by_field = pyramid.by_field(&ts, positions, cell_level(z), &filter, young_from, 0);
                assert_eq!(read, by_field, "{pairs:?} at {tile:?}: records and words agree");
                if let Some(cells) = by_field {
                    assert_eq!(cells, expected, "{pairs:?} at {tile:?} through the postings");
                }
            }
        }
        // A record that does not fit a word: no words, the records are read.
        let mut odd = ts[0];
        odd.education = 5;
        assert_eq!(TalentWord::of(&odd, base), None);
        odd.education = 1;
        odd.birth_year = base + 128;
        assert_eq!(TalentWord::of(&odd, base), None);
    }

    #[test]
    fn run_of_finds_the_run_of_a_record_from_any_earlier_run() {
        let starts = [0u32, 3, 4, 10, 11, 12, 40, 41, 100];
        for from in 0..starts.len() - 1 {
            for p in starts[from]..100 {
                let j = run_of(&starts, from, p);
                assert!(starts[j] <= p && p < starts[j + 1], "record {p} from run {from}: run {j}");
            }
        }
    }

    #[test]
    fn cells_count_every_record_once_and_pick_the_top_field() {
        let mut ts = vec![
            talent(117.0001, 36.6501, 3, 1995),
            talent(117.0002, 36.6502, 3, 1980),
            talent(117.0003, 36.6503, 7, 2000),
            talent(117.5, 36.9, 7, 1990),
        ];
        ts.sort_by_key(|t| t.home);
        let cells = talent_cells_of(&ts, 17, &Filter::default(), 2026 - 35);
        assert_eq!(cells.len(), 2);
        assert_eq!(cells.iter().map(|c| c.count).sum::<u64>(), 4);
        let big = cells.iter().find(|c| c.count == 3).unwrap();
        assert_eq!(big.top_field, Some((3, 2)));
        assert_eq!(big.young, 2);
        assert_eq!(big.education, [0, 3, 0, 0]);
        // The same records at a coarse level fall in one cell.
        assert_eq!(talent_cells_of(&ts, 5, &Filter::default(), 1991).len(), 1);
    }
}
