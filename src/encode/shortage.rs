//! The `shortage` tile layer: grid cells coloured by the shortage index of
//! one field.
//!
//! Tile path: tile → key range → the field's seekers and vacancy sites in
//! it (binary searches in the per-snapshot [`Basis`] and the memoised
//! catchment) → one merge pass into cells of level `z + 5` (the cells of
//! the talent and vacancy layers, same ids) → estimates → MVT polygons.
//! Cost is proportional to the field's records inside the tile.
//!
//! Privacy: tiles are shared by every caller, so they are always rendered
//! under protected disclosure (the tile source builds the query with
//! `Disclosure::Protected`): `supply` and `effective_supply` are published
//! (perturbed) values, and ratio, index and interval are computed from them
//! (see [`crate::analytics::shortage::index`]). A cell with no demand whose
//! supply is published as 0 is not drawn.
//!
//! [`Basis`]: crate::analytics::shortage::Basis

use crate::analytics::cells::cell_level;
use crate::analytics::shortage::{Context, Query};
use crate::encode::layers::cell_square;
use crate::encode::mvt::{DEFAULT_EXTENT, LayerBuilder, PropValue, encode_tile};
use crate::snapshot::Snapshot;
use crate::spatial::{TileId, morton};

/// Layer name in tiles and TileJSON.
pub const LAYER: &str = "shortage";
/// Deepest zoom with distinct tiles (as the talent and vacancy layers).
pub const MAXZOOM: u8 = 14;

/// Field descriptions for TileJSON `vector_layers`.
pub const FIELDS: [(&str, &str); 15] = [
    ("id", "cell id (decimal; the area id for /api/shortage/explain)"),
    ("zoom_level", "grid level of the cell"),
    ("demand", "open positions of the field (narrowed by education and title)"),
    ("supply", "seeking talents of the field living in the cell (perturbed count: never 1..k-1)"),
    ("ratio", "jobs-to-applicants ratio demand / supply (absent when supply is 0)"),
    ("index", "shortage index (D + m*rho) / (S + m), smoothed towards the city ratio rho"),
    ("low", "lower end of the credible interval of the index"),
    ("high", "upper end of the credible interval of the index"),
    ("low_data", "true when supply < max(m, 10): the index rests mainly on the city ratio"),
    ("effective_supply", "seekers allocated to the cell's openings by the commuting catchment (2SFCA), perturbed"),
    ("effective_ratio", "demand / effective_supply"),
    ("effective_index", "effective shortage index, smoothed towards the city's effective ratio"),
    ("effective_low_data", "true when effective_supply < max(m, 10)"),
    ("city_ratio", "city-wide jobs-to-applicants ratio of the query (the prior mean)"),
    ("prior", "prior strength m in seekers"),
];

/// Rounds to 4 decimals (index values are never meaningful beyond that).
pub fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// Encodes the shortage layer of one tile for query `q` under its
/// disclosure `q.smoothing.disclosure`. Empty when the tile has no cell with demand
/// or supply.
pub fn render(snap: &Snapshot, q: &Query, tile: TileId) -> Vec<u8> {
    let ctx = Context::new(snap, q);
    let level = cell_level(tile.z);
    let cells = ctx.cells(snap, q, level, morton::tile_range(tile));
    if cells.is_empty() {
        return Vec::new();
    }
    let mut b = LayerBuilder::new(LAYER, DEFAULT_EXTENT);
    let mut id_text = String::new();
    for (cell, f) in cells {
        let e = ctx.estimate(q, &f).with_interval(q.smoothing.interval);
        let eff = ctx.effective(q, &f);
        id_text.clear();
        id_text.push_str(&cell.to_string());
        let mut props: Vec<(&str, PropValue)> = vec![
            ("id", PropValue::Str(&id_text)),
            ("zoom_level", PropValue::UInt(level as u64)),
            ("demand", PropValue::UInt(f.demand as u64)),
            ("index", PropValue::Double(round4(e.index))),
            ("low_data", PropValue::Bool(e.low_data)),
            ("city_ratio", PropValue::Double(round4(ctx.city.ratio))),
            ("prior", PropValue::Double(q.smoothing.prior)),
        ];
        props.push(("supply", PropValue::UInt(e.supply as u64)));
        if let Some(r) = e.ratio {
            props.push(("ratio", PropValue::Double(round4(r))));
        }
        if let Some((lo, hi)) = e.interval {
            props.push(("low", PropValue::Double(round4(lo))));
            props.push(("high", PropValue::Double(round4(hi))));
        }
        if let Some(x) = eff {
            props.push(("effective_supply", PropValue::Double((x.supply * 10.0).round() / 10.0)));
            if let Some(r) = x.ratio {
                props.push(("effective_ratio", PropValue::Double(round4(r))));
            }
            props.push(("effective_index", PropValue::Double(round4(x.index))));
            props.push(("effective_low_data", PropValue::Bool(x.low_data)));
        }
        let (corner, size) = cell_square(tile, cell);
        b.add_square(Some(cell), corner, size, &props);
    }
    encode_tile(&[b])
}
