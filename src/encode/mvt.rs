//! Mapbox Vector Tile 2.1 encoder.
//!
//! The tile endpoint is the service's hottest path, so features are encoded
//! straight into per-layer byte buffers as they are added: geometry commands
//! and tags go through scratch vectors the builder reuses, keys and values
//! are deduplicated per layer (a key by its position in the feature's list
//! and the address of its `&'static str` first, a small whole number by a
//! table, other values through hash indexes), and [`encode_tile`] only
//! concatenates the finished parts behind length prefixes it computes up
//! front. There is no intermediate message tree and no prost dependency.
//! [`encode_layer`] encodes a one-layer tile through a builder its thread
//! keeps from tile to tile.
//!
//! Geometry follows the spec's rules (§4.3): `MoveTo`/`LineTo`/`ClosePath`
//! commands with zigzag-encoded deltas from a cursor that runs through the
//! whole feature, polygon rings without the closing duplicate point, exterior
//! rings with positive and interior rings with negative area by the
//! surveyor's formula in tile coordinates (y down, i.e. exteriors clockwise
//! on screen). The encoder enforces winding and drops degenerate input
//! itself, so callers can pass rings in any orientation.

use std::collections::HashMap;

/// The key and value tables' hash: a tile's property keys are the layer's
/// own names and its values come from the data, never from a request, so a
/// fast hash with a per-process seed serves (SipHash was a twentieth of an
/// uncached tile's time).
type Fast = foldhash::fast::RandomState;

use super::protobuf::{
    len_field_size, packed_len, varint_field_size, varint_len, write_bytes_field, write_double_field, write_len_header,
    write_packed_u32, write_varint_field, zigzag32, zigzag64,
};

/// Layer `version` written into every layer (MVT 2.1).
pub const MVT_VERSION: u32 = 2;

/// Conventional tile extent (coordinate units per tile side).
pub const DEFAULT_EXTENT: u32 = 4096;

// Field numbers from vector_tile.proto.
const TILE_LAYERS: u32 = 3;
const LAYER_NAME: u32 = 1;
const LAYER_FEATURES: u32 = 2;
const LAYER_KEYS: u32 = 3;
const LAYER_VALUES: u32 = 4;
const LAYER_EXTENT: u32 = 5;
const LAYER_VERSION: u32 = 15;
const FEATURE_ID: u32 = 1;
const FEATURE_TAGS: u32 = 2;
const FEATURE_TYPE: u32 = 3;
const FEATURE_GEOMETRY: u32 = 4;
const VALUE_STRING: u32 = 1;
const VALUE_DOUBLE: u32 = 3;
const VALUE_UINT: u32 = 5;
const VALUE_SINT: u32 = 6;
const VALUE_BOOL: u32 = 7;

// Geometry commands (§4.3.1).
const CMD_MOVE_TO: u32 = 1;
const CMD_LINE_TO: u32 = 2;
const CMD_CLOSE_PATH: u32 = 7;

/// Feature geometry type (`Tile.GeomType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum GeomType {
    Point = 1,
    LineString = 2,
    Polygon = 3,
}

/// A feature property value.
///
/// Notes: `Int` is written as `sint_value` (zigzag, compact for either sign),
/// `UInt` as `uint_value`, `Double` as `double_value`, `Str` as
/// `string_value`, `Bool` as `bool_value`. Values of different variants are
/// never merged by deduplication, even if numerically equal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PropValue<'a> {
    Str(&'a str),
    Int(i64),
    UInt(u64),
    Double(f64),
    Bool(bool),
}

impl<'a> From<&'a str> for PropValue<'a> {
    fn from(v: &'a str) -> Self {
        PropValue::Str(v)
    }
}

impl From<i64> for PropValue<'_> {
    fn from(v: i64) -> Self {
        PropValue::Int(v)
    }
}

impl From<u64> for PropValue<'_> {
    fn from(v: u64) -> Self {
        PropValue::UInt(v)
    }
}

impl From<f64> for PropValue<'_> {
    fn from(v: f64) -> Self {
        PropValue::Double(v)
    }
}

impl From<bool> for PropValue<'_> {
    fn from(v: bool) -> Self {
        PropValue::Bool(v)
    }
}

/// Dedup key of a non-string value: variant tag plus the 64-bit payload
/// (a double's bit pattern, so `-0.0` and `0.0` stay distinct).
type ScalarKey = (u8, u64);

/// `UInt` values below this are indexed by a table instead of a hash.
const SMALL_UINTS: u64 = 4096;

/// An empty slot of the key hints and the small values' table.
const NO_INDEX: u32 = u32::MAX;

/// One layer under construction.
///
/// Features are encoded as they are added; the builder keeps the encoded
/// `features`, `keys` and `values` fields of the layer message and indexes
/// for deduplicating keys and values.
#[derive(Debug, Clone)]
pub struct LayerBuilder {
    name: String,
    extent: u32,
    /// Encoded `features` fields (key, length prefix, Feature message each).
    features: Vec<u8>,
    feature_count: usize,
    /// Encoded `keys` fields, in index order.
    keys: Vec<u8>,
    /// The keys in index order: a layer has a handful (its properties'
    /// names, fixed by the code that builds it), so a search through them
    /// costs no more than a hash.
    key_names: Vec<Box<str>>,
    /// For each position in a feature's property list, the address of the
    /// key found there last and its index: features of one layer list the
    /// same keys in the same order, so comparing where the key's text is
    /// usually ends the search (keys are `&'static str`, so one address
    /// holds one text).
    key_hints: Vec<(usize, u32)>,
    /// Encoded `values` fields, in index order.
    values: Vec<u8>,
    value_count: u32,
    string_index: HashMap<String, u32, Fast>,
    scalar_index: HashMap<ScalarKey, u32, Fast>,
    /// Indexes of the `UInt` values below [`SMALL_UINTS`], by value
    /// ([`NO_INDEX`] where not yet in the table): most of a cell layer's
    /// values are small counts.
    small_uints: Vec<u32>,
    // Scratch buffers reused across features.
    geometry: Vec<u32>,
    tags: Vec<u32>,
    ring: Vec<(i32, i32)>,
}

impl LayerBuilder {
    /// Starts an empty layer.
    ///
    /// Parameters: `name` is the layer name MapLibre styles refer to
    /// (`source-layer`); `extent` the number of coordinate units per tile
    /// side ([`DEFAULT_EXTENT`] unless there is a reason otherwise).
    pub fn new(name: &str, extent: u32) -> LayerBuilder {
        LayerBuilder {
            name: name.to_owned(),
            extent,
            features: Vec::new(),
            feature_count: 0,
            keys: Vec::new(),
            key_names: Vec::new(),
            key_hints: Vec::new(),
            values: Vec::new(),
            value_count: 0,
            string_index: HashMap::default(),
            scalar_index: HashMap::default(),
            small_uints: Vec::new(),
            geometry: Vec::new(),
            tags: Vec::new(),
            ring: Vec::new(),
        }
    }

    /// Empties the layer for another tile, keeping its buffers' room.
    fn reset(&mut self, name: &str, extent: u32) {
        self.name.clear();
        self.name.push_str(name);
        self.extent = extent;
        self.features.clear();
        self.feature_count = 0;
        self.keys.clear();
        self.key_names.clear();
        self.key_hints.clear();
        self.values.clear();
        self.value_count = 0;
        self.string_index.clear();
        self.scalar_index.clear();
        // Refilled with `NO_INDEX` as far as the next tile's values reach.
        self.small_uints.clear();
    }

    /// Bytes the builder's buffers and indexes hold room for (about: a hash
    /// table's control bytes are counted as one per entry).
    fn room(&self) -> usize {
        use std::mem::size_of;
        self.features.capacity()
            + self.keys.capacity()
            + self.values.capacity()
            + 4 * self.small_uints.capacity()
            + self.string_index.capacity() * (size_of::<(String, u32)>() + 1)
            + self.scalar_index.capacity() * (size_of::<(ScalarKey, u32)>() + 1)
    }

    /// Layer name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Layer extent.
    pub fn extent(&self) -> u32 {
        self.extent
    }

    /// Number of features added so far.
    pub fn len(&self) -> usize {
        self.feature_count
    }

    /// True if no feature has been added (the layer is then left out of the
    /// tile).
    pub fn is_empty(&self) -> bool {
        self.feature_count == 0
    }

    /// Adds a Point feature, or a MultiPoint one if `points` has more than
    /// one entry.
    ///
    /// Parameters: `id` is the optional feature id (MapLibre keys feature
    /// state on it); `points` are tile
    /// coordinates, which may lie outside `[0, extent)` in the buffer;
    /// `props` are key/value pairs with distinct keys.
    ///
    /// Returns false, adding nothing, if `points` is empty.
    ///
    /// Notes: repeated points are kept (a MultiPoint may legitimately repeat
    /// a position).
    pub fn add_point(
        &mut self,
        id: Option<u64>,
        points: &[(i32, i32)],
        props: &[(&'static str, PropValue<'_>)],
    ) -> bool {
        if points.is_empty() {
            return false;
        }
        self.geometry.clear();
        let mut cursor = (0, 0);
        self.geometry.push(command(CMD_MOVE_TO, points.len()));
        for &p in points {
            push_delta(&mut self.geometry, &mut cursor, p);
        }
        self.finish_feature(id, GeomType::Point, props);
        true
    }

    /// Adds a LineString feature, or a MultiLineString one if more than one
    /// line survives.
    ///
    /// Parameters: `lines` in tile coordinates; the rest as in
    /// [`LayerBuilder::add_point`].
    ///
    /// Returns false, adding nothing, if no line has two distinct points.
    ///
    /// Algorithm: consecutive duplicate points are dropped, then each line
    /// with at least two points is written as `MoveTo(1) LineTo(n-1)`.
    pub fn add_linestring(
        &mut self,
        id: Option<u64>,
        lines: &[Vec<(i32, i32)>],
        props: &[(&'static str, PropValue<'_>)],
    ) -> bool {
        self.geometry.clear();
        let mut cursor = (0, 0);
        for line in lines {
            dedup_into(&mut self.ring, line);
            if self.ring.len() < 2 {
                continue;
            }
            write_path(&mut self.geometry, &mut cursor, &self.ring, false);
        }
        if self.geometry.is_empty() {
            return false;
        }
        self.finish_feature(id, GeomType::LineString, props);
        true
    }

    /// Adds a Polygon feature, or a MultiPolygon one if more than one
    /// polygon survives.
    ///
    /// Parameters: `polygons` is a list of polygons, each a list of rings in
    /// tile coordinates, the first ring the exterior and the rest its holes.
    /// Rings may be open or closed (first point repeated at the end) and in
    /// either orientation. The rest as in [`LayerBuilder::add_point`].
    ///
    /// Returns false, adding nothing, if no polygon is left after dropping
    /// degenerate rings.
    ///
    /// Algorithm: per ring, consecutive duplicates and the closing duplicate
    /// are dropped; a ring with fewer than 3 points or zero area is dropped
    /// (an exterior together with its holes). Rings are reversed where
    /// needed so that exteriors have positive and holes negative surveyor's
    /// area, then written as `MoveTo(1) LineTo(n-1) ClosePath(1)`.
    pub fn add_polygon(
        &mut self,
        id: Option<u64>,
        polygons: &[Vec<Vec<(i32, i32)>>],
        props: &[(&'static str, PropValue<'_>)],
    ) -> bool {
        self.geometry.clear();
        let mut cursor = (0, 0);
        for polygon in polygons {
            for (i, ring) in polygon.iter().enumerate() {
                dedup_into(&mut self.ring, ring);
                while self.ring.len() > 1 && self.ring.first() == self.ring.last() {
                    self.ring.pop();
                }
                let area = if self.ring.len() < 3 { 0 } else { signed_area2(&self.ring) };
                if area == 0 {
                    if i == 0 {
                        break; // no exterior: the holes have nothing to cut
                    }
                    continue;
                }
                let exterior = i == 0;
                if (area > 0) != exterior {
                    // Reverse in place but keep the start vertex.
                    self.ring[1..].reverse();
                }
                write_path(&mut self.geometry, &mut cursor, &self.ring, true);
            }
        }
        if self.geometry.is_empty() {
            return false;
        }
        self.finish_feature(id, GeomType::Polygon, props);
        true
    }

    /// Adds a Polygon feature of one axis-aligned square of side `size`
    /// whose top-left corner is `corner` (tile coordinates, y down): the
    /// bytes [`LayerBuilder::add_polygon`] writes for that square's ring,
    /// without building the ring (a grid cell layer adds one per cell).
    ///
    /// Returns false, adding nothing, if `size` is not positive.
    pub fn add_square(
        &mut self,
        id: Option<u64>,
        corner: (i32, i32),
        size: i32,
        props: &[(&'static str, PropValue<'_>)],
    ) -> bool {
        if size <= 0 {
            return false;
        }
        let (x, y) = corner;
        self.geometry.clear();
        // Clockwise on screen: the exterior's orientation.
        let ring = [(x, y), (x + size, y), (x + size, y + size), (x, y + size)];
        write_path(&mut self.geometry, &mut (0, 0), &ring, true);
        self.finish_feature(id, GeomType::Polygon, props);
        true
    }

    /// Index of `key`, the `position`-th property of a feature, in the
    /// layer's key table, adding it if new.
    fn key_index(&mut self, position: usize, key: &'static str) -> u32 {
        // The same text as last time at this position: a key is a name in
        // the program's read-only data, so where it is tells what it is.
        if let Some(&(at, hint)) = self.key_hints.get(position)
            && at == key.as_ptr() as usize
            && self.key_names.get(hint as usize).is_some_and(|k| k.len() == key.len())
        {
            return hint;
        }
        let i = match self.key_names.iter().position(|k| **k == *key) {
            Some(i) => i as u32,
            None => {
                write_bytes_field(&mut self.keys, LAYER_KEYS, key.as_bytes());
                self.key_names.push(key.into());
                self.key_names.len() as u32 - 1
            }
        };
        if position >= self.key_hints.len() {
            self.key_hints.resize(position + 1, (0, NO_INDEX));
        }
        self.key_hints[position] = (key.as_ptr() as usize, i);
        i
    }

    /// Index of `value` in the layer's value table, adding it if new.
    fn value_index(&mut self, value: PropValue<'_>) -> u32 {
        let scalar: ScalarKey = match value {
            PropValue::Str(s) => {
                if let Some(&i) = self.string_index.get(s) {
                    return i;
                }
                let i = self.push_value(value);
                self.string_index.insert(s.to_owned(), i);
                return i;
            }
            PropValue::Int(v) => (0, v as u64),
            PropValue::UInt(v) if v < SMALL_UINTS => {
                let slot = v as usize;
                if slot >= self.small_uints.len() {
                    // Grown to the largest value seen so far, so a layer of
                    // small counts clears a small table.
                    self.small_uints.resize((slot + 1).next_power_of_two(), NO_INDEX);
                }
                if self.small_uints[slot] == NO_INDEX {
                    self.small_uints[slot] = self.push_value(value);
                }
                return self.small_uints[slot];
            }
            PropValue::UInt(v) => (1, v),
            PropValue::Double(v) => (2, v.to_bits()),
            PropValue::Bool(v) => (3, u64::from(v)),
        };
        if let Some(&i) = self.scalar_index.get(&scalar) {
            return i;
        }
        let i = self.push_value(value);
        self.scalar_index.insert(scalar, i);
        i
    }

    /// Appends an encoded `Value` message to the value table.
    fn push_value(&mut self, value: PropValue<'_>) -> u32 {
        let buf = &mut self.values;
        match value {
            PropValue::Str(s) => {
                write_len_header(buf, LAYER_VALUES, len_field_size(VALUE_STRING, s.len()));
                write_bytes_field(buf, VALUE_STRING, s.as_bytes());
            }
            PropValue::Int(v) => {
                let z = zigzag64(v);
                write_len_header(buf, LAYER_VALUES, varint_field_size(VALUE_SINT, z));
                write_varint_field(buf, VALUE_SINT, z);
            }
            PropValue::UInt(v) => {
                write_len_header(buf, LAYER_VALUES, varint_field_size(VALUE_UINT, v));
                write_varint_field(buf, VALUE_UINT, v);
            }
            PropValue::Double(v) => {
                write_len_header(buf, LAYER_VALUES, 1 + 8);
                write_double_field(buf, VALUE_DOUBLE, v);
            }
            PropValue::Bool(v) => {
                write_len_header(buf, LAYER_VALUES, varint_field_size(VALUE_BOOL, u64::from(v)));
                write_varint_field(buf, VALUE_BOOL, u64::from(v));
            }
        }
        let i = self.value_count;
        self.value_count += 1;
        i
    }

    /// Encodes the feature whose commands are in `self.geometry` into the
    /// layer's feature buffer.
    fn finish_feature(&mut self, id: Option<u64>, kind: GeomType, props: &[(&'static str, PropValue<'_>)]) {
        // The packed payloads' lengths are summed as the tags are found, so
        // each list is read once more, to write it, into room reserved for
        // the whole feature.
        let mut tags = std::mem::take(&mut self.tags);
        tags.clear();
        let mut tags_len = 0;
        for (position, &(k, v)) in props.iter().enumerate() {
            let key = self.key_index(position, k);
            let value = self.value_index(v);
            tags_len += varint_len(u64::from(key)) + varint_len(u64::from(value));
            tags.push(key);
            tags.push(value);
        }
        let geometry_len = packed_len(&self.geometry);
        let packed = |field: u32, len: usize| if len == 0 { 0 } else { len_field_size(field, len) };
        let body = id.map_or(0, |id| varint_field_size(FEATURE_ID, id))
            + packed(FEATURE_TAGS, tags_len)
            + varint_field_size(FEATURE_TYPE, kind as u64)
            + packed(FEATURE_GEOMETRY, geometry_len);
        let buf = &mut self.features;
        buf.reserve(len_field_size(LAYER_FEATURES, body));
        write_len_header(buf, LAYER_FEATURES, body);
        if let Some(id) = id {
            write_varint_field(buf, FEATURE_ID, id);
        }
        write_packed_u32(buf, FEATURE_TAGS, &tags, tags_len);
        write_varint_field(buf, FEATURE_TYPE, kind as u64);
        write_packed_u32(buf, FEATURE_GEOMETRY, &self.geometry, geometry_len);

        self.tags = tags;
        self.feature_count += 1;
    }

    /// Size of the encoded Layer message body.
    fn body_len(&self) -> usize {
        len_field_size(LAYER_NAME, self.name.len())
            + self.features.len()
            + self.keys.len()
            + self.values.len()
            + varint_field_size(LAYER_EXTENT, u64::from(self.extent))
            + varint_field_size(LAYER_VERSION, u64::from(MVT_VERSION))
    }

    /// Appends the Layer message body (fields in the spec's declaration
    /// order: name, features, keys, values, extent, version).
    fn write_body(&self, buf: &mut Vec<u8>) {
        write_bytes_field(buf, LAYER_NAME, self.name.as_bytes());
        buf.extend_from_slice(&self.features);
        buf.extend_from_slice(&self.keys);
        buf.extend_from_slice(&self.values);
        write_varint_field(buf, LAYER_EXTENT, u64::from(self.extent));
        write_varint_field(buf, LAYER_VERSION, u64::from(MVT_VERSION));
    }
}

/// A builder kept by a thread whose buffers are larger than this is let go
/// after its tile rather than kept for the next.
const KEPT_BUILDER_ROOM: usize = 4 << 20;

thread_local! {
    /// The builder of the last one-layer tile this thread encoded.
    static BUILDER: std::cell::RefCell<Option<LayerBuilder>> = const { std::cell::RefCell::new(None) };
}

/// Encodes a tile of one layer `name` that `fill` adds the features of:
/// [`encode_tile`] of that layer, through a builder the thread keeps
/// between tiles, so a tile's buffers, tables and indexes are not grown
/// from empty every time (the tile endpoint's renders run on a few pool
/// threads).
pub fn encode_layer(name: &str, extent: u32, fill: impl FnOnce(&mut LayerBuilder)) -> Vec<u8> {
    let kept = BUILDER.with(|b| b.borrow_mut().take());
    let mut builder = match kept {
        Some(mut b) => {
            b.reset(name, extent);
            b
        }
        None => LayerBuilder::new(name, extent),
    };
    fill(&mut builder);
    let tile = encode_tile(std::slice::from_ref(&builder));
    if builder.room() <= KEPT_BUILDER_ROOM {
        BUILDER.with(|b| *b.borrow_mut() = Some(builder));
    }
    tile
}

/// Encodes a tile from its layers.
///
/// Returns the protobuf bytes (uncompressed). Layers without features are
/// omitted; if every layer is empty the result is an empty `Vec`, which is a
/// valid empty tile (the API may answer 204 for it).
///
/// Notes: layer names should be unique within a tile; this is not checked.
pub fn encode_tile(layers: &[LayerBuilder]) -> Vec<u8> {
    let total: usize = layers.iter().filter(|l| !l.is_empty()).map(|l| len_field_size(TILE_LAYERS, l.body_len())).sum();
    let mut buf = Vec::with_capacity(total);
    for layer in layers.iter().filter(|l| !l.is_empty()) {
        write_len_header(&mut buf, TILE_LAYERS, layer.body_len());
        layer.write_body(&mut buf);
    }
    debug_assert_eq!(buf.len(), total);
    buf
}

/// Command integer: `id` in the low 3 bits, repeat `count` above.
fn command(id: u32, count: usize) -> u32 {
    (id & 0x7) | ((count as u32) << 3)
}

/// Appends the zigzagged delta from `cursor` to `p` and moves the cursor.
///
/// Notes: deltas wrap in 32 bits, as the spec's parameter integers do; tile
/// coordinates are far below that range in practice.
fn push_delta(geometry: &mut Vec<u32>, cursor: &mut (i32, i32), p: (i32, i32)) {
    geometry.push(zigzag32(p.0.wrapping_sub(cursor.0)));
    geometry.push(zigzag32(p.1.wrapping_sub(cursor.1)));
    *cursor = p;
}

/// Writes `MoveTo(1) LineTo(n-1)` for `path` (n ≥ 2), plus `ClosePath(1)`
/// if `close`.
fn write_path(geometry: &mut Vec<u32>, cursor: &mut (i32, i32), path: &[(i32, i32)], close: bool) {
    geometry.push(command(CMD_MOVE_TO, 1));
    push_delta(geometry, cursor, path[0]);
    geometry.push(command(CMD_LINE_TO, path.len() - 1));
    for &p in &path[1..] {
        push_delta(geometry, cursor, p);
    }
    if close {
        geometry.push(command(CMD_CLOSE_PATH, 1));
    }
}

/// Copies `points` into `out` without consecutive duplicates.
fn dedup_into(out: &mut Vec<(i32, i32)>, points: &[(i32, i32)]) {
    out.clear();
    for &p in points {
        if out.last() != Some(&p) {
            out.push(p);
        }
    }
}

/// Twice the surveyor's-formula area of an open ring, in tile coordinates
/// (positive = clockwise on screen, y down).
///
/// Notes: computed in `i128` relative to the first point, so no input can
/// overflow.
pub(crate) fn signed_area2(ring: &[(i32, i32)]) -> i128 {
    let Some(&(x0, y0)) = ring.first() else {
        return 0;
    };
    let rel = |p: (i32, i32)| (i128::from(p.0) - i128::from(x0), i128::from(p.1) - i128::from(y0));
    let mut sum = 0i128;
    for w in ring.windows(2) {
        let (ax, ay) = rel(w[0]);
        let (bx, by) = rel(w[1]);
        sum += ax * by - bx * ay;
    }
    // The closing edge back to the first point contributes 0 relative to it.
    sum
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use geozero::mvt::{Message, Tile, tile};
    use geozero::{GeomProcessor, GeozeroGeometry};

    #[test]
    fn a_square_is_written_as_its_ring_would_be() {
        let props = [("count", PropValue::UInt(7)), ("top_field", PropValue::Str("0812"))];
        for (corner, size) in [((0, 0), 128), ((-64, 4032), 128), ((4000, -100), 4096), ((3, 5), 1)] {
            let (x, y) = corner;
            let ring = vec![(x, y), (x + size, y), (x + size, y + size), (x, y + size), (x, y)];
            let (mut a, mut b) = (LayerBuilder::new("cells", 4096), LayerBuilder::new("cells", 4096));
            // Twice each: the second feature's tags reuse the tables.
            for id in [1, 2] {
                assert!(a.add_square(Some(id), corner, size, &props));
                assert!(b.add_polygon(Some(id), &[vec![ring.clone()]], &props));
            }
            assert_eq!(encode_tile(&[a]), encode_tile(&[b]), "{corner:?} {size}");
        }
        assert!(!LayerBuilder::new("cells", 4096).add_square(None, (0, 0), 0, &props));
    }

    /// Geometry as geozero's MVT reader reports it.
    #[derive(Debug, Default)]
    struct Collected {
        kind: Option<&'static str>,
        points: Vec<(i32, i32)>,
        lines: Vec<Vec<(i32, i32)>>,
        polygons: Vec<Vec<Vec<(i32, i32)>>>,
    }

    impl GeomProcessor for Collected {
        fn xy(&mut self, x: f64, y: f64, _idx: usize) -> geozero::error::Result<()> {
            self.points.push((x as i32, y as i32));
            Ok(())
        }
        fn point_begin(&mut self, _idx: usize) -> geozero::error::Result<()> {
            self.kind.get_or_insert("Point");
            Ok(())
        }
        fn multipoint_begin(&mut self, _size: usize, _idx: usize) -> geozero::error::Result<()> {
            self.kind = Some("MultiPoint");
            Ok(())
        }
        fn linestring_begin(&mut self, tagged: bool, _size: usize, _idx: usize) -> geozero::error::Result<()> {
            if tagged {
                self.kind = Some("LineString");
            }
            self.points.clear();
            Ok(())
        }
        fn linestring_end(&mut self, _tagged: bool, _idx: usize) -> geozero::error::Result<()> {
            self.lines.push(std::mem::take(&mut self.points));
            Ok(())
        }
        fn multilinestring_begin(&mut self, _size: usize, _idx: usize) -> geozero::error::Result<()> {
            self.kind = Some("MultiLineString");
            Ok(())
        }
        fn polygon_begin(&mut self, tagged: bool, _size: usize, _idx: usize) -> geozero::error::Result<()> {
            if tagged {
                self.kind = Some("Polygon");
            }
            self.lines.clear();
            Ok(())
        }
        fn polygon_end(&mut self, _tagged: bool, _idx: usize) -> geozero::error::Result<()> {
            self.polygons.push(std::mem::take(&mut self.lines));
            Ok(())
        }
        fn multipolygon_begin(&mut self, _size: usize, _idx: usize) -> geozero::error::Result<()> {
            self.kind = Some("MultiPolygon");
            Ok(())
        }
    }

    fn geometry(feature: &tile::Feature) -> Collected {
        let mut c = Collected::default();
        feature.process_geom(&mut c).unwrap();
        c
    }

    /// Decoded properties as `(key, "type:value")`, type naming the Value
    /// field that was set.
    fn props(layer: &tile::Layer, feature: &tile::Feature) -> Vec<(String, String)> {
        feature
            .tags
            .chunks(2)
            .map(|kv| {
                let key = layer.keys[kv[0] as usize].clone();
                let v = &layer.values[kv[1] as usize];
                let set = [
                    v.string_value.is_some(),
                    v.float_value.is_some(),
                    v.double_value.is_some(),
                    v.int_value.is_some(),
                    v.uint_value.is_some(),
                    v.sint_value.is_some(),
                    v.bool_value.is_some(),
                ];
                assert_eq!(set.iter().filter(|&&b| b).count(), 1, "exactly one Value field set");
                let value = if let Some(s) = &v.string_value {
                    format!("str:{s}")
                } else if let Some(d) = v.double_value {
                    format!("double:{d}")
                } else if let Some(u) = v.uint_value {
                    format!("uint:{u}")
                } else if let Some(i) = v.sint_value {
                    format!("sint:{i}")
                } else if let Some(b) = v.bool_value {
                    format!("bool:{b}")
                } else {
                    panic!("unexpected value type {v:?}")
                };
                (key, value)
            })
            .collect()
    }

    fn owned(props: &[(&str, &str)]) -> Vec<(String, String)> {
        props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn area2(ring: &[(i32, i32)]) -> i128 {
        // geozero repeats the first point at the end; drop it.
        let open = if ring.len() > 1 && ring.first() == ring.last() { &ring[..ring.len() - 1] } else { ring };
        signed_area2(open)
    }

    #[test]
    fn points_lines_and_properties_round_trip_through_geozero() {
        let mut pois = LayerBuilder::new("pois", DEFAULT_EXTENT);
        assert!(pois.is_empty());
        assert!(pois.add_point(
            Some(7),
            &[(100, 200)],
            &[
                ("name", PropValue::Str("泉城广场")),
                ("count", PropValue::Int(-3)),
                ("staff", PropValue::UInt(12_000_000_000)),
                ("share", PropValue::Double(0.25)),
                ("listed", PropValue::Bool(true)),
            ],
        ));
        assert!(pois.add_point(None, &[(-10, 4100), (5, 5)], &[("name", "park".into()), ("count", 4i64.into())]));
        assert!(!pois.add_point(Some(9), &[], &[("unused", PropValue::Bool(false))]));
        assert_eq!(pois.len(), 2);

        let mut roads = LayerBuilder::new("roads", DEFAULT_EXTENT);
        assert!(roads.add_linestring(Some(1), &[vec![(0, 0), (0, 0), (10, 0), (10, 20)]], &[("name", "park".into())]));
        assert!(roads.add_linestring(
            Some(u64::MAX),
            &[vec![(1, 1), (2, 2)], vec![(5, 5)], vec![(-64, 4160), (3, 3)]],
            &[],
        ));
        assert!(!roads.add_linestring(Some(3), &[vec![(1, 1), (1, 1)]], &[]));
        let empty = LayerBuilder::new("nothing", DEFAULT_EXTENT);

        let bytes = encode_tile(&[pois, empty, roads]);
        let tile = Tile::decode(bytes.as_slice()).unwrap();
        assert_eq!(tile.layers.len(), 2, "empty layer omitted");

        let l = &tile.layers[0];
        assert_eq!((l.name.as_str(), l.version, l.extent), ("pois", 2, Some(4096)));
        assert_eq!(l.features.len(), 2);
        assert_eq!(l.keys, ["name", "count", "staff", "share", "listed"]);
        assert_eq!(l.values.len(), 7, "five values of feature 0, 'park' and 4");
        let f = &l.features[0];
        assert_eq!(f.id, Some(7));
        assert_eq!(f.r#type, Some(tile::GeomType::Point as i32));
        assert_eq!(
            props(l, f),
            owned(&[
                ("name", "str:泉城广场"),
                ("count", "sint:-3"),
                ("staff", "uint:12000000000"),
                ("share", "double:0.25"),
                ("listed", "bool:true"),
            ])
        );
        let g = geometry(f);
        assert_eq!((g.kind, g.points), (Some("Point"), vec![(100, 200)]));
        let f = &l.features[1];
        assert_eq!(f.id, None);
        assert_eq!(props(l, f), owned(&[("name", "str:park"), ("count", "sint:4")]));
        let g = geometry(f);
        assert_eq!((g.kind, g.points), (Some("MultiPoint"), vec![(-10, 4100), (5, 5)]));

        let l = &tile.layers[1];
        assert_eq!((l.name.as_str(), l.version, l.extent), ("roads", 2, Some(4096)));
        assert_eq!(l.features.len(), 2);
        let f = &l.features[0];
        assert_eq!((f.id, f.r#type), (Some(1), Some(tile::GeomType::Linestring as i32)));
        assert_eq!(props(l, f), owned(&[("name", "str:park")]));
        let g = geometry(f);
        assert_eq!((g.kind, g.lines), (Some("LineString"), vec![vec![(0, 0), (10, 0), (10, 20)]]));
        let f = &l.features[1];
        assert_eq!(f.id, Some(u64::MAX));
        assert!(f.tags.is_empty());
        let g = geometry(f);
        assert_eq!(g.kind, Some("MultiLineString"));
        assert_eq!(g.lines, vec![vec![(1, 1), (2, 2)], vec![(-64, 4160), (3, 3)]], "single-point line dropped");
    }

    #[test]
    fn spec_example_geometry_is_byte_exact() {
        // MVT 2.1 §4.3.5: "Example Polygon" → [9 6 12 18 10 12 24 44 15].
        let mut l = LayerBuilder::new("x", DEFAULT_EXTENT);
        assert!(l.add_polygon(None, &[vec![vec![(3, 6), (8, 12), (20, 34), (3, 6)]]], &[]));
        let tile = Tile::decode(encode_tile(&[l]).as_slice()).unwrap();
        assert_eq!(tile.layers[0].features[0].geometry, [9, 6, 12, 18, 10, 12, 24, 44, 15]);

        // §4.3.5 "Example Multi LineString".
        let mut l = LayerBuilder::new("x", DEFAULT_EXTENT);
        assert!(l.add_linestring(None, &[vec![(2, 2), (2, 10), (10, 10)], vec![(1, 1), (3, 5)]], &[]));
        let tile = Tile::decode(encode_tile(&[l]).as_slice()).unwrap();
        assert_eq!(tile.layers[0].features[0].geometry, [9, 4, 4, 18, 0, 16, 16, 0, 9, 17, 17, 10, 4, 8]);
    }

    #[test]
    fn polygons_get_mvt_winding_whatever_the_input_order() {
        // Exterior counter-clockwise on screen (negative area) and closed;
        // hole clockwise (positive) and open: both must be flipped.
        let exterior = vec![(0, 0), (0, 100), (100, 100), (100, 0), (0, 0)];
        let hole = vec![(20, 20), (80, 20), (80, 80), (20, 80)];
        // Second polygon with right orientations plus a degenerate hole.
        let second = vec![vec![(200, 0), (300, 0), (300, 50), (200, 50)], vec![(210, 10), (220, 10), (230, 10)]];
        // A polygon whose exterior is degenerate: dropped with its hole.
        let collapsed = vec![vec![(0, 0), (5, 5), (10, 10)], vec![(1, 1), (2, 1), (2, 2)]];

        let mut l = LayerBuilder::new("regions", DEFAULT_EXTENT);
        assert!(l.add_polygon(Some(42), &[vec![exterior, hole]], &[("kind", "district".into())]));
        assert!(l.add_polygon(Some(43), &[second, collapsed.clone()], &[("kind", "park".into())]));
        assert!(!l.add_polygon(Some(44), &[collapsed], &[]));
        assert!(!l.add_polygon(Some(45), &[vec![vec![(1, 1), (1, 1), (1, 1), (1, 1)]]], &[]));
        assert_eq!(l.len(), 2);

        let tile = Tile::decode(encode_tile(&[l]).as_slice()).unwrap();
        let l = &tile.layers[0];
        assert_eq!(l.features.len(), 2);

        let f = &l.features[0];
        assert_eq!((f.id, f.r#type), (Some(42), Some(tile::GeomType::Polygon as i32)));
        assert_eq!(props(l, f), owned(&[("kind", "str:district")]));
        let g = geometry(f);
        assert_eq!(g.kind, Some("Polygon"), "hole recognised as interior ring, not a second polygon");
        let rings = &g.polygons[0];
        assert_eq!(rings.len(), 2);
        assert_eq!(rings[0], [(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)]);
        assert_eq!(rings[1], [(20, 20), (20, 80), (80, 80), (80, 20), (20, 20)]);
        assert!(area2(&rings[0]) > 0 && area2(&rings[1]) < 0);
        assert_eq!(area2(&rings[0]), 2 * 100 * 100);

        let f = &l.features[1];
        let g = geometry(f);
        assert_eq!(g.kind, Some("Polygon"), "degenerate hole and collapsed polygon dropped");
        assert_eq!(g.polygons, [vec![vec![(200, 0), (300, 0), (300, 50), (200, 50), (200, 0)]]]);
    }

    #[test]
    fn multipolygon_keeps_each_exterior_with_its_holes() {
        let a = vec![vec![(0, 0), (10, 0), (10, 10), (0, 10)], vec![(2, 2), (2, 4), (4, 4), (4, 2)]];
        let b = vec![vec![(20, 20), (20, 30), (30, 30), (30, 20)]];
        let mut l = LayerBuilder::new("m", DEFAULT_EXTENT);
        assert!(l.add_polygon(None, &[a, b], &[]));
        let tile = Tile::decode(encode_tile(&[l]).as_slice()).unwrap();
        let g = geometry(&tile.layers[0].features[0]);
        assert_eq!(g.kind, Some("MultiPolygon"));
        assert_eq!(g.polygons.len(), 2);
        assert_eq!(g.polygons[0].len(), 2);
        assert_eq!(g.polygons[1].len(), 1);
        for (i, p) in g.polygons.iter().enumerate() {
            assert!(area2(&p[0]) > 0, "exterior {i}");
            assert!(p[1..].iter().all(|h| area2(h) < 0), "holes of {i}");
        }
    }

    #[test]
    fn keys_and_values_are_deduplicated_per_layer() {
        let mut l = LayerBuilder::new("d", DEFAULT_EXTENT);
        for i in 0..10u64 {
            let props = [
                ("a", PropValue::Str("x")),
                ("b", PropValue::UInt(i % 2)),
                ("c", PropValue::Double(-0.0)),
                ("d", PropValue::Int(1)),
                ("e", PropValue::UInt(1)),
            ];
            assert!(l.add_point(Some(i), &[(i as i32, 0)], &props));
        }
        let tile = Tile::decode(encode_tile(&[l]).as_slice()).unwrap();
        let l = &tile.layers[0];
        assert_eq!(l.keys.len(), 5);
        // "x", 0u, -0.0, 1i, 1u (shared by b and e).
        assert_eq!(l.values.len(), 5);
        assert_eq!(props(l, &l.features[3])[1], ("b".into(), "uint:1".into()));
        assert_eq!(props(l, &l.features[3])[4], ("e".into(), "uint:1".into()));
        assert_eq!(props(l, &l.features[3])[3], ("d".into(), "sint:1".into()));
    }

    #[test]
    fn keys_in_any_order_and_values_of_any_size_decode_as_given() {
        // Features whose key lists differ in order and length (the key hints
        // must not hand one key's index to another) and values on both sides
        // of the small values' table, in each variant.
        let mut l = LayerBuilder::new("o", DEFAULT_EXTENT);
        let mut expected = Vec::new();
        for i in 0..40u64 {
            let big = SMALL_UINTS - 2 + i;
            let mut p: Vec<(&str, PropValue)> = vec![
                ("count", PropValue::UInt(i * 97 % 5000)),
                ("big", PropValue::UInt(big)),
                ("signed", PropValue::Int(i as i64 - 20)),
                ("flag", PropValue::Bool(i % 3 == 0)),
            ];
            if i % 2 == 1 {
                p.reverse();
            }
            if i % 5 == 0 {
                p.remove(1);
            }
            if i % 7 == 0 {
                p.insert(0, ("name", PropValue::Str("west")));
            }
            assert!(l.add_point(Some(i), &[(0, 0)], &p));
            let text = |v: &PropValue| match v {
                PropValue::UInt(v) => format!("uint:{v}"),
                PropValue::Int(v) => format!("sint:{v}"),
                PropValue::Bool(v) => format!("bool:{v}"),
                PropValue::Str(v) => format!("str:{v}"),
                PropValue::Double(v) => format!("double:{v}"),
            };
            expected.push(p.iter().map(|(k, v)| (k.to_string(), text(v))).collect::<Vec<_>>());
        }
        let tile = Tile::decode(encode_tile(&[l]).as_slice()).unwrap();
        let l = &tile.layers[0];
        assert_eq!(l.keys.len(), 5);
        let mut seen = l.keys.clone();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 5, "each key once");
        for (f, want) in l.features.iter().zip(&expected) {
            assert_eq!(&props(l, f), want, "feature {:?}", f.id);
        }
        // One table entry per distinct value: no value written twice.
        let mut values: Vec<String> = l.values.iter().map(|v| format!("{v:?}")).collect();
        let n = values.len();
        values.sort();
        values.dedup();
        assert_eq!(values.len(), n);
    }

    #[test]
    fn a_kept_builder_writes_what_a_new_one_writes() {
        // Two tiles of one thread, the second with other keys in another
        // order, other values and another name and extent: nothing of the
        // first (keys, hints, values, small numbers' table) leaks into it.
        let first = |l: &mut LayerBuilder| {
            for i in 0..300u64 {
                let props = [
                    ("count", PropValue::UInt(i * 7)),
                    ("name", PropValue::Str(if i % 2 == 0 { "east" } else { "west" })),
                    ("share", PropValue::Double(i as f64 / 8.0)),
                ];
                l.add_square(Some(i), ((i % 16) as i32 * 256, (i / 16) as i32 * 256), 256, &props);
            }
        };
        let second = |l: &mut LayerBuilder| {
            for i in 0..50u64 {
                let props = [
                    ("name", PropValue::Str("north")),
                    ("count", PropValue::UInt(i % 3)),
                    ("big", PropValue::UInt(SMALL_UINTS + i)),
                ];
                l.add_point(Some(i), &[(i as i32, 2 * i as i32)], &props);
            }
        };
        let fresh = |name: &str, extent: u32, fill: &dyn Fn(&mut LayerBuilder)| {
            let mut l = LayerBuilder::new(name, extent);
            fill(&mut l);
            encode_tile(&[l])
        };
        let a = encode_layer("a", DEFAULT_EXTENT, first);
        let b = encode_layer("b", 512, second);
        let a_again = encode_layer("a", DEFAULT_EXTENT, first);
        assert_eq!(a, fresh("a", DEFAULT_EXTENT, &first));
        assert_eq!(b, fresh("b", 512, &second));
        assert_eq!(a_again, a);
        let tile = Tile::decode(b.as_slice()).unwrap();
        assert_eq!((tile.layers[0].name.as_str(), tile.layers[0].extent), ("b", Some(512)));
        assert_eq!(tile.layers[0].keys, ["name", "count", "big"]);
        assert!(encode_layer("empty", DEFAULT_EXTENT, |_| {}).is_empty());
    }

    #[test]
    fn empty_tile_is_empty_bytes() {
        assert!(encode_tile(&[]).is_empty());
        assert!(encode_tile(&[LayerBuilder::new("a", 4096), LayerBuilder::new("b", 512)]).is_empty());
    }
}
