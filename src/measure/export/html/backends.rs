//! The page of a backend comparison (`trustbench backends`).

use super::charts;
use super::page::{utc_date, Page};
use crate::error::Result;
use crate::measure::backends::BackendsReport;

/// How many disagreeing items the page names (the JSON keeps up to 1000).
const DISAGREEMENTS_SHOWN: usize = 50;

/// The whole page.
pub fn page(r: &BackendsReport) -> Result<String> {
    let m = &r.machine;
    let mut p = Page::new(
        &format!("trustbench backends: {}", r.corpus.dir),
        &format!(
            "{} backends on {} thread(s), {}",
            r.backends.len(),
            r.threads,
            utc_date(r.created_unix)
        ),
    );
    p.section("run", "Comparison");
    p.facts(
        "header",
        &[
            (
                "corpus",
                format!(
                    "{} ({} items, {:.1} MB)",
                    r.corpus.dir,
                    r.corpus.items,
                    r.corpus.bytes as f64 / 1e6
                ),
            ),
            (
                "machine",
                format!(
                    "{} ({} logical CPUs; {}), kernel {}",
                    m.cpu_model,
                    m.logical_cpus,
                    if m.cpu_flags.is_empty() {
                        "-".into()
                    } else {
                        m.cpu_flags.join(" ")
                    },
                    m.kernel
                ),
            ),
            ("threads", r.threads.to_string()),
            (
                "rounds",
                format!(
                    "{} round-robin, {} ms per figure",
                    r.rounds, r.calibration_ms
                ),
            ),
            ("reference backend", r.reference.clone()),
            (
                "commit",
                r.git_commit.clone().unwrap_or_else(|| "unknown".into()),
            ),
            (
                "trustbench",
                format!("{} (schema {})", r.trustbench, r.schema),
            ),
            (
                "IMA",
                format!("rule {}, source {}", r.ima_rule, r.ima_source),
            ),
        ],
    );
    if !r.unavailable.is_empty() {
        p.para("Not available here:");
        p.list(
            r.unavailable
                .iter()
                .map(|u| format!("{}: {}", u.name, u.reason)),
        );
    }
    p.end_section();

    p.section("verify", "Verify per thread");
    let mut head = vec![
        "algorithm".to_string(),
        "items".into(),
        "sample bytes".into(),
    ];
    head.extend(r.backends.iter().map(|b| {
        if b.hashes_message {
            format!("{} ¹", b.name)
        } else {
            b.name.clone()
        }
    }));
    let rows: Vec<Vec<String>> =
        r.rows
            .iter()
            .map(|row| {
                let mut cells = vec![
                    row.label.clone(),
                    row.items.to_string(),
                    row.sample_bytes.to_string(),
                ];
                cells.extend(row.cells.iter().map(|c| {
                    match (c.verify_per_s, c.ratio_to_fastest) {
                        (Some(v), Some(q)) => format!(
                            "{v:.0}/s ({q:.2}){}",
                            if c.rejected.is_some() { " ✗" } else { "" }
                        ),
                        _ if c.unsupported.is_some() => "unsupported".into(),
                        _ => "no key ✗".into(),
                    }
                }));
                cells
            })
            .collect();
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    p.table("verify-table", &head, &rows);
    p.note(
        "One real signature of the corpus per row (the smallest sampled item of the class), \
         pre-parsed key, all threads at once; in brackets the ratio to the row's fastest \
         backend. ¹ hashes the signed message itself: its figure includes that digest. \
         ✗ the backend rejected a signature the reference verifies.",
    );
    if let Some(svg) = charts::backend_verify_rates(r)? {
        p.figure(
            "verify-chart",
            &svg,
            "Verifications per second per thread, by signature class and backend.",
        );
    }
    p.end_section();

    p.section("engine", "Engine on the whole corpus");
    let rows: Vec<Vec<String>> = r
        .backends
        .iter()
        .map(|b| {
            let digest: Vec<String> = b
                .digest_mb_per_s
                .iter()
                .map(|(h, v)| format!("{h} {v:.0}"))
                .collect();
            vec![
                b.name.clone(),
                b.library.clone(),
                b.items.to_string(),
                b.skipped.to_string(),
                format!("{:.0}", b.items_per_s),
                format!("{:.0}", b.ceiling_items_per_s),
                format!("{:.3}", b.efficiency),
                format!("{:.3}", b.crypto_efficiency),
                if digest.is_empty() {
                    "-".into()
                } else {
                    digest.join(", ")
                },
                b.link_checks_per_s
                    .map_or("-".into(), |v| format!("{v:.0}")),
            ]
        })
        .collect();
    p.table(
        "engine-table",
        &[
            "backend",
            "library",
            "items",
            "skipped",
            "items/s",
            "ceiling items/s",
            "efficiency",
            "crypto efficiency",
            "own digest MB/s per thread",
            "link checks/s",
        ],
        &rows,
    );
    p.note(&format!(
        "A cold pass per backend and round, cache off, the backends interleaved chunk by \
         chunk; medians of {} round(s). Items a backend cannot verify are not counted for it.",
        r.rounds
    ));
    let unexpected: Vec<String> = r
        .backends
        .iter()
        .flat_map(|b| {
            b.link_unexpected
                .iter()
                .map(move |u| format!("{}: {u}", b.name))
        })
        .collect();
    if !unexpected.is_empty() {
        p.alert("Link-time outcomes that differ from keyring.expected:");
        p.list(unexpected);
    }
    p.end_section();

    p.section("agreement", "Agreement");
    let a = &r.agreement;
    if a.disagreeing == 0 {
        p.para(&format!(
            "{} items compared across {} backends: every backend gives the same verdict and \
             errno for every item it can verify.",
            a.compared,
            r.backends.len()
        ));
    } else {
        p.alert(&format!(
            "{} of {} items compared get different verdicts from different backends:",
            a.disagreeing, a.compared
        ));
        p.list(a.items.iter().take(DISAGREEMENTS_SHOWN).map(|d| {
            let v: Vec<String> = d
                .verdicts
                .iter()
                .map(|v| format!("{} {}", v.backend, v.verdict))
                .collect();
            format!("{}: {}", d.path, v.join(" · "))
        }));
        let listed = a.items.len().min(DISAGREEMENTS_SHOWN);
        if a.disagreeing > listed {
            p.note(&format!("… and {} more.", a.disagreeing - listed));
        }
    }
    p.end_section();
    Ok(p.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::backends::tests::backends_report;

    #[test]
    fn the_tables_and_the_chart_are_on_the_page() {
        let html = page(&backends_report()).unwrap();
        for id in [
            "header",
            "verify-table",
            "verify-chart",
            "engine-table",
            "agreement",
        ] {
            assert!(html.contains(&format!("id=\"{id}\"")), "{id} missing");
        }
        assert!(html.contains("<th scope=\"col\">ring ¹</th>"));
        assert!(html.contains("<td class=\"t\">unsupported</td>"));
        assert!(html.contains("<td>25000/s (1.00)</td>"), "{html}");
        assert!(html.contains("aws-lc &lt;1.0&gt; &amp; &quot;co&quot;"));
        assert!(html.contains("1 of 100 items compared"));
    }
}
