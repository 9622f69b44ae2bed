//! Study areas in the store (`study_areas`, schema 7). Writes here are not
//! data: they never bump the data version, so no snapshot is rebuilt and no
//! cached tile goes stale.

use crate::store::db::{Connection, OptionalExtension, params};

use super::{Drawn, Shape, ShapeKind, StudyArea};
use crate::auth::AuthError;

/// Most study areas one principal may keep.
pub const MAX_PER_OWNER: usize = 500;

/// A new unguessable id: `sa_` and 128 random bits in hex.
fn new_id() -> Result<String, AuthError> {
    let mut buf = [0u8; 16];
    getrandom::fill(&mut buf).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(format!("sa_{}", buf.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

/// Whether `id` has the form of a study-area id (so a district id is never
/// looked up here).
pub fn is_area_id(id: &str) -> bool {
    id.len() == 35 && id.starts_with("sa_") && id[3..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Keeps `shape` for `owner` at `now` (RFC 3339); `None` when the owner
/// already keeps [`MAX_PER_OWNER`].
pub fn insert(conn: &Connection, owner: &str, shape: Shape, now: &str) -> Result<Option<StudyArea>, AuthError> {
    let kept: i64 =
        conn.query_row("SELECT count(*) FROM study_areas WHERE owner = ?1", params![owner], |r| r.get(0))?;
    if kept as usize >= MAX_PER_OWNER {
        return Ok(None);
    }
    let area = StudyArea { id: new_id()?, owner: owner.to_string(), shape, created: now.to_string() };
    let geometry = crate::areas::geometry_of(&area.shape.geometry).to_string();
    let drawn = area.shape.drawn.as_ref().and_then(|d| serde_json::to_string(d).ok());
    conn.execute(
        "INSERT INTO study_areas(id, owner, name, kind, geometry, drawn, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![area.id, area.owner, area.shape.name, area.shape.kind.code(), geometry, drawn, area.created],
    )?;
    Ok(Some(area))
}

type Row = (String, String, String, String, String, Option<String>, String);

fn decode(row: Row) -> Result<StudyArea, AuthError> {
    let (id, owner, name, kind, geometry, drawn, created) = row;
    let corrupt = |message: String| AuthError::Corrupt { what: "study area", message: format!("{id}: {message}") };
    let kind = ShapeKind::from_code(&kind).ok_or_else(|| corrupt(format!("unknown kind '{kind}'")))?;
    let g: geojson::Geometry = geometry.parse().map_err(|e: geojson::Error| corrupt(e.to_string()))?;
    let geometry: geo::MultiPolygon<f64> = g.try_into().map_err(|e: geojson::Error| corrupt(e.to_string()))?;
    let drawn: Option<Drawn> =
        drawn.map(|d| serde_json::from_str(&d)).transpose().map_err(|e| corrupt(e.to_string()))?;
    Ok(StudyArea { id, owner, shape: Shape { name, kind, geometry, drawn }, created })
}

const COLUMNS: &str = "id, owner, name, kind, geometry, drawn, created";

fn read(r: &crate::store::db::Row<'_>) -> crate::store::db::Result<Row> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
}

/// The study area `id`, whoever made it.
pub fn get(conn: &Connection, id: &str) -> Result<Option<StudyArea>, AuthError> {
    let row =
        conn.query_row(&format!("SELECT {COLUMNS} FROM study_areas WHERE id = ?1"), params![id], read).optional()?;
    row.map(decode).transpose()
}

/// The study areas `owner` keeps, newest first.
pub fn list(conn: &Connection, owner: &str) -> Result<Vec<StudyArea>, AuthError> {
    let mut stmt =
        conn.prepare(&format!("SELECT {COLUMNS} FROM study_areas WHERE owner = ?1 ORDER BY created DESC, id"))?;
    let rows = stmt.query_map(params![owner], read)?.collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(decode).collect()
}

/// Deletes the study area `id`; whether there was one.
pub fn delete(conn: &Connection, id: &str) -> Result<bool, AuthError> {
    Ok(conn.execute("DELETE FROM study_areas WHERE id = ?1", params![id])? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_one_form() {
        let id = new_id().unwrap_or_default();
        assert!(is_area_id(&id), "{id}");
        assert!(!is_area_id("370102"));
        assert!(!is_area_id("sa_0123"));
        assert!(!is_area_id(&id.to_uppercase()));
    }
}
