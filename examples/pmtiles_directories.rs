//! Writes a PMTiles archive of many scattered synthetic tiles, enough that
//! its directory is split into leaf directories, for
//! `tests/pmtiles/check.py --directories` to read back with an independent
//! reader. Each tile's content is its own `z/x/y` (gzip-compressed), so the
//! reader can tell that every tile id leads to the right bytes.
//!
//! ```sh
//! cargo run --example pmtiles_directories -- OUT.pmtiles
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use talentmap::encode::pmtiles::{ArchiveInfo, ArchiveWriter, gzip};

fn main() {
    let out = std::env::args().nth(1).expect("usage: pmtiles_directories OUT.pmtiles");
    let mut w = ArchiveWriter::new();
    let z = 11u8;
    for x in 0..600u32 {
        for y in 0..600u32 {
            let h = x.wrapping_mul(2_654_435_761).wrapping_add(y.wrapping_mul(40_503)) >> 7;
            if h % 3 == 0 {
                w.add(z, x, y, gzip(format!("{z}/{x}/{y}").as_bytes()));
            }
        }
    }
    // A run: one content at 64 consecutive tile ids of zoom 3.
    let same = gzip(b"same");
    for x in 0..8u32 {
        for y in 0..8u32 {
            w.add(3, x, y, same.clone());
        }
    }
    let info = ArchiveInfo { minzoom: 3, maxzoom: z, bounds: [-180.0, -85.0, 180.0, 85.0], center: (0.0, 0.0, 3) };
    let mut file = std::io::BufWriter::new(std::fs::File::create(&out).unwrap());
    let s = w.write(&info, br#"{"name":"directories"}"#, &mut file).unwrap();
    println!("{} tiles, {} entries, {} contents, {} leaf directories", s.addressed, s.entries, s.contents, s.leaves);
}
