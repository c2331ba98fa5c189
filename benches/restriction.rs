//! The link-time restriction check against keyrings of 10 to 1M keys, and the live kernel's
//! own lookup beside the model's.
//!
//! **What.** Every key that enters a restricted keyring is judged by its gatekeeper: find the
//! signer by the candidate certificate's authority ids in the trust keyring
//! (`find_asymmetric_key`), then verify the certificate's signature with it. The kernel finds
//! the signer by walking the keyring (an `asymmetric` search iterates every key); the model's
//! keyrings index every id, so a lookup should not grow with the keyring. This target shows
//! whether it does, per restriction kind:
//!
//! | kind | gatekeeper | keyring searched |
//! |---|---|---|
//! | `key_or_keyring_key` | `key_or_keyring:<CA key>` | none: the anchor key's ids are compared |
//! | `key_or_keyring_keyring` | `key_or_keyring:<builtin keyring>` | the anchor keyring |
//! | `key_or_keyring_0_chain` | `key_or_keyring:0:chain` | the destination keyring |
//! | `builtin_trusted` | `restrict_link_by_builtin_trusted` | `.builtin_trusted_keys` |
//! | `builtin_and_secondary_trusted` | `…_and_secondary_trusted` | `.secondary_trusted_keys`, then builtin nested in it |
//! | `digsig_builtin` | `restrict_link_by_digsig_builtin` (`.ima`) | `.builtin_trusted_keys` |
//! | `ca` | `restrict_link_by_ca` (`.machine`) | none: flags only |
//!
//! The searched keyring holds N filler keys (N = 10, 1k, 100k, 1M) with the fixture CA
//! (`corpora/fixtures/ca-rsa.der`, made by openssl) linked after them; the candidate is
//! `signer-rsa2048.der`, which that CA issued (for `ca`, the CA certificate itself).
//! Per kind and N: `lookup` is `find_asymmetric_key` with the candidate's authority ids alone
//! (the kinds that search a keyring; `digsig_builtin` searches exactly as `builtin_trusted`),
//! `check` the whole gatekeeper (`Restriction::check`: lookup + RSA-2048 signature verify).
//! `index_spread/lookup` looks up a different filler key on every iteration, spread over the
//! whole keyring, so at 1M keys the index's memory is mostly out of cache (the fixed-key
//! lookups keep their buckets hot): it is the honest worst case of the index.
//!
//! Filler keys are made cheaply and without openssl: one RSA-2048 public key (the CA's) under
//! N in-process DER certificates (`trustbench::corpus::der`) with distinct serials, subjects
//! and SKIDs, each added through `Store::add_cert` with `AddMode::Bypass` (a boot-time load:
//! parsed exactly as any certificate, no gatekeeper). Their signatures are filler bytes: no
//! one verifies with or against them. 1M keys take about 3 GiB; the RSS is printed.
//!
//! **The kernel beside it.** In a private anonymous session keyring (joined with
//! `KEYCTL_JOIN_SESSION_KEYRING`, so nothing of the caller's is touched) a keyring is filled
//! with N of the same certificates through `add_key("asymmetric")`, N = 10, 1k, 10k, 20k as
//! far as root's key quota allows (half of what is free in `/proc/key-users`, since other
//! processes share root's quota; `/proc/sys/kernel/keys/root_maxbytes` is the limit), and
//! `KEYCTL_SEARCH` (the syscall, `keyctl::search`, one call per iteration) looks up
//! `asymmetric` `ex:<SKID hex>` — the search `find_asymmetric_key` makes — for the key added
//! last (`hit_last`; where the kernel's associative array puts it decides how much of the
//! keyring a hit walks) and for an id no key has (`miss`: the whole keyring, the
//! deterministic worst case). The model searches a keyring holding the same certificates
//! (`Store::search`, `ex:`). Besides criterion's figures, the kernel ÷ model ratio is measured
//! interleaved: 201 rounds alternate a timed batch (~0.25 ms) of kernel searches with one of
//! model searches (the order flipping each round), so drift and other load on the machine hit
//! both sides; the ratio is the median of the per-round ratios. The N ÷ 10 ratios of the
//! restriction benches are measured the same way too (N keys against a 10-key keyring kept
//! for the purpose), beside the ratio of criterion's medians, which were taken minutes apart.
//! Without a usable kernel keyring the kernel part is skipped loudly.
//!
//! **Report.** At the end the bench prints every cost at N keys ÷ the same cost at 10 keys,
//! both from this run's criterion medians (the median of criterion's own samples) and
//! interleaved, and the interleaved kernel ÷ model ratios; in benchmark mode it writes them,
//! with the medians, to `results/bench-restriction.json` under the current directory. No
//! figure is asserted: a bench reports, it does not pass or fail on timings.
//!
//! **Running.** `cargo bench --bench restriction` (about 5 minutes on 2 cores, building the 1M
//! keyring included); `-- --profile-time 10` writes flamegraphs into `flamegraphs/` (it builds
//! every size's keyring first, whatever the filter: choose sizes with the variables below).
//! Test mode (`cargo test --release --benches`, as `.ci/run` runs it, or
//! `cargo bench -- --test`) runs every bench once at 10 and 1k keys only, and writes nothing.
//! `TRUSTBENCH_BENCH_KEYS=10,1000` and `TRUSTBENCH_BENCH_KERNEL_KEYS=10,5000` choose other
//! sizes.

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/profiler.rs"]
mod profiler;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, Bencher, BenchmarkGroup, Criterion};
use std::cell::{OnceCell, RefCell};
use std::ffi::CString;
use std::hint::black_box;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use trustbench::corpus::der;
use trustbench::crypto::{default_backend, CryptoProfile};
use trustbench::errno::Errno;
use trustbench::hash::hex;
use trustbench::kernel::keyctl;
use trustbench::oid;
use trustbench::trust::key::AsymmetricKey;
use trustbench::trust::restrict::{Candidate, Restriction};
use trustbench::trust::store::{AddMode, IdMatch, Store};
use trustbench::trust::{KernelConfig, Serial};

// ---------------------------------------------------------------------------------------
// Mode and sizes
// ---------------------------------------------------------------------------------------

/// How criterion was started (its own rule, read from the same arguments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `cargo bench`: measure.
    Bench,
    /// `cargo test --benches` or `-- --test`: every bench once.
    Test,
    /// `-- --profile-time N`: profile, no analysis.
    Profile,
    /// `-- --list`: names only.
    List,
}

fn args() -> Vec<String> {
    std::env::args().skip(1).collect()
}

fn mode() -> Mode {
    let a = args();
    let has = |f: &str| a.iter().any(|x| x == f || x.starts_with(&format!("{f}=")));
    if has("--list") {
        Mode::List
    } else if !has("--bench") || has("--test") {
        // criterion: without --bench (cargo test --benches) or with --test, test mode.
        Mode::Test
    } else if has("--profile-time") {
        Mode::Profile
    } else {
        Mode::Bench
    }
}

/// criterion's sample count (our config, or `--sample-size N`).
fn sample_size() -> usize {
    let a = args();
    a.iter()
        .position(|x| x == "--sample-size")
        .and_then(|i| a.get(i + 1))
        .map(String::as_str)
        .or_else(|| a.iter().find_map(|x| x.strip_prefix("--sample-size=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(SAMPLE_SIZE)
}

const SAMPLE_SIZE: usize = 30;

fn sizes(var: &str, bench: &[usize], test: &[usize]) -> Vec<usize> {
    if let Ok(v) = std::env::var(var) {
        let parsed: Option<Vec<usize>> = v.split(',').map(|s| s.trim().parse().ok()).collect();
        match parsed {
            Some(s) if !s.is_empty() => return s,
            _ => eprintln!("{var}={v}: not a comma-separated list of sizes, ignored"),
        }
    }
    match mode() {
        Mode::Test => test.to_vec(),
        _ => bench.to_vec(),
    }
}

fn model_sizes() -> Vec<usize> {
    sizes(
        "TRUSTBENCH_BENCH_KEYS",
        &[10, 1_000, 100_000, 1_000_000],
        &[10, 1_000],
    )
}

fn kernel_sizes() -> Vec<usize> {
    sizes(
        "TRUSTBENCH_BENCH_KERNEL_KEYS",
        &[10, 1_000, 10_000, 20_000],
        &[10, 1_000],
    )
}

fn label(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------

use fixtures::read as fixture;

/// `Name ::= SEQUENCE { SET { SEQUENCE { type, UTF8String } } }`.
fn name(attr: &[u8], value: &str) -> Vec<u8> {
    let atv = der::seq(&[&der::oid(attr), &der::tlv(0x0c, value.as_bytes())]);
    der::seq(&[&der::tlv(0x31, &atv)])
}

/// Filler certificate `i`'s SKID: distinct per `i`, and in its last four bytes too (the
/// model's IMA keyid index).
fn filler_skid(i: u64) -> [u8; 20] {
    let mut s = *b"trustbench-fill\0\0\0\0\0";
    s[12..].copy_from_slice(&i.to_be_bytes());
    s
}

/// Distinct X.509 certificates over one public key, written in-process: no key generation,
/// no openssl, about a microsecond each.
struct Fillers {
    /// The CA's subjectPublicKeyInfo, reused by every filler.
    spki: Vec<u8>,
    alg: Vec<u8>,
    issuer: Vec<u8>,
    validity: Vec<u8>,
    signature: Vec<u8>,
}

impl Fillers {
    fn new(ca_der: &[u8]) -> Fillers {
        let (_, ca) = x509_parser::parse_x509_certificate(ca_der).expect("ca-rsa.der parses");
        let utc = |t: &str| der::tlv(0x17, t.as_bytes());
        let mut sig = vec![0u8];
        sig.extend((0..256u32).map(|b| (b * 37 + 11) as u8));
        Fillers {
            spki: ca.tbs_certificate.subject_pki.raw.to_vec(),
            alg: der::alg_null(oid::SHA256_WITH_RSA),
            // Not the subject of any filler: no filler is self-signed, so none needs a
            // valid signature (the kernel checks only self-signed ones at add_key).
            issuer: name(oid::O, "trustbench bench filler issuer"),
            validity: der::seq(&[&utc("250101000000Z"), &utc("450101000000Z")]),
            signature: der::tlv(0x03, &sig),
        }
    }

    /// Certificate `i`: serial `0x01‖i`, subject `CN=bench filler i`, SKID [`filler_skid`].
    fn cert(&self, i: u64) -> Vec<u8> {
        let serial = der::tlv(0x02, &[&[0x01u8][..], &i.to_be_bytes()].concat());
        let subject = name(oid::CN, &format!("bench filler {i}"));
        let skid_ext = der::seq(&[
            &der::oid(oid::SKID),
            &der::tlv(0x04, &der::tlv(0x04, &filler_skid(i))),
        ]);
        let ext = der::tlv(0xa3, &der::seq(&[&skid_ext]));
        let version = [0xa0, 0x03, 0x02, 0x01, 0x02];
        let tbs = der::seq(&[
            &version,
            &serial,
            &self.alg,
            &self.issuer,
            &self.validity,
            &subject,
            &self.spki,
            &ext,
        ]);
        der::seq(&[&tbs, &self.alg, &self.signature])
    }
}

fn new_store() -> Store {
    Store::new(
        KernelConfig::default(),
        CryptoProfile::full(),
        default_backend(),
    )
}

/// `VmRSS` and `VmHWM` of this process, in bytes.
fn memory() -> (Option<u64>, Option<u64>) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |k: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mib(b: Option<u64>) -> String {
    b.map_or("?".into(), |b| {
        format!("{:.0} MiB", b as f64 / (1 << 20) as f64)
    })
}

// ---------------------------------------------------------------------------------------
// Recording criterion's samples
// ---------------------------------------------------------------------------------------

/// Per-iteration times of every call criterion makes of one bench's routine. Its
/// measurement phase is the last `sample_size` calls (warm-up calls come first), and
/// criterion's median is the median of exactly those per-iteration times.
#[derive(Default)]
struct Log(RefCell<Vec<f64>>);

impl Log {
    fn time<R>(&self, b: &mut Bencher<'_>, mut f: impl FnMut() -> R) {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters {
                black_box(f());
            }
            let e = t.elapsed();
            self.0
                .borrow_mut()
                .push(e.as_secs_f64() * 1e9 / iters.max(1) as f64);
            e
        });
    }

    fn median(self) -> Option<f64> {
        let v = self.0.into_inner();
        median(&v[v.len().saturating_sub(sample_size())..])
    }
}

fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    Some(if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    })
}

/// Runs one bench and returns its median (ns per iteration).
fn bench(
    g: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    mut body: impl FnMut(&mut Bencher<'_>, &Log),
) -> Option<f64> {
    let log = Log::default();
    g.bench_function(id, |b| body(b, &log));
    log.median()
}

#[derive(Clone, Debug, serde::Serialize)]
struct Median {
    kind: String,
    part: String,
    keys: usize,
    median_ns: f64,
}

#[derive(Clone, Debug, serde::Serialize)]
struct KernelRatio {
    keys: usize,
    target: &'static str,
    kernel_ns: f64,
    model_ns: f64,
    kernel_over_model: f64,
    rounds: usize,
}

/// N keys ÷ 10 keys for one operation, measured interleaved.
#[derive(Clone, Debug, serde::Serialize)]
struct Interleaved {
    kind: &'static str,
    part: &'static str,
    keys: usize,
    at_n_ns: f64,
    at_10_ns: f64,
    ratio: f64,
    rounds: usize,
}

#[derive(Debug, Default, serde::Serialize)]
struct Results {
    medians: Vec<Median>,
    interleaved: Vec<Interleaved>,
    kernel: Vec<KernelRatio>,
    kernel_skipped: Option<String>,
    model_builds: Vec<serde_json::Value>,
    kernel_loads: Vec<serde_json::Value>,
}

static RESULTS: Mutex<Option<Results>> = Mutex::new(None);

fn with_results(f: impl FnOnce(&mut Results)) {
    let mut g = RESULTS.lock().unwrap_or_else(|e| e.into_inner());
    f(g.get_or_insert_with(Results::default));
}

fn record(kind: &str, part: &str, keys: usize, m: Option<f64>) {
    if let Some(median_ns) = m {
        with_results(|r| {
            r.medians.push(Median {
                kind: kind.into(),
                part: part.into(),
                keys,
                median_ns,
            })
        });
    }
}

// ---------------------------------------------------------------------------------------
// The model: restriction checks against N keys
// ---------------------------------------------------------------------------------------

/// A store whose builtin keyring holds N fillers and then the fixture CA.
struct World {
    store: Store,
    ca: Serial,
    /// An unrestricted user keyring: the destination where the kind does not care.
    dest: Serial,
    /// signer-rsa2048.der as a candidate.
    signer: AsymmetricKey,
    /// ca-rsa.der as a candidate (for `ca`).
    ca_cand: AsymmetricKey,
    /// Filler SKIDs in a scattered order, for `index_spread`.
    spread: Vec<[u8; 20]>,
}

fn build_world(n: usize) -> World {
    let ca_der = fixture("ca-rsa.der");
    let fillers = Fillers::new(&ca_der);
    let mut store = new_store();
    let builtin = store.system().builtin;
    let t = Instant::now();
    for i in 0..n as u64 {
        store
            .add_cert(builtin, &fillers.cert(i), AddMode::Bypass)
            .unwrap_or_else(|e| panic!("filler {i}: {e:?}"));
    }
    let ca = store
        .add_cert(builtin, &ca_der, AddMode::Bypass)
        .expect("ca-rsa.der");
    let took = t.elapsed();
    let dest = store.new_keyring("bench-dest", true);
    let signer = store
        .parse_cert(&fixture("signer-rsa2048.der"))
        .expect("signer-rsa2048.der")
        .key;
    let ca_cand = store.parse_cert(&ca_der).expect("ca-rsa.der").key;
    // Up to 64k filler indices scattered by a multiplicative hash, so consecutive lookups
    // land far apart in the index (repeats do not matter).
    let spread_len = n.min(1 << 16);
    let step = 0x9E37_79B9_7F4A_7C15u64 | 1;
    let spread = (0..spread_len as u64)
        .map(|j| filler_skid(j.wrapping_mul(step) % n.max(1) as u64))
        .collect();
    let (rss, hwm) = memory();
    eprintln!(
        "restriction: {} keys in .builtin_trusted_keys in {:.1} s ({:.1} µs/key), RSS {} (peak {})",
        n,
        took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / n.max(1) as f64,
        mib(rss),
        mib(hwm)
    );
    with_results(|r| {
        r.model_builds.push(serde_json::json!({
            "keys": n,
            "build_s": took.as_secs_f64(),
            "rss_bytes": rss,
            "peak_rss_bytes": hwm,
        }))
    });
    World {
        store,
        ca,
        dest,
        signer,
        ca_cand,
        spread,
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    KeyAnchor,
    KeyringAnchor,
    Chain,
    Builtin,
    BuiltinAndSecondary,
    DigsigBuiltin,
    Ca,
}

impl Kind {
    const ALL: [Kind; 7] = [
        Kind::KeyAnchor,
        Kind::KeyringAnchor,
        Kind::Chain,
        Kind::Builtin,
        Kind::BuiltinAndSecondary,
        Kind::DigsigBuiltin,
        Kind::Ca,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::KeyAnchor => "key_or_keyring_key",
            Kind::KeyringAnchor => "key_or_keyring_keyring",
            Kind::Chain => "key_or_keyring_0_chain",
            Kind::Builtin => "builtin_trusted",
            Kind::BuiltinAndSecondary => "builtin_and_secondary_trusted",
            Kind::DigsigBuiltin => "digsig_builtin",
            Kind::Ca => "ca",
        }
    }

    /// Whether the gatekeeper searches a keyring (digsig_builtin searches exactly as
    /// builtin_trusted, so its lookup is not timed twice).
    fn has_lookup(self) -> bool {
        !matches!(self, Kind::KeyAnchor | Kind::DigsigBuiltin | Kind::Ca)
    }
}

/// One kind's gatekeeper in a world: the restriction, the keyring the key is linked into,
/// the keyring its lookup searches, and the candidate.
struct Case<'w> {
    restriction: Restriction,
    dest: Serial,
    searched: Option<Serial>,
    cand: &'w AsymmetricKey,
}

fn case(kind: Kind, w: &World) -> Case<'_> {
    let sys = w.store.system();
    let (restriction, dest, searched) = match kind {
        Kind::KeyAnchor => (
            Restriction::KeyOrKeyring {
                anchor: Some(w.ca),
                chain: false,
            },
            w.dest,
            None,
        ),
        Kind::KeyringAnchor => (
            Restriction::KeyOrKeyring {
                anchor: Some(sys.builtin),
                chain: false,
            },
            w.dest,
            Some(sys.builtin),
        ),
        Kind::Chain => (
            Restriction::KeyOrKeyring {
                anchor: None,
                chain: true,
            },
            sys.builtin,
            Some(sys.builtin),
        ),
        Kind::Builtin => (Restriction::BuiltinTrusted, w.dest, Some(sys.builtin)),
        Kind::BuiltinAndSecondary => (
            Restriction::BuiltinAndSecondaryTrusted,
            w.dest,
            sys.secondary,
        ),
        Kind::DigsigBuiltin => (Restriction::DigsigBuiltin, sys.ima, Some(sys.builtin)),
        Kind::Ca => (Restriction::Ca { max: false }, w.dest, None),
    };
    let cand = match kind {
        Kind::Ca => &w.ca_cand,
        _ => &w.signer,
    };
    Case {
        restriction,
        dest,
        searched,
        cand,
    }
}

/// `find_asymmetric_key` with the candidate's authority ids, as the gatekeeper calls it.
fn lookup(store: &Store, ring: Serial, cand: &AsymmetricKey) -> Result<Serial, Errno> {
    let ids = &cand.auth.as_ref().expect("signed candidate").auth_ids;
    store.find_asymmetric_key(
        ring,
        ids.serial_issuer.as_deref(),
        ids.keyid.as_deref(),
        ids.issuer.as_deref(),
    )
}

/// One timed operation: a kind's lookup or check, or a lookup of scattered filler keys.
#[derive(Clone, Copy, Debug)]
enum Op {
    Lookup(Kind),
    Check(Kind),
    Spread,
}

impl Op {
    fn all() -> Vec<Op> {
        let mut v = vec![];
        for k in Kind::ALL {
            if k.has_lookup() {
                v.push(Op::Lookup(k));
            }
            v.push(Op::Check(k));
        }
        v.push(Op::Spread);
        v
    }

    fn kind(self) -> &'static str {
        match self {
            Op::Lookup(k) | Op::Check(k) => k.name(),
            Op::Spread => "index_spread",
        }
    }

    fn part(self) -> &'static str {
        match self {
            Op::Check(_) => "check",
            _ => "lookup",
        }
    }
}

/// An [`Op`] ready to call on one world, everything but the call itself done beforehand.
struct Prepared<'w> {
    w: &'w World,
    op: Op,
    case: Case<'w>,
    cursor: usize,
}

impl<'w> Prepared<'w> {
    fn new(w: &'w World, op: Op) -> Prepared<'w> {
        let kind = match op {
            Op::Lookup(k) | Op::Check(k) => k,
            Op::Spread => Kind::Builtin,
        };
        Prepared {
            w,
            op,
            case: case(kind, w),
            cursor: 0,
        }
    }

    /// One call; whether it succeeded (every prepared call succeeds, see [`checked_world`]).
    fn call(&mut self) -> bool {
        let (w, cs) = (self.w, &self.case);
        match self.op {
            Op::Lookup(_) => {
                let ring = cs.searched.unwrap_or(cs.dest);
                lookup(&w.store, ring, black_box(cs.cand)).is_ok()
            }
            Op::Check(_) => cs
                .restriction
                .check(&w.store, cs.dest, Candidate::Asymmetric(black_box(cs.cand)))
                .is_ok(),
            Op::Spread => {
                self.cursor = (self.cursor + 1) % w.spread.len();
                let skid = black_box(&w.spread[self.cursor]);
                let builtin = w.store.system().builtin;
                w.store
                    .find_asymmetric_key(builtin, None, Some(skid), None)
                    .is_ok()
            }
        }
    }
}

/// [`build_world`], then every gatekeeper and lookup once: each must succeed, or the bench
/// would time an error path.
fn checked_world(n: usize) -> World {
    let w = build_world(n);
    for op in Op::all() {
        assert!(Prepared::new(&w, op).call(), "{op:?} at {n} keys fails");
    }
    for k in Kind::ALL {
        let cs = case(k, &w);
        if let Some(r) = cs.searched {
            assert_eq!(lookup(&w.store, r, cs.cand), Ok(w.ca), "{}", k.name());
        }
    }
    w
}

fn restriction(c: &mut Criterion) {
    let m = mode();
    // The 10-key world every larger one is compared with, interleaved.
    let reference: OnceCell<World> = OnceCell::new();
    for n in model_sizes() {
        // Built on first use: `--list` and filters that skip this size build nothing.
        let world: OnceCell<World> = OnceCell::new();
        if m == Mode::Profile {
            // Profiling starts before criterion first calls a routine: build now, so the
            // first flamegraph of a size does not show the keyring being filled.
            world.get_or_init(|| checked_world(n));
        }
        let mut g = c.benchmark_group(format!("restriction/{}_keys", label(n)));
        for op in Op::all() {
            let id = format!("{}/{}", op.kind(), op.part());
            let median = bench(&mut g, &id, |b, log| {
                let mut p = Prepared::new(world.get_or_init(|| checked_world(n)), op);
                log.time(b, || p.call())
            });
            record(op.kind(), op.part(), n, median);
        }
        g.finish();
        // Drift-robust N ÷ 10: rounds alternate this world and the 10-key one.
        let Some(w) = world.get() else { continue };
        if n == REFERENCE || matches!(m, Mode::Profile | Mode::List) {
            continue;
        }
        let r = reference.get_or_init(|| checked_world(REFERENCE));
        let (rounds, batch_time) = match m {
            Mode::Bench => (ROUNDS, BATCH),
            _ => (1, Duration::ZERO),
        };
        for op in Op::all() {
            let (mut pn, mut p10) = (Prepared::new(w, op), Prepared::new(r, op));
            let (n_ns, ten_ns, ratio) = interleaved(
                rounds,
                batch_time,
                &mut || {
                    black_box(pn.call());
                },
                &mut || {
                    black_box(p10.call());
                },
            );
            with_results(|res| {
                res.interleaved.push(Interleaved {
                    kind: op.kind(),
                    part: op.part(),
                    keys: n,
                    at_n_ns: n_ns,
                    at_10_ns: ten_ns,
                    ratio,
                    rounds,
                })
            });
        }
        // The world (up to 1M keys) is dropped here, before the next size is built.
    }
}

/// The keyring size every other is compared with.
const REFERENCE: usize = 10;

/// Interleaved rounds, and each timed batch's length: short batches, so a batch the
/// scheduler preempts (other work on the machine) is a rare outlier the median drops.
const ROUNDS: usize = 201;
const BATCH: Duration = Duration::from_micros(250);

// ---------------------------------------------------------------------------------------
// The live kernel's lookup beside the model's
// ---------------------------------------------------------------------------------------

/// Root's key quota: (keys used, key limit, bytes used, byte limit) from `/proc/key-users`.
fn root_quota() -> Option<(u64, u64, u64, u64)> {
    let s = std::fs::read_to_string("/proc/key-users").ok()?;
    let limit = |f: &str| -> Option<u64> {
        std::fs::read_to_string(format!("/proc/sys/kernel/keys/{f}"))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    let (maxkeys, maxbytes) = (limit("root_maxkeys")?, limit("root_maxbytes")?);
    // "    0:    11 10/10 8/1000000 186/25000000"
    let line = s.lines().find(|l| l.trim_start().starts_with("0:"));
    let Some(line) = line else {
        return Some((0, maxkeys, 0, maxbytes));
    };
    let f: Vec<&str> = line.split_whitespace().collect();
    let used = |i: usize| -> Option<u64> { f.get(i)?.split('/').next()?.parse().ok() };
    Some((used(3)?, maxkeys, used(4)?, maxbytes))
}

/// Root's quota bytes one filler key costs: its description (`bench filler I: <SKID hex>`)
/// with its NUL, the 100 bytes the X.509 parser reserves, and the 4 bytes of its link.
fn quota_bytes_per_key(n: usize) -> u64 {
    (format!("bench filler {n}: ").len() + 40 + 1 + 100 + 4) as u64
}

/// A kernel keyring of N filler certificates in our private session, and a model keyring
/// of the same certificates.
struct Loaded {
    ring: i32,
    n: usize,
    /// `ex:<SKID hex>` of the key added last, and of an id no key has.
    hit: CString,
    miss: CString,
    hit_serial: i32,
    hit_skid: [u8; 20],
    miss_skid: [u8; 20],
    model: Store,
    model_ring: Serial,
}

impl Drop for Loaded {
    fn drop(&mut self) {
        // Empty the keyring and let it go; the kernel's garbage collector frees the keys.
        let _ = keyctl::clear(self.ring);
        let _ = keyctl::unlink(self.ring, keyctl::SESSION);
    }
}

fn load(n: usize) -> Result<Loaded, String> {
    let fillers = Fillers::new(&fixture("ca-rsa.der"));
    let ring = keyctl::new_keyring(&format!("trustbench-bench-{n}"), keyctl::SESSION)
        .map_err(|e| format!("new keyring: {e:?}"))?;
    let t = Instant::now();
    let mut hit_serial = 0;
    for i in 0..n as u64 {
        match keyctl::add_key("asymmetric", "", &fillers.cert(i), ring) {
            Ok(s) => hit_serial = s,
            Err(e) => {
                let _ = keyctl::clear(ring);
                let _ = keyctl::unlink(ring, keyctl::SESSION);
                return Err(format!("add_key of certificate {i}: {e:?}"));
            }
        }
    }
    let took = t.elapsed();
    let after = root_quota();
    let mut model = new_store();
    let model_ring = model.new_keyring("bench", true);
    for i in 0..n as u64 {
        if let Err(e) = model.add_cert(model_ring, &fillers.cert(i), AddMode::Bypass) {
            let _ = keyctl::clear(ring);
            let _ = keyctl::unlink(ring, keyctl::SESSION);
            return Err(format!("model: certificate {i}: {e:?}"));
        }
    }
    let hit_skid = filler_skid(n as u64 - 1);
    let miss_skid = filler_skid(u64::MAX);
    let ex = |s: &[u8]| CString::new(format!("ex:{}", hex(s))).expect("no NUL");
    // Root's usage after loading (other processes' keys, and the previous size's keys the
    // garbage collector has not freed yet, are in it too).
    let (keys, maxkeys, bytes, maxbytes) = after.unwrap_or_default();
    eprintln!(
        "kernel: {n} certificates added in {:.2} s ({:.0} µs each); root's quota now {keys}/{maxkeys} keys, {bytes}/{maxbytes} bytes",
        took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / n as f64
    );
    with_results(|r| {
        r.kernel_loads.push(serde_json::json!({
            "keys": n,
            "add_key_s": took.as_secs_f64(),
            "root_quota_after": {"keys": keys, "maxkeys": maxkeys, "bytes": bytes, "maxbytes": maxbytes},
        }))
    });
    Ok(Loaded {
        ring,
        n,
        hit: ex(&hit_skid),
        miss: ex(&miss_skid),
        hit_serial,
        hit_skid,
        miss_skid,
        model,
        model_ring,
    })
}

impl Loaded {
    fn kernel(&self, target: &CString) -> Result<i32, Errno> {
        keyctl::search(self.ring, c"asymmetric", target, 0)
    }

    fn model(&self, skid: &[u8]) -> Result<Serial, Errno> {
        self.model.search(self.model_ring, IdMatch::Exact(skid))
    }

    /// Both sides answer as expected: the last key found, the absent id `ENOKEY`.
    fn sanity(&self) -> Result<(), String> {
        let k = self.kernel(&self.hit);
        if k != Ok(self.hit_serial) {
            return Err(format!(
                "kernel search of the last key: {k:?}, want Ok({})",
                self.hit_serial
            ));
        }
        let k = self.kernel(&self.miss);
        if k != Err(Errno::ENOKEY) {
            return Err(format!("kernel search of an absent id: {k:?}, want ENOKEY"));
        }
        self.model(&self.hit_skid)
            .map_err(|e| format!("model search of the last key: {e:?}"))?;
        if self.model(&self.miss_skid) != Err(Errno::ENOKEY) {
            return Err("model search of an absent id: not ENOKEY".into());
        }
        Ok(())
    }
}

/// Times `f` over `count` calls, in ns per call.
fn per_call(count: u64, f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..count {
        f();
    }
    t.elapsed().as_secs_f64() * 1e9 / count as f64
}

/// How many calls of `f` take about `target`: the fastest of five calibrations, so one the
/// scheduler preempted does not shrink the batches to a few (cold) calls.
fn batch(target: Duration, f: &mut dyn FnMut()) -> u64 {
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let mut n = 1u64;
        loop {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            let e = t.elapsed();
            if e >= target / 4 || n >= 1 << 30 {
                best = best.min(e.as_secs_f64() / n as f64);
                break;
            }
            n *= 2;
        }
    }
    ((target.as_secs_f64() / best.max(1e-12)) as u64).max(1)
}

/// `a` ÷ `b`, interleaved: each round times a batch of each (about `target` long, the order
/// flipping every round), so drift and other load on the machine hit both; the ratio is the
/// median of the per-round ratios, the costs (ns per call) the medians of the per-round
/// costs. One round of one call each when `rounds` ≤ 1 (test mode).
fn interleaved(
    rounds: usize,
    target: Duration,
    a: &mut dyn FnMut(),
    b: &mut dyn FnMut(),
) -> (f64, f64, f64) {
    let (na, nb) = if rounds <= 1 {
        (1, 1)
    } else {
        (batch(target, a), batch(target, b))
    };
    let (mut as_, mut bs, mut rs) = (vec![], vec![], vec![]);
    for r in 0..rounds {
        let (ta, tb) = if r % 2 == 0 {
            let ta = per_call(na, a);
            (ta, per_call(nb, b))
        } else {
            let tb = per_call(nb, b);
            (per_call(na, a), tb)
        };
        as_.push(ta);
        bs.push(tb);
        rs.push(ta / tb);
    }
    (
        median(&as_).unwrap_or(f64::NAN),
        median(&bs).unwrap_or(f64::NAN),
        median(&rs).unwrap_or(f64::NAN),
    )
}

fn skip_kernel(why: String) {
    eprintln!("\n**********************************************************************");
    eprintln!("SKIPPED the live kernel's lookup: {why}");
    eprintln!("**********************************************************************\n");
    with_results(|r| r.kernel_skipped = Some(why));
}

fn kernel_lookup(c: &mut Criterion) {
    let m = mode();
    if m == Mode::List {
        return;
    }
    // A private anonymous session keyring for the rest of this process.
    if let Err(e) = keyctl::join_new_session() {
        skip_kernel(format!(
            "cannot join a new session keyring ({e:?}): no keyrings in this kernel, or the syscall is refused"
        ));
        return;
    }
    let per_key = quota_bytes_per_key(kernel_sizes().into_iter().max().unwrap_or(0));
    for n in kernel_sizes() {
        if n == 0 {
            continue;
        }
        if let Some((keys, maxkeys, bytes, maxbytes)) = root_quota() {
            let free_bytes = maxbytes.saturating_sub(bytes) / 2;
            let free_keys = maxkeys.saturating_sub(keys) / 2;
            if n as u64 * per_key > free_bytes || n as u64 + 1 > free_keys {
                skip_kernel(format!(
                    "{n} keys (~{} bytes) exceed half of root's free key quota ({free_keys} keys, {free_bytes} bytes; root_maxkeys {maxkeys}, root_maxbytes {maxbytes})",
                    n as u64 * per_key
                ));
                continue;
            }
        }
        let loaded = match load(n).and_then(|l| l.sanity().map(|()| l)) {
            Ok(l) => l,
            Err(e) => {
                skip_kernel(format!("{n} keys: {e}"));
                continue;
            }
        };
        let mut g = c.benchmark_group(format!("kernel_lookup/{}_keys", label(n)));
        for (target, ex, skid) in [
            ("hit_last", &loaded.hit, &loaded.hit_skid),
            ("miss", &loaded.miss, &loaded.miss_skid),
        ] {
            let k = bench(&mut g, &format!("keyctl_search_{target}"), |b, log| {
                log.time(b, || loaded.kernel(black_box(ex)))
            });
            record(&format!("keyctl_search_{target}"), "kernel", n, k);
            let md = bench(&mut g, &format!("model_search_{target}"), |b, log| {
                log.time(b, || loaded.model(black_box(skid)))
            });
            record(&format!("model_search_{target}"), "model", n, md);
        }
        g.finish();
        if m != Mode::Profile {
            let (rounds, batch_time) = match m {
                Mode::Bench => (ROUNDS, BATCH),
                _ => (1, Duration::ZERO),
            };
            for (target, ex, skid) in [
                ("hit_last", &loaded.hit, &loaded.hit_skid),
                ("miss", &loaded.miss, &loaded.miss_skid),
            ] {
                let (kernel_ns, model_ns, ratio) = interleaved(
                    rounds,
                    batch_time,
                    &mut || {
                        let _ = black_box(loaded.kernel(black_box(ex)));
                    },
                    &mut || {
                        let _ = black_box(loaded.model(black_box(skid)));
                    },
                );
                with_results(|r| {
                    r.kernel.push(KernelRatio {
                        keys: loaded.n,
                        target,
                        kernel_ns,
                        model_ns,
                        kernel_over_model: ratio,
                        rounds,
                    })
                });
            }
        }
        drop(loaded);
    }
}

// ---------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------

fn ns(v: f64) -> String {
    match v {
        v if v >= 1e6 => format!("{:.2} ms", v / 1e6),
        v if v >= 1e3 => format!("{:.2} µs", v / 1e3),
        v => format!("{v:.1} ns"),
    }
}

fn report(_: &mut Criterion) {
    let m = mode();
    if matches!(m, Mode::List | Mode::Profile) {
        return;
    }
    let results = RESULTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .unwrap_or_default();
    let banner = if m == Mode::Test {
        "  (TEST MODE: every bench ran once, un-warmed; these are not measurements)\n"
    } else {
        ""
    };
    let mut ratios = vec![];
    println!("\n== restriction: cost at N keys ÷ cost at 10 keys, this run");
    println!(
        "   each column: from criterion's medians | measured interleaved with the 10-key keyring"
    );
    print!("{banner}");
    let model: Vec<&Median> = results
        .medians
        .iter()
        .filter(|x| x.part == "lookup" || x.part == "check")
        .collect();
    let mut rows: Vec<(String, String)> = vec![];
    let mut sizes: Vec<usize> = vec![];
    for x in &model {
        let row = (x.kind.clone(), x.part.clone());
        if !rows.contains(&row) {
            rows.push(row);
        }
        if x.keys != REFERENCE && !sizes.contains(&x.keys) {
            sizes.push(x.keys);
        }
    }
    sizes.sort_unstable();
    print!("{:<30} {:<6} {:>10}", "kind", "part", "at 10");
    for &n in &sizes {
        print!(" {:>17}", format!("{}÷10", label(n)));
    }
    println!();
    for (kind, part) in &rows {
        let get = |n: usize| {
            model
                .iter()
                .find(|x| &x.kind == kind && &x.part == part && x.keys == n)
                .map(|x| x.median_ns)
        };
        let b = get(REFERENCE);
        print!("{kind:<30} {part:<6} {:>10}", b.map_or("-".into(), ns));
        for &n in &sizes {
            let medians = get(n).zip(b).map(|(v, b)| v / b);
            let inter = results
                .interleaved
                .iter()
                .find(|x| x.kind == kind && x.part == part && x.keys == n)
                .map(|x| x.ratio);
            let f = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}×"));
            print!(" {:>17}", format!("{} | {}", f(medians), f(inter)));
            ratios.push(serde_json::json!({
                "kind": kind, "part": part, "keys": n,
                "from_medians": medians, "interleaved": inter,
            }));
        }
        println!();
    }
    println!("\n== the live kernel's KEYCTL_SEARCH (ex:<SKID>) ÷ the model's search, interleaved");
    print!("{banner}");
    match &results.kernel_skipped {
        Some(why) if results.kernel.is_empty() => println!("SKIPPED: {why}"),
        Some(why) => println!("(partly skipped: {why})"),
        None => {}
    }
    println!(
        "{:>8} {:<9} {:>11} {:>11} {:>13}",
        "keys", "target", "kernel", "model", "kernel÷model"
    );
    for k in &results.kernel {
        println!(
            "{:>8} {:<9} {:>11} {:>11} {:>12.0}×",
            label(k.keys),
            k.target,
            ns(k.kernel_ns),
            ns(k.model_ns),
            k.kernel_over_model
        );
    }
    if m != Mode::Bench {
        return;
    }
    let out = Path::new("results/bench-restriction.json");
    let doc = serde_json::json!({
        "schema": "trustbench.bench-restriction/1",
        "kernel_release": std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string()).ok(),
        "sample_size": sample_size(),
        "ratios_over_10_keys": ratios,
        "interleaved_over_10_keys": results.interleaved,
        "kernel_over_model": results.kernel,
        "kernel_skipped": results.kernel_skipped,
        "medians": results.medians,
        "model_builds": results.model_builds,
        "kernel_loads": results.kernel_loads,
    });
    let written = std::fs::create_dir_all("results")
        .and_then(|()| std::fs::write(out, serde_json::to_string_pretty(&doc).unwrap()));
    match written {
        Ok(()) => println!("\nwritten: {}", out.display()),
        Err(e) => eprintln!("\n{}: {e}", out.display()),
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(SAMPLE_SIZE)
        .with_profiler(profiler::Flamegraphs::new("flamegraphs"));
    targets = restriction, kernel_lookup, report
}
criterion_main!(benches);
