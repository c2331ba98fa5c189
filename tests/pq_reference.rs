//! ML-DSA (FIPS 204) against reference implementations nobody on the project wrote: pyca
//! `cryptography` (OpenSSL 4) and `dilithium-py`, driven through `tests/pq/pqref.py`
//! (`tests/support/pq.rs`), checked against the two Rust implementations trustbench's
//! backends are built on, aws-lc-rs and RustCrypto `ml-dsa` (the latter when the
//! `rustcrypto` or `generator` feature compiles it in). "We verify theirs; they verify ours."
//!
//! This file does not use trustbench's own ML-DSA verifier (see the INTEGRATION block at the
//! end): it pins what the reference tools and the underlying libraries agree on, so the
//! verifier can later be held to it.
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

// INTEGRATION: once trustbench's own ML-DSA verifier lands (src/crypto/mldsa.rs and the
// backends' ML-DSA arms), the integrator should add here:
//  * kat_files_verify_under_rust: build each vector's key with
//    `trustbench::crypto::PublicKey` for `PkeyAlgo::MlDsa(set)` and run it through every
//    `trustbench::crypto::backends::all()` backend via `PublicKey::check` (empty context,
//    the kernel's `Signed` message form): the verdict must be `kernel_expected`, and where
//    `kernel_errno` is set the errno must be exactly it (EKEYREJECTED for mismatches and
//    context signatures, EBADMSG for wrong-length signatures, EINVAL for wrong-length
//    keys); for ACVP rejections without a pinned errno, EBADMSG or EKEYREJECTED, and the
//    same one from every backend.
//  * python_signatures_verify_everywhere / rust_signatures_verify_under_python: the same
//    signatures through every backend (valid → Ok, other message / context → EKEYREJECTED).
//  * mldsa_certificates_verify: feed the CA and leaf DER to `trust::x509` (the kernel's
//    parse: self-signed ML-DSA CA verified at parse) and admit the leaf through the
//    restrict_link_by_signature path: found by AKID, verified over the raw TBS span; a
//    leaf under the wrong-set CA key → EKEYREJECTED (signature OID vs key algorithm).
//  * the errno split for malformed signatures (z out of range, bad hint packing →
//    EBADMSG) needs crafted signatures: flip bits in z / the hint bytes of a KAT signature
//    and compare with RustCrypto's `Signature::decode` (None = malformed).
