//! File mappings that survive the file shrinking underneath them.
//!
//! Why this exists: a page of a shared file mapping past the file's end raises `SIGBUS`
//! when touched, and the default action kills the process. Another process truncating a
//! file while a worker hashes its mapping is enough: one `truncate` anywhere in a
//! corpus used to take a whole run down. Mapping is therefore opt-in (`--mmap`; the
//! engine reads with `read(2)` by default, as ripgrep does), and every mapping the engine
//! or the calibration makes is a [`GuardedMap`]: registered, for its life, in a fixed
//! table that a process-wide `SIGBUS` handler consults.
//!
//! When a registered mapping faults, the handler maps anonymous zero pages over the rest
//! of it (from the faulting page to its end), marks it faulted and returns: the access is
//! retried, reads zeros, and the worker finishes the item normally. The pipeline then asks
//! [`GuardedMap::faulted`] before the verdict stands, and gives the item the verdict of a
//! file that shrank while it was read (the kernel's `kernel_read_file` refuses such a
//! read with `EIO`) instead of anything computed from the zeros; such verdicts are never
//! cached. A `SIGBUS` at any other address is passed to the handler that was installed
//! before ours (Rust's own, which reports stack overflows) or, if there was none, to the
//! default action: the process dies as it would have without us.
//!
//! The handler only loads atomics and makes one `mmap` system call (a thin syscall
//! wrapper, no lock, no allocation), so it is safe to run at any instruction of any
//! thread. The table is global, not per thread: a mapping may be dropped on another
//! thread than the one that made it (a worker's scratch can move between threads).

use memmap2::Mmap;
use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Mappings that can be guarded at once. A worker holds at most a batch window's worth
/// (16 items) plus one; 1024 covers 60 workers. When the table is full a file is read
/// instead ([`GuardedMap::map`] returns `None`), so the bound costs speed, never safety.
pub const MAX_GUARDED: usize = 1024;

/// One registered mapping: its address range and whether it faulted. `start == 0` is a
/// free entry.
struct Entry {
    start: AtomicUsize,
    len: AtomicUsize,
    faulted: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)] // the initialiser of each array element
const FREE: Entry = Entry {
    start: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    faulted: AtomicBool::new(false),
};

/// The registered mappings.
static TABLE: [Entry; MAX_GUARDED] = [FREE; MAX_GUARDED];

/// Faults absorbed since the process started (tests and reports).
static FAULTS: AtomicU64 = AtomicU64::new(0);

/// The page size, read once when the handler is installed.
static PAGE: AtomicUsize = AtomicUsize::new(4096);

/// The `SIGBUS` disposition before ours, to pass foreign faults on to; set once, before
/// our handler is installed. `Err` records that installing failed (mapping is then
/// refused: reading is always possible).
static PREVIOUS: OnceLock<Result<libc::sigaction, ()>> = OnceLock::new();

/// How many `SIGBUS` faults on guarded mappings the process has absorbed.
pub fn faults() -> u64 {
    FAULTS.load(Ordering::Relaxed)
}

/// A read-only private mapping of a whole file, guarded against `SIGBUS` for its life.
pub struct GuardedMap {
    /// Index into the table.
    slot: usize,
    /// Dropped after the entry is freed (fields drop after [`Drop::drop`] runs).
    map: Mmap,
}

impl GuardedMap {
    /// Maps `file` (whose length is `len`, non-zero) and registers the mapping. `Ok(None)`
    /// when it cannot be guarded (the table is full or the handler could not be
    /// installed): the caller reads the file instead. `Err` when mapping fails.
    pub fn map(file: &File, len: u64) -> std::io::Result<Option<GuardedMap>> {
        if len == 0 || !install() {
            return Ok(None);
        }
        let Some(slot) = claim() else {
            return Ok(None);
        };
        // SAFETY: a read-only private mapping of a file we hold open. The one hazard, the
        // file shrinking while mapped (SIGBUS on the pages past its new end), is what the
        // handler absorbs: the range is registered below before any byte is read.
        let map = match unsafe { memmap2::MmapOptions::new().map(file) } {
            Ok(m) => m,
            Err(e) => {
                TABLE[slot].start.store(0, Ordering::Release);
                return Err(e);
            }
        };
        if map.is_empty() {
            TABLE[slot].start.store(0, Ordering::Release);
            return Ok(None);
        }
        let e = &TABLE[slot];
        e.faulted.store(false, Ordering::Relaxed);
        e.len.store(map.len(), Ordering::Relaxed);
        e.start.store(map.as_ptr() as usize, Ordering::Release);
        Ok(Some(GuardedMap { slot, map }))
    }

    /// Whether a page of the mapping was past the file's end when touched (the file shrank
    /// after it was mapped): the bytes read from there were zeros, not the file's.
    pub fn faulted(&self) -> bool {
        TABLE[self.slot].faulted.load(Ordering::Acquire)
    }
}

impl std::ops::Deref for GuardedMap {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for GuardedMap {
    fn drop(&mut self) {
        // Freed before the unmapping (the `map` field drops after this body), so a new
        // mapping at the same address is never matched against this entry.
        TABLE[self.slot].start.store(0, Ordering::Release);
    }
}

/// Claims a free entry: marked busy with address 1 (no mapping starts there) until the
/// mapping's range is stored.
fn claim() -> Option<usize> {
    (0..MAX_GUARDED).find(|&i| {
        TABLE[i]
            .start
            .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    })
}

/// Installs the handler once; whether it is installed.
fn install() -> bool {
    PREVIOUS
        .get_or_init(|| {
            // SAFETY: sysconf has no preconditions.
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            if page > 0 {
                PAGE.store(page as usize, Ordering::Relaxed);
            }
            // SAFETY: `sigaction` with a zeroed struct as out-parameter only reads the
            // current disposition; then installs ours. Both structs are fully
            // initialised (zeroed, then the fields we set).
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut old) != 0 {
                    return Err(());
                }
                let mut ours: libc::sigaction = std::mem::zeroed();
                ours.sa_sigaction = on_sigbus as *const () as usize;
                ours.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
                libc::sigemptyset(&mut ours.sa_mask);
                // The previous disposition is recorded by `get_or_init` before any
                // SIGBUS can reach our handler, except one racing this very call, which
                // the handler treats as foreign with no previous handler (default action).
                if libc::sigaction(libc::SIGBUS, &ours, std::ptr::null_mut()) != 0 {
                    return Err(());
                }
                Ok(old)
            }
        })
        .is_ok()
}

/// The `SIGBUS` handler: absorbs faults on registered mappings, passes the rest on.
extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    let page = PAGE.load(Ordering::Relaxed);
    for e in &TABLE {
        let start = e.start.load(Ordering::Acquire);
        let len = e.len.load(Ordering::Relaxed);
        if start <= 1 || addr < start || addr >= start + len {
            continue;
        }
        let from = addr & !(page - 1);
        let end = (start + len).div_ceil(page) * page;
        // SAFETY: [from, end) lies within a live mapping we own (registered, not yet
        // unmapped: entries are freed before their unmapping); MAP_FIXED replaces those
        // pages with private zero pages, which the mapping's munmap later releases.
        let r = unsafe {
            libc::mmap(
                from as *mut libc::c_void,
                end - from,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if r != libc::MAP_FAILED {
            e.faulted.store(true, Ordering::Release);
            FAULTS.fetch_add(1, Ordering::Relaxed);
            return;
        }
        break;
    }
    // Not ours (or the zero pages could not be mapped): what would have happened without us.
    match PREVIOUS.get() {
        Some(Ok(old))
            if old.sa_flags & libc::SA_SIGINFO != 0
                && old.sa_sigaction != libc::SIG_DFL
                && old.sa_sigaction != libc::SIG_IGN =>
        {
            // SAFETY: the previous handler was installed with SA_SIGINFO, so it has this
            // signature; it is given the same arguments the kernel gave us.
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(old.sa_sigaction) };
            f(sig, info, ctx);
        }
        Some(Ok(old)) if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN => {
            // SAFETY: a handler installed without SA_SIGINFO takes only the signal number.
            let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(old.sa_sigaction) };
            f(sig);
        }
        _ => {
            // Back to the default action; returning re-executes the faulting access, which
            // raises SIGBUS again and ends the process as it would have without us.
            // SAFETY: a zeroed sigaction with SIG_DFL is a valid disposition.
            unsafe {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut());
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// The table is global: these tests take turns, so that the one filling it does not
    /// starve the others.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    pub(crate) fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn file_of(len: usize, byte: u8) -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("f");
        std::fs::File::create(&p)
            .and_then(|mut f| f.write_all(&vec![byte; len]))
            .expect("write");
        (d, p)
    }

    #[test]
    fn a_mapping_of_a_file_truncated_underneath_reads_zeros_and_says_it_faulted() {
        let _turn = serial();
        let len = 5 * 4096 + 100;
        let (_d, p) = file_of(len, 0xAB);
        let f = File::open(&p).expect("open");
        let m = GuardedMap::map(&f, len as u64)
            .expect("map")
            .expect("guarded");
        assert_eq!(m[0], 0xAB);
        assert!(!m.faulted());
        let before = faults();
        // Shrink the file to one page: every later page is now past its end.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .and_then(|w| w.set_len(4096))
            .expect("truncate");
        // Touching the pages past the new end would kill an unguarded process.
        let sum: u64 = m.iter().map(|&b| u64::from(b)).sum();
        assert!(m.faulted());
        assert!(faults() > before);
        assert_eq!(m.len(), len);
        assert_eq!(m[4096 * 2], 0, "pages past the end read as zeros");
        assert!(sum < (len as u64) * 0xAB);
    }

    #[test]
    fn an_untouched_mapping_does_not_fault_and_entries_are_reused() {
        let _turn = serial();
        let (_d, p) = file_of(3 * 4096, 7);
        let f = File::open(&p).expect("open");
        for _ in 0..(MAX_GUARDED * 2) {
            let m = GuardedMap::map(&f, 3 * 4096)
                .expect("map")
                .expect("guarded");
            assert_eq!(m.iter().map(|&b| u64::from(b)).sum::<u64>(), 7 * 3 * 4096);
            assert!(!m.faulted());
        }
    }

    #[test]
    fn the_table_bounds_guarded_mappings_and_a_full_table_means_read() {
        let _turn = serial();
        let (_d, p) = file_of(4096, 1);
        let f = File::open(&p).expect("open");
        let mut held = Vec::new();
        while let Some(m) = GuardedMap::map(&f, 4096).expect("map") {
            held.push(m);
            assert!(held.len() <= MAX_GUARDED);
        }
        assert!(GuardedMap::map(&f, 4096).expect("map").is_none());
        held.pop();
        assert!(
            GuardedMap::map(&f, 4096).expect("map").is_some(),
            "a freed entry is reused"
        );
    }

    #[test]
    fn an_unguarded_sigbus_still_ends_the_process() {
        let _turn = serial();
        // In a child, so that the default action can be watched: a plain mapping of a
        // file truncated underneath, touched past the end, dies of SIGBUS even with our
        // handler installed (it passes foreign faults on).
        let (_d, p) = file_of(3 * 4096, 1);
        assert!(install());
        let f = File::open(&p).expect("open");
        // SAFETY: the mapping is read only in the child, which is meant to die of it.
        let m = unsafe { Mmap::map(&f) }.expect("map");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .and_then(|w| w.set_len(0))
            .expect("truncate");
        // SAFETY: the child only reads memory and exits; it calls nothing that could take
        // a lock another thread of the parent held at fork.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            // SAFETY: volatile read of a mapped address (past the file's end).
            let b = unsafe { std::ptr::read_volatile(m.as_ptr().add(4096)) };
            // SAFETY: _exit is async-signal-safe; reached only if no SIGBUS came.
            unsafe { libc::_exit(i32::from(b) + 10) };
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(
            libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGBUS,
            "child status {status:#x}: want death by SIGBUS"
        );
    }
}
