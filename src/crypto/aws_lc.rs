//! The default backend: aws-lc, keys parsed once.
//!
//! An RSA key is parsed once into an aws-lc `RSA*` and only ever asked for the raw public
//! operation `s^e mod n` ([`PreparedKey::rsa_public`]): the kernel's EMSA-PKCS1-v1_5 checks
//! then run on the result in [`super::PublicKey::math`], which gives the exact errno of
//! every outcome, for every hash, from one exponentiation. That is how this backend is
//! errno-faithful: aws-lc does the arithmetic, the kernel's checks name the outcome.
//!
//! A key the kernel accepts but aws-lc refuses to parse (e = 1, even or over-33-bit
//! exponents, even moduli) gets this backend's portable handle instead: the same raw
//! operation with big integers ([`super::rsa_raw::public_op`]). Being the default backend,
//! aws-lc must give the kernel's verdict for every key the kernel takes, so it supports
//! every RSA size and hash the kernel's rules let through.
//!
//! ECDSA keys (P-256, P-384, P-521) are parsed once into an aws-lc-rs `ParsedPublicKey`.
//! ECDSA does not bind the hash into the signature, so one handle per curve serves every
//! hash: the digest arrives at the curve's native length ([`super::ecdsa_digest`]). A point
//! aws-lc refuses (not on the curve) gets no handle. Unsupported: P-192 (which the kernel's
//! profiles never have either).

use super::{rsa_raw, RsaComponents};
use super::{Backend, Curve, HashAlgo, KeySource, Math, MathInput, MlDsa, PkeyAlgo, PreparedKey};
use aws_lc_rs::digest as d;
use aws_lc_rs::signature::{self as sig, ParsedPublicKey, VerificationAlgorithm};

/// aws-lc-rs.
#[derive(Debug, Default, Clone, Copy)]
pub struct AwsLc;

impl Backend for AwsLc {
    fn name(&self) -> &'static str {
        "aws-lc"
    }

    fn library(&self) -> String {
        format!("aws-lc-rs {}", super::locked_version("aws-lc-rs"))
    }

    fn supports(&self, algo: PkeyAlgo, _bits: usize, _hash: HashAlgo) -> bool {
        matches!(
            algo,
            PkeyAlgo::Rsa | PkeyAlgo::Ecdsa(Curve::P256 | Curve::P384 | Curve::P521)
        )
    }

    fn supports_mldsa(&self, _level: MlDsa) -> bool {
        true
    }

    fn prepare(&self, key: &KeySource<'_>) -> Option<Box<dyn PreparedKey>> {
        match key.algo {
            PkeyAlgo::Rsa => {
                let comps = RsaComponents::parse(key.key).ok()?;
                match RawRsa::parse(key.key) {
                    Some(ptr) => Some(Box::new(AwsLcRsa { ptr, comps })),
                    None => Some(Box::new(PortableRsa(comps))),
                }
            }
            PkeyAlgo::Ecdsa(curve) => {
                let (alg, native): (&'static dyn VerificationAlgorithm, _) = match curve {
                    Curve::P256 => (&sig::ECDSA_P256_SHA256_ASN1, &d::SHA256),
                    Curve::P384 => (&sig::ECDSA_P384_SHA384_ASN1, &d::SHA384),
                    Curve::P521 => (&sig::ECDSA_P521_SHA512_ASN1, &d::SHA512),
                    Curve::P192 => return None,
                };
                let parsed = ParsedPublicKey::new(alg, key.key).ok()?;
                Some(Box::new(EcKey { parsed, native }))
            }
            PkeyAlgo::MlDsa(level) => {
                let alg: &'static dyn VerificationAlgorithm = match level {
                    MlDsa::L44 => &sig::ML_DSA_44,
                    MlDsa::L65 => &sig::ML_DSA_65,
                    MlDsa::L87 => &sig::ML_DSA_87,
                };
                // Raw pkEncode bytes (aws-lc also takes an SPKI; the kernel hands the BIT
                // STRING contents). A length the set does not have is refused here and
                // decided by the rules (`EINVAL`) before any arithmetic is asked for.
                let parsed = ParsedPublicKey::new(alg, key.key).ok()?;
                Some(Box::new(MlDsaKey(parsed)))
            }
        }
    }
}

/// Whether aws-lc itself parses this RSAPublicKey (otherwise the portable handle serves it).
pub fn parses_rsa(der: &[u8]) -> bool {
    RawRsa::parse(der).is_some()
}

/// An aws-lc `RSA*` parsed once from RSAPublicKey DER, for the raw public operation.
struct RawRsa(std::ptr::NonNull<aws_lc_sys::RSA>);

/// An RSA key aws-lc parsed, with its components for the portable path should aws-lc ever
/// refuse an operation the kernel does (not expected: the rules pass it only a
/// representative below the modulus, exactly the modulus length).
struct AwsLcRsa {
    ptr: RawRsa,
    comps: RsaComponents,
}

// SAFETY: aws-lc RSA objects are safe to share for public-key operations: the lazily
// built Montgomery context is created under the object's own lock.
unsafe impl Send for RawRsa {}
// SAFETY: as for Send: public-key operations on a shared RSA object are thread-safe.
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

/// RSA keys only do the raw operation; [`PreparedKey::verify`] keeps its default.
impl PreparedKey for AwsLcRsa {
    fn rsa_public(&self, signature: &[u8], out: &mut [u8]) -> Option<()> {
        let mut n = 0usize;
        // SAFETY: `out`/`signature` are live slices of the stated lengths; the RSA object
        // outlives the call.
        let ok = unsafe {
            aws_lc_sys::RSA_verify_raw(
                self.ptr.0.as_ptr(),
                &mut n,
                out.as_mut_ptr(),
                out.len(),
                signature.as_ptr(),
                signature.len(),
                aws_lc_sys::RSA_NO_PADDING,
            )
        };
        if ok != 1 {
            // Clear aws-lc's thread-local error queue and let the portable path answer.
            // SAFETY: only touches this thread's error queue.
            unsafe { aws_lc_sys::ERR_clear_error() };
            return rsa_raw::public_op(&self.comps, signature, out);
        }
        (n == out.len()).then_some(())
    }
}

/// A key aws-lc refuses to parse: the raw operation with big integers.
struct PortableRsa(RsaComponents);

impl PreparedKey for PortableRsa {
    fn rsa_public(&self, signature: &[u8], out: &mut [u8]) -> Option<()> {
        rsa_raw::public_op(&self.0, signature, out)
    }
}

/// An ML-DSA key parsed once (stable `ML_DSA_*` since aws-lc-rs 1.18): pure ML-DSA with
/// the empty context, the only form the kernel verifies. Every failure is one
/// `Unspecified`; the rules have already sorted the malformed (`EBADMSG`) from the rest.
struct MlDsaKey(ParsedPublicKey);

impl PreparedKey for MlDsaKey {
    fn verify_data(&self, data: &[u8], signature: &[u8]) -> Math {
        match self.0.verify_sig(data, signature) {
            Ok(()) => Math::Valid,
            Err(_) => Math::Invalid,
        }
    }
}

struct EcKey {
    parsed: ParsedPublicKey,
    native: &'static d::Algorithm,
}

impl PreparedKey for EcKey {
    fn verify(&self, input: &MathInput<'_>) -> Math {
        let Ok(dg) = d::Digest::import_less_safe(input.digest, self.native) else {
            return Math::Unsupported;
        };
        match self.parsed.verify_digest_sig(&dg, input.signature) {
            Ok(()) => Math::Valid,
            Err(_) => Math::Invalid,
        }
    }
}
