//! The one error type of the access-control layer. Every message says what
//! was wrong and what is accepted, and none carries a key or a password.

use crate::store::StoreError;

use super::Role;

/// Errors of [`crate::auth`].
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database error: {0}")]
    Sql(#[from] crate::store::db::Error),
    #[error("the role {role} needs at least one area (--area ID[,ID…]: district or park ids in the store)")]
    AreaRequired { role: Role },
    #[error("the role {role} takes no areas; only analysts are bound to districts or parks")]
    AreaNotAllowed { role: Role },
    #[error("unknown area '{id}': accepted are district or park ids in the store ({known})")]
    UnknownArea { id: String, known: String },
    #[error("the role {role} cannot be given to {what}: accepted roles are {accepted}")]
    RoleNotAllowed { role: Role, what: &'static str, accepted: &'static str },
    #[error("no API key with id '{0}' (see `talentmap keys list`)")]
    NoSuchKey(String),
    #[error("API key '{0}' is already revoked")]
    AlreadyRevoked(String),
    #[error("no user named '{0}' (see `talentmap users list`)")]
    NoSuchUser(String),
    #[error("a user named '{0}' already exists; remove it first to replace it")]
    UserExists(String),
    #[error("invalid {what} '{value}': {accepted}")]
    InvalidName { what: &'static str, value: String, accepted: &'static str },
    #[error("the password is too short: {len} characters, at least {min} are required")]
    PasswordTooShort { len: usize, min: usize },
    #[error("the password is too long: at most {max} characters are accepted")]
    PasswordTooLong { max: usize },
    #[error("the password is empty; write it as one line on standard input")]
    PasswordMissing,
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    #[error("stored {what} is invalid: {message}")]
    Corrupt { what: &'static str, message: String },
}
