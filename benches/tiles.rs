//! Criterion benchmarks on a seeded generated city: uncached tile rendering
//! per zoom against a full-scan baseline in the same run (the same cells
//! computed by scanning every talent), and the snapshot build.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use talentmap::analytics::cells::{cell_level, talent_cells, talent_cells_of};
use talentmap::analytics::filter::Filter;
use talentmap::encode::layers::{Layer, render};
use talentmap::generate::{GenerateOptions, generate};
use talentmap::import::{ImportKind, ImportOptions, import_file};
use talentmap::model::Taxonomy;
use talentmap::snapshot::{self, Snapshot};
use talentmap::spatial::morton;
use talentmap::store::Store;

fn city(talents: usize) -> (tempfile::TempDir, Snapshot) {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    generate(&GenerateOptions { seed: 3, talents, enterprises: talents / 25 }, &files).unwrap();
    let mut store = Store::open(&dir.path().join("data")).unwrap();
    let taxonomy = Taxonomy::builtin();
    for kind in ImportKind::ALL {
        import_file(&mut store, &taxonomy, kind, &files.join(kind.file_name()), ImportOptions::default()).unwrap();
    }
    let snap = snapshot::build(&mut store, Arc::new(taxonomy)).unwrap();
    (dir, snap)
}

fn tiles(c: &mut Criterion) {
    let (_dir, snap) = city(200_000);
    let centre = morton::key(117.02, 36.66);
    let mut group = c.benchmark_group("talent_tile");
    for z in [8u8, 10, 12, 14] {
        let tile = morton::tile_of(centre, z);
        group.bench_with_input(BenchmarkId::new("encoded_tile", z), &tile, |b, &tile| {
            b.iter(|| render(&snap, Layer::Talents, tile, &Filter::default(), 5))
        });
        // The cells alone: Morton range lookup plus aggregation…
        group.bench_with_input(BenchmarkId::new("cells_morton_range", z), &tile, |b, &tile| {
            b.iter(|| talent_cells(&snap, tile, &Filter::default()))
        });
        // …against the baseline: the same cells, finding the tile's talents
        // by scanning the whole city.
        group.bench_with_input(BenchmarkId::new("cells_full_scan_baseline", z), &tile, |b, &tile| {
            b.iter(|| {
                let range = morton::tile_range(tile);
                let inside: Vec<_> = snap.talents.iter().filter(|t| range.contains(&t.home)).copied().collect();
                talent_cells_of(&inside, cell_level(z), &Filter::default(), snap.reference_year - 35)
            })
        });
    }
    group.finish();
}

fn build(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    generate(&GenerateOptions { seed: 3, talents: 50_000, enterprises: 2_000 }, &files).unwrap();
    let mut store = Store::open(&dir.path().join("data")).unwrap();
    let taxonomy = Taxonomy::builtin();
    for kind in ImportKind::ALL {
        import_file(&mut store, &taxonomy, kind, &files.join(kind.file_name()), ImportOptions::default()).unwrap();
    }
    let taxonomy = Arc::new(taxonomy);
    let mut group = c.benchmark_group("snapshot");
    group.sample_size(10);
    group.bench_function("build_50k_talents", |b| b.iter(|| snapshot::build(&mut store, taxonomy.clone()).unwrap()));
    group.finish();
}

criterion_group!(benches, tiles, build);
criterion_main!(benches);
