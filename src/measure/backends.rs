//! [`compare`]: every crypto backend on the same corpus, in one process, side by side — how
//! fast each verifies each signature algorithm, what the engine achieves with each, and
//! whether they all give the same verdict (and errno) for every item.
//!
//! Why one process and interleaved: a figure measured on another day, or even a minute
//! later, carries whatever the machine was doing then (frequency, a neighbour VM, the page
//! cache). Here every backend gets its keyrings built from the same script and its figures
//! measured in round-robin rounds — in each round every backend's verify figures, then
//! every backend's cold pass over the corpus, chunk by chunk, the starting backend rotating
//! by round and chunk — so drift hits every backend alike, and each reported figure is the
//! median of its rounds. No figure is hard-coded or carried over from elsewhere: the ratios
//! are of figures measured in this run.
//!
//! What is measured, per backend:
//! - per signature class present in the corpus (key algorithm and size, and hash: e.g.
//!   `RSA-2048/sha256`, `P-384/sha384`): verifications per second per thread of one real
//!   corpus signature (the smallest sampled item of the class) with a pre-parsed key, all
//!   threads at once — like the ceiling of `trustbench run` ([`super::calibrate`]). Where
//!   the backend lacks the class the cell is "unsupported", never a number. A backend that
//!   hashes the message itself (ring) has its digest inside that figure; its own digest
//!   rate is measured too (the same key verifying a 1 MiB message, minus the sample's
//!   figure), so that its ceiling can be split into a fixed part and a per-byte part;
//! - the engine's items/s and efficiency on the whole corpus: a cold pass with the cache
//!   off, like `run`'s, compared with a ceiling made of this backend's verify figures and
//!   the I/O and digest costs of the same round (shared: they do not depend on the
//!   backend).
//!   Items the backend could not verify ([`Verdict::backend_unsupported`]) are not counted
//!   for it (the number skipped is reported);
//! - same-run agreement: in the first round, each item's verdict class and errno from
//!   every backend, compared; an item on which two backends (each able to verify it)
//!   differ is named, with every backend's verdict.

use super::calibrate::{self, class_of, concurrent_ns_per_op, Ceiling, MmapPolicy, VerifyClass};
use super::link::{self, LinkPhase};
use super::observe::{Observer, Phase};
use super::report::{git_commit, CorpusInfo, Machine, PassAccumulator, PassReport};
use super::source::{is_generated, Source};
use crate::crypto::backends::Listing;
use crate::crypto::{self, Backend, MathInput, PkeyAlgo};
use crate::engine::{thread_pool, worker_threads, CachePolicy, Engine, EngineConfig, Item};
use crate::error::{Error, Result};
use crate::formats::decompress::{decompress, Compression};
use crate::timing::unix_seconds;
use crate::trust::Store;
use crate::verify::ima::{ImaPolicy, ImaRule, ImaSourceMode};
use crate::verify::inputs::{self, VerifyInputs};
use crate::verify::{module, ItemKind, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The schema of [`BackendsReport`] (docs/results-schema.md).
pub const SCHEMA: &str = "trustbench.backends/1";

/// [`Cell::rejected`] when the backend's keyrings lack the sample's signer.
pub const NO_KEY: &str = "no key: its keyrings lack the signer";

/// How many disagreeing items a report names (all are counted).
pub const DISAGREEMENT_LIST_CAP: usize = 1000;

/// How many items, spread over the corpus, are opened to find each class's sample.
const CLASS_SAMPLES: usize = 2048;

/// Of those, how many the shared I/O figures look at (as `trustbench run` does).
const IO_SAMPLES: usize = 400;

/// The size of the message a message-hashing backend verifies to measure its own digest
/// rate (large next to any sample, so the difference is mostly hashing).
const DIGEST_PROBE_BYTES: usize = 1 << 20;

/// What to compare and how.
#[derive(Clone, Debug)]
pub struct BackendsConfig {
    /// A generated corpus (its keyrings are built with each backend from `keyring.script`)
    /// or any tree of modules and IMA-signed files (anchors come with the stores).
    pub corpus: PathBuf,
    /// The identity of the spec the corpus was generated from, for the report.
    pub spec_hash: Option<String>,
    /// For a plain tree, only items of this kind (`None`: every file).
    pub kind: Option<ItemKind>,
    /// Worker threads (`None`: every logical CPU), for the figures and the passes alike.
    pub threads: Option<usize>,
    /// Round-robin rounds; each figure is the median of its rounds.
    pub rounds: usize,
    /// Time per verify figure per round (and for the shared I/O and digest figures).
    pub calibration: Duration,
    /// Whether large files are memory-mapped, and from what size (default: never).
    pub mmap: MmapPolicy,
    /// IMA policy check_blacklist (always on for generated corpora).
    pub ima_check_blacklist: bool,
    /// The IMA appraisal rule.
    pub ima_rule: ImaRule,
    /// Where IMA labels are read from.
    pub ima_source: ImaSourceMode,
}

impl BackendsConfig {
    /// The defaults of `trustbench backends` for `corpus`: every CPU, three rounds of 50 ms
    /// figures.
    pub fn new(corpus: impl Into<PathBuf>) -> BackendsConfig {
        BackendsConfig {
            corpus: corpus.into(),
            spec_hash: None,
            kind: None,
            threads: None,
            rounds: 3,
            calibration: Duration::from_millis(50),
            mmap: MmapPolicy::Off,
            ima_check_blacklist: false,
            ima_rule: ImaRule::default(),
            ima_source: ImaSourceMode::default(),
        }
    }
}

/// The comparison: one report for every backend.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BackendsReport {
    /// [`SCHEMA`].
    pub schema: String,
    /// Seconds since the epoch.
    pub created_unix: u64,
    /// Where it ran.
    pub machine: Machine,
    /// Where the timings were taken: the host, CPU and kernel, with every compared
    /// backend's library ([`super::report::Testbed`]; null in older reports).
    #[serde(default)]
    pub testbed: Option<super::report::Testbed>,
    /// This build's version.
    pub trustbench: String,
    /// The commit the binary was built from, when known.
    pub git_commit: Option<String>,
    /// What ran (`bytes`: read by the reference backend's first pass).
    pub corpus: CorpusInfo,
    /// Worker threads of every figure and pass.
    pub threads: usize,
    /// Round-robin rounds.
    pub rounds: usize,
    /// Milliseconds per verify figure per round.
    pub calibration_ms: u64,
    /// The IMA appraisal rule applied.
    pub ima_rule: String,
    /// The kernel whose rules the verdicts follow.
    #[serde(default)]
    pub kernel_profile: crate::kernel_profile::KernelProfile,
    /// Where IMA labels were read from.
    pub ima_source: String,
    /// The backend whose verdict picks each class's sample (a signature it verifies) and
    /// whose first pass counts the items per class: the first usable one (the default).
    pub reference: String,
    /// Every backend that ran, in the order of the rows' cells.
    pub backends: Vec<BackendResult>,
    /// Backends compiled in that cannot run here, with why.
    pub unavailable: Vec<Unavailable>,
    /// One row per signature class of the corpus.
    pub rows: Vec<AlgoRow>,
    /// The costs that do not depend on the backend (I/O, the engine's digests,
    /// decompression), measured in every round (median of rounds); `verify_ns` is empty
    /// here (it is each backend's own).
    pub shared: Ceiling,
    /// Same-run agreement of the verdicts.
    pub agreement: Agreement,
}

/// A compiled backend that cannot run on this machine.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Unavailable {
    /// Its name.
    pub name: String,
    /// Why it cannot run.
    pub reason: String,
}

/// One backend's results on the whole corpus.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BackendResult {
    /// The backend's name.
    pub name: String,
    /// Its library and version.
    pub library: String,
    /// It hashes the signed message itself (its verify figures include that digest).
    pub hashes_message: bool,
    /// Items it judged (counted for its items/s).
    pub items: usize,
    /// Items it could not verify (an algorithm, key or hash it lacks), left out of its
    /// figures and of the agreement check for it.
    pub skipped: usize,
    /// The engine's items/s on the counted items, cold, cache off (median of rounds).
    pub items_per_s: f64,
    /// Each round's items/s.
    pub items_per_s_rounds: Vec<f64>,
    /// Items/s the raw primitives allow for those items (median of rounds).
    pub ceiling_items_per_s: f64,
    /// items/s ÷ ceiling items/s (median of rounds).
    pub efficiency: f64,
    /// The same without the I/O share of the ceiling (median of rounds).
    pub crypto_efficiency: f64,
    /// Message-hashing backends: their own digest rate, MB/s per thread, per hash.
    pub digest_mb_per_s: BTreeMap<String, f64>,
    /// Verdicts of its counted items in the first round, as a run report's pass counts
    /// them: `valid`, `invalid:ERRNO`, `unsigned:ENODATA`.
    pub verdicts: BTreeMap<String, u64>,
    /// Generated corpora: lines of its link-time phase whose outcome differs from
    /// `keyring.expected`.
    pub link_unexpected: Vec<String>,
    /// Generated corpora: lines of its link-time phase that differ because a gatekeeper
    /// refused a key this backend could not verify (its keyrings are then incomplete and
    /// its items that are not valid are left out of the agreement check).
    #[serde(default)]
    pub link_unsupported: usize,
    /// Generated corpora: its gatekeeper checks per second in the link-time phase (one
    /// run, not interleaved: informative only).
    pub link_checks_per_s: Option<f64>,
}

/// One signature class: every backend's verify figure for it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AlgoRow {
    /// The class as the ceiling names it (`rsa2048/sha256`, `ecdsa-nist-p384/sha384`).
    pub class: VerifyClass,
    /// The class for people (`RSA-2048/sha256`, `P-384/sha384`).
    pub label: String,
    /// Items of the corpus in the class (the reference backend's first pass).
    pub items: u64,
    /// The item whose signature is measured (the smallest sampled one of the class).
    pub sample: String,
    /// Its size in bytes (a message-hashing backend hashes about that much per verify).
    pub sample_bytes: u64,
    /// One cell per backend, in [`BackendsReport::backends`] order.
    pub cells: Vec<Cell>,
}

/// One backend's figure for one class.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cell {
    /// The backend.
    pub backend: String,
    /// Verifications per second per thread, all threads at once (median of rounds);
    /// `None` when unsupported.
    pub verify_per_s: Option<f64>,
    /// Each round's nanoseconds per verification.
    pub verify_ns_rounds: Vec<f64>,
    /// This backend's figure ÷ the row's fastest (1 for the fastest).
    pub ratio_to_fastest: Option<f64>,
    /// Why there is no figure: the backend lacks this algorithm, key size or hash.
    pub unsupported: Option<String>,
    /// The backend's verdict on the sample when it is not valid although the reference
    /// verified it (`invalid:EKEYREJECTED`: measured all the same), or [`NO_KEY`] when its
    /// keyrings lack the signer (no figure). Either way the items disagree.
    pub rejected: Option<String>,
}

/// Same-run agreement of every backend's verdicts.
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
pub struct Agreement {
    /// Items judged by at least two backends (each able to verify it).
    pub compared: usize,
    /// Items on which two such backends differ, all of them.
    pub disagreeing: usize,
    /// The first [`DISAGREEMENT_LIST_CAP`] of them, named.
    pub items: Vec<Disagreement>,
}

/// An item the backends disagree on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Disagreement {
    /// The item.
    pub path: String,
    /// Every backend's verdict, in [`BackendsReport::backends`] order.
    pub verdicts: Vec<BackendVerdict>,
}

/// One backend's verdict on one item.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BackendVerdict {
    /// The backend.
    pub backend: String,
    /// `valid`, `invalid EKEYREJECTED`, `unsigned ENODATA`; `unsupported` when the backend
    /// could not verify it (then left out of the comparison).
    pub verdict: String,
}

impl BackendsReport {
    /// Whether every backend gave the same verdict for every item it could verify.
    pub fn agree(&self) -> bool {
        self.agreement.disagreeing == 0
    }
}

/// The name of a verdict in reports: `valid`, `invalid EKEYREJECTED`, ….
fn verdict_text(v: &Verdict) -> String {
    if v.backend_unsupported {
        return "unsupported".into();
    }
    match v.errno {
        None => v.class.name().into(),
        Some(e) => format!("{} {e}", v.class.name()),
    }
}

/// `RSA-2048/sha256`, `P-384/sha384`.
fn label(store: &Store, inp: &VerifyInputs) -> Option<String> {
    let k = store.asymmetric(inp.key)?;
    let a = match k.public.algo() {
        PkeyAlgo::Rsa => format!("RSA-{}", k.public.bits()),
        PkeyAlgo::Ecdsa(c) => match c {
            crypto::Curve::P192 => "P-192".into(),
            crypto::Curve::P256 => "P-256".into(),
            crypto::Curve::P384 => "P-384".into(),
            crypto::Curve::P521 => "P-521".into(),
        },
        PkeyAlgo::MlDsa(l) => l.name().into(),
    };
    Some(match inp.hash() {
        Some(h) => format!("{a}/{h}"),
        // ML-DSA: the parameter set is the whole class.
        None => a,
    })
}

/// Median of `v` (0 for none).
fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return 0.0;
    }
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

/// The rounds' shared costs, each figure the median of its rounds (the mmap threshold is
/// the first round's: the engines were built with it).
fn median_ceiling(rounds: &[Ceiling]) -> Ceiling {
    let mut c = rounds.first().cloned().unwrap_or_default();
    let of = |f: &dyn Fn(&Ceiling) -> f64| median(&rounds.iter().map(f).collect::<Vec<_>>());
    for (h, v) in c.digest_ns_per_byte.iter_mut() {
        *v = of(&|r| r.digest_ns_per_byte.get(h).copied().unwrap_or(f64::NAN));
    }
    c.open_read_ns = of(&|r| r.open_read_ns);
    c.read_ns_per_byte = of(&|r| r.read_ns_per_byte);
    c.decompress_ns_per_byte = of(&|r| r.decompress_ns_per_byte);
    c
}

/// One class's sample: the item, and its signature's inputs in every backend's store.
struct Sample {
    class: VerifyClass,
    label: String,
    path: PathBuf,
    bytes: u64,
    /// Per backend: the inputs, with the key in that backend's store (and the message when
    /// that backend hashes it).
    inputs: Vec<Option<VerifyInputs>>,
}

/// The inputs of `item`'s signature in `store`, from its bytes.
fn inputs_of(
    store: &Store,
    item: &Item,
    data: &[u8],
    source: ImaSourceMode,
) -> Option<VerifyInputs> {
    match item.kind {
        ItemKind::Module => {
            let ring = module::keyring(store);
            match Compression::detect_module(data) {
                None => inputs::module(store, data, ring),
                Some(c) => {
                    let mut plain = Vec::new();
                    decompress(c, data, &mut plain).ok()?;
                    inputs::module(store, &plain, ring)
                }
            }
        }
        ItemKind::Ima => crate::engine::read_ima_label(&item.path, source)
            .and_then(|(_, sig)| inputs::ima(store, data, &sig)),
    }
}

/// Per class, the smallest of `items` whose signature the reference store (`stores[0]`)
/// verifies, with its inputs in every store.
fn samples(stores: &[&Store], items: &[Item], source: ImaSourceMode) -> Vec<Sample> {
    let reference = stores[0];
    let mut by_class: BTreeMap<VerifyClass, Sample> = BTreeMap::new();
    for item in items {
        let Ok(data) = std::fs::read(&item.path) else {
            continue;
        };
        let Some(inp) = inputs_of(reference, item, &data, source) else {
            continue;
        };
        let verified = reference
            .asymmetric(inp.key)
            .is_some_and(|k| k.public.verify(&inp.record(), reference.profile()).is_ok());
        let (Some(class), Some(label), true) = (
            class_of(reference, inp.key, inp.hash()),
            label(reference, &inp),
            verified,
        ) else {
            continue;
        };
        let bytes = data.len() as u64;
        if by_class.get(&class).is_some_and(|s| s.bytes <= bytes) {
            continue;
        }
        let inputs = stores
            .iter()
            .map(|s| inputs_of(s, item, &data, source))
            .collect();
        by_class.insert(
            class.clone(),
            Sample {
                class,
                label,
                path: item.path.clone(),
                bytes,
                inputs,
            },
        );
    }
    by_class.into_values().collect()
}

/// What one backend's figure for one sample is, before any timing.
enum Probe {
    /// It cannot verify the sample (why).
    Unsupported(String),
    /// Its keyrings lack the sample's signer (its link-time phase did not admit it, where
    /// the reference's did): no figure, and a disagreement.
    NoKey,
    /// It can; `rejected` when its verdict is not valid.
    Measure { rejected: Option<String> },
}

/// Whether `store`'s backend can verify the sample `inp` (its inputs in that store), and
/// what it says.
fn probe(store: &Store, inp: Option<&VerifyInputs>) -> Probe {
    let Some((inp, key)) = inp.and_then(|i| Some((i, store.asymmetric(i.key)?))) else {
        return Probe::NoKey;
    };
    match key.public.check(&inp.record(), store.profile()) {
        Err(u) => Probe::Unsupported(u.reason().into()),
        Ok(Ok(())) => Probe::Measure { rejected: None },
        Ok(Err(e)) => Probe::Measure {
            rejected: Some(format!("invalid:{e}")),
        },
    }
}

/// A backend being compared: its engine (keyrings built with it) and what accumulates.
struct Contender {
    backend: Arc<dyn Backend>,
    engine: Engine,
    link: Option<LinkPhase>,
    skipped: usize,
    verdicts: BTreeMap<String, u64>,
    rounds: Vec<PassReport>,
    /// Per sample: each round's ns per verification (empty when unsupported).
    verify_ns: Vec<Vec<f64>>,
    /// Per hash: each round's own digest ns per byte (message-hashing backends).
    digest_ns_per_byte: BTreeMap<String, Vec<f64>>,
    /// Per sample of a class that takes the data (ML-DSA): each round's cost per byte of
    /// the data it verifies.
    data_ns_per_byte: Vec<Vec<f64>>,
}

/// Runs every usable backend of `listing` on `config.corpus` and compares them (the module
/// documentation has what and how). `build` makes the trust store each backend starts from
/// — the same standard keyrings and anchors for every one; a generated corpus's link-time
/// phase then adds its keyrings. The first usable backend is the reference. Unusable
/// backends are listed with their reason. `observer` hears the phases.
///
/// Disagreements are results, in the report ([`BackendsReport::agree`]); errors are what
/// prevents comparing (no usable backend, an unreadable corpus, an empty one).
pub fn compare(
    config: &BackendsConfig,
    listing: Vec<Listing>,
    build: &dyn Fn(Arc<dyn Backend>) -> Result<Store>,
    observer: &mut dyn Observer,
) -> Result<BackendsReport> {
    let dir = &config.corpus;
    let generated = is_generated(dir);
    let threads = worker_threads(config.threads);
    let budget = config.calibration;
    let pool = thread_pool(threads)?;

    let mut unavailable = Vec::new();
    let mut built = Vec::new();
    for l in listing {
        match l.backend {
            Err(reason) => unavailable.push(Unavailable {
                name: l.name.into(),
                reason,
            }),
            Ok(b) => {
                observer.phase(Phase::Backend { name: b.name() });
                let mut store = build(b.clone())?;
                let link = if generated {
                    let expected = std::fs::read_to_string(dir.join("keyring.expected")).ok();
                    Some(link::run(
                        &mut store,
                        &dir.join("keyring.script"),
                        expected.as_deref(),
                    )?)
                } else {
                    None
                };
                built.push((b, store, link));
            }
        }
    }
    if built.is_empty() {
        return Err(Error::usage("no crypto backend can run here"));
    }

    let source = Source::open(dir, config.kind, None)?;
    let total = source.count()?;
    if total == 0 {
        return Err(Error::usage(format!(
            "{}: no items to verify",
            dir.display()
        )));
    }

    // The samples, and what the costs every backend shares are measured on.
    observer.phase(Phase::Calibrate { items: total });
    let spread = source.spread(total, CLASS_SAMPLES)?;
    let stores: Vec<&Store> = built.iter().map(|b| &b.1).collect();
    let kernel_profile = stores[0].kernel();
    let samples = samples(&stores, &spread, config.ima_source);
    let mut io = calibrate::sample(stores[0], &spread, IO_SAMPLES, config.ima_source);
    io.verify.clear();
    for s in &samples {
        if let Some(h) = s.inputs[0].as_ref().and_then(|i| i.hash()) {
            if !io.hashes.contains(&h) {
                io.hashes.push(h);
            }
        }
    }
    // Measured here once for the engines' mmap threshold, then again in every round, so
    // that each round's ceiling is made of figures of that round.
    let shared_probes = calibrate::Calibrator::new(stores[0], &io, config.ima_source);
    let first = shared_probes.full(stores[0], &pool, budget, config.mmap);

    let engine_config = EngineConfig {
        cache_size: 0,
        mmap_threshold: config.mmap.threshold(first.mmap_threshold),
        ima_policy: ImaPolicy {
            check_blacklist: config.ima_check_blacklist || generated,
            rule: config.ima_rule,
        },
        ima_source: config.ima_source,
        timing: true,
    };
    let mut contenders: Vec<Contender> = built
        .into_iter()
        .map(|(backend, store, link)| Contender {
            backend,
            engine: Engine::new(store, engine_config.clone(), threads),
            link,
            skipped: 0,
            verdicts: BTreeMap::new(),
            rounds: Vec::new(),
            verify_ns: vec![Vec::new(); samples.len()],
            digest_ns_per_byte: BTreeMap::new(),
            data_ns_per_byte: vec![Vec::new(); samples.len()],
        })
        .collect();
    let n = contenders.len();
    let probes: Vec<Vec<Probe>> = samples
        .iter()
        .map(|s| {
            contenders
                .iter()
                .enumerate()
                .map(|(b, c)| probe(&read(&c.engine), s.inputs[b].as_ref()))
                .collect()
        })
        .collect();

    let mut agreement = Agreement::default();
    let mut shared_rounds: Vec<Ceiling> = Vec::new();
    let mut class_items: BTreeMap<VerifyClass, u64> = BTreeMap::new();
    let mut bytes = 0u64;
    let rounds = config.rounds.max(1);
    for round in 0..rounds {
        observer.phase(Phase::Round {
            round: round + 1,
            of: rounds,
        });
        // The shared costs of this round (the first round's were just measured).
        let shared = match round {
            0 => first.clone(),
            _ => shared_probes.full(&read(&contenders[0].engine), &pool, budget, config.mmap),
        };
        // Verify figures, class by class, the backends in rotating order.
        for (si, sample) in samples.iter().enumerate() {
            for k in 0..n {
                let b = (k + round + si) % n;
                if !matches!(probes[si][b], Probe::Measure { .. }) {
                    continue;
                }
                let c = &mut contenders[b];
                let ns = verify_ns(&c.engine, sample.inputs[b].as_ref(), &pool, budget);
                c.verify_ns[si].push(ns);
                if let Some(r) = sample.inputs[b]
                    .as_ref()
                    .and_then(|inp| own_data_ns_per_byte(&c.engine, inp, &pool, budget))
                {
                    c.data_ns_per_byte[si].push(r);
                }
            }
        }
        // Message-hashing backends: their own digest rate, per hash.
        for (b, c) in contenders.iter_mut().enumerate() {
            if !c.backend.hashes_message() {
                continue;
            }
            for (si, sample) in samples.iter().enumerate() {
                let Some(inp) = sample.inputs[b].as_ref() else {
                    continue;
                };
                let Some(hash) = inp.hash().map(|h| h.name().to_string()) else {
                    continue;
                };
                let has_it = c
                    .digest_ns_per_byte
                    .get(&hash)
                    .is_some_and(|v| v.len() > round);
                if has_it || !matches!(probes[si][b], Probe::Measure { .. }) {
                    continue;
                }
                if let Some(r) = own_digest_ns_per_byte(&c.engine, inp, &pool, budget) {
                    c.digest_ns_per_byte.entry(hash).or_default().push(r);
                }
            }
        }
        // This round's ceiling per backend: its verify figures over the shared costs.
        let ceilings: Vec<Ceiling> = contenders
            .iter()
            .map(|c| {
                let mut ceiling = shared.clone();
                for (si, sample) in samples.iter().enumerate() {
                    let (Some(&ns), Some(inp)) = (c.verify_ns[si].last(), &sample.inputs[0]) else {
                        continue;
                    };
                    let Some(hash) = inp.hash().map(|h| h.name()) else {
                        // ML-DSA: the fixed part and the cost per byte of the data.
                        let per_byte = c.data_ns_per_byte[si].last().copied().unwrap_or(0.0);
                        let len = inp.message.as_ref().map_or(0, Vec::len) as f64;
                        ceiling
                            .verify_data_ns_per_byte
                            .insert(sample.class.clone(), per_byte);
                        ceiling
                            .verify_ns
                            .insert(sample.class.clone(), (ns - per_byte * len).max(0.0));
                        continue;
                    };
                    let own = c
                        .digest_ns_per_byte
                        .get(hash)
                        .and_then(|v| v.last())
                        .copied()
                        .unwrap_or(0.0);
                    if own > 0.0 {
                        ceiling
                            .verify_digest_ns_per_byte
                            .insert(hash.to_string(), own);
                    }
                    let fixed = (ns - own * sample.bytes as f64).max(0.0);
                    ceiling.verify_ns.insert(sample.class.clone(), fixed);
                }
                ceiling
            })
            .collect();
        // Cold passes, cache off, chunk by chunk, the backends in rotating order.
        let passes: Vec<_> = contenders
            .iter()
            .map(|c| c.engine.begin_pass(CachePolicy::Bypass))
            .collect();
        let mut accs: Vec<PassAccumulator> = (0..n)
            .map(|_| PassAccumulator::new(&format!("cold-r{}", round + 1), threads))
            .collect();
        let mut skipped = vec![0usize; n];
        let mut chunk_no = 0usize;
        source.for_each_chunk(&mut |items, _| {
            let mut results: Vec<Option<crate::engine::PassResult>> =
                (0..n).map(|_| None).collect();
            for k in 0..n {
                let b = (k + round + chunk_no) % n;
                let r = passes[b].run(items, &pool);
                let store = read(&contenders[b].engine);
                let keep = |o: &crate::engine::Outcome| !o.verdict.backend_unsupported;
                accs[b].add_where(&store, items, &r, keep);
                results[b] = Some(r);
            }
            chunk_no += 1;
            if round == 0 {
                let results: Vec<&crate::engine::PassResult> = results.iter().flatten().collect();
                for (b, r) in results.iter().enumerate() {
                    skipped[b] += r
                        .outcomes
                        .iter()
                        .filter(|o| o.verdict.backend_unsupported)
                        .count();
                }
                agree(&mut agreement, items, &results, &contenders);
            }
            Ok(())
        })?;
        drop(passes);
        shared_rounds.push(shared);
        for (b, acc) in accs.into_iter().enumerate() {
            if round == 0 && b == 0 {
                class_items = acc.classes();
            }
            let p = acc.finish(&ceilings[b]);
            if round == 0 && b == 0 {
                bytes = p.bytes;
            }
            let c = &mut contenders[b];
            if round == 0 {
                // The accumulator counted the same verdicts (the counted items only).
                c.skipped = skipped[b];
                c.verdicts = p.verdicts.clone();
            }
            c.rounds.push(p);
        }
    }

    let names: Vec<String> = contenders.iter().map(|c| c.backend.name().into()).collect();
    let rows = samples
        .iter()
        .enumerate()
        .map(|(si, s)| {
            let mut cells: Vec<Cell> = contenders
                .iter()
                .enumerate()
                .map(|(b, c)| {
                    let (unsupported, rejected) = match &probes[si][b] {
                        Probe::Unsupported(why) => (Some(why.clone()), None),
                        Probe::NoKey => (None, Some(NO_KEY.to_string())),
                        Probe::Measure { rejected } => (None, rejected.clone()),
                    };
                    let ns = &c.verify_ns[si];
                    Cell {
                        backend: names[b].clone(),
                        verify_per_s: (!ns.is_empty()).then(|| 1e9 / median(ns).max(1e-9)),
                        verify_ns_rounds: ns.clone(),
                        ratio_to_fastest: None,
                        unsupported,
                        rejected,
                    }
                })
                .collect();
            let fastest = cells
                .iter()
                .filter_map(|c| c.verify_per_s)
                .fold(0.0, f64::max);
            for c in &mut cells {
                c.ratio_to_fastest = c.verify_per_s.map(|v| v / fastest.max(1e-9));
            }
            AlgoRow {
                class: s.class.clone(),
                label: s.label.clone(),
                items: class_items.get(&s.class).copied().unwrap_or(0),
                sample: s.path.display().to_string(),
                sample_bytes: s.bytes,
                cells,
            }
        })
        .collect();
    let backends: Vec<BackendResult> = contenders
        .iter()
        .map(|c| {
            let of =
                |f: fn(&PassReport) -> f64| median(&c.rounds.iter().map(f).collect::<Vec<_>>());
            BackendResult {
                name: c.backend.name().into(),
                library: c.backend.library(),
                hashes_message: c.backend.hashes_message(),
                items: total - c.skipped,
                skipped: c.skipped,
                items_per_s: of(|p| p.items_per_s),
                items_per_s_rounds: c.rounds.iter().map(|p| p.items_per_s).collect(),
                ceiling_items_per_s: of(|p| p.ceiling_items_per_s),
                efficiency: of(|p| p.efficiency),
                crypto_efficiency: of(|p| p.crypto_efficiency),
                digest_mb_per_s: c
                    .digest_ns_per_byte
                    .iter()
                    .map(|(h, v)| (h.clone(), 1e3 / median(v).max(1e-12)))
                    .collect(),
                verdicts: c.verdicts.clone(),
                link_unexpected: c
                    .link
                    .as_ref()
                    .map(|l| l.unexpected.clone())
                    .unwrap_or_default(),
                link_unsupported: c.link.as_ref().map_or(0, |l| l.unsupported.len()),
                link_checks_per_s: c.link.as_ref().map(|l| l.checks_per_s),
            }
        })
        .collect();
    let machine = Machine::detect();
    let versions = super::report::Versions {
        trustbench: env!("CARGO_PKG_VERSION").into(),
        backend: names.join(","),
        backend_crate: backends
            .iter()
            .map(|b| b.library.as_str())
            .collect::<Vec<_>>()
            .join("; "),
    };
    Ok(BackendsReport {
        schema: SCHEMA.into(),
        created_unix: unix_seconds(),
        testbed: Some(super::report::Testbed::detect(&machine, &versions)),
        machine,
        trustbench: env!("CARGO_PKG_VERSION").into(),
        git_commit: git_commit(),
        corpus: CorpusInfo {
            dir: dir.display().to_string(),
            spec_hash: config.spec_hash.clone(),
            items: total,
            bytes,
        },
        threads,
        rounds,
        calibration_ms: budget.as_millis() as u64,
        ima_rule: config.ima_rule.name().into(),
        kernel_profile,
        ima_source: config.ima_source.name().into(),
        reference: names[0].clone(),
        backends,
        unavailable,
        rows,
        shared: median_ceiling(&shared_rounds),
        agreement,
    })
}

/// The store of an engine (nothing writes it during a comparison).
fn read(engine: &Engine) -> std::sync::RwLockReadGuard<'_, Store> {
    engine.store.read().unwrap_or_else(|e| e.into_inner())
}

/// Nanoseconds per verification of `inp` with the engine's pre-parsed key, all threads at
/// once (the kernel's rules included, and batch-amortised for a batching backend, as in
/// the ceiling).
fn verify_ns(
    engine: &Engine,
    inp: Option<&VerifyInputs>,
    pool: &rayon::ThreadPool,
    budget: Duration,
) -> f64 {
    let store = read(engine);
    let Some((inp, key)) = inp.and_then(|i| Some((i, store.asymmetric(i.key)?))) else {
        return f64::NAN;
    };
    calibrate::verify_ns(&store, &key.public, &inp.record(), pool, budget)
}

/// A message-hashing backend's own digest cost per byte for `inp`'s hash: its arithmetic
/// (below the kernel's rules) on the sample's message and on a [`DIGEST_PROBE_BYTES`]
/// message (which does not verify, at the same cost: the digest, then the same public-key
/// operation and comparison), the difference divided by the extra bytes. `None` when the
/// backend has no handle for the key or the sample has no message.
fn own_digest_ns_per_byte(
    engine: &Engine,
    inp: &VerifyInputs,
    pool: &rayon::ThreadPool,
    budget: Duration,
) -> Option<f64> {
    let store = read(engine);
    let key = store.asymmetric(inp.key)?;
    let prepared = key.public.prepared()?;
    let message = inp.message.as_deref()?;
    let signed = inp.digest.as_ref()?;
    let hash = signed.algo();
    let mut buf = [0u8; crate::hash::MAX_DIGEST_LEN];
    let digest = match key.public.algo() {
        PkeyAlgo::Rsa => signed.as_bytes(),
        PkeyAlgo::Ecdsa(c) => crypto::ecdsa_digest(c, signed.as_bytes(), &mut buf),
        PkeyAlgo::MlDsa(_) => return None,
    };
    let big = vec![0x5au8; DIGEST_PROBE_BYTES.max(message.len() * 2)];
    let time = |m: &[u8]| {
        let input = MathInput {
            hash,
            digest,
            message: Some(m),
            signature: &inp.signature,
        };
        concurrent_ns_per_op(pool, budget, &|| {
            let _ = prepared.verify(&input);
            1
        })
    };
    let (small, large) = (time(message), time(&big));
    Some(((large - small) / (big.len() - message.len()) as f64).max(0.0))
}

/// For a class whose algorithm takes the data (ML-DSA), the backend's own cost per byte of
/// that data: its arithmetic on the sample's message and on a [`DIGEST_PROBE_BYTES`] one
/// (which does not verify, at the same cost: ML-DSA always computes the whole check), the
/// difference divided by the extra bytes. `None` for digest classes, or without a handle.
fn own_data_ns_per_byte(
    engine: &Engine,
    inp: &VerifyInputs,
    pool: &rayon::ThreadPool,
    budget: Duration,
) -> Option<f64> {
    if inp.digest.is_some() {
        return None;
    }
    let store = read(engine);
    let prepared = store.asymmetric(inp.key)?.public.prepared()?;
    let message = inp.message.as_deref()?;
    let big = vec![0x5au8; DIGEST_PROBE_BYTES.max(message.len() * 2)];
    let time = |m: &[u8]| {
        concurrent_ns_per_op(pool, budget, &|| {
            let _ = prepared.verify_data(m, &inp.signature);
            1
        })
    };
    let (small, large) = (time(message), time(&big));
    Some(((large - small) / (big.len() - message.len()) as f64).max(0.0))
}

/// Compares one chunk's verdicts (`results[b]` is backend `b`'s) into `agreement`.
fn agree(
    agreement: &mut Agreement,
    items: &[Item],
    results: &[&crate::engine::PassResult],
    contenders: &[Contender],
) {
    for (i, item) in items.iter().enumerate() {
        let mut judged = results
            .iter()
            .map(|r| &r.outcomes[i].verdict)
            .filter(|v| !v.backend_unsupported);
        let Some(first) = judged.next() else {
            continue;
        };
        let mut count = 1;
        let mut differ = false;
        for v in judged {
            count += 1;
            differ |= (v.class, v.errno) != (first.class, first.errno);
        }
        if count >= 2 {
            agreement.compared += 1;
        }
        if !differ {
            continue;
        }
        agreement.disagreeing += 1;
        if agreement.items.len() < DISAGREEMENT_LIST_CAP {
            agreement.items.push(Disagreement {
                path: item.path.display().to_string(),
                verdicts: results
                    .iter()
                    .zip(contenders)
                    .map(|(r, c)| BackendVerdict {
                        backend: c.backend.name().into(),
                        verdict: verdict_text(&r.outcomes[i].verdict),
                    })
                    .collect(),
            });
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A comparison of two backends over two classes, one unsupported by the second
    /// backend, for the exporters' tests. Names carry `<&"` so that escaping shows.
    pub(crate) fn backends_report() -> BackendsReport {
        let backend = |name: &str, items_per_s: f64| BackendResult {
            name: name.into(),
            library: format!("{name} <1.0> & \"co\""),
            hashes_message: name == "ring",
            items: 100,
            skipped: usize::from(name == "ring") * 10,
            items_per_s,
            items_per_s_rounds: vec![items_per_s * 0.9, items_per_s, items_per_s * 1.05],
            ceiling_items_per_s: items_per_s * 2.0,
            efficiency: 0.5,
            crypto_efficiency: 0.6,
            digest_mb_per_s: BTreeMap::new(),
            verdicts: [("valid".to_string(), 100)].into(),
            link_unexpected: Vec::new(),
            link_unsupported: 0,
            link_checks_per_s: Some(1000.0),
        };
        let cell = |backend: &str, ns: Option<f64>| Cell {
            backend: backend.into(),
            verify_per_s: ns.map(|ns| 1e9 / ns),
            verify_ns_rounds: ns.map_or(Vec::new(), |ns| vec![ns * 0.95, ns, ns * 1.1]),
            ratio_to_fastest: ns.map(|_| 1.0),
            unsupported: ns.is_none().then(|| "no P-384".to_string()),
            rejected: None,
        };
        let row = |class: &str, label: &str, cells: Vec<Cell>| AlgoRow {
            class: class.into(),
            label: label.into(),
            items: 50,
            sample: format!("files/{label}<&>.ko"),
            sample_bytes: 4096,
            cells,
        };
        BackendsReport {
            schema: SCHEMA.into(),
            created_unix: 1_700_000_000,
            testbed: None,
            machine: Machine {
                cpu_model: "Test CPU".into(),
                cpu_flags: vec!["aes".into()],
                logical_cpus: 2,
                kernel: "6.1.0".into(),
            },
            trustbench: "0.1.0".into(),
            git_commit: None,
            corpus: CorpusInfo {
                dir: "/tmp/c".into(),
                spec_hash: None,
                items: 100,
                bytes: 100_000,
            },
            threads: 2,
            rounds: 3,
            calibration_ms: 50,
            ima_rule: "imasig".into(),
            kernel_profile: Default::default(),
            ima_source: "auto".into(),
            reference: "aws-lc".into(),
            backends: vec![backend("aws-lc", 5000.0), backend("ring", 4000.0)],
            unavailable: vec![Unavailable {
                name: "kernel".into(),
                reason: "no keyctl <here>".into(),
            }],
            rows: vec![
                row(
                    "rsa2048/sha256",
                    "RSA-2048/sha256",
                    vec![cell("aws-lc", Some(40_000.0)), cell("ring", Some(45_000.0))],
                ),
                row(
                    "ecdsa-nist-p384/sha384",
                    "P-384/sha384",
                    vec![cell("aws-lc", Some(900_000.0)), cell("ring", None)],
                ),
            ],
            shared: Ceiling::default(),
            agreement: Agreement {
                compared: 100,
                disagreeing: 1,
                items: vec![Disagreement {
                    path: "files/odd<&>.bin".into(),
                    verdicts: vec![
                        BackendVerdict {
                            backend: "aws-lc".into(),
                            verdict: "valid".into(),
                        },
                        BackendVerdict {
                            backend: "ring".into(),
                            verdict: "invalid EKEYREJECTED".into(),
                        },
                    ],
                }],
            },
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0]), 3.0);
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[f64::NAN, 2.0]), 2.0);
    }

    #[test]
    fn verdicts_are_named_as_reports_name_them() {
        let v = Verdict::invalid(ItemKind::Module, crate::Errno::EKEYREJECTED, "x");
        assert_eq!(verdict_text(&v), "invalid EKEYREJECTED");
        let mut u = v;
        u.backend_unsupported = true;
        assert_eq!(verdict_text(&u), "unsupported");
        assert_eq!(
            verdict_text(&Verdict::valid(ItemKind::Ima, 1, None)),
            "valid"
        );
    }
}
