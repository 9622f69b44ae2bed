//! Commute benchmark at scale: generate a city, import it, build the
//! snapshot and the commute index, then time the commute endpoints and print
//! a Markdown report.
//!
//! ```sh
//! cargo run --release --example commute_scale -- --talents 4000000 --enterprises 200000
//! ```
//!
//! Timed: a commute heat tile of the park with most workers (uncached
//! renders of the tiles where its workers' homes are densest, z8–z14), the
//! city-wide district summary and the underserved ranking (through the HTTP
//! router in memory, so routing and JSON are included), plus a filtered
//! summary and a scenario. Numbers go to BENCHMARKS.md; nothing is asserted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{ScaleArgs, percentile, rss_mib};
use http_body_util::BodyExt;
use talentmap::analytics::commute::CommuteIndex;
use talentmap::analytics::commute::heat::Selection;
use talentmap::analytics::filter::Filter;
use talentmap::api::{AppState, Settings, router};
use talentmap::encode::commute::render_commute;
use talentmap::generate::{GenerateOptions, generate};
use talentmap::import::{ImportKind, ImportOptions, import_file};
use talentmap::model::{RegionKind, Taxonomy};
use talentmap::snapshot;
use talentmap::spatial::{TileId, morton};
use talentmap::store::Store;
use tower::ServiceExt;

fn row(what: &str, times: &mut [f64], extra: &str) {
    times.sort_by(f64::total_cmp);
    println!(
        "| {what} | {} | {:.2} | {:.2} | {:.2} | {extra} |",
        times.len(),
        percentile(times, 0.5),
        percentile(times, 0.99),
        times.last().copied().unwrap_or(0.0)
    );
}

async fn time_get(app: &axum::Router, uri: &str, runs: usize) -> (Vec<f64>, usize) {
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let resp = app.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{uri}");
        bytes = resp.into_body().collect().await.unwrap().to_bytes().len();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    (times, bytes)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // Phase timings of the index build with RUST_LOG=talentmap=debug.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = ScaleArgs::parse("talentmap-commute-scale", &[]);
    let ScaleArgs { talents, enterprises, out, keep, .. } = args;
    let files = out.join("files");
    let data = out.join("data");
    println!("## Commute scale run: {talents} talents, {enterprises} enterprises\n");
    let taxonomy = Taxonomy::builtin();
    let reuse = keep && data.join("talentmap.sqlite").exists();
    if !reuse {
        let _ = std::fs::remove_dir_all(&data);
        let t = Instant::now();
        generate(&GenerateOptions { seed: 7, talents, enterprises }, &files).unwrap();
        println!("- generate: {:.1} s", t.elapsed().as_secs_f64());
        let mut store = Store::open(&data).unwrap();
        let t = Instant::now();
        for kind in ImportKind::ALL {
            import_file(&mut store, &taxonomy, kind, &files.join(kind.file_name()), ImportOptions::default()).unwrap();
        }
        println!("- import: {:.1} s", t.elapsed().as_secs_f64());
    }
    let mut store = Store::open(&data).unwrap();
    let t = Instant::now();
    let snap = Arc::new(snapshot::build(&mut store, Arc::new(taxonomy)).unwrap());
    println!("- snapshot build: {:.2} s, {} talents", t.elapsed().as_secs_f64(), snap.talents.len());

    let before = rss_mib();
    let t = Instant::now();
    let index = CommuteIndex::build(&snap);
    println!(
        "- commute index build: {:.2} s (first commute request after a snapshot swap); {:.1} MiB heap, resident {before:.0} → {:.0} MiB",
        t.elapsed().as_secs_f64(),
        index.heap_bytes() as f64 / (1 << 20) as f64,
        rss_mib()
    );

    // The park with most workers.
    let park = (0..snap.regions.len() as u16)
        .filter(|&r| snap.regions[r as usize].kind == RegionKind::Park)
        .max_by_key(|&r| index.area(Some(r)).jobs.n.n)
        .unwrap();
    let info = &snap.regions[park as usize];
    println!(
        "- largest park: {} {} with {} workers, {} enterprises",
        info.id,
        info.name,
        index.area(Some(park)).jobs.n.n,
        info.stats.enterprises
    );

    println!("\n| what | runs | p50 ms | p99 ms | max ms | notes |\n|---|---:|---:|---:|---:|---|");
    let sel = Selection::WorkArea(park);
    let field: BTreeMap<String, String> = [("field".to_string(), "0812".to_string())].into();
    let field = Filter::parse(&field, &snap.taxonomy, snap.reference_year).unwrap();
    for z in [8u8, 10, 12, 14] {
        // Tiles where the park's workers live most densely.
        let mut counts: BTreeMap<TileId, usize> = BTreeMap::new();
        for t in snap.talents.iter().filter(|t| t.work_park == park) {
            *counts.entry(morton::tile_of(t.home, z)).or_default() += 1;
        }
        let mut tiles: Vec<(usize, TileId)> = counts.into_iter().map(|(t, n)| (n, t)).collect();
        tiles.sort_unstable_by(|a, b| b.cmp(a));
        tiles.truncate(30);
        for (label, filter) in [("none", &Filter::default()), ("field=0812", &field)] {
            let mut times = Vec::new();
            let mut bytes = 0;
            for _ in 0..3 {
                for (_, tile) in &tiles {
                    let t = Instant::now();
                    bytes += render_commute(&snap, &index, &sel, *tile, filter, 5).len();
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }
            let talents_in = tiles.first().map_or(0, |(_, t)| snap.talents_in(*t).len());
            let n = times.len().max(1);
            row(
                &format!("heat tile work_area={} z{z} (filter {label})", info.id),
                &mut times,
                &format!(
                    "{} densest tiles, uncached; {} talents in the densest; {} B mean",
                    tiles.len(),
                    talents_in,
                    bytes / n
                ),
            );
        }
    }

    let (park_id, centre) = (info.id.clone(), info.centre);
    drop(index);
    let state = AppState::new(Arc::try_unwrap(snap).ok().unwrap(), None, Settings::default());
    let app = router(state);
    // First request builds the index inside the service.
    let t = Instant::now();
    let (_, _) = time_get(&app, "/api/commute/districts", 1).await;
    println!("| first commute request (builds the index) | 1 | {:.0} | | | |", t.elapsed().as_secs_f64() * 1000.0);
    let (mut times, bytes) = time_get(&app, "/api/commute/districts", 200).await;
    row("GET /api/commute/districts", &mut times, &format!("{bytes} B"));
    let (mut times, bytes) = time_get(&app, "/api/commute/underserved", 200).await;
    row("GET /api/commute/underserved", &mut times, &format!("{bytes} B"));
    let (mut times, bytes) = time_get(&app, &format!("/api/commute/summary?area={park_id}"), 200).await;
    row("GET /api/commute/summary (largest park)", &mut times, &format!("{bytes} B"));
    let (mut times, bytes) = time_get(&app, "/api/commute/flows?level=park", 100).await;
    row("GET /api/commute/flows?level=park", &mut times, &format!("{bytes} B"));
    let (mut times, bytes) = time_get(&app, &format!("/api/commute/summary?area={park_id}&field=0812"), 20).await;
    row(
        "GET /api/commute/summary (largest park, field=0812)",
        &mut times,
        &format!("{bytes} B; one pass over all talents"),
    );
    let (mut times, bytes) = time_get(&app, "/api/commute/districts?max_age=35", 20).await;
    row("GET /api/commute/districts?max_age=35", &mut times, &format!("{bytes} B; one pass over all talents"));

    let body = format!(
        r#"{{"stations": [{{"lon": {}, "lat": {}, "name": "shuttle"}}, {{"lon": 117.0, "lat": 36.66, "radius_m": 1500}}]}}"#,
        centre[0], centre[1]
    );
    let mut times = Vec::new();
    for _ in 0..20 {
        let req = Request::post("/api/commute/scenario")
            .header("content-type", "application/json")
            .body(Body::from(body.clone()))
            .unwrap();
        let t = Instant::now();
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let _ = resp.into_body().collect().await.unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    row("POST /api/commute/scenario (2 stops)", &mut times, "");
    if !keep {
        let _ = std::fs::remove_dir_all(&out);
    }
}
