//! A deliberately wrong backend, so that the same-run agreement check of `trustbench
//! backends` can be shown to catch a backend that disagrees: it wraps another backend (the
//! default one) and turns a valid answer into an invalid one for a deterministic subset of
//! verifications — signatures whose **last byte is below 0x10** (about one in sixteen)
//! made by a **key whose certificate is not a CA** (a signing key: the keys that sign
//! modules and files, not the ones that vouch for certificates, so the corpus's keyrings
//! still build and the wrong verdicts land on items). Everything else is the wrapped
//! backend's answer, so the wrong verdicts are few, reproducible from the corpus alone and
//! nameable item by item ([`is_wrong_for`]).
//!
//! How it is wrong, per kind of answer the wrapped backend gives:
//! - the raw RSA operation ([`PreparedKey::rsa_public`]): the last byte of the result (the
//!   digest's last byte in a valid encoding) is flipped, so the kernel's EMSA checks above
//!   the trait find another digest: `EKEYREJECTED`;
//! - valid / invalid ([`PreparedKey::verify`]): `Valid` becomes `Invalid`.
//!
//! An invalid signature stays invalid with its errno (a flipped digest byte does not mend
//! a bad padding), so only items that should be valid change.
//!
//! It is never a backend a user picks: the command line lists it only when the hidden
//! environment variable [`ENV`] is `1` (tests set it), and `crypto::backends` does not know
//! it.

use crate::crypto::{Backend, KeySource, Math, MathInput, PkeyAlgo, PreparedKey};
use crate::hash::HashAlgo;
use std::sync::Arc;

/// The environment variable that, set to `1`, lists the faulty backend (tests only).
pub const ENV: &str = "TRUSTBENCH_TEST_FAULTY_BACKEND";

/// The faulty backend's name.
pub const NAME: &str = "faulty";

/// Whether [`ENV`] asks for the faulty backend.
pub fn enabled() -> bool {
    std::env::var(ENV).is_ok_and(|v| v == "1")
}

/// Whether the faulty backend answers wrongly for `signature` made by a signing key (one
/// whose certificate is not a CA): its last byte is below 0x10. Public so that a test can
/// say in advance which items must be named.
pub fn is_wrong_for(signature: &[u8]) -> bool {
    signature.last().is_some_and(|&b| b < 0x10)
}

/// Whether the DER certificate `cert` says it is a CA (basicConstraints cA TRUE). A
/// byte-level look, enough for a test backend (crypto reads no X.509): the extension's OID,
/// an optional critical flag, then `OCTET STRING { SEQUENCE { BOOLEAN TRUE …`.
fn is_ca(cert: &[u8]) -> bool {
    const BASIC_CONSTRAINTS: [u8; 5] = [0x06, 0x03, 0x55, 0x1d, 0x13];
    let Some(at) = cert.windows(5).position(|w| w == BASIC_CONSTRAINTS) else {
        return false;
    };
    let mut rest = &cert[at + 5..];
    if rest.len() >= 3 && rest[0] == 0x01 && rest[1] == 0x01 {
        rest = &rest[3..];
    }
    rest.len() >= 7 && rest[0] == 0x04 && rest[2] == 0x30 && rest[4..7] == [0x01, 0x01, 0xff]
}

/// Another backend, wrong on purpose for the signatures [`is_wrong_for`] picks.
#[derive(Debug)]
pub struct Faulty {
    inner: Arc<dyn Backend>,
}

impl Faulty {
    /// `inner`, made wrong for some signatures.
    pub fn wrapping(inner: Arc<dyn Backend>) -> Faulty {
        Faulty { inner }
    }
}

impl Backend for Faulty {
    fn name(&self) -> &'static str {
        NAME
    }

    fn library(&self) -> String {
        format!(
            "{} made wrong on purpose (signing keys, signatures ending below 0x10)",
            self.inner.library()
        )
    }

    fn supports(&self, algo: PkeyAlgo, bits: usize, hash: HashAlgo) -> bool {
        self.inner.supports(algo, bits, hash)
    }

    fn supports_mldsa(&self, level: crate::algo::MlDsa) -> bool {
        self.inner.supports_mldsa(level)
    }

    fn hashes_message(&self) -> bool {
        self.inner.hashes_message()
    }

    fn prepare(&self, key: &KeySource<'_>) -> Option<Box<dyn PreparedKey>> {
        let inner = self.inner.prepare(key)?;
        if key.cert.is_some_and(is_ca) {
            return Some(inner);
        }
        Some(Box::new(FaultyKey(inner)))
    }
}

/// The wrapped backend's key handle, answering wrongly where [`is_wrong_for`] says.
struct FaultyKey(Box<dyn PreparedKey>);

impl PreparedKey for FaultyKey {
    fn verify(&self, input: &MathInput<'_>) -> Math {
        match self.0.verify(input) {
            Math::Valid if is_wrong_for(input.signature) => Math::Invalid,
            m => m,
        }
    }

    fn verify_data(&self, data: &[u8], signature: &[u8]) -> Math {
        match self.0.verify_data(data, signature) {
            Math::Valid if is_wrong_for(signature) => Math::Invalid,
            m => m,
        }
    }

    fn rsa_public(&self, signature: &[u8], out: &mut [u8]) -> Option<()> {
        self.0.rsa_public(signature, out)?;
        if is_wrong_for(signature) {
            if let Some(b) = out.last_mut() {
                *b ^= 1;
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{CryptoProfile, Encoding, PublicKey, SigAlgo, SignatureRecord};
    use crate::errno::Errno;

    /// RSAPublicKey DER for `n` = 2^2048 - 1 and e = 1: the encoded message is its own
    /// signature, so a test can choose the signature's last byte (the digest's last byte).
    fn e1_key() -> Vec<u8> {
        let mut v = vec![0x30, 0x82, 0x01, 0x08, 0x02, 0x82, 0x01, 0x01, 0x00];
        v.extend([0xff; 256]);
        v.extend([0x02, 0x01, 0x01]);
        v
    }

    fn em(d: &crate::hash::Digest) -> Vec<u8> {
        let (prefix, plen) = d.algo().digest_info_prefix().unwrap();
        let tail = [&prefix[..plen], d.as_bytes()].concat();
        let mut v = vec![0x00, 0x01];
        v.resize(256 - tail.len() - 1, 0xff);
        v.push(0x00);
        v.extend(tail);
        v
    }

    #[test]
    fn wrong_exactly_for_signatures_ending_below_0x10() {
        let der = e1_key();
        let src = KeySource {
            algo: PkeyAlgo::Rsa,
            key: &der,
            cert: None,
        };
        let faulty = Faulty::wrapping(crate::crypto::default_backend());
        let (right, wrong) = (
            PublicKey::new(&src, crate::crypto::default_backend().as_ref()),
            PublicKey::new(&src, &faulty),
        );
        let mut seen = [false; 2];
        for i in 0u32..64 {
            let d = HashAlgo::Sha256.digest(&i.to_be_bytes()).unwrap();
            let sig = em(&d);
            let rec = SignatureRecord {
                algo: Some(SigAlgo::Rsa),
                encoding: Encoding::Pkcs1,
                signed: crate::crypto::Signed::Digest(d),
                signature: &sig,
                message: None,
            };
            let p = CryptoProfile::full();
            assert_eq!(right.verify(&rec, &p), Ok(()));
            let flipped = is_wrong_for(&sig);
            seen[flipped as usize] = true;
            let want = if flipped {
                Err(Errno::EKEYREJECTED)
            } else {
                Ok(())
            };
            assert_eq!(wrong.verify(&rec, &p), want, "digest {i}");
        }
        assert_eq!(seen, [true, true], "both kinds of signature were tried");
        assert_eq!(faulty.name(), NAME);
    }

    #[test]
    fn ca_certificates_are_told_from_signing_ones() {
        // basicConstraints, critical, cA TRUE; non-critical cA TRUE with a path length;
        // cA FALSE (empty SEQUENCE); none at all.
        let oid = [0x06, 0x03, 0x55, 0x1d, 0x13];
        let ca = [
            &oid[..],
            &[0x01, 0x01, 0xff, 0x04, 0x05, 0x30, 0x03, 0x01, 0x01, 0xff],
        ]
        .concat();
        let ca_len = [
            &oid[..],
            &[0x04, 0x08, 0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00],
        ]
        .concat();
        let leaf = [&oid[..], &[0x04, 0x02, 0x30, 0x00]].concat();
        assert!(is_ca(&ca) && is_ca(&ca_len));
        assert!(!is_ca(&leaf) && !is_ca(&[0x30, 0x00]));
    }
}
