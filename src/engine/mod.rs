//! The engine: items → verdicts across cores, with caching and per-stage timing.
//!
//! One pass verifies every item exactly once (every item yields exactly one outcome, in
//! input order). The trust store sits behind a read-write lock: a pass holds a read lock
//! per item, so keyring changes (revoke, blacklist, unlink) can happen between or during
//! passes, and each verdict is computed and cached under one consistent epoch.

pub mod cache;
pub mod read;

use crate::formats::{decompress, imasig};
use crate::timing::{self, Stage, STAGES};
use crate::trust::Store;
use crate::verify::{ima, module, ItemKind, Verdict};
use cache::{CacheCounters, CacheKey, FileId, VerdictCache};
use rayon::prelude::*;
use read::Scratch;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// One thing to verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub path: PathBuf,
    pub kind: ItemKind,
}

impl Item {
    /// Kind from the file name: `.ko` (and compressed variants) are modules.
    pub fn from_path(path: PathBuf) -> Item {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let module = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
            .iter()
            .any(|s| name.ends_with(s));
        Item {
            path,
            kind: if module {
                ItemKind::Module
            } else {
                ItemKind::Ima
            },
        }
    }
}

/// Walks `dir` for items: every regular file except `.sig` sidecars, sorted by path.
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
            } else if t.is_file() && p.extension().is_none_or(|x| x != "sig") {
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
    pub cache_size: usize,
    pub mmap_threshold: u64,
    pub ima_policy: ima::ImaPolicy,
    /// Per-stage timing (a few clock reads per item); off for plain verification.
    pub timing: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            cache_size: 1 << 20,
            mmap_threshold: 1 << 20,
            ima_policy: ima::ImaPolicy::default(),
            timing: true,
        }
    }
}

/// One item's outcome.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    pub verdict: Verdict,
    /// Nanoseconds per stage; they sum to `total_ns`.
    pub stage_ns: [u64; STAGES],
    pub total_ns: u64,
    pub bytes: u64,
    pub cache_hit: bool,
}

/// A whole pass.
#[derive(Debug)]
pub struct PassResult {
    pub outcomes: Vec<Outcome>,
    pub wall: Duration,
    pub threads: usize,
    pub cache: CacheCounters,
}

/// The verifier with its trust store and cache.
pub struct Engine {
    pub store: RwLock<Store>,
    pub cache: VerdictCache,
    pub config: EngineConfig,
}

impl Engine {
    pub fn new(store: Store, config: EngineConfig, threads: usize) -> Engine {
        Engine {
            store: RwLock::new(store),
            cache: VerdictCache::new(config.cache_size, threads),
            config,
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

    fn verify_item_with(
        &self,
        item: &Item,
        s: &mut Scratch,
        cached: bool,
        lookup: bool,
    ) -> Outcome {
        let t0 = Instant::now();
        if self.config.timing {
            timing::begin(Stage::Read);
        }
        let store = self.store.read().unwrap_or_else(|p| p.into_inner());
        let (verdict, bytes, hit) = self.verify_locked(&store, item, s, cached, lookup);
        drop(store);
        let stage_ns = timing::end();
        Outcome {
            verdict,
            stage_ns,
            total_ns: t0.elapsed().as_nanos() as u64,
            bytes,
            cache_hit: hit,
        }
    }

    fn verify_locked(
        &self,
        store: &Store,
        item: &Item,
        s: &mut Scratch,
        cached: bool,
        lookup: bool,
    ) -> (Verdict, u64, bool) {
        let epoch = store.epoch();
        if item.kind == ItemKind::Ima {
            s.sig_path.clear();
            s.sig_path.push(item.path.as_os_str());
            s.sig_path.push(".sig");
        }
        // Warm path: when the cache holds entries, look the item up by its path's identity
        // before opening anything (one stat, plus one for an IMA sidecar).
        if cached {
            let looked = lookup
                && match key_by_path(item, &s.sig_path) {
                    Some(key) => {
                        timing::mark(Stage::Cache);
                        if let Some(v) = self.cache.get(&key, epoch) {
                            return (v, 0, true);
                        }
                        timing::mark(Stage::Read);
                        true
                    }
                    None => false,
                };
            if !looked {
                self.cache.note_miss();
            }
        }
        // Cold path: open first and take the identity from the descriptor, so each path is
        // resolved once. Only regular files are read (a FIFO or device would block or never
        // end); a sidecar that exists but cannot be read is an I/O error, never "unsigned".
        let Ok(mut file) = read::open_in_dir(s, &item.path, b"") else {
            return (io_error(item.kind), 0, false);
        };
        let meta = match file.metadata() {
            Ok(m) if m.is_file() => m,
            _ => return (io_error(item.kind), 0, false),
        };
        let mut key = CacheKey {
            file: FileId::of(&meta),
            sig: None,
        };
        let sig_file = match item.kind {
            ItemKind::Ima => match read::open_in_dir(s, &item.path, b".sig") {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(_) => return (io_error(item.kind), 0, false),
                Ok(f) => Some(f),
            },
            ItemKind::Module => None,
        };
        let Scratch {
            buf, sig, plain, ..
        } = s;
        let mut sig_len = None;
        if let Some(mut f) = sig_file {
            // With the cache on, the sidecar's identity is part of the key (fstat). Without
            // it, one bounded read is enough: a signature header limits the value to
            // 9 + 65535 bytes.
            let read = if cached {
                f.metadata().and_then(|m| {
                    if !m.is_file() {
                        return Err(std::io::ErrorKind::InvalidInput.into());
                    }
                    key.sig = Some(FileId::of(&m));
                    read::read_into(&mut f, m.len() as usize, sig)
                })
            } else {
                read::read_once(&mut f, imasig::HEADER_LEN + 65536, sig)
            };
            match read {
                Ok(n) => sig_len = Some(n),
                Err(_) => return (io_error(item.kind), 0, false),
            }
        }
        let len = meta.len();
        let verdict = match read::read_file(&mut file, len, self.config.mmap_threshold, buf) {
            Err(_) => io_error(item.kind),
            Ok(data) => match item.kind {
                ItemKind::Module => Self::module(store, data.bytes(), plain),
                ItemKind::Ima => {
                    let policy = self.config.ima_policy;
                    match sig_len {
                        Some(n) => ima::verify_ima(store, data.bytes(), Some(&sig[..n]), policy),
                        None => {
                            let x = read_ima_xattr(&item.path);
                            ima::verify_ima(store, data.bytes(), x.as_deref(), policy)
                        }
                    }
                }
            },
        };
        drop(file);
        if cached {
            timing::mark(Stage::Cache);
            self.cache.put(key, epoch, verdict);
        }
        (verdict, len, false)
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
    fn fills(self) -> bool {
        self != CacheMode::Off
    }
    fn looks_up(self) -> bool {
        self == CacheMode::LookupAndFill
    }
}

/// One pass of the engine over a corpus, possibly streamed in chunks.
pub struct Pass<'e> {
    engine: &'e Engine,
    mode: CacheMode,
}

impl Pass<'_> {
    /// The cache mode this pass decided on.
    pub fn mode(&self) -> CacheMode {
        self.mode
    }

    /// Verifies every item of one chunk once on `pool`; every item yields exactly one
    /// outcome, in input order.
    pub fn run(&self, items: &[Item], pool: &rayon::ThreadPool) -> PassResult {
        let e = self.engine;
        e.cache.take_counters();
        let t = Instant::now();
        let outcomes = pool.install(|| {
            items
                .par_iter()
                .map_init(Scratch::default, |s, item| {
                    e.verify_item_with(item, s, self.mode.fills(), self.mode.looks_up())
                })
                .collect()
        });
        PassResult {
            outcomes,
            wall: t.elapsed(),
            threads: pool.current_num_threads(),
            cache: e.cache.take_counters(),
        }
    }

    /// Verifies one item with the caller's scratch (benches, single-item callers).
    pub fn verify_item(&self, item: &Item, s: &mut Scratch) -> Outcome {
        self.engine
            .verify_item_with(item, s, self.mode.fills(), self.mode.looks_up())
    }
}

impl Engine {
    /// A module file, decompressed first when it is `.ko.gz`/`.xz`/`.zst` (by magic).
    fn module(store: &Store, data: &[u8], plain: &mut Vec<u8>) -> Verdict {
        let ring = store.system().secondary.unwrap_or(store.system().builtin);
        let Some(c) = decompress::Compression::detect(data) else {
            return module::verify_module(store, data, ring);
        };
        timing::mark(Stage::Decompress);
        match decompress::decompress(c, data, plain) {
            Ok(()) => module::verify_module(store, plain, ring),
            Err(_) => Verdict::invalid(
                ItemKind::Module,
                crate::Errno::EBADMSG,
                "corrupt compressed module",
            ),
        }
    }
}

/// The cache key from path lookups only (no open): the item and its sidecar, if any.
fn key_by_path(item: &Item, sig_path: &std::ffi::OsStr) -> Option<CacheKey> {
    let m = std::fs::metadata(&item.path).ok().filter(|m| m.is_file())?;
    let sig = match item.kind {
        ItemKind::Module => None,
        ItemKind::Ima => match std::fs::metadata(Path::new(sig_path)) {
            Ok(m) => Some(FileId::of(&m)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(_) => return None,
        },
    };
    Some(CacheKey {
        file: FileId::of(&m),
        sig,
    })
}

fn io_error(kind: ItemKind) -> Verdict {
    Verdict::invalid(kind, crate::Errno::EIO, "cannot read the file")
}

/// `security.ima`, if set.
pub fn read_ima_xattr(path: &Path) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let p = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let name = c"security.ima";
    // Ask for the size first: signatures of large RSA keys exceed any fixed buffer. Retry
    // if the value grew in between (ERANGE).
    for _ in 0..3 {
        // SAFETY: valid C strings; a NULL buffer with size 0 only queries the length.
        let n = unsafe { libc::getxattr(p.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0) };
        if n <= 0 {
            return None;
        }
        let mut buf = vec![0u8; n as usize];
        // SAFETY: valid C strings and a buffer of the stated size.
        let r = unsafe {
            libc::getxattr(
                p.as_ptr(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if r >= 0 {
            buf.truncate(r as usize);
            return Some(buf);
        }
    }
    None
}
