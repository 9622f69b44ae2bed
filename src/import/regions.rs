//! Region import (GeoJSON FeatureCollection of Polygon/MultiPolygon) and
//! the region assignment of every located record.
//!
//! Region files are small (thousands of polygons at most), so the file is
//! parsed whole; errors name the feature by index and JSON path. After the
//! regions change, every enterprise, talent, station and move is assigned its
//! district and park again inside the same transaction.

use crate::store::db::{Connection, params};
use geo::MultiPolygon;

use crate::model::{LonLat, RegionKind, validate_id};
use crate::spatial::MAX_LATITUDE;
use crate::spatial::RegionLookup;

use super::Outcome;
use super::error::{ImportError, RowError};
use super::kinds::Regions;

/// One validated region feature.
struct RegionFeature {
    id: String,
    name: String,
    /// English name (`properties.name_en`), empty when absent.
    name_en: String,
    kind: RegionKind,
    geometry: geojson::Geometry,
}

pub(super) fn import_regions(conn: &Connection, bytes: &[u8], file: &str, batch: u64) -> Result<Outcome, ImportError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_and_column(&bytes[..e.valid_up_to()]);
        ImportError::Invalid {
            file: file.to_string(),
            errors: vec![RowError {
                file: file.to_string(),
                line,
                column,
                field: "document".into(),
                value: String::new(),
                message: "not valid UTF-8: the file must be UTF-8 encoded".into(),
            }],
            total: 1,
        }
    })?;
    let features = parse_regions(text, file)?;
    if features.is_empty() {
        // No features: nothing changes (every record would lose its region).
        return Ok(Outcome::default());
    }
    let mut stmt = conn.prepare(
        "INSERT INTO regions(id, name, name_en, kind, geometry, batch) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, name_en = excluded.name_en, kind = excluded.kind,
             geometry = excluded.geometry, batch = excluded.batch
         WHERE regions.batch <> excluded.batch",
    )?;
    let mut errors = Vec::new();
    for (i, f) in features.iter().enumerate() {
        let geometry = serde_json::to_string(&f.geometry).unwrap_or_default();
        if stmt.execute(params![f.id, f.name, f.name_en, f.kind.code(), geometry, batch as i64])? == 0 {
            errors.push(feature_error(
                file,
                i,
                "properties.id",
                &f.id,
                "duplicate id: an earlier feature of this file has the same id",
            ));
        }
    }
    if !errors.is_empty() {
        let total = errors.len() as u64;
        return Err(ImportError::Invalid { file: file.to_string(), errors, total });
    }
    let unassigned = reassign_all(conn)?;
    Ok(Outcome { rows: features.len() as u64, unassigned, ..Outcome::default() })
}

/// serde_json counts lines by `\n` only and columns in bytes: turns its
/// position into the physical line and the column in characters.
fn physical_position(text: &str, line: usize, column: usize) -> (u64, usize) {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => break,
        }
    }
    let mut offset = (start + column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    line_and_column(&text.as_bytes()[..offset])
}

/// 1-based line and column (in characters) just after `before`, counting
/// `\n`, `\r\n` and a lone `\r` as line ends.
fn line_and_column(before: &[u8]) -> (u64, usize) {
    let text = String::from_utf8_lossy(before);
    let mut line = 1u64;
    let mut column = 1usize;
    let mut after_cr = false;
    for c in text.chars() {
        match c {
            '\r' => {
                line += 1;
                column = 1;
            }
            '\n' if after_cr => {}
            '\n' => {
                line += 1;
                column = 1;
            }
            _ => column += 1,
        }
        after_cr = c == '\r';
    }
    (line, column)
}

fn feature_error(file: &str, index: usize, path: &str, value: &str, message: &str) -> RowError {
    RowError {
        file: file.to_string(),
        line: 0,
        column: 0,
        field: format!("features[{index}].{path}"),
        value: value.to_string(),
        message: message.to_string(),
    }
}

fn parse_regions(text: &str, file: &str) -> Result<Vec<RegionFeature>, ImportError> {
    let invalid = |line: u64, column: usize, message: String| ImportError::Invalid {
        file: file.to_string(),
        errors: vec![RowError {
            file: file.to_string(),
            line,
            column,
            field: "document".into(),
            value: String::new(),
            message,
        }],
        total: 1,
    };
    let text = text.trim_start_matches('\u{feff}');
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        let (line, column) = physical_position(text, e.line(), e.column());
        invalid(line, column, format!("not valid JSON: {e}"))
    })?;
    let fc = serde_json::from_value::<geojson::FeatureCollection>(json)
        .map_err(|e| invalid(0, 0, format!("expected a GeoJSON FeatureCollection: {e}")))?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, feature) in fc.features.into_iter().enumerate() {
        let mut fail =
            |path: &str, value: &str, message: &str| errors.push(feature_error(file, i, path, value, message));
        let prop_str = |key: &str| feature.properties.as_ref().and_then(|p| p.get(key)).and_then(json_text);
        let id = prop_str("id").or_else(|| {
            feature.id.as_ref().map(|id| match id {
                geojson::feature::Id::String(s) => s.clone(),
                geojson::feature::Id::Number(n) => n.to_string(),
            })
        });
        let Some(id) = id else {
            fail("properties.id", "", "a region needs an id (properties.id or the Feature id)");
            continue;
        };
        if let Err(e) = validate_id(&id) {
            fail("properties.id", &id, &e);
        }
        let name = prop_str("name").unwrap_or_default();
        if name.trim().is_empty() || name.chars().count() > 200 {
            fail("properties.name", &name, "a region needs a name of 1-200 characters");
        }
        let name_en = prop_str("name_en").unwrap_or_default();
        if name_en.chars().count() > 200 || name_en.chars().any(char::is_control) {
            fail(
                "properties.name_en",
                &name_en,
                "an English name has at most 200 characters and no control characters",
            );
        }
        let kind = match prop_str("kind") {
            None => RegionKind::District,
            Some(k) => match k.parse::<RegionKind>() {
                Ok(kind) => kind,
                Err(e) => {
                    fail("properties.kind", &k, &format!("accepted values: {}", e.accepted));
                    continue;
                }
            },
        };
        let Some(geometry) = feature.geometry else {
            fail("geometry", "null", "a region needs a Polygon or MultiPolygon geometry");
            continue;
        };
        if let Err(message) = check_geometry(&geometry) {
            fail("geometry", "", &message);
            continue;
        }
        out.push(RegionFeature { id, name, name_en: name_en.trim().to_string(), kind, geometry });
    }
    if !errors.is_empty() {
        let total = errors.len() as u64;
        return Err(ImportError::Invalid { file: file.to_string(), errors, total });
    }
    Ok(out)
}

fn json_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn check_geometry(g: &geojson::Geometry) -> Result<(), String> {
    use geojson::GeometryValue as V;
    let polygons: Vec<&Vec<Vec<geojson::Position>>> = match &g.value {
        V::Polygon { coordinates } => vec![coordinates],
        V::MultiPolygon { coordinates } => coordinates.iter().collect(),
        _ => return Err("only Polygon and MultiPolygon are accepted".into()),
    };
    if polygons.is_empty() {
        return Err("the MultiPolygon has no polygons".into());
    }
    for (p, rings) in polygons.iter().enumerate() {
        if rings.is_empty() {
            return Err(format!("polygon {p} has no rings"));
        }
        for (r, ring) in rings.iter().enumerate() {
            if ring.len() < 4 {
                return Err(format!("polygon {p} ring {r} has {} positions; a ring needs at least 4", ring.len()));
            }
            if ring.first() != ring.last() {
                return Err(format!("polygon {p} ring {r} is not closed (first and last positions differ)"));
            }
            for (k, pos) in ring.iter().enumerate() {
                let (Some(&lon), Some(&lat)) = (pos.as_slice().first(), pos.as_slice().get(1)) else {
                    return Err(format!("polygon {p} ring {r} position {k} needs two coordinates"));
                };
                if !LonLat::new(lon, lat).is_valid() {
                    return Err(format!(
                        "polygon {p} ring {r} position {k} ({lon}, {lat}) is outside lon [-180, 180], lat [-{max}, {max}]",
                        max = MAX_LATITUDE
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Converts stored GeoJSON geometry text to a MultiPolygon.
pub fn to_multipolygon(text: &str) -> Option<MultiPolygon<f64>> {
    let g: geojson::Geometry = serde_json::from_str(text).ok()?;
    match geo::Geometry::<f64>::try_from(g).ok()? {
        geo::Geometry::Polygon(p) => Some(MultiPolygon::new(vec![p])),
        geo::Geometry::MultiPolygon(m) => Some(m),
        _ => None,
    }
}

/// Loads the regions of the store (in id order) into a lookup.
pub fn load(conn: &Connection) -> Result<Regions, ImportError> {
    let mut stmt = conn.prepare("SELECT id, kind, geometry FROM regions ORDER BY id")?;
    let mut ids = Vec::new();
    let mut shapes = Vec::new();
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let kind = r.get::<_, String>(1)?.parse::<RegionKind>().unwrap_or(RegionKind::District);
        let Some(mp) = to_multipolygon(&r.get::<_, String>(2)?) else { continue };
        ids.push(id);
        shapes.push((kind, mp));
    }
    Ok(Regions { ids, lookup: RegionLookup::new(&shapes) })
}

/// Assigns district and park to every located record again. Returns the
/// number of points (moves aside) that lie outside every region.
fn reassign_all(conn: &Connection) -> Result<u64, ImportError> {
    let regions = load(conn)?;
    let point_tables: [(&str, &str, &str, &str, &str); 4] = [
        ("enterprises", "lon", "lat", "district_id", "park_id"),
        ("stations", "lon", "lat", "district_id", "park_id"),
        ("talents", "home_lon", "home_lat", "home_district", "home_park"),
        ("talents", "work_lon", "work_lat", "work_district", "work_park"),
    ];
    let mut outside = 0;
    for (table, lon, lat, district, park) in point_tables {
        outside += reassign(conn, &regions, table, lon, lat, Some(district), Some(park))?;
    }
    reassign(conn, &regions, "moves", "from_lon", "from_lat", Some("from_district"), None)?;
    reassign(conn, &regions, "moves", "to_lon", "to_lat", Some("to_district"), None)?;
    Ok(outside)
}

fn reassign(
    conn: &Connection,
    regions: &Regions,
    table: &str,
    lon: &str,
    lat: &str,
    district: Option<&str>,
    park: Option<&str>,
) -> Result<u64, ImportError> {
    let mut select = conn.prepare(&format!("SELECT id, {lon}, {lat} FROM {table}"))?;
    let columns: Vec<&str> = [district, park].into_iter().flatten().collect();
    let mut update = conn.bulk_update(table, "id", &columns)?;
    let mut rows = select.query([])?;
    let mut outside = 0;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let (x, y): (Option<f64>, Option<f64>) = (r.get(1)?, r.get(2)?);
        let (dist, prk) = match (x, y) {
            (Some(x), Some(y)) => {
                let p = LonLat::new(x, y);
                outside += u64::from(regions.outside(p));
                regions.assign(p)
            }
            _ => (None, None),
        };
        match (district.is_some(), park.is_some()) {
            (true, true) => update.execute(params![id, dist, prk])?,
            (true, false) => update.execute(params![id, dist])?,
            (false, true) => update.execute(params![id, prk])?,
            (false, false) => 0,
        };
    }
    drop(rows);
    update.finish()?;
    Ok(outside)
}
