//! What a caller of [`bench`](super::bench()) sees while it runs: phases as they begin,
//! and the items of the first pass whose verdict is not valid. Nothing in `measure` prints;
//! a command-line front end decides what to show.

use crate::engine::Item;
use crate::trust::Store;
use crate::verify::Verdict;
use std::fmt;
use std::path::PathBuf;

/// A phase of a run, reported as it begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase<'a> {
    /// Building the corpus's keyrings through their gatekeepers (generated corpora).
    Link,
    /// Measuring the ceiling on samples of the corpus's `items`.
    Calibrate { items: usize },
    /// An unmeasured round of the passes (`round` of `of`, 1-based).
    WarmUp { round: usize, of: usize },
    /// One of the configured passes, in measured repeat `repeat` of `of` (1-based).
    Pass {
        name: &'a str,
        repeat: usize,
        of: usize,
    },
    /// A cold pass of the scaling curve.
    Scaling { threads: usize },
    /// `trustbench backends`: building the keyrings with one backend.
    Backend { name: &'a str },
    /// `trustbench backends`: one round-robin round (1-based) of `of`, every backend's
    /// figures and cold pass.
    Round { round: usize, of: usize },
}

impl fmt::Display for Phase<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::Link => f.write_str("link-time phase: building the corpus's keyrings"),
            Phase::Calibrate { items } => write!(f, "calibrating on samples of {items} items"),
            Phase::WarmUp { round, of } => write!(f, "warm-up round {round} of {of}"),
            Phase::Pass { name, repeat, of } => write!(f, "pass {name} (repeat {repeat} of {of})"),
            Phase::Scaling { threads } => write!(f, "scaling: cold pass on {threads} thread(s)"),
            Phase::Backend { name } => write!(f, "building keyrings with {name}"),
            Phase::Round { round, of } => write!(f, "round {round} of {of}"),
        }
    }
}

/// Receives a run's progress. Every method has a do-nothing default.
pub trait Observer {
    fn phase(&mut self, _phase: Phase<'_>) {}

    /// `items` more items of the current pass (warm-up, measured or scaling) have their
    /// verdicts: for a progress bar over the pass's items.
    fn advanced(&mut self, _items: usize) {}

    /// An item of the first pass whose verdict is not valid, in corpus order.
    fn not_valid(&mut self, _item: &Item, _verdict: &Verdict) {}

    /// Every item of the first pass with its verdict, in corpus order, as each slice of
    /// the pass finishes (for streaming verdicts to disk: nothing is kept), with the
    /// store the verdict was decided under (signer descriptions).
    fn checked(&mut self, _store: &Store, _item: &Item, _verdict: &Verdict) {}
}

/// Observes nothing.
impl Observer for () {}

/// The items that are not valid: all counted, the first `cap` kept (path and verdict, no
/// text), named when displayed.
#[derive(Debug)]
pub struct NotValid {
    cap: usize,
    count: usize,
    listed: Vec<(PathBuf, Verdict)>,
}

impl NotValid {
    /// How many items are named at most.
    pub const DEFAULT_CAP: usize = 10_000;

    pub fn new(cap: usize) -> NotValid {
        NotValid {
            cap,
            count: 0,
            listed: Vec::new(),
        }
    }

    /// Every item that is not valid, listed or not.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The listed ones.
    pub fn listed(&self) -> &[(PathBuf, Verdict)] {
        &self.listed
    }
}

impl Default for NotValid {
    fn default() -> Self {
        NotValid::new(Self::DEFAULT_CAP)
    }
}

impl Observer for NotValid {
    fn not_valid(&mut self, item: &Item, verdict: &Verdict) {
        self.count += 1;
        if self.listed.len() < self.cap {
            self.listed.push((item.path.clone(), *verdict));
        }
    }
}

/// `every item is valid`, or a Markdown section naming them (`- PATH: CLASS ERRNO
/// (REASON)` per item, then `- … N more` beyond the cap); every line ends in a newline.
impl fmt::Display for NotValid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.count == 0 {
            return writeln!(f, "every item is valid");
        }
        writeln!(f, "## Items that are not valid ({})\n", self.count)?;
        for (path, v) in &self.listed {
            writeln!(
                f,
                "- {}: {} {} ({})",
                path.display(),
                v.class.name(),
                v.errno.map(|e| e.to_string()).unwrap_or_default(),
                v.reason
            )?;
        }
        if self.count > self.listed.len() {
            writeln!(f, "- … {} more", self.count - self.listed.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errno::Errno;
    use crate::verify::ItemKind;

    #[test]
    fn not_valid_counts_all_and_lists_up_to_the_cap() {
        let mut nv = NotValid::new(2);
        assert_eq!(nv.to_string(), "every item is valid\n");
        let v = Verdict::invalid(ItemKind::Module, Errno::ENOKEY, "no key");
        for i in 0..5 {
            nv.not_valid(&Item::from_path(format!("/c/m{i}.ko").into()), &v);
        }
        assert_eq!(nv.count(), 5);
        assert_eq!(nv.listed().len(), 2);
        assert_eq!(
            nv.to_string(),
            "## Items that are not valid (5)\n\n- /c/m0.ko: invalid ENOKEY (no key)\n\
             - /c/m1.ko: invalid ENOKEY (no key)\n- … 3 more\n"
        );
    }
}
