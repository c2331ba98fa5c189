//! Interoperability tests: `trustbench verify` against artefacts made by the real tools
//! (openssl, the kernel's scripts/sign-file, evmctl from ima-evm-utils).
//!
//! * `fixture_*`: committed fixtures in corpora/fixtures (see its README.md and
//!   expected.tsv); no external tools needed.
//! * `live_*`: fresh keys/certs/signatures in a temp dir; need openssl + sign-file or
//!   evmctl (skipped with a banner when missing, a failure when `CI=true`).
//! * `crosscheck_*`: the byte ranges we delimit (module trailer → PKCS#7 + content,
//!   IMA header → raw signature) are handed to openssl, which must agree they form a
//!   valid signature (and must reject a tampered body).
//!
//! CLI contract exercised: `trustbench verify [--trust CERT]... [--kind auto|module|ima]
//! [--json] PATH...`; JSON Lines output with `path kind verdict errno reason signer hash`;
//! exit 0 = all valid, 1 = some not valid, 2 = usage/I/O error.

mod common;

use common::*;
use serde_json::Value;
use std::cell::Cell;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const MARKER: &[u8] = b"~Module signature appended~\n";
const MODSIG_HDR: usize = 12;

// =======================================================================================
// helpers
// =======================================================================================

/// One `trustbench verify --json` run.
struct Verify {
    cmdline: String,
    out: Output,
    records: Vec<Value>,
}

impl Verify {
    fn context(&self) -> String {
        format!(
            "command: {}\nexit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.cmdline,
            self.out.code(),
            self.out.stdout,
            self.out.stderr
        )
    }
}

fn verify_json<P: AsRef<Path>, T: AsRef<Path>>(
    trust: &[T],
    kind: Option<&str>,
    paths: &[P],
) -> Verify {
    let mut cmd = trustbench();
    cmd.arg("verify").arg("--json");
    for t in trust {
        cmd.arg("--trust").arg(t.as_ref());
    }
    if let Some(k) = kind {
        cmd.arg("--kind").arg(k);
    }
    for p in paths {
        cmd.arg(p.as_ref());
    }
    let cmdline = describe(&cmd);
    let out = run_output(&mut cmd);
    let records = if matches!(out.code(), 0 | 1) {
        parse_json_lines(&out.stdout)
    } else {
        Vec::new()
    };
    Verify {
        cmdline,
        out,
        records,
    }
}

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Schema check of one JSON record; returns a list of problems (empty = fine).
fn schema_problems(rec: &Value, path: &Path) -> Vec<String> {
    let mut p = Vec::new();
    if !rec.is_object() {
        return vec![format!("record is not a JSON object: {rec}")];
    }
    let name = path.file_name().unwrap().to_string_lossy();
    match s(rec, "path") {
        Some(got) if got.ends_with(name.as_ref()) => {}
        other => p.push(format!(
            "`path` = {other:?}, expected something ending in {name:?}"
        )),
    }
    match s(rec, "kind") {
        Some("module" | "ima") => {}
        other => p.push(format!(
            "`kind` = {other:?}, expected \"module\" or \"ima\""
        )),
    }
    let verdict = s(rec, "verdict");
    if !matches!(verdict, Some("valid" | "unsigned" | "invalid")) {
        p.push(format!(
            "`verdict` = {verdict:?}, expected valid|unsigned|invalid"
        ));
    }
    if s(rec, "reason").is_none() {
        p.push(format!(
            "`reason` missing or not a string: {:?}",
            rec.get("reason")
        ));
    }
    for key in ["signer", "hash"] {
        match rec.get(key) {
            Some(Value::Null | Value::String(_)) => {}
            other => p.push(format!("`{key}` must be a string or null, got {other:?}")),
        }
    }
    match (verdict, rec.get("errno")) {
        (Some("valid"), Some(Value::Null)) => {
            // Valid does not imply a signer: a hash label appraised under the hash rule
            // has none.
            let by_hash = s(rec, "ima_rule") == Some("hash") && rec["signer"].is_null();
            if s(rec, "signer").is_none() && !by_hash {
                p.push("valid record has no `signer`".into());
            }
            match s(rec, "hash") {
                Some(h) if hash_field_ok(h, None) => {}
                other => p.push(format!(
                    "valid record: `hash` = {other:?}, expected \"algo:hex\""
                )),
            }
        }
        (Some("valid"), e) => p.push(format!("valid record must have `errno` null, got {e:?}")),
        (_, Some(Value::String(e))) if e.starts_with('E') && e.len() > 1 => {}
        (_, e) => p.push(format!("non-valid record needs an errno name, got {e:?}")),
    }
    p
}

/// `algo:hex` with lowercase/uppercase hex of the algorithm's digest length.
fn hash_field_ok(h: &str, want_algo: Option<&str>) -> bool {
    let Some((algo, hex)) = h.split_once(':') else {
        return false;
    };
    if let Some(w) = want_algo {
        if algo != w {
            return false;
        }
    }
    let want_len = match algo {
        "sha1" => Some(40),
        "sha224" | "sha3-224" => Some(56),
        "sha256" | "sha3-256" | "sm3" | "streebog256" => Some(64),
        "sha384" | "sha3-384" => Some(96),
        "sha512" | "sha3-512" | "streebog512" => Some(128),
        _ => None,
    };
    !hex.is_empty()
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && want_len.map_or(hex.len() % 2 == 0, |n| hex.len() == n)
}

/// Assert one run produced exactly one record per path, in order, each passing the schema.
fn assert_records(v: &Verify, paths: &[&Path]) {
    assert_eq!(
        v.records.len(),
        paths.len(),
        "expected one JSON line per PATH\n{}",
        v.context()
    );
    for (rec, path) in v.records.iter().zip(paths) {
        let probs = schema_problems(rec, path);
        assert!(
            probs.is_empty(),
            "bad record for {}: {}\nrecord: {rec}\n{}",
            path.display(),
            probs.join("; "),
            v.context()
        );
    }
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

fn write(p: &Path, data: &[u8]) {
    std::fs::write(p, data).unwrap_or_else(|e| panic!("write {}: {e}", p.display()))
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("read /dev/urandom");
    buf
}

fn random_below(n: usize) -> usize {
    let b = random_bytes(8);
    (u64::from_le_bytes(b.try_into().unwrap()) % n as u64) as usize
}

/// Locate the appended-signature trailer like the module loader does:
/// returns (content, pkcs7) or None if the file is not a well-formed signed module.
fn split_module(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let l = data.len().checked_sub(MARKER.len())?;
    if &data[l..] != MARKER || l <= MODSIG_HDR {
        return None;
    }
    let hdr = &data[l - MODSIG_HDR..l];
    if hdr[..8] != [0, 0, 2, 0, 0, 0, 0, 0] {
        return None;
    }
    let sig_len = u32::from_be_bytes(hdr[8..12].try_into().unwrap()) as usize;
    let body_end = l - MODSIG_HDR;
    if sig_len >= body_end {
        return None;
    }
    let c = body_end - sig_len;
    Some((&data[..c], &data[c..body_end]))
}

/// Total length of the outermost DER element at the start of `der` (definite lengths only).
fn der_outer_len(der: &[u8]) -> Option<usize> {
    let (&first, rest) = der.split_first()?;
    if first & 0x1f == 0x1f {
        return None;
    }
    let (&l0, rest) = rest.split_first()?;
    if l0 < 0x80 {
        return Some(2 + l0 as usize);
    }
    let n = (l0 & 0x7f) as usize;
    if n == 0 || n > 4 || rest.len() < n {
        return None;
    }
    let len = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
    Some(2 + n + len)
}

/// Last 4 bytes of a certificate's subjectKeyIdentifier as 8 lowercase hex digits.
fn skid_tail(openssl: &Path, cert_pem: &Path) -> String {
    let out = run_ok(
        Command::new(openssl)
            .args(["x509", "-noout", "-ext", "subjectKeyIdentifier", "-in"])
            .arg(cert_pem),
    );
    let hex: String = out
        .lines()
        .last()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .to_ascii_lowercase();
    assert!(hex.len() >= 8, "no SKID in {}: {out}", cert_pem.display());
    hex[hex.len() - 8..].to_string()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// =======================================================================================
// a) committed fixtures vs expected.tsv
// =======================================================================================

#[derive(Debug, Clone)]
struct Row {
    line: usize,
    path: String,
    kind: String,
    verdict: String,
    errno: Option<String>,
    trust: Vec<String>,
    unsure: bool,
}

fn expected_rows() -> Vec<Row> {
    let tsv = fixtures_dir().join("expected.tsv");
    let text = std::fs::read_to_string(&tsv).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run corpora/fixtures/make.sh to regenerate)",
            tsv.display()
        )
    });
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(
            (5..=6).contains(&cols.len()),
            "expected.tsv:{}: need 5 or 6 tab-separated columns: {line:?}",
            i + 1
        );
        let kind = cols[1].to_string();
        let verdict = cols[2].to_string();
        assert!(
            matches!(kind.as_str(), "module" | "ima"),
            "expected.tsv:{}: bad kind",
            i + 1
        );
        assert!(
            matches!(verdict.as_str(), "valid" | "unsigned" | "invalid"),
            "expected.tsv:{}: bad verdict",
            i + 1
        );
        let errno = match cols[3] {
            "-" | "" => None,
            e => Some(e.to_string()),
        };
        assert_eq!(
            verdict == "valid",
            errno.is_none(),
            "expected.tsv:{}: valid rows have errno '-', others an errno",
            i + 1
        );
        let trust = match cols[4] {
            "-" | "" => Vec::new(),
            t => t.split(',').map(|s| s.trim().to_string()).collect(),
        };
        rows.push(Row {
            line: i + 1,
            path: cols[0].to_string(),
            kind,
            verdict,
            errno,
            trust,
            unsure: cols.get(5).is_some_and(|c| c.trim() == "?"),
        });
    }
    assert!(
        rows.len() >= 20,
        "expected.tsv has only {} rows; fixtures incomplete?",
        rows.len()
    );
    rows
}

/// Compare one row against a run; returns problems (empty = matches).
fn row_problems(row: &Row, v: &Verify, check_kind: bool) -> Vec<String> {
    let mut p = Vec::new();
    let want_code = if row.verdict == "valid" { 0 } else { 1 };
    if v.out.code() != want_code {
        p.push(format!("exit code {} != {want_code}", v.out.code()));
    }
    if v.records.len() != 1 {
        p.push(format!("{} JSON records, expected 1", v.records.len()));
        return p;
    }
    let rec = &v.records[0];
    let path = fixtures_dir().join(&row.path);
    p.extend(schema_problems(rec, &path));
    if check_kind && s(rec, "kind") != Some(row.kind.as_str()) {
        p.push(format!("kind {:?} != {:?}", s(rec, "kind"), row.kind));
    }
    let verdict = s(rec, "verdict");
    if row.unsure {
        // errno is only a best guess: still demand the right verdict class
        if verdict != Some(row.verdict.as_str()) || verdict == Some("valid") {
            p.push(format!(
                "verdict {verdict:?} != {:?} (row marked ?)",
                row.verdict
            ));
        }
    } else {
        if verdict != Some(row.verdict.as_str()) {
            p.push(format!("verdict {verdict:?} != {:?}", row.verdict));
        }
        let errno = s(rec, "errno");
        if errno != row.errno.as_deref() {
            p.push(format!("errno {errno:?} != {:?}", row.errno));
        }
    }
    p
}

fn run_rows(explicit_kind: bool) {
    let dir = fixtures_dir();
    let mut failures = Vec::new();
    let rows = expected_rows();
    for row in &rows {
        let path = dir.join(&row.path);
        assert!(
            path.exists(),
            "expected.tsv:{}: missing fixture {}",
            row.line,
            path.display()
        );
        let trust: Vec<PathBuf> = row.trust.iter().map(|t| dir.join(t)).collect();
        let kind = explicit_kind.then_some(row.kind.as_str());
        // In auto mode the kind comes from the name alone (`ItemKind::of_path`), so every
        // row's kind is checked: a fixture's name must say what it is.
        let check_kind = true;
        let v = verify_json(&trust, kind, &[&path]);
        let probs = row_problems(row, &v, check_kind);
        if !probs.is_empty() {
            failures.push(format!(
                "expected.tsv:{} {} [{} {} {} trust={}]: {}\n{}",
                row.line,
                row.path,
                row.kind,
                row.verdict,
                row.errno.as_deref().unwrap_or("-"),
                row.trust.join(","),
                probs.join("; "),
                v.context()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixture rows disagree with expected.tsv:\n\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n\n")
    );
}

#[test]
fn fixture_rows_match_expected_with_explicit_kind() {
    run_rows(true);
}

#[test]
fn fixture_rows_match_expected_with_auto_kind() {
    run_rows(false);
}

#[test]
fn fixture_every_file_has_a_row() {
    let rows = expected_rows();
    let listed: std::collections::BTreeSet<String> = rows
        .iter()
        .flat_map(|r| std::iter::once(r.path.clone()).chain(r.trust.iter().cloned()))
        .collect();
    let mut missing = Vec::new();
    for e in std::fs::read_dir(fixtures_dir()).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let is_item = name.ends_with(".ko") || name.ends_with(".bin");
        if is_item && !listed.contains(&name) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "fixtures without an expected.tsv row: {missing:?}"
    );
}

#[test]
fn fixture_batch_exit_codes_and_order() {
    let dir = fixtures_dir();
    let trust = [dir.join("signer-rsa2048.der"), dir.join("signer-p256.der")];
    let good: Vec<PathBuf> = [
        "mod-rsa2048-sha256.ko",
        "mod-rsa2048-sha384.ko",
        "mod-rsa2048-sha512.ko",
        "mod-rsa2048-sha256-skid.ko",
        "mod-p256-sha256.ko",
        "ima-rsa2048-sha256.bin",
        "ima-rsa2048-sha512.bin",
        "ima-p256-sha256.bin",
    ]
    .iter()
    .map(|n| dir.join(n))
    .collect();

    // all valid → exit 0, one record per path, in order
    let refs: Vec<&Path> = good.iter().map(PathBuf::as_path).collect();
    let v = verify_json(&trust, None, &refs);
    assert_eq!(
        v.out.code(),
        0,
        "all-valid batch must exit 0\n{}",
        v.context()
    );
    assert_records(&v, &refs);
    for rec in &v.records {
        assert_eq!(s(rec, "verdict"), Some("valid"), "{rec}\n{}", v.context());
    }

    // one bad item in the middle → exit 1; the others stay valid
    let bad = dir.join("bad-tampered.ko");
    let mut mixed = refs.clone();
    mixed.insert(3, &bad);
    let v = verify_json(&trust, None, &mixed);
    assert_eq!(
        v.out.code(),
        1,
        "batch with a bad item must exit 1\n{}",
        v.context()
    );
    assert_records(&v, &mixed);
    for (i, rec) in v.records.iter().enumerate() {
        if i == 3 {
            assert_eq!(s(rec, "verdict"), Some("invalid"), "{rec}");
            assert_eq!(s(rec, "errno"), Some("EKEYREJECTED"), "{rec}");
        } else {
            assert_eq!(s(rec, "verdict"), Some("valid"), "{rec}\n{}", v.context());
        }
    }

    // an unsigned item also makes the exit code 1
    let unsigned = dir.join("unsigned.ko");
    let v = verify_json(&trust, None, &[refs[0], unsigned.as_path()]);
    assert_eq!(v.out.code(), 1, "{}", v.context());
    assert_records(&v, &[refs[0], unsigned.as_path()]);
    assert_eq!(s(&v.records[1], "verdict"), Some("unsigned"));
    assert_eq!(s(&v.records[1], "errno"), Some("ENODATA"));
}

#[test]
fn fixture_valid_records_report_hash_algorithm() {
    let dir = fixtures_dir();
    for (file, cert, algo) in [
        ("mod-rsa2048-sha256.ko", "signer-rsa2048.der", "sha256"),
        ("mod-rsa2048-sha384.ko", "signer-rsa2048.der", "sha384"),
        ("mod-rsa2048-sha512.ko", "signer-rsa2048.der", "sha512"),
        ("mod-p384-sha384.ko", "signer-p384.der", "sha384"),
        ("ima-rsa2048-sha512.bin", "signer-rsa2048.der", "sha512"),
        ("ima-p384-sha384.bin", "signer-p384.der", "sha384"),
    ] {
        let v = verify_json(&[dir.join(cert)], None, &[dir.join(file)]);
        assert_eq!(v.out.code(), 0, "{}", v.context());
        let h = s(&v.records[0], "hash").unwrap_or("");
        assert!(
            hash_field_ok(h, Some(algo)),
            "{file}: hash {h:?} is not \"{algo}:<hex>\"\n{}",
            v.context()
        );
    }
}

#[test]
fn cli_help_works() {
    let (st, out, err) = run(trustbench().arg("--help"));
    assert!(st.success(), "--help failed: {st}\n{out}\n{err}");
    assert!(
        out.contains("verify"),
        "--help does not mention `verify`:\n{out}"
    );

    let (st, out, err) = run(trustbench().args(["verify", "--help"]));
    assert!(st.success(), "verify --help failed: {st}\n{out}\n{err}");
    for flag in ["--trust", "--kind", "--json"] {
        assert!(
            out.contains(flag),
            "verify --help does not mention {flag}:\n{out}"
        );
    }
}

#[test]
fn cli_nonexistent_path_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-module.ko");
    let trust = fixtures_dir().join("signer-rsa2048.der");
    let (st, out, err) = run(trustbench()
        .args(["verify", "--json", "--trust"])
        .arg(&trust)
        .arg(&missing));
    assert_eq!(
        st.code(),
        Some(2),
        "nonexistent PATH must exit 2\n{out}\n{err}"
    );
    let (st, out, err) = run(trustbench().arg("verify").arg(&missing));
    assert_eq!(
        st.code(),
        Some(2),
        "nonexistent PATH must exit 2 (text)\n{out}\n{err}"
    );
}

#[test]
fn cli_nonexistent_trust_cert_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let (st, out, err) = run(trustbench()
        .args(["verify", "--json", "--trust"])
        .arg(tmp.path().join("no-such-cert.der"))
        .arg(fixtures_dir().join("mod-rsa2048-sha256.ko")));
    assert_eq!(
        st.code(),
        Some(2),
        "unreadable --trust must exit 2\n{out}\n{err}"
    );
}

#[test]
fn cli_usage_errors_exit_2() {
    let m = fixtures_dir().join("mod-rsa2048-sha256.ko");
    let (st, out, err) = run(trustbench().args(["verify", "--no-such-flag"]).arg(&m));
    assert_eq!(st.code(), Some(2), "unknown flag must exit 2\n{out}\n{err}");
    let (st, out, err) = run(trustbench().args(["verify", "--kind", "bogus"]).arg(&m));
    assert_eq!(
        st.code(),
        Some(2),
        "bad --kind value must exit 2\n{out}\n{err}"
    );
}

#[test]
fn cli_text_mode_exit_codes() {
    let dir = fixtures_dir();
    let (st, out, err) = run(trustbench()
        .args(["verify", "--trust"])
        .arg(dir.join("signer-rsa2048.der"))
        .arg(dir.join("mod-rsa2048-sha256.ko")));
    assert_eq!(st.code(), Some(0), "{out}\n{err}");
    let (st, out, err) = run(trustbench()
        .args(["verify", "--trust"])
        .arg(dir.join("signer-rsa2048.der"))
        .arg(dir.join("bad-tampered.ko")));
    assert_eq!(st.code(), Some(1), "{out}\n{err}");
}

// =======================================================================================
// b) live tools: fresh keys, sign-file, evmctl
// =======================================================================================

const EXT_CNF: &str = "\
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
";

/// A throw-away CA in a temp dir that issues leaf certs.
struct Pki {
    dir: tempfile::TempDir,
    openssl: PathBuf,
    ca_key: PathBuf,
    ca_pem: PathBuf,
    ca_der: PathBuf,
    serial: Cell<u32>,
}

struct Leaf {
    key: PathBuf,
    der: PathBuf,
    pem: PathBuf,
}

impl Pki {
    fn new(openssl: &Path) -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = |n: &str| dir.path().join(n);
        write(&p("ext.cnf"), EXT_CNF.as_bytes());
        let pki = Pki {
            openssl: openssl.to_path_buf(),
            ca_key: p("ca.key.pem"),
            ca_pem: p("ca.pem"),
            ca_der: p("ca.der"),
            serial: Cell::new(0x100),
            dir,
        };
        pki.genkey("rsa2048", &pki.ca_key);
        run_ok(
            pki.openssl()
                .args(["req", "-new", "-x509", "-sha256", "-days", "3650"])
                .args(["-set_serial", "1", "-subj", "/CN=trustbench live test CA"])
                .args(["-extensions", "ca", "-config"])
                .arg(pki.path("ext.cnf"))
                .arg("-key")
                .arg(&pki.ca_key)
                .arg("-out")
                .arg(&pki.ca_pem),
        );
        pki.to_der(&pki.ca_pem, &pki.ca_der);
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn openssl(&self) -> Command {
        Command::new(&self.openssl)
    }

    fn genkey(&self, alg: &str, out: &Path) {
        let mut cmd = self.openssl();
        cmd.args(["genpkey", "-out"]).arg(out);
        match alg {
            "p256" => cmd.args(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
            "p384" => cmd.args(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]),
            rsa => {
                let bits = rsa.strip_prefix("rsa").expect("rsaNNNN|p256|p384");
                cmd.args(["-algorithm", "RSA", "-pkeyopt"])
                    .arg(format!("rsa_keygen_bits:{bits}"))
            }
        };
        run_ok(&mut cmd);
    }

    fn to_der(&self, pem: &Path, der: &Path) {
        run_ok(
            self.openssl()
                .args(["x509", "-outform", "DER", "-in"])
                .arg(pem)
                .arg("-out")
                .arg(der),
        );
    }

    /// New leaf (CA:FALSE, digitalSignature, SKID+AKID) issued by this CA.
    fn leaf(&self, name: &str, alg: &str) -> Leaf {
        let key = self.path(&format!("{name}.key.pem"));
        let csr = self.path(&format!("{name}.csr"));
        let pem = self.path(&format!("{name}.pem"));
        let der = self.path(&format!("{name}.der"));
        self.genkey(alg, &key);
        run_ok(
            self.openssl()
                .args(["req", "-new", "-subj"])
                .arg(format!("/CN=trustbench live {name}"))
                .arg("-config")
                .arg(self.path("ext.cnf"))
                .arg("-key")
                .arg(&key)
                .arg("-out")
                .arg(&csr),
        );
        let serial = self.serial.get() + 1;
        self.serial.set(serial);
        run_ok(
            self.openssl()
                .args([
                    "x509",
                    "-req",
                    "-sha256",
                    "-days",
                    "3650",
                    "-extensions",
                    "leaf",
                ])
                .arg("-set_serial")
                .arg(serial.to_string())
                .arg("-extfile")
                .arg(self.path("ext.cnf"))
                .arg("-in")
                .arg(&csr)
                .arg("-CA")
                .arg(&self.ca_pem)
                .arg("-CAkey")
                .arg(&self.ca_key)
                .arg("-out")
                .arg(&pem),
        );
        self.to_der(&pem, &der);
        Leaf { key, der, pem }
    }
}

/// Sign `body` with sign-file into `dest` (body kept in `dest.unsigned`).
fn sign_module(sf: &Path, leaf: &Leaf, hash: &str, skid: bool, body: &[u8], dest: &Path) {
    let unsigned = dest.with_extension("unsigned");
    write(&unsigned, body);
    let mut cmd = Command::new(sf);
    if skid {
        cmd.arg("-k");
    }
    cmd.arg(hash)
        .arg(&leaf.key)
        .arg(&leaf.der)
        .arg(&unsigned)
        .arg(dest);
    run_ok(&mut cmd);
    let signed = read(dest);
    let (content, _) = split_module(&signed)
        .unwrap_or_else(|| panic!("sign-file output {} has no valid trailer", dest.display()));
    assert_eq!(content, body, "sign-file changed the module content");
}

/// Copy `src` to `dst` with one byte of the first `content_len` bytes flipped.
fn tamper_copy(src: &Path, dst: &Path, content_len: usize) {
    let mut data = read(src);
    let i = random_below(content_len);
    data[i] ^= 0x5a;
    write(dst, &data);
}

const HASHES: [&str; 3] = ["sha256", "sha384", "sha512"];

fn live_modules(alg: &str) {
    let Some(openssl) = require_tool("openssl") else {
        return;
    };
    let Some(sf) = sign_file() else {
        return;
    };
    let pki = Pki::new(&openssl);
    let leaf = pki.leaf("signer", alg);
    // an unrelated cert under the same CA (EC keygen is cheap)
    let other = pki.leaf("other", "p256");

    let mut signed = Vec::new();
    let mut tampered = Vec::new();
    let mut hashes = Vec::new();
    for hash in HASHES {
        for skid in [false, true] {
            let name = format!("m-{alg}-{hash}{}", if skid { "-skid" } else { "" });
            let body = random_bytes(1500 + random_below(4000));
            let dest = pki.path(&format!("{name}.ko"));
            sign_module(&sf, &leaf, hash, skid, &body, &dest);
            let bad = pki.path(&format!("{name}-tampered.ko"));
            tamper_copy(&dest, &bad, body.len());
            signed.push(dest);
            tampered.push(bad);
            hashes.push(hash);
        }
    }
    let signed_refs: Vec<&Path> = signed.iter().map(PathBuf::as_path).collect();
    let tampered_refs: Vec<&Path> = tampered.iter().map(PathBuf::as_path).collect();

    // trusted leaf → valid
    let v = verify_json(&[&leaf.der], None, &signed_refs);
    assert_eq!(
        v.out.code(),
        0,
        "{alg}: freshly signed modules must verify\n{}",
        v.context()
    );
    assert_records(&v, &signed_refs);
    for (rec, hash) in v.records.iter().zip(&hashes) {
        assert_eq!(s(rec, "kind"), Some("module"), "{rec}");
        assert_eq!(s(rec, "verdict"), Some("valid"), "{rec}\n{}", v.context());
        let h = s(rec, "hash").unwrap_or("");
        assert!(
            hash_field_ok(h, Some(hash)),
            "{rec}: hash should be {hash}:<hex>"
        );
    }

    // PEM trust works the same
    let v = verify_json(&[&leaf.pem], None, &signed_refs[..2]);
    assert_eq!(v.out.code(), 0, "{alg}: PEM --trust\n{}", v.context());

    // one content byte flipped → EKEYREJECTED (key found, signature bad)
    let v = verify_json(&[&leaf.der], None, &tampered_refs);
    assert_eq!(v.out.code(), 1, "{}", v.context());
    assert_records(&v, &tampered_refs);
    for rec in &v.records {
        assert_eq!(s(rec, "verdict"), Some("invalid"), "{rec}\n{}", v.context());
        assert_eq!(
            s(rec, "errno"),
            Some("EKEYREJECTED"),
            "{rec}\n{}",
            v.context()
        );
    }

    // wrong trust cert (and the CA alone: module sigs carry no chain) → ENOKEY
    for trust in [&other.der, &pki.ca_der] {
        let v = verify_json(&[trust], None, &signed_refs);
        assert_eq!(v.out.code(), 1, "{}", v.context());
        assert_records(&v, &signed_refs);
        for rec in &v.records {
            assert_eq!(s(rec, "verdict"), Some("invalid"), "{rec}\n{}", v.context());
            assert_eq!(s(rec, "errno"), Some("ENOKEY"), "{rec}\n{}", v.context());
        }
    }

    // the right key among others still verifies
    let v = verify_json(&[&pki.ca_der, &other.der, &leaf.der], None, &signed_refs);
    assert_eq!(v.out.code(), 0, "{}", v.context());
}

#[test]
fn live_modules_rsa2048() {
    live_modules("rsa2048");
}

#[test]
fn live_modules_rsa3072() {
    live_modules("rsa3072");
}

#[test]
fn live_modules_p256() {
    live_modules("p256");
}

#[test]
fn live_modules_p384() {
    live_modules("p384");
}

/// `evmctl ima_sign --sigfile` → FILE.sig (full xattr value: type 3, v2 header, sig).
fn ima_sign(evmctl: &Path, leaf: &Leaf, hash: &str, file: &Path, keyid: Option<&str>) {
    let mut cmd = Command::new(evmctl);
    cmd.args(["ima_sign", "--sigfile", "-a", hash, "--key"])
        .arg(&leaf.key);
    match keyid {
        Some(k) => cmd.args(["--keyid", k]),
        None => cmd.arg("--keyid-from-cert").arg(&leaf.der),
    };
    cmd.arg(file);
    run_ok(&mut cmd);
    let sig = sig_path(file);
    assert!(sig.exists(), "evmctl did not write {}", sig.display());
}

fn sig_path(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".sig");
    PathBuf::from(s)
}

fn live_ima(alg: &str) {
    let Some(openssl) = require_tool("openssl") else {
        return;
    };
    let Some(evmctl) = require_tool("evmctl") else {
        return;
    };
    let pki = Pki::new(&openssl);
    let leaf = pki.leaf("signer", alg);
    let other = pki.leaf("other", "p256");

    let mut files = Vec::new();
    let mut tampered = Vec::new();
    for hash in HASHES {
        let f = pki.path(&format!("f-{alg}-{hash}.bin"));
        let data = random_bytes(200 + random_below(3000));
        write(&f, &data);
        ima_sign(&evmctl, &leaf, hash, &f, None);
        let t = pki.path(&format!("f-{alg}-{hash}-tampered.bin"));
        tamper_copy(&f, &t, data.len());
        std::fs::copy(sig_path(&f), sig_path(&t)).unwrap();
        files.push(f);
        tampered.push(t);
    }
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let trefs: Vec<&Path> = tampered.iter().map(PathBuf::as_path).collect();

    let v = verify_json(&[&leaf.der], None, &refs);
    assert_eq!(
        v.out.code(),
        0,
        "{alg}: evmctl signatures must verify\n{}",
        v.context()
    );
    assert_records(&v, &refs);
    for (rec, hash) in v.records.iter().zip(HASHES) {
        assert_eq!(s(rec, "kind"), Some("ima"), "{rec}");
        assert_eq!(s(rec, "verdict"), Some("valid"), "{rec}\n{}", v.context());
        let h = s(rec, "hash").unwrap_or("");
        assert!(
            hash_field_ok(h, Some(hash)),
            "{rec}: hash should be {hash}:<hex>"
        );
    }
    let v = verify_json(&[&leaf.der], Some("ima"), &refs);
    assert_eq!(v.out.code(), 0, "{alg}: --kind ima\n{}", v.context());

    let v = verify_json(&[&leaf.der], None, &trefs);
    assert_eq!(v.out.code(), 1, "{}", v.context());
    assert_records(&v, &trefs);
    for rec in &v.records {
        assert_eq!(s(rec, "verdict"), Some("invalid"), "{rec}\n{}", v.context());
        assert_eq!(
            s(rec, "errno"),
            Some("EKEYREJECTED"),
            "{rec}\n{}",
            v.context()
        );
    }

    let v = verify_json(&[&other.der], None, &refs);
    assert_eq!(v.out.code(), 1, "{}", v.context());
    assert_records(&v, &refs);
    for rec in &v.records {
        assert_eq!(s(rec, "verdict"), Some("invalid"), "{rec}\n{}", v.context());
        assert_eq!(s(rec, "errno"), Some("ENOKEY"), "{rec}\n{}", v.context());
    }

    // keyid that matches no trusted key: the key is chosen by keyid alone → ENOKEY
    let f = pki.path(&format!("f-{alg}-wrong-keyid.bin"));
    write(&f, &random_bytes(512));
    let bogus = if skid_tail(&openssl, &leaf.pem) == "deadbeef" {
        "0badf00d"
    } else {
        "deadbeef"
    };
    ima_sign(&evmctl, &leaf, "sha256", &f, Some(bogus));
    let want = u32::from_str_radix(bogus, 16).unwrap().to_be_bytes();
    assert_eq!(
        &read(&sig_path(&f))[3..7],
        &want[..],
        "evmctl --keyid must land in the header"
    );
    let v = verify_json(&[&leaf.der], None, &[&f]);
    assert_eq!(v.out.code(), 1, "{}", v.context());
    assert_eq!(s(&v.records[0], "errno"), Some("ENOKEY"), "{}", v.context());

    // no .sig (and no xattr in a fresh temp dir) → unsigned / ENODATA
    let u = pki.path(&format!("f-{alg}-unsigned.bin"));
    write(&u, &random_bytes(512));
    let v = verify_json(&[&leaf.der], None, &[&u]);
    assert_eq!(v.out.code(), 1, "{}", v.context());
    assert_eq!(
        s(&v.records[0], "verdict"),
        Some("unsigned"),
        "{}",
        v.context()
    );
    assert_eq!(
        s(&v.records[0], "errno"),
        Some("ENODATA"),
        "{}",
        v.context()
    );
}

#[test]
fn live_ima_rsa2048() {
    live_ima("rsa2048");
}

#[test]
fn live_ima_rsa3072() {
    live_ima("rsa3072");
}

#[test]
fn live_ima_p256() {
    live_ima("p256");
}

#[test]
fn live_ima_p384() {
    live_ima("p384");
}

// =======================================================================================
// c) our delimitation of the signed bytes, confirmed by openssl
// =======================================================================================

/// `openssl cms -verify` of a detached PKCS#7 over `content`; true if openssl accepts it.
fn cms_verify(
    openssl: &Path,
    dir: &Path,
    tag: &str,
    pkcs7: &[u8],
    content: &[u8],
    leaf_pem: &Path,
    ca_pem: &Path,
) -> bool {
    let p7 = dir.join(format!("{tag}.p7"));
    let body = dir.join(format!("{tag}.body"));
    write(&p7, pkcs7);
    write(&body, content);
    let (st, _, _) = run(Command::new(openssl)
        .args([
            "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any",
        ])
        .arg("-in")
        .arg(&p7)
        .arg("-content")
        .arg(&body)
        .arg("-certfile")
        .arg(leaf_pem)
        .arg("-CAfile")
        .arg(ca_pem)
        .args(["-out", "/dev/null"]));
    st.success()
}

/// Split a signed module, sanity-check the PKCS#7 framing, and have openssl verify the
/// original and a tampered content.
fn crosscheck_module(
    openssl: &Path,
    dir: &Path,
    tag: &str,
    module: &Path,
    leaf_pem: &Path,
    ca_pem: &Path,
) {
    let data = read(module);
    let (content, pkcs7) = split_module(&data)
        .unwrap_or_else(|| panic!("{}: no well-formed trailer", module.display()));
    assert_eq!(
        pkcs7.first(),
        Some(&0x30),
        "{tag}: PKCS#7 must start with SEQUENCE"
    );
    assert_eq!(
        der_outer_len(pkcs7),
        Some(pkcs7.len()),
        "{tag}: sig_len must delimit exactly one DER element"
    );
    assert!(
        cms_verify(openssl, dir, tag, pkcs7, content, leaf_pem, ca_pem),
        "{tag}: openssl cms rejects the PKCS#7/content we delimited from {}",
        module.display()
    );
    let mut bad = content.to_vec();
    let i = random_below(bad.len());
    bad[i] ^= 0x01;
    assert!(
        !cms_verify(
            openssl,
            dir,
            &format!("{tag}-bad"),
            pkcs7,
            &bad,
            leaf_pem,
            ca_pem
        ),
        "{tag}: openssl cms accepted a tampered body"
    );
    // off-by-one delimitation must not verify either
    assert!(
        !cms_verify(
            openssl,
            dir,
            &format!("{tag}-short"),
            pkcs7,
            &content[..content.len() - 1],
            leaf_pem,
            ca_pem
        ),
        "{tag}: openssl cms accepted the content minus its last byte"
    );
}

#[test]
fn crosscheck_live_sign_file_pkcs7_with_openssl_cms() {
    let Some(openssl) = require_tool("openssl") else {
        return;
    };
    let Some(sf) = sign_file() else {
        return;
    };
    let pki = Pki::new(&openssl);
    for alg in ["rsa2048", "p256"] {
        let leaf = pki.leaf(alg, alg);
        for (hash, skid) in [("sha256", false), ("sha512", true), ("sha384", false)] {
            let tag = format!("{alg}-{hash}{}", if skid { "-skid" } else { "" });
            let m = pki.path(&format!("{tag}.ko"));
            sign_module(&sf, &leaf, hash, skid, &random_bytes(3000), &m);
            crosscheck_module(&openssl, pki.dir.path(), &tag, &m, &leaf.pem, &pki.ca_pem);

            // and trustbench agrees on the same file
            let v = verify_json(&[&leaf.der], Some("module"), &[&m]);
            assert_eq!(v.out.code(), 0, "{tag}\n{}", v.context());
        }
    }
}

#[test]
fn crosscheck_fixture_modules_with_openssl_cms() {
    let Some(openssl) = require_tool("openssl") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures_dir();
    let pem = |der: &str| -> PathBuf {
        let out = tmp.path().join(format!("{der}.pem"));
        run_ok(
            Command::new(&openssl)
                .args(["x509", "-inform", "DER", "-in"])
                .arg(fx.join(der))
                .arg("-out")
                .arg(&out),
        );
        out
    };
    let ca = pem("ca-rsa.der");
    for (module, cert) in [
        ("mod-rsa2048-sha256.ko", "signer-rsa2048.der"),
        ("mod-rsa2048-sha384.ko", "signer-rsa2048.der"),
        ("mod-rsa2048-sha512.ko", "signer-rsa2048.der"),
        ("mod-rsa2048-sha256-skid.ko", "signer-rsa2048.der"),
        ("mod-rsa4096-sha256.ko", "signer-rsa4096.der"),
        ("mod-p256-sha256.ko", "signer-p256.der"),
        ("mod-p384-sha384.ko", "signer-p384.der"),
    ] {
        let leaf = pem(cert);
        crosscheck_module(&openssl, tmp.path(), module, &fx.join(module), &leaf, &ca);
    }
    // the self-signed key is its own anchor
    let ss = pem("selfsigned-rsa2048.der");
    crosscheck_module(
        &openssl,
        tmp.path(),
        "selfsigned",
        &fx.join("mod-selfsigned-sha256.ko"),
        &ss,
        &ss,
    );
}

/// IMA v2: header parse (type 3, version 2, hash_algo, keyid = SKID tail, sig_size =
/// rest) and the raw signature verified by `openssl dgst -verify` over the file.
#[test]
fn crosscheck_evmctl_signature_with_openssl_dgst() {
    let Some(openssl) = require_tool("openssl") else {
        return;
    };
    let Some(evmctl) = require_tool("evmctl") else {
        return;
    };
    let pki = Pki::new(&openssl);
    for alg in ["rsa2048", "p256"] {
        let leaf = pki.leaf(alg, alg);
        let pubkey = pki.path(&format!("{alg}.pub.pem"));
        let out = run_ok(
            Command::new(&openssl)
                .args(["x509", "-pubkey", "-noout", "-in"])
                .arg(&leaf.pem),
        );
        write(&pubkey, out.as_bytes());
        let tail = skid_tail(&openssl, &leaf.pem);
        for (hash, algo_id) in [("sha256", 4u8), ("sha384", 5), ("sha512", 6)] {
            let f = pki.path(&format!("{alg}-{hash}.bin"));
            let data = random_bytes(777);
            write(&f, &data);
            ima_sign(&evmctl, &leaf, hash, &f, None);
            let sig = read(&sig_path(&f));
            assert!(sig.len() > 9, "short .sig");
            assert_eq!(sig[0], 3, "xattr type EVM_IMA_XATTR_DIGSIG");
            assert_eq!(sig[1], 2, "signature version 2");
            assert_eq!(sig[2], algo_id, "hash_algo for {hash}");
            assert_eq!(hex(&sig[3..7]), tail, "keyid must be the SKID tail");
            let size = u16::from_be_bytes([sig[7], sig[8]]) as usize;
            assert_eq!(size, sig.len() - 9, "sig_size must cover the rest");

            let raw = pki.path(&format!("{alg}-{hash}.raw"));
            write(&raw, &sig[9..]);
            let dgst_ok = |file: &Path| {
                run(Command::new(&openssl)
                    .arg("dgst")
                    .arg(format!("-{hash}"))
                    .arg("-verify")
                    .arg(&pubkey)
                    .arg("-signature")
                    .arg(&raw)
                    .arg(file))
                .0
                .success()
            };
            assert!(
                dgst_ok(&f),
                "openssl rejects the {alg}/{hash} IMA signature bytes"
            );
            let t = pki.path(&format!("{alg}-{hash}-tampered.bin"));
            tamper_copy(&f, &t, data.len());
            assert!(
                !dgst_ok(&t),
                "openssl accepted a tampered file ({alg}/{hash})"
            );

            let v = verify_json(&[&leaf.der], None, &[&f]);
            assert_eq!(v.out.code(), 0, "{alg}/{hash}\n{}", v.context());
        }
    }
}
