//! The default backend: aws-lc-rs, keys parsed once into `ParsedPublicKey`.
//!
//! aws-lc-rs binds each parsed RSA key to one digest algorithm, so an RSA key gets one
//! handle per hash, made on first use and kept. ECDSA does not bind the hash into the
//! signature, so one handle per curve serves every hash: the digest is brought to the
//! curve's native length first, which is exact because ECDSA reads the digest as an integer
//! truncated to the group order's bit length (P-256 and P-384 orders are byte-aligned; P-521
//! digests are never longer than its native 64 bytes).

use super::{Backend, Curve, Math, PkeyAlgo, PreparedKey};
use crate::hash::{Digest, HashAlgo};
use aws_lc_rs::digest as d;
use aws_lc_rs::signature::{self as sig, ParsedPublicKey, VerificationAlgorithm};
use std::sync::OnceLock;

/// aws-lc-rs.
#[derive(Debug, Default, Clone, Copy)]
pub struct AwsLc;

impl Backend for AwsLc {
    fn name(&self) -> &'static str {
        "aws-lc-rs"
    }

    fn prepare(&self, algo: PkeyAlgo, key: &[u8]) -> Option<Box<dyn PreparedKey>> {
        match algo {
            PkeyAlgo::Rsa => Some(Box::new(RsaKey {
                der: key.into(),
                handles: Default::default(),
                raw: RawRsa::parse(key),
            })),
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

/// RSA hashes aws-lc-rs can verify prehashed, in handle-slot order.
const RSA_HASHES: [HashAlgo; 4] = [
    HashAlgo::Sha1,
    HashAlgo::Sha256,
    HashAlgo::Sha384,
    HashAlgo::Sha512,
];

struct RsaKey {
    der: Box<[u8]>,
    handles: [OnceLock<Option<ParsedPublicKey>>; 4],
    raw: Option<RawRsa>,
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

impl RsaKey {
    fn params(h: HashAlgo) -> &'static sig::RsaParameters {
        match h {
            HashAlgo::Sha1 => &sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
            HashAlgo::Sha256 => &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
            HashAlgo::Sha384 => &sig::RSA_PKCS1_2048_8192_SHA384,
            _ => &sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        }
    }
}

impl PreparedKey for RsaKey {
    fn rsa_public(&self, signature: &[u8], out: &mut [u8]) -> Option<()> {
        let raw = self.raw.as_ref()?;
        let mut n = 0usize;
        // SAFETY: `out`/`signature` are live slices of the stated lengths; the RSA object
        // outlives the call.
        let ok = unsafe {
            aws_lc_sys::RSA_verify_raw(
                raw.0.as_ptr(),
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

    fn verify(&self, digest: &Digest, signature: &[u8]) -> Math {
        let Some(slot) = RSA_HASHES.iter().position(|h| *h == digest.algo()) else {
            return Math::Unsupported;
        };
        let handle = self.handles[slot].get_or_init(|| {
            ParsedPublicKey::new(RsaKey::params(digest.algo()), &self.der[..]).ok()
        });
        let (Some(handle), Some(alg)) = (handle, digest.algo().aws_lc()) else {
            return Math::Unsupported;
        };
        let Ok(dg) = d::Digest::import_less_safe(digest.as_bytes(), alg) else {
            return Math::Unsupported;
        };
        match handle.verify_digest_sig(&dg, signature) {
            Ok(()) => Math::Valid,
            // Outside the parameter's key-size range aws-lc says no without looking;
            // let the exact path decide.
            Err(_) => Math::Invalid,
        }
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
