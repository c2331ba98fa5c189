//! `trustbench bench --sweep NAME=V1,V2 ...`: one benchmark over every combination of the
//! swept settings → [`sweep::sweep`] → one comparison table, the saved JSON and the
//! exporters → exit code.

use super::exports::ExportArgs;
use super::run::{here, CorpusArgs};
use super::setup::TrustArgs;
use super::verify::{ImaArgs, KindArg};
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use trustbench::measure::export::{self, Json, Markdown};
use trustbench::measure::sweep::{self, Axis, Point, SweepObserver};
use trustbench::measure::{BenchConfig, DEFAULT_REPEAT};
use trustbench::Error;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// A setting to vary, with its values: threads=1,2 | backend=mb,aws-lc,… | spec=a.toml,b.toml.
    /// Repeat for more settings: every combination runs.
    #[arg(long, value_name = "NAME=V1,V2", value_parser = parse_axis)]
    pub sweep: Vec<Axis>,
    /// Round-robin rounds: each round runs one measured repeat of every combination (the
    /// first rotating), so drift lands on all alike; figures are medians over the rounds.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_REPEAT,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub rounds: usize,
    /// The corpus when `spec` is not swept (as `run`).
    #[command(flatten)]
    pub source: CorpusArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Which files of a plain directory tree to verify (as `run --kind`).
    #[arg(long, value_enum, default_value_t = KindArg::Auto)]
    pub kind: KindArg,
    #[command(flatten)]
    pub ima: ImaArgs,
    /// Worker threads when `threads` is not swept [default: all logical CPUs].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Passes of each run, in order.
    #[arg(long, value_delimiter = ',', default_value = "cold,warm")]
    pub passes: Vec<String>,
    /// Milliseconds that cap one ceiling burst (as `run`).
    #[arg(long, default_value_t = 150)]
    pub calibration_ms: u64,
    /// The sweep's JSON report is saved here as STAMP-sweep.json [default: results/sweeps
    /// under the current directory].
    #[arg(long, value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
    /// The report in other formats.
    #[command(flatten)]
    pub exports: ExportArgs,
    /// Print only the summary line.
    #[arg(long)]
    pub quiet: bool,
}

fn parse_axis(s: &str) -> Result<Axis, String> {
    s.parse().map_err(|e: Error| e.to_string())
}

/// A progress bar over the sweep's runs, on stderr when it is a terminal (indicatif draws
/// nothing otherwise).
struct Bar(indicatif::ProgressBar);

impl SweepObserver for Bar {
    fn step(&mut self, done: usize, round: usize, point: &Point) {
        let what: Vec<String> = point.iter().map(|(k, v)| format!("{k}={v}")).collect();
        self.0.set_position(done as u64);
        self.0
            .set_message(format!("round {} {}", round + 1, what.join(" ")));
    }
}

pub fn run(a: BenchArgs) -> Result<ExitCode, Error> {
    // Corpora first: generation is not part of any round.
    let mut corpora: BTreeMap<Option<String>, (PathBuf, Option<String>)> = BTreeMap::new();
    let specs: Vec<Option<String>> = match a.sweep.iter().find(|x| x.name == "spec") {
        Some(axis) => axis.values.iter().cloned().map(Some).collect(),
        None => vec![None],
    };
    for spec in specs {
        let source = match &spec {
            Some(path) => CorpusArgs {
                corpus: None,
                spec: Some(PathBuf::from(path)),
                corpus_cache: a.source.corpus_cache.clone(),
            },
            None => CorpusArgs {
                corpus: a.source.corpus.clone(),
                spec: a.source.spec.clone(),
                corpus_cache: a.source.corpus_cache.clone(),
            },
        };
        corpora.insert(spec, source.resolve(a.quiet)?);
    }
    let runs = sweep::points(&a.sweep)?.len() * a.rounds;
    let bar = super::progress::bar(runs as u64, a.quiet);
    let mut setup = |p: &Point| -> Result<(BenchConfig, trustbench::trust::Store), Error> {
        let spec = sweep::value(p, "spec").map(String::from);
        let (dir, hash) = corpora
            .get(&spec)
            .cloned()
            .ok_or_else(|| Error::usage("internal: corpus not resolved"))?;
        let threads = match sweep::value(p, "threads") {
            Some(t) => Some(
                t.parse()
                    .map_err(|_| Error::usage(format!("threads={t}")))?,
            ),
            None => a.threads,
        };
        let store = match sweep::value(p, "backend") {
            Some(name) => a.trust.build_with(
                trustbench::crypto::backends::by_name(name)
                    .map_err(|e| Error::usage(e.to_string()))?,
            )?,
            None => a.trust.build()?,
        };
        let config = BenchConfig {
            spec_hash: hash,
            kind: a.kind.only(),
            threads,
            passes: a.passes.clone(),
            ima_check_blacklist: a.ima.ima_check_blacklist,
            ima_rule: a.ima.rule(),
            ima_source: a.ima.source(),
            calibration: Duration::from_millis(a.calibration_ms),
            ..BenchConfig::new(dir)
        };
        Ok((config, store))
    };
    let mut observer = Bar(bar);
    let report = sweep::sweep(&a.sweep, a.rounds, &mut setup, &mut observer)?;
    observer.0.finish_and_clear();

    let stamp = trustbench::timing::unix_seconds();
    let saved = a
        .results_dir
        .clone()
        .unwrap_or_else(|| here("results/sweeps"))
        .join(format!("{stamp}-sweep.json"));
    export::write(&Json, &report, &saved)?;
    a.exports.write(&report)?;
    if !a.quiet {
        println!("{}", Markdown.render_sweep(&report));
    }
    let findings = report.findings();
    eprintln!(
        "trustbench: sweep of {} combination(s) × {} round(s), {findings} manifest mismatches or disagreements; report {}",
        report.runs.len(),
        report.rounds,
        saved.display()
    );
    Ok(if findings == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
