//! How a verifier has its signature checks done: now, one by one; deferred into a batch
//! (the engine's batched pipeline); or replayed from a batch's results.
//!
//! Why deferral is exact. The kernel's procedures (PKCS#7 trust, IMA appraisal) are
//! deterministic functions of the item's bytes, the trust state and the outcome of each
//! signature check they make. In [`Mode::Defer`] a check a batching backend can take is
//! queued and assumed to succeed; everything else the procedure does runs now, so the
//! item's digest is computed once and its verdict is decided *if every queued check
//! succeeds*. The batch then runs ([`Checks::run`]). If every check of an item did
//! succeed, the assumption held and that verdict is exactly the one checking at once would
//! have given. If any did not, the item is judged again in [`Mode::Replay`], where each
//! check that was batched takes its real outcome from the batch (and anything else is
//! checked at once): the procedure then takes exactly the path the kernel's takes. Only
//! checks against keys in the trust store are deferred (never the self-signature checks
//! that parse a certificate into a cache), so an assumption cannot leak into state that
//! outlives the item.
//!
//! The queue keeps key serials and copies of the signatures and digests, so nothing it
//! holds borrows the item's buffers, and it is reused from batch to batch without
//! allocating.

use crate::crypto::SignatureRecord;
use crate::crypto::{self, Batch, Checked, CryptoProfile, Encoding, PublicKey, SigAlgo};
use crate::errno::{Errno, KResult};
use crate::hash::Digest;
use crate::trust::store::Store;
use crate::trust::Serial;

/// The longest signature a check is deferred with: an RSA-4096 signature (the largest
/// modulus the kernel takes). Longer ones are checked at once (the rules refuse them).
pub const MAX_SIGNATURE: usize = 512;

/// What a verifier does with a signature check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Check at once (every caller outside the batched pipeline).
    #[default]
    Now,
    /// Queue what a batching backend can take for item `item`, assuming success.
    Defer {
        /// The item's index in the batch.
        item: usize,
    },
    /// Take the outcome of checks batched for `item`; check anything else at once.
    Replay {
        /// The item's index in the batch.
        item: usize,
    },
}

/// A queued check.
#[derive(Clone, Copy)]
struct Pending {
    item: usize,
    key: Serial,
    algo: Option<SigAlgo>,
    encoding: Encoding,
    digest: Digest,
    signature: [u8; MAX_SIGNATURE],
    len: usize,
    outcome: Option<Checked>,
}

impl Pending {
    fn record(&self) -> SignatureRecord<'_> {
        SignatureRecord::over_digest(
            self.algo,
            self.encoding,
            self.digest,
            &self.signature[..self.len],
        )
    }

    fn is(&self, item: usize, key: Serial, rec: &SignatureRecord<'_>) -> bool {
        self.item == item
            && self.key == key
            && self.algo == rec.algo
            && self.encoding == rec.encoding
            && rec.digest() == Some(&self.digest)
            && self.signature[..self.len] == *rec.signature
    }
}

/// A verifier's signature checks: the mode, and the queue of a batch (see the module
/// documentation). `Checks::default()` checks at once.
#[derive(Default)]
pub struct Checks {
    mode: Mode,
    queue: Vec<Pending>,
}

impl Checks {
    /// Switches mode (the engine sets it per item).
    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Empties the queue for the next batch (its storage is kept) and checks at once.
    pub fn clear(&mut self) {
        self.queue.clear();
        self.mode = Mode::Now;
    }

    /// How many checks are queued.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// How many checks are queued for `item`.
    pub fn queued_for(&self, item: usize) -> usize {
        self.queue.iter().filter(|p| p.item == item).count()
    }

    /// Whether every check queued for `item` succeeded in the batch (so the verdict
    /// decided under that assumption stands). False before [`Checks::run`].
    pub fn all_succeeded(&self, item: usize) -> bool {
        self.queue
            .iter()
            .filter(|p| p.item == item)
            .all(|p| p.outcome == Some(Ok(Ok(()))))
    }

    /// `public_key_verify_signature` with trusted key `key` of `store`, as the mode says.
    pub fn verify(&mut self, store: &Store, key: Serial, rec: &SignatureRecord<'_>) -> KResult<()> {
        let k = store.asymmetric(key).ok_or(Errno::EINVAL)?;
        let (public, profile) = (&k.public, store.profile());
        match self.mode {
            Mode::Now => {}
            Mode::Defer { item } => {
                if let Some(r) = self.defer(item, key, public, rec, profile) {
                    return r;
                }
            }
            Mode::Replay { item } => {
                if let Some(c) = self
                    .queue
                    .iter()
                    .find(|p| p.is(item, key, rec))
                    .and_then(|p| p.outcome)
                {
                    return crypto::kernel_result(c);
                }
            }
        }
        public.verify(rec, profile)
    }

    /// Queues the check when the key's backend batches it: the rules that need no
    /// arithmetic are applied now (their verdict is final), the arithmetic is queued and
    /// assumed to succeed. `None`: check at once.
    fn defer(
        &mut self,
        item: usize,
        key: Serial,
        public: &PublicKey,
        rec: &SignatureRecord<'_>,
        profile: &CryptoProfile,
    ) -> Option<KResult<()>> {
        // Only digest records batch (the lanes are RSA); ML-DSA is checked at once.
        let &digest = rec.digest()?;
        let batchable = public.prepared().is_some_and(|p| p.mont().is_some())
            && public.backend_supports(digest.algo())
            && rec.signature.len() <= MAX_SIGNATURE;
        if !batchable {
            return None;
        }
        if let Some(decided) = public.rules(rec, profile) {
            return Some(decided);
        }
        let mut p = Pending {
            item,
            key,
            algo: rec.algo,
            encoding: rec.encoding,
            digest,
            signature: [0; MAX_SIGNATURE],
            len: rec.signature.len(),
            outcome: None,
        };
        p.signature[..p.len].copy_from_slice(rec.signature);
        self.queue.push(p);
        Some(Ok(()))
    }

    /// Runs every queued check through `store`'s backend as one batch, recording each
    /// outcome for [`Checks::all_succeeded`] and replays.
    pub fn run(&mut self, store: &Store) {
        if self.queue.is_empty() {
            return;
        }
        let mut view = Queued {
            store,
            queue: &mut self.queue,
        };
        store.backend().verify_batch(&mut view);
    }
}

/// The queue as a [`Batch`] for the store's backend.
struct Queued<'a> {
    store: &'a Store,
    queue: &'a mut Vec<Pending>,
}

impl Batch for Queued<'_> {
    fn len(&self) -> usize {
        self.queue.len()
    }

    fn job(&self, i: usize) -> Option<(&PublicKey, SignatureRecord<'_>, &CryptoProfile)> {
        let p = self.queue.get(i)?;
        let k = self.store.asymmetric(p.key)?;
        Some((&k.public, p.record(), self.store.profile()))
    }

    fn set(&mut self, i: usize, outcome: Checked) {
        if let Some(p) = self.queue.get_mut(i) {
            p.outcome = Some(outcome);
        }
    }
}
