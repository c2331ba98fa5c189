//! RSASSA-PKCS1-v1_5 verification done the kernel's way, step by step.
//!
//! [`check_encoding`] walks crypto/rsassa-pkcs1.c's checks in order on the recovered
//! representative, so the errno is the one the kernel gives: `EINVAL` for a representative
//! out of range (`1 < s < n - 1`) or a non-zero leading byte, `EBADMSG` for a block type
//! other than `00 01` (also `00 00 …`), bad padding or DigestInfo,
//! `EKEYREJECTED` for a digest mismatch. It runs on the backend's raw public operation (the
//! hot path, every hash). [`verify_pkcs1`] does that operation with plain big-integer
//! arithmetic when the backend cannot: a key it refuses to parse but the kernel accepts, or
//! a signature not below the modulus.

use super::RsaComponents;
use crate::errno::{Errno, KResult};
use crate::hash::Digest;
use num_bigint::BigUint;

/// Verifies `signature` over `digest` with `prefix` (the DigestInfo header of its hash).
/// The caller has already checked that the signature length equals the modulus length.
pub fn verify_pkcs1(
    key: &RsaComponents,
    prefix: &[u8],
    digest: &Digest,
    signature: &[u8],
) -> KResult<()> {
    let key_size = key.modulus_len();
    if key_size == 0 || signature.len() != key_size {
        return Err(Errno::EINVAL);
    }
    if !key.in_payload_range(signature) {
        return Err(Errno::EINVAL);
    }
    let mut out = vec![0u8; key_size];
    if public_op(key, signature, &mut out).is_none() {
        return Err(Errno::EINVAL);
    }
    // The kernel's RSA primitive writes the full modulus length, leading zeros included.
    check_encoding(&out, key_size, prefix, digest.as_bytes())
}

/// The raw public operation `s^e mod n` with big integers, written big-endian into `out`
/// (exactly the modulus length). `None` when `s` is not below the modulus (the primitive's
/// `EINVAL`), the modulus is zero, or `out` is not the modulus length.
pub fn public_op(key: &RsaComponents, signature: &[u8], out: &mut [u8]) -> Option<()> {
    let n = BigUint::from_bytes_be(&key.n);
    let e = BigUint::from_bytes_be(&key.e);
    let s = BigUint::from_bytes_be(signature);
    if out.len() != key.modulus_len() || s >= n {
        return None;
    }
    let m = s.modpow(&e, &n).to_bytes_be();
    // `m < n`, so it fits; `to_bytes_be` of zero is one zero byte.
    let pad = out.len().checked_sub(m.len())?;
    out[..pad].fill(0);
    out[pad..].copy_from_slice(&m);
    Some(())
}

/// The EMSA-PKCS1-v1_5 checks on the recovered representative, in the kernel's order
/// (crypto/rsassa-pkcs1.c). The 6.18 primitive hands over the full modulus length, leading
/// zeros included; the shorter forms the checks also accept (one leading zero fewer, as
/// older primitives stripped it) are kept for callers that have them.
pub fn check_encoding(out: &[u8], key_size: usize, prefix: &[u8], digest: &[u8]) -> KResult<()> {
    let mut buf = out;
    if buf.len() + 1 < key_size {
        return Err(Errno::EINVAL);
    }
    if buf.len() == key_size {
        if buf[0] != 0 {
            return Err(Errno::EINVAL);
        }
        buf = &buf[1..];
    }
    if buf.first() != Some(&0x01) {
        return Err(Errno::EBADMSG);
    }
    let mut pos = 1;
    while pos < buf.len() && buf[pos] == 0xff {
        pos += 1;
    }
    if pos < 9 || pos == buf.len() || buf[pos] != 0x00 {
        return Err(Errno::EBADMSG);
    }
    pos += 1;
    if prefix.len() > buf.len() - pos || &buf[pos..pos + prefix.len()] != prefix {
        return Err(Errno::EBADMSG);
    }
    pos += prefix.len();
    if digest.len() != buf.len() - pos || &buf[pos..] != digest {
        return Err(Errno::EKEYREJECTED);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn em(key_size: usize, ff: usize, prefix: &[u8], digest: &[u8]) -> Vec<u8> {
        let mut v = vec![0x01];
        v.extend(std::iter::repeat_n(0xff, ff));
        v.push(0);
        v.extend_from_slice(prefix);
        v.extend_from_slice(digest);
        assert_eq!(v.len() + 1, key_size);
        v
    }

    #[test]
    fn encoding_checks_in_kernel_order() {
        let prefix = [0x30, 0x01];
        let d = [7u8; 4];
        let good = em(20, 11, &prefix, &d);
        assert_eq!(check_encoding(&good, 20, &prefix, &d), Ok(()));
        assert_eq!(
            check_encoding(&good, 20, &prefix, &[8u8; 4]),
            Err(Errno::EKEYREJECTED)
        );
        assert_eq!(
            check_encoding(&good, 20, &[0x30, 0x02], &d),
            Err(Errno::EBADMSG)
        );
        // Too few 0xff bytes.
        let short = em(12, 3, &prefix, &d);
        assert_eq!(check_encoding(&short, 12, &prefix, &d), Err(Errno::EBADMSG));
        // Full-length representative with a non-zero first byte.
        let mut full = vec![0x05];
        full.extend_from_slice(&good);
        assert_eq!(check_encoding(&full, 20, &prefix, &d), Err(Errno::EINVAL));
        // Far too short.
        assert_eq!(check_encoding(&[1, 2], 20, &prefix, &d), Err(Errno::EINVAL));
    }
}
