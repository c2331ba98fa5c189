//! `trustbench pq`: what moving module signing and IMA appraisal from RSA-4096 or ECDSA
//! P-384 to ML-DSA costs on this machine: verify time for a whole distribution module set
//! on 1 and N cores, per-module latency, the bytes added on disk, and IMA v3 appraisal
//! throughput, each as a ratio to the RSA-4096 baseline.
//!
//! The variants are one corpus signed several ways (the same modules, sizes and order:
//! `corpus::spec::Spec::signed_with`), judged under Linux 7.2's rules. Every combination
//! of (algorithm, item kind, thread count) is a [`super::sweep`] point, run round robin
//! with the first point rotating, so load drift lands on every algorithm alike; each
//! figure is a median over the rounds with a bootstrap interval, and every ratio compares
//! figures taken in the same rounds. The engine's verify stage is the run's backend's
//! userspace arithmetic: this machine's kernel (6.18) has no ML-DSA, so the report says
//! what was measured and where the kernel's own verifier would differ.

use super::bench::BenchConfig;
use super::report::{RunReport, Testbed};
use super::stats::{with_interval, Estimate};
use super::sweep::{self, Axis, Point, SweepObserver};
use crate::error::{Error, Result};
use crate::formats::modsig;
use crate::kernel_profile::KernelProfile;
use crate::trust::Store;
use crate::verify::ItemKind;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Schema of a `trustbench pq` report.
pub const PQ_SCHEMA: &str = "trustbench.pq/1";

/// The algorithms `trustbench pq` compares by default, the baseline first: today's RSA-4096
/// (Debian 6.1's module key), ECDSA P-384 (Debian 6.12's), and the three ML-DSA sets.
pub const DEFAULT_ALGORITHMS: [&str; 5] =
    ["rsa4096", "p384", "ml-dsa-44", "ml-dsa-65", "ml-dsa-87"];

/// One way the corpus is signed.
#[derive(Clone, Debug)]
pub struct Variant {
    /// How reports name it (`ML-DSA-65`).
    pub label: String,
    /// The generated corpus signed this way.
    pub corpus: PathBuf,
    /// Its spec hash, as run reports record it.
    pub spec_hash: Option<String>,
}

/// What to compare and how.
pub struct PqConfig {
    /// The variants, the baseline first.
    pub variants: Vec<Variant>,
    /// The "N cores" of the comparison (at least 1; 1 measures one thread only).
    pub threads: usize,
    /// Round-robin rounds: measured repeats of every point.
    pub rounds: usize,
    /// The ceiling's burst cap, as `run --calibration-ms`.
    pub calibration: Duration,
}

/// The kernel whose rules the comparison follows: the first with ML-DSA for modules,
/// certificates and IMA.
pub const PQ_KERNEL: KernelProfile = KernelProfile::V7_2;

/// One algorithm's row.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PqRow {
    /// `RSA-4096`, `P-384`, `ML-DSA-65`, ...
    pub algorithm: String,
    /// Modules in the set, and their bytes (signatures included).
    pub modules: usize,
    pub module_bytes: u64,
    /// Seconds to verify the whole module set on 1 thread and on N, each over the rounds.
    pub module_set_s_1: Estimate,
    pub module_set_s_n: Estimate,
    /// Per-module latency on 1 thread (median over the rounds of each round's p50/p99).
    pub module_p50_ns: f64,
    pub module_p99_ns: f64,
    /// Bytes every module carries for its signature: the PKCS#7 message and the 40-byte
    /// trailer (marker and `module_signature`), summed over the set.
    pub signature_bytes: u64,
    /// The certificates module verification needs (DER): the built-in root and the module
    /// signing certificate, carried once (compiled in, or loaded into the secondary
    /// keyring).
    pub certificate_bytes: u64,
    /// IMA v3 files, and their `security.ima` value size (header + signature) per file.
    pub ima_files: usize,
    pub ima_xattr_bytes_per_file: f64,
    /// IMA v3 appraisals per second, on 1 thread and on N.
    pub ima_per_s_1: Estimate,
    pub ima_per_s_n: Estimate,
    /// Items whose verdict was not the manifest's (any round), and items not valid: both
    /// must be 0 for the figures to be the cost of verifying good signatures.
    pub mismatches: usize,
    pub not_valid: u64,
}

impl PqRow {
    /// Signature and certificate bytes together: what the switch adds on disk.
    pub fn added_bytes(&self) -> u64 {
        self.signature_bytes + self.certificate_bytes
    }

    /// Signature bytes per module.
    pub fn signature_bytes_per_module(&self) -> f64 {
        self.signature_bytes as f64 / self.modules.max(1) as f64
    }
}

/// The comparison.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PqReport {
    pub schema: String,
    pub created_unix: u64,
    pub testbed: Testbed,
    /// The rules the verdicts follow (always [`PQ_KERNEL`]).
    pub kernel_profile: KernelProfile,
    /// The N of "N cores".
    pub threads: usize,
    pub rounds: usize,
    /// The row every ratio divides by (the first).
    pub baseline: String,
    pub rows: Vec<PqRow>,
    /// What was measured, and where the kernel would differ.
    pub notes: Vec<String>,
}

/// The ratios of one row to the baseline, as the tables and the chart show them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ratios {
    pub module_set_1: f64,
    pub module_set_n: f64,
    pub p99: f64,
    pub added_bytes: f64,
    pub ima_n: f64,
}

impl PqReport {
    /// `row`'s figures over the baseline's (time and bytes: > 1 is costlier; IMA
    /// throughput: < 1 is slower).
    pub fn ratios(&self, row: &PqRow) -> Option<Ratios> {
        let b = self.rows.first()?;
        let r = |x: f64, y: f64| if y > 0.0 { x / y } else { f64::NAN };
        Some(Ratios {
            module_set_1: r(row.module_set_s_1.median, b.module_set_s_1.median),
            module_set_n: r(row.module_set_s_n.median, b.module_set_s_n.median),
            p99: r(row.module_p99_ns, b.module_p99_ns),
            added_bytes: r(row.added_bytes() as f64, b.added_bytes() as f64),
            ima_n: r(row.ima_per_s_n.median, b.ima_per_s_n.median),
        })
    }

    /// The figures table, as every exporter shows it: a header and one row per algorithm.
    pub fn figures_table(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let n = self.threads;
        let head = [
            "algorithm".to_string(),
            "modules".into(),
            "set, 1 core (s)".into(),
            format!("set, {n} cores (s)"),
            "p50 / module".into(),
            "p99 / module".into(),
            "signature B / module".into(),
            "certs B".into(),
            "added MB".into(),
            "IMA xattr B".into(),
            format!("IMA v3 files/s, {n} cores"),
        ]
        .to_vec();
        let secs = |e: &Estimate| with_interval(e.median, e, 3);
        let rows = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.algorithm.clone(),
                    r.modules.to_string(),
                    secs(&r.module_set_s_1),
                    secs(&r.module_set_s_n),
                    format!("{:.0} µs", r.module_p50_ns / 1e3),
                    format!("{:.0} µs", r.module_p99_ns / 1e3),
                    format!("{:.0}", r.signature_bytes_per_module()),
                    r.certificate_bytes.to_string(),
                    format!("{:.2}", r.added_bytes() as f64 / 1e6),
                    format!("{:.0}", r.ima_xattr_bytes_per_file),
                    with_interval(r.ima_per_s_n.median, &r.ima_per_s_n, 0),
                ]
            })
            .collect();
        (head, rows)
    }

    /// The ratios table: each figure over the baseline's.
    pub fn ratios_table(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let n = self.threads;
        let head = [
            "algorithm".to_string(),
            "set time, 1 core".into(),
            format!("set time, {n} cores"),
            "p99 / module".into(),
            "bytes added".into(),
            format!("IMA v3 throughput, {n} cores"),
        ]
        .to_vec();
        let x = |v: f64| format!("{v:.2}×");
        let rows = self
            .rows
            .iter()
            .filter_map(|r| {
                let q = self.ratios(r)?;
                Some(vec![
                    r.algorithm.clone(),
                    x(q.module_set_1),
                    x(q.module_set_n),
                    x(q.p99),
                    x(q.added_bytes),
                    x(q.ima_n),
                ])
            })
            .collect();
        (head, rows)
    }

    /// Mismatches and items not valid over every row: a comparison of costs is only
    /// meaningful when every signature verified.
    pub fn findings(&self) -> usize {
        self.rows
            .iter()
            .map(|r| r.mismatches + r.not_valid as usize)
            .sum()
    }

    /// The chart: one group per measure, one bar per algorithm, each the ratio to the
    /// baseline (log axis: ratios above and below 1 read alike).
    pub fn chart(&self) -> super::plot::Bars {
        let groups = [
            "module set, 1 core",
            "module set, N cores",
            "p99 per module",
            "bytes added",
            "IMA v3 files/s",
        ];
        let series = self
            .rows
            .iter()
            .map(|row| {
                let values = match self.ratios(row) {
                    Some(x) => vec![
                        x.module_set_1,
                        x.module_set_n,
                        x.p99,
                        x.added_bytes,
                        x.ima_n,
                    ],
                    None => vec![f64::NAN; groups.len()],
                };
                (row.algorithm.clone(), values)
            })
            .collect();
        super::plot::Bars {
            title: format!("Cost of each algorithm relative to {}", self.baseline),
            y_label: format!("× {} (log scale)", self.baseline),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            series,
            reference: Some(1.0),
        }
    }
}

/// Hears about the comparison's steps (a progress bar).
pub trait PqObserver: SweepObserver {}
impl PqObserver for () {}

/// Runs the comparison. `store` makes a fresh trust store for one run (standard keyrings
/// under [`PQ_KERNEL`]; the corpus's keyring script adds the rest).
pub fn compare(
    config: &PqConfig,
    store: &mut dyn FnMut() -> Result<Store>,
    observer: &mut dyn SweepObserver,
) -> Result<PqReport> {
    if config.variants.is_empty() {
        return Err(Error::usage("pq: no algorithms to compare"));
    }
    let threads = config.threads.max(1);
    let mut thread_values = vec!["1".to_string()];
    if threads > 1 {
        thread_values.push(threads.to_string());
    }
    let axes = vec![
        Axis {
            name: "algorithm".into(),
            values: config.variants.iter().map(|v| v.label.clone()).collect(),
        },
        Axis {
            name: "kind".into(),
            values: vec!["module".into(), "ima".into()],
        },
        Axis {
            name: "threads".into(),
            values: thread_values,
        },
    ];
    // A point's first run warms the page cache and the engine (one unmeasured round);
    // later rounds find both warm.
    let mut seen: Vec<Point> = Vec::new();
    let mut setup = |p: &Point| -> Result<(BenchConfig, Store)> {
        let label = sweep::value(p, "algorithm").unwrap_or_default();
        let v = config
            .variants
            .iter()
            .find(|v| v.label == label)
            .ok_or_else(|| Error::usage(format!("pq: no variant {label}")))?;
        let mut c = BenchConfig::new(&v.corpus);
        c.spec_hash = v.spec_hash.clone();
        c.kind = Some(match sweep::value(p, "kind") {
            Some("ima") => ItemKind::Ima,
            _ => ItemKind::Module,
        });
        c.threads = sweep::value(p, "threads").and_then(|t| t.parse().ok());
        c.passes = vec!["cold".into()];
        c.ima_check_blacklist = true;
        c.calibration = config.calibration;
        c.warmup = if seen.contains(p) { 0 } else { 1 };
        seen.push(p.clone());
        Ok((c, store()?))
    };
    let report = sweep::sweep(&axes, config.rounds, &mut setup, observer)?;
    let run_of = |label: &str, kind: &str, t: usize| -> Option<&RunReport> {
        let t = t.to_string();
        report
            .runs
            .iter()
            .find(|r| {
                sweep::value(&r.point, "algorithm") == Some(label)
                    && sweep::value(&r.point, "kind") == Some(kind)
                    && sweep::value(&r.point, "threads") == Some(t.as_str())
            })
            .map(|r| &r.report)
    };
    let mut rows = Vec::new();
    let mut testbed = None;
    for v in &config.variants {
        let missing = || Error::usage(format!("pq: {} produced no report", v.label));
        let m1 = run_of(&v.label, "module", 1).ok_or_else(missing)?;
        let mn = run_of(&v.label, "module", threads).ok_or_else(missing)?;
        let i1 = run_of(&v.label, "ima", 1).ok_or_else(missing)?;
        let i_n = run_of(&v.label, "ima", threads).ok_or_else(missing)?;
        testbed.get_or_insert_with(|| m1.testbed.clone());
        let pass = |r: &RunReport| r.passes.first().cloned();
        let (Some(pm1), Some(pmn), Some(pi1), Some(pin)) =
            (pass(m1), pass(mn), pass(i1), pass(i_n))
        else {
            return Err(missing());
        };
        let set_seconds = |p: &super::report::PassReport| {
            Estimate::of(
                &p.estimates
                    .items_per_s
                    .samples
                    .iter()
                    .map(|r| {
                        if *r > 0.0 {
                            p.items as f64 / r
                        } else {
                            f64::NAN
                        }
                    })
                    .collect::<Vec<_>>(),
            )
        };
        let sizes = Sizes::of(&v.corpus)?;
        let not_valid = [&pm1, &pi1]
            .iter()
            .map(|p| {
                p.verdicts
                    .iter()
                    .filter(|(k, _)| k.as_str() != "valid")
                    .map(|(_, n)| *n)
                    .sum::<u64>()
            })
            .sum();
        let mismatches = [m1, mn, i1, i_n]
            .iter()
            .map(|r| r.manifest.as_ref().map_or(0, |m| m.count()))
            .sum();
        rows.push(PqRow {
            algorithm: v.label.clone(),
            modules: pm1.items,
            module_bytes: pm1.bytes,
            module_set_s_1: set_seconds(&pm1),
            module_set_s_n: set_seconds(&pmn),
            module_p50_ns: pm1.latency.p50_ns as f64,
            module_p99_ns: pm1.latency.p99_ns as f64,
            signature_bytes: sizes.signature_bytes,
            certificate_bytes: sizes.certificate_bytes,
            ima_files: pi1.items,
            ima_xattr_bytes_per_file: sizes.ima_label_bytes as f64 / sizes.ima_files.max(1) as f64,
            ima_per_s_1: pi1.estimates.items_per_s.clone(),
            ima_per_s_n: pin.estimates.items_per_s.clone(),
            mismatches,
            not_valid,
        });
    }
    let backend = testbed
        .as_ref()
        .map_or(String::new(), |t| t.backend.clone());
    Ok(PqReport {
        schema: PQ_SCHEMA.into(),
        created_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        testbed: testbed.ok_or_else(|| Error::usage("pq: nothing was measured"))?,
        kernel_profile: PQ_KERNEL,
        threads,
        rounds: report.rounds,
        baseline: config.variants[0].label.clone(),
        rows,
        notes: notes(&backend),
    })
}

/// What the figures are, and where Linux's own verifier would give different ones.
fn notes(backend: &str) -> Vec<String> {
    vec![
        format!(
            "Measured: trustbench's engine under Linux 7.2's rules (--kernel-profile 7.2), \
             backend {backend}, cold passes over files in the page cache: read, parse, the \
             kernel's checks and the signature verification in userspace. Module set time = \
             modules ÷ modules per second; latency is per module on one thread."
        ),
        "This machine's kernel (6.18) has no ML-DSA, so no figure here is the kernel's own: \
         Linux 7.0+ verifies ML-DSA with lib/crypto/mldsa.c (a compact verify-only \
         implementation, ~4 KB of code and 9–13 KB of heap per verification, no SIMD), \
         RSA with its generic bignum code and ECDSA with its own; in-kernel figures can \
         differ from these userspace ones (aws-lc-rs uses assembly and AVX2)."
            .into(),
        "ML-DSA without signed attributes verifies the whole module (the kernel hashes it \
         with SHAKE256 inside ML-DSA, not with the module hash), so its cost grows with the \
         module's size; RSA and ECDSA verify a SHA-256 digest of it. Either way the module \
         is read and hashed once."
            .into(),
        "Bytes added: the appended PKCS#7 and 40-byte trailer of every module, plus the \
         built-in root and module-signing certificates (DER), carried once. An ML-DSA-87 \
         IMA v3 xattr (4636 bytes) exceeds what one 4 KiB ext4 xattr block holds without \
         ea_inode; ML-DSA-65 (3318) fits."
            .into(),
    ]
}

/// The on-disk sizes of one variant, read from its files.
struct Sizes {
    signature_bytes: u64,
    certificate_bytes: u64,
    ima_files: usize,
    ima_label_bytes: u64,
}

impl Sizes {
    /// Every module's appended signature (from its trailer), the root and module-signing
    /// certificates, and every IMA file's label (its `.sig`, or its `security.ima`).
    fn of(dir: &Path) -> Result<Sizes> {
        let manifest = dir.join("manifest.tsv");
        let text = std::fs::read_to_string(&manifest).map_err(|e| Error::io(&manifest, e))?;
        let rows = crate::corpus::manifest::read_manifest(&text)?;
        let mut s = Sizes {
            signature_bytes: 0,
            certificate_bytes: 0,
            ima_files: 0,
            ima_label_bytes: 0,
        };
        for row in rows {
            let path = dir.join(&row.path);
            match row.kind {
                ItemKind::Module => {
                    let file = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
                    if let Ok(Some(m)) = modsig::locate(&file) {
                        s.signature_bytes += (file.len() - m.content.len()) as u64;
                    }
                }
                ItemKind::Ima => {
                    s.ima_files += 1;
                    if let Some((_, label)) = crate::engine::read_ima_label(
                        &path,
                        crate::verify::ima::ImaSourceMode::Auto,
                    ) {
                        s.ima_label_bytes += label.len() as u64;
                    }
                }
            }
        }
        let certs = dir.join("certs");
        if let Ok(entries) = std::fs::read_dir(&certs) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name == "root.der"
                    || (name.starts_with("modsign") && name.ends_with("-root.der"))
                {
                    s.certificate_bytes += e.metadata().map_or(0, |m| m.len());
                }
            }
        }
        Ok(s)
    }
}
