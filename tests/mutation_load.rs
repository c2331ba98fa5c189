//! Mutation under load (issue 12, point 3): while a parallel engine pass is in flight over a
//! corpus of a few thousand modules and IMA files, another thread changes the trust store
//! through `engine.store.write()` — revokes keys, adds `tbs:` and `bin:` blacklist entries,
//! unlinks keys, links them back, re-adds certificates and clears keyrings — and every
//! verdict of every item is checked:
//!
//! 1. it is exactly what a fresh, single-threaded, cache-free verification of the item gives
//!    under the trust state of some epoch inside the window in which the item was decided;
//! 2. no item is valid by a key that was revoked, unlinked or cleared away for the whole of
//!    that window, nor an IMA file whose digest was blacklisted (`bin:`) for all of it;
//! 3. after the mutations, a pass that uses the cache gives every item exactly the fresh
//!    verdict under the final state (no stale verdict outlives the change), and a pass after
//!    it is served wholly from the cache with the same verdicts.
//!
//! Every outcome names the epoch its verdict was decided under (`Outcome::epoch`); the test
//! also takes a window around it from outside and checks that the named epoch lies in it,
//! then judges the verdict against exactly that one state. The gated runs drive the pass's
//! own per-worker code ([`Pass::verify_chunk`], what [`Pass::run`]'s workers call, batch
//! windows included) from a rayon pool, reading the epoch before and after every chunk, and
//! fire each mutation when the pass has finished a seeded number of items (workers wait at
//! chunk starts for mutations that are due, so every mutation lands while the pass runs and
//! the other worker is mid-chunk). The free runs call [`Engine::pass`] itself while the
//! mutator fires at seeded moments; their outside window is the whole pass. Reference
//! verdicts come from a store rebuilt for each state (the corpus's keyring script, then the
//! first k mutations, whose outcomes must replay identically), with a cache-free engine on a
//! non-batching backend and a fresh scratch per item.
//!
//! Interleaving is not deterministic; what is checked is: every verdict is judged against
//! every state its window allows, and nothing about time is asserted.

#![cfg(feature = "generator")]

use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use trustbench::corpus::gen::generate;
use trustbench::corpus::manifest::{read_manifest, Expected};
use trustbench::corpus::spec::Spec;
use trustbench::crypto::mb::{Lanes, Mb};
use trustbench::crypto::{self, Backend, CryptoProfile};
use trustbench::engine::{CacheMode, CachePolicy, Engine, EngineConfig, Item, Outcome, Scratch};
use trustbench::hash::HashAlgo;
use trustbench::measure::link;
use trustbench::trust::blacklist::HashKind;
use trustbench::trust::{AddMode, KernelConfig, Serial, Store};
use trustbench::verify::ima::ImaPolicy;
use trustbench::verify::{ItemKind, Verdict, VerdictClass};
use trustbench::Errno;

const SPEC: &str = r#"
name = "mutation-load"
seed = 12

[keys]
root = "rsa2048"
secondary_ca = "rsa2048"
machine_ca = "rsa2048"
module_signers = ["rsa2048", "p256"]
ima_signers = ["rsa2048", "p256"]
extra_key_pool = 1

[modules]
count = 1500
sizes = "fixed:3000"
issuers = { root = 40, secondary = 40, machine = 20 }

[files]
count = 1500
sizes = "fixed:2048"

[bad]
percent = 4
"#;

/// Each item appears this many times in an in-flight pass (shuffled), so verdicts cached
/// during the pass are looked up again during it, under the same or a later epoch.
const REPEAT: usize = 2;

// =======================================================================================
// the corpus and the base trust state
// =======================================================================================

/// The generated corpus, its items and what the tests need to know about its keys.
struct Fixture {
    dir: PathBuf,
    manifest: Vec<Expected>,
    items: Vec<Item>,
    /// Certificate DER and SHA-256 TBS hash by key description (`CN: id`).
    certs: HashMap<String, (Arc<Vec<u8>>, Vec<u8>)>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mutation-load-corpus");
        let _ = std::fs::remove_dir_all(&dir);
        let spec = Spec::parse(SPEC, "mutation-load spec").expect("spec parses");
        generate(&spec, SPEC, &dir, false).expect("corpus generation");
        let text = std::fs::read_to_string(dir.join("manifest.tsv")).expect("manifest.tsv");
        let manifest = read_manifest(&text).expect("manifest parses");
        assert_eq!(manifest.len(), 3000, "1500 modules + 1500 files");
        let items = manifest
            .iter()
            .map(|e| Item::declared(dir.join(&e.path), e.kind).unwrap_or_else(|m| panic!("{m}")))
            .collect();
        let probe = Store::new(
            KernelConfig::default(),
            CryptoProfile::full(),
            reference_backend(),
        );
        let mut certs = HashMap::new();
        let mut stack = vec![dir.join("certs")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("certs dir") {
                let p = e.expect("dir entry").path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let der = std::fs::read(&p).expect("certificate");
                let Ok(parsed) = probe.parse_cert(&der) else {
                    continue;
                };
                let (_, x) = x509_parser::parse_x509_certificate(&der).expect("x509");
                let tbs = HashAlgo::Sha256
                    .digest(x.tbs_certificate.as_ref())
                    .expect("sha256");
                certs.insert(
                    parsed.key.description.clone(),
                    (Arc::new(der.clone()), tbs.as_bytes().to_vec()),
                );
            }
        }
        Fixture {
            dir,
            manifest,
            items,
            certs,
        }
    })
}

/// The backend of the reference verdicts: aws-lc, which verifies one signature at a time.
fn reference_backend() -> Arc<dyn Backend> {
    crypto::backends::by_name("aws-lc").expect("aws-lc backend")
}

/// The keyrings the mutations work on.
#[derive(Clone, Copy, Debug)]
struct Rings {
    builtin: Serial,
    secondary: Serial,
    machine: Option<Serial>,
    ima: Serial,
    /// A user keyring (`keyctl newring hold @s`) that keeps keys possessed, so that a key
    /// unlinked from a system keyring can be linked back.
    hold: Serial,
}

/// The trust state every run starts from: the corpus's keyring script replayed through the
/// real gatekeepers, plus the hold keyring.
fn base_store(backend: Arc<dyn Backend>) -> (Store, Rings) {
    let f = fixture();
    let mut store = Store::new(KernelConfig::default(), CryptoProfile::full(), backend);
    let expected = std::fs::read_to_string(f.dir.join("keyring.expected")).unwrap();
    let phase = link::run(&mut store, &f.dir.join("keyring.script"), Some(&expected))
        .expect("link-time phase");
    assert!(
        phase.unexpected.is_empty(),
        "keyring.script outcomes differ from keyring.expected: {:?}",
        phase.unexpected
    );
    let hold = store.new_keyring("hold", true);
    let sys = store.system();
    let rings = Rings {
        builtin: sys.builtin,
        secondary: sys.secondary.expect("secondary keyring"),
        machine: sys.machine,
        ima: sys.ima,
        hold,
    };
    (store, rings)
}

fn engine_config(cache_size: usize) -> EngineConfig {
    EngineConfig {
        cache_size,
        ima_policy: ImaPolicy {
            check_blacklist: true,
            ..ImaPolicy::default()
        },
        timing: false,
        ..EngineConfig::default()
    }
}

/// Live asymmetric keys linked directly in `ring`.
fn live_keys(store: &Store, ring: Serial) -> Vec<Serial> {
    store
        .keyring(ring)
        .map(|k| k.links().to_vec())
        .unwrap_or_default()
        .into_iter()
        .filter(|&s| store.asymmetric(s).is_some() && store.validate(s).is_ok())
        .collect()
}

// =======================================================================================
// mutations
// =======================================================================================

/// One change of trust state, as `keyctl` would make it.
#[derive(Clone, Debug)]
enum Op {
    Revoke(Serial),
    Link { key: Serial, ring: Serial },
    Unlink { key: Serial, ring: Serial },
    Clear(Serial),
    Blacklist(HashKind, Vec<u8>),
    AddCert { ring: Serial, der: Arc<Vec<u8>> },
}

impl Op {
    /// The kind of change, for the report.
    fn name(&self) -> &'static str {
        match self {
            Op::Revoke(_) => "revoke",
            Op::Link { .. } => "link",
            Op::Unlink { .. } => "unlink",
            Op::Clear(_) => "clear",
            Op::Blacklist(HashKind::Tbs, _) => "blacklist tbs:",
            Op::Blacklist(HashKind::Bin, _) => "blacklist bin:",
            Op::AddCert { .. } => "add",
        }
    }
}

/// What a mutation returned: the new serial for an added key or blacklist entry.
type OpResult = Result<Option<Serial>, Errno>;

fn apply(store: &mut Store, op: &Op) -> OpResult {
    match op {
        Op::Revoke(k) => store.revoke(*k).map(|_| None),
        Op::Link { key, ring } => store.link(*key, *ring).map(|_| None),
        Op::Unlink { key, ring } => store.unlink(*key, *ring).map(|_| None),
        Op::Clear(r) => store.clear(*r).map(|_| None),
        Op::Blacklist(kind, h) => store.add_blacklist_hash(*kind, h).map(Some),
        Op::AddCert { ring, der } => store.add_cert(*ring, der, AddMode::User).map(Some),
    }
}

/// A mutation as it was applied: the epochs around it and its outcome.
#[derive(Clone, Debug)]
struct Applied {
    before: u64,
    after: u64,
    result: OpResult,
}

/// The seeded choices (which mutation, when, the item order, chunk sizes).
#[path = "support/splitmix.rs"]
mod splitmix;
use splitmix::Rng;

/// A seeded schedule of about `n` mutations over the base state: revokes, unlinks (with a
/// hold link first, so some keys are linked back later), `tbs:` entries for unlinked keys'
/// certificates followed by an attempt to add the certificate again (refused while listed),
/// re-adds without one, `bin:` entries for valid IMA files' digests, and at most one clear,
/// last. The outcomes are whatever the store says (recorded, and replayed identically).
fn schedule(seed: u64, n: usize, base: &Store, rings: Rings, ima_digests: &[Vec<u8>]) -> Vec<Op> {
    let f = fixture();
    let mut rng = Rng(seed);
    let mut module_keys = live_keys(base, rings.secondary);
    let mut ima_keys = live_keys(base, rings.ima);
    let mut unlinked: Vec<(Serial, Serial)> = Vec::new();
    let mut ops = Vec::new();
    let cert_of = |k: Serial| {
        let d = base.description(k).expect("description");
        f.certs.get(&d).cloned()
    };
    while ops.len() + 1 < n {
        let (keys, ring) = if rng.below(2) == 0 {
            (&mut module_keys, rings.secondary)
        } else {
            (&mut ima_keys, rings.ima)
        };
        match rng.below(6) {
            0 => {
                if let Some(k) = rng.pick(keys) {
                    keys.retain(|&x| x != k);
                    ops.push(Op::Revoke(k));
                }
            }
            1 | 2 => {
                if let Some(k) = rng.pick(keys) {
                    keys.retain(|&x| x != k);
                    ops.push(Op::Link {
                        key: k,
                        ring: rings.hold,
                    });
                    ops.push(Op::Unlink { key: k, ring });
                    unlinked.push((k, ring));
                }
            }
            3 => {
                // Back: linked again, or its certificate added again — after a `tbs:` entry
                // for it half the time, which makes the kernel refuse the certificate.
                if unlinked.is_empty() {
                    continue;
                }
                let (k, ring) = unlinked.swap_remove(rng.below(unlinked.len()));
                match (rng.below(3), cert_of(k)) {
                    (0, _) | (_, None) => ops.push(Op::Link { key: k, ring }),
                    (1, Some((der, _))) => ops.push(Op::AddCert { ring, der }),
                    (_, Some((der, tbs))) => {
                        ops.push(Op::Blacklist(HashKind::Tbs, tbs));
                        ops.push(Op::AddCert { ring, der });
                    }
                }
            }
            4 => {
                if let Some(k) = rng.pick(keys) {
                    if let Some((_, tbs)) = cert_of(k) {
                        // A listed key stays: the kernel checks `tbs:` when a key is added.
                        ops.push(Op::Blacklist(HashKind::Tbs, tbs));
                    }
                }
            }
            _ => {
                if let Some(i) = (!ima_digests.is_empty()).then(|| rng.below(ima_digests.len())) {
                    ops.push(Op::Blacklist(HashKind::Bin, ima_digests[i].clone()));
                }
            }
        }
    }
    if rng.below(3) > 0 {
        ops.push(Op::Clear(if rng.below(2) == 0 {
            rings.ima
        } else {
            rings.secondary
        }));
    }
    ops
}

// =======================================================================================
// the reference: fresh, single-threaded, cache-free verdicts per state
// =======================================================================================

/// State k is the base state after the first k mutations; `epochs[k]` is the engine's epoch
/// in that state.
struct Reference<'a> {
    ops: &'a [Op],
    applied: &'a [Applied],
    epochs: Vec<u64>,
    engines: Vec<Option<Engine>>,
    memo: HashMap<(usize, usize), Verdict>,
    /// Per state: keys that may sign modules, keys that may sign IMA files, `bin:` digests.
    live: Vec<Live>,
    verifications: usize,
}

#[derive(Clone, Default)]
struct Live {
    modules: HashSet<Serial>,
    ima: HashSet<Serial>,
    bins: HashSet<Vec<u8>>,
}

impl Live {
    /// The signers a keyring change affects: `.secondary_trusted_keys` (with what it
    /// nests) for modules, `.ima` for files; other keyrings sign nothing.
    fn role(&mut self, rings: Rings, ring: Serial) -> Option<&mut HashSet<Serial>> {
        if ring == rings.secondary {
            Some(&mut self.modules)
        } else if ring == rings.ima {
            Some(&mut self.ima)
        } else {
            None
        }
    }
}

impl<'a> Reference<'a> {
    fn new(
        start_epoch: u64,
        ops: &'a [Op],
        applied: &'a [Applied],
        base: &Store,
        rings: Rings,
    ) -> Self {
        assert_eq!(ops.len(), applied.len(), "every mutation was applied");
        let mut epochs = vec![start_epoch];
        for (k, a) in applied.iter().enumerate() {
            assert_eq!(
                a.before,
                *epochs.last().unwrap(),
                "mutation {k} ({:?}) did not start from the state the previous one left",
                ops[k]
            );
            match a.result {
                // A change bumps the epoch; adding a hash that is listed already changes
                // nothing and need not.
                Ok(_) => assert!(
                    a.after >= a.before,
                    "mutation {k} ({:?}) moved the epoch back",
                    ops[k]
                ),
                Err(_) => assert_eq!(
                    a.after, a.before,
                    "failed mutation {k} ({:?}) changes nothing",
                    ops[k]
                ),
            }
            epochs.push(a.after);
        }
        // Who may sign, per state, from the mutations' own outcomes (not from the model's
        // searches): revoked keys never again; unlinked or cleared ones until linked back.
        let mut live = Live {
            modules: [Some(rings.secondary), Some(rings.builtin), rings.machine]
                .into_iter()
                .flatten()
                .flat_map(|r| live_keys(base, r))
                .collect(),
            ima: live_keys(base, rings.ima).into_iter().collect(),
            bins: HashSet::new(),
        };
        let mut revoked = HashSet::new();
        let mut lives = vec![live.clone()];
        for (op, a) in ops.iter().zip(applied) {
            if let Ok(new) = &a.result {
                match op {
                    Op::Revoke(k) => {
                        revoked.insert(*k);
                        live.modules.remove(k);
                        live.ima.remove(k);
                    }
                    Op::Unlink { key, ring } => {
                        if let Some(set) = live.role(rings, *ring) {
                            set.remove(key);
                        }
                    }
                    Op::Link { key, ring } => {
                        if let Some(set) = live.role(rings, *ring) {
                            if !revoked.contains(key) {
                                set.insert(*key);
                            }
                        }
                    }
                    Op::Clear(r) => {
                        if let Some(set) = live.role(rings, *r) {
                            set.clear();
                        }
                    }
                    Op::AddCert { ring, .. } => {
                        if let (Some(set), Some(s)) = (live.role(rings, *ring), new) {
                            set.insert(*s);
                        }
                    }
                    Op::Blacklist(HashKind::Bin, h) => {
                        live.bins.insert(h.clone());
                    }
                    Op::Blacklist(HashKind::Tbs, _) => {}
                }
            }
            lives.push(live.clone());
        }
        Reference {
            ops,
            applied,
            engines: (0..epochs.len()).map(|_| None).collect(),
            epochs,
            memo: HashMap::new(),
            live: lives,
            verifications: 0,
        }
    }

    /// The states whose epoch lies in `[lo, hi]` (both must be epochs of the run).
    fn states(&self, lo: u64, hi: u64) -> RangeInclusive<usize> {
        let first = self.epochs.partition_point(|&e| e < lo);
        let last = self.epochs.partition_point(|&e| e <= hi);
        assert!(
            first < self.epochs.len() && self.epochs[first] == lo,
            "epoch {lo} before a verdict is no state of this run: {:?}",
            self.epochs
        );
        assert!(
            last >= 1 && self.epochs[last - 1] == hi,
            "epoch {hi} after a verdict is no state of this run: {:?}",
            self.epochs
        );
        first..=last - 1
    }

    fn final_state(&self) -> usize {
        self.epochs.len() - 1
    }

    /// The fresh verdict of item `i` in state `k`.
    fn verdict(&mut self, k: usize, i: usize) -> Verdict {
        if k == 0 {
            return base_verdicts()[i];
        }
        if let Some(v) = self.memo.get(&(k, i)) {
            return *v;
        }
        if self.engines[k].is_none() {
            let (mut store, _) = base_store(reference_backend());
            for (j, (op, a)) in self.ops[..k].iter().zip(self.applied).enumerate() {
                let r = apply(&mut store, op);
                assert_eq!(r, a.result, "mutation {j} ({op:?}) replays identically");
            }
            self.engines[k] = Some(Engine::new(store, engine_config(0), 1));
        }
        let e = self.engines[k].as_ref().unwrap();
        let item = &fixture().items[i];
        let v = e
            .begin_pass(CachePolicy::Bypass)
            .verify_item(item, &mut Scratch::default())
            .verdict;
        self.verifications += 1;
        self.memo.insert((k, i), v);
        v
    }
}

/// Fresh verdicts in the base state (the same in every run: the same script, the same
/// serials), checked once against the generator's manifest.
fn base_verdicts() -> &'static [Verdict] {
    static B: OnceLock<Vec<Verdict>> = OnceLock::new();
    B.get_or_init(|| {
        let f = fixture();
        let e = Engine::new(base_store(reference_backend()).0, engine_config(0), 1);
        let pass = e.begin_pass(CachePolicy::Bypass);
        let v: Vec<Verdict> = f
            .items
            .iter()
            .map(|it| pass.verify_item(it, &mut Scratch::default()).verdict)
            .collect();
        for (e, v) in f.manifest.iter().zip(&v) {
            assert!(
                e.matches(v),
                "{}: base state: the manifest says {} {:?}, fresh verification gives {}",
                e.path,
                e.verdict.name(),
                e.errno,
                show(v)
            );
        }
        v
    })
}

/// Checks one verdict decided within `[lo, hi]`: property 1 (a fresh verdict of some state
/// in the window), then property 2 (a valid verdict's key could sign in some state of it).
fn check(
    r: &mut Reference<'_>,
    i: usize,
    v: &Verdict,
    lo: u64,
    hi: u64,
    what: &str,
) -> Option<String> {
    unexplained(r, i, v, lo, hi, what).or_else(|| unusable_signer(r, i, v, lo, hi, what))
}

/// Property 1: `v` is the fresh verdict of item `i` in some state of the window.
fn unexplained(
    r: &mut Reference<'_>,
    i: usize,
    v: &Verdict,
    lo: u64,
    hi: u64,
    what: &str,
) -> Option<String> {
    let states = r.states(lo, hi);
    if states.clone().any(|k| r.verdict(k, i) == *v) {
        return None;
    }
    let fresh: Vec<String> = states
        .clone()
        .map(|k| format!("state {k}: {}", show(&r.verdict(k, i))))
        .collect();
    Some(format!(
        "{what}: {}: got {} decided within states {states:?}, but fresh verification gives\n    {}",
        fixture().manifest[i].path,
        show(v),
        fresh.join("\n    ")
    ))
}

/// Property 2, from the mutations' outcomes alone: a valid verdict names a key that could
/// sign items of its kind in some state of the window (not revoked, unlinked or cleared
/// away), and for an IMA file, a state in which its digest was not blacklisted.
fn unusable_signer(
    r: &Reference<'_>,
    i: usize,
    v: &Verdict,
    lo: u64,
    hi: u64,
    what: &str,
) -> Option<String> {
    if v.class != VerdictClass::Valid {
        return None;
    }
    let path = &fixture().manifest[i].path;
    let kind = fixture().items[i].kind;
    let Some(signer) = v.signer else {
        return Some(format!("{what}: {path}: valid without a signer: {v:?}"));
    };
    let states = r.states(lo, hi);
    let usable = states.clone().any(|k| {
        let l = &r.live[k];
        let key_ok = match kind {
            ItemKind::Module => l.modules.contains(&signer),
            ItemKind::Ima => l.ima.contains(&signer),
        };
        let not_listed =
            kind == ItemKind::Module || v.digest.is_none_or(|d| !l.bins.contains(d.as_bytes()));
        key_ok && not_listed
    });
    (!usable).then(|| {
        format!(
            "{what}: {path}: valid by key {signer:#x} in states {states:?}, none of which lets \
             that key sign (revoked, unlinked or cleared) or lets the file's digest pass (bin:)"
        )
    })
}

fn show(v: &Verdict) -> String {
    format!(
        "{} {} signer={:?} ({})",
        v.class.name(),
        v.errno.map_or("-".into(), |e| e.to_string()),
        v.signer,
        v.reason
    )
}

// =======================================================================================
// the runs
// =======================================================================================

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
}

fn epoch(engine: &Engine) -> u64 {
    engine.store.read().unwrap().epoch()
}

/// How the mutator is driven during the in-flight pass.
#[derive(Clone, Copy, Debug)]
enum Drive {
    /// The pass's per-worker code from a rayon pool, epochs read around every chunk; each
    /// mutation fires once the pass has finished a seeded number of items.
    Gated,
    /// `Engine::pass` itself; the mutator fires at seeded moments; the window of every
    /// verdict is the whole pass.
    Free,
}

/// Figures of one run, for the report.
#[derive(Default, Debug)]
struct Counts {
    verdicts: usize,
    in_flight_verdicts: usize,
    mutations: usize,
    failed_mutations: usize,
    in_flight: usize,
    states_spanned: usize,
    verifications: usize,
    /// Per kind of mutation: applied, refused by the store.
    kinds: BTreeMap<&'static str, (usize, usize)>,
}

/// The in-flight pass with the mutator, then the final passes; every verdict checked.
/// Returns the violations (empty when the engine is right) and the figures.
fn run_once(
    seed: u64,
    drive: Drive,
    backend: Arc<dyn Backend>,
    mutations: usize,
) -> (Vec<String>, Counts) {
    let f = fixture();
    let (store, rings) = base_store(backend);
    let base_view = base_store(reference_backend()).0;
    let engine = Engine::new(store, engine_config(1 << 16), 2);
    let p = pool(2);
    let n = f.items.len();

    // Warm-up: the cache holds every item's verdict under the base epoch.
    let warm = engine.pass(&f.items, &p);
    let start_epoch = epoch(&engine);
    let ima_digests: Vec<Vec<u8>> = warm
        .outcomes
        .iter()
        .zip(&f.items)
        .filter(|(o, it)| it.kind == ItemKind::Ima && o.verdict.class == VerdictClass::Valid)
        .filter_map(|(o, _)| o.verdict.digest.map(|d| d.as_bytes().to_vec()))
        .collect();
    let ops = schedule(seed, mutations, &base_view, rings, &ima_digests);

    let mut rng = Rng(seed ^ 0x5eed);
    let mut order: Vec<usize> = (0..REPEAT).flat_map(|_| 0..n).collect();
    rng.shuffle(&mut order);
    let items: Vec<Item> = order.iter().map(|&i| f.items[i].clone()).collect();
    let total = items.len();
    let mut thresholds: Vec<usize> = (0..ops.len())
        .map(|_| total / 20 + rng.below(total * 4 / 5))
        .collect();
    thresholds.sort_unstable();
    let gaps: Vec<u64> = (0..ops.len()).map(|_| rng.below(4_000) as u64).collect();
    let chunk = 4 + rng.below(28);

    let applied: Mutex<Vec<Applied>> = Mutex::new(Vec::new());
    let done = AtomicUsize::new(0);
    let fired = AtomicUsize::new(0);
    let mut outcomes = vec![Outcome::PENDING; total];
    let mut windows = vec![(0u64, 0u64); total];

    std::thread::scope(|sc| {
        let (engine, ops, applied, done, fired) = (&engine, &ops, &applied, &done, &fired);
        let (thresholds, gaps) = (&thresholds, &gaps);
        let mutator = sc.spawn(move || {
            for (j, op) in ops.iter().enumerate() {
                match drive {
                    Drive::Gated => {
                        while done.load(Ordering::Acquire) < thresholds[j] {
                            std::thread::yield_now();
                        }
                    }
                    Drive::Free => std::thread::sleep(Duration::from_micros(gaps[j])),
                }
                let mut s = engine.store.write().unwrap();
                let before = s.epoch();
                let result = apply(&mut s, op);
                let after = s.epoch();
                drop(s);
                applied.lock().unwrap().push(Applied {
                    before,
                    after,
                    result,
                });
                fired.store(j + 1, Ordering::Release);
            }
        });
        match drive {
            Drive::Gated => {
                let pass = engine.begin_pass(CachePolicy::Use);
                assert_eq!(
                    pass.mode(),
                    CacheMode::LookupAndFill,
                    "the in-flight pass serves from the cache the warm-up filled"
                );
                let scratches: Vec<Mutex<Scratch>> =
                    (0..2).map(|_| Mutex::new(Scratch::default())).collect();
                p.install(|| {
                    outcomes
                        .par_chunks_mut(chunk)
                        .zip(windows.par_chunks_mut(chunk))
                        .zip(items.par_chunks(chunk))
                        .for_each(|((out, win), its)| {
                            let due =
                                thresholds.partition_point(|&t| t <= done.load(Ordering::Acquire));
                            while fired.load(Ordering::Acquire) < due {
                                std::thread::yield_now();
                            }
                            let slot = rayon::current_thread_index().unwrap_or(0) % 2;
                            let mut s = scratches[slot].lock().unwrap();
                            let lo = epoch(engine);
                            pass.verify_chunk(its, out, &mut s);
                            let hi = epoch(engine);
                            win.fill((lo, hi));
                            done.fetch_add(its.len(), Ordering::AcqRel);
                        })
                });
            }
            Drive::Free => {
                let lo = epoch(engine);
                let r = engine.pass(&items, &p);
                let hi = epoch(engine);
                outcomes = r.outcomes;
                windows.fill((lo, hi));
            }
        }
        mutator.join().expect("mutator thread");
    });
    let applied = applied.into_inner().unwrap();
    let pass_end = windows.iter().map(|w| w.1).max().unwrap_or(start_epoch);

    let what = format!(
        "seed {seed} {drive:?} {}",
        engine.store.read().unwrap().backend().name()
    );
    let mut r = Reference::new(start_epoch, &ops, &applied, &base_view, rings);
    let mut bad = Vec::new();

    let mut spanned = 0;
    for (n_, (o, &(lo, hi))) in outcomes.iter().zip(&windows).enumerate() {
        let i = order[n_];
        // The engine names the epoch each verdict was decided under: it must lie in the
        // window seen from outside, and that one state must explain the verdict.
        assert!(
            (lo..=hi).contains(&o.epoch),
            "item {i}: decided under epoch {} outside its window {lo}..={hi}",
            o.epoch
        );
        let (lo, hi) = (o.epoch, o.epoch);
        spanned += r.states(lo, hi).count();
        bad.extend(check(
            &mut r,
            i,
            &o.verdict,
            lo,
            hi,
            &format!("{what} in flight"),
        ));
    }

    // After the mutations: the cache must not keep any verdict the changes invalidated.
    let last = r.final_state();
    let final_epoch = r.epochs[last];
    assert_eq!(
        epoch(&engine),
        final_epoch,
        "{what}: the engine is in the final state"
    );
    let after = engine.pass(&f.items, &p);
    for (i, o) in after.outcomes.iter().enumerate() {
        bad.extend(check(
            &mut r,
            i,
            &o.verdict,
            final_epoch,
            final_epoch,
            &format!("{what} after (cached pass)"),
        ));
    }
    let again = engine.pass(&f.items, &p);
    assert_eq!(
        again.cache.hits, n as u64,
        "{what}: the pass after is served from the cache: {:?}",
        again.cache
    );
    for (i, (a, b)) in after.outcomes.iter().zip(&again.outcomes).enumerate() {
        if a.verdict != b.verdict {
            bad.push(format!(
                "{what}: {}: cached {} after {}",
                f.manifest[i].path,
                show(&b.verdict),
                show(&a.verdict)
            ));
        }
    }
    eprintln!(
        "{what}: {total} in-flight verdicts ({}), {:.2} states per window on average, {} \
         mutations ({} refused), {} landed before the pass ended; after: {:?}; {} fresh \
         verifications",
        match drive {
            Drive::Gated => format!("chunks of {chunk}"),
            Drive::Free => "Engine::pass".into(),
        },
        spanned as f64 / total as f64,
        ops.len(),
        applied.iter().filter(|a| a.result.is_err()).count(),
        applied.iter().filter(|a| a.after <= pass_end).count(),
        after.cache,
        r.verifications
    );
    // `tbs:` refuses the key: a certificate added after its TBS hash was listed is
    // EKEYREJECTED; one added without it is admitted again.
    let tbs_of: HashMap<&[u8], &[u8]> = f
        .certs
        .values()
        .map(|(der, tbs)| (der.as_slice(), tbs.as_slice()))
        .collect();
    let mut listed: HashSet<&[u8]> = HashSet::new();
    for (op, a) in ops.iter().zip(&applied) {
        match op {
            Op::Blacklist(HashKind::Tbs, h) if a.result.is_ok() => {
                listed.insert(h);
            }
            Op::AddCert { der, .. } => {
                let tbs = tbs_of[der.as_slice()];
                if listed.contains(tbs) {
                    assert_eq!(
                        a.result,
                        Err(Errno::EKEYREJECTED),
                        "{what}: a certificate whose tbs: hash is listed is refused"
                    );
                } else {
                    assert!(
                        a.result.is_ok(),
                        "{what}: an unlisted certificate unlinked before is added again: {:?}",
                        a.result
                    );
                }
            }
            _ => {}
        }
    }
    let mut kinds = BTreeMap::new();
    for (op, a) in ops.iter().zip(&applied) {
        let e: &mut (usize, usize) = kinds.entry(op.name()).or_default();
        if a.result.is_ok() {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    let counts = Counts {
        kinds,
        verdicts: total + 2 * n,
        in_flight_verdicts: total,
        mutations: ops.len(),
        failed_mutations: applied.iter().filter(|a| a.result.is_err()).count(),
        in_flight: applied.iter().filter(|a| a.after <= pass_end).count(),
        states_spanned: spanned,
        verifications: r.verifications,
    };
    (bad, counts)
}

/// A backend for the engine under test.
type MakeBackend = fn() -> Arc<dyn Backend>;

/// The batching backend: `mb` on this CPU's fastest lanes (its portable ones without IFMA),
/// so the batched pipeline — checks queued per window of 16 items — is what runs.
fn batching_backend() -> Arc<dyn Backend> {
    Arc::new(Mb::with_lanes(Some(
        Lanes::detect().unwrap_or(Lanes::Portable),
    )))
}

// =======================================================================================
// tests
// =======================================================================================

#[test]
fn mutations_during_parallel_passes_never_yield_a_verdict_of_no_state_in_the_window() {
    let runs: [(u64, Drive, MakeBackend); 6] = [
        (1, Drive::Gated, batching_backend),
        (2, Drive::Gated, reference_backend),
        (3, Drive::Gated, batching_backend),
        (4, Drive::Gated, reference_backend),
        (5, Drive::Free, batching_backend),
        (6, Drive::Free, reference_backend),
    ];
    let mut total = Counts::default();
    let mut bad = Vec::new();
    for (seed, drive, backend) in runs {
        let (b, c) = run_once(
            seed,
            drive,
            backend(),
            match drive {
                Drive::Gated => 14,
                // Every verdict of a free run may come from any state of the pass: fewer states.
                Drive::Free => 8,
            },
        );
        bad.extend(b);
        total.verdicts += c.verdicts;
        total.in_flight_verdicts += c.in_flight_verdicts;
        total.mutations += c.mutations;
        total.failed_mutations += c.failed_mutations;
        total.in_flight += c.in_flight;
        total.states_spanned += c.states_spanned;
        total.verifications += c.verifications;
        for (k, (ok, err)) in c.kinds {
            let e = total.kinds.entry(k).or_default();
            e.0 += ok;
            e.1 += err;
        }
    }
    println!(
        "mutation under load: {} runs, {} verdicts checked ({} decided while mutations were in \
         flight, the rest by the cached passes after them; {} items per corpus), {} mutations \
         applied ({} refused by the store, {} landed while a pass was in flight), {} fresh \
         reference verifications; {:.2} states per in-flight window on average",
        runs.len(),
        total.verdicts,
        total.in_flight_verdicts,
        fixture().items.len(),
        total.mutations,
        total.failed_mutations,
        total.in_flight,
        total.verifications,
        total.states_spanned as f64 / total.in_flight_verdicts.max(1) as f64
    );
    for (k, (ok, err)) in &total.kinds {
        println!("  {k}: {ok} applied, {err} refused");
    }
    let in_flight = bad.iter().filter(|b| b.contains(" in flight: ")).count();
    assert!(
        bad.is_empty(),
        "{} verdicts no trust state of their window explains ({in_flight} in flight, {} after \
         the mutations):\n{}",
        bad.len(),
        bad.len() - in_flight,
        bad.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// The checker itself can fail: a verdict cached before a revoke (and a `bin:` entry), served
/// after them, is reported by both properties.
#[test]
fn the_checker_reports_a_valid_verdict_served_after_its_key_was_revoked() {
    let f = fixture();
    let base = base_verdicts();
    let (mut store, rings) = base_store(reference_backend());
    // An IMA file valid in the base state, its key, and its digest.
    let i = (0..f.items.len())
        .find(|&i| f.items[i].kind == ItemKind::Ima && base[i].class == VerdictClass::Valid)
        .expect("a valid IMA file");
    let (key, digest) = (base[i].signer.unwrap(), base[i].digest.unwrap());
    let ops = vec![
        Op::Revoke(key),
        Op::Blacklist(HashKind::Bin, digest.as_bytes().to_vec()),
    ];
    let start = store.epoch();
    let applied: Vec<Applied> = ops
        .iter()
        .map(|op| {
            let before = store.epoch();
            let result = apply(&mut store, op);
            Applied {
                before,
                after: store.epoch(),
                result,
            }
        })
        .collect();
    let view = base_store(reference_backend()).0;
    let mut r = Reference::new(start, &ops, &applied, &view, rings);
    let (e0, e1, e2) = (r.epochs[0], r.epochs[1], r.epochs[2]);
    let stale = base[i];
    assert!(
        check(&mut r, i, &stale, e0, e0, "base").is_none(),
        "valid in the base state"
    );
    assert!(
        check(&mut r, i, &stale, e0, e2, "window").is_none(),
        "the window holds the base state"
    );
    for (lo, hi) in [(e1, e1), (e1, e2), (e2, e2)] {
        assert!(
            unexplained(&mut r, i, &stale, lo, hi, "stale").is_some(),
            "property 1 reports the stale verdict in {lo}..={hi}"
        );
        assert!(
            unusable_signer(&r, i, &stale, lo, hi, "stale").is_some(),
            "property 2 reports the stale verdict in {lo}..={hi}"
        );
    }
    let fresh = r.verdict(2, i);
    assert_eq!(
        (fresh.class, fresh.errno),
        (VerdictClass::Invalid, Some(Errno::EPERM)),
        "after the bin: entry the file is refused before its key is looked at: {}",
        show(&fresh)
    );
    assert!(check(&mut r, i, &fresh, e2, e2, "fresh").is_none());
}
