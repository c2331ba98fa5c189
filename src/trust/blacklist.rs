//! Blacklist entry descriptions (`tbs:<hex>`, `bin:<hex>`) with the kernel's syntax rules
//! (certs/blacklist.c `blacklist_vet_description`).

use crate::errno::{Errno, KResult};
use crate::hash::hex;

/// What a blacklist hash applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashKind {
    /// Hash of an X.509 TBSCertificate, checked at certificate parse time.
    Tbs,
    /// Hash of a binary (file content), checked by IMA on request.
    Bin,
}

impl HashKind {
    /// The description prefix (before the colon) entries of this kind are stored under.
    pub fn prefix(self) -> &'static str {
        match self {
            HashKind::Tbs => "tbs",
            HashKind::Bin => "bin",
        }
    }
}

/// The description under which a hash is stored and looked up.
pub fn description(kind: HashKind, hash: &[u8]) -> String {
    match Description::new(kind, hash) {
        Some(d) => d.as_str().to_string(),
        None => format!("{}:{}", kind.prefix(), hex(hash)),
    }
}

/// Longest hash an entry can be stored under: [`vet`] accepts at most 128 hex digits.
pub const MAX_HASH_LEN: usize = 64;

/// `tbs`/`bin`, a colon, then up to 128 hex digits.
const MAX_DESCRIPTION: usize = 3 + 1 + 2 * MAX_HASH_LEN;

/// A description formatted on the stack, so that the hot path's blacklist lookups
/// (`is_hash_blacklisted`, once per IMA item under `check_blacklist` and once per certificate
/// parse) do not allocate. Same text as [`description`].
pub struct Description {
    buf: [u8; MAX_DESCRIPTION],
    len: usize,
}

impl Description {
    /// `kind:hex(hash)`; `None` when `hash` is longer than [`MAX_HASH_LEN`] (no entry can
    /// be stored under such a description).
    pub fn new(kind: HashKind, hash: &[u8]) -> Option<Description> {
        const D: &[u8; 16] = b"0123456789abcdef";
        if hash.len() > MAX_HASH_LEN {
            return None;
        }
        let mut buf = [0u8; MAX_DESCRIPTION];
        let p = kind.prefix().as_bytes();
        buf[..p.len()].copy_from_slice(p);
        buf[p.len()] = b':';
        let mut len = p.len() + 1;
        for b in hash {
            buf[len] = D[(b >> 4) as usize];
            buf[len + 1] = D[(b & 15) as usize];
            len += 2;
        }
        Some(Description { buf, len })
    }

    /// The description text.
    pub fn as_str(&self) -> &str {
        // Only ASCII was written (a prefix, a colon and hex digits), so this never fails;
        // the fallback keeps a bug from becoming a panic.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

/// Vets a user-supplied description: prefix `tbs` or `bin`, a colon, then an even number
/// (2..=128) of lowercase hex digits. More than 128 digits is `ENOPKG`; anything else
/// malformed is `EINVAL`.
pub fn vet(desc: &str) -> KResult<(HashKind, Vec<u8>)> {
    let (prefix, hexpart) = desc.split_once(':').ok_or(Errno::EINVAL)?;
    let kind = match prefix {
        "tbs" => HashKind::Tbs,
        "bin" => HashKind::Bin,
        _ => return Err(Errno::EINVAL),
    };
    // As the kernel: only the first 128 characters are checked for lowercase hex; anything
    // beyond them is "hash too long" whatever it contains.
    let ok_digit = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
    if !hexpart.bytes().take(128).all(ok_digit) {
        return Err(Errno::EINVAL);
    }
    if hexpart.len() > 128 {
        return Err(Errno::ENOPKG);
    }
    if hexpart.is_empty() || hexpart.len() % 2 != 0 {
        return Err(Errno::EINVAL);
    }
    let bytes = crate::hash::unhex(hexpart).ok_or(Errno::EINVAL)?;
    Ok((kind, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vetting_follows_the_kernel() {
        assert_eq!(vet("tbs:00ff").unwrap(), (HashKind::Tbs, vec![0, 0xff]));
        assert_eq!(vet("bin:00FF"), Err(Errno::EINVAL));
        assert_eq!(vet("bin:0"), Err(Errno::EINVAL));
        assert_eq!(vet("bin:"), Err(Errno::EINVAL));
        assert_eq!(vet("foo:00"), Err(Errno::EINVAL));
        assert_eq!(vet(&format!("tbs:{}", "ab".repeat(65))), Err(Errno::ENOPKG));
        assert!(vet(&format!("tbs:{}", "ab".repeat(64))).is_ok());
        assert_eq!(
            vet(&format!("tbs:{}AB", "ab".repeat(64))),
            Err(Errno::ENOPKG)
        );
        assert_eq!(description(HashKind::Bin, &[0xab]), "bin:ab");
        let h: Vec<u8> = (0..=255u8).cycle().take(MAX_HASH_LEN).collect();
        let d = Description::new(HashKind::Tbs, &h).unwrap();
        assert_eq!(d.as_str(), format!("tbs:{}", hex(&h)));
        assert!(vet(d.as_str()).is_ok());
        assert!(Description::new(HashKind::Tbs, &[0; MAX_HASH_LEN + 1]).is_none());
        assert_eq!(
            description(HashKind::Bin, &[0x5a; MAX_HASH_LEN + 1]),
            format!("bin:{}", "5a".repeat(MAX_HASH_LEN + 1))
        );
    }
}
