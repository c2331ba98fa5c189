//! criterion's `--profile-time N` hook for every bench target: a pprof sampling profile per
//! benchmark, written as an SVG flamegraph into `flamegraphs/` under the current directory
//! (`cargo bench` runs from the package root).
//!
//! pprof's own `criterion` feature implements criterion 0.5's `Profiler` trait; this adapter
//! implements criterion 0.8's around `pprof::ProfilerGuard`, with the same sampling settings
//! as `trustbench run --flamegraph` (997 Hz, so samples do not beat with periodic work; libc,
//! libgcc, pthread and vdso frames left out). criterion calls it only in profile mode, so
//! measurements never run under the sampler.
//!
//! Included by each bench target with `#[path = "support/profiler.rs"] mod profiler;`.

use criterion::profiler::Profiler;
use pprof::{ProfilerGuard, ProfilerGuardBuilder};
use std::path::{Path, PathBuf};

/// Writes `flamegraphs/<benchmark id>.svg` for every profiled benchmark.
pub struct Flamegraphs {
    dir: PathBuf,
    guard: Option<ProfilerGuard<'static>>,
}

impl Flamegraphs {
    /// Flamegraphs go to `dir` (created on the first profile).
    pub fn new(dir: impl Into<PathBuf>) -> Flamegraphs {
        Flamegraphs {
            dir: dir.into(),
            guard: None,
        }
    }

    /// The SVG path of a benchmark: its id with every character outside `[A-Za-z0-9._-]`
    /// replaced by `_` (criterion ids contain `/` and spaces).
    pub fn path_of(&self, benchmark_id: &str) -> PathBuf {
        let name: String = benchmark_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{name}.svg"))
    }
}

impl Profiler for Flamegraphs {
    fn start_profiling(&mut self, benchmark_id: &str, _benchmark_dir: &Path) {
        match ProfilerGuardBuilder::default()
            .frequency(997)
            .blocklist(&["libc", "libgcc", "pthread", "vdso"])
            .build()
        {
            Ok(g) => self.guard = Some(g),
            Err(e) => eprintln!("profiler: {benchmark_id}: cannot start: {e}"),
        }
    }

    fn stop_profiling(&mut self, benchmark_id: &str, _benchmark_dir: &Path) {
        let Some(guard) = self.guard.take() else {
            return;
        };
        let path = self.path_of(benchmark_id);
        let written = guard
            .report()
            .build()
            .map_err(|e| e.to_string())
            .and_then(|report| {
                std::fs::create_dir_all(&self.dir).map_err(|e| e.to_string())?;
                let f = std::fs::File::create(&path).map_err(|e| e.to_string())?;
                report.flamegraph(f).map_err(|e| e.to_string())
            });
        match written {
            Ok(()) => eprintln!("flamegraph: {}", path.display()),
            Err(e) => eprintln!("profiler: {benchmark_id}: {}: {e}", path.display()),
        }
    }
}
