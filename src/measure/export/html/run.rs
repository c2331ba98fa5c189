//! The page of a run report (`trustbench run`, `trustbench merge`).

use super::charts;
use super::page::{duration, utc_date, Page};
use crate::error::Result;
use crate::measure::report::RunReport;
use crate::measure::stats::with_interval;
use std::collections::BTreeSet;

/// How many manifest mismatches the page names (the JSON keeps up to 1000).
const MISMATCHES_SHOWN: usize = 20;

/// The whole page.
pub fn page(r: &RunReport) -> Result<String> {
    let mut p = Page::new(
        &format!("trustbench run: {}", r.corpus.dir),
        &format!(
            "{} with backend {} on {} thread(s), {}",
            r.corpus.dir,
            r.versions.backend,
            r.threads,
            utc_date(r.created_unix)
        ),
    );
    header(&mut p, r);
    if let Some(s) = &r.partial {
        p.note(&format!(
            "PARTIAL RUN: {s}. The passes cover only what ran."
        ));
    }
    passes(&mut p, r)?;
    verdicts(&mut p, r);
    manifest(&mut p, r);
    link(&mut p, r);
    ceiling(&mut p, r);
    scaling(&mut p, r)?;
    Ok(p.finish())
}

fn header(p: &mut Page, r: &RunReport) {
    let t = &r.testbed;
    let c = &r.corpus;
    p.section("run", "Run");
    p.facts(
        "header",
        &[
            (
                "corpus",
                format!(
                    "{} ({} items, {:.1} MB{})",
                    c.dir,
                    c.items,
                    c.bytes as f64 / 1e6,
                    c.spec_hash
                        .as_ref()
                        .map_or(String::new(), |h| format!(", spec hash {h}"))
                ),
            ),
            (
                "backend",
                format!("{} ({})", r.versions.backend, r.versions.backend_crate),
            ),
            ("threads", r.threads.to_string()),
            (
                "testbed",
                format!(
                    "{} on {}: {} ({} logical CPUs; {}), kernel {}",
                    t.id,
                    t.host,
                    t.cpu_model,
                    t.logical_cpus,
                    if r.machine.cpu_flags.is_empty() {
                        "-".into()
                    } else {
                        r.machine.cpu_flags.join(" ")
                    },
                    t.kernel
                ),
            ),
            (
                "commit",
                r.git_commit.clone().unwrap_or_else(|| "unknown".into()),
            ),
            (
                "trustbench",
                format!("{} (schema {})", r.versions.trustbench, r.schema),
            ),
            (
                "IMA",
                format!("rule {}, source {}", r.ima_rule, r.ima_source),
            ),
            ("created", utc_date(r.created_unix)),
        ],
    );
    if r.mb_disagreements > 0 {
        p.alert(&format!(
            "{} multi-buffer results were contradicted by the single-op backend: \
             arithmetic faults, the run failed",
            r.mb_disagreements
        ));
    }
    p.end_section();
}

fn passes(p: &mut Page, r: &RunReport) -> Result<()> {
    p.section("passes", "Passes");
    let rows: Vec<Vec<String>> = r
        .passes
        .iter()
        .map(|x| {
            let e = &x.estimates;
            vec![
                x.name.clone(),
                x.threads.to_string(),
                x.items.to_string(),
                x.repeats.to_string(),
                with_interval(x.items_per_s, &e.items_per_s, 0),
                format!("{:.1}", x.mb_per_s),
                format!("{:.0}", x.ceiling_items_per_s),
                with_interval(x.efficiency, &e.efficiency, 3),
                with_interval(x.crypto_efficiency, &e.crypto_efficiency, 3),
                duration(x.latency.p50_ns as f64),
                duration(x.latency.p99_ns as f64),
                duration(x.latency.max_ns as f64),
                format!("{:.1}%", x.cache.hit_rate * 100.0),
            ]
        })
        .collect();
    p.table(
        "pass-table",
        &[
            "pass",
            "threads",
            "items",
            "repeats",
            "items/s",
            "MB/s",
            "ceiling items/s",
            "efficiency",
            "crypto efficiency",
            "p50",
            "p99",
            "max",
            "cache hit",
        ],
        &rows,
    );
    p.note(
        "Efficiency = items/s ÷ the ceiling the raw primitives allow for these items at this \
         thread count (crypto efficiency: without the I/O share). With repeats > 1 a figure \
         is the median repeat's, in brackets the 95% bootstrap interval of the median.",
    );
    if let Some(w) = r.warm_over_cold {
        p.para(&format!("warm ÷ cold throughput: {w:.1}×"));
    }
    match charts::stage_breakdown(&r.passes)? {
        Some(svg) => p.figure(
            "stage-chart",
            &svg,
            "Where the time went: each pass's stage times summed over its threads, per item.",
        ),
        None => p.note("No stage times recorded."),
    }
    let stages: BTreeSet<&String> = r.passes.iter().flat_map(|x| x.stage_ns.keys()).collect();
    let mut head = vec!["stage".to_string()];
    head.extend(
        r.passes
            .iter()
            .map(|x| format!("{} (share · time)", x.name)),
    );
    let rows: Vec<Vec<String>> = stages
        .iter()
        .map(|s| {
            let mut row = vec![s.to_string()];
            for x in &r.passes {
                let total: u64 = x.stage_ns.values().sum();
                let v = x.stage_ns.get(*s).copied().unwrap_or(0);
                row.push(format!(
                    "{:.1}% · {}",
                    v as f64 * 100.0 / total.max(1) as f64,
                    duration(v as f64)
                ));
            }
            row
        })
        .collect();
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    p.table("stage-table", &head, &rows);
    match charts::latency_distribution(&r.passes)? {
        Some(svg) => p.figure(
            "latency-chart",
            &svg,
            "Latency of single items: the share of each pass's items per histogram bucket \
             (16 buckets per power of two).",
        ),
        None => p.note("This report has no latency histogram (written before it existed)."),
    }
    let slow: Vec<String> = r
        .passes
        .iter()
        .flat_map(|x| {
            x.slowest.iter().map(move |s| {
                format!(
                    "{}: {} ({}, {} bytes)",
                    x.name,
                    s.path,
                    duration(s.ns as f64),
                    s.bytes
                )
            })
        })
        .collect();
    if !slow.is_empty() {
        p.para("Slowest items:");
        p.list(slow);
    }
    p.end_section();
    Ok(())
}

fn verdicts(p: &mut Page, r: &RunReport) {
    p.section("verdicts", "Verdicts");
    let names: BTreeSet<&String> = r.passes.iter().flat_map(|x| x.verdicts.keys()).collect();
    let mut head = vec!["verdict"];
    head.extend(r.passes.iter().map(|x| x.name.as_str()));
    let rows: Vec<Vec<String>> = names
        .iter()
        .map(|v| {
            let mut row = vec![v.to_string()];
            row.extend(
                r.passes
                    .iter()
                    .map(|x| x.verdicts.get(*v).copied().unwrap_or(0).to_string()),
            );
            row
        })
        .collect();
    p.table("verdict-table", &head, &rows);
    p.end_section();
}

fn manifest(p: &mut Page, r: &RunReport) {
    let Some(m) = &r.manifest else { return };
    p.section("manifest", "Manifest");
    p.facts(
        "manifest-table",
        &[
            ("checked", m.checked.to_string()),
            ("mismatches", m.count().to_string()),
            (
                "not compared",
                format!(
                    "{} (backend {} lacks a verification they need)",
                    m.backend_unsupported, r.versions.backend
                ),
            ),
        ],
    );
    if m.count() > 0 {
        p.alert(&format!(
            "{} items' verdicts differ from the manifest{}",
            m.count(),
            if m.count() > MISMATCHES_SHOWN {
                format!("; the first {MISMATCHES_SHOWN}:")
            } else {
                ":".into()
            }
        ));
        p.list(m.mismatches.iter().take(MISMATCHES_SHOWN).cloned());
    } else {
        p.para("Every verdict agrees with the manifest.");
    }
    p.end_section();
}

fn link(p: &mut Page, r: &RunReport) {
    let Some(l) = &r.link else { return };
    p.section("link", "Link-time phase");
    let errors: Vec<String> = l.errors.iter().map(|(e, n)| format!("{e} {n}")).collect();
    p.facts(
        "link-table",
        &[
            ("commands", format!("{} ({} ok)", l.commands, l.ok)),
            (
                "errors",
                if errors.is_empty() {
                    "none".into()
                } else {
                    errors.join(", ")
                },
            ),
            (
                "gatekeeper checks",
                format!("{} in {}", l.checks, duration(l.check_seconds * 1e9)),
            ),
            ("checks/s", format!("{:.0}", l.checks_per_s)),
            (
                "efficiency",
                format!("{:.2} (the signature's share of a check)", l.efficiency),
            ),
        ],
    );
    if !l.unexpected.is_empty() {
        p.alert("Outcomes that differ from keyring.expected:");
        p.list(l.unexpected.iter().cloned());
    }
    p.end_section();
}

fn ceiling(p: &mut Page, r: &RunReport) {
    let c = &r.ceiling;
    p.section("ceiling", "Ceiling");
    p.note("The raw primitives, measured in the same run at the same thread count.");
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (class, ns) in &c.verify_ns {
        let by = c
            .verify_by
            .get(class)
            .map_or(String::new(), |b| format!(" (by {b})"));
        rows.push(vec![
            format!("verify {class}{by}"),
            duration(*ns),
            format!("{:.0}/s per thread", 1e9 / ns),
        ]);
    }
    for (h, ns) in &c.digest_ns_per_byte {
        rows.push(vec![
            format!("digest {h}"),
            format!("{ns:.3} ns/byte"),
            format!("{:.0} MB/s per thread", 1e3 / ns),
        ]);
    }
    if c.decompress_ns_per_byte > 0.0 {
        rows.push(vec![
            "decompress modules".into(),
            format!("{:.3} ns/byte", c.decompress_ns_per_byte),
            format!(
                "{:.0} MB/s compressed per thread (ratio {:.1})",
                1e3 / c.decompress_ns_per_byte,
                c.decompress_ratio
            ),
        ]);
    }
    rows.push(vec![
        "open+read+close small file".into(),
        duration(c.open_read_ns),
        String::new(),
    ]);
    if c.read_ns_per_byte > 0.0 {
        rows.push(vec![
            "read bandwidth (large)".into(),
            format!("{:.3} ns/byte", c.read_ns_per_byte),
            format!("{:.0} MB/s", 1e3 / c.read_ns_per_byte),
        ]);
    }
    rows.push(vec![
        "mmap threshold".into(),
        match c.mmap_threshold {
            None => "- (not measured: no --mmap, or no large files)".into(),
            Some(u64::MAX) => "never".into(),
            Some(t) => format!("{} KiB", t / 1024),
        },
        String::new(),
    ]);
    p.table("ceiling-table", &["primitive", "cost", "rate"], &rows);
    p.end_section();
}

/// The scaling curve, as a chart (the generic line chart `capacity` plots with) and a
/// table.
fn scaling(p: &mut Page, r: &RunReport) -> Result<()> {
    let Some(base) = r.scaling.first() else {
        return Ok(());
    };
    p.section("scaling", "Scaling (cold, cache off)");
    let curve = |name: &str, color: usize, f: fn(&crate::measure::report::ScalingStep) -> f64| {
        crate::measure::plot::Series {
            name: name.into(),
            points: r.scaling.iter().map(|s| (s.threads as f64, f(s))).collect(),
            style: crate::measure::plot::Style::Line,
            color,
        }
    };
    let chart = crate::measure::plot::Chart {
        title: "Scaling".into(),
        x_label: "threads".into(),
        y_label: "per second".into(),
        series: vec![
            curve("engine items/s", 0, |s| s.items_per_s),
            curve("raw verify/s (dominant class)", 1, |s| s.raw_verify_per_s),
        ],
    };
    let svg = crate::measure::plot::line_chart(&chart)?;
    p.figure(
        "scaling-chart",
        &svg,
        "The engine's cold throughput and the raw primitive's rate at each thread count",
    );
    let rows: Vec<Vec<String>> = r
        .scaling
        .iter()
        .map(|s| {
            let su = s.items_per_s / base.items_per_s.max(1e-9);
            let rs = s.raw_verify_per_s / base.raw_verify_per_s.max(1e-9);
            vec![
                s.threads.to_string(),
                format!("{:.0}", s.items_per_s),
                format!("{su:.2}×"),
                format!("{:.0}", s.raw_verify_per_s),
                format!("{rs:.2}×"),
                format!("{:.3}", su / rs.max(1e-9)),
                format!("{:.3}", s.efficiency),
            ]
        })
        .collect();
    p.table(
        "scaling-table",
        &[
            "threads",
            "items/s",
            "speed-up",
            "raw verify/s",
            "raw speed-up",
            "scaling efficiency",
            "efficiency",
        ],
        &rows,
    );
    p.note(
        "Scaling efficiency = the engine's speed-up ÷ the raw primitive's speed-up at the \
         same thread count: 1 means the engine scales as well as the machine allows.",
    );
    p.end_section();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::link::LinkPhase;
    use crate::measure::report::tests::shard_report;
    use crate::measure::report::ScalingStep;
    use crate::measure::stats::Estimate;

    #[test]
    fn every_part_of_the_report_is_on_the_page() {
        let mut r = shard_report(40, 3, 3);
        r.link = Some(LinkPhase {
            commands: 9,
            ok: 8,
            errors: [("EKEYREJECTED".to_string(), 1)].into(),
            checks: 6,
            checks_per_s: 4321.0,
            efficiency: 0.8,
            ..Default::default()
        });
        r.scaling = vec![
            ScalingStep {
                threads: 1,
                items_per_s: 100.0,
                raw_verify_per_s: 200.0,
                efficiency: 0.5,
            },
            ScalingStep {
                threads: 2,
                items_per_s: 190.0,
                raw_verify_per_s: 400.0,
                efficiency: 0.47,
            },
        ];
        let mut warm = r.passes[0].clone();
        warm.name = "warm".into();
        warm.repeats = 3;
        warm.items_per_s = 2000.0;
        warm.estimates.items_per_s = Estimate::of(&[1900.0, 2000.0, 2100.0]);
        r.passes.push(warm);
        let html = page(&r).unwrap();
        for id in [
            "header",
            "pass-table",
            "stage-chart",
            "stage-table",
            "latency-chart",
            "verdict-table",
            "manifest-table",
            "link-table",
            "ceiling-table",
            "scaling-table",
        ] {
            assert!(html.contains(&format!("id=\"{id}\"")), "{id} missing");
        }
        let e = &r.passes[1].estimates.items_per_s;
        assert!(
            html.contains(&format!("<td>2000 [{:.0}–{:.0}]</td>", e.ci_low, e.ci_high)),
            "the interval of a repeated pass: {html}"
        );
        assert!(html.contains("<td>20</td>"), "one repeat: no interval");
        assert!(html.contains("4321"), "link checks/s");
        assert!(html.contains("<td>1.90×</td>"), "scaling speed-up");
        assert!(html.contains("3 items&#39; verdicts differ"), "{html}");
        assert_eq!(html.matches("<svg").count(), 3, "stages, latency, scaling");
    }
}
