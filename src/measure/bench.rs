//! [`bench`]: one measured run over a corpus.
//!
//! Builds the corpus's keyrings through the real gatekeepers (timed: the link-time phase),
//! measures the ceiling on samples of the corpus, runs the passes across cores streaming the
//! corpus in chunks, checks every verdict of the first pass against the manifest, and
//! optionally adds the scaling curve and a flamegraph of the passes.

use super::calibrate;
use super::link;
use super::manifest::ManifestComparison;
use super::observe::{Observer, Phase};
use super::profile::Profiler;
use super::report::{
    git_commit, CorpusInfo, Machine, PassAccumulator, RunReport, ScalingStep, Testbed, Versions,
    SCHEMA,
};
use super::source::{is_generated, Shard, Source};
use crate::engine::{thread_pool, worker_threads, CachePolicy, Engine, EngineConfig};
use crate::error::{Error, Result};
use crate::timing::unix_seconds;
use crate::trust::Store;
use crate::verify::ima::{ImaPolicy, ImaRule, ImaSourceMode};
use crate::verify::ItemKind;
use std::path::PathBuf;
use std::time::Duration;

/// What to measure and how.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// A generated corpus (has `manifest.tsv` and `keyring.script`) or any tree of modules
    /// and IMA-signed files.
    pub corpus: PathBuf,
    /// The identity of the spec the corpus was generated from, reported as
    /// `corpus.spec_hash` (`merge` refuses to join reports of different specs).
    pub spec_hash: Option<String>,
    /// For a plain tree, only items of this kind (`None`: every file).
    pub kind: Option<ItemKind>,
    /// Verify only this shard of the corpus.
    pub shard: Option<Shard>,
    /// Worker threads (`None`: every logical CPU).
    pub threads: Option<usize>,
    /// Passes to run, in order, each using the verdict cache; the first is checked against
    /// the manifest and reports the items that are not valid.
    pub passes: Vec<String>,
    /// Verdict cache entries (0 disables the cache).
    pub cache_size: usize,
    /// Files at least this large are memory-mapped (`None`: the threshold the ceiling
    /// measured on the corpus's large files, else 1 MiB).
    pub mmap_threshold: Option<u64>,
    /// IMA policy check_blacklist (always on for generated corpora; only imasig rules
    /// have it, so it does nothing under [`ImaRule::Hash`]).
    pub ima_check_blacklist: bool,
    /// The IMA appraisal rule: signatures required (default) or hash labels accepted. The
    /// manifest check expects the verdicts of this rule.
    pub ima_rule: ImaRule,
    /// Where IMA labels are read from.
    pub ima_source: ImaSourceMode,
    /// Also run cold passes (cache off) at 1..=threads threads.
    pub scaling: bool,
    /// Time per ceiling measurement.
    pub calibration: Duration,
    /// Profile the passes and write a flamegraph SVG here.
    pub flamegraph: Option<PathBuf>,
}

impl BenchConfig {
    /// The defaults of `trustbench run` for `corpus`: a cold and a warm pass on every CPU.
    pub fn new(corpus: impl Into<PathBuf>) -> BenchConfig {
        BenchConfig {
            corpus: corpus.into(),
            spec_hash: None,
            kind: None,
            shard: None,
            threads: None,
            passes: vec!["cold".into(), "warm".into()],
            cache_size: 1 << 20,
            mmap_threshold: None,
            ima_check_blacklist: false,
            ima_rule: ImaRule::default(),
            ima_source: ImaSourceMode::default(),
            scaling: false,
            calibration: Duration::from_millis(150),
            flamegraph: None,
        }
    }
}

/// How many items calibration samples, spread evenly over the corpus.
const CALIBRATION_ITEMS: usize = 4096;
/// Of those, how many are opened to find one signature per verification class.
const CLASS_SAMPLES: usize = 400;

/// Runs the benchmark `config` describes, starting from the trust store `store` (standard
/// keyrings and anchors; the link-time phase of a generated corpus adds the corpus's
/// keyrings to it). `observer` hears about phases and the items that are not valid.
///
/// Disagreements with the manifest or with `keyring.expected` are results, in the report,
/// not errors; errors are what prevents measuring (unreadable corpus or manifest, malformed
/// rows or scripts, an empty corpus).
pub fn bench(config: &BenchConfig, store: Store, observer: &mut dyn Observer) -> Result<RunReport> {
    let mut store = store;
    let dir = &config.corpus;
    let generated = is_generated(dir);
    let threads = worker_threads(config.threads);

    let link = if generated {
        observer.phase(Phase::Link);
        let expected = std::fs::read_to_string(dir.join("keyring.expected")).ok();
        Some(link::run(
            &mut store,
            &dir.join("keyring.script"),
            expected.as_deref(),
        )?)
    } else {
        None
    };

    let source = Source::open(dir, config.kind, config.shard)?;
    let total = source.count()?;
    if total == 0 {
        return Err(Error::usage(format!(
            "{}: no items to verify",
            dir.display()
        )));
    }

    observer.phase(Phase::Calibrate { items: total });
    let sampled = source.spread(total, CALIBRATION_ITEMS)?;
    let budget = config.calibration;
    let p = thread_pool(threads)?;
    let samples = calibrate::sample(&store, &sampled, CLASS_SAMPLES, config.ima_source);
    let ceiling = calibrate::calibrate(&store, &samples, &p, budget);
    let engine_config = EngineConfig {
        cache_size: config.cache_size,
        mmap_threshold: config
            .mmap_threshold
            .or(ceiling.mmap_threshold)
            .unwrap_or(1 << 20),
        ima_policy: ImaPolicy {
            check_blacklist: config.ima_check_blacklist || generated,
            rule: config.ima_rule,
        },
        ima_source: config.ima_source,
        timing: true,
    };
    let engine = Engine::new(store, engine_config, threads);

    let profiler = match &config.flamegraph {
        Some(_) => Some(Profiler::start()?),
        None => None,
    };
    let mut passes = Vec::new();
    let mut dominant = None;
    let mut bytes = 0u64;
    let mut check = ManifestComparison::new(config.ima_rule);
    for (pass_no, name) in config.passes.iter().enumerate() {
        observer.phase(Phase::Pass { name });
        let pass = engine.begin_pass(CachePolicy::Use);
        let mut acc = PassAccumulator::new(name, threads);
        source.for_each_chunk(&mut |items, expected| {
            let r = pass.run(items, &p);
            let store = engine.store.read().unwrap_or_else(|e| e.into_inner());
            acc.add(&store, items, &r, &ceiling);
            if pass_no == 0 {
                check.add(expected, &r.outcomes);
                for (it, o) in items.iter().zip(&r.outcomes) {
                    if o.verdict.errno.is_some() {
                        observer.not_valid(it, &o.verdict);
                    }
                }
            }
            Ok(())
        })?;
        if pass_no == 0 {
            dominant = acc.dominant_class();
        }
        let pr = acc.finish();
        bytes = bytes.max(pr.bytes);
        passes.push(pr);
    }
    if let (Some(profiler), Some(path)) = (profiler, &config.flamegraph) {
        profiler.write_flamegraph(path)?;
    }
    let warm_over_cold = match (passes.first(), passes.get(1)) {
        (Some(c), Some(w)) => Some(w.items_per_s / c.items_per_s.max(1e-9)),
        _ => None,
    };

    let manifest = generated.then(|| {
        let ran = !passes.is_empty();
        let mut mc = check.finish(if ran { total } else { 0 });
        if !ran {
            mc.mismatch_count += 1;
            mc.mismatches
                .push(format!("{total} manifest items but no pass ran"));
        }
        mc
    });

    // Scaling: cold passes, cache off, 1..=N threads, beside the raw verify rate.
    let mut scaling = Vec::new();
    if config.scaling {
        for t in 1..=threads {
            observer.phase(Phase::Scaling { threads: t });
            let pt = thread_pool(t)?;
            let raw = {
                let store = engine.store.read().unwrap_or_else(|e| e.into_inner());
                calibrate::calibrate(&store, &samples, &pt, budget)
            };
            let raw_rate = dominant
                .as_ref()
                .and_then(|c| raw.verify_ns.get(c))
                .map_or(0.0, |ns| t as f64 * 1e9 / ns);
            let pass = engine.begin_pass(CachePolicy::Bypass);
            let mut acc = PassAccumulator::new(&format!("cold-{t}t"), t);
            source.for_each_chunk(&mut |items, _| {
                let r = pass.run(items, &pt);
                let st = engine.store.read().unwrap_or_else(|e| e.into_inner());
                acc.add(&st, items, &r, &raw);
                Ok(())
            })?;
            let pr = acc.finish();
            scaling.push(ScalingStep {
                threads: t,
                items_per_s: pr.items_per_s,
                raw_verify_per_s: raw_rate,
                efficiency: pr.efficiency,
            });
        }
    }

    let store = engine.store.read().unwrap_or_else(|e| e.into_inner());
    let machine = Machine::detect();
    let versions = Versions::detect(store.backend().as_ref());
    Ok(RunReport {
        schema: SCHEMA.into(),
        created_unix: unix_seconds(),
        testbed: Testbed::detect(&machine, &versions),
        machine,
        versions,
        git_commit: git_commit(),
        corpus: CorpusInfo {
            dir: dir.display().to_string(),
            spec_hash: config.spec_hash.clone(),
            items: total,
            bytes,
        },
        threads,
        ima_rule: config.ima_rule.name().into(),
        ima_source: config.ima_source.name().into(),
        link,
        ceiling,
        passes,
        manifest,
        scaling,
        warm_over_cold,
        mb_disagreements: crate::crypto::mb::disagreements(),
    })
}
