//! `--json FILE`, `--csv FILE`, `--markdown FILE`, `--bmf FILE`, `--html FILE`: the report
//! in other formats, for every command that produces a report (`run`, `merge`: run reports;
//! `backends`: a backend comparison). One struct, so that a new format is one exporter file
//! and one option here.

use clap::Args;
use std::path::PathBuf;
use trustbench::measure::export::{self, Bmf, Csv, Exporter, Html, Json, Markdown};
use trustbench::Error;

/// The formats a report is also written in.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Also write the JSON report here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write one CSV row per pass here.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write the Markdown report (the one printed) here.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write the figures as Bencher Metric Format JSON here, for bencher.dev's thresholds:
    /// `bencher run --adapter json --file FILE`. Benchmarks are named
    /// trustbench/CORPUS/BACKEND/THREADSt/PASS (docs/results-schema.md).
    #[arg(long, value_name = "FILE")]
    pub bmf: Option<PathBuf>,
    /// Write a self-contained HTML report here (tables and inline SVG charts; it loads
    /// nothing): open it in a browser or keep it as a CI artifact, e.g. --html report.html.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

impl ExportArgs {
    /// Writes `report` in every format asked for.
    pub fn write<R>(&self, report: &R) -> Result<(), Error>
    where
        Json: Exporter<R>,
        Csv: Exporter<R>,
        Markdown: Exporter<R>,
        Bmf: Exporter<R>,
        Html: Exporter<R>,
    {
        let asked: [(&dyn Exporter<R>, &Option<PathBuf>); 5] = [
            (&Json, &self.json),
            (&Csv, &self.csv),
            (&Markdown, &self.markdown),
            (&Bmf, &self.bmf),
            (&Html, &self.html),
        ];
        for (e, path) in asked {
            if let Some(p) = path {
                export::write(e, report, p)?;
            }
        }
        Ok(())
    }
}
