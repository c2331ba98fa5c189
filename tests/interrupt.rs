//! An interrupted run (issue 12, point 6): `trustbench run` stopped by SIGINT or SIGTERM
//! in the middle of its passes exits with 128 + the signal's number and leaves a valid
//! JSON report marked partial, whose counts are exactly what it verified: the manifest
//! check covers the items the first pass reached (no mismatch for the rest), and the
//! streamed `--verdicts` file has one record per verified item. How long the stop took is
//! printed, not asserted (machines are shared; the figure goes in the closing note).

use serde_json::Value;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const SPEC: &str = r#"
name = "interrupt-test"
seed = 12

[keys]
root = "p256"
secondary_ca = "p256"
machine_ca = "p256"
module_signers = ["p256"]
ima_signers = ["p256"]

[modules]
count = 200
sizes = "fixed:3000"

[files]
count = 6000
sizes = "fixed:64"

[bad]
percent = 5
"#;

/// Runs `trustbench run` on the test corpus with many repeats, sends `signal` once stderr
/// shows the phase `when`, and returns the exit code, the report, the streamed verdict
/// lines and how long the stop took.
fn interrupted(signal: libc::c_int, when: &str) -> (Option<i32>, Value, Vec<Value>, Duration) {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("spec.toml");
    std::fs::write(&spec, SPEC).expect("spec");
    let results = dir.path().join("results");
    let verdicts = dir.path().join("verdicts.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_trustbench"))
        .args(["run", "--spec"])
        .arg(&spec)
        .arg("--corpus-cache")
        .arg(dir.path().join("corpora"))
        .arg("--results-dir")
        .arg(&results)
        .arg("--verdicts")
        .arg(&verdicts)
        .args([
            "--repeat",
            "10000",
            "--warmup",
            "0",
            "--passes",
            "cold,warm",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn trustbench run");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(600)) {
            Ok(line) => {
                let hit = line.contains(when);
                seen.push(line);
                if hit {
                    break;
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "`{when}` never appeared on stderr; saw:\n{}",
                    seen.join("\n")
                );
            }
        }
    }
    let t = Instant::now();
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0, "kill");
    let status = child.wait().expect("wait");
    let took = t.elapsed();
    let rest: Vec<String> = rx.try_iter().collect();
    let reports: Vec<_> = std::fs::read_dir(&results)
        .expect("results dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(
        reports.len(),
        1,
        "one report; stderr after the signal: {rest:?}"
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&reports[0]).expect("read report"))
        .expect("valid JSON");
    let lines = read_lines(&verdicts);
    (status.code(), report, lines, took)
}

fn read_lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .expect("verdicts file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each verdict line is JSON"))
        .collect()
}

/// What every interrupted report must say, whatever moment the signal hit.
fn check(report: &Value, lines: &[Value], signal: &str) -> usize {
    let partial = &report["partial"];
    assert_eq!(partial["signal"], signal, "{partial}");
    let verified = partial["items_verified"].as_u64().expect("items_verified") as usize;
    let total = report["corpus"]["items"].as_u64().expect("items") as usize;
    assert!(verified <= total);
    assert!(partial["verdicts"].as_u64().expect("verdicts") as usize >= verified);
    let m = &report["manifest"];
    assert_eq!(
        m["checked"].as_u64(),
        Some(verified as u64),
        "manifest covers what was verified"
    );
    assert_eq!(m["mismatch_count"].as_u64(), Some(0), "{m}");
    assert_eq!(
        lines.len(),
        verified,
        "one streamed verdict per verified item"
    );
    let mut paths: Vec<&str> = lines
        .iter()
        .map(|l| l["path"].as_str().expect("path"))
        .collect();
    paths.sort_unstable();
    paths.dedup();
    assert_eq!(paths.len(), verified, "no item twice");
    assert!(lines
        .iter()
        .all(|l| l["reason"].as_str().is_some_and(|r| !r.is_empty())));
    // The first pass's report counts exactly the items it verified.
    let cold = &report["passes"][0];
    assert_eq!(cold["name"], "cold");
    let counted: u64 = cold["verdicts"]
        .as_object()
        .expect("verdict counts")
        .values()
        .map(|v| v.as_u64().expect("count"))
        .sum();
    assert_eq!(counted, cold["items"].as_u64().expect("pass items"));
    verified
}

#[test]
fn sigint_during_the_first_pass_leaves_a_partial_report_of_what_was_verified() {
    let (code, report, lines, took) = interrupted(libc::SIGINT, "pass cold (repeat 1 of");
    assert_eq!(code, Some(130), "128 + SIGINT");
    let verified = check(&report, &lines, "SIGINT");
    let phase = report["partial"]["phase"].as_str().unwrap_or_default();
    println!("SIGINT in '{phase}': stopped {took:?} after the signal; {verified} items verified");
    assert!(phase.starts_with("pass "), "{phase}");
}

#[test]
fn sigterm_in_a_later_repeat_keeps_the_complete_first_pass() {
    let (code, report, lines, took) = interrupted(libc::SIGTERM, "pass warm (repeat 3 of");
    assert_eq!(code, Some(143), "128 + SIGTERM");
    let verified = check(&report, &lines, "SIGTERM");
    let total = report["corpus"]["items"].as_u64().unwrap() as usize;
    println!("SIGTERM: stopped {took:?} after the signal; {verified} of {total} items verified");
    assert_eq!(verified, total, "the first pass had finished");
    assert!(report["repeats"].as_u64().unwrap() >= 1);
}
