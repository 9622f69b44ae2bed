//! The audit log: what was asked and answered, by whom, from where — kept
//! so that a security officer can reconstruct every read of individuals,
//! every exact-count read, every write and every change of credentials.
//!
//! The `audit` table is append-only (SQLite triggers refuse UPDATE and
//! DELETE) and each entry is chained to the one before it:
//!
//! ```text
//! hash(n) = SHA-256( prev_hash(n) ‖ "\n" ‖ canonical(n) ),  prev_hash(n) = hash(n−1),  prev_hash(1) = 0…0
//! canonical(n) = JSON array [seq, time, principal, role, action, params, outcome, client]
//! ```
//!
//! where `params` and `outcome` are the stored JSON texts, and every append
//! also records the head (`seq` and `hash` of the last entry) in the `meta`
//! table in the same transaction.
//!
//! [`verify`] recomputes the chain and detects: a changed entry (its hash no
//! longer matches), a deleted entry in the middle or at the start (a gap in
//! `seq`, or a `prev_hash` that does not match), entries removed from the end
//! (the head in `meta` names a later entry), and an edited head. It does
//! **not** detect someone with write access to the file who rewrites the
//! chain from the altered entry onward and updates the head to match, or who
//! replaces the whole file: against that, record the head that
//! `talentmap audit verify` prints somewhere the server cannot write (a
//! ticket, a log host) and compare it later.

use std::fmt;

use crate::store::db::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;

use super::secret::sha256_hex;
use super::{AuthError, Principal, Role, rfc3339};
use crate::store::Store;

/// `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The most entries [`list`] returns at once.
pub const MAX_LIST: usize = 1000;
/// Key of the chain head (`"SEQ HASH"`) in the `meta` table.
const HEAD_KEY: &str = "audit_head";

/// Who did something, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `key:ID`, `user:NAME`, `anonymous` or `cli:OSUSER`.
    pub principal: String,
    pub role: Role,
    /// Client address, or `local` for the command line.
    pub client: String,
}

impl Actor {
    /// A principal calling from `client` (its IP address).
    pub fn of(principal: &Principal, client: &str) -> Actor {
        Actor { principal: principal.label(), role: principal.role, client: client.to_string() }
    }

    /// The command line: whoever can write the data directory acts as admin.
    pub fn cli() -> Actor {
        let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown".into());
        Actor { principal: format!("cli:{user}"), role: Role::Admin, client: "local".to_string() }
    }
}

/// One entry of the log, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub seq: u64,
    /// RFC 3339 UTC, seconds.
    pub time: String,
    pub principal: String,
    pub role: String,
    /// The route (`GET /api/people/{pid}`) or command (`keys create`).
    pub action: String,
    /// The request's parameters, JSON text.
    pub params: String,
    /// What was returned: counts, pseudonymous ids of individuals; JSON text.
    pub outcome: String,
    pub client: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// The chain hash this entry should carry, from its content and `prev_hash`.
    pub fn expected_hash(&self) -> String {
        let canonical = serde_json::json!([
            self.seq,
            self.time,
            self.principal,
            self.role,
            self.action,
            self.params,
            self.outcome,
            self.client
        ]);
        sha256_hex(format!("{}\n{canonical}", self.prev_hash).as_bytes())
    }
}

/// Appends one entry in its own transaction and returns it.
///
/// `params` should name what was asked (route parameters, filters) and
/// `outcome` what was returned — counts and pseudonymous ids, never a name,
/// a talent id, a key or a password.
pub fn append(
    store: &Store,
    actor: &Actor,
    action: &str,
    params: &serde_json::Value,
    outcome: &serde_json::Value,
) -> Result<AuditEntry, AuthError> {
    let tx = Transaction::new_unchecked(store.conn(), TransactionBehavior::ImmediateAccess)?;
    let entry = append_in(&tx, actor, action, params, outcome, super::now())?;
    tx.commit()?;
    Ok(entry)
}

/// Appends inside the caller's (immediate) transaction, so that a change of
/// credentials and its audit entry are stored together or not at all.
pub(crate) fn append_in(
    conn: &Connection,
    actor: &Actor,
    action: &str,
    params: &serde_json::Value,
    outcome: &serde_json::Value,
    now: i64,
) -> Result<AuditEntry, AuthError> {
    let last: Option<(i64, String)> = conn
        .query_row("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq as u64 + 1, hash),
        None => (1, GENESIS_HASH.to_string()),
    };
    let mut entry = AuditEntry {
        seq,
        time: rfc3339(now),
        principal: actor.principal.clone(),
        role: actor.role.to_string(),
        action: action.to_string(),
        params: params.to_string(),
        outcome: outcome.to_string(),
        client: actor.client.clone(),
        prev_hash,
        hash: String::new(),
    };
    entry.hash = entry.expected_hash();
    conn.execute(
        "INSERT INTO audit(seq, time, principal, role, action, params, outcome, client, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            entry.seq as i64,
            entry.time,
            entry.principal,
            entry.role,
            entry.action,
            entry.params,
            entry.outcome,
            entry.client,
            entry.prev_hash,
            entry.hash
        ],
    )?;
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![HEAD_KEY, format!("{} {}", entry.seq, entry.hash)],
    )?;
    Ok(entry)
}

/// Entries in order of `seq`: those at or after `since` (RFC 3339 UTC, or a
/// prefix of it such as `2026-12-01`; compared as text, which orders these
/// times correctly), of one `principal` (`key:ID`, `user:NAME`, …), at most
/// `limit` (capped at [`MAX_LIST`]).
pub fn list(
    store: &Store,
    since: Option<&str>,
    principal: Option<&str>,
    limit: usize,
) -> Result<Vec<AuditEntry>, AuthError> {
    let mut stmt = store.conn().prepare(
        "SELECT seq, time, principal, role, action, params, outcome, client, prev_hash, hash FROM audit
         WHERE (CAST(?1 AS TEXT) IS NULL OR time >= ?1) AND (CAST(?2 AS TEXT) IS NULL OR principal = ?2) ORDER BY seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![since, principal, limit.min(MAX_LIST) as i64], |r| {
        Ok(AuditEntry {
            seq: r.get::<_, i64>(0)? as u64,
            time: r.get(1)?,
            principal: r.get(2)?,
            role: r.get(3)?,
            action: r.get(4)?,
            params: r.get(5)?,
            outcome: r.get(6)?,
            client: r.get(7)?,
            prev_hash: r.get(8)?,
            hash: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The last entry of an intact log (`seq` 0 and [`GENESIS_HASH`] when empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: String,
}

/// The first entry at which the chain breaks, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirstBadEntry {
    pub seq: u64,
    pub problem: String,
}

impl fmt::Display for FirstBadEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "audit entry {}: {}", self.seq, self.problem)
    }
}

/// Why [`verify`] did not confirm the log.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The chain is broken; the log was changed.
    #[error("{0}")]
    Broken(FirstBadEntry),
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] AuthError),
}

impl From<crate::store::db::Error> for VerifyError {
    fn from(e: crate::store::db::Error) -> Self {
        VerifyError::Store(e.into())
    }
}

/// Recomputes the whole chain and compares its end with the head in `meta`.
/// Returns the head of an intact log, or the first bad entry (see the module
/// doc for what is and is not detected).
pub fn verify(store: &Store) -> Result<AuditHead, VerifyError> {
    let conn = store.conn();
    let mut stmt = conn.prepare(
        "SELECT seq, time, principal, role, action, params, outcome, client, prev_hash, hash FROM audit ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut head = AuditHead { seq: 0, hash: GENESIS_HASH.to_string() };
    let broken = |seq: u64, problem: String| Err(VerifyError::Broken(FirstBadEntry { seq, problem }));
    while let Some(r) = rows.next()? {
        let expected_seq = head.seq + 1;
        let seq = r.get::<_, i64>(0)?;
        if seq != expected_seq as i64 {
            return broken(expected_seq, format!("missing (deleted): the next stored entry is {seq}"));
        }
        let entry = match read_text_columns(&r, seq as u64) {
            Ok(entry) => entry,
            Err(problem) => return broken(seq as u64, problem),
        };
        if entry.prev_hash != head.hash {
            return broken(entry.seq, format!("its prev_hash does not match the hash of entry {}", head.seq));
        }
        if entry.expected_hash() != entry.hash {
            return broken(entry.seq, "changed: its content does not match its hash".to_string());
        }
        head = AuditHead { seq: entry.seq, hash: entry.hash };
    }
    let recorded: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = ?1", params![HEAD_KEY], |r| r.get(0)).optional()?;
    match check_head(&head, recorded.as_deref()) {
        None => Ok(head),
        Some(bad) => Err(VerifyError::Broken(bad)),
    }
}

/// Compares the end of an intact chain with the head recorded in `meta`
/// (`None` when absent): the first bad entry if they disagree.
fn check_head(head: &AuditHead, recorded: Option<&str>) -> Option<FirstBadEntry> {
    let bad = |seq: u64, problem: String| Some(FirstBadEntry { seq, problem });
    let Some(recorded) = recorded else {
        return if head.seq == 0 {
            None
        } else {
            bad(head.seq, "the head recorded in the meta table is missing".into())
        };
    };
    let parsed = recorded.split_once(' ').and_then(|(s, h)| Some((s.parse::<u64>().ok()?, h)));
    match parsed {
        Some((seq, _)) if seq > head.seq => bad(
            head.seq + 1,
            format!("missing (deleted from the end): the log ends at {} but its head was entry {seq}", head.seq),
        ),
        Some((seq, hash)) if seq == head.seq && hash == head.hash => None,
        Some((seq, _)) if seq == head.seq => {
            bad(head.seq, "its hash does not match the head recorded in the meta table".to_string())
        }
        Some((seq, _)) => bad(seq + 1, format!("not recorded in the head (the head names entry {seq})")),
        None => bad(head.seq, format!("the head in the meta table is unreadable: '{recorded}'")),
    }
}

/// The text columns of one row; a problem description if one is not text.
fn read_text_columns(r: &crate::store::db::Row<'_>, seq: u64) -> Result<AuditEntry, String> {
    let text = |i: usize| -> Result<String, String> {
        r.get::<_, String>(i).map_err(|e| format!("column {i} is not text: {e}"))
    };
    Ok(AuditEntry {
        seq,
        time: text(1)?,
        principal: text(2)?,
        role: text(3)?,
        action: text(4)?,
        params: text(5)?,
        outcome: text(6)?,
        client: text(7)?,
        prev_hash: text(8)?,
        hash: text(9)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_disagreements_name_an_entry() {
        let head = AuditHead { seq: 3, hash: "h3".into() };
        assert_eq!(check_head(&head, Some("3 h3")), None);
        assert_eq!(check_head(&AuditHead { seq: 0, hash: GENESIS_HASH.into() }, None), None);
        assert_eq!(check_head(&head, Some("5 h5")).unwrap().seq, 4, "two entries cut from the end");
        assert_eq!(check_head(&head, Some("3 hx")).unwrap().seq, 3);
        assert_eq!(check_head(&head, Some("2 h2")).unwrap().seq, 3, "appended without the head");
        assert_eq!(check_head(&head, None).unwrap().seq, 3);
        assert_eq!(check_head(&head, Some("garbage")).unwrap().seq, 3);
    }
}
