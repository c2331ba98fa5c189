//! A pass measured together with its ceiling.
//!
//! On a shared machine the load changes from second to second. A ceiling measured before
//! the passes and a pass measured after it see different machines, and their ratio (the
//! efficiency) swings with whatever the neighbours did in between. So a pass runs in
//! slices, and after each slice a short burst measures one probe of the ceiling
//! ([`Probe`]), round robin over the probes the pass's work needs, each as often as its
//! share of the pass's ceiling cost asks ([`Plan::weighted`]): the bursts spread over
//! the pass's time, and drift lands on both sides of the ratio. The pass's own time is the
//! sum of its slices (bursts excluded); the ceiling of the pass is made of the bursts taken
//! while it ran ([`Calibrator::ceiling`]).
//!
//! Slices are no smaller than [`MIN_SLICE`] items, so that a slice's end, where the workers
//! wait for the slowest of them, stays a small share of its time.

use super::calibrate::{Calibrator, Probe};
use super::report::PassAccumulator;
use super::source::Source;
use crate::corpus::manifest::Expected;
use crate::engine::{interrupt, Engine, Item, Pass, PassResult};
use crate::error::Result;
use std::collections::BTreeMap;
use std::time::Duration;

/// The fewest items of a slice.
pub const MIN_SLICE: usize = 256;

/// Bursts per probe and pass, on average: each probe gets at least one, the rest go to
/// the probes in proportion to their share of the pass's ceiling cost, so the figures that
/// weigh most (a slow signature class, the digest of large modules) are sampled most often
/// and through the whole pass, and one disturbed burst moves them least.
pub const BURSTS_PER_PROBE: usize = 3;

/// What a measured pass's caller sees of each slice: its items, their expected verdicts
/// (empty for a plain tree) and their outcomes.
pub type SliceFn<'a> = dyn FnMut(&[Item], &[Expected], &PassResult) + 'a;

/// What to measure while a pass runs: the probes, the order of their bursts, and how long
/// each burst lasts.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The probes the pass's work needs ([`super::calibrate::Work::probes`]).
    pub probes: Vec<Probe>,
    /// Burst `k` (after slice `k`) measures `probes[schedule[k]]`.
    pub schedule: Vec<usize>,
    /// Time per burst.
    pub burst: Duration,
    /// Laps over the corpus per measured pass ([`laps_for`]).
    pub laps: usize,
}

/// A pass shorter than this is timed over several laps: below it, a scheduler tick or one
/// disturbed burst is a large share of its time.
pub const MIN_TIMED: Duration = Duration::from_millis(100);

/// The most laps of a pass.
pub const MAX_LAPS: usize = 64;

/// Laps for a pass that took `wall` once: enough to last [`MIN_TIMED`], when `repeatable`
/// (every item came from the cache, so a second lap does the same work); else one.
pub fn laps_for(wall: Duration, repeatable: bool) -> usize {
    if !repeatable || wall >= MIN_TIMED {
        return 1;
    }
    let ns = wall.as_nanos().max(1);
    (MIN_TIMED.as_nanos().div_ceil(ns) as usize).clamp(1, MAX_LAPS)
}

impl Plan {
    /// No bursts (a warm-up, which only learns what a pass needs and how long it takes).
    pub fn none() -> Plan {
        Plan {
            probes: Vec::new(),
            schedule: Vec::new(),
            burst: Duration::ZERO,
            laps: 1,
        }
    }

    /// One burst of each of `probes`, each `burst` long: a first look at every price.
    pub fn survey(probes: Vec<Probe>, burst: Duration) -> Plan {
        Plan {
            schedule: (0..probes.len()).collect(),
            probes,
            burst,
            laps: 1,
        }
    }

    /// Bursts of `probes` weighted by `shares` (each probe's share of the pass's ceiling
    /// cost; any non-negative numbers): [`BURSTS_PER_PROBE`] per probe on average, at
    /// least one each, spread through the pass by smooth weighted round robin (the
    /// heaviest probe comes back most often, never all in a row). Together they last about
    /// as long as a pass of `wall`, so both sides of the ratio sample the same stretch of
    /// time; each lasts between `min` and `max`.
    pub fn weighted(
        probes: Vec<Probe>,
        shares: &[f64],
        wall: Duration,
        min: Duration,
        max: Duration,
    ) -> Plan {
        let n = probes.len();
        let total = n * BURSTS_PER_PROBE;
        let sum: f64 = shares.iter().filter(|w| w.is_finite() && **w > 0.0).sum();
        // Bursts per probe: one each, the rest by share (largest remainders).
        let spare = total.saturating_sub(n) as f64;
        let mut counts = vec![1usize; n];
        let mut rema: Vec<(f64, usize)> = Vec::with_capacity(n);
        for (i, count) in counts.iter_mut().enumerate() {
            let w = shares.get(i).copied().filter(|w| w.is_finite() && *w > 0.0);
            let exact = match (w, sum > 0.0) {
                (Some(w), true) => spare * w / sum,
                _ if sum > 0.0 => 0.0,
                _ => spare / n.max(1) as f64,
            };
            *count += exact.floor() as usize;
            rema.push((exact - exact.floor(), i));
        }
        let given: usize = counts.iter().sum();
        rema.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (_, i) in rema.iter().take(total.saturating_sub(given)) {
            counts[*i] += 1;
        }
        // Smooth weighted round robin over the counts.
        let sum_counts: i64 = counts.iter().map(|c| *c as i64).sum();
        let mut current = vec![0i64; n];
        let mut schedule = Vec::with_capacity(sum_counts as usize);
        for _ in 0..sum_counts {
            for (c, w) in current.iter_mut().zip(&counts) {
                *c += *w as i64;
            }
            let Some(pick) = (0..n).max_by_key(|&i| (current[i], std::cmp::Reverse(i))) else {
                break;
            };
            current[pick] -= sum_counts;
            schedule.push(pick);
        }
        let bursts = schedule.len().max(1) as u32;
        Plan {
            burst: (wall / bursts).clamp(min, max.max(min)),
            schedule,
            probes,
            laps: 1,
        }
    }
}

/// One measured run of a pass.
pub struct Measured {
    /// The pass's items, outcomes and work, to be priced by the ceiling of its bursts.
    pub acc: PassAccumulator,
    /// Each probe's figures (nanoseconds per operation), one per burst, in order.
    pub figures: BTreeMap<Probe, Vec<f64>>,
    /// A stop was requested ([`crate::engine::interrupt`]): the pass ended early and
    /// holds only the items it reached.
    pub interrupted: bool,
}

/// The engine, corpus and ceiling probes a measured pass runs on.
pub struct Bench<'a> {
    pub engine: &'a Engine,
    pub source: &'a Source,
    pub items: usize,
    pub calibrator: &'a Calibrator,
}

impl Bench<'_> {
    /// Runs `pass` over the whole corpus on `pool` as pass `name`, `plan.laps` times, slices
    /// alternating with the bursts of `plan`; every probe of the plan gets at least one
    /// burst. `each` sees every slice of the first lap: its items, expected verdicts and
    /// outcomes.
    pub fn run(
        &self,
        name: &str,
        pass: &Pass<'_>,
        pool: &rayon::ThreadPool,
        plan: &Plan,
        each: &mut SliceFn<'_>,
    ) -> Result<Measured> {
        let threads = pool.current_num_threads();
        let mut acc = PassAccumulator::new(name, threads);
        let mut figures: BTreeMap<Probe, Vec<f64>> = BTreeMap::new();
        let bursts = plan.schedule.len();
        let laps = plan.laps.max(1);
        let slice = match bursts {
            0 => usize::MAX,
            n => (self.items * laps).div_ceil(n).max(MIN_SLICE),
        };
        let mut next = 0usize;
        let burst = |figures: &mut BTreeMap<Probe, Vec<f64>>, probe: usize| {
            let probe = &plan.probes[probe];
            let store = self.engine.store.read().unwrap_or_else(|e| e.into_inner());
            if let Some(ns) = self.calibrator.measure(&store, probe, pool, plan.burst) {
                figures.entry(probe.clone()).or_default().push(ns);
            }
        };
        let mut interrupted = false;
        for lap in 0..laps {
            self.source.for_each_chunk(&mut |items, expected| {
                for (k, part) in items.chunks(slice).enumerate() {
                    if interrupted {
                        break;
                    }
                    let r = pass.run(part, pool);
                    interrupted = r.interrupted || interrupt::requested();
                    {
                        let store = self.engine.store.read().unwrap_or_else(|e| e.into_inner());
                        if lap == 0 {
                            acc.add(&store, part, &r);
                        } else {
                            acc.add_lap(&store, part, &r);
                        }
                    }
                    if lap == 0 {
                        let from = k * slice;
                        let exp = expected.get(from..(from + part.len()).min(expected.len()));
                        let exp = exp.unwrap_or(&[]);
                        if r.interrupted {
                            let (p, e, r) = reached(part, exp, r);
                            each(&p, &e, &r);
                        } else {
                            each(part, exp, &r);
                        }
                    }
                    if interrupted {
                        break;
                    }
                    if bursts > 0 {
                        burst(&mut figures, plan.schedule[next % bursts]);
                        next += 1;
                    }
                }
                Ok(())
            })?;
            if interrupted {
                break;
            }
        }
        // A corpus too small for a burst per probe per round: the probes not yet measured
        // (not after a stop request, which must be quick).
        for at in 0..plan.probes.len() {
            if !interrupted && !figures.contains_key(&plan.probes[at]) {
                burst(&mut figures, at);
            }
        }
        Ok(Measured {
            acc,
            figures,
            interrupted,
        })
    }
}

/// The items an interrupted slice reached, with their expectations and outcomes, for a
/// caller that zips them: an item the pass never reached has no verdict to compare or
/// report.
fn reached(
    items: &[Item],
    expected: &[Expected],
    r: PassResult,
) -> (Vec<Item>, Vec<Expected>, PassResult) {
    let keep: Vec<usize> = (0..items.len())
        .filter(|&i| r.outcomes.get(i).is_some_and(|o| o.verified))
        .collect();
    let items = keep.iter().map(|&i| items[i].clone()).collect();
    let expected = keep
        .iter()
        .filter_map(|&i| expected.get(i).cloned())
        .collect();
    let outcomes = keep.iter().map(|&i| r.outcomes[i]).collect();
    (items, expected, PassResult { outcomes, ..r })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probes(n: usize) -> Vec<Probe> {
        (0..n).map(|i| Probe::Verify(format!("c{i}"))).collect()
    }

    fn counts(plan: &Plan) -> Vec<usize> {
        let mut c = vec![0; plan.probes.len()];
        for &i in &plan.schedule {
            c[i] += 1;
        }
        c
    }

    #[test]
    fn bursts_follow_the_cost_shares_and_every_probe_gets_one() {
        let ms = Duration::from_millis;
        let plan = Plan::weighted(probes(4), &[6.0, 2.0, 0.0, 0.0], ms(120), ms(1), ms(50));
        assert_eq!(plan.schedule.len(), 4 * BURSTS_PER_PROBE);
        // One each, the 8 spare ones 6:2.
        assert_eq!(counts(&plan), [7, 3, 1, 1]);
        assert_eq!(plan.burst, ms(10), "together as long as the pass");
        // The heaviest probe is spread out, not bunched: never three in a row.
        assert!(plan
            .schedule
            .windows(3)
            .all(|w| !(w[0] == 0 && w[1] == 0 && w[2] == 0)));
        // Unknown shares: even.
        let even = Plan::weighted(probes(3), &[], ms(1), ms(3), ms(50));
        assert_eq!(counts(&even), [3, 3, 3]);
        assert_eq!(even.burst, ms(3), "never shorter than the minimum");
        assert!(Plan::weighted(Vec::new(), &[], ms(1), ms(1), ms(1))
            .schedule
            .is_empty());
        assert_eq!(Plan::survey(probes(2), ms(3)).schedule, [0, 1]);
    }

    #[test]
    fn only_a_short_repeatable_pass_runs_in_laps() {
        let ms = Duration::from_millis;
        assert_eq!(laps_for(ms(10), true), 10);
        assert_eq!(laps_for(ms(30), true), 4);
        assert_eq!(
            laps_for(ms(10), false),
            1,
            "a pass that fills the cache cannot lap"
        );
        assert_eq!(laps_for(ms(500), true), 1);
        assert_eq!(laps_for(Duration::ZERO, true), MAX_LAPS);
    }
}
