//! `trustbench compare`, the regression gate, on result pairs with a known answer: the
//! committed baseline against itself (0), against a copy whose efficiency fell 20% (1),
//! against a change inside its own noise (0), against a different corpus or schema (3),
//! and unreadable input (2). Nothing here measures time: every figure comes from files.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn baseline() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/baseline.json");
    let text = std::fs::read_to_string(&path).expect("results/baseline.json is committed");
    serde_json::from_str(&text).expect("the baseline is JSON")
}

fn write(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p
}

fn compare(args: &[&Path], extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trustbench"))
        .arg("compare")
        .args(args)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Multiplies pass `pass`'s `metric` (its median and every sample and bound) by `f`.
fn scale(v: &mut Value, pass: usize, metric: &str, f: f64) {
    let p = &mut v["passes"][pass];
    p[metric] = (p[metric].as_f64().unwrap() * f).into();
    let e = &mut p["estimates"][metric];
    for k in ["median", "ci_low", "ci_high"] {
        e[k] = (e[k].as_f64().unwrap() * f).into();
    }
    for s in e["samples"].as_array_mut().unwrap() {
        *s = (s.as_f64().unwrap() * f).into();
    }
}

#[test]
fn the_baseline_is_a_repeated_run_with_intervals() {
    let b = baseline();
    assert_eq!(b["schema"], "trustbench.run/2");
    let cold = &b["passes"][0];
    assert!(
        cold["repeats"].as_u64().unwrap() >= 5,
        "{}",
        cold["repeats"]
    );
    let e = &cold["estimates"]["efficiency"];
    let (lo, hi) = (
        e["ci_low"].as_f64().unwrap(),
        e["ci_high"].as_f64().unwrap(),
    );
    assert!(0.0 < lo && lo <= hi, "{e}");
    // Narrow enough that a 20% drop leaves the interval (the gate's known answer below).
    assert!(
        hi * 0.8 < lo,
        "baseline interval [{lo}, {hi}] is too wide to gate 20%"
    );
}

#[test]
fn identical_runs_pass_and_a_twenty_percent_drop_fails() {
    let dir = tempfile::tempdir().unwrap();
    let b = baseline();
    let base = write(dir.path(), "base.json", &b);
    let same = write(dir.path(), "same.json", &b);
    let md = dir.path().join("comment.md");
    let json = dir.path().join("cmp.json");
    let (code, out, err) = compare(
        &[&base, &same],
        &[
            "--markdown",
            md.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("no regression"), "{out}");
    assert!(out.contains("| cold | efficiency |"), "{out}");
    assert_eq!(std::fs::read_to_string(&md).unwrap(), out);
    let c: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(c["schema"], "trustbench.compare/1");
    assert!(c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["judgement"] == "unchanged"));

    let mut worse = b.clone();
    scale(&mut worse, 0, "efficiency", 0.8);
    let worse = write(dir.path(), "worse.json", &worse);
    let (code, out, _) = compare(&[&base, &worse], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("**regression**") && out.contains("-20.0%"),
        "{out}"
    );
    // The other way round it is an improvement, and improvements pass.
    let (code, out, _) = compare(&[&worse, &base], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("improvement"), "{out}");
    // A threshold above the change lets it through.
    let (code, _, _) = compare(&[&base, &worse], &["--threshold", "25"]);
    assert_eq!(code, 0);
}

#[test]
fn a_change_inside_the_noise_passes() {
    let dir = tempfile::tempdir().unwrap();
    let b = baseline();
    let base = write(dir.path(), "base.json", &b);
    let mut slight = b.clone();
    scale(&mut slight, 0, "efficiency", 0.99);
    let slight = write(dir.path(), "slight.json", &slight);
    let (code, out, _) = compare(&[&base, &slight], &[]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn different_corpora_schemas_and_testbeds_are_not_comparable() {
    let dir = tempfile::tempdir().unwrap();
    let b = baseline();
    let base = write(dir.path(), "base.json", &b);
    let mut other = b.clone();
    other["corpus"]["spec_hash"] = "0000".into();
    let other = write(dir.path(), "other.json", &other);
    let (code, _, err) = compare(&[&base, &other], &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("different corpora"), "{err}");

    let mut old = b.clone();
    old["schema"] = "trustbench.run/1".into();
    let old = write(dir.path(), "old.json", &old);
    let (code, _, err) = compare(&[&old, &base], &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("trustbench.run/1"), "{err}");

    let mut elsewhere = b.clone();
    elsewhere["testbed"]["id"] = "ffffffffffffffff".into();
    let elsewhere = write(dir.path(), "elsewhere.json", &elsewhere);
    let (code, _, err) = compare(&[&base, &elsewhere], &["--metric", "items_per_s"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("different testbeds"), "{err}");
    // Ratios travel between machines; timings compare on one testbed.
    let (code, out, _) = compare(
        &[&base, &elsewhere],
        &["--metric", "efficiency,crypto_efficiency"],
    );
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = compare(
        &[&base, &base],
        &["--metric", "items_per_s", "--metric", "p99_ns"],
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn unreadable_input_and_bad_options_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let base = write(dir.path(), "base.json", &baseline());
    let missing = dir.path().join("missing.json");
    assert_eq!(compare(&[&base, &missing], &[]).0, 2);
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, b"{ not json").unwrap();
    assert_eq!(compare(&[&base, &junk], &[]).0, 2);
    assert_eq!(compare(&[&base, &base], &["--metric", "speed"]).0, 2);
    assert_eq!(compare(&[&base, &base], &["--threshold", "-1"]).0, 2);
}
