//! # trustbench
//!
//! Verifies Linux kernel module signatures and IMA signatures against layered keyrings with
//! the kernel's own semantics, and measures the hot paths.
//!
//! The model in one page:
//! - [`trust`]: keys come from X.509 certificates and carry the kernel's three ids, the
//!   certificate's own signature with its authority ids, and its CA / keyCertSign /
//!   digitalSignature flags. Trust is not a property of a key but of being linked into a
//!   keyring whose gatekeeper ([`trust::Restriction`]) accepted it. The standard set is
//!   builtin, secondary (which links builtin and machine), machine, platform, ima and
//!   blacklist, each with the kernel's default gatekeeper. Every change bumps an epoch.
//! - [`formats`]: the appended module signature, PKCS#7 SignedData and IMA
//!   `signature_v2_hdr`, parsed zero-copy with the kernel's errnos.
//! - [`crypto`]: the kernel's `public_key_verify_signature` rules over a pluggable
//!   [`crypto::Backend`] (aws-lc-rs by default; ring, RustCrypto, OpenSSL and the live
//!   kernel as features, [`crypto::backends`]) that parses each key once.
//! - [`verify`]: module → PKCS#7 trust against the secondary keyring; IMA → 32-bit keyid
//!   lookup in `.ima`. Each item gets one [`verify::Verdict`] with the kernel's errno.
//! - [`kernel`]: the live kernel as an oracle (keyctl syscalls), and [`kernel::replay`]:
//!   keyctl-like scripts run against the model and, side by side, against the kernel.
//! - [`engine`]: items → verdicts across cores, the per-item pipeline
//!   (probe, open, read, judge, remember) with an epoch-tagged verdict cache.
//! - [`measure`]: [`measure::bench`], one measured run (link-time phase, same-run ceiling,
//!   passes, manifest check, scaling) → a report, exported one format per file.
//! - [`corpus`]: the deterministic generator (feature `generator`) and the manifest.
//!
//! Layers point one way, `measure → engine → verify → {trust, formats, crypto}`, over a
//! ground floor ([`errno`], [`error`], [`asn1`], [`oid`], [`algo`], [`hash`], [`timing`]);
//! `tests/architecture.rs` checks it from the source.

pub mod algo;
pub mod asn1;
pub mod corpus;
pub mod crypto;
pub mod engine;
pub mod errno;
pub mod error;
pub mod formats;
pub mod hash;
pub mod kernel;
pub mod kernel_profile;
pub mod measure;
pub mod oid;
pub mod timing;
pub mod trust;
pub mod verify;

pub use errno::{Errno, KResult};
pub use error::Error;
