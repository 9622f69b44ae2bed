//! The binary as a user runs it: exit codes, messages, the error report,
//! and a process killed in the middle of an import.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use talentmap::store::{Store, Table};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_talentmap"));
    c.env_remove("TALENTMAP_DATA").env("RUST_LOG", "warn");
    c
}

#[test]
fn import_exit_codes_messages_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let regions = write(dir.path(), "regions.geojson", REGIONS);
    let out = bin().args(["import", "regions"]).arg(&regions).arg("--data").arg(&data).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 3 regions"));

    let mut bad = String::from("id,name,lon,lat,mode\n");
    for i in 0..25 {
        bad.push_str(&format!("S{i},站,117.0,36.6,tram\n"));
    }
    let bad = write(dir.path(), "bad.csv", &bad);
    let report = dir.path().join("errors.csv");
    let out = bin()
        .args(["import", "stations"])
        .arg(&bad)
        .arg("--data")
        .arg(&data)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.csv:2:5: mode = \"tram\": accepted values: metro, rail, brt, bus"), "{stderr}");
    assert!(stderr.contains("and 5 more"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&report).unwrap().lines().count(), 26);
    assert_eq!(Store::open(&data).unwrap().count(Table::Stations).unwrap(), 0);

    let out = bin().args(["import", "people"]).arg(&bad).arg("--data").arg(&data).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
    let out = bin()
        .args(["import", "stations"])
        .arg(dir.path().join("missing.csv"))
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a missing file is a system error, not invalid data");
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.csv"));

    let out = bin().args(["stats", "--data"]).arg(&data).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["regions"].as_u64(), v["talents"].as_u64()), (Some(3), Some(0)));
}

/// Regressions: a missing file exited 1; a header-only file bumped the data
/// version; header errors gave no column; points outside every region were
/// imported without a word.
#[test]
fn import_exit_codes_for_system_errors_empty_files_headers_and_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(tiny_city(dir.path(), 2));
    let version = || Store::open(&data).unwrap().data_version().unwrap();
    let before = version();
    let run = |file: &std::path::Path, extra: &[&str]| {
        let out = bin().args(["import", "stations"]).arg(file).arg("--data").arg(&data).args(extra).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (code, _, stderr) = run(dir.path(), &[]);
    assert_eq!(code, Some(2), "a directory cannot be read: {stderr}");

    let (code, stdout, stderr) = run(&write(dir.path(), "empty.csv", "id,name,lon,lat,mode\r\n"), &["--replace"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("no data rows") && stdout.contains("nothing was imported"), "{stdout}");
    assert_eq!(version(), before);
    assert_eq!(Store::open(&data).unwrap().count(Table::Stations).unwrap(), 2);

    let (code, _, stderr) = run(&write(dir.path(), "h.csv", "id,name,lon,lat,mdoe\r\nS1,站,117.0,36.6,metro\r\n"), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("h.csv:1:5: mdoe: unknown column 'mdoe' (column 5)"), "{stderr}");
    assert!(stderr.contains("h.csv:1:0: mode: missing required column 'mode'"), "{stderr}");

    let report = dir.path().join("report.csv");
    let far =
        write(dir.path(), "far.csv", "id,name,lon,lat,mode\r\nS8,近站,117.01,36.61,bus\r\nS9,远站,100.0,30.0,rail\r\n");
    let (code, stdout, stderr) = run(&far, &["--report", report.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("imported 2 stations"), "{stdout}");
    assert!(stderr.contains("warning: 1 point lies outside every region"), "{stderr}");
    assert!(stderr.contains("far.csv:3:3: lon = \"100, 30\""), "{stderr}");
    let written = std::fs::read_to_string(&report).unwrap();
    assert_eq!(written.lines().count(), 2, "{written}");
    assert!(
        written.lines().nth(1).unwrap().contains("far.csv,3,3,lon,") && written.ends_with(",warning\n"),
        "{written}"
    );
    assert_eq!(version(), before + 1);
}

#[test]
fn data_dir_from_environment() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("envdata");
    let regions = write(dir.path(), "regions.geojson", REGIONS);
    let out = bin().args(["import", "regions"]).arg(&regions).env("TALENTMAP_DATA", &data).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(data.join("talentmap.sqlite").exists());
}

/// Killing the importer mid-way must leave the previous data intact and
/// usable: SQLite rolls the unfinished transaction back on next open.
#[test]
fn kill_during_import_leaves_previous_data_intact() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(tiny_city(dir.path(), 50));
    let (version, talents) = {
        let store = Store::open(&data).unwrap();
        (store.data_version().unwrap(), store.count(Table::Talents).unwrap())
    };
    let big = write(dir.path(), "big.csv", &talents_csv(400_000, false));
    let mut child = bin().args(["import", "talents"]).arg(&big).arg("--data").arg(&data).spawn().unwrap();
    let wal = data.join("talentmap.sqlite-wal");
    let started = Instant::now();
    // Wait until the import is writing (the WAL grows), then kill it.
    while std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) < 2_000_000 {
        assert!(child.try_wait().unwrap().is_none(), "the import finished before it could be killed");
        assert!(started.elapsed() < Duration::from_secs(120), "the import never started writing");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());

    let mut store = Store::open(&data).unwrap();
    assert_eq!(store.data_version().unwrap(), version);
    assert_eq!(store.count(Table::Talents).unwrap(), talents);
    let check: String = store.conn().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let snap =
        talentmap::snapshot::build(&mut store, std::sync::Arc::new(talentmap::model::Taxonomy::builtin())).unwrap();
    assert_eq!(snap.totals.talents, talents);
    drop(store);
    // The store is usable: the same import now completes.
    let small = write(dir.path(), "small.csv", &talents_csv(60, false));
    let out = bin().args(["import", "talents"]).arg(&small).arg("--data").arg(&data).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(Store::open(&data).unwrap().count(Table::Talents).unwrap(), 60);
}

/// A data directory with the tiny city's regions (D1, D2, P1).
fn data_with_regions(dir: &std::path::Path) -> std::path::PathBuf {
    let data = dir.join("data");
    let regions = write(dir, "regions.geojson", REGIONS);
    let out = bin().args(["import", "regions"]).arg(&regions).arg("--data").arg(&data).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    data
}

#[test]
fn keys_create_prints_the_key_last_and_list_never_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_with_regions(dir.path());
    let out = bin()
        .args(["keys", "create", "--role", "analyst", "--area", "D1,P1", "--name", "planning office"])
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout.lines().last().unwrap().to_string();
    assert!(key.starts_with("tm_"), "{stdout}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&key), "the key is not logged");
    {
        let store = Store::open(&data).unwrap();
        let p = talentmap::auth::verify_key(&store, &key).unwrap().expect("the printed key verifies");
        assert_eq!(p.role, talentmap::auth::Role::Analyst);
        assert_eq!(p.jurisdiction.iter().collect::<Vec<_>>(), ["D1", "P1"]);
    }
    let secret = key.rsplit('_').next().unwrap();
    let out = bin().args(["keys", "list"]).arg("--data").arg(&data).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let listing = String::from_utf8(out.stdout).unwrap();
    let id = key.split('_').nth(1).unwrap();
    assert!(listing.contains(id) && listing.contains("analyst") && listing.contains("planning office"), "{listing}");
    assert!(!listing.contains(secret) && !String::from_utf8_lossy(&out.stderr).contains(secret));

    let out = bin().args(["keys", "revoke", id]).arg("--data").arg(&data).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(talentmap::auth::verify_key(&Store::open(&data).unwrap(), &key).unwrap().is_none());

    // Usage errors: an analyst without areas, an unknown area, an area for another role.
    for args in
        [&["--role", "analyst"][..], &["--role", "analyst", "--area", "D9"], &["--role", "feeder", "--area", "D1"]]
    {
        let out = bin().args(["keys", "create"]).args(args).arg("--data").arg(&data).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "no key printed for {args:?}");
    }
}

#[test]
fn users_add_reads_the_password_from_standard_input() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let data = data_with_regions(dir.path());
    let add = |password: &str| {
        let mut child = bin()
            .args(["users", "add", "li", "--role", "analyst", "--area", "P1"])
            .arg("--data")
            .arg(&data)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(password.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let out = add("too short\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = add("a passphrase of some length\n");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = bin().args(["users", "list"]).arg("--data").arg(&data).output().unwrap();
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(listing.contains("li") && listing.contains("analyst") && listing.contains("P1"), "{listing}");
    assert!(!listing.contains("argon2"));
    let out = bin().args(["users", "remove", "li"]).arg("--data").arg(&data).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn audit_verify_exits_0_when_intact_and_1_naming_the_first_bad_entry() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_with_regions(dir.path());
    for role in ["feeder", "recruiter", "admin"] {
        let out = bin().args(["keys", "create", "--role", role]).arg("--data").arg(&data).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
    }
    let out = bin().args(["audit", "verify"]).arg("--data").arg(&data).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 entries"));
    let out = bin().args(["audit", "list", "--limit", "2"]).arg("--data").arg(&data).output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 2);

    {
        let store = Store::open(&data).unwrap();
        store.conn().execute_batch("DROP TRIGGER audit_no_update;").unwrap();
        store.conn().execute("UPDATE audit SET role = 'public' WHERE seq = 2", []).unwrap();
    }
    let out = bin().args(["audit", "verify"]).arg("--data").arg(&data).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("audit entry 2:"), "{stderr}");
}

#[test]
fn export_pmtiles_refuses_what_the_layer_does_not_take_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_with_regions(dir.path());
    let out_file = dir.path().join("out.pmtiles");
    let run = |args: &[&str]| {
        let out =
            bin().args(["export", "pmtiles"]).args(args).arg("--out").arg(&out_file).arg("--data").arg(&data).output();
        let out = out.unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (code, err) = run(&["--layer", "people"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no layer 'people'") && err.contains("talents"), "{err}");
    let (code, err) = run(&["--layer", "talents", "--maxzoom", "15"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("--maxzoom must be in 0..=14"), "{err}");
    let (code, err) = run(&["--layer", "regions", "--minzoom", "9", "--maxzoom", "8"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("--minzoom must be in 0..=8"), "{err}");
    let (code, err) = run(&["--layer", "talents", "--filter", "tier"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("NAME=VALUE"), "{err}");
    let (code, err) = run(&["--layer", "talents", "--filter", "colour=red"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("colour"), "{err}");
    assert!(!out_file.exists());
    assert!(!dir.path().join("out.pmtiles.partial").exists());

    // The regions layer of a store with three regions: a valid archive.
    let (code, err) = run(&["--layer", "regions", "--maxzoom", "6"]);
    assert_eq!(code, Some(0), "{err}");
    let bytes = std::fs::read(&out_file).unwrap();
    assert_eq!(&bytes[..8], b"PMTiles\x03");
    assert_eq!(bytes[100..102], [0, 6]);
}

#[test]
fn serve_refuses_a_basemap_it_cannot_serve_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "city.pmtiles", "not an archive");
    let out = bin()
        .args(["serve", "--addr", "127.0.0.1:0", "--web", "/nonexistent", "--basemap"])
        .arg(&bad)
        .arg("--data")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--basemap") && err.contains("city.pmtiles") && err.contains("PMTiles header"), "{err}");
    let raster = write(dir.path(), "city.png", "x");
    let out =
        bin().args(["serve", "--basemap"]).arg(&raster).arg("--data").arg(dir.path().join("data")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".pmtiles or .mbtiles"));
}
