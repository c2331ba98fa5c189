//! Which kernel's behaviour the model follows: Linux 6.18 (this machine's kernel, the
//! default) or 7.2 (ML-DSA modules, certificates and IMA; SHA-256 `tbs:` hashes; IMA v3 for
//! regular files). Every rule that differs between them is one field of [`Rules`], and the
//! fields are set in one table ([`KernelProfile::rules`]), so a reader finds every
//! difference here and nowhere else; the parsers and verifiers ask for the field they need.
//!
//! Sources: `../shared/docs/kernel-mldsa.md` (the 7.0/7.1/7.2 merges it cites) and
//! `kernel-trust-model.md` (6.17/6.18). A profile is recorded in every result.

use std::fmt;
use std::str::FromStr;

/// A kernel release whose rules the model knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KernelVersion {
    /// Linux 6.18: RSA and ECDSA only; IMA v3 only for fs-verity.
    V6_18,
    /// Linux 7.2: ML-DSA (FIPS 204) for modules and X.509 (7.0) and IMA/EVM v3 (7.2).
    V7_2,
}

/// How the `tbs:` blacklist hash of a certificate is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TbsHash {
    /// With the certificate's own signature hash (6.x); a certificate whose hash the
    /// kernel lacks gets no blacklist check at all.
    SignatureHash,
    /// SHA-256 of the TBSCertificate for every certificate (7.0, "behaviour change").
    Sha256,
}

/// The rules that differ between kernels: one field per difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// The X.509 and PKCS#7 parsers know the ML-DSA OIDs and `public_key` verifies
    /// ML-DSA (7.0). Without it an ML-DSA key or signature is an unknown algorithm
    /// (`ENOPKG`).
    pub mldsa: bool,
    /// How the `tbs:` blacklist hash is made.
    pub tbs_hash: TbsHash,
    /// IMA signature format v3 for regular-file xattrs (type 3) and EVM portable
    /// signatures (7.1); before, v3 is fs-verity only and type 3 with version 3 is
    /// "invalid-signature-version" (`EINVAL`).
    pub ima_v3_regular: bool,
    /// ML-DSA keys in IMA/EVM, through v3 only (7.2); a v2 signature meeting an ML-DSA key
    /// finds no encoding (`ENOPKG`).
    pub ima_mldsa: bool,
    /// Modules signed with SHA-1 still load: 7.0 removed SHA-1 *signing* (sign-file,
    /// `MODULE_SIG_SHA1`) but kept verification. True for every known kernel; a field so
    /// that a test pins it.
    pub sha1_modules: bool,
}

/// The emulated kernel: a release and the Kconfig choices that change verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KernelProfile {
    /// The release.
    pub version: KernelVersion,
    /// `CONFIG_PKCS7_WAIVE_AUTHATTRS_REJECTION_FOR_MLDSA` (7.0+, default off): a module
    /// signature with signed attributes is accepted when its *first* signerInfo is ML-DSA
    /// (sign-file built against OpenSSL 3.x cannot sign ML-DSA without them).
    pub waive_mldsa_authattrs: bool,
}

impl Default for KernelProfile {
    /// 6.18, this machine's kernel: what the live-kernel comparisons check against.
    fn default() -> Self {
        KernelProfile::V6_18
    }
}

impl KernelProfile {
    /// Linux 6.18.
    pub const V6_18: KernelProfile = KernelProfile {
        version: KernelVersion::V6_18,
        waive_mldsa_authattrs: false,
    };
    /// Linux 7.2 with the default Kconfig (no signed-attributes waiver).
    pub const V7_2: KernelProfile = KernelProfile {
        version: KernelVersion::V7_2,
        waive_mldsa_authattrs: false,
    };
    /// The names [`FromStr`] takes, for `--help` and errors.
    pub const NAMES: &'static str = "6.18, 7.2, 7.2+waiver";

    /// The table: every difference between the kernels, in one place.
    pub fn rules(self) -> Rules {
        match self.version {
            KernelVersion::V6_18 => Rules {
                mldsa: false,
                tbs_hash: TbsHash::SignatureHash,
                ima_v3_regular: false,
                ima_mldsa: false,
                sha1_modules: true,
            },
            KernelVersion::V7_2 => Rules {
                mldsa: true,
                tbs_hash: TbsHash::Sha256,
                ima_v3_regular: true,
                ima_mldsa: true,
                sha1_modules: true,
            },
        }
    }
}

impl fmt::Display for KernelProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.version {
            KernelVersion::V6_18 => "6.18",
            KernelVersion::V7_2 => "7.2",
        })?;
        if self.waive_mldsa_authattrs {
            f.write_str("+waiver")?;
        }
        Ok(())
    }
}

/// Why a string names no profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownProfile(pub String);

impl fmt::Display for UnknownProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown kernel profile '{}' (known: {})",
            self.0,
            KernelProfile::NAMES
        )
    }
}

impl std::error::Error for UnknownProfile {}

impl FromStr for KernelProfile {
    type Err = UnknownProfile;

    /// `6.18`, `7.2`, or `7.2+waiver` (the ML-DSA signed-attributes waiver, which needs a
    /// kernel with ML-DSA).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (base, waiver) = match s.strip_suffix("+waiver") {
            Some(b) => (b, true),
            None => (s, false),
        };
        let version = match base {
            "6.18" => KernelVersion::V6_18,
            "7.2" => KernelVersion::V7_2,
            _ => return Err(UnknownProfile(s.into())),
        };
        let p = KernelProfile {
            version,
            waive_mldsa_authattrs: waiver,
        };
        if waiver && !p.rules().mldsa {
            return Err(UnknownProfile(s.into()));
        }
        Ok(p)
    }
}

impl serde::Serialize for KernelProfile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for KernelProfile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_waiver_needs_mldsa() {
        for name in ["6.18", "7.2", "7.2+waiver"] {
            let p: KernelProfile = name.parse().unwrap();
            assert_eq!(p.to_string(), name);
        }
        assert!("6.18+waiver".parse::<KernelProfile>().is_err());
        assert!("7.0".parse::<KernelProfile>().is_err());
        assert_eq!(KernelProfile::default(), KernelProfile::V6_18);
    }

    #[test]
    fn the_table_says_what_changed() {
        let (old, new) = (KernelProfile::V6_18.rules(), KernelProfile::V7_2.rules());
        assert!(!old.mldsa && new.mldsa);
        assert_eq!(old.tbs_hash, TbsHash::SignatureHash);
        assert_eq!(new.tbs_hash, TbsHash::Sha256);
        assert!(!old.ima_v3_regular && new.ima_v3_regular);
        assert!(old.sha1_modules && new.sha1_modules);
    }
}
