//! Deterministic key generation: the same seed and label always give the same key, so a
//! corpus is reproducible byte for byte (ECDSA signatures excepted: they are randomised).

use crate::crypto::Curve;
use crate::hash::HashAlgo;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A key algorithm a spec can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum KeyAlgo {
    Rsa(u32),
    P256,
    P384,
}

impl FromStr for KeyAlgo {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "p256" | "ecdsa-p256" => Ok(KeyAlgo::P256),
            "p384" | "ecdsa-p384" => Ok(KeyAlgo::P384),
            _ => {
                let bits = s
                    .strip_prefix("rsa")
                    .and_then(|b| b.trim_start_matches('-').parse::<u32>().ok())
                    .ok_or_else(|| {
                        format!(
                            "unknown key algorithm '{s}' (rsa2048, rsa3072, rsa4096, p256, p384)"
                        )
                    })?;
                if !(1024..=8192).contains(&bits) || bits % 8 != 0 {
                    return Err(format!("RSA size {bits} out of range 1024..=8192"));
                }
                Ok(KeyAlgo::Rsa(bits))
            }
        }
    }
}

impl TryFrom<String> for KeyAlgo {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
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
        }
    }
}

impl KeyAlgo {
    pub fn curve(self) -> Option<Curve> {
        match self {
            KeyAlgo::Rsa(_) => None,
            KeyAlgo::P256 => Some(Curve::P256),
            KeyAlgo::P384 => Some(Curve::P384),
        }
    }
}

/// A ChaCha20 stream derived from the corpus seed and a label.
pub fn rng(seed: u64, label: &str) -> ChaCha20Rng {
    let mut material = seed.to_le_bytes().to_vec();
    material.extend_from_slice(label.as_bytes());
    let d = HashAlgo::Sha256
        .digest(&material)
        .expect("sha256 is always available");
    let mut s = [0u8; 32];
    s.copy_from_slice(d.as_bytes());
    ChaCha20Rng::from_seed(s)
}

/// Generates a PKCS#8 private key deterministically.
pub fn generate_pkcs8(algo: KeyAlgo, seed: u64, label: &str) -> Result<Vec<u8>, String> {
    let mut r = rng(seed, label);
    match algo {
        KeyAlgo::Rsa(bits) => {
            use rsa::pkcs8::EncodePrivateKey;
            let k = rsa::RsaPrivateKey::new(&mut r, bits as usize)
                .map_err(|e| format!("RSA keygen: {e}"))?;
            Ok(k.to_pkcs8_der()
                .map_err(|e| format!("RSA PKCS#8: {e}"))?
                .as_bytes()
                .to_vec())
        }
        KeyAlgo::P256 => {
            use p256::pkcs8::EncodePrivateKey;
            let k = p256::SecretKey::random(&mut r);
            Ok(k.to_pkcs8_der()
                .map_err(|e| format!("P-256 PKCS#8: {e}"))?
                .as_bytes()
                .to_vec())
        }
        KeyAlgo::P384 => {
            use p384::pkcs8::EncodePrivateKey;
            let k = p384::SecretKey::random(&mut r);
            Ok(k.to_pkcs8_der()
                .map_err(|e| format!("P-384 PKCS#8: {e}"))?
                .as_bytes()
                .to_vec())
        }
    }
}
