//! `trustbench bench --sweep`: every combination of the swept settings runs, round robin,
//! into one comparison table and one report (JSON, CSV, Markdown, BMF, HTML), and bad
//! sweeps are usage errors. No measured figure is asserted, only that it is there.

use serde_json::Value;
use std::process::Command;

#[path = "support/tiny_spec.rs"]
mod tiny_spec;

fn spec() -> String {
    tiny_spec::tiny_spec("sweep-test", 5, 12, &["rsa2048"], "rsa2048")
}

fn trustbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trustbench"))
}

#[test]
fn a_sweep_runs_every_combination_into_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("tiny.toml"), spec()).unwrap();
    let out = trustbench()
        .current_dir(d)
        .args([
            "bench",
            "--sweep",
            "threads=1,2",
            "--sweep",
            "backend=aws-lc,mb",
        ])
        .args([
            "--rounds",
            "2",
            "--spec",
            "tiny.toml",
            "--calibration-ms",
            "20",
        ])
        .args(["--json", "s.json", "--csv", "s.csv", "--markdown", "s.md"])
        .args([
            "--bmf",
            "s.bmf.json",
            "--html",
            "s.html",
            "--results-dir",
            "saved",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&std::fs::read(d.join("s.json")).unwrap()).unwrap();
    assert_eq!(r["schema"], "trustbench.sweep/1");
    assert_eq!(r["rounds"], 2);
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4, "2 thread counts × 2 backends");
    let mut seen = Vec::new();
    for run in runs {
        let point: Vec<(String, String)> = serde_json::from_value(run["point"].clone()).unwrap();
        let rep = &run["report"];
        let threads: usize = point[0].1.parse().unwrap();
        assert_eq!(rep["threads"], threads, "{point:?}");
        assert_eq!(rep["versions"]["backend"], point[1].1.as_str(), "{point:?}");
        assert_eq!(rep["manifest"]["mismatch_count"], 0);
        for p in rep["passes"].as_array().unwrap() {
            assert_eq!(p["repeats"], 2, "a repeat per round");
            assert_eq!(
                p["estimates"]["efficiency"]["samples"]
                    .as_array()
                    .unwrap()
                    .len(),
                2
            );
            assert_eq!(p["items"], 24);
        }
        seen.push(point);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4, "every combination once");
    // One table, a row per combination and pass.
    let md = std::fs::read_to_string(d.join("s.md")).unwrap();
    assert!(
        md.contains("| threads | backend | pass | items/s | vs first |"),
        "{md}"
    );
    assert_eq!(
        md.lines()
            .filter(|l| l.starts_with("| 2 | mb | warm |"))
            .count(),
        1,
        "{md}"
    );
    assert!(stdout.contains("| 1 | aws-lc | cold |"), "{stdout}");
    let csv = std::fs::read_to_string(d.join("s.csv")).unwrap();
    assert!(csv.starts_with("threads,backend,pass,"), "{csv}");
    assert_eq!(csv.lines().count(), 1 + 4 * 2);
    let bmf: Value = serde_json::from_slice(&std::fs::read(d.join("s.bmf.json")).unwrap()).unwrap();
    assert_eq!(
        bmf.as_object().unwrap().len(),
        4 * 2 + 2,
        "a benchmark per run and pass, and the link phase per backend"
    );
    let html = std::fs::read_to_string(d.join("s.html")).unwrap();
    assert!(html.contains("id=\"sweep-table\""), "{html}");
    let saved: Vec<_> = std::fs::read_dir(d.join("saved")).unwrap().collect();
    assert_eq!(saved.len(), 1, "the sweep is saved");
}

#[test]
fn bad_sweeps_are_usage_errors() {
    for bad in [
        ["--sweep", "colour=red"],
        ["--sweep", "threads=0"],
        ["--sweep", "backend=nope"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tiny.toml"), spec()).unwrap();
        let out = trustbench()
            .current_dir(dir.path())
            .args(["bench", "--spec", "tiny.toml", "--quiet"])
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{bad:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
