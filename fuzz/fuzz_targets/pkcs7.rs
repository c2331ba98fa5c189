#![no_main]
//! PKCS#7 SignedData parser, plus full iteration of signerInfos and certificates.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = trustbench::formats::pkcs7::Pkcs7::parse(
        data,
        &trustbench::kernel_profile::KernelProfile::V7_2.rules(),
    ) {
        for s in msg.signers() {
            let _ = s;
        }
        for c in msg.certificates() {
            let _ = c.len();
        }
    }
});
