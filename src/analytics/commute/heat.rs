//! Job–housing heat: the homes of the people who work somewhere, or the
//! workplaces of the people who live somewhere, aggregated into the same
//! grid cells as the talents layer (see [`crate::analytics::cells`]).
//!
//! Privacy: every count of a cell (talents, seekers, young, each education
//! level) is a [`Tally`] of the talents' record keys, published perturbed to
//! every caller (heat tiles are never exact): a cell of 1..k−1 people
//! becomes 0 or k by its cell key, and a cell perturbed to 0 is left out,
//! so a tile whose cells all perturb to 0 is empty exactly like a tile with
//! no talents (both answer 204 with the same headers). The most common field
//! is given only for cells of at least
//! [`MIN_GROUP`](crate::analytics::privacy::MIN_GROUP) people.
//!
//! A `work_bbox` is widened to whole cells of the zoom-[`WORK_BOX_ZOOM`]
//! tile grid (about 1.2 km at the equator, 1 km at 37° N): every box inside
//! the same grid cells selects the same talents and answers the same tile,
//! so halving (or sliding) a box cannot locate a workplace more finely than
//! one grid cell.
//!
//! Tile path: the selected talents inside the tile → cell aggregation. For a
//! park or an enterprise the index holds the list of its talents in home-key
//! order, so the tile is one run of that list (two binary searches) and the
//! cost is proportional to the selection's talents in the tile. For a
//! district or a box, the tile's run of the home-sorted talents is filtered
//! (cost proportional to the talents in the tile, as for the talents layer);
//! for `home_area`, the tile's run of the workplace-sorted positions.

use crate::analytics::cells::{self, YOUNG_MAX_AGE};
use crate::analytics::filter::Filter;
use crate::analytics::privacy::Tally;
use crate::model::RegionKind;
use crate::snapshot::{NONE16, Snapshot, TalentRec};
use crate::spatial::{TileId, lonlat_to_unit, morton};

use super::CommuteIndex;

/// A study area a heat tile selects by (its id and its cells).
#[derive(Debug, Clone)]
pub struct StudySelection {
    pub id: String,
    pub footprint: std::sync::Arc<crate::areas::Footprint>,
}

impl PartialEq for StudySelection {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

/// Whose positions a commute heat tile draws.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// Homes of the talents working in a region (district or park).
    WorkArea(u16),
    /// Homes of the talents whose workplace lies in `[west, south, east,
    /// north]` (degrees; to the 2 m resolution of the stored positions).
    WorkBox([f64; 4]),
    /// Homes of the employees of an enterprise (position in
    /// `Snapshot::enterprises`).
    Enterprise(u32),
    /// Workplaces of the talents living in a region.
    HomeArea(u16),
    /// Homes of the talents working in a study area's cells.
    WorkStudy(StudySelection),
    /// Workplaces of the talents living in a study area's cells.
    HomeStudy(StudySelection),
}

impl Selection {
    /// The query parameters that select, exactly one of which is required.
    pub const PARAMS: [&'static str; 4] = ["work_area", "work_bbox", "enterprise", "home_area"];

    /// Canonical query text (for cache keys and TileJSON URLs).
    pub fn canonical(&self, snap: &Snapshot) -> String {
        match self {
            Selection::WorkArea(r) => format!("work_area={}", snap.regions[*r as usize].id),
            Selection::WorkBox([w, s, e, n]) => format!("work_bbox={w},{s},{e},{n}"),
            Selection::Enterprise(i) => format!("enterprise={}", snap.enterprises[*i as usize].id),
            Selection::HomeArea(r) => format!("home_area={}", snap.regions[*r as usize].id),
            Selection::WorkStudy(a) => format!("work_area={}", a.id),
            Selection::HomeStudy(a) => format!("home_area={}", a.id),
        }
    }

    /// `true` when the cells are homes, `false` when workplaces.
    pub fn draws_homes(&self) -> bool {
        !matches!(self, Selection::HomeArea(_) | Selection::HomeStudy(_))
    }
}

/// Zoom of the tile grid a `work_bbox` is widened to (see the module
/// documentation): the smallest box answered is one tile of this zoom.
pub const WORK_BOX_ZOOM: u8 = 15;

/// Inclusive key-grid column and row bounds of a lon/lat box, widened to
/// whole tiles of zoom [`WORK_BOX_ZOOM`].
pub fn work_box_keys([w, s, e, n]: [f64; 4]) -> [u32; 4] {
    let size = (1u64 << morton::KEY_ZOOM) as f64;
    let max = ((1u64 << morton::KEY_ZOOM) - 1) as f64;
    let cell = |v: f64| (v * size).floor().clamp(0.0, max) as u32;
    let (x0, y0) = lonlat_to_unit(w, n);
    let (x1, y1) = lonlat_to_unit(e, s);
    let block = 1u32 << (morton::KEY_ZOOM - WORK_BOX_ZOOM);
    let down = |v: u32| v & !(block - 1);
    let up = |v: u32| v | (block - 1);
    [down(cell(x0)), down(cell(y0)), up(cell(x1)), up(cell(y1))]
}

/// One heat cell: tallies of the talents drawn in it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeatCell {
    /// Stable id (level and Morton code), as the talents layer's cells.
    pub id: u64,
    pub count: Tally,
    /// Talents seeking a job.
    pub seekers: Tally,
    /// Talents aged ≤ 35.
    pub young: Tally,
    /// By education level (associate, bachelor, master, doctorate).
    pub education: [Tally; 4],
    /// Field index with the largest count (smallest index on ties), and
    /// that count.
    pub top_field: Option<(u8, u64)>,
}

/// Cells of position-sorted talents at `level`, for those matching `filter`.
fn heat_cells_of(talents: &[TalentRec], level: u8, filter: &Filter, young_from: u16) -> Vec<HeatCell> {
    let all = filter.is_empty();
    let mut cells: Vec<HeatCell> = Vec::new();
    let mut fields = [0u64; 256];
    let finish = |cell: &mut HeatCell, fields: &mut [u64; 256]| {
        let mut best: Option<(u8, u64)> = None;
        for (f, n) in fields.iter_mut().enumerate() {
            if *n > best.map_or(0, |b| b.1) {
                best = Some((f as u8, *n));
            }
            *n = 0;
        }
        cell.top_field = best;
    };
    for t in talents {
        if !all && !filter.talent(t) {
            continue;
        }
        let id = morton::cell_id(t.home, level);
        if cells.last().is_none_or(|c| c.id != id) {
            if let Some(last) = cells.last_mut() {
                finish(last, &mut fields);
            }
            cells.push(HeatCell { id, ..HeatCell::default() });
        }
        let Some(cell) = cells.last_mut() else { continue };
        cell.count.add(t.rkey);
        if t.seeking() {
            cell.seekers.add(t.rkey);
        }
        if t.birth_year >= young_from {
            cell.young.add(t.rkey);
        }
        cell.education[(t.education & 3) as usize].add(t.rkey);
        fields[t.field as usize] += 1;
    }
    if let Some(last) = cells.last_mut() {
        finish(last, &mut fields);
    }
    cells
}

/// Heat cells of `tile` for the talents of `selection` matching `filter`
/// (unpublished tallies: see [`crate::encode::commute`]).
pub fn heat_cells(
    snap: &Snapshot,
    index: &CommuteIndex,
    selection: &Selection,
    tile: TileId,
    filter: &Filter,
) -> Vec<HeatCell> {
    let level = cells::cell_level(tile.z);
    let young_from = snap.reference_year.saturating_sub(YOUNG_MAX_AGE);
    let in_region = |a: u16, b: u16, r: u16| r != NONE16 && (a == r || b == r);
    let range = morton::tile_range(tile);
    // The run of a home-ordered list of talent positions inside the tile.
    let run = |list: &[u32]| -> Vec<TalentRec> {
        let home_of = |i: &u32| snap.talents[*i as usize].home;
        let start = list.partition_point(|i| home_of(i) < range.start);
        let end = list.partition_point(|i| home_of(i) < range.end);
        list[start..end].iter().map(|&i| snap.talents[i as usize]).collect()
    };
    // The talents ordered by workplace inside the tile (one run).
    let by_work = || {
        let work_of = |i: &u32| snap.talents[*i as usize].work;
        let start = snap.by_work.partition_point(|i| work_of(i) < range.start);
        let end = snap.by_work.partition_point(|i| work_of(i) < range.end);
        &snap.by_work[start..end]
    };
    let homes: Vec<TalentRec> = match *selection {
        Selection::WorkArea(r) if snap.regions.get(r as usize).is_some_and(|x| x.kind == RegionKind::Park) => {
            run(index.park_workers.get(r as usize).map_or(&[], Vec::as_slice))
        }
        Selection::Enterprise(e) => run(index.enterprise_talents(e)),
        Selection::WorkStudy(ref a) => {
            snap.talents_in(tile).iter().filter(|t| t.has_work() && a.footprint.holds_key(t.work)).copied().collect()
        }
        Selection::HomeStudy(ref a) => by_work()
            .iter()
            .map(|&i| &snap.talents[i as usize])
            .filter(|t| a.footprint.holds_key(t.home))
            .map(|t| TalentRec { home: t.work, ..*t })
            .collect(),
        Selection::WorkArea(r) => snap
            .talents_in(tile)
            .iter()
            .filter(|t| t.has_work() && in_region(t.work_district, t.work_park, r))
            .copied()
            .collect(),
        Selection::WorkBox(b) => {
            let [c0, r0, c1, r1] = work_box_keys(b);
            snap.talents_in(tile)
                .iter()
                .filter(|t| {
                    if !t.has_work() {
                        return false;
                    }
                    let (c, r) = morton::deinterleave(t.work);
                    (c0..=c1).contains(&c) && (r0..=r1).contains(&r)
                })
                .copied()
                .collect()
        }
        Selection::HomeArea(r) => {
            // Talents sorted by workplace: the tile is one run. The copies
            // carry the workplace as their position, so the same cell
            // aggregation draws workplaces.
            by_work()
                .iter()
                .map(|&i| &snap.talents[i as usize])
                .filter(|t| in_region(t.home_district, t.home_park, r))
                .map(|t| TalentRec { home: t.work, ..*t })
                .collect()
        }
    };
    heat_cells_of(&homes, level, filter, young_from)
}
