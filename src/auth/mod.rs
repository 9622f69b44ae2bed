//! Access control: who may see and change what.
//!
//! The talent register is personal data, so every request will be made by a
//! [`Principal`] — an API key, a signed-in user or nobody — holding one
//! [`Role`] and, for analysts, a jurisdiction of district and park ids. This
//! module is the part of access control that does not need the router:
//!
//! - [`keys`]: API keys for machines and scripts, stored only as hashes;
//! - [`users`] and [`password`]: accounts with argon2id password hashes;
//! - [`sessions`]: sign-in sessions with an expiry, ended server-side;
//! - [`signin`]: failed sign-in counters and lockout, per user and per client;
//! - [`audit`]: the append-only, hash-chained audit log;
//! - [`pseudonym`]: stable pseudonymous ids of individuals (keyed hashes);
//! - [`people`]: individual records by position or pseudonym, for analysts;
//! - [`areas`]: the check that a jurisdiction names districts or parks;
//! - [`authenticate`]: a request's `Authorization` header and session cookie
//!   to anonymous, a principal, or invalid credentials.
//!
//! Its tables live in the same store as the map but are not map data: no
//! write here bumps the store's `data_version`, so creating a key or
//! appending to the audit log never rebuilds a snapshot. The policy layer in
//! front of the HTTP routes (see `docs/access.md`) calls [`authenticate`]
//! (or [`verify_key`] and [`sessions::verify`]), [`users::sign_in`],
//! [`Principal::covers_person`] and [`audit::append`].

pub mod areas;
pub mod audit;
mod authenticate;
pub(crate) mod clock;
mod error;
pub mod keys;
pub mod password;
pub mod people;
mod principal;
pub mod pseudonym;
mod role;
mod secret;
pub mod sessions;
pub mod signin;
pub mod users;

pub use authenticate::{Authentication, SESSION_COOKIE, authenticate, bearer_token};
pub use clock::{now, rfc3339};
pub use error::AuthError;
pub use keys::verify_key;
pub use principal::{PersonRegions, Principal, PrincipalKind, person_in_jurisdiction};
pub use pseudonym::{PseudonymSecret, pseudonym, record_key};
pub use role::{ParseRoleError, Role};
