//! Markdown: the human report (`trustbench run` prints it; `--markdown` writes it).

use super::{Exporter, Format};
use crate::error::Result;
use crate::measure::report::RunReport;
use std::fmt::Write;

/// The human report.
pub struct Markdown;

/// How many manifest mismatches the report names (the JSON keeps up to 1000).
const MISMATCHES_SHOWN: usize = 50;

impl Markdown {
    pub fn render(&self, r: &RunReport) -> String {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = render_into(&mut s, r);
        s
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
    if let Some(l) = &r.link {
        write!(
            s,
            "## Link-time phase\n\n{} commands, {} ok, errors {:?}; {} gatekeeper checks in {:.3} s = {:.0} checks/s; signature share (efficiency vs raw verify) {:.2}\n\n",
            l.commands, l.ok, l.errors, l.checks, l.check_seconds, l.checks_per_s, l.efficiency
        )?;
        for u in &l.unexpected {
            writeln!(s, "- UNEXPECTED {u}")?;
        }
    }
    ceiling(s, r)?;
    s.push_str("## Passes\n\n| pass | items/s | MB/s | ceiling items/s | efficiency | crypto-only eff. | p50 | p99 | max | cache hit |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for p in &r.passes {
        writeln!(
            s,
            "| {} | {:.0} | {:.1} | {:.0} | {:.3} | {:.3} | {:.1} µs | {:.1} µs | {:.1} µs | {:.1}% |",
            p.name,
            p.items_per_s,
            p.mb_per_s,
            p.ceiling_items_per_s,
            p.efficiency,
            p.crypto_efficiency,
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
        writeln!(
            s,
            "| verify {class} | {:.1} µs ({:.0}/s per thread) |",
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
            None => "- (no large files)".to_string(),
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
