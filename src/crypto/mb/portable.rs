//! The multi-buffer algorithm in plain Rust, one lane after the other: the same limbs, the
//! same interleaved multiply-and-reduce, the same bounds as the AVX-512 IFMA engine
//! ([`super::ifma`]), so that the algorithm (constants, limb layout, when carries may be
//! left pending) is proved on every machine, and the vector engine is then checked
//! against it lane for lane. It is a reference, not a fast path: without IFMA the
//! single-op backend verifies instead.
//!
//! One Montgomery multiplication `a·b·R⁻¹ mod n` (R = 2^(52·L)), operand scanning with the
//! reduction interleaved: for each limb `b[i]`, the accumulator `T` gets `a·b[i]` and
//! `m·n`, where `m = (T[i] + lo(a[0]·b[i]))·(−n⁻¹) mod 2^52` makes limb `i` vanish; its
//! carry moves up. Products are split as the hardware splits them: `lo` = bits 0..52 and
//! `hi` = bits 52..104 of the 104-bit product of two 52-bit values. Limb `k` of `T`
//! receives at most four such halves per row over at most L rows plus small carries, so it
//! stays below 4·L·2^52 + 2^12 < 2^61 for L ≤ 80: no carry is propagated until the end.
//! With inputs below 2n and 4n ≤ R the result is below 2n, so squarings chain without any
//! subtraction; only the final result is reduced once.

use super::key::{LIMB_BITS, MASK};
use super::LANES;

/// Bits 0..52 of the product of two 52-bit values.
#[inline(always)]
fn lo(a: u64, b: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) as u64) & MASK
}

/// Bits 52..104 of the product of two 52-bit values.
#[inline(always)]
fn hi(a: u64, b: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) >> LIMB_BITS) as u64
}

/// `a·b·R⁻¹ mod n` into `out`, normalized (every limb below 2^52) and below 2n, for
/// normalized `a, b < 2n`.
pub fn mont_mul<const L: usize>(
    a: &[u64; L],
    b: &[u64; L],
    n: &[u64; L],
    n0: u64,
    out: &mut [u64; L],
) {
    // T[i..i+L+1] is the live window in row i; indices up to 2L - 1 are touched.
    let mut t = [0u64; 2 * super::key::MAX_LIMBS];
    for i in 0..L {
        let bi = b[i];
        let t0 = t[i] + lo(a[0], bi);
        let m = lo(t0 & MASK, n0);
        t[i] = t0 + lo(n[0], m);
        for j in 1..L {
            t[i + j] += lo(a[j], bi) + lo(n[j], m) + hi(a[j - 1], bi) + hi(n[j - 1], m);
        }
        t[i + L] += hi(a[L - 1], bi) + hi(n[L - 1], m);
        // Limb i is now a multiple of 2^52: its carry moves up and the limb is dropped.
        t[i + 1] += t[i] >> LIMB_BITS;
    }
    out.copy_from_slice(&t[L..2 * L]);
    // The value is below 2n < R: no carry leaves the top limb.
    super::key::normalize(out);
}

/// `s^65537 · R⁰ mod n` per lane, below 2n and normalized (the caller reduces once): enter
/// the Montgomery domain with `R²` (`sR`), square sixteen times (`s^65536·R`), and leave it
/// by multiplying with the plain `s` (`s^65537`).
pub fn exp65537<const L: usize>(
    s: &[[u64; LANES]; L],
    n: &[[u64; LANES]; L],
    rr: &[[u64; LANES]; L],
    n0: &[u64; LANES],
    out: &mut [[u64; LANES]; L],
) {
    for lane in 0..LANES {
        let col = |x: &[[u64; LANES]; L]| -> [u64; L] { std::array::from_fn(|j| x[j][lane]) };
        let (sl, nl, rl) = (col(s), col(n), col(rr));
        let mut a = [0u64; L];
        mont_mul(&sl, &rl, &nl, n0[lane], &mut a);
        for _ in 0..16 {
            let x = a;
            mont_mul(&x, &x, &nl, n0[lane], &mut a);
        }
        let mut r = [0u64; L];
        mont_mul(&a, &sl, &nl, n0[lane], &mut r);
        for (j, v) in r.iter().enumerate() {
            out[j][lane] = *v;
        }
    }
}
