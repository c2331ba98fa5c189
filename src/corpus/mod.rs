//! Deterministic signed corpora: a key hierarchy admitted through the real gatekeepers,
//! modules signed as sign-file does, files signed as evmctl does, bad items of every class,
//! and a manifest of expected verdicts.

pub mod bad;
pub mod der;
pub mod gen;
pub mod keys;
pub mod manifest;
pub mod pki;
pub mod sign;
pub mod spec;
