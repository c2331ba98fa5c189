#![no_main]
//! The multi-buffer RSA lanes (`crypto::mb::Lanes::public_ops`) against aws-lc's raw
//! operation (the big-integer `crypto::rsa_raw::public_op` where aws-lc refuses the key;
//! on lane 0 both, against each other), on up to eight (modulus, input) pairs the fuzzer
//! shapes: every available engine must compute exactly
//! `s^65537 mod n` for every input below its modulus and refuse every other one (at or
//! above n, or a lane of the other size class), writing nothing for a refused lane and
//! nothing past a modulus. Any difference is a panic, so a crash.
//!
//! Why a fuzz target besides tests/mb_differential.rs: that test draws moduli and inputs
//! from shapes someone thought of; here coverage guides the choice of lengths, limb
//! patterns and input kinds (the literal bytes land anywhere in a value).
//!
//! Input layout (missing bytes read as zero, so every input is valid):
//! - byte 0: bits 0..3 lanes − 1; bit 3 the size class (0: 40 limbs, up to 259 bytes;
//!   1: 80 limbs, 260..=512 bytes); bit 4: the last lane takes a modulus of the other
//!   class (which the batch must refuse); bits 5..8 seed the filler stream.
//! - per lane: a length byte (below 128: one of the class's kernel sizes; else two more
//!   bytes pick any length of the class), a full-length flag byte (bit 0: top bit set), the
//!   modulus value, an input-kind byte and the input value.
//! - a value: a fill byte (bits 0..2: filler stream, zeros, ones, a repeated pattern byte;
//!   bits 2..5: how many single bits to toggle, each at a position from two bytes), a
//!   literal count byte, an offset byte (scaled to the length) and the literal bytes.

use libfuzzer_sys::fuzz_target;
use trustbench::crypto::aws_lc::{self, AwsLc};
use trustbench::crypto::mb::{key::limbs_for, Lanes, MontKey, LANES, MAX_LEN};
use trustbench::crypto::{rsa_raw, Backend, KeySource, PkeyAlgo, RsaComponents};

const E65537: [u8; 3] = [0x01, 0x00, 0x01];
/// Filler in output buffers: a refused lane must leave it, a computed one must not write
/// past its modulus length.
const SENTINEL: u8 = 0x5a;

/// The fuzz input as a stream of bytes, zeros once it runs out.
struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    fn u16(&mut self) -> usize {
        usize::from(self.byte()) << 8 | usize::from(self.byte())
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let start = self.at.min(self.data.len());
        let end = (start + n).min(self.data.len());
        self.at += n;
        &self.data[start..end]
    }
}

/// SplitMix64 filler: bulk random bytes cost the fuzzer no input.
struct Fill(u64);

impl Fill {
    fn next(&mut self) -> u8 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as u8
    }
}

/// A `len`-byte big-endian value (see the layout in the module documentation).
fn value(b: &mut Bytes<'_>, fill: &mut Fill, len: usize) -> Vec<u8> {
    let h = b.byte();
    let mut v: Vec<u8> = match h & 3 {
        0 => (0..len).map(|_| fill.next()).collect(),
        1 => vec![0; len],
        2 => vec![0xff; len],
        _ => vec![b.byte(); len],
    };
    let count = usize::from(b.byte()).min(len);
    let offset = (usize::from(b.byte()) * len / 256).min(len - count);
    let lit = b.take(count);
    v[offset..offset + lit.len()].copy_from_slice(lit);
    for _ in 0..(h >> 2) & 7 {
        let bit = b.u16() % (8 * len);
        v[len - 1 - bit / 8] ^= 1 << (bit % 8);
    }
    v
}

/// Big-endian `v − k`, or `None` when it would be negative.
fn sub_small(v: &[u8], k: u8) -> Option<Vec<u8>> {
    let mut out = v.to_vec();
    let mut borrow = u16::from(k);
    for x in out.iter_mut().rev() {
        let d = i32::from(*x) - i32::from(borrow);
        *x = d.rem_euclid(256) as u8;
        borrow = u16::from(d < 0);
        if borrow == 0 {
            return Some(out);
        }
    }
    None
}

/// Big-endian `v + k`, or `None` when it no longer fits the length.
fn add_small(v: &[u8], k: u8) -> Option<Vec<u8>> {
    let mut out = v.to_vec();
    let mut carry = u16::from(k);
    for x in out.iter_mut().rev() {
        let s = u16::from(*x) + carry;
        *x = s as u8;
        carry = s >> 8;
        if carry == 0 {
            return Some(out);
        }
    }
    None
}

/// The input of a lane with modulus `n`: raw (often ≥ n), forced below n, n − k, a small
/// value, 2^j or 2^j − 1, or n + k.
fn input(b: &mut Bytes<'_>, fill: &mut Fill, n: &[u8]) -> Vec<u8> {
    let len = n.len();
    let kind = b.byte() % 8;
    let mut v = value(b, fill, len);
    match kind {
        0 | 1 => v,
        // Its top byte below n's: below n, whatever follows.
        2 | 3 => {
            v[0] %= n[0];
            v
        }
        4 => sub_small(n, b.byte().max(1)).unwrap_or(v),
        5 => {
            let mut s = vec![0; len];
            s[len - 1] = b.byte();
            s
        }
        6 => {
            let j = b.u16() % (8 * len);
            let mut s = vec![0; len];
            s[len - 1 - j / 8] = 1 << (j % 8);
            if b.byte() & 1 == 1 {
                s = sub_small(&s, 1).unwrap_or(s);
            }
            s
        }
        _ => add_small(n, b.byte()).unwrap_or_else(|| vec![0xff; len]),
    }
}

/// A length of size class `class` (40 or 80 limbs).
fn length(b: &mut Bytes<'_>, class: usize) -> usize {
    let (kernel, lo, hi): (&[usize], usize, usize) = if class == 40 {
        (&[64, 128, 192, 256], 2, 259)
    } else {
        (&[384, 512], 260, MAX_LEN)
    };
    let pick = b.byte();
    if pick < 128 {
        kernel[usize::from(pick) % kernel.len()]
    } else {
        lo + b.u16() % (hi - lo + 1)
    }
}

/// `RSAPublicKey` DER of `n` with e = 65537.
fn rsa_public_key_der(n: &[u8]) -> Vec<u8> {
    fn int(v: &[u8], out: &mut Vec<u8>) {
        let pad = v[0] & 0x80 != 0;
        out.push(0x02);
        len(v.len() + usize::from(pad), out);
        if pad {
            out.push(0);
        }
        out.extend_from_slice(v);
    }
    fn len(l: usize, out: &mut Vec<u8>) {
        match l {
            0..=0x7f => out.push(l as u8),
            0x80..=0xff => out.extend_from_slice(&[0x81, l as u8]),
            _ => out.extend_from_slice(&[0x82, (l >> 8) as u8, l as u8]),
        }
    }
    let mut body = Vec::new();
    int(n, &mut body);
    int(&E65537, &mut body);
    let mut der = vec![0x30];
    len(body.len(), &mut der);
    der.extend_from_slice(&body);
    der
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes { data, at: 0 };
    let control = b.byte();
    let lanes = usize::from(control & 7) + 1;
    let class = if control & 8 == 0 { 40 } else { 80 };
    let foreign = control & 16 != 0 && lanes >= 2;
    let mut fill = Fill(u64::from(control >> 5) ^ data.len() as u64);

    let mut comps = Vec::new();
    let mut sigs = Vec::new();
    for lane in 0..lanes {
        let own = if foreign && lane == lanes - 1 {
            120 - class
        } else {
            class
        };
        let len = length(&mut b, own);
        let full = b.byte() & 1 == 1;
        let mut n = value(&mut b, &mut fill, len);
        n[len - 1] |= 1;
        if full {
            n[0] |= 0x80;
        } else if n[0] == 0 {
            n[0] = 1;
        }
        let s = input(&mut b, &mut fill, &n);
        comps.push(RsaComponents {
            n: n.into(),
            e: E65537.into(),
        });
        sigs.push(s);
    }

    let keys: Vec<MontKey> = comps
        .iter()
        .map(|c| MontKey::new(c).expect("an odd modulus of 2..=512 bytes with e = 65537"))
        .collect();
    for (k, c) in keys.iter().zip(&comps) {
        assert_eq!(Some(k.limbs()), limbs_for(c.n.len()));
    }
    // What each lane must give: the reference result, or refused (`None`). The reference
    // is aws-lc's raw operation where aws-lc parses the key, else the big-integer one
    // (`rsa_raw`, num-bigint's modpow, which was 47% of an execution when it ran on every
    // lane). Lane 0 runs both wherever aws-lc parses its key, so every execution still
    // checks the two references against each other.
    let mut want: Vec<Option<Vec<u8>>> = Vec::new();
    for (l, (c, s)) in comps.iter().zip(&sigs).enumerate() {
        let big = || {
            let mut out = vec![0u8; c.n.len()];
            rsa_raw::public_op(c, s, &mut out).map(|()| out)
        };
        let der = rsa_public_key_der(&c.n);
        let reference = if aws_lc::parses_rsa(&der) {
            let source = KeySource {
                algo: PkeyAlgo::Rsa,
                key: &der,
                cert: None,
            };
            let single = AwsLc.prepare(&source).expect("aws-lc parsed the key");
            let mut a = vec![0u8; c.n.len()];
            let aws = single.rsa_public(s, &mut a).map(|()| a);
            if l == 0 {
                assert_eq!(aws, big(), "aws-lc and bignum differ on lane {l}");
            }
            aws
        } else {
            big()
        };
        let same_class = keys[l].limbs() == keys[0].limbs();
        want.push(if same_class { reference } else { None });
    }

    let krefs: Vec<&MontKey> = keys.iter().collect();
    let srefs: Vec<&[u8]> = sigs.iter().map(|s| &s[..]).collect();
    for engine in Lanes::available() {
        let mut outs = [[SENTINEL; MAX_LEN]; LANES];
        let done = engine.public_ops(&krefs, &srefs, &mut outs[..lanes]);
        for (l, &d) in done.iter().enumerate() {
            let len = keys.get(l).map_or(0, MontKey::len);
            match want.get(l) {
                Some(Some(w)) => {
                    assert!(d, "{}: lane {l} refused an input below n", engine.name());
                    assert_eq!(&outs[l][..len], &w[..], "{}: lane {l}", engine.name());
                    assert!(outs[l][len..].iter().all(|&x| x == SENTINEL));
                }
                Some(None) => {
                    assert!(!d, "{}: lane {l} computed a refused input", engine.name());
                    assert!(outs[l].iter().all(|&x| x == SENTINEL));
                }
                None => assert!(!d, "{}: lane {l} beyond the batch", engine.name()),
            }
        }
    }
});
