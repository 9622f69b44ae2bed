//! Output encodings for map clients.
//!
//! The API answers tile requests with Mapbox Vector Tiles; this module holds
//! the pieces that turn tile-coordinate geometry and properties into tile
//! bytes: a protobuf wire writer, the MVT layer/tile encoder on top of it,
//! and the clipping/simplification that brings lon/lat geometry into a
//! tile's integer frame.

pub mod clip;
pub mod mvt;
pub mod protobuf;

pub use clip::{
    clip_line, clip_polygon, line_to_tile, point_in_box, point_to_tile, polygon_to_tile, simplify_line, simplify_ring,
};
pub use mvt::{DEFAULT_EXTENT, GeomType, LayerBuilder, MVT_VERSION, PropValue, encode_tile};
pub mod commute;
pub mod layers;
pub mod pmtiles;
pub mod shortage;

/// Gzip of `raw` at `level`. Writing to memory cannot fail, so neither can
/// this; the tile cache uses the fast level, archives the default one.
pub fn gzip(raw: &[u8], level: flate2::Compression) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(raw.len() / 3 + 64), level);
    let _ = enc.write_all(raw);
    enc.finish().unwrap_or_default()
}

/// [`gzip`] by a compressor kept per thread and reset between bodies, for
/// the many small bodies of the tile cache: a new compressor allocates and
/// zeroes a few hundred KiB of window and hash tables, more than the work
/// of compressing a tile of a few KiB.
pub fn gzip_reused(raw: &[u8], level: u32) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress, Status};
    thread_local! {
        static KEPT: std::cell::RefCell<Option<(u32, Compress)>> = const { std::cell::RefCell::new(None) };
    }
    KEPT.with_borrow_mut(|kept| {
        let compress = match kept {
            Some((l, c)) if *l == level => {
                c.reset();
                c
            }
            _ => &mut kept.insert((level, Compress::new_gzip(Compression::new(level), 15))).1,
        };
        let mut out = Vec::with_capacity(raw.len() / 2 + 64);
        loop {
            let read = usize::try_from(compress.total_in()).unwrap_or(usize::MAX).min(raw.len());
            match compress.compress_vec(&raw[read..], &mut out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => return out,
                Ok(_) => out.reserve(out.capacity().max(64)),
                // Not reached with a finishing flush and room to write; a
                // fresh encoder then.
                Err(_) => {
                    *kept = None;
                    return gzip(raw, Compression::new(level));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn a_reused_compressor_gives_each_body_whole() {
        let bodies: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"a tile".to_vec(),
            (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect(),
            (0..3_000u32).map(|i| (i % 17) as u8).collect(),
        ];
        for level in [2, 6, 2] {
            for body in &bodies {
                let gz = gzip_reused(body, level);
                let mut back = Vec::new();
                flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut back).unwrap();
                assert_eq!(&back, body, "level {level}, {} bytes", body.len());
            }
        }
    }
}
