//! The generated key hierarchy. Certificates are made with rcgen from deterministically
//! generated keys; the hierarchy is admitted at run time through the real gatekeepers by a
//! keyring script (`keyring.script`), so its linking is measured and checked.

use super::der;
use super::keys::{self, KeyAlgo};
use super::sign::{SignerRef, SigningKey};
use crate::error::Error;
use crate::oid;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, CustomExtension, DnType, IsCa, KeyIdMethod,
    KeyPair, KeyUsagePurpose, SerialNumber,
};

/// One issued certificate with everything needed to sign as its key and to name it.
pub struct Issued {
    /// The certificate's name: its file stem and its name in the keyring script.
    pub name: String,
    /// The subject key's algorithm.
    pub algo: KeyAlgo,
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// rcgen's certificate, to issue certificates under this one.
    pub cert: Certificate,
    /// rcgen's key pair of the subject key, to issue certificates under this one.
    pub rc_key: KeyPair,
    /// The subject key, to sign modules and files.
    pub key: SigningKey,
    /// How a signerInfo names this certificate.
    pub signer: SignerRef,
}

/// What a certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// basicConstraints CA, keyCertSign.
    Ca,
    /// digitalSignature, not a CA: module and IMA signing keys.
    Signer,
}

/// Inputs of one certificate.
pub struct CertRequest<'a> {
    /// The certificate's name (file stem, keyring script name); errors carry it.
    pub name: &'a str,
    /// The subject commonName.
    pub cn: &'a str,
    /// CA or signer.
    pub role: Role,
    /// The serial number (with the issuer, what an issuer+serial signer id names).
    pub serial: u64,
    /// `None`: RFC 5280 method 1 (SHA-1 of the subjectPublicKey bits), what OpenSSL
    /// writes and what evmctl derives IMA keyids from.
    pub skid: Option<Vec<u8>>,
    /// PKCS#8 of the subject key.
    pub pkcs8: &'a [u8],
    /// The subject key's algorithm.
    pub algo: KeyAlgo,
    /// `None` = self-signed.
    pub issuer: Option<&'a Issued>,
}

/// Generates a key deterministically and wraps it as PKCS#8 (errors name it `key/LABEL`).
pub fn key(seed: u64, label: &str, algo: KeyAlgo) -> Result<Vec<u8>, Error> {
    keys::generate_pkcs8(algo, seed, &format!("key/{label}"))
}

/// A 20-byte SKID whose last four bytes (the IMA keyid) are `tail` (for deliberate keyid
/// collisions).
pub fn skid(seed: u64, label: &str, tail: u32) -> Vec<u8> {
    use rand_core::RngCore;
    let mut v = vec![0u8; 20];
    keys::rng(seed, &format!("skid/{label}")).fill_bytes(&mut v[..16]);
    v[16..].copy_from_slice(&tail.to_be_bytes());
    v
}

/// Issues one certificate. Failures are [`Error::Input`] naming the certificate.
pub fn issue(req: CertRequest<'_>) -> Result<Issued, Error> {
    let err = |message: String| Error::Input {
        path: req.name.into(),
        message,
    };
    let rc_key = KeyPair::try_from(req.pkcs8).map_err(|e| err(format!("key: {e}")))?;
    let skid = match req.skid {
        Some(s) => s,
        None => aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            rc_key.public_key_raw(),
        )
        .as_ref()
        .to_vec(),
    };
    let mut p = CertificateParams::default();
    p.not_before = rcgen::date_time_ymd(2025, 1, 1);
    p.not_after = rcgen::date_time_ymd(2045, 1, 1);
    p.serial_number = Some(SerialNumber::from(req.serial));
    p.distinguished_name
        .push(DnType::OrganizationName, "trustbench");
    p.distinguished_name.push(DnType::CommonName, req.cn);
    match req.role {
        Role::Ca => {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        Role::Signer => {
            // No basicConstraints at all: rcgen's `ExplicitNoCa` encodes `cA FALSE`
            // explicitly (30 03 01 01 00), which the kernel reads as a CA (it looks at the
            // BOOLEAN's length byte), and `.ima` would refuse the key.
            // rcgen writes a SKID only together with basicConstraints, so add it here.
            p.is_ca = IsCa::NoCa;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.custom_extensions.push(CustomExtension::from_oid_content(
                &der::oid_arcs(oid::SKID),
                der::tlv(0x04, &skid),
            ));
        }
    }
    p.key_identifier_method = KeyIdMethod::PreSpecified(skid.clone());
    p.use_authority_key_identifier_extension = true;
    let cert = match req.issuer {
        None => p.self_signed(&rc_key),
        Some(i) => p.signed_by(&rc_key, &i.cert, &i.rc_key),
    }
    .map_err(|e| err(format!("certificate: {e}")))?;
    let der = cert.der().to_vec();
    let (_, parsed) =
        x509_parser::parse_x509_certificate(&der).map_err(|e| err(format!("re-parse: {e}")))?;
    let signer = SignerRef {
        issuer_der: parsed.tbs_certificate.issuer.as_raw().to_vec(),
        serial: parsed.tbs_certificate.raw_serial().to_vec(),
        skid,
    };
    let key = SigningKey::from_pkcs8(req.name, req.pkcs8, req.algo)?;
    Ok(Issued {
        name: req.name.to_string(),
        algo: req.algo,
        der,
        cert,
        rc_key,
        key,
        signer,
    })
}
