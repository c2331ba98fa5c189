//! Run results: the versioned report (`export/` renders it as JSON, CSV and Markdown), the
//! per-pass accumulator and `merge` for shard reports.
//!
//! Schema `trustbench.run/1` (documented field by field in docs/results-schema.md): machine
//! and versions, corpus identity, the link-time phase, the ceiling measured in the same run,
//! one entry per pass (throughput, efficiency against the ceiling, per-stage time, latency,
//! cache, verdicts), manifest agreement and the scaling curve.

use super::calibrate::{Ceiling, VerifyClass, Work};
use super::link::LinkPhase;
use crate::engine::{Item, Outcome, PassResult};
use crate::errno::Errno;
use crate::error::{Error, Result};
use crate::hash::HashAlgo;
use crate::kernel_profile::KernelProfile;
use crate::timing::Stage;
use crate::trust::{Serial, Store};
use crate::verify::VerdictClass;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Version 2: repeated passes with estimates, a testbed id, the interleaved ceiling and the
/// warm pass's own ceiling (a warm `efficiency` of version 1 meant something else).
pub const SCHEMA: &str = "trustbench.run/2";

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
            logical_cpus: crate::engine::worker_threads(None),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
        }
    }
}

/// What timing figures depend on besides the code under test: the host, its CPU, kernel
/// and the crypto library. Raw times are comparable only between runs on one testbed
/// (`compare` refuses others, `merge` refuses to add their timings); ratios measured within
/// a run (efficiency) travel between testbeds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Testbed {
    /// The first 16 hex digits of SHA-256 over the fields below, one per line.
    pub id: String,
    pub host: String,
    pub cpu_model: String,
    pub logical_cpus: usize,
    pub kernel: String,
    pub backend: String,
    pub backend_crate: String,
}

impl Testbed {
    /// This host's testbed for `machine` and `versions`.
    pub fn detect(machine: &Machine, versions: &Versions) -> Testbed {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap_or_default()
            .trim()
            .to_string();
        Testbed::new(host, machine, versions)
    }

    /// The testbed of `host` with `machine` and `versions`, its id computed.
    pub fn new(host: String, machine: &Machine, versions: &Versions) -> Testbed {
        let mut t = Testbed {
            id: String::new(),
            host,
            cpu_model: machine.cpu_model.clone(),
            logical_cpus: machine.logical_cpus,
            kernel: machine.kernel.clone(),
            backend: versions.backend.clone(),
            backend_crate: versions.backend_crate.clone(),
        };
        let text = format!(
            "{}\n{}\n{}\n{}\n{}\n{}\n",
            t.host, t.cpu_model, t.logical_cpus, t.kernel, t.backend, t.backend_crate
        );
        t.id = crate::hash::HashAlgo::Sha256
            .digest(text.as_bytes())
            .map(|d| d.hex()[..16].to_string())
            .unwrap_or_default();
        t
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Versions {
    pub trustbench: String,
    pub backend: String,
    pub backend_crate: String,
}

impl Versions {
    /// This build's version and the crypto backend a run used, with its library.
    pub fn detect(backend: &dyn crate::crypto::Backend) -> Versions {
        Versions {
            trustbench: env!("CARGO_PKG_VERSION").into(),
            backend: backend.name().into(),
            backend_crate: backend.library(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Latency {
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub max_ns: u64,
    /// The distribution: the non-empty buckets of the pass's [`LatencyHistogram`] as
    /// `[lower_bound_ns, items]`, ascending (the HTML report draws it). Reports written
    /// before it existed read it as empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub histogram: Vec<[u64; 2]>,
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
    /// Measured repeats of this pass (`run --repeat`); the figures above are the median
    /// repeat's throughput and efficiencies, the counts those of one repeat.
    #[serde(default = "one")]
    pub repeats: usize,
    /// Laps of the pass per repeat: a pass too short to time well (a warm pass, answered
    /// from the cache) runs over the corpus again until it lasts long enough; throughput
    /// and efficiency count every lap, the counts, stages and latency are the first lap's,
    /// and `seconds` is one lap's share.
    #[serde(default = "one")]
    pub laps: usize,
    /// Per-repeat samples, medians and 95% bootstrap intervals of the headline figures.
    #[serde(default)]
    pub estimates: PassEstimates,
}

fn one() -> usize {
    1
}

/// The headline figures of a pass over its repeats ([`super::stats::Estimate`]).
#[derive(Clone, Debug, Serialize, Deserialize, Default, PartialEq)]
pub struct PassEstimates {
    pub items_per_s: super::stats::Estimate,
    pub efficiency: super::stats::Estimate,
    pub crypto_efficiency: super::stats::Estimate,
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

    /// The non-empty buckets as `[lower_bound_ns, count]`, ascending ([`Latency::histogram`]).
    pub fn buckets(&self) -> Vec<[u64; 2]> {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(b, c)| [Self::lower_bound(b), *c])
            .collect()
    }
}

/// How many of a pass's slowest items a report names.
const SLOWEST: usize = 5;

/// Folds a pass, chunk by chunk, into a [`PassReport`] with memory independent of the
/// number of items: sums, a latency histogram, the five slowest items and verdict counts.
///
/// Adding an item allocates nothing: verdicts are counted by their typed value, signers are
/// mapped to their verification class once per (key, hash), and the slowest items are kept
/// as positions in the chunk until the chunk is done; text is made when the pass finishes.
pub struct PassAccumulator {
    name: String,
    threads: usize,
    items: usize,
    bytes: u64,
    wall: std::time::Duration,
    stage_ns: [u64; crate::timing::STAGES],
    latency: LatencyHistogram,
    /// The slowest items of the chunks added so far, slowest first (ties: earliest first).
    slowest: Vec<Slow>,
    cache: crate::engine::cache::CacheCounters,
    /// `None` (valid) or (class, errno) → items; a handful of distinct values per pass.
    verdicts: Vec<(Option<(VerdictClass, Errno)>, u64)>,
    /// What the items asked of the machine, priced by the ceiling when the pass is over.
    work: Work,
    /// Items timed: the counted ones, and those of further laps of the pass
    /// ([`PassAccumulator::add_lap`]), whose time and work count but not their outcomes.
    timed: usize,
    /// Bytes of the timed items.
    timed_bytes: u64,
    /// (signer, hash) → its verification class, an index into `classes` (None: the key is
    /// not an asymmetric key of the store).
    class_index: HashMap<(Serial, Option<HashAlgo>), Option<usize>>,
    /// Verification class → items (for the scaling curve's dominant class).
    classes: Vec<(VerifyClass, u64)>,
}

/// The `SLOWEST` largest (nanoseconds, position) of a chunk, largest first; among equal
/// times the earlier position first. Fixed size: no allocation.
#[derive(Default)]
struct Top {
    len: usize,
    entries: [(u64, usize); SLOWEST],
}

impl Top {
    fn offer(&mut self, ns: u64, at: usize) {
        if self.len == SLOWEST && ns <= self.entries[SLOWEST - 1].0 {
            return;
        }
        let mut i = if self.len < SLOWEST {
            self.len += 1;
            self.len - 1
        } else {
            SLOWEST - 1
        };
        while i > 0 && self.entries[i - 1].0 < ns {
            self.entries[i] = self.entries[i - 1];
            i -= 1;
        }
        self.entries[i] = (ns, at);
    }

    fn as_slice(&self) -> &[(u64, usize)] {
        &self.entries[..self.len]
    }
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
            verdicts: Vec::new(),
            work: Work::default(),
            timed: 0,
            timed_bytes: 0,
            class_index: HashMap::new(),
            classes: Vec::new(),
        }
    }

    /// Adds one chunk of a pass (`r.outcomes[i]` belongs to `items[i]`); items an
    /// interrupted pass did not reach are left out.
    pub fn add(&mut self, store: &Store, items: &[Item], r: &PassResult) {
        self.add_where(store, items, r, |o| o.verified);
    }

    /// [`PassAccumulator::add`] counting only the items whose outcome `keep` accepts (a
    /// backend comparison leaves out the items a backend could not verify). The chunk's
    /// wall time is charged in proportion: wall × (Σ time of the kept items ÷ Σ time of
    /// all), so the rate is the kept items' own, not diluted by the others' time.
    pub fn add_where(
        &mut self,
        store: &Store,
        items: &[Item],
        r: &PassResult,
        keep: impl Fn(&Outcome) -> bool,
    ) {
        let (mut kept_ns, mut all_ns, mut dropped) = (0u64, 0u64, false);
        for o in &r.outcomes {
            all_ns += o.total_ns;
            if keep(o) {
                kept_ns += o.total_ns;
            } else {
                dropped = true;
            }
        }
        self.wall += if dropped {
            r.wall.mul_f64(kept_ns as f64 / all_ns.max(1) as f64)
        } else {
            r.wall
        };
        self.cache.hits += r.cache.hits;
        self.cache.misses += r.cache.misses;
        self.cache.stale += r.cache.stale;
        let mut top = Top::default();
        for (at, (item, o)) in items.iter().zip(&r.outcomes).enumerate() {
            if !keep(o) {
                continue;
            }
            self.items += 1;
            self.bytes += o.bytes;
            self.timed += 1;
            self.timed_bytes += o.bytes;
            for (acc, ns) in self.stage_ns.iter_mut().zip(o.stage_ns) {
                *acc += ns;
            }
            self.latency.record(o.total_ns);
            top.offer(o.total_ns, at);
            let verdict = o.verdict.errno.map(|e| (o.verdict.class, e));
            match self.verdicts.iter_mut().find(|(v, _)| *v == verdict) {
                Some((_, n)) => *n += 1,
                None => self.verdicts.push((verdict, 1)),
            }
            let class = o.verdict.signer.and_then(|signer| {
                self.class_of(store, signer, o.verdict.digest.map(|d| d.algo()))
            });
            let name = class.map(|c| self.classes[c].0.as_str());
            self.work.add(item, o, name);
            if let Some(c) = class {
                self.classes[c].1 += 1;
            }
        }
        // The chunk's slowest, slowest first, join the pass's: an item enters when it is
        // slower than the last one kept, after every item as slow as itself.
        for &(ns, at) in top.as_slice() {
            if self.slowest.len() == SLOWEST && ns <= self.slowest[SLOWEST - 1].ns {
                continue;
            }
            let pos = self
                .slowest
                .iter()
                .position(|s| s.ns < ns)
                .unwrap_or(self.slowest.len());
            self.slowest.insert(
                pos,
                Slow {
                    path: items[at].path.display().to_string(),
                    ns,
                    bytes: r.outcomes[at].bytes,
                },
            );
            self.slowest.truncate(SLOWEST);
        }
    }

    /// The verification class of `signer` with `hash`, resolved once per pair.
    fn class_of(&mut self, store: &Store, signer: Serial, hash: Option<HashAlgo>) -> Option<usize> {
        if let Some(c) = self.class_index.get(&(signer, hash)) {
            return *c;
        }
        let c = super::calibrate::class_of(store, signer, hash).map(|name| {
            match self.classes.iter().position(|(n, _)| *n == name) {
                Some(i) => i,
                None => {
                    self.classes.push((name, 0));
                    self.classes.len() - 1
                }
            }
        });
        self.class_index.insert((signer, hash), c);
        c
    }

    /// Verification class → items so far.
    pub fn classes(&self) -> BTreeMap<VerifyClass, u64> {
        self.classes
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| (c.clone(), *n))
            .collect()
    }

    /// The verification class most items used.
    pub fn dominant_class(&self) -> Option<String> {
        self.classes().into_iter().max_by_key(|c| c.1).map(|c| c.0)
    }

    /// Adds one chunk of a further lap of the pass: its time and work count towards the
    /// throughput and its ceiling, its outcomes not (the first lap's are the pass's). A pass
    /// too short to time well (a warm pass answered from the cache in milliseconds) runs
    /// in laps; each lap judges every item again, from the cache.
    pub fn add_lap(&mut self, store: &Store, items: &[Item], r: &PassResult) {
        self.wall += r.wall;
        for (item, o) in items.iter().zip(&r.outcomes) {
            if !o.verified {
                continue;
            }
            self.timed += 1;
            self.timed_bytes += o.bytes;
            let class = o.verdict.signer.and_then(|signer| {
                self.class_of(store, signer, o.verdict.digest.map(|d| d.algo()))
            });
            let name = class.map(|c| self.classes[c].0.as_str());
            self.work.add(item, o, name);
        }
    }

    /// Items counted so far (the first lap's).
    pub fn items(&self) -> usize {
        self.items
    }

    /// Whether every item so far was answered from the cache (a pass that can run again
    /// in laps and do the same work).
    pub fn all_cached(&self) -> bool {
        self.items > 0 && self.cache.hits == self.items as u64
    }

    /// The pass's wall time so far (its chunks' times, nothing between them).
    pub fn wall(&self) -> std::time::Duration {
        self.wall
    }

    /// What the pass so far asked of the machine.
    pub fn work(&self) -> &Work {
        &self.work
    }

    /// The report, its efficiency against `ceiling` (the one measured while the pass ran).
    /// A pass served from the cache is priced by its path lookups and table lookups, so its
    /// efficiency says how close the cache comes to what the filesystem allows.
    pub fn finish(self, ceiling: &Ceiling) -> PassReport {
        let n = self.items;
        let timed = self.timed;
        let secs = self.wall.as_secs_f64().max(1e-9);
        let threads = self.threads as f64;
        let ceil = |cost: f64| {
            if cost > 0.0 {
                threads * timed as f64 / (cost / 1e9)
            } else {
                0.0
            }
        };
        let items_per_s = timed as f64 / secs;
        let (c_full, c_crypto) = (
            ceil(ceiling.price(&self.work, false)),
            ceil(ceiling.price(&self.work, true)),
        );
        let total = self.cache.hits + self.cache.misses;
        let mut verdicts = BTreeMap::new();
        for (v, count) in &self.verdicts {
            let name = match v {
                None => "valid".to_string(),
                Some((class, errno)) => format!("{}:{errno}", class.name()),
            };
            *verdicts.entry(name).or_insert(0) += count;
        }
        PassReport {
            name: self.name,
            threads: self.threads,
            items: n,
            bytes: self.bytes,
            seconds: secs * n as f64 / timed.max(1) as f64,
            items_per_s,
            mb_per_s: self.timed_bytes as f64 / 1e6 / secs,
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
                histogram: self.latency.buckets(),
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
            verdicts,
            repeats: 1,
            laps: (timed / n.max(1)).max(1),
            estimates: PassEstimates::default(),
        }
    }
}

impl PassReport {
    /// One report for the measured repeats of a pass: the repeat with the median
    /// throughput stands for the pass (its time, counts, stages, latency and cache), the
    /// headline throughput and efficiencies are each their own median over the repeats,
    /// and `estimates` holds every repeat's figure with a 95% bootstrap interval. `None`
    /// for no repeats.
    pub fn over_repeats(mut runs: Vec<PassReport>) -> Option<PassReport> {
        use super::stats::{median, Estimate};
        let of = |f: fn(&PassReport) -> f64| -> Vec<f64> { runs.iter().map(f).collect() };
        let estimates = PassEstimates {
            items_per_s: Estimate::of(&of(|p| p.items_per_s)),
            efficiency: Estimate::of(&of(|p| p.efficiency)),
            crypto_efficiency: Estimate::of(&of(|p| p.crypto_efficiency)),
        };
        let m = median(&estimates.items_per_s.samples);
        let at = runs
            .iter()
            .enumerate()
            .min_by(|a, b| {
                (a.1.items_per_s - m)
                    .abs()
                    .total_cmp(&(b.1.items_per_s - m).abs())
            })
            .map_or(0, |(i, _)| i);
        let n = runs.len();
        if n == 0 {
            return None;
        }
        let mut p = runs.swap_remove(at);
        p.items_per_s = estimates.items_per_s.median;
        p.efficiency = estimates.efficiency.median;
        p.crypto_efficiency = estimates.crypto_efficiency.median;
        p.repeats = n;
        p.estimates = estimates;
        Some(p)
    }

    /// Summarises a whole pass held in memory.
    pub fn build(
        name: &str,
        store: &Store,
        items: &[Item],
        r: &PassResult,
        ceiling: &Ceiling,
    ) -> PassReport {
        let mut acc = PassAccumulator::new(name, r.threads);
        acc.add(store, items, r);
        acc.finish(ceiling)
    }
}

/// How many manifest mismatches a report names (all are counted).
pub const MISMATCH_LIST_CAP: usize = 1000;

/// Manifest agreement.
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
pub struct ManifestCheck {
    pub checked: usize,
    /// The first mismatches, named (at most [`MISMATCH_LIST_CAP`] are listed).
    pub mismatches: Vec<String>,
    /// All mismatches, listed or not.
    #[serde(default)]
    pub mismatch_count: usize,
    /// Items not compared because the run's crypto backend could not do a verification
    /// they need ([`crate::verify::Verdict::backend_unsupported`]: `--backend kernel` on
    /// ECDSA items): their verdict is the kernel's answer to missing crypto, not the
    /// backend's, so it is neither an agreement nor a mismatch. Counted in `checked`.
    #[serde(default)]
    pub backend_unsupported: usize,
    /// Items not compared because the manifest's verdicts are not the run's kernel
    /// profile's ([`crate::corpus::manifest::Expected::predicted_under`]: an ML-DSA corpus
    /// run under `--kernel-profile 6.18`). Counted in `checked`.
    #[serde(default)]
    pub not_predicted: usize,
}

impl ManifestCheck {
    /// All mismatches. Reports written before `mismatch_count` existed read it as 0; their
    /// list (uncapped then) is the count.
    pub fn count(&self) -> usize {
        self.mismatch_count.max(self.mismatches.len())
    }
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
    /// Where the timings were taken ([`Testbed`]).
    pub testbed: Testbed,
    pub git_commit: Option<String>,
    pub corpus: CorpusInfo,
    pub threads: usize,
    /// The IMA appraisal rule applied: `imasig` (signatures required) or `hash` (hash
    /// labels accepted, `--ima-accept-hash`). Reports written before it existed read as
    /// `imasig`, the only rule then.
    #[serde(default = "default_ima_rule")]
    pub ima_rule: String,
    /// The kernel whose rules the verdicts follow (`--kernel-profile`: `6.18`, `7.2`,
    /// `7.2+waiver`); reports written before profiles existed followed 6.18.
    #[serde(default)]
    pub kernel_profile: KernelProfile,
    /// Where IMA labels were read from: `auto`, `xattr` or `sidecar` (older reports:
    /// `auto`'s predecessor, read as `auto`).
    #[serde(default = "default_ima_source")]
    pub ima_source: String,
    pub link: Option<LinkPhase>,
    /// The run's ceiling: each figure the median of its bursts over all measured passes.
    pub ceiling: Ceiling,
    /// Measured repeats of every pass (`run --repeat`).
    #[serde(default = "one")]
    pub repeats: usize,
    /// Unmeasured rounds of the passes before them.
    #[serde(default)]
    pub warmup: usize,
    pub passes: Vec<PassReport>,
    pub manifest: Option<ManifestCheck>,
    pub scaling: Vec<ScalingStep>,
    /// warm items/s ÷ cold items/s, when both passes ran.
    pub warm_over_cold: Option<f64>,
    /// Multi-buffer results the single-op backend contradicted during the run
    /// ([`crate::crypto::mb::disagreements`]): arithmetic faults, each item's verdict an
    /// internal error rather than either answer. Anything but 0 fails the run.
    #[serde(default)]
    pub mb_disagreements: u64,
    /// Set when the run was stopped before it finished (SIGINT, SIGTERM): what stopped
    /// it, where, and how many items it had verified. The passes are those that ran, the
    /// last one possibly cut short (its figures cover the items it reached). Absent from
    /// a complete run's JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<Partial>,
}

/// How far an interrupted run got (`RunReport::partial`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Partial {
    /// The signal that stopped it (`SIGINT`, `SIGTERM`), or null when it was stopped
    /// otherwise.
    pub signal: Option<String>,
    /// The phase it was in: `link`, `calibrate`, `warm-up`, `pass NAME (repeat K of N)`,
    /// `scaling`.
    pub phase: String,
    /// Items of the corpus with a verdict from the first measured pass (the one checked
    /// against the manifest): 0 when the stop came before it.
    pub items_verified: usize,
    /// Verdicts computed in the whole run, every pass, warm-up and repeats included.
    pub verdicts: u64,
}

/// `stopped by SIGINT during pass cold (repeat 1 of 7); 1295 items verified in the first
/// pass, 1295 verdicts in all`: the one wording of every output.
impl std::fmt::Display for Partial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stopped by {} during {}; {} items verified in the first pass, {} verdicts in all",
            self.signal.as_deref().unwrap_or("a stop request"),
            self.phase,
            self.items_verified,
            self.verdicts
        )
    }
}

fn default_ima_rule() -> String {
    crate::verify::ima::ImaRule::default().name().into()
}

fn default_ima_source() -> String {
    crate::verify::ima::ImaSourceMode::default().name().into()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CorpusInfo {
    pub dir: String,
    pub spec_hash: Option<String>,
    pub items: usize,
    pub bytes: u64,
}

/// The commit the binary was built from, when it was built from a git checkout: captured
/// at build time (build.rs), because a report must name the code that produced it, not
/// whatever checkout the binary happens to run in (or no checkout at all, once installed).
pub fn git_commit() -> Option<String> {
    option_env!("TRUSTBENCH_GIT_COMMIT").map(String::from)
}

/// What two reports must share to be joined by `merge`: the corpus, the IMA settings and
/// the passes (the one check for run reports and verdicts-only merges).
pub(crate) struct Joinable<'a> {
    pub spec_hash: &'a Option<String>,
    pub kernel_profile: KernelProfile,
    pub ima_rule: &'a str,
    pub ima_source: &'a str,
    pub passes: Vec<&'a str>,
}

impl<'a> Joinable<'a> {
    fn of_run(r: &'a RunReport) -> Joinable<'a> {
        Joinable {
            spec_hash: &r.corpus.spec_hash,
            kernel_profile: r.kernel_profile,
            ima_rule: &r.ima_rule,
            ima_source: &r.ima_source,
            passes: r.passes.iter().map(|p| p.name.as_str()).collect(),
        }
    }

    /// `Ok` when `other` can be joined to `self`, else a usage error saying why.
    pub fn check(&self, other: &Joinable<'_>) -> Result<()> {
        if self.spec_hash != other.spec_hash {
            return Err(Error::usage(
                "reports come from different corpora (spec hash differs)",
            ));
        }
        if self.kernel_profile != other.kernel_profile {
            return Err(Error::usage(format!(
                "reports follow different kernels (profile {} vs {})",
                self.kernel_profile, other.kernel_profile
            )));
        }
        if (self.ima_rule, self.ima_source) != (other.ima_rule, other.ima_source) {
            return Err(Error::usage(format!(
                "reports were made under different IMA settings (rule {} source {} vs \
                 rule {} source {})",
                self.ima_rule, self.ima_source, other.ima_rule, other.ima_source
            )));
        }
        if self.passes != other.passes {
            return Err(Error::usage(format!(
                "reports ran different passes ({} vs {})",
                self.passes.join(","),
                other.passes.join(",")
            )));
        }
        Ok(())
    }
}

impl RunReport {
    /// Joins the reports of shards of one corpus (`run --shard K/N` on several machines or
    /// CI jobs running at the same time): counts, bytes, stage times, verdicts and cache
    /// counters add up; throughput and ceilings add up (shards ran concurrently), so
    /// efficiency is Σ achieved ÷ Σ ceiling; seconds is the longest shard; latency
    /// percentiles are the worst shard's (an upper bound); the slowest items are merged;
    /// manifest checks and mismatch counts add up, and the mismatch list stays capped.
    ///
    /// Timings add up only between runs on one testbed ([`Testbed`]): reports from
    /// different testbeds are refused, naming them
    /// ([`super::verdicts::VerdictsReport::merge`] joins their counts without timings).
    pub fn merge(mut reports: Vec<RunReport>) -> Result<RunReport> {
        let first = reports
            .first()
            .cloned()
            .ok_or_else(|| Error::usage("nothing to merge"))?;
        for r in &reports {
            if r.schema != SCHEMA {
                return Err(Error::Report {
                    message: format!("cannot merge schema '{}' (want {SCHEMA})", r.schema),
                });
            }
            if r.partial.is_some() {
                return Err(Error::usage(
                    "a partial (interrupted) report cannot be joined: its shard did not verify every item; run it again",
                ));
            }
            Joinable::of_run(&first).check(&Joinable::of_run(r))?;
        }
        let mut testbeds: Vec<&Testbed> = Vec::new();
        for r in &reports {
            if !testbeds.iter().any(|t| t.id == r.testbed.id) {
                testbeds.push(&r.testbed);
            }
        }
        if testbeds.len() > 1 {
            let named: Vec<String> = testbeds
                .iter()
                .map(|t| {
                    format!(
                        "{} ({}, {}, {} CPUs, kernel {}, {})",
                        t.id, t.host, t.cpu_model, t.logical_cpus, t.kernel, t.backend_crate
                    )
                })
                .collect();
            return Err(Error::usage(format!(
                "reports come from {} different testbeds, whose timings do not add up: {}; \
                 `merge --verdicts-only` joins their verdict counts without timings",
                testbeds.len(),
                named.join("; ")
            )));
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
                histogram: merge_histograms(shards.iter().map(|s| &s.latency.histogram)),
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
                    mc.mismatch_count += m.count();
                    mc.backend_unsupported += m.backend_unsupported;
                    mc.not_predicted += m.not_predicted;
                    let room = MISMATCH_LIST_CAP.saturating_sub(mc.mismatches.len());
                    mc.mismatches.extend(m.mismatches.into_iter().take(room));
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

/// The shards' latency histograms as one: counts of equal buckets add up (every shard
/// buckets the same way).
fn merge_histograms<'a>(hs: impl Iterator<Item = &'a Vec<[u64; 2]>>) -> Vec<[u64; 2]> {
    let mut sum: BTreeMap<u64, u64> = BTreeMap::new();
    for [lower, n] in hs.flatten() {
        *sum.entry(*lower).or_default() += n;
    }
    sum.into_iter().map(|(lower, n)| [lower, n]).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::verify::{ItemKind, Verdict};

    /// A report of `items` items with one cold pass, as one shard of a corpus would give.
    pub(crate) fn shard_report(items: usize, listed: usize, mismatch_count: usize) -> RunReport {
        let pass = PassReport {
            name: "cold".into(),
            threads: 2,
            items,
            bytes: 1000 * items as u64,
            seconds: 2.0,
            items_per_s: items as f64 / 2.0,
            mb_per_s: 1.0,
            ceiling_items_per_s: items as f64,
            efficiency: 0.5,
            crypto_ceiling_items_per_s: items as f64,
            crypto_efficiency: 0.5,
            stage_ns: [("read".to_string(), 10), ("verify".to_string(), 90)].into(),
            latency: Latency {
                p50_ns: 1000,
                p99_ns: 5000,
                max_ns: 9000,
                histogram: vec![
                    [992, items as u64 / 2],
                    [4864, items as u64 - items as u64 / 2],
                ],
            },
            slowest: (0..5)
                .map(|i| Slow {
                    path: format!("m{items}-{i}.ko"),
                    ns: 9000 - i * 100 + items as u64,
                    bytes: 4000,
                })
                .collect(),
            cache: CacheReport {
                hits: 0,
                misses: items as u64,
                stale: 0,
                hit_rate: 0.0,
            },
            verdicts: [
                ("valid".to_string(), (items - mismatch_count) as u64),
                ("invalid:EKEYREJECTED".to_string(), mismatch_count as u64),
            ]
            .into(),
            repeats: 1,
            laps: 1,
            estimates: PassEstimates::default(),
        };
        let machine = Machine {
            cpu_model: "Test CPU".into(),
            cpu_flags: vec!["aes".into()],
            logical_cpus: 2,
            kernel: "6.1.0".into(),
        };
        let versions = Versions {
            trustbench: "0.1.0".into(),
            backend: "aws-lc".into(),
            backend_crate: "aws-lc-rs 1.0.0".into(),
        };
        RunReport {
            schema: SCHEMA.into(),
            created_unix: 1_700_000_000,
            testbed: Testbed::new("test-host".into(), &machine, &versions),
            machine,
            versions,
            git_commit: None,
            corpus: CorpusInfo {
                dir: "corpora/generated/t-0123".into(),
                spec_hash: Some("0123".into()),
                items,
                bytes: 1000 * items as u64,
            },
            threads: 2,
            ima_rule: "imasig".into(),
            kernel_profile: KernelProfile::default(),
            ima_source: "auto".into(),
            link: None,
            ceiling: Ceiling::default(),
            repeats: 1,
            warmup: 0,
            passes: vec![pass],
            manifest: Some(ManifestCheck {
                checked: items,
                mismatches: (0..listed)
                    .map(|i| format!("files/f{items}-{i}.bin (good): expected valid , got …"))
                    .collect(),
                mismatch_count,
                backend_unsupported: 0,
                not_predicted: 0,
            }),
            scaling: Vec::new(),
            warm_over_cold: None,
            mb_disagreements: 0,
            partial: None,
        }
    }

    #[test]
    fn merge_adds_up_shards_and_keeps_the_mismatch_list_capped() {
        let a = shard_report(3000, 700, 700);
        let b = shard_report(5000, MISMATCH_LIST_CAP, 2500);
        let m = RunReport::merge(vec![a.clone(), b.clone()]).unwrap();
        assert_eq!(m.corpus.items, 8000);
        assert_eq!(m.corpus.bytes, 8_000_000);
        let p = &m.passes[0];
        assert_eq!(p.items, 8000);
        assert_eq!(p.bytes, 8_000_000);
        assert_eq!(p.items_per_s, 4000.0, "shards ran at once: rates add");
        assert_eq!(p.seconds, 2.0, "the longest shard");
        assert_eq!(p.verdicts["valid"], 2300 + 2500);
        assert_eq!(p.verdicts["invalid:EKEYREJECTED"], 3200);
        assert_eq!(p.stage_ns["verify"], 180);
        assert_eq!(p.latency.histogram, [[992, 4000], [4864, 4000]]);
        assert_eq!(p.cache.misses, 8000);
        assert_eq!(p.slowest.len(), 5);
        assert!(p.slowest.iter().all(|s| s.path.starts_with("m5000-")));
        let mc = m.manifest.as_ref().unwrap();
        assert_eq!(mc.checked, 8000);
        assert_eq!(mc.mismatch_count, 3200, "mismatch counts add up");
        assert_eq!(mc.count(), 3200);
        assert_eq!(
            mc.mismatches.len(),
            MISMATCH_LIST_CAP,
            "the list stays capped"
        );
        assert_eq!(
            mc.mismatches[..700],
            a.manifest.as_ref().unwrap().mismatches[..]
        );
        assert_eq!(
            mc.mismatches[700],
            b.manifest.as_ref().unwrap().mismatches[0]
        );
        // Merging is associative on the counts.
        let mm = RunReport::merge(vec![m, shard_report(10, 0, 0)]).unwrap();
        assert_eq!(mm.manifest.as_ref().unwrap().mismatch_count, 3200);
        assert_eq!(mm.corpus.items, 8010);
    }

    #[test]
    fn merge_counts_reports_written_before_mismatch_count_existed() {
        let mut old = shard_report(100, 3, 3);
        old.manifest.as_mut().unwrap().mismatch_count = 0; // `#[serde(default)]`
        let m = RunReport::merge(vec![old, shard_report(100, 2, 2)]).unwrap();
        assert_eq!(m.manifest.unwrap().mismatch_count, 5);
    }

    #[test]
    fn merge_refuses_what_cannot_be_joined() {
        assert!(matches!(RunReport::merge(vec![]), Err(Error::Usage(_))));
        let mut other = shard_report(10, 0, 0);
        other.corpus.spec_hash = Some("4567".into());
        let e = RunReport::merge(vec![shard_report(10, 0, 0), other]).unwrap_err();
        assert!(e.to_string().contains("different corpora"), "{e}");
        let mut hashed = shard_report(10, 0, 0);
        hashed.ima_rule = "hash".into();
        let e = RunReport::merge(vec![shard_report(10, 0, 0), hashed]).unwrap_err();
        assert!(e.to_string().contains("different IMA settings"), "{e}");
        let mut future = shard_report(10, 0, 0);
        future.schema = "trustbench.run/3".into();
        let e = RunReport::merge(vec![future]).unwrap_err();
        assert!(e.to_string().contains("trustbench.run/3"), "{e}");
        let mut warm = shard_report(10, 0, 0);
        warm.passes[0].name = "warm".into();
        let e = RunReport::merge(vec![shard_report(10, 0, 0), warm]).unwrap_err();
        assert!(e.to_string().contains("different passes"), "{e}");
    }

    #[test]
    fn merge_refuses_timings_from_different_testbeds_and_names_them() {
        let a = shard_report(10, 0, 0);
        let mut b = shard_report(20, 0, 0);
        b.testbed = Testbed::new("node-b".into(), &b.machine, &b.versions);
        let e = RunReport::merge(vec![a.clone(), b.clone(), a.clone()]).unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{e:?}");
        let msg = e.to_string();
        for part in [
            "2 different testbeds",
            a.testbed.id.as_str(),
            b.testbed.id.as_str(),
            "test-host",
            "node-b",
            "--verdicts-only",
        ] {
            assert!(msg.contains(part), "'{msg}' lacks '{part}'");
        }
        // One testbed, several reports: merged as before.
        assert_eq!(
            RunReport::merge(vec![a.clone(), a]).unwrap().corpus.items,
            20
        );
    }

    fn outcome(ns: u64, verdict: Verdict) -> Outcome {
        Outcome {
            verdict,
            stage_ns: Default::default(),
            total_ns: ns,
            bytes: ns / 10,
            cache_hit: false,
            io: None,
            verified: true,
            epoch: 0,
        }
    }

    /// The accumulator's result does not depend on how the pass was chunked, and its five
    /// slowest items are the five largest times, earliest first among equal times.
    #[test]
    fn accumulation_is_independent_of_chunking() {
        let store = Store::new(
            crate::trust::KernelConfig::default(),
            crate::crypto::CryptoProfile::full(),
            crate::crypto::default_backend(),
        );
        let times = [5u64, 9, 9, 1, 9, 7, 9, 9, 3, 9, 12, 2, 12, 9, 8, 0, 12];
        let items: Vec<Item> = (0..times.len())
            .map(|i| Item::from_path(format!("/c/i{i:02}.ko").into()))
            .collect();
        let outcomes: Vec<Outcome> = times
            .iter()
            .enumerate()
            .map(|(i, &ns)| {
                let v = match i % 4 {
                    0 => Verdict::valid(ItemKind::Module, 1, None),
                    1 => Verdict::invalid(ItemKind::Module, Errno::ENOKEY, "x"),
                    2 => Verdict::unsigned(ItemKind::Ima, "y"),
                    _ => Verdict::invalid(ItemKind::Ima, Errno::ENOKEY, "z"),
                };
                outcome(ns, v)
            })
            .collect();
        let mut by_time: Vec<usize> = (0..times.len()).collect();
        by_time.sort_by_key(|&i| std::cmp::Reverse(times[i]));
        let want: Vec<String> = by_time[..5]
            .iter()
            .map(|&i| format!("/c/i{i:02}.ko"))
            .collect();
        let mut first: Option<PassReport> = None;
        for chunk in [1, 2, 3, 5, 7, times.len()] {
            let mut acc = PassAccumulator::new("cold", 2);
            for (its, outs) in items.chunks(chunk).zip(outcomes.chunks(chunk)) {
                let r = PassResult {
                    outcomes: outs.to_vec(),
                    wall: std::time::Duration::from_millis(1),
                    threads: 2,
                    cache: Default::default(),
                    interrupted: false,
                };
                acc.add(&store, its, &r);
            }
            let p = acc.finish(&Ceiling::default());
            let got: Vec<&str> = p.slowest.iter().map(|s| s.path.as_str()).collect();
            assert_eq!(got, want, "chunks of {chunk}");
            assert_eq!(p.slowest[0].bytes, 1);
            assert_eq!(
                p.verdicts,
                BTreeMap::from([
                    ("invalid:ENOKEY".to_string(), 8),
                    ("unsigned:ENODATA".to_string(), 4),
                    ("valid".to_string(), 5),
                ]),
                "chunks of {chunk}"
            );
            assert_eq!(p.items, times.len());
            let counted: u64 = p.latency.histogram.iter().map(|b| b[1]).sum();
            assert_eq!(counted, times.len() as u64);
            assert_eq!(p.latency.histogram[0], [0, 1], "one item took 0 ns");
            if let Some(f) = &first {
                assert_eq!(f.latency.p50_ns, p.latency.p50_ns);
                assert_eq!(f.latency.histogram, p.latency.histogram);
                assert_eq!(f.stage_ns, p.stage_ns);
            }
            first = Some(p);
        }
    }
}
