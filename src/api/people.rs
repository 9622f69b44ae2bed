//! Individuals, for analysts inside their jurisdiction and admins, audited:
//! the `people` tile layer, one person's record and moves, and the audit
//! log itself (`GET /api/audit`, admins).
//!
//! Every answer here names individuals only by pseudonym (`auth::pseudonym`)
//! and is written to the audit log before it is sent; if the entry cannot be
//! written the request fails. Answers are `Cache-Control: private, no-store`.

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use geo::{Intersects, Rect, coord};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::access::{self, Caller};
use super::error::ErrorBody;
use super::query::{ApiQuery, Int, NoParams};
use super::tiles::{MVT_CONTENT_TYPE, parse_tile};
use super::{ApiError, AppState};
use crate::auth::people::{self, Person, PersonMove};
use crate::auth::{Principal, Role, audit};
use crate::encode::clip::point_to_tile;
use crate::encode::mvt::{DEFAULT_EXTENT, LayerBuilder, PropValue, encode_tile};
use crate::snapshot::Snapshot;
use crate::spatial::TileId;

/// Lowest zoom of the people layer (a tile about 1.2 km across).
pub const PEOPLE_MINZOOM: u8 = 15;
/// Highest zoom of the people layer.
pub const PEOPLE_MAXZOOM: u8 = 22;
/// Most people in one tile; a denser tile is cut there (zoom in).
pub const MAX_PEOPLE_PER_TILE: usize = 50_000;

/// `GET /tiles/people/{z}/{x}/{y}.mvt`: one point per person whose home lies
/// in the tile and who is inside the caller's jurisdiction (home or
/// workplace in it). A tile that meets no region of the jurisdiction is
/// `403` before anything is read, even if commuters into the jurisdiction
/// live there: the layer shows the jurisdiction, not the whole city.
#[utoipa::path(get, path = "/tiles/people/{z}/{x}/{y}.mvt", tag = "people",
    params(("z" = u8, Path, description = "Zoom, 15..=22"), ("x" = u32, Path), ("y" = u32, Path), NoParams),
    responses(
        (status = 200, description = "Layer `people`: points at homes with `pid`, `field`, `education`, `title`, \
            `tier`, `age_band`, `seeking`, `employer`. Audited.", content_type = "application/vnd.mapbox-vector-tile"),
        (status = 204, description = "No person of the jurisdiction lives in the tile"),
        (status = 400, description = "`z` below 15 or above 22, or a coordinate out of range", body = ErrorBody),
        (status = 403, description = "The tile lies wholly outside the jurisdiction", body = ErrorBody),
        (status = 503, description = "The server has no data directory", body = ErrorBody),
    ))]
pub async fn people_tile(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(principal): Extension<Principal>,
    Path((z, x, y)): Path<(String, String, String)>,
    ApiQuery(_no_params): ApiQuery<NoParams>,
) -> Result<Response, ApiError> {
    let tile = parse_tile("people", &z, &x, &y)?;
    if !(PEOPLE_MINZOOM..=PEOPLE_MAXZOOM).contains(&tile.z) {
        return Err(ApiError::param(
            "z",
            format!("{} is not accepted; the people layer has zooms {PEOPLE_MINZOOM}..={PEOPLE_MAXZOOM}", tile.z),
        ));
    }
    let snap = state.snapshot();
    let action = "GET /tiles/people/{z}/{x}/{y}";
    let params = json!({"z": tile.z, "x": tile.x, "y": tile.y});
    // Polygon intersection is CPU work: on the compute pool.
    let (s, p) = (snap.clone(), principal.clone());
    if !state.compute.run(move || touches_jurisdiction(&s, &p, tile)).await? {
        access::audit(&caller, action, params, json!({"result": "forbidden"})).await?;
        return Err(ApiError::Forbidden(format!(
            "tile {}/{}/{} lies wholly outside your jurisdiction ({})",
            tile.z,
            tile.x,
            tile.y,
            principal.jurisdiction.iter().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let (west, south, east, north) = tile.lonlat_bounds();
    let found = state
        .auth
        .with_store(move |store| Ok(people::in_bbox(store.conn(), [west, south, east, north], MAX_PEOPLE_PER_TILE)?))
        .await?;
    let year = snap.reference_year;
    let visible: Vec<Person> = found.into_iter().filter(|p| principal.covers_person(&p.regions())).collect();
    let pids: Vec<&str> = visible.iter().map(|p| p.pid.as_str()).collect();
    access::audit(&caller, action, params, json!({"people": visible.len(), "pids": pids})).await?;
    if visible.is_empty() {
        return Ok(access::not_stored(StatusCode::NO_CONTENT.into_response()));
    }
    let bytes = state.compute.run(move || encode_people(&snap, tile, &visible, year)).await?;
    let mut resp = (StatusCode::OK, Body::from(bytes)).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT_CONTENT_TYPE));
    Ok(access::not_stored(resp))
}

/// Whether `tile` meets a region of the principal's jurisdiction (an admin's
/// covers everything).
fn touches_jurisdiction(snap: &Snapshot, principal: &Principal, tile: TileId) -> bool {
    if principal.role == Role::Admin {
        return true;
    }
    let (west, south, east, north) = tile.lonlat_bounds();
    let rect = Rect::new(coord! { x: west, y: south }, coord! { x: east, y: north });
    principal.jurisdiction.iter().filter_map(|id| snap.region(id)).any(|i| {
        let r = &snap.regions[usize::from(i)];
        let [w, s, e, n] = r.bbox;
        w <= east && e >= west && s <= north && n >= south && r.geometry.intersects(&rect)
    })
}

fn employer_name<'a>(snap: &'a Snapshot, person: &Person) -> Option<&'a str> {
    let id = person.enterprise_id.as_deref()?;
    snap.enterprise(id).map(|i| snap.enterprises[i as usize].name.as_str())
}

fn encode_people(snap: &Snapshot, tile: TileId, people: &[Person], year: u16) -> Vec<u8> {
    let mut layer = LayerBuilder::new("people", DEFAULT_EXTENT);
    for p in people {
        let at = point_to_tile(tile, DEFAULT_EXTENT, p.home[0], p.home[1]);
        let band = p.age_band(year);
        let mut props = vec![
            ("pid", PropValue::Str(&p.pid)),
            ("field", PropValue::Str(&p.field)),
            ("education", PropValue::Str(&p.education)),
            ("title", PropValue::Str(&p.title)),
            ("tier", PropValue::Str(&p.tier)),
            ("age_band", PropValue::Str(&band)),
            ("seeking", PropValue::Bool(p.seeking)),
        ];
        if let Some(name) = employer_name(snap, p) {
            props.push(("employer", PropValue::Str(name)));
        }
        layer.add_point(None, &[at], &props);
    }
    encode_tile(&[layer])
}

/// An employer, as a person's record names it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Employer {
    pub id: String,
    pub name: String,
}

/// One move of a person.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonMoveBody {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `arrive`, `leave`, `relocate` or `job_change`.
    pub event: String,
    /// `[lon, lat]`.
    pub from: Option<[f64; 2]>,
    pub to: Option<[f64; 2]>,
    pub to_enterprise_id: Option<String>,
    pub destination: Option<String>,
}

impl From<PersonMove> for PersonMoveBody {
    fn from(m: PersonMove) -> Self {
        PersonMoveBody {
            date: m.date,
            event: m.event,
            from: m.from,
            to: m.to,
            to_enterprise_id: m.to_enterprise_id,
            destination: m.destination,
        }
    }
}

/// One person's record and moves, as an analyst sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonBody {
    /// Pseudonymous id: `p` and 32 hex digits.
    pub pid: String,
    pub field: String,
    pub education: String,
    pub title: String,
    pub tier: String,
    /// Five-year age band, e.g. `25-29`.
    pub age_band: String,
    pub seeking: bool,
    /// In the city now; `false` for someone whose latest move is `leave`
    /// (home, workplace and employer are then the last known).
    pub in_city: bool,
    /// `[lon, lat]` of the home now (the register with the moves applied).
    pub home: [f64; 2],
    /// `[lon, lat]` of the workplace.
    pub work: Option<[f64; 2]>,
    pub employer: Option<Employer>,
    pub home_district: Option<String>,
    pub home_park: Option<String>,
    pub work_district: Option<String>,
    pub work_park: Option<String>,
    /// Oldest first.
    pub moves: Vec<PersonMoveBody>,
    /// Always true: this read is recorded in the audit log.
    pub audited: bool,
}

/// Whether `pid` has the form of a pseudonymous id.
fn is_pid(pid: &str) -> bool {
    pid.len() == 33
        && pid.starts_with('p')
        && pid[1..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `GET /api/people/{pid}`: one person's record and moves.
#[utoipa::path(get, path = "/api/people/{pid}", tag = "people",
    params(("pid" = String, Path, description = "Pseudonymous id: `p` and 32 lowercase hex digits"), NoParams),
    responses(
        (status = 200, description = "The record and moves. Audited.", body = PersonBody),
        (status = 400, description = "`pid` is not a pseudonymous id", body = ErrorBody),
        (status = 403, description = "The person is outside the jurisdiction", body = ErrorBody),
        (status = 404, description = "No person has this id", body = ErrorBody),
        (status = 503, description = "The server has no data directory", body = ErrorBody),
    ))]
pub async fn person(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(principal): Extension<Principal>,
    Path(pid): Path<String>,
    ApiQuery(_no_params): ApiQuery<NoParams>,
) -> Result<Response, ApiError> {
    if !is_pid(&pid) {
        return Err(ApiError::param("pid", "not a pseudonymous id; accepted: 'p' and 32 lowercase hex digits"));
    }
    let action = "GET /api/people/{pid}";
    let params = json!({ "pid": pid });
    let key = pid.clone();
    let found = state
        .auth
        .with_store(move |store| {
            let Some(person) = people::by_pid(store.conn(), &key)? else { return Ok(None) };
            let moves = people::moves_of(store.conn(), &key)?;
            Ok(Some((person, moves)))
        })
        .await?;
    let Some((p, moves)) = found else {
        access::audit(&caller, action, params, json!({"result": "not_found"})).await?;
        return Err(ApiError::NotFound(format!("no person with id '{pid}'")));
    };
    if !principal.covers_person(&p.regions()) {
        access::audit(&caller, action, params, json!({"result": "forbidden"})).await?;
        return Err(ApiError::Forbidden("this person lives and works outside your jurisdiction".into()));
    }
    access::audit(&caller, action, params, json!({"people": 1, "pids": [pid], "moves": moves.len()})).await?;
    let snap = state.snapshot();
    let employer = p
        .enterprise_id
        .as_ref()
        .map(|id| Employer { id: id.clone(), name: employer_name(&snap, &p).unwrap_or_default().to_string() });
    let body = PersonBody {
        age_band: p.age_band(snap.reference_year),
        employer,
        pid: p.pid,
        field: p.field,
        education: p.education,
        title: p.title,
        tier: p.tier,
        seeking: p.seeking,
        in_city: p.here,
        home: p.home,
        work: p.work,
        home_district: p.home_district,
        home_park: p.home_park,
        work_district: p.work_district,
        work_park: p.work_park,
        moves: moves.into_iter().map(PersonMoveBody::from).collect(),
        audited: true,
    };
    Ok(access::not_stored(Json(body).into_response()))
}

/// The parameters of `/api/audit`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Entries at or after this time: RFC 3339 UTC (`2026-12-01T08:00:00Z`)
    /// or a prefix of it (`2026-12-01`).
    pub since: Option<String>,
    /// Entries of one principal: `key:ID`, `user:NAME`, `anonymous` or `cli:NAME`.
    pub principal: Option<String>,
    /// Most entries to return: 1..=1000, default 100.
    #[param(inline)]
    pub limit: Option<Int<1, 1000>>,
}

/// An audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditItem {
    pub seq: u64,
    /// RFC 3339 UTC.
    pub time: String,
    pub principal: String,
    pub role: String,
    /// The route or command.
    pub action: String,
    /// What was asked (JSON).
    pub params: serde_json::Value,
    /// What was returned (JSON: counts, pseudonymous ids).
    pub outcome: serde_json::Value,
    pub client: String,
    pub prev_hash: String,
    pub hash: String,
}

/// `GET /api/audit`'s answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditItem>,
}

fn check_since(since: &str) -> Result<(), ApiError> {
    const PATTERN: &[u8] = b"0000-00-00T00:00:00Z";
    let ok = !since.is_empty()
        && since.len() <= PATTERN.len()
        && since.bytes().zip(PATTERN).all(|(b, &p)| if p == b'0' { b.is_ascii_digit() } else { b == p });
    if ok {
        Ok(())
    } else {
        Err(ApiError::param(
            "since",
            format!(
                "'{since}' is not accepted; accepted: an RFC 3339 UTC time such as 2026-12-01T08:00:00Z or a prefix of it"
            ),
        ))
    }
}

/// `GET /api/audit?since=…&principal=…&limit=…`: the audit log, oldest
/// first. Reading it is itself audited.
#[utoipa::path(get, path = "/api/audit", tag = "people", params(AuditParams),
    responses(
        (status = 200, description = "Entries in order", body = AuditList),
        (status = 400, description = "A parameter is unknown, repeated or invalid", body = ErrorBody),
        (status = 503, description = "The server has no data directory", body = ErrorBody),
    ))]
pub async fn audit_log(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(q): ApiQuery<AuditParams>,
) -> Result<Response, ApiError> {
    if let Some(since) = &q.since {
        check_since(since)?;
    }
    if let Some(p) = &q.principal
        && (p.is_empty() || p.len() > 200 || p.chars().any(char::is_control))
    {
        return Err(ApiError::param("principal", "accepted: key:ID, user:NAME, anonymous or cli:NAME"));
    }
    let limit = q.limit.map_or(100, |l| l.get() as usize);
    let params = json!({"since": q.since, "principal": q.principal, "limit": limit});
    let (since, principal) = (q.since.clone(), q.principal.clone());
    let entries =
        state.auth.with_store(move |store| audit::list(store, since.as_deref(), principal.as_deref(), limit)).await?;
    access::audit(&caller, "GET /api/audit", params, json!({"entries": entries.len()})).await?;
    let parse = |text: &str| serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.into()));
    let items = entries
        .into_iter()
        .map(|e| AuditItem {
            params: parse(&e.params),
            outcome: parse(&e.outcome),
            seq: e.seq,
            time: e.time,
            principal: e.principal,
            role: e.role,
            action: e.action,
            client: e.client,
            prev_hash: e.prev_hash,
            hash: e.hash,
        })
        .collect();
    Ok(access::not_stored(Json(AuditList { items }).into_response()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonymous_ids_and_times_are_checked() {
        assert!(is_pid(&format!("p{}", "0a".repeat(16))));
        assert!(!is_pid(&format!("p{}", "0A".repeat(16))));
        assert!(!is_pid("p123"));
        assert!(!is_pid(&format!("T{}", "0".repeat(32))));
        for ok in ["2026", "2026-12-01", "2026-12-01T08:00:00Z"] {
            assert!(check_since(ok).is_ok(), "{ok}");
        }
        for bad in ["", "x", "2026-12-01 08", "2026-12-01T08:00:00+08:00", "'; drop"] {
            assert!(check_since(bad).is_err(), "{bad}");
        }
    }
}
