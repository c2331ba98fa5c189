//! `trustbench capacity` end to end: fitted from saved run reports (`--from`) whose scaling
//! curves are synthetic, made from known USL parameters inside the shape of a real report
//! (one `trustbench run --scaling` on a tiny spec), so the answers are known; pooled
//! reports, refused mixtures and missing files with their exit codes; the JSON's documented
//! fields, the SVG plot and the Markdown answers; and one sweep measured by the command
//! itself on the tiny spec with two threads.
//!
//! No figure of a measured run is asserted: only that it is there.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

#[path = "support/tiny_spec.rs"]
mod tiny_spec;

fn trustbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trustbench"))
}

/// Where the tiny spec lives and is generated (once per test binary).
fn work() -> &'static PathBuf {
    static W: OnceLock<PathBuf> = OnceLock::new();
    W.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("capacity-cli");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("tiny.toml"),
            tiny_spec::tiny_spec("capacity-test", 17, 16, &["rsa2048"], "rsa2048"),
        )
        .unwrap();
        dir
    })
}

/// The corpus options every command here takes: the tiny spec, one shared cache.
fn corpus_args(cmd: &mut Command) -> &mut Command {
    let w = work();
    cmd.arg("--spec")
        .arg(w.join("tiny.toml"))
        .arg("--corpus-cache")
        .arg(w.join("corpora"))
}

fn output(cmd: &mut Command) -> Output {
    cmd.output().expect("run trustbench")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A real run report with a scaling curve, made once.
fn real_report() -> &'static Value {
    static R: OnceLock<Value> = OnceLock::new();
    R.get_or_init(|| {
        let w = work();
        let json = w.join("real-run.json");
        let out = output(
            corpus_args(trustbench().current_dir(w).arg("run"))
                .args(["--scaling", "--threads", "2", "--passes", "cold"])
                .args(["--calibration-ms", "5", "--quiet", "--json"])
                .arg(&json)
                .arg("--results-dir")
                .arg(w.join("runs")),
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
    })
}

/// The known model of the synthetic sweeps: λ = 1000, σ = 0.05, κ = 0.001.
fn usl(n: f64) -> f64 {
    1000.0 * n / (1.0 + 0.05 * (n - 1.0) + 0.001 * n * (n - 1.0))
}

/// The real report with `scaling[]` replaced: the engine follows [`usl`], the raw primitive
/// scales linearly at 1500/s per thread, the engine's efficiency is 0.5 throughout.
fn synthetic(threads: impl IntoIterator<Item = usize>) -> Value {
    let mut r = real_report().clone();
    r["scaling"] = threads
        .into_iter()
        .map(|t| {
            json!({
                "threads": t,
                "items_per_s": usl(t as f64),
                "raw_verify_per_s": 1500.0 * t as f64,
                "efficiency": 0.5,
            })
        })
        .collect();
    r
}

fn write_report(dir: &Path, name: &str, r: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(r).unwrap()).unwrap();
    p
}

/// `capacity --from FILES… EXTRA…` with every output named under `out`.
fn capacity_from(out: &Path, files: &[&Path], extra: &[&str]) -> Output {
    let mut cmd = trustbench();
    cmd.current_dir(out)
        .arg("capacity")
        .arg("--from")
        .args(files);
    cmd.arg("--json").arg(out.join("cap.json"));
    cmd.arg("--svg").arg(out.join("cap.svg"));
    cmd.arg("--markdown").arg(out.join("cap.md"));
    cmd.arg("--results-dir").arg(out.join("saved"));
    output(cmd.args(extra))
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs()
}

#[test]
fn a_saved_sweep_is_fitted_and_answered_with_its_model() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write_report(tmp.path(), "big.json", &synthetic(1..=16));
    let out = capacity_from(
        tmp.path(),
        &[&f],
        &["--items", "100000", "--cores", "4,64", "--deadline", "20"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // The JSON, field by field as documented.
    let r = read_json(&tmp.path().join("cap.json"));
    assert_eq!(r["schema"], "trustbench.capacity/1");
    assert!(r["created_unix"].as_u64().unwrap() > 0);
    assert_eq!(r["testbed"]["id"], real_report()["testbed"]["id"]);
    assert_eq!(
        r["corpus"]["spec_hash"],
        real_report()["corpus"]["spec_hash"]
    );
    assert_eq!(r["sources"][0], f.display().to_string());
    assert_eq!(r["items"], 100000);
    let engine = &r["engine"];
    assert_eq!(engine["unit"], "items/s");
    assert_eq!(engine["points"].as_array().unwrap().len(), 16);
    assert_eq!(engine["chosen"], "usl");
    assert!(engine["weak"].is_null());
    let fits = engine["fits"].as_array().unwrap();
    assert_eq!(fits.len(), 2);
    let m = &fits[0]["model"];
    assert_eq!(m["kind"], "usl");
    assert!(close(m["lambda"].as_f64().unwrap(), 1000.0, 1e-5), "{m}");
    assert!(close(m["sigma"].as_f64().unwrap(), 0.05, 1e-4), "{m}");
    assert!(close(m["kappa"].as_f64().unwrap(), 0.001, 1e-4), "{m}");
    assert!(fits[0]["r_squared"].as_f64().unwrap() > 0.999_999);
    assert!(fits[0]["rmse"].as_f64().unwrap() < 1e-3);
    assert_eq!(fits[0]["points"], 16);
    assert_eq!(fits[0]["distinct_threads"], 16);
    assert_eq!(fits[1]["model"]["kind"], "amdahl");
    // The primitive: linear at 1500/s per thread → σ = κ = 0; the bound has the
    // ceiling's level (items/s ÷ efficiency = 2 × the engine) and the primitive's shape.
    let p = &r["primitive"];
    assert_eq!(p["unit"], "verifications/s");
    let pm = &p["fits"][0]["model"];
    assert!(close(pm["lambda"].as_f64().unwrap(), 1500.0, 1e-6), "{pm}");
    assert!(pm["sigma"].as_f64().unwrap() < 1e-6, "{pm}");
    let b = &r["bound"];
    assert_eq!(b["ceiling"].as_array().unwrap().len(), 16);
    assert!(close(
        b["ceiling"][3]["rate"].as_f64().unwrap(),
        2.0 * usl(4.0),
        1e-9
    ));
    assert!(b["model"]["lambda"].as_f64().unwrap() > 0.0);

    // Projections: the asked core counts, the engine's time from the model.
    let rows = r["projections"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["cores"], 4);
    assert!(close(
        rows[0]["engine_seconds"].as_f64().unwrap(),
        100000.0 / usl(4.0),
        1e-4
    ));
    assert_eq!(rows[0]["extrapolated"], false);
    assert_eq!(rows[1]["extrapolated"], true);
    for row in rows {
        for k in [
            "engine_items_per_s",
            "primitive_items_per_s",
            "primitive_seconds",
        ] {
            assert!(row[k].as_f64().unwrap() > 0.0, "{k}: {row}");
        }
    }
    // Deadline 20 s for 100 000 items = 5000/s: the engine's first whole core count.
    let d = &r["deadline"];
    assert_eq!(d["deadline_s"], 20.0);
    assert_eq!(d["required_items_per_s"], 5000.0);
    assert_eq!(d["engine"]["outcome"], "met");
    let want = (1..).find(|&n| usl(n as f64) >= 5000.0).unwrap();
    assert_eq!(d["engine"]["cores"], want);
    assert_eq!(d["primitive"]["outcome"], "met");
    assert!(r["assumptions"].as_array().unwrap().len() >= 5);

    // The SVG: a document with every series named.
    let svg = std::fs::read_to_string(tmp.path().join("cap.svg")).unwrap();
    assert!(svg.trim_start().starts_with("<svg"), "{}", &svg[..100]);
    assert!(svg.trim_end().ends_with("</svg>"));
    for name in [
        "engine, measured",
        "engine, USL fit",
        "primitive (scaled to the ceiling&apos;s level), measured",
        "the primitive&apos;s USL fit",
        "ceiling (measured, items/s)",
        "items per second",
        "perfect-engine bound",
        "threads (cores)",
    ] {
        assert!(svg.contains(name), "no '{name}' in the SVG");
    }
    assert_eq!(svg.matches("<svg").count(), 1);

    // The Markdown: printed and written, with the answer lines.
    let md = std::fs::read_to_string(tmp.path().join("cap.md")).unwrap();
    assert_eq!(text(&out.stdout).trim(), md.trim());
    assert!(md.contains("**100000 items on 4 cores take "), "{md}");
    assert!(md.contains("**100000 items on 64 cores take "), "{md}");
    assert!(
        md.contains(&format!(
            "Deadline 20.00 s for 100000 items (5000 items/s): engine: {want} cores"
        )),
        "{md}"
    );
    assert!(md.contains("X(N) = λN / (1 + σ(N−1) + κN(N−1))"), "{md}");
    assert!(
        md.contains("## Assumptions") && md.contains("cold cache"),
        "{md}"
    );
    assert!(!md.contains("WEAK FIT"), "{md}");

    // The saved copy and its plot beside it, under --results-dir.
    let saved: Vec<PathBuf> = std::fs::read_dir(tmp.path().join("saved"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let ext = |e: &str| saved.iter().filter(|p| p.extension().unwrap() == e).count();
    assert_eq!(
        (ext("json"), ext("svg"), saved.len()),
        (1, 0, 1),
        "{saved:?}"
    );
}

#[test]
fn a_deadline_past_the_peak_is_unreachable_and_says_where_the_model_peaks() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write_report(tmp.path(), "big.json", &synthetic(1..=16));
    // N* = √(0.95 / 0.001) ≈ 30.8; X(N*) ≈ 9026/s; 100 000 items in 5 s need 20 000/s.
    let out = capacity_from(tmp.path(), &[&f], &["--items", "100000", "--deadline", "5"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = read_json(&tmp.path().join("cap.json"));
    let e = &r["deadline"]["engine"];
    assert_eq!(e["outcome"], "unreachable", "{e}");
    let n = e["peak_cores"].as_f64().unwrap();
    assert!(close(n, (0.95f64 / 0.001).sqrt(), 1e-3), "{e}");
    assert!(close(e["peak_rate"].as_f64().unwrap(), usl(n), 1e-3), "{e}");
    let md = text(&out.stdout);
    assert!(
        md.contains("engine: unreachable: the model peaks at 90") && md.contains("at 30.8 cores"),
        "{md}"
    );
    // The default table: 1 … 64 cores.
    let cores: Vec<u64> = r["projections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["cores"].as_u64().unwrap())
        .collect();
    assert_eq!(cores, [1, 2, 4, 8, 16, 32, 64]);
}

#[test]
fn reports_of_one_testbed_pool_and_mixtures_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let a = write_report(tmp.path(), "a.json", &synthetic(1..=8));
    let b = write_report(tmp.path(), "b.json", &synthetic(9..=16));
    let out = capacity_from(tmp.path(), &[&a, &b], &["--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "--quiet prints no report");
    let r = read_json(&tmp.path().join("cap.json"));
    assert_eq!(r["engine"]["points"].as_array().unwrap().len(), 16);
    assert_eq!(r["sources"].as_array().unwrap().len(), 2);
    let m = &r["engine"]["fits"][0]["model"];
    assert!(close(m["kappa"].as_f64().unwrap(), 0.001, 1e-4), "{m}");

    let mut other = synthetic(9..=16);
    other["testbed"]["id"] = json!("0000000000000000");
    other["testbed"]["host"] = json!("elsewhere");
    let c = write_report(tmp.path(), "c.json", &other);
    let out = capacity_from(tmp.path(), &[&a, &c], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("testbed") && err.contains("elsewhere"),
        "{err}"
    );

    let mut corpus = synthetic(9..=16);
    corpus["corpus"]["spec_hash"] = json!("another-spec");
    let d = write_report(tmp.path(), "d.json", &corpus);
    let out = capacity_from(tmp.path(), &[&a, &d], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("different corpus"),
        "{}",
        text(&out.stderr)
    );

    let out = capacity_from(tmp.path(), &[&tmp.path().join("missing.json")], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("missing.json"),
        "{}",
        text(&out.stderr)
    );

    let mut flat = synthetic(1..=2);
    flat["scaling"] = json!([]);
    let e = write_report(tmp.path(), "e.json", &flat);
    let out = capacity_from(tmp.path(), &[&e], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--scaling"),
        "{}",
        text(&out.stderr)
    );

    // Usage errors on the question.
    for bad in [
        &["--items", "0"][..],
        &["--cores", "0"],
        &["--deadline", "-3"],
        &["--deadline", "NaN"],
    ] {
        let out = capacity_from(tmp.path(), &[&a], bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out.stderr));
    }
    // One thread count fits nothing.
    let one = write_report(tmp.path(), "one.json", &synthetic([4]));
    let out = capacity_from(tmp.path(), &[&one], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--from"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn two_thread_counts_fit_amdahl_and_the_report_says_the_fit_is_weak() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write_report(tmp.path(), "small.json", &synthetic(1..=2));
    let out = capacity_from(tmp.path(), &[&f], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = read_json(&tmp.path().join("cap.json"));
    assert_eq!(r["engine"]["chosen"], "amdahl");
    assert_eq!(r["engine"]["fits"].as_array().unwrap().len(), 1);
    let weak = r["engine"]["weak"].as_str().unwrap();
    assert!(
        weak.contains("two points determine Amdahl exactly"),
        "{weak}"
    );
    let md = text(&out.stdout);
    assert!(md.contains("WEAK FIT") && md.contains("--from"), "{md}");
    assert!(
        text(&out.stderr).contains("WEAK FIT"),
        "{}",
        text(&out.stderr)
    );
    let svg = std::fs::read_to_string(tmp.path().join("cap.svg")).unwrap();
    assert!(svg.contains("engine, Amdahl fit"));
}

/// Without --from the command measures its own sweep: the tiny spec at 1 and 2 threads,
/// saved with its plot under results/capacity of the current directory.
#[test]
fn a_sweep_measured_here_on_two_threads() {
    let cwd = tempfile::tempdir().unwrap();
    let out = output(
        corpus_args(trustbench().current_dir(cwd.path()).arg("capacity")).args([
            "--threads",
            "2",
            "--calibration-ms",
            "5",
            "--items",
            "1000",
        ]),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dir = cwd.path().join("results/capacity");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(files[0].extension().unwrap(), "json");
    assert_eq!(files[1].extension().unwrap(), "svg");
    assert_eq!(files[0].file_stem(), files[1].file_stem());
    let r = read_json(&files[0]);
    assert_eq!(r["schema"], "trustbench.capacity/1");
    assert_eq!(r["sources"][0], "measured by this run");
    let threads: Vec<u64> = r["engine"]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["threads"].as_u64().unwrap())
        .collect();
    assert_eq!(threads, [1, 2]);
    assert_eq!(r["engine"]["chosen"], "amdahl");
    assert!(r["engine"]["weak"].is_string());
    for p in r["primitive"]["points"].as_array().unwrap() {
        assert!(p["rate"].as_f64().unwrap() > 0.0, "{p}");
    }
    assert_eq!(r["items"], 1000);
    let svg = std::fs::read_to_string(&files[1]).unwrap();
    assert!(svg.trim_start().starts_with("<svg"));
    let md = text(&out.stdout);
    assert!(md.contains("**1000 items on 2 cores take "), "{md}");
    // Nothing but the corpus cache (elsewhere) and results/ under the current directory.
    let top: Vec<_> = std::fs::read_dir(cwd.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(top, ["results"]);
}
