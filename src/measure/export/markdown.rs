//! Markdown: the human report (`trustbench run`, `trustbench backends` and `trustbench
//! capacity` print it; `--markdown` writes it).

use super::{Exporter, Format};
use crate::error::Result;
use crate::measure::backends::BackendsReport;
use crate::measure::capacity::{CapacityReport, Curve, Limit, Reach};
use crate::measure::report::RunReport;
use crate::measure::stats::with_interval;
use std::fmt::Write;

/// The human report.
pub struct Markdown;

/// How many manifest mismatches the report names (the JSON keeps up to 1000).
const MISMATCHES_SHOWN: usize = 50;

/// How many disagreeing items a backend comparison names (the JSON keeps up to 1000).
const DISAGREEMENTS_SHOWN: usize = 100;

impl Markdown {
    pub fn render(&self, r: &RunReport) -> String {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = render_into(&mut s, r);
        s
    }
}

impl Markdown {
    /// A backend comparison, as `trustbench backends` prints it.
    pub fn render_backends(&self, r: &BackendsReport) -> String {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = backends_into(&mut s, r);
        s
    }
}

impl Exporter<BackendsReport> for Markdown {
    fn export(&self, report: &BackendsReport) -> Result<Vec<u8>> {
        Ok(self.render_backends(report).into_bytes())
    }
}

fn backends_into(s: &mut String, r: &BackendsReport) -> std::fmt::Result {
    let m = &r.machine;
    write!(
        s,
        "# trustbench backends\n\n{} ({} logical CPUs; {}), kernel {}, {} thread(s); corpus {} ({} items, {:.1} MB); {} round-robin round(s), {} ms per figure; IMA rule {}, IMA source {}\n\n",
        m.cpu_model,
        m.logical_cpus,
        if m.cpu_flags.is_empty() { "-".into() } else { m.cpu_flags.join(" ") },
        m.kernel,
        r.threads,
        r.corpus.dir,
        r.corpus.items,
        r.corpus.bytes as f64 / 1e6,
        r.rounds,
        r.calibration_ms,
        r.ima_rule,
        r.ima_source
    )?;
    for u in &r.unavailable {
        writeln!(
            s,
            "- backend {} is not available here: {}",
            u.name, u.reason
        )?;
    }
    if !r.unavailable.is_empty() {
        s.push('\n');
    }
    let hashing: Vec<&str> = r
        .backends
        .iter()
        .filter(|b| b.hashes_message)
        .map(|b| b.name.as_str())
        .collect();
    write!(
        s,
        "## Verify per thread\n\nOne real signature of the corpus per row (the smallest sampled item of the class), pre-parsed key, {} thread(s) at once; in brackets the ratio to the row's fastest backend.\n\n| algorithm | items | sample bytes |",
        r.threads
    )?;
    for b in &r.backends {
        let mark = if b.hashes_message { " ¹" } else { "" };
        write!(s, " {}{mark} |", b.name)?;
    }
    s.push_str("\n|---|---|---|");
    for _ in &r.backends {
        s.push_str("---|");
    }
    s.push('\n');
    for row in &r.rows {
        write!(
            s,
            "| {} | {} | {} |",
            row.label, row.items, row.sample_bytes
        )?;
        for c in &row.cells {
            match (c.verify_per_s, c.ratio_to_fastest) {
                (Some(v), Some(q)) => {
                    let bad = if c.rejected.is_some() { " ✗" } else { "" };
                    write!(s, " {v:.0}/s ({q:.2}){bad} |")?;
                }
                _ if c.unsupported.is_some() => s.push_str(" unsupported |"),
                _ => s.push_str(" no key ✗ |"),
            }
        }
        s.push('\n');
    }
    if !hashing.is_empty() {
        writeln!(
            s,
            "\n¹ {} hashes the signed message itself (it cannot take a digest): its figure includes hashing the sample's message (about its size); its own digest rate is in the next table.",
            hashing.join(", ")
        )?;
    }
    if r.rows
        .iter()
        .any(|row| row.cells.iter().any(|c| c.rejected.is_some()))
    {
        s.push_str("\n✗ the backend rejected that signature, which the reference backend verifies (no key: its keyrings lack the signer).\n");
    }
    write!(
        s,
        "\n## Engine on the whole corpus\n\nA cold pass per backend and round, cache off, the backends interleaved chunk by chunk; medians of {} round(s). Items a backend cannot verify are not counted for it (skipped). Efficiency = items/s ÷ the ceiling made of that backend's verify figures and the shared I/O and digest costs.\n\n| backend | library | items | skipped (unsupported) | items/s | ceiling items/s | efficiency | crypto-only eff. | own digest (MB/s per thread) |\n|---|---|---|---|---|---|---|---|---|\n",
        r.rounds
    )?;
    for b in &r.backends {
        let digest = if b.digest_mb_per_s.is_empty() {
            "- (takes the engine's digest)".to_string()
        } else {
            let v: Vec<String> = b
                .digest_mb_per_s
                .iter()
                .map(|(h, v)| format!("{h} {v:.0}"))
                .collect();
            v.join(", ")
        };
        writeln!(
            s,
            "| {} | {} | {} | {} | {:.0} | {:.0} | {:.3} | {:.3} | {digest} |",
            b.name,
            b.library,
            b.items,
            b.skipped,
            b.items_per_s,
            b.ceiling_items_per_s,
            b.efficiency,
            b.crypto_efficiency
        )?;
    }
    let sh = &r.shared;
    let digests: Vec<String> = sh
        .digest_ns_per_byte
        .iter()
        .map(|(h, ns)| format!("{h} {:.0} MB/s", 1e3 / ns))
        .collect();
    writeln!(
        s,
        "\nShared costs (every round, medians, same thread count): the engine's digest {}; open+read+close of a small file {:.1} µs.",
        if digests.is_empty() { "-".into() } else { digests.join(", ") },
        sh.open_read_ns / 1e3
    )?;
    for b in &r.backends {
        for u in &b.link_unexpected {
            writeln!(s, "- {} link-time phase UNEXPECTED {u}", b.name)?;
        }
        if b.link_unsupported > 0 {
            writeln!(
                s,
                "- {}: {} link-time commands differ because it cannot verify a key its gatekeepers judged (unsupported crypto); its items that are not valid are not compared",
                b.name, b.link_unsupported
            )?;
        }
    }
    let a = &r.agreement;
    if a.disagreeing == 0 {
        writeln!(
            s,
            "\n## Agreement\n\n{} items compared across {} backends: every backend gives the same verdict and errno for every item it can verify.",
            a.compared,
            r.backends.len()
        )?;
        return Ok(());
    }
    writeln!(
        s,
        "\n## Disagreements ({} of {} items compared)\n",
        a.disagreeing, a.compared
    )?;
    for d in a.items.iter().take(DISAGREEMENTS_SHOWN) {
        let v: Vec<String> = d
            .verdicts
            .iter()
            .map(|v| format!("{} {}", v.backend, v.verdict))
            .collect();
        writeln!(s, "- {}: {}", d.path, v.join(" · "))?;
    }
    if a.disagreeing > a.items.len().min(DISAGREEMENTS_SHOWN) {
        writeln!(
            s,
            "- … {} more",
            a.disagreeing - a.items.len().min(DISAGREEMENTS_SHOWN)
        )?;
    }
    Ok(())
}

impl Markdown {
    /// A capacity plan, as `trustbench capacity` prints it: the answers first, then the
    /// models with their fit quality, the measured points and the assumptions.
    pub fn render_capacity(&self, r: &CapacityReport) -> String {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = capacity_into(&mut s, r);
        s
    }
}

impl Exporter<CapacityReport> for Markdown {
    fn export(&self, report: &CapacityReport) -> Result<Vec<u8>> {
        Ok(self.render_capacity(report).into_bytes())
    }
}

fn capacity_into(s: &mut String, r: &CapacityReport) -> std::fmt::Result {
    let t = &r.testbed;
    write!(
        s,
        "# trustbench capacity\n\nSweep recorded on testbed {} ({}: {}, {} logical CPUs, kernel {}, backend {} ({})); corpus {} ({} items{}); from {}.\n\n",
        t.id,
        t.host,
        t.cpu_model,
        t.logical_cpus,
        t.kernel,
        t.backend,
        t.backend_crate,
        r.corpus.dir,
        r.corpus.items,
        r.corpus
            .spec_hash
            .as_ref()
            .map_or(String::new(), |h| format!(", spec hash {h}")),
        r.sources.join(", ")
    )?;
    for c in [&r.engine, &r.primitive] {
        if let Some(w) = &c.weak {
            writeln!(s, "> **{}**: {w}\n", curve_name(c))?;
        }
    }
    let em = r.engine.model();
    let bound = r.bound.model.kind.name();
    s.push_str("## Answers\n\n");
    for p in &r.projections {
        writeln!(
            s,
            "- **{} items on {} take {}** (engine, {}: {:.0} items/s); perfect-engine bound ({bound}): {} ({:.0} items/s){}",
            r.items,
            cores_text(p.cores),
            duration(p.engine_seconds),
            em.kind.name(),
            p.engine_items_per_s,
            duration(p.primitive_seconds),
            p.primitive_items_per_s,
            if p.extrapolated {
                format!(" — extrapolated past the {} measured threads", r.engine.max_threads())
            } else {
                String::new()
            }
        )?;
    }
    if let Some(d) = &r.deadline {
        let answer = |reach: &Reach| {
            match *reach {
            Reach::Met { cores, rate } => format!("{} ({rate:.0} items/s)", cores_text(cores)),
            Reach::Unreachable {
                peak_cores: Some(n),
                peak_rate,
            } => format!("unreachable: the model peaks at {peak_rate:.0} items/s at {n:.1} cores"),
            Reach::Unreachable {
                peak_cores: None,
                peak_rate,
            } => format!(
                "unreachable: the model approaches {peak_rate:.0} items/s as cores grow and never reaches it"
            ),
        }
        };
        writeln!(
            s,
            "- **Deadline {} for {} items ({:.0} items/s): engine: {}**; perfect-engine bound: {}",
            duration(d.deadline_s),
            r.items,
            d.required_items_per_s,
            answer(&d.engine),
            answer(&d.primitive)
        )?;
    }
    s.push_str("\n## Models\n\nFitted by least squares on the measured rates (Levenberg–Marquardt from a linearised start; σ, κ kept in [0, 1]). The answers use the chosen model of each curve.\n\n| curve | model | λ (1 thread) | σ (contention) | κ (coherency) | points | thread counts | R² | RMSE | limit |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for c in [&r.engine, &r.primitive] {
        for f in &c.fits {
            let m = &f.model;
            let limit = match m.limit() {
                Limit::Peak { cores, rate } => format!("peaks at {rate:.0}/s at {cores:.1} cores"),
                Limit::Asymptote { rate } => format!("approaches {rate:.0}/s"),
                Limit::Unbounded => "linear".into(),
            };
            writeln!(
                s,
                "| {} | {}{} | {:.1} | {:.5} | {:.6} | {} | {} | {} | {:.2} | {limit} |",
                curve_name(c),
                m.kind.name(),
                if m.kind == c.chosen { " (chosen)" } else { "" },
                m.lambda,
                m.sigma,
                m.kappa,
                f.points,
                f.distinct_threads,
                // + 0.0: a −0.0 prints as 0.
                f.r_squared
                    .map_or("-".into(), |v| format!("{:.4}", v + 0.0)),
                f.rmse
            )?;
        }
    }
    let b = &r.bound.model;
    writeln!(
        s,
        "| perfect-engine bound | {} (primitive's σ, κ) | {:.1} | {:.5} | {:.6} | {} | - | - | - | λ fitted to the ceiling's items/s |",
        b.kind.name(),
        b.lambda,
        b.sigma,
        b.kappa,
        r.bound.ceiling.len()
    )?;
    s.push('\n');
    for kind in [r.engine.chosen, r.primitive.chosen] {
        if !s.contains(kind.formula()) {
            writeln!(s, "- {}: {}", kind.name(), kind.formula())?;
        }
    }
    s.push_str("\n## Measured\n\n| threads | engine items/s | primitive verifications/s | ceiling items/s |\n|---|---|---|---|\n");
    let rows = r.engine.points.iter().zip(&r.primitive.points);
    for ((e, p), c) in rows.zip(&r.bound.ceiling) {
        writeln!(
            s,
            "| {} | {:.0} | {:.0} | {:.0} |",
            e.threads, e.rate, p.rate, c.rate
        )?;
    }
    s.push_str("\n## Assumptions\n\n");
    for a in &r.assumptions {
        writeln!(s, "- {a}")?;
    }
    Ok(())
}

fn curve_name(c: &Curve) -> &'static str {
    if c.unit == "items/s" {
        "engine"
    } else {
        "primitive"
    }
}

/// "1 core", "4 cores".
fn cores_text(n: u64) -> String {
    format!("{n} core{}", if n == 1 { "" } else { "s" })
}

/// Seconds in the unit a reader wants: ms below a second, minutes and hours above.
fn duration(seconds: f64) -> String {
    match seconds {
        s if s < 1.0 => format!("{:.1} ms", s * 1e3),
        s if s < 120.0 => format!("{s:.2} s"),
        s if s < 7200.0 => format!("{:.1} min", s / 60.0),
        s => format!("{:.1} h", s / 3600.0),
    }
}

impl Format for Markdown {
    fn name(&self) -> &'static str {
        "markdown"
    }

    fn extension(&self) -> &'static str {
        "md"
    }
}

impl Exporter for Markdown {
    fn export(&self, report: &RunReport) -> Result<Vec<u8>> {
        Ok(self.render(report).into_bytes())
    }
}

fn render_into(s: &mut String, r: &RunReport) -> std::fmt::Result {
    let m = &r.machine;
    write!(
        s,
        "# trustbench run\n\n{} ({} logical CPUs; {}), kernel {}, backend {} ({}) on {} thread(s); corpus {} ({} items, {:.1} MB); IMA rule {}, IMA source {}\n\n",
        m.cpu_model,
        m.logical_cpus,
        if m.cpu_flags.is_empty() { "-".into() } else { m.cpu_flags.join(" ") },
        m.kernel,
        r.versions.backend,
        r.versions.backend_crate,
        r.threads,
        r.corpus.dir,
        r.corpus.items,
        r.corpus.bytes as f64 / 1e6,
        r.ima_rule,
        r.ima_source
    )?;
    write!(
        s,
        "testbed {} (host {}); {} measured repeat(s) after {} warm-up round(s), the ceiling measured in bursts between slices of each pass; figures are medians, [95% bootstrap interval]\n\n",
        r.testbed.id, r.testbed.host, r.repeats, r.warmup
    )?;
    if let Some(p) = &r.partial {
        write!(
            s,
            "**PARTIAL RUN**: {p}. The passes below cover only what ran.\n\n"
        )?;
    }
    if let Some(l) = &r.link {
        write!(
            s,
            "## Link-time phase\n\n{} commands, {} ok, errors {:?}; {} gatekeeper checks in {:.3} s = {:.0} checks/s; signature share (efficiency vs raw verify) {:.2}\n\n",
            l.commands, l.ok, l.errors, l.checks, l.check_seconds, l.checks_per_s, l.efficiency
        )?;
        for u in &l.unexpected {
            writeln!(s, "- UNEXPECTED {u}")?;
        }
        for u in &l.unsupported {
            writeln!(s, "- unsupported by the backend: {u}")?;
        }
    }
    ceiling(s, r)?;
    s.push_str("## Passes\n\n| pass | items/s | MB/s | ceiling items/s | efficiency | crypto-only eff. | p50 | p99 | max | cache hit |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for p in &r.passes {
        let e = &p.estimates;
        writeln!(
            s,
            "| {} | {} | {:.1} | {:.0} | {} | {} | {:.1} µs | {:.1} µs | {:.1} µs | {:.1}% |",
            p.name,
            with_interval(p.items_per_s, &e.items_per_s, 0),
            p.mb_per_s,
            p.ceiling_items_per_s,
            with_interval(p.efficiency, &e.efficiency, 3),
            with_interval(p.crypto_efficiency, &e.crypto_efficiency, 3),
            p.latency.p50_ns as f64 / 1e3,
            p.latency.p99_ns as f64 / 1e3,
            p.latency.max_ns as f64 / 1e3,
            p.cache.hit_rate * 100.0
        )?;
    }
    if let Some(w) = r.warm_over_cold {
        write!(s, "\nwarm ÷ cold throughput: {w:.1}×\n")?;
    }
    if let Some(cold) = r.passes.first() {
        let total: u64 = cold.stage_ns.values().sum();
        write!(
            s,
            "\n## Where the time went ({} pass, all threads)\n\n| stage | share | ms |\n|---|---|---|\n",
            cold.name
        )?;
        for (k, v) in &cold.stage_ns {
            writeln!(
                s,
                "| {k} | {:.1}% | {:.1} |",
                *v as f64 * 100.0 / total.max(1) as f64,
                *v as f64 / 1e6
            )?;
        }
        s.push_str("\nslowest items:\n");
        for sl in &cold.slowest {
            writeln!(
                s,
                "- {} ({:.1} ms, {} bytes)",
                sl.path,
                sl.ns as f64 / 1e6,
                sl.bytes
            )?;
        }
        s.push_str("\n## Verdicts\n\n| verdict | items |\n|---|---|\n");
        for (k, v) in &cold.verdicts {
            writeln!(s, "| {k} | {v} |")?;
        }
    }
    if !r.scaling.is_empty() {
        s.push_str("\n## Scaling (cold, cache off)\n\n| threads | items/s | speed-up | raw verify/s | raw speed-up | scaling efficiency |\n|---|---|---|---|---|---|\n");
        let base = &r.scaling[0];
        for st in &r.scaling {
            let su = st.items_per_s / base.items_per_s.max(1e-9);
            let rs = st.raw_verify_per_s / base.raw_verify_per_s.max(1e-9);
            writeln!(
                s,
                "| {} | {:.0} | {:.2}× | {:.0} | {:.2}× | {:.3} |",
                st.threads,
                st.items_per_s,
                su,
                st.raw_verify_per_s,
                rs,
                su / rs.max(1e-9)
            )?;
        }
    }
    if let Some(mc) = &r.manifest {
        // The count, not the length of the (capped) list.
        write!(
            s,
            "\n## Manifest\n\n{} items checked, {} mismatches\n",
            mc.checked,
            mc.count()
        )?;
        if mc.backend_unsupported > 0 {
            writeln!(
                s,
                "\n{} items not compared: backend {} lacks a verification they need \
                 (unsupported)\n",
                mc.backend_unsupported, r.versions.backend
            )?;
        }
        if mc.not_predicted > 0 {
            writeln!(
                s,
                "\n{} items not compared: the manifest gives Linux 7.2's verdicts for them, \
                 and this run follows kernel profile {} (run with --kernel-profile 7.2)\n",
                mc.not_predicted, r.kernel_profile
            )?;
        }
        for m in mc.mismatches.iter().take(MISMATCHES_SHOWN) {
            writeln!(s, "- {m}")?;
        }
    }
    Ok(())
}

/// The ceiling table.
fn ceiling(s: &mut String, r: &RunReport) -> std::fmt::Result {
    let c = &r.ceiling;
    s.push_str("## Ceiling (raw primitives, measured now, same thread count)\n\n| primitive | cost |\n|---|---|\n");
    for (class, ns) in &c.verify_ns {
        let by = c.verify_by.get(class).map_or(String::new(), |b| {
            format!(", by {b}: the machine's fastest")
        });
        writeln!(
            s,
            "| verify {class} | {:.1} µs ({:.0}/s per thread{by}) |",
            ns / 1e3,
            1e9 / ns
        )?;
    }
    for (h, ns) in &c.digest_ns_per_byte {
        writeln!(s, "| digest {h} | {:.0} MB/s per thread |", 1e3 / ns)?;
    }
    if c.decompress_ns_per_byte > 0.0 {
        writeln!(
            s,
            "| decompress modules | {:.0} MB/s compressed per thread (ratio {:.1}) |",
            1e3 / c.decompress_ns_per_byte,
            c.decompress_ratio
        )?;
    }
    writeln!(
        s,
        "| mmap threshold (measured) | {} |",
        match c.mmap_threshold {
            None => "- (not measured: no --mmap, or no large files)".to_string(),
            Some(u64::MAX) => "never (read always wins)".to_string(),
            Some(t) => format!("{} KiB", t / 1024),
        }
    )?;
    write!(
        s,
        "| open+read+close small file | {:.1} µs |\n| read bandwidth (large) | {} |\n\n",
        c.open_read_ns / 1e3,
        if c.read_ns_per_byte > 0.0 {
            format!("{:.0} MB/s", 1e3 / c.read_ns_per_byte)
        } else {
            "-".into()
        }
    )
}

/// A sweep: one comparison table, a row per combination and pass, with each row's
/// throughput relative to the first combination's same pass.
impl Exporter<crate::measure::sweep::SweepReport> for Markdown {
    fn export(&self, r: &crate::measure::sweep::SweepReport) -> Result<Vec<u8>> {
        Ok(render_sweep(r).into_bytes())
    }
}

impl Markdown {
    /// The sweep's comparison table, as printed.
    pub fn render_sweep(&self, r: &crate::measure::sweep::SweepReport) -> String {
        render_sweep(r)
    }
}

fn render_sweep(r: &crate::measure::sweep::SweepReport) -> String {
    let mut s = String::new();
    let first = r.runs.first();
    let _ = write!(
        s,
        "# trustbench sweep\n\n{} combination(s), {} round(s) round robin (each round one measured repeat of every combination, the first rotating); medians [95% bootstrap interval]; each pass's efficiency against the ceiling measured while it ran{}\n\n|",
        r.runs.len(),
        r.rounds,
        first.map_or(String::new(), |f| format!("; testbed {}", f.report.testbed.id))
    );
    for a in &r.axes {
        let _ = write!(s, " {} |", a.name);
    }
    s.push_str(" pass | items/s | vs first | efficiency | crypto-only eff. | p99 | manifest mismatches |\n|");
    for _ in 0..r.axes.len() + 7 {
        s.push_str("---|");
    }
    s.push('\n');
    for run in &r.runs {
        for p in &run.report.passes {
            s.push('|');
            for (_, v) in &run.point {
                let _ = write!(s, " {v} |");
            }
            let base = first
                .and_then(|f| f.report.passes.iter().find(|q| q.name == p.name))
                .map_or(0.0, |q| q.items_per_s);
            let e = &p.estimates;
            let _ = writeln!(
                s,
                " {} | {} | {:.2}× | {} | {} | {:.1} µs | {} |",
                p.name,
                with_interval(p.items_per_s, &e.items_per_s, 0),
                p.items_per_s / base.max(1e-9),
                with_interval(p.efficiency, &e.efficiency, 3),
                with_interval(p.crypto_efficiency, &e.crypto_efficiency, 3),
                p.latency.p99_ns as f64 / 1e3,
                run.report.manifest.as_ref().map_or(0, |m| m.count())
            );
        }
    }
    s
}

impl Exporter<crate::measure::pq::PqReport> for Markdown {
    fn export(&self, report: &crate::measure::pq::PqReport) -> Result<Vec<u8>> {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = pq_into(&mut s, report);
        Ok(s.into_bytes())
    }
}

/// A Markdown table from a header and rows.
fn md_table(s: &mut String, head: &[String], rows: &[Vec<String>]) -> std::fmt::Result {
    writeln!(s, "| {} |", head.join(" | "))?;
    writeln!(s, "|{}", "---|".repeat(head.len()))?;
    for r in rows {
        writeln!(s, "| {} |", r.join(" | "))?;
    }
    Ok(())
}

fn pq_into(s: &mut String, r: &crate::measure::pq::PqReport) -> std::fmt::Result {
    let t = &r.testbed;
    write!(
        s,
        "# trustbench pq: the cost of moving to ML-DSA\n\nKernel profile {}; testbed {} ({}, {} logical CPUs, kernel {}, backend {} ({})); {} rounds, interleaved; intervals are 95% bootstrap intervals of the median.\n\n## Figures\n\n",
        r.kernel_profile,
        t.id,
        t.cpu_model,
        t.logical_cpus,
        t.kernel,
        t.backend,
        t.backend_crate,
        r.rounds
    )?;
    let (head, rows) = r.figures_table();
    md_table(s, &head, &rows)?;
    write!(s, "\n## Relative to {}\n\n", r.baseline)?;
    let (head, rows) = r.ratios_table();
    md_table(s, &head, &rows)?;
    if r.findings() > 0 {
        writeln!(
            s,
            "\n**{} items were not valid or disagreed with the manifest: these figures are not the cost of verifying good signatures.**",
            r.findings()
        )?;
    }
    writeln!(s, "\n## What was measured\n")?;
    for n in &r.notes {
        writeln!(s, "- {n}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::report::tests::shard_report;
    use crate::measure::report::MISMATCH_LIST_CAP;

    #[test]
    fn the_manifest_line_gives_the_count_not_the_listed_mismatches() {
        let r = shard_report(5000, MISMATCH_LIST_CAP, 2500);
        let md = Markdown.render(&r);
        assert!(
            md.contains("\n## Manifest\n\n5000 items checked, 2500 mismatches\n"),
            "{md}"
        );
        let named = md.lines().filter(|l| l.starts_with("- files/")).count();
        assert_eq!(named, MISMATCHES_SHOWN);
        assert_eq!(Markdown.export(&r).unwrap(), md.into_bytes());
    }
}
