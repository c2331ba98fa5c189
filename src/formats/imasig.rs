//! IMA/EVM xattr signatures: `signature_v2_hdr` (security/integrity/integrity.h), v2 and
//! the fs-verity v3 form, as `security.ima` holds them and as evmctl writes `FILE.sig`.

use crate::errno::{Errno, KResult};
use crate::hash::HashAlgo;

/// `EVM_IMA_XATTR_DIGSIG`.
pub const TYPE_DIGSIG: u8 = 3;
/// `IMA_VERITY_DIGSIG`.
pub const TYPE_VERITY_DIGSIG: u8 = 6;
/// `IMA_XATTR_DIGEST` and `IMA_XATTR_DIGEST_NG`: a hash, not a signature.
pub const TYPE_DIGEST: u8 = 1;
pub const TYPE_DIGEST_NG: u8 = 4;
/// Header size.
pub const HEADER_LEN: usize = 9;

/// A parsed v2/v3 signature: zero-copy view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImaSig<'a> {
    pub xattr_type: u8,
    pub version: u8,
    pub hash: HashAlgo,
    pub keyid: u32,
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

/// Parses the signature header with the checks of `integrity_digsig_verify` and
/// `asymmetric_verify` that precede the key lookup, in the kernel's order:
/// length < 2 `EINVAL`; version 1 (legacy RSA digsig) unsupported here (`EOPNOTSUPP`);
/// other versions than 2/3 `EOPNOTSUPP`; type/version combinations ima_appraise refuses
/// (type 3 with v3, type 6 without v3) `EINVAL` ("invalid-signature-version"); total length
/// ≤ 9 or ≠ 9 + sig_size `EBADMSG`; hash_algo ≥ 23 `ENOPKG`.
pub fn parse(xattr: &[u8]) -> KResult<ImaSig<'_>> {
    if xattr.len() < 2 {
        return Err(Errno::EINVAL);
    }
    let (xattr_type, version) = (xattr[0], xattr[1]);
    match (xattr_type, version) {
        (TYPE_DIGSIG, 2) | (TYPE_VERITY_DIGSIG, 3) => {}
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

    #[test]
    fn header_rules() {
        let good = encode(3, 2, HashAlgo::Sha256, 0xdeadbeef, &[1, 2, 3]);
        let s = parse(&good).unwrap();
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
        assert_eq!(classify(&[4, 4]), Ok(XattrKind::DigestOnly));
        assert_eq!(classify(&[9]), Err(Errno::EINVAL));
    }
}
