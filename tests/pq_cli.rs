//! `trustbench pq`: the migration comparison end to end on a small sample of the built-in
//! spec: every algorithm generated from one spec (same modules, same order), measured,
//! every signature valid under Linux 7.2's rules, the tables, the JSON, the SVG chart and
//! the HTML page written. No measured figure is asserted, only that it is there and
//! consistent (ratios of the baseline are 1, sizes follow the algorithms' fixed lengths).

use serde_json::Value;
use std::process::Command;

fn trustbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trustbench"))
}

#[test]
fn pq_answers_with_tables_a_chart_and_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = trustbench()
        .current_dir(d)
        .args(["pq", "--modules", "12", "--files", "6", "--rounds", "1"])
        .args(["--algorithms", "rsa2048,p256,ml-dsa-44", "--threads", "2"])
        .args(["--calibration-ms", "20", "--results-dir", "res"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("## Relative to RSA-2048"), "{stdout}");
    assert!(stdout.contains("| ML-DSA-44 |"), "{stdout}");
    assert!(stdout.contains("has no ML-DSA"), "{stdout}");

    let files: Vec<_> = std::fs::read_dir(d.join("res"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let with = |ext: &str| {
        files
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == ext))
            .unwrap_or_else(|| panic!("no .{ext} in {files:?}"))
    };
    let r: Value = serde_json::from_slice(&std::fs::read(with("json")).unwrap()).unwrap();
    assert_eq!(r["schema"], "trustbench.pq/1");
    assert_eq!(r["kernel_profile"], "7.2");
    assert_eq!(r["baseline"], "RSA-2048");
    let rows = r["rows"].as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|x| x["algorithm"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["RSA-2048", "P-256", "ML-DSA-44"]);
    for row in rows {
        assert_eq!(row["modules"], 12, "{row}");
        assert_eq!(row["ima_files"], 6, "{row}");
        assert_eq!(row["mismatches"], 0, "{row}");
        assert_eq!(row["not_valid"], 0, "{row}");
        for f in [
            "module_set_s_1",
            "module_set_s_n",
            "ima_per_s_1",
            "ima_per_s_n",
        ] {
            assert!(row[f]["median"].as_f64().unwrap() > 0.0, "{f}: {row}");
        }
    }
    // The same modules in every variant: the module bytes differ only by the signatures.
    let bytes = |i: usize, f: &str| rows[i][f].as_u64().unwrap();
    assert_eq!(
        bytes(0, "module_bytes") - bytes(0, "signature_bytes"),
        bytes(2, "module_bytes") - bytes(2, "signature_bytes")
    );
    // An ML-DSA-44 IMA v3 label is the 9-byte header and a 2420-byte signature.
    assert_eq!(rows[2]["ima_xattr_bytes_per_file"], 2429.0);
    assert!(bytes(2, "signature_bytes") > 12 * 2420);

    let svg = std::fs::read_to_string(with("svg")).unwrap();
    assert!(svg.trim_start().starts_with("<svg") && svg.contains("ML-DSA-44"));
    let md = std::fs::read_to_string(with("md")).unwrap();
    assert!(md.contains("| RSA-2048 | 1.00× | 1.00× |"), "{md}");
    let html = std::fs::read_to_string(with("html")).unwrap();
    assert!(
        html.contains("<svg") && html.contains("pq-figures-table"),
        "page"
    );
}

#[test]
fn unknown_algorithms_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = trustbench()
        .current_dir(dir.path())
        .args(["pq", "--algorithms", "rsa4096,sphincs", "--modules", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sphincs"), "{err}");
}
