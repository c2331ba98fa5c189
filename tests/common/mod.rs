//! Shared helpers for the integration tests (`mod common;` in each test file).
//!
//! Each test binary only uses a subset, hence the `dead_code` allowances.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

/// True when running under CI (`CI=true`): missing tools are then a hard failure
/// instead of a skipped test.
pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| v.eq_ignore_ascii_case("true") || v == "1")
        .unwrap_or(false)
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(p) {
        Ok(m) => m.is_file() && m.permissions().mode() & 0o111 != 0,
        Err(_) => false,
    }
}

fn lookup(name_or_path: &OsStr) -> Option<PathBuf> {
    let p = Path::new(name_or_path);
    if p.components().count() > 1 || p.is_absolute() {
        return is_executable(p).then(|| p.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(p))
        .find(|c| is_executable(c))
}

/// Called when a tool is missing: panics under CI, otherwise prints a loud SKIP banner.
fn missing(what: &str, hint: &str) {
    skip_or_fail(
        &format!("required tool `{what}` was not found"),
        &format!("hint: {hint}"),
    );
}

/// Something a test needs is missing (a tool, a privilege, filesystem support): under
/// `CI=true` the test fails, otherwise it prints a loud SKIP banner naming the test and the
/// caller returns early.
pub fn skip_or_fail(what: &str, why: &str) {
    let caller = std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_string();
    if in_ci() {
        panic!("{what} and CI=true, refusing to skip {caller}.\n{why}");
    }
    eprintln!(
        "\n\
         ************************************************************\n\
         ***  SKIP  {caller}\n\
         ***  {what}.\n\
         ***  {why}\n\
         ***  (set CI=true to turn this skip into a failure)\n\
         ************************************************************\n"
    );
}

/// Sets `security.ima` on `path` (needs root and a filesystem with security xattrs).
pub fn set_security_ima(path: &Path, value: &[u8]) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let p = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: valid NUL-terminated strings and a buffer of the stated length.
    let r = unsafe {
        libc::setxattr(
            p.as_ptr(),
            c"security.ima".as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Copies the tree `src` to `dst`.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

/// Find a tool by name (searched in `PATH`) or by path.
///
/// Missing: with `CI=true` this panics; otherwise it prints a SKIP banner to stderr and
/// returns `None`, and the caller should return early.
pub fn require_tool(name_or_path: impl AsRef<OsStr>) -> Option<PathBuf> {
    let name = name_or_path.as_ref();
    match lookup(name) {
        Some(p) => Some(p),
        None => {
            missing(
                &name.to_string_lossy(),
                "CI installs it via apt: openssl, ima-evm-utils (evmctl), keyutils (keyctl)",
            );
            None
        }
    }
}

/// The kernel's `scripts/sign-file`: `$SIGN_FILE` if set, else the newest
/// `/usr/lib/linux-kbuild-*/scripts/sign-file`. Missing → same policy as [`require_tool`].
pub fn sign_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SIGN_FILE").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if is_executable(&p) {
            return Some(p);
        }
        missing(
            &p.display().to_string(),
            "$SIGN_FILE points at a file that is not an executable",
        );
        return None;
    }
    let mut found: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let ver = name.strip_prefix("linux-kbuild-")?.to_string();
            let p = e.path().join("scripts/sign-file");
            is_executable(&p).then(|| (version_key(&ver), p))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, p)) => Some(p),
        None => {
            missing(
                "/usr/lib/linux-kbuild-*/scripts/sign-file",
                "apt-get install linux-kbuild-6.1 (or any linux-kbuild-*), or set SIGN_FILE",
            );
            None
        }
    }
}

/// "6.1" → [6, 1]; "6.10.3" → [6, 10, 3] (numeric, so 6.10 sorts after 6.9).
fn version_key(v: &str) -> Vec<u64> {
    v.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or(0))
        .collect()
}

/// `trustbench` binary built by cargo for this test run.
pub fn trustbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trustbench"))
}

/// `<crate>/corpora/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpora/fixtures")
}

/// Output of a finished command, stdout/stderr decoded lossily.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Exit code, or -1 when killed by a signal.
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }
}

/// Human-readable rendering of a command line for assertion messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains([' ', '\'', '"']) {
            s.push_str(&format!("{a:?}"));
        } else {
            s.push_str(&a);
        }
    }
    s
}

/// Run `cmd` to completion (stdin closed) and return (status, stdout, stderr).
/// Panics only if the process cannot be started.
pub fn run(cmd: &mut Command) -> (ExitStatus, String, String) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{}`: {e}", describe(cmd)));
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Like [`run`] but returns an [`Output`].
pub fn run_output(cmd: &mut Command) -> Output {
    let (status, stdout, stderr) = run(cmd);
    Output {
        status,
        stdout,
        stderr,
    }
}

/// Run `cmd` and panic with its full output unless it exits 0; returns stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let (status, stdout, stderr) = run(cmd);
    assert!(
        status.success(),
        "`{}` failed with {status}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        describe(cmd)
    );
    stdout
}

/// Parse JSON Lines (one JSON value per non-blank line). Panics on a bad line.
pub fn parse_json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| {
                panic!("not a JSON object line ({e}): {l:?}\nwhole output:\n{s}")
            })
        })
        .collect()
}
