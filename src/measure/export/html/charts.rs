//! The HTML report's charts, drawn with plotters into SVG strings that the page inlines:
//! where a pass's time went (stacked bars of its stages), how its latencies are
//! distributed (its histogram on a log axis), and, for a backend comparison, each
//! backend's verify rate per signature class (grouped bars on a log axis).
//!
//! Text is written as SVG `<text>` (plotters escapes it) and drawn by the browser with its
//! own sans-serif font: no font is needed here. Each chart is `None` when there is nothing
//! to draw, so that the page says so instead of showing empty axes.

use crate::error::{Error, Result};
use crate::measure::backends::BackendsReport;
use crate::measure::report::PassReport;
use crate::timing::Stage;
use plotters::prelude::*;

/// Okabe and Ito's colour-blind safe palette, then grey: a series' colour by position.
const PALETTE: [RGBColor; 9] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
    RGBColor(153, 153, 153),
];

const WIDTH: u32 = 960;
const FONT: &str = "sans-serif";

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A plotters result as ours (drawing into a String fails only on a plotters bug).
fn drawn<T, E: std::fmt::Display>(r: std::result::Result<T, E>) -> Result<T> {
    r.map_err(|e| Error::Report {
        message: format!("drawing a chart: {e}"),
    })
}

/// A number of microseconds for an axis, as many digits as its size needs: 4500, 12,
/// 3.5, 0.25, 4.0e-3.
fn us_label(v: f64) -> String {
    match v.abs() {
        0.0 => "0".into(),
        a if a >= 10.0 => format!("{v:.0}"),
        a if a >= 1.0 => format!("{v:.1}"),
        a if a >= 0.01 => format!("{v:.2}"),
        _ => format!("{v:.1e}"),
    }
}

/// The slot (bar position) an axis label at `v` names: bars are centred on the integers
/// 0..slots, so a label between them, or outside, names none.
fn slot(v: f64, slots: usize) -> Option<usize> {
    let r = v.round();
    ((v - r).abs() < 1e-6 && r >= 0.0 && r < slots as f64).then_some(r as usize)
}

/// Mean nanoseconds per item that `p` spent in `stage` (Σ over threads ÷ items).
fn per_item_ns(p: &PassReport, stage: &str) -> f64 {
    p.stage_ns.get(stage).copied().unwrap_or(0) as f64 / p.items.max(1) as f64
}

/// One horizontal bar per pass, first pass on top, its stages stacked left to right in
/// the engine's stage order: the mean time per item in each stage (all threads' stage time
/// ÷ items, so the bar's length is the mean latency).
pub fn stage_breakdown(passes: &[PassReport]) -> Result<Option<String>> {
    let stages: Vec<&str> = Stage::ALL
        .iter()
        .map(|s| s.name())
        .filter(|s| passes.iter().any(|p| per_item_ns(p, s) > 0.0))
        .collect();
    if passes.is_empty() || stages.is_empty() {
        return Ok(None);
    }
    let n = passes.len();
    let total = |p: &PassReport| stages.iter().map(|s| per_item_ns(p, s)).sum::<f64>() / 1e3;
    let longest = passes.iter().map(total).fold(0.0, f64::max).max(1e-3);
    let height = (120 + 48 * n as u32).max(300);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        drawn(root.fill(&WHITE))?;
        let mut chart = drawn(
            ChartBuilder::on(&root)
                .margin(14)
                .caption("Mean time per item, by stage", (FONT, 22))
                .x_label_area_size(48)
                .y_label_area_size(110)
                // Room on the right for the legend.
                // Row r (the r-th pass from the bottom) is centred on y = r.
                .build_cartesian_2d(0.0..longest * 1.45, -0.5..n as f64 - 0.5),
        )?;
        let names: Vec<String> = passes.iter().map(|p| p.name.clone()).collect();
        drawn(
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(n)
                .y_label_formatter(&|v| {
                    slot(*v, n)
                        .and_then(|row| names.get(n - 1 - row).cloned())
                        .unwrap_or_default()
                })
                .x_desc("µs per item (all threads' stage time ÷ items)")
                .x_label_formatter(&|v| us_label(*v))
                .label_style((FONT, 16))
                .draw(),
        )?;
        let mut start = vec![0.0; n];
        for (si, stage) in stages.iter().enumerate() {
            let c = colour(si);
            let bars: Vec<Rectangle<(f64, f64)>> = passes
                .iter()
                .enumerate()
                .map(|(pi, p)| {
                    let w = per_item_ns(p, stage) / 1e3;
                    let row = (n - 1 - pi) as f64;
                    let r = Rectangle::new(
                        [(start[pi], row - 0.32), (start[pi] + w, row + 0.32)],
                        c.filled(),
                    );
                    start[pi] += w;
                    r
                })
                .collect();
            drawn(chart.draw_series(bars))?
                .label(*stage)
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], c.filled()));
        }
        drawn(crate::measure::plot::legend_upper_right(&mut chart))?;
        drawn(root.present())?;
    }
    Ok(Some(svg))
}

/// The end of the histogram bucket that starts at `lower` ns: the report's
/// [`crate::measure::report::LatencyHistogram`] has 16 buckets per power of two (one per
/// nanosecond below 32 ns).
fn bucket_end(lower: u64) -> u64 {
    if lower < 32 {
        return lower + 1;
    }
    let octave = 63 - lower.leading_zeros();
    lower + (1u64 << (octave - 4))
}

/// Each pass's latency histogram: the share of its items per bucket, buckets on a log
/// axis of microseconds (a log axis makes the report's buckets equally wide, so bar height
/// is density). Passes overlap, translucent.
pub fn latency_distribution(passes: &[PassReport]) -> Result<Option<String>> {
    let with: Vec<(usize, &PassReport)> = passes
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.latency.histogram.is_empty())
        .collect();
    if with.is_empty() {
        return Ok(None);
    }
    let us = |ns: u64| ns.max(1) as f64 / 1e3;
    let share = |p: &PassReport, n: u64| {
        let total: u64 = p.latency.histogram.iter().map(|b| b[1]).sum();
        100.0 * n as f64 / total.max(1) as f64
    };
    let lo = with
        .iter()
        .filter_map(|(_, p)| p.latency.histogram.first())
        .map(|b| us(b[0]))
        .fold(f64::INFINITY, f64::min);
    let hi = with
        .iter()
        .filter_map(|(_, p)| p.latency.histogram.last())
        .map(|b| us(bucket_end(b[0])))
        .fold(0.0, f64::max);
    let top = with
        .iter()
        .flat_map(|(_, p)| p.latency.histogram.iter().map(|b| share(p, b[1])))
        .fold(0.0, f64::max);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 380)).into_drawing_area();
        drawn(root.fill(&WHITE))?;
        let mut chart = drawn(
            ChartBuilder::on(&root)
                .margin(14)
                .caption("Latency distribution per pass", (FONT, 22))
                .x_label_area_size(48)
                .y_label_area_size(64)
                .build_cartesian_2d(
                    ((lo / 1.5)..(hi * 1.5)).log_scale(),
                    // Room at the top for the legend.
                    0.0..top * 1.4,
                ),
        )?;
        drawn(
            chart
                .configure_mesh()
                .x_desc("latency per item (µs, log scale)")
                .y_desc("% of the pass's items")
                .x_label_formatter(&|v| us_label(*v))
                .y_label_formatter(&|v| format!("{v:.0}"))
                .label_style((FONT, 16))
                .draw(),
        )?;
        for (i, p) in with {
            let c = colour(i);
            let bars: Vec<Rectangle<(f64, f64)>> = p
                .latency
                .histogram
                .iter()
                .map(|b| {
                    Rectangle::new(
                        [(us(b[0]), 0.0), (us(bucket_end(b[0])), share(p, b[1]))],
                        c.mix(0.6).filled(),
                    )
                })
                .collect();
            drawn(chart.draw_series(bars))?
                .label(format!(
                    "{} (p50 {:.1} µs, p99 {:.1} µs)",
                    p.name,
                    p.latency.p50_ns as f64 / 1e3,
                    p.latency.p99_ns as f64 / 1e3
                ))
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], c.filled()));
        }
        drawn(crate::measure::plot::legend_upper_right(&mut chart))?;
        drawn(root.present())?;
    }
    Ok(Some(svg))
}

/// Verifications per second per thread, one group of bars per signature class, one bar
/// per backend that has a figure for it; a log axis, since classes differ by orders of
/// magnitude (RSA against ECDSA).
pub fn backend_verify_rates(r: &BackendsReport) -> Result<Option<String>> {
    let any = r
        .rows
        .iter()
        .flat_map(|row| row.cells.iter().filter_map(|c| c.verify_per_s))
        .any(|v| v.is_finite() && v > 0.0);
    if !any {
        return Ok(None);
    }
    let series = r
        .backends
        .iter()
        .map(|b| {
            let values = r
                .rows
                .iter()
                .map(|row| {
                    row.cells
                        .iter()
                        .find(|cell| cell.backend == b.name)
                        .and_then(|cell| cell.verify_per_s)
                        .unwrap_or(f64::NAN)
                })
                .collect();
            (b.name.clone(), values)
        })
        .collect();
    let bars = crate::measure::plot::Bars {
        title: "Verify per thread, by signature class and backend".into(),
        y_label: "verifications/s per thread (log scale)".into(),
        groups: r.rows.iter().map(|row| row.label.clone()).collect(),
        series,
        reference: None,
    };
    crate::measure::plot::grouped_bars(&bars).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::backends::tests::backends_report;
    use crate::measure::report::tests::shard_report;

    #[test]
    fn bucket_ends_follow_the_histograms_buckets() {
        assert_eq!(bucket_end(0), 1);
        assert_eq!(bucket_end(31), 32);
        assert_eq!(bucket_end(32), 34);
        assert_eq!(bucket_end(992), 1024);
        assert_eq!(bucket_end(4864), 5120);
    }

    #[test]
    fn charts_are_svg_with_a_series_per_pass_or_backend() {
        let mut r = shard_report(40, 0, 0);
        let mut warm = r.passes[0].clone();
        warm.name = "warm <&>".into();
        r.passes.push(warm);
        let stages = stage_breakdown(&r.passes).unwrap().unwrap();
        assert!(stages.trim_start().starts_with("<svg"), "{stages}");
        assert!(
            stages.contains("warm &lt;&amp;&gt;"),
            "pass names are escaped"
        );
        assert!(stages.contains("\nverify\n") && stages.contains("\nread\n"));
        let lat = latency_distribution(&r.passes).unwrap().unwrap();
        assert!(lat.contains("<rect"), "{lat}");
        let b = backend_verify_rates(&backends_report()).unwrap().unwrap();
        assert!(b.contains("\naws-lc\n") && b.contains("\nring\n"), "{b}");
        assert!(b.contains("RSA-2048/sha256"), "{b}");
    }

    #[test]
    fn nothing_to_draw_is_none() {
        let mut r = shard_report(40, 0, 0);
        r.passes[0].latency.histogram.clear();
        assert!(latency_distribution(&r.passes).unwrap().is_none());
        assert!(stage_breakdown(&[]).unwrap().is_none());
        let mut b = backends_report();
        b.rows.clear();
        assert!(backend_verify_rates(&b).unwrap().is_none());
    }
}
