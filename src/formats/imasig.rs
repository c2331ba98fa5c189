//! IMA/EVM xattr signatures: `signature_v2_hdr` (security/integrity/integrity.h), v2 and
//! the fs-verity v3 form, as `security.ima` holds them and as evmctl writes `FILE.sig`.

use crate::errno::{Errno, KResult};
use crate::hash::HashAlgo;
use crate::kernel_profile::Rules;

/// `EVM_IMA_XATTR_DIGSIG`.
pub const TYPE_DIGSIG: u8 = 3;
/// `IMA_VERITY_DIGSIG`.
pub const TYPE_VERITY_DIGSIG: u8 = 6;
/// `IMA_XATTR_DIGEST`: a legacy file hash from byte 1 (SHA-1, or MD5 in old kernels), not a
/// signature.
pub const TYPE_DIGEST: u8 = 1;
/// `IMA_XATTR_DIGEST_NG`: byte 1 names the hash algorithm (`enum hash_algo`), the file hash
/// follows from byte 2; not a signature.
pub const TYPE_DIGEST_NG: u8 = 4;
/// Header size.
pub const HEADER_LEN: usize = 9;

/// A parsed v2/v3 signature: zero-copy view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImaSig<'a> {
    /// [`TYPE_DIGSIG`] (v2) or [`TYPE_VERITY_DIGSIG`] (v3).
    pub xattr_type: u8,
    /// 2: signs the file digest; 3: signs the digest of `ima_file_id`.
    pub version: u8,
    /// The header's hash algorithm (byte 2).
    pub hash: HashAlgo,
    /// The header's 32-bit key id (bytes 3..7, big-endian): the tail of a key's id.
    pub keyid: u32,
    /// The raw signature after the 9-byte header.
    pub signature: &'a [u8],
}

/// What the xattr value is, before signature checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XattrKind {
    /// A signature to verify.
    Signature,
    /// A digest-only xattr (types 1 and 4): no signature.
    DigestOnly,
}

/// Classifies the value's type byte as ima_appraise does: signatures go on; digests carry
/// no signature; anything else is unknown data (the UNKNOWN status, returned with
/// xattr_verify's initial `EINVAL`).
pub fn classify(xattr: &[u8]) -> KResult<XattrKind> {
    match xattr.first() {
        Some(&TYPE_DIGSIG) | Some(&TYPE_VERITY_DIGSIG) => Ok(XattrKind::Signature),
        Some(&TYPE_DIGEST) | Some(&TYPE_DIGEST_NG) => Ok(XattrKind::DigestOnly),
        _ => Err(Errno::EINVAL),
    }
}

/// Parses the signature header with the checks of `xattr_verify`, `integrity_digsig_verify`
/// and `asymmetric_verify` that precede the key lookup, in the kernel's order (6.18):
///
/// 1. `xattr_verify`: type 3 with version ≥ 3 (from 7.1, `rules.ima_v3_regular`: ≥ 4),
///    or type 6 with version ≠ 3 → `EINVAL`
///    ("invalid-signature-version"; rc keeps its initial `-EINVAL`). The kernel reads the
///    version byte before any length check; a 1-byte value has none, and fails step 2 with
///    the same `EINVAL`.
/// 2. `integrity_digsig_verify`: length < 2 → `EINVAL`; version 1 goes to the legacy RSA
///    `digsig_verify` (not modelled: `EOPNOTSUPP`, never valid); versions other than 2 and
///    3 → `EOPNOTSUPP`.
/// 3. `asymmetric_verify`: total length ≤ 9 → `EBADMSG`; length − 9 ≠ sig_size →
///    `EBADMSG`; hash_algo ≥ 23 (`HASH_ALGO__LAST`) → `ENOPKG`. The key lookup
///    (`.ima_blacklist` first) comes after these.
pub fn parse<'a>(xattr: &'a [u8], rules: &Rules) -> KResult<ImaSig<'a>> {
    if xattr.len() < 2 {
        return Err(Errno::EINVAL);
    }
    let (xattr_type, version) = (xattr[0], xattr[1]);
    match (xattr_type, version) {
        (TYPE_DIGSIG, 2) | (TYPE_VERITY_DIGSIG, 3) => {}
        (TYPE_DIGSIG, 3) if rules.ima_v3_regular => {}
        (TYPE_DIGSIG, 3..) | (TYPE_VERITY_DIGSIG, _) => return Err(Errno::EINVAL),
        _ => return Err(Errno::EOPNOTSUPP),
    }
    if xattr.len() <= HEADER_LEN {
        return Err(Errno::EBADMSG);
    }
    let sig_size = u16::from_be_bytes([xattr[7], xattr[8]]) as usize;
    if xattr.len() - HEADER_LEN != sig_size {
        return Err(Errno::EBADMSG);
    }
    let hash = HashAlgo::from_kernel_id(xattr[2])?;
    Ok(ImaSig {
        xattr_type,
        version,
        hash,
        keyid: u32::from_be_bytes([xattr[3], xattr[4], xattr[5], xattr[6]]),
        signature: &xattr[HEADER_LEN..],
    })
}

/// A hash xattr (type 1 or 4) split into its fields, as `xattr_verify` addresses them: the
/// layout only; which algorithm the stored hash is taken to be is the appraisal's decision
/// (`verify::ima::ima_get_hash_algo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashXattr<'a> {
    /// [`TYPE_DIGEST`] or [`TYPE_DIGEST_NG`].
    pub xattr_type: u8,
    /// Type 4's algorithm byte as stored (it may name no algorithm, ≥ 23); `None` for type 1,
    /// and for a type-4 value too short to hold it.
    pub algo: Option<u8>,
    /// The stored hash: from byte 1 (type 1) or byte 2 (type 4) to the end. It may be
    /// empty, shorter than any digest, or longer (the kernel compares only the first
    /// digest-length bytes).
    pub hash: &'a [u8],
}

/// Splits a type-1 or type-4 value into its fields; `None` for any other value (empty, or
/// another type). Never fails otherwise: how long the stored hash must be depends on the
/// algorithm, which the appraisal decides.
pub fn parse_hash(xattr: &[u8]) -> Option<HashXattr<'_>> {
    match *xattr.first()? {
        TYPE_DIGEST => Some(HashXattr {
            xattr_type: TYPE_DIGEST,
            algo: None,
            hash: &xattr[1..],
        }),
        TYPE_DIGEST_NG => Some(HashXattr {
            xattr_type: TYPE_DIGEST_NG,
            algo: xattr.get(1).copied(),
            hash: xattr.get(2..).unwrap_or(&[]),
        }),
        _ => None,
    }
}

/// Serialises a hash xattr: type 1 (`[1][hash]`, `algo` ignored) or type 4
/// (`[4][algo][hash]`); used by tests and the generator.
pub fn encode_hash(xattr_type: u8, algo: HashAlgo, hash: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(2 + hash.len());
    v.push(xattr_type);
    if xattr_type == TYPE_DIGEST_NG {
        v.push(algo.kernel_id());
    }
    v.extend_from_slice(hash);
    v
}

/// Serialises a header + signature (what evmctl writes); used by tests and the generator.
pub fn encode(xattr_type: u8, version: u8, hash: HashAlgo, keyid: u32, sig: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(HEADER_LEN + sig.len());
    v.extend_from_slice(&[xattr_type, version, hash.kernel_id()]);
    v.extend_from_slice(&keyid.to_be_bytes());
    v.extend_from_slice(&(sig.len() as u16).to_be_bytes());
    v.extend_from_slice(sig);
    v
}

/// The bytes a v3 signature covers before hashing: `ima_file_id` truncated to
/// `2 + digest_len` (`[type][hash algo][digest]`), in a fixed buffer.
pub fn v3_file_id(xattr_type: u8, file_digest: &crate::hash::Digest) -> ([u8; 66], usize) {
    let mut b = [0u8; 66];
    b[0] = xattr_type;
    b[1] = file_digest.algo().kernel_id();
    let d = file_digest.as_bytes();
    b[2..2 + d.len()].copy_from_slice(d);
    (b, 2 + d.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::kernel_profile::KernelProfile;

    #[test]
    fn header_rules() {
        let parse =
            |x: &[u8]| parse(x, &KernelProfile::V6_18.rules()).map(|s| (s.keyid, s.version));
        let good = encode(3, 2, HashAlgo::Sha256, 0xdeadbeef, &[1, 2, 3]);
        let s = super::parse(&good, &KernelProfile::V6_18.rules()).unwrap();
        assert_eq!((s.keyid, s.signature), (0xdeadbeef, &[1u8, 2, 3][..]));
        let mut bad = good.clone();
        bad[8] = 4;
        assert_eq!(parse(&bad), Err(Errno::EBADMSG));
        let mut bad = good.clone();
        bad[2] = 23;
        assert_eq!(parse(&bad), Err(Errno::ENOPKG));
        assert_eq!(parse(&[3]), Err(Errno::EINVAL));
        assert_eq!(parse(&good[..9]), Err(Errno::EBADMSG));
        let mut v0 = good.clone();
        v0[1] = 0;
        assert_eq!(parse(&v0), Err(Errno::EOPNOTSUPP));
        let mut v3 = good.clone();
        v3[1] = 3;
        assert_eq!(parse(&v3), Err(Errno::EINVAL));
        // From 7.1, v3 signs regular files too; v4 is still no version.
        let new = |x: &[u8]| super::parse(x, &KernelProfile::V7_2.rules()).map(|s| s.version);
        assert_eq!(new(&v3), Ok(3));
        let mut v4 = good.clone();
        v4[1] = 4;
        assert_eq!(new(&v4), Err(Errno::EINVAL));
        assert_eq!(classify(&[4, 4]), Ok(XattrKind::DigestOnly));
        assert_eq!(classify(&[9]), Err(Errno::EINVAL));
    }

    #[test]
    fn hash_xattr_layout() {
        let v = encode_hash(TYPE_DIGEST_NG, HashAlgo::Sha256, &[7; 32]);
        assert_eq!(v.len(), 34);
        let h = parse_hash(&v).unwrap();
        assert_eq!((h.xattr_type, h.algo, h.hash), (4, Some(4), &[7u8; 32][..]));
        let v = encode_hash(TYPE_DIGEST, HashAlgo::Sha256, &[9; 20]);
        assert_eq!(v.len(), 21);
        let h = parse_hash(&v).unwrap();
        assert_eq!((h.xattr_type, h.algo, h.hash), (1, None, &[9u8; 20][..]));
        // Too short for the algorithm byte, or for any hash: still split, never a panic.
        assert_eq!(parse_hash(&[4]).unwrap().algo, None);
        assert_eq!(parse_hash(&[4]).unwrap().hash, &[] as &[u8]);
        assert_eq!(parse_hash(&[4, 200]).unwrap().algo, Some(200));
        assert_eq!(parse_hash(&[1]).unwrap().hash, &[] as &[u8]);
        assert_eq!(parse_hash(&[]), None);
        assert_eq!(parse_hash(&[3, 2]), None);
    }
}
