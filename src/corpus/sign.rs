//! Signing as the real tools do: module signatures exactly as `scripts/sign-file` writes
//! them (detached SignedData, no certificates, no signed attributes, issuer+serial or SKID
//! signer id), IMA v2 signatures as `evmctl ima_sign --sigfile` writes them.
//!
//! Keys are aws-lc-rs key pairs; the content is digested once and the digest is signed.

use super::der;
use super::keys::KeyAlgo;
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
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            KeyKind::Rsa(k) => write!(f, "{}: Rsa({} bits)", self.name, k.public_modulus_len() * 8),
            KeyKind::Ecdsa(c, _) => write!(f, "{}: Ecdsa({c:?})", self.name),
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

    /// Signs a digest: RSASSA-PKCS1-v1_5 with the digest's DigestInfo, or ECDSA over the
    /// digest (brought to the curve's length, as verification reads it).
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
        }
    }

    /// The signerInfo's signature AlgorithmIdentifier: rsaEncryption with NULL, as
    /// sign-file writes it, or ecdsa-with-`hash` without parameters.
    fn signature_alg(&self, hash: HashAlgo) -> Vec<u8> {
        match self.kind {
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

/// Options that make a SignedData deliberately wrong (bad-item classes).
#[derive(Clone, Copy, Debug, Default)]
pub struct Pkcs7Quirks {
    /// Declare this digest algorithm while signing the real digest.
    pub declared_hash: Option<HashAlgo>,
    /// Add authenticated attributes (contentType, messageDigest), which module signatures
    /// must not carry.
    pub signed_attributes: bool,
}

/// Builds the detached SignedData for `digest` (sign-file's output).
pub fn pkcs7(
    key: &SigningKey,
    signer: &SignerRef,
    id: SignerIdKind,
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
        let signed = hash
            .digest(&der::tlv(0x31, &set_body))
            .map_err(|e| key.err(format!("{hash} of the attributes: {e}")))?;
        (der::tlv(0xa0, &set_body), key.sign_digest(&signed)?)
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
pub fn ima_v2(key: &SigningKey, skid: &[u8], digest: &Digest) -> Result<Vec<u8>, Error> {
    let s = key.sign_digest(digest)?;
    let keyid = ima_keyid(skid).ok_or_else(|| key.err("SKID shorter than 4 bytes".into()))?;
    Ok(imasig::encode(
        imasig::TYPE_DIGSIG,
        2,
        digest.algo(),
        keyid,
        &s,
    ))
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
