//! A bounded in-memory cache of encoded tiles, keyed by layer, z/x/y,
//! canonical filter and data version. Cleared when a new snapshot is
//! published; when over budget the least recently used half is evicted.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;

/// Tile cache with a byte budget.
pub struct TileCache {
    inner: Mutex<Inner>,
    budget: usize,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

struct Inner {
    map: HashMap<String, (Bytes, u64)>,
    bytes: usize,
    tick: u64,
}

impl TileCache {
    pub fn new(budget_bytes: usize) -> TileCache {
        TileCache {
            inner: Mutex::new(Inner { map: HashMap::new(), bytes: 0, tick: 0 }),
            budget: budget_bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub fn get(&self, key: &str) -> Option<Bytes> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.tick += 1;
        let tick = inner.tick;
        let found = inner.map.get_mut(key).map(|entry| {
            entry.1 = tick;
            entry.0.clone()
        });
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    pub fn put(&self, key: String, value: Bytes) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.tick += 1;
        let tick = inner.tick;
        inner.bytes += value.len() + key.len();
        if let Some((old, _)) = inner.map.insert(key.clone(), (value, tick)) {
            inner.bytes -= old.len() + key.len();
        }
        if inner.bytes > self.budget {
            let mut ticks: Vec<u64> = inner.map.values().map(|e| e.1).collect();
            ticks.sort_unstable();
            let cutoff = ticks[ticks.len() / 2];
            inner.map.retain(|_, e| e.1 > cutoff);
            inner.bytes = inner.map.iter().map(|(k, e)| k.len() + e.0.len()).sum();
        }
    }

    /// The tile under `key`, rendering it on the compute pool on a miss and
    /// caching the result. Returns the bytes and whether this call rendered
    /// them (for the render-time metric).
    pub async fn get_or_render<F>(
        &self,
        key: String,
        compute: &super::Compute,
        render: F,
    ) -> Result<(Bytes, bool), super::ApiError>
    where
        F: FnOnce() -> Vec<u8> + Send + 'static,
    {
        if let Some(b) = self.get(&key) {
            return Ok((b, false));
        }
        let bytes = Bytes::from(compute.run(render).await?);
        self.put(key, bytes.clone());
        Ok((bytes, true))
    }

    pub fn clear(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.map.clear();
        inner.bytes = 0;
    }

    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.map.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_over_budget() {
        let cache = TileCache::new(100);
        cache.put("a".into(), Bytes::from(vec![0; 30]));
        cache.put("b".into(), Bytes::from(vec![0; 30]));
        assert!(cache.get("a").is_some());
        cache.put("c".into(), Bytes::from(vec![0; 50]));
        assert!(cache.get("b").is_none(), "b was least recently used");
        assert!(cache.get("c").is_some());
        cache.clear();
        assert!(cache.is_empty());
    }
}
