//! CSV: one row per pass, for spreadsheets and plotting; each row names the crypto
//! backend, so rows of runs with different `--backend`s can be concatenated and compared.

use super::{Exporter, Format};
use crate::error::Result;
use crate::measure::report::RunReport;
use std::fmt::Write;

/// One row per pass.
pub struct Csv;

const HEADER: &str = "pass,threads,items,bytes,seconds,items_per_s,mb_per_s,ceiling_items_per_s,efficiency,crypto_efficiency,p50_ns,p99_ns,max_ns,cache_hit_rate,backend\n";

impl Csv {
    pub fn render(&self, report: &RunReport) -> String {
        let mut s = String::from(HEADER);
        for p in &report.passes {
            let _ = writeln!(
                s,
                "{},{},{},{},{:.6},{:.1},{:.2},{:.1},{:.4},{:.4},{},{},{},{:.4},{}",
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
                report.versions.backend
            );
        }
        s
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
                "{HEADER}cold,2,40,40000,2.000000,20.0,1.00,40.0,0.5000,0.5000,1000,5000,9000,0.0000,aws-lc\n"
            )
        );
    }
}
