//! One test-vector suite, run against every crypto backend this build has
//! (`crypto::backends::all()`), in the style of rustls-webpki's per-backend suites.
//!
//! Every case is first judged by the default backend (aws-lc); every other backend must then
//! give exactly the same verdict and errno, or say [`Unsupported`] — and it must say
//! unsupported exactly where its documented set (`Backend::supports`, and for a backend that
//! hashes the message, a record without one) says so, nowhere else. Cases the kernel's rules
//! decide without arithmetic (`PublicKey::rules`) are never unsupported.
//!
//! * `signature_vectors_agree_across_backends`: RSA keys of every size the kernel accepts
//!   (512, 1024, 1536, 2048, 3072, 4096) and two it refuses (768, 1032), ECDSA P-256, P-384
//!   and P-521; signatures made by `openssl pkeyutl` (valid, corrupted, truncated, made with
//!   another hash, over other data, checked with the wrong key, checked under a hash of
//!   another or the same length) and encoded messages crafted for each EMSA-PKCS1-v1_5
//!   errno (bad block type, short padding, no separator, non-zero leading byte, two leading
//!   zero bytes — `EBADMSG` on 6.18, whose primitive keeps leading zeros —, a wrong
//!   DigestInfo, a digest mismatch) and representatives at the edges of `1 < s < n - 1`.
//!   Each record is checked with and without its message, singly and through
//!   `Backend::verify_batch`.
//! * `real_tool_fixtures_agree_across_backends`: `corpora/fixtures` (sign-file modules,
//!   evmctl signatures, openssl certificates) against `expected.tsv`; a module whose PKCS#7
//!   embeds its signer (chain to a trusted CA: the X.509 signature path), the same leaf
//!   linked through the secondary keyring's restriction, and IMA v3 (fs-verity) signatures
//!   made here.
//! * `kernel_backend_matches_keyctl`: the kernel backend's own errno
//!   (`KernelKey::pkey_verify`) equals the suite's answer on every RSA case that reaches the
//!   arithmetic, and the `keyctl pkey_verify` tool on the same loaded keys agrees with both.
//! * `registry_lists_every_compiled_backend`.
//!
//! Needs `openssl` (and `keyctl` plus a kernel with keyrings for the kernel parts): missing,
//! they fail under `CI=true` and skip loudly otherwise.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use trustbench::crypto::{
    self, backends, Backend, Checked, CryptoProfile, Encoding, Job, PkeyAlgo, SigAlgo,
    SignatureRecord, Signed, Unsupported,
};
use trustbench::formats::imasig;
use trustbench::hash::{Digest, HashAlgo};
use trustbench::trust::store::{AddMode, Store};
use trustbench::verify::ima::{self, ImaPolicy, Label};
use trustbench::verify::{fsverity, module, ImaSource, Verdict, VerdictClass};
use trustbench::Errno;

// =============================================================================================
// tools and files
// =============================================================================================

fn fixture(name: &str) -> PathBuf {
    common::fixtures_dir().join(name)
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `openssl ARGS` in `dir`; its stdout.
fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A key with its certificate (issued by the fixture RSA-2048 signer, so parsing never
/// verifies a self-signature, whatever the key size).
struct TestKey {
    label: String,
    algo: PkeyAlgo,
    bits: usize,
    key_pem: PathBuf,
    cert: Vec<u8>,
}

/// A fresh key (`genpkey` options) with a certificate for it.
fn make_key(dir: &Path, label: &str, algo: PkeyAlgo, bits: usize, opts: &[&str]) -> TestKey {
    let key_pem = dir.join(format!("{label}.key.pem"));
    let mut args = vec!["genpkey"];
    args.extend_from_slice(opts);
    args.extend(["-out", s(&key_pem)]);
    openssl(dir, &args);
    let csr = dir.join(format!("{label}.csr"));
    let subj = format!("/CN=trustbench backends {label}");
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            s(&key_pem),
            "-subj",
            &subj,
            "-out",
            s(&csr),
        ],
    );
    let der = dir.join(format!("{label}.der"));
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            s(&csr),
            "-CA",
            s(&fixture("signer-rsa2048.pem")),
            "-CAkey",
            s(&fixture("signer-rsa2048.key.pem")),
            "-set_serial",
            &format!("0x{:x}", 0x5000 + bits),
            "-days",
            "30",
            "-sha256",
            "-outform",
            "DER",
            "-out",
            s(&der),
        ],
    );
    TestKey {
        label: label.into(),
        algo,
        bits,
        key_pem,
        cert: read(&der),
    }
}

/// A fixture key and its certificate.
fn fixture_key(label: &str, algo: PkeyAlgo, bits: usize, stem: &str) -> TestKey {
    TestKey {
        label: label.into(),
        algo,
        bits,
        key_pem: fixture(&format!("{stem}.key.pem")),
        cert: read(&fixture(&format!("{stem}.der"))),
    }
}

/// `openssl pkeyutl -sign` over a prehashed digest: PKCS#1 v1.5 with the DigestInfo of
/// `hash` for RSA, X9.62 DER for ECDSA.
fn sign(dir: &Path, key: &TestKey, hash: HashAlgo, digest: &[u8]) -> Vec<u8> {
    let input = dir.join(format!("dg-{}-{}", key.label, hash.name()));
    std::fs::write(&input, digest).unwrap();
    let md = format!("digest:{}", hash.name());
    let mut args = vec![
        "pkeyutl",
        "-sign",
        "-inkey",
        s(&key.key_pem),
        "-in",
        s(&input),
    ];
    if key.algo == PkeyAlgo::Rsa {
        args.extend(["-pkeyopt", &md]);
    }
    openssl(dir, &args)
}

/// The raw RSA private operation on an encoded message of exactly the modulus length.
fn sign_raw(dir: &Path, key: &TestKey, em: &[u8], tag: &str) -> Vec<u8> {
    let input = dir.join(format!("em-{}-{tag}", key.label));
    std::fs::write(&input, em).unwrap();
    openssl(
        dir,
        &[
            "pkeyutl",
            "-decrypt",
            "-inkey",
            s(&key.key_pem),
            "-pkeyopt",
            "rsa_padding_mode:none",
            "-in",
            s(&input),
        ],
    )
}

/// EMSA-PKCS1-v1_5 of `digest` with `prefix` for a `k`-byte modulus.
fn em(k: usize, prefix: &[u8], digest: &[u8]) -> Vec<u8> {
    let mut v = vec![0x00, 0x01];
    v.resize(k - prefix.len() - digest.len() - 1, 0xff);
    v.push(0x00);
    v.extend_from_slice(prefix);
    v.extend_from_slice(digest);
    v
}

fn prefix(h: HashAlgo) -> Vec<u8> {
    let (p, n) = h.digest_info_prefix().expect("prefix");
    p[..n].to_vec()
}

fn digest(h: HashAlgo, data: &[u8]) -> Digest {
    h.digest(data).expect("computable hash")
}

// =============================================================================================
// signature vectors
// =============================================================================================

const DATA: &[u8] = b"trustbench backend test vector: the signed data\n";
const OTHER: &[u8] = b"something else entirely\n";

/// One record to verify: which key, the digest, the message it is the hash of, the
/// signature.
struct Probe {
    label: String,
    key: usize,
    digest: Digest,
    message: Vec<u8>,
    sig: Vec<u8>,
}

impl Probe {
    fn record<'a>(&'a self, keys: &[TestKey], with_message: bool) -> SignatureRecord<'a> {
        let rsa = keys[self.key].algo == PkeyAlgo::Rsa;
        SignatureRecord {
            algo: Some(if rsa { SigAlgo::Rsa } else { SigAlgo::Ecdsa }),
            encoding: if rsa { Encoding::Pkcs1 } else { Encoding::X962 },
            signed: Signed::Digest(self.digest),
            signature: &self.sig,
            message: with_message.then_some(&self.message[..]),
        }
    }
}

/// The keys and records of the signature suite.
struct Vectors {
    _dir: tempfile::TempDir,
    keys: Vec<TestKey>,
    probes: Vec<Probe>,
}

fn vectors() -> Vectors {
    let dir = tempfile::Builder::new()
        .prefix("trustbench-backends-")
        .tempdir()
        .unwrap();
    let d = dir.path();
    let rsa = |bits: usize| {
        let o = format!("rsa_keygen_bits:{bits}");
        make_key(
            d,
            &format!("rsa{bits}"),
            PkeyAlgo::Rsa,
            bits,
            &["-algorithm", "RSA", "-pkeyopt", &o],
        )
    };
    let ec = |label: &str, curve: &str, algo, bits| {
        let o = format!("ec_paramgen_curve:{curve}");
        make_key(d, label, algo, bits, &["-algorithm", "EC", "-pkeyopt", &o])
    };
    use trustbench::crypto::Curve;
    let mut keys = vec![
        rsa(512),
        rsa(768),
        rsa(1024),
        rsa(1032),
        rsa(1536),
        fixture_key("rsa2048", PkeyAlgo::Rsa, 2048, "signer-rsa2048"),
        rsa(3072),
        fixture_key("rsa4096", PkeyAlgo::Rsa, 4096, "signer-rsa4096"),
        fixture_key("p256", PkeyAlgo::Ecdsa(Curve::P256), 256, "signer-p256"),
        fixture_key("p384", PkeyAlgo::Ecdsa(Curve::P384), 384, "signer-p384"),
        ec("p521", "P-521", PkeyAlgo::Ecdsa(Curve::P521), 521),
    ];
    // A second RSA-2048 key: the "wrong key" cases.
    keys.push(fixture_key(
        "rsa2048-other",
        PkeyAlgo::Rsa,
        2048,
        "selfsigned-rsa2048",
    ));
    let other_2048 = keys.len() - 1;

    use HashAlgo::*;
    let mut probes = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        if i == other_2048 {
            continue;
        }
        let hashes: &[HashAlgo] = match (key.algo, key.bits) {
            (PkeyAlgo::Rsa, 512) => &[Sha1, Sha224, Sha256],
            (PkeyAlgo::Rsa, 768 | 1032) => &[Sha256],
            (PkeyAlgo::Rsa, 1024 | 1536) => &[Sha1, Sha256, Sha384, Sha512],
            (PkeyAlgo::Rsa, 2048) => &[
                Sha1, Sha224, Sha256, Sha384, Sha512, Sha3_256, Sha3_384, Sha3_512,
            ],
            (PkeyAlgo::Rsa, _) => &[Sha256, Sha384, Sha512],
            (PkeyAlgo::Ecdsa(_), _) => &[Sha1, Sha224, Sha256, Sha384, Sha512, Sha3_256],
            (PkeyAlgo::MlDsa(_), _) => &[],
        };
        for &h in hashes {
            let dg = digest(h, DATA);
            let good = sign(d, key, h, dg.as_bytes());
            let mut p = |what: &str, dg: Digest, sig: Vec<u8>, key: usize| {
                probes.push(Probe {
                    label: format!("{}/{}/{what}", keys_label(&keys, key), h.name()),
                    key,
                    digest: dg,
                    message: DATA.to_vec(),
                    sig,
                });
            };
            p("valid", dg, good.clone(), i);
            let mut mid = good.clone();
            let m = mid.len() / 2;
            mid[m] ^= 0x01;
            p("corrupt-mid", dg, mid, i);
            let mut first = good.clone();
            first[0] ^= 0x80;
            p("corrupt-first", dg, first, i);
            p("truncated", dg, good[..good.len() - 1].to_vec(), i);
            // Signed over other data, checked against DATA's digest.
            let other = sign(d, key, h, digest(h, OTHER).as_bytes());
            p("other-data", dg, other, i);
            // Checked under a hash of another length, and of the same length.
            let ph = if h == Sha1 { Sha256 } else { Sha1 };
            p("hash-other-length", digest(ph, DATA), good.clone(), i);
            let same = match h {
                Sha256 => Some(Sha3_256),
                Sha3_256 => Some(Sha256),
                Sha512 => Some(Sha3_512),
                Sha384 => Some(Sha3_384),
                _ => None,
            };
            if let Some(sh) = same {
                p("hash-same-length", digest(sh, DATA), good.clone(), i);
            }
            if key.algo == PkeyAlgo::Rsa && key.bits >= 1024 {
                // Made with another hash's DigestInfo over that hash's digest.
                let oh = if h == Sha256 { Sha512 } else { Sha256 };
                let made = sign(d, key, oh, digest(oh, DATA).as_bytes());
                p("made-with-other-hash", dg, made, i);
            }
            if key.algo == PkeyAlgo::Rsa && key.bits == 2048 && h == Sha256 {
                p("wrong-key", dg, good.clone(), other_2048);
            }
            if key.algo != PkeyAlgo::Rsa {
                // DER cut short: not well-formed.
                p("der-truncated", dg, good[..good.len() - 3].to_vec(), i);
                p("empty", dg, Vec::new(), i);
            }
        }
        if key.algo == PkeyAlgo::Rsa && key.bits == 2048 {
            // Encoded messages for each EMSA-PKCS1-v1_5 failure.
            let k = 256;
            let dg = digest(Sha256, DATA);
            let pre = prefix(Sha256);
            let good = em(k, &pre, dg.as_bytes());
            let mut crafted: Vec<(&str, Vec<u8>)> = vec![("em-good", good.clone())];
            let mut bt = good.clone();
            bt[1] = 0x02;
            crafted.push(("em-block-type-2", bt));
            let mut short_ps = vec![0x00, 0x01];
            short_ps.extend([0xff; 7]);
            short_ps.push(0x00);
            short_ps.resize(k - pre.len() - 32, 0x5a);
            short_ps.extend_from_slice(&pre);
            short_ps.extend_from_slice(dg.as_bytes());
            crafted.push(("em-padding-too-short", short_ps));
            let mut no_sep = good.clone();
            let sep = k - pre.len() - 32 - 1;
            no_sep[sep] = 0xff;
            crafted.push(("em-no-separator", no_sep));
            let mut lead = good.clone();
            lead[0] = 0x01;
            crafted.push(("em-leading-byte-nonzero", lead));
            let mut shorter = vec![0x00];
            shorter.extend_from_slice(&good[..k - 1]);
            crafted.push(("em-two-leading-zeros", shorter));
            let mut wrong_di = em(k, &prefix(Sha3_256), dg.as_bytes());
            wrong_di[0] = 0;
            crafted.push(("em-wrong-digestinfo", wrong_di));
            crafted.push((
                "em-digest-mismatch",
                em(k, &pre, digest(Sha256, OTHER).as_bytes()),
            ));
            for (what, m) in crafted {
                let sig = sign_raw(d, key, &m, what);
                probes.push(Probe {
                    label: format!("rsa2048/sha256/{what}"),
                    key: i,
                    digest: dg,
                    message: DATA.to_vec(),
                    sig,
                });
            }
            // Representatives around the edges of 1 < s < n - 1.
            let n = {
                let st = Store::new(
                    Default::default(),
                    CryptoProfile::full(),
                    crypto::default_backend(),
                );
                let c = st.parse_cert(&key.cert).expect("parse");
                num_bigint::BigUint::from_bytes_be(&c.key.public.rsa_components().expect("rsa").n)
            };
            let be = |x: num_bigint::BigUint| {
                let b = x.to_bytes_be();
                let mut v = vec![0u8; k - b.len()];
                v.extend(b);
                v
            };
            let one = num_bigint::BigUint::from(1u8);
            let mut one_sig = vec![0u8; k];
            one_sig[k - 1] = 1;
            let mut two_sig = vec![0u8; k];
            two_sig[k - 1] = 2;
            for (what, sig) in [
                ("not-below-modulus", vec![0xff; k]),
                ("zero", vec![0; k]),
                ("one", one_sig),
                ("two", two_sig),
                ("n", be(n.clone())),
                ("n-minus-1", be(&n - &one)),
                ("n-minus-2", be(&n - &one - &one)),
            ] {
                probes.push(Probe {
                    label: format!("rsa2048/sha256/{what}"),
                    key: i,
                    digest: dg,
                    message: DATA.to_vec(),
                    sig,
                });
            }
        }
    }
    Vectors {
        _dir: dir,
        keys,
        probes,
    }
}

fn keys_label(keys: &[TestKey], i: usize) -> &str {
    &keys[i].label
}

/// What `backend` is documented not to do for this record (once the rules passed).
fn documented_unsupported(backend: &dyn Backend, key: &TestKey, rec: &SignatureRecord<'_>) -> bool {
    !rec.digest()
        .is_some_and(|d| backend.supports(key.algo, key.bits, d.algo()))
        || (backend.hashes_message() && rec.message.is_none())
}

/// A store for `backend`; the suite's keys parsed in it (each prepared once, here).
fn parse_keys(
    backend: &Arc<dyn Backend>,
    keys: &[TestKey],
) -> (Store, Vec<trustbench::trust::x509::ParsedCert>) {
    let store = Store::new(Default::default(), CryptoProfile::full(), backend.clone());
    let parsed = keys
        .iter()
        .map(|k| {
            store
                .parse_cert(&k.cert)
                .unwrap_or_else(|e| panic!("{}: {} does not parse: {e}", backend.name(), k.label))
        })
        .collect();
    (store, parsed)
}

fn show(c: &Checked) -> String {
    match c {
        Ok(Ok(())) => "ok".into(),
        Ok(Err(e)) => e.to_string(),
        Err(u) => format!("unsupported ({u:?})"),
    }
}

#[test]
fn signature_vectors_agree_across_backends() {
    if common::require_tool("openssl").is_none() {
        return;
    }
    let v = vectors();
    let profile = CryptoProfile::full();
    let reference: Arc<dyn Backend> = Arc::new(crypto::aws_lc::AwsLc);
    let (_rs, ref_keys) = parse_keys(&reference, &v.keys);
    // The default backend's answers, and which cases the rules decide alone.
    let mut want: Vec<(Checked, bool)> = Vec::new();
    let mut hist: BTreeMap<String, usize> = BTreeMap::new();
    for p in &v.probes {
        let key = &ref_keys[p.key].key.public;
        let rec = p.record(&v.keys, true);
        let w = key.check(&rec, &profile);
        assert!(
            w.is_ok(),
            "{}: the default backend said {}",
            p.label,
            show(&w)
        );
        // Without the message the default backend answers the same.
        assert_eq!(
            key.check(&p.record(&v.keys, false), &profile),
            w,
            "{}",
            p.label
        );
        *hist.entry(show(&w)).or_default() += 1;
        want.push((w, key.rules(&rec, &profile).is_some()));
    }
    eprintln!(
        "{} records; default-backend verdicts: {hist:?}",
        v.probes.len()
    );
    // Spot checks that the vectors exercise what they claim (each errno of the kernel's
    // RSA verifier, and ECDSA's).
    let by_label = |l: &str| {
        let i = v
            .probes
            .iter()
            .position(|p| p.label == l)
            .unwrap_or_else(|| panic!("{l}"));
        want[i].0
    };
    for (l, e) in [
        ("rsa2048/sha256/valid", None),
        ("rsa2048/sha256/em-good", None),
        ("rsa2048/sha256/em-block-type-2", Some(Errno::EBADMSG)),
        ("rsa2048/sha256/em-padding-too-short", Some(Errno::EBADMSG)),
        ("rsa2048/sha256/em-no-separator", Some(Errno::EBADMSG)),
        (
            "rsa2048/sha256/em-leading-byte-nonzero",
            Some(Errno::EINVAL),
        ),
        ("rsa2048/sha256/em-two-leading-zeros", Some(Errno::EBADMSG)),
        ("rsa2048/sha256/em-wrong-digestinfo", Some(Errno::EBADMSG)),
        (
            "rsa2048/sha256/em-digest-mismatch",
            Some(Errno::EKEYREJECTED),
        ),
        ("rsa2048/sha256/not-below-modulus", Some(Errno::EINVAL)),
        ("rsa2048/sha256/zero", Some(Errno::EINVAL)),
        ("rsa2048/sha256/one", Some(Errno::EINVAL)),
        ("rsa2048/sha256/n", Some(Errno::EINVAL)),
        ("rsa2048/sha256/n-minus-1", Some(Errno::EINVAL)),
        ("rsa2048/sha256/truncated", Some(Errno::EINVAL)),
        ("rsa2048/sha256/other-data", Some(Errno::EKEYREJECTED)),
        ("rsa2048/sha256/hash-other-length", Some(Errno::EBADMSG)),
        ("rsa768/sha256/valid", Some(Errno::EINVAL)),
        ("rsa1032/sha256/valid", Some(Errno::EINVAL)),
        ("rsa512/sha256/valid", None),
        ("rsa3072/sha512/valid", None),
        ("rsa4096/sha384/valid", None),
        ("p256/sha256/valid", None),
        ("p256/sha1/valid", None),
        ("p384/sha3-256/valid", None),
        ("p521/sha512/valid", None),
        ("p256/sha256/other-data", Some(Errno::EKEYREJECTED)),
        ("p384/sha384/der-truncated", Some(Errno::EBADMSG)),
        ("p521/sha256/empty", Some(Errno::EBADMSG)),
    ] {
        assert_eq!(by_label(l), Ok(e.map_or(Ok(()), Err)), "{l}");
    }

    let mut failures = Vec::new();
    for backend in backends::all() {
        let (_store, parsed) = parse_keys(&backend, &v.keys);
        let mut unsupported = 0usize;
        let mut jobs = Vec::new();
        for (p, (w, ruled)) in v.probes.iter().zip(&want) {
            let key = &parsed[p.key].key.public;
            for with_message in [true, false] {
                let rec = p.record(&v.keys, with_message);
                let got = key.check(&rec, &profile);
                let doc = !ruled && documented_unsupported(&*backend, &v.keys[p.key], &rec);
                let ok = match got {
                    Err(_) => doc,
                    Ok(_) => !doc && got == *w,
                };
                if !ok {
                    failures.push(format!(
                        "{} {} (message: {with_message}): got {}, default backend {}, documented unsupported: {doc}",
                        backend.name(),
                        p.label,
                        show(&got),
                        show(w)
                    ));
                }
                // The kernel-facing call reports an unsupported one as ENOPKG and counts it.
                let before = crypto::unsupported_count();
                let (verdict, counted) = match got {
                    Ok(v) => (v, 0),
                    Err(_) => {
                        unsupported += 1;
                        (Err(Errno::ENOPKG), 1)
                    }
                };
                assert_eq!(key.verify(&rec, &profile), verdict, "{}", p.label);
                assert_eq!(crypto::unsupported_count(), before + counted);
                jobs.push((Job::new(key, rec, &profile), got));
            }
        }
        // The batch entry point gives what the single calls gave.
        let (mut batch, singles): (Vec<Job<'_>>, Vec<Checked>) = jobs.into_iter().unzip();
        backend.verify_batch(&mut batch);
        for (j, s) in batch.iter().zip(&singles) {
            if j.outcome != Some(*s) {
                failures.push(format!(
                    "{}: verify_batch differs from check",
                    backend.name()
                ));
                break;
            }
        }
        eprintln!(
            "backend {:<10} {}: {} records, {unsupported} unsupported",
            backend.name(),
            backend.library(),
            2 * v.probes.len()
        );
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// =============================================================================================
// real-tool fixtures
// =============================================================================================

/// `expected.tsv`: (path, kind, verdict, errno, trust certs).
fn expected_rows() -> Vec<(String, String, String, String, Vec<String>)> {
    let text = String::from_utf8(read(&fixture("expected.tsv"))).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].to_string(),
                f[1].to_string(),
                f[2].to_string(),
                f[3].to_string(),
                f[4].split(',').map(str::to_string).collect(),
            )
        })
        .collect()
}

fn store_trusting(backend: &Arc<dyn Backend>, certs: &[Vec<u8>]) -> Store {
    let mut s = Store::new(Default::default(), CryptoProfile::full(), backend.clone());
    let sys = s.system();
    for der in certs {
        s.add_cert(sys.builtin, der, AddMode::Bypass)
            .expect("builtin");
        s.add_cert(sys.ima, der, AddMode::Bypass).expect(".ima");
    }
    s
}

fn cert_der(name: &str) -> Vec<u8> {
    let bytes = read(&fixture(name));
    if bytes.starts_with(b"-----BEGIN") {
        return trustbench::trust::x509::pem_to_der(&bytes).expect("PEM certificate");
    }
    bytes
}

/// One item verified in `store`: a module or an IMA file (label from its sidecar).
fn judge(store: &Store, path: &Path, kind: &str) -> Verdict {
    let data = read(path);
    if kind == "module" {
        return module::verify_module(store, &data, module::keyring(store));
    }
    let sidecar = ima::sidecar_path(path);
    let label = std::fs::read(&sidecar).ok();
    let label = match &label {
        Some(v) => Label::Found(ImaSource::Sidecar, v),
        None => Label::Absent(ima::ImaSourceMode::Sidecar),
    };
    ima::appraise(store, &data, label, ImaPolicy::default())
}

fn verdict_str(v: &Verdict) -> String {
    match v.errno {
        None => v.class.name().to_string(),
        Some(e) => format!("{} {e}", v.class.name()),
    }
}

/// Whether `backend` is documented not to do the signer key's verification of `v`.
fn item_unsupported(backend: &dyn Backend, store: &Store, v: &Verdict) -> bool {
    let (Some(signer), Some(d)) = (v.signer, v.digest) else {
        return false;
    };
    let Some(k) = store.asymmetric(signer) else {
        return false;
    };
    !backend.supports(k.public.algo(), k.public.bits(), d.algo())
}

#[test]
fn real_tool_fixtures_agree_across_backends() {
    // openssl signs the IMA v3 cases.
    if common::require_tool("openssl").is_none() {
        return;
    }
    let rows = expected_rows();
    assert!(rows.len() >= 30, "expected.tsv has {} rows", rows.len());
    let mut failures = Vec::new();
    let mut flagged: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for backend in backends::all() {
        for (path, kind, verdict, errno, trust) in &rows {
            let certs: Vec<Vec<u8>> = trust.iter().map(|c| cert_der(c)).collect();
            let store = store_trusting(&backend, &certs);
            let v = judge(&store, &fixture(path), kind);
            let want = if errno == "-" {
                verdict.clone()
            } else {
                format!("{verdict} {errno}")
            };
            let doc = item_unsupported(&*backend, &store, &v);
            let what = format!("{} {path} [{}]", backend.name(), trust.join(","));
            if v.backend_unsupported {
                flagged
                    .entry(backend.name())
                    .or_default()
                    .push(path.clone());
                if !doc || v.class == VerdictClass::Valid {
                    failures.push(format!(
                        "{what}: unsupported but {} (documented: {doc})",
                        verdict_str(&v)
                    ));
                }
            } else if doc && v.signer.is_some() && v.class != VerdictClass::Unsigned {
                failures.push(format!(
                    "{what}: documented unsupported but judged {}",
                    verdict_str(&v)
                ));
            } else if verdict_str(&v) != want {
                failures.push(format!("{what}: {} (expected {want})", verdict_str(&v)));
            }
        }
        fixture_extras(&backend, &mut failures);
    }
    eprintln!("unsupported items by backend: {flagged:?}");
    for b in backends::all() {
        let n = flagged.get(b.name()).map_or(0, Vec::len);
        if b.name() == "kernel" {
            assert!(
                n > 0,
                "the kernel backend has no ECDSA: its ECDSA fixtures must be unsupported"
            );
        } else {
            assert_eq!(
                n,
                0,
                "{}: unsupported items {:?}",
                b.name(),
                flagged.get(b.name())
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The X.509 signature path (a PKCS#7 signer embedded in the message, chained to a trusted
/// CA; the same leaf through the secondary keyring's restriction) and IMA v3 signatures.
fn fixture_extras(backend: &Arc<dyn Backend>, failures: &mut Vec<String>) {
    let bad = |n: &str| common::fixtures_dir().join("bad").join(n);
    let name = backend.name();
    // body ‖ PKCS#7 ‖ module_signature ‖ marker, as sign-file appends it.
    let body = read(&bad("body.bin"));
    let p7 = read(&bad("p7-embedded.der"));
    let mut m = body.clone();
    m.extend_from_slice(&p7);
    m.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 0]);
    m.extend_from_slice(&(p7.len() as u32).to_be_bytes());
    m.extend_from_slice(b"~Module signature appended~\n");
    let ca = read(&bad("ca.der"));
    let store = store_trusting(backend, std::slice::from_ref(&ca));
    let v = module::verify_module(&store, &m, module::keyring(&store));
    if v.class != VerdictClass::Valid || v.backend_unsupported {
        failures.push(format!(
            "{name}: embedded-signer module: {}",
            verdict_str(&v)
        ));
    }
    let mut tampered = m.clone();
    tampered[10] ^= 1;
    let v = module::verify_module(&store, &tampered, module::keyring(&store));
    if v.errno != Some(Errno::EKEYREJECTED) {
        failures.push(format!(
            "{name}: tampered embedded-signer module: {}",
            verdict_str(&v)
        ));
    }
    let mut store = store;
    let sec = store.system().secondary.expect("secondary keyring");
    if let Err(e) = store.add_cert(sec, &read(&bad("leaf.der")), AddMode::User) {
        failures.push(format!(
            "{name}: leaf through the secondary restriction: {e}"
        ));
    }
    if let Ok(k) = store.add_cert(sec, &read(&bad("rogue.der")), AddMode::User) {
        failures.push(format!("{name}: rogue certificate linked as {k}"));
    }

    // IMA v3 (fs-verity) signatures made here, and one over the wrong file.
    for (stem, bits) in [("signer-rsa2048", 2048), ("signer-p256", 256)] {
        let cert = read(&fixture(&format!("{stem}.der")));
        let store = store_trusting(backend, std::slice::from_ref(&cert));
        let parsed = store.parse_cert(&cert).expect("parse");
        let skid = parsed.key.ids.skid.clone().expect("SKID");
        let keyid = u32::from_be_bytes(skid[skid.len() - 4..].try_into().unwrap());
        let content = b"an fs-verity protected file\n".repeat(300);
        let fsd = fsverity::digest(HashAlgo::Sha256, &content).unwrap();
        let (id, n) = imasig::v3_file_id(imasig::TYPE_VERITY_DIGSIG, &fsd);
        let signed = digest(HashAlgo::Sha256, &id[..n]);
        let dir = tempfile::tempdir().unwrap();
        let algo = parsed.key.public.algo();
        let key = TestKey {
            label: stem.into(),
            algo,
            bits,
            key_pem: fixture(&format!("{stem}.key.pem")),
            cert: cert.clone(),
        };
        let sig = sign(dir.path(), &key, HashAlgo::Sha256, signed.as_bytes());
        let label = imasig::encode(imasig::TYPE_VERITY_DIGSIG, 3, HashAlgo::Sha256, keyid, &sig);
        let unsupported = !backend.supports(algo, bits, HashAlgo::Sha256);
        for (what, file, ok) in [
            ("v3", &content[..], true),
            ("v3 other file", &b"x"[..], false),
        ] {
            let v = ima::appraise(
                &store,
                file,
                Label::Found(ImaSource::Sidecar, &label),
                ImaPolicy::default(),
            );
            let right = if unsupported {
                v.backend_unsupported && v.class != VerdictClass::Valid
            } else if ok {
                v.class == VerdictClass::Valid && !v.backend_unsupported
            } else {
                v.errno == Some(Errno::EKEYREJECTED) || v.errno == Some(Errno::EBADMSG)
            };
            if !right {
                failures.push(format!("{name}: {stem} {what}: {}", verdict_str(&v)));
            }
        }
    }
}

// =============================================================================================
// the kernel backend against keyctl
// =============================================================================================

/// `keyctl pkey_verify`'s error text → errno name.
#[cfg(feature = "kernel")]
fn errno_of_strerror(msg: &str) -> String {
    let text = msg.rsplit(": ").next().unwrap_or(msg).trim();
    for (s, e) in [
        ("Invalid argument", "EINVAL"),
        ("Bad message", "EBADMSG"),
        ("Key was rejected by service", "EKEYREJECTED"),
        ("Package not installed", "ENOPKG"),
        ("No such file or directory", "ENOENT"),
        ("Required key not available", "ENOKEY"),
        ("Permission denied", "EACCES"),
    ] {
        if text == s {
            return e.into();
        }
    }
    format!("E?({})", msg.trim())
}

#[cfg(feature = "kernel")]
#[test]
fn kernel_backend_matches_keyctl() {
    use trustbench::crypto::kernel::KernelBackend;
    if common::require_tool("openssl").is_none() || common::require_tool("keyctl").is_none() {
        return;
    }
    let kernel = match KernelBackend::shared() {
        Ok(k) => k,
        Err(why) => {
            common::skip_or_fail("the kernel backend is unavailable", &why);
            return;
        }
    };
    let v = vectors();
    let profile = CryptoProfile::full();
    let reference: Arc<dyn Backend> = Arc::new(crypto::aws_lc::AwsLc);
    let (_rs, ref_keys) = parse_keys(&reference, &v.keys);
    let kb: Arc<dyn Backend> = kernel.clone();
    let (_ks, kernel_keys) = parse_keys(&kb, &v.keys);
    let loaded: Vec<Option<_>> = v
        .keys
        .iter()
        .map(|k| {
            (k.algo == PkeyAlgo::Rsa)
                .then(|| kernel.load(&k.cert).expect("kernel loads the certificate"))
        })
        .collect();
    let work = tempfile::tempdir().unwrap();
    let mut script = String::from("set -u\nE=$(mktemp)\nv() { if keyctl pkey_verify \"$@\" 2>\"$E\" >/dev/null; then echo ok; else echo \"err $(tr '\\n' ' ' < \"$E\")\"; fi; }\n");
    let mut asked = Vec::new();
    let mut failures = Vec::new();
    for (i, p) in v.probes.iter().enumerate() {
        let Some(kk) = &loaded[p.key] else { continue };
        let rec = p.record(&v.keys, true);
        let want = ref_keys[p.key]
            .key
            .public
            .check(&rec, &profile)
            .expect("default backend");
        let reaches_math = ref_keys[p.key].key.public.rules(&rec, &profile).is_none();
        if reaches_math {
            // The kernel's own errno for the call the backend makes equals the errno the
            // rules above the trait give.
            let own = kk.pkey_verify(p.digest.algo(), p.digest.as_bytes(), &p.sig);
            if own != want {
                failures.push(format!("{}: kernel's own {own:?}, suite {want:?}", p.label));
            }
            let got = kernel_keys[p.key].key.public.check(&rec, &profile);
            if got != Ok(want) {
                failures.push(format!(
                    "{}: kernel backend {}, suite {want:?}",
                    p.label,
                    show(&got)
                ));
            }
        }
        // keyctl zero-fills a signature shorter than the key (a quirk of the tool's path,
        // not of the verifier): only full-length signatures are compared with it.
        if p.sig.len() != v.keys[p.key].bits / 8 {
            continue;
        }
        let dg = work.path().join(format!("d{i}"));
        let sg = work.path().join(format!("s{i}"));
        std::fs::write(&dg, p.digest.as_bytes()).unwrap();
        std::fs::write(&sg, &p.sig).unwrap();
        script.push_str(&format!(
            "echo \"P{i} $(v {} 0 {} {} enc=pkcs1 hash={})\"\n",
            kk.serial(),
            s(&dg),
            s(&sg),
            p.digest.algo().name()
        ));
        asked.push((i, want));
    }
    let sh = work.path().join("verify.sh");
    std::fs::write(&sh, script).unwrap();
    let out = common::run_ok(Command::new("bash").arg(&sh));
    let mut seen = BTreeMap::new();
    for l in out.lines() {
        let (h, rest) = l.split_once(' ').unwrap();
        let i: usize = h.trim_start_matches('P').parse().unwrap();
        let e = if rest == "ok" {
            "ok".to_string()
        } else {
            errno_of_strerror(rest.trim_start_matches("err "))
        };
        seen.insert(i, e);
    }
    assert_eq!(
        seen.len(),
        asked.len(),
        "keyctl answered {} of {}:\n{out}",
        seen.len(),
        asked.len()
    );
    for (i, want) in asked {
        let want_s = want.err().map_or("ok".to_string(), |e| e.to_string());
        if seen[&i] != want_s {
            failures.push(format!(
                "{}: keyctl pkey_verify {}, suite {want_s}",
                v.probes[i].label, seen[&i]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// =============================================================================================
// the registry
// =============================================================================================

#[test]
fn registry_lists_every_compiled_backend() {
    // The default first: mb where the CPU has AVX-512 IFMA, else aws-lc.
    let mut want = if crypto::default_backend().name() == "mb" {
        vec!["mb", "aws-lc"]
    } else {
        vec!["aws-lc", "mb"]
    };
    if cfg!(feature = "ring") {
        want.push("ring");
    }
    if cfg!(feature = "rustcrypto") {
        want.push("rustcrypto");
    }
    if cfg!(feature = "openssl") {
        want.push("openssl");
    }
    if cfg!(feature = "kernel") {
        want.push("kernel");
    }
    assert_eq!(backends::names(), want);
    for l in backends::compiled() {
        match &l.backend {
            Ok(b) => {
                assert_eq!(b.name(), l.name);
                let caps = backends::capabilities(&**b);
                assert!(!caps.library.is_empty());
                assert!(
                    caps.rows.iter().any(|r| r.supported),
                    "{} supports nothing",
                    l.name
                );
                // Every backend does RSA-2048 with sha256.
                assert!(
                    b.supports(PkeyAlgo::Rsa, 2048, HashAlgo::Sha256),
                    "{}",
                    l.name
                );
            }
            Err(why) => {
                assert_eq!(
                    l.name, "kernel",
                    "only the kernel backend may be unavailable"
                );
                common::skip_or_fail("the kernel backend is unavailable", why);
            }
        }
    }
    // ring says its digest cost is inside its verify; the kernel has no ECDSA.
    if let Ok(r) = backends::by_name("ring") {
        assert!(r.hashes_message());
    }
    if let Ok(k) = backends::by_name("kernel") {
        assert!(!k.hashes_message());
        assert!(!k.supports(
            PkeyAlgo::Ecdsa(trustbench::crypto::Curve::P256),
            256,
            HashAlgo::Sha256
        ));
    }
    // An unsupported verification never yields a verdict of its own.
    assert_ne!(Unsupported::Algorithm.reason(), "");
}
