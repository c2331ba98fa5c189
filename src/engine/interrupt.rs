//! Stopping a run early, on request: a process-wide flag that `SIGINT`/`SIGTERM` set and
//! every worker reads before each item.
//!
//! Why a flag and not a kill: a run interrupted by the default action leaves nothing, and
//! a CI job cancelled at minute 40 of a large corpus has then measured nothing. With the
//! flag set, workers stop taking items (an item already being verified is finished, so a
//! stop takes at most one item's time per worker), the pass returns what it verified
//! (the rest marked [`Outcome::verified`] false), and the caller writes a report marked
//! partial. The check is one relaxed atomic load per item.
//!
//! [`install`] puts the handlers in place; a second signal of either kind, once the first
//! has asked for a stop, ends the process at once (the handler restores the default
//! action after the first), so a stuck run can still be killed from the keyboard.
//!
//! [`Outcome::verified`]: super::Outcome::verified

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);
/// The signal that asked for the stop (0: none, or asked for by [`request`]).
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Asks every pass to stop taking items (what the signal handler does; tests call it).
pub fn request() {
    STOP.store(true, Ordering::Relaxed);
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// Forgets a stop request (tests that interrupt a pass in-process and go on).
pub fn reset() {
    STOP.store(false, Ordering::Relaxed);
    SIGNAL.store(0, Ordering::Relaxed);
}

/// The name of the signal that asked for the stop (`SIGINT`, `SIGTERM`), or `None` when
/// no signal did.
pub fn signal_name() -> Option<&'static str> {
    match SIGNAL.load(Ordering::Relaxed) {
        libc::SIGINT => Some("SIGINT"),
        libc::SIGTERM => Some("SIGTERM"),
        _ => None,
    }
}

/// The handler: records the signal, sets the flag, says so on stderr (`write(2)` is
/// async-signal-safe), and restores the default action so that the next one kills.
extern "C" fn on_signal(sig: libc::c_int) {
    SIGNAL.store(sig, Ordering::Relaxed);
    STOP.store(true, Ordering::Relaxed);
    let msg: &[u8] =
        b"\ntrustbench: interrupted; stopping and writing the partial report (again to abort)\n";
    // SAFETY: write(2) and signal(2) are async-signal-safe; the buffer is a static string.
    unsafe {
        libc::write(libc::STDERR_FILENO, msg.as_ptr().cast(), msg.len());
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
    }
}

/// Makes `SIGINT` and `SIGTERM` ask for a stop instead of ending the process. Only for
/// commands that check [`requested`] throughout (otherwise the signals would be ignored).
pub fn install() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction with a plain handler (no SA_SIGINFO) and an empty mask
        // is a valid disposition; the handler only touches atomics and async-signal-safe
        // calls.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}
