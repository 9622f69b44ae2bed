//! Published talent cells of the unfiltered tiles of zooms 12–14, made in
//! the background for each snapshot.
//!
//! Below the pyramid's zooms (`analytics::cells`), an unfiltered talent
//! tile aggregates the records inside it: a city's records once per zoom
//! when the map is panned over it, and four times as many in a city four
//! times as large. Talent tiles always publish their cells through the
//! server's disclosure control (perturbed, threshold `k`), so what such a
//! tile shows of a cell is a handful of published numbers; this index holds
//! exactly those, per cell that publishes a count, for the zooms past the
//! pyramid's: a tile of these zooms is then one binary search and a copy of
//! its cells, whatever the city's size.
//!
//! Layout, per zoom: the tiles holding a published cell (Morton code,
//! ascending) with the index of their first cell; per cell its place in its
//! tile's 32 × 32 grid, its published count, seekers, young, four education
//! levels and top field count (2 bytes each), and its top field. 19 bytes a
//! cell: about 12 MB for the 630,000 published cells of zooms 12–14 at 4 M
//! talents, where the cells themselves would take 130 MB. A zoom holding a
//! published number above 65,535 is left out: its tiles aggregate their
//! records as before.
//!
//! Built by one pass over the records ([`crate::analytics::cells`]'s
//! roll-up, zoom 14's cells added into zoom 13's and those into zoom
//! 12's), after the snapshot is published (`api::background`), so neither
//! a start nor a moves batch waits for it; until it is there, tiles take
//! the records' way, which draws the same bytes (checked by tests).

use std::sync::Arc;

use crate::analytics::cells::{self, Cell, PYRAMID_MAX_ZOOM, YOUNG_MAX_AGE};
use crate::analytics::privacy::Disclosure;
use crate::encode::layers::{PublishedCell, publish_cell};
use crate::snapshot::{NONE8, Snapshot};
use crate::spatial::{TileId, morton};

/// The first zoom this index holds (the one after the pyramid's).
pub const MIN_ZOOM: u8 = PYRAMID_MAX_ZOOM + 1;
/// The last zoom this index holds.
pub const MAX_ZOOM: u8 = 14;

/// Cells of a tile side's grid, as bits of a cell's place: 32 × 32.
const PLACE_BITS: u32 = 2 * cells::CELL_SHIFT as u32;

/// The published cells of one zoom (see the module doc).
#[derive(Debug, PartialEq)]
struct Zoom {
    /// Morton codes of the tiles with a published cell, ascending.
    tiles: Vec<u64>,
    /// Tile `i`'s cells are `starts[i]..starts[i + 1]`.
    starts: Vec<u32>,
    /// A cell's place in its tile's grid (Morton order).
    places: Vec<u16>,
    /// Count, seekers, young, the four education levels, the top field's count.
    numbers: Vec<[u16; 8]>,
    /// The top field's index, or [`NONE8`] where none is published.
    tops: Vec<u8>,
}

impl Zoom {
    fn new() -> Zoom {
        Zoom { tiles: Vec::new(), starts: Vec::new(), places: Vec::new(), numbers: Vec::new(), tops: Vec::new() }
    }

    /// Adds the published form of `cell`, the next in id order; false when a
    /// number does not fit in 16 bits.
    fn push(&mut self, cell: &Cell, p: &PublishedCell<'_>) -> bool {
        let code = cell.id & ((1u64 << 58) - 1);
        let (tile, place) = (code >> PLACE_BITS, (code & ((1 << PLACE_BITS) - 1)) as u16);
        let top = p.top_field.and(cell.top_field);
        let wide = [p.count, p.seekers, p.young, p.education[0], p.education[1], p.education[2], p.education[3]];
        let mut numbers = [0u16; 8];
        for (slot, n) in numbers.iter_mut().zip(wide.into_iter().chain([p.top_field.map_or(0, |(_, n)| n)])) {
            let Ok(n) = u16::try_from(n) else { return false };
            *slot = n;
        }
        if self.tiles.last() != Some(&tile) {
            self.tiles.push(tile);
            self.starts.push(self.places.len() as u32);
        }
        self.places.push(place);
        self.numbers.push(numbers);
        self.tops.push(top.map_or(NONE8, |(f, _)| f));
        true
    }

    /// Adds a cell as another zoom holds it (`zoom`'s entry `i` of tile
    /// `tile`), the next in id order.
    fn copy(&mut self, zoom: &Zoom, tile: u64, i: usize) {
        if self.tiles.last() != Some(&tile) {
            self.tiles.push(tile);
            self.starts.push(self.places.len() as u32);
        }
        self.places.push(zoom.places[i]);
        self.numbers.push(zoom.numbers[i]);
        self.tops.push(zoom.tops[i]);
    }

    /// The id of entry `i` of tile `tile` at `level`.
    fn id(&self, level: u64, tile: u64, i: usize) -> u64 {
        (level << 58) | (tile << PLACE_BITS) | u64::from(self.places[i])
    }

    fn done(mut self) -> Zoom {
        self.starts.push(self.places.len() as u32);
        self.tiles.shrink_to_fit();
        self.starts.shrink_to_fit();
        self.places.shrink_to_fit();
        self.numbers.shrink_to_fit();
        self.tops.shrink_to_fit();
        self
    }

    fn bytes(&self) -> usize {
        self.tiles.capacity() * 8
            + self.starts.capacity() * 4
            + self.places.capacity() * 2
            + self.numbers.capacity() * 16
            + self.tops.capacity()
    }
}

/// The published cells of the unfiltered talent tiles of zooms
/// [`MIN_ZOOM`]–[`MAX_ZOOM`] of one snapshot under threshold `k`.
#[derive(Debug, PartialEq)]
pub struct FineCells {
    k: u32,
    /// Index = zoom − [`MIN_ZOOM`]; `None` where a number did not fit.
    zooms: Vec<Option<Zoom>>,
}

/// One published cell of a tile, as [`FineCells::tile`] gives it.
pub struct FineCell<'a> {
    /// The cell's id ([`morton::cell_id`]).
    pub id: u64,
    /// Its published numbers, as [`publish_cell`] gives them.
    pub published: PublishedCell<'a>,
}

impl FineCells {
    /// Makes the index of `snap` under threshold `k` (one pass over the
    /// records).
    pub fn build(snap: &Snapshot, k: u32) -> FineCells {
        let disclosure = Disclosure::Protected { k };
        let young_from = snap.reference_year.saturating_sub(YOUNG_MAX_AGE);
        let mut zooms: Vec<Option<Zoom>> = (MIN_ZOOM..=MAX_ZOOM).map(|_| Some(Zoom::new())).collect();
        cells::roll_up(&snap.talents, MIN_ZOOM..=MAX_ZOOM, young_from, |z, cell| {
            let slot = &mut zooms[(z - MIN_ZOOM) as usize];
            if let (Some(zoom), Some(p)) = (slot.as_mut(), publish_cell(snap, &cell, disclosure))
                && !zoom.push(&cell, &p)
            {
                tracing::warn!(zoom = z, "a published talent number exceeds 65,535: tiles of this zoom read records");
                *slot = None;
            }
        });
        FineCells { k, zooms: zooms.into_iter().map(|z| z.map(Zoom::done)).collect() }
    }

    /// The index of `snap`, whose talents are those of the snapshot `self`
    /// was made of with the records at home keys `changed` taken out or
    /// put in (a moves batch's patch): the cells of every zoom inside each
    /// zoom-12 cell holding a changed key made again from `snap`'s records,
    /// all others copied. Equal to [`FineCells::build`] of `snap` (checked
    /// by tests). `None` when a zoom is left out (a number past 16 bits):
    /// then it is built.
    pub fn follow(&self, snap: &Snapshot, changed: impl IntoIterator<Item = u64>) -> Option<FineCells> {
        let disclosure = Disclosure::Protected { k: self.k };
        let young_from = snap.reference_year.saturating_sub(YOUNG_MAX_AGE);
        let top_level = cells::cell_level(MIN_ZOOM);
        let mut parents: Vec<u64> = changed.into_iter().map(|home| morton::cell_id(home, top_level)).collect();
        parents.sort_unstable();
        parents.dedup();
        // The cells made again, per zoom in id order, and the id span each
        // parent covers at each zoom.
        let mut made: Vec<Vec<(Cell, PublishedCell<'_>)>> = (MIN_ZOOM..=MAX_ZOOM).map(|_| Vec::new()).collect();
        for (i, &parent) in parents.iter().enumerate() {
            if i % 64 == 0 {
                crate::pause::point();
            }
            let records = &snap.talents[snap.talent_range(morton::cell_tile(parent))];
            cells::roll_up(records, MIN_ZOOM..=MAX_ZOOM, young_from, |z, cell| {
                if let Some(p) = publish_cell(snap, &cell, disclosure) {
                    made[(z - MIN_ZOOM) as usize].push((cell, p));
                }
            });
        }
        let mut zooms = Vec::with_capacity(made.len());
        for (z, (before, made)) in (MIN_ZOOM..=MAX_ZOOM).zip(self.zooms.iter().zip(made)) {
            let before = before.as_ref()?;
            let level = u64::from(cells::cell_level(z));
            let span = |parent: u64| {
                let keys = morton::tile_range(morton::cell_tile(parent));
                (morton::cell_id(keys.start, level as u8), morton::cell_id(keys.end - 1, level as u8))
            };
            let mut zoom = Zoom::new();
            let mut made = made.into_iter().peekable();
            let mut spans = parents.iter().map(|&p| span(p)).peekable();
            for (t, &tile) in before.tiles.iter().enumerate() {
                for i in before.starts[t] as usize..before.starts[t + 1] as usize {
                    let id = before.id(level, tile, i);
                    // Spans wholly before this cell: their cells go first.
                    while let Some(&(_, last)) = spans.peek() {
                        if last >= id {
                            break;
                        }
                        spans.next();
                        while let Some((cell, p)) = made.next_if(|(c, _)| c.id <= last) {
                            if !zoom.push(&cell, &p) {
                                return None;
                            }
                        }
                    }
                    if spans.peek().is_some_and(|&(first, _)| first <= id) {
                        continue;
                    }
                    zoom.copy(before, tile, i);
                }
            }
            for (cell, p) in made {
                if !zoom.push(&cell, &p) {
                    return None;
                }
            }
            zooms.push(Some(zoom.done()));
        }
        Some(FineCells { k: self.k, zooms })
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.zooms.iter().flatten().map(Zoom::bytes).sum()
    }

    /// The published cells of the unfiltered talent tile `tile` in id order,
    /// or `None` when this index does not hold its zoom.
    pub fn tile<'s>(&'s self, snap: &'s Snapshot, tile: TileId) -> Option<impl Iterator<Item = FineCell<'s>>> {
        if !(MIN_ZOOM..=MAX_ZOOM).contains(&tile.z) {
            return None;
        }
        let zoom = self.zooms[(tile.z - MIN_ZOOM) as usize].as_ref()?;
        let code = morton::interleave(tile.x, tile.y);
        let range = match zoom.tiles.binary_search(&code) {
            Ok(i) => zoom.starts[i] as usize..zoom.starts[i + 1] as usize,
            Err(_) => 0..0,
        };
        let level = u64::from(cells::cell_level(tile.z));
        Some(range.map(move |i| {
            let n = zoom.numbers[i].map(u64::from);
            let top = zoom.tops[i];
            let top_field =
                (top != NONE8).then(|| snap.taxonomy.field(top)).flatten().map(|field| (field.code.as_str(), n[7]));
            FineCell {
                id: (level << 58) | (code << PLACE_BITS) | u64::from(zoom.places[i]),
                published: PublishedCell {
                    count: n[0],
                    seekers: n[1],
                    young: n[2],
                    education: [n[3], n[4], n[5], n[6]],
                    top_field,
                },
            }
        }))
    }
}

/// The memo key of the index under threshold `k`.
fn key(k: u32) -> String {
    format!("analytics::fine::k{k}")
}

/// The index of `snap` under threshold `k` if it has been made.
pub fn built(snap: &Snapshot, k: u32) -> Option<Arc<FineCells>> {
    snap.memo.get::<FineCells>(&key(k)).filter(|f| f.k == k)
}

/// The index of `snap` under threshold `k`, followed from `before` (the
/// index of the snapshot the moves batches `steps` were applied to, oldest
/// first) ([`FineCells::follow`]), else made; kept in the snapshot's memo.
pub fn follow(
    snap: &Snapshot,
    before: &FineCells,
    steps: &[Arc<crate::snapshot::patch::Renumbered>],
) -> Arc<FineCells> {
    snap.memo.get_or_compute(&key(before.k), || {
        let changed = steps.iter().flat_map(|r| r.taken_records.iter().chain(&r.placed_records).map(|t| t.home));
        before.follow(snap, changed).unwrap_or_else(|| FineCells::build(snap, before.k))
    })
}

/// Makes the index of `snap` under threshold `k` unless it is made, and
/// keeps it in the snapshot's memo; for the background thread that follows
/// each published snapshot.
pub fn warm(snap: &Snapshot, k: u32) -> Arc<FineCells> {
    snap.memo.get_or_compute(&key(k), || FineCells::build(snap, k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published(count: u64) -> PublishedCell<'static> {
        PublishedCell { count, seekers: 1, young: 2, education: [3, 4, 5, 6], top_field: Some(("0812", 7)) }
    }

    #[test]
    fn a_zoom_keeps_cells_by_tile_and_refuses_numbers_past_16_bits() {
        let level = cells::cell_level(12);
        let cell = |tile: u64, place: u64| Cell {
            id: (u64::from(level) << 58) | (tile << PLACE_BITS) | place,
            top_field: Some((9, 7)),
            ..Cell::default()
        };
        let mut zoom = Zoom::new();
        assert!(zoom.push(&cell(40, 3), &published(10)));
        assert!(zoom.push(&cell(40, 900), &published(65_535)));
        assert!(zoom.push(&cell(41, 0), &PublishedCell { top_field: None, ..published(5) }));
        assert!(!zoom.push(&cell(42, 1), &published(65_536)), "a count past 16 bits");
        let zoom = zoom.done();
        assert_eq!(zoom.tiles, vec![40, 41]);
        assert_eq!(zoom.starts, vec![0, 2, 3]);
        assert_eq!(zoom.places, vec![3, 900, 0]);
        assert_eq!(zoom.numbers[1], [65_535, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(zoom.tops, vec![9, 9, NONE8]);
    }
}
