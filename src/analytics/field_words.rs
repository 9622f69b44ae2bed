//! The talents' packed words grouped by field: a filtered tile reads the
//! words of the fields its filter admits, one contiguous run per field and
//! finest cell, instead of every record of the tile or a gather of one
//! field's records from all over the city.
//!
//! Layout: every record's [`TalentWord`], field after field, each field's
//! in record order (records are sorted by home key, so each field's words
//! are sorted by home key too). A word's field bits are free here (the
//! field is that of its group); they hold the record's place inside its
//! cell of level [`RUN_LEVEL`]: the low 8 bits of its home's Morton code at
//! level [`SUB_LEVEL`]. Each field's words are cut into runs, one per cell
//! of [`RUN_LEVEL`] holding some of them, listed with the cell's Morton code
//! and the run's first word.
//!
//! A tile at zoom `z` ≤ [`MAX_ZOOM`] draws cells of level `z + 5` ≤
//! [`SUB_LEVEL`]: each of its runs (two binary searches per field) gives
//! the cell's coarse part, each word the fine part, and the cell's place
//! among the tile's 32 × 32 follows without reading the record. The cost
//! is one pass over the admitted fields' words inside the tile, 8 bytes a
//! word, read in order.
//!
//! Where a tile's cells are no finer than the runs' (zoom ≤ 11) and so
//! each run lies in one cell, a passing word adds only its count and key
//! into its cell's slot for its class (education, seeking, young: 16), and
//! each cell's sums are made from its 16 slots once, at the end of the
//! pass, instead of adding fourteen sums per passing word. Filters naming
//! no field read every field's words there (3 M at zoom 9 on a 4 M city).

use std::ops::Range;

use crate::analytics::cells::{Cell, CellKeys};
use crate::analytics::filter::{TalentWord, WordTest};
use crate::snapshot::TalentRec;
use crate::spatial::{TileId, morton};

/// Level of the cells the runs are cut by (the cells of a zoom-11 tile).
pub const RUN_LEVEL: u8 = 16;
/// Level of a word's place inside its run's cell: 8 bits, 4 levels finer.
pub const SUB_LEVEL: u8 = RUN_LEVEL + 4;
/// The highest tile zoom whose cells the words resolve.
pub const MAX_ZOOM: u8 = SUB_LEVEL - crate::analytics::cells::CELL_SHIFT;

/// Cells per tile side, as a power of two's exponent squared: 32 × 32.
const TILE_CELLS: usize = 1 << (2 * crate::analytics::cells::CELL_SHIFT);

/// Packed words grouped by field (see the module doc).
pub struct FieldWords {
    words: Vec<TalentWord>,
    /// Per run: the Morton code of its cell at [`RUN_LEVEL`] and its first
    /// word; field after field, then one entry whose first word is the
    /// end, so a run ends where the entry after it starts.
    runs: Vec<(u32, u32)>,
    /// Field `f`'s runs are `runs[runs_at[f]..runs_at[f + 1]]`.
    runs_at: Vec<u32>,
}

/// Bits of a key below its cell at [`RUN_LEVEL`].
const RUN_SHIFT: u32 = 2 * (morton::KEY_ZOOM - RUN_LEVEL) as u32;

/// A record's cell at [`RUN_LEVEL`], as its Morton code.
#[inline]
fn run_code(home: u64) -> u32 {
    (home >> RUN_SHIFT) as u32
}

/// A record's place inside its run's cell (bits of [`SUB_LEVEL`]).
#[inline]
fn sub_code(home: u64) -> u64 {
    (home >> (2 * (morton::KEY_ZOOM - SUB_LEVEL))) & 0xff
}

/// `w` with its field bits holding `sub`.
#[inline]
fn with_sub(w: TalentWord, sub: u64) -> TalentWord {
    TalentWord(w.0 & !(0xff << 32) | sub << 32)
}

/// What a cell adds up of the words it holds.
#[derive(Clone, Copy, Default)]
struct Sums {
    count: u32,
    seekers: u32,
    young: u32,
    education: [u32; 4],
    /// Key sums of count, seekers, young and each education level.
    keys: [u32; 7],
}

impl Sums {
    /// Adds word `w` (young from birth offset `young`). Flags select the
    /// key through masks: no branch.
    #[inline]
    fn add(&mut self, w: TalentWord, young: i32) {
        let k = w.rkey();
        let seeking = u32::from(w.seeking());
        let is_young = u32::from(w.birth() >= young);
        let e = w.education() as usize;
        self.count += 1;
        self.seekers += seeking;
        self.young += is_young;
        self.education[e] += 1;
        self.keys[0] = self.keys[0].wrapping_add(k);
        self.keys[1] = self.keys[1].wrapping_add(k & 0u32.wrapping_sub(seeking));
        self.keys[2] = self.keys[2].wrapping_add(k & 0u32.wrapping_sub(is_young));
        self.keys[3 + e] = self.keys[3 + e].wrapping_add(k);
    }

    fn add_sums(&mut self, o: &Sums) {
        self.count += o.count;
        self.seekers += o.seekers;
        self.young += o.young;
        for e in 0..4 {
            self.education[e] += o.education[e];
        }
        for k in 0..7 {
            self.keys[k] = self.keys[k].wrapping_add(o.keys[k]);
        }
    }
}

/// Classes of words a cell's sums are made of: education (bits 0–1),
/// seeking (bit 2), young (bit 3).
const CLASSES: usize = 16;

/// The class of word `w` (young from birth offset `young`).
#[inline]
fn class_of(w: TalentWord, young: i32) -> usize {
    w.education() as usize | usize::from(w.seeking()) << 2 | usize::from(w.birth() >= young) << 3
}

/// Adds the words of `words` at `picked` (those that passed the filter)
/// into `slots` (count and key sum per class) and returns their key sum:
/// two additions a word where [`Sums::add`] makes fourteen.
#[inline]
fn count_classes(words: &[TalentWord], picked: &[u32], slots: &mut [[u32; 2]], young: i32) -> u32 {
    let mut key = 0u32;
    for &i in picked {
        let w = words[i as usize];
        if let Some(slot) = slots.get_mut(class_of(w, young)) {
            slot[0] += 1;
            slot[1] = slot[1].wrapping_add(w.rkey());
        }
        key = key.wrapping_add(w.rkey());
    }
    key
}

/// The sums of the classes in `slots`, which are left empty.
fn class_sums(slots: &mut [[u32; 2]]) -> Sums {
    let mut s = Sums::default();
    for (c, slot) in slots.iter_mut().enumerate() {
        let [n, k] = std::mem::take(slot);
        let (seeking, young, e) = (c >> 2 & 1 != 0, c >> 3 != 0, c & 3);
        s.count += n;
        s.keys[0] = s.keys[0].wrapping_add(k);
        if seeking {
            s.seekers += n;
            s.keys[1] = s.keys[1].wrapping_add(k);
        }
        if young {
            s.young += n;
            s.keys[2] = s.keys[2].wrapping_add(k);
        }
        s.education[e] += n;
        s.keys[3 + e] = s.keys[3 + e].wrapping_add(k);
    }
    s
}

/// A cell's sums over every field, and its top field so far.
#[derive(Clone, Copy, Default)]
struct Acc {
    sums: Sums,
    /// The field with the most words so far, its count and key sum.
    top: (u8, u32, u32),
}

/// A tile's 32 × 32 cells being added up, kept per thread.
struct Grid {
    /// False while a pass runs: a pass that did not finish (a panic) left
    /// sums behind, cleared before the next.
    clean: bool,
    cells: Vec<Acc>,
    /// Per cell, the words added by the coarse pass counted by class
    /// (count and key sum; see [`class_of`]), turned into the cell's sums
    /// once at the end of the pass.
    classes: Vec<[u32; 2]>,
    used: [u64; TILE_CELLS / 64],
    /// Indexes of the words of a run that pass the filter.
    picked: Vec<u32>,
}

thread_local! {
    static GRID: std::cell::RefCell<Grid> = std::cell::RefCell::new(Grid {
        clean: true,
        cells: vec![Acc::default(); TILE_CELLS],
        classes: vec![[0; 2]; TILE_CELLS * CLASSES],
        used: [0; TILE_CELLS / 64],
        picked: Vec::new(),
    });
}

/// One field's runs inside a tile, as a range of `runs`.
struct Span {
    field: u8,
    runs: Range<usize>,
    words: usize,
}

impl FieldWords {
    /// The words of `talents` (sorted by home key) with birth years from
    /// `base`, grouped by field; `None` when some record does not fit a
    /// word. `room` is where the words are written (its contents are
    /// dropped).
    pub fn build(talents: &[TalentRec], base: u16, mut room: Vec<TalentWord>) -> Option<FieldWords> {
        let mut counts = [0u32; 256];
        for t in talents {
            counts[t.field as usize] += 1;
        }
        let mut next = [0u32; 256];
        let mut at = 0u32;
        for (f, &c) in counts.iter().enumerate() {
            next[f] = at;
            at += c;
        }
        room.clear();
        room.resize(talents.len(), TalentWord(0));
        let mut words = room;
        // Each field's runs, then flattened.
        let mut runs: Vec<Vec<(u32, u32)>> = vec![Vec::new(); 256];
        for t in talents {
            let f = t.field as usize;
            let w = TalentWord::of(t, base)?;
            let (code, i) = (run_code(t.home), next[f]);
            if runs[f].last().is_none_or(|&(c, _)| c != code) {
                runs[f].push((code, i));
            }
            words[i as usize] = with_sub(w, sub_code(t.home));
            next[f] += 1;
        }
        let mut flat = Vec::with_capacity(runs.iter().map(Vec::len).sum::<usize>() + 1);
        let mut runs_at = Vec::with_capacity(257);
        for field_runs in &runs {
            runs_at.push(flat.len() as u32);
            flat.extend_from_slice(field_runs);
        }
        runs_at.push(flat.len() as u32);
        flat.push((u32::MAX, words.len() as u32));
        Some(FieldWords { words, runs: flat, runs_at })
    }

    /// These words after a change of records: without the words of `old`
    /// (records among those the words were made of) and with those of
    /// `new`, birth years from `base` as before. Every other run is copied
    /// as it is; an edited run keeps its words in place order. Equal to
    /// [`Self::build`] over the changed records but for the order of equal
    /// places inside a run, which no sum depends on. `None` when a record
    /// does not fit a word, or a word of `old` is not here (then the
    /// caller builds the words again). `room` is where the words are
    /// written (its contents are dropped).
    pub fn patch(
        &self,
        old: &[TalentRec],
        new: &[TalentRec],
        base: u16,
        mut room: Vec<TalentWord>,
    ) -> Option<FieldWords> {
        // Each record as (field, run, word with its place).
        let edit = |t: &TalentRec| -> Option<(u8, u32, TalentWord)> {
            Some((t.field, run_code(t.home), with_sub(TalentWord::of(t, base)?, sub_code(t.home))))
        };
        let mut removed: Vec<(u8, u32, TalentWord)> = old.iter().map(edit).collect::<Option<_>>()?;
        let mut added: Vec<(u8, u32, TalentWord)> = new.iter().map(edit).collect::<Option<_>>()?;
        // Removed words by value, to be found in their runs; added ones by
        // place.
        removed.sort_unstable_by_key(|&(f, code, w)| (f, code, w.0));
        added.sort_unstable_by_key(|&(f, code, w)| (f, code, w.field()));
        let len = (self.words.len() + added.len()).checked_sub(removed.len())?;
        room.clear();
        room.reserve(len);
        let mut words = room;
        let mut runs: Vec<(u32, u32)> = Vec::with_capacity(self.runs.len() + added.len());
        let mut runs_at = Vec::with_capacity(257);
        let (mut removed, mut added) = (removed.as_slice(), added.as_slice());
        let mut scratch: Vec<TalentWord> = Vec::new();
        for f in 0..=u8::MAX {
            runs_at.push(runs.len() as u32);
            let of_field = |edits: &[(u8, u32, TalentWord)]| edits.iter().take_while(|e| e.0 == f).count();
            let (rem, rest) = removed.split_at(of_field(removed));
            removed = rest;
            let (add, rest) = added.split_at(of_field(added));
            added = rest;
            let (mut i, end) = (self.runs_at[f as usize] as usize, self.runs_at[f as usize + 1] as usize);
            let (mut rem, mut add) = (rem, add);
            loop {
                let next = match (rem.first(), add.first()) {
                    (Some(r), Some(a)) => Some(r.1.min(a.1)),
                    (r, a) => r.or(a).map(|e| e.1),
                };
                // The unchanged runs before the next edited one, copied at
                // once.
                let upto = match next {
                    Some(code) => i + self.runs[i..end].partition_point(|run| run.0 < code),
                    None => end,
                };
                if upto > i {
                    let (from, to) = (self.runs[i].1, self.runs[upto].1);
                    let at = words.len() as u32;
                    runs.extend(self.runs[i..upto].iter().map(|&(code, first)| (code, first - from + at)));
                    words.extend_from_slice(&self.words[from as usize..to as usize]);
                    i = upto;
                }
                let Some(code) = next else { break };
                let here = if i < end && self.runs[i].0 == code {
                    i += 1;
                    &self.words[self.runs[i - 1].1 as usize..self.runs[i].1 as usize]
                } else {
                    &[]
                };
                let (gone, rest) = rem.split_at(rem.iter().take_while(|e| e.1 == code).count());
                rem = rest;
                let (come, rest) = add.split_at(add.iter().take_while(|e| e.1 == code).count());
                add = rest;
                // The run's words by value, less one of each removed word.
                scratch.clear();
                scratch.extend_from_slice(here);
                scratch.sort_unstable_by_key(|w| w.0);
                let mut gone = gone.iter().map(|e| e.2).peekable();
                let mut kept = Vec::with_capacity(scratch.len() + come.len());
                for &w in &scratch {
                    if gone.peek().is_some_and(|g| g.0 < w.0) {
                        return None;
                    }
                    if gone.next_if(|g| *g == w).is_none() {
                        kept.push(w);
                    }
                }
                if gone.peek().is_some() {
                    return None;
                }
                kept.extend(come.iter().map(|e| e.2));
                // In place order, as the records are.
                kept.sort_by_key(|w| w.field());
                if !kept.is_empty() {
                    runs.push((code, words.len() as u32));
                    words.extend_from_slice(&kept);
                }
            }
        }
        runs_at.push(runs.len() as u32);
        runs.push((u32::MAX, words.len() as u32));
        Some(FieldWords { words, runs, runs_at })
    }

    /// The field with the most words (the smallest on ties) inside `cell`
    /// (a cell of [`RUN_LEVEL`] or coarser, as the tile of its level), with
    /// its count and key sum; `None` when there are none.
    pub fn top_field_in(&self, cell: TileId) -> Option<(u8, u64, u32)> {
        debug_assert!(cell.z <= RUN_LEVEL);
        let (lo, hi) = tile_codes(cell);
        let mut best: Option<(u8, usize, usize)> = None;
        for f in 0..=u8::MAX {
            let (a, b) = (self.runs_at[f as usize] as usize, self.runs_at[f as usize + 1] as usize);
            if a == b {
                continue;
            }
            let own = &self.runs[a..b];
            let (s, e) =
                (a + own.partition_point(|r| u64::from(r.0) < lo), a + own.partition_point(|r| u64::from(r.0) < hi));
            let n = (self.runs[e].1 - self.runs[s].1) as usize;
            if n > 0 && best.is_none_or(|(_, bs, be)| n > be - bs) {
                best = Some((f, self.runs[s].1 as usize, self.runs[e].1 as usize));
            }
        }
        best.map(|(f, s, e)| {
            let key = self.words[s..e].iter().fold(0u32, |k, w| k.wrapping_add(w.rkey()));
            (f, (e - s) as u64, key)
        })
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.words.capacity() * 8 + self.runs.capacity() * 8 + self.runs_at.capacity() * 4
    }

    /// The words, for the next build to write into.
    pub fn into_words(self) -> Vec<TalentWord> {
        self.words
    }

    /// Words inside `tile` (zoom ≤ [`RUN_LEVEL`], any field).
    #[cfg(test)]
    pub fn words_in(&self, tile: TileId) -> usize {
        self.spans(tile, |_| true).iter().map(|s| s.words).sum()
    }

    /// The runs inside `tile` of each field that `admit` admits.
    fn spans(&self, tile: TileId, admit: impl Fn(u8) -> bool) -> Vec<Span> {
        let (lo, hi) = tile_codes(tile);
        let mut spans = Vec::new();
        for f in 0..=u8::MAX {
            let (a, b) = (self.runs_at[f as usize] as usize, self.runs_at[f as usize + 1] as usize);
            if a == b || !admit(f) {
                continue;
            }
            let own = &self.runs[a..b];
            let (s, e) =
                (a + own.partition_point(|r| u64::from(r.0) < lo), a + own.partition_point(|r| u64::from(r.0) < hi));
            if s < e {
                let words = (self.runs[e].1 - self.runs[s].1) as usize;
                spans.push(Span { field: f, runs: s..e, words });
            }
        }
        spans
    }

    /// The cells of `tile` (zoom ≤ [`MAX_ZOOM`]) for the words that pass
    /// `test`, counting a birth offset from `young` as young; equal to the
    /// records' cells (checked by a test in `analytics::cells`). Tiles with
    /// more than `split` words are added up in two halves of the fields,
    /// the second through [`crate::spare::join`].
    pub fn cells(&self, tile: TileId, test: &WordTest, young: i32, split: usize) -> Vec<Cell> {
        debug_assert!(tile.z <= MAX_ZOOM);
        let spans = self.spans(tile, |f| test.admits_field(f));
        let total: usize = spans.iter().map(|s| s.words).sum();
        if total > split && spans.len() > 1 {
            // The fields where half the words are.
            let mut sum = 0;
            let mid = spans.iter().position(|s| {
                sum += s.words;
                sum * 2 >= total
            });
            let mid = mid.map_or(spans.len() / 2, |m| (m + 1).clamp(1, spans.len() - 1));
            let (first, second) = spans.split_at(mid);
            let (a, b) =
                crate::spare::join(|| self.add_up(tile, first, test, young), || self.add_up(tile, second, test, young));
            return merge(a, b);
        }
        self.add_up(tile, &spans, test, young)
    }

    /// One pass over the words of `spans`, on this thread's grid.
    fn add_up(&self, tile: TileId, spans: &[Span], test: &WordTest, young: i32) -> Vec<Cell> {
        let level = tile.z + crate::analytics::cells::CELL_SHIFT;
        let shift = 2 * u32::from(SUB_LEVEL - level);
        let (lo, _) = tile_codes(tile);
        let attributes_only = test.any_industry();
        GRID.with(|grid| {
            let mut grid = grid.borrow_mut();
            let Grid { clean, cells, classes, used, picked } = &mut *grid;
            if !std::mem::replace(clean, false) {
                cells.fill(Acc::default());
                classes.fill([0; 2]);
                used.fill(0);
            }
            for span in spans {
                let close = |at: usize, sums: &Sums, cells: &mut [Acc], used: &mut [u64]| {
                    if let Some(c) = cells.get_mut(at).filter(|_| sums.count > 0) {
                        c.sums.add_sums(sums);
                        // Fields come in ascending order: a tie keeps the first.
                        if sums.count > c.top.1 {
                            c.top = (span.field, sums.count, sums.keys[0]);
                        }
                        used[at / 64] |= 1 << (at % 64);
                    }
                };
                // The indexes of the words of `words` that pass the filter.
                let pick_in = |words: &[TalentWord], picked: &mut Vec<u32>| {
                    if picked.len() < words.len() {
                        picked.resize(words.len(), 0);
                    }
                    if attributes_only {
                        pick(words, picked, |w| test.matches_attributes(w))
                    } else {
                        pick(words, picked, |w| test.matches_attributes_and_industry(w))
                    }
                };
                let mut r = span.runs.start;
                if level <= RUN_LEVEL {
                    // Coarse cells: the field's runs of one cell follow each
                    // other, and so do their words.
                    let coarse = 2 * u32::from(RUN_LEVEL - level);
                    let cell = |r: usize| ((u64::from(self.runs[r].0) - lo) >> coarse) as usize;
                    while r < span.runs.end {
                        let at = cell(r);
                        let mut end = r + 1;
                        while end < span.runs.end && cell(end) == at {
                            end += 1;
                        }
                        let words = &self.words[self.runs[r].1 as usize..self.runs[end].1 as usize];
                        let m = pick_in(words, picked);
                        let key =
                            count_classes(words, &picked[..m], &mut classes[at * CLASSES..(at + 1) * CLASSES], young);
                        let n = m as u32;
                        if n > 0 {
                            let c = &mut cells[at];
                            // Fields come in ascending order: a tie keeps the first.
                            if n > c.top.1 {
                                c.top = (span.field, n, key);
                            }
                            used[at / 64] |= 1 << (at % 64);
                        }
                        r = end;
                    }
                    continue;
                }
                // Fine cells: a run's words fall in several, in cell order.
                let (mut open, mut sums) = (usize::MAX, Sums::default());
                for r in span.runs.clone() {
                    let (code, from) = self.runs[r];
                    let words = &self.words[from as usize..self.runs[r + 1].1 as usize];
                    let coarse = (u64::from(code) - lo) << 8;
                    let m = pick_in(words, picked);
                    for &i in &picked[..m] {
                        let w = words[i as usize];
                        let at = ((coarse | u64::from(w.field())) >> shift) as usize;
                        if at != open {
                            close(open, &sums, cells, used);
                            (open, sums) = (at, Sums::default());
                        }
                        sums.add(w, young);
                    }
                }
                close(open, &sums, cells, used);
            }
            // The used cells in id order, the grid left empty (the class
            // slots are filled only by a coarse pass).
            let coarse = level <= RUN_LEVEL;
            let mut out = Vec::new();
            for (b, bits) in used.iter_mut().enumerate() {
                while *bits != 0 {
                    let at = b * 64 + bits.trailing_zeros() as usize;
                    *bits &= *bits - 1;
                    let mut c = std::mem::take(&mut cells[at]);
                    if coarse {
                        c.sums.add_sums(&class_sums(&mut classes[at * CLASSES..(at + 1) * CLASSES]));
                    }
                    out.push(cell_of(tile, level, at, &c));
                }
            }
            *clean = true;
            out
        })
    }
}

/// The cell at place `at` of `tile`'s grid at `level`, from its sums.
fn cell_of(tile: TileId, level: u8, at: usize, c: &Acc) -> Cell {
    let code = morton::interleave(tile.x, tile.y) << (2 * crate::analytics::cells::CELL_SHIFT) | at as u64;
    let (s, k) = (&c.sums, &c.sums.keys);
    Cell {
        id: (u64::from(level) << 58) | code,
        count: u64::from(s.count),
        rows: 0,
        seekers: u64::from(s.seekers),
        young: u64::from(s.young),
        education: s.education.map(u64::from),
        top_field: (c.top.1 > 0).then_some((c.top.0, u64::from(c.top.1))),
        keys: CellKeys {
            count: k[0],
            seekers: k[1],
            young: k[2],
            education: [k[3], k[4], k[5], k[6]],
            top_field: c.top.2,
        },
    }
}

/// Two halves' cells (each sorted by id, of disjoint fields) as one: a
/// cell in both has the sums of both and the top field of the half whose
/// top is larger (the smaller field on a tie).
fn merge(a: Vec<Cell>, b: Vec<Cell>) -> Vec<Cell> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x.id == y.id => {
                let (mut x, y) = (a.next(), b.next());
                if let (Some(x), Some(y)) = (x.as_mut(), y) {
                    x.add_sums(&y);
                    let better = match (x.top_field, y.top_field) {
                        (Some((xf, xn)), Some((yf, yn))) => yn > xn || (yn == xn && yf < xf),
                        (None, Some(_)) => true,
                        _ => false,
                    };
                    if better {
                        x.top_field = y.top_field;
                        x.keys.top_field = y.keys.top_field;
                    }
                }
                x
            }
            (Some(x), Some(y)) if x.id < y.id => a.next(),
            (Some(_), Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => break,
        };
        out.extend(next);
    }
    out
}

/// The Morton codes at [`RUN_LEVEL`] inside `tile` (zoom ≤ [`RUN_LEVEL`]):
/// those of its keys, as [`run_code`] takes them.
fn tile_codes(tile: TileId) -> (u64, u64) {
    let keys = morton::tile_range(tile);
    (keys.start >> RUN_SHIFT, keys.end >> RUN_SHIFT)
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
