//! The RustCrypto stack as a backend: `rsa` for RSA PKCS#1 v1.5, `p256` / `p384` (the
//! `ecdsa` crate underneath) for ECDSA, all over the prehashed digest.
//!
//! Keys are parsed once ([`Backend::prepare`]): an `rsa::RsaPublicKey` inside the crate's
//! prehash verifier, or a curve's `VerifyingKey` (the point checked on the curve there).
//!
//! # Errno-faithfulness
//!
//! The crates answer valid or invalid. For RSA the prehash verifier is used unprefixed
//! and handed `DigestInfo ‖ digest` for the signature's hash (the kernel's prefix table, so
//! every hash the kernel has works and nothing but the EMSA-PKCS1-v1_5 comparison is left
//! to the crate); an invalid signature's errno is then named by the portable path
//! ([`super::rsa_raw`]). ECDSA gets the digest at the curve's native length
//! ([`super::ecdsa_digest`]: the crate refuses digests shorter than half the field, which
//! the kernel accepts), and an invalid signature's errno comes from the kernel's DER
//! well-formedness rule ([`super::PublicKey::math`]).
//!
//! # Unsupported
//!
//! - RSA keys the `rsa` crate refuses: exponent 1, or over 33 bits (every size and hash
//!   the kernel's rules let through is supported).
//! - ECDSA P-521 (no RustCrypto curve crate for it here).
//!
//! This backend allocates per verification (the crates' big integers); only the default
//! backend is held to the allocation-free hot path.

use super::{Backend, Curve, HashAlgo, KeySource, Math, MathInput, MlDsa, PkeyAlgo, PreparedKey};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::pkcs1::DecodeRsaPublicKey;

/// The RustCrypto crates.
#[derive(Debug, Default, Clone, Copy)]
pub struct RustCrypto;

impl Backend for RustCrypto {
    fn name(&self) -> &'static str {
        "rustcrypto"
    }

    fn library(&self) -> String {
        let v = super::locked_version;
        format!(
            "rsa {}, p256 {}, p384 {}, ecdsa {}, ml-dsa {}",
            v("rsa"),
            v("p256"),
            v("p384"),
            v("ecdsa"),
            v("ml-dsa")
        )
    }

    fn supports(&self, algo: PkeyAlgo, _bits: usize, _hash: HashAlgo) -> bool {
        matches!(
            algo,
            PkeyAlgo::Rsa | PkeyAlgo::Ecdsa(Curve::P256) | PkeyAlgo::Ecdsa(Curve::P384)
        )
    }

    fn supports_mldsa(&self, _level: MlDsa) -> bool {
        true
    }

    fn prepare(&self, key: &KeySource<'_>) -> Option<Box<dyn PreparedKey>> {
        match key.algo {
            PkeyAlgo::Rsa => {
                let k = rsa::RsaPublicKey::from_pkcs1_der(key.key).ok()?;
                Some(Box::new(Rsa(
                    rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new_unprefixed(k),
                )))
            }
            PkeyAlgo::Ecdsa(Curve::P256) => Some(Box::new(P256(
                p256::ecdsa::VerifyingKey::from_sec1_bytes(key.key).ok()?,
            ))),
            PkeyAlgo::Ecdsa(Curve::P384) => Some(Box::new(P384(
                p384::ecdsa::VerifyingKey::from_sec1_bytes(key.key).ok()?,
            ))),
            PkeyAlgo::Ecdsa(_) => None,
            PkeyAlgo::MlDsa(MlDsa::L44) => RcMlDsa::<ml_dsa::MlDsa44>::boxed(key.key),
            PkeyAlgo::MlDsa(MlDsa::L65) => RcMlDsa::<ml_dsa::MlDsa65>::boxed(key.key),
            PkeyAlgo::MlDsa(MlDsa::L87) => RcMlDsa::<ml_dsa::MlDsa87>::boxed(key.key),
        }
    }
}

/// The crate's PKCS#1 v1.5 prehash verifier, unprefixed (the digest type is only its
/// marker: the DigestInfo is passed in with the digest).
struct Rsa(rsa::pkcs1v15::VerifyingKey<sha2::Sha256>);

impl PreparedKey for Rsa {
    fn verify(&self, input: &MathInput<'_>) -> Math {
        let Some((prefix, plen)) = input.hash.digest_info_prefix() else {
            return Math::Unsupported;
        };
        let mut t = [0u8; 19 + crate::hash::MAX_DIGEST_LEN];
        let n = plen + input.digest.len();
        let Some(tail) = t.get_mut(..n) else {
            return Math::Unsupported;
        };
        tail[..plen].copy_from_slice(&prefix[..plen]);
        tail[plen..].copy_from_slice(input.digest);
        let Ok(sig) = rsa::pkcs1v15::Signature::try_from(input.signature) else {
            return Math::Invalid;
        };
        match self.0.verify_prehash(tail, &sig) {
            Ok(()) => Math::Valid,
            Err(_) => Math::Invalid,
        }
    }
}

/// A P-256 verifying key.
struct P256(p256::ecdsa::VerifyingKey);

/// A P-384 verifying key.
struct P384(p384::ecdsa::VerifyingKey);

impl PreparedKey for P256 {
    fn verify(&self, input: &MathInput<'_>) -> Math {
        let Ok(sig) = p256::ecdsa::Signature::from_der(input.signature) else {
            return Math::Invalid;
        };
        match self.0.verify_prehash(input.digest, &sig) {
            Ok(()) => Math::Valid,
            Err(_) => Math::Invalid,
        }
    }
}

impl PreparedKey for P384 {
    fn verify(&self, input: &MathInput<'_>) -> Math {
        let Ok(sig) = p384::ecdsa::Signature::from_der(input.signature) else {
            return Math::Invalid;
        };
        match self.0.verify_prehash(input.digest, &sig) {
            Ok(()) => Math::Valid,
            Err(_) => Math::Invalid,
        }
    }
}

/// RustCrypto's pure-Rust ML-DSA (`ml-dsa`), a second implementation beside aws-lc's: the
/// key decoded (and its matrix expanded) once. `Signature::decode` refuses exactly the
/// malformed encodings the rules have already answered `EBADMSG`; what is left verifies
/// with the empty context or is a mismatch.
struct RcMlDsa<P: ml_dsa::MlDsaParams>(ml_dsa::VerifyingKey<P>);

impl<P: ml_dsa::MlDsaParams> RcMlDsa<P> {
    fn boxed(raw: &[u8]) -> Option<Box<dyn PreparedKey>>
    where
        RcMlDsa<P>: PreparedKey + 'static,
    {
        let enc = ml_dsa::EncodedVerifyingKey::<P>::try_from(raw).ok()?;
        Some(Box::new(RcMlDsa(ml_dsa::VerifyingKey::<P>::decode(&enc))))
    }
}

impl<P: ml_dsa::MlDsaParams + Send + Sync> PreparedKey for RcMlDsa<P>
where
    ml_dsa::VerifyingKey<P>: Send + Sync,
{
    fn verify_data(&self, data: &[u8], signature: &[u8]) -> Math {
        let Ok(enc) = ml_dsa::EncodedSignature::<P>::try_from(signature) else {
            return Math::Invalid;
        };
        match ml_dsa::Signature::<P>::decode(&enc) {
            Some(sig) if self.0.verify_with_context(data, b"", &sig) => Math::Valid,
            _ => Math::Invalid,
        }
    }
}
