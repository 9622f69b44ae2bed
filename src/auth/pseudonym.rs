//! Pseudonymous ids of individuals: what an analyst's people layer, a
//! person's panel and the audit log show instead of a talent id.
//!
//! `pseudonym = "p" + hex(first 16 bytes of HMAC-SHA-256(secret, talent_id))`
//!
//! The secret is 32 random bytes created on first use and kept in the
//! store's `meta` table (`pseudonym_secret`), so a pseudonym is stable for
//! the life of the store — the same person has the same id on every tile,
//! in every panel and in the audit log — and cannot be turned back into a
//! talent id, or checked against a guessed one, without the secret. Anyone
//! holding the store file holds the secret too; the pseudonym protects what
//! leaves the server, not the file. A new store (or a deleted secret) gives
//! everyone new pseudonyms, which breaks the link to older audit entries.

use std::fmt;

use crate::store::db::{Connection, OptionalExtension, params};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::AuthError;
use super::secret::{hex, random_hex, unhex};
use crate::store::{Store, StoreError};

/// Key of the secret in the `meta` table.
const SECRET_KEY: &str = "pseudonym_secret";
/// Bytes of the secret.
const SECRET_BYTES: usize = 32;
/// Bytes of the HMAC kept in a pseudonym (128 bits: no collisions in practice).
const PSEUDONYM_BYTES: usize = 16;

/// The store's pseudonym key. Its `Debug` does not print it.
#[derive(Clone)]
pub struct PseudonymSecret(Vec<u8>);

impl fmt::Debug for PseudonymSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymSecret(…)")
    }
}

impl PseudonymSecret {
    /// The store's secret, created (and stored) on first use. Two processes
    /// racing to create it agree on the one stored first.
    pub fn load_or_create(store: &Store) -> Result<PseudonymSecret, AuthError> {
        Ok(PseudonymSecret::load_or_create_in(store.conn())?)
    }

    /// [`PseudonymSecret::load_or_create`] on a connection, for callers
    /// inside a transaction (the importer writes each talent's pseudonym).
    pub fn load_or_create_in(conn: &Connection) -> Result<PseudonymSecret, StoreError> {
        let corrupt = |message: String| StoreError::Corrupt { what: "meta value", id: SECRET_KEY.into(), message };
        let fresh = random_hex(SECRET_BYTES).map_err(|e| corrupt(e.to_string()))?;
        conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING",
            params![SECRET_KEY, fresh],
        )?;
        let text: Option<String> =
            conn.query_row("SELECT value FROM meta WHERE key = ?1", params![SECRET_KEY], |r| r.get(0)).optional()?;
        match text.as_deref().and_then(unhex) {
            Some(bytes) if bytes.len() == SECRET_BYTES => Ok(PseudonymSecret(bytes)),
            _ => Err(corrupt(format!("expected {SECRET_BYTES} hex bytes"))),
        }
    }

    /// A secret from given bytes (tests, or a secret kept outside the store).
    pub fn from_bytes(bytes: &[u8]) -> PseudonymSecret {
        PseudonymSecret(bytes.to_vec())
    }
}

/// The record key of a talent or a move for disclosure control
/// (`analytics::privacy`): 32 bits of HMAC-SHA-256 under the store's secret,
/// of `kind` (`talent` or `move`) and the id. Written to the store on import
/// and never published; without the secret it is indistinguishable from a
/// random number, and it never changes for the life of the store.
pub fn record_key(secret: &PseudonymSecret, kind: &str, id: &str) -> u32 {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&secret.0) else { return 0 };
    mac.update(b"record-key\0");
    mac.update(kind.as_bytes());
    mac.update(b"\0");
    mac.update(id.as_bytes());
    let tag = mac.finalize().into_bytes();
    u32::from_le_bytes([tag[0], tag[1], tag[2], tag[3]])
}

/// The pseudonymous id of talent `talent_id`: `p` and 32 hex digits.
pub fn pseudonym(secret: &PseudonymSecret, talent_id: &str) -> String {
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(&secret.0) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm is never taken.
        Err(_) => return String::from("p"),
    };
    mac.update(talent_id.as_bytes());
    let tag = mac.finalize().into_bytes();
    format!("p{}", hex(&tag[..PSEUDONYM_BYTES]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_keyed_and_distinct() {
        let a = PseudonymSecret::from_bytes(&[1; 32]);
        let b = PseudonymSecret::from_bytes(&[2; 32]);
        let p = pseudonym(&a, "T1");
        assert_eq!(p.len(), 33);
        assert!(p.starts_with('p') && p[1..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(pseudonym(&a, "T1"), p);
        assert_ne!(pseudonym(&a, "T2"), p);
        assert_ne!(pseudonym(&b, "T1"), p, "another secret gives another pseudonym");
        assert!(!p.contains("T1"));
        assert_eq!(format!("{a:?}"), "PseudonymSecret(…)");
    }

    #[test]
    fn matches_rfc_4231_case_2() {
        let key = PseudonymSecret::from_bytes(b"Jefe");
        assert_eq!(pseudonym(&key, "what do ya want for nothing?"), "p5bdcc146bf60754e6a042426089575c7");
    }

    #[test]
    fn secret_is_created_once_per_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let first = PseudonymSecret::load_or_create(&store).unwrap();
        let again = PseudonymSecret::load_or_create(&store).unwrap();
        assert_eq!(pseudonym(&first, "T1"), pseudonym(&again, "T1"));
        assert_eq!(store.data_version().unwrap(), 0);
    }
}
