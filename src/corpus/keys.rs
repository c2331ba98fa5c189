//! Deterministic key generation: the same seed and label always give the same key, so a
//! corpus is reproducible byte for byte (ECDSA signatures excepted: they are randomised;
//! ML-DSA ones are not: the generator signs with FIPS 204's deterministic variant).

use crate::algo::MlDsa;
use crate::crypto::Curve;
use crate::error::Error;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A key algorithm a spec can ask for: the RSA sizes and curves the kernel's signature
/// paths see in practice, and the three ML-DSA parameter sets Linux 7.0+ verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum KeyAlgo {
    /// RSA with a modulus of this many bits (1024..=8192, a multiple of 8).
    Rsa(u32),
    /// ECDSA on NIST P-256.
    P256,
    /// ECDSA on NIST P-384.
    P384,
    /// ML-DSA (FIPS 204) with this parameter set: spec name `ml-dsa-65` (or `mldsa65`).
    MlDsa(MlDsa),
}

/// Why a string is not a [`KeyAlgo`]. Its message names the string and what is accepted;
/// a spec error carries it with the spec's path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseKeyAlgoError(String);

impl fmt::Display for ParseKeyAlgoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseKeyAlgoError {}

impl FromStr for KeyAlgo {
    type Err = ParseKeyAlgoError;
    fn from_str(s: &str) -> Result<Self, ParseKeyAlgoError> {
        match s {
            "p256" | "ecdsa-p256" => Ok(KeyAlgo::P256),
            "p384" | "ecdsa-p384" => Ok(KeyAlgo::P384),
            "ml-dsa-44" | "mldsa44" => Ok(KeyAlgo::MlDsa(MlDsa::L44)),
            "ml-dsa-65" | "mldsa65" => Ok(KeyAlgo::MlDsa(MlDsa::L65)),
            "ml-dsa-87" | "mldsa87" => Ok(KeyAlgo::MlDsa(MlDsa::L87)),
            _ => {
                let bits = s
                    .strip_prefix("rsa")
                    .and_then(|b| b.trim_start_matches('-').parse::<u32>().ok())
                    .ok_or_else(|| {
                        ParseKeyAlgoError(format!(
                            "unknown key algorithm '{s}' (rsa2048, rsa3072, rsa4096, p256, p384, \
                             ml-dsa-44, ml-dsa-65, ml-dsa-87)"
                        ))
                    })?;
                if !(1024..=8192).contains(&bits) || bits % 8 != 0 {
                    return Err(ParseKeyAlgoError(format!(
                        "RSA size {bits} out of range 1024..=8192"
                    )));
                }
                Ok(KeyAlgo::Rsa(bits))
            }
        }
    }
}

impl TryFrom<String> for KeyAlgo {
    type Error = ParseKeyAlgoError;
    fn try_from(s: String) -> Result<Self, ParseKeyAlgoError> {
        s.parse()
    }
}

impl From<KeyAlgo> for String {
    fn from(k: KeyAlgo) -> String {
        k.to_string()
    }
}

impl fmt::Display for KeyAlgo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyAlgo::Rsa(b) => write!(f, "rsa{b}"),
            KeyAlgo::P256 => f.write_str("p256"),
            KeyAlgo::P384 => f.write_str("p384"),
            // `ML-DSA-65` → `ml-dsa-65`: the spec spelling.
            KeyAlgo::MlDsa(l) => f.write_str(&l.name().to_ascii_lowercase()),
        }
    }
}

impl KeyAlgo {
    /// The curve of an ECDSA key; `None` for RSA and ML-DSA.
    pub fn curve(self) -> Option<Curve> {
        match self {
            KeyAlgo::Rsa(_) | KeyAlgo::MlDsa(_) => None,
            KeyAlgo::P256 => Some(Curve::P256),
            KeyAlgo::P384 => Some(Curve::P384),
        }
    }

    /// The kernel's name for the key's algorithm (`public_key.pkey_algo`), which the
    /// manifest records per item so expectations can follow a kernel profile.
    pub fn pkey_algo(self) -> crate::algo::PkeyAlgo {
        use crate::algo::PkeyAlgo;
        match self {
            KeyAlgo::Rsa(_) => PkeyAlgo::Rsa,
            KeyAlgo::P256 => PkeyAlgo::Ecdsa(Curve::P256),
            KeyAlgo::P384 => PkeyAlgo::Ecdsa(Curve::P384),
            KeyAlgo::MlDsa(l) => PkeyAlgo::MlDsa(l),
        }
    }

    /// The name reports give the algorithm: `RSA-4096`, `P-384`, `ML-DSA-65`.
    pub fn label(self) -> String {
        match self {
            KeyAlgo::Rsa(bits) => format!("RSA-{bits}"),
            KeyAlgo::P256 => "P-256".into(),
            KeyAlgo::P384 => "P-384".into(),
            KeyAlgo::MlDsa(l) => l.name().into(),
        }
    }

    /// The ML-DSA parameter set; `None` for RSA and ECDSA. Certificates with an ML-DSA
    /// subject or issuer are written by hand (rcgen cannot), and ML-DSA signs data, not
    /// digests, so callers branch on this.
    pub fn ml_dsa(self) -> Option<MlDsa> {
        match self {
            KeyAlgo::MlDsa(l) => Some(l),
            _ => None,
        }
    }
}

/// Bytes of an ML-DSA private key in our PKCS#8 form (RFC 9881 seed-only): `SEQUENCE {
/// INTEGER 0, SEQUENCE { id-ml-dsa-NN }, OCTET STRING { [0] IMPLICIT OCTET STRING ξ } }`.
const ML_DSA_PKCS8_LEN: usize = 54;

/// The RFC 9881 seed-only PKCS#8 of an ML-DSA key: the 32-byte seed ξ is the whole key
/// (FIPS 204 KeyGen_internal expands it), so this is what a seeded corpus stores and what
/// [`ml_dsa_seed`] reads back.
pub fn ml_dsa_pkcs8(level: MlDsa, xi: &[u8; 32]) -> Vec<u8> {
    use super::der;
    der::seq(&[
        &der::small_int(0),
        &der::alg(level.oid()),
        &der::tlv(0x04, &der::tlv(0x80, xi)),
    ])
}

/// The seed ξ of an ML-DSA key in the [`ml_dsa_pkcs8`] form for `level`; `None` for any
/// other bytes (another parameter set, the expanded or both forms, which we never write).
pub fn ml_dsa_seed(level: MlDsa, pkcs8: &[u8]) -> Option<[u8; 32]> {
    if pkcs8.len() != ML_DSA_PKCS8_LEN {
        return None;
    }
    let (head, xi) = pkcs8.split_at(ML_DSA_PKCS8_LEN - 32);
    let want = ml_dsa_pkcs8(level, &[0; 32]);
    (head == &want[..ML_DSA_PKCS8_LEN - 32]).then(|| {
        let mut s = [0u8; 32];
        s.copy_from_slice(xi);
        s
    })
}

/// A ChaCha20 stream derived from the corpus seed and a label.
pub fn rng(seed: u64, label: &str) -> ChaCha20Rng {
    let mut material = seed.to_le_bytes().to_vec();
    material.extend_from_slice(label.as_bytes());
    // SHA-256 of the material is the ChaCha20 seed (both 32 bytes).
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &material);
    let mut s = [0u8; 32];
    for (to, from) in s.iter_mut().zip(d.as_ref()) {
        *to = *from;
    }
    ChaCha20Rng::from_seed(s)
}

/// Generates a PKCS#8 private key deterministically. `label` names the key in errors.
pub fn generate_pkcs8(algo: KeyAlgo, seed: u64, label: &str) -> Result<Vec<u8>, Error> {
    let err = |message: String| Error::Input {
        path: label.into(),
        message,
    };
    let mut r = rng(seed, label);
    match algo {
        KeyAlgo::Rsa(bits) => {
            use rsa::pkcs8::EncodePrivateKey;
            let k = rsa::RsaPrivateKey::new(&mut r, bits as usize)
                .map_err(|e| err(format!("RSA keygen: {e}")))?;
            Ok(k.to_pkcs8_der()
                .map_err(|e| err(format!("RSA PKCS#8: {e}")))?
                .as_bytes()
                .to_vec())
        }
        KeyAlgo::P256 => {
            use p256::pkcs8::EncodePrivateKey;
            let k = p256::SecretKey::random(&mut r);
            Ok(k.to_pkcs8_der()
                .map_err(|e| err(format!("P-256 PKCS#8: {e}")))?
                .as_bytes()
                .to_vec())
        }
        KeyAlgo::P384 => {
            use p384::pkcs8::EncodePrivateKey;
            let k = p384::SecretKey::random(&mut r);
            Ok(k.to_pkcs8_der()
                .map_err(|e| err(format!("P-384 PKCS#8: {e}")))?
                .as_bytes()
                .to_vec())
        }
        KeyAlgo::MlDsa(level) => {
            use rand_core::RngCore;
            let mut xi = [0u8; 32];
            r.fill_bytes(&mut xi);
            Ok(ml_dsa_pkcs8(level, &xi))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_names_say_why() {
        for k in [
            KeyAlgo::Rsa(2048),
            KeyAlgo::Rsa(4096),
            KeyAlgo::P256,
            KeyAlgo::P384,
        ] {
            assert_eq!(k.to_string().parse::<KeyAlgo>(), Ok(k));
        }
        assert_eq!("ecdsa-p384".parse::<KeyAlgo>(), Ok(KeyAlgo::P384));
        assert_eq!("rsa-3072".parse::<KeyAlgo>(), Ok(KeyAlgo::Rsa(3072)));
        for l in MlDsa::ALL {
            let k = KeyAlgo::MlDsa(l);
            assert_eq!(k.to_string().parse::<KeyAlgo>(), Ok(k));
            assert_eq!(l.kernel_name().parse::<KeyAlgo>(), Ok(k));
        }
        assert_eq!(KeyAlgo::MlDsa(MlDsa::L65).to_string(), "ml-dsa-65");
        assert!("ml-dsa-66".parse::<KeyAlgo>().is_err());
        let e = "dsa1024".parse::<KeyAlgo>().unwrap_err();
        assert!(e.to_string().contains("'dsa1024'"), "{e}");
        let e = "rsa512".parse::<KeyAlgo>().unwrap_err();
        assert!(e.to_string().contains("512"), "{e}");
    }

    #[test]
    fn ml_dsa_keys_are_seed_only_pkcs8_and_reproducible() {
        let a = generate_pkcs8(KeyAlgo::MlDsa(MlDsa::L44), 3, "k").unwrap();
        assert_eq!(
            a,
            generate_pkcs8(KeyAlgo::MlDsa(MlDsa::L44), 3, "k").unwrap()
        );
        assert_ne!(
            a,
            generate_pkcs8(KeyAlgo::MlDsa(MlDsa::L44), 4, "k").unwrap()
        );
        assert_eq!(a.len(), ML_DSA_PKCS8_LEN);
        let xi = ml_dsa_seed(MlDsa::L44, &a).unwrap();
        assert_eq!(ml_dsa_pkcs8(MlDsa::L44, &xi), a);
        // The parameter set is part of the key: a 44 key is not read as a 65 one.
        assert_eq!(ml_dsa_seed(MlDsa::L65, &a), None);
        assert_eq!(ml_dsa_seed(MlDsa::L44, &a[1..]), None);
        // The OID inside is the parameter set's.
        assert!(a
            .windows(crate::oid::ML_DSA_44.len())
            .any(|w| w == crate::oid::ML_DSA_44));
    }

    #[test]
    fn the_stream_is_seeded_by_sha256_of_seed_and_label() {
        use rand_core::RngCore;
        let mut material = 5u64.to_le_bytes().to_vec();
        material.extend_from_slice(b"key/x");
        let d = crate::hash::HashAlgo::Sha256.digest(&material).unwrap();
        let mut seed = [0u8; 32];
        seed.copy_from_slice(d.as_bytes());
        let (mut a, mut b) = (rng(5, "key/x"), ChaCha20Rng::from_seed(seed));
        assert_eq!(a.next_u64(), b.next_u64());
    }
}
