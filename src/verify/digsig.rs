//! IMA signature verification once the appraisal has decided to check a signature:
//! `integrity_digsig_verify` → `asymmetric_verify` against `.ima` (security/integrity/
//! digsig.c, digsig_asymmetric.c, 6.18). The appraisal rule around it — which xattr, which
//! digest, the blacklist, hash xattrs — is `verify::ima`.
//!
//! The key is found by the header's 32-bit keyid as a tail match on either id (`id:%08x`),
//! first match wins and a failed verification is final — so keyid collisions behave as in
//! the kernel. `.ima_blacklist`, when configured, is consulted first.
//!
//! Order of checks (each is a test in tests/ima_order.rs): the header checks of
//! [`crate::formats::imasig::parse`] (version/type combination, then length, then sig_size, then hash
//! algorithm), then `.ima_blacklist`, then the `.ima` lookup, then the key's algorithm
//! (encoding), then `public_key_verify_signature`.

use super::checks::Checks;
use crate::crypto::SignatureRecord;
use crate::errno::Errno;
use crate::formats::imasig::{self, ImaSig};
use crate::hash::Digest;
use crate::timing::{mark, Stage};
use crate::trust::store::{IdMatch, Store};
use crate::trust::Serial;

/// The digest a signature covers: v2 signs the file digest itself; v3 signs the digest
/// (with the header's algorithm) of `ima_file_id` = `[type][algo][fs-verity digest]`
/// (`calc_file_id_hash`). `collected` is what the appraisal collected for the file (the
/// regular digest for v2, the fs-verity digest for v3).
pub fn signed_digest(sig: &ImaSig<'_>, collected: &Digest) -> Result<Digest, Errno> {
    if sig.version == 3 {
        let (id, n) = imasig::v3_file_id(sig.xattr_type, collected);
        return sig.hash.digest(&id[..n]);
    }
    Ok(*collected)
}

/// The bytes `signed_digest` hashes for the signature: the file content itself for v2 (the
/// collected digest is its hash), the `ima_file_id` for v3 (made in `buf`). What a backend
/// that hashes messages itself is given.
pub fn signed_message<'a>(
    sig: &ImaSig<'_>,
    collected: &Digest,
    content: &'a [u8],
    buf: &'a mut [u8; 66],
) -> &'a [u8] {
    if sig.version == 3 {
        let (id, n) = imasig::v3_file_id(sig.xattr_type, collected);
        *buf = id;
        return &buf[..n];
    }
    content
}

/// `asymmetric_verify` once the header is parsed and the signed digest is known: the
/// `.ima_blacklist` check, the `.ima` lookup by keyid, the encoding from the found key's
/// algorithm, the signature check. `message` is what `digest` was computed over, when the
/// caller has it ([`signed_message`]). On failure, the errno and the key that was found (if
/// the lookup got that far).
pub fn verify_digest(
    store: &Store,
    sig: &ImaSig<'_>,
    digest: &Digest,
    message: Option<&[u8]>,
    checks: &mut Checks,
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
    let encoding = k.public.algo().native_encoding();
    let rec = SignatureRecord {
        algo: None,
        encoding,
        digest: *digest,
        signature: sig.signature,
        message,
    };
    mark(Stage::Verify);
    checks
        .verify(store, key, &rec)
        .map_err(|e| (e, Some(key)))?;
    Ok(key)
}
