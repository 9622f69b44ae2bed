//! Area profiles at scale: generate a city (or reuse one with `--keep`),
//! build the snapshot and the commute index, then time the profile of the
//! largest district and park (the baseline: regions whose membership is
//! precomputed) against study areas of several sizes and shapes, their
//! footprints, and a study area's flow series; then flows by enterprise and
//! industry against district flows (city-wide and focused), and past months'
//! views built from the store (`--past-only 1` runs only these two). Prints a
//! Markdown report (the views' phases on standard error); nothing is asserted.
//!
//! ```sh
//! cargo run --release --example areas_scale -- --talents 1000000 --enterprises 50000 --keep
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{ScaleArgs, percentile, rss_mib};
use talentmap::analytics::commute::CommuteIndex;
use talentmap::analytics::flows::{self, OdFocus, OdLevel, Scope};
use talentmap::analytics::privacy::Disclosure;
use talentmap::analytics::profile::profile;
use talentmap::areas::{Footprint, Place, ShapeProperties, parse};
use talentmap::generate::{GenerateOptions, generate};
use talentmap::import::{ImportKind, ImportOptions, import_file};
use talentmap::model::{RegionKind, Taxonomy};
use talentmap::snapshot::{self, MoveRec};
use talentmap::store::Store;

fn row(what: &str, times: &mut [f64], extra: &str) {
    times.sort_by(f64::total_cmp);
    println!(
        "| {what} | {} | {:.1} | {:.1} | {extra} |",
        times.len(),
        percentile(times, 0.5),
        times.last().copied().unwrap_or(0.0)
    );
}

fn timed<T>(runs: usize, mut f: impl FnMut() -> T) -> (Vec<f64>, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    (times, last.unwrap())
}

fn main() {
    let args = ScaleArgs::parse("talentmap-areas-scale", &["runs", "past-only"]);
    let runs = args.extra_usize("runs", 5);
    let past_only = args.extra_usize("past-only", 0) == 1;
    // The past views' build phases, on standard error.
    tracing_subscriber::fmt().with_env_filter("talentmap=info").with_writer(std::io::stderr).init();
    let ScaleArgs { talents, enterprises, out, keep, .. } = args;
    let (files, data) = (out.join("files"), out.join("data"));
    println!("## Area profiles at scale: {talents} talents, {enterprises} enterprises\n");
    let taxonomy = Taxonomy::builtin();
    if !(keep && data.join("talentmap.sqlite").exists()) {
        let _ = std::fs::remove_dir_all(&data);
        generate(&GenerateOptions { seed: 7, talents, enterprises }, &files).unwrap();
        let mut store = Store::open(&data).unwrap();
        for kind in ImportKind::ALL {
            import_file(&mut store, &taxonomy, kind, &files.join(kind.file_name()), ImportOptions::default()).unwrap();
        }
    }
    let mut store = Store::open(&data).unwrap();
    let snap = Arc::new(snapshot::build(&mut store, Arc::new(taxonomy)).unwrap());
    let index = CommuteIndex::build(&snap);
    println!(
        "- {} talents, {} moves ({} bytes each: {:.0} MiB of move table), resident {:.0} MiB\n",
        snap.talents.len(),
        snap.flows.moves.len(),
        std::mem::size_of::<MoveRec>(),
        (snap.flows.moves.len() * std::mem::size_of::<MoveRec>()) as f64 / (1 << 20) as f64,
        rss_mib()
    );
    let largest = |kind: RegionKind| {
        (0..snap.regions.len() as u16)
            .filter(|&r| snap.regions[r as usize].kind == kind)
            .max_by_key(|&r| snap.regions[r as usize].stats.talents)
            .unwrap()
    };
    let d = Disclosure::Protected { k: 5 };
    println!("| what | runs | p50 ms | max ms | notes |\n|---|---:|---:|---:|---|");
    let kinds = if past_only { &[][..] } else { &[RegionKind::District, RegionKind::Park][..] };
    for &kind in kinds {
        let r = largest(kind);
        let info = &snap.regions[r as usize];
        let (mut t, p) = timed(runs, || profile(&snap, &index, Place::Region(r), d, d));
        let what = format!("profile of the largest {} (baseline)", kind.code());
        row(&what, &mut t, &format!("{} {}: {} residents", info.id, info.name, p.headline.residents));
    }
    // Study areas around the largest park's centre.
    let park = &snap.regions[largest(RegionKind::Park) as usize];
    let [lon, lat] = park.centre;
    let feature = |geometry: serde_json::Value, props: serde_json::Value| {
        let g: geojson::Geometry = serde_json::from_value(geometry).unwrap();
        let p: ShapeProperties = serde_json::from_value(props).unwrap();
        parse(&g, &p, None).unwrap()
    };
    let shapes = [
        (
            "circle r = 2 km",
            feature(
                serde_json::json!({"type": "Point", "coordinates": [lon, lat]}),
                serde_json::json!({"name": "c", "radius_m": 2000}),
            ),
        ),
        (
            "circle r = 10 km",
            feature(
                serde_json::json!({"type": "Point", "coordinates": [lon, lat]}),
                serde_json::json!({"name": "c", "radius_m": 10000}),
            ),
        ),
        (
            "corridor 30 km × 1 km",
            feature(
                serde_json::json!({"type": "LineString", "coordinates": [[lon - 0.17, lat], [lon + 0.17, lat]]}),
                serde_json::json!({"name": "l", "buffer_m": 500}),
            ),
        ),
        ("the park's own outline", {
            let mut s = feature(
                serde_json::json!({"type": "Point", "coordinates": [lon, lat]}),
                serde_json::json!({"name": "c", "radius_m": 100}),
            );
            s.geometry = park.geometry.clone();
            s
        }),
    ];
    for (what, shape) in shapes.iter().filter(|_| !past_only) {
        let (mut t, f) = timed(runs, || Footprint::of(&shape.geometry));
        row(
            &format!("footprint: {what}"),
            &mut t,
            &format!("{} cells, {:.1} km²", f.len(), talentmap::areas::km2(&shape.geometry)),
        );
        let (mut t, p) = timed(runs, || profile(&snap, &index, Place::Study(&f), d, d));
        row(
            &format!("profile: {what}"),
            &mut t,
            &format!("{} residents, {} workers", p.headline.residents, p.headline.workers),
        );
        let last = snap.flows.first_month + snap.flows.months as u32 - 1;
        let (mut t, s) = timed(runs, || flows::series(&snap, Place::Study(&f), &Scope::default(), last - 23, last, d));
        let departures: u64 = s.iter().filter_map(|m| m.departures).sum();
        row(&format!("flow series, 24 months: {what}"), &mut t, &format!("{departures} departures"));
    }

    // Where talent goes: flows by district (the baseline), enterprise and
    // industry over the last 12 months, for the city and focused.
    let last = snap.flows.first_month + snap.flows.months as u32 - 1;
    let (from, to) = ((last - 11 - snap.flows.first_month) as u16, (last - snap.flows.first_month) as u16);
    let biggest = (0..snap.enterprises.len() as u32).max_by_key(|&e| snap.enterprises[e as usize].employees).unwrap();
    let district = largest(RegionKind::District);
    let cases: [(&str, OdLevel, OdFocus); 6] = [
        ("flows, 12 months: district × district (baseline)", OdLevel::Region(RegionKind::District), OdFocus::City),
        ("flows, 12 months: enterprise × enterprise", OdLevel::Enterprise, OdFocus::City),
        ("flows, 12 months: industry × industry", OdLevel::Industry, OdFocus::City),
        ("flows, 12 months: the largest enterprise's", OdLevel::Enterprise, OdFocus::Enterprise(biggest)),
        (
            "flows, 12 months: the largest district's, by enterprise",
            OdLevel::Enterprise,
            OdFocus::Area(Place::Region(district)),
        ),
        (
            "flows, 12 months: the largest district's, by industry",
            OdLevel::Industry,
            OdFocus::Area(Place::Region(district)),
        ),
    ];
    for (what, level, focus) in cases {
        let (mut t, m) = timed(runs, || flows::od(&snap, level, focus, &Scope::default(), from, to));
        row(what, &mut t, &format!("{} lines", m.lines.len()));
    }
    // The city as of a past month's end: the view built from the store.
    for back in [1, 6, 12, 24] {
        let month = last - back;
        let (mut t, past) = timed(2, || snapshot::past::at_month_end(&mut store, &snap, month).unwrap());
        let what = format!("talents as of {} ({back} months back): view built", flows::month_label(month));
        row(&what, &mut t, &format!("{} talents then, {} now", past.talents.len(), snap.talents.len()));
    }
    println!("\n- resident after the views: {:.0} MiB", rss_mib());
}
