//! The engine: items → verdicts across cores, with caching and per-stage timing.
//!
//! One pass verifies every item exactly once (every item yields exactly one outcome, in
//! input order). The trust store sits behind a read-write lock: a pass holds a read lock
//! per item — or, when the backend batches, per window of at most 16 items, from the first
//! item's probe to the last one's cache entry — so keyring changes (revoke, blacklist,
//! unlink) can happen between or during passes, and each verdict is computed and cached
//! under one consistent epoch.
//!
//! The per-item hot path reads top to bottom in `pipeline.rs`: probe, open, read, judge,
//! remember, and the batch window around them.

/// The verdict cache.
pub mod cache;
/// Stopping a run early on SIGINT/SIGTERM.
pub mod interrupt;
/// File mappings guarded against the file shrinking underneath (`--mmap`).
pub mod mapping;
mod pipeline;
/// Reading items, and the per-worker scratch.
pub mod read;

use crate::timing::STAGES;
use crate::trust::Store;
use crate::verify::{ima, ItemKind, Verdict};
use cache::{CacheCounters, VerdictCache};
/// Re-exported: the per-worker scratch and the path-based `security.ima` reader.
pub(crate) use pipeline::key_by_path;
use rayon::prelude::*;
pub use read::{has_ima_xattr, read_ima_label, read_ima_xattr, Scratch};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// One thing to verify: a path and the verifier that judges it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The file (for IMA items, the sidecar is this path plus `.sig`; it is read only when
    /// the file has no `security.ima`, or under `--ima-source sidecar`).
    pub path: PathBuf,
    /// Which verifier judges it.
    pub kind: ItemKind,
}

impl Item {
    /// An item whose kind follows from its name ([`ItemKind::of_path`], the one rule).
    pub fn from_path(path: PathBuf) -> Item {
        let kind = ItemKind::of_path(&path);
        Item { path, kind }
    }

    /// An item whose kind was declared elsewhere (a manifest's kind column), checked
    /// against the one rule: a manifest that calls a `.ko` an IMA file, or the other way
    /// round, would have `run` judge it differently from `verify` and `discover`.
    pub fn declared(path: PathBuf, kind: ItemKind) -> Result<Item, KindMismatch> {
        let by_name = ItemKind::of_path(&path);
        if by_name != kind {
            return Err(KindMismatch {
                path,
                declared: kind,
                by_name,
            });
        }
        Ok(Item { path, kind })
    }
}

/// A declared kind that the file's name contradicts (see [`Item::declared`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindMismatch {
    /// The item.
    pub path: PathBuf,
    /// The kind it was declared as.
    pub declared: ItemKind,
    /// The kind its name gives it.
    pub by_name: ItemKind,
}

impl std::fmt::Display for KindMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: declared {}, but its name makes it {} (modules are the files named {})",
            self.path.display(),
            self.declared.name(),
            match self.by_name {
                ItemKind::Module => "a module",
                ItemKind::Ima => "an IMA file",
            },
            crate::verify::MODULE_SUFFIXES.join(", ")
        )
    }
}

impl std::error::Error for KindMismatch {}

/// Walks `dir` for items: every regular file except `.sig` sidecars, sorted by path, each
/// with the kind its name gives it.
pub fn discover(dir: &Path) -> std::io::Result<Vec<Item>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let t = e.file_type()?;
            let p = e.path();
            if t.is_dir() {
                stack.push(p);
            } else if t.is_file() && !ima::is_sidecar(&p) {
                out.push(Item::from_path(p));
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Verdict cache entries in total (0: no cache).
    pub cache_size: usize,
    /// Files at least this large are mapped instead of read; `None` (the default): every
    /// file is read. Mapping is opt-in because it only pays for large files on some
    /// machines (results/reads.md), and because a mapped file that shrinks would fault:
    /// [`mapping`] absorbs that fault and the item gets the verdict of a file that shrank
    /// while it was read, but a plain `read` has no such hazard at all.
    pub mmap_threshold: Option<u64>,
    /// IMA policy choices that change verdicts.
    pub ima_policy: ima::ImaPolicy,
    /// Where IMA labels are read from: `security.ima` first (auto), only it, or only the
    /// `.sig` sidecar. Fixed for the engine's life, so cached verdicts need not carry it.
    pub ima_source: ima::ImaSourceMode,
    /// Per-stage timing (a few clock reads per item); off for plain verification.
    pub timing: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            cache_size: 1 << 20,
            mmap_threshold: None,
            ima_policy: ima::ImaPolicy::default(),
            ima_source: ima::ImaSourceMode::default(),
            timing: true,
        }
    }
}

/// One item's outcome: the verdict and what it cost.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    /// The kernel's verdict.
    pub verdict: Verdict,
    /// Nanoseconds per stage; they sum to `total_ns`.
    pub stage_ns: [u64; STAGES],
    /// Wall time of the item.
    pub total_ns: u64,
    /// Bytes of the item read (0 when served from the cache or not read).
    pub bytes: u64,
    /// Served from the verdict cache.
    pub cache_hit: bool,
    /// Set when the verdict is `EIO` because a file could not be opened or read: which
    /// file and how, so that a caller can report it without reopening anything.
    pub io: Option<IoFailure>,
    /// False for an item the pass never reached because a stop was requested
    /// ([`interrupt`]): its verdict is a placeholder, not a verdict, and callers leave it
    /// out of every count.
    pub verified: bool,
    /// The trust epoch the verdict was decided under (or served from the cache under):
    /// the one trust state that explains it, for callers that change keyrings during a
    /// pass (tests/mutation_load.rs checks every verdict against exactly that state).
    pub epoch: u64,
}

impl Outcome {
    /// A slot for an item not verified yet (a pass overwrites every slot it reaches; an
    /// interrupted pass leaves the rest as this).
    pub const PENDING: Outcome = Outcome {
        verdict: Verdict::invalid(ItemKind::Ima, crate::Errno::EIO, "not verified"),
        stage_ns: [0; STAGES],
        total_ns: 0,
        bytes: 0,
        cache_hit: false,
        io: None,
        verified: false,
        epoch: 0,
    };
}

/// Which of an item's files could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// The item itself.
    Item,
    /// The IMA item's `.sig` sidecar ([`ima::sidecar_path`] of the item's path).
    Sidecar,
}

/// Why an item's verdict is `EIO`: which file failed and how. `Copy` and allocation-free;
/// the path is the caller's ([`IoFailure::path`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoFailure {
    /// The file that failed.
    pub file: Which,
    /// How it failed.
    pub cause: IoCause,
}

impl IoFailure {
    /// The path of the file that failed, for the item at `item`.
    pub fn path(&self, item: &Path) -> PathBuf {
        match self.file {
            Which::Item => item.to_path_buf(),
            Which::Sidecar => ima::sidecar_path(item),
        }
    }
}

/// How opening or reading a file failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoCause {
    /// It exists but is not a regular file (directory, FIFO, device, socket): the kernel
    /// appraises regular files only, and reading the others could block or never end.
    NotRegularFile,
    /// A system call failed with this OS error number.
    Os(i32),
    /// A failure without an OS error number.
    Other(std::io::ErrorKind),
}

impl IoCause {
    /// The cause of an I/O error.
    pub fn of(e: &std::io::Error) -> IoCause {
        match e.raw_os_error() {
            Some(n) => IoCause::Os(n),
            None => IoCause::Other(e.kind()),
        }
    }

    /// The standard error kind.
    pub fn kind(self) -> std::io::ErrorKind {
        match self {
            IoCause::NotRegularFile => std::io::ErrorKind::InvalidInput,
            IoCause::Os(n) => std::io::Error::from_raw_os_error(n).kind(),
            IoCause::Other(k) => k,
        }
    }
}

impl From<IoCause> for std::io::Error {
    /// The standard error for a cause, so callers can report it with its path
    /// (`Error::Io`) as any other I/O failure.
    fn from(c: IoCause) -> std::io::Error {
        match c {
            IoCause::NotRegularFile => {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file")
            }
            IoCause::Os(n) => std::io::Error::from_raw_os_error(n),
            IoCause::Other(k) => k.into(),
        }
    }
}

impl std::fmt::Display for IoCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IoCause::NotRegularFile => f.write_str("not a regular file"),
            IoCause::Os(n) => std::io::Error::from_raw_os_error(*n).fmt(f),
            IoCause::Other(k) => k.fmt(f),
        }
    }
}

/// A whole pass (or one chunk of a streamed pass).
#[derive(Debug)]
pub struct PassResult {
    /// One outcome per item, in input order.
    pub outcomes: Vec<Outcome>,
    /// Wall time of the pass.
    pub wall: Duration,
    /// Threads of the pool it ran on.
    pub threads: usize,
    /// Cache hits and misses during the pass.
    pub cache: CacheCounters,
    /// A stop was requested ([`interrupt`]) and some items were not reached: their
    /// outcomes have `verified` false.
    pub interrupted: bool,
}

/// Worker threads for a request: `None` is every logical CPU; never fewer than one.
pub fn worker_threads(requested: Option<usize>) -> usize {
    requested
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// A rayon pool of `threads` workers for passes.
pub fn thread_pool(threads: usize) -> Result<rayon::ThreadPool, crate::Error> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| crate::Error::usage(format!("thread pool: {e}")))
}

/// The verifier with its trust store and cache.
pub struct Engine {
    /// The trust state; passes take a read lock per item, keyring changes a write lock.
    pub store: RwLock<Store>,
    /// Verdicts by file identity, tagged with the trust epoch.
    pub cache: VerdictCache,
    /// Settings fixed for the engine's life.
    pub config: EngineConfig,
    /// One scratch per worker thread (by rayon thread index), kept across chunks and
    /// passes: buffers stay grown, the directory handle open and embedded certificates
    /// parsed, instead of starting afresh whenever rayon splits the work.
    workers: Vec<Mutex<Scratch>>,
    /// Whether the store's backend batches ([`crate::crypto::Backend::batches`]), asked
    /// once here. Only a choice of path: with a store swapped in later for one whose
    /// backend differs, either path still gives every verdict exactly (nothing is queued
    /// for keys without lane constants).
    batches: bool,
}

impl Engine {
    /// An engine over `store`; `threads` sizes the cache's sharding.
    pub fn new(store: Store, config: EngineConfig, threads: usize) -> Engine {
        let cpus = worker_threads(None);
        let batches = store.backend().batches();
        Engine {
            batches,
            store: RwLock::new(store),
            cache: VerdictCache::new(config.cache_size, threads),
            config,
            workers: (0..threads.max(cpus))
                .map(|_| Mutex::new(Scratch::default()))
                .collect(),
        }
    }

    /// Verifies every item once on `pool`, using the cache.
    pub fn pass(&self, items: &[Item], pool: &rayon::ThreadPool) -> PassResult {
        self.begin_pass(CachePolicy::Use).run(items, pool)
    }

    /// Starts a pass and decides, once, how it uses the cache (see [`CacheMode`]). A caller
    /// that streams a corpus in chunks runs every chunk through the same [`Pass`], so the
    /// later chunks of a cold pass do not probe a cache the earlier chunks filled.
    pub fn begin_pass(&self, policy: CachePolicy) -> Pass<'_> {
        let mode = match policy {
            CachePolicy::Bypass => CacheMode::Off,
            CachePolicy::Use if self.config.cache_size == 0 => CacheMode::Off,
            // Look items up by path before opening them only when the cache held entries
            // when the pass began: during a cold pass the cache fills up, and probing it
            // for items that cannot be there would cost a stat each.
            CachePolicy::Use if self.cache.approx_len() > 0 => CacheMode::LookupAndFill,
            CachePolicy::Use => CacheMode::Fill,
        };
        Pass { engine: self, mode }
    }
}

/// What the caller of a pass wants from the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CachePolicy {
    /// Use it: serve what it holds, remember what the pass decides.
    Use,
    /// Neither read nor fill it (scaling runs and references, where every item must be
    /// verified).
    Bypass,
}

/// How one pass uses the cache, decided by [`Engine::begin_pass`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheMode {
    /// No cache.
    Off,
    /// The cache was empty when the pass began: open every item, remember the verdicts.
    Fill,
    /// Probe the cache by path before opening, and remember new verdicts.
    LookupAndFill,
}

impl CacheMode {
    /// Whether the pass remembers its verdicts.
    pub fn fills(self) -> bool {
        self != CacheMode::Off
    }

    /// Whether the pass looks items up before opening them.
    pub fn looks_up(self) -> bool {
        self == CacheMode::LookupAndFill
    }
}

/// One pass of the engine over a corpus, possibly streamed in chunks: the cache mode is
/// decided once, when it begins.
pub struct Pass<'e> {
    engine: &'e Engine,
    mode: CacheMode,
}

/// Items per worker chunk, at most: a chunk is the unit a worker takes at once (a batching
/// backend's windows are cut from it).
const CHUNK_MAX: usize = 64;

impl Pass<'_> {
    /// The cache mode this pass decided on.
    pub fn mode(&self) -> CacheMode {
        self.mode
    }

    /// Verifies every item of one chunk once on `pool`; every item yields exactly one
    /// outcome, in input order. Workers take the items in chunks (several per thread, for
    /// balance) and run each chunk with their own scratch.
    pub fn run(&self, items: &[Item], pool: &rayon::ThreadPool) -> PassResult {
        let e = self.engine;
        e.cache.take_counters();
        let t = Instant::now();
        let threads = pool.current_num_threads();
        let chunk = (items.len() / (threads * 4).max(1)).clamp(1, CHUNK_MAX);
        let mut outcomes = vec![Outcome::PENDING; items.len()];
        pool.install(|| {
            outcomes
                .par_chunks_mut(chunk)
                .zip(items.par_chunks(chunk))
                .for_each(|(out, chunk)| {
                    // The worker's own scratch; a fresh one only for a thread beyond the
                    // engine's slots (a larger pool) or a slot in use by another pool.
                    let slot = rayon::current_thread_index().and_then(|i| e.workers.get(i));
                    match slot.and_then(|m| m.try_lock().ok()) {
                        Some(mut s) => e.run_chunk(self.mode, chunk, out, &mut s),
                        None => e.run_chunk(self.mode, chunk, out, &mut Scratch::default()),
                    }
                })
        });
        let wall = t.elapsed();
        PassResult {
            interrupted: outcomes.iter().any(|o| !o.verified),
            outcomes,
            wall,
            threads,
            cache: e.cache.take_counters(),
        }
    }

    /// Verifies one item with the caller's scratch (benches, single-item callers).
    pub fn verify_item(&self, item: &Item, s: &mut Scratch) -> Outcome {
        self.engine.verify_one(self.mode, item, s)
    }

    /// Verifies `items` as one worker's chunk on the caller's thread with the caller's
    /// scratch, `out[i]` for `items[i]` — in batch windows when the backend batches, as a
    /// pass's workers do (benches, and the allocation test of the batched path).
    pub fn verify_chunk(&self, items: &[Item], out: &mut [Outcome], s: &mut Scratch) {
        let n = items.len().min(out.len());
        self.engine
            .run_chunk(self.mode, &items[..n], &mut out[..n], s);
    }
}
