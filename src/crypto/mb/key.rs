//! A key's Montgomery constants in radix 2^52, computed once when the key enters a keyring
//! (as aws-lc-rs parses a key once), and the conversions between big-endian bytes and
//! 52-bit limbs that every lane engine shares.
//!
//! Why radix 2^52: AVX-512 IFMA multiplies the low 52 bits of two 64-bit lanes into a
//! 104-bit product and adds either half to a 64-bit accumulator, so a 52-bit limb is what
//! one instruction consumes, and the 12 spare bits let a whole Montgomery multiplication
//! accumulate without carrying (see [`super::portable`] for the bound).

use crate::crypto::RsaComponents;
use num_bigint::BigUint;

/// Bits per limb.
pub const LIMB_BITS: u32 = 52;
/// The low 52 bits.
pub const MASK: u64 = (1 << LIMB_BITS) - 1;
/// Limbs of the larger size class: 80 × 52 = 4160 bits (RSA-3072 and RSA-4096).
pub const MAX_LIMBS: usize = 80;
/// Limbs of the smaller size class: 40 × 52 = 2080 bits (RSA-512 to RSA-2048).
pub const SMALL_LIMBS: usize = 40;
/// The only public exponent the multi-buffer operation computes (`s^65537` is 16
/// squarings and one multiplication); keys with another exponent keep the single-op path.
pub const EXPONENT: [u8; 3] = [0x01, 0x00, 0x01];

/// The size class a modulus of `len` bytes computes in, or `None` when it fits neither.
///
/// Montgomery multiplication with inputs below 2n stays below 2n (so no reduction is
/// needed between steps) when 4n ≤ R = 2^(52·limbs): 8·len + 2 ≤ 52·limbs.
pub fn limbs_for(len: usize) -> Option<usize> {
    [SMALL_LIMBS, MAX_LIMBS]
        .into_iter()
        .find(|&l| len > 0 && 8 * len + 2 <= 52 * l)
}

/// The per-key constants of the multi-buffer RSA public operation: the modulus in 52-bit
/// limbs, `R² mod n` (R = 2^(52·limbs)) to enter the Montgomery domain with one
/// multiplication, and `−n⁻¹ mod 2^52` for the reduction. Made once per key; every batch
/// then only copies them into its lanes.
#[derive(Clone)]
pub struct MontKey {
    /// 40 or 80.
    limbs: usize,
    /// The modulus length in bytes (the signature and output length).
    len: usize,
    /// n, little-endian 52-bit limbs (the first `limbs` are used).
    n: [u64; MAX_LIMBS],
    /// R² mod n, same layout.
    rr: [u64; MAX_LIMBS],
    /// −n⁻¹ mod 2^52.
    n0: u64,
}

impl std::fmt::Debug for MontKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MontKey")
            .field("bits", &(self.len * 8))
            .field("limbs", &self.limbs)
            .finish()
    }
}

impl MontKey {
    /// The constants for `c`, or `None` when the multi-buffer operation does not take the
    /// key (its exponent is not 65537, its modulus is even — Montgomery needs it odd — or
    /// longer than 4096 bits, or shorter than two bytes): the single-op backend serves it.
    pub fn new(c: &RsaComponents) -> Option<MontKey> {
        let len = c.n.len();
        if *c.e != EXPONENT || !(2..=super::MAX_LEN).contains(&len) || c.n[len - 1] & 1 == 0 {
            return None;
        }
        let limbs = limbs_for(len)?;
        let mut n = [0u64; MAX_LIMBS];
        to_limbs(&c.n, &mut n[..limbs]);
        let big_n = BigUint::from_bytes_be(&c.n);
        let r2 = (BigUint::from(1u8) << (2 * LIMB_BITS as usize * limbs)) % &big_n;
        let mut rr = [0u64; MAX_LIMBS];
        to_limbs(&r2.to_bytes_be(), &mut rr[..limbs]);
        Some(MontKey {
            limbs,
            len,
            n,
            rr,
            n0: neg_inverse(n[0]),
        })
    }

    /// 40 or 80: the size class the key computes in (keys of one class share a batch).
    pub fn limbs(&self) -> usize {
        self.limbs
    }

    /// The modulus length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true (a key has at least two modulus bytes); for the `len` convention.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// n in limbs.
    pub(super) fn n(&self) -> &[u64] {
        &self.n[..self.limbs]
    }

    /// R² mod n in limbs.
    pub(super) fn rr(&self) -> &[u64] {
        &self.rr[..self.limbs]
    }

    /// −n⁻¹ mod 2^52.
    pub(super) fn n0(&self) -> u64 {
        self.n0
    }
}

/// −a⁻¹ mod 2^52 for odd `a`, by Newton's iteration (each step doubles the correct low
/// bits: 1 → 2 → 4 → … → 64).
fn neg_inverse(a: u64) -> u64 {
    let mut x: u64 = 1;
    for _ in 0..6 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
    }
    x.wrapping_neg() & MASK
}

/// Words of a value of up to 4160 bits (80 limbs), with one spare word so that a limb
/// can always read the word above it.
const WORDS: usize = MAX_LIMBS * 52 / 64 + 2;

/// Big-endian bytes into little-endian 52-bit limbs (as many as `out` has; higher bits of
/// the value than fit are dropped, so callers size `out` for the value). Through 64-bit
/// words: a limb is then two shifts of the two words it straddles, not eight byte steps
/// (the batch converts sixteen values per eight operations).
pub fn to_limbs(be: &[u8], out: &mut [u64]) {
    let mut w = [0u64; WORDS];
    for (i, c) in be.rchunks(8).take(WORDS - 1).enumerate() {
        let mut b = [0u8; 8];
        b[8 - c.len()..].copy_from_slice(c);
        w[i] = u64::from_be_bytes(b);
    }
    for (j, o) in out.iter_mut().enumerate() {
        let bit = j * LIMB_BITS as usize;
        let (q, r) = (bit / 64, bit % 64);
        let lo = w.get(q).copied().unwrap_or(0) >> r;
        let hi = match (r, w.get(q + 1)) {
            (0, _) | (_, None) => 0,
            (_, Some(&h)) => h << (64 - r),
        };
        *o = (lo | hi) & MASK;
    }
}

/// Little-endian 52-bit limbs (each below 2^52) into exactly `out.len()` big-endian bytes;
/// bits above them are dropped (the caller knows the value fits).
pub fn from_limbs(limbs: &[u64], out: &mut [u8]) {
    let mut w = [0u64; WORDS];
    for (j, &l) in limbs.iter().enumerate() {
        let bit = j * LIMB_BITS as usize;
        let (q, r) = (bit / 64, bit % 64);
        if let Some(x) = w.get_mut(q) {
            *x |= l << r;
        }
        if r > 64 - LIMB_BITS as usize {
            if let Some(x) = w.get_mut(q + 1) {
                *x |= l >> (64 - r);
            }
        }
    }
    for (i, c) in out.rchunks_mut(8).enumerate() {
        let b = w.get(i).copied().unwrap_or(0).to_be_bytes();
        c.copy_from_slice(&b[8 - c.len()..]);
    }
}

/// Whether normalized limbs `a` are below normalized limbs `b` (same length).
pub fn less(a: &[u64], b: &[u64]) -> bool {
    for (x, y) in a.iter().zip(b).rev() {
        if x != y {
            return x < y;
        }
    }
    false
}

/// Propagates carries so every limb is below 2^52 (the value is unchanged; a carry out of
/// the top limb is returned).
pub fn normalize(t: &mut [u64]) -> u64 {
    let mut carry = 0u64;
    for x in t.iter_mut() {
        let v = *x + carry;
        *x = v & MASK;
        carry = v >> LIMB_BITS;
    }
    carry
}

/// `t mod n` for normalized `t < 2n`: subtracts n once when `t ≥ n`.
pub fn reduce_once(t: &mut [u64], n: &[u64]) {
    if !less(t, n) {
        let mut borrow = 0u64;
        for (a, &b) in t.iter_mut().zip(n) {
            let v = a.wrapping_sub(b).wrapping_sub(borrow);
            borrow = (v >> 63) & 1;
            *a = v & MASK;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limbs_round_trip() {
        let mut x = 0x243f_6a88_85a3_08d3u64;
        for len in [1usize, 2, 7, 64, 255, 256, 384, 512] {
            let be: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let mut l = [0u64; MAX_LIMBS];
            to_limbs(&be, &mut l);
            assert!(l.iter().all(|&v| v <= MASK));
            let mut back = vec![0u8; len];
            from_limbs(&l, &mut back);
            assert_eq!(back, be, "{len}");
            let big = BigUint::from_bytes_be(&be);
            let from_l = l
                .iter()
                .rev()
                .fold(BigUint::default(), |a, &v| (a << 52u32) + v);
            assert_eq!(big, from_l);
        }
    }

    #[test]
    fn negative_inverse_mod_2_52() {
        for a in [1u64, 3, 0xf_ffff_ffff_ffff, 0x1234_5678_9abd, (1 << 52) - 3] {
            let n0 = neg_inverse(a);
            assert_eq!(a.wrapping_mul(n0) & MASK, MASK, "{a:#x}: a·n0 ≡ −1");
        }
    }

    #[test]
    fn size_classes() {
        assert_eq!(limbs_for(64), Some(40));
        assert_eq!(limbs_for(256), Some(40));
        assert_eq!(limbs_for(259), Some(40));
        assert_eq!(limbs_for(260), Some(80));
        assert_eq!(limbs_for(384), Some(80));
        assert_eq!(limbs_for(512), Some(80));
        assert_eq!(limbs_for(520), None);
        assert_eq!(limbs_for(0), None);
    }
}
