//! ring as a backend. ring verifies a *message*: it has no prehashed verify, so it hashes
//! [`SignatureRecord::message`](super::SignatureRecord::message) itself
//! ([`Backend::hashes_message`]): its verify figure includes the digest, and a record
//! without a message is unsupported.
//!
//! ring also has no pre-parsed public key for verification: its API takes the key bytes on
//! every call and parses them there (for RSA it builds the modulus' Montgomery constants
//! each time). What can be done once is done once: [`Backend::prepare`] chooses the
//! algorithm tables for the key, checks that ring takes an RSA key at all, and keeps the bytes,
//! so no key is refused per item and nothing is allocated per verification; the per-call
//! parse is part of ring's figure.
//!
//! # Errno-faithfulness
//!
//! ring answers valid or invalid. Valid is valid (ring's PKCS#1 v1.5 check is the exact
//! encoding comparison, which accepts exactly what the kernel's step-by-step checks accept
//! for a signature of the modulus' length below the modulus, both of which the rules above
//! the trait have already enforced). An invalid RSA signature's errno is named by the
//! portable path ([`super::rsa_raw`]); an invalid ECDSA signature's by the kernel's DER
//! well-formedness rule ([`super::PublicKey::math`]).
//!
//! # Unsupported
//!
//! - RSA: 512-bit keys (ring's minimum is 1024 bits); sha384 below 2048 bits; sha224 and
//!   the sha3 family (ring has no PKCS#1 table for them); keys ring refuses (exponent below
//!   3, even, or over 33 bits; even moduli).
//! - ECDSA: P-521; hashes other than sha256 and sha384 (ring has P-256 and P-384 tables for
//!   those two only).
//! - Any record without its message.

use super::RsaComponents;
use super::{Backend, Curve, HashAlgo, KeySource, Math, MathInput, PkeyAlgo, PreparedKey};
use ::ring::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};

/// ring.
#[derive(Debug, Default, Clone, Copy)]
pub struct Ring;

/// ring's RSA PKCS#1 v1.5 table for `hash` and a modulus of `bits` (exact bit length).
fn rsa_params(hash: HashAlgo, bits: usize) -> Option<&'static sig::RsaParameters> {
    use HashAlgo::*;
    Some(match (hash, bits) {
        (_, b) if b < 1024 => return None,
        (Sha1, _) => &sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
        (Sha256, b) if b >= 2048 => &sig::RSA_PKCS1_2048_8192_SHA256,
        (Sha256, _) => &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        (Sha384, b) if b >= 2048 => &sig::RSA_PKCS1_2048_8192_SHA384,
        (Sha512, b) if b >= 2048 => &sig::RSA_PKCS1_2048_8192_SHA512,
        (Sha512, _) => &sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        _ => return None,
    })
}

/// ring's ECDSA (ASN.1 signature) table for `curve` and `hash`.
fn ecdsa_alg(curve: Curve, hash: HashAlgo) -> Option<&'static sig::EcdsaVerificationAlgorithm> {
    Some(match (curve, hash) {
        (Curve::P256, HashAlgo::Sha256) => &sig::ECDSA_P256_SHA256_ASN1,
        (Curve::P256, HashAlgo::Sha384) => &sig::ECDSA_P256_SHA384_ASN1,
        (Curve::P384, HashAlgo::Sha256) => &sig::ECDSA_P384_SHA256_ASN1,
        (Curve::P384, HashAlgo::Sha384) => &sig::ECDSA_P384_SHA384_ASN1,
        _ => return None,
    })
}

impl Backend for Ring {
    fn name(&self) -> &'static str {
        "ring"
    }

    fn library(&self) -> String {
        format!("ring {}", super::locked_version("ring"))
    }

    fn supports(&self, algo: PkeyAlgo, bits: usize, hash: HashAlgo) -> bool {
        match algo {
            PkeyAlgo::Rsa => rsa_params(hash, bits).is_some(),
            PkeyAlgo::Ecdsa(c) => ecdsa_alg(c, hash).is_some(),
            PkeyAlgo::MlDsa(_) => false,
        }
    }

    fn hashes_message(&self) -> bool {
        true
    }

    fn prepare(&self, key: &KeySource<'_>) -> Option<Box<dyn PreparedKey>> {
        match key.algo {
            PkeyAlgo::Rsa => {
                let c = RsaComponents::parse(key.key).ok()?;
                let top = c.n.first().map_or(8, |b| b.leading_zeros() as usize);
                let bits = (c.n.len() * 8).saturating_sub(top);
                // ring takes an odd exponent in [3, 2^33) and an odd modulus.
                if c.e.len() > 5 || c.n.last().is_none_or(|b| b & 1 == 0) {
                    return None;
                }
                let e = c.e.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
                if e < 3 || e & 1 == 0 || e >= 1 << 33 {
                    return None;
                }
                Some(Box::new(RingRsa {
                    bits,
                    raw: key.key.into(),
                }))
            }
            PkeyAlgo::Ecdsa(curve @ (Curve::P256 | Curve::P384)) => Some(Box::new(RingEc {
                curve,
                raw: key.key.into(),
            })),
            PkeyAlgo::Ecdsa(_) | PkeyAlgo::MlDsa(_) => None,
        }
    }
}

/// Verifies with ring, or `Unsupported` without a table or a message.
fn ring_verify(
    alg: Option<&'static dyn VerificationAlgorithm>,
    key: &[u8],
    input: &MathInput<'_>,
) -> Math {
    let (Some(alg), Some(message)) = (alg, input.message) else {
        return Math::Unsupported;
    };
    match UnparsedPublicKey::new(alg, key).verify(message, input.signature) {
        Ok(()) => Math::Valid,
        Err(_) => Math::Invalid,
    }
}

/// An RSA key as ring takes it: RSAPublicKey DER, with the modulus' exact bit length (which
/// picks ring's table).
struct RingRsa {
    bits: usize,
    raw: Box<[u8]>,
}

impl PreparedKey for RingRsa {
    fn verify(&self, input: &MathInput<'_>) -> Math {
        let alg =
            rsa_params(input.hash, self.bits).map(|p| p as &'static dyn VerificationAlgorithm);
        ring_verify(alg, &self.raw, input)
    }
}

/// An EC point as ring takes it (ring checks it is on the curve on every call).
struct RingEc {
    curve: Curve,
    raw: Box<[u8]>,
}

impl PreparedKey for RingEc {
    fn verify(&self, input: &MathInput<'_>) -> Math {
        let alg =
            ecdsa_alg(self.curve, input.hash).map(|a| a as &'static dyn VerificationAlgorithm);
        ring_verify(alg, &self.raw, input)
    }
}
