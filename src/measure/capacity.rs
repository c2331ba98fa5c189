//! Capacity planning from a thread sweep: a scaling model fitted to the engine's cold
//! throughput and, separately, to the raw signature primitive's own throughput at the same
//! thread counts, then the answers people ask — how long N items take on C cores, and the
//! fewest cores that meet a deadline.
//!
//! Two curves because they answer different questions. The primitive's curve is the
//! machine's limit (its cores, caches, memory and turbo behaviour under that many
//! verifications at once): no engine can beat it. The engine's curve is ours. Where the
//! engine flattens earlier than the primitive, the engine is the bottleneck; where both
//! flatten together, more cores of this machine will not help.
//!
//! Models: the Universal Scalability Law `X(N) = λN / (1 + σ(N−1) + κN(N−1))` (λ: rate of
//! one thread, σ: contention, the serial share; κ: coherency, the pairwise cost that makes
//! throughput fall past a peak) and Amdahl's law, the USL with κ = 0. Pure: no I/O and no
//! printing; `trustbench capacity` gathers the sweep and renders the [`CapacityReport`].

use super::plot::{Chart, Series, Style};
use super::report::{CorpusInfo, RunReport, ScalingStep, Testbed};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The capacity report's schema (docs/results-schema.md).
pub const SCHEMA: &str = "trustbench.capacity/1";

/// The core counts of the projection table when none is asked for.
pub const DEFAULT_CORES: [u64; 7] = [1, 2, 4, 8, 16, 32, 64];

/// What every answer takes for granted, printed with it.
pub const ASSUMPTIONS: [&str; 6] = [
    "items like those of the measured corpus (same mix of sizes, algorithms and bad items)",
    "throughput independent of the number of items (no warm-up or tail effects)",
    "cold cache: every item verified, none answered from the verdict cache",
    "the same CPU per core as the machine that recorded the sweep, one thread per core",
    "I/O from the page cache (files already in memory; disk bandwidth not modelled)",
    "the perfect-engine bound has the ceiling's level (raw verify per signature class with a pre-parsed key, digests and reads of this corpus's items, measured at each thread count) and the raw primitive's scaling (its fitted σ, κ): no engine overhead at all",
];

/// One measurement: `threads` workers at once achieved `rate` per second.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub threads: usize,
    pub rate: f64,
}

/// Which scaling law.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Universal Scalability Law: λ, σ, κ.
    Usl,
    /// Amdahl's law: λ, σ (κ = 0).
    Amdahl,
}

impl ModelKind {
    /// The law as a formula, for reports.
    pub fn formula(self) -> &'static str {
        match self {
            ModelKind::Usl => "X(N) = λN / (1 + σ(N−1) + κN(N−1))",
            ModelKind::Amdahl => "X(N) = λN / (1 + σ(N−1))",
        }
    }

    /// Its name, as reports spell it.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Usl => "USL",
            ModelKind::Amdahl => "Amdahl",
        }
    }

    /// Free parameters: distinct thread counts below this cannot determine the model, and
    /// exactly this many determine it with no residual (R² = 1 by construction).
    pub fn parameters(self) -> usize {
        match self {
            ModelKind::Usl => 3,
            ModelKind::Amdahl => 2,
        }
    }
}

/// A scaling law with its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub kind: ModelKind,
    /// Throughput of one thread (per second).
    pub lambda: f64,
    /// Contention (serial fraction), in [0, 1].
    pub sigma: f64,
    /// Coherency cost, in [0, 1]; 0 for Amdahl.
    pub kappa: f64,
}

/// Where a model stops growing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Limit {
    /// USL with κ > 0: throughput peaks at `cores` (N* = √((1−σ)/κ)) and falls after it.
    Peak { cores: f64, rate: f64 },
    /// Amdahl with σ > 0: throughput approaches `rate` = λ/σ as cores grow, never reaching it.
    Asymptote { rate: f64 },
    /// σ = κ = 0: linear scaling, no limit.
    Unbounded,
}

impl Model {
    /// Throughput at `n` threads.
    pub fn throughput(&self, n: f64) -> f64 {
        self.lambda * n / self.denominator(n)
    }

    fn denominator(&self, n: f64) -> f64 {
        1.0 + self.sigma * (n - 1.0) + self.kappa * n * (n - 1.0)
    }

    /// Where the model stops growing.
    pub fn limit(&self) -> Limit {
        if self.kappa > 0.0 {
            // dX/dN = 0 where 1 − σ = κN²; with σ = 1 the peak is at one thread.
            let cores = ((1.0 - self.sigma).max(0.0) / self.kappa).sqrt().max(1.0);
            Limit::Peak {
                cores,
                rate: self.throughput(cores),
            }
        } else if self.sigma > 0.0 {
            Limit::Asymptote {
                rate: self.lambda / self.sigma,
            }
        } else {
            Limit::Unbounded
        }
    }

    /// Seconds to verify `items` on `cores`.
    pub fn seconds(&self, items: u64, cores: u64) -> f64 {
        items as f64 / self.throughput(cores as f64)
    }

    /// The fewest whole cores at which the model reaches `rate` per second, or why no
    /// count does.
    pub fn cores_for(&self, rate: f64) -> Result<Reach> {
        positive("required rate", rate)?;
        let x = |n: u64| self.throughput(n as f64);
        let met = |n: u64| Reach::Met {
            cores: n,
            rate: x(n),
        };
        if x(1) >= rate {
            return Ok(met(1));
        }
        let unreachable = |peak_cores, peak_rate| Reach::Unreachable {
            peak_cores,
            peak_rate,
        };
        // The real root of X(N) = rate below the peak, then the whole count at or above it.
        // X(N) ≥ R  ⇔  Rκ·N² + (Rσ − Rκ − λ)·N + R(1 − σ) ≤ 0.
        let (s, k, l) = (self.sigma, self.kappa, self.lambda);
        let root = match self.limit() {
            Limit::Peak { cores, rate: peak } => {
                let best = x(cores.floor() as u64).max(x(cores.ceil() as u64));
                if best < rate {
                    return Ok(unreachable(Some(cores), peak));
                }
                let (a, b, c) = (rate * k, rate * s - rate * k - l, rate * (1.0 - s));
                let disc = (b * b - 4.0 * a * c).max(0.0);
                // The smaller root, in the form that does not cancel (b < 0 here).
                let q = -(b - disc.sqrt()) / 2.0;
                c / q
            }
            Limit::Asymptote { rate: asymptote } => {
                if asymptote <= rate {
                    return Ok(unreachable(None, asymptote));
                }
                rate * (1.0 - s) / (l - rate * s)
            }
            Limit::Unbounded => rate / l,
        };
        // Rounding: step to the exact whole count (a step or two at most).
        let mut n = (root.ceil().max(1.0) as u64).max(1);
        while x(n) < rate && n < u64::MAX / 2 {
            n += 1;
        }
        while n > 1 && x(n - 1) >= rate {
            n -= 1;
        }
        Ok(met(n))
    }
}

/// Whether a rate is reached, and at how many cores.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Reach {
    /// `cores` is the fewest that reach it; `rate` is the model's throughput there.
    Met { cores: u64, rate: f64 },
    /// No core count reaches it: the model peaks at `peak_rate` at `peak_cores` (USL), or
    /// approaches `peak_rate` without reaching it (Amdahl: `peak_cores` is null).
    Unreachable {
        peak_cores: Option<f64>,
        peak_rate: f64,
    },
}

/// A model fitted to points, with how well it fits.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    pub model: Model,
    /// Points fitted (repeats at one thread count count each).
    pub points: usize,
    /// Distinct thread counts among them: what constrains the curve's shape.
    pub distinct_threads: usize,
    /// Root mean square residual, per second.
    pub rmse: f64,
    /// 1 − SSE/SST; null when every point has the same rate (nothing to explain).
    pub r_squared: Option<f64>,
}

/// Fits `kind` to `points` by least squares on the throughput itself (absolute
/// residuals: a capacity answer is about rates at many cores, the large values).
///
/// Why this way: the USL is linear in σ and κ once λ is known (`λN/X − 1 = σ(N−1) +
/// κN(N−1)`), which gives a start in closed form with λ from the fewest-thread points;
/// but that linearisation weighs residuals by 1/X² and carries the noise of one point's λ
/// into every parameter, so it is not the least-squares answer. It is refined by
/// Levenberg–Marquardt on the real residuals X_i − X(N_i), with the analytic Jacobian and
/// Marquardt's scaling by the diagonal (λ ~ 10³ and κ ~ 10⁻³ differ by six orders), each
/// step projected onto σ, κ ∈ [0, 1], λ > 0 (the physical range: negative contention would
/// be superlinear scaling, which no core count sustains). The problem is three parameters
/// and a few dozen points, so a handful of further starts (a small grid of σ, κ with the
/// best λ for each in closed form) cost nothing and guard against a local minimum at a
/// bound; the lowest sum of squares wins.
///
/// Errors (typed, never a panic): no points, a thread count of 0, a rate that is not a
/// finite positive number, or fewer distinct thread counts than the model has parameters.
pub fn fit(points: &[Point], kind: ModelKind) -> Result<Fit> {
    validate(points)?;
    let distinct = distinct_threads(points);
    if distinct < kind.parameters() {
        return Err(Error::usage(format!(
            "{} needs at least {} distinct thread counts; the sweep has {distinct}",
            kind.name(),
            kind.parameters()
        )));
    }
    let mut starts = vec![linearised(points, kind)];
    for s in [0.0, 0.02, 0.1, 0.4] {
        let ks: &[f64] = match kind {
            ModelKind::Usl => &[0.0, 1e-4, 1e-3, 1e-2],
            ModelKind::Amdahl => &[0.0],
        };
        for &k in ks {
            starts.push(with_best_lambda(points, kind, s, k));
        }
    }
    let best = starts
        .into_iter()
        .map(|m| refine(points, m))
        .min_by(|a, b| sse(points, a).total_cmp(&sse(points, b)))
        .ok_or_else(|| Error::usage("internal: no start for the fit"))?;
    let e = sse(points, &best);
    let mean = points.iter().map(|p| p.rate).sum::<f64>() / points.len() as f64;
    let sst: f64 = points.iter().map(|p| (p.rate - mean).powi(2)).sum();
    Ok(Fit {
        model: best,
        points: points.len(),
        distinct_threads: distinct,
        rmse: (e / points.len() as f64).sqrt(),
        r_squared: (sst > 0.0).then(|| 1.0 - e / sst),
    })
}

fn validate(points: &[Point]) -> Result<()> {
    if points.is_empty() {
        return Err(Error::usage("no scaling points to fit"));
    }
    for p in points {
        if p.threads == 0 {
            return Err(Error::usage("a scaling point has 0 threads"));
        }
        positive(&format!("the rate at {} threads", p.threads), p.rate)?;
    }
    Ok(())
}

/// `value` must be a finite number above zero.
fn positive(what: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "{what} must be a finite number above 0, not {value}"
        )))
    }
}

fn distinct_threads(points: &[Point]) -> usize {
    let mut t: Vec<usize> = points.iter().map(|p| p.threads).collect();
    t.sort_unstable();
    t.dedup();
    t.len()
}

fn sse(points: &[Point], m: &Model) -> f64 {
    points
        .iter()
        .map(|p| (p.rate - m.throughput(p.threads as f64)).powi(2))
        .sum()
}

/// Keeps parameters in the physical range.
fn project(mut m: Model) -> Model {
    m.lambda = m.lambda.max(f64::MIN_POSITIVE);
    // + 0.0: a −0.0 (a clamped negative zero) is stored and printed as 0.
    m.sigma = m.sigma.clamp(0.0, 1.0) + 0.0;
    m.kappa = match m.kind {
        ModelKind::Usl => m.kappa.clamp(0.0, 1.0) + 0.0,
        ModelKind::Amdahl => 0.0,
    };
    m
}

/// The closed-form start: λ from the fewest-thread points (their mean rate ÷ threads), then
/// σ (and κ) by linear least squares through the origin on `λN/X − 1`.
fn linearised(points: &[Point], kind: ModelKind) -> Model {
    let n0 = points.iter().map(|p| p.threads).min().unwrap_or(1);
    let first: Vec<f64> = points
        .iter()
        .filter(|p| p.threads == n0)
        .map(|p| p.rate)
        .collect();
    let lambda = first.iter().sum::<f64>() / first.len().max(1) as f64 / n0 as f64;
    // Rows: y = σ·a + κ·b with a = N−1, b = N(N−1).
    let rows = points.iter().map(|p| {
        let n = p.threads as f64;
        (lambda * n / p.rate - 1.0, n - 1.0, n * (n - 1.0))
    });
    let (mut saa, mut sab, mut sbb, mut say, mut sby) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (y, a, b) in rows {
        saa += a * a;
        sab += a * b;
        sbb += b * b;
        say += a * y;
        sby += b * y;
    }
    let (sigma, kappa) = match kind {
        ModelKind::Amdahl => (if saa > 0.0 { say / saa } else { 0.0 }, 0.0),
        ModelKind::Usl => solve(&[vec![saa, sab], vec![sab, sbb]], &[say, sby])
            .map_or((0.0, 0.0), |v| (v[0], v[1])),
    };
    project(Model {
        kind,
        lambda,
        sigma,
        kappa,
    })
}

/// The model with σ and κ fixed and the λ that minimises the squared residuals (X is
/// linear in λ: λ = Σ X·g / Σ g² with g = N / (1 + σ(N−1) + κN(N−1))).
fn with_best_lambda(points: &[Point], kind: ModelKind, sigma: f64, kappa: f64) -> Model {
    let unit = project(Model {
        kind,
        lambda: 1.0,
        sigma,
        kappa,
    });
    let (mut xg, mut gg) = (0.0, 0.0);
    for p in points {
        let g = unit.throughput(p.threads as f64);
        xg += p.rate * g;
        gg += g * g;
    }
    project(Model {
        lambda: if gg > 0.0 { xg / gg } else { 1.0 },
        ..unit
    })
}

/// Projected Levenberg–Marquardt from `start` (see [`fit`]).
fn refine(points: &[Point], start: Model) -> Model {
    let free = start.kind.parameters();
    let mut m = project(start);
    let mut cost = sse(points, &m);
    let mut mu = 1e-3;
    for _ in 0..500 {
        // Normal equations JᵀJ δ = Jᵀr over (λ, σ[, κ]).
        let mut jtj = vec![vec![0.0; free]; free];
        let mut jtr = vec![0.0; free];
        for p in points {
            let n = p.threads as f64;
            let d = m.denominator(n);
            let f = m.lambda * n / d;
            let grad = [n / d, -f * (n - 1.0) / d, -f * n * (n - 1.0) / d];
            let r = p.rate - f;
            for i in 0..free {
                jtr[i] += grad[i] * r;
                for j in 0..free {
                    jtj[i][j] += grad[i] * grad[j];
                }
            }
        }
        let mut improved = false;
        while mu < 1e12 {
            let mut a = jtj.clone();
            for (i, row) in a.iter_mut().enumerate() {
                row[i] += mu * jtj[i][i].max(1e-300);
            }
            let Some(step) = solve(&a, &jtr) else {
                mu *= 10.0;
                continue;
            };
            let next = project(Model {
                lambda: m.lambda + step[0],
                sigma: m.sigma + step[1],
                kappa: m.kappa + step.get(2).copied().unwrap_or(0.0),
                ..m
            });
            let c = sse(points, &next);
            if c.is_finite() && c < cost {
                let gain = cost - c;
                m = next;
                cost = c;
                mu = (mu / 3.0).max(1e-12);
                improved = gain > cost * 1e-15 && gain > 0.0;
                break;
            }
            mu *= 4.0;
        }
        if !improved {
            break;
        }
    }
    m
}

/// Solves the small dense system `a x = b` by Gaussian elimination with partial pivoting;
/// `None` when it is singular.
fn solve(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let mut m: Vec<Vec<f64>> = a
        .iter()
        .zip(b)
        .map(|(row, &y)| row.iter().copied().chain([y]).collect())
        .collect();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs()))?;
        let scale = m.iter().map(|r| r[col].abs()).fold(0.0, f64::max);
        if m[pivot][col].abs() <= scale * 1e-14 || m[pivot][col] == 0.0 {
            return None;
        }
        m.swap(col, pivot);
        let (top, below) = m.split_at_mut(col + 1);
        let p = &top[col];
        for row in below {
            let f = row[col] / p[col];
            for (v, pv) in row[col..].iter_mut().zip(&p[col..]) {
                *v -= f * pv;
            }
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let tail: f64 = (r + 1..n).map(|c| m[r][c] * x[c]).sum();
        x[r] = (m[r][n] - tail) / m[r][r];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// One curve of a sweep (the engine's or the primitive's), its fits and the model used.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Curve {
    /// What the rate counts: `items/s` (engine) or `verifications/s` (primitive).
    pub unit: String,
    pub points: Vec<Point>,
    /// Every model that could be fitted: USL (≥ 3 distinct thread counts) and Amdahl.
    pub fits: Vec<Fit>,
    /// The model the answers use: USL when it could be fitted, else Amdahl.
    pub chosen: ModelKind,
    /// Why the fit constrains little, when it does (as many distinct thread counts as the
    /// model has parameters: it passes through them exactly).
    pub weak: Option<String>,
}

impl Curve {
    /// Fits `points` (rates in `unit`) with every model the thread counts allow.
    pub fn fit(unit: &str, points: Vec<Point>) -> Result<Curve> {
        validate(&points)?;
        let distinct = distinct_threads(&points);
        if distinct < 2 {
            return Err(Error::usage(format!(
                "a scaling fit needs at least 2 distinct thread counts; the sweep has \
                 {distinct} ({unit}); record one with --threads 2 or more, or pass a sweep \
                 from a bigger machine with --from"
            )));
        }
        let mut fits = Vec::new();
        if distinct >= ModelKind::Usl.parameters() {
            fits.push(fit(&points, ModelKind::Usl)?);
        }
        fits.push(fit(&points, ModelKind::Amdahl)?);
        let chosen = fits[0].model.kind;
        let weak = (distinct <= chosen.parameters()).then(|| weak_note(chosen, distinct));
        Ok(Curve {
            unit: unit.into(),
            points,
            fits,
            chosen,
            weak,
        })
    }

    /// The chosen fit.
    pub fn chosen_fit(&self) -> &Fit {
        self.fits
            .iter()
            .find(|f| f.model.kind == self.chosen)
            .unwrap_or(&self.fits[0])
    }

    /// The chosen model.
    pub fn model(&self) -> &Model {
        &self.chosen_fit().model
    }

    /// The most threads measured.
    pub fn max_threads(&self) -> usize {
        self.points.iter().map(|p| p.threads).max().unwrap_or(0)
    }
}

fn weak_note(kind: ModelKind, distinct: usize) -> String {
    let p = kind.parameters();
    let exact = match distinct {
        2 => "two points determine Amdahl exactly and constrain nothing".to_string(),
        n => format!(
            "{n} thread counts determine the {p} {} parameters exactly and constrain nothing",
            kind.name()
        ),
    };
    format!(
        "WEAK FIT: {exact} (the curve passes through every point it can, so R² says nothing; \
         any projection past {distinct} threads is a guess{}); \
         fit a sweep recorded on a bigger machine with --from",
        if kind == ModelKind::Amdahl {
            "; the USL needs at least 3 distinct thread counts"
        } else {
            ""
        }
    )
}

/// A sweep to plan from: the scaling curve of one or more run reports of the same testbed
/// and corpus.
#[derive(Clone, Debug)]
pub struct Sweep {
    pub testbed: Testbed,
    pub corpus: CorpusInfo,
    pub steps: Vec<ScalingStep>,
    /// Where the steps came from (file names, or that this run measured them).
    pub sources: Vec<String>,
}

impl Sweep {
    /// Pools the `scaling[]` of `reports` (each named by its source). Refuses reports of
    /// different testbeds (rates of different machines do not belong on one curve) or
    /// corpora (spec hash, or directory for plain trees), and reports without a scaling
    /// curve.
    pub fn pool(reports: Vec<(String, RunReport)>) -> Result<Sweep> {
        let mut it = reports.into_iter();
        let (name0, first) = it
            .next()
            .ok_or_else(|| Error::usage("no run reports to take a sweep from"))?;
        let corpus_id = |r: &RunReport| match &r.corpus.spec_hash {
            Some(h) => format!("spec hash {h}"),
            None => format!("directory {}", r.corpus.dir),
        };
        let no_curve = |name: &str| {
            Error::usage(format!(
                "{name}: the report has no scaling curve (make it with `trustbench run --scaling`)"
            ))
        };
        if first.scaling.is_empty() {
            return Err(no_curve(&name0));
        }
        let mut sweep = Sweep {
            testbed: first.testbed.clone(),
            corpus: first.corpus.clone(),
            steps: first.scaling.clone(),
            sources: vec![name0.clone()],
        };
        for (name, r) in it {
            if r.testbed.id != sweep.testbed.id {
                return Err(Error::usage(format!(
                    "{name} was recorded on testbed {} ({}), {name0} on {} ({}): a sweep pools \
                     one machine's points; fit each machine's reports separately",
                    r.testbed.id, r.testbed.host, sweep.testbed.id, sweep.testbed.host
                )));
            }
            if corpus_id(&r) != corpus_id(&first) {
                return Err(Error::usage(format!(
                    "{name} measured a different corpus ({}) from {name0} ({})",
                    corpus_id(&r),
                    corpus_id(&first)
                )));
            }
            if r.scaling.is_empty() {
                return Err(no_curve(&name));
            }
            sweep.steps.extend(r.scaling.iter().cloned());
            sweep.sources.push(name);
        }
        Ok(sweep)
    }
}

/// What to answer.
#[derive(Clone, Debug, Default)]
pub struct Question {
    /// Items to verify (`None`: the corpus's item count).
    pub items: Option<u64>,
    /// Core counts of the projection table (empty: [`DEFAULT_CORES`]).
    pub cores: Vec<u64>,
    /// The deadline in seconds, for "the fewest cores that meet it".
    pub deadline_s: Option<f64>,
}

/// One row of the projection: `items` on `cores`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Projection {
    pub cores: u64,
    pub engine_items_per_s: f64,
    pub engine_seconds: f64,
    /// The perfect-engine bound ([`Bound`]).
    pub primitive_items_per_s: f64,
    pub primitive_seconds: f64,
    /// More cores than the sweep measured: the model's extrapolation.
    pub extrapolated: bool,
}

/// The deadline question and both answers.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct DeadlineAnswer {
    pub deadline_s: f64,
    /// items ÷ deadline.
    pub required_items_per_s: f64,
    pub engine: Reach,
    /// The perfect-engine bound's answer ([`Bound`]).
    pub primitive: Reach,
}

/// The perfect-engine bound: the primitive's fitted σ and κ (how this machine's cores
/// share the work of the raw primitive) with λ fitted by least squares to the ceiling's
/// items/s at each thread count (`items_per_s ÷ efficiency` of the sweep: the corpus's items
/// costed at raw primitive rates measured with that many threads). The primitive's own rate
/// cannot stand for items/s: it is one signature class's verifications, while items mix
/// classes and add reads and digests; the ceiling has the right level and the primitive
/// the machine's shape.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Bound {
    pub model: Model,
    /// The ceiling's items/s per thread count, as measured.
    pub ceiling: Vec<Point>,
}

/// The whole capacity plan (schema `trustbench.capacity/1`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CapacityReport {
    pub schema: String,
    pub created_unix: u64,
    /// The machine the sweep was recorded on.
    pub testbed: Testbed,
    pub corpus: CorpusInfo,
    /// Where the sweep came from.
    pub sources: Vec<String>,
    /// Items the answers are for.
    pub items: u64,
    /// The engine's cold items/s per thread count, fitted.
    pub engine: Curve,
    /// The raw primitive's verifications/s per thread count (the corpus's dominant
    /// signature class, pre-parsed key), fitted: the machine's own scaling.
    pub primitive: Curve,
    /// What a perfect engine would do on this machine: the primitive's scaling at the
    /// ceiling's level.
    pub bound: Bound,
    pub projections: Vec<Projection>,
    pub deadline: Option<DeadlineAnswer>,
    pub assumptions: Vec<String>,
}

/// Fits both curves of `sweep` and answers `q`. `created_unix` stamps the report (the
/// caller's clock: this function is pure).
pub fn plan(sweep: &Sweep, q: &Question, created_unix: u64) -> Result<CapacityReport> {
    let items = q.items.unwrap_or(sweep.corpus.items as u64);
    if items == 0 {
        return Err(Error::usage("--items must be at least 1"));
    }
    if q.cores.contains(&0) {
        return Err(Error::usage("--cores must be at least 1"));
    }
    let cores = if q.cores.is_empty() {
        DEFAULT_CORES.to_vec()
    } else {
        q.cores.clone()
    };
    let points = |rate: fn(&ScalingStep) -> f64| {
        sweep
            .steps
            .iter()
            .map(|s| Point {
                threads: s.threads,
                rate: rate(s),
            })
            .collect::<Vec<_>>()
    };
    let engine = Curve::fit("items/s", points(|s| s.items_per_s))?;
    let primitive = Curve::fit("verifications/s", points(|s| s.raw_verify_per_s))
        .map_err(|e| Error::usage(format!("the raw primitive's curve: {e}")))?;
    let ceiling: Vec<Point> = sweep
        .steps
        .iter()
        .map(|s| Point {
            threads: s.threads,
            rate: s.items_per_s / s.efficiency,
        })
        .collect();
    validate(&ceiling).map_err(|e| {
        Error::usage(format!(
            "the ceiling (items/s ÷ efficiency of the scaling steps): {e}"
        ))
    })?;
    let shape = primitive.model();
    let bound = Bound {
        model: with_best_lambda(&ceiling, shape.kind, shape.sigma, shape.kappa),
        ceiling,
    };
    let (em, pm) = (*engine.model(), bound.model);
    let measured = engine.max_threads() as u64;
    let projections = cores
        .iter()
        .map(|&c| Projection {
            cores: c,
            engine_items_per_s: em.throughput(c as f64),
            engine_seconds: em.seconds(items, c),
            primitive_items_per_s: pm.throughput(c as f64),
            primitive_seconds: pm.seconds(items, c),
            extrapolated: c > measured,
        })
        .collect();
    let deadline = match q.deadline_s {
        None => None,
        Some(d) => {
            positive("--deadline", d)?;
            let required = items as f64 / d;
            Some(DeadlineAnswer {
                deadline_s: d,
                required_items_per_s: required,
                engine: em.cores_for(required)?,
                primitive: pm.cores_for(required)?,
            })
        }
    };
    Ok(CapacityReport {
        schema: SCHEMA.into(),
        created_unix,
        testbed: sweep.testbed.clone(),
        corpus: sweep.corpus.clone(),
        sources: sweep.sources.clone(),
        items,
        engine,
        primitive,
        bound,
        projections,
        deadline,
        assumptions: ASSUMPTIONS.iter().map(|a| a.to_string()).collect(),
    })
}

/// Samples per fitted curve in the chart.
const CURVE_SAMPLES: usize = 200;

impl CapacityReport {
    /// The plot of the plan: both curves' measured points and their fitted models, from one
    /// thread to the largest core count of the projection (the extrapolation is visible as
    /// the curve running past the points). Drawn by [`super::plot::line_chart`].
    pub fn chart(&self) -> Chart {
        let measured = self.engine.max_threads().max(self.primitive.max_threads()) as f64;
        let asked = self.projections.iter().map(|p| p.cores).max().unwrap_or(1) as f64;
        let top = measured.max(asked).max(2.0);
        let mut series = Vec::new();
        // One unit on the axis, items/s: the primitive's verifications/s are scaled to the
        // ceiling's level (its one-thread rate onto the bound's), so its curve shows the
        // machine's own scaling beside the engine's rather than a different magnitude.
        let primitive_scale = {
            let l = self.primitive.model().lambda;
            if l > 0.0 && l.is_finite() {
                self.bound.model.lambda / l
            } else {
                1.0
            }
        };
        for (color, (label, curve, scale)) in [
            ("engine", &self.engine, 1.0),
            (
                "primitive (scaled to the ceiling's level)",
                &self.primitive,
                primitive_scale,
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let points = curve
                .points
                .iter()
                .map(|p| (p.threads as f64, p.rate * scale))
                .collect();
            series.push(Series {
                name: format!("{label}, measured"),
                points,
                style: Style::Markers,
                color,
            });
            // The primitive's fitted curve at the ceiling's level is the perfect-engine
            // bound, drawn below: only the engine's fit is drawn here.
            if color > 0 {
                continue;
            }
            let m = curve.model();
            let fitted = (0..=CURVE_SAMPLES)
                .map(|i| 1.0 + (top - 1.0) * i as f64 / CURVE_SAMPLES as f64)
                .map(|n| (n, m.throughput(n) * scale))
                .collect();
            series.push(Series {
                name: format!("{label}, {} fit", m.kind.name()),
                points: fitted,
                style: Style::Line,
                color,
            });
        }
        let color = 2; // after the engine (0) and the primitive (1)
        series.push(Series {
            name: "ceiling (measured, items/s)".into(),
            points: self
                .bound
                .ceiling
                .iter()
                .map(|p| (p.threads as f64, p.rate))
                .collect(),
            style: Style::Markers,
            color,
        });
        series.push(Series {
            name: format!(
                "perfect-engine bound: the ceiling's level, the primitive's {} fit",
                self.primitive.model().kind.name()
            ),
            points: (0..=CURVE_SAMPLES)
                .map(|i| 1.0 + (top - 1.0) * i as f64 / CURVE_SAMPLES as f64)
                .map(|n| (n, self.bound.model.throughput(n)))
                .collect(),
            style: Style::Line,
            color,
        });
        let corpus = std::path::Path::new(&self.corpus.dir)
            .file_name()
            .map_or(self.corpus.dir.clone(), |n| {
                n.to_string_lossy().into_owned()
            });
        Chart {
            title: format!(
                "capacity: {corpus} on {} ({} logical CPUs)",
                self.testbed.host, self.testbed.logical_cpus
            ),
            x_label: "threads (cores)".into(),
            y_label: "items per second".into(),
            series,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usl(lambda: f64, sigma: f64, kappa: f64) -> Model {
        Model {
            kind: ModelKind::Usl,
            lambda,
            sigma,
            kappa,
        }
    }

    fn sample(m: &Model, threads: impl IntoIterator<Item = usize>) -> Vec<Point> {
        threads
            .into_iter()
            .map(|t| Point {
                threads: t,
                rate: m.throughput(t as f64),
            })
            .collect()
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-12)
    }

    #[test]
    fn recovers_known_usl_parameters() {
        let truth = usl(1000.0, 0.05, 0.001);
        let f = fit(&sample(&truth, 1..=32), ModelKind::Usl).unwrap();
        let m = f.model;
        assert!(close(m.lambda, 1000.0, 1e-6), "{m:?}");
        assert!(close(m.sigma, 0.05, 1e-5), "{m:?}");
        assert!(close(m.kappa, 0.001, 1e-5), "{m:?}");
        assert!(f.r_squared.unwrap() > 1.0 - 1e-12, "{f:?}");
        assert!(f.rmse < 1e-6, "{f:?}");
        assert_eq!((f.points, f.distinct_threads), (32, 32));
    }

    #[test]
    fn recovers_usl_from_a_sweep_that_does_not_start_at_one_thread() {
        // λ then comes from the refinement, not from a measured X(1).
        let truth = usl(250.0, 0.2, 0.01);
        let f = fit(&sample(&truth, [2, 3, 5, 8, 13]), ModelKind::Usl).unwrap();
        assert!(close(f.model.lambda, 250.0, 1e-5), "{f:?}");
        assert!(close(f.model.sigma, 0.2, 1e-4), "{f:?}");
        assert!(close(f.model.kappa, 0.01, 1e-4), "{f:?}");
    }

    #[test]
    fn noisy_points_fit_close_and_r_squared_says_how_close() {
        let truth = usl(1000.0, 0.05, 0.001);
        // A fixed ±2% pattern, no randomness.
        let pts: Vec<Point> = sample(&truth, 1..=16)
            .into_iter()
            .enumerate()
            .map(|(i, p)| Point {
                rate: p.rate * if i % 2 == 0 { 1.02 } else { 0.98 },
                ..p
            })
            .collect();
        let f = fit(&pts, ModelKind::Usl).unwrap();
        assert!(close(f.model.lambda, 1000.0, 0.05), "{f:?}");
        assert!((f.model.sigma - 0.05).abs() < 0.03, "{f:?}");
        let r2 = f.r_squared.unwrap();
        assert!(r2 < 1.0 && r2 > 0.95, "{f:?}");
        // Least squares: no other nearby model has a smaller sum of squares.
        let best = sse(&pts, &f.model);
        for (dl, ds, dk) in [(1.0, 0.0, 0.0), (0.0, 1e-4, 0.0), (0.0, 0.0, 1e-5)] {
            for sign in [-1.0, 1.0] {
                let m = Model {
                    lambda: f.model.lambda + sign * dl,
                    sigma: (f.model.sigma + sign * ds).max(0.0),
                    kappa: (f.model.kappa + sign * dk).max(0.0),
                    ..f.model
                };
                assert!(sse(&pts, &m) >= best, "{m:?} beats {f:?}");
            }
        }
    }

    #[test]
    fn recovers_known_amdahl_sigma() {
        let truth = Model {
            kind: ModelKind::Amdahl,
            lambda: 800.0,
            sigma: 0.08,
            kappa: 0.0,
        };
        let f = fit(&sample(&truth, [1, 2, 4, 8, 16]), ModelKind::Amdahl).unwrap();
        assert!(close(f.model.lambda, 800.0, 1e-8), "{f:?}");
        assert!(close(f.model.sigma, 0.08, 1e-7), "{f:?}");
        assert_eq!(f.model.kappa, 0.0);
        let Limit::Asymptote { rate } = f.model.limit() else {
            panic!("Amdahl with σ > 0 has an asymptote: {f:?}");
        };
        assert!(close(rate, 800.0 / 0.08, 1e-6));
        // A USL fit of Amdahl data finds κ = 0 (to rounding).
        let u = fit(&sample(&truth, [1, 2, 4, 8, 16]), ModelKind::Usl).unwrap();
        assert!(u.model.kappa < 1e-9, "{u:?}");
        assert!(close(u.model.sigma, 0.08, 1e-6), "{u:?}");
    }

    #[test]
    fn two_thread_counts_choose_amdahl_and_say_the_fit_is_weak() {
        let pts = vec![
            Point {
                threads: 1,
                rate: 1000.0,
            },
            Point {
                threads: 2,
                rate: 1800.0,
            },
        ];
        let c = Curve::fit("items/s", pts).unwrap();
        assert_eq!(c.chosen, ModelKind::Amdahl);
        assert_eq!(c.fits.len(), 1, "no USL from two thread counts");
        let weak = c.weak.as_deref().unwrap();
        assert!(
            weak.contains("two points determine Amdahl exactly"),
            "{weak}"
        );
        assert!(weak.contains("--from"), "{weak}");
        // Exact: 1800 = 2000 / (1 + σ) → σ = 1/9.
        assert!(close(c.model().sigma, 1.0 / 9.0, 1e-9), "{c:?}");
        assert!(c.chosen_fit().rmse < 1e-6);
        // And the USL alone refuses.
        let e = fit(&c.points, ModelKind::Usl).unwrap_err();
        assert!(e.to_string().contains("at least 3 distinct"), "{e}");
    }

    #[test]
    fn many_thread_counts_choose_usl_and_are_not_weak() {
        let c = Curve::fit("items/s", sample(&usl(1000.0, 0.05, 0.001), 1..=8)).unwrap();
        assert_eq!(c.chosen, ModelKind::Usl);
        assert_eq!(c.fits.len(), 2);
        assert!(c.weak.is_none());
        let three = Curve::fit("items/s", sample(&usl(1000.0, 0.05, 0.001), 1..=3)).unwrap();
        assert!(three.weak.unwrap().contains("exactly"));
    }

    #[test]
    fn deadline_answers_are_exact_core_counts() {
        // Linear: 100/s per core; 1000 items in 2.5 s need 400/s → exactly 4 cores.
        let linear = usl(100.0, 0.0, 0.0);
        assert_eq!(linear.limit(), Limit::Unbounded);
        let r = linear.cores_for(1000.0 / 2.5).unwrap();
        assert_eq!(
            r,
            Reach::Met {
                cores: 4,
                rate: 400.0
            }
        );
        // Just above 400/s: 5 cores.
        assert!(matches!(
            linear.cores_for(400.001).unwrap(),
            Reach::Met { cores: 5, .. }
        ));
        // USL: the answer is the first whole count whose throughput reaches the rate.
        let m = usl(1000.0, 0.05, 0.001);
        for want in [1500.0, 4000.0, 6000.0, 7000.0] {
            let Reach::Met { cores, rate } = m.cores_for(want).unwrap() else {
                panic!("reachable: {want}");
            };
            assert!(rate >= want && m.throughput(cores as f64) == rate);
            assert!(
                cores == 1 || m.throughput(cores as f64 - 1.0) < want,
                "{want}: {cores}"
            );
        }
        // Under one core's rate: 1 core.
        assert!(matches!(
            m.cores_for(10.0).unwrap(),
            Reach::Met { cores: 1, .. }
        ));
        // Amdahl below its asymptote.
        let a = Model {
            kind: ModelKind::Amdahl,
            lambda: 100.0,
            sigma: 0.1,
            kappa: 0.0,
        };
        // X(N) = 100N/(1+0.1(N−1)) ≥ 500 ⇔ N ≥ 9: X(9) = 500 exactly.
        assert!(matches!(
            a.cores_for(500.0).unwrap(),
            Reach::Met { cores: 9, .. }
        ));
        assert_eq!(
            a.cores_for(1000.0).unwrap(),
            Reach::Unreachable {
                peak_cores: None,
                peak_rate: 1000.0
            }
        );
    }

    #[test]
    fn a_deadline_past_the_usl_peak_is_unreachable_and_names_the_peak() {
        let m = usl(1000.0, 0.05, 0.001);
        // N* = √(0.95 / 0.001) ≈ 30.8.
        let Limit::Peak { cores, rate } = m.limit() else {
            panic!("USL with κ > 0 peaks");
        };
        assert!(close(cores, (0.95f64 / 0.001).sqrt(), 1e-12));
        assert!(rate > m.throughput(30.0) && rate > m.throughput(31.0));
        let r = m.cores_for(rate * 1.01).unwrap();
        assert_eq!(
            r,
            Reach::Unreachable {
                peak_cores: Some(cores),
                peak_rate: rate
            }
        );
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let p = |threads, rate| Point { threads, rate };
        for pts in [
            vec![],
            vec![p(0, 100.0), p(2, 150.0)],
            vec![p(1, 0.0), p(2, 150.0)],
            vec![p(1, -5.0), p(2, 150.0)],
            vec![p(1, f64::NAN), p(2, 150.0)],
            vec![p(1, f64::INFINITY), p(2, 150.0)],
            vec![p(1, 100.0), p(1, 110.0)],
        ] {
            for kind in [ModelKind::Usl, ModelKind::Amdahl] {
                assert!(matches!(fit(&pts, kind), Err(Error::Usage(_))), "{pts:?}");
            }
            assert!(matches!(Curve::fit("x", pts.clone()), Err(Error::Usage(_))));
        }
        let m = usl(1000.0, 0.05, 0.001);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(m.cores_for(bad), Err(Error::Usage(_))), "{bad}");
        }
    }

    fn sweep(steps: Vec<(usize, f64, f64)>) -> Sweep {
        let r = crate::measure::report::tests::shard_report(40, 1, 1);
        Sweep {
            testbed: r.testbed,
            corpus: r.corpus,
            steps: steps
                .into_iter()
                .map(|(threads, items_per_s, raw)| ScalingStep {
                    threads,
                    items_per_s,
                    raw_verify_per_s: raw,
                    efficiency: items_per_s / raw,
                })
                .collect(),
            sources: vec!["test".into()],
        }
    }

    #[test]
    fn a_plan_projects_both_curves_and_answers_the_deadline() {
        let (e, raw) = (usl(900.0, 0.05, 0.002), usl(1000.0, 0.02, 0.0));
        let s = sweep(
            (1..=8)
                .map(|t| (t, e.throughput(t as f64), raw.throughput(t as f64)))
                .collect(),
        );
        let q = Question {
            items: Some(100_000),
            cores: vec![],
            deadline_s: Some(10.0),
        };
        let r = plan(&s, &q, 7).unwrap();
        assert_eq!(r.schema, SCHEMA);
        assert_eq!(r.projections.len(), DEFAULT_CORES.len());
        let row4 = r.projections.iter().find(|p| p.cores == 4).unwrap();
        assert!(close(
            row4.engine_seconds,
            100_000.0 / e.throughput(4.0),
            1e-6
        ));
        assert!(!row4.extrapolated);
        assert!(
            r.projections
                .iter()
                .find(|p| p.cores == 16)
                .unwrap()
                .extrapolated
        );
        let d = r.deadline.unwrap();
        assert_eq!(d.required_items_per_s, 10_000.0);
        // The engine peaks near N* = √(0.95/0.002) ≈ 21.8 below 10 000/s; the primitive
        // reaches it.
        assert!(
            matches!(
                d.engine,
                Reach::Unreachable {
                    peak_cores: Some(_),
                    ..
                }
            ),
            "{d:?}"
        );
        // 1000N / (1 + 0.02(N−1)) ≥ 10 000 ⇔ N ≥ 12.25.
        assert!(matches!(d.primitive, Reach::Met { cores: 13, .. }), "{d:?}");
        // Bad questions.
        let bad = |q: Question| plan(&s, &q, 7).unwrap_err();
        assert!(bad(Question {
            items: Some(0),
            ..Question::default()
        })
        .to_string()
        .contains("--items"));
        assert!(bad(Question {
            cores: vec![0],
            ..Question::default()
        })
        .to_string()
        .contains("--cores"));
        assert!(bad(Question {
            deadline_s: Some(-1.0),
            ..Question::default()
        })
        .to_string()
        .contains("--deadline"));
        // A report without primitive rates cannot bound the engine.
        let zero = sweep(vec![(1, 100.0, 0.0), (2, 190.0, 0.0)]);
        let e = plan(&zero, &Question::default(), 7).unwrap_err();
        assert!(e.to_string().contains("primitive"), "{e}");
    }

    #[test]
    fn the_bound_has_the_ceilings_level_and_the_primitives_shape() {
        // Raw verify/s of one class at σ = 0.1; the ceiling (items/s) is 3× that at every
        // thread count; the engine reaches 40% of the ceiling.
        let raw = usl(500.0, 0.1, 0.0);
        let mut s = sweep(vec![]);
        s.steps = (1..=6)
            .map(|t| {
                let ceiling = 3.0 * raw.throughput(t as f64);
                ScalingStep {
                    threads: t,
                    items_per_s: 0.4 * ceiling,
                    raw_verify_per_s: raw.throughput(t as f64),
                    efficiency: 0.4,
                }
            })
            .collect();
        let r = plan(&s, &Question::default(), 1).unwrap();
        let b = r.bound.model;
        assert!(close(b.lambda, 1500.0, 1e-6), "{b:?}");
        assert!(close(b.sigma, r.primitive.model().sigma, 1e-12), "{b:?}");
        assert!(close(b.sigma, 0.1, 1e-5), "{b:?}");
        assert_eq!(r.bound.ceiling.len(), 6);
        for p in &r.projections {
            assert!(p.primitive_items_per_s > p.engine_items_per_s, "{p:?}");
        }
        // A step without an efficiency has no ceiling: a typed error, not a NaN answer.
        s.steps[0].efficiency = 0.0;
        let e = plan(&s, &Question::default(), 1).unwrap_err();
        assert!(e.to_string().contains("ceiling"), "{e}");
    }

    #[test]
    fn sweeps_pool_one_testbed_and_corpus_only() {
        use crate::measure::report::tests::shard_report;
        let mut a = shard_report(40, 1, 1);
        a.scaling = sweep(vec![(1, 100.0, 120.0), (2, 190.0, 230.0)]).steps;
        let b = a.clone();
        let s = Sweep::pool(vec![("a".into(), a.clone()), ("b".into(), b.clone())]).unwrap();
        assert_eq!(s.steps.len(), 4);
        assert_eq!(s.sources, ["a", "b"]);
        let mut other = b.clone();
        other.testbed.id = "0123456789abcdef".into();
        let e = Sweep::pool(vec![("a".into(), a.clone()), ("c".into(), other)]).unwrap_err();
        assert!(
            matches!(e, Error::Usage(_)) && e.to_string().contains("testbed"),
            "{e}"
        );
        let mut corpus = b.clone();
        corpus.corpus.spec_hash = Some("different".into());
        let e = Sweep::pool(vec![("a".into(), a.clone()), ("d".into(), corpus)]).unwrap_err();
        assert!(e.to_string().contains("different corpus"), "{e}");
        let mut flat = b;
        flat.scaling.clear();
        let e = Sweep::pool(vec![("e".into(), flat)]).unwrap_err();
        assert!(e.to_string().contains("--scaling"), "{e}");
        assert!(Sweep::pool(vec![]).is_err());
    }
}
