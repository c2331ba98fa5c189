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
//!
//! What is verified, by version and key (7.2, `digsig_asymmetric.c`): v2 signs the
//! collected file digest; v3 signs `ima_file_id` = `[type][algo][digest]` (2 + L bytes),
//! which an RSA or ECDSA key verifies hashed again with the header's algorithm and an
//! ML-DSA key verifies as it is ("hashless": nothing more is hashed, so the file is read
//! and hashed exactly once). A v2 signature meeting an ML-DSA key finds no encoding:
//! `ENOPKG`; so does any signature meeting one where the kernel has no ML-DSA for IMA.

use super::checks::Checks;
use crate::crypto::{SignatureRecord, Signed};
use crate::errno::Errno;
use crate::formats::imasig::{self, ImaSig};
use crate::hash::Digest;
use crate::timing::{mark, Stage};
use crate::trust::store::{IdMatch, Store};
use crate::trust::Serial;

/// `asymmetric_verify` once the header is parsed and the file's digest collected: the
/// `.ima_blacklist` check, the `.ima` lookup by keyid, the encoding and the signed bytes
/// from the found key's algorithm and the version (module documentation), the signature
/// check. `collected` is the appraisal's digest (the regular digest for type 3, the
/// fs-verity digest for type 6); `content` the file, for backends that hash messages
/// themselves. Returns the signer and the digest the verdict reports (the signed digest;
/// the collected one where nothing more was hashed), or the errno, the key found (if the
/// lookup got that far) and that digest.
pub fn verify(
    store: &Store,
    sig: &ImaSig<'_>,
    collected: &Digest,
    content: &[u8],
    checks: &mut Checks,
) -> Result<(Serial, Digest), (Errno, Option<Serial>, Digest)> {
    let (id, n) = imasig::v3_file_id(sig.xattr_type, collected);
    let file_id = &id[..n];
    // RSA and ECDSA: v3's file id is hashed before the lookup (its only failure is an
    // algorithm the profile lacks, and the header's algorithm was collected with).
    let signed = match sig.version {
        3 => sig
            .hash
            .digest(file_id)
            .map_err(|e| (e, None, *collected))?,
        _ => *collected,
    };
    let sys = store.system();
    let keyid = sig.keyid.to_be_bytes();
    mark(Stage::Blacklist);
    if let Some(imabl) = sys.ima_blacklist {
        if store.search(imabl, IdMatch::Partial(&keyid)).is_ok() {
            return Err((Errno::EKEYREJECTED, None, signed));
        }
    }
    mark(Stage::Lookup);
    let key = store
        .search(sys.ima, IdMatch::Partial(&keyid))
        .map_err(|e| (e, None, signed))?;
    let k = store
        .asymmetric(key)
        .ok_or((Errno::EINVAL, Some(key), signed))?;
    let algo = k.public.algo();
    let (rec, reported) = if algo.takes_data() {
        if sig.version != 3 || !store.rules().ima_mldsa {
            return Err((Errno::ENOPKG, Some(key), *collected));
        }
        let rec = SignatureRecord {
            algo: None,
            encoding: algo.native_encoding(),
            signed: Signed::Data {
                hash: None,
                data: file_id,
            },
            signature: sig.signature,
            message: None,
        };
        (rec, *collected)
    } else {
        let message = if sig.version == 3 { file_id } else { content };
        let rec = SignatureRecord {
            algo: None,
            encoding: algo.native_encoding(),
            signed: Signed::Digest(signed),
            signature: sig.signature,
            message: Some(message),
        };
        (rec, signed)
    };
    mark(Stage::Verify);
    checks
        .verify(store, key, &rec)
        .map_err(|e| (e, Some(key), reported))?;
    Ok((key, reported))
}
