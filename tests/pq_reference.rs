//! ML-DSA (FIPS 204) against reference implementations nobody on the project wrote: pyca
//! `cryptography` (OpenSSL 4) and `dilithium-py`, driven through `tests/pq/pqref.py`
//! (`tests/support/pq.rs`), checked against the two Rust implementations trustbench's
//! backends are built on, aws-lc-rs and RustCrypto `ml-dsa` (the latter when the
//! `rustcrypto` or `generator` feature compiles it in). "We verify theirs; they verify ours."
//!
//! The first tests pin what the reference tools and the underlying libraries agree on; the
//! last ones hold trustbench's own verifier (`PublicKey::check`, every backend) to it.
//!
//! * `one_seed_one_key_everywhere`: FIPS 204 KeyGen_internal from one seed gives the same
//!   public key in both Python tools, aws-lc-rs and ml-dsa.
//! * `python_signatures_verify_everywhere`: each tool's signature verifies under the other
//!   tool, aws-lc-rs and ml-dsa; another message and a non-empty context fail everywhere
//!   (the context signature does verify under its own context, so the failure is the
//!   context's).
//! * `rust_signatures_verify_under_python`: aws-lc-rs's (hedged) and ml-dsa's (deterministic)
//!   signatures verify under both Python tools.
//! * `kat_files_verify_under_rust`: `tests/data/mldsa/kat-*.json` (made by both tools plus
//!   NIST ACVP vectors) give their recorded verdicts under aws-lc-rs and ml-dsa; the ACVP
//!   keyGen seeds give the recorded keys.
//! * `mldsa_certificates_verify`: certificates made by `cryptography`'s CertificateBuilder
//!   (ML-DSA-87 CA → ML-DSA-65 leaf, RSA-4096 CA → ML-DSA-44 leaf, P-384 CA → ML-DSA-87 leaf)
//!   verify with `verify-cert`; the ML-DSA signature verifies with aws-lc-rs over the exact
//!   TBS span `tbs` writes, which equals x509-parser's; SKID/AKID, basicConstraints and
//!   keyUsage are what the kernel's keyring restrictions look for.
//!
//! * `kat_files_through_every_backend`: every KAT vector through every backend of
//!   `backends::all()` via `PublicKey::check` (`CryptoProfile::full()`): a backend that
//!   implements ML-DSA gives exactly the vector's `kernel_expected` / `kernel_errno`; one that
//!   does not gives `Unsupported::Algorithm`, or the same errno when the kernel decides it
//!   before the arithmetic (key length `EINVAL`, malformed signature `EBADMSG`). Unpinned
//!   ACVP rejections: `EBADMSG` exactly when RustCrypto's sigDecode refuses the signature.
//! * `python_signatures_through_every_backend`, `rust_signatures_through_every_backend`:
//!   fresh signatures from both Python tools and both Rust signers, all three sets.
//!
//! Needs the reference tools (`bash scripts/pq-venv.sh`; found automatically): when they are
//! unavailable the tests fail under `CI=true` and skip loudly otherwise.

mod common;
#[path = "support/pq.rs"]
mod pq;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{
    self as sig, KeyPair, PqdsaKeyPair, PqdsaSigningAlgorithm, PqdsaVerificationAlgorithm,
    UnparsedPublicKey,
};
use pq::{Signer, SETS};
use std::path::Path;
use trustbench::crypto::{
    backends, Checked, CryptoProfile, Encoding, KeySource, MlDsa, PkeyAlgo, PublicKey, SigAlgo,
    SignatureRecord, Signed, Unsupported,
};
use trustbench::errno::{Errno, KResult};

/// aws-lc-rs's verification and signing algorithms for a pqref.py set name.
fn aws_algs(
    set: &str,
) -> (
    &'static PqdsaVerificationAlgorithm,
    &'static PqdsaSigningAlgorithm,
) {
    match set {
        "ml-dsa-44" => (&sig::ML_DSA_44, &sig::ML_DSA_44_SIGNING),
        "ml-dsa-65" => (&sig::ML_DSA_65, &sig::ML_DSA_65_SIGNING),
        "ml-dsa-87" => (&sig::ML_DSA_87, &sig::ML_DSA_87_SIGNING),
        other => panic!("not a set: {other}"),
    }
}

/// aws-lc-rs: pure ML-DSA, empty context (it has no other), raw pkEncode key.
fn aws_verify(set: &str, pk: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    UnparsedPublicKey::new(aws_algs(set).0, pk)
        .verify(msg, sig)
        .is_ok()
}

/// The public key aws-lc-rs derives from a 32-byte seed.
fn aws_pk_from_seed(set: &str, seed: &[u8]) -> Vec<u8> {
    let kp = PqdsaKeyPair::from_seed(aws_algs(set).1, seed).expect("aws-lc from_seed");
    kp.public_key().as_ref().to_vec()
}

fn aws_sign(set: &str, seed: &[u8], msg: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let alg = aws_algs(set).1;
    let kp = PqdsaKeyPair::from_seed(alg, seed).expect("aws-lc from_seed");
    let mut out = vec![0u8; alg.signature_len()];
    let n = kp.sign(msg, &mut out).expect("aws-lc sign");
    out.truncate(n);
    (kp.public_key().as_ref().to_vec(), out)
}

/// RustCrypto `ml-dsa`, compiled in with the `rustcrypto` or `generator` feature.
#[cfg(any(feature = "rustcrypto", feature = "generator"))]
mod rc {
    use ml_dsa::{
        EncodedVerifyingKey, ExpandedSigningKey, MlDsa44, MlDsa65, MlDsa87, MlDsaParams, Signature,
        VerifyingKey,
    };

    fn verify_p<P: MlDsaParams>(pk: &[u8], msg: &[u8], ctx: &[u8], sig: &[u8]) -> bool {
        let Ok(enc) = EncodedVerifyingKey::<P>::try_from(pk) else {
            return false; // wrong length
        };
        // Err: wrong length, malformed hint or z out of range.
        let Ok(sig) = Signature::<P>::try_from(sig) else {
            return false;
        };
        VerifyingKey::<P>::decode(&enc).verify_with_context(msg, ctx, &sig)
    }

    /// Pure ML-DSA verification with context `ctx`.
    pub fn verify(set: &str, pk: &[u8], msg: &[u8], ctx: &[u8], sig: &[u8]) -> bool {
        match set {
            "ml-dsa-44" => verify_p::<MlDsa44>(pk, msg, ctx, sig),
            "ml-dsa-65" => verify_p::<MlDsa65>(pk, msg, ctx, sig),
            "ml-dsa-87" => verify_p::<MlDsa87>(pk, msg, ctx, sig),
            other => panic!("not a set: {other}"),
        }
    }

    fn keypair_p<P: MlDsaParams>(seed: &[u8], msg: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let seed = ml_dsa::B32::try_from(seed).expect("32-byte seed");
        let sk = ExpandedSigningKey::<P>::from_seed(&seed);
        let sig = sk.sign_deterministic(msg, b"").expect("ml-dsa sign");
        (sk.verifying_key().encode().to_vec(), sig.encode().to_vec())
    }

    /// (pkEncode of the seed's key, deterministic signature of `msg` with empty context).
    pub fn keypair_and_sign(set: &str, seed: &[u8], msg: &[u8]) -> (Vec<u8>, Vec<u8>) {
        match set {
            "ml-dsa-44" => keypair_p::<MlDsa44>(seed, msg),
            "ml-dsa-65" => keypair_p::<MlDsa65>(seed, msg),
            "ml-dsa-87" => keypair_p::<MlDsa87>(seed, msg),
            other => panic!("not a set: {other}"),
        }
    }
}

/// Every compiled Rust verifier's verdict with the empty context (the kernel's), by name.
fn rust_verdicts(set: &str, pk: &[u8], msg: &[u8], sig: &[u8]) -> Vec<(&'static str, bool)> {
    #[allow(unused_mut)]
    let mut v = vec![("aws-lc-rs", aws_verify(set, pk, msg, sig))];
    #[cfg(any(feature = "rustcrypto", feature = "generator"))]
    v.push(("ml-dsa", rc::verify(set, pk, msg, b"", sig)));
    v
}

fn assert_all(what: &str, verdicts: &[(&str, bool)], want: bool) {
    for (who, got) in verdicts {
        assert_eq!(*got, want, "{what}: {who} says {got}, expected {want}");
    }
}

/// A seed fixed by a label, so every run uses the same keys.
fn seed(label: &str) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, format!("pq_reference/{label}").as_bytes());
    d.as_ref().try_into().expect("32 bytes")
}

#[test]
fn one_seed_one_key_everywhere() {
    let Some(pq) = pq::pqref() else { return };
    for set in SETS {
        let work = tempfile::tempdir().unwrap();
        let s = seed(&format!("keygen/{set}"));
        let crypto = pq.keygen(set, Signer::Cryptography, Some(&s), &work.path().join("c"));
        let dpy = pq.keygen(set, Signer::Dilithium, Some(&s), &work.path().join("d"));
        assert_eq!(crypto, dpy, "{set}: cryptography and dilithium-py differ");
        assert_eq!(
            crypto,
            aws_pk_from_seed(set, &s),
            "{set}: aws-lc-rs differs"
        );
        #[cfg(any(feature = "rustcrypto", feature = "generator"))]
        assert_eq!(
            crypto,
            rc::keypair_and_sign(set, &s, b"").0,
            "{set}: ml-dsa differs"
        );
        assert_eq!(crypto.len(), aws_algs(set).1.public_key_len());
    }
}

#[test]
fn python_signatures_verify_everywhere() {
    let Some(pq) = pq::pqref() else { return };
    let msg = b"a module's bytes, as the kernel hands them to ML-DSA";
    let other = b"a module's bytes, as the kernel hands them to ML-DSA!";
    let ctx = b"trustbench";
    for set in SETS {
        let work = tempfile::tempdir().unwrap();
        for signer in Signer::ALL {
            let dir = work.path().join(signer.name());
            let pk = pq.keygen(set, signer, Some(&seed(&format!("{set}/{signer:?}"))), &dir);
            let sig = pq.sign(set, signer, &dir, msg, b"");
            assert_eq!(
                sig.len(),
                aws_algs(set).1.signature_len(),
                "{set} {signer:?}"
            );
            let what = format!("{set}, signed by {signer:?}");

            let mut verdicts = rust_verdicts(set, &pk, msg, &sig);
            for v in Signer::ALL {
                verdicts.push((v.name(), pq.verify(set, v, &pk, msg, &sig, b"")));
            }
            assert_all(&what, &verdicts, true);

            // Another message: rejected everywhere.
            let mut verdicts = rust_verdicts(set, &pk, other, &sig);
            for v in Signer::ALL {
                verdicts.push((v.name(), pq.verify(set, v, &pk, other, &sig, b"")));
            }
            assert_all(&format!("{what}, other message"), &verdicts, false);

            // A non-empty context: the signature is good under its context (Python tools,
            // ml-dsa) and rejected under the empty one everywhere, as by the kernel.
            let ctx_sig = pq.sign(set, signer, &dir, msg, ctx);
            #[allow(unused_mut)]
            let mut under_ctx: Vec<(&str, bool)> = Signer::ALL
                .iter()
                .map(|v| (v.name(), pq.verify(set, *v, &pk, msg, &ctx_sig, ctx)))
                .collect();
            #[cfg(any(feature = "rustcrypto", feature = "generator"))]
            under_ctx.push(("ml-dsa", rc::verify(set, &pk, msg, ctx, &ctx_sig)));
            assert_all(&format!("{what}, under its context"), &under_ctx, true);
            let mut verdicts = rust_verdicts(set, &pk, msg, &ctx_sig);
            for v in Signer::ALL {
                verdicts.push((v.name(), pq.verify(set, v, &pk, msg, &ctx_sig, b"")));
            }
            assert_all(
                &format!("{what}, context signature, empty context"),
                &verdicts,
                false,
            );
            // And the empty-context signature under a non-empty context.
            for v in Signer::ALL {
                assert!(
                    !pq.verify(set, v, &pk, msg, &sig, ctx),
                    "{what}: {v:?} accepts it under a context it was not made with"
                );
            }
        }
    }
}

#[test]
fn rust_signatures_verify_under_python() {
    let Some(pq) = pq::pqref() else { return };
    let msg = b"signed in Rust";
    for set in SETS {
        #[allow(unused_mut)]
        let mut made = vec![(
            "aws-lc-rs",
            aws_sign(set, &seed(&format!("aws/{set}")), msg),
        )];
        #[cfg(any(feature = "rustcrypto", feature = "generator"))]
        made.push((
            "ml-dsa",
            rc::keypair_and_sign(set, &seed(&format!("rc/{set}")), msg),
        ));
        for (who, (pk, sig)) in made {
            for v in Signer::ALL {
                assert!(
                    pq.verify(set, v, &pk, msg, &sig, b""),
                    "{set}: {v:?} rejects {who}'s signature"
                );
                assert!(
                    !pq.verify(set, v, &pk, b"signed in Rust?", &sig, b""),
                    "{set}: {v:?} accepts {who}'s signature over another message"
                );
                let mut flipped = sig.clone();
                flipped[0] ^= 1;
                assert!(
                    !pq.verify(set, v, &pk, msg, &flipped, b""),
                    "{set}: {v:?} accepts {who}'s signature with a flipped byte"
                );
            }
        }
    }
}

/// The committed vectors need no Python: this test runs (and must pass) everywhere.
#[test]
fn kat_files_verify_under_rust() {
    for set in SETS {
        let kat = pq::load_kat(set);
        assert_eq!(kat.parameter_set.to_lowercase(), set);
        // The file must keep what makes it a known-answer test: valid vectors from all three
        // sources and each kind of rejection.
        for source in ["cryptography", "dilithium-py", "acvp"] {
            assert!(
                kat.vectors
                    .iter()
                    .any(|v| v.source == source && v.expected && v.kernel_expected),
                "{set}: no valid empty-context vector from {source}"
            );
        }
        for kind in [
            "wrong_message",
            "flipped_sig_byte",
            "wrong_length_pk",
            "nonempty_context",
            "wrong_length_sig",
            "acvp_sigver",
        ] {
            assert!(
                kat.vectors.iter().any(|v| v.kind == kind),
                "{set}: no {kind} vector"
            );
        }
        assert!(!kat.keygen.is_empty(), "{set}: no keyGen vector");

        for v in &kat.vectors {
            let what = format!("{set} {}", v.id);
            assert_eq!(
                aws_verify(set, &v.pk, &v.msg, &v.sig),
                v.kernel_expected,
                "{what}: aws-lc-rs (empty context)"
            );
            #[cfg(any(feature = "rustcrypto", feature = "generator"))]
            {
                assert_eq!(
                    rc::verify(set, &v.pk, &v.msg, &v.ctx, &v.sig),
                    v.expected,
                    "{what}: ml-dsa with the vector's context"
                );
                assert_eq!(
                    rc::verify(set, &v.pk, &v.msg, b"", &v.sig),
                    v.kernel_expected,
                    "{what}: ml-dsa with the empty context"
                );
            }
            // A pinned errno is only ever given for a rejection.
            assert!(
                v.kernel_errno.is_none() || !v.kernel_expected,
                "{what}: errno on a valid vector"
            );
        }
        for k in &kat.keygen {
            let pk = aws_pk_from_seed(set, &k.seed);
            assert_eq!(
                digest::digest(&digest::SHA256, &pk).as_ref(),
                &k.pk_sha256[..],
                "{set} {}: aws-lc-rs derives another key",
                k.id
            );
            #[cfg(any(feature = "rustcrypto", feature = "generator"))]
            assert_eq!(
                digest::digest(&digest::SHA256, &rc::keypair_and_sign(set, &k.seed, b"").0)
                    .as_ref(),
                &k.pk_sha256[..],
                "{set} {}: ml-dsa derives another key",
                k.id
            );
        }
    }
}

/// What a certificate says, read with x509-parser (a dependency already).
struct CertView {
    tbs: Vec<u8>,
    sig: Vec<u8>,
    /// subjectPublicKey BIT STRING contents (ML-DSA: pkEncode).
    spk: Vec<u8>,
    skid: Option<Vec<u8>>,
    akid: Option<Vec<u8>>,
    ca: bool,
    key_cert_sign: bool,
    digital_signature: bool,
}

fn view(der: &[u8]) -> CertView {
    use x509_parser::extensions::ParsedExtension;
    let (rest, c) = x509_parser::parse_x509_certificate(der).expect("certificate parses");
    assert!(rest.is_empty(), "trailing bytes after the certificate");
    let mut v = CertView {
        tbs: c.tbs_certificate.as_ref().to_vec(),
        sig: c.signature_value.data.to_vec(),
        spk: c.public_key().subject_public_key.data.to_vec(),
        skid: None,
        akid: None,
        ca: false,
        key_cert_sign: false,
        digital_signature: false,
    };
    for ext in c.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => v.skid = Some(k.0.to_vec()),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                v.akid = a.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            ParsedExtension::BasicConstraints(b) => {
                assert!(ext.critical, "basicConstraints is critical");
                v.ca = b.ca
            }
            ParsedExtension::KeyUsage(k) => {
                assert!(ext.critical, "keyUsage is critical");
                v.key_cert_sign = k.key_cert_sign();
                v.digital_signature = k.digital_signature();
            }
            _ => {}
        }
    }
    v
}

fn sha1(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .to_vec()
}

/// A CA of `alg` (self-signed) and a leaf of ML-DSA set `leaf_set` it issues.
fn ca_and_leaf(pq: &pq::PqRef, work: &Path, alg: &str, leaf_set: &str) -> (Vec<u8>, Vec<u8>) {
    let ca_dir = work.join(format!("ca-{alg}"));
    let leaf_dir = work.join(format!("leaf-{leaf_set}"));
    let ca_seed = (alg != "rsa-4096").then(|| seed(&format!("ca/{alg}")));
    pq.keygen(
        alg,
        Signer::Cryptography,
        ca_seed.as_ref().map(|s| &s[..]),
        &ca_dir,
    );
    // The leaf key from dilithium-py: certificates need not come from the same tool's keys.
    pq.keygen(
        leaf_set,
        Signer::Dilithium,
        Some(&seed(&format!("leaf/{leaf_set}"))),
        &leaf_dir,
    );
    let ca = pq.cert(&ca_dir, &format!("Test CA {alg}"), true, None);
    let leaf = pq.cert(
        &leaf_dir,
        &format!("Test leaf {leaf_set}"),
        false,
        Some((&ca, &ca_dir)),
    );
    (ca, leaf)
}

#[test]
fn mldsa_certificates_verify() {
    let Some(pq) = pq::pqref() else { return };
    let work = tempfile::tempdir().unwrap();
    let chains = [
        ("ml-dsa-87", "ml-dsa-65"),
        ("rsa-4096", "ml-dsa-44"),
        ("p-384", "ml-dsa-87"),
    ];
    let mut made = Vec::new();
    for (ca_alg, leaf_set) in chains {
        let (ca, leaf) = ca_and_leaf(&pq, work.path(), ca_alg, leaf_set);
        let what = format!("{ca_alg} CA → {leaf_set} leaf");
        assert!(pq.verify_cert(&ca, &ca), "{what}: CA self-signature");
        assert!(pq.verify_cert(&leaf, &ca), "{what}: leaf under its CA");
        assert!(
            !pq.verify_cert(&ca, &leaf),
            "{what}: CA accepted under the leaf's key"
        );

        let (c, l) = (view(&ca), view(&leaf));
        // The TBS span pqref.py writes is the one x509-parser sees: what ML-DSA signs.
        assert_eq!(pq.tbs(&leaf), l.tbs, "{what}: leaf TBS span");
        assert_eq!(pq.tbs(&ca), c.tbs, "{what}: CA TBS span");
        // The leaf's key is the ML-DSA pkEncode, named by SKID method 1; AKID names the CA
        // by its SKID (restrict_link_by_signature finds the issuer that way).
        assert_eq!(
            l.spk.len(),
            aws_algs(leaf_set).1.public_key_len(),
            "{what}: leaf key"
        );
        assert_eq!(
            l.skid.as_deref(),
            Some(&sha1(&l.spk)[..]),
            "{what}: leaf SKID"
        );
        assert_eq!(
            c.skid.as_deref(),
            Some(&sha1(&c.spk)[..]),
            "{what}: CA SKID"
        );
        assert_eq!(l.akid, c.skid, "{what}: leaf AKID = CA SKID");
        assert_eq!(c.akid, c.skid, "{what}: self-signed AKID = own SKID");
        assert!(
            c.ca && c.key_cert_sign && !c.digital_signature,
            "{what}: CA extensions"
        );
        assert!(
            !l.ca && l.digital_signature && !l.key_cert_sign,
            "{what}: leaf extensions"
        );

        // The issuer's signature over the TBS bytes, checked in Rust.
        let ok = match ca_alg {
            "rsa-4096" => UnparsedPublicKey::new(&sig::RSA_PKCS1_2048_8192_SHA256, &c.spk)
                .verify(&l.tbs, &l.sig)
                .is_ok(),
            "p-384" => UnparsedPublicKey::new(&sig::ECDSA_P384_SHA384_ASN1, &c.spk)
                .verify(&l.tbs, &l.sig)
                .is_ok(),
            set => {
                assert_all(&what, &rust_verdicts(set, &c.spk, &l.tbs, &l.sig), true);
                let mut other = l.tbs.clone();
                *other.last_mut().unwrap() ^= 1;
                assert_all(
                    &format!("{what}, altered TBS"),
                    &rust_verdicts(set, &c.spk, &other, &l.sig),
                    false,
                );
                true
            }
        };
        assert!(ok, "{what}: the CA's signature over the leaf's TBS");
        // The ML-DSA self-signature too.
        if let Some(set) = ca_alg.strip_prefix("ml-dsa").map(|_| ca_alg) {
            assert_all(
                &format!("{what}: CA self-signature"),
                &rust_verdicts(set, &c.spk, &c.tbs, &c.sig),
                true,
            );
        }
        made.push((ca_alg, ca, leaf));
    }
    // A leaf is not accepted under another CA's key (other algorithm or other ML-DSA set).
    for (i, (ca_alg, _, leaf)) in made.iter().enumerate() {
        for (j, (other_alg, other_ca, _)) in made.iter().enumerate() {
            if i != j {
                assert!(
                    !pq.verify_cert(leaf, other_ca),
                    "leaf of the {ca_alg} CA accepted under the {other_alg} CA"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// trustbench's own verifier: every backend through `PublicKey::check`
// ---------------------------------------------------------------------------------------------

/// The parameter set of a pqref.py set name.
fn level(set: &str) -> MlDsa {
    match set {
        "ml-dsa-44" => MlDsa::L44,
        "ml-dsa-65" => MlDsa::L65,
        "ml-dsa-87" => MlDsa::L87,
        other => panic!("not a set: {other}"),
    }
}

/// `PublicKey::check` of a pure ML-DSA signature over `msg` (the kernel's record: raw
/// encoding, hash "none", the data itself) under `CryptoProfile::full()`, by every usable
/// backend: (backend name, whether it implements this set, outcome).
fn backend_checks(
    set: &str,
    pk: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> Vec<(&'static str, bool, Checked)> {
    let l = level(set);
    let profile = CryptoProfile::full();
    backends::all()
        .iter()
        .map(|b| {
            let key = PublicKey::new(
                &KeySource {
                    algo: PkeyAlgo::MlDsa(l),
                    key: pk,
                    cert: None,
                },
                &**b,
            );
            let rec = SignatureRecord {
                algo: Some(SigAlgo::MlDsa(l)),
                encoding: Encoding::Raw,
                signed: Signed::Data {
                    hash: None,
                    data: msg,
                },
                signature: sig,
                message: None,
            };
            (b.name(), b.supports_mldsa(l), key.check(&rec, &profile))
        })
        .collect()
}

/// Whether the kernel decides `e` before any arithmetic (so that a backend without ML-DSA
/// gives it too): a key of the wrong length (`EINVAL`) or a malformed signature (`EBADMSG`).
fn decided_before_arithmetic(e: Errno) -> bool {
    matches!(e, Errno::EINVAL | Errno::EBADMSG)
}

/// Every backend against the kernel's answer `want` (`Ok(())` or the errno): a backend
/// implementing ML-DSA gives exactly `want`; one that does not gives the same errno when
/// the kernel's rules decide it before the arithmetic (every backend shares those rules)
/// and `Unsupported::Algorithm` otherwise (never a verdict of its own).
fn assert_backends(what: &str, checks: &[(&str, bool, Checked)], want: KResult<()>) {
    let mut implementing = 0;
    for (name, supports, got) in checks {
        let expect: Checked = match want {
            _ if *supports => Ok(want),
            Err(e) if decided_before_arithmetic(e) => Ok(want),
            _ => Err(Unsupported::Algorithm),
        };
        assert_eq!(*got, expect, "{what}: backend {name}");
        implementing += usize::from(*supports);
    }
    assert!(
        implementing >= 2,
        "{what}: fewer than two backends implement ML-DSA ({checks:?})"
    );
}

/// Whether RustCrypto's sigDecode (with its z bound and hint checks) accepts `sig`: the
/// independent opinion on "malformed" (`EBADMSG`) for vectors that pin no errno.
#[cfg(any(feature = "rustcrypto", feature = "generator"))]
fn rustcrypto_decodes(set: &str, sig: &[u8]) -> bool {
    use ml_dsa::{MlDsa44, MlDsa65, MlDsa87, Signature};
    match set {
        "ml-dsa-44" => Signature::<MlDsa44>::try_from(sig).is_ok(),
        "ml-dsa-65" => Signature::<MlDsa65>::try_from(sig).is_ok(),
        "ml-dsa-87" => Signature::<MlDsa87>::try_from(sig).is_ok(),
        other => panic!("not a set: {other}"),
    }
}

/// The committed vectors through every backend of trustbench: no Python needed.
#[test]
fn kat_files_through_every_backend() {
    let mut pinned = 0;
    for set in SETS {
        for v in &pq::load_kat(set).vectors {
            let what = format!("{set} {} ({})", v.id, v.kind);
            let checks = backend_checks(set, &v.pk, &v.msg, &v.sig);
            if v.kernel_expected {
                assert_backends(&what, &checks, Ok(()));
                continue;
            }
            let errno = match &v.kernel_errno {
                Some(name) => {
                    pinned += 1;
                    Errno::from_name(name).unwrap_or_else(|| panic!("{what}: errno {name}"))
                }
                None => {
                    // Unpinned (ACVP) rejections: whatever the implementing backends say, it
                    // is one of the verifier's two answers, the same from all of them.
                    let got: Vec<&Checked> = checks.iter().filter(|c| c.1).map(|c| &c.2).collect();
                    let first = *got[0];
                    assert!(
                        matches!(first, Ok(Err(Errno::EBADMSG | Errno::EKEYREJECTED))),
                        "{what}: {first:?}"
                    );
                    assert!(got.iter().all(|g| **g == first), "{what}: {checks:?}");
                    first.expect("checked above").expect_err("checked above")
                }
            };
            assert_backends(&what, &checks, Err(errno));
            // "Malformed" agrees with RustCrypto's decoder (for a key of the right length).
            #[cfg(any(feature = "rustcrypto", feature = "generator"))]
            if v.pk.len() == level(set).public_key_len() {
                assert_eq!(
                    errno == Errno::EBADMSG,
                    !rustcrypto_decodes(set, &v.sig),
                    "{what}: EBADMSG vs RustCrypto's sigDecode"
                );
            }
        }
    }
    assert!(pinned >= 18, "only {pinned} vectors pin an errno");
}

/// Fresh signatures from both Python signers, all three sets, through every backend: valid
/// → `Ok`; another message, a non-empty context, a flipped byte → `EKEYREJECTED`; a
/// truncated signature → `EBADMSG`; a key one byte short → `EINVAL`.
#[test]
fn python_signatures_through_every_backend() {
    let Some(pq) = pq::pqref() else { return };
    let msg = b"module content [0, C), as the kernel hands it to ML-DSA";
    for set in SETS {
        let work = tempfile::tempdir().unwrap();
        for signer in Signer::ALL {
            let dir = work.path().join(signer.name());
            let pk = pq.keygen(
                set,
                signer,
                Some(&seed(&format!("backends/{set}/{signer:?}"))),
                &dir,
            );
            let sig = pq.sign(set, signer, &dir, msg, b"");
            let what = format!("{set}, signed by {signer:?}");
            assert_backends(&what, &backend_checks(set, &pk, msg, &sig), Ok(()));
            assert_backends(
                &format!("{what}, other message"),
                &backend_checks(set, &pk, b"another message", &sig),
                Err(Errno::EKEYREJECTED),
            );
            let ctx_sig = pq.sign(set, signer, &dir, msg, b"ctx");
            assert_backends(
                &format!("{what}, context signature"),
                &backend_checks(set, &pk, msg, &ctx_sig),
                Err(Errno::EKEYREJECTED),
            );
            let mut flipped = sig.clone();
            flipped[3] ^= 0x40; // inside c~: well-formed, wrong
            assert_backends(
                &format!("{what}, flipped c~ byte"),
                &backend_checks(set, &pk, msg, &flipped),
                Err(Errno::EKEYREJECTED),
            );
            assert_backends(
                &format!("{what}, truncated"),
                &backend_checks(set, &pk, msg, &sig[..sig.len() - 1]),
                Err(Errno::EBADMSG),
            );
            assert_backends(
                &format!("{what}, short key"),
                &backend_checks(set, &pk[..pk.len() - 1], msg, &sig),
                Err(Errno::EINVAL),
            );
        }
    }
}

/// The Rust signers' signatures (aws-lc-rs hedged, ml-dsa deterministic) through every
/// backend too: what the generator writes is what every backend accepts.
#[test]
fn rust_signatures_through_every_backend() {
    let msg = b"signed in Rust";
    for set in SETS {
        #[allow(unused_mut)]
        let mut made = vec![(
            "aws-lc-rs",
            aws_sign(set, &seed(&format!("aws-b/{set}")), msg),
        )];
        #[cfg(any(feature = "rustcrypto", feature = "generator"))]
        made.push((
            "ml-dsa",
            rc::keypair_and_sign(set, &seed(&format!("rc-b/{set}")), msg),
        ));
        for (who, (pk, sig)) in made {
            let what = format!("{set}, signed by {who}");
            assert_backends(&what, &backend_checks(set, &pk, msg, &sig), Ok(()));
            assert_backends(
                &format!("{what}, other message"),
                &backend_checks(set, &pk, b"signed in Rust?", &sig),
                Err(Errno::EKEYREJECTED),
            );
        }
    }
}

// The X.509 admission of these certificates through real keyring restrictions, the errno
// split for crafted malformed signatures (z out of range, each malformed hint packing), and
// modules, IMA v3 and the profile differences are in tests/mldsa_kernel.rs.
