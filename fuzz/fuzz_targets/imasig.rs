#![no_main]
//! IMA security.ima values: the type classifier, the signature_v2_hdr parser, the hash
//! label (type 1/4) layout and `ima_get_hash_algo`, none of which may panic on any bytes,
//! under every kernel profile's rules.
use libfuzzer_sys::fuzz_target;
use trustbench::kernel_profile::KernelProfile;

fuzz_target!(|data: &[u8]| {
    let _ = trustbench::formats::imasig::classify(data);
    let _ = trustbench::formats::imasig::parse_hash(data);
    for profile in [KernelProfile::V6_18, KernelProfile::V7_2] {
        let rules = profile.rules();
        let _ = trustbench::formats::imasig::parse(data, &rules);
        let _ = trustbench::verify::ima::ima_get_hash_algo(Some(data), &rules);
    }
});
