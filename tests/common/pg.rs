//! A PostgreSQL database of its own for each test that needs one.
//!
//! The server is `TALENTMAP_TEST_POSTGRES` (a URL of a database the test
//! user may create databases from), by default the project's machines'
//! `postgres://postgres@127.0.0.1:5432/postgres`. Each database is named
//! `talentmap_test_<pid>_<n>` and dropped when the test is done; databases
//! left by test processes that no longer run are dropped on first use.

use std::sync::atomic::{AtomicU64, Ordering};

use talentmap::store::{Location, Store};

static NEXT: AtomicU64 = AtomicU64::new(0);
static SWEPT: std::sync::Once = std::sync::Once::new();

/// The admin URL tests create their databases from.
pub fn admin_url() -> String {
    std::env::var("TALENTMAP_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

fn admin() -> postgres::Client {
    let url = admin_url();
    postgres::Client::connect(&url, postgres::NoTls).unwrap_or_else(|e| {
        panic!("these tests need PostgreSQL at {url} (set TALENTMAP_TEST_POSTGRES to another server's URL): {e}")
    })
}

/// A new, empty database; dropped with the value.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn new() -> TestDb {
        let mut client = admin();
        SWEPT.call_once(|| sweep(&mut client));
        let name = format!("talentmap_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        client.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let admin = admin_url();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
        TestDb { url: format!("{base}/{name}"), name }
    }

    /// The store in this database, with local files under `dir`.
    pub fn location(&self, dir: &std::path::Path) -> Location {
        Location { dir: dir.to_path_buf(), url: Some(self.url.clone()) }
    }

    /// Opens the store in this database (local files under `dir`), with
    /// the tests' fixed pseudonym secret.
    pub fn store(&self, dir: &std::path::Path) -> Store {
        let store = self.location(dir).open().unwrap();
        store
            .conn()
            .execute("UPDATE meta SET value = ?1 WHERE key = 'pseudonym_secret'", [super::TEST_SECRET])
            .unwrap();
        store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&admin_url(), postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// Drops test databases whose process is gone.
fn sweep(client: &mut postgres::Client) {
    let Ok(rows) = client.query("SELECT datname FROM pg_database WHERE datname LIKE 'talentmap_test_%'", &[]) else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let pid = name.trim_start_matches("talentmap_test_").split('_').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}
