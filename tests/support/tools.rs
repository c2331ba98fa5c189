//! Whether an external tool runs here, for the tests that skip (or, under `CI=true`, fail)
//! without it. Included with `#[path = "support/tools.rs"] mod tools;`.

use std::process::{Command, Stdio};

/// Whether `prog args…` runs and exits 0 (output discarded).
pub fn tool_works(prog: &str, args: &[&str]) -> bool {
    Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
