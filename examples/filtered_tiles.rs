//! Filtered talent tiles on an imported store: per zoom, the time of the
//! cells of the filtered URLs `scripts/load.sh` asks for (age band, seeking
//! or education, a field or none), through the server's path (the packed
//! words of the fields the filter admits, grouped by field, up to zoom 15)
//! on one core (a busy server) and with a second core free (a lone request,
//! `talentmap::spare`), and, in the same run, through the records of the
//! tile (the path of every zoom before the words) as the baseline; filters
//! naming a field and the others on rows of their own.
//!
//! ```sh
//! cargo run --release --example filtered_tiles -- /path/to/data [tiles per zoom]
//! ```
//!
//! The store's saved snapshot is read when it matches (else built). Numbers
//! go to BENCHMARKS.md; nothing here asserts a time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use common::percentile;
use talentmap::analytics::cells::{YOUNG_MAX_AGE, cell_level, talent_cells, talent_cells_of, talent_pyramid};
use talentmap::analytics::filter::Filter;
use talentmap::model::Taxonomy;
use talentmap::spatial::{TileId, lonlat_to_unit};
use talentmap::store::Store;

fn tiles(z: u8, every: usize) -> Vec<TileId> {
    let n = f64::from(1u32 << z);
    let (x0, y0) = lonlat_to_unit(116.85, 36.75);
    let (x1, y1) = lonlat_to_unit(117.25, 36.55);
    let mut out = Vec::new();
    for y in (y0 * n) as u32..=(y1 * n) as u32 {
        for x in (x0 * n) as u32..=(x1 * n) as u32 {
            out.push(TileId { z, x, y });
        }
    }
    let step = (out.len() / every).max(1);
    out.into_iter().step_by(step).collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().expect("usage: filtered_tiles DATA_DIR [TILES_PER_ZOOM]"));
    let every: usize = args.next().map_or(6, |s| s.parse().expect("tiles per zoom"));
    let taxonomy = Arc::new(Taxonomy::builtin());
    let mut store = Store::open(&dir).unwrap();
    let started = Instant::now();
    let (snap, origin) = talentmap::snapshot::file::open(&mut store, taxonomy.clone(), &dir).unwrap();
    println!("snapshot: {} talents, {:?}, {:.2} s", snap.talents.len(), origin, started.elapsed().as_secs_f64());
    let started = Instant::now();
    talent_pyramid(&snap);
    println!("pyramid and words: {:.0} ms\n", started.elapsed().as_secs_f64() * 1e3);

    let fields: Vec<String> = taxonomy.fields().iter().step_by(8).map(|f| f.code.clone()).collect();
    let mut filters = Vec::new();
    for (i, extra) in [None, Some(("seeking", "true")), Some(("seeking", "false")), Some(("education", "master"))]
        .into_iter()
        .enumerate()
    {
        for (j, field) in [None].into_iter().chain(fields.iter().take(3).map(Some)).enumerate() {
            let lo = 15 + 5 * ((i + j) % 9) as u16;
            let mut q = BTreeMap::from([
                ("min_age".to_string(), lo.to_string()),
                ("max_age".to_string(), (lo + 14).to_string()),
            ]);
            if let Some((k, v)) = extra {
                q.insert(k.into(), v.into());
            }
            if let Some(f) = field {
                q.insert("field".into(), f.clone());
            }
            filters.push((field.is_some(), Filter::parse(&q, &taxonomy, snap.reference_year).unwrap()));
        }
    }
    let young_from = snap.reference_year - YOUNG_MAX_AGE;
    println!(
        "| zoom | filters | tiles × filters | records in a tile, max | server path, one core: p50 / p99 / max ms | \
         a second core free | records path |"
    );
    println!("|---:|---|---:|---:|---|---|---|");
    // A pool of two with one permit taken by this computation.
    let spare = Arc::new(tokio::sync::Semaphore::new(1));
    for (z, named) in (8..=14u8).flat_map(|z| [(z, true), (z, false)]) {
        let (mut fast, mut two, mut slow, mut most) = (Vec::new(), Vec::new(), Vec::new(), 0);
        for tile in tiles(z, every) {
            most = most.max(snap.talents_in(tile).len());
            for f in filters.iter().filter(|(n, _)| *n == named).map(|(_, f)| f) {
                let t = Instant::now();
                let a = talent_cells(&snap, tile, f);
                fast.push(t.elapsed().as_secs_f64() * 1e3);
                let t = Instant::now();
                let c = talentmap::spare::within(&spare, || talent_cells(&snap, tile, f));
                two.push(t.elapsed().as_secs_f64() * 1e3);
                assert_eq!(a, c, "one core and two give the same cells");
                let t = Instant::now();
                let b = talent_cells_of(snap.talents_in(tile), cell_level(z), f, young_from);
                slow.push(t.elapsed().as_secs_f64() * 1e3);
                assert_eq!(a, b, "both paths give the same cells");
            }
        }
        fast.sort_by(f64::total_cmp);
        two.sort_by(f64::total_cmp);
        slow.sort_by(f64::total_cmp);
        let row = |v: &[f64]| {
            format!("{:.2} / {:.2} / {:.2}", percentile(v, 0.5), percentile(v, 0.99), v.last().copied().unwrap_or(0.0))
        };
        let which = if named { "a field" } else { "no field" };
        println!("| {z} | {which} | {} | {most} | {} | {} | {} |", fast.len(), row(&fast), row(&two), row(&slow));
    }
}
