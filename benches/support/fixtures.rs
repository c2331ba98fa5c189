//! The benches' shared fixtures: the files made by the real tools in `corpora/fixtures`
//! (openssl certificates, modules signed by sign-file, files signed by evmctl) and a store
//! that trusts the fixture signers as built-in keys.
//!
//! Why shared: the criterion benches (`hot_paths`) and the instruction-count benches
//! (`instructions`) measure the same operations on the same inputs, so a figure of one can
//! be read beside the other; one setup keeps them from drifting apart. Included with
//! `#[path = "support/fixtures.rs"] mod fixtures;` (each bench is its own crate).

#![allow(dead_code)] // Each bench uses a part.

use std::path::PathBuf;
use std::sync::Arc;
use trustbench::crypto::{Backend, CryptoProfile};
use trustbench::trust::store::{AddMode, Store};

/// The certificates a fixture store trusts: every fixture signer and the CA.
pub const TRUSTED: [&str; 5] = [
    "signer-rsa2048.der",
    "signer-rsa4096.der",
    "signer-p256.der",
    "signer-p384.der",
    "ca-rsa.der",
];

/// `corpora/fixtures/NAME`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpora/fixtures")
        .join(name)
}

/// The bytes of `corpora/fixtures/NAME`.
pub fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A store on `backend` trusting [`TRUSTED`] as built-in keys (and in `.ima`, as the
/// module-signing certificate is copied there).
pub fn store_with(backend: Arc<dyn Backend>) -> Store {
    let mut s = Store::new(Default::default(), CryptoProfile::full(), backend);
    let sys = s.system();
    for c in TRUSTED {
        let der = read(c);
        s.add_cert(sys.builtin, &der, AddMode::Bypass)
            .expect("builtin");
        s.add_cert(sys.ima, &der, AddMode::Bypass).expect("ima");
    }
    s
}

/// [`store_with`] the default backend.
pub fn store() -> Store {
    store_with(trustbench::crypto::default_backend())
}
