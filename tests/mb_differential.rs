//! Differential proof of the multi-buffer RSA public operation (`crypto::mb`, issue 9 point 5).
//!
//! Why: on a CPU with AVX-512 IFMA the `mb` lanes are the default backend's exponentiation,
//! so every verdict on RSA rests on them. They must give exactly the single-op backend's
//! `s^65537 mod n` (aws-lc's raw operation) and the big-integer reference's
//! (`crypto::rsa_raw::public_op`) for every input below the modulus, and refuse — never
//! reduce — every input that is not.
//!
//! What is compared (every count is printed, `-- --nocapture` shows them):
//! * `random_rsa2048`, `random_rsa4096`: the bulk engine (IFMA where the CPU has it) against
//!   aws-lc on `TRUSTBENCH_MB_INPUTS` random inputs per size (default 1,000,000 in release
//!   builds), eight lanes per batch mixing moduli drawn from a pool that is renewed as it
//!   goes (so tens of thousands of moduli, one in eight of an unusual shape), one batch in
//!   sixteen smaller than eight, one input in 64 at or above its modulus. Every
//!   `TRUSTBENCH_MB_SAMPLE`-th batch (default 100) also runs on the portable engine and
//!   through the big-integer reference. Each run is split over two threads with their own
//!   seeds, whatever the machine, so the inputs are the same everywhere.
//! * `random_mixed_lengths`: RSA-1024/1536/2048 in the 40-limb class and RSA-3072/4096 in the
//!   80-limb class, lanes of one batch mixing lengths, a tenth of the bulk count per size.
//! * `edge_inputs_and_moduli`: moduli of unusual shape (2^k − 1, 2^(k−1) + 1, top byte 1,
//!   sparse, long zero and one runs, low limb 1 or 2^52 − 1, alternating limbs, …) at every
//!   kernel size and at lengths off the kernel's list (the lanes take any length of their
//!   class), each with the edge inputs (0, 1, 2, n − 1 … n − 10, powers of two, all-ones
//!   values, limb patterns, n − 2^k) and inputs at or above n; every engine, aws-lc and the
//!   big-integer reference on every one.
//! * `refusals_and_batch_shapes`: inputs ≥ n, wrong lengths, lanes of the other size class,
//!   short and over-long slices, empty batches; refused lanes leave their output untouched.
//! * `lane_constants_refuse_other_keys`: `MontKey::new` leaves other exponents, even moduli
//!   and over-long moduli to the single-op path; `lane_constants_refuse_moduli_over_4096_bits`
//!   the 513..=519-byte moduli that once fitted the 80-limb class (and made `public_ops`
//!   panic: found by this test, fixed in `MontKey::new`).
//! * `verify_batch_gives_check_per_job`: real RSA keys (the `rsa` crate, e = 65537; 1024 to
//!   4096 bits), keys the lanes do not take (e = 3, a 1032-bit modulus, DER that does not
//!   parse) and a P-256 key; batches of 1 to all jobs of valid and invalid signatures
//!   through `Mb::verify_batch` with no lanes and with every engine, each outcome exactly
//!   `PublicKey::check`'s (and aws-lc's), and no disagreement counted.
//!
//! A CPU without IFMA is not a failure (CI machines differ): a loud note is printed and the
//! portable engine carries the bulk comparison against aws-lc on a twentieth of the count
//! (`TRUSTBENCH_MB_ASSUME_NO_IFMA=1` runs that plan on a machine with IFMA).
//! Debug builds (a plain `cargo test`) default to 10,000 bulk inputs with a note; the proof
//! is the release run: `cargo test --release --test mb_differential -- --nocapture`.

use num_bigint::BigUint;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Instant;
use trustbench::crypto::aws_lc::{self, AwsLc};
use trustbench::crypto::mb::{self, Lanes, Mb, MontKey, LANES, MAX_LEN};
use trustbench::crypto::{
    rsa_raw, Backend, Checked, CryptoProfile, Curve, Encoding, Job, KeySource, PkeyAlgo,
    PreparedKey, PublicKey, RsaComponents, SigAlgo, SignatureRecord, Signed,
};
use trustbench::hash::{hex, Digest, HashAlgo};
use trustbench::Errno;

// =============================================================================================
// configuration
// =============================================================================================

/// The count the proof requires per size for RSA-2048 and RSA-4096.
const REQUIRED: usize = 1_000_000;

/// The public exponent every modulus here gets (the only one the lanes compute).
const E65537: [u8; 3] = [0x01, 0x00, 0x01];

/// A count from the environment; a value that is not a count fails the test rather than
/// silently running some other number.
fn env_count(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Err(std::env::VarError::NotPresent) => default,
        Err(e) => panic!("{name}: {e}"),
        Ok(v) => v
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a count")),
    }
}

/// `TRUSTBENCH_MB_ASSUME_NO_IFMA=1` runs the test as on a CPU without IFMA, so that the
/// fallback plan can be exercised on a machine that has it.
fn assume_no_ifma() -> bool {
    std::env::var("TRUSTBENCH_MB_ASSUME_NO_IFMA").is_ok_and(|v| v == "1")
}

/// The fast engine this CPU has (IFMA), unless told to assume none.
fn fast_engine() -> Option<Lanes> {
    Lanes::detect().filter(|_| !assume_no_ifma())
}

/// Every engine to prove here: `Lanes::available()`, less IFMA when told to assume none.
fn engines() -> Vec<Lanes> {
    let mut v = Lanes::available();
    if assume_no_ifma() {
        v.retain(|&l| l != Lanes::Ifma);
    }
    v
}

/// How the comparison runs on this machine, decided once (and its notes printed once).
struct Plan {
    /// The engine that carries the bulk comparison against aws-lc.
    bulk: Lanes,
    /// Engines also run on sampled batches (the portable one, when the bulk is IFMA).
    sampled: Vec<Lanes>,
    /// Random inputs per size for RSA-2048 and RSA-4096.
    big: usize,
    /// Random inputs per size for the mixed-length run.
    small: usize,
    /// Every how many batches the big-integer reference and the sampled engines run.
    every: usize,
}

fn plan() -> &'static Plan {
    static PLAN: OnceLock<Plan> = OnceLock::new();
    PLAN.get_or_init(|| {
        let asked = std::env::var_os("TRUSTBENCH_MB_INPUTS").is_some();
        let default = if cfg!(debug_assertions) {
            10_000
        } else {
            REQUIRED
        };
        if cfg!(debug_assertions) && !asked {
            eprintln!(
                "mb-differential: NOTE: debug build: {default} bulk inputs per size instead of \
                 {REQUIRED}; the proof is `cargo test --release --test mb_differential`"
            );
        }
        let n = env_count("TRUSTBENCH_MB_INPUTS", default);
        let every = env_count("TRUSTBENCH_MB_SAMPLE", 100);
        assert!(
            n > 0 && every > 0,
            "TRUSTBENCH_MB_INPUTS and _SAMPLE must be positive"
        );
        let plan = match fast_engine() {
            Some(fast) => Plan {
                bulk: fast,
                sampled: vec![Lanes::Portable],
                big: n,
                small: (n / 10).max(1),
                every,
            },
            None => {
                eprintln!(
                    "mb-differential: ################################################\n\
                     mb-differential: NOTE: this CPU has no AVX-512 IFMA: the IFMA engine is\n\
                     mb-differential: NOT proved here. The portable engine carries the bulk\n\
                     mb-differential: comparison against aws-lc on a twentieth of the count.\n\
                     mb-differential: ################################################"
                );
                Plan {
                    bulk: Lanes::Portable,
                    sampled: Vec::new(),
                    big: (n / 20).max(1),
                    small: (n / 200).max(1),
                    every,
                }
            }
        };
        if plan.big < REQUIRED {
            eprintln!(
                "mb-differential: NOTE: {} bulk inputs per size, below the {REQUIRED} the proof \
                 requires",
                plan.big
            );
        }
        eprintln!(
            "mb-differential: engines on this machine: {:?}; bulk {}, sampled every {}th batch",
            engines().iter().map(|l| l.name()).collect::<Vec<_>>(),
            plan.bulk.name(),
            plan.every
        );
        plan
    })
}

// =============================================================================================
// seeded randomness
// =============================================================================================

#[path = "support/splitmix.rs"]
mod splitmix;
use splitmix::Rng;

// =============================================================================================
// keys under test
// =============================================================================================

/// DER length octets.
fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let b = len.to_be_bytes();
        let skip = b.iter().take_while(|&&x| x == 0).count();
        out.push(0x80 | (b.len() - skip) as u8);
        out.extend_from_slice(&b[skip..]);
    }
}

/// A DER INTEGER of the unsigned big-endian `v` (no leading zeros but the sign byte).
fn der_uint(v: &[u8], out: &mut Vec<u8>) {
    let v = &v[v.iter().take_while(|&&b| b == 0).count()..];
    let pad = v.first().is_none_or(|&b| b & 0x80 != 0);
    out.push(0x02);
    der_len(v.len() + usize::from(pad), out);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(v);
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`, as a
/// certificate's subjectPublicKey carries it.
fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    der_uint(n, &mut body);
    der_uint(e, &mut body);
    let mut der = vec![0x30];
    der_len(body.len(), &mut der);
    der.extend_from_slice(&body);
    der
}

/// A modulus with every handle the comparison needs: its lane constants, aws-lc's prepared
/// key (the single-op backend exactly as `mb` and the default backend make it) and its
/// components for the big-integer reference.
struct Subject {
    /// What kind of modulus, for failure messages.
    shape: &'static str,
    n: Vec<u8>,
    comps: RsaComponents,
    mont: MontKey,
    single: Box<dyn PreparedKey>,
    /// aws-lc itself parsed the key (otherwise its backend's handle is the big-integer
    /// path, and the comparison is counted as such, not as aws-lc's).
    by_aws_lc: bool,
}

impl Subject {
    fn new(shape: &'static str, n: Vec<u8>) -> Subject {
        assert!(
            n[0] != 0 && n[n.len() - 1] & 1 == 1,
            "{shape}: not an odd full-length n"
        );
        let der = rsa_public_key_der(&n, &E65537);
        let comps = RsaComponents::parse(&der).expect("RSAPublicKey parses");
        assert_eq!(&comps.n[..], &n[..], "{shape}: modulus round trip");
        let mont = MontKey::new(&comps)
            .unwrap_or_else(|| panic!("{shape}: MontKey refused an odd {}-byte n", n.len()));
        assert_eq!(mont.len(), n.len());
        let source = KeySource {
            algo: PkeyAlgo::Rsa,
            key: &der,
            cert: None,
        };
        let single = AwsLc
            .prepare(&source)
            .expect("aws-lc backend takes every RSA key");
        Subject {
            shape,
            by_aws_lc: aws_lc::parses_rsa(&der),
            n,
            comps,
            mont,
            single,
        }
    }

    fn len(&self) -> usize {
        self.n.len()
    }

    /// The name of the single-op reference this key gets.
    fn single_name(&self) -> &'static str {
        if self.by_aws_lc {
            "aws-lc"
        } else {
            "bignum (aws-lc refused the key)"
        }
    }
}

/// The unusual shapes a modulus is given; `random` (top bit set, all else random) is what
/// real keys look like.
const SHAPES: [&str; 14] = [
    "random",
    "2^k-1",
    "2^(k-1)+1",
    "top byte 1, minimal",
    "top byte 1, random",
    "sparse",
    "sparse at limb edges",
    "low limb 1",
    "low limb 2^52-1",
    "zero runs",
    "one runs",
    "high half ones",
    "alternating limbs",
    "random top byte",
];

/// Sets bit `k` (little-endian numbering) of big-endian `v`.
fn set_bit(v: &mut [u8], k: usize) {
    let len = v.len();
    v[len - 1 - k / 8] |= 1 << (k % 8);
}

fn clear_bit(v: &mut [u8], k: usize) {
    let len = v.len();
    v[len - 1 - k / 8] &= !(1 << (k % 8));
}

/// A modulus of `len` bytes of shape `SHAPES[shape]`: odd, top byte non-zero.
fn shaped(rng: &mut Rng, len: usize, shape: usize) -> Vec<u8> {
    let bits = 8 * len;
    let mut n = match SHAPES[shape] {
        "random" => {
            let mut n = rng.bytes(len);
            n[0] |= 0x80;
            n
        }
        "2^k-1" => vec![0xff; len],
        "2^(k-1)+1" => {
            let mut n = vec![0; len];
            n[0] = 0x80;
            n
        }
        "top byte 1, minimal" => {
            let mut n = vec![0; len];
            n[0] = 1;
            n
        }
        "top byte 1, random" => {
            let mut n = rng.bytes(len);
            n[0] = 1;
            n
        }
        "sparse" => {
            let mut n = vec![0; len];
            n[0] = 0x80;
            for _ in 0..1 + rng.below(6) {
                set_bit(&mut n, rng.below(bits));
            }
            n
        }
        "sparse at limb edges" => {
            let mut n = vec![0; len];
            n[0] = 0x80;
            for j in (52..bits).step_by(52) {
                if rng.below(3) == 0 {
                    set_bit(&mut n, j - 1);
                }
                if rng.below(3) == 0 {
                    set_bit(&mut n, j);
                }
            }
            n
        }
        "low limb 1" | "low limb 2^52-1" => {
            let mut n = rng.bytes(len);
            n[0] |= 0x80;
            let one = SHAPES[shape] == "low limb 1";
            for k in 0..52.min(bits - 1) {
                if one && k > 0 {
                    clear_bit(&mut n, k);
                } else {
                    set_bit(&mut n, k);
                }
            }
            n
        }
        "zero runs" | "one runs" => {
            let mut n = rng.bytes(len);
            let ones = SHAPES[shape] == "one runs";
            for _ in 0..1 + rng.below(4) {
                let start = rng.below(bits);
                let run = 52 + rng.below(300);
                for k in start..(start + run).min(bits) {
                    if ones {
                        set_bit(&mut n, k);
                    } else {
                        clear_bit(&mut n, k);
                    }
                }
            }
            n[0] |= 0x80;
            n
        }
        "high half ones" => {
            let mut n = vec![0; len];
            n[..len / 2].fill(0xff);
            n
        }
        "alternating limbs" => {
            let mut n = vec![0; len];
            for k in 0..bits {
                if (k / 52) % 2 == 0 {
                    set_bit(&mut n, k);
                }
            }
            n[0] |= 0x80;
            n
        }
        "random top byte" => {
            let mut n = rng.bytes(len);
            n[0] = 1 + rng.below(255) as u8;
            n
        }
        other => unreachable!("{other}"),
    };
    n[len - 1] |= 1;
    if n[0] == 0 {
        n[0] = 1;
    }
    n
}

// =============================================================================================
// one batch, every engine, every reference
// =============================================================================================

/// Comparison counts: (modulus bits, engine, reference) → lanes whose results were equal,
/// and (modulus bits, engine) → lanes refused where the references refused too.
#[derive(Default)]
struct Tally {
    equal: BTreeMap<(usize, &'static str, &'static str), u64>,
    refused: BTreeMap<(usize, &'static str), u64>,
}

impl Tally {
    fn add(&mut self, bits: usize, engine: &'static str, reference: &'static str) {
        *self.equal.entry((bits, engine, reference)).or_default() += 1;
    }

    fn get(&self, bits: usize, engine: &'static str, reference: &'static str) -> u64 {
        self.equal
            .get(&(bits, engine, reference))
            .copied()
            .unwrap_or(0)
    }

    fn merge(&mut self, other: Tally) {
        for (k, n) in other.equal {
            *self.equal.entry(k).or_default() += n;
        }
        for (k, n) in other.refused {
            *self.refused.entry(k).or_default() += n;
        }
    }

    fn print(&self, test: &str, secs: f64) {
        for ((bits, engine, reference), n) in &self.equal {
            println!("mb-differential: {test}: RSA-{bits}: {engine} = {reference}: {n} inputs");
        }
        for ((bits, engine), n) in &self.refused {
            println!(
                "mb-differential: {test}: RSA-{bits}: {engine} refused {n} inputs (>= n or not n's length)"
            );
        }
        println!("mb-differential: {test}: {secs:.1} s");
    }
}

/// Filler in output buffers: a refused lane must leave it, and a computed lane must not
/// write past its modulus length.
const SENTINEL: u8 = 0xa5;

/// What a lane must give: the single-op backend's result (`None`: refused), and the
/// big-integer reference's when the lane is sampled.
struct Want {
    single: Option<[u8; MAX_LEN]>,
    bignum: Option<Option<[u8; MAX_LEN]>>,
}

/// Whether big-endian `s` is a representative the lanes must compute: the modulus length
/// and below it (equal-length big-endian strings compare as numbers).
fn below(s: &[u8], n: &[u8]) -> bool {
    s.len() == n.len() && s < n
}

fn lane_context(sub: &Subject, s: &[u8]) -> String {
    format!(
        "modulus ({}, {} bytes) n = {}\ninput s = {}",
        sub.shape,
        sub.len(),
        hex(&sub.n),
        hex(s)
    )
}

/// The references for one lane; they must agree with each other and with `below`.
fn want(sub: &Subject, s: &[u8], bignum: bool, t: &mut Tally) -> Want {
    let len = sub.len();
    let inside = below(s, &sub.n);
    let mut single = [0u8; MAX_LEN];
    let single = if s.len() == len {
        sub.single
            .rsa_public(s, &mut single[..len])
            .map(|()| single)
    } else {
        None
    };
    assert_eq!(
        single.is_some(),
        inside,
        "single-op backend computed an input the lanes must refuse, or refused one below n\n{}",
        lane_context(sub, s)
    );
    let bignum = bignum.then(|| {
        let mut b = [0u8; MAX_LEN];
        let r = if s.len() == len {
            rsa_raw::public_op(&sub.comps, s, &mut b[..len]).map(|()| b)
        } else {
            None
        };
        match (&r, &single) {
            (Some(b), Some(a)) => {
                assert!(
                    b[..len] == a[..len],
                    "aws-lc and bignum differ\n{}\naws-lc {}\nbignum {}",
                    lane_context(sub, s),
                    hex(&a[..len]),
                    hex(&b[..len])
                );
                if sub.by_aws_lc {
                    t.add(len * 8, "aws-lc", "bignum");
                }
            }
            (None, None) => {}
            _ => panic!(
                "aws-lc and bignum disagree on refusing\n{}",
                lane_context(sub, s)
            ),
        }
        r
    });
    Want { single, bignum }
}

/// Runs one batch on `engine` and checks every lane against what it must give.
fn check_engine(engine: Lanes, subs: &[&Subject], sigs: &[&[u8]], wants: &[Want], t: &mut Tally) {
    let keys: Vec<&MontKey> = subs.iter().map(|s| &s.mont).collect();
    let mut outs = [[SENTINEL; MAX_LEN]; LANES];
    let done = engine.public_ops(&keys, sigs, &mut outs[..subs.len()]);
    for (l, &d) in done.iter().enumerate().skip(subs.len()) {
        assert!(
            !d,
            "{}: lane {l} beyond the batch reported done",
            engine.name()
        );
    }
    for (l, (sub, w)) in subs.iter().zip(wants).enumerate() {
        let len = sub.len();
        let ctx = || {
            format!(
                "engine {}, lane {l} of {}\n{}",
                engine.name(),
                subs.len(),
                lane_context(sub, sigs[l])
            )
        };
        let tail_untouched = outs[l][len..].iter().all(|&b| b == SENTINEL);
        assert!(tail_untouched, "wrote past the modulus length\n{}", ctx());
        match &w.single {
            Some(want) => {
                assert!(done[l], "refused an input below n\n{}", ctx());
                assert!(
                    outs[l][..len] == want[..len],
                    "differs from {}\n{}\ngot  {}\nwant {}",
                    sub.single_name(),
                    ctx(),
                    hex(&outs[l][..len]),
                    hex(&want[..len])
                );
                t.add(len * 8, engine.name(), sub.single_name());
            }
            None => {
                assert!(
                    !done[l],
                    "computed an input the lanes must refuse\n{}",
                    ctx()
                );
                let untouched = outs[l].iter().all(|&b| b == SENTINEL);
                assert!(untouched, "a refused lane wrote its output\n{}", ctx());
                *t.refused.entry((len * 8, engine.name())).or_default() += 1;
            }
        }
        if let Some(b) = &w.bignum {
            assert_eq!(
                b.is_some(),
                done[l],
                "refusal differs from bignum\n{}",
                ctx()
            );
            if let Some(b) = b {
                assert!(
                    outs[l][..len] == b[..len],
                    "differs from bignum\n{}\ngot  {}\nwant {}",
                    ctx(),
                    hex(&outs[l][..len]),
                    hex(&b[..len])
                );
                t.add(len * 8, engine.name(), "bignum");
            }
        }
    }
}

/// One batch: references, then the given engines.
fn check_batch(engines: &[Lanes], subs: &[&Subject], sigs: &[&[u8]], bignum: bool, t: &mut Tally) {
    let wants: Vec<Want> = subs
        .iter()
        .zip(sigs)
        .map(|(sub, s)| want(sub, s, bignum, t))
        .collect();
    for &e in engines {
        check_engine(e, subs, sigs, &wants, t);
    }
}

// =============================================================================================
// random inputs
// =============================================================================================

/// A random input below `n` (the top byte drawn at most n's, then rejection: at least
/// half are accepted whatever the modulus).
fn random_below(rng: &mut Rng, n: &[u8]) -> Vec<u8> {
    loop {
        let mut s = rng.bytes(n.len());
        s[0] = (rng.next() % (u64::from(n[0]) + 1)) as u8;
        if below(&s, n) {
            return s;
        }
    }
}

/// A random input at or above `n`, same length: n itself, or n with random bits set (which
/// can only make it larger).
fn random_at_or_above(rng: &mut Rng, n: &[u8]) -> Vec<u8> {
    if rng.below(4) == 0 {
        return n.to_vec();
    }
    let mut s = rng.bytes(n.len());
    for (a, b) in s.iter_mut().zip(n) {
        *a |= b;
    }
    s
}

/// Moduli in a random run's pool; one is replaced every few batches.
const POOL: usize = 64;
/// Batches between pool renewals: about `inputs / 8 / REFRESH` moduli per run.
const REFRESH: usize = 4;

/// A fresh modulus for a random run: seven in eight random with the top bit set, the rest of
/// a random unusual shape.
fn fresh(rng: &mut Rng, len: usize) -> Subject {
    let shape = if rng.below(8) == 0 {
        rng.below(SHAPES.len())
    } else {
        0
    };
    let s = Subject::new(SHAPES[shape], shaped(rng, len, shape));
    // Real keys' shape must be aws-lc's: the comparison this run exists for.
    assert!(
        s.by_aws_lc || shape != 0,
        "aws-lc refused a random {len}-byte modulus"
    );
    s
}

/// Threads each comparison runs on: the two cores of the machine the counts were taken on
/// (whatever the machine, so that the inputs are the same everywhere).
const WORKERS: u64 = 2;

/// Runs `work(worker)` on [`WORKERS`] threads and returns what each gave; a worker's panic
/// (its message already printed) fails the test.
fn on_workers<F, R>(work: F) -> Vec<R>
where
    F: Fn(u64) -> R + Sync,
    R: Send,
{
    std::thread::scope(|sc| {
        let handles: Vec<_> = (0..WORKERS)
            .map(|w| {
                let work = &work;
                sc.spawn(move || work(w))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Random batches over moduli of `lens` (one size class) until the bulk engine has matched
/// aws-lc on `per_len` inputs of every length, split over [`WORKERS`] threads (each its own
/// seed and pool of moduli).
fn random_run(test: &str, lens: &[usize], per_len: usize, seed: u64) {
    let plan = plan();
    let started = Instant::now();
    let share = per_len.div_ceil(WORKERS as usize) as u64;
    let engines_all: Vec<Lanes> = std::iter::once(plan.bulk)
        .chain(plan.sampled.iter().copied())
        .collect();
    let mut t = Tally::default();
    let (mut batches, mut moduli) = (0u64, 0u64);
    let results = on_workers(|w| {
        let mut rng = Rng(seed ^ (w << 56));
        let mut pool: Vec<Subject> = (0..POOL)
            .map(|i| fresh(&mut rng, lens[i % lens.len()]))
            .collect();
        let mut t = Tally::default();
        let mut moduli = POOL as u64;
        let mut batches = 0u64;
        while lens
            .iter()
            .any(|&l| t.get(l * 8, plan.bulk.name(), "aws-lc") < share)
        {
            if batches.is_multiple_of(REFRESH as u64) {
                let i = rng.below(POOL);
                let len = lens[rng.below(lens.len())];
                pool[i] = fresh(&mut rng, len);
                moduli += 1;
            }
            let size = if rng.below(16) == 0 {
                1 + rng.below(LANES - 1)
            } else {
                LANES
            };
            let subs: Vec<&Subject> = (0..size).map(|_| &pool[rng.below(POOL)]).collect();
            let inputs: Vec<Vec<u8>> = subs
                .iter()
                .map(|s| {
                    if rng.below(64) == 0 {
                        random_at_or_above(&mut rng, &s.n)
                    } else {
                        random_below(&mut rng, &s.n)
                    }
                })
                .collect();
            let sigs: Vec<&[u8]> = inputs.iter().map(|v| &v[..]).collect();
            let sampled = batches.is_multiple_of(plan.every as u64);
            let engines = if sampled {
                &engines_all[..]
            } else {
                &engines_all[..1]
            };
            check_batch(engines, &subs, &sigs, sampled, &mut t);
            batches += 1;
        }
        (t, batches, moduli)
    });
    for (w, b, m) in results {
        t.merge(w);
        batches += b;
        moduli += m;
    }
    println!("mb-differential: {test}: {batches} batches over {moduli} moduli, {WORKERS} threads");
    t.print(test, started.elapsed().as_secs_f64());
    for &l in lens {
        assert!(t.get(l * 8, plan.bulk.name(), "aws-lc") >= per_len as u64);
        for e in &engines_all {
            assert!(
                t.get(l * 8, e.name(), "bignum") > 0,
                "no sampled {l}-byte input"
            );
        }
    }
}

#[test]
fn random_rsa2048() {
    random_run("random_rsa2048", &[256], plan().big, 0x2048_2048_0001);
}

#[test]
fn random_rsa4096() {
    random_run("random_rsa4096", &[512], plan().big, 0x4096_4096_0001);
}

#[test]
fn random_mixed_lengths() {
    let n = plan().small;
    random_run(
        "random_mixed_lengths/40-limb",
        &[128, 192, 256],
        n,
        0x40_0001,
    );
    random_run("random_mixed_lengths/80-limb", &[384, 512], n, 0x80_0001);
}

// =============================================================================================
// edge inputs and unusual moduli
// =============================================================================================

/// `v` as exactly `len` big-endian bytes, or `None` when it does not fit.
fn fixed(v: &BigUint, len: usize) -> Option<Vec<u8>> {
    let b = v.to_bytes_be();
    let b = if b == [0] { Vec::new() } else { b };
    (b.len() <= len).then(|| {
        let mut out = vec![0u8; len - b.len()];
        out.extend_from_slice(&b);
        out
    })
}

/// The edge inputs of `n`: below it (0, 1, 2, 3, n − 1 … n − 10, powers of two, all-ones
/// values, limb patterns, n − 2^k, halves, byte patterns) and at or above it (n, n + 1,
/// n + 2, n + 2^k, all-ones bytes). `sweep`: every power of two and all-ones value below
/// n; otherwise those at the edges of the 52-bit limbs and of the top (where a carry or a
/// reduction step would go wrong first; the big-integer reference and the portable engine
/// run on every edge input, so a full sweep on every modulus would take many minutes).
fn edge_inputs(n: &[u8], sweep: bool, rng: &mut Rng) -> Vec<Vec<u8>> {
    let len = n.len();
    let big_n = BigUint::from_bytes_be(n);
    let bits = big_n.bits() as usize;
    let one = BigUint::from(1u8);
    let mut vals: Vec<BigUint> = Vec::new();
    for k in 0..=3u8 {
        vals.push(BigUint::from(k));
    }
    for d in 1..=10u8 {
        if big_n >= BigUint::from(d) {
            vals.push(&big_n - d);
        }
    }
    let edge = |k: usize| k.is_multiple_of(52) || k % 52 == 51 || k + 2 >= bits;
    for k in 0..=bits {
        if !(sweep || edge(k)) {
            continue;
        }
        let p = &one << k;
        vals.push(&p - 1u8);
        if k < bits {
            vals.push(p.clone());
        }
        if k.is_multiple_of(52) || k + 2 >= bits {
            if k < bits {
                vals.push(&big_n - &p);
            }
            vals.push(&p + 1u8);
            // Above n.
            vals.push(&big_n + &p);
        }
    }
    // A limb of all ones, alone, at every limb position.
    let mask = (&one << 52usize) - 1u8;
    for j in 0..=bits / 52 {
        vals.push(&mask << (52 * j));
    }
    vals.push(&big_n >> 1usize);
    vals.push((&big_n + 1u8) >> 1usize);
    vals.push(&big_n + 1u8);
    vals.push(&big_n + 2u8);
    vals.push(big_n.clone());
    let mut out: Vec<Vec<u8>> = vals.iter().filter_map(|v| fixed(v, len)).collect();
    for pattern in [0x55u8, 0xaa, 0xff, 0x80, 0x01] {
        out.push(vec![pattern; len]);
    }
    let mut top_zero = vec![0xff; len];
    top_zero[0] = 0;
    out.push(top_zero);
    for _ in 0..4 {
        out.push(random_below(rng, n));
        out.push(random_at_or_above(rng, n));
    }
    out.sort();
    out.dedup();
    out
}

/// Shuffles in place (Fisher–Yates), so that one batch mixes moduli and kinds of input.
fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i + 1));
    }
}

#[test]
fn edge_inputs_and_moduli() {
    let started = Instant::now();
    let engines = engines();
    let mut rng = Rng(0xed6e_0001);
    let mut t = Tally::default();
    // The kernel's sizes, and lengths off its list at the edges of the size classes (the
    // lanes take any length of their class: 259 bytes is the largest of the 40-limb class,
    // 260 the smallest of the 80-limb one).
    let kernel = [64usize, 128, 192, 256, 384, 512];
    let other = [2usize, 3, 8, 65, 259, 260];
    let mut moduli = 0;
    for class in [40usize, 80] {
        let mut subjects: Vec<Subject> = Vec::new();
        let mut sweeps: Vec<bool> = Vec::new();
        for &len in kernel.iter().chain(&other) {
            if mb::key::limbs_for(len) != Some(class) {
                continue;
            }
            for (shape, name) in SHAPES.iter().enumerate() {
                subjects.push(Subject::new(name, shaped(&mut rng, len, shape)));
                // The full power-of-two and all-ones sweep on a real-looking modulus of
                // each of the kernel's sizes.
                sweeps.push(kernel.contains(&len) && shape == 0);
            }
        }
        moduli += subjects.len();
        let mut lanes: Vec<(usize, Vec<u8>)> = Vec::new();
        for (i, sub) in subjects.iter().enumerate() {
            for s in edge_inputs(&sub.n, sweeps[i], &mut rng) {
                lanes.push((i, s));
            }
        }
        // Wrong lengths: one byte short, one byte long.
        for (i, sub) in subjects.iter().enumerate() {
            lanes.push((i, vec![1; sub.len() - 1]));
            if sub.len() < MAX_LEN {
                lanes.push((i, vec![1; sub.len() + 1]));
            }
        }
        shuffle(&mut lanes, &mut rng);
        // Mostly full batches, one in eight of another size.
        let mut batches: Vec<&[(usize, Vec<u8>)]> = Vec::new();
        let mut rest = &lanes[..];
        while !rest.is_empty() {
            let size = if rng.below(8) == 0 {
                1 + rng.below(LANES - 1)
            } else {
                LANES
            };
            let (batch, tail) = rest.split_at(size.min(rest.len()));
            batches.push(batch);
            rest = tail;
        }
        for w in on_workers(|w| {
            let mut t = Tally::default();
            for batch in batches.iter().skip(w as usize).step_by(WORKERS as usize) {
                let subs: Vec<&Subject> = batch.iter().map(|(i, _)| &subjects[*i]).collect();
                let sigs: Vec<&[u8]> = batch.iter().map(|(_, s)| &s[..]).collect();
                check_batch(&engines, &subs, &sigs, true, &mut t);
            }
            t
        }) {
            t.merge(w);
        }
        // The 259-byte all-ones modulus is the largest of the 40-limb class; it must have
        // been checked (the bound 4n ≤ R is tightest there).
        assert!(
            subjects
                .iter()
                .any(|s| s.len() == 259 && s.n.iter().all(|&b| b == 0xff))
                || class != 40
        );
    }
    println!(
        "mb-differential: edge_inputs_and_moduli: {moduli} moduli ({} shapes × {} lengths)",
        SHAPES.len(),
        kernel.len() + other.len()
    );
    t.print("edge_inputs_and_moduli", started.elapsed().as_secs_f64());
    for bits in [512usize, 1024, 1536, 2048, 3072, 4096] {
        for e in &engines {
            assert!(t.get(bits, e.name(), "bignum") > 0);
            assert!(t.refused.get(&(bits, e.name())).copied().unwrap_or(0) > 0);
        }
    }
}

// =============================================================================================
// refusals and batch shapes
// =============================================================================================

#[test]
fn refusals_and_batch_shapes() {
    let started = Instant::now();
    let mut rng = Rng(0x4ef0_5a15);
    let mut t = Tally::default();
    let small: Vec<Subject> = [128, 256, 256, 192]
        .iter()
        .map(|&l| Subject::new("random", shaped(&mut rng, l, 0)))
        .collect();
    let large: Vec<Subject> = [384, 512, 512]
        .iter()
        .map(|&l| Subject::new("random", shaped(&mut rng, l, 0)))
        .collect();
    for engine in engines() {
        // Every lane refused: nothing computed, nothing written.
        for subs in [&small, &large] {
            let refs: Vec<&Subject> = subs.iter().cycle().take(LANES).collect();
            let inputs: Vec<Vec<u8>> = refs
                .iter()
                .map(|s| random_at_or_above(&mut rng, &s.n))
                .collect();
            let sigs: Vec<&[u8]> = inputs.iter().map(|v| &v[..]).collect();
            check_batch(&[engine], &refs, &sigs, true, &mut t);
        }
        // A batch's size class is its first key's: lanes of the other class are refused,
        // the rest computed.
        for (first, other) in [(&small, &large), (&large, &small)] {
            let mut refs: Vec<&Subject> = vec![&first[0]];
            for i in 1..LANES {
                refs.push(if i % 2 == 0 {
                    &first[i % first.len()]
                } else {
                    &other[i % other.len()]
                });
            }
            let keys: Vec<&MontKey> = refs.iter().map(|s| &s.mont).collect();
            let inputs: Vec<Vec<u8>> = refs.iter().map(|s| random_below(&mut rng, &s.n)).collect();
            let sigs: Vec<&[u8]> = inputs.iter().map(|v| &v[..]).collect();
            let mut outs = [[SENTINEL; MAX_LEN]; LANES];
            let done = engine.public_ops(&keys, &sigs, &mut outs);
            for l in 0..LANES {
                let same = refs[l].mont.limbs() == refs[0].mont.limbs();
                assert_eq!(done[l], same, "{}: lane {l} class", engine.name());
                let len = refs[l].len();
                if same {
                    let mut want = vec![0u8; len];
                    rsa_raw::public_op(&refs[l].comps, sigs[l], &mut want).unwrap();
                    assert_eq!(&outs[l][..len], &want[..], "{}: lane {l}", engine.name());
                } else {
                    assert!(outs[l].iter().all(|&b| b == SENTINEL));
                }
            }
        }
        // Slices of different lengths: only the shortest count's lanes are computed; more
        // than eight: only the first eight.
        let refs: Vec<&Subject> = small.iter().cycle().take(10).collect();
        let keys: Vec<&MontKey> = refs.iter().map(|s| &s.mont).collect();
        let inputs: Vec<Vec<u8>> = refs.iter().map(|s| random_below(&mut rng, &s.n)).collect();
        let sigs: Vec<&[u8]> = inputs.iter().map(|v| &v[..]).collect();
        let mut outs = [[SENTINEL; MAX_LEN]; 10];
        for (k, s, o) in [(10, 3, 10), (2, 10, 10), (10, 10, 5), (10, 10, 10)] {
            let done = engine.public_ops(&keys[..k], &sigs[..s], &mut outs[..o]);
            let n = k.min(s).min(o).min(LANES);
            for (l, &d) in done.iter().enumerate() {
                assert_eq!(d, l < n, "{}: ({k}, {s}, {o}) lane {l}", engine.name());
            }
        }
        assert_eq!(engine.public_ops(&[], &[], &mut []), [false; LANES]);
        assert_eq!(
            engine.public_ops(&keys[..1], &[], &mut outs[..1]),
            [false; LANES]
        );
    }
    t.print("refusals_and_batch_shapes", started.elapsed().as_secs_f64());
}

/// Keys the lanes do not take are refused by `MontKey::new` (they stay on the single-op
/// path): another exponent, an even modulus, fewer than two bytes, more than the 80-limb
/// class holds.
#[test]
fn lane_constants_refuse_other_keys() {
    let comps = |n: Vec<u8>, e: &[u8]| RsaComponents {
        n: n.into(),
        e: e.into(),
    };
    let odd = |len: usize| {
        let mut n = vec![0x80; len];
        n[len - 1] = 1;
        n
    };
    assert!(MontKey::new(&comps(odd(256), &[3])).is_none());
    assert!(MontKey::new(&comps(odd(256), &[0x01, 0x00, 0x00, 0x01])).is_none());
    assert!(MontKey::new(&comps(odd(256), &[0x00, 0x01, 0x00, 0x01])).is_none());
    let mut even = odd(256);
    even[255] = 2;
    assert!(MontKey::new(&comps(even, &E65537)).is_none());
    assert!(MontKey::new(&comps(vec![3], &E65537)).is_none());
    assert!(MontKey::new(&comps(Vec::new(), &E65537)).is_none());
    for len in [520usize, 600, 1024] {
        assert!(MontKey::new(&comps(odd(len), &E65537)).is_none(), "{len}");
    }
    assert!(MontKey::new(&comps(odd(512), &E65537)).is_some());
}

/// `MontKey::new` refuses every modulus longer than 4096 bits: `public_ops` writes into
/// `MAX_LEN`-byte buffers, and 513..=519-byte moduli, which fit the 80-limb class's bound,
/// once got constants and made it panic (found by this test).
#[test]
fn lane_constants_refuse_moduli_over_4096_bits() {
    for len in 513..520usize {
        let mut n = vec![0x80; len];
        n[len - 1] = 1;
        let c = RsaComponents {
            n: n.into(),
            e: E65537.into(),
        };
        assert!(
            MontKey::new(&c).is_none(),
            "{len}-byte modulus got lane constants"
        );
    }
}

// =============================================================================================
// the Mb backend's verify_batch against PublicKey::check
// =============================================================================================

/// DigestInfo headers (RFC 8017 §9.2, note 1), written out here rather than taken from the
/// code under test, so that a wrong prefix table there could not agree with itself.
const SHA256_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
const SHA384_INFO: [u8; 19] = [
    0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
    0x00, 0x04, 0x30,
];

/// Signs a digest (PKCS#1 v1.5 or ECDSA, by the signer's kind).
type Sign = dyn Fn(&Digest) -> Vec<u8>;

/// A signing key and what verification is given of it.
struct Signer {
    label: String,
    /// The subjectPublicKey contents.
    public: Vec<u8>,
    algo: PkeyAlgo,
    /// The modulus, for RSA keys.
    n: Vec<u8>,
    sign: Box<Sign>,
}

fn rsa_signer(bits: usize, seed: u64) -> Signer {
    use rsa::traits::PublicKeyParts;
    let label = format!("rsa{bits}-{seed}");
    let mut r = trustbench::corpus::keys::rng(seed, &label);
    let key = rsa::RsaPrivateKey::new(&mut r, bits).expect("RSA keygen");
    assert_eq!(key.e().to_bytes_be(), E65537);
    let n = key.n().to_bytes_be();
    let public = rsa_public_key_der(&n, &E65537);
    let sign = Box::new(move |d: &Digest| {
        let prefix: &[u8] = match d.algo() {
            HashAlgo::Sha256 => &SHA256_INFO,
            HashAlgo::Sha384 => &SHA384_INFO,
            h => panic!("no DigestInfo here for {h}"),
        };
        let scheme = rsa::Pkcs1v15Sign {
            hash_len: Some(d.as_bytes().len()),
            prefix: prefix.into(),
        };
        key.sign(scheme, d.as_bytes()).expect("RSA signing")
    });
    Signer {
        label,
        public,
        algo: PkeyAlgo::Rsa,
        n,
        sign,
    }
}

fn p256_signer(seed: u64) -> Signer {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use p256::pkcs8::DecodePrivateKey;
    use trustbench::corpus::keys::{generate_pkcs8, KeyAlgo};
    use trustbench::corpus::sign::SigningKey;
    let label = format!("p256-{seed}");
    let pkcs8 = generate_pkcs8(KeyAlgo::P256, seed, &label).expect("P-256 keygen");
    let secret = p256::SecretKey::from_pkcs8_der(&pkcs8).expect("P-256 PKCS#8");
    let public = secret
        .public_key()
        .to_encoded_point(false)
        .as_bytes()
        .to_vec();
    let key = SigningKey::from_pkcs8(&label, &pkcs8, KeyAlgo::P256).expect("P-256 key");
    Signer {
        label,
        public,
        algo: PkeyAlgo::Ecdsa(Curve::P256),
        n: Vec::new(),
        sign: Box::new(move |d: &Digest| key.sign_digest(d).expect("ECDSA signing")),
    }
}

/// One job's parts, owned; `kind` names it in failure messages.
struct Case {
    kind: &'static str,
    signer: usize,
    algo: SigAlgo,
    encoding: Encoding,
    digest: Digest,
    signature: Vec<u8>,
}

fn digest(rng: &mut Rng, h: HashAlgo) -> Digest {
    Digest::new(h, &rng.bytes(h.digest_len())).expect("digest length")
}

/// Valid and invalid signatures of every kind for `signers` (the RSA ones first).
fn cases(signers: &[Signer], rng: &mut Rng) -> Vec<Case> {
    let mut out = Vec::new();
    for (i, s) in signers.iter().enumerate() {
        let d = digest(rng, HashAlgo::Sha256);
        let good = (s.sign)(&d);
        let case = |kind, digest: &Digest, signature: Vec<u8>| Case {
            kind,
            signer: i,
            algo: if s.algo == PkeyAlgo::Rsa {
                SigAlgo::Rsa
            } else {
                SigAlgo::Ecdsa
            },
            encoding: if s.algo == PkeyAlgo::Rsa {
                Encoding::Pkcs1
            } else {
                Encoding::X962
            },
            digest: *digest,
            signature,
        };
        out.push(case("valid", &d, good.clone()));
        out.push(case("valid again", &d, good.clone()));
        let d384 = digest(rng, HashAlgo::Sha384);
        out.push(case("valid sha384", &d384, (s.sign)(&d384)));
        out.push(case(
            "other digest",
            &digest(rng, HashAlgo::Sha256),
            good.clone(),
        ));
        let mut flipped = good.clone();
        let at = rng.below(flipped.len());
        flipped[at] ^= 1 << rng.below(8);
        out.push(case("bit flipped", &d, flipped));
        // Same digest bytes under another hash of the same length: the DigestInfo differs.
        let as512 = Digest::new(HashAlgo::Sha512, &rng.bytes(64)).unwrap();
        out.push(case("other hash", &as512, good.clone()));
        out.push(case("truncated", &d, good[1..].to_vec()));
        if s.algo != PkeyAlgo::Rsa {
            continue;
        }
        let len = s.n.len();
        let big_n = BigUint::from_bytes_be(&s.n);
        for (kind, v) in [
            ("zero", BigUint::from(0u8)),
            ("one", BigUint::from(1u8)),
            ("two", BigUint::from(2u8)),
            ("n-1", &big_n - 1u8),
            ("n-2", &big_n - 2u8),
            ("n", big_n.clone()),
            ("n+1", &big_n + 1u8),
        ] {
            if let Some(sig) = fixed(&v, len) {
                out.push(case(kind, &d, sig));
            }
        }
        out.push(case("random below n", &d, random_below(rng, &s.n)));
        out.push(case("random above n", &d, random_at_or_above(rng, &s.n)));
        // Another key's valid signature of the same length.
        if let Some(j) = signers.iter().position(|o| o.n.len() == len && o.n != s.n) {
            out.push(Case {
                kind: "other key's signature",
                ..case("", &d, (signers[j].sign)(&d))
            });
        }
    }
    out
}

/// The keys of `signers` prepared by `backend`, plus keys the lanes do not take: the first
/// RSA modulus with e = 3, a 1032-bit modulus the kernel refuses, and DER that does not
/// parse. Returns them with the signer index each job of theirs borrows its signatures from.
fn public_keys(
    signers: &[Signer],
    backend: &dyn Backend,
    rng: &mut Rng,
) -> Vec<(PublicKey, usize)> {
    let mut keys: Vec<(PublicKey, usize)> = signers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let src = KeySource {
                algo: s.algo,
                key: &s.public,
                cert: None,
            };
            (PublicKey::new(&src, backend), i)
        })
        .collect();
    let e3 = rsa_public_key_der(&signers[0].n, &[3]);
    let mut odd1032 = rng.bytes(129);
    odd1032[0] |= 0x80;
    odd1032[128] |= 1;
    let k1032 = rsa_public_key_der(&odd1032, &E65537);
    let garbage = vec![0x30, 0x03, 0x02, 0x01];
    for der in [e3, k1032, garbage] {
        let src = KeySource {
            algo: PkeyAlgo::Rsa,
            key: &der,
            cert: None,
        };
        keys.push((PublicKey::new(&src, backend), 0));
    }
    keys
}

#[test]
fn verify_batch_gives_check_per_job() {
    let started = Instant::now();
    let mut rng = Rng(0xba7c_0001);
    let mut signers: Vec<Signer> = [1024usize, 1536, 2048, 2048, 3072, 4096]
        .iter()
        .enumerate()
        .map(|(i, &bits)| rsa_signer(bits, 90 + i as u64))
        .collect();
    signers.push(p256_signer(99));
    let all_cases = cases(&signers, &mut rng);
    let profile = CryptoProfile::full();
    let reference_keys = public_keys(&signers, &AwsLc, &mut Rng(7));
    let mut engines: Vec<Option<Lanes>> = vec![None];
    engines.extend(self::engines().into_iter().map(Some));
    assert_eq!(mb::disagreements(), 0);
    let mut compared = 0u64;
    for lanes in engines {
        let backend = Mb::with_lanes(lanes);
        let keys = public_keys(&signers, &backend, &mut Rng(7));
        // Lane constants exist exactly for the RSA keys the lanes take.
        for (k, _) in &keys {
            let want = lanes.is_some()
                && k.rsa_components()
                    .is_some_and(|c| MontKey::new(c).is_some());
            assert_eq!(k.prepared().and_then(|p| p.mont()).is_some(), want, "{k:?}");
        }
        // Every case against its own key, and the RSA ones against every key too (the
        // size, exponent and parse checks, and other moduli).
        let mut jobs_spec: Vec<(usize, usize)> = Vec::new();
        for (ci, c) in all_cases.iter().enumerate() {
            for (ki, (_, si)) in keys.iter().enumerate() {
                if ki == c.signer || (ki >= signers.len() && *si == 0 && c.signer == 0) {
                    jobs_spec.push((ki, ci));
                }
            }
            if c.algo == SigAlgo::Rsa && rng.below(3) == 0 {
                jobs_spec.push((rng.below(keys.len()), ci));
            }
        }
        for round in 0..6 {
            shuffle(&mut jobs_spec, &mut rng);
            let record = |ci: usize| {
                let c = &all_cases[ci];
                SignatureRecord {
                    algo: Some(c.algo),
                    encoding: c.encoding,
                    signed: Signed::Digest(c.digest),
                    signature: &c.signature,
                    message: None,
                }
            };
            let mut at = 0;
            let sizes = [1usize, 2, 3, 7, 8, 9, 16, 17, 40, usize::MAX];
            while at < jobs_spec.len() {
                let size = sizes[(round + at) % sizes.len()].min(jobs_spec.len() - at);
                let spec = &jobs_spec[at..at + size];
                let mut jobs: Vec<Job<'_>> = spec
                    .iter()
                    .map(|&(ki, ci)| Job::new(&keys[ki].0, record(ci), &profile))
                    .collect();
                backend.verify_batch(&mut jobs);
                for (j, &(ki, ci)) in jobs.iter().zip(spec) {
                    let c = &all_cases[ci];
                    let rec = record(ci);
                    let want: Checked = keys[ki].0.check(&rec, &profile);
                    let reference: Checked = reference_keys[ki].0.check(&rec, &profile);
                    let what = || {
                        format!(
                            "{}: {} ({}) on key {ki} {:?} in a batch of {size}",
                            backend.library(),
                            c.kind,
                            signers[c.signer].label,
                            keys[ki].0
                        )
                    };
                    assert_eq!(j.outcome, Some(want), "verify_batch ≠ check: {}", what());
                    assert_eq!(want, reference, "mb check ≠ aws-lc check: {}", what());
                    if ki == c.signer && c.kind.starts_with("valid") {
                        assert_eq!(want, Ok(Ok(())), "{}", what());
                    }
                    compared += 1;
                }
                at += size;
            }
        }
    }
    assert_eq!(mb::disagreements(), 0, "lanes and aws-lc disagreed");
    // The cases must reach every outcome the batch can give, or the comparison is weaker
    // than it looks.
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for c in &all_cases {
        for (k, si) in &reference_keys {
            if *si == c.signer {
                let rec = SignatureRecord {
                    algo: Some(c.algo),
                    encoding: c.encoding,
                    signed: Signed::Digest(c.digest),
                    signature: &c.signature,
                    message: None,
                };
                *seen
                    .entry(format!("{:?}", k.check(&rec, &profile)))
                    .or_default() += 1;
            }
        }
    }
    for want in [
        Ok(Ok(())),
        Ok(Err(Errno::EINVAL)),
        Ok(Err(Errno::EBADMSG)),
        Ok(Err(Errno::EKEYREJECTED)),
    ] {
        let w: Checked = want;
        assert!(
            seen.contains_key(&format!("{w:?}")),
            "no case gave {w:?}: {seen:?}"
        );
    }
    println!(
        "mb-differential: verify_batch_gives_check_per_job: {compared} jobs compared \
         ({} cases; outcomes {seen:?}); {:.1} s",
        all_cases.len(),
        started.elapsed().as_secs_f64()
    );
}
