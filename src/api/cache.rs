//! The bounded in-memory cache of encoded tiles, keyed by layer, z/x/y,
//! canonical filter and data version, on moka (the cache Martin uses).
//!
//! - **Byte budget.** Each entry weighs its key plus its bytes; the cache
//!   holds at most the budget (moka applies evictions in its housekeeping,
//!   so the total can run over for a moment between writes).
//! - **LRU.** moka's default admission policy (TinyLFU) may refuse a tile
//!   that was just rendered in favour of older ones; a map viewer asks for
//!   what it just saw again, so the least recently used entry goes first.
//! - **Single flight.** Concurrent misses of one key render it once: the
//!   first caller renders on the compute pool, the others wait for its bytes.
//!   A render that panics is not cached; the next request tries again.
//! - **Stored compressed, too.** A browser's request (`Accept-Encoding:
//!   gzip`) gets the tile's gzip form, made once and cached beside it; warm
//!   requests send stored bytes and compress nothing.
//! - **Kept by layer** when a snapshot is published: keys carry the version
//!   of the data their layer reads, so the tiles of a layer whose version
//!   did not change (enterprises, vacancies and stations after a moves
//!   batch) are still served, and those of a changed layer are never asked
//!   for again and go first when room is needed (least recently used). When
//!   every layer changed the cache is emptied at once. No per-entry
//!   invalidation rule is registered: that would cost every read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use tokio::sync::oneshot;

/// The gzip level of tiles and glyphs: libdeflate's fastest, which still
/// builds Huffman codes per block (unlike zlib's "quick" level 1 with fixed
/// codes, which left a CJK glyph range at 116,172 of 207,131 bytes).
const FAST_GZIP_LEVEL: u8 = 1;

/// Gzip at the fast level: on the load test's tiles 2.6 times as fast as
/// level 6, for 11 % more bytes.
pub fn gzip(raw: &[u8]) -> Bytes {
    Bytes::from(crate::encode::gzip(raw, FAST_GZIP_LEVEL))
}

/// Tile cache with a byte budget and single-flight renders.
pub struct TileCache {
    tiles: Cache<String, Bytes>,
    /// Keys being made ([`TileCache::once`]) and who waits for them.
    flights: Flights,
    budget: u64,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

/// A made value and the second entry made with it (a tile's gzip form).
type Made = (Bytes, Option<Bytes>);

/// The callers waiting for each key being made; `None` when it failed.
type Flights = Arc<Mutex<HashMap<String, Vec<oneshot::Sender<Option<Made>>>>>>;

fn lock(flights: &Flights) -> std::sync::MutexGuard<'_, HashMap<String, Vec<oneshot::Sender<Option<Made>>>>> {
    flights.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One key being made: answers its first caller and the waiters once, with
/// the value or, when dropped unanswered (a panic, a closed pool), with a
/// failure.
struct Flight {
    key: Option<String>,
    flights: Flights,
    tiles: Cache<String, Bytes>,
    first: Option<oneshot::Sender<Option<Made>>>,
}

impl Flight {
    fn fly(mut self, make: impl FnOnce() -> (Bytes, Option<(String, Bytes)>)) {
        let (bytes, second) = make();
        if let Some(key) = &self.key {
            self.tiles.insert(key.clone(), bytes.clone());
        }
        let second = second.map(|(key, value)| {
            self.tiles.insert(key, value.clone());
            value
        });
        self.land(Some((bytes, second)));
    }

    fn land(&mut self, made: Option<Made>) {
        let Some(key) = self.key.take() else { return };
        let waiters = lock(&self.flights).remove(&key).unwrap_or_default();
        for waiter in waiters {
            let _ = waiter.send(made.clone());
        }
        if let Some(first) = self.first.take() {
            let _ = first.send(made);
        }
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        self.land(None);
    }
}

/// The weight of one entry: key plus value bytes (moka weights are `u32`;
/// a tile is far below 4 GiB).
fn weight(key: &str, value: &Bytes) -> u32 {
    u32::try_from(key.len() + value.len()).unwrap_or(u32::MAX)
}

impl TileCache {
    /// A cache holding at most `budget_bytes` of keys and tiles.
    pub fn new(budget_bytes: usize) -> TileCache {
        let budget = budget_bytes as u64;
        let tiles = Cache::builder()
            .name("tiles")
            .max_capacity(budget)
            .weigher(|k: &String, v: &Bytes| weight(k, v))
            .eviction_policy(EvictionPolicy::lru())
            .build();
        TileCache { tiles, flights: Flights::default(), budget, hits: AtomicU64::new(0), misses: AtomicU64::new(0) }
    }

    /// The cached tile under `key`, counting a hit or a miss.
    pub fn get(&self, key: &str) -> Option<Bytes> {
        let found = self.tiles.get(key);
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// The cached value under `key`, counting nothing.
    pub fn peek(&self, key: &str) -> Option<Bytes> {
        self.tiles.get(key)
    }

    /// Stores a tile (a tile heavier than the whole budget is not kept).
    pub fn put(&self, key: String, value: Bytes) {
        self.tiles.insert(key, value);
    }

    /// The tile under `key`, rendering it on the compute pool on a miss and
    /// caching the result, with its gzip form when `gz_key` is given
    /// ([`Self::gzip_key`]; none for an empty tile). Returns the bytes, the
    /// gzip form and whether this call rendered them (for the render-time
    /// metric).
    ///
    /// A miss renders and compresses in one task on the compute pool: an
    /// uncached tile costs one hop to a compute thread, not one for the
    /// render and another for the compression. A hit compresses only when
    /// the gzip form is not held ([`Self::gzip_of`]).
    ///
    /// Concurrent calls for one key render once ([`Self::once`]): the others
    /// wait, holding no thread and no compute permit, and return the same
    /// bytes with `false`. A render that panics answers 500 and caches
    /// nothing.
    pub async fn get_or_render<F>(
        &self,
        key: String,
        gz_key: Option<String>,
        compute: &super::Compute,
        render: F,
    ) -> Result<(Bytes, Option<Bytes>, bool), super::ApiError>
    where
        F: FnOnce() -> Vec<u8> + Send + 'static,
    {
        if let Some(b) = self.get(&key) {
            let gz = match gz_key.filter(|_| !b.is_empty()) {
                Some(gz_key) => Some(self.gzip_of(gz_key, b.clone(), compute).await?),
                None => None,
            };
            return Ok((b, gz, false));
        }
        let wanted = gz_key.clone();
        let ((bytes, gz), rendered) = self
            .once(key, compute, move || {
                let raw = Bytes::from(render());
                let gz = gz_key.filter(|_| !raw.is_empty()).map(|gz_key| (gz_key, gzip(&raw)));
                (raw, gz)
            })
            .await?;
        let gz = match (gz, wanted.filter(|_| !bytes.is_empty())) {
            (_, None) => None,
            (Some(gz), Some(_)) => Some(gz),
            // Rendered for a caller that wanted no gzip form: made here.
            (None, Some(gz_key)) => Some(self.gzip_of(gz_key, bytes.clone(), compute).await?),
        };
        Ok((bytes, gz, rendered))
    }

    /// The key of the gzip form of the tile under `key`.
    pub fn gzip_key(key: &str) -> String {
        format!("{key}\u{0}gzip")
    }

    /// The gzip form of the tile `raw`, cached under `gz_key`
    /// ([`Self::gzip_key`]): compressed once (fast level, on the compute
    /// pool, single flight like a render) and kept beside the tile, so a
    /// warm request from a browser sends stored bytes instead of compressing
    /// them again. Not counted as a hit or a miss (the tile itself was).
    pub async fn gzip_of(
        &self,
        gz_key: String,
        raw: Bytes,
        compute: &super::Compute,
    ) -> Result<Bytes, super::ApiError> {
        if let Some(b) = self.tiles.get(&gz_key) {
            return Ok(b);
        }
        Ok(self.fill(gz_key, compute, move || gzip(&raw)).await?.0)
    }

    /// Makes the value of `key` on the compute pool, once for concurrent
    /// callers, and caches it; `true` for the call that made it.
    async fn fill(
        &self,
        key: String,
        compute: &super::Compute,
        make: impl FnOnce() -> Bytes + Send + 'static,
    ) -> Result<(Bytes, bool), super::ApiError> {
        let ((bytes, _), made) = self.once(key, compute, move || (make(), None)).await?;
        Ok((bytes, made))
    }

    /// Single flight: the first caller for `key` queues `make` on the
    /// compute pool and the callers that come while it runs wait for its
    /// result without a thread or a permit of their own. `make` returns the
    /// value of `key` and, optionally, a second entry (a tile's gzip form);
    /// both are cached before the waiters are answered, so a caller that
    /// comes after finds them. `true` for the caller whose `make` ran. A
    /// `make` that panics answers every caller with an error and caches
    /// nothing; it runs to the end even when its first caller went away.
    async fn once(
        &self,
        key: String,
        compute: &super::Compute,
        make: impl FnOnce() -> (Bytes, Option<(String, Bytes)>) + Send + 'static,
    ) -> Result<(Made, bool), super::ApiError> {
        let failed = || super::ApiError::Internal(format!("rendering {key} failed"));
        let waiting = {
            let mut flights = lock(&self.flights);
            match flights.get_mut(&key) {
                Some(waiters) => {
                    let (tx, rx) = oneshot::channel();
                    waiters.push(tx);
                    Some(rx)
                }
                None => {
                    flights.insert(key.clone(), Vec::new());
                    None
                }
            }
        };
        if let Some(rx) = waiting {
            return rx.await.ok().flatten().map(|made| (made, false)).ok_or_else(failed);
        }
        let (tx, rx) = oneshot::channel();
        let mut flight = Flight {
            key: Some(key.clone()),
            flights: self.flights.clone(),
            tiles: self.tiles.clone(),
            first: Some(tx),
        };
        // A flight that landed between the lookup of the caller and the
        // insert above has cached its value.
        if let Some(bytes) = self.tiles.get(&key) {
            flight.land(Some((bytes.clone(), None)));
            return Ok(((bytes, None), false));
        }
        compute.spawn(move || flight.fly(make));
        rx.await.ok().flatten().map(|made| (made, true)).ok_or_else(failed)
    }

    /// Drops every tile (a new snapshot was published).
    pub fn clear(&self) {
        self.tiles.invalidate_all();
    }

    /// Number of tiles held (after pending evictions are applied).
    pub fn len(&self) -> usize {
        self.tiles.run_pending_tasks();
        usize::try_from(self.tiles.entry_count()).unwrap_or(usize::MAX)
    }

    /// Whether no tile is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held (keys plus tiles, after pending evictions are applied).
    pub fn bytes(&self) -> u64 {
        self.tiles.run_pending_tasks();
        self.tiles.weighted_size()
    }

    /// The byte budget.
    pub fn budget(&self) -> u64 {
        self.budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ApiError, Compute};
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn keeps_the_newest_entry_over_budget() {
        // The old cache cut at the median tick and dropped the tile it had
        // just stored; the newest entry must survive.
        let cache = TileCache::new(100);
        cache.put("a".into(), Bytes::from(vec![0; 30]));
        cache.put("b".into(), Bytes::from(vec![0; 30]));
        cache.tiles.run_pending_tasks();
        assert!(cache.get("a").is_some());
        cache.put("c".into(), Bytes::from(vec![0; 50]));
        cache.tiles.run_pending_tasks();
        assert!(cache.get("c").is_some(), "the tile just stored survives");
        assert!(cache.get("b").is_none(), "b was least recently used");
        assert!(cache.get("a").is_some(), "a was used after b");
        cache.clear();
        assert!(cache.is_empty());
    }

    #[test]
    fn holds_at_most_the_byte_budget() {
        let cache = TileCache::new(10_000);
        for i in 0..500 {
            cache.put(format!("t/{i}"), Bytes::from(vec![1; 97 + i % 7]));
            cache.tiles.run_pending_tasks();
            assert!(cache.bytes() <= cache.budget(), "{} > {}", cache.bytes(), cache.budget());
        }
        assert!(cache.get("t/499").is_some(), "the newest tile is kept");
        assert!(cache.bytes() > 5_000, "the budget is used, {}", cache.bytes());
    }

    #[test]
    fn a_tile_heavier_than_the_budget_is_not_kept() {
        let cache = TileCache::new(64);
        cache.put("big".into(), Bytes::from(vec![0; 1000]));
        assert!(cache.bytes() <= 64);
        assert!(cache.get("big").is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_of_one_tile_render_once() {
        let cache = Arc::new(TileCache::new(1 << 20));
        let pool = Compute::new(2);
        let renders = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (cache, pool, renders) = (cache.clone(), pool.clone(), renders.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_render("talents/14/1/2".into(), None, &pool, move || {
                        renders.fetch_add(1, Ordering::SeqCst);
                        // Long enough that the other calls arrive meanwhile.
                        std::thread::sleep(std::time::Duration::from_millis(200));
                        vec![7; 10]
                    })
                    .await
            }));
        }
        let mut rendered_here = 0;
        for t in tasks {
            let (bytes, _, rendered) = t.await.expect("join").expect("render");
            assert_eq!(&bytes[..], &[7; 10]);
            rendered_here += usize::from(rendered);
        }
        assert_eq!(renders.load(Ordering::SeqCst), 1, "one render for sixteen concurrent misses");
        assert_eq!(rendered_here, 1, "exactly one call reports that it rendered");
    }

    #[tokio::test]
    async fn a_failed_render_is_not_cached() {
        let cache = TileCache::new(1 << 20);
        let pool = Compute::new(1);
        let r = cache.get_or_render("k".into(), None, &pool, || panic!("render failed")).await;
        assert!(matches!(r, Err(ApiError::Internal(_))));
        assert!(cache.get("k").is_none(), "nothing cached after a failure");
        let (bytes, _, rendered) =
            cache.get_or_render("k".into(), None, &pool, || vec![1, 2, 3]).await.expect("second try");
        assert!(rendered, "the second call renders again");
        assert_eq!(&bytes[..], &[1, 2, 3]);
        let (_, _, rendered) = cache.get_or_render("k".into(), None, &pool, || vec![9]).await.expect("cached");
        assert!(!rendered, "then it is cached");
        assert_eq!(cache.get("k").as_deref(), Some(&[1u8, 2, 3][..]));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_miss_renders_and_compresses_once_and_keeps_both() {
        use std::io::Read;
        let cache = Arc::new(TileCache::new(1 << 20));
        let pool = Compute::new(2);
        let raw: Vec<u8> = (0..4000u32).map(|i| (i % 13) as u8).collect();
        let renders = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (cache, pool, renders, raw) = (cache.clone(), pool.clone(), renders.clone(), raw.clone());
            tasks.push(tokio::spawn(async move {
                let gz_key = TileCache::gzip_key("t/1/0/0");
                cache
                    .get_or_render("t/1/0/0".into(), Some(gz_key), &pool, move || {
                        renders.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(100));
                        raw
                    })
                    .await
            }));
        }
        for t in tasks {
            let (bytes, gz, _) = t.await.expect("join").expect("render");
            assert_eq!(&bytes[..], &raw[..]);
            let mut unzipped = Vec::new();
            flate2::read::GzDecoder::new(&gz.expect("a gzip form")[..]).read_to_end(&mut unzipped).expect("gzip");
            assert_eq!(unzipped, raw, "every caller gets the gzip form of the same bytes");
        }
        assert_eq!(renders.load(Ordering::SeqCst), 1);
        let gz_key = TileCache::gzip_key("t/1/0/0");
        assert!(cache.peek(&gz_key).is_some(), "the gzip form is cached beside the tile");
        let (_, gz, rendered) =
            cache.get_or_render("t/1/0/0".into(), Some(gz_key), &pool, || unreachable!()).await.expect("hit");
        assert!(!rendered && gz.is_some(), "a hit sends both stored forms");
        // An empty tile (204) has no gzip form.
        let (bytes, gz, _) =
            cache.get_or_render("t/2/0/0".into(), Some(TileCache::gzip_key("t/2/0/0")), &pool, Vec::new).await.unwrap();
        assert!(bytes.is_empty() && gz.is_none());
        assert!(cache.peek(&TileCache::gzip_key("t/2/0/0")).is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_render_outlives_its_first_caller_and_serves_the_waiters() {
        use std::io::Read;
        let cache = Arc::new(TileCache::new(1 << 20));
        let pool = Compute::new(1);
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let first = {
            let (cache, pool) = (cache.clone(), pool.clone());
            tokio::spawn(async move {
                cache
                    .get_or_render("t/3/0/0".into(), None, &pool, move || {
                        let _ = started_tx.send(());
                        std::thread::sleep(std::time::Duration::from_millis(150));
                        vec![5; 64]
                    })
                    .await
            })
        };
        tokio::task::spawn_blocking(move || started_rx.recv()).await.expect("join").expect("render started");
        // A caller that wants the gzip form waits for the render of one that
        // did not, and the first caller goes away meanwhile.
        let waiter = {
            let (cache, pool) = (cache.clone(), pool.clone());
            tokio::spawn(async move {
                let gz_key = TileCache::gzip_key("t/3/0/0");
                cache.get_or_render("t/3/0/0".into(), Some(gz_key), &pool, || unreachable!()).await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        first.abort();
        let (bytes, gz, rendered) = waiter.await.expect("join").expect("the waiter's tile");
        assert!(!rendered, "the waiter did not render");
        assert_eq!(&bytes[..], &[5; 64]);
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gz.expect("made for the waiter")[..]).read_to_end(&mut unzipped).expect("gzip");
        assert_eq!(unzipped, vec![5; 64]);
        assert_eq!(cache.peek("t/3/0/0").as_deref(), Some(&[5u8; 64][..]), "cached although its caller went away");
    }
}
