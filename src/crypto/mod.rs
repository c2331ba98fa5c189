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
///
/// RSA keys are only asked for [`PreparedKey::rsa_public`], ECDSA keys only for
/// [`PreparedKey::verify`]; each defaults to "not available".
pub trait PreparedKey: Send + Sync {
    /// ECDSA: an X9.62 DER signature over `digest`.
    fn verify(&self, _digest: &Digest, _signature: &[u8]) -> Math {
        Math::Unsupported
    }

    /// RSA: the raw public operation `s^e mod n`, written big-endian into `out` (exactly the
    /// modulus length). `None` when not available or when `s` is not a valid
    /// representative. With it the kernel's EMSA-PKCS1-v1_5 checks run on the result
    /// directly and give the exact errno from one exponentiation; without it
    /// [`rsa_raw::verify_pkcs1`] does the same with big integers.
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
                // Off the hot path: no raw operation from the backend (it could not parse a
                // key the kernel accepts) or `s` out of range. The same checks with big
                // integers name the failure.
                rsa_raw::verify_pkcs1(comps, &prefix[..plen], &sig.digest, sig.signature)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// RSAPublicKey DER for `n` = 2^2048 - 1 (odd, 2048 bits) and exponent `e`.
    fn rsa_key(e: &[u8]) -> Vec<u8> {
        let mut n = vec![0x02, 0x82, 0x01, 0x01, 0x00];
        n.extend([0xff; 256]);
        let mut e_der = vec![0x02, e.len() as u8];
        e_der.extend_from_slice(e);
        let len = n.len() + e_der.len();
        let mut v = vec![0x30, 0x82, (len >> 8) as u8, len as u8];
        v.extend(n);
        v.extend(e_der);
        v
    }

    /// EMSA-PKCS1-v1_5 of `digest` for a 256-byte modulus: 00 01 FF… 00 DigestInfo digest.
    fn em(digest: &Digest) -> Vec<u8> {
        let (prefix, plen) = digest.algo().digest_info_prefix().unwrap();
        let tail = [&prefix[..plen], digest.as_bytes()].concat();
        let mut v = vec![0x00, 0x01];
        v.resize(256 - tail.len() - 1, 0xff);
        v.push(0x00);
        v.extend(tail);
        v
    }

    fn check(key: &PublicKey, digest: &Digest, signature: &[u8]) -> KResult<()> {
        let rec = SignatureRecord {
            algo: Some(SigAlgo::Rsa),
            encoding: Encoding::Pkcs1,
            digest: *digest,
            signature,
        };
        key.verify(&rec, &CryptoProfile::full())
    }

    /// A key aws-lc refuses (e = 1) gets no backend handle; the big-integer path verifies it
    /// with the kernel's errnos. With e = 1 the encoded message is its own signature.
    #[test]
    fn rsa_key_aws_lc_refuses_verifies_through_big_integers() {
        let der = rsa_key(&[0x01]);
        assert!(aws_lc::AwsLc.prepare(PkeyAlgo::Rsa, &der).is_none());
        let key = PublicKey::new(PkeyAlgo::Rsa, &der, &aws_lc::AwsLc);
        assert_eq!(key.bits(), 2048);
        let d = HashAlgo::Sha256.digest(b"module").unwrap();
        let other = HashAlgo::Sha256.digest(b"other").unwrap();
        let sig = em(&d);
        assert_eq!(check(&key, &d, &sig), Ok(()));
        assert_eq!(check(&key, &other, &sig), Err(Errno::EKEYREJECTED));
        // sha224 and sha3-256 have no aws-lc PKCS#1 verifier; the raw checks cover them.
        for h in [HashAlgo::Sha224, HashAlgo::Sha3_256] {
            let d = h.digest(b"module").unwrap();
            assert_eq!(check(&key, &d, &em(&d)), Ok(()), "{h}");
        }
        let mut bad_pad = sig.clone();
        bad_pad[5] = 0xfe;
        assert_eq!(check(&key, &d, &bad_pad), Err(Errno::EBADMSG));
        // s >= n.
        assert_eq!(check(&key, &d, &[0xff; 256]), Err(Errno::EINVAL));
    }

    /// The raw operation through aws-lc (e = 3, parsed) and the big-integer path agree on
    /// every signature, valid or not.
    #[test]
    fn rsa_raw_operation_agrees_with_big_integers() {
        let der = rsa_key(&[0x03]);
        assert!(aws_lc::AwsLc.prepare(PkeyAlgo::Rsa, &der).is_some());
        let key = PublicKey::new(PkeyAlgo::Rsa, &der, &aws_lc::AwsLc);
        let comps = RsaComponents::parse(&der).unwrap();
        let d = HashAlgo::Sha256.digest(b"module").unwrap();
        let (prefix, plen) = HashAlgo::Sha256.digest_info_prefix().unwrap();
        let mut s = [0u8; 256];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..64 {
            for b in s.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            // A spread of representatives: small, mid, all-ones (>= n).
            match i % 4 {
                0 => s[..250].fill(0),
                1 => s[0] = 0,
                2 => s.fill(0xff),
                _ => {}
            }
            let want = rsa_raw::verify_pkcs1(&comps, &prefix[..plen], &d, &s);
            assert_eq!(check(&key, &d, &s), want, "signature {i}");
            seen.insert(want.err());
        }
        assert!(seen.contains(&Some(Errno::EINVAL)), "{seen:?}");
    }
}
