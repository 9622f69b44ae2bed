//! Shared state: the current snapshot behind an `ArcSwap`, the store path
//! and settings. Cloning is cheap (a few `Arc`s).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::analytics::saved;
use crate::model::Taxonomy;

use super::cache::TileCache;
use super::metrics::Metrics;
use crate::snapshot::{self, Snapshot, SnapshotError};
use crate::store::Store;

/// Settings that shape responses, and the limits that keep the server
/// answering under load and abuse (documented in `docs/limits.md`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Privacy threshold: aggregate cells with a count in `1..k` are
    /// suppressed.
    pub k: u32,
    /// Folder of the built web front end, served at `/`.
    pub web_dir: Option<PathBuf>,
    /// The base URL clients reach the service at (scheme, host, optional
    /// port and path prefix, no trailing slash). Every absolute URL the API
    /// writes (TileJSON tile templates) starts with it; request headers such
    /// as `Host` or `X-Forwarded-Proto` are never trusted for this.
    pub public_url: String,
    /// Largest request body in bytes: a larger `Content-Length` is refused
    /// with 413 before the body is read, a chunked body is cut off there.
    pub max_body_bytes: usize,
    /// Longest path plus query string in bytes (414 beyond).
    pub max_uri_bytes: usize,
    /// Time budget of one request (503 with `Retry-After` beyond). The
    /// moves feed and `/health` are exempt.
    pub request_timeout: Duration,
    /// Requests handled at once; more are refused with 503 and
    /// `Retry-After` instead of queueing (`/health` is exempt).
    pub max_in_flight: usize,
    /// Requests per second each client may make on average; 0 turns the
    /// per-client rate limit off.
    pub rate_limit_per_sec: u32,
    /// Requests a client may make at once after being idle (the bucket
    /// size of the rate limit).
    pub rate_limit_burst: u32,
    /// Threads of the compute pool for CPU-bound request work.
    pub compute_threads: usize,
    /// Memory budget of the tile cache in bytes.
    pub tile_cache_bytes: usize,
    /// Who may call what (`docs/access.md`).
    pub access: super::AccessSettings,
    /// Folders (or files) of the fonts map glyphs are drawn from
    /// (`api::fonts`).
    pub font_dirs: Vec<PathBuf>,
    /// The city basemap served beneath the data (`serve --basemap`).
    pub basemap: Option<Arc<crate::basemap::Basemap>>,
}

/// Checks and normalises a public base URL: `http` or `https`, a host, no
/// query or fragment; the trailing slash is dropped.
pub fn normalise_public_url(url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("'{url}' must start with http:// or https://"))?;
    let host = rest.split('/').next().unwrap_or("");
    let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '"' | '<' | '>' | '\\' | '`');
    if host.is_empty() || url.chars().any(bad) {
        return Err(format!("'{url}' is not a base URL such as https://talent.example.gov.cn/map"));
    }
    Ok(url.to_string())
}

impl Settings {
    /// Default largest request body: 16 MiB (a full moves batch of 50,000
    /// moves is about 12 MB).
    pub const MAX_BODY_BYTES: usize = 16 << 20;
    /// Default longest path plus query: 8 KiB.
    pub const MAX_URI_BYTES: usize = 8 << 10;
    /// Default time budget of a request: 30 s.
    pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default requests in flight: 128.
    pub const MAX_IN_FLIGHT: usize = 128;
    /// Default per-client rate: 100 requests per second.
    pub const RATE_LIMIT_PER_SEC: u32 = 100;
    /// Default per-client burst: 200 requests.
    pub const RATE_LIMIT_BURST: u32 = 200;
    /// Default tile cache budget: 256 MiB.
    pub const TILE_CACHE_BYTES: usize = 256 << 20;
    /// Default font folder: where Debian installs fonts (`fonts-noto-cjk`).
    pub const FONT_DIR: &str = "/usr/share/fonts";
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            k: 5,
            web_dir: None,
            public_url: "http://127.0.0.1:8080".into(),
            max_body_bytes: Settings::MAX_BODY_BYTES,
            max_uri_bytes: Settings::MAX_URI_BYTES,
            request_timeout: Settings::REQUEST_TIMEOUT,
            max_in_flight: Settings::MAX_IN_FLIGHT,
            rate_limit_per_sec: Settings::RATE_LIMIT_PER_SEC,
            rate_limit_burst: Settings::RATE_LIMIT_BURST,
            compute_threads: super::Compute::default_size(),
            tile_cache_bytes: Settings::TILE_CACHE_BYTES,
            access: super::AccessSettings::default(),
            font_dirs: vec![PathBuf::from(Settings::FONT_DIR)],
            basemap: None,
        }
    }
}

/// The saved-derived-index view of `snap`: its commute index and the
/// briefing's catchments (built where they are not yet).
fn derived_of(snap: &Arc<Snapshot>, commute: &super::commute::CommuteCache, k: u32) -> saved::Derived {
    saved::Derived::of(snap, commute.get(snap), &super::briefing::catchment_queries(snap, k))
}

/// How long the snapshot saver waits for a burst of publishes to end.
const SAVE_SETTLE: Duration = Duration::from_secs(2);

/// How long the warming thread waits, after a snapshot a feed batch
/// published, for the next batch's before it builds that snapshot's derived
/// indexes (the first snapshot's, at start, at once). A feed sending batch
/// after batch publishes one every second or so: work begun on each would
/// be left for the next one's, and the snapshot it read would be held —
/// its arrays kept from the rooms the next batch's patch writes into — for
/// the seconds that work takes, paused by the batches.
const WARM_SETTLE: Duration = Duration::from_secs(2);

/// State shared by all handlers: one reference-counted pointer, so that
/// the middleware layers that take it by value clone one `Arc` per request,
/// not each field.
#[derive(Clone)]
pub struct AppState(Arc<StateInner>);

impl std::ops::Deref for AppState {
    type Target = StateInner;
    fn deref(&self) -> &StateInner {
        &self.0
    }
}

/// What [`AppState`] points at.
pub struct StateInner {
    snapshot: Arc<ArcSwap<Snapshot>>,
    pub taxonomy: Arc<Taxonomy>,
    /// The store this server reads and writes (`None`: a snapshot only).
    pub store: Option<Arc<crate::store::Pool>>,
    pub settings: Arc<Settings>,
    pub snapshot_builds: Arc<AtomicU64>,
    pub tile_cache: Arc<TileCache>,
    /// Tile request URIs answered before, for the warm path (`api::fast`).
    pub warm: super::fast::WarmTiles,
    pub metrics: Arc<Metrics>,
    /// Commute index of the current snapshot, built on first use.
    pub commute: Arc<super::commute::CommuteCache>,
    /// The briefing's catchments of the newest snapshot that has them.
    pub(super) catchments: Arc<super::briefing::LatestCatchments>,
    /// Past months' snapshots (`month=`), built on first use.
    pub(super) past: super::past::PastViews,
    /// The bounded pool that CPU-bound request work runs on.
    pub compute: super::Compute,
    /// Map glyphs from local fonts, scanned on first use.
    pub fonts: Arc<super::fonts::Fonts>,
    /// In-flight count and per-client rate buckets (see `limits`).
    pub limits: Arc<super::limits::Limits>,
    /// Credentials, sign-in and the audit log on the store (see `access`).
    pub auth: Arc<super::access::AuthService>,
    /// Held while rebuilding, so concurrent refreshes (the reloader, the
    /// moves feed) run one at a time and never publish an older version
    /// after a newer one.
    refreshing: Arc<std::sync::Mutex<()>>,
    /// The moves feed's connection (see [`AppState::with_feed_store`]).
    feed: std::sync::Mutex<Option<(Store, crate::import::FeedContext)>>,
    /// Held while a moves batch commits and patches the snapshot (both
    /// cores busy): background work pauses at its next pause point
    /// (`crate::pause`).
    batch_busy: Arc<crate::pause::Busy>,
    /// Builds each published snapshot's derived indexes in the background.
    warmer: std::sync::OnceLock<super::background::Follower>,
    /// Saves published snapshots for the next start (see
    /// [`Self::keep_saved_snapshot`]).
    saver: std::sync::OnceLock<super::background::Follower>,
}

impl AppState {
    /// State over a snapshot that is already built.
    /// `data_dir` holds a SQLite store.
    pub fn new(snapshot: Snapshot, data_dir: Option<PathBuf>, settings: Settings) -> AppState {
        AppState::on_store(snapshot, data_dir.map(|d| crate::store::Location::sqlite(&d)), settings)
    }

    /// State over a snapshot of the store at `location`.
    pub fn on_store(snapshot: Snapshot, location: Option<crate::store::Location>, settings: Settings) -> AppState {
        let store = location.map(|l| Arc::new(crate::store::Pool::for_server(l)));
        AppState(Arc::new(StateInner {
            taxonomy: snapshot.taxonomy.clone(),
            snapshot: Arc::new(ArcSwap::from_pointee(snapshot)),
            auth: Arc::new(super::access::AuthService::new(store.clone(), &settings.access)),
            store,
            snapshot_builds: Arc::new(AtomicU64::new(1)),
            // A quarter of the tile budget for the warm path's tiles
            // (shared bytes, so usually the same tiles, counted twice).
            tile_cache: Arc::new(TileCache::new(settings.tile_cache_bytes - settings.tile_cache_bytes / 4)),
            warm: super::fast::WarmTiles::new((settings.tile_cache_bytes / 4) as u64),
            metrics: Arc::new(Metrics::default()),
            commute: Arc::default(),
            catchments: Arc::default(),
            past: Default::default(),
            compute: super::Compute::new(settings.compute_threads),
            fonts: Arc::new(super::fonts::Fonts::new(settings.font_dirs.clone())),
            limits: Arc::new(super::limits::Limits::new(&settings)),
            settings: Arc::new(settings),
            refreshing: Arc::new(std::sync::Mutex::new(())),
            feed: std::sync::Mutex::new(None),
            batch_busy: Arc::default(),
            warmer: std::sync::OnceLock::new(),
            saver: std::sync::OnceLock::new(),
        }))
    }

    /// Builds the derived indexes of every published snapshot (the current
    /// one first) on a background thread, so that no request waits for
    /// one (see `background::warm_derived`).
    pub fn with_background_warming(self) -> AppState {
        let (commute, catchments, busy) = (self.commute.clone(), self.catchments.clone(), self.batch_busy.clone());
        let k = self.settings.k;
        // The first snapshot's indexes at full priority (nothing else
        // runs yet, and start waits for them); those of the snapshots a
        // feed publishes yield to its next batch and to requests.
        let first = std::sync::atomic::AtomicBool::new(true);
        // What each snapshot's indexes leave for the next one's.
        let carried = std::sync::Mutex::new(super::background::Carried::default());
        let settle = super::background::Settle { first: Duration::ZERO, then: WARM_SETTLE };
        let warmer = super::background::Follower::start("warm-derived", settle, move |snap| {
            if !first.swap(false, std::sync::atomic::Ordering::Relaxed) {
                super::background::yield_to_requests();
            }
            let mut carried = carried.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            // Stepping aside while a moves batch commits and patches.
            crate::pause::within(Some(&busy), || {
                super::background::warm_derived(snap, (&commute, &catchments), k, &mut carried)
            })
        });
        // A new follower has no snapshot waiting to replace.
        let _none = warmer.offer(self.snapshot());
        if self.warmer.set(warmer).is_err() {
            tracing::warn!("background warming was already on");
        }
        self
    }

    /// Saves every published snapshot to the data directory's
    /// `snapshot.bin`, and its slow derived indexes to `derived.bin`
    /// (`analytics::saved`), for the next start: in the background, at most
    /// once per burst of publishes, each file only when it does not hold
    /// that snapshot already. `instance` is the store's instance id.
    pub fn keep_saved_snapshot(self, instance: String) -> AppState {
        let Some(store) = &self.store else { return self };
        let dir = store.location().dir.clone();
        let (commute, k, current) = (self.commute.clone(), self.settings.k, self.snapshot.clone());
        let settle = super::background::Settle::every(SAVE_SETTLE);
        let saver = super::background::Follower::start("save-snapshot", settle, move |snap| {
            super::background::yield_to_requests();
            let identity = snapshot::file::Identity::current(&instance, snap.version, &snap.taxonomy);
            let path = snapshot::file::path_in(&dir);
            if snapshot::file::identity_of(&path).is_ok_and(|found| found == identity) {
                tracing::debug!(version = snap.version, "the saved snapshot is current");
            } else {
                let started = std::time::Instant::now();
                match snapshot::file::save(snap, &identity, &path) {
                    Ok(bytes) => tracing::info!(
                        version = snap.version,
                        mib = bytes >> 20,
                        ms = started.elapsed().as_millis() as u64,
                        file = %path.display(),
                        "snapshot saved for the next start"
                    ),
                    Err(e) => {
                        tracing::warn!(error = %e, file = %path.display(), "cannot save the snapshot; the next start rebuilds it");
                        return;
                    }
                }
            }
            let path = saved::path_in(&dir);
            if saved::identity_of(&path).is_ok_and(|found| found == (identity.clone(), saved::code_digest())) {
                return;
            }
            if !Arc::ptr_eq(&current.load_full(), snap) {
                // A newer snapshot is served (and offered next): building
                // this one's indexes would only push the newer ones out.
                return;
            }
            let started = std::time::Instant::now();
            // Built already by the warming thread (or waited for here).
            let derived = derived_of(snap, &commute, k);
            match saved::save(&path, &identity, &derived) {
                Ok(bytes) => tracing::info!(
                    version = snap.version,
                    mib = bytes >> 20,
                    ms = started.elapsed().as_millis() as u64,
                    file = %path.display(),
                    "derived indexes saved for the next start"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, file = %path.display(), "cannot save the derived indexes; the next start rebuilds them")
                }
            }
        });
        let _none = saver.offer(self.snapshot());
        if self.saver.set(saver).is_err() {
            tracing::warn!("the snapshot was already being saved");
        }
        self
    }

    /// The slow derived indexes of `snap` as `analytics::saved` keeps them
    /// (built now where they are not yet).
    pub fn derived(&self, snap: &Arc<Snapshot>) -> saved::Derived {
        derived_of(snap, &self.commute, self.settings.k)
    }

    /// Takes derived indexes read back from disk as the current snapshot's
    /// (they must have been read for it: `analytics::saved::load`).
    pub fn install_derived(&self, derived: saved::Derived) {
        let snap = self.snapshot();
        let commute = derived.install(&snap);
        self.commute.put(&snap, commute);
    }

    /// The current snapshot; holding it keeps it alive while newer ones are
    /// swapped in.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// The served snapshot, borrowed: cheaper than [`Self::snapshot`] for a
    /// look that does not outlive the request.
    pub(super) fn snapshot_guard(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.snapshot.load()
    }

    /// Swaps in a new snapshot.
    pub fn publish(&self, snapshot: Snapshot) {
        let snapshot = Arc::new(snapshot);
        let old = self.snapshot.swap(snapshot.clone());
        // Tile keys carry their layer's version: the tiles of unchanged
        // layers are still good, the others age out (see `cache`).
        if super::sources::every_layer_changed(&old, &snapshot) {
            self.tile_cache.clear();
            self.warm.clear();
        }
        // The followers get the new snapshot first: one still waiting in a
        // busy follower's slot (offered by the batch before, and replaced
        // now) may be the last reference to its city.
        let replaced: Vec<Arc<Snapshot>> = [self.warmer.get(), self.saver.get()]
            .into_iter()
            .flatten()
            .filter_map(|follower| follower.offer(snapshot.clone()))
            .collect();
        self.snapshot_builds.fetch_add(1, Ordering::Relaxed);
        // Freed off the publisher's path: a city's records took hundreds of
        // milliseconds to free at 4 M talents before the rooms kept its
        // largest arrays (0–1 ms since), and the rooms free what they drop.
        let freeing = std::thread::Builder::new().name("free-snapshot".into());
        let freed = move || {
            let (version, started) = (old.version, std::time::Instant::now());
            drop(replaced);
            // Freed here when this was its last holder.
            let last = Arc::strong_count(&old) == 1;
            drop(old);
            tracing::debug!(version, last, ms = started.elapsed().as_millis() as u64, "snapshot let go");
        };
        if let Err(e) = freeing.spawn(freed) {
            tracing::debug!(error = %e, "snapshot freed on the publisher's thread");
        }
    }

    /// Rebuilds from the store when its data version differs from the
    /// snapshot's. Returns the new version if it rebuilt.
    pub fn refresh(&self) -> Result<Option<u64>, SnapshotError> {
        let _one_at_a_time = self.refresh_lock();
        self.refresh_locked()
    }

    /// Held while the snapshot is replaced. A moves batch holds it from
    /// before its commit until its snapshot is published, so the reloader
    /// never starts a full rebuild for a version the batch is about to
    /// publish itself.
    pub fn refresh_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.refreshing.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn refresh_locked(&self) -> Result<Option<u64>, SnapshotError> {
        let Some(pool) = &self.store else { return Ok(None) };
        let built = pool.with(|store| -> Result<Option<Snapshot>, SnapshotError> {
            let current = store.data_version()?;
            let snap = self.snapshot();
            if current == snap.version {
                return Ok(None);
            }
            if current == snap.version + 1 {
                match snapshot::patch::follow_batch(store, &snap, current) {
                    Ok(Some(next)) => return Ok(Some(next)),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, version = current, "following a moves batch failed; rebuilding")
                    }
                }
            }
            Ok(Some(snapshot::build(store, self.taxonomy.clone())?))
        })?;
        Ok(built.map(|snap| self.warm_and_publish(snap)))
    }

    /// Held by a moves batch from its first read until it is answered, so
    /// that background work pauses (`crate::pause`): validating a batch
    /// uses one core, yet the derived indexes' passes over every talent
    /// beside it, on the other, made it half as slow again (shared caches
    /// and memory bandwidth).
    pub fn batch_underway(&self) -> crate::pause::Held {
        self.batch_busy.hold()
    }

    /// Commits a staged moves batch and follows it (call with
    /// [`Self::refresh_lock`] held since before the batch was staged): while
    /// the commit waits for the disk, a second thread patches the current
    /// snapshot with the batch's delta and builds its talent pyramid; the
    /// patched snapshot is published once the commit has succeeded, and
    /// dropped if it failed. When the current snapshot is not the version
    /// the batch was written on, the store is read again instead.
    /// `record` is written in the batch's transaction, as
    /// [`crate::import::Staged::commit_with`] does (and says whether).
    pub fn commit_and_follow(
        &self,
        mut staged: crate::import::Staged<'_>,
        record: impl FnOnce(&crate::store::db::Connection, &crate::import::BatchSummary) -> Result<(), String>,
    ) -> Result<(crate::import::BatchSummary, bool), crate::import::BatchError> {
        let Some(delta) = staged.take_delta() else { return staged.commit_with(record) };
        let current = self.snapshot();
        // Both cores are the batch's until the patched snapshot is made
        // and the commit is done.
        let busy = self.batch_busy.hold();
        let (committed, patched) = std::thread::scope(|s| {
            let patch = s.spawn(|| {
                let next = snapshot::patch::apply(&current, &delta)?;
                if let Some(next) = &next {
                    self.warm(next);
                }
                Ok::<_, SnapshotError>(next)
            });
            let committed = staged.commit_with(record);
            (committed, patch.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        drop(busy);
        // Let go before the new snapshot is published: the thread that
        // `publish` starts is then the replaced snapshot's last holder and
        // frees it there, not this batch before its answer.
        drop(current);
        let (summary, recorded) = committed?;
        let followed = match patched {
            Ok(Some(next)) => {
                let version = next.version;
                self.publish(next);
                Ok(Some(version))
            }
            Ok(None) => self.refresh_locked(),
            Err(e) => Err(e),
        };
        match followed {
            Ok(Some(version)) => tracing::info!(version, "moves batch: new snapshot published"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "snapshot after a moves batch failed; the reloader retries"),
        }
        Ok((summary, recorded))
    }

    /// Runs `f` on the moves feed's own connection to the store and the
    /// validation context kept with it (offered the served snapshot's
    /// enterprise ids), both kept between batches so that
    /// the page cache stays warm and the context is not read again while
    /// nothing else writes (call with [`Self::refresh_lock`] held). A batch
    /// that fails drops both; the next one opens a new connection.
    ///
    /// Batch after batch, SQLite's write-ahead log would never start over
    /// (see [`crate::store::checkpoint`]). When it has grown past its bound,
    /// a checkpoint is asked for now and `f` is given a gate that waits for
    /// it: a batch reads and replays while the checkpoint runs, and waits
    /// at the gate, before it takes the write lock, only for what is left
    /// of it ([`crate::import::stage_moves_gated`]).
    pub fn with_feed_store<R, E: From<crate::store::StoreError>>(
        &self,
        pool: &crate::store::Pool,
        f: impl FnOnce(&mut Store, &mut crate::import::FeedContext, Option<crate::import::Gate<'_>>) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut feed = self.feed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let gate = pool.ask_log_bound().map(|wait| -> crate::import::Gate<'_> {
            Box::new(move || {
                let started = std::time::Instant::now();
                let bounded = wait();
                let ms = started.elapsed().as_millis() as u64;
                tracing::debug!(?bounded, ms, "moves batch: waited for a checkpoint of the write-ahead log");
            })
        });
        let (mut store, mut context) = match feed.take() {
            Some(kept) => kept,
            None => (pool.open()?, crate::import::FeedContext::default()),
        };
        // The served snapshot knows every enterprise id of its data
        // version: validation reads them from there when the store is
        // still at it.
        let served = self.snapshot();
        context.offer_enterprises(served.version, served.enterprise_ids());
        // Not held through `f`: a batch publishes the snapshot that
        // replaces this one, which is freed where `publish` frees it.
        drop(served);
        let result = f(&mut store, &mut context, gate);
        if result.is_ok() {
            *feed = Some((store, context));
        }
        result
    }

    /// Readies the moves feed before its first batch comes
    /// ([`crate::import::FeedContext::ready`] through
    /// [`Self::with_feed_store`]): its connection and the second one
    /// opened, the validation context read. Otherwise the first batch after
    /// a start does this itself, on top of its own work. A batch that comes
    /// meanwhile waits on the feed's lock; a failure is logged and leaves
    /// the feed to open as a batch would. Whether the feed is ready.
    pub fn ready_feed(&self) -> bool {
        let Some(pool) = self.store.clone() else { return false };
        let _one_at_a_time = self.refresh_lock();
        let started = std::time::Instant::now();
        match self.with_feed_store(&pool, |store, context, _| context.ready(store, &self.taxonomy)) {
            Ok(()) => {
                tracing::debug!(ms = started.elapsed().as_millis() as u64, "moves feed ready");
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "the moves feed was not readied; its first batch opens it");
                false
            }
        }
    }

    /// Builds what a snapshot must have before it serves (the talent
    /// pyramid) and publishes it.
    fn warm_and_publish(&self, snap: Snapshot) -> u64 {
        self.warm(&snap);
        let version = snap.version;
        self.publish(snap);
        version
    }

    /// What a snapshot must have before it serves: the talent pyramid.
    fn warm(&self, snap: &Snapshot) {
        let started = std::time::Instant::now();
        let mib = crate::analytics::cells::talent_pyramid(snap).mib();
        tracing::debug!(ms = started.elapsed().as_millis() as u64, mib, "talent pyramid built");
    }
}

#[cfg(test)]
mod tests {
    use super::normalise_public_url;

    #[test]
    fn public_urls_are_checked() {
        assert_eq!(
            normalise_public_url("https://map.example.org/talent/").as_deref(),
            Ok("https://map.example.org/talent")
        );
        assert_eq!(normalise_public_url("http://127.0.0.1:8080").as_deref(), Ok("http://127.0.0.1:8080"));
        for bad in ["javascript://x/", "ftp://h", "http://", "https://h/a?b", "https://h/#x", "http://a b"] {
            assert!(normalise_public_url(bad).is_err(), "{bad}");
        }
    }
}
