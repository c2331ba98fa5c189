//! The ceiling: raw primitive costs measured in the same run, with the same number of
//! threads running at once (a 2-core VM does not scale 2× even for pure arithmetic, and
//! that belongs to the ceiling, not to the engine's overhead).

use crate::crypto::{Batch, CryptoProfile, PublicKey, SignatureRecord};
use crate::engine::read::read_into;
use crate::engine::{Item, Outcome};
use crate::formats::decompress::{decompress, Compression, Decompressor};
use crate::hash::HashAlgo;
use crate::trust::Store;
use crate::verify::inputs::{self, VerifyInputs};
use crate::verify::{ima, module, ItemKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A verification cost class: key algorithm and size, and hash.
pub type VerifyClass = String;

/// The class name of a key + hash, e.g. `rsa2048/sha256`, `ecdsa-nist-p384/sha512`; an
/// ML-DSA key's class is its parameter set alone (`mldsa65`: it hashes the signed data
/// itself, whatever digest the item also had). `None` for a digest algorithm without a
/// hash (nothing was verified).
pub fn class_of(
    store: &Store,
    key: crate::trust::Serial,
    hash: Option<HashAlgo>,
) -> Option<VerifyClass> {
    let k = store.asymmetric(key)?;
    match (k.public.algo(), hash) {
        (crate::crypto::PkeyAlgo::MlDsa(l), _) => Some(l.kernel_name().to_string()),
        (crate::crypto::PkeyAlgo::Rsa, Some(h)) => Some(format!("rsa{}/{h}", k.public.bits())),
        (other, Some(h)) => Some(format!("{}/{h}", other.kernel_name())),
        (_, None) => None,
    }
}

/// Raw costs per operation, nanoseconds, each measured with `threads` threads at once.
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
pub struct Ceiling {
    pub threads: usize,
    /// Verify with a pre-parsed key, per class: the run's backend's figure, or the
    /// multi-buffer lanes' where this CPU has them and they are faster (`verify_by`).
    pub verify_ns: BTreeMap<VerifyClass, f64>,
    /// Classes whose `verify_ns` is not the run's backend's own figure, and whose it is
    /// (`mb`: the machine's fastest verifier, when the run used another backend).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub verify_by: BTreeMap<VerifyClass, String>,
    /// Digest cost per byte, per hash.
    pub digest_ns_per_byte: BTreeMap<String, f64>,
    /// open + read + close of a small file.
    pub open_read_ns: f64,
    /// Additional read cost per byte (large files).
    pub read_ns_per_byte: f64,
    /// Decompression cost per compressed byte (compressed modules).
    #[serde(default)]
    pub decompress_ns_per_byte: f64,
    /// Decompressed ÷ compressed size of the sampled compressed modules.
    #[serde(default)]
    pub decompress_ratio: f64,
    /// Files at least this large are memory-mapped: the smallest sampled size class where
    /// mapping and digesting beat reading and digesting (null: not measured, which it is only under `--mmap` (auto), or no large files sampled).
    #[serde(default)]
    pub mmap_threshold: Option<u64>,
    /// For a backend that hashes the signed message itself ([`crate::crypto::Backend::
    /// hashes_message`]: ring), its own digest cost per byte, per hash: an item that
    /// reaches the verify stage then costs its class's `verify_ns` (the fixed part) plus
    /// its digested bytes at this rate (the message it hashes is about the bytes the engine
    /// digested). Measured by `trustbench backends`; empty (and not written) otherwise.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub verify_digest_ns_per_byte: BTreeMap<String, f64>,
    /// For a class whose algorithm takes the signed data (ML-DSA: SHAKE256 over the whole
    /// module inside the verification), the cost per byte of that data: an item costs the
    /// class's `verify_ns` (then the fixed part) plus its data bytes at this rate. Empty
    /// (and not written) for corpora without such classes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub verify_data_ns_per_byte: BTreeMap<VerifyClass, f64>,
    /// The path lookups of one cache probe, per item kind (`module`, `ima`): what an item
    /// answered from the cache costs the filesystem at least.
    #[serde(default)]
    pub stat_ns: BTreeMap<String, f64>,
    /// One lookup in a least-recently-used table like the verdict cache's, without locks.
    #[serde(default)]
    pub lookup_ns: f64,
}

/// Runs `f` on every pool thread at once for about `budget`; returns the mean
/// nanoseconds per operation (f returns the number of operations it did per call). Every
/// figure of the ceiling (and of `trustbench backends`) is measured this way, so that the
/// figures an engine pass is compared with ran with as many threads at once as the pass.
pub(crate) fn concurrent_ns_per_op(
    pool: &rayon::ThreadPool,
    budget: Duration,
    f: &(dyn Fn() -> u64 + Sync),
) -> f64 {
    let per_thread: Vec<f64> = pool.broadcast(|_| {
        // Warm up once.
        f();
        let t = Instant::now();
        let mut ops = 0u64;
        while t.elapsed() < budget {
            ops += f();
        }
        t.elapsed().as_nanos() as f64 / ops.max(1) as f64
    });
    per_thread.iter().sum::<f64>() / per_thread.len().max(1) as f64
}

/// Nanoseconds per verification of `rec` with `key` (the kernel's rules included), all
/// threads at once: through the store's backend's batches when it batches — a full batch
/// of [`crate::crypto::mb::LANES`] copies per call, the cost shared, EMSA checks included —
/// so that the ceiling is the fastest verifier the backend offers, not the single-op one.
pub(crate) fn verify_ns(
    store: &Store,
    key: &PublicKey,
    rec: &SignatureRecord<'_>,
    pool: &rayon::ThreadPool,
    budget: Duration,
) -> f64 {
    backend_verify_ns(
        store.backend().as_ref(),
        store.profile(),
        key,
        rec,
        pool,
        budget,
    )
}

/// [`verify_ns`] with `backend` (which prepared `key`) and `profile`.
fn backend_verify_ns(
    backend: &dyn crate::crypto::Backend,
    profile: &CryptoProfile,
    key: &PublicKey,
    rec: &SignatureRecord<'_>,
    pool: &rayon::ThreadPool,
    budget: Duration,
) -> f64 {
    if backend.batches() {
        let lanes = crate::crypto::mb::LANES;
        return concurrent_ns_per_op(pool, budget, &|| {
            backend.verify_batch(&mut Repeated {
                key,
                rec: rec.clone(),
                profile,
                n: lanes,
            });
            lanes as u64
        });
    }
    concurrent_ns_per_op(pool, budget, &|| {
        let _ = key.check(rec, profile);
        1
    })
}

/// The multi-buffer lanes' own copy of `key` when this CPU has the lanes, the store's
/// backend is another one (`run --backend aws-lc`) and the lanes take the key: the ceiling
/// is the best the machine allows, whichever backend the run uses. `None` where there are
/// no lanes, the key is not one the lanes take, or the lanes' verdict differs from the
/// store's (a figure for different work would be no ceiling).
fn lanes_key(store: &Store, key: &PublicKey, rec: &SignatureRecord<'_>) -> Option<PublicKey> {
    use crate::crypto::mb::{Lanes, Mb};
    if store.backend().batches() {
        return None;
    }
    let mb = Mb::with_lanes(Some(Lanes::detect()?));
    let source = crate::crypto::KeySource {
        algo: key.algo(),
        key: key.raw(),
        cert: None,
    };
    let lanes_key = PublicKey::new(&source, &mb);
    lanes_key.prepared()?.mont()?;
    let profile = store.profile();
    if lanes_key.check(rec, profile) != key.check(rec, profile) {
        return None;
    }
    Some(lanes_key)
}

/// One verification `n` times over, as a batch (outcomes are dropped: only the cost is
/// wanted, and every copy's outcome is the same).
struct Repeated<'a> {
    key: &'a PublicKey,
    rec: SignatureRecord<'a>,
    profile: &'a CryptoProfile,
    n: usize,
}

impl Batch for Repeated<'_> {
    fn len(&self) -> usize {
        self.n
    }

    fn job(&self, _: usize) -> Option<(&PublicKey, SignatureRecord<'_>, &CryptoProfile)> {
        Some((self.key, self.rec.clone(), self.profile))
    }

    fn set(&mut self, _: usize, _: crate::crypto::Checked) {}
}

/// Samples of the corpus used for calibration.
pub struct Samples {
    pub verify: BTreeMap<VerifyClass, VerifyInputs>,
    pub hashes: Vec<HashAlgo>,
    pub small: Vec<Item>,
    pub large: Vec<Item>,
    /// Compressed modules (at most 64), for the raw decompression cost.
    pub compressed: Vec<Item>,
}

/// Looks at up to `limit` items, spread evenly over the corpus, to find one signature per
/// class and files for I/O. IMA labels are taken from where the engine takes them
/// (`source`: security.ima first in auto mode, else the sidecar).
pub fn sample(
    store: &Store,
    items: &[Item],
    limit: usize,
    source: crate::verify::ima::ImaSourceMode,
) -> Samples {
    let stride = items.len().div_ceil(limit.max(1)).max(1);
    let mut s = Samples {
        verify: BTreeMap::new(),
        hashes: Vec::new(),
        small: Vec::new(),
        large: Vec::new(),
        compressed: Vec::new(),
    };
    for item in items.iter().step_by(stride) {
        let Ok(data) = std::fs::read(&item.path) else {
            continue;
        };
        let inp = match item.kind {
            ItemKind::Module => {
                let ring = module::keyring(store);
                match Compression::detect_module(&data) {
                    None => inputs::module(store, &data, ring),
                    Some(c) => {
                        if s.compressed.len() < 64 {
                            s.compressed.push(item.clone());
                        }
                        let mut plain = Vec::new();
                        decompress(c, &data, &mut plain)
                            .ok()
                            .and_then(|()| inputs::module(store, &plain, ring))
                    }
                }
            }
            // The label by the engine's rule: security.ima first (auto), else the sidecar.
            ItemKind::Ima => crate::engine::read_ima_label(&item.path, source)
                .and_then(|(_, sig)| inputs::ima(store, &data, &sig)),
        };
        if let Some(i) = inp {
            // Keep only signatures that verify: failures take the slow exact path.
            if store
                .asymmetric(i.key)
                .is_some_and(|k| k.public.verify(&i.record(), store.profile()).is_ok())
            {
                if let Some(h) = i.hash().filter(|h| !s.hashes.contains(h)) {
                    s.hashes.push(h);
                }
                if let Some(c) = class_of(store, i.key, i.hash()) {
                    s.verify.entry(c).or_insert(i);
                }
            }
        }
    }
    // I/O sample: up to 4096 distinct files spread over the corpus, each read once per
    // loop, so the ceiling sees the same cache footprint as a pass does (a few hundred
    // files read over and over would stay hot in CPU caches and flatter the ceiling).
    let io_stride = items.len().div_ceil(4096).max(1);
    for item in items.iter().step_by(io_stride) {
        let Ok(m) = std::fs::metadata(&item.path) else {
            continue;
        };
        if m.len() < 64 << 10 {
            s.small.push(item.clone());
        } else if s.large.len() < 64 {
            s.large.push(item.clone());
        }
    }
    s
}

/// One raw measurement the ceiling is made of. The ceiling is measured in short bursts of
/// one probe each, interleaved with the slices of a pass (`super::interleave`), so that load
/// drift on a shared machine lands on the passes and on their ceiling alike.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Probe {
    /// One verification of a class with the run's backend (batch-amortised when it
    /// batches).
    Verify(VerifyClass),
    /// The multi-buffer lanes' batch-amortised verification of a class, where this CPU has
    /// them and the run's backend is another.
    Lanes(VerifyClass),
    /// A verification of a class whose algorithm takes the data (ML-DSA), over a 1 MiB
    /// message instead of the sample's: with [`Probe::Verify`] it gives the cost per byte
    /// of the data (the signature does not verify over it, at the same cost: ML-DSA always
    /// computes the whole check).
    VerifyData(VerifyClass),
    /// Digest of a 1 MiB block.
    Digest(HashAlgo),
    /// open + read + close of each sampled small file (and IMA sidecar).
    OpenRead,
    /// Reading the sampled large files (the per-byte read cost, opens taken out).
    LargeRead,
    /// Decompressing the sampled compressed modules.
    Decompress,
    /// The path lookups a cache probe makes for an item of each kind: `stat` of the item
    /// and, for IMA items, the xattr query and the sidecar's `stat` where the engine makes
    /// them.
    Stat(bool),
    /// One lookup in a least-recently-used table as large as the sample, keyed like the
    /// verdict cache, without its locks.
    Lookup,
}

/// What the probes measure on: the corpus samples, prepared once (files listed, compressed
/// modules loaded, lane keys made), so a burst spends its time measuring.
pub struct Calibrator {
    verify: Vec<(VerifyClass, VerifyInputs, Option<PublicKey>)>,
    hashes: Vec<HashAlgo>,
    block: Vec<u8>,
    files: Vec<std::path::PathBuf>,
    large: Vec<(std::path::PathBuf, u64)>,
    large_bytes: u64,
    packed: Vec<Vec<u8>>,
    packed_bytes: usize,
    decompress_ratio: f64,
    /// Sampled small items by kind (false: modules, true: IMA files).
    stat_items: [Vec<Item>; 2],
    source: crate::verify::ima::ImaSourceMode,
    lookup_keys: Vec<crate::engine::cache::CacheKey>,
    /// One table per logical CPU (made once, not per burst), holding `lookup_keys`; a pool
    /// with more threads than CPUs shares them, and its lookups contend as the engine's
    /// cache shards would.
    lookup_tables: Vec<std::sync::Mutex<LookupTable>>,
}

/// The lookups per call of the [`Probe::Lookup`] probe.
const LOOKUPS_PER_CALL: usize = 256;

impl Calibrator {
    /// Prepares the probes for `samples` of the corpus `store` judges.
    pub fn new(
        store: &Store,
        samples: &Samples,
        source: crate::verify::ima::ImaSourceMode,
    ) -> Calibrator {
        let verify = samples
            .verify
            .iter()
            .filter_map(|(class, inp)| {
                let key = store.asymmetric(inp.key)?;
                let lanes = lanes_key(store, &key.public, &inp.record());
                Some((class.clone(), inp.clone(), lanes))
            })
            .collect();
        let mut hashes = samples.hashes.clone();
        if hashes.is_empty() {
            hashes.push(HashAlgo::Sha256);
        }
        let files = samples
            .small
            .iter()
            .flat_map(|i| {
                let mut v = vec![i.path.clone()];
                if i.kind == ItemKind::Ima {
                    let p = ima::sidecar_path(&i.path);
                    if p.exists() {
                        v.push(p);
                    }
                }
                v
            })
            .collect();
        let large: Vec<(std::path::PathBuf, u64)> = samples
            .large
            .iter()
            .filter_map(|i| Some((i.path.clone(), std::fs::metadata(&i.path).ok()?.len())))
            .collect();
        let packed: Vec<Vec<u8>> = samples
            .compressed
            .iter()
            .filter_map(|i| std::fs::read(&i.path).ok())
            .collect();
        let packed_bytes: usize = packed.iter().map(Vec::len).sum();
        let mut plain_bytes = 0usize;
        let mut out = Vec::new();
        for p in &packed {
            if let Some(c) = Compression::detect_module(p) {
                if decompress(c, p, &mut out).is_ok() {
                    plain_bytes += out.len();
                }
            }
        }
        let stat_items = [ItemKind::Module, ItemKind::Ima].map(|k| {
            let v: Vec<Item> = samples
                .small
                .iter()
                .filter(|i| i.kind == k)
                .cloned()
                .collect();
            v
        });
        let lookup_keys: Vec<crate::engine::cache::CacheKey> = samples
            .small
            .iter()
            .chain(&samples.large)
            .filter_map(|i| {
                let m = std::fs::metadata(&i.path).ok()?;
                Some(crate::engine::cache::CacheKey {
                    file: crate::engine::cache::FileId::of(&m),
                    kind: i.kind,
                    sig: None,
                })
            })
            .collect();
        let lookup_tables = match std::num::NonZeroUsize::new(lookup_keys.len()) {
            None => Vec::new(),
            Some(n) => (0..crate::engine::worker_threads(None))
                .map(|_| {
                    let mut t = lru::LruCache::with_hasher(n, crate::engine::cache::KeyHasher);
                    for k in &lookup_keys {
                        t.put(*k, 0u64);
                    }
                    std::sync::Mutex::new(t)
                })
                .collect(),
        };
        Calibrator {
            lookup_tables,
            verify,
            hashes,
            block: vec![0x5au8; 1 << 20],
            files,
            large_bytes: large.iter().map(|l| l.1).sum(),
            large,
            packed,
            packed_bytes,
            decompress_ratio: if packed_bytes > 0 {
                plain_bytes as f64 / packed_bytes as f64
            } else {
                0.0
            },
            stat_items,
            source,
            lookup_keys,
        }
    }

    /// Every probe these samples allow, in a fixed order.
    pub fn probes(&self) -> Vec<Probe> {
        let mut p = Vec::new();
        for (class, inp, lanes) in &self.verify {
            p.push(Probe::Verify(class.clone()));
            if lanes.is_some() {
                p.push(Probe::Lanes(class.clone()));
            }
            if inp.digest.is_none() {
                p.push(Probe::VerifyData(class.clone()));
            }
        }
        p.extend(self.hashes.iter().map(|h| Probe::Digest(*h)));
        if !self.files.is_empty() {
            p.push(Probe::OpenRead);
        }
        if self.large_bytes > 0 {
            p.push(Probe::LargeRead);
        }
        if self.packed_bytes > 0 {
            p.push(Probe::Decompress);
        }
        for (i, items) in self.stat_items.iter().enumerate() {
            if !items.is_empty() {
                p.push(Probe::Stat(i == 1));
            }
        }
        if !self.lookup_keys.is_empty() {
            p.push(Probe::Lookup);
        }
        p
    }

    /// Nanoseconds per operation of `probe`, all threads of `pool` at once for about
    /// `budget` ([`concurrent_ns_per_op`]); the operation is the unit [`Calibrator::
    /// ceiling`] expects (a verification, a 1 MiB block, one small file, one pass over the
    /// large files or the compressed ones, one item's stats, one lookup). `None` when the
    /// samples have nothing for it.
    pub fn measure(
        &self,
        store: &Store,
        probe: &Probe,
        pool: &rayon::ThreadPool,
        budget: Duration,
    ) -> Option<f64> {
        Some(match probe {
            Probe::Verify(class) | Probe::Lanes(class) => {
                let (_, inp, lanes) = self.verify.iter().find(|v| &v.0 == class)?;
                let rec = inp.record();
                match probe {
                    Probe::Lanes(_) => {
                        let key = lanes.as_ref()?;
                        let mb =
                            crate::crypto::mb::Mb::with_lanes(crate::crypto::mb::Lanes::detect());
                        backend_verify_ns(&mb, store.profile(), key, &rec, pool, budget)
                    }
                    _ => verify_ns(
                        store,
                        &store.asymmetric(inp.key)?.public,
                        &rec,
                        pool,
                        budget,
                    ),
                }
            }
            Probe::VerifyData(class) => {
                let (_, inp, _) = self.verify.iter().find(|v| &v.0 == class)?;
                let mut rec = inp.record();
                let crate::crypto::Signed::Data { hash, .. } = rec.signed else {
                    return None;
                };
                rec.signed = crate::crypto::Signed::Data {
                    hash,
                    data: &self.block,
                };
                verify_ns(
                    store,
                    &store.asymmetric(inp.key)?.public,
                    &rec,
                    pool,
                    budget,
                )
            }
            Probe::Digest(h) => {
                concurrent_ns_per_op(pool, budget, &|| {
                    let _ = h.digest(&self.block);
                    1
                }) / self.block.len() as f64
            }
            Probe::OpenRead => {
                if self.files.is_empty() {
                    return None;
                }
                concurrent_ns_per_op(pool, budget, &|| {
                    let mut buf = Vec::with_capacity(64 << 10);
                    for p in &self.files {
                        if let Ok(mut f) = std::fs::File::open(p) {
                            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                            let _ = read_into(&mut f, len as usize, &mut buf);
                        }
                    }
                    self.files.len() as u64
                })
            }
            Probe::LargeRead => {
                if self.large_bytes == 0 {
                    return None;
                }
                concurrent_ns_per_op(pool, budget, &|| {
                    let mut buf = Vec::new();
                    for (p, len) in &self.large {
                        if let Ok(mut f) = std::fs::File::open(p) {
                            let _ = read_into(&mut f, *len as usize, &mut buf);
                        }
                    }
                    1
                })
            }
            Probe::Decompress => {
                if self.packed_bytes == 0 {
                    return None;
                }
                // The engine keeps one decoder per worker: so does the ceiling.
                concurrent_ns_per_op(pool, budget, &|| {
                    let mut out = Vec::new();
                    let mut d = Decompressor::default();
                    for p in &self.packed {
                        if let Some(c) = Compression::detect_module(p) {
                            let _ = d.decompress(c, p, &mut out);
                        }
                    }
                    1
                })
            }
            Probe::Stat(ima_kind) => {
                let items = &self.stat_items[*ima_kind as usize];
                if items.is_empty() {
                    return None;
                }
                concurrent_ns_per_op(pool, budget, &|| {
                    let mut sig = std::ffi::OsString::new();
                    for i in items {
                        std::hint::black_box(crate::engine::key_by_path(i, self.source, &mut sig));
                    }
                    items.len() as u64
                })
            }
            Probe::Lookup => {
                if self.lookup_keys.is_empty() {
                    return None;
                }
                let tables = &self.lookup_tables;
                let keys = &self.lookup_keys;
                concurrent_ns_per_op(pool, budget, &|| {
                    let i = rayon::current_thread_index().unwrap_or(0) % tables.len();
                    let mut t = tables[i].lock().unwrap_or_else(|e| e.into_inner());
                    let mut at = i.wrapping_mul(7919);
                    for _ in 0..LOOKUPS_PER_CALL {
                        at = (at + 4099) % keys.len();
                        std::hint::black_box(t.get(&keys[at]));
                    }
                    LOOKUPS_PER_CALL as u64
                })
            }
        })
    }

    /// The ceiling at `threads` threads from each probe's figures (several bursts of a
    /// probe: their median). Probes without figures leave their terms at zero: a pass
    /// priced with it must not have needed them.
    pub fn ceiling(&self, threads: usize, figures: &BTreeMap<Probe, Vec<f64>>) -> Ceiling {
        let fig = |p: &Probe| figures.get(p).map(|v| super::stats::median(v));
        let mut c = Ceiling {
            threads,
            ..Default::default()
        };
        for (class, inp, _) in &self.verify {
            let own = fig(&Probe::Verify(class.clone()));
            // Data classes: the per-byte cost from the sample's and the 1 MiB message's
            // figures, and the fixed part of a verification left in `verify_ns`.
            if let (Some(o), Some(big)) = (own, fig(&Probe::VerifyData(class.clone()))) {
                let small = inp.message.as_ref().map_or(0, Vec::len) as f64;
                let per_byte = ((big - o) / (self.block.len() as f64 - small).max(1.0)).max(0.0);
                c.verify_data_ns_per_byte.insert(class.clone(), per_byte);
                c.verify_ns
                    .insert(class.clone(), (o - per_byte * small).max(0.0));
                continue;
            }
            let lanes = fig(&Probe::Lanes(class.clone()));
            match (own, lanes) {
                (Some(o), Some(l)) if l < o => {
                    c.verify_ns.insert(class.clone(), l);
                    c.verify_by.insert(class.clone(), "mb".into());
                }
                (Some(o), _) => {
                    c.verify_ns.insert(class.clone(), o);
                }
                (None, Some(l)) => {
                    c.verify_ns.insert(class.clone(), l);
                    c.verify_by.insert(class.clone(), "mb".into());
                }
                (None, None) => {}
            }
        }
        for h in &self.hashes {
            if let Some(ns) = fig(&Probe::Digest(*h)) {
                c.digest_ns_per_byte.insert(h.name().to_string(), ns);
            }
        }
        c.open_read_ns = fig(&Probe::OpenRead).unwrap_or(0.0);
        if let Some(ns) = fig(&Probe::LargeRead) {
            let opens = self.large.len() as f64 * c.open_read_ns;
            c.read_ns_per_byte = ((ns - opens) / self.large_bytes as f64).max(0.0);
        }
        if let Some(ns) = fig(&Probe::Decompress) {
            c.decompress_ns_per_byte = ns / self.packed_bytes as f64;
            c.decompress_ratio = self.decompress_ratio;
        }
        for (ima_kind, name) in [(false, "module"), (true, "ima")] {
            if let Some(ns) = fig(&Probe::Stat(ima_kind)) {
                c.stat_ns.insert(name.into(), ns);
            }
        }
        c.lookup_ns = fig(&Probe::Lookup).unwrap_or(0.0);
        c
    }

    /// Each of `probes`' share of the ceiling cost of `work` at `figures`' prices: what the
    /// price loses when that probe's figures are left out (a burst plan weights probes by
    /// it, [`super::interleave::Plan::weighted`]).
    pub fn shares(
        &self,
        threads: usize,
        work: &Work,
        figures: &BTreeMap<Probe, Vec<f64>>,
        probes: &[Probe],
    ) -> Vec<f64> {
        let full = self.ceiling(threads, figures).price(work, false);
        probes
            .iter()
            .map(|p| {
                let mut without = figures.clone();
                without.remove(p);
                let rest = self.ceiling(threads, &without).price(work, false);
                (full - rest).max(0.0)
            })
            .collect()
    }

    /// The whole ceiling at once: every probe for `budget` (`trustbench backends`, which
    /// interleaves by rounds, and anyone wanting one figure of each), with the mmap
    /// threshold when `mmap` asks for it measured.
    pub fn full(
        &self,
        store: &Store,
        pool: &rayon::ThreadPool,
        budget: Duration,
        mmap: MmapPolicy,
    ) -> Ceiling {
        let mut figures = BTreeMap::new();
        for p in self.probes() {
            if let Some(ns) = self.measure(store, &p, pool, budget) {
                figures.insert(p, vec![ns]);
            }
        }
        let mut c = self.ceiling(pool.current_num_threads(), &figures);
        if mmap == MmapPolicy::Measured {
            c.mmap_threshold = self.mmap_threshold(pool, budget);
        }
        c
    }

    /// The size from which mapping beats reading for the sampled large files ([`mmap_
    /// threshold`]); `None` without large files.
    pub fn mmap_threshold(&self, pool: &rayon::ThreadPool, budget: Duration) -> Option<u64> {
        (self.large_bytes > 0).then(|| mmap_threshold(pool, &self.large, budget))
    }
}

/// Whether a run maps large files, and from what size (`--mmap`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MmapPolicy {
    /// Every file is read (the default: see [`crate::engine::mapping`] for why mapping is
    /// opt-in).
    #[default]
    Off,
    /// Mapped from the size where mapping measured faster than reading on the corpus's
    /// large files (1 MiB when it has none).
    Measured,
    /// Mapped from this many bytes.
    From(u64),
}

impl MmapPolicy {
    /// The engine's threshold, given what calibration measured (`None` when it did not).
    pub fn threshold(self, measured: Option<u64>) -> Option<u64> {
        match self {
            MmapPolicy::Off => None,
            MmapPolicy::Measured => Some(measured.unwrap_or(1 << 20)),
            MmapPolicy::From(b) => Some(b),
        }
    }
}

/// The table the [`Probe::Lookup`] probe looks into.
type LookupTable =
    lru::LruCache<crate::engine::cache::CacheKey, u64, crate::engine::cache::KeyHasher>;

/// Alternations of read and map per size class in [`mmap_threshold`].
const MMAP_TURNS: usize = 5;

/// Mapping must beat reading by 5% (median of the alternations) to be chosen: within that,
/// the two are a tie, and a tie must not decide differently from run to run.
const MMAP_MARGIN: f64 = 0.95;

/// Times read+digest against mmap+digest per power-of-two size class of the sampled
/// large files (all threads at once) and returns the smallest class from which mapping
/// wins for every larger class; `u64::MAX` when it never does.
fn mmap_threshold(
    pool: &rayon::ThreadPool,
    large: &[(std::path::PathBuf, u64)],
    budget: Duration,
) -> u64 {
    let mut classes: BTreeMap<u32, Vec<&(std::path::PathBuf, u64)>> = BTreeMap::new();
    for l in large {
        classes.entry(63 - l.1.leading_zeros()).or_default().push(l);
    }
    let per_class = budget / 4;
    let mut wins: Vec<(u64, bool)> = Vec::new();
    for (log2, files) in &classes {
        let digest_all = |use_map: bool| {
            let mut buf = Vec::new();
            for (p, len) in files.iter().map(|f| (&f.0, f.1)) {
                let Ok(mut f) = std::fs::File::open(p) else {
                    continue;
                };
                if use_map {
                    // The engine's own guarded mapping: a sampled file truncated meanwhile
                    // costs a fault absorbed, not the run.
                    if let Ok(Some(m)) = crate::engine::mapping::GuardedMap::map(&f, len) {
                        let _ = HashAlgo::Sha256.digest(&m);
                    }
                } else if let Ok(n) = read_into(&mut f, len as usize, &mut buf) {
                    let _ = HashAlgo::Sha256.digest(&buf[..n]);
                }
            }
            1
        };
        // Read and map alternate, and the median of their ratios decides, by a margin: a
        // decision that flips between runs makes runs do different work.
        let turn = per_class / MMAP_TURNS as u32;
        let ratios: Vec<f64> = (0..MMAP_TURNS)
            .map(|_| {
                let read_ns = concurrent_ns_per_op(pool, turn, &|| digest_all(false));
                let map_ns = concurrent_ns_per_op(pool, turn, &|| digest_all(true));
                map_ns / read_ns.max(1e-9)
            })
            .collect();
        wins.push((1u64 << log2, super::stats::median(&ratios) < MMAP_MARGIN));
    }
    // The smallest class from which mapping wins all the way up.
    let mut threshold = u64::MAX;
    for (size, win) in wins.iter().rev() {
        if *win {
            threshold = *size;
        } else {
            break;
        }
    }
    threshold
}

/// What a pass asked of the machine, in the units the ceiling prices: opens, bytes read,
/// decompressed and digested, verifications per class, cache probes. Kept apart from the
/// prices so that a pass can be priced by the ceiling measured while it ran
/// (`super::interleave`), which is known only when it is over.
#[derive(Clone, Debug, Default)]
pub struct Work {
    opens: f64,
    read_bytes: f64,
    compressed_bytes: f64,
    /// Per hash, the bytes digested.
    digested: Vec<(HashAlgo, Digested)>,
    verifies: Vec<(VerifyClass, f64)>,
    /// Per data class (ML-DSA), the bytes its verifications took (a module's content).
    data_bytes: Vec<(VerifyClass, f64)>,
    /// Items answered from the cache, by kind (module, IMA).
    probes: [f64; 2],
}

/// Bytes digested with one hash: `[all, of items that reached the verify stage]` (a
/// message-hashing backend hashes those again), read plain or decompressed from modules
/// (`packed`: their compressed size).
#[derive(Clone, Copy, Debug, Default)]
struct Digested {
    plain: [f64; 2],
    packed: [f64; 2],
}

impl Digested {
    fn add(&mut self, o: &Digested) {
        for i in 0..2 {
            self.plain[i] += o.plain[i];
            self.packed[i] += o.packed[i];
        }
    }
}

impl Work {
    /// Adds one item as the engine handled it; `class` is its signer's verification class
    /// when it has one.
    pub fn add(&mut self, item: &Item, o: &Outcome, class: Option<&str>) {
        if o.cache_hit {
            self.probes[(item.kind == ItemKind::Ima) as usize] += 1.0;
            return;
        }
        // An IMA item whose label is its xattr opens one file; one whose label is (or
        // could have been) a sidecar tries a second open.
        let xattr = o.verdict.ima_source == Some(crate::verify::ImaSource::Xattr);
        self.opens += if item.kind == ItemKind::Ima && !xattr {
            2.0
        } else {
            1.0
        };
        let bytes = o.bytes as f64;
        self.read_bytes += bytes;
        let packed = o.stage_ns[crate::timing::Stage::Decompress as usize] > 0;
        if packed {
            self.compressed_bytes += bytes;
        }
        let reached_verify = o.stage_ns[crate::timing::Stage::Verify as usize] > 0;
        let verified = match (reached_verify, o.verdict.signer, class) {
            (true, Some(_), Some(c)) => {
                add_to(&mut self.verifies, c, 1.0);
                true
            }
            _ => false,
        };
        let Some(d) = o.verdict.digest else {
            // Verified with no digest: the algorithm took the module's content itself.
            if let (true, Some(c)) = (verified, class) {
                add_to(&mut self.data_bytes, c, bytes);
            }
            return;
        };
        let algo = d.algo();
        let slot = match self.digested.iter().position(|e| e.0 == algo) {
            Some(i) => i,
            None => {
                self.digested.push((algo, Digested::default()));
                self.digested.len() - 1
            }
        };
        let mut one = Digested::default();
        // A compressed module's digested bytes are its decompressed ones: its compressed
        // size times the measured ratio, applied when priced.
        let amount = if packed {
            &mut one.packed
        } else {
            &mut one.plain
        };
        amount[0] = bytes;
        if verified {
            amount[1] = bytes;
        }
        self.digested[slot].1.add(&one);
    }

    /// Adds another pass's (or chunk's) work.
    pub fn merge(&mut self, other: &Work) {
        self.opens += other.opens;
        self.read_bytes += other.read_bytes;
        self.compressed_bytes += other.compressed_bytes;
        for (h, d) in &other.digested {
            match self.digested.iter_mut().find(|e| e.0 == *h) {
                Some(e) => e.1.add(d),
                None => self.digested.push((*h, *d)),
            }
        }
        for (c, n) in &other.verifies {
            add_to(&mut self.verifies, c, *n);
        }
        for (c, n) in &other.data_bytes {
            add_to(&mut self.data_bytes, c, *n);
        }
        self.probes[0] += other.probes[0];
        self.probes[1] += other.probes[1];
    }

    /// The probes whose figures pricing this work needs: what to measure while a pass
    /// like it runs.
    pub fn probes(&self, all: &[Probe]) -> Vec<Probe> {
        all.iter()
            .filter(|p| match p {
                Probe::Verify(c) | Probe::Lanes(c) => self.verifies.iter().any(|v| v.0 == *c),
                Probe::VerifyData(c) => self.data_bytes.iter().any(|v| v.0 == *c),
                Probe::Digest(h) => self.digested.iter().any(|d| d.0 == *h),
                Probe::OpenRead => self.opens > 0.0,
                Probe::LargeRead => self.read_bytes > 0.0,
                Probe::Decompress => self.compressed_bytes > 0.0,
                Probe::Stat(ima) => self.probes[*ima as usize] > 0.0,
                Probe::Lookup => self.probes.iter().any(|n| *n > 0.0),
            })
            .cloned()
            .collect()
    }
}

impl Ceiling {
    /// The raw cost of `work` in nanoseconds of one thread: opens and reads, a digest of
    /// every byte (decompressed bytes for compressed modules), one verification per item
    /// that got that far, and for items answered from the cache their path lookups and one
    /// table lookup. `crypto_only` leaves the filesystem out (opens, reads, stats).
    pub fn price(&self, work: &Work, crypto_only: bool) -> f64 {
        let mut ns = 0.0;
        if !crypto_only {
            ns += work.opens * self.open_read_ns + work.read_bytes * self.read_ns_per_byte;
            for (i, kind) in ["module", "ima"].iter().enumerate() {
                ns += work.probes[i] * self.stat_ns.get(*kind).copied().unwrap_or(0.0);
            }
        }
        ns += (work.probes[0] + work.probes[1]) * self.lookup_ns;
        ns += work.compressed_bytes * self.decompress_ns_per_byte;
        let ratio = self.decompress_ratio.max(1.0);
        for (h, d) in &work.digested {
            let name = h.name();
            let [all, verified] = [0, 1].map(|i| d.plain[i] + d.packed[i] * ratio);
            ns += all * self.digest_ns_per_byte.get(name).copied().unwrap_or(0.0);
            ns += verified
                * self
                    .verify_digest_ns_per_byte
                    .get(name)
                    .copied()
                    .unwrap_or(0.0);
        }
        for (c, n) in &work.verifies {
            ns += n * self.verify_ns.get(c).copied().unwrap_or(0.0);
        }
        for (c, bytes) in &work.data_bytes {
            ns += bytes * self.verify_data_ns_per_byte.get(c).copied().unwrap_or(0.0);
        }
        ns
    }
}

/// Adds `n` to `key`'s count in `v` (a short list: a corpus has a few classes).
fn add_to(v: &mut Vec<(VerifyClass, f64)>, key: &str, n: f64) {
    match v.iter_mut().find(|(k, _)| k == key) {
        Some((_, m)) => *m += n,
        None => v.push((key.to_string(), n)),
    }
}
