//! The layered system keyrings (builtin, secondary, machine, platform, ima, blacklist,
//! ima_blacklist) and their gatekeepers, checked through the CLI against the kernel rules of
//! `../shared/docs/kernel-trust-model.md` (§1, §2, §3, §5, §7).
//!
//! Userspace cannot write the live kernel's system keyrings, so nothing here talks to the
//! kernel: every case checks the MODEL against the documented kernel rule, with exact errnos.
//! Where the spec and the model disagree the test asserts the spec and its message says so
//! ("MODEL MISMATCH"); `corpora/layered/README.md` lists the known ones with reproducers.
//!
//! How the cases are written:
//! * `keyring replay` scripts are written inline, one command per line, each followed by
//!   `# expect VERDICT` (`ok` or an errno name). The harness writes the script next to the
//!   certificates, runs `trustbench keyring replay --json [FLAGS] SCRIPT`, and compares every
//!   line; all differences are reported at once together with the script.
//! * `verify --keyring-setup` scripts use the same notation; failed setup lines only show up
//!   as warnings on stderr (`'LINE' failed with ERRNO`), which the harness checks against the
//!   expectations, and the JSON verdicts of the verified paths are checked per path.
//! * The certificates come from `tests/support/certgen.rs` (openssl with exact extension
//!   sets, fresh RSA-2048 keys per run), except the two keyid-collision certificates, which
//!   need hand-picked SKIDs and are made here with an explicit openssl extension config.
//!   Each certificate is copied to `<work>/<name>.der`, so a failing script can be replayed
//!   by hand from the work directory `target/tmp/layered_keyrings/run-<pid>/`, which is kept.
//!
//! Tools: `openssl` (all tests), the kernel's `scripts/sign-file` (module cases) and `evmctl`
//! (IMA cases), looked up through `tests/common` (skip with a banner, or fail under CI=true).

#[path = "support/certgen.rs"]
mod certgen;
mod common;

use certgen::{Bc, Cert, CertGen, CertSpec, Hash, KeyAlg, Ku, Signer};
use common::{describe, parse_json_lines, require_tool, run_ok, run_output, sign_file, trustbench};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

const RSA: KeyAlg = KeyAlg::Rsa(2048);

/// The shared 32-bit IMA keyid (last 4 bytes of both collision certificates' SKIDs).
const COLLIDING_KEYID: &str = "c0111de5";

// =============================================================================================
// The PKI (built once per test binary)
// =============================================================================================

/// A certificate and its private key.
struct Ident {
    der: PathBuf,
    key: PathBuf,
    /// Subject CN (the key description starts with it).
    cn: String,
}

struct Pki {
    dir: PathBuf,
    ids: HashMap<&'static str, Ident>,
}

impl Pki {
    fn ident(&self, name: &str) -> &Ident {
        self.ids
            .get(name)
            .unwrap_or_else(|| panic!("no certificate named {name}"))
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

static PKI: OnceLock<Pki> = OnceLock::new();

/// The shared PKI, or `None` (after a skip banner) without openssl.
fn pki() -> Option<&'static Pki> {
    require_tool("openssl")?;
    Some(PKI.get_or_init(build_pki))
}

/// `target/tmp/layered_keyrings/run-<pid>`: one directory per test process, so that
/// concurrent `cargo test` runs do not share files. Directories of processes that are gone
/// are removed; this run's is kept for inspection.
fn work_dir() -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("layered_keyrings");
    fs::create_dir_all(&base).unwrap();
    for e in fs::read_dir(&base).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("run-") {
            if !Path::new("/proc").join(pid).exists() {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = base.join(format!("run-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// What every certificate is for (name, made by `build_pki`):
///
/// | name | key | signed by | basicConstraints / keyUsage | used for |
/// |---|---|---|---|---|
/// | root | 0 | self | CA / keyCertSign | the builtin CA |
/// | unknown | 1 | self | CA / keyCertSign | an untrusted CA |
/// | inter | 2 | root | CA / keyCertSign | secondary-only CA |
/// | inter-leaf | 3 | inter | CA:FALSE / digitalSignature | chain growth in secondary |
/// | mok | 4 | self | CA / keyCertSign | .machine key (MOK) |
/// | mok-leaf | 5 | mok | CA:FALSE / digitalSignature | vouched for by .machine |
/// | unknown-leaf | 6 | unknown | CA:FALSE / digitalSignature | unknown signer |
/// | root-leaf | 7 | root | CA:FALSE / digitalSignature | secondary key, module signer |
/// | grandchild | 8 | root-leaf | CA:FALSE / digitalSignature | signed by a non-CA key |
/// | ima-leaf | 9 | root | CA:FALSE / digitalSignature | .ima key, IMA signer |
/// | ima-ca-true | 10 | root | CA / digitalSignature | .ima: CA rejected |
/// | ima-kcs | 11 | root | CA:FALSE / digitalSignature+keyCertSign | .ima: keyCertSign rejected |
/// | ima-noku | 12 | root | CA:FALSE / (no keyUsage) | .ima: no digitalSignature |
/// | ima-ku-neither | 13 | root | CA:FALSE / keyEncipherment | .ima: no digitalSignature |
/// | ima-under-inter | 14 | inter | CA:FALSE / digitalSignature | .ima via secondary only |
/// | ima-under-mok | 15 | mok | CA:FALSE / digitalSignature | .ima via machine only |
/// | ima-ca-under-inter | 16 | inter | CA / digitalSignature | .ima: CA even via secondary |
/// | leaf-sha384 | 17 | root (sha384WithRSA) | CA:FALSE / digitalSignature | TBS hash algorithm |
/// | mok-ca-nokcs | 18 | self | CA / digitalSignature | machine CA gate |
/// | mok-ca-both | 19 | self | CA / digitalSignature+keyCertSign | machine CA gate (_MAX) |
/// | mok-ca-noku | 20 | self | CA / (no keyUsage) | machine CA gate |
/// | mok-self-leaf | 21 | self | CA:FALSE / digitalSignature | machine CA gate |
/// | collide-a, collide-b | 22, 23 | self | CA:FALSE / digitalSignature, SKID …c0111de5 | IMA keyid collision |
fn build_pki() -> Pki {
    let dir = work_dir();
    let gen = CertGen::new(&dir.join("gen"));
    let wanted: Vec<(KeyAlg, usize)> = (0..24).map(|i| (RSA, i)).collect();
    gen.prefetch(&wanted);
    let k = |i: usize| gen.key(RSA, i);

    let mut certs: HashMap<&'static str, Arc<Cert>> = HashMap::new();
    let mut serial = 100u64;
    let mut make = |name: &'static str, spec: CertSpec| {
        let c = gen.cert(spec);
        certs.insert(name, c.clone());
        c
    };
    let mut next = || {
        serial += 1;
        serial
    };
    let ss = |n: &str, s: u64, i: usize| CertSpec::new(n, s, &k(i), Signer::SelfSigned);
    let by = |n: &str, s: u64, i: usize, c: &Arc<Cert>| {
        CertSpec::new(n, s, &k(i), Signer::By(c.clone()))
    };

    let root = make("root", ss("root", next(), 0));
    let unknown = make("unknown", ss("unknown", next(), 1));
    let inter = make("inter", by("inter", next(), 2, &root).ca());
    make("inter-leaf", by("inter-leaf", next(), 3, &inter));
    let mok = make("mok", ss("mok", next(), 4));
    make("mok-leaf", by("mok-leaf", next(), 5, &mok));
    make("unknown-leaf", by("unknown-leaf", next(), 6, &unknown));
    let root_leaf = make("root-leaf", by("root-leaf", next(), 7, &root));
    make("grandchild", by("grandchild", next(), 8, &root_leaf));
    make("ima-leaf", by("ima-leaf", next(), 9, &root));
    make(
        "ima-ca-true",
        by("ima-ca-true", next(), 10, &root)
            .bc(Bc::Ca)
            .ku(Ku::DigitalSignature),
    );
    make("ima-kcs", by("ima-kcs", next(), 11, &root).ku(Ku::Both));
    make("ima-noku", by("ima-noku", next(), 12, &root).ku(Ku::Absent));
    make(
        "ima-ku-neither",
        by("ima-ku-neither", next(), 13, &root).ku(Ku::Neither),
    );
    make("ima-under-inter", by("ima-under-inter", next(), 14, &inter));
    make("ima-under-mok", by("ima-under-mok", next(), 15, &mok));
    make(
        "ima-ca-under-inter",
        by("ima-ca-under-inter", next(), 16, &inter)
            .bc(Bc::Ca)
            .ku(Ku::DigitalSignature),
    );
    make(
        "leaf-sha384",
        by("leaf-sha384", next(), 17, &root).hash(Hash::Sha384),
    );
    make(
        "mok-ca-nokcs",
        ss("mok-ca-nokcs", next(), 18).ku(Ku::DigitalSignature),
    );
    make("mok-ca-both", ss("mok-ca-both", next(), 19).ku(Ku::Both));
    make("mok-ca-noku", ss("mok-ca-noku", next(), 20).ku(Ku::Absent));
    make(
        "mok-self-leaf",
        ss("mok-self-leaf", next(), 21)
            .bc(Bc::NotCa)
            .ku(Ku::DigitalSignature),
    );

    let mut ids = HashMap::new();
    for (name, c) in &certs {
        let der = dir.join(format!("{name}.der"));
        fs::copy(&c.der_path, &der).unwrap();
        ids.insert(
            *name,
            Ident {
                der,
                key: c.key.private_pem.clone(),
                cn: c.cn.clone(),
            },
        );
    }
    for (name, idx, head) in [("collide-a", 22, "aa"), ("collide-b", 23, "bb")] {
        let key = gen.key(RSA, idx);
        let skid = format!("{}{COLLIDING_KEYID}", head.repeat(16));
        let der = collision_cert(&dir, name, &key.private_pem, &skid);
        ids.insert(
            name,
            Ident {
                der,
                key: key.private_pem.clone(),
                cn: name.to_string(),
            },
        );
    }
    Pki { dir, ids }
}

/// A self-signed CA:FALSE / digitalSignature certificate whose SKID is `skid_hex` (20
/// bytes), written as a raw DER extension as certgen does (`2.5.29.14=DER:04:14:…`, with
/// OpenSSL's own SKID/AKID switched off). The SKID is read back to be sure.
fn collision_cert(dir: &Path, name: &str, key: &Path, skid_hex: &str) -> PathBuf {
    assert_eq!(skid_hex.len(), 40);
    let bytes: Vec<String> = (0..20)
        .map(|i| skid_hex[2 * i..2 * i + 2].to_string())
        .collect();
    let cnf = dir.join(format!("{name}.cnf"));
    fs::write(
        &cnf,
        format!(
            "[ext]\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n\
             basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             2.5.29.14=DER:04:14:{}\n",
            bytes.join(":")
        ),
    )
    .unwrap();
    let der = dir.join(format!("{name}.der"));
    let subj = format!("/CN={name}");
    certgen::openssl(
        dir,
        &[
            "x509",
            "-new",
            "-subj",
            &subj,
            "-key",
            key.to_str().unwrap(),
            "-set_serial",
            "4242",
            "-days",
            "3650",
            "-extfile",
            cnf.to_str().unwrap(),
            "-extensions",
            "ext",
            "-sha256",
            "-outform",
            "DER",
            "-out",
            der.to_str().unwrap(),
        ],
    );
    let text = certgen::openssl(
        dir,
        &[
            "x509",
            "-inform",
            "DER",
            "-in",
            der.to_str().unwrap(),
            "-noout",
            "-ext",
            "subjectKeyIdentifier",
        ],
    );
    let text = String::from_utf8_lossy(&text).replace([':', ' ', '\n'], "");
    assert!(
        text.to_lowercase().ends_with(skid_hex),
        "{name}: SKID not as configured: {text}"
    );
    der
}

// =============================================================================================
// Hashes
// =============================================================================================

/// `openssl dgst -<alg> -binary FILE` as lowercase hex.
fn digest_hex(dir: &Path, alg: &str, file: &Path) -> String {
    let d = certgen::openssl(
        dir,
        &[
            "dgst",
            &format!("-{alg}"),
            "-binary",
            file.to_str().unwrap(),
        ],
    );
    certgen::hex(&d)
}

/// The TBSCertificate of `name` extracted with `openssl asn1parse -strparse OFFSET`, where
/// OFFSET is the first depth-1 element of the certificate (4 for the usual `30 82 LL LL`
/// header, but read from asn1parse rather than assumed). Cross-checked against certgen's
/// DER walker: the extracted bytes must be the whole TBS element (tag and length included),
/// as the kernel hashes it.
fn tbs_file(pki: &Pki, name: &str) -> PathBuf {
    let der = &pki.ident(name).der;
    let listing = certgen::openssl(
        &pki.dir,
        &["asn1parse", "-inform", "DER", "-in", der.to_str().unwrap()],
    );
    let listing = String::from_utf8_lossy(&listing);
    let offset: usize = listing
        .lines()
        .find(|l| l.contains(":d=1 "))
        .and_then(|l| l.split(':').next())
        .map(|s| s.trim().parse().unwrap())
        .unwrap_or_else(|| panic!("no depth-1 element in asn1parse output:\n{listing}"));
    let out = pki.path(&format!("{name}.tbs"));
    certgen::openssl(
        &pki.dir,
        &[
            "asn1parse",
            "-inform",
            "DER",
            "-in",
            der.to_str().unwrap(),
            "-strparse",
            &offset.to_string(),
            "-out",
            out.to_str().unwrap(),
            "-noout",
        ],
    );
    let bytes = fs::read(der).unwrap();
    let top = certgen::der::read(&bytes, 0);
    let tbs = certgen::der::children(&bytes, &top)[0];
    assert_eq!(
        offset, 4,
        "{name}: TBS expected right after a 30 82 LL LL header"
    );
    assert_eq!(
        fs::read(&out).unwrap(),
        tbs.whole(&bytes),
        "{name}: openssl -strparse {offset} did not extract the whole TBSCertificate"
    );
    out
}

/// Hex digest of `name`'s TBSCertificate with `alg`. Computed once per (certificate,
/// algorithm) under a lock: the tests run in parallel and share the `.tbs` files.
fn tbs_hash(pki: &Pki, name: &str, alg: &str) -> String {
    static CACHE: Mutex<BTreeMap<(String, String), String>> = Mutex::new(BTreeMap::new());
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry((name.to_string(), alg.to_string()))
        .or_insert_with(|| digest_hex(&pki.dir, alg, &tbs_file(pki, name)))
        .clone()
}

// =============================================================================================
// Scripts with expectations
// =============================================================================================

/// One script command and the verdict the spec gives it.
#[derive(Debug)]
struct Expect {
    line: usize,
    command: String,
    verdict: String,
}

/// Parses `COMMAND   # expect VERDICT [comment]` lines (blank and pure comment lines are
/// skipped; every command line must carry an expectation).
fn expectations(script: &str) -> Vec<Expect> {
    let mut out = Vec::new();
    for (i, raw) in script.lines().enumerate() {
        let (cmd, comment) = raw.split_once('#').unwrap_or((raw, ""));
        let cmd = cmd.trim();
        if cmd.is_empty() {
            continue;
        }
        let verdict = comment
            .trim()
            .strip_prefix("expect ")
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("script line {} has no '# expect': {raw}", i + 1));
        out.push(Expect {
            line: i + 1,
            command: cmd.to_string(),
            verdict: verdict.to_string(),
        });
    }
    out
}

/// Writes `script` as `<work>/<name>.script` (certificate names resolve in the work dir).
fn write_script(pki: &Pki, name: &str, script: &str) -> PathBuf {
    let p = pki.path(&format!("{name}.script"));
    fs::write(&p, script).unwrap();
    p
}

fn numbered(script: &str) -> String {
    let mut s = String::new();
    for (i, l) in script.lines().enumerate() {
        let _ = writeln!(s, "{:>3}  {l}", i + 1);
    }
    s
}

/// Runs `trustbench keyring replay --json FLAGS` and checks every line's verdict.
fn replay(pki: &Pki, name: &str, flags: &[&str], script: &str) {
    let exp = expectations(script);
    let path = write_script(pki, name, script);
    let mut cmd = trustbench();
    cmd.args(["keyring", "replay", "--json"])
        .args(flags)
        .arg(&path);
    let cmdline = describe(&cmd);
    let out = run_output(&mut cmd);
    assert_eq!(
        out.code(),
        0,
        "{cmdline}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.stdout,
        out.stderr
    );
    let recs = parse_json_lines(&out.stdout);
    assert_eq!(recs.len(), exp.len(), "{cmdline}\n{}", out.stdout);
    let mut bad = Vec::new();
    for (e, r) in exp.iter().zip(&recs) {
        assert_eq!(r["line"].as_u64(), Some(e.line as u64), "{r}");
        let got = match r["result"].as_str() {
            Some("ok") => "ok".to_string(),
            _ => r["errno"].as_str().unwrap_or("?").to_string(),
        };
        if got != e.verdict {
            bad.push(format!(
                "  line {:>3}: {:<55} spec {:<13} model {got}",
                e.line, e.command, e.verdict
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "MODEL MISMATCH in `{cmdline}`:\n{}\n--- script ---\n{}",
        bad.join("\n"),
        numbered(script)
    );
}

/// Checks the setup script's failure warnings on stderr against its expectations.
fn check_setup_warnings(
    setup_path: &Path,
    setup: &str,
    stderr: &str,
    context: &str,
) -> Vec<String> {
    let mut bad = Vec::new();
    let shown = setup_path.display().to_string();
    for e in expectations(setup) {
        let prefix = format!("{shown}:{}: '{}' failed with ", e.line, e.command);
        let got = stderr
            .lines()
            .find_map(|l| l.split_once(&prefix).map(|(_, rest)| rest))
            .map(|rest| rest.split_whitespace().next().unwrap_or("?").to_string())
            .unwrap_or_else(|| "ok".to_string());
        if got != e.verdict {
            bad.push(format!(
                "  setup line {:>3}: {:<50} spec {:<13} model {got}   [{context}]",
                e.line, e.command, e.verdict
            ));
        }
    }
    bad
}

/// One `trustbench verify --json` run.
struct VerifyRun {
    cmdline: String,
    stderr: String,
    stdout: String,
    /// Verdict records keyed by path.
    by_path: HashMap<PathBuf, Value>,
    /// Mismatches of the setup lines.
    setup_problems: Vec<String>,
}

impl VerifyRun {
    fn rec(&self, p: &Path) -> &Value {
        self.by_path
            .get(p)
            .unwrap_or_else(|| panic!("no record for {}\n{}", p.display(), self.context()))
    }

    fn context(&self) -> String {
        format!(
            "`{}`\n--- stdout ---\n{}--- stderr ---\n{}",
            self.cmdline, self.stdout, self.stderr
        )
    }

    /// "valid" or the errno name of an invalid/unsigned verdict.
    fn outcome(&self, p: &Path) -> String {
        let r = self.rec(p);
        match r["verdict"].as_str() {
            Some("valid") => "valid".into(),
            _ => r["errno"].as_str().unwrap_or("?").to_string(),
        }
    }

    fn signer(&self, p: &Path) -> Option<String> {
        self.rec(p)["signer"].as_str().map(str::to_string)
    }
}

/// `trustbench verify --json FLAGS [--keyring-setup SETUP] PATHS`.
fn verify(
    pki: &Pki,
    name: &str,
    flags: &[&str],
    setup: Option<&str>,
    paths: &[&Path],
) -> VerifyRun {
    let mut cmd = trustbench();
    cmd.args(["verify", "--json"]).args(flags);
    let mut setup_path = None;
    if let Some(s) = setup {
        let p = write_script(pki, name, s);
        cmd.arg("--keyring-setup").arg(&p);
        setup_path = Some(p);
    }
    cmd.args(paths);
    let cmdline = describe(&cmd);
    let out = run_output(&mut cmd);
    assert!(
        matches!(out.code(), 0 | 1),
        "`{cmdline}` exited {}\n{}\n{}",
        out.code(),
        out.stdout,
        out.stderr
    );
    let mut by_path = HashMap::new();
    for r in parse_json_lines(&out.stdout) {
        let p = PathBuf::from(r["path"].as_str().expect("path field"));
        by_path.insert(p, r);
    }
    let setup_problems = match (setup, &setup_path) {
        (Some(s), Some(p)) => check_setup_warnings(p, s, &out.stderr, name),
        _ => Vec::new(),
    };
    VerifyRun {
        cmdline,
        stderr: out.stderr,
        stdout: out.stdout,
        by_path,
        setup_problems,
    }
}

/// Checks each path's outcome ("valid" or an errno) and the setup warnings; reports
/// everything at once.
fn expect_outcomes(run: &VerifyRun, setup: Option<&str>, want: &[(&Path, &str)]) {
    let mut bad = run.setup_problems.clone();
    for (p, w) in want {
        let got = run.outcome(p);
        if got != *w {
            bad.push(format!(
                "  {:<40} spec {:<13} model {got}",
                p.file_name().unwrap().to_string_lossy(),
                w
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "MODEL MISMATCH:\n{}\n--- setup ---\n{}\n{}",
        bad.join("\n"),
        setup.map(numbered).unwrap_or_default(),
        run.context()
    );
}

/// `trustbench keyring show FLAGS --keyring-setup SETUP` → (stdout, setup problems).
fn show(pki: &Pki, name: &str, flags: &[&str], setup: &str) -> (String, Vec<String>) {
    let p = write_script(pki, name, setup);
    let mut cmd = trustbench();
    cmd.args(["keyring", "show"])
        .args(flags)
        .arg("--keyring-setup")
        .arg(&p);
    let cmdline = describe(&cmd);
    let out = run_output(&mut cmd);
    assert_eq!(out.code(), 0, "`{cmdline}`\n{}\n{}", out.stdout, out.stderr);
    let problems = check_setup_warnings(&p, setup, &out.stderr, name);
    (out.stdout, problems)
}

/// The `/proc/keys`-like line count of keyring `ring` in `keyring show` output.
fn ring_len(show_out: &str, ring: &str) -> usize {
    let needle = format!(" keyring   {ring}: ");
    show_out
        .lines()
        .find_map(|l| l.split_once(&needle).map(|(_, r)| r))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no line for {ring} in:\n{show_out}"))
}

/// Whether `keyring show` lists an asymmetric key with subject CN `cn`.
fn has_key(show_out: &str, cn: &str) -> bool {
    let needle = format!(" asymmetri {cn}: ");
    show_out.lines().any(|l| l.contains(&needle))
}

// =============================================================================================
// Signing
// =============================================================================================

/// Signs a small made-up module with `sign-file sha256 KEY CERT` → `<work>/<out>.ko`.
fn signed_module(sf: &Path, pki: &Pki, signer: &str, out: &str) -> PathBuf {
    let id = pki.ident(signer);
    let body = pki.path(&format!("{out}.unsigned"));
    let mut data = String::new();
    for i in 0..64u32 {
        let _ = writeln!(data, "module {out} signed by {signer}, line {i}");
    }
    fs::write(&body, data).unwrap();
    let dest = pki.path(&format!("{out}.ko"));
    run_ok(
        Command::new(sf)
            .arg("sha256")
            .arg(&id.key)
            .arg(&id.der)
            .arg(&body)
            .arg(&dest),
    );
    dest
}

/// Writes `<work>/<out>` and signs it with `evmctl ima_sign --sigfile` (sha256, keyid from
/// the certificate's SKID) → `<work>/<out>.sig`. Checks that the header carries `keyid`
/// when given.
fn ima_signed_file(
    evmctl: &Path,
    pki: &Pki,
    signer: &str,
    out: &str,
    keyid: Option<&str>,
) -> PathBuf {
    let id = pki.ident(signer);
    let f = pki.path(out);
    fs::write(&f, format!("file {out} signed by {signer}\n").repeat(40)).unwrap();
    run_ok(
        Command::new(evmctl)
            .args(["ima_sign", "--sigfile", "-a", "sha256", "--key"])
            .arg(&id.key)
            .arg("--keyid-from-cert")
            .arg(&id.der)
            .arg(&f),
    );
    let sig = fs::read(pki.path(&format!("{out}.sig"))).expect("evmctl wrote no .sig");
    assert_eq!(sig[0], 3, "{out}: not an EVM_IMA_XATTR_DIGSIG value");
    if let Some(k) = keyid {
        assert_eq!(certgen::hex(&sig[3..7]), k, "{out}: keyid in the v2 header");
    }
    f
}

// =============================================================================================
// 1. Secondary keyring admission
// =============================================================================================

#[test]
fn secondary_admission() {
    let Some(pki) = pki() else { return };
    replay(
        pki,
        "secondary",
        &[],
        "\
# §1/§2.1/§2.4: .secondary_trusted_keys = restrict_link_by_builtin_secondary_and_machine
load root .builtin_trusted_keys root.der            # expect ok
add inter .secondary_trusted_keys inter.der         # expect ok  signed by a builtin CA
add u .secondary_trusted_keys unknown-leaf.der      # expect ENOKEY  unknown CA
add u .secondary_trusted_keys unknown.der           # expect ENOKEY  untrusted self-signed root (§7.12)
add il .secondary_trusted_keys inter-leaf.der       # expect ok  signed by a secondary key: chain grows
add rl .secondary_trusted_keys root-leaf.der        # expect ok
add gc .secondary_trusted_keys grandchild.der       # expect ok  signer is CA:FALSE; §2.1 checks no CA bits
load mok .machine mok.der                           # expect ok
add ml .secondary_trusted_keys mok-leaf.der         # expect ok  .machine is linked into secondary
add x .builtin_trusted_keys ima-leaf.der            # expect EACCES  no user write permission
add x .machine ima-leaf.der                         # expect EACCES
add x .platform ima-leaf.der                        # expect EACCES
add x .secondary_trusted_keys ima-ca-true.der       # expect ok  secondary ignores key usage
",
    );
}

#[test]
fn secondary_keyring_links() {
    let Some(pki) = pki() else { return };
    replay(
        pki,
        "secondary-links",
        &[],
        "\
# §2.4, §7.26: the only keyrings secondary accepts are builtin and machine; §2.9: link
# runs the gatekeeper on the key's stored payload.
# Caveat (not in the spec, not modelled): keyctl_keyring_link also looks the linked object
# up with KEY_NEED_LINK, and the system keyrings grant the user no LINK permission, so a real
# `keyctl link %:.platform %:.secondary_trusted_keys` fails EACCES before the gatekeeper
# runs. The system-keyring lines below therefore check the gatekeeper's decision; the
# `user` keyring line is the one userspace can actually reach.
load root .builtin_trusted_keys root.der            # expect ok
newring user                                        # expect ok
link user .secondary_trusted_keys                   # expect EOPNOTSUPP  a user keyring
link .platform .secondary_trusted_keys              # expect EOPNOTSUPP
link .ima .secondary_trusted_keys                   # expect EOPNOTSUPP
link .blacklist .secondary_trusted_keys             # expect EOPNOTSUPP
link .builtin_trusted_keys .secondary_trusted_keys  # expect ok
link .machine .secondary_trusted_keys               # expect ok
add good user ima-leaf.der                          # expect ok  user keyring: unrestricted
add bad user unknown-leaf.der                       # expect ok
link bad .secondary_trusted_keys                    # expect ENOKEY
link good .secondary_trusted_keys                   # expect ok
",
    );
}

#[test]
fn secondary_signed_by_builtin() {
    let Some(pki) = pki() else { return };
    replay(
        pki,
        "secondary-signed-by-builtin",
        &["--secondary-signed-by-builtin"],
        "\
# §2.1 step 8: SECONDARY_TRUSTED_KEYRING_SIGNED_BY_BUILTIN, destination .secondary_trusted_keys
load root .builtin_trusted_keys root.der            # expect ok
add inter .secondary_trusted_keys inter.der         # expect ok  BUILTIN signer
add il .secondary_trusted_keys inter-leaf.der       # expect ENOKEY  signer only in secondary
load mok .machine mok.der                           # expect ok
add ml .secondary_trusted_keys mok-leaf.der         # expect ENOKEY  signer in .machine
add rl .secondary_trusted_keys root-leaf.der        # expect ok
add gc .secondary_trusted_keys grandchild.der       # expect ENOKEY
add ii .ima ima-under-inter.der                     # expect ENOKEY  .ima: builtin only by default
",
    );
    // Step 8 looks at the destination's name: .ima with permit-secondary is not affected.
    replay(
        pki,
        "secondary-signed-by-builtin-ima",
        &["--secondary-signed-by-builtin", "--ima-permit-secondary"],
        "\
load root .builtin_trusted_keys root.der            # expect ok
add inter .secondary_trusted_keys inter.der         # expect ok
add ii .ima ima-under-inter.der                     # expect ok  rule 8 only for .secondary_trusted_keys
load mok .machine mok.der                           # expect ok
add im .ima ima-under-mok.der                       # expect ok
",
    );
}

/// §2.9 / §7.30: a cert with the same description replaces the old link. Observed twice:
/// `keyring show` counts one link, and unlinking the second key leaves nothing that could
/// verify a module signed by that key.
#[test]
fn secondary_readd_replaces_link() {
    let Some(pki) = pki() else { return };
    let base = "\
load root .builtin_trusted_keys root.der            # expect ok
add k1 .secondary_trusted_keys root-leaf.der        # expect ok
add k2 .secondary_trusted_keys root-leaf.der        # expect ok  same description: replaces k1
";
    let (out, problems) = show(pki, "readd-show", &[], base);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        ring_len(&out, ".secondary_trusted_keys"),
        3,
        "builtin + machine keyrings + ONE root-leaf link expected:\n{out}"
    );
    replay(
        pki,
        "readd-unlink",
        &[],
        &format!(
            "{base}\
unlink k2 .secondary_trusted_keys                   # expect ok
unlink k2 .secondary_trusted_keys                   # expect ENOENT
"
        ),
    );
    let Some(sf) = sign_file() else { return };
    let m = signed_module(&sf, pki, "root-leaf", "readd-root-leaf");
    let run = verify(
        pki,
        "readd-verify-linked",
        &["--kind", "module"],
        Some(base),
        &[&m],
    );
    expect_outcomes(&run, Some(base), &[(&m, "valid")]);
    let unlinked = format!("{base}unlink k2 .secondary_trusted_keys   # expect ok\n");
    let run = verify(
        pki,
        "readd-verify-unlinked",
        &["--kind", "module"],
        Some(&unlinked),
        &[&m],
    );
    expect_outcomes(&run, Some(&unlinked), &[(&m, "ENOKEY")]);
}

// =============================================================================================
// 2. .ima admission (restrict_link_by_digsig)
// =============================================================================================

#[test]
fn ima_admission_digsig_builtin() {
    let Some(pki) = pki() else { return };
    replay(
        pki,
        "ima-digsig-builtin",
        &[],
        "\
# §2.3 + §2.4: .ima = restrict_link_by_digsig_builtin
load root .builtin_trusted_keys root.der            # expect ok
add a .ima ima-leaf.der                             # expect ok  digitalSignature, CA:FALSE, builtin CA
add x .ima ima-ca-true.der                          # expect ENOKEY  CA:TRUE
add x .ima ima-kcs.der                              # expect ENOKEY  keyCertSign set
add x .ima ima-noku.der                             # expect ENOKEY  no keyUsage: no digitalSignature
add x .ima ima-ku-neither.der                       # expect ENOKEY  keyEncipherment only
add x .ima unknown-leaf.der                         # expect ENOKEY  unknown signer
add inter .secondary_trusted_keys inter.der         # expect ok
add x .ima ima-under-inter.der                      # expect ENOKEY  secondary-only CA
load mok .machine mok.der                           # expect ok
add x .ima ima-under-mok.der                        # expect ENOKEY  machine-only CA
add x .ima root.der                                 # expect ENOKEY  the CA itself
load b1 .ima ima-ca-true.der                        # expect ok  bypass: no checks (§7.24)
load b2 .ima ima-noku.der                           # expect ok
load b3 .ima unknown-leaf.der                       # expect ok
load b4 .ima inter.der                              # expect ok
",
    );
}

#[test]
fn ima_admission_permit_secondary() {
    let Some(pki) = pki() else { return };
    replay(
        pki,
        "ima-digsig-secondary",
        &["--ima-permit-secondary"],
        "\
# §2.4: .ima = restrict_link_by_digsig_builtin_and_secondary
load root .builtin_trusted_keys root.der            # expect ok
add a .ima ima-leaf.der                             # expect ok
add x .ima ima-under-inter.der                      # expect ENOKEY  inter not admitted yet
add inter .secondary_trusted_keys inter.der         # expect ok
add b .ima ima-under-inter.der                      # expect ok  vouched for by secondary
add x .ima ima-ca-under-inter.der                   # expect ENOKEY  CA:TRUE, even via secondary
load mok .machine mok.der                           # expect ok
add c .ima ima-under-mok.der                        # expect ok  secondary search reaches .machine
add x .ima ima-ca-true.der                          # expect ENOKEY
add x .ima ima-kcs.der                              # expect ENOKEY
add x .ima ima-noku.der                             # expect ENOKEY
add x .ima unknown-leaf.der                         # expect ENOKEY
",
    );
}

// =============================================================================================
// 3. .machine with INTEGRITY_CA_MACHINE_KEYRING[_MAX]
// =============================================================================================

/// (certificate, admitted with off, with ca, with ca-max)
const MACHINE_CASES: [(&str, bool, bool, bool); 5] = [
    ("mok", true, true, true),             // CA + keyCertSign
    ("mok-ca-nokcs", true, false, false),  // CA + digitalSignature only
    ("mok-ca-both", true, true, false),    // CA + keyCertSign + digitalSignature
    ("mok-ca-noku", true, false, false),   // CA, no keyUsage at all
    ("mok-self-leaf", true, false, false), // CA:FALSE + digitalSignature
];

/// §1 (.machine row) and §2.2: the MOK certificates are loaded at boot through
/// `integrity_load_cert` WITHOUT the bypass flag (§2.9 lists the only bypass users: the
/// builtin list, revocation certificates, the module cert copied into .ima), so the CA gate
/// applies to them; a rejected key is not in .machine and cannot vouch for a module.
fn machine_ca(mode: &str) {
    let Some(pki) = pki() else { return };
    let col = |c: &(&str, bool, bool, bool)| match mode {
        "off" => c.1,
        "ca" => c.2,
        "ca-max" => c.3,
        _ => unreachable!(),
    };
    let mut setup = format!("# --machine-ca {mode}: boot-time MOK loads into .machine\n");
    for (i, c) in MACHINE_CASES.iter().enumerate() {
        let _ = writeln!(
            setup,
            "load m{i} .machine {}.der   # expect {}",
            c.0,
            if col(c) { "ok" } else { "ENOKEY" }
        );
    }
    let flags = ["--machine-ca", mode];
    let (out, mut problems) = show(pki, &format!("machine-{mode}-show"), &flags, &setup);
    for c in &MACHINE_CASES {
        let cn = &pki.ident(c.0).cn;
        if has_key(&out, cn) != col(c) {
            problems.push(format!(
                "  keyring show: {cn} {} but spec says {}",
                if has_key(&out, cn) {
                    "present"
                } else {
                    "absent"
                },
                if col(c) { "admitted" } else { "rejected" }
            ));
        }
    }
    let admitted = MACHINE_CASES.iter().filter(|c| col(c)).count();
    if ring_len(&out, ".machine") != admitted {
        problems.push(format!(
            "  .machine holds {} links, spec {admitted}",
            ring_len(&out, ".machine")
        ));
    }
    if let Some(sf) = sign_file() {
        let mods: Vec<PathBuf> = MACHINE_CASES
            .iter()
            .map(|c| signed_module(&sf, pki, c.0, &format!("machine-{mode}-{}", c.0)))
            .collect();
        let refs: Vec<&Path> = mods.iter().map(PathBuf::as_path).collect();
        let mut args = vec!["--kind", "module"];
        args.extend(flags);
        let run = verify(
            pki,
            &format!("machine-{mode}-verify"),
            &args,
            Some(&setup),
            &refs,
        );
        for (c, m) in MACHINE_CASES.iter().zip(&mods) {
            let want = if col(c) { "valid" } else { "ENOKEY" };
            let got = run.outcome(m);
            if got != want {
                problems.push(format!(
                    "  module signed by {:<14} spec {want:<7} model {got}",
                    c.0
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "MODEL MISMATCH (--machine-ca {mode}):\n{}\n--- setup ---\n{}--- keyring show ---\n{out}",
        problems.join("\n"),
        numbered(&setup)
    );
}

#[test]
fn machine_ca_off_admits_everything() {
    machine_ca("off");
}

#[test]
fn machine_ca_requires_ca_and_keycertsign() {
    machine_ca("ca");
}

#[test]
fn machine_ca_max_also_refuses_digital_signature() {
    machine_ca("ca-max");
}

// =============================================================================================
// 4. Blacklist
// =============================================================================================

#[test]
fn blacklist_tbs_rejects_everywhere() {
    let Some(pki) = pki() else { return };
    let leaf = tbs_hash(pki, "root-leaf", "sha256");
    replay(
        pki,
        "blacklist-tbs",
        &[],
        &format!(
            "\
# §5, §7.7: a tbs: hit flags the certificate at parse time → EKEYREJECTED in every keyring
blacklist tbs:{leaf}                                 # expect ok
load root .builtin_trusted_keys root.der             # expect ok
add x .secondary_trusted_keys root-leaf.der          # expect EKEYREJECTED
add x .ima root-leaf.der                             # expect EKEYREJECTED
load x .builtin_trusted_keys root-leaf.der           # expect EKEYREJECTED  even the compiled list
load x .machine root-leaf.der                        # expect EKEYREJECTED
load x .platform root-leaf.der                       # expect EKEYREJECTED
load x .ima root-leaf.der                            # expect EKEYREJECTED
newring user                                         # expect ok
add x user root-leaf.der                             # expect EKEYREJECTED  unrestricted keyring too
add y .secondary_trusted_keys ima-leaf.der           # expect ok  same CA, other TBS
"
        ),
    );
    let root = tbs_hash(pki, "root", "sha256");
    replay(
        pki,
        "blacklist-tbs-root",
        &[],
        &format!(
            "\
blacklist tbs:{root}                                 # expect ok
load root .builtin_trusted_keys root.der             # expect EKEYREJECTED
add inter .secondary_trusted_keys inter.der          # expect ENOKEY  no builtin root to vouch
"
        ),
    );
}

/// §5, §7.8: the TBS digest uses the certificate's own signature hash, so an entry made with
/// another algorithm never matches.
#[test]
fn blacklist_tbs_hash_algorithm_must_match() {
    let Some(pki) = pki() else { return };
    let leaf384 = tbs_hash(pki, "root-leaf", "sha384");
    let leaf1 = tbs_hash(pki, "root-leaf", "sha1");
    let leaf512 = tbs_hash(pki, "root-leaf", "sha512");
    let s384_256 = tbs_hash(pki, "leaf-sha384", "sha256");
    let s384_384 = tbs_hash(pki, "leaf-sha384", "sha384");
    let leaf256 = tbs_hash(pki, "root-leaf", "sha256");
    replay(
        pki,
        "blacklist-tbs-algo",
        &[],
        &format!(
            "\
blacklist tbs:{leaf384}                              # expect ok  sha384 of a sha256-signed TBS
blacklist tbs:{leaf1}                                # expect ok
blacklist tbs:{leaf512}                              # expect ok
blacklist tbs:{s384_256}                             # expect ok  sha256 of a sha384-signed TBS
load root .builtin_trusted_keys root.der             # expect ok
add a .secondary_trusted_keys root-leaf.der          # expect ok
add b .secondary_trusted_keys leaf-sha384.der        # expect ok
blacklist tbs:{s384_384}                             # expect ok
add c .secondary_trusted_keys leaf-sha384.der        # expect EKEYREJECTED
blacklist tbs:{leaf256}                              # expect ok
add d .secondary_trusted_keys root-leaf.der          # expect EKEYREJECTED
"
        ),
    );
}

/// §5 description syntax (blacklist_vet_description).
#[test]
fn blacklist_description_syntax() {
    let Some(pki) = pki() else { return };
    let h64 = "0123456789abcdef".repeat(4);
    let upper = h64.to_uppercase();
    let d128 = "ab".repeat(64);
    let d130 = "ab".repeat(65);
    replay(
        pki,
        "blacklist-syntax",
        &[],
        &format!(
            "\
blacklist tbs:{h64}                                  # expect ok
blacklist bin:{h64}                                  # expect ok
blacklist tbs:{upper}                                # expect EINVAL  uppercase
blacklist bin:{upper}                                # expect EINVAL
blacklist tbs:0123456789abcdeF                       # expect EINVAL  one uppercase digit
blacklist tbs:abc                                    # expect EINVAL  odd length
blacklist bin:a                                      # expect EINVAL
blacklist tbs:                                       # expect EINVAL  empty
blacklist tbs:zz                                     # expect EINVAL  not hex
blacklist tbs:{d128}                                 # expect ok  128 digits: the maximum
blacklist tbs:{d130}                                 # expect ENOPKG  more than 128 digits
blacklist bin:{d130}                                 # expect ENOPKG
blacklist sha:00                                     # expect EINVAL  unknown prefix
blacklist TBS:00                                     # expect EINVAL
blacklist tbsx:00                                    # expect EINVAL
blacklist 00                                         # expect EINVAL  no prefix
"
        ),
    );
}

/// §1 (.blacklist row), §5: userspace cannot remove or add entries. Without
/// SYSTEM_BLACKLIST_AUTH_UPDATE (the model's configuration) the keyring grants the user no
/// write permission, and keyctl_keyring_unlink / keyctl_keyring_clear look the keyring up
/// with KEY_NEED_WRITE *before* they test KEY_FLAG_KEEP — so the answer is EACCES. EPERM (the
/// keep flag) is only reachable where the user may write: shown on .ima_blacklist in
/// `ima_blacklist_keyring`.
#[test]
fn blacklist_keyring_is_sealed() {
    let Some(pki) = pki() else { return };
    let h = "00".repeat(32);
    replay(
        pki,
        "blacklist-sealed",
        &[],
        &format!(
            "\
blacklist bin:{h}                                    # expect ok
load rev .blacklist root-leaf.der                    # expect ok  revocation cert: kernel bypass load
unlink rev .blacklist                                # expect EACCES  permission before keep flag
clear .blacklist                                     # expect EACCES
add x .blacklist ima-leaf.der                        # expect EACCES
"
        ),
    );
}

/// §5 / §7.9: blacklisting after admission does not evict the key.
#[test]
fn blacklist_after_admission_keeps_key() {
    let Some(pki) = pki() else { return };
    let Some(sf) = sign_file() else { return };
    let leaf = tbs_hash(pki, "root-leaf", "sha256");
    let m = signed_module(&sf, pki, "root-leaf", "bl-late-root-leaf");
    let late = format!(
        "\
load root .builtin_trusted_keys root.der             # expect ok
add s .secondary_trusted_keys root-leaf.der          # expect ok
blacklist tbs:{leaf}                                 # expect ok
add s2 .secondary_trusted_keys root-leaf.der         # expect EKEYREJECTED
"
    );
    let run = verify(pki, "bl-late", &["--kind", "module"], Some(&late), &[&m]);
    expect_outcomes(&run, Some(&late), &[(&m, "valid")]);
    let early = format!(
        "\
blacklist tbs:{leaf}                                 # expect ok
load root .builtin_trusted_keys root.der             # expect ok
add s .secondary_trusted_keys root-leaf.der          # expect EKEYREJECTED
"
    );
    let run = verify(pki, "bl-early", &["--kind", "module"], Some(&early), &[&m]);
    expect_outcomes(&run, Some(&early), &[(&m, "ENOKEY")]);
}

// =============================================================================================
// 5. Revocation
// =============================================================================================

/// §2.12 last-resort lookup: find_asymmetric_key returns the search error, and a search that
/// only met revoked keys fails EKEYREVOKED (not mapped to ENOKEY), which pkcs7 trust returns.
#[test]
fn revoked_module_signer() {
    let Some(pki) = pki() else { return };
    let Some(sf) = sign_file() else { return };
    let m = signed_module(&sf, pki, "root-leaf", "revoked-root-leaf");
    let base = "\
load root .builtin_trusted_keys root.der             # expect ok
add s .secondary_trusted_keys root-leaf.der          # expect ok
";
    let run = verify(
        pki,
        "revoke-before",
        &["--kind", "module"],
        Some(base),
        &[&m],
    );
    expect_outcomes(&run, Some(base), &[(&m, "valid")]);
    let revoked =
        format!("{base}revoke s                                             # expect ok\n");
    let run = verify(
        pki,
        "revoke-after",
        &["--kind", "module"],
        Some(&revoked),
        &[&m],
    );
    expect_outcomes(&run, Some(&revoked), &[(&m, "EKEYREVOKED")]);
    // A revocation certificate for the signer in .blacklist (SYSTEM_REVOCATION_LIST): the
    // message would be trusted by it → EKEYREJECTED (§2.12 step 3).
    let revlist = format!("{base}load rev .blacklist root-leaf.der   # expect ok\n");
    let run = verify(
        pki,
        "revocation-list",
        &["--kind", "module"],
        Some(&revlist),
        &[&m],
    );
    expect_outcomes(&run, Some(&revlist), &[(&m, "EKEYREJECTED")]);
}

/// §2.1 step 6: the search skips revoked keys; any lookup failure is ENOKEY.
#[test]
fn revoked_ca_cannot_vouch() {
    let Some(pki) = pki() else { return };
    replay(
        pki,
        "revoked-ca",
        &["--ima-permit-secondary"],
        "\
load root .builtin_trusted_keys root.der            # expect ok
add inter .secondary_trusted_keys inter.der         # expect ok
revoke inter                                        # expect ok
add x .secondary_trusted_keys inter-leaf.der        # expect ENOKEY
add x .ima ima-under-inter.der                      # expect ENOKEY
add inter2 .secondary_trusted_keys inter.der        # expect ok  re-added: a new, live key
add y .secondary_trusted_keys inter-leaf.der        # expect ok
",
    );
}

// =============================================================================================
// 6. IMA key lookup: keyid collisions, .ima_blacklist, bin: hashes
// =============================================================================================

/// §3.3, §7.17: IMA finds its key by a 32-bit keyid (tail match); the first match wins and a
/// failed verification is final. Which of two colliding keys comes first is the kernel's
/// associative-array order (not insertion order), so the assertion is order-free: of two
/// files signed by the two colliding keys exactly one verifies, and the other is rejected
/// BY THAT SAME KEY (signer field) with a verification errno — never ENOKEY, never a
/// fallback to the second key. Both load orders are tried.
#[test]
fn ima_keyid_collision_first_match_is_final() {
    let Some(pki) = pki() else { return };
    let Some(evmctl) = require_tool("evmctl") else {
        return;
    };
    let fa = ima_signed_file(
        &evmctl,
        pki,
        "collide-a",
        "collide-a.bin",
        Some(COLLIDING_KEYID),
    );
    let fb = ima_signed_file(
        &evmctl,
        pki,
        "collide-b",
        "collide-b.bin",
        Some(COLLIDING_KEYID),
    );
    for (order, first, second) in [
        ("ab", "collide-a", "collide-b"),
        ("ba", "collide-b", "collide-a"),
    ] {
        let setup = format!(
            "\
load k1 .ima {first}.der   # expect ok
load k2 .ima {second}.der  # expect ok
"
        );
        let run = verify(
            pki,
            &format!("collision-{order}"),
            &["--kind", "ima"],
            Some(&setup),
            &[&fa, &fb],
        );
        assert!(run.setup_problems.is_empty(), "{:?}", run.setup_problems);
        let (oa, ob) = (run.outcome(&fa), run.outcome(&fb));
        let (good, bad) = match (oa.as_str(), ob.as_str()) {
            ("valid", x) if x != "valid" => (&fa, &fb),
            (x, "valid") if x != "valid" => (&fb, &fa),
            _ => panic!(
                "order {order}: exactly one of the two files must verify (got {oa}, {ob})\n{}",
                run.context()
            ),
        };
        let shadow = run.signer(good);
        assert!(shadow.is_some(), "{}", run.context());
        assert_eq!(
            run.signer(bad),
            shadow,
            "order {order}: the failing file must have been judged by the first-matching key\n{}",
            run.context()
        );
        let e = run.outcome(bad);
        assert!(
            ["EKEYREJECTED", "EBADMSG", "EINVAL"].contains(&e.as_str()),
            "order {order}: a verification errno expected (the raw RSA error of the wrong key), got {e}\n{}",
            run.context()
        );
        // Without the colliding key the other file verifies: the failure is the collision.
        let alone = format!(
            "load k2 .ima {}.der  # expect ok\n",
            if bad == &fa { "collide-a" } else { "collide-b" }
        );
        let run2 = verify(
            pki,
            &format!("collision-{order}-alone"),
            &["--kind", "ima"],
            Some(&alone),
            &[bad],
        );
        expect_outcomes(&run2, Some(&alone), &[(bad, "valid")]);
    }
}

/// §1 (.ima_blacklist row), §5, §7.47: .ima_blacklist is consulted first by keyid and a hit
/// is final (EKEYREJECTED); it is gated by builtin keys only; it carries the keep flag, and
/// it is user-writable, so unlink/clear reach the keep test → EPERM.
#[test]
fn ima_blacklist_keyring() {
    let Some(pki) = pki() else { return };
    let Some(evmctl) = require_tool("evmctl") else {
        return;
    };
    let f = ima_signed_file(&evmctl, pki, "ima-leaf", "ima-bl.bin", None);
    let flags = ["--kind", "ima", "--ima-blacklist-keyring"];
    let base = "\
load root .builtin_trusted_keys root.der            # expect ok
add s .ima ima-leaf.der                             # expect ok
";
    let run = verify(pki, "ima-bl-none", &flags, Some(base), &[&f]);
    expect_outcomes(&run, Some(base), &[(&f, "valid")]);
    let listed = format!(
        "{base}\
load b .ima_blacklist ima-leaf.der                  # expect ok
unlink b .ima_blacklist                             # expect EPERM  keep flag
clear .ima_blacklist                                # expect EPERM
add inter .secondary_trusted_keys inter.der         # expect ok
add x .ima_blacklist inter-leaf.der                 # expect ENOKEY  builtin_trusted gate
add y .ima_blacklist ima-under-inter.der            # expect ENOKEY
add z .ima_blacklist root-leaf.der                  # expect ok
"
    );
    let run = verify(pki, "ima-bl-listed", &flags, Some(&listed), &[&f]);
    expect_outcomes(&run, Some(&listed), &[(&f, "EKEYREJECTED")]);
    // The same entry through the gate (userspace add, signed by the builtin root).
    let added = format!("{base}add b .ima_blacklist ima-leaf.der   # expect ok\n");
    let run = verify(pki, "ima-bl-added", &flags, Some(&added), &[&f]);
    expect_outcomes(&run, Some(&added), &[(&f, "EKEYREJECTED")]);
}

/// §5: `bin:` hashes are consulted by IMA only with the policy's check_blacklist → EPERM.
#[test]
fn ima_check_blacklist_bin_hash() {
    let Some(pki) = pki() else { return };
    let Some(evmctl) = require_tool("evmctl") else {
        return;
    };
    let f = ima_signed_file(&evmctl, pki, "ima-leaf", "ima-binhash.bin", None);
    let other = ima_signed_file(&evmctl, pki, "ima-leaf", "ima-binhash-other.bin", None);
    let h = digest_hex(&pki.dir, "sha256", &f);
    let setup = format!(
        "\
load root .builtin_trusted_keys root.der            # expect ok
add s .ima ima-leaf.der                             # expect ok
blacklist bin:{h}                                   # expect ok
"
    );
    let run = verify(
        pki,
        "ima-binhash-off",
        &["--kind", "ima"],
        Some(&setup),
        &[&f, &other],
    );
    expect_outcomes(&run, Some(&setup), &[(&f, "valid"), (&other, "valid")]);
    assert_eq!(
        run.rec(&f)["hash"].as_str(),
        Some(format!("sha256:{h}").as_str()),
        "the verdict's hash is the file digest the bin: entry names\n{}",
        run.context()
    );
    let run = verify(
        pki,
        "ima-binhash-on",
        &["--kind", "ima", "--ima-check-blacklist"],
        Some(&setup),
        &[&f, &other],
    );
    expect_outcomes(&run, Some(&setup), &[(&f, "EPERM"), (&other, "valid")]);
}

// =============================================================================================
// 7. Which keyrings modules use
// =============================================================================================

/// §1 "Which keyring each verifier uses", §7.50: modules are checked against the secondary
/// keyring (builtin ∪ machine ∪ secondary); .platform is never used; module signatures carry
/// no certificates, so the signer's own key must be trusted (a trusted CA is not enough).
#[test]
fn module_keyrings() {
    let Some(pki) = pki() else { return };
    let Some(sf) = sign_file() else { return };
    let by_root = signed_module(&sf, pki, "root", "mod-root");
    let by_leaf = signed_module(&sf, pki, "root-leaf", "mod-root-leaf");
    let by_mok = signed_module(&sf, pki, "mok", "mod-mok");
    let by_mok_leaf = signed_module(&sf, pki, "mok-leaf", "mod-mok-leaf");
    let by_inter_leaf = signed_module(&sf, pki, "inter-leaf", "mod-inter-leaf");
    let all = [&by_root, &by_leaf, &by_mok, &by_mok_leaf, &by_inter_leaf].map(PathBuf::as_path);

    let platform = "\
load root .builtin_trusted_keys root.der            # expect ok
load p .platform root-leaf.der                      # expect ok
load p2 .platform mok.der                           # expect ok
";
    let run = verify(
        pki,
        "mod-platform",
        &["--kind", "module"],
        Some(platform),
        &all,
    );
    expect_outcomes(
        &run,
        Some(platform),
        &[
            (&by_root, "valid"),
            (&by_leaf, "ENOKEY"),
            (&by_mok, "ENOKEY"),
            (&by_mok_leaf, "ENOKEY"),
            (&by_inter_leaf, "ENOKEY"),
        ],
    );

    let machine = "\
load root .builtin_trusted_keys root.der            # expect ok
load m .machine mok.der                             # expect ok
add inter .secondary_trusted_keys inter.der         # expect ok
add il .secondary_trusted_keys inter-leaf.der       # expect ok
";
    let run = verify(
        pki,
        "mod-machine",
        &["--kind", "module"],
        Some(machine),
        &all,
    );
    expect_outcomes(
        &run,
        Some(machine),
        &[
            (&by_root, "valid"),
            (&by_leaf, "ENOKEY"),
            (&by_mok, "valid"),
            (&by_mok_leaf, "ENOKEY"),
            (&by_inter_leaf, "valid"),
        ],
    );
    let mok_cn = &pki.ident("mok").cn;
    assert!(
        run.signer(&by_mok)
            .is_some_and(|s| s.starts_with(&format!("{mok_cn}: "))),
        "the .machine key signed it\n{}",
        run.context()
    );
}

/// Sanity for the IMA harness: an .ima key admitted through the gate verifies an evmctl
/// signature; a key vouched for only by secondary is admitted (and verifies) only with
/// IMA_KEYRINGS_PERMIT_SIGNED_BY_BUILTIN_OR_SECONDARY.
#[test]
fn ima_verify_through_admitted_keys() {
    let Some(pki) = pki() else { return };
    let Some(evmctl) = require_tool("evmctl") else {
        return;
    };
    let f_leaf = ima_signed_file(&evmctl, pki, "ima-leaf", "ima-by-leaf.bin", None);
    let f_inter = ima_signed_file(
        &evmctl,
        pki,
        "ima-under-inter",
        "ima-by-under-inter.bin",
        None,
    );
    let default = "\
load root .builtin_trusted_keys root.der            # expect ok
add inter .secondary_trusted_keys inter.der         # expect ok
add a .ima ima-leaf.der                             # expect ok
add b .ima ima-under-inter.der                      # expect ENOKEY
";
    let run = verify(
        pki,
        "ima-e2e-default",
        &["--kind", "ima"],
        Some(default),
        &[&f_leaf, &f_inter],
    );
    expect_outcomes(
        &run,
        Some(default),
        &[(&f_leaf, "valid"), (&f_inter, "ENOKEY")],
    );
    let permit = default.replace("# expect ENOKEY", "# expect ok");
    let run = verify(
        pki,
        "ima-e2e-permit",
        &["--kind", "ima", "--ima-permit-secondary"],
        Some(&permit),
        &[&f_leaf, &f_inter],
    );
    expect_outcomes(
        &run,
        Some(&permit),
        &[(&f_leaf, "valid"), (&f_inter, "valid")],
    );
    // The IMA key lookup is .ima only: the same key in secondary does not help.
    let sec_only = "\
load root .builtin_trusted_keys root.der            # expect ok
add a .secondary_trusted_keys ima-leaf.der          # expect ok
";
    let run = verify(
        pki,
        "ima-e2e-secondary-only",
        &["--kind", "ima"],
        Some(sec_only),
        &[&f_leaf],
    );
    expect_outcomes(&run, Some(sec_only), &[(&f_leaf, "ENOKEY")]);
}
