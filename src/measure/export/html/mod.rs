//! HTML: one self-contained page per report, to open in a browser or keep as a CI
//! artifact. The page loads nothing (no script, font, stylesheet or image from anywhere):
//! its CSS is inline and its charts are inline SVG drawn here ([`charts`]). Every string
//! from the report is escaped ([`page::escape`]): paths and pass names can hold `<&"`.
//!
//! A run report gets its header (corpus, backend, testbed, commit, threads), the pass
//! table, the ceiling, verdict counts, the manifest check, the link-time phase, the scaling
//! curve as a table, and charts of the stage breakdown and the latency distribution; a
//! backend comparison gets its tables and a chart of verify rates per class and backend.

mod backends;
mod capacity;
mod charts;
mod page;
mod pq;
mod run;
mod sweep;
mod verdicts;

use super::{Exporter, Format};
use crate::error::Result;
use crate::measure::backends::BackendsReport;
use crate::measure::report::RunReport;

/// The self-contained HTML report.
pub struct Html;

impl Html {
    /// The page of a run report.
    pub fn render(&self, r: &RunReport) -> Result<String> {
        run::page(r)
    }

    /// The page of a backend comparison.
    pub fn render_backends(&self, r: &BackendsReport) -> Result<String> {
        backends::page(r)
    }
}

impl Format for Html {
    fn name(&self) -> &'static str {
        "html"
    }

    fn extension(&self) -> &'static str {
        "html"
    }
}

impl Exporter for Html {
    fn export(&self, report: &RunReport) -> Result<Vec<u8>> {
        self.render(report).map(String::into_bytes)
    }
}

impl Exporter<crate::measure::capacity::CapacityReport> for Html {
    fn export(&self, report: &crate::measure::capacity::CapacityReport) -> Result<Vec<u8>> {
        capacity::page(report).map(String::into_bytes)
    }
}

impl Exporter<crate::measure::sweep::SweepReport> for Html {
    fn export(&self, report: &crate::measure::sweep::SweepReport) -> Result<Vec<u8>> {
        sweep::page(report).map(String::into_bytes)
    }
}

impl Exporter<crate::measure::verdicts::VerdictsReport> for Html {
    fn export(&self, report: &crate::measure::verdicts::VerdictsReport) -> Result<Vec<u8>> {
        verdicts::page(report).map(String::into_bytes)
    }
}

impl Exporter<crate::measure::pq::PqReport> for Html {
    fn export(&self, report: &crate::measure::pq::PqReport) -> Result<Vec<u8>> {
        pq::page(report).map(String::into_bytes)
    }
}

impl Exporter<BackendsReport> for Html {
    fn export(&self, report: &BackendsReport) -> Result<Vec<u8>> {
        self.render_backends(report).map(String::into_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::backends::tests::backends_report;
    use crate::measure::report::tests::shard_report;

    /// Nothing in the page refers to anything outside it.
    pub(super) fn assert_self_contained(html: &str) {
        let lower = html.to_ascii_lowercase();
        for needle in [
            "<script",
            "<link",
            "<img",
            "<iframe",
            "<object",
            "<embed",
            " src=",
            "href=",
            "url(",
            "@import",
            "@font-face",
        ] {
            assert!(!lower.contains(needle), "the page has {needle}");
        }
        assert!(lower.starts_with("<!doctype html>"));
        assert!(lower.trim_end().ends_with("</html>"));
    }

    #[test]
    fn a_run_page_is_self_contained_and_escapes_the_report() {
        let mut r = shard_report(40, 3, 3);
        r.corpus.dir = "/tmp/a<b&\"c'/corpus".into();
        r.passes[0].slowest[0].path = "/x/<script>alert(1)</script>.ko".into();
        let html = Html.render(&r).unwrap();
        assert_self_contained(&html);
        assert!(
            html.contains("/tmp/a&lt;b&amp;&quot;c&#39;/corpus"),
            "{html}"
        );
        assert!(!html.contains("a<b&"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert_eq!(Html.export(&r).unwrap(), html.into_bytes());
    }

    #[test]
    fn a_backends_page_is_self_contained_and_escapes_the_report() {
        let r = backends_report();
        let html = Html.render_backends(&r).unwrap();
        assert_self_contained(&html);
        assert!(html.contains("files/odd&lt;&amp;&gt;.bin"), "{html}");
        assert!(html.contains("no keyctl &lt;here&gt;"));
        assert!(!html.contains("<here>"));
    }
}
