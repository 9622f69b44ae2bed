//! PMTiles v3 archives: every tile of a layer in one file that a static
//! host or a content network serves with HTTP range requests.
//!
//! Layout (the PMTiles v3 specification, github.com/protomaps/PMTiles,
//! `spec/v3/spec.md`): a 127-byte header, the root directory, the metadata
//! (JSON), the leaf directories, the tile data. Tiles are addressed by
//! their Hilbert tile id ([`tile_id`]); a directory entry covers a run of
//! consecutive ids with the same bytes. The archive is clustered (tile data
//! in id order, a repeated tile stored once), its directories and metadata
//! are gzip-compressed, and the header with the root directory fits in the
//! first 16,384 bytes, so a reader's first request gets both.

use std::collections::HashMap;
use std::io::{self, Write};

use sha2::{Digest, Sha256};

/// Bytes of the header.
pub const HEADER_LEN: usize = 127;
/// The header and the root directory fit in this many bytes.
const ROOT_BUDGET: usize = 16_384;
/// Compression codes of the header.
const GZIP: u8 = 2;
/// Tile type code of Mapbox Vector Tiles.
const MVT: u8 = 1;

/// The tile id of `z/x/y`: the number of tiles at lower zooms plus the
/// position of `(x, y)` along the Hilbert curve of zoom `z`.
pub fn tile_id(z: u8, x: u32, y: u32) -> u64 {
    let below = ((1u64 << (2 * z as u32)) - 1) / 3;
    let n = 1u64 << z;
    let (mut x, mut y) = (x as u64, y as u64);
    let mut d = 0u64;
    let mut s = n / 2;
    while s > 0 {
        let rx = u64::from(x & s > 0);
        let ry = u64::from(y & s > 0);
        d += s * s * ((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = n - 1 - x;
                y = n - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    below + d
}

/// What the header says about the archive besides its sections.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArchiveInfo {
    pub minzoom: u8,
    pub maxzoom: u8,
    /// West, south, east, north in degrees.
    pub bounds: [f64; 4],
    /// Longitude, latitude and zoom a viewer opens at.
    pub center: (f64, f64, u8),
}

/// Counts of a written archive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArchiveSummary {
    /// Tiles a reader finds (runs counted tile by tile).
    pub addressed: u64,
    /// Directory entries.
    pub entries: u64,
    /// Distinct tile contents stored.
    pub contents: u64,
    /// Leaf directories (0 when the root holds every entry).
    pub leaves: u64,
    /// Bytes of the whole archive.
    pub bytes: u64,
}

/// One directory entry: `run_length` tiles from `tile_id` on share the
/// bytes at `offset` (0 for an entry that points at a leaf directory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    tile_id: u64,
    offset: u64,
    length: u32,
    run_length: u32,
}

/// Collects compressed tiles in any order and writes the archive.
#[derive(Default)]
pub struct ArchiveWriter {
    tiles: Vec<(u64, Vec<u8>)>,
}

impl ArchiveWriter {
    pub fn new() -> ArchiveWriter {
        ArchiveWriter::default()
    }

    /// Adds the gzip-compressed bytes of tile `z/x/y`; empty tiles are
    /// left out (a reader takes a missing tile as empty).
    pub fn add(&mut self, z: u8, x: u32, y: u32, gzipped: Vec<u8>) {
        if !gzipped.is_empty() {
            self.tiles.push((tile_id(z, x, y), gzipped));
        }
    }

    /// Writes the archive with `metadata` (a JSON object) to `out`.
    pub fn write(mut self, info: &ArchiveInfo, metadata: &[u8], out: &mut impl Write) -> io::Result<ArchiveSummary> {
        self.tiles.sort_by_key(|t| t.0);
        if self.tiles.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a tile was added twice"));
        }
        // Tile data in id order; a content seen before points back at its
        // first copy, and a run of equal tiles is one entry.
        let mut data: Vec<u8> = Vec::new();
        let mut seen: HashMap<[u8; 32], (u64, u32)> = HashMap::new();
        let mut entries: Vec<Entry> = Vec::new();
        let mut addressed = 0u64;
        for (id, bytes) in &self.tiles {
            addressed += 1;
            let digest: [u8; 32] = Sha256::digest(bytes).into();
            let (offset, length) = match seen.get(&digest) {
                Some(&at) => at,
                None => {
                    let at = (data.len() as u64, len_u32(bytes.len())?);
                    data.extend_from_slice(bytes);
                    seen.insert(digest, at);
                    at
                }
            };
            if let Some(last) = entries.last_mut()
                && last.offset == offset
                && last.length == length
                && last.tile_id + u64::from(last.run_length) == *id
            {
                last.run_length += 1;
                continue;
            }
            entries.push(Entry { tile_id: *id, offset, length, run_length: 1 });
        }
        let (root, leaves, leaf_count) = directories(&entries)?;
        let metadata = gzip(metadata);

        let root_offset = HEADER_LEN as u64;
        let metadata_offset = root_offset + root.len() as u64;
        let leaves_offset = metadata_offset + metadata.len() as u64;
        let data_offset = leaves_offset + leaves.len() as u64;
        let sections = Sections {
            root: (root_offset, root.len() as u64),
            metadata: (metadata_offset, metadata.len() as u64),
            leaves: (leaves_offset, leaves.len() as u64),
            data: (data_offset, data.len() as u64),
        };
        let counts = [addressed, entries.len() as u64, seen.len() as u64];
        out.write_all(&header(info, &sections, counts))?;
        out.write_all(&root)?;
        out.write_all(&metadata)?;
        out.write_all(&leaves)?;
        out.write_all(&data)?;
        Ok(ArchiveSummary {
            addressed,
            entries: entries.len() as u64,
            contents: seen.len() as u64,
            leaves: leaf_count,
            bytes: data_offset + data.len() as u64,
        })
    }
}

fn len_u32(n: usize) -> io::Result<u32> {
    u32::try_from(n).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a tile is larger than 4 GiB"))
}

/// Offsets and lengths of the four sections.
struct Sections {
    root: (u64, u64),
    metadata: (u64, u64),
    leaves: (u64, u64),
    data: (u64, u64),
}

fn header(info: &ArchiveInfo, s: &Sections, [addressed, entries, contents]: [u64; 3]) -> [u8; HEADER_LEN] {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(b"PMTiles");
    h.push(3);
    for v in [
        s.root.0,
        s.root.1,
        s.metadata.0,
        s.metadata.1,
        s.leaves.0,
        s.leaves.1,
        s.data.0,
        s.data.1,
        addressed,
        entries,
        contents,
    ] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    // Clustered; directories and tiles gzip-compressed; vector tiles.
    h.extend_from_slice(&[1, GZIP, GZIP, MVT, info.minzoom, info.maxzoom]);
    let [w, south, e, n] = info.bounds;
    for v in [w, south, e, n] {
        h.extend_from_slice(&e7(v).to_le_bytes());
    }
    h.push(info.center.2);
    h.extend_from_slice(&e7(info.center.0).to_le_bytes());
    h.extend_from_slice(&e7(info.center.1).to_le_bytes());
    let mut out = [0u8; HEADER_LEN];
    out.copy_from_slice(&h);
    out
}

/// Degrees as the header's integer ten-millionths.
fn e7(deg: f64) -> i32 {
    (deg * 1e7).round().clamp(i32::MIN as f64, i32::MAX as f64) as i32
}

/// The root directory and the leaf directories (and how many leaves): the
/// root alone when it fits beside the header, else leaves of a size that
/// doubles until the root of pointers to them fits.
fn directories(entries: &[Entry]) -> io::Result<(Vec<u8>, Vec<u8>, u64)> {
    let root = gzip(&serialize(entries));
    if HEADER_LEN + root.len() <= ROOT_BUDGET {
        return Ok((root, Vec::new(), 0));
    }
    let mut leaf_size = 4096usize;
    loop {
        let mut leaves = Vec::new();
        let mut pointers = Vec::new();
        for chunk in entries.chunks(leaf_size) {
            let leaf = gzip(&serialize(chunk));
            pointers.push(Entry {
                tile_id: chunk[0].tile_id,
                offset: leaves.len() as u64,
                length: len_u32(leaf.len())?,
                run_length: 0,
            });
            leaves.extend_from_slice(&leaf);
        }
        let root = gzip(&serialize(&pointers));
        if HEADER_LEN + root.len() <= ROOT_BUDGET {
            return Ok((root, leaves, pointers.len() as u64));
        }
        leaf_size *= 2;
    }
}

/// A directory's bytes before compression: the count, then the tile ids
/// as differences, the run lengths, the lengths, and the offsets (0 when
/// an entry's bytes follow the previous entry's, else offset + 1).
fn serialize(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 6 + 8);
    varint(&mut out, entries.len() as u64);
    let mut last = 0u64;
    for e in entries {
        varint(&mut out, e.tile_id - last);
        last = e.tile_id;
    }
    for e in entries {
        varint(&mut out, u64::from(e.run_length));
    }
    for e in entries {
        varint(&mut out, u64::from(e.length));
    }
    for (i, e) in entries.iter().enumerate() {
        let follows = i > 0 && e.offset == entries[i - 1].offset + u64::from(entries[i - 1].length);
        varint(&mut out, if follows { 0 } else { e.offset + 1 });
    }
    out
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Gzip at the default level (archives are written once and read often).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    super::gzip(bytes, 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_ids_follow_the_hilbert_curve_zoom_by_zoom() {
        // The examples of the specification.
        assert_eq!(tile_id(0, 0, 0), 0);
        assert_eq!(tile_id(1, 0, 0), 1);
        assert_eq!(tile_id(1, 0, 1), 2);
        assert_eq!(tile_id(1, 1, 1), 3);
        assert_eq!(tile_id(1, 1, 0), 4);
        assert_eq!(tile_id(2, 0, 0), 5);
        assert_eq!(tile_id(12, 3423, 1763), 19_078_479);
        // Every id of a zoom is used once, after the lower zooms'.
        for z in 0..5u8 {
            let n = 1u32 << z;
            let mut ids: Vec<u64> = (0..n).flat_map(|x| (0..n).map(move |y| tile_id(z, x, y))).collect();
            ids.sort_unstable();
            let first = ((1u64 << (2 * z)) - 1) / 3;
            assert_eq!(ids, (first..first + u64::from(n) * u64::from(n)).collect::<Vec<_>>());
        }
    }

    fn info() -> ArchiveInfo {
        ArchiveInfo { minzoom: 0, maxzoom: 3, bounds: [116.8, 36.5, 117.3, 36.8], center: (117.0, 36.65, 2) }
    }

    #[test]
    fn header_records_sections_counts_and_extent() {
        let mut w = ArchiveWriter::new();
        w.add(1, 1, 0, gzip(b"a"));
        w.add(1, 0, 0, gzip(b"b"));
        w.add(1, 0, 1, gzip(b"b"));
        w.add(2, 0, 0, Vec::new());
        let mut out = Vec::new();
        let s = w.write(&info(), br#"{"name":"t"}"#, &mut out).unwrap();
        assert_eq!(s.bytes as usize, out.len());
        assert_eq!((s.addressed, s.contents, s.leaves), (3, 2, 0));
        // Tiles 1 and 2 hold the same bytes: one entry of run length 2.
        assert_eq!(s.entries, 2);
        assert_eq!(&out[..7], b"PMTiles");
        assert_eq!(out[7], 3);
        let u64_at = |i: usize| u64::from_le_bytes(out[i..i + 8].try_into().unwrap());
        let i32_at = |i: usize| i32::from_le_bytes(out[i..i + 4].try_into().unwrap());
        assert_eq!(u64_at(8), HEADER_LEN as u64);
        assert_eq!(u64_at(56) + u64_at(64), out.len() as u64);
        assert_eq!((u64_at(72), u64_at(80), u64_at(88)), (3, 2, 2));
        assert_eq!(&out[96..102], &[1, GZIP, GZIP, MVT, 0, 3]);
        assert_eq!(i32_at(102), 1_168_000_000);
        assert_eq!(i32_at(114), 368_000_000);
        assert_eq!(out[118], 2);
    }

    #[test]
    fn many_tiles_go_to_leaf_directories_and_the_root_stays_in_the_first_block() {
        let mut w = ArchiveWriter::new();
        let z = 10u8;
        let mut n = 0u64;
        for x in 0..400u32 {
            for y in 0..400u32 {
                // Scattered tiles of scattered sizes, so the directory
                // does not compress to nothing.
                let h = x.wrapping_mul(2_654_435_761).wrapping_add(y.wrapping_mul(40_503)) >> 7;
                if h % 3 == 0 {
                    w.add(z, x, y, vec![b'x'; 1 + (h % 251) as usize]);
                    n += 1;
                }
            }
        }
        let mut out = Vec::new();
        let s = w.write(&info(), b"{}", &mut out).unwrap();
        assert_eq!(s.addressed, n);
        assert!(s.leaves > 1, "{s:?}");
        let root_len = u64::from_le_bytes(out[16..24].try_into().unwrap()) as usize;
        assert!(HEADER_LEN + root_len <= ROOT_BUDGET);
    }

    #[test]
    fn the_same_tile_added_twice_is_refused() {
        let mut w = ArchiveWriter::new();
        w.add(3, 1, 1, b"x".to_vec());
        w.add(3, 1, 1, b"y".to_vec());
        assert!(w.write(&info(), b"{}", &mut Vec::new()).is_err());
    }
}
