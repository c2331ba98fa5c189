//! The live kernel: keyctl syscalls ([`keyctl`]), used as an oracle and later as a crypto
//! backend, and keyctl-like scripts ([`replay`]) run against the model and, side by side,
//! against the kernel. Everything that talks to this machine's kernel keyrings lives here.

pub mod keyctl;
pub mod replay;

pub use keyctl::*;
