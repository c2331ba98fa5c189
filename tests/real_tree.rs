//! End to end on a real distribution kernel: a Debian `linux-image-*-cloud-amd64` package
//! (its vmlinuz and every module, signed by Debian's build), as a user would check their
//! own system: `certs extract` pulls the built-in signing certificate out of the bzImage,
//! then `run --corpus /lib/modules/VERSION --trust CERT` must find every module valid.
//!
//! `.ci/run` downloads the package (`apt-get download`) into target/debian-kernel/ and
//! sets TRUSTBENCH_KERNEL_DEB. Without it the test fails under CI=true and skips loudly
//! elsewhere.

mod common;

use std::path::PathBuf;

fn kernel_deb() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TRUSTBENCH_KERNEL_DEB") {
        return Some(PathBuf::from(p));
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/debian-kernel");
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
}

#[test]
fn every_module_of_a_debian_kernel_verifies_with_its_builtin_certificate() {
    common::require_tool("dpkg-deb").expect("dpkg-deb");
    let Some(deb) = kernel_deb() else {
        let msg = "no Debian kernel package: run .ci/run, or `apt-get download \
                   linux-image-<version>-cloud-amd64` into target/debian-kernel/";
        if common::in_ci() {
            panic!("{msg}");
        }
        eprintln!("\n*** SKIP every_module_of_a_debian_kernel...: {msg}\n");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("x");
    common::run_ok(
        std::process::Command::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(&root),
    );
    let boot = std::fs::read_dir(root.join("boot")).unwrap();
    let vmlinuz = boot
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("vmlinuz")
        })
        .expect("vmlinuz in the package");
    let certs = tmp.path().join("certs");
    let out = common::run_ok(
        common::trustbench()
            .args(["certs", "extract"])
            .arg(&vmlinuz)
            .arg("--out")
            .arg(&certs),
    );
    assert!(
        out.contains("builtin-0.der"),
        "no certificate extracted: {out}"
    );
    let modules_root = root.join("lib/modules");
    let version = std::fs::read_dir(&modules_root)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let report = tmp.path().join("report.json");
    let mut cmd = common::trustbench();
    cmd.args([
        "run",
        "--kind",
        "module",
        "--passes",
        "cold",
        "--quiet",
        "--calibration-ms",
        "5",
    ])
    .arg("--corpus")
    .arg(&version)
    .arg("--json")
    .arg(&report);
    for c in std::fs::read_dir(&certs).unwrap() {
        cmd.arg("--trust").arg(c.unwrap().path());
    }
    let (status, _, stderr) = common::run(&mut cmd);
    assert!(status.success(), "run failed: {stderr}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let cold = &r["passes"][0];
    let items = cold["items"].as_u64().unwrap();
    assert!(items > 500, "expected hundreds of modules, got {items}");
    assert_eq!(
        cold["verdicts"]["valid"].as_u64(),
        Some(items),
        "every module must be valid: {}",
        cold["verdicts"]
    );
    // Tampering with one module is caught: inside the signed content of a plain `.ko`
    // (EKEYREJECTED), or anywhere in a compressed one (the payload no longer decompresses
    // or no longer matches its signature).
    let victim = walk_first_ko(&version).expect("a module");
    let compressed = !victim.to_string_lossy().ends_with(".ko");
    let mut bytes = std::fs::read(&victim).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    std::fs::write(&victim, &bytes).unwrap();
    let mut v = common::trustbench();
    v.args(["verify", "--json"]).arg(&victim);
    for c in std::fs::read_dir(&certs).unwrap() {
        v.arg("--trust").arg(c.unwrap().path());
    }
    let (status, stdout, _) = common::run(&mut v);
    assert_eq!(status.code(), Some(1));
    let j = common::parse_json_lines(&stdout);
    assert_eq!(j[0]["verdict"], "invalid", "{stdout}");
    if compressed {
        assert!(
            j[0]["errno"] == "EBADMSG" || j[0]["errno"] == "EKEYREJECTED",
            "{stdout}"
        );
    } else {
        assert_eq!(j[0]["errno"], "EKEYREJECTED");
    }
}

fn walk_first_ko(dir: &std::path::Path) -> Option<PathBuf> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
                .iter()
                .any(|s| p.to_string_lossy().ends_with(s))
            {
                return Some(p);
            }
        }
    }
    None
}
