//! `trustbench merge`: joins the JSON reports of `run --shard K/N` into one.

use super::exports::ExportArgs;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use trustbench::measure::export::{Json, Markdown};
use trustbench::measure::RunReport;
use trustbench::Error;

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Shard reports (JSON written by `run --json` or under `run --results-dir`).
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// The merged report in other formats.
    #[command(flatten)]
    pub exports: ExportArgs,
}

pub fn run(a: MergeArgs) -> Result<ExitCode, Error> {
    let reports = a.reports.iter().map(|p| Json.read(p));
    let merged = reports
        .collect::<Result<Vec<_>, Error>>()
        .and_then(RunReport::merge)?;
    a.exports.write(&merged)?;
    println!("{}", Markdown.render(&merged));
    let bad = merged.manifest.as_ref().is_some_and(|m| m.count() > 0);
    Ok(if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
