//! IMA appraisal of one file's signature: `integrity_digsig_verify` → `asymmetric_verify`
//! against `.ima` (security/integrity/digsig.c, digsig_asymmetric.c).
//!
//! The key is found by the header's 32-bit keyid as a tail match on either id (`id:%08x`),
//! first match wins and a failed verification is final — so keyid collisions behave as in
//! the kernel. `.ima_blacklist`, when configured, is consulted first.

use super::{reason_for, ItemKind, Verdict};
use crate::crypto::{Encoding, PkeyAlgo, SignatureRecord};
use crate::errno::{Errno, KResult};
use crate::formats::imasig::{self, ImaSig, XattrKind};
use crate::hash::Digest;
use crate::timing::{mark, Stage};
use crate::trust::blacklist::HashKind;
use crate::trust::store::{IdMatch, Store};
use crate::trust::Serial;

/// What evmctl appends to a file's name for its detached signature (`evmctl ima_sign
/// --sigfile`). The one place the sidecar's name is made: [`sidecar_path`] and the engine's
/// directory-relative open both use it.
pub const SIDECAR_SUFFIX: &str = ".sig";

/// The `.sig` sidecar of `item`, written into `out` (cleared first; its capacity is reused,
/// so the hot path does not allocate).
pub fn sidecar_path_into(item: &std::path::Path, out: &mut std::ffi::OsString) {
    out.clear();
    out.push(item.as_os_str());
    out.push(SIDECAR_SUFFIX);
}

/// The `.sig` sidecar of `item` (for messages and tools; the hot path uses
/// [`sidecar_path_into`]).
pub fn sidecar_path(item: &std::path::Path) -> std::path::PathBuf {
    let mut p = std::ffi::OsString::new();
    sidecar_path_into(item, &mut p);
    p.into()
}

/// Whether `path` names a sidecar (such files are signatures, never items themselves).
pub fn is_sidecar(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|x| x == &SIDECAR_SUFFIX[1..])
}

/// IMA policy choices that change the verdict.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImaPolicy {
    /// The rule's `check_blacklist` flag: a `bin:` hit on the file digest fails `EPERM`.
    pub check_blacklist: bool,
}

/// Verifies `content` against its `security.ima` value (or evmctl `.sig` sidecar).
/// `file_digest` may supply a digest the caller already has (same algorithm as the
/// header's), so the file is hashed once.
pub fn verify_ima(
    store: &Store,
    content: &[u8],
    xattr: Option<&[u8]>,
    policy: ImaPolicy,
) -> Verdict {
    let k = ItemKind::Ima;
    mark(Stage::Parse);
    let Some(xattr) = xattr.filter(|x| !x.is_empty()) else {
        return Verdict::unsigned(k, "no security.ima xattr and no .sig file");
    };
    match imasig::classify(xattr) {
        Ok(XattrKind::Signature) => {}
        Ok(XattrKind::DigestOnly) => {
            return Verdict::unsigned(k, "security.ima holds a digest, not a signature")
        }
        Err(e) => return Verdict::invalid(k, e, "unknown IMA xattr type"),
    }
    let sig = match imasig::parse(xattr) {
        Ok(s) => s,
        Err(e) => return Verdict::invalid(k, e, "malformed IMA signature header"),
    };
    mark(Stage::Digest);
    let digest = match file_digest(store, &sig, content) {
        Ok(d) => d,
        Err(e) => return Verdict::invalid(k, e, reason_for(e)),
    };
    match verify_digest(store, &sig, &digest, policy) {
        Ok(signer) => Verdict::valid(k, signer, Some(digest)),
        Err((e, signer)) => Verdict::invalid(k, e, reason_for(e))
            .with_digest(Some(digest))
            .with_signer(signer),
    }
}

/// The digest the signature covers: v2 signs the file digest with the header's hash; v3
/// signs the digest of `ima_file_id` over the fs-verity digest.
fn file_digest(store: &Store, sig: &ImaSig<'_>, content: &[u8]) -> KResult<Digest> {
    if !store.profile().has_hash(sig.hash) {
        return Err(Errno::ENOPKG);
    }
    if sig.version == 3 {
        let v = crate::verify::fsverity::digest(sig.hash, content)?;
        let (id, n) = imasig::v3_file_id(sig.xattr_type, &v);
        return sig.hash.digest(&id[..n]);
    }
    sig.hash.digest(content)
}

/// `asymmetric_verify` once the digest is known.
pub fn verify_digest(
    store: &Store,
    sig: &ImaSig<'_>,
    digest: &Digest,
    policy: ImaPolicy,
) -> Result<Serial, (Errno, Option<Serial>)> {
    let sys = store.system();
    let keyid = sig.keyid.to_be_bytes();
    mark(Stage::Blacklist);
    if let Some(imabl) = sys.ima_blacklist {
        if store.search(imabl, IdMatch::Partial(&keyid)).is_ok() {
            return Err((Errno::EKEYREJECTED, None));
        }
    }
    mark(Stage::Lookup);
    let key = store
        .search(sys.ima, IdMatch::Partial(&keyid))
        .map_err(|e| (e, None))?;
    let k = store.asymmetric(key).ok_or((Errno::EINVAL, Some(key)))?;
    let encoding = match k.public.algo() {
        PkeyAlgo::Rsa => Encoding::Pkcs1,
        PkeyAlgo::Ecdsa(_) => Encoding::X962,
    };
    let rec = SignatureRecord {
        algo: None,
        encoding,
        digest: *digest,
        signature: sig.signature,
    };
    mark(Stage::Verify);
    k.public
        .verify(&rec, store.profile())
        .map_err(|e| (e, Some(key)))?;
    mark(Stage::Blacklist);
    if policy.check_blacklist
        && sig.version == 2
        && store.is_hash_blacklisted(HashKind::Bin, digest.as_bytes())
    {
        return Err((Errno::EPERM, Some(key)));
    }
    Ok(key)
}
