//! The page of a capacity plan: the plot of both curves with their fits, the models, the
//! projections, the deadline answer and the assumptions.

use super::page::{escape, utc_date, Page};
use crate::error::Result;
use crate::measure::capacity::CapacityReport;

/// The page of `r`.
pub fn page(r: &CapacityReport) -> Result<String> {
    let mut p = Page::new(
        &format!("trustbench capacity: {}", r.corpus.dir),
        &format!(
            "{} items of {}, testbed {} ({}), {}",
            r.items,
            r.corpus.dir,
            r.testbed.id,
            r.testbed.cpu_model,
            utc_date(r.created_unix)
        ),
    );
    p.section("capacity-plot", "Scaling and the fitted models");
    let svg = crate::measure::plot::line_chart(&r.chart())?;
    p.figure(
        "capacity-chart",
        &svg,
        "Measured points and fitted curves of the engine and of the raw primitive",
    );
    let fits: Vec<Vec<String>> = [("engine", &r.engine), ("primitive", &r.primitive)]
        .into_iter()
        .map(|(name, c)| {
            let m = c.model();
            vec![
                name.to_string(),
                m.kind.name().to_string(),
                format!("{:.1}", m.lambda),
                format!("{:.4}", m.sigma),
                format!("{:.5}", m.kappa),
                c.unit.clone(),
            ]
        })
        .collect();
    p.table(
        "fit-table",
        &["curve", "model", "λ (1 thread)", "σ", "κ", "unit"],
        &fits,
    );
    for c in [&r.engine, &r.primitive] {
        if let Some(w) = &c.weak {
            p.alert(w);
        }
    }
    p.end_section();
    p.section("projections", "Projections");
    let rows: Vec<Vec<String>> = r
        .projections
        .iter()
        .map(|x| {
            vec![
                x.cores.to_string(),
                format!("{:.0}", x.engine_items_per_s),
                format!("{:.2} s", x.engine_seconds),
                format!("{:.0}", x.primitive_items_per_s),
                format!("{:.2} s", x.primitive_seconds),
                if x.extrapolated { "yes" } else { "" }.to_string(),
            ]
        })
        .collect();
    p.table(
        "projection-table",
        &[
            "cores",
            "engine items/s",
            "engine time",
            "bound items/s",
            "bound time",
            "extrapolated",
        ],
        &rows,
    );
    p.end_section();
    p.section("assumptions", "Assumptions");
    p.list(r.assumptions.iter().map(|a| escape(a)));
    p.end_section();
    Ok(p.finish())
}
