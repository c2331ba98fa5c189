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
//! Batching, when the store's backend batches ([`crate::crypto::Backend::batches`]: `mb`):
//! a worker takes its chunk a window at a time ([`Engine::run_window`]), under one read
//! lock of the trust store. Each item goes through steps 1–4 as above, except that its
//! signature checks against trusted keys are queued, assumed to succeed
//! ([`crate::verify::checks`] has why that is exact); an item with queued checks keeps its
//! bytes in a slot of its own. When the window is full (or its bytes reach a budget), the
//! queue runs as one batch — eight RSA operations at a time — and each waiting item is
//! finished: its verdict stands if every check succeeded, else it is judged again from its
//! slot with the batch's real outcomes; then step 5. Every item still gets exactly one
//! verdict, in input order, decided and cached under one epoch; the batch's cost is shared
//! by its operations in the stage times.

use super::cache::{CacheKey, FileId};
use super::read::{self, Buffers, Data, Judging, Scratch, Slot};
use super::{interrupt, CacheMode, Engine, IoCause, IoFailure, Item, Outcome, Which};
use crate::formats::{decompress, imasig};
use crate::timing::{self, Stage};
use crate::trust::Store;
use crate::verify::checks::Mode;
use crate::verify::ima::{ImaSourceMode, Label};
use crate::verify::{ima, module, ImaSource, ItemKind, Verdict};
use crate::Errno;
use std::fs::File;
use std::path::Path;
use std::time::Instant;

/// Items in a batch window at most: two full batches of eight lanes for a corpus of one
/// key size, few enough that a window's bytes stay small.
const WINDOW: usize = 16;

/// A window stops taking items once the bytes its waiting items keep reach this: the
/// slots' memory is bounded (beyond one item larger than it) whatever the corpus holds.
const WINDOW_BYTES: u64 = 32 << 20;

/// A slot's buffer that grew past this is given back after its batch (see
/// [`Scratch::release`]); below it, buffers are kept for the next window.
const SLOT_KEEP: usize = 8 << 20;

/// What step 4 came to for one item.
enum Judged {
    /// The verdict is final.
    Final(Verdict),
    /// The verdict (in the outcome) holds if every check queued for the item succeeds;
    /// the bytes are in the item's slot, as the shape says.
    Waiting(Shape),
}

impl Engine {
    /// A worker's chunk: every item through the pipeline, `out[i]` for `items[i]` —
    /// one at a time, or in batch windows when the store's backend batches.
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
        if !self.batches {
            for (item, o) in items.iter().zip(out) {
                // A stop request leaves the rest of the chunk unverified.
                if interrupt::requested() {
                    return;
                }
                *o = self.verify_one(mode, item, s);
            }
            return;
        }
        let mut next = 0;
        while next < items.len() && !interrupt::requested() {
            next = self.run_window(mode, items, out, next, s);
        }
    }

    /// One item, all five steps, under one read lock of the trust store (so the verdict and
    /// the cache entry belong to one epoch).
    pub(crate) fn verify_one(&self, mode: CacheMode, item: &Item, s: &mut Scratch) -> Outcome {
        let store = self.store.read().unwrap_or_else(|p| p.into_inner());
        s.checks().clear();
        let (o, key, judged) = self.settle(&store, mode, item, s, 0);
        if let (Some(key), Some(Judged::Final(v))) = (key, judged) {
            remember(&self.cache, mode, key, store.epoch(), v);
        }
        o
    }

    /// Items from `start` until the window is full, under one read lock: each through
    /// steps 1–4 with its checks queued, then the batch, then each waiting item finished
    /// and remembered. Returns the index of the first item not taken.
    fn run_window(
        &self,
        mode: CacheMode,
        items: &[Item],
        out: &mut [Outcome],
        start: usize,
        s: &mut Scratch,
    ) -> usize {
        let store = self.store.read().unwrap_or_else(|p| p.into_inner());
        let epoch = store.epoch();
        s.checks().clear();
        // Items waiting for the batch: (index, cache key, shape of the bytes in its slot).
        let mut waiting: [Option<(usize, CacheKey, Shape)>; WINDOW] = [None; WINDOW];
        let (mut held, mut held_bytes, mut i) = (0, 0u64, start);
        while i < items.len() && held < WINDOW && held_bytes < WINDOW_BYTES {
            if interrupt::requested() {
                break;
            }
            s.checks().set_mode(Mode::Defer { item: held });
            let (o, key, judged) = self.settle(&store, mode, &items[i], s, held);
            match (key, judged) {
                (Some(key), Some(Judged::Final(v))) => remember(&self.cache, mode, key, epoch, v),
                (Some(key), Some(Judged::Waiting(shape))) => {
                    waiting[held] = Some((i, key, shape));
                    held += 1;
                    held_bytes += o.bytes;
                }
                _ => {}
            }
            out[i] = o;
            i += 1;
        }
        if held == 0 {
            return i;
        }
        let t = Instant::now();
        s.checks().run(&store);
        let per_check = t.elapsed().as_nanos() as u64 / s.checks().queued().max(1) as u64;
        for (k, w) in waiting.iter().enumerate().take(held) {
            let Some((idx, key, shape)) = *w else {
                continue;
            };
            let o = &mut out[idx];
            let share = per_check * s.checks().queued_for(k) as u64;
            o.stage_ns[Stage::Verify as usize] += share;
            o.total_ns += share;
            if !s.checks().all_succeeded(k) {
                // An assumption failed: judged again, with the batch's real outcomes.
                let t = Instant::now();
                if self.config.timing {
                    timing::begin(Stage::Verify);
                }
                let (slot, mut j) = s.held(k);
                j.checks.set_mode(Mode::Replay { item: k });
                o.verdict = judge(&store, &slot.view(shape), &mut j, self.config.ima_policy);
                let stages = timing::end();
                for (a, b) in o.stage_ns.iter_mut().zip(stages) {
                    *a += b;
                }
                o.total_ns += t.elapsed().as_nanos() as u64;
            }
            let (slot, _) = s.held(k);
            match shrank_under_map(slot, o.verdict.kind) {
                Some(v) => o.verdict = v,
                None => remember(&self.cache, mode, key, epoch, o.verdict),
            }
            s.release(k, SLOT_KEEP);
        }
        s.checks().clear();
        i
    }

    /// Steps 1–4 for one item in slot `k`: its outcome (for an item waiting for the batch,
    /// with the verdict decided on the assumption that its queued checks succeed), the
    /// cache key and what judging came to — `None` for both when the cache answered or a
    /// file could not be read (the outcome then says so).
    fn settle(
        &self,
        store: &Store,
        mode: CacheMode,
        item: &Item,
        s: &mut Scratch,
        k: usize,
    ) -> (Outcome, Option<CacheKey>, Option<Judged>) {
        let t0 = Instant::now();
        if self.config.timing {
            timing::begin(Stage::Read);
        }
        // The caller holds the store's read lock for the whole item: one epoch throughout.
        let epoch = store.epoch();
        let finish = |verdict, bytes, cache_hit, io| Outcome {
            verdict,
            stage_ns: timing::end(),
            total_ns: t0.elapsed().as_nanos() as u64,
            bytes,
            cache_hit,
            io,
            verified: true,
            epoch,
        };
        let source = self.config.ima_source;
        if let Probe::Hit(verdict) = probe(&self.cache, mode, item, source, s, epoch) {
            return (finish(verdict, 0, true, None), None, None);
        }
        let io = |f: IoFailure| {
            let v = Verdict::invalid(item.kind, Errno::EIO, "cannot read the file");
            (finish(v, 0, false, Some(f)), None, None)
        };
        let opened = match open(s, item, mode, source, k) {
            Ok(o) => o,
            Err(f) => return io(f),
        };
        let (key, bytes) = (opened.key, opened.len);
        let shape = match read(opened, s.parts(k).0, self.config.mmap_threshold, source) {
            Ok(shape) => shape,
            Err(f) => return io(f),
        };
        let (slot, mut j) = s.held(k);
        let verdict = judge(store, &slot.view(shape), &mut j, self.config.ima_policy);
        // Only the batch's own item queues checks (nothing is queued outside Defer mode).
        let queued = j.checks.queued_for(k) > 0;
        if let Some(v) = shrank_under_map(slot, item.kind).filter(|_| !queued) {
            // Judged from zeros where the file's end used to be: not a verdict on the
            // file, and never cached. (With checks queued, the item waits for its batch
            // like any other, so that its checks stay its own, and the batch's end gives
            // it this verdict.)
            return (finish(v, bytes, false, None), None, None);
        }
        let judged = if queued {
            Judged::Waiting(shape)
        } else if matches!(shape, Shape::Refused { .. }) {
            // A verdict on how the file was read, not on its bytes: not cached.
            return (finish(verdict, bytes, false, None), None, None);
        } else {
            Judged::Final(verdict)
        };
        (finish(verdict, bytes, false, None), Some(key), Some(judged))
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
/// `None` (a miss, then the open step reports any failure) when a lookup fails. The
/// ceiling times this same function as the raw cost of a cache probe's path lookups.
pub(crate) fn key_by_path(
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
    k: usize,
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
            .read_ima_xattr(k, &file)
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

/// The bytes the kernel's procedure looks at, viewed in their slot ([`Slot::view`]).
enum Loaded<'s> {
    /// A module as the loader sees it (`Err`: compressed, but it does not decompress, and
    /// why).
    Module(Result<&'s [u8], &'static str>),
    /// An IMA file's content and its label (the `security.ima` value or the sidecar's
    /// bytes, with their source).
    Ima { content: &'s [u8], label: Label<'s> },
    /// Not judged on its bytes: this verdict.
    Refused(Verdict),
}

/// Where the read step left an item's bytes in its slot: `Copy`, so an item waiting for a
/// batch keeps only this and its slot, and is viewed again from them.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// A module: as read, decompressed into the slot's `plain` buffer (its length), or
    /// corrupt.
    Module(ModuleShape),
    /// An IMA file: its content, and where its label is.
    Ima { content: Src, label: LabelShape },
    /// Not judged on its bytes: how it was read decides ([`Refusal`]).
    Refused { kind: ItemKind, why: Refusal },
}

/// Why an item's bytes were not judged: the verdict is about reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// Fewer bytes than its length could be read: it shrank after it was opened.
    Shrank,
    /// Larger than [`read::MAX_READ`] and not mapped.
    TooLarge,
    /// A module of zero bytes.
    Empty,
}

impl Refusal {
    /// The verdict of an item refused for this reason:
    /// - shrank: a module as `kernel_read_file` refuses a short read (`EIO`: fewer bytes
    ///   than `i_size`), an IMA file as `ima_calc_file_hash` fails on an unexpected end of
    ///   file (`EINVAL`);
    /// - too large: a module as the kernel refuses it (`init_module` reads at most
    ///   `INT_MAX` bytes, `EFBIG`); an IMA file the kernel would hash in pieces, which the
    ///   engine does only through a mapping;
    /// - empty (modules only): `finit_module` reads it with `kernel_read_file`, which
    ///   refuses a file of size 0 with `EINVAL` before any signature is looked at (an empty
    ///   IMA file is hashed like any other: its label decides).
    fn verdict(self, kind: ItemKind) -> Verdict {
        let (errno, reason) = match (self, kind) {
            (Refusal::Shrank, ItemKind::Module) => (
                Errno::EIO,
                "the file shrank while it was read (kernel_read_file refuses a short read: EIO)",
            ),
            (Refusal::Shrank, ItemKind::Ima) => (
                Errno::EINVAL,
                "the file shrank while it was hashed (ima_calc_file_hash: unexpected end of file, EINVAL)",
            ),
            (Refusal::TooLarge, ItemKind::Module) => (
                Errno::EFBIG,
                "larger than INT_MAX bytes (kernel_read_file refuses a module that large: EFBIG)",
            ),
            (Refusal::TooLarge, ItemKind::Ima) => (
                Errno::EFBIG,
                "larger than trustbench's read budget (engine::read::MAX_READ, 2 GiB); verify it with --mmap",
            ),
            (Refusal::Empty, _) => (
                Errno::EINVAL,
                "an empty file (kernel_read_file refuses a file of size 0: EINVAL)",
            ),
        };
        Verdict::invalid(kind, errno, reason)
    }
}

/// When the item's mapping faulted (the file shrank while mapped, [`GuardedMap`]
/// absorbed the `SIGBUS`), the verdict of a file that shrank; `None` otherwise.
///
/// [`GuardedMap`]: super::mapping::GuardedMap
fn shrank_under_map(slot: &Slot, kind: ItemKind) -> Option<Verdict> {
    slot.map
        .as_ref()
        .is_some_and(|m| m.faulted())
        .then(|| Refusal::Shrank.verdict(kind))
}

/// A module after decompression.
#[derive(Clone, Copy, Debug)]
enum ModuleShape {
    /// Not compressed: the file's bytes.
    Plain(Src),
    /// Compressed (by magic) and decompressed: this many bytes of `plain`.
    Decompressed(usize),
    /// Compressed, but it does not decompress (`too_large`: past the
    /// [`decompress::MAX_DECOMPRESSED`] budget).
    Corrupt { too_large: bool },
}

/// An item's bytes: this many in the slot's `content` buffer, or its mapping.
#[derive(Clone, Copy, Debug)]
enum Src {
    Buf(usize),
    Map,
}

/// An IMA item's label: found (this many bytes of the slot's `signature` buffer, from
/// this source), or absent from the sources the mode reads.
#[derive(Clone, Copy, Debug)]
enum LabelShape {
    Found(ImaSource, usize),
    Absent(ImaSourceMode),
}

impl Slot {
    /// The bytes of `src`.
    fn bytes(&self, src: Src) -> &[u8] {
        match src {
            Src::Buf(n) => self.content.get(..n).unwrap_or_default(),
            Src::Map => self.map.as_deref().unwrap_or_default(),
        }
    }

    /// The loaded item, as the read step left it.
    fn view(&self, shape: Shape) -> Loaded<'_> {
        match shape {
            Shape::Module(m) => Loaded::Module(match m {
                ModuleShape::Plain(src) => Ok(self.bytes(src)),
                ModuleShape::Decompressed(n) => Ok(self.plain.get(..n).unwrap_or_default()),
                ModuleShape::Corrupt { too_large: false } => Err("corrupt compressed module"),
                ModuleShape::Corrupt { too_large: true } => Err(
                    "compressed module decompresses past trustbench's 256 MiB budget (decompress::MAX_DECOMPRESSED)",
                ),
            }),
            Shape::Refused { kind, why } => Loaded::Refused(why.verdict(kind)),
            Shape::Ima { content, label } => Loaded::Ima {
                content: self.bytes(content),
                label: match label {
                    LabelShape::Found(src, n) => {
                        Label::Found(src, self.signature.get(..n).unwrap_or_default())
                    }
                    LabelShape::Absent(mode) => Label::Absent(mode),
                },
            },
        }
    }
}

/// A signature header limits an IMA value to 9 + 65535 bytes: a sidecar is read up to one
/// byte more than that.
const SIDECAR_MAX: usize = imasig::HEADER_LEN + 65536;

/// Reads the sidecar (when it is the label's source), then the item, into the slot's
/// buffers (or maps it); decompresses a compressed module. `security.ima` was read by the
/// open step.
fn read(
    o: Opened,
    b: Buffers<'_>,
    mmap_threshold: Option<u64>,
    source: ImaSourceMode,
) -> Result<Shape, IoFailure> {
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
    let label = match label {
        OpenLabel::None => LabelShape::Absent(source),
        OpenLabel::Xattr(n) => LabelShape::Found(ImaSource::Xattr, n),
        OpenLabel::Sidecar(Sidecar { file: mut f, len }) => {
            // At most one byte more than any valid value: a longer sidecar fails the
            // header's length check whatever its size, and a huge one costs no huge buffer.
            let want = usize::try_from(len).unwrap_or(usize::MAX).min(SIDECAR_MAX);
            let n = read::read_into(&mut f, want, b.signature).map_err(side)?;
            LabelShape::Found(ImaSource::Sidecar, n)
        }
    };
    *b.map = None;
    let refused = |why| Ok(Shape::Refused { kind, why });
    if kind == ItemKind::Module {
        if len == 0 {
            return refused(Refusal::Empty);
        }
        if len > read::MAX_READ {
            return refused(Refusal::TooLarge);
        }
    }
    // Past the read budget only a mapping can hold it: map it whatever the threshold.
    let threshold = mmap_threshold.map(|t| t.min(read::MAX_READ));
    let data = match read::read_file(&mut file, len, threshold, b.content) {
        Ok(d) => d,
        Err(e) if e.raw_os_error() == Some(libc::EFBIG) => return refused(Refusal::TooLarge),
        Err(e) => {
            return Err(IoFailure {
                file: Which::Item,
                cause: IoCause::of(&e),
            })
        }
    };
    let src = match data {
        // The kernel reads exactly the length it took at open; fewer bytes means the file
        // shrank since (a file that grew is read to that length, as the kernel reads it).
        Data::Buf(d) if (d.len() as u64) < len => return refused(Refusal::Shrank),
        Data::Buf(d) => Src::Buf(d.len()),
        Data::Map(m) => {
            *b.map = Some(m);
            Src::Map
        }
    };
    let bytes: &[u8] = match src {
        Src::Buf(n) => &b.content[..n],
        Src::Map => b.map.as_deref().unwrap_or_default(),
    };
    Ok(match kind {
        ItemKind::Ima => Shape::Ima {
            content: src,
            label,
        },
        ItemKind::Module => {
            let Some(c) = decompress::Compression::detect_module(bytes) else {
                return Ok(Shape::Module(ModuleShape::Plain(src)));
            };
            timing::mark(Stage::Decompress);
            Shape::Module(match b.decompressor.decompress(c, bytes, b.plain) {
                Ok(()) => ModuleShape::Decompressed(b.plain.len()),
                Err(e) => ModuleShape::Corrupt {
                    too_large: decompress::is_too_large(&e),
                },
            })
        }
    })
}

// ---------------------------------------------------------------------------------------
// 4. judge
// ---------------------------------------------------------------------------------------

/// The kernel's procedure: a module's appended signature against the module keyring, or an
/// IMA signature against `.ima`, with signature checks done as the worker's queue says.
fn judge(
    store: &Store,
    loaded: &Loaded<'_>,
    j: &mut Judging<'_>,
    policy: ima::ImaPolicy,
) -> Verdict {
    match loaded {
        Loaded::Module(Ok(bytes)) => {
            module::verify_module_with(store, bytes, module::keyring(store), j.certs, j.checks)
        }
        Loaded::Module(Err(reason)) => Verdict::invalid(ItemKind::Module, Errno::EBADMSG, reason),
        Loaded::Ima { content, label } => {
            ima::appraise_with(store, content, *label, policy, j.checks)
        }
        Loaded::Refused(v) => *v,
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
