//! Kernel error numbers as typed values.
//!
//! Every rejection in trustbench carries the errno the Linux kernel would return for the same
//! input, so a verdict can be compared line by line with `keyctl` and the module loader. The
//! numeric values are the asm-generic ones (x86, arm64, riscv), which is what `/proc` and
//! `keyctl` report on the machines we compare against.
//!
//! The variants, their numbers and their names come from one list (the `errnos!` invocation
//! below); the enum, [`Errno::ALL`], [`Errno::code`], [`Errno::from_code`], [`Errno::name`]
//! and [`Errno::from_name`] are all generated from it, so they cannot disagree.

use std::fmt;

/// Generates [`Errno`] and its table from `NAME = number` entries.
macro_rules! errnos {
    ($($(#[$meta:meta])* $name:ident = $code:literal,)*) => {
        /// A kernel errno, named as in `<asm-generic/errno*.h>`.
        ///
        /// Only the values that the keyring, asymmetric-key, module-signing and IMA code paths
        /// can produce are listed; anything else that a live kernel returns is kept as
        /// [`Errno::Other`] so that a differential comparison never loses information.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Errno {
            $($(#[$meta])* $name,)*
            /// Any other errno number, kept verbatim.
            Other(i32),
        }

        impl Errno {
            /// Every named errno with its asm-generic number and its symbolic name.
            pub const ALL: &'static [(Errno, i32, &'static str)] =
                &[$((Errno::$name, $code, stringify!($name)),)*];

            /// The asm-generic number.
            pub const fn code(self) -> i32 {
                match self {
                    $(Errno::$name => $code,)*
                    Errno::Other(n) => n,
                }
            }

            /// Maps a raw errno number (as returned by a syscall) back to the typed value.
            pub const fn from_code(code: i32) -> Errno {
                match code {
                    $($code => Errno::$name,)*
                    n => Errno::Other(n),
                }
            }

            /// The symbolic name (`"EKEYREJECTED"`), static and allocation-free.
            ///
            /// [`Errno::Other`] has no name of its own and gives `"E#?"`; its full form
            /// `E#n` (the number) is what [`Display`](fmt::Display) writes, and that is the
            /// form JSON output, scripts and manifests carry.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => stringify!($name),)*
                    Errno::Other(_) => "E#?",
                }
            }
        }
    };
}

errnos! {
    EPERM = 1,
    ENOENT = 2,
    EIO = 5,
    ENOMEM = 12,
    EACCES = 13,
    EEXIST = 17,
    ENOTDIR = 20,
    EINVAL = 22,
    EFBIG = 27,
    EDEADLK = 35,
    ELOOP = 40,
    ENODATA = 61,
    ENOPKG = 65,
    EBADMSG = 74,
    EMSGSIZE = 90,
    EOPNOTSUPP = 95,
    ENOKEY = 126,
    EKEYEXPIRED = 127,
    EKEYREVOKED = 128,
    EKEYREJECTED = 129,
    /// Kernel-internal ENOTSUPP (524); never reaches userspace via keyctl but can appear in
    /// internal verifier results.
    ENOTSUPP = 524,
}

impl Errno {
    /// Parses what [`Display`](fmt::Display) writes: a symbolic name of [`Errno::ALL`]
    /// (`"EKEYREJECTED"`) or `E#n` for [`Errno::Other`]. Allocation-free.
    pub fn from_name(name: &str) -> Option<Errno> {
        if let Some(n) = name.strip_prefix("E#") {
            return n.parse().ok().map(Errno::Other);
        }
        Errno::ALL
            .iter()
            .find(|(_, _, s)| *s == name)
            .map(|(e, _, _)| *e)
    }
}

impl fmt::Display for Errno {
    /// The symbolic name, or `E#n` for [`Errno::Other`]; [`Errno::from_name`] reads it back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Errno::Other(n) => write!(f, "E#{n}"),
            known => f.write_str(known.name()),
        }
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
        for code in 1..=600 {
            let e = Errno::from_code(code);
            assert_eq!(e.code(), code);
            assert_eq!(Errno::from_name(&e.to_string()), Some(e), "code {code}");
            match e {
                Errno::Other(n) => {
                    assert_eq!(n, code);
                    assert_eq!(e.to_string(), format!("E#{code}"));
                    assert_eq!(e.name(), "E#?");
                }
                known => {
                    assert_eq!(Errno::from_name(known.name()), Some(known), "code {code}");
                    assert_eq!(known.to_string(), known.name());
                    assert_eq!(format!("{known:?}"), known.name());
                }
            }
        }
        assert_eq!(Errno::EKEYREJECTED.name(), "EKEYREJECTED");
        assert_eq!(Errno::from_code(126), Errno::ENOKEY);
        assert_eq!(Errno::from_name("E#-3"), Some(Errno::Other(-3)));
        assert_eq!(Errno::from_name("E#"), None);
        assert_eq!(Errno::from_name("E#?"), None);
        assert_eq!(Errno::from_name("einval"), None);
        assert_eq!(Errno::from_name(""), None);
    }

    #[test]
    fn table_is_consistent() {
        assert_eq!(Errno::ALL.len(), 21);
        for (i, &(e, code, name)) in Errno::ALL.iter().enumerate() {
            assert_eq!(e.code(), code, "{name}");
            assert_eq!(e.name(), name);
            assert_eq!(Errno::from_code(code), e, "{name}");
            assert!(name.starts_with('E') && name.bytes().all(|b| b.is_ascii_uppercase()));
            // Ascending numbers: every number and every name appears once.
            if let Some(&(_, prev, _)) = i.checked_sub(1).map(|j| &Errno::ALL[j]) {
                assert!(prev < code, "{name} out of order");
            }
            assert_eq!(
                Errno::ALL.iter().filter(|(_, _, n)| *n == name).count(),
                1,
                "{name}"
            );
        }
    }

    #[test]
    fn names_are_static() {
        fn is_static(_: &'static str) {}
        for &(e, _, _) in Errno::ALL {
            is_static(e.name());
        }
        is_static(Errno::Other(7).name());
        const NAME: &str = Errno::EKEYREJECTED.name();
        const CODE: i32 = Errno::ENOKEY.code();
        assert_eq!((NAME, CODE), ("EKEYREJECTED", 126));
    }
}
