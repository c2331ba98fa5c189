//! The bad-item classes of a generated corpus: what the generator breaks in an item, by the
//! name specs (`bad.classes`) and manifests (the `class` column) use.

/// Bad-item classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BadClass {
    Tampered,
    UnknownSigner,
    Revoked,
    BlacklistedCert,
    BlacklistedHash,
    WrongHash,
    TruncatedTrailer,
    BadMagic,
    OversizedSigLen,
    MalformedPkcs7,
    MalformedImaHeader,
    MissingSignature,
    SignedAttributes,
    KeyidCollision,
}

impl BadClass {
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

    pub fn from_name(s: &str) -> Result<BadClass, String> {
        BadClass::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown bad class '{s}'"))
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
            assert_eq!(BadClass::from_name(c.name()), Ok(c));
            assert!(c.for_modules() || c.for_files(), "{c:?} applies to nothing");
        }
        assert!(BadClass::from_name("good").is_err());
    }
}
