//! Exporters: a report in one output format each, one module per format (`json.rs`,
//! `csv.rs`, `markdown.rs`, `bmf.rs`, `html/`, `svg.rs`), all behind [`Exporter`]. A format
//! renders every kind of report it can (a [`RunReport`] of `trustbench run`, a
//! [`BackendsReport`] of `trustbench backends`, a [`CapacityReport`] of `trustbench
//! capacity`, a sweep of `trustbench bench`), so a command that makes a new kind of report
//! gets the same `--json/--csv/--markdown/--bmf/--html` options; a chart format (SVG)
//! renders the reports that have a chart; a new format is one more module and one more
//! entry in [`ALL`].

pub mod bmf;
mod csv;
mod html;
mod json;
mod markdown;
mod svg;
// Verdicts-only merges (`merge --verdicts-only`) in the three formats.
mod verdicts;

pub use bmf::Bmf;
pub use csv::Csv;
pub use html::Html;
pub use json::Json;
pub use markdown::Markdown;
pub use svg::Svg;

use super::backends::BackendsReport;
use super::capacity::CapacityReport;
use super::report::RunReport;
use crate::error::{Error, Result};
use std::path::Path;

/// An output format: its name and file extension, whatever the report (kept apart from
/// [`Exporter`] so that `Json.extension()` needs no report type).
pub trait Format {
    /// The format's name, as command-line options spell it (`json`, `csv`, `markdown`,
    /// `bmf`, `html`).
    fn name(&self) -> &'static str;

    /// The usual file extension, without the dot.
    fn extension(&self) -> &'static str;
}

/// One output format of a report of type `R` (a run report unless said otherwise).
pub trait Exporter<R: ?Sized = RunReport>: Format {
    /// The report in this format.
    fn export(&self, report: &R) -> Result<Vec<u8>>;
}

/// Every exporter of run reports, in a stable order.
pub const ALL: [&dyn Exporter; 5] = [&Json, &Csv, &Markdown, &Bmf, &Html];

/// The same formats, for backend comparisons.
pub const ALL_BACKENDS: [&dyn Exporter<BackendsReport>; 5] = [&Json, &Csv, &Markdown, &Bmf, &Html];

/// The formats of a capacity plan: the tables, and its plot.
pub const ALL_CAPACITY: [&dyn Exporter<CapacityReport>; 4] = [&Json, &Csv, &Markdown, &Svg];

/// The exporter named `name`.
pub fn by_name(name: &str) -> Option<&'static dyn Exporter> {
    ALL.into_iter().find(|e| e.name() == name)
}

/// Exports `report` into the file `path`, creating its directory.
pub fn write<R: ?Sized>(exporter: &dyn Exporter<R>, report: &R, path: &Path) -> Result<()> {
    write_file(path, &exporter.export(report)?)
}

/// Writes `bytes` into the file `path`, creating its directory: where every report file
/// goes through.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::measure::backends::tests::backends_report;
    use crate::measure::report::tests::shard_report;

    #[test]
    fn exporters_are_found_by_name_and_have_distinct_extensions() {
        for e in ALL {
            assert_eq!(by_name(e.name()).map(|x| x.name()), Some(e.name()));
        }
        assert!(by_name("pdf").is_none());
        let mut ext: Vec<&str> = ALL.iter().map(|e| e.extension()).collect();
        ext.sort();
        ext.dedup();
        assert_eq!(ext, ["bmf.json", "csv", "html", "json", "md"]);
        let names: Vec<&str> = ALL.iter().map(|e| e.name()).collect();
        let backends: Vec<&str> = ALL_BACKENDS.iter().map(|e| e.name()).collect();
        assert_eq!(names, backends, "every format renders every report");
    }

    /// Every exporter renders both kinds of report, into files it creates.
    #[test]
    fn every_format_writes_every_report() {
        let tmp = tempfile::tempdir().unwrap();
        let (run, cmp) = (shard_report(40, 2, 2), backends_report());
        for e in ALL {
            let path = tmp.path().join("run").join(format!("r.{}", e.extension()));
            write(e, &run, &path).unwrap();
            assert!(std::fs::metadata(&path).unwrap().len() > 0, "{}", e.name());
        }
        for e in ALL_BACKENDS {
            let path = tmp.path().join("cmp").join(format!("b.{}", e.extension()));
            write(e, &cmp, &path).unwrap();
            assert!(std::fs::metadata(&path).unwrap().len() > 0, "{}", e.name());
        }
    }
}
