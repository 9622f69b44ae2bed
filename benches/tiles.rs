//! Criterion benchmarks on a seeded generated city: uncached tile rendering
//! per zoom against a full-scan baseline in the same run (the same cells
//! computed by scanning every talent), the snapshot build, locating points
//! in Jinan's districts against `geo`'s test of every district, and the MVT
//! encoder on a layer of grid cells.

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

/// 10,000 points over and around Jinan located in its districts: the grid
/// lookup, against `geo`'s `contains` on every district whose bounding box
/// holds the point (same answers).
fn regions(c: &mut Criterion) {
    use geo::{BoundingRect, Contains, MultiPolygon, Point};
    use talentmap::import::to_multipolygon;
    use talentmap::model::RegionKind;
    use talentmap::spatial::regions::RegionLookup;
    let text = std::fs::read_to_string("fixtures/regions/jinan_districts.geojson").unwrap();
    let fc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let shapes: Vec<(RegionKind, MultiPolygon<f64>)> = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (RegionKind::District, to_multipolygon(&f["geometry"].to_string()).unwrap()))
        .collect();
    let boxes: Vec<_> = shapes.iter().map(|(_, m)| m.bounding_rect().unwrap()).collect();
    let lookup = RegionLookup::new(&shapes);
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || (xorshift(&mut s) >> 11) as f64 / (1u64 << 53) as f64;
    let points: Vec<(f64, f64)> = (0..10_000).map(|_| (116.2 + next() * 1.6, 36.1 + next() * 1.4)).collect();
    let mut group = c.benchmark_group("regions");
    group.bench_function("locate_10k_points_grid", |b| {
        b.iter(|| points.iter().map(|&(x, y)| lookup.containing(x, y).len()).sum::<usize>())
    });
    group.bench_function("locate_10k_points_geo_baseline", |b| {
        b.iter(|| {
            points
                .iter()
                .map(|&(x, y)| {
                    let p = Point::new(x, y);
                    shapes.iter().zip(&boxes).filter(|((_, m), r)| r.contains(&p) && m.contains(&p)).count()
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

/// The MVT encoder alone: a layer of 1,000 grid cells with a talent cell's
/// ten properties (counts skewed as in a city: most small, some in the
/// thousands), encoded into a tile. Compare builds with criterion's
/// `--save-baseline` / `--baseline`.
fn mvt(c: &mut Criterion) {
    use talentmap::encode::mvt::{DEFAULT_EXTENT, LayerBuilder, PropValue, encode_layer, encode_tile};
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |below: u64| xorshift(&mut s) % below;
    let fields = ["0812", "0809", "1202", "0305", "0701"];
    let cells: Vec<[u64; 9]> = (0..1000)
        .map(|_| {
            // A count from 1 to about 8,000, small ones the most common.
            let count = 1 + next(8) * next(8) * next(16) * next(8);
            let part = |n: u64| n.min(count);
            [
                count,
                part(next(count + 1)),
                part(next(count + 1)),
                next(count / 4 + 1),
                next(count / 2 + 1),
                next(count / 4 + 1),
                next(count / 16 + 1),
                next(fields.len() as u64),
                next(count / 3 + 1),
            ]
        })
        .collect();
    let add = |layer: &mut LayerBuilder| {
        for (i, c) in cells.iter().enumerate() {
            let props = [
                ("count", PropValue::UInt(c[0])),
                ("zoom_level", PropValue::UInt(13)),
                ("seekers", PropValue::UInt(c[1])),
                ("young", PropValue::UInt(c[2])),
                ("edu_associate", PropValue::UInt(c[3])),
                ("edu_bachelor", PropValue::UInt(c[4])),
                ("edu_master", PropValue::UInt(c[5])),
                ("edu_doctorate", PropValue::UInt(c[6])),
                ("top_field", PropValue::Str(fields[c[7] as usize])),
                ("top_field_count", PropValue::UInt(c[8])),
            ];
            let n = if c[0] >= 10 { 10 } else { 8 };
            let (x, y) = ((i % 32) as i32 * 128, (i / 32) as i32 * 128);
            layer.add_square(Some(i as u64), (x, y), 128, &props[..n]);
        }
    };
    let mut group = c.benchmark_group("mvt");
    // A builder made for the tile…
    group.bench_function("talent_cells_1000", |b| {
        b.iter(|| {
            let mut layer = LayerBuilder::new("talents", DEFAULT_EXTENT);
            add(&mut layer);
            encode_tile(&[layer])
        })
    });
    // …and the thread's kept builder, as the tile endpoint encodes.
    group.bench_function("talent_cells_1000_kept_builder", |b| b.iter(|| encode_layer("talents", DEFAULT_EXTENT, add)));
    group.finish();
}

/// The next state of a xorshift64 generator (fixed inputs, no dependency).
fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

criterion_group!(benches, tiles, build, regions, mvt);
criterion_main!(benches);
