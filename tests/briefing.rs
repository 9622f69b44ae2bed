//! The monthly briefing on a city with planted findings: each ranks first
//! in its kind, the headline numbers follow the moves, links open the view
//! that shows the finding, and the public gets perturbed counts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use http_body_util::BodyExt;
use serde_json::Value;
use talentmap::api::{AppState, Settings, router};
use talentmap::auth::Role;
use talentmap::import::ImportKind;
use talentmap::model::Taxonomy;
use talentmap::snapshot;
use tower::ServiceExt;

/// GET returning status, content type and body bytes.
async fn get_bytes(state: &AppState, uri: &str, auth: Option<&str>) -> (StatusCode, String, Vec<u8>) {
    let mut req = Request::get(uri);
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    let resp = router(state.clone()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ct, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

async fn get(state: &AppState, uri: &str, auth: Option<&str>) -> (StatusCode, Value) {
    let mut req = Request::get(uri);
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    let resp = router(state.clone()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The tiny city with:
/// - shortage: 2,000 openings of field 1007 at E2 in D2, where 20 job
///   seekers of 1007 live, against 200 seekers of 1007 in D1;
/// - hiring difficulty: those openings posted in January, still open;
/// - 60 young people working in the park P1 and living 30 km away in D2;
/// - loss: 3 departures a month from D1 and from D2 for two years, then 50
///   more from D1 in October 2026.
fn planted(dir: &std::path::Path) -> (AppState, String) {
    let mut store = tiny_city(dir, 0);
    let mut t = String::from(
        "id,home_lon,home_lat,work_lon,work_lat,enterprise_id,field,education,title,tier,birth_year,seeking\n",
    );
    for i in 0..400 {
        t.push_str(&format!("A{i},117.10,36.70,117.10,36.70,E3,0812,bachelor,none,none,1990,false\n"));
    }
    for i in 0..20 {
        t.push_str(&format!("S{i},117.30,36.70,,,,1007,master,none,none,1996,true\n"));
    }
    for i in 0..60 {
        t.push_str(&format!("W{i},117.35,36.75,117.01,36.61,E1,0812,bachelor,none,none,1998,false\n"));
    }
    for i in 0..200 {
        t.push_str(&format!("C{i},117.12,36.72,,,,1007,master,none,none,1996,true\n"));
    }
    import(&mut store, ImportKind::Talents, &write(dir, "talents.csv", &t)).unwrap();
    let v = "id,enterprise_id,field,education,title,openings,posted,filled\nH1,E2,1007,master,none,2000,2026-01-10,\n";
    import(&mut store, ImportKind::Vacancies, &write(dir, "more-vacancies.csv", v)).unwrap();
    let mut m = String::from("id,talent_id,date,event,from_lon,from_lat,to_lon,to_lat,to_enterprise_id,destination\n");
    let mut talent = 0;
    let mut leave = |m: &mut String, month: u32, from: (f64, f64)| {
        m.push_str(&format!(
            "L{talent},A{talent},{:04}-{:02}-15,leave,{},{},,,,上海\n",
            month / 12,
            month % 12 + 1,
            from.0,
            from.1
        ));
        talent += 1;
    };
    let (first, last) = (2024 * 12 + 10, 2026 * 12 + 9); // 2024-11 ..= 2026-10
    for month in first..=last {
        for _ in 0..3 {
            leave(&mut m, month, (117.10, 36.70));
            leave(&mut m, month, (117.30, 36.70));
        }
    }
    for _ in 0..50 {
        leave(&mut m, last, (117.10, 36.70));
    }
    import(&mut store, ImportKind::Moves, &write(dir, "moves.csv", &m)).unwrap();
    let snap = snapshot::build(&mut store, Arc::new(Taxonomy::builtin())).unwrap();
    let admin = bearer(&store, Role::Admin, &[]);
    (AppState::new(snap, Some(dir.join("data")), Settings::default()), admin)
}

fn first_of<'a>(v: &'a Value, kind: &str) -> &'a Value {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["kind"] == kind && it["rank"] == 1)
        .unwrap_or_else(|| panic!("no {kind} finding in {v:#}"))
}

#[tokio::test]
async fn planted_findings_rank_first_in_their_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let (state, admin) = planted(dir.path());
    let (status, v) = get(&state, "/api/briefing", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!((v["month"].as_str(), v["exact_counts"].as_bool()), (Some("2026-10"), Some(true)));

    let shortage = first_of(&v, "shortage");
    assert_eq!((shortage["area_id"].as_str(), shortage["numbers"]["field"].as_str()), (Some("D2"), Some("1007")));
    assert!(shortage["link"].as_str().unwrap().contains("view=shortage&sfield=1007&sby=district"));
    let hiring = first_of(&v, "hiring_difficulty");
    assert_eq!((hiring["area_id"].as_str(), hiring["numbers"]["field"].as_str()), (Some("D2"), Some("1007")));
    assert_eq!(hiring["numbers"]["share_open_long"], 1.0);
    let loss = first_of(&v, "loss_alert");
    assert_eq!(loss["area_id"], "D1");
    assert!(loss["link"].as_str().unwrap().contains("view=flows&farea=D1&month=2026-10"), "{loss}");
    // Everyone who left worked at E3 (division 66): that industry lost 56, D1 53.
    let outflow = first_of(&v, "outflow");
    assert_eq!((outflow["area_id"].as_str(), outflow["numbers"]["net"].as_i64()), (Some("66"), Some(-56)));
    assert_eq!(outflow["numbers"]["by"], "industry");
    let area = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["kind"] == "outflow" && it["numbers"]["by"] == "area")
        .unwrap();
    assert_eq!(
        (area["area_id"].as_str(), area["numbers"]["net"].as_i64(), area["rank"].as_u64()),
        (Some("D1"), Some(-53), Some(2))
    );
    assert_eq!(first_of(&v, "underserved")["area_id"], "P1");
    for it in v["items"].as_array().unwrap() {
        assert!(it["link"].as_str().unwrap().starts_with("#map="), "{it}");
        assert!(!it["title"].as_str().unwrap().is_empty() && !it["detail"].as_str().unwrap().is_empty());
    }
    // Ranks run 1, 2, … within each kind.
    for kind in ["shortage", "underserved", "loss_alert", "inflow", "outflow", "hiring_difficulty"] {
        let ranks: Vec<u64> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|it| it["kind"] == kind)
            .map(|it| it["rank"].as_u64().unwrap())
            .collect();
        assert_eq!(ranks, (1..=ranks.len() as u64).collect::<Vec<_>>(), "{kind}");
    }

    // Headline: 56 left in October against 6 a month before.
    let h = &v["headline"];
    assert_eq!((h["net_flow"]["value"].as_f64(), h["net_flow"]["change_month"].as_f64()), (Some(-56.0), Some(-50.0)));
    assert_eq!(h["talents"]["change_month"].as_f64(), Some(-56.0));
    assert_eq!(h["talents"]["change_year"].as_f64(), Some(-56.0 - 11.0 * 6.0));
    assert_eq!(h["openings"]["value"].as_f64(), Some(2007.0), "V1 5 + V3 2 + H1 2,000 open at the end of October");
    assert!(h["seekers"]["change_month"].is_null());

    // An earlier month: no alert then, the spike is not yet there.
    let (_, sept) = get(&state, "/api/briefing?month=2026-09", Some(&admin)).await;
    assert!(sept["items"].as_array().unwrap().iter().all(|it| it["kind"] != "loss_alert"), "{sept:#}");
    assert_eq!(sept["headline"]["net_flow"]["value"].as_f64(), Some(-6.0));

    // In English; for the public with perturbed counts; bad parameters named.
    let (_, en) = get(&state, "/api/briefing?lang=en&per_kind=1", Some(&admin)).await;
    assert!(first_of(&en, "shortage")["title"].as_str().unwrap().contains("short of"), "{en:#}");
    // One finding per kind; inflow and outflow list one area and one industry each.
    for it in en["items"].as_array().unwrap() {
        let most = if it["kind"] == "inflow" || it["kind"] == "outflow" { 2 } else { 1 };
        assert!(it["rank"].as_u64().unwrap() <= most, "{it}");
    }
    let (status, public) = get(&state, "/api/briefing", None).await;
    assert_eq!((status, public["exact_counts"].as_bool()), (StatusCode::OK, Some(false)));
    let departures = first_of(&public, "loss_alert")["numbers"]["departures"].as_u64().unwrap();
    assert!(departures >= 5, "published departures are never in 1..k-1: {departures}");
    for (uri, name) in [
        ("/api/briefing?month=2026-13", "month"),
        ("/api/briefing?month=2026-11", "month"),
        ("/api/briefing?month=1999-01", "month"),
        ("/api/briefing?lang=fr", "lang"),
        ("/api/briefing?per_kind=0", "per_kind"),
    ] {
        let (status, e) = get(&state, uri, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(e["error"]["parameter"], name, "{uri}: {e}");
    }
}

#[tokio::test]
async fn the_monthly_brief_as_a_workbook_reads_back_with_an_independent_reader() {
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    let dir = tempfile::tempdir().unwrap();
    let (state, admin) = planted(dir.path());
    let (_, json) = get(&state, "/api/briefing", Some(&admin)).await;
    let (status, ct, bytes) = get_bytes(&state, "/api/briefing?format=xlsx", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), ["概览", "发现", "规则"]);
    let head = book.worksheet_range("概览").unwrap();
    let talents = head.rows().find(|r| r[0] == Data::String("talents".into())).unwrap();
    assert_eq!(talents[2], Data::Float(json["headline"]["talents"]["value"].as_f64().unwrap()));
    assert_eq!(talents[4], Data::Float(-56.0), "change against the previous month");
    let findings = book.worksheet_range("发现").unwrap();
    let items = json["items"].as_array().unwrap();
    assert_eq!(findings.rows().count(), items.len() + 1, "a header and a row per finding");
    let first = findings.rows().nth(1).unwrap();
    assert_eq!(first[0], Data::String(items[0]["kind"].as_str().unwrap().into()));
    assert_eq!(first[4], Data::String(items[0]["title"].as_str().unwrap().into()));
    // An export: the public signs in first; English sheets on request.
    let (status, _, _) = get_bytes(&state, "/api/briefing?format=xlsx", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, _, en) = get_bytes(&state, "/api/briefing?format=xlsx&lang=en", Some(&admin)).await;
    let book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(en)).unwrap();
    assert_eq!(book.sheet_names(), ["Headline", "Findings", "Rules"]);
}
