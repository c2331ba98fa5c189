//! Real `security.ima` xattrs on a file system that supports them (a temporary directory
//! under the system temp dir, /tmp here, probed first), written by the real tools:
//! `evmctl ima_sign` and `evmctl ima_hash` without `--sigfile`, and `setfattr` for crafted
//! values (type 1, type 4 good/bad/short, empty, unknown type, a v2 signature beside a
//! conflicting sidecar, …). Checked through `trustbench verify --json` (with and without
//! `--ima-accept-hash`, each `--ima-source`) and `trustbench run` on a small tree.
//!
//! The kernel reads only security.ima, and it wins: where evmctl (a peer tool) disagrees,
//! the test says so. evmctl's `ima_verify` verifies signatures only and refuses hash
//! labels ("has no signature"), which is what the default imasig rule does too.
//!
//! Needs evmctl, setfattr, getfattr and security xattrs (root): a missing one fails under
//! `CI=true` and prints a loud SKIP otherwise.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The fixture signer (RSA-2048) that signs, and whose certificate is trusted.
fn cert() -> PathBuf {
    fixtures_dir().join("signer-rsa2048.der")
}

fn key() -> PathBuf {
    fixtures_dir().join("signer-rsa2048.key.pem")
}

/// The tools and a directory where security.ima can be set.
struct Env {
    dir: tempfile::TempDir,
    evmctl: PathBuf,
    setfattr: PathBuf,
    getfattr: PathBuf,
}

impl Env {
    /// `None` (after a skip banner, or a panic under CI) when a tool or xattr support is
    /// missing.
    fn new() -> Option<Env> {
        let evmctl = require_tool("evmctl")?;
        let setfattr = require_tool("setfattr")?;
        let getfattr = require_tool("getfattr")?;
        let dir = tempfile::tempdir().expect("tempdir");
        let env = Env {
            dir,
            evmctl,
            setfattr,
            getfattr,
        };
        // Probe: can root set security.ima here?
        let probe = env.file("probe.bin", b"probe");
        let out = run_output(
            Command::new(&env.setfattr)
                .args(["-n", "security.ima", "-v", "0x0404"])
                .arg(&probe),
        );
        if out.code() != 0 {
            skip_or_fail(
                &format!(
                    "cannot set security.ima in {} (setfattr: {})",
                    env.dir.path().display(),
                    out.stderr.trim()
                ),
                "needs root and a file system with security.* xattrs (ext4, xfs, btrfs, tmpfs)",
            );
            return None;
        }
        Some(env)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A file with `content`.
    fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    /// `setfattr -n security.ima -v VALUE` (hex; the empty value for `[]`).
    fn setfattr(&self, p: &Path, value: &[u8]) {
        let v = if value.is_empty() {
            String::new()
        } else {
            format!("0x{}", hex(value))
        };
        run_ok(
            Command::new(&self.setfattr)
                .args(["-n", "security.ima", "-v", &v])
                .arg(p),
        );
    }

    /// security.ima as getfattr reports it (`None`: the file has none).
    fn getfattr(&self, p: &Path) -> Option<Vec<u8>> {
        let out = run_output(
            Command::new(&self.getfattr)
                .args(["--absolute-names", "-e", "hex", "-n", "security.ima"])
                .arg(p),
        );
        if out.code() != 0 {
            return None;
        }
        let line = out
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("security.ima="))
            .unwrap_or_else(|| panic!("getfattr output: {out:?}"));
        let t = line.trim().trim_matches('"');
        Some(unhex(t.strip_prefix("0x").unwrap_or(t)))
    }

    fn evmctl(&self) -> Command {
        Command::new(&self.evmctl)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn digest(h: trustbench::hash::HashAlgo, data: &[u8]) -> Vec<u8> {
    h.digest(data).unwrap().as_bytes().to_vec()
}

fn random(n: usize) -> Vec<u8> {
    use std::io::Read;
    let mut b = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut b)
        .unwrap();
    b
}

/// `trustbench verify --json --trust CERT [opts] PATHS` → (exit code, records, output).
fn verify(opts: &[&str], paths: &[&Path]) -> (i32, Vec<Value>, Output) {
    let mut cmd = trustbench();
    cmd.args(["verify", "--json", "--trust"])
        .arg(cert())
        .args(opts)
        .args(paths);
    let out = run_output(&mut cmd);
    let recs = if matches!(out.code(), 0 | 1) {
        parse_json_lines(&out.stdout)
    } else {
        Vec::new()
    };
    assert_eq!(
        recs.len(),
        if matches!(out.code(), 0 | 1) {
            paths.len()
        } else {
            0
        }
    );
    (out.code(), recs, out)
}

/// (verdict, errno or "-", ima_source or "-") of a record.
fn brief(r: &Value) -> (String, String, String) {
    let s = |k: &str| r[k].as_str().unwrap_or("-").to_string();
    (s("verdict"), s("errno"), s("ima_source"))
}

fn b(v: &str, e: &str, s: &str) -> (String, String, String) {
    (v.into(), e.into(), s.into())
}

/// `evmctl ima_sign` without --sigfile writes the signature into security.ima; trustbench
/// reads it from there (auto and xattr), ignores it under `--ima-source sidecar`, and
/// agrees with `evmctl ima_verify` before and after the content changes.
#[test]
fn evmctl_ima_sign_into_security_ima_verifies_from_the_xattr() {
    let Some(env) = Env::new() else {
        return;
    };
    let mut files = Vec::new();
    for hash in ["sha256", "sha384", "sha512"] {
        let f = env.file(&format!("signed-{hash}.bin"), &random(3000));
        run_ok(
            env.evmctl()
                .args(["ima_sign", "-a", hash, "--key"])
                .arg(key())
                .arg("--keyid-from-cert")
                .arg(cert())
                .arg(&f),
        );
        assert!(
            !Path::new(&format!("{}.sig", f.display())).exists(),
            "no sidecar without --sigfile"
        );
        let x = env.getfattr(&f).expect("evmctl set security.ima");
        assert_eq!(&x[..2], &[3, 2], "type 3, v2: {x:02x?}");
        files.push(f);
    }
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    for source in ["auto", "xattr"] {
        let (code, recs, out) = verify(&["--ima-source", source], &refs);
        assert_eq!(code, 0, "{source}: {out:?}");
        for r in &recs {
            assert_eq!(brief(r), b("valid", "-", "xattr"), "{source}: {r}");
            assert_eq!(r["ima_rule"], "imasig");
            assert!(r["signer"].is_string(), "{r}");
        }
    }
    let (code, recs, _) = verify(&["--ima-source", "sidecar"], &refs);
    assert_eq!(code, 1);
    for r in &recs {
        assert_eq!(brief(r), b("unsigned", "ENODATA", "-"), "{r}");
        assert!(
            r["reason"].as_str().unwrap().contains("no .sig sidecar"),
            "{r}"
        );
    }
    // The peer tool agrees.
    for f in &files {
        let out = run_output(
            env.evmctl()
                .arg("ima_verify")
                .arg("--key")
                .arg(cert())
                .arg(f),
        );
        assert_eq!(out.code(), 0, "evmctl ima_verify {}: {out:?}", f.display());
    }
    // Content changed, label kept: EKEYREJECTED here, a failure for evmctl.
    let f = &files[0];
    let mut data = std::fs::read(f).unwrap();
    data[100] ^= 1;
    std::fs::write(f, &data).unwrap();
    assert!(env.getfattr(f).is_some(), "rewriting kept the xattr");
    let (code, recs, _) = verify(&[], &[f]);
    assert_eq!(code, 1);
    assert_eq!(brief(&recs[0]), b("invalid", "EKEYREJECTED", "xattr"));
    let out = run_output(
        env.evmctl()
            .arg("ima_verify")
            .arg("--key")
            .arg(cert())
            .arg(f),
    );
    assert_ne!(out.code(), 0, "evmctl accepted a changed file: {out:?}");
}

/// `evmctl ima_hash` without --sigfile labels the file with its hash (type 4 for sha256
/// and sha512, the legacy type 1 for sha1). Under the default imasig rule that is invalid
/// (EINVAL, "IMA-signature-required"), as evmctl ima_verify refuses it too ("has no
/// signature"); with --ima-accept-hash the hash is compared: valid with no signer, then
/// "invalid-hash" (EKEYREJECTED) once the content changes.
#[test]
fn evmctl_ima_hash_labels_fail_under_imasig_and_match_under_accept_hash() {
    let Some(env) = Env::new() else {
        return;
    };
    let mut files = Vec::new();
    for (hash, ty) in [("sha256", 4u8), ("sha1", 1), ("sha512", 4)] {
        let f = env.file(&format!("hashed-{hash}.bin"), &random(2500));
        run_ok(env.evmctl().args(["ima_hash", "-a", hash]).arg(&f));
        let x = env.getfattr(&f).expect("evmctl ima_hash set security.ima");
        assert_eq!(x[0], ty, "{hash}: {x:02x?}");
        files.push((f, hash, x));
    }
    let refs: Vec<&Path> = files.iter().map(|f| f.0.as_path()).collect();
    for source in ["auto", "xattr"] {
        let (code, recs, out) = verify(&["--ima-source", source], &refs);
        assert_eq!(code, 1, "{out:?}");
        for r in &recs {
            assert_eq!(brief(r), b("invalid", "EINVAL", "xattr"), "{r}");
            assert_eq!(r["ima_rule"], "imasig");
            let reason = r["reason"].as_str().unwrap();
            assert!(reason.starts_with("IMA-signature-required"), "{r}");
        }
        let (code, recs, out) = verify(&["--ima-accept-hash", "--ima-source", source], &refs);
        assert_eq!(code, 0, "{out:?}");
        for (r, (_, hash, x)) in recs.iter().zip(&files) {
            assert_eq!(brief(r), b("valid", "-", "xattr"), "{r}");
            assert_eq!(r["ima_rule"], "hash");
            assert!(r["signer"].is_null(), "a hash label has no signer: {r}");
            // The digest compared is the one stored (after the type and algorithm bytes).
            let stored = if x[0] == 4 { &x[2..] } else { &x[1..] };
            assert_eq!(r["hash"], format!("{hash}:{}", hex(stored)), "{r}");
        }
    }
    // Sidecars only: these files have none.
    let (_, recs, _) = verify(&["--ima-accept-hash", "--ima-source", "sidecar"], &refs);
    assert!(recs
        .iter()
        .all(|r| brief(r) == b("unsigned", "ENODATA", "-")));
    // evmctl verifies signatures only.
    for (f, ..) in &files {
        let out = run_output(
            env.evmctl()
                .arg("ima_verify")
                .arg("--key")
                .arg(cert())
                .arg(f),
        );
        assert_ne!(
            out.code(),
            0,
            "evmctl ima_verify accepted a hash label: {out:?}"
        );
    }
    // Content changed: the stored hash no longer matches.
    for (f, ..) in &files {
        let mut data = std::fs::read(f).unwrap();
        data.push(0);
        std::fs::write(f, &data).unwrap();
    }
    let (code, recs, _) = verify(&["--ima-accept-hash"], &refs);
    assert_eq!(code, 1);
    for r in &recs {
        assert_eq!(brief(r), b("invalid", "EKEYREJECTED", "xattr"), "{r}");
        assert!(
            r["reason"].as_str().unwrap().starts_with("invalid-hash"),
            "{r}"
        );
    }
}

/// One crafted label: the file, its security.ima (`None`: none set), its sidecar, and the
/// (verdict, errno, source) expected for (imasig, hash rule) × (auto, xattr, sidecar).
struct Crafted {
    name: &'static str,
    xattr: Option<Vec<u8>>,
    sidecar: Option<Vec<u8>>,
    /// [imasig auto, imasig xattr, imasig sidecar, hash auto, hash xattr, hash sidecar].
    want: [(&'static str, &'static str, &'static str); 6],
}

/// Crafted values written with setfattr, each beside (or without) a sidecar, judged under
/// both rules and all three sources.
#[test]
fn crafted_labels_written_with_setfattr() {
    use trustbench::hash::HashAlgo::{Sha1, Sha256};
    let Some(env) = Env::new() else {
        return;
    };
    let content = std::fs::read(fixtures_dir().join("ima-rsa2048-sha256.bin")).unwrap();
    let sig = std::fs::read(fixtures_dir().join("ima-rsa2048-sha256.bin.sig")).unwrap();
    let d256 = digest(Sha256, &content);
    let d1 = digest(Sha1, &content);
    let t4 = |h: &[u8]| [&[4u8, 4][..], h].concat();
    let mut other = d256.clone();
    other[5] ^= 0x40;
    let mut bad_sig = sig.clone();
    bad_sig[8] ^= 1; // sig_size no longer matches: EBADMSG
    const V: (&str, &str, &str) = ("valid", "-", "xattr");
    const VS: (&str, &str, &str) = ("valid", "-", "sidecar");
    const NONE: (&str, &str, &str) = ("unsigned", "ENODATA", "-");
    const EMPTY: (&str, &str, &str) = ("unsigned", "ENODATA", "xattr");
    const REQ: (&str, &str, &str) = ("invalid", "EINVAL", "xattr");
    const MISMATCH: (&str, &str, &str) = ("invalid", "EKEYREJECTED", "xattr");
    const BADMSG_S: (&str, &str, &str) = ("invalid", "EBADMSG", "sidecar");
    let cases = vec![
        Crafted {
            name: "type-1-sha1",
            xattr: Some([&[1u8][..], &d1].concat()),
            sidecar: None,
            want: [REQ, REQ, NONE, V, V, NONE],
        },
        Crafted {
            name: "type-4-good",
            xattr: Some(t4(&d256)),
            sidecar: None,
            want: [REQ, REQ, NONE, V, V, NONE],
        },
        Crafted {
            name: "type-4-trailing",
            xattr: Some(t4(&[&d256[..], b"tail"].concat())),
            sidecar: None,
            want: [REQ, REQ, NONE, V, V, NONE],
        },
        Crafted {
            name: "type-4-bad",
            xattr: Some(t4(&other)),
            sidecar: None,
            want: [REQ, REQ, NONE, MISMATCH, MISMATCH, NONE],
        },
        Crafted {
            name: "type-4-short",
            xattr: Some(t4(&d256[..20])),
            sidecar: None,
            want: [REQ, REQ, NONE, REQ, REQ, NONE],
        },
        Crafted {
            name: "empty-with-sidecar",
            xattr: Some(Vec::new()),
            sidecar: Some(sig.clone()),
            want: [EMPTY, EMPTY, VS, EMPTY, EMPTY, VS],
        },
        Crafted {
            name: "unknown-type",
            xattr: Some([&[2u8][..], &d256].concat()),
            sidecar: None,
            want: [REQ, REQ, NONE, REQ, REQ, NONE],
        },
        Crafted {
            name: "v2-sig-with-conflicting-sidecar",
            xattr: Some(sig.clone()),
            sidecar: Some(bad_sig.clone()),
            want: [V, V, BADMSG_S, V, V, BADMSG_S],
        },
        Crafted {
            name: "hash-xattr-with-good-sidecar",
            xattr: Some(t4(&other)),
            sidecar: Some(sig.clone()),
            want: [REQ, REQ, VS, MISMATCH, MISMATCH, VS],
        },
        Crafted {
            name: "sidecar-only",
            xattr: None,
            sidecar: Some(sig.clone()),
            want: [VS, NONE, VS, VS, NONE, VS],
        },
    ];
    let mut paths = Vec::new();
    for c in &cases {
        let p = env.file(&format!("{}.bin", c.name), &content);
        if let Some(x) = &c.xattr {
            env.setfattr(&p, x);
            assert_eq!(env.getfattr(&p).as_ref(), Some(x), "{}: getfattr", c.name);
        }
        if let Some(s) = &c.sidecar {
            std::fs::write(format!("{}.sig", p.display()), s).unwrap();
        }
        paths.push(p);
    }
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let mut problems = Vec::new();
    for (ri, rule) in [&[][..], &["--ima-accept-hash"][..]].iter().enumerate() {
        for (si, source) in ["auto", "xattr", "sidecar"].iter().enumerate() {
            let mut opts = rule.to_vec();
            opts.extend(["--ima-source", source]);
            let (_, recs, out) = verify(&opts, &refs);
            assert_eq!(recs.len(), cases.len(), "{opts:?}: {out:?}");
            for (c, r) in cases.iter().zip(&recs) {
                let (v, e, s) = c.want[ri * 3 + si];
                if brief(r) != b(v, e, s) {
                    problems.push(format!("{} {opts:?}: want {v} {e} {s}, got {r}", c.name));
                }
                let rule_name = if ri == 0 { "imasig" } else { "hash" };
                if r["ima_rule"] != rule_name {
                    problems.push(format!("{} {opts:?}: ima_rule {}", c.name, r["ima_rule"]));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Reasons name the kernel's cause; an empty xattr is not a missing one.
    let (_, recs, _) = verify(&[], &refs);
    let reason = |name: &str| {
        let i = cases.iter().position(|c| c.name == name).unwrap();
        recs[i]["reason"].as_str().unwrap().to_string()
    };
    assert!(reason("unknown-type").starts_with("unknown-ima-data"));
    assert!(reason("empty-with-sidecar").contains("security.ima is empty"));
    assert!(reason("type-4-good").starts_with("IMA-signature-required"));
}

/// A FIFO sidecar beside a file whose security.ima decides is never opened: `verify`
/// neither blocks nor fails; under `--ima-source sidecar` it is the sidecar's I/O error.
#[test]
fn a_fifo_sidecar_does_not_matter_when_the_xattr_decides() {
    let Some(env) = Env::new() else {
        return;
    };
    let content = std::fs::read(fixtures_dir().join("ima-rsa2048-sha256.bin")).unwrap();
    let sig = std::fs::read(fixtures_dir().join("ima-rsa2048-sha256.bin.sig")).unwrap();
    let f = env.file("fifo.bin", &content);
    env.setfattr(&f, &sig);
    let fifo = env.path("fifo.bin.sig");
    run_ok(Command::new("mkfifo").arg(&fifo));
    for source in ["auto", "xattr"] {
        let (code, recs, out) = verify(&["--ima-source", source], &[&f]);
        assert_eq!(code, 0, "{source}: {out:?}");
        assert_eq!(brief(&recs[0]), b("valid", "-", "xattr"));
    }
    let (code, _, out) = verify(&["--ima-source", "sidecar"], &[&f]);
    assert_eq!(code, 2, "{out:?}");
    assert!(
        out.stderr.contains("fifo.bin.sig: not a regular file"),
        "{}",
        out.stderr
    );
}

/// `trustbench run` on a small tree labelled with real xattrs: the report names the rule
/// and the source (JSON, Markdown), and the verdict table follows the rule.
#[test]
fn run_on_a_tree_labelled_with_real_xattrs() {
    let Some(env) = Env::new() else {
        return;
    };
    let tree = env.path("tree");
    std::fs::create_dir(&tree).unwrap();
    let sub = |n: &str| tree.join(n);
    // 2 signed by evmctl into the xattr, 2 hashed by evmctl, 1 bad hash, 1 empty xattr
    // beside a good sidecar, 1 sidecar only, 1 unlabelled.
    for i in 0..2 {
        let f = sub(&format!("signed{i}.bin"));
        std::fs::write(&f, random(4000)).unwrap();
        run_ok(
            env.evmctl()
                .args(["ima_sign", "-a", "sha256", "--key"])
                .arg(key())
                .arg("--keyid-from-cert")
                .arg(cert())
                .arg(&f),
        );
        let h = sub(&format!("hashed{i}.bin"));
        std::fs::write(&h, random(4000)).unwrap();
        run_ok(env.evmctl().args(["ima_hash", "-a", "sha256"]).arg(&h));
    }
    let bad = sub("bad-hash.bin");
    std::fs::write(&bad, random(100)).unwrap();
    env.setfattr(
        &bad,
        &[
            4, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
            23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
        ],
    );
    let content = std::fs::read(fixtures_dir().join("ima-rsa2048-sha256.bin")).unwrap();
    let sig = std::fs::read(fixtures_dir().join("ima-rsa2048-sha256.bin.sig")).unwrap();
    let empty = sub("empty-xattr.bin");
    std::fs::write(&empty, &content).unwrap();
    env.setfattr(&empty, &[]);
    std::fs::write(sub("empty-xattr.bin.sig"), &sig).unwrap();
    let side = sub("sidecar-only.bin");
    std::fs::write(&side, &content).unwrap();
    std::fs::write(sub("sidecar-only.bin.sig"), &sig).unwrap();
    std::fs::write(sub("plain.bin"), b"nothing").unwrap();

    let run = |opts: &[&str], tag: &str| -> (Value, String) {
        let j = env.path(&format!("{tag}.json"));
        let m = env.path(&format!("{tag}.md"));
        let out = run_output(
            trustbench()
                .args(["run", "--corpus"])
                .arg(&tree)
                .args(["--kind", "ima", "--trust"])
                .arg(cert())
                .args(["--passes", "cold,warm", "--quiet", "--calibration-ms", "5"])
                .args(["--threads", "2", "--json"])
                .arg(&j)
                .arg("--markdown")
                .arg(&m)
                .arg("--results-dir")
                .arg(env.path("runs"))
                .args(opts),
        );
        assert_eq!(out.code(), 0, "{tag}: {out:?}");
        let json: Value = serde_json::from_str(&std::fs::read_to_string(&j).unwrap()).unwrap();
        (json, std::fs::read_to_string(&m).unwrap())
    };
    let table = |r: &Value, pass: usize| -> Vec<(String, u64)> {
        r["passes"][pass]["verdicts"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .collect()
    };
    let t = |v: &[(&str, u64)]| -> Vec<(String, u64)> {
        v.iter().map(|(k, n)| (k.to_string(), *n)).collect()
    };

    let (r, md) = run(&[], "imasig");
    assert_eq!(
        (r["ima_rule"].as_str(), r["ima_source"].as_str()),
        (Some("imasig"), Some("auto"))
    );
    assert!(md.contains("IMA rule imasig, IMA source auto"), "{md}");
    // valid: 2 signed + sidecar-only; EINVAL: 2 hashed + bad hash; unsigned: empty + plain.
    let want = t(&[("invalid:EINVAL", 3), ("unsigned:ENODATA", 2), ("valid", 3)]);
    assert_eq!(table(&r, 0), want);
    assert_eq!(table(&r, 1), want, "the warm pass answers as the cold one");
    assert_eq!(r["passes"][1]["cache"]["hit_rate"], 1.0);

    let (r, md) = run(&["--ima-accept-hash"], "hash");
    assert_eq!(r["ima_rule"], "hash");
    assert!(md.contains("IMA rule hash, IMA source auto"), "{md}");
    let want = t(&[
        ("invalid:EKEYREJECTED", 1),
        ("unsigned:ENODATA", 2),
        ("valid", 5),
    ]);
    assert_eq!(table(&r, 0), want);
    assert_eq!(table(&r, 1), want);

    let (r, _) = run(&["--ima-source", "sidecar"], "sidecar");
    assert_eq!(r["ima_source"], "sidecar");
    // Only the two sidecars count: both valid; the rest has no label.
    assert_eq!(table(&r, 0), t(&[("unsigned:ENODATA", 6), ("valid", 2)]));

    let (r, _) = run(
        &["--ima-source", "xattr", "--ima-accept-hash"],
        "xattr-hash",
    );
    assert_eq!(r["ima_source"], "xattr");
    // The sidecar-only file has no label now; the empty xattr still none.
    assert_eq!(
        table(&r, 0),
        t(&[
            ("invalid:EKEYREJECTED", 1),
            ("unsigned:ENODATA", 3),
            ("valid", 4)
        ])
    );
}

/// The kernel refuses `check_blacklist` on a rule without `appraise_type=imasig`
/// (ima_validate_rule), so the two options together are a usage error (exit 2); an unknown
/// `--ima-source` too.
#[test]
fn accept_hash_with_check_blacklist_is_a_usage_error() {
    let f = fixtures_dir().join("ima-rsa2048-sha256.bin");
    for args in [
        &["--ima-accept-hash", "--ima-check-blacklist"][..],
        &["--ima-source", "both"][..],
    ] {
        let out = run_output(trustbench().arg("verify").args(args).arg(&f));
        assert_eq!(out.code(), 2, "{args:?}: {out:?}");
        let out = run_output(
            trustbench()
                .args(["run", "--corpus"])
                .arg(fixtures_dir())
                .args(args),
        );
        assert_eq!(out.code(), 2, "run {args:?}: {out:?}");
    }
}
