//! The saved snapshot (`snapshot::file`): a start that reads it serves
//! exactly what a start that builds from the store serves, and a file that
//! does not match the store (another version, another store, damaged,
//! truncated) is never used.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use talentmap::analytics::saved;
use talentmap::api::{AppState, Settings};
use talentmap::generate::{GenerateOptions, generate};
use talentmap::import::{ImportKind, ImportOptions, import_file};
use talentmap::model::Taxonomy;
use talentmap::snapshot::file::{self, FileError, Identity, Origin};
use talentmap::snapshot::{self, Snapshot};
use talentmap::spatial::TileId;
use talentmap::store::Store;

/// A generated city with moves, imported into `dir/data`.
fn city(dir: &Path, talents: usize) -> (Store, PathBuf) {
    let files = dir.join("files");
    generate(&GenerateOptions { seed: 11, talents, enterprises: talents / 20 }, &files).unwrap();
    let data = dir.join("data");
    let mut store = Store::open(&data).unwrap();
    let taxonomy = Taxonomy::builtin();
    for kind in ImportKind::ALL {
        import_file(&mut store, &taxonomy, kind, &files.join(kind.file_name()), ImportOptions::default()).unwrap();
    }
    (store, data)
}

fn taxonomy() -> Arc<Taxonomy> {
    Arc::new(Taxonomy::builtin())
}

fn identity(store: &Store, snap: &Snapshot) -> Identity {
    Identity::current(&store.instance().unwrap(), snap.version, &snap.taxonomy)
}

/// The tile of zoom `z` holding a point.
fn tile_at(lon: f64, lat: f64, z: u8) -> TileId {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let r = lat.to_radians();
    let y = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    TileId { z, x, y }
}

/// Tiles over the city at zooms 6–14 (the pyramid zooms and the record
/// zooms), and the JSON routes of every analytics family.
fn uris(snap: &Snapshot) -> Vec<String> {
    let district = snap.regions.iter().find(|r| r.kind == talentmap::model::RegionKind::District).unwrap();
    let park = snap.regions.iter().find(|r| r.kind == talentmap::model::RegionKind::Park).unwrap();
    let [lon, lat] = district.centre;
    let mut uris = Vec::new();
    for z in [6u8, 9, 11, 12, 14] {
        let tile = tile_at(lon, lat, z);
        for layer in ["talents", "vacancies", "enterprises", "stations", "regions"] {
            uris.push(format!("/tiles/{layer}/{}/{}/{}.mvt", tile.z, tile.x, tile.y));
        }
        uris.push(format!("/tiles/talents/{}/{}/{}.mvt?field=0812", tile.z, tile.x, tile.y));
    }
    let (d, p) = (&district.id, &park.id);
    for u in [
        "/api/stats".to_string(),
        "/api/regions".to_string(),
        format!("/api/regions/{d}"),
        "/api/shortage?field=0812".to_string(),
        "/api/shortage?field=0812&by=district".to_string(),
        format!("/api/mismatch?area={d}"),
        format!("/api/flows/series?area={d}"),
        format!("/api/flows/series?area={p}&field=0812"),
        "/api/flows/alerts".to_string(),
        "/api/flows/od".to_string(),
        format!("/api/commute/summary?area={d}"),
        "/api/commute/districts".to_string(),
        "/api/commute/underserved".to_string(),
        format!("/api/aggregates?layer=talents&bbox={},{},{},{}&zoom=12", lon - 0.1, lat - 0.1, lon + 0.1, lat + 0.1),
    ] {
        uris.push(u);
    }
    uris
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_snapshot_serves_what_the_store_builds() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, data) = city(dir.path(), 6_000);
    let built = snapshot::build(&mut store, taxonomy()).unwrap();
    assert!(built.totals.moves > 1_000 && built.flows.months > 1, "the city has moves");
    let path = file::path_in(&data);
    let bytes = file::save(&built, &identity(&store, &built), &path).unwrap();
    assert!(bytes > 6_000 * 30, "{bytes} bytes");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "owner-only: it holds the record keys");
    }

    let (read, origin) = file::open(&mut store, taxonomy(), &data).unwrap();
    assert_eq!(origin, Origin::Saved);

    // The records and everything derived from them.
    assert_eq!(read.version, built.version);
    assert_eq!(read.layers, built.layers, "layer versions");
    assert!(built.layers.talents > 0 && built.layers.stations > 0);
    assert_eq!(read.talents, built.talents);
    assert_eq!(read.flows.moves, built.flows.moves);
    assert_eq!(read.flows.destinations, built.flows.destinations);
    assert_eq!((read.flows.first_month, read.flows.months), (built.flows.first_month, built.flows.months));
    assert_eq!(format!("{:?}", read.vacancies), format!("{:?}", built.vacancies));
    assert_eq!(format!("{:?}", read.enterprises), format!("{:?}", built.enterprises));
    assert_eq!(format!("{:?}", read.stations), format!("{:?}", built.stations));
    assert_eq!(format!("{:?}", read.regions), format!("{:?}", built.regions), "regions, polygons and totals");
    assert_eq!(serde_json::to_value(&read.totals).unwrap(), serde_json::to_value(&built.totals).unwrap());
    assert_eq!(format!("{:?}", read.totals_tallies), format!("{:?}", built.totals_tallies));
    for slot in 0..built.flows.region_of_slot.len() as u16 {
        for month in 0..built.flows.months {
            for field in [None, Some(0u8), Some(3)] {
                assert_eq!(read.flows.counts(slot, month, field, None), built.flows.counts(slot, month, field, None));
            }
            assert_eq!(
                read.flows.counts(slot, month, None, Some(&[1, 2])),
                built.flows.counts(slot, month, None, Some(&[1, 2]))
            );
        }
        assert_eq!(read.flows.residents_with_field(slot, 2), built.flows.residents_with_field(slot, 2));
    }
    assert_eq!(read.by_work, built.by_work, "the workplace order");

    // Every route answers the same bytes (the public role: disclosure
    // control included, so record keys survived too).
    let uris = uris(&built);
    let a = AppState::new(built, None, Settings::default());
    let b = AppState::new(read, None, Settings::default());
    let (mut full, mut bad) = (0, Vec::new());
    for uri in &uris {
        let (sa, ba) = common::get_bytes(&a, uri).await;
        let (sb, bb) = common::get_bytes(&b, uri).await;
        if !(sa == 200 || sa == 204) {
            bad.push(format!("{uri}: {sa} {}", String::from_utf8_lossy(&ba)));
        }
        assert_eq!((sb, bb.len()), (sa, ba.len()), "{uri}");
        assert!(ba == bb, "{uri}: the saved snapshot answers other bytes");
        full += usize::from(!ba.is_empty());
    }
    assert!(bad.is_empty(), "{bad:#?}");
    assert!(full + 5 >= uris.len(), "most answers have content: {full} of {}", uris.len());
}

#[test]
fn a_file_that_does_not_match_the_store_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, data) = city(dir.path(), 1_500);
    let built = snapshot::build(&mut store, taxonomy()).unwrap();
    let path = file::path_in(&data);
    let id = identity(&store, &built);
    file::save(&built, &id, &path).unwrap();
    let good = std::fs::read(&path).unwrap();
    let rebuilt = |store: &mut Store| match file::open(store, taxonomy(), &data).unwrap() {
        (snap, Origin::Built(why)) => (snap, why),
        (_, Origin::Saved) => panic!("the saved snapshot was used"),
    };

    // Damaged: one flipped byte in the talent records, or cut short.
    let mut damaged = good.clone();
    let at = good.len() / 2;
    damaged[at] ^= 0x40;
    std::fs::write(&path, &damaged).unwrap();
    let (snap, why) = rebuilt(&mut store);
    assert!(why.contains("damaged"), "{why}");
    assert_eq!(snap.talents, built.talents, "built from the store instead");
    std::fs::write(&path, &good[..good.len() - 100]).unwrap();
    assert!(rebuilt(&mut store).1.contains("damaged"));
    std::fs::write(&path, &good[..10]).unwrap();
    assert!(rebuilt(&mut store).1.contains("format"));
    std::fs::write(&path, b"").unwrap();
    assert!(rebuilt(&mut store).1.contains("format"));
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(file::load(&path, &id, taxonomy()), Err(FileError::Missing)));
    assert!(rebuilt(&mut store).1.contains("no saved snapshot"));

    // The same file is used again once whole.
    std::fs::write(&path, &good).unwrap();
    assert_eq!(file::open(&mut store, taxonomy(), &data).unwrap().1, Origin::Saved);

    // The store moved on: an import after the file was written.
    let extra = dir.path().join("extra.csv");
    std::fs::write(&extra, "id,name,lon,lat,mode\nS999,新站,117.05,36.66,metro\n").unwrap();
    import_file(&mut store, &taxonomy(), ImportKind::Stations, &extra, ImportOptions::default()).unwrap();
    let (snap, why) = rebuilt(&mut store);
    assert!(why.contains(&format!("data version {}", built.version)), "{why}");
    assert_eq!(snap.totals.stations, built.totals.stations + 1);

    // Another store at the same data version is not this one.
    let other_dir = tempfile::tempdir().unwrap();
    let (mut other, other_data) = city(other_dir.path(), 1_500);
    assert_eq!(other.data_version().unwrap(), built.version);
    std::fs::write(file::path_in(&other_data), &good).unwrap();
    match file::open(&mut other, taxonomy(), &other_data).unwrap() {
        (_, Origin::Built(why)) => assert!(why.contains("another store"), "{why}"),
        (_, Origin::Saved) => panic!("another store's snapshot was used"),
    }

    // Other code tables.
    let mut other_id = id.clone();
    other_id.taxonomy ^= 1;
    std::fs::write(&path, &good).unwrap();
    assert!(
        matches!(file::load(&path, &other_id, taxonomy()), Err(FileError::Stale(why)) if why.contains("code tables"))
    );
    let mut next_year = id;
    next_year.reference_year += 1;
    assert!(
        matches!(file::load(&path, &next_year, taxonomy()), Err(FileError::Stale(why)) if why.contains("reference year"))
    );
}

/// The routes the saved derived indexes answer: commute (the commute
/// index), shortage by field and the briefing (the fields' catchments).
fn derived_uris(snap: &Snapshot) -> Vec<String> {
    let district = snap.regions.iter().find(|r| r.kind == talentmap::model::RegionKind::District).unwrap();
    let park = snap.regions.iter().find(|r| r.kind == talentmap::model::RegionKind::Park).unwrap();
    let [lon, lat] = district.centre;
    let mut uris: Vec<String> = [
        format!("/api/commute/summary?area={}", district.id),
        format!("/api/commute/summary?area={}", park.id),
        "/api/commute/districts".to_string(),
        "/api/commute/underserved".to_string(),
        "/api/shortage?field=0812".to_string(),
        "/api/shortage?field=0812&by=district".to_string(),
        "/api/shortage?field=0812&by=park".to_string(),
        format!("/api/shortage/fields?area={}", district.id),
        "/api/briefing".to_string(),
        "/api/briefing?lang=en".to_string(),
    ]
    .into();
    for z in [9u8, 12] {
        let TileId { x, y, .. } = tile_at(lon, lat, z);
        uris.push(format!("/tiles/shortage/{z}/{x}/{y}.mvt?field=0812"));
        uris.push(format!("/tiles/commute/{z}/{x}/{y}.mvt?work_area={}", park.id));
    }
    uris
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_derived_indexes_serve_what_a_build_serves() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, data) = city(dir.path(), 6_000);
    let built = snapshot::build(&mut store, taxonomy()).unwrap();
    let id = identity(&store, &built);
    file::save(&built, &id, &file::path_in(&data)).unwrap();
    drop(built);
    let read = || file::load(&file::path_in(&data), &id, taxonomy()).unwrap();

    // A server that built its indexes saves them.
    let a = AppState::new(read(), None, Settings::default());
    let path = saved::path_in(&data);
    let derived = a.derived(&a.snapshot());
    assert!(derived.catchments.len() >= 10, "one catchment per field: {}", derived.catchments.len());
    let bytes = saved::save(&path, &id, &derived).unwrap();
    assert!(bytes > 6_000 * 4, "{bytes} bytes");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "owner-only: it holds cell keys");
    }
    assert_eq!(saved::identity_of(&path).unwrap(), (id.clone(), saved::code_digest()));

    // A server started on the same snapshot reads them and builds nothing.
    let b_snap = read();
    let loaded = saved::load(&path, &id, &b_snap).unwrap();
    let index = loaded.commute.clone();
    let catchment = loaded.catchments[3].3.clone();
    let b = AppState::new(b_snap, None, Settings::default());
    b.install_derived(loaded);
    assert!(Arc::ptr_eq(&b.commute.get(&b.snapshot()), &index), "the commute index read back is used");
    let again = b.derived(&b.snapshot());
    assert!(Arc::ptr_eq(&again.catchments[3].3, &catchment), "the catchments read back are used");

    // And answers the same bytes.
    for uri in derived_uris(&a.snapshot()) {
        let (sa, ba) = common::get_bytes(&a, &uri).await;
        let (sb, bb) = common::get_bytes(&b, &uri).await;
        assert!(sa == 200 || sa == 204, "{uri}: {sa} {}", String::from_utf8_lossy(&ba));
        assert_eq!(sb, sa, "{uri}");
        assert!(ba == bb, "{uri}: the saved indexes answer other bytes");
    }
}

#[test]
fn saved_derived_indexes_that_do_not_match_are_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, data) = city(dir.path(), 1_500);
    let snap = Arc::new(snapshot::build(&mut store, taxonomy()).unwrap());
    let id = identity(&store, &snap);
    let path = saved::path_in(&data);
    assert!(matches!(saved::load(&path, &id, &snap), Err(FileError::Stale(why)) if why.contains("none")));
    let state = AppState::new(snapshot::build(&mut store, taxonomy()).unwrap(), None, Settings::default());
    saved::save(&path, &id, &state.derived(&state.snapshot())).unwrap();
    assert!(saved::load(&path, &id, &snap).is_ok());
    let good = std::fs::read(&path).unwrap();

    // Another data version.
    let mut newer = id.clone();
    newer.version += 1;
    assert!(matches!(saved::load(&path, &newer, &snap), Err(FileError::Stale(_))));
    // Damaged or cut short: refused, never a panic.
    for at in [good.len() / 3, good.len() / 2, good.len() - 5] {
        let mut bad = good.clone();
        bad[at] ^= 0x40;
        std::fs::write(&path, &bad).unwrap();
        assert!(matches!(saved::load(&path, &id, &snap), Err(FileError::Corrupt(_))), "byte {at}");
    }
    for len in [20, good.len() / 2, good.len() - 1] {
        std::fs::write(&path, &good[..len]).unwrap();
        assert!(saved::load(&path, &id, &snap).is_err(), "cut at {len}");
    }
    // A snapshot file is not a derived index file.
    file::save(&snap, &id, &path).unwrap();
    assert!(matches!(saved::load(&path, &id, &snap), Err(FileError::Stale(_))));
    // Indexes that do not fit the snapshot they claim to be for (another
    // city under the same identity) are refused.
    std::fs::write(&path, &good).unwrap();
    let (mut other_store, _) = city(&dir.path().join("other"), 900);
    let other = snapshot::build(&mut other_store, taxonomy()).unwrap();
    assert!(matches!(saved::load(&path, &id, &other), Err(FileError::Corrupt(_))));
}

/// Polls until `f` holds, for at most a minute.
fn wait_for(what: &str, f: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_saves_each_published_snapshot_for_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, data) = city(dir.path(), 1_500);
    let instance = store.instance().unwrap();
    let (snap, origin) = file::open(&mut store, taxonomy(), &data).unwrap();
    assert!(matches!(origin, Origin::Built(_)));
    let first = snap.version;
    let state = AppState::new(snap, Some(data.clone()), Settings::default()).keep_saved_snapshot(instance.clone());
    let path = file::path_in(&data);
    let version_saved = || file::identity_of(&path).map(|i| i.version).ok();
    wait_for("the first save", || version_saved() == Some(first));
    // The slow derived indexes follow, for the same snapshot.
    let derived_path = saved::path_in(&data);
    let derived_saved = || saved::identity_of(&derived_path).map(|(i, _)| i.version).ok();
    wait_for("the derived indexes' save", || derived_saved() == Some(first));

    // An import by another process: the reloader publishes, the saver follows.
    let extra = dir.path().join("extra.csv");
    std::fs::write(&extra, "id,name,lon,lat,mode\nS999,新站,117.05,36.66,metro\n").unwrap();
    import_file(&mut store, &taxonomy(), ImportKind::Stations, &extra, ImportOptions::default()).unwrap();
    let s = state.clone();
    let next = tokio::task::spawn_blocking(move || s.refresh()).await.unwrap().unwrap().unwrap();
    assert_eq!(next, first + 1);
    wait_for("the save of the new version", || version_saved() == Some(next));
    wait_for("the derived indexes of the new version", || derived_saved() == Some(next));

    // The next start reads it.
    let (read, origin) = file::open(&mut store, taxonomy(), &data).unwrap();
    assert_eq!(origin, Origin::Saved);
    assert_eq!((read.version, read.totals.stations), (next, state.snapshot().totals.stations));
    let loaded = saved::load(&derived_path, &identity(&store, &read), &read).unwrap();
    assert!(!loaded.catchments.is_empty());
    drop(state);
}
