//! The page of a post-quantum migration comparison (`trustbench pq`): the chart of ratios,
//! the figures and ratio tables, and what was measured.

use super::page::{escape, utc_date, Page};
use crate::error::Result;
use crate::measure::pq::PqReport;

/// The page of `r`.
pub fn page(r: &PqReport) -> Result<String> {
    let t = &r.testbed;
    let mut p = Page::new(
        "trustbench pq: what the switch to ML-DSA costs",
        &format!(
            "kernel profile {}, {} rounds, testbed {} ({}, {} logical CPUs, backend {}), {}",
            r.kernel_profile,
            r.rounds,
            t.id,
            t.cpu_model,
            t.logical_cpus,
            t.backend,
            utc_date(r.created_unix)
        ),
    );
    p.section("pq-chart", &format!("Relative to {}", r.baseline));
    let svg = crate::measure::plot::grouped_bars(&r.chart())?;
    p.figure(
        "pq-ratios",
        &svg,
        &format!("Each algorithm's figures over {}'s (log scale)", r.baseline),
    );
    p.end_section();
    for (id, heading, (head, rows)) in [
        ("pq-figures", "Figures", r.figures_table()),
        ("pq-ratio-table", "Ratios", r.ratios_table()),
    ] {
        p.section(id, heading);
        let head: Vec<&str> = head.iter().map(String::as_str).collect();
        p.table(&format!("{id}-table"), &head, &rows);
        p.end_section();
    }
    if r.findings() > 0 {
        p.alert(&format!(
            "{} items were not valid or disagreed with the manifest: the figures are not \
             the cost of verifying good signatures",
            r.findings()
        ));
    }
    p.section("pq-notes", "What was measured");
    p.list(r.notes.iter().map(|n| escape(n)));
    p.end_section();
    Ok(p.finish())
}
