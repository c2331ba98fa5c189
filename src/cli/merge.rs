//! `trustbench merge`: joins the JSON reports of `run --shard K/N` into one.

use super::exports::ExportArgs;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use trustbench::measure::export::{Json, Markdown};
use trustbench::measure::verdicts::VerdictsReport;
use trustbench::measure::RunReport;
use trustbench::Error;

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Shard reports (JSON written by `run --json` or under `run --results-dir`; with
    /// --verdicts-only also reports an earlier `merge --verdicts-only` wrote).
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// Join only the verdict, manifest and cache counts, from any testbeds (machines, CPUs,
    /// kernels, crypto libraries), into a report with no timing figure (schema
    /// trustbench.verdicts/1). Without it, reports from different testbeds are refused:
    /// their timings do not add up.
    #[arg(long)]
    pub verdicts_only: bool,
    /// The merged report in other formats.
    #[command(flatten)]
    pub exports: ExportArgs,
}

pub fn run(a: MergeArgs) -> Result<ExitCode, Error> {
    let bad = if a.verdicts_only {
        let reports = a.reports.iter().map(|p| Json.read_any(p));
        let merged = reports
            .collect::<Result<Vec<_>, Error>>()
            .and_then(VerdictsReport::merge_any)?;
        a.exports.write(&merged)?;
        println!("{}", Markdown.render_verdicts(&merged));
        merged.has_findings()
    } else {
        let reports = a.reports.iter().map(|p| Json.read(p));
        let merged = reports
            .collect::<Result<Vec<_>, Error>>()
            .and_then(RunReport::merge)?;
        a.exports.write(&merged)?;
        println!("{}", Markdown.render(&merged));
        merged.manifest.as_ref().is_some_and(|m| m.count() > 0)
    };
    Ok(if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
