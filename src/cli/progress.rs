//! Progress on stderr for long work: an indicatif bar when stderr is a terminal (indicatif
//! draws nothing otherwise), the one style every command uses.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar of `len` steps, `MESSAGE [====    ] POS/LEN ETA`; drawn nowhere when `quiet`.
pub fn bar(len: u64, quiet: bool) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if quiet {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

/// Whether stderr is a terminal (where bars are drawn; elsewhere a command prints one line
/// per phase instead, so a CI log shows where a run is).
pub fn stderr_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}
