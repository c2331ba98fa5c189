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
    pub fn prefix(self) -> &'static str {
        match self {
            HashKind::Tbs => "tbs",
            HashKind::Bin => "bin",
        }
    }
}

/// The description under which a hash is stored and looked up.
pub fn description(kind: HashKind, hash: &[u8]) -> String {
    format!("{}:{}", kind.prefix(), hex(hash))
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
    }
}
