//! Flow endpoints at scale: generate a city (moves ≈ 1.25 × talents), import
//! it, build the snapshot, then time through the real router (in memory):
//! `POST /api/moves` batches of 10,000 new moves (answered once committed
//! and followed by the served snapshot),
//! `GET /api/flows/series`, `/api/flows/alerts` and `/api/flows/od`. Prints
//! a Markdown report for BENCHMARKS.md.
//!
//! ```sh
//! cargo run --release --example flows_scale -- --talents 4000000 --enterprises 200000
//! ```
//!
//! `--store DIR` starts from a copy of a store imported earlier; `--spread 1`
//! makes the batches name talents and enterprises spread across the
//! register instead of the first by id; `--pool N` sets how many talents
//! the batches name in turn (20,000: each is named again every other batch,
//! its history growing; a pool of the batches' moves names each once);
//! `--daily 1` dates each batch a day after the one before, from the first
//! day of the month after the last stored move (a feed's order: every new
//! move of a talent after its stored ones), instead of all on the 15th of
//! that last month; `--retries 0` posts the batches back to back, without
//! sending each again after its answer (a retry stores nothing, but it
//! may be the request that waits for the write-ahead log's checkpoint);
//! `--gap N` waits N seconds between batches (a feed that sends a batch
//! now and then rather than one after another); `--ready 0` leaves the moves feed's connections and validation context
//! to the first batch instead of readying them when the state is made, as
//! `serve` does at start; `--warm 1` builds every published snapshot's
//! derived indexes on a background thread as `serve` does (fine cells,
//! shortage basis, commute index, briefing), after those of
//! the first snapshot, so that each batch shares the machine with the
//! rebuild the one before it started.
//!
//! Nothing here asserts a time: on shared machines timings are reported,
//! not tested.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{ScaleArgs, percentile};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use talentmap::api::{AppState, Settings, router};
use talentmap::auth::audit::Actor;
use talentmap::generate::{GenerateOptions, generate};
use talentmap::import::{ImportKind, ImportOptions, import_file};
use talentmap::model::Taxonomy;
use talentmap::snapshot;
use talentmap::store::Store;
use tower::ServiceExt;

async fn call(state: &AppState, req: Request<Body>) -> (StatusCode, Value, f64) {
    let t = Instant::now();
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), ms)
}

async fn time_gets(state: &AppState, label: &str, uris: &[String], rounds: usize) {
    let mut times = Vec::new();
    for _ in 0..rounds {
        for uri in uris {
            let (status, body, ms) = call(state, Request::get(uri.as_str()).body(Body::empty()).unwrap()).await;
            assert_eq!(status, StatusCode::OK, "{uri}: {body}");
            times.push(ms);
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "| {label} | {} | {:.2} | {:.2} | {:.2} |",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or(0.0)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // Phase timings of each batch with RUST_LOG=talentmap=debug.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = ScaleArgs::parse(
        "talentmap-flows-scale",
        &["batches", "store", "spread", "pool", "daily", "retries", "ready", "gap", "warm"],
    );
    let batches = args.extra_usize("batches", 10);
    let pool = args.extra_usize("pool", 20_000).max(1);
    let spread = args.extra_usize("spread", 0) == 1;
    let daily = args.extra_usize("daily", 0) == 1;
    let retries = args.extra_usize("retries", 1) == 1;
    let ready = args.extra_usize("ready", 1) == 1;
    let gap = Duration::from_secs(args.extra_usize("gap", 0) as u64);
    let warm = args.extra_usize("warm", 0) == 1;
    let imported = args.extra.get("store").map(std::path::PathBuf::from);
    let ScaleArgs { talents, enterprises, out, keep, .. } = args;
    let files = out.join("files");
    let data = out.join("data");
    let _ = std::fs::remove_dir_all(&data);
    match &imported {
        Some(dir) => println!("## Flow run on a copy of the store in {}\n", dir.display()),
        None => println!("## Flow run: {talents} talents, {enterprises} enterprises\n"),
    }
    let taxonomy = Taxonomy::builtin();
    let mut store = if let Some(imported) = imported {
        // A store imported earlier (`--store DIR`): copied, so the batches
        // below leave it as it was.
        std::fs::create_dir_all(&data).unwrap();
        let t = Instant::now();
        let source = Store::open(&imported).unwrap();
        source.conn().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
        drop(source);
        let copy = data.join(talentmap::store::DB_FILE);
        std::fs::copy(imported.join(talentmap::store::DB_FILE), &copy).unwrap();
        // On disk before the batches: the kernel would otherwise write the
        // copy back while they run, and their commits would wait behind it.
        std::fs::File::open(&copy).and_then(|f| f.sync_all()).unwrap();
        println!("- store copied from {}: {:.1} s", imported.display(), t.elapsed().as_secs_f64());
        Store::open(&data).unwrap()
    } else {
        let t = Instant::now();
        if !files.join("moves.csv").exists() || !keep {
            generate(&GenerateOptions { seed: 7, talents, enterprises }, &files).unwrap();
        }
        println!("- generate: {:.1} s", t.elapsed().as_secs_f64());
        let mut store = Store::open(&data).unwrap();
        for kind in ImportKind::ALL {
            let t = Instant::now();
            let s = import_file(&mut store, &taxonomy, kind, &files.join(kind.file_name()), ImportOptions::default())
                .unwrap();
            if kind == ImportKind::Moves {
                println!("- import moves (CSV): {} rows in {:.1} s", s.rows, t.elapsed().as_secs_f64());
            }
        }
        store
    };
    let t = Instant::now();
    let snap = snapshot::build(&mut store, Arc::new(taxonomy)).unwrap();
    println!(
        "- snapshot of {} talents and {} enterprises built (everything, including the move table and flow cubes): \
         {:.1} s; move table + cubes {:.0} MiB for {} moves",
        snap.talents.len(),
        snap.enterprises.len(),
        t.elapsed().as_secs_f64(),
        snap.flows.heap_bytes() as f64 / (1 << 20) as f64,
        snap.flows.moves.len()
    );
    let districts: Vec<String> = snap
        .regions
        .iter()
        .filter(|r| r.kind == talentmap::model::RegionKind::District)
        .map(|r| r.id.clone())
        .collect();
    let parks: Vec<String> =
        snap.regions.iter().filter(|r| r.kind == talentmap::model::RegionKind::Park).map(|r| r.id.clone()).collect();
    let first = snap.flows.first_month;
    let months = snap.flows.months as u32;
    let label = |m: u32| format!("{:04}-{:02}", m / 12, m % 12 + 1);
    // The batches name `--pool` talents (20,000) in turn and 1,000
    // enterprises: the first by id (their rows share pages), or with
    // `--spread 1` every n-th across the register (each touched talent on a
    // page of its own, as a city's feed). A pool smaller than the batches'
    // moves names each talent again and again, so its history grows batch
    // after batch.
    let ids = |table: &str, wanted: usize| -> Vec<String> {
        let sql = if spread {
            format!("SELECT id FROM {table} ORDER BY id")
        } else {
            format!("SELECT id FROM {table} ORDER BY id LIMIT {wanted}")
        };
        let mut stmt = store.conn().prepare(&sql).unwrap();
        let all: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
        let step = (all.len() / wanted).max(1);
        all.into_iter().step_by(step).take(wanted).collect()
    };
    let talent_ids = ids("talents", pool);
    // Batch after batch through the pool, each batch's talents every
    // `rounds`-th of it: as spread across the register whatever its size.
    let rounds = talent_ids.len().div_ceil(10_000);
    let enterprise_ids = ids("enterprises", 1_000);
    println!(
        "- batches name {} talents and {} enterprises, {}",
        talent_ids.len(),
        enterprise_ids.len(),
        if spread { "spread across the register" } else { "the first by id" }
    );
    println!(
        "- {}",
        if daily {
            format!("each batch a day after the one before, from {}-01", label(first + months))
        } else {
            format!("every batch dated {}-15", label(first + months - 1))
        }
    );
    drop(store);
    // As `serve` does at start: the talent pyramid built before the first
    // request, so that the first batch patches it as a server's would.
    talentmap::analytics::cells::talent_pyramid(&snap);
    let state = AppState::new(snap, Some(data.clone()), Settings::default());
    let state = if warm {
        let state = state.with_background_warming();
        // The first snapshot's indexes before the first request, as a
        // server that has been up a while has them.
        let k = Settings::default().k;
        let t = Instant::now();
        while talentmap::analytics::fine::built(&state.snapshot(), k).is_none() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The briefing is the last index the thread builds; a request for
        // it waits for the thread's computation (or makes it).
        let (status, body, _) = call(&state, Request::get("/api/briefing").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "/api/briefing: {body}");
        println!("- derived indexes of the first snapshot waited for: {:.1} s", t.elapsed().as_secs_f64());
        state
    } else {
        state
    };
    let feeder = {
        let store = Store::open(&data).unwrap();
        let key = talentmap::auth::keys::create(&store, talentmap::auth::Role::Feeder, &[], "scale", &Actor::cli());
        format!("Bearer {}", key.unwrap().key)
    };
    // As `serve` does at start, unless `--ready 0`.
    if ready {
        assert!(state.ready_feed(), "the moves feed is readied");
    }

    println!("\n| request | n | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|");
    let areas: Vec<&String> = districts.iter().chain(parks.iter().take(10)).collect();
    let series = |extra: &str| -> Vec<String> {
        areas.iter().map(|a| format!("/api/flows/series?area={a}{extra}")).collect::<Vec<_>>()
    };
    time_gets(&state, "series, all months", &series(""), 10).await;
    time_gets(&state, "series, field=0812", &series("&field=0812"), 10).await;
    time_gets(&state, "series, chain=ngit", &series("&chain=ngit"), 10).await;
    time_gets(&state, "series, chain=ngit&field=0812 (scan)", &series("&chain=ngit&field=0812"), 3).await;
    let assessable: Vec<u32> = (first + 12..first + months).collect();
    let alerts = |extra: &str| -> Vec<String> {
        assessable.iter().map(|&m| format!("/api/flows/alerts?month={}{extra}", label(m))).collect()
    };
    time_gets(&state, "alerts, district", &alerts(""), 10).await;
    time_gets(&state, "alerts, park", &alerts("&level=park"), 10).await;
    time_gets(&state, "alerts, district, chain=ngit", &alerts("&chain=ngit"), 10).await;
    let last = first + months - 1;
    let od = vec![format!("/api/flows/od?level=district&from={}&to={}", label(last - 11), label(last))];
    time_gets(&state, "od, district, 12 months", &od, 20).await;
    let od_park = vec![format!("/api/flows/od?level=park&from={}&to={}", label(last), label(last))];
    time_gets(&state, "od, park, 1 month", &od_park, 20).await;

    // The planted spike of the generated city.
    let (_, body, _) =
        call(&state, Request::get(format!("/api/flows/alerts?month={}", label(last))).body(Body::empty()).unwrap())
            .await;
    let top: Vec<String> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{} {} (departures {}, expected {}, score {})",
                i["area_id"], i["name"], i["departures"], i["expected"], i["score"]
            )
        })
        .collect();
    println!("\n- alerts for {}: {}", label(last), if top.is_empty() { "none".into() } else { top.join("; ") });

    // Batches of 10,000 new moves: answered once durable and in the served
    // snapshot (patched, not rebuilt).
    println!("\n| POST /api/moves, 10,000 moves | n | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|");
    let mut post_ms = Vec::new();
    let mut retry_ms = Vec::new();
    let mut rebuild_s = Vec::new();
    let mut patch_ms = Vec::new();
    for b in 0..batches {
        if b > 0 && !gap.is_zero() {
            tokio::time::sleep(gap).await;
        }
        let date = if daily {
            format!("{}-{:02}", label(last + 1 + b as u32 / 28), 1 + b % 28)
        } else {
            format!("{}-15", label(last))
        };
        let items: Vec<Value> = (0..10_000)
            .map(|i| {
                let n = b * 10_000 + i;
                let talent = &talent_ids[(b % rounds + i * rounds) % talent_ids.len()];
                let lon = 116.95 + (n % 997) as f64 * 0.0003;
                let lat = 36.62 + (n % 991) as f64 * 0.0001;
                if i % 3 == 0 {
                    json!({"id": format!("FEED-{b}-{i}"), "talent_id": talent, "date": date,
                           "event": "leave", "from_lon": lon, "from_lat": lat, "destination": "上海"})
                } else {
                    json!({"id": format!("FEED-{b}-{i}"), "talent_id": talent, "date": date,
                           "event": "job_change", "from_lon": lon, "from_lat": lat, "to_lon": 117.05 + (n % 13) as f64 * 0.01,
                           "to_lat": 36.67, "to_enterprise_id": enterprise_ids[n % enterprise_ids.len()]})
                }
            })
            .collect();
        let body = serde_json::to_vec(&json!({ "moves": items })).unwrap();
        let post = || {
            Request::post("/api/moves")
                .header(header::AUTHORIZATION, &feeder)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.clone()))
                .unwrap()
        };
        let started = Instant::now();
        let (status, resp, ms) = call(&state, post()).await;
        assert_eq!(status, StatusCode::OK, "{resp}");
        post_ms.push(ms);
        let version = resp["version"].as_u64().unwrap();
        while state.snapshot().version < version {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        rebuild_s.push(started.elapsed().as_secs_f64() - ms / 1000.0);
        patch_ms.push(state.snapshot().build_ms as f64);
        if retries {
            let (status, resp, ms) = call(&state, post()).await;
            assert_eq!((status, resp["stored"].as_u64()), (StatusCode::OK, Some(0)), "{resp}");
            retry_ms.push(ms);
        }
    }
    // Which batches were slow, 1-based, and the first (the feed's first
    // batch since the state was made).
    let slow: Vec<String> = post_ms
        .iter()
        .enumerate()
        .filter(|(_, ms)| **ms > 1000.0)
        .map(|(i, ms)| format!("{} ({ms:.0} ms)", i + 1))
        .collect();
    let first = post_ms.first().copied().unwrap_or(0.0);
    let mut rest = post_ms.get(1..).unwrap_or_default().to_vec();
    rest.sort_by(|a, b| a.total_cmp(b));
    for (label, mut times) in
        [("new batch (durable commit, snapshot followed)", post_ms), ("retried batch (all unchanged)", retry_ms)]
    {
        if times.is_empty() {
            continue;
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "| {label} | {} | {:.0} | {:.0} | {:.0} |",
            times.len(),
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times.last().copied().unwrap_or(0.0)
        );
    }
    println!(
        "\n- new batches answered after more than 1 s: {} of {batches}{}",
        slow.len(),
        if slow.is_empty() { String::new() } else { format!(": batch {}", slow.join(", ")) }
    );
    println!(
        "- the first batch (feed {}) {first:.0} ms; the others p50 {:.0} ms, max {:.0} ms",
        if ready { "readied before it" } else { "opened by it" },
        percentile(&rest, 0.5),
        rest.last().copied().unwrap_or(0.0)
    );
    rebuild_s.sort_by(|a, b| a.total_cmp(b));
    patch_ms.sort_by(|a, b| a.total_cmp(b));
    println!(
        "\n- the batch is in the served snapshot when the answer arrives (waited after the answer: max {:.3} s); \
         of the answer time, the snapshot patch (talents out and in, indexes, totals, flow cubes): median {:.0} ms, max {:.0} ms",
        rebuild_s.last().copied().unwrap_or(0.0),
        percentile(&patch_ms, 0.5),
        patch_ms.last().copied().unwrap_or(0.0)
    );
    if !keep {
        let _ = std::fs::remove_dir_all(&out);
    }
}
