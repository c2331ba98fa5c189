//! Item → verdict, with the kernel's procedures: module signatures through PKCS#7 trust
//! against the selected keyring, IMA signatures through a 32-bit keyid lookup in `.ima`.

/// Signature checks at once, deferred into a batch, or replayed from one.
pub mod checks;
/// IMA signature verification: `integrity_digsig_verify` → `asymmetric_verify`.
pub mod digsig;
/// fs-verity digests (IMA v3 signatures).
pub mod fsverity;
/// IMA appraisal: the kernel's rule for `security.ima` (hashes, signatures, no label).
pub mod ima;
/// Signature inputs for the measurement ceiling.
pub mod inputs;
/// Module signatures.
pub mod module;

use crate::errno::Errno;
use crate::hash::Digest;
use crate::trust::store::Store;
use crate::trust::Serial;

/// Which verifier judges an item: the module loader's signature check, or IMA appraisal.
/// Every item has exactly one kind, decided by [`ItemKind::of_path`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// A kernel module: the appended PKCS#7 signature, judged against the module keyring.
    Module,
    /// Any other file: its IMA signature (`security.ima`, else the `.sig` sidecar).
    Ima,
}

/// File-name endings that make a file a kernel module: `.ko` and the compressed forms
/// kmod supports.
pub const MODULE_SUFFIXES: [&str; 4] = [".ko", ".ko.gz", ".ko.xz", ".ko.zst"];

impl ItemKind {
    /// The one rule for "is this file a module?", used by `discover`, `verify`, `run`
    /// and to check a manifest's kind column: a file is a module exactly when its name
    /// ends with `.ko`, `.ko.gz`, `.ko.xz` or `.ko.zst`; anything else is an
    /// IMA-appraised file.
    ///
    /// Why the name and not the content: the kernel never classifies files. `finit_module`
    /// checks the signature of whatever descriptor it is handed, and IMA appraises a file
    /// because of the hook that opened it (`MODULE_CHECK` vs `FILE_CHECK`), not because of
    /// its bytes. Which files reach the module loader is decided in userspace by kmod:
    /// `depmod` indexes only files whose names end in `.ko` or `.ko` plus a compression
    /// suffix (libkmod's `kmod_exts`), and `modprobe` loads only what `depmod` indexed.
    /// So the name is the userspace fact that makes a file a module. Content decides only
    /// *how* it is read: like `kmod_file_open`, the engine picks the decompressor by magic,
    /// so a `.ko.xz` that no longer decompresses is a corrupt module (`EBADMSG`), and a
    /// `.ko` without the signature marker an unsigned module (`ENODATA`) — never an IMA
    /// file. A signed module under another name is verified as a module only when asked
    /// (`verify --kind module`). Reads no file: classification costs nothing per item and
    /// cannot fail.
    pub fn of_path(path: &std::path::Path) -> ItemKind {
        use std::os::unix::ffi::OsStrExt;
        let name = path.file_name().map_or(&[][..], |n| n.as_bytes());
        if MODULE_SUFFIXES.iter().any(|s| name.ends_with(s.as_bytes())) {
            ItemKind::Module
        } else {
            ItemKind::Ima
        }
    }

    /// The name used in reports, JSON records and the manifest's kind column.
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::Module => "module",
            ItemKind::Ima => "ima",
        }
    }

    /// The kind named `name` ([`ItemKind::name`]'s inverse), for manifests and arguments.
    pub fn from_name(name: &str) -> Option<ItemKind> {
        match name {
            "module" => Some(ItemKind::Module),
            "ima" => Some(ItemKind::Ima),
            _ => None,
        }
    }
}

/// The three verdict classes users act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VerdictClass {
    /// The signature verified against a trusted key.
    Valid,
    /// No signature at all (`ENODATA`): the kernel refuses it only when signatures are
    /// enforced.
    Unsigned,
    /// A signature that failed, or an item that could not be judged.
    Invalid,
}

impl VerdictClass {
    /// The name used in reports and JSON records.
    pub fn name(self) -> &'static str {
        match self {
            VerdictClass::Valid => "valid",
            VerdictClass::Unsigned => "unsigned",
            VerdictClass::Invalid => "invalid",
        }
    }
}

/// Where an IMA item's label (`security.ima` value) was read from: the xattr itself, or
/// evmctl's `.sig` sidecar standing in for it. One byte, so verdicts stay small.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImaSource {
    /// The file's `security.ima` xattr (what the kernel reads).
    Xattr,
    /// The `FILE.sig` sidecar.
    Sidecar,
}

impl ImaSource {
    /// The name in JSON records (`"ima_source"`): `xattr` or `sidecar`.
    pub fn name(self) -> &'static str {
        match self {
            ImaSource::Xattr => "xattr",
            ImaSource::Sidecar => "sidecar",
        }
    }
}

/// One item's outcome. Allocation-free: the reason is static text, the signer a serial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Which verifier judged the item.
    pub kind: ItemKind,
    /// Valid, unsigned or invalid.
    pub class: VerdictClass,
    /// `None` when valid.
    pub errno: Option<Errno>,
    /// A short human reason.
    pub reason: &'static str,
    /// The key that verified (or that was found and rejected the signature). `None` for
    /// a file appraised by a hash xattr: valid does not imply a signer.
    pub signer: Option<Serial>,
    /// The content digest the signature covers (or that a hash xattr was compared
    /// with), when it was computed.
    pub digest: Option<Digest>,
    /// IMA items: where the label came from (`None`: no label was found, or a module).
    pub ima_source: Option<ImaSource>,
    /// The store's crypto backend could not do a verification this verdict went through
    /// ([`crate::crypto::Unsupported`]: an algorithm, key or hash it lacks). The verdict is
    /// then not the backend's (its errno is the kernel's answer to crypto it does not have)
    /// and a comparison of backends leaves the item out for that backend.
    pub backend_unsupported: bool,
}

impl Verdict {
    /// A verified signature by `signer`.
    pub fn valid(kind: ItemKind, signer: Serial, digest: Option<Digest>) -> Verdict {
        Verdict {
            kind,
            class: VerdictClass::Valid,
            errno: None,
            reason: "signature verified",
            signer: Some(signer),
            digest,
            ima_source: None,
            backend_unsupported: false,
        }
    }

    /// An IMA file whose hash xattr matches its `digest` (a rule without imasig): valid,
    /// with no signer.
    pub fn valid_hash(kind: ItemKind, digest: Digest) -> Verdict {
        Verdict {
            kind,
            class: VerdictClass::Valid,
            errno: None,
            reason: "the file digest matches the hash in security.ima",
            signer: None,
            digest: Some(digest),
            ima_source: None,
            backend_unsupported: false,
        }
    }

    /// No signature (`ENODATA`).
    pub fn unsigned(kind: ItemKind, reason: &'static str) -> Verdict {
        Verdict {
            kind,
            class: VerdictClass::Unsigned,
            errno: Some(Errno::ENODATA),
            reason,
            signer: None,
            digest: None,
            ima_source: None,
            backend_unsupported: false,
        }
    }

    /// A failed verification with the kernel's errno.
    pub const fn invalid(kind: ItemKind, errno: Errno, reason: &'static str) -> Verdict {
        Verdict {
            kind,
            class: VerdictClass::Invalid,
            errno: Some(errno),
            reason,
            signer: None,
            digest: None,
            ima_source: None,
            backend_unsupported: false,
        }
    }

    /// The same verdict, carrying the content digest.
    pub fn with_digest(mut self, d: Option<Digest>) -> Verdict {
        self.digest = d;
        self
    }

    /// The same verdict, naming the key found.
    pub fn with_signer(mut self, s: Option<Serial>) -> Verdict {
        self.signer = s;
        self
    }

    /// The same verdict, marked [`Verdict::backend_unsupported`] when the count of
    /// unsupported verifications on this thread ([`crate::crypto::unsupported_count`])
    /// moved past `before` while it was reached, or when it is not valid and `store`'s
    /// gatekeepers refused keys the backend could not verify
    /// ([`Store::unsupported_admissions`]).
    pub fn with_unsupported_since(mut self, store: &Store, before: u64) -> Verdict {
        // A store whose gatekeepers refused keys for want of the backend's crypto has
        // other keyrings than the kernel's: a verdict other than valid may come from that.
        self.backend_unsupported = crate::crypto::unsupported_count() != before
            || (store.unsupported_admissions() > 0 && self.class != VerdictClass::Valid);
        self
    }

    /// The same verdict, naming where the IMA label came from.
    pub fn with_source(mut self, s: Option<ImaSource>) -> Verdict {
        self.ima_source = s;
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
        Errno::EMSGSIZE => {
            "message larger than the kernel decoder's 65535 bytes (pkcs7::MAX_MESSAGE)"
        }
        _ => "verification failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn modules_are_the_files_named_like_modules() {
        for p in [
            "a.ko",
            "/lib/modules/6.12/kernel/fs/ext4/ext4.ko.xz",
            "x.ko.gz",
            "x.ko.zst",
            "dir.ko/inner.ko",
        ] {
            assert_eq!(ItemKind::of_path(Path::new(p)), ItemKind::Module, "{p}");
        }
        for p in [
            "a.bin",
            "a.ko.sig",
            "a.ko.bz2",
            "a.kO",
            "a.ko.xz.bak",
            "ko",
            "dir.ko/inner.bin",
            "",
        ] {
            assert_eq!(ItemKind::of_path(Path::new(p)), ItemKind::Ima, "{p}");
        }
        // Non-UTF-8 names are judged by their bytes.
        use std::os::unix::ffi::OsStrExt;
        let odd = std::ffi::OsStr::from_bytes(b"\xff\xfe.ko");
        assert_eq!(ItemKind::of_path(Path::new(odd)), ItemKind::Module);
        for k in [ItemKind::Module, ItemKind::Ima] {
            assert_eq!(ItemKind::from_name(k.name()), Some(k));
        }
        assert_eq!(ItemKind::from_name("firmware"), None);
    }

    #[test]
    fn the_sidecar_path_is_the_item_path_plus_sig() {
        assert_eq!(
            ima::sidecar_path(Path::new("/x/y.bin")),
            Path::new("/x/y.bin.sig")
        );
        assert!(ima::is_sidecar(Path::new("/x/y.bin.sig")));
        assert!(!ima::is_sidecar(Path::new("/x/y.bin")));
    }
}
