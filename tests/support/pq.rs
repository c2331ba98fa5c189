//! Reference ML-DSA tools for the tests: `tests/pq/pqref.py` run by the virtual environment's
//! python that `scripts/pq-venv.sh` makes (pyca `cryptography` with its bundled OpenSSL 4, and
//! the pure-Python `dilithium-py`), plus the committed known-answer files of
//! `tests/data/mldsa/`.
//!
//! Why: trustbench's ML-DSA verdicts are only worth something against signatures, keys and
//! certificates made by implementations nobody on the project wrote. These wrappers keep each
//! test to "make it there, check it here" (and the reverse).
//!
//! Include with `mod common;` and `#[path = "support/pq.rs"] mod pq;` (the missing-tool rule
//! is `common::skip_or_fail`'s: FAIL under `CI=true`, a loud SKIP otherwise).
//!
//! A tool failure (exit status 2, or anything but 0/1 from `verify`) panics with the tool's
//! stderr: that is a broken test set-up, never a verdict.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The three ML-DSA parameter sets, by the names pqref.py and the KAT files use.
pub const SETS: [&str; 3] = ["ml-dsa-44", "ml-dsa-65", "ml-dsa-87"];

/// Which reference implementation signs or verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signer {
    /// pyca `cryptography` (OpenSSL 4). Signs hedged: signatures differ run to run.
    Cryptography,
    /// `dilithium-py`, pure Python. Signs deterministically.
    Dilithium,
}

impl Signer {
    /// Both, for loops that cross them.
    pub const ALL: [Signer; 2] = [Signer::Cryptography, Signer::Dilithium];

    /// The `--signer` value of pqref.py.
    pub fn name(self) -> &'static str {
        match self {
            Signer::Cryptography => "cryptography",
            Signer::Dilithium => "dilithium",
        }
    }
}

/// The repository root (the tests run from anywhere).
fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// True when `python` runs pqref.py (both packages import).
fn python_works(python: &Path) -> bool {
    Command::new(python)
        .arg(repo_root().join("tests/pq/pqref.py"))
        .arg("--help")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Finds the python once per test binary: `TRUSTBENCH_PQ_PYTHON`, else
/// `target/pq-venv/bin/python`, else whatever `scripts/pq-venv.sh` creates.
fn locate() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("TRUSTBENCH_PQ_PYTHON") {
        let p = PathBuf::from(p);
        return if python_works(&p) {
            Ok(p)
        } else {
            Err(format!(
                "TRUSTBENCH_PQ_PYTHON={} cannot run tests/pq/pqref.py",
                p.display()
            ))
        };
    }
    let default = repo_root().join("target/pq-venv/bin/python");
    if python_works(&default) {
        return Ok(default);
    }
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/pq-venv.sh"))
        .output()
        .map_err(|e| format!("cannot run scripts/pq-venv.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "scripts/pq-venv.sh failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let printed = String::from_utf8_lossy(&out.stdout);
    let p = PathBuf::from(printed.lines().last().unwrap_or("").trim());
    if python_works(&p) {
        Ok(p)
    } else {
        Err(format!(
            "scripts/pq-venv.sh made {}, which cannot run pqref.py",
            p.display()
        ))
    }
}

/// Handle on pqref.py; get one with [`pqref`].
pub struct PqRef {
    python: PathBuf,
    script: PathBuf,
}

/// The reference tools, or `None` after `common::skip_or_fail` (which panics under `CI=true`):
/// `let Some(pq) = pq::pqref() else { return };`.
pub fn pqref() -> Option<PqRef> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match FOUND.get_or_init(locate) {
        Ok(python) => Some(PqRef {
            python: python.clone(),
            script: repo_root().join("tests/pq/pqref.py"),
        }),
        Err(why) => {
            crate::common::skip_or_fail(
                "the reference ML-DSA tools (tests/pq/pqref.py in the scripts/pq-venv.sh venv) are unavailable",
                &format!("{why}\nhint: bash scripts/pq-venv.sh (needs python3-venv and PyPI)"),
            );
            None
        }
    }
}

/// Writes `data` to `dir/name` and returns the path (pqref.py takes files).
fn put(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    p
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl PqRef {
    fn run(&self, args: &[&OsStr]) -> Output {
        Command::new(&self.python)
            .arg(&self.script)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.python.display()))
    }

    /// Runs a subcommand that must succeed.
    fn ok(&self, args: &[&OsStr]) {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "pqref.py {:?} failed ({}):\n{}",
            args,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs a subcommand whose exit status is a verdict: 0 true, 1 false, else a panic.
    fn verdict(&self, args: &[&OsStr]) -> bool {
        let out = self.run(args);
        match out.status.code() {
            Some(0) => true,
            Some(1) => false,
            _ => panic!(
                "pqref.py {:?} failed ({}):\n{}",
                args,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    /// Makes the key directory `out_dir` (layout: pqref.py's docstring) and returns the public
    /// key: ML-DSA pkEncode bytes (`pk.raw`) for `ml-dsa-*`, SubjectPublicKeyInfo DER
    /// (`pk.der`) for `rsa-4096` / `p-384` (which `signer` must then be `Cryptography`).
    /// `seed` (32 bytes) is required for ML-DSA and P-384 and refused for RSA (random keys).
    pub fn keygen(
        &self,
        alg: &str,
        signer: Signer,
        seed: Option<&[u8]>,
        out_dir: &Path,
    ) -> Vec<u8> {
        let seed_hex = seed.map(hex);
        let mut args: Vec<&OsStr> = vec![
            "keygen".as_ref(),
            "--alg".as_ref(),
            alg.as_ref(),
            "--signer".as_ref(),
            signer.name().as_ref(),
            "--out-dir".as_ref(),
            out_dir.as_os_str(),
        ];
        if let Some(s) = &seed_hex {
            args.extend([OsStr::new("--seed"), OsStr::new(s)]);
        }
        self.ok(&args);
        read(&out_dir.join(if alg.starts_with("ml-dsa") {
            "pk.raw"
        } else {
            "pk.der"
        }))
    }

    /// Pure ML-DSA signature of `msg` with the key of `key_dir`, context `ctx` (empty: what
    /// the kernel verifies). Any signer can use any ML-DSA key directory (same seed, same key).
    pub fn sign(
        &self,
        alg: &str,
        signer: Signer,
        key_dir: &Path,
        msg: &[u8],
        ctx: &[u8],
    ) -> Vec<u8> {
        let work = tempfile::tempdir().expect("tempdir");
        let m = put(work.path(), "msg", msg);
        let out = work.path().join("sig");
        let ctx = hex(ctx);
        self.ok(&[
            "sign".as_ref(),
            "--alg".as_ref(),
            alg.as_ref(),
            "--signer".as_ref(),
            signer.name().as_ref(),
            "--key-dir".as_ref(),
            key_dir.as_os_str(),
            "--msg".as_ref(),
            m.as_os_str(),
            "--ctx".as_ref(),
            ctx.as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ]);
        read(&out)
    }

    /// Whether `signer` accepts `sig` as a pure ML-DSA signature of `msg` under the pkEncode
    /// key `pk` and context `ctx`. Keys and signatures of the wrong length are `false`.
    pub fn verify(
        &self,
        alg: &str,
        signer: Signer,
        pk: &[u8],
        msg: &[u8],
        sig: &[u8],
        ctx: &[u8],
    ) -> bool {
        let work = tempfile::tempdir().expect("tempdir");
        let (p, m, s) = (
            put(work.path(), "pk", pk),
            put(work.path(), "msg", msg),
            put(work.path(), "sig", sig),
        );
        let ctx = hex(ctx);
        self.verdict(&[
            "verify".as_ref(),
            "--alg".as_ref(),
            alg.as_ref(),
            "--signer".as_ref(),
            signer.name().as_ref(),
            "--pk".as_ref(),
            p.as_os_str(),
            "--msg".as_ref(),
            m.as_os_str(),
            "--sig".as_ref(),
            s.as_os_str(),
            "--ctx".as_ref(),
            ctx.as_ref(),
        ])
    }

    /// An X.509 certificate (DER) for the key of `key_dir`, made by `cryptography`'s
    /// CertificateBuilder: CN=`cn`, CA (keyCertSign) or leaf (digitalSignature), SKID by RFC
    /// 5280 method 1, AKID keyid = the issuer's SKID. Self-signed when `issuer` is `None`,
    /// else signed by `(issuer certificate DER, issuer key directory)`; the issuer may be
    /// ML-DSA, `rsa-4096` or `p-384`.
    pub fn cert(
        &self,
        key_dir: &Path,
        cn: &str,
        ca: bool,
        issuer: Option<(&[u8], &Path)>,
    ) -> Vec<u8> {
        let work = tempfile::tempdir().expect("tempdir");
        let out = work.path().join("cert.der");
        let role = if ca { "--ca" } else { "--leaf" };
        let mut args: Vec<&OsStr> = vec![
            "cert".as_ref(),
            "--key-dir".as_ref(),
            key_dir.as_os_str(),
            "--cn".as_ref(),
            cn.as_ref(),
            role.as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ];
        let issuer_cert;
        if let Some((der, dir)) = issuer {
            issuer_cert = put(work.path(), "issuer.der", der);
            args.extend([
                OsStr::new("--issuer-cert"),
                issuer_cert.as_os_str(),
                OsStr::new("--issuer-key-dir"),
                dir.as_os_str(),
            ]);
        }
        self.ok(&args);
        read(&out)
    }

    /// Whether `cryptography` verifies `cert`'s signature over its TBS with the public key of
    /// the certificate `issuer` (both DER); a signature algorithm unsuited to the key is `false`.
    pub fn verify_cert(&self, cert: &[u8], issuer: &[u8]) -> bool {
        let work = tempfile::tempdir().expect("tempdir");
        let (c, i) = (
            put(work.path(), "c.der", cert),
            put(work.path(), "i.der", issuer),
        );
        self.verdict(&[
            "verify-cert".as_ref(),
            "--cert".as_ref(),
            c.as_os_str(),
            "--issuer-cert".as_ref(),
            i.as_os_str(),
        ])
    }

    /// The TBSCertificate span of `cert` (tag and length included): the bytes an ML-DSA
    /// certificate signature covers.
    pub fn tbs(&self, cert: &[u8]) -> Vec<u8> {
        let work = tempfile::tempdir().expect("tempdir");
        let c = put(work.path(), "c.der", cert);
        let out = work.path().join("tbs");
        self.ok(&[
            "tbs".as_ref(),
            "--cert".as_ref(),
            c.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ]);
        read(&out)
    }
}

// ---------------------------------------------------------------------------------------------
// The committed known-answer files (tests/data/mldsa/kat-ml-dsa-NN.json; README.md there)
// ---------------------------------------------------------------------------------------------

/// One verification vector, its key and signature resolved from the file's tables.
#[derive(Debug)]
pub struct KatVector {
    /// Unique within the file, e.g. `dilithium-py-nonempty-context`.
    pub id: String,
    /// `cryptography`, `dilithium-py` or `acvp`.
    pub source: String,
    /// `valid`, `wrong_message`, `flipped_sig_byte`, `wrong_length_pk`, `nonempty_context`,
    /// `wrong_length_sig`, `acvp_siggen`, `acvp_sigver`.
    pub kind: String,
    /// Verdict of FIPS 204 ML-DSA.Verify(pk, msg, sig, ctx).
    pub expected: bool,
    /// Verdict with the empty context, the only one the kernel uses.
    pub kernel_expected: bool,
    /// The kernel's errno for a rejection when the vector pins it (`EKEYREJECTED`,
    /// `EBADMSG`, `EINVAL`); `None` for valid vectors and unexplained ACVP failures.
    pub kernel_errno: Option<String>,
    pub pk: Vec<u8>,
    pub sig: Vec<u8>,
    pub msg: Vec<u8>,
    pub ctx: Vec<u8>,
}

/// An ACVP keyGen case: the key of `seed` must hash to `pk_sha256`.
#[derive(Debug)]
pub struct KatKeygen {
    pub id: String,
    pub seed: Vec<u8>,
    pub pk_sha256: Vec<u8>,
}

/// One parameter set's known answers.
#[derive(Debug)]
pub struct Kat {
    /// `ML-DSA-44`, `ML-DSA-65` or `ML-DSA-87`.
    pub parameter_set: String,
    pub vectors: Vec<KatVector>,
    pub keygen: Vec<KatKeygen>,
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd-length hex");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Loads `tests/data/mldsa/kat-{set}.json` (`set` as in [`SETS`]).
pub fn load_kat(set: &str) -> Kat {
    use serde_json::Value;
    let path = repo_root().join(format!("tests/data/mldsa/kat-{set}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("KAT JSON");
    let s = |v: &Value, k: &str| -> String {
        v[k].as_str()
            .unwrap_or_else(|| panic!("{}: field {k} missing", path.display()))
            .to_string()
    };
    let table = |name: &str, id: &str| unhex(&s(&doc[name], id));
    let verdict = |v: &Value, k: &str| match s(v, k).as_str() {
        "valid" => true,
        "invalid" => false,
        other => panic!("{}: {k} = {other}", path.display()),
    };
    let vectors = doc["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .map(|v| KatVector {
            id: s(v, "id"),
            source: s(v, "source"),
            kind: s(v, "kind"),
            expected: verdict(v, "expected"),
            kernel_expected: verdict(v, "kernel_expected"),
            kernel_errno: v["kernel_errno"].as_str().map(str::to_string),
            pk: table("public_keys", &s(v, "pk_id")),
            sig: table("signatures", &s(v, "sig_id")),
            msg: unhex(&s(v, "msg")),
            ctx: unhex(&s(v, "ctx")),
        })
        .collect();
    let keygen = doc["keygen"]
        .as_array()
        .expect("keygen")
        .iter()
        .map(|k| KatKeygen {
            id: s(k, "id"),
            seed: unhex(&s(k, "seed")),
            pk_sha256: unhex(&s(k, "pk_sha256")),
        })
        .collect();
    Kat {
        parameter_set: s(&doc, "parameter_set"),
        vectors,
        keygen,
    }
}
