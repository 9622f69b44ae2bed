//! generate → import → serve: `/api/stats` equals the counts in the files,
//! and a running server picks up an import made by another process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use talentmap::api::{AppState, Settings, router};
use talentmap::generate::{GenerateOptions, generate};
use talentmap::import::{ImportKind, ImportOptions, import_file};
use talentmap::model::Taxonomy;
use talentmap::snapshot;
use talentmap::store::Store;
use tower::ServiceExt;

/// Data rows of a CSV file, and the sum of one column if asked.
fn csv_rows(path: &Path, sum_column: Option<&str>) -> (u64, u64) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let col = sum_column.map(|c| reader.headers().unwrap().iter().position(|h| h == c).unwrap());
    let (mut rows, mut sum) = (0, 0);
    for r in reader.records() {
        let r = r.unwrap();
        rows += 1;
        if let Some(c) = col {
            sum += r[c].parse::<u64>().unwrap();
        }
    }
    (rows, sum)
}

/// Talents whose latest move in a moves file is `leave`.
fn departed_in(path: &Path) -> u64 {
    let mut latest: std::collections::HashMap<String, (String, String, String)> = Default::default();
    for r in csv::Reader::from_path(path).unwrap().records() {
        let r = r.unwrap();
        let this = (r[2].to_string(), r[0].to_string(), r[3].to_string());
        let entry = latest.entry(r[1].to_string()).or_insert_with(|| this.clone());
        if (&this.0, &this.1) > (&entry.0, &entry.1) {
            *entry = this;
        }
    }
    latest.values().filter(|l| l.2 == "leave").count() as u64
}

async fn stats(state: &AppState) -> serde_json::Value {
    let resp = router(state.clone()).oneshot(Request::get("/api/stats").body(Body::empty()).unwrap()).await.unwrap();
    serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

#[tokio::test]
async fn generated_city_round_trips_through_import_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    generate(&GenerateOptions { seed: 9, talents: 6_000, enterprises: 300 }, &files).unwrap();
    let data = dir.path().join("data");
    let mut store = Store::open(&data).unwrap();
    let taxonomy = Taxonomy::builtin();
    for kind in ImportKind::ALL {
        import_file(&mut store, &taxonomy, kind, &files.join(kind.file_name()), ImportOptions::default()).unwrap();
    }
    let snap = snapshot::build(&mut store, Arc::new(taxonomy)).unwrap();
    let state = AppState::new(snap, Some(data.clone()), Settings::default());
    let s = stats(&state).await;

    let regions: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(files.join("regions.geojson")).unwrap()).unwrap();
    assert_eq!(s["regions"].as_u64().unwrap(), regions["features"].as_array().unwrap().len() as u64);
    assert_eq!(s["enterprises"].as_u64().unwrap(), csv_rows(&files.join("enterprises.csv"), None).0);
    assert_eq!(s["stations"].as_u64().unwrap(), csv_rows(&files.join("stations.csv"), None).0);
    let (vacancies, openings) = csv_rows(&files.join("vacancies.csv"), Some("openings"));
    assert_eq!((s["vacancies"].as_u64().unwrap(), s["openings"].as_u64().unwrap()), (vacancies, openings));
    // Talents in the city now: those whose latest move (by date, then id)
    // is not a departure (docs/present.md). The public's counts are
    // perturbed (docs/privacy.md): each within ±2.
    let departed = departed_in(&files.join("moves.csv"));
    assert!(departed > 100, "the demo city has leavers ({departed})");
    assert!(s["talents"].as_u64().unwrap().abs_diff(6_000 - departed) <= 2, "{}", s["talents"]);
    assert!(s["registered"].as_u64().unwrap().abs_diff(6_000) <= 2, "{}", s["registered"]);
    assert!(s["departed"].as_u64().unwrap().abs_diff(departed) <= 2, "{}", s["departed"]);
    assert_eq!(s["moves"].as_u64().unwrap(), csv_rows(&files.join("moves.csv"), None).0);
    assert_eq!(s["version"].as_u64().unwrap(), 6, "one data version per import");
    let districts = s["districts"].as_array().unwrap();
    assert_eq!(districts.len(), 10, "the ten real Jinan districts");
    let placed: u64 = districts.iter().map(|d| d["talents"].as_u64().unwrap_or(0)).sum();
    let here = 6_000 - departed;
    assert!(placed + 60 > here && placed <= here + 25, "nearly every home lies in a district: {placed} of {here}");

    // Another process imports: the server's reloader sees the new version.
    let extra = dir.path().join("extra.csv");
    let mut lines = BufReader::new(std::fs::File::open(files.join("stations.csv")).unwrap()).lines();
    let header = lines.next().unwrap().unwrap();
    std::fs::write(&extra, format!("{header}\nS999,新站,117.05,36.66,metro,New Station\n")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_talentmap"))
        .args(["import", "stations"])
        .arg(&extra)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reloader = talentmap::api::spawn_reloader(state.clone(), std::time::Duration::from_millis(100));
    let mut seen = 0;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        seen = stats(&state).await["stations"].as_u64().unwrap();
        if seen == csv_rows(&files.join("stations.csv"), None).0 + 1 {
            break;
        }
    }
    reloader.abort();
    assert_eq!(seen, csv_rows(&files.join("stations.csv"), None).0 + 1, "the import was picked up without a restart");
    assert_eq!(stats(&state).await["version"].as_u64().unwrap(), 7);
}
