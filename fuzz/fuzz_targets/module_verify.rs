#![no_main]
//! Whole-module verification against the (empty) builtin keyring: never panics, and
//! nothing can ever verify as valid since no key is loaded.
use libfuzzer_sys::fuzz_target;
use trustbench::trust::Store;
use trustbench::verify::module::verify_module;
use trustbench::verify::VerdictClass;

fuzz_target!(|data: &[u8]| {
    // Linux 7.2's rules: ML-DSA signerInfos are parsed too (6.18 refuses them early).
    let store = Store::new(
        trustbench::trust::KernelConfig {
            kernel: trustbench::kernel_profile::KernelProfile::V7_2,
            ..Default::default()
        },
        trustbench::crypto::CryptoProfile::full(),
        trustbench::crypto::default_backend(),
    );
    let v = verify_module(&store, data, store.system().builtin);
    assert_ne!(
        v.class,
        VerdictClass::Valid,
        "verified against an empty keyring: {v:?}"
    );
});
