//! The differencing attacks of the disclosure-control issue, run as the
//! public role against a generated city of 30,000 talents, on the map family
//! (talent tiles, their cells and breakdowns, region tables): for every
//! protected value an attack can form (a true count in 1..k−1) the share it
//! recovers exactly. Without disclosure control every one of them was 100 %.
//! Also the utility of district and park totals on a city of the demo
//! city's size (100,000 talents), and the order of the district ranking of the
//! shortage index for its five fields with the most openings (Kendall's tau
//! against exact counts). Prints a table (run with
//! `--nocapture` to see it); `BENCHMARKS.md` keeps the numbers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::mvt::decode;
use http_body_util::BodyExt;
use serde_json::Value;
use talentmap::analytics::cells::{cell_level, talent_cells};
use talentmap::analytics::filter::Filter;
use talentmap::api::{AppState, Settings, router};
use talentmap::encode::layers::{Layer, render};
use talentmap::generate::{GenerateOptions, generate};
use talentmap::import::{ImportKind, ImportOptions, import_file};
use talentmap::model::Taxonomy;
use talentmap::snapshot::{self, Snapshot};
use talentmap::spatial::{TileId, lonlat_to_unit};
use tower::ServiceExt;

const K: u32 = 5;

struct City {
    _dir: tempfile::TempDir,
    snap: Arc<Snapshot>,
    state: AppState,
    /// `Authorization` value of an admin key (exact counts).
    admin: String,
}

fn city() -> City {
    city_of(30_000, 1_200)
}

fn city_of(talents: usize, enterprises: usize) -> City {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    // The demo city's seed (`talentmap serve` on an empty directory).
    generate(&GenerateOptions { seed: 42, talents, enterprises }, &files).unwrap();
    let mut store = common::test_store(dir.path());
    let taxonomy = Taxonomy::builtin();
    for kind in ImportKind::ALL {
        import_file(&mut store, &taxonomy, kind, &files.join(kind.file_name()), ImportOptions::default()).unwrap();
    }
    let snap = snapshot::build(&mut store, Arc::new(taxonomy)).unwrap();
    let data = dir.path().join("data");
    let admin = common::bearer(&store, talentmap::auth::Role::Admin, &[]);
    let state = AppState::new(snap, Some(data), Settings { k: K, ..Settings::default() });
    City { _dir: dir, snap: state.snapshot(), state, admin }
}

/// Attempts against protected values and exact recoveries.
#[derive(Default, Clone, Copy)]
struct Score {
    protected: u64,
    recovered: u64,
}

impl Score {
    fn try_value(&mut self, truth: u64, estimate: i64) {
        if (1..K as u64).contains(&truth) {
            self.protected += 1;
            self.recovered += (estimate == truth as i64) as u64;
        }
    }
    fn share(self) -> f64 {
        if self.protected == 0 { 0.0 } else { self.recovered as f64 / self.protected as f64 }
    }
}

fn filter(snap: &Snapshot, pairs: &[(&str, String)]) -> Filter {
    let q = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    Filter::parse(&q, &snap.taxonomy, snap.reference_year).unwrap()
}

/// Tiles of zoom `z` covering the city's talents.
fn covering(snap: &Snapshot, z: u8) -> Vec<TileId> {
    let n = (1u64 << z) as f64;
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, 0.0f64, 0.0f64);
    for r in &snap.regions {
        let [w, s, e, north] = r.bbox;
        let (a, b) = lonlat_to_unit(w, north);
        let (c, d) = lonlat_to_unit(e, s);
        (x0, y0, x1, y1) = (x0.min(a), y0.min(b), x1.max(c), y1.max(d));
    }
    let mut out = Vec::new();
    for x in (x0 * n) as u32..=(x1 * n) as u32 {
        for y in (y0 * n) as u32..=(y1 * n) as u32 {
            out.push(TileId { z, x, y });
        }
    }
    out
}

/// Published talent counts of the cells at zoom `z`, as a public caller
/// reads them from the tiles (absent cells are 0), and the true counts.
fn cells_at(snap: &Snapshot, z: u8, f: &Filter) -> (HashMap<u64, u64>, HashMap<u64, u64>) {
    let (mut published, mut truth) = (HashMap::new(), HashMap::new());
    for tile in covering(snap, z) {
        for l in decode(&render(snap, Layer::Talents, tile, f, K)) {
            for feature in l.features {
                published.insert(feature.id.unwrap(), feature.props["count"].as_u64().unwrap());
            }
        }
        for c in talent_cells(snap, tile, f) {
            truth.insert(c.id, c.count);
        }
    }
    (published, truth)
}

/// Filter differencing: `tier=T&max_age=hi` minus `tier=T&max_age=hi−5`,
/// cell by cell, leaves the talents of one five-year band.
fn filter_differencing(snap: &Snapshot) -> Score {
    let mut score = Score::default();
    for tier in ["A", "B", "C", "D", "E", "none"] {
        for hi in (29..=64).step_by(5) {
            for z in [0u8, 4, 8] {
                let wide = filter(snap, &[("tier", tier.into()), ("max_age", hi.to_string())]);
                let narrow = filter(snap, &[("tier", tier.into()), ("max_age", (hi - 5).to_string())]);
                let (pw, tw) = cells_at(snap, z, &wide);
                let (pn, tn) = cells_at(snap, z, &narrow);
                for (id, &t) in &tw {
                    let truth = t - tn.get(id).copied().unwrap_or(0);
                    let estimate = pw.get(id).copied().unwrap_or(0) as i64 - pn.get(id).copied().unwrap_or(0) as i64;
                    score.try_value(truth, estimate);
                }
            }
        }
    }
    score
}

/// Zoom differencing: a parent cell minus its other published children
/// gives the remaining child.
fn zoom_differencing(snap: &Snapshot) -> Score {
    let mut score = Score::default();
    let all = Filter::default();
    for z in [4u8, 6, 8, 10, 12] {
        let (parents, _) = cells_at(snap, z, &all);
        let (children, child_truth) = cells_at(snap, z + 1, &all);
        // A cell id is the level in the top 6 bits and the Morton code below.
        let parent_of = |child: u64| {
            let code = child & ((1u64 << 58) - 1);
            (u64::from(cell_level(z)) << 58) | (code >> 2)
        };
        let mut published_children: HashMap<u64, Vec<(u64, u64)>> = HashMap::new();
        for (&id, &t) in &child_truth {
            published_children.entry(parent_of(id)).or_default().push((t, children.get(&id).copied().unwrap_or(0)));
        }
        for (parent, kids) in &published_children {
            let p = parents.get(parent).copied().unwrap_or(0) as i64;
            let total: i64 = kids.iter().map(|&(_, c)| c as i64).sum();
            for &(truth, c) in kids {
                score.try_value(truth, p - (total - c as i64));
            }
        }
    }
    score
}

async fn get(state: &AppState, uri: &str) -> Value {
    get_as(state, uri, None).await
}

async fn get_as(state: &AppState, uri: &str, authorization: Option<&str>) -> Value {
    let mut req = Request::get(uri);
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let resp = router(state.clone()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{uri}");
    serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

/// The code a table row is keyed by, for one talent.
type CodeOf = Box<dyn Fn(&snapshot::TalentRec) -> String>;

/// Table totals minus rows: a region's published total minus its other
/// published tier (title, education, field) rows gives the remaining row;
/// and the rows themselves as published.
async fn totals_minus_rows(c: &City) -> (Score, Score) {
    let (mut differencing, mut direct) = (Score::default(), Score::default());
    for (index, region) in c.snap.regions.iter().enumerate() {
        let index = index as u16;
        let residents: Vec<_> =
            c.snap.talents.iter().filter(|t| t.home_district == index || t.home_park == index).collect();
        let detail = get(&c.state, &format!("/api/regions/{}", region.id)).await;
        let total = detail["stats"]["talents"].as_u64().unwrap() as i64;
        let tables: [(&str, &str, CodeOf); 3] = [
            ("by_tier", "tier", Box::new(|t| talentmap::model::Tier::ALL[t.tier as usize].code().to_string())),
            ("by_title", "title", Box::new(|t| talentmap::model::Title::ALL[t.title as usize].code().to_string())),
            (
                "by_education",
                "education",
                Box::new(|t| talentmap::model::Education::ALL[t.education as usize & 3].code().to_string()),
            ),
        ];
        for (table, key, code_of) in tables {
            let rows = detail["supply"][table].as_array().unwrap();
            let published: i64 = rows.iter().map(|r| r["talents"].as_u64().unwrap() as i64).sum();
            for row in rows {
                let code = row[key].as_str().unwrap();
                let truth = residents.iter().filter(|t| code_of(t) == code).count() as u64;
                let mine = row["talents"].as_u64().unwrap() as i64;
                differencing.try_value(truth, total - (published - mine));
                direct.try_value(truth, mine);
            }
        }
    }
    (differencing, direct)
}

/// Breakdowns inside a published cell: `edu_doctorate` and the other
/// education counts of the talent cells at zoom 10, read as they are.
fn breakdowns(snap: &Snapshot) -> Score {
    let mut score = Score::default();
    let all = Filter::default();
    for tile in covering(snap, 10) {
        let truth: HashMap<u64, [u64; 4]> =
            talent_cells(snap, tile, &all).into_iter().map(|c| (c.id, c.education)).collect();
        for l in decode(&render(snap, Layer::Talents, tile, &all, K)) {
            for f in l.features {
                let t = truth[&f.id.unwrap()];
                for (i, key) in ["edu_associate", "edu_bachelor", "edu_master", "edu_doctorate"].iter().enumerate() {
                    score.try_value(t[i], f.props[*key].as_u64().unwrap() as i64);
                }
            }
        }
    }
    score
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn differencing_attacks_recover_few_protected_values() {
    let c = city();
    let attacks = [
        ("filter differencing (tier × age band, z0/4/8)", filter_differencing(&c.snap)),
        ("zoom differencing (parent − other children, z4–13)", zoom_differencing(&c.snap)),
        ("breakdowns inside published cells (education, z10)", breakdowns(&c.snap)),
    ];
    let (rows_diff, rows_direct) = totals_minus_rows(&c).await;
    println!("| attack (public role, k = {K}) | protected values | recovered exactly | share |");
    println!("|---|---:|---:|---:|");
    let mut all = Score::default();
    for (name, s) in attacks.into_iter().chain([
        ("region totals minus other rows (tier, title, education)", rows_diff),
        ("region table rows as published", rows_direct),
    ]) {
        println!("| {name} | {} | {} | {:.1} % |", s.protected, s.recovered, 100.0 * s.share());
        assert!(s.protected > 0, "{name}: the attack finds protected values to aim at");
        assert!(s.share() <= 0.25, "{name}: {:.1} % recovered", 100.0 * s.share());
        all.protected += s.protected;
        all.recovered += s.recovered;
    }
    println!("| all | {} | {} | {:.1} % |", all.protected, all.recovered, 100.0 * all.share());
}

#[tokio::test]
async fn totals_stay_useful_and_published_numbers_are_never_small() {
    // The demo city's size (`talentmap serve` on an empty directory).
    let c = city_of(100_000, 4_000);
    let stats = get(&c.state, "/api/stats").await;
    let mut errors = Vec::new();
    for list in ["districts", "parks"] {
        for r in stats[list].as_array().unwrap() {
            let index = c.snap.region(r["id"].as_str().unwrap()).unwrap();
            let truth = c.snap.talents.iter().filter(|t| t.home_district == index || t.home_park == index).count();
            let published = r["talents"].as_u64().unwrap();
            assert!(published == 0 || published >= u64::from(K));
            if truth > 0 {
                errors.push((published as f64 - truth as f64).abs() / truth as f64);
            }
        }
    }
    let mare = errors.iter().sum::<f64>() / errors.len() as f64;
    println!("mean absolute relative error of {} district and park totals: {:.3} %", errors.len(), 100.0 * mare);
    assert!(mare <= 0.01, "{mare}");
    // Asking again gives the same numbers: nothing to average away.
    assert_eq!(get(&c.state, "/api/stats").await, stats);

    // The district ranking of the shortage index for the five fields with the
    // most openings keeps its order: Kendall's tau against exact counts.
    let mut openings: HashMap<u8, u64> = HashMap::new();
    for v in c.snap.vacancies.iter().filter(|v| v.open) {
        *openings.entry(v.field).or_default() += u64::from(v.openings);
    }
    let mut fields: Vec<(u8, u64)> = openings.into_iter().collect();
    fields.sort_by_key(|&(f, n)| (std::cmp::Reverse(n), f));
    for &(field, _) in fields.iter().take(5) {
        let code = &c.snap.taxonomy.fields()[field as usize].code;
        let uri = format!("/api/shortage?field={code}&by=district&limit=100");
        let index = |v: &Value| -> HashMap<String, f64> {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| (i["id"].as_str().unwrap().to_string(), i["index"].as_f64().unwrap()))
                .collect()
        };
        let published = index(&get(&c.state, &uri).await);
        let exact_answer = get_as(&c.state, &uri, Some(&c.admin)).await;
        assert_eq!(exact_answer["exact_counts"], true);
        let exact = index(&exact_answer);
        let ids: Vec<&String> = exact.keys().collect();
        let (mut concordant, mut discordant) = (0i64, 0i64);
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                let e = (exact[*a] - exact[*b]).signum();
                let p = (published[*a] - published[*b]).signum();
                if e * p > 0.0 {
                    concordant += 1;
                } else if e * p < 0.0 {
                    discordant += 1;
                }
            }
        }
        let pairs = (ids.len() * (ids.len() - 1) / 2) as f64;
        let tau = (concordant - discordant) as f64 / pairs;
        println!("field {code}: Kendall tau of the district ranking {tau:.3} ({} districts)", ids.len());
        assert!(tau >= 0.9, "field {code}: tau {tau}");
    }
}
