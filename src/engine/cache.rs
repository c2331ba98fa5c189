//! The verdict cache: sharded LRU keyed by file identity, tagged with the trust epoch.
//!
//! The key is the userspace analogue of IMA's i_version check: device, inode, size, mtime
//! and ctime of the file (and of its `.sig` sidecar), so a rewritten file misses. Every
//! entry remembers the trust epoch it was computed under and only answers a lookup made
//! under the same epoch, so a revoke, unlink, clear or blacklist addition can never leave a
//! stale "valid" behind. Unlike the kernel (whose IMA cache ignores keyring changes), this
//! cache is never allowed to lie about the current trust state.

use crate::verify::{ItemKind, Verdict};
use lru::LruCache;
use std::hash::BuildHasher;
use std::num::NonZeroUsize;
use std::sync::Mutex;

/// Identity of a file's content as the filesystem reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct FileId {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time: seconds since the epoch and nanoseconds (kept apart, so any
    /// timestamp a filesystem can hold fits; a single nanosecond count overflows past 2262).
    pub mtime: (i64, i64),
    /// Status change time, likewise (moves even when mtime is forged back).
    pub ctime: (i64, i64),
}

impl FileId {
    /// The identity in `meta` (from `fstat` or `stat`).
    pub fn of(meta: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// Hashing for cache keys. The key is a handful of integers chosen by the filesystem, not
/// by an attacker, so a multiply-xorshift mix replaces SipHash on the hot path.
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyHasher;

/// State of [`KeyHasher`].
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyHash(u64);

impl std::hash::Hasher for KeyHash {
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(*b as u64);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(23) ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_i64(&mut self, v: i64) {
        self.write_u64(v as u64);
    }

    fn write_u8(&mut self, v: u8) {
        self.write_u64(v as u64);
    }

    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }

    fn write_isize(&mut self, v: isize) {
        self.write_u64(v as u64);
    }
}

impl BuildHasher for KeyHasher {
    type Hasher = KeyHash;
    fn build_hasher(&self) -> KeyHash {
        KeyHash::default()
    }
}

/// The cache key: the item, the kind it is judged as and, for IMA, its signature sidecar.
///
/// The kind is part of the key because it comes from the name, not the content: a hard
/// link or symlink `x.bin` to `y.ko` is the same file judged two ways (an IMA file and a
/// module), and each must get its own verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// The item.
    pub file: FileId,
    /// How the item is judged.
    pub kind: ItemKind,
    /// Its `.sig` sidecar, when it has one.
    pub sig: Option<FileId>,
}

impl Default for CacheKey {
    /// A zero identity judged as a module (tests and benches vary the fields they need).
    fn default() -> Self {
        CacheKey {
            file: FileId::default(),
            kind: ItemKind::Module,
            sig: None,
        }
    }
}

/// Hit/miss counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheCounters {
    /// Lookups answered.
    pub hits: u64,
    /// Items verified because the cache could not answer (including items not looked up).
    pub misses: u64,
    /// Entries found but computed under an older epoch.
    pub stale: u64,
}

struct Shard {
    /// Bounded at the shard's capacity, so that once the shard is full an insert reuses the
    /// evicted entry's node and allocates nothing. Built with capacity 1 and then resized:
    /// `LruCache::new(cap)` would reserve the whole capacity up front (hundreds of MB for
    /// a million entries) and fault it in on the hot path; resizing only sets the bound.
    map: LruCache<CacheKey, (u64, Verdict), KeyHasher>,
    counters: CacheCounters,
}

/// Sharded so that threads rarely contend for one lock.
pub struct VerdictCache {
    shards: Vec<Mutex<Shard>>,
    /// Entries across shards (maintained on insert/evict; read without locking).
    entries: std::sync::atomic::AtomicUsize,
    /// Misses counted without a lookup (the engine skips looking into an empty cache).
    skipped: std::sync::atomic::AtomicU64,
    hasher: KeyHasher,
}

impl VerdictCache {
    /// `capacity` entries in total (0 disables caching).
    pub fn new(capacity: usize, threads: usize) -> VerdictCache {
        let n = (threads.max(1) * 4).next_power_of_two();
        let per = capacity.div_ceil(n);
        let per = NonZeroUsize::new(per).unwrap_or(NonZeroUsize::MIN);
        let shards = (0..n)
            .map(|_| {
                let mut map = LruCache::with_hasher(NonZeroUsize::MIN, KeyHasher);
                map.resize(per);
                Mutex::new(Shard {
                    map,
                    counters: CacheCounters::default(),
                })
            })
            .collect();
        VerdictCache {
            shards: if capacity == 0 { Vec::new() } else { shards },
            entries: Default::default(),
            skipped: Default::default(),
            hasher: Default::default(),
        }
    }

    fn shard(&self, k: &CacheKey) -> Option<&Mutex<Shard>> {
        if self.shards.is_empty() {
            return None;
        }
        let h = self.hasher.hash_one(k);
        Some(&self.shards[(h as usize) & (self.shards.len() - 1)])
    }

    /// The cached verdict, only if it was computed under `epoch`.
    pub fn get(&self, k: &CacheKey, epoch: u64) -> Option<Verdict> {
        let shard = self.shard(k)?;
        let mut s = shard.lock().unwrap_or_else(|p| p.into_inner());
        match s.map.get(k).copied() {
            Some((e, v)) if e == epoch => {
                s.counters.hits += 1;
                Some(v)
            }
            Some(_) => {
                s.counters.stale += 1;
                s.counters.misses += 1;
                None
            }
            None => {
                s.counters.misses += 1;
                None
            }
        }
    }

    /// Remembers `v` for `k`, computed under `epoch`; a full shard evicts its least
    /// recently used entry (and reuses its node: no allocation).
    pub fn put(&self, k: CacheKey, epoch: u64, v: Verdict) {
        if let Some(shard) = self.shard(&k) {
            let mut s = shard.lock().unwrap_or_else(|p| p.into_inner());
            // `push` returns the entry it displaced: the old value of the same key, or the
            // evicted least recently used entry; only a new key in a shard with room adds one.
            if s.map.push(k, (epoch, v)).is_none() {
                self.entries
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Records a miss for an item that was not looked up because the cache was empty.
    pub fn note_miss(&self) {
        self.skipped
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Counters summed over shards, and reset.
    pub fn take_counters(&self) -> CacheCounters {
        let mut c = CacheCounters {
            misses: self.skipped.swap(0, std::sync::atomic::Ordering::Relaxed),
            ..Default::default()
        };
        for s in &self.shards {
            let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
            c.hits += s.counters.hits;
            c.misses += s.counters.misses;
            c.stale += s.counters.stale;
            s.counters = CacheCounters::default();
        }
        c
    }

    /// Forgets every entry, keeping the shards' capacity: a repeated cold pass starts
    /// from the cache a first pass starts from (`run --repeat`).
    pub fn clear(&self) {
        for s in &self.shards {
            s.lock().unwrap_or_else(|p| p.into_inner()).map.clear();
        }
        self.entries.store(0, std::sync::atomic::Ordering::Relaxed);
        self.take_counters();
    }

    /// Entries, without taking any lock (exact when no put is in flight).
    pub fn approx_len(&self) -> usize {
        self.entries.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Entries, counted under each shard's lock.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).map.len())
            .sum()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{ItemKind, Verdict};

    #[test]
    fn a_full_cache_evicts_the_least_recently_used_and_keeps_its_count() {
        // One thread: 4 shards; capacity 4: one entry per shard.
        let c = VerdictCache::new(4, 1);
        let v = Verdict::unsigned(ItemKind::Module, "x");
        let keys: Vec<CacheKey> = (0..64u64)
            .map(|i| {
                let mut k = CacheKey::default();
                k.file.ino = i;
                k
            })
            .collect();
        for k in &keys {
            c.put(*k, 1, v);
        }
        assert_eq!(c.approx_len(), c.len());
        assert!(c.len() <= 4, "bounded: {}", c.len());
        let last = keys[63];
        assert_eq!(c.get(&last, 1), Some(v), "the newest entry is kept");
    }

    #[test]
    fn entries_answer_only_their_epoch() {
        let c = VerdictCache::new(16, 2);
        let k = CacheKey::default();
        let v = Verdict::unsigned(ItemKind::Module, "x");
        c.put(k, 3, v);
        assert_eq!(c.get(&k, 3), Some(v));
        assert_eq!(c.get(&k, 4), None);
        let n = c.take_counters();
        assert_eq!((n.hits, n.misses, n.stale), (1, 1, 1));
        assert_eq!(c.approx_len(), 1);
        c.put(k, 4, v);
        assert_eq!(c.approx_len(), 1, "same key: replaced, not added");
        let off = VerdictCache::new(0, 2);
        off.put(k, 3, v);
        assert_eq!(off.get(&k, 3), None);
    }
}
