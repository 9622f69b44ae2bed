//! Shared state: the current snapshot behind an `ArcSwap`, the store path
//! and settings. Cloning is cheap (a few `Arc`s).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;

use crate::model::Taxonomy;

use super::cache::TileCache;
use super::metrics::Metrics;
use crate::snapshot::{self, Snapshot, SnapshotError};
use crate::store::Store;

/// Settings that shape responses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Privacy threshold: aggregate cells with a count in `1..k` are
    /// suppressed.
    pub k: u32,
    /// Folder of the built web front end, served at `/`.
    pub web_dir: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { k: 5, web_dir: None }
    }
}

/// State shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    snapshot: Arc<ArcSwap<Snapshot>>,
    pub taxonomy: Arc<Taxonomy>,
    pub data_dir: Option<PathBuf>,
    pub settings: Arc<Settings>,
    pub snapshot_builds: Arc<AtomicU64>,
    pub tile_cache: Arc<TileCache>,
    pub metrics: Arc<Metrics>,
    /// Commute index of the current snapshot, built on first use.
    pub commute: Arc<super::commute::CommuteCache>,
    /// The bounded pool that CPU-bound request work runs on.
    pub compute: super::Compute,
    /// Held while rebuilding, so concurrent refreshes (the reloader, the
    /// moves feed) run one at a time and never publish an older version
    /// after a newer one.
    refreshing: Arc<std::sync::Mutex<()>>,
}

impl AppState {
    /// State over a snapshot that is already built.
    pub fn new(snapshot: Snapshot, data_dir: Option<PathBuf>, settings: Settings) -> AppState {
        AppState {
            taxonomy: snapshot.taxonomy.clone(),
            snapshot: Arc::new(ArcSwap::from_pointee(snapshot)),
            data_dir,
            settings: Arc::new(settings),
            snapshot_builds: Arc::new(AtomicU64::new(1)),
            tile_cache: Arc::new(TileCache::new(settings_cache_bytes())),
            metrics: Arc::new(Metrics::default()),
            commute: Arc::default(),
            compute: super::Compute::default(),
            refreshing: Arc::new(std::sync::Mutex::new(())),
        }
    }

    /// The current snapshot; holding it keeps it alive while newer ones are
    /// swapped in.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Swaps in a new snapshot.
    pub fn publish(&self, snapshot: Snapshot) {
        self.snapshot.store(Arc::new(snapshot));
        self.tile_cache.clear();
        self.snapshot_builds.fetch_add(1, Ordering::Relaxed);
    }

    /// Rebuilds from the store when its data version differs from the
    /// snapshot's. Returns the new version if it rebuilt.
    pub fn refresh(&self) -> Result<Option<u64>, SnapshotError> {
        let Some(dir) = &self.data_dir else { return Ok(None) };
        let _one_at_a_time = self.refreshing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut store = Store::open(dir)?;
        let current = store.data_version()?;
        if current == self.snapshot().version {
            return Ok(None);
        }
        let snap = snapshot::build(&mut store, self.taxonomy.clone())?;
        crate::analytics::cells::talent_pyramid(&snap);
        let version = snap.version;
        self.publish(snap);
        Ok(Some(version))
    }
}

/// Memory budget of the tile cache (256 MiB).
fn settings_cache_bytes() -> usize {
    256 << 20
}
