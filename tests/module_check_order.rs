//! Module PKCS#7: the state the kernel keeps on a message's certificates while it checks
//! one signerInfo after another, and why it decides errnos.
//!
//! pkcs7_verify_sig_chain records, on each embedded certificate, the certificate whose key
//! verified it (`x509->signer`), and pkcs7_validate_trust_one walks exactly those links — not
//! the AKIDs again — marking each certificate `seen` once per trust pass, for all
//! signerInfos together. So a chain walk that stopped (a loop, a missing issuer) also ends
//! the trust walk there, where the chain top's AKID is looked up in the keyring; and a
//! second signerInfo can leave links that turn the first one's trust walk into a loop.
//!
//! The certificates form a cycle, made with `openssl` at test time (fresh keys each run):
//!
//! | cert | subject | issuer / signed by | SKID | AKID keyid |
//! |---|---|---|---|---|
//! | L | cycle L | cycle C / key C | S(L) | S(C) |
//! | C | cycle C | cycle L / key L | S(C) | S(L) |
//! | K | cycle K | self / key L | S(L) | — |
//!
//! K (the only trusted certificate) holds L's key under another name: an `ex:` lookup by
//! L's serial+issuer misses it, a lookup by the SKID S(L) finds it.
//!
//! The live kernel cannot judge these: there is no `pkcs7_test` key type in this kernel, so
//! userspace cannot hand it a PKCS#7 message, and loading modules is not an option in a
//! test. The expectations are reasoned from the 6.17/6.18 sources (pkcs7_verify.c,
//! pkcs7_trust.c; the order is written down at the top of src/verify/module.rs).
//!
//! A missing `openssl` fails the test under `CI=true` and skips it loudly otherwise.

mod common;

use common::{parse_json_lines, require_tool, run_ok, trustbench};
use std::path::{Path, PathBuf};
use std::process::Command;

const CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[self]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, keyCertSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = none
[issued]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, keyCertSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
";

struct Cycle {
    dir: tempfile::TempDir,
    openssl: PathBuf,
}

impl Cycle {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn openssl(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(&self.openssl);
        cmd.current_dir(self.dir.path()).args(args);
        run_ok(&mut cmd)
    }

    /// The certificate's SKID or AKID keyid as openssl prints it.
    fn ext(&self, cert: &str, inform: &str, ext: &str) -> String {
        let out = self.openssl(&[
            "x509", "-inform", inform, "-in", cert, "-noout", "-ext", ext,
        ]);
        out.lines().nth(1).unwrap_or_default().trim().to_string()
    }

    /// Keys L and C; C0 (self-signed, key C) issues L; L issues C (subject and key of C0);
    /// K is a self-signed certificate of key L.
    fn build(openssl: PathBuf) -> Cycle {
        let dir = tempfile::Builder::new()
            .prefix("trustbench-check-order-")
            .tempdir()
            .unwrap();
        let c = Cycle { dir, openssl };
        std::fs::write(c.path("x.cnf"), CONFIG).unwrap();
        for k in ["kL.pem", "kC.pem"] {
            c.openssl(&[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                k,
            ]);
        }
        let self_signed = |key: &str, cn: &str, serial: &str, out: &str, form: &str| {
            c.openssl(&[
                "req",
                "-new",
                "-x509",
                "-key",
                key,
                "-subj",
                cn,
                "-days",
                "7300",
                "-set_serial",
                serial,
                "-sha256",
                "-config",
                "x.cnf",
                "-extensions",
                "self",
                "-outform",
                form,
                "-out",
                out,
            ]);
        };
        let issue = |key: &str, cn: &str, ca: &str, ca_key: &str, serial: &str, out: &str| {
            let csr = format!("{out}.csr");
            c.openssl(&[
                "req", "-new", "-key", key, "-subj", cn, "-config", "x.cnf", "-out", &csr,
            ]);
            c.openssl(&[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                ca,
                "-CAkey",
                ca_key,
                "-set_serial",
                serial,
                "-days",
                "7300",
                "-sha256",
                "-extfile",
                "x.cnf",
                "-extensions",
                "issued",
                "-out",
                out,
            ]);
        };
        self_signed("kC.pem", "/CN=cycle C", "1", "C0.pem", "PEM");
        issue("kL.pem", "/CN=cycle L", "C0.pem", "kC.pem", "2", "L.pem");
        issue("kC.pem", "/CN=cycle C", "L.pem", "kL.pem", "3", "C.pem");
        self_signed("kL.pem", "/CN=cycle K", "4", "K.der", "DER");

        // The table above, checked.
        let skid = "subjectKeyIdentifier";
        let akid = "authorityKeyIdentifier";
        let (s_l, s_c) = (c.ext("L.pem", "PEM", skid), c.ext("C.pem", "PEM", skid));
        assert!(!s_l.is_empty() && s_l != s_c, "SKIDs {s_l} / {s_c}");
        assert_eq!(c.ext("L.pem", "PEM", akid), s_c, "L's AKID");
        assert_eq!(c.ext("C.pem", "PEM", akid), s_l, "C's AKID");
        assert_eq!(c.ext("K.der", "DER", skid), s_l, "K's SKID");

        let body: Vec<u8> = (0..3000u32).map(|i| (i * 7 + 3) as u8).collect();
        std::fs::write(c.path("body.bin"), body).unwrap();
        c
    }

    /// `openssl cms -sign` (detached, binary, no attributes) over the body with `signers`
    /// (cert, key) and `extra` certificates, appended to the body as sign-file would.
    fn module(&self, name: &str, signers: &[(&str, &str)], extra: Option<&str>) -> PathBuf {
        let p7 = format!("{name}.p7");
        let mut args = vec![
            "cms", "-sign", "-binary", "-md", "sha256", "-noattr", "-in", "body.bin",
        ];
        for (cert, key) in signers {
            args.extend(["-signer", cert, "-inkey", key]);
        }
        if let Some(e) = extra {
            args.extend(["-certfile", e]);
        }
        args.extend(["-outform", "DER", "-out", &p7]);
        self.openssl(&args);
        let sig = std::fs::read(self.path(&p7)).unwrap();
        let mut m = std::fs::read(self.path("body.bin")).unwrap();
        m.extend_from_slice(&sig);
        m.extend_from_slice(&trustbench::formats::modsig::trailer(sig.len()));
        let out = self.path(&format!("{name}.ko"));
        std::fs::write(&out, m).unwrap();
        out
    }
}

/// `trustbench verify --json --kind module --trust K.der PATHS` → (path, outcome) where the
/// outcome is "valid" or the errno.
fn verify(c: &Cycle, paths: &[&Path]) -> Vec<(String, String)> {
    let mut cmd = trustbench();
    cmd.args(["verify", "--json", "--kind", "module", "--trust"])
        .arg(c.path("K.der"))
        .args(paths);
    let out = cmd.output().expect("run trustbench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    parse_json_lines(&stdout)
        .into_iter()
        .map(|v| {
            let outcome = match v["verdict"].as_str() {
                Some("valid") => "valid".to_string(),
                _ => v["errno"].as_str().unwrap_or("?").to_string(),
            };
            (v["path"].as_str().unwrap_or("?").to_string(), outcome)
        })
        .collect()
}

#[test]
fn trust_walk_follows_the_links_the_chain_walk_recorded() {
    let Some(openssl) = require_tool("openssl") else {
        return;
    };
    let c = Cycle::build(openssl);
    let by_l = c.module("by-l", &[("L.pem", "kL.pem")], Some("C.pem"));
    let by_c = c.module("by-c", &[("C.pem", "kC.pem")], Some("L.pem"));
    let by_both = c.module("by-both", &[("L.pem", "kL.pem"), ("C.pem", "kC.pem")], None);

    let cases: [(&Path, &str, &str); 3] = [
        (
            &by_l,
            "valid",
            "signer L: the chain walk verifies L with C and records L→C; from C it finds L \
             again (already walked) and stops, recording nothing. The trust walk follows \
             L→C, finds neither in the keyring, so C is the chain top: C's AKID keyid S(L) \
             finds K, whose key (L's) verifies C's signature. (Re-deriving C's issuer from \
             its AKID instead would walk back to L, already seen, and give ENOKEY.)",
        ),
        (
            &by_c,
            "ENOKEY",
            "signer C: links C→L; the chain top L's AKID S(C) names no trusted key, nor does \
             C's serial+issuer",
        ),
        (
            &by_both,
            "ENOKEY",
            "both signerInfos: each one's chain walk records one link, L→C and C→L, so the \
             links form a cycle. In the single trust pass the first signerInfo's walk comes \
             back to a certificate it already walked (not verified) → ENOKEY, and the second \
             starts on a certificate walked in this pass → ENOKEY: a valid second signerInfo \
             makes the message untrusted",
        ),
    ];
    let paths: Vec<&Path> = cases.iter().map(|c| c.0).collect();
    let got = verify(&c, &paths);
    assert_eq!(got.len(), cases.len(), "one verdict per module: {got:?}");
    let mut failures = Vec::new();
    for ((path, want, why), (gpath, outcome)) in cases.iter().zip(&got) {
        assert_eq!(Path::new(gpath), *path);
        println!("{:<12} model: {outcome:<8} kernel: {want}", path.display());
        if outcome != want {
            failures.push(format!(
                "{}: model {outcome}, kernel {want} [{why}]",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
