//! `merge --verdicts-only`: the verdict side of run reports from any machines, joined, with
//! no timing figure at all.
//!
//! Why a report of its own: verdict and manifest counts add up across machines whatever
//! the hardware, but a throughput, ceiling, efficiency, latency or stage time adds up only
//! between runs on one testbed ([`Testbed`]: host, CPU, kernel, crypto library).
//! [`RunReport::merge`] refuses reports from different testbeds; this report is what can
//! honestly be said of them: every count, the testbeds they ran on, and a `timings` field
//! saying why there are no timings. A reader of the JSON cannot take a zero for a
//! measurement, because no timing field exists (schema `trustbench.verdicts/1`,
//! docs/results-schema.md). Verdict reports merge again (a fleet merged per site, then the
//! sites), since [`VerdictsReport::merge`] takes them as well as run reports.

use super::report::{CorpusInfo, Joinable, ManifestCheck, RunReport, Testbed, MISMATCH_LIST_CAP};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The schema of a verdicts-only report.
pub const VERDICTS_SCHEMA: &str = "trustbench.verdicts/1";

/// Verdict, manifest and cache counts of reports from any testbeds, without timings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VerdictsReport {
    pub schema: String,
    /// Why the report has no timing figure (`not comparable: …`), for a reader who expects
    /// one.
    pub timings: String,
    /// How many run reports were joined (through earlier verdict merges too).
    pub reports: usize,
    /// Every distinct testbed the reports ran on, first seen first, with the number of run
    /// reports from each.
    pub testbeds: Vec<TestbedCount>,
    /// The distinct commits the binaries were built from (`null` ones left out).
    pub git_commits: Vec<String>,
    /// The corpus: `items` and `bytes` add up over the reports.
    pub corpus: CorpusInfo,
    pub ima_rule: String,
    /// The kernel whose rules the verdicts follow.
    #[serde(default)]
    pub kernel_profile: crate::kernel_profile::KernelProfile,
    pub ima_source: String,
    /// One entry per pass, in the order the runs made them.
    pub passes: Vec<PassVerdicts>,
    pub manifest: Option<ManifestCheck>,
    /// Multi-buffer results the single-op backend contradicted, over all reports.
    pub mb_disagreements: u64,
}

/// One testbed of a verdicts-only report.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TestbedCount {
    pub testbed: Testbed,
    pub reports: usize,
}

/// One pass's counts.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PassVerdicts {
    pub name: String,
    pub items: usize,
    pub bytes: u64,
    /// `valid`, `unsigned:ERRNO`, `invalid:ERRNO` → items, as in run reports.
    pub verdicts: BTreeMap<String, u64>,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub cache_stale: u64,
}

impl VerdictsReport {
    /// The counts of one run report.
    pub fn of(r: &RunReport) -> Result<VerdictsReport> {
        if r.schema != super::report::SCHEMA {
            return Err(Error::Report {
                message: format!(
                    "cannot merge schema '{}' (want {} or {VERDICTS_SCHEMA})",
                    r.schema,
                    super::report::SCHEMA
                ),
            });
        }
        Ok(VerdictsReport {
            schema: VERDICTS_SCHEMA.into(),
            timings: not_comparable(1),
            reports: 1,
            testbeds: vec![TestbedCount {
                testbed: r.testbed.clone(),
                reports: 1,
            }],
            git_commits: r.git_commit.iter().cloned().collect(),
            corpus: r.corpus.clone(),
            ima_rule: r.ima_rule.clone(),
            kernel_profile: r.kernel_profile,
            ima_source: r.ima_source.clone(),
            passes: r
                .passes
                .iter()
                .map(|p| PassVerdicts {
                    name: p.name.clone(),
                    items: p.items,
                    bytes: p.bytes,
                    verdicts: p.verdicts.clone(),
                    cache_hits: p.cache.hits,
                    cache_misses: p.cache.misses,
                    cache_stale: p.cache.stale,
                })
                .collect(),
            manifest: r.manifest.clone(),
            mb_disagreements: r.mb_disagreements,
        })
    }

    /// Joins verdict reports of shards of one corpus: every count adds up, the testbeds are
    /// listed; the mismatch list stays capped as in run reports. The reports must share the
    /// corpus (spec hash), the IMA settings and the passes.
    pub fn merge(reports: Vec<VerdictsReport>) -> Result<VerdictsReport> {
        fn joinable(v: &VerdictsReport) -> Joinable<'_> {
            Joinable {
                spec_hash: &v.corpus.spec_hash,
                kernel_profile: v.kernel_profile,
                ima_rule: &v.ima_rule,
                ima_source: &v.ima_source,
                passes: v.passes.iter().map(|p| p.name.as_str()).collect(),
            }
        }
        let mut it = reports.into_iter();
        let mut out = it.next().ok_or_else(|| Error::usage("nothing to merge"))?;
        check_schema(&out)?;
        for r in it {
            check_schema(&r)?;
            joinable(&out).check(&joinable(&r))?;
            out.reports += r.reports;
            for t in r.testbeds {
                match out
                    .testbeds
                    .iter_mut()
                    .find(|x| x.testbed.id == t.testbed.id)
                {
                    Some(x) => x.reports += t.reports,
                    None => out.testbeds.push(t),
                }
            }
            for c in r.git_commits {
                if !out.git_commits.contains(&c) {
                    out.git_commits.push(c);
                }
            }
            out.corpus.items += r.corpus.items;
            out.corpus.bytes += r.corpus.bytes;
            for (p, q) in out.passes.iter_mut().zip(r.passes) {
                p.items += q.items;
                p.bytes += q.bytes;
                for (k, v) in q.verdicts {
                    *p.verdicts.entry(k).or_default() += v;
                }
                p.cache_hits += q.cache_hits;
                p.cache_misses += q.cache_misses;
                p.cache_stale += q.cache_stale;
            }
            out.manifest = match (out.manifest.take(), r.manifest) {
                (None, None) => None,
                (a, b) => {
                    let mut mc = a.unwrap_or_default();
                    if let Some(m) = b {
                        mc.mismatch_count = mc.count() + m.count();
                        mc.checked += m.checked;
                        mc.backend_unsupported += m.backend_unsupported;
                        let room = MISMATCH_LIST_CAP.saturating_sub(mc.mismatches.len());
                        mc.mismatches.extend(m.mismatches.into_iter().take(room));
                    }
                    Some(mc)
                }
            };
            out.mb_disagreements += r.mb_disagreements;
        }
        out.timings = not_comparable(out.testbeds.len());
        Ok(out)
    }

    /// Joins run reports and verdict reports (any mix) into one verdict report.
    pub fn merge_any(reports: Vec<AnyReport>) -> Result<VerdictsReport> {
        let v = reports
            .into_iter()
            .map(|r| match r {
                AnyReport::Run(r) => VerdictsReport::of(&r),
                AnyReport::Verdicts(v) => Ok(*v),
            })
            .collect::<Result<Vec<_>>>()?;
        VerdictsReport::merge(v)
    }

    /// Whether any item disagreed with its manifest, or the multi-buffer backend with the
    /// single-op one (`merge` exits 1).
    pub fn has_findings(&self) -> bool {
        self.manifest.as_ref().is_some_and(|m| m.count() > 0) || self.mb_disagreements > 0
    }
}

/// A report read back for merging: a run report or a verdicts-only one.
#[derive(Clone, Debug)]
pub enum AnyReport {
    Run(Box<RunReport>),
    Verdicts(Box<VerdictsReport>),
}

fn check_schema(r: &VerdictsReport) -> Result<()> {
    if r.schema != VERDICTS_SCHEMA {
        return Err(Error::Report {
            message: format!(
                "cannot merge schema '{}' (want {VERDICTS_SCHEMA})",
                r.schema
            ),
        });
    }
    Ok(())
}

/// The `timings` field: why there are none.
fn not_comparable(testbeds: usize) -> String {
    let from = if testbeds == 1 {
        "one testbed, merged with --verdicts-only".to_string()
    } else {
        format!("{testbeds} testbeds")
    };
    format!(
        "not comparable: verdict counts only, from {from}; throughput, ceilings, efficiency, \
         latency and stage times add up only between runs on one testbed"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::report::tests::shard_report;

    /// `shard_report` on another host: another testbed.
    fn elsewhere(items: usize, mismatches: usize, host: &str) -> RunReport {
        let mut r = shard_report(items, mismatches, mismatches);
        r.testbed = Testbed::new(host.into(), &r.machine, &r.versions);
        r
    }

    #[test]
    fn counts_add_up_across_testbeds_and_testbeds_are_listed() {
        let a = shard_report(3000, 7, 7);
        let b = elsewhere(5000, 3, "node-b");
        let c = elsewhere(10, 0, "node-b");
        let runs = [a.clone(), b.clone(), c.clone()];
        let m = VerdictsReport::merge_any(
            runs.iter()
                .map(|r| AnyReport::Run(Box::new(r.clone())))
                .collect(),
        )
        .unwrap();
        assert_eq!(m.schema, VERDICTS_SCHEMA);
        assert_eq!(m.reports, 3);
        assert_eq!(m.corpus.items, 8010);
        assert_eq!(m.corpus.bytes, 8_010_000);
        let p = &m.passes[0];
        assert_eq!(p.items, 8010);
        assert_eq!(p.verdicts["valid"], 2993 + 4997 + 10);
        assert_eq!(p.verdicts["invalid:EKEYREJECTED"], 10);
        assert_eq!(p.cache_misses, 8010);
        let mc = m.manifest.as_ref().unwrap();
        assert_eq!(
            (mc.checked, mc.count(), mc.mismatches.len()),
            (8010, 10, 10)
        );
        assert!(m.has_findings());
        let ids: Vec<(&str, usize)> = m
            .testbeds
            .iter()
            .map(|t| (t.testbed.id.as_str(), t.reports))
            .collect();
        assert_eq!(
            ids,
            [(a.testbed.id.as_str(), 1), (b.testbed.id.as_str(), 2)]
        );
        assert!(m.timings.starts_with("not comparable"), "{}", m.timings);
        assert!(m.timings.contains("2 testbeds"), "{}", m.timings);
        // No timing field exists in the JSON (the `timings` text aside).
        let mut json = serde_json::to_value(&m).unwrap();
        json.as_object_mut().unwrap().remove("timings");
        let text = json.to_string();
        for field in [
            "items_per_s",
            "seconds",
            "efficiency",
            "latency",
            "ceiling",
            "_ns",
        ] {
            assert!(!text.contains(field), "{field} in {text}");
        }
        // Merging merged reports again gives the same counts (associative).
        let ab = VerdictsReport::merge_any(vec![
            AnyReport::Run(Box::new(a)),
            AnyReport::Run(Box::new(b)),
        ])
        .unwrap();
        let again = VerdictsReport::merge_any(vec![
            AnyReport::Verdicts(Box::new(ab)),
            AnyReport::Run(Box::new(c)),
        ])
        .unwrap();
        assert_eq!(again.passes, m.passes);
        assert_eq!(again.testbeds, m.testbeds);
        assert_eq!(again.manifest.unwrap().count(), 10);
    }

    #[test]
    fn refuses_what_cannot_be_joined() {
        let r = |x: RunReport| VerdictsReport::of(&x).unwrap();
        assert!(matches!(
            VerdictsReport::merge(vec![]),
            Err(Error::Usage(_))
        ));
        let mut other = shard_report(10, 0, 0);
        other.corpus.spec_hash = Some("4567".into());
        let e = VerdictsReport::merge(vec![r(shard_report(10, 0, 0)), r(other)]).unwrap_err();
        assert!(e.to_string().contains("different corpora"), "{e}");
        let mut hashed = shard_report(10, 0, 0);
        hashed.ima_rule = "hash".into();
        let e = VerdictsReport::merge(vec![r(shard_report(10, 0, 0)), r(hashed)]).unwrap_err();
        assert!(e.to_string().contains("different IMA settings"), "{e}");
        let mut warm = shard_report(10, 0, 0);
        warm.passes[0].name = "warm".into();
        let e = VerdictsReport::merge(vec![r(shard_report(10, 0, 0)), r(warm)]).unwrap_err();
        assert!(e.to_string().contains("different passes"), "{e}");
        let mut old = shard_report(10, 0, 0);
        old.schema = "trustbench.run/1".into();
        let e = VerdictsReport::of(&old).unwrap_err();
        assert!(e.to_string().contains("trustbench.run/1"), "{e}");
    }
}
