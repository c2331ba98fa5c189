//! The corpus generator through the CLI (`trustbench gen`, checked with `trustbench run`,
//! `trustbench verify`, openssl and evmctl):
//!
//! * determinism: same spec + seed → byte-identical tree (RSA keys); another seed → other
//!   bytes; ECDSA signers → same verdicts although signatures are randomised;
//! * every bad class alone (`bad.percent = 100`) and all of them mixed agree with `run`,
//!   with the errno the kernel gives for that class;
//! * generated signatures are accepted by openssl (module PKCS#7) and evmctl (IMA), RSA ones
//!   are byte-identical to what sign-file / `evmctl ima_sign` write, and a second
//!   verification path (`verify --keyring-setup`) agrees with the manifest;
//! * spec errors exit 2 naming the problem; degenerate specs never panic;
//! * `files.xattr` corpora verify from `security.ima` alone; regenerating into an existing
//!   directory leaves nothing stale; `spec.toml` reproduces a `--seed` override corpus.
//!
//! Keys are RSA-2048 / P-256 / P-384 so key generation stays fast; corpora have tens to a
//! few hundred items.

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The 18 class names of `BadClass::name` (src/corpus/bad.rs), with the verdict-table key
/// the kernel gives a module and an IMA file of that class under the default imasig rule
/// (`None`: the class does not apply to that kind, so those items are generated good and
/// are `valid`).
const CLASSES: [(&str, Option<&str>, Option<&str>); 18] = [
    (
        "tampered",
        Some("invalid:EKEYREJECTED"),
        Some("invalid:EKEYREJECTED"),
    ),
    (
        "unknown-signer",
        Some("invalid:ENOKEY"),
        Some("invalid:ENOKEY"),
    ),
    (
        "revoked-signer",
        Some("invalid:EKEYREVOKED"),
        Some("invalid:EKEYREVOKED"),
    ),
    // The certificate's TBS hash is blacklisted, so it never made it into a keyring.
    (
        "blacklisted-cert",
        Some("invalid:ENOKEY"),
        Some("invalid:ENOKEY"),
    ),
    ("blacklisted-hash", None, Some("invalid:EPERM")),
    // Modules: pkcs7_validate_trust_one turns any verify failure into EKEYREJECTED.
    // IMA with an RSA key: the DigestInfo names another hash, EBADMSG.
    (
        "wrong-hash-algo",
        Some("invalid:EKEYREJECTED"),
        Some("invalid:EBADMSG"),
    ),
    ("truncated-trailer", Some("unsigned:ENODATA"), None),
    ("bad-magic", Some("unsigned:ENODATA"), None),
    ("oversized-sig-len", Some("invalid:EBADMSG"), None),
    ("malformed-pkcs7", Some("invalid:EBADMSG"), None),
    ("malformed-ima-header", None, Some("invalid:EBADMSG")),
    (
        "missing-signature",
        Some("unsigned:ENODATA"),
        Some("unsigned:ENODATA"),
    ),
    ("signed-attributes", Some("invalid:EKEYREJECTED"), None),
    // First key with the 32-bit keyid is RSA-3072; the RSA-2048 signature has the wrong
    // length for it.
    ("keyid-collision", None, Some("invalid:EINVAL")),
    // Hash labels (type 4 / type 1), not signatures: xattr_verify fails them with
    // "IMA-signature-required" and rc -EINVAL under imasig, without comparing.
    ("ima-hash", None, Some("invalid:EINVAL")),
    ("ima-hash-sha1", None, Some("invalid:EINVAL")),
    ("ima-hash-mismatch", None, Some("invalid:EINVAL")),
    ("ima-hash-short", None, Some("invalid:EINVAL")),
];

/// The IMA verdict-table key of the classes whose verdict differs under the hash rule
/// (`run --ima-accept-hash`): matching hashes appraise, a different one is "invalid-hash"
/// (EKEYREJECTED), a short one "invalid-hash" with the kernel's -EINVAL; the blacklist is
/// not consulted without imasig, so a blacklisted file's good signature stands.
const UNDER_HASH_RULE: [(&str, &str); 5] = [
    ("ima-hash", "valid"),
    ("ima-hash-sha1", "valid"),
    ("ima-hash-mismatch", "invalid:EKEYREJECTED"),
    ("ima-hash-short", "invalid:EINVAL"),
    ("blacklisted-hash", "valid"),
];

/// Key blocks. Key generation dominates generation time and depends only on the seed and
/// the key's label, so the seeds below were picked for quick RSA prime searches.
///
/// All RSA-2048: a corpus that is byte-for-byte deterministic.
const RSA_KEYS: &str = r#"root = "rsa2048"
secondary_ca = "rsa2048"
machine_ca = "rsa2048"
module_signers = ["rsa2048"]
ima_signers = ["rsa2048", "rsa2048"]
extra_key_algo = "rsa2048"
extra_key_pool = 1"#;
/// Cheapest hierarchy: P-256 everywhere except an RSA IMA signer (so IMA wrong-hash-algo
/// items take the RSA DigestInfo path).
const FAST_KEYS: &str = r#"root = "p256"
secondary_ca = "p256"
machine_ca = "p256"
module_signers = ["p256"]
ima_signers = ["rsa2048"]
extra_key_algo = "p256"
extra_key_pool = 1"#;
/// ECDSA (P-256 / P-384) signers next to RSA ones, and extra `.ima` certificates.
const EC_KEYS: &str = r#"root = "rsa2048"
secondary_ca = "p256"
machine_ca = "rsa2048"
module_signers = ["rsa2048", "p256", "p384"]
ima_signers = ["rsa2048", "p256", "p384"]
ima_extra_certs = 3
extra_key_pool = 1
extra_key_algo = "p256""#;

fn spec(name: &str, seed: u64, keys: &str, counts: (usize, usize), bad: &str) -> String {
    let (modules, files) = counts;
    format!(
        r#"name = "{name}"
seed = {seed}

[keys]
{keys}

[modules]
count = {modules}
sizes = "fixed:3000"
hashes = {{ sha256 = 2, sha384 = 1, sha512 = 1 }}
skid_percent = 30

[files]
count = {files}
sizes = "fixed:1500"
hashes = {{ sha256 = 2, sha384 = 1, sha512 = 1 }}

[bad]
{bad}
"#
    )
}

fn write_spec(dir: &Path, file: &str, text: &str) -> PathBuf {
    let p = dir.join(file);
    std::fs::write(&p, text).unwrap();
    p
}

/// `trustbench gen --spec SPEC --out OUT --quiet [--seed N]`, which must succeed.
fn gen(spec: &Path, out: &Path, seed: Option<u64>) {
    let mut cmd = trustbench();
    cmd.arg("gen")
        .arg("--spec")
        .arg(spec)
        .arg("--out")
        .arg(out)
        .arg("--quiet");
    if let Some(s) = seed {
        cmd.arg("--seed").arg(s.to_string());
    }
    let stdout = run_ok(&mut cmd);
    assert_eq!(
        stdout.trim(),
        out.display().to_string(),
        "gen prints the corpus dir"
    );
    assert!(out.join("COMPLETE").exists(), "COMPLETE written last");
}

/// `trustbench run --corpus DIR --passes cold --quiet --calibration-ms 5 --json J`, saving
/// its report beside the corpus rather than under the current directory.
fn run_corpus(dir: &Path) -> (Output, Value) {
    run_corpus_with(dir, &[])
}

/// [`run_corpus`] with more options (`--ima-accept-hash`, `--ima-source …`).
fn run_corpus_with(dir: &Path, extra: &[&str]) -> (Output, Value) {
    let j = dir.with_extension(format!("report{}.json", extra.len()));
    let out = run_output(
        trustbench()
            .args(["run", "--corpus"])
            .arg(dir)
            .args(extra)
            .args([
                "--passes",
                "cold",
                "--quiet",
                "--calibration-ms",
                "5",
                "--json",
            ])
            .arg(&j)
            .arg("--results-dir")
            .arg(dir.with_extension("runs")),
    );
    let text = std::fs::read_to_string(&j)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); run output: {out:?}"));
    (out, serde_json::from_str(&text).expect("JSON report"))
}

/// Every file under `dir`, relative path → bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Paths whose bytes differ between two trees (or exist in one only).
fn tree_diff(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// Manifest rows: path → (kind, class, verdict, errno).
fn manifest(dir: &Path) -> BTreeMap<String, [String; 4]> {
    let text = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("path\tkind\tclass\tverdict\terrno"));
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "manifest row: {l}");
            (f[0].to_string(), [f[1], f[2], f[3], f[4]].map(String::from))
        })
        .collect()
}

fn verdict_table(report: &Value) -> BTreeMap<String, u64> {
    report["passes"][0]["verdicts"]
        .as_object()
        .expect("cold pass verdict table")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

fn assert_run_agrees(dir: &Path, what: &str) -> Value {
    let (out, report) = run_corpus(dir);
    let mm = &report["manifest"]["mismatches"];
    assert_eq!(
        out.code(),
        0,
        "{what}: run disagrees with the manifest: {mm:#}\nlink: {:#}\n{out:?}",
        report["link"]["unexpected"]
    );
    assert_eq!(mm.as_array().map(Vec::len), Some(0), "{what}: {mm:#}");
    assert_eq!(
        report["link"]["unexpected"].as_array().map(Vec::len),
        Some(0),
        "{what}: keyring.script outcomes differ from keyring.expected"
    );
    report
}

/// Shared corpus with ECDSA signers and every bad class mixed in (30%): used by the mixed
/// agreement test and the interop tests.
fn mixed_corpus() -> &'static PathBuf {
    static C: OnceLock<PathBuf> = OnceLock::new();
    C.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("generator-mixed");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let spec = write_spec(
            &root,
            "mixed.toml",
            &spec(
                "mixed",
                6,
                EC_KEYS,
                (160, 160),
                "percent = 30\nclasses = []",
            ),
        );
        let dir = root.join("corpus");
        gen(&spec, &dir, None);
        dir
    })
}

/// Shared all-RSA corpus (deterministic bytes), 30% bad items: the determinism test's
/// reference and the source of the sign-file / evmctl byte comparisons.
fn rsa_corpus() -> &'static PathBuf {
    static C: OnceLock<PathBuf> = OnceLock::new();
    C.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("generator-rsa");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let s = write_spec(
            &root,
            "rsa.toml",
            &spec("det", 6, RSA_KEYS, (30, 30), "percent = 30"),
        );
        let dir = root.join("corpus");
        gen(&s, &dir, None);
        dir
    })
}

// =======================================================================================
// 1. determinism
// =======================================================================================

#[test]
fn same_spec_and_seed_give_byte_identical_trees_and_other_seeds_differ() {
    let a = rsa_corpus();
    let spec_a = a.parent().unwrap().join("rsa.toml");
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let counts = (30, 30);

    let b = t.join("b");
    gen(&spec_a, &b, None);
    let (ta, tb) = (tree(a), tree(&b));
    assert!(ta.len() > 60 + 15, "a whole corpus: {} files", ta.len());
    assert_eq!(tree_diff(&ta, &tb), Vec::<String>::new(), "same spec twice");

    // `--seed 22` over a spec saying 6 gives exactly the corpus of a spec saying 22
    // (spec.toml, the verbatim spec text, aside): the override is honoured and the result
    // is as reproducible as the spec's own seed.
    let c = t.join("c");
    gen(&spec_a, &c, Some(22));
    let spec_e = write_spec(
        t,
        "rsa22.toml",
        &spec("det", 22, RSA_KEYS, counts, "percent = 30"),
    );
    let e = t.join("e");
    gen(&spec_e, &e, None);
    let tc = tree(&c);
    let diff = tree_diff(&tc, &tree(&e));
    assert!(
        diff.iter().all(|d| d == "spec.toml"),
        "--seed 22 vs seed = 22 in the spec: {diff:?}"
    );

    // Another seed: other keys, certificates, contents and signatures.
    let differ = tree_diff(&ta, &tc);
    for must in [
        "certs/root.der",
        "certs/imasign0.der",
        "certs/modsign0-root.der",
        "modules/m000000.ko",
        "files/f000000.bin",
        "files/f000000.bin.sig",
        "keyring.script",
    ] {
        assert!(
            differ.iter().any(|d| d == must),
            "{must} is the same under another seed"
        );
    }
}

/// The corpus records the spec it was made from (`spec.toml`); with a `--seed` override
/// that record must still reproduce the corpus.
#[test]
fn spec_toml_of_a_seed_override_corpus_reproduces_it() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let s = write_spec(
        t,
        "fast.toml",
        &spec("prov", 15, RSA_KEYS, (4, 4), "percent = 0"),
    );
    let a = t.join("a");
    gen(&s, &a, Some(6));
    // Regenerate from what the corpus says it was made from.
    let recorded = t.join("recorded.toml");
    std::fs::copy(a.join("spec.toml"), &recorded).unwrap();
    let b = t.join("b");
    gen(&recorded, &b, None);
    // spec.toml itself differs by design: it keeps the text it was made from as comments.
    let mut diff = tree_diff(&tree(&a), &tree(&b));
    diff.retain(|d| d != "spec.toml");
    assert!(
        diff.is_empty(),
        "regenerating from {}/spec.toml gives another corpus: the --seed override is not \
         recorded (spec.toml says seed = 15, the corpus was made with seed 6); differing \
         files: {diff:?}",
        a.display()
    );
}

#[test]
fn ecdsa_signers_give_identical_verdicts_across_runs() {
    // The mixed corpus again, from its own spec.
    let a = mixed_corpus();
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path().join("b");
    gen(&a.parent().unwrap().join("mixed.toml"), &b, None);
    let (ta, tb) = (tree(a), tree(&b));
    assert_eq!(
        ta.keys().collect::<Vec<_>>(),
        tb.keys().collect::<Vec<_>>(),
        "same file set"
    );
    for f in [
        "manifest.tsv",
        "keyring.script",
        "keyring.expected",
        "spec.toml",
    ] {
        assert_eq!(ta.get(f), tb.get(f), "{f} differs between two runs");
    }
    // RSA signatures (certificates signed by the RSA root, RSA-signed items) are
    // deterministic; ECDSA ones are randomised, so those items may differ in bytes only.
    for f in [
        "certs/root.der",
        "certs/imasign1.der",
        "certs/modsign2-root.der",
    ] {
        assert_eq!(
            ta.get(f),
            tb.get(f),
            "{f}: signed by the RSA root, must not differ"
        );
    }
    let differ = tree_diff(&ta, &tb);
    assert!(
        !differ.is_empty(),
        "ECDSA signatures are randomised; identical trees are unexpected"
    );
    for d in &differ {
        assert!(
            d.starts_with("modules/") || d.starts_with("files/") || d.starts_with("certs/"),
            "{d} differs"
        );
    }
    let ra = assert_run_agrees(a, "ecdsa corpus a");
    let rb = assert_run_agrees(&b, "ecdsa corpus b");
    assert_eq!(verdict_table(&ra), verdict_table(&rb));
}

// =======================================================================================
// 2. every bad class
// =======================================================================================

/// Generates and runs one single-class corpus; returns the problems found.
fn check_class(
    t: &Path,
    class: &str,
    mod_expect: Option<&str>,
    file_expect: Option<&str>,
) -> Vec<String> {
    let (n_mod, n_file) = (12u64, 12u64);
    let mut failures = Vec::new();
    let s = write_spec(
        t,
        &format!("{class}.toml"),
        &spec(
            class,
            15,
            FAST_KEYS,
            (n_mod as usize, n_file as usize),
            &format!("percent = 100\nclasses = [\"{class}\"]"),
        ),
    );
    let dir = t.join(class);
    gen(&s, &dir, None);

    // The manifest names the class for exactly the items it applies to.
    for (path, [kind, c, ..]) in &manifest(&dir) {
        let applies = if kind == "module" {
            mod_expect.is_some()
        } else {
            file_expect.is_some()
        };
        let want = if applies { class } else { "good" };
        if c != want {
            failures.push(format!(
                "{class}: {path} ({kind}) has class {c}, want {want}"
            ));
        }
    }

    let (out, report) = run_corpus(&dir);
    let mm = report["manifest"]["mismatches"].clone();
    if out.code() != 0 || mm.as_array().is_none_or(|a| !a.is_empty()) {
        failures.push(format!(
            "{class}: run exit {}, mismatches {mm:#}",
            out.code()
        ));
    }
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    *want
        .entry(mod_expect.unwrap_or("valid").into())
        .or_default() += n_mod;
    *want
        .entry(file_expect.unwrap_or("valid").into())
        .or_default() += n_file;
    let got = verdict_table(&report);
    if got != want {
        failures.push(format!("{class}: cold verdicts {got:?}, want {want:?}"));
    }
    if report["ima_rule"] != "imasig" {
        failures.push(format!("{class}: report ima_rule {}", report["ima_rule"]));
    }

    // The same manifest under the hash rule: the expectations follow from the class.
    let (out, report) = run_corpus_with(&dir, &["--ima-accept-hash"]);
    let mm = report["manifest"]["mismatches"].clone();
    if out.code() != 0 || mm.as_array().is_none_or(|a| !a.is_empty()) {
        failures.push(format!(
            "{class} (hash rule): run exit {}, mismatches {mm:#}",
            out.code()
        ));
    }
    let file_hash = UNDER_HASH_RULE
        .iter()
        .find(|(c, _)| *c == class)
        .map(|(_, v)| *v)
        .or(file_expect);
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    *want
        .entry(mod_expect.unwrap_or("valid").into())
        .or_default() += n_mod;
    *want.entry(file_hash.unwrap_or("valid").into()).or_default() += n_file;
    let got = verdict_table(&report);
    if got != want {
        failures.push(format!(
            "{class} (hash rule): cold verdicts {got:?}, want {want:?}"
        ));
    }
    if report["ima_rule"] != "hash" {
        failures.push(format!("{class}: report ima_rule {}", report["ima_rule"]));
    }
    failures
}

#[test]
fn every_bad_class_alone_agrees_with_its_kernel_errno() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // Two workers: generation is mostly single-threaded RSA prime search.
    let failures: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|w| {
                s.spawn(move || {
                    CLASSES
                        .iter()
                        .skip(w)
                        .step_by(2)
                        .flat_map(|(c, m, f)| check_class(t, c, *m, *f))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn mixed_corpus_with_all_classes_agrees() {
    let dir = mixed_corpus();
    let report = assert_run_agrees(dir, "mixed corpus");
    let m = manifest(dir);
    let classes: BTreeSet<&str> = m.values().map(|r| r[1].as_str()).collect();
    for (class, ..) in CLASSES {
        assert!(
            classes.contains(class),
            "class {class} missing from the mixed corpus"
        );
    }
    assert_eq!(report["manifest"]["checked"], m.len());
    let table = verdict_table(&report);
    for key in [
        "valid",
        "unsigned:ENODATA",
        "invalid:EKEYREJECTED",
        "invalid:ENOKEY",
        "invalid:EKEYREVOKED",
        "invalid:EPERM",
        "invalid:EBADMSG",
        "invalid:EINVAL",
    ] {
        assert!(table.contains_key(key), "{key} missing from {table:?}");
    }
    assert_eq!(table.values().sum::<u64>(), m.len() as u64);
}

/// The mixed corpus under the hash rule (`run --ima-accept-hash`): the same manifest, read
/// with that rule's expectations, still agrees; hash labels now appraise or fail as
/// "invalid-hash", and nothing is EPERM (no blacklist without imasig).
#[test]
fn mixed_corpus_agrees_under_the_hash_rule() {
    let dir = mixed_corpus();
    let (out, report) = run_corpus_with(dir, &["--ima-accept-hash"]);
    let mm = &report["manifest"]["mismatches"];
    assert_eq!(out.code(), 0, "hash rule: {mm:#}\n{out:?}");
    assert_eq!(mm.as_array().map(Vec::len), Some(0), "{mm:#}");
    assert_eq!(report["ima_rule"], "hash");
    assert_eq!(report["ima_source"], "auto");
    let table = verdict_table(&report);
    assert!(!table.contains_key("invalid:EPERM"), "{table:?}");
    let m = manifest(dir);
    let hash_valid = m
        .values()
        .filter(|r| r[0] == "ima" && matches!(r[1].as_str(), "ima-hash" | "ima-hash-sha1"))
        .count();
    assert!(hash_valid > 0, "the mixed corpus has matching hash labels");
    let (_, default) = run_corpus(dir);
    let valid = |r: &Value| verdict_table(r).get("valid").copied().unwrap_or(0);
    let blacklisted = m.values().filter(|r| r[1] == "blacklisted-hash").count();
    assert_eq!(
        valid(&report),
        valid(&default) + (hash_valid + blacklisted) as u64,
        "matching hash labels and blacklisted files become valid"
    );
}

// =======================================================================================
// 3. interop with real tools, and a second verification path
// =======================================================================================

const MARKER: &[u8] = b"~Module signature appended~\n";

/// Splits a signed module into (body, PKCS#7) by its trailer: the marker, a 12-byte header
/// before it whose last 4 bytes are the big-endian signature length.
fn split_module(file: &[u8]) -> (&[u8], &[u8]) {
    assert!(file.ends_with(MARKER), "module trailer marker");
    let hdr_end = file.len() - MARKER.len();
    let hdr = &file[hdr_end - 12..hdr_end];
    assert_eq!(hdr[2], 2, "id_type PKEY_ID_PKCS7");
    let sig_len = u32::from_be_bytes(hdr[8..12].try_into().unwrap()) as usize;
    let sig_start = hdr_end - 12 - sig_len;
    (&file[..sig_start], &file[sig_start..hdr_end - 12])
}

fn der_to_pem(der: &Path, pem: &Path, openssl: &Path) {
    run_ok(
        std::process::Command::new(openssl)
            .args(["x509", "-inform", "DER", "-in"])
            .arg(der)
            .arg("-out")
            .arg(pem),
    );
}

#[test]
fn openssl_accepts_generated_module_signatures() {
    let Some(openssl) = require_tool("openssl") else {
        return;
    };
    let dir = mixed_corpus();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // Every module-signing certificate, as one PEM bundle.
    let mut bundle = Vec::new();
    for e in std::fs::read_dir(dir.join("certs")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("modsign") {
            let pem = t.join(format!("{name}.pem"));
            der_to_pem(&p, &pem, &openssl);
            bundle.extend(std::fs::read(&pem).unwrap());
        }
    }
    let certfile = t.join("signers.pem");
    std::fs::write(&certfile, &bundle).unwrap();

    let good: Vec<String> = manifest(dir)
        .into_iter()
        .filter(|(_, r)| r[0] == "module" && r[1] == "good")
        .map(|(p, _)| p)
        .collect();
    assert!(good.len() >= 50, "good modules: {}", good.len());
    let mut checked = 0;
    for rel in good.iter().take(40) {
        let file = std::fs::read(dir.join(rel)).unwrap();
        let (body, p7) = split_module(&file);
        let (bp, sp) = (t.join("body"), t.join("sig.p7"));
        std::fs::write(&bp, body).unwrap();
        std::fs::write(&sp, p7).unwrap();
        let out = run_output(
            std::process::Command::new(&openssl)
                .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
                .arg(&sp)
                .arg("-content")
                .arg(&bp)
                .arg("-certfile")
                .arg(&certfile)
                .args(["-noverify", "-purpose", "any", "-out", "/dev/null"]),
        );
        assert_eq!(out.code(), 0, "openssl cms -verify rejects {rel}: {out:?}");
        assert!(
            out.stderr.contains("Verification successful"),
            "{rel}: {}",
            out.stderr
        );
        // A flipped body byte must fail.
        if checked == 0 {
            let mut bad = body.to_vec();
            bad[0] ^= 1;
            std::fs::write(&bp, &bad).unwrap();
            let out = run_output(
                std::process::Command::new(&openssl)
                    .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
                    .arg(&sp)
                    .arg("-content")
                    .arg(&bp)
                    .arg("-certfile")
                    .arg(&certfile)
                    .args(["-noverify", "-purpose", "any", "-out", "/dev/null"]),
            );
            assert_ne!(out.code(), 0, "openssl accepted a tampered body of {rel}");
        }
        checked += 1;
    }
    assert_eq!(checked, 40);
}

#[test]
fn evmctl_accepts_generated_ima_signatures() {
    let Some(evmctl) = require_tool("evmctl") else {
        return;
    };
    let dir = mixed_corpus();
    let good: Vec<PathBuf> = manifest(dir)
        .into_iter()
        .filter(|(_, r)| r[0] == "ima" && r[1] == "good")
        .map(|(p, _)| dir.join(p))
        .collect();
    assert!(good.len() >= 50, "good files: {}", good.len());
    let keys = ["imasign0", "imasign1", "imasign2"]
        .map(|k| dir.join(format!("certs/{k}.der")).display().to_string())
        .join(",");
    let out = run_output(
        std::process::Command::new(&evmctl)
            .args(["ima_verify", "--sigfile", "--key", &keys])
            .args(&good),
    );
    let text = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(out.code(), 0, "evmctl ima_verify: {out:?}");
    for f in &good {
        let line = format!("{}: verification is OK", f.display());
        assert!(
            text.contains(&line),
            "evmctl did not verify {}:\n{text}",
            f.display()
        );
    }
}

/// The private key the generator derived for `label` (a `KeyAlgo` spec string), as PEM.
fn private_key_pem(seed: u64, label: &str, algo: &str, out: &Path, openssl: &Path) {
    let algo: trustbench::corpus::keys::KeyAlgo = algo.parse().unwrap();
    let der = trustbench::corpus::pki::key(seed, label, algo).expect("key derivation");
    let der_path = out.with_extension("der");
    std::fs::write(&der_path, der).unwrap();
    run_ok(
        std::process::Command::new(openssl)
            .args(["pkey", "-inform", "DER", "-in"])
            .arg(&der_path)
            .arg("-out")
            .arg(out),
    );
}

/// Generated RSA module signatures are what the kernel's `scripts/sign-file` writes for
/// the same body, key and certificate, byte for byte (RSA PKCS#1 v1.5 is deterministic).
#[test]
fn sign_file_reproduces_generated_module_signatures_byte_for_byte() {
    let Some(sign_file) = sign_file() else {
        return;
    };
    let Some(openssl) = require_tool("openssl") else {
        return;
    };
    let dir = rsa_corpus();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let key = t.join("modsign0.pem");
    private_key_pem(6, "modsign0", "rsa2048", &key, &openssl);

    let good: Vec<String> = manifest(dir)
        .into_iter()
        .filter(|(_, r)| r[0] == "module" && r[1] == "good")
        .map(|(p, _)| p)
        .take(6)
        .collect();
    assert!(good.len() >= 4);
    let mut problems = Vec::new();
    for rel in &good {
        let file = std::fs::read(dir.join(rel)).unwrap();
        let (body, p7) = split_module(&file);
        let body_path = t.join("body");
        std::fs::write(&body_path, body).unwrap();
        // Same key and hash ⇒ same RSA signature, the last 256 bytes of the PKCS#7.
        let mut same_signature = Vec::new();
        let mut exact = None;
        for hash in ["sha256", "sha384", "sha512"] {
            for issuer in ["root", "secondary", "machine"] {
                for keyid in [false, true] {
                    let out = t.join("signed.ko");
                    let mut cmd = std::process::Command::new(&sign_file);
                    if keyid {
                        cmd.arg("-k");
                    }
                    cmd.arg(hash)
                        .arg(&key)
                        .arg(dir.join(format!("certs/modsign0-{issuer}.der")))
                        .arg(&body_path)
                        .arg(&out);
                    run_ok(&mut cmd);
                    let signed = std::fs::read(&out).unwrap();
                    let (b2, p2) = split_module(&signed);
                    assert_eq!(b2, body);
                    if signed == file {
                        exact = Some((hash, issuer, keyid));
                    } else if p2[p2.len() - 256..] == p7[p7.len() - 256..] {
                        same_signature.push((
                            format!("{hash} {issuer}{}", if keyid { " -k" } else { "" }),
                            p2.to_vec(),
                        ));
                    }
                }
            }
        }
        if exact.is_none() {
            // The sign-file output that names the signer the same way: closest in size once
            // the generated message's NULL digest parameters (2 bytes each) are discounted,
            // then the longest common prefix.
            let common = |a: &[u8]| a.iter().zip(p7).take_while(|(x, y)| x == y).count();
            let expect_len = p7.len() - 2 * digest_algs_with_null(p7);
            let closest = same_signature
                .iter()
                .min_by_key(|(_, q)| (q.len().abs_diff(expect_len), usize::MAX - common(q)));
            problems.push(match closest {
                None => format!("{rel}: no sign-file output even has the same RSA signature"),
                Some((how, q)) => {
                    let at = common(q);
                    format!(
                        "{rel}: no sign-file invocation reproduces it. Closest: sign-file {how}, \
                         {} PKCS#7 bytes vs {} generated; first difference at offset {at} \
                         (sign-file …{}…, generated …{}…); digest AlgorithmIdentifiers with \
                         explicit NULL parameters: sign-file {}, generated {}",
                        q.len(),
                        p7.len(),
                        hex_prefix(&q[at.saturating_sub(8)..], 16),
                        hex_prefix(&p7[at.saturating_sub(8)..], 16),
                        digest_algs_with_null(q),
                        digest_algs_with_null(p7),
                    )
                }
            });
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Occurrences of a SHA-2 digest OID immediately followed by NULL parameters.
fn digest_algs_with_null(p7: &[u8]) -> usize {
    const OID: [u8; 10] = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];
    p7.windows(13)
        .filter(|w| w[..10] == OID && w[11..] == [0x05, 0x00])
        .count()
}

fn hex_prefix(b: &[u8], n: usize) -> String {
    b.iter().take(n).map(|x| format!("{x:02x}")).collect()
}

/// Generated IMA signatures with RSA keys are what `evmctl ima_sign --sigfile` writes for
/// the same file, key and hash, byte for byte.
#[test]
fn evmctl_ima_sign_reproduces_generated_rsa_signatures_byte_for_byte() {
    let Some(evmctl) = require_tool("evmctl") else {
        return;
    };
    let Some(openssl) = require_tool("openssl") else {
        return;
    };
    let dir = rsa_corpus();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // Both IMA signing keys; evmctl derives the header keyid from the key itself (SHA-1
    // of the public key, as the certificate's SKID), so the right key reproduces the .sig.
    let keys: Vec<PathBuf> = (0..2)
        .map(|i| {
            let pem = t.join(format!("imasign{i}.pem"));
            private_key_pem(6, &format!("imasign{i}"), "rsa2048", &pem, &openssl);
            pem
        })
        .collect();
    let good: Vec<String> = manifest(dir)
        .into_iter()
        .filter(|(_, r)| r[0] == "ima" && r[1] == "good")
        .map(|(p, _)| p)
        .take(8)
        .collect();
    assert!(good.len() >= 4);
    let mut problems = Vec::new();
    for rel in &good {
        let sig = std::fs::read(dir.join(format!("{rel}.sig"))).unwrap();
        let hash = match sig[2] {
            4 => "sha256",
            5 => "sha384",
            6 => "sha512",
            h => panic!("{rel}: unexpected hash id {h}"),
        };
        let copy = t.join("file.bin");
        std::fs::copy(dir.join(rel), &copy).unwrap();
        let mut matched = false;
        let mut tried = Vec::new();
        for key in &keys {
            let _ = std::fs::remove_file(t.join("file.bin.sig"));
            run_ok(
                std::process::Command::new(&evmctl)
                    .args(["ima_sign", "--sigfile", "--hashalgo", hash, "--key"])
                    .arg(key)
                    .arg(&copy),
            );
            let ours = std::fs::read(t.join("file.bin.sig")).unwrap();
            if ours == sig {
                matched = true;
            }
            tried.push(hex_prefix(&ours, 12));
        }
        if !matched {
            problems.push(format!(
                "{rel}: generated .sig {} matches no evmctl signature ({tried:?})",
                hex_prefix(&sig, 12)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `trustbench verify --keyring-setup keyring.script --ima-check-blacklist --json` (the
/// non-engine path) gives every item the manifest's verdict and errno.
#[test]
fn verify_command_agrees_with_the_manifest_for_every_item() {
    let dir = mixed_corpus();
    let m = manifest(dir);
    let mut got: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (kind, ext) in [("module", "ko"), ("ima", "bin")] {
        let paths: Vec<&String> = m
            .iter()
            .filter(|(_, r)| r[0] == kind)
            .map(|(p, _)| p)
            .collect();
        assert!(paths.iter().all(|p| p.ends_with(ext)));
        let out = run_output(
            trustbench()
                .current_dir(dir)
                .args([
                    "verify",
                    "--keyring-setup",
                    "keyring.script",
                    "--ima-check-blacklist",
                ])
                .args(["--json", "--kind", kind])
                .args(&paths),
        );
        assert_eq!(
            out.code(),
            1,
            "some {kind} items are bad: exit 1; {}",
            out.stderr
        );
        let records = parse_json_lines(&out.stdout);
        assert_eq!(records.len(), paths.len(), "one record per {kind}");
        for r in records {
            assert_eq!(r["kind"], kind);
            got.insert(
                r["path"].as_str().unwrap().to_string(),
                (
                    r["verdict"].as_str().unwrap().to_string(),
                    r["errno"].as_str().unwrap_or("-").to_string(),
                ),
            );
        }
    }
    // --kind auto (the default) must agree too: the kind comes from the name alone.
    let all: Vec<&String> = m.keys().collect();
    let out = run_output(
        trustbench()
            .current_dir(dir)
            .args([
                "verify",
                "--keyring-setup",
                "keyring.script",
                "--ima-check-blacklist",
                "--json",
            ])
            .args(&all),
    );
    let auto: BTreeMap<String, (String, String)> = parse_json_lines(&out.stdout)
        .into_iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                (
                    r["verdict"].as_str().unwrap().to_string(),
                    r["errno"].as_str().unwrap_or("-").to_string(),
                ),
            )
        })
        .collect();

    let mut bad = Vec::new();
    for (path, [kind, class, verdict, errno]) in &m {
        let want = (verdict.clone(), errno.clone());
        for (how, table) in [("--kind", &got), ("auto", &auto)] {
            match table.get(path) {
                Some(g) if *g == want => {}
                g => bad.push(format!(
                    "{path} ({kind}, {class}) via {how}: manifest {want:?}, verify {g:?}"
                )),
            }
        }
    }
    assert!(
        bad.is_empty(),
        "verify disagrees with manifest.tsv:\n{}",
        bad.join("\n")
    );
}

// =======================================================================================
// 4. spec errors
// =======================================================================================

#[test]
fn spec_errors_exit_2_naming_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let base = spec("err", 1, RSA_KEYS, (2, 2), "percent = 0");
    let cases = [
        (
            "unknown-field",
            base.replace("[files]\n", "[files]\nbogus_field = 1\n"),
            "bogus_field",
        ),
        (
            "unknown-top-field",
            format!("colour = \"red\"\n{base}"),
            "colour",
        ),
        (
            "unknown-hash",
            base.replacen(
                "hashes = { sha256 = 2, sha384 = 1, sha512 = 1 }",
                "hashes = { md4 = 1 }",
                1,
            ),
            "md4",
        ),
        (
            "unknown-class",
            base.replace(
                "percent = 0",
                "percent = 10\nclasses = [\"tampered\", \"gremlins\"]",
            ),
            "gremlins",
        ),
        (
            "unknown-key-algo",
            base.replace(
                "ima_signers = [\"rsa2048\", \"rsa2048\"]",
                "ima_signers = [\"dsa1024\"]",
            ),
            "dsa1024",
        ),
        (
            "bad-percent",
            base.replace("percent = 0", "percent = 150"),
            "bad.percent",
        ),
    ];
    for (what, text, needle) in cases {
        let spec = write_spec(t, &format!("{what}.toml"), &text);
        let out_dir = t.join(what);
        let out = run_output(
            trustbench()
                .arg("gen")
                .arg("--spec")
                .arg(&spec)
                .arg("--out")
                .arg(&out_dir)
                .arg("--quiet"),
        );
        assert_eq!(out.code(), 2, "{what}: gen must exit 2: {out:?}");
        assert!(
            out.stderr.contains(needle),
            "{what}: the error does not name '{needle}':\n{}",
            out.stderr
        );
        assert!(!out_dir.join("COMPLETE").exists(), "{what}: no corpus");
    }
    // A spec file that does not exist.
    let out = run_output(
        trustbench()
            .args(["gen", "--spec"])
            .arg(t.join("nope.toml")),
    );
    assert_eq!(out.code(), 2);
    assert!(out.stderr.contains("nope.toml"), "{}", out.stderr);
}

// =======================================================================================
// more generator checks
// =======================================================================================

/// `files.xattr = true`: the signature is also in `security.ima`; with every `.sig`
/// sidecar removed, `run` and `verify` still agree with the manifest.
#[test]
fn xattr_corpus_verifies_from_security_ima_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let text = spec("xattr", 15, FAST_KEYS, (4, 40), "percent = 30")
        .replace("[files]\n", "[files]\nxattr = true\n");
    let s = write_spec(t, "xattr.toml", &text);
    let dir = t.join("x");
    gen(&s, &dir, None);
    let m = manifest(&dir);
    let probe = dir.join(
        m.iter()
            .find(|(_, r)| r[0] == "ima" && r[1] == "good")
            .map(|(p, _)| p)
            .unwrap(),
    );
    if trustbench::engine::read_ima_xattr(&probe).is_none() {
        skip_or_fail(
            "security.ima is not settable here",
            "the xattr corpus has none",
        );
        return;
    }
    let mut removed = 0;
    for (p, r) in &m {
        if r[0] == "ima" {
            let sig = dir.join(format!("{p}.sig"));
            if sig.exists() {
                std::fs::remove_file(sig).unwrap();
                removed += 1;
            }
        }
    }
    assert!(removed > 20);
    assert_run_agrees(&dir, "xattr-only corpus");
    let files: Vec<&String> = m
        .iter()
        .filter(|(_, r)| r[0] == "ima")
        .map(|(p, _)| p)
        .collect();
    let out = run_output(
        trustbench()
            .current_dir(&dir)
            .args([
                "verify",
                "--keyring-setup",
                "keyring.script",
                "--ima-check-blacklist",
            ])
            .args(["--json", "--kind", "ima"])
            .args(&files),
    );
    for r in parse_json_lines(&out.stdout) {
        let p = r["path"].as_str().unwrap();
        let want = &m[p];
        assert_eq!(
            (
                r["verdict"].as_str().unwrap(),
                r["errno"].as_str().unwrap_or("-")
            ),
            (want[2].as_str(), want[3].as_str()),
            "{p} ({}) via verify",
            want[1]
        );
    }
}

/// Degenerate but parseable specs: `gen` either makes a corpus that `run` agrees with, or
/// refuses with exit 2 and a message. It never panics (exit 101).
#[test]
fn degenerate_specs_are_rejected_or_generated_never_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let base = spec(
        "degenerate",
        15,
        FAST_KEYS,
        (4, 4),
        "percent = 100\nclasses = [\"tampered\"]",
    );
    let cases: [(&str, String, Option<&str>); 3] = [
        // Empty files: a tampered class cannot flip a byte of nothing.
        (
            "empty-files",
            base.replace("sizes = \"fixed:1500\"", "sizes = \"fixed:0\""),
            None,
        ),
        // No issuer with a non-zero weight: no module-signing certificate can exist.
        (
            "zero-issuer-weights",
            base.replace(
                "skid_percent = 30\n",
                "skid_percent = 30\nissuers = { root = 0, secondary = 0, machine = 0 }\n",
            ),
            Some("issuers"),
        ),
        (
            "no-issuers",
            base.replace("skid_percent = 30\n", "skid_percent = 30\nissuers = {}\n"),
            Some("issuers"),
        ),
    ];
    let mut problems = Vec::new();
    for (what, text, must_reject_naming) in cases {
        assert_ne!(text, base, "{what}: spec edit did not apply");
        let s = write_spec(t, &format!("{what}.toml"), &text);
        let dir = t.join(what);
        let out = run_output(
            trustbench()
                .env("RUST_BACKTRACE", "0")
                .arg("gen")
                .arg("--spec")
                .arg(&s)
                .arg("--out")
                .arg(&dir)
                .arg("--quiet"),
        );
        let first_line = out
            .stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        match (out.code(), must_reject_naming) {
            (2, Some(name)) if out.stderr.contains(name) => {}
            (2, None) => {}
            (0, None) => {
                let (run, report) = run_corpus(&dir);
                if run.code() != 0 {
                    problems.push(format!(
                        "{what}: generated, but run disagrees: {:#}",
                        report["manifest"]["mismatches"]
                    ));
                }
            }
            (code, want) => problems.push(format!(
                "{what}: gen exited {code}{} — {first_line}",
                want.map_or(String::new(), |n| format!(" (want 2 naming '{n}')"))
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `gen` into a directory that already holds a corpus ("existing files are overwritten"):
/// files that are unsigned in the new corpus must not keep the old corpus's `.sig`
/// sidecars, or the corpus contradicts its own manifest.
#[test]
fn regenerating_into_an_existing_dir_leaves_no_stale_signatures() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let dir = t.join("corpus");
    let first = write_spec(
        t,
        "first.toml",
        &spec("regen", 15, FAST_KEYS, (4, 8), "percent = 0"),
    );
    gen(&first, &dir, None);
    let second = write_spec(
        t,
        "second.toml",
        &spec(
            "regen",
            15,
            FAST_KEYS,
            (4, 8),
            "percent = 100\nclasses = [\"missing-signature\"]",
        ),
    );
    gen(&second, &dir, None);
    let stale: Vec<String> = manifest(&dir)
        .iter()
        .filter(|(p, r)| {
            r[0] == "ima" && r[1] == "missing-signature" && dir.join(format!("{p}.sig")).exists()
        })
        .map(|(p, _)| format!("{p}.sig"))
        .collect();
    assert!(
        stale.is_empty(),
        "unsigned files keep the previous corpus's sidecars: {stale:?}"
    );
    assert_run_agrees(&dir, "regenerated corpus");
}
