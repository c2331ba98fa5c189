//! Kernel error numbers as typed values.
//!
//! Every rejection in trustbench carries the errno the Linux kernel would return for the same
//! input, so a verdict can be compared line by line with `keyctl` and the module loader. The
//! numeric values are the asm-generic ones (x86, arm64, riscv), which is what `/proc` and
//! `keyctl` report on the machines we compare against.

use std::fmt;

/// A kernel errno, named as in `<asm-generic/errno*.h>`.
///
/// Only the values that the keyring, asymmetric-key, module-signing and IMA code paths can
/// produce are listed; anything else that a live kernel returns is kept as [`Errno::Other`]
/// so that a differential comparison never loses information.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Errno {
    EPERM,
    ENOENT,
    EIO,
    ENOMEM,
    EACCES,
    EEXIST,
    ENOTDIR,
    EINVAL,
    EFBIG,
    EDEADLK,
    ELOOP,
    ENODATA,
    ENOPKG,
    EBADMSG,
    EMSGSIZE,
    EOPNOTSUPP,
    ENOKEY,
    EKEYEXPIRED,
    EKEYREVOKED,
    EKEYREJECTED,
    /// Kernel-internal ENOTSUPP (524); never reaches userspace via keyctl but can appear in
    /// internal verifier results.
    ENOTSUPP,
    /// Any other errno number, kept verbatim.
    Other(i32),
}

impl Errno {
    /// The asm-generic number.
    pub fn code(self) -> i32 {
        use Errno::*;
        match self {
            EPERM => 1,
            ENOENT => 2,
            EIO => 5,
            ENOMEM => 12,
            EACCES => 13,
            EEXIST => 17,
            ENOTDIR => 20,
            EINVAL => 22,
            EFBIG => 27,
            EDEADLK => 35,
            ELOOP => 40,
            ENODATA => 61,
            ENOPKG => 65,
            EBADMSG => 74,
            EMSGSIZE => 90,
            EOPNOTSUPP => 95,
            ENOKEY => 126,
            EKEYEXPIRED => 127,
            EKEYREVOKED => 128,
            EKEYREJECTED => 129,
            ENOTSUPP => 524,
            Other(n) => n,
        }
    }

    /// Maps a raw errno number (as returned by a syscall) back to the typed value.
    pub fn from_code(code: i32) -> Errno {
        use Errno::*;
        const ALL: [Errno; 21] = [
            EPERM,
            ENOENT,
            EIO,
            ENOMEM,
            EACCES,
            EEXIST,
            ENOTDIR,
            EINVAL,
            EFBIG,
            EDEADLK,
            ELOOP,
            ENODATA,
            ENOPKG,
            EBADMSG,
            EMSGSIZE,
            EOPNOTSUPP,
            ENOKEY,
            EKEYEXPIRED,
            EKEYREVOKED,
            EKEYREJECTED,
            ENOTSUPP,
        ];
        ALL.into_iter()
            .find(|e| e.code() == code)
            .unwrap_or(Other(code))
    }

    /// The symbolic name (`"EKEYREJECTED"`), the form used in JSON output and scripts.
    pub fn name(self) -> String {
        match self {
            Errno::Other(n) => format!("E#{n}"),
            known => format!("{known:?}"),
        }
    }

    /// Parses a symbolic name produced by [`Errno::name`].
    pub fn from_name(name: &str) -> Option<Errno> {
        if let Some(n) = name.strip_prefix("E#") {
            return n.parse().ok().map(Errno::Other);
        }
        (1..=600)
            .map(Errno::from_code)
            .find(|e| !matches!(e, Errno::Other(_)) && e.name() == name)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl std::error::Error for Errno {}

/// Result type used throughout the trust model: the error is what the kernel would return.
pub type KResult<T> = Result<T, Errno>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for code in 1..600 {
            let e = Errno::from_code(code);
            assert_eq!(Errno::from_name(&e.name()), Some(e), "code {code}");
            assert_eq!(e.code(), code);
        }
        assert_eq!(Errno::EKEYREJECTED.name(), "EKEYREJECTED");
        assert_eq!(Errno::from_code(126), Errno::ENOKEY);
    }
}
