//! Jurisdictions name real places: the check that an analyst's areas are
//! district or park ids in the store, and that no other role has any.

use std::collections::BTreeSet;

use crate::store::db::{Connection, OptionalExtension, params};

use super::{AuthError, Role};

/// Region kinds a jurisdiction may name.
const AREA_KINDS: [&str; 2] = ["district", "park"];

/// Checks `areas` for a credential of `role` and returns them as a set.
///
/// An analyst needs at least one area and every area must be the id of a
/// district or park in the store; every other role takes none (an admin sees
/// everything, the others see no individuals anywhere).
pub fn validate(conn: &Connection, role: Role, areas: &[String]) -> Result<BTreeSet<String>, AuthError> {
    if !role.has_jurisdiction() {
        return if areas.is_empty() { Ok(BTreeSet::new()) } else { Err(AuthError::AreaNotAllowed { role }) };
    }
    if areas.is_empty() {
        return Err(AuthError::AreaRequired { role });
    }
    let mut stmt = conn.prepare("SELECT kind FROM regions WHERE id = ?1")?;
    for id in areas {
        let kind: Option<String> = stmt.query_row(params![id], |r| r.get(0)).optional()?;
        if !kind.is_some_and(|k| AREA_KINDS.contains(&k.as_str())) {
            return Err(AuthError::UnknownArea { id: id.clone(), known: known_areas(conn)? });
        }
    }
    Ok(areas.iter().cloned().collect())
}

/// The first district and park ids of the store, for error messages.
fn known_areas(conn: &Connection) -> Result<String, AuthError> {
    const SHOWN: usize = 20;
    let mut stmt =
        conn.prepare("SELECT id FROM regions WHERE kind IN ('district', 'park') ORDER BY kind, id LIMIT ?1")?;
    let ids: Vec<String> = stmt.query_map(params![SHOWN as i64 + 1], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(match ids.len() {
        0 => "the store has none yet: import regions first".to_string(),
        n if n > SHOWN => format!("{}, …", ids[..SHOWN].join(", ")),
        _ => ids.join(", "),
    })
}

/// Areas as stored: a JSON array of ids.
pub(crate) fn encode(areas: &BTreeSet<String>) -> String {
    serde_json::to_string(areas).unwrap_or_else(|_| "[]".to_string())
}

/// Areas from their stored JSON text.
pub(crate) fn decode(text: &str) -> Result<BTreeSet<String>, AuthError> {
    serde_json::from_str(text).map_err(|e| AuthError::Corrupt { what: "areas", message: e.to_string() })
}
