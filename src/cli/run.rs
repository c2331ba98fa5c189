//! `trustbench run`: the main job. Builds the corpus's keyrings through the real
//! gatekeepers (timed), measures the ceiling, runs cold and warm passes across cores,
//! checks every verdict against the manifest, and reports.

use super::gen::{cache_dir, generate, load_spec};
use super::setup::TrustArgs;
use clap::Args;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use trustbench::corpus::gen::read_manifest;
use trustbench::engine::{self, Engine, EngineConfig, Item};
use trustbench::measure::calibrate::{self, class_of};
use trustbench::measure::link;
use trustbench::measure::report::{
    git_commit, shard_of, CorpusInfo, Machine, ManifestCheck, PassReport, RunReport, ScalingStep,
    Versions,
};
use trustbench::verify::ima::ImaPolicy;

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
    /// Files at least this large are memory-mapped; smaller ones are read.
    #[arg(long, default_value_t = 1 << 20)]
    pub mmap_threshold: u64,
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
        None => {
            let spec = a.spec.clone().unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpora/default.toml")
            });
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
            (dir, Some(l.hash))
        }
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

    // Items.
    let manifest = if generated {
        let text = std::fs::read_to_string(dir.join("manifest.tsv")).map_err(|e| e.to_string())?;
        Some(read_manifest(&text)?)
    } else {
        None
    };
    let items: Vec<Item> = match &manifest {
        Some(m) => m
            .iter()
            .map(|e| Item {
                path: dir.join(&e.path),
                kind: if e.kind == "module" {
                    trustbench::verify::ItemKind::Module
                } else {
                    trustbench::verify::ItemKind::Ima
                },
            })
            .collect(),
        None => engine::discover(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .into_iter()
            .filter(|i| match a.kind {
                super::verify::KindArg::Auto => true,
                super::verify::KindArg::Module => i.kind == trustbench::verify::ItemKind::Module,
                super::verify::KindArg::Ima => i.kind == trustbench::verify::ItemKind::Ima,
            })
            .collect(),
    };
    // Sharding keeps the manifest rows aligned with the items.
    let (items, manifest) = match a.shard {
        None => (items, manifest),
        Some((k, n)) => {
            let keep = |i: &Item| {
                let rel = i.path.strip_prefix(&dir).unwrap_or(&i.path);
                shard_of(&rel.to_string_lossy(), n) == k - 1
            };
            let mask: Vec<bool> = items.iter().map(keep).collect();
            let items = items
                .into_iter()
                .zip(&mask)
                .filter(|x| *x.1)
                .map(|x| x.0)
                .collect();
            let manifest = manifest.map(|m| {
                m.into_iter()
                    .zip(&mask)
                    .filter(|x| *x.1)
                    .map(|x| x.0)
                    .collect()
            });
            (items, manifest)
        }
    };
    if items.is_empty() {
        return Err(format!("{}: no items to verify", dir.display()));
    }

    let config = EngineConfig {
        cache_size: a.cache_size,
        mmap_threshold: a.mmap_threshold,
        ima_policy: ImaPolicy {
            check_blacklist: a.ima_check_blacklist || generated,
        },
        timing: true,
    };
    let budget = Duration::from_millis(a.calibration_ms);
    let p = pool(threads)?;
    let samples = calibrate::sample(&store, &items, 400);
    let ceiling = calibrate::calibrate(&store, &samples, &p, budget);
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
    let mut cold_outcomes = None;
    for name in &a.passes {
        let r = engine.pass(&items, &p);
        let store = engine.store.read().unwrap_or_else(|e| e.into_inner());
        passes.push(PassReport::build(name, &store, &items, &r, &ceiling));
        if cold_outcomes.is_none() {
            cold_outcomes = Some(r.outcomes);
        }
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

    // Manifest agreement (first pass).
    let manifest_check = manifest.as_ref().map(|m| {
        let outs = cold_outcomes.as_deref().unwrap_or(&[]);
        let mut mc = ManifestCheck {
            checked: m.len(),
            ..Default::default()
        };
        if outs.len() != m.len() {
            mc.mismatches.push(format!(
                "{} manifest items but {} verdicts (no pass ran?)",
                m.len(),
                outs.len()
            ));
        }
        for (e, o) in m.iter().zip(outs) {
            let got_errno = o.verdict.errno.map(|x| x.name());
            let want_errno = e.errno.map(|x| x.name());
            if o.verdict.class.name() != e.verdict || got_errno != want_errno {
                mc.mismatches.push(format!(
                    "{} ({}): expected {} {}, got {} {} ({})",
                    e.path,
                    e.class,
                    e.verdict,
                    want_errno.unwrap_or_default(),
                    o.verdict.class.name(),
                    got_errno.unwrap_or_default(),
                    o.verdict.reason
                ));
            }
        }
        mc
    });

    // Scaling: cold passes, cache off, 1..=N threads, beside the raw verify rate.
    let mut scaling = Vec::new();
    if a.scaling {
        let store = engine.store.read().unwrap_or_else(|e| e.into_inner());
        let dominant = dominant_class(&store, cold_outcomes.as_deref().unwrap_or(&[]));
        drop(store);
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
            let r = engine.pass_with(&items, &pt, false);
            let st = engine.store.read().unwrap_or_else(|e| e.into_inner());
            let pr = PassReport::build(&format!("cold-{t}t"), &st, &items, &r, &raw);
            scaling.push(ScalingStep {
                threads: t,
                items_per_s: pr.items_per_s,
                raw_verify_per_s: raw_rate,
                efficiency: pr.efficiency,
            });
        }
    }

    let bytes = items
        .iter()
        .map(|i| std::fs::metadata(&i.path).map_or(0, |m| m.len()))
        .sum();
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
            items: items.len(),
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
        if manifest.is_none() {
            print_non_valid(&items, cold_outcomes.as_deref().unwrap_or(&[]));
        }
    }
    let mismatches = report.manifest.as_ref().map_or(0, |m| m.mismatches.len());
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

/// The verification class most items of the cold pass used.
fn dominant_class(store: &trustbench::trust::Store, outs: &[engine::Outcome]) -> Option<String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for o in outs {
        if let (Some(s), Some(d)) = (o.verdict.signer, o.verdict.digest) {
            if let Some(c) = class_of(store, s, d.algo()) {
                *counts.entry(c).or_default() += 1;
            }
        }
    }
    counts.into_iter().max_by_key(|c| c.1).map(|c| c.0)
}

fn print_non_valid(items: &[Item], outs: &[engine::Outcome]) {
    let bad: Vec<_> = items
        .iter()
        .zip(outs)
        .filter(|(_, o)| o.verdict.errno.is_some())
        .collect();
    if bad.is_empty() {
        println!("every item is valid");
        return;
    }
    println!("## Items that are not valid ({})\n", bad.len());
    for (i, o) in bad {
        println!(
            "- {}: {} {} ({})",
            i.path.display(),
            o.verdict.class.name(),
            o.verdict.errno.map(|e| e.name()).unwrap_or_default(),
            o.verdict.reason
        );
    }
}
