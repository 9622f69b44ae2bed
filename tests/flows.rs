//! Talent flows: series against a brute-force count of the moves (exact, for
//! an admin), the disclosure control for everyone else (no count in 1..k−1,
//! the time-window difference attack measured), alerts on a planted spike and not on seasonality, the false
//! alarm rate on stationary simulated data, and the JSON moves feed
//! (validation, idempotency, durability across a restart).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use talentmap::analytics::flows::alerts::{DEFAULT_ALPHA, HISTORY_MONTHS, assess, seasonal_factors};
use talentmap::api::{AppState, Settings, router};
use talentmap::import::ImportKind;
use talentmap::model::Taxonomy;
use talentmap::snapshot;
use talentmap::store::{Store, Table};
use tower::ServiceExt;

const MOVE_HEADER: &str = "id,talent_id,date,event,from_lon,from_lat,to_lon,to_lat,to_enterprise_id,destination\n";
const TALENTS: usize = 300;
const EMPLOYERS: [Option<(&str, &str)>; 4] = [Some(("E1", "65")), Some(("E2", "27")), Some(("E3", "66")), None];
const DESTINATIONS: [&str; 4] = ["北京", "上海", "青岛", "深圳"];

/// Talent `i`: field `FIELDS[i % 5]`, employer `EMPLOYERS[i % 4]`, home in D1.
fn talents_csv() -> String {
    let mut s = String::from(
        "id,home_lon,home_lat,work_lon,work_lat,enterprise_id,field,education,title,tier,birth_year,seeking\n",
    );
    for i in 0..TALENTS {
        let (work, ent) = match EMPLOYERS[i % 4] {
            Some((id, _)) => ("117.01,36.61".to_string(), id),
            None => (",".to_string(), ""),
        };
        let lon = 117.06 + (i % 50) as f64 * 0.002;
        s.push_str(&format!("T{i},{lon:.4},36.7,{work},{ent},{},bachelor,none,none,1995,false\n", FIELDS[i % 5]));
    }
    s
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Area {
    /// D1 outside the park.
    D1,
    /// The park (inside D1).
    P1,
    D2,
}

fn point(rng: &mut Rng, area: Area) -> (f64, f64) {
    match area {
        Area::D1 => (117.06 + rng.unit() * 0.13, 36.66 + rng.unit() * 0.13),
        Area::P1 => (117.001 + rng.unit() * 0.048, 36.601 + rng.unit() * 0.048),
        Area::D2 => (117.21 + rng.unit() * 0.18, 36.61 + rng.unit() * 0.18),
    }
}

/// Regions of a point of the tiny city: `(district, park)`.
fn regions_of(p: (f64, f64)) -> (Option<&'static str>, Option<&'static str>) {
    let district = if (117.0..117.2).contains(&p.0) { Some("D1") } else { Some("D2") };
    let park = (p.0 < 117.05 && p.1 < 36.65).then_some("P1");
    (district, park)
}

#[derive(Debug, Clone)]
struct Mv {
    id: String,
    talent: usize,
    /// `year * 12 + month - 1`.
    month: u32,
    day: u32,
    event: &'static str,
    from: Option<(f64, f64)>,
    to: Option<(f64, f64)>,
    enterprise: Option<usize>,
    destination: Option<&'static str>,
}

impl Mv {
    fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.month / 12, self.month % 12 + 1, self.day)
    }
    fn csv(&self) -> String {
        let p = |x: Option<(f64, f64)>| x.map_or(",".to_string(), |(a, b)| format!("{a:.6},{b:.6}"));
        format!(
            "{},T{},{},{},{},{},{},{}\n",
            self.id,
            self.talent,
            self.date(),
            self.event,
            p(self.from),
            p(self.to),
            self.enterprise.map_or(String::new(), |e| EMPLOYERS[e].unwrap().0.to_string()),
            self.destination.unwrap_or("")
        )
    }
}

fn city_with_moves(dir: &Path, moves: &[Mv]) -> Store {
    let mut store = tiny_city(dir, 0);
    import(&mut store, ImportKind::Talents, &write(dir, "talents.csv", &talents_csv())).unwrap();
    let mut csv = String::from(MOVE_HEADER);
    moves.iter().for_each(|m| csv.push_str(&m.csv()));
    import(&mut store, ImportKind::Moves, &write(dir, "moves.csv", &csv)).unwrap();
    store
}

fn state_of(store: &mut Store, data: Option<&Path>, k: u32) -> AppState {
    let snap = snapshot::build(store, Arc::new(Taxonomy::builtin())).unwrap();
    AppState::new(snap, data.map(Path::to_path_buf), Settings { k, ..Settings::default() })
}

async fn get(state: &AppState, uri: &str) -> (StatusCode, Value) {
    get_as(state, uri, None).await
}

/// A GET presenting `authorization` (an `Authorization` header value).
async fn get_as(state: &AppState, uri: &str, authorization: Option<&str>) -> (StatusCode, Value) {
    let mut req = Request::get(uri);
    if let Some(a) = authorization {
        req = req.header(header::AUTHORIZATION, a);
    }
    let resp = router(state.clone()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A state on `dir`'s store with its data directory, and an admin key.
fn admin_state(store: &mut Store, dir: &Path, k: u32) -> (AppState, String) {
    let state = state_of(store, Some(&dir.join("data")), k);
    let admin = bearer(store, talentmap::auth::Role::Admin, &[]);
    (state, admin)
}

/// Asserts that a published count is 0 or at least `k`.
fn never_small(v: &Value, k: u64, what: &str) {
    let n = v.as_u64().unwrap_or_else(|| panic!("{what}: {v} is not a count"));
    assert!(n == 0 || n >= k, "{what} = {n} is in 1..k-1");
}

/// Posts a moves batch as a feeder (a new feeder key in the state's store).
async fn post(state: &AppState, body: &Value) -> (StatusCode, Value) {
    let feeder = match &state.store {
        Some(pool) => bearer(&pool.location().open().unwrap(), talentmap::auth::Role::Feeder, &[]),
        None => "Bearer tm_0000000000000000_00".to_string(),
    };
    let req = Request::post("/api/moves")
        .header(header::AUTHORIZATION, feeder)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap();
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

const FIRST: u32 = 2024 * 12; // 2024-01
const MONTHS: u32 = 36; // to 2026-12

fn label(m: u32) -> String {
    format!("{:04}-{:02}", m / 12, m % 12 + 1)
}

fn random_moves(n: usize, seed: u64) -> Vec<Mv> {
    let mut rng = Rng(seed | 1);
    let areas = [Area::D1, Area::P1, Area::D2];
    (0..n)
        .map(|i| {
            let mut area = || areas[(rng.next() % 3) as usize];
            let (a, b) = (area(), area());
            let event = ["arrive", "leave", "job_change", "relocate"][(rng.next() % 4) as usize];
            let (from, to) = match event {
                "arrive" => (None, Some(point(&mut rng, b))),
                "leave" => (Some(point(&mut rng, a)), None),
                _ => (Some(point(&mut rng, a)), Some(point(&mut rng, b))),
            };
            let enterprise =
                (event == "job_change" && !rng.next().is_multiple_of(4)).then(|| (rng.next() % 3) as usize);
            Mv {
                id: format!("M{i}"),
                talent: (rng.next() % TALENTS as u64) as usize,
                month: FIRST + (rng.next() % MONTHS as u64) as u32,
                day: 1 + (rng.next() % 28) as u32,
                event,
                from,
                to,
                enterprise,
                destination: (event == "leave").then(|| DESTINATIONS[(rng.next() % 4) as usize]),
            }
        })
        .collect()
}

/// The industry a move is attributed to, by the documented rule: its
/// enterprise's, else the talent's latest earlier one, else the talent's
/// current employer's.
fn industries_of(moves: &[Mv]) -> Vec<Option<&'static str>> {
    let mut order: Vec<usize> = (0..moves.len()).collect();
    // Same-day moves: those with an enterprise first, by industry code.
    let own = |i: usize| moves[i].enterprise.map(|e| EMPLOYERS[e].unwrap().1);
    order.sort_by_key(|&i| (moves[i].talent, moves[i].month, moves[i].day, own(i).is_none(), own(i)));
    let mut out = vec![None; moves.len()];
    let mut latest: Option<(usize, &str)> = None;
    for i in order {
        let m = &moves[i];
        if latest.is_some_and(|(t, _)| t != m.talent) {
            latest = None;
        }
        let own = m.enterprise.map(|e| EMPLOYERS[e].unwrap().1);
        out[i] = own.or(latest.map(|l| l.1)).or(EMPLOYERS[m.talent % 4].map(|e| e.1));
        if let Some(ind) = own {
            latest = Some((m.talent, ind));
        }
    }
    out
}

/// A talent now, by the state rule (docs/present.md) written out.
struct Present {
    here: bool,
    home: (f64, f64),
    industry: Option<&'static str>,
}

/// Every talent's present: registered in D1 (outside the park) with
/// employer `EMPLOYERS[i % 4]`, then their moves by date and id.
fn present_of(moves: &[Mv]) -> Vec<Present> {
    (0..TALENTS)
        .map(|i| {
            let mut mine: Vec<&Mv> = moves.iter().filter(|m| m.talent == i).collect();
            mine.sort_by(|a, b| (a.month, a.day, &a.id).cmp(&(b.month, b.day, &b.id)));
            let lon = 117.06 + (i % 50) as f64 * 0.002;
            let mut p = Present {
                here: mine.first().is_none_or(|m| m.event != "arrive"),
                home: (lon, 36.7),
                industry: EMPLOYERS[i % 4].map(|e| e.1),
            };
            for m in mine {
                p.here = m.event != "leave";
                match m.event {
                    "arrive" | "relocate" => p.home = m.to.unwrap_or(p.home),
                    "job_change" => p.industry = m.enterprise.map(|e| EMPLOYERS[e].unwrap().1),
                    _ => {}
                }
            }
            p
        })
        .collect()
}

/// Brute-force counts for one area and month, in the API's counter order.
fn brute(moves: &[Mv], inds: &[Option<&str>], area: &str, month: u32, field: Option<&str>, chain: &[&str]) -> [u64; 6] {
    let mut c = [0u64; 6];
    let at = |p: Option<(f64, f64)>| -> bool {
        p.is_some_and(|p| {
            let (d, k) = regions_of(p);
            d == Some(area) || k == Some(area)
        })
    };
    for (m, ind) in moves.iter().zip(inds) {
        if m.month != month
            || field.is_some_and(|f| FIELDS[m.talent % 5] != f)
            || (!chain.is_empty() && !ind.is_some_and(|i| chain.contains(&i)))
        {
            continue;
        }
        let (f, t) = (at(m.from), at(m.to));
        match m.event {
            "arrive" if t => c[0] += 1,
            "leave" if f => c[1] += 1,
            "job_change" if t && !f => c[2] += 1,
            "job_change" if f && !t => c[3] += 1,
            "relocate" if t && !f => c[4] += 1,
            "relocate" if f && !t => c[5] += 1,
            _ => {}
        }
    }
    c
}

const COUNTERS: [&str; 6] =
    ["arrivals", "departures", "job_changes_in", "job_changes_out", "relocations_in", "relocations_out"];

#[tokio::test]
async fn series_equal_brute_force_counts() {
    let dir = tempfile::tempdir().unwrap();
    let moves = random_moves(4000, 11);
    let mut store = city_with_moves(dir.path(), &moves);
    let (state, admin) = admin_state(&mut store, dir.path(), 5);
    let admin = Some(admin.as_str());
    let inds = industries_of(&moves);
    let present = present_of(&moves);
    let scopes: [(&str, Option<&str>, &[&str]); 5] = [
        ("", None, &[]),
        ("&field=0812", Some("0812"), &[]),
        ("&chain=ngit", None, &["39", "63", "64", "65"]),
        ("&chain=biomed&field=1007", Some("1007"), &["27", "35", "73"]),
        ("&chain=66", None, &["66"]),
    ];
    for area in ["D1", "D2", "P1"] {
        for (query, field, chain) in scopes {
            let uri = format!("/api/flows/series?area={area}{query}&from=2023-12&to=2027-01");
            let (status, body) = get_as(&state, &uri, admin).await;
            assert_eq!(status, StatusCode::OK, "{uri}: {body}");
            assert_eq!(body["exact_counts"], true);
            // The net-rate denominator: talents in the city now, living in
            // the area, by their present employer.
            let residents = present
                .iter()
                .enumerate()
                .filter(|(_, p)| p.here)
                .filter(|(i, _)| field.is_none_or(|f| FIELDS[i % 5] == f))
                .filter(|(_, p)| chain.is_empty() || p.industry.is_some_and(|e| chain.contains(&e)))
                .filter(|(_, p)| {
                    let (d, k) = regions_of(p.home);
                    d == Some(area) || k == Some(area)
                })
                .count() as u64;
            assert_eq!(body["talents"].as_u64(), Some(residents), "{uri}");
            let months = body["months"].as_array().unwrap();
            assert_eq!(months.len(), 38);
            for (i, m) in months.iter().enumerate() {
                let month = FIRST - 1 + i as u32;
                assert_eq!(m["month"], label(month));
                let want = brute(&moves, &inds, area, month, field, chain);
                let got: Vec<u64> = COUNTERS.iter().map(|c| m[c].as_u64().unwrap()).collect();
                assert_eq!(got, want, "{uri} {}", label(month));
                let net =
                    want[0] as i64 - want[1] as i64 + want[2] as i64 - want[3] as i64 + want[4] as i64 - want[5] as i64;
                assert_eq!(m["net"].as_i64(), Some(net));
            }
        }
    }
    // Every move counted somewhere: departures over both districts equal the leaves.
    let leaves = moves.iter().filter(|m| m.event == "leave").count() as u64;
    let mut total = 0;
    for area in ["D1", "D2"] {
        let (_, body) = get_as(&state, &format!("/api/flows/series?area={area}"), admin).await;
        total += body["months"].as_array().unwrap().iter().map(|m| m["departures"].as_u64().unwrap()).sum::<u64>();
    }
    assert_eq!(total, leaves);
}

#[tokio::test]
async fn series_publish_no_small_counts_and_derive_from_the_published_ones() {
    let dir = tempfile::tempdir().unwrap();
    let moves = random_moves(1500, 5);
    let mut store = city_with_moves(dir.path(), &moves);
    let state = state_of(&mut store, None, 5);
    let inds = industries_of(&moves);
    let (mut small_seen, mut changed) = (0, 0);
    for area in ["D1", "D2", "P1"] {
        let uri = format!("/api/flows/series?area={area}&field=0810");
        let (_, body) = get(&state, &uri).await;
        assert_eq!(body["exact_counts"], false);
        assert_eq!(get(&state, &uri).await.1, body, "the same records, the same numbers");
        never_small(&body["talents"], 5, "talents");
        for (i, m) in body["months"].as_array().unwrap().iter().enumerate() {
            let want = brute(&moves, &inds, area, FIRST + i as u32, Some("0810"), &[]);
            let mut published = [0i64; 6];
            for (c, name) in COUNTERS.iter().enumerate() {
                never_small(&m[name], 5, name);
                let got = m[name].as_u64().unwrap();
                published[c] = got as i64;
                small_seen += (1..5).contains(&want[c]) as u32;
                changed += (got != want[c]) as u32;
                if want[c] >= 5 {
                    assert!(got.abs_diff(want[c]) <= 3, "{area} {name}: {got} for {}", want[c]);
                }
            }
            let net = published[0] - published[1] + published[2] - published[3] + published[4] - published[5];
            assert_eq!(m["net"].as_i64(), Some(net), "net of the published counts");
            assert!(m.get("suppressed").is_none());
        }
    }
    assert!(small_seen > 0 && changed > 0, "the data must exercise the perturbation");
}

/// The time-window attack: the departures (and arrivals) of an area over
/// `from=M` minus those over `from=M+1` (same `to`) would be the moves of
/// month M. Each window is its own tally, so the difference is noisy; the
/// share of small true differences (1..4) recovered exactly stays low.
#[tokio::test]
async fn window_differences_do_not_reveal_small_counts() {
    let dir = tempfile::tempdir().unwrap();
    let moves = random_moves(3000, 31);
    let mut store = city_with_moves(dir.path(), &moves);
    let (state, admin) = admin_state(&mut store, dir.path(), 5);
    let to = label(FIRST + MONTHS - 1);
    let (mut small, mut recovered) = (0u32, 0u32);
    let values = |body: &Value| -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for f in body["features"].as_array().unwrap() {
            let p = &f["properties"];
            if p["kind"] == "area" {
                for name in ["arrivals", "departures"] {
                    out.push((format!("{} {name}", p["id"]), p[name].as_u64().unwrap()));
                }
            }
        }
        out
    };
    let scopes =
        ["district", "park", "district&field=0812", "park&field=0810", "district&chain=ngit", "district&field=1007"];
    for level in scopes {
        let window = |m: u32, auth: Option<String>| {
            let state = state.clone();
            let uri = format!("/api/flows/od?from={}&to={to}&level={level}", label(m));
            async move {
                let (status, body) = get_as(&state, &uri, auth.as_deref()).await;
                assert_eq!(status, StatusCode::OK, "{uri}: {body}");
                for (what, n) in values(&body) {
                    if body["exact_counts"] == false {
                        assert!(n == 0 || n >= 5, "{uri}: {what} = {n}");
                    }
                }
                values(&body)
            }
        };
        let mut exact_prev = window(FIRST, Some(admin.clone())).await;
        let mut prot_prev = window(FIRST, None).await;
        for m in FIRST + 1..FIRST + MONTHS {
            let (exact, prot) = (window(m, Some(admin.clone())).await, window(m, None).await);
            for (((e0, e1), p0), p1) in exact_prev.iter().zip(&exact).zip(&prot_prev).zip(&prot) {
                let truth = e0.1 as i64 - e1.1 as i64;
                if (1..5).contains(&truth) {
                    small += 1;
                    recovered += (p0.1 as i64 - p1.1 as i64 == truth) as u32;
                }
            }
            (exact_prev, prot_prev) = (exact, prot);
        }
    }
    let share = f64::from(recovered) / f64::from(small.max(1));
    println!("window attack: {recovered} of {small} small differences recovered exactly ({:.1} %)", share * 100.0);
    assert!(small >= 100, "the data must exercise the attack: {small}");
    assert!(share <= 0.25, "{recovered} of {small} recovered");
}

#[tokio::test]
async fn series_parameters_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = city_with_moves(dir.path(), &random_moves(50, 3));
    let state = state_of(&mut store, None, 5);
    for (uri, status, param) in [
        ("/api/flows/series", 400, "area"),
        ("/api/flows/series?area=NOPE", 404, ""),
        ("/api/flows/series?area=D1&from=2024-13", 400, "from"),
        ("/api/flows/series?area=D1&from=2025-02&to=2025-01", 400, "from"),
        ("/api/flows/series?area=D1&chain=steel", 400, "chain"),
        ("/api/flows/series?area=D1&field=12", 400, "field"),
        ("/api/flows/series?area=D1&bogus=1", 400, "bogus"),
        ("/api/flows/od?level=street", 400, "level"),
        ("/api/flows/alerts?month=2024-03", 400, "month"),
        ("/api/flows/alerts?month=2030-01", 400, "month"),
        ("/api/flows/alerts?alpha=0.9", 400, "alpha"),
    ] {
        let (s, body) = get(&state, uri).await;
        assert_eq!(s.as_u16(), status, "{uri}: {body}");
        if !param.is_empty() {
            assert_eq!(body["error"]["parameter"], param, "{uri}: {body}");
            assert!(body["error"]["message"].as_str().unwrap().contains("accepted"), "{uri}: {body}");
        }
    }
}

#[tokio::test]
async fn od_lines_match_brute_force_and_respect_k() {
    let dir = tempfile::tempdir().unwrap();
    let moves = random_moves(3000, 21);
    let mut store = city_with_moves(dir.path(), &moves);
    let (state, admin) = admin_state(&mut store, dir.path(), 5);
    let uri = "/api/flows/od?level=district&from=2025-01&to=2025-12";
    // Perturbed for everyone but an admin: no count in 1..4 anywhere.
    let (status, public) = get(&state, uri).await;
    assert_eq!((status, &public["exact_counts"]), (StatusCode::OK, &json!(false)), "{public}");
    for f in public["features"].as_array().unwrap() {
        let p = &f["properties"];
        for key in ["count", "job_changes", "relocations", "arrivals", "departures", "other_destinations"] {
            if !p[key].is_null() {
                never_small(&p[key], 5, key);
            }
        }
        for d in p["destinations"].as_array().into_iter().flatten() {
            never_small(&d["count"], 5, "destination");
        }
    }
    let (status, body) = get_as(&state, uri, Some(&admin)).await;
    assert_eq!((status, &body["exact_counts"]), (StatusCode::OK, &json!(true)), "{body}");
    let in_span = |m: &&Mv| (2025 * 12..2026 * 12).contains(&m.month);
    let pair = |a: &str, b: &str| {
        moves
            .iter()
            .filter(in_span)
            .filter(|m| matches!(m.event, "job_change" | "relocate"))
            .filter(|m| regions_of(m.from.unwrap()).0 == Some(a) && regions_of(m.to.unwrap()).0 == Some(b))
            .count() as u64
    };
    let features = body["features"].as_array().unwrap();
    for (a, b) in [("D1", "D2"), ("D2", "D1")] {
        let want = pair(a, b);
        let line = features.iter().find(|f| f["properties"]["from"] == a && f["properties"]["to"] == b);
        if want > 0 {
            assert_eq!(line.unwrap()["properties"]["count"].as_u64(), Some(want));
            assert_eq!(line.unwrap()["geometry"]["type"], "LineString");
        } else {
            assert!(line.is_none());
        }
    }
    let d2 = features.iter().find(|f| f["properties"]["kind"] == "area" && f["properties"]["id"] == "D2").unwrap();
    let leaves: Vec<&Mv> = moves
        .iter()
        .filter(in_span)
        .filter(|m| m.event == "leave" && regions_of(m.from.unwrap()).0 == Some("D2"))
        .collect();
    assert_eq!(d2["properties"]["departures"].as_u64(), Some(leaves.len() as u64));
    let listed: u64 = d2["properties"]["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let n = d["count"].as_u64().unwrap();
            assert!(n > 0);
            let name = d["name"].as_str().unwrap();
            assert_eq!(n, leaves.iter().filter(|m| m.destination == Some(name)).count() as u64);
            n
        })
        .sum();
    let other = d2["properties"]["other_destinations"].as_u64().unwrap();
    assert_eq!(listed + other, leaves.len() as u64);
}

/// Poisson draw (Knuth, split into parts of mean ≤ 30).
fn poisson(rng: &mut Rng, mean: f64) -> u64 {
    let mut left = mean;
    let mut total = 0;
    while left > 0.0 {
        let part = left.min(30.0);
        left -= part;
        let limit = (-part).exp();
        let mut p = 1.0;
        loop {
            p *= rng.unit();
            if p <= limit {
                break;
            }
            total += 1;
        }
    }
    total
}

/// Departures of every area and month: stationary, July × `july`, and
/// D2's last month × `spike`.
fn departures(seed: u64, july: f64, spike: f64) -> Vec<Mv> {
    let mut rng = Rng(seed | 1);
    let mut out = Vec::new();
    for month in FIRST..FIRST + MONTHS {
        for (area, base) in [(Area::D1, 40.0), (Area::P1, 15.0), (Area::D2, 30.0)] {
            let mut mean = base * if month % 12 == 6 { july } else { 1.0 };
            if area == Area::D2 && month == FIRST + MONTHS - 1 {
                mean *= spike;
            }
            for _ in 0..poisson(&mut rng, mean) {
                let i = out.len();
                out.push(Mv {
                    id: format!("L{i}"),
                    talent: (rng.next() % TALENTS as u64) as usize,
                    month,
                    day: 1 + (rng.next() % 28) as u32,
                    event: "leave",
                    from: Some(point(&mut rng, area)),
                    to: None,
                    enterprise: None,
                    destination: Some(DESTINATIONS[if rng.next().is_multiple_of(3) { 0 } else { 1 }]),
                });
            }
        }
    }
    out
}

#[tokio::test]
async fn planted_spike_is_alerted_and_seasonality_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let moves = departures(99, 2.5, 3.0);
    let mut store = city_with_moves(dir.path(), &moves);
    let (state, admin) = admin_state(&mut store, dir.path(), 5);
    let admin = Some(admin.as_str());
    let last = FIRST + MONTHS - 1;

    // Computed from perturbed departures for everyone but an admin: the
    // spike still alerts, alone, and no count is in 1..4.
    let (status, public) = get(&state, &format!("/api/flows/alerts?month={}", label(last))).await;
    assert_eq!(status, StatusCode::OK, "{public}");
    assert_eq!(public["exact_counts"], false);
    let ids: Vec<&str> = public["items"].as_array().unwrap().iter().map(|i| i["area_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["D2"], "{public:#}");
    for a in public["areas"].as_array().unwrap() {
        never_small(&a["departures"], 5, "departures");
        never_small(&a["other_destinations"], 5, "other destinations");
        for d in a["top_destinations"].as_array().unwrap().iter().chain(a["top_fields"].as_array().unwrap()) {
            never_small(&d["count"], 5, "breakdown");
        }
    }

    let (status, body) = get_as(&state, &format!("/api/flows/alerts?month={}", label(last)), admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["exact_counts"], true);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "only the spike alerts: {body:#}");
    let item = &items[0];
    assert_eq!(item["area_id"], "D2");
    assert_eq!(item["month"], label(last));
    assert_eq!(item["method"], "seasonal_nb_predictive");
    let observed = moves.iter().filter(|m| m.month == last && regions_of(m.from.unwrap()).0 == Some("D2")).count();
    assert_eq!(item["departures"].as_u64(), Some(observed as u64));
    let expected = item["expected"].as_f64().unwrap();
    assert!((22.0..40.0).contains(&expected), "expected ≈ 30, got {expected}");
    assert!(item["score"].as_f64().unwrap() > 3.0);
    let dest: u64 = item["top_destinations"].as_array().unwrap().iter().map(|d| d["count"].as_u64().unwrap()).sum();
    assert_eq!(dest + item["other_destinations"].as_u64().unwrap(), observed as u64);
    assert!(item["top_fields"].as_array().unwrap().iter().all(|f| f["count"].as_u64().unwrap() > 0));
    assert_eq!(body["areas"].as_array().unwrap().len(), 2, "both districts are assessed");
    assert!(item["trend"]["slope"].is_number() && item["trend"]["p_value"].is_number());
    assert!(item["centre"].is_array() && item["bbox"].is_array());

    // The Julys (2.5 × the other months) never alert by themselves, nor any
    // other month, at either level.
    for month in FIRST + HISTORY_MONTHS as u32..last {
        for level in ["district", "park"] {
            let uri = format!("/api/flows/alerts?month={}&level={level}", label(month));
            let (status, body) = get_as(&state, &uri, admin).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body["items"].as_array().unwrap().len(), 0, "{} {level}: {body:#}", label(month));
        }
    }
    // Without the seasonal adjustment July would stand out: check the July
    // counts are really far above a flat expectation.
    let july = FIRST + 24 + 6;
    let flat = assess(&[30; 12], july, 75, &[1.0; 12], DEFAULT_ALPHA, 5);
    assert!(flat.alert, "a 2.5× July against a flat history is an outlier");
}

/// Alerts over simulated areas whose departures are stationary Poisson
/// (flat, or with a strong seasonal pattern) stay within the stated rate.
#[test]
fn false_alarms_stay_within_the_stated_rate() {
    let mut rng = Rng(2024);
    let areas = 300;
    let months = 60usize;
    let first = 2020 * 12;
    for (season, label) in
        [([1.0; 12], "flat"), ([1.3, 1.4, 1.1, 1.0, 0.9, 1.0, 3.0, 1.5, 0.9, 0.9, 0.9, 1.0], "seasonal")]
    {
        let levels: Vec<f64> = (0..areas).map(|_| 5.0 + rng.unit() * 195.0).collect();
        let counts: Vec<Vec<u64>> = levels
            .iter()
            .map(|&l| (0..months).map(|t| poisson(&mut rng, l * season[(first + t) % 12])).collect())
            .collect();
        for alpha in [0.01, DEFAULT_ALPHA] {
            let (mut alarms, mut trials) = (0u64, 0u64);
            for m in HISTORY_MONTHS..months {
                let pooled: Vec<u64> = (0..m).map(|t| counts.iter().map(|c| c[t]).sum()).collect();
                let factors = seasonal_factors(&pooled, first as u32);
                for c in &counts {
                    let a = assess(&c[m - HISTORY_MONTHS..m], (first + m) as u32, c[m], &factors, alpha, 1);
                    alarms += a.alert as u64;
                    trials += 1;
                }
            }
            let rate = alarms as f64 / trials as f64;
            let allowed = alpha + 3.0 * (alpha * (1.0 - alpha) / trials as f64).sqrt();
            assert!(rate <= allowed, "{label} alpha={alpha}: rate {rate} over {trials} trials > {allowed}");
            eprintln!("{label} alpha={alpha}: {alarms} alarms in {trials} area-months (rate {rate:.5})");
        }
    }
}

fn batch_item(id: &str, talent: usize, date: &str, event: &str) -> Value {
    match event {
        "leave" => json!({"id": id, "talent_id": format!("T{talent}"), "date": date, "event": "leave",
                          "from_lon": 117.3, "from_lat": 36.7, "destination": "上海"}),
        _ => json!({"id": id, "talent_id": format!("T{talent}"), "date": date, "event": event,
                    "from_lon": "117.02", "from_lat": "36.62", "to_lon": 117.3, "to_lat": 36.7,
                    "to_enterprise_id": "E2"}),
    }
}

/// A refused batch's item errors as (index, field, reason).
fn item_errors(body: &Value) -> Vec<(u64, String, String)> {
    body["error"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (e["index"].as_u64().unwrap(), e["field"].as_str().unwrap().into(), e["reason"].as_str().unwrap().into())
        })
        .collect()
}

async fn wait_for_version(state: &AppState, version: u64) {
    for _ in 0..600 {
        if state.snapshot().version >= version {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("snapshot never reached version {version}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_batch_validation_lists_every_bad_item_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut store = city_with_moves(dir.path(), &[]);
    let version = store.data_version().unwrap();
    let state = state_of(&mut store, Some(&data), 5);
    let body = json!({"moves": [
        batch_item("N1", 1, "2026-05-03", "leave"),
        {"id": "N2", "talent_id": "T2", "date": "2026-02-30", "event": "quit"},
        batch_item("N3", 99999, "2026-05-03", "leave"),
        {"id": "N4", "talent_id": "T4", "date": "2026-05-03", "event": "relocate", "from_lon": 117.1},
        batch_item("N1", 5, "2026-05-04", "leave"),
        {"id": "N6", "talent_id": "T6", "date": "2026-05-03", "event": "arrive", "colour": "red"},
        {"id": "N7", "talent_id": "T7", "date": "2026-05-03", "event": "arrive", "to_lon": [1]},
        "not an object",
    ]});
    let (status, resp) = post(&state, &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{resp}");
    assert_eq!(resp["error"]["code"], "invalid_batch");
    let errors = item_errors(&resp);
    let has = |i: u64, f: &str, r: &str| errors.iter().any(|e| e.0 == i && e.1 == f && e.2 == r);
    assert!(has(1, "date", "invalid") && has(1, "event", "invalid"), "{errors:?}");
    assert!(has(2, "talent_id", "invalid"), "{errors:?}");
    assert!(has(3, "from_lat", "invalid"), "{errors:?}");
    assert!(has(4, "id", "duplicate"), "{errors:?}");
    assert!(has(5, "colour", "invalid") && has(6, "to_lon", "invalid") && has(7, "item", "invalid"), "{errors:?}");
    assert!(!errors.iter().any(|e| e.0 == 0), "item 0 is valid: {errors:?}");
    // The same messages as the CSV importer.
    let date_msg = resp["error"]["items"].as_array().unwrap().iter().find(|e| e["field"] == "date").unwrap();
    assert_eq!(date_msg["message"], "expected a calendar date as YYYY-MM-DD");

    let store = Store::open(&data).unwrap();
    assert_eq!(store.count(Table::Moves).unwrap(), 0, "nothing stored");
    assert_eq!(store.data_version().unwrap(), version);

    // Malformed bodies.
    for (bad, code) in [
        (json!([1, 2]), 400),
        (json!({"moves": 3}), 400),
        (json!({"moves": [], "extra": 1}), 400),
        (json!({"moves": vec![json!({}); 50_001]}), 413),
    ] {
        let (status, resp) = post(&state, &bad).await;
        assert_eq!(status.as_u16(), code, "{resp}");
        assert!(resp["error"]["message"].is_string());
    }
    // No data directory: no keys to check a feeder's against.
    let mut store = Store::open(&data).unwrap();
    let memory_only = state_of(&mut store, None, 5);
    let (status, resp) = post(&memory_only, &json!({"moves": []})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{resp}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_batch_is_idempotent_updates_the_snapshot_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut store = city_with_moves(dir.path(), &departures(7, 1.0, 1.0));
    let state = state_of(&mut store, Some(&data), 1);
    let admin = bearer(&store, talentmap::auth::Role::Admin, &[]);
    let admin = Some(admin.as_str());
    drop(store);
    let before =
        get_as(&state, "/api/flows/series?area=D2&from=2026-05&to=2026-05", admin).await.1["months"][0].clone();

    let batch: Vec<Value> = (0..8)
        .map(|i| batch_item(&format!("F{i}"), i, "2026-05-10", if i < 6 { "leave" } else { "job_change" }))
        .collect();
    let body = json!({ "moves": batch });
    let (status, first) = post(&state, &body).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        (first["received"].as_u64(), first["stored"].as_u64(), first["unchanged"].as_u64()),
        (Some(8), Some(8), Some(0))
    );
    let version = first["version"].as_u64().unwrap();

    // The snapshot follows without a restart.
    wait_for_version(&state, version).await;
    let after = get_as(&state, "/api/flows/series?area=D2&from=2026-05&to=2026-05", admin).await.1["months"][0].clone();
    assert_eq!(after["departures"].as_u64().unwrap(), before["departures"].as_u64().unwrap() + 6);
    assert_eq!(after["job_changes_in"].as_u64().unwrap(), before["job_changes_in"].as_u64().unwrap() + 2);

    // A retry stores nothing and leaves the version.
    let (status, retry) = post(&state, &body).await;
    assert_eq!(status, StatusCode::OK, "{retry}");
    assert_eq!(
        (retry["stored"].as_u64(), retry["unchanged"].as_u64(), retry["version"].as_u64()),
        (Some(0), Some(8), Some(version))
    );
    // A partly new batch stores only the new move.
    let mut more = body["moves"].as_array().unwrap().clone();
    more.push(batch_item("F8", 8, "2026-05-11", "leave"));
    let (_, partial) = post(&state, &json!({ "moves": more })).await;
    assert_eq!((partial["stored"].as_u64(), partial["unchanged"].as_u64()), (Some(1), Some(8)));
    // Changing a reported move through the feed is refused, and nothing else of that batch is stored.
    let (status, conflict) = post(
        &state,
        &json!({"moves": [batch_item("F0", 0, "2026-05-11", "leave"), batch_item("F9", 9, "2026-05-11", "leave")]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{conflict}");
    let err = &conflict["error"]["items"][0];
    assert_eq!((err["index"].as_u64(), err["reason"].as_str()), (Some(0), Some("conflict")));
    // The message does not tell which stored values differ.
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("already stored") && !message.contains("date"), "{err}");

    // Durable: a fresh process (new store handle, new snapshot) sees the batch.
    let final_version = partial["version"].as_u64().unwrap();
    wait_for_version(&state, final_version).await;
    drop(state);
    let mut reopened = Store::open(&data).unwrap();
    assert_eq!(reopened.data_version().unwrap(), final_version);
    let restarted = state_of(&mut reopened, Some(&data), 1);
    let seen =
        get_as(&restarted, "/api/flows/series?area=D2&from=2026-05&to=2026-05", admin).await.1["months"][0].clone();
    assert_eq!(seen["departures"].as_u64().unwrap(), before["departures"].as_u64().unwrap() + 7);
    assert!(
        reopened.conn().query_row("SELECT count(*) FROM moves WHERE id = 'F9'", [], |r| r.get::<_, i64>(0)).unwrap()
            == 0
    );
}

/// The feed keeps what validation reads from the store (regions,
/// enterprise ids) from one batch to the next only while nothing else
/// writes: an enterprise imported between two batches is known to the
/// second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_sees_enterprises_imported_between_batches() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut store = city_with_moves(dir.path(), &[]);
    let state = state_of(&mut store, Some(&data), 1);
    drop(store);
    let to = |id: &str, talent: usize, firm: &str| {
        json!({"moves": [{"id": id, "talent_id": format!("T{talent}"), "date": "2026-05-10", "event": "job_change",
                          "to_lon": 117.3, "to_lat": 36.7, "to_enterprise_id": firm}]})
    };
    let (status, unknown) = post(&state, &to("K1", 1, "E9")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{unknown}");
    assert_eq!(unknown["error"]["items"][0]["field"], "to_enterprise_id", "{unknown}");
    for (id, talent, firm) in [("K2", 2, "E2"), ("K3", 3, "E3")] {
        let (status, body) = post(&state, &to(id, talent, firm)).await;
        assert_eq!((status, body["stored"].as_u64()), (StatusCode::OK, Some(1)), "{body}");
    }
    let mut other = Store::open(&data).unwrap();
    let firms = "id,name,lon,lat,industry,employees,key,park\nE9,新材料,117.31,36.71,27,40,false,\n";
    import(&mut other, ImportKind::Enterprises, &write(dir.path(), "more-enterprises.csv", firms)).unwrap();
    let (status, body) = post(&state, &to("K4", 4, "E9")).await;
    assert_eq!((status, body["stored"].as_u64()), (StatusCode::OK, Some(1)), "{body}");
    let stored: i64 =
        other.conn().query_row("SELECT count(*) FROM moves WHERE id IN ('K2', 'K3', 'K4')", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, 3);
}

/// Large batches (past the size from which the feed reads on two
/// connections) are judged item by item exactly as small ones: stored,
/// unchanged, conflicting, naming no talent, repeated in the batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_batches_are_judged_item_by_item() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut store = city_with_moves(dir.path(), &[]);
    let state = state_of(&mut store, Some(&data), 1);
    drop(store);
    let event = |i: usize| if i.is_multiple_of(3) { "job_change" } else { "leave" };
    let first: Vec<Value> = (0..150).map(|i| batch_item(&format!("L{i}"), i, "2026-05-10", event(i))).collect();
    let (status, body) = post(&state, &json!({ "moves": first })).await;
    assert_eq!((status, body["stored"].as_u64(), body["unchanged"].as_u64()), (StatusCode::OK, Some(150), Some(0)));

    // The same 150 (one with blanks around its id) and 40 new ones.
    let mut again = first.clone();
    again[7]["id"] = json!(" L7 ");
    again.extend((150..190).map(|i| batch_item(&format!("L{i}"), i, "2026-05-12", event(i))));
    let (status, body) = post(&state, &json!({ "moves": again })).await;
    assert_eq!(
        (status, body["received"].as_u64(), body["stored"].as_u64(), body["unchanged"].as_u64()),
        (StatusCode::OK, Some(190), Some(40), Some(150)),
        "{body}"
    );

    // New ids, except: item 5 repeats a stored id with another date, item 60
    // names no talent, item 90 repeats item 30's id.
    let mut bad: Vec<Value> = (0..120).map(|i| batch_item(&format!("M{i}"), i, "2026-05-14", "leave")).collect();
    bad[5] = batch_item("L5", 5, "2026-05-15", event(5));
    bad[60] = batch_item("M60", 99_999, "2026-05-14", "leave");
    bad[90] = batch_item("M30", 90, "2026-05-14", "leave");
    let (status, body) = post(&state, &json!({ "moves": bad })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let errors = item_errors(&body);
    assert_eq!(
        errors,
        vec![
            (5, "id".to_string(), "conflict".to_string()),
            (60, "talent_id".to_string(), "invalid".to_string()),
            (90, "id".to_string(), "duplicate".to_string()),
        ]
    );
    let stored: i64 =
        Store::open(&data).unwrap().conn().query_row("SELECT count(*) FROM moves", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, 190, "the refused batch stored nothing");
}

/// Well-formed histories (each move agrees with the state it finds): a
/// talent in the city leaves, moves house or changes jobs; one away
/// arrives. Every seventh talent starts away (its first move is `arrive`).
/// At most one move per talent and month.
fn consistent_moves(seed: u64) -> Vec<Mv> {
    let mut rng = Rng(seed | 1);
    let areas = [Area::D1, Area::P1, Area::D2];
    let mut out = Vec::new();
    for t in 0..TALENTS {
        let mut here = t % 7 != 0;
        let mut home = (117.06 + (t % 50) as f64 * 0.002, 36.7);
        let mut month = FIRST + (rng.next() % 4) as u32;
        for j in 0..(rng.next() % 7) {
            month += 1 + (rng.next() % 6) as u32;
            if month >= FIRST + MONTHS {
                break;
            }
            let (a, b) = (areas[(rng.next() % 3) as usize], areas[(rng.next() % 3) as usize]);
            let to = point(&mut rng, a);
            let event = match (here, rng.next() % 4) {
                (false, _) => "arrive",
                (true, 0) => "leave",
                (true, 1) => "job_change",
                (true, _) => "relocate",
            };
            let (from, to) = match event {
                "arrive" => (None, Some(to)),
                "leave" => (Some(home), None),
                "job_change" => (Some(point(&mut rng, b)), Some(to)),
                _ => (Some(home), Some(to)),
            };
            match event {
                "arrive" | "relocate" => {
                    here = true;
                    home = to.unwrap();
                }
                "leave" => here = false,
                _ => {}
            }
            out.push(Mv {
                id: format!("S{t}_{j}"),
                talent: t,
                month,
                day: 1 + (rng.next() % 28) as u32,
                event,
                from,
                to,
                enterprise: None,
                destination: (event == "leave").then_some("北京"),
            });
        }
    }
    out
}

/// Talents living in `area` at the end of `month`, by replaying each
/// talent's moves up to then (the state rule of docs/present.md).
fn brute_stock(moves: &[Mv], area: &str, month: u32) -> u64 {
    (0..TALENTS)
        .filter(|&t| {
            let mut mine: Vec<&Mv> = moves.iter().filter(|m| m.talent == t && m.month <= month).collect();
            mine.sort_by_key(|m| (m.month, m.day));
            let all_first = moves.iter().filter(|m| m.talent == t).min_by_key(|m| (m.month, m.day));
            let mut here = all_first.is_none_or(|m| m.event != "arrive");
            let mut home = (117.06 + (t % 50) as f64 * 0.002, 36.7);
            for m in mine {
                here = m.event != "leave";
                if matches!(m.event, "arrive" | "relocate") {
                    home = m.to.unwrap();
                }
            }
            let (d, p) = regions_of(home);
            here && (d == Some(area) || p == Some(area))
        })
        .count() as u64
}

#[tokio::test]
async fn stock_equals_a_replay_of_every_talent_at_each_month_end() {
    let dir = tempfile::tempdir().unwrap();
    let moves = consistent_moves(5);
    assert!(moves.len() > 500, "{} moves", moves.len());
    let mut store = city_with_moves(dir.path(), &moves);
    let (state, admin) = admin_state(&mut store, dir.path(), 5);
    let admin = Some(admin.as_str());
    let (from, to) = (FIRST, FIRST + MONTHS - 1);
    let last = moves.iter().map(|m| m.month).max().unwrap();
    for (level, areas) in [("district", vec!["D1", "D2"]), ("park", vec!["P1"])] {
        let uri = format!("/api/stock?level={level}&from={}&to={}", label(from), label(to));
        let (status, v) = get_as(&state, &uri, admin).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["exact_counts"], true);
        assert_eq!(v["data_until"], label(last));
        for id in areas {
            let area = v["areas"].as_array().unwrap().iter().find(|a| a["id"] == id).unwrap();
            let months = area["months"].as_array().unwrap();
            assert_eq!(months.len(), MONTHS as usize);
            for (i, m) in months.iter().enumerate() {
                let month = from + i as u32;
                assert_eq!(m["month"], label(month));
                assert_eq!(
                    m["talents"].as_u64().unwrap(),
                    brute_stock(&moves, id, month),
                    "{id} at the end of {}",
                    label(month)
                );
            }
        }
    }
    // The last month's stock is the present the region statistics count.
    let (_, d1) = get_as(&state, "/api/regions/D1", admin).await;
    let (_, one) = get_as(&state, &format!("/api/stock?level=D1&from={0}&to={0}", label(last)), admin).await;
    assert_eq!(one["areas"][0]["months"][0]["talents"], d1["stats"]["talents"]);
    // The default window is the 24 months up to the data's last month.
    let (_, default) = get_as(&state, "/api/stock", admin).await;
    assert_eq!((default["from"].clone(), default["to"].clone()), (json!(label(last - 23)), json!(label(last))));

    // Public answers are derived from published counts; parameters are checked.
    let (status, public) = get(&state, "/api/stock?level=park").await;
    assert_eq!((status, public["exact_counts"].clone()), (StatusCode::OK, json!(false)));
    for (uri, name) in [
        ("/api/stock?from=2026-13", "from"),
        ("/api/stock?from=2026-05&to=2026-01", "from"),
        ("/api/stock?level=nowhere", ""),
        ("/api/stock?field=99", "field"),
    ] {
        let (status, v) = get(&state, uri).await;
        if name.is_empty() {
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
            assert_eq!(v["error"]["parameter"], name, "{uri}: {v}");
        }
    }
}

/// At most one move per talent and day (the first generated), so that the
/// order of one talent's moves is their dates'.
fn one_per_day(moves: Vec<Mv>) -> Vec<Mv> {
    let mut seen = std::collections::HashSet::new();
    moves.into_iter().filter(|m| seen.insert((m.talent, m.month, m.day))).collect()
}

/// Each move's employer just before and just after it by the state rule:
/// the registered employer, set by an `arrive` naming one and by every
/// `job_change` (to none without an enterprise).
fn employers_of(moves: &[Mv]) -> Vec<(Option<&'static str>, Option<&'static str>)> {
    let mut order: Vec<usize> = (0..moves.len()).collect();
    order.sort_by_key(|&i| (moves[i].talent, moves[i].month, moves[i].day));
    let mut out = vec![(None, None); moves.len()];
    let mut current: Option<(usize, Option<&'static str>)> = None;
    for i in order {
        let m = &moves[i];
        let before = match current {
            Some((t, e)) if t == m.talent => e,
            _ => EMPLOYERS[m.talent % 4].map(|e| e.0),
        };
        let named = m.enterprise.map(|e| EMPLOYERS[e].unwrap().0);
        let after = match m.event {
            "arrive" => named.or(before),
            "job_change" => named,
            _ => before,
        };
        out[i] = (before, after);
        current = Some((m.talent, after));
    }
    out
}

fn industry_of_firm(id: &str) -> &'static str {
    EMPLOYERS.iter().flatten().find(|e| e.0 == id).unwrap().1
}

/// `(from, to) → count` of an OD answer's lines.
fn od_lines(body: &Value) -> std::collections::BTreeMap<(String, String), u64> {
    let features = body["features"].as_array().unwrap();
    let lines = features.iter().filter(|f| f["properties"]["kind"] == "flow");
    lines
        .map(|f| {
            let p = &f["properties"];
            (
                (p["from"].as_str().unwrap().to_string(), p["to"].as_str().unwrap().to_string()),
                p["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn enterprise_and_industry_flows_follow_the_employers() {
    let dir = tempfile::tempdir().unwrap();
    let moves = one_per_day(random_moves(3000, 31));
    let mut store = city_with_moves(dir.path(), &moves);
    let (state, admin) = admin_state(&mut store, dir.path(), 5);
    let admin = Some(admin.as_str());
    let employers = employers_of(&moves);
    let span: Vec<usize> = (0..moves.len()).filter(|&i| (2025 * 12..2026 * 12).contains(&moves[i].month)).collect();
    let job_changes = || {
        span.iter().filter(|&&i| moves[i].event == "job_change").filter_map(|&i| match employers[i] {
            (Some(a), Some(b)) if a != b => Some((i, a, b)),
            _ => None,
        })
    };
    let tally = |pairs: Vec<(String, String)>| {
        let mut out = std::collections::BTreeMap::new();
        for p in pairs {
            *out.entry(p).or_insert(0u64) += 1;
        }
        out
    };

    // Enterprise to enterprise, the whole city.
    let (status, body) = get_as(&state, "/api/flows/od?level=enterprise&from=2025-01&to=2025-12", admin).await;
    assert_eq!((status, &body["exact_counts"], &body["level"]), (StatusCode::OK, &json!(true), &json!("enterprise")));
    let want = tally(job_changes().map(|(_, a, b)| (a.to_string(), b.to_string())).collect());
    assert!(!want.is_empty());
    assert_eq!(od_lines(&body), want);
    let features = body["features"].as_array().unwrap();
    assert!(
        features.iter().filter(|f| f["properties"]["kind"] == "flow").all(|f| f["geometry"]["type"] == "LineString")
    );
    let e1 = features.iter().find(|f| f["properties"]["kind"] == "enterprise" && f["id"] == "E1").unwrap();
    let arrivals = span.iter().filter(|&&i| moves[i].event == "arrive" && employers[i].1 == Some("E1")).count();
    let leaves = span.iter().filter(|&&i| moves[i].event == "leave" && employers[i].0 == Some("E1")).count();
    assert_eq!(e1["properties"]["arrivals"].as_u64(), Some(arrivals as u64), "arrivals who join E1");
    assert_eq!(e1["properties"]["departures"].as_u64(), Some(leaves as u64), "E1's employees who leave the city");

    // Industry to industry: the same job changes between divisions, no geometry.
    let (_, body) = get_as(&state, "/api/flows/od?level=industry&from=2025-01&to=2025-12", admin).await;
    let want = tally(
        job_changes()
            .map(|(_, a, b)| (industry_of_firm(a), industry_of_firm(b)))
            .filter(|(a, b)| a != b)
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    );
    assert_eq!(od_lines(&body), want);
    assert!(body["features"].as_array().unwrap().iter().all(|f| f["geometry"].is_null()));

    // One enterprise: whom E1 loses talent to and gains it from.
    let (_, body) = get_as(&state, "/api/flows/od?level=enterprise&enterprise=E1&from=2025-01&to=2025-12", admin).await;
    let want = tally(
        job_changes()
            .filter(|(_, a, b)| *a == "E1" || *b == "E1")
            .map(|(_, a, b)| (a.to_string(), b.to_string()))
            .collect(),
    );
    assert_eq!(od_lines(&body), want);
    let lost: u64 = want.iter().filter(|((a, _), _)| a == "E1").map(|(_, n)| n).sum();
    let gained: u64 = want.iter().filter(|((_, b), _)| b == "E1").map(|(_, n)| n).sum();
    assert_eq!((body["focus"]["lost"].as_u64(), body["focus"]["gained"].as_u64()), (Some(lost), Some(gained)));
    assert_eq!(body["focus"]["kind"], "enterprise");
    // By the industry of the other side.
    let (_, body) = get_as(&state, "/api/flows/od?level=industry&enterprise=E1&from=2025-01&to=2025-12", admin).await;
    let lines = od_lines(&body);
    let to_27 = want.get(&("E1".to_string(), "E2".to_string())).copied();
    assert_eq!(lines.get(&("E1".to_string(), "27".to_string())).copied(), to_27, "E2 is the only division-27 employer");

    // An area: where the job changes out of D2 went, by new employer.
    let (_, body) = get_as(&state, "/api/flows/od?level=enterprise&area=D2&from=2025-01&to=2025-12", admin).await;
    let in_d2 = |p: Option<(f64, f64)>| p.is_some_and(|p| regions_of(p).0 == Some("D2"));
    // Every job change crossing the boundary, whoever the other employer was.
    let want = tally(
        span.iter()
            .filter(|&&i| moves[i].event == "job_change" && in_d2(moves[i].from) != in_d2(moves[i].to))
            .filter_map(|&i| match (in_d2(moves[i].from), employers[i]) {
                (true, (_, Some(b))) => Some(("D2".to_string(), b.to_string())),
                (false, (Some(a), _)) => Some((a.to_string(), "D2".to_string())),
                _ => None,
            })
            .collect(),
    );
    assert_eq!(od_lines(&body), want);
    assert_eq!(body["focus"]["id"], "D2");

    // Everyone else: no count in 1..k−1; the limit keeps the largest lines.
    let (_, public) = get(&state, "/api/flows/od?level=enterprise&from=2024-01&to=2026-12&limit=2").await;
    assert_eq!(public["exact_counts"], false);
    for f in public["features"].as_array().unwrap() {
        for key in ["count", "job_changes", "arrivals", "departures", "other_destinations"] {
            if !f["properties"][key].is_null() {
                never_small(&f["properties"][key], 5, key);
            }
        }
    }
    let counts: Vec<u64> = od_lines(&public).values().copied().collect();
    assert!(counts.len() <= 2 && public["lines_total"].as_u64().unwrap() >= counts.len() as u64);
    for (uri, param) in [
        ("/api/flows/od?level=enterprise&enterprise=E9", "enterprise"),
        ("/api/flows/od?area=D1&enterprise=E1", "enterprise"),
        ("/api/flows/od?level=firm", "level"),
        ("/api/flows/od?limit=0", "limit"),
    ] {
        let (status, body) = get(&state, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(body["error"]["parameter"], param, "{uri}: {body}");
    }
    assert_eq!(get(&state, "/api/flows/od?area=X9").await.0, StatusCode::NOT_FOUND);
}

/// Builds a store whose register leaves out `skip` and holds `moves`.
fn city_without(dir: &Path, moves: &[Mv], skip: &std::collections::HashSet<usize>) -> Store {
    let mut store = tiny_city(dir, 0);
    let all = talents_csv();
    let mut lines = all.lines();
    let mut csv = format!("{}\n", lines.next().unwrap());
    for (i, line) in lines.enumerate() {
        if !skip.contains(&i) {
            csv.push_str(line);
            csv.push('\n');
        }
    }
    import(&mut store, ImportKind::Talents, &write(dir, "talents.csv", &csv)).unwrap();
    if !moves.is_empty() {
        let mut text = String::from(MOVE_HEADER);
        moves.iter().for_each(|m| text.push_str(&m.csv()));
        import(&mut store, ImportKind::Moves, &write(dir, "moves.csv", &text)).unwrap();
    }
    store
}

async fn get_body(state: &AppState, uri: &str, authorization: Option<&str>) -> (StatusCode, Vec<u8>) {
    let mut req = Request::get(uri);
    if let Some(a) = authorization {
        req = req.header(header::AUTHORIZATION, a);
    }
    let resp = router(state.clone()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    (status, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

#[tokio::test]
async fn a_past_month_is_the_city_without_the_later_moves() {
    let dir = tempfile::tempdir().unwrap();
    let moves = random_moves(3000, 41);
    let mut store = city_with_moves(dir.path(), &moves);
    let (state, admin) = admin_state(&mut store, dir.path(), 5);
    let admin = Some(admin.as_str());
    let tile = talentmap::spatial::morton::tile_of(talentmap::spatial::morton::key(117.15, 36.7), 9);
    for month in [FIRST + 4, FIRST + 21] {
        // The same city with only the moves up to the month's end; a talent
        // whose first move is a later arrival was not registered yet.
        let earlier: Vec<Mv> = moves.iter().filter(|m| m.month <= month).cloned().collect();
        let mut first: std::collections::HashMap<usize, &Mv> = std::collections::HashMap::new();
        for m in &moves {
            let e = first.entry(m.talent).or_insert(m);
            if (m.month, m.day, &m.id) < (e.month, e.day, &e.id) {
                *e = m;
            }
        }
        let skip = first.iter().filter(|(_, m)| m.event == "arrive" && m.month > month).map(|(t, _)| *t).collect();
        let then_dir = tempfile::tempdir().unwrap();
        let mut then_store = city_without(then_dir.path(), &earlier, &skip);
        let (then, then_admin) = admin_state(&mut then_store, then_dir.path(), 5);
        let then_admin = Some(then_admin.as_str());
        for region in ["D1", "D2", "P1"] {
            let (status, past) = get_as(&state, &format!("/api/regions/{region}?month={}", label(month)), admin).await;
            assert_eq!(status, StatusCode::OK, "{past}");
            let (_, want) = get_as(&then, &format!("/api/regions/{region}"), then_admin).await;
            assert_eq!(past["month"], json!(label(month)));
            assert_eq!(past["supply"], want["supply"], "{region} at {}", label(month));
            assert_eq!(past["stats"]["talents"], want["stats"]["talents"], "{region}");
            let uri = format!("/api/areas/{region}/profile?month={}", label(month));
            let (status, profile) = get_as(&state, &uri, admin).await;
            assert_eq!(status, StatusCode::OK, "{profile}");
            let (_, want) = get_as(&then, &format!("/api/areas/{region}/profile"), then_admin).await;
            assert_eq!(profile["headline"]["residents"], want["headline"]["residents"], "{region}");
            assert_eq!(profile["headline"]["workers"], want["headline"]["workers"], "{region}");
            assert_eq!(profile["tables"], want["tables"], "{region}");
            assert_eq!(profile["flows"]["to"], json!(label(month)));
        }
        // The talents layer of that month draws what the earlier city draws.
        let (status, past) = get_body(&state, &format!("/tiles/talents/{tile}.mvt?month={}", label(month)), None).await;
        let (_, want) = get_body(&then, &format!("/tiles/talents/{tile}.mvt"), None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(past == want, "talents tile at {}", label(month));
        let (_, now) = get_body(&state, &format!("/tiles/talents/{tile}.mvt"), None).await;
        assert!(now != past, "today's tile differs from {}", label(month));
    }
    // The last month with a move and later are today; months before the
    // moves begin, or not months, are refused.
    let (_, today) = get_as(&state, "/api/regions/D1", admin).await;
    let (_, last) = get_as(&state, &format!("/api/regions/D1?month={}", label(FIRST + MONTHS - 1)), admin).await;
    assert_eq!((last["supply"].clone(), last["month"].clone()), (today["supply"].clone(), Value::Null));
    for uri in ["/api/regions/D1?month=2019-05", "/api/regions/D1?month=2025-13", "/tiles/talents/9/0/0.mvt?month=x"] {
        let (status, body) = get(&state, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(body["error"]["parameter"], "month", "{uri}: {body}");
    }
}

#[tokio::test]
async fn alerts_assess_one_area_as_the_list_does() {
    let dir = tempfile::tempdir().unwrap();
    let moves = random_moves(4000, 11);
    let mut store = city_with_moves(dir.path(), &moves);
    let (state, admin) = admin_state(&mut store, dir.path(), 5);
    let admin = Some(admin.as_str());
    let month = label(FIRST + 20);
    for (level, areas) in [("district", &["D1", "D2"][..]), ("park", &["P1"][..])] {
        let (status, all) = get_as(&state, &format!("/api/flows/alerts?month={month}&level={level}"), admin).await;
        assert_eq!(status, StatusCode::OK, "{all}");
        for area in areas {
            let uri = format!("/api/flows/alerts?month={month}&level={level}&area={area}");
            let (status, one) = get_as(&state, &uri, admin).await;
            assert_eq!(status, StatusCode::OK, "{one}");
            let listed = all["areas"].as_array().unwrap().iter().find(|a| a["area_id"] == *area).unwrap();
            assert_eq!(one["areas"].as_array().unwrap().len(), 1);
            for key in ["area_id", "departures", "expected", "p_value", "score", "alert", "trend", "top_destinations"] {
                assert_eq!(one["areas"][0][key], listed[key], "{area} {key}");
            }
        }
    }
    let (status, _) = get_as(&state, &format!("/api/flows/alerts?month={month}&area=X9"), admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
