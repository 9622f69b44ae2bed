//! Rendering of the `commute` tile layer: job–housing heat cells (see
//! [`crate::analytics::commute::heat`]) drawn exactly like the talents
//! layer — same cell squares, properties and privacy suppression.

use crate::analytics::commute::CommuteIndex;
use crate::analytics::commute::heat::{Selection, heat_cells};
use crate::analytics::filter::Filter;
use crate::encode::layers::{EXTENT, cell_features};
use crate::encode::mvt::{LayerBuilder, encode_tile};
use crate::snapshot::Snapshot;
use crate::spatial::TileId;

/// Name of the layer inside the tile.
pub const LAYER: &str = "commute";
/// Deepest zoom with distinct tiles (as the talents layer).
pub const MAXZOOM: u8 = 14;

/// Encodes the commute heat of `selection` in `tile` for talents matching
/// `filter`; empty when the tile has no cells. Cells with `1..k` talents
/// carry only `suppressed: true`.
pub fn render_commute(
    snap: &Snapshot,
    index: &CommuteIndex,
    selection: Selection,
    tile: TileId,
    filter: &Filter,
    k: u32,
) -> Vec<u8> {
    let cells = heat_cells(snap, index, selection, tile, filter);
    let mut builder = LayerBuilder::new(LAYER, EXTENT);
    cell_features(&mut builder, tile, &cells, snap, true, k);
    encode_tile(&[builder])
}
