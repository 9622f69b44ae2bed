//! Failed sign-in bookkeeping, so the sign-in route can slow down password
//! guessing: a counter per user name and one per client address, each with
//! a lockout.
//!
//! Numbers: [`USER_MAX_FAILURES`] failures for one user name, or
//! [`CLIENT_MAX_FAILURES`] from one client address, within
//! [`WINDOW_SECS`] lock that name or address for [`LOCKOUT_SECS`]. A
//! lockout refuses even the right password (the route answers 429 with
//! `Retry-After`). Names that do not exist are counted like real ones, so
//! the lockout does not reveal which accounts exist. A successful sign-in
//! clears the user's counter but not the address's, so one known account
//! cannot be used to reset an address that is guessing others. The per-user
//! lockout lets anyone lock a known user out for a while; the per-address
//! limit is what bounds a single guesser, and both numbers are constants
//! here to be tuned.

use crate::store::db::{Connection, OptionalExtension, params};

/// Failures of one user name that lock it.
pub const USER_MAX_FAILURES: u32 = 5;
/// Failures from one client address that lock it.
pub const CLIENT_MAX_FAILURES: u32 = 20;
/// Seconds over which failures are counted (15 minutes).
pub const WINDOW_SECS: i64 = 15 * 60;
/// Seconds a lockout lasts (15 minutes).
pub const LOCKOUT_SECS: i64 = 15 * 60;

/// What a counter is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    User,
    Client,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::Client => "client",
        }
    }

    fn max_failures(self) -> u32 {
        match self {
            Scope::User => USER_MAX_FAILURES,
            Scope::Client => CLIENT_MAX_FAILURES,
        }
    }
}

/// Seconds until `user` or `client` may try again, if either is locked out.
pub fn locked_for(conn: &Connection, user: &str, client: &str, now: i64) -> crate::store::db::Result<Option<i64>> {
    let mut longest = None;
    for (scope, subject) in [(Scope::User, user), (Scope::Client, client)] {
        let until: Option<i64> = conn
            .query_row(
                "SELECT locked_until FROM auth_signin_failures WHERE scope = ?1 AND subject = ?2",
                params![scope.as_str(), subject],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(until) = until.filter(|&u| u > now) {
            longest = Some(longest.map_or(until - now, |l: i64| l.max(until - now)));
        }
    }
    Ok(longest)
}

/// Counts one failed sign-in for `user` and for `client`; returns whether
/// either is now locked out. Also forgets counters that have run out.
pub fn record_failure(conn: &Connection, user: &str, client: &str, now: i64) -> crate::store::db::Result<bool> {
    conn.execute(
        "DELETE FROM auth_signin_failures WHERE window_start <= ?1 AND locked_until <= ?2",
        params![now - WINDOW_SECS, now],
    )?;
    let mut locked = false;
    for (scope, subject) in [(Scope::User, user), (Scope::Client, client)] {
        let row: Option<(u32, i64)> = conn
            .query_row(
                "SELECT failures, window_start FROM auth_signin_failures WHERE scope = ?1 AND subject = ?2",
                params![scope.as_str(), subject],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (failures, start) = match row {
            Some((n, start)) if now - start < WINDOW_SECS => (n + 1, start),
            _ => (1, now),
        };
        let (failures, start, until) = if failures >= scope.max_failures() {
            locked = true;
            (0, now, now + LOCKOUT_SECS)
        } else {
            (failures, start, 0)
        };
        conn.execute(
            "INSERT INTO auth_signin_failures(scope, subject, failures, window_start, locked_until)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(scope, subject) DO UPDATE SET failures = excluded.failures,
               window_start = excluded.window_start,
               locked_until = CASE WHEN auth_signin_failures.locked_until > excluded.locked_until
                   THEN auth_signin_failures.locked_until ELSE excluded.locked_until END",
            params![scope.as_str(), subject, failures, start, until],
        )?;
    }
    Ok(locked)
}

/// Forgets the failures of `user` after a successful sign-in.
pub fn clear_user(conn: &Connection, user: &str) -> crate::store::db::Result<()> {
    conn.execute("DELETE FROM auth_signin_failures WHERE scope = 'user' AND subject = ?1", params![user])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn user_locks_after_five_failures_and_unlocks_after_the_lockout() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let conn = store.conn();
        let t = 1_000_000;
        for i in 0..USER_MAX_FAILURES - 1 {
            assert!(!record_failure(conn, "li", "10.0.0.1", t + i as i64).unwrap());
            assert_eq!(locked_for(conn, "li", "10.0.0.1", t + i as i64).unwrap(), None);
        }
        assert!(record_failure(conn, "li", "10.0.0.1", t + 10).unwrap());
        assert_eq!(locked_for(conn, "li", "10.0.0.2", t + 10).unwrap(), Some(LOCKOUT_SECS));
        assert_eq!(locked_for(conn, "wang", "10.0.0.1", t + 10).unwrap(), None, "the address is not locked yet");
        assert_eq!(locked_for(conn, "li", "10.0.0.2", t + 10 + LOCKOUT_SECS).unwrap(), None);
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up_and_success_clears_the_user() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let conn = store.conn();
        for i in 0..10 {
            assert!(!record_failure(conn, "li", "a", i * WINDOW_SECS).unwrap(), "failure {i}");
        }
        for i in 0..USER_MAX_FAILURES - 1 {
            record_failure(conn, "wang", "b", i as i64).unwrap();
        }
        clear_user(conn, "wang").unwrap();
        assert!(!record_failure(conn, "wang", "b", 10).unwrap());
    }

    #[test]
    fn one_address_guessing_many_names_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let conn = store.conn();
        let locked: Vec<bool> = (0..CLIENT_MAX_FAILURES)
            .map(|i| record_failure(conn, &format!("u{i}"), "10.9.9.9", 100).unwrap())
            .collect();
        assert_eq!(locked.iter().filter(|&&l| l).count(), 1);
        assert!(locked[CLIENT_MAX_FAILURES as usize - 1]);
        assert!(locked_for(conn, "someone", "10.9.9.9", 101).unwrap().is_some());
    }
}
