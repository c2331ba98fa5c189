//! [`bench`]: one measured run over a corpus.
//!
//! Builds the corpus's keyrings through the real gatekeepers (timed: the link-time phase),
//! measures the ceiling on samples of the corpus, runs the passes across cores streaming the
//! corpus in chunks, checks every verdict of the first pass against the manifest, and
//! optionally adds the scaling curve and a flamegraph of the passes.

use super::calibrate::{self, Calibrator, MmapPolicy, Probe};
use super::interleave::{laps_for, Bench, Plan};
use super::link;
use super::manifest::ManifestComparison;
use super::observe::{Observer, Phase};
use super::profile::Profiler;
use super::report::{
    git_commit, CorpusInfo, Machine, Partial, PassReport, RunReport, ScalingStep, Testbed,
    Versions, SCHEMA,
};
use super::source::{is_generated, Shard, Source};
use crate::engine::{interrupt, thread_pool, worker_threads, CachePolicy, Engine, EngineConfig};
use crate::error::{Error, Result};
use crate::timing::unix_seconds;
use crate::trust::Store;
use crate::verify::ima::{ImaPolicy, ImaRule, ImaSourceMode};
use crate::verify::ItemKind;
use std::collections::BTreeMap;
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
    /// Whether large files are memory-mapped, and from what size (default: never).
    pub mmap: MmapPolicy,
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
    /// Measured repeats of the passes (each starting from an empty cache); figures are
    /// medians with bootstrap intervals over them.
    pub repeat: usize,
    /// Unmeasured rounds of the passes before the measured ones.
    pub warmup: usize,
    /// Caps a ceiling burst at a sixth of this, and times the mmap threshold.
    pub calibration: Duration,
    /// Profile one extra, unmeasured round of the passes (no ceiling bursts in it) and
    /// write a flamegraph SVG here.
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
            mmap: MmapPolicy::Off,
            ima_check_blacklist: false,
            ima_rule: ImaRule::default(),
            ima_source: ImaSourceMode::default(),
            scaling: false,
            repeat: DEFAULT_REPEAT,
            warmup: 1,
            calibration: Duration::from_millis(150),
            flamegraph: None,
        }
    }
}

/// Measured repeats of `trustbench run` unless told otherwise: seven, so that one or two
/// disturbed repeats move the median little, while the default job stays under ten
/// seconds. On the shared 2-core VM this was tuned on, five default runs' cold efficiency
/// spread (max ÷ min) 1.05–1.07 with five repeats and 1.025 with seven
/// (docs/regression-gate.md).
pub const DEFAULT_REPEAT: usize = 7;

/// The shortest ceiling burst: long enough for a few hundred operations of the slowest
/// probe (a batch of RSA-4096 verifications), short enough to slip between slices.
const MIN_BURST: Duration = Duration::from_millis(3);

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

    // Where the run is, for the report of an interrupted run; and what it verified.
    let mut stop = Stop::default();
    let link = if generated {
        observer.phase(Phase::Link);
        stop.phase = "link".into();
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
    stop.phase = "calibrate".into();
    let sampled = source.spread(total, CALIBRATION_ITEMS)?;
    let budget = config.calibration;
    let p = thread_pool(threads)?;
    let samples = calibrate::sample(&store, &sampled, CLASS_SAMPLES, config.ima_source);
    let calibrator = Calibrator::new(&store, &samples, config.ima_source);
    let all_probes = calibrator.probes();
    // A configuration, not a figure: measured once, before the engine is made with it.
    let mmap_threshold = match config.mmap {
        MmapPolicy::Measured => calibrator.mmap_threshold(&p, budget),
        _ => None,
    };
    let engine_config = EngineConfig {
        cache_size: config.cache_size,
        mmap_threshold: config.mmap.threshold(mmap_threshold),
        ima_policy: ImaPolicy {
            check_blacklist: config.ima_check_blacklist || generated,
            rule: config.ima_rule,
        },
        ima_source: config.ima_source,
        timing: true,
    };
    let engine = Engine::new(store, engine_config, threads);
    let run = Bench {
        engine: &engine,
        source: &source,
        items: total,
        calibrator: &calibrator,
    };
    let (burst_min, burst_max) = (MIN_BURST, (budget / 6).max(MIN_BURST));

    // Warm-up: every pass as it will be measured, with one short burst of every probe. It
    // warms the page cache, the allocator and the CPU, and tells what each pass needs
    // measured (its work's probes), what weight each probe has in its ceiling cost, and how
    // long it runs (to balance the bursts against it).
    let mut plans: Vec<Plan> = config.passes.iter().map(|_| Plan::none()).collect();
    let survey = Plan::survey(all_probes.clone(), MIN_BURST);
    for round in 0..config.warmup {
        if interrupt::requested() {
            break;
        }
        observer.phase(Phase::WarmUp {
            round: round + 1,
            of: config.warmup,
        });
        stop.phase = "warm-up".into();
        engine.cache.clear();
        for (i, name) in config.passes.iter().enumerate() {
            let pass = engine.begin_pass(CachePolicy::Use);
            let m = run.run(name, &pass, &p, &survey, &mut |_, _, r| {
                observer.advanced(r.outcomes.len())
            })?;
            stop.verdicts += m.acc.items() as u64;
            if m.interrupted {
                break;
            }
            let probes = m.acc.work().probes(&all_probes);
            let shares = calibrator.shares(threads, m.acc.work(), &m.figures, &probes);
            let laps = laps_for(m.acc.wall(), m.acc.all_cached());
            let wall = m.acc.wall() * laps as u32;
            plans[i] = Plan {
                laps,
                ..Plan::weighted(probes, &shares, wall, burst_min, burst_max)
            };
        }
    }

    let repeats = config.repeat.max(1);
    let mut runs: Vec<Vec<PassReport>> = config.passes.iter().map(|_| Vec::new()).collect();
    let mut figures: BTreeMap<Probe, Vec<f64>> = BTreeMap::new();
    let mut dominant = None;
    let kernel = engine
        .store
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .kernel();
    let mut check = ManifestComparison::new(config.ima_rule, kernel);
    let mut items_verified = 0usize;
    'repeats: for repeat in 0..repeats {
        if interrupt::requested() {
            break;
        }
        // Every repeat starts where the first pass starts: an empty cache.
        engine.cache.clear();
        for (pass_no, name) in config.passes.iter().enumerate() {
            if interrupt::requested() {
                break 'repeats;
            }
            observer.phase(Phase::Pass {
                name,
                repeat: repeat + 1,
                of: repeats,
            });
            stop.phase = format!("pass {name} (repeat {} of {repeats})", repeat + 1);
            if plans[pass_no].probes.is_empty() {
                // No warm-up: every probe, bursts as long as the cap allows.
                plans[pass_no] =
                    Plan::weighted(all_probes.clone(), &[], Duration::MAX, burst_min, burst_max);
            }
            let pass = engine.begin_pass(CachePolicy::Use);
            let checked = repeat == 0 && pass_no == 0;
            let m = run.run(
                name,
                &pass,
                &p,
                &plans[pass_no],
                &mut |items, expected, r| {
                    observer.advanced(r.outcomes.len());
                    if checked {
                        items_verified += r.outcomes.len();
                        check.add(expected, &r.outcomes);
                        let store = engine.store.read().unwrap_or_else(|e| e.into_inner());
                        for (it, o) in items.iter().zip(&r.outcomes) {
                            observer.checked(&store, it, &o.verdict);
                        }
                        for (it, o) in items.iter().zip(&r.outcomes) {
                            if o.verdict.errno.is_some() {
                                observer.not_valid(it, &o.verdict);
                            }
                        }
                    }
                },
            )?;
            if checked {
                dominant = m.acc.dominant_class();
            }
            stop.verdicts += m.acc.items() as u64;
            let ceiling = calibrator.ceiling(threads, &m.figures);
            for (probe, v) in m.figures {
                figures.entry(probe).or_default().extend(v);
            }
            // A repeat cut short stands only when it is the pass's one: beside complete
            // repeats it would pull their medians towards a part of the corpus.
            if !m.interrupted || runs[pass_no].is_empty() {
                runs[pass_no].push(m.acc.finish(&ceiling));
            }
            if m.interrupted {
                break 'repeats;
            }
        }
    }
    // The flamegraph: one more round of the passes, unmeasured and without bursts, so
    // that it shows the passes' work and nothing of the ceiling's.
    if let Some(path) = config
        .flamegraph
        .as_ref()
        .filter(|_| !interrupt::requested())
    {
        let profiler = Profiler::start()?;
        engine.cache.clear();
        for name in &config.passes {
            let pass = engine.begin_pass(CachePolicy::Use);
            run.run(name, &pass, &p, &Plan::none(), &mut |_, _, _| {})?;
        }
        profiler.write_flamegraph(path)?;
    }
    let passes: Vec<PassReport> = runs
        .into_iter()
        .filter_map(PassReport::over_repeats)
        .collect();
    let bytes = passes.iter().map(|p| p.bytes).max().unwrap_or(0);
    let mut ceiling = calibrator.ceiling(threads, &figures);
    ceiling.mmap_threshold = mmap_threshold;
    let warm_over_cold = match (passes.first(), passes.get(1)) {
        (Some(c), Some(w)) => Some(w.items_per_s / c.items_per_s.max(1e-9)),
        _ => None,
    };

    let manifest = generated.then(|| {
        let ran = !passes.is_empty();
        // An interrupted run's manifest check covers the items the first pass reached.
        let checked = match interrupt::requested() {
            true => items_verified,
            false if ran => total,
            false => 0,
        };
        let mut mc = check.finish(checked);
        if !ran && !interrupt::requested() {
            mc.mismatch_count += 1;
            mc.mismatches
                .push(format!("{total} manifest items but no pass ran"));
        }
        mc
    });

    // Scaling: cold passes, cache off, 1..=N threads, each with its own interleaved
    // ceiling, as many repeats as the passes.
    let mut scaling = Vec::new();
    if config.scaling && !interrupt::requested() {
        let plan0 = plans.first().cloned().unwrap_or_else(Plan::none);
        for t in 1..=threads {
            if interrupt::requested() {
                break;
            }
            observer.phase(Phase::Scaling { threads: t });
            stop.phase = format!("scaling ({t} threads)");
            let pt = thread_pool(t)?;
            let plan = match plan0.probes.is_empty() {
                true => {
                    Plan::weighted(all_probes.clone(), &[], Duration::MAX, burst_min, burst_max)
                }
                false => plan0.clone(),
            };
            let mut steps = Vec::new();
            let mut raw = Vec::new();
            for _ in 0..repeats {
                let pass = engine.begin_pass(CachePolicy::Bypass);
                let m = run.run(&format!("cold-{t}t"), &pass, &pt, &plan, &mut |_, _, r| {
                    observer.advanced(r.outcomes.len())
                })?;
                stop.verdicts += m.acc.items() as u64;
                if m.interrupted {
                    break;
                }
                let c = calibrator.ceiling(t, &m.figures);
                if let Some(ns) = dominant.as_ref().and_then(|d| c.verify_ns.get(d)) {
                    raw.push(t as f64 * 1e9 / ns);
                }
                steps.push(m.acc.finish(&c));
            }
            if let Some(pr) = PassReport::over_repeats(steps) {
                scaling.push(ScalingStep {
                    threads: t,
                    items_per_s: pr.items_per_s,
                    raw_verify_per_s: super::stats::median(&raw),
                    efficiency: pr.efficiency,
                });
            }
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
        kernel_profile: store.kernel(),
        ima_source: config.ima_source.name().into(),
        link,
        ceiling,
        repeats,
        warmup: config.warmup,
        passes,
        manifest,
        scaling,
        warm_over_cold,
        mb_disagreements: crate::crypto::mb::disagreements(),
        partial: interrupt::requested().then(|| Partial {
            signal: interrupt::signal_name().map(String::from),
            phase: stop.phase,
            items_verified,
            verdicts: stop.verdicts,
        }),
    })
}

/// Where a run is and what it has verified, for the report of an interrupted run.
#[derive(Default)]
struct Stop {
    phase: String,
    verdicts: u64,
}
