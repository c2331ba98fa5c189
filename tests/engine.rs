//! The engine through the library API (cache correctness under keyring changes and file
//! rewrites, a revoke racing a parallel pass, one verdict per item even for unreadable
//! items) and the `run` command's exporters and exit codes through the CLI.
//!
//! One small corpus (RSA-2048 / P-256 keys, no bad items, issuer+serial signer ids) is
//! generated once per test binary under `$CARGO_TARGET_TMPDIR/engine-corpus`; tests that
//! change files work on their own copy in a temporary directory, and every test builds its
//! own trust store by replaying the corpus's `keyring.script` through `measure::link`.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};
use trustbench::corpus::gen::generate;
use trustbench::corpus::manifest::{read_manifest, Expected};
use trustbench::corpus::spec::Spec;
use trustbench::crypto::{self, CryptoProfile};
use trustbench::engine::{CachePolicy, Engine, EngineConfig, IoCause, Item, PassResult, Which};
use trustbench::measure::link;
use trustbench::trust::blacklist::HashKind;
use trustbench::trust::{KernelConfig, Serial, Store};
use trustbench::verify::ima::{ImaPolicy, ImaRule, ImaSourceMode};
use trustbench::verify::{ImaSource, ItemKind, VerdictClass};
use trustbench::Errno;

const SPEC: &str = r#"
name = "engine-test"
seed = 6

[keys]
root = "rsa2048"
secondary_ca = "rsa2048"
machine_ca = "rsa2048"
module_signers = ["rsa2048", "p256"]
ima_signers = ["rsa2048", "p256"]
extra_key_pool = 1

[modules]
count = 60
sizes = "fixed:4000"
skid_percent = 0

[files]
count = 60
sizes = "fixed:2048"

[bad]
percent = 0
"#;

// =======================================================================================
// helpers
// =======================================================================================

/// The shared corpus (generated once per test binary) and its manifest.
fn corpus() -> &'static (PathBuf, Vec<Expected>) {
    static C: OnceLock<(PathBuf, Vec<Expected>)> = OnceLock::new();
    C.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("engine-corpus");
        let _ = std::fs::remove_dir_all(&dir);
        let spec = Spec::parse(SPEC, "test spec").expect("test spec parses");
        generate(&spec, SPEC, &dir, false).expect("corpus generation");
        let manifest = manifest_of(&dir);
        assert_eq!(manifest.len(), 120, "60 modules + 60 files in the manifest");
        (dir, manifest)
    })
}

fn manifest_of(dir: &Path) -> Vec<Expected> {
    let text = std::fs::read_to_string(dir.join("manifest.tsv")).expect("manifest.tsv");
    read_manifest(&text).expect("manifest parses")
}

/// A private copy of the shared corpus (for tests that rewrite files).
fn corpus_copy() -> (tempfile::TempDir, Vec<Expected>) {
    let (src, manifest) = corpus();
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_dir(src, tmp.path());
    (tmp, manifest.clone())
}

/// The corpus's keyrings, built through the real gatekeepers by the link-time phase.
fn build_store(dir: &Path) -> Store {
    let mut store = Store::new(
        KernelConfig::default(),
        CryptoProfile::full(),
        crypto::default_backend(),
    );
    let expected = std::fs::read_to_string(dir.join("keyring.expected")).unwrap();
    let phase = link::run(&mut store, &dir.join("keyring.script"), Some(&expected))
        .expect("link-time phase");
    assert!(
        phase.unexpected.is_empty(),
        "keyring.script outcomes differ from keyring.expected: {:?}",
        phase.unexpected
    );
    store
}

fn engine_for(dir: &Path, check_blacklist: bool) -> Engine {
    let config = EngineConfig {
        ima_policy: ImaPolicy {
            check_blacklist,
            ..ImaPolicy::default()
        },
        ..EngineConfig::default()
    };
    Engine::new(build_store(dir), config, 2)
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
}

/// The manifest's items, each kind checked against the one is-module rule.
/// The first item of `kind` in the shared corpus.
fn corpus_item(kind: ItemKind) -> Item {
    let (dir, manifest) = corpus();
    items_of(dir, manifest)
        .into_iter()
        .find(|i| i.kind == kind)
        .unwrap_or_else(|| panic!("the corpus has no {} item", kind.name()))
}

fn items_of(dir: &Path, manifest: &[Expected]) -> Vec<Item> {
    manifest
        .iter()
        .map(|e| Item::declared(dir.join(&e.path), e.kind).unwrap_or_else(|m| panic!("{m}")))
        .collect()
}

/// Serial of the asymmetric key whose description starts with `prefix` (descriptions are
/// `CN: hex-id`).
fn key_by_description(store: &Store, prefix: &str) -> Serial {
    let found: Vec<Serial> = store
        .serials()
        .filter(|&s| store.asymmetric(s).is_some())
        .filter(|&s| store.description(s).is_some_and(|d| d.starts_with(prefix)))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one key described '{prefix}…'; keys: {:?}",
        store
            .serials()
            .filter(|&s| store.asymmetric(s).is_some())
            .filter_map(|s| store.description(s))
            .collect::<Vec<_>>()
    );
    found[0]
}

fn errno_name(e: Option<Errno>) -> String {
    e.map_or("-".into(), |e| e.to_string())
}

/// Every outcome of `r` equals the manifest's verdict and errno.
fn assert_matches_manifest(r: &PassResult, manifest: &[Expected], what: &str) {
    assert_eq!(
        r.outcomes.len(),
        manifest.len(),
        "{what}: one outcome per item"
    );
    let bad: Vec<String> = manifest
        .iter()
        .zip(&r.outcomes)
        .filter(|(e, o)| !e.matches(&o.verdict))
        .map(|(e, o)| {
            format!(
                "{}: expected {} {}, got {} {} ({})",
                e.path,
                e.verdict.name(),
                errno_name(e.errno),
                o.verdict.class.name(),
                errno_name(o.verdict.errno),
                o.verdict.reason
            )
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: verdicts differ from the manifest:\n{}",
        bad.join("\n")
    );
}

/// Indices of the items the cold pass found valid with `signer`.
fn signed_by(r: &PassResult, signer: Serial) -> Vec<usize> {
    r.outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| o.verdict.class == VerdictClass::Valid && o.verdict.signer == Some(signer))
        .map(|(i, _)| i)
        .collect()
}

/// Overwrites `path` with `bytes` and sets its mtime to `mtime`.
fn rewrite(path: &Path, bytes: &[u8], mtime: SystemTime) {
    std::fs::write(path, bytes).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_modified(mtime).unwrap();
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

// =======================================================================================
// 5. cache correctness
// =======================================================================================

#[test]
fn cold_pass_matches_manifest_and_warm_pass_is_all_hits_with_identical_verdicts() {
    let (dir, manifest) = corpus();
    assert!(
        manifest.iter().all(|e| e.verdict == VerdictClass::Valid),
        "the engine corpus has no bad items"
    );
    let engine = engine_for(dir, true);
    let items = items_of(dir, manifest);
    let p = pool(2);

    let cold = engine.pass(&items, &p);
    assert_matches_manifest(&cold, manifest, "cold pass");
    assert_eq!(cold.threads, 2);
    assert_eq!(
        (cold.cache.hits, cold.cache.misses, cold.cache.stale),
        (0, items.len() as u64, 0),
        "cold pass: every lookup misses"
    );
    assert!(cold.outcomes.iter().all(|o| !o.cache_hit && o.bytes > 0));

    let warm = engine.pass(&items, &p);
    assert_eq!(
        (warm.cache.hits, warm.cache.misses, warm.cache.stale),
        (items.len() as u64, 0, 0),
        "warm pass: 100% cache hits"
    );
    for (i, (c, w)) in cold.outcomes.iter().zip(&warm.outcomes).enumerate() {
        assert!(
            w.cache_hit,
            "{}: warm outcome not from the cache",
            manifest[i].path
        );
        assert_eq!(
            c.verdict, w.verdict,
            "{}: warm verdict differs from cold",
            manifest[i].path
        );
    }
}

#[test]
fn revoking_a_module_key_between_passes_invalidates_its_items_and_the_cache() {
    let (dir, manifest) = corpus();
    let engine = engine_for(dir, true);
    let items = items_of(dir, manifest);
    let p = pool(2);
    let cold = engine.pass(&items, &p);
    assert_matches_manifest(&cold, manifest, "cold pass");

    let target = key_by_description(
        &engine.store.read().unwrap(),
        "trustbench module signer 0 (root):",
    );
    let victims = signed_by(&cold, target);
    assert!(
        !victims.is_empty(),
        "some modules are signed by module signer 0 (root)"
    );

    engine.store.write().unwrap().revoke(target).unwrap();
    let after = engine.pass(&items, &p);
    assert_eq!(after.outcomes.len(), items.len());
    assert_eq!(
        (after.cache.hits, after.cache.misses, after.cache.stale),
        (0, items.len() as u64, items.len() as u64),
        "after a revoke every cached verdict is stale (older epoch)"
    );
    for (i, o) in after.outcomes.iter().enumerate() {
        let path = &manifest[i].path;
        if victims.contains(&i) {
            assert_eq!(
                (o.verdict.class, o.verdict.errno),
                (VerdictClass::Invalid, Some(Errno::EKEYREVOKED)),
                "{path}: signed by the revoked key ({})",
                o.verdict.reason
            );
        } else {
            assert_eq!(
                o.verdict, cold.outcomes[i].verdict,
                "{path}: not signed by the revoked key"
            );
        }
        assert!(
            !(o.verdict.class == VerdictClass::Valid && o.verdict.signer == Some(target)),
            "{path}: valid with a revoked signer"
        );
    }
    // The new verdicts are cached under the new epoch.
    let again = engine.pass(&items, &p);
    assert_eq!(again.cache.hits, items.len() as u64);
    for (a, b) in after.outcomes.iter().zip(&again.outcomes) {
        assert_eq!(a.verdict, b.verdict);
    }
}

#[test]
fn revoking_an_ima_key_between_passes_invalidates_its_files() {
    let (dir, manifest) = corpus();
    let engine = engine_for(dir, true);
    let items = items_of(dir, manifest);
    let p = pool(2);
    let cold = engine.pass(&items, &p);
    let target = key_by_description(&engine.store.read().unwrap(), "trustbench IMA signer 1:");
    let victims = signed_by(&cold, target);
    assert!(!victims.is_empty());
    assert!(victims.iter().all(|&i| items[i].kind == ItemKind::Ima));

    engine.store.write().unwrap().revoke(target).unwrap();
    let after = engine.pass(&items, &p);
    assert_eq!(
        after.cache.hits, 0,
        "no stale verdict served after the revoke"
    );
    assert!(after.cache.stale > 0);
    for (i, o) in after.outcomes.iter().enumerate() {
        if victims.contains(&i) {
            assert_eq!(
                o.verdict.errno,
                Some(Errno::EKEYREVOKED),
                "{}: IMA signer revoked",
                manifest[i].path
            );
        } else {
            assert_eq!(o.verdict, cold.outcomes[i].verdict);
        }
    }
}

#[test]
fn blacklisting_a_file_hash_between_passes_makes_that_file_eperm() {
    let (dir, manifest) = corpus();
    let items = items_of(dir, manifest);
    let p = pool(2);
    let target = items
        .iter()
        .position(|i| i.kind == ItemKind::Ima)
        .expect("an IMA item");

    for check_blacklist in [true, false] {
        let engine = engine_for(dir, check_blacklist);
        let cold = engine.pass(&items, &p);
        assert_matches_manifest(&cold, manifest, "cold pass");
        let digest = cold.outcomes[target]
            .verdict
            .digest
            .expect("a valid IMA verdict carries the file digest");
        engine
            .store
            .write()
            .unwrap()
            .add_blacklist_hash(HashKind::Bin, digest.as_bytes())
            .unwrap();
        let after = engine.pass(&items, &p);
        assert_eq!(
            after.cache.hits, 0,
            "the blacklist addition changes the epoch"
        );
        for (i, o) in after.outcomes.iter().enumerate() {
            if i == target && check_blacklist {
                assert_eq!(
                    (o.verdict.class, o.verdict.errno),
                    (VerdictClass::Invalid, Some(Errno::EPERM)),
                    "{}: its digest is blacklisted (bin:) and the policy checks the blacklist",
                    manifest[i].path
                );
            } else {
                assert_eq!(
                    o.verdict, cold.outcomes[i].verdict,
                    "{} (check_blacklist={check_blacklist})",
                    manifest[i].path
                );
            }
        }
    }
}

#[test]
fn unlinking_an_ima_key_between_passes_gives_enokey() {
    let (dir, manifest) = corpus();
    let engine = engine_for(dir, true);
    let items = items_of(dir, manifest);
    let p = pool(2);
    let cold = engine.pass(&items, &p);
    let (target, ima) = {
        let s = engine.store.read().unwrap();
        (
            key_by_description(&s, "trustbench IMA signer 0:"),
            s.system().ima,
        )
    };
    let victims = signed_by(&cold, target);
    assert!(!victims.is_empty());

    engine.store.write().unwrap().unlink(target, ima).unwrap();
    let after = engine.pass(&items, &p);
    assert_eq!(after.cache.hits, 0);
    for (i, o) in after.outcomes.iter().enumerate() {
        if victims.contains(&i) {
            assert_eq!(
                (o.verdict.class, o.verdict.errno),
                (VerdictClass::Invalid, Some(Errno::ENOKEY)),
                "{}: its key is no longer in .ima",
                manifest[i].path
            );
        } else {
            assert_eq!(o.verdict, cold.outcomes[i].verdict, "{}", manifest[i].path);
        }
    }
}

#[test]
fn clearing_the_secondary_keyring_between_passes_makes_every_module_enokey() {
    let (dir, manifest) = corpus();
    let engine = engine_for(dir, true);
    let items = items_of(dir, manifest);
    let p = pool(2);
    let cold = engine.pass(&items, &p);
    assert_matches_manifest(&cold, manifest, "cold pass");

    let secondary = engine
        .store
        .read()
        .unwrap()
        .system()
        .secondary
        .expect("secondary");
    engine.store.write().unwrap().clear(secondary).unwrap();
    let after = engine.pass(&items, &p);
    assert_eq!(after.cache.hits, 0);
    let mut modules = 0;
    for (i, o) in after.outcomes.iter().enumerate() {
        match items[i].kind {
            ItemKind::Module => {
                modules += 1;
                assert_eq!(
                    (o.verdict.class, o.verdict.errno),
                    (VerdictClass::Invalid, Some(Errno::ENOKEY)),
                    "{}: the secondary keyring is empty",
                    manifest[i].path
                );
            }
            ItemKind::Ima => {
                assert_eq!(o.verdict, cold.outcomes[i].verdict, "{}", manifest[i].path)
            }
        }
    }
    assert_eq!(modules, 60);
}

#[test]
fn files_rewritten_between_passes_are_reverified() {
    let (tmp, manifest) = corpus_copy();
    let dir = tmp.path();
    let engine = engine_for(dir, true);
    let items = items_of(dir, &manifest);
    let p = pool(2);
    let cold = engine.pass(&items, &p);
    assert_matches_manifest(&cold, &manifest, "cold pass");

    let module = items
        .iter()
        .position(|i| i.kind == ItemKind::Module)
        .unwrap();
    let file = items.iter().position(|i| i.kind == ItemKind::Ima).unwrap();
    let file2 = items.iter().rposition(|i| i.kind == ItemKind::Ima).unwrap();
    let module2 = items
        .iter()
        .rposition(|i| i.kind == ItemKind::Module)
        .unwrap();
    let sidecar_victim = items
        .iter()
        .enumerate()
        .position(|(i, it)| it.kind == ItemKind::Ima && i != file && i != file2)
        .unwrap();

    // Ensure the kernel's coarse timestamp clock has moved on since the files were made.
    std::thread::sleep(Duration::from_millis(50));
    // (a) Same size, one body byte flipped, mtime moved forward explicitly.
    for &i in &[module, file] {
        let path = &items[i].path;
        let mut b = std::fs::read(path).unwrap();
        b[10] ^= 0x01;
        rewrite(path, &b, mtime(path) + Duration::from_secs(100));
    }
    // (b) Same size, one byte flipped, and the mtime forged back to its old value: only
    //     the ctime tells the cache the file changed.
    for &i in &[module2, file2] {
        let path = &items[i].path;
        let old = mtime(path);
        let mut b = std::fs::read(path).unwrap();
        b[20] ^= 0x80;
        rewrite(path, &b, old);
        assert_eq!(mtime(path), old);
    }
    // (c) Content unchanged, but the .sig sidecar replaced by another file's signature.
    let victim_sig = format!("{}.sig", items[sidecar_victim].path.display());
    let other_sig = std::fs::read(format!("{}.sig", items[file].path.display())).unwrap();
    rewrite(
        Path::new(&victim_sig),
        &other_sig,
        mtime(Path::new(&victim_sig)) + Duration::from_secs(100),
    );

    let after = engine.pass(&items, &p);
    let changed = [module, file, module2, file2, sidecar_victim];
    for (i, o) in after.outcomes.iter().enumerate() {
        let path = &manifest[i].path;
        if changed.contains(&i) {
            assert!(!o.cache_hit, "{path}: rewritten, but served from the cache");
            assert_eq!(
                (o.verdict.class, o.verdict.errno),
                (VerdictClass::Invalid, Some(Errno::EKEYREJECTED)),
                "{path}: rewritten content no longer matches its signature ({})",
                o.verdict.reason
            );
        } else {
            assert!(o.cache_hit, "{path}: unchanged, should be a cache hit");
            assert_eq!(o.verdict, cold.outcomes[i].verdict);
        }
    }
    assert_eq!(after.cache.hits, (items.len() - changed.len()) as u64);
    assert_eq!(after.cache.misses, changed.len() as u64);
    assert_eq!(after.cache.stale, 0, "the epoch did not change");
}

#[test]
fn verdicts_do_not_depend_on_threads_cache_size_or_read_path() {
    let (dir, manifest) = corpus();
    let items = items_of(dir, manifest);
    let reference = engine_for(dir, true)
        .begin_pass(CachePolicy::Bypass)
        .run(&items, &pool(2));
    assert_matches_manifest(&reference, manifest, "reference pass");
    let configs = [
        ("1 thread", 1, EngineConfig::default()),
        (
            "cache off",
            2,
            EngineConfig {
                cache_size: 0,
                ..EngineConfig::default()
            },
        ),
        (
            "tiny cache",
            2,
            EngineConfig {
                cache_size: 4,
                ..EngineConfig::default()
            },
        ),
        (
            "every file mapped",
            2,
            EngineConfig {
                mmap_threshold: Some(1),
                ..EngineConfig::default()
            },
        ),
    ];
    for (what, threads, mut config) in configs {
        config.ima_policy = ImaPolicy {
            check_blacklist: true,
            ..ImaPolicy::default()
        };
        let cache_size = config.cache_size;
        let engine = Engine::new(build_store(dir), config, threads);
        let p = pool(threads);
        for pass in ["cold", "warm"] {
            let r = engine.pass(&items, &p);
            assert_eq!(r.threads, threads);
            assert_eq!(r.outcomes.len(), items.len());
            for (i, (a, b)) in reference.outcomes.iter().zip(&r.outcomes).enumerate() {
                assert_eq!(a.verdict, b.verdict, "{what}, {pass}: {}", manifest[i].path);
            }
            if cache_size == 0 {
                assert_eq!(r.cache.hits, 0, "{what}: no cache, no hits");
            }
            if cache_size <= 4 && pass == "warm" {
                assert!(
                    r.cache.hits < items.len() as u64 / 2,
                    "{what}: a 4-entry cache cannot hold {} verdicts: {:?}",
                    items.len(),
                    r.cache
                );
            }
        }
    }
}

// =======================================================================================
// 6. revoke during a parallel pass
// =======================================================================================

#[test]
fn revoke_during_a_parallel_pass_is_never_served_stale() {
    let (dir, manifest) = corpus();
    let base = items_of(dir, manifest);
    // Every item many times over, so the pass is long enough for the revoke to land in it.
    const REPS: usize = 40;
    let items: Vec<Item> = (0..REPS).flat_map(|_| base.iter().cloned()).collect();

    for cached in [true, false] {
        let engine = Arc::new(engine_for(dir, true));
        let p = pool(2);
        let probe = engine.begin_pass(CachePolicy::Bypass).run(&base, &p);
        let target = key_by_description(
            &engine.store.read().unwrap(),
            "trustbench module signer 1 (secondary):",
        );
        let victims = signed_by(&probe, target);
        assert!(!victims.is_empty());

        let started = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let revoker = {
            let engine = Arc::clone(&engine);
            let started = Arc::clone(&started);
            std::thread::spawn(move || {
                while !started.load(std::sync::atomic::Ordering::Acquire) {
                    std::thread::yield_now();
                }
                std::thread::sleep(Duration::from_millis(3));
                let mut s = engine.store.write().unwrap();
                let before = s.epoch();
                s.revoke(target).unwrap();
                assert!(s.epoch() > before, "a revoke bumps the trust epoch");
            })
        };
        started.store(true, std::sync::atomic::Ordering::Release);
        let during = engine
            .begin_pass(if cached {
                CachePolicy::Use
            } else {
                CachePolicy::Bypass
            })
            .run(&items, &p);
        revoker.join().expect("revoker thread");

        assert_eq!(during.outcomes.len(), items.len(), "one outcome per item");
        let (mut valid, mut revoked) = (0, 0);
        for (n, o) in during.outcomes.iter().enumerate() {
            let i = n % base.len();
            if victims.contains(&i) {
                match (o.verdict.class, o.verdict.errno) {
                    (VerdictClass::Valid, None) => {
                        assert_eq!(o.verdict.signer, Some(target));
                        valid += 1;
                    }
                    (VerdictClass::Invalid, Some(Errno::EKEYREVOKED)) => revoked += 1,
                    other => panic!(
                        "{}: unexpected outcome {other:?} during the revoke",
                        manifest[i].path
                    ),
                }
            } else {
                assert_eq!(
                    o.verdict, probe.outcomes[i].verdict,
                    "{}: unaffected item",
                    manifest[i].path
                );
            }
        }
        eprintln!(
            "revoke during pass (cached={cached}): {valid} valid before / {revoked} revoked after, of {} victim outcomes",
            valid + revoked
        );

        // A pass that starts after the revoke never reports the revoked signer valid.
        let after = engine
            .begin_pass(if cached {
                CachePolicy::Use
            } else {
                CachePolicy::Bypass
            })
            .run(&base, &p);
        assert_eq!(after.outcomes.len(), base.len());
        for &i in &victims {
            assert_eq!(
                after.outcomes[i].verdict.errno,
                Some(Errno::EKEYREVOKED),
                "{}: verified after the revoke",
                manifest[i].path
            );
        }
        assert!(
            signed_by(&after, target).is_empty(),
            "valid verdicts with a signer revoked before the pass began"
        );
    }
}

// =======================================================================================
// 7. every item yields exactly one verdict
// =======================================================================================

#[test]
fn unreadable_items_get_one_eio_verdict_each_without_panicking() {
    let (dir, manifest) = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    std::fs::create_dir(t.join("directory.ko")).unwrap();
    std::fs::create_dir(t.join("directory.bin")).unwrap();
    let mut items = items_of(dir, manifest);
    let n_good = items.len();
    let unreadable = [
        Item::from_path(t.join("missing.ko")),
        Item::from_path(t.join("missing.bin")),
        Item::from_path(t.join("directory.ko")),
        Item::from_path(t.join("directory.bin")),
    ];
    assert_eq!(unreadable[0].kind, ItemKind::Module);
    assert_eq!(unreadable[1].kind, ItemKind::Ima);
    assert_eq!(unreadable[2].kind, ItemKind::Module);
    // Interleave them with the good items.
    for (k, it) in unreadable.iter().enumerate() {
        items.insert(k * 30, it.clone());
    }

    let engine = engine_for(dir, true);
    let p = pool(2);
    for pass in ["cold", "warm"] {
        let r = engine.pass(&items, &p);
        assert_eq!(
            r.outcomes.len(),
            items.len(),
            "{pass}: one outcome per item"
        );
        let mut eio = 0;
        for (it, o) in items.iter().zip(&r.outcomes) {
            assert_eq!(o.verdict.kind, it.kind, "{}: kind", it.path.display());
            if unreadable.contains(it) {
                eio += 1;
                assert_eq!(
                    (o.verdict.class, o.verdict.errno),
                    (VerdictClass::Invalid, Some(Errno::EIO)),
                    "{pass}: {} cannot be read",
                    it.path.display()
                );
            } else {
                assert_eq!(
                    o.verdict.class,
                    VerdictClass::Valid,
                    "{pass}: {}",
                    it.path.display()
                );
            }
        }
        assert_eq!(eio, unreadable.len());
        let store = engine.store.read().unwrap();
        let report = trustbench::measure::report::PassReport::build(
            pass,
            &store,
            &items,
            &r,
            &Default::default(),
        );
        assert_eq!(report.items, items.len());
        assert_eq!(
            report.verdicts.get("invalid:EIO"),
            Some(&(unreadable.len() as u64))
        );
        assert_eq!(report.verdicts.get("valid"), Some(&(n_good as u64)));
        assert_eq!(report.verdicts.values().sum::<u64>(), items.len() as u64);
    }
}

/// A FIFO named like a module must not block the pass (the kernel only appraises regular
/// files); it is unreadable as an item: EIO.
#[test]
fn a_fifo_item_does_not_hang_the_pass() {
    let (dir, manifest) = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("fifo.ko");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    let mut items = items_of(dir, &manifest[..4]);
    items.push(Item::from_path(fifo.clone()));

    let engine = Arc::new(engine_for(dir, true));
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = {
        let engine = Arc::clone(&engine);
        let items = items.clone();
        std::thread::spawn(move || {
            let r = engine.pass(&items, &pool(2));
            let _ = tx.send(r);
        })
    };
    let r = match rx.recv_timeout(Duration::from_secs(3)) {
        Ok(r) => r,
        Err(_) => {
            // Unblock the reader so the worker thread can finish, then fail.
            let _ = std::fs::OpenOptions::new().write(true).open(&fifo);
            let _ = worker.join();
            panic!(
                "a pass over a FIFO named {} did not finish within 3 s (open() blocks waiting \
                 for a writer)",
                fifo.display()
            );
        }
    };
    worker.join().unwrap();
    assert_eq!(r.outcomes.len(), items.len());
    let o = r.outcomes.last().unwrap();
    assert_eq!(
        (o.verdict.class, o.verdict.errno),
        (VerdictClass::Invalid, Some(Errno::EIO)),
        "a FIFO is not a readable item"
    );
}

/// An IMA item whose `.sig` sidecar exists but cannot be read is an I/O failure (EIO), not
/// an unsigned file (ENODATA): the signature is there, it just could not be read.
#[test]
fn an_unreadable_sig_sidecar_is_eio_not_unsigned() {
    let (dir, _) = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let good = corpus_item(ItemKind::Ima);
    let path = t.join("sigdir.bin");
    std::fs::copy(&good.path, &path).unwrap();
    // The sidecar is a directory: it exists, but reading it fails (EISDIR).
    std::fs::create_dir(t.join("sigdir.bin.sig")).unwrap();
    let items = vec![Item::from_path(path.clone())];
    let engine = engine_for(dir, true);
    let r = engine.pass(&items, &pool(2));
    assert_eq!(r.outcomes.len(), 1);
    let v = r.outcomes[0].verdict;
    assert_eq!(
        (v.class, v.errno),
        (VerdictClass::Invalid, Some(Errno::EIO)),
        "{}: the .sig sidecar exists but cannot be read; got {} {} ({})",
        path.display(),
        v.class.name(),
        errno_name(v.errno),
        v.reason
    );
}

/// One file under two names, a module name and an IMA name (a hard link and a symlink),
/// is judged two ways; the cache keeps the two verdicts apart, so a warm pass answers each
/// name as the cold pass did.
#[test]
fn one_file_under_a_module_name_and_an_ima_name_keeps_two_verdicts() {
    let (dir, manifest) = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let module = items_of(dir, manifest)
        .into_iter()
        .find(|i| i.kind == ItemKind::Module && i.path.extension().is_some_and(|x| x == "ko"))
        .unwrap();
    let ko = t.join("m.ko");
    std::fs::copy(&module.path, &ko).unwrap();
    std::fs::hard_link(&ko, t.join("hard.bin")).unwrap();
    std::os::unix::fs::symlink(&ko, t.join("soft.bin")).unwrap();
    let items: Vec<Item> = ["m.ko", "hard.bin", "soft.bin"]
        .iter()
        .map(|n| Item::from_path(t.join(n)))
        .collect();
    assert_eq!(items[0].kind, ItemKind::Module);
    assert_eq!(items[1].kind, ItemKind::Ima);
    let engine = engine_for(dir, true);
    let cold = engine.pass(&items, &pool(2));
    for _ in 0..2 {
        let warm = engine.pass(&items, &pool(2));
        for ((it, c), w) in items.iter().zip(&cold.outcomes).zip(&warm.outcomes) {
            assert_eq!(w.verdict.kind, it.kind, "{}", it.path.display());
            assert_eq!(
                (w.verdict.class, w.verdict.errno),
                (c.verdict.class, c.verdict.errno),
                "{}: the warm pass answered for the other name",
                it.path.display()
            );
        }
    }
    assert_ne!(
        cold.outcomes[0].verdict.class, cold.outcomes[1].verdict.class,
        "the module name and the IMA name must be judged differently for this test to mean anything"
    );
}

/// Makes a FIFO at `path`.
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// A readable item whose `.sig` sidecar exists but cannot be read (a directory, a FIFO):
/// EIO in every cache mode, and the outcome says it was the sidecar, not the item, so
/// `verify` names the `.sig` path instead of guessing from the item.
#[test]
fn an_unreadable_sidecar_is_reported_as_the_sidecar_in_every_cache_mode() {
    let (dir, _) = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let good = corpus_item(ItemKind::Ima);
    let with_dir = t.join("sig-is-a-dir.bin");
    std::fs::copy(&good.path, &with_dir).unwrap();
    std::fs::create_dir(t.join("sig-is-a-dir.bin.sig")).unwrap();
    let with_fifo = t.join("sig-is-a-fifo.bin");
    std::fs::copy(&good.path, &with_fifo).unwrap();
    mkfifo(&t.join("sig-is-a-fifo.bin.sig"));
    // A device reads without end (and, without the cache, used to be read as a signature).
    let with_dev = t.join("sig-is-a-device.bin");
    std::fs::copy(&good.path, &with_dev).unwrap();
    std::os::unix::fs::symlink("/dev/zero", t.join("sig-is-a-device.bin.sig")).unwrap();
    // Control: the item itself is unreadable (a directory named like a file).
    let item_dir = t.join("item-is-a-dir.bin");
    std::fs::create_dir(&item_dir).unwrap();
    let items = vec![
        Item::from_path(with_dir.clone()),
        Item::from_path(with_fifo.clone()),
        Item::from_path(with_dev.clone()),
        Item::from_path(item_dir.clone()),
        good.clone(),
    ];
    for policy in [CachePolicy::Bypass, CachePolicy::Use] {
        let engine = engine_for(dir, true);
        let r = engine.begin_pass(policy).run(&items, &pool(2));
        for (it, o) in items.iter().zip(&r.outcomes).take(4) {
            let v = o.verdict;
            assert_eq!(
                (v.class, v.errno),
                (VerdictClass::Invalid, Some(Errno::EIO)),
                "{policy:?}: {}: got {} {} ({})",
                it.path.display(),
                v.class.name(),
                errno_name(v.errno),
                v.reason
            );
            assert!(!o.cache_hit);
        }
        let io: Vec<_> = r.outcomes.iter().map(|o| o.io).collect();
        for (k, it) in items[..3].iter().enumerate() {
            let f = io[k]
                .unwrap_or_else(|| panic!("{policy:?}: {}: no I/O failure", it.path.display()));
            assert_eq!(f.file, Which::Sidecar, "{policy:?}: {}", it.path.display());
            if k > 0 {
                assert_eq!(
                    f.cause,
                    IoCause::NotRegularFile,
                    "{policy:?}: {}",
                    it.path.display()
                );
            }
            assert_eq!(
                f.path(&it.path),
                PathBuf::from(format!("{}.sig", it.path.display()))
            );
        }
        let f = io[3].expect("the directory item is an I/O failure");
        assert_eq!(
            (f.file, f.cause),
            (Which::Item, IoCause::NotRegularFile),
            "{policy:?}"
        );
        assert_eq!(f.path(&item_dir), item_dir);
        assert_eq!(r.outcomes[4].verdict.class, VerdictClass::Valid);
        assert_eq!(io[4], None, "a valid item has no I/O failure");
    }

    // `verify` reports the sidecar (exit 2), not the readable item.
    let out = run_cli(&["verify", "--kind", "ima", with_dir.to_str().unwrap()]);
    assert_eq!(out.code(), 2, "{out:?}");
    let sig = format!("{}.sig", with_dir.display());
    assert!(
        out.stderr.contains(&sig),
        "verify should name {sig}: {}",
        out.stderr
    );
    let out = run_cli(&["verify", with_fifo.to_str().unwrap()]);
    assert_eq!(out.code(), 2, "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("{}.sig: not a regular file", with_fifo.display())),
        "{}",
        out.stderr
    );
    // A missing item is the item's failure, with the OS's words.
    let missing = t.join("missing.ko");
    let out = run_cli(&["verify", missing.to_str().unwrap()]);
    assert_eq!(out.code(), 2, "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("{}: No such file or directory", missing.display())),
        "{}",
        out.stderr
    );
}

/// `discover` and `verify --kind auto` use one rule: modules are the files named `.ko`,
/// `.ko.gz`, `.ko.xz`, `.ko.zst`, whatever their content (an unsigned or corrupt `.ko` is
/// a module, not an IMA file).
#[test]
fn discover_and_verify_classify_by_the_same_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let module = corpus_item(ItemKind::Module);
    let body = std::fs::read(&module.path).unwrap();
    // A module without its trailer, a "compressed" module that is not, a signed module
    // under a non-module name, and a plain file.
    std::fs::write(t.join("stripped.ko"), &body[..1000]).unwrap();
    std::fs::write(t.join("corrupt.ko.xz"), b"\xfd7zXZ\0 not really xz").unwrap();
    std::fs::write(t.join("signed-module.bin"), &body).unwrap();
    std::fs::write(t.join("plain.txt"), b"hello").unwrap();
    std::fs::write(t.join("plain.txt.sig"), b"").unwrap();
    let found = trustbench::engine::discover(t).unwrap();
    let kinds: Vec<(String, ItemKind)> = found
        .iter()
        .map(|i| {
            (
                i.path.file_name().unwrap().to_string_lossy().into_owned(),
                i.kind,
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("corrupt.ko.xz".to_string(), ItemKind::Module),
            ("plain.txt".to_string(), ItemKind::Ima),
            ("signed-module.bin".to_string(), ItemKind::Ima),
            ("stripped.ko".to_string(), ItemKind::Module),
        ],
        "the .sig is not an item"
    );
    let mut args = vec!["verify".to_string(), "--json".to_string()];
    args.extend(found.iter().map(|i| i.path.display().to_string()));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_cli(&a);
    assert_eq!(out.code(), 1, "{out:?}");
    let recs = parse_json_lines(&out.stdout);
    assert_eq!(recs.len(), found.len());
    for (r, i) in recs.iter().zip(&found) {
        assert_eq!(r["kind"], i.kind.name(), "{r}");
    }
    let by_name = |n: &str| {
        recs.iter()
            .find(|r| r["path"].as_str().unwrap().ends_with(n))
            .unwrap()
    };
    assert_eq!(by_name("corrupt.ko.xz")["errno"], "EBADMSG");
    assert_eq!(by_name("stripped.ko")["errno"], "ENODATA");
    assert_eq!(by_name("signed-module.bin")["errno"], "ENODATA");
    assert_eq!(by_name("plain.txt")["errno"], "ENODATA");
}

/// A decompression bomb (a few kilobytes of zstd that decompress past the 256 MiB budget)
/// is a verdict with the budget as its reason, not gigabytes of memory per worker.
#[test]
fn a_decompression_bomb_is_a_verdict_with_the_budget_as_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let bomb = tmp.path().join("bomb.ko.zst");
    let zeros = vec![0u8; trustbench::formats::decompress::MAX_DECOMPRESSED + 1];
    let packed = zstd::stream::encode_all(&zeros[..], 3).unwrap();
    drop(zeros);
    assert!(packed.len() < 1 << 20, "{} bytes", packed.len());
    std::fs::write(&bomb, &packed).unwrap();
    let out = run_cli(&["verify", "--json", bomb.to_str().unwrap()]);
    assert_eq!(out.code(), 1, "{out:?}");
    let recs = parse_json_lines(&out.stdout);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["errno"], "EBADMSG", "{}", recs[0]);
    let reason = recs[0]["reason"].as_str().unwrap();
    assert!(reason.contains("budget"), "{reason}");
}

// =======================================================================================
// 8. exporters and exit codes (CLI)
// =======================================================================================

fn run_cli(args: &[&str]) -> Output {
    run_output(trustbench().args(args))
}

#[test]
fn run_exports_json_csv_and_markdown_that_agree() {
    let (dir, manifest) = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let (j, c, m) = (
        tmp.path().join("r.json"),
        tmp.path().join("r.csv"),
        tmp.path().join("r.md"),
    );
    let out = run_cli(&[
        "run",
        "--corpus",
        dir.to_str().unwrap(),
        "--passes",
        "cold,warm",
        "--quiet",
        "--calibration-ms",
        "5",
        "--threads",
        "2",
        "--json",
        j.to_str().unwrap(),
        "--csv",
        c.to_str().unwrap(),
        "--markdown",
        m.to_str().unwrap(),
        "--results-dir",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(out.code(), 0, "run on an agreeing corpus exits 0: {out:?}");

    let json: Value = serde_json::from_str(&std::fs::read_to_string(&j).unwrap()).expect("JSON");
    assert_eq!(json["schema"], "trustbench.run/2");
    for field in [
        "machine", "versions", "corpus", "link", "ceiling", "passes", "manifest",
    ] {
        assert!(
            !json[field].is_null(),
            "report field '{field}' missing: {json:#}"
        );
    }
    assert_eq!(json["ima_rule"], "imasig", "the default rule is named");
    assert_eq!(json["ima_source"], "auto");
    assert!(json["machine"]["logical_cpus"].as_u64().unwrap() >= 1);
    assert!(json["versions"]["trustbench"].is_string());
    assert!(json["versions"]["backend"].is_string());
    assert_eq!(json["corpus"]["items"], manifest.len());
    assert_eq!(json["threads"], 2);
    assert!(json["link"]["commands"].as_u64().unwrap() > 0);
    assert_eq!(json["link"]["unexpected"].as_array().unwrap().len(), 0);
    assert!(!json["ceiling"]["verify_ns"].as_object().unwrap().is_empty());
    assert_eq!(json["manifest"]["checked"], manifest.len());
    assert_eq!(json["manifest"]["mismatches"].as_array().unwrap().len(), 0);
    let passes = json["passes"].as_array().unwrap();
    assert_eq!(passes.len(), 2);
    assert_eq!(passes[0]["name"], "cold");
    assert_eq!(passes[1]["name"], "warm");
    for p in passes {
        assert_eq!(p["items"], manifest.len());
        let total: u64 = p["verdicts"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(
            total,
            manifest.len() as u64,
            "verdict table covers every item"
        );
        assert_eq!(p["verdicts"]["valid"], manifest.len());
    }
    assert_eq!(passes[0]["cache"]["hits"], 0);
    assert_eq!(passes[1]["cache"]["hit_rate"], 1.0);
    assert!(json["warm_over_cold"].is_number());

    // CSV: header + one row per pass, same numbers as the JSON (CSV rounds to 0.1).
    let csv = std::fs::read_to_string(&c).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "header + 2 rows:\n{csv}");
    let header: Vec<&str> = lines[0].split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("CSV column {name} missing: {}", lines[0]))
    };
    let (c_pass, c_items, c_ips) = (col("pass"), col("items"), col("items_per_s"));
    for (row, p) in lines[1..].iter().zip(passes) {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(f.len(), header.len(), "row width: {row}");
        assert_eq!(f[c_pass], p["name"].as_str().unwrap());
        assert_eq!(f[c_items].parse::<u64>().unwrap(), manifest.len() as u64);
        let csv_ips: f64 = f[c_ips].parse().unwrap();
        let json_ips = p["items_per_s"].as_f64().unwrap();
        assert!(
            (csv_ips - json_ips).abs() <= 0.05 + json_ips * 1e-12,
            "items/s: CSV {csv_ips} vs JSON {json_ips}"
        );
    }

    let md = std::fs::read_to_string(&m).unwrap();
    assert!(md.contains("## Passes"), "markdown pass table:\n{md}");
    assert!(md.contains("IMA rule imasig, IMA source auto"), "{md}");
    assert!(md.contains("| pass | items/s |"));
    assert!(md.contains("| cold | ") && md.contains("| warm | "), "{md}");
    assert!(md.contains(&format!("{} items checked, 0 mismatches", manifest.len())));
}

#[test]
fn run_exit_codes() {
    // 1: the manifest expects a different verdict for one item.
    let (tmp, _) = corpus_copy();
    let mpath = tmp.path().join("manifest.tsv");
    let text = std::fs::read_to_string(&mpath).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let edited_path = {
        let f: Vec<&str> = lines[1].split('\t').collect();
        assert_eq!(&f[3..], ["valid", "-"], "first item is valid");
        let p = f[0].to_string();
        lines[1] = format!("{}\t{}\t{}\tinvalid\tEKEYREJECTED", f[0], f[1], f[2]);
        p
    };
    std::fs::write(&mpath, lines.join("\n") + "\n").unwrap();
    let j = tmp.path().join("r.json");
    let base = [
        "run",
        "--passes",
        "cold",
        "--quiet",
        "--calibration-ms",
        "5",
    ];
    let mut args = base.to_vec();
    args.extend([
        "--corpus",
        tmp.path().to_str().unwrap(),
        "--json",
        j.to_str().unwrap(),
        "--results-dir",
        tmp.path().to_str().unwrap(),
    ]);
    let out = run_cli(&args);
    assert_eq!(out.code(), 1, "one manifest disagreement exits 1: {out:?}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&j).unwrap()).unwrap();
    let mm = json["manifest"]["mismatches"].as_array().unwrap();
    assert_eq!(mm.len(), 1, "{mm:?}");
    assert!(mm[0].as_str().unwrap().contains(&edited_path), "{mm:?}");

    // 1 as well when an item listed in the manifest has disappeared (EIO, not a crash).
    let (tmp2, manifest) = corpus_copy();
    let gone = manifest.iter().find(|e| e.kind == ItemKind::Ima).unwrap();
    std::fs::remove_file(tmp2.path().join(&gone.path)).unwrap();
    let j2 = tmp2.path().join("r.json");
    let mut args = base.to_vec();
    args.extend([
        "--corpus",
        tmp2.path().to_str().unwrap(),
        "--json",
        j2.to_str().unwrap(),
        "--results-dir",
        tmp2.path().to_str().unwrap(),
    ]);
    let out = run_cli(&args);
    assert_eq!(out.code(), 1, "a missing item is a disagreement: {out:?}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&j2).unwrap()).unwrap();
    assert_eq!(json["passes"][0]["verdicts"]["invalid:EIO"], 1);
    let mm = json["manifest"]["mismatches"].as_array().unwrap();
    assert_eq!(mm.len(), 1, "{mm:?}");
    assert!(mm[0].as_str().unwrap().contains("EIO"), "{mm:?}");

    // 1 as well when the link-time phase disagrees with keyring.expected.
    let (tmp3, _) = corpus_copy();
    let epath = tmp3.path().join("keyring.expected");
    let expected = std::fs::read_to_string(&epath).unwrap();
    assert!(expected.starts_with("ok\n"));
    std::fs::write(&epath, expected.replacen("ok\n", "EKEYREJECTED\n", 1)).unwrap();
    let j3 = tmp3.path().join("r.json");
    let mut args = base.to_vec();
    args.extend([
        "--corpus",
        tmp3.path().to_str().unwrap(),
        "--json",
        j3.to_str().unwrap(),
        "--results-dir",
        tmp3.path().to_str().unwrap(),
    ]);
    let out = run_cli(&args);
    assert_eq!(
        out.code(),
        1,
        "an unexpected keyring outcome exits 1: {out:?}"
    );
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&j3).unwrap()).unwrap();
    assert_eq!(json["manifest"]["mismatches"].as_array().unwrap().len(), 0);
    assert_eq!(
        json["link"]["unexpected"].as_array().unwrap().len(),
        1,
        "{:#}",
        json["link"]
    );

    // 2: the corpus directory does not exist.
    let missing = tmp.path().join("no-such-corpus");
    let mut args = base.to_vec();
    args.extend(["--corpus", missing.to_str().unwrap()]);
    let out = run_cli(&args);
    assert_eq!(out.code(), 2, "missing corpus dir exits 2: {out:?}");
    assert!(out.stderr.contains("no-such-corpus"), "{}", out.stderr);

    // --help works for both commands.
    for cmd in ["run", "gen"] {
        let out = run_cli(&[cmd, "--help"]);
        assert_eq!(out.code(), 0, "{cmd} --help: {out:?}");
        assert!(
            out.stdout.contains("Usage"),
            "{cmd} --help:\n{}",
            out.stdout
        );
    }
    let out = run_cli(&["run", "--help"]);
    for opt in [
        "--corpus",
        "--passes",
        "--json",
        "--csv",
        "--markdown",
        "--calibration-ms",
    ] {
        assert!(out.stdout.contains(opt), "run --help lacks {opt}");
    }
    let out = run_cli(&["gen", "--help"]);
    for opt in ["--spec", "--out", "--seed", "--quiet"] {
        assert!(out.stdout.contains(opt), "gen --help lacks {opt}");
    }
}

/// The signature may come from `security.ima` instead of a `.sig` sidecar. An xattr longer
/// than 1 KiB (an RSA-8192 signature is 1024 bytes + 9 header bytes) is still a signature:
/// the kernel reads xattrs of any size (vfs_getxattr_alloc), so the file is not unsigned.
#[test]
fn signatures_from_security_ima_of_any_size_are_read() {
    let (dir, _) = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (src, real_sig) = ima_item_and_signature();

    // Control: the real signature as an xattr (no sidecar) verifies.
    let ok = t.join("xattr-ok.bin");
    if !copy_labelled(&src.path, &ok, &real_sig) {
        return;
    }
    // An RSA-8192-sized signature with a real keyid: the header is consistent, the
    // signature does not verify.
    let big = t.join("xattr-big.bin");
    std::fs::copy(&src.path, &big).unwrap();
    let n = 1024usize;
    let mut value = real_sig[..7].to_vec();
    value.extend_from_slice(&(n as u16).to_be_bytes());
    value.extend(std::iter::repeat_n(0x5au8, n));
    assert!(set_security_ima(&big, &value).is_ok());

    let items = vec![Item::from_path(ok.clone()), Item::from_path(big.clone())];
    let engine = engine_for(dir, true);
    let r = engine.pass(&items, &pool(2));
    let v = r.outcomes[0].verdict;
    assert_eq!(
        v.class,
        VerdictClass::Valid,
        "{}: signature in security.ima ({})",
        ok.display(),
        v.reason
    );
    let v = r.outcomes[1].verdict;
    assert_eq!(
        v.class,
        VerdictClass::Invalid,
        "{}: a {}-byte security.ima signature was treated as {} {} ({})",
        big.display(),
        value.len(),
        v.class.name(),
        errno_name(v.errno),
        v.reason
    );
}

/// `security.ima` is read through the open descriptor into a reused buffer, growing it for
/// values larger than its first size (2 KiB): whatever the size, the verdict is the one the
/// same bytes give as a `.sig` sidecar, in every cache mode.
#[test]
fn security_ima_and_sidecar_give_the_same_verdict_at_any_size() {
    let (dir, _) = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (src, real_sig) = ima_item_and_signature();
    let probe = t.join("probe.bin");
    if !copy_labelled(&src.path, &probe, &real_sig) {
        return;
    }
    let mut values = vec![("real", real_sig.clone())];
    for n in [1024usize, 2100, 3000] {
        let mut v = real_sig[..7].to_vec();
        v.extend_from_slice(&(n as u16).to_be_bytes());
        v.extend(std::iter::repeat_n(0x5au8, n));
        values.push(("long", v));
    }
    let mut xattr_items = Vec::new();
    let mut sidecar_items = Vec::new();
    for (k, (what, v)) in values.iter().enumerate() {
        let x = t.join(format!("x{k}-{what}.bin"));
        std::fs::copy(&src.path, &x).unwrap();
        assert!(set_security_ima(&x, v).is_ok(), "{} bytes", v.len());
        xattr_items.push(Item::from_path(x));
        let s = t.join(format!("s{k}-{what}.bin"));
        std::fs::copy(&src.path, &s).unwrap();
        std::fs::write(format!("{}.sig", s.display()), v).unwrap();
        sidecar_items.push(Item::from_path(s));
    }
    for policy in [CachePolicy::Bypass, CachePolicy::Use] {
        let engine = engine_for(dir, true);
        let p = pool(2);
        let x = engine.begin_pass(policy).run(&xattr_items, &p);
        let s = engine.begin_pass(policy).run(&sidecar_items, &p);
        for (k, (a, b)) in x.outcomes.iter().zip(&s.outcomes).enumerate() {
            assert_eq!(a.verdict.ima_source, Some(ImaSource::Xattr));
            assert_eq!(b.verdict.ima_source, Some(ImaSource::Sidecar));
            assert_eq!(
                a.verdict.with_source(None),
                b.verdict.with_source(None),
                "{policy:?}: {}-byte value: security.ima vs .sig",
                values[k].1.len()
            );
        }
        assert_eq!(x.outcomes[0].verdict.class, VerdictClass::Valid);
        assert!(x.outcomes[1..]
            .iter()
            .all(|o| o.verdict.class == VerdictClass::Invalid));
    }
}

// =======================================================================================
// 9. the xattr decides (--ima-source), and the cache stays honest about it
// =======================================================================================

/// The shared corpus's first IMA item and its evmctl-format signature (the `.sig` bytes).
fn ima_item_and_signature() -> (Item, Vec<u8>) {
    let src = corpus_item(ItemKind::Ima);
    let sig = std::fs::read(format!("{}.sig", src.path.display())).unwrap();
    (src, sig)
}

/// Copies `src` to `dst` and sets `label` as its `security.ima`; `false` (after a loud skip,
/// or a failure under CI=true) when this filesystem takes no `security.*` xattrs.
fn copy_labelled(src: &Path, dst: &Path, label: &[u8]) -> bool {
    std::fs::copy(src, dst).unwrap();
    match set_security_ima(dst, label) {
        Ok(()) => true,
        Err(e) => {
            skip_or_fail("cannot set security.ima here", &e.to_string());
            false
        }
    }
}

/// An engine over the corpus's keyrings reading labels from `source` under `rule`.
fn engine_with(dir: &Path, source: ImaSourceMode, rule: ImaRule, cache_size: usize) -> Engine {
    let config = EngineConfig {
        cache_size,
        ima_policy: ImaPolicy {
            rule,
            ..ImaPolicy::default()
        },
        ima_source: source,
        ..EngineConfig::default()
    };
    Engine::new(build_store(dir), config, 2)
}

/// The corpus item's real signature, and a type-4 sha256 label of `content` (`flip`: with
/// its first byte changed).
fn labels_for(content: &[u8], flip: bool) -> Vec<u8> {
    let mut d = trustbench::hash::HashAlgo::Sha256
        .digest(content)
        .unwrap()
        .as_bytes()
        .to_vec();
    if flip {
        d[0] ^= 1;
    }
    [&[4u8, 4][..], &d].concat()
}

fn remove_security_ima(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: valid NUL-terminated strings.
    let r = unsafe { libc::removexattr(c.as_ptr(), c"security.ima".as_ptr()) };
    assert_eq!(r, 0, "removexattr {}", path.display());
}

/// In auto mode the xattr decides whenever the file has one — an empty one included, and
/// then the sidecar is not consulted; `xattr` never reads sidecars, `sidecar` never reads
/// xattrs. Verdicts name their source.
#[test]
fn the_xattr_decides_in_auto_mode_and_each_source_mode_reads_only_its_source() {
    let (dir, _) = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (src, real_sig) = ima_item_and_signature();
    let content = std::fs::read(&src.path).unwrap();
    let mk = |name: &str, xattr: Option<&[u8]>, sidecar: Option<&[u8]>| {
        let p = t.join(name);
        std::fs::copy(&src.path, &p).unwrap();
        if let Some(x) = xattr {
            set_security_ima(&p, x).map(|()| p.clone())
        } else {
            Ok(p.clone())
        }
        .map(|p| {
            if let Some(s) = sidecar {
                std::fs::write(format!("{}.sig", p.display()), s).unwrap();
            }
            Item::from_path(p)
        })
    };
    let Ok(xattr_only) = mk("xattr-only.bin", Some(&real_sig), None) else {
        skip_or_fail(
            "cannot set security.ima here",
            "needs root and security xattrs",
        );
        return;
    };
    let garbage = vec![3u8, 2, 4, 0, 0, 0, 0, 0, 1, 0];
    let items = vec![
        xattr_only,
        mk("sidecar-only.bin", None, Some(&real_sig)).unwrap(),
        mk("empty-xattr.bin", Some(&[]), Some(&real_sig)).unwrap(),
        mk("xattr-beats-sidecar.bin", Some(&real_sig), Some(&garbage)).unwrap(),
        mk(
            "hash-xattr.bin",
            Some(&labels_for(&content, false)),
            Some(&real_sig),
        )
        .unwrap(),
        mk("neither.bin", None, None).unwrap(),
        mk("empty-sidecar.bin", None, Some(&[])).unwrap(),
    ];
    use ImaSource::{Sidecar as S, Xattr as X};
    use VerdictClass::{Invalid as I, Unsigned as U, Valid as V};
    // (class, source) per item, per mode.
    type PerItem = [(VerdictClass, Option<ImaSource>); 7];
    let want: [(ImaSourceMode, PerItem); 3] = [
        (
            ImaSourceMode::Auto,
            [
                (V, Some(X)),
                (V, Some(S)),
                (U, Some(X)),
                (V, Some(X)),
                (I, Some(X)),
                (U, None),
                (U, Some(S)),
            ],
        ),
        (
            ImaSourceMode::Xattr,
            [
                (V, Some(X)),
                (U, None),
                (U, Some(X)),
                (V, Some(X)),
                (I, Some(X)),
                (U, None),
                (U, None),
            ],
        ),
        (
            ImaSourceMode::Sidecar,
            [
                (U, None),
                (V, Some(S)),
                (V, Some(S)),
                (I, Some(S)),
                (V, Some(S)),
                (U, None),
                (U, Some(S)),
            ],
        ),
    ];
    for (mode, expect) in want {
        for policy in [CachePolicy::Bypass, CachePolicy::Use] {
            let engine = engine_with(dir, mode, ImaRule::Imasig, 1024);
            // Twice: the second pass (with the cache) is served by lookups.
            for round in 0..2 {
                let r = engine.begin_pass(policy).run(&items, &pool(2));
                for ((it, o), (class, source)) in items.iter().zip(&r.outcomes).zip(expect) {
                    let v = o.verdict;
                    assert_eq!(
                        (v.class, v.ima_source),
                        (class, source),
                        "{mode:?} {policy:?} round {round}: {}: {} {} ({})",
                        it.path.display(),
                        v.class.name(),
                        errno_name(v.errno),
                        v.reason
                    );
                    if round == 1 && policy == CachePolicy::Use {
                        assert!(
                            o.cache_hit,
                            "{mode:?}: {}: probe and open keys differ",
                            it.path.display()
                        );
                    }
                }
            }
        }
    }
    // The empty xattr is "no label", not a missing file; so is the empty sidecar.
    let engine = engine_with(dir, ImaSourceMode::Auto, ImaRule::Imasig, 0);
    let r = engine.pass(&items, &pool(1));
    assert!(r.outcomes[2]
        .verdict
        .reason
        .contains("security.ima is empty"));
    assert!(r.outcomes[6]
        .verdict
        .reason
        .contains(".sig sidecar is empty"));
    assert!(!r.outcomes[6].verdict.reason.contains("no .sig"));
    assert_eq!(r.outcomes[4].verdict.errno, Some(Errno::EINVAL));
    assert!(r.outcomes[4]
        .verdict
        .reason
        .starts_with("IMA-signature-required"));
}

/// When the xattr decides, the sidecar is not opened: a FIFO (or a directory) there does
/// not block and does not matter, in every cache mode; under `--ima-source sidecar` it is
/// the sidecar's I/O failure.
#[test]
fn a_sidecar_beside_a_deciding_xattr_is_never_opened() {
    let (dir, _) = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (src, real_sig) = ima_item_and_signature();
    let fifo = t.join("fifo-sidecar.bin");
    if !copy_labelled(&src.path, &fifo, &real_sig) {
        return;
    }
    mkfifo(&t.join("fifo-sidecar.bin.sig"));
    let dirsig = t.join("dir-sidecar.bin");
    std::fs::copy(&src.path, &dirsig).unwrap();
    set_security_ima(&dirsig, &[]).unwrap();
    std::fs::create_dir(t.join("dir-sidecar.bin.sig")).unwrap();
    let items = vec![Item::from_path(fifo), Item::from_path(dirsig)];
    for mode in [ImaSourceMode::Auto, ImaSourceMode::Xattr] {
        for policy in [CachePolicy::Bypass, CachePolicy::Use, CachePolicy::Use] {
            let engine = engine_with(dir, mode, ImaRule::Imasig, 64);
            let r = engine.begin_pass(policy).run(&items, &pool(2));
            assert_eq!(r.outcomes[0].verdict.class, VerdictClass::Valid, "{mode:?}");
            assert_eq!(
                r.outcomes[1].verdict.class,
                VerdictClass::Unsigned,
                "{mode:?}"
            );
            assert!(r.outcomes.iter().all(|o| o.io.is_none()), "{mode:?}");
        }
    }
    let engine = engine_with(dir, ImaSourceMode::Sidecar, ImaRule::Imasig, 0);
    let r = engine.pass(&items, &pool(2));
    for o in &r.outcomes {
        assert_eq!(o.verdict.errno, Some(Errno::EIO));
        assert_eq!(o.io.map(|f| f.file), Some(Which::Sidecar));
    }
}

/// setxattr and removexattr change the item's ctime, which is in the cache key: a warm pass
/// after either re-judges the item, in auto mode (source switches between xattr and
/// sidecar) and under the hash rule (the hash label becomes valid, then invalid).
#[test]
fn changing_security_ima_between_passes_is_seen_through_the_cache() {
    let (dir, _) = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (src, real_sig) = ima_item_and_signature();
    let content = std::fs::read(&src.path).unwrap();
    let p = t.join("relabelled.bin");
    std::fs::copy(&src.path, &p).unwrap();
    std::fs::write(format!("{}.sig", p.display()), &real_sig).unwrap();
    let items = vec![Item::from_path(p.clone())];
    let engine = engine_with(dir, ImaSourceMode::Auto, ImaRule::Hash, 1024);
    let pass = |what: &str| {
        let r = engine.pass(&items, &pool(1));
        let o = r.outcomes[0];
        println!("{what}: {} ({})", o.verdict.class.name(), o.verdict.reason);
        o
    };
    let o = pass("sidecar");
    assert_eq!(
        (o.verdict.class, o.verdict.ima_source),
        (VerdictClass::Valid, Some(ImaSource::Sidecar))
    );
    let o = pass("sidecar again");
    assert!(o.cache_hit);
    if let Err(e) = set_security_ima(&p, &labels_for(&content, true)) {
        skip_or_fail("cannot set security.ima here", &e.to_string());
        return;
    }
    let o = pass("bad hash xattr");
    assert!(!o.cache_hit, "setxattr moved the ctime");
    assert_eq!(
        (o.verdict.errno, o.verdict.ima_source),
        (Some(Errno::EKEYREJECTED), Some(ImaSource::Xattr))
    );
    set_security_ima(&p, &labels_for(&content, false)).unwrap();
    let o = pass("good hash xattr");
    assert!(!o.cache_hit);
    assert_eq!(o.verdict.class, VerdictClass::Valid);
    assert_eq!(o.verdict.signer, None, "a hash label has no signer");
    let o = pass("good hash xattr again");
    assert!(o.cache_hit);
    remove_security_ima(&p);
    let o = pass("xattr removed");
    assert!(!o.cache_hit);
    assert_eq!(o.verdict.ima_source, Some(ImaSource::Sidecar));
    assert!(o.verdict.signer.is_some());
}

/// A directory replaced between two passes (renamed away, a new one made under its name) is
/// read afresh: the second pass must not open the old directory's files through a handle
/// kept from the first. Here the new directory lacks the file, so the item is an I/O
/// failure, never the old file's verdict.
#[test]
fn a_directory_replaced_between_passes_is_looked_up_again() {
    let (dir, _) = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    std::fs::create_dir(&d).unwrap();
    let src = corpus_item(ItemKind::Ima);
    std::fs::copy(&src.path, d.join("x.bin")).unwrap();
    let items = vec![Item::from_path(d.join("x.bin"))];
    let engine = engine_with(dir, ImaSourceMode::Auto, ImaRule::Imasig, 0);
    let pool = pool(1);
    let first = engine.pass(&items, &pool);
    assert!(first.outcomes[0].io.is_none(), "{:?}", first.outcomes[0]);
    std::fs::rename(&d, tmp.path().join("d.old")).unwrap();
    std::fs::create_dir(&d).unwrap();
    let second = engine.pass(&items, &pool);
    let o = &second.outcomes[0];
    assert_eq!(o.verdict.errno, Some(Errno::EIO), "{o:?}");
    assert_eq!(o.io.map(|f| f.file), Some(Which::Item), "{o:?}");
}
