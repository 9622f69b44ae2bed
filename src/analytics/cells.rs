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

use crate::analytics::field_words::{self, FieldWords};
use crate::analytics::filter::{Filter, TalentWord};
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
    pub(crate) fn add_sums(&mut self, other: &Cell) {
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

    /// Takes another cell's counts and keys (not its top field) out of
    /// this one, which holds them.
    pub(crate) fn sub_sums(&mut self, other: &Cell) {
        self.count -= other.count;
        self.rows -= other.rows;
        self.seekers -= other.seekers;
        self.young -= other.young;
        let (k, o) = (&mut self.keys, &other.keys);
        k.count = k.count.wrapping_sub(o.count);
        k.seekers = k.seekers.wrapping_sub(o.seekers);
        k.young = k.young.wrapping_sub(o.young);
        for e in 0..4 {
            self.education[e] -= other.education[e];
            k.education[e] = k.education[e].wrapping_sub(o.education[e]);
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
    /// The count and key sum of field `i`.
    #[inline]
    fn get(&self, i: u8) -> (u64, u32) {
        self.entries[i as usize]
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
/// level sorted by cell id, and for filtered tiles the records as packed
/// words grouped by field ([`FieldWords`]).
///
/// A filtered tile still reads every record inside it that its filter's
/// fields admit (a filter is any combination of seven attributes, too many
/// to count in advance), but it reads 8 bytes a record instead of the 40 of
/// a record, in order, and only the words of the fields it names.
pub struct TalentPyramid {
    levels: Vec<Vec<Cell>>,
    /// `None` when some record does not fit a word (then filtered tiles
    /// read the records).
    words: Option<FieldWords>,
    /// The birth year the words count from.
    base: u16,
}

/// The snapshot's talent pyramid, built on first use (one pass over the
/// talents per zoom) and kept in the snapshot's memo. The server builds it
/// before it publishes a snapshot, so no request waits for it.
pub fn talent_pyramid(snap: &Snapshot) -> std::sync::Arc<TalentPyramid> {
    snap.memo.get_or_compute(PYRAMID_KEY, || {
        let young_from = snap.reference_year.saturating_sub(YOUNG_MAX_AGE);
        let talents = &snap.talents;
        // Two passes over the records, the levels on this thread and the
        // words on a second: a moves batch waits for the pyramid of its
        // snapshot before it answers.
        let (levels, (words, base)) = std::thread::scope(|s| {
            let rest = s.spawn(|| {
                let base = talents.iter().map(|t| t.birth_year).min().unwrap_or(0);
                (FieldWords::build(talents, base, WORD_ROOM.take(talents.len())), base)
            });
            let levels = pyramid_levels(talents, young_from);
            (levels, rest.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        TalentPyramid { levels, words, base }
    })
}

/// The memo key of [`talent_pyramid`].
pub const PYRAMID_KEY: &str = "analytics::cells::talent_pyramid";

/// Gives `next` the talent pyramid of `prev` changed by the records `old`
/// taken out and `new` put in, when `next`'s talents are `prev`'s so
/// changed (a moves batch's patch) and `prev`'s pyramid is built: the
/// packed words patched run by run ([`FieldWords::patch`]) and each level's
/// cells that hold a changed record changed by it ([`patch_levels`]),
/// instead of every record read again. Equal to the pyramid built from
/// `next`'s records (checked by tests). Nothing is done when `prev` has no
/// pyramid or its words cannot be patched: `next`'s is then built on first
/// use, as always. Whether it was patched.
pub fn follow_pyramid(prev: &Snapshot, next: &Snapshot, old: &[TalentRec], new: &[TalentRec]) -> bool {
    let Some(pyramid) = prev.memo.get::<TalentPyramid>(PYRAMID_KEY) else { return false };
    let Some(words) = pyramid.words.as_ref() else { return false };
    if prev.reference_year != next.reference_year || prev.talents.len() + new.len() != next.talents.len() + old.len() {
        return false;
    }
    let Some(words) = words.patch(old, new, pyramid.base, WORD_ROOM.take(next.talents.len())) else {
        return false;
    };
    let young_from = next.reference_year.saturating_sub(YOUNG_MAX_AGE);
    let Some(levels) = patch_levels(&pyramid.levels, &next.talents, &words, (old, new), young_from, SCAN_CELL) else {
        return false;
    };
    next.memo
        .insert(PYRAMID_KEY, std::sync::Arc::new(TalentPyramid { levels, words: Some(words), base: pyramid.base }));
    true
}

/// A cell with at most this many records whose top field must be found
/// again is read from the records; a larger one from the packed words'
/// runs (two binary searches per field).
const SCAN_CELL: u64 = 2_048;

/// The unfiltered levels `levels` after the records `old` were taken out
/// of `talents` (sorted by home key, as they are now) and `new` put in:
/// each level copied with every cell that holds a changed record changed
/// by the records' sums. A cell's top field is carried over when no other
/// field gained and the top field did not lose; otherwise it is found
/// again over the cell's records now: in `talents` for a cell of at most
/// `scan_cell` records, in `words` for a larger one.
fn patch_levels(
    levels: &[Vec<Cell>],
    talents: &[TalentRec],
    words: &FieldWords,
    (old, new): (&[TalentRec], &[TalentRec]),
    young_from: u16,
    scan_cell: u64,
) -> Option<Vec<Vec<Cell>>> {
    let mut changes: Vec<(u64, bool, &TalentRec)> = Vec::with_capacity(old.len() + new.len());
    let mut hists = [Histogram::new(), Histogram::new()];
    (0..=PYRAMID_MAX_ZOOM)
        .map(|z| {
            let level = cell_level(z);
            changes.clear();
            changes.extend(old.iter().map(|t| (morton::cell_id(t.home, level), false, t)));
            changes.extend(new.iter().map(|t| (morton::cell_id(t.home, level), true, t)));
            changes.sort_unstable_by_key(|c| c.0);
            let prev = &levels[z as usize];
            let mut out = Vec::with_capacity(prev.len() + new.len());
            let mut from = 0;
            for group in changes.chunk_by(|a, b| a.0 == b.0) {
                let id = group[0].0;
                let at = from + prev[from..].partition_point(|c| c.id < id);
                out.extend_from_slice(&prev[from..at]);
                let before = prev.get(at).filter(|c| c.id == id);
                from = at + usize::from(before.is_some());
                let changed = changed_cell(before, group, &mut hists, young_from, |hist| {
                    let home = group[0].2.home;
                    if hist.0 <= scan_cell {
                        top_of_records(talents, home, level, hist.1)
                    } else {
                        words.top_field_in(morton::tile_of(home, level))
                    }
                });
                out.extend(changed.ok()?);
            }
            out.extend_from_slice(&prev[from..]);
            out.shrink_to_fit();
            Some(out)
        })
        .collect()
}

/// Records taken out of a cell that does not hold them (the pyramid was
/// not made of the records it is patched with).
struct NotHeld;

/// The cell `before` (`None`: it had no record) with the records of
/// `group` (one cell's, each taken out or put in) taken out and put in;
/// `None` when it is left with none. `again` finds the top field over the
/// cell's records now, given their count and an empty histogram.
/// [`NotHeld`] when `group` takes out more than the cell holds of a count.
fn changed_cell(
    before: Option<&Cell>,
    group: &[(u64, bool, &TalentRec)],
    [out_hist, in_hist]: &mut [Histogram; 2],
    young_from: u16,
    again: impl FnOnce((u64, &mut Histogram)) -> Option<(u8, u64, u32)>,
) -> Result<Option<Cell>, NotHeld> {
    let id = group[0].0;
    let (mut taken, mut put) = (Cell { id, ..Cell::default() }, Cell { id, ..Cell::default() });
    for &(_, add, t) in group {
        if add {
            add_talent(&mut put, in_hist, t, young_from);
        } else {
            add_talent(&mut taken, out_hist, t, young_from);
        }
    }
    let mut cell = before.cloned().unwrap_or(Cell { id, ..Cell::default() });
    cell.add_sums(&put);
    let held = |c: &Cell| [c.count, c.seekers, c.young, c.education[0], c.education[1], c.education[2], c.education[3]];
    if held(&taken).iter().zip(held(&cell)).any(|(t, c)| *t > c) {
        in_hist.take_top();
        out_hist.take_top();
        return Err(NotHeld);
    }
    cell.sub_sums(&taken);
    // The top field carries over when it lost nothing and no other field
    // gained: it is still the largest, and the smallest of any equal.
    let carried = before.and_then(|b| b.top_field).filter(|&(top, _)| {
        let (gained, lost) = (in_hist.get(top).0, out_hist.get(top).0);
        gained >= lost && in_hist.touched.iter().all(|&f| f == top || in_hist.get(f).0 <= out_hist.get(f).0)
    });
    let top = match carried {
        Some((top, n)) => {
            let ((gained, key_in), (lost, key_out)) = (in_hist.get(top), out_hist.get(top));
            let key = before.map_or(0, |b| b.keys.top_field).wrapping_add(key_in).wrapping_sub(key_out);
            Some((top, n + gained - lost, key))
        }
        // A cell that had no record holds the records put in only.
        None if before.is_none() => in_hist.take_top(),
        None if cell.count == 0 => None,
        None => {
            in_hist.take_top();
            again((cell.count, in_hist))
        }
    };
    in_hist.take_top();
    out_hist.take_top();
    if cell.count == 0 {
        return Ok(None);
    }
    cell.top_field = top.map(|(field, n, _)| (field, n));
    cell.keys.top_field = top.map_or(0, |(_, _, key)| key);
    Ok(Some(cell))
}

/// The top field of the records of `talents` (sorted by home key) in the
/// cell of `level` that holds home key `home`, counted in `hist` (left
/// empty).
fn top_of_records(talents: &[TalentRec], home: u64, level: u8, hist: &mut Histogram) -> Option<(u8, u64, u32)> {
    let keys = morton::tile_range(morton::tile_of(home, level));
    let (s, e) = (talents.partition_point(|t| t.home < keys.start), talents.partition_point(|t| t.home < keys.end));
    for t in &talents[s..e] {
        hist.add(t.field, 1, t.rkey);
    }
    hist.take_top()
}

/// Packed words of dropped pyramids, for the next moves batch's pyramid to
/// write into ([`crate::room`]).
static WORD_ROOM: crate::room::Room<TalentWord> = crate::room::Room::new(1, crate::room::KEEP);

impl Drop for TalentPyramid {
    fn drop(&mut self) {
        if let Some(words) = self.words.take() {
            WORD_ROOM.put(words.into_words());
        }
    }
}

impl TalentPyramid {
    /// Bytes held by the levels and the packed words.
    pub fn bytes(&self) -> usize {
        let cells: usize = self.levels.iter().map(|l| l.capacity() * std::mem::size_of::<Cell>()).sum();
        cells + self.words.as_ref().map_or(0, FieldWords::bytes)
    }

    /// [`Self::bytes`] in MiB, one decimal, for logs.
    pub fn mib(&self) -> String {
        format!("{:.1}", self.bytes() as f64 / f64::from(1 << 20))
    }

    /// The talent cells of `tile` (zoom ≤ [`field_words::MAX_ZOOM`]) for
    /// records matching `filter`, from the packed words; `None` when there
    /// are none (see the type's doc). Equal to [`talent_cells_of`] over the
    /// tile's records (checked by a test).
    fn filtered(&self, tile: TileId, filter: &Filter, young_from: u16) -> Option<Vec<Cell>> {
        self.filtered_split(tile, filter, young_from, SPLIT_WORDS)
    }

    /// [`Self::filtered`], the tile's fields cut in two halves when they
    /// hold more than `split` words, the halves through
    /// [`crate::spare::join`] (a second core when one is idle).
    fn filtered_split(&self, tile: TileId, filter: &Filter, young_from: u16, split: usize) -> Option<Vec<Cell>> {
        let words = self.words.as_ref()?;
        let young = i32::from(young_from) - i32::from(self.base);
        Some(words.cells(tile, &filter.word_test(self.base), young, split))
    }
}

/// Words in a tile above which its cells are made in two halves.
const SPLIT_WORDS: usize = 400_000;

/// The cells of `level_cells` (the pyramid level of zoom `z`, sorted by
/// id) inside `tile`, as an index range.
fn cell_span(level_cells: &[Cell], z: u8, tile: TileId) -> (usize, usize) {
    let level = cell_level(z);
    let keys = morton::tile_range(tile);
    let (first, last) = (morton::cell_id(keys.start, level), morton::cell_id(keys.end - 1, level));
    (level_cells.partition_point(|c| c.id < first), level_cells.partition_point(|c| c.id <= last))
}

/// The unfiltered talent cells of zooms 0 to [`PYRAMID_MAX_ZOOM`] (index
/// = zoom) in one pass over the records ([`roll_up`]), so every level
/// equals [`talent_cells_of`] at that level (checked by a test) while the
/// records are read once instead of once per zoom.
fn pyramid_levels(talents: &[TalentRec], young_from: u16) -> Vec<Vec<Cell>> {
    let mut out: Vec<Vec<Cell>> = vec![Vec::new(); PYRAMID_MAX_ZOOM as usize + 1];
    roll_up(talents, 0..=PYRAMID_MAX_ZOOM, young_from, |z, cell| out[z as usize].push(cell));
    // Kept for the snapshot's life: no room left over from growing.
    out.iter_mut().for_each(Vec::shrink_to_fit);
    out
}

/// The unfiltered talent cells of the tiles of every zoom in `zooms`, in
/// one pass over the records (sorted by home key): each record is added to
/// its cell of the finest level only, and a finished cell is added into
/// its parent at the next coarser level, histogram of fields included, so
/// every level equals [`talent_cells_of`] at that level. Each finished
/// cell goes to `done` with its tile zoom, in id order within a zoom.
pub(crate) fn roll_up(
    talents: &[TalentRec],
    zooms: std::ops::RangeInclusive<u8>,
    young_from: u16,
    mut done: impl FnMut(u8, Cell),
) {
    // Finest first.
    let zs: Vec<u8> = zooms.rev().collect();
    let levels: Vec<u8> = zs.iter().map(|&z| cell_level(z)).collect();
    let n = levels.len();
    let mut open: Vec<Option<Cell>> = vec![None; n];
    let mut hists: Vec<Histogram> = (0..n).map(|_| Histogram::new()).collect();
    // Finishes the open cell of level `i`, adding it into the open cell of
    // level `i + 1` (its parent: parents move on only after their
    // children).
    let mut close = |i: usize, open: &mut [Option<Cell>], hists: &mut [Histogram]| {
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
        done(zs[i], cell);
    };
    for t in talents {
        // The cells of this record from the finest level up; a level whose
        // cell is unchanged has unchanged parents.
        for (i, &level) in levels.iter().enumerate() {
            let id = morton::cell_id(t.home, level);
            if open[i].as_ref().is_some_and(|c| c.id == id) {
                break;
            }
            close(i, &mut open, &mut hists);
            open[i] = Some(Cell { id, ..Cell::default() });
        }
        if let Some(cell) = open[0].as_mut() {
            add_talent(cell, &mut hists[0], t, young_from);
        }
    }
    for i in 0..n {
        close(i, &mut open, &mut hists);
    }
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

/// Talent cells of a tile (homes), for records matching `filter`.
///
/// Unfiltered tiles up to [`PYRAMID_MAX_ZOOM`] are read from the pyramid
/// (two binary searches). Filtered tiles up to [`field_words::MAX_ZOOM`]
/// add up the packed words of the fields the filter admits (all of them
/// when it names none, unless the tile holds few records), all others the
/// tile's run of records.
pub fn talent_cells(snap: &Snapshot, tile: TileId, filter: &Filter) -> Vec<Cell> {
    let young_from = snap.reference_year.saturating_sub(YOUNG_MAX_AGE);
    if tile.z <= PYRAMID_MAX_ZOOM && filter.is_empty() {
        let cells = &talent_pyramid(snap).levels[tile.z as usize];
        let (a, b) = cell_span(cells, tile.z, tile);
        return cells[a..b].to_vec();
    }
    // Below this many records a scan of them costs less than finding each
    // field's words.
    const FEW: usize = 2_048;
    let words = !filter.is_empty() && tile.z <= field_words::MAX_ZOOM;
    // The tile's run of records (two binary searches over the city's),
    // found only when it is counted or read: a filter naming fields reads
    // their words without it.
    let mut range = None;
    if words
        && (filter.names_fields() || range.insert(snap.talent_range(tile)).len() >= FEW)
        && let Some(cells) = talent_pyramid(snap).filtered(tile, filter, young_from)
    {
        return cells;
    }
    let range = range.unwrap_or_else(|| snap.talent_range(tile));
    talent_cells_of(&snap.talents[range], cell_level(tile.z), filter, young_from)
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
        let levels = pyramid_levels(&ts, young_from);
        assert_eq!(levels.len(), PYRAMID_MAX_ZOOM as usize + 1);
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
        assert!(pyramid_levels(&[], young_from).iter().all(Vec::is_empty));
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
        let levels = pyramid_levels(&ts, young_from);
        let base = ts.iter().map(|t| t.birth_year).min().unwrap();
        let words = FieldWords::build(&ts, base, Vec::new());
        assert!(words.is_some());
        let pyramid = TalentPyramid { levels, words, base };
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
        for pairs in queries {
            let q: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
            let filter = Filter::parse(&q, &taxonomy, 2026).unwrap();
            assert!(!filter.is_empty());
            let mut compared = 0;
            for z in 0..=field_words::MAX_ZOOM {
                let mut tiles: Vec<TileId> = ts.iter().map(|t| morton::tile_of(t.home, z)).collect();
                tiles.dedup();
                tiles.sort_by_key(|t| (t.x, t.y));
                tiles.dedup();
                // Every tile up to zoom 11; past it, every seventh.
                let every = if z <= PYRAMID_MAX_ZOOM { 1 } else { 7 };
                for tile in tiles.into_iter().step_by(every) {
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
                    compared += usize::from(!expected.is_empty());
                }
            }
            assert!(compared > 20, "{pairs:?}: {compared} tiles with cells");
        }
        let words = pyramid.words.as_ref().unwrap();
        assert_eq!(words.words_in(TileId { z: 0, x: 0, y: 0 }), ts.len(), "every record has a word");
        // A record that does not fit a word: no words, the records are read.
        let mut odd = ts[0];
        odd.education = 5;
        assert_eq!(TalentWord::of(&odd, base), None);
        odd.education = 1;
        odd.birth_year = base + 128;
        assert_eq!(TalentWord::of(&odd, base), None);
    }

    /// A batch's change to a register: about one record in `1 / share`
    /// taken out; most put back changed as a job change changes them
    /// (industry, seeking), some with a new home and field (a move across
    /// town), some not at all (a departure); and new records (arrivals),
    /// some in a square where nobody lived. The records taken out and put
    /// in, and the register after.
    fn changed(
        ts: &[TalentRec],
        rng: &mut crate::generate::rng::Rng,
        share: f64,
        round: usize,
    ) -> (Vec<TalentRec>, Vec<TalentRec>, Vec<TalentRec>) {
        let (mut kept, mut old, mut new) = (Vec::new(), Vec::new(), Vec::new());
        for t in ts {
            if rng.f64() >= share {
                kept.push(*t);
                continue;
            }
            old.push(*t);
            let roll = rng.f64();
            if roll < 0.6 {
                let mut c = *t;
                c.industry = (rng.f64() * 4.0) as u8;
                c.flags = u8::from(rng.f64() < 0.3);
                new.push(c);
            } else if roll < 0.85 {
                let mut c = clustered(rng, (round % 3) as f64 * 0.05, 0.05, (1960, 45.0));
                c.rkey = t.rkey;
                new.push(c);
            }
        }
        for i in 0..40 {
            let far = if i % 2 == 0 { 0.5 + round as f64 * 0.01 } else { 0.0 };
            let mut c = clustered(rng, far, 0.01, (1970, 30.0));
            c.rkey = rng.f64().to_bits() as u32;
            new.push(c);
        }
        kept.extend_from_slice(&new);
        kept.sort_by_key(|t| t.home);
        (old, new, kept)
    }

    #[test]
    fn a_patched_pyramid_equals_one_built_from_the_changed_records() {
        let taxonomy = crate::model::Taxonomy::builtin();
        let mut rng = crate::generate::rng::Rng::new(23, 0);
        let mut ts: Vec<TalentRec> = (0..25_000)
            .map(|i| {
                let mut t = clustered(&mut rng, (i % 4) as f64 * 0.05, 0.03, (1960, 45.0));
                t.flags = u8::from(rng.f64() < 0.3);
                t.education = (rng.f64() * 4.0) as u8;
                t.industry = (rng.f64() * 4.0) as u8;
                t.rkey = rng.f64().to_bits() as u32;
                t
            })
            .collect();
        ts.sort_by_key(|t| t.home);
        let young_from = 2026 - YOUNG_MAX_AGE;
        let built = |ts: &[TalentRec], base: u16| TalentPyramid {
            levels: pyramid_levels(ts, young_from),
            words: FieldWords::build(ts, base, Vec::new()),
            base,
        };
        let base = ts.iter().map(|t| t.birth_year).min().unwrap();
        let mut pyramid = built(&ts, base);
        let q = |pairs: &[(&str, String)]| {
            let q: std::collections::BTreeMap<String, String> =
                pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
            Filter::parse(&q, &taxonomy, 2026).unwrap()
        };
        let field = |i: u8| taxonomy.field(i).unwrap().code.clone();
        let filters = [
            q(&[("field", field(2))]),
            q(&[("seeking", "true".into()), ("max_age", "34".into())]),
            q(&[("industry", taxonomy.industry(1).unwrap().code.clone())]),
        ];
        // Chained, as batch after batch; the last takes out half. Top
        // fields found again from the records, from the words when the
        // cell is large, and from the words always.
        for (round, share) in [0.02, 0.05, 0.01, 0.02, 0.05, 0.5].into_iter().enumerate() {
            let (old, new, after) = changed(&ts, &mut rng, share, round);
            let words = pyramid.words.as_ref().unwrap().patch(&old, &new, base, Vec::new()).unwrap();
            let scan_cell = [u64::MAX, SCAN_CELL, 0][round % 3];
            let levels = patch_levels(&pyramid.levels, &after, &words, (&old, &new), young_from, scan_cell).unwrap();
            let patched = TalentPyramid { levels, words: Some(words), base };
            let fresh = built(&after, base);
            for z in 0..=PYRAMID_MAX_ZOOM as usize {
                assert_eq!(patched.levels[z], fresh.levels[z], "round {round}, zoom {z}");
            }
            for z in [0, 6, 9, 11, 13, field_words::MAX_ZOOM] {
                let mut tiles: Vec<TileId> = after.iter().map(|t| morton::tile_of(t.home, z)).collect();
                tiles.sort_by_key(|t| (t.x, t.y));
                tiles.dedup();
                for tile in tiles.into_iter().step_by(if z > 11 { 5 } else { 1 }) {
                    for filter in &filters {
                        let (got, want) =
                            (patched.filtered(tile, filter, young_from), fresh.filtered(tile, filter, young_from));
                        assert_eq!(got, want, "round {round}, {tile:?}, {filter:?}");
                    }
                }
            }
            (ts, pyramid) = (after, patched);
        }
        // A record the words were not made of: no patch.
        let words = pyramid.words.as_ref().unwrap();
        let mut stranger = ts[0];
        stranger.rkey ^= 1;
        assert!(words.patch(&[stranger], &[], base, Vec::new()).is_none());
        // Nor of the levels, when it would take out more than a cell holds.
        let mut far = stranger;
        far.home = morton::key(118.9, 38.1);
        assert!(patch_levels(&pyramid.levels, &ts, words, (&[far], &[]), young_from, SCAN_CELL).is_none());
        // A seeker taken out of a cell with none.
        let none_seek = pyramid.levels[11].iter().find(|c| c.seekers == 0).expect("a zoom-11 cell without seekers");
        let mut seeking = *ts.iter().find(|t| morton::cell_id(t.home, cell_level(11)) == none_seek.id).unwrap();
        assert!(patch_levels(&pyramid.levels, &ts, words, (&[seeking], &[]), young_from, SCAN_CELL).is_some());
        seeking.flags = 1;
        assert!(patch_levels(&pyramid.levels, &ts, words, (&[seeking], &[]), young_from, SCAN_CELL).is_none());
        // One that does not fit a word: no patch.
        let mut odd = ts[0];
        odd.education = 9;
        assert!(words.patch(&[], &[odd], base, Vec::new()).is_none());
        assert!(words.patch(&[ts[0]], &[ts[0]], base, Vec::new()).is_some());
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
