//! Access control over HTTP (`docs/access.md`): a role × route matrix built
//! from the router's own route list, so a route added without a policy here
//! fails; cross-site writes; revoked keys; sign-in, sign-out and lockout;
//! `--public off`; the people layer at a jurisdiction's edge; the audit log
//! of what individuals were read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use common::mvt::{Val, decode};
use common::*;
use http_body_util::BodyExt;
use serde_json::Value;
use talentmap::api::{AccessSettings, AppState, Settings, router, routes};
use talentmap::auth::audit::Actor;
use talentmap::auth::{Role, keys};
use talentmap::import::ImportKind;
use talentmap::model::Taxonomy;
use talentmap::snapshot;
use talentmap::spatial::TileId;
use talentmap::spatial::lonlat_to_unit;
use talentmap::store::Store;
use tower::ServiceExt;

/// The boundary between D1 (west) and D2 (east) in the tiny city.
const BORDER: f64 = 117.2;

/// The zoom-15 tile that the D1/D2 border crosses at 36.7 N.
fn border_tile() -> TileId {
    tile_at(BORDER, 36.7)
}

fn tile_at(lon: f64, lat: f64) -> TileId {
    let (ux, uy) = lonlat_to_unit(lon, lat);
    let n = (1u64 << 15) as f64;
    TileId::new(15, (ux * n) as u64, (uy * n) as u64).unwrap()
}

/// The tiny city with talents on both sides of the D1/D2 border, in one
/// zoom-15 tile: `W*` live and work in D1, `E*` live in D2, `C0` lives in
/// D1 and works in D2; `F*` live deep in D1, far from D2.
fn talents() -> String {
    let (west, _, east, _) = border_tile().lonlat_bounds();
    assert!(west < BORDER && BORDER < east, "the tile crosses the border");
    let w = (west + BORDER) / 2.0;
    let e = (BORDER + east) / 2.0;
    let mut s = String::from(
        "id,home_lon,home_lat,work_lon,work_lat,enterprise_id,field,education,title,tier,birth_year,seeking\n",
    );
    for i in 0..6 {
        s.push_str(&format!("W{i},{w:.6},36.7,117.10,36.70,E3,0812,bachelor,none,none,1991,false\n"));
        s.push_str(&format!("E{i},{e:.6},36.7,117.30,36.70,E2,1007,master,junior,C,1988,false\n"));
        s.push_str(&format!("F{i},117.05,36.75,,,,0812,bachelor,none,none,1990,true\n"));
    }
    // Lives deep in D1, works in D2: inside D2's jurisdiction, but on a tile
    // that lies wholly outside it.
    s.push_str("G0,117.05,36.7501,117.30,36.70,E2,0812,master,none,A,1992,false\n");
    s.push_str(&format!("C0,{w:.6},36.7001,117.30,36.70,E2,0812,doctorate,senior,B,1985,false\n"));
    s
}

struct City {
    _dir: tempfile::TempDir,
    data: PathBuf,
    recruiter: String,
    analyst: String,
    feeder: String,
    admin: String,
}

fn city() -> City {
    let dir = tempfile::tempdir().unwrap();
    let mut store = tiny_city(dir.path(), 0);
    import(&mut store, ImportKind::Talents, &write(dir.path(), "t.csv", &talents())).unwrap();
    // E0 moves house within the border tile (the present home counts).
    let (_, _, east, _) = border_tile().lonlat_bounds();
    let e = (BORDER + east) / 2.0;
    let moves = format!(
        "id,talent_id,date,event,from_lon,from_lat,to_lon,to_lat,to_enterprise_id,destination
M1,E0,2025-03-02,relocate,117.3,36.75,{e:.6},36.7003,,
"
    );
    import(&mut store, ImportKind::Moves, &write(dir.path(), "m.csv", &moves)).unwrap();
    City {
        data: dir.path().join("data"),
        recruiter: bearer(&store, Role::Recruiter, &[]),
        analyst: bearer(&store, Role::Analyst, &["D2"]),
        feeder: bearer(&store, Role::Feeder, &[]),
        admin: bearer(&store, Role::Admin, &[]),
        _dir: dir,
    }
}

fn state(data: &Path, access: AccessSettings) -> AppState {
    let mut store = Store::open(data).unwrap();
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    AppState::new(snap, Some(data.to_path_buf()), Settings { k: 3, access, ..Settings::default() })
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

async fn send(state: &AppState, method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = router(state.clone()).oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    Answer { status, headers, body }
}

async fn get(state: &AppState, uri: &str, authorization: Option<&str>) -> Answer {
    let headers: Vec<(&str, &str)> = authorization.map(|a| ("authorization", a)).into_iter().collect();
    send(state, "GET", uri, &headers, "").await
}

/// Who may call a route, as `docs/access.md` states it. Written out here,
/// apart from the router's own table, so that the two are checked against
/// each other; a route missing here fails the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Open,
    Public,
    Export,
    Member,
    Individuals,
    Feed,
    Admin,
}

fn documented_policy(method: &str, path: &str) -> Option<Policy> {
    use Policy::*;
    Some(match (method, path) {
        ("GET", "/health") => Open,
        ("GET" | "POST" | "DELETE", "/api/session") => Open,
        ("GET", "/metrics") | ("GET", "/api/audit") => Admin,
        ("GET", "/tiles/people/{z}/{x}/{y}") | ("GET", "/api/people/{pid}") => Individuals,
        ("POST", "/api/moves") => Feed,
        ("GET", "/openapi.json" | "/api/docs" | "/api/stats" | "/api/taxonomy" | "/api/enterprises") => Public,
        ("GET", "/api/briefing") => Public,
        ("POST", "/api/areas") | ("GET", "/api/areas") | ("DELETE", "/api/areas/{id}") => Member,
        ("GET", "/api/areas/{id}" | "/api/areas/{id}/profile" | "/api/compare") => Public,
        ("GET", "/api/regions" | "/api/regions/{id}" | "/api/aggregates") => Public,
        (
            "GET",
            "/api/shortage"
            | "/api/shortage/fields"
            | "/api/shortage/hiring"
            | "/api/shortage/explain"
            | "/api/mismatch",
        ) => Public,
        ("GET", "/api/commute/summary" | "/api/commute/districts" | "/api/commute/flows") => Public,
        ("GET", "/api/commute/underserved") | ("POST", "/api/commute/scenario") => Public,
        ("GET", "/tiles/{file}" | "/tiles/{layer}/{z}/{x}/{y}") => Public,
        ("GET", "/fonts.json" | "/fonts/{fontstack}/{range}") => Open,
        ("GET", "/basemap.json" | "/basemap/{z}/{x}/{y}") => Public,
        ("GET", "/api/flows/series" | "/api/flows/od" | "/api/flows/alerts" | "/api/stock") => Public,
        ("GET", "/api/shortage?format=csv" | "/api/shortage/hiring?format=csv" | "/api/briefing?format=xlsx") => Export,
        ("GET", "/api/areas/{id}/profile?format=csv|xlsx|geojson" | "/api/compare?format=csv|xlsx") => Export,
        _ => return None,
    })
}

fn allows(policy: Policy, role: Role, public: bool) -> bool {
    use Role::*;
    match policy {
        Policy::Open => true,
        Policy::Public => matches!(role, Recruiter | Analyst | Admin) || (role == Public && public),
        Policy::Export | Policy::Member => matches!(role, Recruiter | Analyst | Admin),
        Policy::Individuals => matches!(role, Analyst | Admin),
        Policy::Feed => matches!(role, Feeder | Admin),
        Policy::Admin => role == Admin,
    }
}

/// A concrete request for a route pattern, inside the analyst's
/// jurisdiction where that matters.
fn concrete(path: &str, pid: &str) -> String {
    let t = border_tile();
    path.replace("/tiles/people/{z}/{x}/{y}", &format!("/tiles/people/15/{}/{}.mvt", t.x, t.y))
        .replace("{pid}", pid)
        .replace("{id}", "D1")
        .replace("{file}", "talents.json")
        .replace("{layer}/{z}/{x}/{y}", "talents/0/0/0.mvt")
        .replace("{fontstack}/{range}", "DejaVu%20Sans%20Book/0-255.pbf")
        .replace("/basemap/{z}/{x}/{y}", "/basemap/0/0/0.mvt")
}

async fn a_pid(state: &AppState, admin: &str) -> String {
    let t = border_tile();
    let tile = get(state, &format!("/tiles/people/15/{}/{}.mvt", t.x, t.y), Some(admin)).await;
    assert_eq!(tile.status, StatusCode::OK);
    let layers = decode(&tile.body);
    let person = layers[0].features.iter().find(|f| f.props["tier"] == Val::Str("C".into())).unwrap();
    match &person.props["pid"] {
        Val::Str(pid) => pid.clone(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn every_route_has_a_policy_and_every_role_gets_what_it_states() {
    let c = city();
    let invalid = "Bearer tm_0123456789abcdef_00";
    let revoked = {
        let store = Store::open(&c.data).unwrap();
        let key = keys::create(&store, Role::Admin, &[], "old", &Actor::cli()).unwrap();
        keys::revoke(&store, &key.info.id, &Actor::cli()).unwrap();
        format!("Bearer {}", key.key)
    };
    for public in [true, false] {
        let s = state(&c.data, AccessSettings { public_access: public, ..AccessSettings::default() });
        let pid = a_pid(&s, &c.admin).await;
        let table = routes();
        let mut cases: Vec<(String, String, Policy)> = Vec::new();
        for &(method, path) in table.list() {
            let policy = documented_policy(method, path)
                .unwrap_or_else(|| panic!("{method} {path} has no policy in tests/access.rs (and docs/access.md)"));
            cases.push((method.to_string(), concrete(path, &pid), policy));
        }
        cases.push(("GET".into(), "/api/shortage?field=0812&format=csv".into(), Policy::Export));
        cases.push(("GET".into(), "/api/shortage/hiring?format=csv".into(), Policy::Export));
        cases.push(("GET".into(), "/api/briefing?format=xlsx".into(), Policy::Export));
        for format in ["csv", "xlsx", "geojson"] {
            cases.push(("GET".into(), format!("/api/areas/D1/profile?format={format}"), Policy::Export));
        }
        for format in ["csv", "xlsx"] {
            cases.push(("GET".into(), format!("/api/compare?areas=D1,P1&format={format}"), Policy::Export));
        }
        assert!(cases.len() >= 32, "the route table lists the service's routes");
        let callers = [
            (Role::Public, None),
            (Role::Recruiter, Some(c.recruiter.as_str())),
            (Role::Analyst, Some(c.analyst.as_str())),
            (Role::Feeder, Some(c.feeder.as_str())),
            (Role::Admin, Some(c.admin.as_str())),
        ];
        for (method, uri, policy) in &cases {
            let body = if method == "POST" { "{}" } else { "" };
            for (role, authorization) in callers {
                let mut headers = vec![("content-type", "application/json")];
                headers.extend(authorization.map(|a| ("authorization", a)));
                let a = send(&s, method, uri, &headers, body).await;
                let what = format!("public={public} {role} {method} {uri}: {} {}", a.status, a.json());
                if allows(*policy, role, public) {
                    assert!(![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&a.status), "allowed: {what}");
                } else if role == Role::Public {
                    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{what}");
                    assert!(a.headers.get(header::WWW_AUTHENTICATE).unwrap().to_str().unwrap().starts_with("Bearer"));
                    assert_eq!(a.json()["error"]["code"], "unauthorized", "{what}");
                } else {
                    assert_eq!(a.status, StatusCode::FORBIDDEN, "{what}");
                    assert_eq!(a.json()["error"]["code"], "forbidden", "{what}");
                }
            }
            // Credentials that do not verify never pass as public.
            for bad in [invalid, revoked.as_str()] {
                let headers = [("content-type", "application/json"), ("authorization", bad)];
                let a = send(&s, method, uri, &headers, body).await;
                if *policy == Policy::Open {
                    assert_ne!(a.status, StatusCode::UNAUTHORIZED, "{method} {uri} is open");
                } else {
                    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{method} {uri} with a bad key");
                }
            }
        }
    }
}

#[tokio::test]
async fn cross_site_writes_are_refused_and_cors_is_not_a_wildcard() {
    let c = city();
    let s = state(&c.data, AccessSettings::default());
    let moves = r#"{"moves": []}"#;
    let feeder = c.feeder.as_str();
    // A form or fetch from another page with a text/plain body: 415.
    let a = send(&s, "POST", "/api/moves", &[("authorization", feeder), ("content-type", "text/plain")], moves).await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", a.json());
    let a = send(&s, "POST", "/api/moves", &[("authorization", feeder)], moves).await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "no content type");
    // JSON from a foreign origin: 403, even with valid credentials.
    let foreign = [
        ("authorization", feeder),
        ("content-type", "application/json"),
        ("origin", "https://evil.example"),
        ("host", "talent.example.gov.cn"),
    ];
    let a = send(&s, "POST", "/api/moves", &foreign, moves).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.json());
    // The same request from the server's own page is accepted.
    let own = [
        ("authorization", feeder),
        ("content-type", "application/json; charset=utf-8"),
        ("origin", "https://talent.example.gov.cn"),
        ("host", "talent.example.gov.cn"),
    ];
    let a = send(&s, "POST", "/api/moves", &own, moves).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json());
    // Behind a proxy that rewrites Host, the configured public URL's origin
    // is this server too.
    let proxied = [
        ("authorization", feeder),
        ("content-type", "application/json"),
        ("origin", "http://127.0.0.1:8080"),
        ("host", "backend:9000"),
    ];
    let a = send(&s, "POST", "/api/moves", &proxied, moves).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json());
    // The sign-in route refuses foreign origins too (no login CSRF).
    let body = r#"{"username": "x", "password": "y"}"#;
    let a = send(&s, "POST", "/api/session", &foreign[1..], body).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // CORS: no allow-origin by default; a configured origin for reads only.
    let a = send(&s, "GET", "/api/stats", &[("origin", "https://evil.example")], "").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    let portal = "https://portal.example.gov.cn";
    let s = state(&c.data, AccessSettings { cors_origins: vec![portal.into()], ..AccessSettings::default() });
    let a = send(&s, "GET", "/api/stats", &[("origin", portal)], "").await;
    assert_eq!(a.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], portal);
    assert!(a.headers.get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none());
    let a = send(&s, "GET", "/api/stats", &[("origin", "https://evil.example")], "").await;
    assert!(a.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

#[tokio::test]
async fn a_revoked_key_stops_working_within_the_credential_ttl() {
    let c = city();
    let ttl = Duration::from_millis(200);
    let s = state(&c.data, AccessSettings { credential_ttl: ttl, ..AccessSettings::default() });
    let (key, header_value) = {
        let store = Store::open(&c.data).unwrap();
        let key = keys::create(&store, Role::Admin, &[], "ops", &Actor::cli()).unwrap();
        let value = format!("Bearer {}", key.key);
        (key.info.id, value)
    };
    assert_eq!(get(&s, "/metrics", Some(&header_value)).await.status, StatusCode::OK);
    keys::revoke(&Store::open(&c.data).unwrap(), &key, &Actor::cli()).unwrap();
    tokio::time::sleep(ttl * 3).await;
    let a = get(&s, "/metrics", Some(&header_value)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.json()["error"]["message"].as_str().unwrap().contains("revoked"));
}

fn session_cookie(a: &Answer) -> String {
    let set = a.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set.contains(attribute), "{set}");
    }
    set.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn sign_in_sign_out_and_lockout() {
    let c = city();
    let store = Store::open(&c.data).unwrap();
    let password = "correct horse battery";
    let areas = vec!["D2".to_string()];
    talentmap::auth::users::add(&store, "ana", Role::Analyst, &areas, password, &Actor::cli()).unwrap();
    let s = state(&c.data, AccessSettings::default());
    let json = [("content-type", "application/json")];
    let body = format!(r#"{{"username": "ana", "password": "{password}"}}"#);
    let a = send(&s, "POST", "/api/session", &json, &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json());
    assert_eq!(a.json()["principal"]["role"], "analyst");
    assert_eq!(a.json()["principal"]["jurisdiction"], serde_json::json!(["D2"]));
    let cookie = session_cookie(&a);
    let me = send(&s, "GET", "/api/session", &[("cookie", &cookie)], "").await.json();
    assert_eq!((me["authenticated"].as_bool(), me["principal"]["id"].as_str()), (Some(true), Some("ana")));
    assert!(me["expires"].as_str().unwrap().ends_with('Z'));
    let t = border_tile();
    let tile = format!("/tiles/people/15/{}/{}.mvt", t.x, t.y);
    assert_eq!(send(&s, "GET", &tile, &[("cookie", &cookie)], "").await.status, StatusCode::OK);
    // Sign out: the session ends in the store, the cookie is cleared.
    let out = send(&s, "DELETE", "/api/session", &[("cookie", &cookie)], "").await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(out.headers[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(send(&s, "GET", &tile, &[("cookie", &cookie)], "").await.status, StatusCode::UNAUTHORIZED);
    let me = send(&s, "GET", "/api/session", &[("cookie", &cookie)], "").await.json();
    assert_eq!(me["authenticated"], false);
    // Wrong passwords: 401 without saying which part was wrong, then locked.
    let wrong = r#"{"username": "ana", "password": "not the password"}"#;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(send(&s, "POST", "/api/session", &json, wrong).await.status.as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    let locked = send(&s, "POST", "/api/session", &json, &body).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "even the right password while locked");
    assert!(locked.headers.contains_key(header::RETRY_AFTER));
    let unknown = send(&s, "POST", "/api/session", &json, r#"{"username": "nobody", "password": "x"}"#).await;
    assert_eq!(unknown.json()["error"]["message"], "wrong user name or password");
}

#[tokio::test]
async fn with_public_access_off_only_health_and_sign_in_are_open() {
    let c = city();
    let s = state(&c.data, AccessSettings { public_access: false, ..AccessSettings::default() });
    assert_eq!(get(&s, "/health", None).await.status, StatusCode::OK);
    assert_eq!(get(&s, "/api/session", None).await.json()["public_access"], false);
    for uri in ["/api/stats", "/tiles/talents/0/0/0.mvt", "/openapi.json", "/api/regions"] {
        let a = get(&s, uri, None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(a.json()["error"]["message"].as_str().unwrap().contains("public access is off"));
        let a = get(&s, uri, Some(&c.recruiter)).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}");
        // Never kept by a shared cache for someone without credentials.
        if let Some(cc) = a.headers.get(header::CACHE_CONTROL) {
            assert!(!cc.to_str().unwrap().contains("public"), "{uri}: {cc:?}");
        }
    }
}

fn pids_and_tiers(body: &[u8]) -> Vec<(String, String)> {
    let layers = decode(body);
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0].name, "people");
    let mut out: Vec<(String, String)> = layers[0]
        .features
        .iter()
        .map(|f| {
            let text = |k: &str| match &f.props[k] {
                Val::Str(s) => s.clone(),
                other => panic!("{k}: {other:?}"),
            };
            assert!(text("pid").starts_with('p') && text("pid").len() == 33);
            assert!(text("age_band").contains('-'));
            (text("pid"), text("tier"))
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn people_tiles_hold_only_the_jurisdiction_and_every_read_is_audited() {
    let c = city();
    let s = state(&c.data, AccessSettings::default());
    let t = border_tile();
    let uri = format!("/tiles/people/15/{}/{}.mvt", t.x, t.y);
    // An admin sees everyone living in the tile: 6 W, 6 E, C0.
    let all = get(&s, &uri, Some(&c.admin)).await;
    assert_eq!(all.headers[header::CACHE_CONTROL], "private, no-store");
    assert_eq!(pids_and_tiers(&all.body).len(), 13);
    // An analyst of D2 sees the 6 living in D2 (tier C) and C0, who lives in
    // D1 but works in D2 (tier B); not the 6 who live and work in D1.
    let analyst = get(&s, &uri, Some(&c.analyst)).await;
    assert_eq!(analyst.status, StatusCode::OK);
    let seen = pids_and_tiers(&analyst.body);
    let tiers: Vec<&str> = seen.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!((seen.len(), tiers.iter().filter(|t| **t == "C").count(), tiers.contains(&"B")), (7, 6, true));
    // A tile wholly outside D2: 403, although G0, who works in D2, lives there.
    let far = tile_at(117.05, 36.75);
    let outside = get(&s, &format!("/tiles/people/15/{}/{}.mvt", far.x, far.y), Some(&c.analyst)).await;
    assert_eq!(outside.status, StatusCode::FORBIDDEN);
    // The admin sees G0 there, and G0's record is the D2 analyst's to read.
    let far_all = get(&s, &format!("/tiles/people/15/{}/{}.mvt", far.x, far.y), Some(&c.admin)).await;
    let (g0, _) = pids_and_tiers(&far_all.body).into_iter().find(|(_, tier)| tier == "A").unwrap();
    let commuter = get(&s, &format!("/api/people/{g0}"), Some(&c.analyst)).await;
    assert_eq!((commuter.status, commuter.json()["work_district"].as_str()), (StatusCode::OK, Some("D2")));
    // Below zoom 15: 400 naming z.
    let low = get(&s, "/tiles/people/14/0/0.mvt", Some(&c.analyst)).await;
    assert_eq!((low.status, low.json()["error"]["parameter"].as_str()), (StatusCode::BAD_REQUEST, Some("z")));
    // One person's record and moves; someone outside is 403; a bad id 400.
    let (inside, _) = seen.iter().find(|(_, tier)| tier == "C").unwrap();
    let person = get(&s, &format!("/api/people/{inside}"), Some(&c.analyst)).await;
    assert_eq!(person.status, StatusCode::OK, "{}", person.json());
    let record = person.json();
    assert_eq!((record["home_district"].as_str(), record["audited"].as_bool()), (Some("D2"), Some(true)));
    assert!(record.get("id").is_none() && !String::from_utf8_lossy(&person.body).contains("\"E0\""));
    let all_pids = pids_and_tiers(&all.body);
    let (d1_only, _) =
        all_pids.iter().find(|(pid, tier)| tier == "none" && !seen.iter().any(|(p, _)| p == pid)).unwrap();
    assert_eq!(get(&s, &format!("/api/people/{d1_only}"), Some(&c.analyst)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&s, "/api/people/T1", Some(&c.analyst)).await.status, StatusCode::BAD_REQUEST);
    // The audit log names what was read, by pseudonym, and nothing else.
    let log = get(&s, "/api/audit?limit=1000", Some(&c.admin)).await.json();
    let items = log["items"].as_array().unwrap();
    let reads: Vec<&Value> = items.iter().filter(|e| e["action"] == "GET /tiles/people/{z}/{x}/{y}").collect();
    assert!(reads.iter().any(|e| e["outcome"]["people"] == 7 && e["role"] == "analyst"));
    assert!(reads.iter().any(|e| e["outcome"]["result"] == "forbidden"));
    let record_read = items.iter().find(|e| e["action"] == "GET /api/people/{pid}" && e["params"]["pid"] == **inside);
    assert_eq!(record_read.unwrap()["outcome"]["pids"][0], **inside);
    assert!(!log.to_string().contains("\"E0\""), "no talent id in the audit log");
    // The analyst may not read the log; the chain still verifies.
    assert_eq!(get(&s, "/api/audit", Some(&c.analyst)).await.status, StatusCode::FORBIDDEN);
    talentmap::auth::audit::verify(&Store::open(&c.data).unwrap()).unwrap();
}

#[tokio::test]
async fn the_moves_feed_is_audited() {
    let c = city();
    let s = state(&c.data, AccessSettings::default());
    let batch = r#"{"moves": [{"id": "N1", "talent_id": "W1", "date": "2026-05-03", "event": "leave",
        "from_lon": 117.1, "from_lat": 36.7}]}"#;
    let headers = [("authorization", c.feeder.as_str()), ("content-type", "application/json")];
    let a = send(&s, "POST", "/api/moves", &headers, batch).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json());
    // The same batch again stores nothing and is audited all the same.
    let again = send(&s, "POST", "/api/moves", &headers, batch).await;
    assert_eq!((again.status, again.json()["unchanged"].as_u64()), (StatusCode::OK, Some(1)));
    let bad = send(&s, "POST", "/api/moves", &headers, r#"{"moves": [{"id": "N2"}]}"#).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let log = get(&s, "/api/audit", Some(&c.admin)).await.json();
    let writes: Vec<&Value> =
        log["items"].as_array().unwrap().iter().filter(|e| e["action"] == "POST /api/moves").collect();
    assert_eq!(writes.len(), 3);
    assert_eq!((writes[0]["role"].as_str(), writes[0]["outcome"]["stored"].as_u64()), (Some("feeder"), Some(1)));
    assert_eq!(writes[0]["outcome"]["version"], a.json()["version"]);
    assert_eq!(
        (writes[1]["outcome"]["stored"].as_u64(), writes[1]["outcome"]["unchanged"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(writes[2]["outcome"]["result"], "refused");
    talentmap::auth::audit::verify(&Store::open(&c.data).unwrap()).unwrap();
}
