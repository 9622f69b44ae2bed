//! Sign-in sessions: what the web page's cookie stands for.
//!
//! A session token reads `tms_<id>_<secret>` (64-bit id, 256-bit secret from
//! the operating system); the store keeps the SHA-256 of the secret, the
//! user and the expiry. Verification re-reads the user, so removing a user
//! or changing their role takes effect on their next request. Signing out
//! deletes the session row: a copied cookie stops working at once.

use crate::store::db::{Connection, OptionalExtension, params};

use super::secret::{new_token, secret_matches, split_token};
use super::{AuthError, Principal, PrincipalKind, areas, keys::parse_role};
use crate::store::Store;

/// The prefix of every session token.
pub const SESSION_PREFIX: &str = "tms";
/// Default lifetime of a session: 8 hours, one working day.
pub const DEFAULT_TTL_SECS: i64 = 8 * 3600;

/// Session settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// Seconds from sign-in to expiry (no sliding renewal).
    pub ttl_secs: i64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings { ttl_secs: DEFAULT_TTL_SECS }
    }
}

/// A session just created.
#[derive(Debug)]
pub struct NewSession {
    pub id: String,
    /// `tms_<id>_<secret>`: the cookie value. Not stored; do not log it.
    pub token: String,
    /// Unix seconds.
    pub expires: i64,
}

/// Starts a session for `user` at `now` (Unix seconds).
pub fn create(conn: &Connection, user: &str, settings: &SessionSettings, now: i64) -> Result<NewSession, AuthError> {
    let (id, token, hash) = new_token(SESSION_PREFIX)?;
    let expires = now + settings.ttl_secs;
    conn.execute(
        "INSERT INTO auth_sessions(id, secret_hash, \"user\", created, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, hash, user, now, expires],
    )?;
    Ok(NewSession { id, token, expires })
}

/// The signed-in user a token stands for at `now`; `None` when it is
/// malformed, unknown, expired (the row is then deleted), its secret is
/// wrong or its user no longer exists.
pub fn verify(store: &Store, token: &str, now: i64) -> Result<Option<Principal>, AuthError> {
    let conn = store.conn();
    let Some((id, secret)) = split_token(SESSION_PREFIX, token.trim()) else {
        return Ok(None);
    };
    let row: Option<(String, i64, String, String, String)> = conn
        .query_row(
            "SELECT s.secret_hash, s.expires, u.name, u.role, u.areas
             FROM auth_sessions s JOIN auth_users u ON u.name = s.\"user\" WHERE s.id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((hash, expires, name, role, areas)) = row else {
        return Ok(None);
    };
    if !secret_matches(secret, &hash) {
        return Ok(None);
    }
    if expires <= now {
        conn.execute("DELETE FROM auth_sessions WHERE id = ?1", params![id])?;
        return Ok(None);
    }
    Ok(Some(Principal {
        kind: PrincipalKind::User(name),
        role: parse_role(&role)?,
        jurisdiction: areas::decode(&areas)?,
    }))
}

/// When the session a token stands for expires (Unix seconds), if it is a
/// live session.
pub fn expires_at(store: &Store, token: &str, now: i64) -> Result<Option<i64>, AuthError> {
    let Some((id, secret)) = split_token(SESSION_PREFIX, token.trim()) else {
        return Ok(None);
    };
    let row: Option<(String, i64)> = store
        .conn()
        .query_row("SELECT secret_hash, expires FROM auth_sessions WHERE id = ?1", params![id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    Ok(row.filter(|(hash, expires)| secret_matches(secret, hash) && *expires > now).map(|(_, expires)| expires))
}

/// Signs out: deletes the session a token stands for. Returns whether there
/// was one (a wrong secret ends nothing).
pub fn end(store: &Store, token: &str) -> Result<bool, AuthError> {
    let Some((id, secret)) = split_token(SESSION_PREFIX, token.trim()) else {
        return Ok(false);
    };
    let conn = store.conn();
    let hash: Option<String> =
        conn.query_row("SELECT secret_hash FROM auth_sessions WHERE id = ?1", params![id], |r| r.get(0)).optional()?;
    if !hash.is_some_and(|h| secret_matches(secret, &h)) {
        return Ok(false);
    }
    Ok(conn.execute("DELETE FROM auth_sessions WHERE id = ?1", params![id])? > 0)
}

/// Deletes every session that has expired by `now`; returns how many.
pub fn purge_expired(store: &Store, now: i64) -> Result<usize, AuthError> {
    Ok(store.conn().execute("DELETE FROM auth_sessions WHERE expires <= ?1", params![now])?)
}
