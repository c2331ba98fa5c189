//! CSV: one row per pass, for spreadsheets and plotting; each row names the crypto
//! backend, so rows of runs with different `--backend`s can be concatenated and compared.
//! A backend comparison is one row per backend and signature class (its verify figure,
//! `unsupported` where it has none) and one row per backend for the whole corpus
//! (`algorithm` = `all`: the engine's figures). A capacity plan is one row per projected
//! core count.

use super::{Exporter, Format};
use crate::error::Result;
use crate::measure::backends::BackendsReport;
use crate::measure::capacity::CapacityReport;
use crate::measure::report::RunReport;
use std::fmt::Write;

/// One row per pass.
pub struct Csv;

const HEADER: &str = "pass,threads,items,bytes,seconds,items_per_s,mb_per_s,ceiling_items_per_s,efficiency,crypto_efficiency,p50_ns,p99_ns,max_ns,cache_hit_rate,repeats,items_per_s_ci_low,items_per_s_ci_high,efficiency_ci_low,efficiency_ci_high,testbed,backend\n";

impl Csv {
    pub fn render(&self, report: &RunReport) -> String {
        let mut s = String::from(HEADER);
        for p in &report.passes {
            let _ = writeln!(
                s,
                "{},{},{},{},{:.6},{:.1},{:.2},{:.1},{:.4},{:.4},{},{},{},{:.4},{},{:.1},{:.1},{:.4},{:.4},{},{}",
                p.name,
                p.threads,
                p.items,
                p.bytes,
                p.seconds,
                p.items_per_s,
                p.mb_per_s,
                p.ceiling_items_per_s,
                p.efficiency,
                p.crypto_efficiency,
                p.latency.p50_ns,
                p.latency.p99_ns,
                p.latency.max_ns,
                p.cache.hit_rate,
                p.repeats,
                p.estimates.items_per_s.ci_low,
                p.estimates.items_per_s.ci_high,
                p.estimates.efficiency.ci_low,
                p.estimates.efficiency.ci_high,
                report.testbed.id,
                report.versions.backend
            );
        }
        s
    }
}

const BACKENDS_HEADER: &str = "backend,algorithm,items,skipped,verify_per_s_per_thread,ratio_to_fastest,items_per_s,ceiling_items_per_s,efficiency,crypto_efficiency,digest_mb_per_s\n";

impl Csv {
    /// A backend comparison: one row per (class, backend), then one per backend.
    pub fn render_backends(&self, r: &BackendsReport) -> String {
        let mut s = String::from(BACKENDS_HEADER);
        for row in &r.rows {
            for c in &row.cells {
                let (rate, ratio) = match (c.verify_per_s, c.ratio_to_fastest) {
                    (Some(v), Some(q)) => (format!("{v:.1}"), format!("{q:.4}")),
                    _ if c.unsupported.is_some() => ("unsupported".into(), String::new()),
                    _ => ("no key".into(), String::new()),
                };
                let _ = writeln!(
                    s,
                    "{},{},{},,{rate},{ratio},,,,,",
                    c.backend, row.label, row.items
                );
            }
        }
        for b in &r.backends {
            let digest: Vec<String> = b
                .digest_mb_per_s
                .iter()
                .map(|(h, v)| format!("{h}={v:.1}"))
                .collect();
            let _ = writeln!(
                s,
                "{},all,{},{},,,{:.1},{:.1},{:.4},{:.4},{}",
                b.name,
                b.items,
                b.skipped,
                b.items_per_s,
                b.ceiling_items_per_s,
                b.efficiency,
                b.crypto_efficiency,
                digest.join(";")
            );
        }
        s
    }
}

impl Exporter<BackendsReport> for Csv {
    fn export(&self, report: &BackendsReport) -> Result<Vec<u8>> {
        Ok(self.render_backends(report).into_bytes())
    }
}

const CAPACITY_HEADER: &str = "cores,items,engine_items_per_s,engine_seconds,primitive_items_per_s,primitive_seconds,extrapolated,engine_model,primitive_model\n";

impl Csv {
    /// A capacity plan: one row per core count of its projection.
    pub fn render_capacity(&self, r: &CapacityReport) -> String {
        let mut s = String::from(CAPACITY_HEADER);
        let (e, p) = (r.engine.chosen.name(), r.primitive.chosen.name());
        for row in &r.projections {
            let _ = writeln!(
                s,
                "{},{},{:.3},{:.6},{:.3},{:.6},{},{e},{p}",
                row.cores,
                r.items,
                row.engine_items_per_s,
                row.engine_seconds,
                row.primitive_items_per_s,
                row.primitive_seconds,
                row.extrapolated
            );
        }
        s
    }
}

impl Exporter<CapacityReport> for Csv {
    fn export(&self, report: &CapacityReport) -> Result<Vec<u8>> {
        Ok(self.render_capacity(report).into_bytes())
    }
}

impl Format for Csv {
    fn name(&self) -> &'static str {
        "csv"
    }

    fn extension(&self) -> &'static str {
        "csv"
    }
}

impl Exporter for Csv {
    fn export(&self, report: &RunReport) -> Result<Vec<u8>> {
        Ok(self.render(report).into_bytes())
    }
}

/// A sweep: one row per combination and pass, the swept settings first.
impl Exporter<crate::measure::sweep::SweepReport> for Csv {
    fn export(&self, r: &crate::measure::sweep::SweepReport) -> Result<Vec<u8>> {
        let mut s = String::new();
        for a in &r.axes {
            let _ = write!(s, "{},", a.name);
        }
        s.push_str("pass,repeats,items,items_per_s,items_per_s_ci_low,items_per_s_ci_high,efficiency,efficiency_ci_low,efficiency_ci_high,crypto_efficiency,p50_ns,p99_ns,testbed,backend\n");
        for run in &r.runs {
            for p in &run.report.passes {
                for (_, v) in &run.point {
                    let _ = write!(s, "{v},");
                }
                let e = &p.estimates;
                let _ = writeln!(
                    s,
                    "{},{},{},{:.1},{:.1},{:.1},{:.4},{:.4},{:.4},{:.4},{},{},{},{}",
                    p.name,
                    p.repeats,
                    p.items,
                    p.items_per_s,
                    e.items_per_s.ci_low,
                    e.items_per_s.ci_high,
                    p.efficiency,
                    e.efficiency.ci_low,
                    e.efficiency.ci_high,
                    p.crypto_efficiency,
                    p.latency.p50_ns,
                    p.latency.p99_ns,
                    run.report.testbed.id,
                    run.report.versions.backend
                );
            }
        }
        Ok(s.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::report::tests::shard_report;

    #[test]
    fn one_row_per_pass() {
        let csv = Csv.render(&shard_report(40, 0, 0));
        assert_eq!(
            csv,
            format!(
                "{HEADER}cold,2,40,40000,2.000000,20.0,1.00,40.0,0.5000,0.5000,1000,5000,9000,0.0000,1,0.0,0.0,0.0000,0.0000,{},aws-lc\n",
                shard_report(40, 0, 0).testbed.id
            )
        );
    }
}
