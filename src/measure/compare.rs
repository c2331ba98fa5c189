//! The regression gate: two run reports, every chosen metric of every pass judged against
//! the noise the two runs measured themselves.
//!
//! A change is a **regression** only when it is worse than the threshold *and* the two 95%
//! intervals do not overlap: a shift inside either run's own noise is noise, however large
//! the threshold allows. Likewise for an improvement. A run of one repeat has no interval,
//! and then the threshold alone decides (the report says so).
//!
//! By default the gate compares efficiency — throughput over the ceiling measured in the
//! same run — so a slower or busier CI machine moves both sides of the ratio and does not
//! fail the gate. Raw timings (`items_per_s`, latencies) are comparable only between runs
//! on one testbed ([`super::report::Testbed`]); asked for across testbeds, the two runs
//! are not comparable. Different corpora or schemas are never comparable.

use super::report::{PassReport, RunReport, SCHEMA};
use super::stats::Estimate;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Schema of the comparison's JSON.
pub const COMPARE_SCHEMA: &str = "trustbench.compare/1";

/// The default threshold, percent: above the spread of repeated default runs on a shared
/// 2-core VM (docs/regression-gate.md), below the changes worth a look.
pub const DEFAULT_THRESHOLD_PCT: f64 = 5.0;

/// A figure of a pass the gate can judge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Items/s over the ceiling's items/s (higher is better; a ratio: any testbed).
    Efficiency,
    /// The same without the I/O share of the ceiling.
    CryptoEfficiency,
    /// Items per second (higher is better; a timing: one testbed only).
    ItemsPerS,
    /// Median item latency, ns (lower is better; a timing).
    P50Ns,
    /// 99th percentile item latency, ns (lower is better; a timing).
    P99Ns,
}

impl Metric {
    /// Every metric, as `--metric` spells them.
    pub const ALL: [Metric; 5] = [
        Metric::Efficiency,
        Metric::CryptoEfficiency,
        Metric::ItemsPerS,
        Metric::P50Ns,
        Metric::P99Ns,
    ];

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Efficiency => "efficiency",
            Metric::CryptoEfficiency => "crypto_efficiency",
            Metric::ItemsPerS => "items_per_s",
            Metric::P50Ns => "p50_ns",
            Metric::P99Ns => "p99_ns",
        }
    }

    /// The metric called `name`.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether it is a raw timing, meaningful only on one testbed.
    pub fn is_timing(self) -> bool {
        !matches!(self, Metric::Efficiency | Metric::CryptoEfficiency)
    }

    fn higher_is_better(self) -> bool {
        !matches!(self, Metric::P50Ns | Metric::P99Ns)
    }

    /// The pass's figure: an estimate over repeats where the run has one, else its single
    /// value (latency percentiles are per repeat's representative: no interval).
    fn of(self, p: &PassReport) -> Estimate {
        let (value, est) = match self {
            Metric::Efficiency => (p.efficiency, Some(&p.estimates.efficiency)),
            Metric::CryptoEfficiency => (p.crypto_efficiency, Some(&p.estimates.crypto_efficiency)),
            Metric::ItemsPerS => (p.items_per_s, Some(&p.estimates.items_per_s)),
            Metric::P50Ns => (p.latency.p50_ns as f64, None),
            Metric::P99Ns => (p.latency.p99_ns as f64, None),
        };
        match est {
            Some(e) if !e.samples.is_empty() => e.clone(),
            _ => Estimate::of(&[value]),
        }
    }
}

/// What the gate makes of one figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Judgement {
    /// Worse beyond the threshold, outside both runs' noise.
    Regression,
    /// Better beyond the threshold, outside both runs' noise.
    Improvement,
    /// Within the threshold, or within the runs' noise.
    Unchanged,
}

/// One figure of one pass, base against new.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    pub pass: String,
    pub metric: Metric,
    pub base: Estimate,
    pub new: Estimate,
    /// new ÷ base − 1, percent (negative: the figure went down).
    pub change_pct: f64,
    /// The larger of the two runs' relative interval half-widths, percent: the noise this
    /// figure carries.
    pub noise_pct: f64,
    /// Whether the two intervals overlap.
    pub overlap: bool,
    pub judgement: Judgement,
}

/// A whole comparison.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Comparison {
    pub schema: String,
    pub threshold_pct: f64,
    pub base_testbed: String,
    pub new_testbed: String,
    pub base_commit: Option<String>,
    pub new_commit: Option<String>,
    pub corpus: String,
    pub rows: Vec<Row>,
    /// Passes of one run the other lacks (not judged).
    pub unmatched: Vec<String>,
    /// Whether some figure had no interval (a run of one repeat): the threshold alone
    /// judged it.
    pub single_samples: bool,
}

impl Comparison {
    /// Whether any figure regressed.
    pub fn regressed(&self) -> bool {
        self.rows
            .iter()
            .any(|r| r.judgement == Judgement::Regression)
    }
}

/// Why two runs cannot be compared (the gate's exit 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotComparable(pub String);

impl std::fmt::Display for NotComparable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not comparable: {}", self.0)
    }
}

/// Checks that a report's schema is the one this build writes, before it is parsed as one.
pub fn check_schema(schema: Option<&str>, which: &str) -> std::result::Result<(), NotComparable> {
    match schema {
        Some(SCHEMA) => Ok(()),
        Some(other) => Err(NotComparable(format!(
            "{which} has schema '{other}', this build compares '{SCHEMA}'"
        ))),
        None => Err(NotComparable(format!("{which} has no schema field"))),
    }
}

/// Reads the run report at `path` (`which`: BASE or NEW, for messages): an I/O or parse
/// error is an error (exit 2); a report of another schema reads as not comparable
/// (exit 3), told apart before the fields are parsed, since those differ between schemas.
pub fn load(path: &Path, which: &str) -> Result<std::result::Result<RunReport, NotComparable>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let bad = |e: serde_json::Error| Error::Input {
        path: path.to_path_buf(),
        message: format!("not a run report: {e}"),
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(bad)?;
    let schema = value.get("schema").and_then(|s| s.as_str());
    if let Err(e) = check_schema(schema, &format!("{which} ({})", path.display())) {
        return Ok(Err(e));
    }
    Ok(Ok(serde_json::from_value(value).map_err(bad)?))
}

/// Compares `new` with `base` on `metrics` with `threshold_pct`.
pub fn compare(
    base: &RunReport,
    new: &RunReport,
    metrics: &[Metric],
    threshold_pct: f64,
) -> std::result::Result<Comparison, NotComparable> {
    for (which, r) in [("BASE", base), ("NEW", new)] {
        check_schema(Some(&r.schema), which)?;
        if let Some(p) = &r.partial {
            return Err(NotComparable(format!(
                "{which} is a partial run (stopped by {} during {}): its passes did not cover the corpus",
                p.signal.as_deref().unwrap_or("a stop request"),
                p.phase
            )));
        }
    }
    let corpus = |r: &RunReport| match &r.corpus.spec_hash {
        Some(h) => format!("spec {h}"),
        None => format!("tree {} ({} items)", r.corpus.dir, r.corpus.items),
    };
    if corpus(base) != corpus(new) {
        return Err(NotComparable(format!(
            "different corpora: {} vs {}",
            corpus(base),
            corpus(new)
        )));
    }
    if base.kernel_profile != new.kernel_profile {
        return Err(NotComparable(format!(
            "the runs follow different kernels (profile {} vs {}): their verdicts differ",
            base.kernel_profile, new.kernel_profile
        )));
    }
    if base.testbed.id != new.testbed.id {
        if let Some(m) = metrics.iter().find(|m| m.is_timing()) {
            return Err(NotComparable(format!(
                "{} is a timing and the runs come from different testbeds ({} on {} vs {} on {}); compare ratios (efficiency) across machines",
                m.name(),
                base.testbed.id,
                base.testbed.host,
                new.testbed.id,
                new.testbed.host
            )));
        }
    }
    let mut rows = Vec::new();
    let mut unmatched = Vec::new();
    let mut single = false;
    for b in &base.passes {
        let Some(n) = new.passes.iter().find(|p| p.name == b.name) else {
            unmatched.push(format!("{} (only in BASE)", b.name));
            continue;
        };
        for &m in metrics {
            let (be, ne) = (m.of(b), m.of(n));
            single |= be.samples.len() < 2 || ne.samples.len() < 2;
            rows.push(judge(&b.name, m, be, ne, threshold_pct));
        }
    }
    for n in &new.passes {
        if !base.passes.iter().any(|p| p.name == n.name) {
            unmatched.push(format!("{} (only in NEW)", n.name));
        }
    }
    Ok(Comparison {
        schema: COMPARE_SCHEMA.into(),
        threshold_pct,
        base_testbed: base.testbed.id.clone(),
        new_testbed: new.testbed.id.clone(),
        base_commit: base.git_commit.clone(),
        new_commit: new.git_commit.clone(),
        corpus: corpus(base),
        rows,
        unmatched,
        single_samples: single,
    })
}

/// One figure's judgement.
fn judge(pass: &str, metric: Metric, base: Estimate, new: Estimate, threshold_pct: f64) -> Row {
    let change_pct = if base.median != 0.0 {
        (new.median / base.median - 1.0) * 100.0
    } else {
        0.0
    };
    let noise_pct = 100.0 * base.relative_half_width().max(new.relative_half_width());
    let overlap = base.ci_low <= new.ci_high && new.ci_low <= base.ci_high;
    let worse = if metric.higher_is_better() {
        -change_pct
    } else {
        change_pct
    };
    let judgement = if overlap && (base.samples.len() > 1 || new.samples.len() > 1) {
        Judgement::Unchanged
    } else if worse > threshold_pct {
        Judgement::Regression
    } else if -worse > threshold_pct {
        Judgement::Improvement
    } else {
        Judgement::Unchanged
    };
    Row {
        pass: pass.into(),
        metric,
        base,
        new,
        change_pct,
        noise_pct,
        overlap,
        judgement,
    }
}

/// The comparison as Markdown, fit for a pull-request comment.
pub fn markdown(c: &Comparison) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let verdict = if c.regressed() {
        "**regression**"
    } else {
        "no regression"
    };
    let _ = write!(
        s,
        "### trustbench compare: {verdict}\n\nCorpus {}; base testbed {} ({}), new testbed {} ({}); threshold {:.1}%, and a change counts only outside both runs' 95% intervals.\n\n| pass | metric | base | new | change | noise (±) | verdict |\n|---|---|---|---|---|---|---|\n",
        c.corpus,
        c.base_testbed,
        c.base_commit.as_deref().map_or("no commit", short),
        c.new_testbed,
        c.new_commit.as_deref().map_or("no commit", short),
        c.threshold_pct
    );
    for r in &c.rows {
        let v = match r.judgement {
            Judgement::Regression => "❌ regression",
            Judgement::Improvement => "✅ improvement",
            Judgement::Unchanged if r.overlap && r.change_pct.abs() > c.threshold_pct => {
                "within noise"
            }
            Judgement::Unchanged => "unchanged",
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:+.1}% | {:.1}% | {v} |",
            r.pass,
            r.metric.name(),
            figure(&r.base),
            figure(&r.new),
            r.change_pct,
            r.noise_pct
        );
    }
    for u in &c.unmatched {
        let _ = writeln!(s, "\nnot compared: pass {u}");
    }
    if c.single_samples {
        s.push_str("\nSome figures come from a single repeat and carry no interval: the threshold alone judged them (run with --repeat 5 or more).\n");
    }
    s
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

fn figure(e: &Estimate) -> String {
    let digits = if e.median.abs() >= 100.0 { 0 } else { 3 };
    if e.samples.len() < 2 {
        format!("{:.digits$}", e.median)
    } else {
        format!(
            "{:.digits$} [{:.digits$}–{:.digits$}]",
            e.median, e.ci_low, e.ci_high
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::report::tests::shard_report;

    /// A report whose cold pass measured `eff` in each repeat.
    fn run(eff: &[f64]) -> RunReport {
        let mut r = shard_report(1000, 0, 0);
        let p = &mut r.passes[0];
        p.estimates.efficiency = Estimate::of(eff);
        p.efficiency = p.estimates.efficiency.median;
        p.estimates.items_per_s = Estimate::of(&eff.iter().map(|e| e * 1e4).collect::<Vec<_>>());
        p.items_per_s = p.estimates.items_per_s.median;
        p.repeats = eff.len();
        r
    }

    const BASE: [f64; 5] = [0.90, 0.91, 0.89, 0.905, 0.895];

    #[test]
    fn identical_runs_do_not_regress() {
        let c = compare(&run(&BASE), &run(&BASE), &[Metric::Efficiency], 5.0).unwrap();
        assert!(!c.regressed());
        assert_eq!(c.rows.len(), 1);
        assert_eq!(c.rows[0].judgement, Judgement::Unchanged);
        assert_eq!(c.rows[0].change_pct, 0.0);
    }

    #[test]
    fn a_twenty_percent_drop_regresses_and_a_rise_improves() {
        let worse: Vec<f64> = BASE.iter().map(|e| e * 0.8).collect();
        let c = compare(&run(&BASE), &run(&worse), &[Metric::Efficiency], 5.0).unwrap();
        assert!(c.regressed());
        assert!((c.rows[0].change_pct + 20.0).abs() < 1e-9);
        let c = compare(&run(&worse), &run(&BASE), &[Metric::Efficiency], 5.0).unwrap();
        assert_eq!(c.rows[0].judgement, Judgement::Improvement);
        assert!(!c.regressed());
    }

    #[test]
    fn a_change_inside_the_noise_is_not_a_regression() {
        // Noisy runs: intervals several percent wide, medians 6% apart but overlapping.
        let noisy = [0.80, 0.95, 0.88, 1.00, 0.85];
        let shifted: Vec<f64> = noisy.iter().map(|e| e * 0.94).collect();
        let c = compare(&run(&noisy), &run(&shifted), &[Metric::Efficiency], 5.0).unwrap();
        assert!(c.rows[0].overlap);
        assert!(!c.regressed(), "{:?}", c.rows[0]);
        // A small real shift below the threshold is unchanged too.
        let slight: Vec<f64> = BASE.iter().map(|e| e * 0.97).collect();
        let c = compare(&run(&BASE), &run(&slight), &[Metric::Efficiency], 5.0).unwrap();
        assert!(!c.regressed());
    }

    #[test]
    fn lower_is_better_for_latencies() {
        let mut slow = run(&BASE);
        slow.passes[0].latency.p99_ns *= 2;
        let c = compare(&run(&BASE), &slow, &[Metric::P99Ns], 5.0).unwrap();
        assert!(c.regressed());
        assert!(c.single_samples, "latencies carry no interval");
    }

    #[test]
    fn different_corpora_schemas_or_testbeds_for_timings_are_not_comparable() {
        let mut other = run(&BASE);
        let mut newer = run(&BASE);
        newer.kernel_profile = crate::kernel_profile::KernelProfile::V7_2;
        let e = compare(&run(&BASE), &newer, &[Metric::Efficiency], 5.0).unwrap_err();
        assert!(e.0.contains("different kernels"), "{e}");
        other.corpus.spec_hash = Some("ffff".into());
        let e = compare(&run(&BASE), &other, &[Metric::Efficiency], 5.0).unwrap_err();
        assert!(e.0.contains("different corpora"), "{e}");
        let mut old = run(&BASE);
        old.schema = "trustbench.run/1".into();
        assert!(compare(&old, &run(&BASE), &[Metric::Efficiency], 5.0).is_err());
        let mut elsewhere = run(&BASE);
        elsewhere.testbed.id = "0000000000000000".into();
        let e = compare(&run(&BASE), &elsewhere, &[Metric::ItemsPerS], 5.0).unwrap_err();
        assert!(e.0.contains("different testbeds"), "{e}");
        // Ratios travel between testbeds.
        assert!(compare(&run(&BASE), &elsewhere, &[Metric::Efficiency], 5.0).is_ok());
    }

    #[test]
    fn markdown_names_every_row_and_the_verdict() {
        let worse: Vec<f64> = BASE.iter().map(|e| e * 0.8).collect();
        let c = compare(
            &run(&BASE),
            &run(&worse),
            &[Metric::Efficiency, Metric::CryptoEfficiency],
            5.0,
        )
        .unwrap();
        let md = markdown(&c);
        assert!(md.contains("**regression**"), "{md}");
        assert!(md.contains("| cold | efficiency |"), "{md}");
        assert!(md.contains("| cold | crypto_efficiency |"), "{md}");
        assert!(md.contains("-20.0%"), "{md}");
    }
}
