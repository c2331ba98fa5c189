//! The per-item pipeline: the hot path of every pass, top to bottom.
//!
//! A worker takes a chunk of items ([`Engine::run_chunk`]) and takes each item through
//! five steps, each a function below returning a named value:
//!
//! 1. [`probe`] — only when the pass looks the cache up ([`CacheMode::LookupAndFill`]):
//!    the item's identity from its path (a stat; for an IMA item a `security.ima` size
//!    query on the path, then — only when that found no xattr and the mode reads
//!    sidecars — a stat of the sidecar), then the cache → [`Probe`]: a verdict, or go on.
//! 2. [`open`] — open the item relative to the worker's directory handle, take its
//!    identity and length from the descriptor (regular files only); for an IMA item read
//!    `security.ima` through the descriptor (it decides when present, even empty: the
//!    sidecar is then not opened at all), else open the `.sig` sidecar if there is one →
//!    [`Opened`]. The cache key is made the same way as the probe makes it: the sidecar's
//!    identity is in it exactly when the sidecar is the label's source; an xattr change
//!    moves the item's ctime, which is in the key.
//! 3. [`read`] — the sidecar (when it is the source), then the item (one `read`, or a
//!    mapping above the threshold); a compressed module is decompressed (by magic, as kmod
//!    does) → [`Loaded`].
//! 4. [`judge`] — the kernel's procedure on the loaded bytes, under the trust store's
//!    read lock: module signature or IMA appraisal → [`Verdict`].
//! 5. [`remember`] — the verdict into the cache, tagged with the epoch it was computed
//!    under (when the pass fills the cache).
//!
//! Opening and reading fail with an [`IoFailure`] (which file, and how): the verdict is
//! then `EIO`, nothing is cached, and the outcome carries the failure so that callers can
//! say what went wrong without guessing. A sidecar that exists but cannot be read is an
//! I/O failure, never "unsigned"; so is a `security.ima` read that fails other than with
//! `ENODATA`/`EOPNOTSUPP` (an I/O failure of the item).
//!
//! Nothing here allocates per item once the worker's [`Scratch`] has grown to the corpus's
//! sizes (tests/alloc.rs counts it): buffers, the directory handle and the sidecar path are
//! reused, certificates embedded in module signatures stay parsed per epoch, `security.ima`
//! is read from the descriptor into a reused buffer, and a full cache recycles its nodes.
//!
//! Batching: steps 1–3 need the file system and the worker's buffers; step 4 needs only
//! the loaded bytes and the store. A batched verify stage (eight RSA operations at a time)
//! would run `probe`/`open`/`read` for a chunk into per-slot buffers, then `judge` the
//! chunk; the single-item path below stays as it is.

use super::cache::{CacheKey, FileId};
use super::read::{self, Buffers, Data, Scratch};
use super::{CacheMode, Engine, IoCause, IoFailure, Item, Outcome, Which};
use crate::formats::{decompress, imasig};
use crate::timing::{self, Stage};
use crate::trust::Store;
use crate::verify::ima::{ImaSourceMode, Label};
use crate::verify::module::CertCache;
use crate::verify::{ima, module, ImaSource, ItemKind, Verdict};
use crate::Errno;
use std::fs::File;
use std::path::Path;
use std::time::Instant;

/// What one item came to, before timing is attached.
struct Settled {
    verdict: Verdict,
    /// Bytes of the item read (0 when served from the cache or not read).
    bytes: u64,
    cache_hit: bool,
    io: Option<IoFailure>,
}

impl Settled {
    fn io(kind: ItemKind, failure: IoFailure) -> Settled {
        Settled {
            verdict: Verdict::invalid(kind, Errno::EIO, "cannot read the file"),
            bytes: 0,
            cache_hit: false,
            io: Some(failure),
        }
    }
}

impl Engine {
    /// A worker's chunk: every item through the pipeline, `out[i]` for `items[i]`.
    pub(crate) fn run_chunk(
        &self,
        mode: CacheMode,
        items: &[Item],
        out: &mut [Outcome],
        s: &mut Scratch,
    ) {
        // Paths are resolved afresh for every chunk (one directory open per chunk): a
        // handle from an earlier chunk or pass may name a directory that has been replaced.
        s.forget_dir();
        for (item, o) in items.iter().zip(out) {
            *o = self.verify_one(mode, item, s);
        }
    }

    /// One item, all five steps, under one read lock of the trust store (so the verdict and
    /// the cache entry belong to one epoch).
    pub(crate) fn verify_one(&self, mode: CacheMode, item: &Item, s: &mut Scratch) -> Outcome {
        let t0 = Instant::now();
        if self.config.timing {
            timing::begin(Stage::Read);
        }
        let store = self.store.read().unwrap_or_else(|p| p.into_inner());
        let settled = self.settle(&store, mode, item, s);
        drop(store);
        let stage_ns = timing::end();
        Outcome {
            verdict: settled.verdict,
            stage_ns,
            total_ns: t0.elapsed().as_nanos() as u64,
            bytes: settled.bytes,
            cache_hit: settled.cache_hit,
            io: settled.io,
        }
    }

    fn settle(&self, store: &Store, mode: CacheMode, item: &Item, s: &mut Scratch) -> Settled {
        let epoch = store.epoch();
        let source = self.config.ima_source;
        if let Probe::Hit(verdict) = probe(&self.cache, mode, item, source, s, epoch) {
            return Settled {
                verdict,
                bytes: 0,
                cache_hit: true,
                io: None,
            };
        }
        let opened = match open(s, item, mode, source) {
            Ok(o) => o,
            Err(f) => return Settled::io(item.kind, f),
        };
        let (key, bytes) = (opened.key, opened.len);
        let (bufs, certs) = s.parts();
        let loaded = match read(opened, bufs, self.config.mmap_threshold, source) {
            Ok(l) => l,
            Err(f) => return Settled::io(item.kind, f),
        };
        let verdict = judge(store, &loaded, certs, self.config.ima_policy);
        drop(loaded);
        remember(&self.cache, mode, key, epoch, verdict);
        Settled {
            verdict,
            bytes,
            cache_hit: false,
            io: None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// 1. probe
// ---------------------------------------------------------------------------------------

/// The cache's answer before anything is opened.
enum Probe {
    /// Verified before under the current epoch, and the files have not changed since.
    Hit(Verdict),
    /// Not known (or not looked up): open and verify.
    Miss,
}

/// Looks the item up by its path's identity when the pass probes the cache; counts a
/// miss without a lookup when the pass only fills it.
fn probe(
    cache: &super::cache::VerdictCache,
    mode: CacheMode,
    item: &Item,
    source: ImaSourceMode,
    s: &mut Scratch,
    epoch: u64,
) -> Probe {
    match mode {
        CacheMode::Off => Probe::Miss,
        CacheMode::Fill => {
            cache.note_miss();
            Probe::Miss
        }
        CacheMode::LookupAndFill => match key_by_path(item, source, &mut s.sig_path) {
            Some(key) => {
                timing::mark(Stage::Cache);
                match cache.get(&key, epoch) {
                    Some(v) => Probe::Hit(v),
                    None => {
                        timing::mark(Stage::Read);
                        Probe::Miss
                    }
                }
            }
            None => {
                cache.note_miss();
                Probe::Miss
            }
        },
    }
}

/// The cache key from path lookups only (no open), made as [`open`] makes it: the item,
/// and for an IMA item the sidecar's identity exactly when the sidecar would be the label's
/// source (the mode reads sidecars and, in auto mode, the item has no `security.ima`).
/// `None` (a miss, then the open step reports any failure) when a lookup fails.
fn key_by_path(
    item: &Item,
    source: ImaSourceMode,
    sig_path: &mut std::ffi::OsString,
) -> Option<CacheKey> {
    let m = std::fs::metadata(&item.path).ok().filter(|m| m.is_file())?;
    let sig = match item.kind {
        ItemKind::Module => None,
        ItemKind::Ima => {
            let xattr = source.reads_xattr() && read::has_ima_xattr(&item.path).ok()?;
            if xattr || !source.reads_sidecar() {
                None
            } else {
                ima::sidecar_path_into(&item.path, sig_path);
                match std::fs::metadata(Path::new(sig_path.as_os_str())) {
                    Ok(m) => Some(FileId::of(&m)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(_) => return None,
                }
            }
        }
    };
    Some(CacheKey {
        file: FileId::of(&m),
        kind: item.kind,
        sig,
    })
}

// ---------------------------------------------------------------------------------------
// 2. open
// ---------------------------------------------------------------------------------------

/// An item opened for reading, with the identity the cache will remember it under.
struct Opened {
    kind: ItemKind,
    file: File,
    /// The item's length, from the descriptor.
    len: u64,
    /// The item's identity, and the sidecar's when it is the label's source and the pass
    /// fills the cache.
    key: CacheKey,
    /// Where an IMA item's label is (modules: [`OpenLabel::None`]).
    label: OpenLabel,
}

/// An IMA item's label after the open step.
enum OpenLabel {
    /// No label in the sources the mode reads.
    None,
    /// `security.ima`, already read into the scratch's signature buffer: its length.
    Xattr(usize),
    /// The `.sig` sidecar, open, to be read.
    Sidecar(Sidecar),
}

/// An IMA item's `.sig` sidecar, open (a regular file).
struct Sidecar {
    file: File,
    /// The length from `fstat`.
    len: u64,
}

/// Opens the item and takes its identity from the descriptor; for an IMA item reads
/// `security.ima` through it (when the mode reads xattrs) and, only when that found none and
/// the mode reads sidecars, opens the sidecar — so each path is resolved once, and a
/// sidecar beside a file whose xattr decides is never touched (a FIFO there cannot block).
/// Only regular files are read: a FIFO or device would block or never end.
fn open(
    s: &mut Scratch,
    item: &Item,
    mode: CacheMode,
    source: ImaSourceMode,
) -> Result<Opened, IoFailure> {
    let fail = |file, cause| IoFailure { file, cause };
    let file =
        read::open_in_dir(s, &item.path, b"").map_err(|e| fail(Which::Item, IoCause::of(&e)))?;
    let meta = file
        .metadata()
        .map_err(|e| fail(Which::Item, IoCause::of(&e)))?;
    if !meta.is_file() {
        return Err(fail(Which::Item, IoCause::NotRegularFile));
    }
    let mut key = CacheKey {
        file: FileId::of(&meta),
        kind: item.kind,
        sig: None,
    };
    let mut label = OpenLabel::None;
    if item.kind == ItemKind::Ima && source.reads_xattr() {
        if let Some(n) = s
            .read_ima_xattr(&file)
            .map_err(|e| fail(Which::Item, IoCause::of(&e)))?
        {
            label = OpenLabel::Xattr(n);
        }
    }
    if item.kind == ItemKind::Ima && matches!(label, OpenLabel::None) && source.reads_sidecar() {
        match read::open_in_dir(s, &item.path, ima::SIDECAR_SUFFIX.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(Which::Sidecar, IoCause::of(&e))),
            // Every mode checks what the sidecar is, so that its verdict never depends on
            // the cache: a FIFO, device or directory is an I/O failure, never a signature.
            Ok(f) => {
                let m = f
                    .metadata()
                    .map_err(|e| fail(Which::Sidecar, IoCause::of(&e)))?;
                if !m.is_file() {
                    return Err(fail(Which::Sidecar, IoCause::NotRegularFile));
                }
                if mode.fills() {
                    key.sig = Some(FileId::of(&m));
                }
                label = OpenLabel::Sidecar(Sidecar {
                    file: f,
                    len: m.len(),
                });
            }
        }
    }
    Ok(Opened {
        kind: item.kind,
        file,
        len: meta.len(),
        key,
        label,
    })
}

// ---------------------------------------------------------------------------------------
// 3. read
// ---------------------------------------------------------------------------------------

/// The bytes the kernel's procedure looks at.
enum Loaded<'s> {
    /// A module as the loader sees it.
    Module(ModuleImage<'s>),
    /// An IMA file's content and its label (the `security.ima` value or the sidecar's
    /// bytes, with their source).
    Ima { content: Data<'s>, label: Label<'s> },
}

/// A module file after decompression.
enum ModuleImage<'s> {
    /// Not compressed: the file's bytes.
    Plain(Data<'s>),
    /// Compressed (by magic) and decompressed.
    Decompressed(&'s [u8]),
    /// Compressed, but it does not decompress.
    Corrupt,
}

/// A signature header limits an IMA value to 9 + 65535 bytes: a sidecar is read up to one
/// byte more than that.
const SIDECAR_MAX: usize = imasig::HEADER_LEN + 65536;

/// Reads the sidecar (when it is the label's source), then the item; decompresses a
/// compressed module. `security.ima` was read by the open step.
fn read(
    o: Opened,
    b: Buffers<'_>,
    mmap_threshold: u64,
    source: ImaSourceMode,
) -> Result<Loaded<'_>, IoFailure> {
    let Opened {
        kind,
        mut file,
        len,
        label,
        ..
    } = o;
    let side = |e: std::io::Error| IoFailure {
        file: Which::Sidecar,
        cause: IoCause::of(&e),
    };
    let found = match label {
        OpenLabel::None => None,
        OpenLabel::Xattr(n) => Some((ImaSource::Xattr, n)),
        OpenLabel::Sidecar(Sidecar { file: mut f, len }) => {
            // At most one byte more than any valid value: a longer sidecar fails the
            // header's length check whatever its size, and a huge one costs no huge buffer.
            let want = usize::try_from(len).unwrap_or(usize::MAX).min(SIDECAR_MAX);
            let n = read::read_into(&mut f, want, b.signature).map_err(side)?;
            Some((ImaSource::Sidecar, n))
        }
    };
    let data =
        read::read_file(&mut file, len, mmap_threshold, b.content).map_err(|e| IoFailure {
            file: Which::Item,
            cause: IoCause::of(&e),
        })?;
    Ok(match kind {
        ItemKind::Ima => {
            let signature: &[u8] = b.signature;
            Loaded::Ima {
                content: data,
                label: match found {
                    Some((src, n)) => Label::Found(src, &signature[..n]),
                    None => Label::Absent(source),
                },
            }
        }
        ItemKind::Module => {
            let Some(c) = decompress::Compression::detect_module(data.bytes()) else {
                return Ok(Loaded::Module(ModuleImage::Plain(data)));
            };
            timing::mark(Stage::Decompress);
            Loaded::Module(match b.decompressor.decompress(c, data.bytes(), b.plain) {
                Ok(()) => ModuleImage::Decompressed(b.plain),
                Err(_) => ModuleImage::Corrupt,
            })
        }
    })
}

// ---------------------------------------------------------------------------------------
// 4. judge
// ---------------------------------------------------------------------------------------

/// The kernel's procedure: a module's appended signature against the module keyring, or an
/// IMA signature against `.ima`.
fn judge(
    store: &Store,
    loaded: &Loaded<'_>,
    certs: &mut CertCache,
    policy: ima::ImaPolicy,
) -> Verdict {
    match loaded {
        Loaded::Module(image) => {
            let bytes = match image {
                ModuleImage::Plain(d) => d.bytes(),
                ModuleImage::Decompressed(b) => b,
                ModuleImage::Corrupt => {
                    return Verdict::invalid(
                        ItemKind::Module,
                        Errno::EBADMSG,
                        "corrupt compressed module",
                    )
                }
            };
            module::verify_module_with(store, bytes, module::keyring(store), certs)
        }
        Loaded::Ima { content, label } => ima::appraise(store, content.bytes(), *label, policy),
    }
}

// ---------------------------------------------------------------------------------------
// 5. remember
// ---------------------------------------------------------------------------------------

/// Puts the verdict into the cache under `epoch` when the pass fills it.
fn remember(
    cache: &super::cache::VerdictCache,
    mode: CacheMode,
    key: CacheKey,
    epoch: u64,
    verdict: Verdict,
) {
    if mode.fills() {
        timing::mark(Stage::Cache);
        cache.put(key, epoch, verdict);
    }
}
