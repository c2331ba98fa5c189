//! Reading items: one `read` into a per-thread buffer for small files, memmap2 for large
//! ones (threshold measured by the run, with a `read` fallback when mapping fails), the
//! `security.ima` value from the open descriptor, and the per-thread scratch that makes
//! all of it allocation-free once warmed up.

use crate::formats::decompress::Decompressor;
use crate::verify::module::CertCache;
use memmap2::Mmap;
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Per-worker state reused for every item, so the hot path does not allocate: buffers
/// only ever grow, the directory of the previous item stays open, and certificates
/// embedded in module signatures stay parsed. One per thread; never shared.
#[derive(Default)]
pub struct Scratch {
    /// The item's bytes (files below the mmap threshold).
    content: Vec<u8>,
    /// The signature: the `.sig` sidecar's bytes or the `security.ima` value.
    signature: Vec<u8>,
    /// Decompressed module bytes.
    plain: Vec<u8>,
    /// Decoder state for compressed modules, reset per module rather than rebuilt.
    decompressor: Decompressor,
    /// The sidecar's path, for the path-based cache probe.
    pub(crate) sig_path: OsString,
    /// Certificates embedded in PKCS#7 messages, parsed once per trust epoch.
    certs: CertCache,
    /// The directory of the previous item and its descriptor, so items in the same
    /// directory are opened relative to it (one path component to resolve instead of the
    /// whole path). The path's buffer is reused when the directory changes.
    dir_path: PathBuf,
    dir: Option<OwnedFd>,
}

/// The scratch buffers the read step fills, borrowed apart from the certificate cache the
/// judge step uses, so both can be held at once.
pub(crate) struct Buffers<'s> {
    /// The item's bytes.
    pub content: &'s mut Vec<u8>,
    /// The sidecar's bytes or the `security.ima` value.
    pub signature: &'s mut Vec<u8>,
    /// Decompressed module bytes.
    pub plain: &'s mut Vec<u8>,
    /// The worker's decoder state for compressed modules.
    pub decompressor: &'s mut Decompressor,
}

impl Scratch {
    /// The read step's buffers and the judge step's certificate cache, borrowed apart.
    pub(crate) fn parts(&mut self) -> (Buffers<'_>, &mut CertCache) {
        (
            Buffers {
                content: &mut self.content,
                signature: &mut self.signature,
                plain: &mut self.plain,
                decompressor: &mut self.decompressor,
            },
            &mut self.certs,
        )
    }
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
        // Longer than any file name Linux allows (NAME_MAX is 255): let the kernel say so.
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
    if s.dir.is_none() || s.dir_path != parent {
        s.dir = None;
        let d = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_PATH)
            .open(parent)?;
        s.dir_path.as_mut_os_string().clear();
        s.dir_path.push(parent);
        s.dir = Some(d.into());
    }
    let dirfd = s.dir.as_ref().map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: `cname` is NUL-terminated (zeroed buffer, length checked above); dirfd is a
    // live descriptor owned by the scratch (or AT_FDCWD).
    let fd = unsafe { libc::openat(dirfd, cname.as_ptr().cast(), flags) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// File bytes: borrowed from the scratch buffer or a mapping.
pub enum Data<'a> {
    /// Read into the scratch buffer.
    Buf(&'a [u8]),
    /// Mapped (files at or above the mmap threshold).
    Map(Mmap),
}

impl Data<'_> {
    /// The bytes, wherever they live.
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

/// The xattr IMA reads its signature from.
const IMA_XATTR: &std::ffi::CStr = c"security.ima";

/// First size tried for `security.ima`: an RSA-8192 signature (1024 bytes plus the 9-byte
/// header) fits, so the size query is only needed for larger values.
const XATTR_FIRST_TRY: usize = 2048;

/// Reads an xattr into `buf` with `get` (a `getxattr`-like call on a buffer, or a size
/// query on `None`; it returns the value's length or -1), growing `buf` when the value is
/// larger than it (any size is read, as the kernel's `vfs_getxattr_alloc` does). `None`
/// when there is no value or it cannot be read; retries when the value grows between the
/// size query and the read.
fn xattr_into(
    buf: &mut Vec<u8>,
    get: impl Fn(Option<&mut [u8]>) -> libc::ssize_t,
) -> Option<usize> {
    if buf.len() < XATTR_FIRST_TRY {
        buf.resize(XATTR_FIRST_TRY, 0);
    }
    for _ in 0..3 {
        let r = get(Some(&mut buf[..]));
        if r >= 0 {
            return Some(r as usize);
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::ERANGE) {
            return None;
        }
        // Larger than the buffer: ask for the size.
        let n = get(None);
        if n <= 0 {
            return None;
        }
        if buf.len() < n as usize {
            buf.resize(n as usize, 0);
        }
    }
    None
}

/// A buffer as `getxattr` takes it: NULL and 0 for a size query.
fn raw(b: Option<&mut [u8]>) -> (*mut libc::c_void, usize) {
    match b {
        Some(b) => (b.as_mut_ptr().cast(), b.len()),
        None => (std::ptr::null_mut(), 0),
    }
}

/// `security.ima` of an open file into `buf` (which only grows): the value's length, or
/// `None` when the file has none. Reads through the descriptor, so no path is resolved
/// and nothing is allocated once `buf` is large enough.
pub fn read_ima_xattr_fd(file: &File, buf: &mut Vec<u8>) -> Option<usize> {
    let fd = file.as_raw_fd();
    xattr_into(buf, |b| {
        let (ptr, len) = raw(b);
        // SAFETY: `fd` is open for the duration of the call (`file` is borrowed); the name
        // is NUL-terminated; `ptr` is NULL with `len` 0 (a size query) or a live, exclusively
        // borrowed buffer of `len` bytes.
        unsafe { libc::fgetxattr(fd, IMA_XATTR.as_ptr(), ptr, len) }
    })
}

/// `security.ima` of `path`, if set (for tools and tests): the file opened as the engine
/// opens items (never blocking), then read through the descriptor as the engine reads it.
pub fn read_ima_xattr(path: &Path) -> Option<Vec<u8>> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .ok()?;
    let mut buf = Vec::new();
    let n = read_ima_xattr_fd(&f, &mut buf)?;
    // As before: an empty value is no value.
    if n == 0 {
        return None;
    }
    buf.truncate(n);
    Some(buf)
}
