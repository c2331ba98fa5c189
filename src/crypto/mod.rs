//! Public keys, signature records and the kernel's `public_key_verify_signature` rules, on
//! top of a pluggable [`Backend`] that only does the mathematics.
//!
//! The split matters for two reasons. The kernel's verdicts (which errno, which length rule,
//! which key sizes exist at all) must be identical whichever library does the arithmetic,
//! so those rules live here once. And the measurement suite compares backends side by side,
//! so a backend is a small trait: parse a key once into a handle, then verify prehashed
//! digests against it many times.

pub mod aws_lc;
pub mod profile;
pub mod rsa_raw;

pub use crate::algo::{Curve, Encoding, PkeyAlgo, SigAlgo};
pub use profile::CryptoProfile;

use crate::asn1::{self, tag};
use crate::errno::{Errno, KResult};
use crate::hash::{Digest, HashAlgo};
use std::fmt;
use std::sync::Arc;

/// What a verifier is asked to check: the kernel's `struct public_key_signature`, with the
/// digest already computed.
#[derive(Clone, Debug)]
pub struct SignatureRecord<'a> {
    /// `None` when the caller takes the key's own algorithm (IMA does).
    pub algo: Option<SigAlgo>,
    pub encoding: Encoding,
    pub digest: Digest,
    pub signature: &'a [u8],
}

/// Outcome of a backend's arithmetic, before kernel errno mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Math {
    Valid,
    Invalid,
    /// This backend has no implementation for the key/hash combination.
    Unsupported,
}

/// A key parsed into a backend's native form, made once and used for every verification.
pub trait PreparedKey: Send + Sync {
    /// RSA: RSASSA-PKCS1-v1_5 over `digest`; ECDSA: X9.62 DER signature over `digest`.
    fn verify(&self, digest: &Digest, signature: &[u8]) -> Math;

    /// RSA only, where the backend offers it: the raw public operation `s^e mod n`,
    /// written big-endian into `out` (exactly the modulus length). `None` when not
    /// available or when `s` is not a valid representative. With it the kernel's
    /// EMSA-PKCS1-v1_5 checks run on the result directly and give the exact errno from one
    /// exponentiation.
    fn rsa_public(&self, _signature: &[u8], _out: &mut [u8]) -> Option<()> {
        None
    }
}

/// A crypto library. Later backends (ring, RustCrypto, OpenSSL, the kernel via keyctl)
/// implement the same two calls, so every backend runs the same kernel rules above it.
pub trait Backend: Send + Sync + fmt::Debug {
    fn name(&self) -> &'static str;
    /// Parses the key once. `None` when the backend cannot represent it at all.
    fn prepare(&self, algo: PkeyAlgo, key: &[u8]) -> Option<Box<dyn PreparedKey>>;
}

/// The default backend.
pub fn default_backend() -> Arc<dyn Backend> {
    Arc::new(aws_lc::AwsLc)
}

/// RSA public key components (big-endian, leading zeros removed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaComponents {
    pub n: Box<[u8]>,
    pub e: Box<[u8]>,
}

impl RsaComponents {
    /// Parses `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
    pub fn parse(der: &[u8]) -> KResult<RsaComponents> {
        let seq = asn1::single(der, tag::SEQUENCE)?;
        let mut r = asn1::Reader::new(seq.contents);
        let n = r.expect_tag(tag::INTEGER)?.contents;
        let e = r.expect_tag(tag::INTEGER)?.contents;
        Ok(RsaComponents {
            n: asn1::strip_leading_zeros(n).into(),
            e: asn1::strip_leading_zeros(e).into(),
        })
    }

    /// The kernel's key size: bytes of the modulus without leading zeros.
    pub fn modulus_len(&self) -> usize {
        self.n.len()
    }
}

/// A subject public key, with its backend handle made once at key creation.
pub struct PublicKey {
    algo: PkeyAlgo,
    /// subjectPublicKey BIT STRING contents: RSAPublicKey DER, or the EC point.
    raw: Box<[u8]>,
    rsa: Option<KResult<RsaComponents>>,
    prepared: Option<Box<dyn PreparedKey>>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("algo", &self.algo)
            .field("bits", &self.bits())
            .finish()
    }
}

impl PublicKey {
    pub fn new(algo: PkeyAlgo, raw: &[u8], backend: &dyn Backend) -> PublicKey {
        let rsa = (algo == PkeyAlgo::Rsa).then(|| RsaComponents::parse(raw));
        PublicKey {
            algo,
            raw: raw.into(),
            rsa,
            prepared: backend.prepare(algo, raw),
        }
    }

    pub fn algo(&self) -> PkeyAlgo {
        self.algo
    }

    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// Key size in bits, as `/proc/keys` and reports show it.
    pub fn bits(&self) -> usize {
        match (&self.rsa, self.algo) {
            (Some(Ok(c)), _) => c.modulus_len() * 8,
            (_, PkeyAlgo::Ecdsa(c)) => match c {
                Curve::P192 => 192,
                Curve::P256 => 256,
                Curve::P384 => 384,
                Curve::P521 => 521,
            },
            _ => 0,
        }
    }

    /// The kernel's `public_key_verify_signature` (crypto/asymmetric_keys/public_key.c with
    /// crypto/rsassa-pkcs1.c and crypto/ecdsa*.c): the same checks in the same order, so a
    /// failure carries the same errno.
    pub fn verify(&self, sig: &SignatureRecord<'_>, profile: &CryptoProfile) -> KResult<()> {
        // Signature algorithm must match the key's (ecdsa matches any ecdsa curve).
        match (sig.algo, self.algo) {
            (None, _) | (Some(SigAlgo::Rsa), PkeyAlgo::Rsa) => {}
            (Some(SigAlgo::Ecdsa), PkeyAlgo::Ecdsa(_)) => {}
            _ => return Err(Errno::EKEYREJECTED),
        }
        let hash = sig.digest.algo();
        match self.algo {
            PkeyAlgo::Rsa => {
                if sig.encoding != Encoding::Pkcs1 {
                    return Err(Errno::EINVAL);
                }
                let Some((prefix, plen)) = hash.digest_info_prefix() else {
                    return Err(Errno::EINVAL);
                };
                if !profile.rsa {
                    return Err(Errno::ENOENT);
                }
                let comps = match &self.rsa {
                    Some(Ok(c)) => c,
                    Some(Err(e)) => return Err(*e),
                    None => return Err(Errno::EINVAL),
                };
                // crypto/rsa.c accepts only these modulus sizes.
                if !matches!(
                    comps.modulus_len() * 8,
                    512 | 1024 | 1536 | 2048 | 3072 | 4096
                ) {
                    return Err(Errno::EINVAL);
                }
                if sig.signature.len() != comps.modulus_len() {
                    return Err(Errno::EINVAL);
                }
                if let Some(p) = &self.prepared {
                    let mut out = [0u8; 512];
                    let out = &mut out[..comps.modulus_len()];
                    if p.rsa_public(sig.signature, out).is_some() {
                        let m = asn1::strip_leading_zeros(out);
                        return rsa_raw::check_encoding(
                            m,
                            comps.modulus_len(),
                            &prefix[..plen],
                            sig.digest.as_bytes(),
                        );
                    }
                }
                let math = match &self.prepared {
                    Some(p) => p.verify(&sig.digest, sig.signature),
                    None => Math::Unsupported,
                };
                match math {
                    Math::Valid => Ok(()),
                    // Off the hot path: redo the operation exactly to name the failure.
                    Math::Invalid | Math::Unsupported => {
                        rsa_raw::verify_pkcs1(comps, &prefix[..plen], &sig.digest, sig.signature)
                    }
                }
            }
            PkeyAlgo::Ecdsa(curve) => {
                if sig.encoding != Encoding::X962 {
                    return Err(Errno::EINVAL);
                }
                if !matches!(
                    hash,
                    HashAlgo::Sha1
                        | HashAlgo::Sha224
                        | HashAlgo::Sha256
                        | HashAlgo::Sha384
                        | HashAlgo::Sha512
                        | HashAlgo::Sha3_256
                        | HashAlgo::Sha3_384
                        | HashAlgo::Sha3_512
                ) {
                    return Err(Errno::EINVAL);
                }
                if !profile.has_curve(curve) {
                    return Err(Errno::ENOENT);
                }
                if self.raw.first() != Some(&0x04) || self.raw.len() != 1 + 2 * curve.field_len() {
                    return Err(Errno::EINVAL);
                }
                let math = match &self.prepared {
                    Some(p) => p.verify(&sig.digest, sig.signature),
                    None => Math::Unsupported,
                };
                match math {
                    Math::Valid => Ok(()),
                    Math::Unsupported => Err(Errno::ENOPKG),
                    Math::Invalid => {
                        if ecdsa_sig_well_formed(sig.signature, curve) {
                            Err(Errno::EKEYREJECTED)
                        } else {
                            Err(Errno::EBADMSG)
                        }
                    }
                }
            }
        }
    }
}

/// Whether an X9.62 signature is a DER `SEQUENCE { r INTEGER, s INTEGER }` with values no
/// longer than the curve allows (the kernel rejects the rest before any arithmetic).
fn ecdsa_sig_well_formed(sig: &[u8], curve: Curve) -> bool {
    let Ok(seq) = asn1::single(sig, tag::SEQUENCE) else {
        return false;
    };
    let mut r = asn1::Reader::new(seq.contents);
    let (Ok(a), Ok(b)) = (r.expect_tag(tag::INTEGER), r.expect_tag(tag::INTEGER)) else {
        return false;
    };
    r.is_empty()
        && [a, b]
            .iter()
            .all(|i| asn1::strip_leading_zeros(i.contents).len() <= curve.field_len())
}
