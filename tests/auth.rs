//! Access control without the router: keys, users, sessions, the sign-in
//! lockout and the audit chain, on a store with the tiny test city's regions.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use talentmap::auth::audit::{self, Actor, VerifyError};
use talentmap::auth::sessions::{self, SessionSettings};
use talentmap::auth::users::{self, SignIn};
use talentmap::auth::{AuthError, PrincipalKind, Role, keys, verify_key};
use talentmap::import::ImportKind;
use talentmap::store::Store;

const PASSWORD: &str = "correct horse battery";

/// A store holding districts D1, D2 and park P1.
fn store_with_regions(dir: &Path) -> Store {
    let mut store = Store::open(&dir.join("data")).unwrap();
    let regions = write(dir, "regions.geojson", REGIONS);
    import(&mut store, ImportKind::Regions, &regions).unwrap();
    store
}

fn areas(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// Every byte of the store: the database file and its write-ahead log.
fn store_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for name in ["talentmap.sqlite", "talentmap.sqlite-wal"] {
        if let Ok(b) = std::fs::read(dir.join("data").join(name)) {
            bytes.extend(b);
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn key_plaintext_is_absent_from_the_store_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_regions(dir.path());
    let new = keys::create(&store, Role::Feeder, &[], "moves feed", &Actor::cli()).unwrap();
    let secret = new.key.rsplit('_').next().unwrap().to_string();
    assert!(secret.len() >= 32, "at least 128 bits of hex");
    // In the log and after a checkpoint into the main file.
    for checkpoint in [false, true] {
        if checkpoint {
            store.conn().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
        }
        let bytes = store_bytes(dir.path());
        assert!(contains(&bytes, &new.info.id), "the key id is stored (the file was read)");
        assert!(!contains(&bytes, &secret), "the secret is not stored");
        assert!(!contains(&bytes, &new.key));
    }
}

#[test]
fn keys_verify_until_revoked_and_wrong_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_regions(dir.path());
    let analyst = keys::create(&store, Role::Analyst, &areas(&["D1", "P1"]), "", &Actor::cli()).unwrap();
    let feeder = keys::create(&store, Role::Feeder, &[], "", &Actor::cli()).unwrap();

    let p = verify_key(&store, &analyst.key).unwrap().expect("a fresh key verifies");
    assert_eq!(p.kind, PrincipalKind::Key(analyst.info.id.clone()));
    assert_eq!(p.role, Role::Analyst);
    assert!(p.covers_region("D1") && p.covers_region("P1") && !p.covers_region("D2"));
    assert_eq!(verify_key(&store, &format!(" {} ", feeder.key)).unwrap().unwrap().role, Role::Feeder);

    // Wrong secret, another key's secret under this id, unknown id, malformed.
    let last = analyst.key.chars().last().unwrap();
    let flipped = format!("{}{}", &analyst.key[..analyst.key.len() - 1], if last == '0' { '1' } else { '0' });
    let swapped = format!("tm_{}_{}", analyst.info.id, feeder.key.rsplit('_').next().unwrap());
    let unknown = format!("tm_0000000000000000_{}", analyst.key.rsplit('_').next().unwrap());
    for wrong in [flipped.as_str(), &swapped, &unknown, "", "tm_", "Bearer x", &analyst.key[3..]] {
        assert!(verify_key(&store, wrong).unwrap().is_none(), "{wrong:?} refused");
    }

    keys::revoke(&store, &analyst.info.id, &Actor::cli()).unwrap();
    assert!(verify_key(&store, &analyst.key).unwrap().is_none(), "a revoked key is refused");
    assert!(verify_key(&store, &feeder.key).unwrap().is_some(), "other keys still work");
    assert!(matches!(keys::revoke(&store, &analyst.info.id, &Actor::cli()), Err(AuthError::AlreadyRevoked(_))));
    assert!(matches!(keys::revoke(&store, "nope", &Actor::cli()), Err(AuthError::NoSuchKey(_))));
    let listed = keys::list(&store).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().find(|k| k.id == analyst.info.id).unwrap().revoked.is_some());
}

#[test]
fn areas_are_required_for_analysts_must_exist_and_are_refused_for_others() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_regions(dir.path());
    let err = keys::create(&store, Role::Analyst, &[], "", &Actor::cli()).unwrap_err();
    assert!(matches!(err, AuthError::AreaRequired { role: Role::Analyst }), "{err}");
    let err = keys::create(&store, Role::Analyst, &areas(&["D1", "D9"]), "", &Actor::cli()).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("'D9'") && message.contains("D1") && message.contains("P1"), "{message}");
    for role in [Role::Recruiter, Role::Feeder, Role::Admin] {
        let err = keys::create(&store, role, &areas(&["D1"]), "", &Actor::cli()).unwrap_err();
        assert!(matches!(err, AuthError::AreaNotAllowed { .. }), "{role}: {err}");
    }
    // Public is the role of callers without credentials; the feed is a machine.
    assert!(matches!(
        keys::create(&store, Role::Public, &[], "", &Actor::cli()),
        Err(AuthError::RoleNotAllowed { .. })
    ));
    for role in [Role::Public, Role::Feeder] {
        let err = users::add(&store, "li", role, &[], PASSWORD, &Actor::cli()).unwrap_err();
        assert!(matches!(err, AuthError::RoleNotAllowed { .. }), "{role}: {err}");
    }
    let err = users::add(&store, "li", Role::Analyst, &areas(&["X"]), PASSWORD, &Actor::cli()).unwrap_err();
    assert!(matches!(err, AuthError::UnknownArea { .. }), "{err}");
    assert!(keys::list(&store).unwrap().is_empty() && users::list(&store).unwrap().is_empty(), "nothing stored");
}

#[test]
fn password_hash_is_argon2id_and_signs_in() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_regions(dir.path());
    let version = store.data_version().unwrap();
    users::add(&store, "li.na", Role::Analyst, &areas(&["P1"]), PASSWORD, &Actor::cli()).unwrap();
    let stored: String =
        store.conn().query_row("SELECT password_hash FROM auth_users WHERE name = 'li.na'", [], |r| r.get(0)).unwrap();
    assert!(stored.starts_with("$argon2id$v=19$"), "{stored}");
    assert!(!contains(&store_bytes(dir.path()), PASSWORD));
    assert!(talentmap::auth::password::verify(PASSWORD, &stored));
    assert!(!talentmap::auth::password::verify("correct horse battery ", &stored));

    let s = SessionSettings::default();
    match users::sign_in(&store, "li.na", PASSWORD, "10.0.0.1", &s, 1_000).unwrap() {
        SignIn::Accepted { principal, session } => {
            assert_eq!(principal.kind, PrincipalKind::User("li.na".into()));
            assert_eq!(principal.role, Role::Analyst);
            assert_eq!(principal.jurisdiction.iter().collect::<Vec<_>>(), ["P1"]);
            assert_eq!(session.expires, 1_000 + 8 * 3600);
        }
        other => panic!("expected a session, got {other:?}"),
    }
    assert!(matches!(
        users::sign_in(&store, "li.na", "wrong password!", "10.0.0.1", &s, 1_001).unwrap(),
        SignIn::Refused
    ));
    assert!(matches!(users::sign_in(&store, "nobody", PASSWORD, "10.0.0.1", &s, 1_002).unwrap(), SignIn::Refused));
    assert!(matches!(
        users::add(&store, "li.na", Role::Admin, &[], PASSWORD, &Actor::cli()),
        Err(AuthError::UserExists(_))
    ));
    assert!(matches!(
        users::add(&store, "x", Role::Admin, &[], "short", &Actor::cli()),
        Err(AuthError::PasswordTooShort { .. })
    ));
    assert!(matches!(
        users::add(&store, "a b", Role::Admin, &[], PASSWORD, &Actor::cli()),
        Err(AuthError::InvalidName { .. })
    ));
    assert_eq!(store.data_version().unwrap(), version, "credentials are not map data");
}

#[test]
fn sessions_expire_and_sign_out_ends_them_server_side() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_regions(dir.path());
    users::add(&store, "wang", Role::Recruiter, &[], PASSWORD, &Actor::cli()).unwrap();
    let s = SessionSettings { ttl_secs: 600 };
    let token = |now| match users::sign_in(&store, "wang", PASSWORD, "10.0.0.2", &s, now).unwrap() {
        SignIn::Accepted { session, .. } => session.token,
        other => panic!("{other:?}"),
    };
    let first = token(10_000);
    assert_eq!(sessions::verify(&store, &first, 10_599).unwrap().unwrap().role, Role::Recruiter);
    assert!(sessions::verify(&store, &first, 10_600).unwrap().is_none(), "expired at created + ttl");
    assert!(sessions::verify(&store, &first, 10_000).unwrap().is_none(), "an expired session is deleted");

    let second = token(20_000);
    let flip = if second.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{flip}", &second[..second.len() - 1]);
    assert!(!sessions::end(&store, &wrong).unwrap(), "a wrong secret ends nothing");
    assert!(sessions::verify(&store, &wrong, 20_001).unwrap().is_none());
    assert!(sessions::verify(&store, &second, 20_001).unwrap().is_some());
    assert!(sessions::end(&store, &second).unwrap());
    assert!(sessions::verify(&store, &second, 20_001).unwrap().is_none(), "signed out");
    assert!(!sessions::end(&store, &second).unwrap());

    let third = token(30_000);
    users::remove(&store, "wang", &Actor::cli()).unwrap();
    assert!(sessions::verify(&store, &third, 30_001).unwrap().is_none(), "a removed user's session ends");
    assert!(matches!(users::remove(&store, "wang", &Actor::cli()), Err(AuthError::NoSuchUser(_))));
}

#[test]
fn repeated_failures_lock_the_user_even_with_the_right_password() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_regions(dir.path());
    users::add(&store, "zhao", Role::Admin, &[], PASSWORD, &Actor::cli()).unwrap();
    let s = SessionSettings::default();
    for i in 0..talentmap::auth::signin::USER_MAX_FAILURES {
        let r = users::sign_in(&store, "zhao", "not the password", "10.1.1.1", &s, 5_000 + i as i64).unwrap();
        assert!(matches!(r, SignIn::Refused), "{r:?}");
    }
    let r = users::sign_in(&store, "zhao", PASSWORD, "10.2.2.2", &s, 5_010).unwrap();
    assert!(matches!(r, SignIn::Locked { retry_after_secs } if retry_after_secs > 0), "{r:?}");
    let later = 5_010 + talentmap::auth::signin::LOCKOUT_SECS;
    assert!(matches!(
        users::sign_in(&store, "zhao", PASSWORD, "10.2.2.2", &s, later).unwrap(),
        SignIn::Accepted { .. }
    ));
    // Every attempt is in the audit log, without the password.
    let entries = audit::list(&store, None, Some("user:zhao"), 100).unwrap();
    let results: Vec<&str> = entries.iter().map(|e| e.outcome.as_str()).collect();
    assert_eq!(results.iter().filter(|o| o.contains("refused")).count(), 5);
    assert_eq!(results.iter().filter(|o| o.contains("locked")).count(), 1);
    assert_eq!(results.iter().filter(|o| o.contains("accepted")).count(), 1);
    assert!(entries.iter().all(|e| !e.params.contains("password") && !e.params.contains(PASSWORD)));
}

/// A store with five audit entries (two of them from key and user changes).
fn audited_store(dir: &Path) -> Store {
    let store = store_with_regions(dir);
    keys::create(&store, Role::Feeder, &[], "feed", &Actor::cli()).unwrap();
    users::add(&store, "li", Role::Analyst, &areas(&["D1"]), PASSWORD, &Actor::cli()).unwrap();
    let reader = Actor { principal: "user:li".into(), role: Role::Analyst, client: "10.0.0.9".into() };
    for z in [15, 16, 17] {
        let params = serde_json::json!({"z": z, "x": 1, "y": 2});
        let outcome = serde_json::json!({"people": 2, "ids": ["p01", "p02"]});
        audit::append(&store, &reader, "GET /tiles/people/{z}/{x}/{y}.mvt", &params, &outcome).unwrap();
    }
    store
}

fn first_bad(store: &Store) -> u64 {
    match audit::verify(store) {
        Err(VerifyError::Broken(bad)) => bad.seq,
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

/// Tampering needs the append-only triggers out of the way, as an attacker
/// with the file would do.
fn drop_triggers(store: &Store) {
    store.conn().execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;").unwrap();
}

#[test]
fn intact_audit_chain_verifies_and_the_table_refuses_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = audited_store(dir.path());
    let head = audit::verify(&store).unwrap();
    assert_eq!(head.seq, 5);
    let entries = audit::list(&store, None, None, 100).unwrap();
    assert_eq!(entries.iter().map(|e| e.action.as_str()).take(2).collect::<Vec<_>>(), ["keys create", "users add"]);
    assert_eq!(entries[0].prev_hash, audit::GENESIS_HASH);
    assert!(entries.windows(2).all(|w| w[1].prev_hash == w[0].hash));
    assert_eq!(audit::list(&store, None, Some("user:li"), 2).unwrap().len(), 2);
    assert_eq!(audit::list(&store, Some("2999-01-01"), None, 100).unwrap().len(), 0);
    assert_eq!(audit::list(&store, Some("2000-01-01"), None, 100).unwrap().len(), 5);
    assert!(store.conn().execute("UPDATE audit SET outcome = '{}' WHERE seq = 3", []).is_err());
    assert!(store.conn().execute("DELETE FROM audit WHERE seq = 5", []).is_err());
    assert_eq!(audit::verify(&store).unwrap(), head);
    assert_eq!(store.data_version().unwrap(), 1, "only the regions import bumped it, not keys, users or audit entries");
}

#[test]
fn a_changed_entry_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = audited_store(dir.path());
    drop_triggers(&store);
    store.conn().execute("UPDATE audit SET outcome = '{\"people\":0}' WHERE seq = 3", []).unwrap();
    assert_eq!(first_bad(&store), 3);
}

#[test]
fn a_changed_entry_with_a_recomputed_hash_is_named_by_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = audited_store(dir.path());
    drop_triggers(&store);
    let mut entry = audit::list(&store, None, None, 100).unwrap().remove(2);
    entry.principal = "user:someone-else".into();
    entry.hash = entry.expected_hash();
    store
        .conn()
        .execute("UPDATE audit SET principal = ?1, hash = ?2 WHERE seq = 3", [&entry.principal, &entry.hash])
        .unwrap();
    assert_eq!(first_bad(&store), 4, "entry 4 no longer follows entry 3");
}

#[test]
fn a_deleted_middle_entry_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = audited_store(dir.path());
    drop_triggers(&store);
    store.conn().execute("DELETE FROM audit WHERE seq = 2", []).unwrap();
    assert_eq!(first_bad(&store), 2);
    // Renumbering the rest to close the gap does not hide it.
    store.conn().execute("UPDATE audit SET seq = seq - 1 WHERE seq > 2", []).unwrap();
    assert_eq!(first_bad(&store), 2);
}

#[test]
fn entries_deleted_from_the_end_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = audited_store(dir.path());
    drop_triggers(&store);
    store.conn().execute("DELETE FROM audit WHERE seq >= 4", []).unwrap();
    assert_eq!(first_bad(&store), 4);
    store.conn().execute("DELETE FROM audit", []).unwrap();
    assert_eq!(first_bad(&store), 1, "an emptied log is not intact");
}

#[test]
fn a_store_of_schema_1_gains_the_access_tables_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let store = store_with_regions(dir.path());
        store.conn().execute_batch(BACK_TO_SCHEMA_4).unwrap();
        store
            .conn()
            .execute_batch(
                "DROP TABLE auth_keys; DROP TABLE auth_users; DROP TABLE auth_sessions;
                 DROP TABLE auth_signin_failures; DROP TABLE audit;
                 DROP INDEX talents_pid; DROP INDEX talents_home; ALTER TABLE talents DROP COLUMN pid;
                 ALTER TABLE talents DROP COLUMN rkey; ALTER TABLE moves DROP COLUMN rkey;
                 PRAGMA user_version = 1;",
            )
            .unwrap();
    }
    let store = Store::open(&data).unwrap();
    assert_eq!(store.data_version().unwrap(), 1, "the map data is kept");
    let new = keys::create(&store, Role::Admin, &[], "", &Actor::cli()).unwrap();
    assert!(verify_key(&store, &new.key).unwrap().is_some());
    assert_eq!(audit::verify(&store).unwrap().seq, 1);
}
