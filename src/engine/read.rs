//! Reading items: opened with O_NOATIME where the kernel allows it (so a scan writes no
//! inode), one `read` into a per-thread buffer, or — only when asked (`--mmap`) — a
//! [`GuardedMap`] for files from a threshold on (with a `read` fallback when mapping fails
//! or cannot be guarded), the
//! `security.ima` value from the open descriptor, and the per-thread scratch that makes
//! all of it allocation-free once warmed up.

use super::mapping::GuardedMap;
use crate::formats::decompress::Decompressor;
use crate::verify::checks::Checks;
use crate::verify::module::CertCache;
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
    /// The item's mapping (files at or above the mmap threshold, when mapping is on).
    pub map: Option<GuardedMap>,
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
    pub map: &'s mut Option<GuardedMap>,
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

thread_local! {
    /// Whether the kernel refused this thread an `O_NOATIME` open ([`open_noatime`]). Per
    /// thread, so each worker learns it once without sharing a flag between cores, and it
    /// lives in the thread rather than in [`Scratch`] because it is a fact about the
    /// thread's credentials, not about any one pass.
    static NOATIME_REFUSED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Opens with `open(O_NOATIME)`, and on `EPERM` once more with `open(0)`; `open` is given
/// the extra flags to add to its own.
///
/// Why O_NOATIME: under `relatime` the first read of a file in a day (or after it changed)
/// updates its atime, which dirties the inode and costs a journal write later; a scan of a
/// whole tree would write every inode it read (measured in results/reads.md: 16 % of the
/// open+fstat+read+close when the update is due, nothing when it is not).
///
/// Why the fallback: the kernel allows O_NOATIME only to the file's owner or a caller with
/// CAP_FOWNER, and refuses anyone else with `EPERM`. The refusal is remembered for the
/// thread once the plain open has succeeded, so a worker that may not use the flag pays
/// one extra `openat` in its life, not one per item (it then also forgoes the flag on
/// files it owns: that costs an atime update, never a verdict). An `EPERM` that the plain
/// open repeats had another cause (an LSM, say): it is returned, and nothing is
/// remembered.
fn open_noatime(open: impl Fn(libc::c_int) -> std::io::Result<File>) -> std::io::Result<File> {
    if NOATIME_REFUSED.get() {
        return open(0);
    }
    match open(libc::O_NOATIME) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            let f = open(0)?;
            NOATIME_REFUSED.set(true);
            Ok(f)
        }
        other => other,
    }
}

/// Opens `path` by path as the engine opens items: read-only, never blocking on FIFOs or
/// devices, without touching its atime where the kernel allows ([`open_noatime`]).
fn open_path(path: &Path) -> std::io::Result<File> {
    open_noatime(|extra| {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | extra)
            .open(path)
    })
}

/// Opens `path` read-only, never blocking on FIFOs or devices and without updating its
/// atime where the kernel allows it ([`open_noatime`]), through the per-thread directory
/// handle when the previous item shared its directory. `suffix` is appended to the file
/// name (`.sig` for IMA sidecars).
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
        return open_path(Path::new(&p));
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
    open_noatime(|extra| {
        // SAFETY: `cname` is NUL-terminated (zeroed buffer, length checked above); dirfd is
        // a live descriptor owned by the scratch (or AT_FDCWD).
        let fd = unsafe { libc::openat(dirfd, cname.as_ptr().cast(), flags | extra) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by openat and is owned by nobody else.
        Ok(unsafe { File::from_raw_fd(fd) })
    })
}

/// File bytes: borrowed from the scratch buffer or a mapping.
pub enum Data<'a> {
    /// Read into the scratch buffer.
    Buf(&'a [u8]),
    /// Mapped (files at or above the mmap threshold, when mapping is on).
    Map(GuardedMap),
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

/// The most bytes of one file read into memory: `INT_MAX`, the most `init_module` reads
/// of a module (`kernel_read_file` refuses a larger one with `EFBIG`, so for modules this
/// budget is the kernel's own rule). An IMA file the kernel hashes in pieces, however
/// large; the engine judges a file from one buffer, and a buffer the size of any file a
/// tree happens to hold (a disk image, a core dump) would cost a worker that much memory.
/// Larger IMA files are verified only through a mapping (`--mmap`), else they get an
/// `EFBIG` verdict naming this budget.
pub const MAX_READ: u64 = i32::MAX as u64;

/// Reads an open file of known length: mapped when `mmap_threshold` is given and the file
/// is at least that large (and the mapping can be guarded), else read. A read may return
/// fewer than `len` bytes: the file shrank since its length was taken (the caller decides
/// what that means). A file larger than [`MAX_READ`] that is not mapped is `EFBIG`.
pub fn read_file<'a>(
    f: &mut File,
    len: u64,
    mmap_threshold: Option<u64>,
    buf: &'a mut Vec<u8>,
) -> std::io::Result<Data<'a>> {
    if mmap_threshold.is_some_and(|t| len >= t) {
        if let Ok(Some(m)) = GuardedMap::map(f, len) {
            return Ok(Data::Map(m));
        }
    }
    if len > MAX_READ {
        return Err(std::io::Error::from_raw_os_error(libc::EFBIG));
    }
    let n = read_into(f, usize::try_from(len).unwrap_or(usize::MAX), buf)?;
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

/// The largest `security.ima` value read: `XATTR_SIZE_MAX`, the kernel's own limit on any
/// xattr value (`setxattr` refuses a larger one with `E2BIG`, so no Linux file system
/// holds one). A larger size reported by a size query (a misbehaving FUSE server, say)
/// is an I/O failure with `E2BIG`, not a buffer of that size.
pub const MAX_XATTR: usize = 65536;

/// Reads an xattr into `buf` with `get` (a `getxattr`-like call on a buffer, or a size
/// query on `None`; it returns the value's length or -1), growing `buf` when the value is
/// larger than it, up to [`MAX_XATTR`] bytes (the kernel's `vfs_getxattr_alloc` reads any
/// size, but the VFS never stores more).
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
        if n as usize > MAX_XATTR {
            return Err(std::io::Error::from_raw_os_error(libc::E2BIG));
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
    let f = open_path(path).ok()?;
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
        let f = open_path(path).ok()?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// Whether `f` was opened with O_NOATIME (`fcntl(F_GETFL)` reports it).
    fn has_noatime(f: &File) -> bool {
        // SAFETY: F_GETFL takes no argument and only reads the open file's status flags;
        // the descriptor stays open for the call (`f` is borrowed).
        let fl = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETFL) };
        assert!(fl >= 0, "F_GETFL: {}", std::io::Error::last_os_error());
        fl & libc::O_NOATIME != 0
    }

    /// A thread where the kernel refuses O_NOATIME on a file it can still read: `(before,
    /// foreign, own)`. As root: a thread whose fsuid becomes `nobody` (`before`, run in the
    /// thread; a per-thread credential, which also drops CAP_FOWNER from that thread only),
    /// a root-owned file as the foreign one and a file given to `nobody` as its own. Not
    /// root: `/etc/passwd` when someone else owns it, and a file of ours. `None` when
    /// neither is possible.
    fn refusing_setup(dir: &Path) -> Option<(bool, PathBuf, PathBuf)> {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid cannot fail and touches no memory.
        let euid = unsafe { libc::geteuid() };
        let own = dir.join("own.bin");
        std::fs::write(&own, b"own").unwrap();
        if euid == 0 {
            let foreign = dir.join("foreign.bin");
            std::fs::write(&foreign, b"foreign").unwrap();
            std::fs::set_permissions(&foreign, std::fs::Permissions::from_mode(0o644)).unwrap();
            std::os::unix::fs::chown(&own, Some(NOBODY), None).unwrap();
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            return Some((true, foreign, own));
        }
        let passwd = Path::new("/etc/passwd");
        let m = std::fs::metadata(passwd).ok()?;
        (m.uid() != euid && File::open(passwd).is_ok()).then(|| (false, passwd.into(), own))
    }

    const NOBODY: u32 = 65534;

    /// A size query reporting more than `XATTR_SIZE_MAX` (impossible on a Linux file
    /// system, but a FUSE server may say anything) is `E2BIG`, never a buffer that large;
    /// exactly the limit is read.
    #[test]
    fn an_xattr_past_the_kernel_limit_is_e2big_and_allocates_nothing() {
        let getter = |size: usize| {
            move |b: Option<&mut [u8]>| -> libc::ssize_t {
                match b {
                    Some(b) if b.len() >= size => size as libc::ssize_t,
                    Some(_) => {
                        // SAFETY: sets this thread's errno, as a failing getxattr would.
                        unsafe { *libc::__errno_location() = libc::ERANGE };
                        -1
                    }
                    None => size as libc::ssize_t,
                }
            }
        };
        let mut buf = Vec::new();
        let e = xattr_into(&mut buf, getter(1 << 30)).expect_err("over the limit");
        assert_eq!(e.raw_os_error(), Some(libc::E2BIG));
        assert!(
            buf.len() <= XATTR_FIRST_TRY,
            "no buffer of the reported size"
        );
        let n = xattr_into(&mut buf, getter(MAX_XATTR)).expect("at the limit");
        assert_eq!(n, Some(MAX_XATTR));
    }

    /// A read of a file that shrank after its length was taken returns what is there (the
    /// pipeline turns it into the kernel's short-read verdict); a length past the read
    /// budget is `EFBIG` without a buffer that large, unless mapping is on and can hold it.
    #[test]
    fn short_reads_and_the_read_budget() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, vec![5u8; 1000]).unwrap();
        let mut f = File::open(&p).unwrap();
        let mut buf = Vec::new();
        match read_file(&mut f, 4000, None, &mut buf).unwrap() {
            Data::Buf(b) => assert_eq!(b.len(), 1000),
            Data::Map(_) => panic!("mapping is off"),
        }
        let e = read_file(&mut f, MAX_READ + 1, None, &mut buf)
            .err()
            .expect("past the budget");
        assert_eq!(e.raw_os_error(), Some(libc::EFBIG));
        assert!(buf.len() < 1 << 20, "no buffer of that size");
        let mut f = File::open(&p).unwrap();
        let _turn = crate::engine::mapping::tests::serial();
        match read_file(&mut f, 1000, Some(1), &mut buf).unwrap() {
            Data::Map(m) => assert_eq!(m.len(), 1000),
            Data::Buf(_) => panic!("mapping is on from 1 byte"),
        }
    }

    /// O_NOATIME is asked for on every item and sidecar open; where the kernel refuses it
    /// (`EPERM`: not the owner, no CAP_FOWNER) the open is retried without it and succeeds,
    /// and the worker remembers the refusal: its next opens go without the flag even where
    /// the flag would be allowed (its own file), which shows they do not try it first. Other
    /// threads are not affected.
    #[test]
    fn noatime_is_used_and_a_refusal_is_remembered_per_thread() {
        let dir = tempfile::tempdir().unwrap();
        let Some((as_root, foreign, own)) = refusing_setup(dir.path()) else {
            let why = "no file this test may read without owning it (not root, and /etc/passwd is ours or missing)";
            let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
            assert!(!ci, "{why}, and CI=true: refusing to skip");
            eprintln!(
                "\n***  SKIP noatime_is_used_and_a_refusal_is_remembered_per_thread: {why}  ***\n"
            );
            return;
        };
        // This thread: the flag is granted (root, or our own file).
        let mut s = Scratch::default();
        let f = open_in_dir(&mut s, &own, b"").unwrap();
        assert!(has_noatime(&f), "O_NOATIME asked for and granted");
        assert!(!NOATIME_REFUSED.get());

        let (foreign_t, own_t) = (foreign.clone(), own.clone());
        std::thread::spawn(move || {
            let mut s = Scratch::default();
            if as_root {
                // Open the directory handle while still root: `nobody` need not be able to
                // search the temporary directory's parents.
                drop(open_in_dir(&mut s, &foreign_t, b"").unwrap());
                // SAFETY: setfsuid takes a plain integer and changes only this thread's
                // file-system uid (the raw syscall, not a libc wrapper that could apply it
                // to every thread); the thread ends with the test.
                unsafe { libc::syscall(libc::SYS_setfsuid, NOBODY) };
                // SAFETY: as above; with -1 it only reports the current fsuid.
                let now = unsafe { libc::syscall(libc::SYS_setfsuid, u32::MAX) };
                assert_eq!(now, NOBODY as libc::c_long, "fsuid is nobody");
            }
            assert!(!NOATIME_REFUSED.get());
            let f = open_in_dir(&mut s, &foreign_t, b"").expect("the fallback opens it");
            assert!(!has_noatime(&f), "opened without O_NOATIME");
            assert!(NOATIME_REFUSED.get(), "the refusal is remembered");
            let mut buf = Vec::new();
            let mut f = f;
            let n = read_into(&mut f, 64, &mut buf).unwrap();
            assert_eq!(&buf[..n], std::fs::read(&foreign_t).unwrap().as_slice());
            // Where the flag would be granted, it is no longer tried.
            let f = open_in_dir(&mut s, &own_t, b"").unwrap();
            assert!(!has_noatime(&f), "not tried again once refused");
            // Sidecars and long names go the same way; a missing file is still ENOENT.
            let e = open_in_dir(&mut s, &own_t, b".sig").unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
            let f = open_path(&own_t).unwrap();
            assert!(!has_noatime(&f));
        })
        .join()
        .unwrap();

        // Another thread has not been told: it still gets the flag.
        std::thread::spawn(move || {
            let mut s = Scratch::default();
            let f = open_in_dir(&mut s, &own, b"").unwrap();
            assert!(has_noatime(&f));
            assert!(has_noatime(&open_path(&own).unwrap()));
        })
        .join()
        .unwrap();
    }

    /// An `EPERM` that the plain open repeats is not O_NOATIME's: it is returned and not
    /// remembered (a refused open of any kind must not switch the flag off).
    #[test]
    fn an_eperm_the_plain_open_repeats_is_returned_and_not_remembered() {
        std::thread::spawn(|| {
            let calls = std::cell::Cell::new(0);
            let e = open_noatime(|_| {
                calls.set(calls.get() + 1);
                Err(std::io::Error::from_raw_os_error(libc::EPERM))
            })
            .unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EPERM));
            assert_eq!(calls.get(), 2, "tried with the flag, then without");
            assert!(!NOATIME_REFUSED.get());
            // Other errors are not retried at all.
            let calls = std::cell::Cell::new(0);
            let e = open_noatime(|_| {
                calls.set(calls.get() + 1);
                Err(std::io::Error::from_raw_os_error(libc::EACCES))
            })
            .unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EACCES));
            assert_eq!(calls.get(), 1);
            assert!(!NOATIME_REFUSED.get());
        })
        .join()
        .unwrap();
    }
}
