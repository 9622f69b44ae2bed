//! Reading PMTiles v3 archives (the layout [`crate::encode::pmtiles`]
//! writes): the header and root directory once at open, leaf directories on
//! demand (kept, bounded), tiles with positioned reads of the file.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::encode::pmtiles::{HEADER_LEN, tile_id};

use super::{BasemapError, BasemapInfo, Schema, StoredTile, layer_names};

/// Leaf directories kept in memory at most.
const LEAVES_KEPT: usize = 4096;
/// Largest tile or directory read: a corrupt entry cannot make a request
/// allocate more.
const MAX_READ: u64 = 16 << 20;

/// A decoded directory, shared by the lookups that use it.
type Directory = Arc<Vec<Entry>>;

#[derive(Debug, Clone, Copy)]
struct Entry {
    tile_id: u64,
    offset: u64,
    length: u64,
    run_length: u64,
}

pub struct PmtilesFile {
    path: PathBuf,
    file: File,
    internal: u8,
    tile_compression: u8,
    leaves_offset: u64,
    data_offset: u64,
    root: Vec<Entry>,
    leaves: Mutex<HashMap<(u64, u64), Directory>>,
    pub info: BasemapInfo,
}

impl PmtilesFile {
    pub fn open(path: &Path) -> Result<PmtilesFile, BasemapError> {
        let invalid = |message: String| BasemapError::Invalid { path: path.to_path_buf(), message };
        let io = |source| BasemapError::Io { path: path.to_path_buf(), source };
        let file = File::open(path).map_err(io)?;
        let mut h = [0u8; HEADER_LEN];
        file.read_exact_at(&mut h, 0).map_err(|_| invalid("shorter than a PMTiles header".into()))?;
        if &h[..7] != b"PMTiles" || h[7] != 3 {
            return Err(invalid("not a PMTiles version 3 archive".into()));
        }
        let u64_at = |i: usize| u64::from_le_bytes(h[i..i + 8].try_into().unwrap_or([0; 8]));
        let i32_at = |i: usize| f64::from(i32::from_le_bytes(h[i..i + 4].try_into().unwrap_or([0; 4]))) / 1e7;
        let (internal, tile_compression, tile_type) = (h[97], h[98], h[99]);
        if tile_type != 1 {
            return Err(invalid(format!("holds tiles of type {tile_type}, not vector tiles (1)")));
        }
        for (what, c) in [("directory", internal), ("tile", tile_compression)] {
            if c > 2 {
                return Err(invalid(format!(
                    "{what} compression {c} is not supported (none or gzip; rewrite the archive with gzip)"
                )));
            }
        }
        let read = |offset: u64, len: u64| -> Result<Vec<u8>, BasemapError> {
            let mut buf = vec![0u8; usize::try_from(len).map_err(|_| invalid("a section is too large".into()))?];
            file.read_exact_at(&mut buf, offset).map_err(io)?;
            decompress(&buf, internal).map_err(io)
        };
        let root =
            deserialize(&read(u64_at(8), u64_at(16))?).ok_or_else(|| invalid("root directory is corrupt".into()))?;
        let metadata: serde_json::Value = match u64_at(32) {
            0 => serde_json::Value::Null,
            len => serde_json::from_slice(&read(u64_at(24), len)?)
                .map_err(|e| invalid(format!("metadata is not JSON: {e}")))?,
        };
        let vector_layers = metadata.get("vector_layers").cloned().unwrap_or(serde_json::Value::Array(Vec::new()));
        let bounds = [i32_at(102), i32_at(106), i32_at(110), i32_at(114)];
        let info = BasemapInfo {
            schema: Schema::of(&layer_names(&vector_layers)),
            minzoom: h[100],
            maxzoom: h[101],
            bounds: (bounds[0] < bounds[2] && bounds[1] < bounds[3]).then_some(bounds),
            attribution: metadata.get("attribution").and_then(|v| v.as_str()).map(String::from),
            vector_layers,
        };
        Ok(PmtilesFile {
            path: path.to_path_buf(),
            internal,
            tile_compression,
            leaves_offset: u64_at(40),
            data_offset: u64_at(56),
            root,
            leaves: Mutex::new(HashMap::new()),
            info,
            file,
        })
    }

    pub fn tile(&self, z: u8, x: u32, y: u32) -> Result<Option<StoredTile>, BasemapError> {
        let io = |source| BasemapError::Io { path: self.path.clone(), source };
        let id = tile_id(z, x, y);
        let mut leaf: Option<Directory> = None;
        for _depth in 0..4 {
            let entries: &[Entry] = leaf.as_deref().map_or(&self.root, |v| v.as_slice());
            let Some(e) = find(entries, id) else { return Ok(None) };
            if e.length > MAX_READ {
                return Err(BasemapError::Invalid {
                    path: self.path.clone(),
                    message: format!("an entry for tile {z}/{x}/{y} is {} bytes long; the file is corrupt", e.length),
                });
            }
            if e.run_length > 0 {
                let mut bytes = vec![0u8; e.length as usize];
                self.file.read_exact_at(&mut bytes, self.data_offset + e.offset).map_err(io)?;
                return Ok(Some(StoredTile { gzip: self.tile_compression == 2 || super::is_gzip(&bytes), bytes }));
            }
            leaf = Some(self.leaf(e.offset, e.length)?);
        }
        Ok(None)
    }

    fn leaf(&self, offset: u64, length: u64) -> Result<Directory, BasemapError> {
        let key = (offset, length);
        if let Some(d) = self.leaves.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(d);
        }
        let io = |source| BasemapError::Io { path: self.path.clone(), source };
        let mut buf = vec![0u8; length as usize];
        self.file.read_exact_at(&mut buf, self.leaves_offset + offset).map_err(io)?;
        let entries = deserialize(&decompress(&buf, self.internal).map_err(io)?).ok_or_else(|| {
            BasemapError::Invalid { path: self.path.clone(), message: format!("leaf directory at {offset} is corrupt") }
        })?;
        let d = Arc::new(entries);
        if let Ok(mut m) = self.leaves.lock() {
            if m.len() >= LEAVES_KEPT {
                m.clear();
            }
            m.insert(key, d.clone());
        }
        Ok(d)
    }
}

fn decompress(bytes: &[u8], compression: u8) -> std::io::Result<Vec<u8>> {
    if compression == 2 {
        let mut out = Vec::with_capacity(bytes.len() * 3);
        flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
        Ok(out)
    } else {
        Ok(bytes.to_vec())
    }
}

/// The entry whose tiles hold `id`, or the leaf that may: the last entry
/// with a tile id at most `id`.
fn find(entries: &[Entry], id: u64) -> Option<Entry> {
    let i = entries.partition_point(|e| e.tile_id <= id).checked_sub(1)?;
    let e = entries[i];
    (e.run_length == 0 || id < e.tile_id + e.run_length).then_some(e)
}

fn deserialize(mut buf: &[u8]) -> Option<Vec<Entry>> {
    fn varint(buf: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = buf.split_first()?;
            *buf = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }
    let n = usize::try_from(varint(&mut buf)?).ok()?;
    if n > buf.len() {
        return None;
    }
    let mut entries = vec![Entry { tile_id: 0, offset: 0, length: 0, run_length: 0 }; n];
    let mut last = 0u64;
    for e in entries.iter_mut() {
        last = last.checked_add(varint(&mut buf)?)?;
        e.tile_id = last;
    }
    for e in entries.iter_mut() {
        e.run_length = varint(&mut buf)?;
    }
    for e in entries.iter_mut() {
        e.length = varint(&mut buf)?;
    }
    for i in 0..n {
        let v = varint(&mut buf)?;
        entries[i].offset = match (v, i) {
            (0, i) if i > 0 => entries[i - 1].offset + entries[i - 1].length,
            (0, _) => return None,
            (v, _) => v - 1,
        };
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::pmtiles::{ArchiveInfo, ArchiveWriter, gzip};

    #[test]
    fn what_the_writer_wrote_is_found_again_through_leaf_directories() {
        let mut w = ArchiveWriter::new();
        let z = 10u8;
        let mut written = Vec::new();
        let content = |x: u32, y: u32, h: u32| format!("{x}/{y}/{}", "x".repeat((h % 97) as usize));
        for x in 0..400u32 {
            for y in 0..400u32 {
                // Scattered tiles of scattered sizes: a directory too large for the root.
                let h = x.wrapping_mul(2_654_435_761).wrapping_add(y.wrapping_mul(40_503)) >> 7;
                if h % 3 == 0 {
                    w.add(z, x, y, gzip(content(x, y, h).as_bytes()));
                    written.push((x, y, h));
                }
            }
        }
        let meta = br#"{"vector_layers":[{"id":"water"},{"id":"transportation"}],"attribution":"test"}"#;
        let info = ArchiveInfo { minzoom: 0, maxzoom: z, bounds: [116.0, 36.0, 118.0, 37.5], center: (117.0, 36.7, 8) };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.pmtiles");
        let summary = w.write(&info, meta, &mut std::fs::File::create(&path).unwrap()).unwrap();
        assert!(summary.leaves > 0);
        let f = PmtilesFile::open(&path).unwrap();
        assert_eq!(f.info.schema, Schema::OpenMapTiles);
        assert_eq!((f.info.minzoom, f.info.maxzoom), (0, 10));
        assert_eq!(f.info.attribution.as_deref(), Some("test"));
        for &(x, y, h) in written.iter().step_by(37) {
            let t = f.tile(z, x, y).unwrap().unwrap();
            assert!(t.gzip);
            let mut raw = String::new();
            flate2::read::GzDecoder::new(&t.bytes[..]).read_to_string(&mut raw).unwrap();
            assert_eq!(raw, content(x, y, h));
        }
        let missing = (0..400u32).find(|&y| (0u32.wrapping_add(y.wrapping_mul(40_503)) >> 7) % 3 != 0).unwrap();
        assert!(f.tile(z, 0, missing).unwrap().is_none(), "0/{missing} was not written");
        assert!(f.tile(3, 0, 0).unwrap().is_none());
    }

    #[test]
    fn other_files_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.pmtiles");
        std::fs::write(&path, b"not an archive").unwrap();
        let err = PmtilesFile::open(&path).err().unwrap().to_string();
        assert!(err.contains("shorter than a PMTiles header"), "{err}");
        std::fs::write(&path, [b"PMTiles\x02".as_slice(), &[0u8; 200]].concat()).unwrap();
        let err = PmtilesFile::open(&path).err().unwrap().to_string();
        assert!(err.contains("not a PMTiles version 3"), "{err}");
    }
}
