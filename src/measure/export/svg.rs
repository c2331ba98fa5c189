//! SVG: a report as a chart (`trustbench capacity` writes its plot next to its JSON). The
//! drawing is [`crate::measure::plot`]'s; this file only says which chart a report is.

use super::{Exporter, Format};
use crate::error::Result;
use crate::measure::capacity::CapacityReport;
use crate::measure::plot;

/// A report's chart as a standalone SVG document.
pub struct Svg;

impl Format for Svg {
    fn name(&self) -> &'static str {
        "svg"
    }

    fn extension(&self) -> &'static str {
        "svg"
    }
}

impl Exporter<CapacityReport> for Svg {
    fn export(&self, report: &CapacityReport) -> Result<Vec<u8>> {
        plot::line_chart(&report.chart()).map(String::into_bytes)
    }
}

impl Exporter<crate::measure::pq::PqReport> for Svg {
    fn export(&self, report: &crate::measure::pq::PqReport) -> Result<Vec<u8>> {
        plot::grouped_bars(&report.chart()).map(String::into_bytes)
    }
}
