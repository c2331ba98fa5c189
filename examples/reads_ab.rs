//! A/B measurements of the read step's system calls, interleaved in one process
//! (results/reads.md records the runs and what was kept).
//!
//! Why an example and not a criterion bench: each variant is a whole pass over a real tree
//! with per-pass preparation (old atimes, clean inodes) that must stay out of the timing,
//! and the figure wanted is the ratio of two variants measured alternately in one run.
//!
//! ```text
//! cargo run --release --example reads_ab -- atime DIR [ROUNDS]
//! cargo run --release --example reads_ab -- atime-fresh DIR [ROUNDS]
//! cargo run --release --example reads_ab -- sidecar-fstat DIR [ROUNDS]
//! ```
//!
//! - `atime`: every regular file under DIR opened, `fstat`ed, read in one `read` and
//!   closed, as the engine reads an item; A opens with the engine's flags before
//!   O_NOATIME, B adds `O_NOATIME`. Before every pass each file's atime is set back to 2001
//!   and the file system synced, so that under `relatime` every read is due an atime
//!   update (as the first read of a daily scan is) and starts from a clean inode; that
//!   preparation is not timed. After each pass the files whose atime moved are counted.
//!   `atime-fresh`: the same passes without the preparation, so no read is due an atime
//!   update (a second scan within a day): what O_NOATIME costs when it saves nothing.
//! - `sidecar-fstat`: the files under DIR whose names end in `.sig`, opened, read into a
//!   buffer of 65546 bytes (a header plus the largest value, plus one) and closed; A also
//!   `fstat`s each (as the engine must, to refuse FIFOs and devices and to key the cache),
//!   B does not — what the `fstat` costs, were it not needed.
//!
//! Rounds alternate A, B then B, A (ABBA), after one untimed pass of each.

use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The engine's open flags before O_NOATIME (src/engine/read.rs), besides O_RDONLY and
/// O_CLOEXEC, which std adds.
const EXTRA: i32 = libc::O_NONBLOCK | libc::O_NOCTTY;
/// 2001-09-09: long before any file here was written, so `relatime` updates it.
const OLD_ATIME: u64 = 1_000_000_000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!("usage: reads_ab atime|atime-fresh|sidecar-fstat DIR [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(8);
    let mut files = Vec::new();
    walk(Path::new(dir), &mut files);
    files.sort();
    let files: Vec<PathBuf> = match mode.as_str() {
        "atime" | "atime-fresh" => files,
        "sidecar-fstat" => files
            .into_iter()
            .filter(|p| p.as_os_str().as_bytes().ends_with(b".sig"))
            .collect(),
        _ => {
            eprintln!("unknown mode {mode}");
            std::process::exit(2);
        }
    };
    if files.is_empty() {
        eprintln!("no files under {dir}");
        std::process::exit(2);
    }
    let mut buf = vec![0u8; 1 << 20];
    let names = match mode.as_str() {
        "atime" | "atime-fresh" => ["A: flags", "B: flags|O_NOATIME"],
        _ => ["A: open+fstat+read+close", "B: open+read+close"],
    };
    let mut ns = [Vec::new(), Vec::new()];
    for r in 0..=rounds {
        let order = if r % 2 == 0 { [0, 1] } else { [1, 0] };
        for v in order {
            if mode == "atime" {
                prepare_old_atimes(&files);
            }
            let t = Instant::now();
            let bytes = match mode.as_str() {
                "atime" | "atime-fresh" => pass_items(&files, v == 1, &mut buf),
                _ => pass_sidecars(&files, v == 0, &mut buf),
            };
            let per_item = t.elapsed().as_nanos() as f64 / files.len() as f64;
            let moved = if mode == "atime" {
                format!(", atime moved on {} files", count_moved(&files))
            } else {
                String::new()
            };
            if r == 0 {
                println!(
                    "warm-up {}: {per_item:.0} ns/item ({bytes} bytes){moved}",
                    names[v]
                );
                continue;
            }
            println!("round {r} {}: {per_item:.0} ns/item{moved}", names[v]);
            ns[v].push(per_item);
        }
    }
    let med = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (a, b) = (med(&ns[0]), med(&ns[1]));
    println!("{} files, {rounds} rounds", files.len());
    println!("median {}: {a:.0} ns/item", names[0]);
    println!("median {}: {b:.0} ns/item", names[1]);
    println!("B/A: {:.3}", b / a);
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(&e.path(), out),
            Ok(t) if t.is_file() => out.push(e.path()),
            _ => {}
        }
    }
}

/// Sets every file's atime to [`OLD_ATIME`] (mtime untouched), then syncs, so that the
/// timed pass starts from clean inodes that are each due an atime update.
fn prepare_old_atimes(files: &[PathBuf]) {
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(OLD_ATIME);
    for f in files {
        let times = std::fs::FileTimes::new().set_accessed(old);
        std::fs::File::options()
            .write(true)
            .open(f)
            .and_then(|h| h.set_times(times))
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
    let synced = std::process::Command::new("sync").status();
    assert!(synced.is_ok_and(|s| s.success()), "sync failed");
}

fn count_moved(files: &[PathBuf]) -> usize {
    use std::os::unix::fs::MetadataExt;
    files
        .iter()
        .filter(|f| std::fs::metadata(f).map_or(true, |m| m.atime() != OLD_ATIME as i64))
        .count()
}

fn open(f: &Path, flags: i32) -> File {
    File::options()
        .read(true)
        .custom_flags(flags)
        .open(f)
        .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
}

/// open, fstat (std's `statx`, as the engine's), one read of that length, close: the
/// engine's read of an item.
fn pass_items(files: &[PathBuf], noatime: bool, buf: &mut Vec<u8>) -> u64 {
    let flags = if noatime {
        EXTRA | libc::O_NOATIME
    } else {
        EXTRA
    };
    let mut total = 0u64;
    for f in files {
        let mut h = open(f, flags);
        let len = h.metadata().expect("fstat").len() as usize;
        if buf.len() < len {
            buf.resize(len, 0);
        }
        total += h.read(&mut buf[..len]).expect("read") as u64;
    }
    total
}

/// open, (fstat,) one read into a buffer of a header plus the largest value plus one, close.
fn pass_sidecars(files: &[PathBuf], fstat: bool, buf: &mut [u8]) -> u64 {
    const WANT: usize = 9 + 65536 + 1;
    let mut total = 0u64;
    for f in files {
        let mut h = open(f, EXTRA);
        if fstat {
            assert!(h.metadata().expect("fstat").is_file());
        }
        total += h.read(&mut buf[..WANT]).expect("read") as u64;
    }
    total
}
