//! The hostile corpus (issue 12): `corpora/hostile.toml` generated into a temporary
//! directory and run end to end, its keyring lines replayed against the live kernel, and a
//! keyring of a million keys sharing one 32-bit IMA keyid.
//!
//! * `hostile_corpus_runs_with_the_kernels_verdicts`: `trustbench gen` then `trustbench
//!   run` exit normally, the report's verdict counts add up to the item count, no item
//!   disagrees with the manifest (whose verdicts are the kernel's, derived per variant in
//!   src/corpus/hostile.rs), every keyring line had its expected outcome, every hostile
//!   family is there, and `verify --json` gives a reason for a few of them. It prints the
//!   verdict table (family → verdict:errno → count); see it with `--nocapture`.
//! * `hostile_keyrings_agree_with_the_live_kernel`: `keyring replay --kernel` of the
//!   corpus's keyring.script (restriction and link cycles, nesting past the search depth,
//!   oversized certificates) agrees line by line with this machine's kernel. Needs
//!   `keyctl session - true` to work: a loud skip without it, a failure under `CI=true`.
//! * `a_million_keys_sharing_one_keyid_cost_one_verification`: through the Store API, a
//!   million `.ima` keys whose SKIDs end in the same four bytes; an IMA signature with that
//!   keyid is verified with the first key the search finds and that key only (one
//!   verification, counted by a wrapping backend), and its verdict is the kernel's.
//!   `TRUSTBENCH_HOSTILE_KEYS=N` changes the count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use trustbench::corpus::bad::BadClass;
use trustbench::corpus::manifest::read_manifest;
use trustbench::crypto::{
    default_backend, Backend, CryptoProfile, KeySource, Math, MathInput, PkeyAlgo, PreparedKey,
};
use trustbench::hash::HashAlgo;
use trustbench::trust::store::{AddMode, Store};
use trustbench::trust::KernelConfig;
use trustbench::verify::ima::{self, ImaPolicy, ImaRule};
use trustbench::verify::VerdictClass;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trustbench"))
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("trustbench runs");
    assert!(
        out.status.code().is_some(),
        "killed by a signal: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Generates the hostile corpus into `dir/c`.
fn generate(dir: &Path) -> PathBuf {
    let c = dir.join("c");
    let out = run(bin()
        .arg("gen")
        .arg("--spec")
        .arg(root().join("corpora/hostile.toml"))
        .arg("--out")
        .arg(&c));
    ok(&out, "gen");
    c
}

#[test]
fn hostile_corpus_runs_with_the_kernels_verdicts() {
    let tmp = tempfile::tempdir().unwrap();
    let c = generate(tmp.path());
    let results = tmp.path().join("results");
    let out = run(bin()
        .args(["run", "--corpus"])
        .arg(&c)
        .args([
            "--repeat", "1", "--warmup", "0", "--passes", "cold", "--quiet",
        ])
        .arg("--results-dir")
        .arg(&results));
    ok(&out, "run");

    let report = std::fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a report");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let items = r["corpus"]["items"].as_u64().unwrap();
    let pass = &r["passes"][0];
    let counted: u64 = pass["verdicts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(counted, items, "verdict counts: {}", pass["verdicts"]);
    assert_eq!(r["manifest"]["checked"].as_u64(), Some(items));
    assert_eq!(
        r["manifest"]["mismatch_count"].as_u64(),
        Some(0),
        "{}",
        r["manifest"]["mismatches"]
    );
    assert_eq!(
        r["link"]["unexpected"].as_array().map(Vec::len),
        Some(0),
        "keyring lines: {}",
        r["link"]
    );
    for e in ["EDEADLK", "ELOOP", "EMSGSIZE", "EINVAL"] {
        assert!(
            r["link"]["errors"][e].as_u64().unwrap_or(0) > 0,
            "no {e} among the keyring lines: {}",
            r["link"]
        );
    }

    // Every family is there; the table of what the kernel (and so the run) said.
    let rows = read_manifest(&std::fs::read_to_string(c.join("manifest.tsv")).unwrap()).unwrap();
    assert_eq!(rows.len() as u64, items);
    let mut table: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
    for e in &rows {
        let v = match e.errno {
            None => e.verdict.name().to_string(),
            Some(x) => format!("{}:{x}", e.verdict.name()),
        };
        *table
            .entry(e.class_name())
            .or_default()
            .entry(v)
            .or_default() += 1;
    }
    let families: BTreeSet<&str> = table.keys().copied().collect();
    for f in BadClass::HOSTILE {
        assert!(families.contains(f.name()), "{} missing", f.name());
    }
    println!("\nhostile corpus: {items} items, 0 manifest mismatches");
    println!("| family | verdict:errno | items |\n|---|---|---|");
    for (family, verdicts) in &table {
        for (v, n) in verdicts {
            println!("| {family} | {v} | {n} |");
        }
    }

    // A few items through `verify --json`: the same verdict, with a reason.
    let picks = [
        ("hostile/deep-nesting-closed-0.ko", "valid", None),
        (
            "hostile/deep-nesting-unclosed-0.ko",
            "invalid",
            Some("EBADMSG"),
        ),
        (
            "hostile/huge-der-70k-cert-0.ko",
            "invalid",
            Some("EMSGSIZE"),
        ),
        ("hostile/sig-len-all-ones-0.ko", "invalid", Some("EBADMSG")),
        (
            "hostile/many-signers-bad-first-0.ko",
            "invalid",
            Some("EKEYREJECTED"),
        ),
        (
            "hostile/trailer-only-marker-0.ko",
            "unsigned",
            Some("ENODATA"),
        ),
        (
            "hostile/ima-header-hash-algo-255-0.bin",
            "invalid",
            Some("ENOPKG"),
        ),
        (
            "hostile/ima-header-largest-0.bin",
            "invalid",
            Some("ENOKEY"),
        ),
    ];
    let out = run(bin()
        .current_dir(&c)
        .args(["verify", "--keyring-setup", "keyring.script", "--json"])
        .args(picks.iter().map(|p| p.0)));
    assert_eq!(out.status.code(), Some(1), "some are not valid");
    let text = String::from_utf8(out.stdout).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), picks.len(), "{text}");
    for (rec, (path, verdict, errno)) in records.iter().zip(picks) {
        assert_eq!(rec["path"], path);
        assert_eq!(rec["verdict"], verdict, "{rec}");
        assert_eq!(rec["errno"].as_str(), errno, "{rec}");
        assert!(
            rec["reason"].as_str().is_some_and(|s| !s.is_empty()),
            "{rec}"
        );
    }
    let huge = &records[2];
    assert!(
        huge["reason"]
            .as_str()
            .is_some_and(|s| s.contains("MAX_MESSAGE")),
        "the reason names the budget: {huge}"
    );
}

#[path = "support/tools.rs"]
mod tools;
use tools::tool_works;

#[test]
fn hostile_keyrings_agree_with_the_live_kernel() {
    if !tool_works("keyctl", &["session", "-", "true"]) {
        let msg = "hostile_keyrings_agree_with_the_live_kernel: cannot run, \
                   `keyctl session - true` failed (keyutils or kernel keyrings missing)";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg} (CI=true: missing tools are a failure, not a skip)");
        }
        eprintln!("\n**********************************************************************");
        eprintln!("SKIPPED {msg}");
        eprintln!("**********************************************************************\n");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let c = generate(tmp.path());
    let out = run(bin()
        .args(["keyring", "replay", "--kernel"])
        .arg(c.join("keyring.script")));
    ok(&out, "keyring replay --kernel");
    let text = String::from_utf8_lossy(&out.stdout);
    // The hostile lines ran on both sides with the kernel's errnos.
    for (line, errno) in [
        ("restrict hr-d key_or_keyring:hr-a", "EDEADLK"),
        ("link hl-a hl-c", "EDEADLK"),
        ("link hl-a hl-a", "EDEADLK"),
        ("link hd-1 hd-0", "ELOOP"),
        ("link ht-8 ht-7", "ok"),
        ("add big70k hc certs/hostile-70k.der", "EMSGSIZE"),
        ("add big1m hc certs/hostile-1mib.der", "EINVAL"),
    ] {
        let row = text
            .lines()
            .find(|l| l.ends_with(line))
            .unwrap_or_else(|| panic!("{line} not replayed:\n{text}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&cols[1..3], &[errno, errno], "model, kernel: {row}");
    }
}

/// Counts the verifications that reach the arithmetic, and prepares each distinct public
/// key once (a million certificates of one key share one prepared key, so the test's
/// memory is the keyring's, not a million copies of the backend's key).
struct Counting {
    inner: Arc<dyn Backend>,
    calls: Arc<AtomicUsize>,
    prepared: Mutex<BTreeMap<Vec<u8>, Arc<dyn PreparedKey>>>,
}

impl std::fmt::Debug for Counting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counting")
            .field("inner", &self.inner)
            .finish()
    }
}

struct CountingKey {
    inner: Arc<dyn PreparedKey>,
    calls: Arc<AtomicUsize>,
}

impl PreparedKey for CountingKey {
    fn verify(&self, input: &MathInput<'_>) -> Math {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.verify(input)
    }

    fn rsa_public(&self, signature: &[u8], out: &mut [u8]) -> Option<()> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.rsa_public(signature, out)
    }
}

impl Backend for Counting {
    fn name(&self) -> &'static str {
        "counting"
    }

    fn library(&self) -> String {
        format!("{} (counted)", self.inner.library())
    }

    fn supports(&self, algo: PkeyAlgo, bits: usize, hash: HashAlgo) -> bool {
        self.inner.supports(algo, bits, hash)
    }

    fn prepare(&self, key: &KeySource<'_>) -> Option<Box<dyn PreparedKey>> {
        let mut m = self.prepared.lock().unwrap();
        let inner = match m.get(key.key) {
            Some(k) => k.clone(),
            None => {
                let k: Arc<dyn PreparedKey> = Arc::from(self.inner.prepare(key)?);
                m.insert(key.key.to_vec(), k.clone());
                k
            }
        };
        Some(Box::new(CountingKey {
            inner,
            calls: self.calls.clone(),
        }))
    }
}

/// `der` with its SKID (`skid`, found once in it) replaced by `new` (same length): the
/// certificate's signature no longer covers it, which a bypass load (a compiled-in
/// certificate, not self-signed) does not check.
fn with_skid(der: &[u8], at: usize, new: &[u8]) -> Vec<u8> {
    let mut v = der.to_vec();
    v[at..at + new.len()].copy_from_slice(new);
    v
}

#[test]
fn a_million_keys_sharing_one_keyid_cost_one_verification() {
    let n: usize = std::env::var("TRUSTBENCH_HOSTILE_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let fixtures = root().join("corpora/fixtures");
    let read = |p: PathBuf| std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let signer = read(fixtures.join("signer-rsa2048.der"));
    let content = read(fixtures.join("ima-rsa2048-sha256.bin"));
    let sig = read(fixtures.join("ima-rsa2048-sha256.bin.sig"));
    // Another RSA-2048 key (a leaf under another root), not the signer's.
    let other = read(root().join("corpora/differential/leaf-good.der"));
    let tail = [0xef, 0x9d, 0x07, 0x7c];
    assert_eq!(&sig[3..7], &tail, "the signature's keyid");

    let policy = ImaPolicy {
        check_blacklist: false,
        rule: ImaRule::Imasig,
    };
    // Every key is the signer's own: whichever the search finds first verifies. Or every
    // key is another RSA-2048 key: the first found fails and that is final (the kernel
    // tries no second candidate), with that key's errno, which a keyring holding only that
    // one key gives too (here EINVAL: the signature, as a number, is not below the other
    // modulus, the RSAVP1 range check of crypto/rsa.c).
    let single = {
        let mut s = Store::new(
            KernelConfig::default(),
            CryptoProfile::full(),
            default_backend(),
        );
        let ring = s.system().ima;
        s.add_cert(ring, &other, AddMode::Bypass).unwrap();
        let mut v = sig.clone();
        let probe = s.parse_cert(&other).unwrap();
        let skid = probe.key.ids.skid.clone().unwrap();
        v[3..7].copy_from_slice(&skid[16..]);
        let r = ima::verify_ima(&s, &content, Some(&v), policy);
        (r.class, r.errno)
    };
    assert_eq!(
        single.0,
        VerdictClass::Invalid,
        "another key does not verify"
    );
    for (case, template, want) in [
        ("signer's key", &signer, (VerdictClass::Valid, None)),
        ("other key", &other, single),
    ] {
        let calls = Arc::new(AtomicUsize::new(0));
        let backend = Arc::new(Counting {
            inner: default_backend(),
            calls: calls.clone(),
            prepared: Mutex::new(BTreeMap::new()),
        });
        let mut store = Store::new(KernelConfig::default(), CryptoProfile::full(), backend);
        let ima_ring = store.system().ima;
        let probe = store.parse_cert(template).unwrap();
        let skid = probe.key.ids.skid.clone().expect("a SKID");
        assert_eq!(skid.len(), 20);
        let at = template
            .windows(20)
            .position(|w| w == &*skid)
            .expect("the SKID's bytes");
        for k in 0..n {
            let mut id = [0u8; 20];
            id[..8].copy_from_slice(&(k as u64).to_be_bytes());
            id[8..16].copy_from_slice(b"hostile!");
            id[16..].copy_from_slice(&tail);
            let der = with_skid(template, at, &id);
            store
                .add_cert(ima_ring, &der, AddMode::Bypass)
                .unwrap_or_else(|e| panic!("{case}: key {k}: {e}"));
        }
        assert_eq!(
            store.keyring(ima_ring).unwrap().len(),
            n,
            "{case}: every key is linked (distinct descriptions)"
        );
        calls.store(0, Ordering::Relaxed);
        let v = ima::verify_ima(&store, &content, Some(&sig), policy);
        assert_eq!((v.class, v.errno), want, "{case}: {}", v.reason);
        assert_eq!(
            calls.load(Ordering::Relaxed),
            1,
            "{case}: one verification with the first key found, not one per candidate"
        );
        println!(
            "{case}: {n} keys with keyid ef9d077c, verdict {:?} {:?}, 1 verification",
            v.class, v.errno
        );
    }
}
