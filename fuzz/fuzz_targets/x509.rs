#![no_main]
//! X.509 certificate parsing through the store (kernel ids, flags, key preparation).
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use trustbench::trust::Store;

fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        // Linux 7.2's rules: the parsers know ML-DSA too (6.18 refuses it early).
        Store::new(
            trustbench::trust::KernelConfig {
                kernel: trustbench::kernel_profile::KernelProfile::V7_2,
                ..Default::default()
            },
            trustbench::crypto::CryptoProfile::full(),
            trustbench::crypto::default_backend(),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = store().parse_cert(data);
});
