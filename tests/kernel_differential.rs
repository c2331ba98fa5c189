//! Differential test: trustbench's keyring model vs the live kernel.
//!
//! `kernel_differential` generates ~410 certificate hierarchies + `trustbench keyring replay`
//! scripts (families in `build_cases`: chains with every AKID layout and anchor form, hash and
//! signature algorithms, key sizes, CA bits, AKID mismatches, unknown issuers, self-signed and
//! self-issued certificates, link/unlink/clear/revoke, set-once, cycles, reject/builtin
//! restrictions, input formats, damaged signatures, `key_or_keyring:0`, nested keyrings, ECDSA on
//! a kernel without ecdsa, and a seeded random family; round two in support/diff_round_two.rs:
//! chains of depth 3-5 under every anchor, restrictions naming restricted keyrings, revoke /
//! unlink / clear / invalidate of anchors and intermediates after links, possession (EACCES),
//! longer restriction cycles, the same certificate added twice, and unusual encodings: serials,
//! long names, validity times at the edges, RSA sizes parsed but refused), plus the committed scripts in
//! `corpora/differential/`, and requires that for every script line the model's verdict equals
//! the kernel's (`trustbench keyring replay --kernel --json`).
//!
//! Ground truth is checked four ways:
//! 1. the model's verdict vs the kernel's in the CLI's output (and the CLI's `agree` field and
//!    exit status must say the same) — the differential proper;
//! 2. an independent kernel oracle in this file: every script is also translated to plain
//!    `keyctl` commands and run in a private `keyctl session -`; the CLI's `kernel_result` must
//!    equal what keyctl saw (guards against a broken kernel driver in the CLI);
//! 3. each generated line carries the verdict the kernel is expected to give (derived from the
//!    kernel's rules and confirmed on Linux 6.18; `*` or a set where the outcome depends on
//!    random key material or kernel configuration); the keyctl oracle must match it (guards
//!    against the generator silently producing certificates that do not exercise what a family
//!    claims to; committed corpus scripts are checked against their `# kernel:` comments);
//! 4. the model run alone (`replay --crypto kernel --json`, no kernel) must give the same
//!    verdicts as the model column of the `--kernel` run.
//!
//! `pkey_verify_matches_kernel` compares `trustbench keyring pkey-verify` with
//! `keyctl pkey_verify` for RSA-1024..4096 and sha1/sha224/sha256/sha384/sha512/sha3 (valid,
//! corrupted, truncated, wrong DigestInfo, wrong data, wrong hash parameter, and a crafted short
//! signature that keyctl accepts because it zero-fills short signatures).
//!
//! Requirements: a kernel with keyrings (`keyctl session - true` works), `keyctl` (keyutils)
//! and `openssl` (3.x). Otherwise the tests skip loudly — except with `CI=true`, where a missing
//! tool is a failure. Runtime: about 30 s on 2 cores (2 worker threads).
//!
//! Useful environment variables:
//! * `TRUSTBENCH_DIFF_SEED=<u64>`: seed of the randomized family (default fixed);
//! * `TRUSTBENCH_DIFF_KEEP=1`: keep the generated work directory (it is also kept on failure);
//! * `TRUSTBENCH_DIFF_FILTER=<substring>`: only run generated cases whose name contains it (the
//!   ≥200 assertion is then skipped).
//!
//! `cargo test --test kernel_differential -- --ignored generator_expectations` checks only the
//! generator against the kernel (no trustbench CLI needed);
//! `cargo test --test kernel_differential -- --ignored regenerate_corpus` rewrites
//! `corpora/differential/` (new keys; kernel verdicts recorded from the live kernel).
//!
//! Kernel facts the scripts avoid on purpose: a key that lost its last link is garbage-collected
//! asynchronously (referring to it later is racy: ENOKEY vs the "real" answer), and two keys
//! matching the same AKID/DN lookup would make the verdict depend on the kernel's
//! associative-array iteration order.

#[path = "support/certgen.rs"]
mod certgen;
#[path = "support/diff_round_two.rs"]
mod round_two;

use certgen::{
    Akid, AuthRef, Bc, Cert, CertGen, CertSpec, Corrupt, Hash, KeyAlg, Ku, SigAlg, Signer,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

// =============================================================================================
// Skip helper
// =============================================================================================

#[path = "support/tools.rs"]
mod tools;
use tools::tool_works;

/// True when the environment can run the kernel tests. Prints a loud banner and returns false
/// when it cannot; panics instead when `CI=true`.
fn environment_ready(test: &str) -> bool {
    let mut missing = Vec::new();
    if !tool_works("openssl", &["version"]) {
        missing.push("the `openssl` CLI");
    }
    if !tool_works("keyctl", &["--version"]) {
        missing.push("`keyctl` (keyutils)");
    } else if !tool_works("keyctl", &["session", "-", "true"]) {
        missing.push("kernel keyrings (`keyctl session - true` failed)");
    }
    if missing.is_empty() {
        return true;
    }
    let msg = format!("{test}: cannot run, missing {}", missing.join(", "));
    if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
        panic!("{msg} (CI=true: missing tools are a failure, not a skip)");
    }
    eprintln!("\n**********************************************************************");
    eprintln!("SKIPPED {msg}");
    eprintln!("**********************************************************************\n");
    false
}

// =============================================================================================
// Cases
// =============================================================================================

/// Verdict of one line: "ok" or an errno name.
type Verdict = String;

/// A script line with the kernel verdict it is expected to get. `None` = any.
#[derive(Clone, Debug)]
struct Step {
    cmd: String,
    expect: Option<Vec<String>>,
}

#[derive(Clone, Debug)]
struct Case {
    name: String,
    family: &'static str,
    steps: Vec<Step>,
    /// file name inside the case directory -> source path
    files: BTreeMap<String, PathBuf>,
    /// Free-form comment lines written at the top of the script.
    notes: Vec<String>,
}

/// The usual outcomes of a signature that does not verify with the key that was found: the
/// RSA public operation on a wrong/damaged signature yields a random block, and the kernel
/// reports EINVAL (no leading zero byte / value out of range), EBADMSG (bad padding) or
/// EKEYREJECTED (digest mismatch) depending on the bytes.
const BADSIG: &str = "EINVAL|EBADMSG|EKEYREJECTED";

impl Case {
    fn new(family: &'static str, name: impl Into<String>) -> Case {
        Case {
            name: format!("{family}/{}", name.into()),
            family,
            steps: vec![],
            files: BTreeMap::new(),
            notes: vec![],
        }
    }

    fn note(&mut self, s: impl Into<String>) -> &mut Self {
        self.notes.push(s.into());
        self
    }

    fn register(&mut self, preferred: String, alt: String, path: &Path) -> String {
        for name in [preferred, alt] {
            match self.files.get(&name) {
                Some(p) if p == path => return name,
                Some(_) => continue,
                None => {
                    self.files.insert(name.clone(), path.to_path_buf());
                    return name;
                }
            }
        }
        panic!("{}: file name clash for {}", self.name, path.display());
    }

    /// Registers a certificate's DER and returns its file name within the case.
    fn der(&mut self, c: &Cert) -> String {
        self.register(
            format!("{}.der", certgen::sanitize(&c.cn)),
            format!("{}.der", c.stem),
            &c.der_path,
        )
    }

    fn pem(&mut self, c: &Cert) -> String {
        self.register(
            format!("{}.pem", certgen::sanitize(&c.cn)),
            format!("{}.pem", c.stem),
            &c.pem_path,
        )
    }

    fn raw(&mut self, name: &str, path: &Path) -> String {
        self.register(
            name.to_string(),
            format!("{}-{}", self.files.len(), name),
            path,
        )
    }

    fn step(&mut self, cmd: String, expect: &str) -> &mut Self {
        let expect = if expect == "*" {
            None
        } else {
            Some(expect.split('|').map(|s| s.trim().to_string()).collect())
        };
        self.steps.push(Step { cmd, expect });
        self
    }

    fn newring(&mut self, n: &str) -> &mut Self {
        self.step(format!("newring {n}"), "ok")
    }
    fn load(&mut self, k: &str, ring: &str, c: &Cert) -> &mut Self {
        let f = self.der(c);
        self.step(format!("load {k} {ring} {f}"), "ok")
    }
    fn add(&mut self, k: &str, ring: &str, c: &Cert, ex: &str) -> &mut Self {
        let f = self.der(c);
        self.step(format!("add {k} {ring} {f}"), ex)
    }
    fn add_file(&mut self, k: &str, ring: &str, f: &str, ex: &str) -> &mut Self {
        self.step(format!("add {k} {ring} {f}"), ex)
    }
    fn restrict(&mut self, ring: &str, r: &str, ex: &str) -> &mut Self {
        self.step(format!("restrict {ring} {r}"), ex)
    }
    fn link(&mut self, r: &str, ring: &str, ex: &str) -> &mut Self {
        self.step(format!("link {r} {ring}"), ex)
    }
    fn unlink(&mut self, k: &str, ring: &str, ex: &str) -> &mut Self {
        self.step(format!("unlink {k} {ring}"), ex)
    }
    fn clear(&mut self, ring: &str, ex: &str) -> &mut Self {
        self.step(format!("clear {ring}"), ex)
    }
    fn revoke(&mut self, k: &str, ex: &str) -> &mut Self {
        self.step(format!("revoke {k}"), ex)
    }

    /// Script text plus, for every step, its 1-based line number.
    fn render(&self, kernel_verdicts: Option<&[Option<Verdict>]>) -> (String, Vec<usize>) {
        let mut s = String::new();
        let mut line = 0usize;
        let mut push = |s: &mut String, t: &str| {
            s.push_str(t);
            s.push('\n');
            line += 1;
            line
        };
        push(&mut s, &format!("# case: {}", self.name));
        for n in &self.notes {
            push(&mut s, &format!("# {n}"));
        }
        let mut lines = Vec::new();
        for (i, st) in self.steps.iter().enumerate() {
            if let Some(kv) = kernel_verdicts {
                let v = kv[i].clone().unwrap_or_else(|| "skipped".into());
                push(&mut s, &format!("# kernel: {v}"));
            } else if let Some(e) = &st.expect {
                push(&mut s, &format!("# expect: {}", e.join("|")));
            }
            lines.push(push(&mut s, &st.cmd));
        }
        (s, lines)
    }

    /// Materializes the case: files hard-linked (or copied) next to `case.script`.
    fn write(&self, dir: &Path) -> PathBuf {
        fs::create_dir_all(dir).unwrap();
        for (name, src) in &self.files {
            let dst = dir.join(name);
            if fs::hard_link(src, &dst).is_err() {
                fs::copy(src, &dst).unwrap();
            }
        }
        let (text, _) = self.render(None);
        let script = dir.join("case.script");
        fs::write(&script, text).unwrap();
        script
    }
}

// =============================================================================================
// Independent kernel oracle: the script as plain keyctl commands in a private session
// =============================================================================================

/// Kernel outcome of one step as seen through keyctl.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Verdict(Verdict),
    /// Not run on the kernel (load into a restricted ring).
    Skipped,
    /// Refers to a name that is not defined (never, or its creation failed).
    Undefined,
}

fn errno_from_strerror(msg: &str) -> String {
    const TABLE: &[(&str, &str)] = &[
        ("Operation not permitted", "EPERM"),
        ("No such file or directory", "ENOENT"),
        ("Permission denied", "EACCES"),
        ("File exists", "EEXIST"),
        ("Not a directory", "ENOTDIR"),
        ("Invalid argument", "EINVAL"),
        ("Resource deadlock avoided", "EDEADLK"),
        ("Too many levels of symbolic links", "ELOOP"),
        ("No data available", "ENODATA"),
        ("Package not installed", "ENOPKG"),
        ("Bad message", "EBADMSG"),
        ("Message too long", "EMSGSIZE"),
        ("Operation not supported", "EOPNOTSUPP"),
        ("Required key not available", "ENOKEY"),
        ("Key has expired", "EKEYEXPIRED"),
        ("Key has been revoked", "EKEYREVOKED"),
        ("Key was rejected by service", "EKEYREJECTED"),
        ("Disk quota exceeded", "EDQUOT"),
        ("Cannot allocate memory", "ENOMEM"),
        ("Unknown error 524", "ENOTSUPP"),
        ("Function not implemented", "ENOSYS"),
        ("No such device", "ENODEV"),
        ("Bad address", "EFAULT"),
        ("Value too large for defined data type", "EOVERFLOW"),
        ("Numerical result out of range", "ERANGE"),
        ("No such process", "ESRCH"),
    ];
    let text = msg.rsplit(": ").next().unwrap_or(msg).trim();
    for (s, e) in TABLE {
        if text == *s {
            return e.to_string();
        }
    }
    format!("E?({})", msg.trim())
}

fn valid_name(n: &str) -> bool {
    !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && n != "0"
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Translates script lines (`(line number, text)`) to a bash program printing `L<n> ok`,
/// `L<n> err <keyctl message>`, `L<n> skip` or `L<n> undef` per command line.
fn oracle_program(lines: &[(usize, String)]) -> String {
    let mut p = String::from(
        r#"set -u
ERRF=$(mktemp)
trap 'rm -f "$ERRF"' EXIT
st() {
  local line=$1 var=$2; shift 2
  local out
  if out=$("$@" 2>"$ERRF"); then
    if [ "$var" != "-" ]; then printf -v "V_$var" '%s' "$out"; fi
    LAST_OK=1
    echo "L$line ok"
  else
    LAST_OK=0
    echo "L$line err $(tr '\n' ' ' < "$ERRF")"
  fi
}
def() { local n; for n in "$@"; do [ -n "${!n:-}" ] || return 1; done; }
"#,
    );
    let mut defined: HashSet<String> = HashSet::new();
    for (ln, text) in lines {
        let w: Vec<&str> = text.split_whitespace().collect();
        // Shell variables the line needs (must be non-empty at runtime); statically undefined
        // names make the whole line "undef".
        let mut needs: Vec<String> = Vec::new();
        let mut undefined = false;
        let mut need = |n: &str, defined: &HashSet<String>| -> String {
            if !valid_name(n) || !defined.contains(n) {
                undefined = true;
            }
            needs.push(format!("V_{n}"));
            format!("\"${{V_{n}:-}}\"")
        };
        let cmd: String = match w.as_slice() {
            ["newring", n] if valid_name(n) => {
                defined.insert(n.to_string());
                format!("st {ln} {n} keyctl newring {n} @s")
            }
            ["restrict", r, "reject"] => {
                let rv = need(r, &defined);
                format!(
                    "st {ln} - keyctl restrict_keyring {rv}; [ $LAST_OK = 1 ] && R_{r}=1 || true"
                )
            }
            ["restrict", r, res] => {
                let rv = need(r, &defined);
                let arg = if let Some(rest) = res.strip_prefix("key_or_keyring:") {
                    let (rf, tail) = match rest.split_once(':') {
                        Some((a, b)) => (a, format!(":{b}")),
                        None => (rest, String::new()),
                    };
                    if rf == "0" {
                        format!("key_or_keyring:0{tail}")
                    } else {
                        need(rf, &defined);
                        format!("\"key_or_keyring:${{V_{rf}:-}}{tail}\"")
                    }
                } else {
                    shell_quote(res)
                };
                format!("st {ln} - keyctl restrict_keyring {rv} asymmetric {arg}; [ $LAST_OK = 1 ] && R_{r}=1 || true")
            }
            [op @ ("add" | "load"), k, r, f] if valid_name(k) => {
                let rv = need(r, &defined);
                defined.insert(k.to_string());
                let add = format!(
                    "st {ln} {k} keyctl padd asymmetric \"\" {rv} < {}",
                    shell_quote(f)
                );
                if *op == "load" && valid_name(r) {
                    // the CLI skips loads into already-restricted rings on the kernel side
                    format!("if [ -n \"${{R_{r}:-}}\" ]; then echo \"L{ln} skip\"; else {add}; fi")
                } else {
                    add
                }
            }
            ["link", a, r] => {
                let av = need(a, &defined);
                let rv = need(r, &defined);
                format!("st {ln} - keyctl link {av} {rv}")
            }
            ["unlink", a, r] => {
                let av = need(a, &defined);
                let rv = need(r, &defined);
                format!("st {ln} - keyctl unlink {av} {rv}")
            }
            ["clear", r] => {
                let rv = need(r, &defined);
                format!("st {ln} - keyctl clear {rv}")
            }
            ["revoke", k] => {
                let kv = need(k, &defined);
                format!("st {ln} - keyctl revoke {kv}")
            }
            ["invalidate", k] => {
                let kv = need(k, &defined);
                format!("st {ln} - keyctl invalidate {kv}")
            }
            _ => panic!("oracle: cannot translate line {ln}: {text}"),
        };
        if undefined {
            p.push_str(&format!("echo \"L{ln} undef\"\n"));
        } else if needs.is_empty() {
            p.push_str(&cmd);
            p.push('\n');
        } else {
            p.push_str(&format!(
                "if def {}; then {cmd}; else echo \"L{ln} undef\"; fi\n",
                needs.join(" ")
            ));
        }
    }
    p
}

/// Command lines of a script file: (1-based line number, text).
fn script_command_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        })
        .map(|(i, l)| (i + 1, l.trim().to_string()))
        .collect()
}

/// Runs a script's keyctl translation in a private session; returns line -> outcome.
/// The keyctl program is written to `prog_path` (never next to a committed corpus script).
fn run_oracle(script: &Path, prog_path: &Path) -> Result<BTreeMap<usize, Seen>, String> {
    let dir = script.parent().unwrap();
    let text = fs::read_to_string(script).map_err(|e| e.to_string())?;
    let lines = script_command_lines(&text);
    fs::write(prog_path, oracle_program(&lines)).map_err(|e| e.to_string())?;
    let out = Command::new("keyctl")
        .args(["session", "-", "bash"])
        .arg(prog_path)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("spawn keyctl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "oracle failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut res = BTreeMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let (head, rest) = l
            .split_once(' ')
            .ok_or_else(|| format!("bad oracle line {l:?}"))?;
        let n: usize = head
            .trim_start_matches('L')
            .parse()
            .map_err(|_| format!("bad oracle line {l:?}"))?;
        let seen = if rest == "ok" {
            Seen::Verdict("ok".into())
        } else if rest == "skip" {
            Seen::Skipped
        } else if rest == "undef" {
            Seen::Undefined
        } else if let Some(msg) = rest.strip_prefix("err ") {
            Seen::Verdict(errno_from_strerror(msg))
        } else {
            return Err(format!("bad oracle line {l:?}"));
        };
        res.insert(n, seen);
    }
    if res.len() != lines.len() {
        return Err(format!(
            "oracle printed {} verdicts for {} lines",
            res.len(),
            lines.len()
        ));
    }
    Ok(res)
}

// =============================================================================================
// The trustbench CLI side
// =============================================================================================

#[derive(Clone, Debug)]
struct CliLine {
    line: usize,
    command: String,
    model: Verdict,
    kernel: Option<Verdict>, // None = skipped
    agree: Option<bool>,
}

fn verdict_of(result: &serde_json::Value, errno: &serde_json::Value) -> Result<Verdict, String> {
    match result.as_str() {
        Some("ok") => Ok("ok".into()),
        Some("error") => Ok(errno
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| "error(errno=null)".into())),
        other => Err(format!("unexpected result {other:?}")),
    }
}

fn trustbench() -> &'static str {
    env!("CARGO_BIN_EXE_trustbench")
}

/// Runs `trustbench keyring replay [--kernel] --json SCRIPT` (with `--kernel` inside a private
/// session keyring, so that parallel runs cannot see each other's rings). Returns the parsed
/// lines and the exit code.
fn run_cli(script: &Path, with_kernel: bool) -> Result<(Vec<CliLine>, i32), String> {
    let mut cmd = if with_kernel {
        let mut c = Command::new("keyctl");
        c.args([
            "session",
            "-",
            trustbench(),
            "keyring",
            "replay",
            "--kernel",
            "--json",
        ]);
        c
    } else {
        // `--crypto kernel`: emulate the algorithms this kernel has (/proc/crypto), which is
        // what --kernel implies; the model's verdicts must then be identical.
        let mut c = Command::new(trustbench());
        c.args(["keyring", "replay", "--crypto", "kernel", "--json"]);
        c
    };
    let out = cmd
        .arg(script)
        .current_dir(script.parent().unwrap())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("spawn trustbench: {e}"))?;
    let code = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = Vec::new();
    for l in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(l).map_err(|e| {
            format!(
                "exit {code}: non-JSON output line {l:?} ({e}); stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        let field = |k: &str| v.get(k).cloned().unwrap_or(serde_json::Value::Null);
        let line = field("line")
            .as_u64()
            .ok_or_else(|| format!("no line number in {l}"))? as usize;
        let model = verdict_of(&field("result"), &field("errno"))?;
        let kernel = match field("kernel_result").as_str() {
            Some("skipped") => None,
            Some(_) => Some(verdict_of(&field("kernel_result"), &field("kernel_errno"))?),
            None if !with_kernel => None,
            None => return Err(format!("no kernel_result in {l}")),
        };
        let agree = field("agree").as_bool();
        lines.push(CliLine {
            line,
            command: field("command").as_str().unwrap_or("").to_string(),
            model,
            kernel,
            agree,
        });
    }
    if lines.is_empty() {
        return Err(format!(
            "exit {code}: no output; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((lines, code))
}

// =============================================================================================
// Case families
// =============================================================================================

struct Ctx<'g> {
    g: &'g CertGen,
    cases: Vec<Case>,
    next_serial: u64,
    next_cn: usize,
}

/// Where the trust comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Anchor {
    /// `key_or_keyring:<root key>` (the key is loaded into an unrestricted "anchor" ring).
    Key,
    /// `key_or_keyring:<anchor ring>` holding the root(s).
    Ring,
    /// Roots loaded into the destination itself, then `key_or_keyring:0:chain`.
    Zero,
}

impl Anchor {
    fn label(&self) -> &'static str {
        match self {
            Anchor::Key => "key",
            Anchor::Ring => "ring",
            Anchor::Zero => "zero",
        }
    }
}

const ANCHORS_AND_MODES: [(Anchor, bool); 5] = [
    (Anchor::Key, false),
    (Anchor::Key, true),
    (Anchor::Ring, false),
    (Anchor::Ring, true),
    (Anchor::Zero, true),
];

impl<'g> Ctx<'g> {
    fn serial(&mut self) -> u64 {
        self.next_serial += 1;
        self.next_serial
    }
    fn cn(&mut self, base: &str) -> String {
        self.next_cn += 1;
        format!("{base}-{}", self.next_cn)
    }
    fn k(&self, bits: u32, i: usize) -> Arc<certgen::Key> {
        self.g.key(KeyAlg::Rsa(bits), i)
    }
    /// Self-signed CA root.
    fn root(&mut self, base: &str, key: &Arc<certgen::Key>) -> Arc<Cert> {
        let (cn, s) = (self.cn(base), self.serial());
        self.g.cert(CertSpec::new(&cn, s, key, Signer::SelfSigned))
    }
    fn root_with(
        &mut self,
        base: &str,
        key: &Arc<certgen::Key>,
        f: impl FnOnce(CertSpec) -> CertSpec,
    ) -> Arc<Cert> {
        let (cn, s) = (self.cn(base), self.serial());
        self.g
            .cert(f(CertSpec::new(&cn, s, key, Signer::SelfSigned)))
    }
    /// CA issued by `by`.
    fn inter(&mut self, base: &str, key: &Arc<certgen::Key>, by: &Arc<Cert>) -> Arc<Cert> {
        let (cn, s) = (self.cn(base), self.serial());
        self.g
            .cert(CertSpec::new(&cn, s, key, Signer::By(by.clone())).ca())
    }
    fn issue(
        &mut self,
        base: &str,
        key: &Arc<certgen::Key>,
        signer: Signer,
        f: impl FnOnce(CertSpec) -> CertSpec,
    ) -> Arc<Cert> {
        let (cn, s) = (self.cn(base), self.serial());
        self.g.cert(f(CertSpec::new(&cn, s, key, signer)))
    }
    fn leaf(&mut self, base: &str, key: &Arc<certgen::Key>, by: &Arc<Cert>) -> Arc<Cert> {
        self.issue(base, key, Signer::By(by.clone()), |s| s)
    }
    fn push(&mut self, c: Case) {
        self.cases.push(c);
    }
}

/// Standard prologue: an unrestricted `anchor` ring holding the roots (named `root0..`), a
/// destination ring `dest` restricted per `anchor`/`chain`. Returns nothing; the ring is "dest".
fn setup(c: &mut Case, anchor: Anchor, chain: bool, roots: &[&Arc<Cert>]) {
    let sfx = if chain { ":chain" } else { "" };
    match anchor {
        Anchor::Key | Anchor::Ring => {
            c.newring("anchor");
            for (i, r) in roots.iter().enumerate() {
                c.load(&format!("root{i}"), "anchor", r);
            }
            c.newring("dest");
            let rf = if anchor == Anchor::Key {
                "root0"
            } else {
                "anchor"
            };
            c.restrict("dest", &format!("key_or_keyring:{rf}{sfx}"), "ok");
        }
        Anchor::Zero => {
            assert!(chain);
            c.newring("dest");
            for (i, r) in roots.iter().enumerate() {
                c.load(&format!("root{i}"), "dest", r);
            }
            c.restrict("dest", "key_or_keyring:0:chain", "ok");
        }
    }
}

/// Good chains with every AKID layout, every anchor form, plain vs :chain, 2-4 levels.
fn fam_chains(x: &mut Ctx) {
    for akid in Akid::ALL {
        let (k0, k1, k2, k3) = (x.k(2048, 0), x.k(2048, 1), x.k(2048, 2), x.k(2048, 3));
        let root = x.root_with("root", &k0, |s| s.akid(akid));
        let leaf = x.issue("leaf", &k1, Signer::By(root.clone()), |s| s.akid(akid));
        let inter = x.issue("inter", &k2, Signer::By(root.clone()), |s| {
            s.ca().akid(akid)
        });
        let leaf2 = x.issue("leaf", &k3, Signer::By(inter.clone()), |s| s.akid(akid));
        let inter2 = x.issue("inter", &k1, Signer::By(inter.clone()), |s| {
            s.ca().akid(akid)
        });
        let leaf3 = x.issue("leaf", &k3, Signer::By(inter2.clone()), |s| s.akid(akid));
        for (anchor, chain) in ANCHORS_AND_MODES {
            let mode = if chain { "chain" } else { "plain" };
            // root -> leaf, then the root itself (self-signed, admitted because it matches the anchor)
            let mut c = Case::new(
                "chain",
                format!("2level/{}/{}/{mode}", akid.label(), anchor.label()),
            );
            setup(&mut c, anchor, chain, &[&root]);
            c.add("leaf", "dest", &leaf, "ok");
            c.add("rootagain", "dest", &root, "ok");
            x.push(c);
            // root -> inter -> leaf
            let mut c = Case::new(
                "chain",
                format!("3level/{}/{}/{mode}", akid.label(), anchor.label()),
            );
            setup(&mut c, anchor, chain, &[&root]);
            c.add("inter", "dest", &inter, "ok");
            c.add("leaf", "dest", &leaf2, if chain { "ok" } else { "ENOKEY" });
            x.push(c);
        }
        // out of order: leaf before its intermediate
        for anchor in [Anchor::Key, Anchor::Ring, Anchor::Zero] {
            let mut c = Case::new(
                "chain",
                format!("3level-out-of-order/{}/{}", akid.label(), anchor.label()),
            );
            setup(&mut c, anchor, true, &[&root]);
            c.add("leaf", "dest", &leaf2, "ENOKEY");
            c.add("inter", "dest", &inter, "ok");
            c.add("leaf_retry", "dest", &leaf2, "ok");
            x.push(c);
        }
        // 4 levels
        let mut c = Case::new("chain", format!("4level/{}/ring/chain", akid.label()));
        setup(&mut c, Anchor::Ring, true, &[&root]);
        c.add("inter", "dest", &inter, "ok");
        c.add("inter2", "dest", &inter2, "ok");
        c.add("leaf", "dest", &leaf3, "ok");
        x.push(c);
    }
}

/// Signature hash algorithms, md5 and RSA-PSS, on leaves, intermediates and roots.
fn fam_hashes(x: &mut Ctx, md5_ok: bool) {
    let (k0, k1, k2) = (x.k(2048, 4), x.k(2048, 5), x.k(2048, 6));
    let root = x.root("hroot", &k0);
    let mut algs: Vec<SigAlg> = Hash::ALL_SHA
        .iter()
        .chain(&Hash::ALL_SHA3)
        .map(|h| SigAlg::pkcs1(*h))
        .collect();
    if md5_ok {
        algs.push(SigAlg::pkcs1(Hash::Md5));
    } else {
        eprintln!("NOTE: this openssl refuses md5WithRSAEncryption; md5 cases dropped");
    }
    algs.extend([
        SigAlg::pss(Hash::Sha256),
        SigAlg::pss(Hash::Sha512),
        SigAlg::pss(Hash::Sha1),
    ]);
    for alg in algs {
        let l = alg.label();
        // Kernel (6.18): RSA-PSS and md5WithRSAEncryption signature OIDs make the certificate
        // unparseable (ENOPKG), even for unrestricted rings.
        let (parse, restricted) = match (alg.pss, alg.hash) {
            (true, _) | (false, Hash::Md5) => ("ENOPKG", "ENOPKG"),
            _ => ("ok", "ok"),
        };
        let leaf = x.issue(&format!("hleaf-{l}"), &k1, Signer::By(root.clone()), |s| {
            s.sig(alg)
        });
        for (anchor, chain) in [
            (Anchor::Key, false),
            (Anchor::Ring, false),
            (Anchor::Ring, true),
        ] {
            let mut c = Case::new(
                "hash",
                format!(
                    "leaf/{l}/{}/{}",
                    anchor.label(),
                    if chain { "chain" } else { "plain" }
                ),
            );
            setup(&mut c, anchor, chain, &[&root]);
            c.add("leaf", "dest", &leaf, restricted);
            c.newring("open");
            c.add("leaf_open", "open", &leaf, parse);
            x.push(c);
        }
        // intermediate signed with alg, leaf below it signed with sha256 (and the reverse)
        let inter = x.issue(&format!("hinter-{l}"), &k2, Signer::By(root.clone()), |s| {
            s.ca().sig(alg)
        });
        let mut c = Case::new("hash", format!("inter/{l}/ring/chain"));
        setup(&mut c, Anchor::Ring, true, &[&root]);
        c.add("inter", "dest", &inter, restricted);
        if parse == "ok" {
            let leaf2 = x.leaf("hleaf2", &k1, &inter);
            let leaf3 = x.issue(
                &format!("hleaf3-{l}"),
                &k0,
                Signer::By(inter.clone()),
                |s| s.sig(alg),
            );
            c.add(
                "leaf_sha256",
                "dest",
                &leaf2,
                if restricted == "ok" { "ok" } else { "ENOKEY" },
            );
            c.add(
                "leaf_same",
                "dest",
                &leaf3,
                if restricted == "ok" { "ok" } else { "ENOPKG" },
            );
        }
        x.push(c);
        // self-signed root with alg: parse-level (self-signature check) + as its own anchor
        let sroot = x.issue(&format!("hroot-{l}"), &k2, Signer::SelfSigned, |s| {
            s.sig(alg)
        });
        let mut c = Case::new("hash", format!("selfsigned/{l}"));
        c.newring("open");
        c.add("sroot", "open", &sroot, parse);
        c.newring("anchor");
        c.load("root0", "anchor", &root);
        c.newring("dest");
        c.restrict("dest", "key_or_keyring:anchor", "ok");
        c.add(
            "sroot_dest",
            "dest",
            &sroot,
            if restricted == "ok" {
                "ENOKEY"
            } else {
                restricted
            },
        );
        if parse == "ok" {
            let sleaf = x.leaf("hsleaf", &k1, &sroot);
            c.newring("own");
            c.restrict("own", "key_or_keyring:sroot", "ok");
            c.add("sroot_own", "own", &sroot, restricted);
            c.add("sleaf_own", "own", &sleaf, "ok");
        }
        x.push(c);
    }
}

/// RSA key sizes for roots, intermediates and leaves.
fn fam_key_sizes(x: &mut Ctx) {
    let sizes = [1024u32, 2048, 3072, 4096];
    for (i, rb) in sizes.iter().enumerate() {
        let rk = x.k(*rb, 0);
        let root = x.root(&format!("ksroot{rb}"), &rk);
        for ib in sizes {
            // different key for the intermediate (index 1 of that size), leaf always rsa2048-7
            let ik = x.k(ib, 1);
            let hash = [Hash::Sha256, Hash::Sha384, Hash::Sha512, Hash::Sha1][i];
            let inter = x.issue(
                &format!("ksinter{ib}"),
                &ik,
                Signer::By(root.clone()),
                |s| s.ca().hash(hash),
            );
            let leaf = x.leaf("ksleaf", &x.k(2048, 7), &inter);
            let mut c = Case::new("keysize", format!("root{rb}/inter{ib}/{}", hash.name()));
            setup(
                &mut c,
                if ib % 2048 == 0 {
                    Anchor::Key
                } else {
                    Anchor::Ring
                },
                true,
                &[&root],
            );
            c.add("inter", "dest", &inter, "ok");
            c.add("leaf", "dest", &leaf, "ok");
            x.push(c);
        }
    }
}

/// key_or_keyring ignores basicConstraints and keyUsage entirely.
fn fam_ca_bits(x: &mut Ctx) {
    let root = x.root("cbroot", &x.k(2048, 0));
    for bc in [Bc::Ca, Bc::NotCa, Bc::Absent] {
        for ku in [
            Ku::DigitalSignature,
            Ku::KeyCertSign,
            Ku::Both,
            Ku::Absent,
            Ku::Neither,
        ] {
            let issuer = x.issue("cbissuer", &x.k(2048, 2), Signer::By(root.clone()), |s| {
                s.bc(bc).ku(ku)
            });
            let leaf = x.issue("cbleaf", &x.k(2048, 3), Signer::By(issuer.clone()), |s| {
                s.bc(bc).ku(ku)
            });
            let mut c = Case::new("cabits", format!("{bc:?}/{ku:?}"));
            c.note("key_or_keyring does not look at CA/keyCertSign bits");
            // issuer as a directly named key
            c.newring("anchor");
            c.load("issuer", "anchor", &issuer);
            c.newring("direct");
            c.restrict("direct", "key_or_keyring:issuer", "ok");
            c.add("leaf", "direct", &leaf, "ok");
            // issuer as an intermediate in a chain ring
            c.load("root0", "anchor", &root);
            c.newring("dest");
            c.restrict("dest", "key_or_keyring:root0:chain", "ok");
            c.add("issuer_in_chain", "dest", &issuer, "ok");
            c.add("leaf_in_chain", "dest", &leaf, "ok");
            x.push(c);
        }
    }
}

/// AKIDs that name a different key than the one that signed, and SKID-less issuers.
fn fam_akid_mismatch(x: &mut Ctx) {
    let ka = x.k(2048, 0);
    let kb = x.k(2048, 1);
    let kc = x.k(3072, 0);
    let a = x.root("mmA", &ka);
    let b = x.root("mmB", &kb); // never trusted
    let c3072 = x.root("mmC", &kc); // never trusted, different modulus length
    let lk = x.k(2048, 5);
    let variants: Vec<(&str, Arc<Cert>, &str)> = vec![
        // issuer name A + AKID keyid A, but signed by B
        (
            "signed-by-other-key/keyid",
            x.issue("mml", &lk, Signer::ByWithKey(a.clone(), kb.clone()), |s| s),
            BADSIG,
        ),
        (
            "signed-by-other-key/issuer+serial",
            x.issue("mml", &lk, Signer::ByWithKey(a.clone(), kb.clone()), |s| {
                s.akid(Akid::IssuerSerial)
            }),
            BADSIG,
        ),
        (
            "signed-by-other-key/both",
            x.issue("mml", &lk, Signer::ByWithKey(a.clone(), kb.clone()), |s| {
                s.akid(Akid::Both)
            }),
            BADSIG,
        ),
        (
            "signed-by-other-key/noakid",
            x.issue("mml", &lk, Signer::ByWithKey(a.clone(), kb.clone()), |s| {
                s.akid(Akid::Absent)
            }),
            BADSIG,
        ),
        // signature length (384) != A's modulus length (256): always EINVAL
        (
            "signed-by-3072-key/keyid",
            x.issue("mml", &lk, Signer::ByWithKey(a.clone(), kc.clone()), |s| s),
            "EINVAL",
        ),
        // signed by A (issuer name A) but the AKID keyid names B
        (
            "akid-keyid-names-other",
            x.issue("mml", &lk, Signer::By(a.clone()), |s| {
                s.akid_names(b.auth_ref())
            }),
            "ENOKEY",
        ),
        (
            "akid-issuer+serial-names-other",
            x.issue("mml", &lk, Signer::By(a.clone()), |s| {
                s.akid(Akid::IssuerSerial).akid_names(b.auth_ref())
            }),
            "ENOKEY",
        ),
        // both: issuer+serial -> A, keyid -> B (found by serial, SKID check fails)
        (
            "akid-both-serial-A-keyid-B",
            x.issue("mml", &lk, Signer::By(a.clone()), |s| {
                s.akid(Akid::Both).akid_names(AuthRef {
                    keyid: kb.skid.clone(),
                    ..a.auth_ref()
                })
            }),
            "ENOKEY",
        ),
        // both: issuer+serial -> B, keyid -> A
        (
            "akid-both-serial-B-keyid-A",
            x.issue("mml", &lk, Signer::By(a.clone()), |s| {
                s.akid(Akid::Both).akid_names(AuthRef {
                    keyid: ka.skid.clone(),
                    ..b.auth_ref()
                })
            }),
            "ENOKEY",
        ),
        // issuer DN says B, AKID keyid names A, signed by A: the AKID wins
        (
            "issuer-dn-B-akid-keyid-A",
            x.issue("mml", &lk, Signer::ByWithKey(b.clone(), ka.clone()), |s| {
                s.akid_names(a.auth_ref())
            }),
            "ok",
        ),
        // issuer DN says A but signed by the 3072 key C and AKID names C: lookup fails
        (
            "issuer-dn-A-akid-keyid-C",
            x.issue("mml", &lk, Signer::ByWithKey(a.clone(), kc.clone()), |s| {
                s.akid_names(c3072.auth_ref())
            }),
            "ENOKEY",
        ),
        // AKID keyid is A's SKID but the issuer+serial half names A with a wrong serial
        (
            "akid-both-wrong-serial",
            x.issue("mml", &lk, Signer::By(a.clone()), |s| {
                s.akid(Akid::Both).akid_names(AuthRef {
                    serial: vec![0x7e, 0x57],
                    ..a.auth_ref()
                })
            }),
            "ENOKEY",
        ),
    ];
    for (name, leaf, ex) in variants {
        for anchor in [Anchor::Key, Anchor::Ring, Anchor::Zero] {
            let mut c = Case::new("akid-mismatch", format!("{name}/{}", anchor.label()));
            setup(&mut c, anchor, anchor == Anchor::Zero, &[&a]);
            c.add("leaf", "dest", &leaf, ex);
            x.push(c);
        }
    }
    // Issuer without a SKID extension.
    let ns = x.root_with("noskid", &x.k(2048, 2), |s| {
        s.skid(false).akid(Akid::Absent)
    });
    for (akid, ex) in [
        (Akid::KeyId, "ENOKEY"),
        (Akid::Both, "ENOKEY"),
        (Akid::IssuerSerial, "ok"),
        (Akid::Absent, "ok"),
    ] {
        let leaf = x.issue("nsleaf", &x.k(2048, 3), Signer::By(ns.clone()), |s| {
            s.akid(akid)
        });
        for anchor in [Anchor::Key, Anchor::Ring] {
            let mut c = Case::new(
                "akid-mismatch",
                format!("issuer-without-skid/{}/{}", akid.label(), anchor.label()),
            );
            setup(&mut c, anchor, false, &[&ns]);
            c.add("leaf", "dest", &leaf, ex);
            x.push(c);
        }
    }
}

/// Leaves/roots whose issuer is not trusted.
fn fam_unknown_issuer(x: &mut Ctx) {
    let root = x.root("uiroot", &x.k(2048, 0));
    let stranger = x.root("stranger", &x.k(2048, 6));
    for akid in Akid::ALL {
        let leaf = x.issue("uileaf", &x.k(2048, 1), Signer::By(stranger.clone()), |s| {
            s.akid(akid)
        });
        let sroot = x.root_with("uiself", &x.k(1024, 0), |s| s.akid(akid));
        for (anchor, chain) in [
            (Anchor::Key, false),
            (Anchor::Ring, false),
            (Anchor::Zero, true),
        ] {
            let mut c = Case::new(
                "unknown-issuer",
                format!("{}/{}", akid.label(), anchor.label()),
            );
            setup(&mut c, anchor, chain, &[&root]);
            c.add("leaf", "dest", &leaf, "ENOKEY");
            c.add("selfsigned", "dest", &sroot, "ENOKEY");
            c.add("stranger", "dest", &stranger, "ENOKEY");
            x.push(c);
        }
    }
}

/// Self-signed and self-issued certificates against key_or_keyring rings.
fn fam_self_signed(x: &mut Ctx) {
    let ka = x.k(2048, 0);
    let kb = x.k(2048, 1);
    let root = x.root_with("ssroot", &ka, |s| s.akid(Akid::Absent));
    // same subject DN as root, different key, no AKID: issuer DN lookup finds the root
    let (rcn, rserial) = (root.cn.clone(), x.serial());
    let twin_noakid =
        x.g.cert(CertSpec::new(&rcn, rserial, &kb, Signer::SelfSigned).akid(Akid::Absent));
    let twin_keyid =
        x.g.cert(CertSpec::new(&rcn, x.serial(), &kb, Signer::SelfSigned).akid(Akid::KeyId));
    let serial_of_root = u64::from_be_bytes({
        let s = &root.parsed.serial;
        let mut b = [0u8; 8];
        b[8 - s.len()..].copy_from_slice(s);
        b
    });
    let twin_serial = x.g.cert(
        CertSpec::new(&rcn, serial_of_root, &kb, Signer::SelfSigned).akid(Akid::IssuerSerial),
    );
    for anchor in [Anchor::Key, Anchor::Ring] {
        for (name, cert, ex) in [
            ("same-dn-other-key/noakid", &twin_noakid, BADSIG),
            ("same-dn-other-key/keyid", &twin_keyid, "ENOKEY"),
            (
                "same-dn-same-serial-other-key/issuer+serial",
                &twin_serial,
                BADSIG,
            ),
        ] {
            let mut c = Case::new("selfsigned", format!("{name}/{}", anchor.label()));
            setup(&mut c, anchor, false, &[&root]);
            c.add("twin", "dest", cert, ex);
            c.newring("open");
            c.add("twin_open", "open", cert, "ok");
            x.push(c);
        }
    }
    // self-signed roots without SKID whose AKID names their own key
    let both_noskid = x.root_with("noskidboth", &x.k(2048, 3), |s| {
        s.skid(false).akid(Akid::Both)
    });
    let mut c = Case::new("selfsigned", "root-without-skid/akid-both");
    c.note(
        "AKID keyid+issuer+serial, no SKID: only the issuer+serial half matches the cert itself",
    );
    c.newring("open");
    c.add("root", "open", &both_noskid, "EKEYREJECTED");
    x.push(c);
    for akid in [Akid::KeyId, Akid::IssuerSerial] {
        let r = x.root_with("noskidroot", &x.k(2048, 4), |s| s.skid(false).akid(akid));
        let lk = x.k(2048, 5);
        let l_keyid = x.issue("nsl", &lk, Signer::By(r.clone()), |s| s.akid(Akid::KeyId));
        let l_is = x.issue("nsl", &lk, Signer::By(r.clone()), |s| {
            s.akid(Akid::IssuerSerial)
        });
        let l_none = x.issue("nsl", &lk, Signer::By(r.clone()), |s| s.akid(Akid::Absent));
        for anchor in [Anchor::Key, Anchor::Ring] {
            let mut c = Case::new(
                "selfsigned",
                format!("root-without-skid/akid-{}/{}", akid.label(), anchor.label()),
            );
            setup(&mut c, anchor, false, &[&r]);
            // keyid-only AKID + no SKID: not "self-signed" for the kernel, and unreachable by keyid
            c.add(
                "root_again",
                "dest",
                &r,
                if akid == Akid::KeyId { "ENOKEY" } else { "ok" },
            );
            c.add("leaf_keyid", "dest", &l_keyid, "ENOKEY");
            c.add("leaf_issuer_serial", "dest", &l_is, "ok");
            c.add("leaf_noakid", "dest", &l_none, "ok");
            x.push(c);
        }
    }
    // self-issued (subject == issuer) but signed by another key
    let kc = x.k(2048, 2);
    let signer_root = x.root("sisigner", &kb);
    let si_noakid = x.issue("selfissued", &kc, Signer::SelfIssuedBy(kb.clone()), |s| {
        s.akid(Akid::Absent)
    });
    let si_keyid = x.issue("selfissued", &kc, Signer::SelfIssuedBy(kb.clone()), |s| {
        s.akid(Akid::KeyId)
    });
    let si_both = x.issue("selfissued", &kc, Signer::SelfIssuedBy(kb.clone()), |s| {
        s.akid(Akid::Both)
    });
    for (name, cert, open, restricted) in [
        // no AKID: treated as self-signed, own-key check fails => unparseable
        ("self-issued/noakid", &si_noakid, BADSIG, BADSIG),
        // AKID keyid names the real signer: an ordinary cert, verified via the signer
        ("self-issued/keyid-names-signer", &si_keyid, "ok", "ok"),
        // AKID issuer+serial matches the cert itself, keyid does not: kernel refuses to parse
        (
            "self-issued/both-half-matching",
            &si_both,
            "EKEYREJECTED",
            "EKEYREJECTED",
        ),
    ] {
        let mut c = Case::new("selfsigned", name.to_string());
        c.newring("open");
        c.add("si_open", "open", cert, open);
        c.newring("anchor");
        c.load("signer", "anchor", &signer_root);
        c.newring("dest");
        c.restrict("dest", "key_or_keyring:anchor", "ok");
        c.add("si", "dest", cert, restricted);
        x.push(c);
    }
}

/// `link` of existing keys: the check runs on the stored certificate.
fn fam_link(x: &mut Ctx) {
    let root = x.root("lkroot", &x.k(2048, 0));
    let stranger = x.root("lkstranger", &x.k(2048, 1));
    let leaf = x.leaf("lkleaf", &x.k(2048, 2), &root);
    let bad = x.leaf("lkbad", &x.k(2048, 3), &stranger);
    let tampered = x.issue("lktampered", &x.k(2048, 4), Signer::By(root.clone()), |s| {
        s.corrupt(Corrupt::TbsSubject)
    });
    for anchor in [Anchor::Key, Anchor::Ring] {
        let mut c = Case::new("link", format!("existing-keys/{}", anchor.label()));
        setup(&mut c, anchor, false, &[&root]);
        c.newring("pool");
        c.load("leaf", "pool", &leaf);
        c.load("bad", "pool", &bad);
        c.load("tampered", "pool", &tampered);
        c.link("leaf", "dest", "ok");
        c.link("bad", "dest", "ENOKEY");
        c.link("tampered", "dest", "EKEYREJECTED");
        c.link("pool", "dest", "EOPNOTSUPP");
        c.link("root0", "dest", "ok");
        x.push(c);
    }
    // link into a chain ring, then use the linked intermediate as signer
    let inter = x.inter("lkinter", &x.k(2048, 5), &root);
    let leaf2 = x.leaf("lkleaf2", &x.k(2048, 6), &inter);
    let mut c = Case::new("link", "linked-intermediate-signs/chain");
    setup(&mut c, Anchor::Ring, true, &[&root]);
    c.newring("pool");
    c.load("inter", "pool", &inter);
    c.add("leaf_early", "dest", &leaf2, "ENOKEY");
    c.link("inter", "dest", "ok");
    c.add("leaf", "dest", &leaf2, "ok");
    x.push(c);
    // links into reject / builtin rings, and unrestricted ring accepts anything
    let mut c = Case::new("link", "into-reject-builtin-open");
    c.newring("pool");
    c.load("leaf", "pool", &leaf);
    c.load("bad", "pool", &bad);
    c.newring("nope");
    c.restrict("nope", "reject", "ok");
    c.link("leaf", "nope", "EPERM");
    c.newring("bt");
    c.restrict("bt", "builtin_trusted", "ok");
    c.link("leaf", "bt", "ENOKEY");
    c.newring("bst");
    c.restrict("bst", "builtin_and_secondary_trusted", "ok");
    c.link("bad", "bst", "ENOKEY");
    c.newring("open");
    c.link("bad", "open", "ok");
    c.link("pool", "open", "ok");
    x.push(c);
    // a restricted ring accepts a link of a keyring only... never (key_or_keyring)
    let mut c = Case::new("link", "keyring-into-chain-ring");
    setup(&mut c, Anchor::Ring, true, &[&root]);
    c.newring("sub");
    c.link("sub", "dest", "EOPNOTSUPP");
    c.link("anchor", "dest", "EOPNOTSUPP");
    x.push(c);
}

/// Restrictions are set once; failed attempts do not count.
fn fam_set_once(x: &mut Ctx) {
    let root = x.root("soroot", &x.k(2048, 0));
    let leaf = x.leaf("soleaf", &x.k(2048, 1), &root);
    let orders: [(&str, &str, &str); 5] = [
        (
            "koka-koka",
            "key_or_keyring:anchor",
            "key_or_keyring:anchor",
        ),
        ("koka-reject", "key_or_keyring:anchor:chain", "reject"),
        ("reject-koka", "reject", "key_or_keyring:anchor"),
        ("builtin-koka", "builtin_trusted", "key_or_keyring:anchor"),
        (
            "bst-builtin",
            "builtin_and_secondary_trusted",
            "builtin_trusted",
        ),
    ];
    for (name, first, second) in orders {
        let mut c = Case::new("set-once", name);
        c.newring("anchor");
        c.load("root0", "anchor", &root);
        c.newring("dest");
        c.restrict("dest", first, "ok");
        c.restrict("dest", second, "EEXIST");
        let ex = if first.starts_with("key_or_keyring") {
            "ok"
        } else if first == "reject" {
            "EPERM"
        } else {
            "ENOKEY"
        };
        c.add("leaf", "dest", &leaf, ex);
        x.push(c);
    }
    // a failed restriction (key_or_keyring:0 without :chain is ENOKEY on 6.18) leaves the ring
    // unrestricted and restrictable
    let mut c = Case::new("set-once", "failed-then-restrict");
    c.newring("anchor");
    c.load("root0", "anchor", &root);
    c.newring("dest");
    c.restrict("dest", "key_or_keyring:0", "ENOKEY");
    c.restrict("dest", "key_or_keyring:anchor", "ok");
    c.add("leaf", "dest", &leaf, "ok");
    x.push(c);
    // restricting after keys are present keeps them (and they can vouch in chain mode)
    let mut c = Case::new("set-once", "preexisting-links-survive");
    c.newring("dest");
    c.load("stale", "dest", &leaf);
    c.load("root0", "dest", &root);
    c.restrict("dest", "key_or_keyring:0:chain", "ok");
    c.add("leaf", "dest", &leaf, "ok");
    x.push(c);
}

/// EDEADLK on restriction cycles.
fn fam_cycles(x: &mut Ctx) {
    let root = x.root("cyroot", &x.k(2048, 0));
    let leaf = x.leaf("cyleaf", &x.k(2048, 1), &root);
    for chain in [false, true] {
        let s = if chain { ":chain" } else { "" };
        let m = if chain { "chain" } else { "plain" };
        let mut c = Case::new("cycle", format!("two-rings/{m}"));
        c.newring("a");
        c.newring("b");
        c.restrict("a", &format!("key_or_keyring:b{s}"), "ok");
        c.restrict("b", &format!("key_or_keyring:a{s}"), "EDEADLK");
        c.add("anything", "b", &leaf, "ok"); // b stayed unrestricted
        c.add("x", "a", &leaf, "ENOKEY");
        x.push(c);

        let mut c = Case::new("cycle", format!("self/{m}"));
        c.newring("a");
        c.restrict("a", &format!("key_or_keyring:a{s}"), "EDEADLK");
        c.load("root0", "a", &root);
        c.restrict("a", &format!("key_or_keyring:root0{s}"), "ok");
        c.add("leaf", "a", &leaf, "ok");
        x.push(c);

        let mut c = Case::new("cycle", format!("three-rings/{m}"));
        c.newring("a");
        c.newring("b");
        c.newring("c");
        c.load("root0", "c", &root);
        c.restrict("a", &format!("key_or_keyring:b{s}"), "ok");
        c.restrict("b", &format!("key_or_keyring:c{s}"), "ok");
        c.restrict("c", &format!("key_or_keyring:a{s}"), "EDEADLK");
        // b trusts c (holds root0): leaf ok in b; a trusts b, which holds no signer until the
        // root itself is admitted into b
        c.add("leaf_a", "a", &leaf, "ENOKEY");
        c.add("leaf_b", "b", &leaf, "ok");
        c.add("leaf_a2", "a", &leaf, "ENOKEY");
        c.add("root_b", "b", &root, "ok");
        c.add("leaf_a3", "a", &leaf, "ok");
        x.push(c);
    }
    // anchor key living in a restricted ring is not a cycle
    let mut c = Case::new("cycle", "key-anchor-no-cycle");
    c.newring("a");
    c.load("root0", "a", &root);
    c.restrict("a", "key_or_keyring:root0", "ok");
    c.newring("b");
    c.restrict("b", "key_or_keyring:a", "ok");
    c.add("leaf", "b", &leaf, "ok");
    x.push(c);
}

/// Revoked anchors and signers.
fn fam_revoke(x: &mut Ctx) {
    let root = x.root("rvroot", &x.k(2048, 0));
    let leaf = x.leaf("rvleaf", &x.k(2048, 1), &root);
    let leaf2 = x.leaf("rvleaf", &x.k(2048, 2), &root);
    let stranger = x.root("rvstranger", &x.k(2048, 3));
    let sleaf = x.leaf("rvsleaf", &x.k(2048, 4), &stranger);
    // directly named key: key_validate -> EKEYREVOKED (only when the ids match)
    let mut c = Case::new("revoke", "direct-key-anchor");
    setup(&mut c, Anchor::Key, false, &[&root]);
    c.add("leaf", "dest", &leaf, "ok");
    c.revoke("root0", "ok");
    c.add("leaf2", "dest", &leaf2, "EKEYREVOKED");
    c.add("stranger_leaf", "dest", &sleaf, "ENOKEY");
    x.push(c);
    let mut c = Case::new("revoke", "direct-key-anchor/chain");
    setup(&mut c, Anchor::Key, true, &[&root]);
    c.revoke("root0", "ok");
    c.add("leaf2", "dest", &leaf2, "EKEYREVOKED");
    x.push(c);
    // keyring anchor: the search skips revoked keys
    let mut c = Case::new("revoke", "keyring-anchor");
    setup(&mut c, Anchor::Ring, false, &[&root]);
    c.add("leaf", "dest", &leaf, "ok");
    c.revoke("root0", "ok");
    c.add("leaf2", "dest", &leaf2, "ENOKEY");
    c.load("root_again", "anchor", &root);
    c.add("leaf2_retry", "dest", &leaf2, "ok");
    x.push(c);
    // chain ring whose vouching key got revoked
    let inter = x.inter("rvinter", &x.k(2048, 5), &root);
    let ileaf = x.leaf("rvileaf", &x.k(2048, 6), &inter);
    let mut c = Case::new("revoke", "chain-intermediate");
    setup(&mut c, Anchor::Zero, true, &[&root]);
    c.add("inter", "dest", &inter, "ok");
    c.revoke("inter", "ok");
    c.add("ileaf", "dest", &ileaf, "ENOKEY");
    c.revoke("root0", "ok");
    c.add("leaf", "dest", &leaf, "ENOKEY");
    x.push(c);
    // revoked key cannot be linked; revoking a non-signer changes nothing
    let mut c = Case::new("revoke", "link-revoked-and-bystander");
    setup(&mut c, Anchor::Ring, false, &[&root]);
    c.newring("pool");
    c.load("leaf", "pool", &leaf);
    c.revoke("leaf", "ok");
    c.link("leaf", "dest", "EKEYREVOKED");
    c.add("leaf2", "dest", &leaf2, "ok");
    c.revoke("leaf2", "ok");
    c.add("leaf3", "dest", &leaf, "ok");
    x.push(c);
}

/// unlink / clear of anchors and signers.
fn fam_unlink_clear(x: &mut Ctx) {
    let root = x.root("ucroot", &x.k(2048, 0));
    let leaf = x.leaf("ucleaf", &x.k(2048, 1), &root);
    let inter = x.inter("ucinter", &x.k(2048, 2), &root);
    let ileaf = x.leaf("ucileaf", &x.k(2048, 3), &inter);
    let mut c = Case::new("unlink-clear", "unlink-root-from-anchor-ring");
    setup(&mut c, Anchor::Ring, false, &[&root]);
    c.unlink("root0", "anchor", "ok");
    c.add("leaf", "dest", &leaf, "ENOKEY");
    x.push(c);
    let mut c = Case::new("unlink-clear", "unlink-direct-key-anchor-still-pinned");
    setup(&mut c, Anchor::Key, false, &[&root]);
    c.unlink("root0", "anchor", "ok");
    c.add("leaf", "dest", &leaf, "ok");
    x.push(c);
    let mut c = Case::new("unlink-clear", "clear-anchor-ring");
    setup(&mut c, Anchor::Ring, true, &[&root]);
    c.clear("anchor", "ok");
    c.add("leaf", "dest", &leaf, "ENOKEY");
    x.push(c);
    let mut c = Case::new("unlink-clear", "clear-anchor-ring-direct-key");
    setup(&mut c, Anchor::Key, true, &[&root]);
    c.clear("anchor", "ok");
    c.add("leaf", "dest", &leaf, "ok");
    x.push(c);
    let mut c = Case::new("unlink-clear", "chain-unlink-intermediate");
    setup(&mut c, Anchor::Ring, true, &[&root]);
    c.add("inter", "dest", &inter, "ok");
    c.unlink("inter", "dest", "ok");
    c.add("ileaf", "dest", &ileaf, "ENOKEY");
    c.add("inter_again", "dest", &inter, "ok");
    c.add("ileaf_retry", "dest", &ileaf, "ok");
    x.push(c);
    let mut c = Case::new("unlink-clear", "zero-chain-clear-dest");
    setup(&mut c, Anchor::Zero, true, &[&root]);
    c.add("inter", "dest", &inter, "ok");
    c.clear("dest", "ok");
    c.add("ileaf", "dest", &ileaf, "ENOKEY");
    c.add("inter_again", "dest", &inter, "ENOKEY");
    x.push(c);
    let mut c = Case::new("unlink-clear", "unlink-not-linked");
    setup(&mut c, Anchor::Ring, false, &[&root]);
    c.add("leaf", "dest", &leaf, "ok");
    c.newring("keep");
    c.link("leaf", "keep", "ok"); // keeps the key alive after it leaves dest
    c.unlink("leaf", "anchor", "ENOENT");
    c.unlink("leaf", "dest", "ok");
    c.unlink("leaf", "dest", "ENOENT");
    x.push(c);
}

/// reject-all, builtin_trusted, builtin_and_secondary_trusted on user rings.
fn fam_reject_builtin(x: &mut Ctx, md5_ok: bool) {
    let root = x.root("rbroot", &x.k(2048, 0));
    let leaf = x.leaf("rbleaf", &x.k(2048, 1), &root);
    let pss = x.issue("rbpss", &x.k(2048, 2), Signer::By(root.clone()), |s| {
        s.sig(SigAlg::pss(Hash::Sha256))
    });
    let md5 = if md5_ok {
        Some(
            x.issue("rbmd5", &x.k(2048, 3), Signer::By(root.clone()), |s| {
                s.hash(Hash::Md5)
            }),
        )
    } else {
        None
    };
    for (r, ex) in [
        ("reject", "EPERM"),
        ("builtin_trusted", "ENOKEY"),
        ("builtin_and_secondary_trusted", "ENOKEY"),
    ] {
        let mut c = Case::new("reject-builtin", r);
        c.newring("dest");
        c.restrict("dest", r, "ok");
        c.add("root", "dest", &root, ex);
        c.add("leaf", "dest", &leaf, ex);
        let p = c.pem(&leaf);
        c.add_file("pem", "dest", &p, "EBADMSG");
        c.add("pss", "dest", &pss, "ENOPKG");
        if let Some(m) = &md5 {
            c.add("md5", "dest", m, "ENOPKG");
        }
        c.newring("pool");
        c.load("pooled", "pool", &leaf);
        c.link("pooled", "dest", ex);
        c.link(
            "pool",
            "dest",
            if r == "reject" { "EPERM" } else { "EOPNOTSUPP" },
        );
        x.push(c);
    }
}

/// Non-DER input: PEM, garbage, truncation, trailing bytes, empty.
fn fam_input(x: &mut Ctx) {
    let root = x.root("inroot", &x.k(2048, 0));
    let leaf = x.leaf("inleaf", &x.k(2048, 1), &root);
    let der = leaf.der();
    let truncated = x.g.raw_file("truncated.der", &der[..der.len() / 2]);
    let mut trailing = der.clone();
    trailing.extend_from_slice(&[0u8; 7]);
    let trailing = x.g.raw_file("trailing.der", &trailing);
    let garbage: Vec<u8> = (0..600u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let garbage = x.g.raw_file("garbage.bin", &garbage);
    let empty = x.g.raw_file("empty.der", &[]);
    // parse errors come first: the same verdicts with and without a restriction
    for anchor in [None, Some(Anchor::Key), Some(Anchor::Ring)] {
        let mut c = Case::new(
            "input",
            format!("formats/{}", anchor.map(|a| a.label()).unwrap_or("open")),
        );
        match anchor {
            Some(a) => setup(&mut c, a, false, &[&root]),
            None => {
                c.newring("dest");
            }
        }
        let p = c.pem(&leaf);
        c.add_file("pem", "dest", &p, "EBADMSG");
        let p = c.pem(&root);
        c.add_file("rootpem", "dest", &p, "EBADMSG");
        let f = c.raw("truncated.der", &truncated);
        c.add_file("trunc", "dest", &f, "EBADMSG");
        let f = c.raw("garbage.bin", &garbage);
        c.add_file("garbage", "dest", &f, "EBADMSG");
        let f = c.raw("trailing.der", &trailing);
        // trailing bytes after the certificate are ignored by the kernel's parser
        c.add_file("trailing", "dest", &f, "ok");
        let f = c.raw("empty.der", &empty);
        c.add_file("empty", "dest", &f, "EINVAL");
        c.add("good", "dest", &leaf, "ok");
        x.push(c);
    }
}

/// Damaged signatures on leaves, intermediates and roots.
fn fam_corrupt(x: &mut Ctx) {
    let root = x.root("crroot", &x.k(2048, 0));
    // Signatures one byte shorter than the modulus, crafted so that they would verify if
    // zero-filled on the right. KEYCTL_PKEY_VERIFY does zero-fill short signatures (see
    // pkey_verify_matches_kernel); certificate signatures are not: the kernel says EINVAL.
    {
        let rk = x.k(2048, 0);
        let (cn, _) = (x.cn("crshortleaf"), x.serial());
        let base = x.g.cert(CertSpec::new(
            &cn,
            0x1122_3344_5566_7788,
            &x.k(2048, 1),
            Signer::By(root.clone()),
        ));
        let short_leaf = x.g.short_sig_cert(&base, &rk);
        let (cn, _) = (x.cn("crshortroot"), x.serial());
        let sbase = x.g.cert(CertSpec::new(
            &cn,
            0x1122_3344_5566_7788,
            &x.k(1024, 2),
            Signer::SelfSigned,
        ));
        let short_root = x.g.short_sig_cert(&sbase, &x.k(1024, 2));
        for (anchor, chain) in [
            (Anchor::Key, false),
            (Anchor::Ring, false),
            (Anchor::Zero, true),
        ] {
            let mut c = Case::new("corrupt", format!("short-sig/{}", anchor.label()));
            setup(&mut c, anchor, chain, &[&root]);
            c.add("leaf", "dest", &short_leaf, "EINVAL");
            c.newring("open");
            c.add("leaf_open", "open", &short_leaf, "ok");
            x.push(c);
        }
        // self-signed root with a short signature: fails the parse-time self-signature check
        let mut c = Case::new("corrupt", "short-sig/selfsigned-root");
        c.newring("open");
        c.add("root", "open", &short_root, "EINVAL");
        x.push(c);
    }
    for (cv, ex) in [
        (Corrupt::SigLastByte, BADSIG),
        (Corrupt::SigFirstByte, BADSIG),
        (Corrupt::TbsSubject, "EKEYREJECTED"),
    ] {
        let leaf = x.issue("crleaf", &x.k(2048, 1), Signer::By(root.clone()), |s| {
            s.corrupt(cv)
        });
        for (anchor, chain) in [
            (Anchor::Key, false),
            (Anchor::Ring, false),
            (Anchor::Zero, true),
        ] {
            let mut c = Case::new("corrupt", format!("leaf/{cv:?}/{}", anchor.label()));
            setup(&mut c, anchor, chain, &[&root]);
            c.add("leaf", "dest", &leaf, ex);
            c.newring("open");
            c.add("leaf_open", "open", &leaf, "ok");
            x.push(c);
        }
        // damaged self-signed root: fails the parse-time self-signature check
        // (TbsSubject makes subject != issuer, so it is no longer self-signed and parses)
        let sroot = x.issue("crself", &x.k(2048, 2), Signer::SelfSigned, |s| {
            s.corrupt(cv)
        });
        let mut c = Case::new("corrupt", format!("selfsigned/{cv:?}"));
        c.newring("open");
        c.add(
            "sroot",
            "open",
            &sroot,
            if cv == Corrupt::TbsSubject { "ok" } else { ex },
        );
        x.push(c);
        // damaged intermediate in a chain
        let inter = x.issue("crinter", &x.k(2048, 3), Signer::By(root.clone()), |s| {
            s.ca().corrupt(cv)
        });
        let ileaf = x.leaf("crileaf", &x.k(2048, 4), &inter);
        let mut c = Case::new("corrupt", format!("intermediate/{cv:?}"));
        setup(&mut c, Anchor::Ring, true, &[&root]);
        c.add("inter", "dest", &inter, ex);
        c.add("ileaf", "dest", &ileaf, "ENOKEY");
        x.push(c);
    }
}

/// key_or_keyring:0 forms, nested anchor keyrings, undefined references, serial encodings.
fn fam_misc(x: &mut Ctx) {
    let root = x.root("msroot", &x.k(2048, 0));
    let leaf = x.leaf("msleaf", &x.k(2048, 1), &root);
    let mut c = Case::new("misc", "zero-without-chain-is-enokey");
    c.newring("dest");
    c.restrict("dest", "key_or_keyring:0", "ENOKEY");
    c.add("leaf", "dest", &leaf, "ok");
    x.push(c);
    let mut c = Case::new("misc", "zero-chain-empty");
    c.newring("dest");
    c.restrict("dest", "key_or_keyring:0:chain", "ok");
    c.add("root", "dest", &root, "ENOKEY");
    c.add("leaf", "dest", &leaf, "ENOKEY");
    x.push(c);
    let mut c = Case::new("misc", "zero-chain-seeded-with-leaf-only");
    c.newring("dest");
    c.load("leaf", "dest", &leaf);
    c.restrict("dest", "key_or_keyring:0:chain", "ok");
    c.add("root", "dest", &root, "ENOKEY");
    x.push(c);
    // nested keyrings in the anchor are searched recursively
    for depth in [1usize, 3] {
        let mut c = Case::new("misc", format!("nested-anchor-depth{depth}"));
        c.newring("anchor");
        let mut parent = "anchor".to_string();
        for d in 0..depth {
            let n = format!("sub{d}");
            c.newring(&n);
            c.link(&n, &parent, "ok");
            parent = n;
        }
        c.load("root0", &parent, &root);
        c.newring("dest");
        c.restrict("dest", "key_or_keyring:anchor", "ok");
        c.add("leaf", "dest", &leaf, "ok");
        x.push(c);
    }
    // chain ring with a nested keyring holding the intermediate (linked before restricting)
    let inter = x.inter("msinter", &x.k(2048, 2), &root);
    let ileaf = x.leaf("msileaf", &x.k(2048, 3), &inter);
    let mut c = Case::new("misc", "chain-searches-nested-rings-in-dest");
    c.newring("dest");
    c.newring("inner");
    c.load("inter", "inner", &inter);
    c.link("inner", "dest", "ok");
    c.restrict("dest", "key_or_keyring:0:chain", "ok");
    c.add("ileaf", "dest", &ileaf, "ok");
    x.push(c);
    // undefined references (the model must refuse; kernel side is whatever the CLI decides)
    let mut c = Case::new("misc", "undefined-refs");
    c.newring("dest");
    c.restrict("dest", "key_or_keyring:nosuchkey", "*");
    c.link("nosuchkey", "dest", "*");
    c.newring("dest2");
    c.restrict("dest2", "key_or_keyring:laterkey:chain", "*");
    c.newring("pool");
    c.load("laterkey", "pool", &root);
    x.push(c);
    // serial number encodings in id[0] / AKID issuer+serial
    for serial in [0u64, 127, 128, 0x8000_0000_0000_0001, u64::MAX] {
        let k = x.k(2048, 4);
        let cn = x.cn("serialroot");
        let sroot =
            x.g.cert(CertSpec::new(&cn, serial, &k, Signer::SelfSigned).akid(Akid::IssuerSerial));
        let sleaf = x.issue(
            "serialleaf",
            &x.k(2048, 5),
            Signer::By(sroot.clone()),
            |s| s.akid(Akid::IssuerSerial),
        );
        let bleaf = x.issue(
            "serialleafb",
            &x.k(2048, 6),
            Signer::By(sroot.clone()),
            |s| s.akid(Akid::Both),
        );
        let mut c = Case::new("misc", format!("serial-{serial:x}"));
        setup(&mut c, Anchor::Key, false, &[&sroot]);
        c.add("leaf", "dest", &sleaf, "ok");
        c.add("leafb", "dest", &bleaf, "ok");
        c.add("root", "dest", &sroot, "ok");
        x.push(c);
    }
    // re-adding an identical certificate replaces the link (same description)
    let mut c = Case::new("misc", "same-description-replaces");
    setup(&mut c, Anchor::Ring, true, &[&root]);
    c.add("leaf", "dest", &leaf, "ok");
    c.add("leaf_again", "dest", &leaf, "ok");
    // (the first key lost its only link and is garbage-collected asynchronously: never refer
    // to it again, the kernel's answer would be racy)
    c.unlink("leaf_again", "dest", "ok");
    c.unlink("leaf_again", "dest", "ENOENT");
    x.push(c);
}

/// ECDSA material on a kernel without ecdsa (outcomes are configuration-dependent).
fn fam_ecdsa(x: &mut Ctx) {
    let ek = x.g.key(KeyAlg::EcP256, 0);
    let root = x.root("ecrsaroot", &x.k(2048, 0));
    let ecroot = x.root("ecroot", &ek);
    let ecinter = x.issue("ecinter", &ek, Signer::By(root.clone()), |s| s.ca());
    let rsaleaf = x.leaf("ecrsaleaf", &x.k(2048, 1), &ecinter);
    let mut c = Case::new("ecdsa", "p256");
    c.note("6.18 without ecdsa: ENOENT wherever an ECDSA signature must be checked");
    c.newring("open");
    c.add("ecroot", "open", &ecroot, "ENOENT|ok");
    setup(&mut c, Anchor::Ring, true, &[&root]);
    c.add("ecinter", "dest", &ecinter, "ok");
    c.add("rsaleaf", "dest", &rsaleaf, "ENOENT|ok");
    x.push(c);
}

// ---------------------------------------------------------------------------------------------
// Randomized family
// ---------------------------------------------------------------------------------------------

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len())]
    }
}

fn fam_random(x: &mut Ctx, seed: u64, count: usize) {
    // splitmix64 of the seed, so that nearby seeds give unrelated streams
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    let mut rng = Rng((z ^ (z >> 31)) | 1);
    let pool: Vec<(u32, usize)> = (0..8)
        .map(|i| (2048, i))
        .chain((0..3).map(|i| (1024, i)))
        .chain((0..2).map(|i| (3072, i)))
        .collect();
    let hashes = [
        Hash::Sha1,
        Hash::Sha224,
        Hash::Sha256,
        Hash::Sha384,
        Hash::Sha512,
        Hash::Sha3_256,
    ];
    let bcs = [Bc::Ca, Bc::NotCa, Bc::Absent];
    let kus = [
        Ku::DigitalSignature,
        Ku::KeyCertSign,
        Ku::Both,
        Ku::Absent,
        Ku::Neither,
    ];
    for n in 0..count {
        // distinct keys per case
        let mut keys = pool.clone();
        for i in (1..keys.len()).rev() {
            keys.swap(i, rng.below(i + 1));
        }
        let keys: Vec<_> = keys.into_iter().map(|(b, i)| x.k(b, i)).collect();
        let mut keys = keys.into_iter();
        let depth = 1 + rng.below(3);
        let rk = keys.next().unwrap();
        let rh = rng.pick(&hashes);
        let rakid = rng.pick(&Akid::ALL);
        // (a self-signed root with AKID keyid+issuer but no SKID is unparseable: covered by
        // fam_self_signed, avoided here so that root0 always exists)
        let rskid = rakid == Akid::Both || rng.chance(85);
        let root = x.root_with("rndroot", &rk, |s| s.hash(rh).akid(rakid).skid(rskid));
        let stranger_key = keys.next().unwrap();
        let stranger = x.root("rndstranger", &stranger_key);
        let mut chain: Vec<Arc<Cert>> = Vec::new();
        let mut parent = root.clone();
        for d in 0..depth {
            let k = keys.next().unwrap();
            let h = rng.pick(&hashes);
            let akid = rng.pick(&Akid::ALL);
            let skid = rng.chance(85);
            let (bc, ku) = (rng.pick(&bcs), rng.pick(&kus));
            let corrupt = if rng.chance(6) {
                rng.pick(&[Corrupt::SigLastByte, Corrupt::TbsSubject])
            } else {
                Corrupt::None
            };
            let signer = if rng.chance(6) {
                Signer::ByWithKey(parent.clone(), stranger_key.clone())
            } else {
                Signer::By(parent.clone())
            };
            let c = x.issue(
                if d + 1 == depth {
                    "rndleaf"
                } else {
                    "rndinter"
                },
                &k,
                signer,
                |s| {
                    s.hash(h)
                        .akid(akid)
                        .skid(skid)
                        .bc(bc)
                        .ku(ku)
                        .corrupt(corrupt)
                },
            );
            parent = c.clone();
            chain.push(c);
        }
        let anchor = rng.pick(&[Anchor::Key, Anchor::Ring, Anchor::Zero]);
        let chain_mode = anchor == Anchor::Zero || rng.chance(70);
        let mut c = Case::new(
            "random",
            format!(
                "{n:03}/{}-{}/depth{depth}",
                anchor.label(),
                if chain_mode { "chain" } else { "plain" }
            ),
        );
        c.note(format!("seed {seed:#x}, case {n}"));
        setup(&mut c, anchor, chain_mode, &[&root]);
        // add in order, sometimes shuffled, sometimes via link from a pool
        let mut order: Vec<usize> = (0..chain.len()).collect();
        if rng.chance(20) {
            order.reverse();
        }
        let via_link = rng.chance(25);
        if via_link {
            c.newring("pool");
        }
        for (j, i) in order.iter().enumerate() {
            let name = format!("c{i}_{j}");
            if via_link {
                c.load(&name, "pool", &chain[*i]);
                c.link(&name, "dest", "*");
            } else {
                c.add(&name, "dest", &chain[*i], "*");
            }
        }
        if rng.chance(30) {
            c.add("stranger", "dest", &stranger, "ENOKEY");
        }
        if rng.chance(30) {
            c.revoke("root0", "ok");
            c.add("after_revoke", "dest", chain.last().unwrap(), "*");
        }
        x.push(c);
    }
}

fn build_cases(g: &CertGen, seed: u64) -> Vec<Case> {
    let t = Instant::now();
    let mut wanted: Vec<(KeyAlg, usize)> = vec![(KeyAlg::Rsa(4096), 0), (KeyAlg::Rsa(4096), 1)];
    wanted.extend((0..2).map(|i| (KeyAlg::Rsa(3072), i)));
    wanted.extend((0..8).map(|i| (KeyAlg::Rsa(2048), i)));
    wanted.extend((0..3).map(|i| (KeyAlg::Rsa(1024), i)));
    wanted.push((KeyAlg::EcP256, 0));
    g.prefetch(&wanted);
    eprintln!("keys generated in {:.1?}", t.elapsed());
    let md5_ok = g.md5_supported();
    let mut x = Ctx {
        g,
        cases: vec![],
        next_serial: 1000,
        next_cn: 0,
    };
    fam_chains(&mut x);
    fam_hashes(&mut x, md5_ok);
    fam_key_sizes(&mut x);
    fam_ca_bits(&mut x);
    fam_akid_mismatch(&mut x);
    fam_unknown_issuer(&mut x);
    fam_self_signed(&mut x);
    fam_link(&mut x);
    fam_set_once(&mut x);
    fam_cycles(&mut x);
    fam_revoke(&mut x);
    fam_unlink_clear(&mut x);
    fam_reject_builtin(&mut x, md5_ok);
    fam_input(&mut x);
    fam_corrupt(&mut x);
    fam_misc(&mut x);
    fam_ecdsa(&mut x);
    round_two::fam_deep_chains(&mut x);
    round_two::fam_restricted_anchors(&mut x);
    round_two::fam_lifecycle(&mut x);
    round_two::fam_cycles_more(&mut x);
    round_two::fam_same_cert(&mut x);
    round_two::fam_encodings(&mut x);
    fam_random(&mut x, seed, 40);
    eprintln!("{} cases built in {:.1?}", x.cases.len(), t.elapsed());
    x.cases
}

// =============================================================================================
// Running
// =============================================================================================

#[derive(Default)]
struct Report {
    cases: usize,
    lines_total: usize,
    lines_compared: usize,
    lines_skipped: usize,
    /// model != kernel (agree == false)
    disagreements: Vec<String>,
    /// CLI's kernel verdict != independent keyctl verdict
    oracle_mismatches: Vec<String>,
    /// keyctl verdict not in the generator's expectation
    expectation_mismatches: Vec<String>,
    /// CLI crashed, malformed output, wrong exit code, missing lines...
    protocol_errors: Vec<String>,
    /// family -> (cases, lines compared)
    families: BTreeMap<String, (usize, usize)>,
    /// (family, kernel verdict) histogram from the oracle
    verdicts: BTreeMap<(String, String), usize>,
}

fn seen_str(s: &Seen) -> String {
    match s {
        Seen::Verdict(v) => v.clone(),
        Seen::Skipped => "skipped".into(),
        Seen::Undefined => "undefined".into(),
    }
}

/// Runs one case: the keyctl oracle (always) and the CLI (when `with_cli`).
fn run_case(case: &Case, script: &Path, prog_path: &Path, with_cli: bool, rep: &Mutex<Report>) {
    let label = format!("{} ({})", case.name, script.display());
    // Line numbers come from the file itself (corpus scripts have their own layout).
    let file_lines = script_command_lines(&fs::read_to_string(script).unwrap());
    if file_lines.len() != case.steps.len()
        || file_lines
            .iter()
            .zip(&case.steps)
            .any(|((_, t), s)| *t != s.cmd)
    {
        rep.lock()
            .unwrap()
            .protocol_errors
            .push(format!("{label}: script/case mismatch (test bug)"));
        return;
    }
    let step_lines: Vec<usize> = file_lines.iter().map(|(n, _)| *n).collect();
    let oracle = match run_oracle(script, prog_path) {
        Ok(o) => o,
        Err(e) => {
            rep.lock()
                .unwrap()
                .protocol_errors
                .push(format!("{label}: keyctl oracle: {e}"));
            return;
        }
    };
    let mut local_expect = Vec::new();
    let mut hist = Vec::new();
    for (st, ln) in case.steps.iter().zip(&step_lines) {
        let seen = &oracle[ln];
        hist.push(seen_str(seen));
        if let (Some(exp), Seen::Verdict(v)) = (&st.expect, seen) {
            if !exp.contains(v) {
                local_expect.push(format!(
                    "{label} line {ln} `{}`: kernel {v}, generator expected {}",
                    st.cmd,
                    exp.join("|")
                ));
            }
        }
        if let (Some(_), Seen::Undefined) = (&st.expect, seen) {
            local_expect.push(format!(
                "{label} line {ln} `{}`: refers to an undefined name on the kernel",
                st.cmd
            ));
        }
    }
    let mut compared = 0;
    let mut skipped = 0;
    let mut disagreements = Vec::new();
    let mut oracle_mm = Vec::new();
    let mut proto = Vec::new();
    if with_cli {
        // The model alone (no kernel involved, same crypto profile) must give the same verdicts
        // as the model column of the --kernel run: the kernel run must not leak into the model.
        let model_only: Option<HashMap<usize, Verdict>> = match run_cli(script, false) {
            Ok((lines, _)) => Some(lines.into_iter().map(|l| (l.line, l.model)).collect()),
            Err(e) => {
                proto.push(format!("{label}: model-only run: {e}"));
                None
            }
        };
        match run_cli(script, true) {
            Err(e) => proto.push(format!("{label}: {e}")),
            Ok((lines, code)) => {
                let by_line: HashMap<usize, &CliLine> = lines.iter().map(|l| (l.line, l)).collect();
                if by_line.len() != lines.len() {
                    proto.push(format!("{label}: duplicate line numbers in JSON output"));
                }
                let mut any_disagree = false;
                for (st, ln) in case.steps.iter().zip(&step_lines) {
                    let Some(cl) = by_line.get(ln) else {
                        proto.push(format!(
                            "{label}: no JSON object for line {ln} `{}`",
                            st.cmd
                        ));
                        continue;
                    };
                    if let Some(mo) = &model_only {
                        if mo.get(ln) != Some(&cl.model) {
                            proto.push(format!(
                                "{label} line {ln} `{}`: model says {} with --kernel but {:?} without",
                                st.cmd,
                                cl.model,
                                mo.get(ln)
                            ));
                        }
                    }
                    if cl.command.trim() != st.cmd {
                        proto.push(format!(
                            "{label} line {ln}: command echoed as {:?}, script has {:?}",
                            cl.command, st.cmd
                        ));
                    }
                    match &cl.kernel {
                        None => {
                            skipped += 1;
                            if cl.agree.is_some() {
                                proto.push(format!(
                                    "{label} line {ln}: skipped but agree = {:?}",
                                    cl.agree
                                ));
                            }
                            if let Seen::Verdict(v) = &oracle[ln] {
                                oracle_mm.push(format!(
                                    "{label} line {ln} `{}`: CLI skipped the kernel side, keyctl ran it ({v})",
                                    st.cmd
                                ));
                            }
                        }
                        Some(kv) => {
                            compared += 1;
                            let same = cl.model == *kv;
                            if cl.agree != Some(same) {
                                proto.push(format!(
                                    "{label} line {ln}: agree = {:?} but model {} / kernel {}",
                                    cl.agree, cl.model, kv
                                ));
                            }
                            if !same || cl.agree == Some(false) {
                                any_disagree = true;
                                disagreements.push(format!(
                                    "{label} line {ln} `{}`: model {} vs kernel {}",
                                    st.cmd, cl.model, kv
                                ));
                            }
                            match &oracle[ln] {
                                Seen::Verdict(ov) if ov == kv => {}
                                Seen::Undefined
                                    if case.steps.iter().any(|s| s.expect.is_none()) => {}
                                other => oracle_mm.push(format!(
                                    "{label} line {ln} `{}`: CLI kernel side {kv}, keyctl {}",
                                    st.cmd,
                                    seen_str(other)
                                )),
                            }
                        }
                    }
                }
                if lines.len() != step_lines.len() {
                    proto.push(format!(
                        "{label}: {} JSON objects for {} command lines",
                        lines.len(),
                        step_lines.len()
                    ));
                }
                let want = if any_disagree { 1 } else { 0 };
                if code != want {
                    proto.push(format!("{label}: exit code {code}, expected {want}"));
                }
            }
        }
    }
    let mut r = rep.lock().unwrap();
    r.cases += 1;
    r.lines_total += case.steps.len();
    r.lines_compared += compared;
    r.lines_skipped += skipped;
    r.disagreements.extend(disagreements);
    r.oracle_mismatches.extend(oracle_mm);
    r.expectation_mismatches.extend(local_expect);
    r.protocol_errors.extend(proto);
    let f = r.families.entry(case.family.to_string()).or_default();
    f.0 += 1;
    f.1 += compared;
    for v in hist {
        *r.verdicts.entry((case.family.to_string(), v)).or_default() += 1;
    }
}

/// Runs all cases with two worker threads; oracle programs go to `scratch`.
fn run_all(cases: &[(Case, PathBuf)], with_cli: bool, scratch: &Path) -> Report {
    fs::create_dir_all(scratch).unwrap();
    let rep = Mutex::new(Report::default());
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= cases.len() {
                    break;
                }
                let (case, script) = &cases[i];
                let prog = scratch.join(format!("{i:03}.oracle.sh"));
                run_case(case, script, &prog, with_cli, &rep);
            });
        }
    });
    rep.into_inner().unwrap()
}

fn print_list(title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    eprintln!("--- {title} ({}) ---", items.len());
    for i in items.iter().take(200) {
        eprintln!("  {i}");
    }
    if items.len() > 200 {
        eprintln!("  ... {} more", items.len() - 200);
    }
}

fn print_report(r: &Report, workdir: &Path) {
    eprintln!("\n================ kernel differential summary ================");
    eprintln!("work dir:          {}", workdir.display());
    eprintln!("cases:             {}", r.cases);
    eprintln!("command lines:     {}", r.lines_total);
    eprintln!("lines compared:    {}", r.lines_compared);
    eprintln!("lines skipped:     {}", r.lines_skipped);
    eprintln!("disagreements:     {}", r.disagreements.len());
    eprintln!("oracle mismatches: {}", r.oracle_mismatches.len());
    eprintln!("expectation fails: {}", r.expectation_mismatches.len());
    eprintln!("protocol errors:   {}", r.protocol_errors.len());
    eprintln!("per family (cases / lines compared):");
    for (f, (n, l)) in &r.families {
        let hist: Vec<String> = r
            .verdicts
            .iter()
            .filter(|((fam, _), _)| fam == f)
            .map(|((_, v), n)| format!("{v}:{n}"))
            .collect();
        eprintln!(
            "  {f:<16} {n:>4} / {l:>5}   kernel verdicts {}",
            hist.join(" ")
        );
    }
    print_list(
        "DISAGREEMENTS model vs kernel (case, script, line, verdicts)",
        &r.disagreements,
    );
    print_list(
        "CLI kernel side vs independent keyctl run",
        &r.oracle_mismatches,
    );
    print_list(
        "kernel vs generator expectation (generator bug or kernel change)",
        &r.expectation_mismatches,
    );
    print_list("protocol errors", &r.protocol_errors);
    eprintln!("=============================================================\n");
}

fn seed() -> u64 {
    std::env::var("TRUSTBENCH_DIFF_SEED")
        .ok()
        .and_then(|s| {
            let s = s.trim();
            s.strip_prefix("0x")
                .map(|h| u64::from_str_radix(h, 16).ok())
                .unwrap_or_else(|| s.parse().ok())
        })
        .unwrap_or(0x7472_7573_7462_656e)
}

/// Generates all cases into a fresh work dir. Returns (workdir guard, cases with script paths).
fn generate() -> (tempfile::TempDir, Vec<(Case, PathBuf)>) {
    let work = tempfile::Builder::new()
        .prefix("trustbench-diff-")
        .tempdir()
        .unwrap();
    let g = CertGen::new(&work.path().join("pki"));
    let seed = seed();
    eprintln!("randomized family seed: {seed:#x} (set TRUSTBENCH_DIFF_SEED to change)");
    let mut cases = build_cases(&g, seed);
    if let Ok(f) = std::env::var("TRUSTBENCH_DIFF_FILTER") {
        cases.retain(|c| c.name.contains(&f));
        eprintln!("TRUSTBENCH_DIFF_FILTER={f}: {} cases selected", cases.len());
    }
    let mut out = Vec::new();
    for (i, c) in cases.into_iter().enumerate() {
        let dir = work.path().join("cases").join(format!(
            "{i:03}-{}",
            certgen::sanitize(&c.name.replace('/', "_"))
        ));
        let script = c.write(&dir);
        out.push((c, script));
    }
    (work, out)
}

/// The committed example scripts, as cases whose expectations are their `# kernel:` comments.
fn corpus_cases() -> Vec<(Case, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpora/differential");
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(&dir) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "script"))
        .collect();
    paths.sort();
    for p in paths {
        let text = fs::read_to_string(&p).unwrap();
        let mut c = Case::new(
            "corpus",
            p.file_name().unwrap().to_string_lossy().to_string(),
        );
        let mut pending: Option<String> = None;
        for l in text.lines() {
            let t = l.trim();
            if let Some(v) = t.strip_prefix("# kernel:") {
                pending = Some(v.trim().to_string());
            } else if !t.is_empty() && !t.starts_with('#') {
                let ex = pending.take().unwrap_or_else(|| "*".into());
                let ex = if ex == "skipped" { "*".to_string() } else { ex };
                c.step(t.to_string(), &ex);
            }
        }
        out.push((c, p));
    }
    out
}

#[test]
fn kernel_differential() {
    if !environment_ready("kernel_differential") {
        return;
    }
    let t = Instant::now();
    let (work, mut cases) = generate();
    let generated = cases.len();
    let filtered = std::env::var("TRUSTBENCH_DIFF_FILTER").is_ok();
    cases.extend(corpus_cases());
    let rep = run_all(&cases, true, &work.path().join("oracle"));
    print_report(&rep, work.path());
    eprintln!("total time {:.1?}", t.elapsed());
    let ok = rep.disagreements.is_empty()
        && rep.protocol_errors.is_empty()
        && rep.oracle_mismatches.is_empty()
        && rep.expectation_mismatches.is_empty();
    let keep = !ok || std::env::var("TRUSTBENCH_DIFF_KEEP").is_ok();
    let workdir = work.path().to_path_buf();
    if keep {
        let p = work.keep();
        eprintln!("work dir kept: {}", p.display());
    }
    assert!(
        rep.disagreements.is_empty(),
        "{} lines where trustbench's model disagrees with the kernel (see summary above; scripts under {})",
        rep.disagreements.len(),
        workdir.display()
    );
    assert!(
        rep.protocol_errors.is_empty(),
        "{} protocol errors (see summary above)",
        rep.protocol_errors.len()
    );
    assert!(
        rep.oracle_mismatches.is_empty(),
        "{} lines where the CLI's kernel side differs from a plain keyctl run",
        rep.oracle_mismatches.len()
    );
    assert!(
        rep.expectation_mismatches.is_empty(),
        "{} kernel verdicts differ from the generator's expectations",
        rep.expectation_mismatches.len()
    );
    if !filtered {
        assert!(generated >= 200, "only {generated} generated cases");
        assert!(
            rep.lines_compared >= 1000,
            "only {} lines compared with the kernel",
            rep.lines_compared
        );
        assert!(
            rep.lines_compared * 10 >= rep.lines_total * 9,
            "too many skipped lines: {} compared of {}",
            rep.lines_compared,
            rep.lines_total
        );
    }
}

/// Generator self-check against the live kernel only (no trustbench CLI involved).
#[test]
#[ignore = "diagnostic: checks the generator's expectations with keyctl only"]
fn generator_expectations_hold_on_live_kernel() {
    if !environment_ready("generator_expectations_hold_on_live_kernel") {
        return;
    }
    let (work, mut cases) = generate();
    cases.extend(corpus_cases());
    let rep = run_all(&cases, false, &work.path().join("oracle"));
    print_report(&rep, work.path());
    if !rep.expectation_mismatches.is_empty()
        || !rep.protocol_errors.is_empty()
        || std::env::var("TRUSTBENCH_DIFF_KEEP").is_ok()
    {
        eprintln!("work dir kept: {}", work.keep().display());
    }
    assert!(rep.protocol_errors.is_empty());
    assert!(rep.expectation_mismatches.is_empty());
}

// =============================================================================================
// RSA verification: keyctl pkey_verify vs trustbench keyring pkey-verify
// =============================================================================================

#[test]
fn pkey_verify_matches_kernel() {
    if !environment_ready("pkey_verify_matches_kernel") {
        return;
    }
    let work = tempfile::Builder::new()
        .prefix("trustbench-pkey-")
        .tempdir()
        .unwrap();
    let g = CertGen::new(&work.path().join("pki"));
    let dir = work.path().join("pkey");
    fs::create_dir_all(&dir).unwrap();
    g.prefetch(&[
        (KeyAlg::Rsa(4096), 0),
        (KeyAlg::Rsa(3072), 0),
        (KeyAlg::Rsa(2048), 0),
        (KeyAlg::Rsa(1024), 0),
    ]);
    let data = dir.join("data.bin");
    fs::write(&data, b"trustbench pkey_verify differential\n").unwrap();
    let other_data = dir.join("other.bin");
    fs::write(&other_data, b"something else entirely\n").unwrap();
    let hashes = [
        "sha1", "sha224", "sha256", "sha384", "sha512", "sha3-256", "sha3-512",
    ];

    // (cert file, digest file, sig file, hash, label, expected kernel verdict or None)
    struct Probe {
        cert: PathBuf,
        digest: PathBuf,
        sig: PathBuf,
        hash: &'static str,
        label: String,
        expect: Option<&'static [&'static str]>,
    }
    let mut probes: Vec<Probe> = Vec::new();
    for bits in [1024u32, 2048, 3072, 4096] {
        let key = g.key(KeyAlg::Rsa(bits), 0);
        let cert = g.cert(CertSpec::new(
            &format!("pkey{bits}"),
            1,
            &key,
            Signer::SelfSigned,
        ));
        if bits <= 2048 {
            // A (k-1)-byte signature that verifies once zero-filled on the right, which is what
            // the kernel does with short RSA signatures (see certgen::rsa_raw).
            let rsa = certgen::rsa_raw::load(&dir, &key);
            let mut found = false;
            for i in 0u64..20_000 {
                let digest: Vec<u8> = (0..32u64)
                    .map(|j| {
                        ((i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                            ^ j.wrapping_mul(0xBF58_476D_1CE4_E5B9))
                            >> (j % 57)) as u8
                    })
                    .collect();
                if let Some(sig) = rsa.short_sig(&certgen::rsa_raw::em_sha256(rsa.k, &digest)) {
                    let d = dir.join(format!("{bits}-short-digest"));
                    let sp = dir.join(format!("{bits}-short-sig"));
                    fs::write(&d, &digest).unwrap();
                    fs::write(&sp, &sig).unwrap();
                    probes.push(Probe {
                        cert: cert.der_path.clone(),
                        digest: d,
                        sig: sp,
                        hash: "sha256",
                        label: format!("rsa{bits}/sha256/short-sig-right-zero-filled"),
                        expect: Some(&["ok"]),
                    });
                    found = true;
                    break;
                }
            }
            assert!(found, "could not craft a short signature");
        }
        for h in hashes {
            let p = |n: &str| dir.join(format!("{bits}-{h}-{n}"));
            certgen::rsa_sign::digest(&dir, h, &data, &p("digest"));
            certgen::rsa_sign::digest(&dir, h, &other_data, &p("digest-other"));
            certgen::rsa_sign::sign(&dir, &key, h, &p("digest"), &p("sig"));
            let good = fs::read(p("sig")).unwrap();
            let mut bad = good.clone();
            let mid = bad.len() / 2;
            bad[mid] ^= 0x01;
            fs::write(p("sig-corrupt-mid"), &bad).unwrap();
            let mut bad = good.clone();
            bad[0] ^= 0x80;
            fs::write(p("sig-corrupt-first"), &bad).unwrap();
            fs::write(p("sig-truncated"), &good[1..]).unwrap();
            // signature over the same data but with another hash's DigestInfo
            let oh = if h == "sha256" { "sha512" } else { "sha256" };
            certgen::rsa_sign::digest(&dir, oh, &data, &p("digest-oh"));
            certgen::rsa_sign::sign(&dir, &key, oh, &p("digest-oh"), &p("sig-wrong-hash"));
            // valid signature, different digest
            certgen::rsa_sign::sign(&dir, &key, h, &p("digest-other"), &p("sig-other-data"));
            let mk = |sig: &str,
                      digest: &str,
                      hash: &'static str,
                      label: &str,
                      expect: Option<&'static [&'static str]>| Probe {
                cert: cert.der_path.clone(),
                digest: p(digest),
                sig: p(sig),
                hash,
                label: format!("rsa{bits}/{h}/{label}"),
                expect,
            };
            probes.push(mk("sig", "digest", h, "valid", Some(&["ok"])));
            probes.push(mk(
                "sig-corrupt-mid",
                "digest",
                h,
                "corrupt-mid",
                Some(&["EINVAL", "EBADMSG", "EKEYREJECTED"]),
            ));
            probes.push(mk(
                "sig-corrupt-first",
                "digest",
                h,
                "corrupt-first",
                Some(&["EINVAL", "EBADMSG", "EKEYREJECTED"]),
            ));
            probes.push(mk(
                "sig-truncated",
                "digest",
                h,
                "truncated",
                Some(&["EINVAL", "EBADMSG"]),
            ));
            probes.push(mk(
                "sig-wrong-hash",
                "digest",
                h,
                "sig-made-with-other-hash",
                Some(&["EKEYREJECTED", "EBADMSG"]),
            ));
            probes.push(mk(
                "sig-other-data",
                "digest",
                h,
                "other-data",
                Some(&["EKEYREJECTED"]),
            ));
            // hash parameter names an algorithm with another digest length
            let ph: &'static str = if h == "sha1" { "sha256" } else { "sha1" };
            probes.push(mk(
                "sig",
                "digest",
                ph,
                "hash-param-other-length",
                Some(&["EINVAL"]),
            ));
            // ... or one with the same digest length (only the DigestInfo prefix differs)
            let same_len: Option<&'static str> = match h {
                "sha256" => Some("sha3-256"),
                "sha3-256" => Some("sha256"),
                "sha512" => Some("sha3-512"),
                "sha3-512" => Some("sha512"),
                _ => None,
            };
            if let Some(ph) = same_len {
                probes.push(mk(
                    "sig",
                    "digest",
                    ph,
                    "hash-param-same-length",
                    Some(&["EBADMSG", "EKEYREJECTED"]),
                ));
            }
        }
    }

    // Kernel side: one private session, one ring, every cert added once.
    let mut prog = String::from(
        "set -u\nERRF=$(mktemp)\nr=$(keyctl newring pkey @s)\nv() { if keyctl pkey_verify \"$@\" 2>\"$ERRF\" >/dev/null; then echo ok; else echo \"err $(tr '\\n' ' ' < \"$ERRF\")\"; fi; }\n",
    );
    let mut cert_var: HashMap<PathBuf, String> = HashMap::new();
    for (i, pr) in probes.iter().enumerate() {
        if !cert_var.contains_key(&pr.cert) {
            let var = format!("k{}", cert_var.len());
            let _ = writeln!(
                prog,
                "{var}=$(keyctl padd asymmetric \"\" \"$r\" < {})",
                shell_quote(pr.cert.to_str().unwrap())
            );
            cert_var.insert(pr.cert.clone(), var);
        }
        let _ = writeln!(
            prog,
            "echo \"P{i} $(v \"${}\" 0 {} {} enc=pkcs1 hash={})\"",
            cert_var[&pr.cert],
            shell_quote(pr.digest.to_str().unwrap()),
            shell_quote(pr.sig.to_str().unwrap()),
            pr.hash
        );
    }
    let prog_path = dir.join("kernel.sh");
    fs::write(&prog_path, &prog).unwrap();
    let out = Command::new("keyctl")
        .args(["session", "-", "bash"])
        .arg(&prog_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kernel run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut kernel: HashMap<usize, Verdict> = HashMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let (h, rest) = l.split_once(' ').unwrap();
        let i: usize = h.trim_start_matches('P').parse().unwrap();
        let v = if rest == "ok" {
            "ok".to_string()
        } else {
            errno_from_strerror(rest.trim_start_matches("err "))
        };
        kernel.insert(i, v);
    }
    assert_eq!(
        kernel.len(),
        probes.len(),
        "kernel run printed {} of {} verdicts",
        kernel.len(),
        probes.len()
    );

    let mut disagreements = Vec::new();
    let mut expectation = Vec::new();
    let mut protocol = Vec::new();
    let mut hist: BTreeMap<String, usize> = BTreeMap::new();
    for (i, pr) in probes.iter().enumerate() {
        let kv = &kernel[&i];
        *hist
            .entry(format!("{} -> {kv}", pr.label.rsplit('/').next().unwrap()))
            .or_default() += 1;
        if let Some(e) = pr.expect {
            if !e.contains(&kv.as_str()) {
                expectation.push(format!(
                    "{}: kernel {kv}, expected {}",
                    pr.label,
                    e.join("|")
                ));
            }
        }
        let out = Command::new(trustbench())
            .args(["keyring", "pkey-verify"])
            .arg(&pr.cert)
            .arg(&pr.digest)
            .arg(&pr.sig)
            .args(["--hash", pr.hash, "--json"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let code = out.status.code().unwrap_or(-1);
        let text = String::from_utf8_lossy(&out.stdout);
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(text.trim());
        let mv = match parsed {
            Ok(v) => match verdict_of(&v["result"], &v["errno"]) {
                Ok(m) => m,
                Err(e) => {
                    protocol.push(format!("{}: {e} in {text}", pr.label));
                    continue;
                }
            },
            Err(e) => {
                protocol.push(format!(
                    "{}: exit {code}, non-JSON output {:?} ({e}); stderr {}",
                    pr.label,
                    text,
                    String::from_utf8_lossy(&out.stderr)
                ));
                continue;
            }
        };
        let want_code = if mv == "ok" { 0 } else { 1 };
        if code != want_code {
            protocol.push(format!("{}: verdict {mv} but exit code {code}", pr.label));
        }
        if mv != *kv {
            disagreements.push(format!(
                "{}: model {mv} vs kernel {kv}  (trustbench keyring pkey-verify {} {} {} --hash {})",
                pr.label,
                pr.cert.display(),
                pr.digest.display(),
                pr.sig.display(),
                pr.hash
            ));
        }
    }
    eprintln!(
        "\n======== pkey_verify differential: {} probes ========",
        probes.len()
    );
    for (k, n) in &hist {
        eprintln!("  {k:<40} {n}");
    }
    print_list("DISAGREEMENTS", &disagreements);
    print_list("kernel vs expectation", &expectation);
    print_list("protocol errors", &protocol);
    if !(disagreements.is_empty() && protocol.is_empty() && expectation.is_empty()) {
        eprintln!("work dir kept: {}", work.keep().display());
    }
    assert!(protocol.is_empty(), "{} protocol errors", protocol.len());
    assert!(
        disagreements.is_empty(),
        "{} pkey_verify disagreements",
        disagreements.len()
    );
    assert!(
        expectation.is_empty(),
        "{} kernel verdicts differ from expectations",
        expectation.len()
    );
}

// =============================================================================================
// Committed corpus
// =============================================================================================

/// The curated example scripts committed under corpora/differential/.
fn corpus_build(x: &mut Ctx) -> Vec<(&'static str, Case)> {
    let mut out = Vec::new();
    let (k0, k1, k2, k3, k4) = (
        x.k(2048, 0),
        x.k(2048, 1),
        x.k(2048, 2),
        x.k(2048, 3),
        x.k(2048, 4),
    );

    // 1. chains and AKID layouts
    let root = x.root("root", &k0);
    let inter = x.inter("inter", &k1, &root);
    let mut c = Case::new("corpus", "chains_and_akids");
    c.note("root -> inter -> leaves with every AKID layout; keyring anchor + :chain, and a key anchor without :chain");
    c.newring("anchor");
    c.load("root", "anchor", &root);
    c.newring("chain");
    c.restrict("chain", "key_or_keyring:anchor:chain", "ok");
    let early = x.issue("leaf-keyid", &k2, Signer::By(inter.clone()), |s| {
        s.akid(Akid::KeyId)
    });
    c.add("leaf_too_early", "chain", &early, "ENOKEY");
    c.add("inter", "chain", &inter, "ok");
    c.add("leaf_keyid", "chain", &early, "ok");
    for (akid, n) in [
        (Akid::IssuerSerial, "leaf-issuer-serial"),
        (Akid::Both, "leaf-both"),
        (Akid::Absent, "leaf-noakid"),
    ] {
        let l = x.issue(n, &k2, Signer::By(inter.clone()), |s| s.akid(akid));
        c.add(&n.replace('-', "_"), "chain", &l, "ok");
    }
    let stranger = x.root("stranger", &k3);
    let sleaf = x.leaf("stranger-leaf", &k2, &stranger);
    c.add("stranger_leaf", "chain", &sleaf, "ENOKEY");
    c.add("stranger", "chain", &stranger, "ENOKEY");
    c.newring("direct");
    c.restrict("direct", "key_or_keyring:root", "ok");
    c.add("inter_direct", "direct", &inter, "ok");
    let l2 = x.issue("leaf-under-inter", &k4, Signer::By(inter.clone()), |s| s);
    c.add("leaf_direct", "direct", &l2, "ENOKEY");
    c.add("root_direct", "direct", &root, "ok");
    out.push(("chains_and_akids", c));

    // 2. signature algorithms, key sizes, damaged input
    let mut c = Case::new("corpus", "signatures");
    c.note("signature hashes, md5, RSA-PSS, key sizes, corrupted signatures, PEM input");
    c.newring("anchor");
    c.load("root", "anchor", &root);
    c.newring("dest");
    c.restrict("dest", "key_or_keyring:root", "ok");
    for alg in [
        SigAlg::pkcs1(Hash::Sha1),
        SigAlg::pkcs1(Hash::Sha224),
        SigAlg::pkcs1(Hash::Sha384),
        SigAlg::pkcs1(Hash::Sha512),
        SigAlg::pkcs1(Hash::Md5),
        SigAlg::pss(Hash::Sha256),
    ] {
        let l = x.issue(
            &format!("leaf-{}", alg.label()),
            &k2,
            Signer::By(root.clone()),
            |s| s.sig(alg),
        );
        c.add(
            &format!("leaf_{}", alg.label().replace('-', "_")),
            "dest",
            &l,
            "*",
        );
    }
    let l1024 = x.leaf("leaf-rsa1024", &x.k(1024, 0), &root);
    c.add("leaf_rsa1024", "dest", &l1024, "ok");
    let r4096 = x.root("root-rsa4096", &x.k(4096, 0));
    let l4096 = x.issue(
        "leaf-by-rsa4096",
        &x.k(3072, 0),
        Signer::By(r4096.clone()),
        |s| s.hash(Hash::Sha512),
    );
    c.load("root4096", "anchor", &r4096);
    c.newring("dest4096");
    c.restrict("dest4096", "key_or_keyring:anchor", "ok");
    c.add("leaf_by_rsa4096", "dest4096", &l4096, "ok");
    for (cv, n) in [
        (Corrupt::SigLastByte, "leaf-sig-last-byte"),
        (Corrupt::TbsSubject, "leaf-tbs-modified"),
    ] {
        let l = x.issue(n, &k2, Signer::By(root.clone()), |s| s.corrupt(cv));
        c.add(&n.replace('-', "_"), "dest", &l, "*");
    }
    let wrong = x.issue(
        "leaf-signed-by-3072",
        &k2,
        Signer::ByWithKey(root.clone(), x.k(3072, 0)),
        |s| s,
    );
    c.add("leaf_signed_by_3072", "dest", &wrong, "EINVAL");
    let good = x.leaf("leaf-good", &k2, &root);
    let pem = c.pem(&good);
    c.add_file("leaf_pem", "dest", &pem, "EBADMSG");
    c.add("leaf_good", "dest", &good, "ok");
    out.push(("signatures", c));

    // 3. AKID mismatches, CA bits, self-signed look-alikes
    let mut c = Case::new("corpus", "akid_mismatch_and_ca_bits");
    c.note("mismatched AKIDs, CA:FALSE issuers, a same-DN self-signed twin");
    let other = x.root("other", &k3);
    c.newring("anchor");
    c.load("root", "anchor", &root);
    c.newring("dest");
    c.restrict("dest", "key_or_keyring:anchor", "ok");
    let m1 = x.issue("akid-names-other", &k2, Signer::By(root.clone()), |s| {
        s.akid_names(other.auth_ref())
    });
    c.add("akid_names_other", "dest", &m1, "ENOKEY");
    let m2 = x.issue(
        "issuer-root-signed-by-other",
        &k2,
        Signer::ByWithKey(root.clone(), k3.clone()),
        |s| s,
    );
    c.add("signed_by_other", "dest", &m2, "*");
    let m3 = x.issue(
        "both-serial-root-keyid-other",
        &k2,
        Signer::By(root.clone()),
        |s| {
            s.akid(Akid::Both).akid_names(AuthRef {
                keyid: k3.skid.clone(),
                ..root.auth_ref()
            })
        },
    );
    c.add("both_mismatch", "dest", &m3, "ENOKEY");
    let m4 = x.issue(
        "dn-other-akid-root",
        &k2,
        Signer::ByWithKey(other.clone(), k0.clone()),
        |s| s.akid_names(root.auth_ref()),
    );
    c.add("dn_other_akid_root", "dest", &m4, "ok");
    let notca = x.issue("issuer-ca-false", &k1, Signer::By(root.clone()), |s| {
        s.bc(Bc::NotCa).ku(Ku::DigitalSignature)
    });
    let under = x.leaf("leaf-under-ca-false", &k4, &notca);
    c.load("notca", "anchor", &notca);
    c.newring("bynotca");
    c.restrict("bynotca", "key_or_keyring:notca", "ok");
    c.add("leaf_under_ca_false", "bynotca", &under, "ok");
    let twin =
        x.g.cert(CertSpec::new(&root.cn, 77, &k3, Signer::SelfSigned).akid(Akid::Absent));
    let f = c.raw("root-twin.der", &twin.der_path);
    c.add_file("same_dn_twin", "dest", &f, "*");
    out.push(("akid_mismatch_and_ca_bits", c));

    // 4. restriction lifecycle
    let mut c = Case::new("corpus", "restriction_lifecycle");
    c.note("set-once, cycles, revocation, unlink/clear, reject, builtin_trusted, key_or_keyring:0");
    let leaf = x.leaf("lifecycle-leaf", &k2, &root);
    let leaf2 = x.leaf("lifecycle-leaf2", &k4, &root);
    c.newring("anchor");
    c.load("root", "anchor", &root);
    c.newring("a");
    c.newring("b");
    c.restrict("a", "key_or_keyring:b", "ok");
    c.restrict("b", "key_or_keyring:a", "EDEADLK");
    c.restrict("a", "key_or_keyring:anchor", "EEXIST");
    c.newring("zero");
    c.restrict("zero", "key_or_keyring:0", "ENOKEY");
    c.restrict("zero", "key_or_keyring:0:chain", "ok");
    c.add("zero_leaf", "zero", &leaf, "ENOKEY");
    c.newring("nope");
    c.restrict("nope", "reject", "ok");
    c.add("nope_leaf", "nope", &leaf, "EPERM");
    c.newring("bt");
    c.restrict("bt", "builtin_trusted", "ok");
    c.add("bt_leaf", "bt", &leaf, "ENOKEY");
    c.newring("byring");
    c.restrict("byring", "key_or_keyring:anchor", "ok");
    c.newring("bykey");
    c.restrict("bykey", "key_or_keyring:root", "ok");
    c.add("byring_leaf", "byring", &leaf, "ok");
    c.link("byring_leaf", "bykey", "ok");
    c.link("anchor", "bykey", "EOPNOTSUPP");
    c.revoke("root", "ok");
    c.add("bykey_leaf2", "bykey", &leaf2, "EKEYREVOKED");
    c.add("byring_leaf2", "byring", &leaf2, "ENOKEY");
    c.load("root_again", "anchor", &root);
    c.add("byring_leaf2_retry", "byring", &leaf2, "ok");
    c.clear("anchor", "ok");
    c.add("byring_after_clear", "byring", &leaf, "ENOKEY");
    out.push(("restriction_lifecycle", c));
    out
}

/// Rewrites corpora/differential/ from scratch (new keys) and records the live kernel's
/// verdict for every line as a `# kernel:` comment.
#[test]
#[ignore = "rewrites corpora/differential/; run by hand"]
fn regenerate_corpus() {
    if !environment_ready("regenerate_corpus") {
        return;
    }
    let work = tempfile::Builder::new()
        .prefix("trustbench-corpus-")
        .tempdir()
        .unwrap();
    let g = CertGen::new(&work.path().join("pki"));
    let mut x = Ctx {
        g: &g,
        cases: vec![],
        next_serial: 100,
        next_cn: 0,
    };
    let built = corpus_build(&mut x);
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpora/differential");
    fs::create_dir_all(&target).unwrap();
    for e in fs::read_dir(&target).unwrap() {
        let p = e.unwrap().path();
        if p.extension()
            .is_some_and(|e| e == "script" || e == "der" || e == "pem")
        {
            fs::remove_file(p).unwrap();
        }
    }
    // Certificates are named after their CN (no counters) in the corpus.
    for (name, mut case) in built {
        let mut renamed = BTreeMap::new();
        let mut steps = case.steps.clone();
        for (f, src) in &case.files {
            let clean = strip_counter(f);
            let prev = renamed.insert(f.clone(), clean.clone());
            assert!(prev.is_none());
            let dst = target.join(&clean);
            if dst.exists() {
                assert_eq!(
                    fs::read(&dst).unwrap(),
                    fs::read(src).unwrap(),
                    "corpus file name clash: {clean}"
                );
            } else {
                fs::copy(src, &dst).unwrap();
            }
        }
        for st in &mut steps {
            let mut w: Vec<String> = st.cmd.split_whitespace().map(str::to_string).collect();
            if matches!(w[0].as_str(), "add" | "load") {
                w[3] = renamed[&w[3]].clone();
            }
            st.cmd = w.join(" ");
        }
        case.steps = steps;
        case.files.clear();
        // First run without verdicts to learn them, then write the final script.
        let script = target.join(format!("{name}.script"));
        fs::write(&script, case.render(None).0).unwrap();
        let seen =
            run_oracle(&script, &work.path().join(format!("{name}.oracle.sh"))).expect("oracle");
        let (_, lines) = case.render(None);
        let verdicts: Vec<Option<Verdict>> = lines
            .iter()
            .map(|l| match &seen[l] {
                Seen::Verdict(v) => Some(v.clone()),
                _ => None,
            })
            .collect();
        for ((st, v), l) in case.steps.iter().zip(&verdicts).zip(&lines) {
            if let (Some(e), Some(v)) = (&st.expect, v) {
                assert!(
                    e.contains(v),
                    "{name}.script line {l} `{}`: kernel {v}, expected {}",
                    st.cmd,
                    e.join("|")
                );
            }
        }
        let mut text = String::new();
        text.push_str("# Generated by `cargo test --test kernel_differential -- --ignored regenerate_corpus`;\n");
        text.push_str("# `# kernel:` = the live kernel's verdict for the next line (Linux 6.18, keyctl in a private session).\n");
        text.push_str(&case.render(Some(&verdicts)).0);
        fs::write(&script, text).unwrap();
        eprintln!("wrote {}", script.display());
    }
}

/// "root-3.der" -> "root.der" (CN counters are only there to keep generated names unique).
fn strip_counter(f: &str) -> String {
    let (stem, ext) = f.rsplit_once('.').unwrap();
    let base = match stem.rsplit_once('-') {
        Some((b, n)) if !b.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => b,
        _ => stem,
    };
    format!("{base}.{ext}")
}
