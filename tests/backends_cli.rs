//! `trustbench backends` and `trustbench run --backend NAME` end to end, on one small
//! generated corpus (RSA-2048, RSA-4096, P-256 and P-384 signers; sha256, sha384, sha512):
//! every compiled backend runs and agrees (the kernel's one on RSA rows only), a
//! deliberately wrong backend is caught and exactly its wrong items are named, usage
//! errors exit 2, and `run` works with each backend and names it in every report.
//!
//! Timing is never asserted: the figures are only checked to be there (a number, or
//! "unsupported" where the backend lacks the algorithm). The kernel backend needs this
//! kernel's keyrings: without them the tests that need it fail under `CI=true` and are
//! skipped loudly otherwise.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use trustbench::corpus::gen::generate;
use trustbench::corpus::spec::Spec;
use trustbench::crypto::faulty;
use trustbench::formats::{imasig, modsig, pkcs7::Pkcs7};

const SPEC: &str = r#"
name = "backends-cli"
seed = 5

[keys]
root = "rsa2048"
secondary_ca = "rsa2048"
machine_ca = "rsa2048"
module_signers = ["rsa2048", "rsa4096", "p256", "p384"]
ima_signers = ["rsa2048", "p384"]
extra_key_pool = 1

[modules]
count = 48
sizes = "fixed:2048"
hashes = { sha256 = 50, sha384 = 25, sha512 = 25 }

[files]
count = 48
sizes = "fixed:1024"
hashes = { sha256 = 50, sha384 = 25, sha512 = 25 }
xattr = false

[bad]
percent = 10
"#;

/// Every backend of the default build, in the registry's order.
/// Every backend of the default build, in the registry's order: the default first (`mb`
/// where the CPU has AVX-512 IFMA, else `aws-lc`).
fn all_six() -> Vec<&'static str> {
    let mut v = vec!["aws-lc", "mb", "ring", "rustcrypto", "openssl", "kernel"];
    if trustbench::crypto::default_backend().name() == "mb" {
        v.swap(0, 1);
    }
    v
}

fn corpus() -> &'static PathBuf {
    static C: OnceLock<PathBuf> = OnceLock::new();
    C.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("backends-cli-corpus");
        let _ = std::fs::remove_dir_all(&dir);
        let spec = Spec::parse(SPEC, "test spec").expect("test spec parses");
        generate(&spec, SPEC, &dir, false).expect("corpus generation");
        dir
    })
}

/// Whether the kernel backend can run here; if not, fails under CI and says SKIP otherwise.
fn kernel_backend_or_skip() -> bool {
    match trustbench::crypto::backends::by_name("kernel") {
        Ok(_) => true,
        Err(e) => {
            skip_or_fail(
                "the kernel crypto backend cannot run here",
                &format!("{e} (it needs this kernel's keyrings: keyutils, root)"),
            );
            false
        }
    }
}

/// `trustbench backends` on the test corpus, quick figures, the faulty backend on or off.
fn backends(faulty_on: bool, extra: &[&str]) -> (Output, Value) {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("backends.json");
    let mut cmd = trustbench();
    cmd.args(["backends", "--threads", "2", "--rounds", "1"])
        .args(["--calibration-ms", "3", "--corpus"])
        .arg(corpus())
        .arg("--json")
        .arg(&json)
        .args(extra)
        .env_remove(faulty::ENV);
    if faulty_on {
        cmd.env(faulty::ENV, "1");
    }
    let out = run_output(&mut cmd);
    let text =
        std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("no JSON report ({e}): {out:?}"));
    (out, serde_json::from_str(&text).expect("JSON report"))
}

fn names(report: &Value) -> Vec<String> {
    report["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect()
}

/// The Markdown table of verify figures: (algorithm, backend → cell text).
fn verify_table(stdout: &str) -> Vec<(String, Vec<(String, String)>)> {
    let cells = |l: &str| -> Vec<String> {
        l.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let mut lines = stdout
        .lines()
        .skip_while(|l| !l.starts_with("| algorithm |"));
    let header = cells(lines.next().expect("the verify table"));
    let backends: Vec<String> = header[3..]
        .iter()
        .map(|h| h.trim_end_matches(" ¹").to_string())
        .collect();
    lines
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let c = cells(l);
            (
                c[0].clone(),
                backends
                    .iter()
                    .cloned()
                    .zip(c[3..].iter().cloned())
                    .collect(),
            )
        })
        .collect()
}

/// The signature of an item (its first signerInfo's, or its IMA sidecar's).
fn signature_of(path: &Path) -> Option<Vec<u8>> {
    if path.extension().is_some_and(|e| e == "ko") {
        let data = std::fs::read(path).ok()?;
        let m = modsig::locate(&data).ok()??;
        let msg = Pkcs7::parse(
            m.pkcs7,
            &trustbench::kernel_profile::KernelProfile::default().rules(),
        )
        .ok()?;
        let s = msg.signers().next()?.ok()?;
        return Some(s.signature.to_vec());
    }
    let label = std::fs::read(trustbench::verify::ima::sidecar_path(path)).ok()?;
    Some(
        imasig::parse(
            &label,
            &trustbench::kernel_profile::KernelProfile::default().rules(),
        )
        .ok()?
        .signature
        .to_vec(),
    )
}

/// Without the test switch: the six backends run, the kernel one has figures for the RSA
/// rows only ("unsupported" for ECDSA, and those items skipped), every figure is a number
/// or "unsupported", and every item gets the same verdict from every backend: exit 0.
#[test]
fn every_backend_runs_and_agrees() {
    if !kernel_backend_or_skip() {
        return;
    }
    let (out, r) = backends(false, &[]);
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(names(&r), all_six(), "{out:?}");
    assert_eq!(r["schema"], "trustbench.backends/1");
    assert!(r["unavailable"].as_array().unwrap().is_empty());
    let items = r["corpus"]["items"].as_u64().unwrap();
    assert_eq!(items, 96);
    assert_eq!(r["agreement"]["disagreeing"], 0);
    assert_eq!(r["agreement"]["compared"].as_u64(), Some(items));
    assert!(out.stdout.contains("every backend gives the same verdict"));

    let table = verify_table(&out.stdout);
    let labels: BTreeSet<&str> = table.iter().map(|(l, _)| l.as_str()).collect();
    for want in [
        "RSA-2048/sha256",
        "RSA-4096/sha512",
        "P-256/sha256",
        "P-384/sha384",
    ] {
        assert!(labels.contains(want), "no row {want}: {labels:?}");
    }
    for (label, cells) in &table {
        let header: Vec<&str> = cells.iter().map(|(b, _)| b.as_str()).collect();
        assert_eq!(header, all_six());
        for (backend, cell) in cells {
            let ecdsa = label.starts_with("P-");
            let lacks = match backend.as_str() {
                "kernel" => ecdsa,
                // ring has no ECDSA with sha512.
                "ring" => ecdsa && label.ends_with("/sha512"),
                _ => false,
            };
            if lacks {
                assert_eq!(cell, "unsupported", "{backend} {label}");
            } else {
                let rate = cell.split("/s").next().unwrap();
                assert!(
                    rate.parse::<f64>().is_ok_and(|v| v > 0.0) && cell.contains('('),
                    "{backend} {label}: {cell:?}"
                );
            }
        }
    }
    // The JSON says the same, and the kernel skipped exactly the ECDSA items it met.
    for row in r["rows"].as_array().unwrap() {
        let kernel = &row["cells"][5];
        assert_eq!(kernel["backend"], "kernel");
        let ecdsa = row["label"].as_str().unwrap().starts_with("P-");
        assert_eq!(kernel["verify_per_s"].is_null(), ecdsa, "{row}");
        assert_eq!(kernel["unsupported"].is_string(), ecdsa, "{row}");
    }
    let b = &r["backends"].as_array().unwrap();
    let kernel = &b[5];
    let ecdsa_items: u64 = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["label"].as_str().unwrap().starts_with("P-"))
        .map(|row| row["items"].as_u64().unwrap())
        .sum();
    assert!(ecdsa_items > 0);
    assert!(
        kernel["skipped"].as_u64().unwrap() >= ecdsa_items,
        "{kernel}"
    );
    assert_eq!(
        kernel["items"].as_u64().unwrap() + kernel["skipped"].as_u64().unwrap(),
        items
    );
    for x in b
        .iter()
        .filter(|x| x["name"] != "ring" && x["name"] != "kernel")
    {
        assert_eq!(x["skipped"], 0, "{x}");
    }
    // ring hashes the message itself: its own digest rate is reported, the others' not.
    for x in b.iter() {
        let own = !x["digest_mb_per_s"].as_object().unwrap().is_empty();
        assert_eq!(own, x["name"] == "ring", "{x}");
    }
    for x in b.iter() {
        assert!(x["items_per_s"].as_f64().unwrap() > 0.0, "{x}");
        assert!(x["efficiency"].as_f64().unwrap() > 0.0, "{x}");
    }
}

/// With the test switch, the deliberately wrong backend joins, and the comparison exits 1
/// naming exactly the items it gets wrong (the valid items whose signature ends below 0x10),
/// with every backend's verdict.
#[test]
fn a_wrong_backend_is_caught_and_its_items_named() {
    let dir = corpus();
    let (out, r) = backends(true, &[]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert_eq!(names(&r).last().map(String::as_str), Some(faulty::NAME));

    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    let want: BTreeSet<String> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let path = dir.join(f[0]);
            let sig = signature_of(&path)?;
            (f[3] == "valid" && faulty::is_wrong_for(&sig)).then(|| path.display().to_string())
        })
        .collect();
    assert!(
        !want.is_empty(),
        "the corpus has items the faulty backend gets wrong"
    );

    let a = &r["agreement"];
    let named: BTreeSet<String> = a["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(named, want);
    assert_eq!(a["disagreeing"].as_u64(), Some(want.len() as u64));
    for d in a["items"].as_array().unwrap() {
        for v in d["verdicts"].as_array().unwrap() {
            let (b, verdict) = (
                v["backend"].as_str().unwrap(),
                v["verdict"].as_str().unwrap(),
            );
            match b {
                "faulty" => assert_eq!(verdict, "invalid EKEYREJECTED", "{d}"),
                _ => assert!(verdict == "valid" || verdict == "unsupported", "{d}"),
            }
        }
    }
    // The printed report names every one of them, with each backend's verdict.
    assert!(out
        .stdout
        .contains(&format!("## Disagreements ({} of ", want.len())));
    for p in &want {
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("- {p}: ")))
            .unwrap_or_else(|| panic!("{p} not named:\n{}", out.stdout));
        assert!(line.contains("aws-lc valid") && line.contains("faulty invalid EKEYREJECTED"));
    }
    // --quiet keeps the items, on stderr.
    let (quiet, _) = backends(true, &["--quiet"]);
    assert_eq!(quiet.code(), 1);
    assert!(quiet.stdout.is_empty(), "{quiet:?}");
    for p in &want {
        assert!(
            quiet.stderr.contains(&format!("disagree: {p}: ")),
            "{quiet:?}"
        );
    }
}

#[test]
fn usage_and_io_errors_exit_2() {
    let out = run_output(
        trustbench()
            .args(["backends", "--backend", "ring", "--corpus"])
            .arg(corpus()),
    );
    assert_eq!(out.code(), 2, "{out:?}");
    assert!(out.stderr.contains("run --backend ring"), "{out:?}");
    let tmp = tempfile::tempdir().unwrap();
    let out = run_output(
        trustbench()
            .args(["backends", "--corpus"])
            .arg(tmp.path().join("missing")),
    );
    assert_eq!(out.code(), 2, "{out:?}");
    let out = run_output(
        trustbench()
            .args(["backends", "--rounds", "0", "--corpus"])
            .arg(corpus()),
    );
    assert_eq!(out.code(), 2, "{out:?}");
    // The faulty backend does not exist without its switch.
    let out = run_output(
        trustbench()
            .args(["run", "--backend", "faulty", "--corpus"])
            .arg(corpus())
            .env_remove(faulty::ENV),
    );
    assert_eq!(out.code(), 2, "{out:?}");
    assert!(
        out.stderr.contains("unknown crypto backend 'faulty'"),
        "{out:?}"
    );
}

/// `run --backend NAME` works end to end with every backend (link-time phase, ceiling,
/// passes, manifest), and every report names it; items a backend cannot verify are not
/// manifest mismatches but counted apart.
#[test]
fn run_with_each_backend_names_it_in_every_report() {
    let kernel = kernel_backend_or_skip();
    for name in all_six().iter().filter(|n| kernel || **n != "kernel") {
        let tmp = tempfile::tempdir().unwrap();
        let (json, csv, md) = (
            tmp.path().join("r.json"),
            tmp.path().join("r.csv"),
            tmp.path().join("r.md"),
        );
        let out = run_output(
            trustbench()
                .current_dir(tmp.path())
                .args(["run", "--backend", name, "--passes", "cold", "--quiet"])
                .args(["--calibration-ms", "3", "--threads", "2", "--corpus"])
                .arg(corpus())
                .arg("--json")
                .arg(&json)
                .arg("--csv")
                .arg(&csv)
                .arg("--markdown")
                .arg(&md),
        );
        assert_eq!(out.code(), 0, "{name}: {out:?}");
        assert!(out.stderr.contains(&format!("backend {name},")), "{out:?}");
        let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(r["versions"]["backend"], *name);
        assert_eq!(r["manifest"]["mismatch_count"], 0, "{name}: {r}");
        let lacking = r["manifest"]["backend_unsupported"].as_u64().unwrap();
        assert_eq!(lacking > 0, matches!(*name, "kernel" | "ring"), "{name}");
        assert!(r["link"]["unexpected"].as_array().unwrap().is_empty());
        let csv = std::fs::read_to_string(&csv).unwrap();
        let mut rows = csv.lines();
        assert!(rows.next().unwrap().ends_with(",backend"));
        assert!(rows.next().unwrap().ends_with(&format!(",{name}")), "{csv}");
        let md = std::fs::read_to_string(&md).unwrap();
        assert!(md.contains(&format!(", backend {name} (")), "{md}");
    }
}
