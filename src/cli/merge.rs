//! `trustbench merge`: joins the JSON reports of `run --shard K/N` into one.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use trustbench::measure::export::{self, Csv, Exporter, Json, Markdown};
use trustbench::measure::RunReport;
use trustbench::Error;

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Shard reports (JSON written by `run --json` or under `run --results-dir`).
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// Write the merged JSON report here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write one CSV row per merged pass here.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write the merged Markdown report (the one printed) here.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

pub fn run(a: MergeArgs) -> Result<ExitCode, Error> {
    let reports = a.reports.iter().map(|p| Json.read(p));
    let merged = reports
        .collect::<Result<Vec<_>, Error>>()
        .and_then(RunReport::merge)?;
    let asked: [(&dyn Exporter, &Option<PathBuf>); 3] =
        [(&Json, &a.json), (&Csv, &a.csv), (&Markdown, &a.markdown)];
    for (e, path) in asked {
        if let Some(p) = path {
            export::write(e, &merged, p)?;
        }
    }
    println!("{}", Markdown.render(&merged));
    let bad = merged.manifest.as_ref().is_some_and(|m| m.count() > 0);
    Ok(if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
