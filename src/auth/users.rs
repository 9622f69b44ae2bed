//! Accounts of people who sign in on the web page: a name, a role, an
//! analyst's areas and an argon2id password hash. Added and removed from the
//! command line (every change audited); [`sign_in`] is what the sign-in
//! route will call.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use crate::store::db::{OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;

use super::audit::{self, Actor};
use super::sessions::{self, SessionSettings};
use super::{AuthError, Principal, PrincipalKind, Role, areas, keys::parse_role, password, rfc3339, signin};
use crate::store::Store;

/// The longest user name accepted.
pub const MAX_NAME_CHARS: usize = 64;

/// An account as listed (never with its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    pub name: String,
    pub role: Role,
    pub areas: BTreeSet<String>,
    /// RFC 3339 UTC.
    pub created: String,
}

/// Adds user `name` with `role`, `areas` (analysts only, see
/// [`areas::validate`]) and `password` (see [`password::check_policy`]).
pub fn add(
    store: &Store,
    name: &str,
    role: Role,
    areas: &[String],
    password: &str,
    actor: &Actor,
) -> Result<UserInfo, AuthError> {
    check_name(name)?;
    if matches!(role, Role::Public | Role::Feeder) {
        // Public needs no account; the moves feed is a machine with a key.
        return Err(AuthError::RoleNotAllowed { role, what: "a user", accepted: "recruiter, analyst, admin" });
    }
    password::check_policy(password)?;
    // Hash before taking the write lock: it takes a while.
    let hash = password::hash(password)?;
    let tx = Transaction::new_unchecked(store.conn(), TransactionBehavior::ImmediateAccess)?;
    let areas = areas::validate(&tx, role, areas)?;
    let exists: Option<String> =
        tx.query_row("SELECT name FROM auth_users WHERE name = ?1", params![name], |r| r.get(0)).optional()?;
    if exists.is_some() {
        return Err(AuthError::UserExists(name.to_string()));
    }
    let now = super::now();
    let info = UserInfo { name: name.to_string(), role, areas, created: rfc3339(now) };
    tx.execute(
        "INSERT INTO auth_users(name, role, areas, password_hash, created) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![info.name, role.as_str(), areas::encode(&info.areas), hash, info.created],
    )?;
    let params = serde_json::json!({"name": name, "role": role, "areas": info.areas});
    audit::append_in(&tx, actor, "users add", &params, &serde_json::json!({"added": 1}), now)?;
    tx.commit()?;
    Ok(info)
}

/// Every account, by name.
pub fn list(store: &Store) -> Result<Vec<UserInfo>, AuthError> {
    let mut stmt = store.conn().prepare("SELECT name, role, areas, created FROM auth_users ORDER BY name")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get(3)?)))?;
    let mut users = Vec::new();
    for row in rows {
        let (name, role, areas, created) = row?;
        users.push(UserInfo { name, role: parse_role(&role)?, areas: areas::decode(&areas)?, created });
    }
    Ok(users)
}

/// Removes user `name` and ends all their sessions; audited.
pub fn remove(store: &Store, name: &str, actor: &Actor) -> Result<(), AuthError> {
    let tx = Transaction::new_unchecked(store.conn(), TransactionBehavior::ImmediateAccess)?;
    if tx.execute("DELETE FROM auth_users WHERE name = ?1", params![name])? == 0 {
        return Err(AuthError::NoSuchUser(name.to_string()));
    }
    let ended = tx.execute("DELETE FROM auth_sessions WHERE \"user\" = ?1", params![name])?;
    let outcome = serde_json::json!({"removed": 1, "sessions_ended": ended});
    audit::append_in(&tx, actor, "users remove", &serde_json::json!({"name": name}), &outcome, super::now())?;
    tx.commit()?;
    Ok(())
}

/// The answer to a sign-in attempt.
#[derive(Debug)]
pub enum SignIn {
    /// Signed in: the principal and a new session (its token is the cookie).
    Accepted { principal: Principal, session: sessions::NewSession },
    /// Wrong name or password (not said which).
    Refused,
    /// Too many failures for this name or address: try again after this
    /// many seconds (see [`signin`]).
    Locked { retry_after_secs: i64 },
}

/// Checks `name` and `password` from `client` at `now`: applies the lockout,
/// counts failures, starts a session on success, and audits every attempt
/// (`sign-in` with outcome `accepted`, `refused` or `locked`; never the
/// password). An unknown name costs the same argon2 work as a wrong
/// password, so timing does not reveal which names exist.
pub fn sign_in(
    store: &Store,
    name: &str,
    password_given: &str,
    client: &str,
    settings: &SessionSettings,
    now: i64,
) -> Result<SignIn, AuthError> {
    let conn = store.conn();
    let attempt = Actor { principal: format!("user:{name}"), role: Role::Public, client: client.to_string() };
    let params = serde_json::json!({"user": name});
    let audit_outcome = |result: &str, role: Role| -> Result<(), AuthError> {
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::ImmediateAccess)?;
        let actor = Actor { role, ..attempt.clone() };
        audit::append_in(&tx, &actor, "sign-in", &params, &serde_json::json!({"result": result}), now)?;
        tx.commit()?;
        Ok(())
    };
    if let Some(retry_after_secs) = signin::locked_for(conn, name, client, now)? {
        audit_outcome("locked", Role::Public)?;
        return Ok(SignIn::Locked { retry_after_secs });
    }
    let row: Option<(String, String, String)> = conn
        .query_row("SELECT role, areas, password_hash FROM auth_users WHERE name = ?1", params![name], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let matches = match &row {
        Some((_, _, hash)) => password::verify(password_given, hash),
        None => {
            let _ = password::verify(password_given, dummy_hash());
            false
        }
    };
    let Some((role, areas, _)) = row.filter(|_| matches) else {
        signin::record_failure(conn, name, client, now)?;
        audit_outcome("refused", Role::Public)?;
        return Ok(SignIn::Refused);
    };
    let principal = Principal {
        kind: PrincipalKind::User(name.to_string()),
        role: parse_role(&role)?,
        jurisdiction: areas::decode(&areas)?,
    };
    signin::clear_user(conn, name)?;
    let session = sessions::create(conn, name, settings, now)?;
    audit_outcome("accepted", principal.role)?;
    Ok(SignIn::Accepted { principal, session })
}

/// A valid hash of nothing anyone types, to spend the same work on unknown
/// names as on known ones.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| password::hash("no account has this password\u{0}").unwrap_or_default())
}

/// User names: 1..=64 of ASCII letters, digits, `.`, `_`, `-`, `@`.
fn check_name(name: &str) -> Result<(), AuthError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
    if ok {
        return Ok(());
    }
    Err(AuthError::InvalidName {
        what: "user name",
        value: name.chars().filter(|c| !c.is_control()).take(MAX_NAME_CHARS).collect(),
        accepted: "1 to 64 ASCII letters, digits, '.', '_', '-' or '@'",
    })
}
