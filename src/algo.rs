//! The vocabulary of public-key algorithms: which algorithm a key or signature is, which
//! encoding a signature uses, which curve an EC key is on.
//!
//! These are names, not arithmetic: the byte formats (`formats`) name them while parsing
//! and the crypto rules (`crypto`) act on them, so they live on the ground floor where both
//! can see them without `formats` importing `crypto` (which re-exports them).

use crate::oid;

/// NIST curves the kernel's ECDSA driver knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Curve {
    P192,
    P256,
    P384,
    P521,
}

impl Curve {
    /// The kernel algorithm name (`ecdsa-nist-p256`), as `/proc/crypto` lists it.
    pub fn kernel_name(self) -> &'static str {
        match self {
            Curve::P192 => "ecdsa-nist-p192",
            Curve::P256 => "ecdsa-nist-p256",
            Curve::P384 => "ecdsa-nist-p384",
            Curve::P521 => "ecdsa-nist-p521",
        }
    }

    /// Bytes of one field element.
    pub fn field_len(self) -> usize {
        match self {
            Curve::P192 => 24,
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// From the namedCurve OID contents.
    pub fn from_oid(oid: &[u8]) -> Option<Curve> {
        match oid {
            oid::CURVE_P192 => Some(Curve::P192),
            oid::CURVE_P256 => Some(Curve::P256),
            oid::CURVE_P384 => Some(Curve::P384),
            oid::CURVE_P521 => Some(Curve::P521),
            _ => None,
        }
    }
}

/// A public key algorithm as the kernel's `public_key.pkey_algo` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PkeyAlgo {
    Rsa,
    Ecdsa(Curve),
}

impl PkeyAlgo {
    pub fn kernel_name(self) -> &'static str {
        match self {
            PkeyAlgo::Rsa => "rsa",
            PkeyAlgo::Ecdsa(c) => c.kernel_name(),
        }
    }
}

/// The algorithm a signature claims to be made with (`public_key_signature.pkey_algo`):
/// PKCS#7 and X.509 say "rsa" or "ecdsa" without a curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SigAlgo {
    Rsa,
    Ecdsa,
    /// GOST R 34.10-2012 ("ecrdsa"): named by PKCS#7 signerInfos the kernel parses; no key
    /// of that algorithm exists here, so a verification always meets a mismatched key.
    Ecrdsa,
}

/// Signature encodings the kernel distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    Pkcs1,
    X962,
    /// Raw r‖s (EC-RDSA).
    Raw,
}
