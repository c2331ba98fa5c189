//! Statistics of repeated measurements: medians, bootstrap confidence intervals and
//! MAD-flagged outliers.
//!
//! A shared machine makes every timing noisy, and the noise is not normal (a neighbour's
//! burst makes a few samples much slower, never faster), so the figures are medians, their
//! uncertainty a percentile bootstrap of the median (no distribution assumed), and a sample
//! is flagged as an outlier when it lies more than [`OUTLIER_MADS`] scaled median absolute
//! deviations from the median. Outliers are flagged, not dropped: the median already resists
//! them, and hiding them would hide the machine's behaviour from the reader.
//!
//! The bootstrap is seeded from the samples themselves, so the same samples always give
//! the same interval (a report can be recomputed and checked).

use serde::{Deserialize, Serialize};

/// Bootstrap resamples per interval: enough for stable 2.5/97.5 percentiles (the interval
/// moves by well under 1% between seeds at this count) at a cost of microseconds.
pub const RESAMPLES: usize = 2000;

/// A sample further than this many scaled MADs from the median is flagged (the usual 3.5 of
/// Iglewicz and Hoaglin's modified z-score).
pub const OUTLIER_MADS: f64 = 3.5;

/// A figure measured several times: the median, a 95% bootstrap interval of the median,
/// every sample in measurement order, and which samples are outliers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct Estimate {
    /// The median of `samples`.
    pub median: f64,
    /// 2.5th percentile of the bootstrap distribution of the median.
    pub ci_low: f64,
    /// 97.5th percentile of the bootstrap distribution of the median.
    pub ci_high: f64,
    /// Each measurement, in the order taken.
    pub samples: Vec<f64>,
    /// Positions in `samples` of the MAD-flagged outliers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outliers: Vec<usize>,
}

impl Estimate {
    /// The estimate of `samples` (empty: all zero). One sample gives a zero-width interval:
    /// a single run says nothing about its own noise, and `compare` treats it so.
    pub fn of(samples: &[f64]) -> Estimate {
        if samples.is_empty() {
            return Estimate::default();
        }
        let m = median(samples);
        let (lo, hi) = bootstrap_ci(samples);
        Estimate {
            median: m,
            ci_low: lo,
            ci_high: hi,
            samples: samples.to_vec(),
            outliers: outliers(samples),
        }
    }

    /// Half the interval's width relative to the median: the noise this estimate carries
    /// (0 for one sample or a zero median).
    pub fn relative_half_width(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.ci_high - self.ci_low) / 2.0 / self.median.abs()
        }
    }

    /// max ÷ min of the samples (1 when fewer than two or any is not positive).
    pub fn spread(&self) -> f64 {
        let min = self.samples.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = self
            .samples
            .iter()
            .cloned()
            .fold(f64::NEG_INFINITY, f64::max);
        if self.samples.len() < 2 || min <= 0.0 {
            1.0
        } else {
            max / min
        }
    }
}

/// `value` with `digits` decimals and, when `e` holds more than one sample, its interval
/// and the outliers' count: `0.912 [0.901–0.925] (1 outlier)`. The one way reports
/// (Markdown, HTML) show a repeated figure.
pub fn with_interval(value: f64, e: &Estimate, digits: usize) -> String {
    if e.samples.len() < 2 {
        return format!("{value:.digits$}");
    }
    let outliers = match e.outliers.len() {
        0 => String::new(),
        n => format!(" ({n} outlier{})", if n == 1 { "" } else { "s" }),
    };
    format!(
        "{value:.digits$} [{:.digits$}–{:.digits$}]{outliers}",
        e.ci_low, e.ci_high
    )
}

/// The median (mean of the middle two for an even count); 0 for no samples.
pub fn median(samples: &[f64]) -> f64 {
    let mut v: Vec<f64> = samples.to_vec();
    median_in_place(&mut v)
}

fn median_in_place(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The median absolute deviation from the median, scaled by 1.4826 so that it estimates the
/// standard deviation of normal data.
pub fn mad(samples: &[f64]) -> f64 {
    let m = median(samples);
    let mut dev: Vec<f64> = samples.iter().map(|x| (x - m).abs()).collect();
    1.4826 * median_in_place(&mut dev)
}

/// Positions of the samples more than [`OUTLIER_MADS`] scaled MADs from the median. With a
/// zero MAD (most samples equal) any sample off the median is an outlier.
pub fn outliers(samples: &[f64]) -> Vec<usize> {
    if samples.len() < 3 {
        return Vec::new();
    }
    let (m, d) = (median(samples), mad(samples));
    samples
        .iter()
        .enumerate()
        .filter(|(_, x)| {
            let off = (**x - m).abs();
            if d > 0.0 {
                off / d > OUTLIER_MADS
            } else {
                off > 0.0
            }
        })
        .map(|(i, _)| i)
        .collect()
}

/// The percentile bootstrap 95% interval of the median of `samples`: [`RESAMPLES`]
/// resamples with replacement, each one's median, the 2.5th and 97.5th percentiles of
/// those. Seeded from the samples' bits, so it is a function of the samples.
pub fn bootstrap_ci(samples: &[f64]) -> (f64, f64) {
    let n = samples.len();
    if n < 2 {
        let x = samples.first().copied().unwrap_or(0.0);
        return (x, x);
    }
    let mut rng = SplitMix(samples.iter().fold(0x5eed_u64, |h, x| {
        (h ^ x.to_bits()).wrapping_mul(0x100_0000_01b3)
    }));
    let mut resample = vec![0.0; n];
    let mut medians = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        for slot in resample.iter_mut() {
            *slot = samples[(rng.next() % n as u64) as usize];
        }
        medians.push(median_in_place(&mut resample));
    }
    medians.sort_by(f64::total_cmp);
    let at = |p: f64| medians[((RESAMPLES - 1) as f64 * p).round() as usize];
    (at(0.025), at(0.975))
}

/// SplitMix64: a tiny, well-mixed generator; the bootstrap needs reproducible indices, not
/// cryptographic ones.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn mad_of_a_known_set() {
        // |x - 3| = 2,1,0,1,6 → median 1 → scaled 1.4826.
        let d = mad(&[1.0, 2.0, 3.0, 4.0, 9.0]);
        assert!((d - 1.4826).abs() < 1e-12, "{d}");
    }

    #[test]
    fn a_far_sample_is_flagged_and_close_ones_are_not() {
        let s = [100.0, 101.0, 99.0, 100.5, 99.5, 160.0];
        assert_eq!(outliers(&s), vec![5]);
        assert!(outliers(&[100.0, 101.0, 99.0, 100.5, 99.5]).is_empty());
        assert_eq!(outliers(&[5.0, 5.0, 5.0, 6.0]), vec![3]);
    }

    #[test]
    fn the_interval_holds_the_median_and_narrows_with_less_noise() {
        let noisy: Vec<f64> = (0..15)
            .map(|i| 100.0 + ((i * 37) % 11) as f64 * 3.0)
            .collect();
        let quiet: Vec<f64> = noisy.iter().map(|x| 100.0 + (x - 100.0) / 10.0).collect();
        let (n, q) = (Estimate::of(&noisy), Estimate::of(&quiet));
        for e in [&n, &q] {
            assert!(e.ci_low <= e.median && e.median <= e.ci_high, "{e:?}");
        }
        assert!(q.relative_half_width() < n.relative_half_width() / 5.0);
        assert_eq!(
            Estimate::of(&noisy),
            n,
            "the same samples give the same interval"
        );
    }

    #[test]
    fn a_repeated_figure_shows_its_interval_and_outliers() {
        assert_eq!(with_interval(2.0, &Estimate::of(&[2.0]), 1), "2.0");
        let s = with_interval(2.0, &Estimate::of(&[1.0, 2.0, 3.0]), 1);
        assert!(
            s.starts_with("2.0 [") && s.contains('–') && !s.contains("outlier"),
            "{s}"
        );
        let s = with_interval(100.0, &Estimate::of(&[100.0, 101.0, 99.0, 100.5, 160.0]), 0);
        assert!(s.ends_with("(1 outlier)"), "{s}");
    }

    #[test]
    fn one_sample_has_no_width_and_spread_is_max_over_min() {
        let e = Estimate::of(&[7.0]);
        assert_eq!((e.median, e.ci_low, e.ci_high), (7.0, 7.0, 7.0));
        assert_eq!(e.relative_half_width(), 0.0);
        assert_eq!(e.spread(), 1.0);
        assert_eq!(Estimate::of(&[2.0, 3.0, 2.5]).spread(), 1.5);
    }
}
