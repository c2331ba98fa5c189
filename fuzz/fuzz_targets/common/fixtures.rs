//! The real-tool fixtures of `corpora/fixtures` (openssl, sign-file, evmctl) shared by the
//! verify-pipeline targets, compiled into the binaries (`include_bytes!`, paths relative to
//! this file) so a target runs from any directory.
#![allow(dead_code)]

use std::sync::Arc;

use trustbench::crypto::{Backend, CryptoProfile};
use trustbench::kernel_profile::KernelProfile;
use trustbench::trust::store::{AddMode, Store};
use trustbench::trust::KernelConfig;

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../../corpora/fixtures/", $name)) as &[u8],
        )
    };
}

/// The signer certificates every store trusts: loaded as built-in keys (modules) and
/// into `.ima` (IMA), as `corpora/fixtures/expected.tsv`'s trust sets do.
pub const TRUSTED: [(&str, &[u8]); 4] = [
    fixture!("signer-rsa2048.der"),
    fixture!("signer-rsa4096.der"),
    fixture!("signer-p256.der"),
    fixture!("signer-p384.der"),
];

/// Certificates that are not trusted: the CA (not a signer), the rogue and the
/// self-signed build key.
pub const UNTRUSTED: [(&str, &[u8]); 3] = [
    fixture!("ca-rsa.der"),
    fixture!("rogue-rsa2048.der"),
    fixture!("selfsigned-rsa2048.der"),
];

/// sign-file modules and whether they verify against [`TRUSTED`] (expected.tsv).
pub const MODULES: [(&str, &[u8], bool); 9] = {
    const fn m(
        f: (&'static str, &'static [u8]),
        valid: bool,
    ) -> (&'static str, &'static [u8], bool) {
        (f.0, f.1, valid)
    }
    [
        m(fixture!("mod-rsa2048-sha256.ko"), true),
        m(fixture!("mod-rsa2048-sha384.ko"), true),
        m(fixture!("mod-rsa2048-sha512.ko"), true),
        m(fixture!("mod-rsa2048-sha256-skid.ko"), true),
        m(fixture!("mod-rsa4096-sha256.ko"), true),
        m(fixture!("mod-p256-sha256.ko"), true),
        m(fixture!("mod-p384-sha384.ko"), true),
        m(fixture!("mod-selfsigned-sha256.ko"), false),
        m(fixture!("mod-unknown-signer.ko"), false),
    ]
};

/// evmctl IMA files (content, security.ima value) and whether they verify against
/// [`TRUSTED`] in `.ima`.
pub const IMA: [(&str, &[u8], &[u8], bool); 5] = [
    ima(
        "ima-rsa2048-sha256",
        include_bytes!("../../../corpora/fixtures/ima-rsa2048-sha256.bin"),
        include_bytes!("../../../corpora/fixtures/ima-rsa2048-sha256.bin.sig"),
        true,
    ),
    ima(
        "ima-rsa2048-sha512",
        include_bytes!("../../../corpora/fixtures/ima-rsa2048-sha512.bin"),
        include_bytes!("../../../corpora/fixtures/ima-rsa2048-sha512.bin.sig"),
        true,
    ),
    ima(
        "ima-p256-sha256",
        include_bytes!("../../../corpora/fixtures/ima-p256-sha256.bin"),
        include_bytes!("../../../corpora/fixtures/ima-p256-sha256.bin.sig"),
        true,
    ),
    ima(
        "ima-p384-sha384",
        include_bytes!("../../../corpora/fixtures/ima-p384-sha384.bin"),
        include_bytes!("../../../corpora/fixtures/ima-p384-sha384.bin.sig"),
        true,
    ),
    ima(
        "ima-unknown-key",
        include_bytes!("../../../corpora/fixtures/ima-unknown-key.bin"),
        include_bytes!("../../../corpora/fixtures/ima-unknown-key.bin.sig"),
        false,
    ),
];

const fn ima(
    name: &'static str,
    content: &'static [u8],
    sig: &'static [u8],
    valid: bool,
) -> (&'static str, &'static [u8], &'static [u8], bool) {
    (name, content, sig, valid)
}

/// A store of `kernel`'s rules on `backend` (full crypto profile, the default Kconfig:
/// secondary and machine keyrings) whose built-in keyring and `.ima` hold [`TRUSTED`].
pub fn store(kernel: KernelProfile, backend: Arc<dyn Backend>) -> Store {
    let mut s = Store::new(
        KernelConfig {
            kernel,
            ..Default::default()
        },
        CryptoProfile::full(),
        backend,
    );
    let sys = s.system();
    for (name, der) in TRUSTED {
        s.add_cert(sys.builtin, der, AddMode::Bypass)
            .unwrap_or_else(|e| panic!("{name} into the builtin keyring: {e:?}"));
        s.add_cert(sys.ima, der, AddMode::Bypass)
            .unwrap_or_else(|e| panic!("{name} into .ima: {e:?}"));
    }
    s
}
