//! Shortage figures of areas — districts, parks and grid cells — and the
//! rankings built from them.
//!
//! Every figure comes from the [`Basis`] and the memoised
//! [`FieldCatchment`]: district and park figures are table lookups, cell
//! figures one merge pass over the field's seekers and sites within the
//! requested key range (the whole city for a ranking, one tile for a tile).
//!
//! Talent counts are [`Tally`]s; the estimates are computed from their
//! published values under the query's disclosure (`Smoothing::disclosure`),
//! so a ranking, a field list, an explanation and a tile publish the same
//! number for the same set of seekers. An area whose only talent count is
//! published as 0 and that has no demand is left out of cell lists, as if
//! empty.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use super::basis::{Basis, Narrow, cell_keys, field_sum};
use super::effective::{self, CatchmentParams, FieldCatchment};
use super::index::{CityRatio, Estimate, Smoothing, estimate, published_allocation};
use crate::analytics::privacy::{Disclosure, Tally};
use crate::model::RegionKind;
use crate::snapshot::Snapshot;
use crate::spatial::{TileId, morton};

/// One shortage query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Query {
    /// Field index.
    pub field: u8,
    pub narrow: Narrow,
    pub smoothing: Smoothing,
    pub catchment: CatchmentParams,
}

/// An area a figure is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    /// A district or park, by position in `Snapshot::regions`.
    Region(u16),
    /// A grid cell, by its stable id ([`morton::cell_id`]).
    Cell(u64),
}

impl Area {
    /// Resolves an area id: a district or park id, or a grid cell id as
    /// served in tiles and rankings (decimal).
    pub fn parse(snap: &Snapshot, id: &str) -> Option<Area> {
        if let Some(r) = snap.region(id) {
            let kind = snap.regions[r as usize].kind;
            return matches!(kind, RegionKind::District | RegionKind::Park).then_some(Area::Region(r));
        }
        let cell: u64 = id.parse().ok()?;
        let level = (cell >> 58) as u8;
        let tile = morton::cell_tile(cell);
        (level <= morton::KEY_ZOOM && TileId::new(level as u32, tile.x as u64, tile.y as u64).is_ok())
            .then_some(Area::Cell(cell))
    }

    /// The public id.
    pub fn id(&self, snap: &Snapshot) -> String {
        match *self {
            Area::Region(r) => snap.regions[r as usize].id.clone(),
            Area::Cell(c) => c.to_string(),
        }
    }

    /// Display name (cells: their id).
    pub fn name(&self, snap: &Snapshot) -> String {
        match *self {
            Area::Region(r) => snap.regions[r as usize].name.clone(),
            Area::Cell(c) => c.to_string(),
        }
    }

    /// `district`, `park` or `cell`.
    pub fn kind(&self, snap: &Snapshot) -> &'static str {
        match *self {
            Area::Region(r) => snap.regions[r as usize].kind.code(),
            Area::Cell(_) => "cell",
        }
    }

    /// Label position `[lon, lat]`: the region's centre or the cell's.
    pub fn centre(&self, snap: &Snapshot) -> [f64; 2] {
        match *self {
            Area::Region(r) => snap.regions[r as usize].centre,
            Area::Cell(c) => {
                let (w, s, e, n) = morton::cell_tile(c).lonlat_bounds();
                [(w + e) / 2.0, (s + n) / 2.0]
            }
        }
    }
}

/// Raw figures of an area (exact tallies; the disclosure applies on output).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Figures {
    /// Open openings `D`.
    pub demand: f64,
    /// Seekers living in the area `S`.
    pub supply: Tally,
    /// Talents of the field working in the area (districts and parks only).
    pub employed: Option<Tally>,
    /// Seekers allocated to the area's openings by the catchment.
    pub effective_supply: f64,
    /// The reach key of the area's sites (`effective::Site::reach` merged),
    /// which the allocation is published with.
    pub effective_reach: Tally,
}

/// The references a query's estimates share.
#[derive(Clone)]
pub struct Context {
    pub basis: Arc<Basis>,
    pub catchment: Arc<FieldCatchment>,
    /// City-wide `ρ` for the plain index.
    pub city: CityRatio,
    /// City-wide openings ÷ allocated seekers, for the effective index.
    pub city_effective: CityRatio,
    /// How the area's own talent counts are disclosed.
    pub disclosure: Disclosure,
    /// How city-wide counts and allocations are disclosed (an allocation
    /// rests on seekers wherever they live within reach).
    pub city_disclosure: Disclosure,
}

impl Context {
    /// Builds (or fetches from the snapshot's memo) what `q` needs.
    pub fn new(snap: &Snapshot, q: &Query) -> Context {
        let basis = Basis::of(snap);
        let catchment = effective::of(snap, &basis, q.field, q.narrow, q.catchment);
        let n = q.narrow;
        let (d, city) = (q.smoothing.disclosure, q.smoothing.city_disclosure);
        let demand = field_sum(basis.demand_city.row(0), q.field, |e, t| n.demand(e, t)) as f64;
        let supply = basis.seekers_city.field_tally(0, q.field, |e, t| n.supply(e, t));
        // The seekers allocated city-wide are a whole count: those with an
        // opening in reach.
        let allocated = if city.is_exact() { catchment.allocated } else { city.count(catchment.reached_tally) as f64 };
        Context {
            city: CityRatio::new(demand, city.count(supply) as f64),
            city_effective: CityRatio::new(catchment.demand, allocated),
            basis,
            catchment,
            disclosure: d,
            city_disclosure: city,
        }
    }

    /// Figures of a district or park.
    pub fn region(&self, q: &Query, region: u16) -> Figures {
        let n = q.narrow;
        let Some(row) = self.basis.region_row(region) else { return Figures::default() };
        Figures {
            demand: field_sum(self.basis.demand_by_region.row(row), q.field, |e, t| n.demand(e, t)) as f64,
            supply: self.basis.seekers_by_region.field_tally(row, q.field, |e, t| n.supply(e, t)),
            employed: Some(self.basis.workforce_by_region.field_tally(row, q.field, |e, t| n.supply(e, t))),
            effective_supply: self.catchment.by_region.get(region as usize).copied().unwrap_or(0.0),
            effective_reach: self.catchment.region_reach.get(region as usize).copied().unwrap_or_default(),
        }
    }

    /// Figures of one grid cell (`snap`: the snapshot of the context).
    pub fn cell(&self, snap: &Snapshot, q: &Query, cell: u64) -> Figures {
        let keys = cell_keys(cell);
        let sites = self.catchment.sites_in(keys.clone());
        Figures {
            demand: sites.iter().map(|s| s.openings).sum(),
            supply: self
                .basis
                .seekers_in(snap, q.field, keys)
                .iter()
                .filter(|s| q.narrow.supply(s.education, s.title))
                .map(|s| s.tally())
                .sum(),
            employed: None,
            effective_supply: sites.iter().map(|s| s.effective_supply()).sum(),
            effective_reach: FieldCatchment::reach_of(sites),
        }
    }

    /// Figures of a set of point-key ranges: the sums of what [`Self::cell`]
    /// counts over each.
    pub fn ranges(&self, snap: &Snapshot, q: &Query, ranges: &[Range<u64>]) -> Figures {
        let mut f = Figures::default();
        for keys in ranges {
            let sites = self.catchment.sites_in(keys.clone());
            f.demand += sites.iter().map(|s| s.openings).sum::<f64>();
            f.effective_supply += sites.iter().map(|s| s.effective_supply()).sum::<f64>();
            f.effective_reach.merge(FieldCatchment::reach_of(sites));
            for s in self.basis.seekers_in(snap, q.field, keys.clone()).iter() {
                if q.narrow.supply(s.education, s.title) {
                    f.supply.add(s.rkey);
                }
            }
        }
        f
    }

    /// Figures of any area.
    pub fn figures(&self, snap: &Snapshot, q: &Query, area: Area) -> Figures {
        match area {
            Area::Region(r) => self.region(q, r),
            Area::Cell(c) => self.cell(snap, q, c),
        }
    }

    /// Figures of every non-empty cell of `level` within a key range, in
    /// key order: one merge pass over the field's seekers and sites there.
    pub fn cells(&self, snap: &Snapshot, q: &Query, level: u8, keys: Range<u64>) -> Vec<(u64, Figures)> {
        let seekers = self.basis.seekers_in(snap, q.field, keys.clone());
        let sites = self.catchment.sites_in(keys);
        let mut out: Vec<(u64, Figures)> = Vec::new();
        let (mut i, mut j) = (0usize, 0usize);
        while i < seekers.len() || j < sites.len() {
            let ci = seekers.key(i).map_or(u64::MAX, |key| morton::cell_id(key, level));
            let cj = sites.get(j).map_or(u64::MAX, |s| morton::cell_id(s.key, level));
            let cell = ci.min(cj);
            let mut f = Figures::default();
            while let Some(s) = seekers.get(i).filter(|s| morton::cell_id(s.key, level) == cell) {
                if q.narrow.supply(s.education, s.title) {
                    f.supply.add(s.rkey);
                }
                i += 1;
            }
            while j < sites.len() && morton::cell_id(sites[j].key, level) == cell {
                f.demand += sites[j].openings;
                f.effective_supply += sites[j].effective_supply();
                f.effective_reach.merge(sites[j].reach);
                j += 1;
            }
            if f.demand > 0.0 || self.disclosure.count(f.supply) > 0 {
                out.push((cell, f));
            }
        }
        out
    }

    /// Plain estimate of an area's figures, from the published supply.
    pub fn estimate(&self, q: &Query, f: &Figures) -> Estimate {
        estimate(f.demand, self.disclosure.count(f.supply) as f64, &self.city, &q.smoothing)
    }

    /// Effective estimate (openings ÷ allocated seekers, smoothed towards the
    /// city's effective ratio), from the published allocation; `None` for
    /// areas without openings, which the catchment allocates no seekers to.
    /// Allocated seekers live anywhere within reach of the area's openings,
    /// so the allocation is published under the city's disclosure.
    pub fn effective(&self, q: &Query, f: &Figures) -> Option<Estimate> {
        (f.demand > 0.0).then(|| {
            let supply = published_allocation(f.effective_supply, f.effective_reach, self.city_disclosure);
            estimate(f.demand, supply, &self.city_effective, &q.smoothing)
        })
    }

    /// The published value of a talent count.
    pub fn count(&self, t: Tally) -> u64 {
        self.disclosure.count(t)
    }
}

/// What a ranking ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    District,
    Park,
    /// Grid cells drawn at map zoom `zoom` (cells of level `zoom + 5`, the
    /// cells of the tiles).
    Cell {
        zoom: u8,
    },
}

/// One ranked area.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub area: Area,
    pub figures: Figures,
    pub estimate: Estimate,
    pub effective: Option<Estimate>,
}

/// Orders rows most short first: index descending, then demand
/// descending, then area order (region position or cell id).
pub fn most_short_first(a: &Row, b: &Row) -> Ordering {
    b.estimate.index.total_cmp(&a.estimate.index).then(b.figures.demand.total_cmp(&a.figures.demand)).then_with(|| {
        match (a.area, b.area) {
            (Area::Region(x), Area::Region(y)) => x.cmp(&y),
            (Area::Cell(x), Area::Cell(y)) => x.cmp(&y),
            (Area::Region(_), Area::Cell(_)) => Ordering::Less,
            (Area::Cell(_), Area::Region(_)) => Ordering::Greater,
        }
    })
}

/// Ranks the areas of `by` for a query, most short first, keeping `limit`
/// rows (all when `None`); only the kept rows get their credible interval.
pub fn rank(snap: &Snapshot, ctx: &Context, q: &Query, by: By, limit: Option<usize>) -> Vec<Row> {
    let row = |area: Area, figures: Figures| Row {
        area,
        estimate: ctx.estimate(q, &figures),
        effective: ctx.effective(q, &figures),
        figures,
    };
    let mut rows: Vec<Row> = match by {
        By::District | By::Park => {
            let kind = if by == By::District { RegionKind::District } else { RegionKind::Park };
            snap.regions
                .iter()
                .enumerate()
                .filter(|(_, r)| r.kind == kind)
                .map(|(i, _)| row(Area::Region(i as u16), ctx.region(q, i as u16)))
                .collect()
        }
        By::Cell { zoom } => {
            let level = crate::analytics::cells::cell_level(zoom);
            ctx.cells(snap, q, level, 0..u64::MAX).into_iter().map(|(c, f)| row(Area::Cell(c), f)).collect()
        }
    };
    let keep = limit.unwrap_or(rows.len()).min(rows.len());
    if keep < rows.len() && keep > 0 {
        rows.select_nth_unstable_by(keep - 1, most_short_first);
    }
    rows.truncate(keep);
    rows.sort_by(most_short_first);
    for r in &mut rows {
        r.estimate = r.estimate.with_interval(q.smoothing.interval);
    }
    rows
}

/// One field in an area's "what is this place short of" list.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRow {
    pub field: u8,
    pub figures: Figures,
    pub city: CityRatio,
    pub estimate: Estimate,
    pub effective: Option<Estimate>,
}

/// The fields with demand or supply in an area, most short first (index
/// descending, then demand descending, then field code order). `template`
/// supplies narrowing, smoothing and catchment; its field is ignored.
pub fn fields_in(snap: &Snapshot, area: Area, template: &Query) -> Vec<FieldRow> {
    let basis = Basis::of(snap);
    // Cheap pre-check from the tables / lists before the catchment.
    let quick = |field: u8| match area {
        Area::Region(r) => basis.region_row(r).is_some_and(|row| {
            field_sum(basis.demand_by_region.row(row), field, |_, _| true) > 0
                || field_sum(basis.seekers_by_region.row(row), field, |_, _| true) > 0
        }),
        Area::Cell(c) => {
            !basis.demand_in(snap, field, cell_keys(c)).is_empty()
                || !basis.seekers_in(snap, field, cell_keys(c)).is_empty()
        }
    };
    fields_where(snap, template, quick, |ctx, q| ctx.figures(snap, q, area))
}

/// [`fields_in`] for an area given as point-key ranges (a study area's
/// cells, `crate::areas::Footprint::ranges`): each field's figures are the
/// sums over the ranges, as a cell's are over its one range.
pub fn fields_in_ranges(snap: &Snapshot, ranges: &[Range<u64>], template: &Query) -> Vec<FieldRow> {
    let basis = Basis::of(snap);
    let quick = |field: u8| {
        ranges.iter().any(|r| {
            !basis.demand_in(snap, field, r.clone()).is_empty() || !basis.seekers_in(snap, field, r.clone()).is_empty()
        })
    };
    fields_where(snap, template, quick, |ctx, q| ctx.ranges(snap, q, ranges))
}

/// The rows of every field that passes `quick` (a cheap look for any
/// record before the catchment is built) and whose `figures` hold demand or
/// published supply, most short first.
fn fields_where(
    snap: &Snapshot,
    template: &Query,
    quick: impl Fn(u8) -> bool,
    figures: impl Fn(&Context, &Query) -> Figures,
) -> Vec<FieldRow> {
    let basis = Basis::of(snap);
    let mut rows = Vec::new();
    for field in 0..basis.fields.min(256) as u8 {
        if !quick(field) {
            continue;
        }
        let q = Query { field, ..*template };
        let ctx = Context::new(snap, &q);
        let figures = figures(&ctx, &q);
        if figures.demand == 0.0 && ctx.count(figures.supply) == 0 {
            continue;
        }
        rows.push(FieldRow {
            field,
            figures,
            city: ctx.city,
            estimate: ctx.estimate(&q, &figures).with_interval(q.smoothing.interval),
            effective: ctx.effective(&q, &figures),
        });
    }
    rows.sort_by(|a, b| {
        b.estimate
            .index
            .total_cmp(&a.estimate.index)
            .then(b.figures.demand.total_cmp(&a.figures.demand))
            .then(a.field.cmp(&b.field))
    });
    rows
}

/// An enterprise contributing openings to an area's demand.
#[derive(Debug, Clone, PartialEq)]
pub struct Contributor {
    /// Position in `Snapshot::enterprises`.
    pub enterprise: u32,
    pub openings: u64,
    /// Accessible seekers per opening at the enterprise's site (`A_j`).
    pub access: f64,
    /// Seekers the catchment allocates to the site (`O_j · A_j`, all the
    /// site's openings of the field).
    pub site_effective_supply: f64,
    /// The reach key of the site.
    pub site_reach: Tally,
    /// Openings of the field at the site.
    pub site_openings: f64,
}

/// The enterprises with the most openings of the query in an area, most
/// first (ties by enterprise position), at most `limit`.
pub fn contributors(snap: &Snapshot, ctx: &Context, q: &Query, area: Area, limit: usize) -> Vec<Contributor> {
    let rows = match area {
        Area::Region(_) => ctx.basis.demand(snap, q.field),
        Area::Cell(c) => ctx.basis.demand_in(snap, q.field, cell_keys(c)),
    };
    let inside = |d: u16, p: u16| match area {
        Area::Region(r) => d == r || p == r,
        Area::Cell(_) => true,
    };
    let mut by_enterprise: HashMap<u32, (u64, u64)> = HashMap::new();
    for r in rows.iter().filter(|r| inside(r.district, r.park) && q.narrow.demand(r.education, r.title)) {
        let e = by_enterprise.entry(r.enterprise).or_insert((0, r.key));
        e.0 += r.openings as u64;
    }
    let mut list: Vec<(u32, u64, u64)> = by_enterprise.into_iter().map(|(e, (n, key))| (e, n, key)).collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    list.truncate(limit);
    list.into_iter()
        .filter(|(e, _, _)| (*e as usize) < snap.enterprises.len())
        .map(|(enterprise, openings, key)| {
            let site = ctx.catchment.sites_in(key..key + 1).first().copied();
            Contributor {
                enterprise,
                openings,
                access: site.map_or(0.0, |s| s.access),
                site_effective_supply: site.map_or(0.0, |s| s.effective_supply()),
                site_reach: site.map_or_else(Tally::default, |s| s.reach),
                site_openings: site.map_or(0.0, |s| s.openings),
            }
        })
        .collect()
}
