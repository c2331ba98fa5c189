//! Run results: a versioned JSON schema plus CSV and Markdown exporters.
//!
//! Schema `trustbench.run/1` (documented field by field in docs/results-schema.md): machine
//! and versions, corpus identity, the link-time phase, the ceiling measured in the same run,
//! one entry per pass (throughput, efficiency against the ceiling, per-stage time, latency,
//! cache, verdicts), manifest agreement and the scaling curve.

use super::calibrate::Ceiling;
use super::link::LinkPhase;
use crate::engine::{Item, PassResult};
use crate::timing::Stage;
use crate::trust::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const SCHEMA: &str = "trustbench.run/1";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    pub cpu_model: String,
    pub cpu_flags: Vec<String>,
    pub logical_cpus: usize,
    pub kernel: String,
}

impl Machine {
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| {
            cpuinfo
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        };
        let interesting = [
            "sha_ni",
            "avx2",
            "avx512f",
            "aes",
            "adx",
            "bmi2",
            "vaes",
            "vpclmulqdq",
        ];
        let flags = field("flags");
        Machine {
            cpu_model: field("model name"),
            cpu_flags: interesting
                .iter()
                .filter(|f| flags.split_whitespace().any(|x| x == **f))
                .map(|f| f.to_string())
                .collect(),
            logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Versions {
    pub trustbench: String,
    pub backend: String,
    pub backend_crate: String,
}

impl Versions {
    pub fn detect(backend: &str) -> Versions {
        let lock = include_str!("../../Cargo.lock");
        let v = lock
            .split("[[package]]")
            .find(|p| p.contains("name = \"aws-lc-rs\""))
            .and_then(|p| p.lines().find(|l| l.starts_with("version")))
            .and_then(|l| l.split('"').nth(1))
            .unwrap_or("?");
        Versions {
            trustbench: env!("CARGO_PKG_VERSION").into(),
            backend: backend.into(),
            backend_crate: format!("aws-lc-rs {v}"),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Latency {
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub max_ns: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Slow {
    pub path: String,
    pub ns: u64,
    pub bytes: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CacheReport {
    pub hits: u64,
    pub misses: u64,
    pub stale: u64,
    pub hit_rate: f64,
}

/// One pass over the corpus.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PassReport {
    pub name: String,
    pub threads: usize,
    pub items: usize,
    pub bytes: u64,
    pub seconds: f64,
    pub items_per_s: f64,
    pub mb_per_s: f64,
    /// Items/s the raw primitives allow for these items at this thread count.
    pub ceiling_items_per_s: f64,
    pub efficiency: f64,
    /// The same without the I/O share of the ceiling.
    pub crypto_ceiling_items_per_s: f64,
    pub crypto_efficiency: f64,
    /// Nanoseconds per stage summed over items (sums to the items' total time).
    pub stage_ns: BTreeMap<String, u64>,
    pub latency: Latency,
    pub slowest: Vec<Slow>,
    pub cache: CacheReport,
    /// `valid`, `unsigned`, `invalid:ERRNO` → count.
    pub verdicts: BTreeMap<String, u64>,
}

/// Latency histogram with bounded memory: 16 sub-buckets per power of two (relative error
/// under 7%), so a pass over a million items keeps 1 KiB of latency state, not a vector.
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: vec![0; 64 * 16],
            total: 0,
            max: 0,
        }
    }
}

impl LatencyHistogram {
    fn bucket(ns: u64) -> usize {
        if ns < 16 {
            return ns as usize;
        }
        let lz = 63 - ns.leading_zeros() as usize;
        lz * 16 + ((ns >> (lz - 4)) & 15) as usize
    }

    fn lower_bound(b: usize) -> u64 {
        if b < 16 {
            return b as u64;
        }
        let (lz, sub) = (b / 16, (b % 16) as u64);
        (1u64 << lz) | (sub << (lz - 4))
    }

    pub fn record(&mut self, ns: u64) {
        self.counts[Self::bucket(ns)] += 1;
        self.total += 1;
        self.max = self.max.max(ns);
    }

    /// The value below which a share `p` of the samples falls (bucket lower bound).
    pub fn quantile(&self, p: f64) -> u64 {
        let want = ((self.total as f64 * p).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                return Self::lower_bound(b).min(self.max);
            }
        }
        self.max
    }
}

/// Folds a pass, chunk by chunk, into a [`PassReport`] with memory independent of the
/// number of items: sums, a latency histogram, the five slowest items and verdict counts.
pub struct PassAccumulator {
    name: String,
    threads: usize,
    items: usize,
    bytes: u64,
    wall: std::time::Duration,
    stage_ns: [u64; crate::timing::STAGES],
    latency: LatencyHistogram,
    slowest: Vec<Slow>,
    cache: crate::engine::cache::CacheCounters,
    verdicts: BTreeMap<String, u64>,
    full_cost_ns: f64,
    crypto_cost_ns: f64,
    /// Verification class → items (for the scaling curve's dominant class).
    pub classes: BTreeMap<String, u64>,
}

impl PassAccumulator {
    pub fn new(name: &str, threads: usize) -> PassAccumulator {
        PassAccumulator {
            name: name.into(),
            threads,
            items: 0,
            bytes: 0,
            wall: Default::default(),
            stage_ns: [0; crate::timing::STAGES],
            latency: LatencyHistogram::default(),
            slowest: Vec::new(),
            cache: Default::default(),
            verdicts: BTreeMap::new(),
            full_cost_ns: 0.0,
            crypto_cost_ns: 0.0,
            classes: BTreeMap::new(),
        }
    }

    /// Adds one chunk of a pass (`r.outcomes[i]` belongs to `items[i]`).
    pub fn add(&mut self, store: &Store, items: &[Item], r: &PassResult, ceiling: &Ceiling) {
        self.wall += r.wall;
        self.cache.hits += r.cache.hits;
        self.cache.misses += r.cache.misses;
        self.cache.stale += r.cache.stale;
        for (item, o) in items.iter().zip(&r.outcomes) {
            self.items += 1;
            self.bytes += o.bytes;
            for (acc, ns) in self.stage_ns.iter_mut().zip(o.stage_ns) {
                *acc += ns;
            }
            self.latency.record(o.total_ns);
            if self.slowest.len() < 5 || o.total_ns > self.slowest.last().map_or(0, |s| s.ns) {
                self.slowest.push(Slow {
                    path: item.path.display().to_string(),
                    ns: o.total_ns,
                    bytes: o.bytes,
                });
                self.slowest.sort_by_key(|s| std::cmp::Reverse(s.ns));
                self.slowest.truncate(5);
            }
            let k = match o.verdict.errno {
                None => "valid".to_string(),
                Some(e) => format!("{}:{e}", o.verdict.class.name()),
            };
            *self.verdicts.entry(k).or_insert(0) += 1;
            self.full_cost_ns += ceiling.item_cost_ns(store, item, o, o.bytes, false);
            self.crypto_cost_ns += ceiling.item_cost_ns(store, item, o, o.bytes, true);
            if let (Some(sg), Some(d)) = (o.verdict.signer, o.verdict.digest) {
                if let Some(c) = super::calibrate::class_of(store, sg, d.algo()) {
                    *self.classes.entry(c).or_default() += 1;
                }
            }
        }
    }

    /// The verification class most items used.
    pub fn dominant_class(&self) -> Option<String> {
        self.classes.iter().max_by_key(|c| c.1).map(|c| c.0.clone())
    }

    /// The report. The ceiling is meaningful for passes that did the work (cold); a
    /// cached pass is compared with the same ceiling and exceeds 1.
    pub fn finish(self) -> PassReport {
        let n = self.items;
        let secs = self.wall.as_secs_f64().max(1e-9);
        let threads = self.threads as f64;
        let ceil = |cost: f64| {
            if cost > 0.0 {
                threads * n as f64 / (cost / 1e9)
            } else {
                0.0
            }
        };
        let items_per_s = n as f64 / secs;
        let (c_full, c_crypto) = (ceil(self.full_cost_ns), ceil(self.crypto_cost_ns));
        let total = self.cache.hits + self.cache.misses;
        PassReport {
            name: self.name,
            threads: self.threads,
            items: n,
            bytes: self.bytes,
            seconds: secs,
            items_per_s,
            mb_per_s: self.bytes as f64 / 1e6 / secs,
            ceiling_items_per_s: c_full,
            efficiency: if c_full > 0.0 {
                items_per_s / c_full
            } else {
                0.0
            },
            crypto_ceiling_items_per_s: c_crypto,
            crypto_efficiency: if c_crypto > 0.0 {
                items_per_s / c_crypto
            } else {
                0.0
            },
            stage_ns: Stage::ALL
                .iter()
                .map(|s| (s.name().to_string(), self.stage_ns[*s as usize]))
                .collect(),
            latency: Latency {
                p50_ns: self.latency.quantile(0.5),
                p99_ns: self.latency.quantile(0.99),
                max_ns: self.latency.max,
            },
            slowest: self.slowest,
            cache: CacheReport {
                hits: self.cache.hits,
                misses: self.cache.misses,
                stale: self.cache.stale,
                hit_rate: if total > 0 {
                    self.cache.hits as f64 / total as f64
                } else {
                    0.0
                },
            },
            verdicts: self.verdicts,
        }
    }
}

impl PassReport {
    /// Summarises a whole pass held in memory.
    pub fn build(
        name: &str,
        store: &Store,
        items: &[Item],
        r: &PassResult,
        ceiling: &Ceiling,
    ) -> PassReport {
        let mut acc = PassAccumulator::new(name, r.threads);
        acc.add(store, items, r, ceiling);
        acc.finish()
    }
}

/// Manifest agreement.
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
pub struct ManifestCheck {
    pub checked: usize,
    /// The first mismatches, named (at most 1000 are listed).
    pub mismatches: Vec<String>,
    /// All mismatches, listed or not.
    #[serde(default)]
    pub mismatch_count: usize,
}

/// One thread count of the scaling curve (cold, cache off).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScalingStep {
    pub threads: usize,
    pub items_per_s: f64,
    /// Raw verify operations/s of the dominant class at this thread count.
    pub raw_verify_per_s: f64,
    pub efficiency: f64,
}

/// A whole run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunReport {
    pub schema: String,
    pub created_unix: u64,
    pub machine: Machine,
    pub versions: Versions,
    pub git_commit: Option<String>,
    pub corpus: CorpusInfo,
    pub threads: usize,
    pub link: Option<LinkPhase>,
    pub ceiling: Ceiling,
    pub passes: Vec<PassReport>,
    pub manifest: Option<ManifestCheck>,
    pub scaling: Vec<ScalingStep>,
    /// warm items/s ÷ cold items/s, when both passes ran.
    pub warm_over_cold: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CorpusInfo {
    pub dir: String,
    pub spec_hash: Option<String>,
    pub items: usize,
    pub bytes: u64,
}

/// The commit of the source tree, if it is a git checkout.
pub fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl RunReport {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// One row per pass.
    pub fn to_csv(&self) -> String {
        let mut s = String::from(
            "pass,threads,items,bytes,seconds,items_per_s,mb_per_s,ceiling_items_per_s,efficiency,crypto_efficiency,p50_ns,p99_ns,max_ns,cache_hit_rate\n",
        );
        for p in &self.passes {
            s.push_str(&format!(
                "{},{},{},{},{:.6},{:.1},{:.2},{:.1},{:.4},{:.4},{},{},{},{:.4}\n",
                p.name,
                p.threads,
                p.items,
                p.bytes,
                p.seconds,
                p.items_per_s,
                p.mb_per_s,
                p.ceiling_items_per_s,
                p.efficiency,
                p.crypto_efficiency,
                p.latency.p50_ns,
                p.latency.p99_ns,
                p.latency.max_ns,
                p.cache.hit_rate
            ));
        }
        s
    }

    /// The human report (also the Markdown export).
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let m = &self.machine;
        s.push_str(&format!(
            "# trustbench run\n\n{} ({} logical CPUs; {}), kernel {}, {} on {} thread(s); corpus {} ({} items, {:.1} MB)\n\n",
            m.cpu_model,
            m.logical_cpus,
            if m.cpu_flags.is_empty() { "-".into() } else { m.cpu_flags.join(" ") },
            m.kernel,
            self.versions.backend_crate,
            self.threads,
            self.corpus.dir,
            self.corpus.items,
            self.corpus.bytes as f64 / 1e6
        ));
        if let Some(l) = &self.link {
            s.push_str(&format!(
                "## Link-time phase\n\n{} commands, {} ok, errors {:?}; {} gatekeeper checks in {:.3} s = {:.0} checks/s; signature share (efficiency vs raw verify) {:.2}\n\n",
                l.commands, l.ok, l.errors, l.checks, l.check_seconds, l.checks_per_s, l.efficiency
            ));
            for u in &l.unexpected {
                s.push_str(&format!("- UNEXPECTED {u}\n"));
            }
        }
        s.push_str("## Ceiling (raw primitives, measured now, same thread count)\n\n| primitive | cost |\n|---|---|\n");
        for (c, ns) in &self.ceiling.verify_ns {
            s.push_str(&format!(
                "| verify {c} | {:.1} µs ({:.0}/s per thread) |\n",
                ns / 1e3,
                1e9 / ns
            ));
        }
        for (h, ns) in &self.ceiling.digest_ns_per_byte {
            s.push_str(&format!(
                "| digest {h} | {:.0} MB/s per thread |\n",
                1e3 / ns
            ));
        }
        if self.ceiling.decompress_ns_per_byte > 0.0 {
            s.push_str(&format!(
                "| decompress modules | {:.0} MB/s compressed per thread (ratio {:.1}) |\n",
                1e3 / self.ceiling.decompress_ns_per_byte,
                self.ceiling.decompress_ratio
            ));
        }
        s.push_str(&format!(
            "| mmap threshold (measured) | {} |\n",
            match self.ceiling.mmap_threshold {
                None => "- (no large files)".to_string(),
                Some(u64::MAX) => "never (read always wins)".to_string(),
                Some(t) => format!("{} KiB", t / 1024),
            }
        ));
        s.push_str(&format!(
            "| open+read+close small file | {:.1} µs |\n| read bandwidth (large) | {} |\n\n",
            self.ceiling.open_read_ns / 1e3,
            if self.ceiling.read_ns_per_byte > 0.0 {
                format!("{:.0} MB/s", 1e3 / self.ceiling.read_ns_per_byte)
            } else {
                "-".into()
            }
        ));
        s.push_str("## Passes\n\n| pass | items/s | MB/s | ceiling items/s | efficiency | crypto-only eff. | p50 | p99 | max | cache hit |\n|---|---|---|---|---|---|---|---|---|---|\n");
        for p in &self.passes {
            s.push_str(&format!(
                "| {} | {:.0} | {:.1} | {:.0} | {:.3} | {:.3} | {:.1} µs | {:.1} µs | {:.1} µs | {:.1}% |\n",
                p.name, p.items_per_s, p.mb_per_s, p.ceiling_items_per_s, p.efficiency, p.crypto_efficiency,
                p.latency.p50_ns as f64 / 1e3, p.latency.p99_ns as f64 / 1e3, p.latency.max_ns as f64 / 1e3,
                p.cache.hit_rate * 100.0
            ));
        }
        if let Some(w) = self.warm_over_cold {
            s.push_str(&format!("\nwarm ÷ cold throughput: {w:.1}×\n"));
        }
        if let Some(cold) = self.passes.first() {
            let total: u64 = cold.stage_ns.values().sum();
            s.push_str(&format!("\n## Where the time went ({} pass, all threads)\n\n| stage | share | ms |\n|---|---|---|\n", cold.name));
            for (k, v) in &cold.stage_ns {
                s.push_str(&format!(
                    "| {k} | {:.1}% | {:.1} |\n",
                    *v as f64 * 100.0 / total.max(1) as f64,
                    *v as f64 / 1e6
                ));
            }
            s.push_str("\nslowest items:\n");
            for sl in &cold.slowest {
                s.push_str(&format!(
                    "- {} ({:.1} ms, {} bytes)\n",
                    sl.path,
                    sl.ns as f64 / 1e6,
                    sl.bytes
                ));
            }
            s.push_str("\n## Verdicts\n\n| verdict | items |\n|---|---|\n");
            for (k, v) in &cold.verdicts {
                s.push_str(&format!("| {k} | {v} |\n"));
            }
        }
        if !self.scaling.is_empty() {
            s.push_str("\n## Scaling (cold, cache off)\n\n| threads | items/s | speed-up | raw verify/s | raw speed-up | scaling efficiency |\n|---|---|---|---|---|---|\n");
            let base = &self.scaling[0];
            for st in &self.scaling {
                let su = st.items_per_s / base.items_per_s.max(1e-9);
                let rs = st.raw_verify_per_s / base.raw_verify_per_s.max(1e-9);
                s.push_str(&format!(
                    "| {} | {:.0} | {:.2}× | {:.0} | {:.2}× | {:.3} |\n",
                    st.threads,
                    st.items_per_s,
                    su,
                    st.raw_verify_per_s,
                    rs,
                    su / rs.max(1e-9)
                ));
            }
        }
        if let Some(mc) = &self.manifest {
            s.push_str(&format!(
                "\n## Manifest\n\n{} items checked, {} mismatches\n",
                mc.checked,
                mc.mismatches.len()
            ));
            for m in mc.mismatches.iter().take(50) {
                s.push_str(&format!("- {m}\n"));
            }
        }
        s
    }
}

impl RunReport {
    /// Joins the reports of shards of one corpus (`run --shard K/N` on several machines or
    /// CI jobs running at the same time): counts, bytes, stage times, verdicts and cache
    /// counters add up; throughput and ceilings add up (shards ran concurrently), so
    /// efficiency is Σ achieved ÷ Σ ceiling; seconds is the longest shard; latency
    /// percentiles are the worst shard's (an upper bound); the slowest items are merged.
    pub fn merge(mut reports: Vec<RunReport>) -> Result<RunReport, String> {
        let first = reports.first().cloned().ok_or("nothing to merge")?;
        for r in &reports {
            if r.schema != SCHEMA {
                return Err(format!(
                    "cannot merge schema '{}' (want {SCHEMA})",
                    r.schema
                ));
            }
            if r.corpus.spec_hash != first.corpus.spec_hash {
                return Err("reports come from different corpora (spec hash differs)".into());
            }
        }
        let mut out = first.clone();
        out.corpus.items = reports.iter().map(|r| r.corpus.items).sum();
        out.corpus.bytes = reports.iter().map(|r| r.corpus.bytes).sum();
        out.scaling.clear();
        out.passes.clear();
        for (i, p0) in first.passes.iter().enumerate() {
            let shards: Vec<&PassReport> = reports.iter().filter_map(|r| r.passes.get(i)).collect();
            let mut p = p0.clone();
            p.items = shards.iter().map(|s| s.items).sum();
            p.bytes = shards.iter().map(|s| s.bytes).sum();
            p.seconds = shards.iter().map(|s| s.seconds).fold(0.0, f64::max);
            p.items_per_s = shards.iter().map(|s| s.items_per_s).sum();
            p.mb_per_s = shards.iter().map(|s| s.mb_per_s).sum();
            p.ceiling_items_per_s = shards.iter().map(|s| s.ceiling_items_per_s).sum();
            p.crypto_ceiling_items_per_s =
                shards.iter().map(|s| s.crypto_ceiling_items_per_s).sum();
            p.efficiency = p.items_per_s / p.ceiling_items_per_s.max(1e-9);
            p.crypto_efficiency = p.items_per_s / p.crypto_ceiling_items_per_s.max(1e-9);
            p.stage_ns.clear();
            p.verdicts.clear();
            for s in &shards {
                for (k, v) in &s.stage_ns {
                    *p.stage_ns.entry(k.clone()).or_default() += v;
                }
                for (k, v) in &s.verdicts {
                    *p.verdicts.entry(k.clone()).or_default() += v;
                }
            }
            p.latency = Latency {
                p50_ns: shards.iter().map(|s| s.latency.p50_ns).max().unwrap_or(0),
                p99_ns: shards.iter().map(|s| s.latency.p99_ns).max().unwrap_or(0),
                max_ns: shards.iter().map(|s| s.latency.max_ns).max().unwrap_or(0),
            };
            let mut slow: Vec<Slow> = shards.iter().flat_map(|s| s.slowest.clone()).collect();
            slow.sort_by_key(|s| std::cmp::Reverse(s.ns));
            slow.truncate(5);
            p.slowest = slow;
            let (h, m, st) = shards.iter().fold((0, 0, 0), |a, s| {
                (
                    a.0 + s.cache.hits,
                    a.1 + s.cache.misses,
                    a.2 + s.cache.stale,
                )
            });
            p.cache = CacheReport {
                hits: h,
                misses: m,
                stale: st,
                hit_rate: if h + m > 0 {
                    h as f64 / (h + m) as f64
                } else {
                    0.0
                },
            };
            out.passes.push(p);
        }
        out.manifest = if reports.iter().any(|r| r.manifest.is_some()) {
            let mut mc = ManifestCheck::default();
            for r in reports.iter_mut() {
                if let Some(m) = r.manifest.take() {
                    mc.checked += m.checked;
                    mc.mismatches.extend(m.mismatches);
                }
            }
            Some(mc)
        } else {
            None
        };
        out.warm_over_cold = match (out.passes.first(), out.passes.get(1)) {
            (Some(c), Some(w)) => Some(w.items_per_s / c.items_per_s.max(1e-9)),
            _ => None,
        };
        Ok(out)
    }
}

/// Which shard an item belongs to: a stable hash of its path relative to the corpus root,
/// so every machine splits the same corpus the same way.
pub fn shard_of(relative_path: &str, shards: u32) -> u32 {
    let d = crate::hash::HashAlgo::Sha256
        .digest(relative_path.as_bytes())
        .expect("sha256");
    let b = d.as_bytes();
    (u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) % shards as u64) as u32
}
