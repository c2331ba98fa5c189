//! The page of a sweep: its comparison table and a chart of each combination's cold
//! throughput.

use super::page::{utc_date, Page};
use crate::error::Result;
use crate::measure::stats::with_interval;
use crate::measure::sweep::SweepReport;

/// The page of `r`.
pub fn page(r: &SweepReport) -> Result<String> {
    let created = r.runs.first().map_or(0, |x| x.report.created_unix);
    let mut p = Page::new(
        "trustbench sweep",
        &format!(
            "{} combination(s), {} round(s) round robin, {}",
            r.runs.len(),
            r.rounds,
            utc_date(created)
        ),
    );
    p.section("sweep", "Comparison");
    let mut head: Vec<&str> = r.axes.iter().map(|a| a.name.as_str()).collect();
    head.extend([
        "pass",
        "items/s",
        "efficiency",
        "crypto-only eff.",
        "p99",
        "manifest mismatches",
    ]);
    let mut rows = Vec::new();
    for run in &r.runs {
        for pass in &run.report.passes {
            let mut row: Vec<String> = run.point.iter().map(|(_, v)| v.clone()).collect();
            let e = &pass.estimates;
            row.extend([
                pass.name.clone(),
                with_interval(pass.items_per_s, &e.items_per_s, 0),
                with_interval(pass.efficiency, &e.efficiency, 3),
                with_interval(pass.crypto_efficiency, &e.crypto_efficiency, 3),
                super::page::duration(pass.latency.p99_ns as f64),
                run.report
                    .manifest
                    .as_ref()
                    .map_or(0, |m| m.count())
                    .to_string(),
            ]);
            rows.push(row);
        }
    }
    p.table("sweep-table", &head, &rows);
    p.note(
        "Each round runs one measured repeat of every combination, the first rotating; figures \
         are medians over the rounds with 95% bootstrap intervals, each efficiency against the \
         ceiling measured while that pass ran.",
    );
    p.end_section();
    Ok(p.finish())
}
