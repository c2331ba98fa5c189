//! Hash algorithms as the kernel numbers and names them, and fixed-size digests.
//!
//! IMA headers carry the kernel's `enum hash_algo` number, PKCS#7 and X.509 carry OIDs, and
//! the kernel's RSA verifier needs the DigestInfo prefix of each hash; one table keeps the
//! three views consistent. Digests are fixed-size values (no heap), computed once per item.

use crate::errno::{Errno, KResult};
use crate::oid;
use std::fmt;

/// The kernel's `enum hash_algo` (include/uapi/linux/hash_info.h), in its numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum HashAlgo {
    Md4 = 0,
    Md5 = 1,
    Sha1 = 2,
    Rmd160 = 3,
    Sha256 = 4,
    Sha384 = 5,
    Sha512 = 6,
    Sha224 = 7,
    Rmd128 = 8,
    Rmd256 = 9,
    Rmd320 = 10,
    Wp256 = 11,
    Wp384 = 12,
    Wp512 = 13,
    Tgr128 = 14,
    Tgr160 = 15,
    Tgr192 = 16,
    Sm3 = 17,
    Streebog256 = 18,
    Streebog512 = 19,
    Sha3_256 = 20,
    Sha3_384 = 21,
    Sha3_512 = 22,
}

/// `HASH_ALGO__LAST`: IMA rejects header values at or above this with `ENOPKG`.
pub const HASH_ALGO_LAST: u8 = 23;

/// Largest digest any listed algorithm produces.
pub const MAX_DIGEST_LEN: usize = 64;

impl HashAlgo {
    /// All algorithms, in kernel order.
    pub const ALL: [HashAlgo; 23] = {
        use HashAlgo::*;
        [
            Md4,
            Md5,
            Sha1,
            Rmd160,
            Sha256,
            Sha384,
            Sha512,
            Sha224,
            Rmd128,
            Rmd256,
            Rmd320,
            Wp256,
            Wp384,
            Wp512,
            Tgr128,
            Tgr160,
            Tgr192,
            Sm3,
            Streebog256,
            Streebog512,
            Sha3_256,
            Sha3_384,
            Sha3_512,
        ]
    };

    /// Maps the IMA header byte; values ≥ `HASH_ALGO__LAST` give `ENOPKG` as in the kernel.
    pub fn from_kernel_id(id: u8) -> KResult<HashAlgo> {
        HashAlgo::ALL.get(id as usize).copied().ok_or(Errno::ENOPKG)
    }

    pub fn kernel_id(self) -> u8 {
        self as u8
    }

    /// The kernel's crypto API name (`hash_algo_name[]`), as used in `/proc/crypto`.
    pub fn name(self) -> &'static str {
        use HashAlgo::*;
        match self {
            Md4 => "md4",
            Md5 => "md5",
            Sha1 => "sha1",
            Rmd160 => "rmd160",
            Sha256 => "sha256",
            Sha384 => "sha384",
            Sha512 => "sha512",
            Sha224 => "sha224",
            Rmd128 => "rmd128",
            Rmd256 => "rmd256",
            Rmd320 => "rmd320",
            Wp256 => "wp256",
            Wp384 => "wp384",
            Wp512 => "wp512",
            Tgr128 => "tgr128",
            Tgr160 => "tgr160",
            Tgr192 => "tgr192",
            Sm3 => "sm3",
            Streebog256 => "streebog256",
            Streebog512 => "streebog512",
            Sha3_256 => "sha3-256",
            Sha3_384 => "sha3-384",
            Sha3_512 => "sha3-512",
        }
    }

    pub fn from_name(name: &str) -> Option<HashAlgo> {
        HashAlgo::ALL.into_iter().find(|h| h.name() == name)
    }

    /// Digest size in bytes (`hash_digest_size[]`).
    pub fn digest_len(self) -> usize {
        use HashAlgo::*;
        match self {
            Md4 | Md5 | Rmd128 | Tgr128 => 16,
            Sha1 | Rmd160 | Tgr160 => 20,
            Tgr192 => 24,
            Sha224 => 28,
            Sha256 | Rmd256 | Wp256 | Sm3 | Streebog256 | Sha3_256 => 32,
            Rmd320 => 40,
            Sha384 | Wp384 | Sha3_384 => 48,
            Sha512 | Wp512 | Streebog512 | Sha3_512 => 64,
        }
    }

    /// DER OID contents of the digest algorithm, for the hashes the kernel knows by OID.
    pub fn oid(self) -> Option<&'static [u8]> {
        use HashAlgo::*;
        Some(match self {
            Md5 => oid::MD5,
            Sha1 => oid::SHA1,
            Rmd160 => oid::RIPEMD160,
            Sha256 => oid::SHA256,
            Sha384 => oid::SHA384,
            Sha512 => oid::SHA512,
            Sha224 => oid::SHA224,
            Sha3_256 => oid::SHA3_256,
            Sha3_384 => oid::SHA3_384,
            Sha3_512 => oid::SHA3_512,
            Sm3 => oid::SM3,
            Streebog256 => oid::STREEBOG256,
            Streebog512 => oid::STREEBOG512,
            _ => return None,
        })
    }

    /// The digest algorithm named by a PKCS#7 `digestAlgorithm` OID; the kernel's set
    /// (pkcs7_sig_note_digest_algo): anything else is `ENOPKG`.
    pub fn from_pkcs7_oid(oid: &[u8]) -> KResult<HashAlgo> {
        use HashAlgo::*;
        [
            Sha1,
            Sha224,
            Sha256,
            Sha384,
            Sha512,
            Sha3_256,
            Sha3_384,
            Sha3_512,
            Sm3,
            Streebog256,
            Streebog512,
        ]
        .into_iter()
        .find(|h| h.oid() == Some(oid))
        .ok_or(Errno::ENOPKG)
    }

    /// The DER DigestInfo prefix that RSASSA-PKCS1-v1_5 puts before the digest. The kernel
    /// (crypto/rsassa-pkcs1.c) knows prefixes only for these hashes.
    pub fn digest_info_prefix(self) -> Option<([u8; 19], usize)> {
        use HashAlgo::*;
        if !matches!(
            self,
            Md5 | Sha1
                | Rmd160
                | Sha224
                | Sha256
                | Sha384
                | Sha512
                | Sha3_256
                | Sha3_384
                | Sha3_512
        ) {
            return None;
        }
        let oid = self.oid()?;
        // SEQUENCE { SEQUENCE { OID, NULL }, OCTET STRING (digest) }
        let alg_len = 2 + oid.len() + 2;
        let total = 2 + alg_len + 2 + self.digest_len();
        let mut p = [0u8; 19];
        let mut i = 0;
        for b in [
            0x30,
            total as u8,
            0x30,
            alg_len as u8,
            0x06,
            oid.len() as u8,
        ] {
            p[i] = b;
            i += 1;
        }
        p[i..i + oid.len()].copy_from_slice(oid);
        i += oid.len();
        for b in [0x05, 0x00, 0x04, self.digest_len() as u8] {
            p[i] = b;
            i += 1;
        }
        Some((p, i))
    }

    /// The aws-lc-rs algorithm computing this hash, where one exists.
    pub fn aws_lc(self) -> Option<&'static aws_lc_rs::digest::Algorithm> {
        use aws_lc_rs::digest as d;
        use HashAlgo::*;
        Some(match self {
            Sha1 => &d::SHA1_FOR_LEGACY_USE_ONLY,
            Sha224 => &d::SHA224,
            Sha256 => &d::SHA256,
            Sha384 => &d::SHA384,
            Sha512 => &d::SHA512,
            Sha3_256 => &d::SHA3_256,
            Sha3_384 => &d::SHA3_384,
            Sha3_512 => &d::SHA3_512,
            _ => return None,
        })
    }

    /// Whether trustbench can compute this hash at all: the aws-lc-rs set, plus md5
    /// (through aws-lc's C API), which IMA still reads from legacy hash labels and v2
    /// signature headers. Where the kernel refuses md5 (X.509 and PKCS#7 algorithm OIDs)
    /// the refusal is by OID, so being able to compute it changes nothing there.
    pub fn computable(self) -> bool {
        self.aws_lc().is_some() || self == HashAlgo::Md5
    }

    /// One-shot digest. `ENOPKG` when the hash cannot be computed here (as the kernel
    /// reports an unavailable hash).
    pub fn digest(self, data: &[u8]) -> KResult<Digest> {
        let mut h = Hasher::new(self)?;
        h.update(data);
        h.finish()
    }
}

impl fmt::Display for HashAlgo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Streaming hasher, so large files can be digested in chunks without a second buffer.
pub struct Hasher {
    algo: HashAlgo,
    ctx: Ctx,
}

/// The library state behind a [`Hasher`].
enum Ctx {
    AwsLc(aws_lc_rs::digest::Context),
    /// aws-lc-rs has no md5; aws-lc's C implementation does (state kept inline).
    Md5(aws_lc_sys::MD5_CTX),
}

impl Hasher {
    /// A hasher for `algo`; `ENOPKG` when trustbench cannot compute it.
    pub fn new(algo: HashAlgo) -> KResult<Self> {
        let ctx = match algo.aws_lc() {
            Some(alg) => Ctx::AwsLc(aws_lc_rs::digest::Context::new(alg)),
            None if algo == HashAlgo::Md5 => {
                // SAFETY: MD5_CTX is a plain C struct of integers and a byte buffer, for
                // which all-zero is a valid value; MD5_Init then sets it up in place.
                let mut c: aws_lc_sys::MD5_CTX = unsafe { std::mem::zeroed() };
                // SAFETY: `c` is a live, exclusively borrowed MD5_CTX.
                unsafe { aws_lc_sys::MD5_Init(&mut c) };
                Ctx::Md5(c)
            }
            None => return Err(Errno::ENOPKG),
        };
        Ok(Hasher { algo, ctx })
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.ctx {
            Ctx::AwsLc(c) => c.update(data),
            // SAFETY: `c` was set up by MD5_Init; pointer and length describe `data`.
            Ctx::Md5(c) => unsafe {
                aws_lc_sys::MD5_Update(c, data.as_ptr().cast(), data.len());
            },
        }
    }

    /// The digest; `EINVAL` only if the library returned a length other than the
    /// algorithm's (never expected, but not worth a panic).
    pub fn finish(self) -> KResult<Digest> {
        match self.ctx {
            Ctx::AwsLc(c) => Digest::new(self.algo, c.finish().as_ref()),
            Ctx::Md5(mut c) => {
                let mut out = [0u8; 16];
                // SAFETY: `out` holds MD5_DIGEST_LENGTH (16) bytes; `c` was set up by
                // MD5_Init.
                unsafe { aws_lc_sys::MD5_Final(out.as_mut_ptr(), &mut c) };
                Digest::new(self.algo, &out)
            }
        }
    }
}

/// A digest value with its algorithm; fixed size, `Copy`, no heap.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    algo: HashAlgo,
    len: u8,
    bytes: [u8; MAX_DIGEST_LEN],
}

impl Digest {
    /// Wraps raw digest bytes; `EINVAL` if the length is not the algorithm's.
    pub fn new(algo: HashAlgo, bytes: &[u8]) -> KResult<Digest> {
        if bytes.len() != algo.digest_len() {
            return Err(Errno::EINVAL);
        }
        let mut d = Digest {
            algo,
            len: bytes.len() as u8,
            bytes: [0; MAX_DIGEST_LEN],
        };
        d.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(d)
    }

    pub fn algo(&self) -> HashAlgo {
        self.algo
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    pub fn hex(&self) -> String {
        hex(self.as_bytes())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algo, self.hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algo, self.hex())
    }
}

/// Lowercase hex, the form the kernel prints ids and blacklist entries in.
pub fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(D[(b >> 4) as usize] as char);
        s.push(D[(b & 15) as usize] as char);
    }
    s
}

/// Decodes hex of either case, even length only (the kernel's `hex2bin` rules for search
/// strings); `None` on anything else.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let v = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(v(p[0])? << 4 | v(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1321's test suite values, through the streaming path too.
    #[test]
    fn md5_through_aws_lc() {
        let d = HashAlgo::Md5.digest(b"").unwrap();
        assert_eq!(d.hex(), "d41d8cd98f00b204e9800998ecf8427e");
        let mut h = Hasher::new(HashAlgo::Md5).unwrap();
        h.update(b"message ");
        h.update(b"digest");
        assert_eq!(
            h.finish().unwrap().hex(),
            "f96b697d7cb7938d525a2f31aaf161d0"
        );
        assert!(HashAlgo::Md5.computable());
    }

    #[test]
    fn digest_info_prefixes_match_rfc8017() {
        let (p, n) = HashAlgo::Sha256.digest_info_prefix().unwrap();
        assert_eq!(hex(&p[..n]), "3031300d060960864801650304020105000420");
        let (p, n) = HashAlgo::Sha1.digest_info_prefix().unwrap();
        assert_eq!(hex(&p[..n]), "3021300906052b0e03021a05000414");
        let (p, n) = HashAlgo::Sha512.digest_info_prefix().unwrap();
        assert_eq!(hex(&p[..n]), "3051300d060960864801650304020305000440");
        let (p, n) = HashAlgo::Md5.digest_info_prefix().unwrap();
        assert_eq!(hex(&p[..n]), "3020300c06082a864886f70d020505000410");
        assert!(HashAlgo::Sm3.digest_info_prefix().is_none());
    }

    #[test]
    fn kernel_ids_and_sizes() {
        for (i, h) in HashAlgo::ALL.iter().enumerate() {
            assert_eq!(h.kernel_id() as usize, i);
            assert_eq!(HashAlgo::from_name(h.name()), Some(*h));
        }
        assert_eq!(HashAlgo::from_kernel_id(23), Err(Errno::ENOPKG));
        let d = HashAlgo::Sha256.digest(b"abc").unwrap();
        assert_eq!(
            d.hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(unhex("00fFaB"), Some(vec![0, 0xff, 0xab]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(hex(&[0xde, 0xad]), "dead");
    }
}
