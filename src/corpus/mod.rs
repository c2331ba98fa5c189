//! Deterministic signed corpora: a key hierarchy admitted through the real gatekeepers,
//! modules signed as sign-file does, files signed as evmctl does, bad items of every class,
//! and a manifest of expected verdicts.
//!
//! The generating modules need the `generator` feature (on by default); the manifest and
//! the bad-class names, which checking a corpus needs, are always built.

pub mod bad;
pub mod manifest;

#[cfg(feature = "generator")]
pub mod der;
#[cfg(feature = "generator")]
pub mod gen;
#[cfg(feature = "generator")]
pub mod keys;
#[cfg(feature = "generator")]
pub mod pki;
#[cfg(feature = "generator")]
pub mod sign;
#[cfg(feature = "generator")]
pub mod spec;
