//! Sweeps: the same benchmark over every combination of a few settings (thread count,
//! backend, corpus spec), in one comparison table.
//!
//! The combinations run round robin: in every round each combination runs one measured
//! repeat, the first combination rotating, so that load drift during the sweep lands on
//! every combination alike, as `trustbench backends` does for backends. A combination's
//! figures are then medians over the rounds with bootstrap intervals, exactly as a run's
//! are over its repeats ([`PassReport::over_repeats`]).

use super::bench::{bench, BenchConfig};
use super::report::{PassReport, RunReport};
use crate::error::{Error, Result};
use crate::trust::Store;
use serde::{Deserialize, Serialize};

/// Schema of a sweep report.
pub const SWEEP_SCHEMA: &str = "trustbench.sweep/1";

/// The settings a sweep can vary.
pub const AXES: [&str; 3] = ["threads", "backend", "spec"];

/// One varied setting and its values, in the order given.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Axis {
    pub name: String,
    pub values: Vec<String>,
}

impl std::str::FromStr for Axis {
    type Err = Error;

    /// `NAME=V1,V2,...` with NAME one of [`AXES`].
    fn from_str(s: &str) -> Result<Axis> {
        let (name, values) = s
            .split_once('=')
            .ok_or_else(|| Error::usage(format!("--sweep {s}: want NAME=V1,V2,...")))?;
        if !AXES.contains(&name) {
            return Err(Error::usage(format!(
                "--sweep {s}: unknown setting '{name}' (one of: {})",
                AXES.join(", ")
            )));
        }
        let values: Vec<String> = values
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from)
            .collect();
        if values.is_empty() {
            return Err(Error::usage(format!("--sweep {s}: no values")));
        }
        if name == "threads" {
            if let Some(bad) = values
                .iter()
                .find(|v| v.parse::<usize>().map_or(true, |n| n == 0))
            {
                return Err(Error::usage(format!(
                    "--sweep threads: '{bad}' is not a thread count"
                )));
            }
        }
        Ok(Axis {
            name: name.into(),
            values,
        })
    }
}

/// One combination: a value per axis, in axis order.
pub type Point = Vec<(String, String)>;

/// Every combination of `axes`, the first axis varying slowest. Refuses an axis given
/// twice (which value would win?).
pub fn points(axes: &[Axis]) -> Result<Vec<Point>> {
    for (i, a) in axes.iter().enumerate() {
        if axes[..i].iter().any(|b| b.name == a.name) {
            return Err(Error::usage(format!("--sweep {} given twice", a.name)));
        }
    }
    let mut out: Vec<Point> = vec![Vec::new()];
    for a in axes {
        out = out
            .into_iter()
            .flat_map(|p| {
                a.values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push((a.name.clone(), v.clone()));
                    q
                })
            })
            .collect();
    }
    Ok(out)
}

/// The value of `axis` at `point`.
pub fn value<'a>(point: &'a Point, axis: &str) -> Option<&'a str> {
    point
        .iter()
        .find(|(k, _)| k == axis)
        .map(|(_, v)| v.as_str())
}

/// One combination's result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepRun {
    /// The combination: axis → value.
    pub point: Point,
    /// Its run report over the rounds: passes with `repeats` = rounds and estimates over
    /// them; the rest (link phase, ceiling, manifest) from its first round.
    pub report: RunReport,
}

/// A whole sweep.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepReport {
    pub schema: String,
    pub axes: Vec<Axis>,
    /// Round-robin rounds: measured repeats of each combination.
    pub rounds: usize,
    pub runs: Vec<SweepRun>,
}

impl SweepReport {
    /// Manifest mismatches and multi-buffer disagreements over every combination.
    pub fn findings(&self) -> usize {
        self.runs
            .iter()
            .map(|r| {
                r.report.manifest.as_ref().map_or(0, |m| m.count())
                    + r.report.mb_disagreements as usize
            })
            .sum()
    }
}

/// Hears which combination and round a sweep is at (a progress bar).
pub trait SweepObserver {
    /// A run of combination `point` in round `round` (0-based) is about to start, `done`
    /// runs of the sweep being over.
    fn step(&mut self, _done: usize, _round: usize, _point: &Point) {}
}

impl SweepObserver for () {}

/// Runs every combination of `points` for `rounds` rounds. `setup` makes a combination's
/// configuration and trust store (a fresh store per run: the link-time phase adds the
/// corpus's keyrings to it); its `repeat` is set to 1, the rounds being the repeats.
pub fn sweep(
    axes: &[Axis],
    rounds: usize,
    setup: &mut dyn FnMut(&Point) -> Result<(BenchConfig, Store)>,
    observer: &mut dyn SweepObserver,
) -> Result<SweepReport> {
    let points = points(axes)?;
    let rounds = rounds.max(1);
    let mut results: Vec<Vec<RunReport>> = points.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        for k in 0..points.len() {
            let at = (k + round) % points.len();
            observer.step(round * points.len() + k, round, &points[at]);
            let (mut config, store) = setup(&points[at])?;
            config.repeat = 1;
            results[at].push(bench(&config, store, &mut ())?);
        }
    }
    let runs = points
        .into_iter()
        .zip(results)
        .filter_map(|(point, reports)| {
            let mut it = reports.into_iter();
            let mut first = it.next()?;
            let rest: Vec<RunReport> = it.collect();
            let passes = std::mem::take(&mut first.passes);
            first.passes = passes
                .into_iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    let mut all = vec![p];
                    all.extend(rest.iter().filter_map(|r| r.passes.get(i).cloned()));
                    PassReport::over_repeats(all)
                })
                .collect();
            first.repeats = rounds;
            first.mb_disagreements += rest.iter().map(|r| r.mb_disagreements).sum::<u64>();
            if let Some(m) = first.manifest.as_mut() {
                // Any round's disagreement with the manifest counts.
                let worst = rest
                    .iter()
                    .filter_map(|r| r.manifest.as_ref().map(|m| m.count()))
                    .max()
                    .unwrap_or(0);
                m.mismatch_count = m.count().max(worst);
            }
            Some(SweepRun {
                point,
                report: first,
            })
        })
        .collect();
    Ok(SweepReport {
        schema: SWEEP_SCHEMA.into(),
        axes: axes.to_vec(),
        rounds,
        runs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_parse_and_refuse_what_they_cannot_take() {
        let a: Axis = "threads=1,2".parse().unwrap();
        assert_eq!(a.values, ["1", "2"]);
        assert!("threads=0".parse::<Axis>().is_err());
        assert!("threads=two".parse::<Axis>().is_err());
        assert!("colour=red".parse::<Axis>().is_err());
        assert!("backend=".parse::<Axis>().is_err());
        assert!("backend".parse::<Axis>().is_err());
    }

    #[test]
    fn points_are_the_cartesian_product_first_axis_slowest() {
        let axes: Vec<Axis> = ["threads=1,2", "backend=mb,aws-lc,ring"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let p = points(&axes).unwrap();
        assert_eq!(p.len(), 6);
        assert_eq!(value(&p[0], "threads"), Some("1"));
        assert_eq!(value(&p[0], "backend"), Some("mb"));
        assert_eq!(value(&p[2], "backend"), Some("ring"));
        assert_eq!(value(&p[3], "threads"), Some("2"));
        assert_eq!(value(&p[3], "spec"), None);
        let twice: Vec<Axis> = ["threads=1", "threads=2"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert!(points(&twice).is_err());
        assert_eq!(points(&[]).unwrap(), vec![Vec::new()], "no axes: one run");
    }
}
