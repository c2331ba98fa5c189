//! ML-DSA (FIPS 204): the kernel's checks on a signature's encoding, before the arithmetic.
//!
//! Linux 7.0's `mldsa_verify` (lib/crypto/mldsa.c) answers in two ways when a signature
//! fails: `EBADMSG` when the bytes are not a well-formed signature at all (wrong length, a
//! response coefficient out of range, a malformed hint), `EKEYREJECTED` when they are
//! well-formed but the recomputed commitment hash differs. Callers such as keyring
//! restrictions and X.509 self-signature checks pass that errno on unchanged, so the split is
//! part of the kernel's observable behaviour. Backends (aws-lc above all) answer every
//! failure with one opaque error, so the malformed half is decided here, once, for every
//! backend: [`check_signature`] runs FIPS 204 sigDecode (Algorithm 27) with its hint decoder
//! HintBitUnpack (Algorithm 21) and the `‖z‖∞ < γ1 − β` bound of Verify_internal
//! (Algorithm 8), exactly as the kernel does before any arithmetic. A signature it accepts
//! and a backend then rejects is the kernel's `EKEYREJECTED`.
//!
//! It reads the bytes in place: no allocation, no panic on any input (it sits on the hot
//! path in front of every ML-DSA verification and is fuzzed).

use crate::algo::MlDsa;
use crate::errno::{Errno, KResult};

/// Number of coefficients in one polynomial of R_q (FIPS 204's `n`).
const N: usize = 256;

/// The FIPS 204 parameters (§4, Table 1) that fix a signature's layout and its encoding
/// rules; the other parameters (q, d, τ, η, γ2) only matter to the arithmetic.
///
/// Kept beside the checks rather than on [`MlDsa`] because only these checks need them, and
/// the layout they imply is tested against [`MlDsa::signature_len`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// Rows of the matrix A: the hint vector h has `k` polynomials.
    pub k: usize,
    /// Columns of A: the response vector z has `l` polynomials.
    pub l: usize,
    /// Bytes of the commitment hash c̃ (λ/4: 32, 48 or 64).
    pub c_tilde_len: usize,
    /// log2 γ1 (17 or 19): z's coefficients lie in (−γ1, γ1].
    pub gamma1_log2: u32,
    /// β = τ·η: a genuine z has ‖z‖∞ < γ1 − β.
    pub beta: u32,
    /// ω: the most hint bits a signature may set, over all `k` polynomials.
    pub omega: usize,
}

impl Params {
    /// γ1, the range bound of the signer's mask y.
    pub const fn gamma1(self) -> u32 {
        1 << self.gamma1_log2
    }

    /// γ1 − β: the smallest |z| coefficient that makes a signature malformed.
    pub const fn z_bound(self) -> u32 {
        self.gamma1() - self.beta
    }

    /// Bits per packed z coefficient: bitlen(2γ1 − 1) = 18 or 20.
    pub const fn z_coeff_bits(self) -> usize {
        self.gamma1_log2 as usize + 1
    }

    /// Bytes of the packed z region: `l` polynomials of 256 coefficients.
    pub const fn z_len(self) -> usize {
        self.l * N * self.z_coeff_bits() / 8
    }

    /// Bytes of the packed hint region: ω index bytes, then `k` cumulative counts.
    pub const fn hint_len(self) -> usize {
        self.omega + self.k
    }

    /// c̃ ‖ z ‖ h: the signature length this layout implies (equal to
    /// [`MlDsa::signature_len`]; a unit test holds them together).
    pub const fn signature_len(self) -> usize {
        self.c_tilde_len + self.z_len() + self.hint_len()
    }
}

/// The parameters of one set, as FIPS 204 Table 1 and the kernel's own table give them.
pub const fn params(level: MlDsa) -> Params {
    match level {
        MlDsa::L44 => Params {
            k: 4,
            l: 4,
            c_tilde_len: 32,
            gamma1_log2: 17,
            beta: 78,
            omega: 80,
        },
        MlDsa::L65 => Params {
            k: 6,
            l: 5,
            c_tilde_len: 48,
            gamma1_log2: 19,
            beta: 196,
            omega: 55,
        },
        MlDsa::L87 => Params {
            k: 8,
            l: 7,
            c_tilde_len: 64,
            gamma1_log2: 19,
            beta: 120,
            omega: 75,
        },
    }
}

/// Decides whether `sig` is a well-formed `level` signature, as the kernel does before it
/// computes anything: `Err(EBADMSG)` when it is not (wrong length, a z coefficient with
/// |z| ≥ γ1 − β, a malformed hint encoding), `Ok(())` when it is. `Ok` says nothing about
/// validity; a well-formed signature that then fails verification is `EKEYREJECTED`.
///
/// Allocation-free and panic-free for every input.
pub fn check_signature(level: MlDsa, sig: &[u8]) -> KResult<()> {
    let p = params(level);
    if sig.len() != level.signature_len() {
        return Err(Errno::EBADMSG);
    }
    // Algorithm 27 (sigDecode) cuts the signature into c̃ ‖ z ‖ h. c̃ is any byte string;
    // only z and h have rules. (With the length checked these splits cannot fail; a failure
    // would still be answered as malformed, never as a panic.)
    let Some((_c_tilde, rest)) = sig.split_at_checked(p.c_tilde_len) else {
        return Err(Errno::EBADMSG);
    };
    let Some((z, h)) = rest.split_at_checked(p.z_len()) else {
        return Err(Errno::EBADMSG);
    };
    if !z_in_range(p, z) || !hint_well_formed(p, h) {
        return Err(Errno::EBADMSG);
    }
    Ok(())
}

/// z's part of sigDecode (Algorithm 27, which unpacks each polynomial with BitUnpack,
/// Algorithm 19, over (γ1 − 1, γ1)) together with the norm bound that Verify_internal
/// (Algorithm 8) applies to it and the kernel applies while decoding.
///
/// Every packed value v (18 or 20 bits, least significant bit first) stands for the
/// coefficient γ1 − v, so every bit pattern decodes to some coefficient in (−γ1, γ1]; the only
/// rule is |γ1 − v| < γ1 − β.
fn z_in_range(p: Params, z: &[u8]) -> bool {
    let bits = p.z_coeff_bits();
    // Four coefficients fill a whole number of bytes (9 for 18 bits, 10 for 20 bits), so
    // each group is read as one little-endian integer and cut into four fields.
    let group_len = bits / 2;
    let mask = (1u128 << bits) - 1;
    let gamma1 = i64::from(p.gamma1());
    let bound = u64::from(p.z_bound());
    let groups = z.chunks_exact(group_len);
    if !groups.remainder().is_empty() {
        return false;
    }
    for group in groups {
        let packed = group
            .iter()
            .rev()
            .fold(0u128, |acc, &byte| (acc << 8) | u128::from(byte));
        for i in 0..4 {
            // The mask keeps at most 20 bits, so the value fits any integer type.
            let v = ((packed >> (i * bits)) & mask) as i64;
            let coefficient = gamma1 - v;
            if coefficient.unsigned_abs() >= bound {
                return false;
            }
        }
    }
    true
}

/// HintBitUnpack (FIPS 204 Algorithm 21): whether `y` is the one canonical encoding of a
/// hint vector with at most ω ones.
///
/// `y` is ω index bytes followed by k count bytes. Count i is how many indices polynomials
/// 0..=i use together, so polynomial i owns the indices from the previous count up to its
/// own. Well-formed means: the counts never decrease and never exceed ω; each polynomial's
/// indices strictly increase (which makes the encoding unique); every index byte past the
/// last count is zero.
fn hint_well_formed(p: Params, y: &[u8]) -> bool {
    let Some((indices, counts)) = y.split_at_checked(p.omega) else {
        return false;
    };
    if counts.len() != p.k {
        return false;
    }
    // Indices used by the polynomials before the current one.
    let mut used = 0usize;
    for &count in counts {
        let count = usize::from(count);
        if count < used || count > p.omega {
            return false;
        }
        // After the two checks above `used..count` lies inside `indices`; `get` keeps
        // that visible to the compiler (no panic path) and fails closed regardless.
        let Some(own) = indices.get(used..count) else {
            return false;
        };
        if own.windows(2).any(|pair| pair[0] >= pair[1]) {
            return false;
        }
        used = count;
    }
    // The unused tail must be zero padding.
    indices
        .get(used..)
        .is_some_and(|padding| padding.iter().all(|&b| b == 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{
        KeyPair, PqdsaKeyPair, PqdsaSigningAlgorithm, PqdsaVerificationAlgorithm,
        UnparsedPublicKey, ML_DSA_44, ML_DSA_44_SIGNING, ML_DSA_65, ML_DSA_65_SIGNING, ML_DSA_87,
        ML_DSA_87_SIGNING,
    };

    fn aws_algorithms(
        level: MlDsa,
    ) -> (
        &'static PqdsaSigningAlgorithm,
        &'static PqdsaVerificationAlgorithm,
    ) {
        match level {
            MlDsa::L44 => (&ML_DSA_44_SIGNING, &ML_DSA_44),
            MlDsa::L65 => (&ML_DSA_65_SIGNING, &ML_DSA_65),
            MlDsa::L87 => (&ML_DSA_87_SIGNING, &ML_DSA_87),
        }
    }

    /// A real signature: a key from a fixed seed, `msg` signed by aws-lc.
    struct Signed {
        level: MlDsa,
        public_key: Vec<u8>,
        msg: Vec<u8>,
        sig: Vec<u8>,
    }

    impl Signed {
        fn new(level: MlDsa, seed_byte: u8, msg: &[u8]) -> Signed {
            let (signing, _) = aws_algorithms(level);
            let pair = PqdsaKeyPair::from_seed(signing, &[seed_byte; 32]).expect("seeded key");
            let mut sig = vec![0u8; level.signature_len()];
            let n = pair.sign(msg, &mut sig).expect("aws-lc signs");
            assert_eq!(n, level.signature_len());
            Signed {
                level,
                public_key: pair.public_key().as_ref().to_vec(),
                msg: msg.to_vec(),
                sig,
            }
        }

        /// aws-lc's verdict on `sig` (pure ML-DSA, empty context, as the kernel).
        fn aws_verifies(&self, sig: &[u8]) -> bool {
            let (_, verification) = aws_algorithms(self.level);
            UnparsedPublicKey::new(verification, &self.public_key)
                .verify(&self.msg, sig)
                .is_ok()
        }
    }

    /// Byte offset of the z region and of the hint region.
    fn offsets(level: MlDsa) -> (usize, usize) {
        let p = params(level);
        (p.c_tilde_len, p.c_tilde_len + p.z_len())
    }

    /// Bit position of coefficient `j` of z's polynomial `i`, from the start of the signature.
    fn z_bit(level: MlDsa, i: usize, j: usize) -> usize {
        let p = params(level);
        p.c_tilde_len * 8 + (i * N + j) * p.z_coeff_bits()
    }

    /// The test's own BitPack: stores coefficient `value` (in (−γ1, γ1]) as γ1 − value,
    /// one bit at a time, least significant first. Independent of the checker's group reader.
    fn set_z(level: MlDsa, sig: &mut [u8], i: usize, j: usize, value: i64) {
        let p = params(level);
        let packed = i64::from(p.gamma1()) - value;
        assert!(
            (0..1i64 << p.z_coeff_bits()).contains(&packed),
            "{value} not encodable"
        );
        let start = z_bit(level, i, j);
        for b in 0..p.z_coeff_bits() {
            let pos = start + b;
            let bit = ((packed >> b) & 1) as u8;
            sig[pos / 8] = (sig[pos / 8] & !(1 << (pos % 8))) | (bit << (pos % 8));
        }
    }

    /// The test's own BitUnpack of one coefficient, bit by bit.
    fn get_z(level: MlDsa, sig: &[u8], i: usize, j: usize) -> i64 {
        let p = params(level);
        let start = z_bit(level, i, j);
        let mut packed = 0i64;
        for b in 0..p.z_coeff_bits() {
            let pos = start + b;
            packed |= i64::from((sig[pos / 8] >> (pos % 8)) & 1) << b;
        }
        i64::from(p.gamma1()) - packed
    }

    /// Writes a hint region: `polys[i]` lists polynomial i's indices in the order given, and
    /// the counts are their running totals. Panics (test input error) past ω.
    fn set_hint(level: MlDsa, sig: &mut [u8], polys: &[&[u8]]) {
        let p = params(level);
        let (_, h) = offsets(level);
        sig[h..].fill(0);
        let mut used = 0;
        for (i, poly) in polys.iter().enumerate() {
            for &index in *poly {
                sig[h + used] = index;
                used += 1;
            }
            sig[h + p.omega + i] = used as u8;
        }
        for i in polys.len()..p.k {
            sig[h + p.omega + i] = used as u8;
        }
    }

    #[test]
    fn layout_matches_signature_lengths() {
        for level in MlDsa::ALL {
            assert_eq!(
                params(level).signature_len(),
                level.signature_len(),
                "{level:?}"
            );
            assert_eq!(
                params(level).z_coeff_bits() % 2,
                0,
                "groups of four are whole bytes"
            );
        }
    }

    #[test]
    fn real_signatures_are_well_formed_and_verify() {
        for level in MlDsa::ALL {
            for seed in 0..4u8 {
                let s = Signed::new(level, seed, format!("module {seed}").as_bytes());
                assert_eq!(
                    check_signature(level, &s.sig),
                    Ok(()),
                    "{level:?} seed {seed}"
                );
                assert!(s.aws_verifies(&s.sig), "{level:?} seed {seed}");
                // Its own coefficients are in range by construction; the bit reader agrees.
                let p = params(level);
                let bound = i64::from(p.z_bound());
                for i in 0..p.l {
                    for j in 0..N {
                        assert!(get_z(level, &s.sig, i, j).abs() < bound);
                    }
                }
            }
        }
    }

    #[test]
    fn wrong_lengths_are_ebadmsg() {
        for level in MlDsa::ALL {
            let s = Signed::new(level, 7, b"length");
            let len = s.sig.len();
            let mut longer = s.sig.clone();
            longer.push(0);
            for bad in [&[][..], &s.sig[..len - 1], &longer[..], &s.sig[..1]] {
                assert_eq!(
                    check_signature(level, bad),
                    Err(Errno::EBADMSG),
                    "{}",
                    bad.len()
                );
            }
            // Another set's length is wrong too.
            for other in MlDsa::ALL.into_iter().filter(|&o| o != level) {
                let sig = vec![0u8; other.signature_len()];
                assert_eq!(check_signature(level, &sig), Err(Errno::EBADMSG));
            }
        }
    }

    #[test]
    fn z_bound_is_exact() {
        for level in MlDsa::ALL {
            let p = params(level);
            let s = Signed::new(level, 3, b"z bounds");
            let bound = i64::from(p.z_bound());
            let gamma1 = i64::from(p.gamma1());
            // First, last and a middle coefficient, so every position in a group is reached.
            for (i, j) in [(0, 0), (p.l - 1, N - 1), (p.l / 2, 129), (1, 2)] {
                for (value, ok) in [
                    (bound - 1, true),
                    (-(bound - 1), true),
                    (0, true),
                    (bound, false),
                    (-bound, false),
                    (gamma1, false),      // packed 0
                    (-gamma1 + 1, false), // packed all ones
                ] {
                    let mut sig = s.sig.clone();
                    set_z(level, &mut sig, i, j, value);
                    assert_eq!(get_z(level, &sig, i, j), value);
                    let want = if ok { Ok(()) } else { Err(Errno::EBADMSG) };
                    assert_eq!(
                        check_signature(level, &sig),
                        want,
                        "{level:?} z[{i}][{j}]={value}"
                    );
                    if ok && sig != s.sig {
                        // Well-formed but altered: a mismatch, the caller's EKEYREJECTED.
                        assert!(!s.aws_verifies(&sig), "{level:?} z[{i}][{j}]={value}");
                    }
                }
            }
        }
    }

    #[test]
    fn hint_encodings() {
        for level in MlDsa::ALL {
            let p = params(level);
            let omega = p.omega as u8;
            let s = Signed::new(level, 5, b"hints");
            let (_, h) = offsets(level);
            let check = |polys: &[&[u8]], tweak: &dyn Fn(&mut [u8])| {
                let mut sig = s.sig.clone();
                set_hint(level, &mut sig, polys);
                tweak(&mut sig[h..]);
                check_signature(level, &sig)
            };
            let none = &|_: &mut [u8]| {};
            let bad = Err(Errno::EBADMSG);

            // Well-formed: empty, sparse, an index order that restarts per polynomial, and
            // exactly ω ones in one polynomial.
            assert_eq!(check(&[], none), Ok(()));
            assert_eq!(check(&[&[1, 5], &[], &[0, 255]], none), Ok(()));
            assert_eq!(check(&[&[200], &[3]], none), Ok(()));
            let full: Vec<u8> = (0..omega).collect();
            assert_eq!(check(&[&full], none), Ok(()));
            let last = p.k - 1;
            let full_last: Vec<&[u8]> = (0..p.k)
                .map(|i| if i == last { &full[..] } else { &[] })
                .collect();
            assert_eq!(check(&full_last, none), Ok(()));

            // A cumulative count that decreases.
            assert_eq!(check(&[&[1, 2], &[3]], &|y| y[p.omega + 1] = 1), bad);
            assert_eq!(check(&[&[1, 2]], &|y| y[p.omega + last] = 1), bad);
            // A count above ω: first, last, and the byte's maximum.
            assert_eq!(check(&[], &|y| y[p.omega] = omega + 1), bad);
            assert_eq!(check(&[], &|y| y[p.omega + last] = omega + 1), bad);
            assert_eq!(check(&[], &|y| y[p.omega + last] = 255), bad);
            // Indices not strictly increasing inside one polynomial: equal, decreasing,
            // and in the last polynomial.
            assert_eq!(check(&[&[5, 5]], none), bad);
            assert_eq!(check(&[&[6, 5]], none), bad);
            assert_eq!(check(&[&[0, 9, 3]], none), bad);
            let mut polys: Vec<&[u8]> = vec![&[]; p.k];
            polys[last] = &[10, 10];
            assert_eq!(check(&polys, none), bad);
            // Non-zero padding: right after the last used index, and the very last byte.
            assert_eq!(check(&[&[1, 2]], &|y| y[2] = 1), bad);
            assert_eq!(check(&[], &|y| y[p.omega - 1] = 0x80), bad);
            assert_eq!(check(&[], &|y| y[0] = 1), bad);
        }
    }

    /// A tiny xorshift64* generator: a fixed sequence of mutation choices with no extra
    /// crate. (aws-lc signs hedged, so the signatures mutated differ from run to run; a
    /// failing assertion prints the offending bytes.)
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn byte(&mut self) -> u8 {
            self.next() as u8
        }
    }

    /// One seeded mutation of a real signature. The kinds aim at both outcomes: z and hint
    /// damage that the encoding rules catch, and changes they cannot see (c̃, in-range z,
    /// a still-canonical hint).
    fn mutate(level: MlDsa, original: &[u8], rng: &mut XorShift) -> Vec<u8> {
        let p = params(level);
        let (z_at, h_at) = offsets(level);
        let mut sig = original.to_vec();
        let len = sig.len();
        match rng.below(9) {
            // A single bit flip anywhere.
            0 => {
                let bit = rng.below(len * 8);
                sig[bit / 8] ^= 1 << (bit % 8);
            }
            // A byte overwritten in the z region.
            1 => sig[z_at + rng.below(p.z_len())] = rng.byte(),
            // A byte overwritten in the hint region.
            2 => sig[h_at + rng.below(p.hint_len())] = rng.byte(),
            // A count or a used index nudged by one: often still canonical.
            3 => {
                let at = h_at + rng.below(p.hint_len());
                sig[at] = if rng.next() & 1 == 0 {
                    sig[at].wrapping_add(1)
                } else {
                    sig[at].wrapping_sub(1)
                };
            }
            // One z coefficient set near the bound.
            4 => {
                let bound = i64::from(p.z_bound());
                let value = [bound - 1, bound, bound + 1, -bound, -(bound - 1)][rng.below(5)];
                set_z(level, &mut sig, rng.below(p.l), rng.below(N), value);
            }
            // Random garbage of the right length.
            5 => sig.iter_mut().for_each(|b| *b = rng.byte()),
            // Random garbage in z only (the hint stays canonical).
            6 => sig[z_at..h_at].iter_mut().for_each(|b| *b = rng.byte()),
            // The hint region replaced by garbage.
            7 => sig[h_at..].iter_mut().for_each(|b| *b = rng.byte()),
            // Random garbage of a random length around the right one.
            _ => {
                sig.resize(len - 2 + rng.below(5), 0);
                sig.iter_mut().for_each(|b| *b = rng.byte());
            }
        }
        sig
    }

    /// For well-formed mutations: aws-lc must reject every altered one (the kernel's
    /// EKEYREJECTED) and accept an unaltered one. Returns (well-formed, malformed).
    fn run_mutations(
        s: &Signed,
        count: usize,
        rng: &mut XorShift,
        mut also: impl FnMut(&[u8], bool),
    ) -> (usize, usize) {
        let (mut well_formed, mut malformed) = (0, 0);
        for n in 0..count {
            let sig = mutate(s.level, &s.sig, rng);
            let verdict = check_signature(s.level, &sig);
            also(&sig, verdict.is_err());
            match verdict {
                Ok(()) => {
                    well_formed += 1;
                    assert_eq!(
                        s.aws_verifies(&sig),
                        sig == s.sig,
                        "{:?} mutation {n}: aws-lc disagrees",
                        s.level
                    );
                }
                Err(e) => {
                    assert_eq!(e, Errno::EBADMSG);
                    malformed += 1;
                }
            }
        }
        (well_formed, malformed)
    }

    #[test]
    fn mutations_that_pass_fail_verification() {
        let mut rng = XorShift(0x7275_7374_6265_6e63);
        for level in MlDsa::ALL {
            let s = Signed::new(level, 9, b"mutations");
            assert!(s.aws_verifies(&s.sig));
            let (ok, bad) = run_mutations(&s, 600, &mut rng, |_, _| {});
            assert!(
                ok > 50 && bad > 50,
                "{level:?}: {ok} well-formed, {bad} malformed"
            );
        }
    }

    /// RustCrypto's `Signature::decode` is its sigDecode with HintBitUnpack and the z bound
    /// (ml-dsa 0.1.2 src/lib.rs, src/hint.rs): `None` exactly for a malformed encoding. A
    /// wrong length cannot even be given to it, so that counts as malformed.
    #[cfg(feature = "rustcrypto")]
    fn rustcrypto_malformed(level: MlDsa, sig: &[u8]) -> bool {
        use ml_dsa::{EncodedSignature, MlDsa44, MlDsa65, MlDsa87, MlDsaParams, Signature};
        fn decode<P: MlDsaParams>(sig: &[u8]) -> bool {
            match EncodedSignature::<P>::try_from(sig) {
                Ok(encoded) => Signature::<P>::decode(&encoded).is_none(),
                Err(_) => true,
            }
        }
        match level {
            MlDsa::L44 => decode::<MlDsa44>(sig),
            MlDsa::L65 => decode::<MlDsa65>(sig),
            MlDsa::L87 => decode::<MlDsa87>(sig),
        }
    }

    #[cfg(feature = "rustcrypto")]
    #[test]
    fn agrees_with_rustcrypto_decode() {
        const PER_SIGNATURE: usize = 1000;
        let mut rng = XorShift(0x6d6c_2d64_7361_2121);
        let mut totals = (0, 0);
        for level in MlDsa::ALL {
            for seed in 0..3u8 {
                let s = Signed::new(level, 20 + seed, format!("differential {seed}").as_bytes());
                assert!(!rustcrypto_malformed(level, &s.sig));
                let (ok, bad) = run_mutations(&s, PER_SIGNATURE, &mut rng, |sig, ours| {
                    assert_eq!(
                        ours,
                        rustcrypto_malformed(level, sig),
                        "{level:?}: check_signature and ml-dsa's decode disagree on {sig:02x?}"
                    );
                });
                assert!(
                    ok > 50 && bad > 50,
                    "{level:?}: {ok} well-formed, {bad} malformed"
                );
                totals = (totals.0 + ok, totals.1 + bad);
            }
        }
        // The hand-made hint cases too.
        for level in MlDsa::ALL {
            let s = Signed::new(level, 1, b"hand-made");
            let p = params(level);
            let full: Vec<u8> = (0..p.omega as u8).collect();
            for polys in [&[][..], &[&[5u8, 5][..]], &[&[200], &[3]], &[&full]] {
                let mut sig = s.sig.clone();
                set_hint(level, &mut sig, polys);
                assert_eq!(
                    check_signature(level, &sig).is_err(),
                    rustcrypto_malformed(level, &sig)
                );
            }
        }
        eprintln!(
            "ml-dsa differential: {} mutations, {} well-formed, {} malformed, all agreeing",
            totals.0 + totals.1,
            totals.0,
            totals.1
        );
    }
}
