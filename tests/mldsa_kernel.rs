//! ML-DSA in trustbench's kernel model, under the 6.18 and 7.2 profiles, checked against the
//! rules of `../shared/docs/kernel-mldsa.md` with artefacts made by the reference tools
//! (pyca `cryptography` / OpenSSL 4 and `dilithium-py`, through `tests/pq/pqref.py`) wherever
//! they can be the source of truth, and the reverse: what our generator writes is verified by
//! those tools.
//!
//! * `pyca_certificates_admitted_through_restrictions`: pyca chains (ML-DSA-87 CA → ML-DSA-65
//!   leaf, RSA-4096 → ML-DSA-44, P-384 → ML-DSA-87): CA in the builtin keyring, leaf into the
//!   secondary keyring through its real gatekeeper (the CA's signature over the raw TBS must
//!   verify). 7.2: admitted, by every ML-DSA backend; without the CA: ENOKEY; a tampered TBS:
//!   EKEYREJECTED; a malformed (z out of range) signature: EBADMSG (restrictions pass the
//!   verifier's errno on); a self-signed CA with a malformed / wrong self-signature fails its
//!   parse with EBADMSG / EKEYREJECTED. 6.18: ENOPKG (unknown algorithm).
//! * `wrong_set_signature_is_ekeyrejected`: a leaf whose signature OID is ML-DSA-44 under an
//!   ML-DSA-65 CA (made twice: OID bytes edited, and re-signed with a real ML-DSA-44 key):
//!   EKEYREJECTED (doc §2 step 1, before any length check); pyca refuses it too.
//! * `wrong_length_key_admitted_then_fails_when_used`: an issued cert with a 1951-byte
//!   "ML-DSA-65" key parses and is admitted (secondary and `.ima`); used: PublicKey::check
//!   EINVAL, IMA EINVAL (raw), a module EKEYREJECTED (the PKCS#7 trust step maps it).
//! * `pyca_signed_modules`: module signatures whose ML-DSA signature comes from pyca and
//!   dilithium-py (the PKCS#7 around it from our builder, checked byte for byte against
//!   `corpus::sign::pkcs7`): valid under 7.2 and 7.2+waiver, a flipped content or signature
//!   byte EKEYREJECTED, 6.18 ENOPKG; our deterministic signature equals dilithium-py's.
//! * `ours_verified_by_them`: generator certificates (ML-DSA and mixed chains), module
//!   signatures (with and without signed attributes) and IMA v3 signatures verified by both
//!   Python tools.
//! * `malformed_signatures_are_ebadmsg`: signatures edited in z (both ends of the γ1 − β
//!   bound) and in each hint rule: EBADMSG from every ML-DSA backend exactly when
//!   RustCrypto's sigDecode refuses them, and both Python tools reject them; the same
//!   signatures through IMA (EBADMSG) and modules (EKEYREJECTED).
//! * `module_signature_rules`: SHAKE256 digestAlgorithm ENOPKG; non-empty context
//!   EKEYREJECTED; truncated signature EKEYREJECTED; signed attributes without the waiver
//!   EKEYREJECTED, with it + sha256 EKEYREJECTED, + sha512 valid (also with pyca's signature
//!   over the re-tagged SET), + a wrong messageDigest EKEYREJECTED; two signerInfos: RSA first
//!   then ML-DSA under the waiver EKEYREJECTED, ML-DSA first then RSA valid (first-signerInfo
//!   quirk).
//! * `ima_v3_mldsa`: pyca-signed IMA v3 over `ima_file_id` (sha256 and sha512): valid under
//!   7.2; tampered content and context signatures EKEYREJECTED; a signature over the
//!   *hash* of `ima_file_id` EKEYREJECTED (ML-DSA takes it unhashed); truncated EBADMSG; a v2
//!   header with the ML-DSA key ENOPKG; 6.18: the key cannot be loaded (ENOPKG) and v3 on a
//!   regular file is EINVAL.
//! * `profile_differences`: the `tbs:` blacklist (P-384 CA signed ecdsa-with-SHA384: SHA-384
//!   entry refuses it under 6.18 only, SHA-256 entry under 7.2 only; an ML-DSA CA's SHA-256
//!   entry under 7.2); IMA v3 on a regular file with an RSA key (EINVAL under 6.18, valid
//!   under 7.2; v2 valid under both); a SHA-1-signed RSA module valid under both.
//!
//! Needs the reference tools (`bash scripts/pq-venv.sh`; found automatically): when they are
//! unavailable the tests fail under `CI=true` and skip loudly otherwise.

mod common;
#[path = "support/pq.rs"]
mod pq;

use aws_lc_rs::digest;
use pq::{PqRef, Signer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trustbench::corpus::der;
use trustbench::corpus::keys::{self, KeyAlgo};
use trustbench::corpus::pki::{self, CertRequest, Role, Tbs};
use trustbench::corpus::sign::{self, Pkcs7Quirks, SignerIdKind, SignerRef, SigningKey};
use trustbench::crypto::mldsa::params;
use trustbench::crypto::{
    backends, Backend, CryptoProfile, Encoding, MlDsa, PkeyAlgo, SigAlgo, SignatureRecord, Signed,
};
use trustbench::formats::imasig;
use trustbench::hash::{Digest, HashAlgo};
use trustbench::kernel_profile::KernelProfile;
use trustbench::oid;
use trustbench::trust::blacklist::HashKind;
use trustbench::trust::{AddMode, KernelConfig, Serial, Store};
use trustbench::verify::ima::{verify_ima, ImaPolicy};
use trustbench::verify::module::{keyring, verify_module};
use trustbench::verify::{Verdict, VerdictClass};
use trustbench::Errno;

// =============================================================================================
// Shared helpers
// =============================================================================================

const V6_18: KernelProfile = KernelProfile::V6_18;
const V7_2: KernelProfile = KernelProfile::V7_2;

fn waiver() -> KernelProfile {
    "7.2+waiver".parse().expect("profile")
}

/// A seed fixed by a label, so every run uses the same keys.
fn seed(label: &str) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, format!("mldsa_kernel/{label}").as_bytes());
    d.as_ref().try_into().expect("32 bytes")
}

fn level(set: &str) -> MlDsa {
    match set {
        "ml-dsa-44" => MlDsa::L44,
        "ml-dsa-65" => MlDsa::L65,
        "ml-dsa-87" => MlDsa::L87,
        other => panic!("not a set: {other}"),
    }
}

fn set_name(l: MlDsa) -> &'static str {
    match l {
        MlDsa::L44 => "ml-dsa-44",
        MlDsa::L65 => "ml-dsa-65",
        MlDsa::L87 => "ml-dsa-87",
    }
}

/// The backends that implement every ML-DSA set (aws-lc, rustcrypto, mb where present).
fn mldsa_backends() -> Vec<Arc<dyn Backend>> {
    let v: Vec<_> = backends::all()
        .into_iter()
        .filter(|b| MlDsa::ALL.iter().all(|l| b.supports_mldsa(*l)))
        .collect();
    assert!(v.len() >= 2, "fewer than two ML-DSA backends");
    v
}

/// A store of the kernel `profile` with every algorithm and `backend`.
fn store_with(profile: KernelProfile, backend: Arc<dyn Backend>) -> Store {
    let config = KernelConfig {
        kernel: profile,
        ..KernelConfig::default()
    };
    Store::new(config, CryptoProfile::full(), backend)
}

/// [`store_with`] and the aws-lc backend.
fn store(profile: KernelProfile) -> Store {
    store_with(
        profile,
        backends::by_name("aws-lc").expect("aws-lc backend"),
    )
}

fn sha(h: HashAlgo, data: &[u8]) -> Digest {
    h.digest(data).expect("digest")
}

/// Deterministic module-like content.
fn content(label: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut block = seed(label).to_vec();
    while out.len() < len {
        block = digest::digest(&digest::SHA256, &block).as_ref().to_vec();
        out.extend_from_slice(&block);
    }
    out.truncate(len);
    out
}

/// What x509-parser reads from a certificate: SKID, subject Name DER, TBS span, signature.
struct View {
    skid: Vec<u8>,
    subject: Vec<u8>,
    tbs: Vec<u8>,
}

fn view(der: &[u8]) -> View {
    use x509_parser::extensions::ParsedExtension;
    let (_, c) = x509_parser::parse_x509_certificate(der).expect("certificate parses");
    let skid = c
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
        .expect("SKID");
    View {
        skid,
        subject: c.tbs_certificate.subject.as_raw().to_vec(),
        tbs: c.tbs_certificate.as_ref().to_vec(),
    }
}

fn assert_errno(what: &str, v: &Verdict, want: Option<Errno>) {
    match want {
        None => assert_eq!(
            (v.class, v.errno),
            (VerdictClass::Valid, None),
            "{what}: expected valid, got {v:?}"
        ),
        Some(e) => assert_eq!(
            (v.class, v.errno),
            (VerdictClass::Invalid, Some(e)),
            "{what}: expected {e:?}, got {v:?}"
        ),
    }
    assert!(
        !v.backend_unsupported,
        "{what}: backend could not do it: {v:?}"
    );
}

/// Replaces every occurrence of the DER OID `from` in `der` with `to` (same length); returns
/// how many there were.
fn replace_oid(der: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    let (f, t) = (der::oid(from), der::oid(to));
    assert_eq!(f.len(), t.len());
    let mut n = 0;
    let mut i = 0;
    while i + f.len() <= der.len() {
        if der[i..i + f.len()] == f[..] {
            der[i..i + f.len()].copy_from_slice(&t);
            n += 1;
            i += f.len();
        } else {
            i += 1;
        }
    }
    n
}

// ---------------------------------------------------------------------------------------------
// ML-DSA signers made by pqref.py, with our generator key of the same seed
// ---------------------------------------------------------------------------------------------

/// One ML-DSA key made by a reference tool, its pyca certificate, and the generator's key
/// from the same seed (FIPS 204 KeyGen_internal: the same key).
struct MlSigner {
    set: &'static str,
    level: MlDsa,
    dir: PathBuf,
    pk: Vec<u8>,
    cert: Vec<u8>,
    skid: Vec<u8>,
    ours: SigningKey,
}

impl MlSigner {
    /// A key of `set` made by `maker`, with a certificate self-signed (`issuer` `None`) or
    /// issued by `issuer` (certificate DER, key directory).
    fn new(
        pq: &PqRef,
        work: &Path,
        set: &'static str,
        maker: Signer,
        name: &str,
        ca: bool,
        issuer: Option<(&[u8], &Path)>,
    ) -> MlSigner {
        let l = level(set);
        let s = seed(&format!("{name}/{set}"));
        let dir = work.join(name);
        let pk = pq.keygen(set, maker, Some(&s), &dir);
        let cert = pq.cert(&dir, &format!("mldsa_kernel {name}"), ca, issuer);
        let ours = SigningKey::from_pkcs8(name, &keys::ml_dsa_pkcs8(l, &s), KeyAlgo::MlDsa(l))
            .expect("generator key");
        assert_eq!(
            ours.ml_dsa_public_key().as_deref(),
            Some(&pk[..]),
            "{name}: the generator derives another key from the seed"
        );
        let skid = view(&cert).skid;
        MlSigner {
            set,
            level: l,
            dir,
            pk,
            cert,
            skid,
            ours,
        }
    }

    /// The signature `by` (a Python tool) makes over `msg` with context `ctx`.
    fn sign(&self, pq: &PqRef, by: Signer, msg: &[u8], ctx: &[u8]) -> Vec<u8> {
        pq.sign(self.set, by, &self.dir, msg, ctx)
    }

    fn keyid(&self) -> u32 {
        sign::ima_keyid(&self.skid).expect("keyid")
    }
}

// ---------------------------------------------------------------------------------------------
// PKCS#7 SignedData written here (as sign-file writes it), so that the signature inside is
// whatever a test wants: a tool's, a malformed one, several signerInfos
// ---------------------------------------------------------------------------------------------

/// One signerInfo, named by SKID (sign-file `-k`).
struct Si<'a> {
    skid: &'a [u8],
    /// digestAlgorithm OID contents.
    digest_oid: &'a [u8],
    /// The signed attributes' SET contents (contentType, messageDigest), or none.
    attrs: Option<Vec<u8>>,
    /// signatureAlgorithm, whole AlgorithmIdentifier DER.
    sig_alg: Vec<u8>,
    signature: Vec<u8>,
}

/// The attributes sign-file (OpenSSL 3.x, ML-DSA) writes: contentType data, messageDigest.
fn attrs_body(md: &[u8]) -> Vec<u8> {
    [
        der::seq(&[
            &der::oid(oid::CONTENT_TYPE),
            &der::tlv(0x31, &der::oid(oid::DATA)),
        ]),
        der::seq(&[
            &der::oid(oid::MESSAGE_DIGEST),
            &der::tlv(0x31, &der::tlv(0x04, md)),
        ]),
    ]
    .concat()
}

/// What a signature with attributes covers: the attributes re-tagged as a SET (0xA0 → 0x31).
fn attrs_message(body: &[u8]) -> Vec<u8> {
    der::tlv(0x31, body)
}

fn signer_info(si: &Si<'_>) -> Vec<u8> {
    let attrs = si
        .attrs
        .as_ref()
        .map(|b| der::tlv(0xa0, b))
        .unwrap_or_default();
    der::seq(&[
        &der::small_int(3),
        &der::tlv(0x80, si.skid),
        &der::alg(si.digest_oid),
        &attrs,
        &si.sig_alg,
        &der::tlv(0x04, &si.signature),
    ])
}

/// A detached SignedData with these signerInfos, in this order.
fn signed_data(sis: &[Si<'_>]) -> Vec<u8> {
    let algs: Vec<u8> = sis.iter().flat_map(|s| der::alg(s.digest_oid)).collect();
    let infos: Vec<u8> = sis.iter().flat_map(signer_info).collect();
    der::seq(&[
        &der::oid(oid::SIGNED_DATA),
        &der::tlv(
            0xa0,
            &der::seq(&[
                &der::small_int(3),
                &der::tlv(0x31, &algs),
                &der::seq(&[&der::oid(oid::DATA)]),
                &der::tlv(0x31, &infos),
            ]),
        ),
    ])
}

/// content ‖ PKCS#7 ‖ trailer.
fn module(content: &[u8], pkcs7: &[u8]) -> Vec<u8> {
    let mut m = content.to_vec();
    sign::append_module_signature(&mut m, pkcs7);
    m
}

/// An ML-DSA signerInfo over `content` (no attributes) with `signature`, digestAlgorithm
/// sha512 (irrelevant without attributes).
fn ml_si<'a>(s: &'a MlSigner, signature: Vec<u8>) -> Si<'a> {
    Si {
        skid: &s.skid,
        digest_oid: oid::SHA512,
        attrs: None,
        sig_alg: der::alg(s.level.oid()),
        signature,
    }
}

/// An ML-DSA module signed with signed attributes (digest `h`), by our key.
fn ml_si_attrs<'a>(s: &'a MlSigner, content: &[u8], h: HashAlgo) -> Si<'a> {
    let body = attrs_body(sha(h, content).as_bytes());
    let signature = s
        .ours
        .sign_message(&attrs_message(&body), h)
        .expect("sign attrs");
    Si {
        skid: &s.skid,
        digest_oid: h.oid().expect("oid"),
        attrs: Some(body),
        sig_alg: der::alg(s.level.oid()),
        signature,
    }
}

/// A store of `profile` trusting `certs` as builtin keys.
fn trusting(profile: KernelProfile, certs: &[&[u8]]) -> Store {
    let mut s = store(profile);
    let b = s.system().builtin;
    for c in certs {
        s.add_cert(b, c, AddMode::Bypass).expect("builtin cert");
    }
    s
}

fn check_module(what: &str, s: &Store, m: &[u8], want: Option<Errno>) {
    assert_errno(what, &verify_module(s, m, keyring(s)), want);
}

/// An RSA-2048 self-signed module/IMA signer made by our generator.
fn rsa_signer(label: &str) -> pki::Issued {
    let algo = KeyAlgo::Rsa(2048);
    let pkcs8 = pki::key(11, label, algo).expect("RSA key");
    pki::issue(CertRequest {
        name: label,
        cn: label,
        role: Role::Signer,
        serial: 0x5151,
        skid: None,
        pkcs8: &pkcs8,
        algo,
        issuer: None,
    })
    .expect("RSA cert")
}

// =============================================================================================
// X.509 admission
// =============================================================================================

/// A pyca CA of `alg` (self-signed) and its key directory.
fn pyca_ca(pq: &PqRef, work: &Path, alg: &str) -> (Vec<u8>, PathBuf) {
    let dir = work.join(format!("ca-{alg}"));
    let s = (alg != "rsa-4096").then(|| seed(&format!("ca/{alg}")));
    pq.keygen(alg, Signer::Cryptography, s.as_ref().map(|s| &s[..]), &dir);
    (
        pq.cert(&dir, &format!("mldsa_kernel CA {alg}"), true, None),
        dir,
    )
}

/// The CA into builtin (boot-time load), the leaf into the secondary keyring (add_key,
/// through restrict_link_by_builtin_secondary_and_machine).
fn admit(s: &mut Store, ca: &[u8], leaf: &[u8]) -> (Result<Serial, Errno>, Result<Serial, Errno>) {
    let sys = s.system();
    let ca_r = s.add_cert(sys.builtin, ca, AddMode::Bypass);
    let leaf_r = s.add_cert(sys.secondary.expect("secondary"), leaf, AddMode::User);
    (ca_r, leaf_r)
}

/// Sets z coefficient `index` of an ML-DSA signature to the packed value `v` (FIPS 204
/// BitPack: LSB first, coefficient γ1 − v).
fn set_z(sig: &mut [u8], l: MlDsa, index: usize, v: u32) {
    let p = params(l);
    let bits = p.z_coeff_bits();
    let start = p.c_tilde_len * 8 + index * bits;
    for b in 0..bits {
        let pos = start + b;
        let mask = 1u8 << (pos % 8);
        if (v >> b) & 1 == 1 {
            sig[pos / 8] |= mask;
        } else {
            sig[pos / 8] &= !mask;
        }
    }
}

/// A copy of `cert` whose trailing signature has z[0] out of range (|z| = γ1).
fn with_bad_z(cert: &[u8], l: MlDsa) -> Vec<u8> {
    let mut c = cert.to_vec();
    let n = l.signature_len();
    let at = c.len() - n;
    set_z(&mut c[at..], l, 0, 0);
    c
}

#[test]
fn pyca_certificates_admitted_through_restrictions() {
    let Some(pq) = pq::pqref() else { return };
    let work = tempfile::tempdir().unwrap();
    for (ca_alg, leaf_set) in [
        ("ml-dsa-87", "ml-dsa-65"),
        ("rsa-4096", "ml-dsa-44"),
        ("p-384", "ml-dsa-87"),
    ] {
        let what = format!("{ca_alg} CA → {leaf_set} leaf");
        let (ca, ca_dir) = pyca_ca(&pq, work.path(), ca_alg);
        let leaf = MlSigner::new(
            &pq,
            work.path(),
            leaf_set,
            Signer::Dilithium,
            &format!("leaf-of-{ca_alg}"),
            false,
            Some((&ca, &ca_dir)),
        );
        assert!(pq.verify_cert(&leaf.cert, &ca), "{what}: pyca's own check");

        for b in mldsa_backends() {
            let what = format!("{what}, backend {}", b.name());
            let mut s = store_with(V7_2, b.clone());
            let (ca_r, leaf_r) = admit(&mut s, &ca, &leaf.cert);
            ca_r.unwrap_or_else(|e| panic!("{what}: CA: {e:?}"));
            let serial = leaf_r.unwrap_or_else(|e| panic!("{what}: leaf: {e:?}"));
            let key = s.asymmetric(serial).expect("leaf key");
            assert_eq!(key.public.algo(), PkeyAlgo::MlDsa(leaf.level), "{what}");
            assert_eq!(key.public.raw(), &leaf.pk[..], "{what}: key bytes");
            if ca_alg.starts_with("ml-dsa") {
                assert!(s.asymmetric(ca_r.unwrap()).unwrap().self_signed, "{what}");
            }

            // No issuer trusted: the restriction finds no key.
            let mut s = store_with(V7_2, b.clone());
            let sec = s.system().secondary.unwrap();
            assert_eq!(
                s.add_cert(sec, &leaf.cert, AddMode::User),
                Err(Errno::ENOKEY),
                "{what}: without the CA"
            );
        }

        // 6.18 knows no ML-DSA: the ML-DSA certificate does not parse.
        let mut s = store(V6_18);
        let (ca_r, leaf_r) = admit(&mut s, &ca, &leaf.cert);
        if ca_alg.starts_with("ml-dsa") {
            assert_eq!(ca_r.err(), Some(Errno::ENOPKG), "{what}: 6.18 CA");
        } else {
            ca_r.unwrap_or_else(|e| panic!("{what}: 6.18 CA: {e:?}"));
        }
        assert_eq!(leaf_r.err(), Some(Errno::ENOPKG), "{what}: 6.18 leaf");

        if let Some(ca_level) = ca_alg.starts_with("ml-dsa").then(|| level(ca_alg)) {
            // A tampered TBS (one byte of the serial): the CA's signature no longer matches.
            let mut tampered = leaf.cert.clone();
            let tbs = view(&leaf.cert).tbs;
            let at = leaf.cert.windows(tbs.len()).position(|w| w == tbs).unwrap() + 15;
            tampered[at] ^= 1;
            assert!(!pq.verify_cert(&tampered, &ca), "{what}: pyca, tampered");
            let mut s = store(V7_2);
            assert_eq!(
                admit(&mut s, &ca, &tampered).1.err(),
                Some(Errno::EKEYREJECTED),
                "{what}: tampered TBS"
            );
            // A malformed CA signature on the leaf: the verifier's EBADMSG, passed on.
            let bad = with_bad_z(&leaf.cert, ca_level);
            assert!(!pq.verify_cert(&bad, &ca), "{what}: pyca, bad z");
            let mut s = store(V7_2);
            assert_eq!(
                admit(&mut s, &ca, &bad).1.err(),
                Some(Errno::EBADMSG),
                "{what}: malformed issuer signature"
            );
            // A self-signed CA whose self-signature is malformed / wrong fails its parse.
            let bad_ca = with_bad_z(&ca, ca_level);
            let s = store(V7_2);
            assert_eq!(
                s.parse_cert(&bad_ca).err(),
                Some(Errno::EBADMSG),
                "{what}: CA, bad z"
            );
            let mut wrong_ca = ca.clone();
            let n = wrong_ca.len() - ca_level.signature_len();
            wrong_ca[n + 1] ^= 0x10; // inside c~: well-formed, wrong
            assert_eq!(
                s.parse_cert(&wrong_ca).err(),
                Some(Errno::EKEYREJECTED),
                "{what}: CA, wrong self-signature"
            );
        }
    }
}

#[test]
fn wrong_set_signature_is_ekeyrejected() {
    let Some(pq) = pq::pqref() else { return };
    let work = tempfile::tempdir().unwrap();
    let ca = MlSigner::new(
        &pq,
        work.path(),
        "ml-dsa-65",
        Signer::Cryptography,
        "ca65",
        true,
        None,
    );
    let leaf = MlSigner::new(
        &pq,
        work.path(),
        "ml-dsa-87",
        Signer::Cryptography,
        "leaf87",
        false,
        Some((&ca.cert, &ca.dir)),
    );
    let mut s = store(V7_2);
    admit(&mut s, &ca.cert, &leaf.cert)
        .1
        .expect("the genuine leaf");

    // 1. The ML-DSA-65 OIDs (TBS signature and signatureAlgorithm) edited to ML-DSA-44.
    let mut edited = leaf.cert.clone();
    assert_eq!(replace_oid(&mut edited, oid::ML_DSA_65, oid::ML_DSA_44), 2);
    // 2. Re-signed by a real ML-DSA-44 key, naming the ML-DSA-65 CA as issuer (name, AKID).
    let k44 = SigningKey::from_pkcs8(
        "k44",
        &keys::ml_dsa_pkcs8(MlDsa::L44, &seed("k44")),
        KeyAlgo::MlDsa(MlDsa::L44),
    )
    .unwrap();
    let cav = view(&ca.cert);
    let leaf_spki = {
        let (_, c) = x509_parser::parse_x509_certificate(&leaf.cert).unwrap();
        c.tbs_certificate.subject_pki.raw.to_vec()
    };
    let resigned = pki::write_certificate(
        &Tbs {
            serial: 77,
            issuer: &cav.subject,
            subject: &view(&leaf.cert).subject,
            spki: &leaf_spki,
            role: Role::Signer,
            skid: &leaf.skid,
            akid: &cav.skid,
        },
        &k44,
        KeyAlgo::MlDsa(MlDsa::L44),
    )
    .unwrap();
    for (how, cert) in [
        ("OID edited", &edited),
        ("re-signed by ML-DSA-44", &resigned),
    ] {
        assert!(!pq.verify_cert(cert, &ca.cert), "{how}: pyca accepts it");
        for b in mldsa_backends() {
            let mut s = store_with(V7_2, b.clone());
            assert_eq!(
                admit(&mut s, &ca.cert, cert).1.err(),
                Some(Errno::EKEYREJECTED),
                "{how}, backend {}",
                b.name()
            );
        }
    }
}

#[test]
fn wrong_length_key_admitted_then_fails_when_used() {
    let Some(pq) = pq::pqref() else { return };
    let work = tempfile::tempdir().unwrap();
    let ca = MlSigner::new(
        &pq,
        work.path(),
        "ml-dsa-87",
        Signer::Cryptography,
        "ca87",
        true,
        None,
    );
    // A certificate for a 1951-byte "ML-DSA-65" key, issued by the CA's key (ours, same seed).
    let short_key = vec![0x5a; MlDsa::L65.public_key_len() - 1];
    let spki = der::seq(&[
        &der::alg(oid::ML_DSA_65),
        &der::tlv(0x03, &[&[0u8][..], &short_key].concat()),
    ]);
    let skid = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &short_key)
        .as_ref()
        .to_vec();
    let cav = view(&ca.cert);
    let subject = der::seq(&[&der::tlv(
        0x31,
        &der::seq(&[&der::oid(oid::CN), &der::tlv(0x0c, b"short key")]),
    )]);
    let cert = pki::write_certificate(
        &Tbs {
            serial: 99,
            issuer: &cav.subject,
            subject: &subject,
            spki: &spki,
            role: Role::Signer,
            skid: &skid,
            akid: &cav.skid,
        },
        &ca.ours,
        KeyAlgo::MlDsa(MlDsa::L87),
    )
    .unwrap();
    assert!(pq.verify_cert(&cert, &ca.cert), "pyca: the CA signed it");

    let mut s = store(V7_2);
    let (_, leaf) = admit(&mut s, &ca.cert, &cert);
    let leaf = leaf.expect("a wrong-length key is not checked at parse or admission");
    let ima = s.system().ima;
    s.add_cert(ima, &cert, AddMode::User)
        .expect(".ima admits it too (signed by a builtin key)");

    // Used directly: the key is set on the transform → EINVAL.
    let msg = b"anything";
    // A real (ML-DSA-87, 4627-byte) signature and a 65-sized one: the key length decides
    // first either way.
    let sig = ca.sign(&pq, Signer::Dilithium, msg, b"");
    let sig65 = vec![0u8; MlDsa::L65.signature_len()];
    for signature in [&sig65[..], &sig[..]] {
        let rec = SignatureRecord {
            algo: Some(SigAlgo::MlDsa(MlDsa::L65)),
            encoding: Encoding::Raw,
            signed: Signed::Data {
                hash: None,
                data: msg,
            },
            signature,
            message: None,
        };
        let key = &s.asymmetric(leaf).unwrap().public;
        assert_eq!(
            key.check(&rec, &CryptoProfile::full()),
            Ok(Err(Errno::EINVAL)),
            "PublicKey::check, {}-byte signature",
            signature.len()
        );
    }
    // IMA v3 with that key: asymmetric_verify passes the errno on.
    let file = content("short-key file", 700);
    let x = imasig::encode(
        imasig::TYPE_DIGSIG,
        3,
        HashAlgo::Sha256,
        sign::ima_keyid(&skid).unwrap(),
        &sig65,
    );
    assert_errno(
        "IMA v3, wrong-length key",
        &verify_ima(&s, &file, Some(&x), ImaPolicy::default()),
        Some(Errno::EINVAL),
    );
    // A module naming it: the PKCS#7 trust step turns every failure into EKEYREJECTED.
    let m = module(
        &file,
        &signed_data(&[Si {
            skid: &skid,
            digest_oid: oid::SHA512,
            attrs: None,
            sig_alg: der::alg(oid::ML_DSA_65),
            signature: sig65.clone(),
        }]),
    );
    check_module(
        "module, wrong-length key",
        &s,
        &m,
        Some(Errno::EKEYREJECTED),
    );

    // 6.18: no ML-DSA at all.
    let mut s = store(V6_18);
    assert_eq!(admit(&mut s, &ca.cert, &cert).1.err(), Some(Errno::ENOPKG));
}

// =============================================================================================
// Modules
// =============================================================================================

#[test]
fn pyca_signed_modules() {
    let Some(pq) = pq::pqref() else { return };
    let work = tempfile::tempdir().unwrap();
    for set in pq::SETS {
        let signer = MlSigner::new(
            &pq,
            work.path(),
            set,
            Signer::Cryptography,
            &format!("modsigner-{set}"),
            false,
            None,
        );
        let body = content(&format!("module/{set}"), 6000);
        // Our builder is sign-file's: byte for byte what corpus::sign::pkcs7 writes.
        let ours = signer.ours.sign_message(&body, HashAlgo::Sha512).unwrap();
        let reference = sign::pkcs7(
            &signer.ours,
            &SignerRef {
                issuer_der: Vec::new(),
                serial: Vec::new(),
                skid: signer.skid.clone(),
            },
            SignerIdKind::Skid,
            &body,
            &sha(HashAlgo::Sha512, &body),
            Pkcs7Quirks::default(),
        )
        .unwrap();
        assert_eq!(
            signed_data(&[ml_si(&signer, ours.clone())]),
            reference,
            "{set}: our SignedData differs from corpus::sign::pkcs7"
        );
        // Both deterministic (rnd = 0): RustCrypto and dilithium-py give the same bytes.
        let dpy = signer.sign(&pq, Signer::Dilithium, &body, b"");
        assert_eq!(ours, dpy, "{set}: deterministic signatures differ");

        let s72 = trusting(V7_2, &[&signer.cert]);
        let sw = trusting(waiver(), &[&signer.cert]);
        for by in Signer::ALL {
            let what = format!("{set}, signature by {by:?}");
            let sig = signer.sign(&pq, by, &body, b"");
            let m = module(&body, &signed_data(&[ml_si(&signer, sig.clone())]));
            check_module(&what, &s72, &m, None);
            check_module(&format!("{what}, 7.2+waiver"), &sw, &m, None);
            let v = verify_module(&s72, &m, keyring(&s72));
            assert!(v.signer.is_some(), "{what}: no signer named");

            let mut flipped = m.clone();
            flipped[100] ^= 0xff;
            check_module(
                &format!("{what}, content byte"),
                &s72,
                &flipped,
                Some(Errno::EKEYREJECTED),
            );
            let mut bad_sig = sig.clone();
            bad_sig[5] ^= 1;
            let m2 = module(&body, &signed_data(&[ml_si(&signer, bad_sig)]));
            check_module(
                &format!("{what}, signature byte"),
                &s72,
                &m2,
                Some(Errno::EKEYREJECTED),
            );

            // 6.18: the certificate cannot be loaded, and the PKCS#7 does not parse.
            let mut s = store(V6_18);
            let b = s.system().builtin;
            assert_eq!(
                s.add_cert(b, &signer.cert, AddMode::Bypass).err(),
                Some(Errno::ENOPKG)
            );
            check_module(&format!("{what}, 6.18"), &s, &m, Some(Errno::ENOPKG));
        }
    }
}

#[test]
fn ours_verified_by_them() {
    let Some(pq) = pq::pqref() else { return };
    // Certificates: ML-DSA-65 root → ML-DSA-44 signer, RSA-2048 root → ML-DSA-87 signer,
    // ML-DSA-87 root → RSA-2048 signer.
    let issue = |name: &str, algo: KeyAlgo, role, issuer: Option<&pki::Issued>| {
        let pkcs8 = pki::key(7, name, algo).unwrap();
        pki::issue(CertRequest {
            name,
            cn: name,
            role,
            serial: 1000 + name.len() as u64,
            skid: None,
            pkcs8: &pkcs8,
            algo,
            issuer,
        })
        .unwrap()
    };
    let ml = |l| KeyAlgo::MlDsa(l);
    let root65 = issue("root65", ml(MlDsa::L65), Role::Ca, None);
    let s44 = issue("signer44", ml(MlDsa::L44), Role::Signer, Some(&root65));
    let rsa_root = issue("rsaroot", KeyAlgo::Rsa(2048), Role::Ca, None);
    let s87 = issue("signer87", ml(MlDsa::L87), Role::Signer, Some(&rsa_root));
    let root87 = issue("root87", ml(MlDsa::L87), Role::Ca, None);
    let rsa_leaf = issue("rsaleaf", KeyAlgo::Rsa(2048), Role::Signer, Some(&root87));
    for (cert, issuer) in [
        (&root65, &root65),
        (&s44, &root65),
        (&s87, &rsa_root),
        (&root87, &root87),
        (&rsa_leaf, &root87),
    ] {
        assert!(
            pq.verify_cert(&cert.der, &issuer.der),
            "pyca rejects our {} under {}",
            cert.name,
            issuer.name
        );
    }
    assert!(!pq.verify_cert(&s44.der, &root87.der), "wrong issuer");

    // Module signatures, without and with signed attributes, and IMA v3: both tools verify
    // the signature over exactly the message the kernel hands ML-DSA.
    for signer in [&s44, &s87] {
        let l = signer.key.ml_dsa().unwrap();
        let set = set_name(l);
        let pk = signer.key.ml_dsa_public_key().unwrap();
        let body = content(&format!("ours/{set}"), 4000);
        let n = l.signature_len();
        let mut cases: Vec<(&str, Vec<u8>, Vec<u8>)> = Vec::new();
        for attrs in [false, true] {
            let p7 = sign::pkcs7(
                &signer.key,
                &signer.signer,
                SignerIdKind::IssuerSerial,
                &body,
                &sha(HashAlgo::Sha512, &body),
                Pkcs7Quirks {
                    signed_attributes: attrs,
                    ..Default::default()
                },
            )
            .unwrap();
            let sig = p7[p7.len() - n..].to_vec();
            let msg = if attrs {
                attrs_message(&attrs_body(sha(HashAlgo::Sha512, &body).as_bytes()))
            } else {
                body.clone()
            };
            cases.push((if attrs { "module+attrs" } else { "module" }, msg, sig));
        }
        let d = sha(HashAlgo::Sha384, &body);
        let x = sign::ima_v3(&signer.key, &signer.signer.skid, &d).unwrap();
        let (id, idn) = imasig::v3_file_id(imasig::TYPE_DIGSIG, &d);
        cases.push((
            "ima v3",
            id[..idn].to_vec(),
            x[imasig::HEADER_LEN..].to_vec(),
        ));
        for (what, msg, sig) in &cases {
            for v in Signer::ALL {
                assert!(
                    pq.verify(set, v, &pk, msg, sig, b""),
                    "{set} {what}: {v:?} rejects our signature"
                );
                assert!(
                    !pq.verify(set, v, &pk, &msg[1..], sig, b""),
                    "{set} {what}: {v:?} accepts it over another message"
                );
            }
        }
    }
}

// =============================================================================================
// Malformed signatures
// =============================================================================================

/// Edits of a valid signature: (name, edited signature, whether it stays well-formed).
fn edits(l: MlDsa, sig: &[u8]) -> Vec<(String, Vec<u8>, bool)> {
    let p = params(l);
    let g1 = p.gamma1();
    let mut out = Vec::new();
    let mut z = |name: &str, v: u32, ok: bool| {
        let mut s = sig.to_vec();
        set_z(&mut s, l, 7, v);
        out.push((format!("z[7] packed {v} ({name})"), s, ok));
    };
    z("z = γ1", 0, false);
    z("z = γ1 − β", p.beta, false);
    z("z = γ1 − β − 1", p.beta + 1, true);
    z("z = −(γ1 − β)", 2 * g1 - p.beta, false);
    z("z = −(γ1 − β − 1)", 2 * g1 - p.beta - 1, true);
    z("z = −(γ1 − 1)", 2 * g1 - 1, false);

    let h0 = sig.len() - p.hint_len();
    let (om, k) = (p.omega, p.k);
    let count = |s: &[u8], i: usize| s[h0 + om + i] as usize;
    let mut hint = |name: &str, f: &dyn Fn(&mut Vec<u8>) -> bool| {
        let mut s = sig.to_vec();
        if f(&mut s) {
            out.push((format!("hint: {name}"), s, false));
        }
    };
    hint("last count > ω", &|s| {
        s[h0 + om + k - 1] = (om + 1) as u8;
        true
    });
    hint("counts decrease", &|s| {
        // Polynomial k-2 claims more hints than the total.
        let last = count(s, k - 1);
        s[h0 + om + k - 2] = (last + 1) as u8;
        last < om
    });
    hint("indices not increasing", &|s| {
        let mut start = 0;
        for i in 0..k {
            let end = count(s, i);
            if end >= start + 2 {
                s[h0 + start + 1] = s[h0 + start];
                return true;
            }
            start = end;
        }
        false
    });
    hint("non-zero padding", &|s| {
        if count(s, k - 1) < om {
            s[h0 + om - 1] = 1;
            true
        } else {
            false
        }
    });
    out
}

#[test]
fn malformed_signatures_are_ebadmsg() {
    let Some(pq) = pq::pqref() else { return };
    let work = tempfile::tempdir().unwrap();
    let mut hint_kinds = std::collections::BTreeSet::new();
    for set in pq::SETS {
        let ca = MlSigner::new(
            &pq,
            work.path(),
            set,
            Signer::Cryptography,
            &format!("bad-ca-{set}"),
            true,
            None,
        );
        let signer = MlSigner::new(
            &pq,
            work.path(),
            set,
            Signer::Cryptography,
            &format!("bad-{set}"),
            false,
            Some((&ca.cert, &ca.dir)),
        );
        let l = signer.level;
        let msg = content(&format!("bad/{set}"), 1500);
        let d = sha(HashAlgo::Sha256, &msg);
        let (id, idn) = imasig::v3_file_id(imasig::TYPE_DIGSIG, &d);
        let file_id = id[..idn].to_vec();
        let good_mod = signer.sign(&pq, Signer::Cryptography, &msg, b"");
        let good_ima = signer.sign(&pq, Signer::Cryptography, &file_id, b"");
        let mut s = trusting(V7_2, &[&ca.cert]);
        let ima = s.system().ima;
        s.add_cert(ima, &signer.cert, AddMode::User).expect(".ima");
        let sec = s.system().secondary.unwrap();
        s.add_cert(sec, &signer.cert, AddMode::User)
            .expect("secondary");
        let profile = CryptoProfile::full();
        let keys: Vec<_> = mldsa_backends()
            .into_iter()
            .map(|b| {
                let src = trustbench::crypto::KeySource {
                    algo: PkeyAlgo::MlDsa(l),
                    key: &signer.pk,
                    cert: None,
                };
                (b.name(), trustbench::crypto::PublicKey::new(&src, &*b))
            })
            .collect();

        for (name, sig, well_formed) in edits(l, &good_mod) {
            let what = format!("{set} {name}");
            if name.starts_with("hint") {
                hint_kinds.insert(name.clone());
            }
            let want = if well_formed {
                Errno::EKEYREJECTED
            } else {
                Errno::EBADMSG
            };
            assert_eq!(
                rc_decodes(l, &sig),
                well_formed,
                "{what}: RustCrypto's sigDecode"
            );
            for by in Signer::ALL {
                assert!(
                    !pq.verify(set, by, &signer.pk, &msg, &sig, b""),
                    "{what}: {by:?} accepts it"
                );
            }
            let rec = SignatureRecord {
                algo: Some(SigAlgo::MlDsa(l)),
                encoding: Encoding::Raw,
                signed: Signed::Data {
                    hash: None,
                    data: &msg,
                },
                signature: &sig,
                message: None,
            };
            for (b, key) in &keys {
                assert_eq!(
                    key.check(&rec, &profile),
                    Ok(Err(want)),
                    "{what}: backend {b}"
                );
            }
            // Modules: the trust step makes it EKEYREJECTED either way.
            let m = module(&msg, &signed_data(&[ml_si(&signer, sig.clone())]));
            check_module(
                &format!("{what}, module"),
                &s,
                &m,
                Some(Errno::EKEYREJECTED),
            );
        }
        // IMA passes the verifier's errno on.
        for (name, sig, well_formed) in edits(l, &good_ima) {
            let x = imasig::encode(
                imasig::TYPE_DIGSIG,
                3,
                HashAlgo::Sha256,
                signer.keyid(),
                &sig,
            );
            let want = if well_formed {
                Errno::EKEYREJECTED
            } else {
                Errno::EBADMSG
            };
            assert_errno(
                &format!("{set} {name}, IMA v3"),
                &verify_ima(&s, &msg, Some(&x), ImaPolicy::default()),
                Some(want),
            );
        }
        // Controls: the unedited signatures are good on every path.
        let x = imasig::encode(
            imasig::TYPE_DIGSIG,
            3,
            HashAlgo::Sha256,
            signer.keyid(),
            &good_ima,
        );
        assert_errno(
            &format!("{set} IMA control"),
            &verify_ima(&s, &msg, Some(&x), ImaPolicy::default()),
            None,
        );
        let m = module(&msg, &signed_data(&[ml_si(&signer, good_mod.clone())]));
        check_module(&format!("{set} module control"), &s, &m, None);
    }
    assert_eq!(
        hint_kinds.len(),
        4,
        "every hint rule was exercised: {hint_kinds:?}"
    );
}

/// Whether RustCrypto's sigDecode accepts `sig` (None = malformed).
fn rc_decodes(l: MlDsa, sig: &[u8]) -> bool {
    use ml_dsa::{MlDsa44, MlDsa65, MlDsa87, Signature};
    match l {
        MlDsa::L44 => Signature::<MlDsa44>::try_from(sig).is_ok(),
        MlDsa::L65 => Signature::<MlDsa65>::try_from(sig).is_ok(),
        MlDsa::L87 => Signature::<MlDsa87>::try_from(sig).is_ok(),
    }
}

// =============================================================================================
// Module signature rules
// =============================================================================================

#[test]
fn module_signature_rules() {
    let Some(pq) = pq::pqref() else { return };
    let work = tempfile::tempdir().unwrap();
    let signer = MlSigner::new(
        &pq,
        work.path(),
        "ml-dsa-65",
        Signer::Cryptography,
        "rules65",
        false,
        None,
    );
    let rsa = rsa_signer("rules-rsa");
    let body = content("rules", 5000);
    let trusted: [&[u8]; 2] = [&signer.cert, &rsa.der];
    let (s72, sw, s618) = (
        trusting(V7_2, &trusted),
        trusting(waiver(), &trusted),
        trusting(V6_18, &[&rsa.der]),
    );
    let good = signer.sign(&pq, Signer::Cryptography, &body, b"");

    // SHAKE256 as the signerInfo's digestAlgorithm (OpenSSL 4's default for ML-DSA): the
    // parser does not know it, ENOPKG, although without attributes it would be ignored.
    let mut si = ml_si(&signer, good.clone());
    si.digest_oid = oid::SHAKE256;
    let shake = module(&body, &signed_data(&[si]));
    for (what, s) in [("7.2", &s72), ("7.2+waiver", &sw), ("6.18", &s618)] {
        check_module(&format!("SHAKE256, {what}"), s, &shake, Some(Errno::ENOPKG));
    }
    // Only the signerInfo's OID edited (the SignedData's digestAlgorithms set keeps sha512).
    let mut only_si = module(&body, &signed_data(&[ml_si(&signer, good.clone())]));
    let sha512_oid = der::oid(oid::SHA512);
    let last = only_si
        .windows(sha512_oid.len())
        .rposition(|w| w == sha512_oid)
        .unwrap();
    only_si[last + sha512_oid.len() - 1] = *oid::SHAKE256.last().unwrap();
    check_module(
        "SHAKE256 in the signerInfo only",
        &s72,
        &only_si,
        Some(Errno::ENOPKG),
    );
    // With sha1 or sha256 instead (known OIDs): ignored without attributes.
    for h in [oid::SHA1, oid::SHA256] {
        let mut si = ml_si(&signer, good.clone());
        si.digest_oid = h;
        check_module(
            "known digest OID",
            &s72,
            &module(&body, &signed_data(&[si])),
            None,
        );
    }

    // A signature made with a non-empty context: the kernel's context is always empty.
    let ctx = signer.sign(&pq, Signer::Cryptography, &body, b"module");
    let m = module(&body, &signed_data(&[ml_si(&signer, ctx)]));
    check_module("non-empty context", &s72, &m, Some(Errno::EKEYREJECTED));
    // A truncated signature (EBADMSG in the verifier) through the trust step.
    let m = module(
        &body,
        &signed_data(&[ml_si(&signer, good[..good.len() - 1].to_vec())]),
    );
    check_module("truncated signature", &s72, &m, Some(Errno::EKEYREJECTED));

    // Signed attributes.
    for h in [HashAlgo::Sha256, HashAlgo::Sha512] {
        let m = module(&body, &signed_data(&[ml_si_attrs(&signer, &body, h)]));
        check_module(
            &format!("attrs {h}, no waiver"),
            &s72,
            &m,
            Some(Errno::EKEYREJECTED),
        );
        let want = (h != HashAlgo::Sha512).then_some(Errno::EKEYREJECTED);
        check_module(&format!("attrs {h}, waiver"), &sw, &m, want);
        check_module(&format!("attrs {h}, 6.18"), &s618, &m, Some(Errno::ENOPKG));
    }
    // pyca's signature over the re-tagged SET, as sign-file + OpenSSL 3.x would make it.
    let attrs = attrs_body(sha(HashAlgo::Sha512, &body).as_bytes());
    for by in Signer::ALL {
        let mut si = ml_si_attrs(&signer, &body, HashAlgo::Sha512);
        si.signature = signer.sign(&pq, by, &attrs_message(&attrs), b"");
        let m = module(&body, &signed_data(&[si]));
        check_module(
            &format!("attrs sha512 signed by {by:?}, waiver"),
            &sw,
            &m,
            None,
        );
        // The same signature over the [0]-tagged bytes (not re-tagged) is not it.
        let mut si = ml_si_attrs(&signer, &body, HashAlgo::Sha512);
        si.signature = signer.sign(&pq, by, &der::tlv(0xa0, &attrs), b"");
        let m = module(&body, &signed_data(&[si]));
        check_module("attrs signed as [0]", &sw, &m, Some(Errno::EKEYREJECTED));
    }
    // messageDigest of other content.
    let mut si = ml_si_attrs(&signer, &body, HashAlgo::Sha512);
    let other = attrs_body(sha(HashAlgo::Sha512, b"other").as_bytes());
    si.signature = signer
        .ours
        .sign_message(&attrs_message(&other), HashAlgo::Sha512)
        .unwrap();
    si.attrs = Some(other);
    let m = module(&body, &signed_data(&[si]));
    check_module(
        "attrs, wrong messageDigest",
        &sw,
        &m,
        Some(Errno::EKEYREJECTED),
    );

    // Two signerInfos, both with attributes (sha512), both by trusted keys: the waiver
    // looks at the first signerInfo's algorithm only.
    let rsa_si = || {
        let body_attrs = attrs_body(sha(HashAlgo::Sha512, &body).as_bytes());
        Si {
            skid: &rsa.signer.skid,
            digest_oid: oid::SHA512,
            signature: rsa
                .key
                .sign_message(&attrs_message(&body_attrs), HashAlgo::Sha512)
                .unwrap(),
            attrs: Some(body_attrs),
            sig_alg: der::alg_null(oid::RSA_ENCRYPTION),
        }
    };
    let rsa_only = module(&body, &signed_data(&[rsa_si()]));
    check_module(
        "RSA with attrs alone, waiver",
        &sw,
        &rsa_only,
        Some(Errno::EKEYREJECTED),
    );
    let rsa_first = module(
        &body,
        &signed_data(&[rsa_si(), ml_si_attrs(&signer, &body, HashAlgo::Sha512)]),
    );
    check_module(
        "RSA first, then ML-DSA, waiver",
        &sw,
        &rsa_first,
        Some(Errno::EKEYREJECTED),
    );
    let ml_first = module(
        &body,
        &signed_data(&[ml_si_attrs(&signer, &body, HashAlgo::Sha512), rsa_si()]),
    );
    check_module("ML-DSA first, then RSA, waiver", &sw, &ml_first, None);
    check_module(
        "ML-DSA first, then RSA, no waiver",
        &s72,
        &ml_first,
        Some(Errno::EKEYREJECTED),
    );
}

// =============================================================================================
// IMA
// =============================================================================================

#[test]
fn ima_v3_mldsa() {
    let Some(pq) = pq::pqref() else { return };
    let work = tempfile::tempdir().unwrap();
    let ca = MlSigner::new(
        &pq,
        work.path(),
        "ml-dsa-87",
        Signer::Cryptography,
        "ima-ca",
        true,
        None,
    );
    let signer = MlSigner::new(
        &pq,
        work.path(),
        "ml-dsa-65",
        Signer::Dilithium,
        "ima65",
        false,
        Some((&ca.cert, &ca.dir)),
    );
    let mut s = trusting(V7_2, &[&ca.cert]);
    let ima = s.system().ima;
    s.add_cert(ima, &signer.cert, AddMode::User)
        .expect(".ima admits the ML-DSA leaf signed by a builtin key");
    let file = content("ima file", 3000);
    let pol = ImaPolicy::default();
    let v3 =
        |h: HashAlgo, sig: &[u8]| imasig::encode(imasig::TYPE_DIGSIG, 3, h, signer.keyid(), sig);
    for h in [HashAlgo::Sha256, HashAlgo::Sha512] {
        let d = sha(h, &file);
        let (id, n) = imasig::v3_file_id(imasig::TYPE_DIGSIG, &d);
        let id = &id[..n];
        assert_eq!(n, 2 + h.digest_len());
        for by in Signer::ALL {
            let what = format!("{h}, signed by {by:?}");
            let sig = signer.sign(&pq, by, id, b"");
            assert_errno(&what, &verify_ima(&s, &file, Some(&v3(h, &sig)), pol), None);
            let mut other = file.clone();
            other[0] ^= 1;
            assert_errno(
                &format!("{what}, other content"),
                &verify_ima(&s, &other, Some(&v3(h, &sig)), pol),
                Some(Errno::EKEYREJECTED),
            );
            assert_errno(
                &format!("{what}, truncated"),
                &verify_ima(&s, &file, Some(&v3(h, &sig[1..])), pol),
                Some(Errno::EBADMSG),
            );
            // A v2 header with the ML-DSA key: no encoding for mldsa in the v2 path.
            let v2 = imasig::encode(imasig::TYPE_DIGSIG, 2, h, signer.keyid(), &sig);
            assert_errno(
                &format!("{what}, v2 header"),
                &verify_ima(&s, &file, Some(&v2), pol),
                Some(Errno::ENOPKG),
            );
        }
        let ctx = signer.sign(&pq, Signer::Cryptography, id, b"ima");
        assert_errno(
            &format!("{h}, context signature"),
            &verify_ima(&s, &file, Some(&v3(h, &ctx)), pol),
            Some(Errno::EKEYREJECTED),
        );
        // What an RSA key would sign: the hash of ima_file_id. ML-DSA takes it unhashed.
        let hashed = signer.sign(&pq, Signer::Cryptography, sha(h, id).as_bytes(), b"");
        assert_errno(
            &format!("{h}, signature over H(ima_file_id)"),
            &verify_ima(&s, &file, Some(&v3(h, &hashed)), pol),
            Some(Errno::EKEYREJECTED),
        );
    }

    // 6.18: the key cannot be loaded; a v3 label on a regular file is the wrong version.
    let mut s = trusting(V6_18, &[]);
    let ima = s.system().ima;
    assert_eq!(
        s.add_cert(ima, &signer.cert, AddMode::Bypass).err(),
        Some(Errno::ENOPKG)
    );
    let d = sha(HashAlgo::Sha256, &file);
    let (id, n) = imasig::v3_file_id(imasig::TYPE_DIGSIG, &d);
    let sig = signer.sign(&pq, Signer::Cryptography, &id[..n], b"");
    assert_errno(
        "6.18, v3",
        &verify_ima(&s, &file, Some(&v3(HashAlgo::Sha256, &sig)), pol),
        Some(Errno::EINVAL),
    );
}

// =============================================================================================
// What differs between the profiles, outside ML-DSA
// =============================================================================================

#[test]
fn profile_differences() {
    let Some(pq) = pq::pqref() else { return };
    let work = tempfile::tempdir().unwrap();

    // tbs: blacklist. A P-384 CA signed ecdsa-with-SHA384.
    let (p384, _) = pyca_ca(&pq, work.path(), "p-384");
    let tbs = pq.tbs(&p384);
    assert_eq!(tbs, view(&p384).tbs);
    let h384 = sha(HashAlgo::Sha384, &tbs);
    let h256 = sha(HashAlgo::Sha256, &tbs);
    for (entry, refused_by) in [(&h384, V6_18), (&h256, V7_2)] {
        for profile in [V6_18, V7_2, waiver()] {
            let mut s = store(profile);
            s.add_blacklist_hash(HashKind::Tbs, entry.as_bytes())
                .unwrap();
            let b = s.system().builtin;
            let got = s.add_cert(b, &p384, AddMode::Bypass).err();
            let refused = profile.rules().tbs_hash == refused_by.rules().tbs_hash;
            assert_eq!(
                got,
                refused.then_some(Errno::EKEYREJECTED),
                "P-384 CA, tbs:{} entry, profile {profile}",
                entry.algo()
            );
        }
    }
    // An ML-DSA CA under 7.2: SHA-256 of its TBS too.
    let (ml, _) = pyca_ca(&pq, work.path(), "ml-dsa-44");
    let mut s = store(V7_2);
    s.add_blacklist_hash(
        HashKind::Tbs,
        sha(HashAlgo::Sha256, &pq.tbs(&ml)).as_bytes(),
    )
    .unwrap();
    let b = s.system().builtin;
    assert_eq!(
        s.add_cert(b, &ml, AddMode::Bypass).err(),
        Some(Errno::EKEYREJECTED)
    );

    // IMA v3 on a regular file, RSA key: 7.1+ only. v2 everywhere.
    let rsa = rsa_signer("profile-rsa");
    let file = content("profile file", 2000);
    let d = sha(HashAlgo::Sha256, &file);
    let v3 = sign::ima_v3(&rsa.key, &rsa.signer.skid, &d).unwrap();
    let v2 = sign::ima_v2(&rsa.key, &rsa.signer.skid, &d).unwrap();
    for (profile, v3_want) in [(V6_18, Some(Errno::EINVAL)), (V7_2, None)] {
        let mut s = store(profile);
        let ima = s.system().ima;
        s.add_cert(ima, &rsa.der, AddMode::Bypass).unwrap();
        let pol = ImaPolicy::default();
        assert_errno(
            &format!("RSA IMA v3, {profile}"),
            &verify_ima(&s, &file, Some(&v3), pol),
            v3_want,
        );
        assert_errno(
            &format!("RSA IMA v2, {profile}"),
            &verify_ima(&s, &file, Some(&v2), pol),
            None,
        );
    }

    // A SHA-1-signed RSA module: 7.0 dropped SHA-1 *signing*, not verification.
    let pkcs8 = pki::key(11, "profile-rsa", KeyAlgo::Rsa(2048)).unwrap();
    let sig = rsa_sha1_sign(&pkcs8, &file);
    let si = Si {
        skid: &rsa.signer.skid,
        digest_oid: oid::SHA1,
        attrs: None,
        sig_alg: der::alg_null(oid::RSA_ENCRYPTION),
        signature: sig,
    };
    let m = module(&file, &signed_data(&[si]));
    for profile in [V6_18, V7_2, waiver()] {
        assert!(profile.rules().sha1_modules);
        let s = trusting(profile, &[&rsa.der]);
        check_module(&format!("SHA-1 RSA module, {profile}"), &s, &m, None);
        let mut t = m.clone();
        t[10] ^= 1;
        check_module(
            &format!("SHA-1 RSA module, tampered, {profile}"),
            &s,
            &t,
            Some(Errno::EKEYREJECTED),
        );
    }
}

/// RSASSA-PKCS1-v1_5 with SHA-1 over `msg` (RustCrypto `rsa`; our generator refuses SHA-1,
/// as sign-file 7.0 does).
fn rsa_sha1_sign(pkcs8: &[u8], msg: &[u8]) -> Vec<u8> {
    use rsa::pkcs8::DecodePrivateKey;
    let key = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8).expect("RSA PKCS#8");
    // DigestInfo prefix for SHA-1 (RFC 8017 §9.2 note 1).
    let prefix: &[u8] = &[
        0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
    ];
    let scheme = rsa::Pkcs1v15Sign {
        hash_len: Some(20),
        prefix: prefix.into(),
    };
    key.sign(scheme, sha(HashAlgo::Sha1, msg).as_bytes())
        .expect("RSA sign")
}
