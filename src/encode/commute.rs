//! Rendering of the `commute` tile layer: job–housing heat cells (see
//! [`crate::analytics::commute::heat`]) drawn like the talents layer — same
//! cell squares and properties — with every count perturbed.

use crate::analytics::commute::CommuteIndex;
use crate::analytics::commute::heat::{HeatCell, Selection, heat_cells};
use crate::analytics::filter::Filter;
use crate::analytics::privacy::{Disclosure, MIN_GROUP};
use crate::encode::layers::{EXTENT, cell_square};
use crate::encode::mvt::{LayerBuilder, PropValue, encode_layer};
use crate::model::Education;
use crate::snapshot::Snapshot;
use crate::spatial::TileId;

/// Name of the layer inside the tile.
pub const LAYER: &str = "commute";
/// Deepest zoom with distinct tiles (as the talents layer).
pub const MAXZOOM: u8 = 14;

/// The properties of a heat cell, for TileJSON.
pub const FIELDS: &[(&str, &str)] = &[
    ("count", "talents in the cell, perturbed (never 1..k-1; cells published as 0 are left out)"),
    ("seekers", "talents seeking a job, perturbed"),
    ("young", "talents aged 35 or less, perturbed"),
    ("edu_associate", "talents with an associate degree, perturbed"),
    ("edu_bachelor", "talents with a bachelor's degree, perturbed"),
    ("edu_master", "talents with a master's degree, perturbed"),
    ("edu_doctorate", "talents with a doctorate, perturbed"),
    ("top_field", "most common discipline code (cells of at least 20 talents)"),
    ("zoom_level", "grid level of the cell"),
];

/// Encodes the commute heat of `selection` in `tile` for talents matching
/// `filter`, every count perturbed with threshold `k` (heat tiles are never
/// exact). Cells whose count is published as 0 are left out; the result is
/// empty when no cell remains, whether or not the selection had talents in
/// the tile.
pub fn render_commute(
    snap: &Snapshot,
    index: &CommuteIndex,
    selection: &Selection,
    tile: TileId,
    filter: &Filter,
    k: u32,
) -> Vec<u8> {
    let cells = heat_cells(snap, index, selection, tile, filter);
    encode_layer(LAYER, EXTENT, |builder| heat_features(builder, tile, &cells, snap, Disclosure::Protected { k }))
}

fn edu_key(e: Education) -> &'static str {
    match e {
        Education::Associate => "edu_associate",
        Education::Bachelor => "edu_bachelor",
        Education::Master => "edu_master",
        Education::Doctorate => "edu_doctorate",
    }
}

/// The published cells: `count`, `zoom_level`, `seekers`, `young`, the
/// education counts (each its own perturbed tally) and, for cells of at
/// least [`MIN_GROUP`] talents, `top_field` / `top_field_count`.
fn heat_features(b: &mut LayerBuilder, tile: TileId, cells: &[HeatCell], snap: &Snapshot, d: Disclosure) {
    let level = crate::analytics::cells::cell_level(tile.z) as u64;
    for c in cells {
        let count = d.count(c.count);
        if count == 0 {
            continue;
        }
        let (corner, size) = cell_square(tile, c.id);
        let mut props: Vec<(&str, PropValue)> = vec![
            ("count", PropValue::UInt(count)),
            ("zoom_level", PropValue::UInt(level)),
            ("seekers", PropValue::UInt(d.count(c.seekers))),
            ("young", PropValue::UInt(d.count(c.young))),
        ];
        for (e, t) in Education::ALL.iter().zip(c.education) {
            props.push((edu_key(*e), PropValue::UInt(d.count(t))));
        }
        let top = c
            .top_field
            .filter(|_| c.count.n >= MIN_GROUP)
            .and_then(|(f, n)| snap.taxonomy.field(f).map(|e| (e.code.as_str(), n)));
        if let Some((code, _)) = top {
            props.push(("top_field", PropValue::Str(code)));
        }
        b.add_square(Some(c.id), corner, size, &props);
    }
}
