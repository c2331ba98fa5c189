//! Bencher Metric Format (BMF) JSON: the report as bencher.dev's `json` adapter reads it
//! (`bencher run --adapter json --file FILE`), so bencher's thresholds and alerts work on
//! trustbench's figures with nothing in between.
//!
//! The documented shape: a top-level object of benchmark names, each an object of measure
//! slugs, each an object with a numeric `value` and optional `lower_value` and
//! `upper_value`. Bencher creates a measure the first time it sees a slug; `throughput`
//! (ops/s) and `latency` (ns) are the slugs of its built-in measures, and are used where
//! the figure is one.
//!
//! Benchmark names (docs/results-schema.md explains them) are stable across runs of the same
//! corpus, backend and thread count, and differ where those differ, so that bencher never
//! compares figures that are not comparable:
//! - a run report's pass: `trustbench/CORPUS/BACKEND/THREADSt/PASS`, with `throughput`
//!   (items/s), `efficiency`, `crypto-efficiency`, `latency` (p50, ns) and `latency-p99`;
//! - its link-time phase: `trustbench/CORPUS/BACKEND/link`, with `throughput` (gatekeeper
//!   checks/s) and `efficiency`;
//! - a backend comparison's verify figure: `trustbench/CORPUS/backends/THREADSt/BACKEND/CLASS`
//!   with `throughput` (verifications/s per thread), and its engine figures:
//!   `trustbench/CORPUS/backends/THREADSt/BACKEND/engine` with `throughput` (items/s),
//!   `efficiency` and `crypto-efficiency`.
//!
//! CORPUS is the last component of the corpus directory (`NAME-SPECHASH` for a generated
//! corpus, so a changed spec is a new benchmark). Bounds: a pass measured more than once
//! (`repeats` > 1) gives its 95% bootstrap interval ([`crate::measure::stats::Estimate`]); a
//! backend comparison of several rounds gives the range of its rounds; one measurement gives
//! none. A figure that is not a finite number is left out (JSON has no NaN).

use super::{Exporter, Format};
use crate::error::{Error, Result};
use crate::measure::backends::BackendsReport;
use crate::measure::report::{CorpusInfo, PassReport, RunReport};
use crate::measure::stats::Estimate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bencher Metric Format JSON.
pub struct Bmf;

/// One metric of one measure: the value and, where the figure was measured more than once,
/// the bounds around it (`lower_value` ≤ `value` ≤ `upper_value`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_value: Option<f64>,
}

/// Benchmark name → measure slug → metric: a whole BMF document (sorted, so the same report
/// always gives the same bytes).
pub type Document = BTreeMap<String, BTreeMap<String, Metric>>;

/// Bencher's built-in throughput measure (operations per second).
pub const THROUGHPUT: &str = "throughput";
/// Bencher's built-in latency measure (nanoseconds): the median.
pub const LATENCY: &str = "latency";
/// The 99th percentile latency, nanoseconds.
pub const LATENCY_P99: &str = "latency-p99";
/// Items/s ÷ the ceiling of the raw primitives (a ratio).
pub const EFFICIENCY: &str = "efficiency";
/// The same without the I/O share of the ceiling.
pub const CRYPTO_EFFICIENCY: &str = "crypto-efficiency";

impl Metric {
    /// A figure measured once.
    fn single(value: f64) -> Metric {
        Metric {
            value,
            lower_value: None,
            upper_value: None,
        }
    }

    /// `value` with the interval `[low, high]`, widened to contain `value` (the reported
    /// figure is one repeat's, which the interval of the median need not contain).
    fn bounded(value: f64, low: f64, high: f64) -> Metric {
        Metric {
            value,
            lower_value: Some(low.min(value)),
            upper_value: Some(high.max(value)),
        }
    }

    /// A pass figure: bounded by its estimate's interval when the pass was repeated.
    fn of_pass(value: f64, repeats: usize, e: &Estimate) -> Metric {
        if repeats > 1 && e.samples.len() > 1 && e.ci_low.is_finite() && e.ci_high.is_finite() {
            Metric::bounded(value, e.ci_low, e.ci_high)
        } else {
            Metric::single(value)
        }
    }

    /// A figure of several rounds: bounded by their range when there are more than one.
    fn of_rounds(value: f64, rounds: impl IntoIterator<Item = f64>) -> Metric {
        let r: Vec<f64> = rounds.into_iter().filter(|x| x.is_finite()).collect();
        if r.len() < 2 {
            return Metric::single(value);
        }
        let low = r.iter().copied().fold(f64::INFINITY, f64::min);
        let high = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Metric::bounded(value, low, high)
    }

    fn is_finite(&self) -> bool {
        self.value.is_finite()
            && self.lower_value.is_none_or(f64::is_finite)
            && self.upper_value.is_none_or(f64::is_finite)
    }
}

/// The measures of one benchmark, non-finite figures left out.
fn measures(m: impl IntoIterator<Item = (&'static str, Metric)>) -> BTreeMap<String, Metric> {
    m.into_iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// The corpus part of benchmark names: the directory's last component.
fn corpus_name(c: &CorpusInfo) -> String {
    let dir = c.dir.trim_end_matches('/');
    match dir.rsplit('/').next() {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => "corpus".to_string(),
    }
}

impl Bmf {
    /// The BMF document of a run report.
    pub fn run_document(&self, r: &RunReport) -> Document {
        let base = format!(
            "trustbench/{}/{}",
            corpus_name(&r.corpus),
            r.versions.backend
        );
        let mut doc = Document::new();
        for p in &r.passes {
            doc.insert(
                format!("{base}/{}t/{}", p.threads, p.name),
                pass_measures(p),
            );
        }
        if let Some(l) = &r.link {
            doc.insert(
                format!("{base}/link"),
                measures([
                    (THROUGHPUT, Metric::single(l.checks_per_s)),
                    (EFFICIENCY, Metric::single(l.efficiency)),
                ]),
            );
        }
        doc.retain(|_, m| !m.is_empty());
        doc
    }

    /// The BMF document of a backend comparison.
    pub fn backends_document(&self, r: &BackendsReport) -> Document {
        let base = format!(
            "trustbench/{}/backends/{}t",
            corpus_name(&r.corpus),
            r.threads
        );
        let mut doc = Document::new();
        for row in &r.rows {
            for c in &row.cells {
                let Some(v) = c.verify_per_s else { continue };
                let rounds = c.verify_ns_rounds.iter().map(|ns| 1e9 / ns);
                doc.insert(
                    format!("{base}/{}/{}", c.backend, row.class),
                    measures([(THROUGHPUT, Metric::of_rounds(v, rounds))]),
                );
            }
        }
        for b in &r.backends {
            doc.insert(
                format!("{base}/{}/engine", b.name),
                measures([
                    (
                        THROUGHPUT,
                        Metric::of_rounds(b.items_per_s, b.items_per_s_rounds.iter().copied()),
                    ),
                    (EFFICIENCY, Metric::single(b.efficiency)),
                    (CRYPTO_EFFICIENCY, Metric::single(b.crypto_efficiency)),
                ]),
            );
        }
        doc.retain(|_, m| !m.is_empty());
        doc
    }
}

/// A pass's measures.
fn pass_measures(p: &PassReport) -> BTreeMap<String, Metric> {
    let e = &p.estimates;
    measures([
        (
            THROUGHPUT,
            Metric::of_pass(p.items_per_s, p.repeats, &e.items_per_s),
        ),
        (
            EFFICIENCY,
            Metric::of_pass(p.efficiency, p.repeats, &e.efficiency),
        ),
        (
            CRYPTO_EFFICIENCY,
            Metric::of_pass(p.crypto_efficiency, p.repeats, &e.crypto_efficiency),
        ),
        (LATENCY, Metric::single(p.latency.p50_ns as f64)),
        (LATENCY_P99, Metric::single(p.latency.p99_ns as f64)),
    ])
}

fn to_bytes(doc: &Document) -> Result<Vec<u8>> {
    let mut v = serde_json::to_vec_pretty(doc).map_err(|e| Error::Report {
        message: e.to_string(),
    })?;
    v.push(b'\n');
    Ok(v)
}

impl Format for Bmf {
    fn name(&self) -> &'static str {
        "bmf"
    }

    /// JSON, marked as BMF so that it is not taken for the run report.
    fn extension(&self) -> &'static str {
        "bmf.json"
    }
}

impl Exporter for Bmf {
    fn export(&self, report: &RunReport) -> Result<Vec<u8>> {
        to_bytes(&self.run_document(report))
    }
}

/// A sweep: every combination's run under the names of a run report (corpus, backend and
/// thread count tell the combinations apart).
impl Exporter<crate::measure::sweep::SweepReport> for Bmf {
    fn export(&self, report: &crate::measure::sweep::SweepReport) -> Result<Vec<u8>> {
        let mut doc = Document::new();
        for run in &report.runs {
            doc.extend(self.run_document(&run.report));
        }
        to_bytes(&doc)
    }
}

/// A capacity plan: per projected core count, the modelled throughput of the engine and of
/// the perfect-engine bound (`trustbench/CORPUS/capacity/Ncores`).
impl Exporter<crate::measure::capacity::CapacityReport> for Bmf {
    fn export(&self, report: &crate::measure::capacity::CapacityReport) -> Result<Vec<u8>> {
        let base = format!("trustbench/{}/capacity", corpus_name(&report.corpus));
        let mut doc = Document::new();
        for x in &report.projections {
            doc.insert(
                format!("{base}/{}cores", x.cores),
                measures([
                    (THROUGHPUT, Metric::single(x.engine_items_per_s)),
                    ("bound-throughput", Metric::single(x.primitive_items_per_s)),
                ]),
            );
        }
        doc.retain(|_, m| !m.is_empty());
        to_bytes(&doc)
    }
}

/// A verdicts-only merge has no timing: per pass, its item count and valid items
/// (`trustbench/CORPUS/verdicts/PASS`), so a threshold can watch a fleet's verdicts.
impl Exporter<crate::measure::verdicts::VerdictsReport> for Bmf {
    fn export(&self, report: &crate::measure::verdicts::VerdictsReport) -> Result<Vec<u8>> {
        let base = format!("trustbench/{}/verdicts", corpus_name(&report.corpus));
        let mut doc = Document::new();
        for p in &report.passes {
            let valid = p.verdicts.get("valid").copied().unwrap_or(0);
            doc.insert(
                format!("{base}/{}", p.name),
                measures([
                    ("items", Metric::single(p.items as f64)),
                    ("valid", Metric::single(valid as f64)),
                ]),
            );
        }
        to_bytes(&doc)
    }
}

impl Exporter<BackendsReport> for Bmf {
    fn export(&self, report: &BackendsReport) -> Result<Vec<u8>> {
        to_bytes(&self.backends_document(report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::backends::tests::backends_report;
    use crate::measure::link::LinkPhase;
    use crate::measure::report::tests::shard_report;
    use serde_json::Value;

    /// Checks `json` against BMF's documented shape: an object of benchmark names, each an
    /// object of measure slugs, each an object with a numeric `value`, optional numeric
    /// `lower_value` ≤ `value` ≤ `upper_value`, and no other key. Returns the metric count.
    fn check_shape(json: &[u8]) -> usize {
        let doc: Value = serde_json::from_slice(json).expect("BMF is JSON");
        let benchmarks = doc.as_object().expect("top level: an object");
        assert!(!benchmarks.is_empty());
        let mut n = 0;
        for (name, measures) in benchmarks {
            assert!(!name.is_empty() && name.len() <= 1024, "{name}");
            let measures = measures.as_object().expect("a benchmark: an object");
            assert!(!measures.is_empty(), "{name}");
            for (slug, metric) in measures {
                assert!(
                    slug.len() <= 64
                        && slug
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                    "measure slugs are kebab case: {slug}"
                );
                let m = metric.as_object().expect("a measure: an object");
                let value = m["value"].as_f64().expect("a numeric value");
                for k in m.keys() {
                    assert!(
                        ["value", "lower_value", "upper_value"].contains(&k.as_str()),
                        "{name}/{slug}: unknown key {k}"
                    );
                }
                let lower = m.get("lower_value").map(|v| v.as_f64().expect("numeric"));
                let upper = m.get("upper_value").map(|v| v.as_f64().expect("numeric"));
                assert!(lower.is_none_or(|l| l <= value), "{name}/{slug}");
                assert!(upper.is_none_or(|u| value <= u), "{name}/{slug}");
                n += 1;
            }
        }
        n
    }

    fn metric(doc: &Value, bench: &str, slug: &str) -> Value {
        doc.get(bench)
            .and_then(|b| b.get(slug))
            .cloned()
            .unwrap_or_else(|| panic!("{bench} / {slug} missing in {doc:#}"))
    }

    #[test]
    fn a_run_report_has_the_documented_shape_and_its_figures() {
        let mut r = shard_report(40, 0, 0);
        r.link = Some(LinkPhase {
            checks: 12,
            checks_per_s: 3456.5,
            efficiency: 0.75,
            ..Default::default()
        });
        let bytes = Bmf.export(&r).unwrap();
        assert_eq!(check_shape(&bytes), 5 + 2);
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        let name = "trustbench/t-0123/aws-lc/2t/cold";
        let p = &r.passes[0];
        assert_eq!(
            metric(&doc, name, "throughput"),
            serde_json::json!({ "value": p.items_per_s }),
            "one repeat: no bounds"
        );
        assert_eq!(metric(&doc, name, "efficiency")["value"], p.efficiency);
        assert_eq!(
            metric(&doc, name, "crypto-efficiency")["value"],
            p.crypto_efficiency
        );
        assert_eq!(metric(&doc, name, "latency")["value"], 1000.0);
        assert_eq!(metric(&doc, name, "latency-p99")["value"], 5000.0);
        let link = "trustbench/t-0123/aws-lc/link";
        assert_eq!(metric(&doc, link, "throughput")["value"], 3456.5);
        assert_eq!(metric(&doc, link, "efficiency")["value"], 0.75);
    }

    /// Parsed back, the document holds the report's figures, bounds from the intervals of
    /// repeated passes.
    #[test]
    fn round_trip_with_repeats() {
        let mut r = shard_report(40, 0, 0);
        let mut warm = r.passes[0].clone();
        warm.name = "warm".into();
        warm.items_per_s = 1234.0;
        warm.repeats = 5;
        let samples = [1200.0, 1234.0, 1250.0, 1190.0, 1300.0];
        warm.estimates.items_per_s = Estimate::of(&samples);
        warm.estimates.efficiency = Estimate::of(&[0.4, 0.5, 0.45, 0.52, 0.48]);
        warm.efficiency = 0.48;
        r.passes.push(warm);
        r.passes[0].efficiency = f64::NAN;
        let bytes = Bmf.export(&r).unwrap();
        check_shape(&bytes);
        let back: Document = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, Bmf.run_document(&r));
        let cold = &back["trustbench/t-0123/aws-lc/2t/cold"];
        assert!(!cold.contains_key("efficiency"), "NaN is left out");
        assert_eq!(cold["throughput"].value, r.passes[0].items_per_s);
        let w = &back["trustbench/t-0123/aws-lc/2t/warm"];
        let e = &r.passes[1].estimates.items_per_s;
        assert_eq!(
            w["throughput"],
            Metric {
                value: 1234.0,
                lower_value: Some(e.ci_low.min(1234.0)),
                upper_value: Some(e.ci_high.max(1234.0)),
            }
        );
        assert!(e.ci_low < e.ci_high, "{e:?}");
        let eff = &w["efficiency"];
        assert_eq!(eff.value, 0.48);
        assert!(eff.lower_value.unwrap() <= 0.48 && 0.48 <= eff.upper_value.unwrap());
        assert_eq!(w["latency"].value, r.passes[1].latency.p50_ns as f64);
        assert_eq!(w["latency"].lower_value, None);
    }

    #[test]
    fn a_backend_comparison_has_the_documented_shape_and_its_figures() {
        let r = backends_report();
        let bytes = Bmf.export(&r).unwrap();
        check_shape(&bytes);
        let back: Document = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, Bmf.backends_document(&r));
        for row in &r.rows {
            for c in &row.cells {
                let name = format!("trustbench/c/backends/2t/{}/{}", c.backend, row.class);
                match c.verify_per_s {
                    Some(v) => {
                        let m = &back[&name]["throughput"];
                        assert_eq!(m.value, v);
                        if c.verify_ns_rounds.len() > 1 {
                            assert!(m.lower_value.unwrap() <= v && v <= m.upper_value.unwrap());
                        }
                    }
                    None => assert!(!back.contains_key(&name), "unsupported: no figure"),
                }
            }
        }
        for b in &r.backends {
            let m = &back[&format!("trustbench/c/backends/2t/{}/engine", b.name)];
            assert_eq!(m["throughput"].value, b.items_per_s);
            assert_eq!(m["efficiency"].value, b.efficiency);
            assert_eq!(m["crypto-efficiency"].value, b.crypto_efficiency);
        }
    }
}
