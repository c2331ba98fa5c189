//! Keys as the kernel's asymmetric key type holds them.
//!
//! A key carries what the kernel stores in its payload at creation time: the three ids, the
//! certificate's own signature record with its three authority ids (so a later link can be
//! judged without re-parsing), the CA / keyCertSign / digitalSignature flags, the
//! description, and the public key already parsed into a backend handle.

use crate::crypto::{Encoding, PublicKey, SigAlgo, SignatureRecord, Signed};
use crate::hash::{hex, Digest, HashAlgo};

/// A kernel key serial number (positive, unique per store).
pub type Serial = i32;

/// The kernel's `asymmetric_key_ids` of a key: what lookups match against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyIds {
    /// `id[0]`: serialNumber contents ‖ issuer Name contents. Always present.
    pub id: Box<[u8]>,
    /// `id[1]`: subjectKeyIdentifier bytes, when the extension is present.
    pub skid: Option<Box<[u8]>>,
    /// `id[2]`: subject Name contents (the `dn:` lookup).
    pub subject: Box<[u8]>,
}

/// The authority ids of a certificate's signature (`public_key_signature.auth_ids`): how
/// the issuer is looked up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthIds {
    /// `auth_ids[0]`: AKID authorityCertSerialNumber ‖ directoryName contents.
    pub serial_issuer: Option<Box<[u8]>>,
    /// `auth_ids[1]`: AKID keyIdentifier.
    pub keyid: Option<Box<[u8]>>,
    /// `auth_ids[2]`: the issuer Name contents.
    pub issuer: Option<Box<[u8]>>,
}

impl AuthIds {
    pub fn all_absent(&self) -> bool {
        self.serial_issuer.is_none() && self.keyid.is_none() && self.issuer.is_none()
    }
}

/// The certificate's own signature, retained so restrictions can verify it at link time.
#[derive(Clone, Debug)]
pub struct CertSignature {
    pub algo: SigAlgo,
    pub encoding: Encoding,
    /// The signature's hash; `None` ("none") for ML-DSA, which signs the TBS itself.
    pub hash: Option<HashAlgo>,
    pub signature: Box<[u8]>,
    /// What the signature covers: the digest of the whole TBSCertificate with `hash`
    /// (RSA, ECDSA), or, for ML-DSA, the TBSCertificate DER itself (in `tbs`).
    pub tbs_digest: Option<Digest>,
    /// The TBSCertificate DER itself, kept when the signature covers it (ML-DSA) or the
    /// store's backend hashes messages itself ([`crate::crypto::Backend::hashes_message`]):
    /// the others need only the digest, and a keyring of a million keys should not hold a
    /// million TBS copies for nothing.
    pub tbs: Option<Box<[u8]>>,
    pub auth_ids: AuthIds,
}

impl CertSignature {
    /// The record a restriction or chain step verifies this certificate's signature with.
    pub fn record(&self) -> SignatureRecord<'_> {
        let signed = match (self.tbs_digest, self.tbs.as_deref()) {
            (Some(d), _) => Signed::Digest(d),
            (None, tbs) => Signed::Data {
                hash: self.hash,
                data: tbs.unwrap_or_default(),
            },
        };
        SignatureRecord {
            algo: Some(self.algo),
            encoding: self.encoding,
            signed,
            signature: &self.signature,
            message: self.tbs_digest.and(self.tbs.as_deref()),
        }
    }
}

/// Extension flags (`KEY_EFLAG_*`) as the kernel decodes them, quirks included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyFlags {
    pub ca: bool,
    pub digital_signature: bool,
    pub key_cert_sign: bool,
}

/// An X.509-derived asymmetric key.
#[derive(Debug)]
pub struct AsymmetricKey {
    pub ids: KeyIds,
    /// `None` when the certificate's signature hash is unavailable ("unsupported sig"):
    /// the kernel then drops the auth slot and restrictions answer `ENOPKG`.
    pub auth: Option<CertSignature>,
    pub flags: KeyFlags,
    pub public: PublicKey,
    /// `<name>: <hex of SKID or serial>`, the /proc/keys description.
    pub description: String,
    pub self_signed: bool,
    /// The raw SKID or serial the description's hex came from.
    pub fingerprint_tail: Box<[u8]>,
}

impl AsymmetricKey {
    /// Whether `v` matches exactly either `id[0]` or `id[1]` (`ex:` search).
    pub fn matches_exact(&self, v: &[u8]) -> bool {
        &*self.ids.id == v || self.ids.skid.as_deref() == Some(v)
    }

    /// Whether `v` is a tail of `id[0]` or `id[1]` (`id:` search).
    pub fn matches_partial(&self, v: &[u8]) -> bool {
        self.ids.id.ends_with(v) || self.ids.skid.as_deref().is_some_and(|s| s.ends_with(v))
    }

    /// `/proc/keys` suffix: `X509.rsa 5f9bda39 []`.
    pub fn proc_keys_suffix(&self) -> String {
        let tail = self
            .ids
            .skid
            .as_deref()
            .map(|s| hex(&s[s.len().saturating_sub(4)..]))
            .unwrap_or_default();
        let algo = match self.public.algo() {
            crate::crypto::PkeyAlgo::Rsa => "rsa".to_string(),
            other => other.kernel_name().to_string(),
        };
        format!("X509.{algo} {tail} []")
    }
}
