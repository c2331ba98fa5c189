//! Reading items: one `read` into a per-thread buffer for small files, memmap2 for large
//! ones (threshold measured by the run, with a `read` fallback when mapping fails).

use memmap2::Mmap;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Per-thread buffers, reused for every item so the hot path does not allocate.
#[derive(Default)]
pub struct Scratch {
    pub buf: Vec<u8>,
    pub sig: Vec<u8>,
    /// Decompressed module bytes.
    pub plain: Vec<u8>,
    pub sig_path: std::ffi::OsString,
    /// The directory of the previous item, open, so items in the same directory are
    /// opened relative to it (one path component to resolve instead of the whole path).
    dir: Option<(std::path::PathBuf, OwnedFd)>,
}

/// Opens `path` read-only, never blocking on FIFOs or devices, through the per-thread
/// directory handle when the previous item shared its directory. `suffix` is appended to
/// the file name (`.sig` for IMA sidecars).
pub fn open_in_dir(s: &mut Scratch, path: &Path, suffix: &[u8]) -> std::io::Result<File> {
    use std::os::unix::ffi::OsStrExt;
    let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(std::io::ErrorKind::InvalidInput.into());
    };
    let name = name.as_bytes();
    let mut cname = [0u8; 512];
    if name.len() + suffix.len() >= cname.len() || name.contains(&0) {
        let mut p = path.as_os_str().to_owned();
        p.push(std::ffi::OsStr::from_bytes(suffix));
        return std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(p);
    }
    cname[..name.len()].copy_from_slice(name);
    cname[name.len()..name.len() + suffix.len()].copy_from_slice(suffix);
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let reuse = matches!(&s.dir, Some((p, _)) if p == parent);
    if !reuse {
        let d = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_PATH)
            .open(parent)?;
        s.dir = Some((parent.to_path_buf(), d.into()));
    }
    let dirfd = s
        .dir
        .as_ref()
        .map(|d| d.1.as_raw_fd())
        .unwrap_or(libc::AT_FDCWD);
    // SAFETY: `cname` is NUL-terminated (zeroed buffer, length checked above); dirfd is a
    // live descriptor owned by the scratch.
    let fd = unsafe { libc::openat(dirfd, cname.as_ptr().cast(), flags) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// File bytes: borrowed from the scratch buffer or a mapping.
pub enum Data<'a> {
    Buf(&'a [u8]),
    Map(Mmap),
}

impl Data<'_> {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Data::Buf(b) => b,
            Data::Map(m) => m,
        }
    }
}

/// Reads up to `len` bytes of an open file into the front of `buf` and returns how many
/// were read. The buffer only ever grows (zero-filled once, on growth) and is reused, and a
/// file of known length takes one `read` call — no second call to discover EOF.
pub fn read_into(file: &mut File, len: usize, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    if buf.len() < len {
        buf.resize(len, 0);
    }
    let mut off = 0;
    while off < len {
        match file.read(&mut buf[off..len]) {
            Ok(0) => break,
            Ok(n) => off += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(off)
}

/// One `read` call of up to `max` bytes into the front of `buf` (for small files whose
/// length is bounded by their format, where an `fstat` would cost as much as the read).
pub fn read_once(file: &mut File, max: usize, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    if buf.len() < max {
        buf.resize(max, 0);
    }
    loop {
        match file.read(&mut buf[..max]) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// Reads an open file of known length.
pub fn read_file<'a>(
    f: &mut File,
    len: u64,
    mmap_threshold: u64,
    buf: &'a mut Vec<u8>,
) -> std::io::Result<Data<'a>> {
    if len >= mmap_threshold && len > 0 {
        // SAFETY: the mapping is read-only and private to this item; a concurrent truncate
        // by another process could fault, which is the documented memmap2 caveat and the
        // same exposure ripgrep accepts for large files.
        if let Ok(m) = unsafe { Mmap::map(&*f) } {
            return Ok(Data::Map(m));
        }
    }
    let n = read_into(f, len as usize, buf)?;
    Ok(Data::Buf(&buf[..n]))
}
