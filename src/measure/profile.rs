//! `--flamegraph`: a sampling profile of the passes (pprof), written as an SVG flamegraph.

use crate::error::{Error, Result};
use std::path::Path;

/// A running profiler; dropping it without [`Profiler::write_flamegraph`] discards the
/// samples.
pub(crate) struct Profiler(pprof::ProfilerGuard<'static>);

fn profiler_error(e: pprof::Error) -> Error {
    Error::Report {
        message: format!("profiler: {e}"),
    }
}

impl Profiler {
    /// Starts sampling every thread of the process (997 Hz, so samples do not beat with
    /// periodic work).
    pub fn start() -> Result<Profiler> {
        pprof::ProfilerGuardBuilder::default()
            .frequency(997)
            .blocklist(&["libc", "libgcc", "pthread", "vdso"])
            .build()
            .map(Profiler)
            .map_err(profiler_error)
    }

    /// Stops sampling and writes the flamegraph to `path`, creating its directory.
    pub fn write_flamegraph(self, path: &Path) -> Result<()> {
        let report = self.0.report().build().map_err(profiler_error)?;
        if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
        }
        let f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        report.flamegraph(f).map_err(|e| Error::Report {
            message: format!("flamegraph: {e}"),
        })
    }
}
