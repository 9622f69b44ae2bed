//! Passwords: the length policy and argon2id hashes (PHC strings), so a
//! copy of the store does not reveal what people type.
//!
//! Policy: at least [`MIN_PASSWORD_CHARS`] characters (a passphrase of a few
//! words fits), at most [`MAX_PASSWORD_CHARS`] (bounds the hashing work an
//! attacker can ask for). Hashes use the argon2 crate's defaults: argon2id,
//! version 19, m = 19 MiB, t = 2, p = 1 — the OWASP recommendation — and a
//! random 128-bit salt; verification reads the parameters from the stored
//! string, so they can be raised later without invalidating old hashes.

use std::io::BufRead;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use super::AuthError;

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest password accepted, in characters.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Checks the length policy.
pub fn check_policy(password: &str) -> Result<(), AuthError> {
    let len = password.chars().count();
    if len == 0 {
        return Err(AuthError::PasswordMissing);
    }
    if len < MIN_PASSWORD_CHARS {
        return Err(AuthError::PasswordTooShort { len, min: MIN_PASSWORD_CHARS });
    }
    if len > MAX_PASSWORD_CHARS {
        return Err(AuthError::PasswordTooLong { max: MAX_PASSWORD_CHARS });
    }
    Ok(())
}

/// The argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) of `password`.
pub fn hash(password: &str) -> Result<String, AuthError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AuthError::PasswordHash(e.to_string()))
}

/// Whether `password` matches the PHC string `stored`; false for a
/// malformed stored string.
pub fn verify(password: &str, stored: &str) -> bool {
    password.chars().count() <= MAX_PASSWORD_CHARS
        && Argon2::default().verify_password(password.as_bytes(), stored).is_ok()
}

/// Reads one line from `input` as the password: the line ending (`\n` or
/// `\r\n`) is removed, nothing else is, so spaces count.
pub fn read_line(input: &mut dyn BufRead) -> Result<String, AuthError> {
    let mut line = String::new();
    input.read_line(&mut line).map_err(|e| AuthError::PasswordHash(format!("reading standard input: {e}")))?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    Ok(line.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_bounds() {
        assert!(matches!(check_policy(""), Err(AuthError::PasswordMissing)));
        assert!(matches!(check_policy("elevenchars"), Err(AuthError::PasswordTooShort { len: 11, min: 12 })));
        check_policy("twelve chars").unwrap();
        check_policy("十二个字符的密码也可以用的").unwrap();
        assert!(check_policy(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
    }

    #[test]
    fn one_line_without_its_ending() {
        let mut input: &[u8] = b"  spaced pass  \r\nsecond line\n";
        assert_eq!(read_line(&mut input).unwrap(), "  spaced pass  ");
    }
}
