//! Public keys, signature records and the kernel's `public_key_verify_signature` rules, on
//! top of a pluggable [`Backend`] that only does the mathematics.
//!
//! The split matters for two reasons. The kernel's verdicts (which errno, which length rule,
//! which key sizes exist at all) must be identical whichever library does the arithmetic,
//! so those rules live here once ([`PublicKey::rules`], then [`PublicKey::math`]). And the
//! measurement suite compares backends side by side, so a backend is a small trait: parse a
//! key once into a handle ([`Backend::prepare`]), then verify against it many times.
//!
//! A backend answers in one of three ways, and the rules here turn each into the kernel's
//! errno:
//! - the raw RSA public operation `s^e mod n` ([`PreparedKey::rsa_public`]: aws-lc,
//!   OpenSSL): the kernel's EMSA-PKCS1-v1_5 checks ([`rsa_raw::check_encoding`]) run on the
//!   result and name every failure from that one exponentiation;
//! - valid / invalid ([`PreparedKey::verify`]: ring, RustCrypto, the live kernel, and every
//!   ECDSA backend): valid is valid; an invalid RSA signature's errno (`EINVAL`, `EBADMSG`
//!   or `EKEYREJECTED`) is then named by the portable big-integer path
//!   ([`rsa_raw::verify_pkcs1`]), off the hot path; an invalid ECDSA signature is
//!   `EKEYREJECTED` when it is well-formed DER and `EBADMSG` when not, as the kernel decides;
//! - [`Unsupported`]: the backend has no implementation for this algorithm, key size, hash
//!   or key ([`Backend::supports`] says which in advance), or needs the signed message and
//!   was not given it. Never a verdict of its own: [`PublicKey::check`] returns it as such,
//!   [`PublicKey::verify`] (the kernel-facing call) reports it as `ENOPKG`, the kernel's own
//!   word for crypto it does not have, and counts it ([`unsupported_count`]) so that a
//!   verdict can say it was not the backend's.
//!
//! Everything the rules decide without arithmetic (algorithm mismatch, encoding, hash,
//! profile, key size, signature length, a representative outside `1 < s < n - 1`) is decided
//! here for every backend alike, before any backend is asked.

pub mod aws_lc;
pub mod backends;
/// A deliberately wrong backend, for the tests of `trustbench backends`' agreement check.
pub mod faulty;
#[cfg(feature = "kernel")]
pub mod kernel;
pub mod keyctl;
/// Multi-buffer RSA verification (AVX-512 IFMA lanes) over aws-lc.
pub mod mb;
pub mod mldsa;
#[cfg(feature = "openssl")]
pub mod openssl;
pub mod profile;
#[cfg(feature = "ring")]
pub mod ring;
pub mod rsa_raw;
#[cfg(feature = "rustcrypto")]
pub mod rustcrypto;

pub use crate::algo::{Curve, Encoding, MlDsa, PkeyAlgo, SigAlgo};
pub use profile::CryptoProfile;

use crate::asn1::{self, tag};
use crate::errno::{Errno, KResult};
use crate::hash::{Digest, HashAlgo, MAX_DIGEST_LEN};
use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

/// What a signature covers, as the kernel's `public_key_signature.m` holds it: a digest the
/// caller computed (RSA, ECDSA), or the signed data itself for an algorithm that takes data
/// (`algo_takes_data`: ML-DSA, which cannot verify a prehashed digest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signed<'a> {
    /// The digest the signature covers, with its algorithm.
    Digest(Digest),
    /// The data itself (X.509: the TBSCertificate DER; a module without signed attributes:
    /// its content; with them: the attributes re-tagged as a SET; IMA v3: the
    /// `ima_file_id` bytes), and the hash name the record carries: `None` is the kernel's
    /// `"none"`; a module's signed attributes keep their digestAlgorithm (the kernel then
    /// requires sha512).
    Data {
        /// The record's hash name (`None` = `"none"`).
        hash: Option<HashAlgo>,
        /// The bytes the algorithm verifies.
        data: &'a [u8],
    },
}

impl Signed<'_> {
    /// The digest, when the record carries one.
    pub fn digest(&self) -> Option<&Digest> {
        match self {
            Signed::Digest(d) => Some(d),
            Signed::Data { .. } => None,
        }
    }

    /// The record's hash name: the digest's algorithm, or the one a data record names.
    pub fn hash(&self) -> Option<HashAlgo> {
        match self {
            Signed::Digest(d) => Some(d.algo()),
            Signed::Data { hash, .. } => *hash,
        }
    }
}

/// What a verifier is asked to check: the kernel's `struct public_key_signature`, with the
/// digest already computed (or the data, for ML-DSA), and the bytes a digest was computed
/// over where the caller has them.
#[derive(Clone, Debug)]
pub struct SignatureRecord<'a> {
    /// `None` when the caller takes the key's own algorithm (IMA does).
    pub algo: Option<SigAlgo>,
    /// How the signature is encoded (PKCS#1 v1.5, X9.62, or raw for ML-DSA).
    pub encoding: Encoding,
    /// What the signature covers: a digest, or the data.
    pub signed: Signed<'a>,
    /// The signature bytes.
    pub signature: &'a [u8],
    /// The signed message a [`Signed::Digest`] is the hash of (module: the signed content;
    /// X.509: the TBSCertificate; IMA v2: the file content; IMA v3: the `ima_file_id`
    /// bytes), for backends that hash the message themselves ([`Backend::hashes_message`]:
    /// ring). `None` where the caller does not have it; such a backend then says
    /// [`Unsupported`]. Whenever it is `Some`, the digest is its hash.
    pub message: Option<&'a [u8]>,
}

impl<'a> SignatureRecord<'a> {
    /// A record of a signature over `digest`, without the message.
    pub fn over_digest(
        algo: Option<SigAlgo>,
        encoding: Encoding,
        digest: Digest,
        signature: &'a [u8],
    ) -> Self {
        SignatureRecord {
            algo,
            encoding,
            signed: Signed::Digest(digest),
            signature,
            message: None,
        }
    }

    /// The digest, when the record carries one (never for ML-DSA).
    pub fn digest(&self) -> Option<&Digest> {
        self.signed.digest()
    }
}

/// Outcome of a backend's arithmetic, before kernel errno mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Math {
    /// The signature verifies.
    Valid,
    /// It does not (which errno is decided above the backend).
    Invalid,
    /// This backend has no implementation for the key/hash combination.
    Unsupported,
}

/// Why a backend could not do a verification: it gives no verdict and no figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unsupported {
    /// [`Backend::supports`] is false for the key's algorithm and size with this hash.
    Algorithm,
    /// The backend could not take this particular key ([`Backend::prepare`] gave no handle:
    /// a key its library refuses to parse, or, for the live kernel, a certificate it would
    /// not load).
    Key,
    /// The backend hashes the message itself and the caller had no message.
    NoMessage,
    /// The backend's arithmetic refused the operation for this input.
    Operation,
    /// Internal error: the multi-buffer arithmetic and the single-op backend computed
    /// different results for the same operation ([`mb::disagreements`] counts them). No
    /// verdict is derived from either.
    Disagreement,
}

impl Unsupported {
    /// A short human reason, for reports.
    pub fn reason(self) -> &'static str {
        match self {
            Unsupported::Algorithm => "algorithm, key size or hash not implemented by the backend",
            Unsupported::Key => "the backend cannot load this key",
            Unsupported::NoMessage => "the backend hashes the message and none was given",
            Unsupported::Operation => "the backend refused the operation",
            Unsupported::Disagreement => {
                "internal error: the multi-buffer and single-op arithmetic disagree"
            }
        }
    }
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

/// A verification's outcome at the crypto layer: the kernel's verdict, or a backend that
/// could not give one.
pub type Checked = Result<KResult<()>, Unsupported>;

thread_local! {
    /// Verifications on this thread that a backend could not do (const-initialised: reading
    /// or bumping it never allocates).
    static UNSUPPORTED: Cell<u64> = const { Cell::new(0) };
}

/// How many verifications on this thread so far were answered `ENOPKG` by
/// [`PublicKey::verify`] because the backend could not do them. The verifiers read it before
/// and after an item, so a verdict can say that it does not come from the backend
/// ([`crate::verify::Verdict::backend_unsupported`]); an item is judged on one thread.
pub fn unsupported_count() -> u64 {
    UNSUPPORTED.with(Cell::get)
}

fn note_unsupported() {
    UNSUPPORTED.with(|c| c.set(c.get() + 1));
}

/// What a backend is given to prepare a key once.
#[derive(Clone, Copy, Debug)]
pub struct KeySource<'a> {
    /// The key's algorithm (and curve).
    pub algo: PkeyAlgo,
    /// subjectPublicKey BIT STRING contents: RSAPublicKey DER, or the EC point.
    pub key: &'a [u8],
    /// The whole DER certificate the key comes from, when it comes from one: the live
    /// kernel's asymmetric key type parses X.509 itself, so its backend loads this.
    pub cert: Option<&'a [u8]>,
}

/// What a backend's [`PreparedKey::verify`] is asked, once the kernel's rules have passed.
#[derive(Clone, Copy, Debug)]
pub struct MathInput<'a> {
    /// The signature's hash algorithm.
    pub hash: HashAlgo,
    /// RSA: the digest. ECDSA: the digest brought to the curve's native length
    /// ([`ecdsa_digest`]), so every backend reads the same integer from it.
    pub digest: &'a [u8],
    /// The signed message ([`SignatureRecord::message`]); `Some` whenever the backend
    /// [`Backend::hashes_message`].
    pub message: Option<&'a [u8]>,
    /// RSA: exactly the modulus length, below the modulus. ECDSA: as received.
    pub signature: &'a [u8],
}

/// A key parsed into a backend's native form, made once and used for every verification.
///
/// An RSA key is first asked for [`PreparedKey::rsa_public`] (exact errnos from one
/// exponentiation), then for [`PreparedKey::verify`]; ECDSA keys only for `verify`. Each
/// defaults to "not available".
pub trait PreparedKey: Send + Sync {
    /// A verdict of valid or invalid for `input`, or [`Math::Unsupported`].
    fn verify(&self, _input: &MathInput<'_>) -> Math {
        Math::Unsupported
    }

    /// RSA: the raw public operation `s^e mod n`, written big-endian into `out` (exactly the
    /// modulus length; `signature` is that long and below the modulus). `None` when this
    /// backend has no raw operation. With it the kernel's EMSA-PKCS1-v1_5 checks run on the
    /// result directly and give the exact errno from one exponentiation.
    fn rsa_public(&self, _signature: &[u8], _out: &mut [u8]) -> Option<()> {
        None
    }

    /// ML-DSA: pure ML-DSA verification of `signature` over `data` with the empty context
    /// (FIPS 204 Algorithm 3 with ctx = ε, the only form the kernel verifies), once the
    /// kernel's rules, encoding checks included ([`mldsa::check_signature`]), have passed.
    fn verify_data(&self, _data: &[u8], _signature: &[u8]) -> Math {
        Math::Unsupported
    }

    /// RSA: the key's multi-buffer constants, when a batching backend prepared them
    /// ([`mb`]); `None` for every other backend and key.
    fn mont(&self) -> Option<&mb::MontKey> {
        None
    }
}

/// Pending verifications handed to [`Backend::verify_batch`], however the caller keeps
/// them: a slice of [`Job`]s, or the engine's per-worker queue (which keeps key serials
/// and copied signatures, so that nothing borrowed has to outlive a batch and the queue is
/// reused without allocating).
pub trait Batch {
    /// How many jobs.
    fn len(&self) -> usize;

    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Job `i`: the key (prepared by the backend the batch is given to), what to verify,
    /// and the emulated kernel's algorithms. `None` when the job's key is gone (its outcome
    /// is then the caller's to decide).
    fn job(&self, i: usize) -> Option<(&PublicKey, SignatureRecord<'_>, &CryptoProfile)>;

    /// Records job `i`'s outcome: the value [`PublicKey::check`] gives for it.
    fn set(&mut self, i: usize, outcome: Checked);
}

/// One pending verification, for callers that hold their jobs in a `Vec`.
pub struct Job<'a> {
    /// The key, prepared by the backend the batch is given to.
    pub key: &'a PublicKey,
    /// What to verify.
    pub sig: SignatureRecord<'a>,
    /// The emulated kernel's algorithms.
    pub profile: &'a CryptoProfile,
    /// Filled by the batch: the same value [`PublicKey::check`] gives for this job.
    pub outcome: Option<Checked>,
}

impl<'a> Job<'a> {
    /// A job with no outcome yet.
    pub fn new(key: &'a PublicKey, sig: SignatureRecord<'a>, profile: &'a CryptoProfile) -> Self {
        Job {
            key,
            sig,
            profile,
            outcome: None,
        }
    }
}

impl Batch for Vec<Job<'_>> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn job(&self, i: usize) -> Option<(&PublicKey, SignatureRecord<'_>, &CryptoProfile)> {
        self.get(i).map(|j| (j.key, j.sig.clone(), j.profile))
    }

    fn set(&mut self, i: usize, outcome: Checked) {
        if let Some(j) = self.get_mut(i) {
            j.outcome = Some(outcome);
        }
    }
}

/// The kernel-facing result of a [`Checked`] outcome: a verification the backend could
/// not do is `ENOPKG`, the kernel's word for crypto it does not have, and is counted
/// ([`unsupported_count`]) so that the verdict can say it was not the backend's.
pub fn kernel_result(c: Checked) -> KResult<()> {
    match c {
        Ok(r) => r,
        Err(_) => {
            note_unsupported();
            Err(Errno::ENOPKG)
        }
    }
}

/// A crypto library: parses a key once ([`Backend::prepare`]), then does the arithmetic of
/// each verification against it; the kernel's rules around it are [`PublicKey`]'s, the same
/// for every backend. The implementations, their unsupported sets and how each was made
/// errno-faithful are listed in [`backends`].
pub trait Backend: Send + Sync + fmt::Debug {
    /// The name options and reports use (`aws-lc`, `ring`, `rustcrypto`, `openssl`,
    /// `kernel`).
    fn name(&self) -> &'static str;

    /// The library behind it and its version, for reports (`aws-lc-rs 1.19.0`).
    fn library(&self) -> String;

    /// Whether the backend implements verification for keys of `algo` with `bits` (the
    /// kernel's size: RSA modulus bytes × 8) and signatures made with `hash`. Where it is
    /// false every verification that reaches the arithmetic is [`Unsupported::Algorithm`],
    /// so a report can say "unsupported" instead of a figure. A particular key can still be
    /// refused at [`Backend::prepare`] ([`Unsupported::Key`]).
    fn supports(&self, algo: PkeyAlgo, bits: usize, hash: HashAlgo) -> bool;

    /// Whether the backend implements ML-DSA with parameter set `level` (pure, empty
    /// context, [`PreparedKey::verify_data`]). ML-DSA takes no hash, so [`Backend::supports`]
    /// is never asked about it.
    fn supports_mldsa(&self, _level: MlDsa) -> bool {
        false
    }

    /// Whether the backend hashes the signed message itself instead of taking the digest
    /// (ring): its verify figure then includes the digest, and a record without a message
    /// is [`Unsupported::NoMessage`].
    fn hashes_message(&self) -> bool {
        false
    }

    /// Parses a key once, when it enters a keyring. `None` when the backend cannot take it.
    fn prepare(&self, key: &KeySource<'_>) -> Option<Box<dyn PreparedKey>>;

    /// Whether [`Backend::verify_batch`] does better than one by one, so that callers
    /// should gather verifications into batches (the engine's batched pipeline).
    fn batches(&self) -> bool {
        false
    }

    /// Verifies a batch of pending verifications, filling each [`Job::outcome`] with what
    /// [`PublicKey::check`] would give. The default does them one by one; a multi-buffer
    /// backend overrides it, runs [`PublicKey::rules`] for each job, does the arithmetic of
    /// the rest together and finishes each with [`PublicKey::finish_rsa`].
    fn verify_batch(&self, jobs: &mut dyn Batch) {
        for i in 0..jobs.len() {
            if let Some(c) = jobs.job(i).map(|(k, sig, p)| k.check(&sig, p)) {
                jobs.set(i, c);
            }
        }
    }
}

/// The version of `krate` this build locked (from `Cargo.lock`, compiled in), or `?`.
pub fn locked_version(krate: &str) -> &'static str {
    const LOCK: &str = include_str!("../../Cargo.lock");
    let needle = format!("name = \"{krate}\"");
    LOCK.split("[[package]]")
        .find(|p| p.lines().any(|l| l.trim() == needle))
        .and_then(|p| p.lines().find(|l| l.starts_with("version")))
        .and_then(|l| l.split('"').nth(1))
        .unwrap_or("?")
}

/// The default backend: `mb` where the CPU has AVX-512 IFMA (its lanes then verify RSA
/// batches several times faster than any single-op library), aws-lc elsewhere.
pub fn default_backend() -> Arc<dyn Backend> {
    let mb = mb::Mb::from_env();
    if mb.lanes() == Some(mb::Lanes::Ifma) {
        Arc::new(mb)
    } else {
        Arc::new(aws_lc::AwsLc)
    }
}

/// RSA public key components (big-endian, leading zeros removed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaComponents {
    /// The modulus.
    pub n: Box<[u8]>,
    /// The public exponent.
    pub e: Box<[u8]>,
}

impl RsaComponents {
    /// Parses `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
    pub fn parse(der: &[u8]) -> KResult<RsaComponents> {
        let seq = asn1::single(der, tag::SEQUENCE)?;
        let mut r = asn1::Reader::new(seq.contents);
        let n = r.expect_tag(tag::INTEGER)?.contents;
        let e = r.expect_tag(tag::INTEGER)?.contents;
        Ok(RsaComponents {
            n: asn1::strip_leading_zeros(n).into(),
            e: asn1::strip_leading_zeros(e).into(),
        })
    }

    /// The kernel's key size: bytes of the modulus without leading zeros.
    pub fn modulus_len(&self) -> usize {
        self.n.len()
    }

    /// Whether the big-endian `s`, exactly the modulus length, is a representative the RSA
    /// primitive takes: `1 < s < n - 1` (crypto/rsa.c `rsa_check_payload`, SP 800-56B;
    /// anything else is `EINVAL` before any arithmetic). Allocation-free: `s + 1` is made
    /// on the stack and compared with `n` (same-length big-endian values compare as byte
    /// strings). `false` for moduli longer than the kernel's largest (4096 bits).
    pub fn in_payload_range(&self, s: &[u8]) -> bool {
        let k = self.n.len();
        if s.len() != k || k == 0 || k > 512 {
            return false;
        }
        let mut buf = [0u8; 512];
        let t = &mut buf[..k];
        t.copy_from_slice(s);
        let mut carry = true;
        for b in t.iter_mut().rev() {
            let (v, c) = b.overflowing_add(1);
            *b = v;
            carry = c;
            if !carry {
                break;
            }
        }
        // s + 1 overflowing k bytes: s is all ones, not below n - 1.
        if carry {
            return false;
        }
        // s > 1 ⇔ s + 1 > 2; s < n - 1 ⇔ s + 1 < n.
        let above_one = t[..k - 1].iter().any(|&b| b != 0) || t[k - 1] > 2;
        above_one && t[..] < self.n[..]
    }
}

/// `digest` as the ECDSA integer every backend must read from it, written as the curve's
/// native digest length (32 bytes for P-256, 48 for P-384, 64 for P-521) into `buf`: a
/// longer digest keeps its leading bytes and a shorter one is left-padded with zeros. That
/// is exact, because ECDSA reads the digest as an integer truncated to the group order's
/// bit length (P-256 and P-384 orders are byte-aligned; no digest is longer than P-521's
/// 64 bytes), so backends that want the native length (aws-lc, RustCrypto) and those that
/// take any length (OpenSSL) agree with the kernel.
pub fn ecdsa_digest<'b>(
    curve: Curve,
    digest: &[u8],
    buf: &'b mut [u8; MAX_DIGEST_LEN],
) -> &'b [u8] {
    let want = match curve {
        Curve::P192 => 24,
        Curve::P256 => 32,
        Curve::P384 => 48,
        Curve::P521 => 64,
    };
    if digest.len() >= want {
        buf[..want].copy_from_slice(&digest[..want]);
    } else {
        buf[..want - digest.len()].fill(0);
        buf[want - digest.len()..want].copy_from_slice(digest);
    }
    &buf[..want]
}

/// A subject public key, with its backend handle made once at key creation.
pub struct PublicKey {
    algo: PkeyAlgo,
    /// subjectPublicKey BIT STRING contents: RSAPublicKey DER, or the EC point.
    raw: Box<[u8]>,
    rsa: Option<KResult<RsaComponents>>,
    prepared: Option<Box<dyn PreparedKey>>,
    /// Bit `h` set: the backend [`Backend::supports`] this key's algorithm and size with
    /// hash `h` (kernel numbering), asked once here rather than per verification.
    supported: u32,
    /// The backend [`Backend::hashes_message`].
    needs_message: bool,
    /// ML-DSA: the backend [`Backend::supports_mldsa`] this key's parameter set.
    supports_data: bool,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("algo", &self.algo)
            .field("bits", &self.bits())
            .finish()
    }
}

impl PublicKey {
    /// The key of `source`, prepared by `backend` once, here.
    pub fn new(source: &KeySource<'_>, backend: &dyn Backend) -> PublicKey {
        let algo = source.algo;
        let rsa = (algo == PkeyAlgo::Rsa).then(|| RsaComponents::parse(source.key));
        let mut key = PublicKey {
            algo,
            raw: source.key.into(),
            rsa,
            prepared: None,
            supported: 0,
            needs_message: backend.hashes_message(),
            supports_data: match algo {
                PkeyAlgo::MlDsa(l) => backend.supports_mldsa(l),
                _ => false,
            },
        };
        let bits = key.bits();
        for h in HashAlgo::ALL {
            if backend.supports(algo, bits, h) {
                key.supported |= 1 << h.kernel_id();
            }
        }
        key.prepared = backend.prepare(source);
        key
    }

    /// The key's algorithm (and curve).
    pub fn algo(&self) -> PkeyAlgo {
        self.algo
    }

    /// subjectPublicKey BIT STRING contents.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The RSA components, when this is an RSA key that parsed (batch backends use them).
    pub fn rsa_components(&self) -> Option<&RsaComponents> {
        self.rsa.as_ref().and_then(|r| r.as_ref().ok())
    }

    /// The backend's handle, when it could prepare this key.
    pub fn prepared(&self) -> Option<&dyn PreparedKey> {
        self.prepared.as_deref()
    }

    /// Key size in bits, as `/proc/keys` and reports show it.
    pub fn bits(&self) -> usize {
        match (&self.rsa, self.algo) {
            (Some(Ok(c)), _) => c.modulus_len() * 8,
            (_, PkeyAlgo::Ecdsa(c)) => match c {
                Curve::P192 => 192,
                Curve::P256 => 256,
                Curve::P384 => 384,
                Curve::P521 => 521,
            },
            // `/proc/keys` shows an ML-DSA key's encoded length in bits.
            (_, PkeyAlgo::MlDsa(_)) => self.raw.len() * 8,
            _ => 0,
        }
    }

    /// Whether this key's backend implements signatures made with `hash` for it
    /// ([`Backend::supports`] for the key's algorithm and size).
    pub fn backend_supports(&self, hash: HashAlgo) -> bool {
        self.supported & (1 << hash.kernel_id()) != 0
    }

    /// Whether this key's backend can verify `sig` at all: its hash for a digest record,
    /// the key's ML-DSA parameter set for a data record.
    pub fn backend_supports_record(&self, sig: &SignatureRecord<'_>) -> bool {
        match sig.signed {
            Signed::Digest(d) => self.backend_supports(d.algo()),
            Signed::Data { .. } => self.supports_data,
        }
    }

    /// The kernel's `public_key_verify_signature` (crypto/asymmetric_keys/public_key.c with
    /// crypto/rsassa-pkcs1.c and crypto/ecdsa*.c): the same checks in the same order, so a
    /// failure carries the same errno. A verification the backend cannot do is `ENOPKG`
    /// (and counted: [`unsupported_count`]); [`PublicKey::check`] says so explicitly.
    pub fn verify(&self, sig: &SignatureRecord<'_>, profile: &CryptoProfile) -> KResult<()> {
        kernel_result(self.check(sig, profile))
    }

    /// [`PublicKey::verify`], with a verification the backend cannot do returned as
    /// [`Unsupported`] rather than as an errno.
    pub fn check(&self, sig: &SignatureRecord<'_>, profile: &CryptoProfile) -> Checked {
        match self.rules(sig, profile) {
            Some(decided) => Ok(decided),
            None => self.math(sig),
        }
    }

    /// The kernel's checks that need no arithmetic, in its order: `Some(verdict)` when they
    /// decide alone (every backend then gives exactly that), `None` when the arithmetic
    /// ([`PublicKey::math`]) decides.
    pub fn rules(&self, sig: &SignatureRecord<'_>, profile: &CryptoProfile) -> Option<KResult<()>> {
        // Signature algorithm must match the key's (ecdsa matches any ecdsa curve; an
        // ML-DSA name must match exactly, parameter set included).
        match (sig.algo, self.algo) {
            (None, _) | (Some(SigAlgo::Rsa), PkeyAlgo::Rsa) => {}
            (Some(SigAlgo::Ecdsa), PkeyAlgo::Ecdsa(_)) => {}
            (Some(SigAlgo::MlDsa(a)), PkeyAlgo::MlDsa(b)) if a == b => {}
            _ => return Some(Err(Errno::EKEYREJECTED)),
        }
        let fail = |e| Some(Err(e));
        if let PkeyAlgo::MlDsa(level) = self.algo {
            return self.mldsa_rules(level, sig, profile);
        }
        // RSA and ECDSA verify a digest; a record of data has none (hash "none": no
        // DigestInfo, no ECDSA digest).
        let Some(digest) = sig.digest() else {
            return fail(Errno::EINVAL);
        };
        let hash = digest.algo();
        match self.algo {
            PkeyAlgo::Rsa => {
                if sig.encoding != Encoding::Pkcs1 || hash.digest_info_prefix().is_none() {
                    return fail(Errno::EINVAL);
                }
                if !profile.rsa {
                    return fail(Errno::ENOENT);
                }
                let comps = match &self.rsa {
                    Some(Ok(c)) => c,
                    Some(Err(e)) => return fail(*e),
                    None => return fail(Errno::EINVAL),
                };
                // crypto/rsa.c accepts only these modulus sizes.
                if !matches!(
                    comps.modulus_len() * 8,
                    512 | 1024 | 1536 | 2048 | 3072 | 4096
                ) {
                    return fail(Errno::EINVAL);
                }
                if sig.signature.len() != comps.modulus_len() {
                    return fail(Errno::EINVAL);
                }
                // The RSA primitive (rsa_enc → rsa_check_payload) refuses a representative
                // outside 1 < s < n - 1 before any arithmetic.
                if !comps.in_payload_range(sig.signature) {
                    return fail(Errno::EINVAL);
                }
                None
            }
            PkeyAlgo::Ecdsa(curve) => {
                if sig.encoding != Encoding::X962 {
                    return fail(Errno::EINVAL);
                }
                if !matches!(
                    hash,
                    HashAlgo::Sha1
                        | HashAlgo::Sha224
                        | HashAlgo::Sha256
                        | HashAlgo::Sha384
                        | HashAlgo::Sha512
                        | HashAlgo::Sha3_256
                        | HashAlgo::Sha3_384
                        | HashAlgo::Sha3_512
                ) {
                    return fail(Errno::EINVAL);
                }
                if !profile.has_curve(curve) {
                    return fail(Errno::ENOENT);
                }
                if self.raw.first() != Some(&0x04) || self.raw.len() != 1 + 2 * curve.field_len() {
                    return fail(Errno::EINVAL);
                }
                None
            }
            PkeyAlgo::MlDsa(_) => unreachable!("ML-DSA rules are decided above"),
        }
    }

    /// The kernel's ML-DSA rules (public_key.c's scheme check, crypto/mldsa.c's key-size
    /// check, lib/crypto/mldsa.c's encoding checks), in its order: encoding `raw` and hash
    /// `none` or `sha512`, else `EINVAL`; the algorithm in the emulated kernel, else
    /// `ENOENT`; the key exactly the set's length, else `EINVAL`; the signature's length,
    /// z range and hint encoding, else `EBADMSG`. What is left is the arithmetic, whose
    /// "no" is `EKEYREJECTED`.
    fn mldsa_rules(
        &self,
        level: MlDsa,
        sig: &SignatureRecord<'_>,
        profile: &CryptoProfile,
    ) -> Option<KResult<()>> {
        let fail = |e| Some(Err(e));
        if sig.encoding != Encoding::Raw {
            return fail(Errno::EINVAL);
        }
        match sig.signed {
            Signed::Data {
                hash: None | Some(HashAlgo::Sha512),
                ..
            } => {}
            _ => return fail(Errno::EINVAL),
        }
        if !profile.has_mldsa(level) {
            return fail(Errno::ENOENT);
        }
        if self.raw.len() != level.public_key_len() {
            return fail(Errno::EINVAL);
        }
        if let Err(e) = mldsa::check_signature(level, sig.signature) {
            return fail(e);
        }
        None
    }

    /// The arithmetic, by this key's backend, for a record [`PublicKey::rules`] passed, and
    /// the kernel's errno for its outcome (the module documentation has how).
    pub fn math(&self, sig: &SignatureRecord<'_>) -> Checked {
        if !self.backend_supports_record(sig) {
            return Err(Unsupported::Algorithm);
        }
        let prepared = self.prepared.as_deref().ok_or(Unsupported::Key)?;
        let digest = match sig.signed {
            Signed::Digest(d) => d,
            Signed::Data { data, .. } => {
                return match prepared.verify_data(data, sig.signature) {
                    Math::Valid => Ok(Ok(())),
                    // The encoding checks passed: what is left is a mismatch.
                    Math::Invalid => Ok(Err(Errno::EKEYREJECTED)),
                    Math::Unsupported => Err(Unsupported::Operation),
                };
            }
        };
        let hash = digest.algo();
        let message = sig.message;
        match self.algo {
            PkeyAlgo::Rsa => {
                let mut out = [0u8; 512];
                let k = self.rsa_components().map_or(0, RsaComponents::modulus_len);
                let out = out.get_mut(..k).ok_or(Unsupported::Key)?;
                if prepared.rsa_public(sig.signature, out).is_some() {
                    return Ok(self.finish_rsa(sig, out));
                }
                if self.needs_message && message.is_none() {
                    return Err(Unsupported::NoMessage);
                }
                let input = MathInput {
                    hash,
                    digest: digest.as_bytes(),
                    message,
                    signature: sig.signature,
                };
                match prepared.verify(&input) {
                    Math::Valid => Ok(Ok(())),
                    Math::Invalid => Ok(self.classify_rsa_failure(&digest, sig.signature)),
                    Math::Unsupported => Err(Unsupported::Operation),
                }
            }
            PkeyAlgo::Ecdsa(curve) => {
                if self.needs_message && message.is_none() {
                    return Err(Unsupported::NoMessage);
                }
                let mut buf = [0u8; MAX_DIGEST_LEN];
                let input = MathInput {
                    hash,
                    digest: ecdsa_digest(curve, digest.as_bytes(), &mut buf),
                    message,
                    signature: sig.signature,
                };
                match prepared.verify(&input) {
                    Math::Valid => Ok(Ok(())),
                    Math::Unsupported => Err(Unsupported::Operation),
                    Math::Invalid => Ok(if ecdsa_sig_well_formed(sig.signature, curve) {
                        Err(Errno::EKEYREJECTED)
                    } else {
                        Err(Errno::EBADMSG)
                    }),
                }
            }
            PkeyAlgo::MlDsa(_) => Err(Unsupported::Algorithm),
        }
    }

    /// The kernel's EMSA-PKCS1-v1_5 checks on `out`, the raw public operation's result for
    /// `sig` (exactly the modulus length), giving the exact errno. For batch backends that
    /// do the raw operations of many jobs together.
    pub fn finish_rsa(&self, sig: &SignatureRecord<'_>, out: &[u8]) -> KResult<()> {
        let Some(digest) = sig.digest() else {
            return Err(Errno::EINVAL);
        };
        let Some((prefix, plen)) = digest.algo().digest_info_prefix() else {
            return Err(Errno::EINVAL);
        };
        let k = self.rsa_components().map_or(0, RsaComponents::modulus_len);
        // The primitive's output is the full modulus length, leading zeros included (as
        // 6.18's rsa_enc writes it: `00 00 01 …` is EBADMSG, not a short representative).
        rsa_raw::check_encoding(out, k, &prefix[..plen], digest.as_bytes())
    }

    /// Which errno an RSA signature a valid/invalid backend called invalid gets: the
    /// portable big-integer path names it (off the hot path: only failures come here). If
    /// that path found it valid the backend and the kernel's arithmetic disagree; the
    /// backend's "invalid" stands (never turned into valid) as the mismatch errno.
    fn classify_rsa_failure(&self, digest: &Digest, signature: &[u8]) -> KResult<()> {
        let (Some(comps), Some((prefix, plen))) =
            (self.rsa_components(), digest.algo().digest_info_prefix())
        else {
            return Err(Errno::EINVAL);
        };
        match rsa_raw::verify_pkcs1(comps, &prefix[..plen], digest, signature) {
            Ok(()) => Err(Errno::EKEYREJECTED),
            Err(e) => Err(e),
        }
    }
}

/// Whether an X9.62 signature is a DER `SEQUENCE { r INTEGER, s INTEGER }` with values no
/// longer than the curve allows (the kernel rejects the rest before any arithmetic).
fn ecdsa_sig_well_formed(sig: &[u8], curve: Curve) -> bool {
    let Ok(seq) = asn1::single(sig, tag::SEQUENCE) else {
        return false;
    };
    let mut r = asn1::Reader::new(seq.contents);
    let (Ok(a), Ok(b)) = (r.expect_tag(tag::INTEGER), r.expect_tag(tag::INTEGER)) else {
        return false;
    };
    r.is_empty()
        && [a, b]
            .iter()
            .all(|i| asn1::strip_leading_zeros(i.contents).len() <= curve.field_len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RSAPublicKey DER for `n` = 2^2048 - 1 (odd, 2048 bits) and exponent `e`.
    fn rsa_key(e: &[u8]) -> Vec<u8> {
        let mut n = vec![0x02, 0x82, 0x01, 0x01, 0x00];
        n.extend([0xff; 256]);
        let mut e_der = vec![0x02, e.len() as u8];
        e_der.extend_from_slice(e);
        let len = n.len() + e_der.len();
        let mut v = vec![0x30, 0x82, (len >> 8) as u8, len as u8];
        v.extend(n);
        v.extend(e_der);
        v
    }

    /// EMSA-PKCS1-v1_5 of `digest` for a 256-byte modulus: 00 01 FF… 00 DigestInfo digest.
    fn em(digest: &Digest) -> Vec<u8> {
        let (prefix, plen) = digest.algo().digest_info_prefix().unwrap();
        let tail = [&prefix[..plen], digest.as_bytes()].concat();
        let mut v = vec![0x00, 0x01];
        v.resize(256 - tail.len() - 1, 0xff);
        v.push(0x00);
        v.extend(tail);
        v
    }

    fn check(key: &PublicKey, digest: &Digest, signature: &[u8]) -> KResult<()> {
        let rec =
            SignatureRecord::over_digest(Some(SigAlgo::Rsa), Encoding::Pkcs1, *digest, signature);
        key.verify(&rec, &CryptoProfile::full())
    }

    fn rsa_source(der: &[u8]) -> KeySource<'_> {
        KeySource {
            algo: PkeyAlgo::Rsa,
            key: der,
            cert: None,
        }
    }

    /// A key aws-lc refuses to parse (e = 1) gets the aws-lc backend's portable handle: the
    /// big-integer raw operation, with the kernel's errnos. With e = 1 the encoded message
    /// is its own signature.
    #[test]
    fn rsa_key_aws_lc_refuses_verifies_through_big_integers() {
        let der = rsa_key(&[0x01]);
        assert!(!aws_lc::parses_rsa(&der));
        let key = PublicKey::new(&rsa_source(&der), &aws_lc::AwsLc);
        assert_eq!(key.bits(), 2048);
        let d = HashAlgo::Sha256.digest(b"module").unwrap();
        let other = HashAlgo::Sha256.digest(b"other").unwrap();
        let sig = em(&d);
        assert_eq!(check(&key, &d, &sig), Ok(()));
        assert_eq!(check(&key, &other, &sig), Err(Errno::EKEYREJECTED));
        // sha224 and sha3-256 have no aws-lc PKCS#1 verifier; the raw checks cover them.
        for h in [HashAlgo::Sha224, HashAlgo::Sha3_256] {
            let d = h.digest(b"module").unwrap();
            assert_eq!(check(&key, &d, &em(&d)), Ok(()), "{h}");
        }
        let mut bad_pad = sig.clone();
        bad_pad[5] = 0xfe;
        assert_eq!(check(&key, &d, &bad_pad), Err(Errno::EBADMSG));
        // s >= n.
        assert_eq!(check(&key, &d, &[0xff; 256]), Err(Errno::EINVAL));
    }

    /// A batch backend built the way `Backend::verify_batch` describes: the rules per job,
    /// the raw RSA operations of the rest together (here: one after the other, with big
    /// integers), `finish_rsa` per job. It gives what `check` gives, job for job.
    #[derive(Debug)]
    struct Batched;

    impl Backend for Batched {
        fn name(&self) -> &'static str {
            "batched"
        }
        fn library(&self) -> String {
            "test".into()
        }
        fn supports(&self, algo: PkeyAlgo, bits: usize, hash: HashAlgo) -> bool {
            aws_lc::AwsLc.supports(algo, bits, hash)
        }
        fn prepare(&self, key: &KeySource<'_>) -> Option<Box<dyn PreparedKey>> {
            aws_lc::AwsLc.prepare(key)
        }
        fn verify_batch(&self, jobs: &mut dyn Batch) {
            let mut pending = Vec::new();
            for i in 0..jobs.len() {
                let (key, sig, profile) = jobs.job(i).unwrap();
                match key.rules(&sig, profile) {
                    Some(decided) => jobs.set(i, Ok(decided)),
                    None => pending.push(i),
                }
            }
            let outs: Vec<(usize, Checked)> = pending
                .iter()
                .map(|&i| {
                    let (key, sig, _) = jobs.job(i).unwrap();
                    let comps = key.rsa_components().unwrap();
                    let mut out = vec![0u8; comps.modulus_len()];
                    rsa_raw::public_op(comps, sig.signature, &mut out).unwrap();
                    (i, Ok(key.finish_rsa(&sig, &out)))
                })
                .collect();
            for (i, c) in outs {
                jobs.set(i, c);
            }
        }
    }

    #[test]
    fn a_batch_backend_gives_what_check_gives() {
        let der = rsa_key(&[0x03]);
        let key = PublicKey::new(&rsa_source(&der), &Batched);
        let profile = CryptoProfile::full();
        let d = HashAlgo::Sha256.digest(b"module").unwrap();
        let mut sigs: Vec<Vec<u8>> = vec![vec![0xff; 256], vec![0; 256], vec![1; 255]];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..16 {
            sigs.push(
                (0..256)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect(),
            );
        }
        fn rec(d: Digest, s: &[u8]) -> SignatureRecord<'_> {
            SignatureRecord::over_digest(Some(SigAlgo::Rsa), Encoding::Pkcs1, d, s)
        }
        let mut jobs: Vec<Job<'_>> = sigs
            .iter()
            .map(|s| Job::new(&key, rec(d, s), &profile))
            .collect();
        Batched.verify_batch(&mut jobs);
        for (j, s) in jobs.iter().zip(&sigs) {
            assert_eq!(j.outcome, Some(key.check(&rec(d, s), &profile)));
        }
    }

    /// `1 < s < n - 1`, byte-exact at both ends (n = 2^2048 - 1).
    #[test]
    fn payload_range_edges() {
        let c = RsaComponents::parse(&rsa_key(&[0x03])).unwrap();
        let small = |v: u8| {
            let mut s = [0u8; 256];
            s[255] = v;
            s
        };
        let big = |last: u8| {
            let mut s = [0xffu8; 256];
            s[255] = last;
            s
        };
        assert!(!c.in_payload_range(&small(0)));
        assert!(!c.in_payload_range(&small(1)));
        assert!(c.in_payload_range(&small(2)));
        assert!(c.in_payload_range(&big(0xfd)), "n - 2");
        assert!(!c.in_payload_range(&big(0xfe)), "n - 1");
        assert!(!c.in_payload_range(&big(0xff)), "n");
        assert!(
            !c.in_payload_range(&[0x01; 255]),
            "shorter than the modulus"
        );
        // Two leading zero bytes are a block type error, not a short representative.
        let d = HashAlgo::Sha256.digest(b"module").unwrap();
        let key = PublicKey::new(&rsa_source(&rsa_key(&[0x01])), &aws_lc::AwsLc);
        let mut two_zeros = vec![0x00];
        two_zeros.extend_from_slice(&em(&d)[..255]);
        assert_eq!(check(&key, &d, &two_zeros), Err(Errno::EBADMSG));
    }

    /// The raw operation through aws-lc (e = 3, parsed) and the big-integer path agree on
    /// every signature, valid or not.
    #[test]
    fn rsa_raw_operation_agrees_with_big_integers() {
        let der = rsa_key(&[0x03]);
        assert!(aws_lc::parses_rsa(&der));
        let key = PublicKey::new(&rsa_source(&der), &aws_lc::AwsLc);
        let comps = RsaComponents::parse(&der).unwrap();
        let d = HashAlgo::Sha256.digest(b"module").unwrap();
        let (prefix, plen) = HashAlgo::Sha256.digest_info_prefix().unwrap();
        let mut s = [0u8; 256];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..64 {
            for b in s.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            // A spread of representatives: small, mid, all-ones (>= n).
            match i % 4 {
                0 => s[..250].fill(0),
                1 => s[0] = 0,
                2 => s.fill(0xff),
                _ => {}
            }
            let want = rsa_raw::verify_pkcs1(&comps, &prefix[..plen], &d, &s);
            assert_eq!(check(&key, &d, &s), want, "signature {i}");
            seen.insert(want.err());
        }
        assert!(seen.contains(&Some(Errno::EINVAL)), "{seen:?}");
    }
}
