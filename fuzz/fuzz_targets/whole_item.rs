#![no_main]
//! Structure-aware: a whole module and a whole IMA item described by an `arbitrary`
//! structure, serialised, and judged by the verify pipeline (`verify::module::verify_module`
//! against the module keyring, `verify::ima::verify_ima` under both rules) with stores of
//! both kernel profiles whose built-in keyring and `.ima` hold the real fixture signers
//! (`corpora/fixtures`: openssl certificates, sign-file modules, evmctl labels).
//!
//! Valid paths are reachable two ways: items are signed here with the fixture keys
//! (`corpus::sign::SigningKey`, the signatures the real tools make), and real sign-file /
//! evmctl items are taken as they are with byte flips the structure chooses. In both, the
//! all-zero choice is the honest one (true trailer, the signer's own id, no signed
//! attributes, the real signature), so libFuzzer starts next to the valid path.
//!
//! Oracle, besides "never a panic":
//! - built module: valid ⇒ honest (a trusted signing key; the signerInfo names that key;
//!   the declared digest algorithm is the one signed with; no signed attributes; an
//!   unaltered signature by that key over the content (`Sig::signed_by`: whichever key
//!   the structure says signs) under that key's algorithm identifier; the trailer's zero
//!   fields, id_type 2 and true sig_len; nothing after the marker; a non-empty body, as
//!   mod_check_sig requires). Embedded certificates are left free (a copy of the signer
//!   may be embedded). Conversely honest with no embedded certificate ⇒ valid.
//! - fixture module: valid ⇒ the fixture is one of the valid ones and its body, signature
//!   OCTET STRING contents and 40-byte trailer+marker are byte-identical (the bytes the
//!   kernel ignores, such as the SignedData digestAlgorithms set, may change).
//! - built IMA label: valid ⇒ honest (type 3 v2, the hash algorithm signed with, the
//!   keyid of the trusted key whose unaltered signature it carries, true sig_size,
//!   nothing after it);
//!   honest ⇒ valid, under both rules.
//! - fixture IMA item: valid ⇒ a valid fixture, content and label byte-identical.
//!
//! Why `arbitrary` (see fuzz/Cargo.toml): the item's grammar is a tree of choices whose
//! valid combinations are a thin set; deriving the decoder keeps the structure, the
//! serialiser and the oracle one readable type instead of a hand-rolled byte layout.

#[path = "common/fixtures.rs"]
mod fixtures;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use trustbench::corpus::der;
use trustbench::corpus::keys::KeyAlgo;
use trustbench::corpus::sign::SigningKey;
use trustbench::formats::{imasig, modsig};
use trustbench::hash::HashAlgo;
use trustbench::kernel_profile::{KernelProfile, Rules};
use trustbench::oid;
use trustbench::trust::store::Store;
use trustbench::verify::ima::{verify_ima, ImaPolicy, ImaRule};
use trustbench::verify::module::{keyring, verify_module};
use trustbench::verify::VerdictClass;

const MARKER: &[u8] = b"~Module signature appended~\n";

/// A signing key with its certificate's identifiers.
struct Signer {
    key: SigningKey,
    issuer: Vec<u8>,
    serial: Vec<u8>,
    skid: Vec<u8>,
    trusted: bool,
}

/// The keys: rsa2048, p256 (trusted signers) and the rogue rsa2048 (untrusted).
fn signers() -> &'static [Signer; 3] {
    static S: OnceLock<[Signer; 3]> = OnceLock::new();
    S.get_or_init(|| {
        let mk = |key_pem: &[u8], cert: &'static [u8], algo: KeyAlgo, trusted: bool| {
            let pkcs8 = pem::parse(key_pem).expect("PEM key").into_contents();
            let key = SigningKey::from_pkcs8("fixture", &pkcs8, algo).expect("fixture key");
            let (issuer, serial) = issuer_serial(cert);
            let skid = skid(cert);
            Signer {
                key,
                issuer,
                serial,
                skid,
                trusted,
            }
        };
        [
            mk(
                include_bytes!("../../corpora/fixtures/signer-rsa2048.key.pem"),
                fixtures::TRUSTED[0].1,
                KeyAlgo::Rsa(2048),
                true,
            ),
            mk(
                include_bytes!("../../corpora/fixtures/signer-p256.key.pem"),
                fixtures::TRUSTED[2].1,
                KeyAlgo::P256,
                true,
            ),
            mk(
                include_bytes!("../../corpora/fixtures/rogue-rsa2048.key.pem"),
                fixtures::UNTRUSTED[1].1,
                KeyAlgo::Rsa(2048),
                false,
            ),
        ]
    })
}

/// The tbsCertificate's issuer Name (full DER) and serialNumber contents.
fn issuer_serial(cert: &[u8]) -> (Vec<u8>, Vec<u8>) {
    use trustbench::asn1::Reader;
    let c = Reader::new(cert).expect_tag(0x30).unwrap();
    let mut tbs = Reader::new(Reader::new(c.contents).expect_tag(0x30).unwrap().contents);
    tbs.optional(0xa0).unwrap();
    let serial = tbs.expect_tag(0x02).unwrap().contents.to_vec();
    tbs.expect_tag(0x30).unwrap();
    let issuer = tbs.expect_tag(0x30).unwrap().encoded.to_vec();
    (issuer, serial)
}

/// The subjectKeyIdentifier bytes (OID 2.5.29.14: 55 1d 0e, then OCTET STRING of OCTET
/// STRING), found by its encoding in the certificate.
fn skid(cert: &[u8]) -> Vec<u8> {
    let at = cert
        .windows(5)
        .position(|w| w == [0x06, 0x03, 0x55, 0x1d, 0x0e])
        .expect("SKID extension");
    let rest = &cert[at + 5..];
    // 04 L1 04 L2 <L2 bytes>
    assert_eq!((rest[0], rest[2]), (0x04, 0x04));
    rest[4..4 + usize::from(rest[3])].to_vec()
}

fn stores() -> &'static [Store; 2] {
    static S: OnceLock<[Store; 2]> = OnceLock::new();
    S.get_or_init(|| {
        [KernelProfile::V6_18, KernelProfile::V7_2]
            .map(|k| fixtures::store(k, trustbench::crypto::default_backend()))
    })
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Rsa2048,
    P256,
    Rogue,
}

impl Key {
    const ALL: [Key; 3] = [Key::Rsa2048, Key::P256, Key::Rogue];

    fn signer(self) -> &'static Signer {
        &signers()[self as usize]
    }

    /// The key whose certificate has this SKID.
    fn with_skid(skid: &[u8]) -> Option<Key> {
        Key::ALL.into_iter().find(|k| k.signer().skid == skid)
    }

    /// The key whose IMA keyid (the SKID's last four bytes) this is.
    fn with_ima_keyid(id: u32) -> Option<Key> {
        Key::ALL.into_iter().find(|k| k.ima_keyid() == id)
    }

    fn ima_keyid(self) -> u32 {
        trustbench::corpus::sign::ima_keyid(&self.signer().skid).expect("SKID")
    }

    /// Whether a key of `other`'s algorithm verifies a signature this key's algorithm
    /// identifier announces (RSA or ECDSA P-256).
    fn same_algorithm(self, other: Key) -> bool {
        (self == Key::P256) == (other == Key::P256)
    }
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn algo(self) -> HashAlgo {
        match self {
            Hash::Sha256 => HashAlgo::Sha256,
            Hash::Sha384 => HashAlgo::Sha384,
            Hash::Sha512 => HashAlgo::Sha512,
        }
    }
}

/// How the signerInfo names its signer.
#[derive(Arbitrary, Debug)]
enum Sid {
    /// The signing key's certificate by issuer and serial (sign-file's default).
    IssuerSerial,
    /// The signing key's SKID (sign-file -k).
    Skid,
    /// Another key's certificate.
    Other(Key, bool),
    /// Any SKID bytes.
    RawSkid(Vec<u8>),
}

/// The signature bytes.
#[derive(Arbitrary, Debug)]
enum Sig {
    Real,
    FlipBit(u16),
    Truncate(u8),
    /// Made by another key.
    OtherKey(Key),
    Bytes(Vec<u8>),
}

impl Sig {
    /// The key whose unaltered signature over the item's message the bytes are, for an
    /// item signed by `own`: `own` for the real one, `k` for `OtherKey(k)`; none for
    /// altered or arbitrary bytes. The oracle judges the item by this key, not by the one
    /// the structure names as signing: the fuzzer found both `OtherKey(own)` (RSA PKCS#1
    /// v1.5 gives the same bytes again) and a rogue-signed item carrying a trusted key's
    /// signature and naming that key, which is simply that key's honest item.
    fn signed_by(&self, own: Key) -> Option<Key> {
        match self {
            Sig::Real => Some(own),
            Sig::OtherKey(k) => Some(*k),
            _ => None,
        }
    }

    /// The signature bytes for an item signed by `own`, where `sign_as(k)` is key `k`'s
    /// signature over the item's message (called only when the bytes need one).
    fn apply(&self, own: Key, sign_as: impl Fn(Key) -> Vec<u8>) -> Vec<u8> {
        match self {
            Sig::Real => sign_as(own),
            Sig::FlipBit(p) => {
                let mut s = sign_as(own);
                let bit = usize::from(*p) % (s.len() * 8).max(1);
                if let Some(b) = s.get_mut(bit / 8) {
                    *b ^= 1 << (bit % 8);
                }
                s
            }
            Sig::Truncate(n) => {
                let mut s = sign_as(own);
                s.truncate(s.len().saturating_sub(usize::from(*n).max(1)));
                s
            }
            Sig::OtherKey(k) => sign_as(*k),
            Sig::Bytes(b) => b.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Cert {
    Trusted(u8),
    Untrusted(u8),
    Bytes(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Attrs {
    /// messageDigest holds the content's digest (else one bit of it flipped).
    wrong_digest: bool,
    /// contentType is data (else signedData).
    wrong_content_type: bool,
}

/// The 12-byte `struct module_signature`, each field as a difference from the honest
/// value (zero: honest).
#[derive(Arbitrary, Debug, Default)]
struct Trailer {
    algo: u8,
    hash: u8,
    id_type_xor: u8,
    signer_len: u8,
    key_id_len: u8,
    pad: [u8; 3],
    sig_len_delta: i16,
    marker_xor: Option<(u8, u8)>,
    after_marker: Vec<u8>,
}

impl Trailer {
    fn honest(&self) -> bool {
        self.algo == 0
            && self.hash == 0
            && self.id_type_xor == 0
            && self.signer_len == 0
            && self.key_id_len == 0
            && self.pad == [0; 3]
            && self.sig_len_delta == 0
            && self.marker_xor.is_none_or(|(_, x)| x == 0)
            && self.after_marker.is_empty()
    }

    fn write(&self, file: &mut Vec<u8>, pkcs7_len: usize) {
        let sig_len = (pkcs7_len as i64 + i64::from(self.sig_len_delta)) as u32;
        file.extend_from_slice(&[
            self.algo,
            self.hash,
            2 ^ self.id_type_xor,
            self.signer_len,
            self.key_id_len,
        ]);
        file.extend_from_slice(&self.pad);
        file.extend_from_slice(&sig_len.to_be_bytes());
        let mut marker = MARKER.to_vec();
        if let Some((at, x)) = self.marker_xor {
            marker[usize::from(at) % MARKER.len()] ^= x;
        }
        file.extend_from_slice(&marker);
        file.extend_from_slice(&self.after_marker);
    }
}

#[derive(Arbitrary, Debug)]
struct ModuleSig {
    key: Key,
    hash: Hash,
    /// The signerInfo's digestAlgorithm, when it lies about the hash signed with.
    declared: Option<Hash>,
    sid: Sid,
    attrs: Option<Attrs>,
    sig: Sig,
    certs: Vec<Cert>,
    trailer: Trailer,
}

#[derive(Arbitrary, Debug)]
enum Module {
    Built {
        body: Vec<u8>,
        sig: ModuleSig,
    },
    Unsigned {
        body: Vec<u8>,
    },
    /// A sign-file fixture with byte flips (position, xor).
    Fixture {
        index: u8,
        flips: Vec<(u16, u8)>,
    },
}

#[derive(Arbitrary, Debug)]
enum KeyId {
    Own,
    Of(Key),
    Raw(u32),
}

/// An IMA v2 label (`signature_v2_hdr` + signature), each header field as a difference
/// from the honest value.
#[derive(Arbitrary, Debug)]
struct ImaLabel {
    key: Key,
    hash: Hash,
    type_xor: u8,
    version_xor: u8,
    algo_xor: u8,
    keyid: KeyId,
    sig_size_delta: i16,
    sig: Sig,
    after: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
enum Ima {
    Built {
        content: Vec<u8>,
        label: ImaLabel,
    },
    Fixture {
        index: u8,
        content_flips: Vec<(u16, u8)>,
        label_flips: Vec<(u16, u8)>,
    },
}

#[derive(Arbitrary, Debug)]
struct Item {
    module: Module,
    ima: Ima,
}

fn digest(h: HashAlgo, data: &[u8]) -> trustbench::hash::Digest {
    h.digest(data).expect("sha2 is computable")
}

/// What a signature covers: a digest (no signed attributes; IMA v2), or a message hashed
/// with an algorithm (the signed-attributes SET).
#[derive(Clone, PartialEq, Eq, Hash)]
enum Signed {
    Digest(trustbench::hash::Digest),
    Message(Vec<u8>, HashAlgo),
}

/// Key `key`'s signature over `what`, remembered (up to 4096, then forgotten at once).
/// Signing is most of an execution's time (perf: 52% in RSA private operations), and
/// libFuzzer's neighbouring inputs often differ only in bytes a signature does not cover.
/// RSA PKCS#1 v1.5 is deterministic, so a remembered RSA signature is the one signing again
/// would give; a remembered ECDSA one is another valid signature by the same key over the
/// same message, which is all the oracle relies on.
fn sign(key: Key, what: &Signed) -> Vec<u8> {
    thread_local! {
        static MEMO: RefCell<HashMap<(Key, Signed), Vec<u8>>> = RefCell::new(HashMap::new());
    }
    MEMO.with_borrow_mut(|memo| {
        if memo.len() >= 4096 {
            memo.clear();
        }
        memo.entry((key, what.clone()))
            .or_insert_with(|| {
                let k = &key.signer().key;
                match what {
                    Signed::Digest(d) => k.sign_digest(d),
                    Signed::Message(m, h) => k.sign_message(m, *h),
                }
                .expect("sign")
            })
            .clone()
    })
}

/// The DER of the signature AlgorithmIdentifier for `key` with `hash`.
fn sig_alg(key: Key, hash: HashAlgo) -> Vec<u8> {
    if key == Key::P256 {
        let last = match hash {
            HashAlgo::Sha384 => 3,
            HashAlgo::Sha512 => 4,
            _ => 2,
        };
        der::alg(&[oid::ECDSA_SHA2, &[last]].concat())
    } else {
        der::alg_null(oid::RSA_ENCRYPTION)
    }
}

/// Serialises a built module; returns it and whether it is honest (and without
/// embedded certificates).
fn build_module(body: &[u8], m: &ModuleSig) -> (Vec<u8>, bool, bool) {
    let signer = m.key.signer();
    let hash = m.hash.algo();
    let declared = m.declared.map_or(hash, Hash::algo);
    let d = digest(hash, body);
    let (attrs, what) = match &m.attrs {
        None => (Vec::new(), Signed::Digest(d)),
        Some(a) => {
            let mut md = d.as_bytes().to_vec();
            if a.wrong_digest {
                md[0] ^= 1;
            }
            let ct = if a.wrong_content_type {
                oid::SIGNED_DATA
            } else {
                oid::DATA
            };
            let set_body = [
                der::seq(&[&der::oid(oid::CONTENT_TYPE), &der::tlv(0x31, &der::oid(ct))]),
                der::seq(&[
                    &der::oid(oid::MESSAGE_DIGEST),
                    &der::tlv(0x31, &der::tlv(0x04, &md)),
                ]),
            ]
            .concat();
            let signed = der::tlv(0x31, &set_body);
            (der::tlv(0xa0, &set_body), Signed::Message(signed, hash))
        }
    };
    let signature = m.sig.apply(m.key, |k| sign(k, &what));
    let (version, sid, named) = match &m.sid {
        Sid::IssuerSerial => (
            1,
            der::seq(&[&signer.issuer, &der::tlv(0x02, &signer.serial)]),
            Some(m.key),
        ),
        Sid::Skid => (3, der::tlv(0x80, &signer.skid), Some(m.key)),
        Sid::Other(k, by_skid) => {
            let o = k.signer();
            let sid = if *by_skid {
                der::tlv(0x80, &o.skid)
            } else {
                der::seq(&[&o.issuer, &der::tlv(0x02, &o.serial)])
            };
            (if *by_skid { 3 } else { 1 }, sid, Some(*k))
        }
        Sid::RawSkid(b) => (3, der::tlv(0x80, b), Key::with_skid(b)),
    };
    let digest_alg = der::alg(declared.oid().expect("sha2 OID"));
    let signer_info = der::seq(&[
        &der::small_int(version),
        &sid,
        &digest_alg,
        &attrs,
        &sig_alg(m.key, declared),
        &der::tlv(0x04, &signature),
    ]);
    let certs: Vec<u8> = m
        .certs
        .iter()
        .flat_map(|c| match c {
            Cert::Trusted(i) => fixtures::TRUSTED[usize::from(*i) % 4].1.to_vec(),
            Cert::Untrusted(i) => fixtures::UNTRUSTED[usize::from(*i) % 3].1.to_vec(),
            Cert::Bytes(b) => b.clone(),
        })
        .collect();
    let certs = if m.certs.is_empty() {
        Vec::new()
    } else {
        der::tlv(0xa0, &certs)
    };
    let signed_data = der::seq(&[
        &der::small_int(version),
        &der::tlv(0x31, &digest_alg),
        &der::seq(&[&der::oid(oid::DATA)]),
        &certs,
        &der::tlv(0x31, &signer_info),
    ]);
    let pkcs7 = der::seq(&[&der::oid(oid::SIGNED_DATA), &der::tlv(0xa0, &signed_data)]);
    let mut file = body.to_vec();
    file.extend_from_slice(&pkcs7);
    m.trailer.write(&mut file, pkcs7.len());
    // mod_check_sig: sig_len must be below the file length less the 12-byte header, so a
    // module needs at least one byte of content.
    // Honest: the signature is a trusted key's, the signerInfo names that key, and the
    // signature algorithm identifier (written for `m.key`) is that key's algorithm.
    let honest = !body.is_empty()
        && m.sig
            .signed_by(m.key)
            .is_some_and(|e| e.signer().trusted && named == Some(e) && e.same_algorithm(m.key))
        && declared == hash
        && m.attrs.is_none()
        && m.trailer.honest();
    (file, honest, m.certs.is_empty())
}

/// The parts of a fixture module a valid verdict may not differ in: body, signature
/// contents, trailer and marker, as ranges of the file.
fn module_critical(file: &'static [u8], rules: &Rules) -> [std::ops::Range<usize>; 3] {
    let ms = modsig::locate(file).unwrap().unwrap();
    let p7 = trustbench::formats::pkcs7::Pkcs7::parse(ms.pkcs7, rules).unwrap();
    let si = p7.signers().next().unwrap().unwrap();
    let base = file.as_ptr() as usize;
    let at = si.signature.as_ptr() as usize - base;
    [
        0..ms.content.len(),
        at..at + si.signature.len(),
        file.len() - 40..file.len(),
    ]
}

fn flipped(orig: &[u8], flips: &[(u16, u8)]) -> Vec<u8> {
    let mut v = orig.to_vec();
    if !v.is_empty() {
        for &(p, x) in flips {
            let n = v.len();
            v[usize::from(p) % n] ^= x;
        }
    }
    v
}

fn check_module(item: &Module) {
    for store in stores() {
        let (file, valid_ok, must_be_valid): (Vec<u8>, Box<dyn Fn(&[u8]) -> bool>, bool) =
            match item {
                Module::Built { body, sig } => {
                    let (file, honest, no_certs) = build_module(body, sig);
                    (file, Box::new(move |_| honest), honest && no_certs)
                }
                Module::Unsigned { body } => {
                    // A body that happens to end with the marker is a (broken) signed module.
                    (body.clone(), Box::new(|_| false), false)
                }
                Module::Fixture { index, flips } => {
                    let (_, orig, valid) =
                        fixtures::MODULES[usize::from(*index) % fixtures::MODULES.len()];
                    let file = flipped(orig, flips);
                    let ranges = if valid {
                        Some(module_critical(orig, &store.rules()))
                    } else {
                        None
                    };
                    (
                        file,
                        Box::new(move |f: &[u8]| {
                            ranges
                                .as_ref()
                                .is_some_and(|r| r.iter().all(|r| f[r.clone()] == orig[r.clone()]))
                        }),
                        valid && flips.iter().all(|&(_, x)| x == 0),
                    )
                }
            };
        let v = verify_module(store, &file, keyring(store));
        if v.class == VerdictClass::Valid {
            assert!(
                valid_ok(&file),
                "{}: valid but not provably so: {item:?}\n{v:?}",
                store.kernel()
            );
        }
        if must_be_valid {
            assert_eq!(
                v.class,
                VerdictClass::Valid,
                "{}: honest but {v:?}\n{item:?}",
                store.kernel()
            );
        }
    }
}

fn build_label(content: &[u8], l: &ImaLabel) -> (Vec<u8>, bool) {
    let hash = l.hash.algo();
    let what = Signed::Digest(digest(hash, content));
    let sig = l.sig.apply(l.key, |k| sign(k, &what));
    let id = match l.keyid {
        KeyId::Own => l.key.ima_keyid(),
        KeyId::Of(k) => k.ima_keyid(),
        KeyId::Raw(r) => r,
    };
    let mut v = vec![
        imasig::TYPE_DIGSIG ^ l.type_xor,
        2 ^ l.version_xor,
        hash.kernel_id() ^ l.algo_xor,
    ];
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&((sig.len() as i64 + i64::from(l.sig_size_delta)) as u16).to_be_bytes());
    v.extend_from_slice(&sig);
    v.extend_from_slice(&l.after);
    // Honest: the signature is a trusted key's and the keyid names that key.
    let honest = l
        .sig
        .signed_by(l.key)
        .is_some_and(|e| e.signer().trusted && Key::with_ima_keyid(id) == Some(e))
        && l.type_xor == 0
        && l.version_xor == 0
        && l.algo_xor == 0
        && l.sig_size_delta == 0
        && l.after.is_empty();
    (v, honest)
}

fn check_ima(item: &Ima) {
    let (content, label, valid_ok, must_be_valid) = match item {
        Ima::Built { content, label } => {
            let (v, honest) = build_label(content, label);
            (content.clone(), v, honest, honest)
        }
        Ima::Fixture {
            index,
            content_flips,
            label_flips,
        } => {
            let (_, c, l, valid) = fixtures::IMA[usize::from(*index) % fixtures::IMA.len()];
            let (c2, l2) = (flipped(c, content_flips), flipped(l, label_flips));
            let same = c2 == c && l2 == l;
            (c2, l2, valid && same, valid && same)
        }
    };
    for store in stores() {
        for rule in [ImaRule::Imasig, ImaRule::Hash] {
            let policy = ImaPolicy {
                check_blacklist: false,
                rule,
            };
            let v = verify_ima(store, &content, Some(&label), policy);
            let ctx = || format!("{} {rule:?}: {v:?}\n{item:?}", store.kernel());
            if v.class == VerdictClass::Valid {
                assert!(valid_ok, "valid but not provably so: {}", ctx());
            }
            if must_be_valid {
                assert_eq!(
                    v.class,
                    VerdictClass::Valid,
                    "honest but not valid: {}",
                    ctx()
                );
            }
        }
    }
}

fuzz_target!(|item: Item| {
    check_module(&item.module);
    check_ima(&item.ima);
});
