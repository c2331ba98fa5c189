#![no_main]
//! Appended module-signature trailer locator: must never panic on any file.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = trustbench::formats::modsig::locate(data);
});
