//! A pass measured together with its ceiling.
//!
//! On a shared machine the load changes from second to second. A ceiling measured before
//! the passes and a pass measured after it see different machines, and their ratio (the
//! efficiency) swings with whatever the neighbours did in between. So a pass runs in
//! slices, and after each slice a short burst measures one probe of the ceiling
//! ([`Probe`]), round robin over the probes the pass's work needs: the bursts spread over
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
use crate::engine::{Engine, Item, Pass, PassResult};
use crate::error::Result;
use std::collections::BTreeMap;
use std::time::Duration;

/// The fewest items of a slice.
pub const MIN_SLICE: usize = 256;

/// Bursts per probe and pass: two, so that each probe is sampled early and late in the
/// pass.
pub const ROUNDS: usize = 2;

/// What a measured pass's caller sees of each slice: its items, their expected verdicts
/// (empty for a plain tree) and their outcomes.
pub type SliceFn<'a> = dyn FnMut(&[Item], &[Expected], &PassResult) + 'a;

/// What to measure while a pass runs: the probes, and how long each burst lasts.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The probes the pass's work needs ([`super::calibrate::Work::probes`]).
    pub probes: Vec<Probe>,
    /// Time per burst.
    pub burst: Duration,
}

impl Plan {
    /// No bursts (a warm-up, which only learns what a pass needs and how long it takes).
    pub fn none() -> Plan {
        Plan {
            probes: Vec::new(),
            burst: Duration::ZERO,
        }
    }

    /// Bursts of `probes` ([`ROUNDS`] each) that together last about as long as a pass of
    /// `wall` (so both sides of the ratio sample the same stretch of time), each between
    /// `min` and `max`.
    pub fn balanced(probes: Vec<Probe>, wall: Duration, min: Duration, max: Duration) -> Plan {
        let bursts = (probes.len() * ROUNDS).max(1) as u32;
        Plan {
            burst: (wall / bursts).clamp(min, max.max(min)),
            probes,
        }
    }
}

/// One measured run of a pass.
pub struct Measured {
    /// The pass's items, outcomes and work, to be priced by the ceiling of its bursts.
    pub acc: PassAccumulator,
    /// Each probe's figures (nanoseconds per operation), one per burst, in order.
    pub figures: BTreeMap<Probe, Vec<f64>>,
}

/// The engine, corpus and ceiling probes a measured pass runs on.
pub struct Bench<'a> {
    pub engine: &'a Engine,
    pub source: &'a Source,
    pub items: usize,
    pub calibrator: &'a Calibrator,
}

impl Bench<'_> {
    /// Runs `pass` over the whole corpus on `pool` as pass `name`, slices alternating with
    /// the bursts of `plan`; every probe of the plan gets at least one burst. `each` sees
    /// every slice's items, expected verdicts and outcomes.
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
        let bursts = plan.probes.len() * ROUNDS;
        let slice = match bursts {
            0 => usize::MAX,
            n => self.items.div_ceil(n).max(MIN_SLICE),
        };
        let mut next = 0usize;
        let burst = |figures: &mut BTreeMap<Probe, Vec<f64>>, at: usize| {
            let probe = &plan.probes[at % plan.probes.len()];
            let store = self.engine.store.read().unwrap_or_else(|e| e.into_inner());
            if let Some(ns) = self.calibrator.measure(&store, probe, pool, plan.burst) {
                figures.entry(probe.clone()).or_default().push(ns);
            }
        };
        self.source.for_each_chunk(&mut |items, expected| {
            for (k, part) in items.chunks(slice).enumerate() {
                let r = pass.run(part, pool);
                {
                    let store = self.engine.store.read().unwrap_or_else(|e| e.into_inner());
                    acc.add(&store, part, &r);
                }
                let from = k * slice;
                let exp = expected.get(from..(from + part.len()).min(expected.len()));
                each(part, exp.unwrap_or(&[]), &r);
                if bursts > 0 {
                    burst(&mut figures, next);
                    next += 1;
                }
            }
            Ok(())
        })?;
        // A corpus too small for a burst per probe per round: the probes not yet measured.
        for at in 0..plan.probes.len() {
            if !figures.contains_key(&plan.probes[at]) {
                burst(&mut figures, at);
            }
        }
        Ok(Measured { acc, figures })
    }
}
