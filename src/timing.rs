//! Per-stage timing on the hot path, without threading a timer through every call.
//!
//! Each worker thread keeps a small array of nanoseconds per [`Stage`] in a thread-local.
//! Code marks the start of a stage with [`mark`]; the time since the previous mark is
//! charged to the previous stage, so the stages of an item always sum to its total. When
//! timing is off (the default, e.g. in `verify`), a mark is one thread-local flag check.

use std::cell::{Cell, RefCell};
use std::time::Instant;

/// Pipeline stages, in hot-path order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    Read = 0,
    Decompress = 8,
    Parse = 1,
    Digest = 2,
    Cache = 3,
    Lookup = 4,
    Blacklist = 5,
    Verify = 6,
    Other = 7,
}

pub const STAGES: usize = 9;

impl Stage {
    pub const ALL: [Stage; STAGES] = [
        Stage::Read,
        Stage::Decompress,
        Stage::Parse,
        Stage::Digest,
        Stage::Cache,
        Stage::Lookup,
        Stage::Blacklist,
        Stage::Verify,
        Stage::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Read => "read",
            Stage::Decompress => "decompress",
            Stage::Parse => "parse",
            Stage::Digest => "digest",
            Stage::Cache => "cache",
            Stage::Lookup => "lookup",
            Stage::Blacklist => "blacklist",
            Stage::Verify => "verify",
            Stage::Other => "other",
        }
    }
}

struct Clock {
    current: Stage,
    since: Instant,
    acc: [u64; STAGES],
}

thread_local! {
    static ENABLED: Cell<bool> = const { Cell::new(false) };
    static CLOCK: RefCell<Clock> = RefCell::new(Clock {
        current: Stage::Other,
        since: Instant::now(),
        acc: [0; STAGES],
    });
}

/// Seconds since the Unix epoch (0 if the clock is before it): the stamp of reports and
/// of the files named after them.
pub fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Starts timing one item on this thread, in `stage`.
pub fn begin(stage: Stage) {
    ENABLED.with(|e| e.set(true));
    CLOCK.with(|c| {
        let mut c = c.borrow_mut();
        c.acc = [0; STAGES];
        c.current = stage;
        c.since = Instant::now();
    });
}

/// Switches to `stage`, charging the elapsed time to the previous one.
#[inline]
pub fn mark(stage: Stage) {
    if !ENABLED.with(Cell::get) {
        return;
    }
    CLOCK.with(|c| {
        let mut c = c.borrow_mut();
        let now = Instant::now();
        let prev = c.current as usize;
        c.acc[prev] += now.duration_since(c.since).as_nanos() as u64;
        c.current = stage;
        c.since = now;
    });
}

/// Ends the item: returns nanoseconds per stage and stops timing.
pub fn end() -> [u64; STAGES] {
    mark(Stage::Other);
    ENABLED.with(|e| e.set(false));
    CLOCK.with(|c| std::mem::replace(&mut c.borrow_mut().acc, [0; STAGES]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_sum_to_the_total() {
        let t0 = Instant::now();
        begin(Stage::Read);
        std::thread::sleep(std::time::Duration::from_millis(2));
        mark(Stage::Verify);
        std::thread::sleep(std::time::Duration::from_millis(1));
        let acc = end();
        let total = t0.elapsed().as_nanos() as u64;
        let sum: u64 = acc.iter().sum();
        assert!(acc[Stage::Read as usize] > 0 && acc[Stage::Verify as usize] > 0);
        assert!(sum <= total);
        // Marks outside an item cost nothing and record nothing.
        mark(Stage::Digest);
        assert_eq!(end().iter().sum::<u64>(), 0);
    }
}
