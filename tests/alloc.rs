//! Heap allocations on the engine's hot path, counted by a global allocator.
//!
//! The design promises that the hot path allocates nothing per item: buffers live in the
//! per-worker scratch, parsed keys in the keyring. This binary replaces the global
//! allocator with a wrapper around `System` that counts every `alloc`, `alloc_zeroed` and
//! `realloc` per thread, then verifies items one at a time on the test's own thread
//! (`Pass::verify_item` with one reused `Scratch`; and, for the batched path, each round's
//! items as one chunk through `Pass::verify_chunk` with the `mb` backend, so the batch
//! windows, the queue of deferred checks and the replays are counted too) and checks that,
//! once warmed up (buffers
//! grown, directory handle opened, parsed certificates remembered, the cache full), a cold
//! item costs zero allocations:
//!
//! - (a) RSA-signed modules (sign-file output, in two directories, visited alternately);
//! - (b) IMA files with evmctl `.sig` sidecars;
//! - (c) IMA files with the signature in `security.ima` (one of them larger than any fixed
//!   buffer would be), when the filesystem lets root set it (else SKIP, or a failure under
//!   `CI=true`);
//! - (d) modules whose PKCS#7 embeds its signer's certificate (chain to a trusted CA);
//! - (f) IMA files labelled with a hash (type 4 sha256 and type 1 sha1 `security.ima`)
//!   under the hash rule, and an empty `security.ima` beside a sidecar (the xattr decides:
//!   no label), when the filesystem lets root set it.
//!
//! Each case runs with the cache off and with the cache filling (a small cache, full after
//! the warm-up, so each insert evicts and recycles the evicted node), both cold, and, for
//! comparison, with every item served from the cache (warm: a path stat and a lookup).
//! Figures print with `--nocapture`.
//!
//! Only allocations made through Rust's global allocator are counted: the C crypto library
//! (aws-lc) allocates through its own `malloc` and is not seen here.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use trustbench::crypto::mb::{Lanes, Mb};
use trustbench::crypto::{default_backend, Backend, CryptoProfile};
use trustbench::engine::read::Scratch;
use trustbench::engine::{CachePolicy, Engine, EngineConfig, Item, Outcome};
use trustbench::formats::modsig;
use trustbench::trust::store::{AddMode, Store};
use trustbench::verify::ima::ImaPolicy;
use trustbench::verify::{ItemKind, VerdictClass};

// =======================================================================================
// the counting allocator
// =======================================================================================

struct Counting;

thread_local! {
    /// Allocations made by this thread (const-initialised, no destructor: reading it never
    /// allocates, so the allocator can use it).
    static THREAD_ALLOCS: Cell<u64> = const { Cell::new(0) };
}

/// Allocations made by every thread.
static ALL_ALLOCS: AtomicU64 = AtomicU64::new(0);

fn count() {
    ALL_ALLOCS.fetch_add(1, Ordering::Relaxed);
    let _ = THREAD_ALLOCS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counting touches only an atomic and a const thread-local, neither of which allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded as received; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` was allocated by `System` (every allocation goes through here) with
        // `layout`; the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn thread_allocs() -> u64 {
    THREAD_ALLOCS.with(Cell::get)
}

// =======================================================================================
// fixtures
// =======================================================================================

fn fixture(name: &str) -> PathBuf {
    common::fixtures_dir().join(name)
}

fn bad_fixture(name: &str) -> PathBuf {
    common::fixtures_dir().join("bad").join(name)
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A store trusting `certs` as built-in keys and as `.ima` keys, verifying with `backend`.
fn store_trusting(certs: &[PathBuf], backend: Arc<dyn Backend>) -> Store {
    let mut s = Store::new(Default::default(), CryptoProfile::full(), backend);
    let sys = s.system();
    for c in certs {
        let der = read(c);
        s.add_cert(sys.builtin, &der, AddMode::Bypass)
            .unwrap_or_else(|e| panic!("{}: builtin: {e:?}", c.display()));
        s.add_cert(sys.ima, &der, AddMode::Bypass)
            .unwrap_or_else(|e| panic!("{}: ima: {e:?}", c.display()));
    }
    s
}

fn signer_certs() -> Vec<PathBuf> {
    [
        "signer-rsa2048.der",
        "signer-rsa4096.der",
        "signer-p256.der",
        "signer-p384.der",
    ]
    .iter()
    .map(|n| fixture(n))
    .collect()
}

/// One case: items, the store that judges them, what each should come out as.
struct Case {
    name: &'static str,
    items: Vec<Item>,
    trust: Vec<PathBuf>,
    policy: ImaPolicy,
    /// Expected verdict class per item.
    expect: Vec<VerdictClass>,
}

/// (a) RSA-signed modules (sign-file), alternating between two directories.
fn rsa_modules(t: &Path) -> Case {
    let names = [
        "mod-rsa2048-sha256.ko",
        "mod-rsa2048-sha384.ko",
        "mod-rsa2048-sha512.ko",
        "mod-rsa2048-sha256-skid.ko",
        "mod-rsa4096-sha256.ko",
        "mod-selfsigned-sha256.ko",
    ];
    let mut items = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let d = t.join(if i % 2 == 0 { "mods-a" } else { "mods-b" });
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join(n);
        std::fs::copy(fixture(n), &p).unwrap();
        items.push(Item {
            path: p,
            kind: ItemKind::Module,
        });
    }
    let mut trust = signer_certs();
    trust.push(fixture("selfsigned-rsa2048.der"));
    Case {
        name: "(a) RSA-signed modules",
        expect: vec![VerdictClass::Valid; items.len()],
        items,
        trust,
        policy: ImaPolicy::default(),
    }
}

/// (e) Compressed RSA-signed modules: `.ko.xz` and `.ko.zst` (as Debian ships them) and
/// `.ko.gz`, decompressed in the worker's buffer.
fn compressed_modules(t: &Path) -> Case {
    use std::io::Write;
    let d = t.join("mods-compressed");
    std::fs::create_dir_all(&d).unwrap();
    let plain = read(&fixture("mod-rsa2048-sha256.ko"));
    let mut items = Vec::new();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(&plain).unwrap();
    let formats = [
        ("ko.gz", gz.finish().unwrap()),
        ("ko.xz", xz.finish().unwrap()),
        ("ko.zst", zstd::encode_all(&plain[..], 3).unwrap()),
    ];
    // Two copies of each, so that a small cache evicts (the Fill mode's premise).
    for copy in 0..2 {
        for (ext, bytes) in &formats {
            let p = d.join(format!("m{copy}.{ext}"));
            std::fs::write(&p, bytes).unwrap();
            items.push(Item {
                path: p,
                kind: ItemKind::Module,
            });
        }
    }
    Case {
        name: "(e) compressed modules",
        expect: vec![VerdictClass::Valid; items.len()],
        items,
        trust: signer_certs(),
        policy: ImaPolicy::default(),
    }
}

const IMA_FILES: [&str; 4] = [
    "ima-rsa2048-sha256.bin",
    "ima-rsa2048-sha512.bin",
    "ima-p256-sha256.bin",
    "ima-p384-sha384.bin",
];

/// (b) IMA files with `.sig` sidecars.
fn ima_sidecars(t: &Path) -> Case {
    let d = t.join("ima-sidecar");
    std::fs::create_dir_all(&d).unwrap();
    let mut items = Vec::new();
    for copy in ["", "copy-"] {
        for n in IMA_FILES {
            let p = d.join(format!("{copy}{n}"));
            std::fs::copy(fixture(n), &p).unwrap();
            std::fs::copy(fixture(&format!("{n}.sig")), format!("{}.sig", p.display())).unwrap();
            items.push(Item {
                path: p,
                kind: ItemKind::Ima,
            });
        }
    }
    Case {
        name: "(b) IMA, .sig sidecars",
        expect: vec![VerdictClass::Valid; items.len()],
        items,
        trust: signer_certs(),
        policy: ImaPolicy {
            check_blacklist: true,
            ..ImaPolicy::default()
        },
    }
}

/// (c) IMA files with `security.ima` (no sidecar); the last one carries a 3000-byte
/// signature (consistent header, real keyid), larger than any fixed buffer would be.
fn ima_xattrs(t: &Path) -> Option<Case> {
    let d = t.join("ima-xattr");
    std::fs::create_dir_all(&d).unwrap();
    let mut items = Vec::new();
    let mut expect = Vec::new();
    for n in IMA_FILES {
        let p = d.join(n);
        std::fs::copy(fixture(n), &p).unwrap();
        if let Err(e) = common::set_security_ima(&p, &read(&fixture(&format!("{n}.sig")))) {
            common::skip_or_fail(
                "(c) IMA, security.ima",
                &format!("cannot set security.ima on {}: {e}", p.display()),
            );
            return None;
        }
        items.push(Item {
            path: p,
            kind: ItemKind::Ima,
        });
        expect.push(VerdictClass::Valid);
    }
    let big = d.join("ima-big-xattr.bin");
    std::fs::copy(fixture(IMA_FILES[0]), &big).unwrap();
    let real = read(&fixture(&format!("{}.sig", IMA_FILES[0])));
    let n = 3000usize;
    let mut value = real[..7].to_vec();
    value.extend_from_slice(&(n as u16).to_be_bytes());
    value.extend(std::iter::repeat_n(0x5au8, n));
    if let Err(e) = common::set_security_ima(&big, &value) {
        common::skip_or_fail(
            "(c) IMA, security.ima",
            &format!("cannot set a {}-byte security.ima: {e}", value.len()),
        );
        return None;
    }
    items.push(Item {
        path: big,
        kind: ItemKind::Ima,
    });
    expect.push(VerdictClass::Invalid);
    Some(Case {
        name: "(c) IMA, security.ima",
        items,
        expect,
        trust: signer_certs(),
        policy: ImaPolicy {
            check_blacklist: true,
            ..ImaPolicy::default()
        },
    })
}

/// (f) Hash labels in `security.ima` under the hash rule (`--ima-accept-hash`): matching
/// type-4 sha256 and type-1 sha1 values are valid, a different one invalid; an empty
/// `security.ima` beside a real sidecar is unsigned (the xattr decides).
fn ima_hash_xattrs(t: &Path) -> Option<Case> {
    use trustbench::hash::HashAlgo;
    let d = t.join("ima-hash-xattr");
    std::fs::create_dir_all(&d).unwrap();
    let mut items = Vec::new();
    let mut expect = Vec::new();
    for (k, n) in IMA_FILES
        .iter()
        .enumerate()
        .chain(IMA_FILES.iter().enumerate())
    {
        let p = d.join(format!("{}-{n}", items.len()));
        std::fs::copy(fixture(n), &p).unwrap();
        let content = read(&p);
        let label = match k {
            0 => [
                &[4u8, 4][..],
                HashAlgo::Sha256.digest(&content).unwrap().as_bytes(),
            ]
            .concat(),
            1 => [
                &[1u8][..],
                HashAlgo::Sha1.digest(&content).unwrap().as_bytes(),
            ]
            .concat(),
            2 => [&[4u8, 4][..], &[0u8; 32][..]].concat(),
            _ => Vec::new(),
        };
        if k == 3 {
            std::fs::copy(fixture(&format!("{n}.sig")), format!("{}.sig", p.display())).unwrap();
        }
        if let Err(e) = common::set_security_ima(&p, &label) {
            common::skip_or_fail(
                "(f) IMA, hash labels",
                &format!("cannot set security.ima on {}: {e}", p.display()),
            );
            return None;
        }
        items.push(Item {
            path: p,
            kind: ItemKind::Ima,
        });
        expect.push(match k {
            0 | 1 => VerdictClass::Valid,
            2 => VerdictClass::Invalid,
            _ => VerdictClass::Unsigned,
        });
    }
    Some(Case {
        name: "(f) IMA, hash labels",
        items,
        expect,
        trust: signer_certs(),
        policy: ImaPolicy {
            rule: trustbench::verify::ima::ImaRule::Hash,
            ..ImaPolicy::default()
        },
    })
}

/// (d) Modules whose PKCS#7 embeds the signer's certificate (openssl cms), trusted through
/// the CA that issued it; several copies so the cold items are distinct files.
fn embedded_cert_modules(t: &Path) -> Case {
    let d = t.join("mods-embedded");
    std::fs::create_dir_all(&d).unwrap();
    let body = read(&bad_fixture("body.bin"));
    let p7 = read(&bad_fixture("p7-embedded.der"));
    let mut m = body.clone();
    m.extend_from_slice(&p7);
    m.extend_from_slice(&modsig::trailer(p7.len()));
    let mut items = Vec::new();
    for i in 0..6 {
        let p = d.join(format!("embedded-{i}.ko"));
        std::fs::write(&p, &m).unwrap();
        items.push(Item {
            path: p,
            kind: ItemKind::Module,
        });
    }
    Case {
        name: "(d) modules, embedded cert",
        expect: vec![VerdictClass::Valid; items.len()],
        items,
        trust: vec![bad_fixture("ca.der")],
        policy: ImaPolicy::default(),
    }
}

// =======================================================================================
// measuring
// =======================================================================================

const WARM_ROUNDS: usize = 3;
const ROUNDS: usize = 20;

/// How the measured pass uses the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// No cache: every item is cold.
    Off,
    /// A small cache, full after the warm-up: every item is cold and its verdict is
    /// inserted, evicting another.
    Fill,
    /// A cache holding every item: each is looked up by path and served (warm items,
    /// for comparison).
    Hits,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Off => "off (cold)",
            Mode::Fill => "fill (cold)",
            Mode::Hits => "hits (warm)",
        }
    }
}

/// The backend of the batched path: `mb` on the IFMA lanes where the CPU has them, else on
/// the portable lanes (the same windows, queue and replays).
fn batching_backend() -> Arc<dyn Backend> {
    Arc::new(Mb::with_lanes(Lanes::detect().or(Some(Lanes::Portable))))
}

/// Allocations over `ROUNDS` rounds of `case`'s items after `WARM_ROUNDS` rounds of
/// warm-up, and the number of items measured; panics if a verdict is not the expected one.
/// `batched`: the items go through the batch windows as one chunk per round
/// (`Pass::verify_chunk` with a batching backend), else one at a time with the default
/// backend.
fn allocations(case: &Case, mode: Mode, batched: bool) -> (u64, usize) {
    let config = EngineConfig {
        cache_size: match mode {
            Mode::Off => 0,
            // 1 thread: 4 shards of 1 entry. Every case has more than 4 items, so some
            // shard holds two of them in turn and its inserts evict.
            Mode::Fill => 2,
            Mode::Hits => 1024,
        },
        ima_policy: case.policy,
        ..EngineConfig::default()
    };
    let backend = if batched {
        batching_backend()
    } else {
        default_backend()
    };
    let engine = Engine::new(store_trusting(&case.trust, backend), config, 1);
    let mut outs = vec![Outcome::PENDING; case.items.len()];
    let mut scratch = Scratch::default();
    if mode == Mode::Hits {
        let fill = engine.begin_pass(CachePolicy::Use);
        for item in &case.items {
            fill.verify_item(item, &mut scratch);
        }
    }
    // Decided once, now: Off; Fill (the cache is empty); LookupAndFill (it is not).
    let pass = engine.begin_pass(if mode == Mode::Off {
        CachePolicy::Bypass
    } else {
        CachePolicy::Use
    });
    let mut check = |round: usize| {
        if batched {
            pass.verify_chunk(&case.items, &mut outs, &mut scratch);
        }
        for (i, (item, want)) in case.items.iter().zip(&case.expect).enumerate() {
            let o = if batched {
                outs[i]
            } else {
                pass.verify_item(item, &mut scratch)
            };
            assert_eq!(
                o.verdict.class,
                *want,
                "{} round {round}: {}: {} {:?} ({})",
                case.name,
                item.path.display(),
                o.verdict.class.name(),
                o.verdict.errno,
                o.verdict.reason
            );
            assert_eq!(
                o.cache_hit,
                mode == Mode::Hits,
                "{} ({}): {}",
                case.name,
                mode.name(),
                item.path.display()
            );
        }
    };
    for r in 0..WARM_ROUNDS {
        check(r);
    }
    if mode == Mode::Fill {
        assert!(
            engine.cache.len() <= 4 && case.items.len() > 4,
            "{}: the cache must be smaller than the items for inserts to evict",
            case.name
        );
    }
    let before = thread_allocs();
    for r in 0..ROUNDS {
        check(WARM_ROUNDS + r);
    }
    (thread_allocs() - before, ROUNDS * case.items.len())
}

#[test]
fn cold_items_allocate_nothing_after_warm_up() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let mut cases = vec![rsa_modules(t), ima_sidecars(t)];
    cases.extend(ima_xattrs(t));
    cases.push(embedded_cert_modules(t));
    cases.push(compressed_modules(t));
    cases.extend(ima_hash_xattrs(t));

    let mut rows = Vec::new();
    for case in &cases {
        for mode in [Mode::Off, Mode::Fill, Mode::Hits] {
            for batched in [false, true] {
                let (allocs, n) = allocations(case, mode, batched);
                rows.push((case.name, mode, batched, allocs, n));
            }
        }
    }
    println!();
    println!(
        "{:<30} {:<12} {:<8} {:>6} {:>12} {:>12}",
        "case", "cache", "path", "items", "allocations", "allocs/item"
    );
    let path = |b: bool| if b { "batched" } else { "single" };
    for (name, mode, batched, allocs, n) in &rows {
        println!(
            "{:<30} {:<12} {:<8} {:>6} {:>12} {:>12.3}",
            name,
            mode.name(),
            path(*batched),
            n,
            allocs,
            *allocs as f64 / *n as f64
        );
    }
    let bad: Vec<String> = rows
        .iter()
        .filter(|r| r.3 != 0)
        .map(|(name, mode, batched, allocs, n)| {
            format!(
                "{name} (cache {}, {}): {allocs} allocations over {n} items",
                mode.name(),
                path(*batched)
            )
        })
        .collect();
    assert!(
        bad.is_empty(),
        "the hot path allocated after warm-up:\n{}",
        bad.join("\n")
    );
}
