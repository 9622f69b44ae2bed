//! API keys for machines and scripts (the moves feed, exports, monitoring).
//!
//! A key reads `tm_<id>_<secret>`: a 64-bit public id that finds the row and
//! a 256-bit secret from the operating system's random number generator.
//! The store keeps only the SHA-256 of the secret; the whole key is shown
//! once, when it is created, and never written to the store or a log line.
//! A revoked key stays listed (who had access when) but no longer verifies.

use std::collections::BTreeSet;

use crate::store::db::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;

use super::audit::{self, Actor};
use super::secret::{new_token, secret_matches, split_token};
use super::{AuthError, Principal, PrincipalKind, Role, areas, now, rfc3339};
use crate::store::Store;

/// The prefix of every API key.
pub const KEY_PREFIX: &str = "tm";
/// The longest key name accepted.
pub const MAX_NAME_CHARS: usize = 100;

/// A key as listed: everything but the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub areas: BTreeSet<String>,
    /// RFC 3339 UTC.
    pub created: String,
    /// RFC 3339 UTC, when revoked.
    pub revoked: Option<String>,
}

/// A key just created: its listing and the key itself, to show once.
#[derive(Debug)]
pub struct NewKey {
    pub info: KeyInfo,
    /// `tm_<id>_<secret>`. Not stored anywhere; do not log it.
    pub key: String,
}

/// Creates a key for `role` (analysts need `areas`, see
/// [`areas::validate`]) and records the creation in the audit log.
pub fn create(store: &Store, role: Role, areas: &[String], name: &str, actor: &Actor) -> Result<NewKey, AuthError> {
    check_name(name)?;
    if role == Role::Public {
        // Public is the role of callers without credentials.
        return Err(AuthError::RoleNotAllowed {
            role,
            what: "an API key",
            accepted: "recruiter, analyst, feeder, admin",
        });
    }
    let tx = Transaction::new_unchecked(store.conn(), TransactionBehavior::ImmediateAccess)?;
    let areas = areas::validate(&tx, role, areas)?;
    let (id, key, hash) = new_token(KEY_PREFIX)?;
    let now = now();
    let info = KeyInfo { id, name: name.to_string(), role, areas, created: rfc3339(now), revoked: None };
    tx.execute(
        "INSERT INTO auth_keys(id, name, role, areas, secret_hash, created, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)",
        params![info.id, info.name, role.as_str(), areas::encode(&info.areas), hash, info.created],
    )?;
    let params = serde_json::json!({"id": info.id, "name": info.name, "role": role, "areas": info.areas});
    audit::append_in(&tx, actor, "keys create", &params, &serde_json::json!({"created": 1}), now)?;
    tx.commit()?;
    Ok(NewKey { info, key })
}

/// Every key, oldest first, without secrets.
pub fn list(store: &Store) -> Result<Vec<KeyInfo>, AuthError> {
    let mut stmt =
        store.conn().prepare("SELECT id, name, role, areas, created, revoked FROM auth_keys ORDER BY created, id")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get(4)?, r.get(5)?))
    })?;
    let mut keys = Vec::new();
    for row in rows {
        let (id, name, role, areas, created, revoked) = row?;
        keys.push(KeyInfo { id, name, role: parse_role(&role)?, areas: areas::decode(&areas)?, created, revoked });
    }
    Ok(keys)
}

/// Revokes key `id` (it stops verifying at once) and audits the change.
pub fn revoke(store: &Store, id: &str, actor: &Actor) -> Result<(), AuthError> {
    let tx = Transaction::new_unchecked(store.conn(), TransactionBehavior::ImmediateAccess)?;
    let revoked: Option<Option<String>> =
        tx.query_row("SELECT revoked FROM auth_keys WHERE id = ?1", params![id], |r| r.get(0)).optional()?;
    match revoked {
        None => return Err(AuthError::NoSuchKey(id.to_string())),
        Some(Some(_)) => return Err(AuthError::AlreadyRevoked(id.to_string())),
        Some(None) => {}
    }
    let now = now();
    tx.execute("UPDATE auth_keys SET revoked = ?2 WHERE id = ?1", params![id, rfc3339(now)])?;
    audit::append_in(
        &tx,
        actor,
        "keys revoke",
        &serde_json::json!({"id": id}),
        &serde_json::json!({"revoked": 1}),
        now,
    )?;
    tx.commit()?;
    Ok(())
}

/// The principal a presented key (`tm_<id>_<secret>`, e.g. from
/// `Authorization: Bearer …`) stands for; `None` when it is malformed,
/// unknown, revoked or its secret is wrong — the caller answers all of
/// these alike (401), so the answer tells nothing about which ids exist.
pub fn verify_key(store: &Store, presented: &str) -> Result<Option<Principal>, AuthError> {
    verify_key_in(store.conn(), presented.trim())
}

fn verify_key_in(conn: &Connection, presented: &str) -> Result<Option<Principal>, AuthError> {
    let Some((id, secret)) = split_token(KEY_PREFIX, presented) else {
        return Ok(None);
    };
    let row: Option<(String, String, String, Option<String>)> = conn
        .query_row("SELECT role, areas, secret_hash, revoked FROM auth_keys WHERE id = ?1", params![id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((role, areas, hash, revoked)) = row else {
        return Ok(None);
    };
    if !secret_matches(secret, &hash) || revoked.is_some() {
        return Ok(None);
    }
    Ok(Some(Principal {
        kind: PrincipalKind::Key(id.to_string()),
        role: parse_role(&role)?,
        jurisdiction: areas::decode(&areas)?,
    }))
}

pub(crate) fn parse_role(s: &str) -> Result<Role, AuthError> {
    s.parse().map_err(|e: super::ParseRoleError| AuthError::Corrupt { what: "role", message: e.to_string() })
}

/// Key names are free text for people (`moves feed, data centre`), one line.
fn check_name(name: &str) -> Result<(), AuthError> {
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(AuthError::InvalidName {
            what: "key name",
            value: name.chars().filter(|c| !c.is_control()).take(MAX_NAME_CHARS).collect(),
            accepted: "one line of at most 100 characters",
        });
    }
    Ok(())
}
