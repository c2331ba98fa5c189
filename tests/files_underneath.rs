//! Files that change underneath a run (issue 12, point 4): truncated, extended again,
//! deleted and recreated while parallel passes read them — mapped (`--mmap`) and read.
//! Every item gets one verdict; a file that shrank while it was read or mapped gets the
//! short-read verdict (EIO for a module, EINVAL for an IMA file); nothing crashes (a
//! mapped file that shrinks would raise SIGBUS without the engine's guard).
//!
//! The storm: one thread truncates every file to one page and extends it again (a sparse
//! extension: no I/O, and the content is zeros again, so the hash label matches again),
//! and deletes and recreates one file, in a tight loop while the passes run. Because an
//! extended file has the same bytes as before, a mapping whose pages were replaced by
//! the guard's zero pages would hash to the *right* digest: only the fault check keeps
//! such an item from being called valid, which this test therefore exercises.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use trustbench::crypto::{self, CryptoProfile};
use trustbench::engine::{mapping, CachePolicy, Engine, EngineConfig, Item};
use trustbench::trust::{KernelConfig, Store};
use trustbench::verify::ima::{ImaPolicy, ImaRule, ImaSourceMode};
use trustbench::verify::{ItemKind, VerdictClass};
use trustbench::Errno;

/// Size of every file: large enough that hashing one takes a while (sparse: no disk).
const LEN: u64 = 32 << 20;
const FILES: usize = 8;
const MODULES: usize = 4;

/// A `security.ima`-style hash label (IMA_XATTR_DIGEST_NG, SHA-256) of `LEN` zero bytes.
fn zero_label() -> Vec<u8> {
    let zeros = vec![0u8; LEN as usize];
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &zeros);
    let mut v = vec![0x04, 4]; // type 4, HASH_ALGO_SHA256
    v.extend_from_slice(d.as_ref());
    v
}

fn sparse(p: &Path) {
    std::fs::File::create(p)
        .and_then(|f| f.set_len(LEN))
        .expect("sparse file");
}

/// IMA files with hash labels in sidecars, and unsigned modules, all `LEN` zero bytes.
fn corpus(dir: &Path) -> Vec<Item> {
    let label = zero_label();
    let mut items = Vec::new();
    for i in 0..FILES {
        let p = dir.join(format!("f{i}.bin"));
        sparse(&p);
        std::fs::File::create(dir.join(format!("f{i}.bin.sig")))
            .and_then(|mut f| f.write_all(&label))
            .expect("label");
        items.push(Item::from_path(p));
    }
    for i in 0..MODULES {
        let p = dir.join(format!("m{i}.ko"));
        sparse(&p);
        items.push(Item::from_path(p));
    }
    items
}

/// Truncates and extends every file, and deletes and recreates the first, until `stop`.
fn storm(paths: Vec<PathBuf>, stop: Arc<AtomicBool>) -> u64 {
    let mut changes = 0;
    while !stop.load(Ordering::Relaxed) {
        for p in &paths {
            if let Ok(f) = std::fs::OpenOptions::new().write(true).open(p) {
                let _ = f.set_len(4096);
                let _ = f.set_len(LEN);
                changes += 2;
            }
        }
        let _ = std::fs::remove_file(&paths[0]);
        sparse(&paths[0]);
        changes += 1;
    }
    changes
}

/// The verdicts a storm allows for an item: as if untouched, the short-read verdict, the
/// honest verdict of the file as it was when opened (opened while truncated to one page:
/// its digest is not the label's), or an I/O failure (deleted between listing and
/// opening).
fn allowed(kind: ItemKind, class: VerdictClass, errno: Option<Errno>, reason: &str) -> bool {
    let shrank = reason.contains("shrank");
    match kind {
        ItemKind::Ima => {
            class == VerdictClass::Valid
                || (errno == Some(Errno::EINVAL) && shrank)
                || (errno == Some(Errno::EKEYREJECTED) && reason.starts_with("invalid-hash"))
                || errno == Some(Errno::EIO)
        }
        // A module of zeros has no signature marker: unsigned, whatever else happens.
        ItemKind::Module => {
            class == VerdictClass::Unsigned
                || (errno == Some(Errno::EIO) && (shrank || reason.contains("cannot read")))
        }
    }
}

fn run_storm(mmap_threshold: Option<u64>) -> (usize, u64, usize, u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let items = corpus(dir.path());
    let store = Store::new(
        KernelConfig::default(),
        CryptoProfile::full(),
        crypto::default_backend(),
    );
    let engine = Engine::new(
        store,
        EngineConfig {
            cache_size: 0,
            mmap_threshold,
            ima_policy: ImaPolicy {
                rule: ImaRule::Hash,
                ..ImaPolicy::default()
            },
            ima_source: ImaSourceMode::Sidecar,
            timing: false,
        },
        2,
    );
    let pool = trustbench::engine::thread_pool(2).expect("pool");
    // Untouched, every IMA file is valid: the label and the zeros agree.
    let calm = engine.begin_pass(CachePolicy::Bypass).run(&items, &pool);
    for (it, o) in items.iter().zip(&calm.outcomes) {
        let want = match it.kind {
            ItemKind::Ima => VerdictClass::Valid,
            ItemKind::Module => VerdictClass::Unsigned,
        };
        assert_eq!(
            o.verdict.class,
            want,
            "{}: {:?}",
            it.path.display(),
            o.verdict
        );
    }

    let faults_before = mapping::faults();
    let stop = Arc::new(AtomicBool::new(false));
    let paths: Vec<PathBuf> = items.iter().map(|i| i.path.clone()).collect();
    let storm_thread = {
        let stop = stop.clone();
        std::thread::spawn(move || storm(paths, stop))
    };
    let (mut verdicts, mut shrank) = (0, 0);
    // Passes until the storm has visibly hit items being read (bounded: the storm changes
    // every file thousands of times a second, so the first pass or two is enough).
    for _ in 0..40 {
        let r = engine.begin_pass(CachePolicy::Bypass).run(&items, &pool);
        assert_eq!(r.outcomes.len(), items.len(), "one verdict per item");
        for (it, o) in items.iter().zip(&r.outcomes) {
            let v = &o.verdict;
            assert!(
                allowed(it.kind, v.class, v.errno, v.reason),
                "{}: {:?}",
                it.path.display(),
                v
            );
            verdicts += 1;
            shrank += usize::from(v.reason.contains("shrank"));
        }
        let faulted = mapping::faults() > faults_before;
        if shrank > 0 && (mmap_threshold.is_none() || faulted) {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let changes = storm_thread.join().expect("storm");
    (verdicts, changes, shrank, mapping::faults() - faults_before)
}

#[test]
fn mapped_files_truncated_mid_run_get_the_short_read_verdict_never_sigbus() {
    let (verdicts, changes, shrank, faults) = run_storm(Some(1));
    println!(
        "mapped: {verdicts} verdicts, {changes} file changes, {shrank} short-read verdicts, {faults} faults absorbed"
    );
    assert!(faults > 0, "the storm never hit a mapping being read");
    assert!(shrank > 0, "no item got the short-read verdict");
}

#[test]
fn read_files_truncated_mid_run_get_the_short_read_verdict() {
    let (verdicts, changes, shrank, _) = run_storm(None);
    println!("read: {verdicts} verdicts, {changes} file changes, {shrank} short-read verdicts");
    assert!(shrank > 0, "no item got the short-read verdict");
}
