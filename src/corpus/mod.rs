//! Deterministic signed corpora: a key hierarchy admitted through the real gatekeepers,
//! modules signed as sign-file does, files signed as evmctl does, bad items of every class,
//! and a manifest of expected verdicts.
//!
//! The generating modules need the `generator` feature (on by default); the manifest and
//! the bad-class names, which checking a corpus needs, are always built.
//!
//! Every failure is a [`crate::Error`]: `Io` for files that cannot be written, `Spec` for
//! specs (naming the spec), `Manifest` for manifest rows, `Input` for keys, certificates
//! and signatures the crypto libraries fail to make (naming what was being made).

// Every public item says why it exists.
#![warn(missing_docs)]

pub mod bad;
pub mod manifest;

#[cfg(feature = "generator")]
pub mod der;
#[cfg(feature = "generator")]
pub mod gen;
#[cfg(feature = "generator")]
pub mod hostile;
#[cfg(feature = "generator")]
pub mod keys;
#[cfg(feature = "generator")]
pub mod pki;
#[cfg(feature = "generator")]
pub mod sign;
#[cfg(feature = "generator")]
pub mod spec;
