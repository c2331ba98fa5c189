//! `trustbench run`: the main job. Builds the corpus's keyrings through the real
//! gatekeepers (timed), measures the ceiling, runs cold and warm passes across cores,
//! checks every verdict against the manifest, and reports.

use super::setup::TrustArgs;
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use trustbench::corpus::manifest::{parse_manifest_line, Expected};
use trustbench::engine::{self, Engine, EngineConfig, Item};
use trustbench::measure::calibrate;
use trustbench::measure::link;
use trustbench::measure::report::{
    git_commit, shard_of, CorpusInfo, Machine, ManifestCheck, PassAccumulator, RunReport,
    ScalingStep, Versions,
};
use trustbench::verify::ima::ImaPolicy;
use trustbench::verify::ItemKind;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// A corpus directory: generated (has manifest.tsv and keyring.script) or any tree of
    /// modules and IMA-signed files (then give --trust/--keyring-setup).
    #[arg(long, value_name = "DIR", conflicts_with = "spec")]
    pub corpus: Option<PathBuf>,
    /// Generate (once, cached by spec hash) and run this spec [default: corpora/default.toml].
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Which files of a plain directory tree to verify: `module` takes only .ko/.ko.gz/
    /// .ko.xz/.ko.zst (e.g. /lib/modules/VERSION), `ima` only other files, `auto` both.
    #[arg(long, value_enum, default_value_t = super::verify::KindArg::Auto)]
    pub kind: super::verify::KindArg,
    /// Verify only shard K of N (1-based; items split by a stable hash of their path), for
    /// splitting a huge corpus across CI jobs; join the JSON reports with `trustbench merge`.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
    /// Worker threads [default: all logical CPUs].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Passes to run, in order.
    #[arg(long, value_delimiter = ',', default_value = "cold,warm")]
    pub passes: Vec<String>,
    /// Verdict cache entries (0 disables the cache).
    #[arg(long, default_value_t = 1 << 20)]
    pub cache_size: usize,
    /// Files at least this large are memory-mapped; smaller ones are read [default:
    /// measured by the ceiling calibration on the corpus's large files, else 1 MiB].
    #[arg(long, value_name = "BYTES")]
    pub mmap_threshold: Option<u64>,
    /// IMA policy check_blacklist (always on for generated corpora).
    #[arg(long)]
    pub ima_check_blacklist: bool,
    /// Also run cold passes (cache off) at 1..=N threads and report scaling against the raw
    /// primitive's own scaling.
    #[arg(long)]
    pub scaling: bool,
    /// Milliseconds per ceiling measurement.
    #[arg(long, default_value_t = 150)]
    pub calibration_ms: u64,
    /// Write the JSON report here (always also written under results/runs/).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Profile the passes with pprof and write a flamegraph SVG (default:
    /// flamegraphs/STAMP-CORPUS.svg, also chosen by the value `auto`).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "auto")]
    pub flamegraph: Option<PathBuf>,
    /// Print only the summary line.
    #[arg(long)]
    pub quiet: bool,
}

/// `K/N` with 1 ≤ K ≤ N.
fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let (k, n) = s.split_once('/').ok_or("expected K/N, e.g. 2/8")?;
    let k: u32 = k.parse().map_err(|_| "K is not a number")?;
    let n: u32 = n.parse().map_err(|_| "N is not a number")?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("shard {k}/{n}: need 1 <= K <= N"));
    }
    Ok((k, n))
}

fn pool(threads: usize) -> Result<rayon::ThreadPool, String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| format!("thread pool: {e}"))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn run(a: RunArgs) -> Result<ExitCode, String> {
    // Resolve the corpus: explicit directory, or a spec generated into the cache.
    let (dir, spec_hash) = match &a.corpus {
        Some(d) => (d.clone(), None),
        None => spec_corpus(&a)?,
    };
    let generated = dir.join("manifest.tsv").exists() && dir.join("keyring.script").exists();
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);

    // Trust store: standard keyrings + --trust; then the link-time phase.
    let mut store = a.trust.build()?;
    let link = if generated {
        let expected = std::fs::read_to_string(dir.join("keyring.expected")).ok();
        Some(link::run(
            &mut store,
            &dir.join("keyring.script"),
            expected.as_deref(),
        )?)
    } else {
        None
    };

    // Items: streamed from the manifest in chunks (memory bounded by the chunk and the
    // cache, not by the corpus), or a directory walk.
    let source = if generated {
        Source::Manifest(dir.join("manifest.tsv"))
    } else {
        Source::Tree(
            engine::discover(&dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?
                .into_iter()
                .filter(|i| match a.kind {
                    super::verify::KindArg::Auto => true,
                    super::verify::KindArg::Module => i.kind == ItemKind::Module,
                    super::verify::KindArg::Ima => i.kind == ItemKind::Ima,
                })
                .collect(),
        )
    };
    let mut total = 0usize;
    source.for_each_chunk(&dir, a.shard, &mut |items, _| {
        total += items.len();
        Ok(())
    })?;
    if total == 0 {
        return Err(format!("{}: no items to verify", dir.display()));
    }
    // Calibration samples: up to 4096 items spread evenly over the corpus.
    let stride = total.div_ceil(4096).max(1);
    let mut sampled = Vec::new();
    let mut index = 0usize;
    source.for_each_chunk(&dir, a.shard, &mut |items, _| {
        for it in items {
            if index % stride == 0 {
                sampled.push(it.clone());
            }
            index += 1;
        }
        Ok(())
    })?;

    let budget = Duration::from_millis(a.calibration_ms);
    let p = pool(threads)?;
    let samples = calibrate::sample(&store, &sampled, 400);
    let ceiling = calibrate::calibrate(&store, &samples, &p, budget);
    let config = EngineConfig {
        cache_size: a.cache_size,
        mmap_threshold: a
            .mmap_threshold
            .or(ceiling.mmap_threshold)
            .unwrap_or(1 << 20),
        ima_policy: ImaPolicy {
            check_blacklist: a.ima_check_blacklist || generated,
        },
        timing: true,
    };
    let engine = Engine::new(store, config.clone(), threads);

    let profiler = match &a.flamegraph {
        Some(_) => Some(
            pprof::ProfilerGuardBuilder::default()
                .frequency(997)
                .blocklist(&["libc", "libgcc", "pthread", "vdso"])
                .build()
                .map_err(|e| format!("profiler: {e}"))?,
        ),
        None => None,
    };
    let mut passes = Vec::new();
    let mut dominant = None;
    let mut bytes = 0u64;
    let mut mc = ManifestCheck::default();
    let mut not_valid: Vec<String> = Vec::new();
    let mut not_valid_count = 0usize;
    for (pass_no, name) in a.passes.iter().enumerate() {
        let lookup = engine.cache.approx_len() > 0;
        let mut acc = PassAccumulator::new(name, threads);
        source.for_each_chunk(&dir, a.shard, &mut |items, expected| {
            let r = engine.pass_chunk(items, &p, config.cache_size > 0, lookup);
            let store = engine.store.read().unwrap_or_else(|e| e.into_inner());
            acc.add(&store, items, &r, &ceiling);
            if pass_no == 0 {
                check_chunk(&mut mc, expected, &r.outcomes);
                for (it, o) in items.iter().zip(&r.outcomes) {
                    if o.verdict.errno.is_some() {
                        not_valid_count += 1;
                        if not_valid.len() < 10_000 {
                            not_valid.push(format!(
                                "- {}: {} {} ({})",
                                it.path.display(),
                                o.verdict.class.name(),
                                o.verdict.errno.map(|e| e.to_string()).unwrap_or_default(),
                                o.verdict.reason
                            ));
                        }
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
    let flamegraph = match (profiler, &a.flamegraph) {
        (Some(g), Some(path)) => {
            let path = if path.as_os_str() == "auto" {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("flamegraphs")
                    .join(format!(
                        "{}-{}.svg",
                        SystemTime::now()
                            .duration_since(UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs()),
                        dir.file_name()
                            .map_or("run".into(), |n| n.to_string_lossy().into_owned())
                    ))
            } else {
                path.clone()
            };
            let report = g.report().build().map_err(|e| format!("profiler: {e}"))?;
            if let Some(d) = path.parent() {
                std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
            }
            let f = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            report
                .flamegraph(f)
                .map_err(|e| format!("flamegraph: {e}"))?;
            Some(path)
        }
        _ => None,
    };
    let warm_over_cold = match (passes.first(), passes.get(1)) {
        (Some(c), Some(w)) => Some(w.items_per_s / c.items_per_s.max(1e-9)),
        _ => None,
    };

    let manifest_check = generated.then(|| {
        mc.checked = if passes.is_empty() { 0 } else { total };
        if passes.is_empty() {
            mc.mismatch_count += 1;
            mc.mismatches
                .push(format!("{total} manifest items but no pass ran"));
        }
        mc
    });

    // Scaling: cold passes, cache off, 1..=N threads, beside the raw verify rate.
    let mut scaling = Vec::new();
    if a.scaling {
        for t in 1..=threads {
            let pt = pool(t)?;
            let raw = {
                let store = engine.store.read().unwrap_or_else(|e| e.into_inner());
                calibrate::calibrate(&store, &samples, &pt, budget)
            };
            let raw_rate = dominant
                .as_ref()
                .and_then(|c| raw.verify_ns.get(c))
                .map_or(0.0, |ns| t as f64 * 1e9 / ns);
            let mut acc = PassAccumulator::new(&format!("cold-{t}t"), t);
            source.for_each_chunk(&dir, a.shard, &mut |items, _| {
                let r = engine.pass_chunk(items, &pt, false, false);
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
    let report = RunReport {
        schema: trustbench::measure::report::SCHEMA.into(),
        created_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        machine: Machine::detect(),
        versions: Versions::detect(store.backend().name()),
        git_commit: git_commit(),
        corpus: CorpusInfo {
            dir: dir.display().to_string(),
            spec_hash,
            items: total,
            bytes,
        },
        threads,
        link,
        ceiling,
        passes,
        manifest: manifest_check,
        scaling,
        warm_over_cold,
    };
    drop(store);

    // Outputs.
    let stamp = report.created_unix;
    let runs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results/runs");
    let base = runs.join(format!(
        "{stamp}-{}",
        dir.file_name()
            .map_or("run".into(), |n| n.to_string_lossy().into_owned())
    ));
    write(&base.with_extension("json"), &report.to_json())?;
    if let Some(p) = &a.json {
        write(p, &report.to_json())?;
    }
    if let Some(p) = &a.csv {
        write(p, &report.to_csv())?;
    }
    if let Some(p) = &a.markdown {
        write(p, &report.to_markdown())?;
    }
    let md = report.to_markdown();
    if !a.quiet {
        println!("{md}");
        if !generated {
            if not_valid_count == 0 {
                println!("every item is valid");
            } else {
                println!("## Items that are not valid ({not_valid_count})\n");
                for l in &not_valid {
                    println!("{l}");
                }
                if not_valid_count > not_valid.len() {
                    println!("- … {} more", not_valid_count - not_valid.len());
                }
            }
        }
    }
    let mismatches = report.manifest.as_ref().map_or(0, |m| m.mismatch_count);
    let unexpected = report.link.as_ref().map_or(0, |l| l.unexpected.len());
    if let Some(f) = &flamegraph {
        eprintln!("trustbench: flamegraph {}", f.display());
    }
    if let Some(cold) = report.passes.first() {
        eprintln!(
            "trustbench: {} items, cold {:.0} items/s (efficiency {:.3}), {}{} manifest mismatches; report {}",
            cold.items,
            cold.items_per_s,
            cold.efficiency,
            report.warm_over_cold.map_or(String::new(), |w| format!("warm {w:.1}× cold, ")),
            mismatches,
            base.with_extension("json").display()
        );
    }
    Ok(if mismatches == 0 && unexpected == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The corpus of `--spec` (default corpora/default.toml), generated into the cache on first
/// use, and its spec hash.
#[cfg(feature = "generator")]
fn spec_corpus(a: &RunArgs) -> Result<(PathBuf, Option<String>), String> {
    use super::gen::{cache_dir, generate, load_spec};
    let spec = a
        .spec
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpora/default.toml"));
    let l = load_spec(&spec, None)?;
    let dir = cache_dir(&l);
    if !dir.join("COMPLETE").exists() {
        if !a.quiet {
            eprintln!(
                "generating corpus '{}' (first use) into {}",
                l.spec.name,
                dir.display()
            );
        }
        generate(&l, &dir, a.quiet)?;
    }
    Ok((dir, Some(l.hash)))
}

#[cfg(not(feature = "generator"))]
fn spec_corpus(_: &RunArgs) -> Result<(PathBuf, Option<String>), String> {
    Err(
        "this build has no corpus generator (built without the `generator` feature); \
         use --corpus DIR"
            .into(),
    )
}

/// Compares one chunk's verdicts with its manifest rows.
fn check_chunk(mc: &mut ManifestCheck, expected: &[Expected], outs: &[engine::Outcome]) {
    for (e, o) in expected.iter().zip(outs) {
        if !e.matches(&o.verdict) {
            mc.mismatch_count += 1;
            if mc.mismatches.len() < 1000 {
                mc.mismatches.push(format!(
                    "{} ({}): expected {} {}, got {} {} ({})",
                    e.path,
                    e.class_name(),
                    e.verdict.name(),
                    e.errno.map(|x| x.to_string()).unwrap_or_default(),
                    o.verdict.class.name(),
                    o.verdict.errno.map(|x| x.to_string()).unwrap_or_default(),
                    o.verdict.reason
                ));
            }
        }
    }
}

/// Items per chunk: large enough to keep every core busy, small enough that a million-item
/// corpus never sits in memory at once.
const CHUNK: usize = 16_384;

/// Receives one chunk of items and their manifest rows (empty for plain trees).
type ChunkFn<'a> = dyn FnMut(&[Item], &[Expected]) -> Result<(), String> + 'a;

/// Where a run's items come from.
enum Source {
    /// A generated corpus: `manifest.tsv`, streamed.
    Manifest(PathBuf),
    /// Any directory tree, walked up front.
    Tree(Vec<Item>),
}

impl Source {
    /// Calls `f` with consecutive chunks of items (and, for manifests, their expected
    /// verdicts), keeping only shard `k` of `n` when sharding.
    fn for_each_chunk(
        &self,
        dir: &Path,
        shard: Option<(u32, u32)>,
        f: &mut ChunkFn<'_>,
    ) -> Result<(), String> {
        let keep = |rel: &str| shard.is_none_or(|(k, n)| shard_of(rel, n) == k - 1);
        match self {
            Source::Tree(all) => {
                let kept: Vec<&Item> = all
                    .iter()
                    .filter(|i| {
                        keep(
                            &i.path
                                .strip_prefix(dir)
                                .unwrap_or(&i.path)
                                .to_string_lossy(),
                        )
                    })
                    .collect();
                for c in kept.chunks(CHUNK) {
                    let items: Vec<Item> = c.iter().map(|i| (*i).clone()).collect();
                    f(&items, &[])?;
                }
                Ok(())
            }
            Source::Manifest(path) => {
                use std::io::BufRead;
                let file =
                    std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
                let mut items = Vec::with_capacity(CHUNK);
                let mut expected = Vec::with_capacity(CHUNK);
                for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
                    let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
                    let Some(e) = parse_manifest_line(i + 1, &line)? else {
                        continue;
                    };
                    if !keep(&e.path) {
                        continue;
                    }
                    items.push(Item {
                        path: dir.join(&e.path),
                        kind: e.kind,
                    });
                    expected.push(e);
                    if items.len() == CHUNK {
                        f(&items, &expected)?;
                        items.clear();
                        expected.clear();
                    }
                }
                if !items.is_empty() {
                    f(&items, &expected)?;
                }
                Ok(())
            }
        }
    }
}
