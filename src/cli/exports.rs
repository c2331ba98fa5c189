//! `--json FILE`, `--csv FILE`, `--markdown FILE`: the report in other formats, for every
//! command that produces a report (`run`, `merge`: run reports; `backends`: a backend
//! comparison). One struct, so that a new format is one exporter file and one option here.

use clap::Args;
use std::path::PathBuf;
use trustbench::measure::export::{self, Csv, Exporter, Json, Markdown};
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
}

impl ExportArgs {
    /// Writes `report` in every format asked for.
    pub fn write<R>(&self, report: &R) -> Result<(), Error>
    where
        Json: Exporter<R>,
        Csv: Exporter<R>,
        Markdown: Exporter<R>,
    {
        let asked: [(&dyn Exporter<R>, &Option<PathBuf>); 3] = [
            (&Json, &self.json),
            (&Csv, &self.csv),
            (&Markdown, &self.markdown),
        ];
        for (e, path) in asked {
            if let Some(p) = path {
                export::write(e, report, p)?;
            }
        }
        Ok(())
    }
}
