//! Reading items: one `read` into a per-thread buffer for small files, memmap2 for large
//! ones (threshold measured by the run, with a `read` fallback when mapping fails).

use memmap2::Mmap;
use std::fs::File;
use std::io::Read;

/// Per-thread buffers, reused for every item so the hot path does not allocate.
#[derive(Default)]
pub struct Scratch {
    pub buf: Vec<u8>,
    pub sig: Vec<u8>,
    /// Decompressed module bytes.
    pub plain: Vec<u8>,
    pub sig_path: std::ffi::OsString,
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
