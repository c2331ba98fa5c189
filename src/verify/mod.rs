//! Item → verdict, with the kernel's procedures: module signatures through PKCS#7 trust
//! against the selected keyring, IMA signatures through a 32-bit keyid lookup in `.ima`.

pub mod fsverity;
pub mod ima;
pub mod inputs;
pub mod module;

use crate::errno::Errno;
use crate::hash::Digest;
use crate::trust::Serial;

/// Which verifier judged an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemKind {
    Module,
    Ima,
}

impl ItemKind {
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::Module => "module",
            ItemKind::Ima => "ima",
        }
    }
}

/// The three verdict classes users act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VerdictClass {
    Valid,
    Unsigned,
    Invalid,
}

impl VerdictClass {
    pub fn name(self) -> &'static str {
        match self {
            VerdictClass::Valid => "valid",
            VerdictClass::Unsigned => "unsigned",
            VerdictClass::Invalid => "invalid",
        }
    }
}

/// One item's outcome. Allocation-free: the reason is static text, the signer a serial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub kind: ItemKind,
    pub class: VerdictClass,
    /// `None` when valid.
    pub errno: Option<Errno>,
    pub reason: &'static str,
    /// The key that verified (or that was found and rejected the signature).
    pub signer: Option<Serial>,
    /// The content digest the signature covers, when it was computed.
    pub digest: Option<Digest>,
}

impl Verdict {
    pub fn valid(kind: ItemKind, signer: Serial, digest: Option<Digest>) -> Verdict {
        Verdict {
            kind,
            class: VerdictClass::Valid,
            errno: None,
            reason: "signature verified",
            signer: Some(signer),
            digest,
        }
    }

    pub fn unsigned(kind: ItemKind, reason: &'static str) -> Verdict {
        Verdict {
            kind,
            class: VerdictClass::Unsigned,
            errno: Some(Errno::ENODATA),
            reason,
            signer: None,
            digest: None,
        }
    }

    pub fn invalid(kind: ItemKind, errno: Errno, reason: &'static str) -> Verdict {
        Verdict {
            kind,
            class: VerdictClass::Invalid,
            errno: Some(errno),
            reason,
            signer: None,
            digest: None,
        }
    }

    pub fn with_digest(mut self, d: Option<Digest>) -> Verdict {
        self.digest = d;
        self
    }

    pub fn with_signer(mut self, s: Option<Serial>) -> Verdict {
        self.signer = s;
        self
    }
}

/// A short human reason for an errno on the verification paths.
pub fn reason_for(e: Errno) -> &'static str {
    match e {
        Errno::ENOKEY => "no trusted key matches the signer",
        Errno::EKEYREJECTED => "signature rejected by the signer's key",
        Errno::EKEYREVOKED => "signer key is revoked",
        Errno::EBADMSG => "malformed signature data",
        Errno::ENOPKG => "algorithm not supported",
        Errno::EINVAL => "invalid signature parameters",
        Errno::ENOENT => "algorithm unavailable in the emulated kernel",
        Errno::EOPNOTSUPP => "unsupported signature format",
        Errno::EPERM => "content hash is blacklisted",
        Errno::EMSGSIZE => "message too large",
        _ => "verification failed",
    }
}
