//! The map API: tiles decoded with an independent decoder (geozero), the
//! conservation rule over random filters and zooms against a brute-force
//! count, the privacy rule, HTTP behaviour and GeoJSON conformance.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::mvt::{Val, decode};
use common::*;
use http_body_util::BodyExt;
use proptest::prelude::*;
use talentmap::analytics::filter::Filter;
use talentmap::api::{AppState, Settings, router};
use talentmap::encode::layers::{Layer, render};
use talentmap::model::Taxonomy;
use talentmap::snapshot::{self, Snapshot};
use talentmap::spatial::{TileId, lonlat_to_unit};
use tower::ServiceExt;

const K: u32 = 5;

fn city(n: usize, seed: u64) -> (tempfile::TempDir, Arc<Snapshot>) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = random_city(dir.path(), n, seed);
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    (dir, Arc::new(snap))
}

/// Tiles of zoom `z` covering the tiny city's box.
fn covering(z: u8) -> Vec<TileId> {
    let n = (1u64 << z) as f64;
    let (x0, y0) = lonlat_to_unit(116.99, 36.81);
    let (x1, y1) = lonlat_to_unit(117.41, 36.59);
    let mut out = Vec::new();
    for y in (y0 * n) as u32..=(y1 * n) as u32 {
        for x in (x0 * n) as u32..=(x1 * n) as u32 {
            out.push(TileId { z, x, y });
        }
    }
    out
}

fn parse_filter(snap: &Snapshot, pairs: &[(&str, String)]) -> Filter {
    let q: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    Filter::parse(&q, &snap.taxonomy, snap.reference_year).unwrap()
}

/// The published talent count of every distinct cell drawn in the tiles of
/// zoom `z` (a cell repeated in two tiles must carry the same number).
fn published_cells(snap: &Snapshot, layer: Layer, z: u8, filter: &Filter) -> HashMap<u64, u64> {
    let mut seen: HashMap<u64, u64> = HashMap::new();
    for tile in covering(z) {
        for l in decode(&render(snap, layer, tile, filter, K)) {
            for f in l.features {
                assert!(!f.props.contains_key("suppressed"), "talent cells are perturbed, not suppressed");
                let count = f.props["count"].as_u64().unwrap();
                if let Some(prev) = seen.insert(f.id.expect("cells carry ids"), count) {
                    assert_eq!(prev, count, "a cell repeated in two tiles has the same numbers");
                }
            }
        }
    }
    seen
}

/// Sum of counts over distinct cell ids, and the number of suppressed cells.
fn sum_cells(snap: &Snapshot, layer: Layer, z: u8, filter: &Filter) -> (u64, u64) {
    let mut seen: HashMap<u64, Option<u64>> = HashMap::new();
    for tile in covering(z) {
        let bytes = render(snap, layer, tile, filter, K);
        for l in decode(&bytes) {
            for f in l.features {
                let id = f.id.expect("cells carry ids");
                let count = f.props.get("count").and_then(Val::as_u64);
                if let Some(prev) = seen.insert(id, count) {
                    assert_eq!(prev, count, "a cell repeated in two tiles has the same numbers");
                }
            }
        }
    }
    let sum = seen.values().flatten().sum();
    let suppressed = seen.values().filter(|c| c.is_none()).count() as u64;
    (sum, suppressed)
}

#[test]
fn talent_tile_schema_decodes_independently() {
    let (_d, snap) = city(3000, 7);
    let tile = covering(10)[0];
    let layers = decode(&render(&snap, Layer::Talents, tile, &Filter::default(), K));
    assert_eq!(layers.len(), 1);
    let l = &layers[0];
    assert_eq!((l.name.as_str(), l.version, l.extent), ("talents", 2, 4096));
    assert!(l.features.len() > 10, "a city tile holds many cells");
    for f in &l.features {
        assert_eq!(f.geom_type, 3, "cells are polygons");
        assert!(!f.props.contains_key("suppressed"), "talent cells are perturbed, not suppressed");
        let keys = ["count", "seekers", "young", "edu_associate", "edu_bachelor", "edu_master", "edu_doctorate"];
        for key in keys {
            let n = f.props[key].as_u64().unwrap_or_else(|| panic!("{key} is an unsigned integer"));
            assert!(n == 0 || n >= K as u64, "{key} = {n}: never 1..k-1");
        }
        assert!(f.props["count"].as_u64().unwrap() >= K as u64, "cells published as 0 are left out");
        // Each breakdown is perturbed from its own records, so they add up
        // to the count only within the noise.
        let edu: u64 = ["edu_associate", "edu_bachelor", "edu_master", "edu_doctorate"]
            .iter()
            .map(|k| f.props[*k].as_u64().unwrap())
            .sum();
        assert!(edu.abs_diff(f.props["count"].as_u64().unwrap()) <= 4 * (K as u64 - 1) + 3);
        // The most common field only for cells of at least 20.
        if let Some(Val::Str(code)) = f.props.get("top_field") {
            assert_eq!(code.len(), 4);
            assert!(f.props["count"].as_u64().unwrap() >= 17, "top field of a small cell");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]
    /// The cells of all tiles hold every matching record exactly once; the
    /// published talent counts are within the perturbation table's bound of
    /// them (vacancies: less at most k−1 per suppressed cell) — for any
    /// filter and zoom.
    #[test]
    fn conservation_over_random_filters_and_zooms(
        z in 0u8..=14,
        field in proptest::option::of(0usize..5),
        edu in proptest::option::of(0usize..4),
        max_age in proptest::option::of((5u16..12).prop_map(|band| band * 5 + 4)),
        seeking in proptest::option::of(any::<bool>()),
        chain in any::<bool>(),
    ) {
        let (_d, snap) = CITY.with(|c| c.clone());
        let mut pairs = Vec::new();
        if let Some(f) = field { pairs.push(("field", FIELDS[f].to_string())); }
        if let Some(e) = edu { pairs.push(("education", EDUCATION[e].to_string())); }
        if let Some(a) = max_age { pairs.push(("max_age", a.to_string())); }
        if let Some(s) = seeking { pairs.push(("seeking", s.to_string())); }
        if chain { pairs.push(("industry", "ngit,27".to_string())); }
        let filter = parse_filter(&snap, &pairs);

        // Talents: the cells' true counts add up exactly; what is published
        // is each cell's perturbed count, within the table's bound of it.
        let brute = snap.talents.iter().filter(|t| filter.talent(t)).count() as u64;
        let mut truth: HashMap<u64, u64> = HashMap::new();
        for tile in covering(z) {
            for c in talentmap::analytics::cells::talent_cells(&snap, tile, &filter) {
                truth.insert(c.id, c.count);
            }
        }
        prop_assert_eq!(truth.values().sum::<u64>(), brute, "talents z{}: cells hold every record once", z);
        let published = published_cells(&snap, Layer::Talents, z, &filter);
        let bound: u64 = truth.values().map(|&n| if n < K as u64 { K as u64 - 1 } else { 2 }).sum();
        let sum: u64 = published.values().sum();
        prop_assert!(sum.abs_diff(brute) <= bound, "talents z{}: brute {}, published {}, bound {}", z, brute, sum, bound);
        for (id, &p) in &published {
            prop_assert!(p >= K as u64, "a published cell holds at least k: {}", p);
            let n = truth[id];
            let allowed = if n < K as u64 { K as u64 - 1 } else { 2 };
            prop_assert!(p.abs_diff(n) <= allowed, "cell {}: true {}, published {}", id, n, p);
        }

        let brute: u64 = snap.vacancies.iter().filter(|v| v.open && filter.vacancy(v)).map(|v| v.openings as u64).sum();
        let (sum, suppressed) = sum_cells(&snap, Layer::Vacancies, z, &filter);
        prop_assert!(sum <= brute && brute - sum <= suppressed * (K as u64 - 1),
            "vacancies z{z}: brute {brute}, sum {sum}, suppressed {suppressed}");
    }
}

thread_local! {
    static CITY: (Arc<tempfile::TempDir>, Arc<Snapshot>) = {
        let (d, s) = city(4000, 11);
        (Arc::new(d), s)
    };
}

#[test]
fn privacy_no_talent_output_reveals_an_individual() {
    let (_d, snap) = city(2500, 3);
    for z in 0..=14u8 {
        for tile in covering(z) {
            let bytes = render(&snap, Layer::Talents, tile, &Filter::default(), K);
            for l in decode(&bytes) {
                for f in l.features {
                    assert_eq!(f.geom_type, 3, "never a point");
                    let c = f.props.get("count").and_then(Val::as_u64).expect("every published cell has a count");
                    assert!(c >= K as u64, "published count {c} below k at z{z}");
                    assert!(!f.props.contains_key("id"));
                    for v in f.props.values() {
                        if let Val::Str(s) = v {
                            assert!(
                                s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()),
                                "only field codes as text: {s}"
                            );
                        }
                    }
                    // Vertices are cell corners: multiples of the cell size.
                    for (x, y) in f.vertices {
                        assert!(x as i64 % 128 == 0 && y as i64 % 128 == 0, "vertex ({x}, {y}) is not a cell corner");
                    }
                }
            }
            assert!(!bytes.windows(2).any(|w| w == b"T1"), "no talent id in a tile");
        }
    }
}

#[test]
fn enterprises_cluster_then_split() {
    let (_d, snap) = city(100, 5);
    let mut clustered = 0;
    for tile in covering(9) {
        for l in decode(&render(&snap, Layer::Enterprises, tile, &Filter::default(), K)) {
            for f in l.features {
                assert_eq!(f.props["cluster"], Val::Bool(true));
                clustered += f.props["count"].as_u64().unwrap();
            }
        }
    }
    assert_eq!(clustered, 3, "every enterprise is in exactly one cluster");
    let mut names = Vec::new();
    for tile in covering(13) {
        for l in decode(&render(&snap, Layer::Enterprises, tile, &Filter::default(), K)) {
            for f in l.features {
                assert_eq!(f.geom_type, 1);
                if let Val::Str(n) = &f.props["name"] {
                    names.push(n.clone());
                }
                assert!(matches!(f.props["key"], Val::Bool(_)));
            }
        }
    }
    names.sort();
    assert_eq!(names, ["星辰软件", "泉城制药", "齐鲁金融"]);
}

#[test]
fn regions_and_stations_tiles() {
    let (_d, snap) = city(500, 9);
    let tile = covering(9)[0];
    let layers = decode(&render(&snap, Layer::Regions, tile, &Filter::default(), K));
    let mut kinds: Vec<String> = layers[0]
        .features
        .iter()
        .map(|f| match &f.props["kind"] {
            Val::Str(s) => s.clone(),
            _ => panic!(),
        })
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["district", "district", "park"]);
    assert!(layers[0].features.iter().all(|f| f.geom_type == 3));
    let mut stations = 0;
    for tile in covering(12) {
        for l in decode(&render(&snap, Layer::Stations, tile, &Filter::default(), K)) {
            stations += l
                .features
                .iter()
                .filter(|f| f.vertices.iter().all(|&(x, y)| (0.0..4096.0).contains(&x) && (0.0..4096.0).contains(&y)))
                .count();
        }
    }
    assert_eq!(stations, 2, "each station drawn once inside its own tile");
}

// ---- HTTP ----

fn app(snap: Arc<Snapshot>) -> axum::Router {
    let snap = Arc::try_unwrap(snap).ok().expect("each HTTP test builds its own snapshot");
    router(AppState::new(snap, None, Settings::default()))
}

async fn get(app: &axum::Router, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, body)
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap()
}

#[tokio::test]
async fn tile_http_behaviour() {
    let (_d, snap) = city(2000, 21);
    let app = app(snap);
    let t = covering(10)[0];
    let uri = format!("/tiles/talents/{}/{}/{}.mvt", t.z, t.x, t.y);
    let (status, headers, body) = get(&app, &uri, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/vnd.mapbox-vector-tile");
    assert_eq!(decode(&body)[0].name, "talents");
    let etag = headers[header::ETAG].to_str().unwrap().to_string();
    assert!(headers.contains_key(header::CACHE_CONTROL));
    let (status, _, body) = get(&app, &uri, &[("if-none-match", &etag)]).await;
    assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0));
    let (_, h2, _) = get(&app, &format!("{uri}?field=0812"), &[]).await;
    assert_ne!(h2[header::ETAG], etag, "the filter is part of the ETag");
    let (status, headers, body) = get(&app, &uri, &[("accept-encoding", "gzip")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut raw).unwrap();
    assert_eq!(decode(&raw)[0].name, "talents");
    // The gzip form is stored: the same bytes again, its own ETag, and
    // both forms say they vary with Accept-Encoding.
    let (_, plain_headers, plain) = get(&app, &uri, &[]).await;
    assert_eq!(raw, plain, "the gzip body is the tile");
    assert_eq!(plain_headers[header::VARY], "accept-encoding");
    assert_eq!(headers[header::VARY], "accept-encoding");
    let gz_etag = headers[header::ETAG].to_str().unwrap().to_string();
    assert_ne!(gz_etag, etag, "each encoding is its own representation");
    let (_, again_headers, again) = get(&app, &uri, &[("accept-encoding", "br;q=1.0, gzip;q=0.8, *;q=0.1")]).await;
    assert_eq!((again, &again_headers[header::ETAG]), (body, &headers[header::ETAG]));
    let (status, _, _) = get(&app, &uri, &[("if-none-match", &gz_etag), ("accept-encoding", "gzip")]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    for refused in ["gzip;q=0", "identity", "gzip; q=0.0, identity"] {
        let (_, h, b) = get(&app, &uri, &[("accept-encoding", refused)]).await;
        assert!(!h.contains_key(header::CONTENT_ENCODING), "{refused}");
        assert_eq!(b, plain, "{refused}");
    }
    // A wildcard stands for the codings not named: not for gzip refused.
    let (_, h, _) = get(&app, &uri, &[("accept-encoding", "gzip;q=0, *")]).await;
    assert_ne!(h.get(header::CONTENT_ENCODING).map(|v| v.as_bytes()), Some(&b"gzip"[..]), "{h:?}");
    // Far from the city: an empty tile is 204 with no body.
    let (status, _, body) = get(&app, "/tiles/talents/10/0/0.mvt", &[]).await;
    assert_eq!((status, body.len()), (StatusCode::NO_CONTENT, 0));
}

#[tokio::test]
async fn bad_tile_requests_get_json_errors_naming_the_parameter() {
    let (_d, snap) = city(50, 1);
    let app = app(snap);
    for (uri, status, param) in [
        ("/tiles/talents/23/0/0.mvt", 400, Some("z")),
        ("/tiles/talents/2/4/0.mvt", 400, Some("x")),
        ("/tiles/talents/2/0/-1.mvt", 400, Some("y")),
        ("/tiles/talents/a/0/0.mvt", 400, Some("z")),
        ("/tiles/talents/2/0/0.mvt?field=9999", 400, Some("field")),
        ("/tiles/talents/2/0/0.mvt?education=phd", 400, Some("education")),
        ("/tiles/talents/2/0/0.mvt?min_age=old", 400, Some("min_age")),
        ("/tiles/talents/2/0/0.mvt?seeking=maybe", 400, Some("seeking")),
        ("/tiles/talents/2/0/0.mvt?industry=nochain", 400, Some("industry")),
        ("/tiles/talents/2/0/0.mvt?tier=Z", 400, Some("tier")),
        ("/tiles/talents/2/0/0.mvt?title=boss", 400, Some("title")),
        ("/tiles/talents/2/0/0.mvt?feild=0812", 400, Some("feild")),
        ("/tiles/nolayer/2/0/0.mvt", 404, None),
        ("/tiles/nolayer.json", 404, None),
        ("/tiles/talents/2/0/0.png", 404, None),
        ("/api/aggregates?layer=talents&zoom=15&bbox=117,36.6,117.4,36.8", 400, Some("zoom")),
        ("/api/aggregates?layer=people&zoom=5&bbox=117,36.6,117.4,36.8", 400, Some("layer")),
        ("/api/aggregates?layer=talents&zoom=5&bbox=117,36.6,117.4", 400, Some("bbox")),
        ("/api/aggregates?layer=talents&zoom=14&bbox=100,20,120,40", 400, Some("bbox")),
        ("/api/enterprises?limit=0", 400, Some("limit")),
        ("/api/enterprises?bbox=118,36,117,37", 400, Some("bbox")),
        ("/api/regions/NOPE", 404, None),
        ("/api/nothing", 404, None),
    ] {
        let (s, _, body) = get(&app, uri, &[]).await;
        assert_eq!(s.as_u16(), status, "{uri}");
        let v = json(&body);
        assert!(v["error"]["code"].is_string() && v["error"]["message"].is_string(), "{uri}: {v}");
        if let Some(p) = param {
            assert_eq!(v["error"]["parameter"], p, "{uri}: {v}");
        }
    }
}

#[tokio::test]
async fn tilejson_describes_each_layer_and_keeps_the_query() {
    let (_d, snap) = city(50, 1);
    let app = app(snap);
    for layer in ["talents", "vacancies", "enterprises", "regions", "stations"] {
        let (s, _, body) = get(&app, &format!("/tiles/{layer}.json?field=0812"), &[]).await;
        assert_eq!(s, StatusCode::OK);
        let tj = json(&body);
        assert_eq!(tj["tilejson"], "3.0.0");
        // Regions and stations check the filters but are not drawn by them:
        // one URL (cache entry, ETag) for every filter.
        let query = if ["regions", "stations"].contains(&layer) { "" } else { "?field=0812" };
        assert_eq!(tj["tiles"][0], format!("http://127.0.0.1:8080/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt{query}"));
        assert_eq!(tj["vector_layers"][0]["id"], layer);
        assert!(tj["vector_layers"][0]["fields"].as_object().unwrap().len() >= 3);
        let b = tj["bounds"].as_array().unwrap();
        assert!((b[0].as_f64().unwrap() - 117.0).abs() < 1e-9 && (b[3].as_f64().unwrap() - 36.8).abs() < 1e-9);
        assert!(tj["maxzoom"].as_u64().unwrap() >= 14);
    }
}

/// RFC 7946: [lon, lat] order, closed rings, exterior counter-clockwise.
fn check_rfc7946_polygon(coords: &serde_json::Value) {
    for (i, ring) in coords.as_array().unwrap().iter().enumerate() {
        let pts: Vec<(f64, f64)> =
            ring.as_array().unwrap().iter().map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap())).collect();
        assert!(pts.len() >= 4);
        assert_eq!(pts.first(), pts.last(), "ring closed");
        assert!(pts.iter().all(|(x, y)| (116.0..118.0).contains(x) && (36.0..37.0).contains(y)), "lon first");
        let area: f64 = pts.windows(2).map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1).sum();
        if i == 0 {
            assert!(area > 0.0, "exterior ring counter-clockwise");
        } else {
            assert!(area < 0.0, "holes clockwise");
        }
    }
}

#[tokio::test]
async fn geojson_endpoints_follow_rfc7946_and_privacy() {
    let (_d, snap) = city(3000, 4);
    let talents = snap.totals.talents;
    let app = app(snap);
    let (_, _, body) = get(&app, "/api/regions", &[]).await;
    let fc = json(&body);
    assert_eq!(fc["type"], "FeatureCollection");
    assert_eq!(fc["features"].as_array().unwrap().len(), 3);
    for f in fc["features"].as_array().unwrap() {
        assert_eq!(f["geometry"]["type"], "Polygon");
        check_rfc7946_polygon(&f["geometry"]["coordinates"]);
    }
    let (_, _, body) = get(&app, "/api/regions/P1", &[]).await;
    let r = json(&body);
    assert_eq!(r["kind"], "park");
    assert_eq!(r["demand"]["by_field"][0]["field"], "0812");
    for row in r["supply"]["by_field"].as_array().unwrap() {
        let n = row["talents"].as_u64().unwrap();
        assert!(n == 0 || n >= K as u64, "published below k: {row}");
    }
    assert_eq!(r["exact_counts"], false);

    // Aggregates: the same cells as the tiles, and the same totals.
    let (s, _, body) = get(&app, "/api/aggregates?layer=talents&zoom=9&bbox=116.99,36.59,117.41,36.81", &[]).await;
    assert_eq!(s, StatusCode::OK);
    let fc = json(&body);
    let mut sum = 0;
    let cells = fc["features"].as_array().unwrap();
    for f in cells {
        check_rfc7946_polygon(&f["geometry"]["coordinates"]);
        let c = f["properties"]["count"].as_u64().unwrap();
        assert!(c >= K as u64);
        sum += c;
    }
    // Perturbed per cell: within a few per cell of the true total.
    assert!(sum.abs_diff(talents) <= 4 * (cells.len() as u64 + 40), "{sum} vs {talents}");

    // Enterprises: paging with a cursor walks every record once.
    let (_, _, body) = get(&app, "/api/enterprises?limit=2", &[]).await;
    let page = json(&body);
    assert_eq!(page["features"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let (_, _, body) = get(&app, &format!("/api/enterprises?limit=2&cursor={cursor}"), &[]).await;
    let page2 = json(&body);
    assert_eq!(page2["features"].as_array().unwrap().len(), 1);
    assert!(page2["next_cursor"].is_null());
    let (_, _, body) = get(&app, "/api/enterprises?bbox=117.2,36.6,117.4,36.8", &[]).await;
    assert_eq!(json(&body)["features"][0]["properties"]["name"], "泉城制药");
    let (_, _, body) = get(&app, &format!("/api/enterprises?q={}", "%E9%87%91%E8%9E%8D"), &[]).await;
    assert_eq!(json(&body)["features"][0]["id"], "E3");
    let (_, _, body) = get(&app, "/api/enterprises?industry=27", &[]).await;
    assert_eq!(json(&body)["features"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn stats_health_metrics_taxonomy() {
    let (d, snap) = city(300, 2);
    let data = d.path().join("data");
    let admin = bearer(&talentmap::store::Store::open(&data).unwrap(), talentmap::auth::Role::Admin, &[]);
    let snap = Arc::try_unwrap(snap).ok().expect("one snapshot");
    let app = router(AppState::new(snap, Some(data), Settings::default()));
    let (_, _, body) = get(&app, "/api/stats", &[]).await;
    let s = json(&body);
    assert_eq!((s["enterprises"].as_u64(), s["vacancies"].as_u64()), (Some(3), Some(30)));
    // The public gets the city's talent count perturbed, an admin exactly (audited).
    assert!(s["talents"].as_u64().unwrap().abs_diff(300) <= 2);
    assert_eq!(s["exact_counts"], false);
    let (_, _, body) = get(&app, "/api/stats", &[("authorization", &admin)]).await;
    let exact = json(&body);
    assert_eq!((exact["talents"].as_u64(), exact["exact_counts"].as_bool()), (Some(300), Some(true)));
    assert_eq!(s["stations"], 2);
    assert_eq!(s["regions"], 3);
    assert_eq!(s["districts"].as_array().unwrap().len(), 2);
    let (_, _, body) = get(&app, "/health", &[]).await;
    assert_eq!(json(&body)["status"], "ok");
    let (_, _, _) = get(&app, "/tiles/talents/9/422/199.mvt", &[]).await;
    // Metrics are for admins.
    assert_eq!(get(&app, "/metrics", &[]).await.0, StatusCode::UNAUTHORIZED);
    let (status, _, body) = get(&app, "/metrics", &[("authorization", &admin)]).await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("talentmap_records{kind=\"talents\"} 300"));
    assert!(text.contains("talentmap_tile_cache_misses_total 1"));
    let (_, _, body) = get(&app, "/api/taxonomy", &[]).await;
    let t = json(&body);
    assert_eq!(t["industries"].as_array().unwrap().len(), 97);
    assert!(t["chains"].as_array().unwrap().iter().any(|c| c["id"] == "ngit"));
}

/// Unfiltered low-zoom tiles come from the per-snapshot pyramid; they must
/// equal the cells aggregated from the tile's own records.
#[test]
fn pyramid_cells_equal_direct_aggregation() {
    use talentmap::analytics::cells::{PYRAMID_MAX_ZOOM, cell_level, talent_cells, talent_cells_of};
    let (_d, snap) = city(3000, 17);
    let young_from = snap.reference_year - 35;
    let mut compared = 0;
    for z in 0..=PYRAMID_MAX_ZOOM {
        for tile in covering(z) {
            let direct = talent_cells_of(snap.talents_in(tile), cell_level(z), &Filter::default(), young_from);
            assert_eq!(talent_cells(&snap, tile, &Filter::default()), direct, "tile {tile}");
            compared += direct.len();
        }
    }
    assert!(compared > 100);
}

/// Unfiltered tiles of zooms 12–14 read their published cells from the
/// fine index once the background has made it: the same bytes as the
/// cells aggregated from the tile's records, tile for tile.
#[test]
fn fine_cells_draw_what_the_records_draw() {
    use talentmap::analytics::fine;
    let (_d, snap) = city(4000, 29);
    let tiles: Vec<TileId> = (fine::MIN_ZOOM..=fine::MAX_ZOOM).flat_map(covering).collect();
    let unfiltered = Filter::default();
    let aged = parse_filter(&snap, &[("min_age", "30".into()), ("max_age", "44".into())]);
    // Before the index is made, every tile aggregates its records.
    assert!(fine::built(&snap, K).is_none());
    let from_records: Vec<(Vec<u8>, Vec<u8>)> = tiles
        .iter()
        .map(|&t| (render(&snap, Layer::Talents, t, &unfiltered, K), render(&snap, Layer::Talents, t, &aged, K)))
        .collect();
    let index = fine::warm(&snap, K);
    assert!(fine::built(&snap, K).is_some() && fine::built(&snap, K + 1).is_none(), "made for its threshold only");
    let (mut drawn, mut cells) = (0, 0);
    for (&tile, (plain, filtered)) in tiles.iter().zip(&from_records) {
        let held = index.tile(&snap, tile).expect("the index holds zooms 12 to 14").count();
        assert_eq!(&render(&snap, Layer::Talents, tile, &unfiltered, K), plain, "tile {tile}");
        assert_eq!(&render(&snap, Layer::Talents, tile, &aged, K), filtered, "a filtered tile {tile}");
        // Every feature of the tile is a cell the index holds.
        let features: usize = decode(plain).iter().map(|l| l.features.len()).sum();
        assert_eq!(features, held, "tile {tile}");
        drawn += usize::from(!plain.is_empty());
        cells += held;
    }
    assert!(drawn > 20 && cells > 500, "{drawn} tiles, {cells} cells");
    // Under another threshold, its own index draws what its records draw.
    let k = 3;
    for &tile in tiles.iter().step_by(7) {
        let direct = render(&snap, Layer::Talents, tile, &unfiltered, k);
        fine::warm(&snap, k);
        assert_eq!(render(&snap, Layer::Talents, tile, &unfiltered, k), direct, "k = {k}, tile {tile}");
    }
    assert!(
        index.tile(&snap, TileId { z: 11, x: 0, y: 0 }).is_none()
            && index.tile(&snap, TileId { z: 15, x: 0, y: 0 }).is_none()
    );
}

// ---- The warm path (api::fast) ----

/// Status, headers in order and body of an answer.
type Answer = (StatusCode, Vec<(String, Vec<u8>)>, Vec<u8>);

async fn answer(app: &axum::Router, method: &str, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::empty()).unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo("10.1.2.3:4000".parse::<std::net::SocketAddr>().unwrap()));
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let list = resp.headers().iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect();
    (status, list, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

fn warm_count(state: &AppState) -> u64 {
    state.metrics.warm_tiles.load(std::sync::atomic::Ordering::SeqCst)
}

#[tokio::test]
async fn the_warm_path_answers_as_the_whole_stack_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = random_city(dir.path(), 2000, 21);
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    let state = AppState::new(snap, Some(dir.path().join("data")), Settings::default());
    let app = router(state.clone());
    let t = covering(10)[0];
    let t13 = covering(13)[7];
    let uris = [
        format!("/tiles/talents/{}/{}/{}.mvt", t.z, t.x, t.y),
        format!("/tiles/talents/{}/{}/{}.mvt?field=0812&seeking=true", t.z, t.x, t.y),
        format!("/tiles/vacancies/{}/{}/{}.mvt", t13.z, t13.x, t13.y),
        format!("/tiles/enterprises/{}/{}/{}.mvt", t.z, t.x, t.y),
        format!("/tiles/regions/{}/{}/{}.mvt", t.z, t.x, t.y),
        "/tiles/talents/10/0/0.mvt".to_string(),
    ];
    let encodings: [&[(&str, &str)]; 3] =
        [&[], &[("accept-encoding", "gzip")], &[("accept-encoding", "br;q=1.0, gzip;q=0.8, *;q=0.1")]];
    let mut statuses = Vec::new();
    for uri in &uris {
        // A URI asked once is not remembered: a view asked for once (a
        // crawl, a filter being dragged) is not worth an entry.
        let before = warm_count(&state);
        let once = answer(&app, "GET", uri, &[]).await;
        let again = answer(&app, "GET", uri, &[]).await;
        assert_eq!(warm_count(&state), before, "{uri}: the first two requests go down the stack");
        assert_eq!(once, again);
        let mut empty = false;
        for (i, headers) in encodings.iter().enumerate() {
            let before = warm_count(&state);
            let stack = answer(&app, "GET", uri, headers).await;
            // The URI is remembered now; the first request of its gzip
            // form (an empty tile has none) goes down the stack; every
            // answer after that is the warm path's.
            empty |= stack.0 == StatusCode::NO_CONTENT;
            let first_warm = i == 0 || i == 2 || (i == 1 && empty);
            assert_eq!(warm_count(&state) - before, u64::from(first_warm), "{uri} {headers:?}");
            let warm = answer(&app, "GET", uri, headers).await;
            assert_eq!(warm_count(&state) - before, 1 + u64::from(first_warm), "{uri} {headers:?} again");
            assert_eq!(warm, stack, "{uri} {headers:?}: the same status, headers in order and bytes");
            statuses.push(stack.0);
        }
    }
    assert!(statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::NO_CONTENT), "{statuses:?}");

    // 304: the warm path's equals the stack's (a second spelling of the
    // same query is the same tile and ETag, but a URI of its own).
    let uri = &uris[1];
    let (_, headers, _) = answer(&app, "GET", uri, &[("accept-encoding", "gzip")]).await;
    let etag = headers.iter().find(|(k, _)| k == "etag").map(|(_, v)| String::from_utf8(v.clone()).unwrap()).unwrap();
    let conditional = [("accept-encoding", "gzip"), ("if-none-match", etag.as_str())];
    let before = warm_count(&state);
    let swapped = uri.replace("field=0812&seeking=true", "seeking=true&field=0812");
    let stack = answer(&app, "GET", &swapped, &conditional).await;
    let warm = answer(&app, "GET", uri, &conditional).await;
    assert_eq!(warm_count(&state) - before, 1);
    assert_eq!(stack.0, StatusCode::NOT_MODIFIED);
    assert_eq!(warm, stack);

    // Callers and requests the warm path leaves to the stack.
    let before = warm_count(&state);
    let (status, _, _) = answer(&app, "GET", uri, &[("authorization", "Bearer tm_not_a_key")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = answer(&app, "GET", uri, &[("cookie", "talentmap_session=nothing")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, headers, _) = answer(&app, "GET", uri, &[("origin", "https://elsewhere.example")]).await;
    assert!(headers.iter().any(|(k, _)| k == "vary"));
    let (status, headers, body) = answer(&app, "GET", uri, &[("accept-encoding", "br")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.iter().any(|(k, v)| k == "content-encoding" && v == b"br") && !body.is_empty());
    let (status, _, body) = answer(&app, "HEAD", uri, &[]).await;
    assert_eq!((status, body.len()), (StatusCode::OK, 0));
    assert_eq!(warm_count(&state), before, "none of these is answered by the warm path");

    // A publish that changes the talents layer: its URIs go down the stack
    // once and get the new tile; the enterprise tile is still warm.
    let more = talents_csv(300, true);
    import(&mut store, talentmap::import::ImportKind::Talents, &write(dir.path(), "more.csv", &more)).unwrap();
    let old = answer(&app, "GET", &uris[0], &[]).await;
    state.refresh().unwrap().expect("the store changed");
    let before = warm_count(&state);
    let fresh = answer(&app, "GET", &uris[0], &[]).await;
    assert_eq!(warm_count(&state), before, "a changed layer is not answered from memory");
    assert_ne!(fresh.2, old.2, "the new talents are in the tile");
    assert_eq!(answer(&app, "GET", &uris[0], &[]).await, fresh);
    let _ = answer(&app, "GET", &uris[3], &[]).await;
    assert_eq!(warm_count(&state), before + 2, "the talents tile again and the unchanged enterprise tile");
}

#[tokio::test]
async fn the_warm_path_charges_the_rate_limit_as_the_stack_does() {
    let (_d, snap) = city(500, 5);
    let snap = Arc::try_unwrap(snap).ok().unwrap();
    let settings = Settings { rate_limit_per_sec: 1, rate_limit_burst: 4, ..Settings::default() };
    let state = AppState::new(snap, None, settings);
    let app = router(state.clone());
    let t = covering(10)[0];
    let uri = format!("/tiles/talents/{}/{}/{}.mvt", t.z, t.x, t.y);
    let mut statuses = Vec::new();
    let started = std::time::Instant::now();
    for _ in 0..6 {
        let (status, headers, body) = answer(&app, "GET", &uri, &[]).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(headers.iter().any(|(k, _)| k == "retry-after"));
            assert_eq!(json(&body)["error"]["code"], "rate_limited");
        }
        statuses.push(status.as_u16());
    }
    // A burst of 4, and one more token for every second the test took. The
    // first two requests go down the stack, the next from memory.
    let refilled = started.elapsed().as_secs() as usize + 1;
    let ok = statuses.iter().filter(|&&s| s == 200).count();
    assert!(ok >= 4 && ok <= 4 + refilled && statuses[..4] == [200; 4], "{statuses:?}");
    assert!(statuses.contains(&429) || refilled >= 2, "{statuses:?}");
    assert!(warm_count(&state) >= 2, "the warm path answered within the burst");
}
