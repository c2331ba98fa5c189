#![no_main]
//! IMA appraisal of a file-hash label (`security.ima` type 1, IMA_XATTR_DIGEST, and type 4,
//! IMA_XATTR_DIGEST_NG) through `verify::ima::verify_ima`, under both rules (`imasig`,
//! `hash`) and both kernel profiles (6.18, 7.2), with a structural oracle:
//!
//! - the algorithm the kernel hashes with is derived here from the label's bytes alone
//!   (type 4: byte 1 when < 23, else the boot default sha256; type 1: md5 for 17 bytes
//!   and for 21 bytes ending in four zeros, sha1 for other 21-byte values, else sha256)
//!   and must equal `ima_get_hash_algo`;
//! - under `imasig` a hash label is never valid (`EINVAL`, or `ENOPKG` for an algorithm
//!   the profile lacks);
//! - under `hash` it is valid exactly when the first digest-length bytes of the stored
//!   hash equal the content's digest, computed here independently of trustbench (sha2
//!   crate for SHA-2, aws-lc-rs for sha1 and SHA-3, aws-lc's `MD5` for md5); a stored
//!   hash shorter than the digest is `EINVAL`, a different one `EKEYREJECTED`; and a
//!   valid verdict carries exactly that digest and no signer. An algorithm neither side
//!   can compute is never valid.
//!
//! Input layout (missing bytes read as zero):
//! - byte 0: bit 0 the type (0: 1, 1: 4); bit 1 "honest" (the target writes the content's
//!   real digest); bits 2..4 an alteration of an honest hash (none, flip one bit, drop
//!   1..=8 trailing bytes, append 1..=8 bytes); bits 4..6 the shape of a type-1 label
//!   (md5 padded to 20 with zeros, sha1, md5 in 16, sha256);
//! - byte 1: the type-4 algorithm byte (any value, 23.. included);
//! - byte 2: the alteration's parameter;
//! - byte 3: n, then n literal hash bytes (used when not honest);
//! - the rest: the file content.
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sha2::Digest as _;
use trustbench::crypto::CryptoProfile;
use trustbench::errno::Errno;
use trustbench::hash::HashAlgo;
use trustbench::kernel_profile::KernelProfile;
use trustbench::trust::{KernelConfig, Store};
use trustbench::verify::ima::{ima_get_hash_algo, verify_ima, ImaPolicy, ImaRule};
use trustbench::verify::VerdictClass;

fn stores() -> &'static [Store; 2] {
    static S: OnceLock<[Store; 2]> = OnceLock::new();
    S.get_or_init(|| {
        [KernelProfile::V6_18, KernelProfile::V7_2].map(|kernel| {
            Store::new(
                KernelConfig {
                    kernel,
                    ..Default::default()
                },
                CryptoProfile::full(),
                trustbench::crypto::default_backend(),
            )
        })
    })
}

/// The content's digest with the kernel's algorithm number `id`, computed without
/// trustbench; `None` for an algorithm this target has no implementation of.
fn reference_digest(id: u8, data: &[u8]) -> Option<Vec<u8>> {
    use aws_lc_rs::digest as d;
    let awslc = |a: &'static d::Algorithm| Some(d::digest(a, data).as_ref().to_vec());
    match id {
        1 => {
            let mut out = [0u8; 16];
            // SAFETY: MD5 reads `len` bytes from `data` and writes 16 bytes to `out`.
            unsafe { aws_lc_sys::MD5(data.as_ptr(), data.len(), out.as_mut_ptr()) };
            Some(out.to_vec())
        }
        2 => awslc(&d::SHA1_FOR_LEGACY_USE_ONLY),
        4 => Some(sha2::Sha256::digest(data).to_vec()),
        5 => Some(sha2::Sha384::digest(data).to_vec()),
        6 => Some(sha2::Sha512::digest(data).to_vec()),
        7 => Some(sha2::Sha224::digest(data).to_vec()),
        20 => awslc(&d::SHA3_256),
        21 => awslc(&d::SHA3_384),
        22 => awslc(&d::SHA3_512),
        _ => None,
    }
}

/// `ima_get_hash_algo` for a hash label, from the kernel's rule (not trustbench's code):
/// the algorithm number and where the stored hash starts.
fn kernel_algo(value: &[u8]) -> (u8, usize) {
    const SHA256: u8 = 4;
    match value[0] {
        4 => match value.get(1) {
            Some(&a) if a < 23 => (a, 2),
            // Fewer than 2 bytes, or an algorithm at or above HASH_ALGO__LAST: the boot
            // default, and the hash (if any) still starts at byte 2.
            _ => (SHA256, 2),
        },
        _ => match value.len() {
            21 if value[17..21] == [0; 4] => (1, 1),
            21 => (2, 1),
            17 => (1, 1),
            _ => (SHA256, 1),
        },
    }
}

struct Bytes<'a>(&'a [u8], usize);

impl<'a> Bytes<'a> {
    fn byte(&mut self) -> u8 {
        let b = self.0.get(self.1).copied().unwrap_or(0);
        self.1 += 1;
        b
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let s = self.1.min(self.0.len());
        let e = (s + n).min(self.0.len());
        self.1 += n;
        &self.0[s..e]
    }
    fn rest(&self) -> &'a [u8] {
        &self.0[self.1.min(self.0.len())..]
    }
}

/// Builds the label the input describes (see the module documentation).
fn label(b: &mut Bytes<'_>) -> (Vec<u8>, &'static str) {
    let mode = b.byte();
    let algo_byte = b.byte();
    let param = b.byte();
    let n = usize::from(b.byte());
    let literal = b.take(n).to_vec();
    let content = b.rest();
    let ty: u8 = if mode & 1 == 0 { 1 } else { 4 };
    let mut v = vec![ty];
    if ty == 4 {
        v.push(algo_byte);
    }
    if mode & 2 == 0 {
        v.extend_from_slice(&literal);
        return (v, "literal");
    }
    let (id, pad) = if ty == 4 {
        (if algo_byte < 23 { algo_byte } else { 4 }, 0)
    } else {
        match (mode >> 4) & 3 {
            0 => (1, 4),
            1 => (2, 0),
            2 => (1, 0),
            _ => (4, 0),
        }
    };
    let Some(d) = reference_digest(id, content) else {
        v.extend_from_slice(&literal);
        return (v, "literal (no reference digest)");
    };
    let start = v.len();
    v.extend_from_slice(&d);
    v.extend(std::iter::repeat_n(0, pad));
    let k = usize::from(param % 8) + 1;
    match (mode >> 2) & 3 {
        0 => (v, "honest"),
        1 => {
            let bit = usize::from(param) % ((v.len() - start) * 8);
            v[start + bit / 8] ^= 1 << (bit % 8);
            (v, "honest, one bit flipped")
        }
        2 => {
            v.truncate(v.len().saturating_sub(k).max(start));
            (v, "honest, truncated")
        }
        _ => {
            v.extend(
                literal
                    .iter()
                    .copied()
                    .chain(std::iter::repeat(0xa5))
                    .take(k),
            );
            (v, "honest, bytes appended")
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data, 0);
    let (value, how) = label(&mut b);
    let content = b.rest();
    let (id, at) = kernel_algo(&value);
    let stored = value.get(at..).unwrap_or(&[]);
    let reference = reference_digest(id, content);
    for store in stores() {
        let rules = store.rules();
        assert_eq!(
            ima_get_hash_algo(Some(&value), &rules).kernel_id(),
            id,
            "ima_get_hash_algo of {value:02x?}"
        );
        let algo = HashAlgo::from_kernel_id(id).expect("id < 23");
        let available = store.profile().has_hash(algo);
        for rule in [ImaRule::Imasig, ImaRule::Hash] {
            let policy = ImaPolicy {
                check_blacklist: false,
                rule,
            };
            let v = verify_ima(store, content, Some(&value), policy);
            let ctx = || {
                format!(
                    "{} {rule:?} label {value:02x?} ({how}): {v:?}",
                    store.kernel()
                )
            };
            if !available {
                assert_eq!(v.class, VerdictClass::Invalid, "{}", ctx());
                assert_eq!(v.errno, Some(Errno::ENOPKG), "{}", ctx());
                continue;
            }
            if rule == ImaRule::Imasig {
                assert_eq!(v.class, VerdictClass::Invalid, "{}", ctx());
                assert_eq!(v.errno, Some(Errno::EINVAL), "{}", ctx());
                continue;
            }
            let Some(d) = &reference else {
                // trustbench computes it but this target cannot: at least never valid
                // without a stored hash of the right length.
                if stored.len() < algo.digest_len() {
                    assert_ne!(v.class, VerdictClass::Valid, "{}", ctx());
                }
                continue;
            };
            assert_eq!(d.len(), algo.digest_len(), "{algo} length");
            match stored.get(..d.len()) {
                None => {
                    assert_eq!(v.class, VerdictClass::Invalid, "{}", ctx());
                    assert_eq!(v.errno, Some(Errno::EINVAL), "{}", ctx());
                }
                Some(s) if s == &d[..] => {
                    assert_eq!(v.class, VerdictClass::Valid, "{}", ctx());
                    assert_eq!(v.errno, None, "{}", ctx());
                    assert!(v.signer.is_none(), "{}", ctx());
                    let got = v.digest.expect("a valid hash verdict has its digest");
                    assert_eq!(got.as_bytes(), &d[..], "{}", ctx());
                    assert_eq!(got.algo(), algo, "{}", ctx());
                }
                Some(_) => {
                    assert_eq!(v.class, VerdictClass::Invalid, "{}", ctx());
                    assert_eq!(v.errno, Some(Errno::EKEYREJECTED), "{}", ctx());
                }
            }
        }
    }
});
