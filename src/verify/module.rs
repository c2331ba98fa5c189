//! Module signatures: `mod_verify_sig` → `verify_pkcs7_message_sig(…, secondary, MODULE)`.
//!
//! The steps and their errnos follow kernel/module/signing.c, certs/system_keyring.c,
//! crypto/asymmetric_keys/pkcs7_verify.c and pkcs7_trust.c: detached content only; usage
//! gate (id-data, no authenticated attributes); per-signer digest and, for certificates
//! embedded in the message, the internal signature and chain checks; the revocation list;
//! then trust against the keyring, where any verification failure with a found key is
//! `EKEYREJECTED`.

use super::{reason_for, ItemKind, Verdict};
use crate::crypto::SignatureRecord;
use crate::errno::{Errno, KResult};
use crate::formats::modsig;
use crate::formats::pkcs7::{DataType, Pkcs7, SignerInfo};
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
    verify_module_with(store, file, keyring, &mut CertCache::default())
}

/// Verifies a whole module file against `keyring`, reusing the certificates `certs`
/// already parsed (same verdict and errno as a fresh parse).
pub fn verify_module_with(
    store: &Store,
    file: &[u8],
    keyring: Serial,
    certs: &mut CertCache,
) -> Verdict {
    let k = ItemKind::Module;
    mark(Stage::Parse);
    let m = match modsig::locate(file) {
        Ok(Some(m)) => m,
        Ok(None) => return Verdict::unsigned(k, "no module signature trailer"),
        Err(e) => return Verdict::invalid(k, e, "malformed module signature trailer"),
    };
    let mut digest = None;
    match verify_pkcs7_detached(store, m.content, m.pkcs7, keyring, &mut digest, certs) {
        Ok(signer) => Verdict::valid(k, signer, digest),
        Err((e, signer)) => Verdict::invalid(k, e, reason_for(e))
            .with_digest(digest)
            .with_signer(signer),
    }
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
    /// Chain-walk marks, one per embedded certificate (reused between messages).
    seen: Vec<bool>,
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

/// The signerInfos the trust step skips, by index: a bit per possible signer. A message
/// is at most 65535 bytes (`EMSGSIZE` above), so it cannot hold 65536 signerInfos, and
/// every index fits; on the stack, so marking allocates nothing.
struct Unsupported([u64; 1024]);

impl Default for Unsupported {
    fn default() -> Self {
        Unsupported([0; 1024])
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

/// Marks for one walk over the embedded certificates (a reused buffer).
fn fresh_marks(seen: &mut Vec<bool>, n: usize) -> &mut [bool] {
    seen.clear();
    seen.resize(n, false);
    seen
}

/// `verify_pkcs7_message_sig` with detached `content` and usage MODULE. Returns the
/// trusted key that verified the first trusted signerInfo. `digest_out` receives the
/// content digest of the first signerInfo whose digest was computed. Embedded
/// certificates come from (and go into) `certs`.
pub fn verify_pkcs7_detached(
    store: &Store,
    content: &[u8],
    der: &[u8],
    keyring: Serial,
    digest_out: &mut Option<Digest>,
    certs: &mut CertCache,
) -> Result<Serial, Failure> {
    certs.serve(store);
    let CertCache {
        parsed,
        embedded,
        seen,
        ..
    } = certs;
    embedded.clear();
    // Embedded certificates are parsed while the message is (pkcs7_extract_cert), so their
    // errors come before the detached-content check.
    let msg = Pkcs7::parse_with(der, &mut |c| {
        embedded.push(CertCache::get(parsed, store, c)?);
        Ok(())
    })
    .map_err(|e| (e, None))?;
    let embedded: &[Arc<ParsedCert>] = embedded;
    if msg.embedded_content.is_some() {
        return Err((Errno::EBADMSG, None));
    }
    if msg.data_type != DataType::Data || msg.have_authattrs {
        return Err((Errno::EKEYREJECTED, None));
    }
    let mut digests = Digests {
        content,
        slots: [None; DIGEST_SLOTS],
    };

    // pkcs7_verify: internal consistency of each signerInfo.
    let mut actual: KResult<()> = Err(Errno::ENOPKG);
    // Signers skipped by the trust step: unsupported crypto, or a blacklisted chain.
    let mut supported = Unsupported::default();
    for (i, s) in msg.signers().enumerate() {
        let s = s.map_err(|e| (e, None))?;
        match verify_one_internal(store, &s, embedded, &mut digests, seen) {
            Ok((d, bl)) => {
                if digest_out.is_none() {
                    *digest_out = Some(d);
                }
                if bl {
                    if actual == Err(Errno::ENOPKG) {
                        actual = Err(Errno::EKEYREJECTED);
                    }
                    continue;
                }
                actual = Ok(());
            }
            Err(Errno::ENOPKG) => {
                supported.mark(i);
            }
            Err(e) => return Err((e, None)),
        }
    }

    actual.map_err(|e| (e, None))?;

    // Revocation list: a message that would be trusted by a revocation certificate fails.
    mark(Stage::Blacklist);
    let bl = store.system().blacklist;
    if store.has_revocation_certs()
        && trust_all(store, &msg, embedded, &mut digests, bl, &supported, seen).is_ok()
    {
        return Err((Errno::EKEYREJECTED, None));
    }
    mark(Stage::Lookup);
    trust_all(
        store,
        &msg,
        embedded,
        &mut digests,
        keyring,
        &supported,
        seen,
    )
}

/// pkcs7_verify_one without the trust step: the digest, and for a signer certificate
/// embedded in the message, the signerInfo signature and the embedded chain
/// (pkcs7_verify_sig_chain). Returns the digest and whether the chain hit a blacklisted
/// certificate (then the signerInfo is skipped).
fn verify_one_internal(
    store: &Store,
    s: &SignerInfo<'_>,
    embedded: &[Arc<ParsedCert>],
    digests: &mut Digests<'_>,
    seen: &mut Vec<bool>,
) -> KResult<(Digest, bool)> {
    let d = digests.get(store, s.digest)?;
    let mut buf = [0u8; 512];
    let mut spill = Vec::new();
    let id0 = s.sid.auth_id0(&mut buf, &mut spill);
    let Some(mut x) = embedded.iter().position(|c| &*c.key.ids.id == id0) else {
        return Ok((d, false));
    };
    embedded[x]
        .key
        .public
        .verify(&record(s, d), store.profile())?;
    let seen = fresh_marks(seen, embedded.len());
    loop {
        seen[x] = true;
        let cert = &embedded[x];
        if cert.blacklisted {
            return Ok((d, true));
        }
        if cert.key.self_signed {
            return Ok((d, false));
        }
        let Some(sig) = &cert.key.auth else {
            return Ok((d, false));
        };
        let ids = &sig.auth_ids;
        let issuer = if let Some(a0) = ids.serial_issuer.as_deref() {
            let Some(p) = embedded.iter().position(|p| &*p.key.ids.id == a0) else {
                return Ok((d, false));
            };
            if ids.keyid.is_some() && embedded[p].key.ids.skid.as_deref() != ids.keyid.as_deref() {
                return Err(Errno::EKEYREJECTED);
            }
            p
        } else if let Some(k1) = ids.keyid.as_deref() {
            match embedded
                .iter()
                .position(|p| p.key.ids.skid.as_deref() == Some(k1))
            {
                Some(p) => p,
                None => return Ok((d, false)),
            }
        } else {
            return Ok((d, false));
        };
        if seen[issuer] {
            return Ok((d, false));
        }
        embedded[issuer]
            .key
            .public
            .verify(&sig.record(), store.profile())?;
        if issuer == x {
            return Ok((d, false));
        }
        x = issuer;
    }
}

fn record<'a>(s: &SignerInfo<'a>, d: Digest) -> SignatureRecord<'a> {
    SignatureRecord {
        algo: Some(s.algo),
        encoding: s.encoding,
        digest: d,
        signature: s.signature,
    }
}

/// pkcs7_validate_trust: aggregate over signerInfos.
fn trust_all(
    store: &Store,
    msg: &Pkcs7<'_>,
    embedded: &[Arc<ParsedCert>],
    digests: &mut Digests<'_>,
    keyring: Serial,
    supported: &Unsupported,
    seen: &mut Vec<bool>,
) -> Result<Serial, Failure> {
    let mut cached: Result<Serial, Errno> = Err(Errno::ENOKEY);
    for (i, s) in msg.signers().enumerate() {
        let Ok(s) = s else { continue };
        if supported.contains(i) {
            if cached == Err(Errno::ENOKEY) {
                cached = Err(Errno::ENOPKG);
            }
            continue;
        }
        match trust_one(store, &s, embedded, digests, keyring, seen) {
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

/// pkcs7_validate_trust_one: walk the embedded chain looking for a trusted certificate,
/// then try the chain top's AKID, then the signer id directly.
fn trust_one(
    store: &Store,
    s: &SignerInfo<'_>,
    embedded: &[Arc<ParsedCert>],
    digests: &mut Digests<'_>,
    keyring: Serial,
    seen: &mut Vec<bool>,
) -> Result<Serial, Failure> {
    let d = digests.get(store, s.digest).map_err(|e| (e, None))?;
    let mut buf = [0u8; 512];
    let mut spill = Vec::new();
    let id0 = s.sid.auth_id0(&mut buf, &mut spill);

    // Embedded chain: signer certificate, then issuers found by AKID.
    let mut cur = embedded.iter().position(|c| &*c.key.ids.id == id0);
    let seen = fresh_marks(seen, embedded.len());
    let mut last: Option<usize> = None;
    while let Some(i) = cur {
        if seen[i] {
            return Err((Errno::ENOKEY, None));
        }
        seen[i] = true;
        let c = &embedded[i].key;
        if let Ok(key) =
            store.find_asymmetric_key(keyring, Some(&c.ids.id), c.ids.skid.as_deref(), None)
        {
            // Verify, with the trusted key, the signature this certificate made.
            let res = match last {
                None => verify_with(store, key, &record(s, d)),
                Some(child) => match &embedded[child].key.auth {
                    Some(sig) => verify_with(store, key, &sig.record()),
                    None => Err(Errno::ENOPKG),
                },
            };
            return res.map(|_| key).map_err(|e| (rejected(e), Some(key)));
        }
        if c.self_signed {
            return Err((Errno::ENOKEY, None));
        }
        last = Some(i);
        cur = c.auth.as_ref().and_then(|a| {
            let ids = &a.auth_ids;
            embedded.iter().position(|p| {
                ids.serial_issuer.as_deref() == Some(&*p.key.ids.id)
                    || (ids.serial_issuer.is_none()
                        && ids.keyid.is_some()
                        && ids.keyid.as_deref() == p.key.ids.skid.as_deref())
            })
        });
    }
    if let Some(top) = last {
        if let Some(sig) = &embedded[top].key.auth {
            let ids = &sig.auth_ids;
            if ids.serial_issuer.is_some() || ids.keyid.is_some() {
                match store.find_asymmetric_key(
                    keyring,
                    ids.serial_issuer.as_deref(),
                    ids.keyid.as_deref(),
                    None,
                ) {
                    Ok(key) => {
                        return verify_with(store, key, &sig.record())
                            .map(|_| key)
                            .map_err(|e| (rejected(e), Some(key)))
                    }
                    Err(Errno::ENOKEY) => {}
                    Err(e) => return Err((e, None)),
                }
            }
        }
    }
    // Last resort: the signer id directly (the path module signatures take).
    match store.find_asymmetric_key(keyring, Some(id0), None, None) {
        Ok(key) => verify_with(store, key, &record(s, d))
            .map(|_| key)
            .map_err(|e| (rejected(e), Some(key))),
        Err(e) => Err((e, None)),
    }
}

fn verify_with(store: &Store, key: Serial, rec: &SignatureRecord<'_>) -> KResult<()> {
    let k = store.asymmetric(key).ok_or(Errno::EINVAL)?;
    mark(Stage::Verify);
    let r = k.public.verify(rec, store.profile());
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
    use super::Unsupported;

    /// Signers past the 64th are remembered too (a fixed 64-entry table used to forget
    /// them, so an unsupported one reached the trust step), and no index panics.
    #[test]
    fn every_signer_index_is_remembered() {
        let mut u = Unsupported::default();
        for i in [0, 63, 64, 65, 1000, 65535] {
            assert!(!u.contains(i));
            u.mark(i);
            assert!(u.contains(i), "{i}");
        }
        assert!(!u.contains(66));
        u.mark(1 << 20);
        assert!(!u.contains(1 << 20));
    }
}
