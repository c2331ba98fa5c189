//! Records the git commit the crate is built from as `TRUSTBENCH_GIT_COMMIT`, so a run
//! report names the code that produced it wherever the binary is installed and run. Not a
//! git checkout, or no git: the variable is not set and reports say `null`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// Rebuild when `path` (inside the git directory) changes — only if it exists: cargo reruns
/// a build script every time for a path that does not.
fn watch(dir: &Path, git_path: &str) {
    if let Some(p) = git(dir, &["rev-parse", "--git-path", git_path]) {
        let p = dir.join(PathBuf::from(p));
        if p.exists() {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        return;
    };
    // `.git` is a directory in a clone and a file in a worktree.
    if !dir.join(".git").exists() {
        return;
    }
    // HEAD moves on checkout; the branch it names moves on commit.
    watch(&dir, "HEAD");
    if let Some(branch) = git(&dir, &["symbolic-ref", "-q", "HEAD"]) {
        watch(&dir, &branch);
    }
    watch(&dir, "packed-refs");
    if let Some(commit) = git(&dir, &["rev-parse", "HEAD"]) {
        if matches!(commit.len(), 40 | 64) && commit.bytes().all(|b| b.is_ascii_hexdigit()) {
            println!("cargo:rustc-env=TRUSTBENCH_GIT_COMMIT={commit}");
        }
    }
}
