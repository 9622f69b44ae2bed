//! Who is here now: each talent's state from the register and the moves,
//! against a brute-force replay on generated histories (messy ones
//! included) for every talent and several dates; the snapshot counting only
//! the talents in the city, at their current home and workplace
//! (conservation of the talent layer); a feed batch changing the present,
//! and the snapshot that follows it equal to a full rebuild.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use talentmap::analytics::cells::{PYRAMID_KEY, talent_cells};
use talentmap::analytics::commute::CommuteIndex;
use talentmap::analytics::filter::Filter;
use talentmap::analytics::shortage::Basis;
use talentmap::api::{AppState, Settings, router};
use talentmap::import::ImportKind;
use talentmap::model::state::{Step, TalentState, order, replay};
use talentmap::model::{Date, LonLat, MoveEvent, Taxonomy};
use talentmap::snapshot::{self, Snapshot};
use talentmap::spatial::TileId;
use talentmap::store::Store;
use tower::ServiceExt;

const MOVE_HEADER: &str = "id,talent_id,date,event,from_lon,from_lat,to_lon,to_lat,to_enterprise_id,destination\n";
const EVENTS: [&str; 4] = ["arrive", "leave", "relocate", "job_change"];
/// Employers of the tiny city and their positions.
const FIRMS: [(&str, f64, f64); 3] = [("E1", 117.01, 36.61), ("E2", 117.30, 36.70), ("E3", 117.10, 36.70)];

/// One generated move, with its line in the moves file.
#[derive(Debug, Clone)]
struct Mv {
    id: String,
    talent: usize,
    date: Date,
    event: &'static str,
    to: Option<(f64, f64)>,
    firm: Option<&'static str>,
    line: u64,
}

fn day(rng: &mut Rng) -> Date {
    let month = 1 + rng.next() % 24;
    let (year, month) = (2024 + (month - 1) / 12, 1 + (month - 1) % 12);
    Date::parse(&format!("{year:04}-{month:02}-{:02}", 1 + rng.next() % 28)).unwrap()
}

/// `n` moves of talents `0..talents`, in random order and with every kind
/// of irregular history: leaves while away, job changes after a leave,
/// arrivals while here, same-day moves, moves without destinations.
fn random_moves(n: usize, talents: usize, seed: u64) -> Vec<Mv> {
    let mut rng = Rng(seed | 1);
    (0..n)
        .map(|i| {
            let event = EVENTS[(rng.next() % 4) as usize];
            let to = (!rng.next().is_multiple_of(5)).then(|| (117.0 + rng.unit() * 0.4, 36.6 + rng.unit() * 0.2));
            let firm = match event {
                "job_change" | "arrive" if !rng.next().is_multiple_of(3) => Some(FIRMS[(rng.next() % 3) as usize].0),
                _ => None,
            };
            let to = if event == "leave" { None } else { to };
            // Few talents, many moves each: histories overlap on days.
            let talent = (rng.next() % talents as u64) as usize;
            Mv { id: format!("M{:05}", rng.next() % 100_000), talent, date: day(&mut rng), event, to, firm, line: 0 }
                .with_index(i)
        })
        .collect()
}

impl Mv {
    fn with_index(mut self, i: usize) -> Mv {
        // Unique ids, not in date order.
        self.id = format!("{}-{i}", self.id);
        self.line = i as u64 + 2;
        self
    }

    fn csv(&self) -> String {
        let (tx, ty) = self.to.map_or((String::new(), String::new()), |(x, y)| (format!("{x:.6}"), format!("{y:.6}")));
        let destination = if self.event == "leave" { "上海" } else { "" };
        format!(
            "{},T{},{},{},117.1,36.7,{tx},{ty},{},{destination}\n",
            self.id,
            self.talent,
            self.date,
            self.event,
            self.firm.unwrap_or("")
        )
    }
}

/// The register row of talent `i` as `random_city` writes it is not known
/// here, so the brute force reads it from the store's register columns.
#[derive(Debug, Clone, PartialEq)]
struct Brute {
    here: bool,
    home: (f64, f64),
    work: Option<(f64, f64)>,
    firm: Option<String>,
}

/// The state rule written out directly: moves of the talent up to `until`,
/// sorted by date then id, folded one by one. Also returns the ids of the
/// moves that contradict the state they find.
fn brute(registered: &Brute, all: &[Mv], talent: usize, until: Option<Date>) -> (Brute, Vec<String>) {
    let mut mine: Vec<&Mv> = all.iter().filter(|m| m.talent == talent).collect();
    mine.sort_by(|a, b| (a.date, &a.id).cmp(&(b.date, &b.id)));
    let mut s = registered.clone();
    s.here = mine.first().is_none_or(|m| m.event != "arrive");
    let mut irregular = Vec::new();
    for (i, m) in mine.iter().enumerate() {
        if until.is_some_and(|d| m.date > d) {
            break;
        }
        let firm_at = |f: &str| FIRMS.iter().find(|e| e.0 == f).map(|e| (e.1, e.2));
        match m.event {
            "leave" => {
                if !s.here {
                    irregular.push(m.id.clone());
                }
                s.here = false;
            }
            "arrive" => {
                if s.here && i > 0 {
                    irregular.push(m.id.clone());
                }
                s.here = true;
                if let Some(to) = m.to {
                    s.home = to;
                }
                if let Some(f) = m.firm {
                    s.work = firm_at(f).or(s.work);
                    s.firm = Some(f.to_string());
                }
            }
            "relocate" => {
                if !s.here {
                    irregular.push(m.id.clone());
                }
                s.here = true;
                if let Some(to) = m.to {
                    s.home = to;
                }
            }
            _ => {
                if !s.here {
                    irregular.push(m.id.clone());
                }
                s.here = true;
                s.firm = m.firm.map(String::from);
                s.work = m.to.or_else(|| m.firm.and_then(firm_at));
            }
        }
    }
    (s, irregular)
}

/// Six decimals, as the moves file writes points.
fn round6(p: (f64, f64)) -> (f64, f64) {
    ((p.0 * 1e6).round() / 1e6, (p.1 * 1e6).round() / 1e6)
}

fn same_point(a: (f64, f64), b: (f64, f64)) -> bool {
    (a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9
}

fn same(a: &Brute, b: &Brute) -> bool {
    a.here == b.here
        && same_point(a.home, b.home)
        && a.firm == b.firm
        && match (a.work, b.work) {
            (Some(x), Some(y)) => same_point(x, y),
            (None, None) => true,
            _ => false,
        }
}

type StoredRow = (Brute, Brute, Option<String>, Option<String>);

/// Register and present of every talent, with the present home district
/// and park, from the store.
fn stored(store: &Store) -> HashMap<usize, StoredRow> {
    let mut stmt = store
        .conn()
        .prepare(
            "SELECT id, reg_home_lon, reg_home_lat, reg_work_lon, reg_work_lat, reg_enterprise_id,
                    here, home_lon, home_lat, work_lon, work_lat, enterprise_id, home_district, home_park FROM talents",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            let id: String = r.get(0)?;
            let point = |a: Option<f64>, b: Option<f64>| a.zip(b);
            let registered =
                Brute { here: true, home: (r.get(1)?, r.get(2)?), work: point(r.get(3)?, r.get(4)?), firm: r.get(5)? };
            let now = Brute {
                here: r.get(6)?,
                home: (r.get(7)?, r.get(8)?),
                work: point(r.get(9)?, r.get(10)?),
                firm: r.get(11)?,
            };
            Ok((id[1..].parse::<usize>().unwrap(), (registered, now, r.get(12)?, r.get(13)?)))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

fn district_of(p: (f64, f64)) -> Option<&'static str> {
    if !(36.6..=36.8).contains(&p.1) {
        return None;
    }
    if (117.0..117.2).contains(&p.0) {
        Some("D1")
    } else if (117.2..=117.4).contains(&p.0) {
        Some("D2")
    } else {
        None
    }
}

fn import_moves_csv(store: &mut Store, dir: &Path, name: &str, moves: &[Mv]) -> talentmap::import::ImportSummary {
    let mut csv = String::from(MOVE_HEADER);
    moves.iter().for_each(|m| csv.push_str(&m.csv()));
    import(store, ImportKind::Moves, &write(dir, name, &csv)).unwrap()
}

#[test]
fn state_matches_a_brute_force_replay_for_every_talent_and_date() {
    let dir = tempfile::tempdir().unwrap();
    let talents = 400;
    let mut store = random_city(dir.path(), talents, 19);
    let mut moves = random_moves(2_500, talents, 7);
    for m in &mut moves {
        m.to = m.to.map(round6);
    }
    let summary = import_moves_csv(&mut store, dir.path(), "moves.csv", &moves);

    let rows = stored(&store);
    assert_eq!(rows.len(), talents);
    let dates = ["2024-01-01", "2024-07-15", "2025-03-31", "2025-12-31"].map(|d| Date::parse(d).unwrap());
    let mut irregular = Vec::new();
    let mut here = 0;
    for (&t, (registered, now, district, _)) in &rows {
        // The stored present is the replay of every move.
        let (want, flagged) = brute(registered, &moves, t, None);
        assert!(same(now, &want), "T{t}: stored {now:?}, brute force {want:?}");
        assert_eq!(district.as_deref(), district_of(want.home), "T{t}: district of the present home");
        irregular.extend(flagged);
        here += usize::from(want.here);

        // The library's replay at several dates is the brute force's.
        let mut steps: Vec<Step> = moves
            .iter()
            .filter(|m| m.talent == t)
            .map(|m| Step {
                id: m.id.clone(),
                date: m.date,
                event: m.event.parse::<MoveEvent>().unwrap(),
                to: m.to.map(|(x, y)| LonLat::new(x, y)),
                to_enterprise: m.firm.map(String::from),
            })
            .collect();
        order(&mut steps);
        let start = TalentState {
            here: true,
            home: LonLat::new(registered.home.0, registered.home.1),
            work: registered.work.map(|(x, y)| LonLat::new(x, y)),
            enterprise: registered.firm.clone(),
        };
        let firm_at = |f: &str| FIRMS.iter().find(|e| e.0 == f).map(|e| LonLat::new(e.1, e.2));
        for date in dates {
            let got = replay(start.clone(), &steps, Some(date), firm_at, |_, _| {});
            let (want, _) = brute(registered, &moves, t, Some(date));
            let got = Brute {
                here: got.here,
                home: (got.home.lon, got.home.lat),
                work: got.work.map(|w| (w.lon, w.lat)),
                firm: got.enterprise,
            };
            assert!(same(&got, &want), "T{t} at {date}: {got:?} vs {want:?}");
        }
    }
    assert!(here > talents / 4 && here < talents, "the histories leave some talents away ({here} here)");

    // Every irregular move is a warning at its line and `event` column.
    assert_eq!(summary.irregular_moves as usize, irregular.len());
    assert!(!irregular.is_empty());
    let lines: HashMap<&str, u64> = moves.iter().map(|m| (m.id.as_str(), m.line)).collect();
    let warned: Vec<_> = summary.warnings.iter().filter(|w| w.field == "event").collect();
    assert_eq!(warned.len(), irregular.len());
    for w in warned {
        assert_eq!(w.line, lines[w.value.as_str()], "{w:?}");
        assert_eq!(w.column, 4, "the event column");
        assert!(w.file.ends_with("moves.csv"));
    }

    // The snapshot counts the talents here, at their present homes.
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    assert_eq!(snap.totals.talents as usize, here);
    assert_eq!(snap.totals.registered as usize, talents);
    assert_eq!(snap.totals.departed as usize, talents - here);
    for id in ["D1", "D2"] {
        let want = rows.values().filter(|r| r.1.here && district_of(r.1.home) == Some(id)).count();
        let region = &snap.regions[snap.region(id).unwrap() as usize];
        assert_eq!(region.stats.talents as usize, want, "{id}");
    }
    conserved(&snap);
}

/// The talent layer's cells at the lowest zooms add up to the talents here.
fn conserved(snap: &Snapshot) {
    for z in [0u32, 4, 9] {
        let (x, y) = talentmap::spatial::lonlat_to_unit(117.2, 36.7);
        let n = (1u64 << z) as f64;
        let tile = TileId::new(z, (x * n) as u64, (y * n) as u64).unwrap();
        let sum: u64 = talent_cells(snap, tile, &Filter::default()).iter().map(|c| c.count).sum();
        assert_eq!(sum, snap.totals.talents, "zoom {z}");
    }
}

fn state_of(store: &mut Store, dir: &Path) -> AppState {
    let snap = snapshot::build(store, Arc::new(Taxonomy::builtin())).unwrap();
    AppState::new(snap, Some(dir.join("data")), Settings::default())
}

async fn call(state: &AppState, req: Request<Body>) -> (StatusCode, Value) {
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn stats(state: &AppState, admin: &str) -> Value {
    let req = Request::get("/api/stats").header(header::AUTHORIZATION, admin).body(Body::empty()).unwrap();
    let (status, body) = call(state, req).await;
    assert_eq!(status, StatusCode::OK);
    body
}

fn district_talents(stats: &Value, id: &str) -> u64 {
    stats["districts"].as_array().unwrap().iter().find(|d| d["id"] == id).unwrap()["talents"].as_u64().unwrap()
}

/// The ETag of the zoom-0 tile of `layer`.
async fn etag_of(state: &AppState, layer: &str) -> String {
    let req = Request::get(format!("/tiles/{layer}/0/0/0.mvt")).body(Body::empty()).unwrap();
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{layer}");
    resp.headers()[header::ETAG].to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_batch_changes_the_present_before_it_answers() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 30);
    let admin = bearer(&store, talentmap::auth::Role::Admin, &[]);
    let feeder = bearer(&store, talentmap::auth::Role::Feeder, &[]);
    let state = state_of(&mut store, dir.path());
    let builds = state.snapshot_builds.load(std::sync::atomic::Ordering::Relaxed);
    let before = stats(&state, &admin).await;
    let tiles_before = [etag_of(&state, "talents").await, etag_of(&state, "enterprises").await];
    assert_eq!(before["talents"], 30);
    assert_eq!((before["registered"].as_u64(), before["departed"].as_u64()), (Some(30), Some(0)));
    assert_eq!(district_talents(&before, "D2"), 0);
    // The start screen's briefing, with every field's catchment, composed
    // on the snapshot before the batch.
    let briefing = || Request::get("/api/briefing").body(Body::empty()).unwrap();
    let (status, _) = call(&state, briefing()).await;
    assert_eq!(status, StatusCode::OK);

    let batch = json!({"moves": [
        {"id": "F1", "talent_id": "T0", "date": "2026-10-02", "event": "leave", "from_lon": 117.01, "from_lat": 36.62,
         "destination": "上海"},
        {"id": "F2", "talent_id": "T1", "date": "2026-10-03", "event": "relocate", "from_lon": 117.01,
         "from_lat": 36.62, "to_lon": 117.3, "to_lat": 36.7},
        {"id": "F3", "talent_id": "T2", "date": "2026-10-04", "event": "job_change", "to_enterprise_id": "E2"},
        {"id": "F4", "talent_id": "T0", "date": "2026-10-05", "event": "leave", "destination": "北京"},
    ]});
    let req = Request::post("/api/moves")
        .header(header::AUTHORIZATION, &feeder)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(&batch).unwrap()))
        .unwrap();
    let (status, body) = call(&state, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["stored"], 4);
    // The second leave of T0 is irregular: stored, and a warning.
    let warnings = body["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{body}");
    assert_eq!((warnings[0]["index"].as_u64(), warnings[0]["value"].as_str()), (Some(3), Some("F4")));

    // No wait: the answer came after the snapshot followed the batch.
    let after = stats(&state, &admin).await;
    assert_eq!(after["version"], body["version"]);
    assert_eq!(after["talents"], 29);
    assert_eq!((after["registered"].as_u64(), after["departed"].as_u64()), (Some(30), Some(1)));
    assert_eq!(district_talents(&after, "D2"), 1, "the relocated talent lives in D2 now");
    assert_eq!(district_talents(&after, "D1"), 28);
    let d2 = after["districts"].as_array().unwrap().iter().find(|d| d["id"] == "D2").unwrap();
    assert_eq!(d2["workers"], 1, "the job change moved T2's workplace to E2 in D2");
    assert_eq!(state.snapshot_builds.load(std::sync::atomic::Ordering::Relaxed), builds + 1);

    // Moves change what the talents layer draws, not the enterprises: the
    // enterprise tile keeps its ETag and stays in the cache.
    let hits = state.tile_cache.hits.load(std::sync::atomic::Ordering::Relaxed);
    let tiles_after = [etag_of(&state, "talents").await, etag_of(&state, "enterprises").await];
    assert_ne!(tiles_after[0], tiles_before[0], "talent tile");
    assert_eq!(tiles_after[1], tiles_before[1], "enterprise tile");
    assert_eq!(
        state.tile_cache.hits.load(std::sync::atomic::Ordering::Relaxed),
        hits + 1,
        "only the enterprise tile hit"
    );

    // The followed snapshot is the one a rebuild makes.
    let rebuilt = snapshot::build(&mut Store::open(&dir.path().join("data")).unwrap(), state.taxonomy.clone()).unwrap();
    same_snapshot(&state.snapshot(), &rebuilt);
    // The briefing after the batch (its catchments followed from those of
    // the snapshot before) is the one a server started on the new data
    // composes from scratch.
    let (status, followed) = call(&state, briefing()).await;
    assert_eq!(status, StatusCode::OK);
    let fresh = AppState::new(rebuilt, Some(dir.path().join("data")), Settings::default());
    let (_, composed) = call(&fresh, briefing()).await;
    assert_eq!(followed, composed);
    assert_eq!(followed["data_version"], body["version"]);
}

/// A moves batch of `moves` as the feed posts it.
fn moves_request(feeder: &str, moves: Value) -> Request<Body> {
    Request::post("/api/moves")
        .header(header::AUTHORIZATION, feeder)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(&json!({ "moves": moves })).unwrap()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_readied_at_start_validates_against_the_store_as_it_is_when_a_batch_comes() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 30);
    let feeder = bearer(&store, talentmap::auth::Role::Feeder, &[]);
    let state = state_of(&mut store, dir.path());
    assert!(state.ready_feed(), "a server on a store readies its feed");
    assert!(state.ready_feed(), "and finds it ready the second time");

    let job = |id: &str, talent: &str, to: &str| json!({"id": id, "talent_id": talent, "date": "2026-10-02", "event": "job_change", "to_enterprise_id": to});
    // An enterprise imported after the feed was readied: the context read
    // then no longer describes the store, and the first batch, naming the
    // new enterprise, is checked against the store as it is now.
    let added = "id,name,lon,lat,industry,employees,key,park\nE9,新创科技,117.02,36.62,65,40,false,P1\n";
    import(&mut store, ImportKind::Enterprises, &write(dir.path(), "more.csv", added)).unwrap();
    state.refresh().unwrap();
    let (status, body) = call(&state, moves_request(&feeder, json!([job("R1", "T1", "E9")]))).await;
    assert_eq!((status, body["stored"].as_u64()), (StatusCode::OK, Some(1)), "{body}");
    assert_eq!(state.snapshot().version, body["version"].as_u64().unwrap());
    // An enterprise nobody imported is refused, and one imported before is
    // taken, as without the feed readied.
    let (status, body) = call(&state, moves_request(&feeder, json!([job("R2", "T2", "E404")]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["items"][0]["field"], "to_enterprise_id", "{body}");
    let (status, body) = call(&state, moves_request(&feeder, json!([job("R2", "T2", "E2")]))).await;
    assert_eq!((status, body["stored"].as_u64()), (StatusCode::OK, Some(1)), "{body}");

    // A server without a store has no feed to ready.
    let memory = AppState::new(snapshot::build(&mut store, state.taxonomy.clone()).unwrap(), None, Settings::default());
    assert!(!memory.ready_feed());
}

#[test]
fn a_patched_snapshot_equals_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let talents = 300;
    let mut store = random_city(dir.path(), talents, 5);
    let moves = random_moves(1_500, talents, 11);
    import_moves_csv(&mut store, dir.path(), "moves.csv", &moves);
    // Metro stations where talents live (the clusters) and work (E1), so
    // the commute index has homes and workplaces near rail to follow.
    let stations = "id,name,lon,lat,mode,name_en\nM1,一站,117.055,36.655,metro,\nM2,二站,117.215,36.715,metro,\nM3,三站,117.01,36.612,metro,\n";
    import(&mut store, ImportKind::Stations, &write(dir.path(), "metro.csv", stations)).unwrap();
    let taxonomy = Arc::new(Taxonomy::builtin());
    let mut snap = snapshot::build(&mut store, taxonomy.clone()).unwrap();
    let mut feed = talentmap::import::FeedContext::default();
    // Built for the first snapshot, then followed batch after batch.
    let mut commute = Arc::new(CommuteIndex::build(&snap));
    let mut two_back: Option<(u64, Arc<CommuteIndex>, Basis)> = None;
    for (round, seed) in [3u64, 17, 29].into_iter().enumerate() {
        let batch = feed_batch(&format!("B{round}"), random_moves(200, talents, seed), "青岛");
        // The first batch as an import; the others as the server's feed
        // takes them: on a connection kept between batches, with the
        // validation context kept and the replay split over two
        // connections.
        let delta = if round == 0 {
            talentmap::import::import_moves(&mut store, &taxonomy, &batch).unwrap().delta
        } else {
            let mut staged = talentmap::import::stage_moves_keeping(&mut store, &taxonomy, &batch, &mut feed).unwrap();
            let delta = staged.take_delta();
            staged.commit().unwrap();
            delta
        };
        let delta = delta.expect("stored moves come with a delta");
        // The rows the batch hands over are the rows as stored after it.
        let mut touched: Vec<String> = batch.iter().map(|m| m["talent_id"].as_str().unwrap().to_string()).collect();
        touched.sort();
        touched.dedup();
        let ids: Vec<String> = delta.after.talents.iter().map(|t| t.id.clone()).collect();
        assert_eq!(ids, touched, "every touched talent, in id order");
        let read = talentmap::import::present::read_rows(store.conn(), &touched).unwrap();
        let fresh = batch.iter().map(|m| m["id"].as_str().unwrap().to_string()).collect();
        check_handed_over(&delta, &read, &fresh);
        // The served snapshot has its talent pyramid: the patched one gets
        // it patched, not built again.
        talentmap::analytics::cells::talent_pyramid(&snap);
        let fine = talentmap::analytics::fine::FineCells::build(&snap, 3);
        let patched = snapshot::patch::apply(&snap, &delta).unwrap().expect("same base version");
        // The commute index follows the renumbered records.
        let renumbered = snapshot::patch::renumbered(&patched).expect("the patch says where each record went");
        assert_eq!(renumbered.base_version, snap.version);
        let followed =
            Arc::new(CommuteIndex::follow(&commute, &patched, std::slice::from_ref(&renumbered)).expect("followed"));
        assert_eq!(followed.differences(&CommuteIndex::build(&patched)), Vec::<&str>::new(), "round {round}");
        // So do the fine talent cells.
        let changed = renumbered.taken_records.iter().map(|t| t.home);
        let changed = changed.chain(renumbered.placed.iter().map(|&at| patched.talents[at as usize].home));
        let followed_cells = fine.follow(&patched, changed).expect("no number past 16 bits");
        assert_eq!(followed_cells, talentmap::analytics::fine::FineCells::build(&patched, 3), "round {round}");
        assert!(followed_cells.bytes() > 0);
        let near = |work: bool| {
            let placed = renumbered.placed.iter().map(|&i| i as usize);
            placed.filter(|&i| if work { followed.work_near_rail(i) } else { followed.home_near_rail(i) }).count()
        };
        assert!(near(false) > 0 && near(true) > 0, "round {round}: talents put in live and work near rail");
        // Two batches at once, as a background thread that fell behind
        // follows them.
        // The shortage basis follows the batch too.
        let followed_basis = Basis::follow(&Basis::build(&snap), std::slice::from_ref(&renumbered));
        assert!(followed_basis == Basis::build(&patched), "round {round}");
        if let Some((version, index, basis)) = two_back.as_ref().filter(|_| round == 2) {
            let steps = renumbered.steps(*version).expect("the chain reaches back two batches");
            assert_eq!(steps.len(), 2);
            let twice = CommuteIndex::follow(index, &patched, &steps).expect("followed over two batches");
            assert_eq!(twice.differences(&followed), Vec::<&str>::new(), "round {round}");
            assert!(Basis::follow(basis, &steps) == followed_basis, "round {round}");
        }
        if round == 0 {
            two_back = Some((patched.version, followed.clone(), followed_basis));
        }
        commute = followed;
        let pyramid = patched.memo.get::<talentmap::analytics::cells::TalentPyramid>(PYRAMID_KEY);
        assert!(pyramid.is_some(), "round {round}: the pyramid follows the batch");
        let rebuilt = snapshot::build(&mut store, taxonomy.clone()).unwrap();
        same_snapshot(&patched, &rebuilt);
        same_tiles(&patched, &rebuilt, &taxonomy);
        conserved(&patched);
        snap = patched;
    }
}

/// `moves` as the items of a feed batch, their ids prefixed with `prefix`
/// (`destination`: where those that leave go).
fn feed_batch(prefix: &str, moves: Vec<Mv>, destination: &str) -> Vec<Value> {
    moves
        .into_iter()
        .map(|m| {
            json!({"id": format!("{prefix}-{}", m.id), "talent_id": format!("T{}", m.talent),
                   "date": m.date.to_string(), "event": m.event,
                   "to_lon": m.to.map(|p| p.0), "to_lat": m.to.map(|p| p.1),
                   "to_enterprise_id": m.firm, "destination": (m.event == "leave").then_some(destination)})
        })
        .collect()
}

/// A request for the commute index of a snapshot that moves batches made
/// from one whose index the cache holds follows that index instead of
/// building one (as when the warming thread has not reached the newest
/// snapshot of a feed yet), over one batch and over two.
#[test]
fn the_commute_cache_follows_the_index_it_made_last() {
    let dir = tempfile::tempdir().unwrap();
    let talents = 200;
    let mut store = random_city(dir.path(), talents, 7);
    import_moves_csv(&mut store, dir.path(), "moves.csv", &random_moves(800, talents, 5));
    let taxonomy = Arc::new(Taxonomy::builtin());
    let mut snap = Arc::new(snapshot::build(&mut store, taxonomy.clone()).unwrap());
    let cache = talentmap::api::CommuteCache::default();
    assert!(!cache.get(&snap).was_followed(), "the first is built");
    let mut skipped = None;
    for (round, seed) in [41u64, 43, 47].into_iter().enumerate() {
        let batch = feed_batch(&format!("C{round}"), random_moves(150, talents, seed), "济南");
        let delta = talentmap::import::import_moves(&mut store, &taxonomy, &batch).unwrap().delta.unwrap();
        let patched = Arc::new(snapshot::patch::apply(&snap, &delta).unwrap().expect("same base version"));
        // The second snapshot is skipped: the third follows over two batches.
        if round == 1 {
            skipped = Some(patched.clone());
        } else {
            let index = cache.get(&patched);
            assert!(index.was_followed(), "round {round}: followed, not built");
            assert_eq!(index.differences(&CommuteIndex::build(&patched)), Vec::<&str>::new(), "round {round}");
        }
        snap = patched;
    }
    // A snapshot older than the newest index made is built, and leaves the
    // newest in place.
    let skipped = skipped.unwrap();
    assert!(!cache.get(&skipped).was_followed());
    assert_eq!(cache.get(&skipped).differences(&CommuteIndex::build(&skipped)), Vec::<&str>::new());
}

/// The talent cells of every tile up to zoom 11 where either snapshot has
/// a talent, unfiltered and filtered, are the same in both.
fn same_tiles(a: &Snapshot, b: &Snapshot, taxonomy: &Taxonomy) {
    let q: std::collections::BTreeMap<String, String> =
        [("seeking".to_string(), "true".to_string()), ("max_age".to_string(), "39".to_string())].into();
    let filters = [Filter::default(), Filter::parse(&q, taxonomy, a.reference_year).unwrap()];
    for z in 0..=11u8 {
        let mut tiles: Vec<TileId> =
            a.talents.iter().chain(&b.talents).map(|t| talentmap::spatial::morton::tile_of(t.home, z)).collect();
        tiles.sort_by_key(|t| (t.x, t.y));
        tiles.dedup();
        for tile in tiles {
            for filter in &filters {
                assert_eq!(talent_cells(a, tile, filter), talent_cells(b, tile, filter), "{tile:?} {filter:?}");
            }
        }
    }
}

/// Batches the way a feed sends them: each talent's new moves on days after
/// its stored ones, batch after batch for the same talents, with now and
/// then a move on a talent's latest day (replayed whole), several moves of
/// one talent on one day, the first batch in a month after every stored
/// move, the next two in that month, then a batch that starts the month
/// after and one that starts a month two later (the flow cubes widened
/// to months the index did not have, one of them without moves).
#[test]
fn a_feed_in_date_order_continues_each_talent_from_its_latest_moves() {
    let dir = tempfile::tempdir().unwrap();
    let talents = 300;
    let mut store = random_city(dir.path(), talents, 7);
    import_moves_csv(&mut store, dir.path(), "moves.csv", &random_moves(1_200, talents, 13));
    let taxonomy = Arc::new(Taxonomy::builtin());
    let mut snap = snapshot::build(&mut store, taxonomy.clone()).unwrap();
    let mut feed = talentmap::import::FeedContext::default();
    let (mut continued, mut whole, mut replayed) = (0, 0, 0);
    for round in 0..6u64 {
        // 240 talents out of 300, a different 240 each round.
        let batch: Vec<Value> = random_moves(400, 240, 100 + round)
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                let talent = (m.talent + 20 * round as usize) % talents;
                // A few land on the day the previous round used.
                let months = [1, 1, 1, 2, 2, 4];
                let (month, day) = if i % 13 == 0 && round > 0 {
                    (months[round as usize - 1], 3 * round)
                } else {
                    (months[round as usize], 3 * round + 1 + (i as u64 % 3))
                };
                json!({"id": format!("D{round}-{}", m.id), "talent_id": format!("T{talent}"),
                       "date": format!("2026-{month:02}-{day:02}"), "event": m.event,
                       "to_lon": m.to.map(|p| p.0), "to_lat": m.to.map(|p| p.1),
                       "to_enterprise_id": m.firm, "destination": (m.event == "leave").then_some("青岛")})
            })
            .collect();
        // Every other round read first and written after a gate, as the
        // server stages a batch while a checkpoint of the log runs.
        let gated = std::cell::Cell::new(false);
        let mut staged = if round % 2 == 1 {
            let gate = Box::new(|| gated.set(true));
            talentmap::import::stage_moves_gated(&mut store, &taxonomy, &batch, &mut feed, gate).unwrap()
        } else {
            talentmap::import::stage_moves_keeping(&mut store, &taxonomy, &batch, &mut feed).unwrap()
        };
        assert_eq!(gated.get(), round % 2 == 1, "round {round}: the gate runs before the write");
        let delta = staged.take_delta().expect("stored moves come with a delta");
        let summary = staged.commit().unwrap();
        let ids: Vec<String> = delta.after.talents.iter().map(|t| t.id.clone()).collect();
        let read = talentmap::import::present::read_rows(store.conn(), &ids).unwrap();
        let fresh = batch.iter().map(|m| m["id"].as_str().unwrap().to_string()).collect();
        check_handed_over(&delta, &read, &fresh);
        // The batch's warnings are those a replay of every move finds for
        // its moves (which also leaves the present as it is).
        let regions = talentmap::import::present::regions(store.conn()).unwrap();
        let scope = talentmap::import::present::Scope::Moves(summary.version);
        let again = talentmap::import::present::recompute(store.conn(), &regions, scope, Some(summary.version));
        let warned = |w: Vec<(String, String)>| w.into_iter().collect::<std::collections::BTreeSet<_>>();
        let got = warned(summary.warnings.iter().map(|w| (w.value.clone(), w.message.clone())).collect());
        let want =
            warned(again.unwrap().irregular.iter().map(|(id, k)| (id.clone(), k.message().to_string())).collect());
        assert_eq!(got, want, "round {round}: warnings");
        assert!(!got.is_empty(), "round {round}: the random histories have irregular moves");
        assert_eq!(
            format!("{:?}", talentmap::import::present::read_rows(store.conn(), &ids).unwrap().talents),
            format!("{:?}", read.talents),
            "round {round}: a whole replay changes no present"
        );
        continued += delta.continued.len();
        whole += delta.continued.values().filter(|c| c.whole).count();
        replayed += ids.len() - delta.continued.len();
        let patched = snapshot::patch::apply(&snap, &delta).unwrap().expect("followed without a rebuild");
        let rebuilt = snapshot::build(&mut store, taxonomy.clone()).unwrap();
        same_snapshot(&patched, &rebuilt);
        conserved(&patched);
        snap = patched;
    }
    assert!(continued > 1_000, "most talents continue: {continued}");
    assert!(whole > 20, "some tails are whole histories: {whole}");
    assert!(replayed > 50, "some talents are replayed whole: {replayed}");
    // The present is the one a replay of every move from the register
    // gives (no enterprise moved meanwhile).
    use talentmap::import::present;
    let ids: Vec<String> = (0..talents).map(|i| format!("T{i}")).collect();
    let regions = present::regions(store.conn()).unwrap();
    let replayed = present::recompute(store.conn(), &regions, present::Scope::Before(&ids, 1 << 40), None).unwrap();
    let rows = present::read_rows(store.conn(), &ids).unwrap();
    assert_eq!(rows.talents.len(), talents);
    for t in &rows.talents {
        let s = &replayed.stored[&t.id];
        assert_eq!(
            (t.here, t.home, t.work, &t.enterprise_id),
            (s.state.here, s.state.home, s.state.work, &s.state.enterprise)
        );
        assert_eq!((&t.home_district, &t.home_park), (&s.home_district, &s.home_park), "{}", t.id);
        assert_eq!((&t.work_district, &t.work_park), (&s.work_district, &s.work_park), "{}", t.id);
    }
}

#[test]
fn a_batch_replayed_from_held_talents_hands_over_what_the_store_gives() {
    let dir = tempfile::tempdir().unwrap();
    let talents = 200;
    let mut store = random_city(dir.path(), talents, 19);
    // Histories for the first half only: the batches also name talents
    // with no stored move.
    import_moves_csv(&mut store, dir.path(), "moves.csv", &random_moves(900, 100, 23));
    let taxonomy = Arc::new(Taxonomy::builtin());
    let mut feed = talentmap::import::FeedContext::default();
    // Each round: its days, and the prefix of its ids (ids of one day are
    // applied in their order: "A…" before the "H…" of other rounds).
    let rounds: [(&[&str], &str); 10] = [
        (&["2026-03-10"], "H0"),
        (&["2026-03-10"], "H1"),               // the same day again
        (&["2026-03-11"], "H2"),               // the next day
        (&["2026-03-12"], "H2b"),              // and the next
        (&["2025-06-05", "2026-03-11"], "H3"), // within the histories
        (&["2026-03-11"], "A4"),               // before the day's stored ids
        (&["2026-04-02", "2026-03-11"], "H5"),
        (&["2026-04-02"], "H6"),
        (&["2026-04-03"], "H7"), // after a write that is not the feed's
        (&["2026-04-03", "2024-01-01"], "H8"),
    ];
    let mut used = 0;
    for (round, (days, prefix)) in rounds.into_iter().enumerate() {
        if round == 8 {
            import_moves_csv(&mut store, dir.path(), "more.csv", &random_moves(40, 100, 31));
        }
        // 150 moves of 60 talents (80 to 139): most were touched before.
        let batch: Vec<Value> = random_moves(150, 60, 300 + round as u64)
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                json!({"id": format!("{prefix}-{}", m.id), "talent_id": format!("T{}", 80 + m.talent),
                       "date": days[i % days.len()], "event": m.event,
                       "to_lon": m.to.map(|p| p.0), "to_lat": m.to.map(|p| p.1),
                       "to_enterprise_id": m.firm, "destination": (m.event == "leave").then_some("青岛")})
            })
            .collect();
        // The batch as a connection of its own would take it, every
        // talent read from the store; then not stored.
        let mut alone = talentmap::import::stage_moves(&mut store, &taxonomy, &batch).unwrap();
        let read = alone.take_delta().expect("stored moves come with a delta");
        let warned = format!("{:?}", alone.summary().warnings);
        drop(alone);
        // The feed's connection, its talents held from the batches before.
        used += feed.held();
        let mut staged = if round % 3 == 2 {
            talentmap::import::stage_moves_gated(&mut store, &taxonomy, &batch, &mut feed, Box::new(|| {})).unwrap()
        } else {
            talentmap::import::stage_moves_keeping(&mut store, &taxonomy, &batch, &mut feed).unwrap()
        };
        let held = staged.take_delta().expect("stored moves come with a delta");
        assert_eq!(format!("{:?}", staged.summary().warnings), warned, "round {round}: warnings");
        staged.commit().unwrap();
        assert_eq!(format!("{:?}", held.before), format!("{:?}", read.before), "round {round}: before");
        assert_eq!(format!("{:?}", held.after), format!("{:?}", read.after), "round {round}: after");
        assert_eq!(format!("{:?}", held.continued), format!("{:?}", read.continued), "round {round}: continued");
        assert_eq!(held.version, read.version);
        let ids: Vec<String> = held.after.talents.iter().map(|t| t.id.clone()).collect();
        let fresh = batch.iter().map(|m| m["id"].as_str().unwrap().to_string()).collect();
        check_handed_over(&held, &talentmap::import::present::read_rows(store.conn(), &ids).unwrap(), &fresh);
        // Held after it: every touched talent but those resumed from a
        // tail that is not their whole history.
        let partial = held.continued.values().filter(|c| !c.whole).count();
        assert!(feed.held() >= ids.len() - partial, "round {round}: the touched talents are held after it");
    }
    assert!(used > 250, "later batches find their talents held: {used}");
}

/// A batch staged with a gate reads and replays before the write lock; a
/// write that another connection commits at the gate (an import) is not
/// overwritten or ignored: the batch is checked again under the lock.
#[test]
fn a_write_that_comes_at_the_gate_has_the_batch_checked_again() {
    let dir = tempfile::tempdir().unwrap();
    let talents = 200;
    let mut store = random_city(dir.path(), talents, 23);
    import_moves_csv(&mut store, dir.path(), "moves.csv", &random_moves(800, talents, 29));
    let taxonomy = Arc::new(Taxonomy::builtin());
    let mut feed = talentmap::import::FeedContext::default();
    let feed_move = |id: &str, talent: usize, date: &str, to: (f64, f64)| {
        json!({"id": id, "talent_id": format!("T{talent}"), "date": date, "event": "relocate",
               "to_lon": to.0, "to_lat": to.1})
    };
    // Moves of 100 talents, on days after every stored one.
    let batch: Vec<Value> =
        (0..100).map(|t| feed_move(&format!("G-{t}"), t, "2027-03-01", (117.02 + t as f64 * 1e-3, 36.62))).collect();
    // An import at the gate gives one of the batch's ids other values:
    // the batch conflicts with it and stores nothing.
    let clash = Mv {
        id: "G-7".into(),
        talent: 7,
        date: Date::parse("2027-03-01").unwrap(),
        event: "relocate",
        to: Some((117.3, 36.7)),
        firm: None,
        line: 2,
    };
    let location = store.location().clone();
    let importer = || {
        let mut other = location.open().unwrap();
        import_moves_csv(&mut other, dir.path(), "clash.csv", std::slice::from_ref(&clash));
    };
    let version = store.data_version().unwrap();
    let refused =
        match talentmap::import::stage_moves_gated(&mut store, &taxonomy, &batch, &mut feed, Box::new(importer)) {
            Err(talentmap::import::BatchError::Invalid { errors }) => errors,
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("a batch that conflicts with the import at its gate is refused"),
        };
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!((refused[0].index, refused[0].reason), (7, "conflict"));
    assert_eq!(store.data_version().unwrap(), version + 1, "the import alone was stored");
    let (to_lon,): (f64,) =
        store.conn().query_row("SELECT to_lon FROM moves WHERE id = 'G-7'", [], |r| Ok((r.get(0)?,))).unwrap();
    assert_eq!(to_lon, 117.3, "the imported move stands");

    // An import at the gate adds a later move of a talent the batch names:
    // the batch is stored, and its delta, the stored present and the
    // patched snapshot all take the import into account.
    let batch: Vec<Value> =
        (0..100).map(|t| feed_move(&format!("H-{t}"), t, "2027-04-01", (117.05, 36.63 + t as f64 * 1e-4))).collect();
    let later = Mv { id: "I-1".into(), date: Date::parse("2027-05-01").unwrap(), ..clash.clone() };
    let importer = || {
        let mut other = location.open().unwrap();
        import_moves_csv(&mut other, dir.path(), "later.csv", std::slice::from_ref(&later));
    };
    // The snapshot a server serves when the batch comes.
    let served = snapshot::build(&mut store, taxonomy.clone()).unwrap();
    let mut staged =
        talentmap::import::stage_moves_gated(&mut store, &taxonomy, &batch, &mut feed, Box::new(importer)).unwrap();
    let delta = staged.take_delta().expect("stored moves come with a delta");
    let summary = staged.commit().unwrap();
    assert_eq!((summary.stored, summary.version), (100, version + 3), "stored after the import");
    assert_eq!(delta.base_version, version + 2, "the batch follows the import");
    let ids: Vec<String> = delta.after.talents.iter().map(|t| t.id.clone()).collect();
    let read = talentmap::import::present::read_rows(store.conn(), &ids).unwrap();
    let fresh = batch.iter().map(|m| m["id"].as_str().unwrap().to_string()).collect();
    check_handed_over(&delta, &read, &fresh);
    let (stored, replayed) = stored_and_replayed(&store, "T7");
    assert_eq!(stored, replayed, "T7's present is the rule's answer");
    assert_eq!(stored.home, LonLat { lon: 117.3, lat: 36.7 }, "the import's later move decides T7's home");
    // The delta is not one from the version the batch first read: the
    // served snapshot, which has not seen the import, is not patched with
    // it (the server reads the store again instead).
    assert_eq!(served.version, version + 1);
    assert!(snapshot::patch::apply(&served, &delta).unwrap().is_none(), "a snapshot without the import is not patched");
}

/// A talent's present as stored, and as a replay of all its moves gives it.
fn stored_and_replayed(store: &Store, id: &str) -> (TalentState, TalentState) {
    use talentmap::import::present;
    let ids = vec![id.to_string()];
    let rows = present::read_rows(store.conn(), &ids).unwrap();
    let t = &rows.talents[0];
    let stored = TalentState { here: t.here, home: t.home, work: t.work, enterprise: t.enterprise_id.clone() };
    let regions = present::regions(store.conn()).unwrap();
    let replayed = present::recompute(store.conn(), &regions, present::Scope::Before(&ids, 1 << 40), None).unwrap();
    (stored, replayed.stored[id].state.clone())
}

/// A moves file that gives stored moves to another talent replays the
/// talent they leave too: its present is the rule's answer without them,
/// and a later feed batch carries on from that.
#[test]
fn a_move_given_to_another_talent_replays_the_talent_it_left() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 2);
    let csv = format!(
        "{MOVE_HEADER}M0,T0,2025-01-01,relocate,,,117.02,36.62,,\nM1,T0,2025-02-01,job_change,,,,,E2,\nM2,T0,2025-02-02,leave,,,,,,上海\n"
    );
    import(&mut store, ImportKind::Moves, &write(dir.path(), "a.csv", &csv)).unwrap();
    let (stored, replayed) = stored_and_replayed(&store, "T0");
    assert_eq!(stored, replayed);
    assert!(!stored.here && stored.enterprise.as_deref() == Some("E2"));
    // Corrected: M1 and M2 were T1's.
    let csv = format!("{MOVE_HEADER}M1,T1,2025-02-01,job_change,,,,,E2,\nM2,T1,2025-02-02,leave,,,,,,上海\n");
    import(&mut store, ImportKind::Moves, &write(dir.path(), "b.csv", &csv)).unwrap();
    for talent in ["T0", "T1"] {
        let (stored, replayed) = stored_and_replayed(&store, talent);
        assert_eq!(stored, replayed, "{talent}");
    }
    assert!(stored_and_replayed(&store, "T0").0.here, "T0 is back in the city without the leave");
    let items = vec![json!({"id": "F1", "talent_id": "T0", "date": "2025-03-01", "event": "relocate",
                            "to_lon": 117.03, "to_lat": 36.63})];
    let summary = talentmap::import::import_moves(&mut store, &Taxonomy::builtin(), &items).unwrap();
    assert!(summary.delta.as_ref().unwrap().continued.contains_key("T0"));
    assert!(summary.warnings.is_empty(), "T0 is here: {:?}", summary.warnings);
    let (stored, replayed) = stored_and_replayed(&store, "T0");
    assert_eq!(stored, replayed);
}

/// An enterprises import that moves an enterprise moves the workplace of
/// the talents who took it from its position, so that a server following
/// a later batch from the store finds the records it holds.
#[test]
fn a_talent_follows_its_employer_when_an_enterprise_moves() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 3);
    let csv =
        format!("{MOVE_HEADER}M0,T0,2025-01-01,job_change,,,,,E2,\nM1,T1,2025-01-01,job_change,,,117.2,36.7,E2,\n");
    import(&mut store, ImportKind::Moves, &write(dir.path(), "a.csv", &csv)).unwrap();
    let moved = ENTERPRISES.replace("E2,泉城制药,117.30,36.70", "E2,泉城制药,117.32,36.71");
    import(&mut store, ImportKind::Enterprises, &write(dir.path(), "e.csv", &moved)).unwrap();
    let (stored, replayed) = stored_and_replayed(&store, "T0");
    assert_eq!(stored, replayed);
    assert_eq!(stored.work, Some(LonLat::new(117.32, 36.71)), "at E2's new position");
    let (stored, _) = stored_and_replayed(&store, "T1");
    assert_eq!(stored.work, Some(LonLat::new(117.2, 36.7)), "a job change with a point keeps it");
    let taxonomy = Arc::new(Taxonomy::builtin());
    let mut snap = snapshot::build(&mut store, taxonomy.clone()).unwrap();
    for (round, date) in ["2025-02-01", "2025-03-01"].into_iter().enumerate() {
        let items = vec![json!({"id": format!("F{round}"), "talent_id": "T0", "date": date, "event": "relocate",
                                "to_lon": 117.03, "to_lat": 36.63})];
        let mut staged = talentmap::import::stage_moves(&mut store, &taxonomy, &items).unwrap();
        let delta = staged.take_delta().unwrap();
        let summary = staged.commit().unwrap();
        let taker = snapshot::patch::apply(&snap, &delta).unwrap().expect("patched");
        let follower = snapshot::patch::follow_batch(&mut store, &snap, summary.version).unwrap().expect("followed");
        let rebuilt = snapshot::build(&mut store, taxonomy.clone()).unwrap();
        same_snapshot(&taker, &rebuilt);
        same_snapshot(&follower, &rebuilt);
        snap = rebuilt;
    }
}

/// A talent whose tail may reach further back than the rows a batch reads
/// newest first is replayed whole; one whose tail lies within them is not,
/// however long its history.
#[test]
fn a_talent_whose_tail_reaches_past_the_rows_read_is_replayed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 3);
    let rows = talentmap::import::present::TAIL_ROWS + 6;
    let mut csv = String::from(MOVE_HEADER);
    for t in 0..3 {
        for i in 0..rows {
            let date = format!("2024-{:02}-{:02}", 1 + i / 28, 1 + i % 28);
            // T1's last move, T2's first: a job change.
            let (event, firm) = match (t, i) {
                (1, i) if i == rows - 1 => ("job_change", "E3"),
                (2, 0) => ("job_change", "E2"),
                _ => ("relocate", ""),
            };
            csv.push_str(&format!("M{t}-{i:03},T{t},{date},{event},,,117.0{t},36.6{},{firm},\n", i % 10));
        }
    }
    import(&mut store, ImportKind::Moves, &write(dir.path(), "long.csv", &csv)).unwrap();
    let taxonomy = Arc::new(Taxonomy::builtin());
    let snap = snapshot::build(&mut store, taxonomy.clone()).unwrap();
    let batch: Vec<Value> = (0..3)
        .map(|t| {
            json!({"id": format!("F{t}"), "talent_id": format!("T{t}"), "date": "2024-06-01", "event": "relocate",
                         "to_lon": 117.05, "to_lat": 36.65})
        })
        .collect();
    let mut staged = talentmap::import::stage_moves(&mut store, &taxonomy, &batch).unwrap();
    let delta = staged.take_delta().unwrap();
    staged.commit().unwrap();
    let continued: Vec<&String> = delta.continued.keys().collect();
    assert_eq!(continued, ["T1"], "T0 names no enterprise and T2 set its employer long ago");
    assert_eq!(delta.continued["T1"].tail.len(), 1);
    let ids: Vec<String> = (0..3).map(|t| format!("T{t}")).collect();
    let read = talentmap::import::present::read_rows(store.conn(), &ids).unwrap();
    check_handed_over(&delta, &read, &(0..3).map(|t| format!("F{t}")).collect());
    let patched = snapshot::patch::apply(&snap, &delta).unwrap().expect("patched");
    same_snapshot(&patched, &snapshot::build(&mut store, taxonomy).unwrap());
}

#[test]
fn a_batch_of_the_latest_month_shares_every_other_month_of_the_move_table() {
    let dir = tempfile::tempdir().unwrap();
    let talents = 300;
    let mut store = random_city(dir.path(), talents, 5);
    import_moves_csv(&mut store, dir.path(), "moves.csv", &random_moves(1_500, talents, 11));
    let taxonomy = Arc::new(Taxonomy::builtin());
    let snap = snapshot::build(&mut store, taxonomy.clone()).unwrap();
    let months = snap.flows.months as usize;
    assert!(months >= 20, "moves over {months} months");
    // After every stored move of the talents it names: their earlier moves
    // come back as they were.
    let batch: Vec<Value> = random_moves(120, talents, 41)
        .into_iter()
        .map(|m| {
            json!({"id": format!("L-{}", m.id), "talent_id": format!("T{}", m.talent), "date": "2025-12-29",
                   "event": m.event, "to_lon": m.to.map(|p| p.0), "to_lat": m.to.map(|p| p.1),
                   "to_enterprise_id": m.firm, "destination": (m.event == "leave").then_some("青岛")})
        })
        .collect();
    let mut staged = talentmap::import::stage_moves(&mut store, &taxonomy, &batch).unwrap();
    let delta = staged.take_delta().expect("a delta");
    staged.commit().unwrap();
    // Their new moves come after every stored one: the delta holds the new
    // moves and the latest stored ones of each.
    assert!(delta.continued.len() > 80, "the touched talents had moves before: {}", delta.continued.len());
    assert_eq!(delta.after.moves.len(), batch.len());
    let patched = snapshot::patch::apply(&snap, &delta).unwrap().expect("same base version");
    assert_eq!(patched.flows.months as usize, months);
    assert_eq!(
        patched.flows.moves.months_shared_with(&snap.flows.moves),
        months - 1,
        "only the latest month is made again"
    );
    assert_eq!(patched.flows.moves.len(), snap.flows.moves.len() + delta.after.moves.len() - delta.before.moves.len());
    // The months before hold the same records in the same order; the
    // latest holds its records before the batch and the batch's moves.
    for month in 0..snap.flows.months - 1 {
        assert_eq!(patched.flows.month_moves(month), snap.flows.month_moves(month), "month {month}");
    }
    let last = snap.flows.months - 1;
    assert_eq!(patched.flows.month_moves(last).len(), snap.flows.month_moves(last).len() + batch.len());
    assert_eq!(&patched.flows.month_moves(last)[..snap.flows.month_moves(last).len()], snap.flows.month_moves(last));
    conserved(&patched);
    // Many moves of one talent share the batch's day: a rebuild takes them
    // in the same order as the patch, so both give each move the same
    // employer before and after.
    let mut per_talent: HashMap<&str, usize> = HashMap::new();
    for m in &batch {
        *per_talent.entry(m["talent_id"].as_str().unwrap()).or_default() += 1;
    }
    assert!(per_talent.values().filter(|&&n| n > 1).count() > 10, "talents with more than one move that day");
    same_snapshot(&patched, &snapshot::build(&mut store, taxonomy).unwrap());
}

#[test]
fn a_record_written_with_a_batch_is_stored_with_it_or_neither_is() {
    let dir = tempfile::tempdir().unwrap();
    let talents = 200;
    let mut store = random_city(dir.path(), talents, 9);
    let taxonomy = Arc::new(Taxonomy::builtin());
    let batch: Vec<Value> = random_moves(50, talents, 23)
        .into_iter()
        .map(|m| {
            json!({"id": format!("R-{}", m.id), "talent_id": format!("T{}", m.talent), "date": m.date.to_string(),
                   "event": m.event, "to_lon": m.to.map(|p| p.0), "to_lat": m.to.map(|p| p.1),
                   "to_enterprise_id": m.firm, "destination": (m.event == "leave").then_some("青岛")})
        })
        .collect();
    let (version, rows) = (store.data_version().unwrap(), stored(&store));
    let moves =
        |store: &Store| -> i64 { store.conn().query_row("SELECT count(*) FROM moves", [], |r| r.get(0)).unwrap() };
    let before = moves(&store);
    // A record that fails: the batch is not stored either.
    let staged = talentmap::import::stage_moves(&mut store, &taxonomy, &batch).unwrap();
    let failed = staged.commit_with(|_, _| Err("the disk is full".into())).unwrap_err();
    assert!(matches!(&failed, talentmap::import::BatchError::Record(m) if m == "the disk is full"), "{failed}");
    assert!(failed.to_string().contains("nothing was stored"), "{failed}");
    assert_eq!((store.data_version().unwrap(), moves(&store)), (version, before));
    assert!(stored(&store) == rows, "no talent's present changed");
    // A record that is written sees the batch's version, in its transaction.
    let staged = talentmap::import::stage_moves(&mut store, &taxonomy, &batch).unwrap();
    let (summary, recorded) = staged
        .commit_with(|conn, summary| {
            let moves: i64 =
                conn.query_row("SELECT count(*) FROM moves", [], |r| r.get(0)).map_err(|e| e.to_string())?;
            assert_eq!(moves, before + 50, "the batch's moves are written before the record");
            conn.execute("INSERT INTO meta(key, value) VALUES ('recorded', ?1)", [summary.version.to_string()])
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .unwrap();
    assert!(recorded);
    assert_eq!((summary.stored, summary.version), (50, version + 1));
    let kept: String =
        store.conn().query_row("SELECT value FROM meta WHERE key = 'recorded'", [], |r| r.get(0)).unwrap();
    assert_eq!(kept, (version + 1).to_string());
    // A batch that stores nothing writes no record: its caller does.
    let staged = talentmap::import::stage_moves(&mut store, &taxonomy, &batch).unwrap();
    let (summary, recorded) = staged.commit_with(|_, _| Err("not called".into())).unwrap();
    assert_eq!((summary.stored, summary.unchanged, recorded), (0, 50, false));
}

/// Talents, totals, region statistics and flow counts agree.
fn same_snapshot(a: &Snapshot, b: &Snapshot) {
    assert_eq!(a.version, b.version);
    assert_eq!(a.layers, b.layers, "layer versions");
    let fmt = |s: &Snapshot| {
        let mut v: Vec<String> = s.talents.iter().map(|t| format!("{t:?}")).collect();
        v.sort();
        v
    };
    assert_eq!(fmt(a), fmt(b), "talent records");
    assert_eq!(format!("{:?}", a.totals), format!("{:?}", b.totals));
    assert_eq!(format!("{:?}", a.totals_tallies), format!("{:?}", b.totals_tallies));
    for (ra, rb) in a.regions.iter().zip(&b.regions) {
        assert_eq!(format!("{:?}", ra.stats), format!("{:?}", rb.stats), "{}", ra.id);
    }
    // Destination texts are interned in the order they are met: compare
    // the texts.
    let moves = |s: &Snapshot| {
        let text = |d: u16| s.flows.destinations.get(d as usize).cloned().unwrap_or_default();
        let mut v: Vec<String> = s
            .flows
            .moves
            .iter()
            .map(|m| format!("{:?} {}", talentmap::snapshot::MoveRec { destination: 0, ..*m }, text(m.destination)))
            .collect();
        v.sort();
        v
    };
    assert_eq!((a.flows.first_month, a.flows.months), (b.flows.first_month, b.flows.months));
    assert_eq!(a.flows.origin, b.flows.origin, "the cells of moves are counted from one origin");
    assert_eq!(moves(a), moves(b), "move records");
    for slot in 0..a.flows.region_of_slot.len() as u16 {
        for month in 0..a.flows.months {
            assert_eq!(a.flows.counts(slot, month, None, None), b.flows.counts(slot, month, None, None));
            // With the sums of their moves' record keys.
            assert_eq!(a.flows.tallies(slot, month), b.flows.tallies(slot, month), "slot {slot} month {month}");
            assert_eq!(a.flows.counts(slot, month, Some(0), None), b.flows.counts(slot, month, Some(0), None));
        }
        // Resident counts are changed by the swapped records on a patch,
        // counted over every talent on a build: every field and industry.
        for field in 0..a.flows.fields as u8 {
            assert_eq!(a.flows.residents_with_field(slot, field), b.flows.residents_with_field(slot, field));
        }
        for industry in 0..a.flows.industries as u8 {
            assert_eq!(
                a.flows.residents_in_industries(slot, &[industry]),
                b.flows.residents_in_industries(slot, &[industry]),
                "slot {slot}, industry {industry}"
            );
        }
    }
    // Records of one home key may stand in another order: each workplace
    // order is checked against its own records.
    assert_eq!(a.by_work, workplace_order_of(a), "the patched workplace order");
    assert_eq!(b.by_work, workplace_order_of(b), "the built workplace order");
}

/// The positions of the talents with a workplace by (workplace key,
/// position), from scratch.
fn workplace_order_of(s: &Snapshot) -> Vec<u32> {
    let mut keyed: Vec<(u64, u32)> = s
        .talents
        .iter()
        .enumerate()
        .filter(|(_, t)| t.work != talentmap::snapshot::NO_KEY)
        .map(|(i, t)| (t.work, i as u32))
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

fn here_of(store: &Store, id: &str) -> (bool, f64) {
    store
        .conn()
        .query_row("SELECT here, home_lon FROM talents WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
}

#[test]
fn replacing_the_moves_and_reimporting_the_register_recompute_the_present() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 3);
    let moves = format!(
        "{MOVE_HEADER}M1,T0,2025-01-02,leave,117.01,36.62,,,,上海\nM2,T1,2025-01-03,relocate,117.01,36.62,117.3,36.7,,\n"
    );
    import(&mut store, ImportKind::Moves, &write(dir.path(), "m1.csv", &moves)).unwrap();
    assert!(!here_of(&store, "T0").0);
    assert_eq!(here_of(&store, "T1"), (true, 117.3));
    // A register re-import writes the registered home; the moves put the
    // present back.
    import(&mut store, ImportKind::Talents, &write(dir.path(), "t.csv", &talents_csv(3, false))).unwrap();
    assert!(!here_of(&store, "T0").0);
    assert_eq!(here_of(&store, "T1"), (true, 117.3));
    // Replacing the moves with a file without T0's departure brings T0 back.
    let only_t1 = format!("{MOVE_HEADER}M2,T1,2025-01-03,relocate,117.01,36.62,117.3,36.7,,\n");
    let path = write(dir.path(), "m2.csv", &only_t1);
    let options = talentmap::import::ImportOptions { replace: true, progress: false };
    talentmap::import::import_file(&mut store, &Taxonomy::builtin(), ImportKind::Moves, &path, options).unwrap();
    assert!(here_of(&store, "T0").0);
    assert_eq!(here_of(&store, "T1"), (true, 117.3));
}

#[test]
fn a_store_written_before_the_present_was_kept_gets_it_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let mut store = tiny_city(dir.path(), 3);
        let moves = format!("{MOVE_HEADER}M1,T0,2025-01-02,leave,117.01,36.62,,,,上海\n");
        import(&mut store, ImportKind::Moves, &write(dir.path(), "m.csv", &moves)).unwrap();
        // As schema 4 stored it: the register only.
        store.conn().execute_batch(BACK_TO_SCHEMA_4).unwrap();
    }
    let mut store = Store::open(&data).unwrap();
    assert!(!here_of(&store, "T0").0, "T0 left");
    assert!(here_of(&store, "T1").0);
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    assert_eq!((snap.totals.talents, snap.totals.registered, snap.totals.departed), (2, 3, 1));
}

/// A feed that holds the talents its last batch touched knows they are in
/// the register without reading them again; a batch that names those and a
/// talent the register does not have is still refused, at that item, and
/// stores nothing.
#[test]
fn held_talents_are_known_and_an_unknown_one_is_still_refused() {
    let dir = tempfile::tempdir().unwrap();
    let talents = 300;
    let mut store = random_city(dir.path(), talents, 5);
    let taxonomy = Taxonomy::builtin();
    let mut feed = talentmap::import::FeedContext::default();
    let first = feed_batch("H0", random_moves(200, talents, 3), "青岛");
    let staged = talentmap::import::stage_moves_keeping(&mut store, &taxonomy, &first, &mut feed).unwrap();
    staged.commit().unwrap();
    assert!(feed.held() > 64, "the first batch's talents are held: {}", feed.held());
    let version = store.data_version().unwrap();

    // The same talents again (every one held), and one the register lacks.
    let mut second = feed_batch("H1", random_moves(200, talents, 3), "青岛");
    let mut stranger = second[7].clone();
    stranger["id"] = json!("H1-stranger");
    stranger["talent_id"] = json!("T-none");
    second.insert(120, stranger);
    let refused = talentmap::import::stage_moves_keeping(&mut store, &taxonomy, &second, &mut feed).err().unwrap();
    let talentmap::import::BatchError::Invalid { errors } = refused else { panic!("{refused:?}") };
    let found: Vec<(usize, &str, &str)> =
        errors.iter().map(|e| (e.index, e.field.as_str(), e.value.as_str())).collect();
    assert_eq!(found, vec![(120, "talent_id", "T-none")], "{errors:?}");
    assert!(errors[0].message.contains("no talent with this id"), "{errors:?}");
    assert_eq!(store.data_version().unwrap(), version, "nothing stored");

    // Without it, the batch is stored.
    second.remove(120);
    let staged = talentmap::import::stage_moves_keeping(&mut store, &taxonomy, &second, &mut feed).unwrap();
    assert_eq!(staged.commit().unwrap().stored, 200);
}
