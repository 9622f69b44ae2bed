//! Rendering the map layers of one tile into MVT.
//!
//! Tile path for every layer: tile box (plus a buffer for points and
//! polygons) → key-range or R-tree lookup in the snapshot → aggregate where
//! the layer is personal data → tile coordinates (clipped, simplified) →
//! encode. Every talent number in a tile is published through disclosure
//! control ([`crate::analytics::privacy`]): perturbed from its own tally, the
//! same for every role (tiles are shared); a cell published as 0 is left out
//! like an empty one. Vacancy cells keep the threshold rule (a count in
//! `1..k` carries only `suppressed: true`).

use std::str::FromStr;

use rstar::AABB;

use crate::analytics::cells::{self, Cell};
use crate::analytics::filter::Filter;
use crate::analytics::fine;
use crate::analytics::privacy::{Disclosure, publishable};
use crate::encode::clip::{point_to_tile, polygon_to_tile};
use crate::encode::mvt::{DEFAULT_EXTENT, LayerBuilder, PropValue, encode_layer};
use crate::model::Education;
use crate::snapshot::Snapshot;
use crate::spatial::{TileId, lonlat_to_unit, morton};

/// Tile extent (MVT 2.1 default).
pub const EXTENT: u32 = DEFAULT_EXTENT;
/// Buffer around the tile, in tile units, for points and polygons.
pub const BUFFER: u32 = 64;
/// From this zoom on, enterprises are drawn one by one.
pub const ENTERPRISE_POINTS_ZOOM: u8 = 13;
/// log2 of enterprise clusters per tile side below that zoom.
const CLUSTER_SHIFT: u8 = 3;
/// A tile at or above [`ENTERPRISE_POINTS_ZOOM`] that would hold more
/// enterprises than this still draws clusters (finer ones), so a dense
/// business district does not produce a tile of hundreds of kilobytes.
pub const MAX_ENTERPRISE_POINTS: usize = 1_500;

/// The map layers served as tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    Enterprises,
    Talents,
    Vacancies,
    Regions,
    Stations,
}

impl Layer {
    pub const ALL: [Layer; 5] = [Layer::Enterprises, Layer::Talents, Layer::Vacancies, Layer::Regions, Layer::Stations];

    pub fn name(self) -> &'static str {
        match self {
            Layer::Enterprises => "enterprises",
            Layer::Talents => "talents",
            Layer::Vacancies => "vacancies",
            Layer::Regions => "regions",
            Layer::Stations => "stations",
        }
    }

    /// Deepest zoom with distinct tiles; clients overzoom beyond it.
    pub fn maxzoom(self) -> u8 {
        match self {
            Layer::Enterprises => 16,
            Layer::Talents | Layer::Vacancies => 14,
            Layer::Regions | Layer::Stations => 14,
        }
    }

    /// Field descriptions for TileJSON `vector_layers`.
    pub fn fields(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Layer::Talents => &[
                (
                    "count",
                    "talents in the cell, perturbed (docs/privacy.md): never 1..k-1; cells published as 0 are absent",
                ),
                ("seekers", "talents seeking a job"),
                ("young", "talents aged 35 or less"),
                ("edu_associate", "talents with an associate degree"),
                ("edu_bachelor", "talents with a bachelor's degree"),
                ("edu_master", "talents with a master's degree"),
                ("edu_doctorate", "talents with a doctorate"),
                ("top_field", "most common discipline code (cells of at least 20 talents)"),
                ("top_field_count", "talents in the most common discipline"),
                ("zoom_level", "grid level of the cell"),
            ],
            Layer::Vacancies => &[
                ("count", "open positions (openings) in the cell (absent when suppressed)"),
                ("suppressed", "true when 1..k-1 openings"),
                ("rows", "vacancy records"),
                ("edu_associate", "openings requiring an associate degree"),
                ("edu_bachelor", "openings requiring a bachelor's degree"),
                ("edu_master", "openings requiring a master's degree"),
                ("edu_doctorate", "openings requiring a doctorate"),
                ("top_field", "discipline code with most openings"),
                ("top_field_count", "openings in that discipline"),
                ("zoom_level", "grid level of the cell"),
            ],
            Layer::Enterprises => &[
                (
                    "cluster",
                    "true for a cluster (below zoom 13, or where a tile would hold more than 1,500 enterprises)",
                ),
                ("count", "enterprises in the cluster"),
                ("key_count", "key enterprises in the cluster"),
                ("employees", "employees (sum for clusters)"),
                ("openings", "open positions (sum for clusters)"),
                ("industry", "GB/T 4754-2017 division (dominant one for clusters)"),
                ("id", "enterprise id"),
                ("name", "enterprise name"),
                ("key", "key enterprise of the city"),
            ],
            Layer::Regions => &[
                ("id", "region id"),
                ("name", "region name"),
                ("name_en", "English name of the region, when the data has one"),
                ("kind", "district, street or park"),
                ("talents", "resident talents, perturbed (docs/privacy.md)"),
                ("seekers", "resident talents seeking a job, perturbed"),
                ("enterprises", "enterprises in the region"),
                ("openings", "open positions in the region"),
                ("ratio", "jobs-to-applicants ratio: openings / seekers"),
            ],
            Layer::Stations => &[
                ("id", "station id"),
                ("name", "station name"),
                ("name_en", "English name of the station, when the data has one"),
                ("mode", "metro, rail, brt or bus"),
            ],
        }
    }
}

impl FromStr for Layer {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Layer::ALL.into_iter().find(|l| l.name() == s).ok_or(())
    }
}

/// 64-bit FNV-1a: stable feature ids from record ids.
pub fn stable_id(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// Encodes one layer of one tile. Empty when the tile has no features.
pub fn render(snap: &Snapshot, layer: Layer, tile: TileId, filter: &Filter, k: u32) -> Vec<u8> {
    encode_layer(layer.name(), EXTENT, |builder| match layer {
        Layer::Talents => {
            // Unfiltered tiles past the pyramid's zooms read their published
            // cells from the snapshot's fine index once it is made; until
            // then, and for every other tile, the cells are aggregated.
            let fine = (filter.is_empty() && (fine::MIN_ZOOM..=fine::MAX_ZOOM).contains(&tile.z))
                .then(|| fine::built(snap, k))
                .flatten();
            match fine.as_ref().and_then(|f| f.tile(snap, tile)) {
                Some(cells) => {
                    let level = cells::cell_level(tile.z) as u64;
                    cells.for_each(|c| talent_cell_feature(builder, tile, level, c.id, &c.published));
                }
                None => talent_cell_features(
                    builder,
                    tile,
                    &cells::talent_cells(snap, tile, filter),
                    snap,
                    Disclosure::Protected { k },
                ),
            }
        }
        Layer::Vacancies => vacancy_cell_features(builder, tile, &cells::vacancy_cells(snap, tile, filter), snap, k),
        Layer::Enterprises => enterprise_features(builder, snap, tile, filter),
        Layer::Regions => region_features(builder, snap, tile, k),
        Layer::Stations => station_features(builder, snap, tile),
    })
}

/// Top-left corner and side of a grid cell in the coordinates of `tile`
/// (extent [`EXTENT`]), for [`LayerBuilder::add_square`]; every cell layer
/// (talents, vacancies, commute, shortage) draws its cells with it.
pub(crate) fn cell_square(tile: TileId, cell_id: u64) -> ((i32, i32), i32) {
    let cell = morton::cell_tile(cell_id);
    let shift = cell.z - tile.z;
    let size = (EXTENT >> shift) as i32;
    let cx = (cell.x - (tile.x << shift)) as i32 * size;
    let cy = (cell.y - (tile.y << shift)) as i32 * size;
    ((cx, cy), size)
}

/// Vacancy cells under the threshold rule (openings are not personal data;
/// a cell of 1..k−1 openings carries only `suppressed: true`).
fn vacancy_cell_features(b: &mut LayerBuilder, tile: TileId, cells: &[Cell], snap: &Snapshot, k: u32) {
    let level = cells::cell_level(tile.z) as u64;
    for c in cells {
        let (corner, size) = cell_square(tile, c.id);
        if publishable(c.count, k).is_none() {
            b.add_square(Some(c.id), corner, size, &[("suppressed", PropValue::Bool(true))]);
            continue;
        }
        let top = c.top_field.and_then(|(f, n)| snap.taxonomy.field(f).map(|e| (e.code.as_str(), n)));
        let mut props: Vec<(&str, PropValue)> = vec![
            ("count", PropValue::UInt(c.count)),
            ("zoom_level", PropValue::UInt(level)),
            ("rows", PropValue::UInt(c.rows)),
        ];
        for (e, n) in Education::ALL.iter().zip(c.education) {
            props.push((edu_key(*e), PropValue::UInt(n)));
        }
        if let Some((code, n)) = top {
            props.push(("top_field", PropValue::Str(code)));
            props.push(("top_field_count", PropValue::UInt(n)));
        }
        b.add_square(Some(c.id), corner, size, &props);
    }
}

/// The published numbers of one talent cell under `disclosure`, or `None`
/// when its count is published as 0 (the cell is then left out, exactly as
/// an empty cell: presence tells nothing).
pub struct PublishedCell<'a> {
    pub count: u64,
    pub seekers: u64,
    pub young: u64,
    pub education: [u64; 4],
    /// The most common field and its count, for cells large enough to
    /// describe (`Disclosure::describes`).
    pub top_field: Option<(&'a str, u64)>,
}

/// Every number of a talent cell through `disclosure`, each from its own
/// tally (`analytics::privacy`).
pub fn publish_cell<'a>(snap: &'a Snapshot, c: &Cell, disclosure: Disclosure) -> Option<PublishedCell<'a>> {
    let count = disclosure.count(c.tally());
    if count == 0 {
        return None;
    }
    let top_field = c
        .top_field_tally()
        .filter(|_| disclosure.describes(c.tally()))
        .and_then(|(f, t)| snap.taxonomy.field(f).map(|e| (e.code.as_str(), disclosure.count(t))));
    Some(PublishedCell {
        count,
        seekers: disclosure.count(c.seekers_tally()),
        young: disclosure.count(c.young_tally()),
        education: [0, 1, 2, 3].map(|i| disclosure.count(c.education_tally(i))),
        top_field,
    })
}

fn talent_cell_features(b: &mut LayerBuilder, tile: TileId, cells: &[Cell], snap: &Snapshot, d: Disclosure) {
    let level = cells::cell_level(tile.z) as u64;
    for c in cells {
        if let Some(p) = publish_cell(snap, c, d) {
            talent_cell_feature(b, tile, level, c.id, &p);
        }
    }
}

/// One talent cell's square and its published numbers.
fn talent_cell_feature(b: &mut LayerBuilder, tile: TileId, level: u64, id: u64, p: &PublishedCell<'_>) {
    // On the stack: a tile has hundreds of cells.
    let edu = |i: usize| (edu_key(Education::ALL[i]), PropValue::UInt(p.education[i]));
    let mut props = [
        ("count", PropValue::UInt(p.count)),
        ("zoom_level", PropValue::UInt(level)),
        ("seekers", PropValue::UInt(p.seekers)),
        ("young", PropValue::UInt(p.young)),
        edu(0),
        edu(1),
        edu(2),
        edu(3),
        ("top_field", PropValue::Str("")),
        ("top_field_count", PropValue::UInt(0)),
    ];
    let n = match p.top_field {
        Some((code, n)) => {
            props[8].1 = PropValue::Str(code);
            props[9].1 = PropValue::UInt(n);
            10
        }
        None => 8,
    };
    let (corner, size) = cell_square(tile, id);
    b.add_square(Some(id), corner, size, &props[..n]);
}

fn edu_key(e: Education) -> &'static str {
    match e {
        Education::Associate => "edu_associate",
        Education::Bachelor => "edu_bachelor",
        Education::Master => "edu_master",
        Education::Doctorate => "edu_doctorate",
    }
}

fn enterprise_features(b: &mut LayerBuilder, snap: &Snapshot, tile: TileId, filter: &Filter) {
    let range = snap.enterprises_in(tile);
    let list = &snap.enterprises[range];
    let points = tile.z >= ENTERPRISE_POINTS_ZOOM
        && list.iter().filter(|e| filter.enterprise(e)).take(MAX_ENTERPRISE_POINTS + 1).count()
            <= MAX_ENTERPRISE_POINTS;
    if points {
        for e in list.iter().filter(|e| filter.enterprise(e)) {
            let p = point_to_tile(tile, EXTENT, e.lon, e.lat);
            let industry = snap.taxonomy.industry(e.industry).map_or("", |i| i.code.as_str());
            b.add_point(
                Some(stable_id(&e.id)),
                &[p],
                &[
                    ("id", PropValue::Str(&e.id)),
                    ("name", PropValue::Str(&e.name)),
                    ("industry", PropValue::Str(industry)),
                    ("employees", PropValue::UInt(e.employees as u64)),
                    ("key", PropValue::Bool(e.is_key)),
                    ("openings", PropValue::UInt(e.openings as u64)),
                ],
            );
        }
        return;
    }
    let finer = if tile.z >= ENTERPRISE_POINTS_ZOOM { 2 } else { 0 };
    let level = (tile.z + CLUSTER_SHIFT + finer).min(morton::KEY_ZOOM);
    let mut i = 0;
    while i < list.len() {
        let id = morton::cell_id(list[i].key, level);
        let mut j = i;
        let (mut n, mut keys, mut employees, mut openings, mut sx, mut sy) = (0u64, 0u64, 0u64, 0u64, 0.0, 0.0);
        let mut by_industry = [0u32; 256];
        while j < list.len() && morton::cell_id(list[j].key, level) == id {
            let e = &list[j];
            j += 1;
            if !filter.enterprise(e) {
                continue;
            }
            n += 1;
            keys += e.is_key as u64;
            employees += e.employees as u64;
            openings += e.openings as u64;
            sx += e.lon;
            sy += e.lat;
            by_industry[e.industry as usize] += 1;
        }
        i = j;
        if n == 0 {
            continue;
        }
        let dominant = (0..=255u8).max_by_key(|&d| (by_industry[d as usize], std::cmp::Reverse(d))).unwrap_or(0);
        let industry = snap.taxonomy.industry(dominant).map_or("", |i| i.code.as_str());
        let p = point_to_tile(tile, EXTENT, sx / n as f64, sy / n as f64);
        b.add_point(
            Some(id),
            &[p],
            &[
                ("cluster", PropValue::Bool(true)),
                ("count", PropValue::UInt(n)),
                ("key_count", PropValue::UInt(keys)),
                ("employees", PropValue::UInt(employees)),
                ("openings", PropValue::UInt(openings)),
                ("industry", PropValue::Str(industry)),
            ],
        );
    }
}

/// Douglas–Peucker tolerance in tile units: about a quarter pixel on a
/// 512-pixel tile.
const SIMPLIFY_TOLERANCE: f64 = 2.0;

fn region_features(b: &mut LayerBuilder, snap: &Snapshot, tile: TileId, k: u32) {
    let (w, s, e, n) = tile.lonlat_bounds();
    let pad = (e - w) * BUFFER as f64 / EXTENT as f64;
    for r in &snap.regions {
        let [rw, rs, re, rn] = r.bbox;
        if re < w - pad || rw > e + pad || rn < s - pad || rs > n + pad {
            continue;
        }
        let polygons = polygon_to_tile(tile, EXTENT, BUFFER, SIMPLIFY_TOLERANCE, &r.geometry);
        if polygons.is_empty() {
            continue;
        }
        let st = &r.stats;
        let mut props: Vec<(&str, PropValue)> = vec![
            ("id", PropValue::Str(&r.id)),
            ("name", PropValue::Str(&r.name)),
            ("kind", PropValue::Str(r.kind.code())),
            ("enterprises", PropValue::UInt(st.enterprises)),
            ("openings", PropValue::UInt(st.openings)),
        ];
        if !r.name_en.is_empty() {
            props.push(("name_en", PropValue::Str(&r.name_en)));
        }
        let d = Disclosure::Protected { k };
        props.push(("talents", PropValue::UInt(d.count(st.talents_tally()))));
        let seekers = d.count(st.seekers_tally());
        props.push(("seekers", PropValue::UInt(seekers)));
        if seekers > 0 {
            props.push(("ratio", PropValue::Double(st.openings as f64 / seekers as f64)));
        }
        b.add_polygon(Some(stable_id(&r.id)), &polygons, &props);
    }
}

fn station_features(b: &mut LayerBuilder, snap: &Snapshot, tile: TileId) {
    let (x0, y0, x1, y1) = tile.unit_bounds();
    let pad = (x1 - x0) * BUFFER as f64 / EXTENT as f64;
    let env = AABB::from_corners([x0 - pad, y0 - pad], [x1 + pad, y1 + pad]);
    let mut found: Vec<u32> = snap.station_tree.locate_in_envelope(env).map(|p| p.data).collect();
    found.sort_unstable();
    for i in found {
        let st = &snap.stations[i as usize];
        let p = point_to_tile(tile, EXTENT, st.lon, st.lat);
        let mut props = vec![
            ("id", PropValue::Str(&st.id)),
            ("name", PropValue::Str(&st.name)),
            ("mode", PropValue::Str(st.mode.code())),
        ];
        if !st.name_en.is_empty() {
            props.push(("name_en", PropValue::Str(&st.name_en)));
        }
        b.add_point(Some(stable_id(&st.id)), &[p], &props);
    }
}

/// Unit coordinates of a lon/lat, as an array.
pub fn unit(lon: f64, lat: f64) -> [f64; 2] {
    let (x, y) = lonlat_to_unit(lon, lat);
    [x, y]
}
