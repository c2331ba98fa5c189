#![no_main]
//! Replay script parser (pure text parsing; paths are only joined, never opened).
use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = trustbench::kernel::replay::parse(text, Path::new("."));
    }
});
