//! Shortage endpoints at scale: generate a city, import it (moves are not
//! needed and skipped), build the snapshot, then time the shortage
//! rankings through the real router and uncached shortage tiles, printing
//! a Markdown report for BENCHMARKS.md.
//!
//! ```sh
//! cargo run --release --example shortage_scale -- --talents 4000000 --enterprises 200000
//! ```
//!
//! Nothing here asserts a time: on shared machines timings are reported,
//! not tested.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{ScaleArgs, percentile};
use http_body_util::BodyExt;
use talentmap::analytics::shortage::areas::{Context, Query};
use talentmap::analytics::shortage::{Basis, CatchmentParams, Narrow, Smoothing};
use talentmap::api::{AppState, Settings, router};
use talentmap::encode::shortage::render;
use talentmap::generate::{GenerateOptions, generate};
use talentmap::import::{ImportKind, ImportOptions, import_file};
use talentmap::model::Taxonomy;
use talentmap::snapshot;
use talentmap::spatial::{TileId, morton};
use talentmap::store::Store;
use tower::ServiceExt;

fn summary(mut times: Vec<f64>) -> String {
    times.sort_by(|a, b| a.total_cmp(b));
    format!(
        "{} | {:.2} | {:.2} | {:.2}",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or(0.0)
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = ScaleArgs::parse("talentmap-shortage-scale", &[]);
    let ScaleArgs { talents, enterprises, out, keep, .. } = args;
    let files = out.join("files");
    let data = out.join("data");
    println!("## Shortage scale run: {talents} talents, {enterprises} enterprises\n");
    let t = Instant::now();
    if !keep || !files.join("talents.csv").exists() {
        generate(&GenerateOptions { seed: 7, talents, enterprises }, &files).unwrap();
    }
    println!("- generate: {:.1} s", t.elapsed().as_secs_f64());
    let taxonomy = Taxonomy::builtin();
    if !keep || !data.exists() {
        let _ = std::fs::remove_dir_all(&data);
        let mut store = Store::open(&data).unwrap();
        for kind in ImportKind::ALL.into_iter().filter(|k| *k != ImportKind::Moves) {
            let t = Instant::now();
            let s = import_file(&mut store, &taxonomy, kind, &files.join(kind.file_name()), ImportOptions::default())
                .unwrap();
            println!("- import {}: {} rows in {:.1} s", kind.name(), s.rows, t.elapsed().as_secs_f64());
        }
    }
    let mut store = Store::open(&data).unwrap();
    let t = Instant::now();
    let snap = snapshot::build(&mut store, Arc::new(taxonomy)).unwrap();
    println!("- snapshot build: {:.2} s", t.elapsed().as_secs_f64());
    println!(
        "- {} talents ({} seeking), {} vacancy rows",
        snap.totals.talents, snap.totals.seekers, snap.totals.vacancies
    );

    // Cold costs: the per-snapshot basis and one field's catchment.
    let t = Instant::now();
    let basis = Basis::of(&snap);
    println!(
        "- shortage basis (one pass, once per snapshot): {:.0} ms, {:.1} MB",
        t.elapsed().as_secs_f64() * 1000.0,
        basis.heap_bytes() as f64 / 1e6
    );
    // The field with the most openings, and its catchment.
    let field = (0..basis.fields).max_by_key(|&f| basis.demand(&snap, f as u8).len()).unwrap_or(0) as u8;
    let code = snap.taxonomy.field(field).unwrap().code.clone();
    println!(
        "- field {code}: {} open vacancy rows, {} seekers",
        basis.demand(&snap, field).len(),
        basis.seekers(&snap, field).len()
    );
    let q = Query {
        field,
        narrow: Narrow::default(),
        smoothing: Smoothing::default(),
        catchment: CatchmentParams {
            radius_m: talentmap::analytics::shortage::DEFAULT_RADIUS_M,
            decay: Default::default(),
        },
    };
    let t = Instant::now();
    let ctx = Context::new(&snap, &q);
    println!(
        "- catchment of {code} (2SFCA, 10 km Gaussian, cold, then memoised): {:.0} ms; {} sites, {} seeker cells",
        t.elapsed().as_secs_f64() * 1000.0,
        ctx.catchment.sites.len(),
        ctx.catchment.seeker_points
    );
    let mut cold = Vec::new();
    for f in 0..basis.fields.min(40) as u8 {
        let t = Instant::now();
        let _ = Context::new(&snap, &Query { field: f, ..q });
        cold.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!("- cold catchments of 40 fields: total {:.0} ms", cold.iter().sum::<f64>());

    // Dense tiles for the tile timing, found before the snapshot moves.
    let mut tiles_by_zoom: Vec<(u8, Vec<TileId>)> = Vec::new();
    for z in [8u8, 10, 12, 14] {
        let mut counts: BTreeMap<TileId, usize> = BTreeMap::new();
        for s in basis.seekers(&snap, field).iter() {
            *counts.entry(morton::tile_of(s.key, z)).or_default() += 1;
        }
        for d in basis.demand(&snap, field).iter() {
            *counts.entry(morton::tile_of(d.key, z)).or_default() += 1;
        }
        let mut tiles: Vec<(usize, TileId)> = counts.into_iter().map(|(t, n)| (n, t)).collect();
        tiles.sort_unstable_by(|a, b| b.cmp(a));
        tiles.truncate(50);
        tiles_by_zoom.push((z, tiles.into_iter().map(|(_, t)| t).collect()));
    }
    let mut tile_rows = Vec::new();
    for (z, tiles) in &tiles_by_zoom {
        let mut times = Vec::new();
        let mut bytes = 0usize;
        for _ in 0..4 {
            for tile in tiles {
                let t = Instant::now();
                let b = render(&snap, &q, *tile);
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                bytes += b.len();
            }
        }
        let mean = bytes / times.len().max(1);
        tile_rows.push(format!(
            "| shortage tile, field={code}, z{z} (densest tiles, uncached) | {} | {mean} |",
            summary(times)
        ));
    }
    drop(ctx);
    drop(basis);

    // Rankings through the real router (parsing, JSON encoding included).
    let app = router(AppState::new(snap, None, Settings::default()));
    let requests = [
        format!("/api/shortage?field={code}&by=district"),
        format!("/api/shortage?field={code}&by=park"),
        format!("/api/shortage?field={code}&by=cell&zoom=10"),
        format!("/api/shortage?field={code}&by=cell&zoom=12"),
        format!("/api/shortage?field={code}&by=cell&zoom=14"),
        format!("/api/shortage?field={code}&by=district&education=master"),
        "/api/shortage/fields?area=370102".to_string(),
        format!("/api/shortage/explain?area=370102&field={code}"),
        "/api/mismatch?area=370102".to_string(),
        "/api/mismatch?chain=ngit".to_string(),
    ];
    println!("\n| request | n | p50 ms | p99 ms | max ms | bytes |\n|---|---:|---:|---:|---:|---:|");
    for uri in &requests {
        let mut times = Vec::new();
        let mut size = 0;
        for i in 0..101 {
            let t = Instant::now();
            let resp = app.clone().oneshot(Request::get(uri.as_str()).body(Body::empty()).unwrap()).await.unwrap();
            let status = resp.status();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if status != StatusCode::OK {
                println!("| {uri} | status {status}: {} |", String::from_utf8_lossy(&body));
                break;
            }
            size = body.len();
            if i > 0 {
                // The first request of a new query pays the memoised catchment.
                times.push(ms);
            } else {
                println!("| {uri} (first request) | 1 | {ms:.2} | | | {size} |");
            }
        }
        if !times.is_empty() {
            println!("| {uri} | {} | {size} |", summary(times));
        }
    }
    println!("\n| tile | n | p50 ms | p99 ms | max ms | mean bytes |\n|---|---:|---:|---:|---:|---:|");
    for r in tile_rows {
        println!("{r}");
    }
    if !keep {
        let _ = std::fs::remove_dir_all(&out);
    }
}
