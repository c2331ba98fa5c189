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
    /// An IMA file labelled with its own sha256 hash (type 4, `IMA_XATTR_DIGEST_NG`), not a
    /// signature: `EINVAL` ("IMA-signature-required") under the default imasig rule; valid
    /// under a rule without imasig (`--ima-accept-hash`).
    ImaHash,
    /// The legacy form: its sha1 hash from byte 1 (type 1, `IMA_XATTR_DIGEST`, 21 bytes):
    /// `EINVAL` under imasig, valid under the hash rule.
    ImaHashLegacy,
    /// A type-4 sha256 hash that is not the file's (one byte flipped): `EINVAL` under
    /// imasig, `EKEYREJECTED` ("invalid-hash") under the hash rule.
    ImaHashMismatch,
    /// A type-4 sha256 label holding only half a digest: `EINVAL` under both rules
    /// ("invalid-hash" with the kernel's `-EINVAL` under the hash rule).
    ImaHashShort,
    /// Hostile (`[hostile]`, never drawn by `bad.percent`): a module whose trailer's
    /// `sig_len` points outside the file: past its start, leaving no content byte, or
    /// huge (`0x7fffffff`, `0xffffffff`): `EBADMSG` (`mod_check_sig`).
    HostileSigLen,
    /// Hostile: `sig_len` 0, so the PKCS#7 is empty: `EBADMSG` (the decoder's overrun).
    HostileSigLenZero,
    /// Hostile: a file that is only a trailer: the 28-byte marker alone (unsigned,
    /// `ENODATA`), or the 12-byte header and the marker (`EBADMSG`: nothing before them).
    HostileTrailerOnly,
    /// Hostile: zero-length files: a module (`ENODATA`), an IMA file with no label
    /// (`ENODATA`), an IMA file whose signature covers the empty content (valid).
    HostileEmpty,
    /// Hostile: indefinite-length nesting thousands deep inside the PKCS#7 (the
    /// signerInfo's digestAlgorithm parameters, an ANY the kernel skips): valid when every
    /// level is closed, `EBADMSG` when one end-of-contents is missing.
    HostileDeepNesting,
    /// Hostile: DER of 64 KiB and more: a PKCS#7 carrying a 70 KiB certificate (`EMSGSIZE`,
    /// the decoder's 65535-byte limit), lengths in 3- and 4-octet long form inside a
    /// smaller one (`EBADMSG`, "Unsupported length").
    HostileHugeDer,
    /// Hostile: hundreds of signerInfos: unknown SKIDs before the real signer (valid:
    /// every unknown one is `ENOKEY` and skipped), or naming the real key with an empty
    /// signature first (`EKEYREJECTED`: a found key that fails is final).
    HostileManySigners,
    /// Hostile: as many embedded certificates as fit (valid), or thousands, past 64 KiB
    /// (`EMSGSIZE`).
    HostileManyCerts,
    /// Hostile: a certificate nested in a certificate (`SEQUENCE { Certificate }` in the
    /// certificate set): the X.509 grammar meets a SEQUENCE where the serial number goes,
    /// `EBADMSG`.
    HostileNestedCert,
    /// Hostile: IMA xattrs of every malformed header shape (empty, one byte, header only,
    /// sig_size too big, too small, zero, unknown hash, unknown versions and types, the
    /// largest value the header allows).
    HostileImaHeader,
    /// Hostile: many tiny files (`hostile.tiny_files`): one-byte IMA files, validly signed.
    HostileTiny,
}

impl BadClass {
    /// Every class, in the order specs and reports list them.
    pub const ALL: [BadClass; 18] = [
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
        BadClass::ImaHash,
        BadClass::ImaHashLegacy,
        BadClass::ImaHashMismatch,
        BadClass::ImaHashShort,
    ];

    /// The hostile families (`[hostile]` in a spec), in the order the generator writes
    /// them; `bad.classes` does not take them.
    pub const HOSTILE: [BadClass; 11] = [
        BadClass::HostileSigLen,
        BadClass::HostileSigLenZero,
        BadClass::HostileTrailerOnly,
        BadClass::HostileEmpty,
        BadClass::HostileDeepNesting,
        BadClass::HostileHugeDer,
        BadClass::HostileManySigners,
        BadClass::HostileManyCerts,
        BadClass::HostileNestedCert,
        BadClass::HostileImaHeader,
        BadClass::HostileTiny,
    ];

    /// Whether the class is a hostile family ([`BadClass::HOSTILE`]).
    pub fn is_hostile(self) -> bool {
        BadClass::HOSTILE.contains(&self)
    }

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
            BadClass::ImaHash => "ima-hash",
            BadClass::ImaHashLegacy => "ima-hash-sha1",
            BadClass::ImaHashMismatch => "ima-hash-mismatch",
            BadClass::ImaHashShort => "ima-hash-short",
            BadClass::HostileSigLen => "hostile-sig-len",
            BadClass::HostileSigLenZero => "hostile-sig-len-zero",
            BadClass::HostileTrailerOnly => "hostile-trailer-only",
            BadClass::HostileEmpty => "hostile-empty",
            BadClass::HostileDeepNesting => "hostile-deep-nesting",
            BadClass::HostileHugeDer => "hostile-huge-der",
            BadClass::HostileManySigners => "hostile-many-signers",
            BadClass::HostileManyCerts => "hostile-many-certs",
            BadClass::HostileNestedCert => "hostile-nested-cert",
            BadClass::HostileImaHeader => "hostile-ima-header",
            BadClass::HostileTiny => "hostile-tiny",
        }
    }

    /// The class [`name`](BadClass::name) names; `None` for any other string (the caller
    /// knows where the name came from and says so in its error).
    pub fn from_name(s: &str) -> Option<BadClass> {
        BadClass::ALL
            .into_iter()
            .chain(BadClass::HOSTILE)
            .find(|c| c.name() == s)
    }

    /// Whether the class applies to modules.
    pub fn for_modules(self) -> bool {
        !matches!(
            self,
            BadClass::HostileImaHeader
                | BadClass::HostileTiny
                | BadClass::BlacklistedHash
                | BadClass::MalformedImaHeader
                | BadClass::KeyidCollision
                | BadClass::ImaHash
                | BadClass::ImaHashLegacy
                | BadClass::ImaHashMismatch
                | BadClass::ImaHashShort
        )
    }

    /// Whether the class is a hash label (type 1 or 4) rather than a signature.
    pub fn is_ima_hash(self) -> bool {
        matches!(
            self,
            BadClass::ImaHash
                | BadClass::ImaHashLegacy
                | BadClass::ImaHashMismatch
                | BadClass::ImaHashShort
        )
    }

    /// The errno an IMA file of this class gets under a rule without imasig
    /// (`--ima-accept-hash`), when it differs from the manifest's (which holds the default
    /// rule's verdicts): `Some(None)` for valid. Hash labels are compared instead of
    /// refused; a blacklisted hash is not looked up (the kernel takes `check_blacklist`
    /// only on imasig rules), so its valid signature stands.
    pub fn errno_under_hash_rule(self) -> Option<Option<crate::errno::Errno>> {
        use crate::errno::Errno;
        match self {
            BadClass::ImaHash | BadClass::ImaHashLegacy | BadClass::BlacklistedHash => Some(None),
            BadClass::ImaHashMismatch => Some(Some(Errno::EKEYREJECTED)),
            BadClass::ImaHashShort => Some(Some(Errno::EINVAL)),
            _ => None,
        }
    }

    /// Whether the class applies to IMA files.
    pub fn for_files(self) -> bool {
        (!self.is_hostile()
            || matches!(
                self,
                BadClass::HostileEmpty | BadClass::HostileImaHeader | BadClass::HostileTiny
            ))
            && !matches!(
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
        for c in BadClass::ALL.into_iter().chain(BadClass::HOSTILE) {
            assert_eq!(BadClass::from_name(c.name()), Some(c));
            assert_eq!(c.is_hostile(), c.name().starts_with("hostile-"));
            assert!(c.for_modules() || c.for_files(), "{c:?} applies to nothing");
        }
        assert_eq!(BadClass::from_name("good"), None);
    }
}
