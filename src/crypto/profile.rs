//! Which algorithms the emulated kernel has.
//!
//! A kernel built without ECDSA, or without a hash, answers differently (`ENOENT` at verify
//! time, "unsupported signature" at certificate parse time). To compare like for like with a
//! live kernel, the model is told which algorithms exist, either by option or read from
//! `/proc/crypto`.

use super::{Curve, MlDsa};
use crate::error::Error;
use crate::hash::HashAlgo;

/// The set of algorithms the emulated kernel can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CryptoProfile {
    pub rsa: bool,
    curves: u8,
    hashes: u32,
    /// Bit `l as u8`: the ML-DSA parameter set `l` (`CONFIG_CRYPTO_MLDSA` registers all
    /// three; a 6.x kernel has none).
    mldsa: u8,
}

fn mldsa_bit(l: MlDsa) -> u8 {
    1 << (l as u8)
}

fn curve_bit(c: Curve) -> u8 {
    1 << (c as u8)
}

impl Default for CryptoProfile {
    fn default() -> Self {
        CryptoProfile::full()
    }
}

impl CryptoProfile {
    /// Everything trustbench can compute: RSA, ECDSA P-256/P-384/P-521, ML-DSA-44/65/87,
    /// SHA-1, SHA-2, SHA-3.
    pub fn full() -> CryptoProfile {
        let mut p = CryptoProfile {
            rsa: true,
            curves: 0,
            hashes: 0,
            mldsa: 0,
        };
        for l in MlDsa::ALL {
            p.mldsa |= mldsa_bit(l);
        }
        for c in [Curve::P256, Curve::P384, Curve::P521] {
            p.curves |= curve_bit(c);
        }
        for h in HashAlgo::ALL {
            if h.computable() {
                p.hashes |= 1 << h.kernel_id();
            }
        }
        p
    }

    /// Parses `/proc/crypto` text: an algorithm exists if some entry has its `name`.
    /// Hashes that trustbench cannot compute stay absent.
    pub fn from_proc_crypto(text: &str) -> CryptoProfile {
        let names: std::collections::HashSet<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("name"))
            .filter_map(|l| l.split_once(':'))
            .map(|(_, v)| v.trim())
            .collect();
        let full = CryptoProfile::full();
        let mut p = CryptoProfile {
            rsa: names.contains("rsa"),
            curves: 0,
            hashes: 0,
            mldsa: 0,
        };
        for l in MlDsa::ALL {
            if names.contains(l.kernel_name()) {
                p.mldsa |= mldsa_bit(l);
            }
        }
        for c in [Curve::P256, Curve::P384, Curve::P521] {
            if names.contains(c.kernel_name()) && full.has_curve(c) {
                p.curves |= curve_bit(c);
            }
        }
        for h in HashAlgo::ALL {
            if names.contains(h.name()) && full.has_hash(h) {
                p.hashes |= 1 << h.kernel_id();
            }
        }
        p
    }

    /// Reads this machine's `/proc/crypto`.
    pub fn from_running_kernel() -> std::io::Result<CryptoProfile> {
        Ok(CryptoProfile::from_proc_crypto(&std::fs::read_to_string(
            "/proc/crypto",
        )?))
    }

    /// Parses an option value such as `rsa,sha1,sha256,p256` or `full` / `kernel`.
    pub fn parse(spec: &str) -> Result<CryptoProfile, Error> {
        match spec {
            "full" => return Ok(CryptoProfile::full()),
            "kernel" => {
                return CryptoProfile::from_running_kernel()
                    .map_err(|e| Error::io("/proc/crypto", e))
            }
            _ => {}
        }
        let mut p = CryptoProfile {
            rsa: false,
            curves: 0,
            hashes: 0,
            mldsa: 0,
        };
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item {
                "rsa" => p.rsa = true,
                "p256" | "ecdsa-nist-p256" => p.curves |= curve_bit(Curve::P256),
                "p384" | "ecdsa-nist-p384" => p.curves |= curve_bit(Curve::P384),
                "p521" | "ecdsa-nist-p521" => p.curves |= curve_bit(Curve::P521),
                "ecdsa" => {
                    for c in [Curve::P256, Curve::P384, Curve::P521] {
                        p.curves |= curve_bit(c);
                    }
                }
                "mldsa44" => p.mldsa |= mldsa_bit(MlDsa::L44),
                "mldsa65" => p.mldsa |= mldsa_bit(MlDsa::L65),
                "mldsa87" => p.mldsa |= mldsa_bit(MlDsa::L87),
                "mldsa" => {
                    for l in MlDsa::ALL {
                        p.mldsa |= mldsa_bit(l);
                    }
                }
                h => match HashAlgo::from_name(h) {
                    Some(h) if h.computable() => p.hashes |= 1 << h.kernel_id(),
                    Some(h) => {
                        return Err(Error::usage(format!(
                            "--crypto: hash {h} cannot be computed by trustbench"
                        )))
                    }
                    None => return Err(Error::usage(format!("--crypto: unknown algorithm '{h}'"))),
                },
            }
        }
        Ok(p)
    }

    pub fn has_curve(&self, c: Curve) -> bool {
        self.curves & curve_bit(c) != 0
    }

    pub fn has_hash(&self, h: HashAlgo) -> bool {
        self.hashes & (1 << h.kernel_id()) != 0
    }

    /// Whether the emulated kernel has ML-DSA parameter set `l` (a verification without it
    /// fails to allocate its transform: `ENOENT`).
    pub fn has_mldsa(&self, l: MlDsa) -> bool {
        self.mldsa & mldsa_bit(l) != 0
    }

    /// Human-readable list, for reports.
    pub fn describe(&self) -> String {
        let mut v: Vec<&str> = Vec::new();
        if self.rsa {
            v.push("rsa");
        }
        for c in [Curve::P192, Curve::P256, Curve::P384, Curve::P521] {
            if self.has_curve(c) {
                v.push(c.kernel_name());
            }
        }
        for l in MlDsa::ALL {
            if self.has_mldsa(l) {
                v.push(l.kernel_name());
            }
        }
        for h in HashAlgo::ALL {
            if self.has_hash(h) {
                v.push(h.name());
            }
        }
        v.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_crypto_without_ecdsa() {
        let text = "name         : sha256\ndriver       : sha256-generic\n\nname         : rsa\n\nname : sha1\n";
        let p = CryptoProfile::from_proc_crypto(text);
        assert!(p.rsa);
        assert!(p.has_hash(HashAlgo::Sha256) && p.has_hash(HashAlgo::Sha1));
        assert!(!p.has_hash(HashAlgo::Sha512));
        assert!(!p.has_curve(Curve::P256));
        assert!(MlDsa::ALL.iter().all(|&l| !p.has_mldsa(l)));
        let p = CryptoProfile::from_proc_crypto("name : mldsa65\ndriver : mldsa65-lib\n");
        assert!(p.has_mldsa(MlDsa::L65) && !p.has_mldsa(MlDsa::L44));
    }

    #[test]
    fn option_syntax() {
        let p = CryptoProfile::parse("rsa,sha256,p384").unwrap();
        assert!(p.rsa && p.has_curve(Curve::P384) && !p.has_curve(Curve::P256));
        assert!(CryptoProfile::parse("rsa,whirlpool").is_err());
        let p = CryptoProfile::parse("rsa,mldsa87").unwrap();
        assert!(p.has_mldsa(MlDsa::L87) && !p.has_mldsa(MlDsa::L65));
        assert_eq!(CryptoProfile::parse("full").unwrap(), CryptoProfile::full());
    }
}
