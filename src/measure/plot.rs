//! Charts as SVG text: one generic x/y chart of named series, each drawn as markers
//! (measured points) or a line (a fitted or connected curve), with labelled axes and a
//! legend.
//!
//! Generic on purpose: `trustbench capacity` draws its measured and fitted scaling curves
//! with it, and an HTML report embeds the same chart inline, so the drawing lives here once
//! and knows nothing about what the numbers are. It returns the SVG as a string and writes
//! no file: the caller (an exporter) decides where it goes.

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// One filled circle per point: measurements.
    Markers,
    /// A polyline through the points in the order given: a model's curve.
    Line,
}

/// One named set of points.
#[derive(Clone, Debug)]
pub struct Series {
    /// The legend's text for this series.
    pub name: String,
    /// (x, y) pairs, all finite.
    pub points: Vec<(f64, f64)>,
    pub style: Style,
    /// Index into [`PALETTE`] (wrapping), so that a measured series and its fitted curve can
    /// share a colour.
    pub color: usize,
}

/// A chart: title, axis labels and its series, drawn in order (later ones on top).
#[derive(Clone, Debug)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
}

/// The series colours: Okabe and Ito's palette, distinguishable with the common colour
/// vision deficiencies and in greyscale print.
pub const PALETTE: [(u8, u8, u8); 6] = [
    (0, 114, 178),   // blue
    (213, 94, 0),    // vermillion
    (0, 158, 115),   // bluish green
    (204, 121, 167), // reddish purple
    (230, 159, 0),   // orange
    (86, 180, 233),  // sky blue
];

/// Pixel size of the SVG's viewport.
const SIZE: (u32, u32) = (900, 560);

/// `chart` as a standalone SVG document. Both axes start at zero when the data are
/// non-negative (rates and counts are read against zero); the ranges cover every point
/// with a margin. Errors: no series or no points, or a non-finite coordinate.
pub fn line_chart(chart: &Chart) -> Result<String> {
    let all: Vec<(f64, f64)> = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .collect();
    if all.is_empty() {
        return Err(Error::usage(format!(
            "chart '{}': nothing to plot (no points)",
            chart.title
        )));
    }
    if let Some((x, y)) = all.iter().find(|(x, y)| !x.is_finite() || !y.is_finite()) {
        return Err(Error::usage(format!(
            "chart '{}': point ({x}, {y}) is not finite",
            chart.title
        )));
    }
    let x = range(all.iter().map(|p| p.0));
    let y = range(all.iter().map(|p| p.1));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(&root, chart, x, y).map_err(|e| Error::Report {
            message: format!("chart '{}': {e}", chart.title),
        })?;
    }
    Ok(svg)
}

/// A grouped bar chart on a log axis: one group per entry of `groups`, one bar per series
/// in each, for figures that differ by orders of magnitude or are ratios (where 0.5 and 2
/// should look equally far from 1).
#[derive(Clone, Debug)]
pub struct Bars {
    pub title: String,
    pub y_label: String,
    /// The groups' names, along the x axis.
    pub groups: Vec<String>,
    /// Per series: its legend name and one value per group (non-finite or ≤ 0: no bar).
    pub series: Vec<(String, Vec<f64>)>,
    /// A value to draw a horizontal line at (1 for ratios).
    pub reference: Option<f64>,
}

/// `bars` as an SVG document. Errors: no positive finite value to draw.
pub fn grouped_bars(bars: &Bars) -> Result<String> {
    let values = || {
        bars.series
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .chain(bars.reference)
            .filter(|v| v.is_finite() && *v > 0.0)
    };
    if values().next().is_none() {
        return Err(Error::usage(format!(
            "chart '{}': nothing to plot (no positive value)",
            bars.title
        )));
    }
    let lo = values().fold(f64::INFINITY, f64::min) / 2.0;
    // Room at the top for the legend.
    let hi = values().fold(0.0, f64::max) * 6.0;
    let k = bars.series.len().max(1);
    // One slot per (group, series) and an empty slot between groups; slot s centred on s.
    let slots = bars.groups.len() * (k + 1) - 1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw_bars(&root, bars, slots, k, (lo, hi)).map_err(|e| Error::Report {
            message: format!("chart '{}': {e}", bars.title),
        })?;
    }
    Ok(svg)
}

fn draw_bars(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    bars: &Bars,
    slots: usize,
    k: usize,
    (lo, hi): (f64, f64),
) -> DrawResult<()> {
    root.fill(&WHITE)?;
    let mut c = framed(root, &bars.title)
        .build_cartesian_2d(-0.5..slots as f64 - 0.5, (lo..hi).log_scale())?;
    let label_at = |v: &f64| {
        let r = v.round();
        if (v - r).abs() > 1e-6 || r < 0.0 {
            return String::new();
        }
        let s = r as usize;
        if s % (k + 1) == (k - 1) / 2 {
            bars.groups.get(s / (k + 1)).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    c.configure_mesh()
        .disable_x_mesh()
        .x_labels(slots)
        .x_label_formatter(&label_at)
        .y_desc(&bars.y_label)
        .y_label_formatter(&|v| compact(*v))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    if let Some(r) = bars.reference {
        c.draw_series(LineSeries::new(
            [(-0.5, r), (slots as f64 - 0.5, r)],
            BLACK.stroke_width(1),
        ))?;
    }
    for (si, (name, values)) in bars.series.iter().enumerate() {
        let (r, g, b) = PALETTE[si % PALETTE.len()];
        let color = RGBColor(r, g, b);
        let rects: Vec<Rectangle<(f64, f64)>> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite() && **v > 0.0)
            .map(|(gi, &v)| {
                let x = (gi * (k + 1) + si) as f64;
                Rectangle::new([(x - 0.42, lo), (x + 0.42, v)], color.filled())
            })
            .collect();
        c.draw_series(rects)?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled()));
    }
    legend_upper_right(&mut c)?;
    root.present()
}

/// The legend of a bar chart (the HTML report's and [`grouped_bars`]), top right over a
/// white box: one look for every bar chart.
pub(crate) fn legend_upper_right<'a, DB, CT>(
    c: &mut ChartContext<'a, DB, CT>,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    CT: plotters::coord::CoordTranslate,
{
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()
}

/// The axis range covering `values`: from zero (or the minimum, if negative) to the
/// maximum plus 8%; a degenerate range is widened so the axis has a length.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((0.0f64, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let span = hi - lo;
    if span <= 0.0 {
        return (lo - 1.0, hi + 1.0);
    }
    (
        lo - if lo < 0.0 { span * 0.08 } else { 0.0 },
        hi + span * 0.08,
    )
}

/// An axis tick: whole numbers without decimals ("60000", not "60000.0"), others with as
/// few as show them.
fn tick(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 * v.abs().max(1.0) {
        format!("{:.0}", v.round() + 0.0)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A log axis tick: 12k and 3.4M for large values, [`tick`]'s digits below.
fn compact(v: f64) -> String {
    match v.abs() {
        a if a >= 1e6 => format!("{:.1}M", v / 1e6),
        a if a >= 1e4 => format!("{:.0}k", v / 1e3),
        _ => tick(v),
    }
}

/// Every chart's frame: the title, the margin and the room for the axes' labels.
fn framed<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut b = ChartBuilder::on(root);
    b.caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80);
    b
}

type DrawResult<T> = std::result::Result<T, DrawingAreaErrorKind<std::io::Error>>;

fn draw(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    chart: &Chart,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> DrawResult<()> {
    root.fill(&WHITE)?;
    let mut c = framed(root, &chart.title).build_cartesian_2d(x0..x1, y0..y1)?;
    c.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .light_line_style(RGBColor(235, 235, 235))
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .draw()?;
    for s in &chart.series {
        let (r, g, b) = PALETTE[s.color % PALETTE.len()];
        let color = RGBColor(r, g, b);
        let drawn = match s.style {
            Style::Line => c.draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(2),
            ))?,
            Style::Markers => {
                c.draw_series(s.points.iter().map(|&p| Circle::new(p, 5, color.filled())))?
            }
        };
        let style = s.style;
        drawn
            .label(s.name.as_str())
            .legend(move |(x, y)| legend_key(style, color, x, y));
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()?;
    root.present()
}

/// The legend's sample of a series: a dot for markers, a short stroke for a line.
fn legend_key<DB: DrawingBackend>(
    style: Style,
    color: RGBColor,
    x: i32,
    y: i32,
) -> DynElement<'static, DB, (i32, i32)> {
    match style {
        Style::Markers => Circle::new((x + 10, y), 5, color.filled()).into_dyn(),
        Style::Line => {
            PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)).into_dyn()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(series: Vec<Series>) -> Chart {
        Chart {
            title: "scaling & fit".into(),
            x_label: "threads".into(),
            y_label: "items/s".into(),
            series,
        }
    }

    #[test]
    fn draws_every_series_with_its_name_and_escapes_text() {
        let svg = line_chart(&chart(vec![
            Series {
                name: "measured <engine>".into(),
                points: vec![(1.0, 900.0), (2.0, 1700.0)],
                style: Style::Markers,
                color: 0,
            },
            Series {
                name: "fitted".into(),
                points: (1..=8).map(|n| (n as f64, 900.0 * n as f64)).collect(),
                style: Style::Line,
                color: 0,
            },
        ]))
        .unwrap();
        assert!(svg.trim_start().starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("measured &lt;engine&gt;"));
        assert!(svg.contains("fitted"));
        assert!(svg.contains("scaling &amp; fit"));
        assert!(svg.contains("threads") && svg.contains("items/s"));
        assert!(svg.contains("<circle"));
        assert!(svg.contains("<polyline"));
    }

    #[test]
    fn empty_or_non_finite_data_is_an_error() {
        assert!(matches!(line_chart(&chart(vec![])), Err(Error::Usage(_))));
        let bad = Series {
            name: "nan".into(),
            points: vec![(1.0, f64::NAN)],
            style: Style::Markers,
            color: 1,
        };
        let e = line_chart(&chart(vec![bad])).unwrap_err();
        assert!(e.to_string().contains("not finite"), "{e}");
    }

    #[test]
    fn grouped_bars_draw_a_bar_per_positive_value() {
        let bars = Bars {
            title: "ratios".into(),
            y_label: "× base".into(),
            groups: vec!["time".into(), "bytes".into()],
            series: vec![
                ("base".into(), vec![1.0, 1.0]),
                ("new <x>".into(), vec![2.5, f64::NAN]),
            ],
            reference: Some(1.0),
        };
        let svg = grouped_bars(&bars).unwrap();
        assert!(svg.contains("new &lt;x&gt;") && svg.contains("time"));
        // A non-finite value draws no bar: one rectangle fewer than with a value.
        let mut full = bars.clone();
        full.series[1].1[1] = 0.5;
        let rects = |s: &str| s.matches("<rect").count();
        assert_eq!(
            rects(&grouped_bars(&full).unwrap()),
            rects(&svg) + 1,
            "{svg}"
        );
        let empty = Bars {
            series: vec![("x".into(), vec![f64::NAN])],
            reference: None,
            ..bars
        };
        assert!(grouped_bars(&empty).is_err());
    }

    #[test]
    fn ticks_drop_needless_decimals() {
        assert_eq!(tick(60000.0), "60000");
        assert_eq!(tick(-0.0), "0");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(0.125), "0.125");
    }

    #[test]
    fn ranges_start_at_zero_and_are_never_empty() {
        assert_eq!(range([5.0, 10.0].into_iter()), (0.0, 10.8));
        let (lo, hi) = range([0.0].into_iter());
        assert!(lo < hi);
        let (lo, _) = range([-10.0, 10.0].into_iter());
        assert!(lo < -10.0);
    }
}
