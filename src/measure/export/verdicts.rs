//! The formats of a verdicts-only merge ([`VerdictsReport`], `merge --verdicts-only`):
//! JSON (schema `trustbench.verdicts/1`), CSV (one row per pass and verdict), Markdown
//! (which says, before any number, that timings are not comparable). Reading back accepts
//! run reports and verdict reports alike, so merges compose.

use super::{Csv, Exporter, Json, Markdown};
use crate::error::{Error, Result};
use crate::measure::report::{RunReport, SCHEMA};
use crate::measure::verdicts::{AnyReport, VerdictsReport, VERDICTS_SCHEMA};
use std::fmt::Write;
use std::path::Path;

/// How many manifest mismatches the Markdown names (the JSON keeps up to 1000).
const MISMATCHES_SHOWN: usize = 50;

impl Json {
    /// Reads back a run report or a verdicts-only report, told apart by its `schema`.
    pub fn read_any(&self, path: &Path) -> Result<AnyReport> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let bad = |e: serde_json::Error, what: &str| Error::Input {
            path: path.to_path_buf(),
            message: format!("not a {what}: {e}"),
        };
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e, "report"))?;
        if v.get("schema").and_then(|s| s.as_str()) == Some(VERDICTS_SCHEMA) {
            serde_json::from_value(v)
                .map(|v| AnyReport::Verdicts(Box::new(v)))
                .map_err(|e| bad(e, "verdicts report"))
        } else {
            serde_json::from_value::<RunReport>(v)
                .map(|r| AnyReport::Run(Box::new(r)))
                .map_err(|e| bad(e, &format!("run report ({SCHEMA} or {VERDICTS_SCHEMA})")))
        }
    }
}

impl Exporter<VerdictsReport> for Json {
    fn export(&self, report: &VerdictsReport) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(report).map_err(|e| Error::Report {
            message: e.to_string(),
        })
    }
}

impl Exporter<VerdictsReport> for Csv {
    /// `pass,items,verdict,count`: one row per pass and verdict (no timing columns).
    fn export(&self, r: &VerdictsReport) -> Result<Vec<u8>> {
        let mut s = String::from("pass,items,verdict,count\n");
        for p in &r.passes {
            for (v, n) in &p.verdicts {
                let _ = writeln!(s, "{},{},{v},{n}", p.name, p.items);
            }
        }
        Ok(s.into_bytes())
    }
}

impl Markdown {
    /// A verdicts-only merge, as `trustbench merge --verdicts-only` prints it.
    pub fn render_verdicts(&self, r: &VerdictsReport) -> String {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = verdicts_into(&mut s, r);
        s
    }
}

impl Exporter<VerdictsReport> for Markdown {
    fn export(&self, report: &VerdictsReport) -> Result<Vec<u8>> {
        Ok(self.render_verdicts(report).into_bytes())
    }
}

fn verdicts_into(s: &mut String, r: &VerdictsReport) -> std::fmt::Result {
    write!(
        s,
        "# trustbench merge (verdicts only)\n\n{} reports from {} testbed(s); corpus {} ({} items, {:.1} MB); IMA rule {}, IMA source {}\n\n",
        r.reports,
        r.testbeds.len(),
        r.corpus.dir,
        r.corpus.items,
        r.corpus.bytes as f64 / 1e6,
        r.ima_rule,
        r.ima_source
    )?;
    writeln!(
        s,
        "**Timings: not comparable.** These counts come from {} testbed(s), so this report \
         gives no throughput, ceiling, efficiency, latency or stage time; merge the reports \
         of one testbed without `--verdicts-only` for those.\n",
        r.testbeds.len()
    )?;
    s.push_str("## Testbeds\n\n| testbed | host | CPU | logical CPUs | kernel | backend | reports |\n|---|---|---|---|---|---|---|\n");
    for t in &r.testbeds {
        let b = &t.testbed;
        writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} ({}) | {} |",
            b.id,
            b.host,
            b.cpu_model,
            b.logical_cpus,
            b.kernel,
            b.backend,
            b.backend_crate,
            t.reports
        )?;
    }
    for p in &r.passes {
        write!(
            s,
            "\n## Verdicts: {} pass ({} items; cache {} hits, {} misses, {} stale)\n\n| verdict | items |\n|---|---|\n",
            p.name, p.items, p.cache_hits, p.cache_misses, p.cache_stale
        )?;
        for (k, v) in &p.verdicts {
            writeln!(s, "| {k} | {v} |")?;
        }
    }
    if let Some(mc) = &r.manifest {
        write!(
            s,
            "\n## Manifest\n\n{} items checked, {} mismatches\n",
            mc.checked,
            mc.count()
        )?;
        if mc.backend_unsupported > 0 {
            writeln!(
                s,
                "\n{} items not compared: the backend lacks a verification they need \
                 (unsupported)\n",
                mc.backend_unsupported
            )?;
        }
        for m in mc.mismatches.iter().take(MISMATCHES_SHOWN) {
            writeln!(s, "- {m}")?;
        }
    }
    if r.mb_disagreements > 0 {
        writeln!(
            s,
            "\n{} multi-buffer results contradicted by the single-op backend",
            r.mb_disagreements
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::export::write;
    use crate::measure::report::tests::shard_report;
    use crate::measure::report::Testbed;

    fn two_testbeds() -> VerdictsReport {
        let a = shard_report(30, 2, 2);
        let mut b = shard_report(50, 0, 0);
        b.testbed = Testbed::new("node-b".into(), &b.machine, &b.versions);
        VerdictsReport::merge_any(vec![
            AnyReport::Run(Box::new(a)),
            AnyReport::Run(Box::new(b)),
        ])
        .unwrap()
    }

    #[test]
    fn markdown_says_timings_are_not_comparable_and_gives_counts() {
        let r = two_testbeds();
        let md = Markdown.render_verdicts(&r);
        assert!(md.contains("**Timings: not comparable.**"), "{md}");
        assert!(md.contains("2 reports from 2 testbed(s)"), "{md}");
        assert!(md.contains("| node-b |"), "{md}");
        assert!(md.contains("| valid | 78 |"), "{md}");
        assert!(md.contains("80 items checked, 2 mismatches"), "{md}");
        assert!(!md.contains("items/s"), "{md}");
        let csv = String::from_utf8(Csv.export(&r).unwrap()).unwrap();
        assert_eq!(
            csv,
            "pass,items,verdict,count\ncold,80,invalid:EKEYREJECTED,2\ncold,80,valid,78\n"
        );
    }

    #[test]
    fn reads_back_both_kinds() {
        let tmp = tempfile::tempdir().unwrap();
        let v = two_testbeds();
        let vp = tmp.path().join("v.json");
        write(&Json, &v, &vp).unwrap();
        match Json.read_any(&vp).unwrap() {
            AnyReport::Verdicts(back) => {
                assert_eq!(back.passes, v.passes);
                assert_eq!(back.testbeds, v.testbeds);
            }
            other => panic!("{other:?}"),
        }
        let rp = tmp.path().join("r.json");
        write(&Json, &shard_report(5, 0, 0), &rp).unwrap();
        assert!(matches!(Json.read_any(&rp).unwrap(), AnyReport::Run(_)));
        std::fs::write(&rp, "{\"schema\": \"trustbench.verdicts/1\"}").unwrap();
        let e = Json.read_any(&rp).unwrap_err();
        assert!(e.to_string().contains("not a verdicts report"), "{e}");
        std::fs::write(&rp, "{}").unwrap();
        let e = Json.read_any(&rp).unwrap_err();
        assert!(e.to_string().contains("not a run report"), "{e}");
    }
}
