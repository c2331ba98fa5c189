//! The page of a verdicts-only merge: counts from several testbeds, no timing at all.

use super::page::{escape, Page};
use crate::error::Result;
use crate::measure::verdicts::VerdictsReport;

/// The page of `r`.
pub fn page(r: &VerdictsReport) -> Result<String> {
    let mut p = Page::new(
        &format!("trustbench verdicts: {}", r.corpus.dir),
        &format!(
            "{} report(s) from {} testbed(s)",
            r.reports,
            r.testbeds.len()
        ),
    );
    p.section("timings", "Timings");
    p.alert(&r.timings);
    p.end_section();
    p.section("verdicts", "Verdicts");
    let rows: Vec<Vec<String>> = r
        .passes
        .iter()
        .flat_map(|pass| {
            pass.verdicts
                .iter()
                .map(|(v, n)| vec![pass.name.clone(), v.clone(), n.to_string()])
        })
        .collect();
    p.table("verdict-table", &["pass", "verdict", "items"], &rows);
    if let Some(m) = &r.manifest {
        p.para(&format!(
            "manifest: {} checked, {} mismatches",
            m.checked,
            m.count()
        ));
    }
    p.end_section();
    p.section("testbeds", "Testbeds");
    p.list(r.testbeds.iter().map(|t| {
        escape(&format!(
            "{} {} ({}, {} CPUs, {}): {} report(s)",
            t.testbed.id,
            t.testbed.host,
            t.testbed.cpu_model,
            t.testbed.logical_cpus,
            t.testbed.kernel,
            t.reports
        ))
    }));
    p.end_section();
    Ok(p.finish())
}
