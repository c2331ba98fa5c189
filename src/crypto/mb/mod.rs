//! Backend `mb`: multi-buffer RSA verification — eight RSA public operations `s^65537 mod
//! n` at once, one per 64-bit lane of AVX-512 IFMA, each lane with its own modulus — over
//! aws-lc for everything else.
//!
//! Why: every library verifies one signature at a time, and on a module tree half of the
//! cold pass is that one exponentiation. With 52-bit limbs, eight lanes cost about as much
//! as one and a half single operations, so a batch of two already pays.
//!
//! How it stays faithful:
//! - The kernel's rules run first for every job ([`PublicKey::rules`]): a signature of the
//!   wrong length, or a representative outside `1 < s < n − 1`, is refused there, never
//!   reduced; only what the kernel would exponentiate reaches the lanes.
//! - The lanes give `s^e mod n`; the kernel's EMSA-PKCS1-v1_5 checks and errnos are applied
//!   afterwards by the code every raw-operation backend uses ([`PublicKey::finish_rsa`]).
//! - Every reject is computed again by the single-op backend (aws-lc). The same result
//!   confirms it; a different one is an arithmetic fault, reported as
//!   [`Unsupported::Disagreement`] (an internal error, never a verdict, counted by
//!   [`disagreements`]) and never resolved silently either way.
//! - Keys the lanes do not take (exponent other than 65537, even modulus, more than 4096
//!   bits), ECDSA, lone operations and CPUs without IFMA go to aws-lc, one at a time.
//!
//! The lane engines: [`ifma`] (x86-64 with `avx512f` + `avx512ifma`, detected at run time)
//! and [`portable`] (the same algorithm in plain Rust, lane after lane: the reference the
//! vector engine is checked against on every machine, and never a default, being slower
//! than aws-lc). `TRUSTBENCH_MB_LANES=portable` makes `mb` batch through the portable
//! engine, so the batched paths can be tested on a machine without IFMA;
//! `TRUSTBENCH_MB_LANES=off` makes it batch nothing.

#[cfg(target_arch = "x86_64")]
mod ifma;
pub mod key;
pub mod portable;

pub use key::MontKey;

use super::aws_lc::AwsLc;
use super::{
    Backend, Batch, Checked, HashAlgo, KeySource, Math, MathInput, PkeyAlgo, PreparedKey,
    PublicKey, RsaComponents, SignatureRecord, Unsupported,
};
use key::{MAX_LIMBS, SMALL_LIMBS};
use std::sync::atomic::{AtomicU64, Ordering};

/// Operations per batch: the 64-bit lanes of a 512-bit register.
pub const LANES: usize = 8;

/// The largest modulus, in bytes, the lanes compute.
pub const MAX_LEN: usize = 512;

/// Which engine computes the lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lanes {
    /// AVX-512 IFMA, eight lanes per instruction.
    Ifma,
    /// Plain Rust, one lane after the other (the reference).
    Portable,
}

impl Lanes {
    /// The fast engine when this CPU has it: `avx512f` and `avx512ifma`, asked at run time.
    pub fn detect() -> Option<Lanes> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512ifma")
        {
            return Some(Lanes::Ifma);
        }
        None
    }

    /// Every engine that can run on this machine (the portable one always).
    pub fn available() -> Vec<Lanes> {
        let mut v = vec![Lanes::Portable];
        v.extend(Lanes::detect());
        v
    }

    /// `ifma` or `portable`, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Lanes::Ifma => "avx512-ifma",
            Lanes::Portable => "portable",
        }
    }

    /// `s^65537 mod n` for each operation, big-endian, exactly the modulus length, into
    /// `outs[i][..len]` — up to [`LANES`] operations whose keys share one size class
    /// ([`MontKey::limbs`]). Each `sigs[i]` must be its key's length and below its modulus
    /// (the kernel's rules have refused anything else before; here such a lane is left
    /// out and `false` returned for it, so nothing out of range is ever reduced).
    pub fn public_ops(
        self,
        keys: &[&MontKey],
        sigs: &[&[u8]],
        outs: &mut [[u8; MAX_LEN]],
    ) -> [bool; LANES] {
        let mut done = [false; LANES];
        let n = keys.len().min(sigs.len()).min(outs.len()).min(LANES);
        let Some(limbs) = keys.first().map(|k| k.limbs()) else {
            return done;
        };
        for i in 0..n {
            done[i] = keys[i].limbs() == limbs
                && sigs[i].len() == keys[i].len()
                && keys[i].len() <= MAX_LEN;
        }
        match limbs {
            SMALL_LIMBS => self.run::<SMALL_LIMBS>(&keys[..n], &sigs[..n], outs, &mut done),
            MAX_LIMBS => self.run::<MAX_LIMBS>(&keys[..n], &sigs[..n], outs, &mut done),
            _ => done = [false; LANES],
        }
        done
    }

    /// One batch of one size class: lanes transposed in, exponentiated, reduced once, out.
    fn run<const L: usize>(
        self,
        keys: &[&MontKey],
        sigs: &[&[u8]],
        outs: &mut [[u8; MAX_LEN]],
        take: &mut [bool; LANES],
    ) {
        let mut s = [[0u64; LANES]; L];
        let mut n = [[0u64; LANES]; L];
        let mut rr = [[0u64; LANES]; L];
        let mut n0 = [0u64; LANES];
        // Each operand in limbs, and refused unless below its modulus.
        let mut limbs = [[0u64; L]; LANES];
        for i in 0..keys.len() {
            if take[i] {
                key::to_limbs(sigs[i], &mut limbs[i]);
                take[i] = key::less(&limbs[i], keys[i].n());
            }
        }
        // A lane without an operation computes the first one's (any valid input does):
        // the engines then never see operands outside their bounds.
        let first = (0..keys.len()).find(|&i| take[i]);
        let Some(first) = first else { return };
        for lane in 0..LANES {
            let i = if lane < keys.len() && take[lane] {
                lane
            } else {
                first
            };
            let k = keys[i];
            for j in 0..L {
                s[j][lane] = limbs[i][j];
                n[j][lane] = k.n()[j];
                rr[j][lane] = k.rr()[j];
            }
            n0[lane] = k.n0();
        }
        let mut out = [[0u64; LANES]; L];
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Lanes::Ifma` is only ever made by `Lanes::detect`, after the CPU
            // reported avx512f and avx512ifma.
            Lanes::Ifma => unsafe { ifma::exp65537::<L>(&s, &n, &rr, &n0, &mut out) },
            #[cfg(not(target_arch = "x86_64"))]
            Lanes::Ifma => portable::exp65537::<L>(&s, &n, &rr, &n0, &mut out),
            Lanes::Portable => portable::exp65537::<L>(&s, &n, &rr, &n0, &mut out),
        }
        for (lane, o) in outs.iter_mut().enumerate().take(keys.len()) {
            if !take[lane] {
                continue;
            }
            let mut col: [u64; L] = std::array::from_fn(|j| out[j][lane]);
            key::reduce_once(&mut col, keys[lane].n());
            key::from_limbs(&col, &mut o[..keys[lane].len()]);
        }
    }
}

static DISAGREEMENTS: AtomicU64 = AtomicU64::new(0);

/// How many multi-buffer results the single-op backend contradicted in this process: each
/// one is an arithmetic fault, reported as [`Unsupported::Disagreement`] and never a
/// verdict. Runs report it; anything but 0 is a bug to chase.
pub fn disagreements() -> u64 {
    DISAGREEMENTS.load(Ordering::Relaxed)
}

/// The multi-buffer backend (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct Mb {
    /// The engine batches run on; `None`: every operation goes to aws-lc.
    lanes: Option<Lanes>,
    /// Tests only ([`Mb::with_lane_fault`]): every lane result has its last bit flipped,
    /// as an arithmetic fault would, to prove that faults are caught.
    fault: bool,
}

impl Mb {
    /// `mb` with the lanes this CPU has (IFMA or none), unless `TRUSTBENCH_MB_LANES`
    /// chooses (`portable`, `ifma` — ignored where the CPU lacks it — or `off`).
    pub fn from_env() -> Mb {
        let lanes = match std::env::var("TRUSTBENCH_MB_LANES").ok().as_deref() {
            Some("portable") => Some(Lanes::Portable),
            Some("off") => None,
            _ => Lanes::detect(),
        };
        Mb {
            lanes,
            fault: false,
        }
    }

    /// `mb` batching on `lanes` (`None`: batching nothing).
    pub fn with_lanes(lanes: Option<Lanes>) -> Mb {
        Mb {
            lanes,
            fault: false,
        }
    }

    /// For tests: `mb` on `lanes` with a fault injected into every lane result (its last
    /// bit flipped), so that a test can show that no such result becomes a verdict: each
    /// is recomputed by aws-lc and reported as [`Unsupported::Disagreement`].
    #[doc(hidden)]
    pub fn with_lane_fault(lanes: Lanes) -> Mb {
        Mb {
            lanes: Some(lanes),
            fault: true,
        }
    }

    /// The engine batches run on.
    pub fn lanes(&self) -> Option<Lanes> {
        self.lanes
    }
}

/// A key prepared by `mb`: aws-lc's handle for single operations, and the Montgomery
/// constants when the lanes take the key.
struct MbKey {
    single: Box<dyn PreparedKey>,
    mont: Option<MontKey>,
}

impl PreparedKey for MbKey {
    fn verify(&self, input: &MathInput<'_>) -> Math {
        self.single.verify(input)
    }

    fn rsa_public(&self, signature: &[u8], out: &mut [u8]) -> Option<()> {
        self.single.rsa_public(signature, out)
    }

    fn verify_data(&self, data: &[u8], signature: &[u8]) -> Math {
        self.single.verify_data(data, signature)
    }

    fn mont(&self) -> Option<&MontKey> {
        self.mont.as_ref()
    }
}

impl Backend for Mb {
    fn name(&self) -> &'static str {
        "mb"
    }

    fn library(&self) -> String {
        let lanes = self.lanes.map_or("no lanes", Lanes::name);
        format!(
            "trustbench multi-buffer RSA ({lanes}) + {}",
            AwsLc.library()
        )
    }

    fn supports(&self, algo: PkeyAlgo, bits: usize, hash: HashAlgo) -> bool {
        AwsLc.supports(algo, bits, hash)
    }

    fn supports_mldsa(&self, level: crate::algo::MlDsa) -> bool {
        AwsLc.supports_mldsa(level)
    }

    fn prepare(&self, source: &KeySource<'_>) -> Option<Box<dyn PreparedKey>> {
        let single = AwsLc.prepare(source)?;
        let mont = match (self.lanes, source.algo) {
            (Some(_), PkeyAlgo::Rsa) => RsaComponents::parse(source.key)
                .ok()
                .and_then(|c| MontKey::new(&c)),
            _ => None,
        };
        Some(Box::new(MbKey { single, mont }))
    }

    fn batches(&self) -> bool {
        self.lanes.is_some()
    }

    fn verify_batch(&self, jobs: &mut dyn Batch) {
        let Some(lanes) = self.lanes else {
            for i in 0..jobs.len() {
                if let Some(c) = jobs.job(i).map(|(k, sig, p)| k.check(&sig, p)) {
                    jobs.set(i, c);
                }
            }
            return;
        };
        // Pending lanes per size class, run whenever eight are queued; no allocation.
        let mut small = Queue::default();
        let mut large = Queue::default();
        for i in 0..jobs.len() {
            let class = {
                let Some((key, sig, profile)) = jobs.job(i) else {
                    continue;
                };
                if let Some(decided) = key.rules(&sig, profile) {
                    Err(Ok(decided))
                } else {
                    match lane_key(key, &sig).map(MontKey::limbs) {
                        Some(SMALL_LIMBS) => Ok(false),
                        Some(MAX_LIMBS) => Ok(true),
                        _ => Err(key.math(&sig)),
                    }
                }
            };
            let q = match class {
                Err(outcome) => {
                    jobs.set(i, outcome);
                    continue;
                }
                Ok(false) => &mut small,
                Ok(true) => &mut large,
            };
            q.idx[q.len] = i;
            q.len += 1;
            if q.len == LANES {
                q.run(lanes, self.fault, jobs);
            }
        }
        small.run(lanes, self.fault, jobs);
        large.run(lanes, self.fault, jobs);
    }
}

/// The key's lane constants, when the lanes take this verification (the backend supports
/// the hash, and the key has constants).
fn lane_key<'k>(key: &'k PublicKey, sig: &SignatureRecord<'_>) -> Option<&'k MontKey> {
    key.prepared()
        .and_then(|p| p.mont())
        .filter(|_| sig.digest().is_some() && key.backend_supports_record(sig))
}

/// Indices of jobs waiting for lanes, of one size class.
#[derive(Default)]
struct Queue {
    idx: [usize; LANES],
    len: usize,
}

impl Queue {
    /// Runs the queued jobs (a lone one on the single-op path) and empties the queue.
    fn run(&mut self, lanes: Lanes, fault: bool, jobs: &mut dyn Batch) {
        let n = std::mem::take(&mut self.len);
        let idx = &self.idx[..n];
        let mut outcomes: [Option<Checked>; LANES] = [None; LANES];
        {
            let got: [Option<(
                &PublicKey,
                SignatureRecord<'_>,
                &crate::crypto::CryptoProfile,
            )>; LANES] = std::array::from_fn(|l| idx.get(l).and_then(|&i| jobs.job(i)));
            let lane_keys: [Option<&MontKey>; LANES] =
                std::array::from_fn(|l| got[l].as_ref().and_then(|(k, s, _)| lane_key(k, s)));
            if n >= 2 {
                if let Some(first) = lane_keys.iter().flatten().next() {
                    let keys: [&MontKey; LANES] =
                        std::array::from_fn(|l| lane_keys[l].unwrap_or(first));
                    // A job without constants gets an empty operand: refused by the
                    // lanes' length check, then done singly below.
                    let sigs: [&[u8]; LANES] =
                        std::array::from_fn(|l| match (&got[l], lane_keys[l]) {
                            (Some((_, s, _)), Some(_)) => s.signature,
                            _ => &[],
                        });
                    let mut outs = [[0u8; MAX_LEN]; LANES];
                    let done = lanes.public_ops(&keys[..n], &sigs[..n], &mut outs);
                    if fault {
                        for (o, s) in outs.iter_mut().zip(&sigs) {
                            if let Some(b) = s.len().checked_sub(1).and_then(|i| o.get_mut(i)) {
                                *b ^= 1;
                            }
                        }
                    }
                    for l in 0..n {
                        if let (true, Some((k, s, _))) = (done[l], &got[l]) {
                            outcomes[l] = Some(finish(k, s, &outs[l]));
                        }
                    }
                }
            }
            // A lone job, and any the lanes did not take, on the single-op path.
            for l in 0..n {
                if outcomes[l].is_none() {
                    outcomes[l] = got[l].as_ref().map(|(k, s, _)| k.math(s));
                }
            }
        }
        for (l, &i) in idx.iter().enumerate() {
            if let Some(c) = outcomes[l] {
                jobs.set(i, c);
            }
        }
    }
}

/// The kernel's EMSA checks on a lane's result; a reject is computed again by the
/// single-op backend, and a different result is a [`Unsupported::Disagreement`].
fn finish(key: &PublicKey, sig: &SignatureRecord<'_>, out: &[u8; MAX_LEN]) -> Checked {
    let len = sig.signature.len();
    let r = key.finish_rsa(sig, &out[..len]);
    if r.is_ok() {
        return Ok(r);
    }
    let mut again = [0u8; MAX_LEN];
    match key
        .prepared()
        .and_then(|p| p.rsa_public(sig.signature, &mut again[..len]))
    {
        Some(()) if again[..len] == out[..len] => Ok(r),
        _ => {
            DISAGREEMENTS.fetch_add(1, Ordering::Relaxed);
            Err(Unsupported::Disagreement)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rsa_raw;

    /// xorshift bytes.
    fn fill(x: &mut u64, out: &mut [u8]) {
        for b in out {
            *x ^= *x << 13;
            *x ^= *x >> 7;
            *x ^= *x << 17;
            *b = (*x >> 24) as u8;
        }
    }

    fn comps(n: Vec<u8>) -> RsaComponents {
        RsaComponents {
            n: n.into(),
            e: EXPONENT_BOX.into(),
        }
    }
    const EXPONENT_BOX: [u8; 3] = key::EXPONENT;

    /// Every engine here against big integers, on random odd moduli of each size class
    /// and random representatives below them (a few per modulus), lanes mixing moduli.
    #[test]
    fn lanes_match_big_integers() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for len in [64usize, 128, 192, 256, 384, 512] {
            for _round in 0..3 {
                let mut keys = Vec::new();
                let mut sigs = Vec::new();
                let mut cs = Vec::new();
                for _ in 0..LANES {
                    let mut n = vec![0u8; len];
                    fill(&mut x, &mut n);
                    n[0] |= 0x80;
                    n[len - 1] |= 1;
                    let c = comps(n);
                    let mut s = vec![0u8; len];
                    fill(&mut x, &mut s);
                    s[0] &= 0x7f;
                    keys.push(MontKey::new(&c).unwrap());
                    sigs.push(s);
                    cs.push(c);
                }
                let krefs: Vec<&MontKey> = keys.iter().collect();
                let srefs: Vec<&[u8]> = sigs.iter().map(|s| &s[..]).collect();
                for lanes in Lanes::available() {
                    let mut outs = [[0u8; MAX_LEN]; LANES];
                    let done = lanes.public_ops(&krefs, &srefs, &mut outs);
                    for l in 0..LANES {
                        assert!(done[l]);
                        let mut want = vec![0u8; len];
                        rsa_raw::public_op(&cs[l], &sigs[l], &mut want).unwrap();
                        assert_eq!(&outs[l][..len], &want[..], "{lanes:?} len {len} lane {l}");
                    }
                }
            }
        }
    }
}
