//! Job–housing heat: the homes of the people who work somewhere, or the
//! workplaces of the people who live somewhere, aggregated into the same
//! grid cells as the talents layer (see [`crate::analytics::cells`]) and so
//! under the same privacy rule.
//!
//! Tile path: the selected talents inside the tile → cell aggregation. For a
//! park or an enterprise the index holds the list of its talents in home-key
//! order, so the tile is one run of that list (two binary searches) and the
//! cost is proportional to the selection's talents in the tile. For a
//! district or a box, the tile's run of the home-sorted talents is filtered
//! (cost proportional to the talents in the tile, as for the talents layer);
//! for `home_area`, the tile's run of the workplace-sorted positions.

use crate::analytics::cells::{self, Cell, YOUNG_MAX_AGE};
use crate::analytics::filter::Filter;
use crate::model::RegionKind;
use crate::snapshot::{NONE16, Snapshot, TalentRec};
use crate::spatial::{TileId, lonlat_to_unit, morton};

use super::CommuteIndex;

/// Whose positions a commute heat tile draws.
#[derive(Debug, Clone, Copy, PartialEq)]
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
}

impl Selection {
    /// The query parameters that select, exactly one of which is required.
    pub const PARAMS: [&'static str; 4] = ["work_area", "work_bbox", "enterprise", "home_area"];

    /// Canonical query text (for cache keys and TileJSON URLs).
    pub fn canonical(&self, snap: &Snapshot) -> String {
        match *self {
            Selection::WorkArea(r) => format!("work_area={}", snap.regions[r as usize].id),
            Selection::WorkBox([w, s, e, n]) => format!("work_bbox={w},{s},{e},{n}"),
            Selection::Enterprise(i) => format!("enterprise={}", snap.enterprises[i as usize].id),
            Selection::HomeArea(r) => format!("home_area={}", snap.regions[r as usize].id),
        }
    }

    /// `true` when the cells are homes, `false` when workplaces.
    pub fn draws_homes(&self) -> bool {
        !matches!(self, Selection::HomeArea(_))
    }
}

/// Inclusive key-grid column and row bounds of a lon/lat box.
fn key_box([w, s, e, n]: [f64; 4]) -> [u32; 4] {
    let size = (1u64 << morton::KEY_ZOOM) as f64;
    let max = ((1u64 << morton::KEY_ZOOM) - 1) as f64;
    let cell = |v: f64| (v * size).floor().clamp(0.0, max) as u32;
    let (x0, y0) = lonlat_to_unit(w, n);
    let (x1, y1) = lonlat_to_unit(e, s);
    [cell(x0), cell(y0), cell(x1), cell(y1)]
}

/// Heat cells of `tile` for the talents of `selection` matching `filter`.
pub fn heat_cells(
    snap: &Snapshot,
    index: &CommuteIndex,
    selection: Selection,
    tile: TileId,
    filter: &Filter,
) -> Vec<Cell> {
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
    let homes: Vec<TalentRec> = match selection {
        Selection::WorkArea(r) if snap.regions.get(r as usize).is_some_and(|x| x.kind == RegionKind::Park) => {
            run(index.park_workers.get(r as usize).map_or(&[], Vec::as_slice))
        }
        Selection::Enterprise(e) => run(index.enterprise_talents(e)),
        Selection::WorkArea(r) => snap
            .talents_in(tile)
            .iter()
            .filter(|t| t.has_work() && in_region(t.work_district, t.work_park, r))
            .copied()
            .collect(),
        Selection::WorkBox(b) => {
            let [c0, r0, c1, r1] = key_box(b);
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
            let work_of = |i: &u32| snap.talents[*i as usize].work;
            let start = index.by_work.partition_point(|i| work_of(i) < range.start);
            let end = index.by_work.partition_point(|i| work_of(i) < range.end);
            index.by_work[start..end]
                .iter()
                .map(|&i| &snap.talents[i as usize])
                .filter(|t| in_region(t.home_district, t.home_park, r))
                .map(|t| TalentRec { home: t.work, ..*t })
                .collect()
        }
    };
    cells::talent_cells_of(&homes, level, filter, young_from)
}
