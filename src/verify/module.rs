//! Module signatures: `mod_verify_sig` → `verify_pkcs7_message_sig(…, secondary, MODULE)`.
//!
//! Where an item has several defects, the first check in the kernel's order decides the
//! errno, so the checks below run in exactly that order (kernel/module/signing.c,
//! kernel/module_signature.c, certs/system_keyring.c, certs/blacklist.c,
//! crypto/asymmetric_keys/pkcs7_parser.c + pkcs7.asn1 + lib/asn1_decoder.c,
//! pkcs7_verify.c, pkcs7_trust.c, public_key.c, signature.c, x509_public_key.c, read from
//! the spec's 6.17 mirror; their next rework, for ML-DSA, came in 7.0):
//!
//! 1. Trailer (`module_sig_check`, `mod_verify_sig`, `mod_check_sig`): no marker →
//!    unsigned (`ENODATA`); what remains ≤ 12 bytes → `EBADMSG`; `sig_len` leaves no
//!    content byte → `EBADMSG`; id type not PKCS#7 → `ENOPKG`; any other header byte set →
//!    `EBADMSG` ([`crate::formats::modsig::locate`]).
//! 2. `pkcs7_parse_message`: one pass of the ASN.1 decoder over the DER, the grammar's
//!    actions called in document order, the first failure final
//!    ([`crate::formats::pkcs7`] has the details):
//!    1. more than 65535 bytes → `EMSGSIZE`, before anything is decoded;
//!    2. outer content type not signedData → `EINVAL`;
//!    3. SignedData version not 1 or 3 → `EINVAL`; digestAlgorithms: structure only (an
//!       unknown digest there is not an error);
//!    4. inner ContentInfo: its `[0]` content is decoded first (`EBADMSG` if malformed), then
//!       its type must be id-data or Authenticode → `EINVAL`;
//!    5. each certificate, and each member of the CRL fields (the grammar hands them to the
//!       same action): not a SEQUENCE → `EBADMSG`, else the X.509 parser's errno (`ENOPKG`
//!       for RSA-PSS, `EBADMSG`, `EKEYREJECTED`, …); CRL members are parsed and dropped;
//!    6. each signerInfo in turn: version (`EINVAL`, or `EBADMSG` on a mismatch with
//!       SignedData's), signer id (issuer Name structure, serial, or `[0]` SKID; `EBADMSG`),
//!       digest algorithm unknown → `ENOPKG`, authenticated attributes value by value
//!       (repeat `EKEYREJECTED`, contentType ≠ content type `EBADMSG`, S/MIME caps or
//!       Authenticode attributes outside Authenticode `EKEYREJECTED`, bad signingTime
//!       `EBADMSG`) and, for the `[0]` form, contentType + messageDigest required
//!       (`EBADMSG`) — the `[2] EXPLICIT` form has no such rule and counts as "no
//!       attributes"; signature algorithm unknown → `ENOPKG`; unauthenticated attributes
//!       (structure); Authenticode without `[0]` attributes → `EBADMSG`;
//!    7. any structural fault (tag, length, trailing bytes inside an element, empty SET OF)
//!       is `EBADMSG` at the point the decoder reaches it — the end of a constructed element
//!       is checked after everything inside it, so bytes after the signerInfos come after
//!       every signerInfo's checks; bytes after the whole message are ignored;
//!    8. after decoding: no signerInfo, or `[0]` attributes on some signerInfos only →
//!       `EINVAL`.
//! 3. `verify_pkcs7_message_sig`: detached data supplied while the message embeds content →
//!    `EBADMSG`, before anything looks at attributes or signatures.
//! 4. `pkcs7_verify(MODULE)`: content type not id-data → `EKEYREJECTED`; `[0]` attributes
//!    present → `EKEYREJECTED`. Then per signerInfo, in order (`pkcs7_verify_one`):
//!    1. digest of the content; hash not available → `ENOPKG`;
//!    2. the signer among the embedded certificates: the first whose `id[0]` equals the
//!       signerInfo's id (so SKID signer ids never match); none → this signerInfo is done;
//!    3. a signingTime outside that certificate's validity → `EKEYREJECTED`;
//!    4. the signerInfo's signature verified with the embedded certificate: the verifier's
//!       raw errno (§2.11: `EINVAL` for a wrong length or an RSA block without its leading
//!       zero, `EBADMSG` for bad padding, `EKEYREJECTED` for a mismatch or an algorithm
//!       that is not the key's);
//!    5. the embedded chain (`pkcs7_verify_sig_chain`): a blacklisted certificate marks the
//!       signerInfo and every certificate below it blacklisted and stops; a self-signed one
//!       ends it; else the issuer by AKID serial+issuer (whose AKID keyid must then equal
//!       its SKID, else `EKEYREJECTED`) or by AKID keyid; none, or one already walked, ends
//!       it; else its key verifies the certificate (raw errno) and the link is recorded.
//!       The links and blacklist marks stay on the certificates for later signerInfos and
//!       for the trust step, which follows exactly these links.
//!
//!    Aggregate: a blacklisted signerInfo is skipped (the result, `ENOPKG` by default,
//!    becomes `EKEYREJECTED`); `ENOPKG` marks the signerInfo unsupported and skips it; any
//!    other error is returned at once, even if another signerInfo is good; one good →
//!    continue.
//! 5. `is_key_on_revocation_list`: the trust step (6.) against `.blacklist`; success →
//!    `EKEYREJECTED`, any failure → carry on (its "verified" marks remain on the
//!    certificates).
//! 6. `pkcs7_validate_trust(secondary)`: "walked" marks reset once for all signerInfos;
//!    per signerInfo: unsupported → `ENOPKG`; walk signer → recorded issuer …: a
//!    certificate already walked ends it (success if it was verified, else `ENOKEY`); one
//!    found in the keyring (by `id[0]`, its SKID required to match) verifies, with the
//!    trusted key, the signature it made below; a self-signed one not found → `ENOKEY`;
//!    then the chain top's AKID is looked up (errors other than `ENOKEY` returned); then
//!    the signerInfo's own id (the path sign-file's messages take). Any verification
//!    failure with a found key → `EKEYREJECTED` (except `ENOMEM`). Aggregate: a hard error
//!    from any signerInfo is returned at once; else success if one is trusted; else
//!    `ENOPKG` if one was unsupported; else `ENOKEY`.
//! 7. Policy (not here): `ENODATA`, `ENOPKG`, `ENOKEY` are soft unless enforcing.
//!
//! Not modelled: `ENOMEM`; BER indefinite lengths are measured before the elements inside
//! them are judged (the kernel judges as it goes); the decoder's leniency that lets a
//! constructed type be written with the primitive bit; a certificate whose own hash the
//! emulated kernel lacks keeps no authority ids here, so chain and AKID steps stop at it
//! (the kernel would go on and fail its verification).

use super::checks::Checks;
use super::{reason_for, ItemKind, Verdict};
use crate::crypto::{SigAlgo, SignatureRecord, Signed};
use crate::errno::{Errno, KResult};
use crate::formats::modsig;
use crate::formats::pkcs7::{self, CertOrigin, DataType, Pkcs7, SignerInfo};
use crate::hash::{Digest, HashAlgo};
use crate::timing::{mark, Stage};
use crate::trust::store::Store;
use crate::trust::x509::ParsedCert;
use crate::trust::Serial;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

/// The keyring module signatures are judged against, chosen here and nowhere else:
/// `mod_verify_sig` passes `VERIFY_USE_SECONDARY_KEYRING`, which
/// `verify_pkcs7_message_sig` (certs/system_keyring.c) resolves to the secondary keyring
/// when the kernel has one (`CONFIG_SECONDARY_TRUSTED_KEYRING`), else the builtin keyring.
pub fn keyring(store: &Store) -> Serial {
    let sys = store.system();
    sys.secondary.unwrap_or(sys.builtin)
}

/// Verifies a whole module file against `keyring` (normally [`keyring`]). Convenience for
/// one-off callers (benches, fuzzing): embedded certificates are parsed afresh; the
/// engine uses [`verify_module_with`] and a per-worker [`CertCache`].
pub fn verify_module(store: &Store, file: &[u8], keyring: Serial) -> Verdict {
    verify_module_with(
        store,
        file,
        keyring,
        &mut CertCache::default(),
        &mut Checks::default(),
    )
}

/// Verifies a whole module file against `keyring`, reusing the certificates `certs`
/// already parsed (same verdict and errno as a fresh parse), with the signature checks
/// against trusted keys done as `checks` says (at once, or deferred into a batch).
pub fn verify_module_with(
    store: &Store,
    file: &[u8],
    keyring: Serial,
    certs: &mut CertCache,
    checks: &mut Checks,
) -> Verdict {
    let k = ItemKind::Module;
    mark(Stage::Parse);
    let before = crate::crypto::unsupported_count();
    let m = match modsig::locate(file) {
        Ok(Some(m)) => m,
        Ok(None) => return Verdict::unsigned(k, "no module signature trailer"),
        Err(e) => return Verdict::invalid(k, e, "malformed module signature trailer"),
    };
    let mut digest = None;
    let v = match verify_pkcs7_detached(
        store,
        m.content,
        m.pkcs7,
        keyring,
        &mut digest,
        certs,
        checks,
    ) {
        Ok(signer) => Verdict::valid(k, signer, digest),
        Err((e, signer)) => Verdict::invalid(k, e, reason_for(e))
            .with_digest(digest)
            .with_signer(signer),
    };
    v.with_unsupported_since(store, before)
}

/// Parsed certificates per worker, so that a certificate embedded in many modules' PKCS#7
/// messages is parsed (and its key prepared, its self-signature checked) once rather than
/// per module.
///
/// A parse depends on the DER bytes, the store's crypto profile and backend, and the
/// `tbs:` blacklist; the last can change, and every change bumps the store's trust epoch.
/// So entries are keyed by the exact DER bytes (compared in full on a hit: no digest
/// collisions to reason about) and the whole cache answers only for the store and epoch it
/// was filled under; any other store or epoch empties it first. Failures are remembered
/// too, with their errno, so a message that fails to parse fails the same way every time.
/// Bounded: at [`CertCache::CAPACITY`] entries it starts over.
#[derive(Default)]
pub struct CertCache {
    /// The store (by address) and the epoch the entries were parsed under.
    tag: Option<(usize, u64)>,
    parsed: HashMap<Box<[u8]>, Result<Arc<ParsedCert>, Errno>, DerHasher>,
    /// The current message's certificates, in message order (reused between messages).
    embedded: Vec<Arc<ParsedCert>>,
    /// The kernel's per-certificate state for the current message, one per embedded
    /// certificate (reused between messages).
    marks: Vec<Marks>,
    /// The current signerInfo's signed attributes re-tagged as a SET, what a signature
    /// with attributes covers (reused between messages).
    attrs: Vec<u8>,
}

/// What the kernel records on each `x509_certificate` of a message while verifying it. It
/// outlives one signerInfo: links and blacklist marks made for one are seen by the next and
/// by the trust step, and "verified" survives from the revocation pass into the real one.
#[derive(Clone, Copy, Debug, Default)]
struct Marks {
    /// `signer`: the embedded certificate whose key verified this one (itself when
    /// self-signed), set by the chain walk.
    signer: Option<usize>,
    /// `blacklisted`: its TBS hash is blacklisted, or it lies below one that is.
    blacklisted: bool,
    /// `seen`: walked in the current chain walk or trust pass.
    seen: bool,
    /// `verified`: trusted by an earlier signerInfo, and the key that did it.
    verified: Option<Serial>,
}

impl CertCache {
    /// Entries kept per worker before the cache starts over.
    pub const CAPACITY: usize = 256;

    /// Forgets everything unless the entries belong to `store` at its current epoch.
    fn serve(&mut self, store: &Store) {
        let tag = (store as *const Store as usize, store.epoch());
        if self.tag != Some(tag) {
            self.parsed.clear();
            self.tag = Some(tag);
        }
    }

    /// The parsed form of `der`, from the cache or parsed now (and remembered).
    fn get(
        parsed: &mut HashMap<Box<[u8]>, Result<Arc<ParsedCert>, Errno>, DerHasher>,
        store: &Store,
        der: &[u8],
    ) -> Result<Arc<ParsedCert>, Errno> {
        if let Some(r) = parsed.get(der) {
            return r.clone();
        }
        let r = store.parse_cert(der).map(Arc::new);
        if parsed.len() >= CertCache::CAPACITY {
            parsed.clear();
        }
        parsed.insert(der.into(), r.clone());
        r
    }
}

/// Hashing for [`CertCache`] keys: DER is attacker-chosen, but the cache is per worker and
/// bounded and every hit compares the full bytes, so collisions cost time, never a wrong
/// answer; a word-at-a-time multiply-rotate mix is enough.
#[derive(Clone, Copy, Debug, Default)]
pub struct DerHasher;

/// State of [`DerHasher`].
#[derive(Clone, Copy, Debug, Default)]
pub struct DerHash(u64);

impl Hasher for DerHash {
    fn finish(&self) -> u64 {
        let z = (self.0 ^ (self.0 >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z ^ (z >> 32)
    }

    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            self.0 =
                (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
}

impl BuildHasher for DerHasher {
    type Hasher = DerHash;
    fn build_hasher(&self) -> DerHash {
        DerHash::default()
    }
}

/// The most signerInfos one message can hold, and so the size of the table that remembers
/// which of them the trust step skips ([`Unsupported`]).
///
/// Why this number: the kernel has no limit of its own on signerInfos, but its ASN.1
/// decoder refuses any message over [`pkcs7::MAX_MESSAGE`] bytes (`EMSGSIZE`), and the
/// smallest signerInfo its grammar accepts is [`MIN_SIGNER_INFO_LEN`] bytes, so no message
/// it decodes holds more than this many. The budget therefore never refuses a message the
/// kernel would judge, and the table is 36 words on the stack instead of the 1024 that a
/// bit per possible byte offset took. A signerInfo past it (which only a parser grown
/// laxer than the kernel's could let through) fails the message `EMSGSIZE`, the kernel's
/// answer to a message too big for its decoder, never an index out of range.
pub const MAX_SIGNER_INFOS: usize = pkcs7::MAX_MESSAGE / MIN_SIGNER_INFO_LEN + 1;

/// The smallest signerInfo the kernel's grammar accepts: `SEQUENCE { INTEGER 3, [0] ''
/// (empty SKID), { sha1 }, { ecdsa-with-SHA1 }, OCTET STRING '' }`, 2 + 3 + 2 + 9 + 11 + 2
/// bytes (the shortest digest and signature algorithm identifiers the kernel names;
/// parameters are optional). A unit test parses exactly that.
pub const MIN_SIGNER_INFO_LEN: usize = 29;

const UNSUPPORTED_WORDS: usize = MAX_SIGNER_INFOS.div_ceil(64);

/// The signerInfos the trust step skips, by index: a bit per possible signer
/// ([`MAX_SIGNER_INFOS`]); on the stack, so marking allocates nothing.
struct Unsupported([u64; UNSUPPORTED_WORDS]);

impl Default for Unsupported {
    fn default() -> Self {
        Unsupported([0; UNSUPPORTED_WORDS])
    }
}

impl Unsupported {
    fn mark(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }

    fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

/// Up to this many distinct digest algorithms per message are memoised.
const DIGEST_SLOTS: usize = 4;

struct Digests<'a> {
    content: &'a [u8],
    slots: [Option<Digest>; DIGEST_SLOTS],
}

impl<'a> Digests<'a> {
    fn get(&mut self, store: &Store, h: HashAlgo) -> KResult<Digest> {
        if !store.profile().has_hash(h) {
            return Err(Errno::ENOPKG);
        }
        if let Some(d) = self.slots.iter().flatten().find(|d| d.algo() == h) {
            return Ok(*d);
        }
        mark(Stage::Digest);
        let d = h.digest(self.content)?;
        mark(Stage::Parse);
        if let Some(slot) = self.slots.iter_mut().find(|s| s.is_none()) {
            *slot = Some(d);
        }
        Ok(d)
    }
}

type Failure = (Errno, Option<Serial>);

/// `verify_pkcs7_message_sig` with detached `content` and usage MODULE. Returns the
/// trusted key that verified the first trusted signerInfo. `digest_out` receives the
/// content digest of the first signerInfo that passed the internal checks. Embedded
/// certificates come from (and go into) `certs`; checks against trusted keys are done as
/// `checks` says.
pub fn verify_pkcs7_detached(
    store: &Store,
    content: &[u8],
    der: &[u8],
    keyring: Serial,
    digest_out: &mut Option<Digest>,
    certs: &mut CertCache,
    checks: &mut Checks,
) -> Result<Serial, Failure> {
    certs.serve(store);
    let CertCache {
        parsed,
        embedded,
        marks,
        attrs,
        ..
    } = certs;
    embedded.clear();
    // Certificates are parsed while the message is (pkcs7_extract_cert), so their errors
    // come in document order, before the detached-content check. Those met in the CRL
    // fields are parsed too, but not kept.
    let rules = store.rules();
    let msg = Pkcs7::parse_with(der, &rules, &mut |c, origin| {
        let cert = CertCache::get(parsed, store, c)?;
        if origin == CertOrigin::Certificates {
            embedded.push(cert);
        }
        Ok(())
    })
    .map_err(|e| (e, None))?;
    if msg.embedded_content.is_some() {
        return Err((Errno::EBADMSG, None));
    }
    // pkcs7_verify's usage gate for VERIFYING_MODULE_SIGNATURE: no signed attributes,
    // unless the ML-DSA waiver (7.0 Kconfig) is on and the *first* signerInfo is ML-DSA.
    let waived = store.kernel().waive_mldsa_authattrs && msg.first_signer_mldsa;
    if msg.data_type != DataType::Data || (msg.have_authattrs && !waived) {
        return Err((Errno::EKEYREJECTED, None));
    }
    marks.clear();
    marks.extend(embedded.iter().map(|c| Marks {
        blacklisted: c.blacklisted,
        ..Marks::default()
    }));
    let mut m = Message {
        store,
        msg: &msg,
        certs: embedded,
        marks,
        digests: Digests {
            content,
            slots: [None; DIGEST_SLOTS],
        },
        unsupported: Unsupported::default(),
        checks,
        attrs,
    };

    // pkcs7_verify: internal consistency of each signerInfo.
    let mut actual: KResult<()> = Err(Errno::ENOPKG);
    for (i, s) in msg.signers().enumerate() {
        let s = s.map_err(|e| (e, None))?;
        if i >= MAX_SIGNER_INFOS {
            return Err((Errno::EMSGSIZE, None));
        }
        let (r, blacklisted) = m.verify_one(&s);
        if blacklisted {
            if actual == Err(Errno::ENOPKG) {
                actual = Err(Errno::EKEYREJECTED);
            }
            continue;
        }
        match r {
            Ok(d) => {
                if digest_out.is_none() {
                    *digest_out = d;
                }
                actual = Ok(());
            }
            Err(Errno::ENOPKG) => m.unsupported.mark(i),
            Err(e) => return Err((e, None)),
        }
    }
    actual.map_err(|e| (e, None))?;

    // Revocation list: a message that would be trusted by a revocation certificate fails;
    // any other outcome carries on.
    mark(Stage::Blacklist);
    let bl = store.system().blacklist;
    if store.has_revocation_certs() && m.validate_trust(bl).is_ok() {
        return Err((Errno::EKEYREJECTED, None));
    }
    mark(Stage::Lookup);
    m.validate_trust(keyring)
}

/// One message being verified: its certificates and the kernel's marks on them.
struct Message<'s, 'm, 'a> {
    store: &'s Store,
    msg: &'m Pkcs7<'a>,
    certs: &'m [Arc<ParsedCert>],
    marks: &'m mut [Marks],
    digests: Digests<'a>,
    /// signerInfos pkcs7_verify marked `unsupported_crypto`.
    unsupported: Unsupported,
    /// How checks against trusted keys are done.
    checks: &'m mut Checks,
    /// Scratch for the signed attributes re-tagged as a SET ([`Message::covers`]).
    attrs: &'m mut Vec<u8>,
}

/// What a signerInfo's signature covers (pkcs7_digest), once worked out.
#[derive(Clone, Copy, Debug)]
enum Covers {
    /// ML-DSA without signed attributes: the content itself; nothing is hashed.
    Content,
    /// A digest: of the content without signed attributes, of the re-tagged attributes
    /// with them.
    Digest(Digest),
    /// ML-DSA with signed attributes: the re-tagged attributes themselves (in
    /// [`Message::attrs`]), under the digestAlgorithm's name (which must be sha512).
    Attrs,
}

impl Message<'_, '_, '_> {
    /// pkcs7_find_key: the first embedded certificate whose id[0] is the signerInfo's id.
    fn find_key(&self, s: &SignerInfo<'_>) -> Option<usize> {
        let mut buf = [0u8; 512];
        let mut spill = Vec::new();
        let id0 = s.sid.auth_id0(&mut buf, &mut spill);
        self.certs.iter().position(|c| &*c.key.ids.id == id0)
    }

    /// pkcs7_digest: what `s`'s signature covers, and the content digest when one was
    /// made. ML-DSA without attributes covers the content itself and hashes nothing (its
    /// digestAlgorithm is then ignored: the kernel names the hash "none"). With attributes
    /// the content digest must equal messageDigest (length `EBADMSG`, value
    /// `EKEYREJECTED`); the attributes, re-tagged as a SET, are then hashed (RSA, ECDSA)
    /// or covered as they are (ML-DSA).
    fn covers(&mut self, s: &SignerInfo<'_>) -> KResult<(Option<Digest>, Covers)> {
        let takes_data = matches!(s.algo, SigAlgo::MlDsa(_));
        let Some(attrs) = s.auth_attrs else {
            if takes_data {
                return Ok((None, Covers::Content));
            }
            let d = self.digests.get(self.store, s.digest)?;
            return Ok((Some(d), Covers::Digest(d)));
        };
        let d = self.digests.get(self.store, s.digest)?;
        if attrs.message_digest.len() != d.as_bytes().len() {
            return Err(Errno::EBADMSG);
        }
        if attrs.message_digest != d.as_bytes() {
            return Err(Errno::EKEYREJECTED);
        }
        self.attrs.clear();
        self.attrs.extend_from_slice(attrs.encoded);
        if let Some(t) = self.attrs.first_mut() {
            *t = crate::asn1::tag::SET;
        }
        if takes_data {
            return Ok((Some(d), Covers::Attrs));
        }
        mark(Stage::Digest);
        let ad = s.digest.digest(self.attrs);
        mark(Stage::Parse);
        Ok((Some(d), Covers::Digest(ad?)))
    }

    /// pkcs7_verify_one: the digest; for a signer certificate embedded in the message, the
    /// signingTime rule, the signerInfo signature and the embedded chain. Returns the
    /// content digest when one was made (or the first failure) and whether the chain met a
    /// blacklisted certificate.
    fn verify_one(&mut self, s: &SignerInfo<'_>) -> (KResult<Option<Digest>>, bool) {
        let (d, covers) = match self.covers(s) {
            Ok(c) => c,
            Err(e) => return (Err(e), false),
        };
        let Some(x) = self.find_key(s) else {
            return (Ok(d), false);
        };
        let cert = &self.certs[x];
        if let Some(t) = s.signing_time {
            if t < cert.valid_from || t > cert.valid_to {
                return (Err(Errno::EKEYREJECTED), false);
            }
        }
        let rec = record(s, covers, self.digests.content, self.attrs);
        if let Err(e) = cert.key.public.verify(&rec, self.store.profile()) {
            return (Err(e), false);
        }
        match self.verify_chain(x) {
            Ok(blacklisted) => (Ok(d), blacklisted),
            Err(e) => (Err(e), false),
        }
    }

    /// pkcs7_verify_sig_chain from the signer certificate `x0`: records each verified link
    /// in `signer`; returns whether a blacklisted certificate was reached.
    fn verify_chain(&mut self, x0: usize) -> KResult<bool> {
        for m in self.marks.iter_mut() {
            m.seen = false;
        }
        let (profile, certs) = (self.store.profile(), self.certs);
        let mut x = x0;
        loop {
            self.marks[x].seen = true;
            if self.marks[x].blacklisted {
                // Everything from the signer down to here depends on it.
                let mut p = x0;
                while p != x && !self.marks[p].blacklisted {
                    self.marks[p].blacklisted = true;
                    match self.marks[p].signer {
                        Some(q) => p = q,
                        None => break,
                    }
                }
                return Ok(true);
            }
            let cert = &certs[x].key;
            if cert.self_signed {
                self.marks[x].signer = Some(x);
                return Ok(false);
            }
            let Some(sig) = &cert.auth else {
                return Ok(false);
            };
            let ids = &sig.auth_ids;
            let issuer = if let Some(a0) = ids.serial_issuer.as_deref() {
                let Some(p) = certs.iter().position(|p| &*p.key.ids.id == a0) else {
                    return Ok(false);
                };
                if ids.keyid.is_some() && certs[p].key.ids.skid.as_deref() != ids.keyid.as_deref() {
                    return Err(Errno::EKEYREJECTED);
                }
                p
            } else if let Some(k1) = ids.keyid.as_deref() {
                match certs
                    .iter()
                    .position(|p| p.key.ids.skid.as_deref() == Some(k1))
                {
                    Some(p) => p,
                    None => return Ok(false),
                }
            } else {
                return Ok(false);
            };
            if self.marks[issuer].seen {
                return Ok(false);
            }
            // The kernel verifies the link again for every signerInfo that walks it; the
            // answer is the same every time (same certificate, same issuer), and a failed
            // one ended the message, so a link an earlier signerInfo recorded is not
            // verified again: a message's chain walks cost one verification per embedded
            // certificate at most, however many signerInfos walk them.
            if self.marks[x].signer != Some(issuer) {
                certs[issuer].key.public.verify(&sig.record(), profile)?;
            }
            self.marks[x].signer = Some(issuer);
            x = issuer;
        }
    }

    /// pkcs7_validate_trust against `keyring`: aggregate over signerInfos.
    fn validate_trust(&mut self, keyring: Serial) -> Result<Serial, Failure> {
        for m in self.marks.iter_mut() {
            m.seen = false;
        }
        let msg = self.msg;
        let mut cached: Result<Serial, Errno> = Err(Errno::ENOKEY);
        for (i, s) in msg.signers().enumerate() {
            let Ok(s) = s else { continue };
            match self.trust_one(&s, i, keyring) {
                Ok(k) => {
                    if cached.is_err() {
                        cached = Ok(k);
                    }
                }
                Err((Errno::ENOKEY, _)) => {}
                Err((Errno::ENOPKG, _)) => {
                    if cached == Err(Errno::ENOKEY) {
                        cached = Err(Errno::ENOPKG);
                    }
                }
                Err(other) => return Err(other),
            }
        }
        cached.map_err(|e| (e, None))
    }

    /// pkcs7_validate_trust_one: walk the links the chain walk recorded, looking for a
    /// certificate in `keyring`; then the chain top's AKID; then the signer id directly.
    fn trust_one(
        &mut self,
        s: &SignerInfo<'_>,
        i: usize,
        keyring: Serial,
    ) -> Result<Serial, Failure> {
        if self.unsupported.contains(i) {
            return Err((Errno::ENOPKG, None));
        }
        let (store, certs) = (self.store, self.certs);
        let (_, covers) = self.covers(s).map_err(|e| (e, None))?;
        let signer = self.find_key(s);
        // `last` is the certificate walked before the current one: the one whose signature
        // the current certificate's key made.
        let mut last: Option<usize> = None;
        let mut cur = signer;
        while let Some(c) = cur {
            if self.marks[c].seen {
                return match self.marks[c].verified {
                    Some(key) => {
                        self.mark_verified(signer, c, key);
                        Ok(key)
                    }
                    None => Err((Errno::ENOKEY, None)),
                };
            }
            self.marks[c].seen = true;
            let ids = &certs[c].key.ids;
            if let Ok(key) =
                store.find_asymmetric_key(keyring, Some(&ids.id), ids.skid.as_deref(), None)
            {
                let res = match last {
                    None => verify_with(
                        self.checks,
                        store,
                        key,
                        &record(s, covers, self.digests.content, self.attrs),
                    ),
                    Some(child) => match &certs[child].key.auth {
                        Some(sig) => verify_with(self.checks, store, key, &sig.record()),
                        None => Err(Errno::EINVAL),
                    },
                };
                res.map_err(|e| (rejected(e), Some(key)))?;
                self.mark_verified(signer, c, key);
                return Ok(key);
            }
            if self.marks[c].signer == Some(c) {
                return Err((Errno::ENOKEY, None));
            }
            last = Some(c);
            cur = self.marks[c].signer;
        }
        if let Some(top) = last {
            if let Some(sig) = &certs[top].key.auth {
                let ids = &sig.auth_ids;
                if ids.serial_issuer.is_some() || ids.keyid.is_some() {
                    match store.find_asymmetric_key(
                        keyring,
                        ids.serial_issuer.as_deref(),
                        ids.keyid.as_deref(),
                        None,
                    ) {
                        Ok(key) => {
                            verify_with(self.checks, store, key, &sig.record())
                                .map_err(|e| (rejected(e), Some(key)))?;
                            self.mark_verified(signer, top, key);
                            return Ok(key);
                        }
                        Err(Errno::ENOKEY) => {}
                        Err(e) => return Err((e, None)),
                    }
                }
            }
        }
        // Last resort: the signer id directly (the path module signatures take).
        let mut buf = [0u8; 512];
        let mut spill = Vec::new();
        let id0 = s.sid.auth_id0(&mut buf, &mut spill);
        match store.find_asymmetric_key(keyring, Some(id0), None, None) {
            Ok(key) => verify_with(
                self.checks,
                store,
                key,
                &record(s, covers, self.digests.content, self.attrs),
            )
            .map(|_| key)
            .map_err(|e| (rejected(e), Some(key))),
            Err(e) => Err((e, None)),
        }
    }

    /// Marks `upto` and every certificate on the recorded links from the signer down to it
    /// as verified by `key` (the walk reached `upto` along them, so it is on the path; the
    /// step count only bounds the loop).
    fn mark_verified(&mut self, signer: Option<usize>, upto: usize, key: Serial) {
        self.marks[upto].verified = Some(key);
        let mut p = signer;
        for _ in 0..self.marks.len() {
            let Some(q) = p.filter(|&q| q != upto) else {
                break;
            };
            self.marks[q].verified = Some(key);
            p = self.marks[q].signer;
        }
    }
}

/// The record of a signerInfo's signature covering what `covers` says: the detached
/// `content`, or `attrs` (the signed attributes re-tagged as a SET), or a digest of
/// whichever of the two it was made over (that message kept for backends that hash).
fn record<'r>(
    s: &'r SignerInfo<'_>,
    covers: Covers,
    content: &'r [u8],
    attrs: &'r [u8],
) -> SignatureRecord<'r> {
    let message = if s.auth_attrs.is_some() {
        attrs
    } else {
        content
    };
    let (signed, message) = match covers {
        Covers::Content => (
            Signed::Data {
                hash: None,
                data: content,
            },
            None,
        ),
        Covers::Attrs => (
            Signed::Data {
                hash: Some(s.digest),
                data: attrs,
            },
            None,
        ),
        Covers::Digest(d) => (Signed::Digest(d), Some(message)),
    };
    SignatureRecord {
        algo: Some(s.algo),
        encoding: s.encoding,
        signed,
        signature: s.signature,
        message,
    }
}

/// A signature check with trusted key `key`, as `checks` says (at once or deferred).
fn verify_with(
    checks: &mut Checks,
    store: &Store,
    key: Serial,
    rec: &SignatureRecord<'_>,
) -> KResult<()> {
    mark(Stage::Verify);
    let r = checks.verify(store, key, rec);
    mark(Stage::Other);
    r
}

/// PKCS#7 trust reports every verification failure with a found key as `EKEYREJECTED`.
fn rejected(e: Errno) -> Errno {
    if e == Errno::ENOMEM {
        e
    } else {
        Errno::EKEYREJECTED
    }
}

#[cfg(test)]
mod tests {
    use super::{Unsupported, MAX_SIGNER_INFOS};

    /// Signers past the 64th are remembered too (a fixed 64-entry table used to forget
    /// them, so an unsupported one reached the trust step), up to the budget, and no
    /// index panics.
    #[test]
    fn every_signer_index_is_remembered() {
        let mut u = Unsupported::default();
        for i in [0, 63, 64, 65, 1000, MAX_SIGNER_INFOS - 1] {
            assert!(!u.contains(i));
            u.mark(i);
            assert!(u.contains(i), "{i}");
        }
        assert!(!u.contains(66));
        u.mark(1 << 20);
        assert!(!u.contains(1 << 20));
    }

    /// The budget's derivation: the smallest signerInfo the parser accepts is
    /// MIN_SIGNER_INFO_LEN bytes, and a message of 65535 bytes packed with them holds
    /// fewer than MAX_SIGNER_INFOS.
    #[cfg(feature = "generator")]
    #[test]
    fn the_smallest_signer_info_sizes_the_budget() {
        use super::MIN_SIGNER_INFO_LEN;
        use crate::corpus::der;
        use crate::formats::pkcs7::Pkcs7;
        use crate::kernel_profile::KernelProfile;
        use crate::oid;
        let ecdsa_sha1 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
        let sha1 = [0x2b, 0x0e, 0x03, 0x02, 0x1a];
        let si = der::seq(&[
            &der::small_int(3),
            &[0x80, 0x00],
            &der::alg(&sha1),
            &der::alg(&ecdsa_sha1),
            &[0x04, 0x00],
        ]);
        assert_eq!(si.len(), MIN_SIGNER_INFO_LEN);
        let msg = |n: usize| {
            let sd = der::seq(&[
                &der::small_int(3),
                &der::tlv(0x31, &der::alg(&sha1)),
                &der::seq(&[&der::oid(oid::DATA)]),
                &der::tlv(0x31, &si.repeat(n)),
            ]);
            der::seq(&[&der::oid(oid::SIGNED_DATA), &der::tlv(0xa0, &sd)])
        };
        let rules = KernelProfile::V6_18.rules();
        let m = msg(100);
        let p = Pkcs7::parse(&m, &rules).unwrap();
        assert_eq!(p.signers().count(), 100);
        // The headers are as long for every count from 1000 on (three-octet lengths).
        let overhead = msg(1000).len() - 1000 * MIN_SIGNER_INFO_LEN;
        let most = (65535 - overhead) / MIN_SIGNER_INFO_LEN;
        assert!(msg(most).len() <= 65535 && msg(most + 1).len() > 65535);
        assert!(most < MAX_SIGNER_INFOS);
        let big = msg(most);
        assert_eq!(
            Pkcs7::parse(&big, &rules).map(|p| p.signers().count()),
            Ok(most)
        );
    }
}
