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
///
/// Each thread keeps one deflate stream per level and resets it between
/// calls: a new stream allocates and clears about 300 KiB of window and
/// hash tables, as much work as compressing a small tile.
pub fn gzip(raw: &[u8], level: flate2::Compression) -> Vec<u8> {
    use flate2::{Compress, FlushCompress, Status};
    thread_local! {
        static STREAMS: std::cell::RefCell<Vec<(u32, Compress)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    // The header flate2's encoder writes: no name, no time, no flags; the
    // extra flags say "fastest" or "best" as RFC 1952 has them; OS unknown.
    let xfl = match level.level() {
        0 | 1 => 4,
        9.. => 2,
        _ => 0,
    };
    let mut out = Vec::with_capacity(raw.len() / 3 + 64);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]);
    STREAMS.with(|streams| {
        let mut streams = streams.borrow_mut();
        let at = match streams.iter().position(|(l, _)| *l == level.level()) {
            Some(at) => {
                streams[at].1.reset();
                at
            }
            None => {
                streams.push((level.level(), Compress::new(level, false)));
                streams.len() - 1
            }
        };
        let stream = &mut streams[at].1;
        let mut read = 0;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(256));
            }
            let (before_in, before_out) = (stream.total_in(), stream.total_out());
            let status = stream.compress_vec(&raw[read..], &mut out, FlushCompress::Finish);
            read += (stream.total_in() - before_in) as usize;
            let stuck = stream.total_in() == before_in && stream.total_out() == before_out;
            match status {
                Ok(Status::StreamEnd) => break,
                // No progress: the room left was too small for what
                // deflate holds back.
                Ok(_) if stuck => out.reserve(out.capacity().max(256)),
                Ok(_) => {}
                // Deflating into memory fails only on a misuse of the
                // stream; a new one is made on the next call.
                Err(_) => {
                    streams.swap_remove(at);
                    out.clear();
                    return;
                }
            }
        }
    });
    if out.is_empty() {
        return out;
    }
    let mut crc = flate2::Crc::new();
    crc.update(raw);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    out
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
    fn gzip_round_trips_and_matches_a_fresh_encoder() {
        use std::io::Write;
        let text: Vec<u8> = (0..200_000u32).flat_map(|i| format!("{} ", i % 977 * 31).into_bytes()).collect();
        // The stream kept by the thread serves inputs of every size, one
        // after the other, at two levels.
        for level in [2, 6, 2] {
            for raw in [&text[..], b"", &text[..100], &text[..70_000]] {
                let z = gzip(raw, flate2::Compression::new(level));
                assert_eq!(gunzip(&z), raw, "level {level}, {} bytes", raw.len());
                let mut fresh = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
                fresh.write_all(raw).unwrap();
                assert_eq!(z, fresh.finish().unwrap(), "the bytes flate2's encoder writes");
            }
        }
    }
}
