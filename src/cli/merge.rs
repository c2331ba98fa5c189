//! `trustbench merge`: joins the JSON reports of `run --shard K/N` into one.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use trustbench::measure::report::RunReport;

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Shard reports (JSON written by `run --json` or under results/runs/).
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

pub fn run(a: MergeArgs) -> Result<ExitCode, String> {
    let mut reports = Vec::new();
    for p in &a.reports {
        let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        let r: RunReport = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a run report: {e}", p.display()))?;
        reports.push(r);
    }
    let merged = RunReport::merge(reports)?;
    for (path, text) in [
        (&a.json, merged.to_json()),
        (&a.csv, merged.to_csv()),
        (&a.markdown, merged.to_markdown()),
    ] {
        if let Some(p) = path {
            std::fs::write(p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        }
    }
    println!("{}", merged.to_markdown());
    let bad = merged
        .manifest
        .as_ref()
        .is_some_and(|m| !m.mismatches.is_empty());
    Ok(if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
