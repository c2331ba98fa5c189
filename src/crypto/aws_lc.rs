//! The default backend: aws-lc, keys parsed once.
//!
//! An RSA key is parsed once into an aws-lc `RSA*` and only ever asked for the raw public
//! operation `s^e mod n` ([`PreparedKey::rsa_public`]): the kernel's EMSA-PKCS1-v1_5 checks
//! then run on the result in [`super::PublicKey::verify`], which gives the exact errno of
//! every outcome, for every hash, from one exponentiation. A key aws-lc refuses to parse
//! (the kernel accepts some it does not: e = 1, even or over-33-bit exponents, even moduli)
//! gets no handle, and the big-integer path ([`super::rsa_raw`]) verifies it.
//!
//! ECDSA keys are parsed once into an aws-lc-rs `ParsedPublicKey`. ECDSA does not bind the
//! hash into the signature, so one handle per curve serves every hash: the digest is brought
//! to the curve's native length first, which is exact because ECDSA reads the digest as an
//! integer truncated to the group order's bit length (P-256 and P-384 orders are
//! byte-aligned; P-521 digests are never longer than its native 64 bytes).

use super::{Backend, Curve, Math, PkeyAlgo, PreparedKey};
use crate::hash::Digest;
use aws_lc_rs::digest as d;
use aws_lc_rs::signature::{self as sig, ParsedPublicKey, VerificationAlgorithm};

/// aws-lc-rs.
#[derive(Debug, Default, Clone, Copy)]
pub struct AwsLc;

impl Backend for AwsLc {
    fn name(&self) -> &'static str {
        "aws-lc-rs"
    }

    fn prepare(&self, algo: PkeyAlgo, key: &[u8]) -> Option<Box<dyn PreparedKey>> {
        match algo {
            PkeyAlgo::Rsa => Some(Box::new(RawRsa::parse(key)?)),
            PkeyAlgo::Ecdsa(curve) => {
                let (alg, native): (&'static dyn VerificationAlgorithm, _) = match curve {
                    Curve::P256 => (&sig::ECDSA_P256_SHA256_ASN1, &d::SHA256),
                    Curve::P384 => (&sig::ECDSA_P384_SHA384_ASN1, &d::SHA384),
                    Curve::P521 => (&sig::ECDSA_P521_SHA512_ASN1, &d::SHA512),
                    Curve::P192 => return None,
                };
                let parsed = ParsedPublicKey::new(alg, key).ok()?;
                Some(Box::new(EcKey { parsed, native }))
            }
        }
    }
}

/// An aws-lc `RSA*` parsed once from RSAPublicKey DER, for the raw public operation.
struct RawRsa(std::ptr::NonNull<aws_lc_sys::RSA>);

// SAFETY: aws-lc RSA objects are safe to share for public-key operations: the lazily
// built Montgomery context is created under the object's own lock.
unsafe impl Send for RawRsa {}
unsafe impl Sync for RawRsa {}

impl RawRsa {
    fn parse(der: &[u8]) -> Option<RawRsa> {
        // SAFETY: pointer and length describe a live slice; aws-lc copies what it keeps.
        let p = unsafe { aws_lc_sys::RSA_public_key_from_bytes(der.as_ptr(), der.len()) };
        std::ptr::NonNull::new(p).map(RawRsa)
    }
}

impl Drop for RawRsa {
    fn drop(&mut self) {
        // SAFETY: we own the only reference to this RSA object.
        unsafe { aws_lc_sys::RSA_free(self.0.as_ptr()) }
    }
}

/// RSA keys only do the raw operation; [`PreparedKey::verify`] keeps its default
/// (unsupported), and nothing asks for it.
impl PreparedKey for RawRsa {
    fn rsa_public(&self, signature: &[u8], out: &mut [u8]) -> Option<()> {
        let mut n = 0usize;
        // SAFETY: `out`/`signature` are live slices of the stated lengths; the RSA object
        // outlives the call.
        let ok = unsafe {
            aws_lc_sys::RSA_verify_raw(
                self.0.as_ptr(),
                &mut n,
                out.as_mut_ptr(),
                out.len(),
                signature.as_ptr(),
                signature.len(),
                aws_lc_sys::RSA_NO_PADDING,
            )
        };
        if ok != 1 {
            // Clear aws-lc's thread-local error queue; the caller falls back to the exact
            // big-integer path, which names the failure.
            // SAFETY: only touches this thread's error queue.
            unsafe { aws_lc_sys::ERR_clear_error() };
            return None;
        }
        (n == out.len()).then_some(())
    }
}

struct EcKey {
    parsed: ParsedPublicKey,
    native: &'static d::Algorithm,
}

impl PreparedKey for EcKey {
    fn verify(&self, digest: &Digest, signature: &[u8]) -> Math {
        let want = self.native.output_len;
        let got = digest.as_bytes();
        let mut buf = [0u8; crate::hash::MAX_DIGEST_LEN];
        let normalised: &[u8] = if got.len() >= want {
            &got[..want]
        } else {
            buf[want - got.len()..want].copy_from_slice(got);
            &buf[..want]
        };
        let Ok(dg) = d::Digest::import_less_safe(normalised, self.native) else {
            return Math::Unsupported;
        };
        match self.parsed.verify_digest_sig(&dg, signature) {
            Ok(()) => Math::Valid,
            Err(_) => Math::Invalid,
        }
    }
}
