//! From a request's credentials to a principal, without the router: the one
//! call the policy layer makes per request. It keeps apart "no credentials"
//! (anonymous: allowed where public access is) and "credentials that do not
//! verify" (always worth a 401: a revoked key must not quietly become public).

use super::{AuthError, Principal, sessions, verify_key};
use crate::store::Store;

/// Name of the session cookie the sign-in route will set.
pub const SESSION_COOKIE: &str = "talentmap_session";

/// What a request's credentials amount to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// No `Authorization` header and no session cookie.
    Anonymous,
    /// A key or session that verified.
    Principal(Principal),
    /// Credentials were presented but are malformed, unknown, revoked,
    /// expired or wrong (answer 401 with `WWW-Authenticate: Bearer`).
    Invalid,
}

/// The token of an `Authorization` header value `Bearer TOKEN` (scheme
/// case-insensitive, as RFC 9110 says); `None` for any other scheme.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Authenticates a request from its `Authorization` header value and its
/// [`SESSION_COOKIE`] value at `now`. An `Authorization` header, when
/// present, decides alone (a key is the more deliberate credential); else
/// the session cookie; else the caller is anonymous.
pub fn authenticate(
    store: &Store,
    authorization: Option<&str>,
    session_cookie: Option<&str>,
    now: i64,
) -> Result<Authentication, AuthError> {
    let principal = match (authorization, session_cookie) {
        (Some(header), _) => match bearer_token(header) {
            Some(token) => verify_key(store, token)?,
            None => None,
        },
        (None, Some(cookie)) => sessions::verify(store, cookie, now)?,
        (None, None) => return Ok(Authentication::Anonymous),
    };
    Ok(principal.map_or(Authentication::Invalid, Authentication::Principal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::audit::Actor;
    use crate::auth::{Role, keys};

    #[test]
    fn bearer_scheme() {
        assert_eq!(bearer_token("Bearer tm_a_b"), Some("tm_a_b"));
        assert_eq!(bearer_token("bearer  tm_a_b "), Some("tm_a_b"));
        assert_eq!(bearer_token("Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("tm_a_b"), None);
    }

    #[test]
    fn missing_valid_and_invalid_credentials_differ() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let key = keys::create(&store, Role::Feeder, &[], "", &Actor::cli()).unwrap();
        let header = format!("Bearer {}", key.key);
        assert_eq!(authenticate(&store, None, None, 0).unwrap(), Authentication::Anonymous);
        match authenticate(&store, Some(&header), None, 0).unwrap() {
            Authentication::Principal(p) => assert_eq!(p.role, Role::Feeder),
            other => panic!("{other:?}"),
        }
        // A header decides alone, even next to a cookie.
        let with_cookie = authenticate(&store, Some(&header), Some("x"), 0).unwrap();
        assert!(matches!(with_cookie, Authentication::Principal(_)));
        let invalid = [
            (Some("Bearer tm_nope"), None),
            (Some(key.key.as_str()), None), // no Bearer scheme
            (None, Some("tms_0_0")),
        ];
        for (authorization, cookie) in invalid {
            assert_eq!(authenticate(&store, authorization, cookie, 0).unwrap(), Authentication::Invalid);
        }
        keys::revoke(&store, &key.info.id, &Actor::cli()).unwrap();
        assert_eq!(authenticate(&store, Some(&header), None, 0).unwrap(), Authentication::Invalid);
    }
}
