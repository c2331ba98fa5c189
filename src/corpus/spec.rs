//! Corpus specifications (TOML). Every field has a default, so a spec names only what it
//! changes; `corpora/default.toml` documents each field.

use super::keys::KeyAlgo;
use crate::hash::HashAlgo;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A whole corpus: key hierarchy, modules, files, bad-item rates.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub name: String,
    #[serde(default = "d_seed")]
    pub seed: u64,
    #[serde(default)]
    pub keys: KeysSpec,
    #[serde(default)]
    pub modules: ModulesSpec,
    #[serde(default)]
    pub files: FilesSpec,
    #[serde(default)]
    pub bad: BadSpec,
}

fn d_seed() -> u64 {
    1
}

/// The key hierarchy: builtin root → secondary CA, machine (MOK) CA → signing keys.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysSpec {
    /// Built-in root CA (loaded as a compiled-in certificate).
    pub root: KeyAlgo,
    /// Intermediate CA admitted into the secondary keyring by the root.
    pub secondary_ca: KeyAlgo,
    /// Machine-owner (MOK) CA loaded into `.machine`.
    pub machine_ca: KeyAlgo,
    /// Module-signing keys, one leaf certificate each.
    pub module_signers: Vec<KeyAlgo>,
    /// IMA-signing keys, one leaf certificate each, admitted into `.ima` by the root.
    pub ima_signers: Vec<KeyAlgo>,
    /// Extra `.ima` certificates (link-time load), signed by the root; their keys come from
    /// a pool of `extra_key_pool` keys of `extra_key_algo` (each certificate has its own
    /// SKID and serial).
    pub ima_extra_certs: usize,
    pub extra_key_pool: usize,
    pub extra_key_algo: KeyAlgo,
}

impl Default for KeysSpec {
    fn default() -> Self {
        KeysSpec {
            root: KeyAlgo::Rsa(4096),
            secondary_ca: KeyAlgo::Rsa(3072),
            machine_ca: KeyAlgo::Rsa(2048),
            module_signers: vec![KeyAlgo::Rsa(2048), KeyAlgo::Rsa(4096), KeyAlgo::P384],
            ima_signers: vec![KeyAlgo::Rsa(2048), KeyAlgo::P256],
            ima_extra_certs: 0,
            extra_key_pool: 4,
            extra_key_algo: KeyAlgo::Rsa(2048),
        }
    }
}

/// Kernel modules.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModulesSpec {
    pub count: usize,
    /// `debian-6.1` / `debian-6.12` (sample the measured size of every module of those
    /// Debian kernels, corpora/sizes/), or `fixed:BYTES`.
    pub sizes: String,
    /// Sizes above this are clamped (keeps default corpora small on disk).
    pub max_size: u64,
    /// Hash weights, e.g. `{ sha256 = 90, sha512 = 10 }`.
    pub hashes: BTreeMap<String, u32>,
    /// Percentage of modules signed with a SKID signer id (sign-file `-k`).
    pub skid_percent: u32,
    /// Which CA issued the signing key: weights over `root`, `secondary`, `machine`.
    pub issuers: BTreeMap<String, u32>,
}

impl Default for ModulesSpec {
    fn default() -> Self {
        ModulesSpec {
            count: 1000,
            sizes: "debian-6.1".into(),
            max_size: 4 << 20,
            hashes: [("sha256".to_string(), 90), ("sha512".to_string(), 10)].into(),
            skid_percent: 10,
            issuers: [
                ("root".to_string(), 50),
                ("secondary".to_string(), 40),
                ("machine".to_string(), 10),
            ]
            .into(),
        }
    }
}

/// IMA-appraised files.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesSpec {
    pub count: usize,
    /// `fixed:BYTES` or `debian-6.1`-style size samples.
    pub sizes: String,
    pub max_size: u64,
    pub hashes: BTreeMap<String, u32>,
    /// Also set `security.ima` where the filesystem allows it (the `.sig` sidecar is
    /// always written).
    pub xattr: bool,
}

impl Default for FilesSpec {
    fn default() -> Self {
        FilesSpec {
            count: 1000,
            sizes: "fixed:4096".into(),
            max_size: 4 << 20,
            hashes: [("sha256".to_string(), 90), ("sha512".to_string(), 10)].into(),
            xattr: false,
        }
    }
}

/// Bad items: a share of all items, spread evenly over the listed classes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BadSpec {
    pub percent: f64,
    /// Classes to use (default: all). See [`super::bad::BadClass`].
    pub classes: Vec<String>,
}

impl Default for BadSpec {
    fn default() -> Self {
        BadSpec {
            percent: 3.0,
            classes: Vec::new(),
        }
    }
}

impl Spec {
    /// Parses and validates a TOML spec.
    pub fn parse(text: &str) -> Result<Spec, String> {
        let s: Spec = toml::from_str(text).map_err(|e| format!("spec: {e}"))?;
        s.validate()?;
        Ok(s)
    }

    fn validate(&self) -> Result<(), String> {
        for (what, w) in [
            ("modules.hashes", &self.modules.hashes),
            ("files.hashes", &self.files.hashes),
        ] {
            weighted_hashes(w).map_err(|e| format!("{what}: {e}"))?;
        }
        for k in self.modules.issuers.keys() {
            if !matches!(k.as_str(), "root" | "secondary" | "machine") {
                return Err(format!("modules.issuers: unknown issuer '{k}'"));
            }
        }
        if self.modules.issuers.values().all(|w| *w == 0) {
            return Err(
                "modules.issuers: at least one of root, secondary, machine needs a positive weight"
                    .into(),
            );
        }
        if self.keys.module_signers.is_empty() || self.keys.ima_signers.is_empty() {
            return Err("keys: module_signers and ima_signers need at least one key".into());
        }
        if !(0.0..=100.0).contains(&self.bad.percent) {
            return Err("bad.percent must be within 0..=100".into());
        }
        for c in &self.bad.classes {
            super::bad::BadClass::from_name(c)?;
        }
        Ok(())
    }
}

/// Hash weights as algorithms; RSA signing supports sha256/384/512.
pub fn weighted_hashes(w: &BTreeMap<String, u32>) -> Result<Vec<(HashAlgo, u32)>, String> {
    let mut v = Vec::new();
    for (name, weight) in w {
        let h = HashAlgo::from_name(name).ok_or_else(|| format!("unknown hash '{name}'"))?;
        if !matches!(h, HashAlgo::Sha256 | HashAlgo::Sha384 | HashAlgo::Sha512) {
            return Err(format!(
                "hash '{name}' not supported for signing (sha256/384/512)"
            ));
        }
        v.push((h, *weight));
    }
    if v.iter().all(|(_, w)| *w == 0) {
        return Err("all weights are zero".into());
    }
    Ok(v)
}

/// Picks from weighted choices with a uniform `u` in [0, 1).
pub fn pick<T: Copy>(choices: &[(T, u32)], u: f64) -> T {
    let total: u32 = choices.iter().map(|c| c.1).sum();
    let mut x = u * total as f64;
    for (t, w) in choices {
        if x < *w as f64 {
            return *t;
        }
        x -= *w as f64;
    }
    choices
        .iter()
        .rev()
        .find(|c| c.1 > 0)
        .map(|c| c.0)
        .unwrap_or(choices[0].0)
}

/// A size distribution.
#[derive(Clone, Debug)]
pub enum Sizes {
    Fixed(u64),
    Samples(Vec<u64>),
}

const DEBIAN_61: &str = include_str!("../../corpora/sizes/debian-6.1.txt");
const DEBIAN_612: &str = include_str!("../../corpora/sizes/debian-6.12.txt");

impl Sizes {
    pub fn parse(s: &str, max: u64) -> Result<Sizes, String> {
        let table = match s {
            "debian-6.1" => DEBIAN_61,
            "debian-6.12" => DEBIAN_612,
            _ => {
                let n = s
                    .strip_prefix("fixed:")
                    .and_then(|n| n.parse::<u64>().ok())
                    .ok_or_else(|| {
                        format!("sizes '{s}': use debian-6.1, debian-6.12 or fixed:BYTES")
                    })?;
                return Ok(Sizes::Fixed(n.min(max)));
            }
        };
        Ok(Sizes::Samples(
            table
                .lines()
                .filter_map(|l| l.trim().parse::<u64>().ok())
                .map(|n| n.min(max))
                .collect(),
        ))
    }

    pub fn sample(&self, u: f64) -> u64 {
        match self {
            Sizes::Fixed(n) => *n,
            Sizes::Samples(v) => v[((u * v.len() as f64) as usize).min(v.len() - 1)],
        }
    }
}
