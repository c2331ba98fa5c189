//! The multi-buffer algorithm on AVX-512 IFMA: eight lanes, one RSA public operation per
//! lane (each lane its own modulus), the limbs stored limb-major so that limb `j` of all
//! eight operands is one 512-bit register and every step is the same instruction on all
//! lanes.
//!
//! It is [`super::portable`] instruction for instruction: `vpmadd52luq` adds bits 0..52 of
//! the 104-bit product of two 52-bit lanes to a 64-bit accumulator, `vpmadd52huq` adds bits
//! 52..104, so `lo`/`hi` there are one instruction each here, and the same bound (no carry
//! before the end of a multiplication) holds. The squarings use a dedicated routine that
//! computes each cross product once and doubles the sum ([`mont_sqr`]).
//!
//! Only reached through [`super::Lanes::Ifma`], which exists only when the CPU reports
//! `avx512f` and `avx512ifma` at run time.

// The loops index several arrays at offsets of one counter (t[k], a[k − i], n[k − i − 1]):
// written as iterators they would hide the limb arithmetic this file is about.
#![allow(clippy::needless_range_loop)]

use super::key::{LIMB_BITS, MASK, MAX_LIMBS};
use super::LANES;
use std::arch::x86_64::{
    __m512i, _mm512_add_epi64, _mm512_and_si512, _mm512_loadu_si512, _mm512_madd52hi_epu64,
    _mm512_madd52lo_epu64, _mm512_set1_epi64, _mm512_setzero_si512, _mm512_slli_epi64,
    _mm512_srli_epi64, _mm512_storeu_si512,
};

/// Propagates carries through `t[L..2L]` into the padded `out` (every limb below 2^52).
#[target_feature(enable = "avx512f,avx512ifma")]
fn normalize_into<const L: usize>(t: &Wide, out: &mut Padded) {
    let mask = _mm512_set1_epi64(MASK as i64);
    let mut carry = _mm512_setzero_si512();
    for j in 0..L {
        let v = _mm512_add_epi64(t[L + j], carry);
        out[j + 2] = _mm512_and_si512(v, mask);
        carry = _mm512_srli_epi64::<LIMB_BITS>(v);
    }
}

/// Limbs with two zero limbs below and two above (`p[j + 2] = x[j]`), so that the paired
/// rows below can read `x[j − 2] … x[j + 1]` for any limb without a bounds branch.
const PAD: usize = 4;

/// An operand, padded (see [`PAD`]); the pads are zero and stay zero.
type Padded = [__m512i; MAX_LIMBS + PAD];
/// A double-length accumulator.
type Wide = [__m512i; 2 * MAX_LIMBS];

/// Loads limb-major operands into a padded operand.
#[target_feature(enable = "avx512f,avx512ifma")]
fn load_padded<const L: usize>(x: &[[u64; LANES]; L]) -> Padded {
    let mut p = [_mm512_setzero_si512(); MAX_LIMBS + PAD];
    for j in 0..L {
        // SAFETY: each `x[j]` is eight u64s, 64 readable bytes; the load is unaligned.
        p[j + 2] = unsafe { _mm512_loadu_si512(x[j].as_ptr().cast()) };
    }
    p
}

/// Adds two paired rows to limbs `from..to` of `t`, one load and one store per limb: limb
/// `k` gets `lo(p[k−i]·u) + hi(p[k−i−1]·u)` (row `i`, multiplier `u`) and
/// `lo(p[k−i−1]·v) + hi(p[k−i−2]·v)` (row `i + 1`, multiplier `v`). `p` is padded, so
/// limbs beyond the operand read zeros; the three limbs of `p` in use rotate through
/// registers. The product's rows (`u, v` = two limbs of the other operand), the squaring's
/// cross products (two limbs of the operand itself) and the reduction's rows (`m0, m1`)
/// are all this step.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn add_rows(
    t: &mut Wide,
    p: &Padded,
    i: usize,
    (from, to): (usize, usize),
    u: __m512i,
    v: __m512i,
) {
    let (mut x1, mut x2) = (p[from - i + 1], p[from - i]);
    for k in from..to {
        let x0 = p[k - i + 2];
        let mut acc = t[k];
        acc = _mm512_madd52lo_epu64(acc, x0, u);
        acc = _mm512_madd52hi_epu64(acc, x1, u);
        acc = _mm512_madd52lo_epu64(acc, x1, v);
        acc = _mm512_madd52hi_epu64(acc, x2, v);
        t[k] = acc;
        (x2, x1) = (x1, x0);
    }
}

/// Montgomery reduction of the double-length `t` in place, two rows per pass (each limb
/// of `t` is then loaded and stored once per two rows, not once per row): row `i` adds
/// `m0·n`, with `m0 = t[i]·(−n⁻¹) mod 2^52`, row `i + 1` adds `m1·n`, with `m1` computed
/// from limb `i + 1` once row `i` has reached it. The result is `t[L..2L]`.
#[target_feature(enable = "avx512f,avx512ifma")]
fn reduce<const L: usize>(t: &mut Wide, np: &Padded, n0: __m512i) {
    let zero = _mm512_setzero_si512();
    let n_0 = np[2];
    let mut i = 0;
    while i < L {
        let m0 = _mm512_madd52lo_epu64(zero, t[i], n0);
        let ti = _mm512_madd52lo_epu64(t[i], n_0, m0);
        let mut ti1 = _mm512_add_epi64(t[i + 1], _mm512_srli_epi64::<LIMB_BITS>(ti));
        ti1 = _mm512_madd52lo_epu64(ti1, np[3], m0);
        ti1 = _mm512_madd52hi_epu64(ti1, n_0, m0);
        let m1 = _mm512_madd52lo_epu64(zero, ti1, n0);
        ti1 = _mm512_madd52lo_epu64(ti1, n_0, m1);
        t[i + 2] = _mm512_add_epi64(t[i + 2], _mm512_srli_epi64::<LIMB_BITS>(ti1));
        add_rows(t, np, i, (i + 2, i + L + 2), m0, m1);
        i += 2;
    }
}

/// `a·b·R⁻¹ mod n` per lane, normalized and below 2n, for normalized `a, b < 2n`: the
/// product two rows of `b` per pass, then [`reduce`]. A limb of the product gets at most
/// 2·L halves and the reduction 2·L more: below 2^61 for L ≤ 80, so no carry is needed
/// before the end.
#[target_feature(enable = "avx512f,avx512ifma")]
fn mont_mul<const L: usize>(
    ap: &Padded,
    bp: &Padded,
    np: &Padded,
    n0: __m512i,
    t: &mut Wide,
    out: &mut Padded,
) {
    t[..2 * L].fill(_mm512_setzero_si512());
    let mut i = 0;
    while i < L {
        add_rows(t, ap, i, (i, i + L + 2), bp[i + 2], bp[i + 3]);
        i += 2;
    }
    reduce::<L>(t, np, n0);
    normalize_into::<L>(t, out);
}

/// `a²·R⁻¹ mod n` per lane: each cross product `a[i]·a[j]` (i < j) once, two rows per
/// pass, doubled by a shift, the squares added, then [`reduce`] (the bound of
/// [`mont_mul`] holds: the doubled cross products and squares of a limb are at most 2·L
/// halves).
#[target_feature(enable = "avx512f,avx512ifma")]
fn mont_sqr<const L: usize>(ap: &Padded, np: &Padded, n0: __m512i, t: &mut Wide, out: &mut Padded) {
    t[..2 * L].fill(_mm512_setzero_si512());
    // Rows i and i + 1: limb k gets lo(a_i·a_{k−i}) for k − i > i, hi(a_i·a_{k−i−1}) for
    // k − i − 1 > i, lo(a_{i+1}·a_{k−i−1}) for k − i − 1 > i + 1 and hi(a_{i+1}·a_{k−i−2})
    // for k − i − 2 > i + 1. The first three limbs of the pair have only some of those
    // terms; from limb 2i + 4 on all four (the padding's zeros end them at the top).
    let mut i = 0;
    while i < L {
        let (a0, a1) = (ap[i + 2], ap[i + 3]);
        let k = 2 * i + 1;
        t[k] = _mm512_madd52lo_epu64(t[k], a0, ap[i + 3]);
        let mut acc = _mm512_madd52lo_epu64(t[k + 1], a0, ap[i + 4]);
        t[k + 1] = _mm512_madd52hi_epu64(acc, a0, ap[i + 3]);
        acc = _mm512_madd52lo_epu64(t[k + 2], a0, ap[i + 5]);
        acc = _mm512_madd52hi_epu64(acc, a0, ap[i + 4]);
        t[k + 2] = _mm512_madd52lo_epu64(acc, a1, ap[i + 4]);
        add_rows(t, ap, i, (2 * i + 4, i + L + 2), a0, a1);
        i += 2;
    }
    // Doubled, and the squares added, in one pass over the product.
    for i in 0..L {
        let ai = ap[i + 2];
        let (lo, hi) = (
            _mm512_slli_epi64::<1>(t[2 * i]),
            _mm512_slli_epi64::<1>(t[2 * i + 1]),
        );
        t[2 * i] = _mm512_madd52lo_epu64(lo, ai, ai);
        t[2 * i + 1] = _mm512_madd52hi_epu64(hi, ai, ai);
    }
    reduce::<L>(t, np, n0);
    normalize_into::<L>(t, out);
}

/// `s^65537 mod n` per lane, normalized and below 2n (the caller reduces once), exactly as
/// [`super::portable::exp65537`] computes it.
///
/// # Safety
/// The CPU must support `avx512f` and `avx512ifma` (checked at run time by
/// [`super::Lanes::detect`], the only caller's source of this engine).
#[target_feature(enable = "avx512f,avx512ifma")]
pub unsafe fn exp65537<const L: usize>(
    s: &[[u64; LANES]; L],
    n: &[[u64; LANES]; L],
    rr: &[[u64; LANES]; L],
    n0: &[u64; LANES],
    out: &mut [[u64; LANES]; L],
) {
    let (sp, np, rp) = (load_padded(s), load_padded(n), load_padded(rr));
    // SAFETY: eight u64s, 64 readable bytes.
    let n0v = unsafe { _mm512_loadu_si512(n0.as_ptr().cast()) };
    let zero = _mm512_setzero_si512();
    let mut t: Wide = [zero; 2 * MAX_LIMBS];
    let (mut a, mut b): (Padded, Padded) = ([zero; MAX_LIMBS + PAD], [zero; MAX_LIMBS + PAD]);
    mont_mul::<L>(&sp, &rp, &np, n0v, &mut t, &mut a);
    for _ in 0..8 {
        mont_sqr::<L>(&a, &np, n0v, &mut t, &mut b);
        mont_sqr::<L>(&b, &np, n0v, &mut t, &mut a);
    }
    mont_mul::<L>(&a, &sp, &np, n0v, &mut t, &mut b);
    for (j, o) in out.iter_mut().enumerate() {
        // SAFETY: each `o` is eight u64s, 64 writable bytes; the store is unaligned.
        unsafe { _mm512_storeu_si512(o.as_mut_ptr().cast(), b[j + 2]) };
    }
}
