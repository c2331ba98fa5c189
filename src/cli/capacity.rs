//! `trustbench capacity`: a thread sweep (measured now, or read from saved run reports) →
//! [`capacity::plan`] → the JSON report, its SVG plot and the Markdown answers → exit code.

use super::exports::ExportArgs;
use super::run::{here, name_of, CorpusArgs};
use super::setup::TrustArgs;
use super::verify::{ImaArgs, KindArg};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use trustbench::measure::capacity::{self, CapacityReport, Question, Sweep};
use trustbench::measure::export::{self, Format, Json, Markdown, Svg};
use trustbench::measure::{self, BenchConfig, Observer, Phase, RunReport};
use trustbench::Error;

#[derive(Args, Debug)]
pub struct CapacityArgs {
    /// The corpus of the sweep (as `run`): --corpus DIR, or --spec FILE generated on first
    /// use [default: the built-in default spec].
    #[command(flatten)]
    pub source: CorpusArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Which files of a plain directory tree to verify (as `run --kind`).
    #[arg(long, value_enum, default_value_t = KindArg::Auto)]
    pub kind: KindArg,
    #[command(flatten)]
    pub ima: ImaArgs,
    /// The sweep runs cold passes at 1..=T threads [default: all logical CPUs].
    #[arg(long, value_name = "T")]
    pub threads: Option<usize>,
    /// Milliseconds per raw-primitive measurement of the sweep (one per thread count).
    #[arg(long, default_value_t = 150)]
    pub calibration_ms: u64,
    /// Fit the scaling curves (`scaling[]`) of saved run reports instead of measuring:
    /// reports of `trustbench run --scaling`, e.g. recorded on a machine with more cores.
    /// Several files pool their points; they must come from one testbed and one corpus.
    #[arg(long, value_name = "FILE", num_args = 1..,
          conflicts_with_all = ["corpus", "spec", "corpus_cache", "threads"])]
    pub from: Vec<PathBuf>,
    /// Items to plan for [default: the corpus's item count].
    #[arg(long, value_name = "N")]
    pub items: Option<u64>,
    /// Core counts to project, comma separated [default: 1,2,4,8,16,32,64].
    #[arg(long, value_name = "C", value_delimiter = ',')]
    pub cores: Vec<u64>,
    /// Deadline in seconds: the fewest cores that verify the items within it.
    #[arg(long, value_name = "S")]
    pub deadline: Option<f64>,
    /// The report is saved here as STAMP-CORPUS.json, with its plot as STAMP-CORPUS.svg
    /// [default: results/capacity under the current directory].
    #[arg(long, value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
    /// Write the plot here instead of next to the saved report.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// The report in other formats (JSON schema `trustbench.capacity/1`; CSV: one row per
    /// projected core count).
    #[command(flatten)]
    pub exports: ExportArgs,
    /// Print only the summary line (stderr), not the report.
    #[arg(long)]
    pub quiet: bool,
}

/// The sweep's phases on stderr.
struct Progress;

impl Observer for Progress {
    fn phase(&mut self, p: Phase<'_>) {
        if let Phase::Scaling { threads } = p {
            eprintln!("trustbench: sweep: cold pass and raw primitive at {threads} thread(s)");
        }
    }
}

pub fn run(a: CapacityArgs) -> Result<ExitCode, Error> {
    let (sweep, findings) = if a.from.is_empty() {
        measure_sweep(&a)?
    } else {
        (read_sweep(&a.from)?, 0)
    };
    let q = Question {
        items: a.items,
        cores: a.cores.clone(),
        deadline_s: a.deadline,
    };
    let report = capacity::plan(&sweep, &q, trustbench::timing::unix_seconds())?;

    let dir = a
        .results_dir
        .clone()
        .unwrap_or_else(|| here("results/capacity"));
    let stem = format!(
        "{}-{}",
        report.created_unix,
        name_of(Path::new(&report.corpus.dir))
    );
    let saved = dir.join(format!("{stem}.{}", Json.extension()));
    let svg = a
        .svg
        .clone()
        .unwrap_or_else(|| dir.join(format!("{stem}.{}", Svg.extension())));
    export::write(&Json, &report, &saved)?;
    export::write(&Svg, &report, &svg)?;
    a.exports.write(&report)?;
    if !a.quiet {
        println!("{}", Markdown.render_capacity(&report));
    }
    summary(&report, &saved, &svg);
    Ok(if findings == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs the benchmark with the scaling curve on the corpus of the options. One cold pass
/// runs first: it finds the corpus's dominant signature class (whose raw rate is the
/// primitive's curve) and checks the verdicts against the manifest. Returns the sweep and
/// how many findings (manifest mismatches, multi-buffer disagreements) the run had.
fn measure_sweep(a: &CapacityArgs) -> Result<(Sweep, usize), Error> {
    let (corpus, spec_hash) = a.source.resolve(a.quiet)?;
    let store = a.trust.build()?;
    let config = BenchConfig {
        spec_hash,
        kind: a.kind.only(),
        threads: a.threads,
        passes: vec!["cold".into()],
        ima_check_blacklist: a.ima.ima_check_blacklist,
        ima_rule: a.ima.rule(),
        ima_source: a.ima.source(),
        scaling: true,
        calibration: Duration::from_millis(a.calibration_ms),
        ..BenchConfig::new(&corpus)
    };
    let report = if a.quiet {
        measure::bench(&config, store, &mut ())?
    } else {
        measure::bench(&config, store, &mut Progress)?
    };
    let findings = findings(&report);
    let sweep = Sweep::pool(vec![("measured by this run".into(), report)])?;
    Ok((sweep, findings))
}

/// Manifest mismatches and multi-buffer disagreements of the sweep's run, named on stderr:
/// the figures of a run that got verdicts wrong are not a capacity.
fn findings(r: &RunReport) -> usize {
    let mismatches = r.manifest.as_ref().map_or(0, |m| m.count());
    if mismatches > 0 {
        eprintln!(
            "trustbench: {mismatches} verdicts of the sweep's run disagree with the manifest (run `trustbench run` on the corpus to see them)"
        );
    }
    if r.mb_disagreements > 0 {
        eprintln!(
            "trustbench: internal error: {} multi-buffer results differ from the single-op backend's",
            r.mb_disagreements
        );
    }
    mismatches + r.mb_disagreements as usize
}

/// The pooled sweep of saved run reports.
fn read_sweep(files: &[PathBuf]) -> Result<Sweep, Error> {
    let reports = files
        .iter()
        .map(|p| Ok((p.display().to_string(), Json.read(p)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    Sweep::pool(reports)
}

/// The one line `--quiet` keeps (stderr).
fn summary(r: &CapacityReport, saved: &Path, svg: &Path) {
    let weak = if r.engine.weak.is_some() || r.primitive.weak.is_some() {
        " (WEAK FIT: see the report)"
    } else {
        ""
    };
    eprintln!(
        "trustbench: capacity for {} items: engine {} (R² {}), primitive {}{weak}; report {}, plot {}",
        r.items,
        r.engine.chosen.name(),
        r.engine
            .chosen_fit()
            .r_squared
            .map_or("-".into(), |v| format!("{v:.4}")),
        r.primitive.chosen.name(),
        saved.display(),
        svg.display()
    );
}
