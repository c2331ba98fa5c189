#![no_main]
//! IMA security.ima xattr classifier and signature_v2_hdr parser.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = trustbench::formats::imasig::classify(data);
    let _ = trustbench::formats::imasig::parse(data);
});
