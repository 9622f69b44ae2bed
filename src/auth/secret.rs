//! Random secrets and their digests. Keys and session tokens are
//! `PREFIX_ID_SECRET`: the id finds the row, the 256-bit secret is checked
//! against its SHA-256 in constant time. A plain hash is enough for a secret
//! of that entropy (a slow password hash protects only guessable secrets).

use sha2::{Digest, Sha256};

use super::AuthError;

/// Bytes of the random secret part of a key or session token (256 bits).
pub(crate) const SECRET_BYTES: usize = 32;
/// Bytes of the random public id of a key or session (64 bits).
pub(crate) const ID_BYTES: usize = 8;

/// `n` bytes from the operating system's random number generator.
pub(crate) fn random_bytes(n: usize) -> Result<Vec<u8>, AuthError> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(buf)
}

/// `n` random bytes as lowercase hex.
pub(crate) fn random_hex(n: usize) -> Result<String, AuthError> {
    Ok(hex(&random_bytes(n)?))
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Decodes lowercase or uppercase hex; `None` if `s` is not hex.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// SHA-256 of `data` as lowercase hex.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Equality of two byte strings whose running time does not depend on where
/// they first differ (only on their lengths, which are public here).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A token `PREFIX_ID_SECRET` split into id and secret, if it has that shape
/// (id: `ID_BYTES` hex bytes, secret: `SECRET_BYTES` hex bytes).
pub(crate) fn split_token<'a>(prefix: &str, token: &'a str) -> Option<(&'a str, &'a str)> {
    let rest = token.strip_prefix(prefix)?.strip_prefix('_')?;
    let (id, secret) = rest.split_once('_')?;
    let is_hex =
        |s: &str, n: usize| s.len() == 2 * n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (is_hex(id, ID_BYTES) && is_hex(secret, SECRET_BYTES)).then_some((id, secret))
}

/// A fresh token: `(id, PREFIX_ID_SECRET, sha256 of SECRET)`.
pub(crate) fn new_token(prefix: &str) -> Result<(String, String, String), AuthError> {
    let id = random_hex(ID_BYTES)?;
    let secret = random_hex(SECRET_BYTES)?;
    let hash = sha256_hex(secret.as_bytes());
    Ok((id.clone(), format!("{prefix}_{id}_{secret}"), hash))
}

/// Whether `secret` hashes to the stored hex digest, in constant time.
pub(crate) fn secret_matches(secret: &str, stored_hash: &str) -> bool {
    constant_time_eq(sha256_hex(secret.as_bytes()).as_bytes(), stored_hash.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_and_match() {
        let (id, token, hash) = new_token("tm").unwrap();
        let (tid, secret) = split_token("tm", &token).unwrap();
        assert_eq!(tid, id);
        assert!(secret_matches(secret, &hash));
        assert!(!secret_matches(&secret.replace(&secret[..1], "x"), &hash));
        assert!(split_token("tms", &token).is_none());
        assert!(split_token("tm", &token[..token.len() - 1]).is_none());
        assert!(split_token("tm", &token.to_uppercase()).is_none());
        assert_ne!(new_token("tm").unwrap().1, token, "two tokens differ");
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert_eq!(unhex("000fff"), Some(vec![0, 15, 255]));
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
