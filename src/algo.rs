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

/// The three FIPS 204 (ML-DSA) parameter sets Linux 7.0 verifies. Their sizes are the only
/// validation the kernel does on a key or a signature before the arithmetic, so they live
/// here with the name, where the parsers, the rules and the generator all read them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MlDsa {
    /// ML-DSA-44 (NIST category 2).
    L44,
    /// ML-DSA-65 (category 3).
    L65,
    /// ML-DSA-87 (category 5).
    L87,
}

impl MlDsa {
    /// All three, smallest first.
    pub const ALL: [MlDsa; 3] = [MlDsa::L44, MlDsa::L65, MlDsa::L87];

    /// The kernel's algorithm name (`mldsa65`), as `/proc/crypto` and `/proc/keys` show it.
    pub fn kernel_name(self) -> &'static str {
        match self {
            MlDsa::L44 => "mldsa44",
            MlDsa::L65 => "mldsa65",
            MlDsa::L87 => "mldsa87",
        }
    }

    /// The name FIPS 204 and OpenSSL use (`ML-DSA-65`), for reports and specs.
    pub fn name(self) -> &'static str {
        match self {
            MlDsa::L44 => "ML-DSA-44",
            MlDsa::L65 => "ML-DSA-65",
            MlDsa::L87 => "ML-DSA-87",
        }
    }

    /// Encoded public key bytes (pkEncode: ρ ‖ t1); any other length is `EINVAL` when the
    /// kernel sets the key.
    pub fn public_key_len(self) -> usize {
        match self {
            MlDsa::L44 => 1312,
            MlDsa::L65 => 1952,
            MlDsa::L87 => 2592,
        }
    }

    /// Encoded signature bytes (sigEncode: c̃ ‖ z ‖ h); any other length is `EBADMSG`.
    pub fn signature_len(self) -> usize {
        match self {
            MlDsa::L44 => 2420,
            MlDsa::L65 => 3309,
            MlDsa::L87 => 4627,
        }
    }

    /// From the algorithm OID contents (the same OID names keys and signatures).
    pub fn from_oid(oid: &[u8]) -> Option<MlDsa> {
        match oid {
            oid::ML_DSA_44 => Some(MlDsa::L44),
            oid::ML_DSA_65 => Some(MlDsa::L65),
            oid::ML_DSA_87 => Some(MlDsa::L87),
            _ => None,
        }
    }

    /// The algorithm OID contents.
    pub fn oid(self) -> &'static [u8] {
        match self {
            MlDsa::L44 => oid::ML_DSA_44,
            MlDsa::L65 => oid::ML_DSA_65,
            MlDsa::L87 => oid::ML_DSA_87,
        }
    }
}

/// A public key algorithm as the kernel's `public_key.pkey_algo` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PkeyAlgo {
    Rsa,
    Ecdsa(Curve),
    /// ML-DSA (Linux 7.0+): the algorithm takes the signed data itself, not a digest.
    MlDsa(MlDsa),
}

impl PkeyAlgo {
    pub fn kernel_name(self) -> &'static str {
        match self {
            PkeyAlgo::Rsa => "rsa",
            PkeyAlgo::Ecdsa(c) => c.kernel_name(),
            PkeyAlgo::MlDsa(l) => l.kernel_name(),
        }
    }

    /// The encoding a signature for this key is in when the caller names none and takes
    /// the key's own (IMA's `asymmetric_verify`, `keyctl pkey_verify`): PKCS#1 v1.5 for
    /// RSA, X9.62 for ECDSA, raw for ML-DSA.
    pub fn native_encoding(self) -> Encoding {
        match self {
            PkeyAlgo::Rsa => Encoding::Pkcs1,
            PkeyAlgo::Ecdsa(_) => Encoding::X962,
            PkeyAlgo::MlDsa(_) => Encoding::Raw,
        }
    }

    /// Whether the algorithm verifies the signed data rather than a digest of it
    /// (`public_key_signature.algo_takes_data`): ML-DSA.
    pub fn takes_data(self) -> bool {
        matches!(self, PkeyAlgo::MlDsa(_))
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
    /// ML-DSA with its parameter set: the kernel compares the full name (`mldsa44` against
    /// an `mldsa65` key is `EKEYREJECTED`).
    MlDsa(MlDsa),
}

impl SigAlgo {
    /// The encoding a signature of this algorithm is in (the parsers set it with the
    /// algorithm): PKCS#1 v1.5, X9.62, or raw (EC-RDSA's r‖s, ML-DSA's sigEncode).
    pub fn encoding(self) -> Encoding {
        match self {
            SigAlgo::Rsa => Encoding::Pkcs1,
            SigAlgo::Ecdsa => Encoding::X962,
            SigAlgo::Ecrdsa | SigAlgo::MlDsa(_) => Encoding::Raw,
        }
    }
}

/// Signature encodings the kernel distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    Pkcs1,
    X962,
    /// Raw r‖s (EC-RDSA).
    Raw,
}
