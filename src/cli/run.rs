//! `trustbench run`: the main job. Arguments → [`BenchConfig`] → [`measure::bench`] →
//! exporters → exit code. Everything the run writes by default goes under the current
//! directory (`corpora/generated/`, `results/runs/`, `flamegraphs/`), or where an option
//! says; never into the tree the binary was built from.

use super::exports::ExportArgs;
use super::setup::{MmapArgs, TrustArgs};
use super::verify::{ImaArgs, KindArg};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use trustbench::engine::Item;
use trustbench::measure::export::{self, Exporter, Format, Json, Markdown};
use trustbench::measure::{self, BenchConfig, NotValid, Observer, Phase, RunReport, ShardArg};
use trustbench::trust::Store;
use trustbench::verify::Verdict;
use trustbench::Error;

/// The default spec, compiled in: `trustbench run` works from any directory.
#[cfg(feature = "generator")]
const DEFAULT_SPEC: &str = include_str!("../../corpora/default.toml");

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The corpus: --corpus DIR, or --spec FILE generated on first use.
    #[command(flatten)]
    pub source: CorpusArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Which files of a plain directory tree to verify: `module` takes only .ko/.ko.gz/
    /// .ko.xz/.ko.zst (e.g. /lib/modules/VERSION), `ima` only other files, `auto` both.
    #[arg(long, value_enum, default_value_t = KindArg::Auto)]
    pub kind: KindArg,
    /// Verify only shard K of N (1-based; items split by a stable hash of their path), for
    /// splitting a huge corpus across CI jobs; join the JSON reports with `trustbench merge`.
    /// `auto`: K and N from the scheduler (Kubernetes Indexed Job, Slurm array, or
    /// TRUSTBENCH_SHARD=K/N; docs/fleet.md). Example: --shard 2/8, --shard auto
    #[arg(long, value_name = "K/N|auto")]
    pub shard: Option<ShardArg>,
    /// Worker threads [default: all logical CPUs].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Passes to run, in order.
    #[arg(long, value_delimiter = ',', default_value = "cold,warm")]
    pub passes: Vec<String>,
    /// Verdict cache entries (0 disables the cache).
    #[arg(long, default_value_t = 1 << 20)]
    pub cache_size: usize,
    /// Memory mapping of large files (off by default).
    #[command(flatten)]
    pub mmap: MmapArgs,
    /// IMA policy: rule, blacklist (always on for generated corpora under the default
    /// rule), label source. With --ima-accept-hash a generated corpus's manifest is read
    /// with that rule's verdicts (hash labels compared, blacklist not consulted).
    #[command(flatten)]
    pub ima: ImaArgs,
    /// Also run cold passes (cache off) at 1..=N threads and report scaling against the raw
    /// primitive's own scaling.
    #[arg(long)]
    pub scaling: bool,
    /// Measured repeats of the passes, each from an empty cache: figures are medians with
    /// 95% bootstrap intervals, outliers flagged (more repeats: narrower intervals).
    #[arg(long, value_name = "N", default_value_t = measure::DEFAULT_REPEAT,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub repeat: usize,
    /// Unmeasured rounds of the passes first (page cache, allocator, CPU clocks).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub warmup: usize,
    /// Milliseconds that cap one ceiling burst (a sixth of this; the ceiling is measured
    /// in bursts between slices of every pass) and, under `--mmap`, time the mmap
    /// threshold.
    #[arg(long, default_value_t = 150)]
    pub calibration_ms: u64,
    #[command(flatten)]
    pub out: Box<OutputArgs>,
    /// Stream every verdict of the first pass to FILE as JSON Lines (the record of `verify
    /// --json`, one per item, in corpus order), written as each slice of the pass finishes:
    /// nothing is held in memory, and an interrupted run leaves every verdict it decided.
    #[arg(long, value_name = "FILE")]
    pub verdicts: Option<PathBuf>,
    /// Print only the summary line (no progress either).
    #[arg(long)]
    pub quiet: bool,
}

/// What `run` shows and writes while it runs: a progress bar per phase on a terminal (one
/// line per phase on stderr otherwise), the items that are not valid, and with
/// `--verdicts FILE` every verdict of the first pass streamed to disk as it is decided.
struct RunObserver {
    not_valid: NotValid,
    quiet: bool,
    terminal: bool,
    /// Items in one pass: a pass's bar length.
    items: u64,
    bar: Option<indicatif::ProgressBar>,
    verdicts: Option<(PathBuf, std::io::BufWriter<std::fs::File>)>,
    rule: trustbench::verify::ima::ImaRule,
    /// The first failed write of `--verdicts` (reported at the end; the run goes on).
    write_error: Option<std::io::Error>,
}

impl Observer for RunObserver {
    fn phase(&mut self, p: Phase<'_>) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        if self.quiet {
            return;
        }
        if let Phase::Calibrate { items } = p {
            self.items = items as u64;
        }
        if !self.terminal {
            eprintln!("trustbench: {p}");
            return;
        }
        let counts_items = matches!(
            p,
            Phase::WarmUp { .. } | Phase::Pass { .. } | Phase::Scaling { .. }
        );
        let bar = if counts_items {
            super::progress::bar(self.items, false)
        } else {
            let s = indicatif::ProgressBar::new_spinner();
            s.enable_steady_tick(Duration::from_millis(120));
            s
        };
        bar.set_message(p.to_string());
        self.bar = Some(bar);
    }

    fn advanced(&mut self, n: usize) {
        if let Some(b) = &self.bar {
            b.inc(n as u64);
        }
    }

    fn not_valid(&mut self, item: &Item, v: &Verdict) {
        self.not_valid.not_valid(item, v);
    }

    fn checked(&mut self, store: &Store, item: &Item, v: &Verdict) {
        use std::io::Write;
        let Some((_, out)) = &mut self.verdicts else {
            return;
        };
        if self.write_error.is_some() {
            return;
        }
        let rec = super::verify::verdict_json(store, &item.path, v, self.rule);
        if let Err(e) = writeln!(out, "{rec}") {
            self.write_error = Some(e);
        }
    }
}

impl RunObserver {
    /// Flushes the streamed verdicts; the first write error, with the file's path.
    fn finish(&mut self) -> Result<(), Error> {
        use std::io::Write;
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        if let Some((path, mut out)) = self.verdicts.take() {
            if let Some(e) = self.write_error.take() {
                return Err(Error::io(path, e));
            }
            out.flush().map_err(|e| Error::io(&path, e))?;
        }
        Ok(())
    }
}

/// Where the report goes.
#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Every run saves its JSON report here as STAMP-CORPUS.json [default: results/runs
    /// under the current directory].
    #[arg(long, value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
    /// The report in other formats.
    #[command(flatten)]
    pub exports: ExportArgs,
    /// Profile the passes with pprof and write a flamegraph SVG [default, also chosen by
    /// the value `auto`: flamegraphs/STAMP-CORPUS.svg under the current directory].
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "auto")]
    pub flamegraph: Option<PathBuf>,
}

impl OutputArgs {
    /// The flamegraph to write, `auto` resolved.
    fn flamegraph_for(&self, corpus: &Path) -> Option<PathBuf> {
        let p = self.flamegraph.as_ref()?;
        if p.as_os_str() != "auto" {
            return Some(p.clone());
        }
        let stamp = trustbench::timing::unix_seconds();
        Some(here("flamegraphs").join(format!("{stamp}-{}.svg", name_of(corpus))))
    }

    /// Where every run's JSON report is saved.
    fn saved_report(&self, report: &RunReport, corpus: &Path) -> PathBuf {
        let dir = self.results_dir.clone();
        let name = format!(
            "{}-{}.{}",
            report.created_unix,
            name_of(corpus),
            Json.extension()
        );
        dir.unwrap_or_else(|| here("results/runs")).join(name)
    }
}

/// `rel` under the current directory (a relative path if that is unknown).
pub(super) fn here(rel: &str) -> PathBuf {
    std::env::current_dir().unwrap_or_default().join(rel)
}

pub(super) fn name_of(dir: &Path) -> String {
    dir.file_name()
        .map_or("run".into(), |n| n.to_string_lossy().into_owned())
}

/// Where a command's corpus comes from: `--corpus DIR`, or `--spec FILE` (default: the
/// built-in default spec) generated into the corpus cache on first use. Flattened into
/// `run` and `backends`, so both take the same corpus the same way. (A build without the
/// generator reads only `--corpus`.)
#[derive(Args, Debug)]
pub struct CorpusArgs {
    /// A corpus directory: generated (has manifest.tsv and keyring.script) or any tree of
    /// modules and IMA-signed files (then give --trust/--keyring-setup).
    #[arg(long, value_name = "DIR", conflicts_with = "spec")]
    pub corpus: Option<PathBuf>,
    /// Generate (once, cached by spec hash) and use this spec [default: the built-in copy
    /// of corpora/default.toml].
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// Where specs are generated and reused, as DIR/NAME-SPECHASH [default:
    /// corpora/generated under the current directory].
    #[arg(long, value_name = "DIR", conflicts_with = "corpus")]
    pub corpus_cache: Option<PathBuf>,
}

impl CorpusArgs {
    /// The corpus directory and its spec hash (none for `--corpus`); `quiet` says nothing
    /// while generating.
    pub fn resolve(&self, quiet: bool) -> Result<(PathBuf, Option<String>), Error> {
        match &self.corpus {
            Some(d) => Ok((d.clone(), None)),
            None => self.spec_corpus(quiet),
        }
    }

    /// The corpus of `--spec` (default: the built-in corpora/default.toml), generated into
    /// the corpus cache on first use, and its spec hash.
    #[cfg(feature = "generator")]
    fn spec_corpus(&self, quiet: bool) -> Result<(PathBuf, Option<String>), Error> {
        use super::gen::{cache_dir, default_cache_root, generate, load_spec, parse_spec};
        let l = match &self.spec {
            Some(path) => load_spec(path, None)?,
            None => parse_spec(
                DEFAULT_SPEC.into(),
                Path::new("corpora/default.toml (built in)"),
                None,
            )?,
        };
        let root = self.corpus_cache.clone().unwrap_or_else(default_cache_root);
        let dir = cache_dir(&root, &l);
        if !dir.join("COMPLETE").exists() {
            if !quiet {
                let (name, d) = (&l.spec.name, dir.display());
                eprintln!("generating corpus '{name}' (first use) into {d}");
            }
            generate(&l, &dir, quiet)?;
        }
        Ok((dir, Some(l.hash)))
    }

    #[cfg(not(feature = "generator"))]
    fn spec_corpus(&self, _quiet: bool) -> Result<(PathBuf, Option<String>), Error> {
        Err(Error::usage(
            "this build has no corpus generator (built without the `generator` feature); \
             use --corpus DIR",
        ))
    }
}

pub fn run(a: RunArgs) -> Result<ExitCode, Error> {
    let (corpus, spec_hash) = a.source.resolve(a.quiet)?;
    // From here on SIGINT/SIGTERM stop the run and leave a partial report (generating the
    // corpus above is not interruptible this way: a killed generation leaves no COMPLETE
    // marker, so the next run generates it again).
    trustbench::engine::interrupt::install();
    let store = a.trust.build()?;
    let flamegraph = a.out.flamegraph_for(&corpus);
    let config = BenchConfig {
        corpus: corpus.clone(),
        spec_hash,
        kind: a.kind.only(),
        shard: a.shard.map(ShardArg::resolve).transpose()?,
        threads: a.threads,
        passes: a.passes.clone(),
        cache_size: a.cache_size,
        mmap: a.mmap.policy(),
        ima_check_blacklist: a.ima.ima_check_blacklist,
        ima_rule: a.ima.rule(),
        ima_source: a.ima.source(),
        scaling: a.scaling,
        repeat: a.repeat,
        warmup: a.warmup,
        calibration: Duration::from_millis(a.calibration_ms),
        flamegraph: flamegraph.clone(),
    };
    let verdicts = match &a.verdicts {
        Some(p) => {
            let f = std::fs::File::create(p).map_err(|e| Error::io(p, e))?;
            Some((p.clone(), std::io::BufWriter::new(f)))
        }
        None => None,
    };
    let mut observer = RunObserver {
        not_valid: NotValid::default(),
        quiet: a.quiet,
        terminal: super::progress::stderr_is_terminal(),
        items: 0,
        bar: None,
        verdicts,
        rule: a.ima.rule(),
        write_error: None,
    };
    let report = measure::bench(&config, store, &mut observer);
    observer.finish()?;
    let report = report?;
    let not_valid = &observer.not_valid;

    // Outputs: the saved JSON report, then whatever the options ask for.
    let saved = a.out.saved_report(&report, &corpus);
    let write = |e: &dyn Exporter, p: &Path| export::write(e, &report, p);
    write(&Json, &saved)?;
    a.out.exports.write(&report)?;
    if !a.quiet {
        println!("{}", Markdown.render(&report));
        // A plain tree has no manifest: name what is not valid instead.
        if report.manifest.is_none() {
            print!("{not_valid}");
        }
    }
    if let Some(f) = &flamegraph {
        eprintln!("trustbench: flamegraph {}", f.display());
    }
    summary(&report, &saved);
    if let Some(p) = &report.partial {
        eprintln!("trustbench: PARTIAL run: {p}; report {}", saved.display());
        // The shell's convention for a process ended by a signal: 128 + its number.
        let code = match p.signal.as_deref() {
            Some("SIGTERM") => 128 + 15,
            _ => 128 + 2,
        };
        return Ok(ExitCode::from(code));
    }
    let mismatches = report.manifest.as_ref().map_or(0, |m| m.count());
    let unexpected = report.link.as_ref().map_or(0, |l| l.unexpected.len());
    if report.mb_disagreements > 0 {
        eprintln!(
            "trustbench: internal error: {} multi-buffer results differ from the single-op backend's (their items are not verdicts); please report this with the corpus",
            report.mb_disagreements
        );
    }
    Ok(
        if mismatches == 0 && unexpected == 0 && report.mb_disagreements == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}

/// The one line `--quiet` keeps (stderr).
fn summary(report: &RunReport, saved: &Path) {
    let Some(cold) = report.passes.first() else {
        return;
    };
    let warm = report
        .warm_over_cold
        .map_or(String::new(), |w| format!("warm {w:.1}× cold, "));
    let unsupported = match report
        .manifest
        .as_ref()
        .map_or(0, |m| m.backend_unsupported)
    {
        0 => String::new(),
        n => format!(" ({n} items not compared: the backend lacks their crypto)"),
    };
    let e = &cold.estimates.efficiency;
    let interval = match cold.repeats {
        1 => String::new(),
        n => format!(" [{:.3}, {:.3}] over {n} repeats", e.ci_low, e.ci_high),
    };
    eprintln!(
        "trustbench: {} items, backend {}, cold {:.0} items/s (efficiency {:.3}{interval}), {warm}{} manifest mismatches{unsupported}; report {}",
        cold.items,
        report.versions.backend,
        cold.items_per_s,
        cold.efficiency,
        report.manifest.as_ref().map_or(0, |m| m.count()),
        saved.display()
    );
}

#[cfg(all(test, feature = "generator"))]
mod tests {
    #[test]
    fn the_built_in_spec_is_the_default_spec_and_parses() {
        let l =
            super::super::gen::parse_spec(super::DEFAULT_SPEC.into(), "built-in".as_ref(), None)
                .expect("built-in spec");
        assert_eq!(l.spec.name, "default");
    }
}
