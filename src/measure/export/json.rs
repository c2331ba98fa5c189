//! JSON: the report itself, schema `trustbench.run/2` or, for `trustbench backends`,
//! `trustbench.backends/1`, for `trustbench capacity`, `trustbench.capacity/1`
//! (docs/results-schema.md), pretty printed. `trustbench merge`
//! reads run reports back.

use super::{Exporter, Format};
use crate::error::{Error, Result};
use crate::measure::backends::BackendsReport;
use crate::measure::capacity::CapacityReport;
use crate::measure::report::RunReport;
use crate::measure::sweep::SweepReport;
use std::path::Path;

/// The versioned JSON report.
pub struct Json;

impl Json {
    pub fn render(&self, report: &RunReport) -> Result<String> {
        serde_json::to_string_pretty(report).map_err(|e| Error::Report {
            message: e.to_string(),
        })
    }

    /// Reads back a report written by [`Json`] (`merge` checks the schema).
    pub fn read(&self, path: &Path) -> Result<RunReport> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| Error::Input {
            path: path.to_path_buf(),
            message: format!("not a run report: {e}"),
        })
    }
}

impl Format for Json {
    fn name(&self) -> &'static str {
        "json"
    }

    fn extension(&self) -> &'static str {
        "json"
    }
}

impl Exporter for Json {
    fn export(&self, report: &RunReport) -> Result<Vec<u8>> {
        self.render(report).map(String::into_bytes)
    }
}

impl Exporter<BackendsReport> for Json {
    fn export(&self, report: &BackendsReport) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(report).map_err(|e| Error::Report {
            message: e.to_string(),
        })
    }
}

impl Exporter<CapacityReport> for Json {
    fn export(&self, report: &CapacityReport) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(report).map_err(|e| Error::Report {
            message: e.to_string(),
        })
    }
}

impl Exporter<SweepReport> for Json {
    fn export(&self, report: &SweepReport) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(report).map_err(|e| Error::Report {
            message: e.to_string(),
        })
    }
}

impl Exporter<crate::measure::pq::PqReport> for Json {
    fn export(&self, report: &crate::measure::pq::PqReport) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(report).map_err(|e| Error::Report {
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::report::tests::shard_report;

    #[test]
    fn reads_back_what_it_writes() {
        let tmp = tempfile::tempdir().unwrap();
        let r = shard_report(40, 2, 2);
        let path = tmp.path().join("deeper/r.json");
        crate::measure::export::write(&Json, &r, &path).unwrap();
        let back = Json.read(&path).unwrap();
        assert_eq!(Json.render(&back).unwrap(), Json.render(&r).unwrap());
        std::fs::write(&path, "{}").unwrap();
        let e = Json.read(&path).unwrap_err();
        assert!(matches!(e, Error::Input { .. }), "{e:?}");
        assert!(e.to_string().contains("not a run report"), "{e}");
    }
}
