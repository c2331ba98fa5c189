//! `trustbench pq`: the post-quantum migration question in one command. The spec (default:
//! the built-in copy of corpora/pq-migration.toml) is signed every way asked for
//! (`Spec::signed_with`), each variant generated once into the corpus cache, then
//! [`pq::compare`] measures them round robin under Linux 7.2's rules → the tables on
//! stdout, the JSON, Markdown, SVG and HTML in the results directory → exit code.

use super::gen::{cache_dir, default_cache_root, generate, parse_spec};
use super::run::here;
use super::setup::TrustArgs;
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use trustbench::corpus::keys::KeyAlgo;
use trustbench::corpus::spec::Spec;
use trustbench::measure::export::{self, Exporter, Html, Json, Markdown, Svg};
use trustbench::measure::pq::{self, PqConfig, PqReport, Variant, DEFAULT_ALGORITHMS};
use trustbench::measure::sweep::{Point, SweepObserver};
use trustbench::Error;

/// The migration spec built into the binary, so `trustbench pq` needs no checkout.
const PQ_SPEC: &str = include_str!("../../corpora/pq-migration.toml");

/// What moving module signing and IMA appraisal to ML-DSA costs on this machine.
///
/// Generates one distribution's module set (Debian 6.12's measured module sizes) and a set
/// of IMA v3 files, signed with each algorithm (the same modules, sizes and order), then
/// measures, interleaved round robin under Linux 7.2's rules: verify time for the whole
/// module set on 1 and N cores, per-module p50/p99, bytes added on disk, and IMA v3
/// appraisal throughput, each as a ratio to the first algorithm (RSA-4096). This kernel
/// has no ML-DSA: the figures are the userspace backend's, and the report says so.
///
/// Example: `trustbench pq` (the whole tree, a few minutes and ~2.5 GB of corpora on first
/// use); `trustbench pq --modules 400 --files 200 --rounds 3` (a quick answer).
#[derive(Args, Debug)]
pub struct PqArgs {
    /// The corpus spec to sign every way [default: the built-in corpora/pq-migration.toml].
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// The algorithms, the baseline first (the ratios divide by it): rsa2048, rsa3072,
    /// rsa4096, p256, p384, ml-dsa-44, ml-dsa-65, ml-dsa-87.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_ALGORITHMS.map(String::from))]
    pub algorithms: Vec<String>,
    /// Use this many modules instead of the spec's count (a quicker answer on a sample of
    /// the same size distribution).
    #[arg(long, value_name = "N")]
    pub modules: Option<usize>,
    /// Use this many IMA files instead of the spec's count.
    #[arg(long, value_name = "N")]
    pub files: Option<usize>,
    /// The N of "N cores" [default: all logical CPUs].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Round-robin rounds: measured repeats of every (algorithm, kind, threads) point.
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub rounds: usize,
    /// Milliseconds that cap one ceiling burst (as `run`).
    #[arg(long, default_value_t = 150)]
    pub calibration_ms: u64,
    /// Where the variants are generated and reused, as DIR/NAME-SPECHASH [default:
    /// corpora/generated under the current directory].
    #[arg(long, value_name = "DIR")]
    pub corpus_cache: Option<PathBuf>,
    /// The crypto backend (as `run --backend`).
    #[arg(long = "backend", value_name = "NAME")]
    pub backend: Option<String>,
    /// The report is saved here as STAMP-pq.{json,md,svg,html} [default: results/pq under
    /// the current directory].
    #[arg(long, value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
    /// Print only the summary line.
    #[arg(long)]
    pub quiet: bool,
}

/// A progress bar over the comparison's runs (drawn only on a terminal).
struct Bar(indicatif::ProgressBar);

impl SweepObserver for Bar {
    fn step(&mut self, done: usize, round: usize, point: &Point) {
        let what: Vec<String> = point.iter().map(|(_, v)| v.clone()).collect();
        self.0.set_position(done as u64);
        self.0
            .set_message(format!("round {} {}", round + 1, what.join(" ")));
    }
}

pub fn run(a: PqArgs) -> Result<ExitCode, Error> {
    let (origin, text) = match &a.spec {
        Some(p) => (
            p.clone(),
            std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?,
        ),
        None => (
            PathBuf::from("corpora/pq-migration.toml (built in)"),
            PQ_SPEC.to_string(),
        ),
    };
    let mut base = Spec::parse(&text, &origin)?;
    if let Some(n) = a.modules {
        base.modules.count = n;
    }
    if let Some(n) = a.files {
        base.files.count = n;
    }
    let root = a.corpus_cache.clone().unwrap_or_else(default_cache_root);
    let mut variants = Vec::new();
    for name in &a.algorithms {
        let algo: KeyAlgo = name
            .parse()
            .map_err(|e| Error::usage(format!("--algorithms: {e}")))?;
        variants.push(variant(&base.signed_with(algo), &origin, &root, a.quiet)?);
    }
    let trust = TrustArgs {
        crypto: "full".into(),
        kernel_profile: pq::PQ_KERNEL,
        backend: a.backend.clone(),
        ..TrustArgs::default()
    };
    let threads = a.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let config = PqConfig {
        variants,
        threads,
        rounds: a.rounds,
        calibration: Duration::from_millis(a.calibration_ms),
    };
    let kinds = 2 * if threads > 1 { 2 } else { 1 };
    let bar = super::progress::bar((config.variants.len() * kinds * a.rounds) as u64, a.quiet);
    let mut observer = Bar(bar);
    let report = pq::compare(&config, &mut || trust.build(), &mut observer)?;
    observer.0.finish_and_clear();

    let dir = a.results_dir.clone().unwrap_or_else(|| here("results/pq"));
    let stamp = trustbench::timing::unix_seconds();
    let outputs: [&dyn Exporter<PqReport>; 4] = [&Json, &Markdown, &Svg, &Html];
    let mut saved = Vec::new();
    for e in outputs {
        let ext = if e.name() == "markdown" {
            "md"
        } else {
            e.extension()
        };
        let path = dir.join(format!("{stamp}-pq.{ext}"));
        export::write(e, &report, &path)?;
        saved.push(path);
    }
    if !a.quiet {
        let md = Markdown.export(&report)?;
        println!("{}", String::from_utf8_lossy(&md));
    }
    let findings = report.findings();
    eprintln!(
        "trustbench: pq over {} algorithms ({} modules, {} IMA files each), {findings} items not valid or mismatched; reports {}",
        report.rows.len(),
        report.rows.first().map_or(0, |r| r.modules),
        report.rows.first().map_or(0, |r| r.ima_files),
        saved
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(if findings == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The corpus of `spec` (one signing of the base spec), generated into the cache on first
/// use. Its text is the variant spec itself, so the corpus's spec.toml and its cache name
/// say exactly what it is.
fn variant(spec: &Spec, origin: &Path, root: &Path, quiet: bool) -> Result<Variant, Error> {
    let text = toml::to_string(spec).map_err(|e| Error::Spec {
        path: origin.to_path_buf(),
        message: e.to_string(),
    })?;
    let l = parse_spec(text, origin, None)?;
    let dir = cache_dir(root, &l);
    if !dir.join("COMPLETE").exists() {
        if !quiet {
            eprintln!(
                "generating corpus '{}' (first use) into {}",
                l.spec.name,
                dir.display()
            );
        }
        generate(&l, &dir, quiet)?;
    }
    let label = spec
        .keys
        .module_signers
        .first()
        .map_or_else(|| spec.name.clone(), |a| a.label());
    Ok(Variant {
        label,
        corpus: dir,
        spec_hash: Some(l.hash),
    })
}
