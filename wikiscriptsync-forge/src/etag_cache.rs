//! The ETag cache: the last answer to each conditional request (URL, media type, credential),
//! so that a `304 Not Modified` can be answered from memory. Bounded in entries and bytes: a
//! long-running process checks ever more repositories, and users name any URL, so the least
//! recently used answers are dropped first, and an answer too large to be worth keeping is
//! never kept.

use std::collections::HashMap;

/// Answers kept at most (a head probe per tracked branch, a repository answer per repository).
pub(crate) const MAX_ENTRIES: usize = 4096;
/// Bytes of bodies kept at most.
pub(crate) const MAX_BYTES: usize = 16 * 1024 * 1024;

/// What a cached answer is keyed by: the same URL read with another media type or token is
/// another answer (GitHub's ETags vary with both).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(crate) struct EtagKey {
    pub url: String,
    pub accept: &'static str,
    pub credential: String,
}

struct Entry {
    etag: String,
    body: Vec<u8>,
    /// The tick of the last use: the smallest is the least recently used.
    used: u64,
}

/// An LRU map of answers, bounded by [`MAX_ENTRIES`] and [`MAX_BYTES`] (or the bounds given).
pub(crate) struct EtagCache {
    entries: HashMap<EtagKey, Entry>,
    bytes: usize,
    tick: u64,
    max_entries: usize,
    max_bytes: usize,
}

impl Default for EtagCache {
    fn default() -> Self {
        Self::with_bounds(MAX_ENTRIES, MAX_BYTES)
    }
}

impl EtagCache {
    /// A cache keeping at most `max_entries` answers of at most `max_bytes` in all.
    pub(crate) fn with_bounds(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            entries: HashMap::new(),
            bytes: 0,
            tick: 0,
            max_entries: max_entries.max(1),
            max_bytes,
        }
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// The cached ETag for `key` (a use: it becomes the most recently used).
    pub(crate) fn etag(&mut self, key: &EtagKey) -> Option<String> {
        let tick = self.next_tick();
        let entry = self.entries.get_mut(key)?;
        entry.used = tick;
        Some(entry.etag.clone())
    }

    /// The cached body for `key` when it was stored with `etag`.
    pub(crate) fn body_for(&mut self, key: &EtagKey, etag: &str) -> Option<Vec<u8>> {
        let tick = self.next_tick();
        let entry = self.entries.get_mut(key)?;
        entry.used = tick;
        (entry.etag == etag).then(|| entry.body.clone())
    }

    /// Remembers an answer, dropping the least recently used ones to stay within the bounds.
    /// An answer larger than a quarter of the byte bound is not kept (it would push out many
    /// others; its request simply goes out in full next time).
    pub(crate) fn insert(&mut self, key: EtagKey, etag: String, body: Vec<u8>) {
        if let Some(old) = self.entries.remove(&key) {
            self.bytes -= old.body.len();
        }
        if body.len() > self.max_bytes / 4 {
            return;
        }
        while !self.entries.is_empty()
            && (self.entries.len() >= self.max_entries || self.bytes + body.len() > self.max_bytes)
        {
            self.evict_least_recently_used();
        }
        let used = self.next_tick();
        self.bytes += body.len();
        self.entries.insert(key, Entry { etag, body, used });
    }

    fn evict_least_recently_used(&mut self) {
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, entry)| entry.used)
            .map(|(key, _)| key.clone());
        if let Some(key) = oldest
            && let Some(entry) = self.entries.remove(&key)
        {
            self.bytes -= entry.body.len();
        }
    }

    /// Answers kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes of bodies kept.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: usize) -> EtagKey {
        EtagKey {
            url: format!("https://api.github.com/repos/o/r{n}"),
            accept: "application/json",
            credential: "anonymous".to_owned(),
        }
    }

    #[test]
    fn the_least_recently_used_answers_go_first_when_full() {
        let mut cache = EtagCache::with_bounds(3, 1024);
        for n in 0..3 {
            cache.insert(key(n), format!("\"e{n}\""), vec![0; 10]);
        }
        // Using 0 makes 1 the least recently used.
        assert_eq!(cache.etag(&key(0)).as_deref(), Some("\"e0\""));
        cache.insert(key(3), "\"e3\"".into(), vec![0; 10]);
        assert_eq!(cache.len(), 3);
        assert!(
            cache.etag(&key(1)).is_none(),
            "the least recently used is gone"
        );
        assert!(cache.etag(&key(0)).is_some() && cache.etag(&key(3)).is_some());
        assert_eq!(cache.body_for(&key(3), "\"e3\""), Some(vec![0; 10]));
        assert_eq!(cache.body_for(&key(3), "\"other\""), None);
    }

    #[test]
    fn the_bodies_kept_stay_within_the_byte_bound_however_many_urls() {
        let mut cache = EtagCache::with_bounds(1_000_000, 4000);
        for n in 0..10_000 {
            cache.insert(key(n), "\"e\"".into(), vec![1; 300]);
            assert!(cache.bytes() <= 4000, "{} bytes after {n}", cache.bytes());
        }
        assert_eq!(cache.len(), 13);
        // The newest are the ones kept.
        assert!(cache.etag(&key(9_999)).is_some() && cache.etag(&key(0)).is_none());
        // Replacing an answer replaces its bytes; one too large to keep is not kept.
        cache.insert(key(9_999), "\"f\"".into(), vec![1; 100]);
        assert_eq!(cache.bytes(), 12 * 300 + 100);
        cache.insert(key(42), "\"big\"".into(), vec![1; 1001]);
        assert!(cache.etag(&key(42)).is_none());
        assert_eq!(cache.len(), 13);
    }

    #[test]
    fn the_default_bounds_cap_entries() {
        let mut cache = EtagCache::default();
        for n in 0..MAX_ENTRIES + 100 {
            cache.insert(key(n), "\"e\"".into(), b"\"0123456789abcdef\"".to_vec());
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
    }
}
