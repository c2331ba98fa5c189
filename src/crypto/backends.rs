//! Every crypto backend compiled into this build, by name, with what each can do.
//!
//! | name | library | how it is errno-faithful | unsupported |
//! |---|---|---|---|
//! | `mb` (default with AVX-512 IFMA) | our multi-buffer RSA lanes + aws-lc-rs | RSA e = 65537 in batches of up to eight: the lanes' `s^e mod n` + the kernel's EMSA checks, every reject recomputed by aws-lc; all else aws-lc | as aws-lc |
//! | `aws-lc` (default without IFMA) | aws-lc-rs | raw RSA operation + the kernel's EMSA checks; ECDSA valid/invalid + DER rule; ML-DSA-44/65/87 valid/invalid after the kernel's encoding checks | P-192 |
//! | `ring` | ring | valid/invalid, failures named by the portable path; hashes the message itself | RSA-512, sha224/sha3, sha384 < 2048 bits; P-521; ECDSA other than sha256/sha384; records without a message; ML-DSA |
//! | `rustcrypto` | rsa, p256, p384, ml-dsa | valid/invalid, failures named by the portable path; ML-DSA as aws-lc | P-521; RSA keys the crate refuses (e = 1) |
//! | `openssl` | libcrypto | raw RSA operation + the kernel's EMSA checks; ECDSA valid/invalid + DER rule | P-192; RSA keys OpenSSL refuses; ML-DSA (the `openssl` crate has no ML-DSA binding, and Debian 12's OpenSSL 3.0 has no ML-DSA at all: 3.5 added it) |
//! | `kernel` | this machine's kernel (keyctl) | valid/invalid, failures named by the portable path; the kernel's own errno tested equal | ECDSA; ML-DSA (6.18 has none); keys without a certificate or that the kernel will not load |
//!
//! Each backend's module documents its approach and its unsupported set in full; the
//! kernel's rules that decide without arithmetic are the same for all
//! ([`super::PublicKey::rules`]). The `kernel` backend is listed only when this kernel can
//! give it a private keyring; otherwise [`compiled`] names it with the reason.

pub use super::locked_version;
use super::{aws_lc, Backend, Curve, HashAlgo, PkeyAlgo};
use std::fmt;
use std::sync::Arc;

/// A compiled backend: usable, or not on this machine and why.
pub struct Listing {
    /// The backend's name.
    pub name: &'static str,
    /// The backend, or why it cannot run here.
    pub backend: Result<Arc<dyn Backend>, String>,
}

/// Every backend compiled into this build, in a fixed order (the default first), each
/// usable or with the reason it is not.
pub fn compiled() -> Vec<Listing> {
    let ok = |b: Arc<dyn Backend>| Listing {
        name: b.name(),
        backend: Ok(b),
    };
    // aws-lc and mb, the default first (mb where the CPU has IFMA lanes).
    let mut v = vec![
        ok(Arc::new(aws_lc::AwsLc)),
        ok(Arc::new(super::mb::Mb::from_env())),
    ];
    if super::default_backend().name() == "mb" {
        v.swap(0, 1);
    }
    #[cfg(feature = "ring")]
    v.push(ok(Arc::new(super::ring::Ring)));
    #[cfg(feature = "rustcrypto")]
    v.push(ok(Arc::new(super::rustcrypto::RustCrypto)));
    #[cfg(feature = "openssl")]
    v.push(ok(Arc::new(super::openssl::OpenSsl)));
    #[cfg(feature = "kernel")]
    v.push(Listing {
        name: "kernel",
        backend: super::kernel::KernelBackend::shared().map(|k| k as Arc<dyn Backend>),
    });
    v
}

/// Every usable backend (the `kernel` one only when this kernel can host it).
pub fn all() -> Vec<Arc<dyn Backend>> {
    compiled()
        .into_iter()
        .filter_map(|l| l.backend.ok())
        .collect()
}

/// The names of every compiled backend, usable or not.
pub fn names() -> Vec<&'static str> {
    compiled().into_iter().map(|l| l.name).collect()
}

/// Why [`by_name`] found no backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendError {
    /// No backend of that name is compiled into this build.
    Unknown {
        /// The name asked for.
        name: String,
        /// The names that are compiled in.
        known: Vec<&'static str>,
    },
    /// It is compiled in but cannot run on this machine.
    Unavailable {
        /// Its name.
        name: &'static str,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::Unknown { name, known } => write!(
                f,
                "unknown crypto backend '{name}' (this build has: {})",
                known.join(", ")
            ),
            BackendError::Unavailable { name, reason } => {
                write!(f, "crypto backend '{name}' is unavailable here: {reason}")
            }
        }
    }
}

impl std::error::Error for BackendError {}

/// The compiled backend called `name` (`aws-lc-rs` is accepted for `aws-lc`).
pub fn by_name(name: &str) -> Result<Arc<dyn Backend>, BackendError> {
    let name = if name == "aws-lc-rs" { "aws-lc" } else { name };
    let listing = compiled();
    let known: Vec<&'static str> = listing.iter().map(|l| l.name).collect();
    match listing.into_iter().find(|l| l.name == name) {
        Some(Listing { backend: Ok(b), .. }) => Ok(b),
        Some(Listing {
            name,
            backend: Err(reason),
        }) => Err(BackendError::Unavailable { name, reason }),
        None => Err(BackendError::Unknown {
            name: name.to_string(),
            known,
        }),
    }
}

/// One row of a backend's capabilities: a key algorithm and size with a hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capability {
    /// The key's algorithm (and curve).
    pub algo: PkeyAlgo,
    /// The key size in bits.
    pub bits: usize,
    /// The signature's hash.
    pub hash: HashAlgo,
    /// Whether the backend implements it ([`Backend::supports`]).
    pub supported: bool,
}

/// What a backend can do, for reports and `--backend` listings.
#[derive(Clone, Debug)]
pub struct Capabilities {
    /// The backend's name.
    pub name: &'static str,
    /// Its library and version.
    pub library: String,
    /// Whether it hashes the message itself (its verify figure then includes the digest).
    pub hashes_message: bool,
    /// Every combination the kernel's rules let reach the arithmetic: RSA 512..4096 bits
    /// with each hash the kernel has a DigestInfo for, ECDSA P-256/P-384/P-521 with each
    /// hash the kernel accepts for ECDSA (hashes trustbench can compute only).
    pub rows: Vec<Capability>,
    /// ML-DSA (which takes no hash): each parameter set and whether the backend
    /// implements it ([`Backend::supports_mldsa`]).
    pub mldsa: Vec<(crate::algo::MlDsa, bool)>,
}

/// The key algorithms and sizes the kernel's rules let reach a backend.
pub const KERNEL_KEYS: [(PkeyAlgo, usize); 9] = [
    (PkeyAlgo::Rsa, 512),
    (PkeyAlgo::Rsa, 1024),
    (PkeyAlgo::Rsa, 1536),
    (PkeyAlgo::Rsa, 2048),
    (PkeyAlgo::Rsa, 3072),
    (PkeyAlgo::Rsa, 4096),
    (PkeyAlgo::Ecdsa(Curve::P256), 256),
    (PkeyAlgo::Ecdsa(Curve::P384), 384),
    (PkeyAlgo::Ecdsa(Curve::P521), 521),
];

/// The hashes the kernel's rules let reach a backend for `algo` (and trustbench computes).
pub fn kernel_hashes(algo: PkeyAlgo) -> impl Iterator<Item = HashAlgo> {
    HashAlgo::ALL.into_iter().filter(move |h| {
        h.computable()
            && match algo {
                PkeyAlgo::Rsa => h.digest_info_prefix().is_some(),
                // The kernel's ECDSA takes every hash but md5 (public_key.c refuses it).
                PkeyAlgo::Ecdsa(_) => *h != HashAlgo::Md5,
                // ML-DSA takes the data; no hash reaches the backend.
                PkeyAlgo::MlDsa(_) => false,
            }
    })
}

/// `backend`'s capabilities over [`KERNEL_KEYS`].
pub fn capabilities(backend: &dyn Backend) -> Capabilities {
    let rows = KERNEL_KEYS
        .iter()
        .flat_map(|&(algo, bits)| {
            kernel_hashes(algo).map(move |hash| Capability {
                algo,
                bits,
                hash,
                supported: backend.supports(algo, bits, hash),
            })
        })
        .collect();
    Capabilities {
        name: backend.name(),
        library: backend.library(),
        hashes_message: backend.hashes_message(),
        rows,
        mldsa: crate::algo::MlDsa::ALL
            .iter()
            .map(|&l| (l, backend.supports_mldsa(l)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        let names = names();
        assert_eq!(names[0], crate::crypto::default_backend().name());
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        for b in all() {
            assert_eq!(by_name(b.name()).unwrap().name(), b.name());
        }
        assert!(matches!(
            by_name("nonesuch"),
            Err(BackendError::Unknown { .. })
        ));
        assert_eq!(by_name("aws-lc-rs").unwrap().name(), "aws-lc");
    }

    #[test]
    fn versions_come_from_the_lock_file() {
        assert_ne!(locked_version("aws-lc-rs"), "?");
        assert_eq!(locked_version("no-such-crate"), "?");
        assert!(aws_lc::AwsLc.library().starts_with("aws-lc-rs "));
    }

    #[test]
    fn capabilities_cover_every_kernel_combination() {
        let c = capabilities(&aws_lc::AwsLc);
        assert!(c.rows.iter().all(|r| r.supported));
        // RSA: 6 sizes × 9 hashes (md5 included); ECDSA: 3 curves × 8 hashes.
        assert_eq!(c.rows.len(), 6 * 9 + 3 * 8);
    }
}
