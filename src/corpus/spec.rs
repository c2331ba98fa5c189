//! Corpus specifications (TOML). Every field has a default, so a spec names only what it
//! changes; `corpora/default.toml` documents each field.

use super::bad::BadClass;
use super::keys::KeyAlgo;
use crate::error::Error;
use crate::hash::HashAlgo;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// A whole corpus: key hierarchy, modules, files, bad-item rates.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The corpus name (the cache directory is NAME-SPECHASH).
    pub name: String,
    /// Seeds every key, size, hash and class choice: same spec and seed, same corpus.
    #[serde(default = "d_seed")]
    pub seed: u64,
    /// The key hierarchy.
    #[serde(default)]
    pub keys: KeysSpec,
    /// The kernel modules.
    #[serde(default)]
    pub modules: ModulesSpec,
    /// The IMA-appraised files.
    #[serde(default)]
    pub files: FilesSpec,
    /// The bad items.
    #[serde(default)]
    pub bad: BadSpec,
    /// The hostile items: the nastiest inputs the formats allow, by family. Not recorded
    /// in `spec.toml` when empty (every count 0), so other specs hash and record as before.
    #[serde(default, skip_serializing_if = "HostileSpec::is_empty")]
    pub hostile: HostileSpec,
}

/// Hostile items per family (`corpora/hostile.toml` documents each). Every count is how
/// many items of that family's every variant are written (variants differ in the byte
/// that makes them hostile); 0 leaves the family out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostileSpec {
    /// `sig_len` outside the file (4 variants).
    pub sig_len: usize,
    /// `sig_len` 0.
    pub sig_len_zero: usize,
    /// Only a trailer (2 variants).
    pub trailer_only: usize,
    /// Zero-length module and IMA files (3 variants).
    pub empty: usize,
    /// Indefinite-length nesting inside the PKCS#7 (2 variants).
    pub deep_nesting: usize,
    /// How deep `deep_nesting` nests (levels of `30 80`).
    pub nesting_depth: usize,
    /// DER of 64 KiB and more, and long-form lengths (3 variants).
    pub huge_der: usize,
    /// Hundreds of signerInfos (2 variants).
    pub many_signers: usize,
    /// How many signerInfos precede the real one in `many_signers`.
    pub signers: usize,
    /// Many embedded certificates (2 variants).
    pub many_certs: usize,
    /// A certificate nested in a certificate.
    pub nested_cert: usize,
    /// Every malformed IMA header shape (one item per shape per count).
    pub ima_header: usize,
    /// Tiny (one-byte) signed IMA files: the count itself (the "millions of files"
    /// knob).
    pub tiny_files: usize,
    /// Write the hostile keyring lines (restriction cycles, link cycles, nesting past the
    /// kernel's depth, oversized certificates) into `keyring.script`.
    pub keyrings: bool,
}

impl HostileSpec {
    /// Whether the spec asks for no hostile item at all.
    pub fn is_empty(&self) -> bool {
        *self == HostileSpec::default()
    }
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
    /// How many keys the extra certificates share (at least one is made).
    pub extra_key_pool: usize,
    /// The algorithm of the extra certificates' keys.
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
    /// How many modules.
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
    /// Percentage (0..=100) of ML-DSA-signed modules whose signature carries signed
    /// attributes (contentType, messageDigest), as sign-file 7.0 writes it when built
    /// against OpenSSL 3.x; the rest have none (OpenSSL >= 4). Modules signed by RSA/ECDSA
    /// keys are not affected. Not recorded in `spec.toml` when 0, so older specs hash and
    /// record as before.
    #[serde(skip_serializing_if = "is_zero")]
    pub mldsa_authattrs_percent: u32,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

fn is_v2(v: &u8) -> bool {
    *v == 2
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
            mldsa_authattrs_percent: 0,
        }
    }
}

/// IMA-appraised files.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesSpec {
    /// How many files.
    pub count: usize,
    /// `fixed:BYTES` or `debian-6.1`-style size samples.
    pub sizes: String,
    /// Sizes above this are clamped.
    pub max_size: u64,
    /// Hash weights, as for modules.
    pub hashes: BTreeMap<String, u32>,
    /// Also set `security.ima` where the filesystem allows it (the `.sig` sidecar is
    /// always written).
    pub xattr: bool,
    /// The IMA signature format: 2 (signs the file digest; RSA/ECDSA only in the kernel, an
    /// ML-DSA signer gives the kernel's `ENOPKG` negative case) or 3 (signs `ima_file_id`:
    /// hashed for RSA/ECDSA, Linux 7.1+; directly for ML-DSA, 7.2+). Not recorded in
    /// `spec.toml` when 2.
    #[serde(skip_serializing_if = "is_v2")]
    pub ima_version: u8,
}

impl Default for FilesSpec {
    fn default() -> Self {
        FilesSpec {
            count: 1000,
            sizes: "fixed:4096".into(),
            max_size: 4 << 20,
            hashes: [("sha256".to_string(), 90), ("sha512".to_string(), 10)].into(),
            xattr: false,
            ima_version: 2,
        }
    }
}

/// Bad items: a share of all items, spread evenly over the listed classes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BadSpec {
    /// Share of all items that are bad, in percent (0..=100).
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

/// What generating a corpus needs from its spec, derived and checked once by
/// [`Spec::plan`], so generation itself meets no spec error.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Module size distribution (`modules.sizes`, clamped to `modules.max_size`).
    pub module_sizes: Sizes,
    /// File size distribution (`files.sizes`, clamped to `files.max_size`).
    pub file_sizes: Sizes,
    /// Module hash weights (`modules.hashes`).
    pub module_hashes: Vec<(HashAlgo, u32)>,
    /// File hash weights (`files.hashes`).
    pub file_hashes: Vec<(HashAlgo, u32)>,
    /// The bad classes modules draw from (`bad.classes` that apply to modules).
    pub module_classes: Vec<BadClass>,
    /// The bad classes files draw from (`bad.classes` that apply to files).
    pub file_classes: Vec<BadClass>,
}

impl Spec {
    /// Parses and validates a TOML spec. `origin` names the spec in errors (its file, or
    /// where the text came from): every failure is an [`Error::Spec`] with that path.
    pub fn parse(text: &str, origin: impl AsRef<Path>) -> Result<Spec, Error> {
        let origin = origin.as_ref();
        let s: Spec = toml::from_str(text).map_err(|e| spec_error(origin, e.to_string()))?;
        s.plan(origin)?;
        Ok(s)
    }

    /// Checks everything the TOML grammar cannot (hash names, issuers, key lists, the bad
    /// share and classes, size distributions) and derives what generation needs. The first
    /// problem is an [`Error::Spec`] naming `origin` and the field.
    pub fn plan(&self, origin: &Path) -> Result<Plan, Error> {
        let err = |message: String| spec_error(origin, message);
        let module_hashes = hash_weights(&self.modules.hashes, "modules.hashes", origin)?;
        let file_hashes = hash_weights(&self.files.hashes, "files.hashes", origin)?;
        for k in self.modules.issuers.keys() {
            if !matches!(k.as_str(), "root" | "secondary" | "machine") {
                return Err(err(format!("modules.issuers: unknown issuer '{k}'")));
            }
        }
        if self.modules.issuers.values().all(|w| *w == 0) {
            return Err(err(
                "modules.issuers: at least one of root, secondary, machine needs a positive weight"
                    .into(),
            ));
        }
        if self.keys.module_signers.is_empty() || self.keys.ima_signers.is_empty() {
            return Err(err(
                "keys: module_signers and ima_signers need at least one key".into(),
            ));
        }
        if self.modules.mldsa_authattrs_percent > 100 {
            return Err(err(
                "modules.mldsa_authattrs_percent must be within 0..=100".into(),
            ));
        }
        if !matches!(self.files.ima_version, 2 | 3) {
            return Err(err(format!(
                "files.ima_version: {} (use 2 or 3)",
                self.files.ima_version
            )));
        }
        if !(0.0..=100.0).contains(&self.bad.percent) {
            return Err(err("bad.percent must be within 0..=100".into()));
        }
        let classes: Vec<BadClass> = if self.bad.classes.is_empty() {
            BadClass::ALL.to_vec()
        } else {
            self.bad
                .classes
                .iter()
                .map(|c| match BadClass::from_name(c) {
                    Some(h) if h.is_hostile() => Err(err(format!(
                        "bad.classes: '{c}' is a hostile family: set its count in [hostile]"
                    ))),
                    Some(class) => Ok(class),
                    None => Err(err(format!("bad.classes: unknown bad class '{c}'"))),
                })
                .collect::<Result<_, _>>()?
        };
        let sizes = |field: &str, s: &str, max: u64| {
            Sizes::parse(s, max).ok_or_else(|| {
                err(format!(
                    "{field}: '{s}': use debian-6.1, debian-6.12 or fixed:BYTES"
                ))
            })
        };
        Ok(Plan {
            module_sizes: sizes("modules.sizes", &self.modules.sizes, self.modules.max_size)?,
            file_sizes: sizes("files.sizes", &self.files.sizes, self.files.max_size)?,
            module_hashes,
            file_hashes,
            module_classes: classes
                .iter()
                .copied()
                .filter(|c| c.for_modules())
                .collect(),
            file_classes: classes.into_iter().filter(|c| c.for_files()).collect(),
        })
    }
}

impl Spec {
    /// The same corpus signed with `algo` throughout: every key of the hierarchy (root,
    /// secondary and machine CAs, each module and IMA signer, the extra `.ima`
    /// certificates' pool) becomes `algo`, and the corpus is named `NAME-ALGO`
    /// (`pq-migration-ml-dsa-65`). Everything else, the seed included, is kept, so the
    /// corpora `trustbench pq` compares have the same modules and files (sizes, hashes,
    /// signer choice, bad classes, order); only keys, certificates and signatures differ.
    /// The bad-class keys (unknown, revoked, blacklisted, colliding signers) stay RSA.
    pub fn signed_with(&self, algo: KeyAlgo) -> Spec {
        let mut s = self.clone();
        s.name = format!("{}-{algo}", self.name);
        let k = &mut s.keys;
        k.root = algo;
        k.secondary_ca = algo;
        k.machine_ca = algo;
        k.module_signers.iter_mut().for_each(|a| *a = algo);
        k.ima_signers.iter_mut().for_each(|a| *a = algo);
        k.extra_key_algo = algo;
        s
    }

    /// Whether the manifest records each item's [`super::manifest::Form`]: when any key of
    /// the hierarchy is ML-DSA or files are signed in the v3 format, since those verdicts
    /// depend on the kernel version. Other corpora keep the five-column manifest they
    /// always had.
    pub fn records_forms(&self) -> bool {
        let k = &self.keys;
        let ml_dsa = [k.root, k.secondary_ca, k.machine_ca, k.extra_key_algo]
            .iter()
            .chain(&k.module_signers)
            .chain(&k.ima_signers)
            .any(|a| a.ml_dsa().is_some());
        ml_dsa || self.files.ima_version == 3
    }
}

fn spec_error(origin: &Path, message: String) -> Error {
    Error::Spec {
        path: origin.to_path_buf(),
        message,
    }
}

/// Hash weights as algorithms (`field` of the spec at `origin`); RSA signing supports
/// sha256/384/512.
fn hash_weights(
    w: &BTreeMap<String, u32>,
    field: &str,
    origin: &Path,
) -> Result<Vec<(HashAlgo, u32)>, Error> {
    let err = |message: String| spec_error(origin, format!("{field}: {message}"));
    let mut v = Vec::new();
    for (name, weight) in w {
        let h = HashAlgo::from_name(name).ok_or_else(|| err(format!("unknown hash '{name}'")))?;
        if !matches!(h, HashAlgo::Sha256 | HashAlgo::Sha384 | HashAlgo::Sha512) {
            return Err(err(format!(
                "hash '{name}' not supported for signing (sha256/384/512)"
            )));
        }
        v.push((h, *weight));
    }
    if v.iter().all(|(_, w)| *w == 0) {
        return Err(err("all weights are zero".into()));
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
    /// Every item this size.
    Fixed(u64),
    /// Sizes drawn uniformly from these samples (never empty).
    Samples(Vec<u64>),
}

const DEBIAN_61: &str = include_str!("../../corpora/sizes/debian-6.1.txt");
const DEBIAN_612: &str = include_str!("../../corpora/sizes/debian-6.12.txt");

impl Sizes {
    /// A spec's `sizes` value (`debian-6.1`, `debian-6.12` or `fixed:BYTES`), every size
    /// clamped to `max`; `None` for anything else.
    pub fn parse(s: &str, max: u64) -> Option<Sizes> {
        let table = match s {
            "debian-6.1" => DEBIAN_61,
            "debian-6.12" => DEBIAN_612,
            _ => {
                let n = s.strip_prefix("fixed:")?.parse::<u64>().ok()?;
                return Some(Sizes::Fixed(n.min(max)));
            }
        };
        Some(Sizes::Samples(
            table
                .lines()
                .filter_map(|l| l.trim().parse::<u64>().ok())
                .map(|n| n.min(max))
                .collect(),
        ))
    }

    /// The size for a uniform `u` in [0, 1).
    pub fn sample(&self, u: f64) -> u64 {
        match self {
            Sizes::Fixed(n) => *n,
            Sizes::Samples(v) => v[((u * v.len() as f64) as usize).min(v.len() - 1)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "dir/s.toml";

    fn problem(edit: &str) -> String {
        let text = format!("name = \"t\"\n{edit}");
        match Spec::parse(&text, ORIGIN) {
            Err(e @ Error::Spec { .. }) => {
                let m = e.to_string();
                assert!(m.starts_with("dir/s.toml: "), "{m}");
                m
            }
            other => panic!("{edit}: want a spec error, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_spec_and_the_field() {
        for (edit, want) in [
            ("colour = 1", "colour"),
            (
                "[modules]\nhashes = { whirl = 1 }",
                "modules.hashes: unknown hash 'whirl'",
            ),
            (
                "[files]\nhashes = { sha1 = 1 }",
                "files.hashes: hash 'sha1' not supported",
            ),
            (
                "[files]\nhashes = { sha256 = 0 }",
                "files.hashes: all weights are zero",
            ),
            (
                "[modules]\nissuers = { mok = 1 }",
                "modules.issuers: unknown issuer 'mok'",
            ),
            ("[modules]\nissuers = {}", "modules.issuers: at least one"),
            (
                "[keys]\nima_signers = []",
                "keys: module_signers and ima_signers",
            ),
            (
                "[keys]\nroot = \"dsa1024\"",
                "unknown key algorithm 'dsa1024'",
            ),
            ("[bad]\npercent = 101", "bad.percent must be within 0..=100"),
            (
                "[modules]\nmldsa_authattrs_percent = 101",
                "modules.mldsa_authattrs_percent must be within 0..=100",
            ),
            (
                "[files]\nima_version = 1",
                "files.ima_version: 1 (use 2 or 3)",
            ),
            (
                "[bad]\nclasses = [\"gremlins\"]",
                "bad.classes: unknown bad class 'gremlins'",
            ),
            (
                "[modules]\nsizes = \"huge\"",
                "modules.sizes: 'huge': use debian-6.1",
            ),
            (
                "[files]\nsizes = \"fixed:x\"",
                "files.sizes: 'fixed:x': use debian-6.1",
            ),
        ] {
            let m = problem(edit);
            assert!(m.contains(want), "{edit}: {m}");
        }
    }

    #[test]
    fn signed_with_replaces_every_hierarchy_key_and_names_the_corpus() {
        use crate::algo::MlDsa;
        let s = Spec::parse("name = \"pq\"\n[keys]\nima_extra_certs = 2", ORIGIN).unwrap();
        let m = KeyAlgo::MlDsa(MlDsa::L65);
        let t = s.signed_with(m);
        assert_eq!(t.name, "pq-ml-dsa-65");
        let k = &t.keys;
        for a in [k.root, k.secondary_ca, k.machine_ca, k.extra_key_algo] {
            assert_eq!(a, m);
        }
        assert_eq!(k.module_signers, vec![m; s.keys.module_signers.len()]);
        assert_eq!(k.ima_signers, vec![m; s.keys.ima_signers.len()]);
        assert_eq!((t.seed, k.ima_extra_certs), (s.seed, 2));
        assert!(t.records_forms() && !s.records_forms());
        assert!(!s.signed_with(KeyAlgo::P384).records_forms());
        // The new fields stay out of spec.toml at their defaults, and round-trip otherwise.
        let text = toml::to_string(&s).unwrap();
        assert!(!text.contains("ima_version") && !text.contains("mldsa_authattrs"));
        let mut v = t.clone();
        v.files.ima_version = 3;
        v.modules.mldsa_authattrs_percent = 40;
        let back = Spec::parse(&toml::to_string(&v).unwrap(), ORIGIN).unwrap();
        assert_eq!(back.files.ima_version, 3);
        assert_eq!(back.modules.mldsa_authattrs_percent, 40);
        assert!(back.records_forms());
    }

    #[test]
    fn the_plan_is_what_generation_uses() {
        let s = Spec::parse(
            "name = \"t\"\n[bad]\nclasses = [\"bad-magic\", \"keyid-collision\"]",
            ORIGIN,
        )
        .unwrap();
        let p = s.plan(Path::new(ORIGIN)).unwrap();
        assert_eq!(p.module_classes, [BadClass::BadMagic]);
        assert_eq!(p.file_classes, [BadClass::KeyidCollision]);
        assert_eq!(
            p.module_hashes,
            [(HashAlgo::Sha256, 90), (HashAlgo::Sha512, 10)]
        );
        assert!(matches!(p.file_sizes, Sizes::Fixed(4096)));
        // The built-in size tables are never empty, so sampling always has a value.
        for t in ["debian-6.1", "debian-6.12"] {
            match Sizes::parse(t, u64::MAX) {
                Some(Sizes::Samples(v)) => assert!(v.len() > 100, "{t}"),
                other => panic!("{t}: {other:?}"),
            }
        }
    }
}
