//! Signing as the real tools do: module signatures exactly as `scripts/sign-file` writes
//! them (detached SignedData, no certificates, no signed attributes, issuer+serial or SKID
//! signer id; for ML-DSA also the signed-attributes form sign-file 7.0 writes when built
//! against OpenSSL 3.x), IMA v2 signatures as `evmctl ima_sign --sigfile` writes them and
//! IMA v3 signatures over `ima_file_id`.
//!
//! RSA and ECDSA keys are aws-lc-rs key pairs; the content is digested once and the digest
//! is signed. ML-DSA keys are RustCrypto `ml-dsa` keys that sign the data itself (pure
//! ML-DSA, empty context, as the kernel verifies) with FIPS 204's deterministic variant,
//! so a seeded corpus is reproducible byte for byte.

use super::der;
use super::keys::{self, KeyAlgo};
use crate::algo::MlDsa;
use crate::crypto::Curve;
use crate::error::Error;
use crate::formats::{imasig, modsig};
use crate::hash::{Digest, HashAlgo};
use crate::oid;
use aws_lc_rs::digest as d;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair};

/// A private key able to sign prehashed digests, with the name of its certificate, which
/// its errors carry ([`Error::Input`] naming the key).
pub struct SigningKey {
    name: String,
    kind: KeyKind,
}

enum KeyKind {
    Rsa(RsaKeyPair),
    Ecdsa(Curve, EcdsaKeyPair),
    MlDsa(MlDsaKey),
}

/// An ML-DSA signing key of one parameter set (the crate types them by parameter set).
/// Boxed: an expanded key is 40 to 105 KB (its matrix Â included).
enum MlDsaKey {
    L44(Box<ml_dsa::SigningKey<ml_dsa::MlDsa44>>),
    L65(Box<ml_dsa::SigningKey<ml_dsa::MlDsa65>>),
    L87(Box<ml_dsa::SigningKey<ml_dsa::MlDsa87>>),
}

impl MlDsaKey {
    fn from_seed(level: MlDsa, xi: [u8; 32]) -> MlDsaKey {
        let seed = ml_dsa::Seed::from(xi);
        match level {
            MlDsa::L44 => MlDsaKey::L44(Box::new(ml_dsa::SigningKey::from_seed(&seed))),
            MlDsa::L65 => MlDsaKey::L65(Box::new(ml_dsa::SigningKey::from_seed(&seed))),
            MlDsa::L87 => MlDsaKey::L87(Box::new(ml_dsa::SigningKey::from_seed(&seed))),
        }
    }

    fn level(&self) -> MlDsa {
        match self {
            MlDsaKey::L44(_) => MlDsa::L44,
            MlDsaKey::L65(_) => MlDsa::L65,
            MlDsaKey::L87(_) => MlDsa::L87,
        }
    }

    /// The FIPS 204 pkEncode of the public key (ρ ‖ t1).
    fn public_key(&self) -> Vec<u8> {
        use ml_dsa::Keypair;
        match self {
            MlDsaKey::L44(k) => k.verifying_key().encode().to_vec(),
            MlDsaKey::L65(k) => k.verifying_key().encode().to_vec(),
            MlDsaKey::L87(k) => k.verifying_key().encode().to_vec(),
        }
    }

    /// Pure ML-DSA over `msg`, empty context, deterministic (rnd = 0³²).
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ml_dsa::Error> {
        use ml_dsa::Signer;
        Ok(match self {
            MlDsaKey::L44(k) => k.try_sign(msg)?.encode().to_vec(),
            MlDsaKey::L65(k) => k.try_sign(msg)?.encode().to_vec(),
            MlDsaKey::L87(k) => k.try_sign(msg)?.encode().to_vec(),
        })
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            KeyKind::Rsa(k) => write!(f, "{}: Rsa({} bits)", self.name, k.public_modulus_len() * 8),
            KeyKind::Ecdsa(c, _) => write!(f, "{}: Ecdsa({c:?})", self.name),
            KeyKind::MlDsa(k) => write!(f, "{}: {}", self.name, k.level().name()),
        }
    }
}

impl SigningKey {
    /// From PKCS#8 DER of an `algo` key; `name` (the certificate's) names it in errors.
    pub fn from_pkcs8(name: &str, pkcs8: &[u8], algo: KeyAlgo) -> Result<SigningKey, Error> {
        let err = |message: String| Error::Input {
            path: name.into(),
            message,
        };
        let kind = match algo {
            KeyAlgo::Rsa(_) => RsaKeyPair::from_pkcs8(pkcs8)
                .map(KeyKind::Rsa)
                .map_err(|e| err(format!("RSA key: {e}")))?,
            KeyAlgo::P256 | KeyAlgo::P384 => {
                let (c, alg) = if algo == KeyAlgo::P256 {
                    (Curve::P256, &sig::ECDSA_P256_SHA256_ASN1_SIGNING)
                } else {
                    (Curve::P384, &sig::ECDSA_P384_SHA384_ASN1_SIGNING)
                };
                EcdsaKeyPair::from_pkcs8(alg, pkcs8)
                    .map(|k| KeyKind::Ecdsa(c, k))
                    .map_err(|e| err(format!("EC key: {e}")))?
            }
            KeyAlgo::MlDsa(level) => {
                let xi = keys::ml_dsa_seed(level, pkcs8)
                    .ok_or_else(|| err(format!("not a seed-only {} PKCS#8 key", level.name())))?;
                KeyKind::MlDsa(MlDsaKey::from_seed(level, xi))
            }
        };
        Ok(SigningKey {
            name: name.to_string(),
            kind,
        })
    }

    /// The name of the key's certificate.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn err(&self, message: String) -> Error {
        Error::Input {
            path: self.name.as_str().into(),
            message,
        }
    }

    /// The ML-DSA parameter set of an ML-DSA key; `None` for RSA and ECDSA.
    pub fn ml_dsa(&self) -> Option<MlDsa> {
        match &self.kind {
            KeyKind::MlDsa(k) => Some(k.level()),
            _ => None,
        }
    }

    /// The raw public key of an ML-DSA key (its SubjectPublicKeyInfo BIT STRING after the
    /// unused-bits byte); `None` for RSA and ECDSA, whose SPKI rcgen's key pair gives.
    pub fn ml_dsa_public_key(&self) -> Option<Vec<u8>> {
        match &self.kind {
            KeyKind::MlDsa(k) => Some(k.public_key()),
            _ => None,
        }
    }

    /// Signs a message as the kernel verifies it for this key: ML-DSA over the message
    /// itself (`hash` unused), RSA/ECDSA over its `hash` digest ([`Self::sign_digest`]).
    /// Certificates (the TBS), IMA v3 (`ima_file_id`) and signed attributes use it.
    pub fn sign_message(&self, msg: &[u8], hash: HashAlgo) -> Result<Vec<u8>, Error> {
        match &self.kind {
            KeyKind::MlDsa(k) => k
                .sign(msg)
                .map_err(|e| self.err(format!("{} signing failed: {e}", k.level().name()))),
            _ => {
                let d = hash
                    .digest(msg)
                    .map_err(|e| self.err(format!("{hash} of the message: {e}")))?;
                self.sign_digest(&d)
            }
        }
    }

    /// Signs a digest: RSASSA-PKCS1-v1_5 with the digest's DigestInfo, or ECDSA over the
    /// digest (brought to the curve's length, as verification reads it). ML-DSA keys sign
    /// data, never a digest: refused ([`Self::sign_message`]).
    pub fn sign_digest(&self, digest: &Digest) -> Result<Vec<u8>, Error> {
        let alg = digest
            .algo()
            .aws_lc()
            .ok_or_else(|| self.err(format!("cannot sign with {}", digest.algo())))?;
        match &self.kind {
            KeyKind::Rsa(k) => {
                let enc: &'static dyn sig::RsaEncoding = match digest.algo() {
                    HashAlgo::Sha256 => &sig::RSA_PKCS1_SHA256,
                    HashAlgo::Sha384 => &sig::RSA_PKCS1_SHA384,
                    HashAlgo::Sha512 => &sig::RSA_PKCS1_SHA512,
                    h => return Err(self.err(format!("RSA signing with {h} is not supported"))),
                };
                let dg = d::Digest::import_less_safe(digest.as_bytes(), alg)
                    .map_err(|e| self.err(format!("{} digest: {e}", digest.algo())))?;
                let mut out = vec![0u8; k.public_modulus_len()];
                k.sign_digest(enc, &dg, &mut out)
                    .map_err(|e| self.err(format!("RSA signing failed: {e}")))?;
                Ok(out)
            }
            KeyKind::Ecdsa(c, k) => {
                let native = match c {
                    Curve::P256 => &d::SHA256,
                    _ => &d::SHA384,
                };
                let want = native.output_len;
                let got = digest.as_bytes();
                let mut buf = vec![0u8; want];
                if got.len() >= want {
                    buf.copy_from_slice(&got[..want]);
                } else {
                    buf[want - got.len()..].copy_from_slice(got);
                }
                let dg = d::Digest::import_less_safe(&buf, native)
                    .map_err(|e| self.err(format!("{} digest: {e}", digest.algo())))?;
                k.sign_digest(&dg)
                    .map(|s| s.as_ref().to_vec())
                    .map_err(|e| self.err(format!("ECDSA signing failed: {e}")))
            }
            KeyKind::MlDsa(k) => Err(self.err(format!(
                "{} signs data, not a {} digest",
                k.level().name(),
                digest.algo()
            ))),
        }
    }

    /// The signerInfo's signature AlgorithmIdentifier: rsaEncryption with NULL, as
    /// sign-file writes it, ecdsa-with-`hash` without parameters, or id-ml-dsa-NN without
    /// parameters (RFC 9882).
    fn signature_alg(&self, hash: HashAlgo) -> Vec<u8> {
        match &self.kind {
            KeyKind::MlDsa(k) => der::alg(k.level().oid()),
            KeyKind::Rsa(_) => der::alg_null(oid::RSA_ENCRYPTION),
            KeyKind::Ecdsa(..) => {
                let last = match hash {
                    HashAlgo::Sha224 => 1,
                    HashAlgo::Sha384 => 3,
                    HashAlgo::Sha512 => 4,
                    _ => 2,
                };
                if hash == HashAlgo::Sha1 {
                    der::alg(oid::ECDSA_SHA1)
                } else {
                    der::alg(&[oid::ECDSA_SHA2, &[last]].concat())
                }
            }
        }
    }
}

/// How the signerInfo names its signer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignerIdKind {
    /// sign-file's default.
    IssuerSerial,
    /// sign-file `-k`.
    Skid,
}

/// What identifies a signer certificate in a signerInfo.
#[derive(Clone, Debug)]
pub struct SignerRef {
    /// The issuer Name, full DER encoding.
    pub issuer_der: Vec<u8>,
    /// serialNumber INTEGER contents.
    pub serial: Vec<u8>,
    /// The subjectKeyIdentifier (sign-file `-k` names the signer by it; its last four
    /// bytes are the IMA keyid).
    pub skid: Vec<u8>,
}

/// Options of a SignedData: the signed-attributes form, and what makes one deliberately
/// wrong (bad-item classes).
#[derive(Clone, Copy, Debug, Default)]
pub struct Pkcs7Quirks {
    /// Declare this digest algorithm while signing the real digest.
    pub declared_hash: Option<HashAlgo>,
    /// Add authenticated attributes (contentType, messageDigest), which module signatures
    /// must not carry (the kernel refuses them, "has authattrs", unless its ML-DSA waiver
    /// is configured). For an ML-DSA key this is what sign-file 7.0 writes when built
    /// against OpenSSL 3.x (it drops CMS_NOATTR for ML-DSA): the attributes OpenSSL
    /// writes under sign-file's flags (no signingTime: CMS_NO_SIGNING_TIME; no
    /// SMIMECapabilities: CMS_NOSMIMECAP).
    pub signed_attributes: bool,
}

/// Builds the detached SignedData over `content`, whose `digest` the caller computed with
/// the module's hash (sign-file's output).
///
/// What is signed: without attributes, the digest (RSA/ECDSA) or the content itself
/// (ML-DSA, which the kernel verifies over the raw content [0, C)); with attributes, the
/// DER of the attributes as a SET (tag 0x31, the `[0]` element re-tagged): its digest for
/// RSA/ECDSA, the bytes themselves for ML-DSA.
pub fn pkcs7(
    key: &SigningKey,
    signer: &SignerRef,
    id: SignerIdKind,
    content: &[u8],
    digest: &Digest,
    quirks: Pkcs7Quirks,
) -> Result<Vec<u8>, Error> {
    let hash = digest.algo();
    let declared = quirks.declared_hash.unwrap_or(hash);
    let hash_oid = declared
        .oid()
        .ok_or_else(|| key.err(format!("{declared} has no OID")))?;
    let (attrs, signature) = if quirks.signed_attributes {
        let set_body = [
            der::seq(&[
                &der::oid(oid::CONTENT_TYPE),
                &der::tlv(0x31, &der::oid(oid::DATA)),
            ]),
            der::seq(&[
                &der::oid(oid::MESSAGE_DIGEST),
                &der::tlv(0x31, &der::tlv(0x04, digest.as_bytes())),
            ]),
        ]
        .concat();
        let signature = key.sign_message(&der::tlv(0x31, &set_body), hash)?;
        (der::tlv(0xa0, &set_body), signature)
    } else if key.ml_dsa().is_some() {
        (Vec::new(), key.sign_message(content, hash)?)
    } else {
        (Vec::new(), key.sign_digest(digest)?)
    };
    let (version, sid) = match id {
        SignerIdKind::IssuerSerial => (
            1,
            der::seq(&[&signer.issuer_der, &der::tlv(0x02, &signer.serial)]),
        ),
        SignerIdKind::Skid => (3, der::tlv(0x80, &signer.skid)),
    };
    // As OpenSSL's CMS writes it for sign-file: digest AlgorithmIdentifiers without
    // parameters (rsaEncryption keeps its NULL).
    let digest_alg = der::alg(hash_oid);
    let signer_info = der::seq(&[
        &der::small_int(version),
        &sid,
        &digest_alg,
        &attrs,
        &key.signature_alg(declared),
        &der::tlv(0x04, &signature),
    ]);
    let signed_data = der::seq(&[
        &der::small_int(version),
        &der::tlv(0x31, &digest_alg),
        &der::seq(&[&der::oid(oid::DATA)]),
        &der::tlv(0x31, &signer_info),
    ]);
    Ok(der::seq(&[
        &der::oid(oid::SIGNED_DATA),
        &der::tlv(0xa0, &signed_data),
    ]))
}

/// Appends a signature to module content: content ‖ PKCS#7 ‖ header ‖ marker.
pub fn append_module_signature(content: &mut Vec<u8>, pkcs7: &[u8]) {
    content.extend_from_slice(pkcs7);
    content.extend_from_slice(&modsig::trailer(pkcs7.len()));
}

/// The IMA keyid of a certificate: the last four bytes of its SKID, as evmctl derives it;
/// `None` for a SKID shorter than that.
pub fn ima_keyid(skid: &[u8]) -> Option<u32> {
    match skid {
        [.., a, b, c, d] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

/// An IMA v2 xattr value (evmctl's `.sig` file): keyid = last 4 bytes of the SKID.
///
/// An ML-DSA key signs the digest bytes themselves (the v2 message): the kernel never
/// verifies that, since its v2 path has no encoding for ML-DSA keys (`ENOPKG`), which is
/// the negative case such items exist for.
pub fn ima_v2(key: &SigningKey, skid: &[u8], digest: &Digest) -> Result<Vec<u8>, Error> {
    let s = if key.ml_dsa().is_some() {
        key.sign_message(digest.as_bytes(), digest.algo())?
    } else {
        key.sign_digest(digest)?
    };
    ima_xattr(key, skid, 2, digest, &s)
}

/// The type-3 xattr value of signature `s` of `version`, keyid from the SKID's tail.
fn ima_xattr(
    key: &SigningKey,
    skid: &[u8],
    version: u8,
    digest: &Digest,
    s: &[u8],
) -> Result<Vec<u8>, Error> {
    let keyid = ima_keyid(skid).ok_or_else(|| key.err("SKID shorter than 4 bytes".into()))?;
    Ok(imasig::encode(
        imasig::TYPE_DIGSIG,
        version,
        digest.algo(),
        keyid,
        s,
    ))
}

/// An IMA v3 xattr value (type 3, version 3): the signature covers `ima_file_id`'s used
/// prefix `[3][hash algo][digest]` (2 + L bytes): directly for ML-DSA (the kernel's
/// hashless path, Linux 7.2), its `digest.algo()` digest for RSA/ECDSA (7.1). The keyid is
/// the SKID's last four bytes, as for v2.
pub fn ima_v3(key: &SigningKey, skid: &[u8], digest: &Digest) -> Result<Vec<u8>, Error> {
    let (id, n) = imasig::v3_file_id(imasig::TYPE_DIGSIG, digest);
    let s = key.sign_message(&id[..n], digest.algo())?;
    ima_xattr(key, skid, 3, digest, &s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ima_keyid_is_the_skid_tail() {
        assert_eq!(
            ima_keyid(&[9, 9, 0x12, 0x34, 0x56, 0x78]),
            Some(0x1234_5678)
        );
        assert_eq!(ima_keyid(&[0x12, 0x34, 0x56, 0x78]), Some(0x1234_5678));
        assert_eq!(ima_keyid(&[1, 2, 3]), None);
    }

    #[test]
    fn ecdsa_algorithm_identifiers_are_the_x962_oids() {
        let pkcs8 = super::super::keys::generate_pkcs8(KeyAlgo::P256, 1, "t").unwrap();
        let k = SigningKey::from_pkcs8("t", &pkcs8, KeyAlgo::P256).unwrap();
        let sha384 = [oid::ECDSA_SHA2, &[3]].concat();
        assert_eq!(k.signature_alg(HashAlgo::Sha384), der::alg(&sha384));
        assert_eq!(k.signature_alg(HashAlgo::Sha1), der::alg(oid::ECDSA_SHA1));
        let md4 = Digest::new(HashAlgo::Md4, &[0; 16]).unwrap();
        let e = k.sign_digest(&md4).unwrap_err();
        assert!(matches!(e, Error::Input { .. }), "{e:?}");
        assert!(e.to_string().starts_with("t: "), "{e}");
    }
}
