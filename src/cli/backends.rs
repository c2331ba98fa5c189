//! `trustbench backends`: every compiled crypto backend on the same corpus, in one process.
//! Arguments → one trust store per backend → [`measure::backends::compare`] → exporters →
//! exit code (0: every backend agrees on every item, 1: some item's verdicts differ, 2:
//! usage or I/O).

use super::exports::ExportArgs;
use super::run::CorpusArgs;
use super::setup::{MmapArgs, TrustArgs};
use super::verify::{ImaArgs, KindArg};
use clap::Args;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use trustbench::crypto::faulty;
use trustbench::crypto::{self, backends::Listing, Backend};
use trustbench::measure::backends::{compare, BackendsConfig, BackendsReport};
use trustbench::measure::export::Markdown;
use trustbench::measure::{Observer, Phase};
use trustbench::Error;

#[derive(Args, Debug)]
#[command(mut_arg("backend", |a| a.hide(true)))]
pub struct BackendsArgs {
    /// The corpus: --corpus DIR (a generated one: each backend's keyrings are built from
    /// its keyring.script), or --spec FILE generated on first use.
    #[command(flatten)]
    pub source: CorpusArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Which files of a plain directory tree to verify (as `run --kind`).
    #[arg(long, value_enum, default_value_t = KindArg::Auto)]
    pub kind: KindArg,
    /// Worker threads for every figure and pass [default: all logical CPUs]. Verify/s is
    /// per thread, measured with this many threads verifying at once.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Round-robin rounds: in each, every backend's verify figures, then every backend's
    /// cold pass (interleaved chunk by chunk, the first backend rotating); every figure is
    /// the median of its rounds.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub rounds: u64,
    /// Milliseconds per verify figure per round (and for the shared I/O and digest costs).
    #[arg(long, default_value_t = 50)]
    pub calibration_ms: u64,
    /// IMA policy (as `run`).
    #[command(flatten)]
    pub ima: ImaArgs,
    /// Memory mapping of large files (as `run`; off by default).
    #[command(flatten)]
    pub mmap: MmapArgs,
    /// The comparison in other formats (JSON schema `trustbench.backends/1`).
    #[command(flatten)]
    pub exports: ExportArgs,
    /// Print only the summary line (stderr), not the tables.
    #[arg(long)]
    pub quiet: bool,
}

/// Every compiled backend, usable or with why not; with the deliberately wrong one when
/// the hidden test switch ([`faulty::ENV`]) is on.
pub fn listing() -> Vec<Listing> {
    let mut l = crypto::backends::compiled();
    if faulty::enabled() {
        l.push(Listing {
            name: faulty::NAME,
            backend: Ok(faulty_backend()),
        });
    }
    l
}

/// The faulty backend around the default one.
pub fn faulty_backend() -> Arc<dyn Backend> {
    Arc::new(faulty::Faulty::wrapping(crypto::default_backend()))
}

/// Phases on stderr, as they begin.
struct Progress;

impl Observer for Progress {
    fn phase(&mut self, p: Phase<'_>) {
        match p {
            Phase::Backend { name } => eprintln!("trustbench: building keyrings with {name}"),
            Phase::Calibrate { items } => {
                eprintln!("trustbench: sampling {items} items and measuring shared costs")
            }
            Phase::Round { round, of } => eprintln!("trustbench: round {round} of {of}"),
            _ => {}
        }
    }
}

pub fn run(a: BackendsArgs) -> Result<ExitCode, Error> {
    if let Some(b) = &a.trust.backend {
        return Err(Error::usage(format!(
            "`backends` runs every backend; for one, use `trustbench run --backend {b}`"
        )));
    }
    let (corpus, spec_hash) = a.source.resolve(a.quiet)?;
    let config = BackendsConfig {
        spec_hash,
        kind: a.kind.only(),
        threads: a.threads,
        rounds: a.rounds as usize,
        calibration: Duration::from_millis(a.calibration_ms),
        ima_check_blacklist: a.ima.ima_check_blacklist,
        ima_rule: a.ima.rule(),
        ima_source: a.ima.source(),
        mmap: a.mmap.policy(),
        ..BackendsConfig::new(corpus)
    };
    let build = |b: Arc<dyn Backend>| a.trust.build_with(b);
    let report = if a.quiet {
        compare(&config, listing(), &build, &mut ())?
    } else {
        compare(&config, listing(), &build, &mut Progress)?
    };
    a.exports.write(&report)?;
    if !a.quiet {
        println!("{}", Markdown.render_backends(&report));
    }
    summary(&report, a.quiet);
    Ok(if report.agree() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The one line `--quiet` keeps (stderr); under `--quiet` also the disagreeing items,
/// which the printed report names otherwise.
fn summary(r: &BackendsReport, quiet: bool) {
    let names: Vec<&str> = r.backends.iter().map(|b| b.name.as_str()).collect();
    let verdict = if r.agree() {
        "all agree".to_string()
    } else {
        format!("{} items DISAGREE", r.agreement.disagreeing)
    };
    eprintln!(
        "trustbench: {} backends ({}), {} items, {} compared: {verdict}",
        names.len(),
        names.join(", "),
        r.corpus.items,
        r.agreement.compared
    );
    if quiet {
        for d in &r.agreement.items {
            let v: Vec<String> = d
                .verdicts
                .iter()
                .map(|v| format!("{} {}", v.backend, v.verdict))
                .collect();
            eprintln!("trustbench: disagree: {}: {}", d.path, v.join(" · "));
        }
    }
}
