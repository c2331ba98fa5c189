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

/// The class name of a key + hash, e.g. `rsa2048/sha256`, `ecdsa-nist-p384/sha512`.
pub fn class_of(store: &Store, key: crate::trust::Serial, hash: HashAlgo) -> Option<VerifyClass> {
    let k = store.asymmetric(key)?;
    let a = match k.public.algo() {
        crate::crypto::PkeyAlgo::Rsa => format!("rsa{}", k.public.bits()),
        other => other.kernel_name().to_string(),
    };
    Some(format!("{a}/{hash}"))
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
    /// mapping and digesting beat reading and digesting (null: no large files sampled).
    #[serde(default)]
    pub mmap_threshold: Option<u64>,
    /// For a backend that hashes the signed message itself ([`crate::crypto::Backend::
    /// hashes_message`]: ring), its own digest cost per byte, per hash: an item that
    /// reaches the verify stage then costs its class's `verify_ns` (the fixed part) plus
    /// its digested bytes at this rate (the message it hashes is about the bytes the engine
    /// digested). Measured by `trustbench backends`; empty (and not written) otherwise.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub verify_digest_ns_per_byte: BTreeMap<String, f64>,
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

/// The multi-buffer verifier's batch-amortised cost for `key` and `rec` when this CPU has
/// its lanes and the store's backend is another one (`run --backend aws-lc`): the ceiling
/// is the best the machine allows, whichever backend the run uses. `None` where there are
/// no lanes, the key is not one the lanes take, or the lanes' verdict differs from the
/// store's (a figure for different work would be no ceiling).
fn lanes_verify_ns(
    store: &Store,
    key: &PublicKey,
    rec: &SignatureRecord<'_>,
    pool: &rayon::ThreadPool,
    budget: Duration,
) -> Option<f64> {
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
    Some(backend_verify_ns(
        &mb, profile, &lanes_key, rec, pool, budget,
    ))
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
                if !s.hashes.contains(&i.digest.algo()) {
                    s.hashes.push(i.digest.algo());
                }
                if let Some(c) = class_of(store, i.key, i.digest.algo()) {
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

/// Measures the ceiling for `samples` on `pool`.
pub fn calibrate(
    store: &Store,
    samples: &Samples,
    pool: &rayon::ThreadPool,
    budget: Duration,
) -> Ceiling {
    let mut c = Ceiling {
        threads: pool.current_num_threads(),
        ..Default::default()
    };
    for (class, inp) in &samples.verify {
        let Some(key) = store.asymmetric(inp.key) else {
            continue;
        };
        let rec = inp.record();
        let own = verify_ns(store, &key.public, &rec, pool, budget);
        match lanes_verify_ns(store, &key.public, &rec, pool, budget) {
            Some(lanes) if lanes < own => {
                c.verify_ns.insert(class.clone(), lanes);
                c.verify_by.insert(class.clone(), "mb".into());
            }
            _ => {
                c.verify_ns.insert(class.clone(), own);
            }
        }
    }
    let block = vec![0x5au8; 1 << 20];
    let mut hashes = samples.hashes.clone();
    if hashes.is_empty() {
        hashes.push(HashAlgo::Sha256);
    }
    for h in hashes {
        let ns = concurrent_ns_per_op(pool, budget, &|| {
            let _ = h.digest(&block);
            1
        });
        c.digest_ns_per_byte
            .insert(h.name().to_string(), ns / block.len() as f64);
    }
    // I/O: open + read + close of small files (page cache warm), and large-file bandwidth.
    let files: Vec<std::path::PathBuf> = samples
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
    if !files.is_empty() {
        c.open_read_ns = concurrent_ns_per_op(pool, budget, &|| {
            let mut buf = Vec::with_capacity(64 << 10);
            for p in &files {
                if let Ok(mut f) = std::fs::File::open(p) {
                    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                    let _ = read_into(&mut f, len as usize, &mut buf);
                }
            }
            files.len() as u64
        });
    }
    let packed: Vec<Vec<u8>> = samples
        .compressed
        .iter()
        .filter_map(|i| std::fs::read(&i.path).ok())
        .collect();
    let packed_bytes: usize = packed.iter().map(Vec::len).sum();
    if packed_bytes > 0 {
        let mut plain_bytes = 0usize;
        let mut out = Vec::new();
        for p in &packed {
            if let Some(c) = Compression::detect_module(p) {
                if decompress(c, p, &mut out).is_ok() {
                    plain_bytes += out.len();
                }
            }
        }
        c.decompress_ratio = plain_bytes as f64 / packed_bytes as f64;
        // The engine keeps one decoder per worker: so does the ceiling.
        let ns = concurrent_ns_per_op(pool, budget, &|| {
            let mut out = Vec::new();
            let mut d = Decompressor::default();
            for p in &packed {
                if let Some(c) = Compression::detect_module(p) {
                    let _ = d.decompress(c, p, &mut out);
                }
            }
            1
        });
        c.decompress_ns_per_byte = ns / packed_bytes as f64;
    }
    let large: Vec<(std::path::PathBuf, u64)> = samples
        .large
        .iter()
        .filter_map(|i| Some((i.path.clone(), std::fs::metadata(&i.path).ok()?.len())))
        .collect();
    let large_bytes: u64 = large.iter().map(|l| l.1).sum();
    if large_bytes > 0 {
        let ns_per_pass = concurrent_ns_per_op(pool, budget, &|| {
            let mut buf = Vec::new();
            for (p, len) in &large {
                if let Ok(mut f) = std::fs::File::open(p) {
                    let _ = read_into(&mut f, *len as usize, &mut buf);
                }
            }
            1
        });
        let opens = large.len() as f64 * c.open_read_ns;
        c.read_ns_per_byte = ((ns_per_pass - opens) / large_bytes as f64).max(0.0);
        c.mmap_threshold = Some(mmap_threshold(pool, &large, budget));
    }
    c
}

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
                    // SAFETY: read-only private mapping of a file nobody truncates here.
                    if let Ok(m) = unsafe { memmap2::Mmap::map(&f) } {
                        let _ = HashAlgo::Sha256.digest(&m);
                    }
                } else if let Ok(n) = read_into(&mut f, len as usize, &mut buf) {
                    let _ = HashAlgo::Sha256.digest(&buf[..n]);
                }
            }
            1
        };
        let read_ns = concurrent_ns_per_op(pool, per_class, &|| digest_all(false));
        let map_ns = concurrent_ns_per_op(pool, per_class, &|| digest_all(true));
        wins.push((1u64 << log2, map_ns < read_ns));
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

impl Ceiling {
    /// The raw cost of one item as the engine handled it: opens and reads, one digest of
    /// its bytes, and one verify if the item got that far.
    pub fn item_cost_ns(
        &self,
        store: &Store,
        item: &Item,
        o: &Outcome,
        bytes: u64,
        crypto_only: bool,
    ) -> f64 {
        let class = match (o.verdict.signer, o.verdict.digest) {
            (Some(s), Some(d)) => class_of(store, s, d.algo()),
            _ => None,
        };
        self.cost_ns(item, o, bytes, crypto_only, class.as_deref())
    }

    /// [`Ceiling::item_cost_ns`] with the signer's verification class already known (the
    /// per-item path of a pass resolves it once per key).
    pub fn cost_ns(
        &self,
        item: &Item,
        o: &Outcome,
        bytes: u64,
        crypto_only: bool,
        class: Option<&str>,
    ) -> f64 {
        let mut ns = 0.0;
        if !crypto_only {
            // An IMA item whose label is its xattr opens one file; one whose label is
            // (or could have been) a sidecar tries a second open.
            let xattr = o.verdict.ima_source == Some(crate::verify::ImaSource::Xattr);
            let opens = if item.kind == ItemKind::Ima && !xattr {
                2.0
            } else {
                1.0
            };
            ns += opens * self.open_read_ns + bytes as f64 * self.read_ns_per_byte;
        }
        let mut digested = bytes as f64;
        if o.stage_ns[crate::timing::Stage::Decompress as usize] > 0 {
            ns += bytes as f64 * self.decompress_ns_per_byte;
            digested *= self.decompress_ratio.max(1.0);
        }
        if let Some(d) = o.verdict.digest {
            ns += digested
                * self
                    .digest_ns_per_byte
                    .get(d.algo().name())
                    .copied()
                    .unwrap_or(0.0);
            let reached_verify = o.stage_ns[crate::timing::Stage::Verify as usize] > 0;
            if let (true, Some(_), Some(c)) = (reached_verify, o.verdict.signer, class) {
                ns += self.verify_ns.get(c).copied().unwrap_or(0.0);
                if !self.verify_digest_ns_per_byte.is_empty() {
                    ns += digested
                        * self
                            .verify_digest_ns_per_byte
                            .get(d.algo().name())
                            .copied()
                            .unwrap_or(0.0);
                }
            }
        }
        ns
    }
}
