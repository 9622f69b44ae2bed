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
pub use mvt::{DEFAULT_EXTENT, GeomType, LayerBuilder, MVT_VERSION, PropValue, encode_layer, encode_tile};
pub mod commute;
pub mod layers;
pub mod pmtiles;
pub mod shortage;

/// Gzip of `raw` at `level` (libdeflate's levels, 1 fastest to 12
/// smallest). Writing to memory cannot fail, so neither can this; the tile
/// cache uses level 1, archives level 6.
///
/// libdeflate compresses a whole buffer at once, with no streaming state to
/// keep: on the tiles of the load test it is about 1.8 times as fast at
/// level 1 as zlib-rs at its level 2, and 4 % smaller (BENCHMARKS.md). Each
/// thread keeps one compressor per level instead of allocating its tables
/// for every tile.
pub fn gzip(raw: &[u8], level: u8) -> Vec<u8> {
    use libdeflater::{CompressionLvl, Compressor};
    thread_local! {
        static COMPRESSORS: std::cell::RefCell<Vec<(u8, Compressor)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let level = level.clamp(1, 12);
    COMPRESSORS.with(|compressors| {
        let mut compressors = compressors.borrow_mut();
        let at = match compressors.iter().position(|(l, _)| *l == level) {
            Some(at) => at,
            None => {
                let lvl = CompressionLvl::new(i32::from(level)).unwrap_or_default();
                compressors.push((level, Compressor::new(lvl)));
                compressors.len() - 1
            }
        };
        let compressor = &mut compressors[at].1;
        let bound = compressor.gzip_compress_bound(raw.len());
        // Compressed into the thread's scratch buffer (zeroed once, when it
        // grows) and copied out at its length.
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            if scratch.len() < bound {
                scratch.resize(bound, 0);
            }
            // The bound is libdeflate's own for this input: it always fits.
            let n = compressor.gzip_compress(raw, &mut scratch[..bound]).unwrap_or(0);
            let out = scratch[..n].to_vec();
            if scratch.len() > KEPT_SCRATCH {
                *scratch = Vec::new();
            }
            out
        })
    })
}

/// A gzip scratch buffer larger than this (an archive's big tile) is let go
/// after use.
const KEPT_SCRATCH: usize = 4 << 20;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::gzip;

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn gzip_round_trips_through_an_independent_decoder() {
        let text: Vec<u8> = (0..200_000u32).flat_map(|i| format!("{} ", i % 977 * 31).into_bytes()).collect();
        // The compressor kept by the thread serves inputs of every size,
        // one after the other, at two levels.
        for level in [1, 6, 1] {
            for raw in [&text[..], b"", &text[..100], &text[..70_000]] {
                let z = gzip(raw, level);
                // flate2's decoder checks the header, the CRC-32 and the length.
                assert_eq!(gunzip(&z), raw, "level {level}, {} bytes", raw.len());
                assert_eq!(&z[..3], &[0x1f, 0x8b, 8], "a gzip member with deflate");
                if raw.len() > 1000 {
                    assert!(z.len() * 4 < raw.len(), "level {level}: {} of {} bytes", z.len(), raw.len());
                }
            }
        }
    }
}
