//! Signing as the real tools do: module signatures exactly as `scripts/sign-file` writes
//! them (detached SignedData, no certificates, no signed attributes, issuer+serial or SKID
//! signer id), IMA v2 signatures as `evmctl ima_sign --sigfile` writes them.
//!
//! Keys are aws-lc-rs key pairs; the content is digested once and the digest is signed.

use super::der;
use crate::crypto::Curve;
use crate::formats::{imasig, modsig};
use crate::hash::{Digest, HashAlgo};
use aws_lc_rs::digest as d;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair};

const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const OID_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// A private key able to sign prehashed digests.
pub enum SigningKey {
    Rsa(RsaKeyPair),
    Ecdsa(Curve, EcdsaKeyPair),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SigningKey::Rsa(k) => write!(f, "Rsa({} bits)", k.public_modulus_len() * 8),
            SigningKey::Ecdsa(c, _) => write!(f, "Ecdsa({c:?})"),
        }
    }
}

impl SigningKey {
    /// From PKCS#8 DER.
    pub fn from_pkcs8(pkcs8: &[u8], ec: Option<Curve>) -> Result<SigningKey, String> {
        match ec {
            None => RsaKeyPair::from_pkcs8(pkcs8)
                .map(SigningKey::Rsa)
                .map_err(|e| format!("RSA key: {e}")),
            Some(c) => {
                let alg = match c {
                    Curve::P256 => &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
                    Curve::P384 => &sig::ECDSA_P384_SHA384_ASN1_SIGNING,
                    _ => return Err(format!("curve {c:?} not supported for signing")),
                };
                EcdsaKeyPair::from_pkcs8(alg, pkcs8)
                    .map(|k| SigningKey::Ecdsa(c, k))
                    .map_err(|e| format!("EC key: {e}"))
            }
        }
    }

    /// Signs a digest: RSASSA-PKCS1-v1_5 with the digest's DigestInfo, or ECDSA over the
    /// digest (brought to the curve's length, as verification reads it).
    pub fn sign_digest(&self, digest: &Digest) -> Result<Vec<u8>, String> {
        let alg = digest
            .algo()
            .aws_lc()
            .ok_or_else(|| format!("cannot sign with {}", digest.algo()))?;
        match self {
            SigningKey::Rsa(k) => {
                let enc: &'static dyn sig::RsaEncoding = match digest.algo() {
                    HashAlgo::Sha256 => &sig::RSA_PKCS1_SHA256,
                    HashAlgo::Sha384 => &sig::RSA_PKCS1_SHA384,
                    HashAlgo::Sha512 => &sig::RSA_PKCS1_SHA512,
                    h => return Err(format!("RSA signing with {h} is not supported")),
                };
                let dg = d::Digest::import_less_safe(digest.as_bytes(), alg)
                    .map_err(|_| "digest length".to_string())?;
                let mut out = vec![0u8; k.public_modulus_len()];
                k.sign_digest(enc, &dg, &mut out)
                    .map_err(|_| "RSA signing failed".to_string())?;
                Ok(out)
            }
            SigningKey::Ecdsa(c, k) => {
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
                    .map_err(|_| "digest length".to_string())?;
                k.sign_digest(&dg)
                    .map(|s| s.as_ref().to_vec())
                    .map_err(|_| "ECDSA signing failed".to_string())
            }
        }
    }

    fn signature_alg(&self, hash: HashAlgo) -> Vec<u8> {
        match self {
            SigningKey::Rsa(_) => der::alg_null(OID_RSA_ENCRYPTION),
            SigningKey::Ecdsa(..) => {
                let last = match hash {
                    HashAlgo::Sha224 => 1,
                    HashAlgo::Sha384 => 3,
                    HashAlgo::Sha512 => 4,
                    _ => 2,
                };
                if hash == HashAlgo::Sha1 {
                    der::alg(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01])
                } else {
                    der::alg(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, last])
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

const OID_CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];

/// Builds the detached SignedData for `digest` (sign-file's output).
pub fn pkcs7(
    key: &SigningKey,
    signer: &SignerRef,
    id: SignerIdKind,
    digest: &Digest,
    quirks: Pkcs7Quirks,
) -> Result<Vec<u8>, String> {
    let hash = digest.algo();
    let declared = quirks.declared_hash.unwrap_or(hash);
    let hash_oid = declared.oid().ok_or("hash without OID")?;
    let (attrs, signature) = if quirks.signed_attributes {
        let set_body = [
            der::seq(&[
                &der::oid(OID_CONTENT_TYPE),
                &der::tlv(0x31, &der::oid(OID_DATA)),
            ]),
            der::seq(&[
                &der::oid(OID_MESSAGE_DIGEST),
                &der::tlv(0x31, &der::tlv(0x04, digest.as_bytes())),
            ]),
        ]
        .concat();
        let signed = hash
            .digest(&der::tlv(0x31, &set_body))
            .map_err(|e| e.to_string())?;
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
        &der::seq(&[&der::oid(OID_DATA)]),
        &der::tlv(0x31, &signer_info),
    ]);
    Ok(der::seq(&[
        &der::oid(OID_SIGNED_DATA),
        &der::tlv(0xa0, &signed_data),
    ]))
}

/// Appends a signature to module content: content ‖ PKCS#7 ‖ header ‖ marker.
pub fn append_module_signature(content: &mut Vec<u8>, pkcs7: &[u8]) {
    content.extend_from_slice(pkcs7);
    content.extend_from_slice(&modsig::trailer(pkcs7.len()));
}

/// An IMA v2 xattr value (evmctl's `.sig` file): keyid = last 4 bytes of the SKID.
pub fn ima_v2(key: &SigningKey, skid: &[u8], digest: &Digest) -> Result<Vec<u8>, String> {
    let s = key.sign_digest(digest)?;
    let tail: [u8; 4] = skid[skid.len().saturating_sub(4)..]
        .try_into()
        .map_err(|_| "SKID shorter than 4 bytes")?;
    Ok(imasig::encode(
        imasig::TYPE_DIGSIG,
        2,
        digest.algo(),
        u32::from_be_bytes(tail),
        &s,
    ))
}
