//! Reading items: one `read` into a per-thread buffer for small files, memmap2 for large
//! ones (threshold measured by the run, with a `read` fallback when mapping fails), the
//! `security.ima` value from the open descriptor, and the per-thread scratch that makes
//! all of it allocation-free once warmed up.

use crate::formats::decompress::Decompressor;
use crate::verify::checks::Checks;
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
    /// The bytes of the items being verified: slot 0 for an item decided at once, and one
    /// more for each item of a batch whose signature checks wait for the batch (its bytes
    /// are kept until the batch has run, should the item have to be judged again).
    slots: Vec<Slot>,
    /// Decoder state for compressed modules, reset per module rather than rebuilt.
    decompressor: Decompressor,
    /// The sidecar's path, for the path-based cache probe.
    pub(crate) sig_path: OsString,
    /// Certificates embedded in PKCS#7 messages, parsed once per trust epoch.
    certs: CertCache,
    /// Signature checks queued for the worker's current batch.
    checks: Checks,
    /// The directory of the previous item and its descriptor, so items in the same
    /// directory are opened relative to it (one path component to resolve instead of the
    /// whole path). The path's buffer is reused when the directory changes.
    dir_path: PathBuf,
    dir: Option<OwnedFd>,
}

/// One item's bytes: read, mapped or decompressed, and its label.
#[derive(Default)]
pub(crate) struct Slot {
    /// The item's bytes (files below the mmap threshold).
    pub content: Vec<u8>,
    /// The signature: the `.sig` sidecar's bytes or the `security.ima` value.
    pub signature: Vec<u8>,
    /// Decompressed module bytes.
    pub plain: Vec<u8>,
    /// The item's mapping (files at or above the mmap threshold).
    pub map: Option<Mmap>,
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
    /// The item's mapping, when it is mapped.
    pub map: &'s mut Option<Mmap>,
    /// The worker's decoder state for compressed modules.
    pub decompressor: &'s mut Decompressor,
}

/// What the judge step uses besides the item's bytes: the worker's certificate cache and
/// its queue of signature checks.
pub(crate) struct Judging<'s> {
    /// Embedded certificates, parsed once per epoch.
    pub certs: &'s mut CertCache,
    /// How signature checks are done, and the batch's queue.
    pub checks: &'s mut Checks,
}

impl Scratch {
    /// Slot `k`, made on first use (slots are only ever added, during warm-up).
    fn slot_mut(&mut self, k: usize) -> &mut Slot {
        if self.slots.len() <= k {
            self.slots.resize_with(k + 1, Slot::default);
        }
        &mut self.slots[k]
    }

    /// `security.ima` of the open `file` into slot `k`'s signature buffer
    /// ([`read_ima_xattr_fd`]): the open step reads it first, since when the file has one
    /// it decides.
    pub(crate) fn read_ima_xattr(
        &mut self,
        k: usize,
        file: &File,
    ) -> std::io::Result<Option<usize>> {
        read_ima_xattr_fd(file, &mut self.slot_mut(k).signature)
    }

    /// Drops the cached directory handle, so the next item's directory is looked up by path
    /// again. The engine does this at the start of every chunk: a handle kept across passes
    /// would still point at a directory that was renamed away or replaced since, and a
    /// later pass would then read the old directory's files under the new paths.
    pub(crate) fn forget_dir(&mut self) {
        self.dir = None;
    }

    /// Slot `k`'s buffers for the read step, and what the judge step uses, borrowed apart.
    pub(crate) fn parts(&mut self, k: usize) -> (Buffers<'_>, Judging<'_>) {
        self.slot_mut(k);
        let slot = &mut self.slots[k];
        (
            Buffers {
                content: &mut slot.content,
                signature: &mut slot.signature,
                plain: &mut slot.plain,
                map: &mut slot.map,
                decompressor: &mut self.decompressor,
            },
            Judging {
                certs: &mut self.certs,
                checks: &mut self.checks,
            },
        )
    }

    /// Slot `k` as filled by the read step, and what the judge step uses: for judging a
    /// batched item again once its batch has run.
    pub(crate) fn held(&mut self, k: usize) -> (&Slot, Judging<'_>) {
        self.slot_mut(k);
        (
            &self.slots[k],
            Judging {
                certs: &mut self.certs,
                checks: &mut self.checks,
            },
        )
    }

    /// The worker's queue of signature checks.
    pub(crate) fn checks(&mut self) -> &mut Checks {
        &mut self.checks
    }

    /// Releases slot `k`'s mapping and, when a buffer grew past `keep` bytes, its memory:
    /// a batch keeps the bytes of up to a window of items at once, and a slot that once
    /// held a huge module should not hold that much for the rest of the run.
    pub(crate) fn release(&mut self, k: usize, keep: usize) {
        if let Some(slot) = self.slots.get_mut(k) {
            slot.map = None;
            for b in [&mut slot.content, &mut slot.plain] {
                if b.capacity() > keep {
                    *b = Vec::new();
                }
            }
        }
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

/// Whether an xattr call's error means "there is no value": `ENODATA` (no such xattr) or
/// `EOPNOTSUPP`/`ENOTSUP` (the file system has no xattrs), as `ima_read_xattr` treats
/// them. Any other error is an I/O failure.
fn no_value(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENODATA) | Some(libc::EOPNOTSUPP)
    )
}

/// Reads an xattr into `buf` with `get` (a `getxattr`-like call on a buffer, or a size
/// query on `None`; it returns the value's length or -1), growing `buf` when the value is
/// larger than it (any size is read, as the kernel's `vfs_getxattr_alloc` does).
/// `Ok(None)` when there is no value ([`no_value`]); retries when the value grows between
/// the size query and the read; any other error (or a value that keeps growing) is `Err`.
fn xattr_into(
    buf: &mut Vec<u8>,
    get: impl Fn(Option<&mut [u8]>) -> libc::ssize_t,
) -> std::io::Result<Option<usize>> {
    if buf.len() < XATTR_FIRST_TRY {
        buf.resize(XATTR_FIRST_TRY, 0);
    }
    for _ in 0..3 {
        let r = get(Some(&mut buf[..]));
        if r >= 0 {
            return Ok(Some(r as usize));
        }
        let e = std::io::Error::last_os_error();
        if no_value(&e) {
            return Ok(None);
        }
        if e.raw_os_error() != Some(libc::ERANGE) {
            return Err(e);
        }
        // Larger than the buffer: ask for the size.
        let n = get(None);
        if n < 0 {
            let e = std::io::Error::last_os_error();
            return if no_value(&e) { Ok(None) } else { Err(e) };
        }
        if buf.len() < n as usize {
            buf.resize(n as usize, 0);
        }
    }
    Err(std::io::Error::from_raw_os_error(libc::ERANGE))
}

/// A buffer as `getxattr` takes it: NULL and 0 for a size query.
fn raw(b: Option<&mut [u8]>) -> (*mut libc::c_void, usize) {
    match b {
        Some(b) => (b.as_mut_ptr().cast(), b.len()),
        None => (std::ptr::null_mut(), 0),
    }
}

/// `security.ima` of an open file into `buf` (which only grows): `Ok(Some(length))` (zero
/// for an empty value), `Ok(None)` when the file has none or its file system has no xattrs,
/// `Err` for any other failure. Reads through the descriptor, so no path is resolved and
/// nothing is allocated once `buf` is large enough.
pub fn read_ima_xattr_fd(file: &File, buf: &mut Vec<u8>) -> std::io::Result<Option<usize>> {
    let fd = file.as_raw_fd();
    xattr_into(buf, |b| {
        let (ptr, len) = raw(b);
        // SAFETY: `fd` is open for the duration of the call (`file` is borrowed); the name
        // is NUL-terminated; `ptr` is NULL with `len` 0 (a size query) or a live, exclusively
        // borrowed buffer of `len` bytes.
        unsafe { libc::fgetxattr(fd, IMA_XATTR.as_ptr(), ptr, len) }
    })
}

/// Whether `path` has a `security.ima` xattr (of any length), by a size query on the path
/// (`getxattr(path, "security.ima", NULL, 0)`, following symlinks as `stat` does): the
/// cache probe's question, asked without opening the file. `Err` for failures other than
/// "no value" (`ENODATA`, `EOPNOTSUPP`). Allocation-free for paths shorter than 1 KiB.
pub fn has_ima_xattr(path: &Path) -> std::io::Result<bool> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    let query = |c: *const libc::c_char| {
        // SAFETY: `c` is a NUL-terminated path that outlives the call; the name is
        // NUL-terminated; a NULL buffer of length 0 asks for the size only.
        let r = unsafe { libc::getxattr(c, IMA_XATTR.as_ptr(), std::ptr::null_mut(), 0) };
        if r >= 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        if no_value(&e) {
            Ok(false)
        } else {
            Err(e)
        }
    };
    if bytes.contains(&0) {
        return Err(std::io::ErrorKind::InvalidInput.into());
    }
    let mut stack = [0u8; 1024];
    if bytes.len() < stack.len() {
        stack[..bytes.len()].copy_from_slice(bytes);
        return query(stack.as_ptr().cast());
    }
    let c = std::ffi::CString::new(bytes).map_err(|_| std::io::ErrorKind::InvalidInput)?;
    query(c.as_ptr())
}

/// `security.ima` of `path`, if set and not empty (for tools and tests): the file opened as
/// the engine opens items (never blocking), then read through the descriptor as the engine
/// reads it. Any failure is `None`.
pub fn read_ima_xattr(path: &Path) -> Option<Vec<u8>> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .ok()?;
    let mut buf = Vec::new();
    let n = read_ima_xattr_fd(&f, &mut buf).ok()??;
    if n == 0 {
        return None;
    }
    buf.truncate(n);
    Some(buf)
}

/// The label of the IMA file at `path` by the engine's rule ([`crate::verify::ima::ImaSourceMode`]): the xattr
/// when `mode` reads it and the file has one (empty included), else the sidecar when
/// `mode` reads it, else none — for tools (calibration samples); the engine's hot path does
/// the same through descriptors. `(source, value)`; read failures count as no label.
pub fn read_ima_label(
    path: &Path,
    mode: crate::verify::ima::ImaSourceMode,
) -> Option<(crate::verify::ImaSource, Vec<u8>)> {
    use crate::verify::ImaSource;
    if mode.reads_xattr() {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .ok()?;
        let mut buf = Vec::new();
        if let Ok(Some(n)) = read_ima_xattr_fd(&f, &mut buf) {
            buf.truncate(n);
            return Some((ImaSource::Xattr, buf));
        }
    }
    if mode.reads_sidecar() {
        let sig = std::fs::read(crate::verify::ima::sidecar_path(path)).ok()?;
        return Some((ImaSource::Sidecar, sig));
    }
    None
}
