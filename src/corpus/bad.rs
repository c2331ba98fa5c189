//! The bad-item classes of a generated corpus: what the generator breaks in an item, by the
//! name specs (`bad.classes`) and manifests (the `class` column) use.

/// Bad-item classes: each is one way a real module or file goes wrong, so a corpus checks
/// that the verifier refuses it with the kernel's errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BadClass {
    /// A content byte flipped after signing (`EKEYREJECTED`).
    Tampered,
    /// Signed by a key no keyring holds (`ENOKEY`).
    UnknownSigner,
    /// Signed by a key whose certificate was revoked after it was linked (`EKEYREVOKED`).
    Revoked,
    /// Signed by a key whose certificate is blacklisted, so it was never admitted
    /// (`ENOKEY`).
    BlacklistedCert,
    /// An IMA file whose content hash is on the blacklist (`EPERM`).
    BlacklistedHash,
    /// The signature declares another hash algorithm than the one signed.
    WrongHash,
    /// A module whose signature trailer is cut short (`ENODATA`: no signature found).
    TruncatedTrailer,
    /// A module whose trailer marker is damaged (`ENODATA`).
    BadMagic,
    /// A module whose trailer claims a signature longer than the file (`EBADMSG`).
    OversizedSigLen,
    /// A module whose PKCS#7 does not parse (`EBADMSG`).
    MalformedPkcs7,
    /// An IMA signature whose header is inconsistent (`EBADMSG`).
    MalformedImaHeader,
    /// No signature at all (`ENODATA`).
    MissingSignature,
    /// A module signature carrying authenticated attributes, which module signatures must
    /// not (`EKEYREJECTED`).
    SignedAttributes,
    /// An IMA file whose keyid is shared by an earlier-linked key of another size; the
    /// first match wins and fails (`EINVAL`).
    KeyidCollision,
}

impl BadClass {
    /// Every class, in the order specs and reports list them.
    pub const ALL: [BadClass; 14] = [
        BadClass::Tampered,
        BadClass::UnknownSigner,
        BadClass::Revoked,
        BadClass::BlacklistedCert,
        BadClass::BlacklistedHash,
        BadClass::WrongHash,
        BadClass::TruncatedTrailer,
        BadClass::BadMagic,
        BadClass::OversizedSigLen,
        BadClass::MalformedPkcs7,
        BadClass::MalformedImaHeader,
        BadClass::MissingSignature,
        BadClass::SignedAttributes,
        BadClass::KeyidCollision,
    ];

    /// The class's name in specs (`bad.classes`) and manifests (the `class` column).
    pub fn name(self) -> &'static str {
        match self {
            BadClass::Tampered => "tampered",
            BadClass::UnknownSigner => "unknown-signer",
            BadClass::Revoked => "revoked-signer",
            BadClass::BlacklistedCert => "blacklisted-cert",
            BadClass::BlacklistedHash => "blacklisted-hash",
            BadClass::WrongHash => "wrong-hash-algo",
            BadClass::TruncatedTrailer => "truncated-trailer",
            BadClass::BadMagic => "bad-magic",
            BadClass::OversizedSigLen => "oversized-sig-len",
            BadClass::MalformedPkcs7 => "malformed-pkcs7",
            BadClass::MalformedImaHeader => "malformed-ima-header",
            BadClass::MissingSignature => "missing-signature",
            BadClass::SignedAttributes => "signed-attributes",
            BadClass::KeyidCollision => "keyid-collision",
        }
    }

    /// The class [`name`](BadClass::name) names; `None` for any other string (the caller
    /// knows where the name came from and says so in its error).
    pub fn from_name(s: &str) -> Option<BadClass> {
        BadClass::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Whether the class applies to modules.
    pub fn for_modules(self) -> bool {
        !matches!(
            self,
            BadClass::BlacklistedHash | BadClass::MalformedImaHeader | BadClass::KeyidCollision
        )
    }

    /// Whether the class applies to IMA files.
    pub fn for_files(self) -> bool {
        !matches!(
            self,
            BadClass::TruncatedTrailer
                | BadClass::BadMagic
                | BadClass::OversizedSigLen
                | BadClass::MalformedPkcs7
                | BadClass::SignedAttributes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in BadClass::ALL {
            assert_eq!(BadClass::from_name(c.name()), Some(c));
            assert!(c.for_modules() || c.for_files(), "{c:?} applies to nothing");
        }
        assert_eq!(BadClass::from_name("good"), None);
    }
}
