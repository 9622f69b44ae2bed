//! Scale measurement: generate a city, import it, build the snapshot and
//! time uncached tiles per zoom, printing a Markdown report.
//!
//! ```sh
//! cargo run --release --example scale -- --talents 4000000 --enterprises 200000
//! ```
//!
//! Numbers go to BENCHMARKS.md. Nothing here asserts a time: on shared
//! machines timings are reported, not tested.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use common::{ScaleArgs, percentile, rss_mib};
use talentmap::analytics::filter::Filter;
use talentmap::encode::layers::{Layer, render};
use talentmap::generate::{GenerateOptions, generate};
use talentmap::import::{ImportKind, ImportOptions, import_file};
use talentmap::model::Taxonomy;
use talentmap::snapshot;
use talentmap::spatial::{TileId, morton};
use talentmap::store::Store;

fn main() {
    let args = ScaleArgs::parse("talentmap-scale", &[]);
    let ScaleArgs { talents, enterprises, out, keep, .. } = args;
    let files = out.join("files");
    let data = out.join("data");
    let _ = std::fs::remove_dir_all(&data);
    println!("## Scale run: {talents} talents, {enterprises} enterprises\n");

    let t = Instant::now();
    if !files.join("moves.csv").exists() || !keep {
        generate(&GenerateOptions { seed: 7, talents, enterprises }, &files).unwrap();
    }
    println!("- generate: {:.1} s", t.elapsed().as_secs_f64());

    let taxonomy = Taxonomy::builtin();
    let mut store = Store::open(&data).unwrap();
    println!("\n| import | rows | seconds | rows/s |\n|---|---:|---:|---:|");
    for kind in ImportKind::ALL {
        let t = Instant::now();
        let s =
            import_file(&mut store, &taxonomy, kind, &files.join(kind.file_name()), ImportOptions::default()).unwrap();
        let secs = t.elapsed().as_secs_f64();
        println!("| {} | {} | {:.1} | {:.0} |", kind.name(), s.rows, secs, s.rows as f64 / secs);
    }

    let before = rss_mib();
    let t = Instant::now();
    let snap = snapshot::build(&mut store, Arc::new(taxonomy)).unwrap();
    let build = t.elapsed().as_secs_f64();
    let after = rss_mib();
    println!("\n- snapshot build: {build:.2} s; resident memory {before:.0} → {after:.0} MiB");
    let t = Instant::now();
    talentmap::analytics::cells::talent_pyramid(&snap);
    println!(
        "- talent pyramid (unfiltered cells of zooms 0-{}): {:.2} s",
        talentmap::analytics::cells::PYRAMID_MAX_ZOOM,
        t.elapsed().as_secs_f64()
    );
    println!(
        "- talent records + workplace order: {:.1} bytes per talent ({} talents)",
        snap.talent_index_bytes() as f64 / snap.totals.talents.max(1) as f64,
        snap.totals.talents
    );

    // Tiles: the densest tiles of each zoom (where a policymaker looks).
    let q: BTreeMap<String, String> = [("field".to_string(), "0812".to_string())].into();
    let field = Filter::parse(&q, &snap.taxonomy, snap.reference_year).unwrap();
    println!(
        "\n| layer | zoom | tiles | filter | p50 ms | p99 ms | max ms | mean bytes |\n|---|---:|---:|---|---:|---:|---:|---:|"
    );
    for layer in [Layer::Talents, Layer::Vacancies, Layer::Enterprises] {
        for z in [6u8, 8, 10, 11, 12, 13, 14] {
            let mut counts: BTreeMap<TileId, usize> = BTreeMap::new();
            for t in snap.talents.iter().step_by(97) {
                *counts.entry(morton::tile_of(t.home, z)).or_default() += 1;
            }
            let mut tiles: Vec<(usize, TileId)> = counts.into_iter().map(|(t, n)| (n, t)).collect();
            tiles.sort_unstable_by(|a, b| b.cmp(a));
            tiles.truncate(60);
            for (label, filter) in [("none", &Filter::default()), ("field=0812", &field)] {
                if layer == Layer::Enterprises && label != "none" {
                    continue;
                }
                let mut times = Vec::new();
                let mut bytes = 0usize;
                for _ in 0..3 {
                    for (_, tile) in &tiles {
                        let t = Instant::now();
                        let b = render(&snap, layer, *tile, filter, 5);
                        times.push(t.elapsed().as_secs_f64() * 1000.0);
                        bytes += b.len();
                    }
                }
                times.sort_by(|a, b| a.total_cmp(b));
                println!(
                    "| {} | {z} | {} | {label} | {:.2} | {:.2} | {:.2} | {} |",
                    layer.name(),
                    tiles.len(),
                    percentile(&times, 0.5),
                    percentile(&times, 0.99),
                    times.last().copied().unwrap_or(0.0),
                    bytes / times.len().max(1)
                );
            }
        }
    }
    // One fixed tile (Jinan centre, z12) for comparing runs of different size.
    let centre = morton::tile_of(morton::key(117.02, 36.66), 12);
    let mut times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let _ = render(&snap, Layer::Talents, centre, &Filter::default(), 5);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "\n- fixed tile talents {centre} (city centre): {} talents in tile, p50 {:.2} ms, p99 {:.2} ms",
        snap.talents_in(centre).len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
    if !keep {
        let _ = std::fs::remove_dir_all(&out);
    }
}
