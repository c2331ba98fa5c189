//! The live kernel as a crypto backend: this machine's own `public_key_verify_signature`,
//! reached through `keyctl(KEYCTL_PKEY_VERIFY)`.
//!
//! Each signer key is loaded once, when it enters a keyring, as the kernel loads it:
//! `add_key("asymmetric", "", CERT_DER, …)` (the kernel's asymmetric key type parses the
//! X.509 itself, so [`KeySource::cert`] must be there). Every verification is then one
//! `keyctl(KEYCTL_PKEY_VERIFY, {key, digest length, signature length}, "enc=pkcs1
//! hash=NAME", digest, signature)`, with the info strings made once (no allocation per call).
//!
//! # Where the keys live
//!
//! One private keyring per backend, linked under the **process keyring**
//! (`KEY_SPEC_PROCESS_KEYRING`) of a keeper thread that this backend starts and that lives as
//! long as the backend or any key it loaded: the user's session keyring is left alone, and
//! when the process ends its process keyring goes, and everything in it with it — nothing
//! outlives the process, even after a crash. The kernel keeps the process keyring in each
//! thread's credentials and hands it only to threads cloned *after* it exists, so worker
//! threads that already ran (a test harness's, rayon's) would not possess it; each loaded
//! key is therefore also granted search permission for its owner (`KEY_USR_SEARCH`, which
//! `KEYCTL_PKEY_VERIFY` needs), and any thread of this process verifies with it by serial.
//! The keeper adds the keys (it possesses the ring; others could not write into it). Each
//! key sits in a keyring of its own inside the private one: the asymmetric type has no
//! update operation, so adding a second key with the same description (two parses of one
//! certificate, or two certificates with the same subject and key id) to one keyring would
//! replace, and so kill, the first. A dropped key's holder keyring is invalidated.
//!
//! # Errno-faithfulness and what is unsupported
//!
//! The kernel's rules above the trait ([`super::PublicKey::rules`]) run first, so the
//! kernel backend is only asked what the kernel would compute. Its answer is taken as valid
//! or invalid; an invalid signature's errno is then named by the portable path
//! ([`super::rsa_raw`]), like every valid/invalid backend's, and the kernel's own errno for
//! the same call ([`KernelKey::pkey_verify`]) is tested to be the same one
//! (`tests/backends.rs`). Any other errno from the kernel (`ENOKEY`, `EACCES`, `ENOPKG`, …)
//! means it could not do the operation: [`super::Unsupported::Operation`], never a verdict.
//!
//! Supported: RSA PKCS#1 v1.5 with the sizes the kernel's rules accept (512, 1024, 1536,
//! 2048, 3072, 4096 bits) and every hash with a DigestInfo prefix that trustbench computes
//! (sha1, sha224, sha256, sha384, sha512, sha3-256/384/512). Unsupported: ECDSA (this
//! machine's kernel has no ecdsa; the backend does not load EC keys at all), keys given
//! without their certificate, and certificates the kernel refuses to load.

use super::keyctl as sys;
use super::{Backend, HashAlgo, KeySource, Math, MathInput, PkeyAlgo, PreparedKey};
use crate::errno::{Errno, KResult};
use std::ffi::CStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

/// The `keyctl pkey_verify` info string for an RSA PKCS#1 v1.5 signature made with `hash`
/// (static: nothing is formatted per verification). `None` for hashes the kernel's PKCS#1
/// template has no DigestInfo for, or that trustbench cannot compute.
pub fn pkcs1_info(hash: HashAlgo) -> Option<&'static CStr> {
    use HashAlgo::*;
    Some(match hash {
        Sha1 => c"enc=pkcs1 hash=sha1",
        Sha224 => c"enc=pkcs1 hash=sha224",
        Sha256 => c"enc=pkcs1 hash=sha256",
        Sha384 => c"enc=pkcs1 hash=sha384",
        Sha512 => c"enc=pkcs1 hash=sha512",
        Sha3_256 => c"enc=pkcs1 hash=sha3-256",
        Sha3_384 => c"enc=pkcs1 hash=sha3-384",
        Sha3_512 => c"enc=pkcs1 hash=sha3-512",
        _ => return None,
    })
}

/// A request to the keeper thread: load a certificate, answer with the key's serial and
/// its holder keyring's.
struct Load {
    cert: Vec<u8>,
    reply: mpsc::Sender<KResult<(i32, i32)>>,
}

/// The keeper thread's end: the private keyring and the way to ask for loads. Dropping the
/// last reference (the backend and every key it loaded) ends the thread, and with it the
/// process keyring it held and everything inside.
struct Keeper {
    ring: i32,
    requests: Mutex<mpsc::Sender<Load>>,
}

impl Keeper {
    /// Starts the keeper thread and has it make the private keyring under its process
    /// keyring.
    fn start() -> KResult<Keeper> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "trustbench-backend-{}-{}\0",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let (tx, rx) = mpsc::channel::<Load>();
        let (ready_tx, ready_rx) = mpsc::channel::<KResult<i32>>();
        std::thread::Builder::new()
            .name("trustbench-kernel-keys".into())
            .spawn(move || {
                let ring = CStr::from_bytes_with_nul(name.as_bytes())
                    .map_err(|_| Errno::EINVAL)
                    .and_then(|n| sys::add_key(c"keyring", n, &[], sys::PROCESS_KEYRING))
                    .and_then(|r| set_perm(r).map(|_| r));
                let ok = ring.is_ok();
                let _ = ready_tx.send(ring);
                if let (true, Ok(ring)) = (ok, ring) {
                    let mut held = 0u64;
                    for req in rx {
                        held += 1;
                        let _ = req.reply.send(load_in(ring, &req.cert, held));
                    }
                }
            })
            .map_err(|_| Errno::EIO)?;
        let ring = ready_rx.recv().map_err(|_| Errno::EIO)??;
        Ok(Keeper {
            ring,
            requests: Mutex::new(tx),
        })
    }

    fn load(&self, cert: &[u8]) -> KResult<(i32, i32)> {
        let (reply, answer) = mpsc::channel();
        self.requests
            .lock()
            .map_err(|_| Errno::EIO)?
            .send(Load {
                cert: cert.to_vec(),
                reply,
            })
            .map_err(|_| Errno::EIO)?;
        answer.recv().map_err(|_| Errno::EIO)?
    }
}

/// On the keeper thread: a holder keyring `k<n>` in `ring`, the certificate as an asymmetric
/// key in it, and search permission for the owner on both.
fn load_in(ring: i32, cert: &[u8], n: u64) -> KResult<(i32, i32)> {
    let name = format!("k{n}\0");
    let name = CStr::from_bytes_with_nul(name.as_bytes()).map_err(|_| Errno::EINVAL)?;
    let holder = sys::add_key(c"keyring", name, &[], ring)?;
    let key = set_perm(holder).and_then(|_| sys::add_key(c"asymmetric", c"", cert, holder));
    match key.and_then(|k| set_perm(k).map(|_| k)) {
        Ok(k) => Ok((k, holder)),
        Err(e) => {
            let _ = sys::keyctl_int(sys::KEYCTL_INVALIDATE, holder.into(), 0);
            Err(e)
        }
    }
}

/// Grants the owner search (and view) permission on `key`, so threads that do not possess
/// it can use it by serial; possessors keep everything.
fn set_perm(key: i32) -> KResult<i32> {
    let perm = sys::KEY_POS_ALL | sys::KEY_USR_VIEW | sys::KEY_USR_SEARCH;
    sys::keyctl_int(sys::KEYCTL_SETPERM, key.into(), perm.into())
}

impl Drop for Keeper {
    fn drop(&mut self) {
        // Nothing uses the keyring any more: let the garbage collector take it now rather
        // than when the keeper thread's credentials go.
        let _ = sys::keyctl_int(sys::KEYCTL_INVALIDATE, self.ring.into(), 0);
    }
}

/// The live kernel's crypto.
pub struct KernelBackend {
    keeper: Arc<Keeper>,
}

impl std::fmt::Debug for KernelBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelBackend")
            .field("ring", &self.keeper.ring)
            .finish()
    }
}

impl KernelBackend {
    /// A backend with a private keyring of its own. Fails with the kernel's errno when
    /// this kernel has no keyrings or refuses the keyring.
    pub fn new() -> KResult<KernelBackend> {
        Ok(KernelBackend {
            keeper: Arc::new(Keeper::start()?),
        })
    }

    /// The process-wide instance the registry hands out (one private keyring for every
    /// store), or why this kernel cannot be a backend.
    pub fn shared() -> Result<Arc<KernelBackend>, String> {
        static SHARED: OnceLock<Result<Arc<KernelBackend>, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                KernelBackend::new().map(Arc::new).map_err(|e| {
                    format!("cannot make a private keyring under the process keyring ({e})")
                })
            })
            .clone()
    }

    /// The private keyring's serial.
    pub fn keyring(&self) -> i32 {
        self.keeper.ring
    }

    /// Loads a DER certificate as `add_key("asymmetric", "", DER, …)` does, into its own
    /// holder keyring inside the private one. The kernel's errno when it refuses it.
    pub fn load(&self, cert: &[u8]) -> KResult<KernelKey> {
        let (serial, holder) = self.keeper.load(cert)?;
        Ok(KernelKey {
            serial,
            holder,
            _keeper: self.keeper.clone(),
        })
    }
}

impl Backend for KernelBackend {
    fn name(&self) -> &'static str {
        "kernel"
    }

    fn library(&self) -> String {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        format!("Linux {} (keyctl pkey_verify)", release.trim())
    }

    fn supports(&self, algo: PkeyAlgo, bits: usize, hash: HashAlgo) -> bool {
        algo == PkeyAlgo::Rsa
            && matches!(bits, 512 | 1024 | 1536 | 2048 | 3072 | 4096)
            && pkcs1_info(hash).is_some()
    }

    fn prepare(&self, key: &KeySource<'_>) -> Option<Box<dyn PreparedKey>> {
        if key.algo != PkeyAlgo::Rsa {
            return None;
        }
        Some(Box::new(self.load(key.cert?).ok()?))
    }
}

/// One certificate loaded into the live kernel as an asymmetric key.
pub struct KernelKey {
    serial: i32,
    holder: i32,
    _keeper: Arc<Keeper>,
}

impl KernelKey {
    /// The kernel's key serial (what `keyctl pkey_verify` takes).
    pub fn serial(&self) -> i32 {
        self.serial
    }

    /// `keyctl pkey_verify SERIAL 0 DIGEST SIG enc=pkcs1 hash=HASH`: the kernel's own
    /// verdict and errno (`EINVAL` for a hash it has no info string for).
    pub fn pkey_verify(&self, hash: HashAlgo, digest: &[u8], sig: &[u8]) -> KResult<()> {
        let info = pkcs1_info(hash).ok_or(Errno::EINVAL)?;
        sys::pkey_verify(self.serial, info, digest, sig)
    }
}

impl PreparedKey for KernelKey {
    fn verify(&self, input: &MathInput<'_>) -> Math {
        match self.pkey_verify(input.hash, input.digest, input.signature) {
            Ok(()) => Math::Valid,
            Err(Errno::EKEYREJECTED | Errno::EBADMSG | Errno::EINVAL) => Math::Invalid,
            Err(_) => Math::Unsupported,
        }
    }
}

impl Drop for KernelKey {
    fn drop(&mut self) {
        // Invalidating the holder keyring lets the kernel's garbage collector unlink it and
        // the key inside (nothing else links either).
        let _ = sys::keyctl_int(sys::KEYCTL_INVALIDATE, self.holder.into(), 0);
    }
}
